"""NWB and Neo export: files that pynwb and Neo read back equal to the recording, valid by
the NWB validators, and Elephant's statistics on the Neo export against l5sim's analysis.

The recordings are a short run of the shipped column with every kind of data a recording
holds (spikes with burst-reset flags, traces, a phasic NA pulse, plastic ee weights), and
synthetic recordings drawn with NumPy (Poisson and gamma trains, whose rate and CV of ISIs
are known analytically).

Elephant and l5sim.analysis share the definitions of the rate (spikes / duration), of the
CV of ISIs (SD with ddof 0 over the mean, per train; l5sim averages over trains with >= 3
spikes, and the tests apply that rule to Elephant's per-train values) and of the PSTH
(count / (n trains x bin)) over whole bins; they differ in the partial last bin of a run
that is not a whole number of bins (test_psth_definitions_differ_only_in_the_partial_last_bin).
"""
import importlib
import json
import os
from datetime import datetime, timezone

import numpy as np
import pytest

import l5sim
from l5sim import analysis
from l5sim.recording import Recording

#: CI sets L5SIM_REQUIRE_EXTRAS=nwb,neo: there a missing extra fails these tests, never skips them.
REQUIRED = set(filter(None, os.environ.get("L5SIM_REQUIRE_EXTRAS", "").split(",")))


def _need(module: str, extra: str):
    return importlib.import_module(module) if extra in REQUIRED else pytest.importorskip(module)


pynwb = _need("pynwb", "nwb")
neo = _need("neo", "neo")
pq = _need("quantities", "neo")

from l5sim.export import to_neo, to_nwb  # noqa: E402
from l5sim.export.neo import write_mat  # noqa: E402

# quantities 0.16 deprecates an argument Elephant 1.2 still passes (no effect on results)
pytestmark = pytest.mark.filterwarnings("ignore:The 'copy' argument in Quantity is deprecated")

SEEDS = (1, 2)
DURATION_MS = 300.0
START = datetime(2026, 1, 1, tzinfo=timezone.utc)
#: nwbinspector checks written for animal recordings that cannot apply to a simulation:
#: no subject, experimenter or institution exist; module names "neuromodulation" and
#: "plasticity" say more than the generic "misc" the check suggests.
NOT_APPLICABLE = {"check_subject_exists", "check_experimenter_exists", "check_institution",
                  "check_processing_module_name"}
#: float64 round-off of times rebuilt from starting_time + k / rate (s): a few ulps of 1 s.
TIME_TOL_S = 1e-12


def _column_recording(seed):
    from l5sim.column_stdp import DEFAULT_RULE

    spec = l5sim.load_circuit("circuits/l5_column.toml").with_overrides({
        "plasticity.ee_pair": dict(DEFAULT_RULE), "pathways.ee.plasticity": "ee_pair",
        "recording.weights_interval_ms": 100.0,
        "modulators.NA": {"tonic": 0.0, "preset": "coupling",
                          "pulses": [{"onset_ms": 100.0, "amplitude": 1.0, "shape": "square", "duration_ms": 100.0}]}})
    return l5sim.simulate(l5sim.build(spec, seed=seed), duration_ms=DURATION_MS)


@pytest.fixture(scope="module", params=SEEDS)
def column(request, tmp_path_factory):
    """(recording, its saved-and-loaded copy's NWB path) of one seed."""
    rec = _column_recording(request.param)
    d = tmp_path_factory.mktemp(f"col{request.param}")
    l5sim.save_recording(rec, d)
    rec = l5sim.load_recording(d)       # the CLI exports a saved run: test that path
    return rec, to_nwb(rec, d / "run.nwb", session_start_time=START)


def _trains(rec, pop):
    i, t, b = rec.spikes(pop)
    order = np.lexsort((t, i))
    i, t, b = i[order], t[order], b[order]
    cuts = np.searchsorted(i, np.arange(rec.pop_size(pop) + 1))
    return [(t[cuts[k]:cuts[k + 1]], b[cuts[k]:cuts[k + 1]]) for k in range(rec.pop_size(pop))]


