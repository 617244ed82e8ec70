#!/usr/bin/env bash
# Regenerates every result behind docs/claims.md (issue 17, item 8), then the page itself.
# Each block is the command a user runs to reproduce one claim; its small outputs (CSV, JSON,
# figure) are committed under docs/results/. About 5 minutes on 2 cores.
# The runs are serial (L5SIM_PARALLEL=0): on a loaded machine the parallel kernel can lose
# to the serial one (issue 18), and results are bitwise the same either way.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-docs/results}
L5SIM=${L5SIM:-l5sim}
export L5SIM_PARALLEL=${L5SIM_PARALLEL:-0}
SOMA=inputs.soma_step.amplitude_pA=500:1600:12
mkdir -p "$OUT"

# (a) dendritic drive and tighter coupling raise gain via bursts (lone L5 cell, 10 cells per level)
"$L5SIM" gain circuits/l5_cell.toml --vary inputs.dend_step.amplitude_pA=0,250,500 --input "$SOMA" \
  --duration 2000 --seeds 5 --set populations.pyr.n=10 --out "$OUT/gain_dendrite" --quiet
"$L5SIM" gain circuits/l5_cell.toml --vary populations.pyr.params.kappa=0,0.5,1 --set inputs.dend_step.amplitude_pA=400 \
  --input "$SOMA" --duration 2000 --seeds 5 --set populations.pyr.n=10 --out "$OUT/gain_kappa" --quiet

# (b, c) SOM -> dendrite and PV -> soma in the column: the neighbours of a driven group
"$L5SIM" neighbours circuits/l5_column.toml --seeds 5 --out "$OUT/neighbours" --quiet

# (d) bursting accelerates STDP: the default cell, then a phasic NA pulse in the column
"$L5SIM" stdp circuits/l5_stdp.toml --seeds 5 --out "$OUT/stdp" --quiet
"$L5SIM" column-stdp circuits/l5_column.toml --seeds 5 --out "$OUT/column_stdp" --quiet

# (e) a brief NA pulse on two time scales: the gain time course (fast) is docs/bridge/pulse
# (scripts/make_bridge_from_simulator.sh); the weight change (slow) is (d).

# the column keeps its regime when scaled (item 7)
python scripts/column_scaling.py

python scripts/render_claims.py "$OUT" > docs/claims.md
