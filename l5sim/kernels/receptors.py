"""Synaptic receptors and input currents: the per-neuron pieces every model shares.

Conductance receptors (AMPA, NMDA with its Mg2+ block, GABA_A, GABA_B) rise instantly
by the arriving weight (nS) and decay by exp(-dt / tau) per step; CURRENT synapses add
their weight to the step's input current (voltage jumps, Izhikevich 2003); GATE arrivals
raise an L5 cell's coupling gate, kappa <- kappa + (1 - kappa) min(w, 1). Channel
``2 r + c`` is receptor r on compartment c (0 soma, 1 dendrite; l5sim.models.synapses).
"""
from __future__ import annotations

import numba as nb

from .._numba_config import INTERNAL, NJIT, NOALIAS
from .records import R_AMPA, R_CURRENT, R_GABA_A, R_GABA_B, R_GATE, R_NMDA, RING_LINE
from .rng import normal


@nb.njit(inline="always", **NJIT)
def mg_block(v):
    """NMDA Mg2+ block B(v) = x^2 / (1 + x^2), x = (v + 80) / 60 (Izhikevich & Edelman
    2008, SI eq. 3), computed as y^2 / (3600 + y^2) with y = v + 80: the same function, one
    division instead of two (the vector loops' divisions bound their speed)."""
    y = v + 80.0
    y2 = y * y
    return y2 / (3600.0 + y2)


@nb.njit(inline="always", **NJIT)
def soma_sums(v, x0, x2, x4, x6, m0, m2, m4, m6, e0, e2, e4, e6, cap):
    """(total conductance, reversal-weighted sum) of one neuron's somatic channels 0 AMPA,
    2 NMDA, 4 GABA_A, 6 GABA_B in that order (:data:`SOMA_CHANNELS`; conductances x, Mg
    flags m, reversals e), the Mg-blocked ones at v capped at ``cap``: the terms of
    :func:`soma_conductance`, written branch-free (selects) for the vectorised update
    passes of the L5 and PV/SOM loops (a zero channel adds exactly 0)."""
    bs = mg_block(v)
    c0 = py_min(x0 * bs, cap) if m0 else x0
    c2 = py_min(x2 * bs, cap) if m2 else x2
    c4 = py_min(x4 * bs, cap) if m4 else x4
    c6 = py_min(x6 * bs, cap) if m6 else x6
    return 0.0 + c0 + c2 + c4 + c6, 0.0 + c0 * e0 + c2 * e2 + c4 * e4 + c6 * e6


@nb.njit(inline="always", **NJIT)
def soma_input(i, bias, noise_sd, offset, rng, zk, zw, zf):
    """Neuron i's injected current this step: bias + (modulated) offset, plus
    noise_sd N(0, 1) from the neuron's own stream when noise_sd > 0 (pA)."""
    I = bias[i] + offset
    if noise_sd[i] > 0.0:
        I += noise_sd[i] * normal(rng, zk, zw, zf, i)
    return I


@nb.njit(inline="always", **NJIT)
def py_min(a, b):
    """Python's ``min(a, b)``, NaN rule included (b only if b < a), as a select: numba's
    ``min`` is a call that keeps LLVM from vectorising a loop around it."""
    return b if b < a else a


@nb.njit(inline="always", **NJIT)
def py_max(a, b):
    """Python's ``max(a, b)`` (b only if b > a), as a select."""
    return b if b > a else a


@nb.njit(inline="always", **NJIT)
def has_currents(used):
    """Whether any of the channels ``used`` takes current synapses (their arrivals add to
    the injected current's row)."""
    found = False
    for q in range(used.shape[0]):
        found |= (used[q] >> 1) == R_CURRENT
    return found


