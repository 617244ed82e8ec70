"""Experiments as library functions: f-I gain families and the STDP-acceleration protocol.

Both run independent trials *together* in one compiled kernel call: the circuit is
replicated once per (condition, input level) into one larger circuit of disjoint copies
(:func:`replicate`), so a 9 x 12 gain family is a single simulation of 108 cells, not 108
processes. Results are tidy tables (one row per condition, input level and seed) with the
seed and circuit hash, written as CSV with a metadata JSON and a figure by the CLI.

Measured quantities (science.md section 6): rate (Hz) of the chosen population over the
window where the input is on; ``isi_burst_excess`` (short-ISI spikes in excess of a
rate-matched Poisson train) and ``spikes_per_isi_burst``; for L5 pyramidal populations
``burst_reset_fraction`` (share of spikes in the dendrite's burst reset); per curve the
threshold-linear fit of :func:`l5sim.analysis.fi_shape_fit` (rheobase, slope = gain, their
standard errors, R^2, onset, steepest local slope and whether one line fits).

The package's modules: :mod:`~l5sim.experiments.trials` (seeds, grids, replicated circuits,
spike statistics, CSV), :mod:`~l5sim.experiments.gain` (:func:`gain_sweep`),
:mod:`~l5sim.experiments.stdp` (:func:`stdp_protocol`) and :mod:`~l5sim.experiments.pulse`
(:func:`pulse_response`). Every public name is importable from ``l5sim.experiments``.
"""
from __future__ import annotations

from .gain import FIT_COLUMNS, GainResult, gain_sweep
from .pulse import PulseResult, pulse_response
from .stdp import STDP_APICAL_PA, STDP_CONDITIONS, STDPResult, stdp_protocol
from .trials import SEP, check_seeds, condition_label, parse_grid, replicate, write_csv

__all__ = ["FIT_COLUMNS", "SEP", "STDP_APICAL_PA", "STDP_CONDITIONS", "GainResult", "PulseResult", "STDPResult",
           "check_seeds", "condition_label", "gain_sweep", "parse_grid", "pulse_response", "replicate",
           "stdp_protocol", "write_csv"]
