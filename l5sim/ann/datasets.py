"""The in-memory records of the ANN side's data: :class:`Dataset` (raw images and labels of one
image-classification dataset) and :class:`Task` (one context of a continual-learning scenario),
and the input preprocessing.

Preprocessing (:data:`NORMALIZATIONS`, recorded in every metrics file): ``"standardize"``
(default) maps pixels to ``(x / scale - mean_c) / sd_c`` with the training set's mean and sd per
channel -- the paper's choice: its code applies ``transforms.Normalize((0.1307,), (0.3081,))``,
MNIST's training statistics, to MNIST, and CIFAR-10's (0.4914, 0.4822, 0.4465) / (0.2470,
0.2435, 0.2616) to CIFAR (arXiv 2507.14056 code, ``experiments/ex3.py``, ``ex4.py``, ``ex5.py``);
here each dataset uses its own training statistics (which for MNIST and CIFAR-10 are the paper's
constants). ``"none"`` only scales pixels to [0, 1] (``x / scale``, torchvision's ``ToTensor``).

Images are kept as ``uint8`` to save memory (Fashion-MNIST's 3 rotated training sets are
141 MB as uint8, 565 MB as float32); :meth:`Dataset.preprocess` (and the harness, on its device)
maps them to float32 when a batch is drawn.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import L5SimError

__all__ = ["NORMALIZATIONS", "Dataset", "Task", "DatasetError", "check_normalize"]

#: Input preprocessings (module docstring); the first is the default (the paper's).
NORMALIZATIONS = ("standardize", "none")


class DatasetError(L5SimError, FileNotFoundError):
    """A dataset is missing or malformed; the message says how to install or fix it."""


@dataclass(frozen=True)
class Dataset:
    """An image classification dataset held in memory.

    Attributes
    ----------
    name : str
        Dataset name, e.g. ``"digits"``.
    x_train, x_test : numpy.ndarray of uint8, shape (n, height, width) or (n, 3, height, width)
        Raw pixel values in ``0..scale`` (channels first for colour images).
    y_train, y_test : numpy.ndarray of int64, shape (n,)
        Class labels ``0..n_classes-1`` (CIFAR-100: the fine labels).
    scale : float
        Largest possible raw pixel value (255 for idx and CIFAR files, 16 for scikit-learn's
        digits).
    mean, std : tuple of float
        Per-channel mean and standard deviation of ``x_train / scale`` over all training pixels,
        used by ``preprocess(..., "standardize")`` (MNIST gives the paper's 0.1307 / 0.3081).
    source : str
        Where the data came from (path or package).
    coarse_train, coarse_test : numpy.ndarray of int64 or None
        CIFAR-100's coarse (superclass) labels; None for other datasets.
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    scale: float
    mean: tuple
    std: tuple
    source: str = ""
    coarse_train: np.ndarray | None = None
    coarse_test: np.ndarray | None = None

    @property
    def image_shape(self) -> tuple:
        """(height, width) or (channels, height, width) of one image, pixels."""
        return tuple(self.x_train.shape[1:])

    @property
    def n_channels(self) -> int:
        """1 for grey-level images, 3 for colour (channels-first) images."""
        return 1 if self.x_train.ndim == 3 else int(self.x_train.shape[1])

    @property
    def n_features(self) -> int:
        """Number of input values of one image (pixels x channels)."""
        return int(np.prod(self.x_train.shape[1:]))

    @property
    def n_classes(self) -> int:
        """Number of classes (max label + 1)."""
        return int(max(self.y_train.max(), self.y_test.max())) + 1

    def preprocess(self, x_uint8: np.ndarray, normalize: str = "standardize") -> np.ndarray:
        """Map raw pixels to float32 inputs (numpy; the harness does the same on its device).

        Parameters
        ----------
        x_uint8 : numpy.ndarray, shape (n, n_features)
            Flattened raw pixels (channels first), as in :class:`Task`.
        normalize : {"standardize", "none"}
            ``"standardize"``: ``(x / scale - mean_c) / sd_c`` (the paper's choice, module
            docstring); ``"none"``: ``x / scale`` in [0, 1].

        Returns
        -------
        numpy.ndarray of float32, same shape
        """
        check_normalize(normalize)
        x = np.asarray(x_uint8, dtype=np.float32) / np.float32(self.scale)
        if normalize == "none":
            return x
        n = x.shape[0]
        xc = x.reshape(n, self.n_channels, -1)
        m = np.asarray(self.mean, dtype=np.float32)[None, :, None]
        sd = np.asarray(self.std, dtype=np.float32)[None, :, None]
        return ((xc - m) / sd).reshape(x.shape)


def check_normalize(normalize: str) -> None:
    """Raise :class:`L5SimError` unless ``normalize`` is one of :data:`NORMALIZATIONS`."""
    if normalize not in NORMALIZATIONS:
        raise L5SimError(f"normalize: got {normalize!r}; expected one of {NORMALIZATIONS}")


@dataclass(frozen=True)
class Task:
    """One task (context) of a continual-learning scenario.

    Attributes
    ----------
    name : str
        E.g. ``"rot80"``, ``"perm1"``, ``"classes2-3"``.
    x_train, x_test : numpy.ndarray of uint8, shape (n, n_features)
        Flattened raw pixels, channels first (preprocess with the parent :class:`Dataset`).
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
