"""`/api/v1/tokens/`: mint push and pull tokens (the secret is in that answer only), list
them, revoke one (a customer's too)."""

from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import filters, status
from rest_framework.mixins import ListModelMixin
from rest_framework.response import Response

from api import serializers as s
from api.idempotency import idempotent
from api.pagination import LinkCursorPagination
from api.problems import Unprocessable
from api.rows import token_page, token_rows
from api.views.base import VendorAPIView, valid_input
from api.views.customers import customer_of
from customers.models import AccessToken, Customer
from customers.services import TokenError, token_mint, token_revoke


class TokenList(ListModelMixin, VendorAPIView):
    scope_area = "tokens"
    idempotency_secret_fields = ("secret",)  # never stored: api/idempotency.py
    serializer_class = s.TokenSerializer
    pagination_class = LinkCursorPagination
    filter_backends = [filters.OrderingFilter]
    ordering_fields = ["id", "name", "created_at", "last_used_at"]
    ordering = "-id"

    def get_queryset(self):
        tokens = AccessToken.objects.filter(vendor=self.request.vendor, kind__in=["push", "pull"])
        params = self.request.query_params
        if params.get("kind") in ("push", "pull"):
            tokens = tokens.filter(kind=params["kind"])
        if params.get("customer"):
            customer = Customer.objects.filter(
                vendor=self.request.vendor, slug=params["customer"]
            ).first()
            tokens = tokens.filter(customer=customer) if customer else tokens.none()
        if params.get("state") == "active":
            tokens = tokens.filter(revoked_at__isnull=True)
        elif params.get("state") == "revoked":
            tokens = tokens.filter(revoked_at__isnull=False)
        return tokens

    def get(self, request):
        # Rows, not instances through the serializer: api/rows.py says why.
        rows = self.paginate_queryset(token_rows(self.filter_queryset(self.get_queryset())))
        return self.get_paginated_response(token_page(rows, timezone.now()))

    @extend_schema(request=s.TokenMintSerializer, responses={201: s.MintedTokenSerializer})
    @idempotent
    def post(self, request):
        data = valid_input(s.TokenMintSerializer, request.data)
        customer = customer_of(request, data.pop("customer")) if data.get("customer") else None
        data.pop("customer", None)
        try:
            minted = token_mint(
                vendor=request.vendor, customer=customer, created_by=self.actor_user, **data
            )
        except TokenError as exc:
            raise Unprocessable(str(exc)) from None
        minted.token.secret = minted.secret
        response = Response(
            s.MintedTokenSerializer(minted.token).data,
            status=status.HTTP_201_CREATED,
            headers={"Location": f"/api/v1/tokens/{minted.token.prefix}"},
        )
        response["Cache-Control"] = "no-store"  # the secret is in this answer only
        return response


class TokenDetail(VendorAPIView):
    scope_area = "tokens"
    serializer_class = s.TokenSerializer

    def get(self, request, prefix):
        return Response(s.TokenSerializer(token_of(request, prefix)).data)

    @extend_schema(request=None, responses={204: None})
    def delete(self, request, prefix):
        """Revoke: refused by every process from the next request. Idempotent."""
        token_revoke(token=token_of(request, prefix), revoked_by=self.actor_user)
        return Response(status=status.HTTP_204_NO_CONTENT)


def token_of(request, prefix: str) -> AccessToken:
    return get_object_or_404(
        AccessToken.objects.select_related("vendor", "customer"),
        vendor=request.vendor,
        prefix=prefix,
        kind__in=["push", "pull"],
    )
