"""Offline image data and continual-learning scenarios for the stability-gap harness.

Two data sources, both offline:

- ``"digits"``: scikit-learn's bundled 8x8 handwritten digits (1797 images, 10 classes, pixel
  values 0..16). Small and fast: used by the tests and the notebook.
- ``"fashion-mnist"`` (and ``"mnist"``): 28x28 images in the MNIST idx format, read by
  :func:`load_idx` (``.gz`` or plain files). Debian's ``dataset-fashion-mnist`` package puts
  Fashion-MNIST in ``/usr/share/datasets/fashion-mnist``; point ``data_dir`` at any directory
  holding the four MNIST-style files (``train-images-idx3-ubyte[.gz]``, ...) to use MNIST itself.

Scenarios (arXiv 2507.14056, section "Experiments"; De Lange et al. 2023):

- ``"rotated"``: domain-incremental, the same 10 classes rotated by 0, 80 and 160 degrees.
- ``"permuted"``: domain-incremental, 3 tasks; task 1 is the original image, tasks 2 and 3 apply a
  fixed random pixel permutation drawn from the scenario seed.
- ``"split"``: class-incremental, 2-class tasks (0,1), (2,3), ...; the network keeps all 10
  outputs throughout.

Images are kept as ``uint8`` to save memory (Fashion-MNIST's 3 rotated training sets are
141 MB as uint8, 565 MB as float32); :meth:`Dataset.standardise` maps them to standardised
float32 when a batch is drawn.
"""
from __future__ import annotations

import gzip
import os
from dataclasses import dataclass, field

import numpy as np

from l5sim.errors import L5SimError

