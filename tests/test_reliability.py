"""No silent nonsense (issue 13): signed quantities keep their sign, rates and nesting are
bounded, states outside their physical range stop a run, work is sized before it starts,
paths are checked up front, and every command fails with one line.

Each reproduction of the issue is a test here; the expected values come from the physics
stated in l5sim.divergence and l5sim.spec (a conductance is >= 0, a membrane breaks down
below 1 V, a cell cannot fire faster than once per step), never from l5sim's own output."""
from __future__ import annotations

import os
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

import l5sim
from l5sim import cli, sizing
from l5sim._io import check_dir, check_file, clear_outputs
from l5sim.divergence import BOUNDS, DivergenceWarning, RateWarning, check_recording
from l5sim.errors import DivergenceError, L5SimError, PathError, SizeError, SpecError
from l5sim.spec import MAX_DEPTH, from_dict, load_circuit

ROOT = Path(__file__).resolve().parents[1]
COLUMN = ROOT / "circuits" / "l5_column.toml"
CELL = ROOT / "circuits" / "l5_cell.toml"


def _err(overrides, path=COLUMN):
    with pytest.raises(SpecError) as e:
        load_circuit(path, overrides=overrides)
    return e.value


# ---- signed quantities --------------------------------------------------------------

@pytest.mark.parametrize("key, value, named", [
    ("pathways.pv_pyr.connectivity.weight", -4, "pathways.pv_pyr.connectivity.weight"),      # issue 13.3
    ("pathways.pv_pyr.receptors.GABA_A", -1.0, "pathways.pv_pyr.receptors.GABA_A"),
    ("pathways.ee.receptors.AMPA", -5, "pathways.ee.receptors.AMPA"),                          # issue 13.3
    ("inputs.bg_pv.weight", -1.0, "inputs.bg_pv.weight"),
    ("inputs.bg_pv.receptors.AMPA", -0.5, "inputs.bg_pv.receptors.AMPA"),
    ("pathways.th_gate.connectivity.weight", 1.5, "pathways.th_gate.connectivity.weight"),
    ("pathways.th_gate.connectivity.weight", -0.1, "pathways.th_gate.connectivity.weight"),
    ("populations.pyr.params.gL_nS", -1.0, "populations.pyr.params.gL_nS"),
    ("populations.pyr.params.dg_adapt_nS", -0.1, "populations.pyr.params.dg_adapt_nS"),
])
def test_a_sign_that_would_invert_a_synapse_or_conductance_is_refused(key, value, named):
    e = _err({key: value})
    assert e.path == named and float(e.value) == float(value), str(e)
    assert ">= 0" in e.expected or "[0, 1]" in e.expected, str(e)


def test_conductance_weight_error_says_why():
    e = _err({"pathways.pv_pyr.connectivity.weight": -4})
    assert "inhibition into excitation" in str(e) and "CURRENT" in str(e)


def test_current_synapses_keep_signed_weights():
    """Izhikevich 2003: inhibitory voltage-jump synapses have negative weights (S = -rand)."""
    spec = load_circuit(ROOT / "circuits" / "izhikevich2003.toml")
    assert spec.pathways["ie"].connectivity.weight_low == -1.0
    assert load_circuit(ROOT / "circuits" / "izhikevich2003.toml",
                        overrides={"pathways.ie.connectivity.weight_low": -3.0}).pathways["ie"].connectivity.weight_low == -3


def test_plastic_bounds_of_conductance_pathways_are_non_negative():
    e = _err({"plasticity.pair.w_min": -1.0}, ROOT / "circuits" / "l5_stdp.toml")
    assert e.path == "plasticity.pair.w_min" and "conductance" in e.expected, str(e)


# ---- bounded rates and inputs ---------------------------------------------------------

def test_input_rate_bounded_with_a_clear_error_and_fast():
    t0 = time.perf_counter()
    e = _err({"inputs.bg_pv.rate_hz": 1e12})                         # issue 13.1: used to hang
    assert e.path == "inputs.bg_pv.rate_hz" and "events per step" in e.expected
    assert time.perf_counter() - t0 < 5.0


