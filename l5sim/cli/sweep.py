"""``l5sim sweep`` and ``l5sim plot``: thin CLI glue over :mod:`l5sim.sweep`.

Registration imports nothing heavy (no NumPy, Numba, Dask or matplotlib), so that
``l5sim --help`` stays instant; each command imports what it needs when it runs.
"""
from __future__ import annotations

import argparse

from .common import add_format_option, add_set_option, figure_path, parse_sets

SWEEP_EPILOG = """\
examples:
  l5sim sweep circuits/l5_cell.toml --grid inputs.soma_step.amplitude_pA=400:1200:9 \\
      --grid inputs.dend_step.amplitude_pA=0,200,400 --seeds 5 --duration 1000 --out out/fi
  l5sim sweep circuits/l5_column.toml --grid populations.pyr.params.kappa_rest=0:1:5 --seeds 4 \\
      --out out/kappa --scheduler tcp://head-node:8786
  l5sim plot out/fi

grids: KEY=V1,V2,... (values read as TOML) or KEY=START:STOP:N (N evenly spaced numbers);
the runs are the product of every --grid axis times the seeds. Every grid point is validated
before any run starts.

outputs (in DIR):
  results.csv       one row per run: run key, the grid keys, seed, status (done/failed), error,
                    POP.STAT statistics (n, n_spikes, rate_hz, cv_isi, isi_burst_excess, ...),
                    duration_ms, timing (wall_s, build_s, simulate_s), attempts, worker;
                    empty cells are missing values. results.parquet too if pyarrow is installed.
  runs/KEY.json     one file per finished run, written atomically as it ends
  recordings/KEY/   full recordings (--keep recording)
  sweep.json        manifest: circuit (after --set), duration, keep mode, grids and seeds

resume: run the same command again (after a crash, Ctrl-C or a killed worker) and only the
missing runs are computed. A new --grid into the same DIR extends the sweep (same circuit,
--set, duration and --keep); anything else is refused. Failed runs are kept as failed unless
--retry-failed. Exit status 0 when every run is done, 1 if any failed, 130 when interrupted;
the last line is "N runs: X done, Y failed".

schedulers: processes (default; a local pool of --workers processes), serial (this process),
local (a Dask LocalCluster, needs `pip install l5sim[dask]`), tcp://HOST:PORT (a Dask
cluster: start workers with --nthreads 1; they need the same l5sim and, for crash safety,
DIR on a shared file system).
"""


def _cmd_sweep(args) -> int:
    from ..sweep import default_workers, make_batches, plan_sweep, run_sweep

    overrides = parse_sets(args.set)
    if args.dry_run:
        plan = plan_sweep(args.circuit, args.grid, args.seeds, args.duration, overrides=overrides,
                          first_seed=args.seed, keep=args.keep)
        w = args.workers or default_workers()
        batches = make_batches(plan.runs, 1 if args.scheduler == "serial" else w, args.batch_size)
        est = sum(r["cost_s"] for r in plan.runs)
        print(f"{plan.circuit_name}: {plan.n_points} grid points x {len(plan.seeds)} seeds = {len(plan.runs)} runs "
              f"of {plan.duration_ms:g} ms in {len(batches)} batches; estimated {est:.1f} CPU-s")
        for k, v in plan.axes.items():
            print(f"  {k}: {v}")
        return 0
    progress = True if args.progress else (False if args.no_progress else None)
    res = run_sweep(args.circuit, args.grid, args.seeds, args.duration, args.out, overrides=overrides,
                    first_seed=args.seed, keep=args.keep, scheduler=args.scheduler, workers=args.workers,
                    batch_size=args.batch_size, progress=progress, retry_failed=args.retry_failed,
                    max_attempts=args.max_attempts)
    if not args.quiet:
        print(f"{res.out}: {res.n_computed} runs computed, {res.n_reused} reused; {res.scheduler}, "
              f"{res.n_workers} workers, {res.n_batches} batches, {res.wall_s:.1f} s -> {res.table}")
        if res.n_failed:
            errs = {}
            for row in res.rows:
                if row["status"] == "failed":
                    errs.setdefault(row["error"], 0)
                    errs[row["error"]] += 1
            for e, n in sorted(errs.items(), key=lambda kv: -kv[1])[:5]:
                print(f"  failed x{n}: {e}")
    print(res.final_line())
    return 0 if res.ok else 1


