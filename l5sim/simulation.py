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
from ._compiling import compile_in_parallel as _compile_in_parallel, run as _compiling_run
from .divergence import check_arrays, guard_for
from .errors import DivergenceError, SpecError
from .sizing import check_run
from .kernels import variants as V
from .kernels import events as EV
from .kernels import point as P
from .kernels import records as R
from .kernels.rng import seed_streams
from .recording import Recording
from .triggers import Triggers, modulation_delta

_TRACE_CODES = {"v": R.T_V, "u": R.T_U, "vd": R.T_VD, "wd": R.T_WD, "kappa": R.T_KAPPA,
                "g_adapt": R.T_GAD, "I_bap": R.T_IBAP, "burst": R.T_BURST,
                "g_AMPA": R.T_G0 + 0, "g_NMDA": R.T_G0 + 2, "g_GABA_A": R.T_G0 + 4,
                "g_AMPA_d": R.T_G0 + 1, "g_NMDA_d": R.T_G0 + 3, "g_GABA_A_d": R.T_G0 + 5}
VARIABLE_NAMES = {0: "v", 1: "u", 2: "vd"}


def _state_arrays(st) -> dict:
    """The state arrays by their trace names (views, not copies), for l5sim.divergence."""
    ns, g = st.neurons, st.synapses.g
    arrays = {"v": ns.v, "u": ns.u, "vd": ns.vd, "wd": ns.wd, "kappa": ns.kappa, "g_adapt": ns.g_adapt}
    for name, code in _TRACE_CODES.items():
        if name.startswith("g_") and code >= R.T_G0:
            arrays[name] = g[code - R.T_G0]
    arrays["g_GABA_B"], arrays["g_GABA_B_d"] = g[2 * R.R_GABA_B], g[2 * R.R_GABA_B + 1]
    return arrays


def _pop_counts(spike_i, pop_of, n_pop: int) -> np.ndarray:
    """Spikes per population among the global neuron indices ``spike_i`` (``pop_of``: the
    population of each neuron)."""
    if spike_i.size == 0:
        return np.zeros(n_pop, np.int64)
    return np.bincount(pop_of[spike_i], minlength=n_pop)


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
        diverged_value=np.zeros(N), scratch=np.zeros((4, N)))
    synapses = R.SynapseState(
        g=np.zeros((R.NCH, N)), **EV.buffers(built.max_delay + 1, N, EV.circuit_offsets(built)),
        path_gain=np.ones(max(len(built.pathways), 1)),
        input_rng=seed_streams(stream(seed, "dynamics", 1), max(n_pin, 1)))
    plasticity = R.PlasticityState(
        learning_rate=pl.rules.learning_rate.copy(), pre_trace=np.zeros(nx), pre_trace_slow=np.zeros(nx),
        post_trace=np.zeros(ny), post_trace_slow=np.zeros(ny), deferred_sum=np.zeros(n_sd))
    modulation = R.ModulationState(value=net.modulation.base.copy(), delta=np.zeros((1, built.modulation.n)))
    return R.State(neurons=neurons, synapses=synapses, plasticity=plasticity, modulation=modulation,
                   generator_pos=np.zeros(1, np.int64))


def set_inputs(built, st, t):
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


def _weight_summary(w, wmin, wmax):
    span = max(wmax - wmin, 1e-12)
    return {"mean": float(w.mean()) if w.size else float("nan"), "sd": float(w.std()) if w.size else float("nan"),
            "frac_at_min": float(np.mean(w <= wmin + 1e-3 * span)) if w.size else float("nan"),
            "frac_at_max": float(np.mean(w >= wmax - 1e-3 * span)) if w.size else float("nan")}