def test_column_recording_holds_every_kind_of_data(column):
    rec, _ = column
    assert rec.spike_i.size > 100 and rec.spike_burst.any(), (rec.spike_i.size, rec.spike_burst.sum())
    assert rec.traces["pyr"] and rec.modulators["NA"].max() == 1.0 and rec.weights["ee"].shape[0] == 4
    assert set(rec.positions) == set(rec.pop_names)
    # ring placement (l5_column: even angles on the unit circle): neuron k at 2 pi k / n
    n = rec.pop_size("pyr")
    ang = 2 * np.pi * np.arange(n) / n
    np.testing.assert_allclose(rec.positions["pyr"], np.c_[np.cos(ang), np.sin(ang)], atol=1e-12)


def test_nwb_units_table_equals_the_recording(column):
    rec, path = column
    with pynwb.NWBHDF5IO(str(path), mode="r") as io:
        f = io.read()
        units = f.units
        n = int(rec.pop_start[-1])
        assert list(units.id[:]) == list(range(n))
        assert units.resolution == pytest.approx(rec.metadata["dt_ms"] * 1e-3)
        pops, local, models = units["population"][:], units["local_index"][:], units["model"][:]
        pos = np.asarray(units["position"][:])
        j = 0
        for pop in rec.pop_names:
            model = rec.metadata["circuit"]["populations"][pop]["model"]
            for k, (t_ms, b) in enumerate(_trains(rec, pop)):
                assert (pops[j], local[j], models[j]) == (pop, k, model)
                assert np.array_equal(units["spike_times"][j], t_ms * 1e-3), (pop, k)
                assert np.array_equal(np.asarray(units["burst_reset"][j], np.uint8), b), (pop, k)
                assert np.array_equal(pos[j], rec.positions[pop][k])
                j += 1
        assert sum(len(units["spike_times"][u]) for u in range(n)) == rec.spike_i.size


def test_nwb_traces_modulators_weights_and_metadata_equal_the_recording(column):
    rec, path = column
    with pynwb.NWBHDF5IO(str(path), mode="r") as io:
        f = io.read()
        for pop, vars_ in rec.traces.items():
            for var, arr in vars_.items():
                ts = f.acquisition[f"{pop}__{var}"]
                assert np.array_equal(ts.data[:], arr)
                info = json.loads(ts.comments)
                assert info["neurons"] == [int(x) for x in rec.trace_neurons[pop]]
                want_unit = {"v": ("volts", 1e-3), "vd": ("volts", 1e-3), "kappa": ("dimensionless", 1.0)}[var]
                assert (ts.unit, ts.conversion) == want_unit
                assert np.max(np.abs(ts.get_timestamps() - rec.trace_t_ms[pop] * 1e-3)) < TIME_TOL_S
        na = f.processing["neuromodulation"]["NA"]
        assert np.array_equal(na.data[:], rec.modulators["NA"])
        assert np.max(np.abs(na.get_timestamps() - rec.modulator_t_ms * 1e-3)) < TIME_TOL_S
        w = f.processing["plasticity"]["weights__ee"]
        assert np.array_equal(np.asarray(w["weight"][:]), rec.weights["ee"])
        assert np.array_equal(w["timestamp"][:], rec.weight_t_ms * 1e-3)
        fw = f.processing["plasticity"]["final_weights__ee"]
        assert np.array_equal(fw["weight"][:], rec.final_weights["ee"])
        assert json.loads(f.notes) == json.loads(json.dumps(rec.metadata))
        assert rec.metadata["circuit_hash"] in f.experiment_description
        gen = {str(a): str(b) for a, b in f.was_generated_by[:]}
        assert gen["l5sim"] == rec.metadata["versions"]["l5sim"] and gen["numba"] == rec.metadata["versions"]["numba"]
        assert f.session_start_time == START


def test_nwb_file_passes_the_schema_validator_and_nwbinspector(column):
    _, path = column
    assert pynwb.validate(path=str(path)) == []
    inspector = _need("nwbinspector", "nwb")
    found = [(m.check_function_name, m.object_name, m.message) for m in inspector.inspect_nwbfile(nwbfile_path=str(path))]
    bad = [m for m in found if m[0] not in NOT_APPLICABLE]
    assert not bad, bad


