"""What a new kit holds: the customer's entitlement closure now, narrowed to the tags asked
for. Every manifest and blob comes from `licensing.selectors.entitlement_get`, the same
closure the registry answers pulls from, so a kit can never hold what a pull would refuse.
"""

import json
from dataclasses import dataclass, field

from django.utils import timezone

from core.versions import tags_newest_first
from customers.models import Customer
from licensing.models import License
from licensing.rules import repository_pattern_matches
from licensing.selectors import entitlement_get, license_status, licensed_repository_names
from registry.models import Blob, Manifest, Repository
from registry.selectors import repository_graph

INDEX_TYPES = {
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
}
IMAGE_CONFIG_TYPES = {
    "application/vnd.oci.image.config.v1+json",
    "application/vnd.docker.container.image.v1+json",
}


class KitEmpty(Exception):
    """Nothing the customer may pull matches the request."""


@dataclass
class ManifestItem:
    repository: str
    digest: str
    media_type: str
    content: bytes
    subject: str = ""  # for a referrer: the digest it refers to


@dataclass
class ImageItem:
    repository: str
    tag: str
    digest: str
    media_type: str
    platforms: list[str]  # of an index: the platforms in the kit, in the index's order
    manifests: set[str]  # this image's closure: the root, children, referrers
    blobs: set[str]
    left_out: list[str] = field(default_factory=list)  # platforms a filter left out
    # of a partial index: (platform, child digest) in the kit, in the index's order
    selected: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class Content:
    images: list[ImageItem] = field(default_factory=list)
    manifests: dict[str, ManifestItem] = field(default_factory=dict)  # digest -> item
    blobs: dict[str, int] = field(default_factory=dict)  # digest -> size
    configs: set[str] = field(default_factory=set)  # blobs that are manifests' configs
    licenses: list[License] = field(default_factory=list)


def _wanted(repository: str, tag: str, tags: list[str]) -> bool:
    """`tags` holds `repository:tag` or bare `tag` entries; empty means every tag."""
    return not tags or f"{repository}:{tag}" in tags or tag in tags


def _platform_name(entry: dict) -> str:
    platform = entry.get("platform") or {}
    if not (platform.get("os") and platform.get("architecture")):
        return ""
    parts = [platform["os"], platform["architecture"], platform.get("variant", "")]
    return "/".join(p for p in parts if p)


def _platforms(media_type: str, content: bytes) -> list[str]:
    if media_type not in INDEX_TYPES:
        return []
    names = (_platform_name(e) for e in json.loads(content).get("manifests", []))
    return [n for n in names if n and n != "unknown/unknown"]


def platform_matches(name: str, wanted: list[str]) -> bool:
    """`linux/arm64` matches `linux/arm64` and `linux/arm64/v8`; `linux/arm64/v8` only
    itself."""
    return any(name == w or name.startswith(w + "/") for w in wanted)


def platform_split(content: bytes, wanted: list[str]) -> tuple[list[tuple[str, str]], list[str]]:
    """An index's children under a platform filter: ([(platform, digest) kept], [platforms
    left out]). Children without a platform (artifacts) are kept; buildx attestation
    manifests (`unknown/unknown`) go with the platform manifest they describe."""
    entries = json.loads(content).get("manifests", [])
    kept, left = [], []
    for entry in entries:
        name = _platform_name(entry)
        if name and name != "unknown/unknown":
            (kept if platform_matches(name, wanted) else left).append((name, entry["digest"]))
    kept_digests = {d for _, d in kept}
    for entry in entries:
        name = _platform_name(entry)
        if not name:
            kept.append(("", entry["digest"]))
        elif name == "unknown/unknown":
            described = (entry.get("annotations") or {}).get("vnd.docker.reference.digest")
            (kept if described in kept_digests else left).append(("", entry["digest"]))
    return kept, [name for name, _ in left if name]


