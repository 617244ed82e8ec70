"""Hand-written Numba loop for the Izhikevich (2003) networks: the yardstick.

    .venv/bin/python -m benchmarks.reference_numba --network izh2003_10k --out r.json

This is not part of l5sim; it is the simplest fast program that does the same
work, against which l5sim's kernels are measured (issue 6 asks for l5sim within
1.5x of it).  It follows the published MATLAB listing (Izhikevich 2003, Fig. 3)
step for step:

1. spikes: every cell with v >= 30 mV is recorded, then v <- c, u <- u + d;
2. input: I = noise[t] + sum of the weights of this step's spikes
   (``izh2003_1k``: a dense pre-major float32 matrix, one contiguous row added
   per spike; ``izh2003_10k``: pre-major CSR with int32 targets, float32
   weights);
3. v in two 0.5 ms half-steps, then u once from the new v.

The noise (sigma * N(0, 1) per cell per 1 ms step: 5 excitatory, 2 inhibitory)
is drawn in NumPy before the loop, as a (steps, cells) float64 array, and timed
separately (``noise_s``), as in the issue's reference table; ``simulate_s`` is
the loop alone and ``simulate_with_noise_s`` the sum.  The STDP network is not
implemented here (no reference figure), nor are the column networks.
"""
from __future__ import annotations

import os
import sys
import time

import numpy as np
from numba import njit

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "peers"))
import _common as C  # noqa: E402


@njit(cache=True, nogil=True, fastmath=False)
def _run_dense(v, u, a, b, c, d, w_pre_major, noise, spk_i, spk_t):
    n = v.shape[0]
    n_steps = noise.shape[0]
    fired = np.empty(n, np.int64)
    inp = np.empty(n, np.float64)
    ns = 0
    for t in range(n_steps):
        nf = 0
        for i in range(n):
            if v[i] >= 30.0:
                fired[nf] = i
                nf += 1
                v[i] = c[i]
                u[i] += d[i]
        for k in range(nf):
            if ns < spk_i.shape[0]:
                spk_i[ns] = fired[k]
                spk_t[ns] = t
            ns += 1
        for i in range(n):
            inp[i] = noise[t, i]
        for k in range(nf):
            row = w_pre_major[fired[k]]
            for i in range(n):
                inp[i] += row[i]
        for i in range(n):
            vi = v[i]
            ui = u[i]
            ii = inp[i]
            vi += 0.5 * (0.04 * vi * vi + 5.0 * vi + 140.0 - ui + ii)
            vi += 0.5 * (0.04 * vi * vi + 5.0 * vi + 140.0 - ui + ii)
            u[i] = ui + a[i] * (b[i] * vi - ui)
            v[i] = vi
    return ns


@njit(cache=True, nogil=True, fastmath=False)
def _run_csr(v, u, a, b, c, d, row_ptr, post, w, noise, spk_i, spk_t):
    n = v.shape[0]
    n_steps = noise.shape[0]
    fired = np.empty(n, np.int64)
    inp = np.empty(n, np.float64)
    ns = 0
    for t in range(n_steps):
        nf = 0
        for i in range(n):
            if v[i] >= 30.0:
                fired[nf] = i
                nf += 1
                v[i] = c[i]
                u[i] += d[i]
        for k in range(nf):
            if ns < spk_i.shape[0]:
                spk_i[ns] = fired[k]
                spk_t[ns] = t
            ns += 1
        for i in range(n):
            inp[i] = noise[t, i]
        for k in range(nf):
            j = fired[k]
            for s in range(row_ptr[j], row_ptr[j + 1]):
                inp[post[s]] += w[s]
        for i in range(n):
            vi = v[i]
            ui = u[i]
            ii = inp[i]
            vi += 0.5 * (0.04 * vi * vi + 5.0 * vi + 140.0 - ui + ii)
            vi += 0.5 * (0.04 * vi * vi + 5.0 * vi + 140.0 - ui + ii)
            u[i] = ui + a[i] * (b[i] * vi - ui)
            v[i] = vi
    return ns


def cell_params(n_exc, n_inh, rng):
    """Per-cell a, b, c, d with the 2003 heterogeneity (float64 arrays)."""
    re, ri = rng.random(n_exc), rng.random(n_inh)
    a = np.concatenate([np.full(n_exc, 0.02), 0.02 + 0.08 * ri])
    b = np.concatenate([np.full(n_exc, 0.2), 0.25 - 0.05 * ri])
    c = np.concatenate([-65.0 + 15.0 * re**2, np.full(n_inh, -65.0)])
    d = np.concatenate([8.0 - 6.0 * re**2, np.full(n_inh, 2.0)])
    return a, b, c, d


def presynaptic_weight_range(n_exc, n):
    """(low, high) of the uniform weight of each presynaptic cell: [0, 0.5) or [-1, 0)."""
    lo = np.where(np.arange(n) < n_exc, 0.0, -C.W_INH_MAX)
    hi = np.where(np.arange(n) < n_exc, C.W_EXC_MAX, 0.0)
    return lo, hi


def build_dense(n_exc, n, rng):
    lo, hi = presynaptic_weight_range(n_exc, n)
    w = rng.random((n, n), dtype=np.float32)
    w *= (hi - lo).astype(np.float32)[:, None]
    w += lo.astype(np.float32)[:, None]
    return w


