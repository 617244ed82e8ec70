"""Circuit specifications: TOML in, validated frozen dataclasses out.

A circuit file has the tables ``[circuit]``, ``[space]``, ``[receptors.NAME]``,
``[populations.NAME]``, ``[pathways.NAME]``, ``[inputs.NAME]``, ``[recording]``,
``[plasticity.NAME]`` and ``[modulators.NAME]`` (the last two optional). Every value is
validated on load: a wrong type, a value out of range, a missing required key or an
unknown key raises :class:`l5sim.errors.SpecError` naming the dotted key path, the bad
value and what was expected. Units are in the key names (``_ms``, ``_mV``, ``_pA``,
``_nS``, ``_hz``) or documented per field. The spec knows nothing of randomness: seeds are
given to :func:`l5sim.build`.
"""
from __future__ import annotations

import collections.abc
import copy
import functools
import dataclasses
import hashlib
import json
import math
import sys
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from .errors import SpecError
from .models import adex as _adex
from .models import izhikevich as _izh
from .models import l5pyramidal as _l5
from .models.synapses import RECEPTORS, ReceptorParams

# --------------------------------------------------------------------------------------
# Field helpers: constraints live in dataclass field metadata.


def _f(default=dataclasses.MISSING, *, doc="", ge=None, gt=None, le=None, lt=None,
       choices=None, allow_inf=False, factory=None):
    md = dict(doc=doc, ge=ge, gt=gt, le=le, lt=lt, choices=choices, allow_inf=allow_inf)
    if factory is not None:
        return field(default_factory=factory, metadata=md)
    return field(default=default, metadata=md)


def _describe(md) -> str:
    parts = []
    for key, sym in (("gt", ">"), ("ge", ">="), ("lt", "<"), ("le", "<=")):
        if md.get(key) is not None:
            parts.append(f"{sym} {md[key]}")
    return " and ".join(parts)


def _a(noun: str) -> str:
    """``noun`` with its indefinite article ("a number", "an integer")."""
    return f"{'an' if noun[:1] in 'aeiou' else 'a'} {noun}"


def _check_number(value, md, path, kind):
    if isinstance(value, int) and not -2 ** 63 <= value < 2 ** 63:   # TOML integers are 64-bit
        raise SpecError(path, value, "a value within the 64-bit integer range")
    if not md.get("allow_inf") and not math.isfinite(value):
        raise SpecError(path, value, f"a finite {kind}")
    if math.isnan(value):
        raise SpecError(path, value, f"{_a(kind)}, not NaN")
    for key, ok in (("gt", lambda x, b: x > b), ("ge", lambda x, b: x >= b),
                    ("lt", lambda x, b: x < b), ("le", lambda x, b: x <= b)):
        bound = md.get(key)
        if bound is not None and not ok(value, bound):
            raise SpecError(path, value, f"{_a(kind)} {_describe(md)}")
    return value


def _coerce(value, tp, md, path):
    """Check ``value`` against type ``tp`` and constraints ``md``; return the clean value."""
    origin = typing.get_origin(tp)
    if origin is typing.Union or origin is types.UnionType:
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if value is None:
            return None
        return _coerce(value, args[0], md, path)
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise SpecError(path, value, f"a number{(' ' + _describe(md)) if _describe(md) else ''}")
        return float(_check_number(value, md, path, "number"))
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer() and math.isfinite(value):
                value = int(value)
            else:
                raise SpecError(path, value, "an integer" + (f" {_describe(md)}" if _describe(md) else ""))
        return int(_check_number(value, md, path, "integer"))
    if tp is bool:
        if not isinstance(value, bool):
            raise SpecError(path, value, "true or false")
        return value
    if tp is str:
        if not isinstance(value, str):
            raise SpecError(path, value, "a string" + (f", one of {list(md['choices'])}" if md.get("choices") else ""))
        if md.get("choices") is not None and value not in md["choices"]:
            raise SpecError(path, value, f"one of {list(md['choices'])}")
        return value
    if origin is tuple:
        (inner,) = [a for a in typing.get_args(tp) if a is not Ellipsis]
        if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
            raise SpecError(path, value, f"a list of {getattr(inner, '__name__', inner)}")
        return tuple(_coerce(v, inner, md, f"{path}[{i}]") for i, v in enumerate(value))
    if tp is Any:
        return value
    if origin in (dict, Mapping, typing.Mapping, collections.abc.Mapping) or tp is dict:
        kt, vt = typing.get_args(tp) or (str, Any)
        if not isinstance(value, dict):
            raise SpecError(path, value, "a table")
        out = {}
        for k, v in value.items():
            if md.get("choices") is not None and k not in md["choices"]:
                raise SpecError(f"{path}.{k}", v, f"a key among {list(md['choices'])}")
            out[k] = _coerce(v, vt, {k2: v2 for k2, v2 in md.items() if k2 != "choices"}, f"{path}.{k}")
        return MappingProxyType(out)
    if dataclasses.is_dataclass(tp):
        return _from_dict(tp, value, path)
    raise TypeError(f"unsupported spec type {tp!r} at {path}")  # programming error


