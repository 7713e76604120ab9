"""Adagrad: per-coordinate learning rates from the sum of squared gradients."""
import numpy as np

from .._kernels import kernels as K
from .optimizer import Optimizer, _check_fused, _check_tensor_lr, _grad_array, _hyperparameter


class Adagrad(Optimizer):
    r"""Adagrad (Duchi et al., 2011; ``torch.optim.Adagrad``).

    For each parameter p with gradient g, at step t = 1, 2, ... (PyTorch's order)::

        g     <- -g                                 if maximize
        g     <- g + weight_decay * p               if weight_decay != 0
        clr   =  lr / (1 + (t - 1) * lr_decay)
        s_t   =  s_{t-1} + g * g                    (s_0 = initial_accumulator_value)
        p     <- p - clr * g / (sqrt(s_t) + eps)

    As in PyTorch, the state (``step`` and the accumulator ``sum``) is created in
    ``__init__`` rather than on the first step (for a group added later, on its first step).
    One fused kernel call (``K.adagrad_``) per parameter per step; ``clr`` is computed here,
    once per parameter. ``lr`` may be a 1-element Tensor; ``foreach``, ``fused`` and
    ``differentiable`` change nothing (``fused=True`` raises with ``foreach=True`` or
    ``differentiable=True``, as in PyTorch).
    """

    def __init__(self, params, lr=1e-2, lr_decay=0, weight_decay=0,
                 initial_accumulator_value=0, eps=1e-10, foreach=None, *, maximize=False,
                 differentiable=False, fused=None):
        _check_tensor_lr(lr)
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if lr_decay < 0.0:
            raise ValueError(f"Invalid lr_decay value: {lr_decay}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if initial_accumulator_value < 0.0:
            raise ValueError("Invalid initial_accumulator_value value: "
                             f"{initial_accumulator_value}")
        if eps < 0.0:
            raise ValueError(f"Invalid epsilon value: {eps}")
        defaults = {"lr": lr, "lr_decay": lr_decay, "eps": eps, "weight_decay": weight_decay,
                    "initial_accumulator_value": initial_accumulator_value,
                    "foreach": foreach, "maximize": maximize,
                    "differentiable": differentiable, "fused": fused}
        super().__init__(params, defaults)
        _check_fused(fused, foreach, differentiable)
        for group in self.param_groups:
            for p in group["params"]:
                self._init_state(p, group)

    def _init_state(self, p, group):
        state = self.state[p]
        state["step"] = 0.0
        state["sum"] = np.full(p._data.shape, group["initial_accumulator_value"],
                               dtype=p._data.dtype.newbyteorder("="))
        return state

    def step(self, closure=None):
        """One update of every parameter that has a gradient; returns closure()'s loss."""
        loss = self._evaluate_closure(closure)
        kernel = K.adagrad_
        state = self.state
        for group in self.param_groups:
            lr = _hyperparameter(group["lr"])
            lr_decay = group["lr_decay"]
            weight_decay = group["weight_decay"]
            eps = group["eps"]
            maximize = group["maximize"]
            for p in group["params"]:
                if p._grad is None:
                    continue
                grad = _grad_array(p)
                param_state = state.get(p)
                if not param_state:
                    param_state = self._init_state(p, group)
                step = param_state["step"] + 1.0
                param_state["step"] = step
                clr = lr / (1 + (step - 1) * lr_decay)
                kernel(p._data, grad, param_state["sum"], clr,
                       weight_decay, eps, maximize)
        return loss
