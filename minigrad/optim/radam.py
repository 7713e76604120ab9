"""RAdam: Adam with a rectified adaptive learning rate."""
import numpy as np

from .._kernels import kernels as K
from .adam import _check_adam_hyperparameters
from .optimizer import Optimizer, _grad_array, _hyperparameter, _refuse_capturable


class RAdam(Optimizer):
    r"""RAdam (Liu et al., 2020; ``torch.optim.RAdam``), optionally with decoupled weight
    decay.

    For each parameter p with gradient g, at step t = 1, 2, ... (PyTorch's formulation, in
    its order)::

        g     <- -g                                   if maximize
        p     <- p * (1 - lr * weight_decay)          if decoupled_weight_decay
        g     <- g + weight_decay * p                 otherwise, if weight_decay != 0
        m_t   =  lerp(m_{t-1}, g, 1 - beta1)
        v_t   =  beta2 * v_{t-1} + (1 - beta2) * g * g
        m_hat =  m_t / (1 - beta1**t)
        rho_inf = 2 / (1 - beta2) - 1
        rho_t =  rho_inf - 2 t beta2**t / (1 - beta2**t)
        if rho_t > 5:
            r_t = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t))
            p <- p - m_hat * lr * (sqrt(1 - beta2**t) / (sqrt(v_t) + eps)) * r_t
        else:
            p <- p - m_hat * lr

    State: ``step``, ``exp_avg`` (m), ``exp_avg_sq`` (v). One fused kernel call
    (``K.radam_``) per parameter per step. ``lr`` may be a 1-element Tensor; ``foreach`` and
    ``differentiable`` change nothing; ``capturable=True`` raises on the first update, as in
    PyTorch on CPU.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 decoupled_weight_decay=False, *, foreach=None, maximize=False,
                 capturable=False, differentiable=False):
        _check_adam_hyperparameters(lr, tuple(map(float, betas)), eps, weight_decay)
        defaults = {"lr": lr, "betas": tuple(betas), "eps": eps,
                    "weight_decay": weight_decay, "maximize": maximize, "foreach": foreach,
                    "capturable": capturable, "decoupled_weight_decay": decoupled_weight_decay,
                    "differentiable": differentiable}
        super().__init__(params, defaults)

    def _init_state(self, p):
        state = self.state[p]
        state["step"] = 0.0
        dtype = p._data.dtype.newbyteorder("=")
        state["exp_avg"] = np.zeros(p._data.shape, dtype)
        state["exp_avg_sq"] = np.zeros(p._data.shape, dtype)
        return state

    def step(self, closure=None):
        """One update of every parameter that has a gradient; returns closure()'s loss."""
        loss = self._evaluate_closure(closure)
        kernel = K.radam_
        for group in self.param_groups:
            lr = _hyperparameter(group["lr"])
            beta1, beta2 = group["betas"]
            eps = group["eps"]
            weight_decay = group["weight_decay"]
            decoupled = group["decoupled_weight_decay"]
            maximize = group["maximize"]
            rho_inf = 2 / (1 - beta2) - 1
            for p in group["params"]:
                if p._grad is None:
                    continue
                if group["capturable"]:
                    _refuse_capturable()
                grad = _grad_array(p)
                state = self.state.get(p) or self._init_state(p)
                step = state["step"] + 1.0
                state["step"] = step
                bias_correction1 = 1 - beta1**step
                bias_correction2 = 1 - beta2**step
                rho_t = rho_inf - 2 * step * (beta2**step) / bias_correction2
                rect = 0.0
                if rho_t > 5.0:
                    rect = ((rho_t - 4) * (rho_t - 2) * rho_inf
                            / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
                kernel(p._data, grad, state["exp_avg"], state["exp_avg_sq"], lr, beta1, beta2,
                       eps, weight_decay, decoupled, maximize, bias_correction1,
                       bias_correction2**0.5, rect)
        return loss
