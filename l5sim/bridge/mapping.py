"""The mapping from fitted curves to NGM-SGD's parameters, one function per step (the steps
are described in :mod:`l5sim.bridge`)."""
from __future__ import annotations

import math

import numpy as np

from ..errors import FitError, L5SimError

#: Biological time one optimizer iteration stands for, ms (one phasic LC burst; see :mod:`l5sim.bridge`).
DEFAULT_MS_PER_ITERATION = 100.0


def gamma_from_tau(tau_decay_ms: float, tau_stderr_ms: float = 0.0,
                   ms_per_iteration: float = DEFAULT_MS_PER_ITERATION) -> tuple[float, float]:
    """Step 2: gain decay per iteration, ``gamma = exp(-ms_per_iteration / tau_decay_ms)``.

    Parameters
    ----------
    tau_decay_ms : float
        Decay time constant of the gain after a phasic pulse, ms (> 0).
    tau_stderr_ms : float
        Its standard error, ms.
    ms_per_iteration : float
        Biological time of one iteration, ms (> 0).

    Returns
    -------
    gamma, stderr : float
        Dimensionless, in (0, 1); delta-method standard error.
    """
    if not (tau_decay_ms > 0 and math.isfinite(tau_decay_ms)):
        raise L5SimError(f"tau_decay_ms: got {tau_decay_ms!r}; expected a finite value > 0 ms")
    if not (ms_per_iteration > 0 and math.isfinite(ms_per_iteration)):
        raise L5SimError(f"ms_per_iteration: got {ms_per_iteration!r}; expected > 0 ms")
    g = math.exp(-ms_per_iteration / tau_decay_ms)
    return g, g * ms_per_iteration / tau_decay_ms ** 2 * abs(tau_stderr_ms)


def normalised_gain_slope(intercept: float, slope: float, cov, tonic_level: float) -> tuple[float, float, float, float]:
    """Step 3-4: baseline gain s(m0) and normalised slope ``dg/dm = b / (a + b m0)``.

    Parameters
    ----------
    intercept, slope : float
        Linear fit ``s(m) = a + b m`` of the f-I gain (Hz/pA) against modulator level m.
    cov : array_like, shape (2, 2)
        Covariance of (a, b).
    tonic_level : float
        Tonic modulator level m0.

    Returns
    -------
    s0, s0_se : float
        Baseline gain s(m0), Hz/pA, and its standard error.
    dgdm, dgdm_se : float
        Normalised slope, 1/level, and its delta-method standard error.
    """
    a, b = float(intercept), float(slope)
    C = np.asarray(cov, dtype=float)
    s0 = a + b * tonic_level
    if not s0 > 0:
        raise FitError(f"baseline gain s(m0) at tonic level {tonic_level:g} is {s0:.4g} Hz/pA; "
                       "expected > 0 to normalise the gain")
    J0 = np.array([1.0, tonic_level])
    s0_se = math.sqrt(max(J0 @ C @ J0, 0.0))
    dgdm = b / s0
    J = np.array([-b / s0 ** 2, a / s0 ** 2])
    return s0, s0_se, dgdm, math.sqrt(max(J @ C @ J, 0.0))


def eta_from_gain(dgdm: float, dgdm_se: float, modulator_per_nat: float) -> tuple[float, float]:
    """Step 4: ``eta = (dg/dm) * modulator_per_nat`` (gain per nat per iteration) and its error."""
    if not (modulator_per_nat >= 0 and math.isfinite(modulator_per_nat)):
        raise L5SimError(f"modulator_per_nat: got {modulator_per_nat!r}; expected a finite value >= 0")
    eta = dgdm * modulator_per_nat
    if eta < 0:
        raise FitError(f"eta = {eta:.4g} < 0: the fitted gain falls with the modulator "
                       f"(dg/dm = {dgdm:.4g}); NGM-SGD needs a gain that rises with it")
    return eta, abs(dgdm_se * modulator_per_nat)


def lr_coupling_from_stdp(dlnw_dm: float, dlnw_dm_se: float, dgdm: float,
                          dgdm_se: float) -> tuple[float, float]:
    """Step 5: ``lr_coupling = d ln(dw)/dm / (dg/dm)`` (per unit normalised gain) and its error.

    Relative errors are combined in quadrature (the two fits come from different experiments).
    """
    if dgdm == 0:
        raise FitError("dg/dm = 0: the gain does not depend on the modulator; the learning-rate "
                       "coupling per unit gain is undefined")
    c = dlnw_dm / dgdm
    rel = math.hypot(dlnw_dm_se / dlnw_dm if dlnw_dm else 0.0, dgdm_se / dgdm)
    return c, abs(c) * rel


