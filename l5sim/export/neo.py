"""A recording as a Neo Block (neo + quantities; the optional extra ``[neo]``), for Elephant.

:func:`to_neo` returns one ``neo.Block`` holding one ``Segment`` (the run):

- ``segment.spiketrains``: one SpikeTrain per neuron, in global index order, times in ms
  from ``t_start = 0`` to ``t_stop = duration``; annotations ``population``,
  ``local_index``, ``global_index``, ``model`` and ``position`` (x, y); the burst-reset flag
  of every spike as the array annotation ``burst_reset`` (0/1).
- ``segment.analogsignals``: one AnalogSignal per population and trace variable,
  shape (n_samples, n_traced), in the variable's unit (mV, pA, nS or dimensionless, as in
  :mod:`l5sim.export.nwb`), with the traced neurons' local indices as the array annotation
  ``local_index``; one dimensionless AnalogSignal ``modulator__NAME`` per modulator level.
- ``segment.irregularlysampledsignals``: ``weights__PATH`` (n_snapshots, n_synapses) at
  the weight-snapshot times.
- ``block.groups``: one ``Group`` per population with its SpikeTrains and AnalogSignals,
  so that ``[g for g in block.groups if g.name == "pyr"][0].spiketrains`` is the list
  Elephant's population statistics take.
- ``block.annotations``: seed, dt_ms, duration_ms, circuit_name, circuit_hash, and the
  whole metadata as JSON under ``l5sim_metadata``.

Sample times: l5sim samples a trace at the end of each interval (t = k * interval,
k = 1, 2, ...), so ``t_start`` of an AnalogSignal is its first sample time, not 0.
"""
from __future__ import annotations

import numpy as np

from .common import model_of, regular_timing, to_json, trace_unit

#: quantities unit of each l5sim unit name.
_PQ_UNITS = {"mV": "mV", "pA": "pA", "nS": "nS", "1": "dimensionless"}


def _neo():
    try:
        import neo
        import quantities as pq
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError('Neo export needs neo and quantities: pip install -e ".[neo]"') from exc
    return neo, pq


def _signal(neo, pq, name, data, t_ms, unit, **ann):
    reg = regular_timing(t_ms)
    data = np.asarray(data, np.float64)
    if data.ndim == 1:
        data = data[:, None]
    if reg is None:
        return neo.IrregularlySampledSignal(np.asarray(t_ms, np.float64) * pq.ms, data, units=unit,
                                            name=name, **ann)
    t0_s, rate_hz = reg
    return neo.AnalogSignal(data, units=unit, t_start=t0_s * 1e3 * pq.ms, sampling_rate=rate_hz * pq.Hz,
                            name=name, **ann)


