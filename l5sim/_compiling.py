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

:func:`compile_in_parallel` uses a second CPU: numba compiles one function at a time, but
the chunk loop's separately compiled functions do not depend on each other, so a forked
process compiles the heaviest (the L5 cell's loop) while this one compiles the others, and
hands it over through numba's on-disk cache.
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


#: ``L5SIM_PARALLEL_COMPILE=0`` turns :func:`compile_in_parallel` off (each function is then
#: compiled when the chunk loop's compile reaches it, one after the other).
PARALLEL_COMPILE_ENV = "L5SIM_PARALLEL_COMPILE"
#: Seconds the parent waits for the forked compile before it stops it and goes on alone.
CHILD_TIMEOUT_S = 600.0


def _can_fork_compile() -> bool:
    """Whether a forked process may compile beside this one: Linux (fork is safe there for a
    process that runs no other thread), two CPUs or more for this process, and only the main
    thread (no progress bar's monitor, no thread pool of numba's parallel kernels yet). The
    caller gives jobs only where numba's on-disk cache is on (the child hands over what it
    compiled through the cache: ``l5sim.kernels.variants._on_disk``)."""
    import os
    import sys
    import threading

    if os.environ.get(PARALLEL_COMPILE_ENV, "1") == "0" or not sys.platform.startswith("linux"):
        return False
    if not hasattr(os, "fork") or len(os.sched_getaffinity(0)) < 2 or threading.active_count() != 1:
        return False
    try:
        from numba.core.caching import IndexDataCacheFile
        from numba.np.ufunc import parallel as _parallel
    except ImportError:  # pragma: no cover - numba internals moved
        return False
    if getattr(_parallel, "_is_initialized", True):    # a threading layer has started
        return False
    return callable(getattr(IndexDataCacheFile, "save", None))   # (for _LockedCacheSaves)


class _LockedCacheSaves:
    """While active, numba's cache writes of this process and of processes forked from it
    take an exclusive lock (``flock`` on a file in the cache directory): numba reads the
    index, picks a free data-file number and writes both, and two processes saving two
    signatures of one function at once could otherwise both pick number 1 (the index of one
    would then name the other's data). Same-signature saves were harmless already."""

    def __enter__(self):
        import fcntl
        import os

        from numba.core import caching

        self._cls = caching.IndexDataCacheFile
        original = self._original = self._cls.save

        def save(cache_file, key, data):
            try:
                fh = open(os.path.join(cache_file._cache_path, "l5sim-save.lock"), "a")
            except OSError:                 # (numba's own save reports an unwritable cache)
                return original(cache_file, key, data)
            with fh:                        # (closing it releases the lock)
                try:
                    fcntl.flock(fh, fcntl.LOCK_EX)
                except OSError:             # a file system without locks: save as numba does
                    pass
                return original(cache_file, key, data)

        self._cls.save = save
        return self

    def __exit__(self, *exc):
        self._cls.save = self._original


def split_jobs(jobs):
    """``(child, parent)``: the jobs of ``[(weight, name, job), ...]`` split in two, the
    heaviest on the child's side, so that the heavier side's total weight is least (every
    split tried, up to 12 jobs; beyond, the heaviest go to the child up to half the total).
    Each side heaviest first."""
    jobs = sorted(jobs, key=lambda j: -j[0])
    weights = [w for w, _, _ in jobs]
    total = sum(weights)

    def heavier_side(mask):
        w_child = sum(w for k, w in enumerate(weights) if mask >> k & 1)
        return max(w_child, total - w_child)

    if len(jobs) <= 12:
        mask = min(range(1, 1 << len(jobs), 2), key=heavier_side)    # (odd masks: the heaviest in)
    else:
        mask, w_child = 0, 0.0
        for k, w in enumerate(weights):
            if not mask or w_child + w <= total / 2:
                mask |= 1 << k
                w_child += w
    return ([j for k, (_, _, j) in enumerate(jobs) if mask >> k & 1],
            [j for k, (_, _, j) in enumerate(jobs) if not mask >> k & 1])


def compile_in_parallel(jobs) -> bool:
    """Run compile ``jobs`` (``[(weight, name, job), ...]``) on two processes at once: a
    forked child takes the heaviest job and the others that balance the two sides' total
    weights best (:func:`split_jobs`), this process the rest; then this process waits for
    the child. The child's compiled functions reach
    this process through numba's on-disk cache (each job's function is cached), so that the
    compile that follows here loads them instead of compiling them. Returns whether a child
    ran (False: not possible here, see :func:`_can_fork_compile`; nothing was done).

    Why (cold start, issue 18 item 5): numba compiles one function at a time under a global
    lock, and the chunk loop and the functions it calls late-bound
    (:mod:`l5sim.kernels.binding`) are independent of each other: on the README's column the
    L5 cell's loop with the Poisson inputs (~8.2 s) and the chunk loop with the PV/SOM loop,
    delivery and the replay (~8.5 s) compile side by side on a 2-core machine. A job
    whose result does not reach this process (the child failed, was too slow, or typed a
    function differently) is compiled here later as before: the results never depend on it.
    """
    import os

    if len(jobs) < 2 or not _can_fork_compile():
        return False
    child, parent = split_jobs(jobs)
    if not parent:
        return False
    with _LockedCacheSaves():
        try:
            pid = os.fork()
        except OSError:                    # (no process to spare: compile here, one at a time)
            return False
        if pid == 0:                       # the child: compile, never return into the caller
            status = 1
            try:
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, 1)
                os.dup2(devnull, 2)
                for job in child:
                    job()
                status = 0
            finally:
                os._exit(status)
        finished = False
        try:
            # lightest first: functions the two sides share (the L5 and PV/SOM loops both call
            # receptors.block_arrivals and rng.normal_tail) are then often in the cache, from
            # the child, when this side's heavier jobs reach them (~0.9 s of compile less)
            for job in reversed(parent):
                try:
                    job()
                except Exception:          # (the compile that follows reports any real error)
                    pass
            finished = True
        finally:
            _reap(pid, stop=not finished)  # (interrupted here: the child's work is not wanted)
    return True


def _reap(pid: int, stop: bool = False) -> None:
    """Wait for child ``pid`` (at most :data:`CHILD_TIMEOUT_S`, then stop it; at once if
    ``stop``)."""
    import os
    import signal
    import time

    deadline = time.monotonic() + (0.0 if stop else CHILD_TIMEOUT_S)
    while True:
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done:
            return
        if time.monotonic() >= deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return
        time.sleep(0.01)
