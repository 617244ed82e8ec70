"""A slow, obviously correct reference simulator (the habit of stumpy's ``tests/naive.py``).

It simulates a :class:`l5sim.BuiltCircuit` with the semantics documented in
``l5sim/kernels/engine.py``, ``l5sim/models/*.py`` and science.md sections 2-4, written
the plain way: one Python loop per neuron and per step, parameters read from the spec's
parameter records (not from the kernel's parameter table), dense per-pathway weight and
delay matrices, an explicit queue of pending synaptic events keyed by arrival step, and
each cell's spike times kept as a list (the bAP window is a search over that list, not a
bit register). It reuses from the build only what was drawn at random there (the wiring,
the 2003 heterogeneity and the jittered initial potentials) and draws every dynamic random
number from the same per-neuron xoroshiro128+ streams as the kernel, re-implemented here
with Python integers, so that for the same seed it must fire the same spikes.

Use it on small circuits only (tens of neurons, hundreds of ms): it runs about 1e5
neuron-steps per second.

Step order (engine module docstring), step t:

1. next-step detection (state left by step t-1) and Poisson sources emit; their spikes
   are queued at t + delay (delay 0 acts on this very step);
2. external Poisson inputs queue their events at t;
3. each neuron sums its events due at t, integrates one step, and (same-step detection)
   fires and resets; conductances then decay by exp(-dt / tau);
4. same-step spikes are queued at t + delay (delay >= 1); traces are sampled.
"""
from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from l5sim.builder import stream
from l5sim.kernels import records as _records
from l5sim.kernels.rng import seed_streams

MASK64 = (1 << 64) - 1
CONDUCTANCE_RECEPTORS = ("AMPA", "NMDA", "GABA_A", "GABA_B")
COMPARTMENTS = ("soma", "dendrite")
TWO_PI = 6.283185307179586
# Divergence guard: a run stops when |v| or |v_d| reaches VMAX (mV) or |u| reaches UMAX (pA),
# or either is NaN. These are the engine's documented policy bounds, not dynamics.
VMAX = _records.VMAX
UMAX = _records.UMAX


def _zigset():
    """Ziggurat tables (Marsaglia & Tsang 2000, J Stat Softw 5(8), ``zigset``)."""
    m1 = 2147483648.0
    dn = tn = 3.442619855899
    vn = 9.91256303526217e-3
    kn, wn, fn = [0] * 128, [0.0] * 128, [0.0] * 128
    q = vn / math.exp(-0.5 * dn * dn)
    kn[0] = int((dn / q) * m1)
    wn[0] = q / m1
    wn[127] = dn / m1
    fn[0] = 1.0
    fn[127] = math.exp(-0.5 * dn * dn)
    for i in range(126, 0, -1):
        dn = math.sqrt(-2.0 * math.log(vn / dn + math.exp(-0.5 * dn * dn)))
        kn[i + 1] = int((dn / tn) * m1)
        tn = dn
        fn[i] = math.exp(-0.5 * dn * dn)
        wn[i] = dn / m1
    return kn, wn, fn


ZIG = _zigset()


# ----------------------------------------------------------------------------------------
# Random streams: xoroshiro128+ (Blackman & Vigna 2018) on Python integers.

def _rotl(x: int, k: int) -> int:
    return ((x << k) | (x >> (64 - k))) & MASK64


