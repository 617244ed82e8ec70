"""The chunk loop (:func:`l5sim.kernels.engine._run_chunk`) compiled for a circuit: its
variants, their late-bound calls and the compile jobs of a cold start.

A variant is the loop compiled for a circuit's models (sorted model kinds), with or without
plasticity, serial or parallel, its block loops for their live conductance channels
(:func:`_variant`; a circuit compiles only what it uses). Its population loops, delivery, STDP
loops, replay and Poisson inputs are functions of their own that it calls late-bound, through
a :class:`~.binding.Slot` each (symbol ``l5sim.slot.<variant>.<function>``): they are bound
before the loop's first call for a circuit's record types (:func:`_bind`), and, where two CPUs
are free, compiled two at a time together with the loop itself (:func:`_precompile_jobs`,
:func:`l5sim._compiling.compile_in_parallel`; cold start, issue 18 item 5).
"""
from __future__ import annotations

import types

import numba as nb
import numpy as np

from .._numba_config import INTERNAL, NJIT, NJIT_PARALLEL
from . import binding, delivery, engine, fused, stdp
from .delivery import poisson_inputs
from .engine import MODELS
from .events import replay
from .receptors import population_channels
from .records import K_ADEX, K_IZH03, K_IZH07, K_L5

#: The units with a ``prange`` loop besides the models' (name ``_run_chunk`` calls them by
#: -> module, the function that unpacks the records, the loop it calls with arrays and
#: scalars); only plastic circuits use the STDP ones.
_SYNAPSE_UNITS = {"_deliver": (delivery, "deliver", "deliver_loop")}
_STDP_UNITS = {"_depress": (stdp, "depress", "depress_loop"), "_potentiate": (stdp, "potentiate", "potentiate_loop")}


@nb.njit(inline="always", **NJIT)
def _absent_integrate(p, t, dt, nr, pr, rc, zig, ns, G, now, now_dirty, mod, pin):
    """Stands in for the population loop of a model the circuit does not have."""
    return None


@nb.njit(inline="always", **NJIT)
def _absent_detect(p, lo, hi, c_off, d_off, nr, pr, ns, fired, fired_b, nf):
    """Stands in for the ``next_step`` detection of a model the circuit does not have."""
    return nf


@nb.njit(inline="always", **NJIT)
def _absent_spike_unit(fired, f0, nf, neuron_pop, sy, pl, ps):
    """Stands in for an STDP spike unit in a circuit without plastic pathways."""
    return None


@nb.njit(inline="always", **NJIT)
def _absent_decay(pl, ps):
    """Stands in for the trace decay in a circuit without plastic pathways."""
    return None


@nb.njit(inline="always", **NJIT)
def _absent_deferred(t, step, pl, ps, wsyn, modulation, delta):
    """Stands in for the deferred weight updates in a circuit without plastic pathways."""
    return None


def renamed(fn, name, globals_=None):
    """A copy of ``fn`` under another name (and optionally other globals), so that its
    variants have distinct entries in numba's on-disk cache."""
    fn = getattr(fn, "py_func", fn)      # the Python function of a jitted one
    g = types.FunctionType(fn.__code__, fn.__globals__ if globals_ is None else globals_, name, fn.__defaults__,
                           fn.__closure__)
    g.__qualname__ = name
    g.__doc__ = fn.__doc__
    return g


