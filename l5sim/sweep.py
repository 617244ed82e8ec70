"""Parameter sweeps: a grid of circuit overrides times seeds, run on a local process pool, in
this process, or on a Dask cluster; every finished run stored atomically; resumable.

Pipeline (the same for every way of running)::

    plan_sweep(circuit, grid, seeds, duration)       validate every grid point, derive run keys
      -> make_batches(runs, n_workers)               pack runs into tasks of ~0.2-1 s
      -> _run_batch(task)  in a worker process       one run after another; each result is
                                                     written as DIR/runs/KEY.json when it ends
      -> collect_rows(DIR) -> DIR/results.csv        the table, assembled from the run files

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

import hashlib
import itertools
import json
import math
import os
import queue
import socket
import sys
import time
import traceback
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from ._io import atomic_write
from .errors import L5SimError, SpecError

FORMAT = "l5sim-sweep"
FORMAT_VERSION = 1
RUN_FORMAT = "l5sim-sweep-run"
KEEP_MODES = ("summary", "recording")
RUNS_DIR = "runs"
RECORDINGS_DIR = "recordings"
MANIFEST = "sweep.json"
TABLE = "results.csv"
PARQUET = "results.parquet"

#: Cost model of one run (seconds), used only to size batches. Measured on one core:
#: l5_cell (1 neuron) costs ~1-2 ms a run whatever its length up to seconds (build, summary,
#: files); l5_column (510 neurons, 10^4 steps) ~0.45 s, i.e. ~90 ns per neuron-step.
COST_PER_RUN_S = 2e-3
COST_PER_NEURON_STEP_S = 1e-7
#: Batch (task) duration bounds (s) and tasks per worker wanted for load balance.
MIN_TASK_S = 0.2
MAX_TASK_S = 1.0
TASKS_PER_WORKER = 4

#: Table columns that describe how a run was executed (differ between schedulers, not results).
EXECUTION_COLUMNS = ("wall_s", "build_s", "simulate_s", "attempts", "worker")


class SweepError(L5SimError):
    """A sweep cannot start or go on (a different sweep in DIR, workers that cannot start, ...)."""


# ------------------------------------------------------------------------------------ planning
@dataclass
class SweepPlan:
    """A validated sweep: every run with its key, parameters, seed and estimated cost.

    Attributes
    ----------
    base : the circuit as plain data after ``overrides`` (``spec.to_dict()``).
    source : path of the circuit file (for messages), or None.
    circuit_name, circuit_hash : name and hash of ``base``.
    axes : ``{dotted key: [values]}`` in command-line order.
    seeds : the seeds of every grid point.
    duration_ms : simulated time of each run (ms).
    keep : "summary" or "recording".
    runs : ``[{"key", "params", "seed", "circuit_hash", "cost_s", "n_neurons"}]``, grid point
        major, seeds minor.
    """

    base: dict
    source: str | None
    circuit_name: str
    circuit_hash: str
    axes: dict
    seeds: list
    duration_ms: float
    keep: str
    runs: list = field(default_factory=list)
    overrides: dict = field(default_factory=dict)
    specs: dict = field(default_factory=dict, repr=False)   # circuit hash -> validated spec

    @property
    def n_points(self) -> int:
        return math.prod(len(v) for v in self.axes.values())


def run_key(circuit_hash: str, seed: int, duration_ms: float, keep: str) -> str:
    """Storage key of one run: sha256 of (circuit hash after overrides, seed, duration, keep)."""
    text = json.dumps([circuit_hash, int(seed), float(duration_ms), keep], separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def parse_axes(grid) -> dict:
    """Grid axes from ``["KEY=V1,V2", "KEY=START:STOP:N", ...]`` or ``{key: [values]}``.

    Raises
    ------
    SpecError : malformed text, an empty axis, or the same key twice.
    """
    from .experiments import parse_grid

    if grid is None:
        return {}
    items = grid.items() if isinstance(grid, dict) else grid
    if isinstance(items, str):
        raise SpecError("--grid", items, "a list of KEY=V1,V2 or KEY=START:STOP:N strings")
    axes = {}
    for item in items:
        if isinstance(item, str):
            key, values = parse_grid(item, "--grid")
        else:
            try:
                key, values = item
            except (TypeError, ValueError):
                raise SpecError("grid", item, "KEY=VALUES strings or (key, values) pairs") from None
            if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
                raise SpecError(f"grid.{key}", values, "a list of values")
            values = list(values)
        if not isinstance(key, str) or not key or any(not p for p in key.split(".")):
            raise SpecError("--grid", key, "a dotted key path such as inputs.soma_step.amplitude_pA")
        if not values:
            raise SpecError(f"--grid {key}", values, "at least one value")
        if key in axes:
            raise SpecError(f"--grid {key}", values, "each key once (combine its values into one --grid)")
        axes[key] = [_plain(v) for v in values]
    return axes


def _plain(v):
    """Grid values as plain JSON data (NumPy scalars become Python numbers)."""
    if hasattr(v, "item") and not isinstance(v, (list, dict, str)):
        v = v.item()
    if isinstance(v, tuple):
        return [_plain(x) for x in v]
    return v


def _like(old, v):
    """A grid value in the type of the circuit's value when that loses nothing (600 -> 600.0
    where the file has 600.0; 100.0 -> 100 for an integer), so that the same circuit gets the
    same hash, and the same run key, however its value was written."""
    if isinstance(v, bool) or isinstance(old, bool):
        return v
    if isinstance(old, float) and isinstance(v, int):
        return float(v)
    if isinstance(old, int) and isinstance(v, float) and v.is_integer():
        return int(v)
    return v


def _check_key_path(base: dict, key: str, value, source):
    """A grid key must lead into the circuit; name the nearest table and its keys if not."""
    node, parts = base, key.split(".")
    for i, part in enumerate(parts[:-1]):
        nxt = node.get(part) if isinstance(node, dict) else None
        if nxt is None:
            where = ".".join(parts[:i]) or "the circuit"
            have = sorted(node) if isinstance(node, dict) else []
            # keys that validate once set (a preset's parameter, a modulator level) are fine
            try:
                from .spec import from_dict, apply_overrides

                from_dict(apply_overrides(base, {key: value}), source=source)
                return
            except SpecError:
                raise SpecError(f"--grid {key}", value,
                                f"a key path of a value in the circuit: {where} has no table "
                                f"{part!r} (it has {have})", source) from None
        node = nxt


def plan_sweep(circuit, grid=None, seeds=1, duration_ms: float = 1000.0, *, overrides=None,
               first_seed: int = 0, keep: str = "summary") -> SweepPlan:
    """Validate a sweep without running anything.

    Parameters
    ----------
    circuit : path of a circuit ``.toml`` or a :class:`l5sim.spec.CircuitSpec`.
    grid : ``["KEY=V1,V2,...", "KEY=START:STOP:N", ...]`` or ``{key: [values]}``; the grid is
        the product of its axes. None or empty: one point (the circuit itself).
    seeds : number of seeds per grid point (``first_seed``, ``first_seed + 1``, ...) or an
        explicit list of seeds.
    duration_ms : simulated time of every run (ms).
    overrides : ``{dotted key: value}`` applied to the circuit before the grid (``--set``).
    keep : "summary" (statistics in the run file) or "recording" (also the full recording).

    Raises
    ------
    SpecError : a malformed or empty axis, a key that is not in the circuit, a value of the
        wrong type or out of range at any grid point, a bad seed count or duration.
    """
    from .spec import CircuitSpec, load_circuit

    if keep not in KEEP_MODES:
        raise SpecError("keep", keep, f"one of {list(KEEP_MODES)}")
    if isinstance(duration_ms, bool) or not isinstance(duration_ms, (int, float)) \
            or not math.isfinite(duration_ms) or duration_ms <= 0:
        raise SpecError("--duration", duration_ms, "a finite number of milliseconds > 0")
    if isinstance(seeds, bool):
        raise SpecError("--seeds", seeds, "a number of seeds >= 1 or a list of integer seeds")
    if isinstance(seeds, int):
        if seeds < 1:
            raise SpecError("--seeds", seeds, "a number of seeds >= 1")
        if isinstance(first_seed, bool) or not isinstance(first_seed, int) or first_seed < 0:
            raise SpecError("--seed", first_seed, "an integer >= 0")
        seed_list = list(range(first_seed, first_seed + seeds))
    else:
        seed_list = list(seeds)
        if not seed_list or any(isinstance(s, bool) or not isinstance(_plain(s), int) or _plain(s) < 0
                                for s in seed_list):
            raise SpecError("seeds", seeds, "a non-empty list of integers >= 0")
        seed_list = [int(s) for s in seed_list]
        if len(set(seed_list)) != len(seed_list):
            raise SpecError("seeds", seeds, "distinct seeds")
    if isinstance(circuit, CircuitSpec):
        spec = circuit.with_overrides(overrides) if overrides else circuit
    else:
        spec = load_circuit(circuit, overrides=overrides)
    n_steps = int(round(duration_ms / spec.dt_ms))
    if n_steps < 1:
        raise SpecError("--duration", duration_ms, f"at least one step of {spec.dt_ms} ms")
    axes = parse_axes(grid)
    base = spec.to_dict()
    for key, values in axes.items():
        _check_key_path(base, key, values[0], spec.path)
        axes[key] = [_like(_lookup(base, key), v) for v in values]
        if len({_canon(v) for v in axes[key]}) != len(values):
            raise SpecError(f"--grid {key}", values, "distinct values (each run once)", spec.path)
    plan = SweepPlan(base=base, source=spec.path, circuit_name=spec.circuit.name, circuit_hash=spec.hash,
                     axes=axes, seeds=seed_list, duration_ms=float(duration_ms), keep=keep,
                     overrides=dict(overrides or {}))
    keys = list(axes)
    for combo in itertools.product(*(axes[k] for k in keys)):
        params = dict(zip(keys, combo))
        try:
            pspec = spec.with_overrides(params) if params else spec
        except SpecError as e:
            point = ", ".join(f"{k}={v!r}" for k, v in params.items())
            raise SpecError(e.path, e.value, f"{e.expected} (at grid point {point})", e.source) from None
        n = sum(p.n for p in pspec.populations.values())
        cost = COST_PER_RUN_S + COST_PER_NEURON_STEP_S * n * int(round(duration_ms / pspec.dt_ms))
        h = pspec.hash
        plan.specs[h] = pspec
        for s in seed_list:
            plan.runs.append({"key": run_key(h, s, duration_ms, keep), "params": params, "seed": s,
                              "circuit_hash": h, "cost_s": cost, "n_neurons": n})
    return plan


def make_batches(runs, n_workers: int, batch_size: int | None = None) -> list:
    """Pack runs (in order) into batches; see the module docstring for the rule.

    Parameters
    ----------
    runs : run dicts with ``cost_s`` (estimated seconds).
    n_workers : processes that will run batches at once.
    batch_size : force this many runs per batch instead.
    """
    runs = list(runs)
    if batch_size is not None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise SpecError("--batch-size", batch_size, "an integer >= 1")
        return [runs[i:i + batch_size] for i in range(0, len(runs), batch_size)]
    if not runs:
        return []
    total = sum(r["cost_s"] for r in runs)
    target = min(MAX_TASK_S, max(MIN_TASK_S, total / (TASKS_PER_WORKER * max(1, n_workers))))
    batches, cur, acc = [], [], 0.0
    for r in runs:
        cur.append(r)
        acc += r["cost_s"]
        if acc >= target:
            batches.append(cur)
            cur, acc = [], 0.0
    if cur:
        batches.append(cur)
    return batches


# ------------------------------------------------------------------------------------- storage
def _jsonable(x):
    """Plain JSON without NaN or infinity (those become null), NumPy scalars as numbers."""
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if hasattr(x, "item") and not isinstance(x, (str, bytes)):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def _write_file_atomic(path: Path, text: str) -> None:
    """Temporary file in the same directory, then rename: readers see all or nothing.

    No fsync: run files are small and many (an fsync costs ~4 ms here, more than a one-cell
    run). A process killed at any point leaves a whole file or none; after an OS crash a file
    can be empty, and :func:`read_run` then treats the run as missing and it is recomputed.
    """
    atomic_write(path, lambda fh: fh.write(text.encode("utf-8")), fsync=False)


def read_run(path, key: str | None = None):
    """The record of a run file, or None if it is absent, incomplete or not a run record."""
    try:
        with open(path, encoding="utf-8") as fh:
            rec = json.load(fh)
    except (OSError, ValueError):
        return None
    if not isinstance(rec, dict) or rec.get("format") != RUN_FORMAT or rec.get("status") not in ("done", "failed"):
        return None
    if key is not None and rec.get("key") != key:
        return None
    return rec


def load_manifest(out):
    """The manifest ``DIR/sweep.json`` as a dict, or None if there is none."""
    p = Path(out) / MANIFEST
    if not p.exists():
        return None
    try:
        m = json.loads(p.read_text())
    except (OSError, ValueError) as e:
        raise SweepError(f"{p}: not a readable sweep manifest ({e})") from None
    if not isinstance(m, dict) or m.get("format") != FORMAT:
        raise SweepError(f"{p}: not an l5sim sweep manifest (format {m.get('format') if isinstance(m, dict) else m!r})")
    if m.get("version", 0) > FORMAT_VERSION:
        raise SweepError(f"{p}: written by a newer l5sim (sweep format {m['version']} > {FORMAT_VERSION})")
    return m


def _merge_manifest(out: Path, plan: SweepPlan) -> dict:
    """Create DIR/sweep.json, or extend it with this grid; refuse a different circuit,
    duration or keep mode (their runs would not be comparable rows of one table)."""
    from . import __version__

    grid = _grid_entry(plan)
    old = load_manifest(out)
    if old is None:
        m = {"format": FORMAT, "version": FORMAT_VERSION, "circuit_name": plan.circuit_name,
             "circuit_path": plan.source, "circuit_hash": plan.circuit_hash, "overrides": plan.overrides,
             "circuit": plan.base, "duration_ms": plan.duration_ms, "keep": plan.keep, "grids": [grid],
             "l5sim_version": __version__}
    else:
        for name, mine, theirs in (("circuit (after --set)", plan.circuit_hash[:12], str(old.get("circuit_hash"))[:12]),
                                   ("duration_ms", plan.duration_ms, old.get("duration_ms")),
                                   ("keep", plan.keep, old.get("keep"))):
            if mine != theirs:
                raise SweepError(
                    f"{out} holds a sweep of {old.get('circuit_name')!r} with {name} = {theirs}; this sweep has "
                    f"{name} = {mine}. Its runs would not be rows of the same table: use another --out "
                    f"directory (the same circuit, duration and keep mode extend the sweep in {out})")
        m = dict(old)
        if _canon(grid) not in [_canon(g) for g in m["grids"]]:
            m["grids"] = list(m["grids"]) + [grid]
    from .recording import write_text

    if m != old:   # key order kept (the circuit's table order is part of what it means)
        write_text(out / MANIFEST, json.dumps(m, indent=1, allow_nan=False) + "\n")
    return m


def _grid_entry(plan: SweepPlan) -> dict:
    """A grid as stored in the manifest: axes as [key, values] pairs, in order."""
    return {"axes": [[k, v] for k, v in plan.axes.items()], "seeds": plan.seeds}


def _canon(x) -> str:
    return json.dumps(x, sort_keys=True)


def _manifest_plans(m: dict) -> list:
    """Plans of every grid recorded in a manifest (from its stored circuit; no file needed)."""
    from .spec import from_dict

    spec = from_dict(m["circuit"], source=m.get("circuit_path"))
    return [plan_sweep(spec, g["axes"], g["seeds"], m["duration_ms"], keep=m["keep"]) for g in m["grids"]]


def _sort_value(v):
    if isinstance(v, bool):
        return (1, int(v), "")
    if isinstance(v, (int, float)):
        return (1, float(v), "")
    if v is None:
        return (0, 0.0, "")
    return (2, 0.0, json.dumps(v, sort_keys=True) if not isinstance(v, str) else v)


def _lookup(data: dict, key: str):
    node = data
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def record_row(rec: dict, axes: list, base: dict | None = None) -> dict:
    """One table row from a run record: run key, axis values, seed, status, error,
    per-population statistics (``POP.STAT``), duration, timing and where it ran."""
    params = rec.get("params", {})
    row = {"run": rec["key"]}
    for k in axes:
        row[k] = params[k] if k in params else (_lookup(base, k) if base is not None else None)
    row.update({"seed": rec["seed"], "status": rec["status"], "error": rec.get("error")})
    for pop, stats in (rec.get("summary") or {}).items():
        for name, v in stats.items():
            row[f"{pop}.{name}"] = v
    t = rec.get("timing_s") or {}
    row.update({"duration_ms": rec.get("duration_ms"), "wall_s": t.get("total"), "build_s": t.get("build"),
                "simulate_s": t.get("simulate"), "attempts": rec.get("attempts"), "worker": rec.get("worker"),
                "circuit_hash": rec.get("circuit_hash"), "recording": rec.get("recording")})
    return row


def _check_renamed(out, rows) -> None:
    """Old run files carry burst statistics that were renamed: say so instead of mixing them."""
    from .analysis import RENAMED, renamed_columns

    for row in rows:
        old = renamed_columns(c for c in row if "." in c)
        if old:
            name = old[0].rsplit(".", 1)[-1]
            raise SweepError(f"{out}: column {old[0]!r} was renamed ({name} -> {RENAMED[name]}); these runs "
                             f"were written by an older l5sim: rerun the sweep into a new directory")


def collect_rows(out, plans=None, records=None) -> tuple:
    """Assemble the results table from the run files of every grid in ``DIR/sweep.json``.

    Parameters
    ----------
    out : the sweep directory.
    plans : the plans whose runs are rows (default: every grid of the manifest).
    records : ``{key: record}`` already in memory (read from disk when absent).

    Returns
    -------
    (rows, columns, missing) : rows sorted by axis values then seed; ``missing`` counts runs of
        the plans with no readable file yet.
    """
    out = Path(out)
    m = load_manifest(out)
    if m is None:
        raise SweepError(f"{out}: no {MANIFEST}; not a sweep directory")
    if plans is None:
        plans = _manifest_plans(m)
    records = dict(records or {})
    axes = []
    for p in plans:
        axes += [k for k in p.axes if k not in axes]
    rows, seen, missing = [], set(), 0
    for p in plans:
        for r in p.runs:
            if r["key"] in seen:
                continue
            seen.add(r["key"])
            rec = records.get(r["key"]) or read_run(out / RUNS_DIR / f"{r['key']}.json", r["key"])
            if rec is None:
                missing += 1
                continue
            rows.append(record_row(rec, axes, m["circuit"]))
    _check_renamed(out, rows)
    rows.sort(key=lambda row: tuple(_sort_value(row[k]) for k in axes) + (_sort_value(row["seed"]),))
    head = ["run", *axes, "seed", "status", "error"]
    stats = []
    for row in rows:
        stats += [c for c in row if c not in stats and c not in head and "." in c and c not in axes]
    tail = ["duration_ms", *EXECUTION_COLUMNS, "circuit_hash", "recording"]
    return rows, head + stats + tail, missing


def _cell(v):
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (list, dict)):
        return json.dumps(v)
    return v


#: Per-population statistics of :meth:`l5sim.Recording.summary` (floats; NaN when undefined).
_STAT_NAMES = ("rate_hz", "cv_isi", "isi_burst_excess", "spikes_per_isi_burst", "burst_reset_fraction")


def write_table(out, rows, columns) -> list:
    """Write ``DIR/results.csv`` (always) and ``DIR/results.parquet`` (if pyarrow imports),
    atomically. Empty CSV cells are missing values (NaN statistics, no error). Returns paths."""
    import csv
    import io

    from .recording import write_text

    out = Path(out)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(columns)
    for row in rows:
        w.writerow([_cell(row.get(c)) for c in columns])
    write_text(out / TABLE, buf.getvalue())
    paths = [out / TABLE]
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        return paths

    cols = {}
    stat_cols = {c for c in columns if "." in c and c.split(".", 1)[1] in _STAT_NAMES}
    for c in columns:
        vals = [row.get(c) for row in rows]
        present = [v for v in vals if v is not None]
        numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present)
        if numeric and (any(isinstance(v, float) for v in present) or (c in stat_cols and not present)):
            cols[c] = pa.array([float("nan") if v is None else float(v) for v in vals], pa.float64())
        elif not present:
            cols[c] = pa.array(vals, pa.string())
        elif not numeric and (not all(isinstance(v, type(present[0])) for v in present)
                              or isinstance(present[0], (list, dict))):
            cols[c] = pa.array([None if v is None else json.dumps(v) for v in vals], pa.string())
        else:
            cols[c] = pa.array(vals)
    table = pa.table(cols)
    atomic_write(out / PARQUET, lambda fh: pq.write_table(table, fh))
    paths.append(out / PARQUET)
    return paths


def load_results(out) -> tuple:
    """``(manifest, rows, columns)`` of a sweep directory, from its run files (typed values)."""
    m = load_manifest(out)
    if m is None:
        raise SweepError(f"{out}: no {MANIFEST}; not a sweep directory (run l5sim sweep --out {out})")
    rows, cols, _ = collect_rows(out)
    return m, rows, cols


# ---------------------------------------------------------------------------------- worker side
_WORKER = {"id": None, "warmups": 0, "warm_s": 0.0, "specs": {}, "inflight": {}}
_SPEC_CACHE_SIZE = 64
#: Seconds between checks that this batch's sweep still owns DIR (``DIR/.session``).
SESSION_CHECK_S = 1.0
INFLIGHT_DIR = ".inflight"
_INFLIGHT_LEN = 96


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
        from .spec import apply_overrides, from_dict

        spec = from_dict(apply_overrides(task["base"], run["params"]), source=task.get("source"))
        if len(cache) >= _SPEC_CACHE_SIZE:
            cache.pop(next(iter(cache)))
        cache[run["circuit_hash"]] = spec
    return spec


def _ensure_warm(base: dict, source=None) -> None:
    """Load (or compile, the first time on this machine) the kernels once per process, with a
    few steps of the sweep's circuit; later runs in this process reuse them."""
    if _WORKER["warmups"]:
        return
    t0 = time.perf_counter()
    from . import build, simulate
    from .spec import from_dict

    try:
        spec = from_dict(base, source=source)
        simulate(build(spec, seed=0), 20 * spec.dt_ms, seed=0, progress=False)
    except Exception:   # the runs themselves will report whatever is wrong
        pass
    _WORKER["warmups"] += 1
    _WORKER["warm_s"] = time.perf_counter() - t0


