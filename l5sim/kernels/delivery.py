"""Spike delivery into the pending arrivals, and the external Poisson inputs.

A spike of neuron i at step t sends w x scale to each of its targets' receptor channels,
to arrive at step t + delay: delivery appends it to the event list of that slot of the
delay ring and of the target's tile (:mod:`l5sim.kernels.events`). Delivery runs by
blocks of postsynaptic neurons (``Synapses.blocks``, whole tiles): blocks are disjoint, so
they may run in parallel, and each target still receives its inputs in spike order
(bitwise the same for any thread count). The Poisson inputs add their events of step t
into the step's arrivals ``now`` directly.
"""
from __future__ import annotations

import math

import numba as nb
from numba import prange

from .._numba_config import INTERNAL, NJIT, NOALIAS
from .events import push
from .memory import prefetch
from .records import BLOCK_DRIVE_KINDS, LINE_SHIFT
from .rng import POISSON_INVERSION_MAX, inversion_count, poisson_small, to_unit, xoroshiro_step


@nb.njit(inline="always", **NJIT)
def mark_lines(dv, lo, hi):
    """Mark the lines of targets lo..hi-1 (hi > lo) in a slot's dirty row ``dv`` (through a
    view from 0: LLVM then sees plain stores, not indices numba must wrap if negative)."""
    d = dv[lo >> LINE_SHIFT:((hi - 1) >> LINE_SHIFT) + 1]
    for j in range(d.shape[0]):
        d[j] = 1


@nb.njit(inline="always", **NJIT)
def lower_bound(a, lo, hi, x):
    """First index k in [lo, hi) with a[k] >= x (a sorted there), else hi."""
    while lo < hi:
        mid = (lo + hi) >> 1
        if a[mid] < x:
            lo = mid + 1
        else:
            hi = mid
    return lo


@nb.njit(inline="always", **NJIT)
def prefetch_row(i, neuron_pop, pop_path_ptr, pop_paths, path_row0, path_pre0, path_dense, path_dly, row_ptr,
                 post, wsyn, dly):
    """Start loading the sparse rows of neuron i (targets, weights, per-synapse delays):
    called for the next spike while the current one is delivered (:mod:`.memory`)."""
    pq = neuron_pop[i]
    for q in range(pop_path_ptr[pq], pop_path_ptr[pq + 1]):
        pw = pop_paths[q]
        if path_dense[pw]:
            continue
        row = path_row0[pw] + (i - path_pre0[pw])
        s0 = row_ptr[row]
        s1 = row_ptr[row + 1]
        for s in range(s0, s1, 16):        # 64-byte lines of int32 / float32
            prefetch(post, s)
            prefetch(wsyn, s)
        if path_dly[pw] < 0:
            for s in range(s0, s1, 32):    # of uint16
                prefetch(dly, s)


def deliver(fired, f0, nf, slot, neuron_pop, sy, ss):
    """Append the spikes ``fired[f0:nf]`` of this step to the event lists of the slots
    they reach (``ss``: the synapse state; :mod:`l5sim.kernels.events`; the loop sees only
    arrays, as in :func:`l5sim.kernels.izh2003.integrate`)."""
    deliver_loop(fired, f0, nf, slot, neuron_pop, sy.row_ptr, sy.post, sy.weight, sy.delay, sy.path_row0,
                 sy.path_pre0, sy.pop_path_ptr, sy.pop_paths, sy.path_delay, sy.path_dense, sy.path_rec_ptr,
                 sy.path_rec_channel, sy.path_rec_scale, sy.blocks, ss.path_gain, ss.events_off, ss.events_code,
                 ss.events_value, ss.events_count, ss.spilled, ss.ring, ss.ring_dirty)


