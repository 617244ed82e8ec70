"""Where l5sim's simulate time goes on the Izhikevich 2003 networks, by ablation.

Three builds of the same network (default 8000 + 2000 cells, p = 0.1, 1 ms steps): the
full network; the same without noise (then nothing fires: the bare neuron loop); the
same without synapses (neuron loop + noise + the few spikes). Wall time of
``l5sim.simulate`` (the point kernel, serial or on every numba thread), best of five 1 s
runs each:

    .venv/bin/python benchmarks/profile_l5sim.py [--size 10000] [--serial] [--kernel general] [--dense]

noise ~ (no synapses) - (no noise); delivery ~ (full) - (no synapses).
"""
from __future__ import annotations

import argparse
import time

PATHS = ("ee", "ei", "ie", "ii")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=10000)
    ap.add_argument("--serial", action="store_true", help="one thread (default: the default choice)")
    ap.add_argument("--kernel", default="auto", choices=("auto", "general", "point"))
    ap.add_argument("--dense", action="store_true", help="all-to-all, as circuits/izhikevich2003.toml (izh2003_1k)")
    args = ap.parse_args(argv)
    par = False if args.serial else None
    import l5sim

    n_exc, n_inh = int(args.size * 0.8), args.size - int(args.size * 0.8)
    base = {"populations.exc.n": n_exc, "populations.inh.n": n_inh}
    if not args.dense:
        base.update({**{f"pathways.{p}.connectivity.rule": "fixed_prob" for p in PATHS},
                     **{f"pathways.{p}.connectivity.p": 0.1 for p in PATHS}})
    variants = {
        "full": base,
        "no noise (silent)": {**base, "inputs.thalamic_exc.sigma_pA": 0.0, "inputs.thalamic_inh.sigma_pA": 0.0},
        "no synapses": {**base, **{f"pathways.{p}.connectivity.rule": "fixed_prob" for p in PATHS},
                        **{f"pathways.{p}.connectivity.p": 0.0 for p in PATHS}},
    }
    cpu = {}
    for label, over in variants.items():
        net = l5sim.build(l5sim.load_circuit("circuits/izhikevich2003.toml", overrides=over), 1)
        l5sim.simulate(net, 10.0, parallel=par, kernel=args.kernel)
        best = 1e9
        for _ in range(5):
            c = time.perf_counter()
            rec = l5sim.simulate(net, 1000.0, parallel=par, kernel=args.kernel)
            best = min(best, time.perf_counter() - c)
        cpu[label] = best
        k = rec.metadata["kernel"]
        print(f"{label:>20s}: {best:.4f} s, {rec.spike_i.size} spikes ({k['name']} kernel, {k['threads']} thread(s))")
    print(f"{'neuron loop':>20s}: {cpu['no noise (silent)']:.4f} s")
    print(f"{'noise':>20s}: {cpu['no synapses'] - cpu['no noise (silent)']:.4f} s")
    print(f"{'delivery':>20s}: {cpu['full'] - cpu['no synapses']:.4f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
