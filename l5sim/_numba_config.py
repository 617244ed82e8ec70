"""The one place that owns every Numba option used by l5sim kernels.

Kernels import ``NJIT`` / ``NJIT_PARALLEL`` from here and nothing else from the
package, so that caching and fastmath policy is decided in one place (the habit
of stumpy's ``config.py``).

Environment variables
---------------------
L5SIM_NUMBA_CACHE
    ``0`` turns the on-disk cache of compiled kernels off (useful while editing
    kernels, see numba issues #1833 and #9483 about stale caches). Default on.
L5SIM_NUMBA_FASTMATH
    ``0`` turns fastmath off entirely (and the cache with it). Default: only ``nsz``;
    never ``nnan``/``ninf`` (NaN and infinity checks must keep working, numba #2919), and
    no reassociation or contraction, so that serial and parallel kernels round alike.
"""
from __future__ import annotations

import os

_FASTMATH_ON = os.environ.get("L5SIM_NUMBA_FASTMATH", "1") != "0"
# numba's cache key does not include compiler flags: a non-default flag set must not load
# (or overwrite) kernels cached with the default one, so it turns the cache off.
CACHE = os.environ.get("L5SIM_NUMBA_CACHE", "1") != "0" and _FASTMATH_ON
# No reassociation or FMA contraction: the serial and parallel kernels must round alike
# (bitwise-identical results whatever the kernel or thread count); no nnan/ninf either.
FASTMATH = {"nsz"} if _FASTMATH_ON else False

NJIT = dict(nogil=True, cache=CACHE, fastmath=FASTMATH, error_model="numpy")
NJIT_PARALLEL = dict(NJIT, parallel=True)