@nb.njit(inline="always", **NJIT)
def block_inputs(a, b, IS, bias, sig, off, rng, zk, zw, zf, used):
    """Neurons a..b-1's injected current (as :func:`soma_input`): returns the row the update
    reads and the offset it adds. A block without noise in a circuit without current
    synapses (``used`` has no current channel) writes nothing: the bias row and ``off``
    (bias + offset, summed in the update). Otherwise ``IS`` (where the arrivals may add
    currents) and 0.0: bias + offset, vectorised, and where any neuron of the block has
    noise, the block again in index order with its draws."""
    currents = has_currents(used)
    noisy = False
    s_s = sig[a:b]
    for k in range(b - a):
        noisy |= s_s[k] > 0.0
    if not (noisy or currents):
        return bias[a:b], off
    i_s, b_s = IS[a:b], bias[a:b]
    for k in range(b - a):
        i_s[k] = b_s[k] + off
    if noisy:
        for i in range(a, b):
            IS[i] = soma_input(i, bias, sig, off, rng, zk, zw, zf)
    return i_s, 0.0


@nb.njit(inline="always", **NJIT)
def _add_arrivals(rec, x, tgt, lo, hi):
    """Entries lo..hi-1 of a ring row ``x`` into ``tgt`` (a conductance or current row: add;
    the coupling gate: kappa <- kappa + (1 - kappa) min(x, 1)), each entry cleared."""
    xs = x[lo:hi]       # (views from 0: LLVM then sees plain strides and vectorises)
    ts = tgt[lo:hi]
    if rec == R_GATE:
        for k in range(hi - lo):
            ts[k] += (1.0 - ts[k]) * py_min(xs[k], 1.0)
            xs[k] = 0.0
    else:
        for k in range(hi - lo):
            ts[k] += xs[k]
            xs[k] = 0.0


#: A channel with more than this fraction of a block's lines marked is read in one
#: vectorised pass over the block (an empty entry adds 0: the same sums), else line by line.
#: The column's recurrent channels mark ~1/7 of the lines each step; read line by line (the
#: threshold was 1/4) they cost more than the whole pass: the serial column's CPU time went
#: to 0.96x at 10k and 0.94x (median) at 100k (benchmarks/results/compare_session13; 1/16
#: and "any mark" measured alike).
FULL_PASS_FRACTION = 1.0 / 16.0


@nb.njit(**dict(NJIT, **NOALIAS, **INTERNAL))
def block_arrivals(a, b, now, now_dirty, used, GR, KAP, IS, ID):
    """Neurons a..b-1's arrivals of the step (``now``) read and cleared, channel by channel (the order
    :func:`take_arrivals` adds them in; an empty entry adds 0, which changes nothing):
    conductances into the rows ``GR`` (a tuple of the channels' rows), currents into
    ``IS`` / ``ID``, gate increments into ``KAP``. Only the lines marked in ``now_dirty``
    (records.RING_LINE neurons each) can hold arrivals: a channel with few marked lines in
    the block is read line by line, one with more (:data:`FULL_PASS_FRACTION`) in one
    vectorised pass. A function of its own (the L5 and the PV/SOM loop share its compiled
    code), compiled ``noalias``: its arguments are distinct arrays or disjoint rows."""
    l0 = a // RING_LINE
    l1 = (b - 1) // RING_LINE + 1
    for q in range(used.shape[0]):
        ch = used[q]
        rec = ch >> 1
        x = now[ch]
        dv = now_dirty[ch]
        if rec == R_CURRENT:
            tgt = ID if ch & 1 else IS
        elif rec == R_GATE:
            tgt = KAP
        else:
            tgt = GR[ch]
        # (the block's marks as a view from 0: indexed from l0, which numba must wrap if
        # negative, the count was compiled to byte inserts, 3% of the 10k column's time)
        dl = dv[l0:l1]
        marked = 0
        for j in range(l1 - l0):
            marked += dl[j]
        if marked == 0:
            continue
        if marked > FULL_PASS_FRACTION * (l1 - l0):
            _add_arrivals(rec, x, tgt, a, b)
        else:
            for j in range(l1 - l0):
                if dl[j]:
                    ln = l0 + j
                    _add_arrivals(rec, x, tgt, max(a, ln * RING_LINE), min(b, ln * RING_LINE + RING_LINE))