@functools.lru_cache(maxsize=None)
def _fields_of(cls):
    """Type hints and init fields of a spec dataclass (resolved once per class)."""
    return typing.get_type_hints(cls), {f.name: f for f in dataclasses.fields(cls) if f.init}


def _from_dict(cls, data, path):
    """Build dataclass ``cls`` from a TOML table, validating every key."""
    if not isinstance(data, dict):
        raise SpecError(path or "<root>", data, f"a table of {cls.__name__} fields")
    hints, flds = _fields_of(cls)
    for key in data:
        if key not in flds:
            raise SpecError(f"{path}.{key}" if path else key, data[key],
                            f"no such key; allowed keys: {sorted(flds)}")
    kwargs = {}
    for name, f in flds.items():
        sub = f"{path}.{name}" if path else name
        if name in data:
            kwargs[name] = _coerce(data[name], hints[name], f.metadata, sub)
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise SpecError(sub, "<missing>", f"a value: this key is required ({f.metadata.get('doc', '')})")
    obj = cls(**kwargs)
    check = getattr(obj, "_check", None)
    if check is not None:
        check(path)
    return obj


def _named_tables(cls, data, path):
    if not isinstance(data, dict):
        raise SpecError(path, data, f"a table of named {cls.__name__} tables")
    out = {}
    for name, table in data.items():
        if not isinstance(name, str) or not name.replace("_", "").replace("-", "").isalnum():
            raise SpecError(f"{path}.{name}", name, "a name of letters, digits, '_' or '-'")
        out[name] = _from_dict(cls, table, f"{path}.{name}")
    return MappingProxyType(out)


# --------------------------------------------------------------------------------------
# The spec records.

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
RECEPTOR_KEYS = ("AMPA", "NMDA", "GABA_A", "GABA_B", "CURRENT")


@dataclass(frozen=True)
class CircuitMeta:
    """The ``[circuit]`` table."""

    name: str = _f(doc="circuit name")
    dt_ms: float = _f(0.1, gt=0.0, le=10.0, doc="integration step (ms)")
    description: str = _f("", doc="free text")
    source: str = _f("", doc="citation of the circuit")
    scale: float = _f(1.0, gt=0.0, le=1e6,
                      doc="multiplies the size n of every population (neuron and poisson; generator "
                          "populations keep theirs), rounded to the nearest integer and at least 1; "
                          "with n_ref and pocket_fraction in the pathways it grows or shrinks a circuit "
                          "at fixed expected in-degrees (see ConnectivitySpec)")


@dataclass(frozen=True)
class Space:
    """The ``[space]`` table: where populations sit (science.md section 4).

    ``geometry = "ring"``: each population evenly spaced on a circle of ``radius``;
    ``angles = "even"`` places neuron i at 2 pi i / n, ``"closed"`` reproduces LVPA's
    ``linspace(0, 2 pi, n)`` (first and last coincide). ``distance`` is ``arc`` (along the
    circle, default) or ``chord`` (LVPA). ``geometry = "sheet"``: uniform random positions
    in a periodic square of side ``size``, distances with periodic wrap.
    """

    geometry: str = _f("ring", choices=("ring", "sheet"))
    angles: str = _f("even", choices=("even", "closed"))
    distance: str = _f("arc", choices=("arc", "chord"))
    radius: float = _f(1.0, gt=0.0, doc="ring radius (arbitrary length unit)")
    size: float = _f(1.0, gt=0.0, doc="side of the periodic sheet")
    source: str = _f("")


@dataclass(frozen=True)
class ReceptorSpec:
    """A ``[receptors.NAME]`` override of receptor kinetics."""

    tau_ms: float = _f(gt=0.0)
    E_mV: float = _f(allow_inf=False)
    mg_block: bool = _f(False)
    source: str = _f("")


