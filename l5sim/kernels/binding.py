"""Late-bound calls: a compiled function calls another through a table filled at run time
instead of linking the callee's code into its own (cold start, issue 18 item 5).

numba links the code of every function a jitted function calls into the caller's library,
and then optimises and compiles that whole module again. The chunk loop
(:mod:`l5sim.kernels.engine`) so re-compiled every population loop, delivery, the replay
of the event lists and the Poisson inputs it calls (~1.8 s of the README column's cold
start), and it could only be compiled after all of them, since typing a call compiles the
callee. A late-bound call loads the callee's address from a :class:`Slot` instead: the
caller's compile needs only the argument types, so the chunk loop and the functions it calls
are compiled side by side (:func:`l5sim._compiling.compile_in_parallel`), each once.

A slot has a fixed symbol name, registered in LLVM's process-wide symbol table
(``llvmlite.binding.add_symbol``) when the slot is made, before any caller is compiled or
loaded from numba's on-disk cache: cached callers resolve it in a later process as well. It
holds up to :data:`ENTRIES` pairs (signature hash, address). A call site looks for the hash of
its own argument types (fixed when it is compiled, :func:`signature_hash`) and calls that
entry's address; finding none, it raises RuntimeError rather than call code compiled for
other types. :meth:`Slot.bind` compiles (or loads from cache) the callee for given argument
types and enters it. The calls themselves cost a few loads and an indirect call.
"""
from __future__ import annotations

import ctypes
import hashlib
import threading

import llvmlite.binding as llb
import llvmlite.ir as lir
from numba.core import cgutils, types
from numba.core.compiler import CompilerBase, DefaultPassBuilder, _EarlyPipelineCompletion
from numba.core.compiler_machinery import AnalysisPass, PassManager, register_pass
from numba.extending import intrinsic

#: Signatures a slot holds at once (distinct argument types of one callee in one process;
#: a circuit's records give one, each variant has slots of its own).
ENTRIES = 8

_SLOTS: dict = {}


def signature_hash(argtypes) -> int:
    """A nonzero 63-bit hash of numba argument types (their names: equal names, equal layout),
    the same in every process."""
    text = "\n".join(types.unliteral(t).name for t in argtypes).encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "little") >> 1 | 1


class Slot:
    """The address table behind the late-bound calls of one callee (``target``, a numba
    dispatcher compiled without a Python wrapper) under symbol ``name``. ``call`` is the
    intrinsic that calls it from jitted code (returns nothing: the callees return None);
    ``typed`` the argument types its call sites were typed for in this process."""

    def __init__(self, name: str, target):
        self.name, self.target = name, target
        self.table = (ctypes.c_int64 * (2 * ENTRIES))()
        self.typed = set()
        self._lock = threading.Lock()     # (simulations bound from several threads at once)
        llb.add_symbol(name, ctypes.addressof(self.table))
        self.call = _caller(self)

    def bind_known(self) -> None:
        """Bind every signature known for the callee: those its call sites were typed for in
        this process and those numba's on-disk cache holds compiled (a caller loaded from
        the cache was compiled with its callees, which the cache then holds too). The typed
        ones first, then the cache's while the table has room (past :data:`ENTRIES`, a call
        site whose types were left out raises RuntimeError, never calls other code)."""
        for argtypes in self.typed:
            self.bind(argtypes)
        for argtypes in cached_signatures(self.target):
            if self.free_entries() == 0:
                break
            self.bind(argtypes)

    def free_entries(self) -> int:
        """Entries of the table not bound yet."""
        return sum(1 for k in range(ENTRIES) if self.table[2 * k] == 0)

    def bind(self, argtypes) -> int:
        """Compile (or load from numba's cache) the callee for ``argtypes`` and enter its
        address for the call sites of those types; returns the address."""
        argtypes = tuple(types.unliteral(t) for t in argtypes)
        h = signature_hash(argtypes)
        with self._lock:
            for k in range(ENTRIES):
                if self.table[2 * k] == h:
                    return self.table[2 * k + 1]
            free = [k for k in range(ENTRIES) if self.table[2 * k] == 0]
            if not free:
                raise RuntimeError(f"{self.name}: more than {ENTRIES} signatures of {self.target.__name__} in one "
                                   "process")
            self.target.compile(argtypes)
            cres = self.target.overloads[argtypes]
            addr = cres.library.get_pointer_to_function(cres.fndesc.llvm_func_name)
            if not addr:
                raise RuntimeError(f"{self.name}: no address for {cres.fndesc.llvm_func_name}")
            k = free[0]
            self.table[2 * k + 1] = addr       # (the address before the hash that selects it)
            self.table[2 * k] = h
            return addr


def cached_signatures(target) -> list:
    """The argument types for which numba's on-disk cache holds ``target`` compiled by this
    version of its source and for this machine (entries it would load); [] without a cache."""
    from numba.core import sigutils

    cache = getattr(target, "_cache", None)
    try:
        index = cache._cache_file._load_index()
        codegen = target.targetctx.codegen()
        keys = [k for k in index if k == cache._index_key(k[0], codegen)]
    except (AttributeError, OSError):      # no on-disk cache (NullCache), or numba internals moved
        return []
    return [tuple(sigutils.normalize_signature(k[0])[0]) for k in keys]


