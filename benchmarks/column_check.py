"""Is the Brian2 column the same circuit as l5sim's? Rates and burst share over seeds.

    .venv/bin/python -m benchmarks.column_check                       # column_1k, seeds 1-3
    .venv/bin/python -m benchmarks.column_check --network column_10k --seeds 1 2 3 4 5

Runs ``peers/l5sim_runner.py`` and ``peers/brian2_runner.py --target standalone`` on the
same column network for each seed (1 s of biological time by default) and compares, per
population, the mean firing rate over seeds, and the share of pyramidal spikes fired with
the plateau-switched (burst) reset. The two draw different random numbers (their own
generators), so they agree in distribution, not spike by spike: the check is that the
difference of the seed means lies within the stated tolerance. Writes
``benchmarks/results/column_check/<network>.json`` (atomically), which
``scripts/make_performance_doc.py`` renders into ``docs/performance.md``.

Tolerances (named here, justified by the seed spread measured on 1 s at 1k cells: l5sim's
pyramidal, PV and SOM rates vary by about 1-2 % between seeds, the burst share by about
0.015): rates within ``RATE_TOL`` (5 %) relative, the burst share within ``BURST_TOL``
(0.05 absolute, about three seed standard deviations).
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import sys

from . import run as R
from .peers import _common as C

#: Largest relative difference of the seed-mean rate of a population (5 %: a few times the
#: 1-2 % seed-to-seed spread of 1 s at 1k cells).
RATE_TOL = 0.05
#: Largest absolute difference of the seed-mean pyramidal burst-reset share (~3 seed sd).
BURST_TOL = 0.05
OUT = os.path.join(R.BENCH, "results", "column_check")


def run_seed(impl: str, network: str, seed: int, duration_ms: float, workdir: str, timeout: float) -> dict:
    impls = R.implementations(sys.executable)
    spec = impls[impl]
    argv = list(spec["argv"])
    extra = {}
    if spec["cache"] == "workdir":
        argv += ["--workdir", workdir]
    else:
        extra["NUMBA_CACHE_DIR"] = workdir
    out = os.path.join(os.path.dirname(workdir), f"{impl}.{network}.{seed}.json")
    cmd = [spec["python"], *argv, "--network", network, "--duration-ms", str(duration_ms), "--seed", str(seed),
           "--out", out]
    proc = R.run_process(cmd, env=R._env(extra), timeout=timeout)
    res = R.parse_result(proc["stdout"])
    if proc["rc"] != 0 or res is None:
        raise RuntimeError(f"{impl} seed {seed}: exit {proc['rc']}: {R._tail(proc['stderr'])}")
    return res


def compare(runs: dict) -> dict:
    """Seed means, spreads and the verdict per population (and the burst share)."""
    out = {"populations": {}, "ok": True}
    pops = sorted(set.intersection(*(set(r[0]["per_population"]) for r in runs.values())))
    for p in pops:
        row = {}
        for impl, rs in runs.items():
            vals = [r["per_population"][p]["rate_hz"] for r in rs]
            row[impl] = dict(mean=statistics.fmean(vals), sd=statistics.stdev(vals) if len(vals) > 1 else 0.0,
                             values=vals)
        a, b = (row[k]["mean"] for k in runs)
        rel = abs(a - b) / max(abs(a), abs(b), 1e-12)
        row["rel_diff"] = rel
        row["ok"] = rel <= RATE_TOL or p == "th"      # th: Poisson sources, no dynamics to compare
        out["populations"][p] = row
        out["ok"] &= row["ok"]
    row = {}
    for impl, rs in runs.items():
        vals = [r["burst_share_pyr"] for r in rs]
        row[impl] = dict(mean=statistics.fmean(vals), sd=statistics.stdev(vals) if len(vals) > 1 else 0.0,
                         values=vals)
    a, b = (row[k]["mean"] for k in runs)
    row["abs_diff"] = abs(a - b)
    row["ok"] = row["abs_diff"] <= BURST_TOL
    out["burst_share_pyr"] = row
    out["ok"] &= row["ok"]
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.column_check", description=__doc__.split("\n\n")[0])
    p.add_argument("--network", default="column_1k", choices=[n for n in C.NETWORKS if n.startswith("column")])
    p.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    p.add_argument("--duration-ms", type=float, default=1000.0)
    p.add_argument("--out", default=OUT)
    p.add_argument("--timeout-s", type=float, default=1800.0)
    args = p.parse_args(argv)
    if len(args.seeds) < 2:
        p.error("--seeds: at least two seeds (the spread is part of the answer)")
    tmp = os.path.join(args.out, "tmp")
    os.makedirs(tmp, exist_ok=True)
    runs = {"l5sim": [], "brian2_standalone": []}
    la0 = C.loadavg()
    for impl in runs:
        why = R.probe(R.implementations(sys.executable)[impl])
        if why:
            print(f"column_check: {impl} cannot run: {why}", file=sys.stderr)
            return 1
        for s in args.seeds:
            r = run_seed(impl, args.network, s, args.duration_ms, os.path.join(tmp, impl, args.network),
                         args.timeout_s)
            runs[impl].append(r)
            rates = ", ".join(f"{k} {v['rate_hz']:.2f}" for k, v in r["per_population"].items())
            print(f"  {impl:18s} seed {s}: {rates} Hz; burst share {r['burst_share_pyr']:.3f}", file=sys.stderr)
    cmp_ = compare(runs)
    doc = dict(network=args.network, seeds=args.seeds, duration_ms=args.duration_ms,
               date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
               loadavg_at_start=la0, loadavg_at_end=C.loadavg(), rate_tol=RATE_TOL, burst_tol=BURST_TOL,
               command="python -m benchmarks.column_check " + " ".join(argv if argv is not None else sys.argv[1:]),
               comparison=cmp_,
               runs={k: [{f: r.get(f) for f in ("seed", "per_population", "burst_share_pyr", "n_synapses",
                                               "n_neurons", "simulate_s", "loadavg_at_end")} for r in v]
                     for k, v in runs.items()})
    R.write_atomic(os.path.join(args.out, f"{args.network}.json"), json.dumps(doc, indent=1))
    for pop, row in cmp_["populations"].items():
        print(f"{pop:4s} l5sim {row['l5sim']['mean']:.2f} +- {row['l5sim']['sd']:.2f}  brian2 "
              f"{row['brian2_standalone']['mean']:.2f} +- {row['brian2_standalone']['sd']:.2f} Hz  "
              f"diff {row['rel_diff']:.1%}  {'ok' if row['ok'] else 'DIFFERS'}")
    b = cmp_["burst_share_pyr"]
    print(f"burst share l5sim {b['l5sim']['mean']:.3f}  brian2 {b['brian2_standalone']['mean']:.3f}  "
          f"diff {b['abs_diff']:.3f}  {'ok' if b['ok'] else 'DIFFERS'}")
    return 0 if cmp_["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
