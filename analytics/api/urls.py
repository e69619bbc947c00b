from django.urls import path

from analytics.api import views

urlpatterns = [
    path("pulls/daily", views.DailyPullsView.as_view(), name="analytics-api-daily"),
    path("customers/top", views.TopCustomersView.as_view(), name="analytics-api-top-customers"),
    path(
        "repositories/top",
        views.TopRepositoriesView.as_view(),
        name="analytics-api-top-repositories",
    ),
    path("tags/top", views.TopTagsView.as_view(), name="analytics-api-top-tags"),
    path("adoption", views.VersionAdoptionView.as_view(), name="analytics-api-adoption"),
    path("customers/quiet", views.QuietCustomersView.as_view(), name="analytics-api-quiet"),
    path(
        "customers/<slug:customer>/history",
        views.CustomerHistoryView.as_view(),
        name="analytics-api-customer-history",
    ),
    path("rollups", views.DailyRollupsView.as_view(), name="analytics-api-rollups"),
]
