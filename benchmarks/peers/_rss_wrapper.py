"""Run a command, then write its wall time and peak RSS to $BENCH_CHILD_STATS (JSON).

Used as Brian2's ``devices.cpp_standalone.run_cmd_unix`` so that the compiled
binary's own peak memory is measured (``os.wait4`` gives the rusage of that one
child, unlike RUSAGE_CHILDREN, which would include the C++ compiler).
"""
import json
import os
import subprocess
import sys
import time

t0 = time.perf_counter()
proc = subprocess.Popen(sys.argv[1:])
_, status, ru = os.wait4(proc.pid, 0)
wall = time.perf_counter() - t0
out = os.environ.get("BENCH_CHILD_STATS")
if out:
    with open(out, "w") as f:
        json.dump({"wall_s": wall, "peak_rss_mib": ru.ru_maxrss / 1024.0, "cpu_s": ru.ru_utime + ru.ru_stime}, f)
sys.exit(os.waitstatus_to_exitcode(status))
