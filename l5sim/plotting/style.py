"""The look shared by every l5sim figure: a colour-blind-safe palette, line styles and
markers that keep overlapping lines distinguishable, lazy matplotlib, atomic saving.

Palette: Okabe & Ito (2008), "Color universal design (CUD): how to make figures and
presentations that are friendly to colorblind people", https://jfly.uni-koeln.de/color/
(the eight colours, black last; the yellow is used last among the colours because it is
faint on white). Sequential maps are ``viridis`` (mean values) and ``cividis`` (spread),
and diverging maps ``RdBu_r`` / ``PuOr`` (Paul Tol's notes list these as colour-blind safe:
https://personal.sron.nl/~pault/). Other modules, including ``l5sim.plotting.stability_gap``,
import these names from here.
"""
from __future__ import annotations

from pathlib import Path

from .._io import atomic_write

#: Okabe-Ito colours by name (hex sRGB).
OKABE_ITO = {"blue": "#0072B2", "vermillion": "#D55E00", "bluish_green": "#009E73", "reddish_purple": "#CC79A7",
             "orange": "#E69F00", "sky_blue": "#56B4E9", "yellow": "#F0E442", "black": "#000000"}
#: The order in which categories (populations, conditions, optimizers) take colours.
PALETTE = tuple(OKABE_ITO[k] for k in ("blue", "vermillion", "bluish_green", "reddish_purple", "orange",
                                       "sky_blue", "black", "yellow"))
#: Colours of populations in rasters and rate panels (the palette, in order).
POP_COLORS = PALETTE
#: Markers and line styles cycled together with the colours, so that two lines on top of
#: each other still show both (each category differs in colour, marker and dash).
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
LINESTYLES = ("-", "--", "-.", ":", (0, (5, 1)), (0, (3, 1, 1, 1, 1, 1)), (0, (1, 1)), (0, (8, 2, 2, 2)))
#: Colour maps: of a mean value, of a spread (SD), and centred on a reference.
CMAP_MEAN = "viridis"
CMAP_SPREAD = "cividis"
CMAP_DIVERGING = "RdBu_r"
#: Resolution of raster (png) output and of rasterised layers in vector output (dots per inch).
DPI = 150


def color(k: int) -> str:
    """The ``k``-th category colour (cycling through :data:`PALETTE`)."""
    return PALETTE[k % len(PALETTE)]


def line_style(k: int) -> dict:
    """Colour, marker and dash of the ``k``-th category, as keyword arguments of ``plot``."""
    return {"color": color(k), "marker": MARKERS[k % len(MARKERS)], "linestyle": LINESTYLES[k % len(LINESTYLES)]}


def pyplot():
    """``matplotlib.pyplot``, imported on first use (the Agg backend where no display is set)."""
    import matplotlib

    if matplotlib.get_backend().lower() not in ("agg", "module://matplotlib_inline.backend_inline"):
        try:
            import matplotlib.pyplot as plt  # noqa: F401
        except Exception:  # pragma: no cover
            matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, path) -> None:
    """Save a figure atomically (temporary file, then rename) and close it.

    The format comes from the suffix of ``path``: ``.png`` (raster, :data:`DPI`), ``.svg`` or
    ``.pdf`` (vector; dense scatter layers such as raster spikes stay rasterised inside them).
    """
    path = Path(path)
    fmt = path.suffix.lstrip(".").lower() or "png"
    try:
        atomic_write(path, lambda fh: fig.savefig(fh, format=fmt, dpi=DPI))
    finally:
        pyplot().close(fig)
