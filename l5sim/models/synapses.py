"""Synaptic receptor kinetics (science.md section 4).

Conductance-based receptors have an instantaneous rise and exponential decay; a spike
arriving with weight w (nS) adds w to the receptor's conductance on the target compartment.
The current is g (E - v); NMDA is multiplied by the Mg2+ block
B(v) = x^2 / (1 + x^2), x = (v + 80) / 60 (Izhikevich & Edelman 2008, SI eq. 3).
``CURRENT`` is the voltage-jump synapse of Izhikevich (2003): the weight is added to the
input current of the step in which the spike arrives (pA, or the 2003 model's units).
"""
from __future__ import annotations

from dataclasses import dataclass

# Channel layout shared by build and kernels: receptor index r, compartment index c.
AMPA, NMDA, GABA_A, GABA_B, CURRENT, GATE = 0, 1, 2, 3, 4, 5
RECEPTOR_NAMES = ("AMPA", "NMDA", "GABA_A", "GABA_B", "CURRENT", "GATE")
SOMA, DENDRITE = 0, 1
COMPARTMENTS = ("soma", "dendrite")
N_CHANNELS = 12  # receptor x compartment (GATE uses the soma slot only)


def channel(receptor: int, compartment: int) -> int:
    """Flat channel index of a receptor on a compartment."""
    return receptor * 2 + compartment


@dataclass(frozen=True)
class ReceptorParams:
    """Kinetics of one receptor type.

    Attributes
    ----------
    tau_ms : decay time constant (ms).
    E_mV : reversal potential (mV).
    mg_block : apply the NMDA Mg2+ block B(v).
    source : citation.
    """

    tau_ms: float
    E_mV: float
    mg_block: bool = False
    source: str = ""


#: Defaults: Whyte et al. 2025 (LVPA ThalamoCorticalParams.m) and science.md section 4.
RECEPTORS: dict[str, ReceptorParams] = {
    "AMPA": ReceptorParams(6.0, 0.0, False, "Whyte et al. 2025 (LVPA): tau 6 ms, E 0 mV"),
    "NMDA": ReceptorParams(100.0, 0.0, True,
                           "Whyte et al. 2025 (LVPA): tau 100 ms, E 0 mV; Mg block "
                           "Izhikevich & Edelman 2008"),
    "GABA_A": ReceptorParams(6.0, -75.0, False, "Whyte et al. 2025 (LVPA): tau 6 ms, E -75 mV"),
    "GABA_B": ReceptorParams(150.0, -90.0, False,
                             "Izhikevich & Edelman 2008, SI: tau 150 ms, E -90 mV"),
}
