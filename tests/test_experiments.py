"""Experiments as library functions and commands (``l5sim/experiments/``,
``l5sim/cli/experiments.py``, ``l5sim/plotting/``): grid parsing, replication of circuits
into one run, the ``l5sim gain`` / ``l5sim stdp`` output files, and the plots."""
from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest

import l5sim
from l5sim import experiments as X
from l5sim import plotting
from l5sim.cli import main
from l5sim.errors import SpecError
from l5sim.spec import from_dict, load_circuit

CIRCUITS = Path(__file__).resolve().parents[1] / "circuits"
L5_CELL = CIRCUITS / "l5_cell.toml"
L5_STDP = CIRCUITS / "l5_stdp.toml"

GAIN_COLUMNS = ["condition", "vary_key", "vary_value", "input_key", "input_value", "seed", "rate_hz",
                "isi_burst_excess", "spikes_per_isi_burst", "n_spikes", "burst_reset_fraction", "duration_ms"]
CURVE_COLUMNS = ["condition", "vary_key", "vary_value", "rheobase_pa", "rheobase_se_pa", "slope_hz_per_pa",
                 "slope_se", "r2", "rms_hz", "onset_pa", "max_local_slope_hz_per_pa", "max_local_slope_at_pa",
                 "one_line_ok", "r2_full", "fit_note", "rheobase_sd", "slope_sd", "mean_isi_burst_excess",
                 "mean_burst_reset_fraction", "n_seeds"]
STDP_COLUMNS = ["condition", "seed", "dw_per_s", "dw_total", "isi_burst_excess", "burst_reset_fraction",
                "spikes_per_pairing", "modulator_level", "duration_ms"]


def read_csv(path):
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    with open(path, newline="") as fh:
        header = next(csv.reader(fh))
    return header, rows


# ---- parse_grid -----------------------------------------------------------------------------

@pytest.mark.parametrize("text,key,values", [
    ("inputs.soma_step.amplitude_pA=500:1600:12", "inputs.soma_step.amplitude_pA",
     [500.0 + 100.0 * k for k in range(12)]),
    ("a.b=0:1:3", "a.b", [0.0, 0.5, 1.0]),
    ("a.b=2:2:1", "a.b", [2.0]),
    ("a.b=1:0:3", "a.b", [1.0, 0.5, 0.0]),
    ("  a.b =  -1 : 1 : 2 ", "a.b", [-1.0, 1.0]),
    ("a.b=0,250,500", "a.b", [0, 250, 500]),
    ("a.b=0.5, 1.5,", "a.b", [0.5, 1.5]),
    ("a.b=true,false", "a.b", [True, False]),
    ('a.b="LVPA","NAUD_SPREKELER"', "a.b", ["LVPA", "NAUD_SPREKELER"]),
    ("a.b=stochastic,deterministic", "a.b", ["stochastic", "deterministic"]),
    ("modulators.NA.tonic=0", "modulators.NA.tonic", [0]),
])
def test_parse_grid_forms(text, key, values):
    """KEY=START:STOP:N gives N evenly spaced floats (np.linspace); KEY=V1,V2,... gives TOML
    values (ints stay ints, bare words are strings)."""
    k, v = X.parse_grid(text)
    assert k == key
    assert v == values
    assert [type(a) for a in v] == [type(b) for b in values]


@pytest.mark.parametrize("text", [
    "no_equals_sign", "=1,2", " =1:2:3", "a..b=1", ".a=1", "a.=1",
    "a=1:2", "a=1:2:3:4", "a=x:2:3", "a=1:2:three", "a=1:2:2.5", "a=1:2:0", "a=1:2:-3",
    "a=1:inf:3", "a=nan:1:3", "a=", "a= , ,",
])
def test_parse_grid_errors_name_the_option(text):
    with pytest.raises(SpecError) as err:
        X.parse_grid(text, "--input")
    assert err.value.path == "--input"
    assert str(err.value).startswith("--input: got ") and "expected" in str(err.value)


@pytest.mark.parametrize("bad", [None, 3, ["a=1"]])
def test_parse_grid_rejects_non_strings(bad):
    with pytest.raises(SpecError) as err:
        X.parse_grid(bad)
    assert err.value.path == "--vary"


# ---- replicate ------------------------------------------------------------------------------

def _deterministic_cell(**over):
    """circuits/l5_cell.toml without noise: with kappa 1 the gate always passes, the Poisson
    inputs have weight 0, so the run is deterministic."""
    spec = load_circuit(L5_CELL, overrides=over or None).to_dict()
    del spec["inputs"]["noise"]
    return from_dict(spec)


