"""The synapse side of a circuit: ``[receptors.NAME]`` and ``[pathways.NAME]`` tables.

:class:`ConnectivitySpec` says how a pathway is wired (the rule, its probabilities,
weights and scaling with population size), :class:`PathwaySpec` what it connects and with
which receptors and delays. The sign checks here keep conductances >= 0.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping

from ..errors import SpecError
from .fields import setting

RECEPTOR_KEYS = ("AMPA", "NMDA", "GABA_A", "GABA_B", "CURRENT")


@dataclass(frozen=True)
class ReceptorSpec:
    """A ``[receptors.NAME]`` override of receptor kinetics."""

    tau_ms: float = setting(gt=0.0)
    E_mV: float = setting(allow_inf=False)
    mg_block: bool = setting(False)
    source: str = setting("")


CONNECTIVITY_RULES = ("gaussian_weight", "gaussian_prob", "fixed_prob", "fixed_outdegree", "all_to_all",
                      "one_to_one", "pocket")


@dataclass(frozen=True)
class ConnectivitySpec:
    """How a pathway is wired (science.md section 4).

    rule : one of
        ``gaussian_weight`` (all-to-all, J = A exp(-d^2 / 2 sigma^2) / (sigma sqrt(2 pi))),
        ``gaussian_prob`` (p = p0 exp(-d^2 / 2 sigma^2), weight ``weight``),
        ``fixed_prob`` (p = ``p``, weight ``weight``),
        ``fixed_outdegree`` (each presynaptic neuron gets exactly ``outdegree`` distinct random
        targets, as Izhikevich 2006 spnet and NEST's fixed_outdegree),
        ``all_to_all`` (weight ``weight``, or uniform in [weight_low, weight_high) when
        ``weight_high > weight_low``: the Izhikevich 2003 recipe),
        ``one_to_one`` (neuron i to neuron i; equal sizes),
        ``pocket`` (each neuron of the smaller population linked to ``pocket_size``
        consecutive neurons of the larger one, LVPA's thalamic pockets).
    Every rule but ``gaussian_weight`` draws weights uniformly from [weight_low,
    weight_high) when ``weight_high > weight_low``, else uses ``weight``.
    Weights are in nS for conductance receptors, pA (or model units) for CURRENT,
    dimensionless for the coupling gate.

    **Scaling with population size.** With ``p`` or ``p0`` fixed, the expected in-degree of
    a ``fixed_prob`` / ``gaussian_prob`` pathway grows in proportion to the presynaptic size
    n_pre (on a ring of fixed radius the kernel covers the same arc, holding n_pre / 2 pi
    neurons per radian), so a circuit tuned at one size is driven ever harder at larger
    sizes. ``n_ref > 0`` keeps the expected in-degree at its value for n_pre = ``n_ref``:
    the probability used is ``p n_ref / n_pre`` (``p0 n_ref / n_pre``), weights unchanged
    (within one population without autapses the excluded self-pair still takes
    p n_ref / n_pre, less than p, off the expectation).
    This is the fixed-in-degree scaling of sparse balanced networks (Brunel 2000, J Comput
    Neurosci 8:183, C_E fixed as N grows), under which each neuron's mean input and its
    fluctuations (first and second moments of the summed input, for a given rate) do not
    depend on N; only pairwise input correlations, ~ K / N, shrink (van Albada, Helias &
    Diesmann 2015, PLoS Comput Biol 11:e1004490, who show that scaling K or the weights
    instead changes the regime unless compensated). At n_pre = n_ref the draw is the
    unscaled one, bit for bit. The scaled probability must stay <= 1 (a smaller
    population cannot reach the reference in-degree): checked on load.
    ``pocket_fraction > 0`` sets the pocket size from the sizes instead of ``pocket_size``:
    floor(pocket_fraction n_large / n_small), so that the pockets together cover the same
    fraction of the larger population at every size (1.0: they tile it, each of its
    neurons in exactly one pocket, in-degree 1).
    """

    rule: str = setting(choices=CONNECTIVITY_RULES)
    A: float = setting(1.0, doc="gaussian_weight amplitude")
    sigma: float = setting(1.0, gt=0.0, doc="kernel width (same length unit as space)")
    p0: float = setting(1.0, ge=0.0, le=1.0)
    p: float = setting(0.1, ge=0.0, le=1.0)
    weight: float = setting(1.0)
    weight_low: float = setting(0.0)
    weight_high: float = setting(0.0)
    pocket_size: int = setting(1, gt=0)
    outdegree: int = setting(1, ge=0)
    autapses: bool = setting(False, doc="allow i -> i within one population (LVPA has them)")
    n_ref: int = setting(0, ge=0, doc="fixed_prob / gaussian_prob: presynaptic size at which p (p0) holds; "
                                     "the probability is scaled by n_ref / n_pre (fixed expected in-degree); "
                                     "0 = no scaling")
    pocket_fraction: float = setting(0.0, ge=0.0, le=1.0,
                                     doc="pocket: fraction of the larger population covered by all pockets "
                                         "together (pocket size floor(fraction n_large / n_small)); "
                                         "0 = use pocket_size")
    source: str = setting("")

    def _check(self, path):
        if self.weight_high < self.weight_low:
            raise SpecError(f"{path}.weight_high", self.weight_high, f"a number >= weight_low ({self.weight_low})")
        if self.n_ref and self.rule not in ("fixed_prob", "gaussian_prob"):
            raise SpecError(f"{path}.n_ref", self.n_ref, f"0 for rule {self.rule!r} (n_ref scales fixed_prob "
                                                         "and gaussian_prob)")
        if self.pocket_fraction and self.rule != "pocket":
            raise SpecError(f"{path}.pocket_fraction", self.pocket_fraction, f"0 for rule {self.rule!r} "
                                                                             "(pocket_fraction is for pocket)")

    def probability(self, n_pre: int) -> float:
        """Connection probability used at presynaptic size ``n_pre``: ``p`` (``fixed_prob``)
        or the peak ``p0`` (``gaussian_prob``), times ``n_ref / n_pre`` when ``n_ref > 0``
        (fixed expected in-degree; exactly the unscaled value at ``n_pre == n_ref``)."""
        q = self.p if self.rule == "fixed_prob" else self.p0
        return q * (self.n_ref / n_pre) if self.n_ref else q

    def pocket(self, n_pre: int, n_post: int) -> int:
        """Pocket size at sizes ``n_pre``, ``n_post``: ``pocket_size``, or
        floor(pocket_fraction n_large / n_small) when ``pocket_fraction > 0``."""
        if not self.pocket_fraction:
            return self.pocket_size
        small, big = sorted((n_pre, n_post))
        return int(math.floor(self.pocket_fraction * big / small + 1e-9))


@dataclass(frozen=True)
class PathwaySpec:
    """A ``[pathways.NAME]`` table: synapses from ``pre`` onto compartment ``target`` of ``post``.

    receptors : receptor -> multiplier of the connection weight (e.g. ``{AMPA = 1.75,
        NMDA = 0.35}``, LVPA's E->E split; E->I carries AMPA and NMDA). Ignored for
        ``target = "gate"``, whose spikes raise the coupling gate state of L5 cells.
    delay_steps : synaptic delay in integration steps (>= 1; 0 allowed only when the
        presynaptic population uses ``spike_detection = "next_step"``, as in the 2003
        network where a spike acts on the step it is detected).
    delay_per_distance : extra steps per unit distance (delay grows with distance).
    delay_max_steps : when larger than ``delay_steps``, each synapse draws its delay
        uniformly from [delay_steps, delay_max_steps] (Izhikevich 2006: 1-20 ms).
    """

    pre: str = setting()
    post: str = setting()
    connectivity: ConnectivitySpec = setting()
    target: str = setting("soma", choices=("soma", "dendrite", "gate"))
    receptors: Mapping[str, float] = setting(factory=lambda: {"AMPA": 1.0}, choices=RECEPTOR_KEYS)
    delay_steps: int = setting(1, ge=0, le=1000)
    delay_per_distance: float = setting(0.0, ge=0.0)
    delay_max_steps: int = setting(0, ge=0, le=65535,
                                   doc="if > delay_steps: delays uniform in [delay_steps, delay_max_steps]")
    plasticity: str = setting("", doc="name of a [plasticity] rule, or empty")
    source: str = setting("")

    def _check(self, path):
        if self.target != "gate" and not self.receptors:
            raise SpecError(f"{path}.receptors", {}, "at least one receptor")
        _check_signs(path, self.receptors, self.connectivity, self.target)


# --------------------------------------------------------------------------------------
# Signed quantities. A synaptic conductance is >= 0 by definition (g = weight x receptor
# multiplier x kinetics; Dayan & Abbott 2001, eq. 5.46): whether a synapse excites or
# inhibits is set by its receptor's reversal potential (GABA_A at -70 mV, Whyte et al.
# 2025), so a negative weight or multiplier would silently turn inhibition into excitation.
# Only voltage-jump (CURRENT) synapses carry their sign in the weight (Izhikevich 2003).

CONDUCTANCE_WHY = ("a conductance weight >= 0 (nS): the sign of a conductance synapse is set by its "
                   "receptor's reversal potential, so a negative weight would turn inhibition into "
                   "excitation (and excitation into inhibition); signed weights are for receptors = "
                   "{ CURRENT = ... }")


def check_multipliers(path, receptors):
    """Conductance receptors' multipliers are >= 0 (a CURRENT synapse's sign is free)."""
    for name, m in receptors.items():
        if name != "CURRENT" and m < 0:
            raise SpecError(f"{path}.receptors.{name}", m,
                            f"a multiplier >= 0 (a negative multiplier makes the {name} conductance negative, "
                            "reversing its effect; signed synapses are for receptors = { CURRENT = ... })")


def _check_signs(path, receptors, c, target):
    """Weights of conductance and gate pathways keep their sign (see above)."""
    check_multipliers(path, receptors)
    if c.rule == "gaussian_weight":
        used = (("A", c.A),)
    elif c.weight_high > c.weight_low:
        used = (("weight_low", c.weight_low), ("weight_high", c.weight_high))
    else:
        used = (("weight", c.weight),)
    for key, w in used:
        if target == "gate":
            if not 0.0 <= w <= 1.0:
                raise SpecError(f"{path}.connectivity.{key}", w,
                                "a gate increment in [0, 1] (each spike moves kappa a fraction w of the way "
                                "to 1, which keeps kappa in [0, 1])")
        elif "CURRENT" not in receptors and w < 0:
            raise SpecError(f"{path}.connectivity.{key}", w, CONDUCTANCE_WHY)
