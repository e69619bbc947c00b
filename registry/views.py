"""OCI Distribution API views (named after the spec). Each parses the request, calls one
selector or service, and builds the response; `RegistryView.dispatch` does access checks
and renders domain errors as the OCI error envelope."""

import json

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.views import View
from django.views.decorators.csrf import csrf_exempt

from registry import selectors
from registry.access import (
    CATALOG,
    DELETE,
    PULL,
    PUSH,
    access_check,
    visible_referrers,
    visible_repository_names,
    visible_tags_page,
)
from registry.auth import principal_from_request
from registry.digests import digest_parse
from registry.errors import (
    BlobUnknown,
    Denied,
    DigestInvalid,
    ManifestTooLarge,
    ManifestUnknown,
    NameInvalid,
    RegistryError,
    RouteUnknown,
    Unauthorized,
    Unsupported,
    error_response,
)
from registry.http import (
    content_range_parse,
    next_link,
    pagination_parse,
    request_body_chunks,
    request_content_length,
)
from registry.manifests import INDEX_MEDIA_TYPES, OCI_INDEX
from registry.names import reference_outside_grammar, repository_name_validate
from registry.observers import manifest_pulled
from registry.responses import blob_created, blob_headers, upload_accepted
from registry.services.manifests import blob_unlink, manifest_delete, manifest_put
from registry.services.repositories import repository_get_or_create
from registry.services.uploads import (
    blob_mount,
    blob_upload_monolithic,
    upload_append_chunk,
    upload_cancel,
    upload_finish,
    upload_start,
)
from registry.storage import blob_store

API_VERSION_HEADER = ("Docker-Distribution-API-Version", "registry/2.0")
_ACTION_BY_METHOD = {"GET": PULL, "HEAD": PULL, "POST": PUSH, "PUT": PUSH, "PATCH": PUSH}


class RegistryView(View):
    http_method_names = ["get", "head", "post", "put", "patch", "delete"]
    resource = ""  # what a read touches, for license decisions: manifest, blob, tags, referrers

    @classmethod
    def as_view(cls, **initkwargs):
        # Registry clients send no CSRF cookie. Exempt the view itself, not `dispatch`:
        # a subclass that overrides dispatch (RouteUnknownView) would lose a decorator on
        # it, and under the full middleware chain (test client, another WSGI entry point)
        # a write to a path that is no endpoint got Django's HTML CSRF page, not an error.
        return csrf_exempt(super().as_view(**initkwargs))

    def action(self, request) -> str:
        return _ACTION_BY_METHOD.get(request.method, DELETE)

    def dispatch(self, request, *args, **kwargs):
        try:
            handler = getattr(self, request.method.lower(), None)
            if request.method.lower() not in self.http_method_names or handler is None:
                raise Unsupported(f"{request.method} is not supported here")
            request_authorize(
                request,
                name=kwargs.get("name"),
                action=self.action(request),
                reference=kwargs.get("reference") or kwargs.get("digest"),
                resource=self.resource,
            )
            response = handler(request, *args, **kwargs)
        except RegistryError as error:
            response = error_response(error, head=request.method == "HEAD")
            if error.status == 401:
                response["WWW-Authenticate"] = bearer_challenge(request, error)
        response[API_VERSION_HEADER[0]] = API_VERSION_HEADER[1]
        return response


def request_authorize(request, *, name, action: str, reference, resource: str):
    """Who asks, and whether it may: the checks every registry request passes before its
    view runs, here and on the WSGI fast path (distr/fast_reads.py): sets and returns
    request.principal, or raises the RegistryError to answer with."""
    if name is not None:
        repository_name_validate(name)
    principal = principal_from_request(request, repository_name=name)
    request.principal = principal  # the request log names who was refused, too
    if name is not None or action == CATALOG:
        access_check(
            principal=principal,
            repository_name=name,
            action=action,
            reference=reference,
            resource=resource,
        )
    return principal


def bearer_challenge(request, error: RegistryError) -> str:
    """`Bearer realm=…,service=…[,scope=…][,error=…]` as Distribution formats it.

    One difference: a blob HEAD is the existence check a client makes before it uploads
    that blob, so its challenge asks for `pull,push`, what the push it begins will need.
    The token endpoint still grants only the intersection with what the principal holds
    (a pull token or an anonymous caller gets `pull`, enough for the HEAD), so this never
    widens anyone's access; it lets a client that fetches one token at its first challenge
    and re-sends it for the rest of a push (oras-py) hold a token that covers the push.
    See docs/authentication.md ("oras-py")."""
    realm = settings.REGISTRY_TOKEN_REALM  # configured, never the Host header (issue 12)
    challenge = f'Bearer realm="{realm}",service="{settings.REGISTRY_SERVICE}"'
    scope = error.challenge_scope
    match = getattr(request, "resolver_match", None)
    blob_head = request.method == "HEAD" and match is not None and match.url_name == "registry-blob"
    if blob_head and scope.startswith("repository:") and scope.endswith(f":{PULL}"):
        scope += f",{PUSH}"
    if scope:
        challenge += f',scope="{scope}"'
    if error.challenge_error:
        challenge += f',error="{error.challenge_error}"'
    return challenge


