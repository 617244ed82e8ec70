"""The time-stepping kernel: all populations, synaptic delivery, inputs, traces.

One call advances the whole network by up to ``n_steps`` steps (a chunk); Python only
steps between chunks. Data arrive as three namedtuples of flat arrays (``Net``: structure
and parameters, read-only; ``State``: everything the kernel mutates; ``Out``: recording
buffers), built by :mod:`l5sim.build` and :mod:`l5sim.simulate`.

Order of one step t (science.md section 3; Izhikevich 2003 listing for ``next_step``):

1. shift the spike-history registers; populations with ``next_step`` detection check
   v >= vpeak (state left by the previous step), reset and emit; Poisson sources emit;
   emitted spikes are pushed into the delay ring at slot t + delay;
2. external Poisson inputs add their events into ring slot t;
3. each neuron reads and clears ring slot t (conductance increments, voltage-jump
   currents, coupling-gate increments), integrates one step with its registered scheme,
   and (``same_step`` populations) detects, resets and emits; conductances then decay by
   exp(-dt / tau);
4. traces are sampled.

Status codes returned: 0 finished, 1 spike buffer full (Python drains it and calls again),
2 numerical divergence (``diverged`` holds neuron, step, variable code and value).

Two compilations of the same function: ``run_chunk`` (serial) and ``run_chunk_parallel``,
whose ``prange`` loops run the neurons of each population, and delivery, STDP depression
and STDP potentiation by blocks of postsynaptic neurons (``Net.blk``). Every synapse,
trace and target belongs to one block and each receives its updates in spike order, so
the two give bitwise the same results for any thread count (tests/test_parallel.py).
Delivery prefetches the next fired neuron's sparse rows (:mod:`.memory`).
"""
from __future__ import annotations

import math
from collections import namedtuple

import types

import numba as nb
import numpy as np
from numba import prange

from .._numba_config import NJIT, NJIT_PARALLEL
from .memory import prefetch
from .rng import normal, poisson_small, uniform

# Population kinds
K_L5, K_IZH07, K_IZH03, K_POISSON, K_GEN = 0, 1, 2, 3, 4
# Integration schemes (registered names in l5sim.build.INTEGRATORS)
I_EULER, I_SEMI, I_IZH03 = 0, 1, 2
# Coupling-gate modes (column P_GATE of ``pp``; l5sim.models.l5pyramidal): LVPA's two
# Bernoulli draws every step, the graded deterministic gate, one draw per somatic spike
G_PER_STEP, G_DETERMINISTIC, G_PER_SPIKE = 0, 1, 2
# Receptor and channel layout (mirrors l5sim.models.synapses)
R_AMPA, R_NMDA, R_GABA_A, R_GABA_B, R_CURRENT, R_GATE = 0, 1, 2, 3, 4, 5
NCH = 12

# Columns of the per-population parameter table ``pp`` (float64).
(P_C, P_K, P_VR, P_VT, P_VPEAK, P_VPEAK_U, P_C_U, P_UMAX, P_UMODE, P_VB, P_NMDA_CAP,
 P_C_BURST, P_D_BURST, P_DG_AD, P_DECAY_AD, P_E_AD, P_CD, P_EL, P_GL, P_GCA, P_EHALF,
 P_DD, P_TAUW, P_BD, P_PLATEAU, P_BAP, P_BAP_START, P_BAP_STOP, P_KAPPA, P_KAPPA_STATE,
 P_KAPPA_REST, P_DECAY_KAPPA, P_GATE, P_GS, P_G, P_RATE, P_LAG, P_INTEG,
 P_KAPPA_OFF, P_ID_OFF, P_IS_OFF, P_C_OFF, P_D_OFF) = range(43)
NPP = 43
# Columns of the plastic-pathway table ``sp`` (mirrors l5sim.plasticity).
(S_TRIPLET, S_NEAREST, S_MULT, S_DEFERRED, S_AP, S_AM, S_DEC_P, S_DEC_M, S_A2P, S_A3P, S_A2M, S_A3M,
 S_DEC_X, S_DEC_Y, S_WMIN, S_WMAX, S_LR, S_INTERVAL, S_BIAS, S_SDDECAY) = range(20)

#: Divergence bounds: a state beyond them (or NaN) stops the run with a DivergenceError.
#: They are far above any physiological value but below floating-point overflow: the 2003
#: model's v may legitimately reach ~1e4 within one 1 ms step under massive input before
#: it is reset, so the bound is not a spike threshold.
VMAX = 1.0e8
UMAX = 1.0e10

# Trace variable codes
(T_V, T_U, T_VD, T_WD, T_KAPPA, T_GAD, T_IBAP, T_BURST) = range(8)
T_G0 = 8  # T_G0 + channel index: conductance of that channel

