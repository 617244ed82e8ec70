"""The stability-gap figure of the ANN harness (``l5sim stability-gap``).

Draws what it is given: a :class:`l5sim.ann.training.StabilityGapResult` (read by attribute:
``config``, ``task_names``, ``eval_iteration``, ``eval_block``, ``runs``), never trains and never
reads files. matplotlib is imported when a figure is drawn.
"""
from __future__ import annotations

import numpy as np

from .style import PALETTE, pyplot

__all__ = ["plot_stability_gap"]


def _seed_curves(result, name):
    """(n_seeds, n_evals, T) accuracies of the non-diverged runs of one optimizer, and n diverged."""
    runs = [r for r in result.runs if r.optimizer == name]
    ok = [r.acc for r in runs if not r.diverged]
    return (np.stack(ok) if ok else None), len(runs) - len(ok)


def plot_stability_gap(result, axes=None, window: int | None = None):
    """Task-1 accuracy around each task boundary (top) and every task's full curve (bottom).

    Top row, one panel per transition k -> k+1: task 1's test accuracy, mean over the
    non-diverged seeds with a band of +-1 sample sd (ddof = 1), the gap drawn as a vertical
    segment from the end of block k down to the minimum of block k+1 and annotated with SG_k
    (the paper's definition, on the seed-averaged curve). Bottom row, one panel per optimizer:
    the seed-averaged test accuracy of every task over the whole run (full length; before a
    task's block the curve shows transfer to a task not yet trained), task boundaries dashed.

    Parameters
    ----------
    result : StabilityGapResult
    axes : numpy.ndarray of matplotlib Axes, shape (2, ncols), optional
        ``ncols = max(T - 1, number of optimizers)``; created if None.
    window : int, optional
        Iterations shown on each side of a boundary in the top row (default: half a block).

    Returns
    -------
    matplotlib.figure.Figure
    """
    names = list(result.config.optimizers)
    T = len(result.task_names)
    ncols = max(T - 1, len(names), 1)
    if axes is None:
        plt = pyplot()
        fig, axes = plt.subplots(2, ncols, figsize=(3.6 * ncols, 6.4), squeeze=False)
    else:
        axes = np.asarray(axes).reshape(2, -1)
        fig = axes[0, 0].figure
    iters = result.config.resolved_iters()
    window = window or max(iters // 2, 1)
    its, blocks = np.asarray(result.eval_iteration), np.asarray(result.eval_block)
    colors = list(PALETTE)          # Okabe-Ito, colour-blind safe (plotting.style)
    n_seeds = {}
    for oi, name in enumerate(names):
        c, n_div = _seed_curves(result, name)
        n_seeds[name] = (0 if c is None else c.shape[0], n_div)
        if c is None:
            if oi < axes.shape[1]:
                axes[1, oi].text(0.5, 0.5, f"{name}: all {n_div} runs diverged\n(excluded)",
                                 ha="center", va="center", transform=axes[1, oi].transAxes,
                                 fontsize=8)
                axes[1, oi].set_xlabel("training iteration")
            continue
        col = colors[oi % len(colors)]
        mu = c[:, :, 0].mean(0)
        sd = c[:, :, 0].std(0, ddof=1) if c.shape[0] > 1 else None
        lab = f"{name} (n = {c.shape[0]}" + (f", {n_div} diverged)" if n_div else ")")
        for k in range(T - 1):
            ax = axes[0, k]
            b = (k + 1) * iters
            sel = (its >= b - window) & (its <= b + window)
            ax.plot(its[sel] - b, mu[sel], color=col, lw=1.2, label=lab)
            if sd is not None:
                ax.fill_between(its[sel] - b, mu[sel] - sd[sel], mu[sel] + sd[sel], color=col,
                                alpha=0.15, lw=0)
            fin_j = np.flatnonzero(blocks == k)[-1]
            nxt = np.flatnonzero(blocks == k + 1)
            m_j = nxt[np.argmin(mu[nxt])]
            x_min = its[m_j] - b
            if x_min <= window:
                ax.plot([x_min, x_min], [mu[fin_j], mu[m_j]], color=col, lw=2.0, alpha=0.8)
                ax.plot([x_min], [mu[m_j]], "v", color=col, ms=5)
            sg = (mu[fin_j] - mu[m_j]) / mu[fin_j] if mu[fin_j] > 0 else np.nan
            ax.annotate(f"SG$_{k + 1}$ = {sg:.3f}", xy=(0.98, 0.04 + 0.08 * oi),
                        xycoords="axes fraction", ha="right", fontsize=7, color=col)
        ax = axes[1, oi]
        task_cols = pyplot().get_cmap("viridis")(np.linspace(0.0, 0.9, T))  # perceptually uniform, colour-blind safe
        for i in range(T):
            y = np.nanmean(c[:, :, i], axis=0) if np.isfinite(c[:, :, i]).any() else None
            if y is not None:
                tn = result.task_names[i]
                lab_i = f"task {i + 1}" + ("" if tn == f"task{i + 1}" else f" ({tn})")
                ax.plot(its, y, color=task_cols[i], lw=0.9, label=lab_i)
        for k in range(1, T):
            ax.axvline(k * iters, color="0.6", ls="--", lw=0.7)
        ax.set_title(f"{name}: every task, mean of n = {c.shape[0]} seeds", fontsize=8)
        ax.set_xlabel("training iteration")
        ax.set_ylim(-0.02, 1.02)
    for k in range(T - 1):
        ax = axes[0, k]
        ax.axvline(0, color="0.5", ls="--", lw=0.8)
        ax.set_title(f"boundary {k + 1}: {result.task_names[k]} -> {result.task_names[k + 1]}",
                     fontsize=8)
        ax.set_xlabel("iterations from the task boundary")
    for k in range(T - 1, ncols):
        axes[0, k].set_visible(False)
    for k in range(len(names), ncols):
        axes[1, k].set_visible(False)
    axes[0, 0].set_ylabel(f"task-1 test accuracy (fraction)\n{result.task_names[0]}")
    axes[0, 0].legend(fontsize=6, loc="lower left")
    axes[1, 0].set_ylabel("test accuracy of each task (fraction)")
    for ax in axes[1]:
        if ax.get_visible() and ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=6, loc="lower right")
            break
    n_total = sum(v[0] for v in n_seeds.values())
    fig.suptitle(f"{result.config.data} / {result.config.scenario}: stability gap. Top: task 1, "
                 f"mean over seeds +- 1 sample sd (ddof 1), n seeds per optimizer in the legend; "
                 f"gap = end of block k to the minimum of block k+1. Bottom: every task, "
                 f"seed mean ({n_total} runs in all)", fontsize=8)
    fig.tight_layout()
    return fig
