"""Manifest push and delete, tag moves, blob unlinking."""

from django.db import IntegrityError, transaction
from django.utils import timezone

from core.changes import repository_changed
from customers.models import AuditEvent
from customers.services import audit_record
from registry.digests import Digest, digest_parse, hasher_new
from registry.errors import (
    ContentInUse,
    Denied,
    DigestInvalid,
    ManifestBlobUnknown,
    ManifestInvalid,
    ManifestUnknown,
    TagImmutable,
)
from registry.immutability import immutable_refusal_record, immutable_refuse_if_covered
from registry.manifests import ParsedManifest, manifest_parse
from registry.models import (
    Manifest,
    ManifestReference,
    Repository,
    RepositoryBlob,
    Tag,
    TagHistory,
)
from registry.names import reference_is_digest, tag_validate
from registry.services.repositories import repository_get_or_create
from registry.usage import quota_refuse_if_over


def manifest_put(
    *,
    vendor_id: int,
    repository_name: str,
    reference: str,
    raw: bytes,
    content_type: str,
    actor: str = "",
) -> tuple[Manifest, ParsedManifest]:
    """Store a manifest pushed by tag or by digest.

    The digest is computed over the raw bytes (served back unchanged). Every blob the
    manifest references and every child of an index must already be in the repository.
    """
    if reference_is_digest(reference):
        claimed = digest_parse(reference)
        digest = _digest_of(raw, claimed.algorithm)
        if digest != claimed:
            raise DigestInvalid(
                f"manifest digest {digest} does not match reference {reference}",
                detail={"expected": reference, "actual": str(digest)},
            )
        tag = None
    else:
        tag = tag_validate(reference)
        digest = _digest_of(raw, "sha256")
    parsed = manifest_parse(raw, content_type)
    repository = Repository.objects.filter(name=repository_name).first()
    if repository is not None and repository.vendor_id != vendor_id:
        raise Denied(f"repository {repository_name} belongs to another vendor")
    if repository is None and (parsed.blobs or parsed.children):
        missing = (parsed.blobs or parsed.children)[0].digest
        raise ManifestBlobUnknown(
            f"blob {missing} is not in repository {repository_name}", detail={"digest": missing}
        )
    repository = repository or repository_get_or_create(
        vendor_id=vendor_id, repository_name=repository_name
    )
    quota_refuse_if_over(repository=repository, incoming=0, actor=actor)
    try:
        return _manifest_store(repository, digest, parsed, raw, tag, actor)
    except TagImmutable as error:  # rolled back; the refusal's audit row must stay
        immutable_refusal_record(repository=repository, error=error, actor=actor)
        raise


def _manifest_store(repository, digest, parsed, raw, tag, actor):
    with transaction.atomic():
        blob_ids = _check_blobs_present(repository, parsed)
        children = _check_children_present(repository, parsed)
        manifest, created = Manifest.objects.get_or_create(
            repository=repository,
            digest=str(digest),
            defaults={
                "media_type": parsed.media_type,
                "artifact_type": parsed.artifact_type,
                "subject_digest": parsed.subject.digest if parsed.subject else "",
                "annotations": parsed.annotations,
                "size": len(raw),
                "content": raw,
            },
        )
        if created:
            ManifestReference.objects.bulk_create(
                [ManifestReference(manifest=manifest, blob_id=b) for b in blob_ids]
                + [ManifestReference(manifest=manifest, child=c) for c in children]
            )
            _audit(
                repository,
                AuditEvent.Action.MANIFEST_PUSHED,
                actor,
                manifest.digest,
                {  # what the artifact.pushed webhook reports (docs/webhooks.md)
                    "repository": repository.name,
                    "digest": manifest.digest,
                    "tag": tag or "",
                    "media_type": manifest.media_type,
                    "artifact_type": manifest.artifact_type,
                    "size": manifest.size,
                },
            )
        moved = tag is not None and _tag_point(
            repository=repository, name=tag, manifest=manifest, actor=actor
        )
        if created or moved:
            # Once, and the last statement before the commit: the generation row is the
            # one row every push into this repository writes, so its lock is held only
            # for the commit (bench/README.md, "Pushes under concurrency"). After the
            # tag: every writer locks the tag row before the generation row, else two
            # pushes to one tag can deadlock.
            repository_changed(repository_name=repository.name)
    return manifest, parsed


