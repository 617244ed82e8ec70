"""Scaling check of a circuit: per-population rates against network size
(``scripts/column_scaling.py``, ``docs/figures/column_scaling.png``)."""
from __future__ import annotations

import numpy as np

from .labels import spread_caption
from .style import line_style, pyplot


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
    plt = pyplot()
    if ax is None:
        fig, ax = plt.subplots(figsize=(6.5, 4.2))
    else:
        fig = ax.figure
    n = np.asarray(table["n_total"], float)
    n_seeds = table.get("n_seeds")
    for k, pop in enumerate(table["populations"]):
        r = table["rates"][pop]
        st = line_style(k)
        color = st["color"]
        ax.errorbar(n, r["mean"], yerr=r["sd"], ms=5, lw=1.5, capsize=3, label=pop, **st)
        un = table.get("unscaled")
        if un:
            ax.plot([un["n_total"]], [un["rates"][pop]], marker="s", ms=7, mfc="none", color=color, ls="none")
    ax.set_xscale("log")
    ax.set_yscale("symlog", linthresh=1.0)       # log above 1 Hz, linear through a silent 0
    ax.set_xlabel("neurons in the column, all populations (count)")
    ax.set_ylabel("firing rate (Hz)")
    sd_note = spread_caption(n_seeds) if n_seeds else "mean ± SD over seeds"
    ax.set_title(title or f"Rates at fixed in-degree ({sd_note})", fontsize=10)
    if table.get("unscaled"):
        ax.plot([], [], marker="s", mfc="none", color="0.4", ls="none", label="without scaling")
    ax.legend(fontsize=8, title="population", title_fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))
    fig.tight_layout()
    return fig
