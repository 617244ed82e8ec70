"""Memory hints for the kernels.

:func:`prefetch` asks the CPU to start loading the cache line that holds ``arr[idx]``
(LLVM's ``llvm.prefetch`` intrinsic: a read, kept in all cache levels). It changes no
result; an address outside the array is harmless (a prefetch never faults), but callers
keep ``idx`` inside it anyway.

Why: spike delivery walks one short CSR row per spike (a few kilobytes of targets and
weights); the hardware prefetcher needs a few misses at the start of every row before it
follows the stream. Asking for the next spike's row while adding the current one hides
that latency: 0.083 -> 0.055 s for the 75 M synaptic events of the 10k Izhikevich (2003)
network, serially (measured with its recorded spikes, benchmarks/profile_l5sim.py).
"""
from __future__ import annotations

from llvmlite import ir
from numba.core import cgutils, types
from numba.extending import intrinsic

_I32 = ir.IntType(32)


@intrinsic
def prefetch(typingctx, arr, idx):
    """Prefetch the cache line of ``arr[idx]`` (1-d array, integer index) for reading."""
    if not isinstance(arr, types.Array) or arr.ndim != 1 or not isinstance(idx, types.Integer):
        return None
    sig = types.void(arr, idx)

    def codegen(context, builder, signature, args):
        aryty = signature.args[0]
        ary = context.make_array(aryty)(context, builder, args[0])
        index = context.cast(builder, args[1], signature.args[1], types.intp)
        ptr = cgutils.get_item_pointer(context, builder, aryty, ary, [index])   # strides honoured
        i8p = ir.IntType(8).as_pointer()
        fnty = ir.FunctionType(ir.VoidType(), [i8p, _I32, _I32, _I32])
        # named for the pointer type as this llvmlite spells it (p0i8 typed, p0 opaque)
        fn = builder.module.declare_intrinsic("llvm.prefetch", [i8p], fnty)
        # rw = 0 (read), locality = 3 (keep in every level), cache type = 1 (data)
        builder.call(fn, [builder.bitcast(ptr, i8p), _I32(0), _I32(3), _I32(1)])
        return context.get_dummy_value()

    return sig, codegen
