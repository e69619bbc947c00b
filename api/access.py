"""Who an API request acts for and what it may do.

The vendor comes from the token (or, for a signed-in staff user, their membership:
analytics.api.permissions.IsVendorStaff). Each view names its area (`scope_area`): a
read needs `<area>:read`, a change `<area>:write`, as customers/scopes.py decides from
the token's scopes; a signed-in user may change things when their staff role holds the
console's permission for that area (portal.tenancy.STAFF_PERMISSIONS), so the API never
lets a role do what the console refuses it. Every change is audited as the token
(`token:<prefix>`) or the user, through the request context the services read
(customers.request_context.actor)."""

import threading
import time

from django.conf import settings
from django.core.cache import cache
from rest_framework import permissions
from rest_framework.throttling import BaseThrottle

from analytics.api.authentication import ApiTokenUser
from analytics.api.permissions import IsVendorStaff
from customers.scopes import scope_allows
from customers.selectors import staff_role
from portal.tenancy import STAFF_PERMISSIONS

# The console permission a signed-in staff member needs to change each area. A view may
# name a stricter one per method in `staff_permissions` (deleting a customer: admins).
AREA_PERMISSIONS = {
    "customers": "customers.manage",
    "licenses": "licenses.manage",
    "tokens": "tokens.manage",
    "registry": "repositories.manage",
    "branding": "branding.manage",
    "webhooks": "webhooks.manage",
}


def principal_label(request) -> str:
    if isinstance(request.user, ApiTokenUser):
        return f"token:{request.user.token_prefix}"
    return f"user:{request.user.pk}"


class VendorReadWrite(IsVendorStaff):
    message = "this token or account may not make changes"

    def has_permission(self, request, view) -> bool:
        if not super().has_permission(request, view):
            return False
        write = request.method not in permissions.SAFE_METHODS
        if isinstance(request.user, ApiTokenUser):
            needed = f"{view.scope_area}:{'write' if write else 'read'}"
            self.message = f"this API token lacks the scope {needed!r}"
            return scope_allows(request.user.scopes, needed)
        if write:
            permission = getattr(view, "staff_permissions", {}).get(
                request.method
            ) or AREA_PERMISSIONS.get(view.scope_area)
            self.message = "your role may not make this change"
            role = staff_role(user=request.user, vendor=request.vendor)
            return permission is not None and role in STAFF_PERMISSIONS[permission]
        return True


class PerCallerRateThrottle(BaseThrottle):
    """API_RATE_LIMIT requests per caller (token or user) per window, counted in the shared
    cache so every process of an install shares one budget; 429 with Retry-After (the
    seconds to the next window) beyond it.

    A fixed-window counter, not DRF's SimpleRateThrottle: that keeps every request's
    timestamp of the window in one cache value, read, pickled and written back on every
    request, so its cost grows with the rate it allows. Nor a shared-cache write per
    request: on the embedded default the shared cache is a SQLite table, where such a
    write queues behind the database's single writer (bench/api.py: p99 near 1 s at ten
    concurrent clients), and with Redis it is a round trip (two: add, then incr) that cost
    a license check-in more than the rest of its work (bench/checkin.py). So each process
    adds its requests to the shared count at most every FLUSH_SECONDS or every BATCH_SHARE
    of the limit (so at every request for limits below 1/BATCH_SHARE), deciding on the
    shared count it last read plus its own since: a caller can overrun the limit by at
    most a twentieth of it per process and flush period, and a high limit costs a write
    per flush period, not one per twenty requests."""

    FLUSH_SECONDS = 0.5
    BATCH_SHARE = 1 / 20
    _lock = threading.Lock()
    _pending: dict[str, int] = {}  # this process's requests not yet in the shared count
    _shared: dict[str, tuple[int, float]] = {}  # key -> (shared count, when read)

    def __init__(self):
        self.limit, self.window = _rate(settings.API_RATE_LIMIT)
        self.retry_after = 0

    @property
    def _batch(self) -> int:
        return max(1, int(self.limit * self.BATCH_SHARE))

    def allow_request(self, request, view) -> bool:
        authenticated = request.user and request.user.is_authenticated
        ident = principal_label(request) if authenticated else f"address:{self.get_ident(request)}"
        return self._allow(ident)

    def _allow(self, ident: str) -> bool:
        now = time.time()
        window = int(now // self.window)
        key = f"api-rate:{ident}:{window}"
        count = self._count(key, now)
        if count <= self.limit:
            return True
        self.retry_after = max(1, int((window + 1) * self.window - now + 0.999))
        return False

    def _incr(self, key: str, by: int) -> int:
        if cache.add(key, by, timeout=self.window + 1):
            return by
        try:
            return cache.incr(key, by)
        except ValueError:  # expired between add and incr: a new window
            cache.add(key, by, timeout=self.window + 1)
            return by

    def _count(self, key: str, now: float) -> int:
        with self._lock:
            pending = self._pending.get(key, 0) + 1
            shared, read_at = self._shared.get(key, (0, 0.0))
            if pending < self._batch and now - read_at < self.FLUSH_SECONDS:
                self._pending[key] = pending
                return shared + pending
            self._pending[key] = 0
            # Others count on locally while this flush is out: a flush that waits (for
            # SQLite's write lock) must not send every thread after it to wait as well.
            self._shared[key] = (shared, now)
            current = int(key.rsplit(":", 1)[1])
            for old in [k for k in self._shared if int(k.rsplit(":", 1)[1]) < current]:
                self._shared.pop(old, None)  # past windows, of any caller: memory stays bounded
                self._pending.pop(old, None)
        shared = self._incr(key, pending)
        with self._lock:
            self._shared[key] = (shared, now)
            return shared + self._pending.get(key, 0)

    def wait(self) -> float:
        return self.retry_after


_PERIODS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600}
_PERIODS |= {"hour": 3600}


def _rate(text: str) -> tuple[int, int]:
    """`1200/min` -> (1200, 60)."""
    count, _, period = text.partition("/")
    return int(count), _PERIODS[period.strip().lower()]
