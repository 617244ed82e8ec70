"""External drive: ``[inputs.NAME]`` tables (currents, noise, Poisson spike trains)."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping

from ..errors import SpecError
from .fields import setting
from .pathways import CONDUCTANCE_WHY, RECEPTOR_KEYS, check_multipliers

#: Largest mean number of Poisson input events per step (rate_hz x dt_ms x 1e-3) accepted:
#: the sampler is exact and equally fast at any mean (l5sim.kernels.rng, tests/test_rng.py
#: up to 1e6), but a million synchronous events per step is no longer a spike train.
MAX_EVENTS_PER_STEP = 1e6

PROFILES = ("uniform", "gaussian_index", "gaussian_space", "neurons")


@dataclass(frozen=True)
class InputSpec:
    """An ``[inputs.NAME]`` table: external drive onto one population.

    kind : ``current`` (constant / step current, ``amplitude_pA``), ``noise`` (Gaussian
        current redrawn every step), or ``poisson`` (spike drive at
        ``rate_hz`` onto ``receptors`` with weight ``weight``; ``shared = true`` makes one
        train shared by all targets, as LVPA's stimuli; ``ramp_ms`` ramps the rate up
        linearly from ``start_ms``).
    sigma_pA_sqrt_ms, sigma_pA : the two ways to size a ``noise`` input (give one).
        ``sigma_pA_sqrt_ms`` is a white-noise current of intensity sigma, I = sigma xi(t)
        with <xi(t) xi(t')> = delta(t - t'): each step draws sigma / sqrt(dt) x N(0, 1), so
        the voltage diffusion (variance growing as sigma^2 t / C^2) and results do not
        depend on dt (Brian2's ``xi``, Gardiner 2009 ch. 4). ``sigma_pA`` is the per-step
        standard deviation itself, as Izhikevich 2003 (I = 5 randn per 1 ms step) and NEST's
        ``noise_generator`` with dt = the step: its effect shrinks as dt shrinks, kept for
        the published networks.
    start_ms, stop_ms : active window [start, stop).
    period_ms, pulse_ms : for ``current`` and ``noise``: within the window, on for
        ``pulse_ms`` at the start of every ``period_ms`` (a pulse train; 0 = always on).
    profile : spatial scaling over the population: ``uniform``; ``gaussian_index``
        exp(-((i - center) / width)^2) on the index difference, not wrapped (LVPA's
        stimuli); ``gaussian_space`` exp(-d^2 / 2 width^2) from neuron ``center``'s
        position; ``neurons``: only the listed ``neurons``.
    """

    kind: str = setting(choices=("current", "noise", "poisson"))
    population: str = setting()
    compartment: str = setting("soma", choices=("soma", "dendrite"))
    amplitude_pA: float = setting(0.0)
    sigma_pA: float = setting(0.0, ge=0.0, doc="per-step SD of a noise current (pA); dt-dependent")
    sigma_pA_sqrt_ms: float = setting(0.0, ge=0.0, doc="white-noise intensity (pA sqrt(ms)); per-step SD = "
                                      "sigma / sqrt(dt_ms)")
    rate_hz: float = setting(0.0, ge=0.0)
    weight: float = setting(1.0)
    receptors: Mapping[str, float] = setting(factory=lambda: {"AMPA": 1.0}, choices=RECEPTOR_KEYS)
    shared: bool = setting(False)
    ramp_ms: float = setting(0.0, ge=0.0)
    start_ms: float = setting(0.0, ge=0.0)
    stop_ms: float = setting(math.inf, ge=0.0, allow_inf=True)
    period_ms: float = setting(0.0, ge=0.0, doc="repeat every period (current/noise); 0 = a single window")
    pulse_ms: float = setting(0.0, ge=0.0, doc="width of each repeated pulse (ms)")
    profile: str = setting("uniform", choices=PROFILES)
    center: float = setting(0.0)
    width: float = setting(1.0, gt=0.0)
    neurons: tuple[int, ...] = setting((), ge=0)
    source: str = setting("")

    def _check(self, path):
        if self.stop_ms <= self.start_ms:
            raise SpecError(f"{path}.stop_ms", self.stop_ms, f"a time > start_ms ({self.start_ms})")
        if self.period_ms > 0 and not 0 < self.pulse_ms <= self.period_ms:
            raise SpecError(f"{path}.pulse_ms", self.pulse_ms, f"a width in (0, period_ms = {self.period_ms}]")
        if self.period_ms > 0 and self.kind == "poisson":
            raise SpecError(f"{path}.period_ms", self.period_ms, "0 for a poisson input (pulse trains are for current and noise)")
        if self.kind == "noise" and self.sigma_pA > 0 and self.sigma_pA_sqrt_ms > 0:
            raise SpecError(f"{path}.sigma_pA", self.sigma_pA, "0 when sigma_pA_sqrt_ms is given (one noise size)")
        if self.kind != "noise" and (self.sigma_pA > 0 or self.sigma_pA_sqrt_ms > 0):
            raise SpecError(f"{path}.sigma_pA_sqrt_ms", self.sigma_pA_sqrt_ms or self.sigma_pA,
                            f"0 for a {self.kind!r} input (noise sizes are for kind = 'noise')")
        if self.profile == "neurons" and not self.neurons:
            raise SpecError(f"{path}.neurons", [], "a non-empty list of neuron indices for profile 'neurons'")
        if self.kind == "poisson" and not self.receptors:
            raise SpecError(f"{path}.receptors", {}, "at least one receptor")
        if self.kind == "poisson":
            check_multipliers(path, self.receptors)
            if "CURRENT" not in self.receptors and self.weight < 0:
                raise SpecError(f"{path}.weight", self.weight, CONDUCTANCE_WHY)
