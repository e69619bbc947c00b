"""The WSGI fast path for manifest GET/HEAD and blob HEAD (distr/fast_reads.py) answers
exactly as Django's registry handler does, and hands everything but a success to it.

Each parity test sends the same request through the real WSGI entry point twice, with the
fast path on and off (FAST_PATHS), and compares status, headers (all of them but
the request id) and body; the routing tests prove which of the two answered."""

import pytest

from analytics.models import PullEventOutbox
from customers.models import AuditEvent
from distr import fast_common, wsgi
from ops import metrics
from tests.conftest import basic, license_grant
from tests.distr.conftest import jwt_for
from tests.support.registry_client import image_manifest, put_manifest, sha256
from tests.support.wsgi import wsgi_call, wsgi_environ

pytestmark = pytest.mark.django_db(transaction=True)  # the real handler closes connections
OCI = "application/vnd.oci.image.manifest.v1+json"


def call(path: str, method: str = "GET", environ: dict | None = None, handler=None, **headers):
    env = wsgi_environ(path, method, environ=environ, **headers)
    return wsgi_call(handler or wsgi.application, env)


def both(path: str, method: str = "GET", environ: dict | None = None, **headers):
    """(the entry point, Django's registry handler): each (status, headers without
    X-Request-ID, body). The handler is built anew, so that its middleware reads the
    settings of the test (they read them once, when built)."""
    answers = []
    for handler in (None, wsgi._registry_handler()):
        status, response_headers, body = call(path, method, environ, handler, **headers)
        names = [name for name, _ in response_headers]
        assert len(names) == len(set(names)), response_headers  # no header twice
        kept = sorted((k, v) for k, v in response_headers if k != "X-Request-ID")
        assert len(kept) == len(response_headers) - 1, "one X-Request-ID"
        answers.append((status, kept, body))
    return answers


@pytest.fixture
def pushed(client):
    """acme/app:1.0 and :2.0, each a manifest with its own last layer; returns
    {tag: (manifest digest, manifest bytes, last layer digest)}."""
    tags = {}
    for layers, tag in enumerate(("1.0", "2.0"), start=1):
        manifest, raw = image_manifest(client, "acme/app", layers=layers)
        assert put_manifest(client, "acme/app", tag, raw).status_code == 201
        tags[tag] = (sha256(raw), raw, manifest["layers"][-1]["digest"])
    return tags


@pytest.fixture
def customer_jwt(customer, pull_secret, pushed):
    license_grant(customer, "acme/app", "exact:1.0")
    return jwt_for(pull_secret)


def test_success_answers_match_djangos(customer_jwt, pushed, django_handler_calls):
    digest, raw, layer = pushed["1.0"]
    bearer = {"AUTHORIZATION": f"Bearer {customer_jwt}", "ACCEPT": OCI}
    for path, method in [
        ("/v2/acme/app/manifests/1.0", "GET"),
        ("/v2/acme/app/manifests/1.0", "HEAD"),
        (f"/v2/acme/app/manifests/{digest}", "GET"),
        (f"/v2/acme/app/blobs/{layer}", "HEAD"),
    ]:
        django_handler_calls.clear()
        fast, general = both(path, method, **bearer)
        assert django_handler_calls == [], "the fast path answered"
        assert fast == general, (path, method)
        assert fast[0] == "200 OK"
    status, headers, body = call("/v2/acme/app/manifests/1.0", **bearer)
    assert body == raw
    assert dict(headers)["Docker-Content-Digest"] == digest
    assert dict(headers)["Content-Type"] == OCI


def test_security_headers_match_behind_a_tls_proxy(customer_jwt, pushed, settings, monkeypatch):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SECURE_HSTS_SECONDS = 3600
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    settings.SECURE_SSL_REDIRECT = True
    monkeypatch.setattr(wsgi, "_registry", wsgi._registry_handler())  # under these settings
    bearer = {"AUTHORIZATION": f"Bearer {customer_jwt}", "X_FORWARDED_PROTO": "https"}
    fast, general = both(f"/v2/acme/app/blobs/{pushed['1.0'][2]}", "HEAD", **bearer)
    assert fast == general
    assert ("Strict-Transport-Security", "max-age=3600; includeSubDomains") in fast[1]
    # Plain HTTP with the redirect on: Django's 301, whichever path is configured.
    fast, general = both("/v2/acme/app/manifests/1.0", AUTHORIZATION=f"Bearer {customer_jwt}")
    assert fast == general and fast[0].startswith("301")


def test_refusals_are_answered_by_django_with_their_challenge(
    customer_jwt, push_secret, pushed, django_handler_calls
):
    bearer = {"AUTHORIZATION": f"Bearer {customer_jwt}", "ACCEPT": OCI}
    vendor = {"AUTHORIZATION": f"Bearer {jwt_for(push_secret)}"}
    cases = [
        ("/v2/acme/app/manifests/2.0", "GET", bearer, "403"),  # not licensed
        (f"/v2/acme/app/blobs/{pushed['2.0'][2]}", "HEAD", bearer, "403"),  # its own layer
        ("/v2/acme/app/manifests/9.9", "GET", vendor, "404"),
        ("/v2/acme/nothing/manifests/1.0", "HEAD", vendor, "401"),  # not in the scope
        ("/v2/acme/app/manifests/1.0", "GET", {"AUTHORIZATION": "Bearer not.a.jwt"}, "401"),
        ("/v2/acme/app/manifests/1.0", "GET", {}, "401"),  # anonymous, private repository
        ("/v2/acme/app/blobs/sha256:nothex", "HEAD", vendor, "400"),
        ("/v2/acme/app/blobs/uploads", "HEAD", vendor, "40"),  # the upload route's answer
    ]
    for path, method, headers, status in cases:
        django_handler_calls.clear()
        fast, general = both(path, method, **headers)
        assert fast == general, path
        assert fast[0].startswith(status), (path, fast[0])
        assert django_handler_calls == [path], "the entry point handed it to Django"
    fast, _ = both("/v2/acme/app/manifests/1.0")
    assert 'Bearer realm="' in dict(fast[1])["WWW-Authenticate"]


