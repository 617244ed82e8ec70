"""Gain-modulated layers: one multiplicative gain per output neuron (needs torch).

Each gained layer computes ``z = g * (x W^T) + b`` with one gain per output neuron (per row of
W), as in arXiv 2507.14056 (section 7 of science.md). The gain is a *buffer*, not a trained
parameter: it is changed only by :meth:`l5sim.ann.optim.NGMSGD.update_gains`, never by a
gradient step and never by an evaluation pass. It enters the weight gradient through the chain
rule only: dL/dW = g dL/dz x.

Two ways to get gains:

- :class:`GainMLP`, the paper's MLP (784-400-400-10 ReLU, hidden weights N(0, 0.01^2), output
  N(0, 0.05^2), zero biases that are not trained), with gains on every layer (the paper's MLP
  setting) or on the output head only (the paper's ResNet setting);
- :func:`attach_gains`, which swaps chosen ``nn.Linear`` modules of any model for
  :class:`GainLinear` modules sharing the same weight and bias.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from ..errors import L5SimError

__all__ = ["GainLinear", "GainMLP", "attach_gains", "collect_gains", "GAIN_LAYER_CHOICES"]

#: Which layers carry gains: every linear layer, the output head only, or none.
GAIN_LAYER_CHOICES = ("all", "head", "none")
#: Hidden-layer weight initialisation sd (arXiv 2507.14056 code: randn * 0.01).
HIDDEN_INIT_STD = 0.01
#: Output-layer weight initialisation sd (arXiv 2507.14056 code: randn * 0.05).
OUTPUT_INIT_STD = 0.05


class GainLinear(nn.Linear):
    """A linear layer with one gain per output neuron: ``z = gain * (x W^T) + b``.

    Parameters
    ----------
    in_features, out_features : int
        Layer sizes.
    bias : bool
        Whether the layer has a bias (added after the gain).
    g0 : float
        Initial gain (dimensionless; the paper's baseline gain g0 = 1).

    Attributes
    ----------
    gain : torch.Tensor, shape (out_features,)
        The gains, a registered buffer (saved in ``state_dict``, moved by ``.to``, no gradient).
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, g0: float = 1.0,
                 device=None, dtype=None):
        super().__init__(in_features, out_features, bias=bias, device=device, dtype=dtype)
        self.register_buffer("gain", torch.full((out_features,), float(g0),
                                                device=self.weight.device, dtype=self.weight.dtype))

    @classmethod
    def from_linear(cls, linear: nn.Linear, g0: float = 1.0) -> "GainLinear":
        """Wrap an existing ``nn.Linear``, sharing its weight and bias Parameters.

        Parameters
        ----------
        linear : torch.nn.Linear
        g0 : float
            Initial gain.

        Returns
        -------
        GainLinear
        """
        new = cls.__new__(cls)
        nn.Module.__init__(new)
        new.in_features = linear.in_features
        new.out_features = linear.out_features
        new.weight = linear.weight
        new.bias = linear.bias
        new.register_buffer("gain", torch.full((linear.out_features,), float(g0),
                                                device=linear.weight.device, dtype=linear.weight.dtype))
        return new

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = F.linear(x, self.weight) * self.gain
        if self.bias is not None:
            z = z + self.bias
        return z

    def extra_repr(self) -> str:
        return super().extra_repr() + ", gain=per-output buffer"


def collect_gains(model: nn.Module) -> list[torch.Tensor]:
    """The gain buffers of every :class:`GainLinear` in ``model``, in module order.

    Parameters
    ----------
    model : torch.nn.Module

    Returns
    -------
    list of torch.Tensor
    """
    return [m.gain for m in model.modules() if isinstance(m, GainLinear)]


