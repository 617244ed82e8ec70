"""Neuromodulation while a run goes on: the modulator triggers and the per-step levels.

:class:`Triggers` follows each modulator's ``[modulators.NAME.trigger]``: pulses at the
upward crossings of an external series (known before the run), or at a surprising
population rate (evaluated between kernel calls, every ``check_ms``, from the spikes so
far). :func:`modulation_delta` turns the modulators' levels, triggered pulses included,
into the table of parameter changes the kernel reads for the next steps
(:mod:`l5sim.neuromodulation` plans which parameters each modulator moves).
"""
from __future__ import annotations

import numpy as np


class Triggers:
    """The triggered pulses of a built circuit's modulators during one run, evaluated at chunk
    boundaries (every ``check_ms``); ``dt`` is the step (ms)."""

    def __init__(self, built, dt):
        self.items = []
        for name, m in built.spec.modulators.items():
            if m.trigger is None:
                continue
            tr = m.trigger
            onsets = []
            if tr.signal == "series":
                # upward crossings of the external series, with refractoriness
                x = np.asarray(tr.series)
                last = -np.inf
                for k in range(1, len(x)):
                    tk = k * tr.series_dt_ms
                    if x[k - 1] < tr.threshold <= x[k] and tk - last >= tr.refractory_ms:
                        onsets.append(tk)
                        last = tk
            self.items.append(dict(name=name, trig=tr, onsets=onsets, last=-np.inf, n=0, mean=0.0, m2=0.0,
                                   sl=built.pop_slices.get(tr.population), every=max(1, int(round(tr.check_ms / dt)))))

    @property
    def check_steps(self):
        """Steps between evaluations of the rate-surprise triggers (None when there are none):
        the longest kernel call that does not skip one."""
        return min((it["every"] for it in self.items if it["trig"].signal == "rate_surprise"), default=None)

    def onsets(self, name):
        """Onsets (ms) of the pulses triggered so far for modulator ``name``."""
        for it in self.items:
            if it["name"] == name:
                return it["onsets"]
        return []

    def update(self, t_ms, spk_i_chunks, spk_t_chunks):
        """Evaluate rate-surprise signals at time ``t_ms`` from the spikes so far."""
        for it in self.items:
            tr = it["trig"]
            if tr.signal != "rate_surprise" or t_ms < tr.window_ms:
                continue
            sl = it["sl"]
            n = sl.stop - sl.start
            count = 0
            for si, stt in zip(reversed(spk_i_chunks), reversed(spk_t_chunks)):
                m = (stt >= t_ms - tr.window_ms) & (stt < t_ms) & (si >= sl.start) & (si < sl.stop)
                count += int(m.sum())
                if stt.size and stt[0] < t_ms - tr.window_ms:
                    break
            rate = count / (n * tr.window_ms * 1e-3)
            # surprise against the baseline of the previous windows (before this one joins it)
            z = 0.0
            if it["n"] >= 3:
                sd = np.sqrt(it["m2"] / (it["n"] - 1))
                z = abs(rate - it["mean"]) / sd if sd > 0 else 0.0
            # Welford running mean/SD of the windowed rate
            it["n"] += 1
            d = rate - it["mean"]
            it["mean"] += d / it["n"]
            it["m2"] += d * (rate - it["mean"])
            if t_ms < tr.warmup_ms:
                continue
            if z >= tr.threshold and t_ms - it["last"] >= tr.refractory_ms:
                it["onsets"].append(t_ms)
                it["last"] = t_ms


def modulation_delta(built, triggers, t_lo, n, dt):
    """(n steps x targets) table of gain x level for steps t_lo .. t_lo + n - 1."""
    plan = built.modulation
    out = np.zeros((n, plan.n))
    if plan.n == 0:
        return out
    t_ms = (t_lo + np.arange(n)) * dt
    levels = {}
    for k, mname in enumerate(plan.modulator):
        if mname not in levels:
            levels[mname] = built.spec.modulators[mname].level(t_ms, triggers.onsets(mname))
        out[:, k] = plan.gain[k] * levels[mname]
    return out
