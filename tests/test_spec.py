"""Circuit specifications: bundled circuits load, overrides apply and are validated like the
file, every validation error names the key path and what was expected, arbitrary garbage
never escapes as anything but :class:`SpecError`, and the content hash is stable."""
from __future__ import annotations

import copy
import datetime
import math
import re
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import l5sim
from l5sim.errors import L5SimError, SpecError
from l5sim.spec import apply_overrides, from_dict, load_circuit, parse_value

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

CIRCUITS_DIR = Path(__file__).resolve().parents[1] / "circuits"
CIRCUIT_FILES = sorted(CIRCUITS_DIR.glob("*.toml"))
BUNDLED = tuple(p.stem for p in CIRCUIT_FILES)


def _parsed(name: str) -> dict:
    return tomllib.loads((CIRCUITS_DIR / f"{name}.toml").read_text())


def small_circuit() -> dict:
    """A small valid circuit touching every section: a point-neuron population, an L5
    population with a state coupling gate, a Poisson source, three rules, two inputs and a
    trace. Population names: exc (20), pyr (10), src (5)."""
    return {
        "circuit": {"name": "small", "dt_ms": 0.1},
        "populations": {
            "exc": {"model": "izhikevich2007", "n": 20, "preset": "RS"},
            "pyr": {"model": "l5_pyramidal", "n": 10, "params": {"kappa_mode": "state", "kappa": 0.2}},
            "src": {"model": "poisson", "n": 5, "rate_hz": 10.0},
        },
        "pathways": {
            "ee": {"pre": "exc", "post": "exc", "connectivity": {"rule": "fixed_prob", "p": 0.2, "weight": 0.5}},
            "ep": {"pre": "exc", "post": "pyr", "target": "dendrite", "receptors": {"AMPA": 1.0, "NMDA": 0.5},
                   "connectivity": {"rule": "gaussian_prob", "p0": 0.5, "sigma": 0.5}, "delay_per_distance": 2.0},
            "gate": {"pre": "src", "post": "pyr", "target": "gate",
                     "connectivity": {"rule": "pocket", "pocket_size": 2, "weight": 0.5}},
        },
        "inputs": {
            "drive": {"kind": "current", "population": "exc", "amplitude_pA": 100.0,
                      "start_ms": 10.0, "stop_ms": 50.0},
            "bg": {"kind": "poisson", "population": "pyr", "compartment": "dendrite", "rate_hz": 100.0},
        },
        "recording": {"traces": {"exc": {"neurons": [0, 1], "variables": ["v"], "interval_ms": 0.5}}},
    }


def rich_circuit() -> dict:
    """The small circuit plus a spike generator, an STDP rule on a pathway and a
    neuromodulator with a pulse and a target: every optional section is present."""
    d = small_circuit()
    d["populations"]["gen"] = {"model": "generator", "n": 2, "spike_times_ms": [[1.0, 5.0], [2.0]]}
    d["pathways"]["ge"] = {"pre": "gen", "post": "exc", "connectivity": {"rule": "all_to_all", "weight": 1.0}}
    d["pathways"]["ee"]["plasticity"] = "stdp"
    d["plasticity"] = {"stdp": {"rule": "pair", "interaction": "nearest", "A_plus": 0.1, "A_minus": 0.12}}
    d["modulators"] = {"NA": {"tonic": 0.1, "targets": {"pyr": {"kappa": 0.5}},
                              "pulses": [{"onset_ms": 10.0, "amplitude": 0.5, "shape": "square",
                                          "duration_ms": 5.0}]}}
    return d


def _set(d: dict, path: str, value) -> dict:
    """Set a dotted path in place, creating tables; values are taken literally (no parsing)."""
    *parents, last = path.split(".")
    node = d
    for p in parents:
        node = node.setdefault(p, {})
    node[last] = value
    return d


def _del(d: dict, path: str) -> dict:
    *parents, last = path.split(".")
    node = d
    for p in parents:
        node = node[p]
    del node[last]
    return d


# --------------------------------------------------------------------------------------
# Bundled circuits and overrides


def test_every_bundled_circuit_is_present():
    assert set(BUNDLED) >= {"izhikevich2003", "l5_cell", "l5_column", "whyte_ring"}


@pytest.mark.parametrize("path", CIRCUIT_FILES, ids=lambda p: p.stem)
def test_bundled_circuit_loads(path):
    spec = load_circuit(path)
    assert spec.circuit.name == path.stem
    assert spec.dt_ms > 0
    assert spec.path == str(path)
    assert len(spec.populations) >= 1
    for pw in spec.pathways.values():
        assert pw.pre in spec.populations and pw.post in spec.populations


def test_rich_circuit_is_valid_and_builds():
    spec = from_dict(rich_circuit())
    assert set(spec.plasticity) == {"stdp"} and set(spec.modulators) == {"NA"}
    assert l5sim.build(spec, seed=0).n_neurons == 37


