from django.db import IntegrityError, transaction

from registry.errors import Denied
from registry.models import Blob, Repository, RepositoryBlob
from registry.names import repository_name_validate


def repository_get_or_create(*, vendor_id: int, repository_name: str) -> Repository:
    """The repository a push writes into; the first push creates it in the pushing
    token's vendor (access checks have made sure the name is in that namespace)."""
    repository_name_validate(repository_name)
    repository = Repository.objects.filter(name=repository_name).first()
    if repository is not None:
        _check_owner(repository, vendor_id)
        return repository
    try:
        with transaction.atomic():
            return Repository.objects.create(vendor_id=vendor_id, name=repository_name)
    except IntegrityError:  # created concurrently by another request
        repository = Repository.objects.get(name=repository_name)
        _check_owner(repository, vendor_id)
        return repository


def _check_owner(repository: Repository, vendor_id: int) -> None:
    """Defence in depth: access checks match the namespace, which equals the owner's slug
    as long as slugs never change (the admin makes them read-only)."""
    if repository.vendor_id != vendor_id:
        raise Denied(f"repository {repository.name} belongs to another vendor")


def blob_link(*, repository: Repository, blob: Blob) -> None:
    """Make `blob` visible in `repository` (idempotent)."""
    RepositoryBlob.objects.bulk_create(
        [RepositoryBlob(repository=repository, blob=blob)], ignore_conflicts=True
    )


def blob_record(*, digest: str, size: int) -> Blob:
    """The Blob row for committed bytes; a concurrent identical upload is not an error."""
    blob, _ = Blob.objects.get_or_create(digest=digest, defaults={"size": size})
    return blob
