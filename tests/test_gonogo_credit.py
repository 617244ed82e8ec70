"""Credit assignment of the Go/No-Go actor (action-gated eligibility, l5sim.gonogo), the
multi-seed runs on the sweep's backends (resume), and the verdict logic of the comparison.

Expectations come from the mechanism itself, not from a stored run: a closed gate leaves a
pathway with exactly zero eligibility and exactly unchanged weights whatever dopamine does;
with the gate, the eligibility difference of a cue's synapses (Go minus No-Go) is +e of the
chosen group after a Go and -e after a No-Go, so it follows the choice whenever a presented
cue's synapses onto the cells it drives are net potentiated by the balanced all-to-all
window (causal pre -> post pairs potentiate, uncorrelated ones average zero: Fremaux &
Gerstner 2016).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import l5sim
from l5sim import gonogo as G
from l5sim.errors import SpecError
from l5sim.session import Session
from l5sim.trials import TrialLoop, net_rate_hz

ROOT = Path(__file__).resolve().parents[1]
CIRCUIT = ROOT / "circuits" / "gonogo.toml"
#: Seeds of the credit check: several, so that one lucky seed cannot pass it.
CREDIT_SEEDS = (1, 2, 3, 4)
#: Trials per seed (A and X shown, DA 0): 20 gives a correlation a standard error of ~0.23 at 0.
CREDIT_TRIALS = 20
#: Required mean correlation between the choice and the eligibility difference: clearly
#: positive, more than twice the standard error of one seed's correlation at 0 (0.23).
CREDIT_MIN_MEAN = 0.46


def _credit(seed, gate: bool):
    """Correlation over trials between the choice (+1 Go, -1 No-Go) and the eligibility
    difference A -> Go minus A -> No-Go after the decision; the share of trials where the
    chosen group's A synapses are net eligible."""
    b = l5sim.build(l5sim.load_circuit(CIRCUIT), seed)
    loop = TrialLoop(Session(b, seed=seed))
    plastic = G.actor_plastic_pathways(b)
    choice, diff = [], []
    for _ in range(CREDIT_TRIALS):
        act = loop.present({"cue_A": 40.0, "cue_X": 40.0}, {"DA": 0.0})
        go = net_rate_hz(act, "go_e", "go_i") > net_rate_hz(act, "nogo_e", "nogo_i")
        closed = plastic["nogo" if go else "go"] if gate else []
        for p in closed:
            loop.session.gate_plasticity(p, False)
        choice.append(1.0 if go else -1.0)
        diff.append(loop.session.eligibility("A_go").sum() - loop.session.eligibility("A_nogo").sum())
        loop.outcome({"DA": 0.0})
        for p in closed:
            loop.session.gate_plasticity(p, True)
    choice, diff = np.array(choice), np.array(diff)
    assert np.ptp(choice) > 0, f"seed {seed}: one action only in {CREDIT_TRIALS} trials"
    return float(np.corrcoef(choice, diff)[0, 1])


def test_action_gate_aligns_eligibility_with_the_choice():
    """With the gate, the A synapses of the chosen group are the eligible ones: the
    correlation between choice and eligibility difference is positive in every seed and
    clearly positive on average; without it, it is not (the failure the gate fixes)."""
    gated = np.array([_credit(s, True) for s in CREDIT_SEEDS])
    plain = np.array([_credit(s, False) for s in CREDIT_SEEDS])
    msg = (f"gate: {np.round(gated, 2)} (mean {gated.mean():+.2f} SD {gated.std():.2f}); "
           f"no gate: {np.round(plain, 2)} (mean {plain.mean():+.2f} SD {plain.std():.2f}); n = {len(CREDIT_SEEDS)} "
           f"seeds x {CREDIT_TRIALS} trials")
    assert np.all(gated > 0), msg
    assert gated.mean() > CREDIT_MIN_MEAN, msg
    assert np.all(gated > plain), msg


