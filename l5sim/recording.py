"""Recordings: flat spikes, decimated traces and metadata, and their on-disk format.

On-disk format (``recording.npz``, readable by NumPy alone with ``allow_pickle=False``):

==========================  ==========================================================
key                         content
==========================  ==========================================================
``spike_i``                 int32, global neuron index of each spike
``spike_t_ms``              float64, spike time (ms), sorted by time then index
``spike_burst``             uint8, 1 if the spike was fired with the burst reset
``pop_names``               unicode array of population names, in index order
``pop_start``               int64, first global index of each population (+ total)
``trace_t_ms__POP``         float64, sample times of population POP's traces
``trace__POP__VAR``         float64, shape (n_samples, n_neurons) of variable VAR
``trace_neurons__POP``      int64, local indices of the traced neurons
``weight_t_ms``             float64, times of weight snapshots (ms)
``weights__PATH``           float32 (n_snapshots, n_synapses), plastic weights of PATH
``final_weights__PATH``     float32, weights of PATH at the end of the run
``modulator_t_ms``          float64, sample times of modulator levels
``modulator__NAME``         float64, level of modulator NAME
``positions__POP``          float64 (n_neurons, 2), x and y of population POP's neurons
                            (space length unit; ring: radius (cos, sin) of the angle)
``metadata_json``           unicode scalar: the metadata below as JSON
==========================  ==========================================================

Metadata: ``seed``, ``dt_ms``, ``duration_ms``, ``circuit_name``, ``circuit_hash``
(sha256 of the canonical circuit), ``circuit`` (the full circuit as data), ``versions``
(l5sim, numpy, numba, python) and ``timing_s`` (build, simulate). The same metadata is
also written as ``metadata.json`` beside the archive by :func:`save`. Files are written
to a temporary name and renamed, so a reader never sees a half-written file.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ._io import atomic_write


@dataclass
class Recording:
    """What a simulation kept.

    Attributes
    ----------
    spike_i : int32 global neuron indices (see ``pop_names`` / ``pop_start``).
    spike_t_ms : float64 spike times (ms).
    spike_burst : uint8 flags, 1 for spikes fired with the burst reset (L5 cells).
    pop_names : population names in index order.
    pop_start : int64 array, first global index of each population, then the total.
    traces : ``{pop: {var: array (n_samples, n_neurons)}}``.
    trace_t_ms : ``{pop: sample times (ms)}``.
    trace_neurons : ``{pop: local neuron indices}``.
    metadata : dict (seed, dt_ms, duration_ms, circuit hash, versions, timing; per plastic
        pathway weight summaries at each snapshot under ``"weights"``).
    weight_t_ms : times of the weight snapshots (ms).
    weights : ``{pathway: float32 array (n_snapshots, n_synapses)}`` (CSR synapse order).
    final_weights : ``{pathway: float32 weights at the end}`` for every plastic pathway.
    modulator_t_ms, modulators : sampled neuromodulator levels ``{name: array}``.
    positions : ``{pop: float64 array (n_neurons, 2)}``, x and y of every neuron in the
        space's length unit (ring: ``radius * (cos, sin)`` of its angle); empty for
        recordings written before positions were kept.
    """

    spike_i: np.ndarray
    spike_t_ms: np.ndarray
    spike_burst: np.ndarray
    pop_names: list
    pop_start: np.ndarray
    traces: dict = field(default_factory=dict)
    trace_t_ms: dict = field(default_factory=dict)
    trace_neurons: dict = field(default_factory=dict)
    metadata: dict = field(default_factory=dict)
    weight_t_ms: np.ndarray = field(default_factory=lambda: np.zeros(0))
    weights: dict = field(default_factory=dict)
    final_weights: dict = field(default_factory=dict)
    modulator_t_ms: np.ndarray = field(default_factory=lambda: np.zeros(0))
    modulators: dict = field(default_factory=dict)
    positions: dict = field(default_factory=dict)

    @property
    def duration_ms(self) -> float:
        return float(self.metadata.get("duration_ms", 0.0))

    def pop_size(self, pop: str) -> int:
        k = self.pop_names.index(pop)
        return int(self.pop_start[k + 1] - self.pop_start[k])

    def spikes(self, pop: str):
        """(local neuron index, time in ms, burst flag) of one population's spikes."""
        k = self.pop_names.index(pop)
        lo, hi = self.pop_start[k], self.pop_start[k + 1]
        m = (self.spike_i >= lo) & (self.spike_i < hi)
        return self.spike_i[m] - lo, self.spike_t_ms[m], self.spike_burst[m]

    def summary(self, burst_isi_ms: float = 16.0) -> dict:
        """Per-population rate, CV of ISIs and burst measures (:func:`l5sim.analysis.summarize`)."""
        from . import analysis

        return analysis.summarize(self, burst_isi_ms=burst_isi_ms)


