#!/usr/bin/env bash
# Reproduce the Fashion-MNIST stability-gap table of docs/stability_gap.md.
# Needs torch==2.13.0, scikit-learn and Debian's dataset-fashion-mnist package
# (or FMNIST_DIR pointing at the four idx files). Runs the three scenarios in parallel,
# one CPU thread each, at low priority. Outputs go to $OUT (default runs/stability_gap_fmnist).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-runs/stability_gap_fmnist}
L5SIM=${L5SIM:-l5sim}
PY=${PY:-python}
DATA_DIR=${FMNIST_DIR:-/usr/share/datasets/fashion-mnist}
mkdir -p "$OUT"

# The bridge file: made from the simulator's own curves (l5sim gain + l5sim pulse + l5sim stdp +
# l5sim fit, seeds 0-4) by scripts/make_bridge_from_simulator.sh; the committed one is
# docs/bridge/bridge.json. (The first version of the table used synthetic curves,
# l5sim/ann/synthetic_curves.py; see docs/stability_gap.md.)
BRIDGE=${BRIDGE:-docs/bridge/bridge.json}
if [ ! -f "$BRIDGE" ]; then
  OUT="$(dirname "$BRIDGE")" L5SIM="$L5SIM" scripts/make_bridge_from_simulator.sh
fi

for sc in rotated permuted split; do
  nice -n 10 "$L5SIM" stability-gap --data fashion-mnist --data-dir "$DATA_DIR" --scenario "$sc" \
    --optimizers sgd momentum-sgd adam ngm-sgd ngm-sgd-bridge --seeds 5 --seed-start 42 \
    --bridge "$BRIDGE" --eval-every 1 --eval-samples 1000 --threads 1 \
    --out "$OUT/$sc" > "$OUT/$sc.log" 2>&1 &
done
wait
echo "done: $OUT/{rotated,permuted,split}/metrics.json"