def slot(name: str, target) -> Slot:
    """The slot of symbol ``name`` (made on first use; one per name and process, kept alive:
    LLVM's symbol table points into it)."""
    s = _SLOTS.get(name)
    if s is None:
        s = _SLOTS[name] = Slot(name, target)
    elif s.target is not target:
        s.target = target       # (the same function, its variant made again)
    return s


def _caller(sl: Slot):
    """The intrinsic ``call(*args)`` of slot ``sl``: finds the entry of its argument types'
    hash in the table and calls it with numba's calling convention (an error status of the
    callee propagates); RuntimeError where the table has no such entry."""

    @intrinsic
    def call(typingctx, *args):
        argtypes = tuple(types.unliteral(a) for a in args)
        sl.typed.add(argtypes)
        h = signature_hash(argtypes)
        sig = types.none(types.StarArgTuple.from_types(argtypes))

        def codegen(context, builder, signature, llargs):
            vals = cgutils.unpack_tuple(builder, llargs[0], len(argtypes))
            i64, i32 = lir.IntType(64), lir.IntType(32)
            mod = builder.module
            try:
                table = mod.get_global(sl.name)
            except KeyError:
                table = lir.GlobalVariable(mod, lir.ArrayType(i64, 2 * ENTRIES), name=sl.name)
                table.linkage = "external"
            def entry(k):
                hk = builder.load(builder.gep(table, [i32(0), i32(2 * k)]))
                return builder.icmp_unsigned("==", hk, i64(h)), builder.load(builder.gep(table, [i32(0),
                                                                                                i32(2 * k + 1)]))

            # the first entry is the usual one (one signature per callee): test it alone first
            slot_addr = cgutils.alloca_once_value(builder, i64(0))
            hit, a0 = entry(0)
            with builder.if_else(hit, likely=True) as (first, others):
                with first:
                    builder.store(a0, slot_addr)
                with others:
                    addr = i64(0)
                    for k in range(1, ENTRIES):
                        hit_k, ak = entry(k)
                        addr = builder.select(hit_k, ak, addr)
                    builder.store(addr, slot_addr)
            addr = builder.load(slot_addr)
            with cgutils.if_unlikely(builder, builder.icmp_unsigned("==", addr, i64(0))):
                context.call_conv.return_user_exc(
                    builder, RuntimeError, (f"{sl.name}: not bound to code compiled for these arguments",))
            fnty = context.call_conv.get_function_type(types.none, argtypes)
            fn = builder.inttoptr(addr, fnty.as_pointer())
            status, _ = context.call_conv.call_function(builder, fn, types.none, argtypes, vals)
            with cgutils.if_unlikely(builder, status.is_error):
                context.call_conv.return_status_propagate(builder, status)
            return context.get_dummy_value()

        return sig, codegen

    return call


@register_pass(mutates_CFG=False, analysis_only=True)
class _StopAfterTyping(AnalysisPass):
    """Ends a compile once it is typed, with (typemap, calltypes) as its result."""
    _name = "l5sim_stop_after_typing"

    def __init__(self):
        AnalysisPass.__init__(self)

    def run_pass(self, state):
        raise _EarlyPipelineCompletion((state.typemap, state.calltypes))


class _TypingOnly(CompilerBase):
    """numba's nopython pipeline up to type inference (its untyped and typed passes: the
    ``inline="always"`` functions inlined, as in a real compile), then :class:`_StopAfterTyping`."""

    def define_pipelines(self):
        pm = PassManager("l5sim_typing_only")
        pm.passes.extend(DefaultPassBuilder.define_untyped_pipeline(self.state).passes)
        pm.passes.extend(DefaultPassBuilder.define_typed_pipeline(self.state).passes)
        pm.add_pass(_StopAfterTyping, "stop after typing")
        pm.finalize()
        return [pm]


def late_calls(dispatcher, argtypes) -> dict:
    """``{intrinsic: argument types}`` of the late-bound calls (a :class:`Slot`'s ``call``) in
    jitted ``dispatcher``'s function (the functions it inlines included) typed for
    ``argtypes``, as numba types it in a compile with the dispatcher's options; it is only
    typed, not compiled (a fraction of a compile's time)."""
    from numba.core import compiler
    from numba.core.compiler_lock import global_compiler_lock

    comp = dispatcher._compiler
    flags = compiler.Flags()
    comp.targetdescr.options.parse_as_flags(flags, comp.targetoptions)
    with global_compiler_lock:
        typemap, calltypes = compiler.compile_extra(
            comp.targetdescr.typing_context, comp.targetdescr.target_context, dispatcher.py_func, args=argtypes,
            return_type=None, flags=flags, locals={}, pipeline_class=_TypingOnly)
    calls = {}
    for expr, sig in calltypes.items():
        if sig is not None and len(sig.args) == 1 and isinstance(sig.args[0], types.StarArgTuple):
            key = getattr(typemap.get(getattr(expr.func, "name", None)), "typing_key", None)
            calls[key] = tuple(sig.args[0].types)
    return calls
