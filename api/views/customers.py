"""`/api/v1/customers/`: list, create, read, update, suspend and resume customers; their
users and invitations."""

from django.db import IntegrityError
from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import filters, status
from rest_framework.exceptions import NotFound
from rest_framework.mixins import ListModelMixin
from rest_framework.response import Response

from api import serializers as s
from api.idempotency import idempotent
from api.pagination import LinkCursorPagination
from api.problems import Conflict, Unprocessable
from api.rows import customer_page, customer_rows
from api.views.base import VendorAPIView, valid_input
from customers.models import Customer
from customers.services import (
    CustomerDeleteRefused,
    customer_create,
    customer_delete,
    customer_set_suspended,
    customer_update,
)
from portal import selectors as portal_selectors
from portal.invitations import InvitationError, invitation_create, mail_configured
from portal.mail import invitation_send
from portal.services import customer_member_remove
from portal.tenancy import portal_link


class CustomerList(ListModelMixin, VendorAPIView):
    scope_area = "customers"
    serializer_class = s.CustomerSerializer
    pagination_class = LinkCursorPagination
    filter_backends = [filters.SearchFilter, filters.OrderingFilter]
    search_fields = ["slug", "name", "contact_email"]
    ordering_fields = ["slug", "name", "created_at"]
    ordering = "slug"

    def get_queryset(self):
        customers = Customer.objects.filter(vendor=self.request.vendor)
        suspended = self.request.query_params.get("suspended")
        if suspended in ("true", "false"):
            customers = customers.filter(suspended_at__isnull=suspended == "false")
        return customers

    def get(self, request):
        # Rows, not instances through the serializer: api/rows.py says why.
        rows = self.paginate_queryset(customer_rows(self.filter_queryset(self.get_queryset())))
        return self.get_paginated_response(customer_page(rows))

    @extend_schema(request=s.CustomerCreateSerializer, responses={201: s.CustomerSerializer})
    @idempotent
    def post(self, request):
        data = valid_input(s.CustomerCreateSerializer, request.data)
        try:
            customer, created = customer_create(
                vendor=request.vendor, created_by=self.actor_user, **data
            )
        except (ValueError, IntegrityError) as exc:
            raise Unprocessable(str(exc)) from None
        if not created:
            raise Conflict(f"customer {data['slug']!r} exists")
        return Response(
            s.CustomerSerializer(customer).data,
            status=status.HTTP_201_CREATED,
            headers={"Location": f"/api/v1/customers/{customer.slug}"},
        )


class CustomerDetail(VendorAPIView):
    scope_area = "customers"
    serializer_class = s.CustomerSerializer
    staff_permissions = {"DELETE": "customers.delete"}  # as in the console: admins only

    def get(self, request, slug):
        return Response(s.CustomerSerializer(customer_of(request, slug)).data)

    @extend_schema(request=s.CustomerUpdateSerializer, responses=s.CustomerSerializer)
    def patch(self, request, slug):
        customer = customer_of(request, slug)
        data = valid_input(s.CustomerUpdateSerializer, request.data)
        try:
            customer = customer_update(
                customer=customer,
                name=data.get("name", customer.name),
                contact_email=data.get("contact_email", customer.contact_email),
                notes=data.get("notes", customer.notes),
                updated_by=self.actor_user,
            )
        except ValueError as exc:
            raise Unprocessable(str(exc)) from None
        return Response(s.CustomerSerializer(customer).data)

    @extend_schema(request=None, responses={204: None})
    def delete(self, request, slug):
        """Delete a suspended customer with its licenses, tokens, memberships and pull
        history (409 while it is active: suspend it first)."""
        try:
            customer_delete(customer=customer_of(request, slug), deleted_by=self.actor_user)
        except CustomerDeleteRefused as exc:
            raise Conflict(str(exc)) from None
        return Response(status=status.HTTP_204_NO_CONTENT)


class CustomerSuspend(VendorAPIView):
    scope_area = "customers"
    serializer_class = s.CustomerSerializer
    suspend = True

    @extend_schema(request=None, responses=s.CustomerSerializer)
    def post(self, request, slug):
        customer = customer_set_suspended(
            customer=customer_of(request, slug), suspended=self.suspend, changed_by=self.actor_user
        )
        return Response(s.CustomerSerializer(customer).data)


class CustomerResume(CustomerSuspend):
    suspend = False


class CustomerUsers(VendorAPIView):
    scope_area = "customers"
    serializer_class = s.MemberSerializer

    @extend_schema(responses=s.results_of(s.MemberSerializer, "MemberList"))
    def get(self, request, slug):
        members = portal_selectors.customer_members(
            vendor=request.vendor, customer=customer_of(request, slug)
        )
        return Response({"results": s.MemberSerializer(members, many=True).data})


class CustomerUser(VendorAPIView):
    scope_area = "customers"
    serializer_class = s.MemberSerializer

    def delete(self, request, slug, member_id):
        member = portal_selectors.customer_member_get(
            vendor=request.vendor, customer=customer_of(request, slug), member_id=member_id
        )
        if member is None:
            raise_not_found()
        customer_member_remove(member=member, removed_by=self.actor_user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class CustomerInvitations(VendorAPIView):
    scope_area = "customers"
    idempotency_secret_fields = ("link",)  # never stored: api/idempotency.py
    serializer_class = s.InvitationSerializer

    @extend_schema(request=s.InvitationCreateSerializer, responses={201: s.InvitationSerializer})
    @idempotent
    def post(self, request, slug):
        customer = customer_of(request, slug)
        data = valid_input(s.InvitationCreateSerializer, request.data)
        try:
            invitation, key = invitation_create(
                vendor=request.vendor,
                customer=customer,
                email=data["email"],
                role=data["role"],
                invited_by=self.actor_user,
            )
        except InvitationError as exc:
            raise Unprocessable(str(exc)) from None
        mailed = mail_configured()
        if mailed:
            invitation_send(request._request, invitation=invitation, key=key)
        link = (
            None
            if mailed
            else portal_link(vendor=request.vendor, path=reverse("portal:invitation", args=[key]))
        )
        body = {
            "email": invitation.email,
            "role": invitation.role,
            "expires_at": invitation.expires_at,
            "mailed": mailed,
            "link": link,
        }
        response = Response(s.InvitationSerializer(body).data, status=status.HTTP_201_CREATED)
        response["Cache-Control"] = "no-store"  # the link holds the key
        return response


def customer_of(request, slug: str) -> Customer:
    """The caller's vendor's customer, or 404 (another vendor's customer does not exist)."""
    return get_object_or_404(Customer, vendor=request.vendor, slug=slug)


def raise_not_found():
    raise NotFound()
