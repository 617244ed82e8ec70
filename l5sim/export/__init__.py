"""Export recordings to the field's formats: NWB (pynwb) and Neo (for Elephant).

The native ``recording.npz`` stays the fast path (:mod:`l5sim.recording`); these writers
translate a :class:`l5sim.recording.Recording` for tools that do not know l5sim:

- :func:`to_nwb` writes an NWB 2 file (Neurodata Without Borders, Rübel et al. 2022, eLife
  11:e78362) with the spikes as the Units table, the traces, modulator levels and weight
  snapshots as TimeSeries, and the circuit, seed and versions in the file's metadata.
  Needs the optional extra ``[nwb]`` (``pip install -e ".[nwb]"``).
- :func:`to_neo` returns a ``neo.Block`` (Garcia et al. 2014, Front Neuroinform 8:10) with
  one SpikeTrain per neuron, grouped per population, and the traces as AnalogSignals, which
  Elephant's statistics read directly. Needs the optional extra ``[neo]``.

Both take a recording and never simulate; they import their libraries lazily, so that
``import l5sim`` does not need them. Exporting is downstream of recording in the one-way
flow (spec -> build -> simulate -> recording -> analysis / export).
"""
from __future__ import annotations

from .neo import to_neo, write_mat
from .nwb import build_nwbfile, to_nwb

__all__ = ["build_nwbfile", "to_neo", "to_nwb", "write_mat"]
