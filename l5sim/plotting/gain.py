"""f-I gain figures: gain-curve families (:func:`l5sim.experiments.gain_sweep`), the gain time
course after a neuromodulator pulse (:func:`l5sim.experiments.pulse_response`), and fitted f-I
curves (:func:`l5sim.fits.fit_gain_table`)."""
from __future__ import annotations

import numpy as np

from .labels import LABELS, label, spread_caption, value_text
from .style import OUTSIDE_RIGHT
from .style import CMAP_MEAN, MARKERS, PALETTE, pyplot

#: Words and units of the burst measures drawn by :func:`gain_curves`.
BURST_LABELS = {"burst_reset_fraction": LABELS["burst_reset_fraction"], "isi_burst_excess": LABELS["isi_burst_excess"]}


def _condition_colors(plt, n: int):
    """Colours of ``n`` ordered conditions: evenly spaced along viridis (perceptually uniform,
    readable with colour-vision deficiencies), the yellow end left out so lines show on white."""
    cmap = plt.get_cmap(CMAP_MEAN)
    return [cmap(0.85 * k / max(n - 1, 1)) for k in range(n)]


def gain_curves(result, ax=None, errorbars: bool = True):
    """Gain-curve family: rate and a burst measure vs input, one line per condition.

    ``result`` is a :class:`l5sim.experiments.GainResult` (or anything with ``rows``,
    ``input_key`` and ``vary_key``; ``curves`` adds the threshold-linear fits as dashed lines).
    The burst panel shows ``burst_reset_fraction`` for L5 pyramidal cells, else
    ``isi_burst_excess`` (:mod:`l5sim.analysis`). Points are means over seeds, error bars one
    SD across seeds (the legend says so, with n). The legend, outside the data on the right,
    is titled with the varied parameter in words and lists its values.

    Returns
    -------
    matplotlib.figure.Figure (two panels when ``ax`` is None).
    """
    plt = pyplot()
    if ax is None:
        fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    else:
        axes = np.atleast_1d(ax)
        fig = axes[0].figure
    burst_key = "burst_reset_fraction" if result.rows and "burst_reset_fraction" in result.rows[0] \
        else "isi_burst_excess"
    conds = list(dict.fromkeys(r["condition"] for r in result.rows))
    values = {r["condition"]: r.get("vary_value", r["condition"]) for r in result.rows}
    fits = {c["condition"]: c for c in getattr(result, "curves", [])}
    colors = _condition_colors(plt, len(conds))
    n_seeds = len(set(r["seed"] for r in result.rows))
    bars = errorbars and n_seeds > 1
    for k, cond in enumerate(conds):
        rr = [r for r in result.rows if r["condition"] == cond]
        xs = sorted(set(r["input_value"] for r in rr))
        style = {"color": colors[k], "marker": MARKERS[k % len(MARKERS)], "ms": 3.5, "lw": 1.2}
        for a, key in zip(axes, ("rate_hz", burst_key)):
            vals = [np.array([r[key] for r in rr if r["input_value"] == x], float) for x in xs]
            vals = [v[np.isfinite(v)] for v in vals]          # burst measures are NaN where silent
            m = [v.mean() if v.size else np.nan for v in vals]
            sd = [v.std() if v.size else np.nan for v in vals]
            if bars:
                a.errorbar(xs, m, yerr=sd, capsize=2, label=value_text(values[cond]), **style)
            else:
                a.plot(xs, m, label=value_text(values[cond]), **style)
        f = fits.get(cond)
        if f and np.isfinite(f.get("slope_hz_per_pa", np.nan)):
            grid = np.linspace(min(xs), max(xs), 200)
            axes[0].plot(grid, f["slope_hz_per_pa"] * np.maximum(0.0, grid - f["rheobase_pa"]),
                         color=colors[k], lw=0.8, ls="--")
    axes[0].set_ylabel(LABELS["rate_hz"])
    if len(axes) > 1:
        axes[1].set_ylabel(BURST_LABELS[burst_key])
    for a in axes:
        a.set_xlabel(label(result.input_key))
    handles, labels_ = axes[0].get_legend_handles_labels()
    if fits:
        handles.append(axes[0].plot([], [], color="0.3", lw=0.8, ls="--")[0])
        labels_.append("threshold-linear fit")
    caption = spread_caption(n_seeds) if bars else (f"mean over n = {n_seeds} seeds" if n_seeds > 1 else "one seed")
    axes[-1].legend(handles, labels_, fontsize=7, title=f"{label(result.vary_key)}\n{caption}", title_fontsize=7,
                    **OUTSIDE_RIGHT)
    fig.tight_layout()
    return fig


