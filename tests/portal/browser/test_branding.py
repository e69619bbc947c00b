"""Two vendors, two brands, one server: each portal shows only its own name, colours and
customers, and a session on one vendor's host is worth nothing on the other's."""

from customers.services import customer_create, vendor_create
from tests.portal.browser.helpers import brand, customer_user, portal_url, sign_in, staff

ACME = "portal.acme.test"
UMBRELLA = "portal.umbrella.test"


def rgb(hex_color: str) -> str:
    r, g, b = (int(hex_color[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgb({r}, {g}, {b})"


def test_each_portal_shows_only_its_own_brand_and_customers(live_registry, vendor, new_page):
    umbrella = vendor_create(slug="umbrella", name="Umbrella Corp")[0]
    brand(vendor, ACME, display_name="Acme Software", primary_color="#b42318")
    brand(umbrella, UMBRELLA, display_name="Umbrella Cloud", primary_color="#155eef")
    staff(vendor, "boss@acme.test")
    staff(umbrella, "boss@umbrella.test")
    customer_create(vendor=vendor, slug="initech", name="Initech")
    customer_create(vendor=umbrella, slug="hooli", name="Hooli")

    for host, email, name, color, own, other, other_name in (
        (ACME, "boss@acme.test", "Acme Software", "#b42318", "Initech", "Hooli", "Umbrella"),
        (UMBRELLA, "boss@umbrella.test", "Umbrella Cloud", "#155eef", "Hooli", "Initech", "Acme"),
    ):
        page = new_page()
        page.goto(portal_url(live_registry, host, "/accounts/login/"))
        assert name in page.title()
        assert page.eval_on_selector(".topbar", "e => getComputedStyle(e).backgroundColor") == rgb(
            color
        )
        sign_in(page, portal_url(live_registry, host, "/accounts/login/"), email)
        page.goto(portal_url(live_registry, host, "/console/customers/"))
        text = page.inner_text("body")
        assert name in text and own in text
        assert other not in text and other_name not in text and "distr" not in text.lower()


def test_a_customer_of_one_vendor_gets_no_session_on_the_other(live_registry, vendor, new_page):
    umbrella = vendor_create(slug="umbrella", name="Umbrella Corp")[0]
    brand(vendor, ACME, display_name="Acme Software")
    brand(umbrella, UMBRELLA, display_name="Umbrella Cloud")
    initech = customer_create(vendor=vendor, slug="initech", name="Initech")[0]
    customer_user(initech, "ops@initech.test")

    page = new_page()
    sign_in(page, portal_url(live_registry, ACME, "/accounts/login/"), "ops@initech.test")
    assert page.url.endswith("/overview/")

    # Same browser, other vendor's host: not signed in, and the password does not work.
    page.goto(portal_url(live_registry, UMBRELLA, "/overview/"))
    assert "/accounts/login/" in page.url, page.content()
    sign_in(page, portal_url(live_registry, UMBRELLA, "/accounts/login/"), "ops@initech.test")
    assert "/accounts/login/" in page.url
    assert "not correct" in page.inner_text("main")
    assert "Umbrella Cloud" in page.title()

    # Same browser, other vendor's /p/ prefix on the bare host: anonymous there too.
    page.goto(f"{live_registry.url}/p/umbrella/overview/")
    assert "/p/umbrella/accounts/login/" in page.url