def test_closed_gate_freezes_the_unchosen_group_exactly():
    """A closed pathway has zero eligibility, and a dopamine pulse leaves its weights bitwise
    unchanged, while the open group's weights move; reopening restores the rule's rate."""
    b = l5sim.build(l5sim.load_circuit(CIRCUIT), 2)
    s = Session(b, seed=2)
    loop = TrialLoop(s)
    loop.present({"cue_A": 40.0, "cue_Y": 40.0}, {"DA": 0.0})
    assert np.any(s.eligibility("A_nogo") != 0) and np.any(s.eligibility("A_go") != 0)
    lr = s.st.plasticity.learning_rate.copy()
    w_nogo, w_go = s.weights("A_nogo"), s.weights("A_go")
    s.gate_plasticity("A_nogo", False)
    assert np.all(s.eligibility("A_nogo") == 0)
    loop.outcome({"DA": 0.05})
    assert np.all(s.eligibility("A_nogo") == 0)
    assert np.array_equal(s.weights("A_nogo"), w_nogo)
    assert not np.array_equal(s.weights("A_go"), w_go)
    s.gate_plasticity("A_nogo", True)
    assert np.array_equal(s.st.plasticity.learning_rate, lr)


def test_gate_bad_input():
    s = Session(l5sim.build(l5sim.load_circuit(CIRCUIT), 1))
    with pytest.raises(SpecError, match=r"pathway.*'go_ie'.*plastic pathway"):
        s.gate_plasticity("go_ie", False)
    with pytest.raises(SpecError, match=r"pathway.*'A_q'.*a pathway of the circuit"):
        s.eligibility("A_q")
    with pytest.raises(SpecError, match=r"credit.*'winner'.*one of"):
        G.Config(credit="winner").check()
    # a rule whose learning rate a modulator sets: the kernel would overwrite a closed gate
    mod = Session(l5sim.build(l5sim.load_circuit(CIRCUIT, overrides={"modulators.NA.targets.stdp_rate": {"rstdp": 1.0}}), 1))
    with pytest.raises(SpecError, match=r"pathway.*'A_go'.*learning rate no neuromodulator sets"):
        mod.gate_plasticity("A_go", False)


# ---- multi-seed runs: the sweep's backends, resume ------------------------------------------

TINY = G.Config(n_trials=3, shift_at=2, det_warmup=1, value_reference_trials=1)


def _ident(p: Path):
    st = p.stat()
    return st.st_ino, st.st_mtime_ns


def test_resume_on_the_process_pool_skips_finished_seeds(tmp_path):
    """Seed 1 finished, seed 2 interrupted (its trial table written, no summary), seed 3 not
    started: a rerun on two worker processes computes seeds 2 and 3 and leaves seed 1's
    files untouched (same inode and time: never rewritten); results equal a serial run."""
    out = tmp_path / "pool"
    G.run_many(CIRCUIT, [1], ["da"], TINY, out)
    done = {f: _ident(out / f) for f in ("summary_da_seed1.json", "trials_da_seed1.csv")}
    (out / "trials_da_seed2.csv").write_text("trial\n")          # what a killed seed leaves
    sums = G.run_many(CIRCUIT, [1, 2, 3], ["da"], TINY, out, workers=2, scheduler="processes")
    assert {f: _ident(out / f) for f in done} == done
    assert [s["seed"] for s in sums] == [1, 2, 3]
    ref = G.run_many(CIRCUIT, [2, 3], ["da"], TINY, tmp_path / "serial", scheduler="serial")
    assert sums[1:] == ref
    assert len(G.read_trials(out / "trials_da_seed2.csv")) == TINY.n_trials


def test_interrupted_pool_run_resumes_without_recomputing(tmp_path):
    """Ctrl-C after the first finished seed stops the pool (its workers are terminated); the
    rerun computes only the seeds without a summary and leaves the finished ones' files
    untouched."""
    out = tmp_path / "int"

    def stop(sm):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        G.run_many(CIRCUIT, [1, 2, 3, 4], ["da"], TINY, out, workers=2, scheduler="processes", progress=stop)
    finished = sorted(p.name for p in out.glob("summary_*.json"))
    assert len(finished) >= 1, finished      # (how many of the others finished depends on timing)
    before = {f: _ident(out / f) for f in finished}
    seen = []
    sums = G.run_many(CIRCUIT, [1, 2, 3, 4], ["da"], TINY, out, scheduler="serial", progress=seen.append)
    assert {f: _ident(out / f) for f in finished} == before
    assert len(seen) == 4 - len(finished) and [s["seed"] for s in sums] == [1, 2, 3, 4]


