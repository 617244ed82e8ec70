"""Plots. Each function takes ``ax=None`` (or axes), returns the figure, never calls
``plt.show()``; matplotlib is imported lazily so that ``l5sim --help`` stays instant.
Plot functions draw what they are given: they never simulate and never read files.
"""
from __future__ import annotations

import numpy as np

POP_COLORS = ("#1f4e9c", "#c0392b", "#27ae60", "#8e44ad", "#d68910", "#17a589", "#5d6d7e")


def _plt():
    import matplotlib

    if matplotlib.get_backend().lower() not in ("agg", "module://matplotlib_inline.backend_inline"):
        try:
            import matplotlib.pyplot as plt  # noqa: F401
        except Exception:  # pragma: no cover
            matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def raster(rec, ax=None, rate_ax=None, bin_ms: float = 5.0, max_spikes: int = 400_000, title: str | None = None):
    """Spike raster coloured by population, burst-reset spikes marked, population rate below.

    Parameters
    ----------
    rec : :class:`l5sim.recording.Recording`.
    ax, rate_ax : axes for the raster and the rate panel (a new figure when ``ax`` is None).
    bin_ms : bin of the population-rate panel (ms).
    max_spikes : at most this many spikes are drawn (evenly thinned beyond, stated in the title).
    """
    from ..analysis import population_rate

    plt = _plt()
    if ax is None:
        fig, (ax, rate_ax) = plt.subplots(2, 1, figsize=(9, 6), sharex=True,
                                          gridspec_kw={"height_ratios": [3, 1]})
    else:
        fig = ax.figure
    n_total = len(rec.spike_i)
    stride = max(1, int(np.ceil(n_total / max_spikes)))
    dur = rec.duration_ms
    yticks, ylabels = [], []
    for k, name in enumerate(rec.pop_names):
        lo, hi = int(rec.pop_start[k]), int(rec.pop_start[k + 1])
        i, t, b = rec.spikes(name)
        col = POP_COLORS[k % len(POP_COLORS)]
        sel = slice(None, None, stride)
        ax.scatter(t[sel], (i + lo)[sel], s=1.5, c=col, marker="|", linewidths=0.6, label=name, rasterized=True)
        mb = b.astype(bool)
        if mb.any():
            ax.scatter(t[mb][sel], (i + lo)[mb][sel], s=6, facecolors="none", edgecolors="k", linewidths=0.4,
                       marker="o", rasterized=True)
        yticks.append((lo + hi) / 2)
        ylabels.append(name)
        if rate_ax is not None:
            centres, r = population_rate(t, hi - lo, dur, bin_ms)
            rate_ax.plot(centres, r, color=col, lw=1, label=name)
    if np.any(rec.spike_burst):
        ax.scatter([], [], s=6, facecolors="none", edgecolors="k", label="burst-reset spike")
    ax.set_yticks(yticks, ylabels)
    ax.set_ylim(-0.5, rec.pop_start[-1] - 0.5)
    ax.set_xlim(0, dur)
    ax.set_ylabel("neuron (by population)")
    ax.legend(loc="upper right", fontsize=7, markerscale=4, frameon=True)
    t_ = title or rec.metadata.get("circuit_name", "")
    if stride > 1:
        t_ += f" (1 in {stride} spikes drawn)"
    ax.set_title(t_)
    if rate_ax is not None:
        rate_ax.set_xlabel("time (ms)")
        rate_ax.set_ylabel(f"rate (Hz, {bin_ms:g} ms bins)")
    else:
        ax.set_xlabel("time (ms)")
    fig.tight_layout()
    return fig


def traces(rec, pop: str, variables=("v", "vd"), ax=None):
    """State traces of the recorded neurons of one population, one panel per variable."""
    plt = _plt()
    variables = [v for v in variables if v in rec.traces.get(pop, {})]
    if not variables:
        raise ValueError(f"population {pop!r} has no recorded traces among {list(variables)}")
    if ax is None:
        fig, axes = plt.subplots(len(variables), 1, figsize=(9, 2.2 * len(variables)), sharex=True, squeeze=False)
        axes = axes[:, 0]
    else:
        axes = np.atleast_1d(ax)
        fig = axes[0].figure
    t = rec.trace_t_ms[pop]
    for a, var in zip(axes, variables):
        data = rec.traces[pop][var]
        for col, n in enumerate(rec.trace_neurons[pop]):
            a.plot(t, data[:, col], lw=0.8, label=f"{pop}[{n}]")
        a.set_ylabel(var)
    axes[0].legend(fontsize=7)
    axes[-1].set_xlabel("time (ms)")
    fig.tight_layout()
    return fig


