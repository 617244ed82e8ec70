"""``l5sim neighbours``: thin CLI glue over :func:`l5sim.neighbours.neighbour_fi`.

Registration imports nothing heavy, so ``l5sim --help`` stays instant.
"""
from __future__ import annotations

import argparse

from .common import add_format_option, add_run_options, figure_path, parse_floats, parse_sets


def _cmd_neighbours(args) -> int:
    from pathlib import Path

    import numpy as np

    from .. import neighbours as NB
    from ..experiments import write_csv
    from ..plotting import neighbour_fi, save_figure
    from ..recording import write_json
    from ..spec import load_circuit

    spec = load_circuit(args.circuit, overrides=parse_sets(args.set))
    lo, hi, n = args.levels
    res = NB.neighbour_fi(spec, pv_scales=parse_floats(args.pv_scales), som_scales=parse_floats(args.som_scales),
                          input_values=np.linspace(lo, hi, int(n)), group_size=args.group_size,
                          group_drive_pA=args.group_drive, probe_every=args.probe_every,
                          seeds=range(args.seed, args.seed + args.seeds), duration_ms=args.duration,
                          settle_ms=args.settle, progress=args.progress or None)
    out = Path(args.out)
    write_csv(out / "neighbour_rates.csv", res.rows)
    write_csv(out / "neighbour_curves.csv", res.curves)
    write_csv(out / "neighbour_summary.csv", res.summary)
    write_json(out / "metadata.json", res.metadata)
    save_figure(neighbour_fi(res), figure_path(out, "neighbours", args))
    if not args.quiet:
        print(f"neighbours: {len(res.metadata['pv_scales'])} x {len(res.metadata['som_scales'])} conditions, "
              f"{res.metadata['n_probes']} probes, {args.seeds} seeds -> {out}")
        print(f"  {'PV x':>5s} {'SOM x':>5s}  {'rheobase (pA)':>15s} {'slope (Hz/nA)':>15s} {'dI0 (pA)':>12s} "
              f"{'slope ratio':>12s} {'subtr. share':>12s} {'burst-reset':>11s}")
        for s in res.summary:
            if s["distance_bin"] != "all":
                continue
            print(f"  {s['pv_scale']:5g} {s['som_scale']:5g}  {s['rheobase_pa']:7.0f} +- {s['rheobase_pa_sd']:4.0f} "
                  f"{1e3 * s['slope_hz_per_pa']:7.1f} +- {1e3 * s['slope_hz_per_pa_sd']:4.1f} "
                  f"{s['d_rheobase_pa']:6.0f} +- {s['d_rheobase_pa_sd']:3.0f} {s['slope_ratio']:6.2f} +- "
                  f"{s['slope_ratio_sd']:.2f} {s['subtractive_share']:6.2f} +- {s['subtractive_share_sd']:.2f} "
                  f"{s['burst_reset_fraction']:11.2f}")
    return 0


def register_neighbours(sub) -> argparse.ArgumentParser:
    """Register ``l5sim neighbours``."""
    p = sub.add_parser(
        "neighbours", help="f-I curves of the neighbours of a driven group, over PV and SOM pathway strengths",
        description="Drive a group of pyramidal cells and measure the f-I curves of sparse probe cells around "
                    "it (one somatic step level per probe), for every pair of PV -> soma and SOM -> dendrite "
                    "weight factors, all conditions in one compiled run per seed. Writes neighbour_rates.csv "
                    "(rate and burst-reset fraction per condition, seed, distance bin and level), "
                    "neighbour_curves.csv (threshold-linear fit per curve), neighbour_summary.csv (means, SDs "
                    "and the comparison with the reference condition), metadata.json and neighbours.png.",
        epilog="example: l5sim neighbours circuits/l5_column.toml --seeds 5 --out out/neighbours")
    p.add_argument("circuit", metavar="CIRCUIT.toml")
    p.add_argument("--out", required=True, metavar="DIR")
    p.add_argument("--pv-scales", default="0.5,1,2", metavar="X,Y,...", help="PV -> soma weight factors (0.5,1,2)")
    p.add_argument("--som-scales", default="0,1,2", metavar="X,Y,...", help="SOM -> dendrite weight factors (0,1,2)")
    p.add_argument("--levels", type=float, nargs=3, default=(-300.0, 700.0, 11), metavar=("LO", "HI", "N"),
                   help="probe step levels in pA (-300 700 11)")
    p.add_argument("--group-size", type=int, default=40, help="cells in the driven group (40)")
    p.add_argument("--group-drive", type=float, default=600.0, metavar="PA", help="somatic current of the group (600)")
    p.add_argument("--probe-every", type=int, default=2, metavar="K", help="every K-th other cell is a probe (2)")
    p.add_argument("--duration", type=float, default=1500.0, metavar="MS", help="simulated time (1500)")
    p.add_argument("--settle", type=float, default=300.0, metavar="MS", help="initial transient left out (300)")
    add_format_option(p)
    add_run_options(p, progress=True, seeds=5, first_seed=1)
    p.set_defaults(func=_cmd_neighbours)
    return p
