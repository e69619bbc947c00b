from django.db import migrations

from customers.constraints import same_vendor_trigger


class Migration(migrations.Migration):
    dependencies = [
        ("licensing", "0001_initial"),
        ("customers", "0003_token_customer_same_vendor"),
        ("registry", "0005_changegeneration"),
    ]

    operations = [
        same_vendor_trigger(
            table="licensing_license",
            vendor_sql="NEW.vendor_id",
            other_vendor_sql="SELECT vendor_id FROM customers_customer WHERE id = NEW.customer_id",
            columns=("vendor_id", "customer_id"),
            message="a license and its customer belong to different vendors",
        ),
        same_vendor_trigger(
            table="licensing_licensegrant",
            vendor_sql="SELECT vendor_id FROM licensing_license WHERE id = NEW.license_id",
            other_vendor_sql=(
                "SELECT vendor_id FROM registry_repository WHERE id = NEW.repository_id"
            ),
            columns=("license_id", "repository_id"),
            message="a grant names a repository of another vendor",
        ),
    ]