def _synthetic(seed, n=(40, 25), duration_ms=10_000.0, rate_hz=20.0, shape=1.0):
    """Gamma-process trains (shape 1: Poisson) at ``rate_hz`` for two populations, on a
    0.1 ms grid like l5sim's; random burst flags; no traces."""
    rng = np.random.default_rng(seed)
    ii, tt = [], []
    for g in range(sum(n)):
        isi = rng.gamma(shape, 1000.0 / (rate_hz * shape), size=int(3 * rate_hz * duration_ms / 1000) + 50)
        t = np.cumsum(isi)
        t = np.unique(np.round(t[t < duration_ms - 0.1], 1))
        ii.append(np.full(t.size, g, np.int32))
        tt.append(t)
    i, t = np.concatenate(ii), np.concatenate(tt)
    order = np.lexsort((i, t))
    start = np.r_[0, np.cumsum(n)].astype(np.int64)
    meta = {"seed": seed, "dt_ms": 0.1, "duration_ms": duration_ms, "circuit_name": "synthetic",
            "circuit_hash": "0" * 64, "versions": {"l5sim": l5sim.__version__},
            "circuit": {"populations": {"a": {"model": "poisson"}, "b": {"model": "l5_pyramidal"}}}}
    return Recording(spike_i=i[order], spike_t_ms=t[order], spike_burst=rng.integers(0, 2, i.size).astype(np.uint8),
                     pop_names=["a", "b"], pop_start=start, metadata=meta,
                     positions={"a": rng.random((n[0], 2)), "b": rng.random((n[1], 2))})


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_nwb_round_trip_of_synthetic_recordings_without_traces(seed, tmp_path):
    """Any recording (here no traces, modulators or weights; silent neurons) writes a valid
    file whose spikes read back exactly."""
    rec = _synthetic(seed, n=(5, 4), duration_ms=200.0, rate_hz=5.0)
    path = to_nwb(rec, tmp_path / "s.nwb", session_start_time=START)
    assert pynwb.validate(path=str(path)) == []
    with pynwb.NWBHDF5IO(str(path), mode="r") as io:
        u = io.read().units
        got = np.concatenate([np.asarray(u["spike_times"][k]) for k in range(9)])
        got_i = np.concatenate([np.full(len(u["spike_times"][k]), k) for k in range(9)])
        order = np.lexsort((got_i, got))
        assert np.array_equal(got[order], rec.spike_t_ms * 1e-3) and np.array_equal(got_i[order], rec.spike_i)
    assert not list(tmp_path.glob(".*tmp*")), "temporary file left behind"


def test_nwb_rejects_a_naive_start_time(tmp_path):
    rec = _synthetic(0, n=(2, 2), duration_ms=50.0)
    with pytest.raises(ValueError, match="session_start_time.*timezone"):
        to_nwb(rec, tmp_path / "x.nwb", session_start_time=datetime(2026, 1, 1))
    assert not list(tmp_path.iterdir()), "a failed export left a file"


def test_neo_block_equals_the_recording(column):
    rec, _ = column
    block = to_neo(rec)
    seg = block.segments[0]
    assert len(seg.spiketrains) == int(rec.pop_start[-1])
    assert [g.name for g in block.groups] == rec.pop_names
    assert block.annotations["circuit_hash"] == rec.metadata["circuit_hash"]
    for g in block.groups:
        for k, (st, (t_ms, b)) in enumerate(zip(g.spiketrains, _trains(rec, g.name))):
            assert np.array_equal(st.rescale("ms").magnitude, t_ms)
            assert np.array_equal(st.array_annotations["burst_reset"], b)
            assert st.annotations["local_index"] == k and st.t_stop == rec.duration_ms * pq.ms
    sig = {s.name: s for s in seg.analogsignals}
    v = sig["pyr__v"]
    assert v.units == pq.mV and np.array_equal(v.magnitude, rec.traces["pyr"]["v"])
    np.testing.assert_allclose(v.times.rescale("ms").magnitude, rec.trace_t_ms["pyr"], rtol=0, atol=1e-9)
    assert np.array_equal(v.array_annotations["local_index"], rec.trace_neurons["pyr"])
    assert np.array_equal(sig["modulator__NA"].magnitude[:, 0], rec.modulators["NA"])
    w = {s.name: s for s in seg.irregularlysampledsignals}["weights__ee"]
    assert np.array_equal(w.magnitude, rec.weights["ee"]) and np.array_equal(w.times.magnitude, rec.weight_t_ms)


