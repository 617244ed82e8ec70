"""Backends that run batches of a sweep: a local process pool, or a Dask cluster.

Each backend has ``name``, ``n_workers``, ``submit(task) -> future`` (the task is
:func:`l5sim.sweep.worker.run_batch` on one batch), ``submit_call(fn, arg) -> future`` (any
module-level function, for multi-run commands that are not parameter sweeps, e.g.
:func:`l5sim.gonogo.run_many`), ``is_broken(exc)`` (a failure that took
the whole pool down), ``close()`` and ``abort()``; the local pool also ``stop()`` and
``start()`` (restart after a worker died). The serial scheduler needs no backend: the sweep
process calls ``run_batch`` itself (:func:`l5sim.sweep.run.run_sweep`).
"""
from __future__ import annotations

import os

from ..errors import SpecError
from .store import SweepError
from .worker import init_pool_worker, run_batch

#: Schedulers a sweep (and other multi-run commands, e.g. ``l5sim gonogo``) can run on.
SCHEDULERS = ("processes", "serial", "local")


def check_scheduler(scheduler) -> None:
    """Refuse a scheduler that is none of :data:`SCHEDULERS` nor a Dask address."""
    if not isinstance(scheduler, str) or not (scheduler in SCHEDULERS or "://" in scheduler):
        raise SpecError("--scheduler", scheduler, "processes, serial, local or a Dask address like tcp://HOST:8786")


def default_workers() -> int:
    """Worker processes by default: the CPUs this process may run on (its affinity mask)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover
        return max(1, os.cpu_count() or 1)


class LocalPool:
    """``concurrent.futures.ProcessPoolExecutor`` with the spawn context (Numba and fork do
    not mix), restarted when a worker dies."""

    name = "processes"

    def __init__(self, n_workers, base, source):
        self.n_workers, self.base, self.source = n_workers, base, source
        self._start()

    def _start(self):
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        self.ex = ProcessPoolExecutor(max_workers=self.n_workers, mp_context=multiprocessing.get_context("spawn"),
                                      initializer=init_pool_worker, initargs=(self.base, self.source, os.getpid()))

    def submit(self, task):
        return self.ex.submit(run_batch, task)

    def submit_call(self, fn, arg):
        """Run ``fn(arg)`` (a module-level function and a picklable argument) in a worker."""
        return self.ex.submit(fn, arg)

    def is_broken(self, exc) -> bool:
        from concurrent.futures.process import BrokenProcessPool

        return isinstance(exc, BrokenProcessPool)

    def stop(self):
        self.ex.shutdown(wait=True, cancel_futures=True)

    def start(self):
        self._start()

    def close(self):
        self.ex.shutdown(wait=True)

    def abort(self):
        procs = list((getattr(self.ex, "_processes", None) or {}).values())
        for p in procs:
            p.terminate()           # SIGTERM: workers clear their in-flight record
        self.ex.shutdown(wait=False, cancel_futures=True)
        for p in procs:
            p.join(5)


class DaskBackend:
    """A ``distributed.Client`` on a scheduler address, or on a new ``LocalCluster``."""

    name = "dask"

    def __init__(self, scheduler, n_workers):
        try:
            import distributed
        except ImportError:
            raise SweepError("--scheduler needs Dask: pip install 'l5sim[dask]' "
                             "(dask>=2024.1, distributed>=2024.1)") from None
        import logging

        self.cluster = None
        if scheduler == "local":
            self.cluster = distributed.LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                                                    dashboard_address=None, silence_logs=logging.ERROR)
            self.client = distributed.Client(self.cluster)
        else:
            try:
                self.client = distributed.Client(scheduler, timeout="30s")
            except (OSError, TimeoutError) as e:
                raise SweepError(f"--scheduler {scheduler}: cannot reach the Dask scheduler ({e})") from None
            try:
                self.client.wait_for_workers(1, timeout=60)
            except TimeoutError:
                raise SweepError(f"--scheduler {scheduler}: no worker joined within 60 s") from None
        info = self.client.scheduler_info()
        workers = info.get("workers", {})
        self.n_workers = max(1, sum(int(w.get("nthreads", 1)) for w in workers.values()))
        self.name = "dask-local" if self.cluster is not None else f"dask {scheduler}"
        self._n = 0

    def submit(self, task):
        self._n += 1
        return self.client.submit(run_batch, task, key=f"l5sim-sweep-{task['session'][:8]}-{self._n}", pure=False)

    def submit_call(self, fn, arg):
        """Run ``fn(arg)`` (a module-level function and a picklable argument) on a worker."""
        self._n += 1
        return self.client.submit(fn, arg, key=f"l5sim-call-{os.getpid()}-{self._n}", pure=False)

    def is_broken(self, exc) -> bool:
        return False

    def close(self):
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()

    abort = close