def test_small_circuit_is_valid():
    spec = from_dict(small_circuit())
    assert spec.populations["pyr"].cell_params().kappa_mode == "state"
    assert spec.populations["exc"].integration == "semi_implicit"   # model default filled in
    assert spec.pathways["ee"].delay_steps == 1                      # documented default


def test_overrides_change_values_and_parse_strings_as_toml():
    base = load_circuit(CIRCUITS_DIR / "l5_column.toml")
    spec = load_circuit(CIRCUITS_DIR / "l5_column.toml", overrides={
        "populations.pyr.n": "800",                 # TOML integer
        "circuit.dt_ms": "0.05",                    # TOML float
        "space.distance": "chord",                  # not valid TOML: taken as a plain string
        "space.angles": '"closed"',                 # TOML string
        "populations.pyr.params.kappa": 0.5,        # non-string values are used as given
        "pathways.ee.connectivity": "{rule = 'fixed_prob', p = 0.25, weight = 2.0}",  # inline table
    })
    assert spec.populations["pyr"].n == 800 and isinstance(spec.populations["pyr"].n, int)
    assert spec.dt_ms == 0.05
    assert (spec.space.distance, spec.space.angles) == ("chord", "closed")
    assert spec.populations["pyr"].cell_params().kappa == 0.5
    c = spec.pathways["ee"].connectivity
    assert (c.rule, c.p, c.weight) == ("fixed_prob", 0.25, 2.0)
    # the rest is untouched
    assert spec.populations["pv"] == base.populations["pv"]
    assert spec.pathways["e_pv"] == base.pathways["e_pv"]


def test_override_creates_new_tables():
    spec = load_circuit(CIRCUITS_DIR / "l5_column.toml", overrides={
        "pathways.extra.pre": "pv", "pathways.extra.post": "som",
        "pathways.extra.connectivity": "{rule = 'fixed_prob', p = 0.1}",
    })
    assert spec.pathways["extra"].connectivity.rule == "fixed_prob"
    assert (spec.pathways["extra"].pre, spec.pathways["extra"].post) == ("pv", "som")


def test_with_overrides_returns_new_spec_and_leaves_original():
    spec = load_circuit(CIRCUITS_DIR / "whyte_ring.toml")
    new = spec.with_overrides({"populations.pyr.params.kappa_rest": "0.25"})
    assert new.populations["pyr"].cell_params().kappa_rest == 0.25
    assert spec.populations["pyr"].cell_params().kappa_rest == 0.0
    assert new == load_circuit(CIRCUITS_DIR / "whyte_ring.toml",
                               overrides={"populations.pyr.params.kappa_rest": 0.25})


def test_apply_overrides_copies_its_input():
    data = small_circuit()
    before = copy.deepcopy(data)
    out = apply_overrides(data, {"populations.exc.n": 7, "circuit.extra.x": 1})
    assert data == before
    assert out["populations"]["exc"]["n"] == 7 and out["circuit"]["extra"] == {"x": 1}


@pytest.mark.parametrize("override, path, expected", [
    ({"populations.pyr.n": "0"}, "populations.pyr.n", "an integer > 0"),
    ({"populations.pyr.n": "-3"}, "populations.pyr.n", "an integer > 0"),
    ({"populations.pyr.n": "nan"}, "populations.pyr.n", "an integer"),
    ({"populations.pyr.n": '"400"'}, "populations.pyr.n", "an integer"),
    ({"circuit.dt_ms": "inf"}, "circuit.dt_ms", "a finite number"),
    ({"circuit.dt_ms": "-0.1"}, "circuit.dt_ms", "a number > 0.0"),
    ({"pathways.ee.connectivity.rule": "small_world"}, "pathways.ee.connectivity.rule", "one of"),
    ({"populations.pyr.nn": "3"}, "populations.pyr.nn", "no such key"),
    ({"populations.pyr.params.kappa": "1.5"}, "populations.pyr.params.kappa", "a number in [0, 1]"),
])
def test_overrides_are_validated_like_the_file(override, path, expected):
    circuit = CIRCUITS_DIR / "l5_column.toml"
    with pytest.raises(SpecError, match=re.escape(f"{path}: got ")) as e:
        load_circuit(circuit, overrides=override)
    assert e.value.path == path
    assert expected in e.value.expected
    assert str(circuit) in str(e.value)          # the message names the file too
    with pytest.raises(SpecError) as e2:         # same error through the spec method
        load_circuit(circuit).with_overrides(override)
    assert e2.value.path == path


@pytest.mark.parametrize("key, path", [
    ("", ""),
    ("populations..n", "populations..n"),
    (".n", ".n"),
    ("populations.pyr.", "populations.pyr."),
    (3, "3"),
    ("populations.pyr.n.x", "populations.pyr.n"),      # walks through a number
    ("circuit.name.first", "circuit.name"),            # walks through a string
])
def test_bad_dotted_override_path(key, path):
    with pytest.raises(SpecError) as e:
        apply_overrides(_parsed("l5_column"), {key: 1})
    assert e.value.path == path
    assert ("dotted key path" in e.value.expected) or ("a table (to set" in e.value.expected)
    with pytest.raises(SpecError):
        load_circuit(CIRCUITS_DIR / "l5_column.toml", overrides={key: 1})


