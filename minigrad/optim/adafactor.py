"""Adafactor: Adam-like steps with a factored (row x column) second moment."""
import numpy as np

from .._kernels import kernels as K
from ..tensor import Tensor
from .optimizer import Optimizer, _check_tensor_lr, _grad_array, _hyperparameter


def _lerp_(start, end, weight):
    """start <- torch.lerp(start, end, weight) in place (ATen's two forms, scalar weight)."""
    w = start.dtype.type(weight)
    if abs(float(w)) < 0.5:
        start[...] = start + w * (end - start)
    else:
        start[...] = end - (end - start) * (start.dtype.type(1) - w)


def _norm(x):
    """The 2-norm of all of x, as a Python float (a BLAS dot product: no temporary)."""
    flat = x.reshape(-1)
    return float(np.sqrt(np.dot(flat, flat)))


class Adafactor(Optimizer):
    r"""Adafactor (Shazeer & Stern, 2018; ``torch.optim.Adafactor``, PyTorch's variant).

    For each parameter p (n elements) with gradient g, at step t = 1, 2, ... (PyTorch's
    formulation, in its order; eps = (eps1, eps2), eps1 None meaning the dtype's machine
    epsilon)::

        g      <- -g                                   if maximize
        b_t    =  t ** beta2_decay                     (the weight of the new moment)
        rho_t  =  min(lr, 1 / sqrt(t))
        alpha  =  max(eps2, ||p||_2 / sqrt(n)) * rho_t
        p      <- p * (1 - lr * weight_decay)
        p with >= 2 dims (rows r, columns c over the last two dims):
            R <- lerp(R, ||g||^2 over the last dim / c, b_t)          (row_var, shape (.., r, 1))
            C <- lerp(C, ||g||^2 over the second-to-last dim / r, b_t) (col_var, shape (.., 1, c))
            V  =  (R @ C) / max(mean of R over the rows, eps1)
        otherwise:
            V <- lerp(V, g * g, b_t); V = a copy of it                (variance)
        u      =  g / sqrt(max(V, eps1**2))
        p      <- p - alpha / max(1, ||u||_2 / (sqrt(n) * d)) * u

    The second moment of an r x c matrix costs r + c numbers instead of r c. State: ``step``
    and ``row_var`` and ``col_var`` (parameters with two or more dimensions) or ``variance``.
    The row and column reductions are numpy's; the elementwise update direction u of a
    factored parameter is one kernel pass (``K.adafactor_update_``). The operations and their
    order are PyTorch's, so trajectories agree to round-off (the reductions sum in another
    order). ``lr`` may be a 1-element Tensor;
    ``foreach`` changes nothing.
    """

    def __init__(self, params, lr=1e-2, beta2_decay=-0.8, eps=(None, 1e-3), d=1.0,
                 weight_decay=0.0, *, foreach=None, maximize=False):
        _check_tensor_lr(lr)
        if not 0.0 <= lr:
            raise ValueError(f"Learning rate should be >= 0 but is: {lr}")
        if not 0.0 >= beta2_decay:
            raise ValueError(f"beta2_decay should be <= 0 but is: {beta2_decay}")
        if eps[0] is not None and not 0.0 <= eps[0]:
            raise ValueError(f"epsilon1 should be >= 0 but is: {eps[0]}")
        if not 0.0 <= eps[1]:
            raise ValueError(f"epsilon2 should be >= 0 but is: {eps[1]}")
        if not 1.0 <= d:
            raise ValueError(f"Clipping threshold d should be >= 1 but is: {d}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"weight_decay should be >= 0 but is: {weight_decay}")
        defaults = {"lr": lr, "beta2_decay": beta2_decay, "eps": eps, "d": d,
                    "weight_decay": weight_decay, "foreach": foreach, "maximize": maximize}
        super().__init__(params, defaults)

    def _init_state(self, p):
        state = self.state[p]
        state["step"] = 0.0
        shape, dtype = p._data.shape, p._data.dtype.newbyteorder("=")
        if len(shape) > 1:
            state["row_var"] = np.zeros(shape[:-1] + (1,), dtype)
            state["col_var"] = np.zeros(shape[:-2] + (1, shape[-1]), dtype)
        else:
            state["variance"] = np.zeros(shape, dtype)
        return state

    def _load_param_state(self, value, param, index):
        """row_var and col_var have their own shapes: cast them, keep their shapes."""
        dtype = param._data.dtype.newbyteorder("=")
        loaded = {}
        for key, item in value.items():
            if isinstance(item, Tensor):
                item = item._data
            elif hasattr(item, "__array__") and not isinstance(item, (np.ndarray, np.generic)):
                item = np.asarray(item)
            if key == "step":
                loaded[key] = float(item)
            elif isinstance(item, (np.ndarray, np.generic)):
                loaded[key] = np.array(item, dtype=dtype, order="C", copy=True)
            else:
                loaded[key] = item
        return loaded

    def step(self, closure=None):
        """One update of every parameter that has a gradient; returns closure()'s loss."""
        loss = self._evaluate_closure(closure)
        for group in self.param_groups:
            lr = _hyperparameter(group["lr"])
            beta2_decay = group["beta2_decay"]
            eps1, eps2 = group["eps"]
            d = group["d"]
            weight_decay = group["weight_decay"]
            maximize = group["maximize"]
            for p in group["params"]:
                if p._grad is None:
                    continue
                grad = _grad_array(p)
                param = p._data
                dtype = param.dtype.newbyteorder("=")
                grad = np.asarray(grad, dtype=dtype)
                if maximize:
                    grad = -grad
                state = self.state.get(p) or self._init_state(p)
                eps1_value = float(np.finfo(dtype).eps) if eps1 is None else eps1
                step = state["step"] + 1.0
                state["step"] = step

                one_minus_beta2_t = step**beta2_decay
                rho_t = min(lr, 1 / (step**0.5))
                alpha = max(eps2, _norm(param) / (param.size**0.5)) * rho_t
                if weight_decay != 0:
                    param[...] = param * dtype.type(1 - lr * weight_decay)

                # The update u is built in one array, in place (no temporaries of p's size).
                if grad.ndim > 1:
                    row_var, col_var = state["row_var"], state["col_var"]
                    squared = grad * grad
                    row_mean = squared.sum(axis=-1, keepdims=True)
                    row_mean /= dtype.type(grad.shape[-1])
                    _lerp_(row_var, row_mean, one_minus_beta2_t)
                    col_mean = squared.sum(axis=-2, keepdims=True)
                    col_mean /= dtype.type(grad.shape[-2])
                    _lerp_(col_var, col_mean, one_minus_beta2_t)
                    row_var_mean = np.maximum(row_var.mean(axis=-2, keepdims=True),
                                              dtype.type(eps1_value))
                    # u = g / sqrt(max((R @ C) / mean, eps1**2)): one fused kernel pass.
                    rows, cols = grad.shape[-2:]
                    update = squared
                    K.adafactor_update_(update, grad, row_var, col_var, row_var_mean,
                                        grad.size // (rows * cols), rows, cols,
                                        eps1_value * eps1_value)
                else:
                    variance = state["variance"]
                    _lerp_(variance, grad * grad, one_minus_beta2_t)
                    update = variance.copy()
                    np.maximum(update, dtype.type(eps1_value * eps1_value), out=update)
                    np.sqrt(update, out=update)
                    np.divide(dtype.type(1), update, out=update)  # rsqrt
                    update *= grad
                denom = max(1.0, _norm(update) / ((update.size**0.5) * d))
                update *= dtype.type(-alpha / denom)
                param += update
        return loss