def test_replicate_renames_every_name():
    """Every population, pathway, input, rule, modulator and their references are prefixed
    TAG__; a preset acts only on its own copy."""
    spec = load_circuit(L5_STDP)
    big = X.replicate([spec, spec], ["a", "b"])
    for tag in ("a", "b"):
        assert {f"{tag}__pre", f"{tag}__pyr"} <= set(big.populations)
        pw = big.pathways[f"{tag}__pre_post"]
        assert (pw.pre, pw.post, pw.plasticity) == (f"{tag}__pre", f"{tag}__pyr", f"{tag}__pair")
        assert big.plasticity[f"{tag}__pair"] == spec.plasticity["pair"]
        assert {f"{tag}__soma_pulse", f"{tag}__dend_drive", f"{tag}__noise"} <= set(big.inputs)
        assert big.inputs[f"{tag}__soma_pulse"].population == f"{tag}__pyr"
        assert big.modulators[f"{tag}__NA"].targets == (("pop", f"{tag}__pyr", "kappa", 0.5),)
    assert len(big.populations) == 2 * len(spec.populations)
    assert len(big.pathways) == 2 * len(spec.pathways)
    assert set(big.recording.weights) == {"a__pre_post", "b__pre_post"}
    assert set(big.recording.traces) == {"a__pyr", "b__pyr"}
    assert big.dt_ms == spec.dt_ms


def test_replicate_renames_user_targets_and_triggers():
    spec = from_dict({
        "circuit": {"name": "t", "dt_ms": 0.1},
        "populations": {"cell": {"model": "izhikevich2007", "n": 2}, "gen": {"model": "generator", "n": 1,
                                                                              "spike_times_ms": [[1.0]]}},
        "pathways": {"pw": {"pre": "gen", "post": "cell", "plasticity": "r",
                            "connectivity": {"rule": "all_to_all", "weight": 1.0}}},
        "plasticity": {"r": {}},
        "modulators": {"NA": {"trigger": {"signal": "rate_surprise", "population": "cell"},
                              "targets": {"cell": {"soma_drive_pA": 5.0}, "pathway_gain": {"pw": 0.5},
                                          "stdp_rate": {"r": 2.0}}}}})
    big = X.replicate([spec], ["c0"])
    m = big.modulators["c0__NA"]
    assert m.trigger.population == "c0__cell"
    assert set(m.targets) == {("pop", "c0__cell", "soma_drive_pA", 5.0), ("pathway", "c0__pw", "gain", 0.5),
                              ("stdp", "c0__r", "rate", 2.0)}


def test_replicated_copies_run_as_if_alone():
    """Deterministic copies with different somatic steps (600, 900, 1200 pA): each copy's
    spikes in the replicated run equal, bit for bit, those of its circuit run alone, i.e.
    copies are disjoint (no shared state, no cross-talk)."""
    amps = (600.0, 900.0, 1200.0)
    specs = [_deterministic_cell(**{"inputs.soma_step.amplitude_pA": a, "inputs.dend_step.amplitude_pA": 500.0})
             for a in amps]
    big = X.replicate(specs, [f"c{k}" for k in range(3)])
    rec = l5sim.simulate(l5sim.build(big, 0), 600.0)
    counts = []
    for k, s in enumerate(specs):
        alone = l5sim.simulate(l5sim.build(s, 0), 600.0)
        _, t, b = rec.spikes(f"c{k}__pyr")
        np.testing.assert_array_equal(t, alone.spike_t_ms)
        np.testing.assert_array_equal(b, alone.spike_burst)
        np.testing.assert_array_equal(rec.traces[f"c{k}__pyr"]["v"], alone.traces["pyr"]["v"])
        counts.append(t.size)
    assert counts[0] < counts[1] < counts[2]


def test_replicated_noisy_copies_are_independent_trials():
    """Identical noisy copies (200 pA somatic noise) are independent trials: their spike
    trains differ, their rates agree within the trial-to-trial spread (8 copies, 1 s at
    1200 pA: measured ~24 Hz, SD ~1 Hz)."""
    spec = load_circuit(L5_CELL, overrides={"inputs.soma_step.amplitude_pA": 1200.0})
    big = X.replicate([spec] * 8, [f"r{k}" for k in range(8)])
    rec = l5sim.simulate(l5sim.build(big, 3), 1100.0, seed=3)
    trains = [rec.spikes(f"r{k}__pyr")[1] for k in range(8)]
    assert all(not np.array_equal(trains[0], tr) for tr in trains[1:])
    rates = np.array([tr.size for tr in trains]) / 1.0
    assert rates.min() > 0 and rates.std() < 0.15 * rates.mean()


