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
  ring slot, drawing their noise from their own random streams), then samples its own
  traces and detects its own spikes for the next step. No two threads write the same
  word, and each target still adds its inputs in spike order, so results do not depend on
  the number of blocks or threads;
* ``next_step`` detection (the 2003 listing: v >= 30 mV is checked at the start of a
  step) is fused into the end of the previous step's region, after the traces of that
  step are sampled, so a step costs one parallel region, not three;
* the spikes of a step are gathered between regions, in block order (= neuron order),
  recorded, and become the next region's pending list.

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

from .._numba_config import NJIT, NJIT_PARALLEL
from .engine import (I_IZH03, K_IZH03, P_C_OFF, P_D_OFF, P_INTEG, P_IS_OFF, P_LAG, P_VPEAK, R_CURRENT,
                     UMAX, VMAX, _lower_bound, trace_value)
from .rng import _S9, _S14, _S28, _S36, _S55, _normal_slow

#: The one ring channel this kernel uses: voltage-jump current onto the soma.
CH_CUR = 2 * R_CURRENT

Work = namedtuple("Work", [
    "blk",      # (n_blk + 1,) block boundaries (neuron indices)
    "rsplit",   # (n_rows, n_blk + 1) each CSR row cut at the block boundaries
    "buf_a",    # (N,) same-step spikes of each block, at the block's offset
    "buf_b",    # (N,) next-step (``next_step`` detection) spikes of each block
    "cnt_a", "cnt_b",   # (n_blk,) counts
    "pend",     # (2 N,) spikes to deliver in the next region, in delivery order
    "n_pend",   # (2,) how many of ``pend`` were emitted in the previous step (same-step
                #  detection, delivered from that step's slot), and how many in all
    "pend_t",   # (1,) the step whose region ``pend`` is waiting for (-1: none)
    "bdiv",     # (n_blk, 3) first divergence in a block: neuron, variable code, value (-1: none)
    "nz", "hz",  # (N,) scratch: this step's standard normals and their first 32-bit draws
])


def eligible(built) -> str | None:
    """``None`` when :func:`run_chunk` can run ``built``; otherwise why not (a phrase)."""
    from .engine import NCH  # noqa: F401  (layout constant, documents the channel space)

    net = built.net
    if net.pop_kind.size == 0 or np.any(net.pop_kind != K_IZH03):
        return "not every population is an izhikevich2003 cell"
    if net.ch_used.size and np.any(net.ch_used != CH_CUR):
        return "a pathway or input uses a channel other than the somatic CURRENT one"
    if net.path_rec_ch.size and np.any(net.path_rec_ch != CH_CUR):
        return "a pathway is not a somatic CURRENT synapse"
    if net.path_dly.size and np.any(net.path_dly < 0):
        return "a pathway has per-synapse delays"
    if net.pin_lo.size:
        return "the circuit has Poisson inputs"
    if net.sp.shape[0]:
        return "the circuit has plastic pathways"
    if built.modulation.n:
        return "the circuit has neuromodulators"
    if net.gen_t.size:
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
            out[r, b] = _lower_bound(post, out[r, b - 1], s1, blk[b])
        out[r, nb_] = s1
    return out


