"""The one access decision every registry request passes through.

`access_check(principal=…, repository_name=…, action=…)` allows, or raises Unauthorized
(no usable credentials, or a JWT that does not cover the request: 401 with a Bearer
challenge so the client fetches a token) or Denied (authenticated, not allowed: 403).
`grant_scopes` is the token endpoint's side of the same rules: it grants the intersection
of what was asked and what the principal may do.
"""

from licensing.selectors import EntitlementDenied, pull_check
from registry.auth import Principal
from registry.errors import Denied, Unauthorized
from registry.globs import globs_match
from registry.models import Repository
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
    try:
        pull_check(
            customer_id=principal.customer_id,
            repository_name=repository_name,
            resource=resource,
            reference=reference,
            generations=principal.generations,  # read with the token check: one query
        )
    except EntitlementDenied as exc:
        if _repository_is_public(repository_name):
            return  # what anyone may pull, a customer may pull too
        raise Denied(
            str(exc),
            detail=[{"Type": "repository", "Name": repository_name, "Action": PULL}],
            # A HEAD answer has no body: clients that resolve with HEAD (containerd) can
            # still show the reason (distribution-spec: Warning headers, code 299).
            headers={"Warning": _warning(str(exc))},
        ) from None


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
    from registry.names import NameInvalid, repository_name_validate

    try:
        repository_name_validate(name)
    except NameInvalid:
        return False
    return True
