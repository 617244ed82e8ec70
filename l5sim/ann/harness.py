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

import csv
import json
import math
import os
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field

import numpy as np

from . import metrics as M
from .data import (FIXED_TASK_SEED, Dataset, Task, check_normalize, load_dataset,
                            make_scenario, resplit)
from ..errors import L5SimError

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

OPTIMIZER_NAMES = ("sgd", "momentum-sgd", "adam", "ngm-sgd", "ngm-sgd-bridge", "ngm-sgd-bridge-lr")
#: Iterations per task in the paper (Split/Permuted MNIST 200, Rotated MNIST 400, CIFAR 400).
PAPER_ITERS_PER_TASK = {"split": 200, "permuted": 200, "rotated": 400}
PAPER_ITERS_PER_TASK_CIFAR = 400
#: Batch size in the paper (MNIST 128, CIFAR 256).
PAPER_BATCH = {"mlp": 128, "resnet18": 256}
#: Seeds of the paper's runs.
PAPER_SEEDS = (42, 43, 44, 45, 46)
#: Accepted values of ``device``.
DEVICES = ("auto", "cpu", "cuda")
#: Accepted values of ``data_seeding``.
DATA_SEEDINGS = ("auto", "fixed", "per-seed")
#: Accepted values of ``model``.
MODELS = ("auto", "mlp", "resnet18")
#: Test images per forward pass at evaluation (bounds memory; does not change the result).
EVAL_CHUNK = 2048
CIFAR_DATA = ("cifar10", "cifar100")


def resolve_device(device: str) -> str:
    """``"auto"`` -> ``"cuda"`` if available else ``"cpu"``; ``"cuda"`` without CUDA is an error."""
    import torch

    if device not in DEVICES:
        raise L5SimError(f"device: got {device!r}; expected one of {DEVICES}")
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise L5SimError("device: got 'cuda'; expected a CUDA-capable torch build and GPU "
                         "(torch.cuda.is_available() is False); use --device cpu or auto")
    return device


