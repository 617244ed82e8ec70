"""Compiled draws for wiring sparse pathways (used by :mod:`l5sim.connectivity`).

A pathway with independent Bernoulli(q) connections (``fixed_prob``, and the candidates of
``gaussian_prob``) is drawn row by row as NEST and Brian2 do it in spirit, but exactly and
in O(synapses): the number of synapses of presynaptic neuron r is Binomial(n_r, q) (drawn
by the caller with NumPy), and, given that number k, the set of targets of a Bernoulli
process is a uniformly random k-subset of the n_r candidates (the trials are exchangeable).
:func:`bernoulli_rows` draws that subset by rejection into a bitmap (distinct positions;
the complement when k > n_r / 2, so that rejections stay below one half) and reads the
bitmap back in increasing order: no sort, no over-draw, one int32 per synapse written.

Random numbers come from one xoroshiro128+ stream per call (:mod:`l5sim.kernels.rng`),
seeded by the caller from the pathway's NumPy generator, so a seed fixes the wiring.
Bounded integers use Lemire's multiply-and-reject method (Lemire 2019, "Fast random integer
generation in an interval", ACM TOMACS 29(1), algorithm 5), which is exactly uniform.
"""
from __future__ import annotations

import numba as nb
import numpy as np
from numba.cpython.unsafe.numbers import trailing_zeros

from .._numba_config import NJIT
from .rng import next_u64, uniform

_S32 = np.uint64(32)
_S6 = np.uint64(6)
_M32 = np.uint64(0xFFFFFFFF)
_M6 = np.uint64(63)
_ONE = np.uint64(1)
_ZERO = np.uint64(0)
_TWO32 = np.uint64(1) << np.uint64(32)


@nb.njit(inline="always", **NJIT)
def _bounded(st, n):
    """Uniform integer in [0, n) for 0 < n < 2**32 (Lemire 2019, algorithm 5, 32-bit)."""
    m = (next_u64(st, 0) >> _S32) * n
    low = m & _M32
    if low < n:
        t = (_TWO32 - n) % n
        while low < t:
            m = (next_u64(st, 0) >> _S32) * n
            low = m & _M32
    return m >> _S32


@nb.njit(**NJIT)
def bernoulli_rows(state, counts, n_avail, skip_self_rows, indptr, post):
    """Write, for every row r, ``counts[r]`` distinct positions out of ``0 .. n_avail[r] - 1``,
    uniformly at random and in increasing order, into ``post[indptr[r]:indptr[r + 1]]``.

    In rows ``r < skip_self_rows`` position p stands for target ``p + (p >= r)`` (the neuron
    itself is not a candidate: no autapses), which keeps the order. ``state`` is a (2, 1)
    uint64 xoroshiro128+ state (one stream), advanced in place. Requires n_avail < 2**31,
    0 <= counts <= n_avail and ``indptr[r + 1] - indptr[r] == counts[r]``.
    """
    n_rows = counts.shape[0]
    n_max = 0
    for r in range(n_rows):
        n_max = max(n_max, n_avail[r])
    bits = np.zeros((n_max + 63) // 64, np.uint64)
    for r in range(n_rows):
        k = counts[r]
        n = n_avail[r]
        if k == 0:
            continue
        comp = 2 * k > n
        m = n - k if comp else k
        nu = np.uint64(n)
        picked = 0
        while picked < m:
            j = _bounded(state, nu)
            w = j >> _S6
            b = _ONE << (j & _M6)
            if bits[w] & b == _ZERO:
                bits[w] |= b
                picked += 1
        o = indptr[r]
        shift = r < skip_self_rows
        nw = (n + 63) // 64
        tail = n & 63
        for w in range(nw):
            x = bits[w]
            bits[w] = _ZERO
            if comp:
                x = ~x
                if w == nw - 1 and tail:
                    x &= (_ONE << np.uint64(tail)) - _ONE
            base = w * 64
            while x != _ZERO:
                p = base + np.int64(trailing_zeros(x))
                if shift and p >= r:
                    p += 1
                post[o] = p
                o += 1
                x &= x - _ONE


@nb.njit(**NJIT)
def uniform_fill(state, low, high, out):
    """``out[i] = low + (high - low) * U_i`` with U_i uniform in [0, 1), rounded to out's type."""
    span = high - low
    for i in range(out.shape[0]):
        out[i] = low + span * uniform(state, 0)

