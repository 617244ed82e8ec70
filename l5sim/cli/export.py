"""``l5sim export``: a saved run as an NWB or Neo file (:mod:`l5sim.export`).

Registration imports nothing heavy, so ``l5sim --help`` stays instant.
"""
from __future__ import annotations

import argparse

EXPORT_EPILOG = """\
formats:
  nwb   NWB 2 file (pynwb; pip install -e ".[nwb]"), default RUN_DIR/recording.nwb:
        units table (one row per neuron: spike_times in s, population, local_index, model,
        position, burst_reset flags per spike), traces as TimeSeries (acquisition/POP__VAR),
        modulator levels (processing/neuromodulation), weight snapshots (processing/plasticity),
        the run's metadata as JSON in notes. Read with pynwb.NWBHDF5IO(path).read().
  neo   Neo MATLAB file (neo + quantities; pip install -e ".[neo]"), default RUN_DIR/recording.mat:
        one SpikeTrain per neuron (burst_reset flags as an annotation), one group per population,
        traces and modulator levels as AnalogSignals. Read with neo.NeoMatlabIO(path).read_block();
        from Python, l5sim.export.to_neo(recording) gives the Block directly (for Elephant).

example:
  l5sim run circuits/l5_column.toml --duration 1000 --seed 1 --out out/l5_column
  l5sim export out/l5_column --format nwb
"""

_SUFFIX = {"nwb": ".nwb", "neo": ".mat"}
_EXTRA = {"nwb": "pynwb", "neo": "neo and quantities"}


def _cmd_export(args) -> int:
    import sys
    from pathlib import Path

    from ..errors import L5SimError
    from ..recording import load

    run_dir = Path(args.run_dir)
    npz = run_dir / "recording.npz" if run_dir.is_dir() else run_dir
    if not npz.is_file():
        raise L5SimError(f"RUN_DIR: {str(run_dir)!r} holds no recording.npz; expected a directory "
                         "written by l5sim run (or a recording.npz file)")
    out = Path(args.out) if args.out else npz.parent / f"recording{_SUFFIX[args.format]}"
    from ..export.neo import write_mat
    from ..export.nwb import to_nwb

    rec = load(npz)
    try:
        path = to_nwb(rec, out) if args.format == "nwb" else write_mat(rec, out)
    except ImportError as e:
        print(f"l5sim export: error: --format {args.format} needs {_EXTRA[args.format]} "
              f'(pip install -e ".[{args.format}]"): {e}', file=sys.stderr)
        return 2
    if not args.quiet:
        print(f"{npz} -> {path} ({args.format}, {int(rec.pop_start[-1])} neurons, {rec.spike_i.size} spikes)")
    return 0


def register_export(sub) -> argparse.ArgumentParser:
    """Register ``l5sim export``."""
    p = sub.add_parser(
        "export", help="write a saved run as an NWB or Neo file",
        description="Read RUN_DIR/recording.npz (written by l5sim run) and write it in a format other "
                    "tools read: NWB (pynwb, NWB tools) or Neo (Elephant).",
        epilog=EXPORT_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run_dir", metavar="RUN_DIR", help="directory holding recording.npz (or the .npz file)")
    p.add_argument("--format", required=True, choices=tuple(_SUFFIX), help="nwb or neo")
    p.add_argument("--out", metavar="FILE", help="output file (default RUN_DIR/recording.nwb or .mat)")
    p.add_argument("--quiet", action="store_true", help="print nothing on success")
    p.set_defaults(func=_cmd_export)
    return p
