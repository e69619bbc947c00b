"""/metrics, /readyz and request logs of a real gunicorn with two workers, on S3."""

import json
import logging
import os
import re
import time

import pytest
import requests
from django.test import Client

from ops import health
from registry.models import Upload
from tests.support.server import free_port, live_http
from tests.support.uploads import OCTETS, sha256, start_live

pytestmark = pytest.mark.django_db


def scrape(live) -> dict[str, float]:
    """Every sample of /metrics as {'name{labels}': value}."""
    text = requests.get(f"{live.url}/metrics", timeout=10).text
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            samples[name] = float(value)
    return samples


def delta(before: dict, after: dict, key: str) -> float:
    return after.get(key, 0.0) - before.get(key, 0.0)


def push_image(live, repo: str, layer: bytes) -> str:
    """A one-layer image by raw HTTP; returns the manifest digest."""
    config = b'{"os":"linux"}'
    for blob in (config, layer):
        response = live_http.post(
            f"{live.url}/v2/{repo}/blobs/uploads/?digest={sha256(blob)}",
            data=blob,
            headers=OCTETS,
            timeout=60,
        )
        assert response.status_code == 201, response.text
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": sha256(config),
                "size": len(config),
            },
            "layers": [
                {
                    "mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "digest": sha256(layer),
                    "size": len(layer),
                }
            ],
        }
    ).encode()
    response = live_http.put(
        f"{live.url}/v2/{repo}/manifests/v1",
        data=manifest,
        headers={"Content-Type": "application/vnd.oci.image.manifest.v1+json"},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    return response.headers["Docker-Content-Digest"]


def test_metrics_add_up_across_workers(live_registry, repo_name):
    layer = os.urandom(300_000)
    before = scrape(live_registry)
    push_image(live_registry, repo_name, layer)
    for _ in range(20):  # fresh connections: both workers answer some of these
        response = requests.get(
            f"{live_registry.url}/v2/{repo_name}/manifests/v1",
            auth=live_http.auth,
            headers={"Connection": "close"},
            timeout=10,
        )
        assert response.status_code == 200
    blob = live_http.get(
        f"{live_registry.url}/v2/{repo_name}/blobs/{sha256(layer)}",
        allow_redirects=False,
        timeout=10,
    )
    assert blob.status_code == 307
    url, _ = start_live(live_registry, repo_name)  # one session left open
    after = scrape(live_registry)

    manifest_200 = 'distr_http_requests_total{method="GET",route="registry-manifest",status="200"}'
    assert delta(before, after, manifest_200) == 20
    assert delta(before, after, "distr_registry_pulls_total") == 20
    assert delta(before, after, 'distr_registry_served_bytes_total{mode="redirect"}') == len(layer)
    assert delta(before, after, "distr_registry_uploaded_bytes_total") >= len(layer)
    latency_count = (
        'distr_http_request_duration_seconds_count{method="GET",route="registry-manifest"}'
    )
    assert delta(before, after, latency_count) == 20
    assert after["distr_upload_sessions_open"] == Upload.objects.count() >= 1
    if os.environ.get("REDIS_URL"):
        # Three tasks waiting in the analytics queue show up as its length.
        import redis
        from django.conf import settings

        queue = settings.CELERY_TASK_DEFAULT_QUEUE
        broker = redis.Redis.from_url(os.environ["REDIS_URL"])
        waiting = broker.llen(queue)
        broker.rpush(queue, b"{}", b"{}", b"{}")
        try:
            scraped = scrape(live_registry)[f'distr_celery_queue_length{{queue="{queue}"}}']
            assert scraped == waiting + 3
        finally:  # take the three out again
            if waiting:
                broker.ltrim(queue, 0, waiting - 1)
            else:
                broker.delete(queue)
    live_http.delete(url, timeout=10)


def test_each_request_is_one_json_log_line_without_secrets(live_registry, repo_name):
    response = live_http.get(
        f"{live_registry.url}/v2/{repo_name}/tags/list",
        headers={"X-Request-ID": "trace-abc.1"},
        timeout=10,
    )
    assert response.headers["X-Request-ID"] == "trace-abc.1"
    _user, secret = live_registry.credentials
    lines = []
    for _ in range(50):  # the line is written after the response went out
        log = live_registry.log_path.read_text()
        lines = [line for line in log.splitlines() if '"trace-abc.1"' in line]
        if lines:
            break
        time.sleep(0.05)
    (line,) = lines
    entry = json.loads(line)
    assert entry["logger"] == "distr.request"
    assert (entry["status"], entry["route"], entry["repository"]) == (
        404,
        "registry-tags",
        repo_name,
    )
    assert entry["principal_kind"] == "push"
    assert re.fullmatch(r"token:\w+", entry["principal_id"])
    assert isinstance(entry["duration_ms"], float) and entry["bytes_out"] > 0
    assert secret not in log


def test_readyz_live_is_ready(live_registry):
    response = requests.get(f"{live_registry.url}/readyz", timeout=10)
    assert response.status_code == 200, response.text
    assert response.json()["checks"]["storage"]["ok"] is True


def test_readyz_reports_an_unreachable_bucket_by_name(moto, settings, caplog):
    settings.STORAGES = {**settings.STORAGES, "registry": moto.storage_options("no-such-bucket")}
    caplog.set_level(logging.WARNING, logger="distr.health")
    response = Client().get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["checks"]["storage"]["ok"] is False
    assert body["checks"]["storage"]["error"] == "ClientError"  # the details are logged
    assert any("(404)" in r.getMessage() for r in caplog.records if r.name == "distr.health")
    assert body["checks"]["database"]["ok"] is True


def test_readyz_reports_an_endpoint_nobody_listens_on(moto, settings):
    options = moto.storage_options("distr")
    options["OPTIONS"]["endpoint_url"] = f"http://127.0.0.1:{free_port()}"
    settings.STORAGES = {**settings.STORAGES, "registry": options}
    response = Client().get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["storage"]["error"] == "EndpointConnectionError"


def test_readyz_reports_redis_down_on_s3_too(moto, s3_bucket, settings):
    health._redis_client = None
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/11"
    try:
        body = Client().get("/readyz").json()
    finally:
        health._redis_client = None
    assert body["status"] == "unavailable"
    assert body["checks"]["redis"]["ok"] is False
    assert body["checks"]["storage"]["ok"] is True
