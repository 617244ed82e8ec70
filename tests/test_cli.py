"""The ``l5sim`` command-line package: explicit registration, shared options, figure formats."""
import subprocess
import sys

import pytest

from l5sim import cli
from l5sim.cli import common

#: The subcommands the README documents (``l5sim --help``).
COMMANDS = ("run", "gain", "stdp", "pulse", "column-stdp", "neighbours", "sweep", "plot", "export", "fit",
            "stability-gap", "gonogo")


def _subcommands(parser):
    sub = next(a for a in parser._actions if a.dest == "command")
    return list(sub.choices)


def test_every_documented_command_is_registered_once():
    assert _subcommands(cli.make_parser()) == list(COMMANDS)
    assert len(cli.REGISTRARS) == len(COMMANDS)


def test_a_broken_command_module_is_an_error_not_a_missing_command():
    """Importing the CLI with one command module failing must raise, never drop the command."""
    code = (
        "import importlib.abc, sys\n"
        "class Broken(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'l5sim.cli.sweep':\n"
        "            raise ImportError('simulated broken module')\n"
        "sys.meta_path.insert(0, Broken())\n"
        "try:\n"
        "    import l5sim.cli\n"
        "except ImportError as e:\n"
        "    print('raised:', e)\n"
        "else:\n"
        "    print('commands:', sorted(l5sim.cli.make_parser()._subparsers._group_actions[0].choices))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.startswith("raised: simulated broken module"), out


def test_parse_sets_and_its_error():
    from l5sim.errors import SpecError

    assert common.parse_sets(["a.b=1", " c = [1, 2] "]) == {"a.b": "1", "c": "[1, 2]"}
    assert common.parse_sets(None) == {}
    with pytest.raises(SpecError, match="--set.*KEY=VALUE"):
        common.parse_sets(["populations.pyr.n"])


def test_window_default_is_the_analysis_constant():
    """``--window`` defaults lazily to FI_WINDOW_PA, and its help states that number."""
    import argparse

    from l5sim.analysis import FI_WINDOW_PA

    p = argparse.ArgumentParser()
    common.add_window(p)
    assert common.window_pa(p.parse_args([])) == FI_WINDOW_PA
    assert common.window_pa(p.parse_args(["--window", "250"])) == 250.0
    assert f"default {FI_WINDOW_PA:g} pA" in p.format_help()


@pytest.mark.parametrize("command", ["run", "gain", "stdp", "pulse", "column-stdp", "neighbours", "plot"])
def test_figure_writing_commands_take_format(command):
    parser = cli.make_parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices[command]
    fmt = next(a for a in sub._actions if a.dest == "format")
    assert tuple(fmt.choices) == ("png", "svg", "pdf") and fmt.default == "png"


@pytest.mark.parametrize("fmt, magic", [("svg", b"<?xml"), ("pdf", b"%PDF")])
def test_run_writes_vector_raster(tmp_path, fmt, magic):
    args = ["run", "circuits/izhikevich2003.toml", "--duration", "50", "--quiet", "--format", fmt,
            "--set", "populations.exc.n=40", "--set", "populations.inh.n=10", "--out", str(tmp_path)]
    assert cli.main(args) == 0
    out = tmp_path / f"raster.{fmt}"
    assert out.read_bytes()[:len(magic)] == magic
    assert not (tmp_path / "raster.png").exists()