def _one_thread() -> None:
    """Workers are processes: each runs its simulations on one Numba thread (no
    oversubscription of the machine). The parallel kernel gives the same bits whatever the
    thread count, so the table does not change (``simulate(parallel=...)``)."""
    import threading

    if _WORKER.get("one_thread") == threading.get_ident():   # the setting is per thread
        return
    try:
        import numba

        numba.set_num_threads(1)
    except Exception:  # pragma: no cover - an exotic threading layer: leave it alone
        pass
    _WORKER["one_thread"] = threading.get_ident()


def _set_inflight(out: str, text: str) -> None:
    """Record the run this process is computing in ``DIR/.inflight/HOST-PID`` (one small file
    per process, opened once, overwritten in place: no file is created per run). A process
    that dies leaves its last run there; one that ends normally or on SIGTERM clears it."""
    fd = _WORKER["inflight"].get(out)
    if fd is None:
        d = Path(out) / INFLIGHT_DIR
        d.mkdir(exist_ok=True)
        fd = os.open(d / f"{socket.gethostname()}-{os.getpid()}", os.O_RDWR | os.O_CREAT, 0o644)
        _WORKER["inflight"][out] = fd
    os.pwrite(fd, text.ljust(_INFLIGHT_LEN - 1).encode()[:_INFLIGHT_LEN - 1] + b"\n", 0)


