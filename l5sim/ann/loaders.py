"""Offline loaders of the ANN side's image datasets (:func:`load_dataset`), their file formats,
and redrawn train/test splits (:func:`resplit`).

Three data sources, all offline:

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
"""
from __future__ import annotations

import gzip
import os

import numpy as np

from ..errors import L5SimError
from .datasets import Dataset, DatasetError

__all__ = ["DATASETS", "DEFAULT_DATA_DIRS", "DIGITS_TEST_FRACTION", "CIFAR_IMAGE_BYTES",
           "CIFAR_FILES", "load_idx", "load_cifar_bin", "load_dataset", "resplit"]

#: Dataset names accepted by :func:`load_dataset`.
DATASETS = ("digits", "fashion-mnist", "mnist", "cifar10", "cifar100")
#: Where :func:`load_dataset` looks when ``data_dir`` is None.
DEFAULT_DATA_DIRS = {
    "fashion-mnist": "/usr/share/datasets/fashion-mnist",
    "mnist": "/usr/share/datasets/mnist",
    "cifar10": "data/cifar-10-batches-bin",
    "cifar100": "data/cifar-100-binary",
}

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
    "cifar10": (
        "download the CIFAR-10 *binary version* (cifar-10-binary.tar.gz) from "
        "https://www.cs.toronto.edu/~kriz/cifar.html, unpack it and pass --data-dir "
        ".../cifar-10-batches-bin (data_batch_1.bin .. data_batch_5.bin, test_batch.bin)"
    ),
    "cifar100": (
        "download the CIFAR-100 *binary version* (cifar-100-binary.tar.gz) from "
        "https://www.cs.toronto.edu/~kriz/cifar.html, unpack it and pass --data-dir "
        ".../cifar-100-binary (train.bin, test.bin)"
    ),
}

_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}

def _channel_stats(x_uint8: np.ndarray, scale: float) -> tuple[tuple, tuple]:
    """Per-channel mean and sd of ``x / scale`` (x: (n, h, w) or (n, c, h, w))."""
    x = x_uint8.astype(np.float64) / scale
    if x.ndim == 3:
        return (float(x.mean()),), (float(x.std()),)
    axes = (0, 2, 3)
    return tuple(float(v) for v in x.mean(axis=axes)), tuple(float(v) for v in x.std(axis=axes))


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
    mean, std = _channel_stats(arrays["x_train"], 255.0)
    return Dataset(
        name=name,
        x_train=arrays["x_train"],
        y_train=arrays["y_train"].astype(np.int64),
        x_test=arrays["x_test"],
        y_test=arrays["y_test"].astype(np.int64),
        scale=255.0,
        mean=mean,
        std=std,
        source=os.path.abspath(data_dir),
    )


#: Fraction of scikit-learn's digits held out as the test set (stratified, fixed split seed 0).
DIGITS_TEST_FRACTION = 0.3


def _stratified_test_index(y: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """Sorted indices of a stratified test set: ``round(fraction * n_c)`` of each class c."""
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0x5E17]))
    test_idx = []
    for c in np.unique(y):
        idx = np.flatnonzero(y == c)
        rng.shuffle(idx)
        test_idx.append(idx[: int(round(fraction * idx.size))])
    return np.sort(np.concatenate(test_idx))


def resplit(dataset: Dataset, seed: int, test_fraction: float | None = None) -> Dataset:
    """A new stratified train/test split of the pooled images, drawn from ``seed``.

    Parameters
    ----------
    dataset : Dataset
    seed : int
        Seed of the split (the harness passes the run seed when ``data_seeding`` is per-seed).
    test_fraction : float, optional
        Fraction of each class held out (default: the dataset's current test fraction).

    Returns
    -------
    Dataset
        Same images, a different split; per-channel statistics recomputed on the new training
        set. Coarse labels (CIFAR-100) follow their images.
    """
    x = np.concatenate([dataset.x_train, dataset.x_test])
    y = np.concatenate([dataset.y_train, dataset.y_test])
    if test_fraction is None:
        test_fraction = dataset.y_test.size / y.size
    if not 0.0 < test_fraction < 1.0:
        raise L5SimError(f"test_fraction: got {test_fraction!r}; expected 0 < test_fraction < 1")
    test_idx = _stratified_test_index(y, test_fraction, seed)
    train_mask = np.ones(y.size, dtype=bool)
    train_mask[test_idx] = False
    coarse = None
    if dataset.coarse_train is not None:
        coarse = np.concatenate([dataset.coarse_train, dataset.coarse_test])
    mean, std = _channel_stats(x[train_mask], dataset.scale)
    return Dataset(
        name=dataset.name, x_train=x[train_mask], y_train=y[train_mask], x_test=x[test_idx],
        y_test=y[test_idx], scale=dataset.scale, mean=mean, std=std,
        source=f"{dataset.source} (stratified resplit, seed {int(seed)})",
        coarse_train=None if coarse is None else coarse[train_mask],
        coarse_test=None if coarse is None else coarse[test_idx],
    )


def _load_digits(split_seed: int = 0) -> Dataset:
    try:
        from sklearn.datasets import load_digits
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise DatasetError(f"dataset 'digits' needs scikit-learn: {_INSTALL_HINT['digits']}") from exc
    bunch = load_digits()
    x = bunch.images.astype(np.uint8)  # values 0..16
    y = bunch.target.astype(np.int64)
    # The digits have no official split: a stratified one drawn from split_seed (0 unless the
    # harness varies it by run seed).
    test_idx = _stratified_test_index(y, DIGITS_TEST_FRACTION, split_seed)
    train_mask = np.ones(y.size, dtype=bool)
    train_mask[test_idx] = False
    mean, std = _channel_stats(x[train_mask], 16.0)
    return Dataset(
        name="digits",
        x_train=x[train_mask],
        y_train=y[train_mask],
        x_test=x[test_idx],
        y_test=y[test_idx],
        scale=16.0,
        mean=mean,
        std=std,
        source=f"sklearn.datasets.load_digits (stratified split, seed {int(split_seed)})",
    )


