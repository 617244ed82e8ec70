"""l5sim implementation of the benchmark networks (run with the core .venv's python).

    .venv/bin/python benchmarks/peers/l5sim_runner.py --network izh2003_10k --out r.json

It uses only l5sim's public API::

    spec = l5sim.load_circuit(path, overrides={...})
    net = l5sim.build(spec, seed=seed)                # build_s
    l5sim.simulate(net, duration_ms=dt)              # compile_s: one step, compiles or loads the kernels
    rec = l5sim.simulate(net, duration_ms=duration)  # simulate_s (noise drawn inside: included)

and reads ``rec.spike_i``, ``rec.pop_names``, ``rec.pop_start``, ``net.n_synapses``
and ``net.synapse_bytes()``.  Numba's cache goes where ``NUMBA_CACHE_DIR`` says
(the harness points it at an empty directory for a cold compile).

Networks come from the circuits in ``circuits/`` with overrides:

* ``izh2003_1k``: ``circuits/izhikevich2003.toml`` as it is.
* ``izh2003_10k``: populations 8000 / 2000 and every pathway ``fixed_prob`` with
  p = 0.1, uniform weights as in the 1k circuit, autapses allowed (``OVERRIDES``).
* ``izh2003_10k_stdp``: the 10k network plus a nearest-spike STDP rule on the
  two excitatory pathways (``STDP_OVERRIDES``); needs l5sim's plasticity.
* ``column_*``: ``circuits/l5_column.toml`` with ``circuit.scale`` = n_total / 510
  (the circuit's own fixed in-degree scaling: populations times the scale, connection
  probabilities times n_ref / n_pre, thalamic pockets from ``pocket_fraction``).

Threads (``--threads``): 1 runs the serial kernels (``parallel=False``); more sets
``NUMBA_NUM_THREADS`` (before numba is imported) and runs the parallel kernels
(``parallel=True``). ``--threads 0`` runs l5sim's own default choice
(``parallel=None``: :func:`l5sim.threads.default_threads`), the mode the busy-core
benchmark measures.
"""
from __future__ import annotations

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common as C  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
IZH_CIRCUIT = os.path.join(ROOT, "circuits", "izhikevich2003.toml")
COLUMN_CIRCUIT = os.path.join(ROOT, "circuits", "l5_column.toml")

#: Overrides turning circuits/izhikevich2003.toml into the 10k, p = 0.1 network.
OVERRIDES_10K = {"populations.exc.n": 8000, "populations.inh.n": 2000}
for _name in ("ee", "ei", "ie", "ii"):
    OVERRIDES_10K[f"pathways.{_name}.connectivity.rule"] = "fixed_prob"
    OVERRIDES_10K[f"pathways.{_name}.connectivity.p"] = 0.1
    OVERRIDES_10K[f"pathways.{_name}.connectivity.autapses"] = True

#: Nearest-spike pair STDP on the excitatory pathways (Izhikevich 2006 constants).
STDP_OVERRIDES = {
    "plasticity.stdp_exc": {
        "rule": "pair", "interaction": "nearest", "A_plus": C.STDP_A_PLUS, "A_minus": C.STDP_A_MINUS,
        "tau_plus_ms": C.STDP_TAU_MS, "tau_minus_ms": C.STDP_TAU_MS, "w_min": 0.0, "w_max": C.W_MAX,
        "update": "additive", "timing": "immediate",
    },
    "pathways.ee.plasticity": "stdp_exc",
    "pathways.ei.plasticity": "stdp_exc",
}


def circuit_and_overrides(name: str, spec: dict, toml_mod):
    """(circuit path, overrides) for a benchmark network, or raise FileNotFoundError."""
    if spec["family"] == "izh2003":
        if not os.path.exists(IZH_CIRCUIT):
            raise FileNotFoundError(IZH_CIRCUIT)
        if name == "izh2003_1k":
            return IZH_CIRCUIT, {}
        ov = dict(OVERRIDES_10K)
        if spec["stdp"]:
            ov.update(STDP_OVERRIDES)
        return IZH_CIRCUIT, ov
    if not os.path.exists(COLUMN_CIRCUIT):
        raise FileNotFoundError(COLUMN_CIRCUIT)
    # fixed in-degree scaling by the circuit itself: every population times circuit.scale,
    # p0 times n_ref / n_pre, pockets from pocket_fraction (l5sim.spec.ConnectivitySpec)
    return COLUMN_CIRCUIT, {"circuit.scale": C.column_scale(name)}


