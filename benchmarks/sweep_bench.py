"""Throughput and overhead of parameter sweeps (issue 7).

    .venv/bin/python benchmarks/sweep_bench.py                      # both workloads, 2 workers
    .venv/bin/python benchmarks/sweep_bench.py --workers 16 --json /tmp/sweep_bench.json
    .venv/bin/python benchmarks/sweep_bench.py --only cell --cell-runs 1000 --cell-ms 200

Two workloads, each run four ways with the same runs and seeds:

* ``cell``: ``--cell-runs`` short runs of ``circuits/l5_cell.toml`` (somatic step amplitude x
  seeds), ``--cell-ms`` of biological time each;
* ``column``: ``--column-runs`` runs of ``circuits/l5_column.toml`` (510 neurons; background
  drive x seeds), ``--column-ms`` each.

Ways: ``loop`` (the public API in a plain loop in this process, no files: the yardstick),
``serial`` (``run_sweep(scheduler="serial")``: the sweep machinery without parallelism),
``processes`` (the default local pool of ``--workers`` processes) and ``dask-local`` (a Dask
``LocalCluster`` of ``--workers`` processes; skipped without the ``dask`` extra).

Reported per way:

* runs per second (runs / wall time, everything included: process start, kernel load,
  scheduling, files, the table) and the speed-up over ``loop``;
* CPU seconds (this process and every child process it waited for: pool workers, Dask
  nannies and workers) per run, and the CPU overhead over ``loop``. On a shared machine this
  is the figure that other people's load does not distort: it is what the sweep machinery
  costs in total (process start-up, imports, kernel loads per worker, scheduling, files);
* the machinery overhead in wall time, ``(wall x workers - sum of run compute) / sum of run
  compute``, where a run's compute is what its worker spent in spec, build, simulate and
  summary (``wall_s`` in the table): start-up, scheduling, files and workers idle at the end.

The loop's kernels are warmed before timing; each sweep includes its own start-up. Every
sweep writes into a fresh temporary directory, removed afterwards.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CELL = ROOT / "circuits" / "l5_cell.toml"
COLUMN = ROOT / "circuits" / "l5_column.toml"


def workloads(args):
    """(name, circuit, axis key, values, seeds, duration) of each workload."""
    out = []
    if args.only in (None, "cell"):
        n_seeds = 10 if args.cell_runs % 10 == 0 else 1
        n_amp = args.cell_runs // n_seeds
        vals = [400.0 + 1200.0 * i / max(1, n_amp - 1) for i in range(n_amp)]
        out.append(("cell", CELL, "inputs.soma_step.amplitude_pA", vals, n_seeds, args.cell_ms))
    if args.only in (None, "column"):
        n_seeds = 5 if args.column_runs % 5 == 0 else 1
        n_rate = args.column_runs // n_seeds
        vals = [1800.0 + 1200.0 * i / max(1, n_rate - 1) for i in range(n_rate)]
        out.append(("column", COLUMN, "inputs.bg_soma.rate_hz", vals, n_seeds, args.column_ms))
    return out


def cpu_s() -> float:
    """CPU seconds of this process and of its children that have been waited for."""
    import resource

    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def plain_loop(circuit, key, values, n_seeds, duration_ms):
    """The yardstick: load, build, simulate and summarise each run in this process."""
    import l5sim

    base = l5sim.load_circuit(circuit)
    l5sim.simulate(l5sim.build(base, seed=0), 20 * base.dt_ms, seed=0, progress=False)   # warm kernels
    t0, c0 = time.perf_counter(), cpu_s()
    rates = []
    for v in values:
        spec = base.with_overrides({key: v})
        for seed in range(n_seeds):
            rec = l5sim.simulate(l5sim.build(spec, seed=seed), duration_ms, seed=seed, progress=False)
            rates.append(rec.summary()["populations"][next(iter(spec.populations))]["rate_hz"])
    return time.perf_counter() - t0, cpu_s() - c0, rates


def sweep(circuit, key, values, n_seeds, duration_ms, scheduler, workers):
    from l5sim.sweep import run_sweep

    d = tempfile.mkdtemp(prefix="l5sim-sweep-bench-")
    try:
        t0 = time.perf_counter()
        res = run_sweep(circuit, {key: values}, seeds=n_seeds, duration_ms=duration_ms, out=d,
                        scheduler=scheduler, workers=workers, progress=False)
        wall = time.perf_counter() - t0
        if not res.ok:
            raise RuntimeError(f"{scheduler}: {res.final_line()}")
        compute = sum(r["wall_s"] for r in res.rows)
        pop = next(c[:-len(".n_spikes")] for c in res.columns if c.endswith(".n_spikes"))   # the first population
        rates = [r[f"{pop}.rate_hz"] for r in sorted(res.rows, key=lambda r: (r[key], r["seed"]))]
        return {"wall_s": wall, "compute_s": compute, "batches": res.n_batches, "workers": res.n_workers,
                "rates": rates}
    finally:
        shutil.rmtree(d, ignore_errors=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workers", type=int, default=None, help="pool / LocalCluster processes (default: CPUs)")
    ap.add_argument("--cell-runs", type=int, default=1000)
    ap.add_argument("--cell-ms", type=float, default=200.0, help="biological time of a cell run (ms)")
    ap.add_argument("--column-runs", type=int, default=100)
    ap.add_argument("--column-ms", type=float, default=1000.0, help="biological time of a column run (ms)")
    ap.add_argument("--only", choices=("cell", "column"), default=None)
    ap.add_argument("--ways", nargs="+", default=["loop", "serial", "processes", "dask-local"])
    ap.add_argument("--json", default=None, metavar="PATH", help="also write the numbers as JSON (atomically)")
    args = ap.parse_args(argv)
    from l5sim.sweep import default_workers

    workers = args.workers or default_workers()
    try:
        import distributed  # noqa: F401
        have_dask = True
    except ImportError:
        have_dask = False
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    results = {"machine": {"cpus": os.cpu_count(), "workers": workers, "python": platform.python_version(),
                           "load_1min_at_start": load}, "workloads": {}}
    print(f"# sweep benchmark: {workers} workers, {os.cpu_count()} CPUs, load average {load:.1f} at start\n")
    print("| workload | way | wall (s) | runs/s | vs loop | CPU s/run | CPU vs loop | batches | wall overhead |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, circuit, key, values, n_seeds, dur in workloads(args):
        n = len(values) * n_seeds
        res = {}
        ref_rates = None
        for way in args.ways:
            if way == "dask-local" and not have_dask:
                print(f"| {name} | {way} | skipped: pip install 'l5sim[dask]' |")
                continue
            if way == "loop":
                wall, cpu, rates = plain_loop(circuit, key, values, n_seeds, dur)
                r = {"wall_s": wall, "cpu_s": cpu, "compute_s": wall, "batches": None, "workers": 1}
            else:
                sched = {"serial": "serial", "processes": "processes", "dask-local": "local"}[way]
                c0 = cpu_s()
                r = sweep(circuit, key, values, n_seeds, dur, sched, workers)
                r["cpu_s"] = cpu_s() - c0
                rates = r.pop("rates")
            if ref_rates is None:
                ref_rates = rates
            r["same_results_as_first_way"] = rates == ref_rates
            r["runs_per_s"] = n / r["wall_s"]
            r["overhead"] = (r["wall_s"] * r["workers"] - r["compute_s"]) / r["compute_s"]
            res[way] = r
            loop = res.get("loop")
            vs = f"{loop['wall_s'] / r['wall_s']:.2f}x" if loop else ""
            cvs = f"{100 * (r['cpu_s'] / loop['cpu_s'] - 1):+.1f} %" if loop else ""
            same = "" if r["same_results_as_first_way"] else " (RESULTS DIFFER)"
            print(f"| {name} ({n} x {dur:g} ms) | {way} | {r['wall_s']:.2f} | {r['runs_per_s']:.1f} | {vs} | "
                  f"{r['cpu_s'] / n:.4f} | {cvs} | {r['batches'] or ''} | {100 * r['overhead']:.1f} %{same} |",
                  flush=True)
        results["workloads"][name] = {"runs": n, "duration_ms": dur, "circuit": str(circuit.relative_to(ROOT)),
                                      "ways": res}
    if args.json:
        from l5sim.recording import write_json

        write_json(args.json, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
