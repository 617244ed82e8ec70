"""TOML text and dotted-path overrides: parsing, nesting limits, applying ``--set`` values."""
from __future__ import annotations

import copy
import sys
from types import MappingProxyType
from typing import Any, Mapping

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from ..errors import SpecError

#: Deepest nesting of tables and arrays accepted in a circuit or an override (the bundled
#: circuits nest 4 deep: populations.NAME.spike_times_ms[i][j]); deeper data would exhaust
#: Python's recursion limit in the TOML parser or in copying.
MAX_DEPTH = 32


def parse_toml(text: str, path: str, what: str) -> dict:
    """The tables of TOML ``text``; :class:`SpecError` at ``path`` naming ``what`` when the
    text is not TOML or nests deeper than Python's parser can follow."""
    try:
        return tomllib.loads(text)
    except RecursionError:
        raise SpecError(path, what, f"TOML nested at most {MAX_DEPTH} tables or arrays deep") from None
    except tomllib.TOMLDecodeError as e:
        raise SpecError(path, what, f"valid TOML ({e})") from None


def check_depth(data, path: str = "<root>", limit: int = MAX_DEPTH) -> None:
    """Raise :class:`SpecError` when ``data`` (dicts and lists) nests deeper than ``limit``
    (checked without recursion, so any depth is safe to check; key paths are formed only for
    the error)."""
    stack = [(data, 0, None)]          # (value, depth, (parent entry, key)) -- a linked path
    while stack:
        entry = stack.pop()
        x, d, _ = entry
        if isinstance(x, (dict, MappingProxyType)):
            children = x.items()
        elif isinstance(x, (list, tuple)):
            children = enumerate(x)
        else:
            continue
        if d >= limit:
            parts = []
            e = entry
            while e[2] is not None:
                e, k = e[2]
                parts.append(f"[{k}]" if isinstance(k, int) else f".{k}")
            where = ("" if path == "<root>" else path) + "".join(reversed(parts))
            where = where.lstrip(".") or path
            where = where if len(where) <= 60 else where[:57] + "..."
            raise SpecError(where, "<nested data>", f"tables or arrays nested at most {limit} deep")
        stack.extend((v, d + 1, (entry, k)) for k, v in children if isinstance(v, (dict, list, tuple,
                                                                                    MappingProxyType)))


def parse_value(text: str):
    """Parse an override's value as a TOML value (number, bool, string, list, inline table);
    anything that is not valid TOML is taken as a plain string."""
    try:
        return tomllib.loads(f"x = {text}")["x"]
    except tomllib.TOMLDecodeError:
        return text


def apply_overrides(data: dict, overrides: Mapping[str, Any]) -> dict:
    """Apply ``{"dotted.key.path": value}`` overrides to nested dicts (in a copy).

    String values are parsed as TOML values (``"1.5"`` -> 1.5). Intermediate tables are
    created when missing; validation of the result happens in :func:`from_dict`.
    """
    data = copy.deepcopy(data)
    for key, value in overrides.items():
        if not isinstance(key, str) or not key or any(not part for part in key.split(".")):
            raise SpecError(str(key), value, "a dotted key path such as populations.pyr.n")
        if isinstance(value, str):
            try:
                value = parse_value(value)
            except RecursionError:
                raise SpecError(key, value[:40] + ("..." if len(value) > 40 else ""),
                                f"a TOML value nested at most {MAX_DEPTH} deep") from None
        check_depth(value, key, MAX_DEPTH - len(key.split(".")))
        parts = key.split(".")
        node = data
        for i, part in enumerate(parts[:-1]):
            nxt = node.get(part)
            if nxt is None:
                nxt = node[part] = {}
            if not isinstance(nxt, dict):
                raise SpecError(".".join(parts[: i + 1]), nxt, f"a table (to set {key})")
            node = nxt
        node[parts[-1]] = value
    return data
