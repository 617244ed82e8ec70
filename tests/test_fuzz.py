"""Fuzzing every input l5sim reads: circuit values, ``--set`` strings, grid and vary specs,
paths and file contents (binary, empty, deeply nested, random TOML).

The property, for every input: it either works (validates, builds and runs a few steps) or
fails with l5sim's own error (:class:`l5sim.errors.L5SimError`, one line), never with
another exception, a hang or a crash. The default run tries a few hundred inputs (about
10 s); ``-m slow`` runs the ``slow`` profile with thousands. Each test prints how many inputs
it tried, how many worked and how many were refused.
"""
from __future__ import annotations

import copy
import math
import warnings
from pathlib import Path

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import l5sim  # noqa: E402
from l5sim import sizing  # noqa: E402
from l5sim._io import check_dir, check_file  # noqa: E402
from l5sim.cli import check_paths, describe_error  # noqa: E402
from l5sim.cli.common import parse_sets  # noqa: E402
from l5sim.errors import L5SimError  # noqa: E402
from l5sim.experiments import parse_grid  # noqa: E402
from l5sim.spec import apply_overrides, from_dict, load_circuit  # noqa: E402

#: Examples per fuzz test: the default run (seven tests, a few hundred inputs in all) and
#: the slow profile (thousands).
EXAMPLES = {"default": 60, "slow": 1500}
PROFILES = ["default", pytest.param("slow", marks=pytest.mark.slow)]

#: A small circuit using every model, target, receptor and input kind, valid as it is.
BASE = {
    "circuit": {"name": "fuzz", "dt_ms": 0.1},
    "populations": {
        "pyr": {"model": "l5_pyramidal", "n": 3, "params": {"kappa_mode": "state", "kappa": 0.3}},
        "pv": {"model": "izhikevich2007", "n": 2, "preset": "BASKET"},
        "som": {"model": "izhikevich2007", "n": 2, "preset": "LTS"},
        "th": {"model": "poisson", "n": 2, "rate_hz": 20.0},
    },
    "pathways": {
        "ee": {"pre": "pyr", "post": "pyr", "receptors": {"AMPA": 1.0, "NMDA": 0.2},
               "connectivity": {"rule": "fixed_prob", "p": 0.5, "weight": 1.0}, "delay_steps": 2},
        "pv_pyr": {"pre": "pv", "post": "pyr", "receptors": {"GABA_A": 1.0},
                   "connectivity": {"rule": "all_to_all", "weight": 2.0}},
        "som_pyr": {"pre": "som", "post": "pyr", "target": "dendrite", "receptors": {"GABA_A": 1.0},
                    "connectivity": {"rule": "gaussian_prob", "p0": 0.8, "sigma": 1.0, "weight": 1.0}},
        "th_gate": {"pre": "th", "post": "pyr", "target": "gate",
                    "connectivity": {"rule": "pocket", "pocket_size": 1, "weight": 0.5}},
    },
    "inputs": {
        "step": {"kind": "current", "population": "pyr", "amplitude_pA": 700.0, "start_ms": 1.0},
        "noise": {"kind": "noise", "population": "pv", "sigma_pA_sqrt_ms": 20.0},
        "bg": {"kind": "poisson", "population": "som", "rate_hz": 500.0, "weight": 1.0},
    },
    "recording": {"traces": {"pyr": {"neurons": [0], "variables": ["v", "vd"], "interval_ms": 0.5}}},
}


def _leaves(d, prefix=""):
    out = []
    for k, v in d.items():
        path = f"{prefix}.{k}" if prefix else k
        if isinstance(v, dict):
            out.append(path)
            out.extend(_leaves(v, path))
        else:
            out.append(path)
    return out


LEAVES = _leaves(BASE)


def _get(d, path):
    for p in path.split("."):
        d = d[p]
    return d


_numbers = st.one_of(
    st.integers(), st.integers(min_value=-3, max_value=3),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, 1e-300, 1e300, -1.0, 0.5, 1.0, 2.0, 1e6, 1e9, 1e12, 2 ** 63, -(2 ** 63) - 1]),
)
_scalars = st.one_of(_numbers, st.booleans(), st.text(max_size=12),
                     st.sampled_from(["soma", "dendrite", "gate", "AMPA", "pyr", "poisson", "fixed_prob", ""]))


def _nested(depth):
    x = 1
    for _ in range(depth):
        x = [x]
    return x


_values = st.one_of(
    _scalars,
    st.lists(_scalars, max_size=4),
    st.dictionaries(st.text(max_size=6), _scalars, max_size=3),
    st.integers(min_value=1, max_value=3000).map(_nested),
)


