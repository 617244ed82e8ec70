"""Command-line registration of ``l5sim stability-gap`` and ``l5sim fit``.

The top-level parser (``l5sim/cli.py``) calls :func:`register_stability_gap` and
:func:`register_fit` with its ``subparsers`` object. This module imports nothing heavy at import
time (no torch, scipy or matplotlib), so ``l5sim --help`` stays instant; the handlers import what
they need when they run.
"""
from __future__ import annotations

import argparse
import sys

__all__ = ["register_stability_gap", "register_fit", "stability_gap_main", "fit_main"]

TORCH_INSTALL = "pip install torch==2.13.0"


def _num(v) -> str:
    return "n/a" if v is None or v != v else f"{v:.3f}"


def _csv_list(text: str) -> list[str]:
    return [t for t in (s.strip() for s in text.replace(",", " ").split()) if t]


def register_stability_gap(subparsers) -> argparse.ArgumentParser:
    """Add the ``stability-gap`` subcommand.

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        From ``parser.add_subparsers()``.

    Returns
    -------
    argparse.ArgumentParser
        The new subparser (its ``func`` default is the handler, returning an exit code).
    """
    p = subparsers.add_parser(
        "stability-gap",
        help="measure the stability gap of SGD, momentum-SGD, Adam and NGM-SGD in joint training",
        description="Joint training with task boundaries and continual evaluation "
                    "(arXiv 2507.14056; De Lange et al. 2023). Writes curves.csv, metrics.json "
                    "and stability_gap.png to --out. Needs torch (" + TORCH_INSTALL + ").",
    )
    p.add_argument("--data", default="digits",
                   choices=("digits", "fashion-mnist", "mnist", "cifar10", "cifar100"),
                   help="dataset (default digits: scikit-learn's 8x8 digits, fast)")
    p.add_argument("--data-dir", default=None,
                   help="directory with the four MNIST-format idx files (.gz or plain), or the "
                        "CIFAR binary files (cifar-10-batches-bin/, cifar-100-binary/); default "
                        "/usr/share/datasets/fashion-mnist for fashion-mnist")
    p.add_argument("--scenario", default="rotated",
                   choices=("rotated", "permuted", "split", "domain"),
                   help="rotated, permuted, split (MNIST-like; split also CIFAR-10), domain "
                        "(CIFAR-100)")
    p.add_argument("--normalize", default="standardize", choices=("standardize", "none"),
                   help="input preprocessing: standardize = training mean and sd per channel "
                        "(default, the paper's: MNIST 0.1307/0.3081), none = pixels / max in [0, 1]")
    p.add_argument("--data-seeding", default="auto", choices=("auto", "fixed", "per-seed"),
                   help="fixed: every seed sees the same tasks (paper's code); per-seed: the seed "
                        "also draws the digits' train/test split, permutations and class order; "
                        "auto (default): per-seed for digits, fixed otherwise")
    p.add_argument("--optimizers", nargs="+", default=["sgd", "momentum-sgd", "adam", "ngm-sgd"],
                   help="any of sgd momentum-sgd adam ngm-sgd ngm-sgd-bridge ngm-sgd-bridge-lr "
                        "(space- or comma-separated)")
    p.add_argument("--seeds", type=int, default=5, help="number of seeds (default 5)")
    p.add_argument("--seed-start", type=int, default=42,
                   help="first seed; seeds are seed-start .. seed-start+N-1 (paper: 42-46)")
    p.add_argument("--bridge", default=None, help="bridge file (l5sim fit) for ngm-sgd-bridge*")
    p.add_argument("--iters-per-task", type=int, default=None,
                   help="training iterations per task (default: paper's, MNIST rotated 400, "
                        "otherwise 200; CIFAR 400)")
    p.add_argument("--batch-size", type=int, default=None,
                   help="mini-batch size (default: paper's, 128 MLP, 256 ResNet)")
    p.add_argument("--lr", type=float, default=0.01, help="learning rate of every optimizer")
    p.add_argument("--momentum", type=float, default=0.9, help="momentum of momentum-sgd")
    p.add_argument("--eta", type=float, default=None,
                   help="NGM-SGD eta (default: paper's, rotated 0.5, split 0.4, permuted 0.3; "
                        "split CIFAR-10 0.2, domain CIFAR-100 0.1)")
    p.add_argument("--gamma", type=float, default=0.9, help="NGM-SGD gain decay per iteration")
    p.add_argument("--g0", type=float, default=1.0, help="NGM-SGD baseline gain")
    p.add_argument("--model", default="auto", choices=("auto", "mlp", "resnet18"),
                   help="auto: the paper's MLP for grey-level data, slim ResNet-18 (nf 20) for CIFAR")
    p.add_argument("--resnet-nf", type=int, default=20,
                   help="filters of the ResNet's first stage (default 20, Lopez-Paz & Ranzato 2017)")
    p.add_argument("--hidden", default="400,400", help="MLP hidden widths, comma-separated")
    p.add_argument("--gain-layers", default="all", choices=("all", "head"),
                   help="MLP layers with gains (the ResNet has its gain on the head only)")
    p.add_argument("--eval-every", type=int, default=1, help="evaluate every k iterations")
    p.add_argument("--eval-samples", type=int, default=None,
                   help="test images per task at each evaluation (fixed random subset); default all")
    p.add_argument("--eval-seen-only", action="store_true",
                   help="evaluate only the tasks trained so far (default: every task, full-length "
                        "curves)")
    p.add_argument("--diverge-patience", type=int, default=None, metavar="ITERS",
                   help="a run whose accuracy on the current context (mean over tasks 1..k) is "
                        "at chance on average over the last ITERS iterations, with a loss that does "
                        "not fall, is marked diverged (default: half a block); a non-finite loss "
                        "always is")
    p.add_argument("--diverge-margin", type=float, default=0.05,
                   help="accuracy above chance (1/classes seen so far) still 'at chance' "
                        "(default 0.05)")
    p.add_argument("--diverge-loss-drop", type=float, default=0.001,
                   help="a run at chance whose training loss fell by more than this fraction over "
                        "those iterations is still learning and is not marked (default 0.001)")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"),
                   help="torch device (default auto: cuda if available)")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--log-every", type=int, default=None, metavar="N",
                   help="print loss, accuracy per task and mean gain every N iterations "
                        "(default: 200 with --no-progress, else never)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--no-figure", action="store_true", help="do not draw the figure stability_gap.FORMAT")
    p.add_argument("--format", choices=("png", "svg", "pdf"), default="png",
                   help="figure file format: png (default), or svg / pdf (vector)")
    p.add_argument("--no-curves", action="store_true", help="do not write curves.csv")
    p.add_argument("--out", required=True, help="output directory")
    p.set_defaults(func=stability_gap_main)
    return p


