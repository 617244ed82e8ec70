"""Stability-gap harness: joint training with task boundaries and continual evaluation (needs torch).

Protocol (Rodriguez-Garcia, Ghosh & Ramaswamy 2025, arXiv 2507.14056; De Lange et al. 2023):

- tasks 1..T are trained in blocks of ``iters_per_task`` iterations; during block k every
  mini-batch is drawn uniformly, with replacement, from the union of the training data of tasks
  1..k (**joint training**: the stability gap appears even though no data is ever withheld);
- after every ``eval_every``-th training step (and always after the last step of a block), every
  task is evaluated on its own test set (optionally a fixed random subset of ``eval_samples``
  images per task): by default every task from the first iteration on (full-length curves), or
  only the tasks seen so far (``eval_all_tasks=False``); the evaluation never changes NGM-SGD's
  gains;
- the paper's metrics are computed on task 1's curve, De Lange's on every task's own curve
  (:mod:`l5sim.ann.metrics`).

Statistics (every summary names which it is): ``paper_seed_mean_curve`` is the paper's
computation, the metrics of the seed-averaged task-1 curve; ``paper_per_seed`` is the mean and
sample sd (ddof = 1) of the per-seed values; ``task1_final_acc`` (task 1's accuracy at the end)
and ``mean_final_acc`` (mean over all tasks at the end) are named apart.

Models: the paper's MLP (:class:`~l5sim.ann.gain.GainMLP`, gains on every layer) for the
grey-level datasets, the slim ResNet-18 (:class:`~l5sim.ann.resnet.SlimResNet18`, gain on the
output layer only) for CIFAR.

Optimizers (``OPTIMIZER_NAMES``), all with the paper's learning rate 0.01 by default, training
the weights only (biases of the MLP and of the ResNet head zero and fixed, as in the paper's
code): ``sgd``; ``momentum-sgd`` (momentum 0.9); ``adam`` (torch defaults, lr 0.01); ``ngm-sgd``
(gamma 0.9, g0 1, eta = the paper's value for the scenario; no momentum on the MLP; on the
ResNet momentum 0.9 on the backbone and none on the gained head, as in the authors' code
``experiments/ex5.py``); ``ngm-sgd-bridge`` (gamma, g0, eta from a bridge file);
``ngm-sgd-bridge-lr`` (the same plus the bridge's learning-rate coupling, off everywhere else).

Reproducibility: one seed per run; ``torch.manual_seed(seed)`` sets the weight initialisation
(the same for every optimizer; drawn on the CPU, then moved to the device, so CPU and CUDA runs
start from the same weights), and ``numpy.random.SeedSequence(seed)`` spawns the batch sampler
and the evaluation-subset streams, so every optimizer sees the same batches for a seed. With
``data_seeding="per-seed"`` the seed also draws the digits' train/test split, the permutations
and the class order; with ``"fixed"`` (the paper's code) every seed sees the same tasks.

Divergence (recorded, never raised, never averaged in): a run is stopped and marked diverged
when its training loss or gain is non-finite (``nonfinite``), or when, in any block (the first
included: a runaway gain can hold a run at chance from its start, as NGM-SGD at eta 0.5 on raw
rotated digits did, gain 12.5 = the fixed point at ln 10 nats, loss ln 10), the accuracy on the
current context -- the union of tasks 1..k that joint training draws from,
measured as the mean of the per-task test accuracies -- stays at or below chance (1 / number of
classes seen so far) plus ``diverge_margin`` on average over the last ``diverge_patience``
iterations of a block while its training loss falls by no more than ``diverge_loss_drop`` (``at_chance``: stuck, or
blown up with a finite loss; a run that is slow but learning is left alone). (The accuracy on the newest task alone is no criterion: in class-incremental
blocks a slow but learning optimizer such as plain SGD predicts no new class for a hundred
iterations while it still knows the old ones.) A diverged run's metrics are NaN, it is excluded
from every mean and sd, and the summaries count it.
"""
from __future__ import annotations

import sys

# The names below were all defined here before the harness was split into config, training,
# summary and results; they stay importable from l5sim.ann.harness.
from .config import (CIFAR_DATA, DATA_SEEDINGS, DEVICES, EVAL_CHUNK, MODELS, OPTIMIZER_NAMES,
                     PAPER_BATCH, PAPER_ITERS_PER_TASK, PAPER_ITERS_PER_TASK_CIFAR, PAPER_SEEDS,
                     HarnessConfig, resolve_device)
from .datasets import Dataset
from .loaders import load_dataset, resplit
from .results import (metrics_document, metrics_table_markdown, plot_stability_gap,
                      transition_table_markdown, write_results)
