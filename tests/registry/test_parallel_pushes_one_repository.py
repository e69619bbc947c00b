"""Many clients pushing whole artifacts into ONE repository at once (against a real
gunicorn with several workers and threads): the write path's shared rows (the
repository's change generation, its tag and history rows, the upload rows) must neither
lose a write nor deadlock nor answer anything but 201, and every push is visible to the
next request from any process the moment its 201 arrives (docs/coherence.md).

Each push is docker's: POST + PUT ?digest= for a config and a 1 KiB layer, then the
manifest under its own tag, then the same manifest under the shared tag `latest` (so the
pushes also queue on one tag row before the generation row: the lock order that must not
deadlock). Meaningful on both databases: on SQLite the pushes queue for the one writer,
on PostgreSQL on row locks (the tag's, then the repository's generation row).
"""

import hashlib
import json
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from core.changes import generations_read, repository_generation_key
from customers.models import AuditEvent
from registry.models import Manifest, RepositoryBlob, Tag, TagHistory, Upload
from tests.support.server import LiveRegistry

PUSHES = 60
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


@pytest.fixture(scope="module")
def busy_registry(live_registry, django_db_blocker):
    """Enough workers and threads that the pushes really overlap; connections closed
    after each request (PostgreSQL allows 100 for the whole suite)."""
    with django_db_blocker.unblock():
        server = LiveRegistry(
            extra_env={"WEB_CONCURRENCY": "3", "GUNICORN_THREADS": "10", "DB_CONN_MAX_AGE": "0"}
        )
    yield server
    server.stop()


def sha(data: bytes) -> str:
    return f"sha256:{hashlib.sha256(data).hexdigest()}"


def artifact(n: int) -> tuple[bytes, bytes, bytes]:
    config = json.dumps({"architecture": "amd64", "os": "linux", "n": n}).encode()
    layer = os.urandom(1024)
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": sha(config),
                "size": len(config),
            },
            "layers": [
                {
                    "mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "digest": sha(layer),
                    "size": len(layer),
                }
            ],
        }
    ).encode()
    return config, layer, manifest


def test_parallel_pushes_into_one_repository(live_registry, busy_registry, repo_name):
    auth = live_registry.credentials
    url = busy_registry.url
    before = generations_read([repository_generation_key(repo_name)])
    start = threading.Barrier(PUSHES)

    def push(n: int) -> list[str]:
        problems = []
        config, layer, manifest = artifact(n)
        with requests.Session() as session:
            session.auth = auth
            session.get(f"{url}/v2/", timeout=60)  # connected and authenticated
            start.wait(timeout=60)
            for blob in (config, layer):
                started = session.post(f"{url}/v2/{repo_name}/blobs/uploads/", timeout=120)
                if started.status_code != 202:
                    return [f"POST {started.status_code} {started.text[:200]}"]
                done = session.put(
                    f"{url}{started.headers['Location']}",
                    params={"digest": sha(blob)},
                    data=blob,
                    headers={"Content-Type": "application/octet-stream"},
                    timeout=120,
                )
                if done.status_code != 201:
                    return [f"blob PUT {done.status_code} {done.text[:200]}"]
            for tag in (f"t{n}", "latest"):
                put = session.put(
                    f"{url}/v2/{repo_name}/manifests/{tag}",
                    data=manifest,
                    headers={"Content-Type": OCI_MANIFEST},
                    timeout=120,
                )
                if put.status_code != 201 or put.headers["Docker-Content-Digest"] != sha(manifest):
                    problems.append(f"{tag} PUT {put.status_code} {put.text[:200]}")
            # Visible from the next request, whichever worker takes it.
            got = requests.get(
                f"{url}/v2/{repo_name}/manifests/t{n}",
                auth=auth,
                headers={"Accept": OCI_MANIFEST},
                timeout=60,
            )
            if got.status_code != 200 or got.content != manifest:
                problems.append(f"GET t{n} {got.status_code}")
        return problems

    with ThreadPoolExecutor(max_workers=PUSHES) as pool:
        results = list(pool.map(push, range(PUSHES)))

    assert [p for p in results if p] == []
    manifests = Manifest.objects.filter(repository__name=repo_name)
    assert manifests.count() == PUSHES
    digests = set(manifests.values_list("digest", flat=True))
    tags = dict(
        Tag.objects.filter(repository__name=repo_name).values_list("name", "manifest__digest")
    )
    assert set(tags) == {f"t{n}" for n in range(PUSHES)} | {"latest"}
    assert {tags[f"t{n}"] for n in range(PUSHES)} == digests
    assert tags["latest"] in digests
    assert RepositoryBlob.objects.filter(repository__name=repo_name).count() == 2 * PUSHES
    assert not Upload.objects.filter(repository__name=repo_name).exists()

    # One open history row per tag, and `latest` closed every row but its last.
    history = TagHistory.objects.filter(repository__name=repo_name)
    assert history.filter(until__isnull=True).count() == PUSHES + 1
    assert list(
        history.filter(tag="latest", until__isnull=True).values_list("digest", flat=True)
    ) == [tags["latest"]]
    assert history.filter(tag="latest").count() == PUSHES  # every push moved it once

    # Every change audited exactly once.
    pushed = AuditEvent.objects.filter(
        action=AuditEvent.Action.MANIFEST_PUSHED, details__repository=repo_name
    )
    assert pushed.count() == PUSHES
    moved = AuditEvent.objects.filter(
        action=AuditEvent.Action.TAG_MOVED, details__repository=repo_name
    )
    assert moved.count() == 2 * PUSHES
    assert moved.filter(details__tag="latest", details__to=tags["latest"]).count() == 1

    after = generations_read([repository_generation_key(repo_name)])
    assert after != before
