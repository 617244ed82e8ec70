"""Running a sweep: plan, lock the directory, reuse finished runs, drive a backend, and
write the table. :func:`run_sweep` is the one entry point (``l5sim sweep``).
"""
from __future__ import annotations

import os
import queue
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import SpecError
from .backends import DaskBackend, LocalPool, check_scheduler, default_workers
from .plan import SweepPlan, canonical, make_batches, plan_sweep
from .store import (RUNS_DIR, SESSION_FILE, TABLE, SweepError, SweepLock, clear_inflight, collect_inflight,
                    dump_record, grid_entry, load_manifest, manifest_plans, merge_manifest, read_run,
                    write_file_atomic)
from .tables import collect_rows, write_table
from .worker import failed_record, run_batch


@dataclass
class SweepResult:
    """What :func:`run_sweep` did.

    Attributes
    ----------
    out : the sweep directory. table : path of results.csv (and ``parquet`` or None).
    n_runs : runs of this grid. n_done, n_failed : of those, finished and failed.
    n_missing : runs without a result (an interrupted sweep). n_computed : runs computed by this
    call; n_reused : runs found on disk. n_batches, scheduler, n_workers : how it ran.
    wall_s : elapsed seconds. rows, columns : the table (every grid of DIR).
    """

    out: Path
    table: Path
    parquet: Path | None
    n_runs: int
    n_done: int
    n_failed: int
    n_missing: int
    n_computed: int
    n_reused: int
    n_batches: int
    scheduler: str
    n_workers: int
    wall_s: float
    rows: list = field(repr=False, default_factory=list)
    columns: list = field(repr=False, default_factory=list)

    @property
    def ok(self) -> bool:
        return self.n_failed == 0 and self.n_missing == 0

    def final_line(self) -> str:
        s = f"{self.n_runs} runs: {self.n_done} done, {self.n_failed} failed"
        return s + (f", {self.n_missing} missing (re-run to finish)" if self.n_missing else "")


def _check_run_options(scheduler, workers, max_attempts) -> None:
    """Refuse a bad scheduler, worker count or attempt limit before anything starts."""
    check_scheduler(scheduler)
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise SpecError("--workers", workers, "an integer >= 1")
    if isinstance(max_attempts, bool) or not isinstance(max_attempts, int) or max_attempts < 1:
        raise SpecError("max_attempts", max_attempts, "an integer >= 1")


def _finished_runs(out: Path, plan: SweepPlan, retry_failed: bool):
    """``(records, todo)``: the plan's runs already on disk (failed ones only unless
    ``retry_failed``) by key, and the runs still to compute, in plan order."""
    records, todo = {}, []
    for r in plan.runs:
        rec = read_run(out / RUNS_DIR / f"{r['key']}.json", r["key"])
        if rec is not None and not (retry_failed and rec["status"] == "failed"):
            records[r["key"]] = rec
        else:
            todo.append(r)
    return records, todo