class BaseView(RegistryView):
    """`GET /v2/`: the API version check. Anonymous callers get the challenge that tells
    clients where to fetch a token (docker login checks exactly this)."""

    def get(self, request):
        if request.principal.is_anonymous and request.principal.granted is None:
            raise Unauthorized("authentication required")
        return JsonResponse({})

    head = get


class RouteUnknownView(RegistryView):
    def dispatch(self, request, *args, **kwargs):
        response = error_response(RouteUnknown(), head=request.method == "HEAD")
        response[API_VERSION_HEADER[0]] = API_VERSION_HEADER[1]
        return response


class CatalogView(RegistryView):
    def action(self, request) -> str:
        return CATALOG

    def get(self, request):
        n, last = pagination_parse(request)
        names, more = visible_repository_names(request.principal, n=n, last=last)
        response = JsonResponse({"repositories": names})
        if more:
            response["Link"] = next_link(request.path, n, names[-1])
        return response


class TagListView(RegistryView):
    resource = "tags"

    def get(self, request, name):
        n, last = pagination_parse(request)
        repository = selectors.repository_get(repository_name=name)
        tags, more = visible_tags_page(request.principal, repository, n=n, last=last)
        response = JsonResponse({"name": name, "tags": tags})
        if more:
            response["Link"] = next_link(request.path, n, tags[-1])
        return response


class ManifestView(RegistryView):
    resource = "manifest"

    def get(self, request, name, reference):
        headers, body = manifest_read(request, name, reference)
        return HttpResponse(body, headers=headers)

    head = get

    def put(self, request, name, reference):
        raw = _read_limited(request, settings.REGISTRY_MANIFEST_MAX_BYTES)
        manifest, parsed = manifest_put(
            vendor_id=request.principal.vendor_id,
            actor=request.principal.actor,
            repository_name=name,
            reference=reference,
            raw=raw,
            content_type=request.content_type or "",
        )
        response = HttpResponse(status=201)
        response["Location"] = f"/v2/{name}/manifests/{manifest.digest}"
        response["Docker-Content-Digest"] = manifest.digest
        if parsed.subject is not None:
            response["OCI-Subject"] = parsed.subject.digest
        return response

    def delete(self, request, name, reference):
        repository = selectors.repository_get(repository_name=name)
        if reference_outside_grammar(reference):  # nothing can be stored under it: 404
            raise ManifestUnknown(
                f"manifest {reference[:200]!r} unknown in {name}",
                detail={"reference": reference[:200]},
            )
        manifest_delete(repository=repository, reference=reference, actor=request.principal.actor)
        return HttpResponse(status=202)


class BlobView(RegistryView):
    resource = "blob"

    def get(self, request, name, digest):
        if request.method == "HEAD":  # answered from the database, storage untouched
            return HttpResponse(headers=blob_head_read(name, digest))
        parsed = digest_parse(digest)
        digest, size = selectors.blob_get_for_pull(repository_name=name, digest=parsed)
        headers = blob_headers(digest)
        return blob_store().blob_response(parsed, size, request.headers.get("Range"), headers)

    head = get

    def delete(self, request, name, digest):
        parsed = digest_parse(digest)
        repository = selectors.repository_get(repository_name=name)
        if not blob_unlink(repository=repository, digest=parsed, actor=request.principal.actor):
            raise BlobUnknown(f"blob {digest} unknown in {name}", detail={"digest": digest})
        return HttpResponse(status=202)


def manifest_read(request, name: str, reference: str) -> tuple[dict[str, str], bytes]:
    """The headers and body of a manifest GET or HEAD, and the pull it records (GET only:
    a HEAD only checks, docs/analytics.md). Shared with distr/fast_reads.py."""
    manifest = selectors.manifest_get_for_pull(repository_name=name, reference=reference)
    headers = {
        "Content-Type": manifest.media_type,
        "Content-Length": str(len(manifest.content)),
        "Docker-Content-Digest": manifest.digest,
        "ETag": f'"{manifest.digest}"',
    }
    if request.method == "HEAD":
        return headers, b""
    manifest_pulled(
        request=request,
        repository_name=name,
        reference=reference,
        digest=manifest.digest,
        index=manifest.media_type in INDEX_MEDIA_TYPES,
    )
    return headers, manifest.content