__all__ = [
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

#: Dataset names accepted by :func:`load_dataset`.
DATASETS = ("digits", "fashion-mnist", "mnist")
#: Scenario names accepted by :func:`make_scenario`.
SCENARIOS = ("rotated", "permuted", "split")
#: Where :func:`load_dataset` looks when ``data_dir`` is None.
DEFAULT_DATA_DIRS = {
    "fashion-mnist": "/usr/share/datasets/fashion-mnist",
    "mnist": "/usr/share/datasets/mnist",
}
#: Rotation angles of the rotated scenario, degrees (arXiv 2507.14056: 0/80/160).
ROTATION_ANGLES_DEG = (0.0, 80.0, 160.0)
#: Number of tasks of the permuted scenario (arXiv 2507.14056).
N_PERMUTED_TASKS = 3

_INSTALL_HINT = {
    "fashion-mnist": (
        "install it with `apt-get install dataset-fashion-mnist` (Debian/Ubuntu; files land in "
        "/usr/share/datasets/fashion-mnist), or download the four idx files from "
        "https://github.com/zalandoresearch/fashion-mnist and pass --data-dir"
    ),
    "mnist": (
        "put the four MNIST idx files (train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], "
        "t10k-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz]) in a directory and pass "
        "--data-dir"
    ),
    "digits": "install scikit-learn (`pip install scikit-learn`), which bundles the 8x8 digits",
}

_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


class DatasetError(L5SimError, FileNotFoundError):
    """A dataset is missing or malformed; the message says how to install or fix it."""


@dataclass(frozen=True)
class Dataset:
    """An image classification dataset held in memory.

    Attributes
    ----------
    name : str
        Dataset name, e.g. ``"digits"``.
    x_train, x_test : numpy.ndarray of uint8, shape (n, height, width)
        Raw pixel values in ``0..scale``.
    y_train, y_test : numpy.ndarray of int64, shape (n,)
        Class labels ``0..n_classes-1``.
    scale : float
        Largest possible raw pixel value (255 for idx files, 16 for scikit-learn's digits).
    mean, std : float
        Mean and standard deviation of ``x_train / scale`` over all training pixels, used by
        :meth:`standardise` (the authors of arXiv 2507.14056 use MNIST's 0.1307 / 0.3081, which is
        what this gives for MNIST).
    source : str
        Where the data came from (path or package).
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    scale: float
    mean: float
    std: float
    source: str = ""

    @property
    def image_shape(self) -> tuple[int, int]:
        """(height, width) of one image, pixels."""
        return tuple(self.x_train.shape[1:])

    @property
    def n_features(self) -> int:
        """Number of pixels of one image."""
        return int(np.prod(self.x_train.shape[1:]))

    @property
    def n_classes(self) -> int:
        """Number of classes (max label + 1)."""
        return int(max(self.y_train.max(), self.y_test.max())) + 1

    def standardise(self, x_uint8: np.ndarray) -> np.ndarray:
        """Map raw pixels to standardised float32: ``(x / scale - mean) / std``.

        Parameters
        ----------
        x_uint8 : numpy.ndarray
            Raw pixel values, any shape.

        Returns
        -------
        numpy.ndarray of float32
            Same shape.
        """
        return ((np.asarray(x_uint8, dtype=np.float32) / np.float32(self.scale)) - np.float32(self.mean)) / np.float32(self.std)


@dataclass(frozen=True)
class Task:
    """One task (context) of a continual-learning scenario.

    Attributes
    ----------
    name : str
        E.g. ``"rot80"``, ``"perm1"``, ``"classes2-3"``.
    x_train, x_test : numpy.ndarray of uint8, shape (n, n_features)
        Flattened raw pixels (standardise with the parent :class:`Dataset`).
    y_train, y_test : numpy.ndarray of int64, shape (n,)
    classes : tuple of int
        Classes present in this task.
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    classes: tuple = field(default_factory=tuple)


def _open_maybe_gz(path: str):
    with open(path, "rb") as fh:
        magic = fh.read(2)
    if magic == b"\x1f\x8b":
        return gzip.open(path, "rb")
    return open(path, "rb")


def load_idx(path: str) -> np.ndarray:
    """Read one file in the MNIST idx format (plain or gzip-compressed).

    The idx format (LeCun et al., http://yann.lecun.com/exdb/mnist/) is a big-endian header of two
    zero bytes, a type code (0x08 = uint8, ...), the number of dimensions, one 4-byte size per
    dimension, then the data in C order. Compression is detected from the gzip magic bytes, not
    the file name.

    Parameters
    ----------
    path : str
        File path, e.g. ``.../train-images-idx3-ubyte.gz``.

    Returns
    -------
    numpy.ndarray
        Array with the stored shape and dtype (native byte order).

    Raises
    ------
    DatasetError
        If the file is missing, has a bad magic number, an unknown type code, or is truncated.
    """
    if not os.path.isfile(path):
        raise DatasetError(f"idx file {path!r} does not exist")
    with _open_maybe_gz(path) as fh:
        raw = fh.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise DatasetError(
            f"{path}: bad idx magic number {raw[:4]!r}; expected two zero bytes, a type code and "
            "the number of dimensions"
        )
    code, ndim = raw[2], raw[3]
    if code not in _IDX_DTYPES:
        raise DatasetError(f"{path}: idx type code {code:#04x}; expected one of "
                           f"{sorted(hex(c) for c in _IDX_DTYPES)}")
    header = 4 + 4 * ndim
    shape = tuple(int(s) for s in np.frombuffer(raw[4:header], dtype=">u4"))
    dtype = np.dtype(_IDX_DTYPES[code])
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(raw) - header != expected:
        raise DatasetError(
            f"{path}: idx data has {len(raw) - header} bytes; expected {expected} for shape {shape} "
            f"and dtype {dtype} (truncated or corrupt file?)"
        )
    arr = np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)
    return arr.astype(dtype.newbyteorder("="), copy=True)


def _find_idx(data_dir: str, stem: str) -> str | None:
    """Find ``stem`` in data_dir with the common MNIST naming variants (.gz, '-idx' vs '.idx')."""
    variants = [stem, stem.replace("-idx", ".idx")]
    for v in variants:
        for suffix in (".gz", ""):
            p = os.path.join(data_dir, v + suffix)
            if os.path.isfile(p):
                return p
    return None


