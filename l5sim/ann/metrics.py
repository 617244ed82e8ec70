"""Stability-gap metrics: the paper's family and De Lange's family, named apart.

Pure functions of accuracy curves (numpy only). An accuracy curve is sampled at evaluation points;
``block[j]`` says which task (0-based) was being trained when evaluation ``j`` was taken, i.e.
evaluation ``j`` comes after a training step of task ``block[j]``. Evaluations taken before any
training step (if any) carry ``block = -1`` and are ignored by every metric.

Two metric families (science.md section 7):

**Paper** (Rodriguez-Garcia, Ghosh & Ramaswamy 2025, arXiv 2507.14056): computed on **task 1's**
test-set accuracy curve only (the authors compute it on the seed-averaged curve; the harness
reports both that and per-seed mean and spread).

- ``final_k`` = task-1 accuracy at the last evaluation of block k;
- ``SG_k`` = (final_k - min over block k+1) / final_k, for k = 1..T-1 (relative drop);
- ``avg_sg`` = mean of SG_k over transitions;
- ``avg_min_acc`` = mean over blocks k = 1..T of the block minimum (task 1's own learning block
  included, as in the paper);
- ``wc_acc`` = (1/T) final_T + (1 - 1/T) avg_min_acc.

**De Lange** (De Lange, van de Ven & Tuytelaars 2023, ICLR, "Continual evaluation for lifelong
learning: identifying the stability gap"): each task evaluated on its own test set.

- ``min_acc`` (at the end, k = T) = mean over earlier tasks i < T of the worst accuracy of task i
  at any evaluation after task i's training ended (blocks i+1..T);
- ``wc_acc`` = (1/T) acc_T(end of block T) + (1 - 1/T) min_acc.

Plus ``final_average_accuracy``: mean over all tasks of their accuracy at the last evaluation.
"""
from __future__ import annotations

import math

import numpy as np

from ..errors import L5SimError

__all__ = ["paper_metrics", "delange_metrics", "final_average_accuracy", "summarise"]


def _check(acc: np.ndarray, block: np.ndarray, n_blocks: int | None, name: str):
    acc = np.asarray(acc, dtype=float)
    block = np.asarray(block, dtype=int)
    if acc.shape[0] != block.shape[0]:
        raise L5SimError(f"{name}: {acc.shape[0]} accuracies for {block.shape[0]} block labels; "
                         "expected one block label per evaluation")
    if n_blocks is None:
        n_blocks = int(block.max()) + 1 if block.size else 0
    if n_blocks < 1:
        raise L5SimError(f"n_blocks: got {n_blocks}; expected >= 1")
    for k in range(n_blocks):
        if not np.any(block == k):
            raise L5SimError(f"block: no evaluation in block {k}; expected at least one "
                             "evaluation per block (check eval_every)")
    if np.any(np.diff(block) < 0):
        raise L5SimError("block: block labels decrease; expected evaluations in training order")
    return acc, block, n_blocks


def _last_in(acc: np.ndarray, block: np.ndarray, k: int):
    return acc[np.flatnonzero(block == k)[-1]]


def paper_metrics(task1_acc, block, n_blocks: int | None = None) -> dict:
    """The paper's stability-gap metrics on task 1's accuracy curve (arXiv 2507.14056).

    Parameters
    ----------
    task1_acc : array_like, shape (n_evals,)
        Accuracy on task 1's test set at each evaluation, fraction in [0, 1].
    block : array_like of int, shape (n_evals,)
        0-based index of the task being trained at each evaluation (-1 = before training).
    n_blocks : int, optional
        Number of tasks T (default: ``max(block) + 1``).

    Returns
    -------
    dict
        ``final`` (list, T: task-1 accuracy at the end of each block), ``block_min`` (list, T),
        ``sg`` (list, T-1: relative drop at each transition), ``avg_sg``, ``avg_min_acc``,
        ``wc_acc``, ``final_acc`` (= final_T). NaN propagates (a diverged run gives NaN).

    Examples
    --------
    >>> m = paper_metrics([0.5, 0.99, 0.70, 0.9], [0, 0, 1, 1])
    >>> round(m["sg"][0], 3)
    0.293
    """
    acc, block, T = _check(task1_acc, block, n_blocks, "task1_acc")
    final = [float(_last_in(acc, block, k)) for k in range(T)]
    bmin = [float(np.min(acc[block == k])) for k in range(T)]
    sg = [(final[k] - bmin[k + 1]) / final[k] if final[k] > 0 else math.nan for k in range(T - 1)]
    avg_sg = float(np.mean(sg)) if sg else math.nan
    avg_min = float(np.mean(bmin))
    wc = final[-1] / T + (1.0 - 1.0 / T) * avg_min
    return {"final": final, "block_min": bmin, "sg": [float(s) for s in sg], "avg_sg": avg_sg,
            "avg_min_acc": avg_min, "wc_acc": float(wc), "final_acc": final[-1]}


