"""Memory and time of a build, a run or a sweep, estimated before anything is allocated.

A circuit with ``populations.pyr.n = 50000000`` used to pass validation and ask for 2.66 PiB
after 34 s of drawing; ``--duration 1e15`` asked for 284 PiB of trace buffer; a sweep grid
of 1e8 points planned silently for minutes (issue 13). The estimates here are computed from
sizes alone (no drawing, no allocation) and compared with the machine's memory (physical
memory, or a cgroup's limit when lower) and with stated limits; a :class:`SizeError` gives
the estimate, the limit and how to override it.

Limits and overrides (environment variables, read at each check):

``L5SIM_MAX_MEMORY_GB``
    memory a build or a run may take (default: the machine's memory).
``L5SIM_MAX_HOURS``
    estimated compute time of one run (default 168 h, a week).
``L5SIM_MAX_SWEEP_RUNS``
    runs (points x seeds) of a sweep (default 1e6).
``L5SIM_SIZE_CHECK=0``
    skip every check (the estimates are still available from the functions).

The constants are measured, stated where they are defined; they are upper-side estimates
of the dominant arrays, not an accounting of every byte.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, field

from .errors import SizeError

#: Peak bytes per drawn synapse (or Bernoulli candidate of a sparse rule) while building:
#: 75 bytes measured with tracemalloc on l5_column at scale 10 (5100 neurons, 290k
#: synapses: CSR arrays, the candidates' distances and draws, the transposed index).
BYTES_PER_SYNAPSE_BUILD = 100
#: Bytes per synapse kept in a built circuit (float32 weight, int32 target, uint16 delay,
#: int32 transposed index): 10 measured on l5_column.
BYTES_PER_SYNAPSE = 10
#: Build time per synapse: 0.58 us measured on l5_column at scale 10 (0.17 s for 290k).
SECONDS_PER_SYNAPSE_BUILD = 1e-6
#: Bytes of state per neuron of a run (about 40 float64 arrays and their copies).
BYTES_PER_NEURON = 400
#: Receptor channels of the delay ring (l5sim.kernels.engine.NCH).
N_CHANNELS = 12
#: Rate at which the event lists hold one step's arrivals (l5sim.kernels.events.EVENT_RATE_HZ).
EVENT_RATE_HZ = 100.0
#: Run time per neuron and step: 47 ns measured on the column scaled to 10k cells
#: (0.47 s per 100 ms serially, l5sim.simulation.PARALLEL_MIN_NEURONS); synaptic events add
#: to it with the firing rates, so this is a lower bound.
SECONDS_PER_NEURON_STEP = 4.7e-8

DEFAULT_MAX_HOURS = 168.0
DEFAULT_MAX_SWEEP_RUNS = 1_000_000


@dataclass
class Estimate:
    """What a piece of work needs: peak bytes, seconds, and the items that dominate."""

    what: str
    bytes: float
    seconds: float
    parts: dict = field(default_factory=dict)

    def describe(self) -> str:
        top = sorted(self.parts.items(), key=lambda kv: -kv[1])[:3]
        parts = ", ".join(f"{k} {format_bytes(v)}" for k, v in top if v > 0)
        return (f"{self.what} needs about {format_bytes(self.bytes)} and {format_seconds(self.seconds)}"
                + (f" ({parts})" if parts else ""))


def format_bytes(n: float) -> str:
    for unit, size in (("PiB", 2 ** 50), ("TiB", 2 ** 40), ("GiB", 2 ** 30), ("MiB", 2 ** 20), ("KiB", 2 ** 10)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{n:.0f} B"


def format_seconds(s: float) -> str:
    for unit, size in (("years", 3.156e7), ("days", 86400.0), ("h", 3600.0), ("min", 60.0)):
        if s >= size:
            return f"{s / size:.3g} {unit}"
    return f"{s:.2g} s"


def machine_memory_bytes() -> float:
    """Physical memory, or the cgroup's memory limit when that is lower (containers)."""
    try:
        total = float(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        total = math.inf
    for f in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            with open(f) as fh:
                v = fh.read().strip()
        except OSError:
            continue
        if v.isdigit():
            total = min(total, float(v))
    return total


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name, "")
    if not raw:
        return default
    try:
        v = float(raw)
    except ValueError:
        v = math.nan
    if not v > 0:
        from .errors import SpecError

        raise SpecError(name, raw, "a number > 0 (environment variable)")
    return v


def enabled() -> bool:
    return os.environ.get("L5SIM_SIZE_CHECK", "1") != "0"


def memory_limit() -> tuple[float, str]:
    env = os.environ.get("L5SIM_MAX_MEMORY_GB", "")
    if env:
        return _env_float("L5SIM_MAX_MEMORY_GB", 1.0) * 2 ** 30, "L5SIM_MAX_MEMORY_GB"
    return machine_memory_bytes(), "this machine's memory"


_OVERRIDE = ("set L5SIM_MAX_MEMORY_GB / L5SIM_MAX_HOURS to raise the limit, or L5SIM_SIZE_CHECK=0 to "
             "skip the check")


def check(est: Estimate, max_hours: float | None = None) -> Estimate:
    """Raise :class:`SizeError` when ``est`` exceeds the memory or time limit."""
    if not enabled():
        return est
    limit, which = memory_limit()
    if est.bytes > limit:
        raise SizeError(f"{est.describe()}: more than {which} ({format_bytes(limit)}); reduce it, or "
                        f"{_OVERRIDE}")
    hours = _env_float("L5SIM_MAX_HOURS", DEFAULT_MAX_HOURS) if max_hours is None else max_hours
    if est.seconds > hours * 3600.0:
        raise SizeError(f"{est.describe()}: more than the limit of {hours:g} h (L5SIM_MAX_HOURS); reduce it, "
                        f"or {_OVERRIDE}")
    return est


