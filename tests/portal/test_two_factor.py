"""Optional TOTP two-factor (allauth MFA) inside a vendor's portal: a user activates it
from the portal, and from then on a password alone does not sign in."""

import re
import time

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from django.contrib.auth import get_user_model
from django.test import Client

from customers.models import VendorMember

PASSWORD = "correct horse battery staple"  # noqa: S105 - test account


def _code(secret: str) -> str:
    return format_hotp_value(hotp_value(secret, int(time.time()) // 30))


def _staff(vendor):
    user = get_user_model().objects.create_user(
        username="boss", email="boss@acme.test", password=PASSWORD
    )
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    VendorMember.objects.create(vendor=vendor, user=user, role="admin")
    return user


def _login(client: Client):
    return client.post("/p/acme/accounts/login/", {"login": "boss@acme.test", "password": PASSWORD})


def test_totp_activated_in_the_portal_is_required_at_the_next_sign_in(vendor):
    user = _staff(vendor)
    client = Client()
    assert _login(client)["Location"] == "/p/acme/"

    response = client.get("/p/acme/accounts/2fa/totp/activate/")
    if response.status_code == 302 and "reauthenticate" in response["Location"]:
        client.post(response["Location"], {"password": PASSWORD})
        response = client.get("/p/acme/accounts/2fa/totp/activate/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "Acme Corp" in body  # allauth's page in the vendor's layout
    secret = re.search(r'id="authenticator_secret"\s+value="([A-Z2-7]+)"', body).group(1)
    # Authenticator apps list the account under the vendor's name.
    assert "issuer=Acme%20Corp" in response.context["totp_url"]

    response = client.post("/p/acme/accounts/2fa/totp/activate/", {"code": _code(secret)})
    assert response.status_code == 302
    assert Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()

    fresh = Client()
    response = _login(fresh)
    assert response["Location"] == "/p/acme/accounts/2fa/authenticate/"
    assert fresh.get("/p/acme/console/")["Location"].startswith("/p/acme/accounts/login/")

    wrong = fresh.post("/p/acme/accounts/2fa/authenticate/", {"code": "000000"})
    assert wrong.status_code == 200 and "Incorrect code" in wrong.content.decode()
    response = fresh.post("/p/acme/accounts/2fa/authenticate/", {"code": _code(secret)})
    assert response["Location"] == "/p/acme/"
    assert fresh.get("/p/acme/console/").status_code == 200
