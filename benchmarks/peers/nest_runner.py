"""NEST implementation of the benchmark networks (run with .venv-nest's python).

    .venv-nest/bin/python benchmarks/peers/nest_runner.py --network izh2003_1k --out r.json

Faithfulness notes (NEST 3.x sources, ``models/izhikevich.cpp``):

* ``izhikevich`` with ``consistent_integration=False`` is the published 2003
  scheme: v in two 0.5 ms half-steps whose input is ``I + spikes arriving this
  step``, then u from the new v; threshold ``V_th`` 30 mV; reset c, u += d.
  NEST adds the arriving spike weight into both half-steps, exactly as the
  MATLAB code adds ``sum(S(:, fired))`` to I.  Resolution 1 ms, delays 1 ms: a
  spike emitted at the end of step t enters the integration of step t+1, as in
  the published code (fired at the start of a step, its input used in that
  step's update).
* Noise: one ``noise_generator`` per population with ``dt = 1 ms``, mean 0, std
  5 (excitatory) or 2 (inhibitory).  A noise generator draws an independent
  value for each of its targets at each interval (NEST docs: "All targets
  receive different currents, but the currents for all targets change at the
  same points in time"), so this is I = sigma * randn per neuron per ms, drawn by
  NEST's own RNG.
* STDP: ``stdp_nn_symm_synapse`` (symmetric nearest-neighbour pairing, each
  spike resetting its trace: Izhikevich 2006's scheme) with additive updates
  (mu_plus = mu_minus = 0), lambda = A+ / W_max, alpha = A- / A+, so that
  dw = +A+ exp(-dt/tau) and -A- exp(-dt/tau), clipped to [0, W_max].
* ``local_num_threads`` = ``--threads`` (default 1).
"""
from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _common as C  # noqa: E402

os.environ.setdefault("PYNEST_QUIET", "1")