@nb.njit(inline="always", **NJIT)
def take_arrivals(now, used, g, kappa, i, I_s, I_d):
    """Read and clear neuron i's arrivals of the step (``now``): conductance increments
    into ``g``, currents into the somatic / dendritic input (returned), gate increments
    into ``kappa``."""
    for q in range(used.shape[0]):
        ch = used[q]
        x = now[ch, i]
        if x != 0.0:
            now[ch, i] = 0.0
            rec = ch >> 1
            if rec == R_CURRENT:
                if ch & 1:
                    I_d += x
                else:
                    I_s += x
            elif rec == R_GATE:
                kappa[i] += (1.0 - kappa[i]) * min(x, 1.0)
            else:
                g[ch, i] += x
    return I_s, I_d


#: The conductance channels of each compartment in channel order (2 r + c, r = AMPA, NMDA,
#: GABA_A, GABA_B): the loops over them are unrolled at compile time. A channel that no
#: pathway or input uses stays exactly 0 (nothing arrives in it) and is skipped, so the sums
#: are those over the used channels, in the same order.
SOMA_CHANNELS = (2 * R_AMPA, 2 * R_NMDA, 2 * R_GABA_A, 2 * R_GABA_B)
DEND_CHANNELS = (2 * R_AMPA + 1, 2 * R_NMDA + 1, 2 * R_GABA_A + 1, 2 * R_GABA_B + 1)
CONDUCTANCE_CHANNELS = tuple(sorted(SOMA_CHANNELS + DEND_CHANNELS))


@nb.njit(inline="always", **NJIT)
def soma_conductance(g, reversal, mg, i, v, nmda_cap):
    """(total conductance, reversal-weighted sum) of neuron i's somatic channels at v; the
    Mg-blocked conductance is capped at ``nmda_cap`` (nS)."""
    gt = 0.0
    gE = 0.0
    for ch in SOMA_CHANNELS:
        gc = g[ch, i]
        if gc != 0.0:
            if mg[ch]:
                gc = min(gc * mg_block(v), nmda_cap)
            gt += gc
            gE += gc * reversal[ch]
    return gt, gE


@nb.njit(inline="always", **NJIT)
def dend_conductance(g, reversal, mg, i, vd):
    """(total conductance, reversal-weighted sum) of neuron i's dendritic channels at vd."""
    gt = 0.0
    gE = 0.0
    for ch in DEND_CHANNELS:
        gc = g[ch, i]
        if gc != 0.0:
            if mg[ch]:
                gc = gc * mg_block(vd)
            gt += gc
            gE += gc * reversal[ch]
    return gt, gE


@nb.njit(inline="always", **NJIT)
def decay_conductances(g, decay, i):
    """One step of exponential decay of neuron i's conductances (an unused channel stays 0)."""
    for ch in CONDUCTANCE_CHANNELS:
        g[ch, i] *= decay[ch]


def population_channels(net):
    """Per population, the bit mask of the conductance channels (0..7) that can be nonzero
    in its neurons: those a pathway with synapses or an external input delivers into (the
    others stay exactly 0 for a whole run: every state starts with zero conductances).
    numpy, not compiled: the chunk loop's variants are chosen with it."""
    import numpy as np

    nr, sy, pin = net.neurons, net.synapses, net.poisson_inputs
    N = nr.pop_of.shape[0]
    pop_mask = np.zeros(nr.kind.shape[0], np.int64)

    def bits(chans):
        return int(sum(1 << int(c) for c in chans if c < len(CONDUCTANCE_CHANNELS)))

    for pw in range(sy.path_row0.shape[0]):
        if sy.path_pre0[pw] >= N:
            continue
        pp = nr.pop_of[sy.path_pre0[pw]]
        r0 = sy.path_row0[pw]
        s0, s1 = sy.row_ptr[r0], sy.row_ptr[r0 + nr.pop_start[pp + 1] - nr.pop_start[pp]]
        if s1 > s0:   # (a pathway's synapses all end in one population)
            pop_mask[nr.pop_of[sy.post[s0]]] |= bits(sy.path_rec_channel[sy.path_rec_ptr[pw]:sy.path_rec_ptr[pw + 1]])
    for k in range(pin.lo.shape[0]):
        if pin.hi[k] > pin.lo[k]:
            pop_mask[nr.pop_of[pin.lo[k]]:nr.pop_of[pin.hi[k] - 1] + 1] |= bits(
                pin.rec_channel[pin.rec_ptr[k]:pin.rec_ptr[k + 1]])
    return pop_mask
