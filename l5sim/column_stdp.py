"""STDP of a column pathway under a phasic NA pulse (science.md 8.5 in a circuit; issue 17).

The single-cell protocol (:func:`l5sim.experiments.stdp_protocol`) shows that a burst reset
speeds pair STDP when the same pairing gives more spikes. This asks the same question in a
circuit (``circuits/l5_column.toml``: L5 pyramidal cells whose coupling gate kappa is a
state raised by thalamic spikes, PV and SOM interneurons): a phasic NA pulse under the
``coupling`` preset (NA raises kappa, science.md section 6) should let more bAPs start
plateaus, raise the share of spikes fired in burst-reset mode, and so speed the weight
change of a plastic pyramidal pathway.

Design: paired. For each seed the circuit is simulated twice with the same seed, once with
the NA pulse and once without (the control's modulator has the same name and no pulse), so
wiring, drive and noise are identical and both runs coincide spike for spike until the
pulse starts; any difference after onset is caused by the pulse. The plastic pathway
(``ee`` by default, the recurrent excitation onto the soma) gets a pair rule (nearest-spike
traces, additive; Izhikevich 2006 ratios A-/A+ = 1.2 and tau 19.5 ms, rescaled to the
pathway's 1 nS weight: A+ 0.01 nS, a tuned assumption as in ``l5_stdp.toml``).

Measured per seed, condition and time bin: mean weight of the pathway (nS) at the bin's
end, the population's rate (Hz) and its burst-reset share (spikes fired while a gated
plateau held the soma in its burst reset: the recording's burst flag, the mechanistic burst
measure of science.md section 6). Summary: weight change per second during the pulse
window, pulse vs control (mean, SD over seeds, and the per-seed paired ratio), and the
burst-reset share in the window.

Measured (Dec 2026; ``l5sim column-stdp circuits/l5_column.toml --seeds 5``, pulse level 2
from 1 to 2 s, docs/results/column_stdp/): the pulse raises the burst-reset share from
0.227 to 0.258 (paired ratio 1.14 +- 0.04 SD, n = 5 seeds) but the rate only from 4.67 to
4.70 Hz, and the ``ee`` weight change is -5.0e-4 vs -4.7e-4 nS/s (paired ratio 0.95 +- 0.16):
no acceleration beyond the seed spread. With the thalamic gate input lowered (th 0.5 Hz,
kappa near its rest 0.3) and more somatic drive (bg_soma 3.2 kHz, ~8 Hz) the share rises
2.7-fold (0.020 -> 0.053) and still dw/s changes by 1.02 +- 0.05. Why: as in the single cell
(circuits/l5_stdp.toml), the reset switch changes the weight change only when it adds
spikes, i.e. when the soma is driven to fire again inside the ~20-40 ms plateau started by
its own bAP; at 5-10 Hz of irregular firing that is rare, so pairings (and pair STDP, whose
drift here is set by the product of rates, A+ tau+ < A- tau-) are nearly unchanged. In the
shipped column the thalamic input also already holds kappa near 0.7, leaving the pulse
little room. At ~50 Hz (bg_soma 5 kHz) no spike fires in burst-reset mode at all.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .builder import build
from .errors import SpecError
from .simulation import run_metadata, simulate
from .spec import CircuitSpec

#: Pair rule put on the plastic pathway (see the module docstring).
DEFAULT_RULE = {"rule": "pair", "interaction": "nearest", "update": "additive",
                "A_plus": 0.01, "A_minus": 0.012, "tau_plus_ms": 19.5, "tau_minus_ms": 19.5,
                "w_min": 0.0, "w_max": 2.0,
                "source": "Izhikevich 2006 ratios (A-/A+ = 1.2, tau 19.5 ms), rescaled to nS (tuned assumption)"}

CONDITIONS = ("control", "pulse")


@dataclass
class ColumnSTDPResult:
    """Tidy results of :func:`column_stdp`.

    rows : one per seed, condition and time bin: ``seed``, ``condition``, ``t_start_ms``,
        ``t_end_ms``, ``mean_weight`` (nS, at ``t_end_ms``), ``rate_hz``, ``n_spikes``,
        ``burst_reset_share``, ``na_on`` (1 while the pulse is on).
    summary : per condition (window means over seeds) and ``paired`` (per-seed ratios).
    """

    rows: list
    summary: dict
    metadata: dict = field(default_factory=dict)


def _with_plasticity_and_na(spec, pathway, rule, modulator, pulse, bin_ms):
    over = {"recording.traces": {}, f"plasticity.{pathway}_pair": dict(rule),
            f"pathways.{pathway}.plasticity": f"{pathway}_pair",
            "recording.weights": [pathway], "recording.weights_interval_ms": bin_ms,
            f"modulators.{modulator}": {"tonic": 0.0, "preset": "coupling", "pulses": [pulse] if pulse else []}}
    return spec.with_overrides(over)


def column_stdp(spec: CircuitSpec, seeds=(0, 1, 2), pathway: str = "ee", population: str = "pyr",
                rule: dict | None = None, na_amplitude: float = 2.0, onset_ms: float = 1000.0,
                pulse_ms: float = 1000.0, duration_ms: float = 2000.0, bin_ms: float = 100.0,
                modulator: str = "NA") -> ColumnSTDPResult:
    """Weight change of a plastic pathway with and without a phasic NA pulse, paired by seed.

    Parameters
    ----------
    spec : the column circuit (e.g. ``circuits/l5_column.toml``).
    seeds : one paired simulation (pulse and control) per seed.
    pathway : the pathway made plastic (pyramidal -> ``population``); its weights are recorded.
    population : the L5 population whose rate and burst-reset share are measured.
    rule : ``[plasticity]`` table for the pathway (default :data:`DEFAULT_RULE`).
    na_amplitude : level of the square NA pulse (coupling preset: kappa + 0.5 per unit,
        clipped at 1; 2.0 opens the gate fully).
    onset_ms, pulse_ms : the pulse window; duration_ms : simulated time (ms).
    bin_ms : time bin of the rows and weight sampling interval (ms); ``onset_ms`` and
        ``onset_ms + pulse_ms`` must be multiples of it.
    """
    seeds = list(seeds)
    if not seeds or any(isinstance(x, bool) or not isinstance(x, (int, np.integer)) or x < 0 for x in seeds):
        raise SpecError("seeds", seeds, "a non-empty list of non-negative integer seeds (--seeds N needs N >= 1)")
    if pathway not in spec.pathways:
        raise SpecError("pathway", pathway, f"a name in [pathways]: {sorted(spec.pathways)}")
    if population not in spec.populations or spec.populations[population].model != "l5_pyramidal":
        raise SpecError("population", population, "an l5_pyramidal population of the circuit")
    if spec.pathways[pathway].post != population:
        raise SpecError(f"pathways.{pathway}.post", spec.pathways[pathway].post, f"'{population}'")
    stop = onset_ms + pulse_ms
    if not (0 < onset_ms < stop <= duration_ms):
        raise SpecError("onset_ms", onset_ms, f"0 < onset < onset + pulse_ms <= duration_ms ({duration_ms})")
    n_bins = int(round(duration_ms / bin_ms))
    for name, t in (("onset_ms", onset_ms), ("pulse_ms", pulse_ms), ("duration_ms", duration_ms)):
        if abs(t / bin_ms - round(t / bin_ms)) > 1e-9:
            raise SpecError(name, t, f"a multiple of bin_ms ({bin_ms})")
    rule = dict(DEFAULT_RULE if rule is None else rule)
    pulse = {"onset_ms": onset_ms, "amplitude": na_amplitude, "shape": "square", "duration_ms": pulse_ms}
    specs = {"control": _with_plasticity_and_na(spec, pathway, rule, modulator, None, bin_ms),
             "pulse": _with_plasticity_and_na(spec, pathway, rule, modulator, pulse, bin_ms)}
    n_cells = spec.populations[population].n
    edges = np.arange(n_bins + 1) * bin_ms
    rows = []
    for seed in seeds:
        for cond in CONDITIONS:
            rec = simulate(build(specs[cond], seed=int(seed)), duration_ms, seed=int(seed), progress=False)
            _, t, flag = rec.spikes(population)
            t = np.asarray(t, float)
            flag = np.asarray(flag, bool)
            tw = np.asarray(rec.weight_t_ms, float)
            wmean = np.asarray(rec.weights[pathway], float).mean(axis=1)
            k = np.searchsorted(t, edges) if np.all(np.diff(t) >= 0) else None
            for b in range(n_bins):
                lo, hi = edges[b], edges[b + 1]
                m = slice(k[b], k[b + 1]) if k is not None else (t >= lo) & (t < hi)
                n = int(np.size(t[m]))
                j = int(np.argmin(np.abs(tw - hi)))
                rows.append({"seed": int(seed), "condition": cond, "t_start_ms": float(lo), "t_end_ms": float(hi),
                             "mean_weight": float(wmean[j]), "rate_hz": n / (n_cells * bin_ms * 1e-3),
                             "n_spikes": n, "burst_reset_share": float(flag[m].mean()) if n else 0.0,
                             "na_on": int(cond == "pulse" and onset_ms <= lo < stop)})
    summary = _summarize(rows, seeds, onset_ms, stop, bin_ms)
    meta = run_metadata(build(specs["pulse"], seed=int(seeds[0])), list(map(int, seeds)), duration_ms, 0.0)
    meta.update({"experiment": "column_stdp", "pathway": pathway, "population": population, "rule": rule,
                 "modulator": modulator, "na_pulse": pulse, "bin_ms": bin_ms})
    return ColumnSTDPResult(rows, summary, meta)


def _window(rows, seed, cond, lo, hi, bin_ms):
    sel = [r for r in rows if r["seed"] == seed and r["condition"] == cond]
    w_at = {r["t_end_ms"]: r["mean_weight"] for r in sel}
    w_lo = w_at[lo] if lo > 0 else None
    inside = [r for r in sel if lo <= r["t_start_ms"] < hi]
    n = sum(r["n_spikes"] for r in inside)
    share = sum(r["burst_reset_share"] * r["n_spikes"] for r in inside) / n if n else 0.0
    dw = (w_at[hi] - w_lo) / ((hi - lo) * 1e-3)
    return dw, share, float(np.mean([r["rate_hz"] for r in inside]))


def _summarize(rows, seeds, onset, stop, bin_ms):
    per = {c: {"dw_per_s": [], "burst_reset_share": [], "rate_hz": [], "dw_per_s_before": []} for c in CONDITIONS}
    for s in seeds:
        for c in CONDITIONS:
            dw, share, rate = _window(rows, int(s), c, onset, stop, bin_ms)
            per[c]["dw_per_s"].append(dw)
            per[c]["burst_reset_share"].append(share)
            per[c]["rate_hz"].append(rate)
            first = min(r["t_end_ms"] for r in rows)
            per[c]["dw_per_s_before"].append(_window(rows, int(s), c, first, onset, bin_ms)[0]
                                             if onset > first else float("nan"))
    out = {}
    for c in CONDITIONS:
        out[c] = {}
        for k, v in per[c].items():
            v = np.asarray(v, float)
            out[c][k + "_mean"] = float(np.mean(v))
            out[c][k + "_sd"] = float(np.std(v))
    dw_ratio = np.array(per["pulse"]["dw_per_s"]) / np.array(per["control"]["dw_per_s"])
    ctrl_share = np.array(per["control"]["burst_reset_share"])
    share_ratio = np.divide(per["pulse"]["burst_reset_share"], ctrl_share, out=np.full(len(ctrl_share), np.nan),
                            where=ctrl_share > 0)                  # nan where the control has no burst resets
    abs_ratio = np.abs(per["pulse"]["dw_per_s"]) / np.abs(per["control"]["dw_per_s"])
    out["paired"] = {"seeds": [int(s) for s in seeds], "window_ms": [float(onset), float(stop)],
                     "dw_ratio_per_seed": dw_ratio.tolist(), "dw_ratio_mean": float(dw_ratio.mean()),
                     "dw_ratio_sd": float(dw_ratio.std()), "abs_dw_ratio_mean": float(abs_ratio.mean()),
                     "burst_reset_share_ratio_per_seed": share_ratio.tolist(),
                     "burst_reset_share_ratio_mean": float(np.mean(share_ratio)),
                     "burst_reset_share_ratio_sd": float(np.std(share_ratio))}
    return out
