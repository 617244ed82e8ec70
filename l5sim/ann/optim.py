"""NGM-SGD: noradrenergic gain-modulated SGD as a ``torch.optim.Optimizer`` (needs torch).

Rodriguez-Garcia, Ghosh & Ramaswamy (2025), "Noradrenergic-inspired gain modulation attenuates
the stability gap in joint training", arXiv 2507.14056; science.md section 7.

Order of operations of one training iteration (exactly the paper's and its code's):

1. ``g <- gamma g + (1 - gamma) g0 + eta H_prev`` -- :meth:`NGMSGD.update_gains`
   (``H_prev`` = 0 before the first iteration);
2. forward pass with the gains, cross-entropy loss, backward, and a plain SGD step on the raw
   weights (the gain enters the gradient only through the chain rule) -- :meth:`NGMSGD.step`;
3. ``H`` = mean over the batch of the softmax entropy of that forward pass's logits (natural log,
   over all output units, not normalised), stored as the next iteration's ``H_prev`` -- also in
   :meth:`NGMSGD.step`, from its ``logits`` argument.

Evaluation passes never change g: only :meth:`update_gains` writes the gain buffers.

Usage::

    model = GainMLP()
    opt = NGMSGD(model.weight_parameters(), model.gains(), lr=0.01, gamma=0.9, g0=1.0, eta=0.5)
    for x, y in batches:
        opt.zero_grad()
        opt.update_gains()                  # step 1
        logits = model(x)                   # step 2
        F.cross_entropy(logits, y).backward()
        opt.step(logits=logits)             # step 2 (SGD) and step 3 (entropy)

or with a closure that returns ``(loss, logits)``; then ``step`` performs all three steps::

    def closure():
        opt.zero_grad()
        logits = model(x)
        loss = F.cross_entropy(logits, y)
        loss.backward()
        return loss, logits
    opt.step(closure)

Fixed point: under a constant entropy H the gain converges to ``g0 + eta H / (1 - gamma)``.
"""
from __future__ import annotations

import math

import torch
from torch.optim import Optimizer

from ..errors import L5SimError

__all__ = ["NGMSGD", "batch_entropy", "PAPER_ETA", "PAPER_ETA_CIFAR", "PAPER_GAMMA", "PAPER_G0"]

#: Gain decay per iteration (arXiv 2507.14056, all experiments).
PAPER_GAMMA = 0.9
#: Baseline gain (arXiv 2507.14056, all experiments).
PAPER_G0 = 1.0
#: Entropy sensitivity eta per scenario (arXiv 2507.14056 v1/v2 and its code; MNIST values).
PAPER_ETA = {"rotated": 0.5, "split": 0.4, "permuted": 0.3}
#: eta on CIFAR with the slim ResNet-18 (arXiv 2507.14056 v2: Split-CIFAR-10 0.2,
#: Domain-CIFAR-100 0.1; the authors' code uses 0.2 for Domain-CIFAR-100, v2 is followed).
PAPER_ETA_CIFAR = {"split": 0.2, "domain": 0.1}


def batch_entropy(logits: torch.Tensor) -> torch.Tensor:
    """Mean over the batch of the softmax entropy of the logits, in nats.

    Parameters
    ----------
    logits : torch.Tensor, shape (batch, n_outputs)
        Pre-softmax outputs over *all* output units.

    Returns
    -------
    torch.Tensor
        0-d tensor, natural log, not normalised (at most ``ln(n_outputs)``).
    """
    logp = torch.log_softmax(logits.detach().float(), dim=-1)
    return -(logp.exp() * logp).sum(dim=-1).mean()


