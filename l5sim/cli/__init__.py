"""Command-line interface: ``l5sim run | gain | pulse | stdp | column-stdp | neighbours | sweep |
plot | export | fit | stability-gap | gonogo``.

Thin glue over the public API, one module per command family:

- :mod:`l5sim.cli.run` -- ``run``
- :mod:`l5sim.cli.experiments` -- ``gain``, ``pulse``, ``stdp``, ``column-stdp``
- :mod:`l5sim.cli.neighbours` -- ``neighbours``
- :mod:`l5sim.cli.sweep` -- ``sweep``, ``plot``
- :mod:`l5sim.cli.export` -- ``export``
- :mod:`l5sim.cli.gonogo` -- ``gonogo``
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
from .export import register_export
from .experiments import register_column_stdp, register_gain, register_pulse, register_stdp
from .gonogo import register_gonogo
from .neighbours import register_neighbours
from .run import register_run
from .sweep import register_plot, register_sweep

__all__ = ["make_parser", "main", "REGISTRARS"]

#: The subcommands, in the order ``l5sim --help`` lists them; each adds one subparser.
REGISTRARS = (register_run, register_gain, register_stdp, register_pulse, register_column_stdp,
              register_neighbours, register_sweep, register_plot, register_export, register_fit, register_stability_gap,
              register_gonogo)


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line too (status 2, as argparse's)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {' '.join(message.split())} (see {self.prog} --help)\n")


#: Commands whose ``--out`` names a file (every other ``--out`` is a directory).
FILE_OUT = ("plot", "fit")


def make_parser() -> argparse.ArgumentParser:
    """The ``l5sim`` argument parser with every subcommand of :data:`REGISTRARS`."""
    from .. import __version__

    parser = _Parser(
        prog="l5sim", description="Fast, faithful simulator of cortical layer-5 microcircuits.",
        epilog="errors: one line on stderr and exit status 2 (--debug shows the traceback); "
               "warnings: one line each.")
    parser.add_argument("--version", action="version", version=f"l5sim {__version__}")
    parser.add_argument("--debug", action="store_true",
                        help="show the full traceback of an error (also accepted after the command)")
    parser.add_argument("--on-divergence", dest="global_on_divergence", choices=("stop", "warn"), default=None,
                        help="when a state leaves its physical range (l5sim.divergence): stop with an error "
                             "(default) or warn and go on; for every simulation of the command "
                             "(sets L5SIM_ON_DIVERGENCE)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for register in REGISTRARS:
        register(sub)
    return parser


def check_paths(args) -> None:
    """Check a command's ``--out`` and cache paths before any work (one-line PathError)."""
    import os

    from .._io import check_dir, check_file

    if getattr(args, "out", None) is not None:       # plot's --out is optional (default: in the sweep)
        (check_file if args.command in FILE_OUT else check_dir)(args.out, "--out")
    cache = getattr(args, "wiring_cache", None)
    if cache is not None:
        check_dir(cache, "--wiring-cache")
    env = os.environ.get("L5SIM_WIRING_CACHE")
    if env is not None and cache is None and hasattr(args, "wiring_cache"):
        check_dir(env, "L5SIM_WIRING_CACHE")


def describe_error(e: BaseException) -> str:
    """One line for any exception: l5sim's own messages as they are; file-system errors
    with the path; anything else marked as unexpected (a bug to report)."""
    from ..errors import L5SimError

    if isinstance(e, L5SimError):
        text = str(e)
    elif isinstance(e, OSError):
        where = f"{e.filename}: " if getattr(e, "filename", None) else ""
        text = f"{where}{e.strerror or e}"
    elif isinstance(e, MemoryError):
        text = "out of memory (reduce the circuit, the duration or the recorded traces)"
    else:
        text = f"unexpected {type(e).__name__}: {e} (rerun with --debug for the traceback, and please report it)"
    return " ".join(str(text).split())


def _one_line_warnings(command):
    import warnings

    def show(message, category, filename, lineno, file=None, line=None):
        print(f"l5sim {command}: warning: {' '.join(str(message).split())}", file=sys.stderr)

    warnings.showwarning = show


def main(argv=None) -> int:
    """Run ``l5sim`` with ``argv`` (default ``sys.argv[1:]``); returns the exit status.

    Every error of every command goes through one handler: one line on stderr naming the
    command, exit status 2; ``--debug`` (anywhere on the line) shows the traceback instead.
    """
    import os

    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    argv = [a for a in argv if a != "--debug"]
    parser = make_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    from .._compiling import freeze_at_exit, run

    env_before = os.environ.get("L5SIM_ON_DIVERGENCE")
    if args.global_on_divergence:
        os.environ["L5SIM_ON_DIVERGENCE"] = args.global_on_divergence
    # the command may compile kernels: under the interpreter settings that make numba's
    # compiler fast, and with a quick shutdown (l5sim._compiling: ~3 s of a cold start)
    freeze_at_exit()
    try:
        return run(_dispatch, args, debug)
    finally:
        if args.global_on_divergence:
            if env_before is None:
                os.environ.pop("L5SIM_ON_DIVERGENCE", None)
            else:
                os.environ["L5SIM_ON_DIVERGENCE"] = env_before


def _dispatch(args, debug: bool) -> int:
    import warnings

    with warnings.catch_warnings():
        if not debug:
            _one_line_warnings(args.command)
        try:
            check_paths(args)
            return int(args.func(args) or 0)
        except KeyboardInterrupt:
            print(f"l5sim {args.command}: interrupted", file=sys.stderr)
            return 130
        except Exception as e:            # the one handler of every command
            if debug:
                raise
            print(f"l5sim {args.command}: error: {describe_error(e)}", file=sys.stderr)
            return 2


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