def pathway_synapses(pw, n_pre: int, n_post: int) -> float:
    """Upper-side expected synapse count of a pathway (for sparse rules: the Bernoulli
    candidates drawn before Gaussian thinning), from sizes alone."""
    c = pw.connectivity
    if c.rule in ("all_to_all", "gaussian_weight"):
        return float(n_pre) * n_post
    if c.rule in ("fixed_prob", "gaussian_prob"):
        return c.probability(n_pre) * float(n_pre) * n_post
    if c.rule == "fixed_outdegree":
        return float(n_pre) * c.outdegree
    if c.rule == "one_to_one":
        return float(n_pre)
    if c.rule == "pocket":
        return float(min(n_pre, n_post)) * c.pocket(n_pre, n_post)
    return float(n_pre) * n_post


def estimate_build(spec) -> Estimate:
    """Peak memory and time of :func:`l5sim.build` for ``spec`` (no drawing)."""
    pops = spec.populations
    n_neurons = sum(p.n for p in pops.values())
    parts = {}
    syn = 0.0
    for name, pw in spec.pathways.items():
        k = pathway_synapses(pw, pops[pw.pre].n, pops[pw.post].n)
        syn += k
        parts[f"pathway {name}"] = k * BYTES_PER_SYNAPSE_BUILD
    parts["neurons"] = n_neurons * BYTES_PER_NEURON
    return Estimate(f"building {spec.circuit.name!r} ({n_neurons} neurons, up to {syn:.3g} synapses)",
                    sum(parts.values()), syn * SECONDS_PER_SYNAPSE_BUILD, parts)


def _event_capacity(built) -> float:
    """An upper bound of one slot's event-list entries (l5sim.kernels.events.capacities:
    per tile of 256 targets, its synapse-receptor pairs x dt x 100 Hz, at least 32, in
    whole 8-entry lines)."""
    rec = built.net.synapses.path_rec_ptr
    pairs = sum(p.n_syn * int(rec[k + 1] - rec[k]) for k, p in enumerate(built.pathways.values()))
    return pairs * built.dt_ms * 1e-3 * EVENT_RATE_HZ + -(-built.n_neurons // 256) * (32 + 7)


def estimate_run(built, duration_ms: float, recording) -> Estimate:
    """Peak memory (state, delay ring, traces, weight snapshots, modulator levels) and a lower
    bound of the time of :func:`l5sim.simulate` (recorded spikes, 13 bytes each, depend on the
    activity and are not counted)."""
    dt = built.dt_ms
    n = built.n_neurons
    n_steps = duration_ms / dt
    parts = {"state": n * BYTES_PER_NEURON + built.n_synapses * BYTES_PER_SYNAPSE,
             # the ring (8 bytes per neuron and channel) and its dirty marks (1 byte per 8 neurons):
             # an upper bound, its pages are written only where the event lists spill
             "delay ring": (built.max_delay + 1) * N_CHANNELS * (n * 8.0 + -(-n // 8)),
             # the event lists (10 bytes per entry) and the step's arrivals (l5sim.kernels.events)
             "event lists": (built.max_delay + 1) * 10.0 * _event_capacity(built) + N_CHANNELS * n * 8.125,
             "spike buffer": max(3 * n, 200_000) * 13.0}
    traces = 0.0
    for tr in recording.traces.values():
        every = max(1, int(round(tr.interval_ms / dt)))
        traces += len(tr.neurons) * len(tr.variables) * (n_steps // every) * 8.0 * 2   # buffer + stacked copy
    parts["traces"] = traces
    spec = built.spec
    if spec.modulators:
        parts["modulator levels"] = (duration_ms / recording.modulators_interval_ms) * 8.0 * (1 + len(spec.modulators))
    w_paths = recording.weights if recording.weights is not None else built.plasticity.names
    if w_paths:
        every = max(1, int(round(recording.weights_interval_ms / dt)))
        snaps = n_steps / every + 2
        per = sum(built.pathways[p].syn_hi - built.pathways[p].syn_lo for p in w_paths) if recording.weights_full else 0
        parts["weight snapshots"] = snaps * (per * 4.0 * 2 + 64 * len(w_paths))
    est = Estimate(f"simulating {spec.circuit.name!r} for {duration_ms:g} ms ({n} neurons, {n_steps:.3g} steps)",
                   sum(parts.values()), n * n_steps * SECONDS_PER_NEURON_STEP, parts)
    return est


def check_build(spec) -> Estimate:
    """:func:`estimate_build` then :func:`check` (the builder calls this first)."""
    return check(estimate_build(spec))


def check_run(built, duration_ms: float, recording) -> Estimate:
    """:func:`estimate_run` then :func:`check` (:func:`l5sim.simulate` calls this first)."""
    return check(estimate_run(built, duration_ms, recording))


def check_sweep(n_points: float, n_seeds: int, what: str = "the sweep") -> float:
    """Refuse a sweep of more than ``L5SIM_MAX_SWEEP_RUNS`` runs (points x seeds) before its
    grid is expanded; returns the number of runs."""
    runs = float(n_points) * max(int(n_seeds), 1)
    if enabled():
        limit = _env_float("L5SIM_MAX_SWEEP_RUNS", DEFAULT_MAX_SWEEP_RUNS)
        if runs > limit:
            raise SizeError(f"{what} has {n_points:.4g} points x {n_seeds} seeds = {runs:.4g} runs, more than "
                            f"the limit of {limit:.4g} (set L5SIM_MAX_SWEEP_RUNS to raise it, or "
                            "L5SIM_SIZE_CHECK=0 to skip the check)")
    return runs
