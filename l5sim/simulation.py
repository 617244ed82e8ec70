"""Simulate a built circuit: the chunked time loop around the Numba kernel.

Python runs only between chunks (default 100 ms of biological time, and at every change
of a step input): it prepares the input arrays of the next segment, drains the spike
buffer, reports progress and turns a kernel's divergence flag into a
:class:`~l5sim.errors.DivergenceError` that names the population, neuron, variable and time.
"""
from __future__ import annotations

import math
import os
import platform
import sys
import time

import numpy as np

from . import threads as _threads_mod  # first: sets the OpenMP wait policy before numba loads it
from .divergence import check_arrays, guard_for
from .errors import DivergenceError, SpecError
from .sizing import check_run
from .kernels import engine as E
from .kernels import point as P
from .kernels import records as R
from .kernels.rng import seed_streams
from .recording import Recording

_TRACE_CODES = {"v": R.T_V, "u": R.T_U, "vd": R.T_VD, "wd": R.T_WD, "kappa": R.T_KAPPA,
                "g_adapt": R.T_GAD, "I_bap": R.T_IBAP, "burst": R.T_BURST,
                "g_AMPA": R.T_G0 + 0, "g_NMDA": R.T_G0 + 2, "g_GABA_A": R.T_G0 + 4,
                "g_AMPA_d": R.T_G0 + 1, "g_NMDA_d": R.T_G0 + 3, "g_GABA_A_d": R.T_G0 + 5}
_VAR_NAMES = {0: "v", 1: "u", 2: "vd"}


def _state_arrays(st) -> dict:
    """The state arrays by their trace names (views, not copies), for l5sim.divergence."""
    ns, g = st.neurons, st.synapses.g
    arrays = {"v": ns.v, "u": ns.u, "vd": ns.vd, "wd": ns.wd, "kappa": ns.kappa, "g_adapt": ns.g_adapt}
    for name, code in _TRACE_CODES.items():
        if name.startswith("g_") and code >= R.T_G0:
            arrays[name] = g[code - R.T_G0]
    arrays["g_GABA_B"], arrays["g_GABA_B_d"] = g[2 * R.R_GABA_B], g[2 * R.R_GABA_B + 1]
    return arrays


def _pop_counts(spike_i, pop_start) -> np.ndarray:
    """Spikes per population among the global neuron indices ``spike_i``."""
    n_pop = len(pop_start) - 1
    if spike_i.size == 0:
        return np.zeros(n_pop, np.int64)
    pop = np.searchsorted(pop_start, spike_i, side="right") - 1
    return np.bincount(pop, minlength=n_pop)[:n_pop]


def initial_state(built, seed: int) -> R.State:
    """A fresh state: initial potentials from the build, dynamics streams from ``seed``."""
    from .builder import stream

    net = built.net
    N = built.n_neurons
    n_pin = net.poisson_inputs.lo.shape[0]
    pl = net.plasticity
    nx = int(pl.pre_trace_off[-1]) if pl.pre_trace_off.size else 0
    ny = int(pl.post_trace_off[-1]) if pl.post_trace_off.size else 0
    n_sd = built.n_synapses if bool(np.any(pl.rules.deferred)) else 1
    neurons = R.NeuronState(
        v=built.init_v.copy(), u=built.init_u.copy(), vd=built.init_vd.copy(), wd=built.init_wd.copy(),
        g_adapt=np.zeros(N), kappa=built.init_kap.copy(), burst=np.zeros(N), spike_history=np.zeros(N, np.uint64),
        bap_current=np.zeros(N), soma_bias=np.zeros(N), dend_bias=np.zeros(N), soma_noise_sd=np.zeros(N),
        dend_noise_sd=np.zeros(N), rng=seed_streams(stream(seed, "dynamics", 0), N), flag=np.zeros(N, np.uint8),
        diverged_value=np.zeros(N))
    synapses = R.SynapseState(
        g=np.zeros((R.NCH, N)), ring=np.zeros((built.max_delay + 1, R.NCH, N)),
        path_gain=np.ones(max(len(built.pathways), 1)),
        input_rng=seed_streams(stream(seed, "dynamics", 1), max(n_pin, 1)))
    plasticity = R.PlasticityState(
        learning_rate=pl.rules.learning_rate.copy(), pre_trace=np.zeros(nx), pre_trace_slow=np.zeros(nx),
        post_trace=np.zeros(ny), post_trace_slow=np.zeros(ny), deferred_sum=np.zeros(n_sd))
    modulation = R.ModulationState(value=net.modulation.base.copy(), delta=np.zeros((1, built.modulation.n)))
    return R.State(neurons=neurons, synapses=synapses, plasticity=plasticity, modulation=modulation,
                   generator_pos=np.zeros(1, np.int64))