def save_figure(fig, path) -> None:
    """Save a figure atomically (temporary file, then rename) and close it."""
    import os
    import tempfile
    from pathlib import Path

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=path.suffix)
    os.close(fd)
    try:
        fig.savefig(tmp, dpi=120)
        from ..recording import _FILE_MODE

        os.chmod(tmp, _FILE_MODE)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
        _plt().close(fig)


def _input_label(key: str) -> str:
    """Axis label in words for an f-I input key (``inputs.soma_step.amplitude_pA``)."""
    parts = key.split(".")
    if len(parts) >= 3 and parts[0] == "inputs":
        unit = " (pA)" if parts[-1].endswith("_pA") else ""
        return f"{parts[1].replace('_', ' ')} input{unit}"
    return key


#: Words and units of the burst measures drawn by :func:`gain_curves`.
BURST_LABELS = {"burst_reset_fraction": "share of spikes in burst reset",
                "isi_burst_excess": "short-ISI excess over Poisson (0-1)"}


def gain_curves(result, ax=None, errorbars: bool = True):
    """Gain-curve family: rate and a burst measure vs input, one line per condition.

    ``result`` is a :class:`l5sim.experiments.GainResult` (or anything with ``rows``,
    ``input_key`` and ``vary_key``; ``curves`` adds the threshold-linear fits as dashed lines).
    The burst panel shows ``burst_reset_fraction`` for L5 pyramidal cells, else
    ``isi_burst_excess`` (:mod:`l5sim.analysis`). Means over seeds, error bars one SD across
    seeds. Returns the figure (two panels when ``ax`` is None).
    """
    plt = _plt()
    if ax is None:
        fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    else:
        axes = np.atleast_1d(ax)
        fig = axes[0].figure
    burst_key = "burst_reset_fraction" if result.rows and "burst_reset_fraction" in result.rows[0] \
        else "isi_burst_excess"
    conds = list(dict.fromkeys(r["condition"] for r in result.rows))
    fits = {c["condition"]: c for c in getattr(result, "curves", [])}
    cmap = plt.get_cmap("viridis")
    n_seeds = len(set(r["seed"] for r in result.rows))
    for k, cond in enumerate(conds):
        rr = [r for r in result.rows if r["condition"] == cond]
        xs = sorted(set(r["input_value"] for r in rr))
        col = cmap(k / max(len(conds) - 1, 1))
        for a, key in zip(axes, ("rate_hz", burst_key)):
            vals = [np.array([r[key] for r in rr if r["input_value"] == x], float) for x in xs]
            vals = [v[np.isfinite(v)] for v in vals]          # burst measures are NaN where silent
            m = [v.mean() if v.size else np.nan for v in vals]
            sd = [v.std() if v.size else np.nan for v in vals]
            if errorbars and n_seeds > 1:
                a.errorbar(xs, m, yerr=sd, color=col, lw=1.2, capsize=2, label=cond)
            else:
                a.plot(xs, m, color=col, lw=1.2, marker=".", label=cond)
        f = fits.get(cond)
        if f and np.isfinite(f.get("slope_hz_per_pa", np.nan)):
            grid = np.linspace(min(xs), max(xs), 200)
            axes[0].plot(grid, f["slope_hz_per_pa"] * np.maximum(0.0, grid - f["rheobase_pa"]),
                         color=col, lw=0.8, ls="--")
    axes[0].set_ylabel("rate (Hz)")
    axes[0].set_title(f"mean over {n_seeds} seeds" + (" (+- SD)" if errorbars and n_seeds > 1 else "")
                      + ("; dashed: threshold-linear fit" if fits else ""), fontsize=8)
    if len(axes) > 1:
        axes[1].set_ylabel(BURST_LABELS[burst_key])
    for a in axes:
        a.set_xlabel(_input_label(result.input_key))
    axes[0].legend(fontsize=7, title=result.vary_key, title_fontsize=7)
    fig.tight_layout()
    return fig


