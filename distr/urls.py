from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("", include("registry.urls")),
    path("admin/", admin.site.urls),
    # (module name, app, namespace) tuples instead of include(): Django imports these on
    # first use rather than now, so a process serving only the registry never loads DRF,
    # drf-spectacular or allauth's views (about 30 MiB per process; see distr/api_urls.py).
    path("api/", ("distr.api_urls", None, None)),
    path("accounts/", ("allauth.urls", None, None)),
    path("", include("portal.urls")),
]

handler403 = "portal.views.public.error_403"
handler404 = "portal.views.public.error_404"
handler500 = "portal.views.public.error_500"
