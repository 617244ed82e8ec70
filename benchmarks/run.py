"""Run every implementation of the benchmark networks side by side (issue 6).

    python -m benchmarks                                   # everything, into benchmarks/results/
    python -m benchmarks --networks izh2003_1k izh2003_10k --peers l5sim brian2_standalone nest
    python -m benchmarks --no-cold --repeats 3 --out /tmp/bench

Every implementation runs as its own subprocess, with its own interpreter
(``.venv`` for l5sim and the Numba reference loop, ``.venv-brian2`` and
``.venv-nest`` for the peers; see ``benchmarks/setup_peers.sh``).  A peer that is
not installed is skipped with a message, never faked.  For each network and
implementation:

* a **cold** run (compiled implementations only) with an empty compile cache:
  a fresh ``NUMBA_CACHE_DIR`` for l5sim and the reference loop, a fresh Cython
  cache for Brian2's runtime target, a fresh project directory for Brian2's
  ``cpp_standalone``;
* ``--repeats`` **warm** runs reusing that cache (NEST has no compile step: its
  first run is reported as cold load, the others as warm load).

The simulate time reported is the fastest warm run (the machine is shared; the
minimum is the least disturbed measurement); all runs are kept in
``results.json``.  The harness measures each process's wall time and peak RSS
itself (``os.wait4``); each implementation reports its own phases (build,
compile or load, simulate), spike counts and bytes per synapse.

The regime check compares mean firing rates: every implementation of a network
must lie within 15 % of the median of all of them, and a disagreement is printed
in the table, never hidden.  Results go to ``results.json`` and ``results.md``
in ``--out``, each written atomically (temporary file, then ``os.replace``).
"""
from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from .peers import _common as C

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "benchmarks")
PEERS = os.path.join(BENCH, "peers")
DEFAULT_OUT = os.path.join(BENCH, "results")

#: Relative tolerance of the regime check (issue 6: mean rate within 15 %).
RATE_TOLERANCE = 0.15

DEFAULT_NETWORKS = ("izh2003_1k", "izh2003_10k", "izh2003_10k_stdp", "column_1k", "column_10k", "column_100k")
#: Thread counts compared by default: 1 vs 1 and 2 vs 2 (issue 18: equal threads).
DEFAULT_THREADS = (1, 2)


def _venv_python(name: str, env_var: str) -> str:
    return os.environ.get(env_var) or os.path.join(ROOT, name, "bin", "python")


def implementations(core_python: str) -> dict:
    """Implementation name -> how to run it."""
    b2 = _venv_python(".venv-brian2", "BENCH_BRIAN2_PYTHON")
    nest = _venv_python(".venv-nest", "BENCH_NEST_PYTHON")
    return {
        "l5sim": dict(python=core_python, argv=[os.path.join(PEERS, "l5sim_runner.py")], cache="numba",
                      probe="import l5sim", install="pip install -e . (the core .venv)"),
        "reference_numba": dict(python=core_python, argv=["-m", "benchmarks.reference_numba"], cache="numba",
                                probe="import numba", install="pip install numba"),
        "brian2_runtime": dict(python=b2, argv=[os.path.join(PEERS, "brian2_runner.py"), "--target", "runtime"],
                               cache="workdir", probe="import brian2", install="bash benchmarks/setup_peers.sh brian2"),
        "brian2_standalone": dict(python=b2, argv=[os.path.join(PEERS, "brian2_runner.py"), "--target",
                                                   "standalone"], cache="workdir", probe="import brian2",
                                  install="bash benchmarks/setup_peers.sh brian2"),
        "nest": dict(python=nest, argv=[os.path.join(PEERS, "nest_runner.py")], cache=None,
                     probe="import nest", install="bash benchmarks/setup_peers.sh nest"),
    }


def make_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--networks", nargs="+", default=list(DEFAULT_NETWORKS), choices=sorted(C.NETWORKS),
                   metavar="NET", help=f"networks to run (default: all of {', '.join(DEFAULT_NETWORKS)})")
    p.add_argument("--peers", nargs="+", default=list(C.IMPLEMENTATIONS), choices=C.IMPLEMENTATIONS,
                   metavar="IMPL", help=f"implementations to run (default: all of {', '.join(C.IMPLEMENTATIONS)})")
    p.add_argument("--duration-ms", type=float, default=None,
                   help="biological time per run (default 1000 ms for the 2003 networks, 100 ms for the columns)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--out", default=DEFAULT_OUT, help="directory for results.json and results.md "
                   "(default benchmarks/results/)")
    p.add_argument("--repeats", type=int, default=3, help="warm runs per implementation (default 3; min and "
                   "median are reported)")
    p.add_argument("--threads", type=int, nargs="+", default=list(DEFAULT_THREADS),
                   help="thread counts, each implementation at each (default 1 2: equal-thread tables)")
    p.add_argument("--no-cold", action="store_true", help="skip the cold-compile runs (reuse caches in OUT/tmp)")
    p.add_argument("--no-cli", action="store_true", help="skip the l5sim command-line measurements")
    p.add_argument("--cli-only", action="store_true", help="only the l5sim command-line measurements (cold start)")
    p.add_argument("--profile", action="store_true", help="ask each implementation for its own profile")
    p.add_argument("--timeout-s", type=float, default=600.0, help="limit per subprocess (default 600 s)")
    p.add_argument("--settle-load", type=float, default=None,
                   help="before the timed (warm) repeats of a network, wait until the 1-minute load average is at "
                        "or below this (default: half the CPU count), so that no one's runs are timed while the "
                        "cold runs' builds (Brian2's make -j) still load the machine")
    p.add_argument("--settle-max-s", type=float, default=240.0, help="the longest such wait (default 240 s)")
    return p


