"""The database itself refuses rows that mix vendors, whatever code writes them: a license
for another vendor's customer, a grant outside its vendor's namespace, a pull token for
another vendor's customer (customers/constraints.py)."""

import datetime

import pytest
from django.db import IntegrityError, transaction

from customers.models import AccessToken
from customers.services import customer_create, token_mint, vendor_create
from licensing.models import License, LicenseGrant
from licensing.services import license_create
from registry.models import Repository

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_vendors():
    acme, umbrella = vendor_create(slug="acme")[0], vendor_create(slug="umbrella")[0]
    return {
        "acme": acme,
        "umbrella": umbrella,
        "globex": customer_create(vendor=acme, slug="globex")[0],
        "initech": customer_create(vendor=umbrella, slug="initech")[0],
        "acme_repo": Repository.objects.create(vendor=acme, name="acme/app"),
        "umbrella_repo": Repository.objects.create(vendor=umbrella, name="umbrella/app"),
    }


def refused(make, message: str) -> None:
    with pytest.raises(IntegrityError) as raised, transaction.atomic():
        make()
    assert message in str(raised.value)


def test_a_license_for_another_vendors_customer_is_refused(two_vendors):
    v = two_vendors
    message = "a license and its customer belong to different vendors"
    today = datetime.date.today()
    refused(
        lambda: License.objects.create(
            vendor=v["acme"], customer=v["initech"], name="x", valid_from=today
        ),
        message,
    )
    license = License.objects.create(
        vendor=v["acme"], customer=v["globex"], name="ok", valid_from=today
    )
    refused(lambda: License.objects.filter(pk=license.pk).update(customer=v["initech"]), message)
    refused(lambda: License.objects.filter(pk=license.pk).update(vendor=v["umbrella"]), message)
    assert License.objects.get(pk=license.pk).customer == v["globex"]


def test_a_grant_outside_the_vendors_namespace_is_refused(two_vendors):
    v = two_vendors
    license = license_create(vendor=v["acme"], customer=v["globex"], name="Support")
    other = license_create(vendor=v["umbrella"], customer=v["initech"], name="Other")
    message = "a grant names repositories outside the namespace of its vendor"
    for name in ("umbrella/app", "umbrella/*", "acmex/app", "acme", "*/app", "ACME/app", "/app"):
        refused(
            lambda name=name: LicenseGrant.objects.create(
                license=license, repository_name=name, rule="glob", pattern="*"
            ),
            message,
        )
    grant = LicenseGrant.objects.create(
        license=license, repository_name="acme/charts/*", rule="glob", pattern="*"
    )
    refused(
        lambda: LicenseGrant.objects.filter(pk=grant.pk).update(repository_name="umbrella/*"),
        message,
    )
    refused(lambda: LicenseGrant.objects.filter(pk=grant.pk).update(license=other), message)
    assert LicenseGrant.objects.get(pk=grant.pk).repository_name == "acme/charts/*"


def test_a_pull_token_for_another_vendors_customer_is_refused(two_vendors):
    v = two_vendors
    minted = token_mint(vendor=v["acme"], customer=v["globex"], kind="pull", name="t")
    message = "a token and its customer belong to different vendors"
    refused(
        lambda: AccessToken.objects.filter(pk=minted.token.pk).update(customer=v["initech"]),
        message,
    )
    push = token_mint(vendor=v["acme"], kind="push", name="ci")  # no customer: allowed
    assert push.token.customer_id is None
