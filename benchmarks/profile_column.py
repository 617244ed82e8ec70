"""Where the L5 column's simulate time goes, by ablation (issue 18, item 4).

Two levels, serial kernels on one thread, CPU time of the process:

* **circuit**: ``circuits/l5_column.toml`` at ``--scale`` (20: about 10k cells), 1 s
  simulated per run, best of ``--repeats``: the full column; without its Poisson drive
  (``bg_*`` rates 0: the draws go, and with them nearly all spikes, deliveries and
  conductance work); without recurrent synapses (every pathway's ``p0`` 0: the drive stays,
  nothing is delivered).
* **L5 population loop** (``l5sim.kernels.l5cell.population_loop``) on the column's 8k
  pyramidal cells at a fixed state with every somatic and dendritic conductance nonzero,
  stepped 100 times per timing: as it is, and with one piece taken out of its source each
  time (the dendritic sigmoid's ``exp``; reading the arrival ring; the conductance sums; the
  conductance decay; the coupling-gate draws). The pieces cost about what their removal
  saves; the numbers say which work a faster kernel has to make cheaper. The variants are
  timed interleaved, best of ``--repeats`` rounds.

    python -m benchmarks.profile_column [--scale 20] [--repeats 5] [--out benchmarks/results/profile_column]

The loop variants are compiled from edited source, which numba's on-disk cache must not
see: the script runs with the cache off (``L5SIM_NUMBA_CACHE=0``), so it compiles
everything it runs (about a minute).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
import types

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CIRCUIT = os.path.join(ROOT, "circuits", "l5_column.toml")
PATHWAYS = ("ee", "e_pv", "e_som", "pv_pyr", "som_pyr", "pv_pv", "som_pv")
#: Pieces of the L5 loop taken out, one at a time: source text -> its stand-in.
ABLATIONS = {
    "as it is": [],
    "without the sigmoid's exp": [("fd_[k] = 1.0 / (1.0 + exp((ehalf - vd_[k]) * inv_dd))",
                                   "fd_[k] = 0.01 * (vd_[k] - ehalf)")],
    "without reading the arrival ring": [("    block_arrivals(a, b, slot, ring, dirty, used, GR, KAP, IS, ID)", "    pass")],
    "without the conductance sums": [
        ("        gt = 0.0 + c0 + c2 + c4 + c6\n", "        gt = 0.0\n"),
        ("        gE = 0.0 + c0 * e0 + c2 * e2 + c4 * e4 + c6 * e6\n", "        gE = 0.0\n"),
        ("        gtd = 0.0 + c1 + c3 + c5 + c7\n", "        gtd = 0.0\n"),
        ("        gEd = 0.0 + c1 * e1 + c3 * e3 + c5 * e5 + c7 * e7\n", "        gEd = 0.0\n")],
    "without the conductance decay": [(f"        g{j}[k] *= d{j}\n", "") for j in range(8)],
    "without the scan (spikes, burst draws)": [
        ("    for i in range(a, b if n_att > 0 else a):", "    for i in range(0):"),
        ("    if per_spike and n_plat > 0:\n", "    if False:\n")],
}


def circuit_level(scale: float, repeats: int) -> dict:
    import l5sim

    variants = {
        "full column": {},
        "without the Poisson drive": {f"inputs.{k}.rate_hz": 0.0 for k in ("bg_soma", "bg_pv", "bg_som")},
        "without recurrent synapses": {f"pathways.{k}.connectivity.p0": 0.0 for k in PATHWAYS},
    }
    out = {}
    for label, over in variants.items():
        built = l5sim.build(l5sim.load_circuit(CIRCUIT, overrides={**over, "circuit.scale": scale}), 1)
        l5sim.simulate(built, 5.0, parallel=False, progress=False)
        best = float("inf")
        for _ in range(repeats):
            c = time.process_time()
            rec = l5sim.simulate(built, 1000.0, parallel=False, progress=False)
            best = min(best, time.process_time() - c)
        steps = round(1000.0 / built.dt_ms)
        out[label] = {"cpu_s_per_bio_s": best, "neurons": built.n_neurons, "synapses": built.n_synapses,
                      "spikes": int(rec.spike_i.size), "ns_per_neuron_step": best / (steps * built.n_neurons) * 1e9}
        print(f"{label:>30s}: {best:.3f} CPU s per bio s, {out[label]['ns_per_neuron_step']:.1f} ns per neuron-step, "
              f"{rec.spike_i.size} spikes", flush=True)
    return out


def _loop_variant(name: str, subs, src: str):
    """The L5 population loop compiled from its source with ``subs`` applied."""
    import numba as nb

    from l5sim.kernels import l5cell

    for old, new in subs:
        if old not in src:
            raise RuntimeError(f"profile_column: the L5 loop no longer contains {old!r}; update ABLATIONS")
        src = src.replace(old, new)
    mod = types.ModuleType(f"l5sim.kernels._profile_{abs(hash(name))}")
    mod.__package__ = "l5sim.kernels"
    mod.__file__ = l5cell.__file__
    exec(compile(src, f"<l5cell: {name}>", "exec"), mod.__dict__)
    opts = dict(nogil=True, fastmath={"nsz"}, error_model="numpy")
    loop = nb.njit(_nrt=False, **opts)(mod.population_loop)
    wrapper = nb.njit(**opts)(types.FunctionType(mod.integrate.__code__, dict(mod.__dict__, population_loop=loop)))

    @nb.njit(**opts)
    def steps(n, net, st):
        for _ in range(n):
            wrapper(0, 0, 0.1, net.neurons, net.l5, net.receptors, net.ziggurat, st.neurons, st.synapses,
                    st.modulation.value)

    return steps


def loop_level(scale: float, repeats: int) -> dict:
    import numpy as np

    import l5sim
    from l5sim.kernels import l5cell
    from l5sim.simulation import initial_state

    built = l5sim.build(l5sim.load_circuit(CIRCUIT, overrides={"circuit.scale": scale}), 1)
    net = built.net
    # conductances held (decay 1) at values drawn once: every branch of the sums is taken
    net = net._replace(receptors=net.receptors._replace(decay=np.ones_like(net.receptors.decay)))
    n_pyr = int(net.neurons.pop_start[1])
    g0 = np.random.default_rng(0).uniform(0.0, 2.0, (6, built.n_neurons))
    src = open(l5cell.__file__).read()
    fns, states = {}, {}
    for label, subs in ABLATIONS.items():
        fns[label] = _loop_variant(label, subs, src)
        st = initial_state(built, 1)
        st.neurons.dend_bias[:n_pyr] = 550.0
        st.synapses.g[:6] = g0
        states[label] = st
        fns[label](2, net, st)
    best = {k: float("inf") for k in fns}
    for _ in range(repeats):
        for label, fn in fns.items():
            c = time.process_time()
            fn(100, net, states[label])
            best[label] = min(best[label], time.process_time() - c)
    out = {}
    base = best["as it is"] / (100 * n_pyr) * 1e9
    for label in fns:
        ns = best[label] / (100 * n_pyr) * 1e9
        out[label] = {"ns_per_neuron_step": ns, "saves_ns": base - ns}
        print(f"{label:>34s}: {ns:.1f} ns per L5 neuron-step (saves {base - ns:+.1f})", flush=True)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=20.0)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "results", "profile_column"))
    args = ap.parse_args(argv)
    if "l5sim" in sys.modules and os.environ.get("L5SIM_NUMBA_CACHE") != "0":
        raise SystemExit("profile_column: run it in a process of its own (python -m benchmarks.profile_column)")
    os.environ["L5SIM_NUMBA_CACHE"] = "0"      # before l5sim is imported (l5sim._numba_config)
    os.environ.setdefault("L5SIM_PARALLEL", "0")
    load0 = os.getloadavg()
    res = {"circuit": circuit_level(args.scale, args.repeats), "l5_loop": loop_level(args.scale, args.repeats)}
    res["meta"] = {"scale": args.scale, "repeats": args.repeats, "load_before": load0, "load_after": os.getloadavg(),
                   "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "cpus": os.cpu_count()}
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "results.json"), "w") as fh:
        json.dump(res, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
