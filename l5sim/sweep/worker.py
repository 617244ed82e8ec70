"""What runs inside a worker process: one batch of runs after another, each run built,
simulated and summarised, and its record written to ``DIR/runs/KEY.json`` as soon as it ends.

:func:`run_batch` is the task every backend submits (:mod:`l5sim.sweep.backends`); the serial
scheduler calls it in the sweep's own process. :func:`init_pool_worker` is the initialiser of
local pool processes.
"""
from __future__ import annotations

import math
import os
import socket
import sys
import time
import traceback
from pathlib import Path

from .store import (FORMAT_VERSION, RECORDINGS_DIR, RUN_FORMAT, RUNS_DIR, clear_own_inflight, dump_record, jsonable,
                    read_run, session_current, set_inflight, write_file_atomic)

#: State of this worker process: its id, kernel warm-up, and the specs of recent grid points.
_WORKER = {"id": None, "warmups": 0, "warm_s": 0.0, "specs": {}}
#: Grid-point specs kept per process (oldest dropped first).
SPEC_CACHE_SIZE = 64
#: Seconds between checks that this batch's sweep still owns DIR (``DIR/.session``).
SESSION_CHECK_S = 1.0


def _worker_id() -> str:
    if _WORKER["id"] is None:
        _WORKER["id"] = f"{socket.gethostname()}:{os.getpid()}"
    return _WORKER["id"]


def _point_spec(task, run):
    """The run's spec, built once per grid point in each process (cached by circuit hash)."""
    known = task.get("specs")          # the serial scheduler passes the plan's specs along
    if known and run["circuit_hash"] in known:
        return known[run["circuit_hash"]]
    cache = _WORKER["specs"]
    spec = cache.get(run["circuit_hash"])
    if spec is None:
        from ..spec import apply_overrides, from_dict

        spec = from_dict(apply_overrides(task["base"], run["params"]), source=task.get("source"))
        if len(cache) >= SPEC_CACHE_SIZE:
            cache.pop(next(iter(cache)))
        cache[run["circuit_hash"]] = spec
    return spec


def ensure_warm(base: dict, source=None) -> None:
    """Load (or compile, the first time on this machine) the kernels once per process, with a
    few steps of the sweep's circuit; later runs in this process reuse them."""
    if _WORKER["warmups"]:
        return
    t0 = time.perf_counter()
    from .. import build, simulate
    from ..spec import from_dict

    try:
        spec = from_dict(base, source=source)
        simulate(build(spec, seed=0), 20 * spec.dt_ms, seed=0, progress=False)
    except Exception:   # the runs themselves will report whatever is wrong
        pass
    _WORKER["warmups"] += 1
    _WORKER["warm_s"] = time.perf_counter() - t0


def one_thread() -> None:
    """Workers are processes: each runs its simulations on one thread (no oversubscription
    of the machine), through the process-wide thread policy: after
    :func:`l5sim.threads.set_worker_threads` every ``simulate(parallel=None)`` of this
    process chooses one thread, whatever the machine looks like (``L5SIM_THREADS`` still
    overrides it). The kernels give the same bits whatever the thread count, so the table
    does not change.
    """
    import threading

    if _WORKER.get("one_thread") == threading.get_ident():   # numba's setting is per thread
        return
    from ..threads import set_worker_threads

    set_worker_threads(1)
    _WORKER["one_thread"] = threading.get_ident()


def _on_sigterm(signum, frame):  # pragma: no cover - exercised in worker processes
    """A pool worker terminated on purpose (the pool stops after a sibling died, Ctrl-C, the
    parent is gone): its run in flight is not one that killed a worker."""
    clear_own_inflight()
    os._exit(128 + signum)


