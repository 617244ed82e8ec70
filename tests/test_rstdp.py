"""Reward-modulated STDP (``dopamine = "DA"``; science.md section 9; ``l5sim/plasticity.py``).

Expected values come from the published rule, computed in this file, never from l5sim's
output: Izhikevich (2007, Cereb Cortex 17:2443, dastdp): the STDP window writes into an
eligibility sd (nearest-spike traces decaying 0.95 per ms, A+ 0.1, A- 0.15); every 10 ms
w <- clip(w + (0.002 + DA) sd, 0, 4) and sd <- 0.99 sd; DA may be negative.

Spike times are imposed (``generator`` populations, which ignore their input), so a
generator -> generator pathway isolates the rule from the neuron dynamics, as in
tests/test_stdp.py.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

import l5sim
from l5sim.errors import SpecError
from l5sim.plasticity import RSTDP_IZH2007, TAU_IZH2006_MS
from l5sim.spec import from_dict

DT_MS = 1.0                       # Izhikevich (2007) steps 1 ms
INTERVAL = 10                     # steps between eligibility updates (10 ms)
DECAY_C = 0.99                    # eligibility decay per update (tau_c = 995 ms)
BIAS = 0.002
A_PLUS, A_MINUS = 0.1, 0.15
TAU = TAU_IZH2006_MS
W0 = 1.0
# Weights are float32 (ulp 2.4e-7 at w ~ 2-4); the reference below rounds to float32 at every
# update as the kernel does, so kernel and reference differ only by the float64 decay product
# of the traces (~1e-13 relative): 1e-5 is far above that and far below any asserted change.
W_ATOL = 1e-5


def circuit(pre_times, post_times, da_tonic=0.0, da_pulses=(), w0=W0, rule=None):
    rule = {**RSTDP_IZH2007, "dopamine": "DA", **(rule or {})}
    data = {
        "circuit": {"name": "rstdp", "dt_ms": DT_MS},
        "populations": {"pre": {"model": "generator", "n": len(pre_times), "spike_times_ms": pre_times},
                        "post": {"model": "generator", "n": len(post_times), "spike_times_ms": post_times}},
        "pathways": {"pp": {"pre": "pre", "post": "post", "plasticity": "r",
                            "connectivity": {"rule": "all_to_all", "weight": w0}}},
        "plasticity": {"r": rule},
        "modulators": {"DA": {"tonic": da_tonic, "pulses": [dict(p) for p in da_pulses]}},
        "recording": {"weights_interval_ms": 1e9},
    }
    return from_dict(data)


def run(spec, duration_ms):
    return l5sim.simulate(l5sim.build(spec, 0), duration_ms, seed=0, progress=False)


def da_level(t_ms, tonic, pulses):
    """Tonic level plus exponential pulses A exp(-(t - onset) / tau) from their onsets."""
    t = np.asarray(t_ms, float)
    out = np.full(t.shape, float(tonic))
    for p in pulses:
        s = t - p["onset_ms"]
        out += np.where(s >= 0, p["amplitude"] * np.exp(-np.clip(s, 0, None) / p["tau_ms"]), 0.0)
    return out


def reference(pre_times, post_times, n_steps, tonic=0.0, pulses=(), w0=W0):
    """The published rule on integer-ms spike trains (all-to-all wiring, rows = pre):
    eligibility increments per synapse, then the 10-ms updates, float32 weights.

    Nearest-spike traces: at a post spike the pre trace is exp(-(t_post - t_pre_last) /
    tau) over pre spikes at or before it (the kernel bumps pre traces before post spikes
    of the same step read them); at a pre spike the post trace counts post spikes strictly
    before it."""
    n_pre, n_post = len(pre_times), len(post_times)
    inc = [[{} for _ in range(n_post)] for _ in range(n_pre)]   # step -> increment
    for i, pre in enumerate(pre_times):
        pre = np.asarray(sorted(pre))
        for j, post in enumerate(post_times):
            post = np.asarray(sorted(post))
            d = inc[i][j]
            for tp in post:
                k = np.searchsorted(pre, tp, side="right")
                if k:
                    d[int(tp)] = d.get(int(tp), 0.0) + A_PLUS * math.exp(-(tp - pre[k - 1]) / TAU)
            for tq in pre:
                k = np.searchsorted(post, tq, side="left")
                if k:
                    d[int(tq)] = d.get(int(tq), 0.0) - A_MINUS * math.exp(-(tq - post[k - 1]) / TAU)
    # increments summed by the update that first sees them (update at the end of step u,
    # (u + 1) % 10 == 0, sees every spike of steps <= u)
    upd = np.arange(INTERVAL - 1, n_steps, INTERVAL)
    add = np.zeros((len(upd), n_pre * n_post))
    for i in range(n_pre):
        for j in range(n_post):
            for step, x in inc[i][j].items():
                u = np.searchsorted(upd, step, side="left")
                if u < len(upd):
                    add[u, i * n_post + j] += x
    g = BIAS + da_level(upd * DT_MS, tonic, pulses)
    w = np.full(n_pre * n_post, w0, np.float32)
    sd = np.zeros(n_pre * n_post)
    for u in range(len(upd)):
        sd += add[u]
        w = np.clip(w.astype(np.float64) + g[u] * sd, 0.0, 4.0).astype(np.float32)
        sd *= DECAY_C
    return w


def closed_form_pair(lag_ms, d, n_updates):
    """One pre -> post pairing (post ``lag_ms`` after pre, or before when negative) under a
    constant dopamine ``d``: sd0 (bias + d) sum_k 0.99^k over the updates that follow."""
    sd0 = A_PLUS * math.exp(-lag_ms / TAU) if lag_ms >= 0 else -A_MINUS * math.exp(lag_ms / TAU)
    return sd0 * (BIAS + d) * (1 - DECAY_C ** n_updates) / (1 - DECAY_C)


@pytest.mark.parametrize("d", [0.05, 0.0, -0.05])
@pytest.mark.parametrize("lag_ms", [5.0, -5.0])
def test_sign_and_size_under_constant_dopamine(d, lag_ms):
    """Pre at 20 ms, post at 20 + lag: the change is eligibility x (bias + d) summed over
    the decaying updates (closed form). Causal pairing with positive DA potentiates, with
    negative DA (an RPE below zero) depresses; anti-causal the reverse; DA 0 leaves only the
    0.002 bias (a change 26x smaller than at DA 0.05). Starting at 2, no change reaches a
    bound (the largest is ~0.35)."""
    t_pre, t_post = (20.0, 25.0) if lag_ms > 0 else (25.0, 20.0)
    dur = 2000.0
    rec = run(circuit([[t_pre]], [[t_post]], da_tonic=d, w0=2.0), dur)
    dw = float(rec.final_weights["pp"][0]) - 2.0
    # updates at the end of steps 29, 39, ..., 1999 see the pairing (the later spike at 25 ms)
    n_up = int(dur // INTERVAL) - 2
    expected = closed_form_pair(lag_ms, d, n_up)
    assert dw == pytest.approx(expected, abs=W_ATOL), (dw, expected)
    assert np.sign(dw) == np.sign(lag_ms) * np.sign(BIAS + d)


def test_delayed_dopamine_pulse_reinforces_the_eligible_synapse():
    """A DA pulse 1 s after a pairing (the distal reward): the change is the eligibility,
    decayed by 0.99 per 10 ms for 1 s (x0.37), times the integral of DA over the updates;
    an unpaired synapse of the same run changes by the bias alone (zero eligibility: 0)."""
    pulse = {"onset_ms": 1025.0, "amplitude": 0.5, "shape": "exponential", "tau_ms": 200.0}
    dur = 3000.0
    rec = run(circuit([[20.0], [500.0]], [[25.0]], da_pulses=[pulse]), dur)
    w = rec.final_weights["pp"].astype(np.float64)
    ref = reference([[20.0], [500.0]], [[25.0]], int(dur), pulses=[pulse])
    assert w == pytest.approx(ref, abs=W_ATOL)
    # the rewarded pairing gains about 0.5 x 20 updates x 0.078 x 0.37 ~ 0.3 (closed form of
    # the same sum, independent of the reference loop)
    upd = np.arange(INTERVAL - 1, int(dur), INTERVAL)
    seen = upd >= 25
    k = np.cumsum(seen) - 1
    sd = A_PLUS * math.exp(-5.0 / TAU) * DECAY_C ** k[seen]
    expected = float(np.sum((BIAS + da_level(upd[seen], 0.0, [pulse])) * sd))
    assert w[0] - W0 == pytest.approx(expected, rel=1e-4)
    assert w[0] - W0 > 0.2
    # the second pre neuron fired 475 ms after the post spike: depression -A- e^-23.4 ~ 0
    assert abs(w[1] - W0) < 1e-6


@pytest.mark.parametrize("seed", [1, 2])
def test_random_trains_and_rewards_match_the_reference(seed):
    """5 x 4 synapses, Poisson trains (8 Hz) and random rewards with negative and positive
    amplitudes over 20 s: every final weight equals the reference integrator's."""
    rng = np.random.default_rng(seed)
    dur = 20000

    def train(rate_hz):
        t = np.unique(rng.integers(0, dur, rng.poisson(rate_hz * dur / 1000)))
        return [float(x) for x in t]

    pre = [train(8.0) for _ in range(5)]
    post = [train(8.0) for _ in range(4)]
    pulses = [{"onset_ms": float(t), "amplitude": float(a), "shape": "exponential", "tau_ms": 200.0}
              for t, a in zip(rng.integers(0, dur, 15), rng.uniform(-0.6, 0.6, 15))]
    rec = run(circuit(pre, post, da_tonic=0.01, da_pulses=pulses), float(dur))
    ref = reference(pre, post, dur, tonic=0.01, pulses=pulses)
    w = rec.final_weights["pp"].astype(np.float64)
    assert np.abs(w - ref).max() < W_ATOL, np.abs(w - ref).max()
    assert np.abs(w - W0).max() > 0.05           # the run did learn something


