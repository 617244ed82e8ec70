"""Validation machinery of the spec records: constraints live in dataclass field metadata.

:func:`setting` declares a field of a spec record with its default, its bounds, its
allowed values and its doc; :func:`from_table` builds a record from a TOML table, checking
every key with :func:`coerce` and then calling the record's own ``_check(path)`` hook (the
checks that involve several of its fields). Every failure is a :class:`l5sim.errors.SpecError`
naming the dotted key path, the bad value and what was expected.
"""
from __future__ import annotations

import collections.abc
import dataclasses
import functools
import math
import types
import typing
from dataclasses import field
from types import MappingProxyType
from typing import Any, Mapping

from ..errors import SpecError


def setting(default=dataclasses.MISSING, *, doc="", ge=None, gt=None, le=None, lt=None,
            choices=None, allow_inf=False, factory=None):
    """A field of a spec record: its default (or ``factory``; neither: the key is required),
    the bounds ``ge``, ``gt``, ``le``, ``lt``, the allowed ``choices``, whether infinity is
    allowed, and its ``doc`` (shown in errors and in the schema of the docs site)."""
    md = dict(doc=doc, ge=ge, gt=gt, le=le, lt=lt, choices=choices, allow_inf=allow_inf)
    if factory is not None:
        return field(default_factory=factory, metadata=md)
    return field(default=default, metadata=md)


def describe_bounds(md) -> str:
    """The bounds of a field's metadata in words: ``"> 0.0 and <= 10.0"`` (empty when unbounded)."""
    parts = []
    for key, sym in (("gt", ">"), ("ge", ">="), ("lt", "<"), ("le", "<=")):
        if md.get(key) is not None:
            parts.append(f"{sym} {md[key]}")
    return " and ".join(parts)


def _a(noun: str) -> str:
    """``noun`` with its indefinite article ("a number", "an integer")."""
    return f"{'an' if noun[:1] in 'aeiou' else 'a'} {noun}"


def _check_number(value, md, path, kind):
    if isinstance(value, int) and not -2 ** 63 <= value < 2 ** 63:   # TOML integers are 64-bit
        raise SpecError(path, value, "a value within the 64-bit integer range")
    if not md.get("allow_inf") and not math.isfinite(value):
        raise SpecError(path, value, f"a finite {kind}")
    if math.isnan(value):
        raise SpecError(path, value, f"{_a(kind)}, not NaN")
    for key, ok in (("gt", lambda x, b: x > b), ("ge", lambda x, b: x >= b),
                    ("lt", lambda x, b: x < b), ("le", lambda x, b: x <= b)):
        bound = md.get(key)
        if bound is not None and not ok(value, bound):
            raise SpecError(path, value, f"{_a(kind)} {describe_bounds(md)}")
    return value


def coerce(value, tp, md, path):
    """Check ``value`` against type ``tp`` and constraints ``md``; return the clean value."""
    origin = typing.get_origin(tp)
    if origin is typing.Union or origin is types.UnionType:
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if value is None:
            return None
        return coerce(value, args[0], md, path)
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            bounds = describe_bounds(md)
            raise SpecError(path, value, f"a number {bounds}" if bounds else "a number")
        return float(_check_number(value, md, path, "number"))
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer() and math.isfinite(value):
                value = int(value)
            else:
                bounds = describe_bounds(md)
                raise SpecError(path, value, f"an integer {bounds}" if bounds else "an integer")
        return int(_check_number(value, md, path, "integer"))
    if tp is bool:
        if not isinstance(value, bool):
            raise SpecError(path, value, "true or false")
        return value
    if tp is str:
        if not isinstance(value, str):
            raise SpecError(path, value, "a string" + (f", one of {list(md['choices'])}" if md.get("choices") else ""))
        if md.get("choices") is not None and value not in md["choices"]:
            raise SpecError(path, value, f"one of {list(md['choices'])}")
        return value
    if origin is tuple:
        (inner,) = [a for a in typing.get_args(tp) if a is not Ellipsis]
        if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
            raise SpecError(path, value, f"a list of {getattr(inner, '__name__', inner)}")
        return tuple(coerce(v, inner, md, f"{path}[{i}]") for i, v in enumerate(value))
    if tp is Any:
        return value
    if origin in (dict, Mapping, typing.Mapping, collections.abc.Mapping) or tp is dict:
        kt, vt = typing.get_args(tp) or (str, Any)
        if not isinstance(value, dict):
            raise SpecError(path, value, "a table")
        out = {}
        for k, v in value.items():
            if md.get("choices") is not None and k not in md["choices"]:
                raise SpecError(f"{path}.{k}", v, f"a key among {list(md['choices'])}")
            out[k] = coerce(v, vt, {k2: v2 for k2, v2 in md.items() if k2 != "choices"}, f"{path}.{k}")
        return MappingProxyType(out)
    if dataclasses.is_dataclass(tp):
        return from_table(tp, value, path)
    raise TypeError(f"unsupported spec type {tp!r} at {path}")  # programming error


@functools.lru_cache(maxsize=None)
def _fields_of(cls):
    """Type hints and init fields of a spec dataclass (resolved once per class)."""
    return typing.get_type_hints(cls), {f.name: f for f in dataclasses.fields(cls) if f.init}


def from_table(cls, data, path):
    """Build spec record ``cls`` from the TOML table ``data`` found at key path ``path``.

    Every key is checked (unknown keys and missing required ones too); then the record's
    ``_check(path)`` method, where it has one, checks what involves several of its fields.
    """
    if not isinstance(data, dict):
        raise SpecError(path or "<root>", data, f"a table of {cls.__name__} fields")
    hints, flds = _fields_of(cls)
    for key in data:
        if key not in flds:
            raise SpecError(f"{path}.{key}" if path else key, data[key],
                            f"no such key; allowed keys: {sorted(flds)}")
    kwargs = {}
    for name, f in flds.items():
        sub = f"{path}.{name}" if path else name
        if name in data:
            kwargs[name] = coerce(data[name], hints[name], f.metadata, sub)
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise SpecError(sub, "<missing>", f"a value: this key is required ({f.metadata.get('doc', '')})")
    obj = cls(**kwargs)
    check = getattr(obj, "_check", None)
    if check is not None:
        check(path)
    return obj


def named_tables(cls, data, path):
    """A read-only ``{name: record}`` of ``cls`` records from a table of named tables
    (``[pathways.NAME]``); names are letters, digits, ``_`` and ``-``."""
    if not isinstance(data, dict):
        raise SpecError(path, data, f"a table of named {cls.__name__} tables")
    out = {}
    for name, table in data.items():
        if not isinstance(name, str) or not name.replace("_", "").replace("-", "").isalnum():
            raise SpecError(f"{path}.{name}", name, "a name of letters, digits, '_' or '-'")
        out[name] = from_table(cls, table, f"{path}.{name}")
    return MappingProxyType(out)