def main(argv=None) -> int:
    args = C.make_parser("NEST benchmark runner").parse_args(argv)
    spec = C.NETWORKS[args.network]
    if spec["family"] != "izh2003":
        print(f"nest_runner: no peer implementation for {args.network}", file=sys.stderr)
        return 3

    with C.Timer() as t_import:
        import nest
        import numpy as np
    try:
        nest.verbosity = nest.VerbosityLevel.ERROR
    except AttributeError:  # NEST < 3.9
        nest.set_verbosity("M_ERROR")

    n_exc, n_inh = spec["n_exc"], spec["n_inh"]
    n = n_exc + n_inh
    rss_before_build = C.current_rss_mib()

    with C.Timer() as t_build:
        nest.ResetKernel()
        nest.SetKernelStatus({"resolution": C.DT_MS, "local_num_threads": args.threads, "rng_seed": args.seed,
                              "print_time": False})
        # Per-neuron heterogeneity drawn with NumPy (parameters only; NEST draws
        # the connectivity, weights and noise with its own RNG).
        rng = np.random.default_rng(args.seed)
        re, ri = rng.random(n_exc), rng.random(n_inh)
        exc = nest.Create("izhikevich", n_exc, params={
            "a": 0.02, "b": 0.2, "c": (-65.0 + 15.0 * re**2).tolist(), "d": (8.0 - 6.0 * re**2).tolist(),
            "V_m": C.V_INIT, "U_m": 0.2 * C.V_INIT, "V_th": C.V_PEAK, "consistent_integration": False,
            "tau_minus": C.STDP_TAU_MS,
        })
        bi = 0.25 - 0.05 * ri
        inh = nest.Create("izhikevich", n_inh, params={
            "a": (0.02 + 0.08 * ri).tolist(), "b": bi.tolist(), "c": -65.0, "d": 2.0,
            "V_m": C.V_INIT, "U_m": (bi * C.V_INIT).tolist(), "V_th": C.V_PEAK, "consistent_integration": False,
            "tau_minus": C.STDP_TAU_MS,
        })
        allc = exc + inh
        if spec["connectivity"] == "all_to_all":
            conn = {"rule": "all_to_all", "allow_autapses": True}
        else:
            conn = {"rule": "pairwise_bernoulli", "p": spec["p"], "allow_autapses": True}
        if spec["stdp"]:
            nest.CopyModel("stdp_nn_symm_synapse", "stdp_izh", {
                "tau_plus": C.STDP_TAU_MS, "Wmax": C.W_MAX, "mu_plus": 0.0, "mu_minus": 0.0,
                "lambda": C.STDP_A_PLUS / C.W_MAX, "alpha": C.STDP_A_MINUS / C.STDP_A_PLUS,
            })
            exc_syn = {"synapse_model": "stdp_izh", "weight": nest.random.uniform(0.0, C.W_EXC_MAX), "delay": C.DT_MS}
        else:
            exc_syn = {"synapse_model": "static_synapse", "weight": nest.random.uniform(0.0, C.W_EXC_MAX), "delay": C.DT_MS}
        nest.Connect(exc, allc, conn, exc_syn)
        nest.Connect(inh, allc, conn, {"synapse_model": "static_synapse",
                                        "weight": nest.random.uniform(-C.W_INH_MAX, 0.0), "delay": C.DT_MS})
        n_syn = nest.GetKernelStatus("num_connections")  # before the noise and recorder links
        noise_e = nest.Create("noise_generator", params={"mean": 0.0, "std": C.NOISE_EXC, "dt": C.DT_MS})
        noise_i = nest.Create("noise_generator", params={"mean": 0.0, "std": C.NOISE_INH, "dt": C.DT_MS})
        nest.Connect(noise_e, exc, "all_to_all", {"delay": C.DT_MS})
        nest.Connect(noise_i, inh, "all_to_all", {"delay": C.DT_MS})
        rec = nest.Create("spike_recorder")
        nest.Connect(allc, rec)
        nest.Prepare()  # allocation and calibration belong to the build phase
    rss_after_build = C.current_rss_mib()

    with C.Timer() as t_sim:
        nest.Run(args.duration_ms)
    nest.Cleanup()

    ev = rec.get("events")
    senders = np.asarray(ev["senders"])
    first_inh = inh[0].global_id
    n_sp_inh = int((senders >= first_inh).sum())
    n_sp_exc = int(senders.size - n_sp_inh)
    result = dict(
        implementation="nest", network=args.network, duration_ms=args.duration_ms, seed=args.seed,
        n_neurons=n, n_exc=n_exc, n_inh=n_inh, n_synapses=int(n_syn),
        n_spikes=int(senders.size), n_spikes_exc=n_sp_exc, n_spikes_inh=n_sp_inh,
        build_s=t_build.s, simulate_s=t_sim.s, load_s=t_import.s, compile_s=None,
        bytes_per_synapse=(rss_after_build - rss_before_build) * 2**20 / max(n_syn, 1),
        bytes_per_synapse_method="RSS growth during build / synapses",
        threads=args.threads,
        versions=dict(C.base_versions(), nest=nest.__version__, numpy=np.__version__),
        notes="izhikevich consistent_integration=False; noise_generator dt=1 ms; static_synapse delay 1 ms"
        + ("; stdp_nn_symm_synapse (additive)" if spec["stdp"] else ""),
        **C.rates_from_counts(n_sp_exc, n_sp_inh, n_exc, n_inh, args.duration_ms),
    )
    if spec["stdp"]:
        # Weight statistics on the synapses of the first 100 excitatory cells:
        # reading all 8M connections' status dictionaries takes tens of GiB.
        w = np.asarray(nest.GetConnections(exc[:100], allc).get("weight"))
        result["stdp_w_mean_end"] = float(w.mean())
        result["stdp_w_frac_at_bounds"] = float(((w <= 0.0) | (w >= C.W_MAX)).mean())
    if args.profile:
        result["profile"] = ablation_profile(nest, np, spec, args, t_sim.s)
    C.emit(result, args.out)
    return 0


def ablation_profile(nest, np, spec, args, full_s):
    """NEST has no per-phase profiler in the Python API: measure by ablation.

    Rebuild with (a) neurons and noise but no recurrent synapses, (b) neurons alone;
    the differences split the simulate time into neuron update, noise generation
    and delivery, and spike exchange and delivery through the synapses.
    """
    times = {}
    for label, with_noise in (("neurons_and_noise", True), ("neurons_only", False)):
        nest.ResetKernel()
        nest.SetKernelStatus({"resolution": C.DT_MS, "local_num_threads": 1, "rng_seed": args.seed})
        pop = nest.Create("izhikevich", spec["n_exc"] + spec["n_inh"],
                          params={"consistent_integration": False, "V_m": C.V_INIT, "U_m": 0.2 * C.V_INIT})
        if with_noise:
            ng = nest.Create("noise_generator", params={"mean": 0.0, "std": C.NOISE_EXC, "dt": C.DT_MS})
            nest.Connect(ng, pop, "all_to_all", {"delay": C.DT_MS})
        rec = nest.Create("spike_recorder")
        nest.Connect(pop, rec)
        nest.Prepare()
        with C.Timer() as t:
            nest.Run(args.duration_ms)
        nest.Cleanup()
        times[label] = t.s
    parts = [
        ("neuron update", times["neurons_only"]),
        ("noise generation and delivery", max(times["neurons_and_noise"] - times["neurons_only"], 0.0)),
        ("spike exchange and synaptic delivery", max(full_s - times["neurons_and_noise"], 0.0)),
    ]
    total = sum(t for _, t in parts) or 1.0
    return [dict(name=n, seconds=t, fraction=t / total) for n, t in parts]


if __name__ == "__main__":
    sys.exit(main())
