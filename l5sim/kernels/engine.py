"""The time-stepping kernel: all populations, synaptic delivery, inputs, plasticity, traces.

One call advances the whole network by up to ``n_steps`` steps (a chunk); Python only
steps between chunks. Data arrive as three records of flat arrays
(:mod:`l5sim.kernels.records`: ``Net``, structure and parameters, read-only; ``State``,
everything the kernel mutates; ``Recorder``, recording buffers), built by
:mod:`l5sim.builder` and :mod:`l5sim.simulation`.

Each neuron model is a unit of its own module (:mod:`.izh2003`, :mod:`.izh2007`,
:mod:`.l5cell`, :mod:`.adex`; sources there): a parameter record, step functions per named
scheme, an ``integrate(p, t, dt, nr, pr, rc, zig, ns, G, now, now_dirty, mod, pin)`` loop over one
population and its ``detect_next`` threshold test. :data:`MODELS` registers them by model kind; the chunk loop
dispatches each population to its model's loop (one specialised loop per model, no model
branch per neuron). Receptors (:mod:`.receptors`), delivery (:mod:`.delivery`), the pending
arrivals (:mod:`.events`) and STDP (:mod:`.stdp`) are units too.

Order of one step t (science.md section 3; Izhikevich 2003 listing for ``next_step``):

1. neuromodulated parameters of this step; STDP traces decay; L5 spike histories shift;
2. generators emit their scheduled spikes, populations with ``next_step`` detection check
   v >= vpeak (state left by the previous step), reset and emit, Poisson sources emit;
   these spikes are delivered: appended to the event lists of slot t + delay;
3. slot t's pending arrivals are added into the step's arrivals ``now`` (in delivery
   order), and the external Poisson inputs add their events of step t on top;
4. each neuron reads and clears its arrivals, integrates one step with its registered
   scheme and (``same_step`` populations) detects, resets and emits; conductances decay;
   these spikes are delivered;
5. deferred weight updates; traces are sampled.

Status codes returned: 0 finished, 1 spike buffer full (Python drains it and calls again),
2 numerical divergence (``Recorder.diverged`` holds neuron, step, variable code and value).

:func:`l5sim.kernels.variants.chunk_kernel` gives the loop compiled for a circuit: only for the models it has, with
the STDP units only when a pathway is plastic (a circuit compiles only what it uses), and
serial or parallel. In the parallel variant the population loops, delivery, STDP depression
and STDP potentiation are parallel functions (``prange`` over neurons, and over blocks of
postsynaptic neurons, ``Synapses.blocks``). Every synapse, trace and target belongs to one
block and each receives its updates in spike order, so the two give bitwise the same
results for any thread count (tests/test_parallel.py).

The loop calls those functions, the replay and the Poisson inputs late-bound
(:mod:`.binding`, :mod:`.variants`): through a slot per function and variant, bound before the first call,
instead of linking their code into its own. Each is then compiled once, and the loop's own
compile does not wait for theirs (cold start, issue 18 item 5).
"""
from __future__ import annotations

import numba as nb
import numpy as np

from .._numba_config import NJIT
from . import adex, izh2003, izh2007, l5cell
from .records import (G_PER_SPIKE, K_ADEX, K_IZH03, K_IZH07, K_L5, K_POISSON, M_KAPPA_OFFSET, M_RESET_U_OFFSET,
                      M_RESET_V_OFFSET, MOD_LEARNING_RATE, MOD_PATHWAY, MOD_POPULATION, T_BURST, T_G0, T_GAD, T_IBAP,
                      T_KAPPA, T_U, T_V, T_VD, T_WD)
from .rng import uniform
from .stdp import decay_traces, deferred_updates, pre_spikes

#: Neuron models with a population loop, by kind (``Neurons.kind``). Each module has
#: ``integrate`` (one step of a population: it unpacks the records), ``population_loop``
#: (the loop over its neurons, compiled as a function of its own) and ``detect_next``
#: (threshold detection at the start of the next step). Adding a model: its module, a line
#: here, and its line in :func:`_integrate` and :func:`_start_of_step`.
MODELS = {K_L5: l5cell, K_IZH07: izh2007, K_IZH03: izh2003, K_ADEX: adex}


