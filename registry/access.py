"""The one access check every registry view passes through.

`access_check(principal=…, repository_name=…, action=…, reference=…)` allows or raises
Unauthorized (no usable credentials) / Denied (authenticated, not allowed). Token
authentication and licence decisions plug in here without touching the views.
"""

from dataclasses import dataclass

from django.conf import settings

from registry.errors import Unauthorized

PULL, PUSH, DELETE, CATALOG = "pull", "push", "delete", "catalog"


@dataclass(frozen=True)
class Principal:
    kind: str  # "anonymous" until tokens arrive
    name: str = ""


ANONYMOUS = Principal(kind="anonymous")


def principal_from_request(request) -> Principal:
    return ANONYMOUS


def access_check(
    *, principal: Principal, repository_name: str | None, action: str, reference: str | None = None
) -> None:
    if action in (PULL, CATALOG):
        return
    if settings.REGISTRY_ANONYMOUS_PUSH:
        return
    scope = f"repository:{repository_name}:{action}"
    raise Unauthorized(
        f"{action} requires authentication",
        detail=[{"Type": "repository", "Name": repository_name, "Action": action}],
        headers={"WWW-Authenticate": f'Basic realm="distr",scope="{scope}"'},
    )
