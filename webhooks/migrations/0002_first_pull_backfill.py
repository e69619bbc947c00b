"""Customers that pulled before webhooks existed are not announced as first pulls."""

from django.db import migrations
from django.db.models import Min


def backfill(apps, schema_editor):
    PullRollup = apps.get_model("analytics", "PullRollup")
    CustomerFirstPull = apps.get_model("webhooks", "CustomerFirstPull")
    import datetime

    rows = (
        PullRollup.objects.filter(customer__isnull=False)
        .values("customer_id")
        .annotate(first=Min("day"))
    )
    CustomerFirstPull.objects.bulk_create(
        [
            CustomerFirstPull(
                customer_id=row["customer_id"],
                pulled_at=datetime.datetime.combine(row["first"], datetime.time(), datetime.UTC),
            )
            for row in rows
        ],
        ignore_conflicts=True,
        batch_size=1000,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("webhooks", "0001_initial"),
        ("analytics", "0001_initial"),
    ]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
