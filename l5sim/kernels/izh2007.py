"""Izhikevich (2007) simple model: step functions and the population loop.

Model (Izhikevich 2007, *Dynamical Systems in Neuroscience*, eqs. 8.5-8.6)::

    C dv/dt = k (v - vr)(v - vt) - u + I_syn + I,     du/dt = a (U(v) - u)
    if v >= vpeak + vpeak_u u:  v <- min(c + c_u u, ceiling + vpeak_u u_new),
                                u <- u_new = min(u + d, u_max)

with I_syn = sum_g g (E - v) over the somatic conductances (NMDA Mg-blocked and capped),
U(v) by ``u_mode`` (l5sim.models.izhikevich.U_MODES) and the reset guard's ceiling
(cut-off minus ``reset_margin_mV``; l5sim.models.izhikevich). Schemes: ``semi_implicit``
(the conductance term implicit in v) and ``euler``. Parameters:
:class:`~l5sim.kernels.records.Izh2007Params`; the soma update is shared with the L5 cell
(:mod:`.l5cell`).
"""
from __future__ import annotations

import numba as nb
from numba import prange

from .._numba_config import NJIT
from .izh2003 import check
from .receptors import decay_conductances, soma_conductance, soma_input, take_arrivals
from .records import I_SEMI, M_RESET_U_OFFSET, M_RESET_V_OFFSET, M_SOMA_DRIVE_PA, U_BELOW, U_CUBIC, U_LINEAR


@nb.njit(inline="always", **NJIT)
def soma_v(scheme, v, u, I, gt, gE, C, k, vr, vt, dt):
    """New v of the quadratic soma with conductance input (gt, gE = sum g, sum g E):
    semi-implicit in the conductances or forward Euler."""
    drive = k * (v - vr) * (v - vt) - u + I
    if scheme == I_SEMI:
        return (v + (dt / C) * (drive + gE)) / (1.0 + dt * gt / C)
    return v + (dt / C) * (drive + gE - gt * v)


@nb.njit(inline="always", **NJIT)
def recovery_target(u_mode, v, b, vr, vb):
    """U(v): linear b (v - vr); cubic b (v - vb)^3 above vb; linear only below vb (TC) or
    only above vb (LVPA's matrix-thalamus cell)."""
    if u_mode == U_LINEAR:
        return b * (v - vr)
    if u_mode == U_CUBIC:
        return b * (v - vb) ** 3 if v >= vb else 0.0
    if u_mode == U_BELOW:
        return b * (v - vr) if v <= vb else 0.0
    return b * (v - vr) if v > vb else 0.0


@nb.njit(inline="always", **NJIT)
def crossed(v, u, vpeak, vpeak_u):
    """The spike test against the u-dependent cut-off."""
    return v >= vpeak + vpeak_u * u


@nb.njit(inline="always", **NJIT)
def reset(u, c, d, c_u, u_max, ceiling, vpeak_u):
    """(v, u) after a spike, with the reset guard."""
    un = min(u + d, u_max)
    return min(c + c_u * u, ceiling + vpeak_u * un), un


@nb.njit(inline="always", **NJIT)
def detect_next(p, lo, hi, c_off, d_off, nr, pr, ns, fired, fired_b, nf):
    """``next_step`` detection (as :func:`l5sim.kernels.izh2003.detect_next`)."""
    V, U = ns.v, ns.u
    for i in range(lo, hi):
        if crossed(V[i], U[i], pr.vpeak_mV[p], pr.vpeak_u_mV_per_pA[p]):
            V[i], U[i] = reset(U[i], nr.c[i] + c_off, nr.d[i] + d_off, pr.c_u_mV_per_pA[p],
                               pr.u_max_pA[p], pr.reset_ceiling_mV[p], pr.vpeak_u_mV_per_pA[p])
            fired[nf] = i
            fired_b[nf] = 0
            nf += 1
    return nf


def integrate(p, slot, dt, nr, pr, rc, zig, ns, sy, mod):
    """One step of population ``p`` (arguments, flags, and why the loop is a function of its
    own, as in :func:`l5sim.kernels.izh2003.integrate`)."""
    scheme = nr.scheme[p]
    lag = nr.detect_next_step[p] > 0
    C, kk, vr, vt = pr.C_pF[p], pr.k_nS_per_mV[p], pr.vr_mV[p], pr.vt_mV[p]
    vpeak, vpeak_u, c_u, u_max = pr.vpeak_mV[p], pr.vpeak_u_mV_per_pA[p], pr.c_u_mV_per_pA[p], pr.u_max_pA[p]
    umode, vb, cap_nmda, ceiling = pr.u_mode[p], pr.vb_mV[p], pr.nmda_cap_nS[p], pr.reset_ceiling_mV[p]
    is_off = mod[p, M_SOMA_DRIVE_PA]
    c_off = mod[p, M_RESET_V_OFFSET]
    d_off = mod[p, M_RESET_U_OFFSET]
    ca, cb, cc, cd = nr.a, nr.b, nr.c, nr.d
    V, U, flag, dval = ns.v, ns.u, ns.flag, ns.diverged_value
    bias, sig, rng, kap = ns.soma_bias, ns.soma_noise_sd, ns.rng, ns.kappa
    zk, zw, zf = zig
    ring, G = sy.ring, sy.g
    used = rc.used
    rev, mg, decay = rc.reversal_mV, rc.mg_block, rc.decay
    population_loop(nr.pop_start[p], nr.pop_start[p + 1], slot, dt, scheme, lag, C, kk, vr, vt, vpeak, vpeak_u, c_u,
                    u_max, umode, vb, cap_nmda, ceiling, is_off, c_off, d_off, ca, cb, cc, cd, V, U, flag, dval, bias,
                    sig, rng, kap, zk, zw, zf, ring, G, used, rev, mg, decay)


def population_loop(lo, hi, slot, dt, scheme, lag, C, kk, vr, vt, vpeak, vpeak_u, c_u, u_max, umode, vb, cap_nmda,
                    ceiling, is_off, c_off, d_off, ca, cb, cc, cd, V, U, flag, dval, bias, sig, rng, kap, zk, zw, zf,
                    ring, G, used, rev, mg, decay):
    """The loop over neurons lo..hi-1 of :func:`integrate`."""
    for i in prange(lo, hi):
        I_s = soma_input(i, bias, sig, is_off, rng, zk, zw, zf)
        I_s, I_d = take_arrivals(ring, slot, used, G, kap, i, I_s, 0.0)
        v = V[i]
        u = U[i]
        gt, gE = soma_conductance(G, rev, mg, i, v, cap_nmda)
        vn = soma_v(scheme, v, u, I_s, gt, gE, C, kk, vr, vt, dt)
        u = u + dt * ca[i] * (recovery_target(umode, v, cb[i], vr, vb) - u)
        fl = check(vn, u)
        if fl:
            flag[i] = fl
            dval[i] = vn if fl == 3 else u
        elif not lag and crossed(vn, u, vpeak, vpeak_u):
            vn, u = reset(u, cc[i] + c_off, cd[i] + d_off, c_u, u_max, ceiling, vpeak_u)
            flag[i] = 1
        V[i] = vn
        U[i] = u
        decay_conductances(G, decay, i)
