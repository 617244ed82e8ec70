"""The point-neuron kernel (l5sim/kernels/point.py) against the general kernel and the
naive reference: the same spikes and bitwise the same traces, whatever the blocking of the
network, the thread count, the chunking or the size of the spike buffer (issue 6)."""
import numba
import numpy as np
import pytest

import l5sim
from l5sim import simulation
from l5sim.errors import SpecError
from l5sim.kernels import point
from l5sim.spec import from_dict

try:
    import naive
except ImportError:  # pragma: no cover - tests/ turned into a package
    from tests import naive


def point_mix():
    """Everything the point kernel runs: the 2003 half-step scheme with next-step detection
    and delay-0 synapses (dense and sparse rows), a same-step Euler population with delays
    2-5, heterogeneity, two noise sources, a step current and a pulse train, v/u traces."""
    return {
        "circuit": {"name": "point_mix", "dt_ms": 1.0},
        "populations": {
            "exc": {"model": "izhikevich2003", "n": 150, "integration": "izh2003", "spike_detection": "next_step",
                    "heterogeneity": "izh2003_exc", "init": {"v_mV": -65.0}},
            "inh": {"model": "izhikevich2003", "n": 40, "params": {"d": 2.0}, "integration": "izh2003",
                    "spike_detection": "next_step", "heterogeneity": "izh2003_inh",
                    "init": {"v_mV": -65.0, "v_sd_mV": 2.0}},
            "ib": {"model": "izhikevich2003", "n": 30, "preset": "IB", "integration": "euler"},
        },
        "pathways": {
            "ee": {"pre": "exc", "post": "exc", "receptors": {"CURRENT": 1.0}, "delay_steps": 0,
                   "connectivity": {"rule": "all_to_all", "weight_low": 0.0, "weight_high": 0.5, "autapses": True}},
            "ei": {"pre": "exc", "post": "inh", "receptors": {"CURRENT": 1.0}, "delay_steps": 1,
                   "connectivity": {"rule": "fixed_prob", "p": 0.4, "weight_low": 0.0, "weight_high": 1.0}},
            "ie": {"pre": "inh", "post": "exc", "receptors": {"CURRENT": 1.0}, "delay_steps": 0,
                   "connectivity": {"rule": "fixed_prob", "p": 0.5, "weight_low": -1.0, "weight_high": 0.0}},
            "ii": {"pre": "inh", "post": "inh", "receptors": {"CURRENT": 0.5}, "delay_steps": 3,
                   "connectivity": {"rule": "fixed_prob", "p": 0.5, "weight": -1.0}},
            "e_ib": {"pre": "exc", "post": "ib", "receptors": {"CURRENT": 1.0}, "delay_steps": 2,
                     "connectivity": {"rule": "fixed_prob", "p": 0.3, "weight": 1.0}},
            "ib_e": {"pre": "ib", "post": "exc", "receptors": {"CURRENT": 1.0}, "delay_steps": 5,
                     "connectivity": {"rule": "fixed_prob", "p": 0.5, "weight": 2.0}},
            "ib_ib": {"pre": "ib", "post": "ib", "receptors": {"CURRENT": 1.0}, "delay_steps": 1,
                      "connectivity": {"rule": "all_to_all", "weight": 0.3}},
        },
        "inputs": {
            "th_e": {"kind": "noise", "population": "exc", "sigma_pA": 5.0},
            "th_e2": {"kind": "noise", "population": "exc", "sigma_pA": 2.0, "start_ms": 100.0},
            "th_i": {"kind": "noise", "population": "inh", "sigma_pA": 2.0},
            "ib_dc": {"kind": "current", "population": "ib", "amplitude_pA": 6.0, "start_ms": 50.0, "stop_ms": 300.0},
            "ib_pulses": {"kind": "current", "population": "ib", "amplitude_pA": 10.0, "start_ms": 320.0,
                          "period_ms": 40.0, "pulse_ms": 5.0},
        },
        "recording": {"traces": {
            "exc": {"neurons": [0, 7, 149], "variables": ["v", "u"], "interval_ms": 1.0},
            "ib": {"neurons": [1, 29], "variables": ["v", "u"], "interval_ms": 2.0}}},
    }


