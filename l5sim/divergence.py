"""Physical bounds of every model's state, checked between kernel chunks and on traces.

The kernels stop only at floating-point disaster (|v| >= 1e8 mV, ``l5sim.kernels.engine``):
far beyond physiology, so an absurd drive can run to the end and record nonsense (issue 13:
a dendrite at 3.4e7 mV, SOM cells at 3008 Hz). This module holds, per model, the range
that each state variable can physically take, and checks the state arrays that the chunked
loop of :func:`l5sim.simulate` hands back to Python every chunk (and recorded traces after a
run). A value outside its range, NaN or infinite is a divergence: with ``on_divergence =
"stop"`` (default) a :class:`~l5sim.errors.DivergenceError` names the population, neuron,
variable, value, bound and time; with ``"warn"`` a :class:`DivergenceWarning` says the same
once per population and variable and the run goes on.

Bounds and where they come from (units ms, mV, pA, nS, Hz):

* Membrane potentials ``v``, ``vd``: within +-1000 mV. A lipid membrane breaks down
  (electroporation) at 0.2-1 V across it (Weaver & Chizmadzhev 1996, Bioelectrochem.
  Bioenerg. 41:135), so no cell holds more; physiological values stay between the K+ and
  Ca2+ reversal potentials, about -100 and +130 mV (Hille 2001, ch. 1). Values above the
  spike cut-off of a population with ``spike_detection = "next_step"`` are spikes in
  transit, reset on the next step (the Izhikevich 2003 half-step scheme overshoots to ~1e3
  mV, which is why the kernel's own bound is 1e8): they are not checked against the upper
  bound.
* Recovery and adaptation currents ``u``, ``wd``: within +-1e5 pA (100 nA, two orders of
  magnitude above the few nA a cortical cell's membrane passes; Izhikevich 2007, ch. 8,
  fits of u stay below 2 nA). For the dimensionless 2003 form the same number bounds
  model units (its u stays within +-20 in the published network).
* Coupling gate ``kappa``: in [0, 1] (a fraction of the dendrite's coupling; Whyte et al.
  2025, science.md section 3).
* Conductances ``g_adapt`` and every receptor conductance: in [0, 1e5] nS. Conductances are
  non-negative by definition, and 100 uS is about a thousand times a cortical cell's
  input conductance under intense synaptic bombardment (tens of nS; Destexhe, Rudolph &
  Pare 2003, Nat. Rev. Neurosci. 4:739).
* Rates: a cortical neuron's absolute refractory period is about 1 ms (Hille 2001, ch. 2;
  fast-spiking interneurons sustain at most a few hundred Hz, Jonas et al. 2004), and a
  kernel cell fires at most once per step; a population firing faster on average than
  ``min(1000 Hz, 1 / (2 dt))`` gets a :class:`RateWarning` (the simulation is no longer
  a neuron's).

Tolerances: conductance lower bounds and the gate's bounds allow -1e-9 / 1 + 1e-9 for
rounding of exponential decay and of the gate update.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numba as nb
import numpy as np

from ._numba_config import NJIT
from .errors import DivergenceError

MODES = ("stop", "warn")

V_LIMIT_MV = 1000.0
CURRENT_LIMIT_PA = 1e5
CONDUCTANCE_LIMIT_NS = 1e5
MAX_RATE_HZ = 1000.0
_EPS = 1e-9
RECEPTOR_CONDUCTANCES = ("AMPA", "NMDA", "GABA_A", "GABA_B")


@nb.njit(**NJIT)
def first_out_of_range(x, start, stop, lo, hi, transit, cut):
    """The first index k in [start, stop) where ``x[k]`` is NaN or outside [lo, hi], as an
    offset from ``start`` (-1: none); with ``transit``, values at or above ``cut`` are
    spikes in transit and pass. One pass, no temporaries: the guard runs between every two
    kernel calls, where numpy's masks cost more than a short chunk of a small network."""
    for k in range(start, stop):
        v = x[k]
        if v >= lo and v <= hi:
            continue
        if transit and v >= cut:
            continue
        return k - start
    return -1


class DivergenceWarning(UserWarning):
    """A state variable left its physical range (``on_divergence = "warn"``)."""


class RateWarning(UserWarning):
    """A population fires faster than its model can (see the module docstring)."""


@dataclass(frozen=True)
class Bound:
    """Physical range of one state variable of one model."""

    variable: str
    lo: float
    hi: float
    unit: str
    why: str

    def describe(self) -> str:
        return f"[{self.lo:g}, {self.hi:g}] {self.unit}: {self.why}"


