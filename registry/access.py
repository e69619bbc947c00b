"""Who may do what in the registry, and what each principal may see: the one module that
decides and filters.

- `access_check(principal=…, repository_name=…, action=…)` allows, or raises Unauthorized
  (no usable credentials, or a JWT that does not cover the request: 401 with a Bearer
  challenge so the client fetches a token) or Denied (authenticated, not allowed: 403).
- `grant_scopes` is the token endpoint's side of the same rules: it grants the intersection
  of what was asked and what the principal may do.
- `visible_repository_names`, `visible_tags`, `visible_referrers` filter listings. The
  registry's catalog, tags/list and referrers answers and the portal's artifact pages all
  call them, so what a customer is shown and what it can pull cannot disagree.

What a customer is entitled to inside its vendor's namespace is decided by an
`EntitlementPolicy` registered at start-up (licensing registers its own in `ready()`), so
the registry asks licensing without importing it (docs/architecture.md). With no policy
registered, customers are entitled to nothing: fail closed.
"""

from typing import Protocol

from core.globs import globs_match
from registry import selectors
from registry.auth import Principal
from registry.errors import Denied, Unauthorized
from registry.models import Repository
from registry.names import NameInvalid, repository_name_validate
from registry.scopes import Scope

PULL, PUSH, DELETE, CATALOG = "pull", "push", "delete", "catalog"
CATALOG_SCOPE = Scope("registry", "catalog", frozenset({"*"}))


def principal_actions(*, principal: Principal, repository_name: str) -> frozenset[str]:
    """What `principal` may do on `repository_name`, from its token alone."""
    namespace, _, path = repository_name.partition("/")
    own = (
        not principal.is_anonymous
        and path != ""
        and namespace == principal.vendor_slug
        and _patterns_match(principal.repository_patterns, path)
    )
    if own:
        return principal.actions
    if _repository_is_public(repository_name):
        return frozenset({PULL})
    return frozenset()


def access_check(
    *,
    principal: Principal,
    repository_name: str | None,
    action: str,
    reference: str | None = None,
    resource: str = "",
) -> None:
    if action == CATALOG:
        _check_catalog(principal)
        return
    if principal.granted is not None:
        granted = principal.granted.get(("repository", repository_name), frozenset())
        if action not in granted and "*" not in granted:
            raise _challenge(repository_name, action, insufficient=True)
    if action in principal_actions(principal=principal, repository_name=repository_name):
        if principal.kind == "pull" and _in_own_namespace(principal, repository_name):
            _license_check(principal, repository_name, resource, reference)
        return
    if principal.is_anonymous:
        raise _challenge(repository_name, action)
    raise Denied(
        f"{principal.kind} token may not {action} {repository_name}",
        detail=[{"Type": "repository", "Name": repository_name, "Action": action}],
    )


class EntitlementPolicy(Protocol):
    """What a customer may read in its vendor's namespace (licensing implements it)."""

    def denial(
        self, *, customer_id: int, repository_name: str, resource: str, reference, generations
    ) -> str:
        """Why the customer may not read `resource` at `reference`; "" when it may."""

    def tags(self, *, customer_id: int, repository_name: str, generations) -> frozenset[str]:
        """The repository's current tags the customer may pull."""

    def manifests(self, *, customer_id: int, repository_name: str, generations) -> frozenset[str]:
        """Digests of the manifests the customer may pull (tag history included)."""

    def repository_names(self, *, customer_id: int) -> set[str]:
        """Existing repositories the customer is entitled to now."""

    def pinned_manifests(self, *, repository_id: int) -> frozenset[str] | None:
        """Digests any active license entitles any customer to in the repository, tag
        history included: garbage collection keeps them (registry/gc/)."""


class _NothingEntitled:
    def denial(self, **_) -> str:
        return "no license covers this repository"

    def tags(self, **_) -> frozenset[str]:
        return frozenset()

    manifests = tags

    def repository_names(self, **_) -> set[str]:
        return set()

    def pinned_manifests(self, **_) -> None:
        return None  # unknown: garbage collection keeps every digest tag history names


_policy: EntitlementPolicy = _NothingEntitled()


def entitlement_policy_register(policy: EntitlementPolicy) -> None:
    """Called once at start-up by the app that decides entitlements (licensing)."""
    global _policy
    _policy = policy


def _filtered_by_entitlement(principal: Principal, repository: Repository) -> bool:
    """Does this principal see only part of the repository? A customer does in its
    vendor's private repositories; everyone else sees all that access_check let through."""
    return (
        principal.kind == "pull"
        and not repository.is_public
        and _in_own_namespace(principal, repository.name)
    )


def visible_repository_names(principal: Principal, *, n: int | None, last: str):
    """One page of the repositories the principal may list: (names, more)."""
    if principal.kind == "pull":  # a customer's catalog: repositories licensed to it
        names = _policy.repository_names(customer_id=principal.customer_id)
        return selectors.page_of(sorted(names), n=n, last=last)
    return selectors.repository_list(
        vendor_id=principal.vendor_id,
        namespace=principal.vendor_slug,
        patterns=principal.repository_patterns,
        n=n,
        last=last,
    )


