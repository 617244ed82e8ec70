"""Neuromodulation (science.md section 6; ``l5sim/neuromodulation.py``): levels, pulses
reaching their targets with the right shape and timing, presets, triggers and validation.

Targets are observed through the dynamics, in deterministic limits where the target enters
an observable exactly:

* ``soma_drive_pA`` of an Izhikevich 2007 cell with k = a = b = 0 (a perfect integrator,
  C dv/dt = I): the voltage increment of each step is dt/C x gain x level;
* ``dend_drive_pA`` of an L5 dendrite with g_L = g_Ca = b_d = 0 and kappa = 0 (no bAP):
  C_d dv_d/dt = I_d likewise;
* ``gCa_pA`` of that dendrite with g_Ca = 0: the step's current divided by F(v_d);
* ``pathway_gain``: current pulses of a generator pathway into the integrator;
* ``kappa`` of an L5 cell with the deterministic gate while the dendrite is held in a
  plateau: the ``burst`` trace then equals the effective gate clip(kappa + gain x level);
* ``c_mV`` / ``d_pA``: the somatic voltage right after a spike is the reset c, and u jumps
  by d (plus one step of its slow dynamics).

Timing convention checked below: the parameters of step t (time t dt) are base + gain x
level(t dt); a trace sample stamped (t + 1) dt is the state after step t.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

import l5sim
from l5sim.errors import SpecError
from l5sim.neuromodulation import Modulator, Pulse, Trigger, pulse_shape
from l5sim.spec import from_dict, load_circuit

DT_MS = 0.1
C_PF = 100.0
CIRCUITS = Path(__file__).resolve().parents[1] / "circuits"
# The integrator's increment is computed in float64 from dt/C x I: relative rounding ~1e-15
# on increments of ~1e-2 mV; differences of successive samples of v ~ -60 mV lose ~1e-14 mV.
# 1e-9 pA on the recovered current is far above that and far below any asserted effect.
I_ATOL_PA = 1e-9


def integrator(mods, duration_ms=200.0, pop_extra=None):
    """One Izhikevich 2007 cell turned into a perfect integrator (k = a = b = 0)."""
    pops = {"cell": {"model": "izhikevich2007", "n": 1, "preset": "RS",
                     "params": {"k": 0.0, "a_per_ms": 0.0, "b_nS": 0.0, "C_pF": C_PF}}}
    if pop_extra:
        pops.update(pop_extra)
    spec = from_dict({"circuit": {"name": "integrator", "dt_ms": DT_MS}, "populations": pops,
                      "modulators": mods,
                      "recording": {"traces": {"cell": {"neurons": [0], "variables": ["v"], "interval_ms": DT_MS}}}})
    rec = l5sim.simulate(l5sim.build(spec, 0), duration_ms)
    return spec, rec


def injected_current(rec, pop="cell", var="v", C=C_PF):
    """Current (pA) of each step recovered from an integrator's trace: sample k + 1 minus
    sample k is the increment of the step starting at trace_t[k + 1] - dt."""
    x = rec.traces[pop][var][:, 0]
    return rec.trace_t_ms[pop][1:] - DT_MS, C * np.diff(x) / DT_MS


# ---- levels ---------------------------------------------------------------------------------

def test_pulse_shapes_are_analytic():
    """square: A on [onset, onset + duration); exponential: A exp(-s/tau) cut at duration;
    alpha: A (s/tau) exp(1 - s/tau), peaking at A when s = tau, integral A tau e."""
    s = np.linspace(-10.0, 300.0, 3101)
    sq = pulse_shape(Pulse(onset_ms=0.0, amplitude=2.0, shape="square", duration_ms=50.0), s)
    np.testing.assert_array_equal(sq, np.where((s >= 0) & (s < 50.0), 2.0, 0.0))
    ex = pulse_shape(Pulse(amplitude=1.5, shape="exponential", tau_ms=20.0, duration_ms=100.0), s)
    np.testing.assert_allclose(ex, np.where((s >= 0) & (s < 100.0), 1.5 * np.exp(-np.clip(s, 0, None) / 20.0), 0.0),
                               rtol=1e-15, atol=0)
    al = pulse_shape(Pulse(amplitude=0.8, shape="alpha", tau_ms=30.0), s)
    x = np.clip(s, 0, None) / 30.0
    np.testing.assert_allclose(al, np.where(s >= 0, 0.8 * x * np.exp(1 - x), 0.0), rtol=1e-15, atol=0)
    assert s[np.argmax(al)] == pytest.approx(30.0, abs=0.1) and al.max() == pytest.approx(0.8, rel=1e-6)
    fine = np.linspace(0.0, 3000.0, 300001)
    a = pulse_shape(Pulse(amplitude=0.8, shape="alpha", tau_ms=30.0), fine)
    assert np.trapezoid(a, fine) == pytest.approx(0.8 * 30.0 * math.e, rel=1e-4)


def test_modulator_level_is_tonic_plus_pulses_plus_triggered():
    """level(t) = tonic + sum of scheduled pulses + triggered pulses at their onsets."""
    trig_pulse = Pulse(amplitude=0.5, shape="square", duration_ms=10.0)
    m = Modulator("NA", tonic=0.3,
                  pulses=(Pulse(onset_ms=10.0, amplitude=1.0, shape="square", duration_ms=20.0),
                          Pulse(onset_ms=20.0, amplitude=2.0, shape="exponential", tau_ms=5.0)),
                  trigger=Trigger(signal="series", series=(0.0, 1.0), pulse=trig_pulse))
    t = np.arange(0.0, 100.0, 0.5)
    want = (0.3 + np.where((t >= 10) & (t < 30), 1.0, 0.0)
            + np.where(t >= 20, 2.0 * np.exp(-np.clip(t - 20, 0, None) / 5.0), 0.0)
            + np.where((t >= 60) & (t < 70), 0.5, 0.0))
    np.testing.assert_allclose(m.level(t, triggered_onsets=[60.0]), want, rtol=1e-15)
    np.testing.assert_allclose(m.level(t), want - np.where((t >= 60) & (t < 70), 0.5, 0.0), rtol=1e-15)


def test_recorded_levels_equal_the_analytic_shape():
    """Recording.modulators[NAME] samples level() every modulators_interval_ms."""
    mods = {"NA": {"tonic": 0.1, "pulses": [{"onset_ms": 20.0, "amplitude": 1.0, "shape": "alpha", "tau_ms": 15.0}],
                   "targets": {"cell": {"soma_drive_pA": 1.0}}}}
    spec, rec = integrator(mods, 120.0)
    np.testing.assert_allclose(rec.modulator_t_ms, np.arange(0.0, 120.0, 1.0))
    np.testing.assert_allclose(rec.modulators["NA"], spec.modulators["NA"].level(rec.modulator_t_ms), rtol=1e-15)
    assert rec.metadata["modulator_onsets_ms"] == {"NA": [20.0]}


# ---- pulses reach their target with the right shape and timing -----------------------------

@pytest.mark.parametrize("shape", ["square", "exponential", "alpha"])
def test_soma_drive_pulse_shape_and_timing(shape):
    """A pulse on soma_drive_pA (gain 10 pA per unit, amplitude 2, onset 50 ms, 100 ms long,
    tau 20 ms) injects exactly 10 x level(t) pA in the step starting at t: zero before 50 ms,
    the pulse's shape during it, zero after 150 ms."""
    gain, onset, dur = 10.0, 50.0, 100.0
    mods = {"ACh": {"pulses": [{"onset_ms": onset, "amplitude": 2.0, "shape": shape, "duration_ms": dur,
                                "tau_ms": 20.0}],
                    "targets": {"cell": {"soma_drive_pA": gain}}}}
    spec, rec = integrator(mods, 200.0)
    t, I = injected_current(rec)
    want = gain * spec.modulators["ACh"].level(t)
    np.testing.assert_allclose(I, want, atol=I_ATOL_PA)
    assert np.all(I[t < onset - 1e-9] == 0.0)
    assert np.all(np.abs(I[t > onset + dur + 1e-9]) < I_ATOL_PA)
    # the first driven step is the one starting at the onset (the alpha pulse is 0 at s = 0:
    # its first nonzero step starts one dt later)
    first = t[np.flatnonzero(np.abs(I) > 1e-6)[0]]
    assert first == pytest.approx(onset + (DT_MS if shape == "alpha" else 0.0), abs=1e-9)
    # no spike: the integrator stays below vpeak
    assert rec.spike_t_ms.size == 0


