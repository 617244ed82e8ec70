"""The two-compartment L5 pyramidal cell (science.md sections 3 and 8.3), circuits/l5_cell.toml.

Each protocol is set through overrides of the circuit file (its noise and Poisson inputs are
switched off: these are the deterministic limits; the stochastic gate is tested at kappa 0
and 1, where its draws are certain). Thresholds are computed from the model's equations in
the test, never taken from a run.
"""
import math
from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import brentq, minimize_scalar

import l5sim
from l5sim.models import dendrite_dc_current
from l5sim.models.l5pyramidal import LVPA

try:
    import naive
except ImportError:  # pragma: no cover
    from tests import naive

CIRCUIT = Path(__file__).resolve().parents[1] / "circuits" / "l5_cell.toml"
DT = 0.1
PLATEAU_MV = LVPA.plateau_mV  # -30 mV (science.md 3)


def l5_cell(soma_pA=0.0, dend_pA=0.0, kappa=1.0, extra_inputs=None, params=None, start_ms=100.0):
    """circuits/l5_cell.toml with its steps set, its noise and Poisson inputs off, and
    ``extra_inputs`` {name: table} added."""
    base = l5sim.load_circuit(CIRCUIT).to_dict()
    ov = {"inputs.soma_step.amplitude_pA": soma_pA, "inputs.dend_step.amplitude_pA": dend_pA,
          "inputs.soma_step.start_ms": start_ms, "inputs.dend_step.start_ms": start_ms,
          "populations.pyr.params.kappa": kappa}
    for name, inp in base.get("inputs", {}).items():
        if inp["kind"] == "noise":
            ov[f"inputs.{name}.sigma_pA_sqrt_ms"] = 0.0
        elif inp["kind"] == "poisson":
            ov[f"inputs.{name}.weight"] = 0.0
    for name, table in (extra_inputs or {}).items():
        for k, v in table.items():
            ov[f"inputs.{name}.{k}"] = v
    for k, v in (params or {}).items():
        ov[f"populations.pyr.params.{k}"] = v
    return l5sim.build(l5sim.load_circuit(CIRCUIT, overrides=ov), 0)


def run(built, duration_ms, check_naive=False):
    rec = l5sim.simulate(built, duration_ms)
    if check_naive:
        ref = naive.simulate(built, duration_ms)
        np.testing.assert_array_equal(rec.spike_t_ms, ref.spike_t_ms)
        np.testing.assert_array_equal(rec.spike_burst, ref.spike_burst)
        # the kernel rounds as CPython does (see tests/test_engine.py, TRACE_ATOL)
        np.testing.assert_allclose(rec.traces["pyr"]["vd"], ref.traces["pyr"]["vd"], rtol=0, atol=1e-9)
    return rec


def vd_of(rec):
    return rec.traces["pyr"]["vd"][:, 0]


def pulse(amp_pA, start_ms, width_ms, compartment="soma"):
    return {"kind": "current", "population": "pyr", "compartment": compartment, "amplitude_pA": amp_pA,
            "start_ms": start_ms, "stop_ms": start_ms + width_ms}


# ----------------------------------------------------------------------------------------
# Soma alone

def test_somatic_step_alone_gives_adapting_regular_firing():
    """1000 pA on the soma, no dendritic drive, gate open: regular firing whose ISIs lengthen
    (u and the adaptation conductance accumulate) and settle; no plateau, so no spike is
    fired with the burst reset."""
    rec = run(l5_cell(soma_pA=1000.0), 1600.0, check_naive=True)
    t = rec.spike_t_ms
    isi = np.diff(t)
    assert len(t) >= 15
    assert not rec.spike_burst.any()
    assert vd_of(rec).max() < PLATEAU_MV                 # bAPs alone: no plateau from rest
    assert np.all(np.diff(isi) >= -DT)                   # lengthening (to within one step)
    assert isi[-1] / isi[0] > 2.0                        # strong adaptation
    assert np.ptp(isi[-5:]) <= 0.02 * isi[-1]            # then regular


