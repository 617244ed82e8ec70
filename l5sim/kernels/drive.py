"""The external Poisson drive of one block of neurons, drawn inside its population loop.

The per-target Poisson inputs (:func:`l5sim.kernels.delivery.poisson_inputs`: one count per
target neuron and step, from the target's own stream) of the populations whose loops run in
blocks (:data:`~l5sim.kernels.records.BLOCK_DRIVE_KINDS`: the L5 and the Izhikevich 2007
cells) are drawn here, by each block of the population loop just before it reads its ring
slot, instead of for every target at once before the loops. The draws, the ring entries and
their marks are those of the whole-population pass, target by target and in the same
order (a neuron's drive draws still come before its noise and burst draws), so the results
are bitwise the same; but a block's ring entries are written and read while they are in
the L1 cache, and the drive runs in the blocks' parallel loop.

Why: the 10k column's drive reaches ~20% of its targets each step. Written for all 10k
targets before the loops, a block's entries had left the L2 cache by the time its loop read
them (the L5 loop streams ~240 bytes of state per cell through it): perf put ~20% of the
arrival reads' samples on those loads.
"""
from __future__ import annotations

import math

import numba as nb
import numpy as np

from .._numba_config import INTERNAL, NJIT, NOALIAS
from .delivery import LINE_SHIFT, drawn_in_blocks, input_lam, mark_lines, poisson_counts
from .rng import POISSON_INVERSION_MAX, inversion_count, poisson_small


@nb.njit(**dict(NJIT, _nrt=False, **NOALIAS, **INTERNAL))
def block_drive(a, b, t, slot, dt, pin, kind, pop_of, rng, ring, dirty, cnt_row, uu_row, w0_row, w1_row):
    """The step-t events of every per-target Poisson input into the ring entries of
    neurons a..b-1 (as :func:`l5sim.kernels.delivery.poisson_inputs` computes them for an
    input's targets in a..b-1), their lines marked in ``dirty``. ``cnt_row``, ``uu_row``,
    ``w0_row`` and ``w1_row`` are free float64 scratch rows (N,): counts and uniforms of the
    block, and (as uint64) its streams' words. The inputs drawn here are
    those :func:`~l5sim.kernels.delivery.drawn_in_blocks` leaves to the block loops (inputs
    with one shared count stay in the whole-population pass: their draw is the input's).
    A function of its own, compiled ``noalias``: the L5 and the PV/SOM loops share it."""
    for k in range(pin.lo.shape[0]):
        if t < pin.t0[k] or t >= pin.t1[k] or not drawn_in_blocks(pin, k, kind, pop_of):
            continue
        plo = pin.lo[k]
        lo = max(a, plo)
        hi = min(b, pin.hi[k])
        if hi <= lo:
            continue
        lam = input_lam(pin, k, t, dt)
        emlam = math.exp(-lam)
        w0 = pin.w_ptr[k] + (lo - plo)
        r0 = pin.rec_ptr[k]
        r1 = pin.rec_ptr[k + 1]
        n = hi - lo
        if lam > 0.0 and lam < POISSON_INVERSION_MAX:
            w = pin.weight[w0:w0 + n]
            cnt = cnt_row[lo:hi]
            uu = uu_row[lo:hi]
            n_big = poisson_counts(lam, emlam, rng[lo:hi], w, cnt, uu, w0_row[lo:hi].view(np.uint64),
                                   w1_row[lo:hi].view(np.uint64))
            for q in range(n if n_big > 0 else 0):      # (counts of CDF_TERMS or more: rare)
                if cnt[q] < 0.0:
                    cnt[q] = inversion_count(uu[q], lam, emlam)
            for r in range(r0, r1):
                x = ring[slot, pin.rec_channel[r], lo:hi]
                sc = pin.rec_scale[r]
                for q in range(n):
                    x[q] += cnt[q] * w[q] * sc
                mark_lines(dirty[slot, pin.rec_channel[r]], lo, hi)
        else:
            for j in range(lo, hi):
                wj = pin.weight[w0 + j - lo]
                if wj == 0.0:
                    continue
                c = poisson_small(rng, j, lam, emlam)
                if c > 0:
                    for r in range(r0, r1):
                        ring[slot, pin.rec_channel[r], j] += c * wj * pin.rec_scale[r]
                        dirty[slot, pin.rec_channel[r], j >> LINE_SHIFT] = 1
