"""The list pages built from rows (api/rows.py) say exactly what the serializers say of
the same objects: every license state, perpetual and dated, with and without grants."""

import datetime

import pytest
from django.utils import timezone

from api import serializers as s
from api.rows import license_page, license_rows
from licensing.models import License
from licensing.services import grant_add, license_create, license_suspend

pytestmark = pytest.mark.django_db


def test_license_rows_match_the_serializer(vendor, customer):
    today = timezone.localdate()
    made = [
        license_create(vendor=vendor, customer=customer, name="perpetual, no grants"),
        license_create(
            vendor=vendor,
            customer=customer,
            name="expired",
            valid_from=today - datetime.timedelta(days=30),
            valid_until=today - datetime.timedelta(days=1),
            notes="renewal pending",
        ),
        license_create(
            vendor=vendor,
            customer=customer,
            name="not yet valid",
            valid_from=today + datetime.timedelta(days=3),
        ),
    ]
    grant_add(license=made[0], repository_name="acme/app", tag_rule="semver:>=1.0,<3")
    grant_add(license=made[1], repository_name="acme/charts/*", tag_rule="glob:1.*")
    grant_add(
        license=made[1], repository_name="acme/app", tag_rule="exact:1.2.0", include_referrers=False
    )
    license_suspend(license=made[2])
    queryset = License.objects.filter(vendor=vendor).order_by("id")
    expected = [s.LicenseSerializer(license).data for license in queryset]
    got = license_page(list(license_rows(queryset)), today)
    assert got == expected
    assert [row["state"] for row in got] == ["active", "expired", "suspended"]
    assert [len(row["grants"]) for row in got] == [1, 2, 0]


def test_the_licenses_list_answers_the_rows(admin, vendor, customer):
    license = license_create(vendor=vendor, customer=customer, name="Enterprise")
    grant_add(license=license, repository_name="acme/app", tag_rule="glob:*")
    listed = admin.get("/api/v1/licenses/").json()["results"]
    assert listed == [s.LicenseSerializer(license).data]


def test_customer_rows_match_the_serializer(vendor):
    from api.rows import customer_page, customer_rows
    from customers.models import Customer
    from customers.services import customer_create, customer_set_suspended

    customer_create(vendor=vendor, slug="active-one", name="Active", contact_email="a@x.test")
    suspended, _ = customer_create(vendor=vendor, slug="gone", name="Gone", notes="unpaid")
    customer_set_suspended(customer=suspended, suspended=True)
    queryset = Customer.objects.filter(vendor=vendor).order_by("slug")
    expected = [s.CustomerSerializer(customer).data for customer in queryset]
    got = customer_page(list(customer_rows(queryset)))
    assert got == expected
    assert [row["suspended"] for row in got] == [False, True]


def test_token_rows_match_the_serializer(vendor, customer):
    from api.rows import token_page, token_rows
    from customers.models import AccessToken
    from customers.services import token_mint, token_revoke

    now = timezone.now()
    token_mint(vendor=vendor, kind="push", name="ci", repository_patterns=["app"])
    token_mint(vendor=vendor, customer=customer, kind="pull", name="cluster")
    expired = token_mint(vendor=vendor, kind="push", name="old").token
    AccessToken.objects.filter(pk=expired.pk).update(expires_at=now - datetime.timedelta(days=1))
    token_revoke(token=token_mint(vendor=vendor, kind="push", name="leaked").token)
    queryset = AccessToken.objects.filter(vendor=vendor, kind__in=["push", "pull"]).order_by("id")
    expected = [s.TokenSerializer(token).data for token in queryset]
    got = token_page(list(token_rows(queryset)), timezone.now())
    assert got == expected
    assert [row["state"] for row in got] == ["active", "active", "expired", "revoked"]
    assert got[1]["customer"] == customer.slug


def test_the_customers_and_tokens_lists_answer_the_rows(admin, vendor, customer):
    from customers.models import AccessToken, Customer
    from customers.services import token_mint

    token_mint(vendor=vendor, customer=customer, kind="pull", name="cluster")
    listed = admin.get("/api/v1/customers/").json()["results"]
    assert listed == [s.CustomerSerializer(c).data for c in Customer.objects.filter(vendor=vendor)]
    listed = admin.get("/api/v1/tokens/").json()["results"]
    tokens = AccessToken.objects.filter(vendor=vendor, kind__in=["push", "pull"]).order_by("-id")
    assert listed == [s.TokenSerializer(t).data for t in tokens]
