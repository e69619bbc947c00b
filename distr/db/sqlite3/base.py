"""SQLite with one writer queue per process: the embedded default under concurrent pushes.

SQLite lets one transaction write at a time. With `transaction_mode: IMMEDIATE` every
write transaction takes the database's write lock at `BEGIN`; a thread that finds it
taken is parked by SQLite's busy handler, which *sleeps* (1, 2, 5, 10 … up to 100 ms
between retries) instead of waking when the lock is released. With gunicorn's threads
all pushing, most of the wall time went to those sleeps: the lock was free while the
waiters slept (bench/README.md, "Pushes under concurrency").

So the threads of one process queue on a Python lock before `BEGIN IMMEDIATE` and are
handed the turn the moment the holder commits or rolls back; only the few processes
(gunicorn workers, Celery, commands) still meet in SQLite's busy handler. The lock is
taken with the busy timeout as its limit and the transaction goes ahead without it when
that passes, so a thread that waits for something another thread of the process holds
inside a transaction (a lock of its own) is never worse off than before: SQLite's
timeout decides, as it did.
"""

import os
import threading

from django.db.backends.sqlite3 import base

_writer = threading.Lock()  # one write transaction at a time per process


def _writer_renew() -> None:
    """A forked child (gunicorn's workers fork from the preloaded master) starts with no
    transaction, so with a free lock, whatever the parent's threads held at the fork."""
    global _writer
    _writer = threading.Lock()


os.register_at_fork(after_in_child=_writer_renew)


class DatabaseWrapper(base.DatabaseWrapper):
    def get_connection_params(self):
        params = super().get_connection_params()
        self._writer_timeout = float(params.get("timeout", 5))
        return params

    def _start_transaction_under_autocommit(self):
        self._holds_writer = _writer.acquire(timeout=getattr(self, "_writer_timeout", 5))
        try:
            super()._start_transaction_under_autocommit()
        except BaseException:
            self._writer_release()
            raise

    def _writer_release(self):
        if getattr(self, "_holds_writer", False):
            self._holds_writer = False
            _writer.release()

    def _commit(self):
        try:
            return super()._commit()
        finally:
            self._writer_release()

    def _rollback(self):
        try:
            return super()._rollback()
        finally:
            self._writer_release()

    def _close(self):
        try:
            return super()._close()
        finally:
            self._writer_release()
