"""Who is asking, for the audit rows services write: the client address of the request
being handled in this thread (set by ops.middleware.ClientAddressMiddleware, after the
trusted-proxy rule). Services never take a request; this is how the From column of the
audit log knows the address without threading it through every call."""

from contextvars import ContextVar

client_address: ContextVar[str | None] = ContextVar("distr_client_address", default=None)

# Who acts when a service is given no user: "command:<name>" while a management command
# runs (customers.management.base.AuditedCommand sets it), "system" otherwise.
actor: ContextVar[str] = ContextVar("distr_actor", default="system")
