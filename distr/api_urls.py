"""The JSON API (Django REST framework, drf-spectacular). Mounted lazily under /api/ by
distr/urls.py: these modules (with DRF, spectacular and what they import) load in a web
process only when it first serves or reverses an API route, so processes that serve
registry traffic stay about 25 MiB smaller."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

urlpatterns = [
    path("v1/analytics/", include("analytics.api.urls")),
    path("v1/", include("api.urls")),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]
