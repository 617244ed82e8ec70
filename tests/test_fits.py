"""Fits recover known parameters from noisy synthetic curves and refuse degenerate input."""
import math

import numpy as np
import pytest

from l5sim.ann.synthetic_curves import (GAIN_TRUTH, STDP_TRUTH, write_synthetic_gain_dir,
                                        write_synthetic_stdp_dir)
from l5sim.bridge import read_gain_dir, read_stdp_dir
from l5sim.errors import FitError
from l5sim.fits import (fi_threshold_linear, fit_fi_curve, fit_gain_table, fit_linear,
                        fit_pulse_response, fit_stdp_speedup)

# Recovery tolerance in units of the fit's own standard error. Each test checks ~5-15 pulls;
# a 4-sigma bound keeps the chance of a false alarm under 0.1 % per pull if the stated errors
# are right, and fails if they are too small by a factor of ~2 or more.
N_SE = 4.0


def _pull(p, truth):
    return abs(p.value - truth) / p.stderr


@pytest.fixture(scope="module")
def gain_fits(tmp_path_factory):
    d = tmp_path_factory.mktemp("gain")
    truth = write_synthetic_gain_dir(str(d), seeds=(0, 1, 2))
    return truth, fit_gain_table(read_gain_dir(str(d))["table"])


def test_fi_curves_recover_threshold_slope_saturation(gain_fits):
    t, fits = gain_fits
    assert len(fits["fi"]) == len(t["levels"])
    for e in fits["fi"]:
        m, f = e["vary_value"], e["fit"]
        assert f.model == "saturating"
        assert _pull(f["threshold_pa"], t["theta0_pa"] - t["dtheta_pa"] * m) < N_SE
        assert _pull(f["slope_hz_per_pa"], t["s0_hz_per_pa"] * (1 + t["k_per_level"] * m)) < N_SE
        assert _pull(f["saturation_hz"], t["r_max_hz"]) < N_SE
        assert f.gof["r2"] > 0.95 and f.gof["dof"] == f.gof["n"] - 3


def test_gain_rises_linearly_with_modulator(gain_fits):
    t, fits = gain_fits
    g = fits["gain_vs_modulator"]
    assert _pull(g["intercept"], t["s0_hz_per_pa"]) < N_SE
    assert _pull(g["slope"], t["s0_hz_per_pa"] * t["k_per_level"]) < N_SE
    assert g["slope"].unit == "Hz/pA/level"
    b = fits["burst_vs_modulator"]
    assert _pull(b["slope"], t["burst_per_level"]) < N_SE


def test_auto_falls_back_to_threshold_linear_without_saturation():
    rng = np.random.default_rng(4)
    current = np.repeat(np.arange(0, 401, 25.0), 3)
    rate = fi_threshold_linear(current, 120.0, 0.3)
    rate = np.maximum(rate + rng.normal(0, 0.05 * rate + 1e-9), 0)
    f = fit_fi_curve(current, rate, model="auto")
    assert f.model == "threshold_linear" and "saturating fit was rejected" in f.note
    assert _pull(f["threshold_pa"], 120.0) < N_SE and _pull(f["slope_hz_per_pa"], 0.3) < N_SE
    with pytest.raises(FitError, match="saturation"):
        fit_fi_curve(current, rate, model="saturating")


@pytest.mark.parametrize("current,rate,msg", [
    ([0, 100, 200, 300], [0, 0, 0, 0], "every rate is 0 Hz"),
    ([0, 100, 200], [0, 1, 2], "at least 4"),
    ([100, 100, 200, 200], [1, 2, 3, 4], "distinct current levels"),
    ([0, 100, 200, 300, 400], [0, 0, 0, 0, 5], "fewer than 2 distinct currents"),
    ([0, 100, 200, np.nan], [0, 1, 2, 3], "non-finite"),
    ([0, 100, 200, 300], [9, 6, 3, 1], "does not rise"),
    ([0, 100, 200, 300], [0, -1, 2, 3], "negative rate"),
])
def test_fi_refuses_degenerate_input(current, rate, msg):
    with pytest.raises(FitError, match=msg):
        fit_fi_curve(current, rate)


