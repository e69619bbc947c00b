"""Licensing's answer to the registry's `EntitlementPolicy` (registry/access.py): the
registry asks through this object, registered in `LicensingConfig.ready`, and never
imports licensing."""

from licensing.selectors import (
    EntitlementDenied,
    entitlement_get,
    licensed_repository_names,
    pull_check,
    repository_entitled,
)
from registry.models import Repository


class LicensePolicy:
    def denial(self, *, customer_id, repository_name, resource, reference, generations) -> str:
        try:
            pull_check(
                customer_id=customer_id,
                repository_name=repository_name,
                resource=resource,
                reference=reference,
                generations=generations,
            )
        except EntitlementDenied as exc:
            return str(exc)
        return ""

    def tags(self, *, customer_id, repository_name, generations) -> frozenset[str]:
        return entitlement_get(
            customer_id=customer_id, repository_name=repository_name, generations=generations
        ).tags

    def manifests(self, *, customer_id, repository_name, generations) -> frozenset[str]:
        return entitlement_get(
            customer_id=customer_id, repository_name=repository_name, generations=generations
        ).manifests

    def repository_names(self, *, customer_id) -> set[str]:
        return licensed_repository_names(customer_id=customer_id)

    def pinned_manifests(self, *, repository_id) -> frozenset[str]:
        repository = Repository.objects.get(pk=repository_id)
        return repository_entitled(repository=repository).manifests