@dataclass(frozen=True)
class InitSpec:
    """Initial state of a population: v (mV) with optional Gaussian jitter; u = b (v - vr)
    for the 2007 form with linear U(v) and the L5 soma (0 for the cubic, below and above
    U modes, their value at rest), u = b v for the 2003 form (Izhikevich 2003 listing); the
    L5 dendrite starts at ``vd_mV`` (default E_L) with w_d = b_d (v_d - E_L), its steady
    state for that potential."""

    v_mV: float | None = _f(None, doc="initial somatic potential; default the model's rest")
    v_sd_mV: float = _f(0.0, ge=0.0)
    vd_mV: float | None = _f(None, doc="initial dendritic potential; default E_L")
    source: str = _f("")


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

    model: str = _f(choices=MODELS)
    n: int = _f(gt=0, le=50_000_000)
    preset: str = _f("")
    params: Mapping[str, Any] = _f(factory=dict)
    integration: str = _f("")
    spike_detection: str = _f("same_step", choices=("same_step", "next_step"))
    heterogeneity: str = _f("none", choices=_izh.HETEROGENEITY)
    rate_hz: float = _f(0.0, ge=0.0)
    spike_times_ms: tuple[tuple[float, ...], ...] = _f((), ge=0.0)
    init: InitSpec = _f(factory=InitSpec)
    source: str = _f("")

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
                    clean[k] = _coerce(v, str, {"choices": PARAM_CHOICES[k]}, f"{path}.params.{k}")
                else:
                    clean[k] = _coerce(v, float, {"allow_inf": k in ("u_max_pA", "nmda_cap_nS")}, f"{path}.params.{k}")
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

    rule: str = _f(choices=CONNECTIVITY_RULES)
    A: float = _f(1.0, doc="gaussian_weight amplitude")
    sigma: float = _f(1.0, gt=0.0, doc="kernel width (same length unit as space)")
    p0: float = _f(1.0, ge=0.0, le=1.0)
    p: float = _f(0.1, ge=0.0, le=1.0)
    weight: float = _f(1.0)
    weight_low: float = _f(0.0)
    weight_high: float = _f(0.0)
    pocket_size: int = _f(1, gt=0)
    outdegree: int = _f(1, ge=0)
    autapses: bool = _f(False, doc="allow i -> i within one population (LVPA has them)")
    n_ref: int = _f(0, ge=0, doc="fixed_prob / gaussian_prob: presynaptic size at which p (p0) holds; "
                                "the probability is scaled by n_ref / n_pre (fixed expected in-degree); "
                                "0 = no scaling")
    pocket_fraction: float = _f(0.0, ge=0.0, le=1.0,
                                doc="pocket: fraction of the larger population covered by all pockets "
                                    "together (pocket size floor(fraction n_large / n_small)); "
                                    "0 = use pocket_size")
    source: str = _f("")

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

    pre: str = _f()
    post: str = _f()
    connectivity: ConnectivitySpec = _f()
    target: str = _f("soma", choices=("soma", "dendrite", "gate"))
    receptors: Mapping[str, float] = _f(factory=lambda: {"AMPA": 1.0}, choices=RECEPTOR_KEYS)
    delay_steps: int = _f(1, ge=0, le=1000)
    delay_per_distance: float = _f(0.0, ge=0.0)
    delay_max_steps: int = _f(0, ge=0, le=65535, doc="if > delay_steps: delays uniform in [delay_steps, delay_max_steps]")
    plasticity: str = _f("", doc="name of a [plasticity] rule, or empty")
    source: str = _f("")

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

_CONDUCTANCE_WHY = ("a conductance weight >= 0 (nS): the sign of a conductance synapse is set by its "
                    "receptor's reversal potential, so a negative weight would turn inhibition into "
                    "excitation (and excitation into inhibition); signed weights are for receptors = "
                    "{ CURRENT = ... }")


def _check_multipliers(path, receptors):
    """Conductance receptors' multipliers are >= 0 (a CURRENT synapse's sign is free)."""
    for name, m in receptors.items():
        if name != "CURRENT" and m < 0:
            raise SpecError(f"{path}.receptors.{name}", m,
                            f"a multiplier >= 0 (a negative multiplier makes the {name} conductance negative, "
                            "reversing its effect; signed synapses are for receptors = { CURRENT = ... })")


def _check_signs(path, receptors, c, target):
    """Weights of conductance and gate pathways keep their sign (see above)."""
    _check_multipliers(path, receptors)
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
            raise SpecError(f"{path}.connectivity.{key}", w, _CONDUCTANCE_WHY)


#: Cell parameters that are physically >= 0, and why (a negative value has no meaning).
NONNEGATIVE_CELL_PARAMS = {
    "dg_adapt_nS": "an adaptation conductance increment",
    "nmda_cap_nS": "a conductance cap",
    "gL_nS": "a leak conductance",
    "G_nS": "a coupling conductance",
    "gCa_pA": "the amplitude of the dendritic calcium (inward) current",
    "bap_pA": "the amplitude of the back-propagating action potential's (depolarising) current",
}

#: Largest mean number of Poisson input events per step (rate_hz x dt_ms x 1e-3) accepted:
#: the sampler is exact and equally fast at any mean (l5sim.kernels.rng, tests/test_rng.py
#: up to 1e6), but a million synchronous events per step is no longer a spike train.
MAX_EVENTS_PER_STEP = 1e6

PROFILES = ("uniform", "gaussian_index", "gaussian_space", "neurons")