def test_dendritic_drive_target_reaches_the_dendrite():
    """ACh with the coupling preset drives the apical dendrite by 200 pA per unit level: an
    L5 dendrite made a perfect integrator (g_L = g_Ca = b_d = 0, kappa 0) integrates exactly
    200 x level(t) pA (an alpha pulse, tau 10 ms, onset 30 ms)."""
    spec = from_dict({
        "circuit": {"name": "dend", "dt_ms": DT_MS},
        "populations": {"pyr": {"model": "l5_pyramidal", "n": 1,
                                "params": {"kappa": 0.0, "gL_nS": 0.0, "gCa_pA": 0.0, "bd_nS": 0.0}}},
        "modulators": {"ACh": {"preset": "coupling",
                               "pulses": [{"onset_ms": 30.0, "amplitude": 1.0, "shape": "alpha", "tau_ms": 10.0}]}},
        "recording": {"traces": {"pyr": {"neurons": [0], "variables": ["vd"], "interval_ms": DT_MS}}}})
    rec = l5sim.simulate(l5sim.build(spec, 0), 100.0)
    t, I = injected_current(rec, "pyr", "vd", C=170.0)       # C_d 170 pF (LVPA)
    np.testing.assert_allclose(I, 200.0 * spec.modulators["ACh"].level(t), atol=1e-6)
    assert I.max() == pytest.approx(200.0, rel=1e-3)      # alpha peak: amplitude 1 x 200 pA