def pulse_gain(result, label: str = "", ax=None):
    """Gain time course after a neuromodulator pulse (:class:`l5sim.experiments.PulseResult`):
    mean f-I slope over seeds (Hz/pA) with a band of one SD across seeds; onset dashed."""
    plt = pyplot()
    if ax is None:
        fig, ax = plt.subplots(figsize=(7.5, 3.6))
    else:
        fig = ax.figure
    t, g, sd = result.mean_time_course()
    n = len(set(r["seed"] for r in result.rows))
    ax.fill_between(t, g - sd, g + sd, color=PALETTE[0], alpha=0.25, lw=0, label=f"± SD over n = {n} seeds")
    ax.plot(t, g, color=PALETTE[0], lw=1.4, label=label or "mean gain")
    ax.axvline(0.0, color="0.4", lw=0.8, ls="--", label="pulse onset")
    ax.set_xlabel("time from pulse onset (ms)")
    ax.set_ylabel("f-I gain, threshold-linear slope (Hz/pA)")
    ax.legend(fontsize=7, title=f"mean over n = {n} seeds", title_fontsize=7, **OUTSIDE_RIGHT)
    fig.tight_layout()
    return fig


def fi_fits(table: dict, gain_fits: dict, ax=None, input_key: str | None = None):
    """Measured f-I points (mean over seeds) and the fitted curves, one colour per condition.

    Parameters
    ----------
    table : dict of str to numpy.ndarray
        ``gain.csv`` columns (``condition``, ``input_value`` pA, ``rate_hz``, optionally
        ``seed`` and ``input_key``).
    gain_fits : dict
        Output of :func:`l5sim.fits.fit_gain_table`.
    ax : matplotlib Axes, optional
        Created if None.
    input_key : key of the input (default: the table's ``input_key`` column, else an injected
        somatic current).

    Returns
    -------
    matplotlib.figure.Figure
    """
    from ..fits import fi_saturating, fi_threshold_linear

    plt = pyplot()
    if ax is None:
        fig, ax = plt.subplots(figsize=(6.5, 3.6))
    else:
        fig = ax.figure
    cond = np.asarray(table["condition"]).astype(str)
    cur = np.asarray(table["input_value"], float)
    rate = np.asarray(table["rate_hz"], float)
    n_seeds = len(np.unique(table["seed"])) if "seed" in table else None
    if input_key is None and "input_key" in table and len(table["input_key"]):
        input_key = str(np.asarray(table["input_key"])[0])
    grid = np.linspace(cur.min(), cur.max(), 200)
    colors = _condition_colors(plt, len(gain_fits["fi"]))
    for k, e in enumerate(gain_fits["fi"]):
        m = cond == e["condition"]
        levels = np.unique(cur[m])
        means = [rate[m][cur[m] == c].mean() for c in levels]
        f = e["fit"]
        p = [f.params[name].value for name in f.params]
        yfit = fi_saturating(grid, *p) if f.model == "saturating" else fi_threshold_linear(grid, *p)
        ax.plot(grid, yfit, lw=1.2, color=colors[k],
                label=f"{e['condition']}: gain {f['slope_hz_per_pa'].value:.3f} Hz/pA")
        ax.plot(levels, means, MARKERS[k % len(MARKERS)], ms=3.5, color=colors[k])
    ax.set_xlabel(label(input_key) if input_key else "injected somatic current (pA)")
    ax.set_ylabel(LABELS["rate_hz"])
    points = f"points: mean over n = {n_seeds} seeds" if n_seeds else "points: mean over seeds"
    ax.legend(fontsize=7, title=f"{label(gain_fits['vary_key'])}\nlines: fits; {points}", title_fontsize=7,
              **OUTSIDE_RIGHT)
    fig.tight_layout()
    return fig
