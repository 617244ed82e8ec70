"""Diagnostics of the Go/No-Go case study, written to docs/results/gonogo/diagnostics.json
(read by scripts/render_gonogo.py):

* credit: for seeds 1-3, 20 trials presenting A and X with DA held at 0 (no learning), the
  correlation over trials between the actor's net-rate difference (Go minus No-Go, what the
  choice reads) and the eligibility difference of the cue A synapses (A -> Go minus
  A -> No-Go, summed deferred sums at the end of the stimulus phase): R-STDP can credit the
  chosen action only if this is clearly positive;
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

import l5sim  # noqa: E402
from l5sim import gonogo as G  # noqa: E402
from l5sim.trials import TrialLoop, net_rate_hz  # noqa: E402

CIRCUIT = ROOT / "circuits" / "gonogo.toml"


def credit(seed, n=20):
    b = l5sim.build(l5sim.load_circuit(CIRCUIT), seed)
    loop = TrialLoop(l5sim.Session(b, seed=seed))
    sd = loop.session.st.plasticity.deferred_sum
    diff, elig, e_rates = [], [], []
    for _ in range(n):
        act = loop.present({"cue_A": 40.0, "cue_X": 40.0}, {"DA": 0.0})
        d = net_rate_hz(act, "go_e", "go_i") - net_rate_hz(act, "nogo_e", "nogo_i")
        e = [float(sd[b.pathways[p].syn_lo:b.pathways[p].syn_hi].sum()) for p in ("A_go", "A_nogo")]
        diff.append(d)
        elig.append(e[0] - e[1])
        e_rates.append((act.rate_hz("go_e"), act.rate_hz("nogo_e")))
        loop.outcome({"DA": 0.0})
    r = np.asarray(e_rates)
    return {"seed": seed, "trials": n, "corr_netdiff_eligdiff": float(np.corrcoef(diff, elig)[0, 1]),
            "mean_abs_e_rate_diff_hz": float(np.mean(np.abs(r[:, 0] - r[:, 1]))),
            "mean_e_rate_hz": float(r.mean())}


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=400)
    ap.add_argument("--out", default=str(ROOT / "docs" / "results" / "gonogo" / "diagnostics.json"))
    a = ap.parse_args(argv)
    cr = [credit(s) for s in (1, 2, 3)]
    G.run_seed(CIRCUIT, 1, "da", G.Config(n_trials=2, shift_at=1))      # compile
    t = time.perf_counter()
    G.run_seed(CIRCUIT, 1, "da", G.Config(n_trials=a.trials, shift_at=a.trials // 2))
    wall = time.perf_counter() - t
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    doc = {"credit": cr, "speed": {"trials": a.trials, "wall_s": wall, "per_trial_ms": 1e3 * wall / a.trials,
                                   "machine": platform.processor() or platform.machine(), "cpus": os.cpu_count(),
                                   "load_average_1min": load}}
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(doc, indent=1) + "\n")
    print(json.dumps(doc, indent=1))


if __name__ == "__main__":
    main()
