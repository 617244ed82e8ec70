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
(connectivity.py, builder.py, spec.py, this file, kernels/wiring.py,
kernels/rng.py). Changing anything else in the circuit (inputs, models, other
pathways) keeps the entry valid; changing any of those makes a new key, so a stale entry
is never read. Entries are written atomically; an entry that does not match what the
pathway needs (sizes, dtypes, index ranges) is ignored and redrawn.
"""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import zipfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from ._io import atomic_write
from .connectivity import Synapses

FORMAT = 1


@functools.lru_cache(maxsize=1)
def _code_hash() -> str:
    here = Path(__file__).parent
    h = hashlib.sha256()
    for name in ("connectivity.py", "builder.py", "spec.py", "wiring_cache.py", "kernels/wiring.py", "kernels/rng.py"):
        h.update((here / name).read_bytes())
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
    return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()


def load(directory, k: str, n_pre: int, n_post: int) -> Synapses | None:
    """The cached synapses under key ``k``, or None (absent, unreadable or inconsistent)."""
    path = Path(directory) / f"{k}.npz"
    try:
        with np.load(path, allow_pickle=False) as z:
            syn = Synapses(z["indptr"], z["post"], z["weight"], z["delay"])
    except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile):
        return None
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
                                     weight=syn.weight, delay=syn.delay))
