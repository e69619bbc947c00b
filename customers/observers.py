"""Who hears about audited changes. `audit_record` tells the observers registered at
start-up (the webhooks app registers its outbox in `WebhooksConfig.ready`), so customers,
the bottom app, never imports the apps above it (docs/architecture.md).

An observer runs inside the transaction that writes the audit row: whatever it writes
commits or rolls back with the change. It must be quick and must not do network I/O;
an exception it raises fails the change (as any other write in the transaction would)."""

from collections.abc import Callable

AuditObserver = Callable[..., None]
_audit_observers: list[AuditObserver] = []


def audit_observer_register(observer: AuditObserver) -> None:
    if observer not in _audit_observers:
        _audit_observers.append(observer)


def audit_recorded(event) -> None:
    """An AuditEvent row was created (not yet committed)."""
    for observer in _audit_observers:
        observer(event=event)
