"""Circuit specifications: TOML in, validated frozen dataclasses out.

A circuit file has the tables ``[circuit]``, ``[space]``, ``[receptors.NAME]``,
``[populations.NAME]``, ``[pathways.NAME]``, ``[inputs.NAME]``, ``[recording]``,
``[plasticity.NAME]`` and ``[modulators.NAME]`` (the last two optional). Every value is
validated on load: a wrong type, a value out of range, a missing required key or an
unknown key raises :class:`l5sim.errors.SpecError` naming the dotted key path, the bad
value and what was expected. Units are in the key names (``_ms``, ``_mV``, ``_pA``,
``_nS``, ``_hz``) or documented per field. The spec knows nothing of randomness: seeds are
given to :func:`l5sim.build`.

The package's modules, one job each: :mod:`~l5sim.spec.fields` (the validation machinery),
:mod:`~l5sim.spec.populations`, :mod:`~l5sim.spec.pathways`, :mod:`~l5sim.spec.inputs` and
:mod:`~l5sim.spec.recording` (the tables), :mod:`~l5sim.spec.checks` (checks across tables),
:mod:`~l5sim.spec.overrides` (TOML text and dotted-path overrides) and
:mod:`~l5sim.spec.circuit` (the whole circuit and its loaders). Every public name is
importable from ``l5sim.spec``.
"""
from __future__ import annotations

from .checks import MAX_BAP_STEPS, MAX_STEPS
from .circuit import MAX_FILE_BYTES, TOP_KEYS, CircuitMeta, CircuitSpec, Space, from_dict, load_circuit
from .inputs import MAX_EVENTS_PER_STEP, PROFILES, InputSpec
from .overrides import MAX_DEPTH, apply_overrides, check_depth, parse_value
from .pathways import CONNECTIVITY_RULES, RECEPTOR_KEYS, ConnectivitySpec, PathwaySpec, ReceptorSpec
from .populations import (DEFAULT_INTEGRATION, DEFAULT_PRESET, INTEGRATIONS, MODELS, NONNEGATIVE_CELL_PARAMS,
                          PARAM_CHOICES, PARAM_CLASS, PRESETS, InitSpec, PopulationSpec)
from .recording import TRACE_VARIABLES, RecordingSpec, TraceSpec

__all__ = [
    "CONNECTIVITY_RULES", "DEFAULT_INTEGRATION", "DEFAULT_PRESET", "INTEGRATIONS", "MAX_BAP_STEPS", "MAX_DEPTH",
    "MAX_EVENTS_PER_STEP", "MAX_FILE_BYTES", "MAX_STEPS", "MODELS", "NONNEGATIVE_CELL_PARAMS", "PARAM_CHOICES",
    "PARAM_CLASS", "PRESETS", "PROFILES", "RECEPTOR_KEYS", "TOP_KEYS", "TRACE_VARIABLES",
    "CircuitMeta", "CircuitSpec", "ConnectivitySpec", "InitSpec", "InputSpec", "PathwaySpec", "PopulationSpec",
    "ReceptorSpec", "RecordingSpec", "Space", "TraceSpec",
    "apply_overrides", "check_depth", "from_dict", "load_circuit", "parse_value",
]
