"""A specialised kernel for networks of point neurons with voltage-jump synapses.

The Izhikevich (2003) networks, and any circuit built only from ``izhikevich2003`` cells
whose pathways are CURRENT synapses on the soma with one delay per pathway and whose
inputs are currents and Gaussian noise, need none of the general kernel's machinery
(conductances, dendrites, plasticity, modulators, Poisson inputs). For them this kernel
does the same arithmetic in the same order, so that its spikes and states are bitwise
those of :func:`l5sim.kernels.engine.run_chunk` (tests/test_point_kernel.py checks it), with
a layout made for speed and for threads:

* the neurons are cut into contiguous blocks (``blk``); one parallel region per step runs
  every block on its own thread: it delivers the step's pending spikes into the delay ring
  of *its own* targets (the CSR row of every presynaptic neuron is pre-split at the block
  boundaries, ``rsplit``), then integrates its own neurons (reading and clearing their
  ring slot, drawing their noise from their own random streams) and lists the ones that
  fire. No two threads write the same word, and each target still adds its inputs in
  spike order, so results do not depend on the number of blocks or threads;
* delivery streams 6 bytes per synaptic event: the weight (float32) and the target as a
  uint16 offset within its block (``lpost``; blocks hold at most :data:`MAX_BLOCK`
  neurons; the layout is derived once per circuit and kept in ``BuiltCircuit.layouts``),
  and the next pending spike's row segment is prefetched while one is added
  (:func:`l5sim.kernels.memory.prefetch`: short rows defeat the hardware prefetcher);
* the integration is three passes over a block: the noise (xoroshiro128+ and the
  ziggurat's common path without branches, so that LLVM vectorises them; the rare
  rejections finish in a scalar pass), the update (branch-free, vectorised) and a scan
  for spikes and divergence;
* between regions, serially: traces are sampled, ``next_step`` spikes (the 2003
  listing: v >= 30 mV is checked at the start of a step) are reset and recorded with
  the next step's time, and the spikes are gathered in block order (= neuron order)
  into the next region's pending list. A step therefore costs one parallel region;
* the kernel allocates nothing and is compiled without numba's reference counting.

State that spans two calls: when the spike buffer fills up the kernel returns with the
next step's spikes already detected; they wait in ``pend`` (``pend_t`` says for which
step) and the next call delivers them. At the normal end of a chunk nothing is pending:
the ring and the neuron states are exactly those the general kernel leaves.
"""
from __future__ import annotations

import types
from collections import namedtuple

import numba as nb
import numpy as np
from numba import prange

from .._numba_config import NJIT
from .delivery import lower_bound
from .engine import sample_traces
from .izh2003 import reset, step_euler, step_izh2003
from .memory import prefetch
from .records import (I_IZH03, K_IZH03, M_RESET_U_OFFSET, M_RESET_V_OFFSET, M_SOMA_DRIVE_PA, R_CURRENT, UMAX,
                      VMAX)
from .rng import normal_tail, xoroshiro_step

#: ``hz`` value of a neuron whose normal the ziggurat's fast path accepted (out of the
#: signed 32-bit range of real draws).
_NO_REJECTION = np.int64(1) << np.int64(40)

#: The one ring channel this kernel uses: voltage-jump current onto the soma.
CH_CUR = 2 * R_CURRENT

Work = namedtuple("Work", [
    "blk",      # (n_blk + 1,) block boundaries (neuron indices)
    "rsplit",   # (n_rows, n_blk + 1) each CSR row cut at the block boundaries
    "lpost",    # (n_syn,) uint16 target of each synapse relative to its block's first neuron
    "buf_a",    # (N,) same-step spikes of each block, at the block's offset
    "buf_b",    # (N,) next-step (``next_step`` detection) spikes of each block
    "cnt_a", "cnt_b",   # (n_blk,) counts
    "pend",     # (2 N,) spikes to deliver in the next region, in delivery order
    "n_pend",   # (2,) how many of ``pend`` were emitted in the previous step (same-step
                #  detection, delivered from that step's slot), and how many in all
    "pend_t",   # (1,) the step whose region ``pend`` is waiting for (-1: none)
    "bdiv",     # (n_blk, 3) first divergence in a block: neuron, variable code, value (-1: none)
    "nz", "hz",  # (N,) scratch: this step's standard normals and the first 32-bit draws the
                 #  ziggurat's fast path rejected (``_NO_REJECTION`` for the others)
])


