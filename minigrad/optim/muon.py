"""Muon: momentum SGD whose update is orthogonalised by a Newton-Schulz iteration."""
import math

import numpy as np

from .._kernels import kernels as K
from .optimizer import Optimizer, _check_tensor_lr, _grad_array, _hyperparameter

EPS = 1e-7
DEFAULT_A = 3.4445
DEFAULT_B = -4.7750
DEFAULT_C = 2.0315
DEFAULT_NS_STEPS = 5


def _bfloat16(x, copy=False):
    """x rounded to bfloat16 (round to nearest even), held in a float32 array.

    PyTorch runs Muon's Newton-Schulz iteration in bfloat16; numpy has no bfloat16, so each
    operation is computed in float32 and its result rounded to bfloat16's 8 significant bits
    (the kernel ``K.bfloat16_round_``). Rounds in place when x is already a C-contiguous
    float32 array (a temporary of the iteration) unless ``copy``."""
    x = np.array(x, dtype=np.float32, order="C", copy=True) if copy else \
        np.ascontiguousarray(x, dtype=np.float32)
    K.bfloat16_round_(x)
    return x


def _zeropower_via_newtonschulz(grad, ns_coefficients, ns_steps, eps):
    """The nearest semi-orthogonal matrix to ``grad`` (U V^T of its SVD U S V^T),
    approximately, by ``ns_steps`` iterations of the quintic Newton-Schulz map
    X <- a X + (b A + c A A) X with A = X X^T, from X = grad / ||grad||_F, in bfloat16."""
    if ns_steps >= 100:
        raise ValueError("Number of steps must be less than 100 for computational efficiency")
    if grad.ndim != 2:
        raise ValueError("Input tensor gradient must be a 2D matrix")
    if len(ns_coefficients) != 3:
        raise ValueError("Coefficients must be a tuple of exactly 3 values")
    a, b, c = (np.float32(v) for v in ns_coefficients)
    transposed = grad.shape[0] > grad.shape[1]
    x = _bfloat16(grad.T if transposed else grad, copy=True)
    flat = x.reshape(-1)
    # x / max(||x||, eps), each operand and the result rounded to bfloat16.
    norm = _bfloat16(np.sqrt(np.dot(flat, flat)))
    x /= np.maximum(norm, _bfloat16(eps))
    K.bfloat16_round_(x)
    for _ in range(ns_steps):
        gram_matrix = x @ x.T                                     # A = X X^T
        K.bfloat16_round_(gram_matrix)
        gram_update = gram_matrix @ gram_matrix                   # b A + c A A
        gram_update *= c
        gram_update += b * gram_matrix
        K.bfloat16_round_(gram_update)
        new_x = gram_update @ x                                   # a X + (b A + c A A) X
        new_x += a * x
        K.bfloat16_round_(new_x)
        x = new_x
    return x.T if transposed else x


def _adjust_lr(lr, adjust_lr_fn, param_shape):
    """The lr scaled for the matrix's shape (A, B): sqrt(max(1, A / B)) ("original", the
    default) or 0.2 sqrt(max(A, B)) ("match_rms_adamw", an update of AdamW's size)."""
    rows, cols = param_shape[:2]
    if adjust_lr_fn is None or adjust_lr_fn == "original":
        adjusted_ratio = math.sqrt(max(1, rows / cols))
    elif adjust_lr_fn == "match_rms_adamw":
        adjusted_ratio = 0.2 * math.sqrt(max(rows, cols))
    else:
        adjusted_ratio = 1.0
    return lr * adjusted_ratio


class Muon(Optimizer):
    r"""Muon (Jordan et al., 2024; ``torch.optim.Muon``), for 2-D parameters only.

    For each matrix parameter p with gradient g (PyTorch's formulation, in its order)::

        b   <- lerp(b, g, 1 - momentum)               (momentum_buffer)
        u   =  lerp(g, b, momentum)  if nesterov, else b
        O   =  NewtonSchulz(u)                        (~ U V^T for u = U S V^T; bfloat16)
        p   <- p * (1 - lr * weight_decay)
        p   <- p - adjusted_lr * O                    (adjusted_lr: see adjust_lr_fn)

    Written in numpy (matrix products, not an elementwise kernel). The Newton-Schulz iteration
    runs in bfloat16 as in PyTorch, emulated by rounding every float32 result to bfloat16, so
    the orthogonalised update agrees with PyTorch's to bfloat16 round-off (its matrix products
    may sum in another order); the rest is exact. ``lr`` may be a 1-element Tensor.
    """

    def __init__(self, params, lr=1e-3, weight_decay=0.1, momentum=0.95, nesterov=True,
                 ns_coefficients=(DEFAULT_A, DEFAULT_B, DEFAULT_C), eps=EPS,
                 ns_steps=DEFAULT_NS_STEPS, adjust_lr_fn=None):
        _check_tensor_lr(lr)
        if not 0.0 <= lr:
            raise ValueError(f"Learning rate should be >= 0 but is: {lr}")
        if not 0.0 <= momentum:
            raise ValueError(f"momentum should be >= 0 but is: {momentum}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"weight decay should be >= 0 but is: {weight_decay}")
        if adjust_lr_fn is not None and adjust_lr_fn not in ["original", "match_rms_adamw"]:
            raise ValueError(f"Adjust learning rate function {adjust_lr_fn} is not supported")
        defaults = {"lr": lr, "weight_decay": weight_decay, "momentum": momentum,
                    "nesterov": nesterov, "ns_coefficients": ns_coefficients, "eps": eps,
                    "ns_steps": ns_steps, "adjust_lr_fn": adjust_lr_fn}
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                if p.ndim != 2:
                    raise ValueError("Muon only supports 2D parameters whereas we found a "
                                     f"parameter with size: {p.size()}")

    def step(self, closure=None):
        """One update of every parameter that has a gradient; returns closure()'s loss."""
        loss = self._evaluate_closure(closure)
        for group in self.param_groups:
            lr = _hyperparameter(group["lr"])
            weight_decay = group["weight_decay"]
            momentum = group["momentum"]
            for p in group["params"]:
                if p._grad is None:
                    continue
                param = p._data
                dtype = param.dtype.newbyteorder("=")
                grad = np.asarray(_grad_array(p), dtype=dtype)
                if grad.ndim != 2:
                    raise ValueError("Param gradient must be a 2D matrix")
                state = self.state[p]
                if "momentum_buffer" not in state:
                    state["momentum_buffer"] = np.zeros(grad.shape, dtype)
                buf = state["momentum_buffer"]
                _lerp_(buf, grad, 1 - momentum)
                if group["nesterov"]:
                    update = grad.copy()
                    _lerp_(update, buf, momentum)
                else:
                    update = buf
                update = _zeropower_via_newtonschulz(update, group["ns_coefficients"],
                                                     group["ns_steps"], group["eps"])
                adjusted_lr = _adjust_lr(lr, group["adjust_lr_fn"], param.shape)
                param[...] = param * dtype.type(1 - lr * weight_decay)
                param[...] = param + dtype.type(-adjusted_lr) * update.astype(dtype)
        return loss


def _lerp_(start, end, weight):
    """start <- torch.lerp(start, end, weight) in place (ATen's two forms, scalar weight)."""
    w = start.dtype.type(weight)
    if abs(float(w)) < 0.5:
        start[...] = start + w * (end - start)
    else:
        start[...] = end - (end - start) * (start.dtype.type(1) - w)
