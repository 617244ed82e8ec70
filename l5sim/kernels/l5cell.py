"""Two-compartment L5 pyramidal cell: step functions and the population loop.

Soma: the Izhikevich (2007) quadratic model (:func:`l5sim.kernels.izh2007.soma_v`) with a
spike-triggered adaptation conductance and the dendrite-to-soma current gs F(vd). Apical
dendrite (Whyte et al. 2025, LVPA; science.md section 2)::

    Cd dvd/dt = -gL (vd - EL) + gCa F(vd) + wd + I_bap + I_d + G (v - vd) + I_syn,d
    dwd/dt    = (bd (vd - EL) - wd) / tau_w,        F(vd) = 1 / (1 + exp((Ehalf - vd) / D))

The back-propagating AP current ``bap_pA`` enters the dendrite in a window of steps after
each somatic spike, passed by the coupling gate kappa; in a plateau (vd >= plateau_mV) a
spike resets in burst mode (c_burst, d_burst). Gate modes (l5sim.models.l5pyramidal):
``per_step`` (two Bernoulli(kappa) draws each step), ``deterministic`` (graded by kappa),
``per_spike`` (one draw per spike for its bAP, see :func:`bap_passes`; one in a plateau
for the burst switch). Parameters: :class:`~l5sim.kernels.records.L5Params`.
The sigmoid's exp is :func:`l5sim.kernels.vexp.exp` (within one ulp of libm's, and
vectorisable: 20.2 -> 17.1 ns per neuron-step on the 10k column).
"""
from __future__ import annotations

import numba as nb
import numpy as np
from numba import prange

from .._numba_config import INTERNAL, NJIT, NOALIAS
from .izh2003 import check
from .drive import block_drive
from .izh2007 import soma_v
from .receptors import (CONDUCTANCE_CHANNELS, block_arrivals, has_currents, mg_block, py_max, py_min, soma_input,
                        soma_sums)
from .records import (G_DETERMINISTIC, G_PER_SPIKE, G_PER_STEP, I_SEMI, M_DEND_DRIVE_PA, M_GCA_PA, M_KAPPA_OFFSET,
                      M_RESET_U_OFFSET, M_RESET_V_OFFSET, M_SOMA_DRIVE_PA, PARALLEL_MIN_BLOCKS, RING_LINE, UMAX, VMAX)
from .rng import to_unit, uniform, xoroshiro_step
from .vexp import exp


@nb.njit(inline="always", **NJIT)
def gate(kappa_state, kappa_now, kappa_fixed, offset):
    """The effective coupling gate in [0, 1]: the state (or the fixed value) plus the
    modulated offset."""
    k = (kappa_now if kappa_state else kappa_fixed) + offset
    return py_min(1.0, py_max(0.0, k))


@nb.njit(inline="always", **NJIT)
def crossed(v, vpeak):
    return v >= vpeak


@nb.njit(inline="always", **NJIT)
def reset(u, c, d, burst, c_b, d_b, deterministic):
    """(v, u, fired-in-burst-mode) after a spike: the burst reset when the plateau flag
    ``burst`` is set, interpolated by it in the deterministic gate."""
    if deterministic:
        return c + burst * (c_b - c), u + d + burst * (d_b - d), 1 if burst > 0.5 else 0
    if burst > 0.5:
        return c_b, u + d_b, 1
    return c, u + d, 0


@nb.njit(inline="always", **NJIT)
def bap_passes(mode, kap, rng, i):
    """Whether the bAP of a spike fired now reaches the dendrite (one Bernoulli(kappa) draw
    per spike in the per-spike gate; the other modes gate it at every step)."""
    if mode == G_PER_SPIKE:
        return uniform(rng, i) < kap
    return True