def pulse_gain(result, label: str = "", ax=None):
    """Gain time course after a neuromodulator pulse (:class:`l5sim.experiments.PulseResult`):
    mean f-I slope over seeds (Hz/pA) with a band of one SD across seeds; onset dashed."""
    plt = _plt()
    if ax is None:
        fig, ax = plt.subplots(figsize=(6, 3.6))
    else:
        fig = ax.figure
    t, g, sd = result.mean_time_course()
    n = len(set(r["seed"] for r in result.rows))
    ax.fill_between(t, g - sd, g + sd, color=POP_COLORS[0], alpha=0.25, lw=0, label=f"SD across {n} seeds")
    ax.plot(t, g, color=POP_COLORS[0], lw=1.4, label=label or "mean gain")
    ax.axvline(0.0, color="0.5", lw=0.8, ls="--")
    ax.set_xlabel("time from pulse onset (ms)")
    ax.set_ylabel("f-I gain, threshold-linear slope (Hz/pA)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def stdp_summary(result):
    """STDP protocol (:class:`l5sim.experiments.STDPResult`): mean weight over time per
    condition (first seed) and the weight change per second of pairing (mean +- SD over seeds)."""
    plt = _plt()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4))
    for name, (t, w) in result.weights.items():
        a1.plot(np.asarray(t) / 1000, w, label=name)
    a1.set_xlabel("time (s)")
    a1.set_ylabel("weight (mean over synapses)")
    a1.legend(fontsize=7)
    names = list(result.summary)
    a2.bar(names, [result.summary[n]["dw_per_s_mean"] for n in names],
           yerr=[result.summary[n]["dw_per_s_sd"] for n in names], color=POP_COLORS[0], capsize=3)
    a2.set_ylabel("weight change per second of pairing (1/s)")
    a2.set_title("mean +- SD over seeds", fontsize=8)
    a2.tick_params(axis="x", rotation=20)
    fig.tight_layout()
    return fig


def weight_trajectories(t_ms, weights, ax=None, label=None, max_lines: int = 50):
    """Weight trajectories: mean (thick) and up to ``max_lines`` single synapses over time.

    ``weights`` is an array (n_snapshots, n_synapses) as in ``Recording.weights[pathway]``,
    or a 1-D array of mean weights.
    """
    plt = _plt()
    if ax is None:
        fig, ax = plt.subplots(figsize=(7, 4))
    else:
        fig = ax.figure
    w = np.asarray(weights)
    t = np.asarray(t_ms) / 1000.0
    if w.ndim == 2:
        idx = np.linspace(0, w.shape[1] - 1, min(max_lines, w.shape[1])).astype(int) if w.shape[1] else []
        for k in idx:
            ax.plot(t, w[:, k], color="0.7", lw=0.5)
        w = w.mean(axis=1)
    ax.plot(t, w, lw=2, label=label or "mean weight")
    ax.set_xlabel("time (s)")
    ax.set_ylabel("weight")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def weight_histogram(weights, ax=None, bins: int = 50, label=None):
    """Histogram of a set of weights (e.g. the final weights of a plastic pathway)."""
    plt = _plt()
    if ax is None:
        fig, ax = plt.subplots(figsize=(6, 4))
    else:
        fig = ax.figure
    ax.hist(np.asarray(weights).ravel(), bins=bins, color="#1f4e9c", alpha=0.8, label=label)
    ax.set_xlabel("weight")
    ax.set_ylabel("synapses")
    if label:
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def raster_with_modulators(rec, bin_ms: float = 5.0):
    """Raster, population rate and the neuromodulator time course below it."""
    plt = _plt()
    fig, (a1, a2, a3) = plt.subplots(3, 1, figsize=(9, 7), sharex=True,
                                     gridspec_kw={"height_ratios": [3, 1, 1]})
    raster(rec, ax=a1, rate_ax=a2, bin_ms=bin_ms)
    for name, lv in rec.modulators.items():
        a3.plot(rec.modulator_t_ms, lv, lw=1.2, label=name)
    a3.set_ylabel("modulator level")
    a3.set_xlabel("time (ms)")
    a2.set_xlabel("")
    if rec.modulators:
        a3.legend(fontsize=7)
    fig.tight_layout()
    return fig


