"""The gain's time course after a phasic neuromodulator pulse (fit (b) of the bridge)."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .. import analysis
from ..builder import build
from ..errors import SpecError
from ..simulation import run_metadata, simulate
from ..spec import CircuitSpec
from .trials import SEP, check_key, check_seeds, default_population, input_onset, replicate

@dataclass
class PulseResult:
    """Tidy results of :func:`pulse_response`.

    ``rows``: one per time bin and seed (``time_ms`` = bin centre relative to pulse onset,
    ``gain_hz_per_pa`` and ``gain_se_hz_per_pa``, ``rheobase_pa``, ``r2``, ``one_line_ok``,
    ``mean_rate_hz``, ``modulator_level``, ...);
    ``rates``: one per time bin, input level and seed (the f-I points behind each gain).
    """

    rows: list
    rates: list
    metadata: dict = field(default_factory=dict)

    def column(self, name, seed=None):
        return np.array([r[name] for r in self.rows if seed is None or r["seed"] == seed])

    def mean_time_course(self):
        """(time_ms, mean gain over seeds, sd over seeds), one entry per bin."""
        ts = sorted(set(r["time_ms"] for r in self.rows))
        g = [[r["gain_hz_per_pa"] for r in self.rows if r["time_ms"] == t] for t in ts]
        return (np.array(ts), np.array([np.nanmean(x) for x in g]), np.array([np.nanstd(x) for x in g]))


_GOLDEN = (math.sqrt(5.0) - 1.0) / 2.0


def pulse_response(spec: CircuitSpec, modulator: str = "NA", amplitude: float = 1.0, tau_ms: float = 1000.0,
                   shape: str = "exponential", input_key: str = "inputs.soma_step.amplitude_pA",
                   input_values=(500.0, 700.0, 900.0, 1100.0, 1300.0, 1500.0), onset_ms: float = 1500.0,
                   bin_ms: float = 100.0, duration_ms: float | None = None, baseline_ms: float = 1000.0,
                   seeds=(0,), population: str | None = None, neurons_per_level: int | None = None,
                   min_rate_hz: float = 1.0, onset_spread_ms: float = 0.0,
                   window_pa: float = analysis.FI_WINDOW_PA, progress: bool | None = False) -> PulseResult:
    """Gain time course after a phasic neuromodulator pulse (fit (b) of the bridge).

    Every input level of the f-I curve is one copy of the circuit, all copies in ONE
    simulation (:func:`replicate`, as :func:`gain_sweep`); every copy receives the same
    pulse of ``modulator`` at ``onset_ms``. The measured population's rate is counted in
    bins of ``bin_ms`` for each input level, and the f-I gain of each bin is the slope of the
    threshold-linear fit in a window above the onset (:func:`l5sim.analysis.fi_shape_fit`,
    Hz/pA, with its standard error, rheobase, R^2 and whether one line fits). Bins start ``baseline_ms`` before the
    onset (the baseline) and end at ``duration_ms``.

    Parameters
    ----------
    spec : the circuit; it must have a ``[modulators.<modulator>]`` table (with its targets
        or a preset; e.g. ``circuits/l5_na.toml``).
    modulator : the modulator that is pulsed (its tonic level and other pulses are kept).
    amplitude : pulse amplitude (modulator level, dimensionless; 0 gives the control).
    tau_ms : pulse time constant (ms) of the ``exponential`` or ``alpha`` shape; for
        ``square`` the pulse lasts ``tau_ms``.
    shape : ``exponential``, ``alpha`` or ``square`` (:mod:`l5sim.neuromodulation`).
    input_key, input_values : input of the f-I curve (pA), one copy per level.
    onset_ms : pulse onset (ms from the start of the simulation); it should leave
        ``baseline_ms`` after the input's onset for the baseline bins.
    bin_ms : width of the time bins (ms).
    duration_ms : simulated time (ms; default onset + 5 tau_ms).
    baseline_ms : time before onset covered by baseline bins (ms).
    seeds : one simulation per seed.
    population : measured population (default: the first L5 pyramidal population).
    neurons_per_level : if given, sets the measured population's size ``n`` in every copy
        (independent noise per neuron), to average each bin's rate over more cells.
    min_rate_hz : rate (Hz) that counts as firing (onset of the f-I fit).
    window_pa : width (pA) of the f-I fit window above the onset.
    onset_spread_ms : the onset of the k-th seed's run is ``onset_ms + onset_spread_ms *
        frac(k * 0.618...)`` (times stay relative to each run's own onset). The cells of one
        input level start firing together at the input's onset and stay partly in phase, so
        with a fixed onset the spike counts of every bin alias with the firing period in the
        same way in every seed; spreading the onset over about a second decorrelates that.

    Returns
    -------
    PulseResult
        ``metadata`` holds ``pulse_amplitude``, ``modulator``, ``tau_ms``, ``shape``,
        ``onset_ms``, ``bin_ms``, seeds, the circuit hash and dt.
    """
    input_values = [float(v) for v in input_values]
    if len(input_values) < 3:
        raise SpecError("input_values", input_values, "at least 3 input levels for an f-I slope")
    if modulator not in spec.modulators:
        raise SpecError("modulator", modulator,
                        f"a modulator of the circuit: {sorted(spec.modulators)} (add a [modulators.{modulator}] "
                        f"table, e.g. --set modulators.{modulator}.preset=coupling)")
    if not (bin_ms > 0 and math.isfinite(bin_ms)):
        raise SpecError("bin_ms", bin_ms, "a finite number > 0 (ms)")
    if not (tau_ms > 0 and math.isfinite(tau_ms)):
        raise SpecError("tau_ms", tau_ms, "a finite number > 0 (ms)")
    if not (baseline_ms >= bin_ms):
        raise SpecError("baseline_ms", baseline_ms, f"at least one bin (>= bin_ms = {bin_ms:g} ms)")
    check_key(spec, input_key, "input_key")
    pop = population or default_population(spec)
    if pop not in spec.populations:
        raise SpecError("population", pop, f"a population name: {sorted(spec.populations)}")
    duration = float(onset_ms + 5.0 * tau_ms) if duration_ms is None else float(duration_ms)
    lo = float(onset_ms) - baseline_ms
    if lo < input_onset(spec, input_key):
        raise SpecError("onset_ms", onset_ms, f"at least baseline_ms = {baseline_ms:g} ms after the input's onset "
                        f"({input_onset(spec, input_key):g} ms)")
    n_bins = int(math.floor((duration - lo) / bin_ms + 1e-9))
    if n_bins < 2 or lo + baseline_ms + bin_ms > duration + 1e-9:
        raise SpecError("duration_ms", duration, "at least one bin after the pulse onset")
    if not (onset_spread_ms >= 0 and math.isfinite(onset_spread_ms)):
        raise SpecError("onset_spread_ms", onset_spread_ms, "a finite number >= 0 (ms)")
    seeds = check_seeds(seeds)
    edges0 = lo + bin_ms * np.arange(n_bins + 1)
    centres0 = 0.5 * (edges0[:-1] + edges0[1:])
    mod_table = spec.to_dict()["modulators"][modulator]
    tonic = float(mod_table.get("tonic", 0.0))
    rows, rates, onsets = [], [], []
    for k, seed in enumerate(seeds):
        # the k-th run's onset is shifted by a low-discrepancy fraction of the spread, so that
        # the bins, taken relative to the onset, fall at a different firing phase in each run
        shift = onset_spread_ms * ((k * _GOLDEN) % 1.0)
        onset_k = float(onset_ms) + shift
        onsets.append(onset_k)
        pulse = {"onset_ms": onset_k, "amplitude": float(amplitude), "shape": shape, "tau_ms": float(tau_ms)}
        if shape == "square":
            pulse["duration_ms"] = float(tau_ms)
        pulses = list(mod_table.get("pulses", [])) + ([pulse] if amplitude != 0 else [])
        base = {"recording.traces": {}, f"modulators.{modulator}.pulses": pulses}
        if neurons_per_level is not None:
            base[f"populations.{pop}.n"] = int(neurons_per_level)
        copies = [spec.with_overrides({**base, input_key: iv}) for iv in input_values]
        tags = [f"l{li}" for li in range(len(input_values))]
        big = replicate(copies, tags)
        edges = edges0 + shift
        # the modulator level at each bin centre (tonic + this and the circuit's own pulses)
        level = copies[0].modulators[modulator].level(centres0 + shift)
        rec = simulate(build(big, seed=seed), duration + shift, seed=seed, progress=progress)
        per_level = []
        for li, tag in enumerate(tags):
            name = f"{tag}{SEP}{pop}"
            _, t, _ = rec.spikes(name)
            counts, _ = np.histogram(t, bins=edges)
            r = counts / (rec.pop_size(name) * bin_ms * 1e-3)
            per_level.append(r)
            for b in range(n_bins):
                rates.append({"time_ms": float(centres0[b] - onset_ms), "input_key": input_key,
                              "input_value": input_values[li], "rate_hz": float(r[b]), "seed": seed})
        per_level = np.array(per_level)   # levels x bins
        for b in range(n_bins):
            fit = analysis.fi_shape_fit(input_values, per_level[:, b], min_rate_hz, window_pa)
            rows.append({"time_ms": float(centres0[b] - onset_ms), "bin_start_ms": float(edges0[b] - onset_ms),
                         "bin_stop_ms": float(edges0[b + 1] - onset_ms), "gain_hz_per_pa": fit.slope_hz_per_pa,
                         "gain_se_hz_per_pa": fit.slope_se, "rheobase_pa": fit.rheobase_pa,
                         "r2": fit.r2, "one_line_ok": fit.one_line_ok, "mean_rate_hz": float(per_level[:, b].mean()),
                         "modulator_level": float(level[b]), "pulse_amplitude": float(amplitude),
                         "seed": seed})

    meta = run_metadata(build(spec, seed=int(seeds[0])), list(map(int, seeds)), duration, 0.0)
    meta.update({"experiment": "pulse", "modulator": modulator, "pulse_amplitude": float(amplitude),
                 "tau_ms": float(tau_ms), "shape": shape, "onset_ms": float(onset_ms), "bin_ms": float(bin_ms),
                 "baseline_ms": float(baseline_ms), "input_key": input_key, "input_values": input_values,
                 "population": pop, "neurons_per_level": neurons_per_level, "min_rate_hz": min_rate_hz,
                 "window_pa": window_pa,
                 "tonic_level": tonic, "onset_spread_ms": float(onset_spread_ms), "onsets_ms": onsets,
                 "time_origin": "time_ms is the bin centre relative to the pulse onset; bins before 0 are the baseline"})
    return PulseResult(rows, rates, meta)
