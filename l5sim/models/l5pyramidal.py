"""The two-compartment layer-5 pyramidal neuron (soma + apical Ca2+ dendrite).

Equations (science.md section 3; facts from Whyte et al. 2025, PLoS Comput Biol,
doi 10.1371/journal.pcbi.1012951, and its public LVPA code; dendrite after Naud &
Sprekeler 2018, PNAS 115:E6329):

Soma (Izhikevich 2007 form, conductance-based synapses)::

    C dv/dt = k (v - vr)(v - vt) - u + sum_x g_x (E_x - v) + g_adapt (E_adapt - v)
              + g_s F(v_d) + I
    du/dt   = a (b (v - vr) - u)
    spike at v >= vpeak: v <- c, u <- u + d, g_adapt <- g_adapt + dg_adapt
    (c, d) = (c_burst, d_burst) on the step after a gated plateau, else (c_reg, d_reg)

Apical dendrite (2-D Ca2+ system)::

    C_d dv_d/dt = -g_L (v_d - E_L) + g_Ca F(v_d) + w_d + I_bAP + I_syn,d + I_ext,d
                  + G (v - v_d)
    dw_d/dt     = (b_d (v_d - E_L) - w_d) / tau_w
    F(v)        = 1 / (1 + exp((E_half - v) / D))

Integration (``semi_implicit``, the default): both compartments are implicit in their
synaptic conductances, v <- (v + dt/C (f(v) + sum g E)) / (1 + dt sum g / C), the rest
forward Euler (science.md section 3; LVPA treats the soma so and the dendrite by plain
Euler, which differs by O(dt g / C_d) and becomes unstable for dendritic conductances
above 2 C_d / dt = 3400 nS; ``euler`` integrates both compartments by forward Euler).

bAP: a rectangular current ``bap_pA`` from ``bap_start_ms`` to ``bap_stop_ms`` after each
somatic spike (an on/off flag, overlapping spikes do not add). Plateau: v_d >= -30 mV.
Coupling gate kappa in [0, 1], three named modes:

- ``gate = "per_spike"`` (default): the bAP of each somatic spike reaches the dendrite whole
  with probability kappa (one Bernoulli draw per spike, at the spike), and a spike fired
  while the dendrite is in a plateau resets in burst mode with probability kappa. kappa is
  then the probability that a bAP invades the apical tuft, and results converge as dt -> 0.
- ``gate = "per_step"``: LVPA's published gate: at every step the bAP current and the
  plateau-to-burst switch each pass an independent Bernoulli(kappa) draw. Within a bAP's
  2 ms window the current is on in about kappa of the steps, so kappa 0.5 acts like a
  half-amplitude, chopped bAP whose effect depends on dt (the quirk kept as an option;
  science.md section 3: "the default follows the physics and a named option reproduces
  the quirk").
- ``gate = "deterministic"``: bAP amplitude x kappa, reset interpolated by kappa (the
  dt -> 0 limit of ``per_step``).

kappa is either fixed (``kappa_mode = "fixed"``) or a state raised by spikes on a
``gate`` pathway, kappa <- kappa + (1 - kappa) w, decaying to ``kappa_rest`` with
``tau_kappa_ms`` (``kappa_mode = "state"``).
"""
from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class L5PyramidalParams:
    """Parameters of the two-compartment L5 pyramidal neuron.

    Defaults are LVPA's (Whyte et al. 2025, ThalamoCorticalParams.m; science.md section 3).

    Attributes
    ----------
    C_pF, k, vr_mV, vt_mV, vpeak_mV, a_per_ms, b_nS : somatic Izhikevich 2007 parameters
        (C 150 pF, k 2.5, vr -75, vt -45, vpeak 50, a 0.01, b 5; Whyte et al. 2025).
    c_reg_mV, d_reg_pA : regular reset (-65 mV, 250 pA).
    c_burst_mV, d_burst_pA : reset while the dendrite is in a plateau (-55 mV, 150 pA).
    dg_adapt_nS, tau_adapt_ms, E_adapt_mV : spike-triggered adaptation conductance
        (0.065 nS per spike, 2000 ms, -80 mV; present in every LVPA model).
    nmda_cap_nS : cap of the Mg-blocked NMDA conductance on the soma (85 nS, LVPA).
    Cd_pF, EL_mV, gL_nS : dendritic capacitance, leak reversal and leak (170 pF, -70 mV,
        170/7 nS i.e. tau 7 ms; Naud & Sprekeler 2018 values as used in LVPA).
    gCa_pA, Ehalf_mV, D_mV : Ca2+ nonlinearity g_Ca F(v_d) (1200 pA, -38 mV, 6 mV).
    tau_w_ms, bd_nS : dendritic adaptation w_d (30 ms, -13 nS).
    plateau_mV : plateau criterion v_d >= -30 mV.
    bap_pA, bap_start_ms, bap_stop_ms : bAP current 2600 pA from 0.5 to 2.5 ms after a
        somatic spike, both ends inclusive (LVPA: 21 steps of 0.1 ms).
    kappa : fixed coupling gate, or the initial value in ``state`` mode.
    kappa_mode : ``fixed`` or ``state``.
    kappa_rest : level the gate state decays to (0 in LVPA: no bAPs without input).
    tau_kappa_ms : decay of the gate state (800 ms, LVPA).
    gate : ``per_spike`` (default, dt-consistent), ``per_step`` (LVPA's per-step draws) or
        ``deterministic`` (see the module docstring).
    gs_pA : dendrite-to-soma current g_s F(v_d) (Naud & Sprekeler 2018 use 1300 pA);
        0 = off, the LVPA default.
    G_nS : one-way resistive coupling G (v - v_d) into the dendrite (an earlier LVPA variant
        uses 20 nS); 0 = off.
    """

    C_pF: float = 150.0
    k: float = 2.5
    vr_mV: float = -75.0
    vt_mV: float = -45.0
    vpeak_mV: float = 50.0
    a_per_ms: float = 0.01
    b_nS: float = 5.0
    c_reg_mV: float = -65.0
    d_reg_pA: float = 250.0
    c_burst_mV: float = -55.0
    d_burst_pA: float = 150.0
    dg_adapt_nS: float = 0.065
    tau_adapt_ms: float = 2000.0
    E_adapt_mV: float = -80.0
    nmda_cap_nS: float = 85.0
    Cd_pF: float = 170.0
    EL_mV: float = -70.0
    gL_nS: float = 170.0 / 7.0
    gCa_pA: float = 1200.0
    Ehalf_mV: float = -38.0
    D_mV: float = 6.0
    tau_w_ms: float = 30.0
    bd_nS: float = -13.0
    plateau_mV: float = -30.0
    bap_pA: float = 2600.0
    bap_start_ms: float = 0.5
    bap_stop_ms: float = 2.5
    kappa: float = 1.0
    kappa_mode: str = "fixed"
    kappa_rest: float = 0.0
    tau_kappa_ms: float = 800.0
    gate: str = "per_spike"
    gs_pA: float = 0.0
    G_nS: float = 0.0
    source: str = "Whyte et al. 2025 (PLoS Comput Biol; LVPA code); Naud & Sprekeler 2018"

    def with_(self, **kw) -> "L5PyramidalParams":
        return replace(self, **kw)