def column_scaling(table, ax=None, title: str | None = None):
    """Per-population firing rate against network size (a scaling check of a circuit).

    Parameters
    ----------
    table : mapping with ``n_total`` (total neurons per size), ``populations`` (names) and
        ``rates`` {population: {"mean": [...], "sd": [...]}} (Hz, one value per size; the sd
        over ``n_seeds`` seeds), e.g. ``docs/results/column_scaling.json``. Optional
        ``unscaled``: {"n_total": size, "rates": {population: rate (Hz)}} of one run without
        the scaling rule, drawn as open markers.
    ax : axes (a new figure when None).
    """
    plt = _plt()
    if ax is None:
        fig, ax = plt.subplots(figsize=(6.5, 4.2))
    else:
        fig = ax.figure
    n = np.asarray(table["n_total"], float)
    n_seeds = table.get("n_seeds")
    for k, pop in enumerate(table["populations"]):
        r = table["rates"][pop]
        color = POP_COLORS[k % len(POP_COLORS)]
        ax.errorbar(n, r["mean"], yerr=r["sd"], marker="o", ms=5, lw=1.5, capsize=3, color=color, label=pop)
        un = table.get("unscaled")
        if un:
            ax.plot([un["n_total"]], [un["rates"][pop]], marker="s", ms=7, mfc="none", color=color, ls="none")
    ax.set_xscale("log")
    ax.set_yscale("symlog", linthresh=1.0)       # log above 1 Hz, linear through a silent 0
    ax.set_xlabel("neurons in the column (all populations)")
    ax.set_ylabel("firing rate (Hz)")
    sd_note = f"mean and SD over {n_seeds} seeds" if n_seeds else "mean and SD over seeds"
    ax.set_title(title or f"Rates at fixed in-degree ({sd_note})", fontsize=10)
    if table.get("unscaled"):
        ax.plot([], [], marker="s", mfc="none", color="0.4", ls="none", label="without scaling")
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))
    fig.tight_layout()
    return fig


def neighbour_fi(result, distance_bin: str = "all"):
    """Figure of :func:`l5sim.neighbours.neighbour_fi`: the neighbours' f-I curves as the PV
    pathway is scaled (reference SOM), as the SOM pathway is scaled (reference PV), their
    burst-reset fraction, and maps of the rheobase shift and the slope ratio over the grid.
    Curves are means over seeds with the SD over seeds as bands (n stated in the legend)."""
    plt = _plt()
    rows = [r for r in result.rows if r["distance_bin"] == distance_bin]
    meta = result.metadata
    pv_ref, som_ref = meta["reference"]
    levels = np.array(meta["input_values"])
    n_seeds = len(meta["seed"]) if isinstance(meta.get("seed"), list) else 1
    fig, axes = plt.subplots(1, 5, figsize=(17, 3.6))

    def curve(p, s, key):
        per = {}
        for r in rows:
            if r["pv_scale"] == p and r["som_scale"] == s:
                per.setdefault(r["input_pa"], []).append(r[key])
        x = np.array(sorted(per))
        y = np.array([np.nanmean(per[v]) for v in x])
        sd = np.array([np.nanstd(per[v]) for v in x])
        return x, y, sd

    for ax, which, fixed, title in ((axes[0], "pv_scale", ("som_scale", som_ref), "PV -> soma scaled"),
                                    (axes[1], "som_scale", ("pv_scale", pv_ref), "SOM -> dendrite scaled")):
        vals = meta["pv_scales"] if which == "pv_scale" else meta["som_scales"]
        for k, v in enumerate(vals):
            p, s = (v, som_ref) if which == "pv_scale" else (pv_ref, v)
            x, y, sd = curve(p, s, "rate_hz")
            c = POP_COLORS[k % len(POP_COLORS)]
            ax.fill_between(x, y - sd, y + sd, color=c, alpha=0.2, lw=0)
            ax.plot(x, y, "o-", color=c, ms=3, lw=1.3, label=f"x{v:g}")
            if which == "som_scale":
                xb, yb, _ = curve(p, s, "burst_reset_fraction")
                axes[2].plot(xb, yb, "o-", color=c, ms=3, lw=1.3, label=f"SOM x{v:g}")
        ax.set_xlabel("probe's somatic step (pA)")
        ax.set_ylabel("neighbour rate (Hz)")
        ax.set_title(title, fontsize=9)
        ax.legend(title=f"weight factor (mean +- SD, {n_seeds} seeds)", fontsize=7, title_fontsize=7,
                  loc="upper left", frameon=False)
    axes[2].set_xlabel("probe's somatic step (pA)")
    axes[2].set_ylabel("burst-reset fraction of spikes")
    axes[2].set_title("bursting vs SOM (PV x%g)" % pv_ref, fontsize=9)
    axes[2].legend(fontsize=7, frameon=False)
    summ = [s for s in result.summary if s["distance_bin"] == distance_bin]
    pvs, soms = meta["pv_scales"], meta["som_scales"]
    for ax, key, label, cmap in ((axes[3], "d_rheobase_pa", "rheobase shift vs reference (pA)", "RdBu_r"),
                                 (axes[4], "slope_ratio", "slope ratio vs reference", "PuOr")):
        grid = np.full((len(pvs), len(soms)), np.nan)
        for s in summ:
            grid[pvs.index(s["pv_scale"]), soms.index(s["som_scale"])] = s[key]
        centre = 0.0 if key == "d_rheobase_pa" else 1.0
        span = np.nanmax(np.abs(grid - centre)) if np.isfinite(grid).any() else 1.0
        im = ax.imshow(grid, origin="lower", cmap=cmap, vmin=centre - span, vmax=centre + span, aspect="auto")
        for a in range(len(pvs)):
            for b in range(len(soms)):
                if np.isfinite(grid[a, b]):
                    ax.text(b, a, f"{grid[a, b]:.0f}" if key == "d_rheobase_pa" else f"{grid[a, b]:.2f}",
                            ha="center", va="center", fontsize=7)
        ax.set_xticks(range(len(soms)), [f"{v:g}" for v in soms])
        ax.set_yticks(range(len(pvs)), [f"{v:g}" for v in pvs])
        ax.set_xlabel("SOM -> dendrite weight factor")
        ax.set_ylabel("PV -> soma weight factor")
        ax.set_title(label, fontsize=9)
        fig.colorbar(im, ax=ax, fraction=0.046)
    fig.suptitle(f"neighbours of a driven group ({meta['group_size']} cells, {meta['group_drive_pA']:g} pA), "
                 f"distance bin {distance_bin} (ring radii)", fontsize=10)
    fig.tight_layout()
    return fig