def init_pool_worker(base: dict, source, parent_pid: int) -> None:
    """Initializer of local pool workers: die with the parent, leave Ctrl-C to the parent,
    load the kernels once."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _on_sigterm)
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        except Exception:  # pragma: no cover
            pass
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(0)
    one_thread()
    ensure_warm(base, source)


def _base_record(task, run, attempts: int) -> dict:
    import numba

    from .. import __version__

    return {"threads": numba.get_num_threads(), "format": RUN_FORMAT, "version": FORMAT_VERSION, "key": run["key"],
            "params": run["params"],
            "seed": run["seed"], "duration_ms": task["duration_ms"], "keep": task["keep"],
            "circuit_hash": run["circuit_hash"], "session": task["session"], "attempts": attempts,
            "worker": _worker_id(), "warmups": _WORKER["warmups"], "l5sim_version": __version__}


def run_one(task, run, attempts: int) -> dict:
    """Build, simulate and summarise one run; any Exception becomes a failed record."""
    from .. import build, simulate

    t0 = time.perf_counter()
    timing, phase, rec_path = {}, "spec", None
    rec = _base_record(task, run, attempts)
    try:
        spec = _point_spec(task, run)
        phase = "build"
        t = time.perf_counter()
        net = build(spec, seed=run["seed"])
        timing["build"] = time.perf_counter() - t
        phase = "simulate"
        t = time.perf_counter()
        recording = simulate(net, task["duration_ms"], seed=run["seed"], progress=False)
        timing["simulate"] = time.perf_counter() - t
        phase = "summary"
        summary = recording.summary()
        if task["keep"] == "recording" and task.get("write", True):
            from .. import save_recording

            phase = "save"
            rel = f"{RECORDINGS_DIR}/{run['key']}"
            save_recording(recording, Path(task["out"]) / rel)
            rec_path = rel
        rec.update(status="done", error=None, traceback=None, phase=None,
                   summary=jsonable(summary["populations"]), recording=rec_path)
    except Exception as e:
        tb = traceback.format_exc(limit=-8)
        rec.update(status="failed", error=f"{type(e).__name__}: {e}", traceback=tb, phase=phase, summary=None,
                   recording=None)
    timing["total"] = time.perf_counter() - t0
    rec["timing_s"] = timing
    rec["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    return rec


def failed_record(task, run, attempts: int, error: str, phase: str) -> dict:
    """A run that could not be computed (its worker kept dying): recorded, not retried."""
    rec = _base_record(task, run, attempts)
    rec.update(status="failed", error=error, phase=phase, traceback=None, summary=None, recording=None,
               timing_s={"total": 0.0}, finished=time.strftime("%Y-%m-%dT%H:%M:%S%z"))
    return rec


def run_batch(task, on_record=None) -> dict:
    """Run a batch of runs in order, writing each run file as soon as the run ends.

    Runs whose file already exists are returned as they are (a batch resubmitted after a
    worker died does not recompute them). Returns ``{"records": [...], "computed": n,
    "stopped": bool}``; ``on_record(record)`` is called after each run (serial scheduler).
    """
    out = Path(task["out"])
    runs_dir = out / RUNS_DIR
    session = task["session"]
    write = task.get("write", True) and runs_dir.is_dir()
    track = write and task.get("track_inflight", False) and hasattr(os, "pwrite")
    previous = task.get("attempts", {})
    if task.get("one_thread"):
        one_thread()
    ensure_warm(task["base"], task.get("source"))
    records, computed, checked = [], 0, -math.inf
    for run in task["runs"]:
        key = run["key"]
        if write and time.monotonic() - checked > SESSION_CHECK_S:
            if not session_current(out, session):
                return {"records": records, "computed": computed, "stopped": True}
            checked = time.monotonic()
        path = runs_dir / f"{key}.json"
        if write and path.exists():
            old = read_run(path, key)
            if old is not None and (old["status"] == "done" or old.get("session") == session
                                    or not task.get("retry_failed")):
                records.append(old)
                continue
        if track:
            set_inflight(task["out"], f"{session} {key}")
        try:
            rec = run_one(task, run, previous.get(key, 0) + 1)
        finally:                # Ctrl-C or an exception: not a worker that died
            if track:
                set_inflight(task["out"], "")
        if write:
            try:
                write_file_atomic(path, dump_record(rec))
            except OSError:     # e.g. a remote worker without the shared directory
                write = False
        computed += 1
        records.append(rec)
        if on_record is not None:
            on_record(rec)
    return {"records": records, "computed": computed, "stopped": False}