#: What the point kernel reads of the network: numba unboxes every array of a record at each
#: call (about 0.2 us per array), and the full ``Net`` has some 140, most of them for models
#: and machinery this kernel never touches. ``l5`` holds only what the ``kappa`` trace reads
#: (:func:`l5sim.kernels.engine.trace_value`).
PointNet = namedtuple("PointNet", ["dt", "neurons", "izh2003", "synapses", "ziggurat", "l5"])
PointL5 = namedtuple("PointL5", ["kappa_state", "kappa"])
#: ... and of the state: the neurons, the delay ring and the modulator levels.
PointState = namedtuple("PointState", ["neurons", "synapses", "modulation"])


def point_net(net) -> PointNet:
    """The part of a general kernel's ``Net`` that the point kernel reads (no copies)."""
    return PointNet(net.dt, net.neurons, net.izh2003, net.synapses, net.ziggurat,
                    PointL5(net.l5.kappa_state, net.l5.kappa))


def point_state(st) -> PointState:
    """The part of a ``State`` that the point kernel reads (no copies)."""
    return PointState(st.neurons, st.synapses, st.modulation)


def eligible(built) -> str | None:
    """``None`` when :func:`run_chunk` can run ``built``; otherwise why not (a phrase)."""
    net = built.net
    kind, sy = net.neurons.kind, net.synapses
    if kind.size == 0 or np.any(kind != K_IZH03):
        return "not every population is an izhikevich2003 cell"
    if net.receptors.used.size and np.any(net.receptors.used != CH_CUR):
        return "a pathway or input uses a channel other than the somatic CURRENT one"
    if sy.path_rec_channel.size and np.any(sy.path_rec_channel != CH_CUR):
        return "a pathway is not a somatic CURRENT synapse"
    if sy.path_delay.size and np.any(sy.path_delay < 0):
        return "a pathway has per-synapse delays"
    if net.poisson_inputs.lo.size:
        return "the circuit has Poisson inputs"
    if net.plasticity.rules.triplet.size:
        return "the circuit has plastic pathways"
    if built.modulation.n:
        return "the circuit has neuromodulators"
    if net.generators.step.size:
        return "the circuit has spike generators"
    return None


@nb.njit(**NJIT)
def row_splits(row_ptr, post, blk):
    """``(n_rows, n_blk + 1)``: the synapses of row r aimed at block b are
    ``rsplit[r, b]:rsplit[r, b + 1]`` (rows are sorted by target)."""
    n_rows = row_ptr.shape[0] - 1
    nb_ = blk.shape[0] - 1
    out = np.empty((n_rows, nb_ + 1), np.int64)
    for r in range(n_rows):
        s1 = row_ptr[r + 1]
        out[r, 0] = row_ptr[r]
        for b in range(1, nb_):
            out[r, b] = lower_bound(post, out[r, b - 1], s1, blk[b])
        out[r, nb_] = s1
    return out


@nb.njit(**NJIT)
def local_posts(rsplit, post, blk):
    """Each synapse's target relative to the first neuron of its block, as uint16: delivery
    streams 6 bytes per synaptic event instead of 8 (13 % faster serially on the 10k
    network's recorded spikes)."""
    out = np.empty(post.shape[0], np.uint16)
    nb_ = blk.shape[0] - 1
    for r in range(rsplit.shape[0]):
        for b in range(nb_):
            lo = blk[b]
            for s in range(rsplit[r, b], rsplit[r, b + 1]):
                out[s] = post[s] - lo
    return out