def run_sweep(circuit, grid=None, seeds=1, duration_ms: float = 1000.0, out="sweep", *, overrides=None,
              first_seed: int = 0, keep: str = "summary", scheduler: str | None = None,
              workers: int | None = None, batch_size: int | None = None, progress: bool | None = None,
              retry_failed: bool = False, max_attempts: int = 2) -> SweepResult:
    """Run (or resume) a parameter sweep and write its results table.

    Parameters
    ----------
    circuit : path of a circuit ``.toml`` or a :class:`l5sim.spec.CircuitSpec`.
    grid : ``["KEY=V1,V2,...", "KEY=START:STOP:N", ...]`` or ``{dotted key: [values]}``; runs are
        the product of the axes times the seeds.
    seeds : seeds per grid point (``first_seed`` ...) or a list of seeds.
    duration_ms : simulated time of each run (ms).
    out : the sweep directory (created; an existing sweep of the same circuit, duration and keep
        mode is resumed or extended, a different one refused).
    overrides : ``{dotted key: value}`` applied before the grid (``--set``).
    keep : "summary" (statistics only) or "recording" (also ``DIR/recordings/KEY/``).
    scheduler : None or "processes" (a local pool of ``workers`` processes), "serial" (this
        process), "local" (a Dask ``LocalCluster`` of ``workers`` processes) or a Dask scheduler
        address such as ``tcp://HOST:8786`` (workers must import the same l5sim and see ``out``
        on a shared file system for crash safety).
    workers : processes for "processes" and "local" (default: the CPUs available).
    batch_size : runs per task (default: from the cost model, see :func:`make_batches`).
    progress : show a progress bar (default: when stderr is a terminal).
    retry_failed : recompute runs recorded as failed.
    max_attempts : a run during which the worker process died this many times (in this call) is
        recorded as failed.

    Returns
    -------
    SweepResult
        ``final_line()`` is ``"N runs: X done, Y failed"``.

    Raises
    ------
    SpecError : bad grid, seeds, duration or circuit, before any run starts.
    SweepError : DIR holds a different sweep, is in use, or workers cannot start.
    KeyboardInterrupt : after writing the table of the runs finished so far.
    """
    t_start = time.perf_counter()
    scheduler = scheduler or "processes"
    _check_run_options(scheduler, workers, max_attempts)
    plan = plan_sweep(circuit, grid, seeds, duration_ms, overrides=overrides, first_seed=first_seed, keep=keep)
    if batch_size is not None:
        make_batches([], 1, batch_size)  # validate early
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / RUNS_DIR).mkdir(exist_ok=True)
    lock = SweepLock(out)
    backend = None
    try:
        merge_manifest(out, plan)
        session = uuid.uuid4().hex
        from ..recording import write_text

        write_text(out / SESSION_FILE, session + "\n")
        for p in (out / RUNS_DIR).glob(".*.tmp"):   # debris of a killed writer (we hold the lock)
            p.unlink(missing_ok=True)
        clear_inflight(out)
        records, todo = _finished_runs(out, plan, retry_failed)
        n_reused = len(records)
        n_workers = 1 if scheduler == "serial" else (workers or default_workers())
        if todo and scheduler not in ("processes", "serial"):
            backend = DaskBackend(scheduler, n_workers)
            n_workers = backend.n_workers
        batches = make_batches(todo, n_workers, batch_size)
        if todo and scheduler == "processes":
            n_workers = min(n_workers, len(batches))
            backend = LocalPool(n_workers, plan.base, plan.source)
        base_task = {"out": str(out.resolve()), "session": session, "base": plan.base, "source": plan.source,
                     "duration_ms": plan.duration_ms, "keep": plan.keep, "max_attempts": max_attempts,
                     "retry_failed": retry_failed, "track_inflight": scheduler == "processes",
                     "one_thread": scheduler != "serial"}
        counts = {"done": sum(r["status"] == "done" for r in records.values()),
                  "failed": sum(r["status"] == "failed" for r in records.values()), "computed": 0}
        if progress is None:
            progress = sys.stderr.isatty()
        bar = None
        if progress and todo:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(plan.runs), initial=n_reused, unit="run", desc=plan.circuit_name,
                       file=sys.stderr, dynamic_ncols=True, smoothing=0.1)
            bar.set_postfix_str(f"done={counts['done']} failed={counts['failed']}", refresh=False)
        wanted = {r["key"] for r in todo}

        def absorb(rec):
            key = rec["key"]
            if key not in wanted:
                return
            records[key] = rec
            counts[rec["status"]] += 1
            counts["computed"] += int(rec.get("session") == session)
            wanted.discard(key)
            if bar is not None:
                bar.set_postfix_str(f"done={counts['done']} failed={counts['failed']}", refresh=False)
                bar.update(1)

        try:
            if scheduler == "serial":
                for b in batches:
                    run_batch(dict(base_task, runs=b, specs=plan.specs), on_record=absorb)
            elif batches:
                _drive(backend, batches, base_task, out, absorb, wanted, max_attempts, records, session)
        except BaseException as e:     # Ctrl-C, or the sweep cannot go on: keep what is done
            write_text(out / SESSION_FILE, "stopped\n")      # orphaned tasks stop at their next run
            if backend is not None:
                backend.abort()
                backend = None
            if bar is not None:
                bar.close()
            _, rows, _ = _finish(out, plan, records)
            keys = {r["key"] for r in plan.runs}
            n_fin = sum(row["run"] in keys for row in rows)
            what = "interrupted" if isinstance(e, KeyboardInterrupt) else "stopped"
            print(f"{what}: {n_fin} of {len(plan.runs)} runs finished (table: {out / TABLE}); "
                  "re-run the same command to compute the rest", file=sys.stderr)
            raise
        if bar is not None:
            bar.close()
        paths, rows, cols = _finish(out, plan, records)
        mine = [records.get(r["key"]) for r in plan.runs]
        n_done = sum(1 for r in mine if r is not None and r["status"] == "done")
        n_failed = sum(1 for r in mine if r is not None and r["status"] == "failed")
        return SweepResult(out=out, table=paths[0], parquet=paths[1] if len(paths) > 1 else None,
                           n_runs=len(plan.runs), n_done=n_done, n_failed=n_failed,
                           n_missing=len(plan.runs) - n_done - n_failed, n_computed=counts["computed"],
                           n_reused=n_reused, n_batches=len(batches),
                           scheduler=backend.name if backend is not None else scheduler, n_workers=n_workers,
                           wall_s=time.perf_counter() - t_start, rows=rows, columns=cols)
    finally:
        if backend is not None:
            backend.close()
        clear_inflight(out)
        lock.release()