_V = Bound("v", -V_LIMIT_MV, V_LIMIT_MV, "mV", "beyond membrane breakdown")
_VD = Bound("vd", -V_LIMIT_MV, V_LIMIT_MV, "mV", "beyond membrane breakdown")
_U = Bound("u", -CURRENT_LIMIT_PA, CURRENT_LIMIT_PA, "pA", "100 nA, far above any membrane current")
_U03 = Bound("u", -CURRENT_LIMIT_PA, CURRENT_LIMIT_PA, "model units", "the 2003 network's u stays within +-20")
_WD = Bound("wd", -CURRENT_LIMIT_PA, CURRENT_LIMIT_PA, "pA", "100 nA, far above any membrane current")
_KAPPA = Bound("kappa", -_EPS, 1.0 + _EPS, "", "the coupling gate is a fraction")
_GAD = Bound("g_adapt", -_EPS, CONDUCTANCE_LIMIT_NS, "nS", "a conductance is >= 0 and far below 100 uS")


def _g_bounds(compartments):
    out = []
    for r in RECEPTOR_CONDUCTANCES:
        for suffix in compartments:
            out.append(Bound(f"g_{r}{suffix}", -_EPS, CONDUCTANCE_LIMIT_NS, "nS",
                             "a conductance is >= 0 and far below 100 uS"))
    return tuple(out)


#: Per model, the bounded state variables (names as in ``recording.traces``).
BOUNDS = {
    "l5_pyramidal": (_V, _U, _VD, _WD, _KAPPA, _GAD) + _g_bounds(("", "_d")),
    "izhikevich2007": (_V, _U) + _g_bounds(("",)),
    "izhikevich2003": (_V, _U03) + _g_bounds(("",)),
}


def max_rate_hz(model: str, dt_ms: float) -> float:
    """Highest mean rate a population of ``model`` can fire at step ``dt_ms`` (Hz); ``inf``
    for spike sources (their rate is an input, checked on load)."""
    if model not in BOUNDS:
        return math.inf
    return min(MAX_RATE_HZ, 1e3 / (2.0 * dt_ms))


def check_mode(mode: str) -> str:
    from .errors import SpecError

    if mode not in MODES:
        raise SpecError("on_divergence", mode, f"one of {list(MODES)}")
    return mode


class Guard:
    """Checks a running simulation's state against :data:`BOUNDS`.

    Parameters
    ----------
    populations : ``[(name, model, start, stop, next_step, vpeak_mV)]`` in index order;
        ``vpeak_mV`` is the spike cut-off (an upper bound on v for the reset rule) or None.
    dt_ms : integration step.
    mode : ``"stop"`` (raise :class:`DivergenceError`) or ``"warn"``.
    """

    #: Biological time between two checks of the state (ms): chunks can be much shorter
    #: (they end at every pulse edge), and a diverged state stays diverged.
    STATE_INTERVAL_MS = 10.0
    #: Spikes are counted over windows of at least this long before rates are judged (ms).
    RATE_WINDOW_MS = 100.0

    def __init__(self, populations, dt_ms: float, mode: str = "stop"):
        self.populations = list(populations)
        self.dt_ms = float(dt_ms)
        self.mode = check_mode(mode)
        self.warned = set()
        self.n_checks = 0
        self._last_state_ms = -math.inf
        self._acc = np.zeros(len(self.populations), np.int64)
        self._acc_ms = 0.0

    def after_chunk(self, arrays, counts, window_ms: float, time_ms: float, final: bool = False) -> None:
        """The check between two kernel calls: the state (``arrays``, see
        :meth:`check_state`) at most every :attr:`STATE_INTERVAL_MS` and at the end
        (``final``), and the spikes of the call (``counts`` per population over
        ``window_ms``), judged over windows of :attr:`RATE_WINDOW_MS`."""
        if final or time_ms - self._last_state_ms >= self.STATE_INTERVAL_MS:
            self._last_state_ms = time_ms
            self.check_state(arrays, time_ms)
        self._acc += np.asarray(counts, np.int64)
        self._acc_ms += window_ms
        if self._acc_ms >= self.RATE_WINDOW_MS or (final and self._acc_ms > 0):
            self.check_rates(self._acc, self._acc_ms, time_ms)
            self._acc[:] = 0
            self._acc_ms = 0.0

    def _report(self, pop, neuron, time_ms, bound, value, where="") -> None:
        err = DivergenceError(pop, neuron, time_ms, bound.variable, float(value),
                              bound=bound.describe() + where)
        if self.mode == "stop":
            raise err
        key = (pop, bound.variable)
        if key not in self.warned:
            self.warned.add(key)
            warnings.warn(DivergenceWarning(str(err)), stacklevel=3)

    def check_state(self, arrays, time_ms: float) -> None:
        """Check the named state arrays (full network length each, e.g. ``{"v": ...}``) at
        ``time_ms``; a variable missing from ``arrays`` is not checked."""
        self.n_checks += 1
        where = " (state checked at the end of a kernel chunk)"
        for name, model, lo, hi, next_step, vpeak in self.populations:
            for bound in BOUNDS.get(model, ()):
                arr = arrays.get(bound.variable)
                if arr is None or hi <= lo:
                    continue
                # NaN is bad too; a v at or above the cut-off of a next-step population is
                # a spike in transit
                transit = bound.variable == "v" and next_step and vpeak is not None
                k = first_out_of_range(arr, lo, hi, bound.lo, bound.hi, transit, vpeak if transit else 0.0)
                if k >= 0:
                    self._report(name, k, time_ms, bound, arr[lo + k], where)

    def check_rates(self, counts, window_ms: float, time_ms: float) -> None:
        """Warn (:class:`RateWarning`) when a population fired more spikes in the last
        ``window_ms`` (``counts[p]``, populations in order) than cells with a refractory
        period of 1 / :func:`max_rate_hz` can: at most ``limit x window + 1`` per cell (the
        +1 for a spike at each edge, so that short windows never warn by chance); once per
        population."""
        if window_ms <= 0:
            return
        for (name, model, lo, hi, _, _), c in zip(self.populations, counts):
            n = hi - lo
            if n <= 0 or ("rate", name) in self.warned:
                continue
            rate = c / (n * window_ms * 1e-3)
            limit = max_rate_hz(model, self.dt_ms)
            if c > n * (limit * window_ms * 1e-3 + 1.0):
                self.warned.add(("rate", name))
                warnings.warn(RateWarning(
                    f"population {name!r} ({model}) fired at {rate:.4g} Hz on average over "
                    f"{time_ms - window_ms:.1f}-{time_ms:.1f} ms, above the {limit:g} Hz that its model can "
                    f"fire (refractory period ~1 ms, one spike per step of {self.dt_ms} ms): the drive or "
                    "weights are unphysiological"), stacklevel=3)


