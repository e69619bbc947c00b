"""Per-vendor branding: each portal shows only its own name and colours, logo upload and
serving, and colours made readable (WCAG AA) whatever the vendor picks."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from portal.branding import brand_for, contrast, darken_until_readable, readable_on
from portal.models import Branding
from tests.portal.conftest import ACME_HOST, UMBRELLA_HOST, sign_in, with_theme

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 40


def branding_post(**extra):
    return {
        "display_name": "Acme Software",
        "primary_color": "#aa1111",
        "accent_color": "#115511",
        **extra,
    }


@pytest.mark.django_db
def test_each_portal_shows_only_its_own_brand(acme, umbrella, globex_admin, initech_user):
    acme_page = with_theme(sign_in(globex_admin, acme).get("/p/acme/overview/").content.decode())
    umbrella_page = with_theme(
        sign_in(initech_user, umbrella).get("/p/umbrella/overview/").content.decode()
    )
    assert "Acme Software" in acme_page and "--brand-primary:#aa1111" in acme_page
    assert "Umbrella Cloud" not in acme_page and "#2222bb" not in acme_page
    assert "Umbrella Cloud" in umbrella_page and "--brand-primary:#2222bb" in umbrella_page
    assert "Acme" not in umbrella_page and "#aa1111" not in umbrella_page
    assert "Initech" in umbrella_page and "Globex" not in umbrella_page
    # distr is not named on a white-labelled page.
    assert "<title>" in acme_page and "· distr</title>" not in acme_page


@pytest.mark.django_db
@pytest.mark.parametrize(
    "host,name,other",
    [
        (ACME_HOST, "Acme Software", "Umbrella Cloud"),
        (UMBRELLA_HOST, "Umbrella Cloud", "Acme Software"),
    ],
)
def test_login_page_on_each_host(acme, umbrella, host, name, other):
    body = Client(HTTP_HOST=host).get("/accounts/login/").content.decode()
    assert name in body and other not in body


@pytest.mark.django_db
def test_vendor_without_branding_uses_its_name_and_defaults(vendor):
    body = with_theme(Client().get("/p/acme/accounts/login/").content.decode())
    assert "Acme Corp" in body
    assert "--brand-primary:#1f4fd1" in body


@pytest.mark.django_db
def test_branding_form_saves_and_pages_follow(acme, acme_admin):
    c = sign_in(acme_admin, acme)
    response = c.post(
        "/p/acme/console/branding/",
        branding_post(
            display_name="Acme Downloads",
            primary_color="#0055AA",
            footer_text="© Acme 2025",
            support_email="help@acme.test",
        ),
    )
    assert response.status_code == 302
    branding = Branding.objects.get(vendor=acme)
    assert branding.display_name == "Acme Downloads"
    assert branding.primary_color == "#0055aa"
    page = with_theme(Client().get("/p/acme/accounts/login/").content.decode())
    assert "Acme Downloads" in page and "--brand-primary:#0055aa" in page
    assert "© Acme 2025" in page and "mailto:help@acme.test" in page


@pytest.mark.django_db
def test_invalid_colour_is_a_form_error(acme, acme_admin):
    response = sign_in(acme_admin, acme).post(
        "/p/acme/console/branding/", branding_post(primary_color="red;}body{x")
    )
    assert response.status_code == 400
    assert response.context["form"].errors["primary_color"]
    assert Branding.objects.get(vendor=acme).primary_color == "#aa1111"


@pytest.mark.django_db
def test_logo_upload_is_served_with_type_and_csp(acme, acme_admin):
    c = sign_in(acme_admin, acme)
    response = c.post(
        "/p/acme/console/branding/",
        branding_post(logo=SimpleUploadedFile("logo.png", PNG, content_type="image/png")),
    )
    assert response.status_code == 302
    served = Client().get("/p/acme/brand/logo")
    assert served.status_code == 200
    assert served.content == PNG
    assert served["Content-Type"] == "image/png"
    assert "default-src 'none'" in served["Content-Security-Policy"]
    assert "sandbox" in served["Content-Security-Policy"]
    on_host = Client(HTTP_HOST=ACME_HOST).get("/brand/logo")
    assert on_host.content == PNG
    # Pages show the logo instead of the name.
    page = with_theme(Client().get("/p/acme/accounts/login/").content.decode())
    assert 'src="/p/acme/brand/logo?v=' in page


@pytest.mark.django_db
def test_logo_type_is_sniffed_not_taken_from_the_client(acme, acme_admin):
    uploaded = sign_in(acme_admin, acme).post(
        "/p/acme/console/branding/",
        branding_post(logo=SimpleUploadedFile("logo.jpg", PNG, content_type="image/jpeg")),
    )
    assert uploaded.status_code == 302
    served = Client().get("/p/acme/brand/logo")
    assert served.status_code == 200
    assert served["Content-Type"] == "image/png"


@pytest.mark.django_db
def test_non_image_upload_is_a_form_error(acme, acme_admin):
    response = sign_in(acme_admin, acme).post(
        "/p/acme/console/branding/",
        branding_post(
            display_name="Changed",
            logo=SimpleUploadedFile(
                "logo.png", b"<html>not an image</html>", content_type="image/png"
            ),
        ),
    )
    assert response.status_code == 400
    assert "not a PNG, JPEG, WebP, ICO or SVG image" in " ".join(
        response.context["form"].non_field_errors()
    )
    branding = Branding.objects.get(vendor=acme)
    assert branding.logo_type == "" and branding.display_name == "Acme Software"
    assert Client().get("/p/acme/brand/logo").status_code == 404


@pytest.mark.django_db
def test_svg_favicon_is_refused(acme, acme_admin):
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"></svg>'
    response = sign_in(acme_admin, acme).post(
        "/p/acme/console/branding/",
        branding_post(favicon=SimpleUploadedFile("f.svg", svg, content_type="image/svg+xml")),
    )
    assert response.status_code == 400
    assert Client().get("/p/acme/brand/favicon").status_code == 404


@pytest.mark.django_db
def test_oversized_logo_is_refused(acme, acme_admin):
    big = PNG + b"\0" * (256 * 1024)
    response = sign_in(acme_admin, acme).post(
        "/p/acme/console/branding/",
        branding_post(logo=SimpleUploadedFile("logo.png", big, content_type="image/png")),
    )
    assert response.status_code == 400
    assert "larger than 256 KB" in response.content.decode()


@pytest.mark.django_db
def test_logo_of_one_vendor_is_not_served_on_another(acme, umbrella, acme_admin):
    uploaded = sign_in(acme_admin, acme).post(
        "/p/acme/console/branding/",
        branding_post(logo=SimpleUploadedFile("logo.png", PNG, content_type="image/png")),
    )
    assert uploaded.status_code == 302  # the upload itself worked, or this proves nothing
    assert Client().get("/p/acme/brand/logo").content == PNG
    assert Client().get("/p/umbrella/brand/logo").status_code == 404
    assert Client(HTTP_HOST=UMBRELLA_HOST).get("/brand/logo").status_code == 404


@pytest.mark.django_db
def test_light_primary_gets_a_darkened_link_colour(acme):
    Branding.objects.filter(vendor=acme).update(primary_color="#ffee00")
    brand = brand_for(acme)
    assert brand.primary == "#ffee00"
    assert brand.link != "#ffee00"
    assert contrast(brand.link, "#ffffff") >= 4.5
    assert brand.on_primary == "#000000"
    page = with_theme(Client().get("/p/acme/accounts/login/").content.decode())
    assert f"--brand-link:{brand.link}" in page


@pytest.mark.parametrize(
    "color", ["#ffffff", "#ffee00", "#a0e0ff", "#1f4fd1", "#000000", "#7f7f7f"]
)
def test_darken_until_readable_reaches_aa(color):
    link = darken_until_readable(color)
    assert contrast(link, "#ffffff") >= 4.5
    if contrast(color, "#ffffff") >= 4.5:
        assert link == color  # dark enough colours are kept


@pytest.mark.parametrize("background", ["#ffee00", "#1f4fd1", "#0f766e", "#ffffff", "#222222"])
def test_text_on_brand_colours_is_readable(background):
    assert contrast(readable_on(background), background) >= 4.5


def test_contrast_reference_values():
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#ffffff", "#ffffff") == pytest.approx(1.0)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)