@nb.njit(inline="always", **NJIT)
def dendrite(scheme, vd, wd, v, Fd, I_bap, I_d, gtd, gEd, Cd, EL, gL, gCa, G, bd, tau_w, dt):
    """(vd, wd) after one step (the parameters of :class:`~l5sim.kernels.records.L5Params`)."""
    hd = dt / Cd
    rest_d = -gL * (vd - EL) + gCa * Fd + wd + I_bap + I_d + G * (v - vd)
    dwd = (bd * (vd - EL) - wd) * (dt / tau_w)
    if scheme == I_SEMI:
        vd = (vd + hd * (rest_d + gEd)) / (1.0 + hd * gtd)
    else:
        vd = vd + hd * (rest_d + gEd - gtd * vd)
    return vd, wd + dwd


@nb.njit(inline="always", **NJIT)
def detect_next(p, lo, hi, c_off, d_off, nr, pr, ns, fired, fired_b, nf):
    """``next_step`` detection (as :func:`l5sim.kernels.izh2003.detect_next`): the reset
    follows the burst flag of the previous step, the adaptation conductance jumps, and the
    spike is listed with its burst-reset mark."""
    V, U = ns.v, ns.u
    det = pr.gate[p] == G_DETERMINISTIC
    for i in range(lo, hi):
        if crossed(V[i], pr.vpeak_mV[p]):
            V[i], U[i], isb = reset(U[i], nr.c[i] + c_off, nr.d[i] + d_off, ns.burst[i],
                                    pr.c_burst_mV[p], pr.d_burst_pA[p], det)
            ns.g_adapt[i] += pr.dg_adapt_nS[p]
            fired[nf] = i
            fired_b[nf] = isb
            nf += 1
    return nf


def integrate(p, t, dt, nr, pr, rc, zig, ns, G, now, now_dirty, mod, pin):
    """One step of population ``p`` (arguments and flags as
    :func:`l5sim.kernels.izh2003.integrate`, plus 2: fired in burst mode, 5: the dendrite
    diverged; the loop is a function of its own for the reason given there)."""
    flags, scalars, bap_shift, bap_mask = step_params(p, t, dt, nr, pr, mod)
    population_loop(nr.pop_start[p], nr.pop_start[p + 1], flags, scalars, bap_shift, bap_mask, nr.a, nr.b, nr.c,
                    nr.d, ns, now, now_dirty, G, rc.used, rc.reversal_mV, rc.mg_block, rc.decay, zig,
                    pin, nr.kind, nr.pop_of)


@nb.njit(inline="always", **NJIT)
def step_params(p, t, dt, nr, pr, mod):
    """Population ``p``'s arguments of :func:`block_step` in step t: ``(flags, scalars,
    bap_shift, bap_mask)``."""
    scheme = nr.scheme[p]
    lag = nr.detect_next_step[p] > 0
    C, kk, vr, vt, vpeak = pr.C_pF[p], pr.k_nS_per_mV[p], pr.vr_mV[p], pr.vt_mV[p], pr.vpeak_mV[p]
    cap_nmda, mode = pr.nmda_cap_nS[p], pr.gate[p]
    kap_state, kap_fixed = pr.kappa_state[p] > 0, pr.kappa[p]
    kap_rest, kap_decay = pr.kappa_rest[p], pr.decay_kappa[p]
    ehalf, dd, plateau_mV, bap_pA = pr.Ehalf_mV[p], pr.D_mV[p], pr.plateau_mV[p], pr.bap_pA[p]
    c_b, d_b, dg_ad, decay_ad, e_ad, gs = (pr.c_burst_mV[p], pr.d_burst_pA[p], pr.dg_adapt_nS[p],
                                           pr.decay_adapt[p], pr.E_adapt_mV[p], pr.gs_pA[p])
    Cd, EL, gL, Gc, bd, tau_w = pr.Cd_pF[p], pr.EL_mV[p], pr.gL_nS[p], pr.G_nS[p], pr.bd_nS[p], pr.tau_w_ms[p]
    one = np.uint64(1)
    bap_shift = np.uint64(pr.bap_start_steps[p])
    bap_mask = (one << np.uint64(pr.bap_stop_steps[p] - pr.bap_start_steps[p] + 1)) - one
    is_off, id_off, kap_off = mod[p, M_SOMA_DRIVE_PA], mod[p, M_DEND_DRIVE_PA], mod[p, M_KAPPA_OFFSET]
    c_off, d_off, gCa = mod[p, M_RESET_V_OFFSET], mod[p, M_RESET_U_OFFSET], mod[p, M_GCA_PA]
    scalars = (dt, C, kk, vr, vt, vpeak, cap_nmda, kap_fixed, kap_rest, kap_decay, ehalf, dd, plateau_mV, bap_pA,
               c_b, d_b, dg_ad, decay_ad, e_ad, gs, Cd, EL, gL, Gc, bd, tau_w, is_off, id_off, kap_off, c_off,
               d_off, gCa)
    flags = (t, scheme, mode, np.int64(lag), np.int64(kap_state))
    return flags, scalars, bap_shift, bap_mask