def test_basic_credentials_never_take_the_fast_path(push_secret, pushed, django_handler_calls):
    """A failed Basic check is audited: it must run exactly once per request."""
    from django.core.cache import cache

    from customers.services import _auth_failures_key

    key = _auth_failures_key("127.0.0.1")
    failures = cache.get(key, 0)
    status, _, _ = call("/v2/acme/app/manifests/1.0", AUTHORIZATION=basic("wrong-secret"))
    assert status.startswith("401")
    assert cache.get(key) == failures + 1, "counted once"
    assert AuditEvent.objects.filter(action=AuditEvent.Action.AUTH_FAILED).count() == 1
    status, _, _ = call("/v2/acme/app/manifests/1.0", AUTHORIZATION=basic(push_secret))
    assert status == "200 OK"
    assert django_handler_calls == ["/v2/acme/app/manifests/1.0"] * 2


def test_a_manifest_get_records_one_pull_with_the_client_behind_a_proxy(
    customer, customer_jwt, pushed, settings, django_handler_calls
):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    settings.ANALYTICS_REDIS_URL = ""  # pulls go to the database outbox (CI has Redis)
    proxied = {"REMOTE_ADDR": "10.1.2.3"}
    bearer = {
        "AUTHORIZATION": f"Bearer {customer_jwt}",
        "X_FORWARDED_FOR": "203.0.113.9",
        "USER_AGENT": "containerd/2.0",
    }
    before = PullEventOutbox.objects.count()
    status, _, _ = call("/v2/acme/app/manifests/1.0", environ=proxied, **bearer)
    assert status == "200 OK" and django_handler_calls == []
    status, _, _ = call("/v2/acme/app/manifests/1.0", "HEAD", environ=proxied, **bearer)
    assert status == "200 OK"  # a HEAD only checks: no pull
    status, _, _ = call("/v2/acme/app/manifests/2.0", environ=proxied, **bearer)
    assert status.startswith("403")  # refused: no pull either
    events = list(PullEventOutbox.objects.order_by("pk")[before:])
    assert len(events) == 1
    payload = events[0].payload
    assert (payload["c"], payload["r"], payload["ref"]) == (str(customer.pk), "acme/app", "1.0")
    assert (payload["a"], payload["ua"]) == ("203.0.113.9", "containerd/2.0")


def test_request_metrics_and_log_line(customer_jwt, pushed, caplog):
    counter = metrics.REQUESTS.labels("registry-manifest", "GET", "200")
    pulls_before, before = metrics.PULLS._value.get(), counter._value.get()
    with caplog.at_level("INFO", logger="distr.request"):
        _, headers, _ = call(
            "/v2/acme/app/manifests/1.0", AUTHORIZATION=f"Bearer {customer_jwt}", X_REQUEST_ID="r-1"
        )
    assert ("X-Request-ID", "r-1") in headers
    assert counter._value.get() == before + 1
    assert metrics.PULLS._value.get() == pulls_before + 1
    [record] = [r for r in caplog.records if r.name == "distr.request"]
    fields = record.fields
    assert (fields["request_id"], fields["route"]) == ("r-1", "registry-manifest")
    assert fields["status"] == 200
    assert (fields["principal_kind"], fields["repository"]) == ("pull", "acme/app")
    assert fields["bytes_out"] == len(pushed["1.0"][1])
    with caplog.at_level("INFO", logger="distr.request"):  # refused, by Django: still named
        call("/v2/acme/app/manifests/2.0", AUTHORIZATION=f"Bearer {customer_jwt}")
    refused = [r.fields for r in caplog.records if r.name == "distr.request"][-1]
    assert (refused["status"], refused["principal_kind"]) == (403, "pull")


def test_hosts_other_than_the_configured_ones_go_to_the_host_gate(
    customer_jwt, pushed, django_handler_calls
):
    status, _, body = call(
        "/v2/acme/app/manifests/1.0",
        AUTHORIZATION=f"Bearer {customer_jwt}",
        HOST="registry.evil.example",
    )
    assert (status, body) == ("400 Bad Request", b"Unknown host.\n")
    assert django_handler_calls == ["/v2/acme/app/manifests/1.0"]


def test_the_fast_path_steps_aside_for_another_middleware_chain(
    customer_jwt, pushed, settings, django_handler_calls
):
    assert fast_common.enabled(), "on with the project's own registry chain"
    settings.REGISTRY_MIDDLEWARE = [*fast_common.MIRRORED_MIDDLEWARE, "some.other.Middleware"]
    assert not fast_common.enabled()
    path = "/v2/acme/app/manifests/1.0"
    status, _, _ = call(path, AUTHORIZATION=f"Bearer {customer_jwt}")
    assert status == "200 OK" and django_handler_calls == [path]
