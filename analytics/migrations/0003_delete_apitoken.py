"""analytics.ApiToken is gone: API tokens are customers.AccessToken of kind "api" (0002
moved the rows)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("analytics", "0002_api_tokens_to_access_tokens")]

    operations = [migrations.DeleteModel(name="ApiToken")]
