"""The bridge file: its schema, validation, reading and writing, and the optimizer's
parameters read from it."""
from __future__ import annotations

import json
import math
import os

from .._io import atomic_write
from ..errors import BridgeFileError

#: Version of the bridge-file schema this l5sim writes and the newest it reads.
SCHEMA_VERSION = 1
_SCHEMA_FILE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "schemas",
                            f"bridge-v{SCHEMA_VERSION}.schema.json")


def l5sim_version() -> str:
    """The version of this l5sim (``l5sim.__version__``)."""
    from .. import __version__

    return __version__


def schema() -> dict:
    """The bridge-file JSON schema (version :data:`SCHEMA_VERSION`)."""
    with open(_SCHEMA_FILE) as fh:
        return json.load(fh)


_TYPES = {"object": dict, "array": list, "string": str, "boolean": bool, "null": type(None)}


def _type_ok(v, t: str) -> bool:
    if t == "integer":
        return isinstance(v, int) and not isinstance(v, bool)
    if t == "number":
        return (isinstance(v, (int, float)) and not isinstance(v, bool)
                and math.isfinite(float(v)))
    return isinstance(v, _TYPES[t])


def _validate(v, s: dict, root: dict, path: str) -> None:
    """A small JSON-schema validator for the keywords the bridge schema uses."""
    if "$ref" in s:
        ref = s["$ref"]
        if not ref.startswith("#/$defs/"):
            raise BridgeFileError(f"schema: unsupported $ref {ref!r}")
        _validate(v, root["$defs"][ref[len("#/$defs/"):]], root, path)
    if "anyOf" in s:
        errs = []
        for sub in s["anyOf"]:
            try:
                _validate(v, sub, root, path)
                break
            except BridgeFileError as exc:
                errs.append(str(exc))
        else:
            raise BridgeFileError(f"{path}: matches none of the allowed forms ({'; '.join(errs)})")
    if "const" in s and v != s["const"]:
        raise BridgeFileError(f"{path}: got {v!r}; expected {s['const']!r}")
    if "enum" in s and v not in s["enum"]:
        raise BridgeFileError(f"{path}: got {v!r}; expected one of {s['enum']}")
    if "type" in s:
        types = s["type"] if isinstance(s["type"], list) else [s["type"]]
        if not any(_type_ok(v, t) for t in types):
            raise BridgeFileError(f"{path}: got {v!r} ({type(v).__name__}); expected "
                                  f"{' or '.join(types)}")
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        if "minimum" in s and v < s["minimum"]:
            raise BridgeFileError(f"{path}: got {v!r}; expected >= {s['minimum']}")
        if "exclusiveMinimum" in s and v <= s["exclusiveMinimum"]:
            raise BridgeFileError(f"{path}: got {v!r}; expected > {s['exclusiveMinimum']}")
    if isinstance(v, dict):
        for k in s.get("required", []):
            if k not in v:
                raise BridgeFileError(f"{path}: field {k!r} missing")
        props = s.get("properties", {})
        addl = s.get("additionalProperties", True)
        for k, item in v.items():
            if k in props:
                _validate(item, props[k], root, f"{path}.{k}")
            elif addl is False:
                raise BridgeFileError(f"{path}: unexpected field {k!r}; expected only "
                                      f"{sorted(props)}")
            elif isinstance(addl, dict):
                _validate(item, addl, root, f"{path}.{k}")
    if isinstance(v, list):
        if "minItems" in s and len(v) < s["minItems"]:
            raise BridgeFileError(f"{path}: {len(v)} items; expected at least {s['minItems']}")
        if "items" in s:
            for i, item in enumerate(v):
                _validate(item, s["items"], root, f"{path}[{i}]")


def validate_bridge(doc: dict) -> None:
    """Check a bridge document: format, version (not newer than this l5sim's) and schema.

    Raises
    ------
    BridgeFileError
        Naming the first offending field, its value and what was expected; or saying that the
        file was written by a newer schema version.
    """
    if not isinstance(doc, dict):
        raise BridgeFileError(f"bridge: got {type(doc).__name__}; expected a JSON object")
    if doc.get("format") != "l5sim-bridge":
        raise BridgeFileError(f"bridge.format: got {doc.get('format')!r}; expected 'l5sim-bridge'")
    ver = doc.get("schema_version")
    if not isinstance(ver, int) or isinstance(ver, bool):
        raise BridgeFileError(f"bridge.schema_version: got {ver!r}; expected an integer")
    if ver > SCHEMA_VERSION:
        raise BridgeFileError(f"bridge.schema_version: got {ver}, newer than the version this "
                              f"l5sim ({l5sim_version()}) reads ({SCHEMA_VERSION}); upgrade l5sim")
    sch = schema()
    _validate(doc, sch, sch, "bridge")


def write_bridge(doc: dict, path: str) -> None:
    """Validate ``doc`` and write it as JSON, atomically (:func:`l5sim._io.atomic_write`)."""
    validate_bridge(doc)
    text = json.dumps(doc, indent=1, allow_nan=False) + "\n"
    atomic_write(path, lambda fh: fh.write(text.encode("utf-8")))


def read_bridge(path) -> dict:
    """Read and validate a bridge file.

    Raises
    ------
    BridgeFileError
        If the file is missing, not JSON, invalid, or of a newer schema version.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise BridgeFileError(f"{path}: bridge file not found")
    with open(path) as fh:
        try:
            doc = json.load(fh)
        except json.JSONDecodeError as exc:
            raise BridgeFileError(f"{path}: not valid JSON ({exc})") from exc
    try:
        validate_bridge(doc)
    except BridgeFileError as exc:
        raise BridgeFileError(f"{path}: {exc}") from exc
    return doc


def optimizer_params(bridge, use_lr_coupling: bool = False) -> dict:
    """NGM-SGD keyword arguments from a bridge file.

    Parameters
    ----------
    bridge : str or os.PathLike or dict
        Path or parsed document (validated either way).
    use_lr_coupling : bool
        Include the learning-rate coupling (off by default; see :mod:`l5sim.bridge`, step 5).

    Returns
    -------
    dict
        ``gamma``, ``g0``, ``eta``, ``lr_coupling`` (0 unless ``use_lr_coupling``).
    """
    doc = bridge if isinstance(bridge, dict) else read_bridge(bridge)
    if isinstance(bridge, dict):
        validate_bridge(doc)
    o = doc["optimizer"]
    return {"gamma": float(o["gamma"]["value"]), "g0": float(o["g0"]["value"]),
            "eta": float(o["eta"]["value"]),
            "lr_coupling": float(o["lr_coupling"]["value"]) if use_lr_coupling else 0.0}