# INTERNAL: only the delivery loops call it (its Python-callable wrapper was 71 kB of LLVM IR)
@nb.njit(**NJIT, **INTERNAL)
def deliver_range(jlo, jhi, split, fired, f0, nf, slot, neuron_pop, row_ptr, post, wsyn, dly, path_row0, path_pre0,
                  pop_path_ptr, pop_paths, path_dly, path_dense, path_rec_ptr, path_rec_ch, path_rec_scale,
                  path_gain, off, codes, values, count, spilled, ring, dirty):
    """The spikes ``fired[f0:nf]`` delivered to the targets jlo..jhi-1 (``split``: rows cut
    to that range by binary search; else every target of a row), each arrival appended to
    the list of its slot and target tile (:func:`l5sim.kernels.events.push`) in the order
    spike, pathway, receptor, synapse. A function of its own, not inlined:
    :func:`deliver_loop` calls it from its serial and its parallel path, which then share
    one compiled copy (inlined twice, it cost ~0.9 s more of a cold start)."""
    D = ring.shape[0]
    direct = codes.shape[1] == 0    # no lists (every tile dense: events.capacities): into the ring as it is
    for f in range(f0, nf):
        i = fired[f]
        pq = neuron_pop[i]
        if f + 1 < nf:
            prefetch_row(fired[f + 1], neuron_pop, pop_path_ptr, pop_paths, path_row0, path_pre0,
                         path_dense, path_dly, row_ptr, post, wsyn, dly)
        for q in range(pop_path_ptr[pq], pop_path_ptr[pq + 1]):
            pw = pop_paths[q]
            row = path_row0[pw] + (i - path_pre0[pw])
            s0 = row_ptr[row]
            s1 = row_ptr[row + 1]
            if split:
                if s1 == s0 or post[s0] >= jhi or post[s1 - 1] < jlo:
                    continue                # no target in the block
                s0 = lower_bound(post, s0, s1, jlo)
                s1 = lower_bound(post, s0, s1, jhi)
            gain = path_gain[pw]
            dconst = path_dly[pw]
            for r in range(path_rec_ptr[pw], path_rec_ptr[pw + 1]):
                chr_ = path_rec_ch[r]
                scale = path_rec_scale[r] * gain
                if dconst >= 0:
                    # one delay for the whole pathway: one list per tile
                    sl = slot + dconst
                    if sl >= D:
                        sl -= D
                    if not direct:
                        for s in range(s0, s1):
                            push(sl, post[s], chr_, wsyn[s] * scale, off, codes, values, count, spilled, ring,
                                 dirty)
                    elif path_dense[pw] and s1 > s0:
                        # every row holds all targets in order: contiguous, vectorisable
                        rv = ring[sl, chr_]
                        base = post[s0] - s0
                        for s in range(s0, s1):
                            rv[base + s] += wsyn[s] * scale
                        mark_lines(dirty[sl, chr_], post[s0], post[s1 - 1] + 1)
                    else:
                        rv = ring[sl, chr_]
                        dv = dirty[sl, chr_]
                        for s in range(s0, s1):
                            j = post[s]
                            rv[j] += wsyn[s] * scale
                            dv[j >> LINE_SHIFT] = 1
                elif direct:
                    for s in range(s0, s1):
                        sl = slot + dly[s]
                        if sl >= D:
                            sl -= D
                        j = post[s]
                        ring[sl, chr_, j] += wsyn[s] * scale
                        dirty[sl, chr_, j >> LINE_SHIFT] = 1
                else:
                    for s in range(s0, s1):
                        sl = slot + dly[s]   # slot + delay < 2 D: no integer division
                        if sl >= D:
                            sl -= D
                        push(sl, post[s], chr_, wsyn[s] * scale, off, codes, values, count, spilled, ring,
                             dirty)


#: Spikes in a step below which the parallel kernel delivers them on one thread: a parallel
#: region costs about 8 us here (records.PARALLEL_MIN_BLOCKS), the delivery of a spike to
#: ~60 targets well under a microsecond.
PARALLEL_MIN_SPIKES = 32


def deliver_loop(fired, f0, nf, slot, neuron_pop, row_ptr, post, wsyn, dly, path_row0, path_pre0, pop_path_ptr,
                 pop_paths, path_dly, path_dense, path_rec_ptr, path_rec_ch, path_rec_scale, blk, path_gain, off,
                 codes, values, count, spilled, ring, dirty):
    """The loop of :func:`deliver`, by blocks of target neurons (whole tiles of the event
    lists: l5sim.simulation) when the step has :data:`PARALLEL_MIN_SPIKES` spikes or more,
    else in one pass over all targets (every target receives its inputs in spike order
    either way: the same results)."""
    n_blk = blk.shape[0] - 1
    split = not (n_blk == 1 or nf - f0 < PARALLEL_MIN_SPIKES)   # (a run-time bool: one compiled copy)
    if not split:
        deliver_range(blk[0], blk[n_blk], split, fired, f0, nf, slot, neuron_pop, row_ptr, post, wsyn, dly, path_row0,
                      path_pre0, pop_path_ptr, pop_paths, path_dly, path_dense, path_rec_ptr, path_rec_ch,
                      path_rec_scale, path_gain, off, codes, values, count, spilled, ring, dirty)
    else:
        for b in prange(n_blk):
            deliver_range(blk[b], blk[b + 1], split, fired, f0, nf, slot, neuron_pop, row_ptr, post, wsyn, dly,
                          path_row0, path_pre0, pop_path_ptr, pop_paths, path_dly, path_dense, path_rec_ptr,
                          path_rec_ch, path_rec_scale, path_gain, off, codes, values, count, spilled, ring, dirty)