@dataclass(frozen=True)
class InputSpec:
    """An ``[inputs.NAME]`` table: external drive onto one population.

    kind : ``current`` (constant / step current, ``amplitude_pA``), ``noise`` (Gaussian
        current redrawn every step), or ``poisson`` (spike drive at
        ``rate_hz`` onto ``receptors`` with weight ``weight``; ``shared = true`` makes one
        train shared by all targets, as LVPA's stimuli; ``ramp_ms`` ramps the rate up
        linearly from ``start_ms``).
    sigma_pA_sqrt_ms, sigma_pA : the two ways to size a ``noise`` input (give one).
        ``sigma_pA_sqrt_ms`` is a white-noise current of intensity sigma, I = sigma xi(t)
        with <xi(t) xi(t')> = delta(t - t'): each step draws sigma / sqrt(dt) x N(0, 1), so
        the voltage diffusion (variance growing as sigma^2 t / C^2) and results do not
        depend on dt (Brian2's ``xi``, Gardiner 2009 ch. 4). ``sigma_pA`` is the per-step
        standard deviation itself, as Izhikevich 2003 (I = 5 randn per 1 ms step) and NEST's
        ``noise_generator`` with dt = the step: its effect shrinks as dt shrinks, kept for
        the published networks.
    start_ms, stop_ms : active window [start, stop).
    period_ms, pulse_ms : for ``current`` and ``noise``: within the window, on for
        ``pulse_ms`` at the start of every ``period_ms`` (a pulse train; 0 = always on).
    profile : spatial scaling over the population: ``uniform``; ``gaussian_index``
        exp(-((i - center) / width)^2) on the index difference, not wrapped (LVPA's
        stimuli); ``gaussian_space`` exp(-d^2 / 2 width^2) from neuron ``center``'s
        position; ``neurons``: only the listed ``neurons``.
    """

    kind: str = _f(choices=("current", "noise", "poisson"))
    population: str = _f()
    compartment: str = _f("soma", choices=("soma", "dendrite"))
    amplitude_pA: float = _f(0.0)
    sigma_pA: float = _f(0.0, ge=0.0, doc="per-step SD of a noise current (pA); dt-dependent")
    sigma_pA_sqrt_ms: float = _f(0.0, ge=0.0, doc="white-noise intensity (pA sqrt(ms)); per-step SD = "
                                 "sigma / sqrt(dt_ms)")
    rate_hz: float = _f(0.0, ge=0.0)
    weight: float = _f(1.0)
    receptors: Mapping[str, float] = _f(factory=lambda: {"AMPA": 1.0}, choices=RECEPTOR_KEYS)
    shared: bool = _f(False)
    ramp_ms: float = _f(0.0, ge=0.0)
    start_ms: float = _f(0.0, ge=0.0)
    stop_ms: float = _f(math.inf, ge=0.0, allow_inf=True)
    period_ms: float = _f(0.0, ge=0.0, doc="repeat every period (current/noise); 0 = a single window")
    pulse_ms: float = _f(0.0, ge=0.0, doc="width of each repeated pulse (ms)")
    profile: str = _f("uniform", choices=PROFILES)
    center: float = _f(0.0)
    width: float = _f(1.0, gt=0.0)
    neurons: tuple[int, ...] = _f((), ge=0)
    source: str = _f("")

    def _check(self, path):
        if self.stop_ms <= self.start_ms:
            raise SpecError(f"{path}.stop_ms", self.stop_ms, f"a time > start_ms ({self.start_ms})")
        if self.period_ms > 0 and not 0 < self.pulse_ms <= self.period_ms:
            raise SpecError(f"{path}.pulse_ms", self.pulse_ms, f"a width in (0, period_ms = {self.period_ms}]")
        if self.period_ms > 0 and self.kind == "poisson":
            raise SpecError(f"{path}.period_ms", self.period_ms, "0 for a poisson input (pulse trains are for current and noise)")
        if self.kind == "noise" and self.sigma_pA > 0 and self.sigma_pA_sqrt_ms > 0:
            raise SpecError(f"{path}.sigma_pA", self.sigma_pA, "0 when sigma_pA_sqrt_ms is given (one noise size)")
        if self.kind != "noise" and (self.sigma_pA > 0 or self.sigma_pA_sqrt_ms > 0):
            raise SpecError(f"{path}.sigma_pA_sqrt_ms", self.sigma_pA_sqrt_ms or self.sigma_pA,
                            f"0 for a {self.kind!r} input (noise sizes are for kind = 'noise')")
        if self.profile == "neurons" and not self.neurons:
            raise SpecError(f"{path}.neurons", [], "a non-empty list of neuron indices for profile 'neurons'")
        if self.kind == "poisson" and not self.receptors:
            raise SpecError(f"{path}.receptors", {}, "at least one receptor")
        if self.kind == "poisson":
            _check_multipliers(path, self.receptors)
            if "CURRENT" not in self.receptors and self.weight < 0:
                raise SpecError(f"{path}.weight", self.weight, _CONDUCTANCE_WHY)


TRACE_VARIABLES = ("v", "u", "vd", "wd", "kappa", "g_adapt", "I_bap", "burst",
                   "g_AMPA", "g_NMDA", "g_GABA_A", "g_AMPA_d", "g_NMDA_d", "g_GABA_A_d")


@dataclass(frozen=True)
class TraceSpec:
    """A ``[recording.traces.POPULATION]`` table: state traces of chosen neurons."""

    neurons: tuple[int, ...] = _f((0,), ge=0)
    variables: tuple[str, ...] = _f(("v",), choices=TRACE_VARIABLES)
    interval_ms: float = _f(1.0, gt=0.0)


