"""Reading the simulator's output directories (``l5sim gain``, ``l5sim stdp``) for the bridge."""
from __future__ import annotations

import csv
import json
import os

import numpy as np

from ..errors import BridgeFileError

_METADATA_REQUIRED = ("seed", "circuit_hash", "l5sim_version", "dt_ms")


def read_table(path: str) -> tuple[dict, dict]:
    """Read a tidy CSV file into numpy columns.

    Lines starting with ``#`` before the header are metadata (``# key: value``). A column whose
    every value parses as a float becomes a float array; otherwise a str array.

    Parameters
    ----------
    path : str

    Returns
    -------
    columns : dict of str to numpy.ndarray
    meta : dict of str to str

    Raises
    ------
    BridgeFileError
        If the file is missing or has no header or no rows.
    """
    if not os.path.isfile(path):
        raise BridgeFileError(f"{path}: file not found")
    meta = {}
    with open(path, newline="") as fh:
        lines = [ln for ln in fh]
    body = []
    for ln in lines:
        s = ln.strip()
        if s.startswith("#"):
            if ":" in s:
                k, v = s[1:].split(":", 1)
                meta[k.strip()] = v.strip()
            continue
        if s:
            body.append(ln)
    rows = list(csv.reader(body))
    if len(rows) < 2:
        raise BridgeFileError(f"{path}: expected a header line and at least one data row")
    header, data = rows[0], rows[1:]
    cols = {}
    for j, name in enumerate(header):
        vals = [r[j] if j < len(r) else "" for r in data]
        try:
            cols[name] = np.array([float(v) for v in vals])
        except ValueError:
            cols[name] = np.array(vals, dtype=str)
    return cols, meta


def _check_renamed(cols, path: str, command: str) -> None:
    """One-line error for tables written before the burst columns were renamed (issue 17)."""
    from ..analysis import RENAMED, renamed_columns

    old = renamed_columns(cols)
    if old:
        raise BridgeFileError(f"{path}: column {old[0]!r} was renamed ({old[0]} -> {RENAMED[old[0]]}); "
                              f"regenerate it with `{command}` (scripts/make_bridge_from_simulator.sh)")


def _require(cols: dict, names, path: str):
    missing = [n for n in names if n not in cols]
    if missing:
        raise BridgeFileError(f"{path}: column(s) {missing} missing; expected columns {list(names)}")


def _read_output_table(out_dir: str, name: str, command: str, columns) -> dict:
    """The table ``name`` of the output directory of ``command``, with ``columns`` checked; a
    one-line error when the file is missing, a column lacks, or a column has an old name."""
    p = os.path.join(out_dir, name)
    if not os.path.isfile(p):
        raise BridgeFileError(f"{p}: {name} not found; expected the output directory of `{command}`")
    table, _ = read_table(p)
    _check_renamed(table, p, command)
    _require(table, columns, p)
    return table


def _read_metadata(d: str) -> dict:
    p = os.path.join(d, "metadata.json")
    if not os.path.isfile(p):
        raise BridgeFileError(f"{p}: file not found; expected metadata.json with "
                              f"{list(_METADATA_REQUIRED)}")
    with open(p) as fh:
        try:
            meta = json.load(fh)
        except json.JSONDecodeError as exc:
            raise BridgeFileError(f"{p}: not valid JSON ({exc})") from exc
    for k in _METADATA_REQUIRED:
        if k not in meta:
            raise BridgeFileError(f"{p}: field {k!r} missing; expected {list(_METADATA_REQUIRED)}")
    return meta


def _provenance(d: str, meta: dict) -> dict:
    seeds = meta["seed"] if isinstance(meta["seed"], list) else [meta["seed"]]
    out = {"dir": os.path.abspath(d), "circuit_hash": str(meta["circuit_hash"]),
           "seeds": [int(s) for s in seeds], "l5sim_version": str(meta["l5sim_version"]),
           "dt_ms": float(meta["dt_ms"])}
    return out


def read_gain_dir(gain_dir: str) -> dict:
    """Read an ``l5sim gain`` output directory.

    Parameters
    ----------
    gain_dir : str

    Returns
    -------
    dict
        ``table`` (gain.csv columns), ``pulse`` (None or ``{"time_ms", "gain_hz_per_pa",
        "pulse_amplitude"}``), ``metadata`` (metadata.json), ``provenance``.

    Raises
    ------
    BridgeFileError
        If gain.csv or metadata.json is missing or lacks a column or field.
    """
    table = _read_output_table(gain_dir, "gain.csv", "l5sim gain",
                               ("condition", "vary_key", "vary_value", "input_value", "rate_hz", "seed"))
    meta = _read_metadata(gain_dir)
    pulse = None
    pp = os.path.join(gain_dir, "pulse.csv")
    if os.path.isfile(pp):
        pt, pmeta = read_table(pp)
        _require(pt, ("time_ms", "gain_hz_per_pa"), pp)
        amp = meta.get("pulse_amplitude")
        if amp is None and "pulse_amplitude" in pt:
            amp = float(pt["pulse_amplitude"][0])
        if amp is None and "pulse_amplitude" in pmeta:
            amp = float(pmeta["pulse_amplitude"])
        pulse = {"time_ms": pt["time_ms"], "gain_hz_per_pa": pt["gain_hz_per_pa"],
                 "pulse_amplitude": None if amp is None else float(amp)}
    return {"table": table, "pulse": pulse, "metadata": meta,
            "provenance": _provenance(gain_dir, meta)}


def read_stdp_dir(stdp_dir: str) -> dict:
    """Read an ``l5sim stdp`` output directory (``stdp.csv`` and ``metadata.json``).

    Returns
    -------
    dict
        ``table``, ``metadata``, ``provenance``.
    """
    table = _read_output_table(stdp_dir, "stdp.csv", "l5sim stdp",
                               ("condition", "burst_reset_fraction", "modulator_level", "seed", "dw_per_s"))
    meta = _read_metadata(stdp_dir)
    return {"table": table, "metadata": meta, "provenance": _provenance(stdp_dir, meta)}
