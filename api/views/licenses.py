"""`/api/v1/licenses/`: licenses (create with grants, read, update with If-Match, suspend,
resume, renew) and their grants (add, remove, preview what a rule covers today)."""

import datetime

from django.db import transaction
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import filters, status
from rest_framework.mixins import ListModelMixin
from rest_framework.response import Response

from api import serializers as s
from api.etags import etag_of, if_match_check
from api.idempotency import idempotent
from api.pagination import LinkCursorPagination
from api.problems import Unprocessable
from api.rows import license_page, license_rows
from api.views.base import VendorAPIView, valid_input
from api.views.customers import customer_of
from customers.models import Customer
from licensing.models import License, LicenseGrant
from licensing.rules import RuleInvalid, rule_parse
from licensing.selectors import grant_preview_tags
from licensing.services import (
    LicenseError,
    grant_add,
    grant_remove,
    license_create,
    license_delete,
    license_set_status,
    license_update,
)


def license_etag(license: License) -> str:
    return etag_of(
        {
            "name": license.name,
            "valid_from": license.valid_from,
            "valid_until": license.valid_until,
            "notes": license.notes,
            "status": license.status,
        }
    )


def license_body(license: License) -> dict:
    return s.LicenseSerializer(license).data


def license_response(license: License, status_code: int = 200) -> Response:
    headers = {"ETag": license_etag(license)}
    if status_code == 201:
        headers["Location"] = f"/api/v1/licenses/{license.pk}"
    return Response(license_body(license), status=status_code, headers=headers)


class LicenseList(ListModelMixin, VendorAPIView):  # the mixin: the schema's list shape
    scope_area = "licenses"
    serializer_class = s.LicenseSerializer
    pagination_class = LinkCursorPagination
    filter_backends = [filters.OrderingFilter]
    ordering_fields = ["id", "name", "valid_from", "valid_until", "created_at"]
    ordering = "-id"

    def get_queryset(self):
        licenses = License.objects.filter(vendor=self.request.vendor)
        params = self.request.query_params
        if params.get("customer"):
            # By id, not a join on the slug: the planner then walks the customer's index,
            # not every license in id order (bench/api.py: 180 ms -> see bench/README.md).
            customer = Customer.objects.filter(
                vendor=self.request.vendor, slug=params["customer"]
            ).first()
            licenses = licenses.filter(customer=customer) if customer else licenses.none()
        if params.get("status") in License.Status.values:
            licenses = licenses.filter(status=params["status"])
        if params.get("expires_before"):
            try:
                day = datetime.date.fromisoformat(params["expires_before"])
            except ValueError:
                raise Unprocessable("expires_before must be YYYY-MM-DD") from None
            licenses = licenses.filter(valid_until__lt=day)
        return licenses

    def get(self, request):
        # Rows, not instances through the serializer: api/rows.py says why.
        rows = self.paginate_queryset(license_rows(self.filter_queryset(self.get_queryset())))
        return self.get_paginated_response(license_page(rows, timezone.localdate()))

    @extend_schema(request=s.LicenseCreateSerializer, responses={201: s.LicenseSerializer})
    @idempotent
    def post(self, request):
        data = valid_input(s.LicenseCreateSerializer, request.data)
        customer = customer_of(request, data.pop("customer"))
        grants = data.pop("grants")
        try:
            with transaction.atomic():  # a license and its grants, or nothing
                license = license_create(vendor=request.vendor, customer=customer, **data)
                for grant in grants:
                    grant_add(
                        license=license,
                        repository_name=grant["repository"],
                        tag_rule=grant["rule"],
                        include_referrers=grant["include_referrers"],
                    )
        except LicenseError as exc:
            raise Unprocessable(str(exc)) from None
        return license_response(license_of(request, license.pk), 201)


class LicenseDetail(VendorAPIView):
    scope_area = "licenses"
    serializer_class = s.LicenseSerializer

    def get(self, request, license_id):
        return license_response(license_of(request, license_id))

    @extend_schema(request=s.LicenseUpdateSerializer, responses=s.LicenseSerializer)
    def patch(self, request, license_id):
        return license_changed(
            request, license_id, valid_input(s.LicenseUpdateSerializer, request.data)
        )

    @extend_schema(request=None, responses={204: None})
    def delete(self, request, license_id):
        """Delete the license and its grants (If-Match honoured); suspend to pause it."""
        with transaction.atomic():
            license = license_of(request, license_id, for_update=True)
            if_match_check(request, license_etag(license))
            license_delete(license=license)
        return Response(status=status.HTTP_204_NO_CONTENT)


