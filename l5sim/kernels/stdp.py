"""Spike-timing-dependent plasticity: traces, depression, potentiation, deferred updates.

Rules (l5sim.plasticity; :class:`~l5sim.kernels.records.StdpRules`, one entry per plastic
pathway): pair STDP with traces x (presynaptic) and y (postsynaptic) that jump by 1 at a
spike (``all-to-all``) or are set to 1 (``nearest``), decaying by exp(-dt / tau) per
step; a presynaptic spike depresses each of its synapses by A- y (triplet: y (A2- + A3- x2),
Pfister & Gerstner 2006), a postsynaptic spike potentiates each incoming synapse by
A+ x (triplet: x (A2+ + A3+ y2)). ``multiplicative`` scales a change by the distance to the
bound it moves towards; ``deferred`` (Izhikevich 2006) sums the changes and applies
bias + sum once per interval, the sum then decaying; a reward-modulated rule (Izhikevich
2007) applies (bias + d) x sum instead, d the level of its dopamine modulator at that step
(:data:`~l5sim.kernels.records.MOD_DOPAMINE` rows of the modulation table). Depression and potentiation run by
blocks of postsynaptic neurons (disjoint synapses), like delivery.
"""
from __future__ import annotations

import numba as nb
import numpy as np
from numba import prange

from .._numba_config import NJIT
from .delivery import lower_bound
from .records import MOD_DOPAMINE


@nb.njit(inline="always", **NJIT)
def clip(x, lo, hi):
    """x clipped to [lo, hi] (the hard bounds of plastic weights)."""
    return lo if x < lo else (hi if x > hi else x)


@nb.njit(inline="always", **NJIT)
def apply_change(wsyn, SD, sy, dw, depress, mult, eta, deferred, wmin, wmax):
    """Apply an STDP change ``dw`` (from the traces) to synapse ``sy``: scaled by the
    distance to the bound it moves towards when multiplicative, then by the learning rate;
    added to the deferred sum, or to the weight and clipped to [wmin, wmax]."""
    w = np.float64(wsyn[sy])
    if mult:
        dw *= (w - wmin) if depress else (wmax - w)
    dw *= eta
    if deferred:
        SD[sy] += dw
    else:
        wsyn[sy] = clip(w + dw, wmin, wmax)


@nb.njit(inline="always", **NJIT)
def decay_traces(pl, ps):
    """One step of decay of every pre- and postsynaptic trace."""
    ru = pl.rules
    for q in range(ru.triplet.shape[0]):
        dp = ru.decay_plus[q]
        dx = ru.decay_x[q]
        for x in range(pl.pre_trace_off[q], pl.pre_trace_off[q + 1]):
            ps.pre_trace[x] *= dp
            ps.pre_trace_slow[x] *= dx
        dm = ru.decay_minus[q]
        dy = ru.decay_y[q]
        for y in range(pl.post_trace_off[q], pl.post_trace_off[q + 1]):
            ps.post_trace[y] *= dm
            ps.post_trace_slow[y] *= dy


@nb.njit(inline="always", **NJIT)
def bump(trace, trace_slow, k, nearest):
    """A spike's effect on its fast and slow traces."""
    if nearest:
        trace[k] = 1.0
        trace_slow[k] = 1.0
    else:
        trace[k] += 1.0
        trace_slow[k] += 1.0


def depress(fired, f0, nf, neuron_pop, sy, pl, ps):
    """Presynaptic spikes ``fired[f0:nf]`` depress their plastic synapses (after delivery:
    spikes transmit the old weight). The loop sees only arrays, as in
    :func:`l5sim.kernels.izh2003.integrate`."""
    ru = pl.rules
    depress_loop(fired, f0, nf, neuron_pop, sy.row_ptr, sy.post, sy.weight, sy.path_row0, sy.path_pre0,
                 sy.pop_path_ptr, sy.pop_paths, pl.path_plastic, pl.pre_lo, pl.post_lo, pl.pre_trace_off,
                 pl.post_trace_off, ru.triplet, ru.multiplicative, ru.deferred, ru.w_min, ru.w_max, ru.A_minus,
                 ru.A2_minus, ru.A3_minus, ps.learning_rate, ps.pre_trace_slow, ps.post_trace, ps.deferred_sum, sy.blocks)


def depress_loop(fired, f0, nf, neuron_pop, row_ptr, post, wsyn, path_row0, path_pre0, pop_path_ptr, pop_paths,
                 path_plastic, pre_lo, post_lo, xoff, yoff, triplet_, mult_, deferred_, wmin_, wmax_, am_, a2m_, a3m_,
                 lr, XT2, YT, SD, blk):
    """The loop of :func:`depress`, by blocks of postsynaptic neurons."""
    n_blk = blk.shape[0] - 1
    for b in prange(n_blk):
        jlo = blk[b]
        jhi = blk[b + 1]
        for f in range(f0, nf):
            i = fired[f]
            pq = neuron_pop[i]
            for q in range(pop_path_ptr[pq], pop_path_ptr[pq + 1]):
                pw = pop_paths[q]
                r = path_plastic[pw]
                if r < 0:
                    continue
                row = path_row0[pw] + (i - path_pre0[pw])
                s0 = row_ptr[row]
                s1 = row_ptr[row + 1]
                if n_blk > 1:
                    s0 = lower_bound(post, s0, s1, jlo)
                    s1 = lower_bound(post, s0, s1, jhi)
                xi = xoff[r] + (i - pre_lo[r])
                yo = yoff[r] - post_lo[r]
                triplet = triplet_[r] > 0
                mult = mult_[r] > 0
                deferred = deferred_[r] > 0
                wmin = wmin_[r]
                wmax = wmax_[r]
                eta = lr[r]
                am = am_[r]
                a2m = a2m_[r]
                a3m = a3m_[r] * XT2[xi]
                for s in range(s0, s1):
                    y = YT[yo + post[s]]
                    if y == 0.0:
                        continue
                    dw = -y * (a2m + a3m) if triplet else -am * y
                    apply_change(wsyn, SD, s, dw, True, mult, eta, deferred, wmin, wmax)