def test_gca_target_scales_the_dendritic_calcium_current():
    """gCa_pA is additive on g_Ca: a dendrite with g_L = b_d = 0, g_Ca = 0 and kappa 0 obeys
    C_d dv_d/dt = (gain x level) F(v_d), F(v) = 1 / (1 + exp((-38 - v) / 6)); dividing each
    step's current by F(v_d) at the step's start recovers gain x level (3000 pA per unit,
    exponential pulse, tau 20 ms, onset 10 ms; F(-70 mV) is only 0.005, hence the large gain)."""
    spec = from_dict({
        "circuit": {"name": "gca", "dt_ms": DT_MS},
        "populations": {"pyr": {"model": "l5_pyramidal", "n": 1,
                                "params": {"kappa": 0.0, "gL_nS": 0.0, "gCa_pA": 0.0, "bd_nS": 0.0}}},
        "modulators": {"ACh": {"pulses": [{"onset_ms": 10.0, "amplitude": 1.0, "shape": "exponential",
                                           "tau_ms": 20.0}],
                               "targets": {"pyr": {"gCa_pA": 3000.0}}}},
        "recording": {"traces": {"pyr": {"neurons": [0], "variables": ["vd"], "interval_ms": DT_MS}}}})
    rec = l5sim.simulate(l5sim.build(spec, 0), 80.0)
    t, I = injected_current(rec, "pyr", "vd", C=170.0)
    vd_start = rec.traces["pyr"]["vd"][:-1, 0]          # v_d at the start of each of those steps
    F = 1.0 / (1.0 + np.exp((-38.0 - vd_start) / 6.0))
    np.testing.assert_allclose(I / F, 3000.0 * spec.modulators["ACh"].level(t), atol=1e-6)
    assert rec.traces["pyr"]["vd"][-1, 0] > -69.0        # the dendrite did depolarise (measured -68.1)


def _plateau_cell(kappa, mods):
    """L5 cell, deterministic gate, dendrite held in a plateau by 1500 pA (DC threshold ~650
    pA), soma silent: the burst trace is the effective gate while v_d >= -30 mV."""
    return from_dict({
        "circuit": {"name": "gate", "dt_ms": DT_MS},
        "populations": {"pyr": {"model": "l5_pyramidal", "n": 1, "params": {"kappa": kappa, "gate": "deterministic"}}},
        "inputs": {"dend": {"kind": "current", "population": "pyr", "compartment": "dendrite", "amplitude_pA": 1500.0}},
        "modulators": mods,
        "recording": {"traces": {"pyr": {"neurons": [0], "variables": ["kappa", "burst", "vd"],
                                         "interval_ms": DT_MS}}}})


@pytest.mark.parametrize("kappa0,amp,want_in", [(0.2, 1.0, 0.7), (0.8, 1.0, 1.0), (0.3, -2.0, 0.0)])
def test_kappa_pulse_sets_the_effective_gate(kappa0, amp, want_in):
    """NA (coupling preset: kappa +0.5 per unit) square pulse from 100 to 200 ms: the
    effective gate is clip(kappa + 0.5 level, 0, 1) during the pulse and kappa outside, with
    the step starting at 100.0 ms the first one modulated (sample stamped 100.1 ms)."""
    mods = {"NA": {"preset": "coupling",
                   "pulses": [{"onset_ms": 100.0, "amplitude": amp, "shape": "square", "duration_ms": 100.0}]}}
    rec = l5sim.simulate(l5sim.build(_plateau_cell(kappa0, mods), 0), 300.0)
    ts = rec.trace_t_ms["pyr"]
    tr = rec.traces["pyr"]
    assert np.all(tr["vd"][ts > 20.0, 0] >= -30.0)       # plateau held throughout
    t_step = ts - DT_MS
    inside = (t_step >= 100.0 - 1e-9) & (t_step < 200.0 - 1e-9)
    settled = t_step > 20.0
    np.testing.assert_allclose(tr["burst"][inside, 0], want_in, atol=1e-12)
    np.testing.assert_allclose(tr["burst"][settled & ~inside, 0], kappa0, atol=1e-12)


def test_kappa_trace_shows_the_modulated_gate():
    """The ``kappa`` trace of an L5 cell with fixed kappa 0.2 and an NA pulse on kappa
    (+0.5 x level 1) reads 0.7 during the pulse."""
    mods = {"NA": {"preset": "coupling",
                   "pulses": [{"onset_ms": 100.0, "amplitude": 1.0, "shape": "square", "duration_ms": 100.0}]}}
    rec = l5sim.simulate(l5sim.build(_plateau_cell(0.2, mods), 0), 300.0)
    t_step = rec.trace_t_ms["pyr"] - DT_MS
    inside = (t_step >= 100.0 - 1e-9) & (t_step < 200.0 - 1e-9)
    np.testing.assert_allclose(rec.traces["pyr"]["kappa"][inside, 0], 0.7, atol=1e-12)


