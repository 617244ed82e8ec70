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

* **passes of the L5 block** (``l5sim.kernels.l5cell.block_step``) on the column's state
  after 200 ms of simulation (its own pending arrivals, plateaus and spikes): the processor's
  cycle counter read at each pass's start (``llvm.readcyclecounter``, a copy of the source
  with the reads inserted), summed over 1000 steps; each pass's share of the counted cycles
  times the loop's CPU time gives its ns per L5 neuron-step. The arrivals pass here reads
  only the arrivals of the drive and of the spikes pending at the start (each step's
  spikes are not delivered), fewer than in a full run.

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
    "without reading the arrival ring": [("    block_arrivals(a, b, now, now_dirty, used, GR, KAP, IS, ID)",
                                          "    pass")],
    "without the conductance sums": [
        ("        gt, gE = soma_sums(v, g0[k] if LIVE[0] else 0.0, g2[k] if LIVE[2] else 0.0, "
         "g4[k] if LIVE[4] else 0.0,\n                           g6[k] if LIVE[6] else 0.0, m0, m2, m4, m6, e0, e2, e4, e6, cap_nmda)\n",
         "        gt, gE = 0.0, 0.0\n"),
        ("        gtd = 0.0 + c1 + c3 + c5 + c7\n", "        gtd = 0.0\n"),
        ("        gEd = 0.0 + c1 * e1 + c3 * e3 + c5 * e5 + c7 * e7\n", "        gEd = 0.0\n")],
    "without the conductance decay": [(f"            g{j}[k] *= d{j}\n", "            pass\n") for j in range(8)],
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
            sy = st.synapses
            wrapper(0, 0, 0.1, net.neurons, net.l5, net.receptors, net.ziggurat, st.neurons, sy.g, sy.now,
                    sy.now_dirty, st.modulation.value, net.poisson_inputs)

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


#: Where each pass of the L5 block function starts (source text) -> the pass's name, in the
#: order of the source; the block's end is after the scan's last statement.
PASSES = [
    ("    block_drive(a, b, t, dt,", "Poisson drive"),
    ("    _inputs(a, b, IS, ID, ns,", "injected currents"),
    ("    block_arrivals(a, b, now,", "arrivals"),
    ("    if mode == G_PER_STEP:", "gate draws (per_step only)"),
    ("    fd_, vd_ = FD[a:b], VD[a:b]", "sigmoid"),
    ("    n = b - a\n", "(setup)"),
    ("    for k in range(n):\n        v = v_[k]\n        vd = vd_[k]\n", "dendrite update"),
    ("    for k in range(n):\n        v = v_[k]\n        u = u_[k]\n", "soma update"),
    ("    if per_spike and n_plat > 0:", "burst draws"),
    ("    # --- spikes and divergence", "scan (spikes, divergence)"),
]
SCAN_END = "            flag[i] = 1 + isb\n"


