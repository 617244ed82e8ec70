"""``l5sim gain``, ``l5sim pulse``, ``l5sim stdp`` and ``l5sim column-stdp``: thin CLI glue over
:mod:`l5sim.experiments` and :mod:`l5sim.column_stdp`.

Registration imports nothing heavy, so ``l5sim --help`` stays instant.
"""
from __future__ import annotations

import argparse

from .common import add_format_option, add_run_options, add_window, figure_path, parse_sets, window_pa


def _cmd_gain(args) -> int:
    from pathlib import Path

    from .. import experiments as X
    from ..plotting import gain_curves, save_figure
    from ..recording import write_json
    from ..spec import load_circuit

    spec = load_circuit(args.circuit, overrides=parse_sets(args.set))
    vkey, vvals = X.parse_grid(args.vary, "--vary")
    ikey, ivals = X.parse_grid(args.input, "--input")
    res = X.gain_sweep(spec, vkey, vvals, ikey, ivals, seeds=range(args.seed, args.seed + args.seeds),
                       duration_ms=args.duration, population=args.population, window_pa=window_pa(args),
                       progress=args.progress or None)
    out = Path(args.out)
    X.write_csv(out / "gain.csv", res.rows)
    X.write_csv(out / "curves.csv", res.curves)
    write_json(out / "metadata.json", res.metadata)
    save_figure(gain_curves(res), figure_path(out, "gain", args))
    if not args.quiet:
        print(f"gain: {len(vvals)} conditions x {len(ivals)} levels x {args.seeds} seeds -> {out}")
        for c in res.curves:
            burst = (f"  burst_reset_fraction={c['mean_burst_reset_fraction']:.3f}"
                     if "mean_burst_reset_fraction" in c else "")
            print(f"  {c['condition']:>28s}  slope={c['slope_hz_per_pa']:.4f} +- {c['slope_se']:.4f} Hz/pA"
                  f"  rheobase={c['rheobase_pa']:.1f} +- {c['rheobase_se_pa']:.1f} pA  onset={c['onset_pa']:g} pA"
                  f"  R2={c['r2']:.3f}  isi_burst_excess={c['mean_isi_burst_excess']:.3f}{burst}")
    for c in res.curves:
        if not c["one_line_ok"]:
            import sys

            print(f"warning: {c['condition']}: one line does not describe the f-I curve: {c['fit_note']}",
                  file=sys.stderr)
    return 0


def _cmd_pulse(args) -> int:
    from pathlib import Path

    from .. import experiments as X
    from ..plotting import pulse_gain, save_figure
    from ..recording import write_json
    from ..spec import load_circuit

    spec = load_circuit(args.circuit, overrides=parse_sets(args.set))
    ikey, ivals = X.parse_grid(args.input, "--input")
    res = X.pulse_response(spec, modulator=args.modulator, amplitude=args.amplitude, tau_ms=args.tau,
                           shape=args.shape, input_key=ikey, input_values=ivals, onset_ms=args.onset,
                           bin_ms=args.bin, duration_ms=args.duration, baseline_ms=args.baseline,
                           seeds=range(args.seed, args.seed + args.seeds), population=args.population,
                           neurons_per_level=args.neurons, onset_spread_ms=args.onset_spread,
                           window_pa=window_pa(args), progress=args.progress or None)
    out = Path(args.out)
    X.write_csv(out / "pulse.csv", res.rows)
    X.write_csv(out / "pulse_rates.csv", res.rates)
    write_json(out / "metadata.json", res.metadata)
    fig = pulse_gain(res, label=f"{args.modulator} pulse {args.amplitude:g}, tau {args.tau:g} ms")
    save_figure(fig, figure_path(out, "pulse", args))
    if not args.quiet:
        import numpy as np

        t, g, _ = res.mean_time_course()
        base = float(np.nanmean(g[t < 0]))
        post = g[t >= 0]
        print(f"pulse: {len(ivals)} levels x {args.seeds} seeds, {len(t)} bins of {args.bin:g} ms -> {out}")
        print(f"  baseline gain {base:.4f} Hz/pA; peak after onset {np.nanmax(post):.4f} Hz/pA "
              f"({100 * (np.nanmax(post) / base - 1):+.0f} %)")
    return 0