def _set_inputs(built, st, t):
    """Fill bias and noise arrays for the segment starting at step t."""
    ns = st.neurons
    for arr in (ns.soma_bias, ns.dend_bias, ns.soma_noise_sd, ns.dend_noise_sd):
        arr[:] = 0.0
    for inp in built.inputs:
        if inp["t0"] <= t < inp["t1"] and (inp["period"] == 0 or (t - inp["t0"]) % inp["period"] < inp["width"]):
            if inp["kind"] == "current":
                target = ns.dend_bias if inp["comp"] else ns.soma_bias
                target[inp["lo"]:inp["hi"]] += inp["values"]
            else:
                target = ns.dend_noise_sd if inp["comp"] else ns.soma_noise_sd
                # independent noise sources add in variance
                cur = target[inp["lo"]:inp["hi"]]
                target[inp["lo"]:inp["hi"]] = np.sqrt(cur ** 2 + inp["values"] ** 2)


def _trace_plan(built, recording, n_steps):
    dt = built.dt_ms
    neurons, codes, every, offs, caps, keys = [], [], [], [], [], []
    off = 0
    for pop, tr in recording.traces.items():
        sl = built.pop_slices[pop]
        k_every = max(1, int(round(tr.interval_ms / dt)))
        cap = n_steps // k_every
        for var in tr.variables:
            if var not in _TRACE_CODES:
                raise SpecError(f"recording.traces.{pop}.variables", var, f"one of {sorted(_TRACE_CODES)}")
            for local in tr.neurons:
                neurons.append(sl.start + local)
                codes.append(_TRACE_CODES[var])
                every.append(k_every)
                offs.append(off)
                caps.append(cap)
                keys.append((pop, var, local))
                off += cap
    return keys, (np.asarray(neurons, np.int64), np.asarray(codes, np.int64), np.asarray(every, np.int64),
                  np.asarray(offs, np.int64), np.asarray(caps, np.int64), np.zeros(len(neurons), np.int64),
                  np.zeros(max(off, 1)))


class _Triggers:
    """Uncertainty-triggered pulses, evaluated at chunk boundaries (every ``check_ms``)."""

    def __init__(self, built, dt):
        self.items = []
        for name, m in built.spec.modulators.items():
            if m.trigger is None:
                continue
            tr = m.trigger
            onsets = []
            if tr.signal == "series":
                # upward crossings of the external series, with refractoriness
                x = np.asarray(tr.series)
                last = -np.inf
                for k in range(1, len(x)):
                    tk = k * tr.series_dt_ms
                    if x[k - 1] < tr.threshold <= x[k] and tk - last >= tr.refractory_ms:
                        onsets.append(tk)
                        last = tk
            self.items.append(dict(name=name, trig=tr, onsets=onsets, last=-np.inf, n=0, mean=0.0, m2=0.0,
                                   sl=built.pop_slices.get(tr.population), every=max(1, int(round(tr.check_ms / dt)))))

    @property
    def check_steps(self):
        return min((it["every"] for it in self.items if it["trig"].signal == "rate_surprise"), default=None)

    def onsets(self, name):
        for it in self.items:
            if it["name"] == name:
                return it["onsets"]
        return []

    def update(self, t_ms, spk_i_chunks, spk_t_chunks):
        """Evaluate rate-surprise signals at time ``t_ms`` from the spikes so far."""
        for it in self.items:
            tr = it["trig"]
            if tr.signal != "rate_surprise" or t_ms < tr.window_ms:
                continue
            sl = it["sl"]
            n = sl.stop - sl.start
            count = 0
            for si, stt in zip(reversed(spk_i_chunks), reversed(spk_t_chunks)):
                m = (stt >= t_ms - tr.window_ms) & (stt < t_ms) & (si >= sl.start) & (si < sl.stop)
                count += int(m.sum())
                if stt.size and stt[0] < t_ms - tr.window_ms:
                    break
            rate = count / (n * tr.window_ms * 1e-3)
            # surprise against the baseline of the previous windows (before this one joins it)
            z = 0.0
            if it["n"] >= 3:
                sd = np.sqrt(it["m2"] / (it["n"] - 1))
                z = abs(rate - it["mean"]) / sd if sd > 0 else 0.0
            # Welford running mean/SD of the windowed rate
            it["n"] += 1
            d = rate - it["mean"]
            it["mean"] += d / it["n"]
            it["m2"] += d * (rate - it["mean"])
            if t_ms < tr.warmup_ms:
                continue
            if z >= tr.threshold and t_ms - it["last"] >= tr.refractory_ms:
                it["onsets"].append(t_ms)
                it["last"] = t_ms


