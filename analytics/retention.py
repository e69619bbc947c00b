"""Raw events are kept ANALYTICS_RETENTION_DAYS days; rollups are kept for good."""

import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from analytics.models import PullEvent, PullRollupMember

_CHUNK = 10_000


def pull_events_prune(*, now: datetime.datetime | None = None) -> int:
    """Delete raw events (and the rollups' distinct-member rows) older than the retention
    window, in chunks so no transaction grows large. Returns the events deleted."""
    cutoff = (now or timezone.now()) - datetime.timedelta(days=settings.ANALYTICS_RETENTION_DAYS)
    deleted = 0
    while True:
        with transaction.atomic():
            ids = list(
                PullEvent.objects.filter(occurred_at__lt=cutoff).values_list("id", flat=True)[
                    :_CHUNK
                ]
            )
            if not ids:
                break
            deleted += PullEvent.objects.filter(id__in=ids).delete()[0]
    # Members only matter while events for their day can still arrive.
    PullRollupMember.objects.filter(day__lt=cutoff.date()).delete()
    return deleted
