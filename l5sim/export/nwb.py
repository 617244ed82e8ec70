"""A recording as an NWB 2 file (pynwb; the optional extra ``[nwb]``).

Layout of the file :func:`to_nwb` writes (times in seconds, as NWB requires; data keep
l5sim's units and carry NWB's ``conversion`` factor to SI):

=================================  ====================================================
where                              what
=================================  ====================================================
``units``                          one row per neuron, in global index order (``id`` =
                                   l5sim's global index): ``spike_times`` (s),
                                   ``population``, ``local_index``, ``model``,
                                   ``position`` (x, y in the space's length unit) and
                                   ``burst_reset`` (ragged, one 0/1 flag per spike:
                                   fired with the L5 burst reset)
``acquisition/POP__VAR``           TimeSeries (n_samples, n_traced) of trace VAR of
                                   population POP, regular sampling (``starting_time``,
                                   ``rate``); ``comments`` is JSON naming the population,
                                   variable and the traced neurons' local indices
``processing/neuromodulation``     TimeSeries ``NAME`` per modulator level (dimensionless)
``processing/plasticity``          DynamicTable ``weights__PATH``, one row per weight
                                   snapshot: ``timestamp`` (s) and ``weight`` (all
                                   synapses, CSR synapse order); DynamicTable
                                   ``final_weights__PATH``, one row per synapse (a table,
                                   not a TimeSeries: synapses outnumber snapshots, and NWB
                                   wants time along a series' first, longest axis)
``notes``                          the recording's metadata as JSON (circuit as data,
                                   seed, dt, duration, circuit hash, versions, timing)
``was_generated_by``               (name, version) of l5sim, numpy, numba, python, pynwb
``session_id``                     circuit name and seed
``experiment_description``         circuit name, sha256, seed, dt and duration in words
=================================  ====================================================

No ``subject``: the data come from no animal (nwbinspector's subject, experimenter and
institution checks, written for animal recordings, do not apply).

Units of the traces follow the models (l5sim/models): membrane potentials in mV, currents
(``u``, ``wd``, ``I_bap``) in pA, conductances (``g_*``, ``g_adapt``) in nS, the gate
``kappa`` and the ``burst`` state dimensionless; ``u`` of the Izhikevich (2003) model is
dimensionless as in that paper. Weights are in the units of the pathway's connection rule
(nS for conductance synapses, mV for the voltage jumps of the 2003 model), so they are
stored as dimensionless numbers with the unit named in the description.
"""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from .._io import atomic_write_named
from .common import model_of, regular_timing, to_json, trace_unit

def _pynwb():
    try:
        import pynwb
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError('NWB export needs pynwb: pip install -e ".[nwb]"') from exc
    return pynwb


def _series(pynwb, name, data, t_ms, unit, conversion, description, comments="no comments"):
    kw = {"name": name, "data": data, "unit": unit, "conversion": conversion,
          "description": description, "comments": comments}
    reg = regular_timing(t_ms)
    if reg is None:
        kw["timestamps"] = np.asarray(t_ms, np.float64) * 1e-3
    else:
        kw["starting_time"], kw["rate"] = reg
    return pynwb.TimeSeries(**kw)


def build_nwbfile(rec, session_start_time: datetime | None = None):
    """The :class:`pynwb.NWBFile` of a recording, in memory (see the module docstring).

    Parameters
    ----------
    rec : :class:`l5sim.recording.Recording`.
    session_start_time : time zero of the file (timezone-aware); default: now (UTC). A
        simulation has no wall-clock start, so this only dates the file.
    """
    pynwb = _pynwb()
    meta = rec.metadata
    seed = meta.get("seed")
    name = str(meta.get("circuit_name", "circuit"))
    chash = str(meta.get("circuit_hash", ""))
    versions = dict(meta.get("versions") or {})
    versions.setdefault("pynwb", pynwb.__version__)
    start = session_start_time or datetime.now(timezone.utc).replace(microsecond=0)
    if start.tzinfo is None:
        raise ValueError(f"session_start_time: {start!r} has no timezone; expected a timezone-aware datetime")
    nwb = pynwb.NWBFile(
        session_description=f"l5sim simulation of circuit {name!r}, {rec.duration_ms:g} ms",
        identifier=f"l5sim-{name}-{chash[:16]}-seed{seed}-{rec.duration_ms:g}ms",
        session_start_time=start,
        session_id=f"{name}-seed{seed}",
        experiment_description=(f"in-silico run of l5sim circuit {name!r} (sha256 {chash}), seed {seed}, "
                                f"dt {meta.get('dt_ms')} ms, duration {rec.duration_ms:g} ms"),
        notes=to_json(meta),
        keywords=["simulation", "layer 5 pyramidal neuron", "l5sim"],
        source_script=f"l5sim {versions.get('l5sim', '')}".strip(),
        source_script_file_name="l5sim",
        was_generated_by=[[k, str(v)] for k, v in sorted(versions.items())],
    )
    _add_units(nwb, rec)
    _add_traces(pynwb, nwb, rec)
    _add_modulators(pynwb, nwb, rec)
    _add_weights(pynwb, nwb, rec)
    return nwb


