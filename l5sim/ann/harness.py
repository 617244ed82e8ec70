"""Stability-gap harness: joint training with task boundaries and continual evaluation (needs torch).

Protocol (Rodriguez-Garcia, Ghosh & Ramaswamy 2025, arXiv 2507.14056; De Lange et al. 2023):

- tasks 1..T are trained in blocks of ``iters_per_task`` iterations; during block k every
  mini-batch is drawn uniformly, with replacement, from the union of the training data of tasks
  1..k (**joint training**: the stability gap appears even though no data is ever withheld);
- after every ``eval_every``-th training step (and always after the last step of a block), every
  task seen so far is evaluated on its own test set (optionally a fixed random subset of
  ``eval_samples`` images per task); the evaluation never changes NGM-SGD's gains;
- the paper's metrics are computed on task 1's curve, De Lange's on every task's own curve
  (:mod:`l5sim.ann.metrics`), both per seed and summarised over seeds (mean, sd); the paper's
  family is also computed on the seed-averaged curve, as the paper does.

Optimizers (``OPTIMIZER_NAMES``), all with the paper's learning rate 0.01 by default, training
the weights only (biases zero and fixed, as in the paper's code):
``sgd``; ``momentum-sgd`` (momentum 0.9); ``adam`` (torch defaults, lr 0.01); ``ngm-sgd``
(gamma 0.9, g0 1, eta = the paper's value for the scenario, no momentum); ``ngm-sgd-bridge``
(gamma, g0, eta from a bridge file); ``ngm-sgd-bridge-lr`` (the same plus the bridge's
learning-rate coupling, which is off in every other setting).

Reproducibility: one seed per run; ``torch.manual_seed(seed)`` sets the weight initialisation
(the same for every optimizer), and ``numpy.random.SeedSequence(seed)`` spawns the batch
sampler and the evaluation subset streams, so every optimizer sees the same batches for a seed.

A run whose loss or gain becomes non-finite, or whose mean gain exceeds ``divergence_gain``, is
stopped and recorded as diverged (its remaining evaluations are NaN, its metrics NaN, and the
summaries count it in ``n_nonfinite``) -- never averaged in silently.
"""
from __future__ import annotations

import csv
import json
import math
import os
import tempfile
import time
from dataclasses import asdict, dataclass, field

import numpy as np

from l5sim.ann import metrics as M
from l5sim.ann.data import Dataset, Task, load_dataset, make_scenario
from l5sim.errors import L5SimError

__all__ = [
    "HarnessConfig",
    "RunResult",
    "StabilityGapResult",
    "OPTIMIZER_NAMES",
    "PAPER_ITERS_PER_TASK",
    "run_stability_gap",
    "write_results",
    "plot_stability_gap",
    "metrics_table_markdown",
]

OPTIMIZER_NAMES = ("sgd", "momentum-sgd", "adam", "ngm-sgd", "ngm-sgd-bridge", "ngm-sgd-bridge-lr")
#: Iterations per task in the paper (Split/Permuted MNIST 200, Rotated MNIST 400).
PAPER_ITERS_PER_TASK = {"split": 200, "permuted": 200, "rotated": 400}
#: Seeds of the paper's runs.
PAPER_SEEDS = (42, 43, 44, 45, 46)


