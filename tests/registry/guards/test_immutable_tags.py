"""Immutable tags through the registry API: a covered tag cannot move or go, by tag or by
the digest it points at; the identical digest may be pushed again; every refusal is
audited (one row per repository, tag and minute); uncovered tags behave as before."""

import pytest

from customers.models import AuditEvent
from registry.errors import TagImmutable
from registry.models import ImmutableTagRule, Manifest, Tag
from registry.services.guards import immutable_rule_create, immutable_rule_delete
from registry.services.manifests import manifest_delete
from tests.support.registry_client import errors, image_manifest, put_manifest, sha256

pytestmark = pytest.mark.django_db
REPO = "acme/app"


@pytest.fixture
def semver_rule(vendor):
    return immutable_rule_create(vendor=vendor, repository_pattern="**", tag_rule="semver:>=0")


@pytest.fixture
def two_manifests(client):
    _, first = image_manifest(client, REPO)
    _, second = image_manifest(client, REPO, layers=2)
    return first, second


def _denied(response, rule, tag, doing):
    assert response.status_code == 403
    body = response.json()["errors"][0]
    assert body["code"] == "DENIED"
    assert body["message"] == (
        f"tag {tag} of {REPO} is immutable and cannot {doing} (rule {rule.id}: "
        "repositories '**', tags 'semver:>=0')"
    )
    assert body["detail"] == {"rule": rule.id, "repository": REPO, "tag": tag}


def test_moving_an_immutable_tag_is_denied_naming_the_rule(client, semver_rule, two_manifests):
    first, second = two_manifests
    assert put_manifest(client, REPO, "1.2.3", first).status_code == 201
    _denied(put_manifest(client, REPO, "1.2.3", second), semver_rule, "1.2.3", "be moved")
    assert client.get(f"/v2/{REPO}/manifests/1.2.3").content == first
    # The refused push left nothing behind: the second manifest was never stored.
    assert not Manifest.objects.filter(digest=sha256(second)).exists()


def test_identical_repush_is_allowed(client, semver_rule, two_manifests):
    first, _ = two_manifests
    assert put_manifest(client, REPO, "1.2.3", first).status_code == 201
    again = put_manifest(client, REPO, "1.2.3", first)
    assert again.status_code == 201
    assert again["Docker-Content-Digest"] == sha256(first)


def test_mutable_tags_still_move(client, semver_rule, two_manifests):
    first, second = two_manifests
    for tag in ("latest", "main", "1.2.3-ci"):  # not versions (1.2.3-ci is no PEP 440 version)
        assert put_manifest(client, REPO, tag, first).status_code == 201
        assert put_manifest(client, REPO, tag, second).status_code == 201
        assert client.get(f"/v2/{REPO}/manifests/{tag}").content == second


def test_delete_by_tag_and_by_digest_are_denied(client, semver_rule, two_manifests):
    first, _ = two_manifests
    put_manifest(client, REPO, "2.0.0", first)
    put_manifest(client, REPO, "latest", first)
    _denied(client.delete(f"/v2/{REPO}/manifests/2.0.0"), semver_rule, "2.0.0", "be deleted")
    _denied(
        client.delete(f"/v2/{REPO}/manifests/{sha256(first)}"), semver_rule, "2.0.0", "be deleted"
    )
    assert set(Tag.objects.filter(repository__name=REPO).values_list("name", flat=True)) == {
        "2.0.0",
        "latest",
    }
    assert client.delete(f"/v2/{REPO}/manifests/latest").status_code == 202