def test_somatic_rheobase_equals_the_analytic_value():
    """The soma's rest state disappears (saddle-node) when k(v-vr)(v-vt) - b(v-vr) + I has no
    root: I* = (k (vt - vr) + b)^2 / (4 k) = 640 pA for LVPA. (The rest state turns unstable
    ~1 pA earlier, at a Hopf point where k (2v - vr - vt) / C = a: 638.8 pA.) Sustained firing
    (spikes 1 to 3 s after the onset, past the onset transient that u's 100 ms lag allows
    below I*) must start within one 5 pA grid step of I*."""
    p = LVPA
    I_star = (p.k * (p.vt_mV - p.vr_mV) + p.b_nS) ** 2 / (4 * p.k)
    x_hopf = (p.a_per_ms * p.C_pF / p.k + (p.vt_mV - p.vr_mV)) / 2   # v - vr at the Hopf point
    I_hopf = -(p.k * x_hopf * (x_hopf - (p.vt_mV - p.vr_mV)) - p.b_nS * x_hopf)
    assert I_star == pytest.approx(640.0)
    assert 0 < I_star - I_hopf < 5.0
    step = 5.0
    grid = np.arange(610.0, 671.0, step)
    sustained = []
    for I in grid:
        t = l5sim.simulate(l5_cell(soma_pA=I), 3100.0).spike_t_ms
        sustained.append(np.sum(t > 1100.0) > 0)
    sustained = np.array(sustained)
    first = grid[np.argmax(sustained)]
    assert sustained.any() and np.all(sustained[grid >= first])     # monotone in I
    assert abs(first - I_star) <= step


# ----------------------------------------------------------------------------------------
# Dendrite: DC threshold from the equations

def _I_dc(v, p=LVPA):
    """Steady dendritic current holding v_d at v: w_d = b_d (v - E_L) at rest, so
    0 = -g_L (v - E_L) + g_Ca F(v) + b_d (v - E_L) + I  =>  I = (g_L - b_d)(v - E_L) - g_Ca F(v)."""
    F = 1.0 / (1.0 + math.exp((p.Ehalf_mV - v) / p.D_mV))
    return (p.gL_nS - p.bd_nS) * (v - p.EL_mV) - p.gCa_pA * F


def dendrite_dc_threshold(p=LVPA):
    """Saddle-node of the dendrite: the maximum of I(v) on its lower (rest) branch."""
    dI = lambda v: (p.gL_nS - p.bd_nS) - p.gCa_pA * (lambda F: F * (1 - F) / p.D_mV)(  # noqa: E731
        1.0 / (1.0 + math.exp((p.Ehalf_mV - v) / p.D_mV)))
    v_sn = brentq(dI, p.EL_mV, p.Ehalf_mV)        # I'(v) = 0 below the Ca2+ half-activation
    res = minimize_scalar(lambda v: -_I_dc(v, p), bounds=(p.EL_mV, p.Ehalf_mV), method="bounded")
    assert abs(res.x - v_sn) < 1e-3
    return _I_dc(v_sn, p), v_sn


def test_dendrite_dc_threshold_matches_the_model_helper():
    I_th, v_sn = dendrite_dc_threshold()
    assert 600.0 < I_th < 700.0 and -50.0 < v_sn < -40.0     # "a few hundred pA" (science.md 3)
    assert float(dendrite_dc_current(v_sn)) == pytest.approx(I_th, rel=1e-12)


def _staircase(target_pA, start_ms=100.0, n=50, every_ms=20.0):
    """A slow ramp of the dendritic current to ``target_pA`` (n equal steps), so the slow
    w_d follows and the DC threshold, not the faster step threshold, is what is crossed."""
    return {f"stair{k}": {"kind": "current", "population": "pyr", "compartment": "dendrite",
                          "amplitude_pA": target_pA / n, "start_ms": start_ms + k * every_ms} for k in range(n)}


# 5% either side of the computed threshold (the brief's margin; the rest state turns unstable
# through a Hopf point ~1% below the saddle-node, inside that margin).
DC_MARGIN = 0.05


def test_steady_dendritic_current_above_dc_threshold_starts_a_plateau_without_spikes():
    I_th, _ = dendrite_dc_threshold()
    above = run(l5_cell(extra_inputs=_staircase((1 + DC_MARGIN) * I_th)), 2600.0, check_naive=True)
    assert vd_of(above).max() >= PLATEAU_MV
    assert above.spike_t_ms.size == 0                 # no somatic spike at all, no bAP needed
    below = run(l5_cell(extra_inputs=_staircase((1 - DC_MARGIN) * I_th)), 2600.0)
    assert vd_of(below).max() < PLATEAU_MV
    assert below.spike_t_ms.size == 0


