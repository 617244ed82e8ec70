"""Closed-loop trials: present stimuli, read a choice from population activity, deliver an
outcome with neuromodulator levels, keep the network's state between trials.

A trial has two phases, each one :meth:`l5sim.session.Session.run` (the kernel advances
in chunks; no Python runs per time step):

1. **stimulus** (``stimulus_ms``): the task's poisson populations are set to the rates it
   asks for (the others to their rest rates); the spikes of this phase give each
   population's rate (:class:`Activity`), from which the caller reads the choice;
2. **outcome** (``outcome_ms``): the rest rates again, and the modulator levels the caller
   gives (a number or one value per step), e.g. a dopamine pulse sized by the reward
   prediction error; plasticity with a ``dopamine`` modulator turns them into weight changes.

Example (a second, simpler task than Go/No-Go: one cue, and the network is rewarded
whenever population ``go_e`` outfires ``nogo_e``; levels from a fixed reward)::

    import numpy as np, l5sim
    from l5sim.trials import TrialLoop, dopamine_pulse

    built = l5sim.build(l5sim.load_circuit("circuits/gonogo.toml"), seed=1)
    loop = TrialLoop(l5sim.Session(built, seed=1))
    for k in range(20):
        act = loop.present({"cue_A": 40.0})
        go = act.rate_hz("go_e") > act.rate_hz("nogo_e")
        reward = 1.0 if go else 0.0
        unchosen = "A_nogo" if go else "A_go"      # credit to the chosen group only
        loop.session.gate_plasticity(unchosen, False)
        loop.outcome({"DA": dopamine_pulse(reward - 0.5, 0.05, 200.0, loop.outcome_ms, loop.dt_ms)})
        loop.session.gate_plasticity(unchosen, True)
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .errors import SpecError


@dataclass(frozen=True)
class Activity:
    """The spikes of one stimulus phase, per population."""

    counts: dict            # population -> spikes per neuron (array)
    bursts: dict            # population -> burst-reset spikes per neuron (array)
    duration_ms: float

    def rate_hz(self, population: str) -> float:
        """Mean rate of ``population`` over the phase (Hz)."""
        if population not in self.counts:
            raise SpecError("population", population, f"a population of the circuit: {sorted(self.counts)}")
        c = self.counts[population]
        return float(c.mean()) / (self.duration_ms * 1e-3) if c.size else 0.0

    def burst_share(self, populations) -> float:
        """Share of the spikes of ``populations`` fired in burst reset (nan without spikes)."""
        n = sum(int(self.counts[p].sum()) for p in populations)
        return sum(int(self.bursts[p].sum()) for p in populations) / n if n else float("nan")


def net_rate_hz(activity: Activity, excitatory: str, inhibitory: str) -> float:
    """Mean excitatory rate minus mean inhibitory rate (Hz): the readout of an actor group
    and of the critic in the review's case study (arXiv 2501.06762, section 6)."""
    return activity.rate_hz(excitatory) - activity.rate_hz(inhibitory)


def dopamine_pulse(amplitude: float, gain: float, tau_ms: float, duration_ms: float, dt_ms: float) -> np.ndarray:
    """One value per step of a phase: gain x amplitude x exp(-t / tau), the phasic dopamine
    that follows an outcome (Izhikevich 2007: DA += reward, DA decays with tau 200 ms)."""
    t = np.arange(int(round(duration_ms / dt_ms))) * dt_ms
    return gain * amplitude * np.exp(-t / tau_ms)


def entropy_bits(p_go: float) -> float:
    """Entropy (bits) of a two-action choice with P(go) = ``p_go``:
    -sum_a P(a) log2 P(a) (0 for a certain choice, 1 at chance)."""
    h = 0.0
    for p in (p_go, 1.0 - p_go):
        if p > 0:
            h -= p * math.log2(p)
    return h


class TrialLoop:
    """Stimulus and outcome phases over a :class:`~l5sim.session.Session`.

    Parameters
    ----------
    session : the session (its state carries over from trial to trial).
    stimulus_ms, outcome_ms : phase lengths (ms).
    """

    def __init__(self, session, stimulus_ms: float = 500.0, outcome_ms: float = 500.0):
        for name, v in (("stimulus_ms", stimulus_ms), ("outcome_ms", outcome_ms)):
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
                raise SpecError(name, v, "a finite number of milliseconds > 0")
        self.session = session
        self.stimulus_ms, self.outcome_ms = float(stimulus_ms), float(outcome_ms)
        self.dt_ms = session.dt_ms
        b = session.built
        self._sources = [p for p in b.pop_names if b.spec.populations[p].model == "poisson"]
        self._rest = {p: float(b.spec.populations[p].rate_hz) for p in self._sources}
        self._slices = b.pop_slices
        self._starts = np.asarray([b.pop_slices[p].start for p in b.pop_names] + [b.n_neurons], np.int64)

    def check_populations(self, names, what: str = "population") -> None:
        """Raise a :class:`~l5sim.errors.SpecError` naming any of ``names`` the circuit lacks."""
        for n in names:
            if n not in self._slices:
                raise SpecError(what, n, f"a population of the circuit: {sorted(self._slices)}")

    def _rest_rates(self):
        for p, r in self._rest.items():
            self.session.set_rate(p, r)

    def _activity(self, si, sb, duration_ms):
        b = self.session.built
        counts, bursts = {}, {}
        for p in b.pop_names:
            sl = self._slices[p]
            n = sl.stop - sl.start
            m = (si >= sl.start) & (si < sl.stop)
            counts[p] = np.bincount(si[m] - sl.start, minlength=n)
            bursts[p] = np.bincount(si[m & (sb > 0)] - sl.start, minlength=n)
        return Activity(counts, bursts, duration_ms)

    def present(self, rates: dict, levels: dict | None = None) -> Activity:
        """The stimulus phase: ``rates`` {poisson population: Hz}, the others at rest."""
        self.check_populations(rates, "stimulus population")
        self._rest_rates()
        for p, r in rates.items():
            self.session.set_rate(p, r)
        si, _, sb = self.session.run(self.stimulus_ms, levels)
        return self._activity(si, sb, self.stimulus_ms)

    def outcome(self, levels: dict | None = None) -> Activity:
        """The outcome phase: every source at rest, modulators at ``levels``."""
        self._rest_rates()
        si, _, sb = self.session.run(self.outcome_ms, levels)
        return self._activity(si, sb, self.outcome_ms)