def _load_idx_dataset(name: str, data_dir: str | None) -> Dataset:
    data_dir = data_dir or DEFAULT_DATA_DIRS[name]
    stems = {
        "x_train": "train-images-idx3-ubyte",
        "y_train": "train-labels-idx1-ubyte",
        "x_test": "t10k-images-idx3-ubyte",
        "y_test": "t10k-labels-idx1-ubyte",
    }
    found = {k: _find_idx(data_dir, s) for k, s in stems.items()}
    missing = [stems[k] for k, p in found.items() if p is None]
    if missing:
        raise DatasetError(
            f"dataset {name!r}: {', '.join(missing)} (.gz or plain) not found in {data_dir!r}; "
            + _INSTALL_HINT[name]
        )
    arrays = {k: load_idx(p) for k, p in found.items()}
    for k in ("x_train", "x_test"):
        if arrays[k].ndim != 3 or arrays[k].dtype != np.uint8:
            raise DatasetError(f"{found[k]}: images have shape {arrays[k].shape} and dtype "
                               f"{arrays[k].dtype}; expected (n, height, width) uint8")
    for xk, yk in (("x_train", "y_train"), ("x_test", "y_test")):
        if arrays[yk].shape != (arrays[xk].shape[0],):
            raise DatasetError(f"{found[yk]}: {arrays[yk].shape[0]} labels for "
                               f"{arrays[xk].shape[0]} images in {found[xk]}")
    x01 = arrays["x_train"].astype(np.float64) / 255.0
    return Dataset(
        name=name,
        x_train=arrays["x_train"],
        y_train=arrays["y_train"].astype(np.int64),
        x_test=arrays["x_test"],
        y_test=arrays["y_test"].astype(np.int64),
        scale=255.0,
        mean=float(x01.mean()),
        std=float(x01.std()),
        source=os.path.abspath(data_dir),
    )


#: Fraction of scikit-learn's digits held out as the test set (stratified, fixed split seed 0).
DIGITS_TEST_FRACTION = 0.3


def _load_digits() -> Dataset:
    try:
        from sklearn.datasets import load_digits
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise DatasetError(f"dataset 'digits' needs scikit-learn: {_INSTALL_HINT['digits']}") from exc
    bunch = load_digits()
    x = bunch.images.astype(np.uint8)  # values 0..16
    y = bunch.target.astype(np.int64)
    # Stratified split with a fixed seed, independent of the experiment seed, so that every run
    # sees the same test set.
    rng = np.random.default_rng(0)
    test_idx = []
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        rng.shuffle(idx)
        test_idx.append(idx[: int(round(DIGITS_TEST_FRACTION * idx.size))])
    test_idx = np.sort(np.concatenate(test_idx))
    train_mask = np.ones(y.size, dtype=bool)
    train_mask[test_idx] = False
    x01 = x[train_mask].astype(np.float64) / 16.0
    return Dataset(
        name="digits",
        x_train=x[train_mask],
        y_train=y[train_mask],
        x_test=x[test_idx],
        y_test=y[test_idx],
        scale=16.0,
        mean=float(x01.mean()),
        std=float(x01.std()),
        source="sklearn.datasets.load_digits",
    )


def load_dataset(name: str, data_dir: str | None = None) -> Dataset:
    """Load a dataset by name, offline.

    Parameters
    ----------
    name : {"digits", "fashion-mnist", "mnist"}
        Dataset name.
    data_dir : str, optional
        Directory with the four idx files (for ``"fashion-mnist"`` and ``"mnist"``). Defaults to
        :data:`DEFAULT_DATA_DIRS`. Ignored for ``"digits"``.

    Returns
    -------
    Dataset

    Raises
    ------
    DatasetError
        If the name is unknown or the files are missing; the message says how to install them.
    """
    if name == "digits":
        return _load_digits()
    if name in ("fashion-mnist", "mnist"):
        return _load_idx_dataset(name, data_dir)
    raise DatasetError(f"data: got {name!r}; expected one of {DATASETS}")