@dataclass(frozen=True)
class HarnessConfig:
    """Settings of a stability-gap experiment (defaults: the paper's MNIST settings).

    Attributes
    ----------
    data : str
        ``"digits"``, ``"fashion-mnist"`` or ``"mnist"`` (:func:`l5sim.ann.data.load_dataset`).
    scenario : str
        ``"rotated"``, ``"permuted"`` or ``"split"``.
    optimizers : tuple of str
        Names from :data:`OPTIMIZER_NAMES`.
    seeds : tuple of int
        One run per seed and optimizer (paper: 42-46).
    iters_per_task : int or None
        Training iterations per task; None = the paper's (:data:`PAPER_ITERS_PER_TASK`).
    batch_size : int
        Mini-batch size (paper: 128 on MNIST).
    lr : float
        Learning rate of every optimizer (paper: 0.01, Adam included).
    momentum : float
        Momentum of ``momentum-sgd`` (paper: 0.9).
    hidden : tuple of int
        Hidden layer widths (paper: 400, 400).
    gamma, g0 : float
        NGM-SGD decay per iteration and baseline gain (paper: 0.9, 1).
    eta : float or None
        NGM-SGD entropy sensitivity; None = the paper's value for the scenario
        (rotated 0.5, split 0.4, permuted 0.3).
    bridge : str or None
        Bridge file for ``ngm-sgd-bridge`` / ``ngm-sgd-bridge-lr``.
    gain_layers : str
        Which layers of NGM-SGD's MLP carry gains: ``"all"`` (paper's MLP) or ``"head"``.
    eval_every : int
        Evaluate after every ``eval_every``-th step of a block (and after its last step).
    eval_samples : int or None
        Test images per task used at each evaluation (a fixed random subset per seed); None = all.
    data_dir : str or None
        Directory of the idx files (``--data-dir``).
    divergence_gain : float
        Mean gain above which a run counts as diverged (dimensionless).
    """

    data: str = "digits"
    scenario: str = "rotated"
    optimizers: tuple = ("sgd", "momentum-sgd", "adam", "ngm-sgd")
    seeds: tuple = PAPER_SEEDS
    iters_per_task: int | None = None
    batch_size: int = 128
    lr: float = 0.01
    momentum: float = 0.9
    hidden: tuple = (400, 400)
    gamma: float = 0.9
    g0: float = 1.0
    eta: float | None = None
    bridge: str | None = None
    gain_layers: str = "all"
    eval_every: int = 1
    eval_samples: int | None = None
    data_dir: str | None = None
    divergence_gain: float = 1.0e4

    def resolved_iters(self) -> int:
        """Iterations per task after applying the paper's default."""
        return int(self.iters_per_task or PAPER_ITERS_PER_TASK[self.scenario])

    def resolved_eta(self) -> float:
        """NGM-SGD's eta after applying the paper's per-scenario default."""
        from l5sim.ann.optim import PAPER_ETA

        return float(self.eta if self.eta is not None else PAPER_ETA[self.scenario])

    def validate(self) -> None:
        """Raise :class:`L5SimError` naming the first invalid field."""
        from l5sim.ann.data import DATASETS, SCENARIOS

        if self.data not in DATASETS:
            raise L5SimError(f"data: got {self.data!r}; expected one of {DATASETS}")
        if self.scenario not in SCENARIOS:
            raise L5SimError(f"scenario: got {self.scenario!r}; expected one of {SCENARIOS}")
        if not self.optimizers:
            raise L5SimError("optimizers: got an empty list; expected at least one name")
        for o in self.optimizers:
            if o not in OPTIMIZER_NAMES:
                raise L5SimError(f"optimizers: got {o!r}; expected names from {OPTIMIZER_NAMES}")
            if o.startswith("ngm-sgd-bridge") and not self.bridge:
                raise L5SimError(f"bridge: got None; optimizer {o!r} needs --bridge bridge.json")
        if len(set(self.optimizers)) != len(self.optimizers):
            raise L5SimError(f"optimizers: got {self.optimizers!r}; expected no repeats")
        if not self.seeds or len(set(self.seeds)) != len(self.seeds):
            raise L5SimError(f"seeds: got {self.seeds!r}; expected distinct integers")
        for name in ("batch_size", "eval_every"):
            v = getattr(self, name)
            if not isinstance(v, int) or v < 1:
                raise L5SimError(f"{name}: got {v!r}; expected an integer >= 1")
        if self.iters_per_task is not None and self.iters_per_task < 1:
            raise L5SimError(f"iters_per_task: got {self.iters_per_task!r}; expected >= 1")
        if self.eval_samples is not None and self.eval_samples < 1:
            raise L5SimError(f"eval_samples: got {self.eval_samples!r}; expected >= 1 or None")
        if self.lr <= 0:
            raise L5SimError(f"lr: got {self.lr!r}; expected > 0")
        if self.gain_layers not in ("all", "head"):
            raise L5SimError(f"gain_layers: got {self.gain_layers!r}; expected 'all' or 'head'")


