"""Adam: adaptive moment estimation."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .._kernels import kernels as K
from ..tensor import Tensor
from .optimizer import (
    Optimizer,
    ParamsT,
    _check_fused,
    _grad_array,
    _hyperparameter,
    _refuse_capturable,
)


def _check_adam_hyperparameters(lr, betas, eps, weight_decay, foreach=None, capturable=False):
    if isinstance(lr, Tensor):
        if foreach and not capturable:
            raise ValueError("lr as a Tensor is not supported for capturable=False and "
                             "foreach=True")
        if lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
    if not 0.0 <= lr:
        raise ValueError(f"Invalid learning rate: {lr}")
    if eps < 0.0:
        raise ValueError(f"Invalid epsilon value: {eps}")
    if not 0.0 <= betas[0] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
    if not 0.0 <= betas[1] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
    if weight_decay < 0.0:
        raise ValueError(f"Invalid weight_decay value: {weight_decay}")
    if not ((isinstance(betas[0], float) and isinstance(betas[1], float))
            or (isinstance(betas[0], Tensor) and isinstance(betas[1], Tensor))):
        raise ValueError("betas must be either both floats or both Tensors")  # noqa: TRY004
    for i, beta in enumerate(betas):
        if isinstance(beta, Tensor):
            if foreach and not capturable:
                raise ValueError(f"betas[{i}] as a Tensor is not supported for "
                                 "capturable=False and foreach=True")
            if beta.numel() != 1:
                raise ValueError(f"Tensor betas[{i}] must be 1-element")


class Adam(Optimizer):
    r"""Adam (Kingma & Ba, 2015; ``torch.optim.Adam``), optionally AMSGrad.

    For each parameter p with gradient g, at step t = 1, 2, ... (PyTorch's formulation, in
    its order)::

        g    <- -g                                   if maximize
        p    <- p * (1 - lr * weight_decay)          if decoupled_weight_decay (AdamW)
        g    <- g + weight_decay * p                 otherwise, if weight_decay != 0
        m_t  =  lerp(m_{t-1}, g, 1 - beta1)          (= beta1 m_{t-1} + (1 - beta1) g)
        v_t  =  beta2 * v_{t-1} + (1 - beta2) * g * g
        vmax =  max(vmax, v_t); v_hat = vmax         if amsgrad
        v_hat = v_t                                  otherwise
        step_size = lr / (1 - beta1**t)
        denom = sqrt(v_hat) / sqrt(1 - beta2**t) + eps
        p    <- p - step_size * m_t / denom

    The bias corrections are folded into step_size and denom (computed here, once per step
    count, in float64) rather than applied to m and v; eps is therefore added to the
    bias-corrected sqrt(v), exactly as in PyTorch. State: ``step``, ``exp_avg`` (m),
    ``exp_avg_sq`` (v), ``max_exp_avg_sq`` (vmax, if amsgrad). One fused kernel call
    (``K.adam_``) per parameter per step.

    ``lr`` and the betas may be 1-element Tensors (PyTorch's rules: both betas floats or
    both Tensors; a Tensor lr or beta with ``foreach=True`` raises). ``foreach``, ``fused``
    and ``differentiable`` change nothing; ``fused=True`` raises with ``foreach=True`` or
    ``differentiable=True``, and ``capturable=True`` raises on the first update (it needs an
    accelerator), as in PyTorch on CPU.
    """

    def __init__(self, params: ParamsT, lr: float | Tensor = 1e-3,
                 betas: tuple[float | Tensor, float | Tensor] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, amsgrad: bool = False, *,
                 foreach: bool | None = None, maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False, fused: bool | None = None,
                 decoupled_weight_decay: bool = False) -> None:
        _check_adam_hyperparameters(lr, betas, eps, weight_decay, foreach, capturable)
        defaults = {"lr": lr, "betas": tuple(betas), "eps": eps,
                    "weight_decay": weight_decay, "amsgrad": amsgrad, "maximize": maximize,
                    "foreach": foreach, "capturable": capturable,
                    "differentiable": differentiable, "fused": fused,
                    "decoupled_weight_decay": decoupled_weight_decay}
        super().__init__(params, defaults)
        _check_fused(fused, foreach, differentiable)

    def _init_state(self, p, group):
        state = self.state[p]
        shape, dtype = p._data.shape, p._data.dtype
        state["step"] = 0.0
        dtype = dtype.newbyteorder("=")
        state["exp_avg"] = np.zeros(shape, dtype)
        state["exp_avg_sq"] = np.zeros(shape, dtype)
        if group["amsgrad"]:
            state["max_exp_avg_sq"] = np.zeros(shape, dtype)
        return state

    def step(self, closure: Callable[[], float] | None = None) -> float | None:
        """One update of every parameter that has a gradient; returns closure()'s loss."""
        loss = self._evaluate_closure(closure)
        kernel = K.adam_
        state = self.state
        for group in self.param_groups:
            lr = _hyperparameter(group["lr"])
            beta1, beta2 = map(_hyperparameter, group["betas"])
            eps = group["eps"]
            weight_decay = group["weight_decay"]
            amsgrad = group["amsgrad"]
            maximize = group["maximize"]
            decoupled = group["decoupled_weight_decay"]
            last_step = None
            if group["capturable"] and any(p._grad is not None for p in group["params"]):
                _refuse_capturable()
            for p in group["params"]:
                if p._grad is None:
                    continue
                grad = p._grad._data
                if grad.shape != p._data.shape:  # broadcast, or PyTorch's error
                    grad = _grad_array(p)
                param_state = state.get(p)
                if not param_state:
                    param_state = self._init_state(p, group)
                step = param_state["step"] + 1.0
                param_state["step"] = step
                if step != last_step:
                    # Parameters of a group usually share the step count: compute once.
                    last_step = step
                    step_size = lr / (1 - beta1**step)
                    bias_correction2_sqrt = (1 - beta2**step) ** 0.5
                kernel(p._data, grad, param_state["exp_avg"],
                       param_state["exp_avg_sq"], param_state.get("max_exp_avg_sq"),
                       lr, beta1, beta2, eps, weight_decay, decoupled, amsgrad,
                       maximize, step_size, bias_correction2_sqrt)
        return loss
