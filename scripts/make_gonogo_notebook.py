"""Write notebooks/gonogo.ipynb with nbformat (no outputs). Run from the repository root:

    .venv/bin/python scripts/make_gonogo_notebook.py
"""
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

KERNEL = {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
          "language_info": {"name": "python"}}


def main():
    cells = [
        new_markdown_cell("""# Closed-loop learning: R-STDP with dopamine, and the Go/No-Go case study

A short version of `l5sim gonogo` (the full comparison and its honest report are in
`docs/gonogo.md`). Three parts, public API only:

1. the trial loop on a second, simpler task: one cue, reward whenever the Go group outfires
   the No-Go group (`l5sim.Session`, `l5sim.trials.TrialLoop`);
2. the Go/No-Go task for a few trials in two conditions (`l5sim.gonogo.run_seed`);
3. the figure of the review's Fig. 3 D-F (`l5sim.plotting.gonogo_curves`)."""),
        new_code_cell("""from pathlib import Path
import numpy as np
import l5sim
from l5sim import gonogo as G
from l5sim.plotting import gonogo_curves
from l5sim.trials import TrialLoop, dopamine_pulse, net_rate_hz

ROOT = Path.cwd() if (Path.cwd() / "circuits").is_dir() else Path.cwd().parent
CIRCUIT = ROOT / "circuits" / "gonogo.toml\""""),
        new_markdown_cell("""## 1. A simpler task on the same API

Each trial presents cue A for 500 ms; the network 'goes' when the Go group's net rate
(E minus I) beats the No-Go group's; a go is rewarded (+1), a no-go is not (0). The outcome
phase carries DA = 0.05 x (reward - 0.5), decaying with tau 200 ms. The network's state
(weights, potentials, traces) carries over from trial to trial."""),
        new_code_cell("""built = l5sim.build(l5sim.load_circuit(CIRCUIT), seed=1)
loop = TrialLoop(l5sim.Session(built, seed=1))
choices = []
for k in range(8):
    act = loop.present({"cue_A": 40.0})
    go = net_rate_hz(act, "go_e", "go_i") > net_rate_hz(act, "nogo_e", "nogo_i")
    reward = 1.0 if go else 0.0
    loop.outcome({"DA": dopamine_pulse(reward - 0.5, 0.05, 200.0, loop.outcome_ms, loop.dt_ms)})
    choices.append(go)
print("choices:", ["go" if c else "no-go" for c in choices])
print("mean A -> Go weight (nS):", loop.session.weights("A_go").mean())"""),
        new_markdown_cell("""## 2. The Go/No-Go task, short

A few trials per condition (the docs run 200 trials x 10 seeds). `da+na` lets the contingency
detector trigger the NA transient; `da` never does."""),
        new_code_cell("""cfg = G.Config(n_trials=16, shift_at=8, det_warmup=4, window=4, entropy_window=4)
runs = {c: [G.run_seed(CIRCUIT, 1, c, cfg)["trials"]] for c in ("da", "da+na")}
for c, rr in runs.items():
    print(c, "".join("G" if r["action"] == "go" else "n" for r in rr[0]),
          "correct:", sum(r["correct"] for r in rr[0]), "NA:", [round(r["na"], 2) for r in rr[0]][-4:])"""),
        new_code_cell("""fig = gonogo_curves(G.curves(runs, cfg), cfg.shift_at, cfg.criterion)"""),
    ]
    nb = new_notebook(cells=cells, metadata=KERNEL)
    nbformat.write(nb, Path("notebooks") / "gonogo.ipynb")


if __name__ == "__main__":
    main()