def delange_metrics(task_acc, block, n_blocks: int | None = None) -> dict:
    """De Lange et al. (2023) worst-case metrics: each task on its own test set.

    Parameters
    ----------
    task_acc : array_like, shape (n_evals, T)
        Column i: accuracy of task i on its own test set at each evaluation, fraction in [0, 1].
    block : array_like of int, shape (n_evals,)
        0-based index of the task being trained at each evaluation (-1 = before training).
    n_blocks : int, optional
        Number of tasks T (default: number of columns).

    Returns
    -------
    dict
        ``min_acc`` and ``wc_acc`` at the end of training (k = T); ``min_acc_per_task`` (list,
        T: min-ACC_k after each task k, NaN for k = 1 where no earlier task exists);
        ``wc_acc_per_task`` (list, T); ``worst_after`` (list, T-1: worst accuracy of task i after its
        training ended, up to the end).
    """
    a = np.asarray(task_acc, dtype=float)
    if a.ndim != 2:
        raise L5SimError(f"task_acc: got an array of shape {a.shape}; expected (n_evals, n_tasks)")
    if n_blocks is None:
        n_blocks = a.shape[1]
    _, block, T = _check(a[:, 0], block, n_blocks, "task_acc")
    if a.shape[1] < T:
        raise L5SimError(f"task_acc: {a.shape[1]} task columns; expected at least n_blocks = {T}")
    min_k, wc_k = [], []
    for k in range(T):  # after training task k (0-based)
        if k == 0:
            mk = math.nan
            wk = float(_last_in(a[:, 0], block, 0))
        else:
            worst = [float(np.min(a[(block > i) & (block <= k), i])) for i in range(k)]
            mk = float(np.mean(worst))
            cur = float(_last_in(a[:, k], block, k))
            wk = cur / (k + 1) + (1.0 - 1.0 / (k + 1)) * mk
        min_k.append(mk)
        wc_k.append(wk)
    worst_after = [float(np.min(a[block > i, i])) for i in range(T - 1)]
    return {"min_acc": min_k[-1], "wc_acc": wc_k[-1], "min_acc_per_task": min_k,
            "wc_acc_per_task": wc_k, "worst_after": worst_after}


def final_average_accuracy(task_acc) -> float:
    """Mean over tasks of the accuracy at the last evaluation.

    Parameters
    ----------
    task_acc : array_like, shape (n_evals, T)

    Returns
    -------
    float
        Fraction in [0, 1].
    """
    a = np.asarray(task_acc, dtype=float)
    return float(np.mean(a[-1]))


def summarise(values) -> dict:
    """Mean, sample standard deviation (ddof=1) and count of finite values over seeds.

    Non-finite values (diverged runs) are counted in ``n_nonfinite`` and excluded from mean and sd,
    never silently averaged in.

    Parameters
    ----------
    values : array_like of float

    Returns
    -------
    dict
        ``mean``, ``std`` (NaN if fewer than 2 finite values), ``n`` (finite), ``n_nonfinite``.
    """
    v = np.asarray(values, dtype=float).ravel()
    ok = v[np.isfinite(v)]
    return {
        "mean": float(ok.mean()) if ok.size else math.nan,
        "std": float(ok.std(ddof=1)) if ok.size > 1 else math.nan,
        "n": int(ok.size),
        "n_nonfinite": int(v.size - ok.size),
    }
