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

# The bridge file. `l5sim gain` / `l5sim stdp` were not available when the table was made, so
# the gain and STDP directories are synthetic curves in their exact format (see
# l5sim/ann/synthetic_curves.py); replace them by real sweep outputs when they exist.
if [ ! -f "$OUT/bridge.json" ]; then
  "$PY" -c "from l5sim.ann.synthetic_curves import write_synthetic_gain_dir as g, write_synthetic_stdp_dir as s; g('$OUT/gain'); s('$OUT/stdp')"
  "$L5SIM" fit "$OUT/gain" "$OUT/stdp" --out "$OUT/bridge.json"
fi

for sc in rotated permuted split; do
  nice -n 10 "$L5SIM" stability-gap --data fashion-mnist --data-dir "$DATA_DIR" --scenario "$sc" \
    --optimizers sgd momentum-sgd adam ngm-sgd ngm-sgd-bridge --seeds 5 --seed-start 42 \
    --bridge "$OUT/bridge.json" --eval-every 1 --eval-samples 1000 --threads 1 \
    --out "$OUT/$sc" > "$OUT/$sc.log" 2>&1 &
done
wait
echo "done: $OUT/{rotated,permuted,split}/metrics.json"
