"""Where two threads pay off on the column: the serial loop against the fused parallel loop.

    .venv/bin/python -m benchmarks.fused_bench                       # sizes 510 .. 30600 cells
    .venv/bin/python -m benchmarks.fused_bench --scales 1 2 20 --repeats 7

For each size (``circuits/l5_column.toml`` at ``circuit.scale`` = s, about 510 s cells), in
one process, the repeats interleaved: the serial loop (``simulate(parallel=False)``), the
fused loop (:mod:`l5sim.kernels.fused`) on one thread and on two. Simulated time per run is
``3e6 / n`` ms (clamped to 100 .. 1000 ms), so that each run takes a fraction of a second.
Every run's spikes are checked equal to the serial run's. Reported: min and median wall time
of ``simulate`` per biological second, and each mode's speed-up over serial (min / min,
median / median). No peer runs this workload: it is l5sim against itself, the figures behind
``l5sim.simulation.FUSED_PARALLEL_MIN_NEURONS`` (from where ``simulate(parallel=None)`` runs
the fused loop on two free CPUs). Writes ``benchmarks/results/fused/fused.json`` (atomically).
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import sys
import time

from . import run as R
from .peers import _common as C

OUT = os.path.join(R.BENCH, "results", "fused")
MODES = (("serial", False, 1), ("fused_1", True, 1), ("fused_2", True, 2))
SCALES = (1.0, 1.5, 2.0, 3.0, 4.0, 10.0, 20.0, 60.0)


def duration_ms(n: int) -> float:
    return float(min(1000.0, max(100.0, round(3e6 / n, -1))))


def measure(scale: float, repeats: int, seed: int) -> dict:
    import numpy as np

    import l5sim
    from l5sim.kernels import fused

    built = l5sim.build(l5sim.load_circuit(os.path.join(R.ROOT, "circuits", "l5_column.toml"),
                                           overrides={"circuit.scale": scale}), seed=seed)
    n = built.n_neurons
    dur = duration_ms(n)
    old = fused.thread_count
    times = {m: [] for m, _, _ in MODES}
    ref = None
    try:
        for m, par, th in MODES:        # compile or load, untimed
            fused.thread_count = lambda th=th: th
            l5sim.simulate(built, 10.0, parallel=par, progress=False)
        load0 = C.loadavg()
        for _ in range(repeats):
            for m, par, th in MODES:
                fused.thread_count = lambda th=th: th
                t = time.perf_counter()
                rec = l5sim.simulate(built, dur, parallel=par, progress=False)
                times[m].append((time.perf_counter() - t) * 1000.0 / dur)
                if ref is None:
                    ref = (rec.spike_i, rec.spike_t_ms)
                elif not (np.array_equal(ref[0], rec.spike_i) and np.array_equal(ref[1], rec.spike_t_ms)):
                    raise RuntimeError(f"scale {scale}: {m} gave other spikes than serial")
    finally:
        fused.thread_count = old
    row = dict(scale=scale, neurons=n, duration_ms=dur, spikes=int(ref[0].size), loadavg_at_start=load0,
               loadavg_at_end=C.loadavg(), modes={})
    for m, _, _ in MODES:
        v = times[m]
        row["modes"][m] = dict(min_s=min(v), median_s=statistics.median(v), all_s=v)
    s = row["modes"]["serial"]
    for m, _, _ in MODES:
        r = row["modes"][m]
        r["speedup_min"] = s["min_s"] / r["min_s"]
        r["speedup_median"] = s["median_s"] / r["median_s"]
    return row


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.fused_bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--scales", nargs="+", type=float, default=list(SCALES))
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--out", default=OUT)
    args = p.parse_args(argv)
    from l5sim.simulation import FUSED_PARALLEL_MIN_NEURONS

    doc = dict(date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
               command="python -m benchmarks.fused_bench " + " ".join(argv if argv is not None else sys.argv[1:]),
               machine=R.machine_info(), repeats=args.repeats, threshold=FUSED_PARALLEL_MIN_NEURONS, sizes=[])
    os.makedirs(args.out, exist_ok=True)
    for sc in args.scales:
        row = measure(sc, args.repeats, args.seed)
        doc["sizes"].append(row)
        print(f"  {row['neurons']:6d} cells: " + "  ".join(
            f"{m} {r['min_s']:.3f} s/bio s (x{r['speedup_min']:.2f})" for m, r in row["modes"].items())
            + f"  load {row['loadavg_at_start'][0]}", file=sys.stderr)
        R.write_atomic(os.path.join(args.out, "fused.json"), json.dumps(doc, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
