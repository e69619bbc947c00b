"""Many clients pushing the first manifest of one new tag at once (against a real gunicorn).

Each request's transaction looked the tag up with `select_for_update`, found no row to
lock and inserted one, so on PostgreSQL all but the first insert hit the tag's unique
constraint and answered 500 (a push of a new manifest happened to queue behind the
repository's change-generation row first; one of a manifest already there did not).
Every push must succeed; the tag ends on one of them, with
exactly one open history row and one TAG_MOVED audit per move.

Meaningful on PostgreSQL (run with DATABASE_URL=postgres://…); SQLite's IMMEDIATE
transactions serialize writers, so there it passes either way.
"""

import hashlib
import json
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from customers.models import AuditEvent
from registry.manifests import OCI_INDEX
from registry.models import Tag, TagHistory
from tests.support.server import LiveRegistry

PUSHES = 100


@pytest.fixture(scope="module")
def busy_registry(live_registry, django_db_blocker):
    """A server with enough workers and threads that the pushes really overlap. Its
    threads close their database connection after each request: the suite's other live
    servers hold connections too, and PostgreSQL allows 100 in all."""
    with django_db_blocker.unblock():
        server = LiveRegistry(
            extra_env={"WEB_CONCURRENCY": "4", "GUNICORN_THREADS": "10", "DB_CONN_MAX_AGE": "0"}
        )
    yield server
    server.stop()


def index(n: int) -> bytes:
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [],
            "annotations": {"n": str(n)},
        }
    ).encode()


def test_parallel_first_pushes_of_one_new_tag(live_registry, busy_registry, repo_name):
    auth = live_registry.credentials
    url = busy_registry.url
    headers = {"Content-Type": OCI_INDEX}
    seed = requests.put(
        f"{url}/v2/{repo_name}/manifests/seed",
        data=index(-1),
        headers=headers,
        auth=auth,
        timeout=30,
    )
    assert seed.status_code == 201, seed.text  # the repository exists; the tag does not
    # Half the manifests are already in the repository (pushed by digest), as when a
    # client tags an image it pushed before: their PUTs change nothing but the tag.
    for n in range(0, PUSHES, 2):
        body = index(n)
        digest = f"sha256:{hashlib.sha256(body).hexdigest()}"
        response = requests.put(
            f"{url}/v2/{repo_name}/manifests/{digest}",
            data=body,
            headers=headers,
            auth=auth,
            timeout=30,
        )
        assert response.status_code == 201, response.text

    start = threading.Barrier(PUSHES)

    def push(n: int) -> tuple[int, str, str]:
        with requests.Session() as session:
            session.get(f"{url}/v2/", auth=auth, timeout=60)  # connected and authenticated
            start.wait(timeout=60)
            response = session.put(
                f"{url}/v2/{repo_name}/manifests/latest",
                data=index(n),
                headers=headers,
                auth=auth,
                timeout=120,
            )
            digest = response.headers.get("Docker-Content-Digest", "")
            return response.status_code, digest, response.text[:300]

    with ThreadPoolExecutor(max_workers=PUSHES) as pool:
        results = list(pool.map(push, range(PUSHES)))

    errors = [(status, body) for status, _, body in results if status != 201]
    assert errors == []
    pushed = {digest for _, digest, _ in results}
    assert len(pushed) == PUSHES

    tag = Tag.objects.select_related("manifest").get(repository__name=repo_name, name="latest")
    assert tag.manifest.digest in pushed
    open_rows = TagHistory.objects.filter(
        repository__name=repo_name, tag="latest", until__isnull=True
    )
    assert list(open_rows.values_list("digest", flat=True)) == [tag.manifest.digest]
    # One history row and one TAG_MOVED audit per move; the first move starts from "".
    moves = AuditEvent.objects.filter(
        action=AuditEvent.Action.TAG_MOVED, target=f"{repo_name}:latest"
    )
    history = TagHistory.objects.filter(repository__name=repo_name, tag="latest")
    assert moves.count() == history.count()
    assert 1 <= history.count() <= PUSHES
    assert [m.details["from"] for m in moves.order_by("id")][0] == ""
    assert sum(1 for m in moves if m.details["from"] == "") == 1