@dataclass(frozen=True)
class RecordingSpec:
    """The ``[recording]`` table.

    spikes : populations whose spikes are kept (default all).
    traces : per population, which neurons and variables to sample every ``interval_ms``.
    weights : plastic pathways whose weights are snapshotted every ``weights_interval_ms``
        (default: every plastic pathway); ``weights_full = false`` keeps only per-pathway
        summaries (mean, SD, fraction at the bounds).
    modulators_interval_ms : sampling interval of the recorded modulator levels.
    """

    spikes: tuple[str, ...] | None = _f(None)
    traces: Mapping[str, TraceSpec] = _f(factory=dict)
    weights: tuple[str, ...] | None = _f(None, doc="plastic pathways whose weights are recorded (default all)")
    weights_interval_ms: float = _f(1000.0, gt=0.0, doc="interval between weight snapshots (ms)")
    weights_full: bool = _f(True, doc="keep every weight at each snapshot (else only summaries)")
    modulators_interval_ms: float = _f(1.0, gt=0.0, doc="sampling of modulator levels (ms)")


@dataclass(frozen=True)
class CircuitSpec:
    """A validated circuit. Build it with :func:`l5sim.build`."""

    circuit: CircuitMeta
    space: Space
    receptors: Mapping[str, ReceptorParams]
    populations: Mapping[str, PopulationSpec]
    pathways: Mapping[str, PathwaySpec]
    inputs: Mapping[str, InputSpec]
    recording: RecordingSpec
    plasticity: Mapping[str, Any]
    modulators: Mapping[str, Any]
    raw: Mapping[str, Any] = field(repr=False, compare=False)
    path: str | None = field(default=None, repr=False, compare=False)

    @property
    def dt_ms(self) -> float:
        return self.circuit.dt_ms

    def __hash__(self) -> int:
        return hash(self.hash)

    def __eq__(self, other) -> bool:
        return isinstance(other, CircuitSpec) and other.hash == self.hash

    @property
    def hash(self) -> str:
        """sha256 of the circuit's content after overrides: its canonical JSON (key order
        and comments do not matter) plus the order of its named tables (populations,
        pathways, inputs, rules, modulators), which sets neuron indices and summation order
        and so can change a run."""
        raw = _thaw(self.raw)
        order = {k: list(raw.get(k, {})) for k in ("populations", "pathways", "inputs", "plasticity", "modulators")}
        return hashlib.sha256(_canonical_json({"content": raw, "order": order}).encode()).hexdigest()

    def to_dict(self) -> dict:
        """The circuit as plain data (what was loaded, overrides applied)."""
        return _thaw(self.raw)

    def with_overrides(self, overrides: Mapping[str, Any] | None = None) -> "CircuitSpec":
        """A new validated spec with dotted-path overrides applied."""
        return from_dict(apply_overrides(self.to_dict(), overrides or {}), source=self.path)