def attach_gains(model: nn.Module, which: str = "all", g0: float = 1.0) -> list[torch.Tensor]:
    """Replace chosen ``nn.Linear`` submodules by :class:`GainLinear`, in place.

    Parameters
    ----------
    model : torch.nn.Module
        Any model containing ``nn.Linear`` layers.
    which : {"all", "head", "none"}
        ``"all"``: every linear layer (the paper's MLP); ``"head"``: the last linear layer in module
        order only (the paper's ResNet); ``"none"``: nothing.
    g0 : float
        Initial gain.

    Returns
    -------
    list of torch.Tensor
        The gain buffers now in the model (pass them to :class:`~l5sim.ann.optim.NGMSGD`).
    """
    if which not in GAIN_LAYER_CHOICES:
        raise L5SimError(f"gain layers: got {which!r}; expected one of {GAIN_LAYER_CHOICES}")
    linears = [(name, m) for name, m in model.named_modules()
               if isinstance(m, nn.Linear) and not isinstance(m, GainLinear)]
    if which == "none":
        return collect_gains(model)
    if not linears and not collect_gains(model):
        raise L5SimError("attach_gains: the model has no nn.Linear layer; expected at least one")
    chosen = linears if which == "all" else linears[-1:]
    for name, lin in chosen:
        parent = model
        *path, leaf = name.split(".")
        for p in path:
            parent = getattr(parent, p)
        setattr(parent, leaf, GainLinear.from_linear(lin, g0=g0))
    return collect_gains(model)


class GainMLP(nn.Module):
    """The paper's MLP with per-neuron gains (arXiv 2507.14056, its public code).

    Parameters
    ----------
    sizes : sequence of int
        Layer widths, input first (default 784-400-400-10).
    gain_layers : {"all", "head", "none"}
        Which layers carry gains (default every layer, as in the paper's MLP).
    g0 : float
        Initial gain (dimensionless).
    hidden_init_std, output_init_std : float
        Weight initialisation sds (0.01 and 0.05 in the paper's code).
    train_bias : bool
        Whether biases are trained (False in the paper: zero and fixed).

    Notes
    -----
    Biases start at zero. With ``train_bias=False`` they have ``requires_grad = False`` and are not
    in :meth:`weight_parameters`; every optimizer of the harness then trains the weights only.
    Weights are drawn from torch's global generator: seed it with ``torch.manual_seed`` first.
    """

    def __init__(self, sizes=(784, 400, 400, 10), gain_layers: str = "all", g0: float = 1.0,
                 hidden_init_std: float = HIDDEN_INIT_STD, output_init_std: float = OUTPUT_INIT_STD,
                 train_bias: bool = False):
        super().__init__()
        sizes = tuple(int(s) for s in sizes)
        if len(sizes) < 2 or min(sizes) < 1:
            raise L5SimError(f"sizes: got {sizes!r}; expected at least two positive layer widths")
        if gain_layers not in GAIN_LAYER_CHOICES:
            raise L5SimError(f"gain_layers: got {gain_layers!r}; expected one of {GAIN_LAYER_CHOICES}")
        self.sizes = sizes
        layers = []
        n = len(sizes) - 1
        for i in range(n):
            is_out = i == n - 1
            gained = gain_layers == "all" or (gain_layers == "head" and is_out)
            layer = (GainLinear(sizes[i], sizes[i + 1], g0=g0) if gained
                     else nn.Linear(sizes[i], sizes[i + 1]))
            with torch.no_grad():
                layer.weight.normal_(0.0, output_init_std if is_out else hidden_init_std)
                layer.bias.zero_()
            layer.bias.requires_grad_(bool(train_bias))
            layers.append(layer)
        self.layers = nn.ModuleList(layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.reshape(x.shape[0], -1)
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < len(self.layers) - 1:
                x = torch.relu(x)
        return x

    def gains(self) -> list[torch.Tensor]:
        """The gain buffers, in layer order."""
        return collect_gains(self)

    def weight_parameters(self) -> list[nn.Parameter]:
        """The trainable parameters (weights, plus biases if ``train_bias``)."""
        return [p for p in self.parameters() if p.requires_grad]
