"""What an API token may do: its scopes, and the one rule that reads them.

A scope is `read`, `write`, or an area scope `<area>:read` / `<area>:write` for one area
of the API (customers, licenses, tokens, registry, branding, webhooks, audit, analytics). An
endpoint needs one scope, always an area scope (`licenses:write`, `analytics:read`). A
token holding

- `write` may do everything; `read` may read everything and write nothing;
- `<area>:write` may read and write that area, `<area>:read` may read it; neither
  allows anything in another area.

So `write` implies `read`, `<area>:write` implies `<area>:read`, and the global scopes
cover every area. Analytics and the audit log are read-only: there is no
`analytics:write` or `audit:write`.
"""

from collections.abc import Iterable

AREAS = (
    "customers",
    "licenses",
    "tokens",
    "registry",
    "analytics",
    "audit",
    "branding",
    "webhooks",
)
READ_ONLY_AREAS = frozenset({"analytics", "audit"})
GLOBAL_SCOPES = ("read", "write")
AREA_SCOPES = tuple(
    f"{area}:{action}"
    for area in AREAS
    for action in ("read", "write")
    if not (action == "write" and area in READ_ONLY_AREAS)
)
SCOPES = GLOBAL_SCOPES + AREA_SCOPES


class ScopeError(ValueError):
    """A scope list that is empty or names unknown scopes (message is safe to show)."""


def scopes_validate(scopes: Iterable[str]) -> list[str]:
    """The scopes, de-duplicated in vocabulary order; ScopeError when empty or unknown."""
    given = set(scopes)
    if not given:
        raise ScopeError("an API token needs at least one scope")
    unknown = given - set(SCOPES)
    if unknown:
        raise ScopeError(f"unknown scope(s): {', '.join(sorted(unknown))}")
    return [scope for scope in SCOPES if scope in given]


def scope_allows(held: Iterable[str], required: str) -> bool:
    """Whether a token holding `held` may do what `required` (`<area>:<action>`) names."""
    area, _, action = required.partition(":")
    if area not in AREAS or action not in ("read", "write"):
        raise ValueError(f"not an area scope: {required!r}")
    held = set(held)
    if "write" in held or f"{area}:write" in held:
        return True
    return action == "read" and ("read" in held or f"{area}:read" in held)