#: Largest block: targets within a block are uint16 offsets (with room for the 64-neuron
#: alignment of block boundaries).
MAX_BLOCK = 65536 - 128


def make_work(built, n_blocks: int) -> Work:
    """Blocks of (nearly) equal size, aligned to 64 neurons (no false sharing of cache lines),
    at least ``n_blocks`` and enough that none exceeds :data:`MAX_BLOCK` neurons."""
    N = built.n_neurons
    n_blocks = max(int(n_blocks), -(-N // MAX_BLOCK))
    n_blocks = max(1, min(n_blocks, N // 64 if N >= 128 else 1))
    edges = np.linspace(0, N, n_blocks + 1)
    blk = np.empty(n_blocks + 1, np.int64)
    blk[0], blk[-1] = 0, N
    blk[1:-1] = (np.round(edges[1:-1] / 64) * 64).astype(np.int64)
    net = built.net.synapses
    # the layout depends on the synapses' structure only: kept on the circuit for later runs
    # (reused only while the circuit holds the very arrays it was derived from)
    layouts = getattr(built, "layouts", None)
    kept = layouts.get("point") if layouts is not None else None
    if kept is not None and kept[0] is net.row_ptr and kept[1] is net.post and np.array_equal(kept[2], blk):
        rsplit, lpost = kept[3], kept[4]
    else:
        rsplit = row_splits(net.row_ptr, net.post, blk)
        lpost = local_posts(rsplit, net.post, blk)
        if layouts is not None:
            layouts["point"] = (net.row_ptr, net.post, blk, rsplit, lpost)
    return Work(blk=blk, rsplit=rsplit, lpost=lpost, buf_a=np.zeros(N, np.int64), buf_b=np.zeros(N, np.int64),
                cnt_a=np.zeros(n_blocks, np.int64), cnt_b=np.zeros(n_blocks, np.int64),
                pend=np.zeros(2 * N, np.int64), n_pend=np.zeros(2, np.int64), pend_t=np.full(1, -1, np.int64),
                bdiv=np.full((n_blocks, 3), -1.0), nz=np.zeros(N), hz=np.zeros(N, np.int64))


# The functions below take arrays and homogeneous tuples of arrays, never the Net/State/Out
# namedtuples: numba's parallel lowering took over 10 s to compile a prange body that
# passes heterogeneous namedtuples to a call, and 1 s with the same data as plain arrays.

@nb.njit(inline="always", **NJIT)
def _deliver(b, slot, D, ints, i32, flts, rsplit, wsyn, lpost, ring, path_dense):
    """Add the pending spikes' weights into the ring slots of block b's targets."""
    (pop_path_ptr, pop_paths, path_row0, path_pre0, path_dly, path_rec_ptr, path_rec_ch, pend, n_pend,
     blk, pop_start, buf_a, buf_b, cnt_a, cnt_b, hz, scheme) = ints
    neuron_pop, post = i32
    path_rec_scale, path_gain, V, U, sig_s, bias_s, ca, cb, cc, cd, nz, vpeak_ = flts
    n_prev = n_pend[0]
    lo = blk[b]
    n_all = n_pend[1]
    for f in range(n_all):
        i = pend[f]
        if f + 1 < n_all:
            # start loading the next spike's rows (this block's part) while adding this one
            j = pend[f + 1]
            pj = neuron_pop[j]
            for q in range(pop_path_ptr[pj], pop_path_ptr[pj + 1]):
                pw = pop_paths[q]
                if path_dense[pw]:
                    continue            # dense rows: contiguous and cache-resident, no gain
                row = path_row0[pw] + (j - path_pre0[pw])
                s1 = rsplit[row, b + 1]
                for s in range(rsplit[row, b], s1, 32):     # 64-byte lines of uint16
                    prefetch(lpost, s)
                for s in range(rsplit[row, b], s1, 16):     # and of float32
                    prefetch(wsyn, s)
        base = slot
        if f < n_prev:
            # emitted in the previous step: its delays count from that step
            base = slot - 1 if slot > 0 else D - 1
        pq = neuron_pop[i]
        for q in range(pop_path_ptr[pq], pop_path_ptr[pq + 1]):
            pw = pop_paths[q]
            row = path_row0[pw] + (i - path_pre0[pw])
            s0 = rsplit[row, b]
            s1 = rsplit[row, b + 1]
            if s1 <= s0:
                continue
            gain = path_gain[pw]
            sl = base + path_dly[pw]
            if sl >= D:
                sl -= D
            for r in range(path_rec_ptr[pw], path_rec_ptr[pw + 1]):
                scale = path_rec_scale[r] * gain
                rv = ring[sl, path_rec_ch[r]]
                if path_dense[pw]:
                    # the row holds every target in order: contiguous slices, vectorised
                    m = s1 - s0
                    dst = rv[post[s0]:post[s0] + m]
                    src = wsyn[s0:s1]
                    for k in range(m):
                        dst[k] += src[k] * scale
                else:
                    rb = rv[lo:]
                    for sy in range(s0, s1):
                        rb[lpost[sy]] += wsyn[sy] * scale


@nb.njit(inline="always", **NJIT)
def _noise(rng, w0, w1, sig, nz, hz, zk, zw, zf):
    """Standard normals into ``nz[k]`` for every neuron of a block with ``sig[k] > 0``,
    drawing exactly what :func:`l5sim.kernels.rng.normal` draws from each stream.

    The common path (one 64-bit draw, one table lookup) is written without branches so
    that LLVM vectorises the generator; streams of neurons without noise are left as they
    were (a select, not a branch); the few draws the ziggurat rejects are finished by the
    scalar slow path in a second pass. ``rng``: the block's columns of the streams, ``w0``,
    ``w1``: its part of their two rows (:mod:`l5sim.kernels.rng`)."""
    n = nz.shape[0]
    nrej = 0
    for k in range(n):
        s0 = w0[k]
        s1 = w1[k]
        r, n0, n1 = xoroshiro_step(s0, s1)
        on = sig[k] > 0.0
        w0[k] = n0 if on else s0
        w1[k] = n1 if on else s1
        h = np.int64(r) >> 32          # the upper half as a signed 32-bit integer
        iz = h & 127
        nz[k] = h * zw[iz]
        rej = on and abs(h) >= zk[iz]
        hz[k] = h if rej else _NO_REJECTION
        nrej += 1 if rej else 0
    # the rejected draws, in index order, until all are done (each stream is the neuron's own)
    k = 0
    while nrej > 0:
        h = hz[k]
        if h != _NO_REJECTION:
            nz[k] = normal_tail(rng, k, h, h & 127, zk, zw, zf)
            nrej -= 1
        k += 1


@nb.njit(inline="always", **NJIT)
def _take_input(cur, bias, sig, nz, is_off, k):
    """Neuron k's input this step, clearing its ring slot: bias + offset, + sigma N(0, 1)
    when sigma > 0 (nz is 0-weighted otherwise), + the arrivals, in the general kernel's order."""
    x = cur[k]
    cur[k] = 0.0
    I = bias[k] + is_off
    I = I + sig[k] * nz[k]
    return I + x


def _block_step(b, slot, D, dt, ints, i32, flts, rsplit, wsyn, lpost, ring, mod, rng, bdiv, path_dense, lag_, zk, zw,
                zf):
    """One step of block b: deliver the pending spikes to the block's targets, then
    integrate the block's neurons and find their spikes.

    Three passes over the block's neurons: noise; integration (branch-free, vectorised);
    a scan for spikes and divergence (rare). Each computes what the general kernel's
    2003 path computes, in the same order, so the results are bitwise the same.
    ``next_step`` spikes are listed in ``buf_b`` and reset later (after the traces)."""
    _deliver(b, slot, D, ints, i32, flts, rsplit, wsyn, lpost, ring, path_dense)
    (pop_path_ptr, pop_paths, path_row0, path_pre0, path_dly, path_rec_ptr, path_rec_ch, pend, n_pend,
     blk, pop_start, buf_a, buf_b, cnt_a, cnt_b, hz, scheme) = ints
    neuron_pop, post = i32
    path_rec_scale, path_gain, V, U, sig_s, bias_s, ca, cb, cc, cd, nz, vpeak_ = flts
    blo = blk[b]
    bhi = blk[b + 1]
    # slices: non-negative range indices let LLVM drop index wrap-around and vectorise
    _noise(rng[:, blo:bhi], rng[0, blo:bhi], rng[1, blo:bhi], sig_s[blo:bhi], nz[blo:bhi], hz[blo:bhi], zk, zw,
           zf)
    na = 0
    nbb = 0
    div = False
    for p in range(pop_start.shape[0] - 1):
        lo = max(pop_start[p], blo)
        hi = min(pop_start[p + 1], bhi)
        if lo >= hi or div:
            continue
        n = hi - lo
        lag = lag_[p] > 0
        izh03 = scheme[p] == I_IZH03
        vpeak = vpeak_[p]
        vcheck = min(vpeak, VMAX)
        is_off = mod[p, M_SOMA_DRIVE_PA]
        c_off = mod[p, M_RESET_V_OFFSET]
        d_off = mod[p, M_RESET_U_OFFSET]
        cur = ring[slot, CH_CUR, lo:hi]
        bias = bias_s[lo:hi]
        sig = sig_s[lo:hi]
        nzp = nz[lo:hi]
        va = V[lo:hi]
        ua = U[lo:hi]
        pa = ca[lo:hi]
        pb = cb[lo:hi]
        # I = bias + offset, + sigma * N(0, 1) when sigma > 0, + this step's arrivals
        if izh03:
            for k in range(n):
                I = _take_input(cur, bias, sig, nzp, is_off, k)
                va[k], ua[k] = step_izh2003(va[k], ua[k], I, pa[k], pb[k], dt)
        else:
            for k in range(n):
                I = _take_input(cur, bias, sig, nzp, is_off, k)
                va[k], ua[k] = step_euler(va[k], ua[k], I, pa[k], pb[k], dt)
        # spikes and divergence, in index order
        for k in range(n):
            vn = va[k]
            u = ua[k]
            if vn < vcheck and vn > -VMAX and u > -UMAX and u < UMAX:
                continue
            i = lo + k
            if not (vn > -VMAX and vn < VMAX):
                bdiv[b, 0] = i
                bdiv[b, 1] = 0
                bdiv[b, 2] = vn
                div = True
                break
            if not (u > -UMAX and u < UMAX):
                bdiv[b, 0] = i
                bdiv[b, 1] = 1
                bdiv[b, 2] = u
                div = True
                break
            if lag:
                buf_b[blo + nbb] = i      # fires at the start of the next step
                nbb += 1
            else:
                va[k], ua[k] = reset(u, cc[i] + c_off, cd[i] + d_off)
                buf_a[blo + na] = i
                na += 1
    cnt_a[b] = na
    cnt_b[b] = 0 if div else nbb


def _all_blocks_serial(n_blk, slot, D, dt, ints, i32, flts, rsplit, wsyn, lpost, ring, mod, rng, bdiv, path_dense,
                       lag, zk, zw, zf):
    for b in range(n_blk):
        _block_step(b, slot, D, dt, ints, i32, flts, rsplit, wsyn, lpost, ring, mod, rng, bdiv, path_dense, lag,
                    zk, zw, zf)


def _all_blocks_parallel(n_blk, slot, D, dt, ints, i32, flts, rsplit, wsyn, lpost, ring, mod, rng, bdiv, path_dense,
                         lag, zk, zw, zf):
    # the only parallel region of the kernel, in a function of its own
    for b in prange(n_blk):
        _block_step(b, slot, D, dt, ints, i32, flts, rsplit, wsyn, lpost, ring, mod, rng, bdiv, path_dense, lag,
                    zk, zw, zf)


def _deliver_serial(n_blk, slot, D, ints, i32, flts, rsplit, wsyn, lpost, ring, path_dense):
    for b in range(n_blk):
        _deliver(b, slot, D, ints, i32, flts, rsplit, wsyn, lpost, ring, path_dense)


def _deliver_parallel(n_blk, slot, D, ints, i32, flts, rsplit, wsyn, lpost, ring, path_dense):
    for b in prange(n_blk):
        _deliver(b, slot, D, ints, i32, flts, rsplit, wsyn, lpost, ring, path_dense)


@nb.njit(inline="always", **NJIT)
def _record(out, i, t, rec_mask):
    if rec_mask[i]:
        k = out.n_spikes[0]
        out.spike_neuron[k] = i
        out.spike_step[k] = t
        out.spike_burst[k] = 0
        out.n_spikes[0] = k + 1


def _run_point(net, st, out, t0, n_steps, wk):
    """Advance the network from step ``t0`` by ``n_steps`` steps; returns
    ``(status, steps_done)`` with the general kernel's status codes. ``net`` and ``st`` are
    a :class:`PointNet` and a :class:`PointState` (:func:`point_net`, :func:`point_state`)."""
    nr, ns, sy = net.neurons, st.neurons, net.synapses
    N = ns.v.shape[0]
    ring = st.synapses.ring
    D = ring.shape[0]
    cap = out.spike_neuron.shape[0]
    n_blk = wk.blk.shape[0] - 1
    mod = st.modulation.value
    pop_start = nr.pop_start
    lag = nr.detect_next_step
    vpeak = net.izh2003.vpeak_mV
    rec_mask = out.spike_mask
    pend = wk.pend
    n_pend = wk.n_pend
    V = ns.v
    U = ns.u
    cc = nr.c
    cd = nr.d
    zk, zw, zf = net.ziggurat
    rng = ns.rng
    wsyn = sy.weight
    path_dense = sy.path_dense
    blk = wk.blk
    cnt_a = wk.cnt_a
    cnt_b = wk.cnt_b
    buf_a = wk.buf_a
    buf_b = wk.buf_b
    bdiv = wk.bdiv
    rsplit = wk.rsplit
    lpost = wk.lpost
    dt = net.dt
    # grouped by type (homogeneous tuples: calls stay under CPython's 30 positional
    # arguments, beyond which numba cannot inline them)
    ints = (sy.pop_path_ptr, sy.pop_paths, sy.path_row0, sy.path_pre0, sy.path_delay, sy.path_rec_ptr,
            sy.path_rec_channel, pend, n_pend, blk, pop_start, buf_a, buf_b, cnt_a, cnt_b, wk.hz, nr.scheme)
    i32 = (nr.pop_of, sy.post)
    flts = (sy.path_rec_scale, st.synapses.path_gain, V, U, ns.soma_noise_sd, ns.soma_bias, nr.a, nr.b, cc, cd,
            wk.nz, vpeak)
    if wk.pend_t[0] != t0:
        # next-step detection at the start of the chunk (state as the general kernel left it)
        if out.n_spikes[0] + N > cap:
            return 1, 0
        npd = 0
        for p in range(pop_start.shape[0] - 1):
            if lag[p] > 0:
                for i in range(pop_start[p], pop_start[p + 1]):
                    if V[i] >= vpeak[p]:
                        V[i], U[i] = reset(U[i], cc[i] + mod[p, M_RESET_V_OFFSET], cd[i] + mod[p, M_RESET_U_OFFSET])
                        pend[npd] = i
                        npd += 1
                        _record(out, i, t0, rec_mask)
        n_pend[0] = 0
        n_pend[1] = npd
    wk.pend_t[0] = -1
    for b in range(n_blk):
        bdiv[b, 0] = -1.0
    for step in range(n_steps):
        t = t0 + step
        if out.n_spikes[0] + 2 * N > cap:
            wk.pend_t[0] = t
            return 1, step
        slot = t % D
        _all_blocks(n_blk, slot, D, dt, ints, i32, flts, rsplit, wsyn, lpost, ring, mod, rng, bdiv, path_dense, lag,
                    zk, zw, zf)
        for b in range(n_blk):
            if bdiv[b, 0] >= 0.0:
                out.diverged[0] = bdiv[b, 0]
                out.diverged[1] = t
                out.diverged[2] = bdiv[b, 1]
                out.diverged[3] = bdiv[b, 2]
                n_pend[0] = 0
                n_pend[1] = 0
                return 2, step
        # traces of this step, before the next step's resets
        sample_traces(t, net, st, out)
        # gather: this step's same-step spikes, then (unless the chunk ends here: the next
        # call detects them) the next step's, which are reset now
        npd = 0
        for b in range(n_blk):
            o = blk[b]
            for k in range(cnt_a[b]):
                i = buf_a[o + k]
                pend[npd] = i
                npd += 1
                _record(out, i, t, rec_mask)
        n_pend[0] = npd
        if step + 1 < n_steps:
            for b in range(n_blk):
                o = blk[b]
                for k in range(cnt_b[b]):
                    i = buf_b[o + k]
                    p = nr.pop_of[i]
                    V[i], U[i] = reset(U[i], cc[i] + mod[p, M_RESET_V_OFFSET], cd[i] + mod[p, M_RESET_U_OFFSET])
                    pend[npd] = i
                    npd += 1
                    _record(out, i, t + 1, rec_mask)
        n_pend[1] = npd
    # the last step's same-step spikes enter the ring now, as in the general kernel
    if n_pend[1] > 0:
        # (they were emitted in the last step: delivery counts from the slot after it)
        slot = (t0 + n_steps) % D
        _deliver_blocks(n_blk, slot, D, ints, i32, flts, rsplit, wsyn, lpost, ring, path_dense)
    n_pend[0] = 0
    n_pend[1] = 0
    return 0, n_steps


def _variant(name, parallel):
    """``_run_point`` compiled under ``name``, serial or parallel.

    Serial: the block step is inlined into one loop. Parallel: ``_run_point`` itself is
    compiled serially and calls a small parallel function per step whose ``prange`` runs
    one block per thread; the block step is a plain call there (numba 0.68 miscompiled
    the inlined body inside ``prange``: tests/test_point_kernel.py caught it)."""
    step = nb.njit(inline="never" if parallel else "always", **NJIT_NO_NRT)(_block_step)
    g2 = dict(globals(), _block_step=step)

    def sub(f, opts):
        return nb.njit(**opts)(types.FunctionType(f.__code__, g2, f.__name__, f.__defaults__, f.__closure__))

    g = dict(globals())
    if parallel:
        g["_all_blocks"] = sub(_all_blocks_parallel, dict(NJIT_NO_NRT, parallel=True))
        g["_deliver_blocks"] = sub(_deliver_parallel, dict(NJIT_NO_NRT, parallel=True))
    else:
        g["_all_blocks"] = sub(_all_blocks_serial, dict(NJIT_NO_NRT, inline="always"))
        g["_deliver_blocks"] = sub(_deliver_serial, dict(NJIT_NO_NRT, inline="always"))
    fn = types.FunctionType(_run_point.__code__, g, name, _run_point.__defaults__, _run_point.__closure__)
    fn.__qualname__ = name
    fn.__doc__ = _run_point.__doc__
    return nb.njit(**NJIT_NO_NRT)(fn)


#: The kernel allocates nothing, so it runs without numba's reference counting: with it,
#: the atomic increments and decrements of the array views cost more per step than the
#: 1000-neuron network's integration (1.4 vs 0.18 us per step measured).
NJIT_NO_NRT = dict(NJIT, _nrt=False)
#: Serial kernel (one block, or blocks in turn).
run_chunk = _variant("run_point", False)
#: Parallel kernel: one thread per block, one parallel region per step.
run_chunk_parallel = _variant("run_point_parallel", True)
