"""The slim ResNet-18 of Lopez-Paz & Ranzato (2017), with a gained output head (needs torch).

Lopez-Paz & Ranzato (2017), "Gradient Episodic Memory for Continual Learning", NeurIPS: a
ResNet-18 (BasicBlocks, [2, 2, 2, 2]) with ``nf = 20`` filters in the first stage instead of 64
(stages of 20, 40, 80, 160 channels, strides 1, 2, 2, 2), 3x3 convolutions without bias, batch
normalisation, a 4x4 average pool at the end, so a 32x32 image gives 160 features. arXiv
2507.14056 uses this network for Split-CIFAR-10 and Domain-CIFAR-100 with the gain on the output
layer only (the authors' code, ``experiments/ex5.py``: ``GainSlimResNet18``, head weights
N(0, 0.05^2), head bias zero and not trained).
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from .gain import OUTPUT_INIT_STD, GainLinear
from ..errors import L5SimError

__all__ = ["SlimResNet18", "GEM_NF"]

#: Filters of the first stage (Lopez-Paz & Ranzato 2017; arXiv 2507.14056 code: nf=20).
GEM_NF = 20


class _BasicBlock(nn.Module):
    """Two 3x3 conv-BN stages with an identity (or 1x1 conv-BN) shortcut (He et al. 2016)."""

    def __init__(self, c_in: int, c_out: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.shortcut = nn.Sequential()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False),
                                          nn.BatchNorm2d(c_out))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class SlimResNet18(nn.Module):
    """Slim ResNet-18 (nf=20) with a :class:`~l5sim.ann.gain.GainLinear` output head.

    Parameters
    ----------
    n_classes : int
        Output units (10 for Split-CIFAR-10, 100 for Domain-CIFAR-100).
    nf : int
        Filters of the first stage (default 20).
    in_channels : int
        Input channels (3).
    image_size : int
        Side of the square input, pixels (32: the final 4x4 average pool leaves 1x1).
    gained_head : bool
        Whether the head carries per-output gains (True for NGM-SGD, as in the paper; False for
        the other optimizers, whose head is a plain linear layer with the same initialisation).
    g0 : float
        Initial gain of the head.

    Notes
    -----
    Inputs are flat (batch, in_channels * image_size^2) channels-first vectors, as the harness
    stores them, or (batch, C, H, W). The head bias is zero with ``requires_grad = False``;
    :meth:`weight_parameters` is every other trainable parameter (convolutions, batch-norm
    affine parameters, head weight).
    """

    def __init__(self, n_classes: int = 10, nf: int = GEM_NF, in_channels: int = 3,
                 image_size: int = 32, gained_head: bool = True, g0: float = 1.0):
        super().__init__()
        if image_size % 8 or image_size < 32:
            raise L5SimError(f"image_size: got {image_size!r}; expected a multiple of 8, >= 32")
        self.in_channels, self.image_size = int(in_channels), int(image_size)
        self.conv1 = nn.Conv2d(in_channels, nf, 3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(nf)
        stages, c_in = [], nf
        for i, stride in enumerate((1, 2, 2, 2)):
            c_out = nf * 2 ** i
            stages.append(nn.Sequential(_BasicBlock(c_in, c_out, stride),
                                        _BasicBlock(c_out, c_out, 1)))
            c_in = c_out
        self.stages = nn.Sequential(*stages)
        self.feature_size = c_in * (image_size // 32) ** 2
        head = (GainLinear(self.feature_size, n_classes, g0=g0) if gained_head
                else nn.Linear(self.feature_size, n_classes))
        with torch.no_grad():
            head.weight.normal_(0.0, OUTPUT_INIT_STD)
            head.bias.zero_()
        head.bias.requires_grad_(False)
        self.head = head

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.reshape(x.shape[0], self.in_channels, self.image_size, self.image_size)
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.stages(out)
        out = F.avg_pool2d(out, 4).reshape(out.shape[0], -1)
        return self.head(out)

    def gains(self) -> list[torch.Tensor]:
        """The head's gain buffer (empty without a gained head)."""
        return [self.head.gain] if isinstance(self.head, GainLinear) else []

    def weight_parameters(self) -> list[nn.Parameter]:
        """Every trainable parameter (the head bias is fixed)."""
        return [p for p in self.parameters() if p.requires_grad]

    def param_groups_backbone_head(self) -> tuple[list, list]:
        """(backbone parameters, head weight), for per-part momentum (paper's code)."""
        head = [self.head.weight]
        ids = {id(p) for p in head}
        return [p for p in self.weight_parameters() if id(p) not in ids], head
