"""numba's on-disk cache of l5sim's functions follows every kernel source (l5sim._numba_config).

numba keeps a cached function while the file it is defined in is unchanged. A kernel inlines
helpers of other files (the random streams' accessors, a model's step), so an edit of such a
file left a stale kernel in the cache: with the streams' layout changed, the chunk loop read
them with the old layout and crashed. Here a copy of the package is edited between two
processes that share a cache directory: a function whose own file did not change must be
compiled again after another kernel file changed, and loaded from the cache when nothing did.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CODE = """
import json, sys
import numpy as np
from l5sim.kernels import delivery, rng
st = rng.seed_streams(np.random.SeedSequence(1), 16)
w, cnt, uu = np.ones(16), np.empty(16), np.empty(16)
delivery.poisson_counts(0.24, np.exp(-0.24), st[0], st[1], w, cnt, uu)
s = delivery.poisson_counts.stats
json.dump([delivery.__file__, s.cache_hits.total(), s.cache_misses.total(), cnt.tolist()], sys.stdout)
"""


def _run(pkg_root, cache):
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache), PYTHONPATH=str(pkg_root))
    env.pop("L5SIM_NUMBA_CACHE", None)
    out = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, check=True, cwd=pkg_root,
                         env=env).stdout
    return json.loads(out)


def test_a_kernel_compiles_anew_after_another_kernel_file_changed(tmp_path):
    pkg = tmp_path / "tree"
    shutil.copytree(ROOT / "l5sim", pkg / "l5sim", ignore=shutil.ignore_patterns("__pycache__"))
    cache = tmp_path / "cache"
    path, hits, misses, counts = _run(pkg, cache)
    assert path.startswith(str(pkg)), "the copy must be the package imported"
    assert misses >= 1 and hits == 0, "first process: compiled"
    again = _run(pkg, cache)
    assert again[1] >= 1 and again[2] == 0, f"nothing changed: loaded from the cache (hits, misses {again[1:3]})"
    # an edit of another kernel file (poisson_counts inlines rng's helpers, not vexp's; any
    # kernel file counts): delivery.py itself is unchanged, numba alone would load it
    with open(pkg / "l5sim" / "kernels" / "vexp.py", "a") as fh:
        fh.write("\n# edited\n")
    edited = _run(pkg, cache)
    assert edited[1] == 0 and edited[2] >= 1, f"after the edit: compiled anew (hits, misses {edited[1:3]})"
    assert edited[3] == counts == again[3]