def test_poisson_population_cannot_exceed_one_spike_per_step():
    e = _err({"populations.th.rate_hz": 2e4})     # dt 0.1 ms: at most 1e4 Hz
    assert e.path == "populations.th.rate_hz" and "10000 Hz" in e.expected


def test_same_mean_drive_same_result_at_high_rates():
    """Issue 13.1: lam x weight fixed, two rates (lam = 700 and 1000 per step, on both sides
    of the old cap's failure at ~745): with an exact sampler the mean drive, and hence the
    PV rate, agrees within the trial-to-trial spread (the broken sampler gave 55 vs 96 Hz)."""
    rates = []
    # 10 x the weights: ~15 nS mean AMPA conductance, enough for the lone cells to fire
    for rate, w in ((7e6, 4.285714e-4), (1e7, 3e-4)):
        spec = from_dict({"circuit": {"name": "pv", "dt_ms": 0.1},
                          "populations": {"pv": {"model": "izhikevich2007", "n": 20, "preset": "BASKET"}},
                          "inputs": {"bg": {"kind": "poisson", "population": "pv", "rate_hz": rate, "weight": w,
                                            "receptors": {"AMPA": 1.0}}}})
        r = l5sim.simulate(l5sim.build(spec, 1), 300.0)
        rates.append(r.summary()["populations"]["pv"]["rate_hz"])
    assert min(rates) > 1.0 and abs(rates[0] - rates[1]) < 0.05 * max(rates) + 2.0, rates


# ---- files and nesting -----------------------------------------------------------------

@pytest.mark.parametrize("content, words", [
    (bytes(range(256)), "UTF-8"),
    (b"", "at least name"),
    (("x = " + "[" * 3000 + "]" * 3000 + "\n").encode(), "nested"),
    (("x = " + "[" * 200 + "]" * 200 + "\n").encode(), "nested"),
    (b"[circuit\nname=", "valid TOML"),
])
def test_bad_circuit_files_give_spec_errors(tmp_path, content, words):
    f = tmp_path / "c.toml"
    f.write_bytes(content)
    with pytest.raises(SpecError) as e:
        load_circuit(f)
    assert words in str(e.value), str(e.value)


