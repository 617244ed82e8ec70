"""The build's memory high-water mark (issue 18): the drawn pathways are joined into the
circuit's synapse arrays one at a time, each freed once copied, so that the synapse arrays
never exist twice. Measured with tracemalloc, which counts NumPy's allocations exactly and
the same on every machine (peak RSS depends on the allocator and on what else the process
did: benchmarks/memory_bench.py measures that)."""
import tracemalloc
from pathlib import Path

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
