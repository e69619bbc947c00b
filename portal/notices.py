"""Release notices: a customer user who opted in (the Artifacts page) gets one email per
release their licenses let them pull, in the vendor's brand, with the pull command.

A release is a tag that reads as a version (core/versions.py: `1.4.0`, `v2.1`), not
`latest` or `main`, which move with every build. The trigger is the tag's audit row
(`tag.moved`, written when a tag is created or pointed at a new manifest): an observer
registered in `PortalConfig.ready` (customers/observers.py) schedules the sending for
after the push commits; Celery sends it (or a thread of the web process without a
broker). Who may pull the tag is asked of registry.access, as the Artifacts page does, so
the email and the page never disagree. A `ReleaseNotice` row per user, repository and tag
makes it one email, however often the tag is pushed again or the task is retried.
"""

import logging
import threading

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, close_old_connections, transaction
from django.template.loader import render_to_string
from django.urls import reverse

from core.versions import tag_version
from customers.models import AuditEvent, CustomerMember
from portal.adapters import vendor_from_email
from portal.branding import brand_for
from portal.commands import pull_commands
from portal.inventory import tag_summaries
from portal.models import ReleaseNotice
from portal.tenancy import portal_link
from registry.access import visible_tags
from registry.auth import principal_for_customer
from registry.models import Repository

logger = logging.getLogger(__name__)


def on_audit(*, event: AuditEvent) -> None:
    """The audit observer: a version tag was pushed or moved in a vendor that has users
    who opted in. One indexed query on a tag push; nothing on anything else."""
    if event.action != AuditEvent.Action.TAG_MOVED or event.vendor_id is None:
        return
    details = event.details or {}
    repository, tag = details.get("repository"), details.get("tag")
    if not repository or not tag or tag_version(tag) is None:
        return
    if not CustomerMember.objects.filter(
        customer__vendor_id=event.vendor_id, release_notices=True
    ).exists():
        return
    vendor_id = event.vendor_id
    transaction.on_commit(lambda: _dispatch(vendor_id, repository, tag))


def _dispatch(vendor_id: int, repository: str, tag: str) -> None:
    if settings.CELERY_TASK_ALWAYS_EAGER:  # no broker: a thread, so the push never waits
        threading.Thread(
            target=_send_in_thread, args=(vendor_id, repository, tag), daemon=True
        ).start()
        return
    from portal.tasks import release_notices_send_task  # tasks import this module

    try:
        release_notices_send_task.delay(vendor_id, repository, tag)
    except Exception:  # the broker is down: no notice, never a failed push
        logger.warning("release notice for %s:%s not enqueued", repository, tag, exc_info=True)


def _send_in_thread(vendor_id: int, repository: str, tag: str) -> None:
    try:
        release_notices_send(vendor_id=vendor_id, repository_name=repository, tag=tag)
    except Exception:
        logger.exception("release notices for %s:%s", repository, tag)
    finally:
        close_old_connections()


def release_notices_send(*, vendor_id: int, repository_name: str, tag: str) -> int:
    """Email every opted-in user who may pull `repository_name:tag` now and has not been
    told of it yet; returns how many emails were sent."""
    repository = (
        Repository.objects.select_related("vendor")
        .filter(vendor_id=vendor_id, name=repository_name)
        .first()
    )
    if repository is None or tag_version(tag) is None:
        return 0
    members = CustomerMember.objects.filter(
        customer__vendor_id=vendor_id,
        customer__suspended_at__isnull=True,
        release_notices=True,
    ).select_related("customer", "user")
    sent = 0
    allowed_by_customer: dict[int, bool] = {}
    for member in members:
        customer = member.customer
        if customer.pk not in allowed_by_customer:
            principal = principal_for_customer(
                vendor_id=vendor_id, vendor_slug=repository.vendor.slug, customer_id=customer.pk
            )
            tags = visible_tags(principal, repository)
            allowed_by_customer[customer.pk] = tags is None or tag in tags
        if not allowed_by_customer[customer.pk] or not member.user.email:
            continue
        try:
            with transaction.atomic():
                ReleaseNotice.objects.create(member=member, repository=repository_name, tag=tag)
                _send(member, repository, tag)  # a failure un-records it: retried later
        except IntegrityError:
            continue  # told already
        sent += 1
    return sent


def _send(member: CustomerMember, repository: Repository, tag: str) -> None:
    vendor = repository.vendor
    brand = brand_for(vendor)
    summaries = tag_summaries(repository=repository, tag_names=[tag])
    kind = summaries[0].manifest.kind if summaries else "image"
    digest = summaries[0].manifest.digest if summaries else ""
    commands = pull_commands(
        host=settings.REGISTRY_SERVICE,
        repository=repository.name,
        tag=tag,
        kind=kind,
        digest=digest,
    )
    context = {
        "brand": brand,
        "repository": repository.name,
        "tag": tag,
        "digest": digest,
        "command": commands[0].text if commands else "",
        "artifacts_link": portal_link(vendor=vendor, path=reverse("portal:artifacts")),
        "settings_note": "You get this because you asked for release emails on the Artifacts page.",
    }
    subject = render_to_string("portal/email/release_subject.txt", context).strip()
    message = EmailMultiAlternatives(
        subject=f"[{brand.display_name}] {subject}",
        body=render_to_string("portal/email/release_message.txt", context),
        from_email=vendor_from_email(vendor),
        to=[member.user.email],
        reply_to=[brand.support_email] if brand.support_email else None,
    )
    message.send()