# --------------------------------------------------------------------------- processes

def run_process(cmd, env=None, cwd=ROOT, timeout=600.0) -> dict:
    """Run ``cmd``; return rc, wall time, peak RSS (this process only, via wait4), output."""
    out_f = tempfile.TemporaryFile()
    err_f = tempfile.TemporaryFile()
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=out_f, stderr=err_f, env=env, cwd=cwd, start_new_session=True)
    deadline = t0 + timeout
    rc, ru, timed_out = None, None, False
    while True:
        pid, status, ru = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            rc = os.waitstatus_to_exitcode(status)
            break
        if time.perf_counter() > deadline:
            timed_out = True
            os.killpg(proc.pid, 9)  # the group this harness started for this run only
            _, status, ru = os.wait4(proc.pid, 0)
            rc = os.waitstatus_to_exitcode(status)
            break
        time.sleep(0.005)
    proc.returncode = rc
    wall = time.perf_counter() - t0
    out_f.seek(0)
    err_f.seek(0)
    return dict(rc=rc, wall_s=wall, peak_rss_mib=ru.ru_maxrss / 1024.0, timed_out=timed_out,
                cpu_s=ru.ru_utime + ru.ru_stime,
                stdout=out_f.read().decode(errors="replace"), stderr=err_f.read().decode(errors="replace"))


def parse_result(stdout: str):
    for line in reversed(stdout.splitlines()):
        if line.startswith("RESULT_JSON "):
            return json.loads(line[len("RESULT_JSON "):])
    return None


def probe(impl: dict) -> str | None:
    """None when the implementation can run, else the reason it cannot."""
    py = impl["python"]
    if not (os.path.isfile(py) and os.access(py, os.X_OK)):
        return f"interpreter {py} not found; install with: {impl['install']}"
    r = run_process([py, "-c", impl["probe"]], env=_env({"PYNEST_QUIET": "1"}), timeout=120)
    if r["rc"] != 0:
        last = (r["stderr"].strip().splitlines() or ["?"])[-1]
        return f"'{impl['probe']}' failed with {py}: {last}; install with: {impl['install']}"
    return None


def _env(extra: dict | None = None) -> dict:
    env = dict(os.environ)
    env.setdefault("PYTHONHASHSEED", "0")
    # Python as users run it: bytecode cached after the first import (the peers are
    # pip-installed with theirs; without this, a shell that sets PYTHONDONTWRITEBYTECODE
    # would recompile l5sim's sources, an editable install, in every measured process)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYNEST_QUIET"] = "1"
    env["PYTHONPATH"] = ROOT + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    if extra:
        env.update(extra)
    return env


def _tail(text: str, n: int = 3) -> str:
    lines = [ln for ln in text.strip().splitlines() if ln.strip() and "Warning" not in ln]
    return " | ".join(lines[-n:])[-400:]


def duration_for(network: str, args) -> float:
    if args.duration_ms is not None:
        return args.duration_ms
    return C.NETWORKS[network].get("default_duration_ms", 1000.0)


def settle(args) -> dict:
    """Wait until the 1-minute load average falls to ``--settle-load`` (default half the CPU
    count) or ``--settle-max-s`` passes; returns the wait and the load before and after."""
    limit = args.settle_load if args.settle_load is not None else 0.5 * (os.cpu_count() or 1)
    t0 = time.monotonic()
    before = os.getloadavg()[0]
    while os.getloadavg()[0] > limit and time.monotonic() - t0 < args.settle_max_s:
        time.sleep(5.0)
    out = dict(waited_s=round(time.monotonic() - t0, 1), load_before=before, load_after=os.getloadavg()[0],
               limit=limit)
    if out["waited_s"] > 0.5:
        print(f"       settled: {out['waited_s']:.0f} s, load {before:.2f} -> {out['load_after']:.2f}", file=sys.stderr)
    return out


