"""`/api/v1/entitlement-fields/`, `/api/v1/plans/` and a license's plan, key and
instances (licensing/plans.py, licensing/keys.py, docs/license-keys.md). Scope area
`licenses`. A plan change applies to its licenses at once and answers which it changed
(the console asks to confirm first; the API caller has decided)."""

from django.db import transaction
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from api import serializers as s
from api.etags import etag_of, if_match_check
from api.idempotency import idempotent
from api.problems import Unprocessable
from api.views.base import VendorAPIView, valid_input
from api.views.licenses import license_of
from licensing.keys import license_key_current
from licensing.models import EntitlementField, Instance, Plan
from licensing.plans import (
    field_create,
    field_delete,
    field_update,
    license_plan_set,
    license_seats,
    license_values,
    plan_create,
    plan_delete,
    plan_licenses,
    plan_update,
)
from licensing.selectors import instances_of_license
from licensing.services import LicenseError


class FieldSerializer(serializers.ModelSerializer):
    class Meta:
        model = EntitlementField
        fields = ["key", "label", "kind", "choices", "default", "customer_visible", "created_at"]


class FieldCreateSerializer(serializers.Serializer):
    key = serializers.CharField(max_length=64)
    kind = serializers.ChoiceField(choices=EntitlementField.Kind.values)
    label = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    choices = serializers.ListField(
        child=serializers.CharField(max_length=200), required=False, default=list
    )
    default = serializers.JSONField(required=False, default=None)
    customer_visible = serializers.BooleanField(required=False, default=False)


class FieldUpdateSerializer(serializers.Serializer):
    label = serializers.CharField(max_length=200, required=False, allow_blank=True)
    choices = serializers.ListField(child=serializers.CharField(max_length=200), required=False)
    default = serializers.JSONField(required=False)
    customer_visible = serializers.BooleanField(required=False)


class PlanGrantSerializer(serializers.Serializer):
    repository_name = serializers.CharField(max_length=255)
    rule = serializers.CharField(max_length=210)
    include_referrers = serializers.BooleanField(required=False, default=True)


class PlanSerializer(serializers.ModelSerializer):
    grants = PlanGrantSerializer(many=True)
    values = serializers.DictField()

    class Meta:
        model = Plan
        fields = ["id", "name", "values", "seats", "grants", "lease_seconds", "updated_at"]


class PlanWriteSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    values = serializers.DictField(required=False, default=dict)
    seats = serializers.IntegerField(min_value=0, required=False, allow_null=True, default=None)
    grants = PlanGrantSerializer(many=True, required=False, default=list)
    lease_seconds = serializers.IntegerField(
        min_value=60, max_value=366 * 86400, required=False, default=7 * 86400
    )


class PlanChangedSerializer(PlanSerializer):
    licenses_changed = serializers.ListField(child=serializers.IntegerField())

    class Meta(PlanSerializer.Meta):
        fields = [*PlanSerializer.Meta.fields, "licenses_changed"]


class PlanDetailSerializer(PlanSerializer):
    licenses = serializers.ListField(child=serializers.IntegerField())

    class Meta(PlanSerializer.Meta):
        fields = [*PlanSerializer.Meta.fields, "licenses"]


class LicensePlanSerializer(serializers.Serializer):
    plan = serializers.IntegerField(allow_null=True, help_text="plan id, or null for none")
    values = serializers.DictField(required=False, default=dict)
    seats = serializers.IntegerField(min_value=0, required=False, allow_null=True, default=None)


class LicenseKeySerializer(serializers.Serializer):
    license = serializers.IntegerField()
    sequence = serializers.IntegerField()
    plan = serializers.CharField(allow_null=True)
    values = serializers.DictField()
    seats = serializers.IntegerField(allow_null=True)
    key = serializers.CharField()


class InstanceSerializer(serializers.ModelSerializer):
    class Meta:
        model = Instance
        fields = ["instance_id", "version", "source", "first_seen", "last_seen", "metadata"]


def plan_etag(plan: Plan) -> str:
    return etag_of(PlanSerializer(plan).data)


def _unprocessable(exc: LicenseError):
    return Unprocessable(str(exc))


class FieldList(VendorAPIView):
    scope_area = "licenses"
    serializer_class = FieldSerializer

    @extend_schema(
        operation_id="v1_entitlement_fields_list",
        responses=s.results_of(FieldSerializer, "FieldList"),
    )
    def get(self, request):
        fields = EntitlementField.objects.filter(vendor=request.vendor)
        return Response({"results": FieldSerializer(fields, many=True).data})

    @extend_schema(request=FieldCreateSerializer, responses={201: FieldSerializer})
    @idempotent
    def post(self, request):
        data = valid_input(FieldCreateSerializer, request.data)
        try:
            field = field_create(vendor=request.vendor, **data)
        except LicenseError as exc:
            raise _unprocessable(exc) from None
        return Response(FieldSerializer(field).data, status=status.HTTP_201_CREATED)


