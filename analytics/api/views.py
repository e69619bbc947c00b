"""The analytics JSON API (`/api/v1/analytics/…`): parse filters, call one selector from
analytics.selectors with the caller's vendor, return `{vendor, start, end, results}`.
`?format=csv` returns the results as CSV."""

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from analytics import selectors as queries
from analytics.api import serializers as s
from analytics.api.permissions import HasScope, IsVendorStaff
from analytics.api.renderers import CSVRenderer


class AnalyticsView(APIView):
    permission_classes = [IsVendorStaff, HasScope("analytics:read")]
    renderer_classes = [JSONRenderer, CSVRenderer]
    filter_serializer = s.PeriodFilterSerializer

    def filters(self, request) -> dict:
        params = self.filter_serializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        data = dict(params.validated_data)
        if self.filter_serializer is s.PeriodFilterSerializer:
            try:
                data["period"] = queries.date_range(
                    days=data.get("days"), start=data.get("start"), end=data.get("end")
                )
            except ValueError as exc:
                raise ValidationError({"days": [str(exc)]}) from None
        return data

    def respond(self, request, period, rows: list[dict]) -> Response:
        return Response(
            {
                "vendor": request.vendor.slug,
                "start": period.start if period else None,
                "end": period.end if period else None,
                "results": rows,
            }
        )


def _documented(row: type, name: str, filters=s.PeriodFilterSerializer):
    return extend_schema(parameters=[filters], responses=s.envelope(name, row))


class DailyPullsView(AnalyticsView):
    @_documented(s.DailyPullsSerializer, "DailyPullsResponse")
    def get(self, request):
        f = self.filters(request)
        rows = queries.pulls_per_day(
            vendor=request.vendor, period=f["period"], repository=f.get("repository")
        )
        return self.respond(request, f["period"], rows)


class TopCustomersView(AnalyticsView):
    @_documented(s.TopCustomerSerializer, "TopCustomersResponse")
    def get(self, request):
        f = self.filters(request)
        rows = queries.top_customers(
            vendor=request.vendor,
            period=f["period"],
            repository=f.get("repository"),
            limit=f["limit"],
        )
        return self.respond(request, f["period"], rows)


class TopRepositoriesView(AnalyticsView):
    @_documented(s.TopRepositorySerializer, "TopRepositoriesResponse")
    def get(self, request):
        f = self.filters(request)
        rows = queries.top_repositories(vendor=request.vendor, period=f["period"], limit=f["limit"])
        return self.respond(request, f["period"], rows)


class TopTagsView(AnalyticsView):
    @_documented(s.TopTagSerializer, "TopTagsResponse")
    def get(self, request):
        f = self.filters(request)
        rows = queries.top_tags(
            vendor=request.vendor,
            period=f["period"],
            repository=f.get("repository"),
            limit=f["limit"],
        )
        return self.respond(request, f["period"], rows)


class VersionAdoptionView(AnalyticsView):
    @_documented(s.AdoptionSerializer, "VersionAdoptionResponse")
    def get(self, request):
        f = self.filters(request)
        rows = queries.version_adoption(
            vendor=request.vendor, period=f["period"], repository=f.get("repository")
        )
        return self.respond(request, f["period"], rows)


class QuietCustomersView(AnalyticsView):
    filter_serializer = s.QuietFilterSerializer

    @_documented(s.QuietCustomerSerializer, "QuietCustomersResponse", s.QuietFilterSerializer)
    def get(self, request):
        f = self.filters(request)
        rows = queries.customers_gone_quiet(vendor=request.vendor, quiet_days=f["days"])
        return self.respond(request, None, rows)


class CustomerHistoryView(AnalyticsView):
    @_documented(s.HistorySerializer, "CustomerHistoryResponse")
    def get(self, request, customer: str):
        f = self.filters(request)
        found = queries.customer_by_slug(vendor=request.vendor, slug=customer)
        if found is None:
            raise Http404("no such customer")
        rows = queries.customer_history(
            vendor=request.vendor,
            customer_id=found.id,
            period=f["period"],
            repository=f.get("repository"),
        )
        return self.respond(request, f["period"], rows)


class DailyRollupsView(AnalyticsView):
    @_documented(s.RollupSerializer, "DailyRollupsResponse")
    def get(self, request):
        f = self.filters(request)
        rows = queries.daily_rollups(
            vendor=request.vendor, period=f["period"], repository=f.get("repository")
        )
        return self.respond(request, f["period"], rows)
