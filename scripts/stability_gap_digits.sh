#!/usr/bin/env bash
# Regenerate the digits tables of docs/stability_gap.md: one table per (preprocessing, scenario).
#   scripts/stability_gap_digits.sh                      # all six tables
#   scripts/stability_gap_digits.sh standardize split    # one table
# Needs torch==2.13.0 and scikit-learn (its bundled 8x8 digits: offline). Writes the small
# per-seed results (metrics.json) to docs/results/stability_gap/digits_<preprocessing>/<scenario>/;
# set FULL=1 to also write curves.csv and stability_gap.png there (not committed: large).
# Then `python scripts/render_stability_gap.py > docs/stability_gap.md` rebuilds the page.
# Seeds 42-46; the digits' train/test split, permutations and class order vary with the seed
# (the harness's default data seeding for digits).
set -euo pipefail
cd "$(dirname "$0")/.."
L5SIM=${L5SIM:-l5sim}
OUT=${OUT:-docs/results/stability_gap}
BRIDGE=${BRIDGE:-docs/bridge/bridge.json}
NORMS=${1:-"standardize none"}
SCENARIOS=${2:-"rotated permuted split"}
EXTRA="--no-figure --no-curves"
[ "${FULL:-0}" = 1 ] && EXTRA=""
for norm in $NORMS; do
  for sc in $SCENARIOS; do
    dir="$OUT/digits_$norm/$sc"
    mkdir -p "$dir"
    nice -n 10 "$L5SIM" stability-gap --data digits --scenario "$sc" --normalize "$norm" \
      --optimizers sgd momentum-sgd adam ngm-sgd ngm-sgd-bridge --bridge "$BRIDGE" \
      --seeds 5 --seed-start 42 --eval-every 1 --device cpu --threads 1 --no-progress \
      --log-every 400 $EXTRA --out "$dir" > "$dir/run.log" 2>&1
    tail -n 6 "$dir/run.log"
  done
done