def _unit(mod, wrapper, loop, name, parallel, live=None, late=True):
    """``mod.wrapper`` (inlined into the chunk loop) calling ``mod.loop`` compiled as a
    function of its own: serially without reference counting, or with ``parallel=True``
    (numba turns a ``prange`` into a parallel loop only in a function compiled parallel,
    not in one inlined into it; and it inlines no call of more than 30 arguments).
    ``live``: the bit mask of the conductance channels that can be nonzero in the model's
    populations (:func:`live_channels`), for a model whose loop calls a ``block_step``:
    that function is compiled with them as its constant ``LIVE``; the names of both carry
    the mask (numba's on-disk cache tells functions apart by name, not by globals).
    ``late``: the wrapper calls the loop through a slot (:mod:`.binding`, symbol
    ``l5sim.slot.<name>.<loop's name>``, in the wrapper's ``_slot``) instead of linking it in."""
    short = mod.__name__.rsplit(".", 1)[-1]
    suffix = "_parallel" if parallel else ""
    # serial: without reference counting: the loops allocate nothing, and the increments and
    # decrements of ~70 array arguments cost ~5 us per population and step
    opts = dict(NJIT_PARALLEL if parallel else dict(NJIT, _nrt=False), **INTERNAL)
    g_loop, lsuf = None, ""
    if live is not None and hasattr(mod, "block_step"):
        lsuf = f"_c{live:02x}"
        g_loop = dict(vars(mod), block_step=block_function(mod, live))
    loop_name = f"{short}_{loop}{lsuf}{suffix}"
    loop_fn = nb.njit(**opts)(renamed(getattr(mod, loop), loop_name, g_loop))
    sl = binding.slot(f"l5sim.slot.{name}.{loop_name}", loop_fn) if late else None
    g = dict(vars(mod), **{loop: sl.call if late else loop_fn})
    unit = nb.njit(inline="always", **NJIT)(renamed(getattr(mod, wrapper), f"{short}_{wrapper}_{name}", g))
    unit._slot = sl
    return unit


_BLOCK_FUNCTIONS = {}


def block_function(mod, live):
    """``mod.block_step`` compiled for the conductance channels of bit mask ``live`` (its
    constant ``LIVE``, and that of the ``_update`` it inlines), named for them (numba's
    on-disk cache tells functions apart by name)."""
    key = (mod.__name__, live)
    if key not in _BLOCK_FUNCTIONS:
        short = mod.__name__.rsplit(".", 1)[-1]
        flags = tuple(bool(live >> c & 1) for c in range(8))
        g = dict(vars(mod), LIVE=flags)
        if hasattr(mod, "_update"):     # the update it inlines reads LIVE too
            g["_update"] = nb.njit(inline="always", **NJIT)(renamed(mod._update, f"{short}_update_c{live:02x}", g))
        fn = renamed(mod.block_step, f"{short}_block_step_c{live:02x}", g)
        _BLOCK_FUNCTIONS[key] = nb.njit(**mod.BLOCK_STEP_OPTS)(fn)
    return _BLOCK_FUNCTIONS[key]


def _variant(kinds, plastic, live, parallel):
    """``_run_chunk`` compiled for circuits whose models are ``kinds`` (a sorted tuple of
    ``MODELS`` keys), with or without plasticity, serial or parallel; the block loops
    compiled for their ``live`` channels (``((kind, mask), ...)``, :func:`live_channels`). The loops of other
    models and, without plasticity, the STDP units are replaced by stand-ins that compile
    to nothing: a circuit compiles only what it uses. Each variant has a name of its own
    (its entry in numba's on-disk cache), e.g. ``run_chunk_l5cell_izh2007_parallel``.
    Returns the loop and its globals (where :func:`_precompile_jobs` finds its units)."""
    live = dict(live)
    shorts = [MODELS[k].__name__.rsplit(".", 1)[-1] + (f"_c{live[k]:02x}" if k in live else "") for k in kinds]
    name = "_".join(["run_chunk"] + shorts + (["stdp"] if plastic else []) + (["parallel"] if parallel else []))
    g = dict(vars(engine))
    for kind, mod in MODELS.items():
        short = mod.__name__.rsplit(".", 1)[-1]
        used = kind in kinds
        g[f"_integrate_{short}"] = (_unit(mod, "integrate", "population_loop", name, parallel, live.get(kind))
                                    if used else _absent_integrate)
        g[f"_detect_{short}"] = mod.detect_next if used else _absent_detect
    units = dict(_SYNAPSE_UNITS, **(_STDP_UNITS if plastic else {}))
    for key, (mod, wrapper, loop) in units.items():
        g[key] = _unit(mod, wrapper, loop, name, parallel)
    if not plastic:
        g.update(_depress=_absent_spike_unit, _potentiate=_absent_spike_unit, pre_spikes=_absent_spike_unit,
                 decay_traces=_absent_decay, deferred_updates=_absent_deferred)
    g["_PLASTIC"] = plastic
    # called from the loop itself, late-bound as the units' loops are (binding)
    g["_replay"] = binding.slot(f"l5sim.slot.{name}.replay", replay).call
    g["_poisson_inputs"] = binding.slot(f"l5sim.slot.{name}.poisson_inputs_step", _poisson_inputs).call
    g["_LATE"] = [s for s in binding._SLOTS.values() if s.name.startswith(f"l5sim.slot.{name}.")]
    g["_integrate"] = nb.njit(inline="always", **NJIT)(renamed(engine._integrate, f"_integrate_{name}", g))
    g["_start_of_step"] = nb.njit(inline="always", **NJIT)(renamed(engine._start_of_step, f"_start_of_step_{name}", g))
    return nb.njit(_nrt=False, **NJIT)(renamed(engine._run_chunk, name, g)), g


