"""Timing of the issue-4 gain sweep: 9 conditions x 12 input levels of the single L5 cell,
2 s of simulated time per point at dt 0.1 ms (about 2.2 million cell-steps), all trials in
one compiled call. Reports the cold call (compile or cache load included) and the best of
``--repeats`` warm calls, wall and CPU time, and the machine's load average.

    .venv/bin/python benchmarks/gain_sweep_bench.py [--repeats 5] [--out benchmarks/results/gain_sweep.json]
"""
from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--out", default="benchmarks/results/gain_sweep.json")
    args = ap.parse_args(argv)
    import l5sim
    from l5sim.experiments import gain_sweep
    from l5sim.recording import write_json

    spec = l5sim.load_circuit(Path(__file__).resolve().parents[1] / "circuits" / "l5_cell.toml")
    vary = np.linspace(0.0, 500.0, 9)
    levels = np.linspace(500.0, 1600.0, 12)
    kw = dict(vary_key="inputs.dend_step.amplitude_pA", vary_values=vary,
              input_key="inputs.soma_step.amplitude_pA", input_values=levels, duration_ms=2000.0)
    load0 = os.getloadavg()[0]
    t = time.perf_counter()
    gain_sweep(spec, seeds=[0], **kw)
    cold = time.perf_counter() - t
    walls, cpus = [], []
    for k in range(args.repeats):
        t, c = time.perf_counter(), time.process_time()
        res = gain_sweep(spec, seeds=[k + 1], **kw)
        walls.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c)
    cell_steps = len(vary) * len(levels) * int(round(2000.0 / spec.dt_ms))
    out = {"conditions": len(vary), "levels": len(levels), "duration_ms": 2000.0, "dt_ms": spec.dt_ms,
           "cell_steps": cell_steps, "cold_s": cold, "warm_wall_s_best": min(walls), "warm_cpu_s_best": min(cpus),
           "warm_wall_s": walls, "cell_steps_per_s": cell_steps / min(cpus),
           "load_average_1min": [load0, os.getloadavg()[0]], "nproc": os.cpu_count(),
           "slopes_hz_per_pa": [c["slope_hz_per_pa"] for c in res.curves]}
    write_json(args.out, out)
    print(json.dumps({k: v for k, v in out.items() if k not in ("warm_wall_s", "slopes_hz_per_pa")}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
