"""Exceptions raised by l5sim. Every message names the field, the value and what was expected."""
from __future__ import annotations


class L5SimError(Exception):
    """Base class of every error l5sim raises on purpose."""


class SpecError(L5SimError, ValueError):
    """A circuit file or override is invalid.

    Attributes
    ----------
    path : str
        Dotted key path of the offending value, e.g. ``populations.pyr.n``.
    value : object
        The value that was found.
    expected : str
        What was expected instead.
    """

    def __init__(self, path: str, value, expected: str, source: str | None = None):
        self.path = path
        self.value = value
        self.expected = expected
        self.source = source
        where = f"{source}: " if source else ""
        super().__init__(f"{where}{path}: got {value!r}; expected {expected}")


class DivergenceError(L5SimError, FloatingPointError):
    """A simulation became numerically unstable (NaN, infinity or a runaway value)."""

    def __init__(self, population: str, neuron: int, time_ms: float, variable: str, value: float,
                 bound: str | None = None):
        self.population = population
        self.neuron = neuron
        self.time_ms = time_ms
        self.variable = variable
        self.value = value
        self.bound = bound
        outside = f" outside its physical range {bound}" if bound else ""
        super().__init__(
            f"numerical divergence in population {population!r}, neuron {neuron}, "
            f"variable {variable!r} = {value!r} at t = {time_ms:.3f} ms{outside}; "
            "reduce dt_ms, check the input currents and synaptic weights"
        )


class SizeError(L5SimError, MemoryError):
    """A run would need more memory or time than the machine or a stated limit allows
    (the message gives the estimate, the limit and how to override it)."""


class PathError(L5SimError, OSError):
    """An output or cache path cannot be used (the message names the option and why)."""


class FitError(L5SimError, RuntimeError):
    """A curve fit failed or is ill-conditioned; the message says why."""


class BridgeFileError(L5SimError, ValueError):
    """A bridge file is invalid, or written by a newer schema version."""