def _fused_variant(kinds, live):
    """The fused parallel loop (:mod:`.fused`) for circuits whose models are ``kinds`` (L5
    and/or Izhikevich 2007 cells), without plasticity, their block functions compiled for
    the ``live`` channels; named as :func:`_variant`'s, e.g. ``run_chunk_l5cell_c3f_fused``."""
    live = dict(live)
    shorts = [MODELS[k].__name__.rsplit(".", 1)[-1] + (f"_c{live[k]:02x}" if k in live else "") for k in kinds]
    name = "_".join(["run_chunk"] + shorts + ["fused"])
    g = dict(vars(fused))
    for kind, mod in MODELS.items():
        g[f"_detect_{mod.__name__.rsplit('.', 1)[-1]}"] = mod.detect_next if kind in kinds else _absent_detect
    g["_start_of_step"] = nb.njit(inline="always", **NJIT)(renamed(engine._start_of_step, f"_start_of_step_{name}",
                                                                    dict(vars(engine), **g)))
    g["_HAS_L5"], g["_HAS_I07"] = K_L5 in kinds, K_IZH07 in kinds
    # the block functions and delivery late-bound (binding), as the serial loop calls them:
    # compiled once, and loaded from the cache where the serial loop already compiled them
    late = {"_deliver_range": delivery.deliver_range}
    if K_L5 in kinds:
        late["_block_l5"] = block_function(MODELS[K_L5], live[K_L5])
    if K_IZH07 in kinds:
        late["_block_i07"] = block_function(MODELS[K_IZH07], live[K_IZH07])
    for key, target in late.items():
        g[key] = binding.slot(f"l5sim.slot.{name}.{target.py_func.__name__}", target).call
    g["_LATE"] = [s for s in binding._SLOTS.values() if s.name.startswith(f"l5sim.slot.{name}.")]
    return fused.compile_variant(name, g), g


#: The external Poisson inputs, a function of its own (called once per step, not inlined):
#: inlined, they cost about 1.9 s of the chunk loop's compile, compiled alone a fraction of it.
_poisson_inputs = nb.njit(_nrt=False, **NJIT, **INTERNAL)(renamed(poisson_inputs, "poisson_inputs_step"))

_VARIANTS = {}

#: ``Net`` fields of the parameter records of models other than the L5 cell (whose gate the
#: spike record and the traces read for any circuit), by model kind.
_MODEL_PARAMS = {K_IZH07: "izh2007", K_IZH03: "izh2003", K_ADEX: "adex"}


def _unused(kinds, plastic):
    """The ``Net`` and ``State`` fields a variant does not read, each to be passed as None:
    the parameter records of models the circuit does not have and, without plasticity,
    the plasticity records. numba's Python-callable wrapper unboxes every array of its
    arguments (~10 ms of compile each; 181 arrays in all); these are 53 of them on the
    README's column."""
    net = {f: None for k, f in _MODEL_PARAMS.items() if k not in kinds}
    if not plastic:
        net["plasticity"] = None
    return net, ({} if plastic else {"plasticity": None})


def features(net):
    """(models with a population loop, sorted; whether any pathway is plastic; the live
    channels of the models whose loops run in blocks, :func:`live_channels`): what the
    chunk loop is compiled for."""
    kinds = tuple(sorted({int(k) for k in net.neurons.kind} & set(MODELS)))
    live = live_channels(net)
    return kinds, bool(net.plasticity.rules.triplet.shape[0] > 0), tuple((k, live[k]) for k in kinds if k in live)


def fused_eligible(net) -> bool:
    """Whether the parallel kernel of ``net`` is the fused loop (:func:`l5sim.kernels.fused.eligible`)."""
    return fused.eligible(*features(net)[:2])