@dataclass
class RunResult:
    """One (optimizer, seed) run.

    Attributes
    ----------
    optimizer : str
    seed : int
    acc : numpy.ndarray, shape (n_evals, T)
        Test accuracy of each task at each evaluation, fraction; NaN where not evaluated (tasks
        not yet seen) or after divergence.
    mean_gain : numpy.ndarray, shape (n_evals,)
        Mean NGM gain at each evaluation (1 for optimizers without gains).
    train_loss, train_entropy : numpy.ndarray, shape (n_evals,)
        Cross-entropy loss and mean softmax entropy (nats) of the last training batch.
    diverged : bool
    diverged_at : int or None
        Iteration (1-based) at which divergence was detected.
    seconds : float
        Wall-clock time of the run, s.
    """

    optimizer: str
    seed: int
    acc: np.ndarray
    mean_gain: np.ndarray
    train_loss: np.ndarray
    train_entropy: np.ndarray
    diverged: bool = False
    diverged_at: int | None = None
    seconds: float = 0.0


@dataclass
class StabilityGapResult:
    """All runs of an experiment plus their metrics.

    Attributes
    ----------
    config : HarnessConfig
    task_names : list of str
    eval_iteration : numpy.ndarray of int, shape (n_evals,)
        Number of training steps completed at each evaluation (0 = before training).
    eval_block : numpy.ndarray of int, shape (n_evals,)
        0-based task being trained at each evaluation (-1 = before training).
    runs : list of RunResult
    metrics : dict
        Per-run metrics and summaries (see :func:`run_stability_gap`).
    """

    config: HarnessConfig
    task_names: list
    eval_iteration: np.ndarray
    eval_block: np.ndarray
    runs: list = field(default_factory=list)
    metrics: dict = field(default_factory=dict)


def _eval_schedule(n_tasks: int, iters: int, every: int):
    its, blocks = [0], [-1]
    for k in range(n_tasks):
        for local in range(iters):
            if (local + 1) % every == 0 or local == iters - 1:
                its.append(k * iters + local + 1)
                blocks.append(k)
    return np.asarray(its, dtype=np.int64), np.asarray(blocks, dtype=np.int64)


def _make_optimizer(name, model, cfg: HarnessConfig):
    import torch

    from l5sim.ann.optim import NGMSGD

    params = model.weight_parameters()
    if name == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr)
    if name == "momentum-sgd":
        return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum)
    if name == "adam":
        return torch.optim.Adam(params, lr=cfg.lr)
    if name == "ngm-sgd":
        return NGMSGD(params, model.gains(), lr=cfg.lr, gamma=cfg.gamma, g0=cfg.g0,
                      eta=cfg.resolved_eta())
    if name in ("ngm-sgd-bridge", "ngm-sgd-bridge-lr"):
        return NGMSGD.from_bridge(params, model.gains(), cfg.bridge, lr=cfg.lr,
                                  use_lr_coupling=name.endswith("-lr"))
    raise L5SimError(f"optimizer: got {name!r}; expected one of {OPTIMIZER_NAMES}")


def _initial_g0(name, cfg):
    if name == "ngm-sgd":
        return cfg.g0
    if name.startswith("ngm-sgd-bridge"):
        from l5sim.bridge import optimizer_params

        return optimizer_params(cfg.bridge)["g0"]
    return 1.0


