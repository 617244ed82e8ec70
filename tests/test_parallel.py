"""The parallel kernel gives the serial kernel's spikes, and exactly the same results
whatever the thread count (issue 6: results do not depend on the number of threads)."""
import numba
import numpy as np
import pytest

import l5sim

CIRCUITS = {
    # a 2003-style network: voltage-jump synapses, noise, next-step detection
    "izh2003": ("circuits/izhikevich2003.toml", {"populations.exc.n": 400, "populations.inh.n": 100}),
    # conductance synapses on two compartments, delays, Poisson drive, gate pathway
    "column": ("circuits/l5_column.toml", {}),
    # enough pyramidal cells (4160: 9 blocks of l5cell.BLOCK) and PV cells (2184: 9 blocks of
    # izh2007.BLOCK) that both population loops share their blocks among threads (from
    # records.PARALLEL_MIN_BLOCKS blocks on)
    "column_blocks": ("circuits/l5_column.toml", {"circuit.scale": 10.4, "populations.pv.n": 210}),
    # the 2003 network with immediate nearest-spike pair STDP on its excitatory pathways
    # (the benchmark's izh2003_10k_stdp, smaller): depression and potentiation by blocks
    "izh2003_stdp": ("circuits/izhikevich2003.toml", {
        "populations.exc.n": 400, "populations.inh.n": 100,
        "plasticity.stdp_exc": {"rule": "pair", "interaction": "nearest", "A_plus": 0.1, "A_minus": 0.12,
                                "tau_plus_ms": 20.0, "tau_minus_ms": 20.0, "w_min": 0.0, "w_max": 1.0,
                                "update": "additive", "timing": "immediate"},
        "pathways.ee.plasticity": "stdp_exc", "pathways.ei.plasticity": "stdp_exc"}),
    # plastic network with deferred STDP and random delays
    "izh2006": ("circuits/izhikevich2006.toml", {"populations.exc.n": 400, "populations.inh.n": 100,
                                                  "pathways.ee.connectivity.outdegree": 40,
                                                  "pathways.ei.connectivity.outdegree": 10,
                                                  "pathways.ie.connectivity.outdegree": 50,
                                                  "recording.weights_interval_ms": 100.0}),
}


def _run(name, parallel, threads=None, duration=300.0):
    path, over = CIRCUITS[name]
    spec = l5sim.load_circuit(path, overrides=over)
    net = l5sim.build(spec, seed=7)
    old = numba.get_num_threads()
    try:
        if threads is not None:
            numba.set_num_threads(threads)
        return l5sim.simulate(net, duration, parallel=parallel)
    finally:
        numba.set_num_threads(old)


@pytest.mark.parametrize("name", sorted(CIRCUITS))
def test_parallel_kernel_equals_serial_kernel(name):
    a = _run(name, parallel=False)
    b = _run(name, parallel=True)
    assert a.spike_i.size > 100, "the circuit must be active to test anything"
    if name == "izh2003_stdp":      # immediate updates (izh2006 defers them to every 1000 ms)
        net = l5sim.build(l5sim.load_circuit(CIRCUITS[name][0], overrides=CIRCUITS[name][1]), seed=7)
        assert any(np.any(a.final_weights[p] != net.weights(p)) for p in a.final_weights), "weights must learn"
    np.testing.assert_array_equal(a.spike_i, b.spike_i)
    np.testing.assert_array_equal(a.spike_t_ms, b.spike_t_ms)
    np.testing.assert_array_equal(a.spike_burst, b.spike_burst)
    for p in a.final_weights:
        np.testing.assert_array_equal(a.final_weights[p], b.final_weights[p])
    # The two variants do the same arithmetic in the same order (no reassociation, no FMA
    # contraction: l5sim/_numba_config.py), so the state is bitwise the same too. (A numba
    # with Intel's SVML could vectorise exp differently in the two; this machine has none.)
    for pop in a.traces:
        for var in a.traces[pop]:
            np.testing.assert_array_equal(a.traces[pop][var], b.traces[pop][var])


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="needs at least two numba threads")
def test_results_do_not_depend_on_thread_count():
    for name in ("izh2003", "column", "izh2003_stdp"):
        one = _run(name, parallel=True, threads=1)
        two = _run(name, parallel=True, threads=2)
        np.testing.assert_array_equal(one.spike_i, two.spike_i)
        np.testing.assert_array_equal(one.spike_t_ms, two.spike_t_ms)
        for p in one.final_weights:
            np.testing.assert_array_equal(one.final_weights[p], two.final_weights[p])
        for pop in one.traces:
            for var in one.traces[pop]:
                np.testing.assert_array_equal(one.traces[pop][var], two.traces[pop][var])


def test_default_variant_follows_the_network_and_the_free_cpus(monkeypatch):
    """Circuits of the fused loop from FUSED_PARALLEL_MIN_NEURONS on run it in parallel when
    two CPUs or more are free (l5sim.threads.default_threads,
    here replaced by a fixed answer), on as many threads as are free; with one free CPU the
    serial variant; L5SIM_PARALLEL=0 keeps them serial. Every choice gives the
    same spikes."""
    from l5sim import simulation, threads

    path, over = CIRCUITS["column"]
    net = l5sim.build(l5sim.load_circuit(path, overrides=over), seed=7)
    # (the column's parallel kernel is the fused loop, with a threshold of its own)
    monkeypatch.setattr(simulation, "FUSED_PARALLEL_MIN_NEURONS", net.n_neurons)
    monkeypatch.delenv("L5SIM_PARALLEL", raising=False)
    old = numba.get_num_threads()
    runs = []
    try:
        for free in sorted({1, min(2, numba.config.NUMBA_NUM_THREADS)}):
            monkeypatch.setattr(threads, "default_threads", lambda pool_size=None, n=free: n)
            rec = l5sim.simulate(net, 50.0)
            par = free >= 2
            assert rec.metadata["kernel"] == {"name": "general", "parallel": par, "threads": free if par else 1}
            runs.append(rec)
    finally:
        numba.set_num_threads(old)
    monkeypatch.setenv("L5SIM_PARALLEL", "0")
    serial = l5sim.simulate(net, 50.0)
    assert serial.metadata["kernel"]["parallel"] is False
    for rec in runs:
        np.testing.assert_array_equal(rec.spike_i, serial.spike_i)
        np.testing.assert_array_equal(rec.spike_t_ms, serial.spike_t_ms)
    monkeypatch.setattr(simulation, "FUSED_PARALLEL_MIN_NEURONS", net.n_neurons + 1)
    monkeypatch.delenv("L5SIM_PARALLEL")
    assert l5sim.simulate(net, 10.0).metadata["kernel"]["parallel"] is False