def test_replicated_random_wiring_is_independent_per_copy():
    """Random connectivity (fixed_prob 0.3) is drawn per copy: two copies of one circuit get
    different synapses with the same statistics."""
    spec = from_dict({"circuit": {"name": "w", "dt_ms": 0.1},
                      "populations": {"e": {"model": "izhikevich2007", "n": 40}},
                      "pathways": {"ee": {"pre": "e", "post": "e",
                                          "connectivity": {"rule": "fixed_prob", "p": 0.3, "weight": 1.0}}}})
    built = l5sim.build(X.replicate([spec, spec], ["a", "b"]), 0)
    pa, qa, _, _ = built.connections("a__ee")
    pb, qb, _, _ = built.connections("b__ee")
    assert set(zip(pa, qa)) != set(zip(pb, qb))
    n_pairs = 40 * 39
    for n in (pa.size, pb.size):
        # binomial(1560, 0.3): mean 468, SD 18; 5 SD
        assert abs(n - 0.3 * n_pairs) < 5 * math.sqrt(n_pairs * 0.3 * 0.7)


def test_replicate_errors():
    spec = load_circuit(L5_CELL)
    with pytest.raises(SpecError) as err:
        X.replicate([], [])
    assert err.value.path == "replicate"
    other = spec.with_overrides({"circuit.dt_ms": 0.05})
    with pytest.raises(SpecError) as err:
        X.replicate([spec, other], ["a", "b"])
    assert err.value.path == "circuit.dt_ms"


# ---- gain_sweep and stdp_protocol as functions ----------------------------------------------

def test_gain_sweep_rows_curves_and_metadata():
    """One row per condition x level x seed, in the documented columns; curves per
    condition; metadata carries seeds, circuit hash and the sweep. Rates are what the
    recorded spikes give: a cell at 0 pA extra current does not fire."""
    spec = load_circuit(L5_CELL)
    res = X.gain_sweep(spec, "inputs.dend_step.amplitude_pA", [0.0, 500.0], "inputs.soma_step.amplitude_pA",
                       [0.0, 800.0, 1400.0], seeds=(0, 1), duration_ms=600.0, window_pa=600.0)
    assert len(res.rows) == 2 * 3 * 2
    assert all(list(r)[:10] == GAIN_COLUMNS[:10] and "duration_ms" in r for r in res.rows)
    assert {r["condition"] for r in res.rows} == {"dend_step.amplitude_pA=0", "dend_step.amplitude_pA=500"}
    assert all(r["duration_ms"] == 500.0 for r in res.rows)                # from the input onset (100 ms)
    zero = [r for r in res.rows if r["input_value"] == 0.0]
    assert all(r["rate_hz"] == 0.0 and r["n_spikes"] == 0 for r in zero)
    for r in res.rows:
        assert r["rate_hz"] == pytest.approx(r["n_spikes"] / 0.5)
    assert [c["condition"] for c in res.curves] == ["dend_step.amplitude_pA=0", "dend_step.amplitude_pA=500"]
    assert all(c["n_seeds"] == 2 and c["slope_hz_per_pa"] > 0 for c in res.curves)
    assert res.metadata["seed"] == [0, 1] and res.metadata["circuit_hash"] == spec.hash
    assert res.metadata["vary_values"] == [0.0, 500.0] and res.metadata["window_ms"] == [100.0, 600.0]
    np.testing.assert_array_equal(res.column("seed", "dend_step.amplitude_pA=0"), [0, 0, 0, 1, 1, 1])


def test_gain_sweep_rejects_unknown_keys_and_populations():
    spec = load_circuit(L5_CELL)
    with pytest.raises(SpecError) as err:
        X.gain_sweep(spec, "inputs.nothing.amplitude_pA", [0.0], "inputs.soma_step.amplitude_pA", [1.0])
    assert err.value.path == "vary_key"
    with pytest.raises(SpecError) as err:
        X.gain_sweep(spec, "inputs.dend_step.amplitude_pA", [0.0], "inputs.soma_step.amplitude_pA", [1.0],
                     population="nobody")
    assert err.value.path == "population"
    with pytest.raises(SpecError):
        X.gain_sweep(spec, "inputs.dend_step.amplitude_pA", [], "inputs.soma_step.amplitude_pA", [1.0])


