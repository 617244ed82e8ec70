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

# no_cfunc_wrapper: numba otherwise compiles, beside each kernel, a C-callable wrapper that
# nothing here uses (kernels are called from Python or from other kernels); for the chunk
# loop, whose records flatten to ~1000 scalar arguments, it cost ~1.5 s of a cold start.
NJIT = dict(nogil=True, cache=CACHE, fastmath=FASTMATH, error_model="numpy", no_cfunc_wrapper=True)
NJIT_PARALLEL = dict(NJIT, parallel=True)
#: For a kernel that only other kernels call: no Python-callable wrapper either (it unboxes
#: every argument; ~0.1-0.3 s of compile per loop that takes a record or many arrays).
INTERNAL = dict(no_cpython_wrapper=True)


def _noalias_option() -> bool:
    """Teach ``numba.njit`` a ``noalias`` option: numba's compiler has the flag (its parfor
    kernels set it: every array argument's data pointer is marked LLVM ``noalias``) but
    ``njit`` does not expose it. Returns whether it is available (numba internals move)."""
    try:
        from numba.core.compiler import Flags
        from numba.core.cpu import CPUTargetOptions
        from numba.core.options import TargetOptions
    except ImportError:  # pragma: no cover - a numba without these modules
        return False
    if not hasattr(Flags, "noalias"):  # pragma: no cover
        return False
    if not hasattr(CPUTargetOptions, "noalias"):
        CPUTargetOptions.noalias = TargetOptions.Mapping("noalias")
    return True


#: Options for a loop whose array arguments never share memory (the contract: every array
#: it writes is reached through one argument only, and overlaps no other argument it reads;
#: the caller passes distinct arrays or disjoint views). LLVM then needs no run-time
#: overlap checks and vectorises loops over many arrays (the L5 cell's update: 30 arrays,
#: whose ~400 pairwise checks it refuses). Bitwise the same results: vector lanes compute
#: what the scalar loop does, in the same order. Without the option (another numba) the
#: loops stay scalar, with the same results.
NOALIAS = {"noalias": True} if _noalias_option() else {}
