"""f-I gain families: rate against input for each value of a varied circuit key."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import analysis
from ..builder import build
from ..errors import SpecError
from ..simulation import run_metadata, simulate
from ..spec import CircuitSpec
from .trials import (SEP, check_key, check_seeds, condition_label, default_population, finite_stat, input_onset,
                     is_l5, replicate, window_spike_stats)

@dataclass
class GainResult:
    """Tidy results of :func:`gain_sweep` (``rows``: one per condition x level x seed)."""

    rows: list
    curves: list
    vary_key: str
    input_key: str
    population: str
    metadata: dict = field(default_factory=dict)

    def column(self, name, condition=None):
        return np.array([r[name] for r in self.rows if condition is None or r["condition"] == condition])


#: f-I fit columns of each curve of :func:`gain_sweep` (from :class:`l5sim.analysis.FIShape`).
FIT_COLUMNS = ("rheobase_pa", "rheobase_se_pa", "slope_hz_per_pa", "slope_se", "r2", "rms_hz", "onset_pa",
               "max_local_slope_hz_per_pa", "max_local_slope_at_pa", "one_line_ok")


def gain_sweep(spec: CircuitSpec, vary_key: str, vary_values, input_key: str, input_values, seeds=(0,),
               duration_ms: float = 2000.0, population: str | None = None, window_ms=None,
               burst_isi_ms: float = analysis.BURST_ISI_MS, min_rate_hz: float = 1.0,
               window_pa: float = analysis.FI_WINDOW_PA, progress: bool | None = False) -> GainResult:
    """f-I families: rate vs ``input_key`` for each value of ``vary_key``.

    Parameters
    ----------
    spec : the circuit (e.g. ``circuits/l5_cell.toml``).
    vary_key, vary_values : the parameter that changes between curves (any dotted key:
        ``inputs.dend_step.amplitude_pA``, ``populations.pyr.params.kappa``,
        ``modulators.NA.tonic``, ``inputs.som_inh.weight``, ...).
    input_key, input_values : the input of the f-I curve (e.g.
        ``inputs.soma_step.amplitude_pA``, pA).
    seeds : one simulation (of all conditions and levels together) per seed.
    duration_ms : simulated time of each trial (ms).
    population : the measured population (default: the first L5 pyramidal population).
    window_ms : (start, stop) of the measurement (default: from the input's onset to the end).
    min_rate_hz : the rate (Hz) that counts as firing (onset of the f-I fit).
    window_pa : width (pA) of the f-I fit window above the onset (:func:`l5sim.analysis.fi_shape_fit`).

    Returns
    -------
    GainResult
        ``rows``: ``rate_hz``, ``isi_burst_excess``, ``spikes_per_isi_burst``, ``n_spikes``,
        ``burst_reset_fraction`` (L5 pyramidal populations only) per condition, level and seed.
        ``curves``: per condition the fit of the seed-mean curve (:data:`FIT_COLUMNS`, plus
        ``r2_full`` and ``fit_note``), the SD across seeds of the per-seed fits
        (``rheobase_sd``, ``slope_sd``), the mean burst measures over all levels and seeds
        (``mean_isi_burst_excess``, ``mean_burst_reset_fraction`` for L5), ``n_seeds``.
    """
    seeds = check_seeds(seeds)
    vary_values = list(vary_values)
    input_values = list(input_values)
    if not vary_values or not input_values:
        raise SpecError("gain_sweep", (vary_values, input_values), "non-empty vary and input values")
    check_key(spec, vary_key, "vary_key")
    check_key(spec, input_key, "input_key")
    pop = population or default_population(spec)
    if pop not in spec.populations:
        raise SpecError("population", pop, f"a population name: {sorted(spec.populations)}")
    copies, tags, index = [], [], []
    # only spikes are measured: no traces (they would cost a sample per copy and step)
    quiet = {"recording.traces": {}}
    for ci, vv in enumerate(vary_values):
        for li, iv in enumerate(input_values):
            copies.append(spec.with_overrides({vary_key: vv, input_key: iv, **quiet}))
            tags.append(f"c{ci}l{li}")
            index.append((ci, li))
    big = replicate(copies, tags)
    lo, hi = window_ms if window_ms is not None else (input_onset(spec, input_key), duration_ms)
    l5 = is_l5(spec, pop)
    rows = []
    for seed in seeds:
        rec = simulate(build(big, seed=int(seed)), duration_ms, seed=int(seed), progress=progress)
        for (ci, li), tag in zip(index, tags):
            st = window_spike_stats(rec, f"{tag}{SEP}{pop}", lo, hi, burst_isi_ms, l5)
            rows.append({"condition": condition_label(vary_key, vary_values[ci]),
                         "vary_key": vary_key, "vary_value": vary_values[ci], "input_key": input_key,
                         "input_value": input_values[li], "seed": int(seed), **st,
                         "duration_ms": float(hi - lo)})
    curves = []
    for ci, vv in enumerate(vary_values):
        cond = rows[ci * len(input_values)]["condition"]
        rc = [r for r in rows if r["condition"] == cond]
        per_seed = [analysis.fi_shape_fit([r["input_value"] for r in rc if r["seed"] == int(seed)],
                                          [r["rate_hz"] for r in rc if r["seed"] == int(seed)],
                                          min_rate_hz, window_pa) for seed in seeds]
        mean_rates = [np.mean([r["rate_hz"] for r in rc if r["input_value"] == iv]) for iv in input_values]
        fit = analysis.fi_shape_fit(input_values, mean_rates, min_rate_hz, window_pa)
        curve = {"condition": cond, "vary_key": vary_key, "vary_value": vv}
        curve.update({k: getattr(fit, k) for k in FIT_COLUMNS})
        curve.update({"r2_full": fit.r2_full, "fit_note": fit.note,
                      "rheobase_sd": finite_stat([p.rheobase_pa for p in per_seed], np.std),
                      "slope_sd": finite_stat([p.slope_hz_per_pa for p in per_seed], np.std),
                      "mean_isi_burst_excess": finite_stat([r["isi_burst_excess"] for r in rc], np.mean)})
        if l5:
            curve["mean_burst_reset_fraction"] = finite_stat([r["burst_reset_fraction"] for r in rc], np.mean)
        curve["n_seeds"] = len(list(seeds))
        curves.append(curve)

    meta = run_metadata(build(spec, seed=int(seeds[0])), list(map(int, seeds)), duration_ms, 0.0)
    meta.update({"experiment": "gain", "vary_key": vary_key, "vary_values": vary_values, "input_key": input_key,
                 "input_values": input_values, "population": pop, "window_ms": [lo, hi],
                 "burst_isi_ms": burst_isi_ms, "min_rate_hz": min_rate_hz, "window_pa": window_pa})
    return GainResult(rows, curves, vary_key, input_key, pop, meta)