def _mod_delta(built, triggers, t_lo, n, dt):
    """(n steps x targets) table of gain x level for steps t_lo .. t_lo + n - 1."""
    plan = built.modulation
    out = np.zeros((n, plan.n))
    if plan.n == 0:
        return out
    t_ms = (t_lo + np.arange(n)) * dt
    levels = {}
    for k, mname in enumerate(plan.modulator):
        if mname not in levels:
            levels[mname] = built.spec.modulators[mname].level(t_ms, triggers.onsets(mname))
        out[:, k] = plan.gain[k] * levels[mname]
    return out


def _weight_summary(w, wmin, wmax):
    span = max(wmax - wmin, 1e-12)
    return {"mean": float(w.mean()) if w.size else float("nan"), "sd": float(w.std()) if w.size else float("nan"),
            "frac_at_min": float(np.mean(w <= wmin + 1e-3 * span)) if w.size else float("nan"),
            "frac_at_max": float(np.mean(w >= wmax - 1e-3 * span)) if w.size else float("nan")}


#: Networks the general kernel runs use its parallel variant from this size on, when numba
#: has a fast threading layer (:func:`fast_layer`): the column scaled to 10k cells ran
#: 0.47 s serially and 0.28 s on two threads per 100 ms (0.52 s on one thread).
PARALLEL_MIN_NEURONS = 4000
#: Networks the point kernel runs use its parallel variant by default from this size on
#: (below it a step is too short to share: 1000 neurons took 6.3 ms serial, 6.1 ms on two
#: threads for 1 s of the 2003 network).
POINT_PARALLEL_MIN_NEURONS = 2000
#: The spike buffer of one kernel call holds at least this many spikes (it is drained
#: whenever it fills up, so its size changes no result).
SPIKE_BUFFER_MIN = 200_000


def fast_threads() -> bool:
    """Whether two or more CPUs are free to this process now (:func:`l5sim.threads.default_threads`)
    and numba's threading layer is fast (:func:`fast_layer`)."""
    return _threads_mod.default_threads() >= 2 and fast_layer()


def _svml() -> bool:
    """Whether numba vectorises with Intel's SVML, whose serial and parallel variants of the
    general kernel may round ``exp`` differently in the last bits."""
    import numba

    return bool(getattr(numba.config, "USING_SVML", False))


def fast_layer() -> bool:
    """Whether numba's threading layer starts a parallel region in about a microsecond
    (OpenMP or TBB; numba's fallback ``workqueue`` layer took 80 us per region here, more
    than a whole step of a 10k network)."""
    import numba

    layer = numba.config.THREADING_LAYER
    if layer in ("omp", "tbb"):
        return True
    if layer not in ("default", "safe", "threadsafe", "forksafe"):
        return False
    try:
        from numba.np.ufunc import omppool  # noqa: F401
        return True
    except ImportError:
        try:
            from numba.np.ufunc import tbbpool  # noqa: F401
            return True
        except ImportError:
            return False


def _threads() -> int:
    import numba

    return int(numba.get_num_threads())


def point_blocks(parallel: bool) -> int:
    """How many blocks the point kernel cuts the network into: one per numba thread when
    parallel. The blocking changes no result (tests/test_point_kernel.py)."""
    if not parallel:
        return 1
    import numba

    return numba.get_num_threads()


#: Delivery is split into this many blocks of target neurons in the parallel kernel (fixed,
#: so that results never depend on the thread count).
DELIVERY_BLOCKS = 16