def _tag_point(*, repository: Repository, name: str, manifest: Manifest, actor: str) -> bool:
    """Point tag `name` at `manifest`: one row update, audited when it changes. Returns
    whether it changed (the caller then bumps the repository's generation).

    An existing tag row is locked, so concurrent moves queue and each closes the history
    row the previous one opened. A new tag has no row to lock: concurrent first pushes
    all insert, and all but one hit the unique constraint (PostgreSQL makes them wait for
    the winner's commit first). The losers roll back to a savepoint and take the
    winner's row as an existing tag.
    """
    for _ in range(3):  # a tag deleted between the failed insert and the lock: insert again
        current = Tag.objects.select_for_update().filter(repository=repository, name=name).first()
        if current is not None:
            break
        try:
            with transaction.atomic():
                Tag.objects.create(repository=repository, name=name, manifest=manifest)
        except IntegrityError:
            continue
        previous = ""
        break
    else:
        raise IntegrityError(f"tag {name} kept changing under a push")  # not seen in practice
    now = timezone.now()
    if current is not None:
        if current.manifest_id == manifest.id:
            return False  # the identical digest again: allowed even on an immutable tag
        immutable_refuse_if_covered(repository=repository, tag=name, doing="be moved")
        previous = current.manifest.digest
        current.manifest = manifest
        current.save(update_fields=["manifest", "updated_at"])
        _history_close(repository, name, now)
    TagHistory.objects.create(repository=repository, tag=name, digest=manifest.digest, since=now)
    _audit(
        repository,
        AuditEvent.Action.TAG_MOVED,
        actor,
        f"{name}",
        {"repository": repository.name, "tag": name, "from": previous, "to": manifest.digest},
    )
    return True


def _history_close(repository: Repository, tag: str, when) -> None:
    TagHistory.objects.filter(repository=repository, tag=tag, until__isnull=True).update(until=when)


def _audit(repository: Repository, action: str, actor: str, what: str, details=None) -> None:
    audit_record(
        vendor=repository.vendor,
        action=action,
        actor=actor,
        target=f"{repository.name}:{what}" if ":" not in what else f"{repository.name}@{what}",
        details=details,
    )


def manifest_delete(*, repository: Repository, reference: str, actor: str = "") -> None:
    """By digest: delete the manifest and every tag on it. By tag: remove only the tag.
    Refused (TagImmutable) when an immutable-tag rule covers the tag, or any tag on the
    manifest."""
    try:
        _manifest_delete(repository, reference, actor)
    except TagImmutable as error:
        immutable_refusal_record(repository=repository, error=error, actor=actor)
        raise


def _manifest_delete(repository: Repository, reference: str, actor: str) -> None:
    with transaction.atomic():
        if reference_is_digest(reference):
            digest_parse(reference)
            tags = list(
                Tag.objects.filter(repository=repository, manifest__digest=reference).values_list(
                    "name", flat=True
                )
            )
            # Locked, so an index push that would name it as a child waits for this
            # decision (and then finds it gone) instead of racing it.
            manifest = (
                Manifest.objects.select_for_update()
                .filter(repository=repository, digest=reference)
                .first()
            )
            if manifest is not None:
                _refuse_if_referenced(repository, manifest)
                for tag in tags:
                    immutable_refuse_if_covered(repository=repository, tag=tag, doing="be deleted")
            deleted, _ = Manifest.objects.filter(repository=repository, digest=reference).delete()
            for tag in tags:
                _history_close(repository, tag, timezone.now())
            action = AuditEvent.Action.MANIFEST_DELETED
        else:
            tag_validate(reference)
            if Tag.objects.filter(repository=repository, name=reference).exists():
                immutable_refuse_if_covered(
                    repository=repository, tag=reference, doing="be deleted"
                )
            deleted, _ = Tag.objects.filter(repository=repository, name=reference).delete()
            _history_close(repository, reference, timezone.now())
            action = AuditEvent.Action.TAG_DELETED
        if not deleted:
            raise ManifestUnknown(f"manifest {reference[:200]!r} unknown in {repository.name}")
        details = {"repository": repository.name}
        details.update({"digest": reference} if ":" in reference else {"tag": reference})
        _audit(repository, action, actor, reference, details)
        repository_changed(repository_name=repository.name)


