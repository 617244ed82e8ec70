"""Adaptive exponential integrate-and-fire neuron (AdEx) and its published preset.

Model (Brette & Gerstner 2005, J Neurophysiol 94:3637-3642, eqs. 1-2)::

    C dV/dt   = -gL (V - EL) + gL DeltaT exp((V - VT) / DeltaT) - w + I
    tau_w dw/dt = a (V - EL) - w
    if V >= vpeak:  V <- Vr,  w <- w + b

Units: C in pF, conductances in nS, potentials in mV, w and I in pA, tau_w in ms. The
kernel unit is :mod:`l5sim.kernels.adex` (schemes ``semi_implicit``, conductances implicit
in V, and ``euler``); ``docs/adding_a_model.md`` walks through how it was added.
"""
from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class AdexParams:
    """Parameters of the AdEx model, one cell type.

    Attributes
    ----------
    C_pF : membrane capacitance (pF).
    gL_nS : leak conductance (nS).
    EL_mV : leak reversal potential (mV).
    VT_mV : threshold of the exponential term (mV).
    DeltaT_mV : slope factor of the exponential term (mV).
    a_nS : subthreshold adaptation (nS).
    tau_w_ms : adaptation time constant (ms).
    b_pA : spike-triggered adaptation increment (pA).
    Vr_mV : reset potential (mV).
    vpeak_mV : spike cut-off (mV).
    nmda_cap_nS : cap of the Mg-blocked NMDA conductance (``inf``: none).
    source : citation.
    """

    C_pF: float
    gL_nS: float
    EL_mV: float
    VT_mV: float
    DeltaT_mV: float
    a_nS: float
    tau_w_ms: float
    b_pA: float
    Vr_mV: float
    vpeak_mV: float = 20.0
    nmda_cap_nS: float = float("inf")
    source: str = ""

    def with_(self, **changes) -> "AdexParams":
        """A copy with some fields replaced."""
        return replace(self, **changes)


#: Brette & Gerstner (2005), Table 1 (the regular-spiking cell fitted to the detailed
#: Hodgkin-Huxley-type model): C 281 pF, gL 30 nS, EL -70.6 mV, VT -50.4 mV, DeltaT 2 mV,
#: tau_w 144 ms, a 4 nS, b 0.0805 nA; reset to EL; spikes cut at +20 mV (text, Methods).
PRESETS_ADEX = {
    "BG2005": AdexParams(C_pF=281.0, gL_nS=30.0, EL_mV=-70.6, VT_mV=-50.4, DeltaT_mV=2.0, a_nS=4.0,
                         tau_w_ms=144.0, b_pA=80.5, Vr_mV=-70.6, vpeak_mV=20.0,
                         source="Brette & Gerstner 2005, J Neurophysiol 94:3637, Table 1"),
}