def make_work(built, n_blocks: int) -> Work:
    """Blocks of (nearly) equal size, aligned to 64 neurons (no false sharing of cache lines)."""
    N = built.n_neurons
    n_blocks = max(1, min(int(n_blocks), N // 64 if N >= 128 else 1))
    edges = np.linspace(0, N, n_blocks + 1)
    blk = np.empty(n_blocks + 1, np.int64)
    blk[0], blk[-1] = 0, N
    blk[1:-1] = (np.round(edges[1:-1] / 64) * 64).astype(np.int64)
    net = built.net
    rsplit = row_splits(net.row_ptr, net.post, blk)
    return Work(blk=blk, rsplit=rsplit, buf_a=np.zeros(N, np.int64), buf_b=np.zeros(N, np.int64),
                cnt_a=np.zeros(n_blocks, np.int64), cnt_b=np.zeros(n_blocks, np.int64),
                pend=np.zeros(2 * N, np.int64), n_pend=np.zeros(2, np.int64), pend_t=np.full(1, -1, np.int64),
                bdiv=np.full((n_blocks, 3), -1.0), nz=np.zeros(N), hz=np.zeros(N, np.int64))


@nb.njit(inline="always", **NJIT)
def _deliver(b, slot, D, net, st, wk):
    """Add the pending spikes' weights into the ring slots of block b's targets."""
    pend = wk.pend
    rsplit = wk.rsplit
    neuron_pop = net.neuron_pop
    pop_path_ptr = net.pop_path_ptr
    pop_paths = net.pop_paths
    path_row0 = net.path_row0
    path_pre0 = net.path_pre0
    path_dly = net.path_dly
    path_dense = net.path_dense
    path_rec_ptr = net.path_rec_ptr
    path_rec_ch = net.path_rec_ch
    path_rec_scale = net.path_rec_scale
    path_gain = st.path_gain
    post = net.post
    wsyn = net.w
    ring = st.ring
    n_prev = wk.n_pend[0]
    for f in range(wk.n_pend[1]):
        i = pend[f]
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
                    for sy in range(s0, s1):
                        rv[post[sy]] += wsyn[sy] * scale


@nb.njit(inline="always", **NJIT)
def _noise(rng, sig, nz, hz, zk, zw, zf):
    """Standard normals into ``nz[k]`` for every neuron of a block with ``sig[k] > 0``,
    drawing exactly what :func:`l5sim.kernels.rng.normal` draws from each stream.

    The common path (one 64-bit draw, one table lookup) is written without branches so
    that LLVM vectorises the generator; streams of neurons without noise are left as they
    were (a select, not a branch); the few draws the ziggurat rejects are finished by the
    scalar slow path in a second pass. Returns nothing; ``rng`` rows are the block's."""
    n = nz.shape[0]
    nrej = 0
    for k in range(n):
        s0 = rng[k, 0]
        s1 = rng[k, 1]
        r = s0 + s1
        s1 ^= s0
        on = sig[k] > 0.0
        rng[k, 0] = (((s0 << _S55) | (s0 >> _S9)) ^ s1 ^ (s1 << _S14)) if on else s0
        rng[k, 1] = ((s1 << _S36) | (s1 >> _S28)) if on else rng[k, 1]
        h = np.int64(r) >> 32          # the upper half as a signed 32-bit integer
        iz = h & 127
        nz[k] = h * zw[iz]
        hz[k] = h
        nrej += 1 if (on and abs(h) >= zk[iz]) else 0
    if nrej:
        for k in range(n):
            if sig[k] > 0.0:
                h = hz[k]
                iz = h & 127
                if abs(h) >= zk[iz]:
                    nz[k] = _normal_slow(rng, k, h, iz, zk, zw, zf)


def _block_step(b, t, slot, D, detect_next, net, st, out, wk):
    """One step of block b: deliver, integrate, sample traces, detect next-step spikes.

    Three passes over the block's neurons: noise; integration (branch-free, vectorised);
    a scan for spikes and divergence (rare). Each computes what the general kernel's
    2003 path computes, in the same order, so the results are bitwise the same."""
    _deliver(b, slot, D, net, st, wk)
    blo = wk.blk[b]
    bhi = wk.blk[b + 1]
    pp = st.ppw
    pop_start = net.pop_start
    dt = net.dt
    h = 0.5 * dt
    zk = net.zig_k
    zw = net.zig_w
    zf = net.zig_f
    V = st.v
    U = st.u
    buf_a = wk.buf_a
    buf_b = wk.buf_b
    # slices: non-negative range indices let LLVM drop index wrap-around and vectorise
    _noise(st.rng[blo:bhi], st.sig_s[blo:bhi], wk.nz[blo:bhi], wk.hz[blo:bhi], zk, zw, zf)
    na = 0
    nbb = 0
    div = False
    for p in range(pop_start.shape[0] - 1):
        lo = max(pop_start[p], blo)
        hi = min(pop_start[p + 1], bhi)
        if lo >= hi or div:
            continue
        n = hi - lo
        lag = pp[p, P_LAG] > 0.5
        izh03 = int(pp[p, P_INTEG]) == I_IZH03
        vpeak = pp[p, P_VPEAK]
        vcheck = min(vpeak, VMAX)
        is_off = pp[p, P_IS_OFF]
        c_off = pp[p, P_C_OFF]
        d_off = pp[p, P_D_OFF]
        cur = st.ring[slot, CH_CUR, lo:hi]
        bias = st.bias_s[lo:hi]
        sig = st.sig_s[lo:hi]
        nz = wk.nz[lo:hi]
        va = V[lo:hi]
        ua = U[lo:hi]
        ca = net.a[lo:hi]
        cb = net.b[lo:hi]
        # I = bias + offset, + sigma * N(0, 1) when sigma > 0, + this step's arrivals
        if izh03:
            for k in range(n):
                x = cur[k]
                cur[k] = 0.0
                I = bias[k] + is_off
                I = I + sig[k] * nz[k]
                I = I + x
                v = va[k]
                u = ua[k]
                vn = v + h * (0.04 * v * v + 5.0 * v + 140.0 - u + I)
                vn = vn + h * (0.04 * vn * vn + 5.0 * vn + 140.0 - u + I)
                ua[k] = u + dt * ca[k] * (cb[k] * vn - u)
                va[k] = vn
        else:
            for k in range(n):
                x = cur[k]
                cur[k] = 0.0
                I = bias[k] + is_off
                I = I + sig[k] * nz[k]
                I = I + x
                v = va[k]
                u = ua[k]
                va[k] = v + dt * (0.04 * v * v + 5.0 * v + 140.0 - u + I)
                ua[k] = u + dt * ca[k] * (cb[k] * v - u)
        # spikes and divergence, in index order
        for k in range(n):
            vn = va[k]
            u = ua[k]
            if vn < vcheck and vn > -VMAX and u > -UMAX and u < UMAX:
                continue
            i = lo + k
            if not (vn > -VMAX and vn < VMAX):
                wk.bdiv[b, 0] = i
                wk.bdiv[b, 1] = 0
                wk.bdiv[b, 2] = vn
                div = True
                break
            if not (u > -UMAX and u < UMAX):
                wk.bdiv[b, 0] = i
                wk.bdiv[b, 1] = 1
                wk.bdiv[b, 2] = u
                div = True
                break
            if lag:
                buf_b[blo + nbb] = i      # fires at the start of the next step
                nbb += 1
            else:
                va[k] = net.c[i] + c_off
                ua[k] = u + (net.d[i] + d_off)
                buf_a[blo + na] = i
                na += 1
    wk.cnt_a[b] = na
    if div:
        nbb = 0
    else:
        # traces of this step (before the next step's resets)
        for k in range(out.tr_neuron.shape[0]):
            i = out.tr_neuron[k]
            if i >= blo and i < bhi and (t + 1) % out.tr_every[k] == 0 and out.tr_ptr[k] < out.tr_cap[k]:
                out.tr_buf[out.tr_off[k] + out.tr_ptr[k]] = trace_value(net, st, pp, i, out.tr_var[k])
                out.tr_ptr[k] += 1
        if not detect_next:
            nbb = 0     # the next call detects them (the chunk ends in the general kernel's state)
        for k in range(nbb):
            i = buf_b[blo + k]
            p = net.neuron_pop[i]
            V[i] = net.c[i] + pp[p, P_C_OFF]
            U[i] = U[i] + (net.d[i] + pp[p, P_D_OFF])
    wk.cnt_b[b] = nbb


@nb.njit(**NJIT)
def _block_deliver(b, slot, D, net, st, wk):
    _deliver(b, slot, D, net, st, wk)


@nb.njit(inline="always", **NJIT)
def _record(out, i, t, rec_mask):
    if rec_mask[i]:
        k = out.n_spk[0]
        out.spk_i[k] = i
        out.spk_t[k] = t
        out.spk_b[k] = 0
        out.n_spk[0] = k + 1


def _run_point(net, st, out, t0, n_steps, wk):
    """Advance the network from step ``t0`` by ``n_steps`` steps; returns
    ``(status, steps_done)`` with the general kernel's status codes."""
    N = st.v.shape[0]
    D = st.ring.shape[0]
    cap = out.spk_i.shape[0]
    n_blk = wk.blk.shape[0] - 1
    pp = st.ppw
    pop_start = net.pop_start
    rec_mask = net.rec_mask
    pend = wk.pend
    if wk.pend_t[0] != t0:
        # next-step detection at the start of the chunk (state as the general kernel left it)
        if out.n_spk[0] + N > cap:
            return 1, 0
        npd = 0
        for p in range(pop_start.shape[0] - 1):
            if pp[p, P_LAG] > 0.5:
                vpeak = pp[p, P_VPEAK]
                for i in range(pop_start[p], pop_start[p + 1]):
                    if st.v[i] >= vpeak:
                        st.v[i] = net.c[i] + pp[p, P_C_OFF]
                        st.u[i] = st.u[i] + (net.d[i] + pp[p, P_D_OFF])
                        pend[npd] = i
                        npd += 1
                        _record(out, i, t0, rec_mask)
        wk.n_pend[0] = 0
        wk.n_pend[1] = npd
    wk.pend_t[0] = -1
    for b in range(n_blk):
        wk.bdiv[b, 0] = -1.0
    for step in range(n_steps):
        t = t0 + step
        if out.n_spk[0] + 2 * N > cap:
            wk.pend_t[0] = t
            return 1, step
        slot = t % D
        detect_next = step + 1 < n_steps
        for b in prange(n_blk):
            _block_step(b, t, slot, D, detect_next, net, st, out, wk)
        for b in range(n_blk):
            if wk.bdiv[b, 0] >= 0.0:
                out.diverged[0] = wk.bdiv[b, 0]
                out.diverged[1] = t
                out.diverged[2] = wk.bdiv[b, 1]
                out.diverged[3] = wk.bdiv[b, 2]
                wk.n_pend[0] = 0
                wk.n_pend[1] = 0
                return 2, step
        # gather: this step's same-step spikes, then the next step's detected ones
        npd = 0
        for b in range(n_blk):
            o = wk.blk[b]
            for k in range(wk.cnt_a[b]):
                i = wk.buf_a[o + k]
                pend[npd] = i
                npd += 1
                _record(out, i, t, rec_mask)
        wk.n_pend[0] = npd
        for b in range(n_blk):
            o = wk.blk[b]
            for k in range(wk.cnt_b[b]):
                i = wk.buf_b[o + k]
                pend[npd] = i
                npd += 1
                _record(out, i, t + 1, rec_mask)
        wk.n_pend[1] = npd
    # the last step's same-step spikes enter the ring now, as in the general kernel
    if wk.n_pend[1] > 0:
        # (they were emitted in the last step: delivery counts from the slot after it)
        slot = (t0 + n_steps) % D
        for b in prange(n_blk):
            _block_deliver(b, slot, D, net, st, wk)
    wk.n_pend[0] = 0
    wk.n_pend[1] = 0
    return 0, n_steps


def _variant(name, inline, options):
    """``_run_point`` compiled under ``name`` with its own ``_block_step``: inlined in the
    serial kernel (saves a call per step), a plain call in the parallel one (numba 0.68
    miscompiled the inlined body inside ``prange``: tests/test_point_kernel.py)."""
    g = dict(globals())
    g["_block_step"] = nb.njit(inline="always" if inline else "never", **NJIT_NO_NRT)(_block_step)
    fn = types.FunctionType(_run_point.__code__, g, name, _run_point.__defaults__, _run_point.__closure__)
    fn.__qualname__ = name
    fn.__doc__ = _run_point.__doc__
    return nb.njit(**options)(fn)


#: The kernel allocates nothing, so it runs without numba's reference counting: with it,
#: the atomic increments and decrements of the array views cost more per step than the
#: 1000-neuron network's integration (1.4 vs 0.18 us per step measured).
NJIT_NO_NRT = dict(NJIT, _nrt=False)
#: Serial kernel (one block, or blocks in turn).
run_chunk = _variant("run_point", True, NJIT_NO_NRT)
#: Parallel kernel: one thread per block, one parallel region per step.
run_chunk_parallel = _variant("run_point_parallel", False, dict(NJIT_PARALLEL, _nrt=False))
