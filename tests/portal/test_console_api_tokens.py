"""The console's API token page: vendor admins only; mint with scopes and expiry (the
secret once, on a page no cache keeps), list, revoke after a confirmation; every mint and
revoke audited. The secret guarantees shared with the other token pages are in
test_token_secrets.py."""

import pytest
from django.test import Client

from customers.models import AccessToken, AuditEvent
from customers.services import token_mint
from tests.portal.conftest import messages_text, post_mint, sign_in

pytestmark = pytest.mark.django_db

PAGE = "/p/acme/console/api-tokens/"
API = "/api/v1/analytics/customers/top"


def revoke_path(token) -> str:
    return f"{PAGE}{token.pk}/revoke"


@pytest.fixture
def admin(acme, acme_admin):
    return sign_in(acme_admin, acme)


@pytest.mark.parametrize("role", ["acme_viewer", "acme_maintainer"])
def test_only_admins_see_or_use_the_page(request, acme, role):
    c = sign_in(request.getfixturevalue(role), acme)
    token = token_mint(vendor=acme, kind="api", name="crm", scopes=["read"]).token
    assert c.get(PAGE).status_code == 403
    assert (
        post_mint(c, PAGE, {"name": "x", "expires_in_days": "30", "scopes": ["write"]}).status_code
        == 403
    )
    assert c.post(revoke_path(token), {"confirmed": "1"}).status_code == 403
    token.refresh_from_db()
    assert token.revoked_at is None
    assert AccessToken.objects.filter(kind="api").count() == 1
    assert "API tokens" not in c.get("/p/acme/console/").content.decode()  # no nav link


def test_an_admin_mints_a_scoped_token_shown_once_that_works(admin, acme):
    assert 'href="/p/acme/console/api-tokens/"' in admin.get("/p/acme/console/").content.decode()
    response = post_mint(
        admin,
        PAGE,
        {
            "name": "CRM sync",
            "expires_in_days": "90",
            "scopes": ["customers:write", "analytics:read"],
        },
    )
    assert response.status_code == 201
    assert response["Cache-Control"] == "no-store"
    secret = response.context["minted"].secret
    page = response.content.decode()
    assert page.count(secret) >= 1 and "shown only once" in page
    token = AccessToken.objects.get(name="CRM sync")
    assert (token.kind, token.scopes, token.created_by.email) == (
        "api",
        ["customers:write", "analytics:read"],
        "admin@acme.test",
    )
    assert token.expires_at is not None
    event = AuditEvent.objects.get(action="token.created", target=f"token:{token.prefix}")
    assert event.actor == f"user:{token.created_by.pk}" and event.details["kind"] == "api"
    # The secret never again, on this page or any other the admin can open.
    for path in (PAGE, "/p/acme/console/", "/p/acme/console/tokens/", "/p/acme/console/audit/"):
        later = admin.get(path)
        assert later.status_code == 200 and secret not in later.content.decode(), path
    listing = admin.get(PAGE).content.decode()
    assert token.prefix in listing and "customers:write, analytics:read" in listing
    assert Client(HTTP_AUTHORIZATION=f"Bearer {secret}").get(API).status_code == 200


def test_mint_refuses_no_scope_and_unknown_scopes(admin):
    for scopes in ([], ["root"]):
        response = post_mint(admin, PAGE, {"name": "x", "expires_in_days": "30", "scopes": scopes})
        assert response.status_code == 400 and response.context["minted"] is None
    assert not AccessToken.objects.filter(kind="api").exists()


def test_the_list_shows_only_this_vendors_api_tokens(admin, acme, umbrella, push_secret):
    token_mint(vendor=umbrella, kind="api", name="umbrella crm", scopes=["read"])
    token_mint(vendor=acme, kind="api", name="acme crm", scopes=["write"])
    page = admin.get(PAGE).content.decode()
    assert "acme crm" in page and "umbrella crm" not in page
    assert [t.kind for t in admin.get(PAGE).context["tokens"]] == ["api"]  # no push tokens


def test_revoke_asks_first_then_refuses_the_token_from_the_next_request(admin, acme):
    minted = token_mint(vendor=acme, kind="api", name="crm", scopes=["read"])
    api = Client(HTTP_AUTHORIZATION=f"Bearer {minted.secret}")
    assert api.get(API).status_code == 200
    ask = admin.post(revoke_path(minted.token))
    assert ask.status_code == 200 and "Revoke API token “crm”?" in ask.content.decode()
    assert "no-cache" in ask["Cache-Control"] or "no-store" in ask["Cache-Control"]
    minted.token.refresh_from_db()
    assert minted.token.revoked_at is None  # asking changes nothing
    done = admin.post(revoke_path(minted.token), {"confirmed": "1"}, follow=True)
    assert "revoked" in messages_text(done)
    assert api.get(API).status_code == 401
    assert AuditEvent.objects.filter(
        action="token.revoked", target=f"token:{minted.token.prefix}"
    ).exists()
    assert "badge-revoked" in admin.get(PAGE).content.decode()


def test_other_tokens_cannot_be_revoked_here(admin, acme, umbrella, push_secret):
    push = AccessToken.objects.get(kind="push")
    other = token_mint(vendor=umbrella, kind="api", name="theirs", scopes=["read"]).token
    for token in (push, other):
        assert admin.post(revoke_path(token), {"confirmed": "1"}).status_code == 404
        token.refresh_from_db()
        assert token.revoked_at is None
    # and the push token page does not revoke API tokens
    mine = token_mint(vendor=acme, kind="api", name="mine", scopes=["read"]).token
    response = admin.post(f"/p/acme/console/tokens/{mine.pk}/revoke", {"confirmed": "1"})
    assert response.status_code == 404


def test_the_audit_log_names_an_api_token_as_such(admin, acme):
    minted = token_mint(vendor=acme, kind="api", name="crm", scopes=["customers:write"])
    api = Client(HTTP_AUTHORIZATION=f"Bearer {minted.secret}")
    created = api.post(
        "/api/v1/customers/",
        {"slug": "initech", "name": "Initech"},
        content_type="application/json",
    )
    assert created.status_code == 201
    page = admin.get("/p/acme/console/audit/", {"action": "customer.created"})
    assert "API token “crm”" in page.content.decode()
