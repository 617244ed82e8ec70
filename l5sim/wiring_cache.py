"""An on-disk cache of drawn synapses: drawing the wiring can be the slow part of building a
large circuit (the dense rules evaluate every pre x post pair; the sparse ``fixed_prob`` and
``gaussian_prob`` rules draw 10 million synapses in about 0.05 s, less than reading them
back), and it is the same every time a circuit is built with the same seed.

Opt-in: ``l5sim.build(spec, seed, wiring_cache=DIR)``, ``l5sim run --wiring-cache DIR`` or the
environment variable ``L5SIM_WIRING_CACHE=DIR``. One file per pathway,
``DIR/<key>.npz`` (NumPy arrays only, read with ``allow_pickle=False``), where the key is a
SHA-256 of everything the pathway's synapses depend on: the pathway's own specification,
the sizes of its two populations, the circuit's space, the pathway name, the seed, the
l5sim version and the source of the code that defines and draws synapses
(connectivity.py, builder.py, the modules of spec/, this file, kernels/wiring.py,
kernels/rng.py). Changing anything else in the circuit (inputs, models, other
pathways) keeps the entry valid; changing any of those makes a new key, so a stale entry
is never read. Entries are written atomically; an entry that does not match what the
pathway needs (sizes, dtypes, index ranges), whose checksum does not match its arrays, or
whose weights are not finite or lie outside what the pathway's rule can draw (a file edited
or corrupted on disk, e.g. weights set to 1e30) is ignored, with a warning, and redrawn.
"""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import math
import warnings
import zipfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from ._io import atomic_write
from .connectivity import Synapses

FORMAT = 2   # 2: entries carry a checksum of their arrays

#: Weight range each key's pathway can draw (filled by :func:`key`, read by :func:`load`).
_RANGES: dict = {}


@functools.lru_cache(maxsize=1)
def _code_hash() -> str:
    here = Path(__file__).parent
    h = hashlib.sha256()
    files = [here / "connectivity.py", here / "builder.py", *sorted((here / "spec").glob("*.py")),
             here / "wiring_cache.py", here / "kernels" / "wiring.py", here / "kernels" / "rng.py"]
    for path in files:
        h.update(path.read_bytes())
    return h.hexdigest()


def _plain(x):
    """A (frozen, nested) spec dataclass as JSON-able data, defaults included."""
    if dataclasses.is_dataclass(x):
        return {f.name: _plain(getattr(x, f.name)) for f in dataclasses.fields(x)}
    if isinstance(x, Mapping):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    return x


def key(pathway, n_pre: int, n_post: int, space, name: str, seed: int, version: str) -> str:
    """The cache key of one pathway's synapses (a hex SHA-256); ``pathway`` and ``space`` are
    the spec's dataclasses."""
    doc = {"format": FORMAT, "code": _code_hash(), "version": version, "pathway": _plain(pathway), "name": name,
           "n_pre": int(n_pre), "n_post": int(n_post), "space": _plain(space), "seed": int(seed)}
    k = hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()
    _RANGES[k] = (weight_range(pathway.connectivity), int(pathway.delay_steps))
    return k


def weight_range(conn) -> tuple[float, float]:
    """The closed range of weights that connectivity ``conn`` draws (l5sim.connectivity):
    the Gaussian kernel's [0, A / (sigma sqrt(2 pi))], the uniform [weight_low, weight_high),
    or the fixed ``weight``."""
    if conn.rule == "gaussian_weight":
        peak = conn.A / (conn.sigma * math.sqrt(2 * math.pi))
        return (min(0.0, peak), max(0.0, peak))
    if conn.weight_high > conn.weight_low:
        return (conn.weight_low, conn.weight_high)
    return (conn.weight, conn.weight)


def _checksum(k: str, indptr, post, weight, delay) -> np.ndarray:
    h = hashlib.sha256(k.encode())
    for a in (indptr, post, weight, delay):
        h.update(np.ascontiguousarray(a).tobytes())
    return np.frombuffer(h.digest(), np.uint8).copy()


def _reject(path, why):
    warnings.warn(f"wiring cache entry {path} ignored and redrawn: {why}", stacklevel=3)
    return None


def load(directory, k: str, n_pre: int, n_post: int) -> Synapses | None:
    """The cached synapses under key ``k``, or None (absent, unreadable or inconsistent)."""
    path = Path(directory) / f"{k}.npz"
    try:
        with np.load(path, allow_pickle=False) as z:
            syn = Synapses(z["indptr"], z["post"], z["weight"], z["delay"])
            stored_sum = z["checksum"]
    except FileNotFoundError:
        return None
    except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile) as e:
        return _reject(path, f"unreadable ({type(e).__name__})")
    try:
        if not np.array_equal(stored_sum, _checksum(k, syn.indptr, syn.post, syn.weight, syn.delay)):
            return _reject(path, "its checksum does not match its arrays (edited or corrupted)")
    except (ValueError, TypeError):
        return _reject(path, "malformed arrays")
    if syn.weight.size and not bool(np.all(np.isfinite(syn.weight))):
        return _reject(path, "non-finite weights")
    if k in _RANGES and syn.weight.size:
        (lo, hi), d0 = _RANGES[k]
        tol = 1e-6 * max(abs(lo), abs(hi), 1.0)     # float32 rounding of the drawn weights
        if float(syn.weight.min()) < lo - tol or float(syn.weight.max()) > hi + tol:
            return _reject(path, f"weights in [{float(syn.weight.min()):.4g}, {float(syn.weight.max()):.4g}], "
                                 f"outside the pathway's range [{lo:.4g}, {hi:.4g}]")
        if syn.delay.dtype == np.uint16 and int(syn.delay.min()) < d0:
            return _reject(path, f"delays below the pathway's delay_steps ({d0})")
    ok = (syn.indptr.dtype == np.int64 and syn.indptr.shape == (n_pre + 1,) and syn.post.dtype == np.int32
          and syn.weight.dtype == np.float32 and syn.delay.dtype == np.uint16
          and syn.post.shape == syn.weight.shape == syn.delay.shape
          and syn.indptr[0] == 0 and syn.indptr[-1] == syn.post.shape[0]
          and bool(np.all(np.diff(syn.indptr) >= 0))
          and (syn.post.size == 0 or (int(syn.post.min()) >= 0 and int(syn.post.max()) < n_post)))
    return syn if ok else None


def store(directory, k: str, syn: Synapses) -> None:
    """Write one pathway's synapses under key ``k`` (atomically; uncompressed, for speed)."""
    atomic_write(Path(directory) / f"{k}.npz",
                 lambda fh: np.savez(fh, indptr=np.asarray(syn.indptr, np.int64), post=syn.post,
                                     weight=syn.weight, delay=syn.delay,
                                     checksum=_checksum(k, np.asarray(syn.indptr, np.int64), syn.post,
                                                        syn.weight, syn.delay)))