@pytest.mark.parametrize("text, value", [
    ("1", 1), ("-2.5", -2.5), ("1e3", 1000.0), ("true", True), ("false", False),
    ('"soma"', "soma"), ("soma", "soma"), ("[1, 2]", [1, 2]), ("{a = 1, b = 'x'}", {"a": 1, "b": "x"}),
    ("inf", math.inf), ("-inf", -math.inf), ("[1, 2", "[1, 2"),
])
def test_parse_value(text, value):
    assert parse_value(text) == value
    assert type(parse_value(text)) is type(value)


def test_parse_value_nan():
    assert math.isnan(parse_value("nan"))


def test_missing_and_invalid_files():
    with pytest.raises(SpecError, match="<file>") as e:
        load_circuit(CIRCUITS_DIR / "no_such_circuit.toml")
    assert "readable" in e.value.expected


def test_invalid_toml(tmp_path):
    p = tmp_path / "bad.toml"
    p.write_text("[circuit\nname = 'x'\n")
    with pytest.raises(SpecError, match="<file>") as e:
        load_circuit(p)
    assert "valid TOML" in e.value.expected


def test_toml_nan_in_file_is_rejected(tmp_path):
    p = tmp_path / "nan.toml"
    p.write_text("[circuit]\nname = 'x'\ndt_ms = nan\n[populations.a]\nmodel = 'poisson'\nn = 1\n")
    with pytest.raises(SpecError, match=re.escape("circuit.dt_ms: got nan")) as e:
        load_circuit(p)
    assert e.value.path == "circuit.dt_ms"
    assert e.value.source == str(p)


# --------------------------------------------------------------------------------------
# Each validation error: (edit of the small circuit, dotted path, fragment of "expected")

