"""A whole circuit: the ``[circuit]`` and ``[space]`` tables, :class:`CircuitSpec`, and the
loaders that validate a TOML file or nested dicts into it."""
from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

from ..errors import SpecError
from ..models.synapses import RECEPTORS, ReceptorParams
from .checks import cross_check
from .fields import from_table, named_tables, setting
from .inputs import InputSpec
from .overrides import apply_overrides, check_depth, parse_toml
from .pathways import PathwaySpec, ReceptorSpec
from .populations import PopulationSpec
from .recording import RecordingSpec

@dataclass(frozen=True)
class CircuitMeta:
    """The ``[circuit]`` table."""

    name: str = setting(doc="circuit name")
    dt_ms: float = setting(0.1, gt=0.0, le=10.0, doc="integration step (ms)")
    description: str = setting("", doc="free text")
    source: str = setting("", doc="citation of the circuit")
    scale: float = setting(1.0, gt=0.0, le=1e6,
                           doc="multiplies the size n of every population (neuron and poisson; generator "
                               "populations keep theirs), rounded to the nearest integer and at least 1; "
                               "with n_ref and pocket_fraction in the pathways it grows or shrinks a circuit "
                               "at fixed expected in-degrees (see ConnectivitySpec)")


@dataclass(frozen=True)
class Space:
    """The ``[space]`` table: where populations sit (science.md section 4).

    ``geometry = "ring"``: each population evenly spaced on a circle of ``radius``;
    ``angles = "even"`` places neuron i at 2 pi i / n, ``"closed"`` reproduces LVPA's
    ``linspace(0, 2 pi, n)`` (first and last coincide). ``distance`` is ``arc`` (along the
    circle, default) or ``chord`` (LVPA). ``geometry = "sheet"``: uniform random positions
    in a periodic square of side ``size``, distances with periodic wrap.
    """

    geometry: str = setting("ring", choices=("ring", "sheet"))
    angles: str = setting("even", choices=("even", "closed"))
    distance: str = setting("arc", choices=("arc", "chord"))
    radius: float = setting(1.0, gt=0.0, doc="ring radius (arbitrary length unit)")
    size: float = setting(1.0, gt=0.0, doc="side of the periodic sheet")
    source: str = setting("")


@dataclass(frozen=True)
class CircuitSpec:
    """A validated circuit. Build it with :func:`l5sim.build`."""

    circuit: CircuitMeta
    space: Space
    receptors: Mapping[str, ReceptorParams]
    populations: Mapping[str, PopulationSpec]
    pathways: Mapping[str, PathwaySpec]
    inputs: Mapping[str, InputSpec]
    recording: RecordingSpec
    plasticity: Mapping[str, Any]
    modulators: Mapping[str, Any]
    raw: Mapping[str, Any] = field(repr=False, compare=False)
    path: str | None = field(default=None, repr=False, compare=False)

    @property
    def dt_ms(self) -> float:
        return self.circuit.dt_ms

    def __hash__(self) -> int:
        return hash(self.hash)

    def __eq__(self, other) -> bool:
        return isinstance(other, CircuitSpec) and other.hash == self.hash

    @property
    def hash(self) -> str:
        """sha256 of the circuit's content after overrides: its canonical JSON (key order
        and comments do not matter) plus the order of its named tables (populations,
        pathways, inputs, rules, modulators), which sets neuron indices and summation order
        and so can change a run."""
        raw = _thaw(self.raw)
        order = {k: list(raw.get(k, {})) for k in ("populations", "pathways", "inputs", "plasticity", "modulators")}
        return hashlib.sha256(_canonical_json({"content": raw, "order": order}).encode()).hexdigest()

    def to_dict(self) -> dict:
        """The circuit as plain data (what was loaded, overrides applied)."""
        return _thaw(self.raw)

    def with_overrides(self, overrides: Mapping[str, Any] | None = None) -> "CircuitSpec":
        """A new validated spec with dotted-path overrides applied."""
        return from_dict(apply_overrides(self.to_dict(), overrides or {}), source=self.path)


