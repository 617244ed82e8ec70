"""Independent expectations for the lone L5 cell (tests/test_effects.py).

Three tools, none of which calls l5sim's kernels, builder or analysis; they read only the
numbers of a parameter record (:class:`l5sim.models.l5pyramidal.L5PyramidalParams`, whose
defaults are LVPA's, science.md section 3):

- :func:`simulate_cell`: a vectorised numpy integrator of the two-compartment cell
  (science.md section 3, the equations of ``l5sim/models/l5pyramidal.py``'s docstring), many
  trials at once, with its **own** random numbers (numpy PCG64, not l5sim's xoroshiro
  streams): somatic white noise, the per-spike coupling gate, Poisson GABA_A inhibition on
  either compartment. It samples the same stochastic process as the kernel, so an effect
  measured on it is the effect the equations predict, with its own sampling error.
- :func:`mixed_reset_rate`: the deterministic soma (no noise, no dendrite) whose resets are
  imposed: a share ``beta`` of them burst resets (c -55 mV, d 150 pA), the rest regular
  (c -65 mV, d 250 pA). ``beta = 0`` and ``beta = 1`` give the f-I curve of each reset mode;
  a given burst-reset share gives the rate the burst resets alone can add (the dendrite acts
  on the LVPA soma only through the reset, science.md section 3).
- :func:`plateau_threshold`: the DC plateau threshold of the dendrite (the saddle node of
  its 2-D system) with a tonic conductance g reversing at E.

Step semantics follow ``l5sim/kernels/engine.py`` as documented there (and as tests/naive.py
implements them): per step, synaptic events arrive, the dendrite is integrated (bAP window
0.5-2.5 ms after each spike whose bAP passed the gate), the plateau flag is set (v_d >= -30
mV, passing the gate with probability kappa), then the soma (semi-implicit in its
conductances, forward Euler otherwise); a crossing of vpeak resets within the step; the
conductances then decay.
"""
from __future__ import annotations

import math

import numpy as np

#: GABA_A receptor: tau 6 ms, reversal -75 mV (science.md section 4; Whyte et al. 2025).
GABA_TAU_MS = 6.0
GABA_E_MV = -75.0


def simulate_cell(p, soma_pA, dend_pA=0.0, kappa=1.0, som_nS=0.0, pv_nS=0.0, *, n_seeds=10,
                  seed=12345, inh_rate_hz=500.0, sigma_pA_sqrt_ms=63.2, duration_ms=2000.0,
                  start_ms=100.0, dt_ms=0.1):
    """Trials of the lone L5 cell of ``circuits/l5_cell.toml``, all integrated together.

    Parameters
    ----------
    p : parameter record (C_pF, k, vr_mV, ..., bap_pA, bap_start_ms, bap_stop_ms).
    soma_pA, dend_pA, kappa, som_nS, pv_nS : broadcastable arrays: somatic and dendritic
        steps (pA, on from ``start_ms``), the coupling gate, and the weight (nS per event)
        of Poisson GABA_A inhibition at ``inh_rate_hz`` on the dendrite (SOM-like) and on
        the soma (PV-like), on from t = 0 like the circuit's inputs.
    n_seeds : independent trials per condition (a last axis of that length).
    seed : seed of this integrator's own numpy generator.
    sigma_pA_sqrt_ms : somatic white noise, sigma / sqrt(dt) pA per step.

    Returns
    -------
    (rate_hz, burst_reset_fraction) : arrays of the broadcast shape plus ``(n_seeds,)``:
        the rate in [start_ms, duration_ms) and the share of those spikes fired in the burst
        reset (NaN where there are none).
    """
    arrs = np.broadcast_arrays(*(np.asarray(x, float) for x in (soma_pA, dend_pA, kappa, som_nS, pv_nS)))
    shape = arrs[0].shape + (int(n_seeds),)
    Is, Id, kap, wsom, wpv = (np.broadcast_to(a[..., None], shape).ravel().copy() for a in arrs)
    n = Is.size
    rng = np.random.Generator(np.random.PCG64(seed))
    dt = dt_ms
    n_steps = int(round(duration_ms / dt))
    t_on = int(round(start_ms / dt))
    b0, b1 = int(round(p.bap_start_ms / dt)), int(round(p.bap_stop_ms / dt))
    sig = sigma_pA_sqrt_ms / math.sqrt(dt)
    lam = inh_rate_hz * dt * 1e-3
    dec_g, dec_ad = math.exp(-dt / GABA_TAU_MS), math.exp(-dt / p.tau_adapt_ms)
    v = np.full(n, p.vr_mV)
    u = np.zeros(n)
    vd = np.full(n, p.EL_mV)
    wd = np.zeros(n)
    gad = np.zeros(n)
    gs = np.zeros(n)          # somatic GABA_A
    gd = np.zeros(n)          # dendritic GABA_A
    # steps of the last two spikes whose bAP passed the gate (ISIs are > 2.5 ms, so no third
    # spike can hold a window open)
    s1 = np.full(n, -10 ** 9)
    s2 = np.full(n, -10 ** 9)
    n_sp = np.zeros(n)
    n_burst = np.zeros(n)
    has_som, has_pv = bool(np.any(wsom > 0)), bool(np.any(wpv > 0))
    for t in range(n_steps):
        on = t >= t_on
        if has_pv:
            gs += rng.poisson(lam, n) * wpv
        if has_som:
            gd += rng.poisson(lam, n) * wsom
        # dendrite (forward Euler, semi-implicit in its synaptic conductance)
        Fd = 1.0 / (1.0 + np.exp((p.Ehalf_mV - vd) / p.D_mV))
        a1, a2 = t - s1, t - s2
        bap = ((a1 >= b0) & (a1 <= b1)) | ((a2 >= b0) & (a2 <= b1))
        rest_d = -p.gL_nS * (vd - p.EL_mV) + p.gCa_pA * Fd + wd + p.bap_pA * bap + (Id if on else 0.0)
        dwd = (p.bd_nS * (vd - p.EL_mV) - wd) * (dt / p.tau_w_ms)
        hd = dt / p.Cd_pF
        vd = (vd + hd * (rest_d + gd * GABA_E_MV)) / (1.0 + hd * gd)
        wd = wd + dwd
        plateau = vd >= p.plateau_mV
        # soma
        gt = gs + gad
        gE = gs * GABA_E_MV + gad * p.E_adapt_mV
        I = sig * rng.standard_normal(n) + (Is if on else 0.0)
        gad *= dec_ad
        drive = p.k * (v - p.vr_mV) * (v - p.vt_mV) - u + I
        vn = (v + (dt / p.C_pF) * (drive + gE)) / (1.0 + dt * gt / p.C_pF)
        u = u + dt * p.a_per_ms * (p.b_nS * (v - p.vr_mV) - u)
        v = vn
        fired = v >= p.vpeak_mV
        if fired.any():
            burst = fired & plateau & (rng.random(n) < kap)
            reg = fired & ~burst
            v = np.where(burst, p.c_burst_mV, np.where(reg, p.c_reg_mV, v))
            u = u + np.where(burst, p.d_burst_pA, np.where(reg, p.d_reg_pA, 0.0))
            gad = gad + fired * p.dg_adapt_nS
            passed = fired & (rng.random(n) < kap)
            if np.any(passed & (t - s2 <= b1)):
                raise RuntimeError("simulate_cell: three passed bAPs within one bAP window; track more spikes")
            s2 = np.where(passed, s1, s2)
            s1 = np.where(passed, t, s1)
            if on:
                n_sp += fired
                n_burst += burst
        gs *= dec_g
        gd *= dec_g
    rate = n_sp / ((duration_ms - start_ms) * 1e-3)
    with np.errstate(invalid="ignore", divide="ignore"):
        bf = np.where(n_sp > 0, n_burst / n_sp, np.nan)
    return rate.reshape(shape), bf.reshape(shape)


