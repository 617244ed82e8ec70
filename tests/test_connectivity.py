"""Connectivity (science.md section 4): kernels against their formulas, deterministic
limits of the random rules, exact structure of the deterministic rules, periodic
geometry, delays, CSR invariants and seeding of built circuits.

Expected distances are computed here independently of :mod:`l5sim.connectivity`: on a
ring from exact integer arithmetic on the angle fractions, on a sheet from a wrapped
coordinate difference.
"""
from __future__ import annotations

import copy
import math
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

import l5sim
from l5sim.kernels.records import flat_arrays
import l5sim.connectivity as C
from l5sim.connectivity import Placement, connect, distances, place
from l5sim.errors import SpecError
from l5sim.spec import ConnectivitySpec, Space, from_dict

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

CIRCUITS_DIR = Path(__file__).resolve().parents[1] / "circuits"
CIRCUIT_FILES = sorted(CIRCUITS_DIR.glob("*.toml"))

#: Weights are computed in float64 and stored in float32: one rounding, at most half a
#: float32 ulp (2**-24 relative); float64 differences in the distance are ~1e-15. One
#: float32 ulp (2**-23) relative is therefore a strict and safe bound.
F32_RTOL = 2.0 ** -23
#: Below the smallest normal float32 (1.2e-38; far kernel tails) float32 is subnormal and
#: keeps only an absolute precision of 1.4e-45: there the bound is absolute.
F32_ATOL = float(np.finfo(np.float32).tiny)
#: Normal-approximation tolerance for binomial counts: 4 standard errors. A two-sided
#: false alarm has probability 6.3e-5 per comparison, so a family of ~25 comparisons fails
#: by chance with probability < 2e-3 for an arbitrary seed (the seeds here are fixed).
Z_TOL = 4.0
#: Significance level of the distribution tests (KS, chi-square): a false alarm for an
#: arbitrary seed in 1 of 1000 runs; a wrong distribution of these sizes fails far below it.
ALPHA = 1e-3
#: Distances are float64 sums and differences of angles below 2 pi (ulp 8.9e-16): 1e-12
#: allows a thousand ulps of rounding and still catches any wrong formula.
F64_ATOL = 1e-12


# --------------------------------------------------------------------------------------
# Helpers


def ring(n, angles="even", distance="arc", radius=1.0):
    return place(n, Space(geometry="ring", angles=angles, distance=distance, radius=radius))


def wire(conn, n_pre, n_post, *, same=False, pre_pl=None, post_pl=None, delay_steps=1, dpd=0.0, seed=0):
    """Draw one pathway on an even unit ring (unless placements are given)."""
    pre_pl = pre_pl if pre_pl is not None else ring(n_pre)
    post_pl = post_pl if post_pl is not None else (pre_pl if same else ring(n_post))
    syn = connect(conn, n_pre, n_post, pre_pl, post_pl, same, delay_steps, dpd, np.random.default_rng(seed),
                  "pathways.test")
    check_csr(syn, n_pre, n_post)
    return syn


def pairs(syn):
    """(pre, post) local indices of every synapse."""
    n_pre = syn.indptr.shape[0] - 1
    return np.repeat(np.arange(n_pre), np.diff(syn.indptr)), syn.post.astype(np.int64)


def check_csr(syn, n_pre, n_post):
    """CSR invariants of one pathway: dtypes, row pointers, target range, no duplicates."""
    assert syn.indptr.dtype == np.int64 and syn.post.dtype == np.int32
    assert syn.weight.dtype == np.float32 and syn.delay.dtype == np.uint16
    assert syn.indptr.shape == (n_pre + 1,)
    assert syn.indptr[0] == 0 and syn.indptr[-1] == syn.n
    assert np.all(np.diff(syn.indptr) >= 0)
    assert syn.weight.shape == syn.delay.shape == syn.post.shape
    if syn.n:
        assert 0 <= syn.post.min() and syn.post.max() < n_post
        pre, post = pairs(syn)
        assert np.unique(pre * n_post + post).size == syn.n, "a (pre, post) pair appears twice"