def _cmd_plot(args) -> int:
    from pathlib import Path

    from ..errors import SpecError
    from ..plotting import save_figure
    from ..spec import parse_value
    from ..sweep import load_results, plot_sweep

    m, rows, _ = load_results(args.dir)
    axes = []
    for g in m["grids"]:
        axes += [k for k, _ in g["axes"] if k not in axes]
    for item in args.where:
        if "=" not in item:
            raise SpecError("--where", item, "KEY=VALUE with a grid key")
        k, v = (s.strip() for s in item.split("=", 1))
        if k not in axes:
            raise SpecError("--where", k, f"a grid key, one of {axes}")
        v = parse_value(v)
        rows = [r for r in rows if r.get(k) == v or (isinstance(v, (int, float)) and isinstance(r.get(k), (int, float))
                                                     and abs(r[k] - v) <= 1e-9 * max(1.0, abs(v)))]
        axes.remove(k)
    x = args.x or (axes[0] if axes else None)
    y = args.y or (axes[1] if len(axes) > 1 and not args.x else None)
    for name, k in (("--x", x), ("--y", y)):
        if k is not None and k not in axes:
            raise SpecError(name, k, f"a grid key, one of {axes}")
    if x is None:
        raise SpecError("--x", None, "a sweep with at least one --grid axis")
    rest = [k for k in axes if k not in (x, y)]
    if rest:
        raise SpecError("--where", None, f"a value for each other grid key {rest} (e.g. --where {rest[0]}=...)")
    title = f"{Path(args.dir).name}: {len(rows)} runs" + (f" ({', '.join(args.where)})" if args.where else "")
    fig = plot_sweep(rows, x, y, stats=args.stat or ("rate_hz",), populations=args.population or None, title=title)
    out = Path(args.out) if args.out else figure_path(args.dir, "sweep", args)
    save_figure(fig, out)
    if not args.quiet:
        print(f"{len(rows)} runs over {x}{' x ' + y if y else ''} -> {out}")
    return 0


def register_sweep(sub) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "sweep", help="parameter sweep (grid x seeds) on local processes or a Dask cluster; resumable",
        description="Run CIRCUIT.toml for every point of the --grid product and every seed, store each "
                    "finished run in DIR/runs/ as it ends, and assemble DIR/results.csv. Re-running the same "
                    "command computes only what is missing.",
        epilog=SWEEP_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("circuit", metavar="CIRCUIT.toml", help="circuit file (see circuits/)")
    p.add_argument("--grid", action="append", default=[], metavar="KEY=VALUES",
                   help="an axis: KEY=V1,V2,... or KEY=START:STOP:N (repeatable; the grid is their product)")
    p.add_argument("--seeds", type=int, default=1, metavar="N", help="seeds per grid point (default 1)")
    p.add_argument("--seed", type=int, default=0, metavar="N", help="first seed (default 0)")
    p.add_argument("--duration", type=float, default=1000.0, metavar="MS", help="simulated time per run in ms "
                   "(default 1000)")
    p.add_argument("--out", required=True, metavar="DIR", help="sweep directory (created; resumed if it exists)")
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="worker processes for the local pool or --scheduler local (default: available CPUs)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="processes (default), serial, local (Dask LocalCluster) or tcp://HOST:PORT (Dask)")
    p.add_argument("--batch-size", type=int, default=None, metavar="N",
                   help="runs per task (default: tasks of 0.2-1 s from a cost estimate, >= 4 per worker)")
    p.add_argument("--keep", choices=("summary", "recording"), default="summary",
                   help="what each run keeps: summary statistics (default) or also the full recording")
    add_set_option(p, help="override a circuit value for every run (repeatable)")
    p.add_argument("--retry-failed", action="store_true", help="recompute runs recorded as failed")
    p.add_argument("--max-attempts", type=int, default=2, metavar="N",
                   help="record a run as failed after its worker process died N times (default 2)")
    p.add_argument("--dry-run", action="store_true", help="validate the grid and print the runs; run nothing")
    p.add_argument("--progress", action="store_true", help="always show the progress bar")
    p.add_argument("--no-progress", action="store_true", help="never show it (default: when stderr is a terminal)")
    p.add_argument("--quiet", action="store_true", help="print only the final line")
    p.set_defaults(func=_cmd_sweep)
    return p


def register_plot(sub) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "plot", help="plot a sweep directory (lines over one axis, heat maps over two, seed spread)",
        description="Draw DIR/sweep.png from the runs of a sweep: a statistic against one grid axis (mean and "
                    "SD over seeds, each seed a dot), or heat maps of its mean and seed SD over two axes.",
        epilog="example: l5sim plot out/fi --stat rate_hz --stat isi_burst_excess")
    p.add_argument("dir", metavar="DIR", help="a directory written by l5sim sweep")
    p.add_argument("--stat", action="append", default=[], metavar="NAME",
                   help="statistic (rate_hz, isi_burst_excess, burst_reset_fraction, cv_isi, spikes_per_isi_burst, ...; "
                        "repeatable; "
                        "default rate_hz)")
    p.add_argument("--x", default=None, metavar="KEY", help="grid key on the horizontal (default: the first)")
    p.add_argument("--y", default=None, metavar="KEY", help="second grid key: heat maps (default: the second)")
    p.add_argument("--where", action="append", default=[], metavar="KEY=VALUE",
                   help="keep only runs with this value of a grid key (repeatable)")
    p.add_argument("--population", action="append", default=[], metavar="NAME", help="population(s) to draw")
    p.add_argument("--out", default=None, metavar="FILE",
                   help="figure path; its suffix sets the format (default DIR/sweep.FORMAT)")
    add_format_option(p)
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=_cmd_plot)
    return p