Net = namedtuple("Net", [
    "dt", "pop_start", "pop_kind", "pp", "neuron_pop",
    "a", "b", "c", "d",
    "ch_used", "cond_s", "cond_d", "ch_E", "ch_mg", "ch_decay",
    "row_ptr", "post", "w", "dly", "path_row0", "path_pre0", "pop_path_ptr", "pop_paths", "path_dly", "path_dense",
    "path_rec_ptr", "path_rec_ch", "path_rec_scale",
    "pin_lo", "pin_hi", "pin_rate", "pin_t0", "pin_t1", "pin_ramp", "pin_shared",
    "pin_w_ptr", "pin_w", "pin_rec_ptr", "pin_rec_ch", "pin_rec_scale",
    "rec_mask",
    "sp", "path_plastic", "pl_pre_lo", "pl_post_lo", "pl_xoff", "pl_yoff", "pl_syn_lo", "pl_syn_hi",
    "col_ptr", "col_off", "col_syn", "col_pre", "pop_post_ptr", "pop_post",
    "mod_kind", "mod_index", "mod_col", "gen_t", "gen_i", "blk", "zig_k", "zig_w", "zig_f",
])
State = namedtuple("State", [
    "v", "u", "vd", "wd", "gad", "kap", "burst", "hist", "g", "ring",
    "rng", "spare", "has_spare", "pin_rng", "pin_spare", "pin_has_spare",
    "bias_s", "bias_d", "sig_s", "sig_d",
    "ppw", "path_gain", "lr", "xtr", "xtr2", "ytr", "ytr2", "sd", "mod_delta", "gen_pos", "flag", "dval", "ibap",
])
Out = namedtuple("Out", [
    "spk_i", "spk_t", "spk_b", "n_spk",
    "tr_neuron", "tr_var", "tr_every", "tr_off", "tr_cap", "tr_ptr", "tr_buf",
    "diverged",
])


@nb.njit(inline="always", **NJIT)
def _mg_block(v):
    x = (v + 80.0) / 60.0
    x2 = x * x
    return x2 / (1.0 + x2)


@nb.njit(inline="always", **NJIT)
def _threshold(kind, v, u, vpeak, vpeak_u):
    """Whether a neuron of ``kind`` with state (v, u) crosses its spike cut-off."""
    if kind == K_IZH07:
        return v >= vpeak + vpeak_u * u
    return v >= vpeak


@nb.njit(inline="always", **NJIT)
def _reset_values(kind, u, c, d, bm, c_b, d_b, det, c_u, u_max):
    """Reset of a neuron that fired: returns (v, u, fired-in-burst-mode flag).

    L5 cells use (c_b, d_b) when the gated plateau flag ``bm`` is set (graded by ``bm`` in
    the deterministic gate); LTS/TC 2007 cells have u-dependent reset and a cap on u.
    2007 cells have no burst reset: for them the builder puts in (c_b, d_b) the reset
    ceiling (vpeak - reset_margin_mV, vpeak_u), and the reset c + c_u u is clamped to at
    most c_b + d_b u_new, the margin below the cut-off that the next threshold test uses
    (u_new = min(u + d, u_max)). Without it the book's LTS cell (reset -53 + 0.04 u, cut-off
    40 - 0.1 u, cap 670) resets at or above its cut-off once u >= 664 and fires every step
    (:mod:`l5sim.models.izhikevich`).
    """
    if kind == K_L5:
        if det:
            return c + bm * (c_b - c), u + d + bm * (d_b - d), 1 if bm > 0.5 else 0
        if bm > 0.5:
            return c_b, u + d_b, 1
        return c, u + d, 0
    if kind == K_IZH07:
        un = min(u + d, u_max)
        return min(c + c_u * u, c_b + d_b * un), un, 0
    return c, u + d, 0


@nb.njit(inline="always", **NJIT)
def _clip(x, lo, hi):
    """x clipped to [lo, hi] (the hard bounds of plastic weights)."""
    return lo if x < lo else (hi if x > hi else x)


@nb.njit(inline="always", **NJIT)
def _stdp_apply(wsyn, SD, sy, dw, depress, mult, eta, deferred, wmin, wmax):
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
        wsyn[sy] = _clip(w + dw, wmin, wmax)


@nb.njit(inline="always", **NJIT)
def _prefetch_row(i, neuron_pop, pop_path_ptr, pop_paths, path_row0, path_pre0, path_dense, path_dly, row_ptr,
                  post, wsyn, dly):
    """Start loading the sparse rows of neuron i (targets, weights, per-synapse delays):
    called for the next spike while the current one is delivered (:mod:`.memory`)."""
    pq = neuron_pop[i]
    for q in range(pop_path_ptr[pq], pop_path_ptr[pq + 1]):
        pw = pop_paths[q]
        if path_dense[pw]:
            continue
        row = path_row0[pw] + (i - path_pre0[pw])
        s0 = row_ptr[row]
        s1 = row_ptr[row + 1]
        for s in range(s0, s1, 16):        # 64-byte lines of int32 / float32
            prefetch(post, s)
            prefetch(wsyn, s)
        if path_dly[pw] < 0:
            for s in range(s0, s1, 32):    # of uint16
                prefetch(dly, s)


