"""What the NWB and Neo writers share: the unit of each trace variable, the model of a
population, metadata as JSON, and the test for an evenly sampled time axis."""
from __future__ import annotations

import json

import numpy as np

from ..recording import json_default

#: (NWB unit, conversion to it, l5sim unit) of each trace variable (l5sim/models docstrings).
_MV = ("volts", 1e-3, "mV")
_PA = ("amperes", 1e-12, "pA")
_NS = ("siemens", 1e-9, "nS")
_ONE = ("dimensionless", 1.0, "1")
TRACE_UNITS = {"v": _MV, "vd": _MV, "u": _PA, "wd": _PA, "I_bap": _PA, "g_adapt": _NS,
               "kappa": _ONE, "burst": _ONE}


def trace_unit(var: str, model) -> tuple:
    if var.startswith("g_"):
        return _NS
    if model == "izhikevich2003" and var == "u":
        return _ONE          # Izhikevich (2003) keeps u dimensionless
    return TRACE_UNITS.get(var, _ONE)


def model_of(rec, pop: str) -> str:
    circ = rec.metadata.get("circuit") or {}
    return str((circ.get("populations", {}).get(pop) or {}).get("model", ""))


def to_json(obj) -> str:
    """Metadata as sorted JSON text (NumPy values as numbers and lists)."""
    return json.dumps(obj, sort_keys=True, allow_nan=True, default=json_default)


def regular_timing(t_ms: np.ndarray):
    """(starting_time s, rate Hz) if ``t_ms`` is evenly spaced (to 1e-9 of a step), else None."""
    t_ms = np.asarray(t_ms, np.float64)
    if t_ms.size < 2:
        return None
    step = (t_ms[-1] - t_ms[0]) / (t_ms.size - 1)
    if step <= 0 or np.max(np.abs(np.diff(t_ms) - step)) > 1e-9 * step:
        return None
    return float(t_ms[0]) * 1e-3, 1e3 / step
