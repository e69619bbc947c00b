from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

urlpatterns = [
    path("", include("registry.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/analytics/", include("analytics.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("accounts/", include("allauth.urls")),
    path("", include("portal.urls")),
]

handler403 = "portal.views.public.error_403"
handler404 = "portal.views.public.error_404"
handler500 = "portal.views.public.error_500"
