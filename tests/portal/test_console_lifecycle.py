"""Vendor console's storage page: GC runs (a vendor sees its own freed bytes, operators
the install's figures), retention rules added, previewed (dry run) and deleted behind a
confirmation, admins only, and never another vendor's rules."""

import pytest

from customers.models import AuditEvent
from lifecycle.models import RetentionRule
from lifecycle.services import retention_rule_create
from registry.models import GcRun
from tests.portal.conftest import sign_in

pytestmark = pytest.mark.django_db
PAGE = "/p/acme/console/lifecycle/"


def test_admins_add_preview_and_delete_rules(acme, acme_admin, pushed):
    admin = sign_in(acme_admin, acme)
    assert admin.get(PAGE).status_code == 200
    response = admin.post(
        PAGE, {"repository_pattern": "**", "tag_pattern": "*", "keep_newest": "0"}
    )
    assert response.status_code == 302
    rule = RetentionRule.objects.get(vendor=acme)
    preview = admin.get(response["Location"])
    assert preview.status_code == 200
    assert b"Would be deleted" in preview.content and b"tag <code>acme/" in preview.content
    assert RetentionRule.objects.filter(pk=rule.pk).exists()
    asked = admin.post(f"{PAGE}rules/{rule.pk}/delete")
    assert asked.status_code == 200 and RetentionRule.objects.filter(pk=rule.pk).exists()
    assert admin.post(f"{PAGE}rules/{rule.pk}/delete", {"confirmed": "1"}).status_code == 302
    assert not RetentionRule.objects.filter(pk=rule.pk).exists()
    actions = list(
        AuditEvent.objects.filter(vendor=acme, action__startswith="retention_rule")
        .order_by("id")
        .values_list("action", "actor")
    )
    assert actions == [
        (AuditEvent.Action.RETENTION_RULE_CREATED, f"user:{acme_admin.pk}"),
        (AuditEvent.Action.RETENTION_RULE_DELETED, f"user:{acme_admin.pk}"),
    ]


def test_a_rule_without_a_limit_is_refused_with_the_reason(acme, acme_admin):
    response = sign_in(acme_admin, acme).post(
        PAGE, {"repository_pattern": "app", "tag_pattern": "*"}
    )
    assert response.status_code == 400
    assert b"set at least one of" in response.content
    assert not RetentionRule.objects.exists()


def test_maintainers_cannot_and_other_vendors_rules_are_unseen(
    acme, acme_maintainer, umbrella, umbrella_admin
):
    assert sign_in(acme_maintainer, acme).get(PAGE).status_code == 403
    rule = retention_rule_create(vendor=acme, repository_pattern="app", keep_newest=1)
    other = sign_in(umbrella_admin, umbrella)
    assert other.get(f"/p/umbrella/console/lifecycle/rules/{rule.pk}/").status_code == 404
    assert (
        other.post(
            f"/p/umbrella/console/lifecycle/rules/{rule.pk}/delete", {"confirmed": "1"}
        ).status_code
        == 404
    )
    assert RetentionRule.objects.filter(pk=rule.pk).exists()


def test_runs_show_the_vendors_freed_bytes_and_install_figures_to_operators_only(acme, acme_admin):
    GcRun.objects.create(
        status=GcRun.Status.FINISHED,
        grace_seconds=0,
        blobs_examined=987654,
        bytes_freed=5_000_000,
        freed_by_vendor={str(acme.pk): 2048},
    )
    page = sign_in(acme_admin, acme).get(PAGE).content.decode()
    assert "2.0\xa0KB" in page and "987654" not in page
    acme_admin.is_staff = True
    acme_admin.save()
    page = sign_in(acme_admin, acme).get(PAGE).content.decode()
    assert "987654 blobs" in page