def test_bap_trace_shows_the_gated_current():
    """Deterministic gate, kappa 0.2 + NA pulse (coupling preset, level 1: kappa 0.7): the
    ``I_bap`` trace during bAP windows reads 0.2 x 2600 = 520 pA before the pulse and
    0.7 x 2600 = 1820 pA during it."""
    spec = from_dict({
        "circuit": {"name": "bap", "dt_ms": DT_MS},
        "populations": {"pyr": {"model": "l5_pyramidal", "n": 1, "params": {"kappa": 0.2, "gate": "deterministic"}}},
        "inputs": {"soma": {"kind": "current", "population": "pyr", "amplitude_pA": 1200.0}},
        "modulators": {"NA": {"preset": "coupling", "pulses": [{"onset_ms": 100.0, "amplitude": 1.0,
                                                                "shape": "square", "duration_ms": 100.0}]}},
        "recording": {"traces": {"pyr": {"neurons": [0], "variables": ["I_bap"], "interval_ms": DT_MS}}}})
    rec = l5sim.simulate(l5sim.build(spec, 0), 200.0)
    ib = rec.traces["pyr"]["I_bap"][:, 0]
    t_step = rec.trace_t_ms["pyr"] - DT_MS
    on = ib > 0
    assert on[t_step < 100.0].any() and on[t_step >= 100.0].any()
    np.testing.assert_allclose(ib[on & (t_step < 99.0)], 0.2 * 2600.0)
    np.testing.assert_allclose(ib[on & (t_step >= 100.0)], 0.7 * 2600.0)


def test_reset_preset_shifts_the_somatic_reset():
    """Reset hypothesis: NA at level 0.5 gives c = -65 + 30 x 0.5 = -50 mV and d = 250 - 12 x
    0.5 = 244 pA. The voltage right after each spike equals c exactly (kappa 0: no burst
    reset); u jumps by d plus one step of du/dt (a dt |b(v - vr) - u| < 1 pA)."""
    spec = from_dict({
        "circuit": {"name": "reset", "dt_ms": DT_MS},
        "populations": {"pyr": {"model": "l5_pyramidal", "n": 1, "params": {"kappa": 0.0}}},
        "inputs": {"soma": {"kind": "current", "population": "pyr", "amplitude_pA": 800.0}},
        "modulators": {"NA": {"preset": "reset", "pulses": [{"onset_ms": 300.0, "amplitude": 0.5, "shape": "square",
                                                             "duration_ms": 300.0}]}},
        "recording": {"traces": {"pyr": {"neurons": [0], "variables": ["v", "u"], "interval_ms": DT_MS}}}})
    rec = l5sim.simulate(l5sim.build(spec, 0), 900.0)
    v, u = rec.traces["pyr"]["v"][:, 0], rec.traces["pyr"]["u"][:, 0]
    steps = np.round(rec.spike_t_ms / DT_MS).astype(int)
    during = (rec.spike_t_ms >= 300.0) & (rec.spike_t_ms < 600.0)
    assert during.sum() >= 3 and (~during).sum() >= 3
    np.testing.assert_allclose(v[steps[during]], -50.0, atol=1e-12)
    np.testing.assert_allclose(v[steps[~during]], -65.0, atol=1e-12)
    jump = u[steps] - u[steps - 1]
    np.testing.assert_allclose(jump[during], 244.0, atol=1.0)
    np.testing.assert_allclose(jump[~during], 250.0, atol=1.0)
    assert rec.spike_burst.sum() == 0


