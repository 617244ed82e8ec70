"""The CLI registration module stays light, and the handlers fail cleanly without torch."""
import argparse
import subprocess
import sys

import pytest

from l5sim.ann.cli import register_fit, register_stability_gap


def test_registration_imports_nothing_heavy():
    # Whatever `import l5sim` itself loads is the lead's business; registering these subcommands
    # must add none of the heavy modules on top of it.
    code = ("import sys, argparse, l5sim; heavy = ('torch', 'scipy', 'matplotlib', 'sklearn'); "
            "before = {m for m in heavy if m in sys.modules}; "
            "import l5sim.ann, l5sim.ann.cli as c; p = argparse.ArgumentParser(); "
            "s = p.add_subparsers(); c.register_stability_gap(s); c.register_fit(s); "
            "print(sorted(m for m in heavy if m in sys.modules and m not in before))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_stability_gap_without_torch_says_how_to_install(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "torch", None)  # makes `import torch` raise ImportError
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers()
    register_stability_gap(sub)
    args = parser.parse_args(["stability-gap", "--out", str(tmp_path)])
    assert args.func(args) == 2
    assert "pip install torch==2.13.0" in capsys.readouterr().err


def test_fit_subcommand_reports_missing_directory(tmp_path, capsys):
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers()
    register_fit(sub)
    args = parser.parse_args(["fit", str(tmp_path / "nope"), "--out", str(tmp_path / "b.json")])
    assert args.func(args) == 1
    assert "gain.csv" in capsys.readouterr().err
