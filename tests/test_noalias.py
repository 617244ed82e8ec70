"""The ``noalias`` compile option (l5sim._numba_config.NOALIAS) and the state it relies on."""
from pathlib import Path

import numba as nb
import numpy as np

from l5sim._numba_config import NJIT, NOALIAS
from l5sim.kernels import records as R


def test_numba_has_the_noalias_flag():
    # numba's compiler has the flag (parfors use it); if a numba release drops it the
    # option turns into nothing and the loops run scalar: this test says so
    assert NOALIAS == {"noalias": True}


def test_noalias_marks_array_arguments_and_keeps_results():
    def axpy(x, y, a):
        for k in range(x.shape[0]):
            y[k] = y[k] + a * x[k]

    plain = nb.njit(**dict(NJIT, cache=False))(axpy)
    marked = nb.njit(**dict(NJIT, cache=False, **NOALIAS))(axpy)
    x = np.random.default_rng(1).normal(size=1000)
    y1, y2 = np.ones(1000), np.ones(1000)
    plain(x, y1, 0.3)
    marked(x, y2, 0.3)
    assert np.array_equal(y1, y2)
    header = [ln for ln in marked.inspect_llvm(marked.signatures[0]).splitlines() if ln.startswith("define")][0]
    assert header.count("noalias") >= 4, header[:300]   # retptr, excinfo and the arrays' pointers


def test_shared_state_arrays_are_found():
    import l5sim
    from l5sim.simulation import initial_state

    built = l5sim.build(l5sim.load_circuit(Path(__file__).resolve().parents[1] / "circuits" / "l5_cell.toml"), 1)
    st = initial_state(built, 1)
    assert R.shared_arrays(st) == []
    bad = st._replace(neurons=st.neurons._replace(u=st.neurons.v))
    assert R.shared_arrays(bad) == [("neurons.v", "neurons.u")]
    view = st._replace(neurons=st.neurons._replace(burst=st.neurons.scratch[2]))
    assert ("neurons.burst", "neurons.scratch") in R.shared_arrays(view)
