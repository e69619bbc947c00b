"""Revocation and expiry take effect (at once in-process, within the principal cache TTL on
the live server), bad secrets fail and are audited, secrets are never stored or shown,
`last_used_at` is written at most once a minute, and a wrong secret takes as long to
reject as an unknown one."""

import datetime
import statistics
import time
from io import StringIO

import pytest
import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from customers.models import AccessToken, AuditEvent
from customers.selectors import token_authenticate
from customers.services import token_mint, token_revoke
from customers.tokens import secret_hash, secret_prefix
from registry.models import Repository
from tests.conftest import basic
from tests.support.oci_layout import image_layout
from tests.support.registry_client import errors
from tests.support.skopeo import skopeo


def token_of(secret: str) -> AccessToken:
    return AccessToken.objects.get(prefix=secret_prefix(secret))


def jwt_for(secret: str, *scopes: str) -> str:
    response = Client().get(
        "/v2/token",
        {"service": settings.REGISTRY_SERVICE, "scope": list(scopes or ["registry:catalog:*"])},
        HTTP_AUTHORIZATION=basic(secret),
    )
    assert response.status_code == 200, response.content
    return response.json()["token"]


def bearer_get(token: str, path: str = "/v2/_catalog"):
    return Client().get(path, HTTP_AUTHORIZATION=f"Bearer {token}")


def assert_basic_refused(response):
    assert response.status_code == 401, response.content
    assert errors(response) == ["UNAUTHORIZED"]
    assert response["WWW-Authenticate"].startswith("Bearer realm=")


def assert_jwt_refused(response):
    assert response.status_code == 401, response.content
    assert errors(response) == ["UNAUTHORIZED"]
    assert 'error="invalid_token"' in response["WWW-Authenticate"]


def same_prefix_wrong_rest(secret: str) -> str:
    prefix = secret_prefix(secret)
    rest = "".join("b" if c == "a" else "a" for c in secret[len(prefix) :])
    return prefix + rest


# --- revocation -----------------------------------------------------------------------


@pytest.mark.django_db
def test_revoke_fails_basic_and_issued_jwt_at_once(
    client, push_secret, django_capture_on_commit_callbacks
):
    token = jwt_for(push_secret)
    assert client.get("/v2/_catalog").status_code == 200
    assert bearer_get(token).status_code == 200  # now cached as live
    with django_capture_on_commit_callbacks(execute=True):
        assert token_revoke(token=token_of(push_secret)) is True
    assert_basic_refused(client.get("/v2/_catalog"))
    assert_jwt_refused(bearer_get(token))
    assert token_revoke(token=token_of(push_secret)) is False  # idempotent


@pytest.mark.django_db
def test_revoketoken_command_fails_basic_and_issued_jwt_at_once(
    client, push_secret, django_capture_on_commit_callbacks
):
    token = jwt_for(push_secret)
    assert bearer_get(token).status_code == 200
    out = StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("revoketoken", secret_prefix(push_secret), stdout=out)
    assert out.getvalue().strip() == f"revoked {secret_prefix(push_secret)}"
    assert_basic_refused(client.get("/v2/_catalog"))
    assert_jwt_refused(bearer_get(token))


@pytest.mark.django_db
def test_admin_revoke_action_takes_effect(push_secret, django_capture_on_commit_callbacks):
    admin = Client()
    admin.force_login(get_user_model().objects.create_superuser("root", "r@x.test", "pw"))
    token = jwt_for(push_secret)
    assert bearer_get(token).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(
            "/admin/customers/accesstoken/",
            {"action": "revoke_tokens", "_selected_action": [token_of(push_secret).pk]},
        )
    assert response.status_code == 302
    assert token_of(push_secret).revoked_at is not None
    assert_jwt_refused(bearer_get(token))
    event = AuditEvent.objects.get(action="token.revoked")
    assert event.actor == f"user:{get_user_model().objects.get(username='root').pk}"


