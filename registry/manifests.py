"""Manifest parsing and validation (pure: no database, no storage).

Supported: OCI image manifest and index (image-spec v1.1, with artifactType and subject),
Docker schema 2 manifest and manifest list.
"""

import json
from dataclasses import dataclass, field

from registry.digests import digest_parse
from registry.errors import DigestInvalid, ManifestInvalid

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
IMAGE_MEDIA_TYPES = {OCI_MANIFEST, DOCKER_MANIFEST}
INDEX_MEDIA_TYPES = {OCI_INDEX, DOCKER_LIST}
MANIFEST_MEDIA_TYPES = IMAGE_MEDIA_TYPES | INDEX_MEDIA_TYPES
OCI_IMAGE_CONFIG = "application/vnd.oci.image.config.v1+json"


@dataclass(frozen=True)
class Descriptor:
    media_type: str
    digest: str
    size: int


@dataclass
class ParsedManifest:
    media_type: str
    artifact_type: str = ""
    subject: Descriptor | None = None
    annotations: dict = field(default_factory=dict)
    blobs: list[Descriptor] = field(default_factory=list)  # config and layers
    children: list[Descriptor] = field(default_factory=list)  # index entries


def _is_external_layer(descriptor: Descriptor) -> bool:
    """Foreign / non-distributable layers are fetched from their `urls`, never pushed."""
    return "foreign" in descriptor.media_type or "nondistributable" in descriptor.media_type


def _descriptor(value, where: str) -> Descriptor:
    if not isinstance(value, dict):
        raise ManifestInvalid(f"{where} must be a descriptor object")
    media_type, digest, size = value.get("mediaType"), value.get("digest"), value.get("size")
    if not isinstance(media_type, str) or not media_type:
        raise ManifestInvalid(f"{where}.mediaType must be a non-empty string")
    if not isinstance(digest, str):
        raise ManifestInvalid(f"{where}.digest must be a string")
    try:
        digest_parse(digest)
    except DigestInvalid as exc:
        raise ManifestInvalid(f"{where}.digest: {exc.message}") from None
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise ManifestInvalid(f"{where}.size must be a non-negative integer")
    return Descriptor(media_type, digest, size)


def _media_type(document: dict, content_type: str) -> str:
    content_type = content_type.split(";")[0].strip()
    declared = document.get("mediaType")
    if declared is not None and not isinstance(declared, str):
        raise ManifestInvalid("mediaType must be a string")
    if declared and content_type and declared != content_type:
        raise ManifestInvalid(
            f"mediaType {declared!r} does not match Content-Type {content_type!r}"
        )
    media_type = declared or content_type
    if not media_type:  # OCI allows omitting mediaType; infer from the shape
        media_type = OCI_INDEX if "manifests" in document else OCI_MANIFEST
    if media_type not in MANIFEST_MEDIA_TYPES:
        raise ManifestInvalid(f"unsupported manifest media type {media_type!r}")
    return media_type


def _check_text(document) -> None:
    """Every key and string is text a database can store: no NUL (PostgreSQL text and
    jsonb refuse it) and no lone surrogate from a `\\ud800` escape (not Unicode; jsonb
    refuses it too). Iterative, so a deep document cannot exhaust the stack here."""
    stack = [document]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            stack.extend(value.keys())
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
        elif isinstance(value, str):
            if "\x00" in value:
                raise ManifestInvalid("manifest strings must not contain NUL (\\u0000)")
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise ManifestInvalid(
                    "manifest strings must be Unicode (a lone surrogate escape is not)"
                ) from None


def _refuse_constant(name: str):
    """`NaN`, `Infinity` and `-Infinity` are not JSON (RFC 8259); Python accepts them."""
    raise ManifestInvalid(f"{name} is not a JSON number")


def _object_without_duplicates(pairs: list[tuple[str, object]]) -> dict:
    """Two `mediaType`s or `layers` would mean one thing here (the last) and another to a
    client that keeps the first: refuse them, as strict parsers do."""
    document = dict(pairs)
    if len(document) != len(pairs):
        seen = set()
        for key, _ in pairs:
            if key in seen:
                raise ManifestInvalid(f"duplicate key {key[:100]!r} in manifest")
            seen.add(key)
    return document


def manifest_parse(raw: bytes, content_type: str) -> ParsedManifest:
    try:
        document = json.loads(
            raw, parse_constant=_refuse_constant, object_pairs_hook=_object_without_duplicates
        )
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ManifestInvalid(f"manifest is not valid JSON: {exc}") from None
    except RecursionError:
        raise ManifestInvalid("manifest JSON is nested too deeply") from None
    _check_text(document)
    if not isinstance(document, dict):
        raise ManifestInvalid("manifest must be a JSON object")
    version = document.get("schemaVersion")
    if not isinstance(version, int) or isinstance(version, bool) or version != 2:
        raise ManifestInvalid("schemaVersion must be the integer 2")
    media_type = _media_type(document, content_type)
    parsed = ParsedManifest(media_type=media_type)

    annotations = document.get("annotations", {})
    if not isinstance(annotations, dict) or not all(
        isinstance(v, str) for v in annotations.values()
    ):
        raise ManifestInvalid("annotations must be an object of strings")
    parsed.annotations = annotations

    artifact_type = document.get("artifactType", "")
    if not isinstance(artifact_type, str):
        raise ManifestInvalid("artifactType must be a string")
    if "subject" in document:
        parsed.subject = _descriptor(document["subject"], "subject")

    if media_type in IMAGE_MEDIA_TYPES:
        if "manifests" in document:
            raise ManifestInvalid("an image manifest cannot have 'manifests'")
        config = _descriptor(document.get("config"), "config")
        layers = document.get("layers")
        if not isinstance(layers, list):
            raise ManifestInvalid("layers must be an array")
        parsed.blobs = [config] + [
            d
            for i, item in enumerate(layers)
            if not _is_external_layer(d := _descriptor(item, f"layers[{i}]"))
        ]
        # image-spec: with no artifactType, the config media type says what this is.
        if (
            not artifact_type
            and media_type == OCI_MANIFEST
            and config.media_type != OCI_IMAGE_CONFIG
        ):
            artifact_type = config.media_type
    else:
        if "config" in document or "layers" in document:
            raise ManifestInvalid("an index cannot have 'config' or 'layers'")
        manifests = document.get("manifests")
        if not isinstance(manifests, list):
            raise ManifestInvalid("manifests must be an array")
        parsed.children = [_descriptor(item, f"manifests[{i}]") for i, item in enumerate(manifests)]
    parsed.artifact_type = artifact_type
    return parsed
