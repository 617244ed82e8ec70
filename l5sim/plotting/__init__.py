"""Every figure l5sim draws, one module per family.

- :mod:`~l5sim.plotting.raster` -- :func:`raster` (spikes, rates below), :func:`raster_with_modulators`,
  :func:`traces`
- :mod:`~l5sim.plotting.gain` -- :func:`gain_curves`, :func:`pulse_gain`, :func:`fi_fits`
- :mod:`~l5sim.plotting.neighbours` -- :func:`neighbour_fi` (f-I curves and gating maps)
- :mod:`~l5sim.plotting.stdp` -- :func:`stdp_summary`, :func:`column_stdp`, :func:`weight_trajectories`,
  :func:`weight_histogram`
- :mod:`~l5sim.plotting.sweep` -- :func:`plot_sweep` (lines over one grid axis, heat maps over two)
- :mod:`~l5sim.plotting.scaling` -- :func:`column_scaling`
- :mod:`~l5sim.plotting.gonogo` -- :func:`gonogo_curves` (the Go/No-Go case study)
- :mod:`~l5sim.plotting.labels` -- the label table (keys to words with units) and error captions
- :mod:`~l5sim.plotting.style` -- the colour-blind-safe palette, markers, line styles, :func:`save_figure`

Each function takes ``ax=None`` (or axes), returns the figure and never calls ``plt.show()``;
they draw what they are given and never simulate or read files. Axis labels are words with
units, legends state the error measure and n and sit outside the data, and overlapping lines
differ in marker and dash. matplotlib is imported on first use, so ``l5sim --help`` stays
instant. Save with :func:`save_figure` (the suffix picks png, svg or pdf).
"""
from __future__ import annotations

from .gain import BURST_LABELS, fi_fits, gain_curves, pulse_gain
from .gonogo import gonogo_curves
from .labels import LABELS, label, spread_caption
from .neighbours import neighbour_fi
from .raster import raster, raster_with_modulators, traces
from .scaling import column_scaling
from .stdp import column_stdp, stdp_summary, weight_histogram, weight_trajectories
from .style import MARKERS, PALETTE, POP_COLORS, line_style, pyplot, save_figure
from .stability_gap import plot_stability_gap
from .sweep import plot_sweep

__all__ = ["BURST_LABELS", "LABELS", "MARKERS", "PALETTE", "POP_COLORS", "column_scaling", "column_stdp", "fi_fits",
           "gain_curves", "gonogo_curves", "label", "line_style", "neighbour_fi", "plot_stability_gap", "plot_sweep", "pulse_gain",
           "pyplot", "raster",
           "raster_with_modulators", "save_figure", "spread_caption", "stdp_summary", "traces", "weight_histogram",
           "weight_trajectories"]
