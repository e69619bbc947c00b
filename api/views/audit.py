"""`/api/v1/audit-events/`: the vendor's audit log, filtered by actor, action, target and
time; `?format=csv` streams every matching row."""

from django.http import StreamingHttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework.mixins import ListModelMixin
from rest_framework.renderers import JSONRenderer

from analytics.api.renderers import CSVRenderer
from analytics.exports import csv_stream
from api import serializers as s
from api.pagination import LinkCursorPagination
from api.views.base import VendorAPIView, valid_input
from portal import selectors as portal_selectors

CSV_COLUMNS = ["id", "created_at", "action", "actor", "target", "client_address", "details"]


class AuditEventList(ListModelMixin, VendorAPIView):
    scope_area = "audit"
    serializer_class = s.AuditEventSerializer
    pagination_class = LinkCursorPagination
    renderer_classes = [JSONRenderer, CSVRenderer]
    ordering = "-id"

    def get_queryset(self):
        filters = valid_input(s.AuditFilterSerializer, self.request.query_params)
        target = filters.pop("target", "")
        events = portal_selectors.audit_events(vendor=self.request.vendor, limit=None, **filters)
        return events.filter(target=target) if target else events

    @extend_schema(parameters=[s.AuditFilterSerializer])
    def get(self, request):
        events = self.get_queryset()
        if request.accepted_renderer.format == "csv":
            rows = (self.get_serializer(e).data for e in events.iterator(chunk_size=500))
            response = StreamingHttpResponse(
                csv_stream(rows, CSV_COLUMNS), content_type="text/csv; charset=utf-8"
            )
            response["Content-Disposition"] = 'attachment; filename="audit-events.csv"'
            return response
        return self.list(request)
