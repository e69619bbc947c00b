"""The check-in endpoint under a real gunicorn (two workers): the per-key rate limit
answers 429 problem+json with Retry-After, counted across processes, while another key
keeps its own budget."""

import pytest
import requests

from licensing.keys import license_key_current
from licensing.services import license_create
from tests.support.server import LiveRegistry

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def limited_server(django_db_blocker, settings):
    # The keys this process issues name its public URL as their issuer: the server must
    # be that distr.
    env = {"LICENSE_CHECKIN_RATE_LIMIT": "5/min", "DISTR_PUBLIC_URL": settings.DISTR_PUBLIC_URL}
    with django_db_blocker.unblock():
        server = LiveRegistry(extra_env=env)
    yield server
    server.stop()


def test_check_in_rate_limit_per_key_answers_429(limited_server, vendor, customer):
    first = license_key_current(license_create(vendor=vendor, customer=customer, name="A"))
    second = license_key_current(license_create(vendor=vendor, customer=customer, name="B"))
    url = f"{limited_server.url}/api/v1/license/check-in"
    session = requests.Session()

    def post(key):
        return session.post(url, json={"key": key, "instance_id": "i-1"}, timeout=10)

    answers = [post(first) for _ in range(60)]
    codes = [a.status_code for a in answers]
    assert codes[:5] == [200] * 5
    assert codes[-1] == 429
    refused = answers[-1]
    assert refused.headers["Content-Type"] == "application/problem+json"
    assert refused.json()["status"] == 429
    assert int(refused.headers["Retry-After"]) >= 1
    # Overrun is bounded by the per-process batching of the embedded cache (docs/api.md).
    assert codes.count(200) <= 5 + 2 * 20
    ok = post(second)
    assert ok.status_code == 200 and ok.json()["status"] == "valid"