# the update pass names the conductance rows 0..7 one by one (soma: even, dendrite: odd)
if CONDUCTANCE_CHANNELS != tuple(range(8)):
    raise ImportError(f"l5cell's update pass expects conductance channels 0..7, not {CONDUCTANCE_CHANNELS}")

#: The conductance channels 0..7 that can be nonzero in this model's populations (``LIVE[ch]``):
#: a constant of the compiled block function, which leaves the others out of its sums and
#: its decay (a channel no pathway or input reaches stays exactly 0, so the sums are the
#: same). :func:`l5sim.kernels.variants.live_channels` finds them for a circuit and the chunk
#: loop's variant compiles :func:`block_step` with them; here, as compiled alone: all.
LIVE = (True,) * 8
#: numba options of :func:`block_step` (the variants compile it with the same).
BLOCK_STEP_OPTS = dict(NJIT, _nrt=False, **NOALIAS, **INTERNAL)

#: Neurons per block of the population loop: each block runs the passes below on its own
#: (in parallel, one block per task); a block's ~30 arrays (120 kB) stay in L2 from pass to
#: pass. Cycle counts of the passes on the real 10k column: 12.5 ns per neuron-step with
#: blocks of 256, 11.1 with 512 or 1024, 17.6 with 64: a block's fixed costs (the drive's
#: and the arrivals' calls, each pass's start of its ~15 memory streams) are ~0.4 us.
BLOCK = 512


@nb.njit(**BLOCK_STEP_OPTS)
def _burst_draws(w0, w1, gx_, burst_):
    """The burst switch in a plateau (per-spike gate): neuron k of a block (``w0``, ``w1``:
    the block's part of the two rows of the streams' words, :mod:`l5sim.kernels.rng`) with
    ``gx_[k]`` = kappa >= 0 (in its plateau) draws one Bernoulli(kappa) from its stream
    (rng.uniform's operations) into ``burst_[k]``; a neuron out of its plateau keeps its
    stream and its flag (selects, so that the loop vectorises). A function of its own,
    compiled ``noalias``: the two rows of one array are disjoint, which LLVM could not
    prove in the block function. (With the words side by side, in rows of an (N, 2)
    array, they were copied into two scratch rows and back around this loop.)"""
    for k in range(w0.shape[0]):
        s0 = w0[k]
        s1 = w1[k]
        r, n0, n1 = xoroshiro_step(s0, s1)
        q = gx_[k]
        on = q >= 0.0
        w0[k] = n0 if on else s0
        w1[k] = n1 if on else s1
        burst_[k] = (1.0 if to_unit(r) < q else 0.0) if on else burst_[k]


