"""Figure of :func:`l5sim.neighbours.neighbour_fi`: f-I curves of the neighbours of a driven
group over PV and SOM pathway strengths, and maps of the rheobase shift and slope ratio."""
from __future__ import annotations

import numpy as np

from .labels import LABELS, spread_caption
from .style import CMAP_DIVERGING, line_style, pyplot

#: Legends of the narrow panels go below the axes, outside the data.
BELOW = {"loc": "upper center", "bbox_to_anchor": (0.5, -0.22), "borderaxespad": 0.0, "frameon": False}


def neighbour_fi(result, distance_bin: str = "all"):
    """Figure of :func:`l5sim.neighbours.neighbour_fi`: the neighbours' f-I curves as the PV
    pathway is scaled (reference SOM), as the SOM pathway is scaled (reference PV), their
    burst-reset fraction, and maps of the rheobase shift and the slope ratio over the grid.
    Curves are means over seeds with the SD over seeds as bands (n stated in the legend)."""
    plt = pyplot()
    rows = [r for r in result.rows if r["distance_bin"] == distance_bin]
    meta = result.metadata
    pv_ref, som_ref = meta["reference"]
    n_seeds = len(meta["seed"]) if isinstance(meta.get("seed"), list) else 1
    fig, axes = plt.subplots(1, 5, figsize=(18, 4.8))

    def curve(p, s, key):
        per = {}
        for r in rows:
            if r["pv_scale"] == p and r["som_scale"] == s:
                per.setdefault(r["input_pa"], []).append(r[key])
        x = np.array(sorted(per))
        y = np.array([np.nanmean(per[v]) for v in x])
        sd = np.array([np.nanstd(per[v]) for v in x])
        return x, y, sd

    for ax, which, title in ((axes[0], "pv_scale", "PV -> soma scaled"),
                             (axes[1], "som_scale", "SOM -> dendrite scaled")):
        vals = meta["pv_scales"] if which == "pv_scale" else meta["som_scales"]
        for k, v in enumerate(vals):
            p, s = (v, som_ref) if which == "pv_scale" else (pv_ref, v)
            x, y, sd = curve(p, s, "rate_hz")
            st = line_style(k)
            ax.fill_between(x, y - sd, y + sd, color=st["color"], alpha=0.2, lw=0)
            ax.plot(x, y, ms=3, lw=1.3, label=f"x{v:g}", **st)
            if which == "som_scale":
                xb, yb, _ = curve(p, s, "burst_reset_fraction")
                axes[2].plot(xb, yb, ms=3, lw=1.3, label=f"SOM x{v:g}", **st)
        ax.set_xlabel("probe's somatic step current (pA)")
        ax.set_ylabel("neighbour firing rate (Hz)")
        ax.set_title(title, fontsize=9)
        ax.legend(title=f"weight factor\n{spread_caption(n_seeds)}", fontsize=7, title_fontsize=7, **BELOW)
    axes[2].set_xlabel("probe's somatic step current (pA)")
    axes[2].set_ylabel(LABELS["burst_reset_fraction"])
    axes[2].set_title("bursting vs SOM (PV x%g)" % pv_ref, fontsize=9)
    axes[2].legend(fontsize=7, title=f"mean over n = {n_seeds} seeds", title_fontsize=7, **BELOW)
    summ = [s for s in result.summary if s["distance_bin"] == distance_bin]
    pvs, soms = meta["pv_scales"], meta["som_scales"]
    for ax, key, title, cmap in ((axes[3], "d_rheobase_pa", "rheobase shift vs reference (pA)", CMAP_DIVERGING),
                                 (axes[4], "slope_ratio", "slope ratio vs reference (ratio)", "PuOr")):
        grid = np.full((len(pvs), len(soms)), np.nan)
        for s in summ:
            grid[pvs.index(s["pv_scale"]), soms.index(s["som_scale"])] = s[key]
        centre = 0.0 if key == "d_rheobase_pa" else 1.0
        span = np.nanmax(np.abs(grid - centre)) if np.isfinite(grid).any() else 1.0
        im = ax.imshow(grid, origin="lower", cmap=cmap, vmin=centre - span, vmax=centre + span, aspect="auto")
        for a in range(len(pvs)):
            for b in range(len(soms)):
                if np.isfinite(grid[a, b]):
                    # dark cells get white numbers: |value - centre| beyond 60 % of the colour range
                    dark = abs(grid[a, b] - centre) > 0.6 * span
                    ax.text(b, a, f"{grid[a, b]:.0f}" if key == "d_rheobase_pa" else f"{grid[a, b]:.2f}",
                            ha="center", va="center", fontsize=7, color="white" if dark else "black")
        ax.set_xticks(range(len(soms)), [f"{v:g}" for v in soms])
        ax.set_yticks(range(len(pvs)), [f"{v:g}" for v in pvs])
        ax.set_xlabel("SOM -> dendrite weight factor (x reference)")
        ax.set_ylabel("PV -> soma weight factor (x reference)")
        ax.set_title(f"{title}\nmean of n = {n_seeds} seeds", fontsize=9)
        fig.colorbar(im, ax=ax, fraction=0.046).set_label(title, fontsize=8)
    fig.suptitle(f"neighbours of a driven group ({meta['group_size']} cells, {meta['group_drive_pA']:g} pA), "
                 f"distance bin {distance_bin} (ring radii)", fontsize=10)
    fig.tight_layout()
    return fig