def column_stdp(result, axes=None):
    """Column STDP under a phasic NA pulse (:func:`l5sim.column_stdp.column_stdp`).

    Left: change of the plastic pathway's mean weight since the first sample (nS) vs time,
    pulse and control, mean over seeds with a band of +- 1 SD across seeds. Right: share of
    the population's spikes fired in burst-reset mode per time bin, same statistics. The NA
    pulse window is shaded.
    """
    plt = _plt()
    if axes is None:
        fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    fig = axes[0].figure
    rows = result.rows
    seeds = sorted({r["seed"] for r in rows})
    colors = {"control": "0.35", "pulse": "#d68910"}
    for cond in ("control", "pulse"):
        sel = [r for r in rows if r["condition"] == cond]
        t = np.array(sorted({r["t_end_ms"] for r in sel}))
        w = np.array([[r["mean_weight"] for r in sel if r["seed"] == s] for s in seeds])
        w = w - w[:, :1]
        share = np.array([[r["burst_reset_share"] for r in sel if r["seed"] == s] for s in seeds])
        for ax, y in ((axes[0], w), (axes[1], share)):
            m, sd = y.mean(axis=0), y.std(axis=0)
            ax.plot(t / 1000.0, m, color=colors[cond], label=f"{'NA pulse' if cond == 'pulse' else 'no pulse'}")
            ax.fill_between(t / 1000.0, m - sd, m + sd, color=colors[cond], alpha=0.25, lw=0)
    lo, hi = result.summary["paired"]["window_ms"]
    for ax in axes:
        ax.axvspan(lo / 1000.0, hi / 1000.0, color="#f5cba7", alpha=0.35, lw=0)
        ax.set_xlabel("time (s)")
    pw = result.metadata.get("pathway", "pathway")
    axes[0].set_ylabel(f"mean weight change of {pw} synapses (nS)")
    axes[1].set_ylabel("share of spikes in burst-reset mode")
    axes[0].set_title(f"mean +- SD over n = {len(seeds)} seeds; shaded: NA pulse", fontsize=9)
    axes[1].set_title(f"{result.metadata.get('population', '')} spikes per {result.metadata.get('bin_ms', 0):g} ms bin; "
                      f"mean +- SD, n = {len(seeds)} seeds", fontsize=9)
    axes[0].legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    return fig
from l5sim.plotting.stability_gap import plot_stability_gap  # noqa: E402,F401  (ANN harness figure)