def run_one(name: str, impl: dict, network: str, args, tmp: str, kind: str, threads: int = 1) -> dict:
    """One subprocess run of one implementation on one network with ``threads`` threads."""
    # Brian2's OpenMP build is another project; numba caches serial and parallel kernels side by side
    sub = f"t{threads}" if impl["cache"] == "workdir" else ""
    cache_dir = os.path.join(tmp, name, C.NETWORKS[network].get("cache_from", network), sub)
    extra = {}
    argv = list(impl["argv"])
    if impl["cache"] == "numba":
        extra["NUMBA_CACHE_DIR"] = cache_dir
    elif impl["cache"] == "workdir":
        argv += ["--workdir", cache_dir]
    if kind == "cold" and impl["cache"] and os.path.isdir(cache_dir):
        shutil.rmtree(cache_dir)
    os.makedirs(cache_dir, exist_ok=True)
    out_json = os.path.join(tmp, f"{name}.{network}.{kind}.json")
    cmd = [impl["python"], *argv, "--network", network, "--duration-ms", str(duration_for(network, args)),
           "--seed", str(args.seed), "--out", out_json, "--threads", str(threads)]
    if args.profile:
        cmd.append("--profile")
    load0 = C.loadavg()
    date = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    proc = run_process(cmd, env=_env(extra), timeout=args.timeout_s)
    res = parse_result(proc["stdout"])
    run = dict(kind=kind, rc=proc["rc"], process_wall_s=proc["wall_s"], process_peak_rss_mib=proc["peak_rss_mib"],
               threads=threads, date=date, loadavg_at_start=load0, loadavg_at_end=C.loadavg(),
               command=" ".join(os.path.relpath(c, ROOT) if c.startswith(ROOT) else c for c in cmd))
    if proc["timed_out"]:
        run["error"] = f"timed out after {args.timeout_s:.0f} s"
    elif proc["rc"] == 3:
        run["skipped"] = _tail(proc["stderr"], 1) or "no implementation for this network"
    elif proc["rc"] != 0 or res is None:
        run["error"] = f"exit {proc['rc']}: {_tail(proc['stderr'])}"
    else:
        run["result"] = res
        # An implementation that found its cache empty says so: a "warm" run
        # after --no-cold on a fresh checkout is really a cold compile.
        if res.get("compile_kind") in ("cold", "warm"):
            run["kind"] = res["compile_kind"]
    return run


# --------------------------------------------------------------------------- summary

def summarize(network: str, name: str, runs: list, threads: int = 1) -> dict:
    ok = [r for r in runs if "result" in r]
    row = dict(network=network, implementation=name, threads_requested=threads, runs=runs)
    if not ok:
        bad = next((r for r in runs if "error" in r), None) or next((r for r in runs if "skipped" in r), None)
        row["status"] = "error" if bad and "error" in bad else "skipped"
        row["message"] = (bad.get("error") or bad.get("skipped")) if bad else "no run"
        return row
    warm = [r for r in ok if r["kind"] == "warm"] or ok
    best = min(warm, key=lambda r: r["result"]["simulate_s"])
    res = best["result"]
    cold = next((r for r in ok if r["kind"] == "cold"), None)
    warm_first = warm[0]
    dur_s = res["duration_ms"] / 1000.0
    n_syn, n = res["n_synapses"], res["n_neurons"]
    sim = res["simulate_s"]
    row.update(
        status="ok", n_neurons=n, n_synapses=n_syn, n_spikes=res["n_spikes"],
        mean_rate_hz=res["mean_rate_hz"], mean_rate_exc_hz=res.get("mean_rate_exc_hz"),
        simulate_s=sim, simulate_s_per_bio_s=sim / dur_s,
        simulate_s_all=[r["result"]["simulate_s"] for r in warm],
        simulate_s_min=min(r["result"]["simulate_s"] for r in warm),
        simulate_s_median=statistics.median(r["result"]["simulate_s"] for r in warm),
        loadavg_runs=[r.get("loadavg_at_start") for r in warm], date=best.get("date"),
        burst_share_pyr=res.get("burst_share_pyr"),
        simulate_cpu_s_min=min((r["result"].get("simulate_cpu_s") for r in warm
                                if r["result"].get("simulate_cpu_s") is not None), default=None),
        synaptic_events_per_s=res["n_spikes"] * (n_syn / n) / sim if sim > 0 else float("nan"),
        build_s=res.get("build_s"),
        compile_cold_s=(cold["result"].get("compile_s") if cold else None),
        compile_warm_s=warm_first["result"].get("compile_s") if warm_first is not cold else None,
        load_cold_s=(cold or ok[0])["result"].get("load_s"),
        load_warm_s=warm_first["result"].get("load_s") if warm_first is not (cold or ok[0]) else None,
        process_wall_cold_s=cold["process_wall_s"] if cold else None,
        process_wall_warm_s=min(r["process_wall_s"] for r in warm) if warm_first is not cold else None,
        peak_rss_mib=max(best["process_peak_rss_mib"], res.get("peak_rss_mib") or 0.0,
                         res.get("binary_peak_rss_mib") or 0.0),
        bytes_per_synapse=res.get("bytes_per_synapse"),
        bytes_per_synapse_method=res.get("bytes_per_synapse_method"),
        noise_s=res.get("noise_s"), simulate_with_noise_s=res.get("simulate_with_noise_s"),
        threads=res.get("threads"), versions=res.get("versions"), notes=res.get("notes"),
        profile=res.get("profile"), per_population=res.get("per_population"),
        duration_ms=res["duration_ms"],
    )
    if name == "nest":  # no compile step: the first process is the cold load
        row["compile_cold_s"] = row["compile_warm_s"] = None
    for k in ("stdp_w_mean_end", "stdp_w_frac_at_bounds"):
        if k in res:
            row[k] = res[k]
    return row