class Tally:
    """Counts inputs tried, accepted and refused; reported at the end of each test."""

    def __init__(self, name):
        self.name, self.tried, self.ok, self.refused = name, 0, 0, 0

    def __call__(self, fn, *args):
        self.tried += 1
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fn(*args)
            self.ok += 1
        except L5SimError as e:
            msg = str(e)
            assert msg and "\n" not in describe_error(e), msg
            self.refused += 1

    def report(self, request):
        line = (f"fuzz {self.name}: {self.tried} inputs tried, {self.ok} worked, {self.refused} refused with "
                "an l5sim error, 0 other exceptions")
        capman = request.config.pluginmanager.getplugin("capturemanager")
        if capman is not None:              # past pytest's capture, so that the count is always shown
            with capman.global_and_fixture_disabled():
                print(f"\n{line}")
        else:  # pragma: no cover
            print(line)
        assert self.tried > 0


def _fuzz(strategy, check, profile, name, request):
    tally = Tally(name)

    @settings(max_examples=EXAMPLES[profile], deadline=None, database=None, derandomize=profile == "default",
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def run(x):
        tally(check, x)

    run()
    tally.report(request)


def _set_path(data, path, value):
    node = data
    parts = path.split(".")
    for p in parts[:-1]:
        node = node.setdefault(p, {}) if isinstance(node.get(p, {}), dict) else {}
    node[parts[-1]] = value
    return data


def _exercise(spec):
    """Build and run a validated spec for a few steps when it is small enough to be quick."""
    if sizing.estimate_build(spec).bytes > 20e6 or sum(p.n for p in spec.populations.values()) > 2000:
        return
    built = l5sim.build(spec, 0)
    rec = l5sim.simulate(built, 2.0)
    assert rec.metadata["duration_ms"] == 2.0


def _check_circuit(change):
    path, value = change
    data = _set_path(copy.deepcopy(BASE), path, value)
    spec = from_dict(data)
    _exercise(spec)


@pytest.mark.parametrize("profile", PROFILES)
def test_fuzz_circuit_values(profile, request):
    paths = st.one_of(st.sampled_from(LEAVES), st.sampled_from(LEAVES).map(lambda p: p + ".extra"))
    _fuzz(st.tuples(paths, _values), _check_circuit, profile, "circuit values", request)


def test_fuzz_base_circuit_is_valid_and_runs():
    """The fuzzed circuit itself must work, or every fuzz case would be a refusal."""
    _exercise(from_dict(copy.deepcopy(BASE)))


SCALAR_LEAVES = [p for p in LEAVES if not isinstance(_get(BASE, p), dict)]

_set_text = st.one_of(
    st.text(max_size=40),
    st.tuples(st.sampled_from(SCALAR_LEAVES), st.one_of(_numbers.map(repr), st.sampled_from(
        ["0", "1", "2", "0.5", "-1", "10", "1e3", "true", "false", '"soma"', '"dendrite"', "[0]", "[0, 1]"])))
    .map(lambda kv: f"{kv[0]}={kv[1]}"),
    st.tuples(st.sampled_from(LEAVES + ["", ".", "a..b", "populations.pyr.n.x"]),
              st.one_of(st.text(max_size=20), st.sampled_from(["[", "]", "{", "}", "1e999", "nan", "inf", "-4",
                                                               "[[[[1]]]]", '"x"', "{a = 1}", "true", "1_000",
                                                               "0x10", "1979-05-27", "=", "\x00"]),
                        st.integers(min_value=1, max_value=3000).map(lambda d: "[" * d + "]" * d)))
    .map(lambda kv: f"{kv[0]}={kv[1]}"),
)


def _check_set(items):
    over = parse_sets(items)
    spec = from_dict(apply_overrides(copy.deepcopy(BASE), over))
    _exercise(spec)


@pytest.mark.parametrize("profile", PROFILES)
def test_fuzz_set_strings(profile, request):
    _fuzz(st.lists(_set_text, min_size=1, max_size=3), _check_set, profile, "--set strings", request)


_grid_text = st.one_of(
    st.text(max_size=30),
    st.tuples(st.sampled_from(["inputs.step.amplitude_pA", "populations.pyr.n", "x", "", "a..b",
                               "pathways.ee.connectivity.p"]),
              st.one_of(st.text(max_size=20),
                        st.tuples(_numbers, _numbers, st.integers(min_value=-5, max_value=10 ** 9))
                        .map(lambda t: f"{t[0]}:{t[1]}:{t[2]}"),
                        st.lists(_numbers, min_size=0, max_size=5).map(lambda xs: ",".join(map(str, xs)))))
    .map(lambda kv: f"{kv[0]}={kv[1]}"),
)


@pytest.mark.parametrize("profile", PROFILES)
def test_fuzz_vary_specs(profile, request):
    def check(text):
        key, values = parse_grid(text, "--vary")
        assert isinstance(key, str) and len(values) >= 1

    _fuzz(_grid_text, check, profile, "vary specs", request)


@pytest.fixture(scope="module")
def base_file(tmp_path_factory):
    import json

    d = tmp_path_factory.mktemp("fuzz")
    f = d / "base.toml"
    lines = []

    def emit(table, prefix):
        scalars = {k: v for k, v in table.items() if not isinstance(v, dict)}
        subs = {k: v for k, v in table.items() if isinstance(v, dict)}
        if prefix and scalars:
            lines.append(f"[{prefix}]")
        for k, v in scalars.items():
            lines.append(f"{k} = {json.dumps(v)}")
        for k, v in subs.items():
            emit(v, f"{prefix}.{k}" if prefix else k)

    emit(BASE, "")
    f.write_text("\n".join(lines) + "\n")
    assert load_circuit(f).circuit.name == "fuzz"
    return f


@pytest.mark.parametrize("profile", PROFILES)
def test_fuzz_sweep_grids(profile, request, base_file):
    from l5sim.sweep import plan_sweep

    def check(args):
        grid, seeds = args
        plan = plan_sweep(base_file, grid, seeds, 5.0)
        assert len(plan.runs) == plan.n_points * len(plan.seeds)

    _fuzz(st.tuples(st.lists(_grid_text, max_size=3),
                    st.one_of(st.integers(min_value=-2, max_value=4), st.lists(st.integers(-2, 5), max_size=3))),
          check, profile, "sweep grids", request)


_path_text = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["", " ", "/proc/x", "/proc", "/sys/kernel/x", "/dev/null", "FILE", "FILE/sub", "DIR",
                     "DIR/new/deeper", "a\x00b", "x" * 300, "/" + "y" * 5000, "~", ".", "..", "/"]),
)


