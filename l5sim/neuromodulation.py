"""Neuromodulators: tonic levels, phasic pulses, uncertainty triggers and their targets.

Neuromodulators act through metabotropic receptors, so l5sim models them as slow changes
of intrinsic and synaptic parameters, never as injected current (science.md section 6).
A ``[modulators.NAME]`` table (NAME e.g. ``NA``, ``ACh``, ``DA``, ``5HT``) has

* ``tonic``: the baseline level (dimensionless);
* ``pulses``: a list of phasic pulses ``{onset_ms, amplitude, shape, duration_ms, tau_ms}``
  with ``shape`` = ``square`` (amplitude for duration), ``exponential``
  (amplitude exp(-(t - onset) / tau), cut at duration) or ``alpha``
  (amplitude (s / tau) exp(1 - s / tau), s = t - onset, cut at duration);
* ``trigger`` (optional): a pulse (same fields, no onset) fired whenever an uncertainty
  signal crosses ``threshold`` upward, at most once per ``refractory_ms``. ``signal`` is
  ``rate_surprise`` (|z-score| of the population's rate in the last ``window_ms`` against
  its running mean and SD, checked every ``check_ms``) or ``series`` (an external time
  series ``series`` sampled every ``series_dt_ms``);
* ``preset``: ``coupling`` or ``reset``, the two hypotheses of science.md section 6;
* the third factor of reward-modulated STDP: a ``[plasticity]`` rule with
  ``dopamine = "NAME"`` reads this modulator's level d (unscaled, possibly negative) at
  each of its deferred updates, w <- clip(w + (bias + d) sd) (:mod:`l5sim.plasticity`);
* ``targets``: ``{POPULATION = {TARGET = gain}}``, plus ``pathway_gain = {PATHWAY = gain}``
  and ``stdp_rate = {RULE = gain}``.

Targets of a population (additive: parameter + gain x level):
``kappa`` (coupling gate of L5 cells, clipped to [0, 1]), ``dend_drive_pA`` (current into
the apical dendrite), ``soma_drive_pA`` (current into the soma: excitability of PV and SOM
cells), ``gCa_pA`` (dendritic Ca2+ excitability), ``c_mV`` and ``d_pA`` (somatic reset).
Multiplicative targets (factor 1 + gain x level, floored at 0): ``pathway_gain`` scales a
pathway's synaptic output (e.g. PV or SOM output), ``stdp_rate`` a rule's learning rate.

The presets are assumptions, documented as such:

* ``coupling`` (Whyte et al. 2025; Rodriguez-Garcia et al. 2025 framing): NA raises the
  coupling gate (kappa +0.5 per unit) of every L5 population; ACh raises apical drive
  (+200 pA per unit) and recruits interneurons (+50 pA per unit into PV/SOM somata). Gains
  are l5sim choices (not published values): scale them with ``targets``.
* ``reset`` (the first author's earlier model): NA moves the soma from regular firing to
  bursting by shifting the regular reset, c = -65 + 30 I_NA and d = 8 - 12 I_NA, i.e. gains
  c_mV +30 and d_pA -12 per unit (I_NA 0.5 during a pulse); ACh the opposite (stabiliser).

Levels are computed in Python per chunk as arrays over the chunk's steps and enter the
kernel as a (steps x targets) table: no Python runs per step.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from .errors import SpecError

POP_TARGETS = ("kappa", "dend_drive_pA", "soma_drive_pA", "gCa_pA", "c_mV", "d_pA")
SHAPES = ("square", "exponential", "alpha")
SIGNALS = ("rate_surprise", "series")
PRESETS = ("", "coupling", "reset")


@dataclass(frozen=True)
class Pulse:
    onset_ms: float = 0.0
    amplitude: float = 1.0
    shape: str = "exponential"
    duration_ms: float = math.inf
    tau_ms: float = 200.0


@dataclass(frozen=True)
class Trigger:
    signal: str = "rate_surprise"
    population: str = ""
    window_ms: float = 50.0
    check_ms: float = 10.0
    threshold: float = 3.0
    refractory_ms: float = 500.0
    warmup_ms: float = 200.0
    series: tuple = ()
    series_dt_ms: float = 1.0
    pulse: Pulse = field(default_factory=Pulse)


@dataclass(frozen=True)
class Modulator:
    name: str
    tonic: float = 0.0
    pulses: tuple = ()
    trigger: Trigger | None = None
    preset: str = ""
    targets: tuple = ()   # ((kind, name, target, gain), ...) kind in pop/pathway/stdp

    def level(self, t_ms: np.ndarray, triggered_onsets=()) -> np.ndarray:
        """Level at times ``t_ms`` (tonic + scheduled pulses + triggered pulses)."""
        t = np.asarray(t_ms, float)
        out = np.full(t.shape, self.tonic, float)
        for p in self.pulses:
            out += pulse_shape(p, t - p.onset_ms)
        if self.trigger is not None:
            for onset in triggered_onsets:
                out += pulse_shape(self.trigger.pulse, t - onset)
        return out


def pulse_shape(p: Pulse, s: np.ndarray) -> np.ndarray:
    """Value of pulse ``p`` at times ``s`` after its onset (0 before and after duration)."""
    s = np.asarray(s, float)
    on = (s >= 0) & (s < p.duration_ms)
    if p.shape == "square":
        val = np.full(s.shape, p.amplitude)
    elif p.shape == "exponential":
        val = p.amplitude * np.exp(-np.clip(s, 0, None) / p.tau_ms)
    else:
        x = np.clip(s, 0, None) / p.tau_ms
        val = p.amplitude * x * np.exp(1.0 - x)
    return np.where(on, val, 0.0)


def _num(v, path, *, ge=None, gt=None, allow_inf=False):
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise SpecError(path, v, "a finite number" if not allow_inf else "a number")
    try:
        v = float(v)
    except OverflowError:
        raise SpecError(path, v, "a number within the float range") from None
    if math.isnan(v) or (not allow_inf and not math.isfinite(v)):
        raise SpecError(path, v, "a finite number" if not allow_inf else "a number")
    if ge is not None and v < ge:
        raise SpecError(path, v, f"a number >= {ge}")
    if gt is not None and v <= gt:
        raise SpecError(path, v, f"a number > {gt}")
    return float(v)


def _keys(table, allowed, path):
    if not isinstance(table, dict):
        raise SpecError(path, table, "a table")
    for k in table:
        if k not in allowed:
            raise SpecError(f"{path}.{k}", table[k], f"no such key; allowed keys: {sorted(allowed)}")


def _pulse(table, path):
    _keys(table, Pulse.__dataclass_fields__, path)
    kw = {}
    for k, v in table.items():
        if k == "shape":
            if v not in SHAPES:
                raise SpecError(f"{path}.shape", v, f"one of {list(SHAPES)}")
            kw[k] = v
        elif k == "duration_ms":
            kw[k] = _num(v, f"{path}.{k}", gt=0, allow_inf=True)
        elif k == "tau_ms":
            kw[k] = _num(v, f"{path}.{k}", gt=0)
        elif k == "onset_ms":
            kw[k] = _num(v, f"{path}.{k}", ge=0)
        else:
            kw[k] = _num(v, f"{path}.{k}")
    return Pulse(**kw)


def base_name(name: str) -> str:
    """Modulator name without a replica prefix (``c3__NA`` -> ``NA``)."""
    return name.rsplit("__", 1)[-1]


def _preset_targets(preset, name, spec):
    """Targets a preset adds for modulator ``name`` (NA or ACh)."""
    out = []
    # a replicated circuit (l5sim.experiments.replicate) prefixes names with "TAG__": a
    # preset then acts only on the populations of its own copy
    prefix = name[: -len(base_name(name))]
    mine = {p: pop for p, pop in spec.populations.items() if p.startswith(prefix)}
    pyr = [p for p, pop in mine.items() if pop.model == "l5_pyramidal"]
    inter = [p for p, pop in mine.items() if pop.model == "izhikevich2007"
             and pop.preset in ("BASKET", "PV", "FS", "LTS", "SOM")]
    up = base_name(name).upper()
    if preset == "coupling":
        if up == "NA":
            out += [("pop", p, "kappa", 0.5) for p in pyr]
        elif up == "ACH":
            out += [("pop", p, "dend_drive_pA", 200.0) for p in pyr]
            out += [("pop", p, "soma_drive_pA", 50.0) for p in inter]
    elif preset == "reset":
        sign = 1.0 if up == "NA" else (-1.0 if up == "ACH" else 0.0)
        out += [("pop", p, "c_mV", 30.0 * sign) for p in pyr]
        out += [("pop", p, "d_pA", -12.0 * sign) for p in pyr]
    return out


def validate(tables, spec):
    """Validate ``[modulators]``; returns ``{name: Modulator}`` (read-only)."""
    mods = {}
    for name, table in tables.items():
        path = f"modulators.{name}"
        _keys(table, ("tonic", "pulses", "trigger", "preset", "targets", "source"), path)
        tonic = _num(table.get("tonic", 0.0), f"{path}.tonic")
        pulses = table.get("pulses", [])
        if not isinstance(pulses, (list, tuple)):
            raise SpecError(f"{path}.pulses", pulses, "a list of pulse tables")
        pulses = tuple(_pulse(p, f"{path}.pulses[{i}]") for i, p in enumerate(pulses))
        preset = table.get("preset", "")
        if preset not in PRESETS:
            raise SpecError(f"{path}.preset", preset, f"one of {list(PRESETS)}")
        if preset and base_name(name).upper() not in ("NA", "ACH"):
            raise SpecError(f"{path}.preset", preset, "a preset only for a modulator named NA or ACh")
        trig = None
        if "trigger" in table:
            tt = table["trigger"]
            _keys(tt, Trigger.__dataclass_fields__, f"{path}.trigger")
            kw = {}
            for k, v in tt.items():
                sub = f"{path}.trigger.{k}"
                if k == "signal":
                    if v not in SIGNALS:
                        raise SpecError(sub, v, f"one of {list(SIGNALS)}")
                    kw[k] = v
                elif k == "population":
                    if v not in spec.populations:
                        raise SpecError(sub, v, f"a population name: {sorted(spec.populations)}")
                    kw[k] = v
                elif k == "series":
                    if not isinstance(v, (list, tuple)) or not v:
                        raise SpecError(sub, v, "a non-empty list of numbers")
                    kw[k] = tuple(_num(x, f"{sub}[{i}]") for i, x in enumerate(v))
                elif k == "pulse":
                    kw[k] = _pulse(v, sub)
                elif k == "threshold":
                    kw[k] = _num(v, sub)
                else:
                    kw[k] = _num(v, sub, gt=0) if k != "warmup_ms" else _num(v, sub, ge=0)
            trig = Trigger(**kw)
            if trig.signal == "rate_surprise" and not trig.population:
                raise SpecError(f"{path}.trigger.population", "", "the population whose rate is watched")
            if trig.signal == "series" and not trig.series:
                raise SpecError(f"{path}.trigger.series", [], "a non-empty list of numbers")
            if trig.check_ms < spec.dt_ms or trig.window_ms < trig.check_ms:
                raise SpecError(f"{path}.trigger.check_ms", trig.check_ms,
                                f"dt_ms ({spec.dt_ms}) <= check_ms <= window_ms ({trig.window_ms})")
        targets = list(_preset_targets(preset, name, spec))
        tg = table.get("targets", {})
        _keys(tg, list(spec.populations) + ["pathway_gain", "stdp_rate"], f"{path}.targets")
        for key, sub in tg.items():
            if not isinstance(sub, dict):
                raise SpecError(f"{path}.targets.{key}", sub, "a table of target = gain")
            for tname, gain in sub.items():
                tp = f"{path}.targets.{key}.{tname}"
                g = _num(gain, tp)
                if key == "pathway_gain":
                    if tname not in spec.pathways:
                        raise SpecError(tp, tname, f"a pathway name: {sorted(spec.pathways)}")
                    targets.append(("pathway", tname, "gain", g))
                elif key == "stdp_rate":
                    if tname not in spec.plasticity:
                        raise SpecError(tp, tname, f"a plasticity rule name: {sorted(spec.plasticity)}")
                    targets.append(("stdp", tname, "rate", g))
                else:
                    pop = spec.populations[key]
                    if tname not in POP_TARGETS:
                        raise SpecError(tp, tname, f"one of {list(POP_TARGETS)}")
                    if pop.model == "poisson":
                        raise SpecError(tp, tname, "a neuron population (poisson sources have no parameters)")
                    if tname in ("kappa", "dend_drive_pA", "gCa_pA") and pop.model != "l5_pyramidal":
                        raise SpecError(tp, tname, f"a target of a point neuron ({key!r} has no dendrite)")
                    # a user entry replaces a preset entry for the same target
                    targets = [t for t in targets if not (t[0] == "pop" and t[1] == key and t[2] == tname)]
                    targets.append(("pop", key, tname, g))
        mods[name] = Modulator(name, tonic, pulses, trig, preset, tuple(targets))
    for rname, rule in spec.plasticity.items():
        if rule.dopamine and rule.dopamine not in mods:
            raise SpecError(f"plasticity.{rname}.dopamine", rule.dopamine,
                            f"a modulator defined in [modulators]: {sorted(mods)}")
    return MappingProxyType(mods)


@dataclass
class ModulationPlan:
    """Kernel-side description of every modulated target (built by :func:`plan`).

    Each row k of the tables is one (target, modulator) pair: ``kind`` 0 population
    parameter column ``col`` of population ``index`` (additive), 1 pathway gain (factor),
    2 STDP rate of plastic rule index (factor), 3 dopamine level (third factor, gain 1) of
    the reward-modulated plastic pathway ``index``.
    """

    kind: np.ndarray
    index: np.ndarray
    col: np.ndarray
    gain: np.ndarray
    modulator: list
    labels: list

    @property
    def n(self) -> int:
        return int(self.kind.shape[0])


def plan(spec, pop_names, path_names, plastic_names, col_of) -> ModulationPlan:
    kinds, idx, cols, gains, mods, labels = [], [], [], [], [], []
    for mname, m in spec.modulators.items():
        for kind, name, target, g in m.targets:
            if kind == "pop":
                kinds.append(0)
                idx.append(pop_names.index(name))
                cols.append(col_of[target])
            elif kind == "pathway":
                kinds.append(1)
                idx.append(path_names.index(name))
                cols.append(-1)
            else:
                # a rule may drive several plastic pathways: one row per pathway
                for q, pn in enumerate(plastic_names):
                    if spec.pathways[pn].plasticity == name:
                        kinds.append(2)
                        idx.append(q)
                        cols.append(-1)
                        gains.append(g)
                        mods.append(mname)
                        labels.append(f"{mname}->stdp_rate:{pn}")
                continue
            gains.append(g)
            mods.append(mname)
            labels.append(f"{mname}->{name}.{target}")
        for q, pn in enumerate(plastic_names):
            if spec.plasticity[spec.pathways[pn].plasticity].dopamine == mname:
                kinds.append(3)
                idx.append(q)
                cols.append(-1)
                gains.append(1.0)
                mods.append(mname)
                labels.append(f"{mname}->stdp_dopamine:{pn}")
    return ModulationPlan(np.asarray(kinds, np.int64), np.asarray(idx, np.int64), np.asarray(cols, np.int64),
                          np.asarray(gains, float), mods, labels)