#: Other general-kernel circuits use its region-per-loop parallel variant from this size on
#: (fast threading layer, :func:`fast_layer`): waking the sleeping threads costs ~50 us a
#: region here; the 10k column ran 2.03-2.17 s serially and 2.35-2.56 s on two threads per
#: biological second, the 41k column 1.45 and 1.28 s per 150 ms (issue 18, session 8).
PARALLEL_MIN_NEURONS = 30000
#: Circuits of the fused parallel loop (:mod:`l5sim.kernels.fused`) use it by default from
#: this size on: two threads / serial on the column 0.82x at 510 cells, 1.13x at 1020, 1.36x
#: at 2040, 1.56x at 10200 (``python -m benchmarks.fused_bench``, benchmarks/results/fused).
FUSED_PARALLEL_MIN_NEURONS = 2000
#: Networks the point kernel runs use its parallel variant by default from this size on
#: (below it a step is too short to share: 1000 neurons took 6.3 ms serial, 6.1 ms on two
#: threads for 1 s of the 2003 network).
POINT_PARALLEL_MIN_NEURONS = 2000
#: The spike buffer of one kernel call holds at least this many spikes (it is drained
#: whenever it fills up, so its size changes no result).
SPIKE_BUFFER_MIN = 200_000


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
        more are free and numba's threading layer is fast (:func:`fast_layer`); serial and
        parallel point kernels give bitwise the same results whatever the thread count.
        The fused loop's circuits (:mod:`l5sim.kernels.fused`) run it from
        ``FUSED_PARALLEL_MIN_NEURONS`` neurons on when two CPUs are free (bitwise serial).
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
    n_steps, guard = _check_arguments(built, duration_ms, chunk_ms, kernel, on_divergence)
    seed = built.seed if seed is None else int(seed)
    recording = built.spec.recording if recording is None else recording
    triggers = Triggers(built, built.dt_ms)
    spike_mask = _spike_mask(built, recording, triggers)
    net = built.net
    if built.plasticity.n:
        # learn on a copy: the built circuit stays as built
        net = net._replace(synapses=net.synapses._replace(weight=net.synapses.weight.copy()))
    net, run_kernel, use_point, parallel = _choose_kernel(built, net, kernel, parallel)
    # ---- sizes before allocation (l5sim.sizing): state, ring, traces, snapshots, time
    check_run(built, duration_ms, recording)
    t_start = time.perf_counter()
    st = initial_state(built, seed)
    keys, tr = _trace_plan(built, recording, n_steps)
    cap = max(3 * built.n_neurons, SPIKE_BUFFER_MIN)    # the point kernel needs room for 3 N at a call's start
    out = R.Recorder(spike_mask, np.zeros(cap, np.int32), np.zeros(cap, np.int64), np.zeros(cap, np.uint8),
                     np.zeros(1, np.int64), *tr, np.full(4, -1.0))
    chunk = max(1, int(round(chunk_ms / built.dt_ms)))
    if triggers.check_steps is not None:
        chunk = min(chunk, triggers.check_steps)
    weights = _WeightLog(built, recording, net)
    bounds = _segment_bounds(built, n_steps, weights)
    if progress is None:
        progress = duration_ms > 5000.0 or built.n_neurons * n_steps > 2e8
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=round(duration_ms), unit="ms", desc=f"{built.spec.circuit.name}", leave=False,
                   file=sys.stderr)
    weights.snapshot(0)
    try:
        spikes = _run_segments(built, net, st, out, run_kernel, bounds, chunk, n_steps, guard, triggers, weights, bar)
    finally:
        if bar is not None:
            bar.close()
    weights.finish(n_steps)
    sim_s = time.perf_counter() - t_start
    kernel_meta = {"name": "point" if use_point else "general", "parallel": bool(parallel),
                   "threads": _threads() if parallel else 1}
    return _assemble(built, recording, net, out, keys, spikes, weights, triggers, guard,
                     dict(run_metadata(built, seed, duration_ms, sim_s), kernel=kernel_meta), duration_ms)


def _check_arguments(built, duration_ms, chunk_ms, kernel, on_divergence):
    """The number of steps of the run and its divergence guard, or a SpecError naming the
    bad argument."""
    if isinstance(duration_ms, bool) or not isinstance(duration_ms, (int, float)) or not math.isfinite(duration_ms) \
            or duration_ms <= 0:
        raise SpecError("duration_ms", duration_ms, "a finite number of milliseconds > 0")
    if not (isinstance(chunk_ms, (int, float)) and chunk_ms > 0):
        raise SpecError("chunk_ms", chunk_ms, "a number of milliseconds > 0")
    if on_divergence is None:
        on_divergence = os.environ.get("L5SIM_ON_DIVERGENCE") or "stop"
    guard = guard_for(built, on_divergence)
    n_steps = int(round(duration_ms / built.dt_ms))
    if n_steps < 1:
        raise SpecError("duration_ms", duration_ms, f"at least one step of {built.dt_ms} ms")
    if kernel not in ("auto", "general", "point"):
        raise SpecError("kernel", kernel, "'auto', 'general' or 'point'")
    return n_steps, guard


def _spike_mask(built, recording, triggers) -> np.ndarray:
    """uint8 per neuron, 1 where spikes are kept: the recorded populations and those a
    modulator trigger watches."""
    spike_mask = built.spike_mask
    if recording is not built.spec.recording and recording.spikes is not None:
        spike_mask = np.zeros(built.n_neurons, np.uint8)
        for p in recording.spikes:
            spike_mask[built.pop_slices[p]] = 1
    for it in triggers.items:
        if it["sl"] is not None and not spike_mask[it["sl"].start]:
            spike_mask = spike_mask.copy()
            spike_mask[it["sl"]] = 1          # the watched population must be seen
    return spike_mask