def dense(syn, n_pre, n_post, fill=np.nan):
    """Weights as a dense (pre x post) matrix, ``fill`` where there is no synapse."""
    W = np.full((n_pre, n_post), fill, np.float64)
    pre, post = pairs(syn)
    W[pre, post] = syn.weight
    return W


def ring_arc(n_pre, n_post, angles="even", radius=1.0):
    """Arc distances (pre x post) from exact integer arithmetic on the angle fractions:
    theta_i = 2 pi i / n (even) or 2 pi i / (n - 1) (closed: first and last coincide)."""
    den_pre, den_post = (n_pre, n_post) if angles == "even" else (n_pre - 1, n_post - 1)
    L = den_pre * den_post
    m = np.abs(np.arange(n_pre)[:, None] * den_post - np.arange(n_post)[None, :] * den_pre) % L
    m = np.minimum(m, L - m)                   # the shorter way round, in units of 2 pi / L
    return radius * 2.0 * np.pi * m / L


def ring_distance(n_pre, n_post, angles="even", distance="arc", radius=1.0):
    arc = ring_arc(n_pre, n_post, angles, radius)
    return arc if distance == "arc" else 2.0 * radius * np.sin(arc / (2.0 * radius))


def sheet_distance(xy_pre, xy_post, size):
    """Periodic distance: each coordinate difference wrapped into [-size/2, size/2)."""
    d = xy_pre[:, None, :] - xy_post[None, :, :]
    d = (d + size / 2) % size - size / 2
    return np.hypot(d[..., 0], d[..., 1])


def gauss_weight(d, A, s):
    return A * np.exp(-d ** 2 / (2 * s ** 2)) / (s * np.sqrt(2 * np.pi))


# --------------------------------------------------------------------------------------
# Gaussian kernels


