"""Routes of the OCI Distribution API. Repository names contain slashes, so routes are
regexes; the more specific upload routes come before the blob route."""

from django.urls import re_path

from registry import token_views, views

_NAME = r"(?P<name>.+?)"

urlpatterns = [
    re_path(r"^v2/?$", views.BaseView.as_view(), name="registry-base"),
    re_path(r"^v2/token/?$", token_views.TokenView.as_view(), name="registry-token"),
    re_path(r"^v2/_catalog$", views.CatalogView.as_view(), name="registry-catalog"),
    re_path(rf"^v2/{_NAME}/tags/list$", views.TagListView.as_view(), name="registry-tags"),
    re_path(
        rf"^v2/{_NAME}/manifests/(?P<reference>[^/]+)$",
        views.ManifestView.as_view(),
        name="registry-manifest",
    ),
    re_path(
        rf"^v2/{_NAME}/blobs/uploads/?$",
        views.BlobUploadView.as_view(),
        name="registry-upload-start",
    ),
    re_path(
        rf"^v2/{_NAME}/blobs/uploads/(?P<upload_id>[^/]+)$",
        views.BlobUploadSessionView.as_view(),
        name="registry-upload",
    ),
    re_path(
        rf"^v2/{_NAME}/blobs/(?P<digest>[^/]+)$", views.BlobView.as_view(), name="registry-blob"
    ),
    re_path(
        rf"^v2/{_NAME}/referrers/(?P<digest>[^/]+)$",
        views.ReferrersView.as_view(),
        name="registry-referrers",
    ),
    re_path(r"^v2/", views.RouteUnknownView.as_view(), name="registry-unknown"),
]