class NGMSGD(Optimizer):
    """Noradrenergic gain-modulated SGD (arXiv 2507.14056).

    Parameters
    ----------
    params : iterable of torch.Tensor or dict
        The trainable weights (param groups allowed, as for ``torch.optim.SGD``).
    gains : iterable of torch.Tensor
        The gain buffers to drive (e.g. ``GainMLP.gains()`` or the return value of
        :func:`~l5sim.ann.gain.attach_gains`). They form one extra param group with
        ``role = "gain"`` that holds ``gamma``, ``g0``, ``eta`` and ``lr_coupling``; the SGD update
        never touches them.
    lr : float
        Learning rate of the weights (0.01 in the paper).
    gamma : float
        Gain decay per iteration, in [0, 1) (0.9 in the paper).
    g0 : float
        Baseline gain, dimensionless (1 in the paper).
    eta : float
        Entropy sensitivity, gain per nat per iteration (0.3-0.5 on MNIST in the paper).
    momentum : float
        Heavy-ball momentum as in ``torch.optim.SGD`` (0 in the paper's MLP).
    weight_decay : float
        L2 penalty added to the gradient (0 in the paper).
    lr_coupling : float
        Optional coupling of the learning rate to the gain, **off (0) by default**: each step uses
        ``lr * max(0, 1 + lr_coupling * (mean(g) - g0))``. This goes beyond the paper (whose only
        coupling is the chain rule); the bridge can derive it from the fitted burst-driven STDP
        speed-up. A variant driving the learning rate by entropy directly made the gap larger
        (science.md section 7), hence off by default.

    Notes
    -----
    ``state_dict()`` holds the usual ``state`` and ``param_groups`` (with every hyperparameter)
    plus ``"ngm"``: ``entropy_prev`` (nats), ``iteration`` and ``gains_updated``. The gain values
    themselves live in the model's ``state_dict`` (they are module buffers).
    """

    def __init__(self, params, gains=(), lr: float = 0.01, *, gamma: float = PAPER_GAMMA,
                 g0: float = PAPER_G0, eta: float = 0.0, momentum: float = 0.0,
                 weight_decay: float = 0.0, lr_coupling: float = 0.0):
        _check_hyper(lr=lr, gamma=gamma, g0=g0, eta=eta, momentum=momentum,
                     weight_decay=weight_decay, lr_coupling=lr_coupling)
        defaults = dict(lr=lr, momentum=momentum, weight_decay=weight_decay, gamma=gamma, g0=g0,
                        eta=eta, lr_coupling=lr_coupling, role="weight")
        super().__init__(params, defaults)
        gains = list(gains)
        for i, g in enumerate(gains):
            if not isinstance(g, torch.Tensor) or g.requires_grad:
                raise L5SimError(f"gains[{i}]: got {type(g).__name__} (requires_grad="
                                 f"{getattr(g, 'requires_grad', None)}); expected a gain buffer "
                                 "tensor without gradient (GainLinear.gain)")
        weight_ids = {id(p) for grp in self.param_groups for p in grp["params"]}
        if any(id(g) in weight_ids for g in gains):
            raise L5SimError("gains: a gain tensor is also among params; expected disjoint sets")
        if gains:
            self.add_param_group({"params": gains, "role": "gain", "lr": 0.0, "momentum": 0.0,
                                  "weight_decay": 0.0})
        self._ngm = {"entropy_prev": 0.0, "iteration": 0, "gains_updated": False}

    # -- construction from a bridge file -------------------------------------------------------
    @classmethod
    def from_bridge(cls, params, gains, bridge, lr: float = 0.01, *, momentum: float = 0.0,
                    weight_decay: float = 0.0, use_lr_coupling: bool = False) -> "NGMSGD":
        """Build NGM-SGD with gamma, g0, eta (and optionally lr_coupling) from a bridge file.

        Parameters
        ----------
        params, gains, lr, momentum, weight_decay
            As for :class:`NGMSGD`.
        bridge : str or os.PathLike or dict
            Path of a bridge file (``l5sim fit --out bridge.json``) or its parsed content; it is
            validated against the schema.
        use_lr_coupling : bool
            Use the bridge's learning-rate coupling (off by default, see :class:`NGMSGD`).

        Returns
        -------
        NGMSGD
        """
        from ..bridge import optimizer_params

        hp = optimizer_params(bridge, use_lr_coupling=use_lr_coupling)
        return cls(params, gains, lr=lr, momentum=momentum, weight_decay=weight_decay, **hp)

    # -- state ---------------------------------------------------------------------------------
    def _gain_groups(self):
        return [g for g in self.param_groups if g.get("role") == "gain"]

    def _weight_groups(self):
        return [g for g in self.param_groups if g.get("role", "weight") != "gain"]

    @property
    def entropy_prev(self) -> float:
        """Entropy H of the previous training batch, nats (0 before the first step)."""
        return float(self._ngm["entropy_prev"])

    @property
    def iteration(self) -> int:
        """Number of completed :meth:`step` calls."""
        return int(self._ngm["iteration"])

    def mean_gain(self) -> float:
        """Mean of all gain values (``g0`` of the first group if there are no gains)."""
        groups = self._gain_groups()
        if not groups:
            return float(self.defaults["g0"])
        vals = torch.cat([g.detach().reshape(-1).float() for grp in groups for g in grp["params"]])
        return float(vals.mean())

    def state_dict(self):
        sd = super().state_dict()
        sd["ngm"] = dict(self._ngm)
        return sd

    def load_state_dict(self, state_dict):
        state_dict = dict(state_dict)
        ngm = state_dict.pop("ngm", None)
        super().load_state_dict(state_dict)
        if ngm is not None:
            self._ngm = {"entropy_prev": float(ngm["entropy_prev"]),
                         "iteration": int(ngm["iteration"]),
                         "gains_updated": bool(ngm["gains_updated"])}

    # -- the algorithm -------------------------------------------------------------------------
    @torch.no_grad()
    def update_gains(self) -> None:
        """Step 1: ``g <- gamma g + (1 - gamma) g0 + eta H_prev``, once per training iteration.

        Call it before the training forward pass. A second call before :meth:`step` is an error
        (it would apply the drive twice).
        """
        if self._ngm["gains_updated"]:
            raise L5SimError("NGMSGD.update_gains: already called in this iteration; expected one "
                             "call per training iteration, before the forward pass")
        h = self._ngm["entropy_prev"]
        for grp in self._gain_groups():
            gamma, g0, eta = grp["gamma"], grp["g0"], grp["eta"]
            for g in grp["params"]:
                g.mul_(gamma).add_((1.0 - gamma) * g0).add_(eta * h)
        self._ngm["gains_updated"] = True

    def step(self, closure=None, *, logits: torch.Tensor | None = None,
             entropy: float | None = None):
        """Steps 2 and 3: SGD on the weights, then record this batch's entropy.

        Parameters
        ----------
        closure : callable, optional
            Re-evaluates the model: zero the gradients, forward, backward, and return either the
            loss or ``(loss, logits)``. With a closure, ``step`` also performs step 1 first (unless
            :meth:`update_gains` was already called this iteration).
        logits : torch.Tensor, optional
            Logits of this iteration's training forward pass (shape (batch, n_outputs)); their
            mean softmax entropy becomes ``H_prev`` for the next iteration.
        entropy : float, optional
            The entropy directly, nats (instead of ``logits``).

        Returns
        -------
        torch.Tensor or None
            The closure's loss, if a closure was given.

        Raises
        ------
        L5SimError
            If the model has gains and :meth:`update_gains` was not called before this
            iteration's forward pass, or if ``eta != 0`` and neither logits nor entropy is given.
        """
        loss = None
        if closure is not None:
            if not self._ngm["gains_updated"]:
                self.update_gains()
            with torch.enable_grad():
                out = closure()
            if isinstance(out, (tuple, list)):
                loss, logits = out[0], out[1]
            else:
                loss = out
        elif self._gain_groups() and not self._ngm["gains_updated"]:
            raise L5SimError("NGMSGD.step: update_gains() was not called before this iteration's "
                             "forward pass; expected the order update_gains -> forward -> "
                             "backward -> step (science.md section 7), or a closure")
        if logits is not None and entropy is not None:
            raise L5SimError("NGMSGD.step: got both logits and entropy; expected one")
        if logits is not None:
            h = float(batch_entropy(logits))
        elif entropy is not None:
            h = float(entropy)
        else:
            if any(grp["eta"] != 0.0 for grp in self._gain_groups()):
                raise L5SimError("NGMSGD.step: eta != 0 but neither logits nor entropy was given; "
                                 "expected the logits of this iteration's training forward pass")
            h = 0.0

        scale = 1.0
        for grp in self._gain_groups():
            if grp["lr_coupling"]:
                scale = max(0.0, 1.0 + grp["lr_coupling"] * (self.mean_gain() - grp["g0"]))
                break
        with torch.no_grad():
            for grp in self._weight_groups():
                lr = grp["lr"] * scale
                mom, wd = grp["momentum"], grp["weight_decay"]
                for p in grp["params"]:
                    if p.grad is None:
                        continue
                    d_p = p.grad
                    if wd != 0.0:
                        d_p = d_p.add(p, alpha=wd)
                    if mom != 0.0:
                        st = self.state[p]
                        buf = st.get("momentum_buffer")
                        if buf is None:
                            buf = torch.clone(d_p).detach()
                            st["momentum_buffer"] = buf
                        else:
                            buf.mul_(mom).add_(d_p)
                        d_p = buf
                    p.add_(d_p, alpha=-lr)
        self._ngm["entropy_prev"] = h
        self._ngm["iteration"] += 1
        self._ngm["gains_updated"] = False
        return loss

    def fixed_point(self, entropy: float) -> float:
        """Gain reached under a constant entropy: ``g0 + eta H / (1 - gamma)``.

        Parameters
        ----------
        entropy : float
            Constant batch entropy, nats.

        Returns
        -------
        float
            Dimensionless gain (of the first gain group).
        """
        grp = (self._gain_groups() or [self.defaults])[0]
        return grp["g0"] + grp["eta"] * entropy / (1.0 - grp["gamma"])


def _check_hyper(**kw):
    for name, v in kw.items():
        if not isinstance(v, (int, float)) or not math.isfinite(v):
            raise L5SimError(f"{name}: got {v!r}; expected a finite number")
    if kw["lr"] < 0:
        raise L5SimError(f"lr: got {kw['lr']!r}; expected >= 0")
    if not 0.0 <= kw["gamma"] < 1.0:
        raise L5SimError(f"gamma: got {kw['gamma']!r}; expected 0 <= gamma < 1")
    if kw["g0"] <= 0:
        raise L5SimError(f"g0: got {kw['g0']!r}; expected > 0")
    if kw["eta"] < 0:
        raise L5SimError(f"eta: got {kw['eta']!r}; expected >= 0")
    if not 0.0 <= kw["momentum"] < 1.0:
        raise L5SimError(f"momentum: got {kw['momentum']!r}; expected 0 <= momentum < 1")
    if kw["weight_decay"] < 0:
        raise L5SimError(f"weight_decay: got {kw['weight_decay']!r}; expected >= 0")