def blob_unlink(*, repository: Repository, digest: Digest, actor: str = "") -> bool:
    """Remove a blob from a repository. Bytes stay in storage until garbage collection
    (later issue) finds no repository links them."""
    with transaction.atomic():
        # Locked like the push that checks this link (_check_blobs_present), so a manifest
        # that references the blob cannot commit between this check and the delete.
        link = (
            RepositoryBlob.objects.select_for_update()
            .filter(repository=repository, blob_id=str(digest))
            .first()
        )
        if link is None:
            return False
        users = list(
            ManifestReference.objects.filter(manifest__repository=repository, blob_id=str(digest))
            .order_by("manifest__digest")
            .values_list("manifest__digest", flat=True)
            .distinct()[:_NAMED]
        )
        if users:
            raise ContentInUse(
                f"blob {digest} is used by manifest {users[0]} in {repository.name}"
                f"{_tags_clause(repository, users[0])}; delete the manifest first",
                detail={"digest": str(digest), "referenced_by": users},
                headers=_ALLOW,
            )
        deleted, _ = link.delete()
        if deleted:
            _audit(repository, AuditEvent.Action.BLOB_DELETED, actor, str(digest))
            repository_changed(repository_name=repository.name)
    return bool(deleted)


_NAMED = 5  # referencing manifests named in a refusal's detail
_ALLOW = {"Allow": "GET, HEAD"}  # a 405 names what the resource still allows (RFC 9110)


def _tags_clause(repository: Repository, digest: str) -> str:
    tags = list(
        Tag.objects.filter(repository=repository, manifest__digest=digest)
        .order_by("name")
        .values_list("name", flat=True)[:_NAMED]
    )
    return f" (tagged {', '.join(tags)})" if tags else ""


def _refuse_if_referenced(repository: Repository, manifest: Manifest) -> None:
    """An index's child cannot go while the index is stored: the index (and every tag on
    it) would name a manifest no client can fetch. Referrers (a `subject`) do not count:
    the spec lets a subject go before its signatures and SBOMs."""
    parents = list(
        ManifestReference.objects.filter(child=manifest)
        .order_by("manifest__digest")
        .values_list("manifest__digest", flat=True)
        .distinct()[:_NAMED]
    )
    if parents:
        raise ContentInUse(
            f"manifest {manifest.digest} is a child of index {parents[0]} in "
            f"{repository.name}{_tags_clause(repository, parents[0])}; delete the index first",
            detail={"digest": manifest.digest, "referenced_by": parents},
            headers=_ALLOW,
        )


def _digest_of(raw: bytes, algorithm: str) -> Digest:
    hasher = hasher_new(algorithm)
    hasher.update(raw)
    return Digest(algorithm, hasher.hexdigest())


def _check_blobs_present(repository: Repository, parsed: ParsedManifest) -> list[str]:
    wanted = {d.digest: d for d in parsed.blobs}
    if not wanted:
        return []
    # FOR UPDATE on the links (not the shared blob rows): a concurrent blob delete in
    # this repository waits for this push, then sees the new references and refuses.
    present = dict(
        RepositoryBlob.objects.select_for_update(of=("self",), no_key=True)
        .filter(repository=repository, blob_id__in=wanted)
        .order_by("blob_id")  # one order for every push: pushes sharing layers never deadlock
        .values_list("blob_id", "blob__size")
    )
    for digest, descriptor in wanted.items():
        if digest not in present:
            raise ManifestBlobUnknown(
                f"blob {digest} is not in repository {repository.name}",
                detail={"digest": digest},
            )
        if present[digest] != descriptor.size:
            raise ManifestInvalid(
                f"blob {digest} has size {present[digest]}, manifest says {descriptor.size}",
                detail={"digest": digest},
            )
    return list(wanted)


def _check_children_present(repository: Repository, parsed: ParsedManifest) -> list[Manifest]:
    wanted = {d.digest for d in parsed.children}
    if not wanted:
        return []
    children = list(
        Manifest.objects.select_for_update(no_key=True)
        .filter(repository=repository, digest__in=wanted)
        .order_by("digest")
    )
    missing = wanted - {c.digest for c in children}
    if missing:
        digest = sorted(missing)[0]
        raise ManifestBlobUnknown(
            f"manifest {digest} is not in repository {repository.name}",
            detail={"digest": digest},
        )
    return children