def label(row: dict) -> str:
    """An implementation at a thread count: ``l5sim`` (1 thread) or ``l5sim x2``."""
    t = row.get("threads_requested", 1)
    return row["implementation"] if t == 1 else f"{row['implementation']} x{t}"


def regime_check(rows: list) -> dict:
    """Mean rates of one network: all within RATE_TOLERANCE of their median?"""
    rates = {label(r): r["mean_rate_hz"] for r in rows if r.get("status") == "ok"}
    if len(rates) < 2:
        return dict(rates_hz=rates, agree=None, message="fewer than two implementations ran")
    med = statistics.median(rates.values())
    dev = {k: (v - med) / med if med else float("inf") for k, v in rates.items()}
    bad = sorted(k for k, d in dev.items() if not abs(d) <= RATE_TOLERANCE)
    spread = (max(rates.values()) - min(rates.values())) / med if med else float("inf")
    for r in rows:
        if label(r) in dev:
            r["rate_dev_from_median"] = dev[label(r)]
            r["regime_ok"] = label(r) not in bad
    msg = (f"all {len(rates)} mean rates within {RATE_TOLERANCE:.0%} of the median {med:.2f} Hz "
           f"(spread {spread:.1%})" if not bad else
           f"REGIME DISAGREEMENT: {', '.join(bad)} off the median {med:.2f} Hz by more than {RATE_TOLERANCE:.0%}")
    return dict(rates_hz=rates, median_hz=med, spread=spread, agree=not bad, disagreeing=bad, message=msg)


def equal_threads(rows_by_net: dict) -> list:
    """Each peer against l5sim at the same thread count: ratios of the minimum and of the
    median simulate time over the warm repeats (> 1: l5sim faster)."""
    out = []
    for net, rows in rows_by_net.items():
        for (impl, t), r in sorted(rows.items(), key=lambda kv: (kv[0][1], kv[0][0])):
            l5 = rows.get(("l5sim", t))
            if impl == "l5sim" or not l5 or l5.get("status") != "ok" or r.get("status") != "ok":
                continue
            out.append(dict(network=net, threads=t, peer=impl,
                            l5sim_min_s=l5["simulate_s_min"], peer_min_s=r["simulate_s_min"],
                            l5sim_median_s=l5["simulate_s_median"], peer_median_s=r["simulate_s_median"],
                            ratio_min=r["simulate_s_min"] / l5["simulate_s_min"],
                            ratio_median=r["simulate_s_median"] / l5["simulate_s_median"],
                            duration_ms=l5["duration_ms"], n_neurons=l5["n_neurons"], n_synapses=l5["n_synapses"],
                            loadavg=[x for x in (l5.get("loadavg_runs") or []) + (r.get("loadavg_runs") or []) if x]))
    return out


def targets(rows_by_net: dict, cli: dict) -> list:
    """The speed targets of issue 6, each with its measured ratio and verdict."""
    out = []

    def get(net, impl, key="simulate_s", threads=1):
        r = rows_by_net.get(net, {}).get((impl, threads))
        return r.get(key) if r and r.get("status") == "ok" else None

    for net in ("izh2003_1k", "izh2003_10k"):
        l5 = get(net, "l5sim")
        for peer, factor, key in (("brian2_standalone", 2.0, "simulate_s"), ("nest", 10.0, "simulate_s")):
            p = get(net, peer, key)
            ratio = p / l5 if (p and l5) else None
            out.append(dict(target=f"{net}: l5sim simulate >= {factor:g}x faster than {peer}", ratio=ratio,
                            need=factor, ok=None if ratio is None else ratio >= factor,
                            detail=f"{peer} {_fmt_s(p)} / l5sim {_fmt_s(l5)}"))
        ref = get(net, "reference_numba", "simulate_with_noise_s")
        ratio = l5 / ref if (ref and l5) else None
        out.append(dict(target=f"{net}: l5sim simulate within 1.5x of the Numba reference loop (noise included)",
                        ratio=ratio, need=1.5, ok=None if ratio is None else ratio <= 1.5,
                        detail=f"l5sim {_fmt_s(l5)} / reference {_fmt_s(ref)} "
                               f"(loop alone {_fmt_s(get(net, 'reference_numba'))})"))
    b2_whole = get("izh2003_10k", "brian2_standalone", "process_wall_warm_s")
    l5_whole = cli.get("run_10k", {}).get("wall_s") if cli.get("run_10k", {}).get("rc") == 0 else None
    ratio = l5_whole / b2_whole if (l5_whole and b2_whole) else None
    out.append(dict(target="whole `l5sim run` process at 10k < 0.5x Brian2 standalone's whole process (compiled)",
                    ratio=ratio, need=0.5, ok=None if ratio is None else ratio < 0.5,
                    detail=f"l5sim {_fmt_s(l5_whole)} / Brian2 {_fmt_s(b2_whole)}"))
    for key, label, need in (("readme_cold", "README's first command (l5_column, 1 s) from an empty cache < 15 s",
                              15.0),
                             ("first_parallel", "first parallel run (column at 30k, 2 threads, serial kernels cached)"
                              " < 30 s", 30.0),
                             ("run_cold", "cold compile of `l5sim run` < 15 s", 15.0),
                             ("run_warm", "cached start of `l5sim run` < 2 s", 2.0),
                             ("help", "`l5sim --help` < 0.5 s", 0.5)):
        c = cli.get(key, {})
        v = c.get("wall_s") if c.get("rc") == 0 else None
        out.append(dict(target=label, ratio=v, need=need, ok=None if v is None else v < need,
                        detail=(f"{_fmt_s(v)}" if v is not None else c.get("error", "not measured"))))
    return out