# ----------------------------------------------------------------------------------------
# BAC firing: bAP + subthreshold dendritic input

DEND_SUB_PA = 400.0        # below the dendrite's own step threshold (checked in the test)
PULSE = pulse(1500.0, 500.0, 5.0)   # fires exactly one somatic spike


def test_bac_firing_bap_plus_subthreshold_dendritic_input_gives_a_plateau():
    alone = run(l5_cell(dend_pA=DEND_SUB_PA), 700.0)
    assert vd_of(alone).max() < PLATEAU_MV            # dendritic input alone: subthreshold
    bap_only = run(l5_cell(extra_inputs={"pulse": PULSE}), 700.0)
    assert bap_only.spike_t_ms.size == 1
    assert vd_of(bap_only).max() < PLATEAU_MV          # bAP alone from rest: no plateau
    both = run(l5_cell(dend_pA=DEND_SUB_PA, extra_inputs={"pulse": PULSE}), 700.0, check_naive=True)
    t = both.spike_t_ms
    assert t.size == 1
    vd = vd_of(both)
    first = np.argmax(vd >= PLATEAU_MV) * DT + DT       # sample times are step ends
    assert vd.max() >= PLATEAU_MV and t[0] < first <= t[0] + 10.0   # within 10 ms of the spike
    closed = run(l5_cell(dend_pA=DEND_SUB_PA, kappa=0.0, extra_inputs={"pulse": PULSE}), 700.0)
    np.testing.assert_array_equal(closed.spike_t_ms, t)
    assert vd_of(closed).max() < PLATEAU_MV             # no bAP: no plateau


def _plateau_threshold(kappa, with_pulse, grid):
    for amp in grid:
        extra = {"pulse": PULSE} if with_pulse else None
        if vd_of(l5sim.simulate(l5_cell(dend_pA=amp, kappa=kappa, extra_inputs=extra), 700.0)).max() >= PLATEAU_MV:
            return amp
    return math.inf


def test_without_baps_a_plateau_needs_a_larger_dendritic_input():
    """science.md 8.3: the smallest dendritic step that gives a plateau around one somatic
    spike is lower with bAPs (kappa 1) than without (kappa 0); without bAPs it is the
    dendrite's own step threshold (the soma cannot reach the dendrite then: g_s = G = 0)."""
    grid = np.arange(0.0, 801.0, 50.0)
    with_bap = _plateau_threshold(1.0, True, grid)
    without = _plateau_threshold(0.0, True, grid)
    alone = _plateau_threshold(1.0, False, grid)
    assert without == alone
    assert with_bap <= without - 150.0                  # at least three grid steps lower
    I_th, _ = dendrite_dc_threshold()
    assert without < I_th          # a step beats the DC threshold: w_d lags by tau_w = 30 ms


# A sustained drive where somatic spikes come faster than a plateau lasts (~45 ms).
BURST_SOMA_PA, BURST_DEND_PA = 1200.0, 450.0


def test_burst_reset_spikes_need_the_open_gate():
    """Soma 1200 pA + dendrite 450 pA: with the gate open every bAP lifts the dendrite into a
    plateau and spikes inside it use the burst reset (c -55, d 150): bursts, more spikes.
    With kappa 0 the same drive gives no plateau and no burst-reset spike."""
    open_ = run(l5_cell(soma_pA=BURST_SOMA_PA, dend_pA=BURST_DEND_PA), 1100.0, check_naive=True)
    closed = run(l5_cell(soma_pA=BURST_SOMA_PA, dend_pA=BURST_DEND_PA, kappa=0.0), 1100.0)
    assert open_.spike_burst.sum() >= 5
    assert closed.spike_burst.sum() == 0 and vd_of(closed).max() < PLATEAU_MV
    assert open_.spike_t_ms.size > closed.spike_t_ms.size
    # every burst-reset spike fires while the dendrite is in a plateau (sample of the
    # previous step, i.e. the state the reset switch read)
    vd = vd_of(open_)
    steps = np.rint(open_.spike_t_ms[open_.spike_burst == 1] / DT).astype(int)
    assert np.all(vd[steps - 1] >= PLATEAU_MV)
    # burst-reset ISIs are short: the spike after a burst-reset spike comes within 16 ms
    # (Naud & Sprekeler's burst criterion) more often than not
    t = open_.spike_t_ms
    nxt = np.diff(t)[open_.spike_burst[:-1] == 1]
    assert np.mean(nxt < 16.0) > 0.5