def _run_one(name, seed, cfg, ds: Dataset, tasks: list[Task], sched, pbar=None) -> RunResult:
    import torch
    from torch.nn import functional as F

    from l5sim.ann.gain import GainMLP
    from l5sim.ann.optim import NGMSGD, batch_entropy

    t0 = time.perf_counter()
    its, blocks = sched
    T, iters = len(tasks), cfg.resolved_iters()
    n_eval = its.size
    acc = np.full((n_eval, T), np.nan)
    gain_tr = np.full(n_eval, np.nan)
    loss_tr = np.full(n_eval, np.nan)
    ent_tr = np.full(n_eval, np.nan)

    ss_batch, ss_eval = np.random.SeedSequence(int(seed)).spawn(2)
    rng = np.random.default_rng(ss_batch)
    rng_eval = np.random.default_rng(ss_eval)
    eval_sets = []
    for t in tasks:
        n = t.y_test.size
        idx = (np.sort(rng_eval.choice(n, cfg.eval_samples, replace=False))
               if cfg.eval_samples is not None and cfg.eval_samples < n else np.arange(n))
        eval_sets.append((torch.from_numpy(ds.standardise(t.x_test[idx])),
                          torch.from_numpy(t.y_test[idx])))

    torch.manual_seed(int(seed))
    is_ngm = name.startswith("ngm-sgd")
    sizes = (ds.n_features, *cfg.hidden, ds.n_classes)
    model = GainMLP(sizes, gain_layers=cfg.gain_layers if is_ngm else "none",
                    g0=_initial_g0(name, cfg))
    opt = _make_optimizer(name, model, cfg)

    def evaluate(j, n_seen):
        model.eval()
        with torch.no_grad():
            for i in range(n_seen):
                x, y = eval_sets[i]
                acc[j, i] = float((model(x).argmax(1) == y).float().mean())
        model.train()

    sizes_tr = np.array([t.y_train.size for t in tasks])
    evaluate(0, 1)
    gain_tr[0] = opt.mean_gain() if is_ngm else 1.0
    j = 1
    diverged_at = None
    step = 0
    for k in range(T):
        cum = np.cumsum(sizes_tr[: k + 1])
        for _local in range(iters):
            flat = rng.integers(0, cum[-1], size=cfg.batch_size)
            which = np.searchsorted(cum, flat, side="right")
            local_idx = flat - np.concatenate(([0], cum[:-1]))[which]
            xb = np.empty((cfg.batch_size, ds.n_features), dtype=np.uint8)
            yb = np.empty(cfg.batch_size, dtype=np.int64)
            for ti in np.unique(which):
                m = which == ti
                xb[m] = tasks[ti].x_train[local_idx[m]]
                yb[m] = tasks[ti].y_train[local_idx[m]]
            x = torch.from_numpy(ds.standardise(xb))
            y = torch.from_numpy(yb)
            opt.zero_grad()
            if isinstance(opt, NGMSGD):
                opt.update_gains()
            logits = model(x)
            loss = F.cross_entropy(logits, y)
            loss.backward()
            if isinstance(opt, NGMSGD):
                opt.step(logits=logits)
                g = opt.mean_gain()
            else:
                opt.step()
                g = 1.0
            step += 1
            if pbar is not None:
                pbar.update(1)
            lval = float(loss.detach())
            if not (math.isfinite(lval) and math.isfinite(g) and g <= cfg.divergence_gain):
                diverged_at = step
                break
            if j < n_eval and its[j] == step:
                evaluate(j, k + 1)
                gain_tr[j], loss_tr[j] = g, lval
                ent_tr[j] = float(batch_entropy(logits))
                j += 1
        if diverged_at is not None:
            break
    if diverged_at is not None and pbar is not None:
        pbar.update(T * iters - step)
    return RunResult(name, int(seed), acc, gain_tr, loss_tr, ent_tr,
                     diverged=diverged_at is not None, diverged_at=diverged_at,
                     seconds=time.perf_counter() - t0)


