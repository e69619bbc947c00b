"""What the registry asks `licensing` for when a customer lists things (the allow/deny
decision itself goes through `registry.access`)."""

from licensing.selectors import entitlement_get, licensed_repository_names
from registry.auth import Principal

__all__ = ["entitled_manifests", "entitled_tags", "licensed_repository_names"]


def entitled_tags(principal: Principal, repository_name: str) -> frozenset[str]:
    return entitlement_get(
        customer_id=principal.customer_id,
        repository_name=repository_name,
        generations=principal.generations,
    ).tags


def entitled_manifests(principal: Principal, repository_name: str) -> frozenset[str]:
    return entitlement_get(
        customer_id=principal.customer_id,
        repository_name=repository_name,
        generations=principal.generations,
    ).manifests