NAN, INF = math.nan, math.inf
ERRORS = [
    # unknown keys
    ("unknown top-level key", lambda d: _set(d, "popultions", {}), "popultions", "no such top-level table"),
    ("unknown circuit key", lambda d: _set(d, "circuit.dt", 0.1), "circuit.dt", "no such key"),
    ("unknown population key", lambda d: _set(d, "populations.exc.size", 3), "populations.exc.size", "no such key"),
    ("unknown init key", lambda d: _set(d, "populations.exc.init.v", -60.0), "populations.exc.init.v",
     "no such key"),
    ("unknown pathway key", lambda d: _set(d, "pathways.ee.wieght", 1.0), "pathways.ee.wieght", "no such key"),
    ("unknown connectivity key", lambda d: _set(d, "pathways.ee.connectivity.prob", 0.1),
     "pathways.ee.connectivity.prob", "no such key"),
    ("unknown input key", lambda d: _set(d, "inputs.drive.amp_pA", 1.0), "inputs.drive.amp_pA", "no such key"),
    ("unknown trace key", lambda d: _set(d, "recording.traces.exc.every", 1), "recording.traces.exc.every",
     "no such key"),
    ("unknown space key", lambda d: _set(d, "space.dims", 2), "space.dims", "no such key"),
    ("unknown receptor key", lambda d: _set(d, "receptors.AMPA.rise_ms", 1.0), "receptors.AMPA.rise_ms",
     "no such key"),
    # missing required keys
    ("missing circuit", lambda d: _del(d, "circuit"), "circuit", "a [circuit] table"),
    ("missing name", lambda d: _del(d, "circuit.name"), "circuit.name", "required"),
    ("missing populations", lambda d: _del(d, "populations"), "populations", "at least one population"),
    ("empty populations", lambda d: _set(d, "populations", {}), "populations", "at least one population"),
    ("missing n", lambda d: _del(d, "populations.exc.n"), "populations.exc.n", "required"),
    ("missing model", lambda d: _del(d, "populations.exc.model"), "populations.exc.model", "required"),
    ("missing pre", lambda d: _del(d, "pathways.ee.pre"), "pathways.ee.pre", "required"),
    ("missing post", lambda d: _del(d, "pathways.ee.post"), "pathways.ee.post", "required"),
    ("missing connectivity", lambda d: _del(d, "pathways.ee.connectivity"), "pathways.ee.connectivity",
     "required"),
    ("missing rule", lambda d: _del(d, "pathways.ee.connectivity.rule"), "pathways.ee.connectivity.rule",
     "required"),
    ("missing input kind", lambda d: _del(d, "inputs.drive.kind"), "inputs.drive.kind", "required"),
    ("missing input population", lambda d: _del(d, "inputs.drive.population"), "inputs.drive.population",
     "required"),
    # wrong types
    ("string for n", lambda d: _set(d, "populations.exc.n", "20"), "populations.exc.n", "an integer > 0"),
    ("fractional n", lambda d: _set(d, "populations.exc.n", 20.5), "populations.exc.n", "an integer"),
    ("bool for n", lambda d: _set(d, "populations.exc.n", True), "populations.exc.n", "an integer"),
    ("bool for dt", lambda d: _set(d, "circuit.dt_ms", True), "circuit.dt_ms", "a number > 0.0"),
    ("bool for weight", lambda d: _set(d, "pathways.ee.connectivity.weight", False),
     "pathways.ee.connectivity.weight", "a number"),
    ("bool for param", lambda d: _set(d, "populations.exc.params.a_per_ms", True),
     "populations.exc.params.a_per_ms", "a number"),
    ("string for float", lambda d: _set(d, "inputs.drive.amplitude_pA", "100"), "inputs.drive.amplitude_pA",
     "a number"),
    ("list for string", lambda d: _set(d, "circuit.name", ["a"]), "circuit.name", "a string"),
    ("date for string", lambda d: _set(d, "circuit.name", datetime.date(2025, 1, 1)), "circuit.name",
     "a string"),
    ("table for number", lambda d: _set(d, "pathways.ee.connectivity.p", {"x": 1}),
     "pathways.ee.connectivity.p", "a number"),
    ("string for bool", lambda d: _set(d, "pathways.ee.connectivity.autapses", "yes"),
     "pathways.ee.connectivity.autapses", "true or false"),
    ("number for table", lambda d: _set(d, "pathways.ee.connectivity", 3), "pathways.ee.connectivity",
     "a table of ConnectivitySpec fields"),
    ("string for list", lambda d: _set(d, "recording.spikes", "exc"), "recording.spikes", "a list of str"),
    ("non-table pathways", lambda d: _set(d, "pathways", [1]), "pathways", "a table of named"),
    ("non-table params", lambda d: _set(d, "populations.exc.params", 3), "populations.exc.params", "a table"),
    ("integer too large for 64 bits", lambda d: _set(d, "populations.exc.n", 10 ** 30), "populations.exc.n",
     "64-bit"),
    ("integer too large for a float", lambda d: _set(d, "inputs.drive.amplitude_pA", 10 ** 400),
     "inputs.drive.amplitude_pA", "64-bit"),
    ("bad population name", lambda d: _set(d, "populations.a b", {"model": "poisson", "n": 1}),
     "populations.a b", "a name of letters"),
    ("non-string population name", lambda d: d["populations"].update({7: {"model": "poisson", "n": 1}}) or d,
     "populations.7", "a name of letters"),
    # numeric ranges, NaN and infinity
    ("zero n", lambda d: _set(d, "populations.exc.n", 0), "populations.exc.n", "an integer > 0"),
    ("negative n", lambda d: _set(d, "populations.exc.n", -5), "populations.exc.n", "an integer > 0"),
    ("NaN dt", lambda d: _set(d, "circuit.dt_ms", NAN), "circuit.dt_ms", "a finite number"),
    ("NaN amplitude", lambda d: _set(d, "inputs.drive.amplitude_pA", NAN), "inputs.drive.amplitude_pA",
     "a finite number"),
    ("NaN stop (infinity allowed, NaN not)", lambda d: _set(d, "inputs.drive.stop_ms", NAN),
     "inputs.drive.stop_ms", "not NaN"),
    ("NaN cell parameter", lambda d: _set(d, "populations.exc.params.a_per_ms", NAN),
     "populations.exc.params.a_per_ms", "a finite number"),
    ("NaN receptor multiplier", lambda d: _set(d, "pathways.ep.receptors.NMDA", NAN), "pathways.ep.receptors.NMDA",
     "a finite number"),
    ("NaN trace neuron", lambda d: _set(d, "recording.traces.exc.neurons", [NAN]),
     "recording.traces.exc.neurons[0]", "an integer >= 0"),
    ("inf weight", lambda d: _set(d, "pathways.ee.connectivity.weight", INF), "pathways.ee.connectivity.weight",
     "a finite number"),
    ("-inf dt", lambda d: _set(d, "circuit.dt_ms", -INF), "circuit.dt_ms", "a finite number"),
    ("inf start", lambda d: _set(d, "inputs.drive.start_ms", INF), "inputs.drive.start_ms", "a finite number"),
    ("inf initial potential", lambda d: _set(d, "populations.exc.init.v_mV", INF), "populations.exc.init.v_mV",
     "a finite number"),
    ("zero dt", lambda d: _set(d, "circuit.dt_ms", 0.0), "circuit.dt_ms", "a number > 0.0"),
    ("negative dt", lambda d: _set(d, "circuit.dt_ms", -0.1), "circuit.dt_ms", "a number > 0.0"),
    ("dt too large", lambda d: _set(d, "circuit.dt_ms", 20.0), "circuit.dt_ms", "<= 10.0"),
    ("p above 1", lambda d: _set(d, "pathways.ee.connectivity.p", 1.5), "pathways.ee.connectivity.p", "<= 1.0"),
    ("p0 below 0", lambda d: _set(d, "pathways.ep.connectivity.p0", -0.1), "pathways.ep.connectivity.p0",
     ">= 0.0"),
    ("zero sigma", lambda d: _set(d, "pathways.ep.connectivity.sigma", 0.0), "pathways.ep.connectivity.sigma",
     "> 0.0"),
    ("negative rate", lambda d: _set(d, "populations.src.rate_hz", -1.0), "populations.src.rate_hz", ">= 0.0"),
    ("zero pocket", lambda d: _set(d, "pathways.gate.connectivity.pocket_size", 0),
     "pathways.gate.connectivity.pocket_size", "> 0"),
    ("delay too long", lambda d: _set(d, "pathways.ee.delay_steps", 1001), "pathways.ee.delay_steps", "<= 1000"),
    ("negative delay per distance", lambda d: _set(d, "pathways.ep.delay_per_distance", -1.0),
     "pathways.ep.delay_per_distance", ">= 0.0"),
    ("zero receptor tau", lambda d: _set(d, "receptors.AMPA.tau_ms", 0.0), "receptors.AMPA.tau_ms", "> 0.0"),
    ("zero capacitance", lambda d: _set(d, "populations.exc.params.C_pF", 0.0), "populations.exc.params.C_pF",
     "a number > 0"),
    ("weight_high below weight_low",
     lambda d: _set(d, "pathways.ee.connectivity", {"rule": "all_to_all", "weight_low": 1.0, "weight_high": 0.5}),
     "pathways.ee.connectivity.weight_high", ">= weight_low"),
    # choices
    ("bad model", lambda d: _set(d, "populations.exc.model", "hodgkin_huxley"), "populations.exc.model", "one of ["),
    ("bad rule", lambda d: _set(d, "pathways.ee.connectivity.rule", "small_world"),
     "pathways.ee.connectivity.rule", "one of ["),
    ("bad target", lambda d: _set(d, "pathways.ee.target", "axon"), "pathways.ee.target", "one of ["),
    ("bad profile", lambda d: _set(d, "inputs.drive.profile", "triangle"), "inputs.drive.profile", "one of ["),
    ("bad input kind", lambda d: _set(d, "inputs.drive.kind", "spikes"), "inputs.drive.kind", "one of ["),
    ("bad compartment", lambda d: _set(d, "inputs.bg.compartment", "axon"), "inputs.bg.compartment", "one of ["),
    ("bad geometry", lambda d: _set(d, "space.geometry", "torus"), "space.geometry", "one of ["),
    ("bad spike detection", lambda d: _set(d, "populations.exc.spike_detection", "late"),
     "populations.exc.spike_detection", "one of ["),
    ("bad integration for model", lambda d: _set(d, "populations.exc.integration", "izh2003"),
     "populations.exc.integration", "one of ['semi_implicit', 'euler']"),
    ("bad u_mode", lambda d: _set(d, "populations.exc.params.u_mode", "quadratic"),
     "populations.exc.params.u_mode", "one of ["),
    ("bad gate", lambda d: _set(d, "populations.pyr.params.gate", "random"), "populations.pyr.params.gate",
     "one of ['per_spike', 'per_step', 'deterministic']"),
    ("bad receptor", lambda d: _set(d, "pathways.ee.receptors", {"GLU": 1.0}), "pathways.ee.receptors.GLU",
     "a key among"),
    ("bad receptor override", lambda d: _set(d, "receptors.GLU", {"tau_ms": 1.0}), "receptors.GLU", "one of ["),
    ("bad trace variable", lambda d: _set(d, "recording.traces.exc.variables", ["voltage"]),
     "recording.traces.exc.variables[0]", "one of ["),
    ("bad preset", lambda d: _set(d, "populations.exc.preset", "XYZ"), "populations.exc.preset", "one of ["),
    ("preset of another model", lambda d: _set(d, "populations.pyr.preset", "RS"), "populations.pyr.preset",
     "'LVPA'"),
    ("heterogeneity outside the 2003 model", lambda d: _set(d, "populations.exc.heterogeneity", "izh2003_exc"),
     "populations.exc.heterogeneity", "'none' unless"),
    # params
    ("unknown param", lambda d: _set(d, "populations.exc.params.tau_foo", 1.0), "populations.exc.params.tau_foo",
     "a parameter of Izh2007Params"),
    ("param of another model", lambda d: _set(d, "populations.exc.params.kappa", 0.5),
     "populations.exc.params.kappa", "a parameter of Izh2007Params"),
    ("params on a poisson source", lambda d: _set(d, "populations.src.params", {"a": 1.0}),
     "populations.src.params", "no params for a poisson population"),
    ("kappa above 1", lambda d: _set(d, "populations.pyr.params.kappa", 1.5), "populations.pyr.params.kappa",
     "a number in [0, 1]"),
    ("kappa below 0", lambda d: _set(d, "populations.pyr.params.kappa", -0.1), "populations.pyr.params.kappa",
     "a number in [0, 1]"),
    ("kappa_rest above 1", lambda d: _set(d, "populations.pyr.params.kappa_rest", 2.0),
     "populations.pyr.params.kappa_rest", "a number in [0, 1]"),
    ("negative bAP start", lambda d: _set(d, "populations.pyr.params.bap_start_ms", -1.0),
     "populations.pyr.params.bap_start_ms", ">= 0"),
    ("bAP window longer than 62 steps", lambda d: _set(d, "populations.pyr.params.bap_stop_ms", 10.0),
     "populations.pyr.params.bap_stop_ms", "at most 62 steps"),
    # cross references
    ("pre unknown", lambda d: _set(d, "pathways.ee.pre", "inh"), "pathways.ee.pre", "a population name"),
    ("post unknown", lambda d: _set(d, "pathways.ee.post", "inh"), "pathways.ee.post", "a population name"),
    ("post is a poisson source", lambda d: _set(d, "pathways.ee.post", "src"), "pathways.ee.post",
     "(not poisson)"),
    ("input population unknown", lambda d: _set(d, "inputs.drive.population", "inh"), "inputs.drive.population",
     "a population name"),
    ("input onto a poisson source", lambda d: _set(d, "inputs.drive.population", "src"),
     "inputs.drive.population", "a neuron population"),
    ("spikes of an unknown population", lambda d: _set(d, "recording.spikes", ["exc", "inh"]),
     "recording.spikes[1]", "a population name"),
    ("traces of an unknown population", lambda d: _set(d, "recording.traces.inh", {}), "recording.traces.inh",
     "a population name"),
    ("traces of a poisson source", lambda d: _set(d, "recording.traces.src", {}), "recording.traces.src",
     "a neuron population"),
    ("undefined plasticity rule", lambda d: _set(d, "pathways.ee.plasticity", "stdp"), "pathways.ee.plasticity",
     "a name in [plasticity]"),
    ("dendrite target on a point neuron", lambda d: _set(d, "pathways.ee.target", "dendrite"), "pathways.ee.target",
     "has no dendrite"),
    ("gate target on a point neuron", lambda d: _set(d, "pathways.ee.target", "gate"), "pathways.ee.target",
     "has no dendrite"),
    ("dendrite input on a point neuron", lambda d: _set(d, "inputs.drive.compartment", "dendrite"),
     "inputs.drive.compartment", "has no dendrite"),
    ("gate target without kappa_mode state", lambda d: _del(d, "populations.pyr.params.kappa_mode"),
     "pathways.gate.target", "kappa_mode = 'state'"),
    ("zero delay with same-step detection", lambda d: _set(d, "pathways.ee.delay_steps", 0),
     "pathways.ee.delay_steps", "spike_detection = 'next_step'"),
    ("one_to_one between unequal sizes", lambda d: _set(d, "pathways.ep.connectivity.rule", "one_to_one"),
     "pathways.ep.connectivity.rule", "sizes differ"),
    ("pocket larger than the population", lambda d: _set(d, "pathways.gate.connectivity.pocket_size", 3),
     "pathways.gate.connectivity.pocket_size", "an integer <= 2"),
    ("no receptor", lambda d: _set(d, "pathways.ee.receptors", {}), "pathways.ee.receptors",
     "at least one receptor"),
    ("CURRENT mixed with conductances", lambda d: _set(d, "pathways.ee.receptors", {"CURRENT": 1.0, "AMPA": 1.0}),
     "pathways.ee.receptors", "CURRENT alone"),
    # inputs and recording
    ("stop equal to start", lambda d: _set(d, "inputs.drive.stop_ms", 10.0), "inputs.drive.stop_ms",
     "a time > start_ms (10.0)"),
    ("stop before start", lambda d: _set(d, "inputs.drive.stop_ms", 5.0), "inputs.drive.stop_ms",
     "a time > start_ms (10.0)"),
    ("start beyond the int64 step range", lambda d: _set(d, "inputs.bg.start_ms", 1e300), "inputs.bg.start_ms",
     "steps of dt_ms"),
    ("profile 'neurons' without neurons", lambda d: _set(d, "inputs.drive.profile", "neurons"),
     "inputs.drive.neurons", "a non-empty list"),
    ("input neuron out of range", lambda d: _set(_set(d, "inputs.drive.profile", "neurons"), "inputs.drive.neurons",
                                                 [3, 20]), "inputs.drive.neurons", "an index < 20"),
    ("trace neuron out of range", lambda d: _set(d, "recording.traces.exc.neurons", [0, 20]),
     "recording.traces.exc.neurons", "an index < 20"),
    ("negative trace neuron", lambda d: _set(d, "recording.traces.exc.neurons", [-1]),
     "recording.traces.exc.neurons[0]", "an integer >= 0"),
    ("trace interval below dt", lambda d: _set(d, "recording.traces.exc.interval_ms", 0.05),
     "recording.traces.exc.interval_ms", "a number >= dt_ms (0.1)"),
    ("zero trace interval", lambda d: _set(d, "recording.traces.exc.interval_ms", 0.0),
     "recording.traces.exc.interval_ms", "> 0.0"),
    ("modulator that is not a table", lambda d: _set(d, "modulators.na", 1.0), "modulators.na", "a table"),
    ("plasticity that is not a table", lambda d: _set(d, "plasticity.stdp", "pair"), "plasticity.stdp", "a table"),
]


