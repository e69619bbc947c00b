"""The content store: the only package that touches blob bytes in storage (and the only
one that imports django-storages or boto3).

`blob_store()` answers the store of the configured backend: `filesystem.BlobStore`
(STORAGE_BACKEND=filesystem) or `s3.S3BlobStore` (STORAGE_BACKEND=s3). Both offer the same
upload session (`sessions.py`) and blob download response (`blob_response`).
"""

from registry.storage.factory import blob_store
from registry.storage.filesystem import READ_CHUNK_BYTES, BlobStore
from registry.storage.hashers import HasherCache, hasher_cache

__all__ = ["READ_CHUNK_BYTES", "BlobStore", "HasherCache", "blob_store", "hasher_cache"]
