"""The on-disk store of a sweep: its format, the run files, the manifest, the lock of the
directory and the in-flight records of worker processes.

Layout of ``DIR`` (see :mod:`l5sim.sweep`)::

    sweep.json          manifest: the circuit (after --set), duration, keep mode, grids, seeds
    runs/KEY.json       one file per finished run (status "done" or "failed"), written atomically
    recordings/KEY/     full recordings (keep="recording" only): recording.npz + metadata.json
    results.csv         the table (:mod:`l5sim.sweep.tables`), results.parquet with pyarrow
    .lock, .session     held / written by the sweep process that owns DIR
    .inflight/HOST-PID  while a local pool runs: the run each worker process is computing
"""
from __future__ import annotations

import json
import math
import os
import socket
from pathlib import Path

from .._io import atomic_write
from ..errors import L5SimError
from .plan import SweepPlan, canonical, plan_sweep

FORMAT = "l5sim-sweep"
FORMAT_VERSION = 1
RUN_FORMAT = "l5sim-sweep-run"
RUNS_DIR = "runs"
RECORDINGS_DIR = "recordings"
MANIFEST = "sweep.json"
TABLE = "results.csv"
PARQUET = "results.parquet"
SESSION_FILE = ".session"
INFLIGHT_DIR = ".inflight"
#: Bytes of one in-flight record (``SESSION KEY``, padded; rewritten in place).
INFLIGHT_LEN = 96

#: In-flight record files this process holds open: sweep directory -> file descriptor.
_INFLIGHT_FDS: dict = {}


class SweepError(L5SimError):
    """A sweep cannot start or go on (a different sweep in DIR, workers that cannot start, ...)."""


# ------------------------------------------------------------------------------ run files, manifest
def jsonable(x):
    """Plain JSON without NaN or infinity (those become null), NumPy scalars as numbers."""
    if isinstance(x, dict):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [jsonable(v) for v in x]
    if hasattr(x, "item") and not isinstance(x, (str, bytes)):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def write_file_atomic(path: Path, text: str) -> None:
    """Temporary file in the same directory, then rename: readers see all or nothing.

    No fsync: run files are small and many (an fsync costs ~4 ms here, more than a one-cell
    run). A process killed at any point leaves a whole file or none; after an OS crash a file
    can be empty, and :func:`read_run` then treats the run as missing and it is recomputed.
    """
    atomic_write(path, lambda fh: fh.write(text.encode("utf-8")), fsync=False)


def dump_record(rec: dict) -> str:
    """A run record as compact JSON text (NaN is not allowed: :func:`jsonable` first)."""
    return json.dumps(rec, separators=(",", ":"), allow_nan=False)


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


def merge_manifest(out: Path, plan: SweepPlan) -> dict:
    """Create DIR/sweep.json, or extend it with this grid; refuse a different circuit,
    duration or keep mode (their runs would not be comparable rows of one table)."""
    from .. import __version__

    grid = grid_entry(plan)
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
        if canonical(grid) not in [canonical(g) for g in m["grids"]]:
            m["grids"] = list(m["grids"]) + [grid]
    from ..recording import write_text

    if m != old:   # key order kept (the circuit's table order is part of what it means)
        write_text(out / MANIFEST, json.dumps(m, indent=1, allow_nan=False) + "\n")
    return m


def grid_entry(plan: SweepPlan) -> dict:
    """A grid as stored in the manifest: axes as [key, values] pairs, in order."""
    return {"axes": [[k, v] for k, v in plan.axes.items()], "seeds": plan.seeds}


def manifest_plans(m: dict) -> list:
    """Plans of every grid recorded in a manifest (from its stored circuit; no file needed)."""
    from ..spec import from_dict

    spec = from_dict(m["circuit"], source=m.get("circuit_path"))
    return [plan_sweep(spec, g["axes"], g["seeds"], m["duration_ms"], keep=m["keep"]) for g in m["grids"]]


# ------------------------------------------------------------------------------------- the lock
class SweepLock:
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


# ----------------------------------------------------------------------------- in-flight records
def session_current(out: Path, session: str) -> bool:
    """False when another invocation has taken over DIR (this task is an orphan: stop)."""
    try:
        return (out / SESSION_FILE).read_text().strip() == session
    except OSError:
        return True  # no shared file system (remote worker): nothing to compare with


def set_inflight(out: str, text: str) -> None:
    """Record the run this process is computing in ``DIR/.inflight/HOST-PID`` (one small file
    per process, opened once, overwritten in place: no file is created per run). A process
    that dies leaves its last run there; one that ends normally or on SIGTERM clears it."""
    fd = _INFLIGHT_FDS.get(out)
    if fd is None:
        d = Path(out) / INFLIGHT_DIR
        d.mkdir(exist_ok=True)
        fd = os.open(d / f"{socket.gethostname()}-{os.getpid()}", os.O_RDWR | os.O_CREAT, 0o644)
        _INFLIGHT_FDS[out] = fd
    os.pwrite(fd, text.ljust(INFLIGHT_LEN - 1).encode()[:INFLIGHT_LEN - 1] + b"\n", 0)


def clear_own_inflight() -> None:
    """Empty every in-flight record this process holds (a worker stopped on purpose: its run
    in flight is not one that killed a worker)."""
    for out in list(_INFLIGHT_FDS):
        try:
            set_inflight(out, "")
        except OSError:
            pass


def collect_inflight(out: Path, session: str) -> list:
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


def clear_inflight(out: Path) -> None:
    d = out / INFLIGHT_DIR
    if d.is_dir():
        for p in d.iterdir():
            p.unlink(missing_ok=True)