def _metrics(result: StabilityGapResult) -> dict:
    blocks = result.eval_block
    T = len(result.task_names)
    per_run = []
    for r in result.runs:
        p = M.paper_metrics(r.acc[:, 0], blocks, T)
        d = M.delange_metrics(r.acc, blocks, T) if not r.diverged else None
        if d is None:
            d = {"min_acc": math.nan, "wc_acc": math.nan}
        fa = M.final_average_accuracy(r.acc) if not r.diverged else math.nan
        per_run.append({"optimizer": r.optimizer, "seed": r.seed, "diverged": r.diverged,
                        "diverged_at_iteration": r.diverged_at, "seconds": round(r.seconds, 3),
                        "paper": p, "delange": d, "final_avg_acc": fa})
    summary = {}
    for name in result.config.optimizers:
        runs = [m for m in per_run if m["optimizer"] == name]
        accs = [r.acc for r in result.runs if r.optimizer == name and not r.diverged]
        s = {
            "n_runs": len(runs),
            "n_diverged": sum(m["diverged"] for m in runs),
            "paper": {key: M.summarise([m["paper"][key] for m in runs])
                      for key in ("avg_sg", "avg_min_acc", "wc_acc", "final_acc")},
            "paper_sg_per_transition": [M.summarise([m["paper"]["sg"][k] for m in runs])
                                        for k in range(T - 1)],
            "delange": {key: M.summarise([m["delange"][key] for m in runs])
                        for key in ("min_acc", "wc_acc")},
            "final_avg_acc": M.summarise([m["final_avg_acc"] for m in runs]),
        }
        if accs:
            mean_curve = np.mean(np.stack([a[:, 0] for a in accs]), axis=0)
            s["paper_on_seed_mean_curve"] = M.paper_metrics(mean_curve, blocks, T)
        else:
            s["paper_on_seed_mean_curve"] = None
        summary[name] = s
    return {
        "metric_families": {
            "paper": "arXiv 2507.14056: on task 1's test accuracy curve; SG_k = (final_k - "
                     "min over block k+1)/final_k; avg_min_acc = mean of block minima (task 1's "
                     "learning block included); wc_acc = final_T/T + (1-1/T) avg_min_acc",
            "delange": "De Lange et al. 2023 (ICLR): each task on its own test set; min_acc = mean "
                       "over tasks i<T of the worst accuracy of task i after its training ended; "
                       "wc_acc = acc_T/T + (1-1/T) min_acc, at the end of training",
            "final_avg_acc": "mean over tasks of the accuracy at the last evaluation",
            "spread": "mean and sample sd (ddof=1) over seeds; diverged runs are excluded from "
                      "mean/sd and counted in n_nonfinite",
        },
        "runs": per_run,
        "summary": summary,
    }


def run_stability_gap(config: HarnessConfig, *, progress: bool = False,
                      dataset: Dataset | None = None) -> StabilityGapResult:
    """Run every (optimizer, seed) of a stability-gap experiment.

    Parameters
    ----------
    config : HarnessConfig
    progress : bool
        Show a tqdm progress bar over all training iterations.
    dataset : Dataset, optional
        Pre-loaded data (default: ``load_dataset(config.data, config.data_dir)``).

    Returns
    -------
    StabilityGapResult
        With ``metrics`` = ``{"metric_families": ..., "runs": [...], "summary": {optimizer:
        {"paper": {avg_sg, avg_min_acc, wc_acc, final_acc: {mean, std, n, n_nonfinite}},
        "paper_sg_per_transition": [...], "delange": {min_acc, wc_acc: {...}},
        "final_avg_acc": {...}, "paper_on_seed_mean_curve": {...}, "n_runs", "n_diverged"}}}``.
    """
    import torch  # noqa: F401  (fail early with ImportError if torch is missing)

    config.validate()
    ds = dataset if dataset is not None else load_dataset(config.data, config.data_dir)
    iters = config.resolved_iters()
    scen_cache = {}
    total = len(config.seeds) * len(config.optimizers)
    pbar = None
    tasks0 = make_scenario(ds, config.scenario, seed=config.seeds[0])
    n_tasks = len(tasks0)
    sched = _eval_schedule(n_tasks, iters, config.eval_every)
    if progress:
        from tqdm.auto import tqdm

        pbar = tqdm(total=total * n_tasks * iters, unit="it",
                    desc=f"{config.data}/{config.scenario}")
    result = StabilityGapResult(config=config, task_names=[t.name for t in tasks0],
                                eval_iteration=sched[0], eval_block=sched[1])
    try:
        for seed in config.seeds:
            if config.scenario == "permuted":  # permutations depend on the seed
                tasks = scen_cache.setdefault(seed, make_scenario(ds, config.scenario, seed=seed))
            else:
                tasks = tasks0
            for name in config.optimizers:
                if pbar is not None:
                    pbar.set_postfix_str(f"{name} seed {seed}")
                result.runs.append(_run_one(name, seed, config, ds, tasks, sched, pbar))
            scen_cache.pop(seed, None)
    finally:
        if pbar is not None:
            pbar.close()
    result.metrics = _metrics(result)
    return result


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