def test_gaussian_probability_kernel_matches_profile():
    """Realised connection fraction per distance bin vs p0 exp(-d^2 / 2 sigma^2).

    2000 x 2000 on an even unit ring: distance depends only on the index offset m
    (d = 2 pi min(k, n - k) / n), so pairs are grouped by exact distance class and then
    pooled into 0.1-wide distance bins. Each bin's count is a sum of independent
    Bernoulli(p_ij): expected sum(p), variance sum(p (1 - p))."""
    n, p0, sigma = 2000, 0.5, 0.5
    pl = ring(n)
    syn = wire(ConnectivitySpec(rule="gaussian_prob", p0=p0, sigma=sigma, weight=0.7), n, n,
               pre_pl=pl, post_pl=pl, seed=11)
    assert np.all(syn.weight == np.float32(0.7))
    pre, post = pairs(syn)
    k = (post - pre) % n
    m = np.minimum(k, n - k)
    observed = np.bincount(m, minlength=n // 2 + 1).astype(float)
    classes = np.arange(n // 2 + 1)
    n_pairs = np.where((classes == 0) | (classes == n // 2), n, 2 * n)   # pairs per distance class
    d = 2 * np.pi * classes / n
    p = p0 * np.exp(-d ** 2 / (2 * sigma ** 2))
    expected, var = n_pairs * p, n_pairs * p * (1 - p)
    edges = np.arange(0.0, 2.0 + 1e-9, 0.1)       # up to 4 sigma: every bin expects >= 20
    which = np.digitize(d, edges) - 1
    for b in range(len(edges) - 1):
        sel = which == b
        e, o, v = expected[sel].sum(), observed[sel].sum(), var[sel].sum()
        assert e >= 20
        assert abs(o - e) < Z_TOL * math.sqrt(v), (edges[b], o, e)
    # beyond 4 sigma the expected count is a handful: Poisson tail probability of what is seen
    tail = d >= edges[-1]
    assert stats.poisson.sf(observed[tail].sum() - 1, expected[tail].sum()) > ALPHA


def test_gaussian_probability_deterministic_limits():
    n = 60
    assert wire(ConnectivitySpec(rule="gaussian_prob", p0=0.0, sigma=0.5), n, n).n == 0
    # sigma huge: p = p0 = 1 for every pair (autapses excluded within one population)
    syn = wire(ConnectivitySpec(rule="gaussian_prob", p0=1.0, sigma=1e9), n, n, same=True)
    assert syn.n == n * (n - 1)
    pre, post = pairs(syn)
    assert not np.any(pre == post)
    # sigma tiny: only coincident neurons connect (d = 0 gives p0 exactly, no 0/0)
    syn = wire(ConnectivitySpec(rule="gaussian_prob", p0=1.0, sigma=1e-300), n, n)
    pre, post = pairs(syn)
    assert np.array_equal(pre, np.arange(n)) and np.array_equal(post, np.arange(n))


@pytest.mark.parametrize("angles, distance, radius", [
    ("even", "arc", 1.0), ("even", "chord", 1.0), ("closed", "arc", 1.0), ("closed", "chord", 1.0),
    ("even", "arc", 2.5), ("closed", "chord", 0.5),
])
def test_gaussian_weight_kernel_exact(angles, distance, radius):
    """J = A exp(-d^2 / 2 s^2) / (s sqrt(2 pi)) for every pair, LVPA's E->E values."""
    n, A, s = 90, 3.5, 0.5
    pl = ring(n, angles, distance, radius)
    syn = wire(ConnectivitySpec(rule="gaussian_weight", A=A, sigma=s, autapses=True), n, n, same=True, pre_pl=pl)
    assert syn.n == n * n                                   # all-to-all, autapses included
    W = dense(syn, n, n)
    expected = gauss_weight(ring_distance(n, n, angles, distance, radius), A, s)
    np.testing.assert_allclose(W, expected, rtol=F32_RTOL, atol=F32_ATOL)
    peak = np.float32(A / (s * np.sqrt(2 * np.pi)))
    assert np.all(np.diag(W) == peak)
    if angles == "closed":                                  # first and last neuron coincide
        assert W[0, n - 1] == W[n - 1, 0] == peak
    else:
        assert W[0, n - 1] < peak


def test_gaussian_weight_between_populations_of_different_size():
    n_pre, n_post, A, s = 90, 30, 1.0, 2.0                   # LVPA E->I kernel
    syn = wire(ConnectivitySpec(rule="gaussian_weight", A=A, sigma=s), n_pre, n_post)
    assert syn.n == n_pre * n_post                          # different populations: no autapse rule
    np.testing.assert_allclose(dense(syn, n_pre, n_post), gauss_weight(ring_arc(n_pre, n_post), A, s),
                               rtol=F32_RTOL, atol=F32_ATOL)


def test_gaussian_weight_without_autapses_has_no_diagonal():
    n = 40
    syn = wire(ConnectivitySpec(rule="gaussian_weight", A=1.0, sigma=0.5), n, n, same=True)
    assert syn.n == n * (n - 1)
    assert np.all(np.isnan(np.diag(dense(syn, n, n))))


# --------------------------------------------------------------------------------------
# Random rules: deterministic limits and distributions


def test_fixed_prob_limits():
    n_pre, n_post = 50, 30
    syn = wire(ConnectivitySpec(rule="fixed_prob", p=0.0), n_pre, n_post)
    assert syn.n == 0 and np.all(syn.indptr == 0)
    syn = wire(ConnectivitySpec(rule="fixed_prob", p=1.0, weight=-2.0), n_pre, n_post)
    assert syn.n == n_pre * n_post and np.all(syn.weight == -2.0)
    n = 40
    syn = wire(ConnectivitySpec(rule="fixed_prob", p=1.0), n, n, same=True)
    pre, post = pairs(syn)
    assert syn.n == n * (n - 1) and not np.any(pre == post)
    syn = wire(ConnectivitySpec(rule="fixed_prob", p=1.0, autapses=True), n, n, same=True)
    assert syn.n == n * n
    # two different populations of the same size: "autapses" do not apply
    syn = wire(ConnectivitySpec(rule="fixed_prob", p=1.0), n, n, same=False)
    assert syn.n == n * n


def test_fixed_prob_degrees_are_binomial():
    """Out-degrees ~ Binomial(n_post, p), in-degrees ~ Binomial(n_pre, p).

    Mean: normal approximation, Z_TOL standard errors. Variance: (k - 1) s^2 / sigma^2 is
    chi-square with k - 1 degrees of freedom for normal data; the binomial's excess
    kurtosis here is (1 - 6 p q) / (N p q) < 0.02, so the two-sided ALPHA interval of that
    chi-square holds (the normal approximation of s^2 is too light in the upper tail)."""
    n_pre, n_post, p = 2000, 400, 0.1
    syn = wire(ConnectivitySpec(rule="fixed_prob", p=p), n_pre, n_post, seed=1)
    pre, post = pairs(syn)
    for degrees, N in ((np.diff(syn.indptr), n_post), (np.bincount(post, minlength=n_post), n_pre)):
        k = degrees.size
        mean, var = N * p, N * p * (1 - p)
        assert abs(degrees.mean() - mean) < Z_TOL * math.sqrt(var / k)
        lo, hi = stats.chi2.ppf([ALPHA / 2, 1 - ALPHA / 2], k - 1) * var / (k - 1)
        assert lo < degrees.var(ddof=1) < hi
    # out-degree histogram against the binomial pmf, bins pooled to >= 5 expected counts
    out = np.diff(syn.indptr)
    kk = np.arange(n_post + 1)
    exp = n_pre * stats.binom.pmf(kk, n_post, p)
    lo, hi = int(np.argmax(exp >= 5)), int(len(exp) - np.argmax(exp[::-1] >= 5) - 1)
    obs = np.bincount(out, minlength=n_post + 1).astype(float)
    o = np.concatenate([[obs[:lo + 1].sum()], obs[lo + 1:hi], [obs[hi:].sum()]])
    e = np.concatenate([[exp[:lo + 1].sum()], exp[lo + 1:hi], [exp[hi:].sum()]])
    e *= o.sum() / e.sum()
    assert stats.chisquare(o, e).pvalue > ALPHA


def test_fixed_prob_within_population_excludes_self():
    n, p = 1000, 0.05
    syn = wire(ConnectivitySpec(rule="fixed_prob", p=p), n, n, same=True, seed=2)
    pre, post = pairs(syn)
    assert not np.any(pre == post)
    deg = np.diff(syn.indptr)                       # Binomial(n - 1, p)
    assert abs(deg.mean() - (n - 1) * p) < Z_TOL * math.sqrt((n - 1) * p * (1 - p) / n)


def test_fixed_outdegree_exact_degree():
    n, k = 200, 15
    syn = wire(ConnectivitySpec(rule="fixed_outdegree", outdegree=k, weight=6.0), n, n, same=True, seed=4)
    assert np.all(np.diff(syn.indptr) == k) and syn.n == n * k
    pre, post = pairs(syn)
    assert not np.any(pre == post)
    assert np.all(syn.weight == 6.0)
    # targets uniform among the n - 1 others: in-degree ~ Binomial(n - 1, k / (n - 1)), mean k
    # exactly (n k synapses over n targets); variance within the chi-square ALPHA interval
    indeg = np.bincount(post, minlength=n)
    var = k * (1 - k / (n - 1))
    lo, hi = stats.chi2.ppf([ALPHA / 2, 1 - ALPHA / 2], n - 1) * var / (n - 1)
    assert lo < indeg.var(ddof=1) < hi


def test_all_to_all_uniform_weights():
    n_pre, n_post, lo, hi = 300, 300, -1.0, 0.0    # Izhikevich 2003 inhibitory recipe
    syn = wire(ConnectivitySpec(rule="all_to_all", weight_low=lo, weight_high=hi), n_pre, n_post, seed=9)
    assert syn.n == n_pre * n_post
    w = syn.weight.astype(np.float64)
    assert w.min() >= lo and w.max() <= hi
    assert stats.kstest(w, stats.uniform(loc=lo, scale=hi - lo).cdf).pvalue > ALPHA
    # the 2003 network's E->E: autapses included, uniform in [0, 0.5)
    n = 100
    syn = wire(ConnectivitySpec(rule="all_to_all", weight_low=0.0, weight_high=0.5, autapses=True), n, n,
               same=True, seed=9)
    assert syn.n == n * n
    assert stats.kstest(syn.weight.astype(float), stats.uniform(loc=0.0, scale=0.5).cdf).pvalue > ALPHA


def test_all_to_all_fixed_weight_when_range_is_empty():
    # weight_high == weight_low (the default 0, 0): every synapse has ``weight`` (documented)
    syn = wire(ConnectivitySpec(rule="all_to_all", weight=0.25), 20, 10)
    assert syn.n == 200 and np.all(syn.weight == np.float32(0.25))


def test_block_size_does_not_change_the_draw(monkeypatch):
    """Rows are drawn in blocks to bound memory; the result must not depend on the block."""
    conn_list = [ConnectivitySpec(rule="fixed_prob", p=0.2),
                 ConnectivitySpec(rule="fixed_prob", p=0.2, weight_low=0.0, weight_high=1.0),
                 ConnectivitySpec(rule="gaussian_prob", p0=0.8, sigma=0.4, weight_low=-1.0, weight_high=1.0),
                 ConnectivitySpec(rule="gaussian_weight", A=2.0, sigma=0.4),
                 ConnectivitySpec(rule="all_to_all", weight_low=0.0, weight_high=1.0)]
    ref = [wire(c, 300, 200, seed=3) for c in conn_list]
    monkeypatch.setattr(C, "BLOCK_ELEMENTS", 1000)            # 5 rows per block
    for c, r in zip(conn_list, ref):
        s = wire(c, 300, 200, seed=3)
        for a in ("indptr", "post", "weight", "delay"):
            assert np.array_equal(getattr(s, a), getattr(r, a)), (c.rule, a)


# --------------------------------------------------------------------------------------
# Deterministic rules


@pytest.mark.parametrize("n_pre, n_post, k", [(10, 90, 9), (10, 90, 5), (90, 10, 9), (4, 4, 1)])
def test_pocket_structure(n_pre, n_post, k):
    syn = wire(ConnectivitySpec(rule="pocket", pocket_size=k, weight=4.0), n_pre, n_post)
    pre, post = pairs(syn)
    if n_pre <= n_post:          # pre i -> post i k .. i k + k - 1
        exp_pre = np.repeat(np.arange(n_pre), k)
        exp_post = (np.arange(n_pre)[:, None] * k + np.arange(k)).ravel()
    else:                        # post j <- pre j k .. j k + k - 1
        exp_pre = (np.arange(n_post)[:, None] * k + np.arange(k)).ravel()
        exp_post = np.repeat(np.arange(n_post), k)
    got = sorted(zip(pre.tolist(), post.tolist()))
    assert got == sorted(zip(exp_pre.tolist(), exp_post.tolist()))
    assert np.all(syn.weight == 4.0)


def test_pocket_within_population_respects_autapses():
    n = 6
    assert wire(ConnectivitySpec(rule="pocket", pocket_size=1), n, n, same=True).n == 0
    syn = wire(ConnectivitySpec(rule="pocket", pocket_size=1, autapses=True), n, n, same=True)
    pre, post = pairs(syn)
    assert np.array_equal(pre, np.arange(n)) and np.array_equal(post, np.arange(n))


@pytest.mark.parametrize("same, autapses, expect_identity", [(False, False, True), (True, False, False),
                                                             (True, True, True)])
def test_one_to_one_structure(same, autapses, expect_identity):
    n = 25
    syn = wire(ConnectivitySpec(rule="one_to_one", weight=1.5, autapses=autapses), n, n, same=same)
    pre, post = pairs(syn)
    if expect_identity:
        assert np.array_equal(pre, np.arange(n)) and np.array_equal(post, np.arange(n))
        assert np.all(syn.weight == 1.5)
    else:
        assert syn.n == 0


# --------------------------------------------------------------------------------------
# Geometry


def test_ring_placement():
    n = 12
    pl = ring(n)
    np.testing.assert_allclose(pl.angle, 2 * np.pi * np.arange(n) / n, rtol=0, atol=F64_ATOL)
    closed = ring(n, "closed")
    assert closed.angle[0] == 0.0 and closed.angle[-1] == pytest.approx(2 * np.pi, abs=F64_ATOL)
    d = distances(pl, pl, slice(0, n))
    np.testing.assert_allclose(d, ring_arc(n, n), rtol=0, atol=F64_ATOL)
    assert np.allclose(d, d.T) and d.max() == pytest.approx(np.pi)


def test_sheet_distances_are_periodic():
    size = 2.0
    a = Placement("sheet", xy=np.array([[0.02, 1.0], [0.01, 0.01], [1.0, 1.0]]), size=size)
    b = Placement("sheet", xy=np.array([[1.98, 1.0], [1.99, 1.99], [1.0, 1.6]]), size=size)
    d = distances(a, b, slice(0, 3))
    assert d[0, 0] == pytest.approx(0.04, abs=F64_ATOL)              # across the x edge
    assert d[1, 1] == pytest.approx(0.02 * math.sqrt(2), abs=F64_ATOL)   # across the corner
    assert d[2, 2] == pytest.approx(0.6, abs=F64_ATOL)               # inside: plain distance
    assert d[0, 2] == pytest.approx(math.hypot(0.98, 0.6), abs=F64_ATOL)
    assert d.max() <= size * math.sqrt(2) / 2 + F64_ATOL             # never more than half a diagonal


def test_sheet_placement_and_gaussian_weights():
    size, n = 3.0, 400
    space = Space(geometry="sheet", size=size)
    xy = place(n, space, np.random.default_rng(0)).xy
    assert xy.shape == (n, 2) and xy.min() >= 0.0 and xy.max() < size
    for col in (0, 1):                                            # uniform in [0, size)
        assert stats.kstest(xy[:, col], stats.uniform(loc=0, scale=size).cdf).pvalue > ALPHA
    with pytest.raises(ValueError):
        place(n, space)                                           # a sheet needs a generator
    pl = Placement("sheet", xy=xy[:80], size=size)
    syn = wire(ConnectivitySpec(rule="gaussian_weight", A=2.0, sigma=0.3), 80, 80, same=True, pre_pl=pl)
    expected = gauss_weight(sheet_distance(xy[:80], xy[:80], size), 2.0, 0.3)
    np.fill_diagonal(expected, np.nan)
    np.testing.assert_allclose(dense(syn, 80, 80), expected, rtol=F32_RTOL, atol=F32_ATOL)


# --------------------------------------------------------------------------------------
# Delays


RULES_FOR_DELAYS = {
    "all_to_all": (ConnectivitySpec(rule="all_to_all"), 40, 40),
    "fixed_prob": (ConnectivitySpec(rule="fixed_prob", p=0.5), 40, 40),
    "gaussian_prob": (ConnectivitySpec(rule="gaussian_prob", p0=1.0, sigma=1.0), 40, 40),
    "gaussian_weight": (ConnectivitySpec(rule="gaussian_weight", sigma=1.0), 40, 40),
    "fixed_outdegree": (ConnectivitySpec(rule="fixed_outdegree", outdegree=10), 40, 40),
    "one_to_one": (ConnectivitySpec(rule="one_to_one"), 40, 40),
    "pocket": (ConnectivitySpec(rule="pocket", pocket_size=4), 10, 40),
}


@pytest.mark.parametrize("rule", sorted(RULES_FOR_DELAYS))
@pytest.mark.parametrize("distance", ["arc", "chord"])
def test_distance_dependent_delays(rule, distance):
    conn, n_pre, n_post = RULES_FOR_DELAYS[rule]
    base, per_d = 3, 7.5
    syn = wire(conn, n_pre, n_post, pre_pl=ring(n_pre, distance=distance), post_pl=ring(n_post, distance=distance),
               delay_steps=base, dpd=per_d, seed=1)
    assert syn.n > 0
    pre, post = pairs(syn)
    d = ring_distance(n_pre, n_post, "even", distance)[pre, post]
    assert np.array_equal(syn.delay.astype(np.int64), base + np.rint(d * per_d).astype(np.int64))
    if rule != "one_to_one":                               # one_to_one on equal rings: d = 0
        assert syn.delay.max() > base                      # the distances really entered


def test_fixed_delays_without_distance_term():
    syn = wire(ConnectivitySpec(rule="fixed_prob", p=0.3), 50, 50, delay_steps=7, dpd=0.0)
    assert syn.n > 0 and np.all(syn.delay == 7)


@pytest.mark.parametrize("per_d", [1e5, 1e300])
def test_delay_beyond_uint16_is_an_error(per_d):
    with pytest.raises(SpecError) as e:
        wire(ConnectivitySpec(rule="all_to_all"), 20, 20, dpd=per_d)
    assert e.value.path == "pathways.test.delay_per_distance"
    assert "65535" in e.value.expected


def test_weight_beyond_float32_is_an_error():
    with pytest.raises(SpecError) as e:
        wire(ConnectivitySpec(rule="all_to_all", weight=1e300), 5, 5)
    assert e.value.path == "pathways.test.connectivity" and "float32" in e.value.expected
    with pytest.raises(SpecError):       # A / (sigma sqrt(2 pi)) overflows for a tiny sigma
        wire(ConnectivitySpec(rule="gaussian_weight", A=1.0, sigma=1e-300), 5, 5)


# --------------------------------------------------------------------------------------
# Built circuits: CSR invariants, storage, seeding


def _small(name, **over):
    """A bundled circuit shrunk by overrides, built quickly."""
    return l5sim.load_circuit(CIRCUITS_DIR / f"{name}.toml", overrides=over or None)


# the smallest column whose pathways keep their reference in-degrees (p0 n_ref / n_pre <= 1):
# 240 pyramidal, 30 PV, 30 SOM, 6 thalamic cells
COLUMN_SMALL = {"circuit.scale": 0.6, "recording.traces.pyr.neurons": [0, 10]}


@pytest.mark.parametrize("path", CIRCUIT_FILES, ids=lambda p: p.stem)
def test_built_circuit_csr_invariants(path):
    built = l5sim.build(l5sim.load_circuit(path), seed=0)
    net = built.net.synapses
    n_syn = built.n_synapses
    assert net.row_ptr.dtype == np.int64 and net.post.dtype == np.int32
    assert net.weight.dtype == np.float32 and net.delay.dtype == np.uint16
    assert net.row_ptr[0] == 0 and net.row_ptr[-1] == n_syn
    assert np.all(np.diff(net.row_ptr) >= 0)
    n_rows = sum(built.pop_slices[pw.pre].stop - built.pop_slices[pw.pre].start
                 for pw in built.spec.pathways.values())
    assert net.row_ptr.shape == (n_rows + 1,)
    assert sum(info.n_syn for info in built.pathways.values()) == n_syn
    for name, info in built.pathways.items():
        pre_sl, post_sl = built.pop_slices[info.pre], built.pop_slices[info.post]
        n_pre = pre_sl.stop - pre_sl.start
        assert net.row_ptr[info.row0] == info.syn_lo and net.row_ptr[info.row0 + n_pre] == info.syn_hi
        targets = net.post[info.syn_lo:info.syn_hi]
        if targets.size:
            assert post_sl.start <= targets.min() and targets.max() < post_sl.stop, name
        pre, post, w, dly = built.connections(name)
        assert pre.shape == post.shape == w.shape == dly.shape == (info.n_syn,)
        assert np.all((0 <= pre) & (pre < n_pre)) and np.all((0 <= post) & (post < post_sl.stop - post_sl.start))
        assert np.unique(pre * (post_sl.stop - post_sl.start) + post).size == info.n_syn, name
    if n_syn:
        assert built.max_delay == int(net.delay.max())
        per_syn = (built.synapse_bytes() - net.row_ptr.nbytes) / n_syn
        assert per_syn <= 12          # int32 target + float32 weight + uint16 delay = 10 bytes
        assert np.all(np.isfinite(net.weight))


def _net_arrays(built):
    return flat_arrays(built.net)


@pytest.mark.parametrize("name, over", [("l5_column", COLUMN_SMALL), ("izhikevich2003", {}),
                                        ("whyte_ring", {})])
def test_same_seed_same_circuit(name, over):
    spec = _small(name, **over)
    a, b = l5sim.build(spec, seed=7), l5sim.build(spec, seed=7)
    arrays_a, arrays_b = _net_arrays(a), _net_arrays(b)
    assert arrays_a.keys() == arrays_b.keys()
    for k in arrays_a:
        assert np.array_equal(arrays_a[k], arrays_b[k], equal_nan=arrays_a[k].dtype.kind == "f"), k
    assert np.array_equal(a.init_v, b.init_v)


def test_different_seed_rewires_random_rules_only():
    col = _small("l5_column", **COLUMN_SMALL)
    a, b = l5sim.build(col, seed=1), l5sim.build(col, seed=2)
    for name, pw in col.pathways.items():
        ca, cb = a.connections(name), b.connections(name)
        same = all(np.array_equal(x, y) for x, y in zip(ca, cb))
        if pw.connectivity.rule == "gaussian_prob":
            assert not same, name
        else:                         # pocket: deterministic
            assert same, name
    izh = _small("izhikevich2003", **{"populations.exc.n": 80, "populations.inh.n": 20})
    wa, wb = l5sim.build(izh, seed=1).net.synapses.weight, l5sim.build(izh, seed=2).net.synapses.weight
    assert wa.shape == wb.shape and not np.array_equal(wa, wb)   # uniform weights redrawn
    ring_spec = _small("whyte_ring")                             # deterministic rules only
    ra, rb = l5sim.build(ring_spec, seed=1), l5sim.build(ring_spec, seed=2)
    for k in ("row_ptr", "post", "weight", "delay"):
        assert np.array_equal(getattr(ra.net.synapses, k), getattr(rb.net.synapses, k)), k


def test_adding_or_removing_a_pathway_leaves_the_others_unchanged():
    data = tomllib.loads((CIRCUITS_DIR / "l5_column.toml").read_text())
    data = l5sim.spec.apply_overrides(data, COLUMN_SMALL)
    base = l5sim.build(from_dict(data), seed=3)
    # a new random pathway placed first in the file order, and one pathway removed
    extra = {"pre": "pyr", "post": "som", "connectivity": {"rule": "fixed_prob", "p": 0.3}}
    more = copy.deepcopy(data)
    more["pathways"] = {"aa_extra": extra, **data["pathways"]}
    fewer = copy.deepcopy(data)
    del fewer["pathways"]["ee"]
    for variant in (more, fewer):
        built = l5sim.build(from_dict(variant), seed=3)
        for name in data["pathways"]:
            if name in variant["pathways"]:
                for x, y in zip(base.connections(name), built.connections(name)):
                    assert np.array_equal(x, y), name
    assert l5sim.build(from_dict(more), seed=3).pathways["aa_extra"].n_syn > 0


def test_simulation_and_recording_do_not_rewire():
    spec = _small("l5_column", **COLUMN_SMALL)
    built = l5sim.build(spec, seed=4)
    before = {k: v.copy() for k, v in _net_arrays(built).items()}
    l5sim.simulate(built, 5.0)
    l5sim.simulate(built, 20.0)
    after = _net_arrays(built)
    for k in ("synapses.row_ptr", "synapses.post", "synapses.weight", "synapses.delay"):
        assert np.array_equal(before[k], after[k]), k
    # a spec differing only in run-time matters (input window, traces) wires identically
    other = spec.with_overrides({"inputs.dend_drive.stop_ms": 250.0, "recording.traces.pyr.neurons": [1, 2, 3],
                                 "recording.traces.pyr.interval_ms": 1.0})
    rebuilt = l5sim.build(other, seed=4)
    for k in ("row_ptr", "post", "weight", "delay"):
        assert np.array_equal(getattr(rebuilt.net.synapses, k), before[f"synapses.{k}"]), k