def write_json(path, data) -> None:
    """Write JSON atomically (temporary file, then rename)."""
    text = json.dumps(data, indent=2, sort_keys=True, allow_nan=True, default=json_default)
    atomic_write(Path(path), lambda fh: fh.write(text.encode()))


def write_text(path, text: str) -> None:
    """Write a text file atomically."""
    atomic_write(Path(path), lambda fh: fh.write(text.encode()))


def json_default(o):
    """``json.dumps`` default for NumPy scalars and arrays (as Python numbers and lists)."""
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def save(rec: Recording, directory) -> Path:
    """Save a recording as ``DIR/recording.npz`` and ``DIR/metadata.json``; returns the npz path."""
    directory = Path(directory)
    arrays = {
        "spike_i": np.asarray(rec.spike_i, np.int32),
        "spike_t_ms": np.asarray(rec.spike_t_ms, np.float64),
        "spike_burst": np.asarray(rec.spike_burst, np.uint8),
        "pop_names": np.asarray(rec.pop_names, dtype=str),
        "pop_start": np.asarray(rec.pop_start, np.int64),
        "metadata_json": np.asarray(json.dumps(rec.metadata, default=json_default, allow_nan=True)),
    }
    arrays["weight_t_ms"] = np.asarray(rec.weight_t_ms, np.float64)
    for p, w in rec.weights.items():
        arrays[f"weights__{p}"] = np.asarray(w, np.float32)
    for p, w in rec.final_weights.items():
        arrays[f"final_weights__{p}"] = np.asarray(w, np.float32)
    arrays["modulator_t_ms"] = np.asarray(rec.modulator_t_ms, np.float64)
    for m, lv in rec.modulators.items():
        arrays[f"modulator__{m}"] = np.asarray(lv, np.float64)
    for pop, xy in rec.positions.items():
        arrays[f"positions__{pop}"] = np.asarray(xy, np.float64)
    for pop, vars_ in rec.traces.items():
        arrays[f"trace_t_ms__{pop}"] = np.asarray(rec.trace_t_ms[pop], np.float64)
        arrays[f"trace_neurons__{pop}"] = np.asarray(rec.trace_neurons[pop], np.int64)
        for var, arr in vars_.items():
            arrays[f"trace__{pop}__{var}"] = np.asarray(arr, np.float64)
    out = directory / "recording.npz"
    atomic_write(out, lambda fh: np.savez_compressed(fh, **arrays))
    write_json(directory / "metadata.json", rec.metadata)
    return out


def load(path) -> Recording:
    """Load a recording saved by :func:`save` (a directory or the ``.npz`` file); no pickle."""
    path = Path(path)
    if path.is_dir():
        path = path / "recording.npz"
    with np.load(path, allow_pickle=False) as z:
        traces, trace_t, trace_n, wts, fw, mods, pos = {}, {}, {}, {}, {}, {}, {}
        for key in z.files:
            if key.startswith("positions__"):
                pos[key.split("__", 1)[1]] = z[key]
            elif key.startswith("weights__"):
                wts[key.split("__", 1)[1]] = z[key]
            elif key.startswith("final_weights__"):
                fw[key.split("__", 1)[1]] = z[key]
            elif key.startswith("modulator__"):
                mods[key.split("__", 1)[1]] = z[key]
            elif key.startswith("trace__"):
                _, pop, var = key.split("__", 2)
                traces.setdefault(pop, {})[var] = z[key]
            elif key.startswith("trace_t_ms__"):
                trace_t[key.split("__", 1)[1]] = z[key]
            elif key.startswith("trace_neurons__"):
                trace_n[key.split("__", 1)[1]] = z[key]
        return Recording(
            spike_i=z["spike_i"], spike_t_ms=z["spike_t_ms"], spike_burst=z["spike_burst"],
            pop_names=[str(s) for s in z["pop_names"]], pop_start=z["pop_start"],
            traces=traces, trace_t_ms=trace_t, trace_neurons=trace_n,
            metadata=json.loads(str(z["metadata_json"])),
            weight_t_ms=z["weight_t_ms"] if "weight_t_ms" in z.files else np.zeros(0), weights=wts,
            final_weights=fw, modulator_t_ms=z["modulator_t_ms"] if "modulator_t_ms" in z.files else np.zeros(0),
            modulators=mods, positions=pos,
        )