def test_gain_table_refuses_too_few_levels_and_names_condition(tmp_path):
    write_synthetic_gain_dir(str(tmp_path / "a"), levels=(0.0, 1.0), pulse=False)
    with pytest.raises(FitError, match="expected at least 3"):
        fit_gain_table(read_gain_dir(str(tmp_path / "a"))["table"])
    # a condition whose currents never reach threshold
    write_synthetic_gain_dir(str(tmp_path / "b"), theta0_pa=2000.0, dtheta_pa=1500.0, pulse=False)
    with pytest.raises(FitError, match=r"condition 'NA=0'.*never fires"):
        fit_gain_table(read_gain_dir(str(tmp_path / "b"))["table"])


def test_pulse_decay_recovered(tmp_path):
    t = write_synthetic_gain_dir(str(tmp_path), seeds=(0, 1))
    p = read_gain_dir(str(tmp_path))["pulse"]
    f = fit_pulse_response(p["time_ms"], p["gain_hz_per_pa"])
    assert _pull(f["tau_decay_ms"], t["tau_ms"]) < N_SE
    amp = t["s0_hz_per_pa"] * t["k_per_level"] * t["pulse_amplitude"]
    assert _pull(f["amplitude_hz_per_pa"], amp) < N_SE
    assert _pull(f["baseline_hz_per_pa"], t["s0_hz_per_pa"]) < N_SE
    assert p["pulse_amplitude"] == t["pulse_amplitude"]


def test_pulse_refuses_flat_or_short_records():
    rng = np.random.default_rng(0)
    tm = np.arange(0, 2000, 20.0)
    with pytest.raises(FitError, match="no detectable gain response|not identifiable|covariance"):
        fit_pulse_response(tm, 0.2 + rng.normal(0, 0.01, tm.size))
    short = np.arange(0, 200, 20.0)
    with pytest.raises(FitError, match="recorded span|not identifiable"):
        fit_pulse_response(short, 0.2 + 0.1 * np.exp(-short / 1000.0) + rng.normal(0, 1e-4, short.size))


def test_stdp_speedup_recovered(tmp_path):
    t = write_synthetic_stdp_dir(str(tmp_path), seeds=(0, 1, 2, 3))
    tab = read_stdp_dir(str(tmp_path))["table"]
    f = fit_stdp_speedup(tab["burst_reset_fraction"], tab["dw_per_s"], x_name="burst_reset_fraction")
    bf = t["burst_reset_fractions"]
    rel_true = t["speedup_per_bf"] / (1 + t["speedup_per_bf"] * bf[0])
    s_true = (1 + t["speedup_per_bf"] * bf[-1]) / (1 + t["speedup_per_bf"] * bf[0])
    assert _pull(f["relative_slope_per_unit"], rel_true) < N_SE
    assert _pull(f["speedup_at_max"], s_true) < N_SE
    assert f.extra["x_ref"] == bf[0]


def test_stdp_refuses_degenerate_input():
    with pytest.raises(FitError, match="same value"):
        fit_stdp_speedup([0.5, 0.5, 0.5], [1.0, 1.1, 0.9])
    with pytest.raises(FitError, match="not significantly positive"):
        fit_stdp_speedup([0.0, 0.0, 1.0, 1.0], [-0.01, 0.01, 0.5, 0.52])


def test_weighted_linear_errors_scale_with_misfit():
    x = np.arange(6.0)
    y = 1 + 2 * x + np.array([0.1, -0.1, 0.1, -0.1, 0.1, -0.1])
    tight = fit_linear(x, y, sigma=np.full(6, 0.01))  # chi2/dof >> 1: errors scaled up
    loose = fit_linear(x, y, sigma=np.full(6, 1.0))   # chi2/dof << 1: never scaled down
    assert tight.gof["reduced_chi2"] > 1 > loose.gof["reduced_chi2"]
    resid_only = fit_linear(x, y)
    assert tight["slope"].stderr == pytest.approx(resid_only["slope"].stderr, rel=1e-6)
    assert loose["slope"].stderr == pytest.approx(1 / math.sqrt(np.sum((x - x.mean()) ** 2)), rel=1e-6)
