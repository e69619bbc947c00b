"""Online garbage collection of the content store (docs/gc.md).

`gc_run` marks and sweeps while the registry serves: `marks.py` finds candidates (what no
tag, index, referrer, license or open upload still reaches, older than the grace period),
`sweep.py` re-checks each candidate under a row lock and deletes it, `runs.py` records
progress and figures in `GcRun` so a killed run is visible and the next one redoes it."""

from registry.gc.runs import GcBusy, gc_last_finished, gc_run, gc_runs_recent

__all__ = ["GcBusy", "gc_last_finished", "gc_run", "gc_runs_recent"]