@nb.njit(inline="always", **NJIT)
def _inputs(a, b, IS, ID, ns, is_off, id_off, zig, used):
    """Pass 1, the injected currents: bias + offset, plus noise sd N(0, 1) from the neuron's
    own stream where sd > 0 (soma, then dendrite: the draws' order), into ``IS`` / ``ID``,
    where the block's arrivals may add currents. Returns the rows the update reads and the
    offsets it adds to them: a block without noise in a circuit without current synapses
    (``used`` has no current channel) writes nothing and returns the bias rows and the
    offsets, whose sums the update computes (the same values: bias + offset; a row and
    0.0 otherwise, which adds nothing)."""
    zk, zw, zf = zig
    bias_s, sig_s, bias_d, sig_d, rng = ns.soma_bias, ns.soma_noise_sd, ns.dend_bias, ns.dend_noise_sd, ns.rng
    currents = has_currents(used)
    noisy = False
    s_s, s_d = sig_s[a:b], sig_d[a:b]
    for k in range(b - a):
        noisy |= (s_s[k] > 0.0) | (s_d[k] > 0.0)
    if not (noisy or currents):
        return bias_s[a:b], bias_d[a:b], is_off, id_off
    i_s, i_d, b_s, b_d = IS[a:b], ID[a:b], bias_s[a:b], bias_d[a:b]
    for k in range(b - a):
        i_s[k] = b_s[k] + is_off
        i_d[k] = b_d[k] + id_off
    if noisy:
        for i in range(a, b):
            IS[i] = soma_input(i, bias_s, sig_s, is_off, rng, zk, zw, zf)
            ID[i] = soma_input(i, bias_d, sig_d, id_off, rng, zk, zw, zf)
    return i_s, i_d, 0.0, 0.0


def population_loop(lo, hi, flags, scalars, bap_shift, bap_mask, ca, cb, cc, cd, ns, now, now_dirty, G, used, rev, mg,
                    decay, zig, pin, kind, pop_of):
    """Neurons lo..hi-1 of :func:`integrate`, in blocks of :data:`BLOCK` (a ``prange``:
    blocks run in parallel in the parallel kernel, from :data:`~l5sim.kernels.records.PARALLEL_MIN_BLOCKS`
    blocks on), each advanced by :func:`block_step`."""
    # blocks on whole lines of ``now`` (from lo rounded down to one), so that two blocks
    # that run at once never mark the same dirty byte (receptors.block_arrivals, drive.block_drive)
    base = lo - lo % RING_LINE
    n_blk = (hi - base + BLOCK - 1) // BLOCK
    GR = (G[0], G[1], G[2], G[3], G[4], G[5], G[6], G[7])
    S = ns.scratch
    if n_blk < PARALLEL_MIN_BLOCKS:       # too little work to share (records.PARALLEL_MIN_BLOCKS)
        for blk in range(n_blk):
            a = max(lo, base + blk * BLOCK)
            b = min(base + (blk + 1) * BLOCK, hi)
            block_step(a, b, flags, scalars, bap_shift, bap_mask, ca, cb, cc, cd, ns, now, now_dirty,
                       GR, used, rev, mg, decay, zig, pin, kind, pop_of, S[0], S[1], S[2], S[3])
    else:
        for blk in prange(n_blk):
            a = max(lo, base + blk * BLOCK)
            b = min(base + (blk + 1) * BLOCK, hi)
            block_step(a, b, flags, scalars, bap_shift, bap_mask, ca, cb, cc, cd, ns, now, now_dirty,
                       GR, used, rev, mg, decay, zig, pin, kind, pop_of, S[0], S[1], S[2], S[3])


