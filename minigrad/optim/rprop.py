"""Rprop: resilient backpropagation."""
import numpy as np

from .._kernels import kernels as K
from .optimizer import Optimizer, _check_tensor_lr, _grad_array, _hyperparameter, _refuse_capturable


class Rprop(Optimizer):
    r"""Rprop (Riedmiller & Braun, 1993; ``torch.optim.Rprop``), the iRprop- variant.

    For each parameter p with gradient g (PyTorch's formulation, in its order; every step
    size starts at lr, and (eta_minus, eta_plus) = etas, (s_min, s_max) = step_sizes)::

        g     <- -g                                   if maximize
        s     =  sign(g * g_prev)
        f     =  eta_plus where s > 0, eta_minus where s < 0, 1 where s = 0
        size  <- clamp(size * f, s_min, s_max)
        g     <- 0 where s < 0                        (skip the update after a sign change)
        p     <- p - sign(g) * size
        g_prev <- g

    Only the gradient's sign is used. State: ``step``, ``prev`` (g_prev), ``step_size``. One
    fused kernel call (``K.rprop_``) per parameter per step. ``lr`` may be a 1-element
    Tensor; ``foreach`` and ``differentiable`` change nothing; ``capturable=True`` raises on
    the first update, as in PyTorch on CPU.
    """

    def __init__(self, params, lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50), *,
                 capturable=False, foreach=None, maximize=False, differentiable=False):
        _check_tensor_lr(lr)
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(f"Invalid eta values: {etas[0]}, {etas[1]}")
        defaults = {"lr": lr, "etas": tuple(etas), "step_sizes": tuple(step_sizes),
                    "foreach": foreach, "maximize": maximize,
                    "differentiable": differentiable, "capturable": capturable}
        super().__init__(params, defaults)

    def _init_state(self, p, lr):
        state = self.state[p]
        state["step"] = 0.0
        dtype = p._data.dtype.newbyteorder("=")
        state["prev"] = np.zeros(p._data.shape, dtype)
        state["step_size"] = np.full(p._data.shape, lr, dtype)
        return state

    def step(self, closure=None):
        """One update of every parameter that has a gradient; returns closure()'s loss."""
        loss = self._evaluate_closure(closure)
        kernel = K.rprop_
        for group in self.param_groups:
            etaminus, etaplus = group["etas"]
            step_size_min, step_size_max = group["step_sizes"]
            maximize = group["maximize"]
            for p in group["params"]:
                if p._grad is None:
                    continue
                if group["capturable"]:
                    _refuse_capturable()
                grad = _grad_array(p, grad_first=True)
                state = self.state.get(p) or self._init_state(p, _hyperparameter(group["lr"]))
                state["step"] += 1.0
                kernel(p._data, grad, state["prev"], state["step_size"], etaminus, etaplus,
                       step_size_min, step_size_max, maximize)
        return loss
