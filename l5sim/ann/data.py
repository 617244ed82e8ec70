"""Offline image data and continual-learning scenarios for the stability-gap harness.
Three data sources, all offline (:mod:`l5sim.ann.loaders`):

- ``"digits"``: scikit-learn's bundled 8x8 handwritten digits (1797 images, 10 classes, pixel
  values 0..16). Small and fast: used by the tests and the notebook.
- ``"fashion-mnist"`` (and ``"mnist"``): 28x28 images in the MNIST idx format, read by
  :func:`load_idx` (``.gz`` or plain files). Debian's ``dataset-fashion-mnist`` package puts
  Fashion-MNIST in ``/usr/share/datasets/fashion-mnist``; point ``data_dir`` at any directory
  holding the four MNIST-style files (``train-images-idx3-ubyte[.gz]``, ...) to use MNIST itself.
- ``"cifar10"`` and ``"cifar100"``: 32x32 colour images read from the datasets' **binary**
  distributions (Krizhevsky 2009, https://www.cs.toronto.edu/~kriz/cifar.html: the "binary
  version", ``cifar-10-batches-bin/`` and ``cifar-100-binary/``), never from the "python"
  version, which is pickle. :func:`load_cifar_bin` reads one file. A CIFAR-10 record is 1 label
  byte then 3072 pixel bytes (1024 red, 1024 green, 1024 blue, each 32x32 row-major); a CIFAR-100
  record is 1 coarse-label byte, 1 fine-label byte, then the same 3072 bytes.

Preprocessing (:data:`NORMALIZATIONS`, recorded in every metrics file): ``"standardize"``
(default) maps pixels to ``(x / scale - mean_c) / sd_c`` with the training set's mean and sd per
channel -- the paper's choice: its code applies ``transforms.Normalize((0.1307,), (0.3081,))``,
MNIST's training statistics, to MNIST, and CIFAR-10's (0.4914, 0.4822, 0.4465) / (0.2470,
0.2435, 0.2616) to CIFAR (arXiv 2507.14056 code, ``experiments/ex3.py``, ``ex4.py``, ``ex5.py``);
here each dataset uses its own training statistics (which for MNIST and CIFAR-10 are the paper's
constants). ``"none"`` only scales pixels to [0, 1] (``x / scale``, torchvision's ``ToTensor``).

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
tasks; :func:`resplit` redraws a stratified train/test split from a seed (for the 8x8 digits,
which have no official split).

Images are kept as ``uint8`` to save memory (Fashion-MNIST's 3 rotated training sets are
141 MB as uint8, 565 MB as float32); :meth:`Dataset.preprocess` maps them to float32 when a
batch is drawn.

The names live in three modules, one job each, and are all importable from here:
:mod:`l5sim.ann.datasets` (the :class:`Dataset` and :class:`Task` records, preprocessing),
:mod:`l5sim.ann.loaders` (files and splits), :mod:`l5sim.ann.scenarios` (tasks).
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