def _add_units(nwb, rec) -> None:
    """The Units table, built column by column (adding 10^4 rows one at a time through
    ``add_unit`` costs about 0.7 ms a row in argument checks)."""
    import pynwb
    from hdmf.common import VectorData, VectorIndex

    order = np.lexsort((np.asarray(rec.spike_t_ms), np.asarray(rec.spike_i)))
    si = np.asarray(rec.spike_i, np.int64)[order]
    st = np.asarray(rec.spike_t_ms, np.float64)[order] * 1e-3
    sb = np.asarray(rec.spike_burst, np.uint8)[order]
    n = int(rec.pop_start[-1])
    ends = np.searchsorted(si, np.arange(1, n + 1))
    sizes = np.diff(np.asarray(rec.pop_start, np.int64))
    pops = np.repeat(np.asarray(rec.pop_names, dtype=object), sizes)
    models = np.repeat(np.asarray([model_of(rec, p) for p in rec.pop_names], dtype=object), sizes)
    local = np.concatenate([np.arange(m, dtype=np.int64) for m in sizes]) if n else np.zeros(0, np.int64)
    xy = np.concatenate([np.asarray(rec.positions[p], np.float64) if p in rec.positions else np.full((m, 2), np.nan)
                         for p, m in zip(rec.pop_names, sizes)]) if n else np.zeros((0, 2))
    times = VectorData(name="spike_times", description="spike times (s)", data=st)
    flags = VectorData(name="burst_reset", data=sb,
                       description="per spike: 1 if fired with the burst reset of an L5 cell, else 0")
    dt_ms = rec.metadata.get("dt_ms")
    nwb.units = pynwb.misc.Units(
        name="units", description="simulated neurons, one row per neuron in l5sim's global index order",
        resolution=float(dt_ms) * 1e-3 if dt_ms else None, id=list(range(n)),
        columns=[times, VectorIndex(name="spike_times_index", data=ends, target=times),
                 VectorData(name="population", description="population the neuron belongs to", data=list(pops)),
                 VectorData(name="local_index", description="index of the neuron within its population", data=local),
                 VectorData(name="model", description="neuron model of the population (l5sim.models)",
                            data=list(models)),
                 VectorData(name="position", data=xy,
                            description="x, y of the neuron (space length unit of the circuit's [space])"),
                 flags, VectorIndex(name="burst_reset_index", data=ends, target=flags)])


def _add_traces(pynwb, nwb, rec) -> None:
    for pop, vars_ in rec.traces.items():
        model = model_of(rec, pop)
        neurons = [int(x) for x in rec.trace_neurons.get(pop, [])]
        for var, arr in vars_.items():
            unit, conv, l5unit = trace_unit(var, model)
            nwb.add_acquisition(_series(
                pynwb, f"{pop}__{var}", np.asarray(arr, np.float64), rec.trace_t_ms[pop], unit, conv,
                f"trace {var!r} ({l5unit}) of population {pop!r}, columns = traced neurons",
                comments=to_json({"population": pop, "variable": var, "neurons": neurons, "l5sim_unit": l5unit})))


def _add_modulators(pynwb, nwb, rec) -> None:
    if not rec.modulators:
        return
    mod = nwb.create_processing_module("neuromodulation", "sampled neuromodulator levels (dimensionless)")
    for name, lv in rec.modulators.items():
        mod.add(_series(pynwb, name, np.asarray(lv, np.float64), rec.modulator_t_ms, "dimensionless", 1.0,
                        f"level of modulator {name!r} (l5sim.neuromodulation)"))


def _add_weights(pynwb, nwb, rec) -> None:
    if not rec.weights and not rec.final_weights:
        return
    from hdmf.common import DynamicTable, VectorData

    mod = nwb.create_processing_module("plasticity", "plastic synaptic weights, CSR synapse order")
    unit = "pathway weight unit (nS for conductance synapses)"
    for p, w in rec.weights.items():
        w = np.asarray(w, np.float32)
        mod.add(DynamicTable(
            name=f"weights__{p}", description=f"weight snapshots of pathway {p!r}, one row per snapshot",
            columns=[VectorData(name="timestamp", description="snapshot time (s)",
                                data=np.asarray(rec.weight_t_ms, np.float64)[:w.shape[0]] * 1e-3),
                     VectorData(name="weight", description=f"every synapse's weight ({unit})", data=w)]))
    for p, w in rec.final_weights.items():
        mod.add(DynamicTable(
            name=f"final_weights__{p}", description=f"weights of pathway {p!r} at the end, one row per synapse",
            columns=[VectorData(name="weight", description=f"weight ({unit})", data=np.asarray(w, np.float32))]))


def to_nwb(rec, path, session_start_time: datetime | None = None) -> Path:
    """Write a recording as an NWB 2 file (see the module docstring for the layout).

    Parameters
    ----------
    rec : :class:`l5sim.recording.Recording`.
    path : output file (``.nwb``); written to a temporary name beside it and renamed, so a
        reader never sees a half-written file.
    session_start_time : time zero of the file, timezone-aware (default: now, UTC).

    Returns
    -------
    pathlib.Path
        The file written. Read it with ``pynwb.NWBHDF5IO(path).read()``.
    """
    pynwb = _pynwb()
    nwb = build_nwbfile(rec, session_start_time)

    def write(tmp):
        with pynwb.NWBHDF5IO(tmp, mode="w") as io:
            io.write(nwb)

    return atomic_write_named(path, write)
