"""How many threads a simulation may use, and a threading layer that does not spin.

Threads are a shared resource (style.md): the number a run uses is chosen from the CPUs
actually free to this process, never from the installation alone. Issue 18 measured what
happens otherwise: chosen from the network size only, the parallel kernels ran 2.3-15x
slower than serial on a busy 2-core machine and used 3-13x more CPU.

What this module decides
------------------------
* :func:`cpu_limit`: the CPUs this process may run on at all: its affinity mask
  (``os.sched_getaffinity``) and its cgroup's CPU quota (cgroup v2 ``cpu.max``, v1
  ``cpu.cfs_quota_us / cpu.cfs_period_us``), rounded down (a quota of 1.5 CPUs is one
  thread: a barrier-synchronised step waits for the slowest thread, and a throttled thread
  stalls all of them).
* :func:`idle_cpus`: how many of those CPUs were idle over a short window (from
  ``/proc/stat``), i.e. not taken by other processes; cached for ``IDLE_CACHE_S``.
* :func:`default_threads`: the thread count a simulation uses when the caller did not
  choose: ``L5SIM_THREADS`` if set, one in a sweep worker (:func:`set_worker_threads`),
  else ``floor(idle + IDLE_SLACK)`` clamped to ``[1, cpu_limit]`` and numba's pool size.
  A machine with one of two cores taken by another process gets one thread.
* :func:`set_worker_threads`: what a process-pool worker calls once (its initialiser): its
  simulations then use that many threads (one by default), whatever the machine looks like.

Wait policy
-----------
Importing this module sets, when they are not already set, ``OMP_WAIT_POLICY=PASSIVE``
(GNU libgomp, the OpenMP that numba's ``omp`` layer links on Linux, and Intel's) and
``KMP_BLOCKTIME=0`` (Intel's OpenMP): a thread that finished its share of a parallel
region sleeps at once instead of spinning for up to ~300,000 iterations (libgomp's default
``GOMP_SPINCOUNT``) against other processes or against the other threads of this one.

A bounded spin is faster on a machine of one's own and ruinous on a shared one, so it is
left to the user: ``GOMP_SPINCOUNT=30000`` (:data:`SPIN_COUNT`; libgomp counts ~100,000
iterations per ms) lets an idle thread wait ~0.3 ms for the next parallel region of the
same step before it sleeps. Waking a sleeping thread cost ~50 us per region on this
project's VM; on the 10k column with two threads and both CPUs free the spin ran 0.262 s
against 0.318 s sleeping at once and 0.305 s serially (``benchmarks/threads_bench.py``,
best of 3), but with another process busy on one CPU the spinning run took 3.3-3.5 s
against 0.40-0.46 s sleeping at once: a thread that spins uses up its share of the CPU,
and the scheduler then lets it wait behind the other process for whole time slices while
the rest of the team waits at the region's end.

The variables are read once, when the OpenMP library loads (at the first parallel kernel
or at numba's threading-layer probe), so this module must be imported first: l5sim's
``simulation`` imports it at the top. ``benchmarks/threads_bench.py`` measures the
layers and policies side by side (``docs/performance.md``).
"""
from __future__ import annotations

import math
import os
import time

#: A bounded spin for machines of one's own, opt-in through ``GOMP_SPINCOUNT`` (see "Wait
#: policy" above; benchmarks/threads_bench.py's ``omp_spin`` mode).
SPIN_COUNT = 30000
#: Environment defaults applied at import, before numba's OpenMP runtime is loaded.
WAIT_POLICY_ENV = {"OMP_WAIT_POLICY": "PASSIVE", "KMP_BLOCKTIME": "0"}
for _k, _v in WAIT_POLICY_ENV.items():
    os.environ.setdefault(_k, _v)

