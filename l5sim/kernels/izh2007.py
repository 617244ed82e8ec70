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

from .._numba_config import INTERNAL, NJIT, NOALIAS
from .drive import block_drive
from .izh2003 import check
from .receptors import block_arrivals, block_inputs, soma_sums
from .records import (I_SEMI, M_RESET_U_OFFSET, M_RESET_V_OFFSET, M_SOMA_DRIVE_PA, PARALLEL_MIN_BLOCKS, RING_LINE,
                      U_BELOW, U_CUBIC, U_LINEAR, UMAX, VMAX)


@nb.njit(inline="always", **NJIT)
def soma_v(scheme, v, u, I, gt, gE, C, k, vr, vt, dt):
    """New v of the quadratic soma with conductance input (gt, gE = sum g, sum g E):
    semi-implicit in the conductances or forward Euler."""
    drive = k * (v - vr) * (v - vt) - u + I
    if scheme == I_SEMI:
        # (v + dt/C (drive + gE)) / (1 + dt gt / C) with dt/C once (hoisted out of the
        # neuron loops): one division per neuron, not two (they bound the loops' speed)
        h = dt / C
        return (v + h * (drive + gE)) / (1.0 + h * gt)
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


def integrate(p, t, dt, nr, pr, rc, zig, ns, G, now, now_dirty, mod, pin):
    """One step of population ``p`` (arguments, flags, and why the loop is a function of its
    own, as in :func:`l5sim.kernels.izh2003.integrate`)."""
    (scheme, lag, C, kk, vr, vt, vpeak, vpeak_u, c_u, u_max, umode, vb, cap_nmda, ceiling, is_off, c_off,
     d_off) = step_params(p, nr, pr, mod)
    ca, cb, cc, cd = nr.a, nr.b, nr.c, nr.d
    V, U, flag, dval = ns.v, ns.u, ns.flag, ns.diverged_value
    bias, sig, rng, kap = ns.soma_bias, ns.soma_noise_sd, ns.rng, ns.kappa
    zk, zw, zf = zig
    used = rc.used
    rev, mg, decay = rc.reversal_mV, rc.mg_block, rc.decay
    population_loop(nr.pop_start[p], nr.pop_start[p + 1], t, dt, scheme, lag, C, kk, vr, vt, vpeak, vpeak_u,
                    c_u, u_max, umode, vb, cap_nmda, ceiling, is_off, c_off, d_off, ca, cb, cc, cd, V, U, flag, dval,
                    bias, sig, rng, kap, zk, zw, zf, now, now_dirty, G, used, rev, mg, decay, ns.scratch, pin, nr.kind,
                    nr.pop_of)


@nb.njit(inline="always", **NJIT)
def step_params(p, nr, pr, mod):
    """Population ``p``'s scalar arguments of :func:`block_step` in this step, from
    ``scheme`` to ``d_off``."""
    lag = nr.detect_next_step[p] > 0
    return (nr.scheme[p], lag, pr.C_pF[p], pr.k_nS_per_mV[p], pr.vr_mV[p], pr.vt_mV[p], pr.vpeak_mV[p],
            pr.vpeak_u_mV_per_pA[p], pr.c_u_mV_per_pA[p], pr.u_max_pA[p], pr.u_mode[p], pr.vb_mV[p],
            pr.nmda_cap_nS[p], pr.reset_ceiling_mV[p], mod[p, M_SOMA_DRIVE_PA], mod[p, M_RESET_V_OFFSET],
            mod[p, M_RESET_U_OFFSET])


#: The conductance channels that can be nonzero in this model's populations (as
#: :data:`l5sim.kernels.l5cell.LIVE`); here, as compiled alone: all.
LIVE = (True,) * 8
#: numba options of :func:`block_step` (the variants compile it with the same).
BLOCK_STEP_OPTS = dict(NJIT, _nrt=False, **NOALIAS, **INTERNAL)

#: Neurons per block of the population loop (as :data:`l5sim.kernels.l5cell.BLOCK`).
BLOCK = 256


def population_loop(lo, hi, t, dt, scheme, lag, C, kk, vr, vt, vpeak, vpeak_u, c_u, u_max, umode, vb, cap_nmda,
                    ceiling, is_off, c_off, d_off, ca, cb, cc, cd, V, U, flag, dval, bias, sig, rng, kap, zk, zw, zf,
                    now, now_dirty, G, used, rev, mg, decay, scratch, pin, kind, pop_of):
    """Neurons lo..hi-1 of :func:`integrate`, in blocks of :data:`BLOCK` (a ``prange``:
    blocks run in parallel in the parallel kernel, from :data:`~l5sim.kernels.records.PARALLEL_MIN_BLOCKS`
    blocks on), each advanced by :func:`block_step`."""
    # blocks on whole lines of ``now`` (from lo rounded down to one), so that two blocks
    # that run at once never mark the same dirty byte (receptors.block_arrivals, drive.block_drive)
    base = lo - lo % RING_LINE
    n_blk = (hi - base + BLOCK - 1) // BLOCK
    GR = (G[0], G[1], G[2], G[3], G[4], G[5], G[6], G[7])
    if n_blk < PARALLEL_MIN_BLOCKS:       # too little work to share (records.PARALLEL_MIN_BLOCKS)
        for blk in range(n_blk):
            a = max(lo, base + blk * BLOCK)
            b = min(base + (blk + 1) * BLOCK, hi)
            block_step(a, b, t, dt, scheme, lag, C, kk, vr, vt, vpeak, vpeak_u, c_u, u_max,
                       umode, vb, cap_nmda, ceiling, is_off, c_off, d_off, ca, cb, cc, cd, V, U, flag, dval, bias, sig,
                       rng, kap, (zk, zw, zf), now, now_dirty, GR, used, rev, mg, decay, pin, kind, pop_of, scratch[0],
                       scratch[1], scratch[2], scratch[3])
    else:
        for blk in prange(n_blk):
            a = max(lo, base + blk * BLOCK)
            b = min(base + (blk + 1) * BLOCK, hi)
            block_step(a, b, t, dt, scheme, lag, C, kk, vr, vt, vpeak, vpeak_u, c_u, u_max,
                       umode, vb, cap_nmda, ceiling, is_off, c_off, d_off, ca, cb, cc, cd, V, U, flag, dval, bias, sig,
                       rng, kap, (zk, zw, zf), now, now_dirty, GR, used, rev, mg, decay, pin, kind, pop_of, scratch[0],
                       scratch[1], scratch[2], scratch[3])


