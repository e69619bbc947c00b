"""Django's PostgreSQL backend with a health check that costs no round trip.

With CONN_HEALTH_CHECKS (distr/settings.py) Django checks a persistent connection before
its first use in each request with `SELECT 1`: a round trip to the server on every
request, as many as the registry's fast paths make for their own work
(bench/checkin.py). A PostgreSQL server that ends a session (a restart, a terminated
backend, `idle_session_timeout`) sends its FATAL message and closes the socket, so an
idle connection whose socket has nothing to read is as usable as `SELECT 1` would say;
only when there is something to read (that message, a notice) or the connection is not
idle does Django's own check run and, if it fails, reconnect.
"""

import select

from django.db.backends.postgresql import base
from psycopg.pq import TransactionStatus


class DatabaseWrapper(base.DatabaseWrapper):
    def close_if_health_check_failed(self):
        if (
            self.connection is not None
            and self.health_check_enabled
            and not self.health_check_done
            and not self.pool
            and _idle_and_quiet(self.connection)
        ):
            self.health_check_done = True
            return
        super().close_if_health_check_failed()


def _idle_and_quiet(connection) -> bool:
    """Nothing has happened to this connection since its last statement."""
    if connection.closed or connection.broken:
        return False
    if connection.info.transaction_status != TransactionStatus.IDLE:
        return False
    try:
        readable, _, _ = select.select([connection.fileno()], [], [], 0)
    except (OSError, ValueError):
        return False
    return not readable
