"""SHA-256 fingerprints of what the kernels compute for every bundled circuit.

A refactoring of the kernels (issue 12) must leave every recording bit for bit as it was.
This script runs each circuit of ``circuits/`` for a short time with two seeds, recording
every trace variable of two neurons of each non-source population at every step and the
weights of every plastic pathway, and hashes the spikes (neuron, time, burst flag), the
traces and the weights (snapshots and final). A few variants add what the bundled files
alone leave out: the 2003 network on the general kernel (the point kernel is the default
there), the three coupling-gate modes and the Euler scheme of the L5 cell, and parallel
runs of the L5 column and of the 2003 network (point kernel).

Usage::

    python scripts/kernel_fingerprint.py                 # print the fingerprints (JSON)
    python scripts/kernel_fingerprint.py --write         # store them in tests/data/kernel_fingerprints.json
    python scripts/kernel_fingerprint.py --check         # compare with the stored ones (exit 1 if any differs)
    python scripts/kernel_fingerprint.py --only l5_cell  # the cases whose name starts with a prefix

``tests/test_kernel_fingerprint.py`` runs the fast cases by default and every case under
``-m slow``.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
STORE = ROOT / "tests" / "data" / "kernel_fingerprints.json"
SEEDS = (1, 2)

#: The L5 cell driven harder than its file does: a dendritic step (plateaus, burst resets),
#: Poisson inhibition on both compartments and a coupling gate that is neither 0 nor 1.
_L5_DRIVEN = {"inputs.dend_step.amplitude_pA": 600.0, "inputs.som_inh.weight": 0.3,
              "inputs.pv_inh.weight": 0.2, "populations.pyr.params.kappa": 0.6}

#: name -> (circuit file, overrides, duration_ms, simulate keyword arguments, fast)
CASES = {
    "izhikevich2003": ("izhikevich2003.toml", {}, 200.0, {}, False),
    "izhikevich2003_general": ("izhikevich2003.toml", {}, 100.0, {"kernel": "general"}, False),
    "izhikevich2003_parallel": ("izhikevich2003.toml", {}, 200.0, {"parallel": True}, False),
    "izhikevich2006": ("izhikevich2006.toml", {"plasticity.spnet.interval_ms": 100.0}, 300.0,
                       {}, False),
    "l5_cell": ("l5_cell.toml", {}, 600.0, {}, True),
    "l5_cell_driven": ("l5_cell.toml", _L5_DRIVEN, 600.0, {}, True),
    "l5_cell_per_step": ("l5_cell.toml", dict(_L5_DRIVEN, **{"populations.pyr.params.gate": "per_step"}), 600.0,
                         {}, True),
    "l5_cell_deterministic_euler": ("l5_cell.toml", dict(_L5_DRIVEN, **{"populations.pyr.params.gate": "deterministic",
                                                                      "populations.pyr.integration": "euler"}),
                                    600.0, {}, True),
    "l5_na": ("l5_na.toml", {}, 600.0, {}, True),
    "l5_stdp": ("l5_stdp.toml", {}, 600.0, {}, True),
    "l5_column": ("l5_column.toml", {}, 100.0, {}, True),
    "l5_column_parallel": ("l5_column.toml", {}, 100.0, {"parallel": True}, False),
    "whyte_ring": ("whyte_ring.toml", {}, 700.0, {}, True),
}


def _h_update(h, name, arr):
    a = np.ascontiguousarray(arr)
    h.update(f"{name}|{a.dtype.str}|{a.shape}|".encode())
    h.update(a.tobytes())


def _recording_spec(spec):
    from l5sim.spec import RecordingSpec, TraceSpec, TRACE_VARIABLES

    traces = {}
    for name, pop in spec.populations.items():
        if pop.model in ("poisson", "generator"):
            continue
        traces[name] = TraceSpec(neurons=tuple(range(min(2, pop.n))), variables=TRACE_VARIABLES,
                                 interval_ms=spec.dt_ms)
    r = spec.recording
    return RecordingSpec(spikes=r.spikes, traces=traces, weights=r.weights,
                         weights_interval_ms=min(r.weights_interval_ms, 100.0), weights_full=True,
                         modulators_interval_ms=r.modulators_interval_ms)


def fingerprint(rec) -> dict:
    """SHA-256 (hex) of the spikes, of the traces and of the weights of a recording."""
    hs = hashlib.sha256()
    _h_update(hs, "i", rec.spike_i)
    _h_update(hs, "t", rec.spike_t_ms)
    _h_update(hs, "b", rec.spike_burst)
    ht = hashlib.sha256()
    for pop in sorted(rec.traces):
        for var in sorted(rec.traces[pop]):
            _h_update(ht, f"{pop}.{var}", rec.traces[pop][var])
    hw = hashlib.sha256()
    for p in sorted(rec.final_weights):
        _h_update(hw, f"final.{p}", rec.final_weights[p])
    for p in sorted(rec.weights):
        _h_update(hw, f"snap.{p}", rec.weights[p])
    return {"spikes": hs.hexdigest(), "traces": ht.hexdigest(), "weights": hw.hexdigest(),
            "n_spikes": int(rec.spike_i.size)}


def run_case(name: str) -> dict:
    """Fingerprints of case ``name`` for each seed of :data:`SEEDS`."""
    import l5sim

    fname, overrides, duration, kw, _ = CASES[name]
    spec = l5sim.load_circuit(ROOT / "circuits" / fname, overrides=overrides or None)
    recording = _recording_spec(spec)
    out = {}
    for seed in SEEDS:
        built = l5sim.build(spec, seed=seed)
        rec = l5sim.simulate(built, duration, seed=seed, recording=recording, progress=False, **kw)
        out[str(seed)] = fingerprint(rec)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--write", action="store_true", help=f"store the fingerprints in {STORE.relative_to(ROOT)}")
    ap.add_argument("--check", action="store_true", help="compare with the stored fingerprints")
    ap.add_argument("--only", default="", help="only the cases whose name starts with this prefix")
    a = ap.parse_args(argv)
    names = [n for n in CASES if n.startswith(a.only)]
    got = {}
    for n in names:
        got[n] = run_case(n)
        print(f"{n}: {got[n]}", file=sys.stderr, flush=True)
    if a.check:
        stored = json.loads(STORE.read_text())
        bad = [n for n in names if stored.get(n) != got[n]]
        for n in bad:
            print(f"DIFFERS: {n}: stored {stored.get(n)} now {got[n]}", file=sys.stderr)
        print(f"{len(names) - len(bad)} of {len(names)} cases bitwise as stored")
        return 1 if bad else 0
    if a.write:
        stored = json.loads(STORE.read_text()) if STORE.exists() else {}
        stored.update(got)
        STORE.parent.mkdir(parents=True, exist_ok=True)
        tmp = STORE.with_suffix(".tmp")
        tmp.write_text(json.dumps(dict(sorted(stored.items())), indent=1) + "\n")
        os.replace(tmp, STORE)
    print(json.dumps(got, indent=1))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    raise SystemExit(main())
