"""Which content store serves the `registry` storage configured in settings.STORAGES."""

from django.core.files.storage import storages

from registry.storage.filesystem import BlobStore

_store = None


def blob_store():
    """The store over `storages["registry"]`, rebuilt when tests swap that storage."""
    global _store
    storage = storages["registry"]
    if _store is None or _store.storage is not storage:
        if getattr(storage, "is_object_storage", False):
            from registry.storage.s3 import S3BlobStore  # imports boto3: only when used

            _store = S3BlobStore(storage)
        else:
            _store = BlobStore(storage)
    return _store