def exponents(rows_by_net: dict) -> list:
    """Growth exponents d log(y) / d log(N) between network pairs, per implementation and
    thread count."""
    pairs = [("izh2003_1k", "izh2003_10k"), ("column_1k", "column_10k"), ("column_10k", "column_100k")]
    out = []
    for a, b in pairs:
        for key in sorted(set(rows_by_net.get(a, {})) & set(rows_by_net.get(b, {})), key=lambda k: (k[1], k[0])):
            ra, rb = rows_by_net[a][key], rows_by_net[b][key]
            if not (ra.get("status") == "ok" and rb.get("status") == "ok"):
                continue
            ln = math.log(rb["n_neurons"] / ra["n_neurons"])
            e = dict(implementation=key[0], threads=key[1], from_network=a, to_network=b)
            for k in ("simulate_s", "peak_rss_mib", "build_s"):
                if ra.get(k) and rb.get(k):
                    e[f"{k}_exponent"] = math.log(rb[k] / ra[k]) / ln
            e["synapses_exponent"] = math.log(rb["n_synapses"] / ra["n_synapses"]) / ln
            out.append(e)
    return out


# --------------------------------------------------------------------------- l5sim CLI

def cli_commands(core_python: str, duration_ms: float, seed: int) -> dict:
    """The l5sim command lines measured for issue 6's process-level targets."""
    l5 = [core_python, "-m", "l5sim"]
    exe = os.path.join(os.path.dirname(core_python), "l5sim")
    if os.path.isfile(exe):
        l5 = [exe]
    from .peers.l5sim_runner import IZH_CIRCUIT, OVERRIDES_10K

    circuit = os.path.relpath(IZH_CIRCUIT, ROOT)
    sets = []
    for k, v in OVERRIDES_10K.items():
        sets += ["--set", f"{k}={json.dumps(v) if isinstance(v, bool) else v}"]
    # --no-plot: the raster PNG is not part of the work the peers do.
    base = ["run", circuit, "--duration", f"{duration_ms:g}", "--seed", str(seed), "--out", "{OUT}", "--no-plot",
            "--quiet"]
    # the README's first command, as a user types it (with its raster plot), and the first
    # parallel run after it: the column two threads run by default (the fused parallel loop
    # compiles; from l5sim.simulation.FUSED_PARALLEL_MIN_NEURONS cells, with 2% to spare for
    # the populations' rounding)
    from l5sim.simulation import FUSED_PARALLEL_MIN_NEURONS

    readme = ["run", "circuits/l5_column.toml", "--duration", "1000", "--seed", str(seed), "--out", "{OUT}"]
    first_parallel = ["run", "circuits/l5_column.toml", "--duration", "100", "--seed", str(seed), "--out", "{OUT}",
                      "--no-plot", "--quiet", "--set",
                      f"circuit.scale={math.ceil(FUSED_PARALLEL_MIN_NEURONS * 1.02 / C.COLUMN_BASE_CELLS)}"]
    return {
        "help": l5 + ["--help"],
        "readme_cold": l5 + readme,
        "readme_warm": l5 + readme,
        "first_parallel": l5 + first_parallel,
        "run_cold": l5 + base,
        "run_warm": l5 + base,
        "run_10k": l5 + base + sets,
        # the same with drawn synapses reused from a wiring cache (l5sim.wiring_cache)
        "run_10k_wiring_cache": l5 + base + sets + ["--wiring-cache", "{CACHE}"],
    }


