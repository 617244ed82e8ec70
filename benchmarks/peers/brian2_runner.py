"""Brian2 implementation of the benchmark networks (run with .venv-brian2's python).

    .venv-brian2/bin/python benchmarks/peers/brian2_runner.py --network izh2003_1k \
        --target standalone --workdir /tmp/b2 --out r.json

Two targets:

``--target runtime``
    Brian2's runtime device with the Cython code-generation target.  Compiled
    extensions are cached in ``--workdir`` (an empty directory gives a cold
    compile; the same directory again a warm one).  ``compile_s`` is the time of
    a ``run(0 ms)`` that generates and compiles every code object of the run
    loop; ``simulate_s`` the following ``run(duration)``.  The synapse-creation
    and initialisation code is compiled during the build phase (``build_s``).
``--target standalone``
    ``cpp_standalone`` in ``--workdir``: ``compile_s`` is code generation plus
    ``make`` (cold in a fresh directory; warm when the directory holds a previous
    build of the same network, where make finds nothing to do); ``simulate_s`` is
    the binary's own timing of its run loop (``device._last_run_time``);
    ``build_s`` is the Python-side construction plus the binary's time outside
    its run loop (synapse creation, initialisation, writing results).

The model (Izhikevich 2003, published integration): neurons carry v, u, a, b,
c, d, sigma and an input accumulator Isyn; a ``run_regularly`` operation at the
start of each 1 ms step computes I = sigma * randn() + Isyn, advances v in two
0.5 ms half-steps, then u from the new v, and clears Isyn; the threshold
(v >= 30) and reset (v = c, u += d) follow; synapses add their weight to the
target's Isyn (``on_pre: Isyn_post += w``, no delay), so a spike emitted in step
t enters the integration of step t + 1, exactly as in the published code.

STDP (``izh2003_10k_stdp``): Brian2's idiomatic event-driven per-synapse traces,
with each spike *setting* its trace (nearest-spike, Izhikevich 2006):
``on_pre: apre = A+; w = clip(w + apost, 0, W_max)`` and
``on_post: apost = -A-; w = clip(w + apre, 0, W_max)``.
"""
from __future__ import annotations

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common as C  # noqa: E402


def build_network(b2, spec, args):
    """Create the groups, synapses and monitor; returns (net, group, monitor, synapses list)."""
    ms = b2.ms
    n_exc, n_inh = spec["n_exc"], spec["n_inh"]
    n = n_exc + n_inh
    b2.defaultclock.dt = C.DT_MS * ms
    b2.seed(args.seed)
    eqs = """
    v : 1
    u : 1
    Isyn : 1
    r : 1 (constant)
    a : 1 (constant)
    b : 1 (constant)
    c : 1 (constant)
    d : 1 (constant)
    sigma : 1 (constant)
    """
    G = b2.NeuronGroup(n, eqs, threshold=f"v >= {C.V_PEAK}", reset="v = c; u += d", name="izh")
    G.run_regularly(
        """
        I = sigma * randn() + Isyn
        v += 0.5 * (0.04 * v**2 + 5 * v + 140 - u + I)
        v += 0.5 * (0.04 * v**2 + 5 * v + 140 - u + I)
        u += a * (b * v - u)
        Isyn = 0
        """,
        dt=C.DT_MS * ms, when="start", name="izh2003_update",
    )
    G.r = "rand()"
    G.a = f"0.02 + 0.08 * r * int(i >= {n_exc})"
    G.b = f"0.2 + (0.05 - 0.05 * r) * int(i >= {n_exc})"
    G.c = f"-65 + 15 * r**2 * int(i < {n_exc})"
    G.d = f"(8 - 6 * r**2) * int(i < {n_exc}) + 2 * int(i >= {n_exc})"
    G.sigma = f"{C.NOISE_EXC} * int(i < {n_exc}) + {C.NOISE_INH} * int(i >= {n_exc})"
    G.v = C.V_INIT
    G.u = "b * v"
    exc, inh = G[:n_exc], G[n_exc:]
    if spec["stdp"]:
        model = """
        w : 1
        dapre/dt = -apre / taupre : 1 (event-driven)
        dapost/dt = -apost / taupost : 1 (event-driven)
        """
        se = b2.Synapses(
            exc, G, model,
            on_pre=f"Isyn_post += w; apre = {C.STDP_A_PLUS}; w = clip(w + apost, 0, {C.W_MAX})",
            on_post=f"apost = -{C.STDP_A_MINUS}; w = clip(w + apre, 0, {C.W_MAX})",
            namespace=dict(taupre=C.STDP_TAU_MS * ms, taupost=C.STDP_TAU_MS * ms), name="syn_exc",
        )
    else:
        se = b2.Synapses(exc, G, "w : 1", on_pre="Isyn_post += w", name="syn_exc")
    si = b2.Synapses(inh, G, "w : 1", on_pre="Isyn_post += w", name="syn_inh")
    for s in (se, si):
        if spec["connectivity"] == "all_to_all":
            s.connect()
        else:
            s.connect(p=spec["p"])
    se.w = f"{C.W_EXC_MAX} * rand()"
    si.w = f"-{C.W_INH_MAX} * rand()"
    mon = b2.SpikeMonitor(G, name="spikes")
    net = b2.Network(G, se, si, mon)
    return net, G, mon, (se, si)


