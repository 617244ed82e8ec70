"""Shared definitions for every benchmark implementation (standard library only).

Each implementation (l5sim, the hand-written Numba reference, Brian2, NEST) runs
as a separate process with its own interpreter, so this module must import with
nothing but the standard library: the peers' virtual environments do not have
l5sim, and Brian2's has an older numpy.

The networks
------------
``izh2003_*`` is the network of Izhikevich (2003), IEEE TNN 14:1569, with its
published integration (v in two 0.5 ms half-steps, then u once per 1 ms from the
new v; see ``docs/performance.md`` and ``shared/science.md`` section 2):

* 80 % excitatory, 20 % inhibitory; per-neuron heterogeneity r ~ U(0, 1):
  excitatory a 0.02, b 0.2, c -65 + 15 r^2, d 8 - 6 r^2;
  inhibitory a 0.02 + 0.08 r, b 0.25 - 0.05 r, c -65, d 2.
* thalamic noise current each 1 ms step: 5 * N(0, 1) for excitatory cells,
  2 * N(0, 1) for inhibitory cells.
* weights: from excitatory cells 0.5 * U(0, 1), from inhibitory cells -U(0, 1),
  in mV of instantaneous input (I in the voltage equation for one 1 ms step).
* spike when v >= 30 mV, then v <- c, u <- u + d.  Initial v -65, u = b v.
* ``izh2003_1k``: 800 + 200 cells, all-to-all (autapses included, as in the
  published MATLAB code): 1,000,000 synapses.
* ``izh2003_10k``: 8000 + 2000 cells, each ordered pair connected independently
  with p = 0.1 (autapses allowed): about 10,000,000 synapses, so the mean
  in-degree (800 excitatory + 200 inhibitory) equals the 1k network's.
* ``izh2003_10k_stdp``: the 10k network with nearest-spike pair STDP
  (Izhikevich 2006: each spike *sets* its trace to A) on every synapse from an
  excitatory cell: A+ 0.1, A- 0.12, tau+ = tau- = 20 ms, immediate weight
  update, weights clipped to [0, W_MAX].

``column_*`` are l5sim's ``circuits/l5_column.toml`` scaled to about 1k, 10k and
100k cells with ``circuit.scale`` = n_total / 510 (every population times the scale;
the pathways state ``n_ref`` and ``pocket_fraction``, so expected in-degrees, and the
regime, stay those of the 510-cell column: fixed in-degree scaling).  Conductance-based,
two-compartment pyramidal cells, delays, dt 0.1 ms.  Peers: l5sim and Brian2
(``peers/brian2_column.py``, written independently from the model docstrings).  Their
default biological duration (``default_duration_ms``) is 1 s at 1k and 10k, long enough
for the rate check, and 200 ms at 100k; every time is reported per biological second.

Threads: every runner takes ``--threads`` (default 1): l5sim sets ``L5SIM_THREADS`` and
asks for its parallel kernel when more than one; Brian2 ``cpp_standalone`` uses OpenMP
(``devices.cpp_standalone.openmp_threads``); NEST ``local_num_threads``; a runner that
cannot use that many threads exits 3 (skipped).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import time

#: Network name -> description (pure data; every implementation reads this).
NETWORKS = {
    "izh2003_1k": dict(family="izh2003", n_exc=800, n_inh=200, connectivity="all_to_all", p=1.0, stdp=False),
    "izh2003_10k": dict(family="izh2003", n_exc=8000, n_inh=2000, connectivity="pairwise_bernoulli", p=0.1, stdp=False),
    "izh2003_10k_stdp": dict(family="izh2003", n_exc=8000, n_inh=2000, connectivity="pairwise_bernoulli", p=0.1, stdp=True),
    "column_1k": dict(family="column", n_total=1_000, default_duration_ms=1000.0),
    "column_10k": dict(family="column", n_total=10_000, default_duration_ms=1000.0, cache_from="column_1k"),
    # cold_run False: its kernels are column_1k's (same cached compile), and its
    # build takes minutes, so it runs warm only.
    "column_100k": dict(family="column", n_total=100_000, default_duration_ms=200.0, cold_run=False,
                        cache_from="column_1k"),
}

#: Cells of circuits/l5_column.toml at scale 1 (400 pyr + 50 PV + 50 SOM + 10 thalamic).
COLUMN_BASE_CELLS = 510


def column_scale(network: str) -> float:
    """``circuit.scale`` of a column network."""
    return NETWORKS[network]["n_total"] / COLUMN_BASE_CELLS

#: Izhikevich (2003) constants (mV, ms; noise in the units of I, i.e. mV/ms).
NOISE_EXC = 5.0
NOISE_INH = 2.0
W_EXC_MAX = 0.5  # excitatory weights 0.5 * U(0, 1)
W_INH_MAX = 1.0  # inhibitory weights -U(0, 1)
V_PEAK = 30.0
V_INIT = -65.0
DT_MS = 1.0

#: STDP (Izhikevich 2006, spnet): A+ 0.1, A- 0.12, tau 20 ms, nearest spike.
STDP_A_PLUS = 0.1
STDP_A_MINUS = 0.12
STDP_TAU_MS = 20.0
#: Upper weight bound of plastic excitatory synapses.  spnet uses 10 mV for
#: weights that start at 6 mV; the 2003 network's excitatory weights start in
#: [0, 0.5], so the bound is scaled to 1.0 (twice the largest initial weight).
W_MAX = 1.0

IMPLEMENTATIONS = ("l5sim", "reference_numba", "brian2_runtime", "brian2_standalone", "nest")


def make_parser(description: str) -> argparse.ArgumentParser:
    """The command-line interface every implementation script shares."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--network", required=True, choices=sorted(NETWORKS))
    p.add_argument("--duration-ms", type=float, default=1000.0, help="biological time simulated (ms)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--out", default=None, help="write the result JSON here (also printed on stdout)")
    p.add_argument("--profile", action="store_true", help="also collect the implementation's own profile")
    p.add_argument("--threads", type=int, default=1, help="threads the implementation may use (default 1)")
    return p