def write_results(result: StabilityGapResult, out_dir: str, *, figure: bool = True) -> dict:
    """Write ``curves.csv``, ``metrics.json`` and ``stability_gap.png`` to ``out_dir`` (atomically).

    ``curves.csv`` is tidy: one row per (optimizer, seed, evaluation, task evaluated), columns
    ``optimizer, seed, iteration, block, eval_task, eval_task_name, accuracy, mean_gain,
    train_loss, train_entropy_nats, diverged``; ``block`` and ``eval_task`` are 1-based
    (block 0 = before training). In ``metrics.json`` NaN is written as null.

    Parameters
    ----------
    result : StabilityGapResult
    out_dir : str
    figure : bool
        Also save the figure (needs matplotlib).

    Returns
    -------
    dict
        Paths written, by kind.
    """
    os.makedirs(out_dir, exist_ok=True)
    paths = {"curves": os.path.join(out_dir, "curves.csv"),
             "metrics": os.path.join(out_dir, "metrics.json")}

    def write_csv(fh):
        w = csv.writer(fh)
        w.writerow(["optimizer", "seed", "iteration", "block", "eval_task", "eval_task_name",
                    "accuracy", "mean_gain", "train_loss", "train_entropy_nats", "diverged"])
        for r in result.runs:
            for j, (it, b) in enumerate(zip(result.eval_iteration, result.eval_block)):
                for i, tname in enumerate(result.task_names):
                    a = r.acc[j, i]
                    if not math.isfinite(a):
                        continue
                    w.writerow([r.optimizer, r.seed, int(it), int(b) + 1, i + 1, tname,
                                f"{a:.6g}", f"{r.mean_gain[j]:.6g}", f"{r.train_loss[j]:.6g}",
                                f"{r.train_entropy[j]:.6g}", int(r.diverged)])

    _atomic_write(paths["curves"], write_csv)
    cfg = asdict(result.config)
    doc = {"config": cfg, "resolved": {"iters_per_task": result.config.resolved_iters(),
                                       "ngm_eta": result.config.resolved_eta()},
           "tasks": result.task_names, **result.metrics}
    try:
        from l5sim.bridge import l5sim_version

        doc["l5sim_version"] = l5sim_version()
    except ImportError:  # pragma: no cover
        pass
    _atomic_write(paths["metrics"], lambda fh: json.dump(_jsonable(doc), fh, indent=1,
                                                         allow_nan=False))
    if figure:
        fig = plot_stability_gap(result)
        paths["figure"] = os.path.join(out_dir, "stability_gap.png")
        d = os.path.abspath(out_dir)
        fd, tmp = tempfile.mkstemp(dir=d, prefix=".tmp-", suffix=".png")
        os.close(fd)
        try:
            fig.savefig(tmp, dpi=120, format="png")
            os.replace(tmp, paths["figure"])
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
            import matplotlib.pyplot as plt

            plt.close(fig)
    return paths


