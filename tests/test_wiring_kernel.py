"""The compiled wiring draws (l5sim.kernels.wiring) against the distributions they promise."""
import itertools
import math

import numpy as np
import pytest
from scipy import stats

from l5sim.kernels import wiring

ALPHA = 1e-4       # a fixed-seed test fails by chance with this probability at most


def _state(seed):
    return np.random.default_rng(seed).integers(1, 2 ** 63, size=(2, 1), dtype=np.uint64)   # one stream (kernels.rng)


def _rows(counts, n_avail, skip=0, seed=0):
    counts = np.asarray(counts, np.int64)
    n_avail = np.asarray(n_avail, np.int64)
    indptr = np.zeros(counts.size + 1, np.int64)
    np.cumsum(counts, out=indptr[1:])
    post = np.full(int(indptr[-1]), -1, np.int32)
    wiring.bernoulli_rows(_state(seed), counts, n_avail, skip, indptr, post)
    return indptr, post


@pytest.mark.parametrize("n", [1, 5, 63, 64, 65, 130, 1000])
def test_rows_are_sorted_distinct_in_range_and_complete(n):
    rng = np.random.default_rng(n)
    counts = rng.integers(0, n + 1, size=200)
    counts[:3] = [0, n, n // 2]                      # empty, full (complement of nothing), half
    indptr, post = _rows(counts, np.full(200, n), seed=n)
    for r in range(200):
        row = post[indptr[r]:indptr[r + 1]]
        assert row.size == counts[r]
        assert np.all(np.diff(row) > 0)              # increasing: distinct and sorted
        assert row.size == 0 or (row[0] >= 0 and row[-1] < n)
    assert np.array_equal(post[indptr[1]:indptr[2]], np.arange(n))


@pytest.mark.parametrize("k", [3, 7])               # 7 of 10 takes the complement path
def test_subsets_are_uniform(k):
    """Every k-subset of 10 positions is equally likely (chi-square over all C(10, k))."""
    n, rows = 10, 60_000
    indptr, post = _rows(np.full(rows, k), np.full(rows, n), seed=k)
    code = (np.int64(1) << post.astype(np.int64)).reshape(rows, k).sum(axis=1)
    subsets = [sum(1 << i for i in c) for c in itertools.combinations(range(n), k)]
    obs = np.array([np.count_nonzero(code == s) for s in subsets])
    assert obs.sum() == rows
    assert stats.chisquare(obs).pvalue > ALPHA


def test_rows_that_skip_themselves():
    n, rows = 50, 50
    counts = np.full(rows, 20)
    avail = np.full(rows, n - 1)
    indptr, post = _rows(counts, avail, skip=rows, seed=3)
    hits = np.zeros(n, np.int64)
    for r in range(rows):
        row = post[indptr[r]:indptr[r + 1]]
        assert r not in row and np.all(np.diff(row) > 0) and row[-1] < n
        hits[row] += 1
    # every target is reachable, the last one included (position n - 2 maps to n - 1)
    assert np.all(hits > 0)
    # full rows without self: exactly the other n - 1 neurons
    indptr, post = _rows(np.full(4, n - 1), np.full(4, n - 1), skip=4, seed=4)
    for r in range(4):
        assert np.array_equal(post[indptr[r]:indptr[r + 1]], np.delete(np.arange(n), r))


def test_same_state_same_rows_and_the_state_advances():
    counts, avail = np.full(30, 40, np.int64), np.full(30, 100, np.int64)
    a = _rows(counts, avail, seed=9)[1]
    b = _rows(counts, avail, seed=9)[1]
    c = _rows(counts, avail, seed=10)[1]
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    st = _state(1)
    before = st.copy()
    indptr = np.array([0, 5], np.int64)
    wiring.bernoulli_rows(st, np.array([5], np.int64), np.array([10], np.int64), 0, indptr, np.empty(5, np.int32))
    assert not np.array_equal(st, before)


def test_positions_are_uniform_over_a_large_row():
    """Marginal of each position is k / n (chi-square over positions of a 10,000-wide row,
    a width that is not a multiple of 64 in the complement path too)."""
    for n, k in ((10_001, 1000), (10_001, 9000)):
        rows = 60
        indptr, post = _rows(np.full(rows, k), np.full(rows, n), seed=k)
        # pool positions into 100 bins of about 100 positions
        edges = np.linspace(0, n, 101).astype(np.int64)
        obs = np.histogram(post, bins=edges)[0]
        exp = np.diff(edges) * rows * k / n
        # the count in a bin is hypergeometric-like with variance below the binomial's
        assert stats.chisquare(obs, exp).pvalue > ALPHA


def test_uniform_fill_range_and_distribution():
    out = np.empty(200_000, np.float32)
    wiring.uniform_fill(_state(5), -1.0, 0.0, out)
    assert out.min() >= -1.0 and out.max() <= 0.0
    assert stats.kstest(out.astype(np.float64), stats.uniform(loc=-1.0, scale=1.0).cdf).pvalue > ALPHA
    out64 = np.empty(1000)
    wiring.uniform_fill(_state(5), 2.0, 2.0, out64)
    assert np.all(out64 == 2.0)
    assert math.isclose(np.float32(np.mean(out)), -0.5, abs_tol=0.005)
