"""Interpreter settings under which numba's compiler runs fast (cold start, issue 18 item 5).

numba's compiler is Python code that builds, copies and walks large object graphs (its IR,
types, LLVM wrappers), with deep recursions. Two CPython defaults cost the README's first
command ~3 s of a ~16 s cold start (measured on this project's 2-core machine, CPython
3.11, numba 0.68; one run each, the same tree):

* **Frame stack.** CPython 3.11 keeps Python frames on a stack of 16 KiB chunks; a call that
  needs a new chunk mmaps one and its return unmaps it. The compiler's recursions cross
  chunk boundaries back and forth: 325k mmap / munmap pairs (strace), 1.9 s of system time.
  :func:`run` calls through a function whose code declares a large evaluation stack
  (``co_stacksize``; never used, so its pages are never touched): its frame gets a chunk of
  4 MiB of its own, and every call below it finds room in the rest of that chunk
  (system time 1.9 -> 0.3 s, wall 15.7 -> 14.0 s).
* **Cyclic garbage collector.** At the default thresholds (700, 10, 10) it ran 2025
  collections taking 1.66 s during a cold start; at :data:`GC_THRESHOLDS` 126 taking 0.52 s.

Both are set only for the duration of :func:`run`. :func:`freeze_at_exit` (for the command
line) also spares the interpreter's shutdown the traversal of those object graphs (0.7 ->
0.06 s): at exit, every object is moved to the collector's permanent generation.
"""
from __future__ import annotations

import atexit
import gc

#: Collector thresholds while compiling (generation 0, 1, 2).
GC_THRESHOLDS = (10000, 20, 20)
#: Evaluation-stack slots (8 bytes each) reserved by :func:`run`'s frame: 2.4 MB, so that its
#: chunk is 4 MiB and 1.8 MB of it is left to the calls below it.
STACK_SLOTS = 300_000


def _call(fn, args, kwargs):
    return fn(*args, **kwargs)


try:
    _deep_call = type(_call)(_call.__code__.replace(co_stacksize=_call.__code__.co_stacksize + STACK_SLOTS),
                             globals(), "_deep_call")
except (AttributeError, TypeError, ValueError):  # pragma: no cover - an interpreter without code.replace
    _deep_call = _call


def run(fn, *args, **kwargs):
    """``fn(*args, **kwargs)``, with the frame stack reserved and the collector's thresholds
    raised (restored afterwards): for a call that may compile kernels."""
    old = gc.get_threshold()
    gc.set_threshold(*(max(a, b) for a, b in zip(old, GC_THRESHOLDS)))
    try:
        return _deep_call(fn, args, kwargs)
    finally:
        gc.set_threshold(*old)


_FROZEN = []


def freeze_at_exit() -> None:
    """Move every object to the collector's permanent generation when the interpreter exits
    (registered once): the shutdown then does not traverse the compiler's objects. Only for
    a process that ends with the command (the ``l5sim`` command line)."""
    if not _FROZEN:
        _FROZEN.append(True)
        atexit.register(gc.freeze)
