"""The bridge file: mapping steps, round trip, validation, version refusal, CLI."""
import argparse
import copy
import json
import math

import pytest

from l5sim.ann.synthetic_curves import (GAIN_TRUTH, write_synthetic_gain_dir,
                                        write_synthetic_stdp_dir)
from l5sim.bridge import (DEFAULT_MS_PER_ITERATION, SCHEMA_VERSION, eta_from_gain, gamma_from_tau,
                          lr_coupling_from_stdp, make_bridge, normalised_gain_slope,
                          optimizer_params, read_bridge, schema, validate_bridge, write_bridge)
from l5sim.errors import BridgeFileError, L5SimError

# Recovery tolerance in standard errors (see tests/test_fits.py).
N_SE = 4.0
# Closed-form arithmetic: agreement to double rounding.
EXACT = 1e-12


@pytest.fixture(scope="module")
def dirs(tmp_path_factory):
    base = tmp_path_factory.mktemp("bridge")
    g, s = base / "gain", base / "stdp"
    write_synthetic_gain_dir(str(g))
    write_synthetic_stdp_dir(str(s))
    return str(g), str(s)


@pytest.fixture(scope="module")
def doc(dirs):
    return make_bridge(*dirs)


def test_gamma_step():
    tau = -DEFAULT_MS_PER_ITERATION / math.log(0.9)  # 949.1 ms gives the paper's gamma
    g, se = gamma_from_tau(tau, 10.0)
    assert g == pytest.approx(0.9, abs=EXACT)
    h = 1e-3  # delta method against a numerical derivative
    num = (gamma_from_tau(tau + h)[0] - gamma_from_tau(tau - h)[0]) / (2 * h) * 10.0
    assert se == pytest.approx(num, rel=1e-6)
    assert gamma_from_tau(1000.0, 0.0, ms_per_iteration=1000.0)[0] == pytest.approx(math.exp(-1))
    with pytest.raises(L5SimError, match="tau_decay_ms"):
        gamma_from_tau(0.0)


def test_normalisation_and_eta_steps():
    # s(m) = 0.2 + 0.3 m at m0 = 0.5: s0 = 0.35, dg/dm = 0.3 / 0.35
    s0, s0_se, d, d_se = normalised_gain_slope(0.2, 0.3, [[1e-4, 0], [0, 4e-4]], 0.5)
    assert s0 == pytest.approx(0.35, abs=EXACT) and d == pytest.approx(0.3 / 0.35, abs=EXACT)
    assert s0_se == pytest.approx(math.sqrt(1e-4 + 0.25 * 4e-4), abs=EXACT)
    assert d_se == pytest.approx(math.hypot(0.3 / 0.35 ** 2 * 1e-2, 0.2 / 0.35 ** 2 * 2e-2), abs=EXACT)
    eta, eta_se = eta_from_gain(d, d_se, 0.2)
    assert eta == pytest.approx(0.2 * 0.3 / 0.35, abs=EXACT) and eta_se == pytest.approx(0.2 * d_se)
    with pytest.raises(L5SimError, match="falls with the modulator"):
        eta_from_gain(-1.0, 0.1, 0.2)
    c, c_se = lr_coupling_from_stdp(2.0, 0.2, 4.0, 0.4)
    assert c == 0.5 and c_se == pytest.approx(0.5 * math.hypot(0.1, 0.1))


def test_bridge_from_synthetic_curves_recovers_the_truth(doc):
    t = GAIN_TRUTH
    opt = doc["optimizer"]
    assert opt["g0"]["value"] == 1.0
    gamma_true = math.exp(-DEFAULT_MS_PER_ITERATION / t["tau_ms"])
    assert abs(opt["gamma"]["value"] - gamma_true) < N_SE * opt["gamma"]["stderr"]
    # tonic level 0: dg/dm = k; default modulator_per_nat = amplitude / ln 10
    eta_true = t["k_per_level"] * t["pulse_amplitude"] / math.log(10)
    assert abs(opt["eta"]["value"] - eta_true) < N_SE * opt["eta"]["stderr"]
    assert opt["lr_coupling"]["enabled"] is False and opt["lr_coupling"]["value"] > 0
    assert doc["mapping"]["ms_per_iteration"]["value"] == DEFAULT_MS_PER_ITERATION
    assert doc["provenance"]["gain"]["circuit_hash"] == "synthetic-0000"
    assert doc["provenance"]["gain"]["seeds"] == [0, 1, 2]


