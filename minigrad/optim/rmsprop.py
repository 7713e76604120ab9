"""RMSprop: divide the gradient by a running root-mean-square of recent gradients."""
import numpy as np

from .._kernels import kernels as K
from .optimizer import Optimizer, _check_tensor_lr, _grad_array, _hyperparameter, _refuse_capturable


class RMSprop(Optimizer):
    r"""RMSprop (Hinton's lecture 6e; ``torch.optim.RMSprop``).

    For each parameter p with gradient g (PyTorch's formulation, in its order)::

        g   <- -g                                       if maximize
        g   <- g + weight_decay * p                     if weight_decay != 0
        v   <- alpha * v + (1 - alpha) * g * g
        centered:   m <- lerp(m, g, 1 - alpha)          (= alpha m + (1 - alpha) g)
                    a =  sqrt(v - m * m) + eps
        otherwise:  a =  sqrt(v) + eps
        momentum > 0:  b <- momentum * b + g / a;   p <- p - lr * b
        otherwise:     p <- p - lr * g / a

    eps is added outside the square root (PyTorch's choice; TensorFlow adds it inside).
    State: ``step``, ``square_avg`` (v), ``momentum_buffer`` (b, if momentum > 0),
    ``grad_avg`` (m, if centered). One fused kernel call (``K.rmsprop_``) per parameter.
    ``lr`` may be a 1-element Tensor; ``foreach`` and ``differentiable`` change nothing, and
    ``capturable=True`` raises on the first update, as in PyTorch on CPU.
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                 centered=False, capturable=False, foreach=None, maximize=False,
                 differentiable=False):
        _check_tensor_lr(lr)
        if not 0.0 <= lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if eps < 0.0:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if alpha < 0.0:
            raise ValueError(f"Invalid alpha value: {alpha}")
        defaults = {"lr": lr, "momentum": momentum, "alpha": alpha, "eps": eps,
                    "centered": centered, "weight_decay": weight_decay,
                    "capturable": capturable, "foreach": foreach, "maximize": maximize,
                    "differentiable": differentiable}
        super().__init__(params, defaults)

    def _init_state(self, p, group):
        state = self.state[p]
        shape, dtype = p._data.shape, p._data.dtype.newbyteorder("=")
        state["step"] = 0.0
        state["square_avg"] = np.zeros(shape, dtype)
        if group["momentum"] > 0:
            state["momentum_buffer"] = np.zeros(shape, dtype)
        if group["centered"]:
            state["grad_avg"] = np.zeros(shape, dtype)
        return state

    def step(self, closure=None):
        """One update of every parameter that has a gradient; returns closure()'s loss."""
        loss = self._evaluate_closure(closure)
        kernel = K.rmsprop_
        state = self.state
        for group in self.param_groups:
            lr = _hyperparameter(group["lr"])
            alpha = group["alpha"]
            eps = group["eps"]
            weight_decay = group["weight_decay"]
            momentum = group["momentum"]
            centered = group["centered"]
            maximize = group["maximize"]
            for p in group["params"]:
                if p._grad is None:
                    continue
                if group["capturable"]:
                    _refuse_capturable()
                grad = _grad_array(p)
                param_state = state.get(p)
                if not param_state:
                    param_state = self._init_state(p, group)
                param_state["step"] += 1.0
                kernel(p._data, grad, param_state["square_avg"],
                       param_state.get("grad_avg"), param_state.get("momentum_buffer"),
                       lr, alpha, eps, weight_decay, momentum, centered, maximize)
        return loss