@pytest.mark.django_db
def test_admin_token_delete_is_refused_or_takes_effect_at_once(
    push_secret, django_capture_on_commit_callbacks
):
    """Deleting a token in the admin ends it as surely as revoking: either the admin
    refuses to delete tokens, or an already-issued JWT stops working at once (and the
    removal leaves a trace in the audit log)."""
    admin = Client()
    admin.force_login(get_user_model().objects.create_superuser("root", "r@x.test", "pw"))
    row = token_of(push_secret)
    token = jwt_for(push_secret)
    assert bearer_get(token).status_code == 200  # now cached as live
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(f"/admin/customers/accesstoken/{row.pk}/delete/", {"post": "yes"})
    if AccessToken.objects.filter(pk=row.pk).exists():
        assert response.status_code == 403
        return
    assert_jwt_refused(bearer_get(token))
    assert (
        AuditEvent.objects.filter(target=f"token:{row.prefix}")
        .exclude(action="token.created")
        .exists()
    )


@pytest.mark.django_db
def test_audit_events_cannot_be_deleted_in_the_admin(push_secret):
    admin = Client()
    admin.force_login(get_user_model().objects.create_superuser("root", "r@x.test", "pw"))
    event = AuditEvent.objects.get(action="token.created")
    response = admin.post(f"/admin/customers/auditevent/{event.pk}/delete/", {"post": "yes"})
    assert response.status_code == 403
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_live_server_refuses_a_revoked_jwt_from_the_next_request(live_registry, push_secret):
    """Revoked in this process (the test's), refused by every worker of the live server
    from the first request after the revocation returned."""
    url = live_registry.url
    response = requests.get(
        f"{url}/v2/token",
        params={"service": settings.REGISTRY_SERVICE, "scope": "registry:catalog:*"},
        auth=("ci", push_secret),
        timeout=10,
    )
    assert response.status_code == 200, response.text
    headers = {"Authorization": f"Bearer {response.json()['token']}"}

    def catalog() -> requests.Response:  # a new connection each time: any worker answers
        return requests.get(f"{url}/v2/_catalog", headers=headers, timeout=10)

    for _ in range(6):  # every worker has now seen the token live
        assert catalog().status_code == 200
    token_revoke(token=token_of(push_secret))
    for _ in range(30):
        response = catalog()
        assert response.status_code == 401, response.text
        assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


# --- expiry and bad secrets -----------------------------------------------------------


@pytest.mark.django_db
def test_expired_token_fails(client, push_secret):
    assert client.get("/v2/_catalog").status_code == 200
    AccessToken.objects.filter(prefix=secret_prefix(push_secret)).update(
        expires_at=timezone.now() - datetime.timedelta(seconds=1)
    )
    assert_basic_refused(client.get("/v2/_catalog"))
    assert token_authenticate(secret=push_secret) is None


@pytest.mark.django_db
def test_jwt_is_not_honoured_past_its_tokens_expiry(vendor):
    """The principal cache must not outlive the token's own expiry."""
    expires_at = timezone.now() + datetime.timedelta(seconds=1.5)
    minted = token_mint(vendor=vendor, kind="push", name="short", expires_at=expires_at)
    token = jwt_for(minted.secret)
    assert bearer_get(token).status_code == 200  # cached now
    time.sleep(max(0.0, (expires_at - timezone.now()).total_seconds()) + 0.1)
    assert_jwt_refused(bearer_get(token))


@pytest.mark.django_db
def test_wrong_secret_with_an_existing_prefix_fails(push_secret):
    wrong = same_prefix_wrong_rest(push_secret)
    assert secret_prefix(wrong) == secret_prefix(push_secret)
    assert token_authenticate(secret=wrong) is None
    assert_basic_refused(Client(HTTP_AUTHORIZATION=basic(wrong)).get("/v2/"))
    assert token_authenticate(secret=push_secret) == token_of(push_secret)  # the control


