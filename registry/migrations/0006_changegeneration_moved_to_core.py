# ChangeGeneration now belongs to core (core/migrations/0001); the table is kept.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0005_changegeneration"),
        ("core", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="ChangeGeneration")],
        ),
    ]
