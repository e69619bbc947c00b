"""Who hears about pulls. The registry tells the observers registered at start-up
(analytics registers its capture in `AnalyticsConfig.ready`), so it never imports the
apps above it (docs/architecture.md). An observer must not raise or block: it runs inside
the manifest GET it observes."""

from collections.abc import Callable

PullObserver = Callable[..., None]
_pull_observers: list[PullObserver] = []


def pull_observer_register(observer: PullObserver) -> None:
    if observer not in _pull_observers:
        _pull_observers.append(observer)


def manifest_pulled(*, request, repository_name: str, reference: str, digest: str, index: bool):
    """A manifest GET succeeded. `index`: the manifest is an image index."""
    for observer in _pull_observers:
        observer(
            request=request,
            repository_name=repository_name,
            reference=reference,
            digest=digest,
            index=index,
        )