class FieldDetail(VendorAPIView):
    scope_area = "licenses"
    serializer_class = FieldSerializer

    def _field(self, request, key):
        return get_object_or_404(EntitlementField, vendor=request.vendor, key=key)

    def get(self, request, key):
        return Response(FieldSerializer(self._field(request, key)).data)

    @extend_schema(request=FieldUpdateSerializer, responses=FieldSerializer)
    def patch(self, request, key):
        data = valid_input(FieldUpdateSerializer, request.data)
        field = self._field(request, key)
        try:
            field = field_update(
                field=field,
                label=data.get("label", field.label),
                choices=data.get("choices", field.choices),
                default=data.get("default", field.default),
                customer_visible=data.get("customer_visible", field.customer_visible),
            )
        except LicenseError as exc:
            raise _unprocessable(exc) from None
        return Response(FieldSerializer(field).data)

    @extend_schema(request=None, responses={204: None})
    def delete(self, request, key):
        field_delete(field=self._field(request, key))
        return Response(status=status.HTTP_204_NO_CONTENT)


class PlanList(VendorAPIView):
    scope_area = "licenses"
    serializer_class = PlanSerializer

    @extend_schema(operation_id="v1_plans_list", responses=s.results_of(PlanSerializer, "PlanList"))
    def get(self, request):
        plans = Plan.objects.filter(vendor=request.vendor)
        return Response({"results": PlanSerializer(plans, many=True).data})

    @extend_schema(request=PlanWriteSerializer, responses={201: PlanSerializer})
    @idempotent
    def post(self, request):
        data = valid_input(PlanWriteSerializer, request.data)
        try:
            plan = plan_create(vendor=request.vendor, **data)
        except LicenseError as exc:
            raise _unprocessable(exc) from None
        headers = {"ETag": plan_etag(plan), "Location": f"/api/v1/plans/{plan.pk}"}
        return Response(PlanSerializer(plan).data, status=201, headers=headers)


class PlanDetail(VendorAPIView):
    scope_area = "licenses"
    serializer_class = PlanSerializer

    @extend_schema(responses=PlanDetailSerializer)
    def get(self, request, plan_id):
        plan = get_object_or_404(Plan, vendor=request.vendor, pk=plan_id)
        body = {**PlanSerializer(plan).data, "licenses": [lic.pk for lic in plan_licenses(plan)]}
        return Response(body, headers={"ETag": plan_etag(plan)})

    @extend_schema(request=PlanWriteSerializer, responses=PlanChangedSerializer)
    def put(self, request, plan_id):
        """Replace the plan; its licenses get new keys (sequence) and its grants."""
        data = valid_input(PlanWriteSerializer, request.data)
        with transaction.atomic():
            plan = get_object_or_404(
                Plan.objects.select_for_update(), vendor=request.vendor, pk=plan_id
            )
            if_match_check(request, plan_etag(plan))
            try:
                changed = plan_update(plan=plan, **data)
            except LicenseError as exc:
                raise _unprocessable(exc) from None
        body = {**PlanSerializer(plan).data, "licenses_changed": [lic.pk for lic in changed]}
        return Response(body, headers={"ETag": plan_etag(plan)})

    @extend_schema(request=None, responses={204: None})
    def delete(self, request, plan_id):
        plan = get_object_or_404(Plan, vendor=request.vendor, pk=plan_id)
        try:
            plan_delete(plan=plan)
        except LicenseError as exc:
            raise _unprocessable(exc) from None
        return Response(status=status.HTTP_204_NO_CONTENT)


def _key_body(license) -> dict:
    return {
        "license": license.pk,
        "sequence": license.sequence,
        "plan": license.plan.name if license.plan_id else None,
        "values": license_values(license),
        "seats": license_seats(license),
        "key": license_key_current(license),
    }


class LicensePlan(VendorAPIView):
    scope_area = "licenses"
    serializer_class = LicenseKeySerializer

    @extend_schema(request=LicensePlanSerializer, responses=LicenseKeySerializer)
    def put(self, request, license_id):
        """Put the license on a plan with its own overrides (a new key)."""
        data = valid_input(LicensePlanSerializer, request.data)
        license = license_of(request, license_id)
        plan = None
        if data["plan"] is not None:
            plan = Plan.objects.filter(vendor=request.vendor, pk=data["plan"]).first()
            if plan is None:
                raise Unprocessable("no such plan")
        try:
            license = license_plan_set(
                license=license, plan=plan, values=data["values"], seats=data["seats"]
            )
        except LicenseError as exc:
            raise _unprocessable(exc) from None
        return Response(_key_body(license_of(request, license_id)))


class LicenseKey(VendorAPIView):
    scope_area = "licenses"
    serializer_class = LicenseKeySerializer

    @extend_schema(responses=LicenseKeySerializer)
    def get(self, request, license_id):
        """The license key (compact JWS) with what it says."""
        response = Response(_key_body(license_of(request, license_id)))
        response["Cache-Control"] = "no-store"
        return response


class LicenseInstances(VendorAPIView):
    scope_area = "licenses"
    serializer_class = InstanceSerializer

    @extend_schema(responses=s.results_of(InstanceSerializer, "InstanceList"))
    def get(self, request, license_id):
        instances = instances_of_license(license=license_of(request, license_id))
        return Response({"results": InstanceSerializer(instances, many=True).data})