def measure_cli(core_python: str, args, tmp: str) -> dict:
    cmds = cli_commands(core_python, args.duration_ms or 1000.0, args.seed)
    cache = os.path.join(tmp, "l5sim_cli_numba_cache")
    shutil.rmtree(cache, ignore_errors=True)
    out = {}
    wiring = os.path.join(tmp, "l5sim_cli_wiring_cache")
    shutil.rmtree(wiring, ignore_errors=True)
    readme_cache = os.path.join(tmp, "l5sim_readme_numba_cache")
    shutil.rmtree(readme_cache, ignore_errors=True)
    for key in ("help", "readme_cold", "readme_warm", "first_parallel", "run_cold", "run_warm", "run_10k",
                "run_10k_wiring_cache"):
        outdir = os.path.join(tmp, f"cli_{key}")
        shutil.rmtree(outdir, ignore_errors=True)
        cmd = [c.replace("{OUT}", outdir).replace("{CACHE}", wiring) for c in cmds[key]]
        # the README command starts from an empty numba cache of its own; the first parallel
        # run reuses it (serial kernels cached, the parallel variant not yet), two threads asked
        readme = key.startswith("readme") or key == "first_parallel"
        env = _env({"NUMBA_CACHE_DIR": readme_cache if readme else cache})
        if key == "first_parallel":
            env.update(NUMBA_NUM_THREADS="2", L5SIM_THREADS="2", L5SIM_PARALLEL="1")
        # help: best of 3; the 10k runs: best of 3, so that the kernels they need (the
        # parallel point kernel, which the 1k runs do not compile) and the wiring cache are
        # in place, as Brian2's compiled C++ is for its warm process
        reps = 3 if key in ("help", "run_10k", "run_10k_wiring_cache") else 1
        best = None
        for _ in range(reps):
            r = run_process(cmd, env=env, timeout=args.timeout_s)
            if best is None or (r["rc"] == 0 and r["wall_s"] < best["wall_s"]):
                best = r
        entry = dict(command=" ".join(os.path.relpath(c, ROOT) if c.startswith(ROOT) else c for c in cmd),
                     rc=best["rc"], wall_s=best["wall_s"], peak_rss_mib=best["peak_rss_mib"],
                     loadavg=C.loadavg(), date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                     env={k: env[k] for k in ("NUMBA_NUM_THREADS", "L5SIM_THREADS", "L5SIM_PARALLEL") if k in env})
        if best["rc"] != 0:
            entry["error"] = f"exit {best['rc']}: {_tail(best['stderr'])}"
        out[key] = entry
        print(f"  cli {key:9s} rc={best['rc']} {best['wall_s']:.3f} s"
              + (f"  ({entry.get('error')})" if best["rc"] else ""), file=sys.stderr)
    return out


# --------------------------------------------------------------------------- output

def _fmt_s(x) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    if x >= 100:
        return f"{x:.0f} s"
    if x >= 1:
        return f"{x:.2f} s"
    if x >= 0.01:
        return f"{x:.3f} s"
    return f"{x * 1000:.2f} ms"


def _fmt(x, spec="{:.3g}") -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    return spec.format(x)


def machine_info() -> dict:
    cpu = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = None
    try:
        with open("/proc/meminfo") as f:
            mem = int(f.readline().split()[1]) / 2**20
    except (OSError, ValueError, IndexError):
        pass
    return dict(nproc=os.cpu_count(), cpu=cpu, memory_gib=mem, platform=platform.platform(),
                python=platform.python_version(), loadavg_at_start=list(os.getloadavg()))


