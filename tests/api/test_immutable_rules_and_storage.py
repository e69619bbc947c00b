"""API: immutable-tag rules (admins change them, with If-Match and Idempotency-Key; a
maintainer may not), deletes of covered tags refused with the rule named, and storage
usage against the quota."""

import pytest

from customers.models import AuditEvent
from registry.services.guards import quota_set
from tests.api.conftest import problem
from tests.portal.conftest import staff_user
from tests.support.registry_client import image_manifest, push_blob, put_manifest, sha256

pytestmark = pytest.mark.django_db
JSON = "application/json"
RULES = "/api/v1/immutable-tag-rules/"


def _create(client, **body):
    return client.post(RULES, body, content_type=JSON)


def test_rules_crud_with_etag_and_audit(admin, vendor):
    created = _create(admin, repository_pattern="**", tag_rule="semver:>=0")
    assert created.status_code == 201
    rule = created.json()
    assert (rule["repository_pattern"], rule["tag_rule"]) == ("**", "semver:>=0")
    assert created["Location"] == f"{RULES}{rule['id']}"
    etag = created["ETag"]
    assert admin.get(RULES).json()["results"][0]["id"] == rule["id"]

    stale = admin.patch(
        f"{RULES}{rule['id']}", {"tag_rule": "glob:v*"}, content_type=JSON, HTTP_IF_MATCH='"x"'
    )
    problem(stale, 412)
    changed = admin.patch(
        f"{RULES}{rule['id']}", {"tag_rule": "glob:v*"}, content_type=JSON, HTTP_IF_MATCH=etag
    )
    assert changed.status_code == 200
    assert changed.json()["tag_rule"] == "glob:v*"
    assert changed["ETag"] != etag
    assert admin.delete(f"{RULES}{rule['id']}", HTTP_IF_MATCH=changed["ETag"]).status_code == 204
    problem(admin.get(f"{RULES}{rule['id']}"), 404)
    assert list(
        AuditEvent.objects.filter(action__startswith="immutable_rule.")
        .order_by("id")
        .values_list("action", flat=True)
    ) == ["immutable_rule.created", "immutable_rule.updated", "immutable_rule.deleted"]


def test_invalid_rules_are_422_problems(admin):
    body = problem(_create(admin, repository_pattern="app", tag_rule="regex:.*"), 422)
    assert body["detail"] == "a tag rule is exact:TAG, glob:PATTERN or semver:RANGE"
    problem(_create(admin, repository_pattern="app"), 400)


def test_a_retried_create_makes_one_rule(admin):
    first = admin.post(
        RULES,
        {"repository_pattern": "app", "tag_rule": "exact:1.0"},
        content_type=JSON,
        HTTP_IDEMPOTENCY_KEY="k1",
    )
    again = admin.post(
        RULES,
        {"repository_pattern": "app", "tag_rule": "exact:1.0"},
        content_type=JSON,
        HTTP_IDEMPOTENCY_KEY="k1",
    )
    assert (first.status_code, again.status_code) == (201, 201)
    assert again["Idempotent-Replayed"] == "true"
    assert len(admin.get(RULES).json()["results"]) == 1


def test_a_maintainer_reads_but_may_not_change_rules(vendor, admin):
    from django.test import Client

    maintainer = Client()
    maintainer.force_login(staff_user(vendor, "m@acme.test", "maintainer"))
    problem(_create(maintainer, repository_pattern="**", tag_rule="glob:*"), 403)
    _create(admin, repository_pattern="**", tag_rule="glob:*")
    assert len(maintainer.get(RULES).json()["results"]) == 1


def test_api_delete_of_an_immutable_tag_is_403_naming_the_rule(admin, client):
    rule = _create(admin, repository_pattern="app", tag_rule="semver:>=1").json()
    _, raw = image_manifest(client, "acme/app")
    put_manifest(client, "acme/app", "1.0.0", raw)
    body = problem(admin.delete("/api/v1/repositories/acme/app/tags/1.0.0"), 403)
    assert body["detail"] == (
        f"tag 1.0.0 of acme/app is immutable and cannot be deleted (rule {rule['id']}: "
        "repositories 'app', tags 'semver:>=1')"
    )
    problem(admin.delete(f"/api/v1/repositories/acme/app/manifests/{sha256(raw)}"), 403)
    assert client.get("/v2/acme/app/manifests/1.0.0").status_code == 200


def test_storage_counts_shared_blobs_once(admin, client, vendor):
    push_blob(client, "acme/a", b"s" * 1000)
    push_blob(client, "acme/b", b"s" * 1000)
    push_blob(client, "acme/b", b"t" * 10)
    quota_set(vendor=vendor, limit_bytes=5000)
    assert admin.get("/api/v1/storage").json() == {
        "bytes_stored": 1010,
        "blobs": 2,
        "quota_bytes": 5000,
        "repositories": [
            {"repository": "acme/b", "linked": 1010, "attributable": 10, "blobs": 2},
            {"repository": "acme/a", "linked": 1000, "attributable": 0, "blobs": 1},
        ],
    }