def test_stdp_protocol_rows_summary_and_trajectories():
    """3 pairings, two conditions: rows per condition and seed; ratio to the reference;
    weight trajectories of the first seed sampled once per pairing period."""
    conds = {"single": {}, "burst": {"inputs.dend_drive.amplitude_pA": X.STDP_APICAL_PA}}
    res = X.stdp_protocol(load_circuit(L5_STDP), conditions=conds, n_pairs=3, seeds=(0, 1))
    assert [(r["condition"], r["seed"]) for r in res.rows] == [("single", 0), ("burst", 0), ("single", 1),
                                                               ("burst", 1)]
    assert all(list(r) == STDP_COLUMNS for r in res.rows)
    assert res.summary["single"]["ratio_to_single"] == 1.0
    assert res.summary["burst"]["ratio_to_single"] > 1.0
    t, w = res.weights["single"]
    np.testing.assert_allclose(t, [0.0, 200.0, 400.0, 600.0, 700.0])
    assert w[0] == pytest.approx(0.5) and np.all(np.diff(w) >= 0)
    with pytest.raises(SpecError):
        X.stdp_protocol(load_circuit(L5_STDP), conditions=conds, reference="nope")
    with pytest.raises(SpecError):
        X.stdp_protocol(load_circuit(L5_STDP), conditions=conds, pathway="nope")


# ---- the commands ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def gain_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("gain")
    rc = main(["gain", str(L5_CELL), "--vary", "inputs.dend_step.amplitude_pA=0,500",
               "--input", "inputs.soma_step.amplitude_pA=600:1400:3", "--duration", "500", "--seeds", "2",
               "--seed", "4", "--out", str(out), "--quiet"])
    assert rc == 0
    return out


@pytest.fixture(scope="module")
def stdp_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("stdp")
    rc = main(["stdp", str(L5_STDP), "--pairs", "3", "--seeds", "2", "--out", str(out), "--quiet"])
    assert rc == 0
    return out


