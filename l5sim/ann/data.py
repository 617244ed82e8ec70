"""Offline image data and continual-learning scenarios for the stability-gap harness: the
names of three modules, one job each, all importable from here.

- :mod:`l5sim.ann.datasets`: the :class:`Dataset` and :class:`Task` records and the input
  preprocessing (``--normalize``, :data:`NORMALIZATIONS`, with the paper's choice and source).
- :mod:`l5sim.ann.loaders`: the offline sources (8x8 digits, Fashion-MNIST / MNIST idx files,
  CIFAR's binary distributions, never pickle) and redrawn train/test splits (:func:`resplit`).
- :mod:`l5sim.ann.scenarios`: rotated, permuted, split and domain scenarios
  (:func:`make_scenario`) and how seeds build their tasks.
"""
from __future__ import annotations

from .datasets import NORMALIZATIONS, Dataset, DatasetError, Task, check_normalize
from .loaders import (CIFAR_FILES, CIFAR_IMAGE_BYTES, DATASETS, DEFAULT_DATA_DIRS,
                      DIGITS_TEST_FRACTION, load_cifar_bin, load_dataset, load_idx, resplit)
from .scenarios import (DOMAIN_CIFAR100_SUPERCLASSES, FIXED_TASK_SEED, N_PERMUTED_TASKS,
                        ROTATION_ANGLES_DEG, SCENARIOS, make_scenario)

__all__ = [
    "NORMALIZATIONS",
    "FIXED_TASK_SEED",
    "load_cifar_bin",
    "resplit",
    "Dataset",
    "Task",
    "DatasetError",
    "DATASETS",
    "SCENARIOS",
    "DEFAULT_DATA_DIRS",
    "load_idx",
    "load_dataset",
    "make_scenario",
]