def distal_reward(seed, contingent=True, n_pre=10, n_post=10, rate_hz=1.0, dur_s=3600):
    """Izhikevich (2007) distal-reward experiment in miniature, open loop: n_pre x n_post
    synapses (all-to-all), every cell a 1 Hz Poisson train for an hour. Whenever the
    designated synapse (pre 0 -> post 0) sees its post spike 1-10 ms after its pre spike
    (by chance), a reward (DA += 0.5, decaying with tau 200 ms as in dastdp) follows 1-3 s
    later. ``contingent=False`` delivers the same number of rewards at random times (the
    control: the same spikes, so the same eligibility, without the reward following it).
    Unlike the paper's network, the spikes do not depend on the weights (open loop), so the
    pairings do not become more frequent as the synapse grows."""
    rng = np.random.default_rng(seed)
    dur = dur_s * 1000

    def train():
        return np.unique(rng.integers(0, dur - 20, rng.poisson(rate_hz * dur_s)))

    pre = [train() for _ in range(n_pre)]
    post = [train() for _ in range(n_post)]
    pairs = [tp for tp in post[0] if np.any((tp - pre[0] >= 1) & (tp - pre[0] <= 10))]
    rewards = [tp + rng.uniform(1000, 3000) for tp in pairs]
    if not contingent:
        rewards = list(rng.uniform(0, dur, len(rewards)))
    pulses = [{"onset_ms": float(t), "amplitude": 0.5, "shape": "exponential", "tau_ms": 200.0}
              for t in sorted(rewards) if t < dur]
    spec = circuit([[float(x) for x in t] for t in pre], [[float(x) for x in t] for t in post], da_pulses=pulses)
    w = run(spec, float(dur)).final_weights["pp"].astype(np.float64)
    return w[0], w[1:], len(pulses)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_distal_reward_one_synapse_rises_far_above_the_rest(seed):
    """Izhikevich (2007) Fig. 1 in miniature (100 synapses, one hour, 27-40 chance pairings
    and as many rewards): the reinforced synapse ends more than 3 SD above the mean of the
    99 others and at least twice its start; with the same spikes and the same number of
    rewards at random times it ends below their mean + 1 SD (the growth needs the reward to
    follow the pairing). Measured (Dec 2026, seeds 1-3): reinforced 2.19 / 3.92 / 4.00 (z
    3.8 / 6.7 / 8.8), random-time rewards 0.12 / 0.14 / 0.03 (z -0.6 / -0.6 / -0.8); the
    reinforced synapse saturates in 2 of 3 seeds, not in all as in the closed-loop paper,
    where pairings grow more frequent as the synapse grows."""
    w_star, rest, n_rew = distal_reward(seed)
    c_star, c_rest, _ = distal_reward(seed, contingent=False)
    z = (w_star - rest.mean()) / rest.std()
    zc = (c_star - c_rest.mean()) / c_rest.std()
    msg = (f"seed {seed}: {n_rew} rewards; reinforced {w_star:.2f}, rest {rest.mean():.2f} +- {rest.std():.2f} "
           f"(max {rest.max():.2f}, z {z:.1f}); random-time rewards: {c_star:.2f} vs rest {c_rest.mean():.2f} "
           f"+- {c_rest.std():.2f} (z {zc:.1f})")
    assert z > 3.0 and w_star > 2 * W0, msg
    assert zc < 1.0, msg


# ---- bad input ----------------------------------------------------------------------------

def test_unknown_dopamine_modulator_is_an_error():
    with pytest.raises(SpecError, match=r"plasticity\.r\.dopamine.*'NE'.*\[modulators\]"):
        from_dict({"circuit": {"name": "x", "dt_ms": 1.0},
                   "populations": {"a": {"model": "generator", "n": 1, "spike_times_ms": [[1.0]]}},
                   "pathways": {"p": {"pre": "a", "post": "a", "plasticity": "r",
                                      "connectivity": {"rule": "all_to_all", "weight": 1.0}}},
                   "plasticity": {"r": dict(RSTDP_IZH2007, dopamine="NE")},
                   "modulators": {"DA": {"tonic": 0.0}}})


def test_dopamine_needs_deferred_timing():
    with pytest.raises(SpecError, match=r"plasticity\.r\.timing.*'immediate'.*deferred"):
        circuit([[20.0]], [[25.0]], rule={"timing": "immediate"})


def test_dopamine_must_be_a_string():
    with pytest.raises(SpecError, match=r"plasticity\.r\.dopamine"):
        circuit([[20.0]], [[25.0]], rule={"dopamine": 3})