@nb.njit(**BLOCK_STEP_OPTS)
def block_step(a, b, t, dt, scheme, lag, C, kk, vr, vt, vpeak, vpeak_u, c_u, u_max, umode, vb, cap_nmda,
               ceiling, is_off, c_off, d_off, ca, cb, cc, cd, V, U, flag, dval, bias, sig, rng, kap, zig, now,
               now_dirty, GR, used, rev, mg, decay, pin, kind, pop_of, IS, ID, S2, S3):
    """Neurons a..b-1 of :func:`integrate` in passes (as :func:`l5sim.kernels.l5cell.block_step`,
    compiled ``noalias`` for the same reason): the Poisson drive (``S2``, ``S3``: free
    scratch rows for it), the injected current, the arrivals, the update of v, u and the
    conductances (branch-free: vectorised; it marks in ``S2`` the neurons that spiked or
    left their bounds), then a scan of those for divergence and spikes in index order (a
    scan of every neuron took 40% of the function's time on the 10k column). Every draw and
    every sum keeps its order, so the results are those of one loop over neurons. ``ID``
    takes the dendritic currents a point cell has no use for (they are read and dropped, as
    before)."""
    zk, zw, zf = zig
    block_drive(a, b, t, dt, pin, kind, pop_of, rng, now, now_dirty, S2, S3)   # (before the noise draws)
    is_, os_ = block_inputs(a, b, IS, bias, sig, is_off, rng, zk, zw, zf, used)
    block_arrivals(a, b, now, now_dirty, used, GR, kap, IS, ID)
    v_, u_, ca_, cb_ = V[a:b], U[a:b], ca[a:b], cb[a:b]
    g0, g1, g2, g3 = GR[0][a:b], GR[1][a:b], GR[2][a:b], GR[3][a:b]
    g4, g5, g6, g7 = GR[4][a:b], GR[5][a:b], GR[6][a:b], GR[7][a:b]
    e0, e2, e4, e6 = rev[0], rev[2], rev[4], rev[6]
    m0, m2, m4, m6 = mg[0], mg[2], mg[4], mg[6]
    att_ = S2[a:b]      # (free after the drive) 1 where the scan below has work
    n_att = 0
    for k in range(b - a):
        v = v_[k]
        u = u_[k]
        gt, gE = soma_sums(v, g0[k] if LIVE[0] else 0.0, g2[k] if LIVE[2] else 0.0, g4[k] if LIVE[4] else 0.0,
                           g6[k] if LIVE[6] else 0.0, m0, m2, m4, m6, e0, e2, e4, e6, cap_nmda)
        vn = soma_v(scheme, v, u, is_[k] + os_, gt, gE, C, kk, vr, vt, dt)
        un = u + dt * ca_[k] * (recovery_target(umode, v, cb_[k], vr, vb) - u)
        v_[k] = vn
        u_[k] = un
        # a spike (same-step detection) or a state out of bounds: work for the scan
        spike = (vn >= vpeak + vpeak_u * un) if not lag else False
        calm = vn > -VMAX and vn < VMAX and un > -UMAX and un < UMAX and not spike
        att_[k] = 0.0 if calm else 1.0
        n_att += 0 if calm else 1
        if LIVE[0]:
            g0[k] *= decay[0]
        if LIVE[1]:
            g1[k] *= decay[1]
        if LIVE[2]:
            g2[k] *= decay[2]
        if LIVE[3]:
            g3[k] *= decay[3]
        if LIVE[4]:
            g4[k] *= decay[4]
        if LIVE[5]:
            g5[k] *= decay[5]
        if LIVE[6]:
            g6[k] *= decay[6]
        if LIVE[7]:
            g7[k] *= decay[7]
    # --- spikes and divergence, in index order, where the update found any
    for i in range(a, b if n_att > 0 else a):
        if S2[i] == 0.0:
            continue
        vn = V[i]
        u = U[i]
        fl = check(vn, u)
        if fl:
            flag[i] = fl
            dval[i] = vn if fl == 3 else u
        elif not lag and crossed(vn, u, vpeak, vpeak_u):
            V[i], U[i] = reset(u, cc[i] + c_off, cd[i] + d_off, c_u, u_max, ceiling, vpeak_u)
            flag[i] = 1
