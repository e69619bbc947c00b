from django.db import migrations

from customers.constraints import same_vendor_trigger


class Migration(migrations.Migration):
    dependencies = [("customers", "0002_alter_customer_options_customer_notes_and_more")]

    operations = [
        same_vendor_trigger(
            table="customers_accesstoken",
            vendor_sql="NEW.vendor_id",
            other_vendor_sql="SELECT vendor_id FROM customers_customer WHERE id = NEW.customer_id",
            columns=("vendor_id", "customer_id"),
            message="a token and its customer belong to different vendors",
        )
    ]