class Streams:
    """Independent xoroshiro128+ streams, one per column of a ``(2, n)`` uint64 state array
    (l5sim.kernels.rng's layout: row 0 the first words, row 1 the second)."""

    def __init__(self, state: np.ndarray):
        state = np.asarray(state, np.uint64)
        self.s = [[int(a), int(b)] for a, b in zip(state[0], state[1])]
        self.spare = [0.0] * len(self.s)
        self.has_spare = [False] * len(self.s)

    def next_u64(self, j: int) -> int:
        s0, s1 = self.s[j]
        result = (s0 + s1) & MASK64
        s1 ^= s0
        self.s[j][0] = _rotl(s0, 55) ^ s1 ^ ((s1 << 14) & MASK64)
        self.s[j][1] = _rotl(s1, 36)
        return result

    def uniform(self, j: int) -> float:
        """Uniform in [0, 1): the top 53 bits times 2**-53."""
        return (self.next_u64(j) >> 11) * 2.0 ** -53

    def int32(self, j: int) -> int:
        """Signed 32-bit integer from the upper half of the next 64-bit output."""
        x = self.next_u64(j) >> 32
        return x - (1 << 32) if x >= (1 << 31) else x

    def normal(self, j: int) -> float:
        """Ziggurat (Marsaglia & Tsang 2000, 128 layers); tables are the published
        ``zigset`` recursion, recomputed here."""
        kn, wn, fn = ZIG
        r = 3.442619855899
        hz = self.int32(j)
        iz = hz & 127
        if abs(hz) < kn[iz]:
            return hz * wn[iz]
        while True:
            x = hz * wn[iz]
            if iz == 0:
                while True:
                    x = -math.log(1.0 - self.uniform(j)) / r
                    y = -math.log(1.0 - self.uniform(j))
                    if y + y >= x * x:
                        break
                return r + x if hz > 0 else -r - x
            if fn[iz] + self.uniform(j) * (fn[iz - 1] - fn[iz]) < math.exp(-0.5 * x * x):
                return x
            hz = self.int32(j)
            iz = hz & 127
            if abs(hz) < kn[iz]:
                return hz * wn[iz]

    def poisson(self, j: int, lam: float) -> int:
        """Poisson count: inversion of the cumulative distribution below a mean of 10 (cap
        10 lam + 100), Hormann's (1993) transformed rejection PTRS from 10 on, as the
        kernel (l5sim.kernels.rng.poisson), written out from the paper's steps."""
        if lam <= 0.0:
            return 0
        if lam < 10.0:
            u = self.uniform(j)
            p = math.exp(-lam)
            cdf = p
            k = 0
            while u > cdf and k < int(10.0 * lam) + 100:
                k += 1
                p *= lam / k
                cdf += p
            return k
        # PTRS, Hormann (1993) steps 0-3
        b = 0.931 + 2.53 * math.sqrt(lam)
        a = -0.059 + 0.02483 * b
        inv_alpha = 1.1239 + 1.1328 / (b - 3.4)
        v_r = 0.9277 - 3.6224 / (b - 2.0)
        while True:
            u = self.uniform(j) - 0.5
            v = self.uniform(j)
            us = 0.5 - abs(u)
            k = math.floor((2.0 * a / us + b) * u + lam + 0.43)
            if us >= 0.07 and v <= v_r:
                return int(k)
            if k < 0 or (us < 0.013 and v > us):
                continue
            log_ratio = math.log(v) + math.log(inv_alpha) - math.log(a / (us * us) + b)
            if log_ratio <= -lam + k * math.log(lam) - math.lgamma(k + 1.0):
                return int(k)


# ----------------------------------------------------------------------------------------

def mg_block(v: float) -> float:
    """NMDA Mg2+ block B(v) = x^2 / (1 + x^2), x = (v + 80) / 60 (Izhikevich & Edelman 2008)."""
    x = (v + 80.0) / 60.0
    return x * x / (1.0 + x * x)


class NaiveDivergence(FloatingPointError):
    def __init__(self, population, neuron, time_ms, variable):
        self.population, self.neuron, self.time_ms, self.variable = population, neuron, time_ms, variable
        super().__init__(f"{population} neuron {neuron} {variable} diverged at {time_ms} ms")


@dataclass
class NaiveRecording:
    spike_i: np.ndarray
    spike_t_ms: np.ndarray
    spike_burst: np.ndarray
    traces: dict = field(default_factory=dict)


@dataclass
class _Pop:
    name: str
    model: str
    lo: int
    hi: int
    params: object
    scheme: str
    next_step: bool
    rate_hz: float


