"""The Go/No-Go set-shifting figure (the review arXiv 2501.06762, Fig. 3 D-F;
:mod:`l5sim.gonogo`): performance over trials with the contingency shift marked, the
noradrenaline transient, and the conditioned action entropy H(A | go cue)."""
from __future__ import annotations

import warnings

import numpy as np

from .labels import spread_caption
from .style import OUTSIDE_RIGHT, line_style, pyplot

#: Words for the conditions of :data:`l5sim.gonogo.CONDITIONS`.
CONDITION_LABELS = {"da": "DA only", "da+na": "DA + NA (detector)", "na-random": "DA + NA at a random trial",
                    "na-nocoupling": "DA + NA without its coupling effect"}


def gonogo_curves(curves: dict, shift_at: int, criterion: float | None = None, axes=None):
    """Three panels over trials, one line per condition (mean ± SD over seeds, band clipped
    at 0, below which none of the three quantities goes).

    Parameters
    ----------
    curves : ``{condition: {"performance": (seeds, trials), "na": (seeds, trials),
        "entropy": (seeds, trials)}}``, as :func:`l5sim.gonogo.curves` returns.
    shift_at : first trial of the shifted contingency (a dashed vertical line).
    criterion : the performance criterion (a dotted horizontal line), or None.
    axes : three matplotlib axes; a new figure when None.
    """
    plt = pyplot()
    if axes is None:
        fig, axes = plt.subplots(3, 1, figsize=(9, 8.5), sharex=True)
    fig = axes[0].figure
    ylabels = ("share of correct choices\n(sliding window)", "noradrenaline level\n(dimensionless)",
               "H(action | go cue) (bits)")
    keys = ("performance", "na", "entropy")
    n_seeds = 0
    for k, (cond, c) in enumerate(curves.items()):
        st = line_style(k)
        for ax, key in zip(axes, keys):
            y = np.asarray(c[key], float)
            n_seeds = max(n_seeds, y.shape[0])
            x = np.arange(y.shape[1])
            with warnings.catch_warnings():       # trials before any go cue are nan in every seed
                warnings.simplefilter("ignore", RuntimeWarning)
                m, s = np.nanmean(y, axis=0), np.nanstd(y, axis=0)
            ax.plot(x, m, label=CONDITION_LABELS.get(cond, cond), color=st.get("color"),
                    linestyle=st.get("linestyle", "-"))
            # every quantity drawn is >= 0: the band is clipped there
            ax.fill_between(x, np.maximum(m - s, 0.0), m + s, color=st.get("color"), alpha=0.15, linewidth=0)
    for ax, lab in zip(axes, ylabels):
        ax.axvline(shift_at, color="0.3", linestyle="--", linewidth=1)
        ax.set_ylabel(lab)
    if criterion is not None:
        axes[0].axhline(criterion, color="0.5", linestyle=":", linewidth=1)
    axes[0].set_ylim(0, 1.02)
    axes[2].set_ylim(0, 1.02)
    axes[2].set_xlabel("trial (1 s each); dashed line: contingency shift")
    axes[0].legend(title=spread_caption(n_seeds), **OUTSIDE_RIGHT)
    fig.tight_layout()
    return fig
