"""Customer pages: pull tokens (secret shown once, hash stored, works against the
registry until revoked), artifacts (only entitled tags, with commands), suspension and
expiry warnings."""

import datetime
import html

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from customers.models import AccessToken, AuditEvent
from customers.services import customer_set_suspended, token_mint
from tests.conftest import basic, license_grant
from tests.portal.conftest import post_mint, sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def licensed(customer, pushed):
    return license_grant(customer, "acme/app", "glob:1.*", name="Globex 1.x")


def mint(c, name="prod cluster", days="90"):
    response = post_mint(c, "/p/acme/tokens/", {"name": name, "expires_in_days": days})
    assert response.status_code == 201, response.content
    return response, response.context["minted"].secret


def test_minted_secret_is_shown_once_and_stored_only_as_hash(acme, globex_admin, customer):
    c = sign_in(globex_admin, acme)
    response, secret = mint(c)
    assert secret.startswith("distr_pull_")
    body = response.content.decode()
    assert secret in body
    assert f"docker login {settings.REGISTRY_SERVICE} -u globex -p {secret}" in html.unescape(body)
    token = AccessToken.objects.get(customer=customer, name="prod cluster")
    assert token.kind == "pull" and token.created_by == globex_admin
    assert token.expires_at is not None
    assert 89 <= (token.expires_at - timezone.now()).days <= 90
    row = AccessToken.objects.filter(pk=token.pk).values().get()
    assert all(secret not in str(value) for value in row.values())
    assert token.secret_hash != secret and len(token.secret_hash) == 64
    assert secret.startswith(token.prefix)
    listing = c.get("/p/acme/tokens/").content.decode()
    assert token.prefix in listing
    assert secret not in listing
    assert "prod cluster" in listing
    assert AuditEvent.objects.filter(
        action="token.created", actor=f"user:{globex_admin.pk}"
    ).exists()


def test_never_expiring_token(acme, globex_admin, customer):
    mint(sign_in(globex_admin, acme), name="forever", days="0")
    assert AccessToken.objects.get(name="forever").expires_at is None


def test_token_without_name_is_a_form_error(acme, globex_admin):
    response = sign_in(globex_admin, acme).post(
        "/p/acme/tokens/", {"name": "", "expires_in_days": "90"}
    )
    assert response.status_code == 400
    assert response.context["form"].errors["name"]
    assert not AccessToken.objects.exists()


def test_minted_secret_pulls_entitled_tags_only(acme, globex_admin, licensed, pushed):
    _, secret = mint(sign_in(globex_admin, acme))
    puller = Client(HTTP_AUTHORIZATION=basic(secret, user="globex"))
    allowed = puller.get("/v2/acme/app/manifests/1.1")
    assert allowed.status_code == 200
    assert allowed["Docker-Content-Digest"] == pushed["1.1"]
    denied = puller.get("/v2/acme/app/manifests/2.0")
    assert denied.status_code == 403
    assert denied.json()["errors"][0]["code"] == "DENIED"
    # The token endpoint issues a JWT for it as well.
    token = Client().get(
        "/v2/token",
        {"service": settings.REGISTRY_SERVICE, "scope": "repository:acme/app:pull"},
        HTTP_AUTHORIZATION=basic(secret),
    )
    assert token.status_code == 200
    jwt = token.json()["token"]
    assert (
        Client(HTTP_AUTHORIZATION=f"Bearer {jwt}").get("/v2/acme/app/manifests/1.1").status_code
        == 200
    )


def test_revoke_in_portal_stops_the_registry(
    acme, globex_admin, licensed, django_capture_on_commit_callbacks
):
    c = sign_in(globex_admin, acme)
    _, secret = mint(c)
    puller = Client(HTTP_AUTHORIZATION=basic(secret))
    assert puller.get("/v2/acme/app/manifests/1.1").status_code == 200  # now cached as live
    token = AccessToken.objects.get(name="prod cluster")
    with django_capture_on_commit_callbacks(execute=True):
        response = c.post(f"/p/acme/tokens/{token.pk}/revoke", {"confirmed": "1"}, follow=True)
    assert "revoked" in " ".join(str(m) for m in response.context["messages"])
    token.refresh_from_db()
    assert token.revoked_at is not None
    refused = puller.get("/v2/acme/app/manifests/1.1")
    assert refused.status_code == 401
    assert refused.json()["errors"][0]["code"] == "UNAUTHORIZED"
    assert "revoked" in c.get("/p/acme/tokens/").content.decode()
    assert AuditEvent.objects.filter(
        action="token.revoked", target=f"token:{token.prefix}"
    ).exists()


