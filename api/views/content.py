"""`/api/v1/repositories/`: the vendor's repositories and tags with sizes; delete a tag
or a manifest (the registry's own services: same refusals, same audit)."""

from django.db.models import Count, OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.mixins import ListModelMixin
from rest_framework.response import Response

from api import serializers as s
from api.pagination import LinkCursorPagination
from api.problems import Conflict, Unprocessable
from api.views.base import VendorAPIView
from portal.inventory import tag_summaries
from registry.errors import ContentInUse, ManifestUnknown, RegistryError, TagImmutable
from registry.models import Repository, RepositoryBlob, Tag
from registry.services.manifests import manifest_delete


class RepositoryList(ListModelMixin, VendorAPIView):
    scope_area = "registry"
    serializer_class = s.RepositorySerializer
    pagination_class = LinkCursorPagination
    ordering = "name"

    def get_queryset(self):
        # Subqueries, not joins: a join of tags and blobs would count each blob per tag.
        tags = Tag.objects.filter(repository=OuterRef("pk")).order_by().values("repository")
        blobs = RepositoryBlob.objects.filter(repository=OuterRef("pk")).order_by()
        return Repository.objects.filter(vendor=self.request.vendor).annotate(
            tag_count=Coalesce(Subquery(tags.annotate(n=Count("pk")).values("n")), 0),
            size=Coalesce(
                Subquery(blobs.values("repository").annotate(b=Sum("blob__size")).values("b")), 0
            ),
        )

    def get(self, request):
        return self.list(request)


class TagList(VendorAPIView):
    scope_area = "registry"
    serializer_class = s.TagSerializer

    @extend_schema(
        responses=s.results_of(s.TagSerializer, "TagList", repository=serializers.CharField())
    )
    def get(self, request, name):
        repository = repository_of(request, name)
        rows = [
            {
                "name": t.name,
                "digest": t.manifest.digest,
                "media_type": t.manifest.media_type,
                "size": t.manifest.size,
                "platforms": t.manifest.platforms,
                "pushed_at": t.pushed_at,
            }
            for t in tag_summaries(repository=repository)
        ]
        return Response({"repository": name, "results": s.TagSerializer(rows, many=True).data})


class TagDetail(VendorAPIView):
    scope_area = "registry"
    serializer_class = s.TagSerializer

    @extend_schema(request=None, responses={204: None})
    def delete(self, request, name, reference):
        _delete(request, name, reference)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ManifestDetail(TagDetail):
    pass


def _delete(request, name: str, reference: str) -> None:
    repository = repository_of(request, name)
    try:
        manifest_delete(repository=repository, reference=reference)
    except ManifestUnknown:
        raise NotFound(f"{reference[:200]!r} not found in {name}") from None
    except TagImmutable as exc:  # an immutable-tag rule covers it: the message names it
        raise PermissionDenied(exc.message) from None
    except ContentInUse as exc:  # an index still names it
        raise Conflict(str(exc)) from None
    except RegistryError as exc:  # a malformed reference
        raise Unprocessable(str(exc)) from None


def repository_of(request, name: str) -> Repository:
    return get_object_or_404(Repository, vendor=request.vendor, name=name)
