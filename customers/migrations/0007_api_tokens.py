"""API tokens become a kind of access token: `kind="api"` (vendor-owned, no customer) with
`scopes`. analytics 0002 moves the old analytics.ApiToken rows here.

SQLite rebuilds the table for these changes, and a rebuild drops its triggers: the
same-vendor trigger of 0003 is dropped first and made again after the last rebuild."""

from django.conf import settings
from django.db import migrations, models

from customers.constraints import same_vendor_trigger

_trigger = same_vendor_trigger(
    table="customers_accesstoken",
    vendor_sql="NEW.vendor_id",
    other_vendor_sql="SELECT vendor_id FROM customers_customer WHERE id = NEW.customer_id",
    columns=("vendor_id", "customer_id"),
    message="a token and its customer belong to different vendors",
)


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0006_audit_vendor_created_member_added"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(_trigger.reverse_code, _trigger.code),
        migrations.RemoveConstraint(model_name="accesstoken", name="token_owner_matches_kind"),
        migrations.AddField(
            model_name="accesstoken",
            name="scopes",
            field=models.JSONField(blank=True, default=list),
        ),
        migrations.AlterField(
            model_name="accesstoken",
            name="kind",
            field=models.CharField(
                choices=[
                    ("push", "push (vendor CI)"),
                    ("pull", "pull (customer)"),
                    ("api", "API (vendor automation)"),
                ],
                max_length=8,
            ),
        ),
        migrations.AddConstraint(
            model_name="accesstoken",
            constraint=models.CheckConstraint(
                condition=models.Q(("customer__isnull", True), ("kind__in", ["push", "api"]))
                | models.Q(("customer__isnull", False), ("kind", "pull")),
                name="token_owner_matches_kind",
            ),
        ),
        _trigger,
    ]
