"""The fused parallel loop (l5sim.kernels.fused): the serial loop's results for any thread
count, through its early stops, modulated pathway gains and a thread that starts late; and
the atomic counters it meets on."""
import threading

import numba
import numpy as np
import pytest

import l5sim
import l5sim.simulation as S
from l5sim.errors import DivergenceError
from l5sim.kernels import fused, records, sync, variants

COLUMN = "circuits/l5_column.toml"
# ACh pulses that scale two pathways' output (pathway_gain) and drive the PV cells, so that a
# step's spikes must be delivered with the gains of their own step (fused: gain_prev)
PULSED = {"modulators.ACh": {"tonic": 0.0,
                             "pulses": [{"onset_ms": 40.0, "amplitude": 1.0, "shape": "square", "duration_ms": 30.0},
                                        {"onset_ms": 120.0, "amplitude": 0.7, "shape": "exponential",
                                         "duration_ms": 60.0, "tau_ms": 15.0}],
                             "targets": {"pathway_gain": {"ee": 0.9, "pv_pyr": -0.6}, "pv": {"soma_drive_pA": 40.0}}}}


def _simulate(built, duration, parallel, threads=None, **kw):
    """(the fused loop's threads are its own: more than numba's pool is fine)"""
    old = fused.thread_count
    try:
        if threads is not None:
            fused.thread_count = lambda: threads
        return l5sim.simulate(built, duration, parallel=parallel, progress=False, **kw)
    finally:
        fused.thread_count = old


def _same(a, b):
    for f in ("spike_i", "spike_t_ms", "spike_burst"):
        np.testing.assert_array_equal(getattr(a, f), getattr(b, f), err_msg=f)
    for pop in a.traces:
        for var in a.traces[pop]:
            np.testing.assert_array_equal(a.traces[pop][var], b.traces[pop][var], err_msg=f"{pop}.{var}")


def test_the_column_runs_the_fused_loop_in_parallel():
    built = l5sim.build(l5sim.load_circuit(COLUMN), seed=1)
    kinds, plastic, _ = variants.features(built.net)
    assert fused.eligible(kinds, plastic)
    run = variants.chunk_kernel(built.net, parallel=True)
    assert run.__qualname__.startswith("_fused_kernel")
    # plasticity keeps the region-per-loop variant
    stdp = l5sim.build(l5sim.load_circuit("circuits/l5_stdp.toml"), seed=1)
    assert not fused.eligible(*variants.features(stdp.net)[:2])


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_modulated_pathway_gains_give_the_serial_results(threads):
    built = l5sim.build(l5sim.load_circuit(COLUMN, overrides=PULSED), seed=4)
    a = _simulate(built, 220.0, parallel=False)
    b = _simulate(built, 220.0, parallel=True, threads=threads)
    assert a.spike_i.size > 500, "the column must be active to test anything"
    _same(a, b)


def test_a_spike_record_that_fills_up_stops_and_resumes_the_chunk_exactly(monkeypatch):
    # a record of 3 N spikes is full (room for a step's N no more) after 2 N: each call stops
    # with status 1 after delivering its last step's spikes, the next goes on from there
    monkeypatch.setattr(S, "SPIKE_BUFFER_MIN", 0)
    built = l5sim.build(l5sim.load_circuit(COLUMN, overrides={"circuit.scale": 2.0}), seed=2)
    a = _simulate(built, 500.0, parallel=False)
    b = _simulate(built, 500.0, parallel=True, threads=2)
    assert a.spike_i.size > 4 * built.n_neurons, "the record must fill up at least twice"
    _same(a, b)


def test_divergence_stops_with_the_serial_loops_neuron_variable_and_time():
    spec = l5sim.load_circuit("circuits/l5_cell.toml", overrides={"inputs.dend_step.amplitude_pA": 1e9})
    built = l5sim.build(spec, 0)
    errs = []
    for parallel, threads in ((False, None), (True, 2)):
        with pytest.raises(DivergenceError) as e:
            _simulate(built, 400.0, parallel=parallel, threads=threads)
        errs.append((e.value.population, e.value.neuron, e.value.variable, e.value.time_ms, e.value.value))
    assert errs[0] == errs[1]


class _LatePool:
    """A pool whose threads start only when their result is asked for: after this thread
    has done the whole chunk (a threading layer that runs a region's parts one by one)."""

    def submit(self, fn, *args):
        class Late:
            def result(self_):
                return fn(*args)
        return Late()


def test_a_thread_that_starts_late_finds_the_work_done_and_leaves(monkeypatch):
    built = l5sim.build(l5sim.load_circuit(COLUMN), seed=5)
    a = _simulate(built, 100.0, parallel=False)
    monkeypatch.setattr(fused, "_pool", lambda n: _LatePool())
    b = _simulate(built, 100.0, parallel=True, threads=3)
    _same(a, b)


def test_items_are_whole_tiles_covering_every_target_in_equal_shares():
    for N, T, m in ((510, 2, 2), (10200, 2, 2), (10200, 4, 4), (100, 8, 1), (1530, 2, 2), (100_000, 3, 2)):
        e = fused.items(N, T, m)
        assert len(e) == T * m + 1 and e[0] == 0 and e[-1] == N and np.all(np.diff(e) >= 0), (N, T, m, e)
        assert np.all(e[:-1] % records.EVENT_TILE == 0), (N, T, m, e)
        shares = e[m::m] - e[:-1:m]
        # a thread's share: N / T rounded to whole tiles
        assert np.all(np.abs(shares - N / T) <= records.EVENT_TILE), (N, T, m, shares)