def stability_gap_main(args) -> int:
    """Handler of ``l5sim stability-gap``; returns the exit code (2 if torch is missing)."""
    try:
        import torch
    except ImportError:
        print(f"l5sim stability-gap needs PyTorch, which is not installed: {TORCH_INSTALL}",
              file=sys.stderr)
        return 2
    from .harness import HarnessConfig, run_stability_gap, write_results
    from ..errors import L5SimError

    if args.threads:
        torch.set_num_threads(args.threads)
    optimizers = [o for item in args.optimizers for o in _csv_list(item)]
    try:
        hidden = tuple(int(h) for h in _csv_list(args.hidden))
    except ValueError:
        print(f"--hidden: got {args.hidden!r}; expected comma-separated integers", file=sys.stderr)
        return 2
    if args.seeds < 1:
        print(f"--seeds: got {args.seeds}; expected >= 1", file=sys.stderr)
        return 2
    log_every = args.log_every if args.log_every is not None else (200 if args.no_progress else 0)
    cfg = HarnessConfig(
        data=args.data, scenario=args.scenario, optimizers=tuple(optimizers),
        seeds=tuple(range(args.seed_start, args.seed_start + args.seeds)),
        iters_per_task=args.iters_per_task, batch_size=args.batch_size, lr=args.lr,
        momentum=args.momentum, hidden=hidden, gamma=args.gamma, g0=args.g0, eta=args.eta,
        bridge=args.bridge, gain_layers=args.gain_layers, model=args.model,
        resnet_nf=args.resnet_nf,
        eval_every=args.eval_every, eval_samples=args.eval_samples,
        eval_all_tasks=not args.eval_seen_only, data_dir=args.data_dir,
        normalize=args.normalize, data_seeding=args.data_seeding,
        diverge_patience=args.diverge_patience, diverge_margin=args.diverge_margin,
        diverge_loss_drop=args.diverge_loss_drop,
        device=args.device, log_every=log_every,
    )
    try:
        result = run_stability_gap(cfg, progress=not args.no_progress)
        paths = write_results(result, args.out, figure=not args.no_figure,
                              curves=not args.no_curves, figure_format=args.format)
    except L5SimError as exc:
        print(f"l5sim stability-gap: {exc}", file=sys.stderr)
        return 1
    print(f"{result.config.data}/{result.config.scenario}, normalize {cfg.normalize}, device "
          f"{result.device}; +- is the sample sd over non-diverged seeds (ddof 1)")
    for name, s in result.metrics["summary"].items():
        curve = (s["paper_seed_mean_curve"] or {}).get("avg_sg")
        sg, t1, fa = s["paper_per_seed"]["avg_sg"], s["task1_final_acc"], s["mean_final_acc"]
        print(f"{name:18s} avg-SG seed-mean curve {_num(curve)} | per seed {_num(sg['mean'])} +- "
              f"{_num(sg['std'])} | task-1 final acc {_num(t1['mean'])} +- {_num(t1['std'])} | "
              f"mean final acc {_num(fa['mean'])} +- {_num(fa['std'])} | diverged "
              f"{s['n_diverged']}/{s['n_runs']}")
    for kind, path in paths.items():
        print(f"wrote {kind}: {path}")
    return 0