@nb.njit(inline="always", **NJIT)
def _lower_bound(a, lo, hi, x):
    """First index k in [lo, hi) with a[k] >= x (a sorted there), else hi."""
    while lo < hi:
        mid = (lo + hi) >> 1
        if a[mid] < x:
            lo = mid + 1
        else:
            hi = mid
    return lo


@nb.njit(inline="always", **NJIT)
def trace_value(net, st, pp, i, var):
    """The value of trace variable ``var`` (a ``T_*`` code) of neuron ``i`` now."""
    if var == T_V:
        return st.v[i]
    if var == T_U:
        return st.u[i]
    if var == T_VD:
        return st.vd[i]
    if var == T_WD:
        return st.wd[i]
    if var == T_KAPPA:
        p = net.neuron_pop[i]
        x = (st.kap[i] if pp[p, P_KAPPA_STATE] > 0.5 else pp[p, P_KAPPA]) + pp[p, P_KAPPA_OFF]
        return min(1.0, max(0.0, x))     # the effective gate, as the neuron uses it
    if var == T_GAD:
        return st.gad[i]
    if var == T_IBAP:
        return st.ibap[i]          # the bAP current that entered the dendrite (gated)
    if var == T_BURST:
        return st.burst[i]
    return st.g[var - T_G0, i]


