"""Docker token-auth scopes: `repository:<name>:<actions>` and `registry:catalog:*`.

Grammar (distribution docs/spec/auth/scope.md): the resource type is parsed from the left
and the actions from the right, because a resource name may contain ':' (host:port).
"""

import re
from dataclasses import dataclass

_TYPE = re.compile(r"[a-z0-9]+(?:\([a-z0-9]+\))?")
_ACTION = re.compile(r"[a-z]*|\*")


@dataclass(frozen=True)
class Scope:
    type: str  # "repository" or "registry"
    name: str
    actions: frozenset[str]

    def __str__(self) -> str:
        return f"{self.type}:{self.name}:{','.join(sorted(self.actions))}"

    def as_claim(self) -> dict:
        return {"type": self.type, "name": self.name, "actions": sorted(self.actions)}


def scope_parse(value: str) -> Scope | None:
    """One resource scope, or None when malformed (ignored, as Distribution does)."""
    first, _, rest = value.partition(":")
    name, _, actions = rest.rpartition(":")
    if not first or not name or not _TYPE.fullmatch(first):
        return None
    action_set = frozenset(a for a in actions.split(",") if a)
    if not all(_ACTION.fullmatch(a) for a in action_set):
        return None
    resource_type = first.split("(")[0]  # the "(class)" suffix is deprecated and ignored
    return Scope(resource_type, name, action_set)


def scopes_parse(values: list[str]) -> list[Scope]:
    """Repeated `scope` parameters, each possibly holding several space-separated scopes."""
    scopes = []
    for value in values:
        for part in value.split():
            scope = scope_parse(part)
            if scope is not None:
                scopes.append(scope)
    return scopes
