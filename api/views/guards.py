"""`/api/v1/immutable-tag-rules/` (list, create with Idempotency-Key, read, change with
If-Match, delete: vendor admins or tokens with `registry:write`) and `/api/v1/storage`
(usage against the quota, per repository). The registry's own services: same checks,
same audit rows as the console."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.mixins import ListModelMixin
from rest_framework.response import Response

from api import serializers as s
from api.etags import etag_of, if_match_check
from api.idempotency import idempotent
from api.pagination import LinkCursorPagination
from api.problems import Unprocessable
from api.views.base import VendorAPIView, valid_input
from core.tag_rules import RuleInvalid
from registry.immutability import immutable_rule_list
from registry.models import ImmutableTagRule
from registry.services.guards import (
    immutable_rule_create,
    immutable_rule_delete,
    immutable_rule_update,
)
from registry.usage import quota_limit, repository_storage_list, vendor_storage

# Rules decide what nobody may change later: admins, as in the console.
_ADMIN_WRITES = {m: "immutable_rules.manage" for m in ("POST", "PATCH", "DELETE")}


def rule_of(request, rule_id: int) -> ImmutableTagRule:
    return get_object_or_404(ImmutableTagRule, vendor=request.vendor, pk=rule_id)


def rule_etag(rule: ImmutableTagRule) -> str:
    return etag_of({"repository_pattern": rule.repository_pattern, "tag_rule": rule.tag_rule})


def rule_response(rule: ImmutableTagRule, status_code: int = 200) -> Response:
    response = Response(s.ImmutableTagRuleSerializer(rule).data, status=status_code)
    response["ETag"] = rule_etag(rule)
    return response


class ImmutableTagRuleList(ListModelMixin, VendorAPIView):
    scope_area = "registry"
    staff_permissions = _ADMIN_WRITES
    serializer_class = s.ImmutableTagRuleSerializer
    pagination_class = LinkCursorPagination
    ordering = "id"

    def get_queryset(self):
        return immutable_rule_list(vendor_id=self.request.vendor.id)

    def get(self, request):
        return self.list(request)

    @extend_schema(
        request=s.ImmutableTagRuleSerializer, responses={201: s.ImmutableTagRuleSerializer}
    )
    @idempotent
    def post(self, request):
        data = valid_input(s.ImmutableTagRuleSerializer, request.data)
        try:
            rule = immutable_rule_create(vendor=request.vendor, **data)
        except RuleInvalid as exc:
            raise Unprocessable(str(exc)) from None
        response = rule_response(rule, status.HTTP_201_CREATED)
        response["Location"] = f"/api/v1/immutable-tag-rules/{rule.pk}"
        return response


class ImmutableTagRuleDetail(VendorAPIView):
    scope_area = "registry"
    staff_permissions = _ADMIN_WRITES
    serializer_class = s.ImmutableTagRuleSerializer

    def get(self, request, rule_id):
        return rule_response(rule_of(request, rule_id))

    @extend_schema(
        request=s.ImmutableTagRuleUpdateSerializer, responses=s.ImmutableTagRuleSerializer
    )
    def patch(self, request, rule_id):
        rule = rule_of(request, rule_id)
        if_match_check(request, rule_etag(rule))
        data = valid_input(s.ImmutableTagRuleUpdateSerializer, request.data)
        try:
            immutable_rule_update(
                rule=rule,
                repository_pattern=data.get("repository_pattern", rule.repository_pattern),
                tag_rule=data.get("tag_rule", rule.tag_rule),
            )
        except RuleInvalid as exc:
            raise Unprocessable(str(exc)) from None
        return rule_response(rule)

    @extend_schema(request=None, responses={204: None})
    def delete(self, request, rule_id):
        rule = rule_of(request, rule_id)
        if_match_check(request, rule_etag(rule))
        immutable_rule_delete(rule=rule)
        return Response(status=status.HTTP_204_NO_CONTENT)


class StorageDetail(VendorAPIView):
    scope_area = "registry"
    serializer_class = s.StorageSerializer

    def get(self, request):
        used = vendor_storage(vendor_id=request.vendor.id)
        body = {
            "bytes_stored": used["bytes"],
            "blobs": used["blobs"],
            "quota_bytes": quota_limit(vendor_id=request.vendor.id),
            "repositories": repository_storage_list(vendor_id=request.vendor.id),
        }
        return Response(s.StorageSerializer(body).data)