@nb.njit(inline="always", **NJIT)
def modulate(step, md, value, delta, gain, lr, rule_lr):
    """This step's parameters: baseline, then each neuromodulator target's change."""
    for k in range(md.kind.shape[0]):
        if md.kind[k] == MOD_POPULATION:
            value[md.index[k], md.column[k]] = md.base[md.index[k], md.column[k]]
        elif md.kind[k] == MOD_PATHWAY:
            gain[md.index[k]] = 1.0
        elif md.kind[k] == MOD_LEARNING_RATE:
            lr[md.index[k]] = rule_lr[md.index[k]]
    for k in range(md.kind.shape[0]):
        x = delta[step, k]
        if md.kind[k] == MOD_POPULATION:
            value[md.index[k], md.column[k]] += x
        elif md.kind[k] == MOD_PATHWAY:
            gain[md.index[k]] *= max(0.0, 1.0 + x)
        elif md.kind[k] == MOD_LEARNING_RATE:
            lr[md.index[k]] *= max(0.0, 1.0 + x)


@nb.njit(inline="always", **NJIT)
def shift_histories(nr, hist):
    """Only L5 cells read their spike history (the bAP window). (A view from 0: indexed from
    the population's start, which numba must wrap if negative, the loop stayed scalar, 2%
    of the 10k column's time by perf.)"""
    one = np.uint64(1)
    for p in range(nr.kind.shape[0]):
        if nr.kind[p] == K_L5:
            h = hist[nr.pop_start[p]:nr.pop_start[p + 1]]
            for k in range(h.shape[0]):
                h[k] = h[k] << one


@nb.njit(inline="always", **NJIT)
def _emit(fired, fired_b, nf, i, burst):
    fired[nf] = i
    fired_b[nf] = burst
    return nf + 1


@nb.njit(inline="always", **NJIT)
def _start_of_step(t, dt, nr, ns, mod, gen, gen_pos, rate_hz, l5, i07, i03, ax, fired, fired_b):
    """Spikes emitted at the start of step t (generators, ``next_step`` detection by each
    model's ``detect_next``, Poisson sources), in population order; returns how many."""
    nf = 0
    gp = gen_pos[0]
    while gp < gen.step.shape[0] and gen.step[gp] < t:
        gp += 1
    while gp < gen.step.shape[0] and gen.step[gp] == t:
        gi = gen.neuron[gp]
        if nf == 0 or fired[nf - 1] != gi:   # one spike per neuron and step
            nf = _emit(fired, fired_b, nf, gi, 0)
        gp += 1
    gen_pos[0] = gp
    for p in range(nr.kind.shape[0]):
        kind = nr.kind[p]
        lo = nr.pop_start[p]
        hi = nr.pop_start[p + 1]
        if kind == K_POISSON:
            prob = rate_hz[p] * dt * 1e-3
            for i in range(lo, hi):
                if uniform(ns.rng, i) < prob:
                    nf = _emit(fired, fired_b, nf, i, 0)
        elif nr.detect_next_step[p] > 0:
            c_off = mod[p, M_RESET_V_OFFSET]
            d_off = mod[p, M_RESET_U_OFFSET]
            if kind == K_L5:
                nf = _detect_l5cell(p, lo, hi, c_off, d_off, nr, l5, ns, fired, fired_b, nf)
            elif kind == K_IZH07:
                nf = _detect_izh2007(p, lo, hi, c_off, d_off, nr, i07, ns, fired, fired_b, nf)
            elif kind == K_IZH03:
                nf = _detect_izh2003(p, lo, hi, c_off, d_off, nr, i03, ns, fired, fired_b, nf)
            elif kind == K_ADEX:
                nf = _detect_adex(p, lo, hi, c_off, d_off, nr, ax, ns, fired, fired_b, nf)
    return nf


#: Neurons whose flags :func:`collect_flags` tests at once (a vectorised OR) before it looks at
#: them one by one: a step's few spikes leave most such groups empty.
COLLECT_GROUP = 64


@nb.njit(inline="always", **NJIT)
def collect_flags(lo, hi, t, flag, dval, diverged, fired, fired_b, nf):
    """Move a population's flags into the spike list in index order (deterministic);
    returns (nf, diverged). Groups of :data:`COLLECT_GROUP` flags without any set are
    skipped after one vectorised test (the 10k column's 11 spikes per step left a byte-by-
    byte scan of all its flags ~4 us per step)."""
    for g0 in range(lo, hi, COLLECT_GROUP):
        g1 = min(g0 + COLLECT_GROUP, hi)
        fs = flag[g0:g1]         # (a view from 0: see l5cell's sigmoid pass)
        acc = 0
        for q in range(g1 - g0):
            acc |= fs[q]
        if acc == 0:
            continue
        for i in range(g0, g1):
            fl = flag[i]
            if fl != 0:
                flag[i] = 0
                if fl >= 3:
                    diverged[0] = i
                    diverged[1] = t
                    diverged[2] = fl - 3
                    diverged[3] = dval[i]
                    return nf, True
                nf = _emit(fired, fired_b, nf, i, fl - 1)
    return nf, False


