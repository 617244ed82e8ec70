"""Command-line interface: ``l5sim run | gain | stdp | column-stdp | sweep | plot | fit | stability-gap``.

Thin glue over the public API. ``make_parser()`` builds the parser without importing
NumPy, Numba or matplotlib, so that ``l5sim --help`` is instant; each command imports
what it needs when it runs.
"""
from __future__ import annotations

import argparse
import sys

RUN_EPILOG = """\
outputs (in DIR):
  recording.npz   spikes (spike_i, spike_t_ms, spike_burst), traces and metadata;
                  read with numpy.load(path, allow_pickle=False) or l5sim.load_recording
  metadata.json   seed, dt_ms, circuit hash, the circuit with overrides, versions, timing
  summary.json    {"populations": {NAME: {"n", "rate_hz", "cv_isi", "isi_burst_excess",
                   "spikes_per_isi_burst", "burst_reset_fraction" (L5 pyramidal only), ...}},
                   "seed", "duration_ms", "timing_s"}; bursts: see l5sim.analysis
  raster.png      spikes coloured by population, burst-reset spikes circled, rates below

--set KEY=VALUE overrides any circuit value by its dotted key path; VALUE is read as TOML
(numbers, true/false, "strings", [lists], {inline = tables}) and validated like the file:
  l5sim run circuits/l5_column.toml --set populations.pyr.n=800 --set inputs.dend_drive.amplitude_pA=400

units: ms, mV, pF, nS, pA, Hz.
"""


def _parse_sets(items):
    from .errors import SpecError

    out = {}
    for item in items or []:
        if "=" not in item:
            raise SpecError("--set", item, "KEY=VALUE with a dotted key path, e.g. populations.pyr.n=200")
        k, v = item.split("=", 1)
        out[k.strip()] = v.strip()
    return out


def _cmd_run(args) -> int:
    import time
    from pathlib import Path

    from . import build, load_circuit, save_recording, simulate
    from .recording import write_json

    t0 = time.perf_counter()
    spec = load_circuit(args.circuit, overrides=_parse_sets(args.set))
    t1 = time.perf_counter()
    net = build(spec, seed=args.seed, wiring_cache=args.wiring_cache)
    t2 = time.perf_counter()
    progress = True if args.progress else (False if args.no_progress else None)
    rec = simulate(net, args.duration, seed=args.seed, progress=progress)
    t3 = time.perf_counter()
    out = Path(args.out)
    rec.metadata["timing_s"].update({"load": t1 - t0, "build": t2 - t1, "simulate_total": t3 - t2})
    save_recording(rec, out)
    summary = rec.summary()
    summary["timing_s"] = rec.metadata["timing_s"]
    summary["n_neurons"] = net.n_neurons
    summary["n_synapses"] = net.n_synapses
    write_json(out / "summary.json", summary)
    if not args.no_plot:
        from .plotting import raster, save_figure

        save_figure(raster(rec), out / "raster.png")
    if not args.quiet:
        print(f"{spec.circuit.name}: {net.n_neurons} neurons, {net.n_synapses} synapses, "
              f"{args.duration:g} ms (seed {args.seed}) -> {out}")
        for name, p in summary["populations"].items():
            reset = f"  burst_reset_fraction={p['burst_reset_fraction']:.3f}" if "burst_reset_fraction" in p else ""
            print(f"  {name:>8s}  n={p['n']:<6d} rate={p['rate_hz']:8.3f} Hz  cv_isi={p['cv_isi']:.3f}  "
                  f"isi_burst_excess={p['isi_burst_excess']:.3f}{reset}")
        print(f"  build {t2 - t1:.3f} s, simulate {t3 - t2:.3f} s")
    return 0


def make_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="l5sim", description="Fast, faithful simulator of cortical layer-5 microcircuits.")
    parser.add_argument("--version", action="version", version=f"l5sim {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = sub.add_parser(
        "run", help="simulate a circuit and write its recording, summary and raster",
        description="Simulate CIRCUIT.toml for --duration ms and write the recording, summary.json and "
                    "raster.png into --out.",
        epilog=RUN_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    run.add_argument("circuit", metavar="CIRCUIT.toml", help="circuit file (see circuits/)")
    run.add_argument("--duration", type=float, default=1000.0, metavar="MS", help="simulated time in ms (default 1000)")
    run.add_argument("--seed", type=int, default=0, metavar="N", help="seed of every random draw (default 0)")
    run.add_argument("--out", required=True, metavar="DIR", help="output directory (created if needed)")
    run.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                     help="override a circuit value by dotted key path (repeatable)")
    run.add_argument("--no-plot", action="store_true", help="skip raster.png")
    run.add_argument("--wiring-cache", metavar="DIR", default=None,
                     help="keep drawn synapses in DIR and reuse them when the same pathways are built with the "
                          "same seed again (default: $L5SIM_WIRING_CACHE, else no cache; results are the same)")
    run.add_argument("--progress", action="store_true", help="always show a progress bar")
    run.add_argument("--no-progress", action="store_true", help="never show a progress bar "
                     "(default: shown for runs longer than 5 s of biological time)")
    run.add_argument("--quiet", action="store_true", help="print nothing on success")
    run.set_defaults(func=_cmd_run)

    for module, names in (("l5sim.experiments_cli", ("register_gain", "register_stdp", "register_pulse",
                                                    "register_column_stdp")),
                          ("l5sim.neighbours_cli", ("register_neighbours",)),
                          ("l5sim.sweep_cli", ("register_sweep", "register_plot")),
                          ("l5sim.ann.cli", ("register_fit", "register_stability_gap"))):
        try:
            mod = __import__(module, fromlist=list(names))
        except ImportError:
            continue
        for name in names:
            getattr(mod, name)(sub)
    return parser


def main(argv=None) -> int:
    parser = make_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    from .errors import L5SimError

    try:
        return int(args.func(args) or 0)
    except L5SimError as e:
        print(f"l5sim {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"l5sim {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
