"""deploy/gunicorn.conf.py's hooks, called as gunicorn calls them."""

import gc
import runpy
from pathlib import Path

CONF = Path(__file__).resolve().parents[2] / "deploy" / "gunicorn.conf.py"


def test_workers_fork_from_a_frozen_heap(monkeypatch, tmp_path):
    # A worker's full collections must not walk the heap the master preloaded (30-55 ms
    # pauses of every thread, and writes to every shared page).
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    conf = runpy.run_path(str(CONF))
    gc.unfreeze()
    try:
        assert gc.get_freeze_count() == 0
        conf["pre_fork"](server=None, worker=None)
        assert gc.get_freeze_count() > 10_000  # this process's modules, Django's among them
    finally:
        gc.unfreeze()
