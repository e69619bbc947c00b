"""licensing 0003: grants on a repository (foreign key) become grants on its name, and
back again while every grant names an existing repository."""

import datetime

import pytest
from django.db import connection
from django.db.migrations.exceptions import IrreversibleError
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("licensing", "0002_same_vendor")]
AFTER = [("licensing", "0003_grant_repository_name")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return MigrationExecutor(connection).loader.project_state(targets).apps


@pytest.fixture
def old_grant():
    apps = migrate(BEFORE)
    Vendor = apps.get_model("customers", "Vendor")
    Customer = apps.get_model("customers", "Customer")
    Repository = apps.get_model("registry", "Repository")
    License = apps.get_model("licensing", "License")
    LicenseGrant = apps.get_model("licensing", "LicenseGrant")
    acme = Vendor.objects.create(slug="acme", name="Acme")
    customer = Customer.objects.create(vendor=acme, slug="globex", name="Globex")
    repository = Repository.objects.create(vendor=acme, name="acme/app")
    license = License.objects.create(
        vendor=acme, customer=customer, name="L", valid_from=datetime.date(2024, 1, 1)
    )
    grant = LicenseGrant.objects.create(
        license=license, repository=repository, rule="glob", pattern="1.*"
    )
    yield {"grant": grant.pk, "repository": repository.pk, "license": license.pk}
    # Back to the newest migrations, so the tests after this one find today's schema.
    executor = MigrationExecutor(connection)
    migrate(executor.loader.graph.leaf_nodes())


def test_forward_keeps_the_repository_name_and_back_restores_the_key(old_grant):
    apps = migrate(AFTER)
    LicenseGrant = apps.get_model("licensing", "LicenseGrant")
    grant = LicenseGrant.objects.get(pk=old_grant["grant"])
    assert (grant.repository_name, grant.rule, grant.pattern) == ("acme/app", "glob", "1.*")
    apps = migrate(BEFORE)
    grant = apps.get_model("licensing", "LicenseGrant").objects.get(pk=old_grant["grant"])
    assert grant.repository_id == old_grant["repository"]


def test_back_refuses_to_drop_a_pattern_grant(old_grant):
    apps = migrate(AFTER)
    LicenseGrant = apps.get_model("licensing", "LicenseGrant")
    LicenseGrant.objects.create(
        license_id=old_grant["license"], repository_name="acme/charts/*", rule="glob", pattern="*"
    )
    with pytest.raises(IrreversibleError, match="names 'acme/charts/\\*', which is no existing"):
        migrate(BEFORE)
    LicenseGrant.objects.filter(repository_name="acme/charts/*").delete()