@pytest.mark.django_db
@pytest.mark.parametrize(
    "secret",
    [
        "distr_push_short",
        "distr_push_" + "a" * 42 + "-",
        "distr_push_" + "a" * 44,
        "distr_other_" + "a" * 43,
        "x" * 5000,
        "distr_push_" + "é" * 43,
    ],
)
def test_malformed_secret_fails(push_secret, secret):
    assert token_authenticate(secret=secret) is None
    assert_basic_refused(Client(HTTP_AUTHORIZATION=basic(secret)).get("/v2/"))


@pytest.mark.django_db
@pytest.mark.parametrize("header", ["Basic !!!notbase64", "Basic ", "Digest abc", "Basic Y2k="])
def test_malformed_authorization_header_fails(push_secret, header):
    assert_basic_refused(Client(HTTP_AUTHORIZATION=header).get("/v2/"))


@pytest.mark.django_db
def test_failed_attempts_are_audited_with_the_client_address(push_secret):
    wrong = same_prefix_wrong_rest(push_secret)
    remote = Client(HTTP_AUTHORIZATION=basic(wrong), REMOTE_ADDR="203.0.113.7")
    other = Client(HTTP_AUTHORIZATION=basic(wrong), REMOTE_ADDR="198.51.100.9")
    assert remote.get("/v2/acme/app/tags/list").status_code == 401
    for _ in range(20):  # a flood from one address within the window: still one row
        assert remote.get("/v2/token", {"service": settings.REGISTRY_SERVICE}).status_code == 401
    assert other.get("/v2/token", {"service": settings.REGISTRY_SERVICE}).status_code == 401
    events = list(AuditEvent.objects.filter(action="auth.failed").order_by("id"))
    assert [e.client_address for e in events] == ["203.0.113.7", "198.51.100.9"]
    assert [e.details["path"] for e in events] == ["/v2/acme/app/tags/list", "/v2/token"]
    assert all(e.actor == "unknown" for e in events)
    # successful authentication is not an auth.failed event
    Client(HTTP_AUTHORIZATION=basic(push_secret)).get("/v2/")
    assert AuditEvent.objects.filter(action="auth.failed").count() == 2


@pytest.mark.django_db
def test_token_creation_and_revocation_are_audited(vendor, customer):
    minted = token_mint(vendor=vendor, kind="pull", customer=customer, name="ci pull")
    created = AuditEvent.objects.get(action="token.created")
    assert (created.vendor_id, created.target) == (vendor.pk, f"token:{minted.token.prefix}")
    assert created.details == {"kind": "pull", "name": "ci pull", "customer": "globex"}
    token_revoke(token=minted.token)
    token_revoke(token=minted.token)  # idempotent: no second event
    revoked = AuditEvent.objects.get(action="token.revoked")
    assert (revoked.vendor_id, revoked.target) == (vendor.pk, f"token:{minted.token.prefix}")


# --- secrets are never stored or shown ------------------------------------------------


def every_stored_value() -> list[str]:
    """Every column of every row of every table, as text."""
    values = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            for row in cursor.fetchall():
                values += [
                    bytes(v).decode(errors="replace")
                    if isinstance(v, bytes | memoryview)
                    else str(v)
                    for v in row
                ]
    return values


@pytest.mark.django_db
def test_secrets_are_never_stored(client, push_secret, pull_secret):
    # use the secrets every way they can be used, including failing
    client.get("/v2/_catalog")
    jwt_for(pull_secret, "repository:acme/app:pull")
    Client().get("/v2/token", {"offline_token": "true"}, HTTP_AUTHORIZATION=basic(push_secret))
    Client().post("/v2/token", {"grant_type": "refresh_token", "refresh_token": pull_secret})
    Client(HTTP_AUTHORIZATION=basic(push_secret + "x")).get("/v2/")
    stored = every_stored_value()
    assert stored
    for secret in (push_secret, pull_secret):
        hidden = secret[len(secret_prefix(secret)) :]  # the part after the visible prefix
        assert not [v for v in stored if secret in v or hidden in v]
        row = token_of(secret)
        assert row.secret_hash == secret_hash(secret)
        assert row.prefix == secret[: len(secret_prefix(secret))]
    for row in AccessToken.objects.values():
        assert {k for k, v in row.items() if isinstance(v, str) and "distr_" in v} == {"prefix"}


