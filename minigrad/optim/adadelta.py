"""Adadelta: step sizes from running averages of squared gradients and squared updates."""
import numpy as np

from .._kernels import kernels as K
from .optimizer import Optimizer, _check_tensor_lr, _grad_array, _hyperparameter, _refuse_capturable


class Adadelta(Optimizer):
    r"""Adadelta (Zeiler, 2012; ``torch.optim.Adadelta``).

    For each parameter p with gradient g (PyTorch's formulation, in its order)::

        g     <- -g                                   if maximize
        g     <- g + weight_decay * p                 if weight_decay != 0
        v_t   =  rho * v_{t-1} + (1 - rho) * g * g
        d_t   =  sqrt(u_{t-1} + eps) / sqrt(v_t + eps) * g
        u_t   =  rho * u_{t-1} + (1 - rho) * d_t * d_t
        p     <- p - lr * d_t

    PyTorch keeps a learning rate (1.0 by default, the paper's method) that scales d_t.
    State: ``step``, ``square_avg`` (v), ``acc_delta`` (u). One fused kernel call
    (``K.adadelta_``) per parameter per step. ``lr`` may be a 1-element Tensor; ``foreach``
    and ``differentiable`` change nothing; ``capturable=True`` raises on the first update,
    as in PyTorch on CPU.
    """

    def __init__(self, params, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, foreach=None, *,
                 capturable=False, maximize=False, differentiable=False):
        _check_tensor_lr(lr)
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = {"lr": lr, "rho": rho, "eps": eps, "weight_decay": weight_decay,
                    "maximize": maximize, "capturable": capturable, "foreach": foreach,
                    "differentiable": differentiable}
        super().__init__(params, defaults)

    def _init_state(self, p):
        state = self.state[p]
        state["step"] = 0.0
        dtype = p._data.dtype.newbyteorder("=")
        state["square_avg"] = np.zeros(p._data.shape, dtype)
        state["acc_delta"] = np.zeros(p._data.shape, dtype)
        return state

    def step(self, closure=None):
        """One update of every parameter that has a gradient; returns closure()'s loss."""
        loss = self._evaluate_closure(closure)
        kernel = K.adadelta_
        for group in self.param_groups:
            lr = _hyperparameter(group["lr"])
            rho = group["rho"]
            eps = group["eps"]
            weight_decay = group["weight_decay"]
            maximize = group["maximize"]
            for p in group["params"]:
                if p._grad is None:
                    continue
                if group["capturable"]:
                    _refuse_capturable(devices="['cuda', 'xpu', 'hpu', 'privateuseone']")
                grad = _grad_array(p)
                state = self.state.get(p) or self._init_state(p)
                state["step"] += 1.0
                kernel(p._data, grad, state["square_avg"], state["acc_delta"], lr, rho, eps,
                       weight_decay, maximize)
        return loss