@nb.njit(inline="always", **NJIT)
def _update(a, b, scheme, mode, lag, kap_state, scalars, bap_shift, bap_mask, ns, FD, GX, ca, cb, GR, rev, mg, decay,
            is_, id_, os_, od_):
    """The update of neurons a..b-1 in :func:`block_step` (which inlines it twice: with the
    flags ``scheme, mode, lag, kap_state`` as constants and as read): the dendritic
    sigmoid, then the dendrite, then the soma, without branches on the data. Returns
    (neurons with a spike or a state out of bounds, marked 1 in ``FD``; neurons in a
    plateau). ``is_``, ``id_``, ``os_``, ``od_``: the input rows and offsets of
    :func:`_inputs`."""
    (dt, C, kk, vr, vt, vpeak, cap_nmda, kap_fixed, kap_rest, kap_decay, ehalf, dd, plateau_mV, bap_pA, c_b, d_b,
     dg_ad, decay_ad, e_ad, gs, Cd, EL, gL, Gc, bd, tau_w, is_off, id_off, kap_off, c_off, d_off, gCa) = scalars
    det = mode == G_DETERMINISTIC
    vcheck = vpeak if lag == 0 else VMAX
    V, U, VD, WD, KAP, GAD, BURST = ns.v, ns.u, ns.vd, ns.wd, ns.kappa, ns.g_adapt, ns.burst
    HIST, IBAP = ns.spike_history, ns.bap_current
    # (views from 0: with an index from ``a``, which numba must wrap if negative, LLVM
    # vectorised this loop with gathers and scatters, 30% of the loop's time)
    fd_, vd_ = FD[a:b], VD[a:b]
    inv_dd = 1.0 / dd
    for k in range(b - a):
        fd_[k] = 1.0 / (1.0 + exp((ehalf - vd_[k]) * inv_dd))
    # --- every state variable, without branches on the data (selects, not ifs: LLVM
    # vectorises the loop); the conductance sums add a zero channel as exactly 0, so
    # they equal those of receptors.soma_conductance and dend_conductance
    n = b - a
    v_, u_, wd_, kap_, gad_, burst_ = V[a:b], U[a:b], WD[a:b], KAP[a:b], GAD[a:b], BURST[a:b]
    hist_, ibap_, gx_, ca_, cb_ = HIST[a:b], IBAP[a:b], GX[a:b], ca[a:b], cb[a:b]
    g0, g1, g2, g3 = GR[0][a:b], GR[1][a:b], GR[2][a:b], GR[3][a:b]
    g4, g5, g6, g7 = GR[4][a:b], GR[5][a:b], GR[6][a:b], GR[7][a:b]
    e0, e1, e2, e3, e4, e5, e6, e7 = rev[0], rev[1], rev[2], rev[3], rev[4], rev[5], rev[6], rev[7]
    m0, m1, m2, m3, m4, m5, m6, m7 = mg[0], mg[1], mg[2], mg[3], mg[4], mg[5], mg[6], mg[7]
    d0, d1, d2, d3, d4, d5, d6, d7 = (decay[0], decay[1], decay[2], decay[3], decay[4], decay[5], decay[6],
                                      decay[7])
    per_step = mode == G_PER_STEP
    per_spike = mode == G_PER_SPIKE
    n_att = 0
    n_plat = 0
    # the dendrite first (it reads the soma's v of the previous step), then the soma: two
    # loops, so that neither needs more vector registers than there are (one loop spilled)
    for k in range(n):
        v = v_[k]
        vd = vd_[k]
        bd_ = mg_block(vd)
        c1 = (g1[k] * bd_ if m1 else g1[k]) if LIVE[1] else 0.0
        c3 = (g3[k] * bd_ if m3 else g3[k]) if LIVE[3] else 0.0
        c5 = (g5[k] * bd_ if m5 else g5[k]) if LIVE[5] else 0.0
        c7 = (g7[k] * bd_ if m7 else g7[k]) if LIVE[7] else 0.0
        gtd = 0.0 + c1 + c3 + c5 + c7
        gEd = 0.0 + c1 * e1 + c3 * e3 + c5 * e5 + c7 * e7
        kap = gate(kap_state, kap_[k], kap_fixed, kap_off)
        bap_on = ((hist_[k] >> bap_shift) & bap_mask) != 0
        gx = gx_[k]
        pass1 = (gx == 1.0 or gx == 3.0) if per_step else True
        I_bap = (kap * bap_pA if det else bap_pA) if (bap_on and pass1) else 0.0
        ibap_[k] = I_bap
        vd, wd = dendrite(scheme, vd, wd_[k], v, fd_[k], I_bap, id_[k] + od_, gtd, gEd, Cd, EL, gL, gCa, Gc, bd, tau_w,
                          dt)
        vd_[k] = vd
        wd_[k] = wd
        plateau = vd >= plateau_mV
        n_plat += 1 if plateau else 0
        # the burst-reset switch: graded by kappa in a plateau (deterministic), the
        # step's second draw (per step), or drawn by the scan in a plateau (per spike)
        if det:
            burst_[k] = kap if plateau else 0.0
        else:
            burst_[k] = 1.0 if (plateau and per_step and gx >= 2.0) else 0.0
        gx_[k] = (kap if plateau else -1.0) if per_spike else gx
        kap_[k] = kap_rest + (kap_[k] - kap_rest) * kap_decay if kap_state else kap_[k]
        if LIVE[1]:
            g1[k] *= d1
        if LIVE[3]:
            g3[k] *= d3
        if LIVE[5]:
            g5[k] *= d5
        if LIVE[7]:
            g7[k] *= d7
    for k in range(n):
        v = v_[k]
        u = u_[k]
        Fd = fd_[k]
        gt, gE = soma_sums(v, g0[k] if LIVE[0] else 0.0, g2[k] if LIVE[2] else 0.0, g4[k] if LIVE[4] else 0.0,
                           g6[k] if LIVE[6] else 0.0, m0, m2, m4, m6, e0, e2, e4, e6, cap_nmda)
        gad = gad_[k]
        gt += gad
        gE += gad * e_ad
        I_s = (is_[k] + os_) + gs * Fd
        gad_[k] = gad * decay_ad
        vn = soma_v(scheme, v, u, I_s, gt, gE, C, kk, vr, vt, dt)
        un = u + dt * ca_[k] * (cb_[k] * (v - vr) - u)
        v_[k] = vn
        u_[k] = un
        if LIVE[0]:
            g0[k] *= d0
        if LIVE[2]:
            g2[k] *= d2
        if LIVE[4]:
            g4[k] *= d4
        if LIVE[6]:
            g6[k] *= d6
        # a spike or a state out of bounds: the scan below has work at this neuron
        vd = vd_[k]
        calm = vn < vcheck and vn > -VMAX and un > -UMAX and un < UMAX and vd > -VMAX and vd < VMAX
        fd_[k] = 0.0 if calm else 1.0
        n_att += 0 if calm else 1
    return n_att, n_plat