def _profile(inp, n, placement):
    """Per-neuron scaling of an input, from the InputSpec docstring."""
    if inp.profile == "uniform":
        return [1.0] * n
    if inp.profile == "gaussian_index":
        return [math.exp(-(((i - inp.center) / inp.width) ** 2)) for i in range(n)]
    if inp.profile == "neurons":
        return [1.0 if i in inp.neurons else 0.0 for i in range(n)]
    # gaussian_space around neuron `center` (ring only here)
    assert placement.geometry == "ring", "naive: gaussian_space on a ring only"
    c = int(round(inp.center)) % n
    out = []
    for i in range(n):
        dth = abs(placement.angle[i] - placement.angle[c]) % TWO_PI
        dth = min(dth, TWO_PI - dth)
        d = 2 * placement.radius * math.sin(dth / 2) if placement.distance == "chord" else placement.radius * dth
        out.append(math.exp(-d * d / (2 * inp.width ** 2)))
    return out


def simulate(built, duration_ms: float, seed: int | None = None, recording=None) -> NaiveRecording:
    """Simulate ``built`` for ``duration_ms`` with the dynamics seed ``seed`` (default the build seed)."""
    spec = built.spec
    seed = built.seed if seed is None else int(seed)
    recording = spec.recording if recording is None else recording
    dt = spec.dt_ms
    n_steps = int(round(duration_ms / dt))
    N = built.n_neurons

    # ---- populations and per-neuron parameters
    pops, pop_of = [], [None] * N
    for name in built.pop_names:
        ps = spec.populations[name]
        sl = built.pop_slices[name]
        p = _Pop(name, ps.model, sl.start, sl.stop, ps.cell_params(), ps.integration,
                 ps.spike_detection == "next_step", ps.rate_hz)
        pops.append(p)
        for i in range(sl.start, sl.stop):
            pop_of[i] = p
    # a, b, c, d: the record's values, except where the 2003 heterogeneity drew them at build.
    A, B, Cr, Dr = [0.0] * N, [0.0] * N, [0.0] * N, [0.0] * N
    for p in pops:
        for i in range(p.lo, p.hi):
            if p.model == "izhikevich2003":
                nr = built.net.neurons
                A[i], B[i], Cr[i], Dr[i] = float(nr.a[i]), float(nr.b[i]), float(nr.c[i]), float(nr.d[i])
            elif p.model == "izhikevich2007":
                q = p.params
                A[i], B[i], Cr[i], Dr[i] = q.a_per_ms, q.b_nS, q.c_mV, q.d_pA
            elif p.model == "l5_pyramidal":
                q = p.params
                A[i], B[i], Cr[i], Dr[i] = q.a_per_ms, q.b_nS, q.c_reg_mV, q.d_reg_pA

    # ---- receptors
    rec_E = {r: spec.receptors[r].E_mV for r in CONDUCTANCE_RECEPTORS}
    rec_mg = {r: spec.receptors[r].mg_block for r in CONDUCTANCE_RECEPTORS}
    rec_decay = {r: math.exp(-dt / spec.receptors[r].tau_ms) for r in CONDUCTANCE_RECEPTORS}

    # ---- wiring: dense (n_pre x n_post) weight and delay matrices per pathway
    paths = []
    for pname, pw in spec.pathways.items():
        pre_sl, post_sl = built.pop_slices[pw.pre], built.pop_slices[pw.post]
        n_pre, n_post = pre_sl.stop - pre_sl.start, post_sl.stop - post_sl.start
        W = np.full((n_pre, n_post), np.nan)
        Dl = np.zeros((n_pre, n_post), np.int64)
        pre, post, w, dly = built.connections(pname)
        for a_, b_, w_, d_ in zip(pre, post, w, dly):
            assert np.isnan(W[a_, b_]), "naive: one synapse per pair and pathway"
            W[a_, b_] = float(w_)            # float32 weight, exactly as stored
            Dl[a_, b_] = int(d_)
        if pw.target == "gate":
            targets = [("gate", None, 1.0)]
        else:
            comp = COMPARTMENTS.index(pw.target)
            targets = [("current" if r == "CURRENT" else r, comp, float(s)) for r, s in pw.receptors.items()]
        paths.append(dict(pre=pre_sl, post=post_sl, W=W, D=Dl, targets=targets))

    # ---- external inputs
    cur_inputs, poi_inputs = [], []
    for iname, inp in spec.inputs.items():
        sl = built.pop_slices[inp.population]
        prof = _profile(inp, sl.stop - sl.start, built.placements[inp.population])
        t0 = int(round(inp.start_ms / dt))
        t1 = int(round(inp.stop_ms / dt)) if math.isfinite(inp.stop_ms) else math.inf
        comp = COMPARTMENTS.index(inp.compartment)
        if inp.kind == "poisson":
            targets = [("current" if r == "CURRENT" else r, comp, float(s)) for r, s in inp.receptors.items()]
            poi_inputs.append(dict(lo=sl.start, hi=sl.stop, w=[inp.weight * x for x in prof], t0=t0, t1=t1,
                                   ramp=int(round(inp.ramp_ms / dt)), rate=inp.rate_hz, shared=inp.shared,
                                   targets=targets))
        else:
            amp = (inp.amplitude_pA if inp.kind == "current" else
                   inp.sigma_pA if inp.sigma_pA > 0 else inp.sigma_pA_sqrt_ms / math.sqrt(dt))
            cur_inputs.append(dict(kind=inp.kind, lo=sl.start, comp=comp, t0=t0, t1=t1,
                                   period=int(round(inp.period_ms / dt)), width=int(round(inp.pulse_ms / dt)),
                                   values=[amp * x for x in prof]))

    # ---- state
    v = [float(x) for x in built.init_v]
    u = [float(x) for x in built.init_u]
    vd = [float(x) for x in built.init_vd]
    wd = [float(x) for x in built.init_wd]
    ibap = [0.0] * N      # the (gated) bAP current of each neuron's last step
    gad = [0.0] * N
    kap = [float(x) for x in built.init_kap]
    burst = [0.0] * N
    g = [{(r, c): 0.0 for r in CONDUCTANCE_RECEPTORS for c in (0, 1)} for _ in range(N)]
    spike_steps = [[] for _ in range(N)]
    rng = Streams(seed_streams(stream(seed, "dynamics", 0), N))
    pin_rng = Streams(seed_streams(stream(seed, "dynamics", 1), max(len(poi_inputs), 1)))
    queue = defaultdict(list)   # arrival step -> [(neuron, kind, compartment, amount), ...]

    # ---- recording
    rec_pops = set(recording.spikes) if recording.spikes is not None else set(built.pop_names)
    traces = []   # (pop, var, local, every, cap, samples)
    for pop, tr in recording.traces.items():
        every = max(1, int(round(tr.interval_ms / dt)))
        for var in tr.variables:
            for local in tr.neurons:
                traces.append((pop, var, built.pop_slices[pop].start + local, every, n_steps // every, []))
    out_i, out_t, out_b = [], [], []

    def bap_window(i, t, q):
        start, stop = int(round(q.bap_start_ms / dt)), int(round(q.bap_stop_ms / dt))
        return any(start <= t - s <= stop for s in spike_steps[i])

    def reset(i, p):
        """Reset after a spike; returns the burst-mode flag of the spike."""
        q = p.params
        if p.model == "l5_pyramidal":
            gad[i] += q.dg_adapt_nS
            if q.gate == "deterministic":   # reset interpolated by the graded flag
                m = burst[i]
                v[i] = Cr[i] + m * (q.c_burst_mV - Cr[i])
                u[i] = u[i] + Dr[i] + m * (q.d_burst_pA - Dr[i])
                return 1 if m > 0.5 else 0
            if burst[i] > 0.5:
                v[i], u[i] = q.c_burst_mV, u[i] + q.d_burst_pA
                return 1
            v[i], u[i] = Cr[i], u[i] + Dr[i]
            return 0
        if p.model == "izhikevich2007":
            u_new = min(u[i] + Dr[i], q.u_max_pA)
            # reset guard: at least reset_margin_mV below the cut-off at the new u
            v[i] = min(Cr[i] + q.c_u * u[i], (q.vpeak_mV - q.reset_margin_mV) + q.vpeak_u * u_new)
            u[i] = u_new
            return 0
        v[i], u[i] = Cr[i], u[i] + Dr[i]
        return 0

    def crossed(i, p):
        if p.model == "izhikevich2007":
            return v[i] >= p.params.vpeak_mV + p.params.vpeak_u * u[i]
        return v[i] >= p.params.vpeak_mV

    def emit(t, fired):
        for i, b in fired:
            q = pop_of[i].params
            if getattr(q, "gate", None) == "per_spike":
                # one Bernoulli(kappa) draw per spike: only spikes whose bAP passes enter the
                # history that the bAP window reads
                k_ = min(1.0, max(0.0, kap[i] if q.kappa_mode == "state" else q.kappa))
                if rng.uniform(i) < k_:
                    spike_steps[i].append(t)
            else:
                spike_steps[i].append(t)
            if pop_of[i].name in rec_pops:
                out_i.append(i)
                out_t.append(t)
                out_b.append(b)
            for pw in paths:
                if pw["pre"].start <= i < pw["pre"].stop:
                    a_ = i - pw["pre"].start
                    for b_ in range(pw["W"].shape[1]):
                        w_ = pw["W"][a_, b_]
                        if np.isnan(w_):
                            continue
                        for kind, comp, scale in pw["targets"]:
                            queue[t + int(pw["D"][a_, b_])].append(
                                (pw["post"].start + b_, kind, comp, float(w_) * scale))

    for t in range(n_steps):
        # ---- 1. next-step detection and Poisson sources
        fired = []
        for i in range(N):
            p = pop_of[i]
            if p.model == "poisson":
                if rng.uniform(i) < p.rate_hz * dt * 1e-3:
                    fired.append((i, 0))
            elif p.next_step and crossed(i, p):
                fired.append((i, reset(i, p)))
        emit(t, fired)
        # ---- 2. external Poisson inputs (events due now)
        for k, inp in enumerate(poi_inputs):
            if not inp["t0"] <= t < inp["t1"]:
                continue
            rate = inp["rate"]
            if inp["ramp"] > 0:
                rate *= min(1.0, (t - inp["t0"] + 1) / inp["ramp"])
            lam = rate * dt * 1e-3
            if inp["shared"]:          # one train for all targets
                cnt = pin_rng.poisson(k, lam)
                if cnt > 0:
                    for jj, w_ in enumerate(inp["w"]):
                        for kind, comp, scale in inp["targets"]:
                            queue[t].append((inp["lo"] + jj, kind, comp, cnt * w_ * scale))
            else:
                for jj, w_ in enumerate(inp["w"]):
                    if w_ == 0.0:
                        continue
                    cnt = rng.poisson(inp["lo"] + jj, lam)
                    if cnt > 0:
                        for kind, comp, scale in inp["targets"]:
                            queue[t].append((inp["lo"] + jj, kind, comp, cnt * w_ * scale))
        # steady currents and noise active at t (independent noise sources add in variance)
        bias = [[0.0] * N, [0.0] * N]
        sig2 = [[0.0] * N, [0.0] * N]
        for inp in cur_inputs:
            # a pulse train is on for ``width`` steps at the start of every ``period``
            on = inp["period"] == 0 or (t - inp["t0"]) % inp["period"] < inp["width"]
            if inp["t0"] <= t < inp["t1"] and on:
                for jj, x in enumerate(inp["values"]):
                    if inp["kind"] == "current":
                        bias[inp["comp"]][inp["lo"] + jj] += x
                    else:
                        sig2[inp["comp"]][inp["lo"] + jj] += x * x
        # events due at t, summed per neuron and target in arrival order
        arrivals = defaultdict(float)
        for (j, kind, comp, x) in queue.pop(t, []):
            arrivals[(j, kind, comp)] += x
        # ---- 3. neurons
        fired = []
        for i in range(N):
            p = pop_of[i]
            if p.model == "poisson":
                continue
            q = p.params
            I_s, I_d = bias[0][i], bias[1][i]
            if sig2[0][i] > 0.0:
                I_s += math.sqrt(sig2[0][i]) * rng.normal(i)
            if sig2[1][i] > 0.0:
                I_d += math.sqrt(sig2[1][i]) * rng.normal(i)
            for r in CONDUCTANCE_RECEPTORS:
                for c in (0, 1):
                    g[i][(r, c)] += arrivals.get((i, r, c), 0.0)
            I_s += arrivals.get((i, "current", 0), 0.0)
            I_d += arrivals.get((i, "current", 1), 0.0)
            x = arrivals.get((i, "gate", None), 0.0)
            if x != 0.0:
                kap[i] += (1.0 - kap[i]) * min(x, 1.0)
            vi, ui = v[i], u[i]
            cap = getattr(q, "nmda_cap_nS", math.inf)
            gt = gE = 0.0        # somatic conductance and its reversal-weighted sum
            for r in CONDUCTANCE_RECEPTORS:
                gc = g[i][(r, 0)]
                if rec_mg[r]:
                    gc = min(gc * mg_block(vi), cap)
                gt += gc
                gE += gc * rec_E[r]
            if p.model == "l5_pyramidal":
                k_ = kap[i] if q.kappa_mode == "state" else q.kappa
                Fd = 1.0 / (1.0 + math.exp((q.Ehalf_mV - vd[i]) / q.D_mV))
                bap_on = bap_window(i, t, q)
                if q.gate == "deterministic":
                    I_bap = k_ * q.bap_pA if bap_on else 0.0
                    pass_switch = True
                elif q.gate == "per_spike":   # the bAP was gated when its spike fired
                    I_bap = q.bap_pA if bap_on else 0.0
                    pass_switch = None        # drawn below, in a plateau only
                else:                   # two Bernoulli(kappa) draws every step (LVPA)
                    pass_bap = rng.uniform(i) < k_
                    pass_switch = rng.uniform(i) < k_
                    I_bap = q.bap_pA if (bap_on and pass_bap) else 0.0
                gtd = gEd = 0.0
                for r in CONDUCTANCE_RECEPTORS:
                    gc = g[i][(r, 1)]
                    if rec_mg[r]:
                        gc = gc * mg_block(vd[i])    # no cap on the dendrite
                    gtd += gc
                    gEd += gc * rec_E[r]
                hd = dt / q.Cd_pF
                ibap[i] = I_bap
                rest_d = (-q.gL_nS * (vd[i] - q.EL_mV) + q.gCa_pA * Fd + wd[i] + I_bap + I_d
                          + q.G_nS * (vi - vd[i]))
                dwd = (q.bd_nS * (vd[i] - q.EL_mV) - wd[i]) * (dt / q.tau_w_ms)
                if p.scheme == "semi_implicit":
                    vd[i] = (vd[i] + hd * (rest_d + gEd)) / (1.0 + hd * gtd)
                else:
                    vd[i] = vd[i] + hd * (rest_d + gEd - gtd * vd[i])
                wd[i] += dwd
                plateau = vd[i] >= q.plateau_mV
                if q.gate == "deterministic":
                    burst[i] = k_ if plateau else 0.0
                elif q.gate == "per_spike":
                    burst[i] = 1.0 if (plateau and rng.uniform(i) < k_) else 0.0
                else:
                    burst[i] = 1.0 if (plateau and pass_switch) else 0.0
                if q.kappa_mode == "state":
                    kap[i] = q.kappa_rest + (kap[i] - q.kappa_rest) * math.exp(-dt / q.tau_kappa_ms)
                gt += gad[i]
                gE += gad[i] * q.E_adapt_mV
                I_s += q.gs_pA * Fd
                gad[i] *= math.exp(-dt / q.tau_adapt_ms)
                drive = q.k * (vi - q.vr_mV) * (vi - q.vt_mV) - ui + I_s
                if p.scheme == "semi_implicit":
                    vn = (vi + (dt / q.C_pF) * (drive + gE)) / (1.0 + dt * gt / q.C_pF)
                else:
                    vn = vi + (dt / q.C_pF) * (drive + gE - gt * vi)
                un = ui + dt * A[i] * (B[i] * (vi - q.vr_mV) - ui)
            elif p.model == "izhikevich2007":
                drive = q.k * (vi - q.vr_mV) * (vi - q.vt_mV) - ui + I_s
                if p.scheme == "semi_implicit":
                    vn = (vi + (dt / q.C_pF) * (drive + gE)) / (1.0 + dt * gt / q.C_pF)
                else:
                    vn = vi + (dt / q.C_pF) * (drive + gE - gt * vi)
                if q.u_mode == "linear":
                    U = B[i] * (vi - q.vr_mV)
                elif q.u_mode == "cubic":
                    x3 = vi - q.vb_mV
                    U = B[i] * (x3 * x3 * x3) if vi >= q.vb_mV else 0.0
                elif q.u_mode == "below":
                    U = B[i] * (vi - q.vr_mV) if vi <= q.vb_mV else 0.0
                else:  # "above"
                    U = B[i] * (vi - q.vr_mV) if vi > q.vb_mV else 0.0
                un = ui + dt * A[i] * (U - ui)
            else:  # izhikevich2003, I in the paper's units
                I = I_s + gE - gt * vi
                if p.scheme == "izh2003":       # v in two half steps, u from the new v
                    h = 0.5 * dt
                    vn = vi + h * (0.04 * vi * vi + 5.0 * vi + 140.0 - ui + I)
                    vn = vn + h * (0.04 * vn * vn + 5.0 * vn + 140.0 - ui + I)
                    un = ui + dt * A[i] * (B[i] * vn - ui)
                else:
                    vn = vi + dt * (0.04 * vi * vi + 5.0 * vi + 140.0 - ui + I)
                    un = ui + dt * A[i] * (B[i] * vi - ui)
            if not (-VMAX < vn < VMAX):
                raise NaiveDivergence(p.name, i - p.lo, t * dt, "v")
            if not (-UMAX < un < UMAX):
                raise NaiveDivergence(p.name, i - p.lo, t * dt, "u")
            if p.model == "l5_pyramidal" and not (-VMAX < vd[i] < VMAX):
                raise NaiveDivergence(p.name, i - p.lo, t * dt, "vd")
            v[i], u[i] = vn, un
            if not p.next_step and crossed(i, p):
                fired.append((i, reset(i, p)))
            for key in g[i]:
                g[i][key] *= rec_decay[key[0]]
        # ---- 4. same-step spikes, traces
        emit(t, fired)
        for (pop, var, i, every, cap, samples) in traces:
            if (t + 1) % every == 0 and len(samples) < cap:
                q = pop_of[i].params
                if var == "v":
                    x = v[i]
                elif var == "u":
                    x = u[i]
                elif var == "vd":
                    x = vd[i]
                elif var == "wd":
                    x = wd[i]
                elif var == "kappa":
                    x = min(1.0, max(0.0, kap[i] if q.kappa_mode == "state" else q.kappa))
                elif var == "g_adapt":
                    x = gad[i]
                elif var == "I_bap":
                    x = ibap[i]
                elif var == "burst":
                    x = burst[i]
                else:
                    name = var[2:]
                    comp = 1 if name.endswith("_d") else 0
                    x = g[i][(name[:-2] if comp else name, comp)]
                samples.append(x)
    tr_out = {}
    for (pop, var, i, every, cap, samples) in traces:
        tr_out.setdefault(pop, {}).setdefault(var, []).append(samples)
    tr_out = {p: {k: np.asarray(cols, float).T for k, cols in vs.items()} for p, vs in tr_out.items()}
    return NaiveRecording(np.asarray(out_i, np.int32), np.asarray(out_t, np.int64) * dt,
                          np.asarray(out_b, np.uint8), tr_out)


def saddle_node_rheobase(g_nS: float, E_mV: float, p) -> float:
    """Rheobase (pA) of an Izhikevich 2007 soma (parameters ``p``: k, vr_mV, vt_mV, b_nS) with
    a tonic conductance ``g_nS`` reversing at ``E_mV``, u at its steady state b (v - vr):
    the saddle-node current I* = max over v of -(k (v - vr)(v - vt) - b (v - vr) - g (v - E)),
    by a dense grid between vr and vt + 20 mV (an independent expectation for the tests)."""
    v = np.linspace(p.vr_mV, p.vt_mV + 20.0, 200001)
    f = p.k * (v - p.vr_mV) * (v - p.vt_mV) - p.b_nS * (v - p.vr_mV) - g_nS * (v - E_mV)
    return float(-f.min())
