"""Adamax: Adam with the infinity norm."""
import numpy as np

from .._kernels import kernels as K
from .adam import _check_adam_hyperparameters
from .optimizer import Optimizer, _grad_array, _hyperparameter, _refuse_capturable


class Adamax(Optimizer):
    r"""Adamax (Kingma & Ba, 2015, section 7; ``torch.optim.Adamax``).

    For each parameter p with gradient g, at step t = 1, 2, ... (PyTorch's formulation, in
    its order)::

        g    <- -g                                    if maximize
        g    <- g + weight_decay * p                  if weight_decay != 0
        m_t  =  lerp(m_{t-1}, g, 1 - beta1)
        u_t  =  max(beta2 * u_{t-1}, |g| + eps)
        p    <- p - lr / (1 - beta1**t) * m_t / u_t

    eps sits inside the maximum (PyTorch's choice), so u_t > 0 from the first step. State:
    ``step``, ``exp_avg`` (m), ``exp_inf`` (u). One fused kernel call (``K.adamax_``) per
    parameter per step. ``lr`` may be a 1-element Tensor; ``foreach`` and ``differentiable``
    change nothing; ``capturable=True`` raises on the first update, as in PyTorch on CPU.
    """

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 foreach=None, *, maximize=False, differentiable=False, capturable=False):
        _check_adam_hyperparameters(lr, tuple(map(float, betas)), eps, weight_decay)
        defaults = {"lr": lr, "betas": tuple(betas), "eps": eps,
                    "weight_decay": weight_decay, "foreach": foreach, "maximize": maximize,
                    "differentiable": differentiable, "capturable": capturable}
        super().__init__(params, defaults)

    def _init_state(self, p):
        state = self.state[p]
        state["step"] = 0.0
        dtype = p._data.dtype.newbyteorder("=")
        state["exp_avg"] = np.zeros(p._data.shape, dtype)
        state["exp_inf"] = np.zeros(p._data.shape, dtype)
        return state

    def step(self, closure=None):
        """One update of every parameter that has a gradient; returns closure()'s loss."""
        loss = self._evaluate_closure(closure)
        kernel = K.adamax_
        for group in self.param_groups:
            lr = _hyperparameter(group["lr"])
            beta1, beta2 = group["betas"]
            eps = group["eps"]
            weight_decay = group["weight_decay"]
            maximize = group["maximize"]
            for p in group["params"]:
                if p._grad is None:
                    continue
                if group["capturable"]:
                    _refuse_capturable()
                grad = _grad_array(p)
                state = self.state.get(p) or self._init_state(p)
                step = state["step"] + 1.0
                state["step"] = step
                clr = lr / (1 - beta1**step)
                kernel(p._data, grad, state["exp_avg"], state["exp_inf"], beta1, beta2, eps,
                       weight_decay, maximize, clr)
        return loss
