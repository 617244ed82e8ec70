"""Pending synaptic arrivals as event lists, and the step's arrivals buffer they fill.

A spike of neuron i at step t reaches target j's receptor channel ch at step t + delay.
Delivery appends each such arrival, (j, ch, w x scale), to the list of its slot
(t + delay modulo the ring's length) and of j's tile (:data:`~l5sim.kernels.records.EVENT_TILE`
targets); at the start of step t's integration :func:`replay` adds slot t's lists, in the
order they were appended, into ``now`` (NCH, N), which the populations then read and clear
(with the step's Poisson drive added on top, as before).

Why lists and not a dense ring of (slot, channel, target) entries, added into where they
are delivered: with distance-dependent delays each arrival went to a line of the ring that
had not been touched for up to ``max_delay`` steps (the 10k column's ring is ~10 MB), and
each such line was read again, cold, when its slot came due: about 30% of the column's
time (perf: delivery's stores and the arrival reads' loads). A list's tail is one line that
stays in cache from one append to the next (the ~1000 tails of the 10k column are 64 kB),
and ``now`` is written and read while it is hot.

Exactly the same sums: a target's entry of ``now`` is 0 plus its arrivals in the order
they were delivered, as the dense ring's entry was (lists keep the delivery order; a
target's arrivals all go to its tile's list). A list that fills up (its capacity,
:func:`capacities`: a synchronous burst) is spilled: its entries are added, in order, into the dense ring
``ring`` (kept for this, with its dirty marks), and later arrivals go to the emptied list;
:func:`replay` then takes the dense part first, then the list, which again is the
delivery order. The results are bitwise those of the dense ring, spilled or not
(tests/test_events.py runs a column whose lists hold a single event each).
"""
from __future__ import annotations

import numba as nb
import numpy as np

from .._numba_config import INTERNAL, NJIT
from .records import EVENT_CH_BITS, EVENT_TILE, EVENT_TILE_SHIFT, LINE_SHIFT, NCH, RING_LINE

CH_MASK = (1 << EVENT_CH_BITS) - 1
#: An entry's code: its target's index within the tile and its channel, (j mod EVENT_TILE)
#: << EVENT_CH_BITS | ch, in 16 bits (the tile is the list's own): with its float64 value,
#: 10 bytes an entry, where the whole target index took 16.
TILE_MASK = EVENT_TILE - 1
if EVENT_TILE_SHIFT + EVENT_CH_BITS > 16:
    raise ImportError("an event code (target within its tile, channel) must fit 16 bits")
CODE_DTYPE = np.uint16
#: Ring lines per tile.
TILE_LINES = (1 << EVENT_TILE_SHIFT) >> LINE_SHIFT


@nb.njit(inline="always", **NJIT)
def push(sl, j, ch, x, off, codes, values, count, spilled, ring, dirty):
    """Append arrival ``x`` for target j's channel ch to slot sl's list of j's tile
    (entries ``off[tile]`` .. ``off[tile + 1] - 1`` of the slot's row), spilling the list
    first when it is full; a tile without a list (capacity 0: :func:`capacities`) takes it
    into the dense ring directly."""
    tile = j >> EVENT_TILE_SHIFT
    n = count[sl, tile]
    base = off[tile]
    if n == off[tile + 1] - base:
        if n == 0:
            ring[sl, ch, j] += x
            dirty[sl, ch, j >> LINE_SHIFT] = 1
            spilled[sl, tile] = 1
            return
        spill(sl, tile, off, codes, values, count, spilled, ring, dirty)
        n = 0
    codes[sl, base + n] = np.uint16(((j & TILE_MASK) << EVENT_CH_BITS) | ch)
    values[sl, base + n] = x
    count[sl, tile] = n + 1


