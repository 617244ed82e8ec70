"""Figure of a parameter sweep (:func:`l5sim.sweep.run_sweep`): a statistic against one grid
axis, or heat maps over two. It draws table rows it is given and reads no file."""
from __future__ import annotations

import json

import numpy as np

from ..errors import SpecError
from .style import POP_COLORS, pyplot


def _canonical(v) -> str:
    return json.dumps(v, sort_keys=True)


def _sort_value(v):
    """Sort key of a grid value: missing first, then numbers (booleans as 0/1), then text."""
    if isinstance(v, bool):
        return (1, int(v), "")
    if isinstance(v, (int, float)):
        return (1, float(v), "")
    if v is None:
        return (0, 0.0, "")
    return (2, 0.0, json.dumps(v, sort_keys=True) if not isinstance(v, str) else v)


def _num(v):
    if isinstance(v, bool) or v is None:
        return None
    if isinstance(v, (int, float)):
        return float(v)
    return None


def plot_sweep(rows, x: str, y: str | None = None, stats=("rate_hz",), populations=None, axes=None,
               title: str | None = None):
    """Draw a sweep: lines over one axis (mean and seed spread), heat maps over two.

    Parameters
    ----------
    rows : table rows (``collect_rows`` / ``load_results``); failed runs are skipped.
    x : the axis on the horizontal; ``y`` : a second axis (heat maps of the mean over seeds and
        of the seed standard deviation, one row of panels per population).
    stats : statistic names (``rate_hz``, ``isi_burst_excess``, ``burst_reset_fraction``, ``cv_isi``, ...).
    populations : populations to draw (default: every one in the table).
    axes : matplotlib axes to draw into (default: a new figure).
    title : figure title (default: what is drawn; failed runs are counted there).

    Returns
    -------
    matplotlib.figure.Figure
    """
    ok = [r for r in rows if r.get("status") == "done"]
    n_failed = sum(r.get("status") == "failed" for r in rows)
    if populations is None:
        populations = []
        for r in ok:
            populations += [c.split(".", 1)[0] for c in r if c.endswith(".n_spikes") and
                            c.split(".", 1)[0] not in populations and c not in (x, y)]
    stats = list(stats)
    if ok:
        known = sorted({c.split(".", 1)[1] for c in ok[0] if c.split(".", 1)[0] in populations and "." in c})
        from ..analysis import RENAMED

        for s in stats:
            if s in RENAMED and s not in known:
                raise SpecError("--stat", s, f"its new name: {s} was renamed to {RENAMED[s]}")
            if s not in known:
                raise SpecError("--stat", s, f"a statistic of the table, one of {known}")

    def values(key):
        vs = []
        for r in ok:
            v = r.get(key)
            if all(_canonical(v) != _canonical(u) for u in vs):
                vs.append(v)
        return sorted(vs, key=_sort_value)

    plt = pyplot()
    xs = values(x)
    xnum = all(_num(v) is not None for v in xs)
    xpos = [(_num(v) if xnum else k) for k, v in enumerate(xs)]
    note = f" ({n_failed} failed runs not shown)" if n_failed else ""
    if y is None:
        if axes is None:
            fig, axes = plt.subplots(len(stats), 1, figsize=(6.5, 2.8 * len(stats) + 0.4), squeeze=False)
            axes = axes[:, 0]
        axes = list(np.atleast_1d(axes))
        fig = axes[0].figure
        for ax, s in zip(axes, stats):
            for ci, p in enumerate(populations):
                col = f"{p}.{s}"
                means, sds = [], []
                for k, xv in enumerate(xs):
                    v = np.array([_num(r.get(col)) if _num(r.get(col)) is not None else np.nan
                                  for r in ok if _canonical(r.get(x)) == _canonical(xv)], float)
                    ax.plot(np.full(v.size, xpos[k]), v, ".", color=POP_COLORS[ci % len(POP_COLORS)], alpha=0.35, ms=4)
                    means.append(np.nanmean(v) if np.isfinite(v).any() else np.nan)
                    sds.append(np.nanstd(v) if np.isfinite(v).any() else np.nan)
                m, sd = np.array(means), np.array(sds)
                ax.plot(xpos, m, "-o", color=POP_COLORS[ci % len(POP_COLORS)], ms=3, label=p)
                ax.fill_between(xpos, m - sd, m + sd, color=POP_COLORS[ci % len(POP_COLORS)], alpha=0.2, lw=0)
            ax.set_ylabel(s)
            if not xnum:
                ax.set_xticks(xpos, [str(v) for v in xs], rotation=20)
        axes[-1].set_xlabel(x)
        axes[0].legend(fontsize=7, title="mean ± SD over seeds", title_fontsize=7)
        axes[0].set_title(f"{title or 'sweep over ' + x}{note}", fontsize=9)
        fig.tight_layout()
        return fig
    ys = values(y)
    ynum = all(_num(v) is not None for v in ys)
    panels = [(p, s) for p in populations for s in stats]
    if axes is None:
        fig, axes = plt.subplots(len(panels), 2, figsize=(9.5, 3.2 * len(panels) + 0.4), squeeze=False)
    axes = np.asarray(axes).reshape(len(panels), 2)
    fig = axes[0, 0].figure
    for (p, s), (a_mean, a_sd) in zip(panels, axes):
        col = f"{p}.{s}"
        mean = np.full((len(ys), len(xs)), np.nan)
        sd = np.full_like(mean, np.nan)
        for iy, yv in enumerate(ys):
            for ix, xv in enumerate(xs):
                v = np.array([_num(r.get(col)) if _num(r.get(col)) is not None else np.nan for r in ok
                              if _canonical(r.get(x)) == _canonical(xv) and _canonical(r.get(y)) == _canonical(yv)], float)
                if np.isfinite(v).any():
                    mean[iy, ix], sd[iy, ix] = np.nanmean(v), np.nanstd(v)
        for ax, data, what in ((a_mean, mean, "mean"), (a_sd, sd, "SD over seeds")):
            im = ax.imshow(data, origin="lower", aspect="auto", cmap="viridis" if what == "mean" else "magma")
            ax.set_xticks(range(len(xs)), [f"{v:g}" if xnum else str(v) for v in xs], fontsize=7, rotation=30)
            ax.set_yticks(range(len(ys)), [f"{v:g}" if ynum else str(v) for v in ys], fontsize=7)
            ax.set_xlabel(x, fontsize=8)
            ax.set_ylabel(y, fontsize=8)
            ax.set_title(f"{p}: {s} ({what})", fontsize=9)
            fig.colorbar(im, ax=ax)
    if note or title:
        fig.suptitle(f"{title or ''}{note}".strip(), fontsize=9)
    fig.tight_layout()
    return fig
