"""The statistics of a stability-gap experiment: per-run metrics and per-optimizer summaries,
each named for what it is (the paper's computation on the seed-averaged task-1 curve; mean and
sd of per-seed values; De Lange's family; task-1 and mean final accuracy; diverged runs counted,
never averaged in). The metric definitions are in :mod:`l5sim.ann.metrics`.
"""
from __future__ import annotations

import math

import numpy as np

from . import metrics as M
from .training import StabilityGapResult

__all__ = ["SD_CONVENTION", "METRIC_FAMILIES", "experiment_metrics"]

#: Convention of every "sd" in the metrics (stated in metrics.json).
SD_CONVENTION = ("sample standard deviation over the non-diverged seeds, ddof = 1 "
                 "(numpy.std(ddof=1)); null when fewer than 2 seeds")


#: What each metric family and statistic of ``metrics.json`` is (written into the file).
METRIC_FAMILIES = {
    "paper": "arXiv 2507.14056: on task 1's test accuracy curve; SG_k = (final_k - "
             "min over block k+1)/final_k; avg_sg = mean over transitions; avg_min_acc = "
             "mean of block minima (task 1's learning block included); wc_acc = "
             "final_T/T + (1-1/T) avg_min_acc",
    "paper_seed_mean_curve": "the paper's computation: the paper family on the task-1 "
                             "curve averaged over the non-diverged seeds",
    "paper_per_seed": "the paper family per seed, then mean and sd over seeds",
    "delange": "De Lange et al. 2023 (ICLR): each task on its own test set; min_acc = mean "
               "over tasks i<T of the worst accuracy of task i after its training ended; "
               "wc_acc = acc_T/T + (1-1/T) min_acc, at the end of training",
    "task1_final_acc": "task 1's test accuracy at the last evaluation",
    "mean_final_acc": "mean over all tasks of their test accuracy at the last evaluation",
    "sd": SD_CONVENTION,
    "divergence": "a diverged run (non-finite loss or gain; or, in any block, "
                  "mean test accuracy over tasks 1..k <= 1/classes seen + diverge_margin on "
                  "average over the last diverge_patience iterations while the training loss "
                  "falls by at most diverge_loss_drop) has NaN metrics, is excluded "
                  "from every mean and sd, and is counted in n_diverged (and n_nonfinite)",
}


def experiment_metrics(result: StabilityGapResult) -> dict:
    """Per-run metrics and per-optimizer summaries of an experiment's runs.

    Parameters
    ----------
    result : StabilityGapResult
        With its runs.

    Returns
    -------
    dict
        ``{"metric_families": METRIC_FAMILIES, "runs": [...], "summary": {optimizer: ...}}``
        (the layout is given in :func:`l5sim.ann.harness.run_stability_gap`).
    """
    blocks = result.eval_block
    T = len(result.task_names)
    per_run = [_run_metrics(r, blocks, T) for r in result.runs]
    summary = {}
    for name in result.config.optimizers:
        runs = [m for m in per_run if m["optimizer"] == name]
        accs = [r.acc for r in result.runs if r.optimizer == name and not r.diverged]
        summary[name] = _optimizer_summary(runs, accs, blocks, T)
    return {"metric_families": dict(METRIC_FAMILIES), "runs": per_run, "summary": summary}


def _run_metrics(r, blocks, T: int) -> dict:
    """The metrics of one run (NaN throughout for a diverged run)."""
    if r.diverged:
        p = {"avg_sg": math.nan, "avg_min_acc": math.nan, "wc_acc": math.nan,
             "final_acc": math.nan, "sg": [math.nan] * (T - 1), "final": None, "block_min": None}
        d, fa = {"min_acc": math.nan, "wc_acc": math.nan}, math.nan
    else:
        p = M.paper_metrics(r.acc[:, 0], blocks, T)
        d = M.delange_metrics(r.acc, blocks, T)
        fa = M.final_average_accuracy(r.acc)
    return {"optimizer": r.optimizer, "seed": r.seed, "diverged": r.diverged,
            "diverged_reason": r.diverged_reason,
            "diverged_at_iteration": r.diverged_at,
            "seconds_train": round(r.seconds_train, 3),
            "seconds_eval": round(r.seconds_eval, 3),
            "paper": p, "delange": d, "task1_final_acc": p["final_acc"],
            "mean_final_acc": fa}


def _optimizer_summary(runs: list, accs: list, blocks, T: int) -> dict:
    """One optimizer's summary: its runs' metrics (``runs``) and non-diverged curves (``accs``)."""
    reasons = {}
    for m in runs:
        if m["diverged"]:
            reasons[m["diverged_reason"]] = reasons.get(m["diverged_reason"], 0) + 1
    s = {
        "n_runs": len(runs),
        "n_diverged": sum(m["diverged"] for m in runs),
        "diverged_reasons": reasons,
        "paper_seed_mean_curve": None,
        "paper_per_seed": {key: M.summarise([m["paper"][key] for m in runs])
                           for key in ("avg_sg", "avg_min_acc", "wc_acc")},
        "paper_sg_per_transition_per_seed": [M.summarise([m["paper"]["sg"][k] for m in runs])
                                             for k in range(T - 1)],
        "delange_per_seed": {key: M.summarise([m["delange"][key] for m in runs])
                             for key in ("min_acc", "wc_acc")},
        "task1_final_acc": M.summarise([m["task1_final_acc"] for m in runs]),
        "mean_final_acc": M.summarise([m["mean_final_acc"] for m in runs]),
    }
    if accs:
        mean_curve = np.mean(np.stack([a[:, 0] for a in accs]), axis=0)
        s["paper_seed_mean_curve"] = M.paper_metrics(mean_curve, blocks, T)
    return s
