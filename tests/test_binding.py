"""Late-bound calls (l5sim.kernels.binding): the chunk loop calls its population loops,
delivery, replay and Poisson inputs through slots filled at run time (issue 18 item 5)."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numba as nb
import numpy as np
import pytest

import l5sim
from l5sim.kernels import binding
from l5sim.kernels import variants as E

try:
    from loop_records import loop_records
except ImportError:     # (run from the repository's root as a package)
    from tests.loop_records import loop_records

ROOT = Path(__file__).resolve().parents[1]


@nb.njit(no_cpython_wrapper=True, cache=False)
def _axpy(x, y, a):
    for i in range(x.shape[0]):
        y[i] += a * x[i]


_SLOT = binding.slot("l5sim.test.axpy", _axpy)
_CALL = _SLOT.call


@nb.njit(cache=False)
def _caller(x, y, a):
    _CALL(x, y, a)
    return y.sum()


def test_a_call_runs_the_callee_bound_for_its_types():
    x, y = np.arange(4.0), np.ones(4)
    _SLOT.bind((nb.typeof(x), nb.typeof(y), nb.float64))
    assert _caller(x, y, 2.0) == pytest.approx(4 + 2 * 6)       # 1+1+1+1 + 2*(0+1+2+3)
    assert np.array_equal(y, 1 + 2 * x)


def test_a_call_without_a_callee_for_its_types_raises_instead_of_calling():
    # bound for float32 arrays only: the float64 call site must not call that code
    sl = binding.slot("l5sim.test.axpy32", _axpy)
    call = sl.call

    @nb.njit(cache=False)
    def caller(x, y, a):
        call(x, y, a)

    x32 = np.arange(3, dtype=np.float32)
    sl.bind((nb.typeof(x32), nb.typeof(x32), nb.float32))
    with pytest.raises(RuntimeError, match="l5sim.test.axpy32: not bound"):
        caller(np.arange(3.0), np.zeros(3), 1.0)
    y32 = np.zeros(3, np.float32)

    @nb.njit(cache=False)
    def caller32(x, y, a):
        call(x, y, np.float32(a))

    caller32(x32, y32, 1.0)
    assert np.array_equal(y32, x32)


def test_a_slot_holds_a_limited_number_of_signatures():
    sl = binding.slot("l5sim.test.full", _axpy)
    dtypes = [np.float64, np.float32, np.int64, np.int32, np.int16, np.int8, np.uint64, np.uint32, np.uint16]
    for dt in dtypes[:binding.ENTRIES]:
        a = np.zeros(2, dt)
        sl.bind((nb.typeof(a), nb.typeof(a), nb.typeof(dt(1))))
    a = np.zeros(2, dtypes[binding.ENTRIES])
    with pytest.raises(RuntimeError, match=f"more than {binding.ENTRIES} signatures"):
        sl.bind((nb.typeof(a), nb.typeof(a), nb.typeof(a[0])))


def test_signature_hash_is_fixed_and_tells_layouts_apart():
    c = nb.typeof(np.zeros(3))
    a = nb.typeof(np.zeros((3, 2))[:, 0])
    h = binding.signature_hash((c, nb.int64))
    assert h > 0 and h != binding.signature_hash((a, nb.int64)) and h != binding.signature_hash((c, nb.int32))
    # the same in another process: cached callers compare it with the hash they were compiled with
    code = ("import numba as nb, numpy as np; from l5sim.kernels import binding; "
            "print(binding.signature_hash((nb.typeof(np.zeros(3)), nb.int64)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT,
                         env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert int(out.stdout) == h


def _loop_records(circuit, parallel, overrides=None):
    """The records the chunk loop of ``circuit`` receives (1 ms simulated), its variant and
    the loop's argument types."""
    built = l5sim.build(l5sim.load_circuit(ROOT / "circuits" / circuit, overrides=overrides or {}), seed=1)
    net, st, out = loop_records(built, parallel)
    key = E.features(net) + (bool(parallel),)
    fn, g = E._VARIANTS[key]
    net_none, st_none = E._unused(*key[:2])
    net, st = net._replace(**net_none), st._replace(**st_none)
    fired = np.empty(net.neurons.pop_of.shape[0], np.int64)
    sig = (nb.typeof(net), nb.typeof(st), nb.typeof(out), nb.int64, nb.int64, nb.typeof(fired),
           nb.typeof(fired.astype(np.uint8)))
    return key, fn, g, net, st, fired, sig