def build_column(b2, spec, args):
    """The L5 column (``brian2_column.py``); returns (net, groups, monitors, synapses, sizes)."""
    import brian2_column as BC

    data = BC.load()
    dt = float(data["circuit"].get("dt_ms", 0.1))
    b2.defaultclock.dt = dt * b2.ms
    b2.seed(args.seed)
    objects, groups, mons, syns, sizes = BC.build(b2, data, C.column_scale(args.network), dt)
    return b2.Network(*objects), groups, mons, syns, sizes


def _column_counts(groups, mons, sizes, duration_ms):
    """Spike counts, per-population rates and the pyramidal burst-reset share."""
    import numpy as np

    per_pop, n_sp = {}, 0
    for name, m in mons.items():
        cnt = int(m.num_spikes)
        n_sp += cnt
        per_pop[name] = dict(n=sizes[name], rate_hz=cnt / sizes[name] / (duration_ms / 1000.0))
    pyr = groups["pyr"]
    nspk = int(np.asarray(pyr.nspk[:]).sum())
    nburst = int(np.asarray(pyr.nburst[:]).sum())
    return n_sp, per_pop, (nburst / nspk if nspk else float("nan"))


def main(argv=None) -> int:
    p = C.make_parser("Brian2 benchmark runner")
    p.add_argument("--target", choices=("runtime", "standalone"), required=True)
    p.add_argument("--workdir", required=True,
                   help="standalone project directory, or the Cython cache directory of the runtime target")
    args = p.parse_args(argv)
    spec = C.NETWORKS[args.network]
    column = spec["family"] == "column"
    if args.threads > 1 and args.target == "runtime":
        print("brian2_runner: the runtime (Cython) target runs on one thread only", file=sys.stderr)
        return 3
    if column and args.target == "runtime":
        print(f"brian2_runner: {args.network} runs on the standalone target only (the runtime target would take "
              "hours at 10k)", file=sys.stderr)
        return 3
    os.makedirs(args.workdir, exist_ok=True)
    workdir = os.path.abspath(args.workdir)
    had_build = os.path.exists(os.path.join(workdir, "main"))

    with C.Timer() as t_import:
        import brian2 as b2
        import numpy as np
    b2.prefs.logging.console_log_level = "WARNING"
    b2.prefs.logging.file_log = False
    b2.prefs.logging.delete_log_on_exit = True
    result = dict(implementation=f"brian2_{args.target}", network=args.network, duration_ms=args.duration_ms,
                  seed=args.seed, load_s=t_import.s, threads=args.threads,
                  versions=dict(C.base_versions(), brian2=b2.__version__, numpy=np.__version__))
    if not column:
        result.update(n_exc=spec["n_exc"], n_inh=spec["n_inh"], n_neurons=spec["n_exc"] + spec["n_inh"])
    builder = build_column if column else build_network

    if args.target == "runtime":
        b2.prefs.codegen.target = "cython"
        b2.prefs.codegen.runtime.cython.cache_dir = workdir
        b2.prefs.codegen.runtime.cython.multiprocess_safe = False
        cache_files_before = len(os.listdir(workdir))
        rss0 = C.current_rss_mib()
        with C.Timer() as t_build:
            net, G, mon, syns = builder(b2, spec, args)[:4]
        n_syn = sum(len(s) for s in syns)
        with C.Timer() as t_compile:
            net.run(0 * b2.ms)
        with C.Timer() as t_sim:
            net.run(args.duration_ms * b2.ms, profile=args.profile)
        arrays = 0
        for s in syns:
            arrays += s.w[:].nbytes + s.variables["_synaptic_pre"].get_value().nbytes \
                + s.variables["_synaptic_post"].get_value().nbytes
        result.update(build_s=t_build.s, compile_s=t_compile.s, simulate_s=t_sim.s,
                      compile_kind="warm" if cache_files_before else "cold",
                      rss_build_delta_mib=C.current_rss_mib() - rss0)
        spikes_i = np.asarray(mon.i[:])
    else:
        b2.set_device("cpp_standalone", directory=workdir, build_on_run=False, with_output=False)
        if args.threads > 1:
            b2.prefs.devices.cpp_standalone.openmp_threads = args.threads
        b2.prefs.devices.cpp_standalone.run_cmd_unix = [sys.executable, os.path.join(os.path.dirname(
            os.path.abspath(__file__)), "_rss_wrapper.py"), "./main"]
        stats_file = os.path.join(workdir, "bench_child_stats.json")
        os.environ["BENCH_CHILD_STATS"] = stats_file
        with C.Timer() as t_py:
            net, G, mon, syns, *rest = builder(b2, spec, args)
            net.run(args.duration_ms * b2.ms, profile=args.profile)
        with C.Timer() as t_codegen_compile:
            b2.device.build(directory=workdir, compile=True, run=False, with_output=False)
        make_s = b2.device.timers["compile"].get("make") or 0.0
        b2.device.run(directory=workdir, with_output=False)
        with open(stats_file) as f:
            child = json.load(f)
        sim_s = float(b2.device._last_run_time)
        n_syn = sum(len(s) for s in syns)
        result.update(
            build_s=t_py.s + max(child["wall_s"] - sim_s, 0.0),
            build_python_s=t_py.s, binary_wall_s=child["wall_s"],
            compile_s=t_codegen_compile.s, make_s=make_s, codegen_s=t_codegen_compile.s - make_s,
            compile_kind="warm" if had_build else "cold",
            simulate_s=sim_s, binary_peak_rss_mib=child["peak_rss_mib"], binary_cpu_s=child.get("cpu_s"),
        )
        if column:
            # int32 pre and post indices, float64 weight and (heterogeneous) float64 delay
            arrays = n_syn * (4 + 4 + 8 + 8)
        else:
            # int32 pre and post indices, float64 weight (+ two float64 traces and a
            # lastupdate with STDP): the arrays Brian2 keeps for every synapse.
            arrays = n_syn * (4 + 4 + 8) + (len(syns[0]) * 3 * 8 if spec["stdp"] else 0)
            spikes_i = np.asarray(mon.i[:])

    if column:
        sizes = rest[0]
        n_sp, per_pop, burst_share = _column_counts(G, mon, sizes, args.duration_ms)
        n = sum(sizes.values())
        n_sp_exc = int(mon["pyr"].num_spikes)
        result.update(n_neurons=n, n_exc=sizes["pyr"], n_inh=n - sizes["pyr"], per_population=per_pop,
                      burst_share_pyr=burst_share, notes="peers/brian2_column.py (per-spike gate)")
    else:
        n_sp = int(spikes_i.size)
        n_sp_exc = int((spikes_i < spec["n_exc"]).sum())
    result.update(
        n_synapses=int(n_syn), n_spikes=n_sp, n_spikes_exc=n_sp_exc, n_spikes_inh=n_sp - n_sp_exc,
        bytes_per_synapse=arrays / max(n_syn, 1),
        bytes_per_synapse_method="Brian2's per-synapse arrays (indices, weights, traces)",
        **C.rates_from_counts(n_sp_exc, n_sp - n_sp_exc, result["n_exc"], result["n_inh"], args.duration_ms),
    )
    if args.target == "standalone":
        result["peak_rss_mib"] = max(C.peak_rss_mib(), result["binary_peak_rss_mib"])
    if not column and spec["stdp"]:
        w = np.asarray(syns[0].w[:])
        result["stdp_w_mean_end"] = float(w.mean())
        result["stdp_w_frac_at_bounds"] = float(((w <= 0.0) | (w >= C.W_MAX)).mean())
    if args.profile:
        info = sorted(net.profiling_info, key=lambda x: -float(x[1]))
        total = sum(float(t) for _, t in info) or 1.0
        result["profile"] = [dict(name=name, seconds=float(t), fraction=float(t) / total) for name, t in info]
    C.emit(result, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
