"""Numba kernels. They import only :mod:`l5sim._numba_config` and see only arrays and scalars.

numba's on-disk cache is keyed by the source file of each compiled function, so editing a
helper in another file (``rng.py``) would leave ``engine.py``'s cached kernel stale (numba
issues #1833, #9483). On import, a stamp of every kernel source and of the numba options is
compared with the one stored beside the cache; when they differ, the cached kernels of this
package are discarded and recompiled on first use.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path


def _refresh_stale_cache() -> None:
    here = Path(__file__).parent
    sources = sorted(here.glob("*.py")) + [here.parent / "_numba_config.py"]
    h = hashlib.sha256()
    for p in sources:
        try:
            h.update(p.read_bytes())
        except OSError:
            return
    h.update(repr(sorted((k, v) for k, v in os.environ.items() if k.startswith("L5SIM_NUMBA"))).encode())
    stamp = h.hexdigest()
    cache = here / "__pycache__"
    marker = cache / "l5sim_kernels.stamp"
    try:
        if marker.read_text() == stamp:
            return
    except OSError:
        pass
    try:
        cache.mkdir(exist_ok=True)
        for f in list(cache.glob("*.nbi")) + list(cache.glob("*.nbc")):
            f.unlink()
        marker.write_text(stamp)
    except OSError:
        pass  # read-only install: numba falls back to its own cache locator


_refresh_stale_cache()
