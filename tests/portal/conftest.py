"""Portal fixtures: two vendors with their own brand and host, staff of every role,
customer users, and content in acme/app (tags 1.1 and 2.0) pushed by acme's CI."""

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from customers.models import CustomerMember, VendorMember
from customers.services import customer_create, vendor_create
from portal.middleware import SESSION_VENDOR_KEY
from portal.models import Branding, VendorDomain
from tests.support.registry_client import image_manifest, put_manifest

PASSWORD = "correct horse battery staple"
ACME_HOST = "portal.acme.test"
UMBRELLA_HOST = "portal.umbrella.test"


def make_user(email: str, password: str = PASSWORD):
    user = get_user_model().objects.create_user(
        username=email.replace("@", "-at-"), email=email, password=password
    )
    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    return user


def staff_user(vendor, email: str, role: str = "admin"):
    user = make_user(email)
    VendorMember.objects.create(vendor=vendor, user=user, role=role)
    return user


def customer_user(customer, email: str, role: str = "admin"):
    user = make_user(email)
    CustomerMember.objects.create(customer=customer, user=user, role=role)
    return user


def sign_in(user, vendor, client: Client | None = None, **client_kwargs) -> Client:
    """A client holding a session for `user` bound to `vendor`'s portal (as a real login
    on that portal would leave it)."""
    client = client or Client(**client_kwargs)
    client.force_login(user, backend="portal.backends.PortalAuthenticationBackend")
    session = client.session
    session[SESSION_VENDOR_KEY] = vendor.id
    session.save()
    return client


def login(client: Client, slug: str, email: str, password: str = PASSWORD):
    """Log in through allauth's form on /p/<slug>/."""
    return client.post(f"/p/{slug}/accounts/login/", {"login": email, "password": password})


def messages_text(response) -> str:
    return " ".join(str(m) for m in response.context["messages"]) if response.context else ""


@pytest.fixture
def acme(vendor):
    VendorDomain.objects.create(vendor=vendor, host=ACME_HOST, verified_at=timezone.now())
    Branding.objects.create(
        vendor=vendor, display_name="Acme Software", primary_color="#aa1111", accent_color="#115511"
    )
    return vendor


@pytest.fixture
def umbrella(db):
    vendor = vendor_create(slug="umbrella", name="Umbrella Corp")[0]
    VendorDomain.objects.create(vendor=vendor, host=UMBRELLA_HOST, verified_at=timezone.now())
    Branding.objects.create(
        vendor=vendor,
        display_name="Umbrella Cloud",
        primary_color="#2222bb",
        accent_color="#663399",
    )
    return vendor


@pytest.fixture
def initech(umbrella):
    """Umbrella's customer."""
    return customer_create(vendor=umbrella, slug="initech", name="Initech")[0]


@pytest.fixture
def acme_admin(acme):
    return staff_user(acme, "admin@acme.test", "admin")


@pytest.fixture
def acme_maintainer(acme):
    return staff_user(acme, "maintainer@acme.test", "maintainer")


@pytest.fixture
def acme_viewer(acme):
    return staff_user(acme, "viewer@acme.test", "viewer")


@pytest.fixture
def umbrella_admin(umbrella):
    return staff_user(umbrella, "admin@umbrella.test", "admin")


@pytest.fixture
def globex_admin(acme, customer):
    return customer_user(customer, "boss@globex.test", "admin")


@pytest.fixture
def globex_member(acme, customer):
    return customer_user(customer, "dev@globex.test", "member")


@pytest.fixture
def initech_user(initech):
    return customer_user(initech, "ops@initech.test", "admin")


@pytest.fixture
def pushed(client) -> dict:
    """acme/app:1.1 and acme/app:2.0 (distinct manifests), pushed by acme's CI; the
    digests by tag."""
    digests = {}
    for tag in ("1.1", "2.0"):
        _, raw = image_manifest(client, "acme/app", layers=1, annotations={"tag": tag})
        response = put_manifest(client, "acme/app", tag, raw)
        assert response.status_code == 201, response.content
        digests[tag] = response["Docker-Content-Digest"]
    return digests


@pytest.fixture
def umbrella_pushed(umbrella) -> dict:
    """umbrella/secret:1.0 pushed by umbrella's CI."""
    from customers.services import token_mint
    from tests.conftest import basic

    secret = token_mint(vendor=umbrella, kind="push", name="umbrella CI").secret
    ci = Client(HTTP_AUTHORIZATION=basic(secret))
    _, raw = image_manifest(ci, "umbrella/secret", layers=1)
    response = put_manifest(ci, "umbrella/secret", "1.0", raw)
    assert response.status_code == 201, response.content
    return {"1.0": response["Docker-Content-Digest"]}


def with_theme(html: str, host: str | None = None) -> str:
    """The page followed by its brand stylesheet: colours live in /brand/theme.css (no
    inline style, so the CSP can forbid it)."""
    import re

    href = re.search(r'href="([^"]*/brand/theme\.css[^"]*)"', html).group(1)
    client = Client(HTTP_HOST=host) if host else Client()
    response = client.get(href.replace("&amp;", "&"))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/css")
    return html + response.content.decode()


def mint_nonce(c: Client, path: str) -> str:
    """The one-time nonce of the mint form on the token page at `path` ("" if none)."""
    import re

    found = re.search(r'name="mint_nonce" value="([^"]*)"', c.get(path).content.decode())
    return found.group(1) if found else ""


def post_mint(c: Client, path: str, data: dict, **kwargs):
    """Submit the mint form on `path` as a browser would: load the page, then post its
    form with the page's nonce."""
    return c.post(path, {**data, "mint_nonce": mint_nonce(c, path)}, **kwargs)
