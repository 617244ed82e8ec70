"""Does l5sim's default thread choice ever lose to serial? With and without a busy core.

    .venv/bin/python -m benchmarks.threads_bench                      # izh2003_10k and column_10k
    .venv/bin/python -m benchmarks.threads_bench --networks column_10k --repeats 5

For each network, twice (``quiet``: nothing started by the benchmark; ``busy``: a
competing process spinning on the first CPU of this process's affinity, pinned there
with ``os.sched_setaffinity``), l5sim's runner is run in these modes, the repeats
interleaved:

* ``serial``: ``--threads 1`` (the serial kernels);
* ``default``: ``--threads 0``, l5sim's own choice (``simulate(parallel=None)``:
  :func:`l5sim.threads.default_threads` with l5sim's wait policy, :mod:`l5sim.threads`);
* ``omp_passive``, ``omp_spin``, ``omp_active``, ``workqueue``: the parallel kernels forced
  on two threads, with OpenMP's threads sleeping at once when idle (``GOMP_SPINCOUNT=0``),
  spinning for at most a bounded count first (``GOMP_SPINCOUNT=30000``,
  ``l5sim.threads.SPIN_COUNT``: opt-in), spinning (libgomp's ``OMP_WAIT_POLICY=ACTIVE``), or numba's own ``workqueue``
  threading layer.

Reported per network and condition: the simulate time (min and median over repeats) and
the whole process's CPU time (user + system, ``os.wait4``) of every mode, and the ratio
default / serial, the issue-18 criterion (default within 1.1x of serial or faster, on a
machine with one busy core). The load average before each run is kept with it: other
work on the machine makes the ``quiet`` condition less quiet. Writes
``benchmarks/results/threads/threads.json`` (atomically).
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import time

from . import run as R
from .peers import _common as C

#: The criterion of issue 18: the default within this factor of serial, or faster.
MAX_RATIO = 1.1
MODES = {
    "serial": (1, {}),
    "default": (0, {}),
    "omp_passive": (2, {"OMP_WAIT_POLICY": "PASSIVE", "GOMP_SPINCOUNT": "0", "NUMBA_THREADING_LAYER": "omp"}),
    "omp_spin": (2, {"GOMP_SPINCOUNT": "30000", "NUMBA_THREADING_LAYER": "omp"}),
    "omp_active": (2, {"OMP_WAIT_POLICY": "ACTIVE", "NUMBA_THREADING_LAYER": "omp"}),
    "workqueue": (2, {"NUMBA_THREADING_LAYER": "workqueue"}),
}
DURATIONS = {"izh2003_10k": 1000.0, "column_10k": 200.0, "column_1k": 1000.0, "izh2003_1k": 1000.0}
OUT = os.path.join(R.BENCH, "results", "threads")


def spinner(cpu: int) -> subprocess.Popen:
    """A process that keeps CPU ``cpu`` busy until killed."""
    code = f"import os\nos.sched_setaffinity(0, {{{cpu}}})\nwhile True:\n    pass\n"
    return subprocess.Popen([sys.executable, "-c", code], start_new_session=True)


def run_mode(network: str, mode: str, duration_ms: float, cache: str, seed: int, timeout: float) -> dict:
    threads, extra = MODES[mode]
    env = R._env(dict(extra, NUMBA_CACHE_DIR=cache))
    env.pop("L5SIM_THREADS", None)
    env.pop("L5SIM_PARALLEL", None)
    cmd = [sys.executable, os.path.join(R.PEERS, "l5sim_runner.py"), "--network", network, "--duration-ms",
           str(duration_ms), "--seed", str(seed), "--threads", str(threads)]
    load0 = C.loadavg()
    proc = R.run_process(cmd, env=env, timeout=timeout)
    res = R.parse_result(proc["stdout"])
    if proc["rc"] != 0 or res is None:
        return dict(mode=mode, error=f"exit {proc['rc']}: {R._tail(proc['stderr'])}", loadavg_at_start=load0)
    return dict(mode=mode, simulate_s=res["simulate_s"], process_wall_s=proc["wall_s"], process_cpu_s=proc["cpu_s"],
                kernel=res.get("kernel"), mean_rate_hz=res["mean_rate_hz"], loadavg_at_start=load0,
                date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"))


def summarize(runs: list) -> dict:
    out = {}
    for mode in MODES:
        ok = [r for r in runs if r["mode"] == mode and "simulate_s" in r]
        if not ok:
            err = next((r.get("error") for r in runs if r["mode"] == mode), "no run")
            out[mode] = dict(error=err)
            continue
        sim = [r["simulate_s"] for r in ok]
        cpu = [r["process_cpu_s"] for r in ok]
        out[mode] = dict(simulate_min_s=min(sim), simulate_median_s=statistics.median(sim), simulate_all_s=sim,
                         cpu_median_s=statistics.median(cpu), kernels=[r["kernel"] for r in ok],
                         loadavg=[r["loadavg_at_start"] for r in ok])
    s = out.get("serial", {})
    for mode, row in out.items():
        if "simulate_min_s" in row and "simulate_min_s" in s:
            row["ratio_to_serial_min"] = row["simulate_min_s"] / s["simulate_min_s"]
            row["ratio_to_serial_median"] = row["simulate_median_s"] / s["simulate_median_s"]
    d = out.get("default", {})
    if "ratio_to_serial_median" in d:
        d["within_criterion"] = d["ratio_to_serial_median"] <= MAX_RATIO
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.threads_bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--networks", nargs="+", default=["izh2003_10k", "column_10k"], choices=sorted(DURATIONS))
    p.add_argument("--conditions", nargs="+", default=["quiet", "busy"], choices=["quiet", "busy"])
    p.add_argument("--modes", nargs="+", default=list(MODES), choices=list(MODES))
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--out", default=OUT)
    p.add_argument("--timeout-s", type=float, default=900.0)
    args = p.parse_args(argv)
    if not hasattr(os, "sched_setaffinity"):
        print("threads_bench: needs os.sched_setaffinity (Linux)", file=sys.stderr)
        return 1
    cpus = sorted(os.sched_getaffinity(0))
    tmp = os.path.join(args.out, "tmp")
    cache = os.path.join(tmp, "numba_cache")
    os.makedirs(cache, exist_ok=True)
    doc = dict(date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
               command="python -m benchmarks.threads_bench " + " ".join(argv if argv is not None else sys.argv[1:]),
               machine=R.machine_info(), busy_cpu=cpus[0], max_ratio=MAX_RATIO, repeats=args.repeats,
               modes={m: dict(threads=t, env=e) for m, t, e in ((m, *MODES[m]) for m in args.modes)}, results={})
    for net in args.networks:
        dur = DURATIONS[net]
        for mode in args.modes:          # compile every variant once, untimed
            run_mode(net, mode, 10.0, cache, args.seed, args.timeout_s)
        for cond in args.conditions:
            spin = spinner(cpus[0]) if cond == "busy" else None
            try:
                if spin is not None:
                    time.sleep(0.5)
                runs = []
                for _ in range(args.repeats):
                    for mode in args.modes:
                        r = run_mode(net, mode, dur, cache, args.seed, args.timeout_s)
                        runs.append(r)
                        print(f"  {net} {cond:5s} {mode:12s} "
                              + (f"simulate {r['simulate_s']:.3f} s cpu {r['process_cpu_s']:.2f} s "
                                 f"kernel {r['kernel']}" if "simulate_s" in r else r["error"])
                              + f"  load {r['loadavg_at_start'][0]}", file=sys.stderr)
            finally:
                if spin is not None:
                    spin.kill()
                    spin.wait()
            doc["results"].setdefault(net, {})[cond] = dict(duration_ms=dur, runs=runs, summary=summarize(runs))
            R.write_atomic(os.path.join(args.out, "threads.json"), json.dumps(doc, indent=1))
    doc["loadavg_at_end"] = C.loadavg()
    R.write_atomic(os.path.join(args.out, "threads.json"), json.dumps(doc, indent=1))
    for net, conds in doc["results"].items():
        for cond, block in conds.items():
            d = block["summary"].get("default", {})
            if "ratio_to_serial_median" in d:
                print(f"{net} {cond}: default / serial = {d['ratio_to_serial_median']:.2f} (median), "
                      f"{d['ratio_to_serial_min']:.2f} (min)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
