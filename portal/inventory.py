"""Read-only views of a repository's content for people (portal pages): what each tag is,
how big, for which platforms, and what is attached to it. Parsed from the stored manifest
bytes; nothing here is on a registry hot path."""

import json
from dataclasses import dataclass, field

from core.versions import tags_newest_first
from registry.models import Manifest, Repository, Tag

HELM_CONFIG = "application/vnd.cncf.helm.config.v1+json"
IMAGE_CONFIGS = {
    "application/vnd.oci.image.config.v1+json",
    "application/vnd.docker.container.image.v1+json",
}
INDEX_TYPES = {
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
}
ARTIFACT_NAMES = {
    "application/vnd.dev.cosign.artifact.sig.v1+json": "signature",
    "application/vnd.dev.sigstore.bundle.v0.3+json": "signature",
    "application/vnd.cncf.notary.signature": "signature",
    "application/spdx+json": "SBOM (SPDX)",
    "application/vnd.cyclonedx+json": "SBOM (CycloneDX)",
}


@dataclass(frozen=True)
class Descriptor:
    media_type: str
    digest: str
    size: int
    platform: str = ""


@dataclass(frozen=True)
class Attachment:
    kind: str  # "signature", "SBOM (SPDX)", or the artifact type
    digest: str


@dataclass
class ManifestSummary:
    digest: str
    media_type: str
    kind: str  # "image", "multi-platform image", "Helm chart", "artifact"
    size: int  # manifest plus everything it references, in bytes
    platforms: list[str]
    attachments: list[Attachment]
    created_at: object
    config: Descriptor | None = None
    layers: list[Descriptor] = field(default_factory=list)
    children: list[Descriptor] = field(default_factory=list)
    annotations: dict = field(default_factory=dict)


@dataclass(frozen=True)
class TagSummary:
    name: str
    pushed_at: object
    manifest: ManifestSummary


def _descriptor(raw: dict) -> Descriptor:
    platform = raw.get("platform") or {}
    text = "/".join(p for p in (platform.get("os"), platform.get("architecture")) if p)
    if platform.get("variant"):
        text += f"/{platform['variant']}"
    return Descriptor(
        media_type=str(raw.get("mediaType", "")),
        digest=str(raw.get("digest", "")),
        size=int(raw.get("size", 0) or 0),
        platform=text,
    )


def _attachment_kind(manifest: Manifest) -> str:
    kind = manifest.artifact_type
    if not kind:
        config = (_parse(manifest.content).get("config") or {}).get("mediaType", "")
        kind = config
    return ARTIFACT_NAMES.get(kind, kind or "attachment")


def _parse(content) -> dict:
    try:
        parsed = json.loads(bytes(content))
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _summarise(manifest: Manifest, by_digest: dict[str, Manifest], referrers) -> ManifestSummary:
    parsed = _parse(manifest.content)
    attachments = [
        Attachment(kind=_attachment_kind(r), digest=r.digest)
        for r in referrers.get(manifest.digest, ())
    ]
    if manifest.media_type in INDEX_TYPES or "manifests" in parsed:
        children = [_descriptor(d) for d in parsed.get("manifests", []) if isinstance(d, dict)]
        size = manifest.size
        for child in children:
            child_manifest = by_digest.get(child.digest)
            size += _image_size(child_manifest) if child_manifest is not None else child.size
        platforms = sorted(
            {c.platform for c in children if c.platform and "unknown" not in c.platform}
        )
        for child in children:  # attachments of the platform manifests count too
            attachments += [
                Attachment(kind=_attachment_kind(r), digest=r.digest)
                for r in referrers.get(child.digest, ())
            ]
        return ManifestSummary(
            digest=manifest.digest,
            media_type=manifest.media_type,
            kind="multi-platform image",
            size=size,
            platforms=platforms,
            attachments=attachments,
            created_at=manifest.created_at,
            children=children,
            annotations=parsed.get("annotations") or {},
        )
    config = _descriptor(parsed["config"]) if isinstance(parsed.get("config"), dict) else None
    layers = [_descriptor(d) for d in parsed.get("layers", []) if isinstance(d, dict)]
    if config is not None and config.media_type == HELM_CONFIG:
        kind = "Helm chart"
    elif config is not None and config.media_type in IMAGE_CONFIGS and not manifest.artifact_type:
        kind = "image"
    else:
        kind = "artifact"
    return ManifestSummary(
        digest=manifest.digest,
        media_type=manifest.media_type,
        kind=kind,
        size=_image_size(manifest),
        platforms=[],
        attachments=attachments,
        created_at=manifest.created_at,
        config=config,
        layers=layers,
        annotations=parsed.get("annotations") or {},
    )


def _image_size(manifest: Manifest) -> int:
    parsed = _parse(manifest.content)
    total = manifest.size
    config = parsed.get("config")
    if isinstance(config, dict):
        total += int(config.get("size", 0) or 0)
    total += sum(
        int(d.get("size", 0) or 0) for d in parsed.get("layers", []) if isinstance(d, dict)
    )
    return total


def tag_summaries(*, repository: Repository, tag_names=None) -> list[TagSummary]:
    """Every tag of the repository (or only `tag_names`), newest version first."""
    tags = Tag.objects.filter(repository=repository).select_related("manifest")
    if tag_names is not None:
        tags = tags.filter(name__in=list(tag_names))
    tags = list(tags)
    if not tags:
        return []
    manifests = list(Manifest.objects.filter(repository=repository))
    by_digest = {m.digest: m for m in manifests}
    referrers: dict[str, list[Manifest]] = {}
    for m in manifests:
        if m.subject_digest:
            referrers.setdefault(m.subject_digest, []).append(m)
    summaries = {
        t.name: TagSummary(
            name=t.name,
            pushed_at=t.updated_at,
            manifest=_summarise(by_digest[t.manifest.digest], by_digest, referrers),
        )
        for t in tags
    }
    order = tags_newest_first({name: summary.pushed_at for name, summary in summaries.items()})
    return [summaries[name] for name in order]


def manifest_summary(*, repository: Repository, digest: str) -> ManifestSummary | None:
    manifest = Manifest.objects.filter(repository=repository, digest=digest).first()
    if manifest is None:
        return None
    related = Manifest.objects.filter(repository=repository)
    by_digest = {m.digest: m for m in related}
    referrers: dict[str, list[Manifest]] = {}
    for m in related:
        if m.subject_digest:
            referrers.setdefault(m.subject_digest, []).append(m)
    return _summarise(manifest, by_digest, referrers)


def manifest_tags(*, repository: Repository, digest: str) -> list[str]:
    return list(
        Tag.objects.filter(repository=repository, manifest__digest=digest).values_list(
            "name", flat=True
        )
    )
