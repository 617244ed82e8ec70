"""The build's memory high-water mark (issue 18): the drawn pathways are joined into the
circuit's synapse arrays one at a time, each freed once copied, so that the synapse arrays
never exist twice. Measured with tracemalloc, which counts NumPy's allocations exactly and
the same on every machine (peak RSS depends on the allocator and on what else the process
did: benchmarks/memory_bench.py measures that)."""
import tracemalloc
from pathlib import Path

import numpy as np

import l5sim

CIRCUIT = Path(__file__).resolve().parents[1] / "circuits" / "izhikevich2003.toml"


def _sparse_2003(n):
    """The 2003 network at ``n`` cells with every pathway fixed_prob, p = 0.1 (memory_bench's)."""
    ov = {"populations.exc.n": int(round(0.8 * n)), "populations.inh.n": n - int(round(0.8 * n))}
    for name in ("ee", "ei", "ie", "ii"):
        ov[f"pathways.{name}.connectivity.rule"] = "fixed_prob"
        ov[f"pathways.{name}.connectivity.p"] = 0.1
    return l5sim.load_circuit(CIRCUIT, overrides=ov)


def test_build_never_holds_the_synapse_arrays_twice():
    l5sim.build(_sparse_2003(50), seed=1)           # imports and compiled kernels out of the count
    spec = _sparse_2003(3000)                       # 900k synapses
    tracemalloc.start()
    try:
        net = l5sim.build(spec, seed=1)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    s = net.net.synapses
    arrays = s.post.nbytes + s.weight.nbytes + s.delay.nbytes        # 10 B per synapse
    # Joining the pathways holds every drawn pathway (10 B per synapse) and one joined array
    # (the targets, 4 B per synapse), each pathway's part freed once copied; everything else
    # (neurons, row pointers) is below 1 MiB here. Keeping the parts alive while copying, as
    # the build once did, costs the synapse arrays twice (18 MB here). tracemalloc counts an
    # array whole when it is allocated; its pages become resident as they are written, so the
    # resident peak (benchmarks/memory_bench.py) is near 10 B per synapse plus one pathway's
    # targets.
    assert peak <= arrays + s.post.nbytes + 2 ** 20, (peak, arrays)


def _column(scale):
    return l5sim.load_circuit(CIRCUIT.parent / "l5_column.toml", overrides={"circuit.scale": scale})


def test_the_distance_pass_runs_in_blocks_and_draws_the_same_circuit(monkeypatch):
    # gaussian_prob's thinning and distance-dependent delays (connectivity._thin_and_delay)
    # go through the candidates in blocks: the circuit is the same for any block size (the
    # thinning draws are one stream), and the build's peak no longer holds a whole pathway's
    # distances, draws and masks (~45 bytes a candidate; 300 MB over the resident memory at
    # the 100k column, benchmarks/memory_bench.py --circuit column)
    from l5sim import connectivity

    spec = _column(6.0)                             # ~3000 cells: ee has ~290k candidates
    l5sim.build(_column(1.0), seed=1)               # imports and compiled kernels out of the count
    built, peaks = {}, {}
    for chunk in (1 << 40, 1 << 12):
        monkeypatch.setattr(connectivity, "THIN_CHUNK", chunk)
        tracemalloc.start()
        try:
            built[chunk] = l5sim.build(spec, seed=3)
            peaks[chunk] = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    a, b = (built[c].net.synapses for c in (1 << 40, 1 << 12))
    for f in ("row_ptr", "post", "weight", "delay"):
        assert np.array_equal(getattr(a, f), getattr(b, f)), f
    assert peaks[1 << 12] < 0.5 * peaks[1 << 40], peaks
