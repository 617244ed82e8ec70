"""Compiling for a cold start (l5sim._compiling): the chunk loop's functions compiled ahead,
two at a time, must be the ones the loop then uses (issue 18 item 5)."""
import os
import sys
from pathlib import Path

import numpy as np
import pytest

import l5sim
from l5sim import _compiling
from l5sim.kernels import engine as E

CIRCUITS = Path(__file__).resolve().parents[1] / "circuits"


@pytest.fixture(scope="module")
def column_args():
    """The README column and the records its chunk loop receives."""
    spec = l5sim.load_circuit(CIRCUITS / "l5_column.toml")
    built = l5sim.build(spec, seed=1)
    seen = {}
    original = E.chunk_kernel

    def capture(net, parallel=False):
        run = original(net, parallel)

        def wrapped(net_, st_, out_, t0, n):
            seen.setdefault("args", (net_, st_, out_))
            return run(net_, st_, out_, t0, n)

        return wrapped

    E.chunk_kernel = capture
    try:
        l5sim.simulate(built, 1.0, seed=1, parallel=False)
    finally:
        E.chunk_kernel = original
    return seen["args"]


def _loops(g):
    """The separately compiled loops of a variant's units (by unit name)."""
    out = {}
    for name, unit in g.items():
        if name.startswith("_integrate_") and hasattr(unit, "py_func"):
            loop = unit.py_func.__globals__.get("population_loop")
            if loop is not None and hasattr(loop, "signatures"):
                out[name] = loop
    out["_deliver"] = g["_deliver"].py_func.__globals__["deliver_loop"]
    return out


def test_precompile_jobs_type_each_loop_as_the_chunk_loop_does(column_args):
    # a type mirrored wrongly in _precompile_jobs would compile a loop twice (once for the
    # job, once for the chunk loop): each loop must hold exactly one signature afterwards
    net, st, out = column_args
    key = E.features(net) + (False,)
    fn, g = E._variant(*key)
    fired = np.empty(net.neurons.pop_of.shape[0], np.int64)
    jobs = E._precompile_jobs(g, key, net, st, fired)
    assert {name for _, name, _ in jobs} == {"l5cell", "izh2007", "deliver", "poisson"}
    assert [w for w, _, _ in jobs] == sorted((w for w, _, _ in jobs), reverse=True)
    for _, _, job in jobs:
        job()
    loops = _loops(g)
    assert set(loops) == {"_integrate_l5cell", "_integrate_izh2007", "_deliver"}
    assert all(len(loop.signatures) == 1 for loop in loops.values()), {k: v.signatures for k, v in loops.items()}
    n_poisson = len(E._poisson_inputs.signatures)
    net_none, st_none = E._unused(*key[:2])
    fired_b = np.empty_like(fired, dtype=np.uint8)
    status = fn(net._replace(**net_none), st._replace(**st_none), out, 0, 0, fired, fired_b)
    assert tuple(status) == (0, 0)
    assert all(len(loop.signatures) == 1 for loop in loops.values()), {k: v.signatures for k, v in loops.items()}
    assert len(E._poisson_inputs.signatures) == n_poisson


def test_no_jobs_once_the_loop_is_compiled(column_args):
    net, st, out = column_args
    run = E.chunk_kernel(net, False)
    run(net, st, out, 0, 0)
    assert run.precompile_jobs(net, st) == []


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fork-based compile only on Linux")
def test_compile_in_parallel_runs_both_sides(tmp_path, monkeypatch):
    monkeypatch.setattr(_compiling, "_can_fork_compile", lambda: True)
    marks = tmp_path

    def job(name, fail=False):
        def run():
            (marks / f"{name}.{os.getpid()}").write_text("x")
            if fail:
                raise RuntimeError("a failing job is only a missed head start")
        return run

    jobs = [(3.0, "a", job("a")), (2.0, "b", job("b", fail=True)), (1.5, "c", job("c"))]
    assert _compiling.compile_in_parallel(jobs)
    made = {p.name.split(".")[0]: int(p.name.split(".")[1]) for p in marks.iterdir()}
    assert set(made) == {"a", "b", "c"}
    assert made["a"] != os.getpid()                       # the heaviest in the child
    assert made["b"] == made["c"] == os.getpid()          # the rest here, a failure ignored


def test_compile_in_parallel_restores_numba_cache_saves(monkeypatch):
    from numba.core import caching

    original = caching.IndexDataCacheFile.save
    monkeypatch.setattr(_compiling, "_can_fork_compile", lambda: True)
    _compiling.compile_in_parallel([(2.0, "a", lambda: None), (1.0, "b", lambda: None)])
    assert caching.IndexDataCacheFile.save is original


def test_compile_in_parallel_can_be_turned_off(monkeypatch):
    monkeypatch.setenv(_compiling.PARALLEL_COMPILE_ENV, "0")
    assert not _compiling._can_fork_compile()
    assert not _compiling.compile_in_parallel([(2.0, "a", lambda: None), (1.0, "b", lambda: None)])


def test_nothing_compiled_ahead_without_numba_cache():
    # the child hands its work over through numba's on-disk cache: without one (as under
    # L5SIM_NUMBA_CACHE=0) there is nothing to gain from it
    import numba as nb

    assert E._on_disk(nb.njit(cache=False)(lambda: 0))
