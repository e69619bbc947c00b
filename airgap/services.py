"""Writes: create a kit (freeze its selection and files), record a download, delete a kit.
Each writes its audit row in the same transaction."""

import datetime
import hashlib
import uuid

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from airgap import files
from airgap.content import Content, kit_content
from airgap.extras import kit_extra_files
from airgap.layout import Entry, Layout
from airgap.models import Kit, KitDownload, KitFile
from customers.models import AuditEvent, Customer
from customers.services import audit_record
from signing.published import jwks_url
from signing.services import signing_key_current
from signing.signatures import sign_detached

# A Range request that does not start at byte 0 continues the download its client started
# within this window (same kit, actor and address); otherwise it counts as a new one.
RESUME_WINDOW = datetime.timedelta(hours=24)


class KitInvalid(Exception):
    """A kit request that cannot be built (unknown base kit, nothing selected)."""


def registry_host() -> str:
    return settings.REGISTRY_SERVICE


def _omitted(content: Content, since: Kit | None) -> dict[str, int]:
    """Blobs the base kit holds or itself relied on, except configs (skopeo reads every
    manifest's config from the source even when the target has it)."""
    if since is None:
        return {}
    covered = {b["digest"] for b in since.blobs} | {
        b["digest"] for b in (since.request.get("omitted") or [])
    }
    return {d: s for d, s in content.blobs.items() if d in covered and d not in content.configs}


def kit_entries(kit: Kit) -> list[Entry]:
    """The tar's members in order: the inline files, then every blob sorted by path."""
    inline = list(kit.files.all())
    top = [f for f in inline if not f.name.startswith("blobs/")]
    blobs = [Entry(f.name, len(f.content), data=bytes(f.content)) for f in inline if f not in top]
    blobs += [Entry(files.blob_path(b["digest"]), b["size"], digest=b["digest"]) for b in kit.blobs]
    entries = [Entry(f.name, len(f.content), data=bytes(f.content)) for f in top]
    entries += [Entry("blobs", directory=True), Entry("blobs/sha256", directory=True)]
    return entries + sorted(blobs, key=lambda e: e.name)


def kit_layout(kit: Kit) -> Layout:
    return Layout(kit_entries(kit), mtime=int(kit.created_at.timestamp()))


def kit_create(
    *,
    customer: Customer,
    tags: list[str] | None = None,
    newest: int | None = None,
    since: Kit | None = None,
    platforms: list[str] | None = None,
    actor: str = "",
) -> Kit:
    vendor = customer.vendor
    if since is not None and (since.customer_id != customer.pk or since.vendor_id != vendor.pk):
        raise KitInvalid("a delta builds on an earlier kit of the same customer")
    content = kit_content(customer=customer, tags=tags or [], newest=newest, platforms=platforms)
    omitted = _omitted(content, since)
    streamed = {d: s for d, s in content.blobs.items() if d not in omitted}
    kit_id = str(uuid.uuid4())
    created = timezone.now().replace(microsecond=0)
    registry = registry_host()
    # A partial index cannot be pushed (registries want every child): its referrers neither.
    partial_indexes = {i.digest for i in content.images if i.selected}
    extras = kit_extra_files(vendor=vendor, customer=customer, licenses=content.licenses)
    with transaction.atomic():
        kid = signing_key_current(vendor=vendor).kid  # made on first use
        kit_json = files.kit_json(
            kit_id=kit_id,
            vendor=vendor,
            customer=customer,
            created=created.isoformat().replace("+00:00", "Z"),
            registry=registry,
            content=content,
            since=str(since.pk) if since else None,
            streamed=streamed,
            omitted=omitted,
            license_files=[name for name, _ in extras],
            kid=kid,
            jwks_url=jwks_url(vendor),
        )
        _, signature = sign_detached(vendor=vendor, data=kit_json)
        copies = [(f"{registry}/{i.repository}:{i.tag}", f"{i.repository}:{i.tag}",
                   ",".join(f"{p}={d}" for p, d in i.selected) or "-")
                  for i in content.images]  # fmt: skip
        copies += [
            (f"{registry}/{m.repository}:{files.referrer_tag(d)}",
             f"{m.repository}:{files.referrer_tag(d)}", "-")
            for d, m in sorted(content.manifests.items())
            if m.subject and m.subject not in partial_indexes
        ]  # fmt: skip
        named = [
            ("oci-layout", files.OCI_LAYOUT),
            ("index.json", files.index_json(content, registry)),
        ]
        if since is None:  # docker load needs every layer: full kits only
            named.append(("manifest.json", files.docker_manifest_json(content, registry)))
        named += [
            ("kit.json", kit_json),
            ("kit.json.sig", signature),
            ("import.sh", files.import_sh(kit_id=kit_id, since=named_since(since), copies=copies)),
            *extras,
        ]
        manifests = [(files.blob_path(d), m.content) for d, m in sorted(content.manifests.items())]
        sums = files.sha256sums(named + manifests, streamed)
        ordered = named[:2] + [("SHA256SUMS", sums)] + named[2:] + manifests
        kit = Kit(
            id=kit_id,
            vendor=vendor,
            customer=customer,
            since=since,
            created_at=created,
            created_by=actor,
            request={
                "tags": tags or [],
                "newest": newest,
                "platforms": platforms or [],
                "licenses": [lic.pk for lic in content.licenses],
                "omitted": [{"digest": d, "size": s} for d, s in sorted(omitted.items())],
            },
            images=[
                {
                    "reference": f"{registry}/{i.repository}:{i.tag}",
                    "repository": i.repository,
                    "tag": i.tag,
                    "digest": i.digest,
                    "media_type": i.media_type,
                    "platforms": i.platforms,
                    "platforms_left_out": i.left_out,
                }
                for i in content.images
            ],  # fmt: skip
            blobs=[{"digest": d, "size": s} for d, s in sorted(streamed.items())],
            total_size=0,
            etag="",
        )
        kit.save()
        KitFile.objects.bulk_create(
            KitFile(kit=kit, position=n, name=name, content=data)
            for n, (name, data) in enumerate(ordered)
        )
        kit.licenses.set(content.licenses)
        kit.total_size = kit_layout(kit).total_size
        kit.etag = '"' + hashlib.sha256(sums + kit_json).hexdigest()[:32] + '"'
        kit.save(update_fields=["total_size", "etag"])
        audit_record(
            action=AuditEvent.Action.KIT_CREATED,
            vendor=vendor,
            actor=actor,
            target=f"kit:{kit.pk}",
            details={
                "customer": customer.slug,
                "since": str(since.pk) if since else None,
                "images": [i["reference"] for i in kit.images],
                "size": kit.total_size,
                "licenses": [lic.pk for lic in content.licenses],
            },
        )
    return kit