#: Bytes of one CIFAR image (3 channels x 32 x 32).
CIFAR_IMAGE_BYTES = 3 * 32 * 32
#: Files of the binary distributions (https://www.cs.toronto.edu/~kriz/cifar.html).
CIFAR_FILES = {
    "cifar10": {"train": tuple(f"data_batch_{i}.bin" for i in range(1, 6)),
                "test": ("test_batch.bin",)},
    "cifar100": {"train": ("train.bin",), "test": ("test.bin",)},
}


def load_cifar_bin(path: str, n_label_bytes: int) -> tuple[np.ndarray, np.ndarray]:
    """Read one file of the CIFAR *binary* distribution (no pickle).

    Parameters
    ----------
    path : str
        E.g. ``.../cifar-10-batches-bin/data_batch_1.bin`` or ``.../cifar-100-binary/train.bin``.
    n_label_bytes : {1, 2}
        1 for CIFAR-10 (the label), 2 for CIFAR-100 (coarse label, then fine label).

    Returns
    -------
    images : numpy.ndarray of uint8, shape (n, 3, 32, 32)
        Channels first (red, green, blue), rows top to bottom.
    labels : numpy.ndarray of int64, shape (n, n_label_bytes)
        The label bytes of each record, in file order.

    Raises
    ------
    DatasetError
        If the file is missing or its size is not a whole number of records.
    """
    if n_label_bytes not in (1, 2):
        raise L5SimError(f"n_label_bytes: got {n_label_bytes!r}; expected 1 (CIFAR-10) or 2 "
                         "(CIFAR-100)")
    if not os.path.isfile(path):
        raise DatasetError(f"CIFAR binary file {path!r} does not exist")
    raw = np.fromfile(path, dtype=np.uint8)
    rec = n_label_bytes + CIFAR_IMAGE_BYTES
    if raw.size == 0 or raw.size % rec:
        raise DatasetError(f"{path}: {raw.size} bytes; expected a whole number of {rec}-byte "
                           f"records ({n_label_bytes} label byte(s) + {CIFAR_IMAGE_BYTES} pixels); "
                           "is this the binary (not the python/pickle) version?")
    raw = raw.reshape(-1, rec)
    images = np.ascontiguousarray(raw[:, n_label_bytes:]).reshape(-1, 3, 32, 32)
    return images, raw[:, :n_label_bytes].astype(np.int64)


def _load_cifar(name: str, data_dir: str | None) -> Dataset:
    data_dir = data_dir or DEFAULT_DATA_DIRS[name]
    files = CIFAR_FILES[name]
    missing = [f for part in ("train", "test") for f in files[part]
               if not os.path.isfile(os.path.join(data_dir, f))]
    if missing:
        raise DatasetError(f"dataset {name!r}: {', '.join(missing)} not found in {data_dir!r}; "
                           + _INSTALL_HINT[name])
    nlb = 1 if name == "cifar10" else 2
    parts = {}
    for part in ("train", "test"):
        chunks = [load_cifar_bin(os.path.join(data_dir, f), nlb) for f in files[part]]
        parts[part] = (np.concatenate([c[0] for c in chunks]),
                       np.concatenate([c[1] for c in chunks]))
    (xtr, ltr), (xte, lte) = parts["train"], parts["test"]
    n_fine = 10 if name == "cifar10" else 100
    for part, lab in (("train", ltr), ("test", lte)):
        if lab[:, -1].max() >= n_fine:
            raise DatasetError(f"{name} {part}: label {int(lab[:, -1].max())}; expected labels "
                               f"0..{n_fine - 1}")
    mean, std = _channel_stats(xtr, 255.0)
    return Dataset(
        name=name, x_train=xtr, y_train=ltr[:, -1].copy(), x_test=xte, y_test=lte[:, -1].copy(),
        scale=255.0, mean=mean, std=std, source=os.path.abspath(data_dir),
        coarse_train=ltr[:, 0].copy() if nlb == 2 else None,
        coarse_test=lte[:, 0].copy() if nlb == 2 else None,
    )


def load_dataset(name: str, data_dir: str | None = None, *, split_seed: int = 0) -> Dataset:
    """Load a dataset by name, offline.

    Parameters
    ----------
    name : {"digits", "fashion-mnist", "mnist", "cifar10", "cifar100"}
        Dataset name.
    data_dir : str, optional
        Directory with the idx files (``"fashion-mnist"``, ``"mnist"``) or the CIFAR binary files.
        Defaults to :data:`DEFAULT_DATA_DIRS`. Ignored for ``"digits"``.
    split_seed : int
        Seed of the digits' stratified train/test split (the other datasets keep their official
        split; use :func:`resplit` to redraw one).

    Returns
    -------
    Dataset

    Raises
    ------
    DatasetError
        If the name is unknown or the files are missing; the message says how to install them.
    """
    if name == "digits":
        return _load_digits(split_seed)
    if name in ("fashion-mnist", "mnist"):
        return _load_idx_dataset(name, data_dir)
    if name in ("cifar10", "cifar100"):
        return _load_cifar(name, data_dir)
    raise DatasetError(f"data: got {name!r}; expected one of {DATASETS}")