@nb.njit(inline="always", **NJIT)
def record_spikes(f0, nf, t, nr, l5, ns, mod, out, fired, fired_b):
    """Spike histories (with the per-spike bAP gate of L5 cells) and the spike record."""
    one = np.uint64(1)
    for f in range(f0, nf):
        i = fired[f]
        p = nr.pop_of[i]
        if nr.kind[p] == K_L5 and l5.gate[p] == G_PER_SPIKE:
            kq = l5cell.gate(l5.kappa_state[p] > 0, ns.kappa[i], l5.kappa[p], mod[p, M_KAPPA_OFFSET])
            if l5cell.bap_passes(G_PER_SPIKE, kq, ns.rng, i):
                ns.spike_history[i] |= one
        else:
            ns.spike_history[i] |= one
        if out.spike_mask[i]:
            k = out.n_spikes[0]
            out.spike_neuron[k] = i
            out.spike_step[k] = t
            out.spike_burst[k] = fired_b[f]
            out.n_spikes[0] = k + 1


@nb.njit(inline="always", **NJIT)
def trace_value(net, st, i, var):
    """The value of trace variable ``var`` (a ``T_*`` code) of neuron ``i`` now."""
    return _trace_value(net.neurons.pop_of, net.l5, st.neurons, st.synapses.g, st.modulation.value, i, var)


@nb.njit(inline="always", **NJIT)
def _trace_value(pop_of, l5, ns, G, mod, i, var):
    """:func:`trace_value` on the sub-records it reads."""
    if var == T_V:
        return ns.v[i]
    if var == T_U:
        return ns.u[i]
    if var == T_VD:
        return ns.vd[i]
    if var == T_WD:
        return ns.wd[i]
    if var == T_KAPPA:
        p = pop_of[i]                   # the effective gate, as the neuron uses it
        return l5cell.gate(l5.kappa_state[p] > 0, ns.kappa[i], l5.kappa[p], mod[p, M_KAPPA_OFFSET])
    if var == T_GAD:
        return ns.g_adapt[i]
    if var == T_IBAP:
        return ns.bap_current[i]        # the bAP current that entered the dendrite (gated)
    if var == T_BURST:
        return ns.burst[i]
    return G[var - T_G0, i]


@nb.njit(inline="always", **NJIT)
def sample_traces(t, net, st, out):
    """Sample every trace due at the end of step t."""
    sample_traces_of(t, net.neurons.pop_of, net.l5, st.neurons, st.synapses.g, st.modulation.value, out)


@nb.njit(inline="always", **NJIT)
def sample_traces_of(t, pop_of, l5, ns, G, mod, out):
    """:func:`sample_traces` on the sub-records it reads."""
    for k in range(out.trace_neuron.shape[0]):
        if (t + 1) % out.trace_every[k] == 0 and out.trace_count[k] < out.trace_cap[k]:
            out.trace_buf[out.trace_off[k] + out.trace_count[k]] = _trace_value(pop_of, l5, ns, G, mod,
                                                                                 out.trace_neuron[k], out.trace_var[k])
            out.trace_count[k] += 1


def _integrate(t, dt, nr, l5, i07, i03, ax, rc, zig, ns, G, now, now_dirty, mod, pin, diverged, fired, fired_b, nf):
    """Step 4 for every population, each by its model's loop; returns (nf, diverged)."""
    for p in range(nr.kind.shape[0]):
        kind = nr.kind[p]
        if kind == K_L5:
            _integrate_l5cell(p, t, dt, nr, l5, rc, zig, ns, G, now, now_dirty, mod, pin)
        elif kind == K_IZH07:
            _integrate_izh2007(p, t, dt, nr, i07, rc, zig, ns, G, now, now_dirty, mod, pin)
        elif kind == K_IZH03:
            _integrate_izh2003(p, t, dt, nr, i03, rc, zig, ns, G, now, now_dirty, mod, pin)
        elif kind == K_ADEX:
            _integrate_adex(p, t, dt, nr, ax, rc, zig, ns, G, now, now_dirty, mod, pin)
        else:
            continue
        nf, bad = collect_flags(nr.pop_start[p], nr.pop_start[p + 1], t, ns.flag, ns.diverged_value, diverged, fired,
                           fired_b, nf)
        if bad:
            return nf, True
    return nf, False


