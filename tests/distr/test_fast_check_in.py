"""The WSGI fast path for the license check-in (distr/fast_check_in.py) answers a
successful check-in exactly as DRF's view does: the same status, headers (but the
request id) and answer; everything else reaches Django's handler with the body intact,
and the rate limit counts each request once."""

import json

import jwt
import pytest

from distr import wsgi
from licensing.keys import LEASE_TYP, license_key_current
from licensing.models import Instance
from licensing.plans import license_plan_set, plan_create
from licensing.services import license_create
from ops import metrics
from tests.support.wsgi import wsgi_call, wsgi_environ

pytestmark = pytest.mark.django_db(transaction=True)  # the real handler closes connections
CHECK_IN = "/api/v1/license/check-in"


def call(data, handler=None, content_type="application/json", **headers):
    body = data if isinstance(data, bytes) else json.dumps(data).encode()
    env = wsgi_environ(CHECK_IN, "POST", body=body, content_type=content_type, **headers)
    return wsgi_call(handler or wsgi.application, env)


@pytest.fixture
def key(vendor, customer):
    plan = plan_create(vendor=vendor, name="Business", seats=3, grants=[], lease_seconds=3600)
    license = license_plan_set(
        license=license_create(vendor=vendor, customer=customer, name="Gold"), plan=plan
    )
    return license_key_current(license)


def without_request_id(headers):
    names = [name for name, _ in headers]
    assert len(names) == len(set(names)), headers  # no header twice
    return sorted((k, v) for k, v in headers if k != "X-Request-ID")


def test_a_check_in_answers_as_djangos(key, django_handler_calls):
    report = {"key": key, "instance_id": "node-1", "version": "1.0.0"}
    fast = call(report)
    assert django_handler_calls == [], "the fast path answered"
    general = call(report, handler=wsgi._registry_handler())
    assert fast[0] == general[0] == "200 OK"
    fast_headers = without_request_id(fast[1])
    assert ("Content-Length", str(len(fast[2]))) in fast_headers  # Django leaves it to gunicorn
    fast_headers.remove(("Content-Length", str(len(fast[2]))))
    assert fast_headers == without_request_id(general[1])
    assert ("Cache-Control", "no-store") in fast[1]
    answers = [json.loads(body) for _, _, body in (fast, general)]
    leases = [jwt.decode(a.pop("lease"), options={"verify_signature": False}) for a in answers]
    assert answers[0] == answers[1]
    assert answers[0]["status"] == "valid"
    assert answers[0]["seats"] == {"state": "ok", "used": 1, "bought": 3}
    for lease in leases:
        lease.pop("iat"), lease.pop("exp")
    assert leases[0] == leases[1] and leases[0]["instance"] == "node-1"
    header = jwt.get_unverified_header(json.loads(fast[2])["lease"])
    assert header["typ"] == LEASE_TYP
    assert Instance.objects.get(instance_id="node-1").version == "1.0.0"


@pytest.mark.parametrize(
    ("data", "extra", "status", "detail"),
    [
        ({"key": "not-a-key", "instance_id": "n"}, {}, "401", "not a license key (a compact JWS)"),
        ({"key": "KEY", "instance_id": ""}, {}, "400", "instance_id: 1 to 200 characters"),
        ({"key": "KEY", "instance_id": "n", "metadata": [1]}, {}, "400", "metadata: a JSON object"),
        ({"instance_id": "n"}, {}, "400", "send the license key as `key`"),
        (b'{"key": "KEY", "instance_id": NaN}', {}, "400", None),
        (b"[1, 2]", {}, "400", "send the license key as `key`"),
        ({"key": "KEY", "instance_id": "n"}, {"content_type": "text/plain"}, "415", None),
        ({"key": "KEY", "instance_id": "n"}, {"ACCEPT": "text/html"}, "406", None),
    ],
)
def test_refusals_are_answered_by_django(key, django_handler_calls, data, extra, status, detail):
    if isinstance(data, dict) and data.get("key") == "KEY":
        data = {**data, "key": key}
    fast = call(data, **extra)
    assert django_handler_calls == [CHECK_IN], "handed to Django, body intact"
    general = call(data, handler=wsgi._registry_handler(), **extra)
    assert fast[0] == general[0] and fast[0].startswith(status), fast
    assert without_request_id(fast[1]) == without_request_id(general[1])
    assert fast[2] == general[2]
    if detail is not None:
        assert json.loads(fast[2])["detail"] == detail
    assert not Instance.objects.exists(), "nothing written by a refused check-in"


def test_the_rate_limit_counts_each_request_once(key, settings, django_handler_calls):
    settings.LICENSE_CHECKIN_RATE_LIMIT = "3/min"
    report = {"key": key, "instance_id": "node-1"}
    statuses = [call(report)[0] for _ in range(3)]
    assert statuses == ["200 OK"] * 3 and django_handler_calls == []
    status, headers, body = call(report)
    assert status.startswith("429") and "Retry-After" in dict(headers)
    assert django_handler_calls == [CHECK_IN]
    assert json.loads(body)["status"] == 429


def test_metrics_and_log_line(key, caplog):
    counter = metrics.REQUESTS.labels("api-license-check-in", "POST", "200")
    before = counter._value.get()
    with caplog.at_level("INFO", logger="distr.request"):
        _, headers, body = call({"key": key, "instance_id": "n"}, X_REQUEST_ID="c-1")
    assert ("X-Request-ID", "c-1") in headers
    assert counter._value.get() == before + 1
    [record] = [r for r in caplog.records if r.name == "distr.request"]
    assert (record.fields["route"], record.fields["status"]) == ("api-license-check-in", 200)
    assert record.fields["bytes_out"] == len(body)