def loadavg() -> list:
    """The 1, 5 and 15 minute load averages now (every timing carries them)."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def peak_rss_mib(children: bool = False) -> float:
    """Peak resident set size of this process (or of its waited-for children), MiB."""
    who = resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF
    return resource.getrusage(who).ru_maxrss / 1024.0  # Linux reports KiB


def current_rss_mib() -> float:
    """Current resident set size of this process, MiB (from /proc; NaN elsewhere)."""
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return float("nan")


def numba_cache_has_index(cache_dir: str) -> bool:
    """Whether a Numba cache directory already holds compiled functions (``*.nbi``)."""
    if not cache_dir or not os.path.isdir(cache_dir):
        return False
    for _root, _dirs, files in os.walk(cache_dir):
        if any(f.endswith(".nbi") for f in files):
            return True
    return False


def rates_from_counts(n_spikes_exc: int, n_spikes_inh: int, n_exc: int, n_inh: int, duration_ms: float) -> dict:
    """Mean firing rates in Hz (excitatory, inhibitory, all)."""
    sec = duration_ms / 1000.0
    return dict(
        mean_rate_exc_hz=n_spikes_exc / (n_exc * sec) if n_exc else float("nan"),
        mean_rate_inh_hz=n_spikes_inh / (n_inh * sec) if n_inh else float("nan"),
        mean_rate_hz=(n_spikes_exc + n_spikes_inh) / ((n_exc + n_inh) * sec),
    )


def base_versions() -> dict:
    return dict(python=platform.python_version(), platform=platform.platform())


def emit(result: dict, out: str | None) -> None:
    """Print the result as one JSON line and write it atomically to ``out``."""
    result.setdefault("peak_rss_mib", peak_rss_mib())
    result.setdefault("loadavg_at_end", loadavg())
    text = json.dumps(result, indent=1, sort_keys=True, default=float)
    if out:
        tmp = out + ".tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, out)
    print("RESULT_JSON " + json.dumps(result, sort_keys=True, default=float))
    sys.stdout.flush()


class Timer:
    """``with Timer() as t: ...; t.s`` -> wall-clock seconds (perf_counter)."""

    def __enter__(self):
        self._t0 = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.s = time.perf_counter() - self._t0
        return False