def simulate(built, duration_ms: float, seed: int | None = None, recording=None,
             chunk_ms: float = 100.0, progress: bool | None = None, parallel: bool | None = None,
             kernel: str = "auto", on_divergence: str | None = None) -> Recording:
    """Run a built circuit for ``duration_ms`` of biological time.

    Parameters
    ----------
    built : :class:`l5sim.builder.BuiltCircuit`.
    duration_ms : simulated time (ms), > 0.
    seed : seed of the dynamics (noise, Poisson drive, stochastic gates); default the build
        seed. The same seed gives the same spikes.
    recording : a :class:`l5sim.spec.RecordingSpec` replacing the circuit's ``[recording]``.
    chunk_ms : biological time advanced per kernel call (chunks also end at input changes,
        weight snapshots and uncertainty checks).
    progress : show a progress bar (default: when the run covers more than 5 s of biological
        time or more than 2e8 neuron-steps).
    parallel : use the multi-threaded kernel (numba threads; ``NUMBA_NUM_THREADS`` sets
        their number). Default: for circuits the point kernel runs, its parallel variant
        when the network has at least ``POINT_PARALLEL_MIN_NEURONS`` neurons, two CPUs or
        more are free and numba's threading layer is fast (:func:`fast_threads`); serial and
        parallel point kernels give bitwise the same results whatever the thread count.
        For other circuits the general kernel's parallel variant when the network has at
        least ``PARALLEL_MIN_NEURONS`` neurons, numba's threading layer is fast
        (:func:`fast_layer`) and two CPUs or more are free (results are bitwise the same
        for any thread count, and the same as the serial variant's in every test circuit,
        tests/test_parallel.py). A numba with Intel's SVML (the ``icc_rt`` package) may
        vectorise ``exp`` differently in the two variants: it then keeps the parallel
        variant on one thread too, so that results stay independent of the load. The
        default thread count is :func:`l5sim.threads.default_threads` (the CPUs free to the
        process now; one in a sweep worker; ``L5SIM_THREADS`` overrides it) and is set
        with ``numba.set_num_threads``; ``parallel=True`` uses numba's current count.
        ``L5SIM_PARALLEL=0`` makes every default serial; ``L5SIM_PARALLEL=1`` asks for the
        general kernel's parallel variant even without a fast threading layer.
    kernel : ``"auto"`` (default), ``"general"`` or ``"point"``. Circuits made only of
        ``izhikevich2003`` cells with somatic CURRENT synapses, one delay per pathway and
        current or noise inputs (the Izhikevich 2003 networks) run on the specialised
        kernel of :mod:`l5sim.kernels.point`, which gives bitwise the general kernel's
        results faster; ``"general"`` forces the general kernel, ``"point"`` refuses a
        circuit the point kernel cannot run.
    on_divergence : ``"stop"`` or ``"warn"`` (default: the environment variable
        ``L5SIM_ON_DIVERGENCE``, else ``"stop"``): what to do when a state variable
        leaves its physical range (:mod:`l5sim.divergence`: checked on the whole state after
        every chunk and on the recorded traces): raise
        :class:`~l5sim.errors.DivergenceError`, or warn once per population and variable
        (:class:`l5sim.divergence.DivergenceWarning`) and go on. A population firing
        faster than its model can gets a :class:`l5sim.divergence.RateWarning` either
        way. NaN, infinities and the kernel's own bound (1e8 mV) always stop the run.

    Returns
    -------
    Recording
        Plastic weights evolve during the run on a copy: ``built`` is never modified; the
        recording holds weight snapshots and the final weights.
    """
    if isinstance(duration_ms, bool) or not isinstance(duration_ms, (int, float)) or not math.isfinite(duration_ms) \
            or duration_ms <= 0:
        raise SpecError("duration_ms", duration_ms, "a finite number of milliseconds > 0")
    if not (isinstance(chunk_ms, (int, float)) and chunk_ms > 0):
        raise SpecError("chunk_ms", chunk_ms, "a number of milliseconds > 0")
    if on_divergence is None:
        on_divergence = os.environ.get("L5SIM_ON_DIVERGENCE") or "stop"
    guard = guard_for(built, on_divergence)
    seed = built.seed if seed is None else int(seed)
    spec = built.spec
    dt = built.dt_ms
    n_steps = int(round(duration_ms / dt))
    if n_steps < 1:
        raise SpecError("duration_ms", duration_ms, f"at least one step of {dt} ms")
    recording = spec.recording if recording is None else recording
    net = built.net
    spike_mask = built.spike_mask
    if recording is not spec.recording and recording.spikes is not None:
        spike_mask = np.zeros(built.n_neurons, np.uint8)
        for p in recording.spikes:
            spike_mask[built.pop_slices[p]] = 1
    triggers = _Triggers(built, dt)
    for it in triggers.items:
        if it["sl"] is not None and not spike_mask[it["sl"].start]:
            spike_mask = spike_mask.copy()
            spike_mask[it["sl"]] = 1          # the watched population must be seen
    pla = built.plasticity
    if pla.n:
        # learn on a copy: the built circuit stays as built
        net = net._replace(synapses=net.synapses._replace(weight=net.synapses.weight.copy()))
    N = built.n_neurons
    if kernel not in ("auto", "general", "point"):
        raise SpecError("kernel", kernel, "'auto', 'general' or 'point'")
    why_not = P.eligible(built)
    if kernel == "point" and why_not is not None:
        raise SpecError("kernel", kernel, f"a circuit the point kernel can run ({why_not})")
    use_point = kernel != "general" and why_not is None
    if parallel is None:
        # The default never backfires (issue 18): threads only for networks large enough to
        # share, and only as many as there are CPUs free to this process now (affinity,
        # cgroup quota, other processes' load, one per sweep worker; l5sim.threads).
        env = os.environ.get("L5SIM_PARALLEL", "")
        big = N >= (POINT_PARALLEL_MIN_NEURONS if use_point else PARALLEL_MIN_NEURONS)
        n_free = _threads_mod.default_threads() if (env != "0" and big) else 1
        if use_point:
            # bitwise the same either way: chosen for speed
            parallel = big and env != "0" and n_free >= 2 and fast_layer()
        else:
            # bitwise the same as serial unless numba uses SVML; with SVML the parallel variant
            # is kept on one thread too, so that results never depend on the machine's load
            parallel = big and env != "0" and (env == "1" or (fast_layer() and (n_free >= 2 or _svml())))
        if parallel:
            import numba

            numba.set_num_threads(n_free)
    if use_point:
        wk = P.make_work(built, point_blocks(parallel))
        point_kernel = P.run_chunk_parallel if parallel else P.run_chunk

        def run_kernel(net_, st_, out_, t_, n_):
            return point_kernel(net_, st_, out_, t_, n_, wk)
    else:
        run_kernel = E.run_chunk_parallel if parallel else E.run_chunk
        if parallel:
            blocks = np.linspace(0, N, DELIVERY_BLOCKS + 1).astype(np.int64)
            net = net._replace(synapses=net.synapses._replace(blocks=blocks))
    # ---- sizes before allocation (l5sim.sizing): state, ring, traces, snapshots, time
    check_run(built, duration_ms, recording)
    t_start = time.perf_counter()
    st = initial_state(built, seed)
    keys, tr = _trace_plan(built, recording, n_steps)
    cap = max(3 * N, SPIKE_BUFFER_MIN)    # the point kernel needs room for 3 N at a call's start
    out = R.Recorder(spike_mask, np.zeros(cap, np.int32), np.zeros(cap, np.int64), np.zeros(cap, np.uint8),
                     np.zeros(1, np.int64), *tr, np.full(4, -1.0))
    chunk = max(1, int(round(chunk_ms / dt)))
    check = triggers.check_steps
    if check is not None:
        chunk = min(chunk, check)
    bounds = {0, n_steps}
    for inp in built.inputs:
        edges = [inp["t0"], inp["t1"]]
        if inp["period"] > 0:
            stop = min(inp["t1"], n_steps)
            on = np.arange(inp["t0"], stop, inp["period"])
            edges += list(on) + list(on + inp["width"])
        for b in edges:
            if 0 < b < n_steps:
                bounds.add(int(b))
    w_paths = [p for p in (recording.weights if recording.weights is not None else pla.names)]
    w_every = max(1, int(round(recording.weights_interval_ms / dt)))
    if w_paths:
        bounds.update(range(w_every, n_steps, w_every))
    bounds = sorted(bounds)
    if progress is None:
        progress = duration_ms > 5000.0 or N * n_steps > 2e8
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=round(duration_ms), unit="ms", desc=f"{spec.circuit.name}", leave=False,
                   file=sys.stderr)
    w_snap = {p: [] for p in w_paths}
    w_sum = {p: [] for p in w_paths}
    w_t = []

    def snapshot(t_step):
        w_t.append(t_step * dt)
        for pname in w_paths:
            info = built.pathways[pname]
            rule = spec.plasticity[spec.pathways[pname].plasticity]
            w = net.synapses.weight[info.syn_lo:info.syn_hi]
            if recording.weights_full:
                w_snap[pname].append(w.copy())
            w_sum[pname].append(_weight_summary(w, rule.w_min, rule.w_max))

    if w_paths:
        snapshot(0)
    spk_i, spk_t, spk_b = [], [], []
    spk_tms = []
    t = 0
    try:
        for seg_lo, seg_hi in zip(bounds[:-1], bounds[1:]):
            _set_inputs(built, st, seg_lo)
            t = seg_lo
            while t < seg_hi:
                n = min(chunk, seg_hi - t)
                if built.modulation.n:
                    st = st._replace(modulation=st.modulation._replace(delta=_mod_delta(built, triggers, t, n, dt)))
                status, done = run_kernel(net, st, out, t, n)
                k = int(out.n_spikes[0])
                # ---- divergence check (l5sim.divergence): the whole state against each model's
                # physical bounds, and each population's rate over this call against its model's
                # (a divergence the kernel itself flagged, status 2, is reported below at its step)
                if status != 2:
                    counts = _pop_counts(out.spike_neuron[:k], built.net.neurons.pop_start)
                    guard.after_chunk(_state_arrays(st), counts, int(done) * dt, (t + int(done)) * dt,
                                      final=t + int(done) >= n_steps)
                if k:
                    spk_i.append(out.spike_neuron[:k].copy())
                    spk_t.append(out.spike_step[:k].copy())
                    spk_b.append(out.spike_burst[:k].copy())
                    spk_tms.append(spk_t[-1] * dt)
                    out.n_spikes[0] = 0
                if status == 2:
                    i, step, var = (int(x) for x in out.diverged[:3])
                    pop, local = built.population_of(i)
                    raise DivergenceError(pop, local, step * dt, _VAR_NAMES.get(var, "?"), float(out.diverged[3]))
                t += int(done)
                if triggers.items and status == 0:
                    triggers.update(t * dt, spk_i, spk_tms)
                if bar is not None:
                    bar.update(round(t * dt) - bar.n)
            if w_paths and seg_hi % w_every == 0:
                snapshot(seg_hi)
    finally:
        if bar is not None:
            bar.close()
    if w_paths and (not w_t or w_t[-1] != n_steps * dt):
        snapshot(n_steps)
    sim_s = time.perf_counter() - t_start
    si, stt, sb = _unpack_spikes(spk_i, spk_t, spk_b)
    traces, trace_t, trace_n = _unpack_traces(keys, out, dt)
    # ---- divergence check of the recorded traces (exact sample times; l5sim.divergence)
    check_arrays(traces, trace_t, trace_n, spec, guard)
    meta = run_metadata(built, seed, duration_ms, sim_s)
    meta["kernel"] = {"name": "point" if use_point else "general", "parallel": bool(parallel),
                      "threads": _threads() if parallel else 1}
    mod_t = np.arange(0.0, duration_ms, recording.modulators_interval_ms)
    modulators = {name: m.level(mod_t, triggers.onsets(name)) for name, m in spec.modulators.items()}
    if spec.modulators:
        meta["modulator_onsets_ms"] = {name: list(map(float, triggers.onsets(name))) + [p.onset_ms for p in m.pulses]
                                       for name, m in spec.modulators.items()}
    if w_paths:
        meta["weights"] = {p: w_sum[p] for p in w_paths}
    return Recording(spike_i=si, spike_t_ms=stt * dt, spike_burst=sb, pop_names=list(built.pop_names),
                     pop_start=np.asarray(built.net.neurons.pop_start, np.int64), traces=traces, trace_t_ms=trace_t,
                     trace_neurons=trace_n, metadata=meta,
                     weight_t_ms=np.asarray(w_t), weights={p: np.asarray(v, np.float32) for p, v in w_snap.items() if v},
                     final_weights={p: net.synapses.weight[built.pathways[p].syn_lo:built.pathways[p].syn_hi].copy()
                                    for p in pla.names},
                     modulator_t_ms=mod_t if spec.modulators else np.zeros(0), modulators=modulators,
                     positions={p: _xy(built.placements[p]) for p in built.pop_names if p in built.placements})