@nb.njit(**BLOCK_STEP_OPTS)
def block_step(a, b, flags, scalars, bap_shift, bap_mask, ca, cb, cc, cd, ns, now, now_dirty, GR, used, rev, mg, decay,
               zig, pin, kind, pop_of, IS, ID, FD, GX):
    """Neurons a..b-1 of :func:`integrate` in passes: the Poisson drive
    (:func:`l5sim.kernels.drive.block_drive`), injected currents, arrivals, the per-step
    gate draws, the dendritic sigmoid, the update of the dendrite, then of the soma
    (branch-free), the burst draws in a plateau, then a scan that handles spikes and
    divergence. Every neuron's random draws keep their order and every sum its terms'
    order, so the results are those of one loop over neurons. A function of its own, not
    inlined: the serial and the parallel loop share its compiled code, and numba's parfor
    analysis sees a call, not its body (compiling the body into the parallel loop cost
    about 10 s of a cold start).

    Compiled ``noalias`` (:data:`l5sim._numba_config.NOALIAS`): the conductance rows
    (``GR``, a tuple of row views) and the scratch rows ``IS, ID, FD, GX`` come as arguments
    of their own, so LLVM knows no two arrays overlap and vectorises the update pass (30
    arrays; with run-time overlap checks it would need ~400 of them and stays scalar): 31 ->
    18.5 ns per neuron-step on the 10k column, results bitwise the same."""
    (dt, C, kk, vr, vt, vpeak, cap_nmda, kap_fixed, kap_rest, kap_decay, ehalf, dd, plateau_mV, bap_pA, c_b, d_b,
     dg_ad, decay_ad, e_ad, gs, Cd, EL, gL, Gc, bd, tau_w, is_off, id_off, kap_off, c_off, d_off, gCa) = scalars
    t, scheme, mode, lag, kap_state = flags
    det = mode == G_DETERMINISTIC
    V, U, VD, KAP, GAD, BURST = ns.v, ns.u, ns.vd, ns.kappa, ns.g_adapt, ns.burst
    rng, flag, dval = ns.rng, ns.flag, ns.diverged_value
    vcheck = vpeak if lag == 0 else VMAX
    # the step's Poisson drive into the block's arrivals (its draws come before the
    # noise draws of _inputs, as in the whole-population pass; the scratch rows are free here)
    block_drive(a, b, t, dt, pin, kind, pop_of, rng, now, now_dirty, FD, GX)
    is_, id_, os_, od_ = _inputs(a, b, IS, ID, ns, is_off, id_off, zig, used)
    block_arrivals(a, b, now, now_dirty, used, GR, KAP, IS, ID)
    if mode == G_PER_STEP:
        # two Bernoulli(kappa) draws per step (LVPA), after the gate's arrivals
        for i in range(a, b):
            kap = gate(kap_state, KAP[i], kap_fixed, kap_off)
            g1 = uniform(rng, i) < kap
            g2 = uniform(rng, i) < kap
            GX[i] = (1.0 if g1 else 0.0) + (2.0 if g2 else 0.0)
    # the update, its loops compiled twice: for the default configuration (LVPA's, l5pyramidal:
    # semi-implicit, the per-spike gate, the gate a state, same-step detection) with these
    # flags as constants, which drops their selects and branches from the loops (10k column:
    # ~10% of the run), and for any other with the flags as read
    if scheme == I_SEMI and mode == G_PER_SPIKE and kap_state != 0 and lag == 0:
        n_att, n_plat = _update(a, b, I_SEMI, G_PER_SPIKE, 0, 1, scalars, bap_shift, bap_mask, ns, FD, GX, ca, cb, GR,
                                rev, mg, decay, is_, id_, os_, od_)
    else:
        n_att, n_plat = _update(a, b, scheme, mode, lag, kap_state, scalars, bap_shift, bap_mask, ns, FD, GX, ca, cb,
                                GR, rev, mg, decay, is_, id_, os_, od_)
    per_spike = mode == G_PER_SPIKE
    burst_, gx_ = BURST[a:b], GX[a:b]
    if per_spike and n_plat > 0:
        _burst_draws(rng[0, a:b], rng[1, a:b], gx_, burst_)
    # --- spikes and divergence, in index order, where the update found any
    for i in range(a, b if n_att > 0 else a):
        if FD[i] == 0.0:
            continue
        vn = V[i]
        u = U[i]
        vd = VD[i]
        if vn < vcheck and vn > -VMAX and u > -UMAX and u < UMAX and vd > -VMAX and vd < VMAX:
            continue
        fl = check(vn, u)
        if fl:
            flag[i] = fl
            dval[i] = vn if fl == 3 else u
        elif not (vd > -VMAX and vd < VMAX):
            flag[i] = 5
            dval[i] = vd
        elif lag == 0 and crossed(vn, vpeak):
            V[i], U[i], isb = reset(u, cc[i] + c_off, cd[i] + d_off, BURST[i], c_b, d_b, det)
            GAD[i] += dg_ad
            flag[i] = 1 + isb
