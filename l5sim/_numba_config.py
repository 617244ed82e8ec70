"""The one place that owns every Numba option used by l5sim kernels.

Kernels import ``NJIT`` / ``NJIT_PARALLEL`` from here and nothing else from the
package, so that caching and fastmath policy is decided in one place (the habit
of stumpy's ``config.py``).

Environment variables
---------------------
L5SIM_NUMBA_CACHE
    ``0`` turns the on-disk cache of compiled kernels off. Default on. A cached entry is
    used only while every kernel source is as it was when it was compiled
    (:func:`_install_sources_locator`; numba itself checks only the function's own file,
    numba issues #1833 and #9483).
L5SIM_NUMBA_FASTMATH
    ``0`` turns fastmath off entirely (and the cache with it). Default: only ``nsz``;
    never ``nnan``/``ninf`` (NaN and infinity checks must keep working, numba #2919), and
    no reassociation or contraction, so that serial and parallel kernels round alike.
"""
from __future__ import annotations

import hashlib
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


def _fast_flag_values() -> bool:
    """Make numba's ``TargetConfig.values()`` (the compiler flags as a dict) fast, with the
    same result (cold start, issue 18 item 5).

    numba caches the implementations of ``@overload`` functions under a key that holds the
    current compile's flags; each lookup hashes the flags and compares them with the key's,
    and both call ``values()``, which reads the 22 options one property at a time (7.4 us).
    The README's first command made 38k lookups and 152k ``values()`` calls: ~1 s of its
    cold start (cProfile: 3.0 of 34 s; CPython 3.11, numba 0.68). The replacement copies a
    dict of the class's defaults and updates it with the options set (0.65 us): equal to the
    original for every flag object, because each option's property reads
    ``_values.get(name, default)`` (numba's ``_MetaTargetConfig``). It is installed only if
    it gives the original's result on a test object; returns whether it was installed."""
    try:
        from numba.core.compiler import Flags
        from numba.core.targetconfig import TargetConfig
    except ImportError:  # pragma: no cover - numba internals moved
        return False
    original = TargetConfig.values
    if getattr(original, "_l5sim", False):
        return True
    defaults = {}

    def values(self):
        cls = type(self)
        base = defaults.get(cls)
        if base is None:
            base = defaults[cls] = {k: opt.default for k, opt in cls.options.items()}
        out = dict(base)
        own = self._values
        if own.keys() <= base.keys():
            out.update(own)
        else:                           # (copied from a config of another class: options only)
            out.update((k, v) for k, v in own.items() if k in base)
        return out

    values._l5sim = True
    probe = Flags()
    try:
        probe.nrt = True
        probe.error_model = "numpy"
        probe.fastmath = {"nsz"}
        same = values(probe) == original(probe) and values(Flags()) == original(Flags())
    except Exception:  # pragma: no cover - numba internals moved
        same = False
    if same:
        TargetConfig.values = values
    return same


_fast_flag_values()


def _package_sources_hash() -> str:
    """sha256 over the kernel sources (``l5sim/kernels/*.py`` and this file), by name and
    content: what every compiled kernel of the package may have inlined."""
    root = os.path.dirname(os.path.abspath(__file__))
    kdir = os.path.join(root, "kernels")
    h = hashlib.sha256()
    paths = [os.path.join(kdir, f) for f in sorted(os.listdir(kdir)) if f.endswith(".py")]
    for path in [os.path.abspath(__file__)] + paths:
        h.update(os.path.basename(path).encode() + b"\0")
        with open(path, "rb") as fh:
            h.update(hashlib.sha256(fh.read()).digest())
    return h.hexdigest()


def _install_sources_locator() -> bool:
    """Make numba's on-disk cache of l5sim's functions depend on every kernel source, not
    only on the function's own file. numba keeps a cached function while its own file is
    unchanged (it stamps the entry with that file's hash); a kernel that inlined a helper
    of another file (the random streams' accessors, a model's step) was then loaded with
    the helper's old code after that file changed: wrong results, or a crash where a
    layout changed. The locator put first here finds each l5sim function's place as
    numba's own would, and stamps it with that file's stamp and
    :func:`_package_sources_hash` (computed once per process), so that any kernel edit
    makes every cached l5sim function compile anew. Returns whether it was installed
    (numba internals move; a locator list chosen with ``NUMBA_CACHE_LOCATOR_CLASSES`` is
    left alone)."""
    try:
        from numba.core import caching
        base = caching._CacheLocator
        impl = getattr(caching, "CacheImpl", None) or caching._CacheImpl   # (numba >= 0.61: public)
        if not isinstance(impl._locator_classes, list):
            return False
    except (ImportError, AttributeError):  # pragma: no cover - numba internals moved
        return False
    root = os.path.dirname(os.path.abspath(__file__)) + os.sep
    stamp = []

    class SourcesLocator(base):
        def __init__(self, inner):
            self._inner = inner

        def ensure_cache_path(self):
            self._inner.ensure_cache_path()

        def get_cache_path(self):
            return self._inner.get_cache_path()

        def get_source_stamp(self):
            if not stamp:
                stamp.append(_package_sources_hash())
            return self._inner.get_source_stamp(), stamp[0]

        def get_disambiguator(self):
            return self._inner.get_disambiguator()

        @classmethod
        def from_function(cls, py_func, py_file):
            if not os.path.abspath(py_file).startswith(root):
                return None
            for other in impl._locator_classes:
                if other is not cls:
                    inner = other.from_function(py_func, py_file)
                    if inner is not None:
                        return cls(inner)
            return None

    if not any(c.__name__ == "SourcesLocator" for c in impl._locator_classes):
        impl._locator_classes.insert(0, SourcesLocator)
    return True


_install_sources_locator()


#: Options for a loop whose array arguments never share memory (the contract: every array
#: it writes is reached through one argument only, and overlaps no other argument it reads;
#: the caller passes distinct arrays or disjoint views). LLVM then needs no run-time
#: overlap checks and vectorises loops over many arrays (the L5 cell's update: 30 arrays,
#: whose ~400 pairwise checks it refuses). Bitwise the same results: vector lanes compute
#: what the scalar loop does, in the same order. Without the option (another numba) the
#: loops stay scalar, with the same results.
NOALIAS = {"noalias": True} if _noalias_option() else {}
