"""Compiling for a cold start (l5sim._compiling): the chunk loop's functions compiled ahead,
two at a time, must be the ones the loop then uses (issue 18 item 5)."""
import os
import sys
from pathlib import Path

import numpy as np
import pytest

import l5sim
from l5sim import _compiling
from l5sim.kernels import variants as E

try:
    from loop_records import loop_records
except ImportError:     # (run from the repository's root as a package)
    from tests.loop_records import loop_records

CIRCUITS = Path(__file__).resolve().parents[1] / "circuits"


@pytest.fixture(scope="module")
def column_args():
    """The README column and the records its chunk loop receives."""
    return loop_records(l5sim.build(l5sim.load_circuit(CIRCUITS / "l5_column.toml"), seed=1))


def _loop_args(net, st, out):
    key = E.features(net) + (False,)
    fn, g = E._variant(*key)
    net_none, st_none = E._unused(*key[:2])
    net, st = net._replace(**net_none), st._replace(**st_none)
    fired = np.empty(net.neurons.pop_of.shape[0], np.int64)
    return key, fn, g, net, st, fired, np.empty_like(fired, dtype=np.uint8)


def test_precompile_jobs_compile_each_late_call_for_the_loops_types(column_args):
    # each job compiles one function the chunk loop calls late-bound, for the types the loop
    # passes it (a type mirrored wrongly would leave a second signature after the loop's own
    # binding), plus the loop itself
    net, st, out = column_args
    key, fn, g, net, st, fired, fired_b = _loop_args(net, st, out)
    jobs = E._precompile_jobs(fn, g, key, net, st, out, fired, fired_b)
    assert {name for _, name, _ in jobs} == {"l5cell", "izh2007", "deliver", "poisson", "replay", "chunk"}
    assert [w for w, _, _ in jobs] == sorted((w for w, _, _ in jobs), reverse=True)
    for _, _, job in jobs:
        job()
    targets = {sl.name.rsplit(".", 1)[1]: sl.target for sl in g["_LATE"]}
    assert set(targets) == {"l5cell_population_loop_c3f", "izh2007_population_loop_c15", "delivery_deliver_loop",
                            "poisson_inputs_step", "replay"}
    before = {name: set(t.signatures) for name, t in targets.items()}
    assert all(before.values())
    E._bind(fn, g, (net, st, out, 0, 0, fired, fired_b))       # as chunk_kernel's run() does
    assert tuple(fn(net, st, out, 0, 0, fired, fired_b)) == (0, 0)
    assert {name: set(t.signatures) for name, t in targets.items()} == before


def test_no_jobs_once_the_loop_is_compiled(column_args):
    net, st, out = column_args
    run = E.chunk_kernel(net, False)
    run(net, st, out, 0, 0)
    assert run.precompile_jobs(net, st, out) == []


def test_split_jobs_balances_the_two_sides():
    jobs = [(6.8, "l5", "a"), (4.7, "chunk", "b"), (2.2, "izh", "c"), (1.4, "poisson", "d"), (1.3, "deliver", "e"),
            (0.25, "replay", "f")]
    child, parent = _compiling.split_jobs(jobs)
    assert child[0] == "a" and sorted(child + parent) == list("abcdef")
    w = dict((j, w) for w, _, j in jobs)
    heavier = max(sum(w[j] for j in child), sum(w[j] for j in parent))
    assert heavier == pytest.approx(8.35)         # the best of the 32 splits, worked by hand: a+e+f
    assert _compiling.split_jobs(jobs[:1]) == (["a"], [])


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