def build_csr(n_exc, n, p, rng, block=500):
    """Pre-major CSR: every ordered pair (autapses included) with probability p."""
    lo, hi = presynaptic_weight_range(n_exc, n)
    counts = np.zeros(n, np.int64)
    posts, ws = [], []
    for r0 in range(0, n, block):
        r1 = min(n, r0 + block)
        mask = rng.random((r1 - r0, n), dtype=np.float32) < p
        pi, pj = np.nonzero(mask)
        counts[r0:r1] = np.bincount(pi, minlength=r1 - r0)
        wv = rng.random(pi.shape[0], dtype=np.float32)
        wv = lo[pi + r0] + (hi[pi + r0] - lo[pi + r0]) * wv
        posts.append(pj.astype(np.int32))
        ws.append(wv.astype(np.float32))
    row_ptr = np.zeros(n + 1, np.int64)
    np.cumsum(counts, out=row_ptr[1:])
    return row_ptr, np.concatenate(posts), np.concatenate(ws)


def draw_noise(n_exc, n_inh, n_steps, rng):
    sigma = np.concatenate([np.full(n_exc, C.NOISE_EXC), np.full(n_inh, C.NOISE_INH)])
    noise = rng.standard_normal((n_steps, n_exc + n_inh))
    noise *= sigma
    return noise


def main(argv=None) -> int:
    args = C.make_parser("hand-written Numba reference loop").parse_args(argv)
    spec = C.NETWORKS[args.network]
    if spec["family"] != "izh2003" or spec["stdp"]:
        print(f"reference_numba: no reference implementation for {args.network}", file=sys.stderr)
        return 3
    if args.threads != 1:
        print("reference_numba: the reference loop is serial (one thread only)", file=sys.stderr)
        return 3
    import numba

    n_exc, n_inh = spec["n_exc"], spec["n_inh"]
    n = n_exc + n_inh
    n_steps = int(round(args.duration_ms / C.DT_MS))
    ss = np.random.SeedSequence(args.seed)
    rng_cells, rng_conn, rng_noise = (np.random.default_rng(s) for s in ss.spawn(3))
    cache_had = C.numba_cache_has_index(os.environ.get("NUMBA_CACHE_DIR", ""))

    t0 = time.perf_counter()
    a, b, c, d = cell_params(n_exc, n_inh, rng_cells)
    v = np.full(n, C.V_INIT)
    u = b * v
    if spec["connectivity"] == "all_to_all":
        w = build_dense(n_exc, n, rng_conn)
        n_syn, syn_bytes = n * n, w.nbytes
    else:
        row_ptr, post, w = build_csr(n_exc, n, spec["p"], rng_conn)
        n_syn, syn_bytes = int(post.shape[0]), post.nbytes + w.nbytes + row_ptr.nbytes
    build_s = time.perf_counter() - t0

    # Compile (or load from Numba's cache) on a one-step problem of the same types.
    t0 = time.perf_counter()
    tiny = np.zeros((1, n))
    si, st = np.empty(16, np.int32), np.empty(16, np.int32)
    if spec["connectivity"] == "all_to_all":
        _run_dense(v.copy(), u.copy(), a, b, c, d, w, tiny, si, st)
    else:
        _run_csr(v.copy(), u.copy(), a, b, c, d, row_ptr, post, w, tiny, si, st)
    compile_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    noise = draw_noise(n_exc, n_inh, n_steps, rng_noise)
    noise_s = time.perf_counter() - t0

    cap = max(50 * n * n_steps // 1000, 1000)  # room for 50 Hz
    spk_i, spk_t = np.empty(cap, np.int32), np.empty(cap, np.int32)
    t0 = time.perf_counter()
    if spec["connectivity"] == "all_to_all":
        ns = _run_dense(v, u, a, b, c, d, w, noise, spk_i, spk_t)
    else:
        ns = _run_csr(v, u, a, b, c, d, row_ptr, post, w, noise, spk_i, spk_t)
    sim_s = time.perf_counter() - t0
    k = min(ns, cap)
    n_sp_exc = int((spk_i[:k] < n_exc).sum()) + 0
    result = dict(
        implementation="reference_numba", network=args.network, duration_ms=args.duration_ms, seed=args.seed,
        n_neurons=n, n_exc=n_exc, n_inh=n_inh, n_synapses=int(n_syn),
        n_spikes=int(ns), n_spikes_exc=n_sp_exc, n_spikes_inh=int(ns) - n_sp_exc,
        build_s=build_s, compile_s=compile_s, compile_kind="warm" if cache_had else "cold",
        noise_s=noise_s, simulate_s=sim_s, simulate_with_noise_s=sim_s + noise_s,
        bytes_per_synapse=syn_bytes / max(n_syn, 1),
        bytes_per_synapse_method="arrays: float32 dense matrix, or CSR int32 target + float32 weight + row pointers",
        threads=1, versions=dict(C.base_versions(), numpy=np.__version__, numba=numba.__version__),
        notes="noise drawn in NumPy before the loop (noise_s), simulate_s is the loop alone",
        **C.rates_from_counts(n_sp_exc, int(ns) - n_sp_exc, n_exc, n_inh, args.duration_ms),
    )
    if ns > cap:
        result["notes"] += f"; spike buffer overflowed ({ns} > {cap}), exc/inh split approximate"
    C.emit(result, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
