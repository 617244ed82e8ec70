"""The fused parallel chunk loop: one parallel region per chunk, the threads meet once a step.

The parallel variant of :func:`l5sim.kernels.engine._run_chunk` runs each population loop
and each delivery as a parallel region of its own: five or more a step on the L5 column.
numba ends each region with a join and, with the passive wait policy that a shared machine
needs (:mod:`l5sim.threads`), starts the next by waking the sleeping threads, ~50 us a region
on this project's VM. The 10k column's step takes ~130 us on one thread, so two threads
were slower than one (issue 18, item 4: 1.49 s against 1.31 s per biological second).

Here a chunk is one parallel region (:func:`run`: this thread and threads of a pool, each
running the nogil :func:`_worker`, started once per chunk; measured on two threads in the
docstring of :data:`ITEMS_PER_THREAD`). Phase s of the chunk is its step ``t0 + s``. Its work
is cut into *items*, blocks of target neurons on whole tiles of the event lists
(:func:`items`, a few per thread). Each thread does the items of its own share first, the
same targets every step (their state stays in its core's caches), then takes over, from the
far end, items of others' shares that no thread has started: an item is taken by moving its
stamp from s to s + 1 with a compare-exchange (:mod:`.sync`). An item of phase s, for its
targets a..b-1:

1. delivers the spikes still pending (step t - 1's spikes of its population loops, then
   step t's from generators, sources and ``next_step`` detection) to its targets: the
   delivery of :mod:`.delivery` cut to the block (:func:`~.delivery.deliver_range`);
2. replays slot t of its tiles' event lists into the step's arrivals
   (:func:`~.events.replay_tiles`), adds the external Poisson inputs of its targets, and
   advances its neurons of every population (each model's ``block_step``, which draws the
   block's own drive), then clears its lines' arrival marks.

The thread that completes a phase's last item does the step's serial part
(:func:`_end_step`): it collects the populations' spikes in population and index order,
records them and the traces, then opens the next step (:func:`_open_step`: modulation,
spike histories, the start-of-step spikes, the shared inputs' counts) and publishes it with a
release store of the phase, for which the other threads wait, spinning briefly
(:mod:`.sync`). A last phase only delivers the chunk's last spikes.

Exactly the serial loop's results, for any thread count (tests/test_parallel.py,
tests/test_fused.py): every
neuron owns its random streams; every target belongs to one item, which adds its arrivals in
the serial loop's order (pending spikes in spike order, slot t's lists in append order, the
Poisson inputs by input, then the block drive); the serial part is serial. The spikes of a
step are delivered at the start of the next one, before its replay; a delivery reaches slot
t + delay with delay >= 0 and that slot is replayed no earlier, so every slot holds what it
held in the serial loop when it is replayed. A step's spikes are delivered with the
pathway gains of their own step (``gain_prev``, copied before the next step's modulation).

A thread that starts late (a pool may start a task only when another ends) finds the steps
done by the others and joins where they are; no thread waits for an item that no running
thread holds, so the loop cannot deadlock on the threads it gets (tests/test_fused.py).

Circuits with plasticity, or with models other than the L5 and Izhikevich 2007 cells (whose
loops run in blocks, ``block_step``), keep the region-per-loop parallel variant
(:func:`eligible`).
"""
from __future__ import annotations

import math
import threading
from concurrent.futures import ThreadPoolExecutor

import numba as nb
import numpy as np

from .._numba_config import INTERNAL, NJIT
from . import izh2007, l5cell
from .delivery import drawn_in_blocks, input_lam, per_target_counts, shared_events
from .engine import collect_flags, modulate, record_spikes, sample_traces_of, shift_histories
from .events import replay_tiles
from .records import EVENT_TILE, EVENT_TILE_SHIFT, K_IZH07, K_L5, LINE_SHIFT
from .rng import poisson_small
from .sync import SPIN, atomic_add, compare_exchange, cpu_relax, load_acquire, store_release, yield_cpu

