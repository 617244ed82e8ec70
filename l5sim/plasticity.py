"""Plasticity rules of a circuit's ``[plasticity.NAME]`` tables (science.md section 5)."""
from __future__ import annotations

from types import MappingProxyType

from .errors import SpecError


def validate(tables, spec):
    """Validate the ``[plasticity]`` section; returns a read-only mapping of rules."""
    if tables:
        name = next(iter(tables))
        raise SpecError(f"plasticity.{name}", dict(tables[name]),
                        "no plasticity tables: STDP is not available in this version of l5sim")
    return MappingProxyType({})
