"""Analysis: pure functions of recordings or arrays (rates, ISIs, bursts, spectra, f-I).

Bursts: two measures, named apart (science.md section 6).

``burst_reset_fraction`` (mechanistic, ``l5_pyramidal`` populations only)
    Share of spikes emitted while the dendritic plateau holds the soma in its burst reset:
    the mean of the recording's burst flags (``Recording.spikes(pop)[2]``). Absent (no key)
    for other models, whose spikes have no such state.
``isi_burst_excess`` (statistical, any cell): excess of short-ISI spikes over a rate-matched
    Poisson train. Per neuron with >= 3 spikes, the criterion is
    ``theta = min(16 ms, mean ISI / 2)`` (16 ms: Naud & Sprekeler 2018, PNAS 115:E6329; a
    regular train has no ISI shorter than half its mean, so tonic cells score 0 at any rate).
    ``observed`` = share of spikes with a neighbouring ISI < theta; ``expected`` = the same
    share for a Poisson train of the neuron's rate r = 1 / mean ISI, ``1 - exp(-2 r theta)``
    for a spike with two neighbouring ISIs and ``1 - exp(-r theta)`` for the first and last
    spike. Both are pooled over neurons weighted by spike count, and
    ``isi_burst_excess = max(0, (observed - expected) / (1 - expected))``: ~0 for Poisson,
    gamma (shape > 1) and tonic trains of any rate, 1 when every spike is in a burst that a
    Poisson train would not produce. (A raw share of spikes in 16 ms runs is mostly a rate
    measure: 0.56 for a 53 Hz Poisson train.) ``spikes_per_isi_burst`` = mean size of the runs
    of ISIs < theta (events of >= 2 spikes).

Gain and rheobase (:func:`fi_shape_fit`): a threshold-linear least-squares fit in a window
above the firing onset, the steepest local slope, and a flag when one line does not describe
the curve (the L5 f-I curve kinks upward where plateau bursts begin).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

BURST_ISI_MS = 16.0  #: Naud & Sprekeler 2018 burst criterion (ms)


def rates_hz(spike_i: np.ndarray, n: int, duration_ms: float) -> np.ndarray:
    """Firing rate of each of ``n`` neurons (Hz) from local spike indices."""
    return np.bincount(np.asarray(spike_i, np.int64), minlength=n)[:n] / (duration_ms * 1e-3)


def split_trains(spike_i, spike_t, n):
    """Per-neuron sorted spike-time arrays."""
    order = np.lexsort((spike_t, spike_i))
    i, t = np.asarray(spike_i)[order], np.asarray(spike_t)[order]
    cuts = np.searchsorted(i, np.arange(n + 1))
    return [t[cuts[k]:cuts[k + 1]] for k in range(n)]


def cv_isi(trains) -> float:
    """Mean coefficient of variation of ISIs over neurons with at least 3 spikes (NaN if none)."""
    cvs = []
    for tr in trains:
        if len(tr) >= 3:
            isi = np.diff(tr)
            m = isi.mean()
            if m > 0:
                cvs.append(isi.std() / m)
    return float(np.mean(cvs)) if cvs else float("nan")


def _sorted_flat(spike_i, spike_t):
    """Spikes sorted by neuron, then time, and the mask of consecutive pairs that belong to
    the same neuron (so that ``np.diff(t)[same]`` are the inter-spike intervals)."""
    order = np.lexsort((spike_t, spike_i))
    i = np.asarray(spike_i, np.int64)[order]
    t = np.asarray(spike_t, np.float64)[order]
    return i, t, i[1:] == i[:-1]


def cv_isi_flat(spike_i, spike_t, n: int) -> float:
    """:func:`cv_isi` of the trains of ``n`` neurons, computed without per-neuron loops
    (the same statistic: population SD over mean of each neuron's ISIs, averaged over the
    neurons with at least 3 spikes)."""
    i, t, same = _sorted_flat(spike_i, spike_t)
    if i.size < 3:
        return float("nan")
    isi = np.diff(t)[same]
    owner = i[1:][same]
    cnt = np.bincount(owner, minlength=n)
    keep = cnt >= 2
    mean = np.bincount(owner, weights=isi, minlength=n)[keep] / cnt[keep]
    dev = isi - np.bincount(owner, weights=isi, minlength=n)[owner] / cnt[owner]
    sd = np.sqrt(np.bincount(owner, weights=dev * dev, minlength=n)[keep] / cnt[keep])
    ok = mean > 0
    return float(np.mean(sd[ok] / mean[ok])) if ok.any() else float("nan")


def burst_events(train: np.ndarray, burst_isi_ms: float = BURST_ISI_MS) -> np.ndarray:
    """Sizes (spikes per event) of the events of one spike train: an event ends where the
    inter-spike interval reaches ``burst_isi_ms`` (ms)."""
    train = np.asarray(train)
    if train.size == 0:
        return np.zeros(0, np.int64)
    breaks = np.nonzero(np.diff(train) >= burst_isi_ms)[0]
    edges = np.concatenate(([0], breaks + 1, [train.size]))
    return np.diff(edges)


def isi_burst_stats_flat(spike_i, spike_t, max_isi_ms: float = BURST_ISI_MS) -> dict:
    """Rate-corrected ISI burst measure of the trains in (spike_i, spike_t), without
    per-neuron loops (definition in the module docstring).

    Parameters
    ----------
    spike_i : array_like of int
        Neuron index of each spike (any order).
    spike_t : array_like of float
        Spike times (ms).
    max_isi_ms : float
        Upper bound of each neuron's criterion theta (ms; 16 ms, Naud & Sprekeler 2018).

    Returns
    -------
    dict
        ``isi_burst_excess`` (dimensionless, 0..1; NaN when no neuron has 3 spikes),
        ``spikes_per_isi_burst`` (mean spikes per event of >= 2 spikes; NaN when there is no
        such event), ``observed`` and ``expected`` (spike-weighted shares of spikes with a
        neighbouring ISI < theta, measured and for rate-matched Poisson trains), ``n_neurons``
        (neurons with >= 3 spikes, the ones counted) and ``n_bursts``.
    """
    nan = float("nan")
    i, t, same = _sorted_flat(spike_i, spike_t)
    out = {"isi_burst_excess": nan, "spikes_per_isi_burst": nan, "observed": nan, "expected": nan,
           "n_neurons": 0, "n_bursts": 0}
    if i.size < 3:
        return out
    n = int(i.max()) + 1
    cnt = np.bincount(i, minlength=n)
    keep = cnt[i] >= 3                      # neurons with at least 2 ISIs
    i, t = i[keep], t[keep]
    if i.size == 0:
        return out
    same = i[1:] == i[:-1]
    isi = np.diff(t)
    owner = i[1:]
    n_isi = np.bincount(owner[same], minlength=n)
    mean_isi = np.bincount(owner[same], weights=isi[same], minlength=n)
    has = n_isi > 0
    mean_isi[has] /= n_isi[has]
    theta = np.minimum(max_isi_ms, 0.5 * mean_isi)          # per neuron (ms)
    short = same & (isi < theta[owner]) & (isi >= 0)        # ISI k joins spikes k and k+1
    in_burst = np.zeros(i.size, bool)
    in_burst[:-1] |= short
    in_burst[1:] |= short
    n_spk = np.bincount(i, minlength=n)[has].astype(float)
    rate_theta = theta[has] / np.where(mean_isi[has] > 0, mean_isi[has], np.inf)   # r * theta
    # Poisson: an interior spike has two neighbouring ISIs, the first and last spike one
    e_neuron = ((n_spk - 2) * (1 - np.exp(-2 * rate_theta)) + 2 * (1 - np.exp(-rate_theta))) / n_spk
    obs = float(in_burst.sum() / n_spk.sum())
    exp_ = float(np.sum(n_spk * e_neuron) / n_spk.sum())
    excess = max(0.0, (obs - exp_) / (1 - exp_)) if exp_ < 1 else nan
    # events: runs of short ISIs; bursts are events of >= 2 spikes
    starts = np.flatnonzero(short & ~np.concatenate(([False], short[:-1])))
    ends = np.flatnonzero(short & ~np.concatenate((short[1:], [False])))
    sizes = ends - starts + 2
    out.update(isi_burst_excess=excess, observed=obs, expected=exp_, n_neurons=int(has.sum()),
               n_bursts=int(sizes.size), spikes_per_isi_burst=float(sizes.mean()) if sizes.size else nan)
    return out


def burst_reset_fraction(flags) -> float:
    """Share of spikes emitted in the burst reset (mean of the recording's burst flags; NaN
    without spikes). Defined for ``l5_pyramidal`` populations only (see :func:`summarize`)."""
    flags = np.asarray(flags)
    return float(flags.mean()) if flags.size else float("nan")


def population_model(rec, pop: str):
    """Neuron model of population ``pop`` from the recording's circuit metadata (None if the
    metadata does not hold the circuit)."""
    circ = rec.metadata.get("circuit") or {}
    return (circ.get("populations", {}).get(pop) or {}).get("model")


def spike_stats(i, t, b, n: int, duration_ms: float, l5: bool, max_isi_ms: float = BURST_ISI_MS) -> dict:
    """Rate (Hz), CV of ISIs, ISI burst measures and (``l5`` only) the burst-reset fraction of
    one population's spikes (local index ``i``, time ``t`` in ms, burst flag ``b``) over
    ``duration_ms``. Keys absent, not NaN, where undefined for the model."""
    bs = isi_burst_stats_flat(i, t, max_isi_ms)
    d = {"n": int(n), "n_spikes": int(np.asarray(i).size),
         "rate_hz": float(np.asarray(i).size / (n * duration_ms * 1e-3)) if n and duration_ms > 0 else 0.0,
         "cv_isi": cv_isi_flat(i, t, n),
         "isi_burst_excess": bs["isi_burst_excess"],
         "spikes_per_isi_burst": bs["spikes_per_isi_burst"]}
    if l5:
        d["burst_reset_fraction"] = burst_reset_fraction(b)
    return d


#: Names of burst columns before issue 17 and what replaced them (for clear errors on old files).
RENAMED = {"burst_fraction": "isi_burst_excess / burst_reset_fraction",
           "mean_burst_fraction": "mean_isi_burst_excess / mean_burst_reset_fraction",
           "burst_reset_spike_fraction": "burst_reset_fraction",
           "spikes_per_burst": "spikes_per_isi_burst"}


def renamed_columns(columns) -> list:
    """The old burst column names among ``columns`` (matched on the part after the last dot)."""
    return [c for c in columns if str(c).rsplit(".", 1)[-1] in RENAMED]


def population_rate(spike_t_ms, n_neurons: int, duration_ms: float, bin_ms: float = 1.0):
    """Population rate (Hz per neuron) in bins of ``bin_ms``: (bin centres, rate)."""
    edges = np.arange(0.0, duration_ms + bin_ms * 0.5, bin_ms)
    counts, _ = np.histogram(spike_t_ms, bins=edges)
    return edges[:-1] + bin_ms / 2, counts / (max(n_neurons, 1) * bin_ms * 1e-3)


def rate_spectrum(spike_t_ms, n_neurons: int, duration_ms: float, bin_ms: float = 1.0,
                  discard_ms: float = 0.0):
    """Power spectrum of the population rate (Welch, scipy): (frequencies Hz, power)."""
    from scipy.signal import welch

    t, r = population_rate(spike_t_ms, n_neurons, duration_ms, bin_ms)
    r = r[t >= discard_ms]
    fs = 1000.0 / bin_ms
    nper = min(len(r), int(fs))  # 1 s windows: 1 Hz resolution
    f, p = welch(r - r.mean(), fs=fs, nperseg=nper)
    return f, p


def band_power(f, p, lo_hz: float, hi_hz: float) -> float:
    """Mean power between lo and hi (Hz)."""
    m = (f >= lo_hz) & (f <= hi_hz)
    return float(p[m].mean()) if m.any() else float("nan")


def summarize(rec, burst_isi_ms: float = BURST_ISI_MS) -> dict:
    """Per-population statistics of a recording.

    Returns
    -------
    dict
        ``{"populations": {name: {n, n_spikes, rate_hz, cv_isi, isi_burst_excess,
        spikes_per_isi_burst[, burst_reset_fraction]}}, seed, duration_ms, circuit_hash}``;
        ``burst_reset_fraction`` is present only for ``l5_pyramidal`` populations (the model
        read from the recording's circuit metadata), see :func:`spike_stats`.
    """
    pops = {}
    for name in rec.pop_names:
        i, t, b = rec.spikes(name)
        pops[name] = spike_stats(i, t, b, rec.pop_size(name), rec.duration_ms,
                                 population_model(rec, name) == "l5_pyramidal", burst_isi_ms)
    return {"populations": pops, "seed": rec.metadata.get("seed"), "duration_ms": rec.duration_ms,
            "circuit_hash": rec.metadata.get("circuit_hash")}


#: Default width (pA) of the f-I fit window above the onset (:func:`fi_shape_fit`).
FI_WINDOW_PA = 400.0
#: One line does not describe the curve when the steepest local slope exceeds this multiple of
#: the fitted slope (an upward kink, e.g. where plateau bursts begin).
KINK_RATIO = 2.0
#: ... or when the windowed line explains less than this share of the variance of the whole
#: supra-threshold curve (R^2 of its extrapolation over every level from the window's start).
MIN_R2_FULL = 0.9


@dataclass(frozen=True)
class FIShape:
    """Threshold-linear fit of an f-I curve and the curve's shape (see :func:`fi_shape_fit`).

    Attributes
    ----------
    rheobase_pa, rheobase_se_pa : fitted threshold I0 (pA) and its standard error.
    slope_hz_per_pa, slope_se : fitted slope s (Hz/pA) and its standard error.
    r2 : coefficient of determination of the fit in its window.
    rms_hz : root-mean-square residual in the window (Hz).
    r2_full : R^2 of the same line over every level from the window's start to the top.
    onset_pa : lowest input with sustained firing (pA).
    max_local_slope_hz_per_pa, max_local_slope_at_pa : steepest finite-difference slope of the
        supra-threshold curve (Hz/pA) and the midpoint of its interval (pA).
    one_line_ok : False when one line does not describe the curve (criterion in ``note``).
    note : empty, or why the fit is NaN or one line does not fit.
    window_pa : (first, last) input level used by the fit (pA).
    n_points : points (levels x repeats) in the fit.
    """

    rheobase_pa: float
    rheobase_se_pa: float
    slope_hz_per_pa: float
    slope_se: float
    r2: float
    rms_hz: float
    r2_full: float
    onset_pa: float
    max_local_slope_hz_per_pa: float
    max_local_slope_at_pa: float
    one_line_ok: bool
    note: str
    window_pa: tuple
    n_points: int

    def to_dict(self) -> dict:
        return asdict(self)


def _hinge_lsq(x, y):
    """Exact least squares of ``y = s max(0, x - I0)``: returns (I0, s, sse).

    For I0 between two consecutive distinct inputs the points above I0 are fixed, so the
    model is a straight line through them; each interval's line is a candidate when its
    zero crossing falls inside the interval, and every input is a candidate I0 (the boundary
    cases, with s in closed form). The best candidate is the global minimum."""
    u = np.unique(x)
    best = (np.nan, np.nan, np.inf)

    def consider(i0, s):
        nonlocal best
        if not (np.isfinite(i0) and np.isfinite(s)) or s <= 0:
            return
        r = y - s * np.maximum(0.0, x - i0)
        sse = float(r @ r)
        if sse < best[2]:
            best = (float(i0), float(s), sse)

    for i0 in u[:-1]:
        h = np.maximum(0.0, x - i0)
        consider(i0, float(h @ y / (h @ h)))
    lows = np.concatenate(([-np.inf], u[:-1]))
    for k, lo in enumerate(lows):
        above = x > lo
        if np.unique(x[above]).size < 2:
            continue
        b, a = np.polyfit(x[above], y[above], 1)
        if b > 0:
            i0 = -a / b
            if lo <= i0 <= u[k]:
                consider(i0, b)
    return best


def fi_shape_fit(inputs, rates, min_rate_hz: float = 1.0, window_pa: float = FI_WINDOW_PA,
                 kink_ratio: float = KINK_RATIO, min_r2_full: float = MIN_R2_FULL) -> FIShape:
    """Fit the shape of an f-I curve: onset, threshold-linear rheobase and slope, kinks.

    Steps (science.md section 6; the L5 curve kinks upward where plateau bursts start, so one
    line over the whole range shifts the rheobase):

    1. **Onset**: the lowest input level whose mean rate is >= ``min_rate_hz`` and every
       higher level's too (sustained firing).
    2. **Window**: the highest level below the onset (if any) and the levels from the onset to
       ``onset + window_pa``.
    3. **Fit**: least squares of ``r = s max(0, I - I0)`` over the window's points (exact: see
       :func:`_hinge_lsq`); standard errors from the Jacobian, ``sqrt(diag(sigma^2 (J^T J)^-1))``
       with ``sigma^2 = SSE / (n - 2)``; R^2 and the RMS residual in the window.
    4. **Shape**: local slopes (finite differences of the mean curve between consecutive
       levels at or above the onset); the largest and the midpoint of its interval.
    5. **One line?** Not when the largest local slope exceeds ``kink_ratio`` times the fitted
       slope, or when the fitted line explains less than ``min_r2_full`` of the variance of
       the whole curve from the window's start to the highest level.

    Parameters
    ----------
    inputs : array_like
        Input of each point (pA); levels may repeat (one point per seed).
    rates : array_like
        Firing rate of each point (Hz).
    min_rate_hz : float
        Rate (Hz) that counts as firing.
    window_pa : float
        Width of the fit window above the onset (pA).
    kink_ratio, min_r2_full : float
        Thresholds of the one-line criterion (step 5).

    Returns
    -------
    FIShape
        NaN fields and a ``note`` saying why when the curve never fires in a sustained way or
        fewer than two levels fire in the window.
    """
    x = np.asarray(inputs, float).ravel()
    y = np.asarray(rates, float).ravel()
    if x.shape != y.shape or x.size == 0:
        raise ValueError(f"inputs, rates: got {x.size} and {y.size} values; expected equal, non-empty arrays")
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    if not window_pa > 0:
        raise ValueError(f"window_pa: got {window_pa!r}; expected a number > 0 (pA)")
    nan = float("nan")
    levels = np.unique(x)
    mean = np.array([y[x == v].mean() for v in levels]) if levels.size else np.zeros(0)
    firing = mean >= min_rate_hz
    tail = np.flatnonzero(~firing)
    k = int(tail[-1]) + 1 if tail.size else 0

    def empty(note, onset=nan):
        return FIShape(nan, nan, nan, nan, nan, nan, nan, onset, nan, nan, False, note, (nan, nan), 0)

    if k >= levels.size:
        top = f" (highest mean rate {mean.max():.3g} Hz at {levels[mean.argmax()]:g} pA)" if levels.size else ""
        return empty(f"never fires: no input level has a sustained mean rate >= {min_rate_hz:g} Hz{top}")
    onset = float(levels[k])
    lo = levels[k - 1] if k > 0 else onset
    hi = onset + window_pa
    win = (x >= lo) & (x <= hi)
    xw, yw = x[win], y[win]
    if np.unique(xw[xw >= onset]).size < 2:
        return empty(f"fewer than 2 firing input levels within {window_pa:g} pA of the onset ({onset:g} pA); "
                     "add levels or widen window_pa", onset)
    i0, s, sse = _hinge_lsq(xw, yw)
    n = xw.size
    above = xw > i0
    J = np.column_stack([np.maximum(0.0, xw - i0), -s * above])       # d r_hat / d(s, I0)
    dof = max(n - 2, 1)
    try:
        cov = (sse / dof) * np.linalg.inv(J.T @ J)
        se_s, se_i0 = (float(np.sqrt(max(v, 0.0))) for v in np.diag(cov))
    except np.linalg.LinAlgError:
        se_s = se_i0 = nan
    sst = float(np.sum((yw - yw.mean()) ** 2))
    r2 = 1.0 - sse / sst if sst > 0 else nan
    full = x >= lo
    rf = y[full] - s * np.maximum(0.0, x[full] - i0)
    sst_f = float(np.sum((y[full] - y[full].mean()) ** 2))
    r2_full = 1.0 - float(rf @ rf) / sst_f if sst_f > 0 else nan
    lv, mv = levels[k:], mean[k:]
    loc = np.diff(mv) / np.diff(lv)
    j = int(np.argmax(loc))
    max_loc, at = float(loc[j]), float(0.5 * (lv[j] + lv[j + 1]))
    reasons = []
    if max_loc > kink_ratio * s:
        reasons.append(f"steepest local slope {max_loc:.3g} Hz/pA at {at:g} pA exceeds {kink_ratio:g} x the "
                       f"fitted slope {s:.3g} Hz/pA")
    if np.isfinite(r2_full) and r2_full < min_r2_full:
        reasons.append(f"the fitted line explains R^2 = {r2_full:.2f} < {min_r2_full:g} of the whole curve")
    return FIShape(i0, se_i0, s, se_s, r2, float(np.sqrt(sse / n)), r2_full, onset, max_loc, at,
                   not reasons, "; ".join(reasons), (float(lo), float(xw.max())), int(n))
