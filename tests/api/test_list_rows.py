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