#: Terms of the Poisson CDF that the per-target draws compare a uniform with at once; a
#: count of K or more finishes in the scalar inversion, with the same result. At the
#: bundled circuits' means (lam <= 0.24 per step) that is below 3e-7 of the draws; 6 terms
#: instead of 12 cut the 10k column's drive from 27.6 to 22.7 us per step.
CDF_TERMS = 6


@nb.njit(**dict(NJIT, **NOALIAS))
def poisson_counts(lam, emlam, w0, w1, w, cnt, uu):
    """The Poisson counts of one input's targets (their streams' words ``w0``, ``w1``: the
    targets' part of the two rows of the streams, :mod:`l5sim.kernels.rng`; weights ``w``)
    into ``cnt``, written to vectorise: each target with a nonzero weight draws one uniform from
    its stream (the others' streams stay as they were, a select), and its count is the
    number of CDF terms s_0 .. s_{K-1} below it: the first m with u <= s_m, the result of
    :func:`l5sim.kernels.rng.poisson`'s inversion loop, whose terms it computes in the same
    operations (s is non-decreasing). A count of K is marked -1, its uniform kept in ``uu``
    for the scalar inversion; returns how many were marked. A function of its own (not
    inlined), so that LLVM sees its loop alone and vectorises it; compiled ``noalias`` (its
    arguments are distinct arrays or disjoint rows of one). (With the streams' words side by
    side, in rows of an (N, 2) array, the loop first copied them into two scratch rows and
    back: 17% of its time.)"""
    n = w.shape[0]
    n_big = 0
    for k in range(n):
        s0 = w0[k]
        s1 = w1[k]
        r, n0, n1 = xoroshiro_step(s0, s1)
        on = w[k] != 0.0
        w0[k] = n0 if on else s0
        w1[k] = n1 if on else s1
        u = to_unit(r)
        p = emlam
        sm = p
        c = 0.0
        for m in range(1, CDF_TERMS + 1):
            c += 1.0 if u > sm else 0.0
            p *= lam / m
            sm += p
        uu[k] = u
        big = on and c >= CDF_TERMS
        cnt[k] = -1.0 if big else (c if on else 0.0)
        n_big += 1 if big else 0
    return n_big


@nb.njit(inline="always", **NJIT)
def input_lam(pin, k, t, dt):
    """The mean event count of Poisson input k per target in step t (its rate, ramped up
    over ``ramp_steps`` from ``t0``)."""
    rate = pin.rate_hz[k]
    if pin.ramp_steps[k] > 0:
        frac = (t - pin.t0[k] + 1) / pin.ramp_steps[k]
        if frac < 1.0:
            rate *= frac
    return rate * dt * 1e-3


@nb.njit(inline="always", **NJIT)
def drawn_in_blocks(pin, k, kind, pop_of):
    """Whether input k's per-target counts are drawn by its population's block loop
    (:func:`l5sim.kernels.drive.block_drive`) rather than by :func:`poisson_inputs`."""
    if pin.shared[k] or pin.hi[k] <= pin.lo[k]:
        return False
    p = pop_of[pin.lo[k]]
    return pop_of[pin.hi[k] - 1] == p and (kind[p] == BLOCK_DRIVE_KINDS[0] or kind[p] == BLOCK_DRIVE_KINDS[1])