# The control words (``ctl``, int64): the counters the threads update, each on a cache line
# of its own, then what the serial part publishes with the phase, then one stamp per item
# (the phases it was done in; a line each).
C_PHASE = 0     # the phase open to items (-1 before the first)
C_DONE = 8      # items completed
C_FIRST = 16    # threads arrived (the first opens phase 0)
C_END = 24      # the last phase that has items
C_NF1 = 25      # fired[0:NF1]: spikes of the step before, pending delivery (slot t - 1)
C_NF = 26       # fired[NF1:NF]: the step's start-of-step spikes, pending delivery (slot t)
C_FULL = 27     # 1: the phase is a whole step; 0: it only delivers
C_STATUS = 28   # the chunk's status (engine module docstring)
C_STEPS = 29    # steps done
C_STAMP = 32    # item k's stamp: ctl[C_STAMP + 8 k]

#: Globals each variant sets (:func:`compile_variant`): the start of a step with the
#: variant's ``next_step`` detections, the late-bound calls (:mod:`.binding`) of the models'
#: block functions compiled for their live channels and of the delivery
#: (:func:`~.delivery.deliver_range`), and which of the two models the circuit has (numba
#: drops the other's branch).
_start_of_step = None
_block_l5 = _block_i07 = _deliver_range = None
_HAS_L5 = _HAS_I07 = False

#: Kinds of the models whose loops run in blocks the items can call.
KINDS = (K_L5, K_IZH07)


def eligible(kinds, plastic) -> bool:
    """Whether the fused loop runs circuits of population-loop ``kinds`` (sorted
    ``engine.MODELS`` keys) and plasticity ``plastic``."""
    return not plastic and len(kinds) > 0 and set(kinds) <= set(KINDS)


#: Items per thread (:func:`items`): a thread's share in a few items leaves the others some to
#: take over when it is slow; each item costs ~1 us of its own a step (its calls, its cut of
#: the delivery). Two threads on the 10k column (scale 20), 300 ms, min of 5 interleaved runs:
#: 0.238 s with 1 item per thread, 0.248 s with 2, 0.266 s with 4, 0.296 s with 8; serial
#: 0.401 s. Two, for a thread slowed by another process.
ITEMS_PER_THREAD = 2


