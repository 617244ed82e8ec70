"""What every experiment shares: seeds and grids from the command line, circuits replicated
into one simulation of disjoint copies, spike statistics over a window, tidy CSV."""
from __future__ import annotations

import copy
import math

import numpy as np

from .. import analysis
from ..errors import SpecError
from ..sizing import check_sweep
from ..spec import CircuitSpec, from_dict, parse_value

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


def default_population(spec) -> str:
    """The population an experiment measures unless told: the first L5 pyramidal one, else the
    first neuron population."""
    for name, pop in spec.populations.items():
        if pop.model == "l5_pyramidal":
            return name
    for name, pop in spec.populations.items():
        if pop.model not in ("poisson", "generator"):
            return name
    raise SpecError("populations", list(spec.populations), "a neuron population to measure")


def input_onset(spec, key: str) -> float:
    """Start (ms) of the input that ``key`` (``inputs.NAME.FIELD``) sets; 0 for other keys."""
    parts = key.split(".")
    if len(parts) >= 3 and parts[0] == "inputs" and parts[1] in spec.inputs:
        return spec.inputs[parts[1]].start_ms
    return 0.0


def check_key(spec, key, what):
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


def is_l5(spec, pop) -> bool:
    """Whether population ``pop`` is L5 pyramidal (and so has burst-reset spikes)."""
    return spec.populations[pop].model == "l5_pyramidal"


def window_spike_stats(rec, pop, lo_ms, hi_ms, burst_isi_ms, l5):
    """Rate (Hz), ISI-burst measures and spike count of population ``pop`` of a recording in
    [``lo_ms``, ``hi_ms``), with the burst-reset fraction when ``l5``
    (:func:`l5sim.analysis.spike_stats`)."""
    i, t, b = rec.spikes(pop)
    m = (t >= lo_ms) & (t < hi_ms)
    n = rec.pop_size(pop)
    st = analysis.spike_stats(i[m], t[m], b[m], n, max(hi_ms - lo_ms, 1e-9), l5, burst_isi_ms)
    out = {"rate_hz": st["rate_hz"], "isi_burst_excess": st["isi_burst_excess"],
           "spikes_per_isi_burst": st["spikes_per_isi_burst"], "n_spikes": st["n_spikes"]}
    if l5:
        out["burst_reset_fraction"] = st["burst_reset_fraction"]
    return out


def finite_stat(values, fn):
    """``fn`` (e.g. ``np.mean``) of the finite ``values``; NaN when none is finite."""
    v = np.asarray(values, float)
    return float(fn(v[np.isfinite(v)])) if np.isfinite(v).any() else float("nan")


def write_csv(path, rows) -> None:
    """Write tidy rows as CSV atomically (header from the first row)."""
    import csv
    import io

    from ..recording import write_text

    buf = io.StringIO()
    if rows:
        w = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
        w.writeheader()
        for r in rows:
            w.writerow(r)
    write_text(path, buf.getvalue())
