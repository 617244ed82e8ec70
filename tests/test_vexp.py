"""l5sim.kernels.vexp.exp against the platform's exp (math.exp, numpy.exp)."""
import math

import numba as nb
import numpy as np
import pytest

from l5sim._numba_config import NJIT
from l5sim.kernels.vexp import exp, exp_py


@nb.njit(**dict(NJIT, cache=False))
def _exp_all(x, out):
    for i in range(x.shape[0]):
        out[i] = exp(x[i])


def _vexp(x):
    out = np.empty_like(x)
    _exp_all(x, out)
    return out


@pytest.mark.parametrize("lo, hi", [(-1.0, 1.0), (-40.0, 40.0), (-708.0, 709.7), (-0.35, 0.35)])
def test_within_one_ulp_of_libm(lo, hi):
    # libm's exp (glibc) is within 0.502 ulp of exp(x); ours within one ulp of libm's
    x = np.random.default_rng(int(hi * 7)).uniform(lo, hi, 1_000_000)
    ref = np.exp(x)
    got = _vexp(x)
    ulp = np.abs(got - ref) / np.spacing(ref)
    share = float(np.mean(got != ref))
    assert ulp.max() <= 1.0, f"[{lo}, {hi}]: largest difference {ulp.max():.3g} ulp, {share:.1%} of results differ"
    assert share < 0.2, f"[{lo}, {hi}]: {share:.1%} of results differ from libm by one ulp"


def test_special_values_and_range_ends():
    x = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 709.78, 709.79, 710.0, -745.13, -745.14, -800.0, 1e-300])
    got = _vexp(x)
    assert np.isnan(got[0])
    assert got[1] == np.inf and got[2] == 0.0 and got[3] == 1.0 and got[4] == 1.0
    assert got[5] == pytest.approx(math.exp(709.78), rel=3e-16)
    assert got[6] == np.inf and got[7] == np.inf
    assert got[8] == 5e-324 and got[9] == 0.0 and got[10] == 0.0 and got[11] == 1.0


def test_python_twin_gives_the_same_bits():
    x = np.concatenate([np.random.default_rng(3).uniform(-60.0, 60.0, 20000), [-745.0, -720.5, 709.5, 0.0]])
    got = _vexp(x)
    assert all(exp_py(float(a)) == float(b) for a, b in zip(x, got))