def live_channels(net) -> dict:
    """``{kind: mask}`` for the models whose loops run in blocks (``block_step``): the
    union of :func:`l5sim.kernels.receptors.population_channels` over the populations of
    that kind (bit ch: conductance channel ch can be nonzero there)."""
    pop_mask = population_channels(net)
    return {kind: int(np.bitwise_or.reduce(pop_mask[net.neurons.kind == kind], initial=0))
            for kind, mod in MODELS.items() if hasattr(mod, "block_step")}


def chunk_kernel(net, parallel=False):
    """The chunk loop for ``net`` (compiled on first use for its models and plasticity, see
    :func:`_variant`): ``run(net, st, out, t0, n_steps) -> (status, steps_done)``, with
    scratch arrays for one step's spikes sized for ``net``. The parallel variant runs
    neurons of a population and blocks of delivery targets in parallel; every neuron owns
    its random stream and every target receives its inputs in spike order, so both
    variants give identical results whatever the thread count.

    The loop calls its separately compiled functions late-bound (:mod:`.binding`): before
    the first call for a circuit's record types, ``run`` binds each of them for the types the
    loop passes (:func:`_late_calls`), compiling it or loading it from numba's cache.
    ``run.precompile_jobs(net, st)`` lists those compiles and the loop's own as jobs (empty
    once the loop is compiled or cached): the simulation runs them two at a time before the
    first call where two CPUs are free (cold start, issue 18 item 5)."""
    key = features(net) + (bool(parallel),)
    if parallel and fused.eligible(*key[:2]):
        return _fused_kernel(net, key)
    if key not in _VARIANTS:
        _VARIANTS[key] = _variant(*key)
    fn, g = _VARIANTS[key]
    n = net.neurons.pop_of.shape[0]
    fired = np.empty(n, np.int64)
    fired_b = np.empty(n, np.uint8)
    net_none, st_none = _unused(*key[:2])
    bound = []

    def run(net_, st_, out_, t0, n_steps):
        net_, st_ = net_._replace(**net_none), st_._replace(**st_none)
        if not bound:
            _bind(fn, g, (net_, st_, out_, t0, n_steps, fired, fired_b))
            bound.append(True)
        return fn(net_, st_, out_, t0, n_steps, fired, fired_b)

    def precompile_jobs(net_, st_, out_):
        """The loop's compiles as jobs (:func:`_precompile_jobs`); none once the loop is
        compiled in this process or cached."""
        if fn.signatures or _on_disk(fn):
            return []
        net_, st_ = net_._replace(**net_none), st_._replace(**st_none)
        return _precompile_jobs(fn, g, key, net_, st_, out_, fired, fired_b)

    run.precompile_jobs = precompile_jobs
    return run


def _fused_kernel(net, key):
    """:func:`chunk_kernel`'s ``run`` for the fused parallel loop (:mod:`.fused`), on
    numba's current thread count at each call."""
    vkey = ("fused",) + key[:3]
    if vkey not in _VARIANTS:
        _VARIANTS[vkey] = _fused_variant(key[0], key[2])
    fn, g = _VARIANTS[vkey]
    n = net.neurons.pop_of.shape[0]
    fired = np.empty(2 * n, np.int64)       # a step's spikes, then the next step's first ones
    fired_b = np.empty(2 * n, np.uint8)
    gain_prev = np.empty(net.synapses.path_delay.shape[0])
    shared_cnt = np.zeros(net.poisson_inputs.lo.shape[0], np.int64)
    net_none, st_none = _unused(*key[:2])

    items = {}
    bound = []

    def run(net_, st_, out_, t0, n_steps):
        T = fused.thread_count()
        if T not in items:
            items[T] = fused.items(n, T, fused.ITEMS_PER_THREAD)
        net_ = net_._replace(synapses=net_.synapses._replace(blocks=items[T]), **net_none)
        st_ = st_._replace(**st_none)
        if not bound:
            _bind(fn, g, (0, T, net_, st_, out_, t0, n_steps, fired, fired_b, fused.control(0, 1), gain_prev,
                          shared_cnt))
            bound.append(True)
        return fused.run(fn, T, net_, st_, out_, t0, n_steps, fired, fired_b, gain_prev, shared_cnt)

    def precompile_jobs(net_, st_, out_):
        """The fused loop's compile as one job (it links the functions it calls)."""
        if fn.signatures or _on_disk(fn):
            return []
        net_, st_ = net_._replace(**net_none), st_._replace(**st_none)
        ty, i64 = nb.typeof, nb.types.int64
        sig = (i64, i64, ty(net_), ty(st_), ty(out_), i64, i64, ty(fired), ty(fired_b), ty(fused.control(0, 1)),
               ty(gain_prev), ty(shared_cnt))
        from functools import partial
        return [(_COMPILE_WEIGHTS["chunk"], "chunk", partial(fn.compile, sig))]

    run.precompile_jobs = precompile_jobs
    return run