def guard_for(built, mode: str = "stop") -> Guard:
    """A :class:`Guard` for a built circuit (its populations, models, cut-offs and dt)."""
    pops = []
    for k, name in enumerate(built.pop_names):
        ps = built.spec.populations[name]
        lo, hi = int(built.net.neurons.pop_start[k]), int(built.net.neurons.pop_start[k + 1])
        vpeak = None
        if ps.model in BOUNDS:
            p = ps.cell_params()
            vpeak = float(getattr(p, "vpeak_mV", math.nan))
            if getattr(p, "vpeak_u", 0.0):
                vpeak = -math.inf       # u-dependent cut-off: any v at or above it may be in transit
        pops.append((name, ps.model, lo, hi, ps.spike_detection == "next_step", vpeak))
    return Guard(pops, built.dt_ms, mode)


def check_arrays(traces, trace_t_ms, trace_neurons, spec, guard: Guard) -> int:
    """Check recorded traces (``{population: {variable: (samples, neurons) array}}`` with
    their sample times and neuron indices, as in a :class:`~l5sim.recording.Recording`)
    against :data:`BOUNDS`, reporting through ``guard``; returns the samples checked."""
    checked = 0
    for pop, vs in traces.items():
        ps = spec.populations[pop]
        bounds = {b.variable: b for b in BOUNDS.get(ps.model, ())}
        p = ps.cell_params() if ps.model in BOUNDS else None
        for var, arr in vs.items():
            b = bounds.get(var)
            x = np.asarray(arr, np.float64)
            if b is None or x.size == 0:
                continue
            checked += x.size
            bad = ~((x >= b.lo) & (x <= b.hi))
            if var == "v" and ps.spike_detection == "next_step" and p is not None:
                cut = p.vpeak_mV if not getattr(p, "vpeak_u", 0.0) else -math.inf
                bad &= ~(x >= cut)
                bad |= np.isnan(x)
            if bad.any():
                row, col = np.unravel_index(int(np.argmax(bad)), bad.shape)
                guard._report(pop, int(trace_neurons[pop][col]), float(trace_t_ms[pop][row]), b, x[row, col],
                              " (recorded trace)")
    return checked


def check_recording(recording, spec, mode: str = "stop") -> int:
    """Check a saved or fresh recording's traces against :data:`BOUNDS` (at their exact
    sample times) and its populations' mean rates against :func:`max_rate_hz`; returns the
    number of trace samples checked. ``spec`` is the circuit it was run from."""
    dt = float(recording.metadata.get("dt_ms", spec.dt_ms))
    guard = Guard([], dt, mode)
    n = check_arrays(recording.traces, recording.trace_t_ms, recording.trace_neurons, spec, guard)
    edges = np.asarray(recording.pop_start, np.int64)          # first index of each, then the total
    names = list(recording.pop_names)
    guard.populations = [(nm, spec.populations[nm].model, int(edges[k]), int(edges[k + 1]), False, None)
                         for k, nm in enumerate(names)]
    duration = float(recording.metadata.get("duration_ms", 0.0))
    counts = np.zeros(len(names), np.int64)
    if recording.spike_i.size:
        pop = np.searchsorted(edges, recording.spike_i, side="right") - 1
        counts = np.bincount(pop, minlength=len(names))[:len(names)]
    guard.check_rates(counts, duration, duration)
    return n
