"""NAdam: Adam with Nesterov momentum."""
import numpy as np

from .._kernels import kernels as K
from .adam import _check_adam_hyperparameters
from .optimizer import Optimizer, _grad_array, _hyperparameter, _refuse_capturable


class NAdam(Optimizer):
    r"""NAdam (Dozat, 2016; ``torch.optim.NAdam``), optionally with decoupled weight decay
    (NAdamW).

    For each parameter p with gradient g, at step t = 1, 2, ... (PyTorch's formulation, in
    its order)::

        g     <- -g                                   if maximize
        p     <- p * (1 - lr * weight_decay)          if decoupled_weight_decay
        g     <- g + weight_decay * p                 otherwise, if weight_decay != 0
        mu_t  =  beta1 * (1 - 0.5 * 0.96 ** (t * momentum_decay))
        mu_{t+1} = beta1 * (1 - 0.5 * 0.96 ** ((t + 1) * momentum_decay))
        P_t   =  P_{t-1} * mu_t                       (mu_product, P_0 = 1)
        m_t   =  lerp(m_{t-1}, g, 1 - beta1)
        v_t   =  beta2 * v_{t-1} + (1 - beta2) * g * g
        denom =  sqrt(v_t / (1 - beta2**t)) + eps
        p     <- p - lr * (1 - mu_t) / (1 - P_t) * g / denom
        p     <- p - lr * mu_{t+1} / (1 - P_t * mu_{t+1}) * m_t / denom

    State: ``step``, ``mu_product`` (P_t; Python floats rounded to float32 at every product,
    as PyTorch keeps it in a float32 scalar tensor), ``exp_avg`` (m), ``exp_avg_sq`` (v). One
    fused kernel call (``K.nadam_``) per parameter per step. ``lr`` may be a 1-element Tensor;
    ``foreach`` and ``differentiable`` change nothing; ``capturable=True`` raises on the first
    update, as in PyTorch on CPU.
    """

    _scalar_state = ("step", "mu_product")

    def __init__(self, params, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 momentum_decay=4e-3, decoupled_weight_decay=False, *, foreach=None,
                 maximize=False, capturable=False, differentiable=False):
        _check_adam_hyperparameters(lr, tuple(map(float, betas)), eps, weight_decay)
        if not 0.0 <= momentum_decay:
            raise ValueError(f"Invalid momentum_decay value: {momentum_decay}")
        defaults = {"lr": lr, "betas": tuple(betas), "eps": eps,
                    "weight_decay": weight_decay, "momentum_decay": momentum_decay,
                    "decoupled_weight_decay": decoupled_weight_decay, "maximize": maximize,
                    "foreach": foreach, "capturable": capturable,
                    "differentiable": differentiable}
        super().__init__(params, defaults)

    def _init_state(self, p):
        state = self.state[p]
        state["step"] = 0.0
        state["mu_product"] = 1.0
        dtype = p._data.dtype.newbyteorder("=")
        state["exp_avg"] = np.zeros(p._data.shape, dtype)
        state["exp_avg_sq"] = np.zeros(p._data.shape, dtype)
        return state

    def step(self, closure=None):
        """One update of every parameter that has a gradient; returns closure()'s loss."""
        loss = self._evaluate_closure(closure)
        kernel = K.nadam_
        for group in self.param_groups:
            lr = _hyperparameter(group["lr"])
            beta1, beta2 = group["betas"]
            eps = group["eps"]
            weight_decay = group["weight_decay"]
            momentum_decay = group["momentum_decay"]
            decoupled = group["decoupled_weight_decay"]
            maximize = group["maximize"]
            for p in group["params"]:
                if p._grad is None:
                    continue
                if group["capturable"]:
                    _refuse_capturable("params, mu_products and state_steps")
                grad = _grad_array(p)
                state = self.state.get(p) or self._init_state(p)
                step = state["step"] + 1.0
                state["step"] = step
                bias_correction2 = 1 - beta2**step
                mu = beta1 * (1.0 - 0.5 * (0.96 ** (step * momentum_decay)))
                mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((step + 1) * momentum_decay)))
                mu_product = float(np.float32(state["mu_product"]) * np.float32(mu))
                state["mu_product"] = mu_product
                mu_product_next = mu_product * mu_next
                grad_coeff = -lr * (1.0 - mu) / (1.0 - mu_product)
                exp_avg_coeff = (-lr * mu_next) / (1.0 - mu_product_next)
                kernel(p._data, grad, state["exp_avg"], state["exp_avg_sq"], lr, beta1, beta2,
                       eps, weight_decay, decoupled, maximize, bias_correction2, grad_coeff,
                       exp_avg_coeff)
        return loss
