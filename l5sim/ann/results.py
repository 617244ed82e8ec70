"""What a stability-gap experiment leaves behind: ``metrics.json``, ``curves.csv``, the figure
(drawn by :mod:`l5sim.plotting.stability_gap`) and the Markdown tables of
``docs/stability_gap.md``.
"""
from __future__ import annotations

import csv
import json
import math
import os
import tempfile
from dataclasses import asdict

import numpy as np

from .training import StabilityGapResult

__all__ = ["metrics_document", "write_results", "plot_stability_gap", "metrics_table_markdown",
           "transition_table_markdown"]


def _atomic_write(path: str, write) -> None:
    d = os.path.dirname(os.path.abspath(path))
    os.makedirs(d, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=d, prefix=".tmp-", suffix=os.path.basename(path))
    try:
        with os.fdopen(fd, "w", newline="") as fh:
            write(fh)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _jsonable(obj):
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (np.floating, float)):
        return float(obj) if math.isfinite(obj) else None
    if isinstance(obj, np.integer):
        return int(obj)
    return obj


def metrics_document(result: StabilityGapResult) -> dict:
    """The content of ``metrics.json`` (JSON-ready; NaN becomes null)."""
    import torch

    cfg = result.config
    doc = {"config": asdict(cfg),
           "resolved": {"iters_per_task": cfg.resolved_iters(), "batch_size": cfg.resolved_batch(),
                        "model": cfg.resolved_model(), "normalize": cfg.normalize,
                        "data_seeding": cfg.resolved_seeding(),
                        "diverge_patience_iterations": cfg.resolved_patience(),
                        "diverge_margin": cfg.diverge_margin,
                        "diverge_loss_drop": cfg.diverge_loss_drop, "device": result.device,
                        "torch_version": torch.__version__},
           "tasks": result.task_names, "data": result.data_info, **result.metrics}
    if any(o == "ngm-sgd" for o in cfg.optimizers):
        doc["resolved"]["ngm_eta"] = cfg.resolved_eta()
    try:
        from ..bridge import l5sim_version

        doc["l5sim_version"] = l5sim_version()
    except ImportError:  # pragma: no cover
        pass
    return _jsonable(doc)


def write_results(result: StabilityGapResult, out_dir: str, *, figure: bool = True,
                  curves: bool = True, figure_format: str = "png") -> dict:
    """Write ``curves.csv``, ``metrics.json`` and ``stability_gap.FORMAT`` to ``out_dir`` (atomically).

    ``curves.csv`` is tidy: one row per (optimizer, seed, evaluation, task evaluated), columns
    ``optimizer, seed, iteration, block, eval_task, eval_task_name, trained, accuracy,
    mean_gain, train_loss, train_entropy_nats, diverged``; ``block`` and ``eval_task`` are
    1-based (block 0 = before training); ``trained`` is 1 once the task's own block has begun.
    With full-length evaluation every task has a row at every evaluation. In ``metrics.json`` NaN
    is written as null.

    Parameters
    ----------
    result : StabilityGapResult
    out_dir : str
    figure : bool
        Also save the figure (needs matplotlib).
    curves : bool
        Also write ``curves.csv``.
    figure_format : str
        ``png`` (raster), ``svg`` or ``pdf`` (vector).

    Returns
    -------
    dict
        Paths written, by kind.
    """
    os.makedirs(out_dir, exist_ok=True)
    paths = {"metrics": os.path.join(out_dir, "metrics.json")}

    def write_csv(fh):
        w = csv.writer(fh)
        w.writerow(["optimizer", "seed", "iteration", "block", "eval_task", "eval_task_name",
                    "trained", "accuracy", "mean_gain", "train_loss", "train_entropy_nats",
                    "diverged"])
        for r in result.runs:
            for j, (it, b) in enumerate(zip(result.eval_iteration, result.eval_block)):
                for i, tname in enumerate(result.task_names):
                    a = r.acc[j, i]
                    if not math.isfinite(a):
                        continue
                    w.writerow([r.optimizer, r.seed, int(it), int(b) + 1, i + 1, tname,
                                int(b >= i), f"{a:.6g}", f"{r.mean_gain[j]:.6g}",
                                f"{r.train_loss[j]:.6g}", f"{r.train_entropy[j]:.6g}",
                                int(r.diverged)])

    if curves:
        paths["curves"] = os.path.join(out_dir, "curves.csv")
        _atomic_write(paths["curves"], write_csv)
    doc = metrics_document(result)
    _atomic_write(paths["metrics"], lambda fh: json.dump(doc, fh, indent=1, allow_nan=False))
    if figure:
        if figure_format not in ("png", "svg", "pdf"):
            raise ValueError(f"figure_format: got {figure_format!r}; expected png, svg or pdf")
        fig = plot_stability_gap(result)
        paths["figure"] = os.path.join(out_dir, f"stability_gap.{figure_format}")
        from ..plotting import save_figure

        save_figure(fig, paths["figure"])          # atomic, format from the suffix; closes the figure
    return paths


