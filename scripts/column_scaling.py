"""Run circuits/l5_column.toml at sizes from ~500 to ~50,000 neurons (``circuit.scale``, with
the fixed-in-degree rule of its pathways) and tabulate the per-population rates.

Writes docs/results/column_scaling.json (mean and SD of the rates over seeds, per size) and
docs/figures/column_scaling.png (:func:`l5sim.plotting.column_scaling`). Optionally also runs
the largest size without the scaling rule (``n_ref = 0`` and fixed pockets, the connection
rules of the 400-cell column at every size) for comparison.

    python scripts/column_scaling.py [--scales 1 4 20 100] [--seeds 3] [--duration 400]
    python scripts/column_scaling.py --figure-only     # redraw the figure from the committed json

The first ``--transient`` ms are excluded from the rates. Runs one simulation at a time on
the serial kernel (set NUMBA_NUM_THREADS to use more threads).
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

import l5sim
from l5sim import plotting

ROOT = Path(__file__).resolve().parents[1]
CIRCUIT = ROOT / "circuits" / "l5_column.toml"
POPS = ("pyr", "pv", "som")


def rates(spec, seed, duration_ms, transient_ms):
    """{population: mean rate (Hz)} after the transient, and the wall time of build + run."""
    t0 = time.perf_counter()
    rec = l5sim.simulate(l5sim.build(spec, seed=seed), duration_ms)
    wall = time.perf_counter() - t0
    out = {}
    for pop in POPS:
        _, t, _ = rec.spikes(pop)
        out[pop] = float((t >= transient_ms).sum() / spec.populations[pop].n / ((duration_ms - transient_ms) / 1e3))
    return out, wall


def unscaled(spec):
    """The same cortical sizes with the 400-cell column's connection rules (no n_ref,
    pockets of 40) and its 10 thalamic cells: the column of issue 17 grown by --set."""
    over = {"circuit.scale": 1.0}
    over.update({f"populations.{k}.n": p.n for k, p in spec.populations.items()})
    for name, pw in spec.pathways.items():
        c = pw.connectivity
        if c.rule == "pocket":
            over[f"pathways.{name}.connectivity"] = {"rule": "pocket", "pocket_size": 40, "weight": c.weight}
        elif c.n_ref:
            over[f"pathways.{name}.connectivity.n_ref"] = 0
    over["populations.th.n"] = 10
    return spec.with_overrides(over)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scales", type=float, nargs="+", default=[1.0, 4.0, 20.0, 100.0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--duration", type=float, default=400.0, help="simulated time per run (ms)")
    ap.add_argument("--transient", type=float, default=100.0, help="excluded onset (ms)")
    ap.add_argument("--unscaled-at", type=float, default=10.0,
                    help="also run this scale once without the scaling rule (0: skip)")
    ap.add_argument("--out", default=str(ROOT / "docs" / "results" / "column_scaling.json"))
    ap.add_argument("--figure", default=str(ROOT / "docs" / "figures" / "column_scaling.png"),
                    help="figure path; its suffix (.png, .svg, .pdf) sets the format")
    ap.add_argument("--figure-only", action="store_true", help="simulate nothing: redraw --figure from --out")
    args = ap.parse_args(argv)
    if args.figure_only:
        plotting.save_figure(plotting.column_scaling(json.loads(Path(args.out).read_text())), args.figure)
        print(f"wrote {args.figure} from {args.out}")
        return 0

    table = {"circuit": "circuits/l5_column.toml", "rule": "fixed expected in-degree (n_ref, pocket_fraction)",
             "duration_ms": args.duration, "transient_ms": args.transient, "n_seeds": args.seeds,
             "seeds": list(range(args.seeds)), "scales": [], "n_total": [], "sizes": [], "wall_s": [],
             "populations": list(POPS), "rates": {p: {"mean": [], "sd": [], "per_seed": []} for p in POPS}}
    for s in args.scales:
        spec = l5sim.load_circuit(CIRCUIT, overrides={"circuit.scale": s, "recording.traces": {}})
        sizes = {k: p.n for k, p in spec.populations.items()}
        per_seed, walls = [], []
        for seed in range(args.seeds):
            r, wall = rates(spec, seed, args.duration, args.transient)
            per_seed.append(r)
            walls.append(wall)
            print(f"scale {s:g} ({sum(sizes.values())} cells) seed {seed}: "
                  + ", ".join(f"{p} {r[p]:.2f} Hz" for p in POPS) + f"  [{wall:.1f} s]", flush=True)
        table["scales"].append(s)
        table["n_total"].append(int(sum(sizes.values())))
        table["sizes"].append(sizes)
        table["wall_s"].append(float(min(walls)))     # fastest seed: the first may include compilation
        for p in POPS:
            x = np.array([r[p] for r in per_seed])
            table["rates"][p]["mean"].append(float(x.mean()))
            table["rates"][p]["sd"].append(float(x.std(ddof=1)) if x.size > 1 else 0.0)
            table["rates"][p]["per_seed"].append(x.tolist())
    if args.unscaled_at:
        spec = unscaled(l5sim.load_circuit(CIRCUIT, overrides={"circuit.scale": args.unscaled_at,
                                                               "recording.traces": {}}))
        r, wall = rates(spec, 0, args.duration, args.transient)
        table["unscaled"] = {"scale": args.unscaled_at, "sizes": {k: p.n for k, p in spec.populations.items()},
                             "n_total": int(sum(p.n for p in spec.populations.values())),
                             "rates": r, "wall_s": wall, "seed": 0}
        print(f"without scaling at scale {args.unscaled_at:g}: "
              + ", ".join(f"{p} {r[p]:.1f} Hz" for p in POPS), flush=True)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(table, indent=1) + "\n")
    plotting.save_figure(plotting.column_scaling(table), args.figure)
    print(f"wrote {args.out} and {args.figure}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
