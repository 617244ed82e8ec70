#!/usr/bin/env bash
# Build the NGM-SGD bridge file from the simulator's own curves (docs/bridge/bridge.json).
#   1. gain family:  l5sim gain   circuits/l5_na.toml, tonic NA 0..1.6 (kappa 0.2..1.0), somatic 500..1600 pA
#   2. pulse:        l5sim pulse  the same cell, a phasic NA pulse (amplitude 1.6, exponential, tau 1000 ms;
#                    onsets spread over 1 s across seeds so that bins do not alias with the firing phase)
#                    pulse.csv is copied into the gain directory, where `l5sim fit` reads it
#   3. STDP:         l5sim stdp   circuits/l5_stdp.toml (single spikes, apical bursts, NA-pulse bursts)
#   4. fit + map:    l5sim fit    GAIN_DIR STDP_DIR -> bridge.json (l5sim/bridge.py)
# Regime (circuits/l5_na.toml): coupling preset (NA raises kappa by 0.5 per unit), kappa 0.2
# at NA 0, apical drive 475 pA below the 647 pA plateau threshold: where NA changes the gain.
# Seeds are fixed (0..4), so the outputs are reproducible. About 2 minutes on one core.
# f-I fit window (l5sim.analysis.fi_shape_fit): WINDOW pA above the firing onset (700 pA), i.e.
# the whole measured range. NA acts where plateau bursts begin (above ~1100 pA), outside the
# default 400 pA window, and for these curves one line does fit the whole range (every
# condition's steepest local slope is < 2x the fitted slope: one_line_ok in bridge.json).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-docs/bridge}
L5SIM=${L5SIM:-l5sim}
SEEDS=${SEEDS:-5}
INPUT=inputs.soma_step.amplitude_pA=500:1600:12
WINDOW=${WINDOW:-900}
mkdir -p "$OUT"

"$L5SIM" gain circuits/l5_na.toml --vary modulators.NA.tonic=0:1.6:5 --input "$INPUT" \
  --duration 3000 --seeds "$SEEDS" --seed 0 --set populations.pyr.n=20 --window "$WINDOW" --out "$OUT/gain" | tee "$OUT/gain.log"

"$L5SIM" pulse circuits/l5_na.toml --modulator NA --amplitude 1.6 --tau 1000 --shape exponential \
  --input "$INPUT" --onset 3000 --onset-spread 1000 --baseline 1000 --bin 100 --duration 8000 --neurons 50 \
  --window "$WINDOW" --seeds "$SEEDS" --seed 0 --out "$OUT/pulse" 2>/dev/null | tee "$OUT/pulse.log"
cp "$OUT/pulse/pulse.csv" "$OUT/gain/pulse.csv"

"$L5SIM" stdp circuits/l5_stdp.toml --seeds "$SEEDS" --seed 0 --out "$OUT/stdp" | tee "$OUT/stdp.log"

"$L5SIM" fit "$OUT/gain" "$OUT/stdp" --window "$WINDOW" --out "$OUT/bridge.json" | tee "$OUT/fit.log"
