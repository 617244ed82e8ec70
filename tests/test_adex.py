"""The AdEx unit (l5sim.kernels.adex) against a naive integrator written here, and its
published behaviour.

The naive integrator below is a plain-Python transcription of Brette & Gerstner (2005),
eqs. 1-2, with the step order documented in l5sim.kernels.engine (arrivals of step t are
read at step t, the synaptic conductance decays after the update) and the two schemes of
l5sim.kernels.adex. It shares no code with l5sim's kernel.
"""
import math

import numpy as np
import pytest

import l5sim
from l5sim.models.adex import PRESETS_ADEX

DT = 0.1
DURATION_MS = 300.0
# Python floats and the kernel both round each IEEE operation (no FMA, no reassociation:
# l5sim/_numba_config.py) and call the same libm exp, so they agree to the last bit; the
# bound leaves room for a libm difference only. A wrong term shows at 1e-3 mV in a step.
TRACE_ATOL = 1e-9
AMPA_TAU_MS = 6.0      # l5sim.models.synapses.RECEPTORS (Whyte et al. 2025)
AMPA_E_MV = 0.0

TOML = """
[circuit]
name = "adex_test"
dt_ms = 0.1

[populations.cell]
model = "adex"
n = 3
preset = "BG2005"
integration = "{scheme}"

[populations.src]
model = "generator"
n = 1
spike_times_ms = [[{spikes}]]

[pathways.src_cell]
pre = "src"
post = "cell"
receptors = {{ AMPA = 1.0 }}
connectivity = {{ rule = "all_to_all", weight = {w_nS} }}
delay_steps = 5

[inputs.step]
kind = "current"
population = "cell"
amplitude_pA = {amp}
start_ms = 50.0
profile = "neurons"
neurons = [1, 2]

[recording.traces.cell]
neurons = [0, 1, 2]
variables = ["v", "u", "g_AMPA"]
interval_ms = 0.1
"""


def naive_adex(p, scheme, I_of_step, arrivals, n_steps):
    """(spike steps, v, w, g) of one cell: ``I_of_step(t)`` (pA) injected at step t,
    ``arrivals[t]`` AMPA conductance (nS) arriving at step t."""
    v, w, g = p.EL_mV, 0.0, 0.0
    decay = math.exp(-DT / AMPA_TAU_MS)
    spikes, vs, ws, gs = [], [], [], []
    for t in range(n_steps):
        g += arrivals.get(t, 0.0)
        gt, gE = (g, g * AMPA_E_MV) if g != 0.0 else (0.0, 0.0)
        drive = -p.gL_nS * (v - p.EL_mV) + p.gL_nS * p.DeltaT_mV * math.exp((v - p.VT_mV) / p.DeltaT_mV) - w \
            + I_of_step(t)
        if scheme == "semi_implicit":
            vn = (v + (DT / p.C_pF) * (drive + gE)) / (1.0 + DT * gt / p.C_pF)
        else:
            vn = v + (DT / p.C_pF) * (drive + gE - gt * v)
        w = w + (DT / p.tau_w_ms) * (p.a_nS * (v - p.EL_mV) - w)
        if vn >= p.vpeak_mV:
            vn, w = p.Vr_mV, w + p.b_pA
            spikes.append(t)
        v = vn
        g *= decay
        vs.append(v)
        ws.append(w)
        gs.append(g)
    return spikes, np.array(vs), np.array(ws), np.array(gs)


def _run(tmp_path, scheme, amp, seed, w_nS=3.0):
    rng = np.random.default_rng(seed)
    times = np.sort(rng.choice(np.arange(20.0, 280.0, 1.0), size=12, replace=False))
    path = tmp_path / f"adex_{scheme}_{seed}.toml"
    path.write_text(TOML.format(scheme=scheme, spikes=", ".join(f"{x:.1f}" for x in times), w_nS=w_nS, amp=amp))
    built = l5sim.build(l5sim.load_circuit(path), seed=seed)
    rec = l5sim.simulate(built, DURATION_MS, seed=seed, progress=False)
    arrivals = {}
    for tm in times:
        t = int(round(tm / DT)) + 5
        arrivals[t] = arrivals.get(t, 0.0) + w_nS
    return rec, arrivals


@pytest.mark.parametrize("scheme", ["semi_implicit", "euler"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_adex_kernel_matches_naive_integrator(tmp_path, scheme, seed):
    amp = 900.0
    rec, arrivals = _run(tmp_path, scheme, amp, seed)
    p = PRESETS_ADEX["BG2005"]
    n_steps = int(round(DURATION_MS / DT))
    t_on = int(round(50.0 / DT))
    lo = rec.pop_start[rec.pop_names.index("cell")]
    tr = rec.traces["cell"]
    total = 0
    for k in range(3):
        I_of = (lambda t: amp if t >= t_on else 0.0) if k > 0 else (lambda t: 0.0)
        spikes, v, w, g = naive_adex(p, scheme, I_of, arrivals, n_steps)
        got = np.round(rec.spike_t_ms[rec.spike_i == lo + k] / DT).astype(int)
        assert list(got) == spikes, f"neuron {k}, {scheme}, seed {seed}: kernel {list(got)} vs naive {spikes}"
        for name, ref in (("v", v), ("u", w), ("g_AMPA", g)):
            err = np.max(np.abs(tr[name][:, k] - ref))
            assert err <= TRACE_ATOL, f"{name} of neuron {k}, {scheme}, seed {seed}: max |kernel - naive| {err:.3g}"
        total += len(spikes)
    # the case is not silent: the driven cells fire, and the synaptic input arrived
    assert total >= 4, f"only {total} spikes in {scheme}, seed {seed}"
    assert np.max(tr["g_AMPA"][:, 0]) >= 3.0 * math.exp(-DT / AMPA_TAU_MS) - 1e-12


def test_adex_regular_spiking_adapts_and_has_a_rheobase(tmp_path):
    """Brette & Gerstner (2005) fitted a regular-spiking (adapting) cell: under a step
    above rheobase the ISIs lengthen; below rheobase it stays silent. Rheobase, from the
    steady-state current I(V) = (gL + a)(V - EL) - gL DeltaT exp((V - VT) / DeltaT): its
    maximum, at exp((V* - VT) / DeltaT) = (gL + a) / gL, is
    (gL + a)(VT - EL + DeltaT ln(1 + a / gL) - DeltaT) = 34 x 18.45 = 627 pA; 500 pA lies
    below it, 900 pA above."""
    for seed in (1, 2):
        rec_lo, _ = _run(tmp_path, "semi_implicit", 500.0, seed, w_nS=0.0)
        rec_hi, _ = _run(tmp_path, "semi_implicit", 900.0, seed, w_nS=0.0)
        lo = rec_lo.pop_start[rec_lo.pop_names.index("cell")]
        n_lo = int(np.sum((rec_lo.spike_i >= lo) & (rec_lo.spike_i < lo + 3)))   # not the generator's
        assert n_lo == 0, f"seed {seed}: {n_lo} spikes below rheobase"
        t = rec_hi.spike_t_ms[rec_hi.spike_i == lo + 1]
        isi = np.diff(t)
        assert isi.size >= 3, f"seed {seed}: {t.size} spikes at 900 pA"
        assert isi[-1] > 1.5 * isi[0], f"seed {seed}: ISIs {isi} do not lengthen (adaptation)"
