"""Counting a registry request's SQL for query budgets."""

from analytics.models import PullEventOutbox

_OUTBOX = PullEventOutbox._meta.db_table


def request_queries(captured) -> list[str]:
    """The SQL a request ran, less the pull-event capture: tests write each captured pull at
    once (ANALYTICS_OUTBOX_BUFFER_SECONDS=0), while production batches them in memory on
    the embedded default (one write a second) and appends to a Redis stream otherwise."""
    return [q["sql"] for q in captured if _OUTBOX not in q["sql"]]