def visible_tags(principal: Principal, repository: Repository) -> frozenset[str] | None:
    """The tags the principal may see, or None when it sees every tag."""
    if not _filtered_by_entitlement(principal, repository):
        return None
    return _policy.tags(
        customer_id=principal.customer_id,
        repository_name=repository.name,
        generations=principal.generations,
    )


def visible_tags_page(principal: Principal, repository: Repository, *, n: int | None, last: str):
    """One page of tags/list for the principal: (tags, more)."""
    tags = visible_tags(principal, repository)
    if tags is None:
        return selectors.tag_list(repository=repository, n=n, last=last)
    return selectors.page_of(sorted(tags), n=n, last=last)


def visible_referrers(principal: Principal, repository: Repository, descriptors: list[dict]):
    """The referrer descriptors whose manifests the principal may pull."""
    if not _filtered_by_entitlement(principal, repository):
        return descriptors
    allowed = _policy.manifests(
        customer_id=principal.customer_id,
        repository_name=repository.name,
        generations=principal.generations,
    )
    return [d for d in descriptors if d["digest"] in allowed]


MAX_SCOPES = 32
# Granted resource names stop here, so a JWT stays well under the 8 KB a proxy or gunicorn
# (limit_request_field_size) accepts in one header; the rest is not granted (fewer actions
# than asked is not an error: the client asks again for what the registry challenges).
MAX_GRANTED_NAME_BYTES = 2048


def grant_scopes(*, principal: Principal, scopes: list[Scope]) -> list[Scope]:
    granted = []
    budget = MAX_GRANTED_NAME_BYTES
    for scope in _merged(scopes)[:MAX_SCOPES]:
        budget -= len(scope.name)
        if budget < 0:
            break
        if scope.type == "registry" and scope.name == "catalog":
            if not principal.is_anonymous:
                granted.append(CATALOG_SCOPE)
            continue
        if scope.type != "repository" or not _name_is_valid(scope.name):
            continue
        allowed = principal_actions(principal=principal, repository_name=scope.name)
        wanted = allowed if "*" in scope.actions else scope.actions
        granted.append(Scope("repository", scope.name, frozenset(wanted & allowed)))
    return granted


def _in_own_namespace(principal: Principal, repository_name: str) -> bool:
    return repository_name.split("/", 1)[0] == principal.vendor_slug


def _license_check(principal: Principal, repository_name: str, resource: str, reference):
    """Customers read only what a license covers; the reason goes back to them."""
    reason = _policy.denial(
        customer_id=principal.customer_id,
        repository_name=repository_name,
        resource=resource,
        reference=reference,
        generations=principal.generations,  # read with the token check: one query
    )
    if not reason or _repository_is_public(repository_name):
        return  # what anyone may pull, a customer may pull too
    raise Denied(
        reason,
        detail=[{"Type": "repository", "Name": repository_name, "Action": PULL}],
        # A HEAD answer has no body: clients that resolve with HEAD (containerd) can
        # still show the reason (distribution-spec: Warning headers, code 299).
        headers={"Warning": _warning(reason)},
    )


def _warning(text: str) -> str:
    """A `Warning: 299 - "text"` value: printable ASCII, no quotes or backslashes."""
    safe = "".join(c if " " <= c <= "~" and c not in '"\\' else "'" for c in text)
    return f'299 - "{safe[:500]}"'


def _merged(scopes: list[Scope]) -> list[Scope]:
    """One scope per resource, actions united (a name asked for twice is one grant)."""
    actions: dict[tuple[str, str], frozenset[str]] = {}
    for scope in scopes:
        key = (scope.type, scope.name)
        actions[key] = actions.get(key, frozenset()) | scope.actions
    return [Scope(kind, name, acts) for (kind, name), acts in actions.items()]


def _check_catalog(principal: Principal) -> None:
    if principal.is_anonymous:
        raise Unauthorized(
            "listing the catalog requires authentication", challenge_scope="registry:catalog:*"
        )
    if principal.granted is not None and "*" not in principal.granted.get(
        ("registry", "catalog"), frozenset()
    ):
        raise Unauthorized(
            "token does not grant the catalog",
            challenge_scope="registry:catalog:*",
            challenge_error="insufficient_scope",
        )


def _challenge(repository_name: str, action: str, insufficient: bool = False) -> Unauthorized:
    # Writes need pull and push together (clients HEAD blobs before uploading them).
    actions = "pull,push" if action == PUSH else action
    return Unauthorized(
        f"{action} access to {repository_name} requires authentication"
        if not insufficient
        else f"token does not grant {action} on {repository_name}",
        detail=[{"Type": "repository", "Name": repository_name, "Action": action}],
        challenge_scope=f"repository:{repository_name}:{actions}",
        challenge_error="insufficient_scope" if insufficient else "",
    )


def _patterns_match(patterns: tuple[str, ...], path: str) -> bool:
    return not patterns or globs_match(patterns, path)


def _repository_is_public(repository_name: str) -> bool:
    return Repository.objects.filter(name=repository_name, is_public=True).exists()


def _name_is_valid(name: str) -> bool:
    try:
        repository_name_validate(name)
    except NameInvalid:
        return False
    return True


def pinned_manifests(*, repository_id: int) -> frozenset[str] | None:
    """What garbage collection must keep for licenses' sake (None: keep all tag history)."""
    return _policy.pinned_manifests(repository_id=repository_id)