@pytest.mark.parametrize("gain", [2.0, -0.5, -3.0])
def test_pathway_gain_scales_synaptic_output_during_the_pulse(gain):
    """pathway_gain multiplies a pathway's output by max(0, 1 + gain x level). A generator
    sends 50 pA current pulses (one step each, delay 1 step) into the integrator at 20, 60,
    100 and 140 ms; a square pulse of level 1 covers 50-120 ms, so the 60 and 100 ms spikes
    deliver 50 max(0, 1 + gain) pA and the others 50 pA."""
    spec = from_dict({
        "circuit": {"name": "pg", "dt_ms": DT_MS},
        "populations": {"cell": {"model": "izhikevich2007", "n": 1, "preset": "RS",
                                 "params": {"k": 0.0, "a_per_ms": 0.0, "b_nS": 0.0, "C_pF": C_PF}},
                        "gen": {"model": "generator", "n": 1, "spike_times_ms": [[20.0, 60.0, 100.0, 140.0]]}},
        "pathways": {"syn": {"pre": "gen", "post": "cell", "receptors": {"CURRENT": 1.0},
                             "connectivity": {"rule": "all_to_all", "weight": 50.0}}},
        "modulators": {"NA": {"pulses": [{"onset_ms": 50.0, "amplitude": 1.0, "shape": "square", "duration_ms": 70.0}],
                              "targets": {"pathway_gain": {"syn": gain}}}},
        "recording": {"traces": {"cell": {"neurons": [0], "variables": ["v"], "interval_ms": DT_MS}}}})
    rec = l5sim.simulate(l5sim.build(spec, 0), 200.0)
    t, I = injected_current(rec)
    factor = max(0.0, 1.0 + gain)
    want = {20.1: 50.0, 60.1: 50.0 * factor, 100.1: 50.0 * factor, 140.1: 50.0}   # arrival one step later
    for tt, amp in want.items():
        k = int(np.argmin(np.abs(t - tt)))
        assert I[k] == pytest.approx(amp, abs=1e-6)
    others = np.ones(t.size, bool)
    for tt in want:
        others[int(np.argmin(np.abs(t - tt)))] = False
    np.testing.assert_allclose(I[others], 0.0, atol=1e-6)


# ---- zero amplitude / zero gain changes nothing ---------------------------------------------

def _l5_noisy(mods=None):
    over = {"inputs.dend_step.amplitude_pA": 600.0, "inputs.soma_step.amplitude_pA": 1200.0,
            "populations.pyr.params.kappa": 0.6, "inputs.som_inh.weight": 0.2}
    spec = load_circuit(CIRCUITS / "l5_cell.toml", overrides=over)
    if mods:
        spec = spec.with_overrides({f"modulators.{k}": v for k, v in mods.items()})
    return spec


@pytest.mark.parametrize("mods", [
    {"NA": {"preset": "coupling", "pulses": [{"onset_ms": 100.0, "amplitude": 0.0, "shape": "alpha"}]}},
    {"NA": {"tonic": 1.0, "pulses": [{"onset_ms": 100.0, "amplitude": 3.0, "shape": "square"}],
            "targets": {"pyr": {"kappa": 0.0, "c_mV": 0.0, "d_pA": 0.0, "gCa_pA": 0.0, "dend_drive_pA": 0.0,
                                "soma_drive_pA": 0.0}}}},
    {"ACh": {"preset": "reset", "tonic": 0.0}},
], ids=["zero_amplitude", "zero_gain", "zero_level"])
@pytest.mark.parametrize("seed", [0, 1])
def test_null_modulation_is_bitwise_neutral(mods, seed):
    """A noisy, bursting L5 cell (per-spike gate kappa 0.6, dendritic drive, SOM Poisson
    inhibition): with a modulator of zero amplitude, zero gains or zero level, spikes and
    traces are identical, bit for bit, to the run without a modulator."""
    base = l5sim.simulate(l5sim.build(_l5_noisy(), seed), 600.0, seed=seed)
    mod = l5sim.simulate(l5sim.build(_l5_noisy(mods), seed), 600.0, seed=seed)
    assert base.spike_t_ms.size >= 10 and base.spike_burst.sum() >= 2    # measured 13-15 spikes, 2-5 burst
    np.testing.assert_array_equal(mod.spike_i, base.spike_i)
    np.testing.assert_array_equal(mod.spike_t_ms, base.spike_t_ms)
    np.testing.assert_array_equal(mod.spike_burst, base.spike_burst)
    for var, x in base.traces["pyr"].items():
        np.testing.assert_array_equal(mod.traces["pyr"][var], x)


def test_nonzero_modulation_changes_the_run():
    """Control for the test above: the same NA pulse with amplitude 1 (kappa 0.6 -> up to 1)
    changes the spikes and adds burst-reset spikes. Ten cells, so that the count is not one
    cell's luck: with the per-spike gate a spike in a plateau resets in burst mode with
    probability kappa, so opening the gate from 0.6 towards 1 should add about (1 / 0.6 - 1)
    = 67 % burst resets at the peak of the pulse, fewer on average over the run."""
    mods = {"NA": {"preset": "coupling", "pulses": [{"onset_ms": 100.0, "amplitude": 1.0, "shape": "alpha"}]}}
    ten = {"populations.pyr.n": 10}
    for seed in (0, 1):
        base = l5sim.simulate(l5sim.build(_l5_noisy().with_overrides(ten), seed), 600.0, seed=seed)
        mod = l5sim.simulate(l5sim.build(_l5_noisy(mods).with_overrides(ten), seed), 600.0, seed=seed)
        assert not np.array_equal(mod.spike_t_ms, base.spike_t_ms)
        assert mod.spike_burst.sum() > base.spike_burst.sum()


# ---- presets --------------------------------------------------------------------------------

