"""Continual-learning scenarios built from a :class:`~l5sim.ann.datasets.Dataset`
(:func:`make_scenario`).

Scenarios (arXiv 2507.14056, section "Experiments"; De Lange et al. 2023):

- ``"rotated"``: domain-incremental, the same 10 classes rotated by 0, 80 and 160 degrees.
- ``"permuted"``: domain-incremental, 3 tasks; task 1 is the original image, tasks 2 and 3 apply a
  fixed random pixel permutation drawn from the scenario seed.
- ``"split"``: class-incremental, 2-class tasks (0,1), (2,3), ...; the network keeps all 10
  outputs throughout (Split-MNIST and Split-CIFAR-10, 5 tasks).
- ``"domain"`` (CIFAR-100 only): 3 tasks, each the 5 fine classes of one superclass -- aquatic
  mammals, fish, flowers (coarse labels 0, 1, 2), trained on the 100 fine labels, as in the
  authors' code for Domain-CIFAR-100 (``experiments/ex5.py``).

Seeding of the task construction (``seed`` of :func:`make_scenario`; the harness's
``data_seeding``): the paper's code draws its two permutations once (``RandomState(42)``), keeps
the classes in order and uses the official train/test split, so that every seed sees the same
tasks; :func:`~l5sim.ann.loaders.resplit` redraws a stratified train/test split from a seed (for
the 8x8 digits, which have no official split).
"""
from __future__ import annotations

import numpy as np

from ..errors import L5SimError
from .datasets import Dataset, Task

__all__ = ["SCENARIOS", "FIXED_TASK_SEED", "DOMAIN_CIFAR100_SUPERCLASSES", "ROTATION_ANGLES_DEG",
           "N_PERMUTED_TASKS", "make_scenario"]

#: Scenario names accepted by :func:`make_scenario`.
SCENARIOS = ("rotated", "permuted", "split", "domain")
#: Seed of the task construction when it does not vary with the run seed (the paper's code draws
#: its permutations from ``np.random.RandomState(42)``).
FIXED_TASK_SEED = 42
#: Superclasses (CIFAR-100 coarse labels) of Domain-CIFAR-100's 3 tasks, in training order:
#: aquatic mammals, fish, flowers (authors' code, ``experiments/ex5.py``).
DOMAIN_CIFAR100_SUPERCLASSES = (0, 1, 2)
#: Rotation angles of the rotated scenario, degrees (arXiv 2507.14056: 0/80/160).
ROTATION_ANGLES_DEG = (0.0, 80.0, 160.0)
#: Number of tasks of the permuted scenario (arXiv 2507.14056).
N_PERMUTED_TASKS = 3


def _rotate(images: np.ndarray, angle_deg: float) -> np.ndarray:
    """Rotate a stack of uint8 images (n, h, w) about their centre, bilinear, zero fill."""
    if angle_deg % 360.0 == 0.0:
        return images.copy()
    from scipy import ndimage

    out = ndimage.rotate(images.astype(np.float32), angle_deg, axes=(1, 2), reshape=False,
                         order=1, mode="constant", cval=0.0)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def make_scenario(dataset: Dataset, name: str, seed: int = FIXED_TASK_SEED, *,
                  angles_deg: tuple = ROTATION_ANGLES_DEG,
                  n_permuted: int = N_PERMUTED_TASKS,
                  classes_per_task: int = 2,
                  shuffle_classes: bool = False,
                  superclasses: tuple = DOMAIN_CIFAR100_SUPERCLASSES) -> list[Task]:
    """Build the tasks of a continual-learning scenario.

    Parameters
    ----------
    dataset : Dataset
        Source images.
    name : {"rotated", "permuted", "split", "domain"}
        Scenario. ``rotated`` and ``permuted`` are domain-incremental (all classes in every task,
        the input distribution changes); ``split`` is class-incremental (disjoint class groups);
        ``domain`` (CIFAR-100) takes one superclass's fine classes per task.
    seed : int
        Seed of the task construction: the pixel permutations (``permuted``; task 1 is always the
        identity) and, with ``shuffle_classes``, the class order (``split``) or superclass order
        (``domain``). Default :data:`FIXED_TASK_SEED`, the paper's fixed construction.
    angles_deg : tuple of float
        Rotation angle of each task, degrees (default 0, 80, 160, arXiv 2507.14056).
    n_permuted : int
        Number of permuted tasks (default 3).
    classes_per_task : int
        Classes per task of the split scenario (default 2).
    shuffle_classes : bool
        Draw the class order (split) or superclass order (domain) from ``seed`` instead of the
        paper's fixed order.
    superclasses : tuple of int
        CIFAR-100 coarse labels of the domain scenario's tasks (default aquatic mammals, fish,
        flowers).

    Returns
    -------
    list of Task
        In training order. Images are flattened to (n, n_features) uint8, channels first.

    Raises
    ------
    L5SimError
        If the scenario name or a parameter is invalid.
    """
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0x9E37]))
    if name == "rotated":
        return _rotated_tasks(dataset, angles_deg)
    if name == "permuted":
        return _permuted_tasks(dataset, n_permuted, rng)
    if name == "split":
        return _split_tasks(dataset, classes_per_task, shuffle_classes, rng)
    if name == "domain":
        return _domain_tasks(dataset, superclasses, shuffle_classes, rng)
    raise L5SimError(f"scenario: got {name!r}; expected one of {SCENARIOS}")


