"""Burst measures that mean what they say (issue 17 item 1, science.md section 6).

``isi_burst_excess`` must be ~0 for Poisson, gamma and tonic trains of any rate and high for
pure bursters; ``burst_reset_fraction`` is the share of flagged spikes, for L5 cells only.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from l5sim import analysis as A

CIRCUITS = Path(__file__).resolve().parents[1] / "circuits"
N_NEURONS = 40
DURATION_MS = 10_000.0
# Poisson trains: observed and expected shares are estimated from ~N * rate * 10 s spikes
# (>= 2000 at 5 Hz); their difference has an SD below 0.01, and the clip at 0 keeps only the
# positive half: 0.03 is > 3 SD.
POISSON_TOL = 0.03
# tonic trains have no ISI below half their mean unless the jitter reaches it (5 % jitter:
# half an ISI is 10 SD away), so the measure is 0 up to rounding.
TONIC_TOL = 1e-9
# a gamma train with shape 4 is more regular than Poisson: fewer short ISIs, clipped to 0
GAMMA_TOL = 0.03
# a pure burster has every spike in a short-ISI run; a rate-matched Poisson train has a share
# E < 0.6 of such spikes, so the excess is 1 - small edge effects
BURSTER_MIN = 0.8


def _flat(trains):
    i = np.concatenate([np.full(len(tr), k) for k, tr in enumerate(trains)])
    return i, np.concatenate(trains)


def poisson(rate_hz, rng):
    trains = []
    for _ in range(N_NEURONS):
        n = rng.poisson(rate_hz * DURATION_MS * 1e-3)
        trains.append(np.sort(rng.uniform(0, DURATION_MS, n)))
    return _flat(trains)


def tonic(rate_hz, rng, jitter=0.05):
    period = 1000.0 / rate_hz
    trains = []
    for _ in range(N_NEURONS):
        t = np.arange(rng.uniform(0, period), DURATION_MS, period)
        trains.append(np.sort(t + rng.normal(0, jitter * period, t.size)))
    return _flat(trains)


def gamma(rate_hz, shape, rng):
    trains = []
    for _ in range(N_NEURONS):
        isi = rng.gamma(shape, 1000.0 / rate_hz / shape, int(rate_hz * DURATION_MS * 1e-3 * 2) + 10)
        t = np.cumsum(isi)
        trains.append(t[t < DURATION_MS])
    return _flat(trains)


def burster(size, rng, intra=(4.0, 6.0), gap=(80.0, 300.0)):
    trains = []
    for _ in range(N_NEURONS):
        t, spikes = rng.uniform(0, 100), []
        while t < DURATION_MS:
            for _ in range(size):
                spikes.append(t)
                t += rng.uniform(*intra)
            t += rng.uniform(*gap)
        trains.append(np.array(spikes))
    return _flat(trains)


@pytest.mark.parametrize("rate_hz", [5.0, 20.0, 53.0, 150.0])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_poisson_trains_score_zero_at_any_rate(rate_hz, seed):
    bs = A.isi_burst_stats_flat(*poisson(rate_hz, np.random.default_rng(seed)))
    assert abs(bs["isi_burst_excess"]) < POISSON_TOL, \
        f"{rate_hz} Hz Poisson: excess {bs['isi_burst_excess']:.4f} (observed {bs['observed']:.3f}, " \
        f"expected {bs['expected']:.3f})"
    # the expectation is right: observed share within 0.02 of 1 - exp(-2 r theta)
    assert bs["observed"] == pytest.approx(bs["expected"], abs=0.02)


@pytest.mark.parametrize("rate_hz", [10.0, 53.0, 63.0, 100.0, 300.0])
def test_tonic_trains_score_zero_at_any_rate(rate_hz):
    bs = A.isi_burst_stats_flat(*tonic(rate_hz, np.random.default_rng(4)))
    assert bs["isi_burst_excess"] < TONIC_TOL, f"tonic {rate_hz} Hz: excess {bs['isi_burst_excess']:.4f}"
    assert bs["observed"] == 0.0 and bs["n_bursts"] == 0


def test_gamma_shape_4_scores_zero():
    for rate in (10.0, 53.0):
        bs = A.isi_burst_stats_flat(*gamma(rate, 4.0, np.random.default_rng(5)))
        assert bs["isi_burst_excess"] < GAMMA_TOL, f"gamma(4) {rate} Hz: excess {bs['isi_burst_excess']:.4f}"


@pytest.mark.parametrize("size", [2, 3])
def test_pure_bursters_score_high(size):
    bs = A.isi_burst_stats_flat(*burster(size, np.random.default_rng(6)))
    assert bs["isi_burst_excess"] > BURSTER_MIN, f"{size}-spike bursts: excess {bs['isi_burst_excess']:.3f}"
    assert bs["spikes_per_isi_burst"] == pytest.approx(size)


def test_the_old_16_ms_share_was_a_rate_measure():
    """The raw share of spikes with a neighbouring ISI < 16 ms (the old measure's basis) is
    large for a 53 Hz Poisson train, while the rate-corrected excess is ~0."""
    i, t = poisson(53.0, np.random.default_rng(7))
    short = np.diff(t[i == 0]) < 16.0
    raw = np.mean(np.r_[short, False] | np.r_[False, short])     # a neighbouring ISI < 16 ms
    assert raw > 0.4, raw
    assert A.isi_burst_stats_flat(i, t)["isi_burst_excess"] < POISSON_TOL


class _Rec:
    def __init__(self, i, t, b, models):
        self.spike_i, self.spike_t_ms, self.spike_burst = i, t, b
        self.pop_names = list(models)
        self.pop_start = np.array([0, 10, 20])
        self.metadata = {"duration_ms": 1000.0, "seed": 0,
                         "circuit": {"populations": {k: {"model": m} for k, m in models.items()}}}
        self.duration_ms = 1000.0

    def pop_size(self, pop):
        return 10

    def spikes(self, pop):
        k = self.pop_names.index(pop)
        m = (self.spike_i >= self.pop_start[k]) & (self.spike_i < self.pop_start[k + 1])
        return self.spike_i[m] - self.pop_start[k], self.spike_t_ms[m], self.spike_burst[m]


def test_burst_reset_fraction_is_the_flag_share_and_absent_for_other_models():
    rng = np.random.default_rng(8)
    i = rng.integers(0, 20, 400)
    t = np.sort(rng.uniform(0, 1000, 400))
    b = (rng.random(400) < 0.3).astype(np.uint8)
    s = A.summarize(_Rec(i, t, b, {"pyr": "l5_pyramidal", "pv": "izhikevich"}))["populations"]
    assert s["pyr"]["burst_reset_fraction"] == pytest.approx(b[i < 10].mean(), abs=1e-15)
    assert "burst_reset_fraction" not in s["pv"]
    assert {"isi_burst_excess", "spikes_per_isi_burst"} <= set(s["pv"]) and "burst_fraction" not in s["pv"]


def test_column_run_summary(tmp_path):
    """``l5sim run circuits/l5_column.toml``: the PV cells fire tonically (excess < 0.1) and the
    pyramidal summary's burst_reset_fraction is the share of flagged spikes."""
    import json

    from l5sim import load_recording
    from l5sim.cli import main

    out = tmp_path / "col"
    assert main(["run", str(CIRCUITS / "l5_column.toml"), "--duration", "400", "--seed", "1",
                 "--out", str(out), "--no-plot", "--quiet"]) == 0
    summ = json.loads((out / "summary.json").read_text())["populations"]
    rec = load_recording(out)
    assert summ["pv"]["isi_burst_excess"] < 0.1, summ["pv"]
    assert "burst_reset_fraction" not in summ["pv"] and "burst_fraction" not in summ["pv"]
    _, _, b = rec.spikes("pyr")
    assert summ["pyr"]["burst_reset_fraction"] == pytest.approx(b.mean(), abs=1e-12)


def test_old_burst_fraction_files_give_a_renamed_error(tmp_path):
    """Tables written before the rename say what happened and what to regenerate."""
    import json

    from l5sim import sweep as S
    from l5sim.bridge import read_gain_dir, read_stdp_dir
    from l5sim.errors import BridgeFileError, FitError
    from l5sim.fits import fit_gain_table

    (tmp_path / "metadata.json").write_text(json.dumps({"seed": [0]}))
    (tmp_path / "gain.csv").write_text("condition,vary_key,vary_value,input_value,rate_hz,seed,burst_fraction\n"
                                       "a,k,0,500,1.0,0,0.1\n")
    with pytest.raises(BridgeFileError, match="'burst_fraction' was renamed.*l5sim gain"):
        read_gain_dir(str(tmp_path))
    (tmp_path / "stdp.csv").write_text("condition,burst_fraction,modulator_level,seed,dw_per_s\nsingle,0,0,0,1\n")
    with pytest.raises(BridgeFileError, match="'burst_fraction' was renamed.*l5sim stdp"):
        read_stdp_dir(str(tmp_path))
    with pytest.raises(FitError, match="'burst_fraction' was renamed"):
        fit_gain_table({"condition": np.array(["a"]), "burst_fraction": np.array([0.1])})
    from l5sim.sweep.tables import check_renamed

    with pytest.raises(S.SweepError, match="'pyr.burst_fraction' was renamed.*rerun the sweep"):
        check_renamed(tmp_path, [{"run": "x", "pyr.rate_hz": 1.0, "pyr.burst_fraction": 0.1}])
