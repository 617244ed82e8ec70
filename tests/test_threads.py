"""l5sim.threads: the thread count follows the CPUs free to the process, never spins.

The cgroup files are written in a temporary directory laid out as the kernel lays out
/sys/fs/cgroup, so that the parsing is checked on inputs whose answer is known (a quota
of 150000 / 100000 us is 1.5 CPUs) whatever machine the tests run on.
"""
import os
import subprocess
import sys

import pytest

from l5sim import threads
from l5sim.errors import SpecError


def _fake_proc_cgroup(monkeypatch, text):
    monkeypatch.setattr(threads, "_cgroup_paths", lambda: dict(
        (c, line.split(":", 2)[2]) for line in text.strip().splitlines()
        for c in (line.split(":", 2)[1].split(",") if line.split(":", 2)[1] else [""])))


def test_cgroup_v2_quota_is_read_from_the_nearest_limiting_ancestor(tmp_path, monkeypatch):
    root = tmp_path / "cg"
    (root / "a" / "b").mkdir(parents=True)
    (root / "cgroup.controllers").write_text("cpu memory\n")
    (root / "a" / "cpu.max").write_text("150000 100000\n")
    (root / "a" / "b" / "cpu.max").write_text("max 100000\n")
    _fake_proc_cgroup(monkeypatch, "0::/a/b\n")
    assert threads.cgroup_cpu_quota(str(root)) == pytest.approx(1.5)
    # the smaller of two limits on the path applies
    (root / "a" / "b" / "cpu.max").write_text("50000 100000\n")
    assert threads.cgroup_cpu_quota(str(root)) == pytest.approx(0.5)
    (root / "a" / "cpu.max").write_text("max 100000\n")
    (root / "a" / "b" / "cpu.max").write_text("max 100000\n")
    assert threads.cgroup_cpu_quota(str(root)) is None


def test_cgroup_v1_quota_and_unlimited(tmp_path, monkeypatch):
    root = tmp_path / "cg"
    d = root / "cpu,cpuacct" / "job"
    d.mkdir(parents=True)
    (d / "cpu.cfs_quota_us").write_text("250000\n")
    (d / "cpu.cfs_period_us").write_text("100000\n")
    _fake_proc_cgroup(monkeypatch, "4:cpu,cpuacct:/job\n3:memory:/job\n")
    assert threads.cgroup_cpu_quota(str(root)) == pytest.approx(2.5)
    (d / "cpu.cfs_quota_us").write_text("-1\n")
    assert threads.cgroup_cpu_quota(str(root)) is None


def test_cpu_limit_is_affinity_capped_by_the_quota_rounded_down(monkeypatch):
    monkeypatch.setattr(threads, "affinity_cpus", lambda: {0, 1, 2, 3})
    monkeypatch.setattr(threads, "cgroup_cpu_quota", lambda root="/sys/fs/cgroup": 1.5)
    assert threads.cpu_limit() == 1
    monkeypatch.setattr(threads, "cgroup_cpu_quota", lambda root="/sys/fs/cgroup": 0.2)
    assert threads.cpu_limit() == 1
    monkeypatch.setattr(threads, "cgroup_cpu_quota", lambda root="/sys/fs/cgroup": None)
    assert threads.cpu_limit() == 4
    monkeypatch.setattr(threads, "affinity_cpus", lambda: {3})
    assert threads.cpu_limit() == 1


@pytest.mark.skipif(not hasattr(os, "sched_getaffinity"), reason="no sched_getaffinity on this platform")
def test_real_affinity_limit_is_the_affinity_mask():
    assert 1 <= threads.cpu_limit() <= len(os.sched_getaffinity(0))