def named_since(since: Kit | None) -> str | None:
    return str(since.pk) if since else None


def kit_download_record(
    *,
    kit: Kit,
    start: int,
    length: int,
    actor: str,
    client_address: str | None,
    user_agent: str,
) -> tuple[KitDownload, bool]:
    """The download this request belongs to, and whether it is new. A request from byte 0
    starts a download (audited, counted as a pull of every image); a later Range continues
    the latest one from the same actor and address."""
    now = timezone.now()
    with transaction.atomic():
        if start > 0:
            current = (
                KitDownload.objects.select_for_update()
                .filter(
                    kit=kit,
                    actor=actor,
                    client_address=client_address,
                    last_request_at__gte=now - RESUME_WINDOW,
                )
                .order_by("-started_at")
                .first()
            )
            if current is not None:
                current.requests += 1
                current.bytes_requested += length
                current.last_request_at = now
                current.save(update_fields=["requests", "bytes_requested", "last_request_at"])
                return current, False
        download = KitDownload.objects.create(
            kit=kit,
            vendor_id=kit.vendor_id,
            started_at=now,
            last_request_at=now,
            actor=actor[:200],
            client_address=client_address,
            user_agent=user_agent[:256],
            bytes_requested=length,
        )
        audit_record(
            action=AuditEvent.Action.KIT_DOWNLOADED,
            vendor=kit.vendor,
            actor=actor,
            target=f"kit:{kit.pk}",
            client_address=client_address,
            details={"customer": kit.customer.slug, "from_byte": start, "download": download.pk},
        )
    return download, True


def kit_delete(*, kit: Kit, actor: str = "") -> None:
    with transaction.atomic():
        target = f"kit:{kit.pk}"
        details = {"customer": kit.customer.slug, "images": [i["reference"] for i in kit.images]}
        vendor = kit.vendor
        kit.delete()
        audit_record(
            action=AuditEvent.Action.KIT_DELETED,
            vendor=vendor,
            actor=actor,
            target=target,
            details=details,
        )


def kit_preview(
    *,
    customer: Customer,
    tags: list[str] | None = None,
    newest: int | None = None,
    since: Kit | None = None,
    platforms: list[str] | None = None,
) -> dict:
    """What kit_create would put in a kit now, without creating it: images and the bytes
    to download (blobs and manifests; the tar adds a few KiB of headers and files)."""
    content = kit_content(customer=customer, tags=tags or [], newest=newest, platforms=platforms)
    omitted = _omitted(content, since)
    size = sum(s for d, s in content.blobs.items() if d not in omitted)
    size += sum(len(m.content) for m in content.manifests.values())
    return {
        "images": [f"{i.repository}:{i.tag}" for i in content.images],
        "size": size,
        "omitted": len(omitted),
        "since": since,
    }
