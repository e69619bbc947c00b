"""Grants name repositories by text (a name, existing or not yet pushed, or a pattern)
instead of a foreign key. Existing grants keep their repository's name. The same-vendor
trigger on the foreign key becomes a namespace trigger on the name.

Reversible while every grant names one existing repository; with patterns or names not
yet pushed, going back stops with an error rather than drop those grants.
"""

from django.db import migrations, models
from django.db.migrations.exceptions import IrreversibleError

from customers.constraints import namespace_trigger, same_vendor_trigger

_old_trigger = same_vendor_trigger(
    table="licensing_licensegrant",
    vendor_sql="SELECT vendor_id FROM licensing_license WHERE id = NEW.license_id",
    other_vendor_sql="SELECT vendor_id FROM registry_repository WHERE id = NEW.repository_id",
    columns=("license_id", "repository_id"),
    message="a grant names a repository of another vendor",
)


def names_from_repositories(apps, schema_editor):
    LicenseGrant = apps.get_model("licensing", "LicenseGrant")
    for grant in LicenseGrant.objects.select_related("repository"):
        LicenseGrant.objects.filter(pk=grant.pk).update(repository_name=grant.repository.name)


def repositories_from_names(apps, schema_editor):
    LicenseGrant = apps.get_model("licensing", "LicenseGrant")
    Repository = apps.get_model("registry", "Repository")
    ids = dict(Repository.objects.values_list("name", "id"))
    for grant in LicenseGrant.objects.all():
        if grant.repository_name not in ids:
            raise IrreversibleError(
                f"grant {grant.pk} names {grant.repository_name!r}, which is no existing "
                "repository; remove such grants before migrating back"
            )
        LicenseGrant.objects.filter(pk=grant.pk).update(repository_id=ids[grant.repository_name])


class Migration(migrations.Migration):
    dependencies = [
        ("licensing", "0002_same_vendor"),
        ("registry", "0005_changegeneration"),
        ("customers", "0003_token_customer_same_vendor"),
    ]

    operations = [
        migrations.AddField(
            model_name="licensegrant",
            name="repository_name",
            field=models.CharField(default="", max_length=255),
            preserve_default=False,
        ),
        migrations.RunPython(names_from_repositories, migrations.RunPython.noop),
        # Drop the old trigger before its column goes (SQLite rebuilds the table).
        migrations.RunPython(_old_trigger.reverse_code, _old_trigger.code),
        migrations.AlterField(
            model_name="licensegrant",
            name="repository",
            field=models.ForeignKey(
                null=True,
                on_delete=models.CASCADE,
                related_name="license_grants",
                to="registry.repository",
            ),
        ),
        migrations.RunPython(migrations.RunPython.noop, repositories_from_names),
        migrations.RemoveField(model_name="licensegrant", name="repository"),
        # After the last table rebuild of this migration: a rebuild on SQLite drops triggers.
        namespace_trigger(
            table="licensing_licensegrant",
            column="repository_name",
            vendor_slug_sql=(
                "SELECT v.slug FROM customers_vendor v JOIN licensing_license l "
                "ON l.vendor_id = v.id WHERE l.id = NEW.license_id"
            ),
            columns=("license_id", "repository_name"),
            message="a grant names repositories outside the namespace of its vendor",
        ),
    ]