def _choose_kernel(built, net, kernel, parallel):
    """The kernel that runs the circuit: ``(net, run_kernel, use_point, parallel)``, where
    ``run_kernel(net, state, recorder, t, n)`` advances ``n`` steps from step ``t`` (see
    :func:`simulate`'s ``kernel`` and ``parallel``); sets numba's thread count for a
    parallel default."""
    N = built.n_neurons
    why_not = P.eligible(built)
    if kernel == "point" and why_not is not None:
        raise SpecError("kernel", kernel, f"a circuit the point kernel can run ({why_not})")
    use_point = kernel != "general" and why_not is None
    if parallel is None:
        # The default never backfires (issue 18): threads only for networks large enough to
        # share, and only as many as there are CPUs free to this process now (affinity,
        # cgroup quota, other processes' load, one per sweep worker; l5sim.threads).
        env = os.environ.get("L5SIM_PARALLEL", "")
        fused = not use_point and V.fused_eligible(net)
        big = N >= (POINT_PARALLEL_MIN_NEURONS if use_point else
                    FUSED_PARALLEL_MIN_NEURONS if fused else PARALLEL_MIN_NEURONS)
        n_free = _threads_mod.default_threads() if (env != "0" and big) else 1
        if use_point:
            # bitwise the same either way: chosen for speed
            parallel = big and env != "0" and n_free >= 2 and fast_layer()
        elif fused:         # bitwise serial; threads of its own, no threading layer
            parallel = big and env != "0" and (env == "1" or n_free >= 2)
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

        pnet = P.point_net(net)

        def run_kernel(net_, st_, out_, t_, n_):
            return point_kernel(pnet if net_ is net else P.point_net(net_), P.point_state(st_), out_, t_, n_, wk)
    else:
        run_kernel = V.chunk_kernel(net, parallel)
        if parallel:
            # block edges on whole tiles of the event lists: a list (a spill's marks) has one writer
            blocks = np.linspace(0, N, DELIVERY_BLOCKS + 1).astype(np.int64) // R.EVENT_TILE * R.EVENT_TILE
            blocks[-1] = N
            blocks = np.unique(blocks)
            net = net._replace(synapses=net.synapses._replace(blocks=blocks))
    return net, _first_call_compiling(run_kernel), use_point, parallel


def _first_call_compiling(kernel):
    """``kernel`` whose first call (which compiles it, or loads it from numba's cache) runs
    under :func:`l5sim._compiling.run` (~2 s less for a cold compile of the column), after
    the functions it calls were compiled two at a time where that is possible
    (:func:`l5sim._compiling.compile_in_parallel`, for a kernel with ``precompile_jobs``)."""
    first = [True]

    def run(*args):
        if first[0]:
            first[0] = False
            return _compiling_run(_compile_and_call, kernel, *args)
        return kernel(*args)

    return run


def _compile_and_call(kernel, net, st, out, *args):
    jobs = getattr(kernel, "precompile_jobs", None)
    try:
        jobs = jobs(net, st, out) if jobs is not None else []
    except Exception:       # (numba internals moved: compile as before; the call reports real errors)
        jobs = []
    # two processes only where two CPUs are free now (l5sim.threads: not in a sweep's
    # workers, not beside another busy process: there the two would share one CPU and the
    # extra work of the split, ~1 s of CPU, would make the start slower)
    if len(jobs) > 1 and _threads_mod.default_threads() >= 2:
        _compile_in_parallel(jobs)
    return kernel(net, st, out, *args)


class _WeightLog:
    """Snapshots of the recorded plastic pathways' weights (the run's copy in ``net``) every
    ``weights_interval_ms``: full arrays when ``weights_full``, and per-pathway summaries."""

    def __init__(self, built, recording, net):
        self.built, self.net, self.full = built, net, recording.weights_full
        self.paths = list(recording.weights if recording.weights is not None else built.plasticity.names)
        self.every = max(1, int(round(recording.weights_interval_ms / built.dt_ms)))
        self.t_ms = []
        self.full_snapshots = {p: [] for p in self.paths}
        self.summaries = {p: [] for p in self.paths}

    def snapshot(self, t_step):
        """Keep the weights at step ``t_step`` (nothing when no pathway is recorded)."""
        if not self.paths:
            return
        spec = self.built.spec
        self.t_ms.append(t_step * self.built.dt_ms)
        for pname in self.paths:
            info = self.built.pathways[pname]
            rule = spec.plasticity[spec.pathways[pname].plasticity]
            w = self.net.synapses.weight[info.syn_lo:info.syn_hi]
            if self.full:
                self.full_snapshots[pname].append(w.copy())
            self.summaries[pname].append(_weight_summary(w, rule.w_min, rule.w_max))

    def at_segment_end(self, t_step):
        """Snapshot at a segment's end that falls on the interval."""
        if t_step % self.every == 0:
            self.snapshot(t_step)

    def finish(self, n_steps):
        """The last snapshot: the weights at the end of the run, unless just taken."""
        if self.paths and (not self.t_ms or self.t_ms[-1] != n_steps * self.built.dt_ms):
            self.snapshot(n_steps)


