"""Retention rules: the plan (dry run), what licenses protect, audit, and a customer pinned
by digest through tag history that keeps pulling after retention and GC."""

import datetime
import itertools

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from analytics.models import PullRollup
from customers.models import AuditEvent
from lifecycle.selectors import retention_plan
from lifecycle.services import (
    retention_apply,
    retention_rule_create,
    retention_rule_delete,
    retention_rule_update,
)
from registry.gc import gc_run
from registry.models import Manifest, Tag
from tests.conftest import basic, license_grant
from tests.registry.test_gc import HOUR, age, stored
from tests.support.registry_client import image_manifest, put_manifest, sha256

pytestmark = pytest.mark.django_db
_serial = itertools.count()


def push(client, repo: str, reference: str | None = None) -> tuple[dict, str]:
    manifest, raw = image_manifest(client, repo, annotations={"n": str(next(_serial))})
    digest = sha256(raw)
    assert put_manifest(client, repo, reference or digest, raw).status_code == 201
    return manifest, digest


def test_a_customer_pinned_through_tag_history_keeps_pulling_after_retention_and_gc(
    client, vendor, customer, pull_secret, repo_name, capsys
):
    pinned_manifest, pinned = push(client, repo_name, "1.0")
    license_grant(customer, repo_name, "glob:*")
    push(client, repo_name, "1.0")  # the tag moves on
    _, stray = push(client, repo_name)  # pushed by digest, never tagged: no license covers it
    age()
    rule = retention_rule_create(
        vendor=vendor, repository_pattern=repo_name.split("/", 1)[1], untagged_days=0
    )

    plan = retention_plan(rule=rule)
    assert [d for _, d, _ in plan.manifests] == [stray]
    assert [d for _, d, _ in plan.entitled_manifests] == [pinned]
    call_command("retention", "--dry-run")
    out = capsys.readouterr().out
    assert f"would delete {repo_name} {stray}" in out
    assert f"entitled, kept: {repo_name} {pinned}" in out
    assert Manifest.objects.filter(digest=stray).exists()  # a dry run deletes nothing

    retention_apply(rule=rule)
    gc_run(grace=HOUR)
    assert not Manifest.objects.filter(digest=stray).exists()
    customer_client = Client(HTTP_AUTHORIZATION=basic(pull_secret, "globex"))
    assert customer_client.get(f"/v2/{repo_name}/manifests/{pinned}").status_code == 200
    layer = pinned_manifest["layers"][0]["digest"]
    response = customer_client.get(f"/v2/{repo_name}/blobs/{layer}")
    assert response.status_code == 200 and stored(layer)

    retention_rule_update(rule=rule, include_entitled=True)
    plan = retention_apply(rule=rule)
    assert [d for _, d, _ in plan.entitled_manifests] == [pinned]
    gc_run(grace=HOUR)
    assert customer_client.get(f"/v2/{repo_name}/manifests/{pinned}").status_code == 404
    assert stored(layer)  # the current 1.0 shares the layer: still referenced
    assert customer_client.get(f"/v2/{repo_name}/manifests/1.0").status_code == 200
    applied = AuditEvent.objects.filter(action=AuditEvent.Action.RETENTION_APPLIED)
    assert applied.count() == 2
    assert applied.order_by("id").last().details["manifests_deleted"] == [f"{repo_name}@{pinned}"]


def test_keep_newest_follows_version_order_and_spares_entitled_tags(
    client, vendor, customer, repo_name
):
    for tag in ["1.0", "1.9", "1.10", "2.0", "latest"]:
        push(client, repo_name, tag)
    license_grant(customer, repo_name, "exact:1.0")
    rule = retention_rule_create(
        vendor=vendor, repository_pattern="t*", tag_pattern="*.*", keep_newest=2
    )
    plan = retention_plan(rule=rule)
    assert [t for _, t, _ in plan.tags] == ["1.9"]  # 2.0 and 1.10 are the newest two
    assert [t for _, t, _ in plan.entitled_tags] == ["1.0"]
    retention_apply(rule=rule)
    assert set(Tag.objects.filter(repository__name=repo_name).values_list("name", flat=True)) == {
        "1.0",
        "1.10",
        "2.0",
        "latest",
    }


def test_tags_not_pulled_for_d_days_go(client, vendor, repo_name):
    for tag in ["old", "pulled"]:
        push(client, repo_name, tag)
    Tag.objects.update(updated_at=timezone.now() - datetime.timedelta(days=40))
    PullRollup.objects.create(
        key="k1",
        vendor=vendor,
        repository=repo_name,
        tag="pulled",
        digest="sha256:x",
        day=timezone.now().date() - datetime.timedelta(days=2),
        pulls=3,
    )
    rule = retention_rule_create(vendor=vendor, repository_pattern="**", unpulled_days=30)
    assert [t for _, t, _ in retention_plan(rule=rule).tags] == ["old"]


def test_rules_are_validated_and_every_change_is_audited(vendor):
    with pytest.raises(Exception, match="at least one"):
        retention_rule_create(vendor=vendor, repository_pattern="app")
    rule = retention_rule_create(
        vendor=vendor, repository_pattern="app", keep_newest=5, actor="user:1"
    )
    retention_rule_update(rule=rule, keep_newest=3, actor="user:1")
    retention_rule_delete(rule=rule, actor="user:1")
    rows = list(
        AuditEvent.objects.filter(vendor=vendor, action__startswith="retention_rule").order_by("id")
    )
    assert [r.action for r in rows] == [
        AuditEvent.Action.RETENTION_RULE_CREATED,
        AuditEvent.Action.RETENTION_RULE_UPDATED,
        AuditEvent.Action.RETENTION_RULE_DELETED,
    ]
    assert (
        rows[1].details["before"]["keep_newest"] == 5
        and rows[1].details["after"]["keep_newest"] == 3
    )
    assert all(r.actor == "user:1" for r in rows)


def test_the_beat_task_applies_rules_then_collects(client, vendor, repo_name, settings):
    from lifecycle.tasks import lifecycle_run
    from registry.models import GcRun

    for tag in ["1.0", "2.0"]:
        push(client, repo_name, tag)
    retention_rule_create(vendor=vendor, repository_pattern="**", keep_newest=1)
    settings.GC_GRACE_SECONDS = 0
    lifecycle_run()
    assert list(Tag.objects.filter(repository__name=repo_name).values_list("name", flat=True)) == [
        "2.0"
    ]
    run = GcRun.objects.get()
    assert run.status == GcRun.Status.FINISHED and run.manifests_freed == 1
    assert AuditEvent.objects.filter(
        action=AuditEvent.Action.RETENTION_APPLIED, actor="task:lifecycle_run"
    ).exists()
