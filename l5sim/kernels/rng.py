"""In-kernel random numbers with explicit per-stream state (xoroshiro128+).

Every neuron (and every shared input) owns one stream: two uint64 words in column j of a
``(2, n_streams)`` array (row 0 the first words, row 1 the second: a vector loop over
consecutive streams reads both rows contiguously), seeded from
:class:`numpy.random.SeedSequence` at build time.
A neuron's draws therefore depend only on its own stream, never on thread scheduling
(numba's built-in RNG is per thread, numba #3249). Normals use the ziggurat method
(Marsaglia & Tsang 2000).

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
def xoroshiro_step(s0, s1):
    """One xoroshiro128+ step on the state words (s0, s1): (output, new s0, new s1)."""
    result = s0 + s1
    s1 ^= s0
    return result, ((s0 << _S55) | (s0 >> _S9)) ^ s1 ^ (s1 << _S14), (s1 << _S36) | (s1 >> _S28)


@nb.njit(inline="always", **NJIT)
def next_u64(st, j):
    """The next output of stream j (column j of ``st``), advancing it."""
    result, st[0, j], st[1, j] = xoroshiro_step(st[0, j], st[1, j])
    return result


@nb.njit(inline="always", **NJIT)
def to_unit(x):
    """A 64-bit draw as a uniform double in [0, 1) (its upper 53 bits)."""
    return np.float64(x >> _S11) * _INV53


@nb.njit(inline="always", **NJIT)
def uniform(st, j):
    """Uniform double in [0, 1) (as :func:`to_unit`, written out so that the Python
    function of this one runs on Python integers too: tests/test_engine.py)."""
    return np.float64(next_u64(st, j) >> _S11) * _INV53


def _ziggurat_tables():
    """Tables of the 128-layer ziggurat for the standard normal (Marsaglia & Tsang 2000,
    J Stat Softw 5(8), function ``zigset``), with 2^31 integer scaling."""
    m1 = 2147483648.0
    dn = 3.442619855899
    tn = dn
    vn = 9.91256303526217e-3
    kn = np.zeros(128, np.int64)
    wn = np.zeros(128)
    fn = np.zeros(128)
    q = vn / math.exp(-0.5 * dn * dn)
    kn[0] = int((dn / q) * m1)
    kn[1] = 0
    wn[0] = q / m1
    wn[127] = dn / m1
    fn[0] = 1.0
    fn[127] = math.exp(-0.5 * dn * dn)
    for i in range(126, 0, -1):
        dn = math.sqrt(-2.0 * math.log(vn / dn + math.exp(-0.5 * dn * dn)))
        kn[i + 1] = int((dn / tn) * m1)
        tn = dn
        fn[i] = math.exp(-0.5 * dn * dn)
        wn[i] = dn / m1
    for a in (kn, wn, fn):
        a.setflags(write=False)
    return kn, wn, fn


ZIG_K, ZIG_W, ZIG_F = _ziggurat_tables()  # read-only constants
_ZIG_R = 3.442619855899
_S32 = np.uint64(32)


@nb.njit(inline="always", **NJIT)
def _int32(st, j):
    """A signed 32-bit integer from the upper half of the next 64-bit output."""
    x = np.int64(next_u64(st, j) >> _S32)
    return x - 4294967296 if x >= 2147483648 else x


@nb.njit(**NJIT)
def normal_tail(st, j, hz, iz, zk, zw, zf):
    """The ziggurat's rare branches (wedges and tail), a few per cent of draws.

    Written with one exit (a flag, no ``return`` inside the loops): with returns inside
    ``while True`` loops, numba's inlined code ran 14 times slower on the common path."""
    x = 0.0
    done = False
    while not done:
        x = hz * zw[iz]
        if iz == 0:
            while True:
                x = -math.log(1.0 - uniform(st, j)) / _ZIG_R
                y = -math.log(1.0 - uniform(st, j))
                if y + y >= x * x:
                    break
            x = _ZIG_R + x if hz > 0 else -_ZIG_R - x
            done = True
        elif zf[iz] + uniform(st, j) * (zf[iz - 1] - zf[iz]) < math.exp(-0.5 * x * x):
            done = True
        else:
            hz = _int32(st, j)
            iz = hz & 127
            if abs(hz) < zk[iz]:
                x = hz * zw[iz]
                done = True
    return x