def _run_chunk(net, st, out, t0, n_steps, fired, fired_b):
    """Advance the network from step ``t0`` by ``n_steps`` steps; ``fired`` (int64) and
    ``fired_b`` (uint8), of one entry per neuron, hold each step's spikes (scratch: the
    loop allocates nothing, so it is compiled without reference counting).

    Returns ``(status, steps_done)``; see the module docstring for status codes.

    The records are unpacked once, here in the entry block, and the units get the
    sub-records and arrays they read. numba keeps a variable that is read in more than one
    basic block in a stack slot and loads it whole in each block that reads it: with
    ``net`` (a tuple of ~140 arrays) and ``st`` passed through every inlined unit, most of
    this function's LLVM code (4.6 MB before optimisation) was copies of the records, and
    compiling it took ~12 s of the cold start.
    """
    dt = net.dt
    nr, l5, i07, i03, ax = net.neurons, net.l5, net.izh2007, net.izh2003, net.adex
    rc, zig, rate_hz, gen = net.receptors, net.ziggurat, net.sources.rate_hz, net.generators
    sy, pl, md, pin = net.synapses, net.plasticity, net.modulation, net.poisson_inputs
    ns, sys_, ps, gen_pos = st.neurons, st.synapses, st.plasticity, st.generator_pos
    mod, delta = st.modulation.value, st.modulation.delta
    path_gain, input_rng, now, now_dirty = sys_.path_gain, sys_.input_rng, sys_.now, sys_.now_dirty
    ev_off, ev_code, ev_value, ev_count = sys_.events_off, sys_.events_code, sys_.events_value, sys_.events_count
    spilled, G = sys_.spilled, sys_.g
    lists = ev_code.shape[1] > 0
    ring, ring_dirty, used = sys_.ring, sys_.ring_dirty, rc.used
    rng, scratch, hist = ns.rng, ns.scratch, ns.spike_history
    if _PLASTIC:            # (a constant of the variant: numba drops the other branch)
        rule_lr, lr = pl.rules.learning_rate, ps.learning_rate
    else:                   # no learning-rate target without a plastic pathway (neuromodulation.plan)
        rule_lr = lr = path_gain[:0]
    pop_of, wsyn = nr.pop_of, sy.weight
    n_spikes, diverged = out.n_spikes, out.diverged
    N = ns.v.shape[0]
    D = ring.shape[0]
    cap = out.spike_neuron.shape[0]
    modulated = md.kind.shape[0] > 0
    for step in range(n_steps):
        t = t0 + step
        if n_spikes[0] + N > cap:    # room for one step of spikes in the worst case
            return 1, step
        slot = t % D
        if modulated:
            modulate(step, md, mod, delta, path_gain, lr, rule_lr)
        decay_traces(pl, ps)
        shift_histories(nr, hist)
        f0 = np.int64(0)    # not a literal 0, which would compile every unit loop a second time
        nf = _start_of_step(t, dt, nr, ns, mod, gen, gen_pos, rate_hz, l5, i07, i03, ax, fired, fired_b)
        for phase in range(2):
            if phase == 1:
                # slot t's pending arrivals into ``now`` (after phase 0's deliveries: a
                # delay of 0 arrives in the step it is sent), then the step's drive on top;
                # without lists (every tile dense: events.capacities), slot t of the ring
                # is the step's arrivals as it is
                if lists:
                    _replay(slot, used, ev_off, ev_code, ev_value, ev_count, spilled, ring, ring_dirty, now,
                            now_dirty)
                    now_s, nd_s = now, now_dirty
                else:
                    now_s, nd_s = ring[slot], ring_dirty[slot]
                _poisson_inputs(t, dt, pin, rng, input_rng, now_s, nd_s, scratch, nr.kind, pop_of)
                nf, bad = _integrate(t, dt, nr, l5, i07, i03, ax, rc, zig, ns, G, now_s, nd_s, mod, pin, diverged,
                                     fired, fired_b, nf)
                if bad:
                    return 2, step
                for q in range(used.shape[0]):
                    nd_s[used[q]] = 0     # every population has read its arrivals
            record_spikes(f0, nf, t, nr, l5, ns, mod, out, fired, fired_b)
            if nf > f0:          # (the units do nothing without spikes: spare the calls)
                _deliver(fired, f0, nf, slot, pop_of, sy, sys_)
                if _PLASTIC:
                    _depress(fired, f0, nf, pop_of, sy, pl, ps)
                    pre_spikes(fired, f0, nf, pop_of, sy, pl, ps)
                    _potentiate(fired, f0, nf, pop_of, sy, pl, ps)
            f0 = nf
        deferred_updates(t, step, pl, ps, wsyn, md, delta)
        sample_traces_of(t, pop_of, l5, ns, sys_.g, mod, out)
    return 0, n_steps