def _rotated_tasks(dataset: Dataset, angles_deg: tuple) -> list[Task]:
    """One task per angle: every image rotated, all classes."""
    if len(angles_deg) < 2:
        raise L5SimError(f"angles_deg: got {angles_deg!r}; expected at least 2 angles")
    if dataset.x_train.ndim != 3:
        raise L5SimError(f"scenario: got 'rotated' for {dataset.name!r} (colour images); "
                         "expected a grey-level dataset (digits, mnist, fashion-mnist)")
    n_tr, n_te = dataset.x_train.shape[0], dataset.x_test.shape[0]
    all_classes = tuple(range(dataset.n_classes))
    return [Task(name=f"rot{a:g}",
                 x_train=_rotate(dataset.x_train, a).reshape(n_tr, -1),
                 y_train=dataset.y_train,
                 x_test=_rotate(dataset.x_test, a).reshape(n_te, -1),
                 y_test=dataset.y_test,
                 classes=all_classes)
            for a in angles_deg]


def _permuted_tasks(dataset: Dataset, n_permuted: int, rng) -> list[Task]:
    """Task 1 the original images, each later task a fixed pixel permutation drawn from ``rng``."""
    if n_permuted < 2:
        raise L5SimError(f"n_permuted: got {n_permuted!r}; expected an int >= 2")
    n_tr, n_te = dataset.x_train.shape[0], dataset.x_test.shape[0]
    all_classes = tuple(range(dataset.n_classes))
    d = dataset.n_features
    xtr = dataset.x_train.reshape(n_tr, d)
    xte = dataset.x_test.reshape(n_te, d)
    tasks = []
    for k in range(n_permuted):
        perm = np.arange(d) if k == 0 else rng.permutation(d)
        tasks.append(Task(name=f"perm{k}", x_train=np.ascontiguousarray(xtr[:, perm]),
                          y_train=dataset.y_train, x_test=np.ascontiguousarray(xte[:, perm]),
                          y_test=dataset.y_test, classes=all_classes))
    return tasks


def _split_tasks(dataset: Dataset, classes_per_task: int, shuffle_classes: bool, rng) -> list[Task]:
    """Disjoint groups of ``classes_per_task`` classes, in label order or drawn from ``rng``."""
    if classes_per_task < 1 or dataset.n_classes % classes_per_task:
        raise L5SimError(f"classes_per_task: got {classes_per_task!r}; expected a divisor of "
                         f"the number of classes {dataset.n_classes}")
    order = rng.permutation(dataset.n_classes) if shuffle_classes else np.arange(dataset.n_classes)
    tasks = []
    for start in range(0, dataset.n_classes, classes_per_task):
        cls = tuple(sorted(int(c) for c in order[start:start + classes_per_task]))
        tasks.append(_class_task(dataset, "classes" + "-".join(str(c) for c in cls), cls,
                                 dataset.y_train, dataset.y_test))
    return tasks


def _domain_tasks(dataset: Dataset, superclasses: tuple, shuffle_classes: bool, rng) -> list[Task]:
    """One task per CIFAR-100 superclass: its fine classes, trained on the fine labels."""
    if dataset.coarse_train is None:
        raise L5SimError(f"scenario: got 'domain' for {dataset.name!r}; expected a dataset "
                         "with superclass labels (cifar100)")
    sup = list(superclasses)
    if len(sup) < 2 or len(set(sup)) != len(sup):
        raise L5SimError(f"superclasses: got {superclasses!r}; expected >= 2 distinct labels")
    if shuffle_classes:
        sup = [sup[i] for i in rng.permutation(len(sup))]
    tasks = []
    for c in sup:
        fine = tuple(sorted(int(v) for v in np.unique(dataset.y_train[dataset.coarse_train == c])))
        if not fine:
            raise L5SimError(f"superclasses: superclass {c} has no training image")
        tasks.append(_class_task(dataset, f"super{c}", fine, dataset.coarse_train,
                                 dataset.coarse_test, select=(c,)))
    return tasks


def _class_task(dataset: Dataset, name: str, classes: tuple, key_train, key_test,
                select: tuple | None = None) -> Task:
    """The images whose ``key`` label is in ``select`` (default: in ``classes``)."""
    sel = classes if select is None else select
    mtr = np.isin(key_train, sel)
    mte = np.isin(key_test, sel)
    return Task(name=name, x_train=dataset.x_train[mtr].reshape(int(mtr.sum()), -1),
                y_train=dataset.y_train[mtr], x_test=dataset.x_test[mte].reshape(int(mte.sum()), -1),
                y_test=dataset.y_test[mte], classes=classes)
