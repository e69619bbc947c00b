"""Console: immutable-tag rules (admins add and delete, behind a confirmation; maintainers
and viewers read), a console delete of a covered tag refused with the rule named, and the
storage page (usage, quota, largest, never pulled and not pulled in 90 days)."""

import datetime

import pytest
from django.utils import timezone

from analytics.models import PullRollup
from customers.models import AuditEvent
from registry.models import ImmutableTagRule, StorageSnapshot, Tag
from registry.services.guards import (
    immutable_rule_create,
    quota_set,
    storage_snapshots_take,
)
from tests.portal.conftest import messages_text, sign_in

pytestmark = pytest.mark.django_db
RULES = "/p/acme/console/immutable-tags/"


def test_admin_adds_and_deletes_a_rule(acme, acme_admin):
    admin = sign_in(acme_admin, acme)
    added = admin.post(RULES, {"repository_pattern": "**", "tag_rule": "semver:>=0"}, follow=True)
    assert added.status_code == 200
    rule = ImmutableTagRule.objects.get()
    assert f"Rule {rule.id} added." in messages_text(added)
    assert "<code>semver:&gt;=0</code>" in added.content.decode()
    bad = admin.post(RULES, {"repository_pattern": "**", "tag_rule": "nope"})
    assert bad.status_code == 400
    assert "a tag rule is exact:TAG, glob:PATTERN or semver:RANGE" in bad.content.decode()

    delete_url = f"{RULES}{rule.id}/delete"
    ask = admin.post(delete_url)
    assert ask.status_code == 200 and ImmutableTagRule.objects.exists()  # asked first
    assert f"Delete immutable-tag rule {rule.id}?" in ask.content.decode()
    done = admin.post(delete_url, {"confirmed": "1"}, follow=True)
    assert f"Rule {rule.id} deleted." in messages_text(done)
    assert not ImmutableTagRule.objects.exists()
    assert list(
        AuditEvent.objects.filter(action__startswith="immutable_rule.")
        .order_by("id")
        .values_list("action", "actor")
    ) == [
        ("immutable_rule.created", f"user:{acme_admin.pk}"),
        ("immutable_rule.deleted", f"user:{acme_admin.pk}"),
    ]


def test_maintainers_and_viewers_read_but_cannot_change(acme, acme_maintainer, acme_viewer):
    rule = immutable_rule_create(vendor=acme, repository_pattern="app", tag_rule="glob:*")
    for user in (acme_maintainer, acme_viewer):
        client = sign_in(user, acme)
        page = client.get(RULES)
        assert page.status_code == 200
        assert "<code>glob:*</code>" in page.content.decode()
        assert "Add a rule" not in page.content.decode()
        assert (
            client.post(RULES, {"repository_pattern": "x", "tag_rule": "glob:*"}).status_code == 403
        )
        assert client.post(f"{RULES}{rule.id}/delete", {"confirmed": "1"}).status_code == 403
    assert ImmutableTagRule.objects.count() == 1


def test_another_vendors_rule_is_404(acme, acme_admin, umbrella):
    theirs = immutable_rule_create(vendor=umbrella, repository_pattern="**", tag_rule="glob:*")
    admin = sign_in(acme_admin, acme)
    assert admin.post(f"{RULES}{theirs.id}/delete", {"confirmed": "1"}).status_code == 404
    assert "<code>glob:*</code>" not in admin.get(RULES).content.decode()


def test_console_delete_of_an_immutable_tag_is_refused_naming_the_rule(acme, acme_admin, pushed):
    rule = immutable_rule_create(vendor=acme, repository_pattern="**", tag_rule="semver:>=1")
    admin = sign_in(acme_admin, acme)
    response = admin.post(
        "/p/acme/console/repositories/acme/app/delete",
        {"reference": "1.1", "confirmed": "1"},
        follow=True,
    )
    assert messages_text(response) == (
        f"tag 1.1 of acme/app is immutable and cannot be deleted (rule {rule.id}: "
        "repositories '**', tags 'semver:>=1')"
    )
    assert Tag.objects.filter(name="1.1").exists()
    refused = AuditEvent.objects.get(action=AuditEvent.Action.IMMUTABLE_REFUSED)
    assert refused.actor == f"user:{acme_admin.pk}"


def test_storage_page(acme, acme_viewer, pushed):
    quota_set(vendor=acme, limit_bytes=10**6)
    today = timezone.now().date()
    StorageSnapshot.objects.create(
        vendor=acme, day=today - datetime.timedelta(days=1), bytes_stored=5, blob_count=1
    )
    assert storage_snapshots_take() == 1
    assert storage_snapshots_take() == 1  # the same day again: updated, not added
    assert StorageSnapshot.objects.filter(vendor=acme).count() == 2
    old = today - datetime.timedelta(days=120)
    PullRollup.objects.create(
        key="k",
        vendor=acme,
        repository="acme/app",
        tag="1.1",
        digest=pushed["1.1"],
        day=old,
        pulls=3,
    )
    page = sign_in(acme_viewer, acme).get("/p/acme/console/storage/")
    assert page.status_code == 200
    insight = page.context["insight"]
    assert insight.quota_bytes == 10**6
    assert [t["tag"] for t in insight.never_pulled] == ["2.0"]
    assert [(t["tag"], t["last_pull"]) for t in insight.stale] == [("1.1", old)]
    assert [r["repository"] for r in insight.repositories] == ["acme/app"]
    assert {t["tag"] for t in insight.tags} == {"1.1", "2.0"}
    assert len(insight.over_time) == 2
    body = page.content.decode()
    assert "Storage over time" in body and "Not pulled in 90 days" in body
    assert page["Content-Type"].startswith("text/html")
