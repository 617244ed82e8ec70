"""Experiments as library functions: f-I gain families and the STDP-acceleration protocol.

Both run independent trials *together* in one compiled kernel call: the circuit is
replicated once per (condition, input level) into one larger circuit of disjoint copies
(:func:`replicate`), so a 9 x 12 gain family is a single simulation of 108 cells, not 108
processes. Results are tidy tables (one row per condition, input level and seed) with the
seed and circuit hash, written as CSV with a metadata JSON and a figure by the CLI.

Measured quantities (science.md section 6): rate (Hz) of the chosen population over the
window where the input is on; ``isi_burst_excess`` (short-ISI spikes in excess of a
rate-matched Poisson train) and ``spikes_per_isi_burst``; for L5 pyramidal populations
``burst_reset_fraction`` (share of spikes in the dendrite's burst reset); per curve the
threshold-linear fit of :func:`l5sim.analysis.fi_shape_fit` (rheobase, slope = gain, their
standard errors, R^2, onset, steepest local slope and whether one line fits).
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field

import numpy as np

from . import analysis
from .builder import build
from .errors import SpecError
from .simulation import simulate
from .sizing import check_sweep
from .spec import CircuitSpec, from_dict, parse_value

SEP = "__"



def check_seeds(seeds, name: str = "seeds") -> list[int]:
    """``seeds`` as a non-empty list of distinct non-negative integers, or a SpecError
    naming ``name`` (``--seeds 0`` used to end in an IndexError)."""
    try:
        out = list(seeds)
    except TypeError:
        raise SpecError(name, seeds, "a list of seeds (non-negative integers)") from None
    if not out:
        raise SpecError(name, out, "at least one seed (--seeds N needs N >= 1)")
    for x in out:
        if isinstance(x, bool) or not isinstance(x, (int, np.integer)) or x < 0:
            raise SpecError(name, x, "a non-negative integer seed")
    if len(set(int(x) for x in out)) != len(out):
        raise SpecError(name, out, "distinct seeds (a repeated seed repeats the same run)")
    return [int(x) for x in out]

def parse_grid(text: str, what: str = "--vary"):
    """``KEY=START:STOP:N`` (N evenly spaced values) or ``KEY=V1,V2,...`` -> (key, values)."""
    if not isinstance(text, str) or "=" not in text:
        raise SpecError(what, text, "KEY=START:STOP:N or KEY=V1,V2,... with a dotted key path")
    key, rhs = (x.strip() for x in text.split("=", 1))
    if not key or any(not part for part in key.split(".")):
        raise SpecError(what, text, "a dotted key path before '=' (e.g. inputs.soma_step.amplitude_pA)")
    if ":" in rhs:
        parts = rhs.split(":")
        if len(parts) != 3:
            raise SpecError(what, text, "START:STOP:N with three fields")
        try:
            a, b, n = float(parts[0]), float(parts[1]), int(parts[2])
        except ValueError:
            raise SpecError(what, text, "numbers START and STOP and an integer N") from None
        if n < 1 or not (math.isfinite(a) and math.isfinite(b)):
            raise SpecError(what, text, "finite START, STOP and N >= 1")
        check_sweep(n, 1, f"{what} {key}")        # before N values are made (l5sim.sizing)
        return key, [float(x) for x in np.linspace(a, b, n)]
    vals = [parse_value(v.strip()) for v in rhs.split(",") if v.strip()]
    if not vals:
        raise SpecError(what, text, "at least one value")
    return key, vals


def _rename_tree(data: dict, tag: str) -> dict:
    """Prefix every population, pathway, input, rule and modulator name of a circuit dict."""
    r = lambda name: f"{tag}{SEP}{name}"  # noqa: E731
    out = {k: copy.deepcopy(v) for k, v in data.items() if k in ("circuit", "space", "receptors")}
    pops = data.get("populations", {})
    out["populations"] = {r(k): copy.deepcopy(v) for k, v in pops.items()}
    out["pathways"] = {}
    for k, v in data.get("pathways", {}).items():
        v = copy.deepcopy(v)
        v["pre"], v["post"] = r(v["pre"]), r(v["post"])
        if v.get("plasticity"):
            v["plasticity"] = r(v["plasticity"])
        out["pathways"][r(k)] = v
    out["inputs"] = {}
    for k, v in data.get("inputs", {}).items():
        v = copy.deepcopy(v)
        v["population"] = r(v["population"])
        out["inputs"][r(k)] = v
    out["plasticity"] = {r(k): copy.deepcopy(v) for k, v in data.get("plasticity", {}).items()}
    mods = {}
    for k, v in data.get("modulators", {}).items():
        v = copy.deepcopy(v)
        tg = v.get("targets", {})
        new_tg = {}
        for tk, tv in tg.items():
            if tk in ("pathway_gain", "stdp_rate"):
                new_tg[tk] = {r(n): g for n, g in tv.items()}
            else:
                new_tg[r(tk)] = tv
        if tg:
            v["targets"] = new_tg
        if "trigger" in v and "population" in v["trigger"]:
            v["trigger"]["population"] = r(v["trigger"]["population"])
        mods[r(k)] = v
    out["modulators"] = mods
    rec = copy.deepcopy(data.get("recording", {}))
    if rec.get("spikes") is not None:
        rec["spikes"] = [r(p) for p in rec["spikes"]]
    if "traces" in rec:
        rec["traces"] = {r(p): t for p, t in rec["traces"].items()}
    if rec.get("weights") is not None:
        rec["weights"] = [r(p) for p in rec["weights"]]
    out["recording"] = rec
    return out


def replicate(specs, tags) -> CircuitSpec:
    """One circuit holding disjoint copies of ``specs``, names prefixed ``TAG__``.

    All copies must share ``dt_ms``, ``[space]`` and ``[receptors]``. Each copy keeps its
    own random streams (per-neuron dynamics streams, per-name wiring streams), so copies
    are independent trials.
    """
    specs = list(specs)
    if not specs:
        raise SpecError("replicate", [], "at least one circuit")
    base = specs[0].to_dict()
    merged = {"circuit": dict(base["circuit"]), "populations": {}, "pathways": {}, "inputs": {},
              "plasticity": {}, "modulators": {}, "recording": {}}
    merged["circuit"]["name"] = f"{base['circuit']['name']}[x{len(specs)}]"
    for key in ("space", "receptors"):
        if key in base:
            merged[key] = base[key]
    rec = {"traces": {}}
    spikes, weights = [], []
    for s, tag in zip(specs, tags):
        d = s.to_dict()
        for key in ("space", "receptors"):
            if d.get(key, {}) != base.get(key, {}):
                raise SpecError(key, d.get(key), f"the same [{key}] in every replicated circuit")
        if d["circuit"].get("dt_ms", 0.1) != base["circuit"].get("dt_ms", 0.1):
            raise SpecError("circuit.dt_ms", d["circuit"].get("dt_ms"), "the same dt_ms in every replicated circuit")
        rd = _rename_tree(d, tag)
        for key in ("populations", "pathways", "inputs", "plasticity", "modulators"):
            merged[key].update(rd[key])
        r = rd["recording"]
        spikes += r.get("spikes") or list(rd["populations"])
        weights += r.get("weights") or []
        rec["traces"].update(r.get("traces", {}))
        for k in ("weights_interval_ms", "weights_full", "modulators_interval_ms"):
            if k in r:
                rec[k] = r[k]
    rec["spikes"] = spikes
    if weights:
        rec["weights"] = weights
    merged["recording"] = rec
    return from_dict(merged, source=specs[0].path)


def condition_label(key: str, value) -> str:
    """Short label of a condition: the last two parts of the key and the value."""
    short = ".".join(key.split(".")[-2:])
    return f"{short}={value:g}" if isinstance(value, (int, float)) and not isinstance(value, bool) else f"{short}={value}"


def _default_population(spec) -> str:
    for name, pop in spec.populations.items():
        if pop.model == "l5_pyramidal":
            return name
    for name, pop in spec.populations.items():
        if pop.model not in ("poisson", "generator"):
            return name
    raise SpecError("populations", list(spec.populations), "a neuron population to measure")


def _input_onset(spec, key: str) -> float:
    parts = key.split(".")
    if len(parts) >= 3 and parts[0] == "inputs" and parts[1] in spec.inputs:
        return spec.inputs[parts[1]].start_ms
    return 0.0


def _check_key(spec, key, what):
    """A vary/input key must name an existing value (or a modulator level)."""
    node = spec.to_dict()
    parts = key.split(".")
    for i, part in enumerate(parts):
        if isinstance(node, dict) and part in node:
            node = node[part]
            continue
        # allow keys that validate once set (e.g. params.kappa, modulators.NA.tonic)
        try:
            spec.with_overrides({key: 0.0 if i == len(parts) - 1 else {}})
            return
        except SpecError:
            raise SpecError(what, key, "a dotted key path of a value in the circuit") from None


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


def _is_l5(spec, pop) -> bool:
    return spec.populations[pop].model == "l5_pyramidal"


def _spike_stats(rec, pop, lo_ms, hi_ms, burst_isi_ms, l5):
    i, t, b = rec.spikes(pop)
    m = (t >= lo_ms) & (t < hi_ms)
    n = rec.pop_size(pop)
    st = analysis.spike_stats(i[m], t[m], b[m], n, max(hi_ms - lo_ms, 1e-9), l5, burst_isi_ms)
    out = {"rate_hz": st["rate_hz"], "isi_burst_excess": st["isi_burst_excess"],
           "spikes_per_isi_burst": st["spikes_per_isi_burst"], "n_spikes": st["n_spikes"]}
    if l5:
        out["burst_reset_fraction"] = st["burst_reset_fraction"]
    return out


#: f-I fit columns of each curve of :func:`gain_sweep` (from :class:`l5sim.analysis.FIShape`).
FIT_COLUMNS = ("rheobase_pa", "rheobase_se_pa", "slope_hz_per_pa", "slope_se", "r2", "rms_hz", "onset_pa",
               "max_local_slope_hz_per_pa", "max_local_slope_at_pa", "one_line_ok")


def _nan_stat(values, fn):
    v = np.asarray(values, float)
    return float(fn(v[np.isfinite(v)])) if np.isfinite(v).any() else float("nan")


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
    _check_key(spec, vary_key, "vary_key")
    _check_key(spec, input_key, "input_key")
    pop = population or _default_population(spec)
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
    lo, hi = window_ms if window_ms is not None else (_input_onset(spec, input_key), duration_ms)
    l5 = _is_l5(spec, pop)
    rows = []
    for seed in seeds:
        rec = simulate(build(big, seed=int(seed)), duration_ms, seed=int(seed), progress=progress)
        for (ci, li), tag in zip(index, tags):
            st = _spike_stats(rec, f"{tag}{SEP}{pop}", lo, hi, burst_isi_ms, l5)
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
                      "rheobase_sd": _nan_stat([p.rheobase_pa for p in per_seed], np.std),
                      "slope_sd": _nan_stat([p.slope_hz_per_pa for p in per_seed], np.std),
                      "mean_isi_burst_excess": _nan_stat([r["isi_burst_excess"] for r in rc], np.mean)})
        if l5:
            curve["mean_burst_reset_fraction"] = _nan_stat([r["burst_reset_fraction"] for r in rc], np.mean)
        curve["n_seeds"] = len(list(seeds))
        curves.append(curve)
    from .simulation import run_metadata

    meta = run_metadata(build(spec, seed=int(seeds[0])), list(map(int, seeds)), duration_ms, 0.0)
    meta.update({"experiment": "gain", "vary_key": vary_key, "vary_values": vary_values, "input_key": input_key,
                 "input_values": input_values, "population": pop, "window_ms": [lo, hi],
                 "burst_isi_ms": burst_isi_ms, "min_rate_hz": min_rate_hz, "window_pa": window_pa})
    return GainResult(rows, curves, vary_key, input_key, pop, meta)


#: Default conditions of the STDP-acceleration protocol on circuits/l5_stdp.toml. The pairing
#: (presynaptic spike, somatic pulse and hold) is the same in all; only the dendrite differs.
#: 500 pA apical drive: below the 647 pA DC plateau threshold and below 539 pA, where an upper
#: (plateau) fixed point appears, so each plateau is transient and started by a bAP.
STDP_APICAL_PA = 500.0
STDP_CONDITIONS = {
    "single": {},                                             # kappa 1, no apical drive
    "burst_dendrite": {"inputs.dend_drive.amplitude_pA": STDP_APICAL_PA},
    "single_kappa0": {"populations.pyr.params.kappa": 0.0, "inputs.dend_drive.amplitude_pA": STDP_APICAL_PA},
    "burst_NA": {"populations.pyr.params.kappa": 0.0, "inputs.dend_drive.amplitude_pA": STDP_APICAL_PA,
                 "modulators.NA.pulses": [{"onset_ms": 0.0, "amplitude": 2.0, "shape": "square"}]},
}


@dataclass
class STDPResult:
    """Tidy results of :func:`stdp_protocol` (one row per condition and seed)."""

    rows: list
    summary: dict
    metadata: dict
    weights: dict = field(default_factory=dict)   # condition -> (t_ms, mean weight) of the first seed
    spikes: dict = field(default_factory=dict)    # (condition, seed) -> (pre spike times, post spike times) (ms)


def stdp_protocol(spec: CircuitSpec, conditions: dict | None = None, n_pairs: int = 30,
                  period_ms: float = 200.0, delay_ms: float = 5.0, start_ms: float = 100.0, seeds=(0, 1, 2),
                  pre: str = "pre", post: str = "pyr", pathway: str = "pre_post",
                  soma_input: str | tuple = ("soma_pulse", "soma_hold"),
                  burst_isi_ms: float = analysis.BURST_ISI_MS, reference: str = "single") -> STDPResult:
    """The STDP-acceleration protocol: identical pre/post pairings, single spikes vs bursts.

    Each of ``n_pairs`` pairings is a presynaptic spike at ``start + k period`` followed
    ``delay_ms`` later by the somatic current pulses named in ``soma_input`` (a name or a
    tuple of names; each already in the circuit with its amplitude and width, all started
    at the same onset) that make the postsynaptic cell fire. The conditions change only the
    dendrite (apical drive, or an NA pulse that opens the coupling gate so that the bAP can
    trigger a plateau). Weight change per second of pairing of the plastic ``pathway`` is
    reported per condition and seed, and its ratio to ``reference``, with the postsynaptic
    cell's ``isi_burst_excess``, ``burst_reset_fraction`` (L5 cells; :mod:`l5sim.analysis`)
    and spikes per pairing.

    Why two pulses on ``circuits/l5_stdp.toml`` (the default LVPA cell; the circuit header
    gives the numbers): the dendrite acts on the soma only through the reset switch, and the
    first spike of a pairing resets regularly whatever the dendrite does (its bAP comes
    after it), so a brief one-spike pulse cannot show the acceleration. A 6 ms 2500 pA
    pulse gives a doublet in every condition; its second spike falls in the plateau started
    by the first spike's bAP when the dendrite is held near threshold and resets in burst
    mode (v -55 mV, u + 150 pA instead of -65 mV, + 250 pA). A 1300 pA, 10 ms hold then
    clears the ~900 pA needed for a third spike after a burst reset but not, within the
    hold, the ~1062 pA needed after a regular one: 2 vs 3 spikes per pairing, and by the
    pair rule (each post spike reads the pre trace exp(-dt / tau+)) about 1.35 times the
    weight change (seeds 0-4: see tests/test_stdp_acceleration.py).
    """
    seeds = check_seeds(seeds)
    conditions = dict(STDP_CONDITIONS if conditions is None else conditions)
    if reference not in conditions:
        raise SpecError("reference", reference, f"one of the conditions {sorted(conditions)}")
    soma_inputs = (soma_input,) if isinstance(soma_input, str) else tuple(soma_input)
    if not soma_inputs:
        raise SpecError("soma_input", soma_input, "at least one input name")
    checks = [(pre, "populations"), (post, "populations"), (pathway, "pathways")] + [(n, "inputs") for n in soma_inputs]
    for name, where in checks:
        if name not in getattr(spec, where):
            raise SpecError(where, name, f"a name in [{where}] of the circuit: {sorted(getattr(spec, where))}")
    if not spec.pathways[pathway].plasticity:
        raise SpecError(f"pathways.{pathway}.plasticity", "", "a plastic pathway")
    times = [start_ms + k * period_ms for k in range(n_pairs)]
    duration = start_ms + n_pairs * period_ms
    common = {"recording.traces": {},
              f"populations.{pre}.spike_times_ms": [times],
              "recording.weights_interval_ms": period_ms}
    for name in soma_inputs:
        common[f"inputs.{name}.start_ms"] = start_ms + delay_ms
        common[f"inputs.{name}.period_ms"] = period_ms
    names = list(conditions)
    copies = []
    for name in names:
        over = dict(common)
        for k, v in conditions[name].items():
            if k.startswith("modulators.") and k.endswith(".pulses"):
                v = [dict(p, duration_ms=p.get("duration_ms", duration)) for p in v]
            over[k] = v
        copies.append(spec.with_overrides(over))
    big = replicate(copies, names)
    rows, wtraj, spikes = [], {}, {}
    l5 = _is_l5(spec, post)
    pairing_s = n_pairs * period_ms * 1e-3
    for seed in seeds:
        rec = simulate(build(big, seed=int(seed)), duration, seed=int(seed), progress=False)
        for name in names:
            pw = f"{name}{SEP}{pathway}"
            w = rec.weights[pw]
            st = _spike_stats(rec, f"{name}{SEP}{post}", start_ms, duration, burst_isi_ms, l5)
            lvl = 0.0
            for k, v in conditions[name].items():
                if k.startswith("modulators.") and k.endswith(".pulses"):
                    lvl = float(sum(p.get("amplitude", 1.0) for p in v))
                elif k.startswith("modulators.") and k.endswith(".tonic"):
                    lvl += float(v)
            _, t_post, _ = rec.spikes(f"{name}{SEP}{post}")
            spikes[(name, int(seed))] = (np.asarray(rec.spikes(f"{name}{SEP}{pre}")[1], float), np.asarray(t_post, float))
            rows.append({"condition": name, "seed": int(seed), "dw_per_s": float((w[-1].mean() - w[0].mean()) / pairing_s),
                         "dw_total": float(w[-1].mean() - w[0].mean()),
                         **{k: st[k] for k in ("isi_burst_excess", "burst_reset_fraction") if k in st},
                         "spikes_per_pairing": st["n_spikes"] / (rec.pop_size(f"{name}{SEP}{post}") * n_pairs),
                         "modulator_level": lvl, "duration_ms": n_pairs * period_ms})
            if int(seed) == int(seeds[0]):
                wtraj[name] = (np.asarray(rec.weight_t_ms), w.mean(axis=1))
    summary = {}
    ref = np.mean([r["dw_per_s"] for r in rows if r["condition"] == reference])
    for name in names:
        vals = np.array([r["dw_per_s"] for r in rows if r["condition"] == name])
        summary[name] = {"dw_per_s_mean": float(vals.mean()), "dw_per_s_sd": float(vals.std()),
                         "ratio_to_" + reference: float(vals.mean() / ref) if ref != 0 else float("nan"),
                         **{k: _nan_stat([r[k] for r in rows if r["condition"] == name], np.mean)
                            for k in ("isi_burst_excess", "burst_reset_fraction", "spikes_per_pairing")
                            if k in rows[0]}}
    from .simulation import run_metadata

    meta = run_metadata(build(spec, seed=int(seeds[0])), list(map(int, seeds)), duration, 0.0)
    meta.update({"experiment": "stdp", "n_pairs": n_pairs, "period_ms": period_ms, "delay_ms": delay_ms,
                 "conditions": {k: {kk: vv for kk, vv in v.items()} for k, v in conditions.items()},
                 "pathway": pathway, "reference": reference, "soma_inputs": list(soma_inputs)})
    return STDPResult(rows, summary, meta, wtraj, spikes)


def write_csv(path, rows) -> None:
    """Write tidy rows as CSV atomically (header from the first row)."""
    import csv
    import io

    from .recording import write_text

    buf = io.StringIO()
    if rows:
        w = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
        w.writeheader()
        for r in rows:
            w.writerow(r)
    write_text(path, buf.getvalue())


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
    _check_key(spec, input_key, "input_key")
    pop = population or _default_population(spec)
    if pop not in spec.populations:
        raise SpecError("population", pop, f"a population name: {sorted(spec.populations)}")
    duration = float(onset_ms + 5.0 * tau_ms) if duration_ms is None else float(duration_ms)
    lo = float(onset_ms) - baseline_ms
    if lo < _input_onset(spec, input_key):
        raise SpecError("onset_ms", onset_ms, f"at least baseline_ms = {baseline_ms:g} ms after the input's onset "
                        f"({_input_onset(spec, input_key):g} ms)")
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
    from .simulation import run_metadata

    meta = run_metadata(build(spec, seed=int(seeds[0])), list(map(int, seeds)), duration, 0.0)
    meta.update({"experiment": "pulse", "modulator": modulator, "pulse_amplitude": float(amplitude),
                 "tau_ms": float(tau_ms), "shape": shape, "onset_ms": float(onset_ms), "bin_ms": float(bin_ms),
                 "baseline_ms": float(baseline_ms), "input_key": input_key, "input_values": input_values,
                 "population": pop, "neurons_per_level": neurons_per_level, "min_rate_hz": min_rate_hz,
                 "window_pa": window_pa,
                 "tonic_level": tonic, "onset_spread_ms": float(onset_spread_ms), "onsets_ms": onsets,
                 "time_origin": "time_ms is the bin centre relative to the pulse onset; bins before 0 are the baseline"})
    return PulseResult(rows, rates, meta)
