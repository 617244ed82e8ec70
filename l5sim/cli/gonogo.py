"""``l5sim gonogo``: thin CLI glue over :func:`l5sim.gonogo.run_many`.

Registration imports nothing heavy, so ``l5sim --help`` stays instant.
"""
from __future__ import annotations

import argparse

from .common import add_format_option, figure_path, parse_sets


def _cmd_gonogo(args) -> int:
    import json
    from pathlib import Path

    from .. import gonogo as G
    from .._io import atomic_write
    from ..plotting import gonogo_curves, save_figure

    conditions = [c.strip() for c in args.condition.split(",") if c.strip()]
    cfg = G.Config(n_trials=args.trials, shift_at=args.shift_at).check()
    seeds = list(range(args.seed, args.seed + args.seeds))
    out = Path(args.out)

    def progress(sm):
        if not args.quiet:
            print(f"  {sm['condition']} seed {sm['seed']}: criterion before shift "
                  f"{sm['trials_to_criterion_before_shift']}, after {sm['trials_to_criterion_after_shift']}, "
                  f"NA onsets {sm['na_onsets']}", flush=True)

    sums = G.run_many(args.circuit, seeds, conditions, cfg, out, workers=args.workers,
                      overrides=parse_sets(args.set), progress=progress, scheduler=args.scheduler)
    agg = G.aggregate(sums)
    atomic_write(out / "summary.json", lambda fh: fh.write(json.dumps(
        {"config": sums[0]["config"], "circuit": str(args.circuit), "seeds": seeds, "conditions": agg},
        indent=1).encode()))
    rows = {c: [G.read_trials(out / f"trials_{G.stem(c, s)}.csv") for s in seeds] for c in conditions}
    save_figure(gonogo_curves(G.curves(rows, cfg), cfg.shift_at, cfg.criterion), figure_path(out, "gonogo", args))
    if not args.quiet:
        for c, a in agg.items():
            print(f"gonogo {c}: {a['n_seeds']} seeds, re-adapted {a['share_readapted']:.0%}, trials to criterion "
                  f"after the shift {a['trials_to_criterion_after_shift_mean']} +- "
                  f"{a['trials_to_criterion_after_shift_sd']}, entropy peak {a['entropy_peak_after_shift_mean']}")
        print(f"-> {out}")
    return 0


def register_gonogo(sub) -> argparse.ArgumentParser:
    """Register ``l5sim gonogo``."""
    p = sub.add_parser(
        "gonogo", help="the Go/No-Go set-shifting case study: R-STDP with dopamine, optional NA transient",
        description="A spiking actor-critic (circuits/gonogo.toml) learns a Go/No-Go task by trial and error "
                    "(l5sim.gonogo); the go cue changes from A to X at --shift-at. Writes per seed and condition "
                    "trials_COND_seedN.csv (one row per trial) and summary_COND_seedN.json, then summary.json "
                    "(all seeds) and gonogo.png (performance, NA level, H(action | go cue) over trials). The seeds run "
                    "on the sweep's backends (--scheduler); a seed whose summary is already in DIR is not "
                    "recomputed (an interrupted run resumes).",
        epilog="example: l5sim gonogo circuits/gonogo.toml --trials 400 --shift-at 200 --seeds 10 "
               "--condition da,da+na --out out/gonogo")
    p.add_argument("circuit", metavar="CIRCUIT.toml", nargs="?", default="circuits/gonogo.toml")
    p.add_argument("--out", required=True, metavar="DIR")
    p.add_argument("--trials", type=int, default=400, metavar="N", help="trials of 1 s (400)")
    p.add_argument("--shift-at", type=int, default=200, metavar="K", help="first trial with the new go cue (200)")
    p.add_argument("--condition", default="da,da+na", metavar="C[,C...]",
                   help="da, da+na, na-random (NA pulse at a random trial), na-nocoupling (NA without its "
                        "coupling effect); comma-separated (da,da+na)")
    p.add_argument("--seeds", type=int, default=1, metavar="N", help="number of seeds (1)")
    p.add_argument("--seed", type=int, default=1, metavar="N", help="first seed (1)")
    p.add_argument("--workers", type=int, default=1, metavar="N", help="worker processes (1)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="as l5sim sweep: processes (a local pool of --workers processes; the default when "
                        "--workers > 1), serial (this process; the default otherwise), local (a Dask LocalCluster "
                        "of --workers processes) or a Dask scheduler address such as tcp://HOST:8786")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="circuit override (repeatable)")
    p.add_argument("--quiet", action="store_true", help="print nothing on success")
    add_format_option(p)
    p.set_defaults(func=_cmd_gonogo)
    return p
