"""A circuit run in pieces with its state kept between them: the closed-loop path.

:func:`l5sim.simulate` runs a circuit once from its initial state; a :class:`Session` keeps
the network's state (potentials, conductances, traces, plastic weights, the delay ring and
every random stream) from one :meth:`Session.run` to the next, so that a task can present a
stimulus, read the network's answer, deliver a reward and set the neuromodulators' levels
for the next piece (l5sim.trials). Each run advances the general kernel in chunks, with no
Python per time step; the same seed and the same calls give the same spikes, and the pieces
of a session equal one :func:`l5sim.simulate` of their total length (tests/test_gonogo.py).
"""
from __future__ import annotations

import math

import numpy as np

from .errors import DivergenceError, SpecError
from .kernels import variants as V
from .kernels import records as R
from .simulation import SPIKE_BUFFER_MIN, VARIABLE_NAMES, initial_state, set_inputs


class Session:
    """A built circuit advanced piece by piece, its state kept between calls: the engine of
    closed-loop experiments (trials whose stimuli and neuromodulator levels depend on what
    the network did), like repeated ``Simulate(t)`` calls in NEST or ``run(t)`` in Brian2.

    Each :meth:`run` advances the kernel in chunks of at most ``chunk_ms`` (no Python per
    step) and returns the spikes it produced. Between runs a caller may change the rate of
    a ``poisson`` population (:meth:`set_rate`, e.g. to present a stimulus) and give each
    neuromodulator a level for the next run (``levels``), replacing its scheduled course.
    Plastic weights evolve on a copy (``built`` is never modified; :meth:`weights`).

    Parameters
    ----------
    built : :class:`l5sim.builder.BuiltCircuit`; its circuit may not have uncertainty
        triggers (a closed loop sets levels itself) nor inputs with time windows or
        periods (they would be sampled only at chunk starts).
    seed : seed of the dynamics (default: the build seed); the same seed and the same calls
        give the same spikes.
    chunk_ms : longest kernel call (ms).
    """

    def __init__(self, built, seed: int | None = None, chunk_ms: float = 100.0):
        spec = built.spec
        for name, m in spec.modulators.items():
            if m.trigger is not None:
                raise SpecError(f"modulators.{name}.trigger", "a trigger",
                                "no uncertainty trigger in a Session (set levels per run instead)")
        for inp in built.inputs:
            if inp["period"] > 0 or inp["t0"] > 0 or inp["t1"] < 2 ** 62:
                raise SpecError(f"inputs.{inp.get('name', '?')}", "a time window",
                                "inputs that hold for the whole session in a Session (no t0/t1/period)")
        if not (isinstance(chunk_ms, (int, float)) and chunk_ms > 0):
            raise SpecError("chunk_ms", chunk_ms, "a number of milliseconds > 0")
        self.built = built
        self.seed = built.seed if seed is None else int(seed)
        self.dt_ms = built.dt_ms
        net = built.net
        self.net = net._replace(synapses=net.synapses._replace(weight=net.synapses.weight.copy()),
                                sources=net.sources._replace(rate_hz=net.sources.rate_hz.copy()))
        self.st = initial_state(built, self.seed)
        N = built.n_neurons
        cap = max(3 * N, SPIKE_BUFFER_MIN)
        e = np.zeros(0, np.int64)
        self._out = R.Recorder(np.ones(N, np.uint8), np.zeros(cap, np.int32), np.zeros(cap, np.int64),
                               np.zeros(cap, np.uint8), np.zeros(1, np.int64), e, e, e, e, e, e.copy(), np.zeros(1),
                               np.full(4, -1.0))
        self._chunk = max(1, round(chunk_ms / self.dt_ms))
        self._kernel = V.chunk_kernel(self.net, parallel=False)
        self.step = 0
        set_inputs(built, self.st, 0)

    @property
    def t_ms(self) -> float:
        """Biological time reached (ms)."""
        return self.step * self.dt_ms

    def set_rate(self, population: str, rate_hz: float) -> None:
        """Set the rate (Hz) of every source of the ``poisson`` population ``population``
        from the next run on."""
        b = self.built
        if population not in b.pop_slices:
            raise SpecError("population", population, f"a population of the circuit: {sorted(b.pop_slices)}")
        if b.spec.populations[population].model != "poisson":
            raise SpecError("population", population, "a poisson population (its rate is what a stimulus sets)")
        if isinstance(rate_hz, bool) or not isinstance(rate_hz, (int, float)) or not math.isfinite(rate_hz) \
                or rate_hz < 0:
            raise SpecError(f"rate_hz of {population}", rate_hz, "a finite rate >= 0 Hz")
        self.net.sources.rate_hz[b.pop_names.index(population)] = float(rate_hz)

    def weights(self, pathway: str) -> np.ndarray:
        """A copy of the current weights of ``pathway`` (CSR order of the built circuit)."""
        info = self.built.pathways.get(pathway)
        if info is None:
            raise SpecError("pathway", pathway, f"a pathway of the circuit: {sorted(self.built.pathways)}")
        return self.net.synapses.weight[info.syn_lo:info.syn_hi].copy()

    def _plastic(self, pathway: str):
        """``(plastic rule index, PathwayInfo)`` of a plastic pathway (SpecError otherwise)."""
        info = self.built.pathways.get(pathway)
        if info is None:
            raise SpecError("pathway", pathway, f"a pathway of the circuit: {sorted(self.built.pathways)}")
        q = int(self.net.plasticity.path_plastic[list(self.built.spec.pathways).index(pathway)])
        if q < 0:
            raise SpecError("pathway", pathway, "a plastic pathway (one with a plasticity rule)")
        return q, info

    def eligibility(self, pathway: str) -> np.ndarray:
        """A copy of the eligibility of ``pathway``'s synapses: the deferred sums of its
        rule (the trace c of Izhikevich 2007 that the STDP window writes into and dopamine
        turns into weight changes), CSR order of the built circuit."""
        _, info = self._plastic(pathway)
        return self.st.plasticity.deferred_sum[info.syn_lo:info.syn_hi].copy()

    def gate_plasticity(self, pathway: str, open_: bool) -> None:
        """Close (``open_=False``) or reopen the plasticity of ``pathway`` from the next run
        on. Closing clears its eligibility and stops the STDP window from writing into it
        (the rule's learning rate is 0 while closed), so dopamine cannot change its weights
        until it is reopened; reopening restores the rule's learning rate. Used for
        action-gated eligibility (l5sim.gonogo: Roelfsema & van Ooyen 2005). A pathway
        whose learning rate a neuromodulator sets is refused: the kernel would overwrite
        the gate at every step."""
        q, info = self._plastic(pathway)
        md = self.built.modulation
        if np.any((np.asarray(md.kind) == 2) & (np.asarray(md.index) == q)):
            raise SpecError("pathway", pathway, "a pathway whose learning rate no neuromodulator sets (to gate it)")
        ps = self.st.plasticity
        if open_:
            ps.learning_rate[q] = self.net.plasticity.rules.learning_rate[q]
        else:
            ps.learning_rate[q] = 0.0
            ps.deferred_sum[info.syn_lo:info.syn_hi] = 0.0

    def _delta(self, t_lo, n, levels, run_lo):
        plan = self.built.modulation
        out = np.zeros((n, plan.n))
        t_ms = (t_lo + np.arange(n)) * self.dt_ms
        for k, mname in enumerate(plan.modulator):
            if mname in levels:
                lv = levels[mname]
                lv = lv[t_lo - run_lo:t_lo - run_lo + n] if isinstance(lv, np.ndarray) else lv
            else:
                lv = self.built.spec.modulators[mname].level(t_ms)
            out[:, k] = plan.gain[k] * lv
        return out

    def run(self, duration_ms: float, levels: dict | None = None):
        """Advance by ``duration_ms``; returns ``(neuron, t_ms, burst)`` of every spike
        (global neuron indices, times since the session began, burst-reset flags).

        ``levels``: ``{modulator: level}`` for this run, a number or an array with one value
        per step; modulators not named follow their ``tonic`` and ``pulses`` in session time.
        """
        if isinstance(duration_ms, bool) or not isinstance(duration_ms, (int, float)) \
                or not math.isfinite(duration_ms) or duration_ms <= 0:
            raise SpecError("duration_ms", duration_ms, "a finite number of milliseconds > 0")
        n_steps = round(duration_ms / self.dt_ms)
        levels = dict(levels or {})
        mods = self.built.spec.modulators
        for name, lv in levels.items():
            if name not in mods:
                raise SpecError("levels", name, f"a modulator the circuit defines: {sorted(mods)}")
            if isinstance(lv, np.ndarray):
                if lv.shape != (n_steps,) or not np.all(np.isfinite(lv)):
                    raise SpecError(f"levels.{name}", f"array of shape {lv.shape}",
                                    f"{n_steps} finite values (one per step)")
            elif isinstance(lv, bool) or not isinstance(lv, (int, float)) or not math.isfinite(lv):
                raise SpecError(f"levels.{name}", lv, "a finite number or an array per step")
        out, net, st = self._out, self.net, self.st
        run_lo = self.step
        t_end = self.step + n_steps
        spk_i, spk_t, spk_b = [], [], []
        while self.step < t_end:
            n = min(self._chunk, t_end - self.step)
            if self.built.modulation.n:
                st = st._replace(modulation=st.modulation._replace(delta=self._delta(self.step, n, levels, run_lo)))
            status, done = self._kernel(net, st, out, self.step, n)
            k = int(out.n_spikes[0])
            if k:
                spk_i.append(out.spike_neuron[:k].copy())
                spk_t.append(out.spike_step[:k].copy())
                spk_b.append(out.spike_burst[:k].copy())
                out.n_spikes[0] = 0
            if status == 2:
                i, step, var = (int(x) for x in out.diverged[:3])
                pop, local = self.built.population_of(i)
                raise DivergenceError(pop, local, step * self.dt_ms, VARIABLE_NAMES.get(var, "?"), float(out.diverged[3]))
            self.step += int(done)
        self.st = st
        si = np.concatenate(spk_i).astype(np.int64) if spk_i else np.zeros(0, np.int64)
        stt = np.concatenate(spk_t) * self.dt_ms if spk_t else np.zeros(0)
        sb = np.concatenate(spk_b) if spk_b else np.zeros(0, np.uint8)
        return si, stt, sb
