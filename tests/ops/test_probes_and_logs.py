"""/healthz and /readyz in process, the request log's fields and formats, /metrics auth."""

import json
import logging
from unittest.mock import ANY

import pytest
from django.test import Client

from ops import health
from ops.logging import JsonFormatter
from tests.conftest import basic
from tests.support.server import free_port

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_redis_client():
    health._redis_client = None
    yield
    health._redis_client = None


def test_healthz_answers_even_for_a_host_distr_does_not_serve(settings):
    settings.ALLOWED_HOSTS = ["registry.example.com"]
    response = Client().get("/healthz", HTTP_HOST="10.1.2.3:8000")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_names_every_dependency_when_ready(settings):
    response = Client().get("/readyz")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "storage", "redis"}
    assert all(check["ok"] for check in body["checks"].values())
    if not settings.REDIS_URL:
        assert body["checks"]["redis"]["configured"] is False


def test_readyz_reports_redis_on_a_closed_port_by_name(settings):
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/12"
    response = Client().get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["redis"]["ok"] is False
    assert "ConnectionError" in body["checks"]["redis"]["error"]
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["storage"]["ok"] is True


def test_readyz_reports_an_unwritable_store(settings, tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    settings.STORAGES = {
        **settings.STORAGES,
        "registry": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(blocker / "registry")},
        },
    }
    body = Client().get("/readyz").json()
    assert body["status"] == "unavailable"
    assert body["checks"]["storage"]["ok"] is False
    assert body["checks"]["database"]["ok"] is True


def test_request_log_fields_and_request_id(client, repo_name, caplog):
    caplog.set_level(logging.INFO, logger="distr.request")
    response = client.get(f"/v2/{repo_name}/tags/list", HTTP_X_REQUEST_ID="ci-run-42.7")
    assert response["X-Request-ID"] == "ci-run-42.7"
    response.close()  # the server does this after the last byte; the line is written then
    (record,) = [r for r in caplog.records if r.name == "distr.request"]
    fields = record.fields
    assert fields["request_id"] == "ci-run-42.7"
    assert (fields["method"], fields["status"], fields["route"]) == ("GET", 404, "registry-tags")
    assert fields["repository"] == repo_name
    assert fields["principal_kind"] == "push"
    assert fields["principal_id"].startswith("token:")
    assert fields["bytes_out"] == len(response.content)
    assert fields["duration_ms"] >= 0
    line = json.loads(JsonFormatter().format(record))
    assert line["request_id"] == "ci-run-42.7" and line["logger"] == "distr.request"
    assert record.getMessage().startswith(f"GET /v2/{repo_name}/tags/list 404 ")


@pytest.mark.django_db
def test_request_log_names_who_fetched_a_token(push_secret, caplog):
    caplog.set_level(logging.INFO, logger="distr.request")
    prefix = push_secret[: len("distr_push_") + 8]
    response = Client().get("/v2/token", HTTP_AUTHORIZATION=basic(push_secret))
    assert response.status_code == 200
    response = Client().post(
        "/v2/token",
        {"grant_type": "password", "username": "ci", "password": push_secret, "service": ""},
    )
    assert response.status_code == 200
    lines = [r.fields for r in caplog.records if r.name == "distr.request"]
    assert [(f["method"], f["principal_kind"], f["principal_id"]) for f in lines] == [
        ("GET", "push", f"token:{prefix}"),
        ("POST", "push", f"token:{prefix}"),
    ]


def test_unsafe_request_ids_are_replaced(client, caplog):
    caplog.set_level(logging.INFO, logger="distr.request")
    response = client.get("/v2/", HTTP_X_REQUEST_ID="bad id\nwith newline")
    assert len(response["X-Request-ID"]) == 32
    assert response["X-Request-ID"] != "bad id\nwith newline"


def test_metrics_can_require_a_bearer_token(settings):
    settings.METRICS_BEARER_TOKEN = "scrape-secret"
    assert Client().get("/metrics").status_code == 401
    response = Client().get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-secret")
    assert response.status_code == 200
    assert b"distr_upload_sessions_open" in response.content


def test_metrics_without_a_token_are_for_loopback_scrapers_only(settings):
    settings.METRICS_BEARER_TOKEN = ""
    assert Client().get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 200
    assert Client().get("/metrics", REMOTE_ADDR="::1").status_code == 200
    refused = Client().get("/metrics", REMOTE_ADDR="10.1.2.3")
    assert refused.status_code == 401
    assert refused.content.startswith(b"metrics need the bearer token")
    settings.METRICS_BEARER_TOKEN = "scrape-secret"
    ok = Client().get("/metrics", REMOTE_ADDR="10.1.2.3", HTTP_AUTHORIZATION="Bearer scrape-secret")
    assert ok.status_code == 200


def test_readyz_names_the_failure_but_logs_its_message(settings, caplog):
    """The answer is unauthenticated: the error's type only; host and user go to the log."""
    settings.REDIS_URL = f"redis://secret-user:pw@127.0.0.1:{free_port()}/12"
    health._redis_client = None
    caplog.set_level(logging.WARNING, logger="distr.health")
    try:
        body = Client().get("/readyz").json()
    finally:
        health._redis_client = None
    assert body["checks"]["redis"] == {"ok": False, "error": "ConnectionError", "ms": ANY}
    assert "127.0.0.1" not in json.dumps(body) and "secret-user" not in json.dumps(body)
    (record,) = [r for r in caplog.records if r.name == "distr.health"]
    assert record.getMessage().startswith("readiness: redis failed: ConnectionError: ")