DURATION = 400.0


@pytest.fixture(scope="module")
def built():
    b = l5sim.build(from_dict(point_mix()), 5)
    assert point.eligible(b) is None
    return b


@pytest.fixture(scope="module")
def general(built):
    rec = l5sim.simulate(built, DURATION, kernel="general")
    for pop in ("exc", "inh", "ib"):
        assert rec.spikes(pop)[0].size > 20, f"{pop} must fire to test anything"
    return rec


def assert_identical(a, b):
    np.testing.assert_array_equal(a.spike_i, b.spike_i)
    np.testing.assert_array_equal(a.spike_t_ms, b.spike_t_ms)
    np.testing.assert_array_equal(a.spike_burst, b.spike_burst)
    assert a.traces.keys() == b.traces.keys()
    for pop, vs in a.traces.items():
        for var, arr in vs.items():
            np.testing.assert_array_equal(arr, b.traces[pop][var])


def test_point_kernel_equals_general_kernel(built, general):
    rec = l5sim.simulate(built, DURATION, kernel="point")
    assert_identical(general, rec)
    assert rec.metadata["kernel"] == {"name": "point", "parallel": False, "threads": 1}
    assert general.metadata["kernel"]["name"] == "general"
    assert l5sim.simulate(built, 10.0).metadata["kernel"]["name"] == "point"     # auto


def test_point_kernel_fires_the_naive_spikes(built, general):
    rn = naive.simulate(built, DURATION)
    np.testing.assert_array_equal(np.sort(general.spike_i), np.sort(rn.spike_i))
    rp = l5sim.simulate(built, DURATION, kernel="point")
    order = np.lexsort((rn.spike_i, rn.spike_t_ms))
    np.testing.assert_array_equal(rp.spike_i, rn.spike_i[order])
    np.testing.assert_array_equal(rp.spike_t_ms, rn.spike_t_ms[order])
    for pop, vs in rn.traces.items():
        for var, arr in vs.items():
            np.testing.assert_allclose(rp.traces[pop][var], arr, rtol=0, atol=1e-9)


@pytest.mark.parametrize("blocks", [2, 3])
@pytest.mark.parametrize("parallel", [False, True])
def test_blocking_changes_nothing(built, general, monkeypatch, blocks, parallel):
    monkeypatch.setattr(simulation, "point_blocks", lambda par: blocks)
    wk = point.make_work(built, blocks)
    assert wk.blk.size == blocks + 1 and np.all(np.diff(wk.blk) > 0)
    assert_identical(general, l5sim.simulate(built, DURATION, kernel="point", parallel=parallel))