# (the column's parallel kernel is the fused loop, which calls nothing late-bound: the plastic
# circuit keeps the region-per-loop parallel variant)
@pytest.mark.parametrize("circuit,parallel", [("l5_column.toml", False), ("l5_stdp.toml", True),
                                              ("l5_stdp.toml", False), ("whyte_ring.toml", False)])
def test_the_compile_jobs_mirror_the_loops_own_typing(circuit, parallel):
    # the cold start's jobs compile each callee for mirrored types; the chunk loop's own
    # typing must give the same for every late-bound call (else a second compile)
    key, fn, g, net, st, fired, sig = _loop_records(circuit, parallel)
    own = binding.late_calls(fn, sig)
    slots = {sl.call: sl for sl in g["_LATE"]}
    assert set(own) == set(slots)
    mirrored = {sl.call: (t if isinstance(t[0], nb.types.Type) else E._typed_call(*t))
                for _, _, sl, t in E._late_calls(g, key, net, st, fired)}
    assert set(mirrored) == set(slots)
    wrong = [slots[c].name for c in own if own[c] != mirrored[c]]
    assert not wrong, wrong


def test_a_loop_loaded_from_the_cache_binds_its_callees_in_a_new_process(tmp_path):
    # process 1 compiles (empty numba cache); process 2 loads the chunk loop from the cache
    # and binds each callee from the cache's signatures: nothing compiled, the same spikes
    code = f"""
import json, sys
from numba.core import event
import l5sim
built = l5sim.build(l5sim.load_circuit({str(ROOT / 'circuits' / 'l5_cell.toml')!r}), seed=3)
with event.install_recorder("numba:compile") as rec:
    res = l5sim.simulate(built, 1000.0, seed=3, parallel=False)
compiled = sorted({{getattr(ev.data["dispatcher"], "py_func", ev.data["dispatcher"]).__name__
                   for _, ev in rec.buffer if ev.is_start}})
json.dump(dict(spikes=[res.spike_i.tolist(), res.spike_t_ms.tolist()], compiled=compiled), sys.stdout)
"""
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "cache"), PYTHONPATH=str(ROOT))
    runs = [json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                                      cwd=ROOT, env=env).stdout) for _ in range(2)]
    assert any(name.startswith("run_chunk_l5cell") for name in runs[0]["compiled"]), runs[0]["compiled"]
    assert runs[1]["compiled"] == [], runs[1]["compiled"]
    assert runs[1]["spikes"] == runs[0]["spikes"] and runs[0]["spikes"][0]


def test_a_cached_loop_whose_callee_left_the_cache_binds_it_anew(tmp_path):
    # numba keeps a file's cache entries only while that file is unchanged: after an edit of
    # l5cell.py (not of engine.py) the chunk loop loads from the cache, its population loop
    # does not; process 2 sees that state (the loop's index removed) and must type the loop
    # again for the call's types, not raise "not bound"
    code = f"""
import json, sys
import l5sim
built = l5sim.build(l5sim.load_circuit({str(ROOT / 'circuits' / 'l5_cell.toml')!r}), seed=3)
res = l5sim.simulate(built, 300.0, seed=3, parallel=False)
json.dump([res.spike_i.tolist(), res.spike_t_ms.tolist()], sys.stdout)
"""
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "cache"), PYTHONPATH=str(ROOT))

    def run():
        return json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                                         cwd=ROOT, env=env).stdout)

    first = run()
    gone = list((tmp_path / "cache").rglob("l5cell.l5cell_population_loop*.nbi"))
    assert gone and list((tmp_path / "cache").rglob("engine.run_chunk*.nbi"))
    for f in gone:
        f.unlink()
    assert run() == first and first[0]


def test_binding_from_several_threads_at_once_keeps_every_signature():
    # simulations may be bound from several threads of one process (a threaded Dask
    # scheduler): each signature gets its own entry, none is overwritten
    import threading

    sl = binding.slot("l5sim.test.threads", _axpy)
    call = sl.call
    dtypes = [np.float64, np.float32, np.int64, np.int32]
    errors = []

    def bind(dt):
        try:
            a = np.zeros(2, dt)
            sl.bind((nb.typeof(a), nb.typeof(a), nb.typeof(dt(1))))
        except Exception as e:          # (reported below)
            errors.append(e)

    threads = [threading.Thread(target=bind, args=(dt,)) for dt in dtypes]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors

    @nb.njit(cache=False)
    def caller(x, y, a):
        call(x, y, a)

    for dt in dtypes:
        x, y = np.arange(3).astype(dt), np.zeros(3, dt)
        caller(x, y, dt(2))
        assert np.array_equal(y, 2 * x), dt