def plot_stability_gap(result: StabilityGapResult, axes=None, window: int | None = None):
    """Task-1 accuracy around each task boundary, seed-averaged, with the gap marked.

    One panel per transition k -> k+1. Lines: mean over non-diverged seeds; band: +-1 sd. For each
    optimizer the gap is drawn as a vertical segment from the accuracy at the end of block k
    (``final_k``) down to the minimum of block k+1, annotated with SG_k (paper's definition, on the
    seed-averaged curve).

    Parameters
    ----------
    result : StabilityGapResult
    axes : sequence of matplotlib Axes, optional
        One per transition; created if None.
    window : int, optional
        Iterations shown on each side of a boundary (default: half a block).

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib

    if axes is None:
        import matplotlib.pyplot as plt

        T = len(result.task_names)
        fig, axes = plt.subplots(1, max(T - 1, 1), figsize=(4.2 * max(T - 1, 1), 3.4),
                                 sharey=True, squeeze=False)
        axes = list(axes[0])
    else:
        axes = list(np.atleast_1d(axes))
        fig = axes[0].figure
    iters = result.config.resolved_iters()
    window = window or max(iters // 2, 1)
    its, blocks = result.eval_iteration, result.eval_block
    colors = matplotlib.rcParams["axes.prop_cycle"].by_key()["color"]
    for oi, name in enumerate(result.config.optimizers):
        curves = [r.acc[:, 0] for r in result.runs if r.optimizer == name and not r.diverged]
        if not curves:
            continue
        c = np.stack(curves)
        mu, sd = c.mean(0), c.std(0)
        col = colors[oi % len(colors)]
        for k, ax in enumerate(axes):
            b = (k + 1) * iters
            sel = (its >= b - window) & (its <= b + window)
            ax.plot(its[sel] - b, mu[sel], color=col, lw=1.2, label=name)
            if c.shape[0] > 1:
                ax.fill_between(its[sel] - b, mu[sel] - sd[sel], mu[sel] + sd[sel], color=col,
                                alpha=0.15, lw=0)
            fin_j = np.flatnonzero(blocks == k)[-1]
            nxt = np.flatnonzero(blocks == k + 1)
            if nxt.size:
                m_j = nxt[np.argmin(mu[nxt])]
                x_min = its[m_j] - b
                if x_min <= window:
                    ax.plot([x_min, x_min], [mu[fin_j], mu[m_j]], color=col, lw=2.0, alpha=0.8)
                    ax.plot([x_min], [mu[m_j]], "v", color=col, ms=5)
                sg = (mu[fin_j] - mu[m_j]) / mu[fin_j]
                ax.annotate(f"SG={sg:.3f}", xy=(0.98, 0.04 + 0.08 * oi), xycoords="axes fraction",
                            ha="right", fontsize=7, color=col)
    for k, ax in enumerate(axes):
        ax.axvline(0, color="0.5", ls="--", lw=0.8)
        nm = result.task_names
        if k + 1 < len(nm):
            ax.set_title(f"{nm[k]} -> {nm[k + 1]}", fontsize=9)
        ax.set_xlabel("iterations from task boundary")
    axes[0].set_ylabel(f"task-1 test accuracy ({result.task_names[0]})")
    axes[0].legend(fontsize=7, loc="lower left")
    fig.suptitle(f"{result.config.data} / {result.config.scenario}: stability gap "
                 f"(mean over seeds, +-1 sd; gap = final_k to min of block k+1)", fontsize=9)
    fig.tight_layout()
    return fig


def metrics_table_markdown(metrics: dict) -> str:
    """A Markdown table of a ``metrics.json`` document (or ``StabilityGapResult.metrics``).

    Columns: the paper's family (avg-SG per seed and on the seed-averaged curve, avg-min-ACC,
    WC-ACC), De Lange's family (min-ACC, WC-ACC), final average accuracy and the number of
    diverged runs. Cells are ``mean +- sd`` over non-diverged seeds.

    Parameters
    ----------
    metrics : dict
        With a ``summary`` mapping optimizer name to its summary.

    Returns
    -------
    str
    """
    def ms(s):
        if s is None or s.get("mean") is None or not math.isfinite(s["mean"]):
            return "n/a"
        sd = s.get("std")
        return f"{s['mean']:.3f} ± {sd:.3f}" if sd is not None and math.isfinite(sd) else f"{s['mean']:.3f}"

    head = ("| optimizer | paper avg-SG | paper avg-SG (seed-mean curve) | paper avg-min-ACC | "
            "paper WC-ACC | De Lange min-ACC | De Lange WC-ACC | final avg acc | diverged |\n"
            "|---|---|---|---|---|---|---|---|---|\n")
    rows = []
    for name, s in metrics["summary"].items():
        pm = s.get("paper_on_seed_mean_curve") or {}
        avg_curve = pm.get("avg_sg")
        rows.append(
            f"| {name} | {ms(s['paper']['avg_sg'])} | "
            f"{'n/a' if avg_curve is None else f'{avg_curve:.3f}'} | "
            f"{ms(s['paper']['avg_min_acc'])} | {ms(s['paper']['wc_acc'])} | "
            f"{ms(s['delange']['min_acc'])} | {ms(s['delange']['wc_acc'])} | "
            f"{ms(s['final_avg_acc'])} | {s['n_diverged']}/{s['n_runs']} |")
    return head + "\n".join(rows) + "\n"
