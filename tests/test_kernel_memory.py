"""The prefetch hint compiles for the kernels' array types and changes nothing."""
import numba
import numpy as np
import pytest

from l5sim.kernels.memory import prefetch


@numba.njit(cache=False)
def _sum_with_prefetch(a, step):
    t = 0.0
    for i in range(a.shape[0]):
        if i + step < a.shape[0]:
            prefetch(a, i + step)
        t += a[i]
    return t


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.uint16, np.int32, np.int64])
def test_prefetch_changes_no_result(dtype):
    a = np.arange(1000).astype(dtype)
    assert _sum_with_prefetch(a, 16) == float(a.astype(np.float64).sum())
    assert _sum_with_prefetch(a[::3], np.int32(5)) == float(a[::3].astype(np.float64).sum())


def test_prefetch_refuses_what_it_cannot_address():
    @numba.njit(cache=False)
    def two_d(a):
        prefetch(a, 0)

    with pytest.raises(numba.core.errors.TypingError):
        two_d(np.zeros((2, 2)))
