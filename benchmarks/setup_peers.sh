#!/usr/bin/env bash
# Recreate the peer-simulator environments used by `python -m benchmarks`.
#
# Each peer lives in its own virtual environment, kept out of the core venv
# (.venv) because Brian2 2.9 needs numpy < 2.4 while l5sim's core env uses
# numpy 2.4.  Both directories are git-ignored (.venv-*/).
#
#   bash benchmarks/setup_peers.sh            # create or update both
#   bash benchmarks/setup_peers.sh --fresh    # delete and recreate both
#   PYTHON=python3.11 bash benchmarks/setup_peers.sh brian2   # only one peer
#
# Idempotent: running it again only re-checks that the pinned versions import.
# Needs: a Python 3.11 interpreter with venv, and a C++ compiler (g++) for
# Brian2's cython runtime target and cpp_standalone device.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3.11}"
BRIAN2_VERSION="${BRIAN2_VERSION:-2.9.0}"
NEST_VERSION="${NEST_VERSION:-3.10.0}"

fresh=0
peers=()
for arg in "$@"; do
    case "$arg" in
        --fresh) fresh=1 ;;
        brian2|nest) peers+=("$arg") ;;
        -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
        *) echo "setup_peers.sh: unknown argument '$arg' (expected --fresh, brian2 or nest)" >&2; exit 2 ;;
    esac
done
[ ${#peers[@]} -eq 0 ] && peers=(brian2 nest)

if ! command -v "$PYTHON" >/dev/null 2>&1; then
    echo "setup_peers.sh: interpreter '$PYTHON' not found; set PYTHON=/path/to/python3.11" >&2
    exit 1
fi
if ! command -v g++ >/dev/null 2>&1; then
    echo "setup_peers.sh: warning: no g++; Brian2's cython and cpp_standalone targets need one" >&2
    echo "                (Debian: apt-get update && apt-get install -y g++)" >&2
fi

make_venv() {  # make_venv DIR
    local dir="$1"
    if [ "$fresh" = 1 ] && [ -d "$dir" ]; then
        rm -rf "$dir"
    fi
    if [ ! -x "$dir/bin/python" ]; then
        "$PYTHON" -m venv "$dir"
    fi
}

for peer in "${peers[@]}"; do
    case "$peer" in
    brian2)
        dir="$ROOT/.venv-brian2"
        make_venv "$dir"
        # brian2 2.9 is not compatible with numpy 2.4 (its cython/weave
        # code paths use APIs removed there): pin numpy < 2.4.
        "$dir/bin/pip" install -q "numpy<2.4" "brian2==${BRIAN2_VERSION}" setuptools cython
        "$dir/bin/python" -c "import brian2, numpy; print('brian2', brian2.__version__, 'numpy', numpy.__version__)"
        ;;
    nest)
        dir="$ROOT/.venv-nest"
        make_venv "$dir"
        # The PyPI wheel bundles the NEST kernel (no system libraries needed on Debian 12).
        "$dir/bin/pip" install -q "nest-simulator==${NEST_VERSION}"
        "$dir/bin/python" -c "import nest; print('nest', nest.__version__)" 2>/dev/null | tail -1
        ;;
    esac
done