@numba.njit(nogil=True)
def _count(ctl, n):
    for _ in range(n):
        sync.atomic_add(ctl, 0, 1)
        while True:         # an increment by compare-exchange, retried until it wins
            old = sync.load_acquire(ctl, 8)
            if sync.compare_exchange(ctl, 8, old, old + 2):
                break
    sync.store_release(ctl, 16, 1)


def test_atomic_counters_lose_no_update_between_threads():
    ctl = np.zeros(24, np.int64)
    n = 200_000
    ts = [threading.Thread(target=_count, args=(ctl, n)) for _ in range(3)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert ctl[0] == 3 * n and ctl[8] == 6 * n and ctl[16] == 1, ctl[[0, 8, 16]]


def test_a_circuit_without_l5_cells_runs_the_fused_loop_exactly():
    # PV and SOM cells only (the variant without the L5 block function); the SOM cells detect
    # their spikes at the next step's start (spikes of the serial part, delivered by the items
    # before the step's replay) with a delay of 0 (they arrive in the step they are sent);
    # both kinds of Poisson input: one count per target (drawn by the block loops) and one
    # shared train (drawn once a step by the serial part, then added by every item)
    from l5sim.spec import from_dict

    spec = from_dict({
        "circuit": {"name": "pv_som", "dt_ms": 0.1},
        "populations": {"pv": {"model": "izhikevich2007", "n": 1500, "preset": "BASKET"},
                        "som": {"model": "izhikevich2007", "n": 900, "preset": "LTS",
                                "spike_detection": "next_step"}},
        "pathways": {
            "pv_som": {"pre": "pv", "post": "som", "receptors": {"GABA_A": 1.0},
                       "connectivity": {"rule": "fixed_prob", "p": 0.05, "weight": 1.0}, "delay_steps": 3},
            "som_pv": {"pre": "som", "post": "pv", "receptors": {"AMPA": 1.0},
                       "connectivity": {"rule": "fixed_prob", "p": 0.05, "weight": 0.5}, "delay_steps": 0}},
        "inputs": {"bg_pv": {"kind": "poisson", "population": "pv", "rate_hz": 400.0, "weight": 1.0,
                             "receptors": {"AMPA": 1.0}},
                   "volley": {"kind": "poisson", "population": "som", "rate_hz": 80.0, "weight": 3.0,
                              "shared": True, "receptors": {"AMPA": 1.0}},
                   "bg_som": {"kind": "poisson", "population": "som", "rate_hz": 300.0, "weight": 1.0,
                              "receptors": {"AMPA": 1.0}}}})
    built = l5sim.build(spec, seed=3)
    kinds, plastic, _ = variants.features(built.net)
    assert kinds == (records.K_IZH07,) and fused.eligible(kinds, plastic)
    a = _simulate(built, 200.0, parallel=False)
    assert a.spike_i.size > 1000, "the circuit must be active to test anything"
    for threads in (2, 3):
        _same(a, _simulate(built, 200.0, parallel=True, threads=threads))


def test_a_thread_that_fails_ends_the_chunk_for_all(monkeypatch):
    # thread 1 takes an item of the first step (its stamp moved, as _phase does) and fails
    # before finishing it; thread 0 then can never complete that step: it must leave instead
    # of waiting forever, and the failure must reach the caller
    built = l5sim.build(l5sim.load_circuit(COLUMN, overrides={"circuit.scale": 4.0}), seed=5)
    _simulate(built, 5.0, parallel=True, threads=2)          # compiled and bound
    real = variants._VARIANTS[("fused",) + variants.features(built.net)][0]
    taken = threading.Event()

    def flaky(w, n_threads, net, st, out, t0, n_steps, fired, fired_b, ctl, *rest):
        if w == 1:
            n_items = net.synapses.blocks.shape[0] - 1
            ctl[fused.C_STAMP + 8 * (n_items // n_threads)] = 1      # its first own item, phase 0
            taken.set()
            raise RuntimeError("thread 1 failed")
        taken.wait(30.0)
        return real(w, n_threads, net, st, out, t0, n_steps, fired, fired_b, ctl, *rest)

    done = {}

    def go():
        try:
            fused.run(flaky, 2, *_fused_args(built))
        except RuntimeError as e:
            done["error"] = str(e)

    t = threading.Thread(target=go, daemon=True)
    t.start()
    t.join(60.0)
    assert not t.is_alive(), "the chunk hung"
    assert done.get("error") == "thread 1 failed"


def _fused_args(built):
    """(net, st, out, t0, n_steps, fired, fired_b, gain_prev, shared_cnt) of a 100-step chunk
    of ``built``, as the simulation hands them to the fused loop."""
    from loop_records import loop_records

    net, st, out = loop_records(built, parallel=True)
    kinds, plastic, _ = variants.features(net)
    net_none, st_none = variants._unused(kinds, plastic)
    n = built.n_neurons
    net = net._replace(synapses=net.synapses._replace(blocks=fused.items(n, 2, fused.ITEMS_PER_THREAD)), **net_none)
    return (net, st._replace(**st_none), out, 0, 100, np.empty(2 * n, np.int64), np.empty(2 * n, np.uint8),
            np.empty(net.synapses.path_delay.shape[0]), np.zeros(net.poisson_inputs.lo.shape[0], np.int64))
