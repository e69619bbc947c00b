"""The embedded default (no broker, no Redis): pulls land in the database outbox, and an
ingestion pass runs every ANALYTICS_EMBEDDED_INGEST_SECONDS, standing in for Celery beat.

Under gunicorn (deploy/gunicorn.conf.py) the master forks one ingesting process beside
the workers (`ingester_process_start`): a pass takes a CPU for a while, and inside a
request worker it held the GIL its request threads wait for, so that worker's rate fell
with every pass (bench/README.md). The process shares the master's preloaded pages, so it
costs little memory of its own.

Each web process also runs a daemon thread on the same interval. An flock on a file in
DATA_DIR elects who ingests: the ingesting process holds it for its whole life, so the
threads only write the events their process holds; if that process dies, the kernel
releases the lock and the next thread to try it ingests instead. Without gunicorn's master
(runserver, tests) the threads are all there is. Passes are idempotent and safe to run
side by side in any case."""

import contextlib
import fcntl
import logging
import os
import signal
import threading
from pathlib import Path

from django.conf import settings
from django.db import close_old_connections

logger = logging.getLogger(__name__)
_started = False
_lock = threading.Lock()


def ingester_ensure_started() -> None:
    global _started
    interval = settings.ANALYTICS_EMBEDDED_INGEST_SECONDS
    if _started or interval <= 0 or not settings.CELERY_TASK_ALWAYS_EAGER:
        return
    with _lock:
        if _started:
            return
        _thread = threading.Thread(
            target=_loop, args=(interval,), name="analytics-ingest", daemon=True
        )
        _thread.start()
        _started = True


def _loop(interval: float) -> None:
    from analytics.ingestion import ingest_pass

    stop = threading.Event()
    while not stop.wait(interval):
        try:
            with _one_ingester() as elected:
                if elected:
                    ingest_pass()
                else:  # another process is ingesting: hand it this process's events
                    from analytics.capture.outbox_buffer import buffer

                    buffer.flush()
        except Exception:
            logger.exception("analytics: embedded ingestion pass failed")
        finally:
            close_old_connections()


def ingester_process_start(*, close_fds: tuple[int, ...] = ()) -> int | None:
    """Fork the ingesting process; returns its pid (None when the install has a broker or
    ingestion is off). Call it from a process with no other threads (gunicorn's master, in
    when_ready, before it forks the workers). `close_fds`: the listening sockets, which the
    child must not keep open."""
    interval = settings.ANALYTICS_EMBEDDED_INGEST_SECONDS
    if interval <= 0 or not settings.CELERY_TASK_ALWAYS_EAGER:
        return None
    parent = os.getpid()
    pid = os.fork()
    if pid:
        return pid
    status = 0
    try:
        for fd in close_fds:
            os.close(fd)
        stop = threading.Event()
        for signum in (signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2, signal.SIGCHLD):
            signal.signal(signum, signal.SIG_DFL)  # the master's handlers are not ours
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT):
            signal.signal(signum, lambda *_: stop.set())
        _process_loop(interval, parent, stop)
    except BaseException:
        logger.exception("analytics: the ingesting process failed")
        status = 1
    finally:
        os._exit(status)  # never run the master's atexit handlers or return into gunicorn


def _process_loop(interval: float, parent: int, stop: threading.Event) -> None:
    from analytics.ingestion import ingest_pass

    path = Path(settings.DATA_DIR) / "analytics-ingest.lock"
    with open(path, "a+b") as handle:
        while not stop.is_set():  # a worker's thread may be in a pass: wait for it
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                stop.wait(1.0)
        logger.info("analytics: ingesting process %s elected", os.getpid())
        while not stop.wait(interval) and os.getppid() == parent:
            try:
                ingest_pass()
            except Exception:
                logger.exception("analytics: embedded ingestion pass failed")
            finally:
                close_old_connections()


@contextlib.contextmanager
def _one_ingester():
    """One ingesting process at a time per DATA_DIR (an flock): on SQLite a second one
    would only redo the same work and wait for the same write lock."""
    path = Path(settings.DATA_DIR) / "analytics-ingest.lock"
    with open(path, "a+b") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
