"""l5sim: a fast, faithful simulator of cortical layer-5 microcircuits.

The public API is four verbs::

    import l5sim
    spec = l5sim.load_circuit("circuits/l5_column.toml", overrides={"populations.pyr.n": 800})
    net = l5sim.build(spec, seed=1)
    rec = l5sim.simulate(net, duration_ms=1000.0)
    rec = l5sim.load_recording("out/")          # what ``l5sim.save_recording`` wrote

Units everywhere: ms, mV, pF, nS, pA, Hz.
"""
from __future__ import annotations

__version__ = "0.1.0"

from .builder import BuiltCircuit, build
from .errors import DivergenceError, L5SimError, SpecError
from .recording import Recording
from .recording import load as load_recording
from .recording import save as save_recording
from .simulation import simulate
from .spec import CircuitSpec, load_circuit

__all__ = ["load_circuit", "build", "simulate", "load_recording", "save_recording", "Recording",
           "CircuitSpec", "BuiltCircuit", "L5SimError", "SpecError", "DivergenceError", "__version__"]