def _on_disk(fn) -> bool:
    """Whether numba's cache has an index for jitted ``fn`` (then it is most likely cached:
    loaded, not compiled), or has no cache for it at all (``L5SIM_NUMBA_CACHE=0``): in both
    cases no function is compiled ahead (:func:`l5sim._compiling.compile_in_parallel` hands
    the child's work over through the cache)."""
    import os

    try:
        return os.path.exists(fn._cache._cache_file._index_path)
    except AttributeError:          # no on-disk cache (numba's NullCache) or numba internals moved
        return True


#: Rough compile times (s) of the chunk loop and of its separately compiled functions, each
#: with the functions it calls (README column, empty cache, this project's 2-core machine;
#: the point models' loops estimated): :func:`_precompile_jobs` orders its jobs by them.
_COMPILE_WEIGHTS = {K_L5: 6.8, K_IZH07: 2.2, K_IZH03: 1.0, K_ADEX: 1.0, "poisson": 1.4, "deliver": 1.3,
                    "stdp": 1.0, "replay": 0.25, "chunk": 4.7}

#: (chunk loop, its argument types) already bound in this process (:func:`_bind`).
_BOUND = set()


def _typed_call(unit, argtypes):
    """The argument types of the single late-bound call in ``unit`` (a unit wrapper, which
    the chunk loop inlines) typed for ``argtypes``."""
    calls = binding.late_calls(unit, argtypes)
    if len(calls) != 1:
        raise RuntimeError(f"{unit.py_func.__name__}: expected one late-bound call, found {len(calls)}")
    return calls.popitem()[1]


def _late_calls(g, key, net, st, fired):
    """``[(weight, name, slot, types), ...]``, heaviest first: each late-bound call of the
    variant (globals ``g``) with the argument types :func:`_run_chunk` gives it for records
    ``net`` and ``st`` (as the chunk loop receives them), mirrored here: for the replay and
    the Poisson inputs, which the loop calls directly, ``types`` are their argument types;
    for the models' population loops, delivery and the STDP loops, the types the loop passes
    their wrappers (``types`` is then ``(wrapper, its argument types)``: typing the wrapper
    gives the call's, :func:`_typed_call`). For the compile jobs of a cold start only: a
    type mirrored wrongly costs a second compile, never a wrong call (:func:`_bind` binds
    what the loop's own typing or numba's cache gives; tests/test_binding.py checks the
    mirror against the loop's own typing)."""
    kinds, plastic = key[:2]
    ty, i64 = nb.typeof, nb.types.int64
    ns, sy_s = st.neurons, st.synapses
    calls = []

    def wrapped(weight, name, unit, args):
        calls.append((weight, name, unit._slot, (unit, args)))

    for kind in kinds:
        short = MODELS[kind].__name__.rsplit(".", 1)[-1]
        pr = net.l5 if kind == K_L5 else getattr(net, _MODEL_PARAMS[kind])
        # _integrate: (p, t, dt, nr, pr, rc, zig, ns, G, now, now_dirty, mod, pin), p and t int64
        args = (i64, i64, ty(net.dt), ty(net.neurons), ty(pr), ty(net.receptors), ty(net.ziggurat), ty(ns),
                ty(sy_s.g), ty(sy_s.now), ty(sy_s.now_dirty), ty(st.modulation.value), ty(net.poisson_inputs))
        wrapped(_COMPILE_WEIGHTS.get(kind, 1.0), short, g[f"_integrate_{short}"], args)
    # _deliver(fired, f0, nf, slot, pop_of, sy, ss)
    args = (ty(fired), i64, i64, i64, ty(net.neurons.pop_of), ty(net.synapses), ty(sy_s))
    wrapped(_COMPILE_WEIGHTS["deliver"], "deliver", g["_deliver"], args)
    if plastic:
        # _depress / _potentiate(fired, f0, nf, pop_of, sy, pl, ps)
        args = (ty(fired), i64, i64, ty(net.neurons.pop_of), ty(net.synapses), ty(net.plasticity),
                ty(st.plasticity))
        for unit in ("_depress", "_potentiate"):
            wrapped(_COMPILE_WEIGHTS["stdp"], unit[1:], g[unit], args)
    # _poisson_inputs(t, dt, pin, rng, input_rng, now, now_dirty, scratch, kind, pop_of)
    args = (i64, ty(net.dt), ty(net.poisson_inputs), ty(ns.rng), ty(sy_s.input_rng), ty(sy_s.now),
            ty(sy_s.now_dirty), ty(ns.scratch), ty(net.neurons.kind), ty(net.neurons.pop_of))
    calls.append((_COMPILE_WEIGHTS["poisson"], "poisson", _slot_named(g, "poisson_inputs_step"), args))
    # _replay(slot, used, off, codes, values, count, spilled, ring, dirty, now, now_dirty)
    args = (i64, ty(net.receptors.used), ty(sy_s.events_off), ty(sy_s.events_code), ty(sy_s.events_value),
            ty(sy_s.events_count), ty(sy_s.spilled), ty(sy_s.ring), ty(sy_s.ring_dirty), ty(sy_s.now),
            ty(sy_s.now_dirty))
    calls.append((_COMPILE_WEIGHTS["replay"], "replay", _slot_named(g, "replay"), args))
    return sorted(calls, key=lambda c: -c[0])