def _on_sigterm(signum, frame):  # pragma: no cover - exercised in worker processes
    """A pool worker terminated on purpose (the pool stops after a sibling died, Ctrl-C, the
    parent is gone): its run in flight is not one that killed a worker."""
    for out in list(_WORKER["inflight"]):
        try:
            _set_inflight(out, "")
        except OSError:
            pass
    os._exit(128 + signum)


def _init_pool_worker(base: dict, source, parent_pid: int) -> None:
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
    _one_thread()
    _ensure_warm(base, source)


def _base_record(task, run, attempts: int) -> dict:
    import numba

    from . import __version__

    return {"threads": numba.get_num_threads(), "format": RUN_FORMAT, "version": FORMAT_VERSION, "key": run["key"], "params": run["params"],
            "seed": run["seed"], "duration_ms": task["duration_ms"], "keep": task["keep"],
            "circuit_hash": run["circuit_hash"], "session": task["session"], "attempts": attempts,
            "worker": _worker_id(), "warmups": _WORKER["warmups"], "l5sim_version": __version__}


def _run_one(task, run, attempts: int) -> dict:
    """Build, simulate and summarise one run; any Exception becomes a failed record."""
    from . import build, simulate

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
            from . import save_recording

            phase = "save"
            rel = f"{RECORDINGS_DIR}/{run['key']}"
            save_recording(recording, Path(task["out"]) / rel)
            rec_path = rel
        rec.update(status="done", error=None, traceback=None, phase=None,
                   summary=_jsonable(summary["populations"]), recording=rec_path)
    except Exception as e:
        tb = traceback.format_exc(limit=-8)
        rec.update(status="failed", error=f"{type(e).__name__}: {e}", traceback=tb, phase=phase, summary=None,
                   recording=None)
    timing["total"] = time.perf_counter() - t0
    rec["timing_s"] = timing
    rec["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    return rec


def _failed_record(task, run, attempts: int, error: str, phase: str) -> dict:
    """A run that could not be computed (its worker kept dying): recorded, not retried."""
    rec = _base_record(task, run, attempts)
    rec.update(status="failed", error=error, phase=phase, traceback=None, summary=None, recording=None,
               timing_s={"total": 0.0}, finished=time.strftime("%Y-%m-%dT%H:%M:%S%z"))
    return rec


def _dump(rec: dict) -> str:
    return json.dumps(rec, separators=(",", ":"), allow_nan=False)


def _session_current(out: Path, session: str) -> bool:
    """False when another invocation has taken over DIR (this task is an orphan: stop)."""
    try:
        return (out / ".session").read_text().strip() == session
    except OSError:
        return True  # no shared file system (remote worker): nothing to compare with


def _run_batch(task, on_record=None) -> dict:
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
        _one_thread()
    _ensure_warm(task["base"], task.get("source"))
    records, computed, checked = [], 0, -math.inf
    for run in task["runs"]:
        key = run["key"]
        if write and time.monotonic() - checked > SESSION_CHECK_S:
            if not _session_current(out, session):
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
            _set_inflight(task["out"], f"{session} {key}")
        try:
            rec = _run_one(task, run, previous.get(key, 0) + 1)
        finally:                # Ctrl-C or an exception: not a worker that died
            if track:
                _set_inflight(task["out"], "")
        if write:
            try:
                _write_file_atomic(path, _dump(rec))
            except OSError:     # e.g. a remote worker without the shared directory
                write = False
        computed += 1
        records.append(rec)
        if on_record is not None:
            on_record(rec)
    return {"records": records, "computed": computed, "stopped": False}


def _collect_inflight(out: Path, session: str) -> list:
    """Keys left in ``DIR/.inflight`` by processes of this session that died in a run; the
    files are removed (call only when none of those processes is alive)."""
    keys = []
    d = out / INFLIGHT_DIR
    if not d.is_dir():
        return keys
    for p in d.iterdir():
        try:
            words = p.read_text().split()
        except OSError:
            continue
        if len(words) == 2 and words[0] == session:
            keys.append(words[1])
        p.unlink(missing_ok=True)
    return keys


# --------------------------------------------------------------------------------- parent side
def default_workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover
        return max(1, os.cpu_count() or 1)


class _Serial:
    name = "serial"
    n_workers = 1


class _Pool:
    """``concurrent.futures.ProcessPoolExecutor`` with the spawn context (Numba and fork do
    not mix), restarted when a worker dies."""

    name = "processes"

    def __init__(self, n_workers, base, source):
        self.n_workers, self.base, self.source = n_workers, base, source
        self._start()

    def _start(self):
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        self.ex = ProcessPoolExecutor(max_workers=self.n_workers, mp_context=multiprocessing.get_context("spawn"),
                                      initializer=_init_pool_worker, initargs=(self.base, self.source, os.getpid()))

    def submit(self, task):
        return self.ex.submit(_run_batch, task)

    def is_broken(self, exc) -> bool:
        from concurrent.futures.process import BrokenProcessPool

        return isinstance(exc, BrokenProcessPool)

    def stop(self):
        self.ex.shutdown(wait=True, cancel_futures=True)

    def start(self):
        self._start()

    def close(self):
        self.ex.shutdown(wait=True)

    def abort(self):
        procs = list((getattr(self.ex, "_processes", None) or {}).values())
        for p in procs:
            p.terminate()           # SIGTERM: workers clear their in-flight record
        self.ex.shutdown(wait=False, cancel_futures=True)
        for p in procs:
            p.join(5)


class _Dask:
    """A ``distributed.Client`` on a scheduler address, or on a new ``LocalCluster``."""

    name = "dask"

    def __init__(self, scheduler, n_workers):
        try:
            import distributed
        except ImportError:
            raise SweepError("--scheduler needs Dask: pip install 'l5sim[dask]' "
                             "(dask>=2024.1, distributed>=2024.1)") from None
        import logging

        self.cluster = None
        if scheduler == "local":
            self.cluster = distributed.LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                                                    dashboard_address=None, silence_logs=logging.ERROR)
            self.client = distributed.Client(self.cluster)
        else:
            try:
                self.client = distributed.Client(scheduler, timeout="30s")
            except (OSError, TimeoutError) as e:
                raise SweepError(f"--scheduler {scheduler}: cannot reach the Dask scheduler ({e})") from None
            try:
                self.client.wait_for_workers(1, timeout=60)
            except TimeoutError:
                raise SweepError(f"--scheduler {scheduler}: no worker joined within 60 s") from None
        info = self.client.scheduler_info()
        workers = info.get("workers", {})
        self.n_workers = max(1, sum(int(w.get("nthreads", 1)) for w in workers.values()))
        self.name = "dask-local" if self.cluster is not None else f"dask {scheduler}"
        self._n = 0

    def submit(self, task):
        self._n += 1
        return self.client.submit(_run_batch, task, key=f"l5sim-sweep-{task['session'][:8]}-{self._n}", pure=False)

    def is_broken(self, exc) -> bool:
        return False

    def close(self):
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()

    abort = close


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


