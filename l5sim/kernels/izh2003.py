"""Izhikevich (2003) point neuron: step functions and the population loop.

Model (Izhikevich 2003, IEEE Trans Neural Netw 14:1569, eqs. 1-3), dimensionless units::

    dv/dt = 0.04 v^2 + 5 v + 140 - u + I,   du/dt = a (b v - u)
    if v >= vpeak (30):  v <- c,  u <- u + d

Schemes (``Neurons.scheme``): ``izh2003`` is the published listing (v in two half-steps
of dt / 2 with u fixed, then u from the new v); ``euler`` is forward Euler (u from the old
v). Parameters: :class:`~l5sim.kernels.records.Izh2003Params` (per population) and the
per-neuron ``a, b, c, d`` of :class:`~l5sim.kernels.records.Neurons`. The point kernel
(:mod:`.point`) uses the same step functions.
"""
from __future__ import annotations

import numba as nb
import numpy as np
from numba import prange

from .._numba_config import NJIT
from .receptors import decay_conductances, soma_conductance, soma_input, take_arrivals
from .records import I_IZH03, M_RESET_U_OFFSET, M_RESET_V_OFFSET, M_SOMA_DRIVE_PA, R_CURRENT, UMAX, VMAX


@nb.njit(inline="always", **NJIT)
def step_izh2003(v, u, I, a, b, dt):
    """The published scheme: two half-steps of v, then u from the new v."""
    h = 0.5 * dt
    vn = v + h * (0.04 * v * v + 5.0 * v + 140.0 - u + I)
    vn = vn + h * (0.04 * vn * vn + 5.0 * vn + 140.0 - u + I)
    return vn, u + dt * a * (b * vn - u)


@nb.njit(inline="always", **NJIT)
def step_euler(v, u, I, a, b, dt):
    """Forward Euler: v and u from the old state."""
    vn = v + dt * (0.04 * v * v + 5.0 * v + 140.0 - u + I)
    return vn, u + dt * a * (b * v - u)


@nb.njit(inline="always", **NJIT)
def step(scheme, v, u, I, a, b, dt):
    """One step of the registered ``scheme``."""
    if scheme == I_IZH03:
        return step_izh2003(v, u, I, a, b, dt)
    return step_euler(v, u, I, a, b, dt)


@nb.njit(inline="always", **NJIT)
def crossed(v, vpeak):
    """The spike test."""
    return v >= vpeak


@nb.njit(inline="always", **NJIT)
def reset(u, c, d):
    """(v, u) after a spike."""
    return c, u + d


@nb.njit(inline="always", **NJIT)
def check(vn, u):
    """Divergence flag of a new state: 0 fine, 3 v out of bounds, 4 u out of bounds."""
    if not (vn > -VMAX and vn < VMAX):
        return 3
    if not (u > -UMAX and u < UMAX):
        return 4
    return 0


@nb.njit(inline="always", **NJIT)
def detect_next(p, lo, hi, c_off, d_off, nr, pr, ns, fired, fired_b, nf):
    """``next_step`` detection at the start of a step: neurons lo..hi-1 of population p
    whose v, left by the previous step, is at or above the cut-off are reset and listed in
    ``fired`` (after its first ``nf`` entries); returns the new count. ``nr``: the
    ``Neurons`` record, ``pr``: the model's parameter record, ``ns``: the ``NeuronState``."""
    V, U = ns.v, ns.u
    vpeak = pr.vpeak_mV[p]
    for i in range(lo, hi):
        if crossed(V[i], vpeak):
            V[i], U[i] = reset(U[i], nr.c[i] + c_off, nr.d[i] + d_off)
            fired[nf] = i
            fired_b[nf] = 0
            nf += 1
    return nf


