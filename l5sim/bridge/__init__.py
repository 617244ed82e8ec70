"""The bridge from fitted L5 gain curves to NGM-SGD's parameters, and the bridge file.

The paper (Rodriguez-Garcia, Ghosh & Ramaswamy 2025, arXiv 2507.14056) sets NGM-SGD's gamma,
g0 and eta by hand. This module derives them from the simulator's curves, fitted by
:mod:`l5sim.fits`, and stores fits, units, uncertainties, provenance and the derived parameters in
a versioned JSON **bridge file** (schema ``l5sim/schemas/bridge-v1.schema.json``, validated on
read and on write).

The mapping, step by step (each step is a function of :mod:`l5sim.bridge.mapping` and is tested):

1. **Time.** One optimizer iteration stands for ``ms_per_iteration`` of biological time
   (default :data:`DEFAULT_MS_PER_ITERATION` = 100 ms). Why: an iteration is one learning episode
   (one mini-batch: a stimulus sample and its outcome) and can carry at most one phasic
   noradrenergic drive event; the phasic locus-coeruleus response to a task-relevant stimulus is
   a burst of about 100 ms (Aston-Jones & Cohen 2005, Annu. Rev. Neurosci. 28:403), so one
   iteration lasts about one phasic burst. It is a named parameter: change it and gamma follows.
2. **gamma** = ``exp(-ms_per_iteration / tau_decay_ms)``, where ``tau_decay_ms`` is the decay time
   constant of the gain after a phasic pulse, fit (b) (:func:`l5sim.fits.fit_pulse_response`):
   the optimizer's relaxation ``g <- gamma g + (1 - gamma) g0`` is the exact discretisation of an
   exponential decay to g0 sampled once per iteration. (With tau = 949 ms and 100 ms per
   iteration, gamma = 0.9, the paper's value.) Standard error by the delta method:
   ``gamma ms_per_iteration / tau^2 * se(tau)``.
3. **g0 = 1** by construction: the optimizer's gain is dimensionless, so the fitted f-I gain
   s(m) (Hz/pA) is normalised by its value at the tonic modulator level m0,
   ``g(m) = s(m) / s(m0)``; the baseline gain s(m0) in Hz/pA is recorded for reference.
4. **eta** = ``(dg/dm) * modulator_per_nat``, where ``dg/dm = b / s(m0)`` is the normalised slope of
   the linear fit ``s(m) = a + b m`` (fit (a), gain against modulator level, linearised at m0)
   and ``modulator_per_nat`` is how much phasic modulator one nat of output entropy releases per
   iteration (a named parameter; biology does not measure it). Default: the pulse amplitude of
   the simulated pulse protocol divided by ``ln(n_classes)``, i.e. maximal uncertainty (chance
   level over n_classes) releases one full simulated pulse. Then ``eta H`` is the gain increment
   of that iteration's pulse, which decays with gamma like every other.
5. **lr_coupling** (optional, **off by default**): the fitted STDP speed-up (fit (c)) gives the
   relative change of the weight-change rate per unit modulator, ``d ln(dw)/dm`` (directly if the
   STDP sweep varies the modulator level, or through the burst-reset fraction bf (share of
   spikes in the dendrite's burst reset, :mod:`l5sim.analysis`),
   ``d ln(dw)/d(bf) * d(bf)/dm``, with d(bf)/dm fitted on the gain sweep); per unit of
   normalised gain that is ``lr_coupling = d ln(dw)/dm / (dg/dm)``, used by NGM-SGD as
   ``lr * max(0, 1 + lr_coupling (mean g - g0))``. It goes beyond the paper's chain-rule coupling,
   and a variant that drives the learning rate by entropy made the gap larger (science.md
   section 7), hence off unless asked for.

Input directories (written by ``l5sim gain`` / ``l5sim stdp``): ``GAIN_DIR/gain.csv`` (tidy, one
row per condition, input level and seed), optional ``GAIN_DIR/pulse.csv`` (``time_ms``,
``gain_hz_per_pa``, ``seed``; the pulse amplitude in ``metadata.json`` as ``pulse_amplitude``, or
in a ``pulse_amplitude`` column, or in a ``# pulse_amplitude: 0.5`` comment line),
``STDP_DIR/stdp.csv``, and ``metadata.json`` in each (``seed``, ``circuit_hash``,
``l5sim_version``, ``dt_ms``).

The package's modules: :mod:`~l5sim.bridge.tables` reads the simulator's output directories,
:mod:`~l5sim.bridge.mapping` holds the steps above, :mod:`~l5sim.bridge.document` validates,
reads and writes bridge files, and :mod:`~l5sim.bridge.make` fits a directory and assembles
the document. Every public name is importable from ``l5sim.bridge``.
"""
from __future__ import annotations

from .document import (SCHEMA_VERSION, l5sim_version, optimizer_params, read_bridge, schema, validate_bridge,
                       write_bridge)
from .make import make_bridge
from .mapping import (DEFAULT_MS_PER_ITERATION, derive_optimizer_params, eta_from_gain, gamma_from_tau,
                      lr_coupling_from_stdp, normalised_gain_slope)
from .tables import read_gain_dir, read_stdp_dir, read_table

__all__ = [
    "SCHEMA_VERSION",
    "DEFAULT_MS_PER_ITERATION",
    "schema",
    "l5sim_version",
    "read_table",
    "read_gain_dir",
    "read_stdp_dir",
    "gamma_from_tau",
    "normalised_gain_slope",
    "eta_from_gain",
    "lr_coupling_from_stdp",
    "derive_optimizer_params",
    "make_bridge",
    "validate_bridge",
    "write_bridge",
    "read_bridge",
    "optimizer_params",
]