def _preset_spec(preset, name):
    return from_dict({
        "circuit": {"name": "presets", "dt_ms": DT_MS},
        "populations": {"pyr": {"model": "l5_pyramidal", "n": 2}, "pyr2": {"model": "l5_pyramidal", "n": 1},
                        "pv": {"model": "izhikevich2007", "n": 2, "preset": "PV"},
                        "som": {"model": "izhikevich2007", "n": 2, "preset": "SOM"},
                        "rs": {"model": "izhikevich2007", "n": 2, "preset": "RS"},
                        "src": {"model": "poisson", "n": 2, "rate_hz": 5.0}},
        "modulators": {name: {"preset": preset}}})


@pytest.mark.parametrize("preset,name,want", [
    ("coupling", "NA", {("pop", "pyr", "kappa", 0.5), ("pop", "pyr2", "kappa", 0.5)}),
    ("coupling", "ACh", {("pop", "pyr", "dend_drive_pA", 200.0), ("pop", "pyr2", "dend_drive_pA", 200.0),
                         ("pop", "pv", "soma_drive_pA", 50.0), ("pop", "som", "soma_drive_pA", 50.0)}),
    ("reset", "NA", {("pop", "pyr", "c_mV", 30.0), ("pop", "pyr", "d_pA", -12.0),
                     ("pop", "pyr2", "c_mV", 30.0), ("pop", "pyr2", "d_pA", -12.0)}),
    ("reset", "ACh", {("pop", "pyr", "c_mV", -30.0), ("pop", "pyr", "d_pA", 12.0),
                      ("pop", "pyr2", "c_mV", -30.0), ("pop", "pyr2", "d_pA", 12.0)}),
])
def test_presets_expand_to_documented_targets(preset, name, want):
    """Documented in neuromodulation.py: coupling NA -> kappa +0.5 on every L5 population;
    coupling ACh -> dendritic drive +200 pA on L5 and +50 pA into PV/SOM somata (not RS cells,
    not Poisson sources); reset NA -> c +30 mV, d -12 pA; reset ACh the opposite."""
    assert set(_preset_spec(preset, name).modulators[name].targets) == want


def test_user_target_replaces_preset_entry():
    """A user entry for the same population and target replaces the preset's gain."""
    spec = _preset_spec("coupling", "NA").with_overrides({"modulators.NA.targets": {"pyr": {"kappa": 0.1}}})
    assert set(spec.modulators["NA"].targets) == {("pop", "pyr", "kappa", 0.1), ("pop", "pyr2", "kappa", 0.5)}


def test_coupling_preset_on_interneurons_acts_through_soma_drive():
    """ACh (coupling) drives a PV cell by 50 pA per unit level: with k = a = b = 0 the PV
    cell integrates exactly 50 x level(t) pA (exponential pulse, tau 20 ms)."""
    mods = {"ACh": {"preset": "coupling",
                    "pulses": [{"onset_ms": 20.0, "amplitude": 1.0, "shape": "exponential", "tau_ms": 20.0}]}}
    spec = from_dict({
        "circuit": {"name": "pv", "dt_ms": DT_MS},
        "populations": {"pv": {"model": "izhikevich2007", "n": 1, "preset": "PV",
                               "params": {"k": 0.0, "a_per_ms": 0.0, "b_nS": 0.0}}},
        "modulators": mods,
        "recording": {"traces": {"pv": {"neurons": [0], "variables": ["v"], "interval_ms": DT_MS}}}})
    rec = l5sim.simulate(l5sim.build(spec, 0), 60.0)
    C = 20.0   # Izhikevich & Edelman 2008 basket cell (PV preset)
    t, I = injected_current(rec, "pv", "v", C=C)
    np.testing.assert_allclose(I, 50.0 * spec.modulators["ACh"].level(t), atol=1e-6)
    assert I.max() == pytest.approx(50.0, rel=1e-9)


# ---- triggers -------------------------------------------------------------------------------

def test_series_trigger_fires_at_upward_crossings():
    """An external series sampled every 10 ms crosses 0.5 upward at 30, 70 and 120 ms; the
    70 ms crossing falls inside the 60 ms refractory period after the first and is dropped.
    Square pulses of 10 ms start at 30 and 120 ms and reach the target (20 pA per unit) then."""
    series = [0, 0, 0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 1, 1, 0, 0]      # crossings at k = 3, 7, 12
    mods = {"NA": {"trigger": {"signal": "series", "series": series, "series_dt_ms": 10.0, "threshold": 0.5,
                               "refractory_ms": 60.0,
                               "pulse": {"amplitude": 1.0, "shape": "square", "duration_ms": 10.0}},
                   "targets": {"cell": {"soma_drive_pA": 20.0}}}}
    spec, rec = integrator(mods, 200.0)
    assert rec.metadata["modulator_onsets_ms"]["NA"] == [30.0, 120.0]
    t, I = injected_current(rec)
    on = ((t >= 30.0 - 1e-9) & (t < 40.0 - 1e-9)) | ((t >= 120.0 - 1e-9) & (t < 130.0 - 1e-9))
    np.testing.assert_allclose(I[on], 20.0, atol=I_ATOL_PA)
    np.testing.assert_allclose(I[~on], 0.0, atol=I_ATOL_PA)
    lv = rec.modulators["NA"]
    tm = rec.modulator_t_ms
    np.testing.assert_array_equal(lv, np.where(((tm >= 30) & (tm < 40)) | ((tm >= 120) & (tm < 130)), 1.0, 0.0))