@nb.njit(**NJIT, **INTERNAL)
def spill(sl, tile, off, codes, values, count, spilled, ring, dirty):
    """Add slot sl's list of ``tile`` into the dense ring in its order (lines marked) and
    empty it (a function of its own: rare, kept out of delivery's loop)."""
    base = off[tile]
    t0 = np.int64(tile) << EVENT_TILE_SHIFT
    for e in range(base, base + count[sl, tile]):
        c = np.int64(codes[sl, e])
        j = t0 | (c >> EVENT_CH_BITS)
        ch = c & CH_MASK
        ring[sl, ch, j] += values[sl, e]
        dirty[sl, ch, j >> LINE_SHIFT] = 1
    count[sl, tile] = 0
    spilled[sl, tile] = 1


@nb.njit(**NJIT, **INTERNAL)
def replay(slot, used, off, codes, values, count, spilled, ring, dirty, now, now_dirty):
    """Slot ``slot``'s pending arrivals into ``now`` (which holds zeros where they land)
    and their lines marked in ``now_dirty``: per tile, the spilled part from the dense ring
    (cleared, with its marks), then the list (emptied). Runs once per step, before the
    step's Poisson drive and the populations' loops."""
    replay_tiles(slot, 0, count.shape[1], used, off, codes, values, count, spilled, ring, dirty, now, now_dirty)


@nb.njit(inline="always", **NJIT)
def replay_tiles(slot, tile0, tile1, used, off, codes, values, count, spilled, ring, dirty, now, now_dirty):
    """:func:`replay` of tiles tile0..tile1-1 (the fused kernel's items replay their own)."""
    n_lines = now_dirty.shape[1]
    N = now.shape[1]
    for tile in range(tile0, tile1):
        if spilled[slot, tile]:
            spilled[slot, tile] = 0
            l0 = tile * TILE_LINES
            l1 = min(l0 + TILE_LINES, n_lines)
            for q in range(used.shape[0]):
                ch = used[q]
                x = ring[slot, ch]
                dv = dirty[slot, ch]
                y = now[ch]
                nd = now_dirty[ch]
                for ln in range(l0, l1):
                    if dv[ln]:
                        dv[ln] = 0
                        nd[ln] = 1
                        for j in range(ln * RING_LINE, min(ln * RING_LINE + RING_LINE, N)):
                            y[j] += x[j]
                            x[j] = 0.0
        n = count[slot, tile]
        if n == 0:
            continue
        count[slot, tile] = 0
        base = off[tile]
        t0 = np.int64(tile) << EVENT_TILE_SHIFT
        for e in range(base, base + n):
            c = np.int64(codes[slot, e])
            j = t0 | (c >> EVENT_CH_BITS)
            ch = c & CH_MASK
            now[ch, j] += values[slot, e]
            now_dirty[ch, j >> LINE_SHIFT] = 1


#: Mean rate (Hz) of every presynaptic neuron at which a tile's list holds one step's
#: arrivals (its capacity, :func:`capacities`): ~10x the 10k column's pyramidal rate, 2x
#: its PV rate. A list that fills up is spilled (exact, slower).
EVENT_RATE_HZ = 100.0
#: Arrivals per target and slot at that rate above which a tile skips the lists and takes
#: its arrivals into the dense ring directly: each ring line then collects many of them, and
#: the dense ring is the better store (the Izhikevich 2003 networks' 1000 inputs per cell).
DENSE_PER_TARGET = 4.0
#: Smallest capacity of a tile's list (a multiple of 8: whole 64-byte lines of values).
EVENT_CAP_MIN = 32


