"""What garbage collection may take: candidates, found by set queries in the database.

A manifest is kept while any of these reaches it: a tag; an index that lists it (while the
index is stored); its subject (a referrer lives while its subject is stored); a license
(any digest an active license entitles through tag history, with its closure). A blob is
kept while a stored manifest references it, while an open upload's running hash is its
digest, while a registered keeper needs it (a kit that can still be downloaded), or while
its row, any of its links or its object is younger than the grace period.

Everything here is a hint: `sweep.py` checks each candidate again under a row lock before
it deletes anything, so a push that commits between the two wins.
"""

import datetime
from collections.abc import Callable, Iterable

from django.db.models import Exists, OuterRef

from registry import access
from registry.models import (
    Blob,
    Manifest,
    ManifestReference,
    RepositoryBlob,
    Tag,
    TagHistory,
    Upload,
)


def manifests_unreached(*, cutoff: datetime.datetime, after_id: int, limit: int) -> list[tuple]:
    """(id, repository id, digest, size) of manifests older than `cutoff` that no tag,
    stored index or stored subject reaches, in id order after `after_id`."""
    return list(
        Manifest.objects.filter(created_at__lt=cutoff, id__gt=after_id)
        .exclude(Exists(Tag.objects.filter(manifest=OuterRef("pk"))))
        .exclude(Exists(ManifestReference.objects.filter(child=OuterRef("pk"))))
        .exclude(
            Exists(
                Manifest.objects.filter(
                    repository=OuterRef("repository"), digest=OuterRef("subject_digest")
                )
            )
        )
        .order_by("id")
        .values_list("id", "repository_id", "digest", "size")[:limit]
    )


def manifests_freed_by(gone: set[int], *, cutoff: datetime.datetime) -> list[tuple]:
    """For a dry run, which stores nothing: manifests the removal of `gone` would leave
    unreached (children of removed indexes, referrers of removed subjects)."""
    removed = list(Manifest.objects.filter(id__in=gone).values_list("repository_id", "digest"))
    ids = set(
        ManifestReference.objects.filter(manifest_id__in=gone).values_list("child_id", flat=True)
    )
    for repository_id, digest in removed:
        ids |= set(
            Manifest.objects.filter(repository_id=repository_id, subject_digest=digest).values_list(
                "id", flat=True
            )
        )
    ids -= gone | {None}
    found = []
    for row in Manifest.objects.filter(id__in=ids, created_at__lt=cutoff).values_list(
        "id", "repository_id", "digest", "size", "subject_digest"
    ):
        manifest_id, repository_id, _digest, _size, subject = row
        if Tag.objects.filter(manifest_id=manifest_id).exists():
            continue
        if (
            ManifestReference.objects.filter(child_id=manifest_id)
            .exclude(manifest_id__in=gone)
            .exists()
        ):
            continue
        if (
            subject
            and Manifest.objects.filter(repository_id=repository_id, digest=subject)
            .exclude(id__in=gone)
            .exists()
        ):
            continue
        found.append(row[:4])
    return found


def blobs_unreferenced(
    *, cutoff: datetime.datetime, after: str, limit: int, gone: Iterable[int] = ()
) -> list[tuple[str, int]]:
    """(digest, size) of blobs no stored manifest references (but those in `gone`, for a
    dry run), whose row and links are older than `cutoff`, in digest order after `after`."""
    references = ManifestReference.objects.filter(blob=OuterRef("pk"))
    gone = list(gone)
    if gone:
        references = references.exclude(manifest_id__in=gone)
    return list(
        Blob.objects.filter(created_at__lt=cutoff, digest__gt=after)
        .exclude(Exists(references))
        .exclude(Exists(RepositoryBlob.objects.filter(blob=OuterRef("pk"), created_at__gte=cutoff)))
        .order_by("digest")
        .values_list("digest", "size")[:limit]
    )


# Others above the registry that need blobs kept (air-gap kits still downloadable): each
# keeper returns digests; registered from the owning app's AppConfig.ready(), as
# licensing registers its entitlement policy (the registry imports none of them).
_blob_keepers: list[Callable[[], Iterable[str]]] = []


def blob_keeper_register(keeper: Callable[[], Iterable[str]]) -> None:
    if keeper not in _blob_keepers:
        _blob_keepers.append(keeper)


def blobs_kept() -> set[str]:
    """Digests a registered keeper still needs, whatever references them."""
    kept: set[str] = set()
    for keeper in _blob_keepers:
        kept.update(keeper())
    return kept


def uploads_running_digests() -> set[str]:
    """Digests open uploads would commit if finished now with no more bytes (their running
    sha256): a blob with that digest stays, whatever else says."""
    return {
        f"sha256:{h}"
        for h in Upload.objects.exclude(sha256_so_far="").values_list("sha256_so_far", flat=True)
    }


class PinnedByLicense:
    """Per repository, the digests licenses entitle (asked once per run and repository)."""

    def __init__(self):
        self._pinned: dict[int, frozenset[str]] = {}

    def __contains__(self, key: tuple[int, str]) -> bool:
        repository_id, digest = key
        if repository_id not in self._pinned:
            pinned = access.pinned_manifests(repository_id=repository_id)
            if pinned is None:  # no policy registered: keep everything tag history names
                pinned = frozenset(
                    TagHistory.objects.filter(repository_id=repository_id).values_list(
                        "digest", flat=True
                    )
                )
            self._pinned[repository_id] = pinned
        return digest in self._pinned[repository_id]