def _surprise_spec(step_pA, threshold=4.0):
    """50 noisy RS cells firing ~13 Hz; a step of ``step_pA`` at 1500 ms doubles the rate
    (60 pA -> ~27 Hz)."""
    return from_dict({
        "circuit": {"name": "surprise", "dt_ms": DT_MS},
        "populations": {"cell": {"model": "izhikevich2007", "n": 50, "preset": "RS"}},
        "inputs": {"base": {"kind": "current", "population": "cell", "amplitude_pA": 100.0},
                   "noise": {"kind": "noise", "population": "cell", "sigma_pA": 200.0},
                   "step": {"kind": "current", "population": "cell", "amplitude_pA": step_pA, "start_ms": 1500.0}},
        "modulators": {"NA": {"trigger": {"signal": "rate_surprise", "population": "cell", "window_ms": 50.0,
                                          "check_ms": 10.0, "threshold": threshold, "refractory_ms": 5000.0,
                                          "warmup_ms": 500.0,
                                          "pulse": {"amplitude": 1.0, "shape": "exponential", "tau_ms": 100.0}}}}})


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_rate_surprise_fires_on_a_rate_jump_only(seed):
    """Threshold |z| = 4. Steady firing (no step) gives no pulse in 2.5 s (measured: |z| of
    the 50 ms window rate stays below 2 after the 500 ms warm-up, seeds 0-3); a step that
    doubles the rate at 1500 ms fires exactly one pulse within one window plus one check
    (<= 60 ms) of the step (measured 30-50 ms), and the level then follows the pulse."""
    steady = l5sim.simulate(l5sim.build(_surprise_spec(0.0), seed), 2500.0, seed=seed)
    jump = l5sim.simulate(l5sim.build(_surprise_spec(60.0), seed), 2500.0, seed=seed)
    r = lambda rec, a, b: ((rec.spike_t_ms >= a) & (rec.spike_t_ms < b)).sum() / (50 * (b - a) * 1e-3)  # noqa: E731
    assert r(jump, 1600.0, 2500.0) > 1.7 * r(jump, 500.0, 1500.0)           # the jump is real
    assert steady.metadata["modulator_onsets_ms"]["NA"] == []
    assert np.all(steady.modulators["NA"] == 0.0)
    onsets = jump.metadata["modulator_onsets_ms"]["NA"]
    assert len(onsets) == 1 and 1500.0 < onsets[0] <= 1560.0
    t = jump.modulator_t_ms
    np.testing.assert_allclose(jump.modulators["NA"], np.where(t >= onsets[0], np.exp(-(t - onsets[0]) / 100.0), 0.0),
                               rtol=1e-12)
    # bit-identical spikes up to the onset: the trigger changes nothing it has no target for
    np.testing.assert_array_equal(steady.spike_t_ms[steady.spike_t_ms < 1500.0],
                                  jump.spike_t_ms[jump.spike_t_ms < 1500.0])


# ---- validation -----------------------------------------------------------------------------

def _base_mod_circuit():
    return {
        "circuit": {"name": "v", "dt_ms": DT_MS},
        "populations": {"pyr": {"model": "l5_pyramidal", "n": 1}, "cell": {"model": "izhikevich2007", "n": 1},
                        "src": {"model": "poisson", "n": 1, "rate_hz": 1.0},
                        "gen": {"model": "generator", "n": 1, "spike_times_ms": [[1.0]]}},
        "pathways": {"pw": {"pre": "gen", "post": "cell", "plasticity": "r",
                            "connectivity": {"rule": "all_to_all", "weight": 1.0}}},
        "plasticity": {"r": {}},
    }


