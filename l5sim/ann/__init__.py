"""The ANN side of l5sim: NGM-SGD, gain layers, continual-learning data and the stability-gap harness.

PyTorch is an optional extra (``pip install torch==2.13.0``). Importing this package never
imports torch: the torch-based names (:class:`NGMSGD`, :class:`GainLinear`, :class:`GainMLP`,
:class:`SlimResNet18`, :func:`attach_gains`, :func:`run_stability_gap`, ...) are resolved lazily
on first access, so
``import l5sim.ann`` works, and ``l5sim.ann.metrics`` / ``l5sim.ann.data`` are usable, without
torch.

Sources
-------
Rodriguez-Garcia, Ghosh & Ramaswamy (2025), "Noradrenergic-inspired gain modulation attenuates
the stability gap in joint training", arXiv 2507.14056 (the optimizer and the paper's metrics).
De Lange, van de Ven & Tuytelaars (2023), "Continual evaluation for lifelong learning:
identifying the stability gap", ICLR (the per-task min-ACC / WC-ACC metrics).
"""
from __future__ import annotations

import importlib

_LAZY = {
    # torch-based
    "NGMSGD": ".optim",
    "batch_entropy": ".optim",
    "GainLinear": ".gain",
    "GainMLP": ".gain",
    "attach_gains": ".gain",
    "collect_gains": ".gain",
    "SlimResNet18": ".resnet",
    "run_stability_gap": ".harness",
    # numpy only
    "HarnessConfig": ".config",
    "OPTIMIZER_NAMES": ".config",
    "paper_metrics": ".metrics",
    "delange_metrics": ".metrics",
    "final_average_accuracy": ".metrics",
    "load_dataset": ".loaders",
    "load_idx": ".loaders",
    "load_cifar_bin": ".loaders",
    "resplit": ".loaders",
    "NORMALIZATIONS": ".datasets",
    "make_scenario": ".scenarios",
    "Dataset": ".datasets",
    "Task": ".datasets",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str):
    try:
        module = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'l5sim.ann' has no attribute {name!r}") from None
    return getattr(importlib.import_module(module, __name__), name)


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
