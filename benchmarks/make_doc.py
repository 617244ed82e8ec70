"""Render ``docs/performance.md`` (and its scaling figure) from the committed results.

    .venv/bin/python -m benchmarks.make_doc            # writes docs/performance.md
    .venv/bin/python -m benchmarks.make_doc --check    # exit 1 if the page differs from its rendering

Every number on the page comes from these files, written by the commands shown beside
each section (``bash benchmarks/run_all.sh`` runs them all, then this):

* ``benchmarks/results/suite/results.json``: ``python -m benchmarks`` (equal-thread tables,
  cold start, per-network detail);
* ``benchmarks/results/column_check/*.json``: ``python -m benchmarks.column_check``;
* ``benchmarks/results/threads/threads.json``: ``python -m benchmarks.threads_bench``;
* ``benchmarks/results/memory/memory.json``: ``python -m benchmarks.memory_bench``.

A section whose file is missing says so. Timings taken while the 1-minute load average
exceeded the machine's core count are labelled **provisional** with the load.
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import sys

from . import run as R

RES = os.path.join(R.BENCH, "results")
DOC = os.path.join(R.ROOT, "docs", "performance.md")
FIG = os.path.join(R.ROOT, "docs", "figures", "performance_scaling.png")
RERUN = "bash benchmarks/run_all.sh"


def _load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def load_suite():
    """The suite's results: ``results/suite/results.json`` merged with any
    ``results/suite_*/results.json`` (later runs of other networks, thread counts or the
    command line: a row of the same network, implementation and thread count, or the ``cli``
    block, found in a later file replaces the earlier one); the
    equal-thread ratios and growth exponents are recomputed from the merged rows."""
    paths = [os.path.join(RES, "suite", "results.json")] + sorted(glob.glob(os.path.join(RES, "suite_*",
                                                                                          "results.json")))
    docs = [d for d in (_load(p) for p in paths) if d]
    if not docs:
        return None
    out = dict(docs[0])
    out["networks"] = {}
    out["commands"] = []
    out["dates"] = []
    merged = {}
    for d in docs:
        for net, block in d.get("networks", {}).items():
            rows = merged.setdefault(net, {})
            for r in block["rows"]:     # a later run of the same implementation and thread count wins
                rows[(r["implementation"], r.get("threads_requested", 1))] = r
        out["commands"].append(d["command"])
        out["dates"].append(d["date"])
        if d.get("cli"):
            out["cli"] = d["cli"]
        if d.get("loadavg_at_end"):
            out["loadavg_at_end"] = d["loadavg_at_end"]
    for net, rows in merged.items():
        rl = list(rows.values())        # the runner's order (thread count, then implementation)
        out["networks"][net] = dict(rows=rl, regime=R.regime_check(rl))
    out["command"] = "; ".join(out["commands"])
    out["date"] = " / ".join(out["dates"])
    rows_by_net = {net: {(r["implementation"], r.get("threads_requested", 1)): r for r in b["rows"]}
                   for net, b in out["networks"].items()}
    out["equal_threads"] = R.equal_threads(rows_by_net)
    out["exponents"] = R.exponents(rows_by_net)
    return out


def _max_load(loads) -> float | None:
    vals = [x[0] for x in loads if x]
    return max(vals) if vals else None


def _prov(load, nproc) -> str:
    if load is None:
        return ""
    return f" **provisional** (load up to {load:.1f} on {nproc} cores)" if load > nproc else f" (load <= {load:.1f})"


def _s(x) -> str:
    return R._fmt_s(x)


def section_equal_threads(suite, L):
    L.append("## Equal threads: l5sim against each peer on the same number of threads\n")
    if not suite:
        L.append(f"Not measured yet: run `{RERUN}`.\n")
        return
    nproc = suite["machine"]["nproc"]
    L.append(f"From `{suite['command']}` ({suite['date']}; `benchmarks/results/suite*/results.md`). Each "
             "implementation runs as its own process, the warm repeats interleaved; ratio = peer's simulate "
             "time / l5sim's (above 1: l5sim faster), from the fastest (min) and from the median repeat. "
             "l5sim on 1 thread runs its serial kernels, on 2 its parallel kernels (`NUMBA_NUM_THREADS=2`): on "
             "the column the fused loop (its own two threads, meeting once a step, spinning up to ~0.1 ms before "
             "they yield; see below), on the other networks numba's parallel regions; "
             "Brian2 `cpp_standalone` on 2 threads uses OpenMP (`devices.cpp_standalone.openmp_threads`); "
             "NEST `local_num_threads`. The peers run in the environment a user has: their OpenMP threads "
             "spin for up to libgomp's default 300,000 iterations when idle (`OMP_WAIT_POLICY` unset), "
             "l5sim's OpenMP threads sleep at once (`l5sim.threads`; a bounded spin is opt-in); on a loaded machine "
             "spinning "
             "costs far more than the "
             "work (the *omp_active* mode of the thread benchmark below shows the same on l5sim's own "
             "kernels), so 2-thread ratios measured under load say more about the wait policy than about the "
             "simulators.\n")
    L.append("| network | threads | peer | l5sim s / bio s (min / median) | peer s / bio s (min / median) | "
             "ratio min | ratio median | timing |")
    L.append("|---|---|---|---|---|---|---|---|")
    for e in suite.get("equal_threads", []):
        k = 1000.0 / e["duration_ms"]
        L.append(f"| {e['network']} | {e['threads']} | {e['peer']} | {_s(e['l5sim_min_s'] * k)} / "
                 f"{_s(e['l5sim_median_s'] * k)} | {_s(e['peer_min_s'] * k)} / {_s(e['peer_median_s'] * k)} | "
                 f"{e['ratio_min']:.2f} | {e['ratio_median']:.2f} |{_prov(_max_load(e['loadavg']), nproc)} |")
    L.append("")
    cpu = []
    for net, block in suite["networks"].items():
        for r in block["rows"]:
            if r["implementation"] != "l5sim" or r.get("status") != "ok" or r.get("threads_requested", 1) != 1:
                continue
            c = [x["result"].get("simulate_cpu_s") for x in r["runs"] if "result" in x and x["kind"] == "warm"]
            c = [x for x in c if x is not None]
            if c:
                cpu.append(f"{net} {_s(min(c) * 1000.0 / r['duration_ms'])} CPU against {_s(r['simulate_s_min'] * 1000.0 / r['duration_ms'])} wall")
    if cpu:
        L.append("On a loaded machine a process gets only part of a core: l5sim's serial simulate phase, per "
                 "biological second, used " + "; ".join(cpu) + " (CPU time of the process, `time.process_time`).\n")

    def min_cpu(r, key):
        c = [x["result"].get(key) for x in r["runs"] if "result" in x and x["kind"] == "warm"]
        c = [x for x in c if x is not None]
        return min(c) if c else None

    rows_cpu = []
    for net, block in suite["networks"].items():
        by = {(r["implementation"], r.get("threads_requested", 1)): r for r in block["rows"] if r.get("status") == "ok"}
        l5, b2 = by.get(("l5sim", 1)), by.get(("brian2_standalone", 1))
        if not (l5 and b2):
            continue
        a, b = min_cpu(l5, "simulate_cpu_s"), min_cpu(b2, "binary_cpu_s")
        if a and b:
            k = 1000.0 / l5["duration_ms"]
            rows_cpu.append(f"| {net} | {_s(a * k)} | {_s(b * k)} | {b / a:.2f} |")
    if rows_cpu:
        L.append("One thread, in CPU time, which the load inflates far less than wall time: l5sim's simulate "
                 "phase against the whole Brian2 binary (its run loop plus synapse creation and initialisation, "
                 "so an upper bound on the loop's CPU time, and the ratio an upper bound on l5sim's standing):\n")
        L.append("| network | l5sim simulate CPU / bio s (min) | Brian2 binary CPU / bio s (min) | ratio (> 1: l5sim "
                 "faster) |")
        L.append("|---|---|---|---|")
        L += rows_cpu
        L.append("")


def scaling_points(suite):
    nproc = suite["machine"]["nproc"]
    pts = {"izh2003": [], "column": []}
    for net, block in suite["networks"].items():
        fam = "column" if net.startswith("column") else ("izh2003" if "stdp" not in net else None)
        if fam is None:
            continue
        for r in block["rows"]:
            if r.get("status") != "ok":
                continue
            k = 1000.0 / r["duration_ms"]
            pts[fam].append(dict(implementation=r["implementation"], threads=r.get("threads_requested", 1),
                                 n_neurons=r["n_neurons"], seconds_per_bio_s=r["simulate_s_min"] * k,
                                 median_per_bio_s=r["simulate_s_median"] * k,
                                 provisional=(_max_load(r.get("loadavg_runs") or []) or 0) > nproc))
    return pts


def section_scaling(suite, L, figure: bool):
    L.append("## Scaling with network size\n")
    if not suite:
        L.append("Not measured yet.\n")
        return
    pts = scaling_points(suite)
    if figure:
        from l5sim.plotting import performance as PP

        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(1, 2, figsize=(13, 4.8))
        PP.scaling(pts["izh2003"], ax=axes[0], title="Izhikevich (2003) network", family_label="1k and 10k")
        PP.scaling(pts["column"], ax=axes[1], title="L5 column (fixed in-degree)", family_label="column")
        fig.tight_layout()
        os.makedirs(os.path.dirname(FIG), exist_ok=True)
        tmp = FIG + ".tmp.png"
        fig.savefig(tmp, dpi=110)
        os.replace(tmp, FIG)
        plt.close(fig)
    L.append(f"![simulate time per biological second against size]({os.path.relpath(FIG, os.path.dirname(DOC))})\n")
    L.append("Fastest warm repeat per point (the median as a tick); hollow markers: measured on a loaded "
             "machine. Drawn by `l5sim.plotting.performance.scaling` from the suite's results.\n")
    ex = suite.get("exponents") or []
    if ex:
        L.append("| implementation | threads | from | to | synapses exponent | simulate-time exponent | "
                 "peak-memory exponent |")
        L.append("|---|---|---|---|---|---|---|")
        for e in ex:
            L.append(f"| {e['implementation']} | {e.get('threads', 1)} | {e['from_network']} | {e['to_network']} | "
                     f"{R._fmt(e.get('synapses_exponent'), '{:.2f}')} | "
                     f"{R._fmt(e.get('simulate_s_exponent'), '{:.2f}')} | "
                     f"{R._fmt(e.get('peak_rss_mib_exponent'), '{:.2f}')} |")
        L.append("\n(d log y / d log N between the two sizes.)\n")


def section_targets(suite, L):
    """The issue-18 targets with the measured value and a verdict (never hidden)."""
    L.append("## Issue 18 targets\n")
    L.append("| target | measured | verdict |")
    L.append("|---|---|---|")
    nproc = (suite or {}).get("machine", {}).get("nproc", os.cpu_count() or 1)

    def verdict(ok, load=None):
        v = "not measured" if ok is None else ("met" if ok else "**not met**")
        if ok is not None and load is not None and load > nproc:
            v += " (provisional: a loaded machine decides nothing)"
        return v

    eq = {(e["network"], e["threads"], e["peer"]): e for e in (suite or {}).get("equal_threads", [])}
    for net in ("column_10k", "column_100k"):
        for t in (1, 2):
            e = eq.get((net, t, "brian2_standalone"))
            val = (f"Brian2 / l5sim = {e['ratio_min']:.2f} (min), {e['ratio_median']:.2f} (median)"
                   f"{_prov(_max_load(e['loadavg']), nproc)}") if e else "-"
            L.append(f"| {net}, {t} thread{'s' if t > 1 else ''}: l5sim >= 2x faster than Brian2 cpp_standalone | "
                     f"{val} | {verdict(None if not e else e['ratio_min'] >= 2.0, _max_load(e['loadavg']) if e else None)} |")
    row = None
    for r in ((suite or {}).get("networks", {}).get("column_10k", {}).get("rows", [])):
        if r["implementation"] == "l5sim" and r.get("threads_requested", 1) == 1 and r.get("status") == "ok":
            row = r
    if row:
        n_pyr = (row.get("per_population") or {}).get("pyr", {}).get("n")
        steps = row["duration_ms"] / 0.1
        rate = n_pyr * steps / row["simulate_s_min"] if n_pyr else None
        L.append(f"| column_10k: >= 50 million L5 neuron-steps per second per core (serial) | "
                 f"{rate / 1e6:.1f} million ({n_pyr} L5 cells x {steps:.0f} steps / {_s(row['simulate_s_min'])})"
                 f"{_prov(_max_load(row.get('loadavg_runs') or []), nproc)} | "
                 f"{verdict(rate >= 50e6, _max_load(row.get('loadavg_runs') or []))} |")
    else:
        L.append("| column_10k: >= 50 million L5 neuron-steps per second per core (serial) | - | not measured |")
    th = _load(os.path.join(RES, "threads", "threads.json"))
    for net in ("izh2003_10k", "column_10k"):
        d = ((th or {}).get("results", {}).get(net, {}).get("busy", {}).get("summary", {}).get("default", {}))
        r = d.get("ratio_to_serial_median")
        la = _max_load(d.get("loadavg") or [])
        L.append(f"| {net} with a busy core: default within 1.1x of serial or faster | "
                 f"{'-' if r is None else f'{r:.2f}x serial (median)' + _prov(la, nproc)} | "
                 f"{verdict(None if r is None else r <= 1.1, la)} |")
    cli = (suite or {}).get("cli") or {}
    for key, label, need in (("readme_cold", "README's first command from an empty cache < 15 s", 15.0),
                             ("first_parallel", "first parallel run < 30 s", 30.0)):
        c = cli.get(key)
        ok = None if not c or c["rc"] != 0 else c["wall_s"] < need
        val = "-" if not c else (_s(c["wall_s"]) + _prov((c.get("loadavg") or [None])[0], nproc))
        L.append(f"| {label} | {val} | {verdict(ok, (c.get('loadavg') or [None])[0] if c else None)} |")
    mem = _load(os.path.join(RES, "memory", "memory.json"))
    g = (mem or {}).get("growth", [])
    if g:
        g = g[-1]
        L.append(f"| peak-RSS growth <= 12 B per synapse at 10M synapses | {g['peak_end_bytes_per_synapse']:.1f} B "
                 f"({g['from_synapses']:,} -> {g['to_synapses']:,}; resident {g['rss_simulate_bytes_per_synapse']:.1f} B, "
                 f"`synapse_bytes()` {g['synapse_bytes_after_simulate_per_synapse']:.1f} B) | "
                 f"{verdict(g['peak_end_bytes_per_synapse'] <= 12.0)} |")
    L.append("")


def section_column_check(L):
    L.append("## The column in Brian2: same circuit?\n")
    files = sorted(glob.glob(os.path.join(RES, "column_check", "*.json")))
    L.append("`benchmarks/peers/brian2_column.py` writes the L5 column in Brian2 from l5sim's model docstrings "
             "(two-compartment LVPA cell with the bAP window, per-spike coupling gate and plateau-switched reset; "
             "Izhikevich 2007 PV and SOM cells with the LTS reset guard; AMPA, NMDA with Mg block and cap, "
             "GABA_A conductances with delays; Poisson drive; the TOML's wiring rules drawn by Brian2's own "
             "generator). The circuit has no white-noise input, so none is modelled. The two simulators draw "
             "different random numbers: they must agree in distribution, checked on the seed means.\n")
    if not files:
        L.append("Not measured yet: `python -m benchmarks.column_check`.\n")
        return
    for path in files:
        d = _load(path)
        if not d:
            continue
        c = d["comparison"]
        L.append(f"### {d['network']}: seeds {', '.join(map(str, d['seeds']))}, {d['duration_ms']:.0f} ms each\n")
        L.append(f"`{d['command']}` ({d['date']}). Tolerances: rates within {d['rate_tol']:.0%} (relative, "
                 f"seed means), pyramidal burst-reset share within {d['burst_tol']:.2f} (absolute).\n")
        L.append("| population | l5sim mean +- sd (Hz) | Brian2 mean +- sd (Hz) | difference | verdict |")
        L.append("|---|---|---|---|---|")
        for pop, row in c["populations"].items():
            a, b = row["l5sim"], row["brian2_standalone"]
            verdict = "Poisson source (not compared)" if pop == "th" else ("within" if row["ok"] else "**outside**")
            L.append(f"| {pop} | {a['mean']:.2f} +- {a['sd']:.2f} | {b['mean']:.2f} +- {b['sd']:.2f} | "
                     f"{row['rel_diff']:.1%} | {verdict} |")
        bs = c["burst_share_pyr"]
        L.append(f"| pyr burst-reset share | {bs['l5sim']['mean']:.3f} +- {bs['l5sim']['sd']:.3f} | "
                 f"{bs['brian2_standalone']['mean']:.3f} +- {bs['brian2_standalone']['sd']:.3f} | "
                 f"{bs['abs_diff']:.3f} | {'within' if bs['ok'] else '**outside**'} |")
        L.append("")


def section_threads(L, nproc):
    L.append("## The default thread choice, with and without a busy core\n")
    d = _load(os.path.join(RES, "threads", "threads.json"))
    L.append("`l5sim.threads` chooses the thread count of `simulate(parallel=None)` from the CPUs free to the "
             "process: its affinity mask, its cgroup quota (v2 `cpu.max`, v1 `cpu.cfs_quota_us`), the CPUs "
             "idle over 50 ms (`/proc/stat`), one thread in a sweep worker (`set_worker_threads`) and "
             "`L5SIM_THREADS`; it sets `OMP_WAIT_POLICY=PASSIVE` and `KMP_BLOCKTIME=0` before numba loads "
             "OpenMP, so idle threads sleep instead of spinning. The *omp_spin* mode below is the opt-in "
             "bounded spin (`GOMP_SPINCOUNT=30000`, ~0.3 ms): faster with both CPUs free (waking a sleeping "
             "thread cost ~50 us per parallel region here), ruinous with one taken by another process. On the "
             "column every mode that forces two threads runs the fused loop (`l5sim.kernels.fused`), whose threads "
             "are its own: the OpenMP settings and numba's threading layer do not apply to it, and its *busy* rows "
             "show what its bounded spin costs when another process holds one of the two CPUs (the default then "
             "runs serially).\n")
    if not d:
        L.append("Not measured yet: `python -m benchmarks.threads_bench`.\n")
        return
    L.append(f"`{d['command']}` ({d['date']}). *busy*: a process spinning on CPU {d['busy_cpu']}, pinned there. "
             f"Criterion (issue 18): default within {d['max_ratio']}x of serial or faster.\n")
    modes = list(d["modes"])
    L.append("| network | condition | " + " | ".join(f"{m} (s, min / median; CPU s)" for m in modes)
             + " | default / serial (median) | timing |")
    L.append("|---|---|" + "---|" * len(modes) + "---|---|")
    for net, conds in d["results"].items():
        for cond, block in conds.items():
            sm = block["summary"]
            cells = []
            loads = []
            for m in modes:
                row = sm.get(m, {})
                if "simulate_min_s" not in row:
                    cells.append(row.get("error", "-")[:60])
                    continue
                loads += row.get("loadavg") or []
                cells.append(f"{_s(row['simulate_min_s'])} / {_s(row['simulate_median_s'])}; "
                             f"{row['cpu_median_s']:.1f}")
            dd = sm.get("default", {})
            ratio = dd.get("ratio_to_serial_median")
            verdict = "-" if ratio is None else (f"{ratio:.2f} ({'met' if dd.get('within_criterion') else '**not met**'})")
            L.append(f"| {net} ({block['duration_ms']:.0f} ms) | {cond} | " + " | ".join(cells)
                     + f" | {verdict} |{_prov(_max_load(loads), nproc)} |")
    L.append("")
    chosen = []
    for net, conds in d["results"].items():
        for cond, block in conds.items():
            ks = block["summary"].get("default", {}).get("kernels") or []
            if ks:
                chosen.append(f"{net} {cond}: " + ", ".join(
                    f"{'parallel' if k and k.get('parallel') else 'serial'} x{k.get('threads', 1) if k else 1}"
                    for k in ks))
    if chosen:
        L.append("What the default chose in each repeat: " + "; ".join(chosen) + ".\n")


def section_fused(L):
    """The fused parallel loop and where two threads pay off on the column (fused_bench)."""
    L.append("## Two threads on the column: the fused parallel loop\n")
    L.append("The column's parallel kernel is the fused loop (`l5sim.kernels.fused`). The general kernel's "
             "parallel variant ran every population loop and every delivery as a numba parallel region of its own, "
             "five or more a step; with the passive wait policy a shared machine needs, each region started by "
             "waking the sleeping threads (~50 us here), about a whole thread's share of a 10k column's step, so "
             "two threads ran slower than one. The fused loop enters one parallel region per chunk (threads of its "
             "own, started once per 100 ms); its threads meet once a step on atomic counters (`kernels.sync`), "
             "spinning up to ~0.1 ms before they yield the CPU. A step's work is cut into items, blocks of target "
             "neurons: each delivers the previous step's spikes to its targets, replays its tiles' event lists, "
             "draws its targets' Poisson inputs and advances its neurons; each thread takes the items of its own "
             "share first (their state stays in its core's caches) and then those of others' no thread has "
             "started, and the thread that completes a step's last item collects, records and opens the next "
             "step. Every target's inputs are summed in the serial loop's order, so the results are the serial "
             "loop's, bitwise, for any thread count (`tests/test_fused.py`, `tests/test_parallel.py`). Plastic "
             "circuits and circuits of other models keep the region-per-loop variant.\n")
    d = _load(os.path.join(RES, "fused", "fused.json"))
    if not d:
        L.append("Not measured yet: `python -m benchmarks.fused_bench`.\n")
        return
    L.append(f"`{d['command']}` ({d['date']}; `benchmarks/results/fused/fused.json`): the column at each size in one "
             f"process, serial and fused on one and two threads interleaved, {d['repeats']} repeats, wall time of "
             f"`simulate` per biological second, every run's spikes checked equal to the serial run's. "
             f"`simulate(parallel=None)` runs the fused loop from {d['threshold']} cells on "
             f"(`l5sim.simulation.FUSED_PARALLEL_MIN_NEURONS`) when two CPUs are free.\n")
    L.append("| cells | serial s / bio s (min / median) | fused, 1 thread | fused, 2 threads | 2 threads / serial, "
             "speed-up (min / median) | timing |")
    L.append("|---|---|---|---|---|---|")
    for row in d["sizes"]:
        m = row["modes"]
        cell = {k: f"{v['min_s']:.3f} / {v['median_s']:.3f}" for k, v in m.items()}
        f2 = m["fused_2"]
        L.append(f"| {row['neurons']} | {cell['serial']} | {cell['fused_1']} | {cell['fused_2']} | "
                 f"{f2['speedup_min']:.2f} / {f2['speedup_median']:.2f} | "
                 f"{_prov(_max_load([row['loadavg_at_start'], row['loadavg_at_end']]), d['machine']['nproc'])} |")
    L.append("")


def section_cold(suite, L):
    L.append("## Cold start\n")
    cli = (suite or {}).get("cli") or {}
    if not cli:
        L.append("Not measured yet (the suite's command-line measurements).\n")
        return
    nproc = suite["machine"]["nproc"]
    L.append("Whole processes as a user runs them, from the suite (`benchmarks/run.py`, `measure_cli`): "
             "*readme_cold* is the README's first command (`l5sim run circuits/l5_column.toml --duration 1000 "
             "--seed 1`, raster plot included) with an empty numba cache; *readme_warm* the same again; "
             "*first_parallel* the column at the size from which two threads run it by default "
             "(`l5sim.simulation.FUSED_PARALLEL_MIN_NEURONS`, the `circuit.scale` in its command) for "
             "100 ms on two threads right after, when the serial "
             "kernels are cached and the parallel one (the fused loop) is not. Targets: < 15 s and < 30 s on a quiet "
             "2-core machine.\n")
    L.append("| what | wall | peak RSS | timing | command |")
    L.append("|---|---|---|---|---|")
    for k, c in cli.items():
        load = (c.get("loadavg") or [None])[0]
        L.append(f"| {k} | {_s(c['wall_s']) if c['rc'] == 0 else 'failed: ' + c.get('error', '')} | "
                 f"{R._fmt(c['peak_rss_mib'], '{:.0f}')} MiB |{_prov(load, nproc)} | `{c['command']}` |")
    L.append("")


def section_binding(L):
    """The late-bound calls of the chunk loop, with their measured effect on the cold start
    (the suites' command-line runs before and after) and on the run (compare_trees)."""
    before = _load(os.path.join(RES, "suite_p", "results.json"))
    after = _load(os.path.join(RES, "suite_q", "results.json"))
    cold = [((r or {}).get("cli") or {}).get("readme_cold", {}).get("wall_s") for r in (before, after)]
    L.append("The chunk loop calls its population loops, delivery, the STDP loops, the replay and the Poisson "
             "inputs late-bound (`kernels.binding`, `kernels.variants`): it loads each one's address from a table "
             "that is filled, before its first call, with the function compiled (or loaded from numba's cache) for "
             "the argument types the loop passes, and calls it there. numba otherwise links the code of every "
             "function a jitted function calls into the caller and optimises and compiles it all again, and can "
             "compile a caller only after its callees: the loop re-compiled the L5 cell's block function a second "
             "time, and waited for every loop it calls. Now each function is compiled once, and the loop itself is "
             "one more job beside them, so that on two free CPUs the cold start's compiles split into two sides of "
             "about 8.3 s each (`l5sim._compiling.split_jobs`). A call site finds its entry by a hash of its "
             "argument types and raises instead of calling code compiled for other types "
             "(`tests/test_binding.py`, which also loads a loop from the cache in a new process).")
    if all(cold):
        L.append(f"The README's first command from an empty cache took {cold[0]:.2f} s before (`suite_p`) and "
                 f"{cold[1]:.2f} s after (`suite_q`; same command, same machine).")
    L.append("")
    _compare_table(L, "compare_session11", "The run itself, side by side with the tree before the late-bound calls")


def _compare_table(L, name: str, lead: str) -> None:
    """A committed compare_trees run (``benchmarks/results/<name>``) as a table after
    ``lead`` (nothing when it is not there)."""
    cmp_ = _load(os.path.join(RES, name, "results.json"))
    if not cmp_:
        return
    m = cmp_["meta"]
    L.append(f"{lead} (`python -m benchmarks.compare_trees`, {m['date']}, {m['old']['commit']} against "
             f"{m['new']['commit']}; serial, one thread, CPU time, {m['repeats']} interleaved processes; "
             f"`benchmarks/results/{name}`):\n")
    L.append("| network | before, CPU s / bio s (min / median) | after | after / before (min / median) | spikes |")
    L.append("|---|---|---|---|---|")
    for net, r in cmp_["summary"].items():
        L.append(f"| {net} | {r['old_min']:.3f} / {r['old_median']:.3f} | {r['new_min']:.3f} / "
                 f"{r['new_median']:.3f} | {r['ratio_min']:.2f} / {r['ratio_median']:.2f} | "
                 f"{'same' if r['spikes'][0] == r['spikes'][1] else 'differ'} |")
    L.append("")


def section_memory(L):
    L.append("## Memory per synapse\n")
    d = _load(os.path.join(RES, "memory", "memory.json"))
    if not d:
        L.append("Not measured yet: `python -m benchmarks.memory_bench`.\n")
        return
    L.append(f"`{d['command']}` ({d['date']}): one process per size (the 2003 network: all-to-all up to 1000 "
             "cells, p = 0.1 at 10k), built and simulated 10 ms (serial kernel).\n")
    L.append("| neurons | synapses | `synapse_bytes()` / synapse | resident after build | peak (end) |")
    L.append("|---|---|---|---|---|")
    for p in d["points"]:
        L.append(f"| {p['n_neurons']:,} | {p['n_synapses']:,} | "
                 f"{p['synapse_bytes_after_simulate'] / max(p['n_synapses'], 1):.2f} B | "
                 f"{p['rss_build_mib']:.0f} MiB | {p['peak_end_mib']:.0f} MiB |")
    L.append("")
    L.append("| synapses | peak RSS growth / added synapse | resident growth after build | after simulate | "
             "`synapse_bytes()` growth |")
    L.append("|---|---|---|---|---|")
    for g in d["growth"]:
        L.append(f"| {g['from_synapses']:,} -> {g['to_synapses']:,} | {g['peak_end_bytes_per_synapse']:.1f} B | "
                 f"{g['rss_build_bytes_per_synapse']:.1f} B | {g['rss_simulate_bytes_per_synapse']:.1f} B | "
                 f"{g['synapse_bytes_after_simulate_per_synapse']:.1f} B |")
    L.append("")
    last = d["points"][-1]
    arr = ", ".join(f"`{k}` {v / max(last['n_synapses'], 1):.2f} B" for k, v in last["per_synapse_arrays"].items())
    der = ", ".join(f"`{k}` {v / max(last['n_synapses'], 1):.2f} B" for k, v in last.get("derived_layouts", {}).items()
                    if v / max(last["n_synapses"], 1) > 0.05)
    L.append(f"Where the bytes go at {last['n_synapses']:,} synapses: per-synapse arrays of the built circuit "
             f"{arr}; layouts the kernel derives on first use, copies {der or 'none'}. `synapse_bytes()` counts "
             "exactly these (targets, weights, delays, row pointers, derived copies): the resident cost of a "
             "synapse, which the measured resident growth matches. The peak is the honest figure for how "
             "large a network fits: at this size it exceeds the resident memory after the build by "
             f"{last.get('peak_minus_resident_build_mib', float('nan')):.0f} MiB "
             f"({last.get('peak_minus_resident_build_mib', float('nan')) * 2**20 / max(last['n_synapses'], 1):.1f} B "
             "per synapse), reached during the build: `l5sim.builder.build` draws every pathway (targets, "
             "weights, delays: 10 B per synapse) and then copies them into the circuit's arrays one pathway "
             "at a time, freeing each pathway's array as soon as it is copied (`tests/test_build_memory.py`), "
             "so that at most one pathway's targets exist twice." + _growth_caveat(d) + "\n")


def section_memory_column(L):
    """The L5 column's memory (benchmarks/memory_bench.py --circuit column): its synapses,
    the event lists a run allocates beside them, and the build's peak."""
    d = _load(os.path.join(RES, "memory_column", "memory.json"))
    if not d:
        return
    L.append(f"The L5 column (`{d['command']}`, {d['date']}): `circuits/l5_column.toml` at `circuit.scale` = "
             "N / 510, built and simulated for `max_delay` + 10 steps (every delay slot's event lists written once; "
             "serial kernel). Its pending arrivals are event lists (`kernels.events`), allocated per run with "
             "room for one step's arrivals at 100 Hz per slot (10 bytes an entry: a 16-bit code and a float64 "
             "value); `synapse_bytes()` counts the circuit's arrays, not a run's, and `l5sim.sizing`'s estimate "
             "of a run counts the lists apart (\"event lists\"). Per synapse:\n")
    L.append("| neurons | synapses | `synapse_bytes()` / synapse | event lists / synapse | max delay | "
             "resident after build | after simulate | peak (end) |")
    L.append("|---|---|---|---|---|---|---|---|")
    for p in d["points"]:
        n = max(p["n_synapses"], 1)
        L.append(f"| {p['n_neurons']:,} | {p['n_synapses']:,} | {p['synapse_bytes_after_simulate'] / n:.2f} B | "
                 f"{p.get('events_bytes', 0) / n:.2f} B | {p.get('max_delay_steps', 0)} steps | "
                 f"{p['rss_build_mib']:.0f} MiB | {p['rss_simulate_mib']:.0f} MiB | {p['peak_end_mib']:.0f} MiB |")
    L.append("")
    L.append("| synapses | peak RSS growth / added synapse | resident growth after build | after simulate | "
             "`synapse_bytes()` growth | event lists' growth |")
    L.append("|---|---|---|---|---|---|")
    for g in d["growth"]:
        L.append(f"| {g['from_synapses']:,} -> {g['to_synapses']:,} | {g['peak_end_bytes_per_synapse']:.1f} B | "
                 f"{g['rss_build_bytes_per_synapse']:.1f} B | {g['rss_simulate_bytes_per_synapse']:.1f} B | "
                 f"{g['synapse_bytes_after_simulate_per_synapse']:.1f} B | "
                 f"{g.get('events_bytes_per_synapse', 0.0):.1f} B |")
    L.append("")
    last = d["points"][-1]
    L.append("The column has ~57 synapses a cell against the 2003 network's 1000, so its neurons' own arrays "
             "(state, parameters, positions, the step's arrivals: several hundred bytes a cell) weigh in every "
             "growth figure above, which divides by the synapses alone. At the largest size the build's peak is "
             f"{last['peak_build_mib'] - last['rss_build_mib']:.0f} MiB over the resident memory after it: the "
             "distance pass of the `gaussian_prob` pathways (thinning and distance-dependent delays) works in "
             "blocks of candidates (`connectivity.THIN_CHUNK`), so that its temporaries (~45 bytes a candidate) "
             "stay ~12 MB whatever the pathway; drawn for a whole pathway at once they put the 100k column's "
             "build peak ~300 MB over its resident memory (`tests/test_build_memory.py`). The run's peak is "
             f"{last['peak_end_mib'] - last['rss_simulate_mib']:.0f} MiB over the resident memory after it "
             "(not attributed here).\n")


def _growth_caveat(d) -> str:
    """How far the last growth figure leans on the previous point's own peak (its draw's
    temporaries), and the growth from that point's resident memory instead."""
    if len(d["points"]) < 2:
        return ""
    a, b = d["points"][-2], d["points"][-1]
    over = a.get("peak_minus_resident_build_mib", 0.0)
    if over < 1.0:
        return ""
    g = (b["peak_end_mib"] - a["rss_build_mib"]) * 2**20 / max(b["n_synapses"] - a["n_synapses"], 1)
    return (f" The last growth figure starts from a peak {over:.0f} MiB above the resident memory of the "
            f"{a['n_synapses']:,}-synapse point (its wiring rule's draw temporaries), which lowers it; from "
            f"that point's resident memory after the build to the last peak the growth is {g:.1f} B per "
            "synapse.")


STATIC_HEAD = """# Performance: l5sim side by side with Brian2 and NEST

Generated by `python -m benchmarks.make_doc` from the committed results in `benchmarks/results/`
(do not edit by hand). Everything is rerun, and this page rewritten, by one command:

```bash
bash benchmarks/setup_peers.sh     # once: .venv-brian2 (brian2 2.9.0, numpy<2.4) and .venv-nest (NEST 3.10.0)
{rerun}                  # every benchmark below, then this page (about an hour on 2 quiet cores)
```

Each timing carries the date and the 1-minute load average of its runs; a figure measured while
the load exceeded the number of cores is marked **provisional** (other processes inflate it and
make its ratios noisy). A benchmark is not a test: the test suite asserts no timing.
"""

STATIC_MACHINE = """## The machine

{nproc} cores (`nproc`), {cpu}, {mem:.0f} GiB, {platform}; Python {python}. Load average (1 min) at
the start of the suite {la0}, at its end {la1}.
"""

STATIC_NETWORKS = """## The networks

| name | cells | what |
|---|---|---|
| `izh2003_1k` | 800 + 200 | Izhikevich (2003): all-to-all (1M synapses), published integration (v in two 0.5 ms half-steps, u from the new v), 1 ms steps, noise 5 randn / 2 randn per ms, weights 0.5 U / -U |
| `izh2003_10k` | 8000 + 2000 | the same, each ordered pair with p = 0.1 (10M synapses, the in-degree of the 1k network) |
| `izh2003_10k_stdp` | 8000 + 2000 | plus nearest-spike pair STDP on every excitatory synapse (A+ 0.1, A- 0.12, tau 20 ms, weights in [0, 1]) |
| `column_1k`, `column_10k`, `column_100k` | 1k, 10k, 100k | `circuits/l5_column.toml` with `circuit.scale` = n / 510: two-compartment L5 pyramidal cells, PV, SOM, matrix-thalamus gate, conductance synapses with distance-dependent delays, Poisson drive, dt 0.1 ms; fixed expected in-degree (`n_ref`, `pocket_fraction`) |

How each peer maps the 2003 networks onto its simulator is in the docstring of its runner
(`benchmarks/peers/*.py`); the column's Brian2 version in `benchmarks/peers/brian2_column.py`.
"""

STATIC_NEST = """## NEST and NESTML

NEST runs the 2003 networks (its built-in `izhikevich` model, PyPI wheel `nest-simulator` 3.10.0).
The column needs a custom two-compartment model, i.e. NESTML. `nestml` 9.0.0 installs from PyPI
beside the wheel, but a generated model does not build against it here:

1. `generate_nest_target(...)` stops with `InvalidPathException: NEST path
   (/tmp/tmpvx6ujbl4/wheel/platlib) is not a directory!`: the wheel's `nest-config` reports the
   prefix, include and library paths of the machine that built the wheel
   (`/tmp/tmpvx6ujbl4/wheel/platlib`, `/usr/lib64/libgsl.so`,
   `/opt/rh/devtoolset-10/root/usr/lib/gcc/x86_64-redhat-linux/10/libgomp.so`, compiler
   `/opt/rh/devtoolset-10/root/usr/bin/g++`).
2. With a corrected `nest-config` (`nest_path` pointed at it), cmake configures and `make` stops at
   `nest/include/nest/dictionary.h:39:10: fatal error: boost/type_index.hpp: No such file or
   directory`: the wheel's headers need Boost and GSL development headers, which are not installed.
3. Past that, the wheel ships no NEST shared libraries to link a module against (only the Python
   extension `nestkernel_api.so`, with the kernel inside it), so a module would have to resolve
   NEST's symbols from that extension at load time.

A NEST column therefore needs NEST built from source (cmake, GSL, Boost) and the model written in
NESTML; neither fits this machine's time budget, and no NEST column is reported.
"""


def section_profile(L):
    """Where the column's simulate time goes (benchmarks/profile_column.py)."""
    L.append("## Where the column's time goes\n")
    d = _load(os.path.join(RES, "profile_column", "results.json"))
    if not d:
        L.append("Not measured yet: `python -m benchmarks.profile_column`.\n")
        return
    m = d["meta"]
    load = max(m["load_before"][0], m["load_after"][0])
    L.append(f"`python -m benchmarks.profile_column --scale {m['scale']:g} --repeats {m['repeats']}` ({m['date']}; "
             f"load up to {load:.1f} on {m['cpus']} cores): serial kernels, one thread, CPU time, best of "
             f"{m['repeats']}. The column at {m['scale']:g} times its shipped size, 1 s simulated, whole and with a "
             "part of its work removed:\n")
    L.append("| variant | CPU s / bio s | ns per neuron-step | spikes |")
    L.append("|---|---|---|---|")
    for label, r in d["circuit"].items():
        L.append(f"| {label} | {r['cpu_s_per_bio_s']:.2f} | {r['ns_per_neuron_step']:.1f} | {r['spikes']:,} |")
    L.append("")
    L.append("The L5 population loop alone (its 8k pyramidal cells, every conductance nonzero, 100 steps per timing, "
             "variants interleaved), with one piece of its source taken out at a time:\n")
    L.append("| L5 loop | ns per L5 neuron-step | saved |")
    L.append("|---|---|---|")
    for label, r in d["l5_loop"].items():
        L.append(f"| {label} | {r['ns_per_neuron_step']:.1f} | {r['saves_ns']:+.1f} |")
    L.append("")
    passes = d.get("l5_passes")
    if passes:
        L.append(f"The passes of the L5 block function on the column's state after 200 ms (cycle counter read at "
                 f"each pass's start, 1000 steps; the shares of the counted cycles times the loop's "
                 f"{passes['ns_per_l5_neuron_step']:.1f} ns per L5 neuron-step; the arrivals pass reads only the "
                 "drive's entries and the spikes pending at the start, fewer than a full run):\n")
        L.append("| pass | ns per L5 neuron-step |")
        L.append("|---|---|")
        for label, v in passes["passes"].items():
            L.append(f"| {label} | {v:.2f} |")
        L.append("")
    L.append("The loop runs in passes over blocks of 512 neurons (a block's fixed costs, ~0.4 us, made blocks of "
             "256 cost 12.5 against 11.1 ns per neuron-step): the Poisson drive of the block's targets "
             "(`kernels.drive`: drawn where the block reads it, and in the parallel blocks), injected currents, "
             "arrivals channel by channel (from the step's arrivals buffer `now`, only the lines marked in "
             "`SynapseState.now_dirty`), "
             "the sigmoid, the dendrite's update, the soma's update (two loops: one spilled vector registers), the "
             "plateau's burst draw, then a scan for spikes and divergence in the blocks where the update found any. "
             "Every random draw and every sum keeps its order, so the results stay bitwise those of one loop over "
             "neurons (and of the parallel kernel at any thread count). LLVM vectorises every pass but the scan: the "
             "block function is compiled `noalias` (`l5sim._numba_config.NOALIAS`, numba's parfor flag; its array "
             "arguments, the conductance and scratch rows among them, never overlap), so the update passes need no "
             "run-time overlap checks; the passes that draw from the neurons' streams read the two rows of their "
             "(2, N) states in place (`kernels.rng`: a stream's words side by side, read in place, were gathered "
             "and scattered); "
             "the sigmoid's `exp` is l5sim's own (`kernels.vexp`: fused multiply-adds, within one ulp of libm's, "
             "the same on every platform); and a cell-step divides five times (the Mg block and the implicit step of "
             "each compartment, the sigmoid). The PV and SOM loop (`kernels.izh2007`) runs in the same passes. What "
             "remains is the drive's draws (one uniform per target and step) and the arithmetic of the updates.\n")
    section_events(d, L)


def section_events(prof, L):
    """The event lists of pending arrivals, with their measured effect (profile_column and
    the committed compare_trees run of the change)."""
    c = prof["circuit"]
    full, norec = c["full column"]["cpu_s_per_bio_s"], c["without recurrent synapses"]["cpu_s_per_bio_s"]
    L.append("Pending arrivals are event lists (`kernels.events`): delivery appends each arrival (target, channel, "
             "value) to the list of its slot and its target's tile of 256 neurons, and each step replays slot t's "
             "lists, in the order they were appended, into `now`, which the drive and the loops then use. Before "
             "(up to commit a96f72d), a delivery added into a dense ring of (slot, channel, target) entries: with "
             "distance-dependent delays each arrival went to a line untouched for up to `max_delay` steps (the 10k "
             "column's ring is ~10 MB) and was read again, cold, when its slot came due, ~30% of the run by perf. A "
             "list's tail stays in cache from one append to the next (the 10k column's ~1200 tails are ~150 kB) and "
             "`now` is read while it is hot. In the profile above, the full column takes "
             f"{full:.2f} CPU s per biological second and the column without recurrent synapses {norec:.2f}. The "
             "sums are bitwise those of the dense ring: a target's arrivals keep their order in its tile's list, a "
             "full list spills exactly into the dense ring (kept for that), and tiles whose targets receive many "
             "arrivals per step (the 2003 networks' 1000 inputs per cell) use the dense ring directly "
             "(`tests/test_events.py`; `scripts/kernel_fingerprint.py --check` bitwise).\n")
    L.append("The L5 and PV/SOM block functions are also compiled for the conductance channels that the circuit "
             "can fill in their populations (`variants.live_channels`: those a pathway or an input delivers into; "
             "the column's L5 cells use 6 of the 8, its PV and SOM cells 3): the others stay exactly 0, so leaving "
             "them out of the sums and the decay changes no bit, and saves their rows' memory traffic "
             "(`tests/test_live_channels.py`).\n")
    _compare_table(L, "compare_session10", "The event lists and the live channels side by side with the tree "
                                           "before them")
    L.append("A block reads a channel's arrivals in one vectorised pass over its targets (512 L5 cells, 256 PV or "
             "SOM cells) once more than 1/16 of its lines of `now` are marked (`receptors.FULL_PASS_FRACTION`; an "
             "empty entry adds 0, so the sums are the same), else line by line. The column's recurrent channels "
             "mark about 1/7 of the lines each step: read line by line, as under the earlier threshold of 1/4, "
             "they cost more than the whole pass.\n")
    _compare_table(L, "compare_session13", "That threshold side by side with the tree before it")
    L.append("Six changes of session 14, each bitwise (`scripts/kernel_fingerprint.py --check`: 13 of 13), found "
             "in perf profiles of the serial 10k column (samples per instruction, the process's numba functions "
             "written to a perf map):\n")
    L.append("- **The random streams as two rows.** A neuron's xoroshiro128+ stream is column j of a (2, N) array "
             "(`kernels.rng`), one row per state word. The vector loops that draw for a block (the drive's Poisson "
             "counts, the L5 cells' burst draws, the 2003 kernel's noise) read and write the block's part of both "
             "rows in place. With the words side by side in rows of an (N, 2) array they had to be copied into two "
             "scratch rows and back around each such loop. Seeds give the streams they gave (stream j takes the "
             "SeedSequence's words 2j and 2j + 1).")
    L.append("- **Loops over views from 0.** numba wraps a negative index, so a loop indexed from a run-time start "
             "(a population's first neuron, a block's first line) stays scalar, with two more instructions per "
             "access. Three such loops were 5% of the run: the spike-history shift, the count of a block's marked "
             "lines of `now` (compiled to byte inserts) and `delivery.mark_lines`.")
    L.append("- **The PV/SOM scan.** The Izhikevich (2007) block function checked every neuron for a spike or a "
             "state out of bounds in a scalar loop (40% of its time); its update loop now marks the neurons with "
             "work, as the L5 block's did, and the scan visits only those.")
    L.append("- **No input rows without noise.** A block without injected noise in a circuit without current "
             "synapses writes no input rows: the update adds bias and offset itself.")
    L.append("- **The default configuration compiled with its flags as constants.** The L5 update's loops "
             "(`l5cell._update`) are compiled twice: for LVPA's configuration (semi-implicit, per-spike gate, the "
             "gate a state, same-step detection), where the integration scheme, gate mode and detection flags are "
             "constants and their selects and branches leave the loops, and for any other with the flags as read. "
             "The cold start of the README's command grew by ~0.6 s (10.8 -> 11.4 s without the plot, 2 runs "
             "each).")
    L.append("- **The cache follows every kernel source.** numba keeps a cached function while its own file is "
             "unchanged; a kernel that inlined a helper of another file (the streams' accessors) was loaded with "
             "the helper's old code after that file changed. `l5sim._numba_config` stamps the cache entries of "
             "l5sim's functions with a hash of all kernel sources (`tests/test_cache_stamp.py`).\n")
    _compare_table(L, "compare_session14", "Together, side by side with the tree before them")


def render(figure: bool = True) -> str:
    suite = load_suite()
    L = [STATIC_HEAD.format(rerun=RERUN)]
    if suite:
        m = suite["machine"]
        L.append(STATIC_MACHINE.format(nproc=m["nproc"], cpu=m["cpu"], mem=m.get("memory_gib") or 0,
                                       platform=m["platform"], python=m["python"],
                                       la0=m.get("loadavg_at_start"), la1=suite.get("loadavg_at_end")))
    L.append(STATIC_NETWORKS)
    section_targets(suite, L)
    section_equal_threads(suite, L)
    section_scaling(suite, L, figure)
    section_column_check(L)
    section_threads(L, (suite or {}).get("machine", {}).get("nproc", os.cpu_count() or 1))
    section_fused(L)
    section_cold(suite, L)
    section_binding(L)
    section_memory(L)
    section_memory_column(L)
    section_profile(L)
    L.append(STATIC_NEST)
    if suite:
        L.append("## Every run of the suite\n")
        L.append("The runner's own table (`benchmarks/results/suite/results.md`), per network:\n")
        body = R.render_markdown(suite).split("\n", 1)[1]
        L.append(body.replace("\n## ", "\n### "))
    return "\n".join(L).rstrip() + "\n"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.make_doc", description=__doc__.split("\n\n")[0])
    p.add_argument("--check", action="store_true", help="compare with docs/performance.md instead of writing")
    p.add_argument("--no-figure", action="store_true", help="do not redraw docs/figures/performance_scaling.png")
    args = p.parse_args(argv)
    text = render(figure=not (args.check or args.no_figure))
    if args.check:
        with open(DOC) as f:
            same = f.read() == text
        print("docs/performance.md is " + ("up to date" if same else "NOT the rendering of the results"))
        return 0 if same else 1
    R.write_atomic(DOC, text)
    print(f"wrote {DOC}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
