"""A warm customer read costs exactly two SQL queries (docs/licensing.md, docs/coherence.md):
one reads the generations of the token, the customer and the repository (the principal and
the entitlement then come from this process's memos, validated by them), one reads the
manifest or blob. A denial costs the same two. More is a regression; fewer would mean a
check on shared state was skipped."""

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.conftest import basic
from tests.support.licensing import REPO, denied, not_covered
from tests.support.queries import request_queries

QUERIES = 2


@pytest.fixture
def bearer(license, pushed, pull_secret) -> tuple[Client, dict]:
    response = Client().get(
        "/v2/token",
        {"service": settings.REGISTRY_SERVICE, "scope": f"repository:{REPO}:pull"},
        HTTP_AUTHORIZATION=basic(pull_secret),
    )
    assert response.status_code == 200, response.content
    globex = Client(HTTP_AUTHORIZATION=f"Bearer {response.json()['token']}")
    # warm-up: principal and entitlement into the caches
    assert globex.get(f"/v2/{REPO}/manifests/1.0").status_code == 200
    return globex, pushed


def within_budget(request) -> object:
    """Run `request`; it must cost exactly QUERIES queries."""
    with CaptureQueriesContext(connection) as queries:
        response = request()
    assert len(request_queries(queries)) == QUERIES, request_queries(queries)
    return response


@pytest.mark.django_db
def test_warm_manifest_by_tag_and_blob_reads_stay_within_budget(bearer):
    globex, pushed = bearer
    response = within_budget(lambda: globex.get(f"/v2/{REPO}/manifests/1.1"))
    assert response.status_code == 200
    assert response.content == pushed["1.1"]["raw"]
    response = within_budget(lambda: globex.get(f"/v2/{REPO}/blobs/{pushed['base']}"))
    assert response.status_code == 200
    assert response["Docker-Content-Digest"] == pushed["base"]
    response.close()


@pytest.mark.django_db
def test_warm_reads_by_digest_head_and_denials_stay_within_budget(bearer):
    globex, pushed = bearer
    digest = pushed["1.1"]["digest"]
    assert within_budget(lambda: globex.get(f"/v2/{REPO}/manifests/{digest}")).status_code == 200
    assert within_budget(lambda: globex.head(f"/v2/{REPO}/manifests/1.0")).status_code == 200
    own = pushed["1.0"]["own"]
    assert within_budget(lambda: globex.head(f"/v2/{REPO}/blobs/{own}")).status_code == 200
    denied(within_budget(lambda: globex.get(f"/v2/{REPO}/manifests/2.0")), not_covered("tag '2.0'"))
    own = pushed["2.0"]["own"]
    denied(within_budget(lambda: globex.get(f"/v2/{REPO}/blobs/{own}")), not_covered(f"blob {own}"))