def main(argv=None) -> int:
    args = C.make_parser("l5sim benchmark runner").parse_args(argv)
    spec = C.NETWORKS[args.network]
    import tomllib

    try:
        path, overrides = circuit_and_overrides(args.network, spec, tomllib)
    except FileNotFoundError as e:
        print(f"l5sim_runner: circuit file not found: {e}", file=sys.stderr)
        return 3

    if args.threads < 0:
        print("l5sim_runner: --threads must be >= 0", file=sys.stderr)
        return 2
    if args.threads > 1:
        os.environ["NUMBA_NUM_THREADS"] = str(args.threads)
    parallel = None if args.threads == 0 else args.threads > 1
    cache_had = C.numba_cache_has_index(os.environ.get("NUMBA_CACHE_DIR", ""))
    with C.Timer() as t_import:
        import l5sim
        import numpy as np
    try:
        cspec = l5sim.load_circuit(path, overrides=overrides)
    except Exception as e:  # an unsupported feature (e.g. STDP) is reported, not faked
        print(f"l5sim_runner: l5sim cannot express {args.network}: {type(e).__name__}: {e}", file=sys.stderr)
        return 3
    rss0 = C.current_rss_mib()
    try:
        with C.Timer() as t_build:
            net = l5sim.build(cspec, seed=args.seed)
        rss_build = C.current_rss_mib() - rss0
        dt = float(net.dt_ms)
        with C.Timer() as t_compile:
            l5sim.simulate(net, duration_ms=dt, seed=args.seed, parallel=parallel)
        cpu0 = time.process_time()
        with C.Timer() as t_sim:
            rec = l5sim.simulate(net, duration_ms=args.duration_ms, seed=args.seed, parallel=parallel)
        sim_cpu = time.process_time() - cpu0   # all threads of the process: the load-free cost
    except l5sim.L5SimError as e:  # e.g. a divergence: a real failure, reported as such
        print(f"l5sim_runner: {args.network} failed: {type(e).__name__}: {e}", file=sys.stderr)
        return 1

    spike_i = np.asarray(rec.spike_i)
    pop_start = np.asarray(rec.pop_start)
    pops = list(rec.pop_names)
    n = int(pop_start[-1])
    exc_names = [p for p in pops if p in ("exc", "pyr", "e", "E")]
    if exc_names:
        k = pops.index(exc_names[0])
        lo, hi = int(pop_start[k]), int(pop_start[k + 1])
        n_exc = hi - lo
        n_sp_exc = int(((spike_i >= lo) & (spike_i < hi)).sum())
    else:
        n_exc, n_sp_exc = 0, 0
    n_syn = int(net.n_synapses)
    try:
        syn_bytes = int(net.synapse_bytes())
        method = "l5sim BuiltCircuit.synapse_bytes() / synapses"
    except AttributeError:
        syn_bytes = int(rss_build * 2**20)
        method = "RSS growth during build / synapses"
    per_pop = {}
    for k, p in enumerate(pops):
        lo, hi = int(pop_start[k]), int(pop_start[k + 1])
        cnt = int(((spike_i >= lo) & (spike_i < hi)).sum())
        per_pop[p] = dict(n=hi - lo, rate_hz=cnt / max(hi - lo, 1) / (args.duration_ms / 1000.0))
    burst = {}
    if "pyr" in pops and rec.spike_burst.size:
        k = pops.index("pyr")
        sel = (spike_i >= pop_start[k]) & (spike_i < pop_start[k + 1])
        if sel.any():
            burst["burst_share_pyr"] = float(np.asarray(rec.spike_burst)[sel].mean())
    import numba

    result = dict(
        implementation="l5sim", network=args.network, duration_ms=args.duration_ms, seed=args.seed,
        circuit=os.path.relpath(path, ROOT), overrides=overrides,
        n_neurons=n, n_exc=n_exc, n_inh=n - n_exc, n_synapses=n_syn,
        n_spikes=int(spike_i.size), n_spikes_exc=n_sp_exc, n_spikes_inh=int(spike_i.size) - n_sp_exc,
        load_s=t_import.s, build_s=t_build.s, compile_s=t_compile.s,
        compile_kind="warm" if cache_had else "cold", simulate_s=t_sim.s, simulate_cpu_s=sim_cpu,
        simulate_internal_s=float(rec.metadata.get("timing_s", {}).get("simulate", float("nan"))),
        bytes_per_synapse=syn_bytes / max(n_syn, 1), bytes_per_synapse_method=method,
        rss_build_delta_mib=rss_build, per_population=per_pop,
        threads=int(rec.metadata.get("kernel", {}).get("threads", numba.get_num_threads())),
        kernel=rec.metadata.get("kernel"), threads_requested=args.threads, **burst,
        versions=dict(C.base_versions(), l5sim=getattr(l5sim, "__version__", "?"), numpy=np.__version__,
                      numba=numba.__version__),
        **C.rates_from_counts(n_sp_exc, int(spike_i.size) - n_sp_exc, n_exc, n - n_exc, args.duration_ms),
    )
    if not exc_names:  # no excitatory population by that name: rate over all cells only
        result["mean_rate_exc_hz"] = float("nan")
        result["mean_rate_hz"] = spike_i.size / (n * args.duration_ms / 1000.0)
    C.emit(result, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