#: Window over which idle CPU time is measured (s). /proc/stat counts in ticks of
#: 1 / 100 s (USER_HZ), so 0.05 s gives each CPU's idle fraction to within 0.2: enough to
#: tell a CPU that another process keeps busy (idle ~0) from a free one (idle ~1).
IDLE_WINDOW_S = 0.05
#: How long a measurement of idle CPUs is reused (s), so that many short simulate calls
#: do not each pay the window.
IDLE_CACHE_S = 2.0
#: A CPU counts as free when the idle time over the window adds up to at least
#: 1 - IDLE_SLACK of it (sampling granularity and this process's own short work).
IDLE_SLACK = 0.25

_WORKER = {"threads": None}
_IDLE_CACHE = {"t": -math.inf, "value": None}


def affinity_cpus() -> set[int]:
    """The CPUs this process may be scheduled on (its affinity mask)."""
    try:
        return set(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux: every CPU the OS reports
        return set(range(os.cpu_count() or 1))


def _cgroup_paths() -> dict:
    """controller -> cgroup path of this process ("" key: the cgroup v2 unified path)."""
    out = {}
    try:
        with open("/proc/self/cgroup") as f:
            for line in f:
                parts = line.rstrip("\n").split(":", 2)
                if len(parts) != 3:
                    continue
                for ctrl in (parts[1].split(",") if parts[1] else [""]):
                    out[ctrl] = parts[2]
    except OSError:
        pass
    return out


def _read(path: str) -> str | None:
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return None


def _walk_up(root: str, rel: str):
    """root/rel, then each of its parents up to root (a limit set above applies below)."""
    rel = rel.strip("/")
    while True:
        yield os.path.join(root, rel) if rel else root
        if not rel:
            return
        rel = os.path.dirname(rel)


def cgroup_cpu_quota(root: str = "/sys/fs/cgroup") -> float | None:
    """The CPU quota of this process's cgroup in CPUs (e.g. 1.5), or None if unlimited.

    cgroup v2: ``cpu.max`` ("QUOTA PERIOD" or "max PERIOD") of the process's cgroup or the
    nearest ancestor that sets one; cgroup v1: ``cpu.cfs_quota_us / cpu.cfs_period_us`` of
    the ``cpu`` controller (-1 = unlimited). The smallest quota on the path applies.
    """
    paths = _cgroup_paths()
    best = None

    def take(q):
        nonlocal best
        if q is not None and q > 0:
            best = q if best is None else min(best, q)

    if "" in paths and os.path.exists(os.path.join(root, "cgroup.controllers")):
        for d in _walk_up(root, paths[""]):
            txt = _read(os.path.join(d, "cpu.max"))
            if txt:
                fields = txt.split()
                if len(fields) == 2 and fields[0] != "max":
                    try:
                        take(float(fields[0]) / float(fields[1]))
                    except (ValueError, ZeroDivisionError):
                        pass
    for mount in ("cpu", "cpu,cpuacct", "cpuacct,cpu"):
        base = os.path.join(root, mount)
        if not os.path.isdir(base):
            continue
        for d in _walk_up(base, paths.get("cpu", "")):
            q, p = _read(os.path.join(d, "cpu.cfs_quota_us")), _read(os.path.join(d, "cpu.cfs_period_us"))
            try:
                if q is not None and p is not None and int(q) > 0:
                    take(int(q) / int(p))
            except (ValueError, ZeroDivisionError):
                pass
        break
    return best


def cpu_limit() -> int:
    """Most threads this process can run at once: its affinity mask, capped by its cgroup
    quota rounded down (at least 1)."""
    n = len(affinity_cpus()) or 1
    q = cgroup_cpu_quota()
    if q is not None:
        n = min(n, max(1, int(math.floor(q + 1e-9))))
    return max(1, n)


def _cpu_times(cpus: set[int]) -> tuple[float, float] | None:
    """(idle ticks, total ticks) summed over ``cpus`` from /proc/stat, or None."""
    txt = _read("/proc/stat")
    if not txt:
        return None
    idle = total = 0.0
    seen = 0
    for line in txt.splitlines():
        if not line.startswith("cpu") or line.startswith("cpu "):
            continue
        name, *vals = line.split()
        try:
            k = int(name[3:])
        except ValueError:
            continue
        if k not in cpus:
            continue
        v = [float(x) for x in vals[:8]]
        idle += v[3] + (v[4] if len(v) > 4 else 0.0)        # idle + iowait
        total += sum(v[:8])                                 # guest time is inside user
        seen += 1
    return (idle, total) if seen else None


def idle_cpus(window_s: float = IDLE_WINDOW_S, cache_s: float = IDLE_CACHE_S) -> float | None:
    """How many of this process's CPUs were idle over ``window_s`` (a float, e.g. 1.0 when
    one of two CPUs is kept busy by another process), or None where /proc/stat is missing.
    A measurement younger than ``cache_s`` is reused."""
    now = time.monotonic()
    if now - _IDLE_CACHE["t"] < cache_s:
        return _IDLE_CACHE["value"]
    cpus = affinity_cpus()
    a = _cpu_times(cpus)
    if a is None:
        value = None
    else:
        time.sleep(window_s)
        b = _cpu_times(cpus)
        if b is None or b[1] <= a[1]:
            value = None
        else:
            frac = (b[0] - a[0]) / (b[1] - a[1])       # idle share of all ticks on these CPUs
            value = frac * len(cpus)
    _IDLE_CACHE.update(t=time.monotonic(), value=value)
    return value


def set_worker_threads(threads: int = 1) -> None:
    """Make every later simulation in this process use ``threads`` threads (a process-pool
    worker's initialiser calls this: one thread per worker unless asked, so that a sweep
    running one worker per core does not oversubscribe the machine). Results do not change:
    the kernels give the same bits for any thread count."""
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        from .errors import SpecError

        raise SpecError("threads", threads, "an integer >= 1")
    _WORKER["threads"] = threads
    try:
        import numba

        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    except Exception:  # pragma: no cover - an exotic threading layer: the count still applies
        pass


def worker_threads() -> int | None:
    """The count set by :func:`set_worker_threads` in this process, else None."""
    return _WORKER["threads"]


def _env_threads() -> int | None:
    txt = os.environ.get("L5SIM_THREADS", "").strip()
    if not txt:
        return None
    try:
        n = int(txt)
    except ValueError:
        n = 0
    if n < 1:
        from .errors import SpecError

        raise SpecError("L5SIM_THREADS", txt, "an integer >= 1")
    return n


def default_threads(pool_size: int | None = None) -> int:
    """The number of threads a simulation uses when its caller did not choose.

    ``L5SIM_THREADS`` if set; else the count of :func:`set_worker_threads`; else the CPUs
    idle right now (:func:`idle_cpus`, rounded down after adding ``IDLE_SLACK``), at most
    :func:`cpu_limit`; never more than ``pool_size`` (numba's pool, ``NUMBA_NUM_THREADS``)
    and never less than 1.
    """
    if pool_size is None:
        import numba

        pool_size = int(numba.config.NUMBA_NUM_THREADS)
    n = _env_threads()
    if n is None:
        n = worker_threads()
    if n is None:
        n = cpu_limit()
        if n > 1:
            idle = idle_cpus()
            if idle is not None:
                n = min(n, max(1, int(math.floor(idle + IDLE_SLACK))))
    return max(1, min(n, pool_size))


def describe() -> dict:
    """What the choice was made from (for run metadata and the benchmarks)."""
    import numba

    return {"affinity": len(affinity_cpus()), "cgroup_quota_cpus": cgroup_cpu_quota(),
            "cpu_limit": cpu_limit(), "idle_cpus": idle_cpus(), "worker_threads": worker_threads(),
            "numba_pool": int(numba.config.NUMBA_NUM_THREADS),
            "threading_layer": numba.config.THREADING_LAYER,
            "wait_policy": {k: os.environ.get(k) for k in WAIT_POLICY_ENV}}
