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
