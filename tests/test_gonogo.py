"""Closed-loop trials (l5sim.session.Session, l5sim.trials) and the Go/No-Go case study
(l5sim.gonogo).

The Session is checked against :func:`l5sim.simulate`, the one-shot path whose results the
rest of the suite establishes: runs in pieces must give bitwise the spikes and weights of
one run, and a level set per run must act exactly as the same tonic level in the circuit.
The task's readouts are checked on hand-made trial sequences whose answer is known.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

import l5sim
from l5sim import gonogo as G
from l5sim.errors import SpecError
from l5sim.session import Session
from l5sim.trials import TrialLoop, dopamine_pulse, entropy_bits

ROOT = Path(__file__).resolve().parents[1]
CIRCUIT = ROOT / "circuits" / "gonogo.toml"


def _spec(**over):
    return l5sim.load_circuit(CIRCUIT, overrides=over or None)


def _pieces(built, seed, pieces, levels=None):
    s = Session(built, seed=seed)
    out_i, out_t = [], []
    for d in pieces:
        i, t, _ = s.run(d, levels)
        out_i.append(i)
        out_t.append(t)
    i, t = np.concatenate(out_i), np.concatenate(out_t)
    order = np.lexsort((i, t))
    return i[order], t[order], s


@pytest.mark.parametrize("seed", [1, 2])
def test_session_in_pieces_equals_one_simulation(seed):
    """300 ms as 100 + 50 + 150 ms gives the spikes and plastic weights of one 300 ms
    simulate() (same kernel, serial): the state carries over whole between runs."""
    built = l5sim.build(_spec(), seed)
    rec = l5sim.simulate(built, 300.0, seed=seed, kernel="general", parallel=False, progress=False)
    i, t, s = _pieces(built, seed, (100.0, 50.0, 150.0))
    # the recording holds the populations of [recording] spikes: compare on those
    keep = np.zeros(built.n_neurons, bool)
    for p in built.spec.recording.spikes:
        keep[built.pop_slices[p]] = True
    m = keep[i]
    assert rec.spike_i.size > 100
    assert np.array_equal(i[m], rec.spike_i.astype(np.int64)) and np.array_equal(t[m], rec.spike_t_ms)
    for p in ("A_go", "X_critic"):
        assert np.array_equal(s.weights(p), rec.final_weights[p])


def test_levels_act_as_the_same_tonic_level():
    """levels={"NA": 0.7} in a Session gives the spikes of the circuit with NA tonic 0.7."""
    seed = 3
    a_i, a_t, _ = _pieces(l5sim.build(_spec(), seed), seed, (200.0,), {"NA": 0.7})
    b_i, b_t, _ = _pieces(l5sim.build(_spec(**{"modulators.NA.tonic": 0.7}), seed), seed, (200.0,))
    c_i, _, _ = _pieces(l5sim.build(_spec(), seed), seed, (200.0,))
    assert np.array_equal(a_i, b_i) and np.array_equal(a_t, b_t)
    assert not np.array_equal(a_i, c_i)          # and NA does change the spikes


def test_dopamine_level_moves_weights_in_its_sign():
    """After the same stimulus (same seed, so the same spikes and eligibility until the
    outcome), DA +d and -d in the outcome phase move the summed cue -> actor weights in
    opposite directions (w changes by d x eligibility); DA 0 (bias 0 in the circuit) leaves
    them exactly unchanged."""
    seed = 4
    dw = {}
    for d in (1e-3, 0.0, -1e-3):
        built = l5sim.build(_spec(), seed)
        loop = TrialLoop(Session(built, seed=seed))
        w0 = loop.session.weights("A_go").astype(float).sum()
        loop.present({"cue_A": 40.0}, {"DA": 0.0})
        loop.outcome({"DA": d})
        dw[d] = loop.session.weights("A_go").astype(float).sum() - w0
    assert dw[0.0] == 0.0, dw
    assert dw[1e-3] * dw[-1e-3] < 0, dw
    # (the sizes are not exactly opposite: the network is chaotic, so weight changes of
    # 1e-5 nS already move later spikes and with them the eligibility of the outcome phase;
    # sizes are checked against the rule itself in tests/test_rstdp.py)


def test_session_bad_input():
    built = l5sim.build(_spec(), 1)
    s = Session(built)
    with pytest.raises(SpecError, match=r"levels.*'ACh'.*modulator the circuit defines"):
        s.run(10.0, {"ACh": 1.0})
    with pytest.raises(SpecError, match=r"population.*'go_e'.*poisson"):
        s.set_rate("go_e", 10.0)
    with pytest.raises(SpecError, match=r"population.*'cue_Z'"):
        s.set_rate("cue_Z", 10.0)
    with pytest.raises(SpecError, match=r"levels.DA.*one per step"):
        s.run(10.0, {"DA": np.zeros(3)})
    loop = TrialLoop(s)
    with pytest.raises(SpecError, match=r"stimulus population.*'cue_Q'"):
        loop.present({"cue_Q": 40.0})


def test_gonogo_bad_input(tmp_path):
    with pytest.raises(SpecError, match=r"shift_at.*500.*\[0, n_trials = 400\]"):
        G.Config(shift_at=500).check()
    with pytest.raises(SpecError, match=r"condition.*'na'"):
        G.run_seed(CIRCUIT, 1, "na", G.Config(n_trials=2, shift_at=1))
    # a circuit without the NA modulator
    src = CIRCUIT.read_text()
    cut = src[src.index("[modulators.NA]"):src.index("[recording]")]
    bad = tmp_path / "no_na.toml"
    bad.write_text(src.replace(cut, ""))
    with pytest.raises(SpecError, match=r"modulators.*'NA'.*defines"):
        G.run_seed(bad, 1, "da", G.Config(n_trials=2, shift_at=1))
    # a task population the circuit lacks
    bad2 = tmp_path / "no_cue.toml"
    bad2.write_text(src.replace("[populations.cue_Y]", "[populations.cue_W]").replace('"cue_Y"', '"cue_W"'))
    with pytest.raises(SpecError, match=r"stimulus population.*'cue_Y'"):
        G.run_seed(bad2, 1, "da", G.Config(n_trials=2, shift_at=1))


def test_entropy_and_performance_on_known_sequences():
    """H = -sum p log2 p: 1 bit at P(go) 1/2, 0 for a sure choice, 0.811 at 1/4; performance
    is the share correct in the trailing window; criterion counts trials after the start."""
    assert entropy_bits(0.5) == 1.0 and entropy_bits(1.0) == 0.0 and entropy_bits(0.0) == 0.0
    assert entropy_bits(0.25) == pytest.approx(-(0.25 * math.log2(0.25) + 0.75 * math.log2(0.75)))
    perf = G.performance([0, 1, 1, 1, 0, 1], 3)
    assert np.allclose(perf, [0, 0.5, 2 / 3, 1, 2 / 3, 2 / 3])
    assert G.trials_to_criterion(np.array([0, 0.5, 0.9, 0.9]), 1, 0.8, 2) == 2
    assert G.trials_to_criterion(np.array([0, 0.5, 0.5]), 0, 0.8, 2) is None
    rows = [{"go_cue_present": g, "action": a} for g, a in
            [(1, "go"), (0, "go"), (1, "nogo"), (1, "go"), (1, "go")]]
    h = G.conditioned_entropy(rows, 4)
    # go-cue trials so far: go | go,nogo | go,nogo,go | go,nogo,go,go
    assert h[0] == 0.0 and h[1] == 0.0 and h[2] == 1.0
    assert h[3] == pytest.approx(entropy_bits(2 / 3)) and h[4] == pytest.approx(entropy_bits(3 / 4))


def test_dopamine_pulse_shape():
    d = dopamine_pulse(-0.5, 0.1, 200.0, 100.0, 0.1)
    assert d.shape == (1000,) and d[0] == pytest.approx(-0.05) and d[-1] == pytest.approx(-0.05 * math.exp(-99.9 / 200))


def test_task_rewards_and_shift():
    task = G.GoNoGoTask(G.Config(n_trials=10, shift_at=5))
    assert task.go_cue(4) == "A" and task.go_cue(5) == "X"
    assert task.reward(0, "A", "Y", True) == 1.0 and task.reward(0, "B", "X", True) == -1.0
    assert task.reward(7, "B", "X", True) == 1.0 and task.reward(7, "A", "Y", True) == -1.0
    assert task.reward(7, "A", "X", False) == 0.0


def test_run_many_resumes_without_recomputing(tmp_path, monkeypatch):
    """Finished seeds (a summary on disk) are not run again; the others are."""
    cfg = G.Config(n_trials=4, shift_at=2, det_warmup=1)
    first = G.run_many(CIRCUIT, [1], ["da"], cfg, tmp_path)
    assert first[0]["seed"] == 1 and (tmp_path / "trials_da_seed1.csv").exists()
    rows = G.read_trials(tmp_path / "trials_da_seed1.csv")
    assert [r["trial"] for r in rows] == [0, 1, 2, 3] and {r["go_cue"] for r in rows} == {"A", "X"}
    calls = []
    real = G.run_seed
    monkeypatch.setattr(G, "run_seed", lambda *a, **k: calls.append(a[1]) or real(*a, **k))
    both = G.run_many(CIRCUIT, [1, 2], ["da"], cfg, tmp_path)
    assert calls == [2] and [s["seed"] for s in both] == [1, 2]
    assert json.loads((tmp_path / "summary_da_seed1.json").read_text()) == first[0]


def test_same_seed_same_trials():
    cfg = G.Config(n_trials=3, shift_at=1)
    a = G.run_seed(CIRCUIT, 5, "da+na", cfg)["trials"]
    b = G.run_seed(CIRCUIT, 5, "da+na", cfg)["trials"]
    assert a == b


def test_cli_gonogo_writes_outputs(tmp_path):
    from l5sim.cli import main

    out = tmp_path / "g"
    assert main(["gonogo", str(CIRCUIT), "--trials", "3", "--shift-at", "2", "--seeds", "1", "--condition", "da",
                 "--out", str(out), "--quiet"]) == 0
    for f in ("trials_da_seed1.csv", "summary_da_seed1.json", "summary.json", "gonogo.png"):
        assert (out / f).exists(), f
    assert main(["gonogo", "--trials", "3", "--shift-at", "7", "--out", str(out), "--quiet"]) == 2