def _closure(root: str, graph, allowed: frozenset[str], skip=frozenset()) -> set[str]:
    """The root, its children (indexes) and referrers, only where the entitlement has them
    and the platform filter did not leave them out (`skip`)."""
    seen: set[str] = set()
    stack = [root]
    while stack:
        digest = stack.pop()
        if digest in seen or digest not in allowed or digest in skip:
            continue
        seen.add(digest)
        stack.extend(graph.children.get(digest, ()))
        stack.extend(graph.referrers.get(digest, ()))
    return seen


def kit_content(
    *, customer: Customer, tags: list[str], newest: int | None, platforms: list[str] | None = None
) -> Content:
    """`platforms` (e.g. ["linux/amd64"]) narrows multi-platform images: an index keeps
    its bytes and digest, only the selected platforms' manifests and blobs come along, and
    an index with none of them is left out. Single-platform manifests are kept."""
    content = Content()
    names = sorted(licensed_repository_names(customer_id=customer.pk))
    for name in names:
        entitlement = entitlement_get(customer_id=customer.pk, repository_name=name)
        if entitlement.denial:
            continue
        repository = Repository.objects.get(vendor_id=customer.vendor_id, name=name)
        graph = repository_graph(repository_id=repository.id)
        current = [t for t in entitlement.tags if graph.tags.get(t) in entitlement.manifests]
        chosen = [t for t in tags_newest_first(current) if _wanted(name, t, tags)]
        if newest:
            chosen = chosen[:newest]
        _add_repository(content, repository, graph, entitlement, sorted(chosen), platforms)
    if not content.images:
        raise KitEmpty("none of the tags your licenses cover matches what was asked for")
    content.blobs = dict(
        sorted(Blob.objects.filter(digest__in=content.blobs).values_list("digest", "size"))
    )
    content.licenses = _licenses(customer, {image.repository for image in content.images})
    return content


def _add_repository(
    content: Content, repository, graph, entitlement, tags: list[str], platforms=None
) -> None:
    rows = {}
    for tag in tags:
        root = graph.tags[tag]
        top = rows.get(root) or Manifest.objects.get(repository=repository, digest=root)
        rows[root] = top
        selected, left_out, skip = [], [], set()
        if platforms and top.media_type in INDEX_TYPES:
            kept, left_out = platform_split(bytes(top.content), platforms)
            selected = [(name, digest) for name, digest in kept if name]
            if not selected:
                continue  # none of the platforms asked for
            skip = set(graph.children.get(root, ())) - {d for _, d in kept}
        manifests = _closure(root, graph, entitlement.manifests, frozenset(skip))
        missing = manifests - rows.keys()
        rows.update(
            {
                m.digest: m
                for m in Manifest.objects.filter(repository=repository, digest__in=missing)
            }
        )
        blobs = {b for d in manifests for b in graph.blobs.get(d, ()) if b in entitlement.blobs}
        present = _platforms(top.media_type, bytes(top.content))
        content.images.append(
            ImageItem(
                repository=repository.name,
                tag=tag,
                digest=root,
                media_type=top.media_type,
                platforms=[p for p in present if p not in left_out],
                manifests=manifests,
                blobs=blobs,
                left_out=left_out,
                selected=selected if left_out else [],
            )
        )
        for digest in manifests:
            row = rows[digest]
            raw = bytes(row.content)
            content.manifests.setdefault(
                digest,
                ManifestItem(repository.name, digest, row.media_type, raw, row.subject_digest),
            )
            config = json.loads(raw).get("config") or {}
            if config.get("digest"):  # skopeo reads every config from the source
                content.configs.add(config["digest"])
        content.blobs.update(dict.fromkeys(blobs, 0))


def _licenses(customer: Customer, repositories: set[str]) -> list[License]:
    """The customer's active licenses with a grant covering a repository in the kit."""
    today = timezone.localdate()
    found = []
    for license in License.objects.filter(customer=customer).prefetch_related("grants"):
        if license_status(license, today) != "active":
            continue
        if any(
            repository_pattern_matches(g.repository_name, r)
            for g in license.grants.all()
            for r in repositories
        ):
            found.append(license)
    return sorted(found, key=lambda lic: lic.pk)