from .scenarios import FIXED_TASK_SEED, make_scenario
from .summary import SD_CONVENTION, experiment_metrics
from .training import DeviceData, RunResult, StabilityGapResult, eval_schedule, run_one

__all__ = [
    "HarnessConfig",
    "RunResult",
    "StabilityGapResult",
    "OPTIMIZER_NAMES",
    "PAPER_ITERS_PER_TASK",
    "DEVICES",
    "resolve_device",
    "run_stability_gap",
    "write_results",
    "plot_stability_gap",
    "metrics_table_markdown",
    "transition_table_markdown",
]


def _seed_data(base: Dataset, cfg: HarnessConfig, seed: int, dataset_given: bool):
    """(dataset, tasks) of one seed under the configured data seeding."""
    per_seed = cfg.resolved_seeding() == "per-seed"
    ds = base
    if per_seed:
        if cfg.data == "digits" and not dataset_given:
            ds = load_dataset("digits", split_seed=seed)
        elif cfg.data == "digits":
            ds = resplit(base, seed)
    tasks = make_scenario(ds, cfg.scenario, seed=seed if per_seed else FIXED_TASK_SEED,
                          shuffle_classes=per_seed)
    return ds, tasks


def run_stability_gap(config: HarnessConfig, *, progress: bool = False,
                      dataset: Dataset | None = None, log=None) -> StabilityGapResult:
    """Run every (optimizer, seed) of a stability-gap experiment.

    Parameters
    ----------
    config : HarnessConfig
    progress : bool
        Show a tqdm progress bar over all training iterations.
    dataset : Dataset, optional
        Pre-loaded data (default: ``load_dataset(config.data, config.data_dir)``).
    log : callable, optional
        Receives the progress lines (every ``config.log_every`` iterations, and each divergence);
        default: print to stderr (through tqdm when a bar is shown).

    Returns
    -------
    StabilityGapResult
        With ``metrics`` = ``{"metric_families": ..., "runs": [...], "summary": {optimizer:
        {"paper_seed_mean_curve": {...} or None, "paper_per_seed": {avg_sg, avg_min_acc,
        wc_acc: {mean, std, n, n_nonfinite}}, "paper_sg_per_transition_per_seed": [...],
        "delange_per_seed": {min_acc, wc_acc}, "task1_final_acc", "mean_final_acc",
        "n_runs", "n_diverged", "diverged_reasons"}}}``.
    """
    import torch

    config.validate()
    device = torch.device(resolve_device(config.device))
    base = dataset if dataset is not None else load_dataset(config.data, config.data_dir)
    iters = config.resolved_iters()
    ds0, tasks0 = _seed_data(base, config, config.seeds[0], dataset is not None)
    n_tasks = len(tasks0)
    sched = eval_schedule(n_tasks, iters, config.eval_every)
    pbar = None
    if progress:
        from tqdm.auto import tqdm

        pbar = tqdm(total=len(config.seeds) * len(config.optimizers) * n_tasks * iters, unit="it",
                    desc=f"{config.data}/{config.scenario}")
    if log is None:
        def log(line):
            if pbar is not None:
                pbar.write(line, file=sys.stderr)
            else:
                print(line, file=sys.stderr, flush=True)
    names = [t.name for t in tasks0]
    if config.resolved_seeding() == "per-seed" and config.scenario in ("split", "domain"):
        # the classes of task k differ between seeds (listed per seed in data_info)
        names = [f"task{k + 1}" for k in range(n_tasks)]
    result = StabilityGapResult(config=config, task_names=names,
                                eval_iteration=sched[0], eval_block=sched[1], device=str(device))
    try:
        for seed in config.seeds:
            if seed == config.seeds[0] or config.resolved_seeding() == "fixed":
                ds, tasks = ds0, tasks0  # the same tasks for every seed
            else:
                ds, tasks = _seed_data(base, config, seed, dataset is not None)
            result.data_info[str(seed)] = {
                "source": ds.source, "n_train": int(ds.y_train.size), "n_test": int(ds.y_test.size),
                "pixel_mean": list(ds.mean), "pixel_sd": list(ds.std),
                "tasks": [{"name": t.name, "classes": list(t.classes)} for t in tasks]}
            data = DeviceData(ds, tasks, config, device, seed)
            for name in config.optimizers:
                if pbar is not None:
                    pbar.set_postfix_str(f"{name} seed {seed}")
                result.runs.append(run_one(name, seed, config, ds, tasks, sched, data, pbar, log))
            del data
    finally:
        if pbar is not None:
            pbar.close()
    result.metrics = experiment_metrics(result)
    return result

