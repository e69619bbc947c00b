"""Every analytics.ApiToken becomes a customers.AccessToken of kind "api" with the scope
`read` (the old API only read analytics), keeping its prefix, secret hash, name, expiry,
revocation, last use, creator and creation time: every secret in use keeps working, and a
revoked or expired one stays refused. 0003 then drops the old table.

Backwards, API tokens that could read analytics go back to ApiToken (their scopes are
lost; the old model had none) and every API token leaves AccessToken, which had no such
kind before customers 0007.
"""

from django.db import migrations

_READS_ANALYTICS = {"read", "write", "analytics:read"}
_KEPT = ("vendor_id", "name", "prefix", "secret_hash", "expires_at", "revoked_at")
_KEPT += ("last_used_at", "created_by_id")


def forwards(apps, schema_editor):
    ApiToken = apps.get_model("analytics", "ApiToken")
    AccessToken = apps.get_model("customers", "AccessToken")
    for old in ApiToken.objects.order_by("pk"):
        if AccessToken.objects.filter(prefix=old.prefix).exists():
            continue  # already moved (a re-run after a partial failure)
        new = AccessToken.objects.create(
            kind="api", scopes=["read"], **{field: getattr(old, field) for field in _KEPT}
        )
        # created_at is auto_now_add, which create() overwrites: set it afterwards.
        AccessToken.objects.filter(pk=new.pk).update(created_at=old.created_at)


def backwards(apps, schema_editor):
    ApiToken = apps.get_model("analytics", "ApiToken")
    AccessToken = apps.get_model("customers", "AccessToken")
    for new in AccessToken.objects.filter(kind="api").order_by("pk"):
        if _READS_ANALYTICS & set(new.scopes or ()) and not ApiToken.objects.filter(
            prefix=new.prefix
        ).exists():
            old = ApiToken.objects.create(**{field: getattr(new, field) for field in _KEPT})
            ApiToken.objects.filter(pk=old.pk).update(created_at=new.created_at)
    AccessToken.objects.filter(kind="api").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("analytics", "0001_initial"),
        ("customers", "0007_api_tokens"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