def register_fit(subparsers) -> argparse.ArgumentParser:
    """Add the ``fit`` subcommand (``l5sim fit GAIN_DIR [STDP_DIR] --out bridge.json``).

    Parameters
    ----------
    subparsers : argparse._SubParsersAction

    Returns
    -------
    argparse.ArgumentParser
    """
    p = subparsers.add_parser(
        "fit",
        help="fit gain/pulse/STDP curves and write a bridge file for NGM-SGD",
        description="Fit the f-I curves of an `l5sim gain` directory (and the gain time course "
                    "after a pulse, pulse.csv, if present; and the STDP speed-up of an "
                    "`l5sim stdp` directory, if given), map them to NGM-SGD's gamma, g0 and eta, "
                    "and write a validated bridge file (schema l5sim/schemas/bridge-v1.schema.json).",
    )
    p.add_argument("gain_dir", metavar="GAIN_DIR", help="output directory of `l5sim gain`")
    p.add_argument("stdp_dir", metavar="STDP_DIR", nargs="?", default=None,
                   help="output directory of `l5sim stdp` (optional)")
    p.add_argument("--out", required=True, help="bridge file to write (JSON)")
    p.add_argument("--ms-per-iteration", type=float, default=None,
                   help="biological time one optimizer iteration stands for, ms (default 100)")
    p.add_argument("--modulator-per-nat", type=float, default=None,
                   help="phasic modulator level per nat of output entropy (default: pulse "
                        "amplitude / ln(n-classes))")
    p.add_argument("--n-classes", type=int, default=10,
                   help="classes of the target task, for the default modulator-per-nat")
    p.add_argument("--tonic-level", type=float, default=None,
                   help="tonic modulator level g0 is normalised at (default: lowest level swept)")
    p.add_argument("--tau-decay-ms", type=float, default=None,
                   help="gain decay time constant, ms, if the gain directory has no pulse.csv")
    p.add_argument("--fi-model", default="auto", choices=("auto", "threshold_linear", "saturating"),
                   help="f-I model (default auto: saturating if the saturation is identifiable)")
    p.add_argument("--window", type=float, default=None, metavar="PA",
                   help="f-I fit window above the firing onset, pA (default 400; see l5sim.analysis.fi_shape_fit)")
    p.set_defaults(func=fit_main)
    return p


def fit_main(args) -> int:
    """Handler of ``l5sim fit``; returns the exit code."""
    from ..bridge import make_bridge, write_bridge
    from ..errors import L5SimError

    try:
        doc = make_bridge(args.gain_dir, args.stdp_dir, ms_per_iteration=args.ms_per_iteration,
                          modulator_per_nat=args.modulator_per_nat, n_classes=args.n_classes,
                          tonic_level=args.tonic_level, tau_decay_ms=args.tau_decay_ms,
                          fi_model=args.fi_model, fi_window_pa=args.window)
        write_bridge(doc, args.out)
    except (L5SimError, OSError) as exc:
        print(f"l5sim fit: {exc}", file=sys.stderr)
        return 1
    opt = doc["optimizer"]
    print(f"gamma = {opt['gamma']['value']:.4f} +- {opt['gamma']['stderr']:.4f}, "
          f"g0 = {opt['g0']['value']:.4f}, eta = {opt['eta']['value']:.4f} +- "
          f"{opt['eta']['stderr']:.4f} (lr coupling {opt['lr_coupling']['value']:.4f}, "
          f"off by default)")
    print(f"wrote {args.out}")
    return 0