@nb.njit(inline="always", **NJIT)
def pre_spikes(fired, f0, nf, neuron_pop, sy, pl, ps):
    """The presynaptic traces of the cells that fired, once every block has read them."""
    for f in range(f0, nf):
        i = fired[f]
        pq = neuron_pop[i]
        for q in range(sy.pop_path_ptr[pq], sy.pop_path_ptr[pq + 1]):
            r = pl.path_plastic[sy.pop_paths[q]]
            if r < 0:
                continue
            bump(ps.pre_trace, ps.pre_trace_slow, pl.pre_trace_off[r] + (i - pl.pre_lo[r]), pl.rules.nearest[r] > 0)


def potentiate(fired, f0, nf, neuron_pop, sy, pl, ps):
    """Postsynaptic spikes ``fired[f0:nf]`` potentiate their incoming plastic synapses, then
    their postsynaptic traces jump. Each block takes the cells of its own (their incoming
    synapses and traces are theirs alone)."""
    ru = pl.rules
    potentiate_loop(fired, f0, nf, neuron_pop, sy.weight, pl.pop_post_ptr, pl.pop_post, pl.post_lo, pl.pre_trace_off,
                    pl.post_trace_off, pl.col_ptr, pl.col_off, pl.col_syn, pl.col_pre, ru.triplet, ru.multiplicative,
                    ru.deferred, ru.w_min, ru.w_max, ru.A_plus, ru.A2_plus, ru.A3_plus, ru.nearest, ps.learning_rate,
                    ps.pre_trace, ps.post_trace, ps.post_trace_slow, ps.deferred_sum, sy.blocks)


def potentiate_loop(fired, f0, nf, neuron_pop, wsyn, pop_post_ptr, pop_post, post_lo, xoff, yoff, col_ptr, col_off,
                    col_syn, col_pre, triplet_, mult_, deferred_, wmin_, wmax_, ap_, a2p_, a3p_, nearest_, lr, XT, YT,
                    YT2, SD, blk):
    """The loop of :func:`potentiate`, by blocks of postsynaptic neurons."""
    n_blk = blk.shape[0] - 1
    for b in prange(n_blk):
        jlo = blk[b]
        jhi = blk[b + 1]
        for f in range(f0, nf):
            j = fired[f]
            if j < jlo or j >= jhi:
                continue
            pq = neuron_pop[j]
            for qq in range(pop_post_ptr[pq], pop_post_ptr[pq + 1]):
                r = pop_post[qq]
                jl = j - post_lo[r]
                yi = yoff[r] + jl
                triplet = triplet_[r] > 0
                mult = mult_[r] > 0
                deferred = deferred_[r] > 0
                wmin = wmin_[r]
                wmax = wmax_[r]
                eta = lr[r]
                ap = ap_[r]
                a2p = a2p_[r]
                a3p = a3p_[r] * YT2[yi]
                xo = xoff[r]
                c0 = col_ptr[col_off[r] + jl]
                c1 = col_ptr[col_off[r] + jl + 1]
                for c in range(c0, c1):
                    x = XT[xo + col_pre[c]]
                    if x == 0.0:
                        continue
                    dw = x * (a2p + a3p) if triplet else ap * x
                    apply_change(wsyn, SD, col_syn[c], dw, False, mult, eta, deferred, wmin, wmax)
                bump(YT, YT2, yi, nearest_[r] > 0)


@nb.njit(inline="always", **NJIT)
def dopamine_level(r, step, md, delta):
    """The third factor d of plastic rule ``r`` at chunk step ``step``: the sum of its
    :data:`MOD_DOPAMINE` rows of the modulation table (gain x level; 0 without any)."""
    d = 0.0
    for k in range(md.kind.shape[0]):
        if md.kind[k] == MOD_DOPAMINE and md.index[k] == r:
            d += delta[step, k]
    return d


@nb.njit(inline="always", **NJIT)
def deferred_updates(t, step, pl, ps, wsyn, md, delta):
    """Izhikevich (2006): once per interval, w <- clip(w + bias + sum), sum <- decay sum.
    Reward-modulated (Izhikevich 2007): w <- clip(w + (bias + d) sum), d the rule's dopamine
    level at this step (:func:`dopamine_level`), which may be negative."""
    ru = pl.rules
    SD = ps.deferred_sum
    for r in range(ru.triplet.shape[0]):
        if ru.deferred[r] > 0 and (t + 1) % ru.interval_steps[r] == 0:
            wmin = ru.w_min[r]
            wmax = ru.w_max[r]
            bias = ru.deferred_bias[r]
            dec = ru.deferred_decay[r]
            if ru.dopamine[r] > 0:
                g = bias + dopamine_level(r, step, md, delta)
                for s in range(pl.syn_lo[r], pl.syn_hi[r]):
                    wsyn[s] = clip(np.float64(wsyn[s]) + g * SD[s], wmin, wmax)
                    SD[s] *= dec
            else:
                for s in range(pl.syn_lo[r], pl.syn_hi[r]):
                    wsyn[s] = clip(np.float64(wsyn[s]) + bias + SD[s], wmin, wmax)
                    SD[s] *= dec
