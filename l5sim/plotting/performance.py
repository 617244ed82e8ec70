"""Figures of the benchmark suite (``benchmarks/``, ``docs/performance.md``).

The functions draw plain numbers handed to them (the benchmark runner's rows, read by
``benchmarks/make_doc.py``): they know nothing of its files, and nothing here imports
the rest of l5sim beyond the plotting style, so the figures can be drawn from results of
any implementation.
"""
from __future__ import annotations

from .style import PALETTE, pyplot

#: One colour per implementation, one line style per thread count.
IMPL_COLORS = {name: PALETTE[k] for k, name in enumerate(
    ("l5sim", "brian2_standalone", "brian2_runtime", "nest", "reference_numba"))}
THREAD_STYLES = {1: ("-", "o"), 2: ("--", "s"), 4: (":", "^")}


def scaling(points, ax=None, title: str | None = None, family_label: str = ""):
    """Simulate time per second of biological time against network size, log-log.

    Parameters
    ----------
    points : iterable of dicts with ``implementation``, ``threads``, ``n_neurons`` and
        ``seconds_per_bio_s`` (the fastest warm repeat), optionally ``median_per_bio_s``
        (drawn as a small tick) and ``provisional`` (bool: measured on a loaded machine;
        drawn hollow).
    ax : axes (a new figure when None).
    title : figure title.
    family_label : what the networks are, for the x-axis label (e.g. "L5 column").
    """
    plt = pyplot()
    if ax is None:
        fig, ax = plt.subplots(figsize=(6.5, 4.5))
    else:
        fig = ax.figure
    series = {}
    for p in points:
        series.setdefault((p["implementation"], int(p["threads"])), []).append(p)
    for (impl, t), pts in sorted(series.items()):
        pts = sorted(pts, key=lambda p: p["n_neurons"])
        ls, mk = THREAD_STYLES.get(t, ("-.", "d"))
        color = IMPL_COLORS.get(impl, "#333333")
        x = [p["n_neurons"] for p in pts]
        y = [p["seconds_per_bio_s"] for p in pts]
        hollow = any(p.get("provisional") for p in pts)
        ax.plot(x, y, ls=ls, marker=mk, color=color, mfc="none" if hollow else color,
                label=f"{impl}, {t} thread{'s' if t > 1 else ''}")
        med = [(p["n_neurons"], p["median_per_bio_s"]) for p in pts if p.get("median_per_bio_s")]
        if med:
            ax.plot(*zip(*med), ls="none", marker="_", ms=10, color=color)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(f"network size (neurons){', ' + family_label if family_label else ''}")
    ax.set_ylabel("simulate time per biological second (s)")
    ax.grid(True, which="both", alpha=0.3)
    if series:
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)
    else:
        ax.text(0.5, 0.5, "not measured", transform=ax.transAxes, ha="center", va="center")
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig
