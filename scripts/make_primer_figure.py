"""The README's primer figure (docs/figures/primer.png) and its small results
(docs/results/primer/primer.json).

Left: one L5 cell (circuits/l5_cell.toml, LVPA preset, its somatic noise) under a 1300 pA
somatic step and a 400 pA dendritic step, with the coupling gate kappa = 0 and kappa = 1, seed
1, 400 ms: somatic and dendritic potential and the burst-reset spikes. Right: the f-I curves
of the committed gain run docs/results/gain_kappa/gain.csv (kappa 0, 0.5, 1; 10 cells x 5
seeds per level; made by scripts/make_claims.sh), mean rate +- SD over seeds.

    python scripts/make_primer_figure.py            # simulate, write primer.json, draw
    python scripts/make_primer_figure.py --plot-only  # redraw from primer.json
"""
from __future__ import annotations

import argparse
import csv
import json
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "docs" / "results" / "primer" / "primer.json"
FIGURE = ROOT / "docs" / "figures" / "primer.png"
GAIN_CSV = ROOT / "docs" / "results" / "gain_kappa" / "gain.csv"
SOMA_PA, DEND_PA, ONSET_MS, DURATION_MS, SEED = 1300.0, 400.0, 50.0, 400.0, 1
KAPPAS = (0.0, 1.0)
#: traces kept every 0.5 ms (5 steps of 0.1 ms) in the JSON: enough to show every spike's
#: reset and each plateau, small enough to commit
KEEP_EVERY = 5


def simulate_traces() -> dict:
    import l5sim

    out = {}
    for kappa in KAPPAS:
        spec = l5sim.load_circuit(ROOT / "circuits" / "l5_cell.toml", overrides={
            "populations.pyr.params.kappa": kappa, "inputs.soma_step.amplitude_pA": SOMA_PA,
            "inputs.dend_step.amplitude_pA": DEND_PA, "inputs.soma_step.start_ms": ONSET_MS,
            "inputs.dend_step.start_ms": ONSET_MS})
        rec = l5sim.simulate(l5sim.build(spec, seed=SEED), duration_ms=DURATION_MS, seed=SEED)
        _, t, b = rec.spikes("pyr")
        tr = rec.traces["pyr"]
        out[f"coupling \u03ba = {kappa:g}"] = {
            "t_ms": np.round(rec.trace_t_ms["pyr"][::KEEP_EVERY], 3).tolist(),
            "v_mV": np.round(tr["v"][::KEEP_EVERY, 0], 3).tolist(),
            "vd_mV": np.round(tr["vd"][::KEEP_EVERY, 0], 3).tolist(),
            "spike_t_ms": np.round(t, 3).tolist(), "spike_burst": b.astype(int).tolist(),
            "plateau_ms": float((tr["vd"][:, 0] >= -30.0).sum() * rec.metadata["dt_ms"])}
    return out


def fi_from_gain_csv(path=GAIN_CSV) -> dict:
    """Mean and SD over seeds of the rate per kappa and somatic step (rows of ``l5sim gain``)."""
    rates = defaultdict(lambda: defaultdict(list))
    with open(path, newline="") as fh:
        for row in csv.DictReader(fh):
            rates[float(row["vary_value"])][float(row["input_value"])].append(float(row["rate_hz"]))
    out = {}
    for kappa, by_input in sorted(rates.items()):
        x = sorted(by_input)
        r = [np.asarray(by_input[v]) for v in x]
        out[f"coupling \u03ba = {kappa:g}"] = {"input_pA": x, "rate_hz": [float(a.mean()) for a in r],
                                     "spread_hz": [float(a.std(ddof=1)) for a in r], "n": len(r[0])}
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--plot-only", action="store_true", help="redraw from docs/results/primer/primer.json")
    args = ap.parse_args(argv)
    if args.plot_only:
        data = json.loads(RESULTS.read_text())
    else:
        data = {"about": __doc__.strip().splitlines()[0], "soma_pA": SOMA_PA, "dend_pA": DEND_PA, "seed": SEED,
                "onset_ms": ONSET_MS, "duration_ms": DURATION_MS, "traces": simulate_traces(), "fi": fi_from_gain_csv(),
                "fi_source": str(GAIN_CSV.relative_to(ROOT)),
                # the dendritic step of the gain run, from its metadata (the circuit it ran)
                "fi_dend_pA": float(json.loads((GAIN_CSV.parent / "metadata.json").read_text())
                                    ["circuit"]["inputs"]["dend_step"]["amplitude_pA"])}
        from l5sim.recording import write_json

        write_json(RESULTS, data)
    from l5sim.plotting import save_figure
    from l5sim.plotting.primer import burst_reset_primer

    fig = burst_reset_primer(data["traces"], data["fi"], fi_title=f"f-I curves, {data['fi_dend_pA']:g} pA dendritic step")
    save_figure(fig, FIGURE)
    for label, tr in data["traces"].items():
        print(f"{label}: {len(tr['spike_t_ms'])} spikes, {sum(tr['spike_burst'])} burst-reset, "
              f"plateau {tr['plateau_ms']:.1f} ms")
    print(f"-> {FIGURE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