def blob_head_read(name: str, digest: str) -> dict[str, str]:
    """The headers of a blob HEAD. Shared with distr/fast_reads.py."""
    found, size = selectors.blob_get_for_pull(repository_name=name, digest=digest_parse(digest))
    return {
        "Content-Type": "application/octet-stream",
        **blob_headers(found),
        "Content-Length": str(size),
    }


class BlobUploadView(RegistryView):
    """`POST /v2/<name>/blobs/uploads/`: start an upload, upload monolithically, or mount."""

    def post(self, request, name):
        repository = repository_get_or_create(
            vendor_id=request.principal.vendor_id, repository_name=name
        )
        mounted = self._mount(request, repository)
        if mounted is not None:
            return blob_created(name, mounted.digest)
        if "digest" in request.GET:
            expected = digest_parse(request.GET["digest"])
            blob = blob_upload_monolithic(
                repository=repository,
                chunks=request_body_chunks(request),
                expected=expected,
                declared_bytes=request_content_length(request),
                actor=request.principal.actor,
            )
            return blob_created(name, blob.digest)
        upload = upload_start(
            repository=repository,
            declared_bytes=request_content_length(request),
            actor=request.principal.actor,
        )
        return upload_accepted(upload)

    def _mount(self, request, repository):
        mount, source_name = request.GET.get("mount"), request.GET.get("from")
        if not mount or not source_name:
            return None
        try:
            digest = digest_parse(mount)
            repository_name_validate(source_name)
            access_check(principal=request.principal, repository_name=source_name, action=PULL)
            source = selectors.repository_get(repository_name=source_name)
        except (DigestInvalid, NameInvalid, Unauthorized, Denied, RegistryError):
            return None  # the spec's fallback: start an ordinary upload session (202)
        return blob_mount(repository=repository, source=source, digest=digest)


class BlobUploadSessionView(RegistryView):
    """`/v2/<name>/blobs/uploads/<id>`: status, chunk, finish, cancel. All need push."""

    def action(self, request) -> str:
        return PUSH

    def get(self, request, name, upload_id):
        upload = selectors.upload_get(repository_name=name, upload_id=upload_id)
        return upload_accepted(upload, status=204)

    def patch(self, request, name, upload_id):
        upload = selectors.upload_get(repository_name=name, upload_id=upload_id)
        content_range = content_range_parse(request.headers.get("Content-Range"))
        upload = upload_append_chunk(
            upload=upload,
            chunks=request_body_chunks(request),
            content_range=content_range,
            declared_bytes=request_content_length(request),
            actor=request.principal.actor,
        )
        return upload_accepted(upload)

    def put(self, request, name, upload_id):
        upload = selectors.upload_get(repository_name=name, upload_id=upload_id)
        if "digest" not in request.GET:
            raise DigestInvalid("the digest query parameter is required to finish an upload")
        expected = digest_parse(request.GET["digest"])
        blob = upload_finish(
            upload=upload,
            chunks=request_body_chunks(request),
            expected=expected,
            declared_bytes=request_content_length(request),
            actor=request.principal.actor,
        )
        return blob_created(name, blob.digest)

    def delete(self, request, name, upload_id):
        upload = selectors.upload_get(repository_name=name, upload_id=upload_id)
        upload_cancel(upload=upload)
        return HttpResponse(status=204)


class ReferrersView(RegistryView):
    resource = "referrers"

    def get(self, request, name, digest):
        subject = digest_parse(digest)
        artifact_type = request.GET.get("artifactType", "")
        try:
            repository = selectors.repository_get(repository_name=name)
        except RegistryError:
            descriptors = []  # the spec: never 404 for referrers; nothing refers here
        else:
            descriptors = visible_referrers(
                request.principal,
                repository,
                selectors.referrer_list(
                    repository=repository, subject=subject, artifact_type=artifact_type
                ),
            )
        body = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": descriptors}
        response = HttpResponse(json.dumps(body), content_type=OCI_INDEX)
        if artifact_type:
            response["OCI-Filters-Applied"] = "artifactType"
        return response


def _read_limited(request, limit: int) -> bytes:
    length = request_content_length(request)
    if length is not None and length > limit:
        raise ManifestTooLarge(f"manifest is {length} bytes; the limit is {limit}")
    data = bytearray()
    for chunk in request_body_chunks(request, chunk_bytes=64 * 1024):
        data += chunk
        if len(data) > limit:
            raise ManifestTooLarge(f"manifest exceeds the {limit} byte limit")
    return bytes(data)
