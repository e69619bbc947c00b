# ChangeGeneration moved here from registry; its table stays where registry created it,
# so this only tells Django's state about it.

from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("registry", "0005_changegeneration"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="ChangeGeneration",
                    fields=[
                        ("name", models.CharField(max_length=300, primary_key=True, serialize=False)),
                        ("value", models.BigIntegerField()),
                    ],
                    options={"db_table": "registry_changegeneration"},
                ),
            ],
        ),
    ]