# ----------------------------------------------------------------------------------------
# The coupling gate's deterministic limits

@pytest.mark.parametrize("gate", ["per_step", "per_spike"])
@pytest.mark.parametrize("kappa", [0.0, 1.0])
def test_random_gates_at_kappa_0_and_1_equal_the_deterministic_gate(kappa, gate):
    """At kappa 0 or 1 every Bernoulli draw is certain, so LVPA's per-step gate, the per-spike
    gate and the deterministic variant (bAP x kappa, reset interpolated by kappa) coincide."""
    recs = [l5sim.simulate(l5_cell(soma_pA=BURST_SOMA_PA, dend_pA=BURST_DEND_PA, kappa=kappa,
                                   params={"gate": g}), 800.0) for g in (gate, "deterministic")]
    np.testing.assert_array_equal(recs[0].spike_t_ms, recs[1].spike_t_ms)
    np.testing.assert_array_equal(recs[0].spike_burst, recs[1].spike_burst)
    np.testing.assert_array_equal(recs[0].traces["pyr"]["vd"], recs[1].traces["pyr"]["vd"])
    assert recs[0].spike_burst.any() == (kappa == 1.0)


@pytest.mark.parametrize("gate", ["per_step", "per_spike"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_half_open_gate_lies_between_for_any_seed(seed, gate):
    """kappa 0.5: bAPs pass in about half the steps of their window (per step) or half the
    spikes (per spike), so the burst-reset spikes are more than with the gate closed (none)
    and at most as many as with it open, for any seed."""
    def bursts(kappa):
        b = l5_cell(soma_pA=BURST_SOMA_PA, dend_pA=BURST_DEND_PA, kappa=kappa, params={"gate": gate})
        return int(l5sim.simulate(b, 1100.0, seed=seed).spike_burst.sum())
    assert bursts(0.0) == 0 < bursts(0.5) <= bursts(1.0)


def test_per_spike_gate_passes_whole_baps_with_probability_kappa():
    """The per-spike gate: a bAP enters the dendrite whole (2600 pA) or not at all, and the
    share of somatic spikes whose bAP window carries current is kappa within binomial
    error (kappa 0.3; soma driven alone, so no plateau interferes)."""
    kappa = 0.3
    spec = l5sim.load_circuit(CIRCUIT, overrides={
        "inputs.soma_step.amplitude_pA": 1200.0, "inputs.noise.sigma_pA_sqrt_ms": 0.0,
        "populations.pyr.params.kappa": kappa, "populations.pyr.params.gate": "per_spike",
        "populations.pyr.n": 6, "recording.traces.pyr.neurons": list(range(6)),
        "recording.traces.pyr.variables": ["I_bap"], "recording.traces.pyr.interval_ms": 0.1})
    rec = l5sim.simulate(l5sim.build(spec, 0), 3100.0, seed=4)
    ib = rec.traces["pyr"]["I_bap"]
    assert set(np.unique(ib)) <= {0.0, LVPA.bap_pA}
    i, t, _ = rec.spikes("pyr")
    # a spike's window is [t + 0.5, t + 2.5] ms: sample each at t + 1.5 ms
    idx = np.round((t + 1.5) / 0.1).astype(int) - 1
    keep = idx < ib.shape[0]
    passed = ib[idx[keep], i[keep]] > 0
    n, k = passed.size, int(passed.sum())
    se = math.sqrt(kappa * (1 - kappa) / n)
    assert n >= 300
    assert abs(k / n - kappa) < 4 * se, f"share of bAPs passed {k / n:.3f} vs kappa {kappa} (n={n}, SE {se:.3f})"


def test_initial_u_follows_initspec_for_the_l5_soma():
    spec = l5sim.load_circuit(CIRCUIT, overrides={"populations.pyr.init": {"v_mV": -70.0}})
    built = l5sim.build(spec, 0)
    assert built.init_u[0] == pytest.approx(LVPA.b_nS * (-70.0 - LVPA.vr_mV))


# ----------------------------------------------------------------------------------------
# dt-robust numerics (issue 17, item 5)

def _fi_at(dt_ms, gate, seed):
    """Rate (Hz) and burst-reset share of 20 noisy L5 cells at three somatic steps, with a
    dendritic drive of 400 pA and kappa 0.5, at step ``dt_ms``."""
    rates, shares = [], []
    for soma in (700.0, 1100.0, 1500.0):
        spec = l5sim.load_circuit(CIRCUIT, overrides={
            "circuit.dt_ms": dt_ms, "inputs.soma_step.amplitude_pA": soma, "inputs.dend_step.amplitude_pA": 400.0,
            "populations.pyr.n": 20, "populations.pyr.params.kappa": 0.5, "populations.pyr.params.gate": gate,
            "recording.traces": {}})
        rec = l5sim.simulate(l5sim.build(spec, seed), 1100.0, seed=seed)
        _, t, b = rec.spikes("pyr")
        m = t >= 100.0
        rates.append(m.sum() / 20 / 1.0)
        shares.append(float(b[m].mean()) if m.any() else 0.0)
    return np.array(rates), np.array(shares)


@pytest.mark.parametrize("seed", [1, 2])
def test_fi_converges_when_dt_halves(seed):
    """With white noise given as an intensity (pA sqrt(ms); per-step SD sigma / sqrt(dt)) and
    the per-spike coupling gate, halving dt from 0.1 to 0.05 ms moves the f-I curve by less
    than the tolerance: max(0.6 Hz, 4 %) per level. The scheme is first order (Euler for the
    nonlinear terms), so the change in a spike time is O(dt) = O(0.1 ms) against ISIs of
    30-200 ms: well under 1 %; the tolerance is set by the sampling error of 20 cells x 1 s
    of Poisson-like spike counts (SD ~ sqrt(r / 20) Hz, 0.5 Hz at 5 Hz)."""
    r1, b1 = _fi_at(0.1, "per_spike", seed)
    r2, b2 = _fi_at(0.05, "per_spike", seed)
    tol = np.maximum(0.6, 0.04 * r1)
    assert np.all(np.abs(r1 - r2) < tol), f"rates dt 0.1: {r1}, dt 0.05: {r2} (tolerance {tol})"
    # burst-reset share: binomial SD over ~20 x r spikes, below 0.05 at these rates
    assert np.all(np.abs(b1 - b2) < 0.05), f"burst-reset share dt 0.1: {b1}, dt 0.05: {b2}"


def test_noise_intensity_is_a_diffusion_not_a_per_step_size():
    """sigma_pA_sqrt_ms gives per-step SD sigma / sqrt(dt) (so the voltage variance it adds
    per ms, (sigma dt / sqrt(dt))^2 / dt / C^2 = sigma^2 / C^2, does not depend on dt);
    sigma_pA is the per-step SD as given (Izhikevich 2003's convention)."""
    from l5sim.builder import noise_step_sd
    spec = l5sim.load_circuit(CIRCUIT, overrides={"inputs.noise.sigma_pA_sqrt_ms": 50.0})
    for dt in (0.1, 0.05, 0.025):
        assert noise_step_sd(spec.inputs["noise"], dt) == pytest.approx(50.0 / math.sqrt(dt))
    spec = l5sim.load_circuit(CIRCUIT, overrides={"inputs.noise.sigma_pA_sqrt_ms": 0.0,
                                                   "inputs.noise.sigma_pA": 200.0})
    assert noise_step_sd(spec.inputs["noise"], 0.05) == 200.0
    with pytest.raises(l5sim.SpecError, match="sigma_pA"):
        l5sim.load_circuit(CIRCUIT, overrides={"inputs.noise.sigma_pA": 200.0})   # both given


def test_old_gate_name_gives_a_clear_error():
    with pytest.raises(l5sim.SpecError, match="per_step"):
        l5sim.load_circuit(CIRCUIT, overrides={"populations.pyr.params.gate": "stochastic"})