BAD_MODULATORS = [
    ({"NA": {"tonic": "high"}}, "modulators.NA.tonic"),
    ({"NA": {"tonic": float("nan")}}, "modulators.NA.tonic"),
    ({"NA": {"colour": 1}}, "modulators.NA.colour"),
    ({"NA": {"pulses": {"onset_ms": 1.0}}}, "modulators.NA.pulses"),
    ({"NA": {"pulses": [{"onset_ms": 1.0}, {"shape": "triangle"}]}}, "modulators.NA.pulses[1].shape"),
    ({"NA": {"pulses": [{"tau_ms": 0.0}]}}, "modulators.NA.pulses[0].tau_ms"),
    ({"NA": {"pulses": [{"duration_ms": -1.0}]}}, "modulators.NA.pulses[0].duration_ms"),
    ({"NA": {"pulses": [{"onset_ms": -5.0}]}}, "modulators.NA.pulses[0].onset_ms"),
    ({"NA": {"pulses": [{"width_ms": 5.0}]}}, "modulators.NA.pulses[0].width_ms"),
    ({"NA": {"preset": "dopamine"}}, "modulators.NA.preset"),
    ({"DA": {"preset": "coupling"}}, "modulators.DA.preset"),
    ({"NA": {"trigger": {"signal": "entropy", "population": "cell"}}}, "modulators.NA.trigger.signal"),
    ({"NA": {"trigger": {"signal": "rate_surprise", "population": "nobody"}}}, "modulators.NA.trigger.population"),
    ({"NA": {"trigger": {"signal": "rate_surprise"}}}, "modulators.NA.trigger.population"),
    ({"NA": {"trigger": {"signal": "series"}}}, "modulators.NA.trigger.series"),
    ({"NA": {"trigger": {"signal": "series", "series": []}}}, "modulators.NA.trigger.series"),
    ({"NA": {"trigger": {"signal": "series", "series": [0, "x"]}}}, "modulators.NA.trigger.series[1]"),
    ({"NA": {"trigger": {"population": "cell", "check_ms": 100.0, "window_ms": 50.0}}},
     "modulators.NA.trigger.check_ms"),
    ({"NA": {"trigger": {"population": "cell", "window_ms": 0.0}}}, "modulators.NA.trigger.window_ms"),
    ({"NA": {"trigger": {"population": "cell", "pulse": {"shape": "box"}}}}, "modulators.NA.trigger.pulse.shape"),
    ({"NA": {"trigger": {"population": "cell", "threshold": "3"}}}, "modulators.NA.trigger.threshold"),
    ({"NA": {"trigger": {"population": "cell", "when": 3}}}, "modulators.NA.trigger.when"),
    ({"NA": {"targets": {"nobody": {"kappa": 1.0}}}}, "modulators.NA.targets.nobody"),
    ({"NA": {"targets": {"pyr": 1.0}}}, "modulators.NA.targets.pyr"),
    ({"NA": {"targets": {"pyr": {"vt_mV": 1.0}}}}, "modulators.NA.targets.pyr.vt_mV"),
    ({"NA": {"targets": {"pyr": {"kappa": "big"}}}}, "modulators.NA.targets.pyr.kappa"),
    ({"NA": {"targets": {"cell": {"kappa": 0.5}}}}, "modulators.NA.targets.cell.kappa"),
    ({"NA": {"targets": {"cell": {"dend_drive_pA": 0.5}}}}, "modulators.NA.targets.cell.dend_drive_pA"),
    ({"NA": {"targets": {"src": {"soma_drive_pA": 0.5}}}}, "modulators.NA.targets.src.soma_drive_pA"),
    ({"NA": {"targets": {"pathway_gain": {"nowhere": 0.5}}}}, "modulators.NA.targets.pathway_gain.nowhere"),
    ({"NA": {"targets": {"stdp_rate": {"norule": 0.5}}}}, "modulators.NA.targets.stdp_rate.norule"),
]


@pytest.mark.parametrize("mods,path", BAD_MODULATORS, ids=[p for _, p in BAD_MODULATORS])
def test_bad_modulator_tables_name_the_key_path(mods, path):
    data = _base_mod_circuit()
    data["modulators"] = mods
    with pytest.raises(SpecError) as err:
        from_dict(data)
    assert err.value.path == path
    assert str(err.value).startswith(f"{path}: got ")
    assert "expected" in str(err.value)


def test_good_modulator_table_validates():
    """Control: a table using every field validates and keeps its values."""
    data = _base_mod_circuit()
    data["modulators"] = {
        "NA": {"tonic": 0.1, "preset": "coupling", "source": "test",
               "pulses": [{"onset_ms": 5.0, "amplitude": 1.0, "shape": "alpha", "duration_ms": 50.0, "tau_ms": 5.0}],
               "trigger": {"signal": "rate_surprise", "population": "cell", "window_ms": 20.0, "check_ms": 5.0,
                           "threshold": 3.0, "refractory_ms": 100.0, "warmup_ms": 50.0,
                           "pulse": {"amplitude": 0.5, "shape": "square", "duration_ms": 10.0}},
               "targets": {"cell": {"soma_drive_pA": 5.0}, "pathway_gain": {"pw": 0.5}, "stdp_rate": {"r": 1.0}}}}
    m = from_dict(data).modulators["NA"]
    assert m.tonic == 0.1 and m.pulses[0].shape == "alpha" and m.trigger.window_ms == 20.0
    assert set(m.targets) == {("pop", "pyr", "kappa", 0.5), ("pop", "cell", "soma_drive_pA", 5.0),
                              ("pathway", "pw", "gain", 0.5), ("stdp", "r", "rate", 1.0)}
