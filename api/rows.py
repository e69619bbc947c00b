"""List pages built from `values()` rows instead of model instances and DRF serializers.

A page of 50 licenses through `LicenseSerializer(many=True)` cost more CPU than the rest
of the request together (model instances, a prefetch, per-field serializer calls:
bench/README.md, "REST API lists at scale"). The list views read plain rows here and shape
them exactly as the serializers do; the serializers stay the schema and the detail
answers, and tests/api/test_list_rows.py holds both outputs equal for every row kind."""

import datetime
from collections import defaultdict
from types import SimpleNamespace

from django.db.models import F
from rest_framework import serializers

from licensing.models import LicenseGrant
from licensing.selectors import license_status

# DRF's own field objects, so dates and times render byte for byte as the serializers do.
_date = serializers.DateField().to_representation
_datetime = serializers.DateTimeField().to_representation

LICENSE_COLUMNS = ("id", "name", "valid_from", "valid_until", "notes", "status", "created_at")


def license_rows(queryset):
    """The queryset a license list pages over: plain rows with the customer's slug."""
    return queryset.values(*LICENSE_COLUMNS, customer_slug=F("customer__slug"))


def license_page(rows: list[dict], today: datetime.date) -> list[dict]:
    """A page of `license_rows` shaped as `LicenseSerializer` shapes a license (one query
    for the page's grants)."""
    grants = defaultdict(list)
    for grant in (
        LicenseGrant.objects.filter(license_id__in=[row["id"] for row in rows])
        .order_by("id")
        .values("id", "license_id", "repository_name", "rule", "pattern", "include_referrers")
    ):
        grants[grant["license_id"]].append(
            {
                "id": grant["id"],
                "repository": grant["repository_name"],
                "rule": f"{grant['rule']}:{grant['pattern']}",
                "include_referrers": grant["include_referrers"],
            }
        )
    return [
        {
            "id": row["id"],
            "customer": row["customer_slug"],
            "name": row["name"],
            "valid_from": _date(row["valid_from"]),
            "valid_until": _date(row["valid_until"]) if row["valid_until"] is not None else None,
            "notes": row["notes"],
            "status": row["status"],
            "state": license_status(SimpleNamespace(**row), today),
            "grants": grants[row["id"]],
            "created_at": _datetime(row["created_at"]),
        }
        for row in rows
    ]


def _datetime_or_none(value):
    return _datetime(value) if value is not None else None


CUSTOMER_COLUMNS = ("slug", "name", "contact_email", "notes", "suspended_at", "created_at")


def customer_rows(queryset):
    """The queryset a customer list pages over (the ordering fields are among the columns,
    so the cursor reads its position from the row)."""
    return queryset.values(*CUSTOMER_COLUMNS)


def customer_page(rows: list[dict]) -> list[dict]:
    """A page of `customer_rows` shaped as `CustomerSerializer` shapes a customer."""
    return [
        {
            "slug": row["slug"],
            "name": row["name"],
            "contact_email": row["contact_email"],
            "notes": row["notes"],
            "suspended": row["suspended_at"] is not None,
            "suspended_at": _datetime_or_none(row["suspended_at"]),
            "created_at": _datetime(row["created_at"]),
        }
        for row in rows
    ]


TOKEN_COLUMNS = (
    "id",  # the default order and the cursor's position; not in the answer
    "prefix",
    "kind",
    "name",
    "repository_patterns",
    "actions",
    "expires_at",
    "revoked_at",
    "last_used_at",
    "created_at",
)


def token_rows(queryset):
    """The queryset a token list pages over: plain rows with the customer's slug."""
    return queryset.values(*TOKEN_COLUMNS, customer_slug=F("customer__slug"))


def token_page(rows: list[dict], now: datetime.datetime) -> list[dict]:
    """A page of `token_rows` shaped as `TokenSerializer` shapes a token."""
    return [
        {
            "prefix": row["prefix"],
            "kind": row["kind"],
            "name": row["name"],
            "customer": row["customer_slug"],
            "repository_patterns": row["repository_patterns"],
            "actions": row["actions"],
            "expires_at": _datetime_or_none(row["expires_at"]),
            "revoked_at": _datetime_or_none(row["revoked_at"]),
            "last_used_at": _datetime_or_none(row["last_used_at"]),
            "created_at": _datetime(row["created_at"]),
            "state": _token_state(row, now),
        }
        for row in rows
    ]


def _token_state(row: dict, now: datetime.datetime) -> str:
    # TokenSerializer.get_state's rule
    if row["revoked_at"] is not None:
        return "revoked"
    if row["expires_at"] is not None and row["expires_at"] <= now:
        return "expired"
    return "active"