def test_neo_matlab_file_reads_back_equal(column, tmp_path):
    rec, _ = column
    block = neo.NeoMatlabIO(str(write_mat(rec, tmp_path / "run.mat"))).read_block()
    sts = block.segments[0].spiketrains
    flat = [(st.annotations["population"], st) for st in sts]
    for pop in rec.pop_names:
        mine = [st for p, st in flat if p == pop]
        for st, (t_ms, b) in zip(mine, _trains(rec, pop)):
            assert np.array_equal(st.rescale("ms").magnitude, t_ms)
            assert np.array_equal(np.atleast_1d(st.annotations["burst_reset"]).astype(np.uint8)[:len(b)], b)
    assert json.loads(block.annotations["l5sim_metadata"]) == json.loads(json.dumps(rec.metadata))


# ---- Elephant on the Neo export against l5sim.analysis ---------------------------------
def _elephant_vs_l5sim(rec, pop, bin_ms):
    """(rate, CV, PSTH) from Elephant on the Neo export and from l5sim.analysis."""
    elephant_stats = _need("elephant.statistics", "neo")
    group = next(g for g in to_neo(rec).groups if g.name == pop)
    trains = group.spiketrains
    i, t, _ = rec.spikes(pop)
    n = rec.pop_size(pop)
    e_rate = np.array([float(elephant_stats.mean_firing_rate(st).rescale("Hz")) for st in trains])
    l_rate = analysis.rates_hz(i, n, rec.duration_ms)
    # CV: Elephant's cv is scipy.stats.variation (SD with ddof 0 over mean) of one train's
    # ISIs, l5sim's the same per neuron, averaged over neurons with >= 3 spikes (2 ISIs).
    e_cvs = [elephant_stats.cv(elephant_stats.isi(st).magnitude) for st in trains if len(st) >= 3]
    e_cv = float(np.mean(e_cvs)) if e_cvs else float("nan")
    l_cv = analysis.cv_isi_flat(i, t, n)
    hist = elephant_stats.time_histogram(trains, bin_size=bin_ms * pq.ms, t_start=0 * pq.ms,
                                         t_stop=rec.duration_ms * pq.ms, output="rate")
    e_psth = hist.rescale("Hz").magnitude[:, 0]
    _, l_psth = analysis.population_rate(t, n, rec.duration_ms, bin_ms)
    return (e_rate, l_rate), (e_cv, l_cv), (e_psth, l_psth)


def test_elephant_agrees_with_l5sim_on_the_simulated_column(column):
    rec, _ = column
    for pop in rec.pop_names:
        (er, lr), (ec, lc), (ep, lp) = _elephant_vs_l5sim(rec, pop, bin_ms=5.0)
        # same definitions: counts / duration, SD/mean of ISIs, counts / (n bin): agreement to
        # float64 round-off (1e-9 relative)
        np.testing.assert_allclose(er, lr, rtol=1e-9, err_msg=f"{pop} rates")
        assert (np.isnan(ec) and np.isnan(lc)) or ec == pytest.approx(lc, rel=1e-9), (pop, ec, lc)
        np.testing.assert_allclose(ep, lp, rtol=1e-9, atol=1e-9, err_msg=f"{pop} PSTH")
        assert lp.size == int(round(rec.duration_ms / 5.0))