def plot_stability_gap(result: StabilityGapResult, **kwargs):
    """The stability-gap figure of a result (:func:`l5sim.plotting.stability_gap.plot_stability_gap`)."""
    from ..plotting.stability_gap import plot_stability_gap as _plot

    return _plot(result, **kwargs)


def _fmt_ms(s) -> str:
    if s is None or s.get("mean") is None or not math.isfinite(s["mean"]):
        return "n/a"
    sd = s.get("std")
    return f"{s['mean']:.3f} ± {sd:.3f}" if sd is not None and math.isfinite(sd) else f"{s['mean']:.3f}"


def metrics_table_markdown(metrics: dict, labels: dict | None = None) -> str:
    """A Markdown table of a ``metrics.json`` document (or ``StabilityGapResult.metrics``).

    Columns: avg-SG on the seed-averaged task-1 curve (the paper's computation); the paper's
    family per seed (avg-SG, avg-min-ACC, WC-ACC: mean ± sd over seeds); De Lange's family per
    seed (min-ACC, WC-ACC); task-1 final accuracy; mean final accuracy over all tasks; diverged
    runs. ± is the sample sd (ddof = 1) over non-diverged seeds.

    Parameters
    ----------
    metrics : dict
        With a ``summary`` mapping optimizer name to its summary.
    labels : dict, optional
        Row label per optimizer name (default: the name).

    Returns
    -------
    str
    """
    labels = labels or {}
    head = ("| optimizer | avg-SG, seed-mean curve (paper) | avg-SG per seed | avg-min-ACC per seed "
            "| WC-ACC per seed | De Lange min-ACC | De Lange WC-ACC | task-1 final acc "
            "| mean final acc | diverged or stuck |\n"
            "|---|---|---|---|---|---|---|---|---|---|\n")
    rows = []
    for name, s in metrics["summary"].items():
        pm = s.get("paper_seed_mean_curve") or {}
        avg_curve = pm.get("avg_sg")
        p, d = s["paper_per_seed"], s["delange_per_seed"]
        rows.append(
            f"| {labels.get(name, name)} | "
            f"{'n/a' if avg_curve is None else f'{avg_curve:.3f}'} | {_fmt_ms(p['avg_sg'])} | "
            f"{_fmt_ms(p['avg_min_acc'])} | {_fmt_ms(p['wc_acc'])} | "
            f"{_fmt_ms(d['min_acc'])} | {_fmt_ms(d['wc_acc'])} | "
            f"{_fmt_ms(s['task1_final_acc'])} | {_fmt_ms(s['mean_final_acc'])} | "
            f"{s['n_diverged']}/{s['n_runs']} |")
    return head + "\n".join(rows) + "\n"


def transition_table_markdown(metrics: dict, labels: dict | None = None) -> str:
    """A Markdown table of the paper's SG_k per transition: seed-mean curve, and per seed mean ± sd.

    Parameters
    ----------
    metrics : dict
    labels : dict, optional
        Row label per optimizer name.

    Returns
    -------
    str
    """
    labels = labels or {}
    names = list(metrics["summary"])
    n_tr = len(metrics["summary"][names[0]]["paper_sg_per_transition_per_seed"])
    head = ("| optimizer | " + " | ".join(f"SG_{k + 1} seed-mean curve | SG_{k + 1} per seed"
                                          for k in range(n_tr)) + " |\n"
            "|---|" + "---|---|" * n_tr + "\n")
    rows = []
    for name in names:
        s = metrics["summary"][name]
        curve = (s.get("paper_seed_mean_curve") or {}).get("sg") or [None] * n_tr
        cells = []
        for k in range(n_tr):
            c = curve[k]
            cells.append("n/a" if c is None or not math.isfinite(c) else f"{c:.3f}")
            cells.append(_fmt_ms(s["paper_sg_per_transition_per_seed"][k]))
        rows.append(f"| {labels.get(name, name)} | " + " | ".join(cells) + " |")
    return head + "\n".join(rows) + "\n"
