"""In-kernel random numbers with explicit per-stream state (xoroshiro128+).

Every neuron (and every shared input) owns one stream: two uint64 words in a row of a
``(n_streams, 2)`` array, seeded from :class:`numpy.random.SeedSequence` at build time.
A neuron's draws therefore depend only on its own stream, never on thread scheduling
(numba's built-in RNG is per thread, numba #3249). Normals use the Box-Muller transform
with the second variate cached per stream.

xoroshiro128+: Blackman & Vigna (2018), "Scrambled linear pseudorandom number generators".
"""
from __future__ import annotations

import math

import numba as nb
import numpy as np

from .._numba_config import NJIT

_S55 = np.uint64(55)
_S9 = np.uint64(9)
_S14 = np.uint64(14)
_S36 = np.uint64(36)
_S28 = np.uint64(28)
_S11 = np.uint64(11)
_INV53 = 1.0 / 9007199254740992.0  # 2**-53


@nb.njit(inline="always", **NJIT)
def next_u64(st, j):
    s0 = st[j, 0]
    s1 = st[j, 1]
    result = s0 + s1
    s1 ^= s0
    st[j, 0] = ((s0 << _S55) | (s0 >> _S9)) ^ s1 ^ (s1 << _S14)
    st[j, 1] = (s1 << _S36) | (s1 >> _S28)
    return result


@nb.njit(inline="always", **NJIT)
def uniform(st, j):
    """Uniform double in [0, 1)."""
    return np.float64(next_u64(st, j) >> _S11) * _INV53


@nb.njit(inline="always", **NJIT)
def normal(st, spare, has_spare, j):
    """Standard normal variate (Box-Muller, spare cached in ``spare[j]``)."""
    if has_spare[j]:
        has_spare[j] = 0
        return spare[j]
    u1 = uniform(st, j)
    u2 = uniform(st, j)
    r = math.sqrt(-2.0 * math.log(1.0 - u1))
    th = 6.283185307179586 * u2
    spare[j] = r * math.sin(th)
    has_spare[j] = 1
    return r * math.cos(th)


@nb.njit(inline="always", **NJIT)
def poisson_small(st, j, lam):
    """Poisson variate by inversion (intended for lam below ~30; capped at 10 lam + 100)."""
    if lam <= 0.0:
        return 0
    u = uniform(st, j)
    p = math.exp(-lam)
    s = p
    k = 0
    kmax = int(10.0 * lam) + 100
    while u > s and k < kmax:
        k += 1
        p *= lam / k
        s += p
    return k


def seed_streams(seed_seq: np.random.SeedSequence, n: int) -> np.ndarray:
    """``(n, 2)`` uint64 stream states drawn from a SeedSequence (never all zero)."""
    state = seed_seq.generate_state(2 * max(n, 1), dtype=np.uint64).reshape(-1, 2)[:n].copy()
    zero = (state[:, 0] == 0) & (state[:, 1] == 0)
    state[zero, 1] = np.uint64(0x9E3779B97F4A7C15)
    return state