def _xy(placement) -> np.ndarray:
    """x, y (space length unit) of a placement's neurons: ring angles on their circle."""
    if placement.geometry == "ring":
        a = np.asarray(placement.angle, np.float64)
        return np.stack([placement.radius * np.cos(a), placement.radius * np.sin(a)], axis=1)
    return np.asarray(placement.xy, np.float64).copy()


def _unpack_spikes(spk_i, spk_t, spk_b):
    """The drained spike buffers as (neuron, step, burst flag) arrays, by time then neuron."""
    cat = lambda xs, dt_: np.concatenate(xs).astype(dt_) if xs else np.zeros(0, dt_)  # noqa: E731
    si, stt, sb = cat(spk_i, np.int32), cat(spk_t, np.int64), cat(spk_b, np.uint8)
    order = np.lexsort((si, stt))        # by time, then neuron index
    return si[order], stt[order], sb[order]


def _unpack_traces(keys, out, dt):
    """The recorder's trace buffer as ``({pop: {var: (samples, neurons)}}, {pop: times},
    {pop: local neuron indices})``."""
    traces, trace_t, trace_n = {}, {}, {}
    tr_off, tr_ptr, tr_buf, tr_every = out.trace_off, out.trace_count, out.trace_buf, out.trace_every
    for k, (pop, var, local) in enumerate(keys):
        samples = tr_buf[tr_off[k]:tr_off[k] + tr_ptr[k]]
        traces.setdefault(pop, {}).setdefault(var, []).append(samples)
        trace_n.setdefault(pop, [])
        if local not in trace_n[pop]:
            trace_n[pop].append(local)
        if pop not in trace_t:
            trace_t[pop] = (np.arange(1, tr_ptr[k] + 1) * tr_every[k]) * dt
    traces = {p: {v: np.stack(cols, axis=1) for v, cols in vs.items()} for p, vs in traces.items()}
    trace_n = {p: np.asarray(v, np.int64) for p, v in trace_n.items()}
    return traces, trace_t, trace_n