def test_resume_refuses_results_of_other_settings(tmp_path):
    G.run_many(CIRCUIT, [1], ["da"], TINY, tmp_path)
    other = G.Config(**{**TINY.__dict__, "da_gain": 0.1})
    with pytest.raises(SpecError, match=r"--out.*another configuration"):
        G.run_many(CIRCUIT, [1], ["da"], other, tmp_path)
    with pytest.raises(SpecError, match=r"--out.*another configuration or circuit"):
        G.run_many(CIRCUIT, [1], ["da"], TINY, tmp_path, overrides={"inputs.bg_go_e.rate_hz": 1900.0})
    with pytest.raises(SpecError, match=r"--scheduler.*'threads'"):
        G.run_many(CIRCUIT, [1], ["da"], TINY, tmp_path, scheduler="threads")
    with pytest.raises(SpecError, match=r"--workers.*0"):
        G.run_many(CIRCUIT, [1], ["da"], TINY, tmp_path, workers=0)


@pytest.mark.dask
def test_dask_local_cluster_gives_the_serial_results(tmp_path):
    pytest.importorskip("distributed")
    a = G.run_many(CIRCUIT, [1, 2], ["da+na"], TINY, tmp_path / "dask", workers=1, scheduler="local")
    b = G.run_many(CIRCUIT, [1, 2], ["da+na"], TINY, tmp_path / "serial")
    assert a == b
    assert json.loads((tmp_path / "dask" / "summary_da_na_seed2.json").read_text()) == b[1]


# ---- the verdict of the comparison ------------------------------------------------------------

def _summary(cond, seed, t_after, h_peak=0.5, n_trials=400, shift_at=200):
    return {"condition": cond, "seed": seed, "trials_to_criterion_after_shift": t_after,
            "readapted": t_after is not None, "entropy_peak_after_shift": h_peak,
            "config": {"n_trials": n_trials, "shift_at": shift_at}}


def test_verdict_reads_the_numbers_both_ways():
    """Paired by seed, DA minus condition of the trials to re-criterion: 10 seeds with DA
    taking 60-105 trials and NA 30 fewer in each (SD of the differences 0) -> helps; NA
    30 more -> hurts; differences +-10 alternating (mean 0) -> no clear effect; a seed
    that never re-adapts counts as n_trials - shift_at + 1 = 201."""
    da = [60 + 5 * k for k in range(10)]
    ss = [_summary("da", k, t) for k, t in enumerate(da)]
    helps = G.na_effect(ss + [_summary("da+na", k, t - 30) for k, t in enumerate(da)])["da+na"]
    assert helps["verdict"] == "helps" and helps["faster"]["mean"] == pytest.approx(30.0)
    hurts = G.na_effect(ss + [_summary("da+na", k, t + 30) for k, t in enumerate(da)])["da+na"]
    assert hurts["verdict"] == "hurts" and hurts["faster"]["mean"] == pytest.approx(-30.0)
    noisy = G.na_effect(ss + [_summary("da+na", k, t + (10 if k % 2 else -10)) for k, t in enumerate(da)])
    assert noisy["da+na"]["verdict"] == "no clear effect" and noisy["da+na"]["faster"]["se"] == pytest.approx(10 / 10 ** 0.5)
    never = G.na_effect([_summary("da", 1, None), _summary("na-random", 1, 50)])["na-random"]
    assert never["faster"]["mean"] == 201 - 50 and never["readapted"] == [1.0, 0.0]
    with pytest.raises(SpecError, match=r"conditions.*'da'"):
        G.na_effect([_summary("da+na", 1, 50)])


def _discrimination(rows):
    """P(go | go cue) - P(go | no go cue) over ``rows`` (0: none, 1: perfect)."""
    go = np.array([r["action"] == "go" for r in rows])
    cue = np.array([r["go_cue_present"] for r in rows]) == 1
    return float(go[cue].mean() - go[~cue].mean())


@pytest.mark.slow
def test_action_gated_network_learns_the_first_rule():
    """200 trials before any shift, DA only, seeds 1-4: the discrimination over the last 50
    trials is above chance (0) on average by more than two standard errors over seeds, and
    above it in at least 3 of 4 seeds (a policy that ignores the cue has 0 in expectation)."""
    cfg = G.Config(n_trials=200, shift_at=200)
    d = np.array([_discrimination(G.run_seed(CIRCUIT, s, "da", cfg)["trials"][-50:]) for s in (1, 2, 3, 4)])
    se = d.std() / np.sqrt(d.size)
    msg = f"discrimination per seed {np.round(d, 2)}, mean {d.mean():+.2f} SD {d.std():.2f} SE {se:.2f}, n = {d.size}"
    assert d.mean() > 2 * se and (d > 0).sum() >= 3, msg
