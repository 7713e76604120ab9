"""ASGD: averaged stochastic gradient descent."""
import numpy as np

from .._kernels import kernels as K
from .optimizer import Optimizer, _check_tensor_lr, _grad_array, _hyperparameter, _refuse_capturable


def _float32(value):
    """value rounded to float32: PyTorch keeps eta and mu in float32 scalar tensors."""
    return float(np.float32(value))


class ASGD(Optimizer):
    r"""Averaged SGD (Polyak & Juditsky, 1992; ``torch.optim.ASGD``).

    For each parameter p with gradient g, at step t = 1, 2, ... (PyTorch's formulation, in
    its order; eta_0 = lr, mu_0 = 1)::

        g     <- -g                                   if maximize
        g     <- g + weight_decay * p                 if weight_decay != 0
        p     <- p * (1 - lambd * eta_{t-1})
        p     <- p - eta_{t-1} * g
        ax    <- ax + (p - ax) * mu_{t-1}             if mu_{t-1} != 1, else ax <- p
        eta_t =  lr / (1 + lambd * lr * t) ** alpha
        mu_t  =  1 / max(1, t - t0)

    ax, the average of the iterates since step t0, is the estimate ASGD is named after; the
    parameter itself follows plain SGD with a decaying step. State: ``step``, ``eta``, ``mu``
    (Python floats rounded to float32, as PyTorch's float32 scalar tensors) and ``ax``. One
    fused kernel call (``K.asgd_``) per parameter per step. ``lr`` may be a 1-element Tensor;
    ``foreach`` and ``differentiable`` change nothing; ``capturable=True`` raises on the
    first update, as in PyTorch on CPU.
    """

    _scalar_state = ("step", "eta", "mu")

    def __init__(self, params, lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0,
                 foreach=None, maximize=False, differentiable=False, capturable=False):
        _check_tensor_lr(lr)
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = {"lr": lr, "lambd": lambd, "alpha": alpha, "t0": t0,
                    "weight_decay": weight_decay, "foreach": foreach, "maximize": maximize,
                    "differentiable": differentiable, "capturable": capturable}
        super().__init__(params, defaults)

    def _init_state(self, p, lr):
        state = self.state[p]
        state["step"] = 0.0
        state["eta"] = _float32(lr)
        state["mu"] = 1.0
        state["ax"] = np.zeros(p._data.shape, p._data.dtype.newbyteorder("="))
        return state

    def step(self, closure=None):
        """One update of every parameter that has a gradient; returns closure()'s loss."""
        loss = self._evaluate_closure(closure)
        kernel = K.asgd_
        for group in self.param_groups:
            lr = _hyperparameter(group["lr"])
            lambd = group["lambd"]
            alpha = group["alpha"]
            t0 = group["t0"]
            weight_decay = group["weight_decay"]
            maximize = group["maximize"]
            for p in group["params"]:
                if p._grad is None:
                    continue
                if group["capturable"]:
                    _refuse_capturable("params, mus, etas, and state_steps")
                grad = _grad_array(p)
                state = self.state.get(p) or self._init_state(p, lr)
                step = state["step"] + 1.0
                state["step"] = step
                kernel(p._data, grad, state["ax"], state["eta"], lambd, state["mu"],
                       weight_decay, maximize)
                state["eta"] = _float32(lr / ((1 + lambd * lr * step) ** alpha))
                state["mu"] = _float32(1 / max(1, step - t0))
        return loss
