"""Where a cold start's compile time goes: numba's compile events, per function (issue 18 item 5).

    PYTHONPATH=. python scripts/compile_profile.py                  # the README's first command
    PYTHONPATH=. python scripts/compile_profile.py -- run circuits/izhikevich2003.toml --out /tmp/x --no-plot

Runs an ``l5sim`` command line in this process, from an empty numba cache (a fresh temporary
``NUMBA_CACHE_DIR`` unless ``--keep-cache-dir`` and the variable is set), under numba's event
API (``numba.core.event``, ``numba:compile`` events: one start and one end per compilation of
one function for one signature). Prints, slowest first, each compilation's inclusive time
(everything between its start and end, the compiles of the functions it calls included) and
its own time (inclusive minus the compilations nested in it), and the process's wall and CPU
time outside any compile. A function compiled twice (two signatures) appears twice.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

README = ["run", "circuits/l5_column.toml", "--duration", "1000", "--seed", "1", "--out", "{TMP}/out"]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--keep-cache-dir", action="store_true", help="use $NUMBA_CACHE_DIR as it is")
    p.add_argument("--top", type=int, default=30, help="compilations listed (default 30)")
    p.add_argument("argv", nargs="*", help="the l5sim command line (default: the README's first command)")
    args = p.parse_args()
    tmp = tempfile.mkdtemp(prefix="l5sim_compile_profile_")
    if not (args.keep_cache_dir and os.environ.get("NUMBA_CACHE_DIR")):
        os.environ["NUMBA_CACHE_DIR"] = os.path.join(tmp, "numba_cache")
    argv = [a.replace("{TMP}", tmp) for a in (args.argv or README)]

    t_wall, t_cpu = time.perf_counter(), time.process_time()
    from numba.core import event

    from l5sim.cli import main as l5sim_main

    with event.install_recorder("numba:compile") as rec:
        status = l5sim_main(argv)
    wall, cpu = time.perf_counter() - t_wall, time.process_time() - t_cpu

    # pair starts and ends (they nest: a compile triggers the compiles of its callees)
    stack, done = [], []
    for ts, ev in rec.buffer:
        if ev.is_start:
            stack.append([ts, ev, 0.0])
        else:
            t0, start, nested = stack.pop()
            total = ts - t0
            if stack:
                stack[-1][2] += total
            disp = start.data["dispatcher"]
            name = getattr(disp, "py_func", disp).__qualname__
            sig = start.data.get("args")
            done.append((total, total - nested, name, sig, len(stack)))
    top_level = sum(d[0] for d in done if d[4] == 0)
    print(f"\nstatus {status}; process (after interpreter start): wall {wall:.2f} s, CPU {cpu:.2f} s; "
          f"compiling (top-level compiles): {top_level:.2f} s; {len(done)} compilations", file=sys.stderr)
    print(f"{'own s':>7s} {'incl s':>7s}  function", file=sys.stderr)
    for total, own, name, sig, depth in sorted(done, key=lambda d: -d[1])[:args.top]:
        n_args = len(sig) if sig is not None else "?"
        print(f"{own:7.3f} {total:7.3f}  {'  ' * depth}{name} ({n_args} args)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