def _cmd_stdp(args) -> int:
    from pathlib import Path

    import numpy as np

    from .. import experiments as X
    from ..plotting import save_figure, stdp_summary
    from ..recording import write_json
    from ..spec import load_circuit

    spec = load_circuit(args.circuit, overrides=parse_sets(args.set))
    res = X.stdp_protocol(spec, n_pairs=args.pairs, period_ms=args.period, delay_ms=args.delay,
                          seeds=range(args.seed, args.seed + args.seeds))
    out = Path(args.out)
    X.write_csv(out / "stdp.csv", res.rows)
    meta = dict(res.metadata, summary=res.summary)
    write_json(out / "metadata.json", meta)
    write_json(out / "summary.json", res.summary)
    fig = stdp_summary(res)
    save_figure(fig, figure_path(out, "stdp", args))
    if not args.quiet:
        for n, s in res.summary.items():
            ratio = [v for k, v in s.items() if k.startswith("ratio_to_")][0]
            print(f"  {n:>16s}  dw/s={s['dw_per_s_mean']:.5f} +- {s['dw_per_s_sd']:.5f}  ratio={ratio:.2f}"
                  f"  spikes/pairing={s['spikes_per_pairing']:.2f}  isi_burst_excess={s['isi_burst_excess']:.2f}"
                  + (f"  burst_reset_fraction={s['burst_reset_fraction']:.2f}" if "burst_reset_fraction" in s else ""))
    return 0


def register_gain(sub) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "gain", help="f-I gain families across a varied parameter (rate, bursts, slope, rheobase)",
        description="Simulate f-I curves (rate vs --input) for each value of --vary, all trials in one compiled "
                    "run, and write gain.csv (one row per condition x level x seed: rate_hz, isi_burst_excess, "
                    "spikes_per_isi_burst, burst_reset_fraction for L5 cells), curves.csv (per condition the "
                    "threshold-linear fit of the seed-mean curve in --window pA above the onset: rheobase_pa, "
                    "rheobase_se_pa, slope_hz_per_pa, slope_se, r2, onset_pa, max_local_slope_hz_per_pa, "
                    "max_local_slope_at_pa, one_line_ok, fit_note; SDs of per-seed fits), metadata.json and "
                    "gain.png. A warning is printed for every curve that one line does not describe.",
        epilog="example: l5sim gain circuits/l5_cell.toml --vary inputs.dend_step.amplitude_pA=0:500:9 "
               "--input inputs.soma_step.amplitude_pA=500:1600:12 --out out/gain",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("circuit", metavar="CIRCUIT.toml")
    p.add_argument("--vary", required=True, metavar="KEY=START:STOP:N", help="parameter varied between curves "
                   "(or KEY=V1,V2,...)")
    p.add_argument("--input", required=True, metavar="KEY=START:STOP:N", help="input of each f-I curve")
    p.add_argument("--out", required=True, metavar="DIR")
    p.add_argument("--duration", type=float, default=2000.0, metavar="MS", help="simulated time per trial (2000)")
    add_window(p)
    add_format_option(p)
    add_run_options(p, population=True, progress=True)
    p.set_defaults(func=_cmd_gain)
    return p


def register_stdp(sub) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "stdp", help="STDP-acceleration protocol: the same pairing with single spikes vs bursts",
        description="Pair presynaptic spikes with postsynaptic firing under several conditions (single spikes; "
                    "bursts from apical drive; bursts from an NA pulse) and write stdp.csv (weight change per "
                    "second per condition and seed), summary.json (means and ratios), metadata.json, stdp.png.",
        epilog="example: l5sim stdp circuits/l5_stdp.toml --out out/stdp")
    p.add_argument("circuit", metavar="CIRCUIT.toml")
    p.add_argument("--out", required=True, metavar="DIR")
    p.add_argument("--pairs", type=int, default=30, help="number of pairings (30)")
    p.add_argument("--period", type=float, default=200.0, metavar="MS", help="pairing period (200 ms)")
    p.add_argument("--delay", type=float, default=5.0, metavar="MS", help="pre spike to somatic pulse (5 ms)")
    add_format_option(p)
    add_run_options(p)
    p.set_defaults(func=_cmd_stdp)
    return p