def render_markdown(doc: dict) -> str:
    L = []
    m = doc["machine"]
    L.append(f"# l5sim benchmarks ({doc['date']})\n")
    L.append(f"Machine: {m['nproc']} cores, {m['cpu']}, {_fmt(m['memory_gib'], '{:.0f}')} GiB; {m['platform']}.  ")
    la = m.get("loadavg_at_start"), doc.get("loadavg_at_end")
    if la[0]:
        L.append(f"Load average (1 min) at start {la[0][0]:.2f}"
                 + (f", at end {la[1][0]:.2f}" if la[1] else "") + " (other work on the machine inflates timings).  ")
    L.append(f"Command: `{doc['command']}`  ")
    dur = (f"{doc['duration_ms']:.0f} ms" if doc["duration_ms"] else     # (each network's default)
           ", ".join(f"{C.NETWORKS[n].get('default_duration_ms', 1000.0):.0f} ms ({n})" for n in doc["networks"]
                     if n in C.NETWORKS) or "each network's default")
    L.append(f"Biological time per run: {dur}, seed {doc['seed']}, "
             f"warm repeats {doc['repeats']} (fastest kept)." + ("  " if doc.get("settle") else "\n"))
    if doc.get("settle"):
        waits = ", ".join(f"{k} {v['waited_s']:.0f} s (load {v['load_before']:.2f} -> {v['load_after']:.2f})"
                          for k, v in doc["settle"].items())
        L.append(f"Before the timed repeats, the load was let fall to {next(iter(doc['settle'].values()))['limit']:.2f}"
                 f" after the cold runs' builds: {waits}.\n")
    for net, block in doc["networks"].items():
        L.append(f"## {net}\n")
        reg = block["regime"]
        flag = "" if reg.get("agree") in (True, None) else "**"
        L.append(f"Regime check: {flag}{reg['message']}{flag}\n")
        L.append("| implementation | threads | simulate / bio s (min) | syn. events / s | build | compile or load, cold | "
                 "warm | whole process, cold / warm | peak RSS | bytes / synapse | rate (exc) Hz | regime |")
        L.append("|---|---|---|---|---|---|---|---|---|---|---|---|")
        for r in block["rows"]:
            if r["status"] != "ok":
                L.append(f"| {r['implementation']} | {r.get('threads_requested', 1)} | {r['status'].upper()}: {r['message']} "
                         "| | | | | | | | | |")
                continue
            is_nest = r["implementation"] == "nest"
            cold = r["load_cold_s"] if is_nest else r["compile_cold_s"]
            warm = r["load_warm_s"] if is_nest else r["compile_warm_s"]
            kind = " (load)" if is_nest else ""
            sim = _fmt_s(r["simulate_s_per_bio_s"])
            if r.get("simulate_with_noise_s"):
                sim += f" (+{_fmt_s(r['noise_s'])} noise)"
            regime = "-" if "regime_ok" not in r else ("ok" if r["regime_ok"] else
                                                        f"**DISAGREES ({r['rate_dev_from_median']:+.0%})**")
            L.append(f"| {r['implementation']} | {r.get('threads') or 1} | {sim} | "
                     f"{_fmt(r['synaptic_events_per_s'], '{:.3g}')} | "
                     f"{_fmt_s(r['build_s'])} | {_fmt_s(cold)}{kind} | {_fmt_s(warm)}{kind} | "
                     f"{_fmt_s(r['process_wall_cold_s'])} / {_fmt_s(r['process_wall_warm_s'])} | "
                     f"{_fmt(r['peak_rss_mib'], '{:.0f}')} MiB | {_fmt(r['bytes_per_synapse'], '{:.1f}')} | "
                     f"{_fmt(r['mean_rate_hz'], '{:.2f}')} ({_fmt(r['mean_rate_exc_hz'], '{:.2f}')}) | {regime} |")
        n_syn = next((r["n_synapses"] for r in block["rows"] if r["status"] == "ok"), None)
        L.append(f"\nSynapses: {_fmt(n_syn, '{:,}')}.\n")
        for r in block["rows"]:
            if r.get("per_population") and len(r["per_population"]) > 2:
                pp = ", ".join(f"{k} {v['n']} cells {v['rate_hz']:.2f} Hz" for k, v in r["per_population"].items())
                L.append(f"Populations ({r['implementation']}, {r['duration_ms']:.0f} ms): {pp}.  ")
        for r in block["rows"]:
            if r.get("profile"):
                top = ", ".join(f"{p['name']} {p['fraction']:.0%}" for p in r["profile"][:6])
                L.append(f"Profile ({r['implementation']}): {top}.  ")
        L.append("")
    if doc.get("equal_threads"):
        L.append("## Equal threads: each peer against l5sim on the same number of threads\n")
        L.append("Ratio = peer's simulate time / l5sim's (above 1: l5sim faster), from the fastest (min) and "
                 "the median of the warm repeats; load = 1-minute load average at the start of those runs.\n")
        L.append("| network | threads | peer | l5sim min / median | peer min / median | ratio (min) | "
                 "ratio (median) | load |")
        L.append("|---|---|---|---|---|---|---|---|")
        for e in doc["equal_threads"]:
            la = [x[0] for x in e["loadavg"] if x]
            load = f"{min(la):.1f}-{max(la):.1f}" if la else "-"
            L.append(f"| {e['network']} | {e['threads']} | {e['peer']} | {_fmt_s(e['l5sim_min_s'])} / "
                     f"{_fmt_s(e['l5sim_median_s'])} | {_fmt_s(e['peer_min_s'])} / {_fmt_s(e['peer_median_s'])} | "
                     f"{e['ratio_min']:.2f} | {e['ratio_median']:.2f} | {load} |")
        L.append("")
    if doc.get("targets"):
        L.append("## Issue 6 targets\n")
        L.append("| target | measured | verdict |")
        L.append("|---|---|---|")
        for t in doc["targets"]:
            verdict = "not measured" if t["ok"] is None else ("met" if t["ok"] else "**not met**")
            L.append(f"| {t['target']} | {t['detail']} | {verdict} |")
        L.append("")
    if doc.get("cli"):
        L.append("## l5sim command line\n")
        L.append("| what | command | wall | peak RSS | load | status |")
        L.append("|---|---|---|---|---|---|")
        for k, c in doc["cli"].items():
            la = c.get("loadavg") or ["-"]
            L.append(f"| {k} | `{c['command']}` | {_fmt_s(c['wall_s'])} | {_fmt(c['peak_rss_mib'], '{:.0f}')} MiB | "
                     f"{la[0]} | {'ok' if c['rc'] == 0 else c.get('error', 'failed')} |")
        L.append("")
    if doc.get("exponents"):
        L.append("## Growth with size (exponent of N)\n")
        L.append("| implementation | from | to | synapses | simulate time | peak memory | build |")
        L.append("|---|---|---|---|---|---|---|")
        for e in doc["exponents"]:
            L.append(f"| {e['implementation']} | {e['from_network']} | {e['to_network']} | "
                     f"{_fmt(e.get('synapses_exponent'), '{:.2f}')} | {_fmt(e.get('simulate_s_exponent'), '{:.2f}')} | "
                     f"{_fmt(e.get('peak_rss_mib_exponent'), '{:.2f}')} | {_fmt(e.get('build_s_exponent'), '{:.2f}')} |")
        L.append("")
    if doc.get("skipped_implementations"):
        L.append("## Skipped implementations\n")
        for k, v in doc["skipped_implementations"].items():
            L.append(f"- {k}: {v}")
        L.append("")
    L.append("Columns: *simulate / bio s* is the simulate phase only (fastest warm run) per second of biological "
             "time, noise included except for the reference loop, whose NumPy noise draw is shown apart; "
             "*syn. events / s* = spikes x mean out-degree / simulate time; *compile or load* is the "
             "compile step (cold: empty cache; warm: cached), or for NEST the `import nest` time; *whole "
             "process* is the wall time of the benchmark process measured by the harness; *bytes / synapse* "
             "comes from each implementation's own arrays where it can report them (NEST: RSS growth while "
             "connecting).\n")
    return "\n".join(L)