def test_customer_cannot_revoke_another_customers_token(acme, customer, globex_admin):
    from customers.services import customer_create

    hooli = customer_create(vendor=acme, slug="hooli", name="Hooli")[0]
    other = token_mint(vendor=acme, customer=hooli, kind="pull", name="hooli").token
    assert sign_in(globex_admin, acme).post(f"/p/acme/tokens/{other.pk}/revoke").status_code == 404
    other.refresh_from_db()
    assert other.revoked_at is None
    assert "hooli" not in sign_in(globex_admin, acme).get("/p/acme/tokens/").content.decode()


def test_customer_cannot_revoke_a_push_token(acme, customer, globex_admin, push_secret):
    push = AccessToken.objects.get(kind="push")
    assert sign_in(globex_admin, acme).post(f"/p/acme/tokens/{push.pk}/revoke").status_code == 404
    push.refresh_from_db()
    assert push.revoked_at is None


# --- push tokens in the console -------------------------------------------------------


def test_push_token_with_repository_patterns(acme, acme_maintainer, client, pushed):
    c = sign_in(acme_maintainer, acme)
    response = post_mint(
        c,
        "/p/acme/console/tokens/",
        {"name": "charts CI", "expires_in_days": "30", "repository_patterns": "charts/*, tools"},
    )
    assert response.status_code == 201
    secret = response.context["minted"].secret
    assert secret.startswith("distr_push_") and secret in response.content.decode()
    token = AccessToken.objects.get(name="charts CI")
    assert token.kind == "push" and token.customer is None
    assert token.repository_patterns == ["charts/*", "tools"]
    assert token.actions == ["pull", "push"]
    assert all(
        secret not in str(v)
        for v in AccessToken.objects.filter(pk=token.pk).values().get().values()
    )
    listing = c.get("/p/acme/console/tokens/").content.decode()
    assert secret not in listing and "charts/*, tools" in listing
    ci = Client(HTTP_AUTHORIZATION=basic(secret))
    # Narrowed: may push acme/tools, not acme/app.
    upload = ci.post("/v2/acme/tools/blobs/uploads/")
    assert upload.status_code == 202, upload.content
    refused = ci.post("/v2/acme/app/blobs/uploads/")
    assert refused.status_code == 403, refused.content
    assert refused.json()["errors"][0]["code"] == "DENIED"


def test_push_token_allow_delete_adds_the_action(acme, acme_admin):
    post_mint(
        sign_in(acme_admin, acme),
        "/p/acme/console/tokens/",
        {"name": "janitor", "expires_in_days": "0", "allow_delete": "on"},
    )
    token = AccessToken.objects.get(name="janitor")
    assert token.actions == ["delete", "pull", "push"] and token.expires_at is None


def test_push_token_revoke_in_console(
    acme, acme_admin, push_secret, client, django_capture_on_commit_callbacks
):
    assert client.get("/v2/_catalog").status_code == 200
    token = AccessToken.objects.get(kind="push")
    with django_capture_on_commit_callbacks(execute=True):
        sign_in(acme_admin, acme).post(
            f"/p/acme/console/tokens/{token.pk}/revoke", {"confirmed": "1"}
        )
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert client.get("/v2/_catalog").status_code == 401


# --- artifacts ------------------------------------------------------------------------


def test_artifacts_show_only_entitled_tags_with_digest_and_commands(
    acme, globex_admin, licensed, pushed
):
    response = sign_in(globex_admin, acme).get("/p/acme/artifacts/")
    assert response.status_code == 200
    body = html.unescape(response.content.decode())
    host = settings.REGISTRY_SERVICE
    assert "acme/app" in body
    assert pushed["1.1"] in body
    assert pushed["2.0"] not in body
    assert f"docker pull {host}/acme/app:1.1" in body
    assert f"docker pull {host}/acme/app@{pushed['1.1']}" in body
    assert "acme/app:2.0" not in body and ">2.0<" not in body
    assert f"docker login {host} -u globex" in body
    assert f"--docker-server={host}" in body
    repos = response.context["repositories"]
    assert [(r.name, [t.name for t in r.tags]) for r in repos] == [("acme/app", ["1.1"])]


def test_artifacts_without_license(acme, globex_admin, pushed):
    response = sign_in(globex_admin, acme).get("/p/acme/artifacts/")
    assert response.status_code == 200
    assert b"Nothing to pull yet" in response.content
    assert pushed["1.1"].encode() not in response.content


