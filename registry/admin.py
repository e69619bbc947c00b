"""Read-mostly admin for the content model: operators inspect, services write."""

from django.contrib import admin

from registry.models import Blob, GcRun, Manifest, Repository, Tag, Upload


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Repository)
class RepositoryAdmin(ReadOnlyAdmin):
    list_display = ["name", "created_at"]
    search_fields = ["name"]


@admin.register(Blob)
class BlobAdmin(ReadOnlyAdmin):
    list_display = ["digest", "size", "created_at"]
    search_fields = ["digest"]


@admin.register(Manifest)
class ManifestAdmin(ReadOnlyAdmin):
    list_display = ["digest", "repository", "media_type", "artifact_type", "size", "created_at"]
    list_filter = ["media_type"]
    search_fields = ["digest", "repository__name"]
    exclude = ["content"]


@admin.register(Tag)
class TagAdmin(ReadOnlyAdmin):
    list_display = ["name", "repository", "manifest", "updated_at"]
    search_fields = ["name", "repository__name"]


@admin.register(Upload)
class UploadAdmin(ReadOnlyAdmin):
    list_display = ["id", "repository", "size", "created_at", "updated_at"]


@admin.register(GcRun)
class GcRunAdmin(ReadOnlyAdmin):
    list_display = ["id", "status", "dry_run", "started_at", "finished_at", "bytes_freed"]
    list_filter = ["status", "dry_run"]

    def has_delete_permission(self, request, obj=None):
        return False  # the console and /metrics read the runs' history
