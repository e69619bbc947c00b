"""The small files of a kit, built once when the kit is created and kept byte for byte
(docs/airgap.md describes each): oci-layout, index.json, manifest.json (Docker's, full
kits only), kit.json, kit.json.sig, SHA256SUMS, import.sh, licenses/*."""

import hashlib
import json
from pathlib import Path

from airgap.content import IMAGE_CONFIG_TYPES, INDEX_TYPES, Content

REF_NAME = "org.opencontainers.image.ref.name"
OCI_LAYOUT = b'{"imageLayoutVersion":"1.0.0"}\n'
KIT_FORMAT = "distr.kit.v1"


def canonical(value) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def blob_path(digest: str) -> str:
    algorithm, hex_ = digest.split(":", 1)
    return f"blobs/{algorithm}/{hex_}"


def referrer_tag(digest: str) -> str:
    """The tag a referrer travels under (OCI layouts name entries by tag): sha256-<hex>."""
    return digest.replace(":", "-")


def index_json(content: Content, registry: str) -> bytes:
    """One entry per image reference, then one per referrer, each named by its full
    reference (skopeo and oras find entries by this annotation)."""
    entries = []
    for image in content.images:
        item = content.manifests[image.digest]
        entries.append(
            {
                "mediaType": image.media_type,
                "digest": image.digest,
                "size": len(item.content),
                "annotations": {REF_NAME: f"{registry}/{image.repository}:{image.tag}"},
            }
        )
    for item in sorted(content.manifests.values(), key=lambda m: (m.repository, m.digest)):
        if item.subject:
            entries.append(
                {
                    "mediaType": item.media_type,
                    "digest": item.digest,
                    "size": len(item.content),
                    "annotations": {
                        REF_NAME: f"{registry}/{item.repository}:{referrer_tag(item.digest)}"
                    },
                }
            )
    return canonical({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                      "manifests": entries})  # fmt: skip


def _docker_image(content: Content, digest: str) -> dict | None:
    """The image `docker load` takes for this manifest: itself, or an index's linux/amd64
    child (or its first image child); None for artifacts (Helm charts, signatures)."""
    item = content.manifests.get(digest)
    if item is None:
        return None
    body = json.loads(item.content)
    if item.media_type in INDEX_TYPES:
        children = body.get("manifests", [])
        children.sort(key=lambda c: (c.get("platform") or {}).get("architecture") != "amd64")
        for child in children:
            found = _docker_image(content, child["digest"])
            if found:
                return found
        return None
    config = body.get("config") or {}
    if config.get("mediaType") not in IMAGE_CONFIG_TYPES:
        return None
    return {
        "Config": blob_path(config["digest"]),
        "Layers": [blob_path(layer["digest"]) for layer in body.get("layers", [])],
    }


def docker_manifest_json(content: Content, registry: str) -> bytes:
    """Docker's manifest.json: one entry per loadable image with every tag it carries."""
    entries: dict[str, dict] = {}
    for image in content.images:
        found = _docker_image(content, image.digest)
        if found is None:
            continue
        entry = entries.setdefault(found["Config"], {**found, "RepoTags": []})
        entry["RepoTags"].append(f"{registry}/{image.repository}:{image.tag}")
    return canonical(list(entries.values()))


def kit_json(
    *,
    kit_id: str,
    vendor,
    customer,
    created: str,
    registry: str,
    content: Content,
    since: str | None,
    streamed: dict[str, int],
    omitted: dict[str, int],
    license_files: list[str],
    kid: str,
    jwks_url: str,
) -> bytes:
    images = []
    for image in content.images:
        items = [content.manifests[d] for d in image.manifests]
        size = sum(len(i.content) for i in items) + sum(content.blobs[b] for b in image.blobs)
        images.append(
            {
                "reference": f"{registry}/{image.repository}:{image.tag}",
                "repository": image.repository,
                "tag": image.tag,
                "digest": image.digest,
                "mediaType": image.media_type,
                "platforms": image.platforms,
                "platformsLeftOut": image.left_out,
                "size": size,
                "referrers": sorted(i.digest for i in items if i.subject),
            }
        )
    blobs = {**{d: len(m.content) for d, m in content.manifests.items()}, **streamed}
    return canonical(
        {
            "format": KIT_FORMAT,
            "id": kit_id,
            "vendor": {"slug": vendor.slug, "name": vendor.name},
            "customer": {"slug": customer.slug, "name": customer.name},
            "created": created,
            "registry": registry,
            "kind": "delta" if since else "full",
            "since": since,
            "licenses": [
                {
                    "id": lic.pk,
                    "name": lic.name,
                    "validFrom": lic.valid_from.isoformat(),
                    "validUntil": lic.valid_until.isoformat() if lic.valid_until else None,
                }
                for lic in content.licenses
            ],
            "images": images,
            "blobs": [{"digest": d, "size": s} for d, s in sorted(blobs.items())],
            "omittedBlobs": [{"digest": d, "size": s} for d, s in sorted(omitted.items())],
            "licenseFiles": license_files,
            "signature": {
                "file": "kit.json.sig",
                "algorithm": "Ed25519",
                "kid": kid,
                "jwks": jwks_url,
            },
        }
    )


def sha256sums(files: list[tuple[str, bytes]], streamed: dict[str, int]) -> bytes:
    """`<hex>  <path>` for every file in the tar but SHA256SUMS itself, sorted by path.
    A blob's hash is its digest: nothing is read to list it."""
    lines = {name: hashlib.sha256(data).hexdigest() for name, data in files}
    lines.update({blob_path(d): d.split(":", 1)[1] for d in streamed})
    return "".join(f"{h}  {name}\n" for name, h in sorted(lines.items())).encode()


def import_sh(*, kit_id: str, since: str | None, copies: list[tuple[str, str, str]]) -> bytes:
    """The POSIX sh importer; `copies` are (reference in the layout, repository:tag, `-`
    for the whole image or `os/arch=digest,...` for the platforms a filter kept)."""
    lines = "\n".join(f"{ref} {dest} {mode}" for ref, dest, mode in copies)
    delta_note = (
        f'DELTA="{since}"  # a delta: it leaves out blobs kit {since} (or a kit before it) held'
        if since
        else 'DELTA=""'
    )
    template = (Path(__file__).parent / "import.sh.in").read_text()
    return (
        template.replace("@KIT_ID@", kit_id)
        .replace("@DELTA@", delta_note)
        .replace("@COPIES@", lines)
        .encode()
    )