def _thaw(x):
    if isinstance(x, (dict, MappingProxyType)):
        return {k: _thaw(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_thaw(v) for v in x]
    return x


def _freeze(x):
    if isinstance(x, dict):
        return MappingProxyType({k: _freeze(v) for k, v in x.items()})
    if isinstance(x, list):
        return tuple(_freeze(v) for v in x)
    return x


def _canonical_json(data) -> str:
    def default(o):
        raise TypeError(type(o))
    return json.dumps(data, sort_keys=True, separators=(",", ":"), allow_nan=True, default=default)


TOP_KEYS = ("circuit", "space", "receptors", "populations", "pathways", "inputs", "recording",
            "plasticity", "modulators")


def from_dict(data: Mapping[str, Any], source: str | None = None) -> CircuitSpec:
    """Validate a circuit given as nested dicts (the parsed TOML)."""
    try:
        return _from_dict_inner(data, source)
    except SpecError as e:
        if source and e.source is None:
            raise SpecError(e.path, e.value, e.expected, source) from None
        raise


def _from_dict_inner(data, source):
    if not isinstance(data, dict):
        raise SpecError("<root>", data, "a table")
    check_depth(data)
    data = copy.deepcopy(dict(data))
    for key in data:
        if key not in TOP_KEYS:
            raise SpecError(key, data[key], f"no such top-level table; allowed: {list(TOP_KEYS)}")
    if "circuit" not in data:
        raise SpecError("circuit", "<missing>", "a [circuit] table with at least name")
    meta = from_table(CircuitMeta, data["circuit"], "circuit")
    space = from_table(Space, data.get("space", {}), "space")
    rec_over = data.get("receptors", {})
    if not isinstance(rec_over, dict):
        raise SpecError("receptors", rec_over, "a table of receptor tables")
    receptors = dict(RECEPTORS)
    for name, table in rec_over.items():
        if name not in RECEPTORS:
            raise SpecError(f"receptors.{name}", table, f"one of {sorted(RECEPTORS)}")
        base = dataclasses.asdict(RECEPTORS[name])
        if not isinstance(table, dict):
            raise SpecError(f"receptors.{name}", table, "a table")
        base.update(table)
        r = from_table(ReceptorSpec, base, f"receptors.{name}")
        receptors[name] = ReceptorParams(r.tau_ms, r.E_mV, r.mg_block, r.source)
    if "populations" not in data or not data["populations"]:
        raise SpecError("populations", data.get("populations", "<missing>"), "at least one population")
    pops = named_tables(PopulationSpec, _scaled_populations(data["populations"], meta.scale),
                        "populations")
    paths = named_tables(PathwaySpec, data.get("pathways", {}), "pathways")
    inputs = named_tables(InputSpec, data.get("inputs", {}), "inputs")
    recording = from_table(RecordingSpec, data.get("recording", {}), "recording")
    plasticity = data.get("plasticity", {})
    modulators = data.get("modulators", {})
    for k, v in (("plasticity", plasticity), ("modulators", modulators)):
        if not isinstance(v, dict):
            raise SpecError(k, v, "a table of named tables")
        for name, table in v.items():
            if not isinstance(table, dict):
                raise SpecError(f"{k}.{name}", table, "a table")
    cross_check(meta, pops, paths, inputs, recording, plasticity)
    spec = CircuitSpec(meta, space, MappingProxyType(receptors), pops, paths, inputs, recording,
                       _freeze(plasticity), _freeze(modulators), _freeze(data), source)
    # Sections owned by later modules validate themselves here (no upward import at load).
    from .. import neuromodulation as _nm, plasticity as _pl  # noqa: E401  (same layer)
    object.__setattr__(spec, "plasticity", _pl.validate(plasticity, spec))
    object.__setattr__(spec, "modulators", _nm.validate(modulators, spec))
    return spec


def _scaled_populations(tables, scale: float):
    """The population tables with every integer ``n`` multiplied by ``circuit.scale``
    (rounded half up, at least 1), generators excepted. A copy: the spec's raw data keep
    the unscaled sizes and the scale, so overrides and the hash see what was written."""
    if scale == 1.0 or not isinstance(tables, dict):
        return tables
    out = {}
    for name, table in tables.items():
        if isinstance(table, dict) and table.get("model") != "generator":
            n = table.get("n")
            if isinstance(n, int) and not isinstance(n, bool):
                table = dict(table, n=max(1, int(math.floor(n * scale + 0.5))))
        out[name] = table
    return out


#: Largest circuit file read (bytes); generator spike-time lists are the only large content.
MAX_FILE_BYTES = 64 * 2 ** 20


def load_circuit(path: str | Path, overrides: Mapping[str, Any] | None = None) -> CircuitSpec:
    """Read and validate a circuit TOML file, optionally with dotted-path overrides.

    Parameters
    ----------
    path : path to a ``.toml`` circuit file.
    overrides : ``{"populations.pyr.n": 200, ...}``; string values are parsed as TOML.

    Raises
    ------
    SpecError : naming the key path, the bad value and what was expected.
    """
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_FILE_BYTES + 1)
    except OSError as e:
        raise SpecError("<file>", str(path), f"a readable circuit file ({e.strerror or e})") from None
    if len(raw) > MAX_FILE_BYTES:
        raise SpecError("<file>", str(path), f"a circuit file of at most {MAX_FILE_BYTES // 2 ** 20} MiB")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise SpecError("<file>", str(path), f"a UTF-8 text file (TOML); byte {raw[e.start]:#04x} at offset "
                                             f"{e.start} is not UTF-8: is this a binary file?") from None
    data = parse_toml(text, "<file>", str(path))
    check_depth(data)
    if overrides:
        data = apply_overrides(data, overrides)
    return from_dict(data, source=str(path))