def items(N, n_threads, per_thread):
    """Edges (int64, ``n_threads * per_thread + 1`` of them, non-decreasing: an item may be
    empty) of the items over ``N`` targets: each thread's share about ``N / n_threads``
    targets, cut into ``per_thread`` items of about equal size, every edge on a whole tile of
    the event lists (an item replays and appends to its own tiles; its dirty marks are its own
    lines). A neuron-step of an L5 cell and of an Izhikevich 2007 cell cost about the same
    here, arrivals included: items cut by an estimated cost per model (0.4 for the latter)
    ran 0.257 s against 0.235 s of equal ones (10k column, 300 ms, two threads)."""
    def tiles(x):
        return (np.asarray(x) + EVENT_TILE // 2) // EVENT_TILE * EVENT_TILE

    share = np.minimum(tiles(np.linspace(0, N, n_threads + 1)), N)
    share[-1] = N
    edges = [0]
    for w in range(n_threads):
        cut = np.minimum(tiles(np.linspace(share[w], share[w + 1], per_thread + 1)[1:]), share[w + 1])
        cut[-1] = share[w + 1]
        edges.extend(int(c) for c in np.maximum.accumulate(np.maximum(cut, edges[-1])))
    return np.asarray(edges, np.int64)


def control(n_steps, n_items):
    """The control words (``ctl``) for a call of ``n_steps`` steps on ``n_items`` items."""
    ctl = np.zeros(C_STAMP + 8 * n_items, np.int64)
    ctl[C_PHASE] = -1
    ctl[C_END] = n_steps
    return ctl


def _worker(w, n_threads, net, st, out, t0, n_steps, fired, fired_b, ctl, gain_prev, shared_cnt):
    """Thread ``w`` of ``n_threads``' part of advancing the network from step ``t0`` by
    ``n_steps`` steps: it does items of each open phase until none is left, then waits for
    the next phase. Every thread calls it with the same arguments but ``w`` (:func:`run`);
    ``ctl``: :func:`control`; ``gain_prev`` (float64, one per pathway) and ``shared_cnt``
    (int64, one per Poisson input): scratch; ``fired``, ``fired_b``: two entries per neuron."""
    if atomic_add(ctl, C_FIRST, 1) == 0:
        # (int64 zeros, not literals: a literal 0 would compile the callee once more for it)
        _open_step(np.int64(0), net, st, out, t0, n_steps, fired, fired_b, ctl, gain_prev, shared_cnt, np.int64(0))
    ph = 0
    while True:
        n = 0
        while load_acquire(ctl, C_PHASE) < ph:
            if n < SPIN:
                cpu_relax()
                n += 1
            else:
                yield_cpu()
        ph = load_acquire(ctl, C_PHASE)     # (a thread that started late joins where the others are)
        if ph > ctl[C_END]:
            return
        if _phase(ph, w, n_threads, net, st, t0, fired, ctl, gain_prev, shared_cnt):
            _end_step(ph, net, st, out, t0, n_steps, fired, fired_b, ctl, gain_prev, shared_cnt)
        ph += 1


def _phase(ph, w, n_threads, net, st, t0, fired, ctl, gain_prev, shared_cnt):
    """Thread ``w``'s items of phase ``ph``: those of its own share of the items first (the
    same targets every step, whose state stays in its core's caches), then, backwards, any
    another thread has not taken yet; an item is taken by moving its stamp from ``ph`` to
    ``ph + 1`` (compare-exchange). Each: its targets' pending deliveries, then (a whole
    step) its tiles' replay, its targets' Poisson inputs and its neurons' step. Returns
    whether this thread completed the phase's last item."""
    nr, sy, rc, pin, zig, l5p, i07p = net.neurons, net.synapses, net.receptors, net.poisson_inputs, net.ziggurat, \
        net.l5, net.izh2007
    ns, ss, mod = st.neurons, st.synapses, st.modulation.value
    blk, pop_of, kind, pop_start, used = sy.blocks, nr.pop_of, nr.kind, nr.pop_start, rc.used
    ring, ring_dirty, now_l, now_dirty_l = ss.ring, ss.ring_dirty, ss.now, ss.now_dirty
    off, codes, values, count, spilled = ss.events_off, ss.events_code, ss.events_value, ss.events_count, ss.spilled
    G, S, path_gain = ss.g, ns.scratch, ss.path_gain
    GR = (G[0], G[1], G[2], G[3], G[4], G[5], G[6], G[7])
    zig3 = (zig.k, zig.w, zig.f)    # (the PV/SOM loop's type of the tables: its compiled block function)
    dt = net.dt
    n_items = blk.shape[0] - 1
    t = t0 + ph
    D = ring.shape[0]
    slot = t % D
    prev = slot - 1 if slot > 0 else D - 1
    nf1 = ctl[C_NF1]
    nf = ctl[C_NF]
    full = ctl[C_FULL] != 0
    lists = codes.shape[1] > 0
    if lists:
        now, now_dirty = now_l, now_dirty_l
    else:                   # every tile dense: slot t of the ring is the step's arrivals
        now, now_dirty = ring[slot], ring_dirty[slot]
    hist = ns.spike_history
    one = np.uint64(1)
    shift_own = not _l5_next_step(nr)
    home = w * n_items // n_threads
    own = (w + 1) * n_items // n_threads - home
    last = False
    for j in range(n_items):
        it = home + j if j < own else (home - 1 - (j - own)) % n_items
        if not compare_exchange(ctl, C_STAMP + 8 * it, ph, ph + 1):
            continue
        a = blk[it]
        b = blk[it + 1]
        for part in range(2):
            f0, f1, sl, gain = (0, nf1, prev, gain_prev) if part == 0 else (nf1, nf, slot, path_gain)
            if f1 > f0:
                _deliver_range(a, b, True, fired, f0, f1, sl, pop_of, sy.row_ptr, sy.post, sy.weight, sy.delay,
                              sy.path_row0, sy.path_pre0, sy.pop_path_ptr, sy.pop_paths, sy.path_delay,
                              sy.path_dense, sy.path_rec_ptr, sy.path_rec_channel, sy.path_rec_scale, gain, off,
                              codes, values, count, spilled, ring, ring_dirty)
        if full:
            if shift_own:
                for p in range(kind.shape[0]):
                    if kind[p] == K_L5:
                        h = hist[max(a, pop_start[p]):max(a, min(b, pop_start[p + 1]))]   # (a view from 0)
                        for k in range(h.shape[0]):
                            h[k] = h[k] << one
            if lists:
                replay_tiles(slot, a >> EVENT_TILE_SHIFT, (b + EVENT_TILE - 1) >> EVENT_TILE_SHIFT, used, off, codes,
                             values, count, spilled, ring, ring_dirty, now, now_dirty)
            _inputs(a, b, t, dt, pin, ns.rng, shared_cnt, now, now_dirty, S, kind, pop_of)
            for p in range(kind.shape[0]):
                lo = max(a, pop_start[p])
                hi = min(b, pop_start[p + 1])
                if hi <= lo:
                    continue
                if _HAS_L5 and kind[p] == K_L5:
                    flags, scalars, bap_shift, bap_mask = l5cell.step_params(p, t, dt, nr, l5p, mod)
                    for x in range(lo, hi, L5_BLOCK):
                        _block_l5(x, min(x + L5_BLOCK, hi), flags, scalars, bap_shift, bap_mask, nr.a, nr.b, nr.c,
                                  nr.d, ns, now, now_dirty, GR, used, rc.reversal_mV, rc.mg_block, rc.decay, zig,
                                  pin, kind, pop_of, S[0], S[1], S[2], S[3])
                elif _HAS_I07 and kind[p] == K_IZH07:
                    (scheme, lag, C, kk, vr, vt, vpeak, vpeak_u, c_u, u_max, umode, vb, cap_nmda, ceiling, is_off,
                     c_off, d_off) = izh2007.step_params(p, nr, i07p, mod)
                    for x in range(lo, hi, I07_BLOCK):
                        _block_i07(x, min(x + I07_BLOCK, hi), t, dt, scheme, lag, C, kk, vr, vt, vpeak, vpeak_u,
                                   c_u, u_max, umode, vb, cap_nmda, ceiling, is_off, c_off, d_off, nr.a, nr.b, nr.c,
                                   nr.d, ns.v, ns.u, ns.flag, ns.diverged_value, ns.soma_bias, ns.soma_noise_sd,
                                   ns.rng, ns.kappa, zig3, now, now_dirty, GR, used, rc.reversal_mV, rc.mg_block,
                                   rc.decay, pin, kind, pop_of, S[0], S[1], S[2], S[3])
            l0 = a >> LINE_SHIFT
            l1 = ((b - 1) >> LINE_SHIFT) + 1
            for q in range(used.shape[0]):     # every population of the item has read its arrivals
                now_dirty[used[q], l0:l1] = 0
        if atomic_add(ctl, C_DONE, 1) + 1 == (ph + 1) * n_items:
            last = True
    return last


@nb.njit(inline="always", **NJIT)
def _l5_next_step(nr):
    """Whether an L5 population detects its spikes at the start of the next step. Its spikes
    are then recorded into the spike histories (bit 0) by the serial part before the step's
    items run, so the histories are shifted there, before them (engine's order); else each
    item shifts its own L5 cells' histories, which then stay in its core's cache (a serial
    shift of the 10k column's 8k histories made every step's items fetch them back)."""
    for p in range(nr.kind.shape[0]):
        if nr.kind[p] == K_L5 and nr.detect_next_step[p] > 0:
            return True
    return False


def _inputs(a, b, t, dt, pin, rng, shared_cnt, now, now_dirty, scratch, kind, pop_of):
    """The external Poisson inputs of targets a..b-1 that their population loops do not draw
    (:func:`l5sim.kernels.delivery.poisson_inputs` cut to the item): per-target counts from
    each target's stream; one count per input (``shared_cnt``, drawn by :func:`_open_step`)."""
    for k in range(pin.lo.shape[0]):
        if t < pin.t0[k] or t >= pin.t1[k] or drawn_in_blocks(pin, k, kind, pop_of):
            continue
        lo = max(a, pin.lo[k])
        hi = min(b, pin.hi[k])
        if hi <= lo:
            continue
        if pin.shared[k]:
            if shared_cnt[k] > 0:
                shared_events(k, lo, hi, shared_cnt[k], pin, now, now_dirty)
        else:
            lam = input_lam(pin, k, t, dt)
            per_target_counts(k, lo, hi, lam, math.exp(-lam), pin, rng, now, now_dirty, scratch[0], scratch[1])


def _end_step(ph, net, st, out, t0, n_steps, fired, fired_b, ctl, gain_prev, shared_cnt):
    """The serial part after phase ``ph``'s last item: the step's spikes collected (in
    population and index order) and recorded, its traces sampled, the next step opened."""
    if ctl[C_FULL] == 0:        # the chunk's last deliveries are done
        store_release(ctl, C_PHASE, ph + 1)
        return
    nr, ns = net.neurons, st.neurons
    t = t0 + ph
    nf = np.int64(0)
    for p in range(nr.kind.shape[0]):
        kind = nr.kind[p]
        if kind != K_L5 and kind != K_IZH07:
            continue
        nf, bad = collect_flags(nr.pop_start[p], nr.pop_start[p + 1], t, ns.flag, ns.diverged_value, out.diverged,
                           fired, fired_b, nf)
        if bad:
            ctl[C_STATUS] = 2
            ctl[C_STEPS] = ph
            ctl[C_END] = ph
            store_release(ctl, C_PHASE, ph + 1)
            return
    mod = st.modulation.value
    record_spikes(0, nf, t, nr, net.l5, ns, mod, out, fired, fired_b)
    sample_traces_of(t, nr.pop_of, net.l5, ns, st.synapses.g, mod, out)
    _open_step(ph + 1, net, st, out, t0, n_steps, fired, fired_b, ctl, gain_prev, shared_cnt, nf)


def _open_step(ph, net, st, out, t0, n_steps, fired, fired_b, ctl, gain_prev, shared_cnt, nf):
    """Open phase ``ph`` (step ``t0 + ph``), ``fired[0:nf]`` holding the step before's
    spikes: a whole step (modulation, spike histories, the start-of-step spikes recorded
    after them, the shared inputs' counts), or, at the chunk's end or with the spike record
    full, one that only delivers; then the phase published (release)."""
    ss = st.synapses
    gain = ss.path_gain
    for q in range(gain.shape[0]):
        gain_prev[q] = gain[q]
    N = st.neurons.v.shape[0]
    ctl[C_NF1] = nf
    if ph == n_steps or out.n_spikes[0] + N > out.spike_neuron.shape[0]:
        ctl[C_STATUS] = 0 if ph == n_steps else 1
        ctl[C_STEPS] = ph
        ctl[C_END] = ph if nf > 0 else ph - 1
        ctl[C_NF] = nf
        ctl[C_FULL] = 0
        store_release(ctl, C_PHASE, ph)
        return
    nr, ns, md, pin = net.neurons, st.neurons, net.modulation, net.poisson_inputs
    mod = st.modulation.value
    t = t0 + ph
    dt = net.dt
    if md.kind.shape[0] > 0:
        modulate(ph, md, mod, st.modulation.delta, gain, gain[:0], gain[:0])
    if _l5_next_step(nr):   # (else each item shifts its own: _phase)
        shift_histories(nr, ns.spike_history)
    n0 = _start_of_step(t, dt, nr, ns, mod, net.generators, st.generator_pos, net.sources.rate_hz, net.l5,
                        net.izh2007, net.izh2003, net.adex, fired[nf:], fired_b[nf:])
    record_spikes(nf, nf + n0, t, nr, net.l5, ns, mod, out, fired, fired_b)
    for k in range(pin.lo.shape[0]):
        if pin.shared[k] and t >= pin.t0[k] and t < pin.t1[k] and pin.hi[k] > pin.lo[k]:
            shared_cnt[k] = poisson_small(ss.input_rng, k, input_lam(pin, k, t, dt))
    ctl[C_NF] = nf + n0
    ctl[C_FULL] = 1
    store_release(ctl, C_PHASE, ph)


def compile_variant(name, g):
    """The fused loop's :func:`_worker` for globals ``g`` (``_start_of_step`` of the
    variant, ``_block_l5`` and ``_block_i07``, ``_HAS_L5`` and ``_HAS_I07``), named
    ``name``; the functions it calls compiled as functions of their own."""
    from .variants import renamed

    inner = dict(NJIT, _nrt=False, **INTERNAL)
    g = dict(g)
    for fn in (_phase, _inputs, _open_step, _end_step):
        g[fn.__name__] = nb.njit(**inner)(renamed(fn, f"{name}{fn.__name__}", g))
    return nb.njit(**dict(NJIT, _nrt=False))(renamed(_worker, name, g))


def thread_count() -> int:
    """The threads a chunk runs on: numba's current count (``numba.set_num_threads``; the
    simulation sets it from the CPUs free to the process, :mod:`l5sim.threads`)."""
    return int(nb.get_num_threads())


_POOL = {"pool": None, "size": 0}
_POOL_LOCK = threading.Lock()


def _pool(n):
    """A pool of at least ``n`` threads (kept: idle threads wait on a queue, without CPU)."""
    with _POOL_LOCK:
        if _POOL["size"] < n:
            if _POOL["pool"] is not None:
                _POOL["pool"].shutdown(wait=False)
            _POOL["pool"] = ThreadPoolExecutor(max_workers=n, thread_name_prefix="l5sim-fused")
            _POOL["size"] = n
        return _POOL["pool"]


def run(worker, n_threads, net, st, out, t0, n_steps, fired, fired_b, gain_prev, shared_cnt):
    """Advance the network from step ``t0`` by ``n_steps`` steps with ``worker`` (a
    :func:`compile_variant`) on ``n_threads`` threads: this one and ``n_threads - 1`` of a
    pool (the worker runs without the GIL). Returns ``(status, steps_done)`` as
    :func:`l5sim.kernels.engine._run_chunk`."""
    ctl = control(n_steps, net.synapses.blocks.shape[0] - 1)
    args = (n_threads, net, st, out, t0, n_steps, fired, fired_b, ctl, gain_prev, shared_cnt)

    def part(w):
        try:
            worker(w, *args)
        except BaseException:
            # a thread that failed may hold an item no other will finish: end the chunk for
            # all (a waiting thread finds the phase past the last one, and leaves)
            ctl[C_END] = -2
            ctl[C_PHASE] = np.iinfo(np.int64).max
            raise

    others = [_pool(n_threads - 1).submit(part, w) for w in range(1, n_threads)]
    try:
        part(0)
    finally:
        for f in others:
            f.result()
    return int(ctl[C_STATUS]), int(ctl[C_STEPS])


#: Neurons per call of a model's ``block_step`` (as its population loop's blocks).
L5_BLOCK = l5cell.BLOCK
I07_BLOCK = izh2007.BLOCK
