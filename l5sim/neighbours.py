"""The neighbour experiment: how PV (soma-targeted) and SOM (dendrite-targeted) inhibition
change the f-I curves of the neighbours of a driven group of pyramidal cells.

Claims tested (Rodriguez-Garcia et al. 2025, arXiv 2507.03222; science.md sections 1 and 8.4):
soma-targeted (PV) inhibition raises the firing threshold of neighbouring neurons (a
subtractive shift of their f-I curve), dendrite-targeted (SOM) inhibition lowers their gain
and their bursting (divisive).

Protocol (an l5sim design; the paper's own protocol could not be read). In the column, a
group of ``group_size`` neighbouring pyramidal cells (centred on cell 0) receives a steady
somatic current ``group_drive_pA``; it recruits PV and SOM cells. The f-I curves of their
neighbours are measured as in a slice experiment where one cell at a time is patched: a
sparse set of *probe* cells (every ``probe_every``-th other pyramidal cell) receives a
somatic step, one level per probe, the levels assigned in turn along the ring so that every
distance from the group holds every level. Levels are spread about zero, so the probes add
little net current to the network and the inhibition they see is set by the group and the
column, not by their own step (a neighbour's own drive recruiting its own feedback
inhibition would make any inhibition divisive). The PV -> pyramidal-soma and SOM ->
pyramidal-dendrite pathways are scaled (their weights multiplied) over a grid; every
condition is one copy of the column and all copies run in one simulation per seed
(:func:`l5sim.experiments.replicate`).

Measured, per condition, seed and distance bin (arc distance from the group's centre, in
ring radii): the probes' mean rate per level (Hz, spikes after ``settle_ms``), their
burst-reset fraction (share of spikes fired under the dendritic burst reset), and a
threshold-linear fit of the curve (:func:`l5sim.analysis.fi_shape_fit`: rheobase I0 and slope
s). Against the reference condition (the shipped column, scales 1 and 1), each condition's
change of the rate at the top level, r_top, is split into the part the rheobase shift
explains, -s_ref (I0 - I0_ref), and the part the slope change explains, (s - s_ref)(I_top -
I0); ``subtractive_share`` = |shift part| / (|shift part| + |slope part|), paired by seed.
A share above 0.5 calls the change subtractive, below 0.5 divisive (a stated convention).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from . import analysis
from .builder import build
from .errors import SpecError
from .experiments import SEP, check_seeds, replicate
from .simulation import run_metadata, simulate
from .spec import CircuitSpec

#: Default distance bins (arc distance from the group centre, ring radii): near, mid, far.
DISTANCE_EDGES = (0.0, 1.0, 2.0, math.pi + 1e-9)


@dataclass
class NeighbourResult:
    """Tidy results of :func:`neighbour_fi`.

    ``rows``: one per condition, seed, distance bin and input level (``rate_hz``,
    ``burst_reset_fraction``, ``n_cells``); ``curves``: one per condition, distance bin and
    seed (threshold-linear fit); ``summary``: one per condition and distance bin, means and
    SDs over seeds and the paired comparison with the reference condition.
    """

    rows: list
    curves: list
    summary: list
    metadata: dict = field(default_factory=dict)

    def summary_of(self, pv_scale, som_scale, distance_bin="all") -> dict:
        for s in self.summary:
            if s["pv_scale"] == pv_scale and s["som_scale"] == som_scale and s["distance_bin"] == distance_bin:
                return s
        raise KeyError((pv_scale, som_scale, distance_bin))


def _ring_distance(k, n):
    """Arc distance (ring radii) of cell ``k`` from cell 0 on a ring of ``n`` evenly spaced cells."""
    a = 2.0 * np.pi * (np.asarray(k, float) % n) / n
    return np.minimum(a, 2.0 * np.pi - a)


def layout(n: int, group_size: int, probe_every: int, n_levels: int):
    """(group cells, probe cells, level index of each probe) for a ring of ``n`` cells."""
    half = group_size // 2
    group = np.array([k % n for k in range(-half, group_size - half)], np.int64)
    others = np.setdiff1d(np.arange(n), group)
    probes = others[::probe_every]
    level = np.arange(probes.size) % n_levels
    return group, probes, level


def neighbour_fi(spec: CircuitSpec, pv_scales=(0.5, 1.0, 2.0), som_scales=(0.0, 1.0, 2.0),
                 input_values=tuple(np.arange(-300.0, 701.0, 100.0)), group_size: int = 40,
                 group_drive_pA: float = 600.0, probe_every: int = 2, distance_edges=DISTANCE_EDGES,
                 seeds=(1, 2, 3, 4, 5), duration_ms: float = 1500.0, settle_ms: float = 300.0,
                 population: str = "pyr", pv_pathway: str = "pv_pyr", som_pathway: str = "som_pyr",
                 reference=(1.0, 1.0), min_rate_hz: float = 1.0, window_pa: float = 800.0,
                 progress: bool | None = False, parallel: bool | None = None) -> NeighbourResult:
    """Neighbours' f-I curves by distance, over a grid of PV and SOM pathway strengths.

    Parameters
    ----------
    spec : the column (``circuits/l5_column.toml``): a ring of L5 cells ``population`` with
        pathways ``pv_pathway`` (onto the soma) and ``som_pathway`` (onto the dendrite).
    pv_scales, som_scales : factors on the two pathways' weights; every pair is a condition.
    input_values : somatic step levels of the probes (pA).
    group_size, group_drive_pA : the driven group (cells centred on cell 0) and its somatic
        current (pA).
    probe_every : every k-th non-group cell is a probe.
    distance_edges : edges of the distance bins (arc distance from cell 0, ring radii).
    seeds : one simulation of all conditions per seed (wiring and dynamics from the seed).
    duration_ms, settle_ms : simulated time and the initial transient left out (ms).
    reference : the (pv_scale, som_scale) condition the others are compared with.
    min_rate_hz, window_pa : passed to :func:`l5sim.analysis.fi_shape_fit`.
    progress, parallel : passed to :func:`l5sim.simulate`.

    Returns
    -------
    NeighbourResult
    """
    seeds = check_seeds(seeds)
    pv_scales = [float(x) for x in pv_scales]
    som_scales = [float(x) for x in som_scales]
    levels = np.asarray(input_values, float)
    if levels.size < 3:
        raise SpecError("input_values", list(levels), "at least 3 probe levels (pA)")
    if tuple(map(float, reference)) not in {(p, s) for p in pv_scales for s in som_scales}:
        raise SpecError("reference", reference, f"a (pv_scale, som_scale) pair of the grid {pv_scales} x {som_scales}")
    if any(x < 0 for x in pv_scales + som_scales):
        raise SpecError("pv_scales/som_scales", pv_scales + som_scales, "factors >= 0")
    if population not in spec.populations or spec.populations[population].model != "l5_pyramidal":
        raise SpecError("population", population, "an l5_pyramidal population of the circuit")
    for name in (pv_pathway, som_pathway):
        if name not in spec.pathways:
            raise SpecError("pathway", name, f"a pathway of the circuit: {sorted(spec.pathways)}")
    if spec.space.geometry != "ring":
        raise SpecError("space.geometry", spec.space.geometry, "'ring' (distances are arcs from cell 0)")
    if not 0 <= settle_ms < duration_ms:
        raise SpecError("settle_ms", settle_ms, f"a time in [0, duration_ms = {duration_ms:g})")
    n = spec.populations[population].n
    if not 1 <= group_size < n // 2:
        raise SpecError("group_size", group_size, f"1 .. {n // 2 - 1} cells (population {population!r} has {n})")
    if probe_every < 1:
        raise SpecError("probe_every", probe_every, "an integer >= 1")
    group, probes, lvl = layout(n, group_size, probe_every, levels.size)
    dist = _ring_distance(probes, n)
    edges = np.asarray(distance_edges, float)
    dbin = np.searchsorted(edges, dist, side="right") - 1
    bin_names = [f"{edges[b]:.2g}-{min(edges[b + 1], math.pi):.2g}" for b in range(edges.size - 1)]
    w_pv = spec.pathways[pv_pathway].connectivity.weight
    w_som = spec.pathways[som_pathway].connectivity.weight
    base = {"recording.traces": {}, "recording.spikes": [population],
            "inputs.neighbour_group_drive": {"kind": "current", "population": population, "compartment": "soma",
                                             "amplitude_pA": float(group_drive_pA), "profile": "neurons",
                                             "neurons": [int(x) for x in group]}}
    for li, v in enumerate(levels):
        base[f"inputs.neighbour_probe{li}"] = {"kind": "current", "population": population, "compartment": "soma",
                                               "amplitude_pA": float(v), "profile": "neurons",
                                               "neurons": [int(x) for x in probes[lvl == li]]}
    conds = [(p, s) for p in pv_scales for s in som_scales]
    copies = [spec.with_overrides({**base, f"pathways.{pv_pathway}.connectivity.weight": w_pv * p,
                                   f"pathways.{som_pathway}.connectivity.weight": w_som * s}) for p, s in conds]
    tags = [f"c{k}" for k in range(len(conds))]
    big = replicate(copies, tags)
    window_s = (duration_ms - settle_ms) * 1e-3
    rows, curves = [], []
    groups = [("all", np.ones(probes.size, bool))] + [(bin_names[b], dbin == b) for b in range(len(bin_names))]
    for seed in seeds:
        rec = simulate(build(big, seed=int(seed)), duration_ms, seed=int(seed), progress=progress,
                       parallel=parallel)
        for (p, s), tag in zip(conds, tags):
            i, t, b = rec.spikes(f"{tag}{SEP}{population}")
            m = t >= settle_ms
            cnt = np.bincount(i[m], minlength=n)[probes]
            nb = np.bincount(i[m], weights=b[m].astype(float), minlength=n)[probes]
            for gname, gmask in groups:
                rates = []
                for li, v in enumerate(levels):
                    sel = gmask & (lvl == li)
                    r = float(cnt[sel].mean() / window_s) if sel.any() else float("nan")
                    k = cnt[sel].sum()
                    rows.append({"pv_scale": p, "som_scale": s, "seed": int(seed), "distance_bin": gname,
                                 "input_pa": float(v), "rate_hz": r, "n_cells": int(sel.sum()),
                                 "burst_reset_fraction": float(nb[sel].sum() / k) if k else float("nan")})
                    rates.append(r)
                fit = analysis.fi_shape_fit(levels, rates, min_rate_hz=min_rate_hz, window_pa=window_pa)
                k_all = cnt[gmask].sum()
                curves.append({"pv_scale": p, "som_scale": s, "seed": int(seed), "distance_bin": gname,
                               "rheobase_pa": fit.rheobase_pa, "slope_hz_per_pa": fit.slope_hz_per_pa,
                               "rate_top_hz": rates[-1], "r2": fit.r2, "one_line_ok": fit.one_line_ok,
                               "burst_reset_fraction": float(nb[gmask].sum() / k_all) if k_all else float("nan"),
                               "note": fit.note})
    summary = _summarize(curves, conds, [g for g, _ in groups], tuple(map(float, reference)), float(levels[-1]))
    meta = run_metadata(build(spec, seed=int(seeds[0])), [int(x) for x in seeds], duration_ms, 0.0)
    meta.update({"experiment": "neighbours", "pv_scales": pv_scales, "som_scales": som_scales,
                 "input_values": [float(x) for x in levels], "group_size": group_size,
                 "group_drive_pA": float(group_drive_pA), "group_cells": [int(x) for x in group],
                 "probe_every": probe_every, "n_probes": int(probes.size), "distance_edges": [float(x) for x in edges],
                 "settle_ms": settle_ms, "pv_pathway": pv_pathway, "som_pathway": som_pathway,
                 "pv_weight_nS": w_pv, "som_weight_nS": w_som, "reference": list(map(float, reference)),
                 "population": population, "min_rate_hz": min_rate_hz, "window_pa": window_pa,
                 "subtractive_share": "|s_ref dI0| / (|s_ref dI0| + |ds (I_top - I0)|), paired by seed; "
                                      "> 0.5 subtractive, < 0.5 divisive"})
    return NeighbourResult(rows, curves, summary, meta)


def _summarize(curves, conds, bins, reference, i_top):
    """Means and SDs over seeds per condition and bin, and the paired comparison with
    ``reference`` (rheobase shift, slope ratio, subtractive share)."""
    def of(p, s, g):
        return sorted((c for c in curves if c["pv_scale"] == p and c["som_scale"] == s and c["distance_bin"] == g),
                      key=lambda c: c["seed"])

    out = []
    for g in bins:
        ref = of(*reference, g)
        for p, s in conds:
            cs = of(p, s, g)
            col = lambda k, rows=cs: np.array([r[k] for r in rows], float)  # noqa: E731
            row = {"pv_scale": p, "som_scale": s, "distance_bin": g, "n_seeds": len(cs)}
            for k in ("rheobase_pa", "slope_hz_per_pa", "rate_top_hz", "burst_reset_fraction"):
                x = col(k)
                row[k] = float(np.nanmean(x)) if np.isfinite(x).any() else float("nan")
                row[k + "_sd"] = float(np.nanstd(x)) if np.isfinite(x).any() else float("nan")
            i0, sl = col("rheobase_pa"), col("slope_hz_per_pa")
            i0r, slr = col("rheobase_pa", ref), col("slope_hz_per_pa", ref)
            with np.errstate(invalid="ignore", divide="ignore"):   # NaN fits; 0 / 0 for the reference
                d_i0 = i0 - i0r
                ratio = sl / slr
                shift = np.abs(slr * d_i0)
                gain = np.abs((sl - slr) * (i_top - i0))
                share = shift / (shift + gain)
            for k, x in (("d_rheobase_pa", d_i0), ("slope_ratio", ratio), ("subtractive_share", share)):
                ok = np.isfinite(x)
                row[k] = float(x[ok].mean()) if ok.any() else float("nan")
                row[k + "_sd"] = float(x[ok].std()) if ok.any() else float("nan")
            out.append(row)
    return out