def test_block_size_cap_and_local_targets(built, general, monkeypatch):
    """Targets are stored as uint16 offsets within a block: a network larger than the cap is
    cut into more blocks than asked for, and every offset points at the synapse's target."""
    monkeypatch.setattr(point, "MAX_BLOCK", 100)
    built.layouts.clear()
    wk = point.make_work(built, 1)
    N = built.n_neurons
    # boundaries are rounded to multiples of 64: a block may exceed the cap by less than 64
    assert wk.blk.size - 1 >= -(-N // 100) > 1 and np.all(np.diff(wk.blk) < 100 + 64)
    post = built.net.synapses.post
    for b in range(wk.blk.size - 1):
        for r in range(wk.rsplit.shape[0]):
            s0, s1 = wk.rsplit[r, b], wk.rsplit[r, b + 1]
            np.testing.assert_array_equal(wk.lpost[s0:s1].astype(np.int64) + wk.blk[b], post[s0:s1])
    monkeypatch.setattr(simulation, "point_blocks", lambda par: 1)
    assert_identical(general, l5sim.simulate(built, DURATION, kernel="point", parallel=False))
    built.layouts.clear()


def test_layout_is_kept_for_later_runs_and_only_for_the_same_synapses(built, general):
    built.layouts.clear()
    a = point.make_work(built, 2)
    b = point.make_work(built, 2)
    assert b.lpost is a.lpost and b.rsplit is a.rsplit                  # kept
    n = built.net.synapses
    own = n.post.nbytes + n.weight.nbytes + n.delay.nbytes + n.row_ptr.nbytes
    assert built.synapse_bytes() == own + a.blk.nbytes + a.rsplit.nbytes + a.lpost.nbytes
    c = point.make_work(built, 3)
    assert c.lpost is not a.lpost                                        # another blocking
    saved = built.net
    try:
        built.net = saved._replace(synapses=saved.synapses._replace(post=saved.synapses.post.copy()))  # other arrays
        d = point.make_work(built, 3)
        assert d.lpost is not c.lpost
        np.testing.assert_array_equal(d.lpost, c.lpost)
    finally:
        built.net = saved
        built.layouts.clear()
    assert_identical(general, l5sim.simulate(built, DURATION, kernel="point"))
    assert "point" in built.layouts
    assert_identical(general, l5sim.simulate(built, DURATION, kernel="point"))   # the kept layout


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="needs at least two numba threads")
def test_thread_count_changes_nothing(built, general):
    old = numba.get_num_threads()
    try:
        for n in (1, 2):
            numba.set_num_threads(n)
            assert_identical(general, l5sim.simulate(built, DURATION, kernel="point", parallel=True))
    finally:
        numba.set_num_threads(old)


def test_chunking_and_a_full_spike_buffer_change_nothing(built, general, monkeypatch):
    # a buffer of 4 N spikes fills every few steps: the kernel returns with the next step's
    # spikes detected and delivers them on the next call
    monkeypatch.setattr(simulation, "SPIKE_BUFFER_MIN", 0)
    monkeypatch.setattr(simulation, "point_blocks", lambda par: 2)
    full = []
    kernel = point.run_chunk

    def counting(*args):
        status, done = kernel(*args)
        full.append(status == 1 and 0 < done < args[4])
        return status, done

    monkeypatch.setattr(point, "run_chunk", counting)
    for chunk in (1.0, 37.0, 100.0):
        assert_identical(general, l5sim.simulate(built, DURATION, kernel="point", chunk_ms=chunk))
    assert sum(full) >= 3, "the spike buffer must have filled up within a chunk"


def test_auto_picks_the_point_kernel_only_where_it_applies(built):
    assert point.eligible(l5sim.build(l5sim.load_circuit("circuits/izhikevich2003.toml"), 0)) is None
    for path in ("circuits/l5_column.toml", "circuits/izhikevich2006.toml", "circuits/l5_cell.toml"):
        why = point.eligible(l5sim.build(l5sim.load_circuit(path), 0))
        assert isinstance(why, str) and why
        with pytest.raises(SpecError, match="point kernel"):
            l5sim.simulate(l5sim.build(l5sim.load_circuit(path), 0), 1.0, kernel="point")
    with pytest.raises(SpecError, match="kernel"):
        l5sim.simulate(built, 1.0, kernel="fast")


def test_point_kernel_reports_divergence_like_the_general_kernel():
    d = point_mix()
    d["inputs"]["kick"] = {"kind": "current", "population": "inh", "amplitude_pA": 1e300, "start_ms": 30.0,
                           "profile": "neurons", "neurons": [3]}
    b = l5sim.build(from_dict(d), 1)
    errs = []
    for kernel in ("general", "point"):
        with pytest.raises(l5sim.DivergenceError) as exc:
            l5sim.simulate(b, 100.0, kernel=kernel)
        errs.append(exc.value)
    assert (errs[0].population, errs[0].neuron, errs[0].variable) == ("inh", 3, "v")
    assert str(errs[0]) == str(errs[1])