#: LVPA defaults (Whyte et al. 2025).
LVPA = L5PyramidalParams()
#: The earlier variant of the same model (science.md section 3): k 1.2, c -66/-56, d 260/130.
LVPA_EARLY = L5PyramidalParams(k=1.2, c_reg_mV=-66.0, c_burst_mV=-56.0, d_reg_pA=260.0,
                               d_burst_pA=130.0,
                               source="Whyte et al. (bioRxiv 2023 variant of LVPA)")
#: Naud & Sprekeler 2018 coupling: dendrite-to-soma current g_s F(v_d), g_s = 1300 pA.
NAUD_SPREKELER = L5PyramidalParams(gs_pA=1300.0,
                                   source="LVPA soma with Naud & Sprekeler 2018 g_s = 1300 pA")

PRESETS_L5: dict[str, L5PyramidalParams] = {
    "LVPA": LVPA, "LVPA_EARLY": LVPA_EARLY, "NAUD_SPREKELER": NAUD_SPREKELER,
}


def dendrite_dc_current(vd_mV, p: L5PyramidalParams = LVPA):
    """Steady dendritic current that holds the dendrite at ``vd_mV`` (pA).

    From the fixed point of the dendritic equations with w_d = b_d (v_d - E_L):
    I(v) = (g_L - b_d)(v - E_L) - g_Ca F(v). The local maximum of I(v) on the lower
    branch is the saddle-node (DC) threshold of the plateau.
    """
    import numpy as np

    v = np.asarray(vd_mV, dtype=float)
    F = 1.0 / (1.0 + np.exp((p.Ehalf_mV - v) / p.D_mV))
    return (p.gL_nS - p.bd_nS) * (v - p.EL_mV) - p.gCa_pA * F
