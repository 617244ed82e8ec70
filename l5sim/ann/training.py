"""One training run of the stability-gap harness (needs torch): an (optimizer, seed) pair trained
through every task's block, evaluated on the schedule, checked for divergence; and the records
of a run and of an experiment.

The protocol, the seeding and the divergence criteria are described in
:mod:`l5sim.ann.harness`; :func:`run_one` is the loop they describe.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from ..errors import L5SimError
from .config import EVAL_CHUNK, OPTIMIZER_NAMES, HarnessConfig
from .datasets import Dataset, Task

__all__ = ["RunResult", "StabilityGapResult", "DeviceData", "eval_schedule", "run_one"]


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


def eval_schedule(n_tasks: int, iters: int, every: int):
    """The evaluation schedule: after every ``every``-th step of each block and after its last.

    Parameters
    ----------
    n_tasks : int
        Number of tasks (blocks).
    iters : int
        Training iterations per block.
    every : int
        Evaluation period within a block, iterations.

    Returns
    -------
    iterations : numpy.ndarray of int64
        Training steps completed at each evaluation (0 first: before training).
    blocks : numpy.ndarray of int64
        0-based block being trained at each evaluation (-1 before training).
    """
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


class DeviceData:
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
        :meth:`l5sim.ann.datasets.Dataset.preprocess`)."""
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


def run_one(name, seed, cfg, ds: Dataset, tasks: list[Task], sched, data: DeviceData,
            pbar=None, log=None) -> RunResult:
    """Train one optimizer from one seed through every block and evaluate it on the schedule.

    Parameters
    ----------
    name : str
        Optimizer name (:data:`~l5sim.ann.config.OPTIMIZER_NAMES`).
    seed : int
        Run seed: weight initialisation, batch sampler and evaluation subsets.
    cfg : HarnessConfig
    ds : Dataset
        The seed's dataset (image shape, classes).
    tasks : list of Task
        The seed's tasks, in training order.
    sched : tuple of numpy.ndarray
        ``(iterations, blocks)`` from :func:`eval_schedule`.
    data : DeviceData
        The seed's tasks on the device.
    pbar : tqdm progress bar, optional
        Advanced by one per training iteration.
    log : callable, optional
        Receives the progress lines and the divergence line.

    Returns
    -------
    RunResult
        Stopped early, with ``diverged`` set, when the divergence check fires.
    """
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