def mixed_reset_rate(p, soma_pA, beta, *, duration_ms=2000.0, start_ms=100.0, dt_ms=0.1):
    """Rate (Hz, in [start_ms, duration_ms)) of the deterministic LVPA soma (no noise, no
    dendrite, with its adaptation conductance) driven by ``soma_pA`` from ``start_ms``, when a
    share ``beta`` of its resets are burst resets, spread evenly (error diffusion: a spike
    resets in burst mode when the running sum of ``beta`` over spikes passes an integer).
    ``soma_pA`` and ``beta`` broadcast."""
    Is, B = (a.ravel().copy() for a in np.broadcast_arrays(np.asarray(soma_pA, float), np.asarray(beta, float)))
    shape = np.broadcast_shapes(np.shape(soma_pA), np.shape(beta))
    n = Is.size
    dt = dt_ms
    n_steps, t_on = int(round(duration_ms / dt)), int(round(start_ms / dt))
    dec_ad = math.exp(-dt / p.tau_adapt_ms)
    v, u, gad, acc, n_sp = np.full(n, p.vr_mV), np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n)
    for t in range(n_steps):
        on = t >= t_on
        I = Is if on else 0.0
        drive = p.k * (v - p.vr_mV) * (v - p.vt_mV) - u + I
        vn = (v + (dt / p.C_pF) * (drive + gad * p.E_adapt_mV)) / (1.0 + dt * gad / p.C_pF)
        gad *= dec_ad
        u = u + dt * p.a_per_ms * (p.b_nS * (v - p.vr_mV) - u)
        v = vn
        fired = v >= p.vpeak_mV
        if fired.any():
            acc = acc + fired * B
            burst = fired & (acc >= 1.0 - 1e-9)
            acc = acc - burst
            v = np.where(burst, p.c_burst_mV, np.where(fired, p.c_reg_mV, v))
            u = u + np.where(burst, p.d_burst_pA, np.where(fired, p.d_reg_pA, 0.0))
            gad = gad + fired * p.dg_adapt_nS
            if on:
                n_sp += fired
    return (n_sp / ((duration_ms - start_ms) * 1e-3)).reshape(shape)


def plateau_threshold(p, g_nS=0.0, E_mV=GABA_E_MV):
    """DC plateau threshold (pA) of the dendrite with a tonic conductance ``g_nS`` to ``E_mV``.

    At a fixed point w_d = b_d (v_d - E_L), so the steady current that holds v_d is
    I(v) = (g_L - b_d)(v - E_L) - g_Ca F(v) + g (v - E); the rest state disappears in a saddle
    node at the local maximum of I(v) below the plateau criterion (science.md section 3:
    "compute it, do not guess it"). Dense grid from E_L to the plateau criterion."""
    v = np.linspace(p.EL_mV, p.plateau_mV, 400001)
    F = 1.0 / (1.0 + np.exp((p.Ehalf_mV - v) / p.D_mV))
    I = (p.gL_nS - p.bd_nS) * (v - p.EL_mV) - p.gCa_pA * F + g_nS * (v - E_mV)
    d = np.diff(I)
    peaks = np.flatnonzero((d[:-1] > 0) & (d[1:] <= 0))
    if peaks.size == 0:
        raise ValueError(f"g_nS: got {g_nS!r}; the dendrite has no saddle node below {p.plateau_mV} mV")
    return float(I[peaks[0] + 1])

