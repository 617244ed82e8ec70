"""Atomic counters and a bounded spin wait for the fused parallel kernel (:mod:`.fused`).

numba has no atomics of its own; these intrinsics emit LLVM's (``atomicrmw add``, an
``acquire`` load, a ``release`` store) on one int64 element of an array, and a wait that
spins with the processor's ``pause`` hint (``llvm.x86.sse2.pause``; nothing elsewhere) for
:data:`SPIN` rounds before it hands its CPU back with ``sched_yield`` (libc, resolved by
name when the code is linked, so that a cached kernel finds it in a later process).

Why the fused kernel synchronises itself (issue 18, item 4): numba's threading layers end
every parallel region with a join, and with a passive wait policy (:mod:`l5sim.threads`)
start the next one by waking sleeping threads: ~50 us per region on this project's VM, about
the whole per-thread work of a 10k column's step. The fused kernel enters one parallel
region per chunk; its threads meet once per step on the counters here. A release store of
the step's phase after the step's serial work, read with an acquire load, makes that work
(the spike list, its bounds) visible to every thread before it goes on (the C++ memory
model's release/acquire pairing, which LLVM's orderings implement).

The spin is bounded: a thread that waited :data:`SPIN` rounds (~0.1 ms) for the other
threads yields its CPU at each further round, so that on a machine where another process
wants the CPU the wait costs that process little (the default thread count already avoids
such CPUs, :func:`l5sim.threads.default_threads`).
"""
from __future__ import annotations

import platform

import llvmlite.ir as lir
from numba.core import cgutils, types
from numba.extending import intrinsic

#: Rounds of ``pause`` a waiting thread spins before it yields its CPU at each round
#: (~25 ns each on this project's AMD EPYC: ~0.1 ms, a few steps of a 10k column).
SPIN = 4000
#: x86's spin-wait hint; elsewhere the wait spins without one.
_PAUSE = platform.machine().lower() in ("x86_64", "amd64", "i686", "i386")


def _element_pointer(context, builder, aryty, ary, idx):
    arr = context.make_array(aryty)(context, builder, ary)
    return cgutils.get_item_pointer(context, builder, aryty, arr, [idx], wraparound=False)


def _check(arr):
    if not (isinstance(arr, types.Array) and arr.dtype == types.int64 and arr.ndim == 1):
        raise TypeError(f"expected a 1-d int64 array, not {arr}")


@intrinsic
def atomic_add(typingctx, arr, idx, val):
    """``arr[idx] += val`` atomically (sequentially consistent); returns the old value."""
    _check(arr)
    sig = types.int64(arr, types.intp, types.int64)

    def codegen(context, builder, sig, args):
        ptr = _element_pointer(context, builder, sig.args[0], args[0], args[1])
        return builder.atomic_rmw("add", ptr, args[2], "seq_cst")

    return sig, codegen


@intrinsic
def compare_exchange(typingctx, arr, idx, expected, new):
    """``arr[idx] = new`` if it holds ``expected``, atomically (sequentially consistent);
    returns whether it did."""
    _check(arr)
    sig = types.boolean(arr, types.intp, types.int64, types.int64)

    def codegen(context, builder, sig, args):
        ptr = _element_pointer(context, builder, sig.args[0], args[0], args[1])
        pair = builder.cmpxchg(ptr, args[2], args[3], "seq_cst", "seq_cst")
        return builder.extract_value(pair, 1)

    return sig, codegen


@intrinsic
def load_acquire(typingctx, arr, idx):
    """``arr[idx]`` read with acquire ordering: what the thread that stored it with
    :func:`store_release` wrote before that store is visible after this load."""
    _check(arr)
    sig = types.int64(arr, types.intp)

    def codegen(context, builder, sig, args):
        ptr = _element_pointer(context, builder, sig.args[0], args[0], args[1])
        return builder.load_atomic(ptr, "acquire", 8)

    return sig, codegen


@intrinsic
def store_release(typingctx, arr, idx, val):
    """``arr[idx] = val`` with release ordering (see :func:`load_acquire`)."""
    _check(arr)
    sig = types.none(arr, types.intp, types.int64)

    def codegen(context, builder, sig, args):
        ptr = _element_pointer(context, builder, sig.args[0], args[0], args[1])
        builder.store_atomic(args[2], ptr, "release", 8)
        return context.get_dummy_value()

    return sig, codegen


def _call(builder, name, ret):
    """A call of the argument-less function ``name`` (an LLVM intrinsic or a libc function,
    resolved by name when the code is linked) returning ``ret``."""
    builder.call(cgutils.get_or_insert_function(builder.module, lir.FunctionType(ret, []), name), [])


@intrinsic
def cpu_relax(typingctx):
    """The processor's spin-wait hint (x86 ``pause``; nothing on other processors)."""
    def codegen(context, builder, sig, args):
        if _PAUSE:
            _call(builder, "llvm.x86.sse2.pause", lir.VoidType())
        return context.get_dummy_value()

    return types.none(), codegen


@intrinsic
def yield_cpu(typingctx):
    """``sched_yield()``: let another runnable thread have this CPU."""
    def codegen(context, builder, sig, args):
        _call(builder, "sched_yield", lir.IntType(32))
        return context.get_dummy_value()

    return types.none(), codegen
