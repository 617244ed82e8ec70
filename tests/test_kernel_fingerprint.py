"""Every bundled circuit still computes bit for bit what it computed before the kernel was
restructured (issue 12): SHA-256 of spikes, traces of every variable and weights, stored
in ``tests/data/kernel_fingerprints.json`` by ``scripts/kernel_fingerprint.py --write``
from the code before the change. The fast cases run by default (the L5 cell in its gate
modes and schemes, the NA circuit, the STDP circuit, the column, the Whyte ring); the 2003
networks, the parallel runs and the deferred-STDP network run under ``-m slow``.

A mismatch means a result changed: if that change is intended (a model fixed on purpose),
regenerate the store with the script and say so in the commit.
"""
import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("kernel_fingerprint", ROOT / "scripts" / "kernel_fingerprint.py")
fp = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fp)
STORED = json.loads(fp.STORE.read_text())

FAST = [n for n, case in fp.CASES.items() if case[4]]
SLOW = [n for n, case in fp.CASES.items() if not case[4]]


def _check(name):
    got = fp.run_case(name)
    assert set(STORED[name]) == {str(s) for s in fp.SEEDS}
    for seed, want in STORED[name].items():
        assert got[seed] == want, f"{name} seed {seed}: stored {want}, now {got[seed]}"
    # the case exercises something: spikes in at least one seed
    assert max(v["n_spikes"] for v in got.values()) > 0, name


@pytest.mark.parametrize("name", FAST)
def test_bitwise_as_stored(name):
    _check(name)


@pytest.mark.slow
@pytest.mark.parametrize("name", SLOW)
def test_bitwise_as_stored_slow(name):
    _check(name)