def capacities(load, dt_ms):
    """Offsets (n_tiles + 1,) of the tiles' lists in a slot's row, from ``load``: per tile,
    the synapse-receptor pairs that end on its targets. A tile's capacity is one step's
    arrivals with every presynaptic neuron at :data:`EVENT_RATE_HZ` (at least
    :data:`EVENT_CAP_MIN`, whole lines); 0 (the dense ring) for a tile without synapses or
    with more than :data:`DENSE_PER_TARGET` arrivals per target at that rate."""
    per_slot = np.asarray(load, np.float64) * dt_ms * 1e-3 * EVENT_RATE_HZ
    cap = np.maximum(EVENT_CAP_MIN, -(-np.ceil(per_slot) // 8) * 8).astype(np.int64)
    cap[(per_slot <= 0) | (per_slot > DENSE_PER_TARGET * EVENT_TILE)] = 0
    return np.concatenate([[0], np.cumsum(cap)]).astype(np.int64)


def tile_load(post, path_syn, path_rec_ptr, n_tiles):
    """Synapse-receptor pairs per tile of targets: ``post`` (global target of each
    synapse), ``path_syn`` ((lo, hi) synapse range of each pathway, in pathway order),
    ``path_rec_ptr`` (each pathway's receptor channels)."""
    load = np.zeros(n_tiles, np.int64)
    for k, (lo, hi) in enumerate(path_syn):
        n_rec = int(path_rec_ptr[k + 1] - path_rec_ptr[k])
        # in blocks: a whole pathway's tiles (and bincount's int64 copy of them) were 12
        # bytes a synapse at once, 74 MiB over the 10M-synapse network's resident memory
        for c in range(lo, hi, LOAD_CHUNK):
            load += n_rec * np.bincount(np.asarray(post[c:min(c + LOAD_CHUNK, hi)]) >> EVENT_TILE_SHIFT,
                                        minlength=n_tiles)
    return load


#: Synapses :func:`tile_load` counts at once.
LOAD_CHUNK = 1 << 20


def offsets(post, path_syn, path_rec_ptr, n_neurons, dt_ms):
    """The tiles' list offsets of a circuit (:func:`capacities` of its :func:`tile_load`)."""
    n_tiles = -(-n_neurons // EVENT_TILE)
    return capacities(tile_load(post, path_syn, path_rec_ptr, n_tiles), dt_ms)


def circuit_offsets(built):
    """:func:`offsets` of a built circuit, kept on it for later runs (as the point kernel's
    layout: reused only while the circuit holds the very arrays it was derived from; a
    10M-synapse circuit's load takes ~25 ms to count)."""
    sy = built.net.synapses
    layouts = getattr(built, "layouts", None)
    kept = layouts.get("events") if layouts is not None else None
    if kept is not None and kept[0] is sy.post and kept[1] is sy.path_rec_ptr:
        return kept[2]
    path_syn = [(p.syn_lo, p.syn_hi) for p in built.pathways.values()]
    off = offsets(sy.post, path_syn, sy.path_rec_ptr, built.n_neurons, built.dt_ms)
    if layouts is not None:
        layouts["events"] = (sy.post, sy.path_rec_ptr, off)
    return off


def buffers(D, N, off):
    """The pending-arrival arrays of a state (``SynapseState`` fields by name) for a ring of
    D slots, N neurons and list offsets ``off`` (:func:`offsets`). The dense ring takes
    the lists' overflow and the tiles without lists: zeros from calloc, whose pages stay
    unmapped until something is written there."""
    n_lines = -(-N // RING_LINE)
    n_tiles = off.shape[0] - 1
    return dict(now=np.zeros((NCH, N)), now_dirty=np.zeros((NCH, n_lines), np.uint8), events_off=off,
                events_code=np.zeros((D, off[-1]), CODE_DTYPE), events_value=np.zeros((D, off[-1])),
                events_count=np.zeros((D, n_tiles), np.int64), spilled=np.zeros((D, n_tiles), np.uint8),
                ring=np.zeros((D, NCH, N)), ring_dirty=np.zeros((D, NCH, n_lines), np.uint8))


def pending(off, codes, values, count, ring):
    """The pending arrivals as a dense array (max_delay + 1, NCH, N): the dense ring plus
    every list's entries (for tests and reports; numpy, not compiled)."""
    out = ring.copy()
    for sl in range(codes.shape[0]):
        for tile in range(count.shape[1]):
            c = codes[sl, off[tile]:off[tile] + count[sl, tile]].astype(np.int64)
            j = (tile << EVENT_TILE_SHIFT) | (c >> EVENT_CH_BITS)
            np.add.at(out[sl], (c & CH_MASK, j), values[sl, off[tile]:off[tile] + count[sl, tile]])
    return out
