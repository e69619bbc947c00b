"""`/api/v1/webhooks/`: register endpoints (the secret is in the creating answer only),
change, enable or disable, rotate the secret, delete, send a test event, read the
delivery log and redeliver: the console's webhook services (docs/webhooks.md)."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.mixins import ListModelMixin
from rest_framework.response import Response

from api import serializers as s
from api.idempotency import idempotent
from api.pagination import LinkCursorPagination
from api.problems import Conflict, Unprocessable
from api.views.base import VendorAPIView, valid_input
from webhooks import selectors
from webhooks.models import WebhookDelivery, WebhookEndpoint
from webhooks.services import (
    WebhookError,
    delivery_redeliver,
    endpoint_create,
    endpoint_delete,
    endpoint_rotate_secret,
    endpoint_set_enabled,
    endpoint_test_send,
    endpoint_update,
)


def endpoint_of(request, endpoint_id: int) -> WebhookEndpoint:
    return get_object_or_404(WebhookEndpoint, vendor=request.vendor, pk=endpoint_id)


def with_secret(minted, status_code: int) -> Response:
    body = s.WebhookEndpointSerializer(minted.endpoint).data | {"secret": minted.secret}
    response = Response(body, status=status_code)
    response["Cache-Control"] = "no-store"  # the secret is in this answer only
    return response


class WebhookList(ListModelMixin, VendorAPIView):
    scope_area = "webhooks"
    idempotency_secret_fields = ("secret",)  # never stored: api/idempotency.py
    serializer_class = s.WebhookEndpointSerializer
    pagination_class = LinkCursorPagination
    ordering = "id"

    def get_queryset(self):
        return selectors.endpoint_list(vendor=self.request.vendor)

    def get(self, request):
        return self.list(request)

    @extend_schema(
        request=s.WebhookEndpointSerializer, responses={201: s.WebhookEndpointWithSecretSerializer}
    )
    @idempotent
    def post(self, request):
        data = valid_input(s.WebhookEndpointSerializer, request.data)
        try:
            minted = endpoint_create(
                vendor=request.vendor,
                url=data["url"],
                event_types=data["event_types"],
                description=data.get("description", ""),
                created_by=self.actor_user,
            )
            if not data["enabled"]:
                endpoint_set_enabled(
                    endpoint=minted.endpoint, enabled=False, changed_by=self.actor_user
                )
        except WebhookError as exc:
            raise Unprocessable(str(exc)) from None
        response = with_secret(minted, status.HTTP_201_CREATED)
        response["Location"] = f"/api/v1/webhooks/{minted.endpoint.pk}"
        return response


class WebhookDetail(VendorAPIView):
    scope_area = "webhooks"
    serializer_class = s.WebhookEndpointSerializer

    def get(self, request, endpoint_id):
        return Response(s.WebhookEndpointSerializer(endpoint_of(request, endpoint_id)).data)

    @extend_schema(request=s.WebhookEndpointUpdateSerializer, responses=s.WebhookEndpointSerializer)
    def patch(self, request, endpoint_id):
        endpoint = endpoint_of(request, endpoint_id)
        data = valid_input(s.WebhookEndpointUpdateSerializer, request.data)
        try:
            if {"url", "event_types", "description"} & set(data):
                endpoint_update(
                    endpoint=endpoint,
                    url=data.get("url", endpoint.url),
                    event_types=data.get("event_types", endpoint.event_types),
                    description=data.get("description", endpoint.description),
                    updated_by=self.actor_user,
                )
            if "enabled" in data:
                endpoint_set_enabled(
                    endpoint=endpoint, enabled=data["enabled"], changed_by=self.actor_user
                )
        except WebhookError as exc:
            raise Unprocessable(str(exc)) from None
        return Response(s.WebhookEndpointSerializer(endpoint_of(request, endpoint_id)).data)

    @extend_schema(request=None, responses={204: None})
    def delete(self, request, endpoint_id):
        endpoint_delete(endpoint=endpoint_of(request, endpoint_id), deleted_by=self.actor_user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookRotateSecret(VendorAPIView):
    """A new secret signs from now on; the old one also signs for a day."""

    scope_area = "webhooks"
    serializer_class = s.WebhookEndpointWithSecretSerializer

    @extend_schema(request=None, responses=s.WebhookEndpointWithSecretSerializer)
    def post(self, request, endpoint_id):
        minted = endpoint_rotate_secret(
            endpoint=endpoint_of(request, endpoint_id), rotated_by=self.actor_user
        )
        return with_secret(minted, status.HTTP_200_OK)


class WebhookTest(VendorAPIView):
    scope_area = "webhooks"
    serializer_class = s.WebhookDeliverySerializer

    @extend_schema(request=None, responses={202: s.WebhookDeliverySerializer})
    def post(self, request, endpoint_id):
        delivery = endpoint_test_send(
            endpoint=endpoint_of(request, endpoint_id), sent_by=self.actor_user
        )
        return Response(s.WebhookDeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)


class WebhookDeliveryList(ListModelMixin, VendorAPIView):
    scope_area = "webhooks"
    serializer_class = s.WebhookDeliverySerializer
    pagination_class = LinkCursorPagination
    ordering = "-id"

    def get_queryset(self):
        endpoint = endpoint_of(self.request, self.kwargs["endpoint_id"])
        return WebhookDelivery.objects.filter(endpoint=endpoint)

    def get(self, request, endpoint_id):
        return self.list(request)


class WebhookRedeliver(VendorAPIView):
    scope_area = "webhooks"
    serializer_class = s.WebhookDeliverySerializer

    @extend_schema(request=None, responses={202: s.WebhookDeliverySerializer})
    def post(self, request, endpoint_id, delivery_id):
        endpoint = endpoint_of(request, endpoint_id)
        delivery = selectors.delivery_get(
            vendor=request.vendor, endpoint=endpoint, delivery_id=delivery_id
        )
        if delivery is None:
            raise NotFound()
        if not delivery_redeliver(delivery=delivery):
            raise Conflict("this delivery is still being tried")
        delivery.refresh_from_db()
        return Response(s.WebhookDeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)
