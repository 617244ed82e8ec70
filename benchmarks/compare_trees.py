"""Two l5sim source trees side by side on the benchmark networks: does a change cost speed?

The question of a refactoring (issue 12: "within 5 % of the numbers before the change,
measured side by side in one run"): the same networks (``benchmarks/peers/_common.py``,
built as ``benchmarks/peers/l5sim_runner.py`` builds them), simulated by two checkouts of
l5sim, one fresh process per tree and repeat, the trees interleaved so that a change of
the machine's load hits both alike. Each process builds the network, warms the kernel up
(5 ms), then times three runs of ``duration`` ms in CPU time of the process
(``time.process_time``, which a loaded machine inflates far less than wall time), serial
kernels on one thread. Reported: CPU seconds per biological second, min and median over
the processes, and the ratio new / old (below 1: the new tree is faster). A checkout of an
older commit is made with ``git worktree add /tmp/l5sim-old <commit>``.

    python -m benchmarks.compare_trees OLD_TREE NEW_TREE [--repeats 3]
        [--networks izh2003_1k:1000 column_1k:1000 ...] [--out benchmarks/results/compare]

Writes ``results.json`` (every timing, the load average before and after, the commits) and
``results.md`` into ``--out``.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT = ["izh2003_1k:2000", "izh2003_10k:500", "izh2003_10k_stdp:500", "column_1k:1000", "column_10k:200"]

#: The child: the benchmark network from this checkout's runner, l5sim from the tree on
#: PYTHONPATH. Prints one JSON line.
CHILD = r'''
import importlib.util, json, sys, time, tomllib
peers = sys.argv[3]
sys.path.insert(0, peers)
import _common as C
spec = importlib.util.spec_from_file_location("l5sim_runner", peers + "/l5sim_runner.py")
R = importlib.util.module_from_spec(spec); spec.loader.exec_module(R)
import l5sim
name, dur, tree = sys.argv[1], float(sys.argv[2]), sys.argv[4]
path, over = R.circuit_and_overrides(name, C.NETWORKS[name], tomllib)
path = tree + "/circuits/" + path.rsplit("/circuits/", 1)[1]
net = l5sim.build(l5sim.load_circuit(path, overrides=over), 1)
l5sim.simulate(net, 5.0, parallel=False, progress=False)
cpu = []
for _ in range(3):
    c = time.process_time()
    rec = l5sim.simulate(net, dur, parallel=False, progress=False)
    cpu.append((time.process_time() - c) * 1000.0 / dur)
print(json.dumps({"cpu_s_per_bio_s": cpu, "spikes": int(rec.spike_i.size), "kernel": rec.metadata["kernel"]["name"]}))
'''


def _commit(tree: str) -> str:
    out = subprocess.run(["git", "-C", tree, "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    dirty = subprocess.run(["git", "-C", tree, "status", "--porcelain", "--untracked-files=no"], capture_output=True,
                           text=True).stdout.strip()
    return out.stdout.strip() + ("+changes" if dirty else "")


def run_one(tree: str, network: str, duration_ms: float) -> dict:
    env = dict(os.environ, PYTHONPATH=tree, NUMBA_NUM_THREADS="1", L5SIM_THREADS="1", L5SIM_PARALLEL="0")
    out = subprocess.run([sys.executable, "-c", CHILD, network, str(duration_ms), os.path.join(HERE, "peers"), tree],
                         cwd=tree, env=env, capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(f"{network} in {tree} failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("old")
    ap.add_argument("new")
    ap.add_argument("--repeats", type=int, default=3, help="processes per tree and network (interleaved)")
    ap.add_argument("--networks", nargs="+", default=DEFAULT, help="NAME:DURATION_MS, NAME from _common.NETWORKS")
    ap.add_argument("--out", default=os.path.join(HERE, "results", "compare"))
    args = ap.parse_args(argv)
    trees = [os.path.abspath(args.old), os.path.abspath(args.new)]
    load0 = os.getloadavg()
    rows = {}
    for r in range(args.repeats):
        for item in args.networks:
            name, dur = item.split(":")
            for tree in trees:
                res = run_one(tree, name, float(dur))
                rows.setdefault(item, {}).setdefault(tree, []).append(res)
                print(f"[{r + 1}/{args.repeats}] {item} {tree}: {min(res['cpu_s_per_bio_s']):.4f} CPU s per bio s, "
                      f"{res['spikes']} spikes", flush=True)
    load1 = os.getloadavg()
    table = ["| network | old CPU s / bio s (min / median) | new CPU s / bio s (min / median) | new / old (min) "
             "| new / old (median) | spikes old, new |", "|---|---|---|---|---|---|"]
    summary = {}
    for item, by_tree in rows.items():
        stats = []
        for tree in trees:
            best = sorted(min(x["cpu_s_per_bio_s"]) for x in by_tree[tree])
            stats.append((best[0], best[len(best) // 2], by_tree[tree][0]["spikes"]))
        (o_min, o_med, o_sp), (n_min, n_med, n_sp) = stats
        summary[item] = {"old_min": o_min, "old_median": o_med, "new_min": n_min, "new_median": n_med,
                         "ratio_min": n_min / o_min, "ratio_median": n_med / o_med, "spikes": [o_sp, n_sp]}
        table.append(f"| {item} | {o_min:.4f} / {o_med:.4f} | {n_min:.4f} / {n_med:.4f} | {n_min / o_min:.3f} "
                     f"| {n_med / o_med:.3f} | {o_sp}, {n_sp} |")
    os.makedirs(args.out, exist_ok=True)
    meta = {"old": {"tree": trees[0], "commit": _commit(trees[0])}, "new": {"tree": trees[1], "commit": _commit(trees[1])},
            "repeats": args.repeats, "load_before": load0, "load_after": load1, "cpus": os.cpu_count(),
            "date": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    with open(os.path.join(args.out, "results.json"), "w") as fh:
        json.dump({"meta": meta, "summary": summary, "runs": rows}, fh, indent=1)
    text = (f"# {meta['old']['commit']} (old) vs {meta['new']['commit']} (new), {meta['date']}\n\n"
            f"CPU seconds per biological second, serial kernels, one thread; min / median over {args.repeats} "
            f"interleaved processes (each the best of 3 runs). Load average before {load0[0]:.1f}, after "
            f"{load1[0]:.1f} on {os.cpu_count()} CPUs.\n\n" + "\n".join(table) + "\n")
    with open(os.path.join(args.out, "results.md"), "w") as fh:
        fh.write(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
