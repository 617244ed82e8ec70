"""Plasticity figures: the STDP-acceleration protocol (:func:`l5sim.experiments.stdp_protocol`),
column STDP under an NA pulse (:func:`l5sim.column_stdp.column_stdp`), weight trajectories
and weight histograms of plastic pathways."""
from __future__ import annotations

import numpy as np

from .labels import LABELS, spread_caption
from .style import OUTSIDE_RIGHT
from .style import PALETTE, line_style, pyplot


def _condition_label(name: str) -> str:
    return LABELS.get(f"stdp.{name}", name.replace("_", " "))


def stdp_summary(result, axes=None, weight_unit: str = "nS"):
    """STDP protocol (:class:`l5sim.experiments.STDPResult`).

    Left: mean weight of the plastic pathway over time per condition (first seed). Conditions
    whose weights coincide (e.g. single spikes with the gate open or closed) all stay visible:
    each has its own colour, marker and dash, earlier lines are drawn wider beneath later ones,
    and the markers of different conditions fall on different samples. Right: weight change per
    second of pairing, mean ± SD over seeds, with each seed as a dot.

    Parameters
    ----------
    result : :class:`l5sim.experiments.STDPResult`.
    axes : two matplotlib axes (trajectories, weight change); a new figure when None.
    weight_unit : unit of the pathway's weights (nS for the conductance synapses of
        ``circuits/l5_stdp.toml``).
    """
    plt = pyplot()
    if axes is None:
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 4.4), gridspec_kw={"width_ratios": [1.2, 1]})
    else:
        a1, a2 = axes
        fig = a1.figure
    names = list(result.summary)
    n_lines = len(result.weights)
    for k, name in enumerate(result.weights):
        t, w = result.weights[name]
        t = np.asarray(t) / 1000.0
        step = max(n_lines, len(t) // 10)
        a1.plot(t, w, lw=1.2 + 1.4 * (n_lines - 1 - k) / max(n_lines - 1, 1), ms=5, markevery=(k % step, step),
                markerfacecolor="none", label=_condition_label(name), **line_style(k))
    a1.set_xlabel("time (s)")
    a1.set_ylabel(f"mean synaptic weight ({weight_unit})")
    seed0 = min(r["seed"] for r in result.rows) if result.rows else 0
    a1.set_title(f"one run per condition (seed {seed0})", fontsize=8)
    a1.legend(fontsize=7, title="condition", title_fontsize=7, loc="upper left", bbox_to_anchor=(0.0, -0.16),
              ncol=2, frameon=False)
    n = len({r["seed"] for r in result.rows})
    y = np.arange(len(names))[::-1]
    a2.barh(y, [result.summary[c]["dw_per_s_mean"] for c in names],
            xerr=[result.summary[c]["dw_per_s_sd"] for c in names], color=[line_style(k)["color"] for k in
                                                                            range(len(names))],
            alpha=0.75, capsize=3, label=spread_caption(n))
    for k, c in enumerate(names):
        v = [r["dw_per_s"] for r in result.rows if r["condition"] == c]
        a2.plot(v, np.full(len(v), y[k]) + np.linspace(-0.15, 0.15, len(v)), "o", ms=3, color="k",
                label="one seed" if k == 0 else None)
    a2.axvline(0.0, color="0.4", lw=0.6)
    a2.set_yticks(y, [_condition_label(c) for c in names], fontsize=7)
    a2.set_ylabel("protocol condition")
    a2.set_xlabel(f"weight change per second of pairing ({weight_unit}/s)")
    a2.legend(fontsize=7, loc="upper left", bbox_to_anchor=(0.0, -0.16), ncol=2, frameon=False)
    fig.tight_layout()
    return fig


def weight_trajectories(t_ms, weights, ax=None, label=None, max_lines: int = 50, weight_unit: str = "nS"):
    """Weight trajectories: mean (thick) and up to ``max_lines`` single synapses (thin grey).

    ``weights`` is an array (n_snapshots, n_synapses) as in ``Recording.weights[pathway]``,
    or a 1-D array of mean weights; ``weight_unit`` labels the axis.
    """
    plt = pyplot()
    if ax is None:
        fig, ax = plt.subplots(figsize=(8, 4))
    else:
        fig = ax.figure
    w = np.asarray(weights)
    t = np.asarray(t_ms) / 1000.0
    if w.ndim == 2:
        idx = np.linspace(0, w.shape[1] - 1, min(max_lines, w.shape[1])).astype(int) if w.shape[1] else []
        for j, k in enumerate(idx):
            ax.plot(t, w[:, k], color="0.75", lw=0.5,
                    label=f"single synapses ({len(idx)} drawn)" if j == 0 else None)
        w = w.mean(axis=1)
    k = sum(1 for line in ax.get_lines() if line.get_gid() == "mean weight")   # earlier calls on this ax
    ax.plot(t, w, lw=2, ms=4, markevery=max(1, len(t) // 12), markerfacecolor="none", gid="mean weight",
            label=label or "mean weight", **line_style(k))
    ax.set_xlabel("time (s)")
    ax.set_ylabel(f"synaptic weight ({weight_unit})")
    ax.legend(fontsize=8, **OUTSIDE_RIGHT)
    fig.tight_layout()
    return fig


def weight_histogram(weights, ax=None, bins: int = 50, label=None, weight_unit: str = "nS"):
    """Histogram of a set of weights (e.g. the final weights of a plastic pathway)."""
    plt = pyplot()
    if ax is None:
        fig, ax = plt.subplots(figsize=(6, 4))
    else:
        fig = ax.figure
    ax.hist(np.asarray(weights).ravel(), bins=bins, color=PALETTE[0], alpha=0.8, label=label)
    ax.set_xlabel(f"synaptic weight ({weight_unit})")
    ax.set_ylabel("synapses (count)")
    if label:
        ax.legend(fontsize=8, **OUTSIDE_RIGHT)
    fig.tight_layout()
    return fig


def column_stdp(result, axes=None):
    """Column STDP under a phasic NA pulse (:func:`l5sim.column_stdp.column_stdp`).

    Left: change of the plastic pathway's mean weight since the first sample (nS) vs time,
    pulse and control, mean over seeds with a band of ± 1 SD across seeds. Right: share of
    the population's spikes fired in burst-reset mode per time bin, same statistics. The NA
    pulse window is shaded.
    """
    plt = pyplot()
    if axes is None:
        fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
    fig = axes[0].figure
    rows = result.rows
    seeds = sorted({r["seed"] for r in rows})
    styles = {"control": dict(line_style(6), marker="o"), "pulse": line_style(4)}
    for cond in ("control", "pulse"):
        sel = [r for r in rows if r["condition"] == cond]
        t = np.array(sorted({r["t_end_ms"] for r in sel}))
        w = np.array([[r["mean_weight"] for r in sel if r["seed"] == s] for s in seeds])
        w = w - w[:, :1]
        share = np.array([[r["burst_reset_share"] for r in sel if r["seed"] == s] for s in seeds])
        for ax, y in ((axes[0], w), (axes[1], share)):
            m, sd = y.mean(axis=0), y.std(axis=0)
            ax.plot(t / 1000.0, m, ms=3, markevery=max(1, len(t) // 10), label="NA pulse" if cond == "pulse"
                    else "no pulse", **styles[cond])
            ax.fill_between(t / 1000.0, m - sd, m + sd, color=styles[cond]["color"], alpha=0.2, lw=0)
    lo, hi = result.summary["paired"]["window_ms"]
    for ax in axes:
        ax.axvspan(lo / 1000.0, hi / 1000.0, color=PALETTE[5], alpha=0.15, lw=0, label="NA pulse window")
        ax.set_xlabel("time (s)")
    pw = result.metadata.get("pathway", "pathway")
    axes[0].set_ylabel(f"mean weight change of {pw} synapses (nS)")
    axes[1].set_ylabel("share of spikes in burst-reset mode (fraction)")
    axes[0].set_title(spread_caption(len(seeds)), fontsize=9)
    axes[1].set_title(f"{result.metadata.get('population', '')} spikes per {result.metadata.get('bin_ms', 0):g} ms "
                      f"bin; {spread_caption(len(seeds))}", fontsize=9)
    axes[1].legend(fontsize=8, **OUTSIDE_RIGHT)
    fig.tight_layout()
    return fig
