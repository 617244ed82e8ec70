"""Scaling a circuit at fixed expected in-degree (``n_ref``, ``pocket_fraction``,
``circuit.scale``; :class:`l5sim.spec.ConnectivitySpec`).

Expected in-degrees come from the placement alone: on a ring, neuron j's expected number of
inputs is the sum over presynaptic i of p0 n_ref / n_pre exp(-d_ij^2 / 2 sigma^2), computed
here in NumPy from the angles; the drawn graph must match it within its binomial standard
error, and it must not change with n_pre.
"""
import copy
import math
import sys
from pathlib import Path

import numpy as np
import pytest

import l5sim
from l5sim import connectivity as conn
from l5sim.errors import SpecError
from l5sim.spec import ConnectivitySpec, Space, from_dict

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

#: In-degree means are compared within this many binomial standard errors (a 5-SE miss has
#: probability ~6e-7 per comparison for a correct draw).
N_SE = 5.0
COLUMN = Path(__file__).resolve().parents[1] / "circuits" / "l5_column.toml"


def _expected_in_degree(spec, n_pre, n_post):
    """(mean over post cells of the expected in-degree, binomial SE of the drawn mean)."""
    ring = Space()
    pre, post = conn.place(n_pre, ring), conn.place(n_post, ring)
    d = conn.distances(pre, post, slice(0, n_pre))
    p = spec.probability(n_pre) * np.exp(-0.5 * (d / spec.sigma) ** 2)
    return p.sum() / n_post, math.sqrt((p * (1 - p)).sum()) / n_post


def _drawn_mean_in_degree(spec, n_pre, n_post, seed):
    ring = Space()
    syn = conn.connect(spec, n_pre, n_post, conn.place(n_pre, ring), conn.place(n_post, ring), False, 1, 0.0,
                       np.random.default_rng(seed))
    return syn.n / n_post


@pytest.mark.parametrize("p0, sigma, n_ref, n_post", [(0.5, 1.0, 400, 50), (0.6, 1.0, 50, 400), (0.3, 0.5, 400, 400)])
def test_expected_in_degree_is_invariant_under_n_ref(p0, sigma, n_ref, n_post):
    spec = ConnectivitySpec(rule="gaussian_prob", p0=p0, sigma=sigma, n_ref=n_ref)
    k_ref, _ = _expected_in_degree(spec, n_ref, n_post)
    for factor in (1, 4, 10):
        n_pre = n_ref * factor
        k, se = _expected_in_degree(spec, n_pre, n_post * factor)
        # analytic: the same expectation at every size (even ring spacing: a Riemann sum of
        # the kernel, exact to ~1e-3 relative at these sizes)
        assert k == pytest.approx(k_ref, rel=2e-3), factor
        drawn = _drawn_mean_in_degree(spec, n_pre, n_post * factor, seed=factor)
        assert abs(drawn - k) <= N_SE * se, (factor, drawn, k, se)
    # without n_ref the in-degree grows with n_pre (what the rule corrects)
    plain = ConnectivitySpec(rule="gaussian_prob", p0=p0, sigma=sigma)
    assert _expected_in_degree(plain, 4 * n_ref, n_post)[0] == pytest.approx(4 * k_ref, rel=2e-3)


def test_fixed_prob_scales_too():
    spec = ConnectivitySpec(rule="fixed_prob", p=0.2, n_ref=100)
    assert spec.probability(100) == 0.2 and spec.probability(400) == pytest.approx(0.05)
    for n_pre in (100, 1000):
        drawn = _drawn_mean_in_degree(spec, n_pre, 300, seed=n_pre)
        se = math.sqrt(n_pre * spec.probability(n_pre) * (1 - spec.probability(n_pre)) / 300)
        assert abs(drawn - 20.0) <= N_SE * se


def test_reference_size_draws_the_unscaled_circuit():
    """At the sizes of the file the scaled column is the column drawn without scaling,
    bit for bit (p0 n_ref / n_pre == p0 exactly; pockets of 400 / 10 = 40 cells)."""
    col = l5sim.load_circuit(COLUMN)
    over = {}
    for name, pw in col.pathways.items():
        c = pw.connectivity
        if c.rule == "gaussian_prob":
            assert c.n_ref == col.populations[pw.pre].n, name
            over[f"pathways.{name}.connectivity.n_ref"] = 0
        else:
            assert c.pocket(10, 400) == 40
            over[f"pathways.{name}.connectivity"] = {"rule": "pocket", "pocket_size": 40, "weight": c.weight}
    a, b = l5sim.build(col, seed=5), l5sim.build(col.with_overrides(over), seed=5)
    for k in ("row_ptr", "post", "weight", "delay"):
        assert np.array_equal(getattr(a.net.synapses, k), getattr(b.net.synapses, k)), k