@pytest.mark.parametrize("edit, path, expected", [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS])
def test_validation_error(edit, path, expected):
    data = edit(small_circuit())
    with pytest.raises(SpecError, match=re.escape(f"{path}: got ")) as e:
        from_dict(data, source="small.toml")
    assert e.value.path == path
    assert expected in e.value.expected, e.value.expected
    # message = "<source>: <path>: got <value!r>; expected <expected>"
    assert str(e.value) == f"small.toml: {path}: got {e.value.value!r}; expected {e.value.expected}"


def test_root_must_be_a_table():
    with pytest.raises(SpecError) as e:
        from_dict([1, 2])
    assert e.value.path == "<root>" and e.value.expected == "a table"


def test_spec_error_is_an_l5sim_value_error():
    assert issubclass(SpecError, L5SimError) and issubclass(SpecError, ValueError)


# --------------------------------------------------------------------------------------
# Property: garbage in -> SpecError (or a valid spec that builds), never another exception

#: Sizes small enough to build in a few ms (the build step of the property test).
REDUCED = {
    "izhikevich2003": {"populations.exc.n": 40, "populations.inh.n": 10},
    "izhikevich2006": {"populations.exc.n": 80, "populations.inh.n": 20, "pathways.ee.connectivity.outdegree": 8,
                       "pathways.ei.connectivity.outdegree": 2, "pathways.ie.connectivity.outdegree": 10},
    "l5_column": {"populations.pyr.n": 40, "populations.pv.n": 5, "populations.som.n": 5, "populations.th.n": 1,
                  "recording.traces.pyr.neurons": [0, 10]},
}
#: Build only when the dense pair count stays below this (a few ms per build).
MAX_BUILD_PAIRS = 100_000
MAX_BUILD_NEURONS = 2000