@pytest.mark.django_db
def test_admin_shows_neither_secret_nor_hash(push_secret):
    admin = Client()
    admin.force_login(get_user_model().objects.create_superuser("root", "r@x.test", "pw"))
    row = token_of(push_secret)
    for path in (
        "/admin/customers/accesstoken/",
        f"/admin/customers/accesstoken/{row.pk}/change/",
        f"/admin/customers/accesstoken/?q={row.prefix}",
        "/admin/customers/auditevent/",
    ):
        response = admin.get(path)
        assert response.status_code == 200, path
        page = response.content.decode()
        assert push_secret not in page, path
        assert row.secret_hash not in page, path
        assert push_secret[len(row.prefix) :] not in page, path
    assert row.prefix in admin.get("/admin/customers/accesstoken/").content.decode()
    assert admin.get("/admin/customers/accesstoken/add/").status_code == 403


@pytest.mark.requires_command("skopeo")
def test_gunicorn_log_never_contains_the_secret(live_registry, push_secret, repo_name, tmp_path):
    layout = image_layout(tmp_path / "src", [512])
    target = f"docker://{live_registry.host}/{repo_name}:v1"
    skopeo("copy", "--dest-tls-verify=false", layout.ref, target)  # default auth: push_secret
    assert Repository.objects.filter(name=repo_name).exists()
    requests.get(f"{live_registry.url}/v2/", auth=("ci", push_secret + "x"), timeout=10)
    log = live_registry.log_path.read_text(errors="replace")
    assert push_secret not in log
    assert push_secret[len(secret_prefix(push_secret)) :] not in log


# --- last_used_at ---------------------------------------------------------------------


def last_used_updates(queries) -> list[str]:
    table = AccessToken._meta.db_table
    return [
        q["sql"]
        for q in queries
        if q["sql"].startswith("UPDATE") and table in q["sql"] and "last_used_at" in q["sql"]
    ]


@pytest.mark.django_db
def test_last_used_at_is_written_at_most_once_a_minute(client, push_secret):
    assert token_of(push_secret).last_used_at is None
    with CaptureQueriesContext(connection) as first:
        assert client.get("/v2/").status_code == 200
        assert client.get("/v2/_catalog").status_code == 200
    assert len(last_used_updates(first.captured_queries)) == 1
    used = token_of(push_secret).last_used_at
    assert used is not None
    assert timezone.now() - used < datetime.timedelta(seconds=10)

    # a minute later, the next use writes again
    earlier = used - datetime.timedelta(seconds=61)
    AccessToken.objects.filter(pk=token_of(push_secret).pk).update(last_used_at=earlier)
    with CaptureQueriesContext(connection) as later:
        assert client.get("/v2/").status_code == 200
    assert len(last_used_updates(later.captured_queries)) == 1
    assert token_of(push_secret).last_used_at > earlier


@pytest.mark.django_db
def test_token_endpoint_use_sets_last_used_at(push_secret):
    jwt_for(push_secret)
    assert token_of(push_secret).last_used_at is not None


# --- timing ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_wrong_secret_and_unknown_prefix_take_similar_time(push_secret):
    wrong = same_prefix_wrong_rest(push_secret)
    unknown = "distr_push_" + "Z" * 43
    assert secret_prefix(unknown) != secret_prefix(push_secret)
    timings: dict[str, list[float]] = {wrong: [], unknown: []}
    for _ in range(20):  # warm up
        token_authenticate(secret=wrong)
        token_authenticate(secret=unknown)
    for _ in range(300):  # interleaved, so drift affects both alike
        for secret in (wrong, unknown):
            start = time.perf_counter()
            assert token_authenticate(secret=secret) is None
            timings[secret].append(time.perf_counter() - start)
    wrong_median = statistics.median(timings[wrong])
    unknown_median = statistics.median(timings[unknown])
    ratio = max(wrong_median, unknown_median) / min(wrong_median, unknown_median)
    assert ratio < 3, (wrong_median, unknown_median)