def _slot_named(g, short):
    """The slot of the variant (globals ``g``) for callee ``short``."""
    return next(sl for sl in g["_LATE"] if sl.name.rsplit(".", 1)[1] == short)


def _bind(fn, g, args):
    """Compile the chunk loop ``fn`` for ``args`` (or load it from numba's cache), then bind
    its late-bound calls (:meth:`~.binding.Slot.bind_known`): compiles each callee, or loads
    it from the cache, for the types the loop's typing (this process) or the cache gives.
    A loop loaded from the cache whose callee has no entry there (the callee's source changed
    since, the loop's did not: numba keeps one file's entries only while that file is
    unchanged) is typed again (not compiled) for the types it passes that callee; without
    this its call would raise RuntimeError. Once per loop and argument types in a process."""
    sig = tuple(nb.typeof(a) for a in args)
    if (fn, sig) in _BOUND:
        return
    fn.compile(sig)
    for sl in g["_LATE"]:
        sl.bind_known()
    if any(sl.free_entries() == binding.ENTRIES for sl in g["_LATE"]):
        binding.late_calls(fn, sig)     # (typing the loop records its calls' types: Slot.typed)
        for sl in g["_LATE"]:
            sl.bind_known()
    _BOUND.add((fn, sig))


def _compile_unit(sl, types_):
    """A compile job of :func:`_precompile_jobs`: the callee of slot ``sl`` for ``types_``
    (as :func:`_late_calls` gives them)."""
    if isinstance(types_[0], nb.types.Type):
        sl.target.compile(types_)
    else:
        sl.target.compile(_typed_call(*types_))


def _precompile_jobs(fn, g, key, net, st, out, fired, fired_b):
    """``[(weight, name, job), ...]``, heaviest first: a job per function the chunk loop
    ``fn`` (globals ``g``) calls late-bound, compiling it for the types the loop passes
    (:func:`_late_calls`), and one compiling the loop itself for these records. For
    :func:`l5sim._compiling.compile_in_parallel`: the jobs are independent of each other."""
    from functools import partial

    jobs = [(w, name, partial(_compile_unit, sl, types_)) for w, name, sl, types_ in _late_calls(g, key, net, st,
                                                                                                   fired)]
    ty, i64 = nb.typeof, nb.types.int64
    sig = (ty(net), ty(st), ty(out), i64, i64, ty(fired), ty(fired_b))
    jobs.append((_COMPILE_WEIGHTS["chunk"], "chunk", partial(fn.compile, sig)))
    return sorted(jobs, key=lambda j: -j[0])
