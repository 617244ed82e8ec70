"""Adaptive exponential integrate-and-fire (AdEx): step functions and the population loop.

Model (Brette & Gerstner 2005, J Neurophysiol 94:3637, eqs. 1-2; l5sim.models.adex)::

    C dv/dt   = -gL (v - EL) + gL DeltaT exp((v - VT) / DeltaT) - w + I + sum_g g (E - v)
    tau_w dw/dt = a (v - EL) - w,        if v >= vpeak:  v <- Vr,  w <- w + b

The adaptation current w is kept in the state's ``u``. The spike test comes before the
divergence check: with a fixed step the exponential term can carry v from below vpeak to
far above it in one step (from 12 mV to ~1e12 mV at dt = 0.1 ms), which is the spike's
upstroke, not a numerical failure; use ``same_step`` detection with this model. Schemes: ``semi_implicit`` (the
synaptic conductances implicit in v, as for the 2007 cells) and ``euler``; w always from
the old v. Parameters: :class:`~l5sim.kernels.records.AdexParams`.
"""
from __future__ import annotations

import math

import numba as nb
from numba import prange

from .._numba_config import NJIT
from .izh2003 import check
from .receptors import decay_conductances, soma_conductance, soma_input, take_arrivals
from .records import I_SEMI, M_SOMA_DRIVE_PA


@nb.njit(inline="always", **NJIT)
def step(scheme, v, w, I, gt, gE, C, gL, EL, VT, DT, a, tau_w, dt):
    """(v, w) after one step of the registered ``scheme``."""
    drive = -gL * (v - EL) + gL * DT * math.exp((v - VT) / DT) - w + I
    if scheme == I_SEMI:
        vn = (v + (dt / C) * (drive + gE)) / (1.0 + dt * gt / C)
    else:
        vn = v + (dt / C) * (drive + gE - gt * v)
    return vn, w + (dt / tau_w) * (a * (v - EL) - w)


@nb.njit(inline="always", **NJIT)
def crossed(v, vpeak):
    """The spike test."""
    return v >= vpeak


@nb.njit(inline="always", **NJIT)
def reset(w, Vr, b):
    """(v, w) after a spike."""
    return Vr, w + b


@nb.njit(inline="always", **NJIT)
def detect_next(p, lo, hi, c_off, d_off, nr, pr, ns, fired, fired_b, nf):
    """``next_step`` detection (as :func:`l5sim.kernels.izh2003.detect_next`; the AdEx
    reset takes its own V_r and b, not the modulated Izhikevich offsets)."""
    V, U = ns.v, ns.u
    for i in range(lo, hi):
        if crossed(V[i], pr.vpeak_mV[p]):
            V[i], U[i] = reset(U[i], pr.Vr_mV[p], pr.b_pA[p])
            fired[nf] = i
            fired_b[nf] = 0
            nf += 1
    return nf


def integrate(p, t, dt, nr, pr, rc, zig, ns, G, now, now_dirty, mod, pin):
    """One step of population ``p`` (arguments, flags, and why the loop is a function of its
    own, as in :func:`l5sim.kernels.izh2003.integrate`)."""
    scheme = nr.scheme[p]
    lag = nr.detect_next_step[p] > 0
    C, gL, EL, VT, DT = pr.C_pF[p], pr.gL_nS[p], pr.EL_mV[p], pr.VT_mV[p], pr.DeltaT_mV[p]
    a, tau_w, b, Vr, vpeak, cap = pr.a_nS[p], pr.tau_w_ms[p], pr.b_pA[p], pr.Vr_mV[p], pr.vpeak_mV[p], \
        pr.nmda_cap_nS[p]
    is_off = mod[p, M_SOMA_DRIVE_PA]
    V, W, flag, dval = ns.v, ns.u, ns.flag, ns.diverged_value
    bias, sig, rng, kap = ns.soma_bias, ns.soma_noise_sd, ns.rng, ns.kappa
    zk, zw, zf = zig
    used = rc.used
    rev, mg, decay = rc.reversal_mV, rc.mg_block, rc.decay
    population_loop(nr.pop_start[p], nr.pop_start[p + 1], dt, scheme, lag, C, gL, EL, VT, DT, a, tau_w, b, Vr,
                    vpeak, cap, is_off, V, W, flag, dval, bias, sig, rng, kap, zk, zw, zf, now, G, used, rev, mg, decay)


def population_loop(lo, hi, dt, scheme, lag, C, gL, EL, VT, DT, a, tau_w, b, Vr, vpeak, cap, is_off, V, W, flag,
                    dval, bias, sig, rng, kap, zk, zw, zf, now, G, used, rev, mg, decay):
    """The loop over neurons lo..hi-1 of :func:`integrate`."""
    for i in prange(lo, hi):
        I_s = soma_input(i, bias, sig, is_off, rng, zk, zw, zf)
        I_s, I_d = take_arrivals(now, used, G, kap, i, I_s, 0.0)
        v = V[i]
        gt, gE = soma_conductance(G, rev, mg, i, v, cap)
        vn, w = step(scheme, v, W[i], I_s, gt, gE, C, gL, EL, VT, DT, a, tau_w, dt)
        if not lag and crossed(vn, vpeak):
            # the exponential runaway is the upstroke: a step that overshoots vpeak by any
            # amount (the term grows as exp(v / DeltaT)) is a spike, tested before divergence
            vn, w = reset(w, Vr, b)
            flag[i] = 1
        else:
            fl = check(vn, w)
            if fl:
                flag[i] = fl
                dval[i] = vn if fl == 3 else w
        V[i] = vn
        W[i] = w
        decay_conductances(G, decay, i)
