"""A warm customer read costs at most two SQL queries: one reads the generations of the
token, the customer and the repository (the principal and the entitlement then come from
this process's memos, validated by them), one reads the manifest or blob. And the tag
rules at unit level."""

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from licensing.rules import RuleInvalid, rule_matches, rule_parse
from tests.conftest import basic, license_grant
from tests.support.licensing import REPO, denied, not_covered, push_scenario
from tests.support.queries import request_queries

BUDGET = 2


@pytest.fixture
def bearer(client, customer, pull_secret) -> tuple[Client, dict]:
    pushed = push_scenario(client)
    license_grant(customer, REPO, "glob:1.*", name="Support 1.x")
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
    with CaptureQueriesContext(connection) as queries:
        response = request()
    assert len(request_queries(queries)) <= BUDGET, request_queries(queries)
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


# --- rules ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "a tag rule is exact:TAG, glob:PATTERN or semver:RANGE"),
        ("1.0", "a tag rule is exact:TAG, glob:PATTERN or semver:RANGE"),
        ("glob", "a tag rule is exact:TAG, glob:PATTERN or semver:RANGE"),
        ("glob:", "a tag rule is exact:TAG, glob:PATTERN or semver:RANGE"),
        (":1.0", "a tag rule is exact:TAG, glob:PATTERN or semver:RANGE"),
        ("regex:1\\..*", "a tag rule is exact:TAG, glob:PATTERN or semver:RANGE"),
        ("EXACT:1.0", "a tag rule is exact:TAG, glob:PATTERN or semver:RANGE"),
        ("semver:>>1", "invalid version range '>>1' (e.g. >=1.0,<2)"),
        ("semver:1.x", "invalid version range '1.x' (e.g. >=1.0,<2)"),
        ("semver:>=1.0;<2", "invalid version range '>=1.0;<2' (e.g. >=1.0,<2)"),
    ],
)
def test_rule_parse_rejects_bad_input_readably(text, message):
    with pytest.raises(RuleInvalid) as raised:
        rule_parse(text)
    assert str(raised.value) == message


@pytest.mark.parametrize(
    "text, parsed",
    [
        ("exact:1.0", ("exact", "1.0")),
        ("glob:1.*", ("glob", "1.*")),
        ("semver:>=1.0,<2", ("semver", ">=1.0,<2")),
        ("semver:>=1.0, <2", ("semver", ">=1.0, <2")),
        ("semver:~=1.4", ("semver", "~=1.4")),
    ],
)
def test_rule_parse_accepts(text, parsed):
    assert rule_parse(text) == parsed


@pytest.mark.parametrize(
    "kind, pattern, tag, expected",
    [
        ("exact", "1.0", "1.0", True),
        ("exact", "1.0", "1.0.0", False),
        ("exact", "1.0", "v1.0", False),
        ("exact", "Latest", "latest", False),
        ("glob", "1.*", "1.0", True),
        ("glob", "1.*", "1.10.3", True),
        ("glob", "1.*", "11.0", False),
        ("glob", "1.*", "2.0", False),
        ("glob", "1.?", "1.1", True),
        ("glob", "1.?", "1.10", False),
        ("glob", "1.[01]", "1.1", True),
        ("glob", "1.[01]", "1.2", False),
        ("glob", "*-alpine", "1.0-alpine", True),
        ("glob", "*-alpine", "1.0-ALPINE", False),
        ("semver", ">=1.0,<2", "1.0", True),
        ("semver", ">=1.0,<2", "1.99.7", True),
        ("semver", ">=1.0,<2", "2.0", False),
        ("semver", ">=1.0,<2", "0.9", False),
        ("semver", ">=1.0,<2", "v1.5.0", True),
        ("semver", ">=1.0,<2", "V1.5.0", True),
        ("semver", ">=1.0,<2", "v2.0.0", False),
        ("semver", ">=1.0, <2", "1.5", True),
        ("semver", ">=1.0,<2", "latest", False),
        ("semver", ">=1.0,<2", "main", False),
        ("semver", ">=1.0,<2", "v", False),
        ("semver", ">=1.0,<2", "1.0-alpine", False),
        ("semver", ">=1.0,<2", "1.5.0-rc1", False),  # pre-release: not unless named
        ("semver", ">=1.5.0rc1,<2", "1.5.0-rc1", True),
        ("semver", ">=2.0,<3", "2.0", True),
        ("semver", ">=2.0,<3", "1.1", False),
        ("semver", "==1.*", "1.4.2", True),
        ("semver", "==1.*", "2.0", False),
        ("semver", "~=1.4", "1.9", True),
        ("semver", "~=1.4", "2.0", False),
    ],
)
def test_rule_matches(kind, pattern, tag, expected):
    assert rule_matches(kind, pattern, tag) is expected
