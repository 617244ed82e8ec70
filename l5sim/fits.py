"""Curve fits of the simulator's gain and plasticity outputs (scipy), with errors and goodness of fit.

Three fits feed the bridge to the ANN side (:mod:`l5sim.bridge`):

(a) **f-I curves** -- :func:`fit_fi_curve`: somatic rate (Hz) against injected current (pA) with a
    threshold (pA), a slope at threshold = the gain (Hz/pA) and, when the data show it, a
    saturation rate (Hz), in the window of :func:`l5sim.analysis.fi_shape_fit` (from the level
    below the firing onset to 400 pA above it, so that the upward kink of the L5 curve where
    bursts begin does not shift the threshold); then :func:`fit_linear` of the gain against the
    neuromodulator level (:func:`fit_gain_table` does both from a ``gain.csv`` table).
(b) **gain time course after a phasic pulse** -- :func:`fit_pulse_response`:
    ``gain(t) = baseline + amplitude * exp(-t / tau_decay_ms)`` for t >= 0 (t from pulse onset).
(c) **STDP speed-up** -- :func:`fit_stdp_speedup`: weight change per second against the
    burst-reset fraction (share of spikes in the burst reset) or modulator level, linear, reported as the relative speed-up per unit of x.

Every fitted parameter comes with its standard error (from the covariance of the least-squares
fit, scaled by the residual variance unless stated) and every fit with its goodness of fit
(R^2, RMSE, degrees of freedom; reduced chi^2 when per-point errors are known). A failed,
degenerate or ill-conditioned fit raises :class:`~l5sim.errors.FitError` saying why; no fit ever
returns a silent default. Science: science.md sections 6 (gain = f-I slope above the onset, fitted to the curve's shape) and 7
(the bridge); Rodriguez-Garcia et al. (2025) arXiv 2507.03222 and 2507.14056.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .errors import FitError

__all__ = [
    "FitParam",
    "FitResult",
    "fit_fi_curve",
    "fit_linear",
    "fit_gain_table",
    "fit_pulse_response",
    "fit_stdp_speedup",
    "fi_threshold_linear",
    "fi_saturating",
    "FI_MODELS",
]

#: f-I models accepted by :func:`fit_fi_curve`.
FI_MODELS = ("auto", "threshold_linear", "saturating")
#: A parameter whose standard error exceeds this fraction of its value is not identifiable.
MAX_RELATIVE_STDERR = 0.5
#: ``auto`` keeps the saturating model only if the fitted saturation is at most this multiple of
#: the largest observed rate (beyond it, the data do not constrain a saturation).
MAX_SATURATION_EXTRAPOLATION = 3.0
#: A pulse response must exceed this many standard errors to count as detected.
MIN_PULSE_SIGNIFICANCE = 3.0


@dataclass(frozen=True)
class FitParam:
    """A fitted parameter.

    Attributes
    ----------
    value : float
    stderr : float
        Standard error (1 sd), same unit.
    unit : str
    """

    value: float
    stderr: float
    unit: str

    def to_dict(self) -> dict:
        return {"value": float(self.value), "stderr": float(self.stderr), "unit": self.unit}


@dataclass(frozen=True)
class FitResult:
    """Result of one fit.

    Attributes
    ----------
    model : str
        Model name, e.g. ``"threshold_linear"``.
    params : dict of str to FitParam
    cov : numpy.ndarray
        Covariance matrix of the parameters, in ``params`` order.
    gof : dict
        ``n`` (points), ``dof``, ``r2``, ``rmse`` (in the unit of y), ``reduced_chi2`` (None when
        the points carry no known errors).
    note : str
        Why this model was chosen, or other remarks.
    """

    model: str
    params: dict
    cov: np.ndarray
    gof: dict
    note: str = ""
    extra: dict = field(default_factory=dict)

    def __getitem__(self, name: str) -> FitParam:
        return self.params[name]

    def to_dict(self) -> dict:
        """JSON-ready dict (the bridge file's ``fit`` object)."""
        return {"model": self.model,
                "params": {k: p.to_dict() for k, p in self.params.items()},
                "covariance": [[float(c) for c in row] for row in np.atleast_2d(self.cov)],
                "gof": {k: (None if v is None else (int(v) if k in ("n", "dof") else float(v)))
                        for k, v in self.gof.items()},
                "note": self.note}


# -- models --------------------------------------------------------------------------------------
def fi_threshold_linear(current_pa, threshold_pa, slope_hz_per_pa):
    """Threshold-linear f-I curve: ``slope * max(I - threshold, 0)``, Hz."""
    return slope_hz_per_pa * np.maximum(np.asarray(current_pa, float) - threshold_pa, 0.0)


def fi_saturating(current_pa, threshold_pa, slope_hz_per_pa, saturation_hz):
    """Saturating f-I curve: ``r_max tanh(slope max(I - threshold, 0) / r_max)``, Hz.

    The slope at threshold is ``slope_hz_per_pa`` (the gain) and the rate tends to
    ``saturation_hz`` for large currents.
    """
    x = slope_hz_per_pa * np.maximum(np.asarray(current_pa, float) - threshold_pa, 0.0)
    return saturation_hz * np.tanh(x / saturation_hz)


# -- helpers -------------------------------------------------------------------------------------
def _as_xy(x, y, xname, yname, min_points):
    x = np.asarray(x, dtype=float).ravel()
    y = np.asarray(y, dtype=float).ravel()
    if x.shape != y.shape:
        raise FitError(f"{xname}/{yname}: {x.size} x values for {y.size} y values; expected equal "
                       "lengths")
    bad = ~(np.isfinite(x) & np.isfinite(y))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise FitError(f"{xname}/{yname}: non-finite value at index {i} ({x[i]!r}, {y[i]!r}); "
                       "expected finite numbers")
    if x.size < min_points:
        raise FitError(f"{xname}: got {x.size} points; expected at least {min_points} for this fit")
    return x, y


def _gof(y, yhat, n_params, sigma=None):
    resid = y - yhat
    n = y.size
    dof = n - n_params
    ss_res = float(np.sum(resid ** 2))
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    r2 = 1.0 - ss_res / ss_tot if ss_tot > 0 else (1.0 if ss_res == 0 else 0.0)
    red = None
    if sigma is not None and dof > 0:
        red = float(np.sum((resid / sigma) ** 2) / dof)
    return {"n": n, "dof": dof, "r2": r2, "rmse": math.sqrt(ss_res / n), "reduced_chi2": red}


def _curve_fit(f, x, y, p0, bounds, names, what, sigma=None, absolute_sigma=False):
    from scipy.optimize import curve_fit

    try:
        with np.errstate(all="ignore"):
            popt, pcov = curve_fit(f, x, y, p0=p0, bounds=bounds, sigma=sigma,
                                   absolute_sigma=absolute_sigma, maxfev=20000)
    except (RuntimeError, ValueError) as exc:
        raise FitError(f"{what}: least-squares fit did not converge ({exc})") from exc
    if not np.all(np.isfinite(pcov)):
        raise FitError(f"{what}: covariance is not finite: the parameters {names} are not all "
                       "identifiable from these data (ill-conditioned fit)")
    return popt, pcov


def _check_identifiable(values, ses, names, what, units):
    for v, s, nm, u in zip(values, ses, names, units):
        if not math.isfinite(s):
            raise FitError(f"{what}: {nm} has a non-finite standard error; ill-conditioned fit")
        if abs(v) > 0 and s > MAX_RELATIVE_STDERR * abs(v):
            raise FitError(f"{what}: {nm} = {v:.4g} +- {s:.4g} {u} is not identifiable (standard "
                           f"error above {MAX_RELATIVE_STDERR:.0%} of the value); widen the input "
                           "range, add points or seeds")


# -- (a) f-I curves ------------------------------------------------------------------------------
def fit_fi_curve(current_pa, rate_hz, model: str = "auto") -> FitResult:
    """Fit an f-I curve: threshold (pA), slope at threshold = gain (Hz/pA), saturation (Hz).

    Parameters
    ----------
    current_pa : array_like
        Injected current of each point, pA (repeat a level once per seed).
    rate_hz : array_like
        Firing rate of each point, Hz.
    model : {"auto", "threshold_linear", "saturating"}
        ``threshold_linear``: ``slope max(I - threshold, 0)``; ``saturating``:
        ``r_max tanh(slope max(I - threshold, 0) / r_max)``; ``auto``: the saturating model if
        its saturation is identifiable and within :data:`MAX_SATURATION_EXTRAPOLATION` times the
        largest observed rate, else the threshold-linear one (the choice and its reason are
        recorded in ``note``).

    Returns
    -------
    FitResult
        ``params``: ``threshold_pa``, ``slope_hz_per_pa`` and, for the saturating model,
        ``saturation_hz``. Standard errors from the fit covariance scaled by the residual variance.

    Raises
    ------
    FitError
        Fewer than 4 points or 3 distinct currents, non-finite values, no supra-threshold point
        (every rate 0 Hz), fewer than 2 distinct supra-threshold currents, a fit that does not
        converge, or a parameter that is not identifiable.
    """
    if model not in FI_MODELS:
        raise FitError(f"model: got {model!r}; expected one of {FI_MODELS}")
    x, y = _as_xy(current_pa, rate_hz, "current_pa", "rate_hz", 4)
    if np.any(y < 0):
        raise FitError(f"rate_hz: got a negative rate {y.min():.4g}; expected rates >= 0 Hz")
    if np.unique(x).size < 3:
        raise FitError(f"current_pa: got {np.unique(x).size} distinct current levels; expected at "
                       "least 3")
    supra = y > 0
    if not supra.any():
        raise FitError("rate_hz: every rate is 0 Hz; no supra-threshold point, so the f-I curve "
                       "has no threshold or slope in this input range (raise the currents)")
    if np.unique(x[supra]).size < 2:
        raise FitError("rate_hz: fewer than 2 distinct currents give a non-zero rate; the slope "
                       "(gain) is not determined (add supra-threshold current levels)")
    # initial guess: line through the supra-threshold points, threshold where it crosses zero
    xs, ys = x[supra], y[supra]
    b, a = np.polyfit(xs, ys, 1)
    if b <= 0:
        raise FitError(f"rate_hz: the rate does not rise with current (slope {b:.4g} Hz/pA); "
                       "expected an increasing f-I curve")
    sub = x[~supra]
    th0 = -a / b
    if sub.size:
        th0 = min(max(th0, sub.max()), xs.min())
    span = x.max() - x.min()
    lo_th, hi_th = x.min() - 10 * span, x.max()

    def linear():
        popt, pcov = _curve_fit(fi_threshold_linear, x, y, [th0, b],
                                ([lo_th, 0.0], [hi_th, np.inf]),
                                ["threshold_pa", "slope_hz_per_pa"], "f-I threshold-linear fit")
        ses = np.sqrt(np.diag(pcov))
        # the threshold may legitimately be near 0 pA: judge it against the current span
        _check_identifiable([popt[1]], [ses[1]], ["slope_hz_per_pa"], "f-I fit", ["Hz/pA"])
        if ses[0] > MAX_RELATIVE_STDERR * span:
            raise FitError(f"f-I fit: threshold_pa = {popt[0]:.4g} +- {ses[0]:.4g} pA is not "
                           "identifiable (standard error above half the current range)")
        return FitResult("threshold_linear",
                         {"threshold_pa": FitParam(popt[0], ses[0], "pA"),
                          "slope_hz_per_pa": FitParam(popt[1], ses[1], "Hz/pA")},
                         pcov, _gof(y, fi_threshold_linear(x, *popt), 2))

    def saturating():
        popt, pcov = _curve_fit(fi_saturating, x, y, [th0, b * 1.2, 1.5 * y.max()],
                                ([lo_th, 0.0, 1e-9], [hi_th, np.inf, np.inf]),
                                ["threshold_pa", "slope_hz_per_pa", "saturation_hz"],
                                "f-I saturating fit")
        ses = np.sqrt(np.diag(pcov))
        _check_identifiable(popt[1:], ses[1:], ["slope_hz_per_pa", "saturation_hz"],
                            "f-I saturating fit", ["Hz/pA", "Hz"])
        if popt[2] > MAX_SATURATION_EXTRAPOLATION * y.max():
            raise FitError(f"f-I saturating fit: saturation_hz = {popt[2]:.4g} Hz is more than "
                           f"{MAX_SATURATION_EXTRAPOLATION:g} x the largest observed rate "
                           f"({y.max():.4g} Hz): the data do not show saturation")
        if ses[0] > MAX_RELATIVE_STDERR * span:
            raise FitError(f"f-I saturating fit: threshold_pa = {popt[0]:.4g} +- {ses[0]:.4g} pA "
                           "is not identifiable")
        return FitResult("saturating",
                         {"threshold_pa": FitParam(popt[0], ses[0], "pA"),
                          "slope_hz_per_pa": FitParam(popt[1], ses[1], "Hz/pA"),
                          "saturation_hz": FitParam(popt[2], ses[2], "Hz")},
                         pcov, _gof(y, fi_saturating(x, *popt), 3))

    if model == "threshold_linear":
        return linear()
    if model == "saturating":
        return saturating()
    try:
        res = saturating()
        return FitResult(res.model, res.params, res.cov, res.gof,
                         note="auto: saturation identifiable, saturating model used")
    except FitError as why:
        res = linear()
        return FitResult(res.model, res.params, res.cov, res.gof,
                         note=f"auto: threshold-linear model used because the saturating fit "
                              f"was rejected ({why})")


# -- linear fits ---------------------------------------------------------------------------------
def fit_linear(x, y, sigma=None, *, x_name: str = "x", y_name: str = "y", x_unit: str = "",
               y_unit: str = "") -> FitResult:
    """Straight line ``y = intercept + slope x`` by (weighted) least squares.

    Parameters
    ----------
    x, y : array_like
    sigma : array_like, optional
        Standard error of each y. If given, the fit is weighted and parameter errors are the
        absolute ones scaled up by ``sqrt(reduced chi^2)`` when that exceeds 1 (never scaled
        down); otherwise errors come from the residual variance.
    x_name, y_name, x_unit, y_unit : str
        Used in messages and units (``intercept`` in y_unit, ``slope`` in y_unit per x_unit).

    Returns
    -------
    FitResult
        ``params``: ``intercept``, ``slope``.

    Raises
    ------
    FitError
        Fewer than 3 points, fewer than 2 distinct x, non-finite values, non-positive sigma.
    """
    x, y = _as_xy(x, y, x_name, y_name, 3)
    if np.unique(x).size < 2:
        raise FitError(f"{x_name}: all {x.size} points have the same value {x[0]!r}; expected at "
                       "least 2 distinct values to fit a slope")
    X = np.column_stack([np.ones_like(x), x])
    if sigma is not None:
        s = np.asarray(sigma, dtype=float).ravel()
        if s.shape != y.shape or not np.all(np.isfinite(s)) or np.any(s <= 0):
            raise FitError(f"sigma of {y_name}: expected {y.size} finite positive standard errors")
        w = 1.0 / s
    else:
        s, w = None, np.ones_like(y)
    Xw, yw = X * w[:, None], y * w
    cond = np.linalg.cond(Xw)
    if not np.isfinite(cond) or cond > 1e12:
        raise FitError(f"{x_name}: design matrix condition number {cond:.3g}; ill-conditioned "
                       "linear fit (rescale x)")
    beta, *_ = np.linalg.lstsq(Xw, yw, rcond=None)
    yhat = X @ beta
    gof = _gof(y, yhat, 2, s)
    xtx_inv = np.linalg.inv(Xw.T @ Xw)
    if s is None:
        dof = max(gof["dof"], 1)
        cov = xtx_inv * float(np.sum((y - yhat) ** 2)) / dof
    else:
        red = gof["reduced_chi2"] if gof["reduced_chi2"] is not None else 1.0
        cov = xtx_inv * max(1.0, red)
    ses = np.sqrt(np.diag(cov))
    slope_unit = f"{y_unit}/{x_unit}" if x_unit else y_unit
    return FitResult("linear", {"intercept": FitParam(beta[0], ses[0], y_unit),
                                "slope": FitParam(beta[1], ses[1], slope_unit)}, cov, gof)


def linear_at(fit: FitResult, x0: float) -> tuple[float, float]:
    """Value and standard error of a linear fit at ``x0`` (uses the covariance)."""
    J = np.array([1.0, x0])
    return (float(fit["intercept"].value + fit["slope"].value * x0),
            float(math.sqrt(max(J @ fit.cov @ J, 0.0))))


def fit_gain_table(table: dict, model: str = "auto", window_pa: float | None = None,
                   min_rate_hz: float = 1.0) -> dict:
    """Fit every condition's f-I curve of a ``gain.csv`` table, then the gain against the modulator.

    Each curve is fitted in the window of :func:`l5sim.analysis.fi_shape_fit` (the level
    below the sustained-firing onset up to ``window_pa`` above it), so that an upward kink
    higher up (plateau bursts) does not shift the threshold; the shape (onset, steepest local
    slope, whether one line fits) is kept with each fit.

    Parameters
    ----------
    table : dict of str to numpy.ndarray
        Columns of ``gain.csv``: ``condition``, ``vary_key``, ``vary_value``, ``input_value``
        (pA), ``rate_hz``, optional ``burst_reset_fraction`` (others ignored); one row per
        (condition, input level, seed).
    model : str
        f-I model (see :func:`fit_fi_curve`).
    window_pa : float, optional
        Fit window above the onset, pA (default :data:`l5sim.analysis.FI_WINDOW_PA`).
    min_rate_hz : float
        Rate that counts as firing (onset), Hz.

    Returns
    -------
    dict
        ``vary_key``; ``fi``: list of ``{"condition", "vary_value", "fit": FitResult}`` sorted by
        vary_value, with ``shape`` (:class:`l5sim.analysis.FIShape` of the seed-pooled points)
        and ``burst_reset_fraction``; ``gain_vs_modulator``: :func:`fit_linear` of the fitted
        slopes (Hz/pA) against vary_value, weighted by their standard errors;
        ``burst_vs_modulator``: linear fit of the mean burst-reset fraction of supra-threshold
        points against vary_value, or None if the column is absent or has no variation.

    Raises
    ------
    FitError
        If a column is missing or has an old name (``burst_fraction``), several vary_keys are
        mixed, fewer than 3 modulator levels are present, or any per-condition fit fails (the
        message names the condition).
    """
    from .analysis import FI_WINDOW_PA, RENAMED, fi_shape_fit, renamed_columns

    old = renamed_columns(table)
    if old:
        raise FitError(f"gain table: column {old[0]!r} was renamed ({old[0]} -> {RENAMED[old[0]]}); "
                       "regenerate gain.csv with `l5sim gain`")
    window_pa = FI_WINDOW_PA if window_pa is None else float(window_pa)
    for col in ("condition", "vary_key", "vary_value", "input_value", "rate_hz"):
        if col not in table:
            raise FitError(f"gain table: column {col!r} missing; expected the gain.csv columns")
    keys = sorted(set(str(k) for k in table["vary_key"]))
    if len(keys) != 1:
        raise FitError(f"gain table: vary_key takes values {keys}; expected a single swept key "
                       "(fit one sweep at a time)")
    cond = [str(c) for c in np.asarray(table["condition"]).astype(str)]
    cond = np.array(cond, dtype=object)
    vv = np.asarray(table["vary_value"], dtype=float)
    fi = []
    for c in sorted(set(cond), key=lambda c: (float(vv[cond == c][0]), c)):
        m = cond == c
        levels = np.unique(vv[m])
        if levels.size != 1:
            raise FitError(f"gain table: condition {c!r} has vary_value {levels.tolist()}; expected "
                           "one value per condition")
        cur = np.asarray(table["input_value"], float)[m]
        rate = np.asarray(table["rate_hz"], float)[m]
        shape = fi_shape_fit(cur, rate, min_rate_hz, window_pa)
        if not np.isfinite(shape.slope_hz_per_pa):
            raise FitError(f"condition {c!r} ({keys[0]} = {levels[0]:g}): {shape.note}")
        win = (cur >= shape.window_pa[0]) & (cur <= shape.window_pa[1])
        try:
            f = fit_fi_curve(cur[win], rate[win], model=model)
        except FitError as exc:
            raise FitError(f"condition {c!r} ({keys[0]} = {levels[0]:g}), window {shape.window_pa[0]:g}-"
                           f"{shape.window_pa[1]:g} pA: {exc}") from exc
        burst = None
        if "burst_reset_fraction" in table:
            bf = np.asarray(table["burst_reset_fraction"], float)[m]
            sup = (rate > 0) & np.isfinite(bf)
            burst = float(np.mean(bf[sup])) if sup.any() else None
        fi.append({"condition": c, "vary_value": float(levels[0]), "fit": f, "shape": shape,
                   "burst_reset_fraction": burst})
    if len(fi) < 3:
        raise FitError(f"gain table: {len(fi)} modulator levels ({keys[0]}); expected at least 3 "
                       "to fit the gain against the modulator with a residual")
    xs = np.array([e["vary_value"] for e in fi])
    slopes = np.array([e["fit"]["slope_hz_per_pa"].value for e in fi])
    ses = np.array([e["fit"]["slope_hz_per_pa"].stderr for e in fi])
    sigma = ses if np.all(ses > 0) else None
    gvm = fit_linear(xs, slopes, sigma, x_name=keys[0], y_name="gain", x_unit="level",
                     y_unit="Hz/pA")
    bvm = None
    bfs = [e["burst_reset_fraction"] for e in fi]
    if all(b is not None and math.isfinite(b) for b in bfs) and np.ptp(bfs) > 0:
        bvm = fit_linear(xs, np.array(bfs), x_name=keys[0], y_name="burst_reset_fraction",
                         x_unit="level", y_unit="1")
    return {"vary_key": keys[0], "fi": fi, "gain_vs_modulator": gvm, "burst_vs_modulator": bvm}


# -- (b) pulse response --------------------------------------------------------------------------
def _pulse_model(t, baseline, amplitude, tau_ms):
    return baseline + amplitude * np.exp(-np.asarray(t, float) / tau_ms)


def fit_pulse_response(time_ms, gain_hz_per_pa) -> FitResult:
    """Fit the gain time course after a phasic pulse: ``baseline + amplitude exp(-t / tau)``.

    Only points with ``t >= 0`` (from pulse onset) are used; fit the decay from the peak by
    passing ``t`` relative to the peak if the response has a slow rise.

    Parameters
    ----------
    time_ms : array_like
        Time from pulse onset, ms.
    gain_hz_per_pa : array_like
        f-I gain measured at that time, Hz/pA.

    Returns
    -------
    FitResult
        ``params``: ``baseline_hz_per_pa``, ``amplitude_hz_per_pa``, ``tau_decay_ms``.

    Raises
    ------
    FitError
        Fewer than 5 points at t >= 0, no detectable response (amplitude within
        :data:`MIN_PULSE_SIGNIFICANCE` standard errors of 0), a record shorter than the fitted
        decay time, or a non-identifiable tau.
    """
    t, g = _as_xy(time_ms, gain_hz_per_pa, "time_ms", "gain_hz_per_pa", 5)
    keep = t >= 0
    t, g = t[keep], g[keep]
    if t.size < 5:
        raise FitError(f"time_ms: {t.size} points at t >= 0; expected at least 5")
    if np.unique(t).size < 4:
        raise FitError(f"time_ms: {np.unique(t).size} distinct times; expected at least 4")
    order = np.argsort(t)
    t, g = t[order], g[order]
    n_tail = max(2, t.size // 5)
    base0 = float(np.median(g[-n_tail:]))
    amp0 = float(g[0] - base0)
    if amp0 == 0:
        amp0 = float(np.ptp(g)) or 1e-6
    target = base0 + amp0 / math.e
    crossed = np.flatnonzero((g - target) * np.sign(amp0) <= 0)
    tau0 = float(t[crossed[0]]) if crossed.size and t[crossed[0]] > 0 else float(np.ptp(t)) / 3
    popt, pcov = _curve_fit(_pulse_model, t, g, [base0, amp0, max(tau0, 1e-3)],
                            ([-np.inf, -np.inf, 1e-6], [np.inf, np.inf, np.inf]),
                            ["baseline_hz_per_pa", "amplitude_hz_per_pa", "tau_decay_ms"],
                            "pulse-response fit")
    ses = np.sqrt(np.diag(pcov))
    if not abs(popt[1]) > MIN_PULSE_SIGNIFICANCE * ses[1]:
        raise FitError(f"pulse-response fit: amplitude = {popt[1]:.4g} +- {ses[1]:.4g} Hz/pA is "
                       f"within {MIN_PULSE_SIGNIFICANCE:g} standard errors of 0: no detectable gain "
                       "response to the pulse, so no decay time can be measured")
    if popt[2] > np.ptp(t):
        raise FitError(f"pulse-response fit: tau_decay_ms = {popt[2]:.4g} ms exceeds the recorded "
                       f"span ({np.ptp(t):.4g} ms); record longer after the pulse")
    _check_identifiable([popt[2]], [ses[2]], ["tau_decay_ms"], "pulse-response fit", ["ms"])
    return FitResult("exp_decay",
                     {"baseline_hz_per_pa": FitParam(popt[0], ses[0], "Hz/pA"),
                      "amplitude_hz_per_pa": FitParam(popt[1], ses[1], "Hz/pA"),
                      "tau_decay_ms": FitParam(popt[2], ses[2], "ms")},
                     pcov, _gof(g, _pulse_model(t, *popt), 3))


# -- (c) STDP speed-up ---------------------------------------------------------------------------
def fit_stdp_speedup(x, dw_per_s, *, x_name: str = "burst_reset_fraction",
                     x_ref: float | None = None) -> FitResult:
    """Fit the STDP weight-change rate against the burst-reset fraction or modulator level.

    ``dw(x) = intercept + slope x`` (linear least squares over all rows, one per (condition,
    seed)); the speed-up relative to the reference ``x_ref`` is ``S(x) = dw(x) / dw(x_ref)``, and
    its relative slope ``slope / dw(x_ref)`` (per unit x) is what the bridge uses.

    Parameters
    ----------
    x : array_like
        Burst-reset fraction (share of spikes in the burst reset, 0..1) or modulator level of
        each row.
    dw_per_s : array_like
        Mean weight change per second of pairing (weight units / s).
    x_name : str
        ``"burst_reset_fraction"`` or ``"modulator_level"`` (for units and messages).
    x_ref : float, optional
        Reference x (default: the smallest x, e.g. the single-spike condition).

    Returns
    -------
    FitResult
        ``params``: ``intercept``, ``slope``, and derived ``dw_ref_per_s`` (dw at x_ref),
        ``relative_slope_per_unit`` (slope / dw_ref, 1/unit x; delta-method error) and
        ``speedup_at_max`` (S at the largest x). ``extra``: ``x_name``, ``x_ref``, ``x_max``.

    Raises
    ------
    FitError
        Fewer than 3 rows or 2 distinct x; weight change at the reference not significantly
        positive (speed-up undefined).
    """
    lin = fit_linear(x, dw_per_s, x_name=x_name, y_name="dw_per_s", x_unit="unit",
                     y_unit="1/s")
    xa = np.asarray(x, float)
    xr = float(xa.min() if x_ref is None else x_ref)
    xm = float(xa.max())
    a, b = lin["intercept"].value, lin["slope"].value
    C = lin.cov
    dw_ref, se_ref = linear_at(lin, xr)
    if not dw_ref > 2 * se_ref:
        raise FitError(f"STDP fit: weight change at {x_name} = {xr:g} is {dw_ref:.4g} +- "
                       f"{se_ref:.4g} 1/s, not significantly positive; the speed-up relative to "
                       "it is undefined")
    rel = b / dw_ref
    # d rel / d(a, b) with dw_ref = a + b xr
    J = np.array([-b / dw_ref ** 2, (a) / dw_ref ** 2])
    se_rel = float(math.sqrt(max(J @ C @ J, 0.0)))
    dw_max, _ = linear_at(lin, xm)
    S = dw_max / dw_ref
    # dS/d(a,b) for S = (a + b xm) / (a + b xr)
    Js = np.array([(dw_ref - dw_max) / dw_ref ** 2, (xm * dw_ref - xr * dw_max) / dw_ref ** 2])
    se_S = float(math.sqrt(max(Js @ C @ Js, 0.0)))
    params = dict(lin.params)
    params["dw_ref_per_s"] = FitParam(dw_ref, se_ref, "1/s")
    params["relative_slope_per_unit"] = FitParam(rel, se_rel, f"1/{x_name}")
    params["speedup_at_max"] = FitParam(S, se_S, "1")
    return FitResult("linear_speedup", params, C, lin.gof,
                     note=f"S(x) = dw(x)/dw(x_ref), x = {x_name}, x_ref = {xr:g}",
                     extra={"x_name": x_name, "x_ref": xr, "x_max": xm})