def test_deeply_nested_override_is_a_spec_error():
    e = _err({"inputs.bg_pv.rate_hz": "[" * 3000 + "]" * 3000})
    assert "nested" in str(e)
    e = _err({"inputs.bg_pv.rate_hz": "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1)})
    assert "nested" in str(e)


def test_deep_python_data_is_a_spec_error():
    data = x = {}
    for _ in range(5000):
        x["a"] = {}
        x = x["a"]
    with pytest.raises(SpecError):
        from_dict(data)


# ---- divergence ------------------------------------------------------------------------

def test_every_model_bounds_potentials_by_membrane_breakdown():
    for model, bounds in BOUNDS.items():
        by = {b.variable: b for b in bounds}
        assert by["v"].hi == 1000.0 and by["v"].lo == -1000.0, model


def test_absurd_dendritic_drive_stops_with_the_population_neuron_variable_and_time():
    """Issue 13.2: 1e9 pA into the dendrite used to run to the end with v_d ~ 3e7 mV. The
    linear dendrite's steady state, v_d - E_L ~ I / g_L = 1e9 / 24 nS ~ 4e7 mV, is beyond
    any membrane (breakdown < 1 V)."""
    spec = load_circuit(CELL, overrides={"inputs.dend_step.amplitude_pA": 1e9})
    built = l5sim.build(spec, 0)
    with pytest.raises(DivergenceError) as e:
        l5sim.simulate(built, 400.0)
    err = e.value
    assert (err.population, err.neuron, err.variable) == ("pyr", 0, "vd"), str(err)
    assert abs(err.value) > 1e3 and err.time_ms <= 400.0 and "[-1000, 1000] mV" in str(err)
    assert abs(err.value) < 1e9 / spec.populations["pyr"].cell_params().gL_nS * 2


def test_warn_mode_warns_once_per_variable_and_finishes():
    spec = load_circuit(CELL, overrides={"inputs.dend_step.amplitude_pA": 1e9})
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        rec = l5sim.simulate(l5sim.build(spec, 0), 400.0, on_divergence="warn")
    div = [x for x in w if issubclass(x.category, DivergenceWarning)]
    assert rec.metadata["duration_ms"] == 400.0
    names = [str(x.message).split("variable ")[1].split(" ")[0] for x in div]
    assert "'vd'" in names and len(names) == len(set(names)), names


def test_rate_beyond_what_a_model_can_fire_warns():
    """A LTS cell with 1e4 pA fires every few steps (> 1 kHz, beyond a 1 ms refractory
    period); at 1e3 pA it fires ~400 Hz, within it: only the first warns."""
    out = {}
    for amp in (1e3, 1e4):
        spec = from_dict({"circuit": {"name": "lts", "dt_ms": 0.1},
                          "populations": {"som": {"model": "izhikevich2007", "n": 2, "preset": "LTS"}},
                          "inputs": {"i": {"kind": "current", "population": "som", "amplitude_pA": amp}}})
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            rec = l5sim.simulate(l5sim.build(spec, 0), 200.0)
        out[amp] = ([x for x in w if issubclass(x.category, RateWarning)], rec.summary()["populations"]["som"]["rate_hz"])
    assert not out[1e3][0] and out[1e3][1] < 1000, out
    assert len(out[1e4][0]) == 1 and out[1e4][1] > 1000 and "'som'" in str(out[1e4][0][0].message), out


@pytest.mark.parametrize("name", sorted(p.stem for p in (ROOT / "circuits").glob("*.toml")))
def test_bundled_circuits_raise_no_divergence_or_rate_warning(name):
    spec = load_circuit(ROOT / "circuits" / f"{name}.toml")
    with warnings.catch_warnings():
        warnings.simplefilter("error", DivergenceWarning)
        warnings.simplefilter("error", RateWarning)
        rec = l5sim.simulate(l5sim.build(spec, 0), 200.0, on_divergence="warn")
        assert check_recording(rec, spec) >= 0


def test_check_recording_finds_a_bad_trace_sample(tmp_path):
    spec = load_circuit(CELL, overrides={"recording.traces.pyr.variables": ["v", "vd"]})
    rec = l5sim.simulate(l5sim.build(spec, 0), 50.0)
    assert check_recording(rec, spec) > 0
    rec.traces["pyr"]["vd"][7, 0] = 5e3
    with pytest.raises(DivergenceError) as e:
        check_recording(rec, spec)
    assert e.value.variable == "vd" and e.value.time_ms == pytest.approx(rec.trace_t_ms["pyr"][7])


# ---- sizing ------------------------------------------------------------------------------

def test_build_estimate_bounds_the_drawn_synapses_from_above():
    for scale in (1.0, 2.0):
        spec = load_circuit(COLUMN, overrides={"circuit.scale": scale})
        est = sum(sizing.pathway_synapses(pw, spec.populations[pw.pre].n, spec.populations[pw.post].n)
                  for pw in spec.pathways.values())
        n = l5sim.build(spec, 0).n_synapses
        # candidates >= kept synapses; the Gaussian kernel keeps >= 1/4 of them on this ring
        assert n <= est * 1.05 and est < 4 * n, (scale, n, est)


def test_huge_population_refused_before_drawing(monkeypatch):
    monkeypatch.setenv("L5SIM_MAX_MEMORY_GB", "16")
    t0 = time.perf_counter()
    spec = load_circuit(COLUMN, overrides={"populations.pyr.n": 50_000_000})    # issue 13.4
    with pytest.raises(SizeError) as e:
        l5sim.build(spec, 0)
    assert time.perf_counter() - t0 < 30 and "GiB" in str(e.value) and "L5SIM_SIZE_CHECK=0" in str(e.value)


def test_huge_duration_refused_with_the_trace_estimate():
    built = l5sim.build(load_circuit(COLUMN), 0)
    with pytest.raises(SizeError) as e:
        l5sim.simulate(built, 1e15)                                   # issue 13.4
    assert "traces" in str(e.value) and "PiB" in str(e.value)


def test_run_estimate_matches_the_trace_buffer_and_the_limit_is_overridable(monkeypatch):
    spec = load_circuit(CELL, overrides={"recording.traces.pyr.variables": ["v", "vd", "u"],
                                         "recording.traces.pyr.interval_ms": 0.1})
    built = l5sim.build(spec, 0)
    est = sizing.estimate_run(built, 1000.0, spec.recording)
    exact = 3 * 1 * 10_000 * 8                # variables x neurons x samples x float64
    assert est.parts["traces"] == 2 * exact   # the kernel's buffer and the stacked copy
    monkeypatch.setenv("L5SIM_MAX_MEMORY_GB", str(1e-4))     # ~100 KiB: less than the estimate
    with pytest.raises(SizeError):
        l5sim.simulate(built, 1000.0)
    monkeypatch.setenv("L5SIM_SIZE_CHECK", "0")
    assert l5sim.simulate(built, 10.0).metadata["duration_ms"] == 10.0


def test_huge_sweep_grid_refused_before_expansion():
    from l5sim.sweep import plan_sweep

    t0 = time.perf_counter()
    with pytest.raises(SizeError):
        plan_sweep(CELL, ["inputs.soma_step.amplitude_pA=0:1:10000", "inputs.dend_step.amplitude_pA=0:1:10000"], 1)
    with pytest.raises(SizeError):
        plan_sweep(CELL, ["inputs.soma_step.amplitude_pA=0:1:100000000"], 1)
    assert time.perf_counter() - t0 < 10


# ---- paths ---------------------------------------------------------------------------------

def test_path_checks(tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    for bad, words in ((f, "existing file"), ("", "empty"), ("/proc/x", "/proc"), (f / "sub", "is a file")):
        with pytest.raises(PathError) as e:
            check_dir(bad, "--out")
        assert "--out" in str(e.value) and words in str(e.value), str(e.value)
    assert check_dir(tmp_path / "new" / "dir") == tmp_path / "new" / "dir"
    with pytest.raises(PathError):
        check_file(tmp_path, "--out")
    assert check_file(tmp_path / "x.png") == tmp_path / "x.png"


def test_clear_outputs_removes_old_files_and_temporaries(tmp_path):
    for name in ("raster.png", ".recording.npz.abc123.tmp", "recording.npz", "mine.txt"):
        (tmp_path / name).write_text("old")
    gone = clear_outputs(tmp_path, ("recording.npz", "raster.png"))
    assert sorted(gone) == sorted([".recording.npz.abc123.tmp", "recording.npz", "raster.png"])
    assert [p.name for p in tmp_path.iterdir()] == ["mine.txt"]


def _cli(capsys, *argv):
    code = cli.main([str(a) for a in argv])
    err = capsys.readouterr().err
    return code, err


@pytest.mark.parametrize("extra, words", [
    (("--out", "FILE"), "existing file"),
    (("--out", "/proc/x"), "/proc"),
    (("--out", ""), "empty"),
    (("--out", "DIR", "--wiring-cache", "FILE"), "--wiring-cache"),
    (("--out", "DIR", "--set", "pathways.x.connectivity.weight"), "KEY=VALUE"),
    (("--out", "DIR", "--duration", "1e15"), "PiB"),
])
def test_run_errors_are_one_line_with_status_2(tmp_path, capsys, extra, words):
    (tmp_path / "FILE").write_text("x")
    argv = [str(tmp_path / a) if a in ("FILE", "DIR") else a for a in extra]
    code, err = _cli(capsys, "run", CELL, "--duration", "10", "--quiet", *argv)
    assert code == 2 and err.count("\n") == 1 and err.startswith("l5sim run: error:") and words in err, err
    assert "Traceback" not in err


def test_debug_shows_the_traceback(tmp_path):
    with pytest.raises(PathError):
        cli.main(["--debug", "run", str(CELL), "--out", ""])


def test_binary_circuit_and_zero_seeds_are_one_line_errors(tmp_path, capsys):
    b = tmp_path / "c.toml"
    b.write_bytes(bytes(range(256)))
    code, err = _cli(capsys, "run", b, "--out", tmp_path / "o")
    assert code == 2 and "UTF-8" in err and err.count("\n") == 1
    code, err = _cli(capsys, "gain", CELL, "--seeds", "0", "--out", tmp_path / "g",          # issue 13.6
                     "--vary", "populations.pyr.params.kappa=0,1", "--input", "inputs.soma_step.amplitude_pA=0,800")
    assert code == 2 and "seeds" in err and err.count("\n") == 1, err


def test_rerun_without_plot_removes_the_old_raster_and_temporaries(tmp_path, capsys):
    out = tmp_path / "o"
    assert cli.main(["run", str(CELL), "--duration", "20", "--out", str(out), "--quiet"]) == 0
    assert (out / "raster.png").exists()
    (out / ".recording.npz.dead1234.tmp").write_bytes(b"half")      # a killed write
    assert cli.main(["run", str(CELL), "--duration", "20", "--out", str(out), "--quiet", "--no-plot"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["metadata.json", "recording.npz", "summary.json"]


def test_divergence_is_a_one_line_cli_error_and_warn_goes_on(tmp_path, capsys):
    argv = ["run", str(CELL), "--duration", "300", "--out", str(tmp_path / "o"), "--quiet",
            "--set", "inputs.dend_step.amplitude_pA=1e9"]
    code, err = _cli(capsys, *argv)
    assert code == 2 and "variable 'vd'" in err and err.count("\n") == 1, err
    code, err = _cli(capsys, "--on-divergence", "warn", *argv)
    assert code == 0 and "warning: numerical divergence" in err and "error" not in err, err
    assert os.environ.get("L5SIM_ON_DIVERGENCE") is None


# ---- wiring cache ------------------------------------------------------------------------

def test_wiring_cache_with_absurd_weights_is_redrawn(tmp_path):
    """Issue 13.6: weights set to 1e30 in a cache entry (checksum rewritten to match, or
    not) are never used: the build equals a fresh one."""
    from l5sim import wiring_cache as wc

    spec = load_circuit(COLUMN)
    fresh = l5sim.build(spec, 2)
    l5sim.build(spec, 2, wiring_cache=tmp_path)
    files = sorted(tmp_path.glob("*.npz"))
    assert files
    for k, f in enumerate(files):
        with np.load(f) as z:
            d = {n: z[n] for n in z.files}
        d["weight"] = np.full_like(d["weight"], 1e30)
        if k % 2:    # a forged checksum: the range check still refuses
            d["checksum"] = wc._checksum(f.stem, d["indptr"], d["post"], d["weight"], d["delay"])
        np.savez(f, **d)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        again = l5sim.build(spec, 2, wiring_cache=tmp_path)
    assert len([x for x in w if "ignored and redrawn" in str(x.message)]) == len(files)
    np.testing.assert_array_equal(again.net.synapses.weight, fresh.net.synapses.weight)
    assert float(np.max(again.net.synapses.weight)) < 1e3


def test_every_reliability_error_is_an_l5sim_error():
    for cls in (SpecError, DivergenceError, SizeError, PathError):
        assert issubclass(cls, L5SimError)


# ---- atomic outputs and no pickle ----------------------------------------------------------

def test_atomic_write_keeps_the_old_file_when_the_writer_fails_or_is_killed(tmp_path):
    import signal
    import subprocess
    import sys

    from l5sim._io import atomic_write

    target = tmp_path / "recording.npz"
    target.write_bytes(b"old")

    def broken(fh):
        fh.write(b"half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        atomic_write(target, broken)
    assert target.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["recording.npz"]
    code = ("import sys, time; from l5sim._io import atomic_write\n"
            "def w(fh):\n    fh.write(b'half'); fh.flush(); print('writing', flush=True); time.sleep(60)\n"
            f"atomic_write({str(target)!r}, w)\n")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.stdout.readline().strip() == "writing"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert target.read_bytes() == b"old"                    # never half-written
    assert len(list(tmp_path.glob(".recording.npz.*.tmp"))) == 1
    clear_outputs(tmp_path, ("recording.npz",))              # what the next run does first
    assert not list(tmp_path.iterdir())


def test_no_pickle_anywhere():
    """No module imports pickle (or a pickle-based loader), and every np.load passes
    allow_pickle=False: loading a file can never run code."""
    import ast

    banned = {"pickle", "cPickle", "dill", "joblib", "cloudpickle", "shelve"}
    for path in sorted((ROOT / "l5sim").rglob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                assert not {a.name.split(".")[0] for a in node.names} & banned, path
            elif isinstance(node, ast.ImportFrom) and node.module:
                assert node.module.split(".")[0] not in banned, path
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "load" \
                    and isinstance(node.func.value, ast.Name) and node.func.value.id == "np":
                kw = {k.arg: k.value for k in node.keywords}
                assert "allow_pickle" in kw and isinstance(kw["allow_pickle"], ast.Constant) \
                    and kw["allow_pickle"].value is False, f"{path}:{node.lineno}"
            elif isinstance(node, ast.keyword) and node.arg == "allow_pickle":
                assert isinstance(node.value, ast.Constant) and node.value.value is False, path


def test_every_test_named_in_docs_reliability_exists():
    """docs/reliability.md cites a test for each guarantee: each cited test must exist."""
    import re

    text = (ROOT / "docs" / "reliability.md").read_text()
    current = None
    cited = 0
    for m in re.finditer(r"`(tests/[\w/]+\.py)?(?:::)?(\w+)?`", text):
        f, name = m.group(1), m.group(2)
        if f:
            current = ROOT / f
            assert current.exists(), f
        if name and name.startswith("test_"):
            assert current is not None and re.search(rf"def {name}\b", current.read_text()), (current, name)
            cited += 1
    assert cited >= 30, cited


@pytest.mark.parametrize("argv", [["run"], ["run", "x.toml", "--out", "o", "--duration", "abc"], ["nosuch"],
                                  ["gain", "x.toml", "--out", "o", "--seeds"]])
def test_usage_errors_are_one_line_with_status_2(argv, capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(argv)
    err = capsys.readouterr().err
    assert e.value.code == 2 and err.count("\n") == 1 and "error:" in err and "--help" in err, err


def test_interrupted_named_writes_leave_temporaries_the_next_run_clears(tmp_path):
    """A writer that opens its file by name (pynwb, Neo) and dies leaves ``.NAME.*.tmp.SUFFIX``;
    the clean-up before the next run removes it with the plain ``.NAME.*.tmp`` kind, and
    leaves unrelated files alone."""
    from l5sim._io import atomic_write_named, remove_stale_temporaries

    def dies(tmp):
        Path(tmp).write_bytes(b"half")
        os.link(tmp, tmp_path / (Path(tmp).name + "-kept"))   # what a SIGKILL would leave behind
        raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        atomic_write_named(tmp_path / "run.nwb", dies)
    left = tmp_path / next(p.name for p in tmp_path.iterdir() if p.name.endswith("-kept"))
    stale = tmp_path / left.name[:-len("-kept")]
    left.rename(stale)
    (tmp_path / ".recording.npz.abc.tmp").write_bytes(b"x")
    (tmp_path / "notes.txt").write_text("mine")
    gone = remove_stale_temporaries(tmp_path, ["run.nwb", "recording.npz"])
    assert sorted(gone) == sorted([stale.name, ".recording.npz.abc.tmp"]), gone
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]
    assert stale.name.startswith(".run.nwb.") and stale.name.endswith(".tmp.nwb")
