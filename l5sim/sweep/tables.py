"""The results table of a sweep: one row per run, assembled from the run files.

:func:`collect_rows` reads every run of every grid in ``DIR/sweep.json`` (the same run, found
from two grids, is one row), :func:`write_table` writes ``results.csv`` (and
``results.parquet`` when pyarrow imports), :func:`load_results` reads a directory back.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

from .._io import atomic_write
from .plan import lookup
from .store import MANIFEST, PARQUET, RUNS_DIR, TABLE, SweepError, load_manifest, manifest_plans, read_run

#: Table columns that describe how a run was executed (differ between schedulers, not results).
EXECUTION_COLUMNS = ("wall_s", "build_s", "simulate_s", "attempts", "worker")


def sort_value(v):
    """Sort key of a grid value: missing first, then numbers (booleans as 0/1), then text."""
    if isinstance(v, bool):
        return (1, int(v), "")
    if isinstance(v, (int, float)):
        return (1, float(v), "")
    if v is None:
        return (0, 0.0, "")
    return (2, 0.0, json.dumps(v, sort_keys=True) if not isinstance(v, str) else v)


def record_row(rec: dict, axes: list, base: dict | None = None) -> dict:
    """One table row from a run record: run key, axis values, seed, status, error,
    per-population statistics (``POP.STAT``), duration, timing and where it ran."""
    params = rec.get("params", {})
    row = {"run": rec["key"]}
    for k in axes:
        row[k] = params[k] if k in params else (lookup(base, k) if base is not None else None)
    row.update({"seed": rec["seed"], "status": rec["status"], "error": rec.get("error")})
    for pop, stats in (rec.get("summary") or {}).items():
        for name, v in stats.items():
            row[f"{pop}.{name}"] = v
    t = rec.get("timing_s") or {}
    row.update({"duration_ms": rec.get("duration_ms"), "wall_s": t.get("total"), "build_s": t.get("build"),
                "simulate_s": t.get("simulate"), "attempts": rec.get("attempts"), "worker": rec.get("worker"),
                "circuit_hash": rec.get("circuit_hash"), "recording": rec.get("recording")})
    return row


def check_renamed(out, rows) -> None:
    """Old run files carry burst statistics that were renamed: say so instead of mixing them."""
    from ..analysis import RENAMED, renamed_columns

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
        plans = manifest_plans(m)
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
    check_renamed(out, rows)
    rows.sort(key=lambda row: tuple(sort_value(row[k]) for k in axes) + (sort_value(row["seed"]),))
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

    from ..recording import write_text

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