class _Lock:
    """An exclusive lock on DIR for one sweep process (released by the OS if it dies)."""

    def __init__(self, out: Path):
        self.fh = open(out / ".lock", "a+")
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows: no lock
            return
        try:
            fcntl.flock(self.fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self.fh.seek(0)
            who = self.fh.read().strip()
            self.fh.close()
            raise SweepError(f"{out} is being written by another l5sim sweep ({who or 'unknown process'}); "
                             "wait for it to end or use another --out directory") from None
        self.fh.seek(0)
        self.fh.truncate()
        self.fh.write(f"pid {os.getpid()} on {socket.gethostname()}\n")
        self.fh.flush()

    def release(self):
        self.fh.close()


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
    if not isinstance(scheduler, str) or not (scheduler in ("processes", "serial", "local") or "://" in scheduler):
        raise SpecError("--scheduler", scheduler, "processes, serial, local or a Dask address like tcp://HOST:8786")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise SpecError("--workers", workers, "an integer >= 1")
    if isinstance(max_attempts, bool) or not isinstance(max_attempts, int) or max_attempts < 1:
        raise SpecError("max_attempts", max_attempts, "an integer >= 1")
    plan = plan_sweep(circuit, grid, seeds, duration_ms, overrides=overrides, first_seed=first_seed, keep=keep)
    if batch_size is not None:
        make_batches([], 1, batch_size)  # validate early
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / RUNS_DIR).mkdir(exist_ok=True)
    lock = _Lock(out)
    backend = None
    try:
        _merge_manifest(out, plan)
        session = uuid.uuid4().hex
        from .recording import write_text

        write_text(out / ".session", session + "\n")
        for p in (out / RUNS_DIR).glob(".*.tmp"):   # debris of a killed writer (we hold the lock)
            p.unlink(missing_ok=True)
        _clear_inflight(out)
        records, todo = {}, []
        for r in plan.runs:
            rec = read_run(out / RUNS_DIR / f"{r['key']}.json", r["key"])
            if rec is not None and not (retry_failed and rec["status"] == "failed"):
                records[r["key"]] = rec
            else:
                todo.append(r)
        n_reused = len(records)
        n_workers = 1 if scheduler == "serial" else (workers or default_workers())
        if todo and scheduler not in ("processes", "serial"):
            backend = _Dask(scheduler, n_workers)
            n_workers = backend.n_workers
        batches = make_batches(todo, n_workers, batch_size)
        if todo and scheduler == "processes":
            n_workers = min(n_workers, len(batches))
            backend = _Pool(n_workers, plan.base, plan.source)
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
                    _run_batch(dict(base_task, runs=b, specs=plan.specs), on_record=absorb)
            elif batches:
                _drive(backend, batches, base_task, out, absorb, wanted, max_attempts, records, session)
        except BaseException as e:     # Ctrl-C, or the sweep cannot go on: keep what is done
            write_text(out / ".session", "stopped\n")      # orphaned tasks stop at their next run
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
        _clear_inflight(out)
        lock.release()


