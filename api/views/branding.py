"""`/api/v1/branding`: the portal's brand (colours, names, support links); updates take
If-Match against the ETag read, so two editors cannot overwrite each other unseen."""

from django.core.exceptions import ValidationError
from django.db import transaction
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from api import serializers as s
from api.etags import etag_of, if_match_check
from api.problems import Unprocessable
from api.views.base import VendorAPIView, valid_input
from portal.models import Branding
from portal.services import PortalError, branding_update

FIELDS = list(s.BrandingSerializer().fields)


def branding_values(branding: Branding) -> dict:
    return {field: getattr(branding, field) for field in FIELDS}


class BrandingDetail(VendorAPIView):
    scope_area = "branding"
    serializer_class = s.BrandingSerializer

    def get(self, request):
        branding = Branding.objects.filter(vendor=request.vendor).first() or Branding(
            vendor=request.vendor
        )
        return _response(branding)

    @extend_schema(request=s.BrandingSerializer, responses=s.BrandingSerializer)
    def patch(self, request):
        data = valid_input(s.BrandingSerializer, request.data)
        with transaction.atomic():
            current = Branding.objects.select_for_update().filter(
                vendor=request.vendor
            ).first() or Branding(vendor=request.vendor)
            if_match_check(request, etag_of(branding_values(current)))
            try:
                branding = branding_update(
                    vendor=request.vendor, data=data, updated_by=self.actor_user
                )
            except (PortalError, ValidationError) as exc:
                raise Unprocessable(_message(exc)) from None
        return _response(branding)


def _response(branding: Branding) -> Response:
    values = branding_values(branding)
    return Response(s.BrandingSerializer(values).data, headers={"ETag": etag_of(values)})


def _message(exc) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
    return str(exc)
