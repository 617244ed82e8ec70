"""Neuromodulators of a circuit's ``[modulators.NAME]`` tables (science.md section 6)."""
from __future__ import annotations

from types import MappingProxyType

from .errors import SpecError


def validate(tables, spec):
    """Validate the ``[modulators]`` section; returns a read-only mapping of modulators."""
    if tables:
        name = next(iter(tables))
        raise SpecError(f"modulators.{name}", dict(tables[name]),
                        "no modulator tables: neuromodulation is not available in this version of l5sim")
    return MappingProxyType({})
