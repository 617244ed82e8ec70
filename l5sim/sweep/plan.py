"""Planning a sweep: validate every grid point, derive the run keys, pack runs into batches.

Nothing runs here and nothing is written: :func:`plan_sweep` turns a circuit, grid axes and
seeds into a :class:`SweepPlan` (every run with its key and estimated cost), raising
:class:`l5sim.errors.SpecError` for any bad axis, key, value, seed or duration before a single
run starts; :func:`make_batches` packs the runs into tasks for the backends
(:mod:`l5sim.sweep.backends`). The batch rule is in the package docstring (:mod:`l5sim.sweep`).
"""
from __future__ import annotations

import hashlib
import itertools
import json
import math
from dataclasses import dataclass, field

from ..errors import SpecError

#: What a run keeps: statistics only, or also its full recording.
KEEP_MODES = ("summary", "recording")

#: Cost model of one run (seconds), used only to size batches. Measured on one core:
#: l5_cell (1 neuron) costs ~1-2 ms a run whatever its length up to seconds (build, summary,
#: files); l5_column (510 neurons, 10^4 steps) ~0.45 s, i.e. ~90 ns per neuron-step.
COST_PER_RUN_S = 2e-3
COST_PER_NEURON_STEP_S = 1e-7
#: Batch (task) duration bounds (s) and tasks per worker wanted for load balance.
MIN_TASK_S = 0.2
MAX_TASK_S = 1.0
TASKS_PER_WORKER = 4


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


def canonical(x) -> str:
    """A value as canonical JSON text (sorted keys): equal values, equal text."""
    return json.dumps(x, sort_keys=True)


def lookup(data: dict, key: str):
    """The value at a dotted key path of nested dicts, or None where the path ends early."""
    node = data
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


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
    from ..experiments import parse_grid

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
                from ..spec import apply_overrides, from_dict

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
    from ..spec import CircuitSpec, load_circuit

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
        axes[key] = [_like(lookup(base, key), v) for v in values]
        if len({canonical(v) for v in axes[key]}) != len(values):
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
