"""analytics 0002/0003: every analytics.ApiToken becomes an AccessToken of kind "api"
with the scope `read`, and its secret keeps working over HTTP; revoked and expired ones
stay refused. Backwards, the rows go back."""

import datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client
from django.utils import timezone

from customers.models import AccessToken
from customers.tokens import secret_generate, secret_hash, secret_prefix

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("analytics", "0001_initial"), ("customers", "0006_audit_vendor_created_member_added")]
API = "/api/v1/analytics/customers/top"


def migrate(targets=None):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    targets = targets or executor.loader.graph.leaf_nodes()
    executor.migrate(targets)
    return MigrationExecutor(connection).loader.project_state(targets).apps


@pytest.fixture
def old_tokens():
    """Three ApiToken rows made the way the old api_token_mint made them: live (used and
    made by a user), revoked, expired. Returns their secrets and what was stored."""
    apps = migrate(BEFORE)
    Vendor = apps.get_model("customers", "Vendor")
    ApiToken = apps.get_model("analytics", "ApiToken")
    User = apps.get_model("auth", "User")
    acme = Vendor.objects.create(slug="acme", name="Acme")
    maker = User.objects.create(username="maker")
    now = timezone.now()
    made = {}
    for name, fields in {
        "live": {"last_used_at": now - datetime.timedelta(days=1), "created_by": maker},
        "revoked": {"revoked_at": now - datetime.timedelta(hours=1)},
        "expired": {"expires_at": now - datetime.timedelta(minutes=1)},
    }.items():
        secret = secret_generate("api")
        row = ApiToken.objects.create(
            vendor=acme,
            name=name,
            prefix=secret_prefix(secret),
            secret_hash=secret_hash(secret),
            **fields,
        )
        created_at = now - datetime.timedelta(days=30)
        ApiToken.objects.filter(pk=row.pk).update(created_at=created_at)
        made[name] = {"secret": secret, "created_at": created_at, **fields}
    yield made
    migrate()


def test_old_api_tokens_become_access_tokens_and_keep_working(old_tokens):
    apps = migrate()
    with pytest.raises(LookupError):
        apps.get_model("analytics", "ApiToken")  # the old model is gone
    tokens = {t.name: t for t in AccessToken.objects.all()}
    assert set(tokens) == {"live", "revoked", "expired"}
    for name, old in old_tokens.items():
        token = tokens[name]
        assert (token.kind, token.scopes, token.customer_id) == ("api", ["read"], None)
        assert token.vendor.slug == "acme"
        assert token.prefix == secret_prefix(old["secret"])
        assert token.secret_hash == secret_hash(old["secret"])
        assert token.created_at == old["created_at"]
        for field in ("last_used_at", "revoked_at", "expires_at"):
            assert getattr(token, field) == old.get(field)
    assert tokens["live"].created_by.username == "maker"

    def status(name):
        header = f"Bearer {old_tokens[name]['secret']}"
        return Client(HTTP_AUTHORIZATION=header).get(API).status_code

    assert status("live") == 200
    assert (status("revoked"), status("expired")) == (401, 401)


def test_backwards_puts_the_tokens_back(old_tokens):
    migrate()
    apps = migrate(BEFORE)
    ApiToken = apps.get_model("analytics", "ApiToken")
    assert sorted(ApiToken.objects.values_list("name", flat=True)) == ["expired", "live", "revoked"]
    live = ApiToken.objects.get(name="live")
    assert live.secret_hash == secret_hash(old_tokens["live"]["secret"])
    assert live.created_at == old_tokens["live"]["created_at"]
    assert not apps.get_model("customers", "AccessToken").objects.exists()
