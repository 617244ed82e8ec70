"""Command-line interface: ``l5sim run | gain | pulse | stdp | column-stdp | neighbours | sweep |
plot | fit | stability-gap``.

Thin glue over the public API, one module per command family:

- :mod:`l5sim.cli.run` -- ``run``
- :mod:`l5sim.cli.experiments` -- ``gain``, ``pulse``, ``stdp``, ``column-stdp``
- :mod:`l5sim.cli.neighbours` -- ``neighbours``
- :mod:`l5sim.cli.sweep` -- ``sweep``, ``plot``
- :mod:`l5sim.ann.cli` -- ``fit``, ``stability-gap``
- :mod:`l5sim.cli.common` -- the options they share (``--set``, seeds, ``--format``, ...)

Every command is registered explicitly in :data:`REGISTRARS`: a module that fails to import
is an error at start-up, never a command that silently disappears. ``make_parser()`` builds
the parser without importing NumPy, Numba or matplotlib, so that ``l5sim --help`` is instant;
each command imports what it needs when it runs.
"""
from __future__ import annotations

import argparse
import sys

from ..ann.cli import register_fit, register_stability_gap
from .experiments import register_column_stdp, register_gain, register_pulse, register_stdp
from .neighbours import register_neighbours
from .run import register_run
from .sweep import register_plot, register_sweep

__all__ = ["make_parser", "main", "REGISTRARS"]

#: The subcommands, in the order ``l5sim --help`` lists them; each adds one subparser.
REGISTRARS = (register_run, register_gain, register_stdp, register_pulse, register_column_stdp,
              register_neighbours, register_sweep, register_plot, register_fit, register_stability_gap)


def make_parser() -> argparse.ArgumentParser:
    """The ``l5sim`` argument parser with every subcommand of :data:`REGISTRARS`."""
    from .. import __version__

    parser = argparse.ArgumentParser(
        prog="l5sim", description="Fast, faithful simulator of cortical layer-5 microcircuits.")
    parser.add_argument("--version", action="version", version=f"l5sim {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for register in REGISTRARS:
        register(sub)
    return parser


def main(argv=None) -> int:
    """Run ``l5sim`` with ``argv`` (default ``sys.argv[1:]``); returns the exit status."""
    parser = make_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    from ..errors import L5SimError

    try:
        return int(args.func(args) or 0)
    except L5SimError as e:
        print(f"l5sim {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"l5sim {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
