"""Delete candidates, each checked again under a row lock (docs/gc.md, "Protocol").

One short transaction per batch: lock the candidates' rows (`SKIP LOCKED`: a row a push
holds is left for the next run, so GC never waits on a push), check again that nothing
reaches them, delete the storage objects, then the rows, and commit. A push that locked
first wins; a push that comes second finds the rows gone and answers
MANIFEST_BLOB_UNKNOWN (or fails its link's foreign key), never a manifest whose bytes
are missing. SQLite has one writer: the transaction itself is the lock there.

A process killed inside a batch rolls the rows back; objects it had already deleted
leave rows that are still garbage, which the next run deletes.
"""

import datetime
from dataclasses import dataclass, field

from django.db import transaction

from core.changes import repository_changed
from registry.digests import digest_parse
from registry.gc.marks import PinnedByLicense
from registry.models import Blob, Manifest, ManifestReference, Repository, RepositoryBlob, Tag
from registry.storage import blob_store


@dataclass
class Swept:
    freed: int = 0
    bytes: int = 0
    busy: int = 0
    by_vendor: dict[int, int] = field(default_factory=dict)
    names: list[str] = field(default_factory=list)  # what went (or would go), for a dry run
    ids: set[int] = field(default_factory=set)  # manifests freed (a dry run's "gone")

    def add_vendor(self, vendor_id: int, size: int) -> None:
        self.by_vendor[vendor_id] = self.by_vendor.get(vendor_id, 0) + size


def manifests_sweep(
    candidates: list[tuple], *, cutoff: datetime.datetime, dry_run: bool, gone: set[int]
) -> Swept:
    swept = Swept()
    pinned = PinnedByLicense()  # asked afresh for every batch: a license granted mid-run counts
    ids = [c[0] for c in candidates]
    with transaction.atomic():
        query = Manifest.objects.filter(id__in=ids)
        if not dry_run:
            query = query.select_for_update(skip_locked=True, of=("self",))
        locked = {m.id: m for m in query.select_related("repository").defer("content")}
        swept.busy = len(ids) - len(locked)
        doomed = [m for m in locked.values() if _manifest_unreached(m, cutoff, pinned, gone)]
        for manifest in doomed:
            swept.freed += 1
            swept.bytes += manifest.size
            swept.add_vendor(manifest.repository.vendor_id, manifest.size)
            swept.names.append(f"{manifest.repository.name}@{manifest.digest}")
            swept.ids.add(manifest.id)
        if doomed and not dry_run:
            Manifest.objects.filter(id__in=[m.id for m in doomed]).delete()
            for name in sorted({m.repository.name for m in doomed}):
                repository_changed(repository_name=name)
    return swept


def _manifest_unreached(manifest: Manifest, cutoff, pinned: PinnedByLicense, gone) -> bool:
    if manifest.created_at >= cutoff:
        return False
    if (manifest.repository_id, manifest.digest) in pinned:
        return False
    if Tag.objects.filter(manifest_id=manifest.id).exists():
        return False
    parents = ManifestReference.objects.filter(child_id=manifest.id)
    if parents.exclude(manifest_id__in=gone).exists():
        return False
    if manifest.subject_digest:
        subject = Manifest.objects.filter(
            repository_id=manifest.repository_id, digest=manifest.subject_digest
        )
        if subject.exclude(id__in=gone).exists():
            return False
    return True


def blobs_sweep(
    candidates: list[tuple[str, int]],
    *,
    cutoff: datetime.datetime,
    dry_run: bool,
    gone: set[int],
    kept: set[str],
) -> Swept:
    swept = Swept()
    store = blob_store()
    digests = [d for d, _ in candidates]
    with transaction.atomic():
        blobs = Blob.objects.filter(digest__in=digests)
        links = RepositoryBlob.objects.filter(blob_id__in=digests)
        if not dry_run:
            blobs = blobs.select_for_update(skip_locked=True)
            links = links.select_for_update(skip_locked=True, of=("self",))
        locked = {b.digest: b for b in blobs}
        link_rows = list(links.values_list("id", "blob_id", "created_at", "repository_id"))
        all_links: dict[str, int] = {}
        for blob_id in RepositoryBlob.objects.filter(blob_id__in=digests).values_list(
            "blob_id", flat=True
        ):
            all_links[blob_id] = all_links.get(blob_id, 0) + 1
        held: dict[str, list] = {}
        for row in link_rows:
            held.setdefault(row[1], []).append(row)
        referenced = set(
            ManifestReference.objects.filter(blob_id__in=digests)
            .exclude(manifest_id__in=gone)
            .values_list("blob_id", flat=True)
        )
        doomed = []
        for digest in digests:
            blob = locked.get(digest)
            mine = held.get(digest, [])
            if blob is None or len(mine) != all_links.get(digest, 0):
                swept.busy += 1  # a push holds it (or it is already gone)
                continue
            if (
                digest in referenced
                or digest in kept
                or blob.created_at >= cutoff
                or any(created >= cutoff for _, _, created, _ in mine)
            ):
                continue
            modified = store.blob_modified_at(digest_parse(digest))
            if modified is not None and modified >= cutoff:  # bytes just written again
                continue
            doomed.append((blob, mine))
        vendors = dict(
            Repository.objects.filter(
                id__in={r for _, rows in doomed for *_, r in rows}
            ).values_list("id", "vendor_id")
        )
        for blob, mine in doomed:
            swept.freed += 1
            swept.bytes += blob.size
            swept.names.append(blob.digest)
            for vendor_id in {vendors[r] for *_, r in mine}:
                swept.add_vendor(vendor_id, blob.size)
        if doomed and not dry_run:
            names = set(
                Repository.objects.filter(
                    id__in={r for _, rows in doomed for *_, r in rows}
                ).values_list("name", flat=True)
            )
            store.blobs_delete([digest_parse(b.digest) for b, _ in doomed])
            RepositoryBlob.objects.filter(
                id__in=[r[0] for _, rows in doomed for r in rows]
            ).delete()
            Blob.objects.filter(digest__in=[b.digest for b, _ in doomed]).delete()
            for name in sorted(names):
                repository_changed(repository_name=name)
    return swept


def orphan_objects_sweep(
    objects: list[tuple[str, int, datetime.datetime]], *, cutoff, dry_run: bool
) -> Swept:
    """Objects with no Blob row (an upload process killed between renaming its bytes
    onto the blob key and recording the row), older than the grace period."""
    swept = Swept()
    store = blob_store()
    known = set(
        Blob.objects.filter(digest__in=[d for d, _, _ in objects]).values_list("digest", flat=True)
    )
    orphans = [(d, s) for d, s, modified in objects if d not in known and modified < cutoff]
    if not orphans:
        return swept
    # Checked once more just before deleting: an upload records its row right after the
    # rename, so a row that appeared since the listing means the bytes are live.
    with transaction.atomic():
        known = set(
            Blob.objects.select_for_update()
            .filter(digest__in=[d for d, _ in orphans])
            .values_list("digest", flat=True)
        )
        orphans = [(d, s) for d, s in orphans if d not in known]
        if not dry_run:
            store.blobs_delete([digest_parse(d) for d, _ in orphans])
    swept.freed = len(orphans)
    swept.bytes = sum(s for _, s in orphans)
    swept.names = [d for d, _ in orphans]
    return swept
