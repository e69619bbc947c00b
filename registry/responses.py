"""Registry responses that more than one view (or error) builds: upload status, blob
created, the headers every blob read carries."""

from django.http import HttpResponse


def upload_headers(upload) -> dict[str, str]:
    """Where an upload is and how far it got: on every upload answer (202, the 204 status,
    the 416 for a chunk that does not continue it)."""
    return {
        "Location": f"/v2/{upload.repository.name}/blobs/uploads/{upload.id}",
        "Range": f"0-{max(upload.size - 1, 0)}",
        "Docker-Upload-UUID": str(upload.id),
    }


def upload_accepted(upload, status: int = 202) -> HttpResponse:
    return HttpResponse(status=status, headers=upload_headers(upload))


def blob_created(name: str, digest: str) -> HttpResponse:
    return HttpResponse(
        status=201,
        headers={"Location": f"/v2/{name}/blobs/{digest}", "Docker-Content-Digest": digest},
    )


def blob_headers(digest: str) -> dict[str, str]:
    return {
        "Docker-Content-Digest": digest,
        "Accept-Ranges": "bytes",
        "ETag": f'"{digest}"',
        # Content-addressed, so cacheable forever, but only by the client: shared caches
        # must not serve one tenant's blob to another.
        "Cache-Control": "private, max-age=31536000",
    }