def _segment_bounds(built, n_steps, weights) -> list:
    """Steps where a kernel call must end: input edges (windows and pulse trains) and weight
    snapshots, with 0 and ``n_steps``, sorted."""
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
    if weights.paths:
        bounds.update(range(weights.every, n_steps, weights.every))
    return sorted(bounds)


def _run_segments(built, net, st, out, run_kernel, bounds, chunk, n_steps, guard, triggers, weights, bar):
    """The time loop: each segment between consecutive ``bounds`` with its inputs set, in
    kernel calls of at most ``chunk`` steps; after each call the spikes are drained, the
    state checked for divergence and the triggers updated. Returns the drained spikes
    (neuron, step, burst flag), one array of each per call that spiked."""
    dt = built.dt_ms
    spk_i, spk_t, spk_b, spk_tms = [], [], [], []
    # views of the state arrays: the loop replaces only ``st.modulation``
    arrays = _state_arrays(st)
    shared = R.shared_arrays(st)
    if shared:
        raise ValueError(f"state arrays {shared[0][0]} and {shared[0][1]} share memory; the kernels expect "
                         "distinct arrays (use l5sim.simulation.initial_state)")
    pop_of, n_pop = built.net.neurons.pop_of, built.net.neurons.pop_start.shape[0] - 1
    for seg_lo, seg_hi in zip(bounds[:-1], bounds[1:]):
        set_inputs(built, st, seg_lo)
        t = seg_lo
        while t < seg_hi:
            n = min(chunk, seg_hi - t)
            if built.modulation.n:
                delta = modulation_delta(built, triggers, t, n, dt)
                st = st._replace(modulation=st.modulation._replace(delta=delta))
            status, done = run_kernel(net, st, out, t, n)
            k = int(out.n_spikes[0])
            # ---- divergence check (l5sim.divergence): the whole state against each model's
            # physical bounds, and each population's rate over this call against its model's
            # (a divergence the kernel itself flagged, status 2, is reported below at its step)
            if status != 2:
                counts = _pop_counts(out.spike_neuron[:k], pop_of, n_pop)
                guard.after_chunk(arrays, counts, int(done) * dt, (t + int(done)) * dt,
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
                raise DivergenceError(pop, local, step * dt, VARIABLE_NAMES.get(var, "?"), float(out.diverged[3]))
            t += int(done)
            if triggers.items and status == 0:
                triggers.update(t * dt, spk_i, spk_tms)
            if bar is not None:
                bar.update(round(t * dt) - bar.n)
        weights.at_segment_end(seg_hi)
    return spk_i, spk_t, spk_b


def _assemble(built, recording, net, out, keys, spikes, weights, triggers, guard, meta, duration_ms) -> Recording:
    """The :class:`Recording` of a finished run: spikes, traces (checked for divergence at
    their sample times), modulator levels, weight snapshots and final weights, ``meta``."""
    spec, dt, pla = built.spec, built.dt_ms, built.plasticity
    si, stt, sb = _unpack_spikes(*spikes)
    traces, trace_t, trace_n = _unpack_traces(keys, out, dt)
    # ---- divergence check of the recorded traces (exact sample times; l5sim.divergence)
    check_arrays(traces, trace_t, trace_n, spec, guard)
    mod_t = np.arange(0.0, duration_ms, recording.modulators_interval_ms)
    modulators = {name: m.level(mod_t, triggers.onsets(name)) for name, m in spec.modulators.items()}
    if spec.modulators:
        meta["modulator_onsets_ms"] = {name: list(map(float, triggers.onsets(name))) + [p.onset_ms for p in m.pulses]
                                       for name, m in spec.modulators.items()}
    if weights.paths:
        meta["weights"] = {p: weights.summaries[p] for p in weights.paths}
    return Recording(spike_i=si, spike_t_ms=stt * dt, spike_burst=sb, pop_names=list(built.pop_names),
                     pop_start=np.asarray(built.net.neurons.pop_start, np.int64), traces=traces, trace_t_ms=trace_t,
                     trace_neurons=trace_n, metadata=meta, weight_t_ms=np.asarray(weights.t_ms),
                     weights={p: np.asarray(v, np.float32) for p, v in weights.full_snapshots.items() if v},
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
