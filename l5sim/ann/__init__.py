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
    "NGMSGD": "l5sim.ann.optim",
    "batch_entropy": "l5sim.ann.optim",
    "GainLinear": "l5sim.ann.gain",
    "GainMLP": "l5sim.ann.gain",
    "attach_gains": "l5sim.ann.gain",
    "collect_gains": "l5sim.ann.gain",
    "SlimResNet18": "l5sim.ann.resnet",
    "run_stability_gap": "l5sim.ann.harness",
    "HarnessConfig": "l5sim.ann.harness",
    "OPTIMIZER_NAMES": "l5sim.ann.harness",
    # numpy only
    "paper_metrics": "l5sim.ann.metrics",
    "delange_metrics": "l5sim.ann.metrics",
    "final_average_accuracy": "l5sim.ann.metrics",
    "load_dataset": "l5sim.ann.data",
    "load_idx": "l5sim.ann.data",
    "load_cifar_bin": "l5sim.ann.data",
    "resplit": "l5sim.ann.data",
    "NORMALIZATIONS": "l5sim.ann.data",
    "make_scenario": "l5sim.ann.data",
    "Dataset": "l5sim.ann.data",
    "Task": "l5sim.ann.data",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str):
    try:
        module = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'l5sim.ann' has no attribute {name!r}") from None
    return getattr(importlib.import_module(module), name)


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