def _bases() -> dict:
    bases = {name: _parsed(name) for name in BUNDLED}
    for name, ov in REDUCED.items():
        if name in bases:
            bases[f"{name}_small"] = apply_overrides(bases[name], ov)
    bases["small"] = small_circuit()
    bases["rich"] = rich_circuit()
    return bases


BASES = _bases()


def _key_paths(node, prefix=()):
    """Every key path (tuple of keys / list indices) below ``node``."""
    out = []
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for k, v in items:
        out.append(prefix + (k,))
        out += _key_paths(v, prefix + (k,))
    return out


def _table_paths(node, prefix=()):
    out = [prefix] if isinstance(node, dict) else []
    if isinstance(node, dict):
        for k, v in node.items():
            out += _table_paths(v, prefix + (k,))
    return out


def _strings(node):
    if isinstance(node, str):
        return {node}
    if isinstance(node, dict):
        return set(node).union(*(_strings(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(_strings(v) for v in node))
    return set()


def _leaf_get(d, path):
    for k in path:
        d = d[k]
    return d


def _leaf_set(d, path, value):
    for k in path[:-1]:
        d = d[k]
    d[path[-1]] = value


def _leaf_del(d, path):
    for k in path[:-1]:
        d = d[k]
    del d[path[-1]]


SCALARS = st.one_of(
    st.none(), st.booleans(),
    # The Python API takes any int; beyond 2**1024 (no float) see test_integer_beyond_float_range.
    st.integers(-3, 3), st.integers(-2 ** 1000, 2 ** 1000),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([math.nan, math.inf, -math.inf, -1, -1.0, 0, 0.0, 1e308, -1e308, 5e-324, 2 ** 63, -2 ** 63 - 1]),
    st.text(max_size=10),
    st.dates(), st.times(),                                  # TOML has dates and times too
)
GARBAGE = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=6,
)


def _mutate(data, draw):
    """Apply one random mutation to ``data`` in place."""
    names = sorted(_strings(data))
    kind = draw(st.sampled_from(["replace", "numeric", "delete", "add", "nest", "rename_ref", "perturb", "perturb"]))
    keys = _key_paths(data)
    if kind == "add" or not keys:
        table = draw(st.sampled_from(_table_paths(data)))
        key = draw(st.one_of(st.text(max_size=10), st.sampled_from(names)))
        _leaf_get(data, table)[key] = draw(GARBAGE)
        return
    path = draw(st.sampled_from(keys))
    if kind == "delete":
        _leaf_del(data, path)
    elif kind == "replace":
        _leaf_set(data, path, draw(GARBAGE))
    elif kind == "numeric":
        old = _leaf_get(data, path)
        x = old if isinstance(old, (int, float)) and not isinstance(old, bool) else 1.0
        _leaf_set(data, path, draw(st.sampled_from([-x, 0 * x, x * 1e6, x / 1e6, x + 1, -abs(x) - 1,
                                                    math.nan, math.inf, -math.inf])))
    elif kind == "nest":
        old = _leaf_get(data, path)
        _leaf_set(data, path, draw(st.sampled_from([[old], {"x": old}, {str(path[-1]): old}, [old, old]])))
    elif kind == "perturb":  # a plausible edit (often valid): scale a number, flip a bool
        old = _leaf_get(data, path)
        if isinstance(old, bool):
            _leaf_set(data, path, not old)
        elif isinstance(old, (int, float)):
            factor = draw(st.sampled_from([0.5, 2.0, 10.0, 1e-3, 1e3]))
            _leaf_set(data, path, type(old)(old * factor))
        else:
            _leaf_set(data, path, draw(st.sampled_from(names)))
    else:  # rename_ref: put a name that exists elsewhere in the circuit (mostly valid references)
        _leaf_set(data, path, draw(st.sampled_from(names)))


@pytest.mark.parametrize("path", [
    "populations.exc.n", "circuit.dt_ms", "inputs.drive.amplitude_pA", "pathways.ee.connectivity.weight",
    "populations.exc.params.a_per_ms", "pathways.ep.receptors.NMDA", "populations.gen.spike_times_ms",
    "modulators.NA.tonic", "plasticity.stdp.A_plus",
])
def test_integer_beyond_float_range(path):
    """An integer too large for a float (possible from the Python API, not from TOML)."""
    data = rich_circuit()
    _set(data, path, [[10 ** 400]] if path.endswith("spike_times_ms") else 10 ** 400)
    with pytest.raises(SpecError) as e:
        from_dict(data)
    assert e.value.path.startswith(path)


def _dense_pairs(spec) -> int:
    pops = spec.populations
    return sum(pops[p.pre].n * pops[p.post].n for p in spec.pathways.values())


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mutated_circuits_raise_only_spec_errors(data):
    name = data.draw(st.sampled_from(sorted(BASES)), label="base")
    circuit = copy.deepcopy(BASES[name])
    for _ in range(data.draw(st.integers(1, 3), label="n_mutations")):
        _mutate(circuit, data.draw)
    try:
        spec = from_dict(circuit)
    except SpecError as e:
        assert isinstance(e.path, str)    # may be "" when the offending key is ""
        assert isinstance(e.expected, str) and e.expected
        return
    # A mutation that happened to be valid: the spec is complete and consistent.
    assert len(spec.hash) == 64
    again = from_dict(spec.to_dict())
    assert again == spec and again.hash == spec.hash
    n_neurons = sum(p.n for p in spec.populations.values())
    if n_neurons <= MAX_BUILD_NEURONS and _dense_pairs(spec) <= MAX_BUILD_PAIRS:
        try:
            built = l5sim.build(spec, seed=0)
        except L5SimError:
            return
        assert built.n_neurons == n_neurons


# --------------------------------------------------------------------------------------
# Content hash and round trip


@pytest.mark.parametrize("name", BUNDLED)
def test_hash_is_stable_and_round_trips(name):
    path = CIRCUITS_DIR / f"{name}.toml"
    a, b = load_circuit(path), load_circuit(path)
    assert a.hash == b.hash
    assert re.fullmatch(r"[0-9a-f]{64}", a.hash)
    again = from_dict(a.to_dict())
    assert again == a and again.hash == a.hash and again.to_dict() == a.to_dict()


def test_hash_ignores_key_order_and_comments():
    data = _parsed("whyte_ring")
    reordered = {k: data[k] for k in reversed(list(data))}
    reordered["populations"] = {k: dict(reversed(list(v.items()))) for k, v in data["populations"].items()}
    assert from_dict(reordered).hash == from_dict(data).hash
    text = (CIRCUITS_DIR / "whyte_ring.toml").read_text()
    stripped = "\n".join(line.split(" #")[0].rstrip() for line in text.splitlines() if not line.startswith("#"))
    assert from_dict(tomllib.loads(stripped)).hash == from_dict(data).hash


def test_hash_changes_when_a_value_changes():
    path = CIRCUITS_DIR / "l5_column.toml"
    base = load_circuit(path)
    assert load_circuit(path, overrides={"circuit.dt_ms": 0.1}).hash == base.hash   # same value, same hash
    for override in ({"populations.pyr.n": 401}, {"circuit.dt_ms": 0.05},
                     {"pathways.ee.connectivity.sigma": 0.51}, {"inputs.dend_drive.amplitude_pA": 551.0}):
        assert load_circuit(path, overrides=override).hash != base.hash, override
    hashes = {load_circuit(CIRCUITS_DIR / f"{n}.toml").hash for n in BUNDLED}
    assert len(hashes) == len(BUNDLED)


def test_to_dict_is_a_copy():
    spec = from_dict(small_circuit())
    d = spec.to_dict()
    d["populations"]["exc"]["n"] = 999
    assert spec.to_dict()["populations"]["exc"]["n"] == 20
    assert spec.populations["exc"].n == 20
