"""Signing keys in the portal: published without sign-in at the vendor's stable URL (JWKS
and PEM), managed by vendor admins only (rotate, retire, each behind a confirmation and
audited), and never another vendor's keys."""

import pytest
from django.test import Client
from django.urls import reverse

from customers.models import AuditEvent
from signing.models import SigningKey
from signing.published import jwks_url, public_key_pem_url
from signing.services import signing_key_current, signing_key_rotate
from tests.portal.conftest import sign_in

pytestmark = pytest.mark.django_db

PAGE = "/p/acme/console/keys/"


def test_the_published_urls_are_the_portal_routes(acme, settings):
    key = signing_key_current(vendor=acme)
    assert jwks_url(acme) == f"{settings.DISTR_PUBLIC_URL}/p/acme/keys/jwks.json"
    assert public_key_pem_url(acme, key.kid).endswith(f"/p/acme/keys/{key.kid}.pem")
    assert reverse("portal:jwks") == "/keys/jwks.json"  # /p/<slug>/ is added by tenancy


def test_jwks_and_pem_are_public_and_per_vendor(acme, umbrella):
    response = Client().get("/p/acme/keys/jwks.json")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/jwk-set+json"
    assert response["Cache-Control"] == "public, max-age=300"
    (key,) = response.json()["keys"]
    acme_key = SigningKey.objects.get(vendor=acme)
    assert key["kid"] == acme_key.kid and key["alg"] == "EdDSA"
    pem = Client().get(f"/p/acme/keys/{acme_key.kid}.pem")
    assert pem.status_code == 200 and pem.content.startswith(b"-----BEGIN PUBLIC KEY-----")
    # Another vendor's portal neither lists nor serves acme's key.
    assert Client().get(f"/p/umbrella/keys/{acme_key.kid}.pem").status_code == 404
    other = Client().get("/p/umbrella/keys/jwks.json").json()["keys"]
    assert [k["kid"] for k in other] != [acme_key.kid]
    assert Client().get("/p/nosuchvendor/keys/jwks.json").status_code == 404


def test_a_retired_key_leaves_the_published_set(acme, acme_admin):
    old = signing_key_current(vendor=acme)
    signing_key_rotate(vendor=acme)
    admin = sign_in(acme_admin, acme)
    response = admin.post(f"{PAGE}{old.kid}/retire", {"confirmed": "1"})
    assert response.status_code == 302
    assert old.kid not in {k["kid"] for k in Client().get("/p/acme/keys/jwks.json").json()["keys"]}
    assert Client().get(f"/p/acme/keys/{old.kid}.pem").status_code == 404
    event = AuditEvent.objects.get(action="signing_key.retired")
    assert event.actor == f"user:{acme_admin.pk}" and event.target == f"signing_key:{old.kid}"


def test_admins_rotate_after_a_confirmation(acme, acme_admin):
    first = signing_key_current(vendor=acme)
    admin = sign_in(acme_admin, acme)
    page = admin.get(PAGE)
    assert page.status_code == 200
    text = page.content.decode()
    assert first.kid in text and "Rotate key" in text and "/p/acme/keys/jwks.json" in text
    ask = admin.post(f"{PAGE}rotate")
    assert ask.status_code == 200 and "Rotate the signing key?" in ask.content.decode()
    assert SigningKey.objects.filter(vendor=acme).count() == 1  # asking changes nothing
    assert admin.post(f"{PAGE}rotate", {"confirmed": "1"}).status_code == 302
    current = SigningKey.objects.get(vendor=acme, is_current=True)
    assert current.kid != first.kid
    assert AuditEvent.objects.get(action="signing_key.rotated").details == {"previous": first.kid}
    # The current key cannot be retired from the console either.
    response = admin.post(f"{PAGE}{current.kid}/retire", {"confirmed": "1"}, follow=True)
    assert "cannot be retired" in response.content.decode()
    assert SigningKey.objects.get(pk=current.pk).retired_at is None


@pytest.mark.parametrize("role", ["acme_viewer", "acme_maintainer"])
def test_other_staff_read_but_cannot_rotate_or_retire(request, acme, role):
    first = signing_key_current(vendor=acme)
    signing_key_rotate(vendor=acme)
    staff = sign_in(request.getfixturevalue(role), acme)
    page = staff.get(PAGE)
    assert page.status_code == 200 and "Rotate key" not in page.content.decode()
    assert staff.post(f"{PAGE}rotate", {"confirmed": "1"}).status_code == 403
    assert staff.post(f"{PAGE}{first.kid}/retire", {"confirmed": "1"}).status_code == 403
    assert SigningKey.objects.filter(vendor=acme, retired_at__isnull=False).count() == 0


def test_customers_and_strangers_have_no_console_page(acme, globex_admin):
    assert sign_in(globex_admin, acme).get(PAGE).status_code in (302, 403)
    assert Client().get(PAGE).status_code == 302  # to sign-in