def _run_chunk(net, st, out, t0, n_steps):
    """Advance the network from step ``t0`` by ``n_steps`` steps.

    Returns ``(status, steps_done)``; see the module docstring for status codes.
    """
    dt = net.dt
    pp0 = net.pp
    pp = st.ppw
    pop_start = net.pop_start
    pop_kind = net.pop_kind
    n_pop = pop_kind.shape[0]
    ca = net.a
    cb = net.b
    cc = net.c
    cd = net.d
    ch_used = net.ch_used
    n_ch = ch_used.shape[0]
    cond_s = net.cond_s          # conductance channels on the soma / on the dendrite
    n_cs = cond_s.shape[0]
    cond_d = net.cond_d
    n_cd = cond_d.shape[0]
    ch_E = net.ch_E
    ch_mg = net.ch_mg
    ch_decay = net.ch_decay
    row_ptr = net.row_ptr
    post = net.post
    wsyn = net.w
    dly = net.dly
    rec_mask = net.rec_mask
    neuron_pop = net.neuron_pop
    pop_path_ptr = net.pop_path_ptr
    pop_paths = net.pop_paths
    path_row0 = net.path_row0
    path_pre0 = net.path_pre0
    path_rec_ptr = net.path_rec_ptr
    path_rec_ch = net.path_rec_ch
    path_rec_scale = net.path_rec_scale
    path_gain = st.path_gain
    path_dly = net.path_dly
    path_dense = net.path_dense
    # plasticity
    sp = net.sp
    n_pl = sp.shape[0]
    path_plastic = net.path_plastic
    pl_pre_lo = net.pl_pre_lo
    pl_post_lo = net.pl_post_lo
    pl_xoff = net.pl_xoff
    pl_yoff = net.pl_yoff
    col_ptr = net.col_ptr
    col_off = net.col_off
    col_syn = net.col_syn
    col_pre = net.col_pre
    pop_post_ptr = net.pop_post_ptr
    pop_post = net.pop_post
    lr = st.lr
    XT = st.xtr
    XT2 = st.xtr2
    YT = st.ytr
    YT2 = st.ytr2
    SD = st.sd
    # modulation
    mod_kind = net.mod_kind
    mod_index = net.mod_index
    mod_col = net.mod_col
    mod_delta = st.mod_delta
    n_mod = mod_kind.shape[0]
    V = st.v
    Uu = st.u
    VD = st.vd
    WD = st.wd
    GAD = st.gad
    KAP = st.kap
    BURST = st.burst
    HIST = st.hist
    G = st.g
    ring = st.ring
    rng = st.rng
    zk = net.zig_k
    zw = net.zig_w
    zf = net.zig_f
    bias_s = st.bias_s
    bias_d = st.bias_d
    sig_s = st.sig_s
    sig_d = st.sig_d
    spk_i = out.spk_i
    spk_t = out.spk_t
    spk_b = out.spk_b
    n_spk = out.n_spk
    D = ring.shape[0]
    N = V.shape[0]
    cap = spk_i.shape[0]
    one = np.uint64(1)
    fired = np.empty(N, np.int64)
    fired_b = np.empty(N, np.uint8)
    flag = st.flag
    dval = st.dval
    blk = net.blk
    n_blk = blk.shape[0] - 1
    for step in range(n_steps):
        t = t0 + step
        # Room for one step of spikes in the worst case (every neuron fires).
        if n_spk[0] + N > cap:
            return 1, step
        slot = t % D
        # ---- 0. neuromodulation: parameters of this step = base + precomputed deltas
        if n_mod > 0:
            for k in range(n_mod):
                if mod_kind[k] == 0:
                    pp[mod_index[k], mod_col[k]] = pp0[mod_index[k], mod_col[k]]
                elif mod_kind[k] == 1:
                    path_gain[mod_index[k]] = 1.0
                else:
                    lr[mod_index[k]] = sp[mod_index[k], S_LR]
            for k in range(n_mod):
                x = mod_delta[step, k]
                if mod_kind[k] == 0:
                    pp[mod_index[k], mod_col[k]] += x
                elif mod_kind[k] == 1:
                    path_gain[mod_index[k]] *= max(0.0, 1.0 + x)
                else:
                    lr[mod_index[k]] *= max(0.0, 1.0 + x)
        # ---- STDP traces decay (pl_xoff / pl_yoff have n_plastic + 1 entries)
        for q in range(n_pl):
            dp = sp[q, S_DEC_P]
            dx = sp[q, S_DEC_X]
            for x in range(pl_xoff[q], pl_xoff[q + 1]):
                XT[x] *= dp
                XT2[x] *= dx
            dm = sp[q, S_DEC_M]
            dy = sp[q, S_DEC_Y]
            for y in range(pl_yoff[q], pl_yoff[q + 1]):
                YT[y] *= dm
                YT2[y] *= dy
        for p in range(n_pop):
            if pop_kind[p] == K_L5:          # only L5 cells read their spike history (bAP)
                for i in range(pop_start[p], pop_start[p + 1]):
                    HIST[i] = HIST[i] << one
        nf = 0
        f0 = 0
        for phase in range(2):
            if phase == 0:
                # ---- 1. scheduled spikes of generators, next-step detection, Poisson sources
                gp = st.gen_pos[0]
                while gp < net.gen_t.shape[0] and net.gen_t[gp] < t:
                    gp += 1
                while gp < net.gen_t.shape[0] and net.gen_t[gp] == t:
                    gi = net.gen_i[gp]
                    if nf == 0 or fired[nf - 1] != gi:   # one spike per neuron and step
                        fired[nf] = gi
                        fired_b[nf] = 0
                        nf += 1
                    gp += 1
                st.gen_pos[0] = gp
                for p in range(n_pop):
                    kind = pop_kind[p]
                    lo = pop_start[p]
                    hi = pop_start[p + 1]
                    if kind == K_POISSON:
                        prob = pp[p, P_RATE] * dt * 1e-3
                        for i in range(lo, hi):
                            if uniform(rng, i) < prob:
                                fired[nf] = i
                                fired_b[nf] = 0
                                nf += 1
                    elif pp[p, P_LAG] > 0.5:
                        vpeak = pp[p, P_VPEAK]
                        vpeak_u = pp[p, P_VPEAK_U]
                        for i in range(lo, hi):
                            if _threshold(kind, V[i], Uu[i], vpeak, vpeak_u):
                                vn, un, isb = _reset_values(kind, Uu[i], cc[i] + pp[p, P_C_OFF],
                                                            cd[i] + pp[p, P_D_OFF], BURST[i], pp[p, P_C_BURST],
                                                            pp[p, P_D_BURST], pp[p, P_GATE] == G_DETERMINISTIC,
                                                            pp[p, P_C_U], pp[p, P_UMAX])
                                V[i] = vn
                                Uu[i] = un
                                if kind == K_L5:
                                    GAD[i] += pp[p, P_DG_AD]
                                fired[nf] = i
                                fired_b[nf] = isb
                                nf += 1
            else:
                # ---- 2. external Poisson inputs into slot t
                for k in range(net.pin_lo.shape[0]):
                    if t < net.pin_t0[k] or t >= net.pin_t1[k]:
                        continue
                    rate = net.pin_rate[k]
                    if net.pin_ramp[k] > 0:
                        frac = (t - net.pin_t0[k] + 1) / net.pin_ramp[k]
                        if frac < 1.0:
                            rate *= frac
                    lam = rate * dt * 1e-3
                    emlam = math.exp(-lam)
                    w0 = net.pin_w_ptr[k]
                    r0 = net.pin_rec_ptr[k]
                    r1 = net.pin_rec_ptr[k + 1]
                    plo = net.pin_lo[k]
                    if net.pin_shared[k]:
                        cnt = poisson_small(st.pin_rng, k, lam)
                        if cnt > 0:
                            for j in range(plo, net.pin_hi[k]):
                                wj = cnt * net.pin_w[w0 + j - plo]
                                for r in range(r0, r1):
                                    ring[slot, net.pin_rec_ch[r], j] += wj * net.pin_rec_scale[r]
                    else:
                        for j in range(plo, net.pin_hi[k]):
                            wj = net.pin_w[w0 + j - plo]
                            if wj == 0.0:
                                continue
                            cnt = poisson_small(rng, j, lam, emlam)
                            if cnt > 0:
                                for r in range(r0, r1):
                                    ring[slot, net.pin_rec_ch[r], j] += cnt * wj * net.pin_rec_scale[r]
                # ---- 3. neurons
                for p in range(n_pop):
                    kind = pop_kind[p]
                    if kind == K_POISSON or kind == K_GEN:
                        continue
                    lo = pop_start[p]
                    hi = pop_start[p + 1]
                    integ = int(pp[p, P_INTEG])
                    lag = pp[p, P_LAG] > 0.5
                    C = pp[p, P_C]
                    kk = pp[p, P_K]
                    vr = pp[p, P_VR]
                    vt = pp[p, P_VT]
                    vpeak = pp[p, P_VPEAK]
                    vpeak_u = pp[p, P_VPEAK_U]
                    cap_nmda = pp[p, P_NMDA_CAP]
                    det = pp[p, P_GATE] == G_DETERMINISTIC
                    per_spike = pp[p, P_GATE] == G_PER_SPIKE
                    kap_state = pp[p, P_KAPPA_STATE] > 0.5
                    kap_off = pp[p, P_KAPPA_OFF]
                    is_off = pp[p, P_IS_OFF]
                    id_off = pp[p, P_ID_OFF]
                    c_off = pp[p, P_C_OFF]
                    d_off = pp[p, P_D_OFF]
                    bap_shift = np.uint64(int(pp[p, P_BAP_START]))
                    bap_mask = (one << np.uint64(int(pp[p, P_BAP_STOP] - pp[p, P_BAP_START] + 1))) - one
                    umode = pp[p, P_UMODE]
                    vb = pp[p, P_VB]
                    if kind == K_IZH03 and n_cs == 0 and n_cd == 0:
                        # Fast path of the 2003 networks: point cells with voltage-jump synapses
                        # only. Same operations in the same order as the general loop below (the
                        # kernel-vs-reference tests check it bit for bit), minus the branches
                        # LLVM could not remove from the general loop.
                        h = 0.5 * dt
                        for i in prange(lo, hi):
                            I = bias_s[i] + is_off
                            if sig_s[i] > 0.0:
                                I += sig_s[i] * normal(rng, zk, zw, zf, i)
                            for q in range(n_ch):
                                ch = ch_used[q]
                                x = ring[slot, ch, i]
                                if x != 0.0:
                                    ring[slot, ch, i] = 0.0
                                    if ch == 2 * R_CURRENT:
                                        I += x
                            v = V[i]
                            u = Uu[i]
                            if integ == I_IZH03:
                                vn = v + h * (0.04 * v * v + 5.0 * v + 140.0 - u + I)
                                vn = vn + h * (0.04 * vn * vn + 5.0 * vn + 140.0 - u + I)
                                u = u + dt * ca[i] * (cb[i] * vn - u)
                            else:
                                vn = v + dt * (0.04 * v * v + 5.0 * v + 140.0 - u + I)
                                u = u + dt * ca[i] * (cb[i] * v - u)
                            if not (vn > -VMAX and vn < VMAX):
                                flag[i] = 3
                                dval[i] = vn
                            elif not (u > -UMAX and u < UMAX):
                                flag[i] = 4
                                dval[i] = u
                            elif not lag and vn >= vpeak:
                                vn = cc[i] + c_off
                                u = u + (cd[i] + d_off)
                                flag[i] = 1
                            V[i] = vn
                            Uu[i] = u
                    else:
                      for i in prange(lo, hi):
                        # read and clear this step's arrivals
                        I_s = bias_s[i] + is_off
                        if sig_s[i] > 0.0:
                            I_s += sig_s[i] * normal(rng, zk, zw, zf, i)
                        I_d = 0.0
                        if kind == K_L5:
                            I_d = bias_d[i] + id_off
                            if sig_d[i] > 0.0:
                                I_d += sig_d[i] * normal(rng, zk, zw, zf, i)
                        for q in range(n_ch):
                            ch = ch_used[q]
                            x = ring[slot, ch, i]
                            if x != 0.0:
                                ring[slot, ch, i] = 0.0
                                rec = ch >> 1
                                if rec == R_CURRENT:
                                    if ch & 1:
                                        I_d += x
                                    else:
                                        I_s += x
                                elif rec == R_GATE:
                                    KAP[i] += (1.0 - KAP[i]) * min(x, 1.0)
                                else:
                                    G[ch, i] += x
                        v = V[i]
                        u = Uu[i]
                        # somatic synaptic conductance and its reversal-weighted sum
                        gt = 0.0
                        gE = 0.0
                        for q in range(n_cs):
                            ch = cond_s[q]
                            gc = G[ch, i]
                            if gc != 0.0:
                                if ch_mg[ch]:
                                    gc = min(gc * _mg_block(v), cap_nmda)
                                gt += gc
                                gE += gc * ch_E[ch]
                        if kind == K_L5:
                            # --- coupling gate and dendrite
                            kap = (KAP[i] if kap_state else pp[p, P_KAPPA]) + kap_off
                            kap = min(1.0, max(0.0, kap))
                            vd = VD[i]
                            wd = WD[i]
                            Fd = 1.0 / (1.0 + math.exp((pp[p, P_EHALF] - vd) / pp[p, P_DD]))
                            bap_on = ((HIST[i] >> bap_shift) & bap_mask) != 0
                            I_bap = 0.0
                            g2 = True
                            if det:
                                if bap_on:
                                    I_bap = kap * pp[p, P_BAP]
                            elif per_spike:
                                # the bAP of each spike was gated once when it fired (HIST holds
                                # only the spikes that passed); the switch is drawn in a plateau
                                if bap_on:
                                    I_bap = pp[p, P_BAP]
                            else:
                                # two independent Bernoulli(kappa) draws per step (LVPA)
                                g1 = uniform(rng, i) < kap
                                g2 = uniform(rng, i) < kap
                                if bap_on and g1:
                                    I_bap = pp[p, P_BAP]
                            st.ibap[i] = I_bap
                            gtd = 0.0
                            gEd = 0.0
                            for q in range(n_cd):
                                ch = cond_d[q]
                                gc = G[ch, i]
                                if gc != 0.0:
                                    if ch_mg[ch]:
                                        gc = gc * _mg_block(vd)
                                    gtd += gc
                                    gEd += gc * ch_E[ch]
                            hd = dt / pp[p, P_CD]
                            rest_d = (-pp[p, P_GL] * (vd - pp[p, P_EL]) + pp[p, P_GCA] * Fd + wd + I_bap + I_d
                                      + pp[p, P_G] * (v - vd))
                            dwd = (pp[p, P_BD] * (vd - pp[p, P_EL]) - wd) * (dt / pp[p, P_TAUW])
                            if integ == I_SEMI:
                                vd = (vd + hd * (rest_d + gEd)) / (1.0 + hd * gtd)
                            else:
                                vd = vd + hd * (rest_d + gEd - gtd * vd)
                            wd += dwd
                            VD[i] = vd
                            WD[i] = wd
                            plateau = vd >= pp[p, P_PLATEAU]
                            if det:
                                BURST[i] = kap if plateau else 0.0
                            elif per_spike:
                                # drawn only in a plateau: a spike fired there resets in burst mode
                                # with probability kappa, whatever dt is
                                BURST[i] = 1.0 if (plateau and uniform(rng, i) < kap) else 0.0
                            else:
                                BURST[i] = 1.0 if (plateau and g2) else 0.0
                            if kap_state:
                                KAP[i] = pp[p, P_KAPPA_REST] + (KAP[i] - pp[p, P_KAPPA_REST]) * pp[p, P_DECAY_KAPPA]
                            # --- soma: adaptation conductance, optional dendrite-to-soma current
                            gad = GAD[i]
                            gt += gad
                            gE += gad * pp[p, P_E_AD]
                            I_s += pp[p, P_GS] * Fd
                            GAD[i] = gad * pp[p, P_DECAY_AD]
                            drive = kk * (v - vr) * (v - vt) - u + I_s
                            if integ == I_SEMI:
                                vn = (v + (dt / C) * (drive + gE)) / (1.0 + dt * gt / C)
                            else:
                                vn = v + (dt / C) * (drive + gE - gt * v)
                            u = u + dt * ca[i] * (cb[i] * (v - vr) - u)
                        elif kind == K_IZH07:
                            drive = kk * (v - vr) * (v - vt) - u + I_s
                            if integ == I_SEMI:
                                vn = (v + (dt / C) * (drive + gE)) / (1.0 + dt * gt / C)
                            else:
                                vn = v + (dt / C) * (drive + gE - gt * v)
                            if umode == 0.0:
                                U = cb[i] * (v - vr)
                            elif umode == 1.0:
                                U = cb[i] * (v - vb) ** 3 if v >= vb else 0.0
                            elif umode == 2.0:
                                U = cb[i] * (v - vr) if v <= vb else 0.0
                            else:
                                U = cb[i] * (v - vr) if v > vb else 0.0
                            u = u + dt * ca[i] * (U - u)
                        else:  # K_IZH03
                            I = I_s + gE - gt * v
                            if integ == I_IZH03:
                                h = 0.5 * dt
                                vn = v + h * (0.04 * v * v + 5.0 * v + 140.0 - u + I)
                                vn = vn + h * (0.04 * vn * vn + 5.0 * vn + 140.0 - u + I)
                                u = u + dt * ca[i] * (cb[i] * vn - u)
                            else:
                                vn = v + dt * (0.04 * v * v + 5.0 * v + 140.0 - u + I)
                                u = u + dt * ca[i] * (cb[i] * v - u)
                        # divergence is flagged per neuron (no early exit inside a parallel loop)
                        if not (vn > -VMAX and vn < VMAX):
                            flag[i] = 3
                            dval[i] = vn
                        elif not (u > -UMAX and u < UMAX):
                            flag[i] = 4
                            dval[i] = u
                        elif kind == K_L5 and not (VD[i] > -VMAX and VD[i] < VMAX):
                            flag[i] = 5
                            dval[i] = VD[i]
                        elif not lag and _threshold(kind, vn, u, vpeak, vpeak_u):
                            vn, u, isb = _reset_values(kind, u, cc[i] + c_off, cd[i] + d_off, BURST[i],
                                                       pp[p, P_C_BURST], pp[p, P_D_BURST], det, pp[p, P_C_U],
                                                       pp[p, P_UMAX])
                            if kind == K_L5:
                                GAD[i] += pp[p, P_DG_AD]
                            flag[i] = 1 + isb
                        V[i] = vn
                        Uu[i] = u
                        # conductance decay
                        for q in range(n_cs):
                            ch = cond_s[q]
                            G[ch, i] *= ch_decay[ch]
                        for q in range(n_cd):
                            ch = cond_d[q]
                            G[ch, i] *= ch_decay[ch]
                    # compact this population's flags in index order (deterministic)
                    for i in range(lo, hi):
                        fl = flag[i]
                        if fl != 0:
                            flag[i] = 0
                            if fl >= 3:
                                out.diverged[0] = i
                                out.diverged[1] = t
                                out.diverged[2] = fl - 3
                                out.diverged[3] = dval[i]
                                return 2, step
                            fired[nf] = i
                            fired_b[nf] = fl - 1
                            nf += 1
            # ---- recording and spike history of this phase's spikes
            for f in range(f0, nf):
                i = fired[f]
                pq = neuron_pop[i]
                if pp[pq, P_GATE] == G_PER_SPIKE:
                    # one Bernoulli(kappa) draw per somatic spike: does its bAP reach the dendrite
                    kq = (KAP[i] if pp[pq, P_KAPPA_STATE] > 0.5 else pp[pq, P_KAPPA]) + pp[pq, P_KAPPA_OFF]
                    if uniform(rng, i) < min(1.0, max(0.0, kq)):
                        HIST[i] |= one
                else:
                    HIST[i] |= one
                if rec_mask[i]:
                    k = n_spk[0]
                    spk_i[k] = i
                    spk_t[k] = t
                    spk_b[k] = fired_b[f]
                    n_spk[0] = k + 1
            # ---- delivery into the delay ring: blocks of postsynaptic neurons are disjoint, so
            # blocks may run in parallel; each target still receives its inputs in spike order
            for b in prange(n_blk):
                jlo = blk[b]
                jhi = blk[b + 1]
                for f in range(f0, nf):
                    i = fired[f]
                    pq = neuron_pop[i]
                    if f + 1 < nf:
                        _prefetch_row(fired[f + 1], neuron_pop, pop_path_ptr, pop_paths, path_row0, path_pre0,
                                      path_dense, path_dly, row_ptr, post, wsyn, dly)
                    for q in range(pop_path_ptr[pq], pop_path_ptr[pq + 1]):
                        pw = pop_paths[q]
                        row = path_row0[pw] + (i - path_pre0[pw])
                        s0 = row_ptr[row]
                        s1 = row_ptr[row + 1]
                        if n_blk > 1:
                            s0 = _lower_bound(post, s0, s1, jlo)
                            s1 = _lower_bound(post, s0, s1, jhi)
                        gain = path_gain[pw]
                        dconst = path_dly[pw]
                        for r in range(path_rec_ptr[pw], path_rec_ptr[pw + 1]):
                            chr_ = path_rec_ch[r]
                            scale = path_rec_scale[r] * gain
                            if dconst >= 0:
                                # one delay for the whole pathway: a flat slice of the ring
                                sl = slot + dconst
                                if sl >= D:
                                    sl -= D
                                rv = ring[sl, chr_]
                                if path_dense[pw] and s1 > s0:
                                    # every row holds all targets in order: contiguous, vectorisable
                                    base = post[s0] - s0
                                    for sy in range(s0, s1):
                                        rv[base + sy] += wsyn[sy] * scale
                                else:
                                    for sy in range(s0, s1):
                                        rv[post[sy]] += wsyn[sy] * scale
                            else:
                                for sy in range(s0, s1):
                                    sl = slot + dly[sy]   # slot + delay < 2 D: no integer division
                                    if sl >= D:
                                        sl -= D
                                    ring[sl, chr_, post[sy]] += wsyn[sy] * scale
            # ---- presynaptic STDP (depression) after delivery: spikes transmit the old weight.
            # Like delivery, by blocks of postsynaptic neurons: a synapse belongs to one block
            # and to the row of one presynaptic cell, so the blocks touch disjoint weights.
            if n_pl > 0:
                for b in prange(n_blk):
                    jlo = blk[b]
                    jhi = blk[b + 1]
                    for f in range(f0, nf):
                        i = fired[f]
                        pq = neuron_pop[i]
                        for q in range(pop_path_ptr[pq], pop_path_ptr[pq + 1]):
                            pw = pop_paths[q]
                            pl = path_plastic[pw]
                            if pl < 0:
                                continue
                            row = path_row0[pw] + (i - path_pre0[pw])
                            s0 = row_ptr[row]
                            s1 = row_ptr[row + 1]
                            if n_blk > 1:
                                s0 = _lower_bound(post, s0, s1, jlo)
                                s1 = _lower_bound(post, s0, s1, jhi)
                            xi = pl_xoff[pl] + (i - pl_pre_lo[pl])
                            yo = pl_yoff[pl] - pl_post_lo[pl]
                            triplet = sp[pl, S_TRIPLET] > 0.5
                            mult = sp[pl, S_MULT] > 0.5
                            deferred = sp[pl, S_DEFERRED] > 0.5
                            wmin = sp[pl, S_WMIN]
                            wmax = sp[pl, S_WMAX]
                            eta = lr[pl]
                            am = sp[pl, S_AM]
                            a2m = sp[pl, S_A2M]
                            a3m = sp[pl, S_A3M] * XT2[xi]
                            for sy in range(s0, s1):
                                y = YT[yo + post[sy]]
                                if y == 0.0:
                                    continue
                                dw = -y * (a2m + a3m) if triplet else -am * y
                                _stdp_apply(wsyn, SD, sy, dw, True, mult, eta, deferred, wmin, wmax)
                # the presynaptic traces of the cells that fired, once every block has read them
                for f in range(f0, nf):
                    i = fired[f]
                    pq = neuron_pop[i]
                    for q in range(pop_path_ptr[pq], pop_path_ptr[pq + 1]):
                        pl = path_plastic[pop_paths[q]]
                        if pl < 0:
                            continue
                        xi = pl_xoff[pl] + (i - pl_pre_lo[pl])
                        if sp[pl, S_NEAREST] > 0.5:
                            XT[xi] = 1.0
                            XT2[xi] = 1.0
                        else:
                            XT[xi] += 1.0
                            XT2[xi] += 1.0
            # ---- postsynaptic STDP (potentiation) for this phase's spikes: each block takes
            # the cells of its own (their incoming synapses and traces are theirs alone)
            if n_pl > 0:
                for b in prange(n_blk):
                    jlo = blk[b]
                    jhi = blk[b + 1]
                    for f in range(f0, nf):
                        j = fired[f]
                        if j < jlo or j >= jhi:
                            continue
                        pq = neuron_pop[j]
                        for qq in range(pop_post_ptr[pq], pop_post_ptr[pq + 1]):
                            pl = pop_post[qq]
                            jl = j - pl_post_lo[pl]
                            yi = pl_yoff[pl] + jl
                            triplet = sp[pl, S_TRIPLET] > 0.5
                            mult = sp[pl, S_MULT] > 0.5
                            deferred = sp[pl, S_DEFERRED] > 0.5
                            wmin = sp[pl, S_WMIN]
                            wmax = sp[pl, S_WMAX]
                            eta = lr[pl]
                            ap = sp[pl, S_AP]
                            a2p = sp[pl, S_A2P]
                            a3p = sp[pl, S_A3P] * YT2[yi]
                            xo = pl_xoff[pl]
                            c0 = col_ptr[col_off[pl] + jl]
                            c1 = col_ptr[col_off[pl] + jl + 1]
                            for c in range(c0, c1):
                                x = XT[xo + col_pre[c]]
                                if x == 0.0:
                                    continue
                                dw = x * (a2p + a3p) if triplet else ap * x
                                _stdp_apply(wsyn, SD, col_syn[c], dw, False, mult, eta, deferred, wmin, wmax)
                            if sp[pl, S_NEAREST] > 0.5:
                                YT[yi] = 1.0
                                YT2[yi] = 1.0
                            else:
                                YT[yi] += 1.0
                                YT2[yi] += 1.0
            f0 = nf
        # ---- deferred weight updates (Izhikevich 2006: once per interval)
        for pl in range(n_pl):
            if sp[pl, S_DEFERRED] > 0.5 and (t + 1) % int(sp[pl, S_INTERVAL]) == 0:
                wmin = sp[pl, S_WMIN]
                wmax = sp[pl, S_WMAX]
                bias = sp[pl, S_BIAS]
                dec = sp[pl, S_SDDECAY]
                for sy in range(net.pl_syn_lo[pl], net.pl_syn_hi[pl]):
                    wsyn[sy] = _clip(np.float64(wsyn[sy]) + bias + SD[sy], wmin, wmax)
                    SD[sy] *= dec
        # ---- 4. traces
        for k in range(out.tr_neuron.shape[0]):
            if (t + 1) % out.tr_every[k] == 0 and out.tr_ptr[k] < out.tr_cap[k]:
                out.tr_buf[out.tr_off[k] + out.tr_ptr[k]] = trace_value(net, st, pp, out.tr_neuron[k], out.tr_var[k])
                out.tr_ptr[k] += 1
    return 0, n_steps


def _renamed(fn, name):
    """A copy of ``fn`` under another name, so that its serial and parallel compilations
    have distinct entries in numba's on-disk cache."""
    g = types.FunctionType(fn.__code__, fn.__globals__, name, fn.__defaults__, fn.__closure__)
    g.__qualname__ = name
    g.__doc__ = fn.__doc__
    return g


#: Serial kernel (prange runs as range).
run_chunk = nb.njit(**NJIT)(_renamed(_run_chunk, "run_chunk"))
#: Parallel kernel: neurons of a population and blocks of delivery targets in parallel.
#: Every neuron owns its random stream and every target receives its inputs in spike
#: order, so both kernels give identical results whatever the thread count.
run_chunk_parallel = nb.njit(**NJIT_PARALLEL)(_renamed(_run_chunk, "run_chunk_parallel"))
