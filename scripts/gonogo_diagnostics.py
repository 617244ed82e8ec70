"""Diagnostics of the Go/No-Go case study, written to docs/results/gonogo/diagnostics.json
(read by scripts/render_gonogo.py):

* credit: for seeds 1-5 and each credit design of :data:`l5sim.gonogo.CREDIT`, 20 trials
  presenting A and X with DA held at 0 (no learning), the correlation over trials between
  the choice (+1 Go, -1 No-Go; also the actor's net-rate difference Go minus No-Go, which
  the choice reads) and the eligibility difference of the cue A synapses (A -> Go minus
  A -> No-Go, summed deferred sums after the decision, where the action gate has acted),
  and the mean eligibility per synapse of the chosen and the unchosen group's A synapses:
  a rewarded choice strengthens its own cue synapses more than the other group's only if
  the correlation is clearly positive;
* na_on_actor: for seeds 1-5, the actor with A and X shown for 20 trials (DA 0) at NA 0 and
  NA 1 (the pulse's peak): rates, burst-reset share, Go share and choice entropy;
* critic_readout: the critic's pyramidal, basket and net rate with the A -> critic weights
  set to 0.5-4 nS (why the value is read from the pyramidal rate, l5sim.gonogo);
* speed: wall time of one seed of ``--trials`` trials (default 400) in condition da, after a
  warm-up that compiles the kernels, on this machine (one thread).

    python scripts/gonogo_diagnostics.py [--trials 400]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import l5sim
from l5sim import gonogo as G
from l5sim.trials import TrialLoop, entropy_bits, net_rate_hz

CIRCUIT = ROOT / "circuits" / "gonogo.toml"
SEEDS = (1, 2, 3, 4, 5)


def credit(seed, n=20, design="action-gate"):
    """One seed of the credit measurement (module docstring) under credit design ``design``
    (:data:`l5sim.gonogo.CREDIT`): the eligibility is read after the decision, where the
    action gate (if any) has acted, i.e. what the dopamine of the outcome phase meets."""
    b = l5sim.build(l5sim.load_circuit(CIRCUIT), seed)
    loop = TrialLoop(l5sim.Session(b, seed=seed))
    plastic = G.actor_plastic_pathways(b)
    diff, elig, e_rates, chosen, unchosen = [], [], [], [], []
    n_syn = {p: b.pathways[p].n_syn for p in ("A_go", "A_nogo")}
    for _ in range(n):
        act = loop.present({"cue_A": 40.0, "cue_X": 40.0}, {"DA": 0.0})
        d = net_rate_hz(act, "go_e", "go_i") - net_rate_hz(act, "nogo_e", "nogo_i")
        closed = plastic["nogo" if d > 0 else "go"] if design == "action-gate" else []
        for p in closed:
            loop.session.gate_plasticity(p, False)
        e = [float(loop.session.eligibility(p).sum()) for p in ("A_go", "A_nogo")]
        diff.append(d)
        elig.append(e[0] - e[1])
        e_rates.append((act.rate_hz("go_e"), act.rate_hz("nogo_e")))
        per_syn = {"go": e[0] / n_syn["A_go"], "nogo": e[1] / n_syn["A_nogo"]}
        chosen.append(per_syn["go" if d > 0 else "nogo"])
        unchosen.append(per_syn["nogo" if d > 0 else "go"])
        loop.outcome({"DA": 0.0})
        for p in closed:
            loop.session.gate_plasticity(p, True)
    r = np.asarray(e_rates)
    diff, elig = np.asarray(diff), np.asarray(elig)
    choice = np.where(diff > 0, 1.0, -1.0)
    return {"seed": seed, "design": design, "trials": n,
            "corr_choice_eligdiff": float(np.corrcoef(choice, elig)[0, 1]) if np.ptp(choice) > 0 else None,
            "corr_netdiff_eligdiff": float(np.corrcoef(diff, elig)[0, 1]),
            "sign_agreement": float(np.mean(np.sign(diff) == np.sign(elig))),
            "go_share": float(np.mean(choice > 0)),
            "elig_per_syn_chosen": float(np.mean(chosen)), "elig_per_syn_unchosen": float(np.mean(unchosen)),
            "mean_abs_e_rate_diff_hz": float(np.mean(np.abs(r[:, 0] - r[:, 1]))),
            "mean_e_rate_hz": float(r.mean())}


def na_on_actor(seed, n=20, levels=(0.0, 1.0)):
    """The actor with A and X shown for ``n`` trials (DA 0, no learning) at each NA level:
    mean pyramidal rate of each group, burst-reset share of their spikes, the share of Go
    choices and the entropy of the choice (bits) over the trials: what the NA transient does
    to the decision by itself."""
    out = {"seed": seed, "trials": n, "levels": []}
    for na in levels:
        b = l5sim.build(l5sim.load_circuit(CIRCUIT), seed)
        loop = TrialLoop(l5sim.Session(b, seed=seed))
        go, rates, bursts = [], [], []
        for _ in range(n):
            act = loop.present({"cue_A": 40.0, "cue_X": 40.0}, {"DA": 0.0, "NA": na})
            go.append(net_rate_hz(act, "go_e", "go_i") > net_rate_hz(act, "nogo_e", "nogo_i"))
            rates.append((act.rate_hz("go_e"), act.rate_hz("nogo_e")))
            bursts.append(act.burst_share(["go_e", "nogo_e"]))
            loop.outcome({"DA": 0.0, "NA": na})
        r = np.asarray(rates)
        p = float(np.mean(go))
        out["levels"].append({"na": na, "go_e_rate_hz": float(r[:, 0].mean()), "nogo_e_rate_hz": float(r[:, 1].mean()),
                              "burst_share": float(np.nanmean(bursts)), "go_share": p,
                              "choice_entropy_bits": entropy_bits(p)})
    return out


def critic_readout(weights=(0.5, 1.0, 2.0, 3.0, 4.0), seeds=(1, 2), n=5):
    """The critic's rates while A and Y are shown (DA 0) with every A -> critic synapse at
    ``w`` nS: pyramidal (E), basket (I) and net (E - I) rate, mean over ``seeds`` x ``n``
    trials. A value readout must grow with the weights that learn it."""
    out = []
    for w in weights:
        E, I = [], []
        for seed in seeds:
            b = l5sim.build(l5sim.load_circuit(CIRCUIT, overrides={"pathways.A_critic.connectivity.weight": w}), seed)
            loop = TrialLoop(l5sim.Session(b, seed=seed))
            for _ in range(n):
                act = loop.present({"cue_A": 40.0, "cue_Y": 40.0}, {"DA": 0.0})
                E.append(act.rate_hz("critic_e"))
                I.append(act.rate_hz("critic_i"))
                loop.outcome({"DA": 0.0})
        out.append({"weight_nS": w, "e_rate_hz": float(np.mean(E)), "i_rate_hz": float(np.mean(I)),
                    "net_rate_hz": float(np.mean(E) - np.mean(I)), "trials": len(E)})
    return out


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=400)
    ap.add_argument("--out", default=str(ROOT / "docs" / "results" / "gonogo" / "diagnostics.json"))
    a = ap.parse_args(argv)
    cr = [credit(s, design=d) for d in G.CREDIT for s in SEEDS]
    readout = critic_readout()
    na = [na_on_actor(s) for s in SEEDS]
    G.run_seed(CIRCUIT, 1, "da", G.Config(n_trials=2, shift_at=1))      # compile
    t = time.perf_counter()
    G.run_seed(CIRCUIT, 1, "da", G.Config(n_trials=a.trials, shift_at=a.trials // 2))
    wall = time.perf_counter() - t
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    doc = {"credit": cr, "critic_readout": readout, "na_on_actor": na, "speed": {"trials": a.trials, "wall_s": wall, "per_trial_ms": 1e3 * wall / a.trials,
                                   "machine": platform.processor() or platform.machine(), "cpus": os.cpu_count(),
                                   "load_average_1min": load}}
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(doc, indent=1) + "\n")
    print(json.dumps(doc, indent=1))


if __name__ == "__main__":
    main()