@nb.njit(inline="always", **NJIT)
def normal(st, zk, zw, zf, j):
    """Standard normal variate by the ziggurat method (Marsaglia & Tsang 2000): one 64-bit
    draw and a table lookup for most variates. ``zk, zw, zf`` are :data:`ZIG_K`,
    :data:`ZIG_W`, :data:`ZIG_F`, passed as arguments (numba reads global arrays slowly)."""
    hz = _int32(st, j)
    iz = hz & 127
    if abs(hz) < zk[iz]:
        return hz * zw[iz]
    return normal_tail(st, j, hz, iz, zk, zw, zf)


#: Means below this are drawn by inversion, at and above it by transformed rejection
#: (PTRS, valid for lam >= 10: Hormann 1993). Every bundled circuit draws lam <= 0.24 per
#: step, so its draws (and recordings) are those of the inversion branch alone.
POISSON_INVERSION_MAX = 10.0


@nb.njit(inline="always", **NJIT)
def _poisson_inversion(st, j, lam, emlam):
    """Inversion of the cumulative distribution, summed from k = 0 (one uniform; about
    lam + 1 multiplications). The cap 10 lam + 100 only guards against a cumulative sum
    that rounds to just below ``u`` (probability ~1e-16); for lam < 10 the capped tail,
    P(k > 200), is below 1e-150."""
    return inversion_count(uniform(st, j), lam, emlam if emlam >= 0.0 else math.exp(-lam))


@nb.njit(inline="always", **NJIT)
def inversion_count(u, lam, emlam):
    """The Poisson(lam) count of the uniform ``u`` by inversion (``emlam`` = exp(-lam)):
    the first k whose cumulative probability reaches u."""
    p = emlam
    s = p
    k = 0
    kmax = int(10.0 * lam) + 100
    while u > s and k < kmax:
        k += 1
        p *= lam / k
        s += p
    return k


@nb.njit(**NJIT)
def _poisson_ptrs(st, j, lam):
    """Transformed rejection with squeeze (PTRS) of Hormann (1993), "The transformed
    rejection method for generating Poisson random variables", Insurance: Mathematics and
    Economics 12:39-45, for lam >= 10: a hat of the form (2 a / (0.5 - |U|) + b) U + lam,
    accepted outright in the squeeze (about 86 % of draws at lam = 10), otherwise by the
    exact log-density ratio; about 1.1 pairs of uniforms per variate at any lam, so the
    cost does not grow with the mean. Constants are those of the paper (its Table 1).
    One exit (a flag) for the reason given in :func:`normal_tail`."""
    slam = math.sqrt(lam)
    loglam = math.log(lam)
    b = 0.931 + 2.53 * slam
    a = -0.059 + 0.02483 * b
    inv_alpha = 1.1239 + 1.1328 / (b - 3.4)
    v_r = 0.9277 - 3.6224 / (b - 2.0)
    k = 0.0
    done = False
    while not done:
        u = uniform(st, j) - 0.5
        v = uniform(st, j)
        us = 0.5 - abs(u)
        k = math.floor((2.0 * a / us + b) * u + lam + 0.43)
        if us >= 0.07 and v <= v_r:
            done = True
        elif k < 0.0 or (us < 0.013 and v > us):
            continue
        elif (math.log(v) + math.log(inv_alpha) - math.log(a / (us * us) + b)
              <= -lam + k * loglam - math.lgamma(k + 1.0)):
            done = True
    return np.int64(k)


@nb.njit(inline="always", **NJIT)
def poisson(st, j, lam, emlam=-1.0):
    """Poisson variate of mean ``lam`` (exact at every mean): inversion below
    :data:`POISSON_INVERSION_MAX`, Hormann's PTRS from there on (tests/test_rng.py checks
    both against scipy's distribution from 1e-4 to 1e6). ``emlam`` = exp(-lam) when the
    caller has it (one exp per input and step, not per draw); only inversion uses it."""
    if lam <= 0.0:
        return 0
    if lam < POISSON_INVERSION_MAX:
        return _poisson_inversion(st, j, lam, emlam)
    return _poisson_ptrs(st, j, lam)


#: The name the kernels used for the sampler while it served only small means; the same
#: function as :func:`poisson` (exact at every mean).
poisson_small = poisson


def seed_streams(seed_seq: np.random.SeedSequence, n: int) -> np.ndarray:
    """``(2, n)`` uint64 stream states drawn from a SeedSequence (never all zero): stream j
    takes the SeedSequence's words 2 j and 2 j + 1 as its first and second word."""
    state = seed_seq.generate_state(2 * max(n, 1), dtype=np.uint64).reshape(-1, 2)[:n].copy()
    zero = (state[:, 0] == 0) & (state[:, 1] == 0)
    state[zero, 1] = np.uint64(0x9E3779B97F4A7C15)
    return np.ascontiguousarray(state.T)
