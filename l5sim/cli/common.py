"""Argument parsing shared by the ``l5sim`` commands.

Every command family registers its options through these helpers, so that ``--set``,
``--seed``/``--seeds``, ``--quiet`` and ``--format`` mean the same in every command. Nothing
heavy is imported here (the test of ``l5sim --help`` checks that NumPy, Numba and matplotlib
stay unloaded).
"""
from __future__ import annotations

from pathlib import Path

#: Figure formats every figure-writing command accepts (``--format``); png is the default.
FIGURE_FORMATS = ("png", "svg", "pdf")


def parse_sets(items) -> dict:
    """``["KEY=VALUE", ...]`` from repeated ``--set`` options -> ``{KEY: VALUE}`` (strings).

    The values stay text: :func:`l5sim.spec.load_circuit` reads them as TOML and validates them.

    Raises
    ------
    l5sim.errors.SpecError
        For an item without ``=``.
    """
    from ..errors import SpecError

    out = {}
    for item in items or []:
        if "=" not in item:
            raise SpecError("--set", item, "KEY=VALUE with a dotted key path, e.g. populations.pyr.n=200")
        k, v = item.split("=", 1)
        out[k.strip()] = v.strip()
    return out


def parse_floats(text: str) -> list[float]:
    """``"0.5,1,2"`` -> ``[0.5, 1.0, 2.0]`` (empty items are skipped)."""
    return [float(x) for x in text.split(",") if x.strip()]


def add_set_option(p, help: str = "override a circuit value by dotted key path (repeatable)") -> None:
    """``--set KEY=VALUE`` (repeatable), read by :func:`parse_sets`."""
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help=help)


def add_run_options(p, population: bool = False, progress: bool = False, seeds: int = 3,
                    first_seed: int = 0) -> None:
    """Options shared by the experiment commands: seeds, overrides, output verbosity.

    Parameters
    ----------
    p : argparse.ArgumentParser
    population : add ``--population`` (the measured population).
    progress : add ``--progress``.
    seeds, first_seed : defaults of ``--seeds`` and ``--seed``.
    """
    p.add_argument("--seeds", type=int, default=seeds, metavar="N", help=f"number of seeds ({seeds})")
    p.add_argument("--seed", type=int, default=first_seed, metavar="N", help=f"first seed ({first_seed})")
    if population:
        p.add_argument("--population", default=None, help="measured population (default: first L5 population)")
    add_set_option(p, help="circuit override (repeatable)")
    if progress:
        p.add_argument("--progress", action="store_true", help="show a progress bar")
    p.add_argument("--quiet", action="store_true", help="print nothing on success")


def add_window(p) -> None:
    """``--window PA``: width of the threshold-linear f-I fit window above the firing onset.

    The default is ``None``, read as :data:`l5sim.analysis.FI_WINDOW_PA` by :func:`window_pa`
    when the command runs: importing :mod:`l5sim.analysis` here would load NumPy for
    ``l5sim --help`` (the help text's number is checked against the constant in the tests).
    """
    p.add_argument("--window", type=float, default=None, metavar="PA",
                   help="width of the threshold-linear f-I fit window above the firing onset "
                        "(default 400 pA, l5sim.analysis.FI_WINDOW_PA)")


def window_pa(args) -> float:
    """``args.window``, or :data:`l5sim.analysis.FI_WINDOW_PA` when ``--window`` was not given."""
    if getattr(args, "window", None) is not None:
        return args.window
    from ..analysis import FI_WINDOW_PA

    return FI_WINDOW_PA


def add_format_option(p) -> None:
    """``--format png|svg|pdf``: the file format of the figures a command writes."""
    p.add_argument("--format", choices=FIGURE_FORMATS, default="png",
                   help="figure file format: png (default), or svg / pdf (vector)")


def figure_path(out_dir, stem: str, args) -> Path:
    """``OUT_DIR/STEM.FORMAT`` for the ``--format`` of ``args`` (png without the option)."""
    return Path(out_dir) / f"{stem}.{getattr(args, 'format', None) or 'png'}"
