"""The README's primer figure: what a burst-reset spike is, and why coupling raises gain.

:func:`burst_reset_primer` draws, from arrays it is given (it never simulates or reads
files):

- left, one row per condition: the somatic and dendritic potentials of one L5 cell under
  the same somatic and dendritic steps, the dendritic plateau threshold (-30 mV, l5sim/models
  /l5pyramidal.py) and every spike fired with the burst reset marked above the trace;
- right: f-I curves (mean rate with its spread over seeds against the somatic step current),
  one per condition, the error measure and n stated in the legend.

Colours are the Okabe & Ito (2008) colour-blind-safe palette; legends sit outside the data.
"""
from __future__ import annotations

import numpy as np

#: Okabe & Ito (2008), "Color universal design": black, blue, vermillion, bluish green, orange.
OKABE_ITO = ("#000000", "#0072B2", "#D55E00", "#009E73", "#E69F00", "#56B4E9", "#CC79A7", "#F0E442")
#: Colours of the f-I curves, in ``fi`` order (Okabe-Ito black, orange, vermillion, blue, ...).
FI_COLORS = (OKABE_ITO[0], OKABE_ITO[4], OKABE_ITO[2], OKABE_ITO[1], OKABE_ITO[3], OKABE_ITO[6])
#: Dendritic plateau threshold (mV): v_d >= -30 mV (l5sim.models.l5pyramidal).
PLATEAU_MV = -30.0


def burst_reset_primer(traces: dict, fi: dict, error: str = "SD over seeds", fi_title: str = "f-I curves",
                       figsize=(10.0, 5.2)):
    """Voltage traces with burst-reset spikes, and f-I curves, per coupling condition.

    Parameters
    ----------
    traces : ``{label: {"t_ms", "v_mV", "vd_mV", "spike_t_ms", "spike_burst"}}``, one entry per
        condition (e.g. ``"kappa = 0"``): sample times (ms), somatic and dendritic potential
        (mV), the spike times (ms) and their burst-reset flags (0/1).
    fi : ``{label: {"input_pA", "rate_hz", "spread_hz", "n"}}``: somatic step currents (pA),
        mean rate (Hz), its spread (Hz, drawn as error bars) and the number of seeds.
    error : what ``spread_hz`` is, stated in the legend (default "SD over seeds").
    fi_title : title of the f-I panel (state the conditions the curves share).
    figsize : figure size (inches).

    Returns
    -------
    matplotlib.figure.Figure
        Axes ``fig.axes[:len(traces)]`` hold the traces (top to bottom, in ``traces`` order),
        the last axes the f-I curves.
    """
    from .style import pyplot

    plt = pyplot()
    if not traces or not fi:
        raise ValueError(f"traces and fi: got {len(traces)} and {len(fi)} conditions; expected at least one each")
    n = len(traces)
    fig = plt.figure(figsize=figsize, layout="constrained")
    grid = fig.add_gridspec(n, 2, width_ratios=(1.6, 1.0))
    axes = [fig.add_subplot(grid[k, 0]) for k in range(n)]
    for ax in axes[1:]:
        ax.sharex(axes[0])
    for k, (ax, (label, tr)) in enumerate(zip(axes, traces.items())):
        t = np.asarray(tr["t_ms"], float)
        ax.plot(t, tr["v_mV"], color=OKABE_ITO[0], lw=0.8, label="soma")
        ax.plot(t, tr["vd_mV"], color=OKABE_ITO[1], lw=1.2, label="apical dendrite")
        ax.axhline(PLATEAU_MV, color=OKABE_ITO[1], lw=0.8, ls=":", label="plateau threshold (-30 mV)")
        st = np.asarray(tr["spike_t_ms"], float)
        sb = np.asarray(tr["spike_burst"], bool)
        top = max(np.nanmax(tr["v_mV"]), np.nanmax(tr["vd_mV"]))
        ax.plot(st[~sb], np.full((~sb).sum(), top + 12), "|", color=OKABE_ITO[0], ms=8, mew=1.2,
                label="spike, regular reset")
        ax.plot(st[sb], np.full(sb.sum(), top + 12), "v", color=OKABE_ITO[2], ms=6,
                label="spike, burst reset")
        ax.set_ylim(top=top + 24)
        ax.set_ylabel("membrane\npotential (mV)")
        ax.set_title(f"{label}: {st.size} spikes, {int(sb.sum())} with the burst reset", fontsize=10, loc="left")
        if k < n - 1:
            ax.tick_params(labelbottom=False)
    axes[-1].set_xlabel("time (ms)")
    handles, labels = axes[-1].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower left", ncols=3, fontsize=8, frameon=False)

    ax = fig.add_subplot(grid[:, 1])
    for k, (label, c) in enumerate(fi.items()):
        x = np.asarray(c["input_pA"], float)
        ax.errorbar(x, c["rate_hz"], yerr=c["spread_hz"], color=FI_COLORS[k % len(FI_COLORS)], marker="o",
                    ms=3.5, lw=1.3, capsize=2,
                    label=f"{label} (mean +- {error}, n = {c['n']})")
    ax.set_xlabel("somatic step current (pA)")
    ax.set_ylabel("firing rate (Hz)")
    ax.set_title(fi_title, fontsize=10, loc="left")
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower right", fontsize=8, frameon=False)
    return fig