def run_metadata(built, seed, duration_ms, simulate_s) -> dict:
    """Metadata that travels with every output (seeds, dt, circuit hash, versions, timing)."""
    import numba

    from . import __version__

    spec = built.spec
    return {
        "seed": [int(x) for x in seed] if isinstance(seed, (list, tuple)) else int(seed),
        "build_seed": int(built.seed), "dt_ms": float(built.dt_ms),
        "duration_ms": float(duration_ms), "circuit_name": spec.circuit.name, "circuit_hash": spec.hash,
        "circuit_path": spec.path, "circuit": spec.to_dict(), "l5sim_version": __version__,
        "n_neurons": built.n_neurons, "n_synapses": built.n_synapses,
        "versions": {"l5sim": __version__, "numpy": np.__version__, "numba": numba.__version__,
                     "python": platform.python_version()},
        "timing_s": {"simulate": simulate_s},
    }


class Session:
    """A built circuit advanced piece by piece, its state kept between calls: the engine of
    closed-loop experiments (trials whose stimuli and neuromodulator levels depend on what
    the network did), like repeated ``Simulate(t)`` calls in NEST or ``run(t)`` in Brian2.

    Each :meth:`run` advances the kernel in chunks of at most ``chunk_ms`` (no Python per
    step) and returns the spikes it produced. Between runs a caller may change the rate of
    a ``poisson`` population (:meth:`set_rate`, e.g. to present a stimulus) and give each
    neuromodulator a level for the next run (``levels``), replacing its scheduled course.
    Plastic weights evolve on a copy (``built`` is never modified; :meth:`weights`).

    Parameters
    ----------
    built : :class:`l5sim.builder.BuiltCircuit`; its circuit may not have uncertainty
        triggers (a closed loop sets levels itself) nor inputs with time windows or
        periods (they would be sampled only at chunk starts).
    seed : seed of the dynamics (default: the build seed); the same seed and the same calls
        give the same spikes.
    chunk_ms : longest kernel call (ms).
    """

    def __init__(self, built, seed: int | None = None, chunk_ms: float = 100.0):
        spec = built.spec
        for name, m in spec.modulators.items():
            if m.trigger is not None:
                raise SpecError(f"modulators.{name}.trigger", "a trigger",
                                "no uncertainty trigger in a Session (set levels per run instead)")
        for inp in built.inputs:
            if inp["period"] > 0 or inp["t0"] > 0 or inp["t1"] < 2 ** 62:
                raise SpecError(f"inputs.{inp.get('name', '?')}", "a time window",
                                "inputs that hold for the whole session in a Session (no t0/t1/period)")
        if not (isinstance(chunk_ms, (int, float)) and chunk_ms > 0):
            raise SpecError("chunk_ms", chunk_ms, "a number of milliseconds > 0")
        self.built = built
        self.seed = built.seed if seed is None else int(seed)
        self.dt_ms = built.dt_ms
        net = built.net
        self.net = net._replace(synapses=net.synapses._replace(weight=net.synapses.weight.copy()),
                                sources=net.sources._replace(rate_hz=net.sources.rate_hz.copy()))
        self.st = initial_state(built, self.seed)
        N = built.n_neurons
        cap = max(3 * N, SPIKE_BUFFER_MIN)
        e = np.zeros(0, np.int64)
        self._out = R.Recorder(np.ones(N, np.uint8), np.zeros(cap, np.int32), np.zeros(cap, np.int64),
                               np.zeros(cap, np.uint8), np.zeros(1, np.int64), e, e, e, e, e, e.copy(), np.zeros(1),
                               np.full(4, -1.0))
        self._chunk = max(1, int(round(chunk_ms / self.dt_ms)))
        self.step = 0
        _set_inputs(built, self.st, 0)

    @property
    def t_ms(self) -> float:
        """Biological time reached (ms)."""
        return self.step * self.dt_ms

    def set_rate(self, population: str, rate_hz: float) -> None:
        """Set the rate (Hz) of every source of the ``poisson`` population ``population``
        from the next run on."""
        b = self.built
        if population not in b.pop_slices:
            raise SpecError("population", population, f"a population of the circuit: {sorted(b.pop_slices)}")
        if b.spec.populations[population].model != "poisson":
            raise SpecError("population", population, "a poisson population (its rate is what a stimulus sets)")
        if isinstance(rate_hz, bool) or not isinstance(rate_hz, (int, float)) or not math.isfinite(rate_hz) \
                or rate_hz < 0:
            raise SpecError(f"rate_hz of {population}", rate_hz, "a finite rate >= 0 Hz")
        self.net.sources.rate_hz[b.pop_names.index(population)] = float(rate_hz)

    def weights(self, pathway: str) -> np.ndarray:
        """A copy of the current weights of ``pathway`` (CSR order of the built circuit)."""
        info = self.built.pathways.get(pathway)
        if info is None:
            raise SpecError("pathway", pathway, f"a pathway of the circuit: {sorted(self.built.pathways)}")
        return self.net.synapses.weight[info.syn_lo:info.syn_hi].copy()

    def _delta(self, t_lo, n, levels, run_lo):
        plan = self.built.modulation
        out = np.zeros((n, plan.n))
        t_ms = (t_lo + np.arange(n)) * self.dt_ms
        for k, mname in enumerate(plan.modulator):
            if mname in levels:
                lv = levels[mname]
                lv = lv[t_lo - run_lo:t_lo - run_lo + n] if isinstance(lv, np.ndarray) else lv
            else:
                lv = self.built.spec.modulators[mname].level(t_ms)
            out[:, k] = plan.gain[k] * lv
        return out

    def run(self, duration_ms: float, levels: dict | None = None):
        """Advance by ``duration_ms``; returns ``(neuron, t_ms, burst)`` of every spike
        (global neuron indices, times since the session began, burst-reset flags).

        ``levels``: ``{modulator: level}`` for this run, a number or an array with one value
        per step; modulators not named follow their ``tonic`` and ``pulses`` in session time.
        """
        if isinstance(duration_ms, bool) or not isinstance(duration_ms, (int, float)) \
                or not math.isfinite(duration_ms) or duration_ms <= 0:
            raise SpecError("duration_ms", duration_ms, "a finite number of milliseconds > 0")
        n_steps = int(round(duration_ms / self.dt_ms))
        levels = dict(levels or {})
        mods = self.built.spec.modulators
        for name, lv in levels.items():
            if name not in mods:
                raise SpecError("levels", name, f"a modulator the circuit defines: {sorted(mods)}")
            if isinstance(lv, np.ndarray):
                if lv.shape != (n_steps,) or not np.all(np.isfinite(lv)):
                    raise SpecError(f"levels.{name}", f"array of shape {lv.shape}",
                                    f"{n_steps} finite values (one per step)")
            elif isinstance(lv, bool) or not isinstance(lv, (int, float)) or not math.isfinite(lv):
                raise SpecError(f"levels.{name}", lv, "a finite number or an array per step")
        out, net, st = self._out, self.net, self.st
        run_lo = self.step
        t_end = self.step + n_steps
        spk_i, spk_t, spk_b = [], [], []
        while self.step < t_end:
            n = min(self._chunk, t_end - self.step)
            if self.built.modulation.n:
                st = st._replace(modulation=st.modulation._replace(delta=self._delta(self.step, n, levels, run_lo)))
            status, done = E.run_chunk(net, st, out, self.step, n)
            k = int(out.n_spikes[0])
            if k:
                spk_i.append(out.spike_neuron[:k].copy())
                spk_t.append(out.spike_step[:k].copy())
                spk_b.append(out.spike_burst[:k].copy())
                out.n_spikes[0] = 0
            if status == 2:
                i, step, var = (int(x) for x in out.diverged[:3])
                pop, local = self.built.population_of(i)
                raise DivergenceError(pop, local, step * self.dt_ms, _VAR_NAMES.get(var, "?"), float(out.diverged[3]))
            self.step += int(done)
        self.st = st
        si = np.concatenate(spk_i).astype(np.int64) if spk_i else np.zeros(0, np.int64)
        stt = np.concatenate(spk_t) * self.dt_ms if spk_t else np.zeros(0)
        sb = np.concatenate(spk_b) if spk_b else np.zeros(0, np.uint8)
        return si, stt, sb
