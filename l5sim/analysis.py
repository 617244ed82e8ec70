"""Analysis: pure functions of recordings or arrays (rates, ISIs, bursts, spectra, f-I).

Burst definition (science.md section 6): a run of spikes whose inter-spike intervals are
all below ``burst_isi_ms`` (16 ms, Naud & Sprekeler 2018) forms one event; an event of two
or more spikes is a burst. Burst fraction = bursts / events. Spikes fired with the burst
reset are flagged separately by the simulator (``Recording.spike_burst``).
"""
from __future__ import annotations

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


def burst_stats_flat(spike_i, spike_t, burst_isi_ms: float = BURST_ISI_MS) -> dict:
    """:func:`burst_stats` of the trains of every neuron in (spike_i, spike_t), without
    per-neuron loops: an event ends where the neuron changes or the ISI reaches
    ``burst_isi_ms``."""
    i, t, same = _sorted_flat(spike_i, spike_t)
    if i.size == 0:
        return _event_summary(np.zeros(0, np.int64))
    breaks = np.nonzero(~same | (np.diff(t) >= burst_isi_ms))[0]
    return _event_summary(np.diff(np.concatenate(([0], breaks + 1, [i.size]))))


def burst_events(train: np.ndarray, burst_isi_ms: float = BURST_ISI_MS) -> np.ndarray:
    """Sizes (spikes per event) of the events of one spike train."""
    train = np.asarray(train)
    if train.size == 0:
        return np.zeros(0, np.int64)
    breaks = np.nonzero(np.diff(train) >= burst_isi_ms)[0]
    edges = np.concatenate(([0], breaks + 1, [train.size]))
    return np.diff(edges)


def burst_stats(trains, burst_isi_ms: float = BURST_ISI_MS) -> dict:
    """Burst fraction (bursts / events), spikes per burst and counts over a set of trains."""
    sizes = [burst_events(tr, burst_isi_ms) for tr in trains]
    return _event_summary(np.concatenate(sizes) if sizes else np.zeros(0, np.int64))


def _event_summary(sizes) -> dict:
    """Burst statistics from the sizes (spikes per event) of all events."""
    n_events = int(sizes.size)
    bursts = sizes[sizes >= 2]
    return {
        "n_events": n_events,
        "n_bursts": int(bursts.size),
        "burst_fraction": float(bursts.size / n_events) if n_events else 0.0,
        "spikes_per_burst": float(bursts.mean()) if bursts.size else 0.0,
    }


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
    """``{"populations": {name: {n, n_spikes, rate_hz, cv_isi, burst_fraction, ...}}, seed, duration_ms}``."""
    dur = rec.duration_ms
    pops = {}
    for name in rec.pop_names:
        n = rec.pop_size(name)
        i, t, b = rec.spikes(name)
        bs = burst_stats_flat(i, t, burst_isi_ms)
        pops[name] = {
            "n": n,
            "n_spikes": int(i.size),
            "rate_hz": float(i.size / (n * dur * 1e-3)) if n else 0.0,
            "cv_isi": cv_isi_flat(i, t, n),
            "burst_fraction": bs["burst_fraction"],
            "spikes_per_burst": bs["spikes_per_burst"],
            "burst_reset_spike_fraction": float(b.mean()) if b.size else 0.0,
        }
    return {"populations": pops, "seed": rec.metadata.get("seed"), "duration_ms": dur,
            "circuit_hash": rec.metadata.get("circuit_hash")}


def fi_slope_rheobase(inputs, rates, min_rate_hz: float = 1.0):
    """Gain (Hz/pA, least-squares slope over the supra-threshold points) and rheobase
    (the input where the fitted line reaches ``min_rate_hz``; the first input with a rate
    >= ``min_rate_hz`` if fewer than two supra-threshold points). NaN when never above."""
    x = np.asarray(inputs, float)
    y = np.asarray(rates, float)
    m = y >= min_rate_hz
    if m.sum() == 0:
        return float("nan"), float("nan")
    if m.sum() < 2:
        return float("nan"), float(x[m][0])
    slope, icpt = np.polyfit(x[m], y[m], 1)
    rheo = (min_rate_hz - icpt) / slope if slope > 0 else float(x[m][0])
    return float(slope), float(rheo)
