"""The wiring cache gives the circuit a fresh build gives, is reused, and is never stale."""
import numpy as np
import pytest

import l5sim
from l5sim import builder, wiring_cache

OVER = {"populations.exc.n": 160, "populations.inh.n": 40,
        **{f"pathways.{p}.connectivity.rule": "fixed_prob" for p in ("ee", "ei", "ie", "ii")},
        **{f"pathways.{p}.connectivity.p": 0.2 for p in ("ee", "ei", "ie", "ii")},
        "pathways.ee.delay_max_steps": 5, "pathways.ee.delay_steps": 1}


def _spec(**extra):
    return l5sim.load_circuit("circuits/izhikevich2003.toml", overrides={**OVER, **extra})


def _same(a, b):
    for f in ("row_ptr", "post", "weight", "delay"):
        np.testing.assert_array_equal(getattr(a.net.synapses, f), getattr(b.net.synapses, f))


def test_cached_build_equals_fresh_build_and_is_reused(tmp_path, monkeypatch):
    fresh = l5sim.build(_spec(), 3)
    first = l5sim.build(_spec(), 3, wiring_cache=tmp_path)
    assert len(list(tmp_path.glob("*.npz"))) == 4
    _same(fresh, first)

    def refuse(*a, **k):
        raise AssertionError("the cached pathway was drawn again")

    monkeypatch.setattr(builder, "_draw_pathway", refuse)
    again = l5sim.build(_spec(), 3, wiring_cache=tmp_path)
    _same(fresh, again)
    # something that does not touch the wiring keeps every entry valid
    l5sim.build(_spec(**{"inputs.thalamic_exc.sigma_pA": 3.0}), 3, wiring_cache=tmp_path)
    # the environment variable is the default
    monkeypatch.setenv("L5SIM_WIRING_CACHE", str(tmp_path))
    _same(fresh, l5sim.build(_spec(), 3))
    np.testing.assert_array_equal(l5sim.simulate(again, 100.0).spike_i, l5sim.simulate(fresh, 100.0).spike_i)


def test_a_changed_pathway_seed_or_size_makes_a_new_entry(tmp_path):
    l5sim.build(_spec(), 3, wiring_cache=tmp_path)
    l5sim.build(_spec(**{"pathways.ee.connectivity.p": 0.3}), 3, wiring_cache=tmp_path)
    assert len(list(tmp_path.glob("*.npz"))) == 5           # only ee changed
    l5sim.build(_spec(), 4, wiring_cache=tmp_path)
    assert len(list(tmp_path.glob("*.npz"))) == 9           # another seed: all four
    l5sim.build(_spec(**{"populations.inh.n": 41}), 3, wiring_cache=tmp_path)
    assert len(list(tmp_path.glob("*.npz"))) == 12          # ei, ie, ii touch inh


@pytest.mark.parametrize("damage", ["truncate", "wrong_sizes"])
def test_a_damaged_entry_is_ignored_and_redrawn(tmp_path, damage):
    fresh = l5sim.build(_spec(), 3)
    l5sim.build(_spec(), 3, wiring_cache=tmp_path)
    for f in tmp_path.glob("*.npz"):
        if damage == "truncate":
            f.write_bytes(f.read_bytes()[:100])
        else:
            np.savez(f, indptr=np.zeros(3, np.int64), post=np.zeros(0, np.int32), weight=np.zeros(0, np.float32),
                     delay=np.zeros(0, np.uint16))
    _same(fresh, l5sim.build(_spec(), 3, wiring_cache=tmp_path))
    assert wiring_cache.load(tmp_path, "0" * 64, 1, 1) is None


def test_cli_run_uses_the_wiring_cache(tmp_path):
    from l5sim.cli import main

    sets = sum((["--set", f"{k}={v}"] for k, v in OVER.items()), [])
    args = ["run", "circuits/izhikevich2003.toml", "--duration", "50", "--no-plot", "--quiet",
            "--wiring-cache", str(tmp_path / "wc")] + sets
    assert main(args + ["--out", str(tmp_path / "a")]) == 0
    assert len(list((tmp_path / "wc").glob("*.npz"))) == 4
    assert main(args + ["--out", str(tmp_path / "b")]) == 0
    a, b = l5sim.load_recording(tmp_path / "a"), l5sim.load_recording(tmp_path / "b")
    np.testing.assert_array_equal(a.spike_i, b.spike_i)