def to_neo(rec):
    """A :class:`neo.Block` of a recording (layout in the module docstring).

    Parameters
    ----------
    rec : :class:`l5sim.recording.Recording`.

    Returns
    -------
    neo.Block
        One segment with a SpikeTrain per neuron and the traces, modulator levels and weight
        snapshots as signals; one group per population.

    Examples
    --------
    >>> import elephant.statistics as es                          # doctest: +SKIP
    >>> block = to_neo(rec)                                       # doctest: +SKIP
    >>> pyr = next(g for g in block.groups if g.name == "pyr")    # doctest: +SKIP
    >>> es.time_histogram(pyr.spiketrains, 5 * pq.ms, output="rate")  # doctest: +SKIP
    """
    neo, pq = _neo()
    from neo.core.spiketrainlist import SpikeTrainList

    meta = rec.metadata
    t_stop, t_start = rec.duration_ms * pq.ms, 0.0 * pq.ms
    block = neo.Block(name=str(meta.get("circuit_name", "l5sim")), file_origin="l5sim",
                      seed=to_json(meta.get("seed")), dt_ms=float(meta.get("dt_ms", float("nan"))),
                      duration_ms=rec.duration_ms, circuit_name=str(meta.get("circuit_name", "")),
                      circuit_hash=str(meta.get("circuit_hash", "")), l5sim_metadata=to_json(meta))
    seg = neo.Segment(name="run", index=0)
    block.segments.append(seg)
    order = np.lexsort((np.asarray(rec.spike_t_ms), np.asarray(rec.spike_i)))
    si = np.asarray(rec.spike_i, np.int64)[order]
    st = np.asarray(rec.spike_t_ms, np.float64)[order]
    sb = np.asarray(rec.spike_burst, np.uint8)[order]
    cuts = np.searchsorted(si, np.arange(int(rec.pop_start[-1]) + 1))
    all_trains = []
    for k, pop in enumerate(rec.pop_names):
        lo, hi = int(rec.pop_start[k]), int(rec.pop_start[k + 1])
        model = model_of(rec, pop)
        xy = rec.positions.get(pop)
        group = neo.Group(name=pop, model=model)
        trains = []
        for j in range(lo, hi):
            a, b = cuts[j], cuts[j + 1]
            pos = [float("nan")] * 2 if xy is None else [float(x) for x in xy[j - lo]]
            train = neo.SpikeTrain(st[a:b], units="ms", t_stop=t_stop, t_start=t_start,
                                   name=f"{pop}[{j - lo}]", population=pop, local_index=j - lo,
                                   global_index=j, model=model, position=pos,
                                   array_annotations={"burst_reset": sb[a:b]})
            train.segment = seg
            trains.append(train)
        all_trains.extend(trains)
        # a SpikeTrainList built at once: appending one by one checks membership against every
        # train already there (quadratic in the number of neurons, minutes for 10^4 cells)
        group.spiketrains = SpikeTrainList(items=trains)
        for var, arr in rec.traces.get(pop, {}).items():
            unit = _PQ_UNITS[trace_unit(var, model)[2]]
            sig = _signal(neo, pq, f"{pop}__{var}", arr, rec.trace_t_ms[pop], unit, population=pop, variable=var,
                          array_annotations={"local_index": np.asarray(rec.trace_neurons[pop], np.int64)})
            (seg.analogsignals if isinstance(sig, neo.AnalogSignal) else seg.irregularlysampledsignals).append(sig)
            group.add(sig)
        block.groups.append(group)
    seg.spiketrains = SpikeTrainList(items=all_trains, parent=seg)
    for name, lv in rec.modulators.items():
        sig = _signal(neo, pq, f"modulator__{name}", lv, rec.modulator_t_ms, "dimensionless", modulator=name)
        (seg.analogsignals if isinstance(sig, neo.AnalogSignal) else seg.irregularlysampledsignals).append(sig)
    for p, w in rec.weights.items():
        w = np.asarray(w, np.float64)
        if w.shape[0]:
            seg.irregularlysampledsignals.append(neo.IrregularlySampledSignal(
                np.asarray(rec.weight_t_ms, np.float64) * pq.ms, w, units="dimensionless",
                name=f"weights__{p}", pathway=p))
    return block


def write_mat(rec, path):
    """Write :func:`to_neo`'s Block as a Neo MATLAB file (``neo.NeoMatlabIO``, scipy only);
    ``neo.NeoMatlabIO(path).read_block()`` reads it back. That format keeps annotations but
    not array annotations, so they are copied into annotations of the same name (each
    SpikeTrain's ``burst_reset`` flags, each signal's ``local_index``); MATLAB stores a
    one-element array as a scalar, so read them with ``numpy.atleast_1d``. Written to a temporary name beside ``path``
    and renamed; returns the path. (Neo's lossless NIX format needs ``nixio`` and took
    84 s for the 510-cell column on this project's machine, the MATLAB file 0.3 s.)"""
    from .._io import atomic_write_named

    neo, _ = _neo()
    block = to_neo(rec)
    seg = block.segments[0]
    for obj in seg.spiketrains + seg.analogsignals + seg.irregularlysampledsignals:
        for key, val in obj.array_annotations.items():
            obj.annotations[key] = np.asarray(val)

    def write(tmp):
        neo.NeoMatlabIO(tmp).write_block(block)

    return atomic_write_named(path, write)
