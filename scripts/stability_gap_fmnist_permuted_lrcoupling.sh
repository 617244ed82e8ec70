#!/usr/bin/env bash
# Regenerate the learning-rate-coupling table of docs/stability_gap.md: permuted Fashion-MNIST,
# ngm-sgd-bridge against ngm-sgd-bridge-lr (the bridge's STDP-derived coupling of the learning
# rate to the gain, lr x max(0, 1 + c (mean g - g0)); off everywhere else), seeds 42-46.
# Needs what scripts/stability_gap_fmnist.sh needs. About 15 min on a quiet core.
# Writes metrics.json and run.log to docs/results/stability_gap/fmnist/permuted_lrcoupling/.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-docs/results/stability_gap/fmnist/permuted_lrcoupling}
L5SIM=${L5SIM:-l5sim}
DATA_DIR=${FMNIST_DIR:-/usr/share/datasets/fashion-mnist}
BRIDGE=${BRIDGE:-docs/bridge/bridge.json}
EXTRA="--no-figure --no-curves --eval-seen-only"
[ "${FULL:-0}" = 1 ] && EXTRA=""
mkdir -p "$OUT"
nice -n 10 "$L5SIM" stability-gap --data fashion-mnist --data-dir "$DATA_DIR" --scenario permuted \
  --optimizers ngm-sgd-bridge ngm-sgd-bridge-lr --bridge "$BRIDGE" \
  --seeds 5 --seed-start 42 --eval-every 1 --eval-samples 1000 --device cpu --threads 1 \
  --no-progress --log-every 200 $EXTRA --out "$OUT" > "$OUT/run.log" 2>&1
tail -n 4 "$OUT/run.log"
