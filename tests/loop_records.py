"""The records the chunk loop receives for a circuit (for the tests of its compile and its
late-bound calls): captured from a 1 ms simulation, before the variant's unused fields are
set to None."""
from __future__ import annotations

import l5sim
from l5sim.kernels import variants


def loop_records(built, parallel=False):
    """``(net, st, out)`` as :func:`l5sim.simulate` hands them to the chunk loop of ``built``."""
    seen = {}
    original = variants.chunk_kernel

    def capture(net, parallel=False):
        run = original(net, parallel)

        def wrapped(net_, st_, out_, t0, n):
            seen.setdefault("args", (net_, st_, out_))
            return run(net_, st_, out_, t0, n)

        return wrapped

    variants.chunk_kernel = capture
    try:
        l5sim.simulate(built, 1.0, seed=1, parallel=parallel)
    finally:
        variants.chunk_kernel = original
    return seen["args"]