def _finish(out: Path, plan: SweepPlan, records: dict):
    """Write the table of every grid in DIR."""
    m = load_manifest(out)
    mine = canonical(grid_entry(plan))
    others = iter(manifest_plans({**m, "grids": [g for g in m["grids"] if canonical(g) != mine]}))
    plans = [plan if canonical(g) == mine else next(others) for g in m["grids"]]
    rows, cols, _ = collect_rows(out, plans, records)
    return write_table(out, rows, cols), rows, cols


def _drive(backend, batches, base_task, out, absorb, wanted, max_attempts, records, session):
    """Submit batches, absorb results as they come (and run files as they appear, for a
    finer progress bar); after a worker died, resubmit what is missing and count the death
    against the run it was computing."""
    done_q = queue.Queue()
    pending = {}            # batch index -> future
    batches = list(batches)
    tries = [0] * len(batches)
    deaths = {}             # run key -> worker deaths while computing it (this invocation)
    by_key = {r["key"]: r for b in batches for r in b}
    guard = {"breaks": 0, "mark": -1}
    runs_dir = out / RUNS_DIR

    def submit(i):
        runs = [r for r in batches[i] if r["key"] in wanted]
        if not runs:
            return
        task = dict(base_task, runs=runs, attempts={r["key"]: deaths[r["key"]] for r in runs if r["key"] in deaths})
        fut = backend.submit(task)
        pending[i] = fut
        fut.add_done_callback(lambda f, i=i: done_q.put((i, f)))

    def give_up(run, attempts, error, phase):
        rec = failed_record(base_task, run, attempts, error, phase)
        write_file_atomic(runs_dir / f"{run['key']}.json", dump_record(rec))
        absorb(rec)

    def absorb_result(res):
        for rec in res["records"]:
            p = runs_dir / f"{rec['key']}.json"
            if rec.get("session") == session and rec["key"] in wanted and not p.exists():
                write_file_atomic(p, dump_record(rec))       # the worker could not (no shared directory)
            absorb(rec)
        if res.get("stopped"):
            raise SweepError(f"{out} was taken over by another sweep invocation")

    for i in range(len(batches)):
        submit(i)
    last_scan = time.monotonic()
    while pending:
        try:
            i, fut = done_q.get(timeout=0.5)
        except queue.Empty:
            i = None
        if time.monotonic() - last_scan > 0.5:
            last_scan = time.monotonic()
            if wanted:
                for entry in os.scandir(runs_dir):
                    name = entry.name
                    if name.endswith(".json") and name[:-5] in wanted:
                        rec = read_run(entry.path, name[:-5])
                        if rec is not None and rec.get("session") == session:
                            absorb(rec)
        if i is None or pending.get(i) is not fut:
            continue
        del pending[i]
        try:
            res = fut.result()
        except KeyboardInterrupt:
            raise
        except BaseException as e:  # noqa: BLE001 - a lost worker, a broken pool, a cancelled task
            if backend.is_broken(e):
                # local pool: a worker died and every other future of the pool fails too
                lost = [i]
                for j, f in list(pending.items()):
                    del pending[j]
                    try:
                        absorb_result(f.result())
                    except SweepError:
                        raise
                    except BaseException:  # noqa: BLE001
                        lost.append(j)
                backend.stop()              # every old process has exited now
                victims = [k for k in collect_inflight(out, session) if k in wanted]
                for k in victims:
                    deaths[k] = deaths.get(k, 0) + 1
                    if deaths[k] >= max_attempts:
                        give_up(by_key[k], deaths[k], f"WorkerDied: the worker process died during each of "
                                f"{deaths[k]} attempts at this run (killed, out of memory, or crashed)", "worker")
                if victims or len(records) != guard["mark"]:
                    guard["breaks"], guard["mark"] = 0, len(records)
                else:
                    guard["breaks"] += 1
                    if guard["breaks"] > max_attempts:
                        raise SweepError(f"the worker processes keep dying outside any run ({e}); check memory "
                                         "and that `import l5sim` works in a fresh process") from None
                backend.start()
                for j in sorted(lost):
                    submit(j)
                continue
            tries[i] += 1
            runs = [r for r in batches[i] if r["key"] in wanted]
            if type(e).__name__ == "KilledWorker":
                # Dask gave up on the task after its workers kept dying: run each run alone, so
                # that only a run that kills workers is recorded as failed
                if len(runs) > 1:
                    for r in runs:
                        batches.append([r])
                        tries.append(0)
                        submit(len(batches) - 1)
                else:
                    for r in runs:
                        give_up(r, tries[i], f"KilledWorker: {e}", "worker")
                continue
            if tries[i] <= max_attempts:
                submit(i)
                continue
            for r in runs:
                give_up(r, tries[i], f"{type(e).__name__}: {e} (the task failed {tries[i]} times)", "task")
            continue
        absorb_result(res)