def passes_level(scale: float, repeats: int) -> dict:
    """Cycle counts of the L5 block's passes (see the module docstring)."""
    import numba as nb
    import numpy as np
    from llvmlite import ir
    from numba.core import types as nbt
    from numba.extending import intrinsic

    import l5sim
    from l5sim.kernels import l5cell, variants
    from l5sim.kernels.events import replay
    from l5sim.session import Session

    counts = np.zeros(len(PASSES) + 1, np.int64)
    addr = counts.ctypes.data

    @intrinsic
    def _cycles(typingctx):
        def codegen(context, builder, signature, args):
            fn = builder.module.declare_intrinsic("llvm.readcyclecounter", fnty=ir.FunctionType(ir.IntType(64), []))
            return builder.call(fn, [])
        return nbt.int64(), codegen

    @intrinsic
    def _add_at(typingctx, base, k, val):
        def codegen(context, builder, signature, args):
            ptr = builder.gep(builder.inttoptr(args[0], ir.IntType(64).as_pointer()), [args[1]])
            builder.store(builder.add(builder.load(ptr), args[2]), ptr)
            return context.get_dummy_value()
        return nbt.void(base, k, val), codegen

    @nb.njit(inline="always")
    def _tick(k, c0):
        _add_at(addr, k, _cycles() - c0)

    src = open(l5cell.__file__).read()
    if [src.find(text) for text, _ in PASSES] != sorted(src.find(text) for text, _ in PASSES):
        raise RuntimeError("profile_column: PASSES are not in the L5 block's source order")
    for k, (text, _) in enumerate(PASSES):
        if src.count(text) != 1:
            raise RuntimeError(f"profile_column: the L5 block no longer contains {text!r} once; update PASSES")
        src = src.replace(text, f"    _tick({k}, _c)\n    _c = _cycles()\n" + text)
    head = "    t, scheme, mode, lag, kap_state = flags\n"
    if src.count(head) != 1 or src.count(SCAN_END) != 1:
        raise RuntimeError("profile_column: the L5 block's start or end moved; update passes_level")
    src = src.replace(head, head + "    _c = _cycles()\n").replace(SCAN_END, SCAN_END + f"    _tick({len(PASSES)}, _c)\n")
    mod = types.ModuleType("l5sim.kernels._profile_passes")
    mod.__package__ = "l5sim.kernels"
    mod.__file__ = l5cell.__file__
    mod.__dict__.update(_cycles=_cycles, _tick=_tick)
    exec(compile(src, "<l5cell: passes>", "exec"), mod.__dict__)
    built = l5sim.build(l5sim.load_circuit(CIRCUIT, overrides={"circuit.scale": scale}), 1)
    sess = Session(built, seed=1)
    sess.run(200.0)
    net, st = sess.net, sess.st
    unit = variants._unit(mod, "integrate", "population_loop", "profile", False, late=False)

    @nb.njit
    def steps(n, t0, net, st):
        for k in range(n):
            t = t0 + k
            sy = st.synapses
            slot = t % sy.ring.shape[0]
            replay(slot, net.receptors.used, sy.events_off, sy.events_code, sy.events_value, sy.events_count,
                   sy.spilled, sy.ring, sy.ring_dirty, sy.now, sy.now_dirty)
            unit(0, t, net.dt, net.neurons, net.l5, net.receptors, net.ziggurat, st.neurons, sy.g, sy.now,
                 sy.now_dirty, st.modulation.value, net.poisson_inputs)
            st.neurons.flag[:] = 0
            sy.now_dirty[:] = 0

    t0 = int(round(200.0 / net.dt))
    steps(2, t0, net, st)
    n_l5 = int(net.neurons.pop_start[1] - net.neurons.pop_start[0])
    n = 1000
    best, best_counts = float("inf"), None
    for r in range(repeats):
        counts[:] = 0
        c = time.process_time()
        steps(n, t0 + 2 + r * n, net, st)
        el = time.process_time() - c
        if el < best:
            best, best_counts = el, counts.copy()
    ns_cell = best / (n * n_l5) * 1e9
    tot = best_counts[1:].sum() + best_counts[0]
    # counts[k] is the time up to pass k's start, i.e. pass k - 1's; counts[0]: the entry
    out = {"(entry)": float(best_counts[0] / tot * ns_cell)}
    for k, (_, name) in enumerate(PASSES):
        out[name] = float(best_counts[k + 1] / tot * ns_cell)
    out = {"ns_per_l5_neuron_step": ns_cell, "passes": out}
    for name, v in out["passes"].items():
        print(f"{name:>30s}: {v:.2f} ns per L5 neuron-step", flush=True)
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
    res = {"circuit": circuit_level(args.scale, args.repeats), "l5_loop": loop_level(args.scale, args.repeats),
           "l5_passes": passes_level(args.scale, args.repeats)}
    res["meta"] = {"scale": args.scale, "repeats": args.repeats, "load_before": load0, "load_after": os.getloadavg(),
                   "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "cpus": os.cpu_count()}
    os.makedirs(args.out, exist_ok=True)
    tmp = os.path.join(args.out, "results.json.tmp")
    with open(tmp, "w") as fh:
        json.dump(res, fh, indent=1)
    os.replace(tmp, os.path.join(args.out, "results.json"))      # (atomically: never half a file)
    return 0


if __name__ == "__main__":
    sys.exit(main())