def derive_optimizer_params(gain_fits: dict, pulse_fit=None, stdp_fit=None, *,
                            tonic_level: float, modulator_per_nat: float,
                            ms_per_iteration: float = DEFAULT_MS_PER_ITERATION,
                            tau_decay_ms: float | None = None) -> dict:
    """Apply the mapping (steps 1-5) to fitted curves: a pure function.

    Parameters
    ----------
    gain_fits : dict
        Output of :func:`l5sim.fits.fit_gain_table`.
    pulse_fit : FitResult, optional
        Output of :func:`l5sim.fits.fit_pulse_response` (needed unless ``tau_decay_ms`` given).
    stdp_fit : FitResult, optional
        Output of :func:`l5sim.fits.fit_stdp_speedup`.
    tonic_level : float
        Tonic modulator level m0.
    modulator_per_nat : float
        Phasic modulator level per nat of entropy per iteration.
    ms_per_iteration : float
        Biological time of one iteration, ms.
    tau_decay_ms : float, optional
        Overrides the fitted decay time (standard error then 0).

    Returns
    -------
    dict
        The bridge file's ``optimizer`` object: ``gamma``, ``g0``, ``eta``, ``lr_coupling`` (each
        with ``value``, ``stderr``, ``unit``, ``formula``; ``lr_coupling`` with ``enabled``:
        False), plus the key ``_intermediate`` (s0, dg/dm) that :func:`make_bridge` removes.
    """
    if tau_decay_ms is not None:
        tau, tau_se, tau_src = float(tau_decay_ms), 0.0, "user"
    elif pulse_fit is not None:
        tau, tau_se = pulse_fit["tau_decay_ms"].value, pulse_fit["tau_decay_ms"].stderr
        tau_src = "fit (b)"
    else:
        raise L5SimError("tau_decay_ms: no pulse-response fit (pulse.csv) and no tau_decay_ms; "
                         "expected one of them to derive gamma")
    gamma, gamma_se = gamma_from_tau(tau, tau_se, ms_per_iteration)
    gvm = gain_fits["gain_vs_modulator"]
    s0, s0_se, dgdm, dgdm_se = normalised_gain_slope(gvm["intercept"].value, gvm["slope"].value,
                                                     gvm.cov, tonic_level)
    eta, eta_se = eta_from_gain(dgdm, dgdm_se, modulator_per_nat)
    lrc = {"value": 0.0, "stderr": None, "unit": "1/gain", "enabled": False,
           "formula": "not derived: no STDP fit"}
    if stdp_fit is not None:
        xname = stdp_fit.extra["x_name"]
        rel = stdp_fit["relative_slope_per_unit"]
        if xname == "modulator_level":
            d, d_se, how = rel.value, rel.stderr, "d ln(dw)/dm from the STDP sweep over modulator"
        else:
            bvm = gain_fits.get("burst_vs_modulator")
            if bvm is None:
                d = None
                lrc["formula"] = ("not derived: the STDP sweep varies the burst-reset fraction but the gain "
                                  "sweep shows no burst-reset-fraction change with the modulator")
            else:
                dbf, dbf_se = bvm["slope"].value, bvm["slope"].stderr
                d = rel.value * dbf
                d_se = abs(d) * math.hypot(rel.stderr / rel.value if rel.value else 0.0,
                                           dbf_se / dbf if dbf else 0.0)
                how = "d ln(dw)/d(burst-reset fraction) x d(burst-reset fraction)/dm"
        if d is not None:
            c, c_se = lr_coupling_from_stdp(d, d_se, dgdm, dgdm_se)
            lrc.update(value=c, stderr=c_se,
                       formula=f"lr_coupling = d ln(dw)/dm / (dg/dm); {how}; used as "
                               "lr * max(0, 1 + lr_coupling (mean g - g0)) only if enabled")
    return {
        "gamma": {"value": gamma, "stderr": gamma_se, "unit": "1/iteration",
                  "formula": f"gamma = exp(-ms_per_iteration / tau_decay_ms), ms_per_iteration = "
                             f"{ms_per_iteration:g} ms, tau_decay_ms = {tau:.6g} ms ({tau_src})"},
        "g0": {"value": 1.0, "stderr": 0.0, "unit": "1",
               "formula": f"g0 = s(m0)/s(m0) = 1: the gain is normalised by the baseline f-I gain "
                          f"s(m0) = {s0:.6g} +- {s0_se:.3g} Hz/pA at tonic level m0 = "
                          f"{tonic_level:g}"},
        "eta": {"value": eta, "stderr": eta_se, "unit": "1/(nat iteration)",
                "formula": f"eta = (dg/dm) x modulator_per_nat, dg/dm = b/s(m0) = {dgdm:.6g} "
                           f"+- {dgdm_se:.3g} per level, modulator_per_nat = "
                           f"{modulator_per_nat:.6g} level/nat"},
        "lr_coupling": lrc,
        "_intermediate": {"s0": s0, "s0_se": s0_se, "dgdm": dgdm, "dgdm_se": dgdm_se,
                          "tau_ms": tau},
    }


MAPPING_DESCRIPTION = (
    "One optimizer iteration stands for ms_per_iteration of biological time (default 100 ms: one "
    "phasic LC-NA burst, Aston-Jones & Cohen 2005; an iteration carries at most one phasic drive). "
    "gamma = exp(-ms_per_iteration / tau_decay_ms) with tau from the gain decay after a phasic "
    "pulse; g = s(m)/s(m0) so g0 = 1; eta = (dg/dm) x modulator_per_nat (default pulse "
    "amplitude / ln(n_classes): chance-level entropy releases one simulated pulse); lr_coupling "
    "= d ln(dw)/dm / (dg/dm) from the STDP speed-up, off by default. See the docstring of l5sim.bridge."
)
