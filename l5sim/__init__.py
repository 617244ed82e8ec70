"""l5sim: a fast, faithful simulator of cortical layer-5 microcircuits.

The public API is four verbs::

    import l5sim
    spec = l5sim.load_circuit("circuits/l5_column.toml", overrides={"populations.pyr.n": 800})
    net = l5sim.build(spec, seed=1)
    rec = l5sim.simulate(net, duration_ms=1000.0)
    l5sim.save_recording(rec, "out/")
    rec = l5sim.load_recording("out/")

Units everywhere: ms, mV, pF, nS, pA, Hz. Names are imported lazily (PEP 562), so that
``import l5sim`` and ``l5sim --help`` do not pay for NumPy and Numba.
"""
from __future__ import annotations

__version__ = "0.1.0"

_API = {
    "load_circuit": ("spec", "load_circuit"),
    "CircuitSpec": ("spec", "CircuitSpec"),
    "build": ("builder", "build"),
    "BuiltCircuit": ("builder", "BuiltCircuit"),
    "simulate": ("simulation", "simulate"),
    "Session": ("session", "Session"),
    "Recording": ("recording", "Recording"),
    "load_recording": ("recording", "load"),
    "save_recording": ("recording", "save"),
    "L5SimError": ("errors", "L5SimError"),
    "SpecError": ("errors", "SpecError"),
    "DivergenceError": ("errors", "DivergenceError"),
}

__all__ = sorted(_API) + ["__version__"]


def __getattr__(name):
    if name in _API:
        import importlib

        module, attr = _API[name]
        value = getattr(importlib.import_module(f".{module}", __name__), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'l5sim' has no attribute {name!r}")


def __dir__():
    return __all__
