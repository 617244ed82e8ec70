"""Izhikevich point-neuron models and their published parameter presets.

Two forms are offered.

**2007 form** (Izhikevich 2007, *Dynamical Systems in Neuroscience*, ch. 8, eqs. 8.5-8.6;
ModelDB 39948 reproduces the figures)::

    C dv/dt = k (v - vr)(v - vt) - u + I
    du/dt   = a (U(v) - u)
    if v >= vpeak + vpeak_u * u:  v <- c + c_u * u,  u <- min(u + d, u_max)

**Reset guard** (an l5sim addition, not in the book). With a u-dependent cut-off and reset
the gap between them, (vpeak - c) + (vpeak_u - c_u) u, shrinks as u grows: for the LTS cell
(cut-off 40 - 0.1 u, reset -53 + 0.04 u) it closes at u = 664 pA, below the book's cap of
670 pA, and a cell driven hard enough to reach the cap then resets at or above its cut-off
and fires at every step (a SOM population at 9 kHz). l5sim keeps the book's equations and
cap but clamps the reset to at most ``reset_margin_mV`` below the cut-off at the new u::

    v <- min(c + c_u * u, vpeak + vpeak_u * u_new - reset_margin_mV),   u_new = min(u + d, u_max)

so that every spike is followed by a rise of at least ``reset_margin_mV`` (10 mV by
default, a tuned assumption: it binds for the LTS cell only above u = 579 pA, 86% of the
cap, and never for cells with a fixed reset well below the cut-off), which bounds the rate
by margin / max dv/dt. :func:`reset_guard_onset` gives the u above which it binds. It
does not bound the rate of a cell whose input can lift v by more than the margin in one
step: an excitatory conductance large enough pins v near its reversal (0 mV), which lies
above the LTS cut-off once u > 400 pA, and the cell then still crosses at every step (SOM
cells of the 4000-cell column drawn without the fixed-in-degree rule; see
:class:`l5sim.spec.ConnectivitySpec` for the scaling that avoids such drive).

``U(v)`` is ``b (v - vr)`` for most cells; the fast-spiking cell uses the cubic
``b (v - vb)^3`` for ``v >= vb`` (else 0), and the thalamocortical cell switches ``b``
on only below ``vb`` (ch. 8.5, Fig. 8.31). Units: C in pF, k in nS/mV, v in mV, u and I
in pA, a in 1/ms, b in nS (pA/mV^3 for the cubic form), d in pA.

**2003 form** (Izhikevich 2003, IEEE TNN 14:1569, eqs. 1-3)::

    dv/dt = 0.04 v^2 + 5 v + 140 - u + I
    du/dt = a (b v - u)
    if v >= 30 mV:  v <- c,  u <- u + d

in the dimensionless units of that paper (I in "mV/ms"), integrated with the published
scheme (see :mod:`l5sim.kernels.izh2003`; the 2007 form's schemes are in
:mod:`l5sim.kernels.izh2007`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

# U(v) modes, shared with the kernels (plain ints, never mutated).
U_LINEAR = 0        #: U = b (v - vr)
U_CUBIC = 1         #: U = b (v - vb)^3 for v >= vb, else 0 (Izhikevich 2007 FS cell)
U_BELOW = 2         #: U = b (v - vr) for v <= vb, else 0 (Izhikevich 2007 TC cell)
U_ABOVE = 3         #: U = b (v - vr) for v > vb, else 0 (LVPA matrix-thalamus quirk)

U_MODES = {"linear": U_LINEAR, "cubic": U_CUBIC, "below": U_BELOW, "above": U_ABOVE}


@dataclass(frozen=True)
class Izh2007Params:
    """Parameters of the Izhikevich (2007) simple model, one cell type.

    Attributes
    ----------
    C_pF : membrane capacitance (pF).
    k : gain of the quadratic term (nS/mV).
    vr_mV : resting potential (mV).
    vt_mV : instantaneous threshold potential (mV).
    vpeak_mV : spike cut-off at u = 0 (mV).
    a_per_ms : recovery rate (1/ms).
    b_nS : sensitivity of u to v (nS; pA/mV^3 for the cubic U).
    c_mV : reset potential at u = 0 (mV).
    d_pA : increment of u at each spike (pA).
    vpeak_u : slope of the cut-off in u (mV/pA); LTS -0.1, TC +0.1 (2007, ch. 8.4-8.5).
    c_u : slope of the reset in u (mV/pA); LTS +0.04, TC -0.1.
    u_max_pA : cap on u after a spike increment (pA); LTS 670; ``inf`` = no cap.
    u_mode : shape of U(v): ``linear``, ``cubic`` (FS), ``below`` (TC) or ``above``.
    vb_mV : voltage that switches U(v) (cubic / below / above modes), mV.
    nmda_cap_nS : cap of the Mg-blocked NMDA conductance (LVPA caps it at 85 nS on every
        soma); ``inf`` = no cap.
    reset_margin_mV : the reset lies at least this far below the cut-off at the new u
        (mV, > 0; l5sim's reset guard, see the module docstring; 10 mV, a tuned assumption).
    source : citation of the values.
    """

    C_pF: float = 100.0
    k: float = 0.7
    vr_mV: float = -60.0
    vt_mV: float = -40.0
    vpeak_mV: float = 35.0
    a_per_ms: float = 0.03
    b_nS: float = -2.0
    c_mV: float = -50.0
    d_pA: float = 100.0
    vpeak_u: float = 0.0
    c_u: float = 0.0
    u_max_pA: float = math.inf
    u_mode: str = "linear"
    vb_mV: float = -55.0
    nmda_cap_nS: float = math.inf
    reset_margin_mV: float = 10.0
    source: str = "Izhikevich 2007, ch. 8, Fig. 8.12 (RS)"

    def with_(self, **kw) -> "Izh2007Params":
        """A copy with some fields replaced."""
        return replace(self, **kw)


def reset_guard_onset(p: Izh2007Params) -> float:
    """The u (pA) above which the reset guard binds: where the book's reset c + c_u u
    comes within ``reset_margin_mV`` of the cut-off vpeak + vpeak_u u' at u' = u + d, or
    ``inf`` if it never does for u growing (-inf: it binds at every u). The cap on u is not
    applied here; compare the result with ``u_max_pA``."""
    # gap(u) = vpeak + vpeak_u (u + d) - margin - (c + c_u u) = g0 + slope u
    g0 = p.vpeak_mV + p.vpeak_u * p.d_pA - p.reset_margin_mV - p.c_mV
    slope = p.vpeak_u - p.c_u
    if slope < 0:
        return -g0 / slope
    return math.inf if g0 > 0 else -math.inf


#: Izhikevich 2007, ch. 8.2.1, Fig. 8.12: layer-5 regular-spiking pyramidal cell.
RS = Izh2007Params()
#: Izhikevich 2007, ch. 8.2.2, Fig. 8.17-8.19: layer-5 intrinsically bursting cell.
IB = Izh2007Params(C_pF=150, k=1.2, vr_mV=-75, vt_mV=-45, vpeak_mV=50, a_per_ms=0.01, b_nS=5,
                   c_mV=-56, d_pA=130, source="Izhikevich 2007, ch. 8.2.2, Fig. 8.19 (IB)")
#: Izhikevich 2007, ch. 8.2.3, Fig. 8.20: chattering cell.
CH = Izh2007Params(C_pF=50, k=1.5, vr_mV=-60, vt_mV=-40, vpeak_mV=25, a_per_ms=0.03, b_nS=1,
                   c_mV=-40, d_pA=150, source="Izhikevich 2007, ch. 8.2.3, Fig. 8.20 (CH)")
#: Izhikevich 2007, ch. 8.2.5, Fig. 8.25: low-threshold spiking interneuron (SOM default).
LTS = Izh2007Params(C_pF=100, k=1, vr_mV=-56, vt_mV=-42, vpeak_mV=40, a_per_ms=0.03, b_nS=8,
                    c_mV=-53, d_pA=20, vpeak_u=-0.1, c_u=0.04, u_max_pA=670,
                    source="Izhikevich 2007, ch. 8.2.5, Fig. 8.25 (LTS)")
#: Izhikevich 2007, ch. 8.2.6, Fig. 8.27: fast-spiking interneuron with cubic U(v).
FS = Izh2007Params(C_pF=20, k=1, vr_mV=-55, vt_mV=-40, vpeak_mV=25, a_per_ms=0.2, b_nS=0.025,
                   c_mV=-45, d_pA=0, u_mode="cubic", vb_mV=-55,
                   source="Izhikevich 2007, ch. 8.2.6, Fig. 8.27 (FS)")
#: Izhikevich 2007, ch. 8.3, Fig. 8.31: thalamocortical relay cell (matrix thalamus).
TC = Izh2007Params(C_pF=200, k=1.6, vr_mV=-60, vt_mV=-50, vpeak_mV=35, a_per_ms=0.01, b_nS=15,
                   c_mV=-60, d_pA=10, vpeak_u=0.1, c_u=-0.1, u_mode="below", vb_mV=-65,
                   source="Izhikevich 2007, ch. 8.3, Fig. 8.31 (TC)")
#: The matrix-thalamus cell as coded in LVPA (Whyte et al. 2025, ThalamoCorticalParams.m):
#: b switched off at or below -65 mV (the reverse of the book), no u-dependent peak/reset.
TC_LVPA = Izh2007Params(C_pF=200, k=1.6, vr_mV=-60, vt_mV=-50, vpeak_mV=35, a_per_ms=0.01,
                        b_nS=15, c_mV=-60, d_pA=10, u_mode="above", vb_mV=-65,
                        source="Whyte et al. 2025 (LVPA code), matrix thalamus")
#: Izhikevich & Edelman 2008 (PNAS 105:3593, SI Table 1), basket cell; LVPA's interneuron
#: and l5sim's PV default (science.md section 4).
BASKET = Izh2007Params(C_pF=20, k=1, vr_mV=-55, vt_mV=-40, vpeak_mV=25, a_per_ms=0.15, b_nS=8,
                       c_mV=-55, d_pA=200,
                       source="Izhikevich & Edelman 2008, SI Table 1 (basket cell); LVPA")

PRESETS_2007: dict[str, Izh2007Params] = {
    "RS": RS, "IB": IB, "CH": CH, "LTS": LTS, "FS": FS, "TC": TC, "TC_LVPA": TC_LVPA,
    "BASKET": BASKET, "PV": BASKET, "SOM": LTS,
}


@dataclass(frozen=True)
class Izh2003Params:
    """Parameters of the Izhikevich (2003) model (dimensionless units of that paper).

    Attributes
    ----------
    a, b, c, d : recovery rate, sensitivity, reset (mV) and increment (paper eq. 2-3).
    vpeak_mV : spike cut-off, 30 mV in the paper.
    source : citation.
    """

    a: float = 0.02
    b: float = 0.2
    c: float = -65.0
    d: float = 8.0
    vpeak_mV: float = 30.0
    source: str = "Izhikevich 2003, Fig. 2 (RS)"

    def with_(self, **kw) -> "Izh2003Params":
        return replace(self, **kw)


#: Izhikevich 2003, Fig. 2 (the "simple model" cell classes).
PRESETS_2003: dict[str, Izh2003Params] = {
    "RS": Izh2003Params(),
    "IB": Izh2003Params(c=-55.0, d=4.0, source="Izhikevich 2003, Fig. 2 (IB)"),
    "CH": Izh2003Params(c=-50.0, d=2.0, source="Izhikevich 2003, Fig. 2 (CH)"),
    "FS": Izh2003Params(a=0.1, d=2.0, source="Izhikevich 2003, Fig. 2 (FS)"),
    "LTS": Izh2003Params(b=0.25, d=2.0, source="Izhikevich 2003, Fig. 2 (LTS)"),
    "TC": Izh2003Params(b=0.25, d=0.05, source="Izhikevich 2003, Fig. 2 (TC)"),
    "RZ": Izh2003Params(a=0.1, b=0.26, d=2.0, source="Izhikevich 2003, Fig. 2 (RZ)"),
}

#: Heterogeneity recipes of the 2003 network (Izhikevich 2003, Fig. 3 MATLAB listing):
#: r ~ U(0, 1) per neuron. Excitatory: c = -65 + 15 r^2, d = 8 - 6 r^2 (a 0.02, b 0.2);
#: inhibitory: a = 0.02 + 0.08 r, b = 0.25 - 0.05 r (c -65, d 2).
HETEROGENEITY = ("none", "izh2003_exc", "izh2003_inh")
