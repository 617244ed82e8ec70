#!/usr/bin/env bash
# Every benchmark behind docs/performance.md, then the page itself (issue 18).
#
#   bash benchmarks/run_all.sh              # about an hour on 2 quiet cores
#   QUICK=1 bash benchmarks/run_all.sh      # no column_100k, no cold runs in the suite
#
# Run it with the core environment active (or PYTHON=.venv/bin/python) after
# `bash benchmarks/setup_peers.sh`. Results go to benchmarks/results/{suite,column_check,
# threads,fused,memory}/ (small JSON, committed); the page to docs/performance.md.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="${PYTHON:-python}"
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
nets="izh2003_1k izh2003_10k izh2003_10k_stdp column_1k column_10k column_100k"
cold=""
if [ "${QUICK:-0}" = 1 ]; then
    nets="izh2003_1k izh2003_10k izh2003_10k_stdp column_1k column_10k"
    cold="--no-cold"
fi
rm -rf benchmarks/results/suite_*/    # partial runs of an earlier session (make_doc merges suite_*)
"$PY" -m benchmarks --networks $nets --peers l5sim reference_numba brian2_standalone nest \
    --threads 1 2 --repeats 3 $cold --out benchmarks/results/suite
"$PY" -m benchmarks.column_check --network column_1k --seeds 1 2 3 4 5
"$PY" -m benchmarks.column_check --network column_10k --seeds 1 2 3
"$PY" -m benchmarks.threads_bench --networks izh2003_10k column_10k --repeats 3
"$PY" -m benchmarks.fused_bench
"$PY" -m benchmarks.memory_bench
"$PY" -m benchmarks.make_doc