def integrate(p, t, dt, nr, pr, rc, zig, ns, G, now, now_dirty, mod, pin):
    """One step of population ``p``: read and clear its arrivals, integrate, and (same-step
    detection) reset the cells that fire; ``st.neurons.flag`` marks spikes (1) and
    divergence (3: v, 4: u), ``diverged_value`` holds the diverging value.

    The records are unpacked here and the loop (:func:`population_loop`) sees only arrays
    and scalars: numba's parallel variant lost the writes of a ``prange`` loop into arrays
    taken from a namedtuple argument (numba 0.68).

    It takes the sub-records it reads (``Neurons``, the model's parameters, ``Receptors``,
    ``Ziggurat``, ``NeuronState``, ``SynapseState``, ``ModulationState.value``), not
    ``Net`` and ``State`` whole: see :func:`l5sim.kernels.engine._run_chunk`."""
    scheme = nr.scheme[p]
    lag = nr.detect_next_step[p] > 0
    vpeak = pr.vpeak_mV[p]
    is_off = mod[p, M_SOMA_DRIVE_PA]
    c_off = mod[p, M_RESET_V_OFFSET]
    d_off = mod[p, M_RESET_U_OFFSET]
    ca, cb, cc, cd = nr.a, nr.b, nr.c, nr.d
    V, U, flag, dval = ns.v, ns.u, ns.flag, ns.diverged_value
    bias, sig, rng, kap = ns.soma_bias, ns.soma_noise_sd, ns.rng, ns.kappa
    zk, zw, zf = zig
    used, cond_s, cond_d = rc.used, rc.soma_conductance, rc.dend_conductance
    rev, mg, decay = rc.reversal_mV, rc.mg_block, rc.decay
    population_loop(nr.pop_start[p], nr.pop_start[p + 1], dt, scheme, lag, vpeak, is_off, c_off, d_off,
                    ca, cb, cc, cd, V, U, flag, dval, bias, sig, rng, kap, zk, zw, zf, now, G, used, cond_s,
                    cond_d, rev, mg, decay)


def population_loop(lo, hi, dt, scheme, lag, vpeak, is_off, c_off, d_off, ca, cb, cc, cd, V, U, flag, dval,
                    bias, sig, rng, kap, zk, zw, zf, now, G, used, cond_s, cond_d, rev, mg, decay):
    """The loop over neurons lo..hi-1 of :func:`integrate`."""
    n_ch = used.shape[0]
    if cond_s.shape[0] == 0 and cond_d.shape[0] == 0:
        # Fast path of the 2003 networks: voltage-jump synapses only. Same operations in
        # the same order as the general loop below, minus the branches LLVM could not
        # remove from it (the kernel-vs-reference tests check it bit for bit).
        for i in prange(lo, hi):
            I = soma_input(i, bias, sig, is_off, rng, zk, zw, zf)
            for q in range(n_ch):
                ch = used[q]
                x = now[ch, i]
                if x != 0.0:
                    now[ch, i] = 0.0
                    if ch == 2 * R_CURRENT:
                        I += x
            vn, u = step(scheme, V[i], U[i], I, ca[i], cb[i], dt)
            fl = check(vn, u)
            if fl:
                flag[i] = fl
                dval[i] = vn if fl == 3 else u
            elif not lag and crossed(vn, vpeak):
                vn, u = reset(u, cc[i] + c_off, cd[i] + d_off)
                flag[i] = 1
            V[i] = vn
            U[i] = u
        return
    for i in prange(lo, hi):
        I_s = soma_input(i, bias, sig, is_off, rng, zk, zw, zf)
        I_s, I_d = take_arrivals(now, used, G, kap, i, I_s, 0.0)
        v = V[i]
        gt, gE = soma_conductance(G, rev, mg, i, v, np.inf)
        vn, u = step(scheme, v, U[i], I_s + gE - gt * v, ca[i], cb[i], dt)
        fl = check(vn, u)
        if fl:
            flag[i] = fl
            dval[i] = vn if fl == 3 else u
        elif not lag and crossed(vn, vpeak):
            vn, u = reset(u, cc[i] + c_off, cd[i] + d_off)
            flag[i] = 1
        V[i] = vn
        U[i] = u
        decay_conductances(G, decay, i)