def test_rule_scoped_to_repositories_and_tags(client, vendor, two_manifests):
    first, second = two_manifests
    rule = immutable_rule_create(vendor=vendor, repository_pattern="charts/*", tag_rule="glob:v*")
    put_manifest(client, REPO, "v1", first)
    assert put_manifest(client, REPO, "v1", second).status_code == 201  # acme/app: not covered
    _, chart = image_manifest(client, "acme/charts/web")
    _, chart2 = image_manifest(client, "acme/charts/web", layers=3)
    put_manifest(client, "acme/charts/web", "v1", chart)
    refused = put_manifest(client, "acme/charts/web", "v1", chart2)
    assert refused.status_code == 403
    assert (
        f"rule {rule.id}: repositories 'charts/*', tags 'glob:v*'"
        in refused.json()["errors"][0]["message"]
    )


def test_another_vendors_rule_does_not_apply(client, two_manifests):
    from customers.services import vendor_create

    other = vendor_create(slug="initech", name="Initech")[0]
    immutable_rule_create(vendor=other, repository_pattern="**", tag_rule="glob:*")
    first, second = two_manifests
    put_manifest(client, REPO, "1.0.0", first)
    assert put_manifest(client, REPO, "1.0.0", second).status_code == 201


def test_rule_removed_allows_the_move_from_the_next_request(client, semver_rule, two_manifests):
    first, second = two_manifests
    put_manifest(client, REPO, "1.0.0", first)
    assert put_manifest(client, REPO, "1.0.0", second).status_code == 403
    immutable_rule_delete(rule=semver_rule)
    assert put_manifest(client, REPO, "1.0.0", second).status_code == 201


def test_refusals_are_audited_once_a_minute_per_tag(client, semver_rule, two_manifests):
    first, second = two_manifests
    put_manifest(client, REPO, "1.0.0", first)
    put_manifest(client, REPO, "1.1.0", first)
    for _ in range(5):  # a CI loop retrying
        assert put_manifest(client, REPO, "1.0.0", second).status_code == 403
    assert client.delete(f"/v2/{REPO}/manifests/1.1.0").status_code == 403
    rows = AuditEvent.objects.filter(action=AuditEvent.Action.IMMUTABLE_REFUSED).order_by("id")
    assert [(r.target, r.details["tag"], r.details["rule"]) for r in rows] == [
        (f"{REPO}:1.0.0", "1.0.0", semver_rule.id),
        (f"{REPO}:1.1.0", "1.1.0", semver_rule.id),
    ]
    assert rows[0].actor.startswith("token:")
    assert "is immutable and cannot be moved" in rows[0].details["message"]


def test_service_delete_refuses_for_console_and_api_callers(client, semver_rule, two_manifests):
    first, _ = two_manifests
    put_manifest(client, REPO, "3.0.0", first)
    repository = Tag.objects.get(name="3.0.0").repository
    with pytest.raises(TagImmutable) as refused:
        manifest_delete(repository=repository, reference="3.0.0", actor="user:1")
    assert refused.value.rule_id == semver_rule.id
    assert ImmutableTagRule.objects.count() == 1


def test_rule_validation(vendor):
    from core.tag_rules import RuleInvalid

    for pattern, tag_rule in [
        ("", "glob:*"),
        ("App", "glob:*"),
        ("app", "regex:.*"),
        ("app", "semver:>>1"),
    ]:
        with pytest.raises(RuleInvalid):
            immutable_rule_create(vendor=vendor, repository_pattern=pattern, tag_rule=tag_rule)
    immutable_rule_create(vendor=vendor, repository_pattern="app", tag_rule="exact:stable")
    with pytest.raises(RuleInvalid, match="exists already"):
        immutable_rule_create(vendor=vendor, repository_pattern="app", tag_rule="exact:stable")
    assert list(
        AuditEvent.objects.filter(action=AuditEvent.Action.IMMUTABLE_RULE_CREATED).values_list(
            "details__tag_rule", flat=True
        )
    ) == ["exact:stable"]


def test_unknown_tag_delete_is_still_manifest_unknown(client, semver_rule):
    put_manifest(client, REPO, "1.0.0", image_manifest(client, REPO)[1])
    assert errors(client.delete(f"/v2/{REPO}/manifests/9.9.9")) == ["MANIFEST_UNKNOWN"]
