"""Stochastic gradient descent, with optional momentum, Nesterov momentum and weight decay."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .._kernels import kernels as K
from ..tensor import Tensor
from .optimizer import (
    Optimizer,
    ParamsT,
    _check_fused,
    _check_tensor_lr,
    _grad_array,
    _hyperparameter,
)


class SGD(Optimizer):
    r"""Stochastic gradient descent (``torch.optim.SGD``).

    For each parameter p with gradient g, at step t (PyTorch's formulation, in its order)::

        g   <- -g                                  if maximize
        g   <- g + weight_decay * p                if weight_decay != 0
        b_t <- g                                   if t == 1           (momentum != 0)
        b_t <- momentum * b_{t-1} + (1 - dampening) * g                otherwise
        g   <- g + momentum * b_t                  if nesterov
        g   <- b_t                                 otherwise
        p   <- p - lr * g

    Unlike Sutskever et al., the learning rate multiplies the whole update, not the
    gradient inside the momentum buffer; this is PyTorch's convention.

    The buffer ``state[p]["momentum_buffer"]`` exists once p has been updated with
    momentum != 0. One fused kernel call (``K.sgd_``) per parameter per step. ``lr`` and
    ``weight_decay`` may be 1-element Tensors. ``foreach``, ``fused`` and ``differentiable``
    are accepted and change nothing (``fused=True`` raises with ``foreach=True`` or
    ``differentiable=True``, as in PyTorch).
    """

    def __init__(self, params: ParamsT, lr: float | Tensor = 1e-3, momentum: float = 0,
                 dampening: float = 0, weight_decay: float = 0, nesterov: bool = False, *,
                 maximize: bool = False, foreach: bool | None = None,
                 differentiable: bool = False, fused: bool | None = None) -> None:
        _check_tensor_lr(lr)
        if lr < 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = {"lr": lr, "momentum": momentum, "dampening": dampening,
                    "weight_decay": weight_decay, "nesterov": nesterov, "maximize": maximize,
                    "foreach": foreach, "differentiable": differentiable, "fused": fused}
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, defaults)
        _check_fused(fused, foreach, differentiable)

    def step(self, closure: Callable[[], float] | None = None) -> float | None:
        """One update of every parameter that has a gradient; returns closure()'s loss."""
        loss = self._evaluate_closure(closure)
        kernel = K.sgd_
        state = self.state
        for group in self.param_groups:
            lr = _hyperparameter(group["lr"])
            momentum = group["momentum"]
            dampening = group["dampening"]
            weight_decay = _hyperparameter(group["weight_decay"])
            nesterov = group["nesterov"]
            maximize = group["maximize"]
            for p in group["params"]:
                if p._grad is None:
                    continue
                grad = p._grad._data
                if grad.shape != p._data.shape:  # broadcast, or PyTorch's error
                    grad = _grad_array(p)
                param = p._data
                buf = None
                first_step = False
                if momentum != 0:
                    param_state = state[p]
                    buf = param_state.get("momentum_buffer")
                    if buf is None:
                        # The first step copies the (decayed) gradient into the buffer.
                        buf = param_state["momentum_buffer"] = np.empty(
                            param.shape, param.dtype.newbyteorder("="))
                        first_step = True
                kernel(param, grad, buf, lr, weight_decay, momentum,
                       dampening, nesterov, maximize, first_step)
        return loss