@pytest.mark.parametrize("idle, limit, expected", [
    (2.0, 2, 2),    # a quiet 2-core machine: both
    (1.0, 2, 1),    # one core kept busy by another process: serial
    (1.8, 2, 2),    # a little background work still leaves two free (IDLE_SLACK 0.25)
    (1.7, 2, 1),
    (0.1, 2, 1),    # fully loaded: never fewer than one
    (7.9, 4, 4),    # never more than the limit
    (None, 2, 2),   # no /proc/stat: the limit
])
def test_default_threads_follows_the_idle_cpus(monkeypatch, idle, limit, expected):
    monkeypatch.delenv("L5SIM_THREADS", raising=False)
    monkeypatch.setitem(threads._WORKER, "threads", None)
    monkeypatch.setattr(threads, "cpu_limit", lambda: limit)
    monkeypatch.setattr(threads, "idle_cpus", lambda *a, **k: idle)
    assert threads.default_threads(pool_size=64) == expected
    assert threads.default_threads(pool_size=1) == 1


def test_worker_and_environment_override_the_measurement(monkeypatch):
    monkeypatch.setattr(threads, "cpu_limit", lambda: 8)
    monkeypatch.setattr(threads, "idle_cpus", lambda *a, **k: 8.0)
    monkeypatch.setitem(threads._WORKER, "threads", None)
    monkeypatch.delenv("L5SIM_THREADS", raising=False)
    assert threads.default_threads(pool_size=8) == 8
    threads.set_worker_threads(1)
    try:
        assert threads.default_threads(pool_size=8) == 1
        monkeypatch.setenv("L5SIM_THREADS", "3")       # an explicit request wins
        assert threads.default_threads(pool_size=8) == 3
        monkeypatch.setenv("L5SIM_THREADS", "zero")
        with pytest.raises(SpecError, match="L5SIM_THREADS"):
            threads.default_threads(pool_size=8)
    finally:
        threads._WORKER["threads"] = None
        import numba

        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    for bad in (0, -1, 1.5, True):
        with pytest.raises(SpecError, match="threads"):
            threads.set_worker_threads(bad)


@pytest.mark.skipif(not (os.path.exists("/proc/stat") and hasattr(os, "sched_getaffinity")),
                    reason="needs Linux /proc/stat and sched_getaffinity")
def test_idle_cpus_sees_a_busy_process():
    """A process spinning on one CPU of this process's affinity takes about one CPU's idle
    time away (measured over 0.3 s, so that 1/100 s ticks resolve it to ~0.03 CPU)."""
    cpus = sorted(os.sched_getaffinity(0))
    spin = subprocess.Popen([sys.executable, "-c", "import os\nos.sched_setaffinity(0, {%d})\nwhile True: pass"
                             % cpus[0]])
    try:
        import time

        time.sleep(0.2)
        busy = threads.idle_cpus(window_s=0.3, cache_s=0.0)
    finally:
        spin.kill()
        spin.wait()
    assert busy is not None
    # the spinner alone leaves at most len(cpus) - 1 idle; the 0.35 allows for tick rounding
    # and for the test runner's own work (other processes only lower it further)
    assert busy <= len(cpus) - 1 + 0.35, f"idle {busy:.2f} of {len(cpus)} CPUs while one spins"


def test_wait_policy_is_set_before_numba_loads_openmp():
    code = ("import os; [os.environ.pop(k, None) for k in ('OMP_WAIT_POLICY', 'KMP_BLOCKTIME', 'GOMP_SPINCOUNT')]; "
            "import l5sim.simulation, sys; "
            "print(os.environ['OMP_WAIT_POLICY'], os.environ['KMP_BLOCKTIME'], os.environ.get('GOMP_SPINCOUNT'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    # passive, and no spin count of l5sim's: under a passive policy libgomp then never spins
    assert out == ["PASSIVE", "0", "None"]
    # a value the user set is kept
    env = dict(os.environ, OMP_WAIT_POLICY="ACTIVE")
    code2 = "import l5sim.simulation, os; print(os.environ['OMP_WAIT_POLICY'])"
    assert subprocess.run([sys.executable, "-c", code2], capture_output=True, text=True, check=True,
                          env=env).stdout.strip() == "ACTIVE"
