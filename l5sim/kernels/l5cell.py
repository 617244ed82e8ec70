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
"""
from __future__ import annotations

import math

import numba as nb
import numpy as np
from numba import prange

from .._numba_config import NJIT
from .izh2003 import check
from .izh2007 import soma_v
from .receptors import decay_conductances, dend_conductance, soma_conductance, soma_input, take_arrivals
from .records import (G_DETERMINISTIC, G_PER_SPIKE, M_DEND_DRIVE_PA, M_GCA_PA, M_KAPPA_OFFSET, M_RESET_U_OFFSET,
                      M_RESET_V_OFFSET, M_SOMA_DRIVE_PA, I_SEMI, VMAX)
from .rng import uniform


@nb.njit(inline="always", **NJIT)
def gate(kappa_state, kappa_now, kappa_fixed, offset):
    """The effective coupling gate in [0, 1]: the state (or the fixed value) plus the
    modulated offset."""
    k = (kappa_now if kappa_state else kappa_fixed) + offset
    return min(1.0, max(0.0, k))


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
def bap_current(mode, bap_on, kap, bap_pA, rng, i):
    """(bAP current into the dendrite, second gate draw) of this step."""
    if mode == G_DETERMINISTIC:
        return (kap * bap_pA if bap_on else 0.0), True
    if mode == G_PER_SPIKE:
        # each spike's bAP was gated once when it fired (the history holds only those)
        return (bap_pA if bap_on else 0.0), True
    # two independent Bernoulli(kappa) draws per step (LVPA)
    g1 = uniform(rng, i) < kap
    g2 = uniform(rng, i) < kap
    return (bap_pA if (bap_on and g1) else 0.0), g2


@nb.njit(inline="always", **NJIT)
def burst_flag(mode, plateau, kap, g2, rng, i):
    """The burst-reset switch for a spike fired now."""
    if mode == G_DETERMINISTIC:
        return kap if plateau else 0.0
    if mode == G_PER_SPIKE:
        # drawn only in a plateau: a spike fired there resets in burst mode with probability
        # kappa, whatever dt is
        return 1.0 if (plateau and uniform(rng, i) < kap) else 0.0
    return 1.0 if (plateau and g2) else 0.0


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
def detect_next(p, lo, hi, c_off, d_off, net, st, fired, fired_b, nf):
    """``next_step`` detection (as :func:`l5sim.kernels.izh2003.detect_next`): the reset
    follows the burst flag of the previous step, the adaptation conductance jumps, and the
    spike is listed with its burst-reset mark."""
    ns, pr = st.neurons, net.l5
    V, U = ns.v, ns.u
    det = pr.gate[p] == G_DETERMINISTIC
    for i in range(lo, hi):
        if crossed(V[i], pr.vpeak_mV[p]):
            V[i], U[i], isb = reset(U[i], net.neurons.c[i] + c_off, net.neurons.d[i] + d_off, ns.burst[i],
                                    pr.c_burst_mV[p], pr.d_burst_pA[p], det)
            ns.g_adapt[i] += pr.dg_adapt_nS[p]
            fired[nf] = i
            fired_b[nf] = isb
            nf += 1
    return nf


def integrate(p, slot, dt, net, st):
    """One step of population ``p`` (flags as :func:`l5sim.kernels.izh2003.integrate`,
    plus 2: fired in burst mode, 5: the dendrite diverged; the loop is a function of its
    own for the reason given there)."""
    nr, ns, sy, rc, pr = net.neurons, st.neurons, st.synapses, net.receptors, net.l5
    scheme = nr.scheme[p]
    lag = nr.detect_next_step[p] > 0
    C, kk, vr, vt, vpeak = pr.C_pF[p], pr.k_nS_per_mV[p], pr.vr_mV[p], pr.vt_mV[p], pr.vpeak_mV[p]
    cap_nmda, mode = pr.nmda_cap_nS[p], pr.gate[p]
    det = mode == G_DETERMINISTIC
    kap_state, kap_fixed = pr.kappa_state[p] > 0, pr.kappa[p]
    kap_rest, kap_decay = pr.kappa_rest[p], pr.decay_kappa[p]
    ehalf, dd, plateau_mV, bap_pA = pr.Ehalf_mV[p], pr.D_mV[p], pr.plateau_mV[p], pr.bap_pA[p]
    c_b, d_b, dg_ad, decay_ad, e_ad, gs = (pr.c_burst_mV[p], pr.d_burst_pA[p], pr.dg_adapt_nS[p],
                                           pr.decay_adapt[p], pr.E_adapt_mV[p], pr.gs_pA[p])
    Cd, EL, gL, Gc, bd, tau_w = pr.Cd_pF[p], pr.EL_mV[p], pr.gL_nS[p], pr.G_nS[p], pr.bd_nS[p], pr.tau_w_ms[p]
    one = np.uint64(1)
    bap_shift = np.uint64(pr.bap_start_steps[p])
    bap_mask = (one << np.uint64(pr.bap_stop_steps[p] - pr.bap_start_steps[p] + 1)) - one
    mod = st.modulation.value
    is_off, id_off, kap_off = mod[p, M_SOMA_DRIVE_PA], mod[p, M_DEND_DRIVE_PA], mod[p, M_KAPPA_OFFSET]
    c_off, d_off, gCa = mod[p, M_RESET_V_OFFSET], mod[p, M_RESET_U_OFFSET], mod[p, M_GCA_PA]
    ca, cb, cc, cd = nr.a, nr.b, nr.c, nr.d
    V, U, VD, WD, flag, dval = ns.v, ns.u, ns.vd, ns.wd, ns.flag, ns.diverged_value
    KAP, GAD, BURST, HIST, IBAP = ns.kappa, ns.g_adapt, ns.burst, ns.spike_history, ns.bap_current
    bias_s, sig_s, bias_d, sig_d, rng = ns.soma_bias, ns.soma_noise_sd, ns.dend_bias, ns.dend_noise_sd, ns.rng
    zk, zw, zf = net.ziggurat
    ring, G = sy.ring, sy.g
    used = rc.used
    rev, mg, decay = rc.reversal_mV, rc.mg_block, rc.decay
    population_loop(nr.pop_start[p], nr.pop_start[p + 1], slot, dt, scheme, lag, C, kk, vr, vt, vpeak, cap_nmda, mode,
                    det, kap_state, kap_fixed, kap_rest, kap_decay, ehalf, dd, plateau_mV, bap_pA, c_b, d_b, dg_ad,
                    decay_ad, e_ad, gs, Cd, EL, gL, Gc, bd, tau_w, bap_shift, bap_mask, is_off, id_off, kap_off, c_off,
                    d_off, gCa, ca, cb, cc, cd, V, U, VD, WD, flag, dval, KAP, GAD, BURST, HIST, IBAP, bias_s, sig_s,
                    bias_d, sig_d, rng, zk, zw, zf, ring, G, used, rev, mg, decay)


def population_loop(lo, hi, slot, dt, scheme, lag, C, kk, vr, vt, vpeak, cap_nmda, mode, det, kap_state, kap_fixed,
                    kap_rest, kap_decay, ehalf, dd, plateau_mV, bap_pA, c_b, d_b, dg_ad, decay_ad, e_ad, gs, Cd, EL, gL,
                    Gc, bd, tau_w, bap_shift, bap_mask, is_off, id_off, kap_off, c_off, d_off, gCa, ca, cb, cc, cd, V,
                    U, VD, WD, flag, dval, KAP, GAD, BURST, HIST, IBAP, bias_s, sig_s, bias_d, sig_d, rng, zk, zw, zf,
                    ring, G, used, rev, mg, decay):
    """The loop over neurons lo..hi-1 of :func:`integrate`."""
    for i in prange(lo, hi):
        I_s = soma_input(i, bias_s, sig_s, is_off, rng, zk, zw, zf)
        I_d = soma_input(i, bias_d, sig_d, id_off, rng, zk, zw, zf)
        I_s, I_d = take_arrivals(ring, slot, used, G, KAP, i, I_s, I_d)
        v = V[i]
        u = U[i]
        gt, gE = soma_conductance(G, rev, mg, i, v, cap_nmda)
        # --- coupling gate and dendrite
        kap = gate(kap_state, KAP[i], kap_fixed, kap_off)
        vd = VD[i]
        Fd = 1.0 / (1.0 + math.exp((ehalf - vd) / dd))
        bap_on = ((HIST[i] >> bap_shift) & bap_mask) != 0
        I_bap, g2 = bap_current(mode, bap_on, kap, bap_pA, rng, i)
        IBAP[i] = I_bap
        gtd, gEd = dend_conductance(G, rev, mg, i, vd)
        vd, wd = dendrite(scheme, vd, WD[i], v, Fd, I_bap, I_d, gtd, gEd, Cd, EL, gL, gCa, Gc, bd, tau_w, dt)
        VD[i] = vd
        WD[i] = wd
        BURST[i] = burst_flag(mode, vd >= plateau_mV, kap, g2, rng, i)
        if kap_state:
            KAP[i] = kap_rest + (KAP[i] - kap_rest) * kap_decay
        # --- soma: adaptation conductance, dendrite-to-soma current
        gad = GAD[i]
        gt += gad
        gE += gad * e_ad
        I_s += gs * Fd
        GAD[i] = gad * decay_ad
        vn = soma_v(scheme, v, u, I_s, gt, gE, C, kk, vr, vt, dt)
        u = u + dt * ca[i] * (cb[i] * (v - vr) - u)
        fl = check(vn, u)
        if fl:
            flag[i] = fl
            dval[i] = vn if fl == 3 else u
        elif not (vd > -VMAX and vd < VMAX):
            flag[i] = 5
            dval[i] = vd
        elif not lag and crossed(vn, vpeak):
            vn, u, isb = reset(u, cc[i] + c_off, cd[i] + d_off, BURST[i], c_b, d_b, det)
            GAD[i] += dg_ad
            flag[i] = 1 + isb
        V[i] = vn
        U[i] = u
        decay_conductances(G, decay, i)
