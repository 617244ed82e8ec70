"""Settings of a stability-gap experiment: :class:`HarnessConfig`, its accepted values and the
paper's defaults (arXiv 2507.14056; the protocol is described in :mod:`l5sim.ann.harness`).

Importing this module needs NumPy only; torch is imported to resolve a device
(:func:`resolve_device`) and the paper's eta (:meth:`HarnessConfig.resolved_eta`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from ..errors import L5SimError
from .datasets import check_normalize
from .loaders import DATASETS
from .scenarios import SCENARIOS

__all__ = [
    "HarnessConfig",
    "OPTIMIZER_NAMES",
    "PAPER_ITERS_PER_TASK",
    "PAPER_ITERS_PER_TASK_CIFAR",
    "PAPER_BATCH",
    "PAPER_SEEDS",
    "DEVICES",
    "DATA_SEEDINGS",
    "MODELS",
    "CIFAR_DATA",
    "EVAL_CHUNK",
    "resolve_device",
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
#: Datasets that are CIFAR (the ResNet by default; the CIFAR defaults of eta, batch and iterations).
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

