"""Spike rasters, population rates, neuromodulator time courses and state traces of one
:class:`l5sim.recording.Recording`."""
from __future__ import annotations

import numpy as np

from .labels import LABELS, label, words
from .style import LINESTYLES, OUTSIDE_RIGHT, color, pyplot


def _pop_rate_hz(n_spikes: int, n: int, duration_ms: float) -> float:
    return n_spikes / (n * duration_ms / 1000.0) if n and duration_ms > 0 else float("nan")


def raster(rec, ax=None, rate_ax=None, bin_ms: float = 5.0, max_spikes: int = 400_000, title: str | None = None):
    """Spike raster coloured by population, burst-reset spikes circled, population rates below.

    Populations are stacked by neuron index and separated by thin lines; their names, sizes
    and mean rates are in the legend, outside the data on the right (so that no label covers a
    spike and labels of small populations cannot overlap).

    Parameters
    ----------
    rec : :class:`l5sim.recording.Recording`.
    ax, rate_ax : axes for the raster and the rate panel (a new figure when ``ax`` is None).
    bin_ms : bin of the population-rate panel (ms).
    max_spikes : at most this many spikes are drawn (evenly thinned beyond, stated in the title).
    title : figure title (default: the circuit's name).

    Returns
    -------
    matplotlib.figure.Figure
    """
    from ..analysis import population_rate

    plt = pyplot()
    if ax is None:
        fig, (ax, rate_ax) = plt.subplots(2, 1, figsize=(10, 6), sharex=True,
                                          gridspec_kw={"height_ratios": [3, 1]})
    else:
        fig = ax.figure
    stride = max(1, int(np.ceil(len(rec.spike_i) / max_spikes)))
    dur = rec.duration_ms
    handles = []
    for k, name in enumerate(rec.pop_names):
        lo, hi = int(rec.pop_start[k]), int(rec.pop_start[k + 1])
        i, t, b = rec.spikes(name)
        col = color(k)
        sel = slice(None, None, stride)
        rate = _pop_rate_hz(len(t), hi - lo, dur)
        h = ax.scatter(t[sel], (i + lo)[sel], s=2.0, color=col, marker="|", linewidths=0.6, rasterized=True,
                       label=f"{name}: n = {hi - lo}, {rate:.1f} Hz")
        handles.append(h)
        mb = b.astype(bool)
        if mb.any():
            ax.scatter(t[mb][sel], (i + lo)[mb][sel], s=7, facecolors="none", edgecolors="k", linewidths=0.4,
                       marker="o", rasterized=True)
        if k:
            ax.axhline(lo - 0.5, color="0.6", lw=0.5)
        if rate_ax is not None:
            centres, r = population_rate(t, hi - lo, dur, bin_ms)
            rate_ax.plot(centres, r, color=col, lw=1.1, linestyle=LINESTYLES[k % len(LINESTYLES)], label=name)
    if np.any(rec.spike_burst):
        handles.append(ax.scatter([], [], s=7, facecolors="none", edgecolors="k", label="burst-reset spike"))
    ax.set_ylim(-0.5, rec.pop_start[-1] - 0.5)
    ax.set_xlim(0, dur)
    ax.set_ylabel("neuron (index; populations stacked)")
    ax.legend(handles=handles, title="population: size, mean rate", fontsize=7, title_fontsize=7,
              markerscale=4, **OUTSIDE_RIGHT)
    t_ = title or rec.metadata.get("circuit_name", "")
    if stride > 1:
        t_ += f" (1 in {stride} spikes drawn)"
    ax.set_title(t_)
    if rate_ax is not None:
        rate_ax.set_xlabel("time (ms)")
        rate_ax.set_ylabel(f"population rate\n(Hz, {bin_ms:g} ms bins)")
        rate_ax.legend(fontsize=7, **OUTSIDE_RIGHT)
    else:
        ax.set_xlabel("time (ms)")
    fig.tight_layout()
    return fig


def raster_with_modulators(rec, bin_ms: float = 5.0):
    """Raster, population rates and the neuromodulator levels below them (one time axis)."""
    plt = pyplot()
    fig, (a1, a2, a3) = plt.subplots(3, 1, figsize=(10, 7), sharex=True,
                                     gridspec_kw={"height_ratios": [3, 1, 1]})
    raster(rec, ax=a1, rate_ax=a2, bin_ms=bin_ms)
    for k, (name, lv) in enumerate(rec.modulators.items()):
        a3.plot(rec.modulator_t_ms, lv, lw=1.2, color=color(k), linestyle=LINESTYLES[k % len(LINESTYLES)],
                label=words(name))
    a3.set_ylabel("modulator level (a.u.)")
    a3.set_xlabel("time (ms)")
    a2.set_xlabel("")
    if rec.modulators:
        a3.legend(fontsize=7, **OUTSIDE_RIGHT)
    fig.tight_layout()
    return fig


def traces(rec, pop: str, variables=("v", "vd"), ax=None):
    """State traces of the recorded neurons of one population, one panel per variable.

    Raises
    ------
    ValueError
        When the population has none of ``variables`` recorded.
    """
    plt = pyplot()
    wanted = list(variables)
    variables = [v for v in wanted if v in rec.traces.get(pop, {})]
    if not variables:
        raise ValueError(f"population {pop!r} has no recorded traces among {wanted}")
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
            a.plot(t, data[:, col], lw=0.8, color=color(col), linestyle=LINESTYLES[col % len(LINESTYLES)],
                   label=f"{pop}[{n}]")
        a.set_ylabel(LABELS.get(f"traces.{var}", label(f"traces.{var}")))
    axes[0].legend(fontsize=7, title="neuron", title_fontsize=7, **OUTSIDE_RIGHT)
    axes[-1].set_xlabel("time (ms)")
    fig.tight_layout()
    return fig