def test_gain_command_writes_documented_files(gain_dir):
    assert {p.name for p in gain_dir.iterdir()} == {"gain.csv", "curves.csv", "metadata.json", "gain.png"}
    header, rows = read_csv(gain_dir / "gain.csv")
    assert set(GAIN_COLUMNS) <= set(header) and header[:10] == GAIN_COLUMNS[:10]
    assert len(rows) == 2 * 3 * 2
    assert sorted({float(r["input_value"]) for r in rows}) == [600.0, 1000.0, 1400.0]
    assert sorted({int(r["seed"]) for r in rows}) == [4, 5]
    assert all(r["vary_key"] == "inputs.dend_step.amplitude_pA" for r in rows)
    assert all(float(r["duration_ms"]) == 400.0 for r in rows)
    header, curves = read_csv(gain_dir / "curves.csv")
    assert header == CURVE_COLUMNS and len(curves) == 2
    meta = json.loads((gain_dir / "metadata.json").read_text())
    assert meta["seed"] == [4, 5]
    assert meta["circuit_hash"] == load_circuit(L5_CELL).hash
    assert meta["experiment"] == "gain" and meta["dt_ms"] == 0.1
    assert (gain_dir / "gain.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_stdp_command_writes_documented_files(stdp_dir):
    assert {p.name for p in stdp_dir.iterdir()} == {"stdp.csv", "summary.json", "metadata.json", "stdp.png"}
    header, rows = read_csv(stdp_dir / "stdp.csv")
    assert header == STDP_COLUMNS
    assert {r["condition"] for r in rows} == set(X.STDP_CONDITIONS) and len(rows) == 2 * len(X.STDP_CONDITIONS)
    summary = json.loads((stdp_dir / "summary.json").read_text())
    assert set(summary) == set(X.STDP_CONDITIONS)
    assert summary["single"]["ratio_to_single"] == 1.0
    for name in ("burst_dendrite", "burst_NA"):
        assert summary[name]["ratio_to_single"] > 1.2       # measured 1.37 for 3 pairings (2 vs 3 spikes)
    meta = json.loads((stdp_dir / "metadata.json").read_text())
    assert meta["seed"] == [0, 1] and meta["circuit_hash"] == load_circuit(L5_STDP).hash
    assert meta["summary"] == summary and meta["n_pairs"] == 3
    assert (stdp_dir / "stdp.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_set_override_changes_the_circuit_hash(tmp_path):
    rc = main(["gain", str(L5_CELL), "--vary", "inputs.dend_step.amplitude_pA=0", "--input",
               "inputs.soma_step.amplitude_pA=800", "--duration", "200", "--seeds", "1", "--quiet",
               "--set", "populations.pyr.params.kappa=0.5", "--out", str(tmp_path)])
    assert rc == 0
    meta = json.loads((tmp_path / "metadata.json").read_text())
    want = load_circuit(L5_CELL, overrides={"populations.pyr.params.kappa": 0.5}).hash
    assert meta["circuit_hash"] == want != load_circuit(L5_CELL).hash


@pytest.mark.parametrize("argv,needle", [
    (["--vary", "inputs.dend_step.amplitude_pA", "--input", "inputs.soma_step.amplitude_pA=1:2:2"], "--vary"),
    (["--vary", "inputs.dend_step.amplitude_pA=0", "--input", "inputs.soma_step.amplitude_pA=1:2"], "--input"),
    (["--vary", "inputs.nothing.x=0", "--input", "inputs.soma_step.amplitude_pA=1"], "vary_key"),
])
def test_gain_command_errors(tmp_path, capsys, argv, needle):
    """Bad grids end with exit status 2 and a message naming the option, no traceback and no
    output files."""
    rc = main(["gain", str(L5_CELL), *argv, "--out", str(tmp_path / "o"), "--quiet"])
    assert rc == 2
    err = capsys.readouterr().err
    assert err.startswith("l5sim gain: error: ") and needle in err
    assert not (tmp_path / "o").exists()


def test_bridge_reads_command_output(gain_dir, stdp_dir):
    """The bridge (science.md 7) reads the directories these commands write."""
    from l5sim import bridge

    g = bridge.read_gain_dir(str(gain_dir))
    s = bridge.read_stdp_dir(str(stdp_dir))
    assert g["provenance"]["seeds"] == [4, 5] and s["provenance"]["seeds"] == [0, 1]


# ---- plots ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def small_results():
    spec = load_circuit(L5_CELL)
    gain = X.gain_sweep(spec, "populations.pyr.params.kappa", [0.0, 1.0], "inputs.soma_step.amplitude_pA",
                        [800.0, 1200.0], seeds=(0, 1), duration_ms=400.0)
    stdp_spec = load_circuit(L5_STDP, overrides={
        "modulators.NA.pulses": [{"onset_ms": 50.0, "amplitude": 1.0, "shape": "alpha", "tau_ms": 50.0}]})
    rec = l5sim.simulate(l5sim.build(stdp_spec.with_overrides({"recording.weights_interval_ms": 50.0}), 0), 300.0)
    return gain, rec


def test_plots_return_figures(small_results):
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    gain, rec = small_results
    fig = plotting.gain_curves(gain)
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    entries = [t.get_text() for t in fig.axes[-1].get_legend().get_texts()]
    assert len([e for e in entries if e != "threshold-linear fit"]) == 2    # one entry per condition
    w = rec.weights["pre_post"]
    figs = [fig,
            plotting.weight_trajectories(rec.weight_t_ms, w),
            plotting.weight_trajectories(rec.weight_t_ms, w.mean(axis=1), label="mean"),
            plotting.weight_histogram(rec.final_weights["pre_post"]),
            plotting.raster(rec),
            plotting.raster_with_modulators(rec),
            plotting.traces(rec, "pyr", ("v", "vd"))]
    assert all(isinstance(f, Figure) for f in figs)
    mod_ax = figs[5].axes[2]
    (line,) = mod_ax.get_lines()
    np.testing.assert_allclose(line.get_ydata(), rec.modulators["NA"])
    assert max(line.get_ydata()) == pytest.approx(1.0, abs=1e-3)          # alpha peak
    # given axes: drawn into them, the same figure returned
    import matplotlib.pyplot as plt

    f2, axes = plt.subplots(1, 2)
    assert plotting.gain_curves(gain, ax=axes) is f2
    f3, ax = plt.subplots()
    assert plotting.weight_histogram(rec.final_weights["pre_post"], ax=ax) is f3
    for f in figs + [f2, f3]:
        plt.close(f)


def test_plotting_module_never_simulates():
    """Plot functions draw what they are given (style.md): plotting imports no simulation."""
    import ast

    tree = ast.parse(Path(plotting.__file__).read_text())
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert not imported & {"simulation", "builder", "experiments", "l5sim.simulation", "l5sim.builder"}
