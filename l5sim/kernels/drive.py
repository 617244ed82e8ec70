"""The external Poisson drive of one block of neurons, drawn inside its population loop.

The per-target Poisson inputs (:func:`l5sim.kernels.delivery.poisson_inputs`: one count per
target neuron and step, from the target's own stream) of the populations whose loops run in
blocks (:data:`~l5sim.kernels.records.BLOCK_DRIVE_KINDS`: the L5 and the Izhikevich 2007
cells) are drawn here, by each block of the population loop just before it reads its
arrivals (``now``, :mod:`l5sim.kernels.events`), instead of for every target at once
before the loops. The draws, the entries of ``now`` and their marks are those of the
whole-population pass, target by target and in the same order (a neuron's drive draws
still come before its noise and burst draws), so the results are bitwise the same; but a
block's entries are written and read while they are in the L1 cache, and the drive runs in
the blocks' parallel loop.

Why: the 10k column's drive reaches ~20% of its targets each step. Written for all 10k
targets before the loops, a block's entries had left the L2 cache by the time its loop read
them (the L5 loop streams ~240 bytes of state per cell through it): perf put ~20% of the
arrival reads' samples on those loads.
"""
from __future__ import annotations

import math

import numba as nb

from .._numba_config import INTERNAL, NJIT, NOALIAS
from .delivery import drawn_in_blocks, input_lam, per_target_counts


@nb.njit(**dict(NJIT, _nrt=False, **NOALIAS, **INTERNAL))
def block_drive(a, b, t, dt, pin, kind, pop_of, rng, now, now_dirty, cnt_row, uu_row):
    """The step-t events of every per-target Poisson input into the step's arrivals
    ``now`` of neurons a..b-1 (as :func:`l5sim.kernels.delivery.poisson_inputs` computes
    them for an input's targets in a..b-1), their lines marked in ``now_dirty``. ``cnt_row`` and
    ``uu_row`` are free float64 scratch rows (N,): counts and uniforms of the block. The inputs
    drawn here are
    those :func:`~l5sim.kernels.delivery.drawn_in_blocks` leaves to the block loops (inputs
    with one shared count stay in the whole-population pass: their draw is the input's).
    A function of its own, compiled ``noalias``: the L5 and the PV/SOM loops share it."""
    for k in range(pin.lo.shape[0]):
        if t < pin.t0[k] or t >= pin.t1[k] or not drawn_in_blocks(pin, k, kind, pop_of):
            continue
        lo = max(a, pin.lo[k])
        hi = min(b, pin.hi[k])
        if hi <= lo:
            continue
        lam = input_lam(pin, k, t, dt)
        per_target_counts(k, lo, hi, lam, math.exp(-lam), pin, rng, now, now_dirty, cnt_row, uu_row)
