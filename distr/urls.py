from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("", include("registry.urls")),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("", include("portal.urls")),
]

handler403 = "portal.views.public.error_403"
handler404 = "portal.views.public.error_404"
handler500 = "portal.views.public.error_500"
