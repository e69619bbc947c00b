"""Who hears about stored pulls. Ingestion tells the observers registered at start-up
(webhooks registers its `customer.first_pull` check in `WebhooksConfig.ready`), so
analytics never imports the apps above it (docs/architecture.md).

Observers run inside the ingestion batch's transaction, once per batch, with only the
events that batch newly stored (a batch delivered twice tells them nothing the second
time): what they write commits with the batch."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

PullsObserver = Callable[..., None]
_pulls_observers: list[PullsObserver] = []


@dataclass(frozen=True)
class StoredPull:
    vendor_id: int
    customer_id: int
    repository: str
    tag: str
    digest: str
    occurred_at: datetime


def pulls_observer_register(observer: PullsObserver) -> None:
    if observer not in _pulls_observers:
        _pulls_observers.append(observer)


def pulls_stored(*, pulls: list[StoredPull]) -> None:
    if not pulls:
        return
    for observer in _pulls_observers:
        observer(pulls=pulls)
