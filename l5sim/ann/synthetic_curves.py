"""Synthetic ``l5sim gain`` / ``l5sim stdp`` output directories with known parameters.

For tests, documentation and the notebook: they write exactly the files the simulator's
experiments write (``gain.csv``, ``pulse.csv``, ``stdp.csv``, ``metadata.json``; see
:mod:`l5sim.bridge`), from a known ground truth plus Gaussian noise, so that fits can be checked
against the truth. They are *not* simulations: the real directories come from ``l5sim gain`` and
``l5sim stdp``.

Ground truth (defaults): a saturating f-I family
``rate = r_max tanh(s(m) max(I - theta(m), 0) / r_max)`` (plus Gaussian noise whose sd rises
from 0 at threshold to ``noise_hz`` at 20 Hz) with threshold
``theta(m) = theta0 - dtheta m`` (pA), gain ``s(m) = s0 (1 + k m)`` (Hz/pA) and saturation r_max
(Hz), over modulator levels m; after a phasic pulse of amplitude ``pulse_amplitude`` the gain is
``s(m0) + s0 k pulse_amplitude exp(-t / tau_ms)``; STDP weight change per second
``dw = dw0 (1 + speedup_per_bf bf)``.
"""
from __future__ import annotations

import csv
import json
import os

import numpy as np

__all__ = ["GAIN_TRUTH", "STDP_TRUTH", "write_synthetic_gain_dir", "write_synthetic_stdp_dir"]

#: Default ground truth of :func:`write_synthetic_gain_dir`.
GAIN_TRUTH = dict(theta0_pa=100.0, dtheta_pa=20.0, s0_hz_per_pa=0.2, k_per_level=1.5,
                  r_max_hz=150.0, levels=(0.0, 0.25, 0.5, 0.75, 1.0),
                  currents_pa=tuple(range(0, 651, 50)), noise_hz=2.0, pulse_amplitude=0.5,
                  tau_ms=950.0, pulse_noise=0.004, pulse_t_ms=tuple(range(0, 5001, 50)),
                  burst0=0.1, burst_per_level=0.4)
#: Default ground truth of :func:`write_synthetic_stdp_dir`.
STDP_TRUTH = dict(dw0_per_s=0.01, speedup_per_bf=3.0, burst_reset_fractions=(0.05, 0.3, 0.6),
                  noise_per_s=0.001)


def _write_csv(path, header, rows):
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)


def _metadata(seeds, extra=None):
    meta = {"seed": list(seeds), "circuit_hash": "synthetic-0000", "l5sim_version": "synthetic",
            "dt_ms": 0.1, "synthetic": True}
    meta.update(extra or {})
    return meta


def write_synthetic_gain_dir(path: str, seeds=(0, 1, 2), pulse: bool = True, **truth) -> dict:
    """Write a synthetic ``l5sim gain`` directory (gain.csv, curves.csv, pulse.csv, metadata.json).

    Parameters
    ----------
    path : str
        Directory to create.
    seeds : sequence of int
        One noisy repetition per seed (noise drawn from ``SeedSequence(seed)``).
    pulse : bool
        Also write pulse.csv (the gain time course after a phasic pulse).
    **truth
        Overrides of :data:`GAIN_TRUTH`.

    Returns
    -------
    dict
        The ground truth used.
    """
    t = {**GAIN_TRUTH, **truth}
    os.makedirs(path, exist_ok=True)
    rows, curves = [], []
    for m in t["levels"]:
        theta = t["theta0_pa"] - t["dtheta_pa"] * m
        s = t["s0_hz_per_pa"] * (1 + t["k_per_level"] * m)
        cond = f"NA={m:g}"
        for seed in seeds:
            rng = np.random.default_rng(np.random.SeedSequence([int(seed), int(round(m * 1000))]))
            for current in t["currents_pa"]:
                x = s * max(current - theta, 0.0)
                rate = t["r_max_hz"] * np.tanh(x / t["r_max_hz"])
                # noise sd grows from 0 at threshold to noise_hz at 20 Hz, so that rates stay
                # positive without clipping (clipping at 0 Hz would bias the threshold)
                sd = t["noise_hz"] * min(1.0, rate / 20.0)
                rate = max(0.0, rate + rng.normal(0, sd))
                bf = min(1.0, max(0.0, t["burst0"] + t["burst_per_level"] * m
                                  + rng.normal(0, 0.01))) if rate > 0 else 0.0
                dur = 2000.0
                n = int(round(rate * dur / 1000))
                rows.append([cond, "modulators.NA.tonic", m, "soma.I_pa", current, seed,
                             f"{rate:.6g}", f"{bf:.6g}", f"{1 + 2 * bf:.4g}", n, dur])
        curves.append([cond, "modulators.NA.tonic", m, s, theta])
    _write_csv(os.path.join(path, "gain.csv"),
               ["condition", "vary_key", "vary_value", "input_key", "input_value", "seed",
                "rate_hz", "burst_reset_fraction", "spikes_per_isi_burst", "n_spikes", "duration_ms"], rows)
    _write_csv(os.path.join(path, "curves.csv"),
               ["condition", "vary_key", "vary_value", "slope_hz_per_pa", "rheobase_pa"], curves)
    extra = {"tonic_level": float(min(t["levels"]))}
    if pulse:
        m0 = min(t["levels"])
        base = t["s0_hz_per_pa"] * (1 + t["k_per_level"] * m0)
        amp = t["s0_hz_per_pa"] * t["k_per_level"] * t["pulse_amplitude"]
        prow = []
        for seed in seeds:
            rng = np.random.default_rng(np.random.SeedSequence([int(seed), 77]))
            for tm in t["pulse_t_ms"]:
                g = base + amp * np.exp(-tm / t["tau_ms"]) + rng.normal(0, t["pulse_noise"])
                prow.append([tm, f"{g:.6g}", seed])
        _write_csv(os.path.join(path, "pulse.csv"), ["time_ms", "gain_hz_per_pa", "seed"], prow)
        extra["pulse_amplitude"] = t["pulse_amplitude"]
    with open(os.path.join(path, "metadata.json"), "w") as fh:
        json.dump(_metadata(seeds, extra), fh, indent=1)
    return t


def write_synthetic_stdp_dir(path: str, seeds=(0, 1, 2), **truth) -> dict:
    """Write a synthetic ``l5sim stdp`` directory (stdp.csv, metadata.json).

    Parameters
    ----------
    path : str
    seeds : sequence of int
    **truth
        Overrides of :data:`STDP_TRUTH`.

    Returns
    -------
    dict
        The ground truth used.
    """
    t = {**STDP_TRUTH, **truth}
    os.makedirs(path, exist_ok=True)
    rows = []
    for i, bf in enumerate(t["burst_reset_fractions"]):
        cond = "single" if i == 0 else ("burst" if i == len(t["burst_reset_fractions"]) - 1 else f"bf={bf:g}")
        for seed in seeds:
            rng = np.random.default_rng(np.random.SeedSequence([int(seed), i, 5]))
            dw = t["dw0_per_s"] * (1 + t["speedup_per_bf"] * bf) + rng.normal(0, t["noise_per_s"])
            rows.append([cond, bf, 0.0, seed, f"{dw:.6g}", 10000.0])
    _write_csv(os.path.join(path, "stdp.csv"),
               ["condition", "burst_reset_fraction", "modulator_level", "seed", "dw_per_s", "duration_ms"],
               rows)
    with open(os.path.join(path, "metadata.json"), "w") as fh:
        json.dump(_metadata(seeds), fh, indent=1)
    return t