def _finish(out: Path, plan: SweepPlan, records: dict):
    """Write the table of every grid in DIR."""
    m = load_manifest(out)
    mine = _canon(_grid_entry(plan))
    others = iter(_manifest_plans({**m, "grids": [g for g in m["grids"] if _canon(g) != mine]}))
    plans = [plan if _canon(g) == mine else next(others) for g in m["grids"]]
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
        rec = _failed_record(base_task, run, attempts, error, phase)
        _write_file_atomic(runs_dir / f"{run['key']}.json", _dump(rec))
        absorb(rec)

    def absorb_result(res):
        for rec in res["records"]:
            p = runs_dir / f"{rec['key']}.json"
            if rec.get("session") == session and rec["key"] in wanted and not p.exists():
                _write_file_atomic(p, _dump(rec))       # the worker could not (no shared directory)
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
                victims = [k for k in _collect_inflight(out, session) if k in wanted]
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


def _clear_inflight(out: Path) -> None:
    d = out / INFLIGHT_DIR
    if d.is_dir():
        for p in d.iterdir():
            p.unlink(missing_ok=True)


# ---------------------------------------------------------------------------------------- plots
def _num(v):
    if isinstance(v, bool) or v is None:
        return None
    if isinstance(v, (int, float)):
        return float(v)
    return None


