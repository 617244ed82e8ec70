#!/usr/bin/env bash
# A Fashion-MNIST table under the paper's evaluation protocol: 5 seeds (42-46) and each task's
# full test set at every evaluation (arXiv 2507.14056), instead of the 3 seeds and 200 test
# images per task of scripts/stability_gap_fmnist.sh:
#   scripts/stability_gap_fmnist_paper.sh            # split (the committed table)
#   scripts/stability_gap_fmnist_paper.sh rotated    # also runs; not committed (hours on 2 cores)
# A split task's test set is 2000 images (2 classes x 1000); a rotated or permuted task's is the
# whole 10000-image test set. Everything else as scripts/stability_gap_fmnist.sh (same
# optimizers, bridge, at-chance check). Results go to docs/results/stability_gap/fmnist_paper/<scenario>/;
# split took about 50 min at low priority on a 2-core machine shared with other jobs. Then
# `python scripts/render_stability_gap.py > docs/stability_gap.md` rebuilds the page.
set -euo pipefail
cd "$(dirname "$0")/.."
export SEEDS=5 OUT=${OUT:-docs/results/stability_gap/fmnist_paper}
for sc in ${1:-split}; do
  case "$sc" in
    split) EVAL_SAMPLES=2000 scripts/stability_gap_fmnist.sh split ;;
    rotated|permuted) EVAL_SAMPLES=10000 scripts/stability_gap_fmnist.sh "$sc" ;;
    *) echo "scenario: got '$sc'; expected split, rotated or permuted" >&2; exit 2 ;;
  esac
done
