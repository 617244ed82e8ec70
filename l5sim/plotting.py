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
    from . import analysis

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
            centres, r = analysis.population_rate(t, hi - lo, dur, bin_ms)
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
        from .recording import _FILE_MODE

        os.chmod(tmp, _FILE_MODE)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
        _plt().close(fig)


def gain_curves(result, ax=None, errorbars: bool = True):
    """Gain-curve family: rate and burst fraction vs input, one line per condition.

    ``result`` is a :class:`l5sim.experiments.GainResult` (or anything with ``rows``,
    ``input_key`` and ``vary_key``). Returns the figure (two panels when ``ax`` is None).
    """
    plt = _plt()
    if ax is None:
        fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    else:
        axes = np.atleast_1d(ax)
        fig = axes[0].figure
    conds = list(dict.fromkeys(r["condition"] for r in result.rows))
    cmap = plt.get_cmap("viridis")
    for k, cond in enumerate(conds):
        rr = [r for r in result.rows if r["condition"] == cond]
        xs = sorted(set(r["input_value"] for r in rr))
        col = cmap(k / max(len(conds) - 1, 1))
        for a, key in zip(axes, ("rate_hz", "burst_fraction")):
            m = [np.mean([r[key] for r in rr if r["input_value"] == x]) for x in xs]
            sd = [np.std([r[key] for r in rr if r["input_value"] == x]) for x in xs]
            if errorbars and len(set(r["seed"] for r in rr)) > 1:
                a.errorbar(xs, m, yerr=sd, color=col, lw=1.2, capsize=2, label=cond)
            else:
                a.plot(xs, m, color=col, lw=1.2, marker=".", label=cond)
    axes[0].set_ylabel("rate (Hz)")
    if len(axes) > 1:
        axes[1].set_ylabel("burst fraction (bursts / events)")
    for a in axes:
        a.set_xlabel(result.input_key)
    axes[0].legend(fontsize=7, title=result.vary_key, title_fontsize=7)
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