def test_circuit_scale_multiplies_sizes_and_keeps_in_degrees():
    col = l5sim.load_circuit(COLUMN)
    big = col.with_overrides({"circuit.scale": 4})
    assert {k: p.n for k, p in big.populations.items()} == {"pyr": 1600, "pv": 200, "som": 200, "th": 40}
    assert big.to_dict()["populations"]["pyr"]["n"] == 400           # the raw data stay as written
    again = big.with_overrides({"inputs.dend_drive.amplitude_pA": 550.0})
    assert again.populations["pyr"].n == 1600                         # scaled once, not twice
    a, b = l5sim.build(col, seed=1), l5sim.build(big, seed=1)
    for name, pw in col.pathways.items():
        n_post_a, n_post_b = col.populations[pw.post].n, big.populations[pw.post].n
        k_a, k_b = a.pathways[name].n_syn / n_post_a, b.pathways[name].n_syn / n_post_b
        if pw.connectivity.rule == "pocket":
            assert k_a == k_b == 1.0, name          # every pyramidal cell in one pocket
            continue
        c = pw.connectivity
        # within one population the excluded self-pair removes p0 n_ref / n_pre: <= p0
        expect_b, se_b = _expected_in_degree(c, big.populations[pw.pre].n, n_post_b)
        assert abs(k_b - expect_b) <= N_SE * se_b + (c.p0 if pw.pre == pw.post else 0), name
        expect_a, se_a = _expected_in_degree(c, col.populations[pw.pre].n, n_post_a)
        assert expect_a == pytest.approx(expect_b, rel=2e-3), name
        assert abs(k_a - expect_a) <= N_SE * se_a + (c.p0 if pw.pre == pw.post else 0), name


def test_scale_leaves_generators_alone():
    data = {"circuit": {"name": "g", "scale": 3.0},
            "populations": {"g": {"model": "generator", "n": 2, "spike_times_ms": [[1.0], [2.0]]},
                            "p": {"model": "poisson", "n": 5, "rate_hz": 1.0}}}
    spec = from_dict(data)
    assert spec.populations["g"].n == 2 and spec.populations["p"].n == 15


def test_pocket_fraction_tiles_the_target_at_any_size():
    spec = ConnectivitySpec(rule="pocket", pocket_fraction=1.0)
    ring = Space()
    for n_th, n_pyr in ((10, 400), (10, 4000), (40, 1600), (7, 100)):
        k = spec.pocket(n_th, n_pyr)
        assert k == n_pyr // n_th
        syn = conn.connect(spec, n_th, n_pyr, conn.place(n_th, ring), conn.place(n_pyr, ring), False, 1, 0.0,
                           np.random.default_rng(0))
        in_deg = np.bincount(syn.post, minlength=n_pyr)
        assert in_deg.max() == 1 and in_deg.sum() == n_th * k
    assert ConnectivitySpec(rule="pocket", pocket_fraction=0.5).pocket(10, 400) == 20


def _column_data():
    return tomllib.loads(COLUMN.read_text())


def test_scaling_errors_name_the_field():
    with pytest.raises(SpecError, match=r"pathways\.pv_pyr\.connectivity\.n_ref.*50.*p0 n_ref / n_pre <= 1"):
        l5sim.load_circuit(COLUMN, overrides={"circuit.scale": 0.5})
    l5sim.load_circuit(COLUMN, overrides={"circuit.scale": 0.6})      # the smallest scale allowed
    data = _column_data()
    data["pathways"]["th_gate"]["connectivity"]["n_ref"] = 10
    with pytest.raises(SpecError, match=r"pathways\.th_gate\.connectivity\.n_ref.*0 for rule 'pocket'"):
        from_dict(data)
    data = _column_data()
    data["pathways"]["ee"]["connectivity"]["pocket_fraction"] = 0.5
    with pytest.raises(SpecError, match=r"pathways\.ee\.connectivity\.pocket_fraction.*0 for rule"):
        from_dict(data)
    data = _column_data()
    data["pathways"]["th_gate"]["connectivity"]["pocket_fraction"] = 0.01
    with pytest.raises(SpecError, match=r"pathways\.th_gate\.connectivity\.pocket_fraction.*>= 0\.025"):
        from_dict(data)
    data = copy.deepcopy(_column_data())
    data["circuit"]["scale"] = 0.0
    with pytest.raises(SpecError, match=r"circuit\.scale.*> 0"):
        from_dict(data)


def _column_rates(scale, seed, duration_ms):
    spec = l5sim.load_circuit(COLUMN, overrides={"circuit.scale": scale, "recording.traces": {}})
    rec = l5sim.simulate(l5sim.build(spec, seed=seed), duration_ms, parallel=False)
    t0 = 100.0                                   # onset transient excluded
    out = {}
    for pop in ("pyr", "pv", "som"):
        _, t, _ = rec.spikes(pop)
        out[pop] = (t >= t0).sum() / spec.populations[pop].n / ((duration_ms - t0) / 1e3)
    return out


#: The rates of a scaled column stay within this factor of the reference column's (finite-size
#: fluctuations of a 300 ms run; without scaling the 8x column's SOM cells fire > 100x faster).
RATE_FACTOR = 2.0


def test_column_keeps_its_regime_when_scaled():
    ref = _column_rates(1.0, seed=0, duration_ms=300.0)
    big = _column_rates(6.0, seed=0, duration_ms=300.0)
    assert 1.0 < ref["pyr"] < 20.0 and ref["pv"] > 10.0 and ref["som"] > 2.0    # the column's regime
    for pop in ("pyr", "pv", "som"):
        assert ref[pop] / RATE_FACTOR <= big[pop] <= ref[pop] * RATE_FACTOR, (pop, ref, big)


def test_column_scaling_figure_draws_every_population():
    pytest.importorskip("matplotlib")
    from l5sim import plotting

    table = {"n_total": [510, 2040], "n_seeds": 2, "populations": ["pyr", "pv"],
             "rates": {"pyr": {"mean": [4.0, 4.5], "sd": [0.1, 0.2]}, "pv": {"mean": [53.0, 54.0], "sd": [1.0, 0.5]}},
             "unscaled": {"n_total": 2040, "rates": {"pyr": 100.0, "pv": 0.0}}}
    fig = plotting.column_scaling(table)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and "Hz" in ax.get_ylabel()
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert {"pyr", "pv", "without scaling"} <= set(labels)
    assert "2 seeds" in ax.get_title()
