"""Bytes per synapse, measured: peak and resident memory of l5sim processes against synapses.

    .venv/bin/python -m benchmarks.memory_bench              # 2003 networks, 10k to 10M synapses
    .venv/bin/python -m benchmarks.memory_bench --sizes 1000 10000
    .venv/bin/python -m benchmarks.memory_bench --circuit column   # the L5 column, 1k to 100k cells

Each point is its own process (peak RSS is per process): it imports l5sim, loads
``circuits/izhikevich2003.toml`` resized to N cells (80 % excitatory, every pathway
``fixed_prob`` with p = 0.1, or all-to-all at N <= 1000 as in the published network),
builds it, simulates 10 ms (the kernel derives its layouts then), and reports
(``--circuit column``: ``circuits/l5_column.toml`` at ``circuit.scale`` = N / 510 cells,
simulated for ``max_delay`` + 10 steps so that every delay slot's event lists are written, with
the event lists' own bytes, ``events_bytes``, reported apart: they are allocated per run, not
per circuit, and ``synapse_bytes()`` does not count them)

* ``rss_*``: resident memory (``/proc/self/statm``) after import, after build, after
  simulate;
* ``peak_*``: peak RSS (``getrusage``) after build and at the end: the high-water mark,
  which includes the temporary arrays of the wiring draw;
* ``synapse_bytes``: ``BuiltCircuit.synapse_bytes()`` before and after simulating, and
  the nbytes of every per-synapse array of the built circuit by name.

The growth per added synapse between consecutive sizes, d(memory) / d(synapses), is the
measured cost of a synapse (the neurons' own arrays grow too, by N x their per-neuron
bytes, reported apart so that the remainder can be attributed). Writes
``benchmarks/results/memory/memory.json`` (``memory_column/`` for the column; atomically).
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import sys

from . import run as R
from .peers import _common as C

OUT = os.path.join(R.BENCH, "results", "memory")
#: Network sizes (cells): all-to-all up to 1000 cells (1k, 10k, 100k, 1M synapses), 10k cells at
#: p = 0.1 (10M synapses, the in-degree of the 1k network).
DEFAULT_SIZES = (32, 100, 316, 1000, 10000)
#: Column sizes (cells): the benchmark columns (benchmarks/peers/_common.py) and one between.
COLUMN_SIZES = (1000, 10000, 30000, 100000)
COLUMN_BASE_CELLS = C.COLUMN_BASE_CELLS


def _record_arrays(record, prefix=""):
    """Every array of a (nested) kernel record (l5sim.kernels.records), by dotted field name."""
    import numpy as np

    out = {}
    for f in record._fields:
        a = getattr(record, f)
        if isinstance(a, np.ndarray):
            out[prefix + f] = a
        elif hasattr(a, "_fields"):
            out.update(_record_arrays(a, prefix + f + "."))
    return out


def child(n: int, circuit: str = "izh2003") -> dict:
    import resource

    rss0 = C.current_rss_mib()
    import numpy as np

    import l5sim

    rss_import = C.current_rss_mib()
    if circuit == "column":
        path, ov = "l5_column.toml", {"circuit.scale": n / COLUMN_BASE_CELLS}
    else:
        path = "izhikevich2003.toml"
        ov = {"populations.exc.n": int(round(0.8 * n)), "populations.inh.n": n - int(round(0.8 * n))}
        if n > 1000:
            for name in ("ee", "ei", "ie", "ii"):
                ov[f"pathways.{name}.connectivity.rule"] = "fixed_prob"
                ov[f"pathways.{name}.connectivity.p"] = 0.1
                ov[f"pathways.{name}.connectivity.autapses"] = True
    spec = l5sim.load_circuit(os.path.join(R.ROOT, "circuits", path), overrides=ov)
    rss_spec = C.current_rss_mib()
    net = l5sim.build(spec, seed=1)
    rss_build = C.current_rss_mib()
    peak_build = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    sb_build = int(net.synapse_bytes())
    n_syn = int(net.n_synapses)
    fields = _record_arrays(net.net)
    arrays = {f: int(a.nbytes) for f, a in fields.items()
              if a.ndim >= 1 and a.shape[-1] in (n_syn, n_syn + 1) and n_syn > 1000}
    duration = (net.max_delay + 10) * net.dt_ms if circuit == "column" else 10.0
    rec = l5sim.simulate(net, duration, seed=1, parallel=False)
    events = net.layouts.get("events")
    # the event lists of a run: codes and values, 16 bytes per entry, one row per delay slot
    # (l5sim.kernels.events.buffers)
    events_bytes = int((net.max_delay + 1) * int(events[2][-1]) * 16) if events is not None else 0
    rss_sim = C.current_rss_mib()
    peak_end = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    derived, shared = {}, {}
    own = list(fields.values())
    for key, v in getattr(net, "layouts", {}).items():
        for k, a in enumerate(v if isinstance(v, (tuple, list)) else [v]):
            if isinstance(a, np.ndarray):
                # a layout array that is one of the circuit's own arrays costs nothing extra
                (shared if any(a is b for b in own) else derived)[f"{key}[{k}]"] = int(a.nbytes)
    return dict(n_neurons=int(net.n_neurons), n_synapses=n_syn, rss_start_mib=rss0, rss_import_mib=rss_import,
                rss_spec_mib=rss_spec, rss_build_mib=rss_build, rss_simulate_mib=rss_sim,
                peak_build_mib=peak_build, peak_end_mib=peak_end, synapse_bytes_build=sb_build,
                synapse_bytes_after_simulate=int(net.synapse_bytes()), per_synapse_arrays=arrays,
                derived_layouts=derived, shared_layouts=shared, peak_minus_resident_build_mib=peak_build - rss_build,
                kernel=rec.metadata.get("kernel"), circuit=circuit, duration_ms=duration, events_bytes=events_bytes,
                max_delay_steps=int(net.max_delay))


def growth(points: list) -> list:
    """d(memory) / d(synapses) in bytes between consecutive points."""
    out = []
    for a, b in zip(points[:-1], points[1:]):
        ds = b["n_synapses"] - a["n_synapses"]
        if ds <= 0:
            continue
        g = dict(from_synapses=a["n_synapses"], to_synapses=b["n_synapses"], from_neurons=a["n_neurons"],
                 to_neurons=b["n_neurons"])
        for k in ("peak_build_mib", "peak_end_mib", "rss_build_mib", "rss_simulate_mib"):
            g[k.replace("_mib", "_bytes_per_synapse")] = (b[k] - a[k]) * 2**20 / ds
        for k in ("synapse_bytes_build", "synapse_bytes_after_simulate", "events_bytes"):
            g[k + "_per_synapse"] = (b[k] - a[k]) / ds
        out.append(g)
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.memory_bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--circuit", choices=("izh2003", "column"), default="izh2003",
                   help="the 2003 network (default) or the L5 column")
    p.add_argument("--sizes", type=int, nargs="+", default=None,
                   help=f"network sizes (cells; default {DEFAULT_SIZES}, column {COLUMN_SIZES})")
    p.add_argument("--out", default=None, help=f"default {OUT} (column: {OUT}_column)")
    p.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child is not None:
        print("RESULT_JSON " + json.dumps(child(args.child, args.circuit)))
        return 0
    column = args.circuit == "column"
    sizes = args.sizes or (COLUMN_SIZES if column else DEFAULT_SIZES)
    out_dir = args.out or (OUT + "_column" if column else OUT)
    points = []
    for n in sorted(sizes):
        proc = R.run_process([sys.executable, "-m", "benchmarks.memory_bench", "--child", str(n), "--circuit",
                              args.circuit], env=R._env(), timeout=1800)
        res = R.parse_result(proc["stdout"])
        if proc["rc"] != 0 or res is None:
            print(f"memory_bench: N={n} failed: {R._tail(proc['stderr'])}", file=sys.stderr)
            return 1
        res["process_peak_rss_mib"] = proc["peak_rss_mib"]
        res["loadavg"] = C.loadavg()
        points.append(res)
        print(f"  N {res['n_neurons']:6d} synapses {res['n_synapses']:10,d}: peak {res['peak_end_mib']:.0f} MiB, "
              f"resident after build {res['rss_build_mib']:.0f} MiB, synapse_bytes "
              f"{res['synapse_bytes_after_simulate'] / max(res['n_synapses'], 1):.2f} B/syn", file=sys.stderr)
    doc = dict(date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
               command="python -m benchmarks.memory_bench " + " ".join(argv if argv is not None else sys.argv[1:]),
               machine=R.machine_info(), points=points, growth=growth(points))
    R.write_atomic(os.path.join(out_dir, "memory.json"), json.dumps(doc, indent=1))
    for g in doc["growth"]:
        print(f"  {g['from_synapses']:,} -> {g['to_synapses']:,} synapses: peak +{g['peak_end_bytes_per_synapse']:.1f}"
              f" B/syn, resident after build +{g['rss_build_bytes_per_synapse']:.1f}, after simulate "
              f"+{g['rss_simulate_bytes_per_synapse']:.1f}, synapse_bytes +{g['synapse_bytes_after_simulate_per_synapse']:.1f}",
              file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
