"""Pending arrivals (l5sim.kernels.events): the event lists, their spill into the dense
ring, the dense tiles, and the dirty marks of the ring and of the step's arrivals.

The dense ring, one entry per (slot, channel, target) added into where a spike is
delivered, is the reference: the lists must give bitwise the same sums, whether they hold
everything, spill at every other event, or are skipped for some or all tiles."""
from pathlib import Path

import numpy as np
import pytest

import l5sim
from l5sim.kernels import events as EV
from l5sim.kernels.records import EVENT_CH_BITS, EVENT_TILE, RING_LINE
from l5sim.session import Session

CIRCUITS = Path(__file__).resolve().parents[1] / "circuits"


def _with_capacities(s: Session, cap) -> None:
    """Give session ``s`` (not run yet) event lists of the per-tile capacities ``cap``."""
    sy = s.st.synapses
    D, n_tiles = sy.events_count.shape
    cap = np.broadcast_to(np.asarray(cap, np.int64), (n_tiles,))
    off = np.concatenate([[0], np.cumsum(cap)]).astype(np.int64)
    s.st = s.st._replace(synapses=sy._replace(events_off=off, events_code=np.zeros((D, off[-1]), EV.CODE_DTYPE),
                                              events_value=np.zeros((D, off[-1]))))


def _run(built, seed, cap=None, ms=40.0, mark_all=False):
    s = Session(built, seed=seed, chunk_ms=1.0)
    if cap is not None:
        _with_capacities(s, cap)
    spikes, vs = [], []
    for _ in range(int(ms)):
        if mark_all:
            s.st.synapses.ring_dirty[:] = 1
            s.st.synapses.now_dirty[:] = 1
        spikes.append(s.run(1.0)[0])
        vs.append(s.st.neurons.v.copy())
    return np.concatenate(spikes), np.array(vs)


@pytest.fixture(scope="module")
def column():
    return l5sim.build(l5sim.load_circuit(CIRCUITS / "l5_column.toml"), 3)


@pytest.mark.parametrize("seed, shared", [(3, False), (5, False), (6, True)])
def test_spilled_and_dense_tiles_give_the_same_bits(column, seed, shared):
    # lists of one entry (a spill at nearly every arrival), no lists at all (the dense ring,
    # delivered into directly), and tiles alternately dense and of one entry: all bitwise
    # the states and spikes of the lists the circuit gets; also with a shared drive to the
    # L5 cells (drawn by the whole-population pass, after the replay, before the blocks)
    if shared:
        column = l5sim.build(l5sim.load_circuit(CIRCUITS / "l5_column.toml",
                                                overrides={"inputs.bg_soma.shared": True}), seed)
    ref_spikes, ref_v = _run(column, seed)
    assert ref_spikes.size > 100
    n_tiles = -(-column.n_neurons // EVENT_TILE)
    for cap in (1, 0, np.arange(n_tiles) % 2):
        spikes, v = _run(column, seed, cap)
        assert np.array_equal(spikes, ref_spikes), f"capacity {cap}: spikes differ"
        assert np.array_equal(v, ref_v), f"capacity {cap}: potentials differ"


def test_pending_arrivals_are_kept_and_marked(column):
    s = Session(column, seed=1, chunk_ms=1.0)
    _with_capacities(s, np.arange(-(-column.n_neurons // EVENT_TILE)) % 3)   # dense, 1, 2 entries per tile
    listed = spilled = 0
    used = column.net.receptors.used
    for _ in range(30):                       # 30 ms, checked after every 1 ms call
        s.run(1.0)
        sy = s.st.synapses
        assert not sy.now.any(), "the step's arrivals were not all read and cleared"
        assert not sy.now_dirty.any()
        slot, ch, j = np.nonzero(sy.ring)
        assert np.all(sy.ring_dirty[slot, ch, j // RING_LINE] == 1), "a spilled arrival waits in an unmarked line"
        assert np.all(sy.spilled[slot, j // EVENT_TILE] == 1), "a spilled arrival's tile is not flagged"
        spilled += slot.size
        for sl in range(sy.events_count.shape[0]):
            for tile in range(sy.events_count.shape[1]):
                n = sy.events_count[sl, tile]
                assert n <= sy.events_off[tile + 1] - sy.events_off[tile]
                c = sy.events_code[sl, sy.events_off[tile]:sy.events_off[tile] + n]
                assert np.all(c >> EVENT_CH_BITS < EVENT_TILE), "a code beyond its tile"
                assert np.all(np.isin(c & EV.CH_MASK, used)), "an arrival on a channel no pathway uses"
                listed += n
    assert listed > 0 and spilled > 0
    total = EV.pending(sy.events_off, sy.events_code, sy.events_value, sy.events_count, sy.ring)
    assert np.count_nonzero(total) >= np.count_nonzero(sy.ring)


def test_marks_do_not_change_results(column):
    # a run whose marks are all set (every line read, as before the marks existed) gives
    # the same spikes: the marks only skip lines that hold zeros
    a, _ = _run(column, 4)
    b, _ = _run(column, 4, cap=np.arange(-(-column.n_neurons // EVENT_TILE)) % 2, mark_all=True)
    assert a.size > 50 and np.array_equal(a, b)


def test_capacities_follow_the_load():
    dt = 0.1
    # one step of arrivals at EVENT_RATE_HZ: load x dt x 1e-3 x rate, in whole lines, at
    # least EVENT_CAP_MIN; none without synapses; the dense ring above DENSE_PER_TARGET per target
    per_pair = dt * 1e-3 * EV.EVENT_RATE_HZ
    heavy = int(EV.DENSE_PER_TARGET * EVENT_TILE / per_pair) + 1
    load = np.array([0, 10, 33_000, 33_001, heavy])
    off = EV.capacities(load, dt)
    cap = np.diff(off)
    assert cap[0] == 0 and cap[1] == EV.EVENT_CAP_MIN and cap[4] == 0
    assert cap[2] == 336 and cap[3] == 336          # 330 and 330.01 -> 336 (whole 8-entry lines)
    assert off[0] == 0 and np.all(cap % 8 == 0)


def test_tile_load_counts_receptor_pairs():
    post = np.array([0, 1, 300, 5, 600, 601])
    # pathway 0: synapses 0..3 with 2 receptor channels; pathway 1: 4..6 with 1
    load = EV.tile_load(post, [(0, 3), (3, 6)], np.array([0, 2, 3]), 3)
    assert load.tolist() == [2 * 2 + 1, 2 * 1, 2]


def test_sizing_bounds_the_lists(column):
    from l5sim import sizing
    from l5sim.simulation import initial_state

    assert sizing.EVENT_RATE_HZ == EV.EVENT_RATE_HZ
    st = initial_state(column, 1)
    assert st.synapses.events_off[-1] <= sizing._event_capacity(column)