def test_artifacts_follow_a_suspended_license(acme, globex_admin, licensed, pushed):
    from licensing.services import license_suspend

    license_suspend(license=licensed)
    body = sign_in(globex_admin, acme).get("/p/acme/artifacts/").content
    assert pushed["1.1"].encode() not in body


def test_suspended_customer_is_refused_in_portal_and_registry(
    acme, customer, globex_admin, licensed, pull_secret, django_capture_on_commit_callbacks
):
    puller = Client(HTTP_AUTHORIZATION=basic(pull_secret))
    assert puller.get("/v2/acme/app/manifests/1.1").status_code == 200
    c = sign_in(globex_admin, acme)
    assert c.get("/p/acme/artifacts/").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        customer_set_suspended(customer=customer, suspended=True)
    for path in ("/p/acme/overview/", "/p/acme/artifacts/", "/p/acme/tokens/", "/p/acme/team/"):
        response = c.get(path)
        assert response.status_code == 403, path
        assert b"Acme Software" in response.content
        assert b"access to this portal is suspended" in response.content
        assert b"sha256:" not in response.content
    assert c.post("/p/acme/tokens/", {"name": "sneaky", "expires_in_days": "30"}).status_code == 403
    assert not AccessToken.objects.filter(name="sneaky").exists()
    assert_suspended(puller.get("/v2/acme/app/manifests/1.1"))


def assert_suspended(response):
    assert response.status_code == 403, response.content
    error = response.json()["errors"][0]
    assert error["code"] == "DENIED" and "suspended" in error["message"]


def test_suspend_through_console_refuses_pull(
    acme, customer, acme_admin, licensed, pull_secret, django_capture_on_commit_callbacks
):
    puller = Client(HTTP_AUTHORIZATION=basic(pull_secret))
    assert puller.get("/v2/acme/app/manifests/1.1").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = sign_in(acme_admin, acme).post(
            "/p/acme/console/customers/globex/suspend", {"suspend": "1", "confirmed": "1"}
        )
    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.suspended_at is not None
    assert_suspended(puller.get("/v2/acme/app/manifests/1.1"))
    with django_capture_on_commit_callbacks(execute=True):
        sign_in(acme_admin, acme).post("/p/acme/console/customers/globex/suspend", {"suspend": "0"})
    assert puller.get("/v2/acme/app/manifests/1.1").status_code == 200


# --- overview: licenses and expiry warnings --------------------------------------------


@pytest.mark.parametrize("days", [0, 12, 30])
def test_expiry_warning_within_30_days(acme, customer, globex_admin, pushed, days):
    today = timezone.localdate()
    license_grant(
        customer,
        "acme/app",
        name="Ending soon",
        valid_from=today - datetime.timedelta(days=10),
        valid_until=today + datetime.timedelta(days=days),
    )
    body = sign_in(globex_admin, acme).get("/p/acme/overview/").content.decode()
    assert 'role="alert"' in body
    assert "License “Ending soon” expires" in body
    assert f"({days} day{'' if days == 1 else 's'} left)" in body
    assert "Contact Acme Software to renew" in body


def test_no_expiry_warning_beyond_30_days_or_without_end(acme, customer, globex_admin, pushed):
    today = timezone.localdate()
    license_grant(
        customer, "acme/app", name="Long", valid_until=today + datetime.timedelta(days=31)
    )
    license_grant(customer, "acme/app", name="Forever")
    body = sign_in(globex_admin, acme).get("/p/acme/overview/").content.decode()
    assert 'role="alert"' not in body
    assert "expires on" not in body
    assert "Long" in body and "Forever" in body


def test_expired_license_is_not_warned_about_but_shown_expired(
    acme, customer, globex_admin, pushed
):
    today = timezone.localdate()
    license_grant(
        customer,
        "acme/app",
        name="Old",
        valid_from=today - datetime.timedelta(days=100),
        valid_until=today - datetime.timedelta(days=1),
    )
    body = sign_in(globex_admin, acme).get("/p/acme/overview/").content.decode()
    assert "expires on" not in body
    assert ">expired<" in body


def test_overview_counts_active_tokens(acme, customer, globex_admin):
    token_mint(vendor=acme, customer=customer, kind="pull", name="a")
    revoked = token_mint(vendor=acme, customer=customer, kind="pull", name="b").token
    from customers.services import token_revoke

    token_revoke(token=revoked)
    response = sign_in(globex_admin, acme).get("/p/acme/overview/")
    assert response.context["token_count"] == 1
    assert b'<p class="stat">1</p>' in response.content
