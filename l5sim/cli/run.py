"""``l5sim run``: simulate one circuit and write its recording, summary and raster.

Registration imports nothing heavy, so ``l5sim --help`` stays instant.
"""
from __future__ import annotations

import argparse

from .common import add_format_option, add_set_option, figure_path, parse_sets

RUN_EPILOG = """\
outputs (in DIR):
  recording.npz   spikes (spike_i, spike_t_ms, spike_burst), traces and metadata;
                  read with numpy.load(path, allow_pickle=False) or l5sim.load_recording
  metadata.json   seed, dt_ms, circuit hash, the circuit with overrides, versions, timing
  summary.json    {"populations": {NAME: {"n", "rate_hz", "cv_isi", "isi_burst_excess",
                   "spikes_per_isi_burst", "burst_reset_fraction" (L5 pyramidal only), ...}},
                   "seed", "duration_ms", "timing_s"}; bursts: see l5sim.analysis
  raster.png      spikes coloured by population, burst-reset spikes circled, rates below
                  (raster.svg / raster.pdf with --format)

--set KEY=VALUE overrides any circuit value by its dotted key path; VALUE is read as TOML
(numbers, true/false, "strings", [lists], {inline = tables}) and validated like the file:
  l5sim run circuits/l5_column.toml --set populations.pyr.n=800 --set inputs.dend_drive.amplitude_pA=400

units: ms, mV, pF, nS, pA, Hz.
"""


def _cmd_run(args) -> int:
    import time
    from pathlib import Path

    from .. import build, load_circuit, save_recording, simulate
    from ..recording import write_json

    t0 = time.perf_counter()
    spec = load_circuit(args.circuit, overrides=parse_sets(args.set))
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
        from ..plotting import raster, save_figure

        save_figure(raster(rec), figure_path(out, "raster", args))
    if not args.quiet:
        print(f"{spec.circuit.name}: {net.n_neurons} neurons, {net.n_synapses} synapses, "
              f"{args.duration:g} ms (seed {args.seed}) -> {out}")
        for name, p in summary["populations"].items():
            reset = f"  burst_reset_fraction={p['burst_reset_fraction']:.3f}" if "burst_reset_fraction" in p else ""
            print(f"  {name:>8s}  n={p['n']:<6d} rate={p['rate_hz']:8.3f} Hz  cv_isi={p['cv_isi']:.3f}  "
                  f"isi_burst_excess={p['isi_burst_excess']:.3f}{reset}")
        print(f"  build {t2 - t1:.3f} s, simulate {t3 - t2:.3f} s")
    return 0


def register_run(sub) -> argparse.ArgumentParser:
    """Register ``l5sim run``."""
    run = sub.add_parser(
        "run", help="simulate a circuit and write its recording, summary and raster",
        description="Simulate CIRCUIT.toml for --duration ms and write the recording, summary.json and "
                    "raster.png into --out.",
        epilog=RUN_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    run.add_argument("circuit", metavar="CIRCUIT.toml", help="circuit file (see circuits/)")
    run.add_argument("--duration", type=float, default=1000.0, metavar="MS", help="simulated time in ms (default 1000)")
    run.add_argument("--seed", type=int, default=0, metavar="N", help="seed of every random draw (default 0)")
    run.add_argument("--out", required=True, metavar="DIR", help="output directory (created if needed)")
    add_set_option(run)
    run.add_argument("--no-plot", action="store_true", help="skip raster.png")
    add_format_option(run)
    run.add_argument("--wiring-cache", metavar="DIR", default=None,
                     help="keep drawn synapses in DIR and reuse them when the same pathways are built with the "
                          "same seed again (default: $L5SIM_WIRING_CACHE, else no cache; results are the same)")
    run.add_argument("--progress", action="store_true", help="always show a progress bar")
    run.add_argument("--no-progress", action="store_true", help="never show a progress bar "
                     "(default: shown for runs longer than 5 s of biological time)")
    run.add_argument("--quiet", action="store_true", help="print nothing on success")
    run.set_defaults(func=_cmd_run)
    return run
