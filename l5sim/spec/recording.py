"""What a run keeps: the ``[recording]`` table and its per-population trace tables."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from .fields import setting

TRACE_VARIABLES = ("v", "u", "vd", "wd", "kappa", "g_adapt", "I_bap", "burst",
                   "g_AMPA", "g_NMDA", "g_GABA_A", "g_AMPA_d", "g_NMDA_d", "g_GABA_A_d")


@dataclass(frozen=True)
class TraceSpec:
    """A ``[recording.traces.POPULATION]`` table: state traces of chosen neurons."""

    neurons: tuple[int, ...] = setting((0,), ge=0)
    variables: tuple[str, ...] = setting(("v",), choices=TRACE_VARIABLES)
    interval_ms: float = setting(1.0, gt=0.0)


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

    spikes: tuple[str, ...] | None = setting(None)
    traces: Mapping[str, TraceSpec] = setting(factory=dict)
    weights: tuple[str, ...] | None = setting(None, doc="plastic pathways whose weights are recorded (default all)")
    weights_interval_ms: float = setting(1000.0, gt=0.0, doc="interval between weight snapshots (ms)")
    weights_full: bool = setting(True, doc="keep every weight at each snapshot (else only summaries)")
    modulators_interval_ms: float = setting(1.0, gt=0.0, doc="sampling of modulator levels (ms)")