def plot_sweep(rows, x: str, y: str | None = None, stats=("rate_hz",), populations=None, axes=None,
               title: str | None = None):
    """Draw a sweep: lines over one axis (mean and seed spread), heat maps over two.

    Parameters
    ----------
    rows : table rows (``collect_rows`` / ``load_results``); failed runs are skipped.
    x : the axis on the horizontal; ``y`` : a second axis (heat maps of the mean over seeds and
        of the seed standard deviation, one row of panels per population).
    stats : statistic names (``rate_hz``, ``isi_burst_excess``, ``burst_reset_fraction``, ``cv_isi``, ...).
    populations : populations to draw (default: every one in the table).
    axes : matplotlib axes to draw into (default: a new figure).
    title : figure title (default: what is drawn; failed runs are counted there).

    Returns
    -------
    matplotlib.figure.Figure
    """
    import numpy as np

    from .plotting import POP_COLORS, _plt

    ok = [r for r in rows if r.get("status") == "done"]
    n_failed = sum(r.get("status") == "failed" for r in rows)
    if populations is None:
        populations = []
        for r in ok:
            populations += [c.split(".", 1)[0] for c in r if c.endswith(".n_spikes") and
                            c.split(".", 1)[0] not in populations and c not in (x, y)]
    stats = list(stats)
    if ok:
        known = sorted({c.split(".", 1)[1] for c in ok[0] if c.split(".", 1)[0] in populations and "." in c})
        from .analysis import RENAMED

        for s in stats:
            if s in RENAMED and s not in known:
                raise SpecError("--stat", s, f"its new name: {s} was renamed to {RENAMED[s]}")
            if s not in known:
                raise SpecError("--stat", s, f"a statistic of the table, one of {known}")

    def values(key):
        vs = []
        for r in ok:
            v = r.get(key)
            if all(_canon(v) != _canon(u) for u in vs):
                vs.append(v)
        return sorted(vs, key=_sort_value)

    plt = _plt()
    xs = values(x)
    xnum = all(_num(v) is not None for v in xs)
    xpos = [(_num(v) if xnum else k) for k, v in enumerate(xs)]
    note = f" ({n_failed} failed runs not shown)" if n_failed else ""
    if y is None:
        if axes is None:
            fig, axes = plt.subplots(len(stats), 1, figsize=(6.5, 2.8 * len(stats) + 0.4), squeeze=False)
            axes = axes[:, 0]
        axes = list(np.atleast_1d(axes))
        fig = axes[0].figure
        for ax, s in zip(axes, stats):
            for ci, p in enumerate(populations):
                col = f"{p}.{s}"
                means, sds = [], []
                for k, xv in enumerate(xs):
                    v = np.array([_num(r.get(col)) if _num(r.get(col)) is not None else np.nan
                                  for r in ok if _canon(r.get(x)) == _canon(xv)], float)
                    ax.plot(np.full(v.size, xpos[k]), v, ".", color=POP_COLORS[ci % len(POP_COLORS)], alpha=0.35, ms=4)
                    means.append(np.nanmean(v) if np.isfinite(v).any() else np.nan)
                    sds.append(np.nanstd(v) if np.isfinite(v).any() else np.nan)
                m, sd = np.array(means), np.array(sds)
                ax.plot(xpos, m, "-o", color=POP_COLORS[ci % len(POP_COLORS)], ms=3, label=p)
                ax.fill_between(xpos, m - sd, m + sd, color=POP_COLORS[ci % len(POP_COLORS)], alpha=0.2, lw=0)
            ax.set_ylabel(s)
            if not xnum:
                ax.set_xticks(xpos, [str(v) for v in xs], rotation=20)
        axes[-1].set_xlabel(x)
        axes[0].legend(fontsize=7, title="mean ± SD over seeds", title_fontsize=7)
        axes[0].set_title(f"{title or 'sweep over ' + x}{note}", fontsize=9)
        fig.tight_layout()
        return fig
    ys = values(y)
    ynum = all(_num(v) is not None for v in ys)
    panels = [(p, s) for p in populations for s in stats]
    if axes is None:
        fig, axes = plt.subplots(len(panels), 2, figsize=(9.5, 3.2 * len(panels) + 0.4), squeeze=False)
    axes = np.asarray(axes).reshape(len(panels), 2)
    fig = axes[0, 0].figure
    for (p, s), (a_mean, a_sd) in zip(panels, axes):
        col = f"{p}.{s}"
        mean = np.full((len(ys), len(xs)), np.nan)
        sd = np.full_like(mean, np.nan)
        for iy, yv in enumerate(ys):
            for ix, xv in enumerate(xs):
                v = np.array([_num(r.get(col)) if _num(r.get(col)) is not None else np.nan for r in ok
                              if _canon(r.get(x)) == _canon(xv) and _canon(r.get(y)) == _canon(yv)], float)
                if np.isfinite(v).any():
                    mean[iy, ix], sd[iy, ix] = np.nanmean(v), np.nanstd(v)
        for ax, data, what in ((a_mean, mean, "mean"), (a_sd, sd, "SD over seeds")):
            im = ax.imshow(data, origin="lower", aspect="auto", cmap="viridis" if what == "mean" else "magma")
            ax.set_xticks(range(len(xs)), [f"{v:g}" if xnum else str(v) for v in xs], fontsize=7, rotation=30)
            ax.set_yticks(range(len(ys)), [f"{v:g}" if ynum else str(v) for v in ys], fontsize=7)
            ax.set_xlabel(x, fontsize=8)
            ax.set_ylabel(y, fontsize=8)
            ax.set_title(f"{p}: {s} ({what})", fontsize=9)
            fig.colorbar(im, ax=ax)
    if note or title:
        fig.suptitle(f"{title or ''}{note}".strip(), fontsize=9)
    fig.tight_layout()
    return fig