def _thaw(x):
    if isinstance(x, (dict, MappingProxyType)):
        return {k: _thaw(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_thaw(v) for v in x]
    return x


def _freeze(x):
    if isinstance(x, dict):
        return MappingProxyType({k: _freeze(v) for k, v in x.items()})
    if isinstance(x, list):
        return tuple(_freeze(v) for v in x)
    return x


def _canonical_json(data) -> str:
    def default(o):
        raise TypeError(type(o))
    return json.dumps(data, sort_keys=True, separators=(",", ":"), allow_nan=True, default=default)


TOP_KEYS = ("circuit", "space", "receptors", "populations", "pathways", "inputs", "recording",
            "plasticity", "modulators")


def from_dict(data: Mapping[str, Any], source: str | None = None) -> CircuitSpec:
    """Validate a circuit given as nested dicts (the parsed TOML)."""
    try:
        return _from_dict_inner(data, source)
    except SpecError as e:
        if source and e.source is None:
            raise SpecError(e.path, e.value, e.expected, source) from None
        raise


def _from_dict_inner(data, source):
    if not isinstance(data, dict):
        raise SpecError("<root>", data, "a table")
    check_depth(data)
    data = copy.deepcopy(dict(data))
    for key in data:
        if key not in TOP_KEYS:
            raise SpecError(key, data[key], f"no such top-level table; allowed: {list(TOP_KEYS)}")
    if "circuit" not in data:
        raise SpecError("circuit", "<missing>", "a [circuit] table with at least name")
    meta = _from_dict(CircuitMeta, data["circuit"], "circuit")
    space = _from_dict(Space, data.get("space", {}), "space")
    rec_over = data.get("receptors", {})
    if not isinstance(rec_over, dict):
        raise SpecError("receptors", rec_over, "a table of receptor tables")
    receptors = dict(RECEPTORS)
    for name, table in rec_over.items():
        if name not in RECEPTORS:
            raise SpecError(f"receptors.{name}", table, f"one of {sorted(RECEPTORS)}")
        base = dataclasses.asdict(RECEPTORS[name])
        if not isinstance(table, dict):
            raise SpecError(f"receptors.{name}", table, "a table")
        base.update(table)
        r = _from_dict(ReceptorSpec, base, f"receptors.{name}")
        receptors[name] = ReceptorParams(r.tau_ms, r.E_mV, r.mg_block, r.source)
    if "populations" not in data or not data["populations"]:
        raise SpecError("populations", data.get("populations", "<missing>"), "at least one population")
    pops = _named_tables(PopulationSpec, _scaled_populations(data["populations"], meta.scale),
                         "populations")
    paths = _named_tables(PathwaySpec, data.get("pathways", {}), "pathways")
    inputs = _named_tables(InputSpec, data.get("inputs", {}), "inputs")
    recording = _from_dict(RecordingSpec, data.get("recording", {}), "recording")
    plasticity = data.get("plasticity", {})
    modulators = data.get("modulators", {})
    for k, v in (("plasticity", plasticity), ("modulators", modulators)):
        if not isinstance(v, dict):
            raise SpecError(k, v, "a table of named tables")
        for name, table in v.items():
            if not isinstance(table, dict):
                raise SpecError(f"{k}.{name}", table, "a table")
    _cross_check(meta, pops, paths, inputs, recording, plasticity)
    spec = CircuitSpec(meta, space, MappingProxyType(receptors), pops, paths, inputs, recording,
                       _freeze(plasticity), _freeze(modulators), _freeze(data), source)
    # Sections owned by later modules validate themselves here (no upward import at load).
    from . import plasticity as _pl, neuromodulation as _nm  # noqa: E401  (same layer)
    object.__setattr__(spec, "plasticity", _pl.validate(plasticity, spec))
    object.__setattr__(spec, "modulators", _nm.validate(modulators, spec))
    return spec


def _scaled_populations(tables, scale: float):
    """The population tables with every integer ``n`` multiplied by ``circuit.scale``
    (rounded half up, at least 1), generators excepted. A copy: the spec's raw data keep
    the unscaled sizes and the scale, so overrides and the hash see what was written."""
    if scale == 1.0 or not isinstance(tables, dict):
        return tables
    out = {}
    for name, table in tables.items():
        if isinstance(table, dict) and table.get("model") != "generator":
            n = table.get("n")
            if isinstance(n, int) and not isinstance(n, bool):
                table = dict(table, n=max(1, int(math.floor(n * scale + 0.5))))
        out[name] = table
    return out


#: Largest time (in steps) that the builder turns into an int64 step index.
MAX_STEPS = 2 ** 62
#: The bAP window is a bit field of the spike history: at most 62 steps after the spike.
MAX_BAP_STEPS = 62


def _cross_check(meta, pops, paths, inputs, recording, plasticity):
    for name, pop in pops.items():
        if pop.model == "l5_pyramidal":
            p = pop.cell_params()
            if p.bap_start_ms < 0:
                raise SpecError(f"populations.{name}.params.bap_start_ms", p.bap_start_ms, "a number >= 0")
            if p.bap_stop_ms < p.bap_start_ms:
                raise SpecError(f"populations.{name}.params.bap_stop_ms", p.bap_stop_ms,
                                f"a number >= bap_start_ms ({p.bap_start_ms})")
            if not round(p.bap_stop_ms / meta.dt_ms) <= MAX_BAP_STEPS:
                raise SpecError(f"populations.{name}.params.bap_stop_ms", p.bap_stop_ms,
                                f"a bAP window of at most {MAX_BAP_STEPS} steps after the spike "
                                f"(<= {MAX_BAP_STEPS * meta.dt_ms:g} ms with dt_ms = {meta.dt_ms})")
    for name, pop in pops.items():
        if pop.model == "poisson" and pop.rate_hz * meta.dt_ms * 1e-3 > 1.0:
            raise SpecError(f"populations.{name}.rate_hz", pop.rate_hz,
                            f"a rate <= {1e3 / meta.dt_ms:g} Hz (1 / dt_ms: a poisson population fires at most "
                            "one spike per neuron and step)")
    for name, inp in inputs.items():
        if inp.kind == "poisson" and inp.rate_hz * meta.dt_ms * 1e-3 > MAX_EVENTS_PER_STEP:
            raise SpecError(f"inputs.{name}.rate_hz", inp.rate_hz,
                            f"a rate <= {MAX_EVENTS_PER_STEP * 1e3 / meta.dt_ms:g} Hz (at most "
                            f"{MAX_EVENTS_PER_STEP:g} events per step of {meta.dt_ms} ms; for a stronger "
                            "drive raise the weight)")
        for key in ("start_ms", "stop_ms", "ramp_ms"):
            t = getattr(inp, key)
            if math.isfinite(t) and not t / meta.dt_ms < MAX_STEPS:
                raise SpecError(f"inputs.{name}.{key}", t,
                                f"a time < {MAX_STEPS * meta.dt_ms:g} ms ({MAX_STEPS} steps of dt_ms)")
    for name, pw in paths.items():
        for end in ("pre", "post"):
            ref = getattr(pw, end)
            if ref not in pops:
                raise SpecError(f"pathways.{name}.{end}", ref, f"a population name: {sorted(pops)}")
        post = pops[pw.post]
        pre = pops[pw.pre]
        if post.model == "poisson":
            raise SpecError(f"pathways.{name}.post", pw.post, "a neuron or generator population (not poisson)")
        if pw.target in ("dendrite", "gate") and post.model != "l5_pyramidal":
            raise SpecError(f"pathways.{name}.target", pw.target,
                            f"'soma' (population {pw.post!r} has no dendrite / coupling gate)")
        if pw.target == "gate" and post.cell_params().kappa_mode != "state":
            raise SpecError(f"pathways.{name}.target", pw.target,
                            f"a target other than 'gate', or populations.{pw.post}.params.kappa_mode = 'state'")
        if "CURRENT" in pw.receptors and len(pw.receptors) > 1:
            raise SpecError(f"pathways.{name}.receptors", dict(pw.receptors),
                            "either CURRENT alone (voltage-jump synapse) or conductance receptors")
        if pw.delay_steps == 0 and pre.spike_detection != "next_step":
            raise SpecError(f"pathways.{name}.delay_steps", 0,
                            f"an integer >= 1 (0 needs populations.{pw.pre}.spike_detection = 'next_step')")
        c = pw.connectivity
        if c.rule == "one_to_one" and pre.n != post.n:
            raise SpecError(f"pathways.{name}.connectivity.rule", c.rule,
                            f"a rule other than one_to_one (sizes differ: {pre.n} vs {post.n})")
        if c.rule == "fixed_outdegree":
            avail = post.n - (1 if (pw.pre == pw.post and not c.autapses) else 0)
            if c.outdegree > avail:
                raise SpecError(f"pathways.{name}.connectivity.outdegree", c.outdegree,
                                f"an integer <= {avail} (distinct targets available)")
        if pw.delay_max_steps and pw.delay_max_steps < pw.delay_steps:
            raise SpecError(f"pathways.{name}.delay_max_steps", pw.delay_max_steps,
                            f"0 or an integer >= delay_steps ({pw.delay_steps})")
        if c.rule == "pocket":
            small, big = sorted((pre.n, post.n))
            k = c.pocket(pre.n, post.n)
            if c.pocket_fraction and k < 1:
                raise SpecError(f"pathways.{name}.connectivity.pocket_fraction", c.pocket_fraction,
                                f"a fraction >= {small / big:.3g} (pockets of at least one neuron: {small} "
                                f"pockets in {big} neurons)")
            if small * k > big:
                raise SpecError(f"pathways.{name}.connectivity.pocket_size", c.pocket_size,
                                f"an integer <= {big // small} ({small} pockets in {big} neurons)")
        if c.n_ref and c.probability(pre.n) > 1.0:
            q = "p" if c.rule == "fixed_prob" else "p0"
            raise SpecError(f"pathways.{name}.connectivity.n_ref", c.n_ref,
                            f"a reference size with {q} n_ref / n_pre <= 1 ({q} = {getattr(c, q)}, population "
                            f"{pw.pre!r} has {pre.n} neurons: {c.probability(pre.n):.3g}); a population this "
                            f"small cannot keep the reference in-degree")
        if pw.plasticity and pw.plasticity not in plasticity:
            raise SpecError(f"pathways.{name}.plasticity", pw.plasticity,
                            f"a name in [plasticity]: {sorted(plasticity)}")
        if pw.plasticity and pw.target != "gate" and "CURRENT" not in pw.receptors:
            rule = plasticity[pw.plasticity]
            w_min = rule.get("w_min", 0.0) if isinstance(rule, dict) else 0.0
            if isinstance(w_min, (int, float)) and not isinstance(w_min, bool) and w_min < 0:
                raise SpecError(f"plasticity.{pw.plasticity}.w_min", w_min,
                                f"a bound >= 0 for a rule on conductance pathway {name!r} (learning must "
                                "not turn its conductance negative)")
    for name, inp in inputs.items():
        if inp.population not in pops:
            raise SpecError(f"inputs.{name}.population", inp.population, f"a population name: {sorted(pops)}")
        pop = pops[inp.population]
        if pop.model in ("poisson", "generator"):
            raise SpecError(f"inputs.{name}.population", inp.population, f"a neuron population (not {pop.model})")
        if inp.compartment == "dendrite" and pop.model != "l5_pyramidal":
            raise SpecError(f"inputs.{name}.compartment", "dendrite",
                            f"'soma' (population {inp.population!r} has no dendrite)")
        for i in inp.neurons:
            if i >= pop.n:
                raise SpecError(f"inputs.{name}.neurons", i, f"an index < {pop.n}")
        if inp.kind == "poisson" and "CURRENT" in inp.receptors and len(inp.receptors) > 1:
            raise SpecError(f"inputs.{name}.receptors", dict(inp.receptors), "CURRENT alone or conductance receptors")
    if recording.weights is not None:
        for i, w in enumerate(recording.weights):
            if w not in paths or not paths[w].plasticity:
                raise SpecError(f"recording.weights[{i}]", w,
                                f"a plastic pathway: {sorted(n for n, pw in paths.items() if pw.plasticity)}")
    if recording.spikes is not None:
        for i, p in enumerate(recording.spikes):
            if p not in pops:
                raise SpecError(f"recording.spikes[{i}]", p, f"a population name: {sorted(pops)}")
    for p, tr in recording.traces.items():
        if p not in pops:
            raise SpecError(f"recording.traces.{p}", p, f"a population name: {sorted(pops)}")
        if pops[p].model in ("poisson", "generator"):
            raise SpecError(f"recording.traces.{p}", p, f"a neuron population ({pops[p].model} sources have no state)")
        for i in tr.neurons:
            if i >= pops[p].n:
                raise SpecError(f"recording.traces.{p}.neurons", i, f"an index < {pops[p].n}")
        if tr.interval_ms < meta.dt_ms:
            raise SpecError(f"recording.traces.{p}.interval_ms", tr.interval_ms, f"a number >= dt_ms ({meta.dt_ms})")


#: Deepest nesting of tables and arrays accepted in a circuit or an override (the bundled
#: circuits nest 4 deep: populations.NAME.spike_times_ms[i][j]); deeper data would exhaust
#: Python's recursion limit in the TOML parser or in copying.
MAX_DEPTH = 32
#: Largest circuit file read (bytes); generator spike-time lists are the only large content.
MAX_FILE_BYTES = 64 * 2 ** 20


def _toml_loads(text: str, path: str, what: str):
    try:
        return tomllib.loads(text)
    except RecursionError:
        raise SpecError(path, what, f"TOML nested at most {MAX_DEPTH} tables or arrays deep") from None


def check_depth(data, path: str = "<root>", limit: int = MAX_DEPTH) -> None:
    """Raise :class:`SpecError` when ``data`` (dicts and lists) nests deeper than ``limit``
    (checked without recursion, so any depth is safe to check; key paths are formed only for
    the error)."""
    stack = [(data, 0, None)]          # (value, depth, (parent entry, key)) -- a linked path
    while stack:
        entry = stack.pop()
        x, d, _ = entry
        if isinstance(x, (dict, MappingProxyType)):
            children = x.items()
        elif isinstance(x, (list, tuple)):
            children = enumerate(x)
        else:
            continue
        if d >= limit:
            parts = []
            e = entry
            while e[2] is not None:
                e, k = e[2]
                parts.append(f"[{k}]" if isinstance(k, int) else f".{k}")
            where = ("" if path == "<root>" else path) + "".join(reversed(parts))
            where = where.lstrip(".") or path
            where = where if len(where) <= 60 else where[:57] + "..."
            raise SpecError(where, "<nested data>", f"tables or arrays nested at most {limit} deep")
        stack.extend((v, d + 1, (entry, k)) for k, v in children if isinstance(v, (dict, list, tuple,
                                                                                    MappingProxyType)))


def parse_value(text: str):
    """Parse an override's value as a TOML value (number, bool, string, list, inline table);
    anything that is not valid TOML is taken as a plain string."""
    try:
        return tomllib.loads(f"x = {text}")["x"]
    except tomllib.TOMLDecodeError:
        return text


def apply_overrides(data: dict, overrides: Mapping[str, Any]) -> dict:
    """Apply ``{"dotted.key.path": value}`` overrides to nested dicts (in a copy).

    String values are parsed as TOML values (``"1.5"`` -> 1.5). Intermediate tables are
    created when missing; validation of the result happens in :func:`from_dict`.
    """
    data = copy.deepcopy(data)
    for key, value in overrides.items():
        if not isinstance(key, str) or not key or any(not part for part in key.split(".")):
            raise SpecError(str(key), value, "a dotted key path such as populations.pyr.n")
        if isinstance(value, str):
            try:
                value = parse_value(value)
            except RecursionError:
                raise SpecError(key, value[:40] + ("..." if len(value) > 40 else ""),
                                f"a TOML value nested at most {MAX_DEPTH} deep") from None
        check_depth(value, key, MAX_DEPTH - len(key.split(".")))
        parts = key.split(".")
        node = data
        for i, part in enumerate(parts[:-1]):
            nxt = node.get(part)
            if nxt is None:
                nxt = node[part] = {}
            if not isinstance(nxt, dict):
                raise SpecError(".".join(parts[: i + 1]), nxt, f"a table (to set {key})")
            node = nxt
        node[parts[-1]] = value
    return data


def load_circuit(path: str | Path, overrides: Mapping[str, Any] | None = None) -> CircuitSpec:
    """Read and validate a circuit TOML file, optionally with dotted-path overrides.

    Parameters
    ----------
    path : path to a ``.toml`` circuit file.
    overrides : ``{"populations.pyr.n": 200, ...}``; string values are parsed as TOML.

    Raises
    ------
    SpecError : naming the key path, the bad value and what was expected.
    """
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_FILE_BYTES + 1)
    except OSError as e:
        raise SpecError("<file>", str(path), f"a readable circuit file ({e.strerror or e})") from None
    if len(raw) > MAX_FILE_BYTES:
        raise SpecError("<file>", str(path), f"a circuit file of at most {MAX_FILE_BYTES // 2 ** 20} MiB")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise SpecError("<file>", str(path), f"a UTF-8 text file (TOML); byte {raw[e.start]:#04x} at offset "
                                             f"{e.start} is not UTF-8: is this a binary file?") from None
    try:
        data = _toml_loads(text, "<file>", str(path))
    except tomllib.TOMLDecodeError as e:
        raise SpecError("<file>", str(path), f"valid TOML ({e})") from None
    check_depth(data)
    if overrides:
        data = apply_overrides(data, overrides)
    return from_dict(data, source=str(path))
