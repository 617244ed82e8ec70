"""The delay ring's dirty marks (SynapseState.ring_dirty): every pending arrival's line is
marked, and a slot's marks are cleared once read (l5sim.kernels.records.RING_LINE)."""
from pathlib import Path

import numpy as np
import pytest

import l5sim
from l5sim.kernels.records import RING_LINE
from l5sim.session import Session

CIRCUITS = Path(__file__).resolve().parents[1] / "circuits"


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_pending_arrival_is_marked(seed):
    built = l5sim.build(l5sim.load_circuit(CIRCUITS / "l5_column.toml"), seed)
    s = Session(built, seed=seed, chunk_ms=1.0)
    pending = marked_lines = 0
    for _ in range(30):                       # 30 ms, checked after every 1 ms call
        s.run(1.0)
        ring, dirty = s.st.synapses.ring, s.st.synapses.ring_dirty
        slot, ch, j = np.nonzero(ring)
        pending += slot.size
        assert np.all(dirty[slot, ch, j // RING_LINE] == 1), "an arrival waits in an unmarked line"
        marked_lines += int(dirty.sum())
    # the ring is mostly empty and so are the marks: the point of reading marked lines only
    assert pending > 0
    n_lines = dirty[0].size * dirty.shape[0]
    assert marked_lines / 30 < 0.5 * n_lines, f"{marked_lines / 30:.0f} of {n_lines} lines marked on average"


def test_marks_do_not_change_results():
    # a run whose marks are all set (every line read, as before the marks existed) gives
    # the same spikes: the marks only skip lines that hold zeros
    built = l5sim.build(l5sim.load_circuit(CIRCUITS / "l5_column.toml"), 4)
    a = Session(built, seed=4, chunk_ms=1.0)
    b = Session(built, seed=4, chunk_ms=1.0)
    spikes_a, spikes_b = [], []
    for _ in range(40):
        b.st.synapses.ring_dirty[:] = 1
        ra, rb = a.run(1.0), b.run(1.0)
        spikes_a.append(ra[0])
        spikes_b.append(rb[0])
    sa, sb = np.concatenate(spikes_a), np.concatenate(spikes_b)
    assert sa.size > 50 and np.array_equal(sa, sb)
