"""The neuron side of a circuit: the registered models and ``[populations.NAME]`` tables.

Which models exist, their integration schemes, parameter presets and parameter records
(:mod:`l5sim.models`), and :class:`PopulationSpec`, which resolves a population's preset,
parameter overrides and scheme on load and checks the physical signs of its parameters.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Mapping

from ..errors import SpecError
from ..models import adex as _adex
from ..models import izhikevich as _izh
from ..models import l5pyramidal as _l5
from .fields import coerce, setting

MODELS = ("l5_pyramidal", "izhikevich2007", "izhikevich2003", "adex", "poisson", "generator")
INTEGRATIONS = {
    "l5_pyramidal": ("semi_implicit", "euler"),
    "izhikevich2007": ("semi_implicit", "euler"),
    "izhikevich2003": ("izh2003", "euler"),
    "adex": ("semi_implicit", "euler"),
    "poisson": ("none",),
    "generator": ("none",),
}
DEFAULT_INTEGRATION = {"l5_pyramidal": "semi_implicit", "izhikevich2007": "semi_implicit",
                       "izhikevich2003": "izh2003", "adex": "semi_implicit", "poisson": "none",
                       "generator": "none"}
PRESETS = {
    "l5_pyramidal": _l5.PRESETS_L5,
    "izhikevich2007": _izh.PRESETS_2007,
    "izhikevich2003": _izh.PRESETS_2003,
    "adex": _adex.PRESETS_ADEX,
}
DEFAULT_PRESET = {"l5_pyramidal": "LVPA", "izhikevich2007": "RS", "izhikevich2003": "RS", "adex": "BG2005"}
PARAM_CLASS = {
    "l5_pyramidal": _l5.L5PyramidalParams,
    "izhikevich2007": _izh.Izh2007Params,
    "izhikevich2003": _izh.Izh2003Params,
    "adex": _adex.AdexParams,
}
PARAM_CHOICES = {"u_mode": tuple(_izh.U_MODES), "kappa_mode": ("fixed", "state"),
                 "gate": ("per_spike", "per_step", "deterministic")}


@dataclass(frozen=True)
class InitSpec:
    """Initial state of a population: v (mV) with optional Gaussian jitter; u = b (v - vr)
    for the 2007 form with linear U(v) and the L5 soma (0 for the cubic, below and above
    U modes, their value at rest), u = b v for the 2003 form (Izhikevich 2003 listing); the
    L5 dendrite starts at ``vd_mV`` (default E_L) with w_d = b_d (v_d - E_L), its steady
    state for that potential."""

    v_mV: float | None = setting(None, doc="initial somatic potential; default the model's rest")
    v_sd_mV: float = setting(0.0, ge=0.0)
    vd_mV: float | None = setting(None, doc="initial dendritic potential; default E_L")
    source: str = setting("")


@dataclass(frozen=True)
class PopulationSpec:
    """A ``[populations.NAME]`` table.

    Attributes
    ----------
    model : ``l5_pyramidal``, ``izhikevich2007``, ``izhikevich2003``, ``adex``, ``poisson`` or ``generator``.
    n : number of neurons (> 0).
    preset : named parameter preset of the model (see :mod:`l5sim.models`).
    params : overrides of single preset fields (same names as the parameter record).
    integration : ``semi_implicit`` / ``euler`` (2007, L5) or ``izh2003`` / ``euler`` (2003).
    spike_detection : ``same_step`` (default: threshold checked right after the update) or
        ``next_step`` (LVPA and Izhikevich 2003: checked at the start of the next step).
    heterogeneity : ``none``, ``izh2003_exc`` or ``izh2003_inh`` (Izhikevich 2003 listing).
    rate_hz : firing rate of a ``poisson`` population.
    spike_times_ms : for a ``generator`` population, one list of spike times (ms) per
        neuron (NEST's spike_generator, Brian2's SpikeGeneratorGroup). Input reaching a
        generator is ignored, so a generator can stand in for a postsynaptic cell with
        imposed spike times (STDP protocols).
    """

    model: str = setting(choices=MODELS)
    n: int = setting(gt=0, le=50_000_000)
    preset: str = setting("")
    params: Mapping[str, Any] = setting(factory=dict)
    integration: str = setting("")
    spike_detection: str = setting("same_step", choices=("same_step", "next_step"))
    heterogeneity: str = setting("none", choices=_izh.HETEROGENEITY)
    rate_hz: float = setting(0.0, ge=0.0)
    spike_times_ms: tuple[tuple[float, ...], ...] = setting((), ge=0.0)
    init: InitSpec = setting(factory=InitSpec)
    source: str = setting("")

    def _check(self, path):
        if self.model == "generator":
            if len(self.spike_times_ms) not in (0, self.n):
                raise SpecError(f"{path}.spike_times_ms", len(self.spike_times_ms),
                                f"one list of spike times per neuron ({self.n} lists)")
        elif self.spike_times_ms:
            raise SpecError(f"{path}.spike_times_ms", list(self.spike_times_ms), "spike times only for model = 'generator'")
        if self.model not in ("poisson", "generator"):
            presets = PRESETS[self.model]
            preset = self.preset or DEFAULT_PRESET[self.model]
            if preset not in presets:
                raise SpecError(f"{path}.preset", self.preset, f"one of {sorted(presets)} for model {self.model!r}")
            object.__setattr__(self, "preset", preset)
            cls = PARAM_CLASS[self.model]
            allowed = {f.name: f for f in dataclasses.fields(cls) if f.name != "source"}
            clean = {}
            for k, v in self.params.items():
                if k not in allowed:
                    raise SpecError(f"{path}.params.{k}", v, f"a parameter of {cls.__name__}: {sorted(allowed)}")
                if k == "gate" and v == "stochastic":
                    raise SpecError(f"{path}.params.gate", v, "'per_step' (LVPA's per-step draws, formerly "
                                    "'stochastic'), 'per_spike' (the default) or 'deterministic'")
                if k in PARAM_CHOICES:
                    clean[k] = coerce(v, str, {"choices": PARAM_CHOICES[k]}, f"{path}.params.{k}")
                else:
                    clean[k] = coerce(v, float, {"allow_inf": k in ("u_max_pA", "nmda_cap_nS")}, f"{path}.params.{k}")
            object.__setattr__(self, "params", MappingProxyType(clean))
            p = self.cell_params()
            for name, what in NONNEGATIVE_CELL_PARAMS.items():
                if hasattr(p, name) and not getattr(p, name) >= 0:
                    raise SpecError(f"{path}.params.{name}", getattr(p, name), f"a number >= 0 ({what})")
            for name in ("C_pF", "Cd_pF", "tau_adapt_ms", "tau_w_ms", "tau_kappa_ms", "D_mV", "reset_margin_mV",
                         "DeltaT_mV"):
                if hasattr(p, name) and not getattr(p, name) > 0:
                    raise SpecError(f"{path}.params.{name}", getattr(p, name), "a number > 0")
            if self.model == "izhikevich2007" and not _izh.reset_guard_onset(p) > 0:
                raise SpecError(f"{path}.params.c_mV", p.c_mV,
                                f"a reset at least reset_margin_mV ({p.reset_margin_mV:g} mV) below the spike "
                                f"cut-off at u = 0 (< {p.vpeak_mV + p.vpeak_u * p.d_pA - p.reset_margin_mV:g} mV); "
                                "higher resets are clamped there (reset guard, l5sim.models.izhikevich)")
            if hasattr(p, "kappa"):
                for name in ("kappa", "kappa_rest"):
                    if not 0.0 <= getattr(p, name) <= 1.0:
                        raise SpecError(f"{path}.params.{name}", getattr(p, name), "a number in [0, 1]")
        elif self.params:
            raise SpecError(f"{path}.params", dict(self.params), f"no params for a {self.model} population")
        integ = self.integration or DEFAULT_INTEGRATION[self.model]
        if integ not in INTEGRATIONS[self.model]:
            raise SpecError(f"{path}.integration", self.integration,
                            f"one of {list(INTEGRATIONS[self.model])} for model {self.model!r}")
        object.__setattr__(self, "integration", integ)
        if self.heterogeneity != "none" and self.model != "izhikevich2003":
            raise SpecError(f"{path}.heterogeneity", self.heterogeneity, "'none' unless model = 'izhikevich2003'")

    def cell_params(self):
        """The parameter record: the preset with ``params`` applied."""
        if self.model in ("poisson", "generator"):
            return None
        return PRESETS[self.model][self.preset].with_(**dict(self.params))


#: Cell parameters that are physically >= 0, and why (a negative value has no meaning).
NONNEGATIVE_CELL_PARAMS = {
    "dg_adapt_nS": "an adaptation conductance increment",
    "nmda_cap_nS": "a conductance cap",
    "gL_nS": "a leak conductance",
    "G_nS": "a coupling conductance",
    "gCa_pA": "the amplitude of the dendritic calcium (inward) current",
    "bap_pA": "the amplitude of the back-propagating action potential's (depolarising) current",
}