@dataclass(frozen=True)
class HarnessConfig:
    """Settings of a stability-gap experiment (defaults: the paper's settings).

    Attributes
    ----------
    data : str
        ``"digits"``, ``"fashion-mnist"``, ``"mnist"``, ``"cifar10"`` or ``"cifar100"``.
    scenario : str
        ``"rotated"``, ``"permuted"``, ``"split"`` or ``"domain"`` (CIFAR-100).
    optimizers : tuple of str
        Names from :data:`OPTIMIZER_NAMES`.
    seeds : tuple of int
        One run per seed and optimizer (paper: 42-46).
    iters_per_task : int or None
        Training iterations per task; None = the paper's (MNIST: rotated 400, else 200; CIFAR 400).
    batch_size : int or None
        Mini-batch size; None = the paper's (128 with the MLP, 256 with the ResNet).
    lr : float
        Learning rate of every optimizer (paper: 0.01, Adam included).
    momentum : float
        Momentum of ``momentum-sgd`` and of NGM-SGD's ResNet backbone (paper: 0.9).
    hidden : tuple of int
        Hidden layer widths of the MLP (paper: 400, 400).
    gamma, g0 : float
        NGM-SGD decay per iteration and baseline gain (paper: 0.9, 1).
    eta : float or None
        NGM-SGD entropy sensitivity; None = the paper's value for the scenario (MNIST: rotated
        0.5, split 0.4, permuted 0.3; CIFAR: split 0.2, domain 0.1).
    bridge : str or None
        Bridge file for ``ngm-sgd-bridge`` / ``ngm-sgd-bridge-lr``.
    gain_layers : str
        Which MLP layers carry gains for NGM-SGD: ``"all"`` (paper's MLP) or ``"head"``. The ResNet
        always has its gain on the head only (paper).
    model : str
        ``"auto"`` (MLP for grey-level data, ResNet for CIFAR), ``"mlp"`` or ``"resnet18"``.
    resnet_nf : int
        Filters of the ResNet's first stage (Lopez-Paz & Ranzato 2017 and the paper: 20).
    eval_every : int
        Evaluate after every ``eval_every``-th step of a block (and after its last step).
    eval_samples : int or None
        Test images per task used at each evaluation (a fixed random subset per seed); None = all.
    eval_all_tasks : bool
        Evaluate every task at every evaluation (full-length curves, default) or only the tasks
        seen so far.
    data_dir : str or None
        Directory of the idx or CIFAR binary files (``--data-dir``).
    normalize : str
        Input preprocessing, ``"standardize"`` (the paper's, default) or ``"none"``
        (:mod:`l5sim.ann.data`).
    data_seeding : str
        ``"fixed"``: every seed sees the same tasks (the paper's code: official split,
        permutations from seed 42, classes in order); ``"per-seed"``: the run seed also draws the
        digits' train/test split, the permutations and the class order; ``"auto"`` (default):
        per-seed for the digits (no official split to follow), fixed otherwise.
    diverge_patience : int or None
        Length of the sliding window (iterations) over which a run's accuracy on the current
        context (tasks 1..k, in any block) is averaged for the at-chance check; None = half a
        block.
    diverge_margin : float
        Accuracy above chance (1 / classes seen so far) still counted as "at chance", fraction.
    diverge_loss_drop : float
        A run at chance is still learning -- and not marked -- if its training loss fell by more
        than this fraction over those iterations (mean of the last fifth against the first).
        Default 0.1 %: plain SGD on its initial plateau (the paper's small initialisation) falls
        by about 1 % per 100 iterations; a dead network (all outputs equal, loss = ln classes, as
        NGM-SGD whose gain ran away to its ceiling) does not fall at all.
    device : str
        ``"auto"``, ``"cpu"`` or ``"cuda"``.
    log_every : int
        Print a progress line every ``log_every`` iterations (0 = never).
    """

    data: str = "digits"
    scenario: str = "rotated"
    optimizers: tuple = ("sgd", "momentum-sgd", "adam", "ngm-sgd")
    seeds: tuple = PAPER_SEEDS
    iters_per_task: int | None = None
    batch_size: int | None = None
    lr: float = 0.01
    momentum: float = 0.9
    hidden: tuple = (400, 400)
    gamma: float = 0.9
    g0: float = 1.0
    eta: float | None = None
    bridge: str | None = None
    gain_layers: str = "all"
    model: str = "auto"
    resnet_nf: int = 20
    eval_every: int = 1
    eval_samples: int | None = None
    eval_all_tasks: bool = True
    data_dir: str | None = None
    normalize: str = "standardize"
    data_seeding: str = "auto"
    diverge_patience: int | None = None
    diverge_margin: float = 0.05
    diverge_loss_drop: float = 0.001
    device: str = "auto"
    log_every: int = 0

    @property
    def is_cifar(self) -> bool:
        return self.data in CIFAR_DATA

    def resolved_model(self) -> str:
        """``"mlp"`` or ``"resnet18"`` after applying the default."""
        if self.model != "auto":
            return self.model
        return "resnet18" if self.is_cifar else "mlp"

    def resolved_iters(self) -> int:
        """Iterations per task after applying the paper's default."""
        if self.iters_per_task:
            return int(self.iters_per_task)
        return PAPER_ITERS_PER_TASK_CIFAR if self.is_cifar else PAPER_ITERS_PER_TASK[self.scenario]

    def resolved_batch(self) -> int:
        """Batch size after applying the paper's default."""
        return int(self.batch_size or PAPER_BATCH[self.resolved_model()])

    def resolved_eta(self) -> float:
        """NGM-SGD's eta after applying the paper's per-scenario default."""
        from .optim import PAPER_ETA, PAPER_ETA_CIFAR

        if self.eta is not None:
            return float(self.eta)
        table = PAPER_ETA_CIFAR if self.is_cifar else PAPER_ETA
        if self.scenario not in table:
            raise L5SimError(f"eta: no published value for {self.data}/{self.scenario}; "
                             f"expected --eta (published: {table})")
        return float(table[self.scenario])

    def resolved_seeding(self) -> str:
        """``"fixed"`` or ``"per-seed"`` after applying the default."""
        if self.data_seeding != "auto":
            return self.data_seeding
        return "per-seed" if self.data == "digits" else "fixed"

    def resolved_patience(self) -> int:
        """Iterations at chance before a run is marked diverged."""
        return int(self.diverge_patience or max(self.resolved_iters() // 2, 1))

    def validate(self) -> None:
        """Raise :class:`L5SimError` naming the first invalid field."""
        from .data import DATASETS, SCENARIOS

        if self.data not in DATASETS:
            raise L5SimError(f"data: got {self.data!r}; expected one of {DATASETS}")
        if self.scenario not in SCENARIOS:
            raise L5SimError(f"scenario: got {self.scenario!r}; expected one of {SCENARIOS}")
        if self.scenario == "domain" and self.data != "cifar100":
            raise L5SimError(f"scenario: got 'domain' with data {self.data!r}; expected data "
                             "'cifar100'")
        if self.scenario == "rotated" and self.is_cifar:
            raise L5SimError(f"scenario: got 'rotated' with data {self.data!r}; expected a "
                             "grey-level dataset")
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
        for name in ("eval_every",):
            v = getattr(self, name)
            if not isinstance(v, int) or v < 1:
                raise L5SimError(f"{name}: got {v!r}; expected an integer >= 1")
        if not isinstance(self.resnet_nf, int) or self.resnet_nf < 1:
            raise L5SimError(f"resnet_nf: got {self.resnet_nf!r}; expected an integer >= 1")
        for name in ("batch_size", "iters_per_task", "eval_samples", "diverge_patience"):
            v = getattr(self, name)
            if v is not None and (not isinstance(v, int) or v < 1):
                raise L5SimError(f"{name}: got {v!r}; expected an integer >= 1 or None")
        if not isinstance(self.log_every, int) or self.log_every < 0:
            raise L5SimError(f"log_every: got {self.log_every!r}; expected an integer >= 0")
        if not (isinstance(self.lr, (int, float)) and self.lr > 0 and math.isfinite(self.lr)):
            raise L5SimError(f"lr: got {self.lr!r}; expected a finite number > 0")
        if not 0.0 <= self.diverge_loss_drop < 1.0:
            raise L5SimError(f"diverge_loss_drop: got {self.diverge_loss_drop!r}; expected 0 <= drop < 1")
        if not 0.0 <= self.diverge_margin < 1.0:
            raise L5SimError(f"diverge_margin: got {self.diverge_margin!r}; expected 0 <= margin < 1")
        if self.gain_layers not in ("all", "head"):
            raise L5SimError(f"gain_layers: got {self.gain_layers!r}; expected 'all' or 'head'")
        if self.model not in MODELS:
            raise L5SimError(f"model: got {self.model!r}; expected one of {MODELS}")
        if self.resolved_model() == "resnet18" and not self.is_cifar:
            raise L5SimError(f"model: got 'resnet18' with data {self.data!r}; expected CIFAR "
                             "(32x32 colour images)")
        if self.data_seeding not in DATA_SEEDINGS:
            raise L5SimError(f"data_seeding: got {self.data_seeding!r}; expected one of "
                             f"{DATA_SEEDINGS}")
        if self.device not in DEVICES:
            raise L5SimError(f"device: got {self.device!r}; expected one of {DEVICES}")
        check_normalize(self.normalize)
        if any(o == "ngm-sgd" for o in self.optimizers):
            self.resolved_eta()


@dataclass
class RunResult:
    """One (optimizer, seed) run.

    Attributes
    ----------
    optimizer : str
    seed : int
    acc : numpy.ndarray, shape (n_evals, T)
        Test accuracy of each task at each evaluation, fraction; NaN where not evaluated (tasks
        not yet seen, with ``eval_all_tasks=False``) or after divergence.
    mean_gain : numpy.ndarray, shape (n_evals,)
        Mean NGM gain at each evaluation (1 for optimizers without gains).
    train_loss, train_entropy : numpy.ndarray, shape (n_evals,)
        Cross-entropy loss and mean softmax entropy (nats) of the last training batch.
    diverged : bool
    diverged_at : int or None
        Iteration (1-based) at which divergence was detected.
    diverged_reason : str or None
        ``"nonfinite"`` or ``"at_chance"`` (module docstring).
    seconds_train, seconds_eval : float
        Wall-clock time spent training and evaluating, s.
    """

    optimizer: str
    seed: int
    acc: np.ndarray
    mean_gain: np.ndarray
    train_loss: np.ndarray
    train_entropy: np.ndarray
    diverged: bool = False
    diverged_at: int | None = None
    diverged_reason: str | None = None
    seconds_train: float = 0.0
    seconds_eval: float = 0.0


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
    device : str
        The device the runs used.
    data_info : dict
        Per seed: the dataset source and the preprocessing statistics used.
    """

    config: HarnessConfig
    task_names: list
    eval_iteration: np.ndarray
    eval_block: np.ndarray
    runs: list = field(default_factory=list)
    metrics: dict = field(default_factory=dict)
    device: str = "cpu"
    data_info: dict = field(default_factory=dict)


def _eval_schedule(n_tasks: int, iters: int, every: int):
    its, blocks = [0], [-1]
    for k in range(n_tasks):
        for local in range(iters):
            if (local + 1) % every == 0 or local == iters - 1:
                its.append(k * iters + local + 1)
                blocks.append(k)
    return np.asarray(its, dtype=np.int64), np.asarray(blocks, dtype=np.int64)


def _make_model(name: str, cfg: HarnessConfig, ds: Dataset, g0: float):
    from .gain import GainMLP
    from .resnet import SlimResNet18

    is_ngm = name.startswith("ngm-sgd")
    if cfg.resolved_model() == "resnet18":
        c, h, w = ds.image_shape
        if h != w:
            raise L5SimError(f"model: resnet18 needs square images; got {ds.image_shape}")
        return SlimResNet18(n_classes=ds.n_classes, nf=cfg.resnet_nf, in_channels=c,
                            image_size=h, gained_head=is_ngm, g0=g0)
    sizes = (ds.n_features, *cfg.hidden, ds.n_classes)
    return GainMLP(sizes, gain_layers=cfg.gain_layers if is_ngm else "none", g0=g0)


def _make_optimizer(name, model, cfg: HarnessConfig):
    import torch

    from .optim import NGMSGD

    params = model.weight_parameters()
    if name == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr)
    if name == "momentum-sgd":
        return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum)
    if name == "adam":
        return torch.optim.Adam(params, lr=cfg.lr)
    if hasattr(model, "param_groups_backbone_head"):
        # ResNet: momentum on the backbone, none on the gained head (authors' code, ex5.py)
        backbone, head = model.param_groups_backbone_head()
        params = [{"params": backbone, "momentum": cfg.momentum}, {"params": head, "momentum": 0.0}]
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
        from ..bridge import optimizer_params

        return optimizer_params(cfg.bridge)["g0"]
    return 1.0


class _DeviceData:
    """One seed's tasks on the device: the training images of all tasks concatenated (uint8)
    and the preprocessed evaluation sets, with the preprocessing done on the device."""

    def __init__(self, ds: Dataset, tasks: list[Task], cfg: HarnessConfig, device, seed: int):
        import torch

        self.device = device
        self.scale = float(ds.scale)
        self.n_channels = ds.n_channels
        self.normalize = cfg.normalize
        self.mean = torch.tensor(ds.mean, dtype=torch.float32, device=device).reshape(1, -1, 1)
        self.std = torch.tensor(ds.std, dtype=torch.float32, device=device).reshape(1, -1, 1)
        self.x_train = torch.from_numpy(np.concatenate([t.x_train for t in tasks])).to(device)
        self.y_train = torch.from_numpy(np.concatenate([t.y_train for t in tasks])).to(device)
        self.cum = np.cumsum([t.y_train.size for t in tasks])
        rng_eval = np.random.default_rng(np.random.SeedSequence(int(seed)).spawn(2)[1])
        self.eval_sets = []
        for t in tasks:
            n = t.y_test.size
            idx = (np.sort(rng_eval.choice(n, cfg.eval_samples, replace=False))
                   if cfg.eval_samples is not None and cfg.eval_samples < n else np.arange(n))
            x = torch.from_numpy(np.ascontiguousarray(t.x_test[idx])).to(device)
            self.eval_sets.append((self.preprocess(x), torch.from_numpy(t.y_test[idx]).to(device)))

    def preprocess(self, x_uint8):
        """Raw uint8 pixels (n, n_features) -> float32 inputs, on the device (as
        :meth:`l5sim.ann.data.Dataset.preprocess`)."""
        import torch

        x = x_uint8.to(torch.float32) / self.scale
        if self.normalize == "none":
            return x
        n = x.shape[0]
        return ((x.reshape(n, self.n_channels, -1) - self.mean) / self.std).reshape(x.shape)

    def batch(self, flat_idx: np.ndarray):
        import torch

        idx = torch.from_numpy(flat_idx).to(self.device)
        return self.preprocess(self.x_train[idx]), self.y_train[idx]


def _accuracy(model, x, y) -> float:
    import torch

    correct = torch.zeros((), dtype=torch.int64, device=x.device)
    for s in range(0, x.shape[0], EVAL_CHUNK):
        correct += (model(x[s:s + EVAL_CHUNK]).argmax(1) == y[s:s + EVAL_CHUNK]).sum()
    return float(correct) / x.shape[0]


def _log_line(name, seed, step, total, k, loss, accs, gain) -> str:
    acc_txt = " ".join("-" if not math.isfinite(a) else f"{a:.3f}" for a in accs)
    return (f"{name} seed {seed} it {step}/{total} task {k + 1} loss {loss:.4f} "
            f"acc per task [{acc_txt}] mean gain {gain:.3f}")


def _not_learning(losses: list, min_drop: float) -> bool:
    """True unless the training loss fell by more than ``min_drop`` (fraction) over the window:
    mean of its last fifth against mean of its first fifth (single-batch losses are noisy)."""
    n = max(len(losses) // 5, 1)
    first, last = float(np.mean(losses[:n])), float(np.mean(losses[-n:]))
    return not last < (1.0 - min_drop) * first


def _run_one(name, seed, cfg, ds: Dataset, tasks: list[Task], sched, data: _DeviceData,
             pbar=None, log=None) -> RunResult:
    import torch
    from torch.nn import functional as F

    from .optim import NGMSGD, batch_entropy

    its, blocks = sched
    T, iters = len(tasks), cfg.resolved_iters()
    bs = cfg.resolved_batch()
    n_eval = its.size
    acc = np.full((n_eval, T), np.nan)
    gain_tr = np.full(n_eval, np.nan)
    loss_tr = np.full(n_eval, np.nan)
    ent_tr = np.full(n_eval, np.nan)
    # chance on the current context (the union of tasks 1..k, the data being trained on):
    # 1 / number of classes seen so far
    chance = [1.0 / len(set().union(*(t.classes for t in tasks[:k + 1]))) for k in range(T)]
    patience = cfg.resolved_patience()
    t_eval = 0.0
    t0 = time.perf_counter()

    rng = np.random.default_rng(np.random.SeedSequence(int(seed)).spawn(2)[0])
    torch.manual_seed(int(seed))
    is_ngm = name.startswith("ngm-sgd")
    model = _make_model(name, cfg, ds, _initial_g0(name, cfg)).to(data.device)
    opt = _make_optimizer(name, model, cfg)

    def evaluate(j, k):
        nonlocal t_eval
        te = time.perf_counter()
        model.eval()
        n = T if cfg.eval_all_tasks else k + 1
        with torch.no_grad():
            for i in range(n):
                acc[j, i] = _accuracy(model, *data.eval_sets[i])
        model.train()
        t_eval += time.perf_counter() - te

    evaluate(0, 0)
    gain_tr[0] = opt.mean_gain() if is_ngm else 1.0
    j, step = 1, 0
    diverged_at = reason = None
    total = T * iters
    lval, g = math.nan, gain_tr[0]
    for k in range(T):
        # (iteration, accuracy above chance, loss) of this block: a window never spans a task
        # boundary, where the loss jumps up as new data enter the batches
        window = []
        hi = int(data.cum[k])
        for _local in range(iters):
            x, y = data.batch(rng.integers(0, hi, size=bs))
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
            if not (math.isfinite(lval) and math.isfinite(g)):
                diverged_at, reason = step, "nonfinite"
                break
            if j < n_eval and its[j] == step:
                evaluate(j, k)
                gain_tr[j], loss_tr[j] = g, lval
                ent_tr[j] = float(batch_entropy(logits))
                # the at-chance check, in every block (task 1's too), on a sliding window of the
                # block's last `patience` iterations: mean accuracy on the current context above
                # chance, and the training loss (the loss of a run whose logits blew up first falls back
                # to ln(classes) as it dies; a dying run may flicker above chance now and then)
                window.append((step, float(np.mean(acc[j, :k + 1])) - chance[k], lval))
                window = [w for w in window if w[0] > step - patience]
                if step - k * iters >= patience \
                        and float(np.mean([w[1] for w in window])) <= cfg.diverge_margin \
                        and _not_learning([w[2] for w in window], cfg.diverge_loss_drop):
                    diverged_at, reason = step, "at_chance"
                j += 1
            if log is not None and cfg.log_every and step % cfg.log_every == 0:
                log(_log_line(name, seed, step, total, k, lval, acc[j - 1], g))
            if diverged_at is not None:
                break
        if diverged_at is not None:
            break
    if diverged_at is not None:
        acc[j:] = np.nan  # nothing after the stop is a measurement
        if pbar is not None:
            pbar.update(total - step)
        if log is not None:
            log(f"{name} seed {seed} DIVERGED ({reason}) at iteration {diverged_at}: loss "
                f"{lval:.4g}, mean gain {g:.4g}")
    seconds = time.perf_counter() - t0
    return RunResult(name, int(seed), acc, gain_tr, loss_tr, ent_tr,
                     diverged=diverged_at is not None, diverged_at=diverged_at,
                     diverged_reason=reason, seconds_train=seconds - t_eval, seconds_eval=t_eval)


#: Convention of every "sd" in the metrics (stated in metrics.json).
SD_CONVENTION = ("sample standard deviation over the non-diverged seeds, ddof = 1 "
                 "(numpy.std(ddof=1)); null when fewer than 2 seeds")


def _metrics(result: StabilityGapResult) -> dict:
    blocks = result.eval_block
    T = len(result.task_names)
    nan_p = {"avg_sg": math.nan, "avg_min_acc": math.nan, "wc_acc": math.nan,
             "final_acc": math.nan, "sg": [math.nan] * (T - 1), "final": None, "block_min": None}
    per_run = []
    for r in result.runs:
        if r.diverged:
            p, d, fa = dict(nan_p), {"min_acc": math.nan, "wc_acc": math.nan}, math.nan
        else:
            p = M.paper_metrics(r.acc[:, 0], blocks, T)
            d = M.delange_metrics(r.acc, blocks, T)
            fa = M.final_average_accuracy(r.acc)
        per_run.append({"optimizer": r.optimizer, "seed": r.seed, "diverged": r.diverged,
                        "diverged_reason": r.diverged_reason,
                        "diverged_at_iteration": r.diverged_at,
                        "seconds_train": round(r.seconds_train, 3),
                        "seconds_eval": round(r.seconds_eval, 3),
                        "paper": p, "delange": d, "task1_final_acc": p["final_acc"],
                        "mean_final_acc": fa})
    summary = {}
    for name in result.config.optimizers:
        runs = [m for m in per_run if m["optimizer"] == name]
        accs = [r.acc for r in result.runs if r.optimizer == name and not r.diverged]
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
        summary[name] = s
    return {
        "metric_families": {
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
        },
        "runs": per_run,
        "summary": summary,
    }


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
    sched = _eval_schedule(n_tasks, iters, config.eval_every)
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
            data = _DeviceData(ds, tasks, config, device, seed)
            for name in config.optimizers:
                if pbar is not None:
                    pbar.set_postfix_str(f"{name} seed {seed}")
                result.runs.append(_run_one(name, seed, config, ds, tasks, sched, data, pbar, log))
            del data
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