def test_round_trip(doc, tmp_path):
    p = tmp_path / "bridge.json"
    write_bridge(doc, str(p))
    back = read_bridge(str(p))
    assert back == json.loads(json.dumps(doc))
    hp = optimizer_params(str(p))
    assert hp == {"gamma": doc["optimizer"]["gamma"]["value"], "g0": 1.0,
                  "eta": doc["optimizer"]["eta"]["value"], "lr_coupling": 0.0}
    assert optimizer_params(back, use_lr_coupling=True)["lr_coupling"] == \
        doc["optimizer"]["lr_coupling"]["value"]
    assert not list(tmp_path.glob(".tmp-*"))  # atomic write left no temporary file


def test_schema_agrees_with_jsonschema(doc):
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.validate(json.loads(json.dumps(doc)), schema())


@pytest.mark.parametrize("mutate,msg", [
    (lambda d: d.pop("optimizer"), "field 'optimizer' missing"),
    (lambda d: d["optimizer"]["eta"].update(value="big"), r"optimizer\.eta\.value: got 'big'"),
    (lambda d: d["optimizer"]["gamma"].update(stderr=-1.0), "expected >= 0"),
    (lambda d: d.update(extra=1), "unexpected field 'extra'"),
    (lambda d: d.update(format="other"), "expected 'l5sim-bridge'"),
    (lambda d: d["provenance"]["gain"].pop("circuit_hash"), "circuit_hash"),
])
def test_invalid_documents_are_refused(doc, mutate, msg):
    bad = copy.deepcopy(doc)
    mutate(bad)
    with pytest.raises(BridgeFileError, match=msg):
        validate_bridge(bad)


def test_newer_version_is_refused_with_message(doc, tmp_path):
    newer = copy.deepcopy(doc)
    newer["schema_version"] = SCHEMA_VERSION + 1
    p = tmp_path / "new.json"
    p.write_text(json.dumps(newer))
    with pytest.raises(BridgeFileError, match="newer than the version.*upgrade l5sim"):
        read_bridge(str(p))
    with pytest.raises(BridgeFileError, match="newer"):
        write_bridge(newer, str(tmp_path / "x.json"))
    (tmp_path / "junk.json").write_text("{not json")
    with pytest.raises(BridgeFileError, match="not valid JSON"):
        read_bridge(str(tmp_path / "junk.json"))


def test_missing_pulse_needs_tau_and_amplitude(tmp_path):
    write_synthetic_gain_dir(str(tmp_path), pulse=False)
    with pytest.raises(L5SimError, match="modulator_per_nat"):
        make_bridge(str(tmp_path))
    with pytest.raises(L5SimError, match="tau_decay_ms"):
        make_bridge(str(tmp_path), modulator_per_nat=0.2)
    d = make_bridge(str(tmp_path), modulator_per_nat=0.2, tau_decay_ms=500.0,
                    ms_per_iteration=50.0)
    assert d["optimizer"]["gamma"]["value"] == pytest.approx(math.exp(-0.1), abs=EXACT)
    assert d["mapping"]["tau_decay_ms"]["source"] == "user"
    assert d["fits"]["pulse"] is None and d["fits"]["stdp"] is None
    assert d["optimizer"]["lr_coupling"]["formula"].startswith("not derived")


def test_missing_files_are_named(tmp_path):
    with pytest.raises(BridgeFileError, match="gain.csv not found"):
        make_bridge(str(tmp_path))
    write_synthetic_gain_dir(str(tmp_path))
    (tmp_path / "metadata.json").write_text(json.dumps({"seed": 1}))
    with pytest.raises(BridgeFileError, match="field 'circuit_hash' missing"):
        make_bridge(str(tmp_path))


def test_cli_fit(dirs, tmp_path, capsys):
    from l5sim.ann.cli import register_fit

    parser = argparse.ArgumentParser()
    register_fit(parser.add_subparsers())
    out = tmp_path / "b.json"
    args = parser.parse_args(["fit", dirs[0], dirs[1], "--out", str(out)])
    assert args.func(args) == 0
    assert "gamma =" in capsys.readouterr().out
    assert read_bridge(str(out))["provenance"]["stdp"] is not None


def test_ngmsgd_from_bridge(doc, tmp_path):
    pytest.importorskip("torch")
    from l5sim.ann.gain import GainMLP
    from l5sim.ann.optim import NGMSGD

    p = tmp_path / "b.json"
    write_bridge(doc, str(p))
    m = GainMLP((4, 3, 2))
    opt = NGMSGD.from_bridge(m.weight_parameters(), m.gains(), str(p), lr=0.01)
    grp = opt.param_groups[-1]
    assert grp["role"] == "gain" and grp["lr_coupling"] == 0.0
    assert grp["gamma"] == doc["optimizer"]["gamma"]["value"]
    assert grp["eta"] == doc["optimizer"]["eta"]["value"]