@nb.njit(inline="always", **NJIT)
def per_target_counts(k, lo, hi, lam, emlam, pin, rng, now, now_dirty, cnt_row, uu_row):
    """Per-target input k's step into the step's arrivals ``now`` of its targets lo..hi-1
    (a range of its targets), their lines marked in ``now_dirty``: one Poisson(lam) count
    per target from the target's own stream (``emlam`` = exp(-lam)), times its weight and each receptor's scale; the
    counts vectorised below :data:`~l5sim.kernels.rng.POISSON_INVERSION_MAX`, one target at
    a time above it. ``cnt_row``, ``uu_row``: free float64 scratch rows (N,) for the counts
    and the uniforms. Shared by
    :func:`poisson_inputs` and :func:`l5sim.kernels.drive.block_drive`."""
    w0 = pin.w_ptr[k] + (lo - pin.lo[k])
    r0 = pin.rec_ptr[k]
    r1 = pin.rec_ptr[k + 1]
    n = hi - lo
    if lam > 0.0 and lam < POISSON_INVERSION_MAX:
        w = pin.weight[w0:w0 + n]
        cnt = cnt_row[lo:hi]
        uu = uu_row[lo:hi]
        n_big = poisson_counts(lam, emlam, rng[0, lo:hi], rng[1, lo:hi], w, cnt, uu)
        for q in range(n if n_big > 0 else 0):      # (counts of CDF_TERMS or more: rare)
            if cnt[q] < 0.0:
                cnt[q] = inversion_count(uu[q], lam, emlam)
        for r in range(r0, r1):
            x = now[pin.rec_channel[r], lo:hi]
            sc = pin.rec_scale[r]
            for q in range(n):
                x[q] += cnt[q] * w[q] * sc
            mark_lines(now_dirty[pin.rec_channel[r]], lo, hi)
    else:
        for j in range(lo, hi):
            wj = pin.weight[w0 + j - lo]
            if wj == 0.0:
                continue
            c = poisson_small(rng, j, lam, emlam)
            if c > 0:
                for r in range(r0, r1):
                    now[pin.rec_channel[r], j] += c * wj * pin.rec_scale[r]
                    now_dirty[pin.rec_channel[r], j >> LINE_SHIFT] = 1


@nb.njit(inline="always", **NJIT)
def shared_events(k, lo, hi, cnt, pin, now, now_dirty):
    """``cnt`` events of input k's one shared train into the step's arrivals ``now`` of its
    targets lo..hi-1 (a range of its targets), each times its weight and each receptor's
    scale, their lines marked in ``now_dirty``."""
    w0 = pin.w_ptr[k]
    r0 = pin.rec_ptr[k]
    r1 = pin.rec_ptr[k + 1]
    plo = pin.lo[k]
    for j in range(lo, hi):
        wj = cnt * pin.weight[w0 + j - plo]
        for r in range(r0, r1):
            now[pin.rec_channel[r], j] += wj * pin.rec_scale[r]
    for r in range(r0, r1):
        mark_lines(now_dirty[pin.rec_channel[r]], lo, hi)


@nb.njit(inline="always", **NJIT)
def poisson_inputs(t, dt, pin, neuron_rng, input_rng, now, now_dirty, scratch, kind, pop_of):
    """External Poisson inputs' events of step t into the step's arrivals ``now`` (their
    lines marked in ``now_dirty``, every line of an input's targets where counts are drawn
    for each): one count per target neuron from its own stream, or one shared count per input from the input's
    stream. The per-target inputs of populations whose loops run in blocks are left to
    those loops (:func:`drawn_in_blocks`, :mod:`l5sim.kernels.drive`), which draw them the
    same way.
    ``scratch`` (4, N): its first two rows take the counts and uniforms of one input's
    targets (free rows of the neurons' scratch: the population loops fill them anew later in
    the step)."""
    for k in range(pin.lo.shape[0]):
        if t < pin.t0[k] or t >= pin.t1[k] or drawn_in_blocks(pin, k, kind, pop_of):
            continue
        lam = input_lam(pin, k, t, dt)
        emlam = math.exp(-lam)
        plo = pin.lo[k]
        phi = pin.hi[k]
        if pin.shared[k]:
            cnt = poisson_small(input_rng, k, lam)
            if cnt > 0:
                shared_events(k, plo, phi, cnt, pin, now, now_dirty)
        else:
            per_target_counts(k, plo, phi, lam, emlam, pin, neuron_rng, now, now_dirty, scratch[0], scratch[1])