def test_psth_definitions_differ_only_in_the_partial_last_bin(column):
    """Where the run is not a whole number of bins, the two PSTHs differ by definition:
    Elephant's time_histogram keeps floor(T / bin) bins and drops the spikes of the partial
    last bin (with a warning), l5sim.analysis.population_rate adds a last bin that reaches
    past the end of the run and divides its count by the whole bin width. Every whole bin
    agrees."""
    rec, _ = column
    elephant_stats = _need("elephant.statistics", "neo")
    bin_ms = 7.0                                     # 300 ms = 42 bins + 6 ms
    n_whole = int(rec.duration_ms // bin_ms)
    for group in to_neo(rec).groups:
        pop = group.name
        _, t, _ = rec.spikes(pop)
        n = rec.pop_size(pop)
        with pytest.warns(UserWarning, match="discarded") if np.any(t >= n_whole * bin_ms) else _no_warning():
            hist = elephant_stats.time_histogram(group.spiketrains, bin_size=bin_ms * pq.ms, t_start=0 * pq.ms,
                                                 t_stop=rec.duration_ms * pq.ms, output="rate")
        e = hist.rescale("Hz").magnitude[:, 0]
        _, mine = analysis.population_rate(t, n, rec.duration_ms, bin_ms)
        assert (e.size, mine.size) == (n_whole, n_whole + 1)
        np.testing.assert_allclose(e, mine[:n_whole], rtol=1e-9, atol=1e-9, err_msg=pop)
        tail = np.sum(t >= n_whole * bin_ms)
        assert mine[-1] == pytest.approx(tail / (n * bin_ms * 1e-3)), (pop, tail)


def _no_warning():
    import contextlib

    return contextlib.nullcontext()


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("shape", [1.0, 4.0])
def test_elephant_and_l5sim_recover_known_rates_and_cvs(seed, shape):
    """Gamma trains of shape k at 20 Hz: the CV of ISIs is 1 / sqrt(k) (Poisson: 1) and the
    rate 20 Hz; both libraries find them, and agree with each other."""
    rate, dur = 20.0, 10_000.0
    rec = _synthetic(seed, duration_ms=dur, rate_hz=rate, shape=shape)
    for pop in rec.pop_names:
        n = rec.pop_size(pop)
        (er, lr), (ec, lc), (ep, lp) = _elephant_vs_l5sim(rec, pop, bin_ms=10.0)
        np.testing.assert_allclose(er, lr, rtol=1e-9)
        assert ec == pytest.approx(lc, rel=1e-9), (ec, lc)
        np.testing.assert_allclose(ep, lp, rtol=1e-9, atol=1e-9)
        # the pooled rate of n gamma trains of T seconds has SD ~ sqrt(rate CV^2 / (n T)) Hz
        sd_rate = np.sqrt(rate / shape / (n * dur / 1000))
        assert abs(lr.mean() - rate) < 5 * sd_rate, f"rate {lr.mean():.3f} Hz vs {rate} +- {sd_rate:.3f} (5 SD), n={n}"
        # sample CV of m = rate T = 200 ISIs: SE ~ CV sqrt((1 + 2 CV^2) / (2 m)), the
        # normal-theory formula, conservative here (20,000 simulated gamma samples of 200 ISIs:
        # SD 0.069 vs 0.087 for shape 1, 0.028 vs 0.031 for shape 4; bias -0.007 and -0.002),
        # averaged over n trains; 5 SE (the 0.1 ms grid's rounding is negligible at 50 ms ISIs)
        cv, m = 1 / np.sqrt(shape), rate * dur / 1000
        sd_cv = cv * np.sqrt((1 + 2 * cv ** 2) / (2 * m)) / np.sqrt(n)
        assert abs(lc - cv) < 5 * sd_cv, f"CV {lc:.4f} vs {cv:.4f} +- {sd_cv:.4f} (5 SE), n={n}, shape={shape}"


# ---- the command ------------------------------------------------------------------------
def test_l5sim_export_writes_files_that_read_back_equal(column, capsys):
    from l5sim.cli import main

    rec, nwb_path = column
    run_dir = nwb_path.parent
    assert main(["export", str(run_dir), "--format", "nwb"]) == 0
    assert "recording.nwb" in capsys.readouterr().out
    with pynwb.NWBHDF5IO(str(run_dir / "recording.nwb"), mode="r") as io:
        u = io.read().units
        t = np.concatenate([u["spike_times"][k] for k in range(len(u.id))])
        assert np.array_equal(np.sort(t), np.sort(rec.spike_t_ms * 1e-3)) and len(u.id) == int(rec.pop_start[-1])
    out = run_dir / "elsewhere" / "r.mat"
    assert main(["export", str(run_dir / "recording.npz"), "--format", "neo", "--out", str(out), "--quiet"]) == 0
    block = neo.NeoMatlabIO(str(out)).read_block()
    assert sum(len(st) for st in block.segments[0].spiketrains) == rec.spike_i.size


def test_l5sim_export_names_a_missing_recording(tmp_path, capsys):
    from l5sim.cli import main

    assert main(["export", str(tmp_path), "--format", "nwb"]) == 2
    err = capsys.readouterr().err
    assert "RUN_DIR" in err and "recording.npz" in err and str(tmp_path) in err, err
    with pytest.raises(SystemExit):
        main(["export", str(tmp_path), "--format", "csv"])
    assert "invalid choice: 'csv'" in capsys.readouterr().err
