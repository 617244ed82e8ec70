"""Parameter sweeps: a grid of circuit overrides times seeds, run on a local process pool, in
this process, or on a Dask cluster; every finished run stored atomically; resumable.

Pipeline (the same for every way of running)::

    plan_sweep(circuit, grid, seeds, duration)       validate every grid point, derive run keys
      -> make_batches(runs, n_workers)               pack runs into tasks of ~0.2-1 s
      -> run_batch(task)  in a worker process        one run after another; each result is
                                                     written as DIR/runs/KEY.json when it ends
      -> collect_rows(DIR) -> DIR/results.csv        the table, assembled from the run files

Modules: :mod:`~l5sim.sweep.plan` (validation, run keys, batches), :mod:`~l5sim.sweep.store`
(the directory format, run files, manifest, lock, in-flight records),
:mod:`~l5sim.sweep.worker` (what a worker process runs), :mod:`~l5sim.sweep.backends` (local
process pool, Dask), :mod:`~l5sim.sweep.tables` (results.csv / .parquet) and
:mod:`~l5sim.sweep.run` (:func:`run_sweep`, which drives them). The figure of a sweep is
:func:`l5sim.plotting.plot_sweep` (also importable from here).

Storage (``DIR``)::

    sweep.json          manifest: the circuit (after --set), duration, keep mode, grids, seeds
    runs/KEY.json       one file per finished run (status "done" or "failed"), written atomically
    recordings/KEY/     full recordings (keep="recording" only): recording.npz + metadata.json
    results.csv         one row per run: parameters, seed, status, error, statistics, timing
    results.parquet     the same table, when pyarrow is importable
    .lock, .session     held / written by the sweep process that owns DIR
    .inflight/HOST-PID  while a local pool runs: the run each worker process is computing

``KEY`` is the first 32 hex digits of sha256 over (circuit hash after the grid point's
overrides, seed, duration, keep mode), so a run is found again whatever grid it came from.

Resume: a run whose file exists is never recomputed (failed runs neither, unless
``retry_failed``). Run files are renamed into place, so a reader sees either nothing or a whole
file; a file that does not parse (e.g. empty after a power loss) counts as missing.

Crash safety: each run is written as soon as it ends, so a killed worker or parent loses at
most the runs in flight. A local pool that loses a worker is restarted and the unfinished
batches resubmitted (finished runs are skipped); the run the dead worker was computing (from
``.inflight``) is charged with the death, and after ``max_attempts`` deaths it is recorded as
failed instead of being retried forever (a segfault, the out-of-memory killer). Dask
reschedules tasks of lost workers by itself; a task it gives up on (``KilledWorker``) is split
into single runs, and a single run it gives up on is recorded as failed.

Batch size (:func:`make_batches`): each run's cost is estimated as
``COST_PER_RUN_S + COST_PER_NEURON_STEP_S * neurons * steps``; consecutive runs are packed
until a batch reaches ``target = clamp(total / (TASKS_PER_WORKER * workers), MIN_TASK_S,
MAX_TASK_S)``, i.e. tasks of 0.2-1 s, with at least 4 tasks per worker when the sweep is
long enough for load balance. Scheduling costs ~0.3 ms (pool) to ~3 ms (Dask) per task, so it
stays below ~1-2 % of the work.
"""
from __future__ import annotations

from .backends import default_workers
from .plan import (COST_PER_NEURON_STEP_S, COST_PER_RUN_S, KEEP_MODES, MAX_TASK_S, MIN_TASK_S, TASKS_PER_WORKER,
                   SweepPlan, make_batches, parse_axes, plan_sweep, run_key)
from .run import SweepResult, run_sweep
from .store import (FORMAT, FORMAT_VERSION, MANIFEST, PARQUET, RECORDINGS_DIR, RUN_FORMAT, RUNS_DIR, TABLE, SweepError,
                    load_manifest, read_run)
from .tables import EXECUTION_COLUMNS, collect_rows, load_results, record_row, write_table

__all__ = ["COST_PER_NEURON_STEP_S", "COST_PER_RUN_S", "EXECUTION_COLUMNS", "FORMAT", "FORMAT_VERSION", "KEEP_MODES",
           "MANIFEST", "MAX_TASK_S", "MIN_TASK_S", "PARQUET", "RECORDINGS_DIR", "RUN_FORMAT", "RUNS_DIR", "TABLE",
           "TASKS_PER_WORKER", "SweepError", "SweepPlan", "SweepResult", "collect_rows", "default_workers",
           "load_manifest", "load_results", "make_batches", "parse_axes", "plan_sweep", "plot_sweep", "read_run",
           "record_row", "run_key", "run_sweep", "write_table"]


def __getattr__(name: str):
    # The figure lives in the plotting package; it is resolved on first use so that importing
    # l5sim.sweep (``l5sim --help``, worker processes) does not load matplotlib or NumPy.
    if name == "plot_sweep":
        from ..plotting import plot_sweep

        return plot_sweep
    raise AttributeError(f"module 'l5sim.sweep' has no attribute {name!r}")