@pytest.mark.parametrize("profile", PROFILES)
def test_fuzz_paths(profile, request, tmp_path):
    (tmp_path / "FILE").write_text("x")
    (tmp_path / "DIR").mkdir()

    def check(args):
        text, kind = args
        p = str(tmp_path / text) if text.startswith(("FILE", "DIR")) else text
        if kind == "dir":
            check_dir(p, "--out")
        elif kind == "file":
            check_file(p, "--out")
        else:
            import argparse

            check_paths(argparse.Namespace(command="run", out=str(tmp_path / "DIR"), wiring_cache=p))

    _fuzz(st.tuples(_path_text, st.sampled_from(["dir", "file", "cache"])), check, profile, "paths", request)


_contents = st.one_of(
    st.binary(max_size=200),
    st.just(b""),
    st.text(max_size=200).map(str.encode),
    st.integers(min_value=1, max_value=5000).map(lambda d: ("x = " + "[" * d + "]" * d + "\n").encode()),
    st.integers(min_value=1, max_value=3000).map(lambda d: ("x = " + "{a = " * d + "1" + "}" * d + "\n").encode()),
    st.integers(min_value=1, max_value=200).map(lambda d: "\n".join(f"[{'.'.join(['t'] * k)}]"
                                                                     for k in range(1, d + 1)).encode()),
    st.sampled_from([b"\xff\xfe\x00\x00", b"\xef\xbb\xbf[circuit]\nname='x'\n", b"[circuit]\nname = 1\n",
                     b"[circuit]\nname='x'\n[populations.p]\nmodel='poisson'\nn=1\n"]),
)


@pytest.mark.parametrize("profile", PROFILES)
def test_fuzz_file_contents(profile, request, tmp_path):
    f = tmp_path / "c.toml"

    def check(content):
        f.write_bytes(content)
        spec = load_circuit(f)
        _exercise(spec)

    _fuzz(_contents, check, profile, "file contents", request)


def test_fuzz_found_cases_stay_fixed(tmp_path):
    """Inputs the issue and the fuzzer found, kept as plain cases: each is refused with an
    l5sim error."""
    f = tmp_path / "c.toml"
    for content in (bytes(range(256)), ("x = " + "[" * 3000 + "]" * 3000).encode(), b"\xff\xfe"):
        f.write_bytes(content)
        with pytest.raises(L5SimError):
            load_circuit(f)
    for bad in ("a\x00b", "/" + "y" * 5000):
        with pytest.raises(L5SimError):
            check_dir(bad)
    assert math.isfinite(sizing.estimate_build(from_dict(copy.deepcopy(BASE))).bytes)
    assert Path(check_dir(tmp_path / "ok")).name == "ok"