def register_pulse(sub) -> argparse.ArgumentParser:
    """Register ``l5sim pulse``."""
    p = sub.add_parser(
        "pulse", help="gain time course after a phasic neuromodulator pulse (f-I slope per time bin)",
        description="Simulate the f-I curve (rate vs --input, one circuit copy per level, all in one compiled run) "
                    "around a phasic pulse of --modulator at --onset, and write pulse.csv (time_ms from onset, "
                    "gain_hz_per_pa and gain_se_hz_per_pa (threshold-linear slope per bin), rheobase_pa, r2, "
                    "one_line_ok, mean_rate_hz, modulator_level, pulse_amplitude, seed; the format "
                    "`l5sim fit` reads from a gain directory), pulse_rates.csv (rate per bin, level and seed), "
                    "metadata.json (pulse_amplitude, modulator, tau) and pulse.png.",
        epilog="example: l5sim pulse circuits/l5_na.toml --modulator NA --amplitude 1.6 --tau 1000 "
               "--input inputs.soma_step.amplitude_pA=500:1600:12 --neurons 50 --out out/pulse")
    p.add_argument("circuit", metavar="CIRCUIT.toml")
    p.add_argument("--modulator", default="NA", help="modulator to pulse (default NA)")
    p.add_argument("--amplitude", type=float, required=True, help="pulse amplitude (modulator level)")
    p.add_argument("--tau", type=float, default=1000.0, metavar="MS", help="pulse time constant (1000 ms)")
    p.add_argument("--shape", default="exponential", choices=("exponential", "alpha", "square"))
    p.add_argument("--input", required=True, metavar="KEY=START:STOP:N", help="input of the f-I curve")
    p.add_argument("--out", required=True, metavar="DIR")
    p.add_argument("--onset", type=float, default=3000.0, metavar="MS", help="pulse onset (3000 ms)")
    p.add_argument("--onset-spread", type=float, default=0.0, metavar="MS", help="spread the onset of the seeds' "
                   "runs over this many ms (decorrelates bins from the firing phase; 0)")
    p.add_argument("--baseline", type=float, default=1000.0, metavar="MS", help="baseline before onset (1000 ms)")
    p.add_argument("--bin", type=float, default=100.0, metavar="MS", help="time bin (100 ms)")
    p.add_argument("--duration", type=float, default=None, metavar="MS", help="simulated time (onset + 5 tau)")
    p.add_argument("--neurons", type=int, default=None, metavar="N", help="cells per input level (default: "
                   "the circuit's population size)")
    add_window(p)
    add_format_option(p)
    add_run_options(p, population=True, progress=True)
    p.set_defaults(func=_cmd_pulse)
    return p


def _cmd_column_stdp(args) -> int:
    from pathlib import Path

    from .. import experiments as X
    from ..column_stdp import column_stdp
    from ..plotting import column_stdp as plot_column_stdp
    from ..plotting import save_figure
    from ..recording import write_json
    from ..spec import load_circuit

    spec = load_circuit(args.circuit, overrides=parse_sets(args.set))
    res = column_stdp(spec, seeds=range(args.seed, args.seed + args.seeds), pathway=args.pathway,
                      population=args.population or "pyr", na_amplitude=args.na_amplitude, onset_ms=args.onset,
                      pulse_ms=args.pulse, duration_ms=args.duration, bin_ms=args.bin)
    out = Path(args.out)
    X.write_csv(out / "column_stdp.csv", res.rows)
    write_json(out / "summary.json", res.summary)
    write_json(out / "metadata.json", dict(res.metadata, summary=res.summary))
    save_figure(plot_column_stdp(res), figure_path(out, "column_stdp", args))
    if not args.quiet:
        for c in ("control", "pulse"):
            s = res.summary[c]
            print(f"  {c:>8s}  dw/s={s['dw_per_s_mean']:+.6f} +- {s['dw_per_s_sd']:.6f} nS/s  "
                  f"burst-reset share={s['burst_reset_share_mean']:.3f} +- {s['burst_reset_share_sd']:.3f}  "
                  f"rate={s['rate_hz_mean']:.2f} Hz")
        p = res.summary["paired"]
        print(f"  paired (pulse / control): dw/s {p['dw_ratio_mean']:.2f} +- {p['dw_ratio_sd']:.2f}, "
              f"burst-reset share {p['burst_reset_share_ratio_mean']:.2f} +- {p['burst_reset_share_ratio_sd']:.2f} "
              f"(n = {len(p['seeds'])} seeds)")
    return 0


def register_column_stdp(sub) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "column-stdp", help="column: does a phasic NA pulse raise burst-reset spikes and speed STDP of a pathway?",
        description="Make PATHWAY of the column plastic (pair rule, nearest-spike, additive) and simulate each seed "
                    "twice, with and without a square NA pulse (coupling preset: NA raises kappa); the two runs "
                    "coincide until the pulse starts. Writes column_stdp.csv (per seed, condition and time bin: "
                    "mean weight, rate, burst-reset share), summary.json, metadata.json and column_stdp.png.",
        epilog="example: l5sim column-stdp circuits/l5_column.toml --out out/column_stdp --seeds 3")
    p.add_argument("circuit", metavar="CIRCUIT.toml")
    p.add_argument("--out", required=True, metavar="DIR")
    p.add_argument("--pathway", default="ee", help="pathway made plastic (ee)")
    p.add_argument("--na-amplitude", type=float, default=2.0, metavar="LEVEL", help="NA pulse level (2.0)")
    p.add_argument("--onset", type=float, default=1000.0, metavar="MS", help="pulse onset (1000 ms)")
    p.add_argument("--pulse", type=float, default=1000.0, metavar="MS", help="pulse duration (1000 ms)")
    p.add_argument("--duration", type=float, default=2000.0, metavar="MS", help="simulated time (2000 ms)")
    p.add_argument("--bin", type=float, default=100.0, metavar="MS", help="time bin and weight sampling (100 ms)")
    add_format_option(p)
    add_run_options(p, population=True)
    p.set_defaults(func=_cmd_column_stdp)
    return p