def write_atomic(path: str, text: str) -> None:
    d = os.path.dirname(path) or "."
    os.makedirs(d, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=d, prefix="." + os.path.basename(path) + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def main(argv=None) -> int:
    args = make_parser().parse_args(argv)
    if args.repeats < 1:
        print("--repeats must be >= 1", file=sys.stderr)
        return 2
    out_dir = os.path.abspath(args.out)
    tmp = os.path.join(out_dir, "tmp")
    os.makedirs(tmp, exist_ok=True)
    core_python = sys.executable
    impls = implementations(core_python)
    skipped = {}
    runnable = []
    for name in args.peers:
        why = probe(impls[name])
        if why:
            skipped[name] = why
            print(f"[skip] {name}: {why}", file=sys.stderr)
        else:
            runnable.append(name)

    doc = dict(date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"), machine=machine_info(),
               threads=args.threads,
               command="python -m benchmarks " + " ".join(argv if argv is not None else sys.argv[1:]),
               duration_ms=args.duration_ms, seed=args.seed, repeats=args.repeats,
               rate_tolerance=RATE_TOLERANCE, networks={}, skipped_implementations=skipped)
    rows_by_net = {}
    for net in ([] if args.cli_only else args.networks):
        rows = []
        for t in args.threads:
            # cold runs first, then the warm repeats interleaved (each repeat runs every
            # implementation once), so that a change of the machine's load hits all alike
            runs = {name: [] for name in runnable}
            active = list(runnable)
            cold = not args.no_cold and C.NETWORKS[net].get("cold_run", True)
            n_warm = {name: args.repeats for name in runnable}
            schedule = []
            for name in runnable:
                if impls[name]["cache"] is None:   # NEST: the first run is the cold load
                    schedule.append((name, "cold"))
                elif cold:
                    schedule.append((name, "cold"))
            for _ in range(args.repeats):
                schedule += [(name, "warm") for name in runnable]
            settled = False
            for name, kind in schedule:
                if name not in active:
                    continue
                if kind == "warm" and not settled:
                    settled = True
                    doc.setdefault("settle", {})[f"{net} x{t}"] = settle(args)
                if kind == "warm" and n_warm[name] <= 0:
                    continue
                if kind == "warm":
                    n_warm[name] -= 1
                r = run_one(name, impls[name], net, args, tmp, kind, threads=t)
                runs[name].append(r)
                tag = ("ok  " if "result" in r else "skip" if "skipped" in r else "FAIL")
                sim = r["result"]["simulate_s"] if "result" in r else None
                print(f"[{tag}] {net:18s} {name:18s} x{t} {kind:4s} simulate {_fmt_s(sim):>9s}  process "
                      f"{r['process_wall_s']:.2f} s  load {r['loadavg_at_start'][0] if r['loadavg_at_start'] else '?'}"
                      + (f"  {r.get('skipped') or r.get('error')}" if "result" not in r else ""), file=sys.stderr)
                if "skipped" in r or "error" in r:
                    active.remove(name)
            for name in runnable:
                rows.append(summarize(net, name, runs[name], threads=t))
        regime = regime_check(rows)
        print(f"       {net}: {regime['message']}", file=sys.stderr)
        doc["networks"][net] = dict(rows=rows, regime=regime)
        rows_by_net[net] = {(r["implementation"], r["threads_requested"]): r for r in rows}
        doc["equal_threads"] = equal_threads(rows_by_net)
        _write(doc, out_dir)  # partial results survive an interruption
    cli = {}
    if "l5sim" in runnable and not args.no_cli:
        cli = measure_cli(core_python, args, tmp)
    doc["cli"] = cli
    doc["targets"] = targets(rows_by_net, cli)
    doc["exponents"] = exponents(rows_by_net)
    doc["equal_threads"] = equal_threads(rows_by_net)
    doc["loadavg_at_end"] = list(os.getloadavg())
    _write(doc, out_dir)
    print(f"wrote {os.path.join(out_dir, 'results.json')} and results.md", file=sys.stderr)
    return 0


def _write(doc: dict, out_dir: str) -> None:
    write_atomic(os.path.join(out_dir, "results.json"), json.dumps(doc, indent=1, sort_keys=False, default=str))
    write_atomic(os.path.join(out_dir, "results.md"), render_markdown(doc))


if __name__ == "__main__":
    sys.exit(main())