def _rotate(images: np.ndarray, angle_deg: float) -> np.ndarray:
    """Rotate a stack of uint8 images (n, h, w) about their centre, bilinear, zero fill."""
    if angle_deg % 360.0 == 0.0:
        return images.copy()
    from scipy import ndimage

    out = ndimage.rotate(images.astype(np.float32), angle_deg, axes=(1, 2), reshape=False,
                         order=1, mode="constant", cval=0.0)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def make_scenario(dataset: Dataset, name: str, seed: int = 0, *,
                  angles_deg: tuple = ROTATION_ANGLES_DEG,
                  n_permuted: int = N_PERMUTED_TASKS,
                  classes_per_task: int = 2) -> list[Task]:
    """Build the tasks of a continual-learning scenario.

    Parameters
    ----------
    dataset : Dataset
        Source images.
    name : {"rotated", "permuted", "split"}
        Scenario. ``rotated`` and ``permuted`` are domain-incremental (all classes in every task,
        the input distribution changes); ``split`` is class-incremental (disjoint class pairs).
    seed : int
        Seed of the pixel permutations (``permuted`` only; task 1 is always the identity).
    angles_deg : tuple of float
        Rotation angle of each task, degrees (default 0, 80, 160, arXiv 2507.14056).
    n_permuted : int
        Number of permuted tasks (default 3).
    classes_per_task : int
        Classes per task of the split scenario (default 2).

    Returns
    -------
    list of Task
        In training order. Images are flattened to (n, n_features) uint8.

    Raises
    ------
    L5SimError
        If the scenario name or a parameter is invalid.
    """
    n_tr, n_te = dataset.x_train.shape[0], dataset.x_test.shape[0]
    all_classes = tuple(range(dataset.n_classes))
    tasks = []
    if name == "rotated":
        if len(angles_deg) < 2:
            raise L5SimError(f"angles_deg: got {angles_deg!r}; expected at least 2 angles")
        for a in angles_deg:
            tasks.append(Task(
                name=f"rot{a:g}",
                x_train=_rotate(dataset.x_train, a).reshape(n_tr, -1),
                y_train=dataset.y_train,
                x_test=_rotate(dataset.x_test, a).reshape(n_te, -1),
                y_test=dataset.y_test,
                classes=all_classes,
            ))
    elif name == "permuted":
        if n_permuted < 2:
            raise L5SimError(f"n_permuted: got {n_permuted!r}; expected an int >= 2")
        rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0x9E37]))
        d = dataset.n_features
        xtr = dataset.x_train.reshape(n_tr, d)
        xte = dataset.x_test.reshape(n_te, d)
        for k in range(n_permuted):
            perm = np.arange(d) if k == 0 else rng.permutation(d)
            tasks.append(Task(name=f"perm{k}", x_train=np.ascontiguousarray(xtr[:, perm]),
                              y_train=dataset.y_train, x_test=np.ascontiguousarray(xte[:, perm]),
                              y_test=dataset.y_test, classes=all_classes))
    elif name == "split":
        if classes_per_task < 1 or dataset.n_classes % classes_per_task:
            raise L5SimError(f"classes_per_task: got {classes_per_task!r}; expected a divisor of "
                             f"the number of classes {dataset.n_classes}")
        for start in range(0, dataset.n_classes, classes_per_task):
            cls = tuple(range(start, start + classes_per_task))
            mtr = np.isin(dataset.y_train, cls)
            mte = np.isin(dataset.y_test, cls)
            tasks.append(Task(
                name="classes" + "-".join(str(c) for c in cls),
                x_train=dataset.x_train[mtr].reshape(int(mtr.sum()), -1),
                y_train=dataset.y_train[mtr],
                x_test=dataset.x_test[mte].reshape(int(mte.sum()), -1),
                y_test=dataset.y_test[mte],
                classes=cls,
            ))
    else:
        raise L5SimError(f"scenario: got {name!r}; expected one of {SCENARIOS}")
    return tasks