class LicenseStatus(VendorAPIView):
    scope_area = "licenses"
    serializer_class = s.LicenseSerializer
    status_to = License.Status.SUSPENDED

    @extend_schema(request=None, responses=s.LicenseSerializer)
    def post(self, request, license_id):
        with transaction.atomic():
            license = license_of(request, license_id, for_update=True)
            if_match_check(request, license_etag(license))
            license_set_status(license=license, status=self.status_to)
        return license_response(license_of(request, license_id))


class LicenseResume(LicenseStatus):
    status_to = License.Status.ACTIVE


class LicenseRenew(VendorAPIView):
    scope_area = "licenses"
    serializer_class = s.LicenseSerializer

    @extend_schema(request=s.LicenseRenewSerializer, responses=s.LicenseSerializer)
    def post(self, request, license_id):
        return license_changed(
            request, license_id, valid_input(s.LicenseRenewSerializer, request.data)
        )


class GrantList(VendorAPIView):
    scope_area = "licenses"
    serializer_class = s.GrantSerializer

    @extend_schema(responses=s.results_of(s.GrantSerializer, "GrantList"))
    def get(self, request, license_id):
        grants = license_of(request, license_id).grants.order_by("id")
        return Response({"results": s.GrantSerializer(grants, many=True).data})

    @extend_schema(request=s.GrantCreateSerializer, responses={201: s.GrantSerializer})
    @idempotent
    def post(self, request, license_id):
        data = valid_input(s.GrantCreateSerializer, request.data)
        try:
            grant = grant_add(
                license=license_of(request, license_id),
                repository_name=data["repository"],
                tag_rule=data["rule"],
                include_referrers=data["include_referrers"],
            )
        except LicenseError as exc:
            raise Unprocessable(str(exc)) from None
        return Response(s.GrantSerializer(grant).data, status=status.HTTP_201_CREATED)


class GrantDetail(VendorAPIView):
    scope_area = "licenses"
    serializer_class = s.GrantSerializer

    def delete(self, request, license_id, grant_id):
        grant = get_object_or_404(
            LicenseGrant.objects.select_related("license__vendor", "license__customer"),
            pk=grant_id,
            license=license_of(request, license_id),
        )
        grant_remove(grant=grant)
        return Response(status=status.HTTP_204_NO_CONTENT)


class GrantPreview(VendorAPIView):
    """Which tags a rule covers today: the console's grant preview."""

    scope_area = "licenses"
    serializer_class = s.GrantPreviewSerializer

    @extend_schema(parameters=[s.GrantPreviewSerializer], responses=s.GrantPreviewResultSerializer)
    def get(self, request):
        data = valid_input(s.GrantPreviewSerializer, request.query_params)
        try:
            rule, pattern = rule_parse(data["rule"])
        except RuleInvalid as exc:
            raise Unprocessable(str(exc)) from None
        tags = grant_preview_tags(
            vendor_id=request.vendor.id,
            repository_name=data["repository"],
            rule=rule,
            pattern=pattern,
        )
        return Response({"repository": data["repository"], "rule": data["rule"], "tags": tags})


def license_changed(request, license_id: int, changes: dict) -> Response:
    """Update the fields in `changes`, keeping the rest, if If-Match still matches."""
    with transaction.atomic():
        license = license_of(request, license_id, for_update=True)
        if_match_check(request, license_etag(license))
        try:
            license_update(
                license=license,
                name=changes.get("name", license.name),
                valid_from=changes.get("valid_from", license.valid_from),
                valid_until=changes.get("valid_until", license.valid_until),
                notes=changes.get("notes", license.notes),
            )
        except LicenseError as exc:
            raise Unprocessable(str(exc)) from None
    return license_response(license_of(request, license_id))


def license_of(request, license_id: int, *, for_update: bool = False) -> License:
    licenses = License.objects.select_related("customer", "vendor").prefetch_related("grants")
    if for_update:
        licenses = License.objects.select_for_update().select_related("customer", "vendor")
    return get_object_or_404(licenses, vendor=request.vendor, pk=license_id)
