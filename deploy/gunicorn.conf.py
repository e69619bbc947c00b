"""gunicorn settings for distr (used by `make run` and deploy/).

Threaded workers keep connections alive and let one slow blob upload not block other
requests; blob downloads go out through sendfile, so a worker's memory stays flat.
"""

import contextlib
import gc
import glob
import multiprocessing
import os
import signal
import sys
import tempfile

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"


# One process per core: request handling is CPU-bound Python (one GIL per process); the
# threads cover slow clients and I/O. More processes only add ~45 MiB of RSS each.
def _cpus() -> int:
    """CPUs this container may use: the cgroup v2 quota when there is one (cpu_count()
    reports the host's cores, which overcommits a pod limited to one or two)."""
    try:
        quota, period = open("/sys/fs/cgroup/cpu.max").read().split()
        if quota != "max":
            return max(1, int(int(quota) / int(period) + 0.5))
    except (OSError, ValueError):
        pass
    if hasattr(os, "sched_getaffinity"):  # cpusets (docker --cpuset-cpus, taskset)
        return len(os.sched_getaffinity(0))
    return multiprocessing.cpu_count()


workers = int(os.environ.get("WEB_CONCURRENCY", _cpus()))
worker_class = "ops.gthread.GuardedThreadWorker"  # gthread, guarded against slow clients
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
keepalive = 75
# Load Django once in the master: workers share its pages copy-on-write.
preload_app = True
# Long uploads (1 GiB at client speed) must not be cut off by the worker timeout.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "600"))
graceful_timeout = 30
# distr logs every request itself (ops.middleware, JSON with LOG_FORMAT=json); gunicorn's
# access log would say the same thing twice. GUNICORN_ACCESS_LOG=- turns it back on.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "") or None
errorlog = "-"
# The control socket has one default path per user: two instances on one host would
# fight over it, and distr does not use it.
control_socket_disable = True
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")

# Prometheus multiprocess mode: every worker writes its metrics to files in this directory
# and /metrics sums them. It must exist before the app is loaded (preload_app) and start
# empty, or counters of a previous run would be added in.
_metrics_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or tempfile.mkdtemp(
    prefix="distr-metrics-"
)
os.makedirs(_metrics_dir, exist_ok=True)
for _stale in glob.glob(os.path.join(_metrics_dir, "*.db")):  # only prometheus' own files
    os.unlink(_stale)
os.environ["PROMETHEUS_MULTIPROC_DIR"] = _metrics_dir


def _freeze_heap() -> None:
    """Move everything the master has loaded (Django, the apps, their modules) into the
    collector's permanent generation before a fork. A worker's full collections then scan
    only what it made itself: unfrozen, each one walked the whole preloaded heap, 30-55 ms
    with every thread of the worker stopped (the API's p99, bench/README.md), and wrote
    to every page it walked, undoing copy-on-write sharing with the master."""
    gc.collect()
    gc.freeze()


def pre_fork(server, worker):
    _freeze_heap()


def when_ready(server):
    """Before the first worker: fork the process that ingests pull events on an install
    without a broker (analytics/capture/embedded.py), off the request workers' GIL."""
    if "django" not in sys.modules:  # preload_app off: the workers' threads ingest instead
        return
    _freeze_heap()
    from analytics.capture.embedded import ingester_process_start

    pid = ingester_process_start(close_fds=tuple(s.fileno() for s in server.LISTENERS))
    if pid:
        server.log.info("analytics ingester started (pid %s)", pid)
        _children.append(pid)


def on_exit(server):
    for pid in _children:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGTERM)


_children: list[int] = []


def child_exit(server, worker):
    """A worker's live gauges go with it; its counters stay counted."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
