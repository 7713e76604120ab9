"""``nn.utils``: gradient clipping (``clip_grad_norm_``, ``clip_grad_value_``) and flattening
parameters to one vector and back."""
import math

import numpy as np

from ..autograd import graph as _graph
from ..errors import ShapeError
from ..tensor import Tensor, _wrap, cat

__all__ = ["clip_grad_norm_", "clip_grad_value_", "parameters_to_vector",
           "vector_to_parameters"]


def _as_list(parameters):
    if isinstance(parameters, Tensor):
        return [parameters]
    return list(parameters)


@_graph.replayed
def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False,
                    foreach=None):
    """Rescale the gradients of ``parameters`` in place so that their joint norm is at most
    ``max_norm``; return that joint norm (before clipping) as a 0-d Tensor.

    The joint norm treats all gradients as one vector: for norm_type p,
    total = (sum_i ||g_i||_p^p)^(1/p) = ||(||g_1||_p, ||g_2||_p, ...)||_p, and for p = inf,
    total = max_i max|g_i|. Every gradient is multiplied by min(1, max_norm / (total + 1e-6)),
    as in PyTorch (the 1e-6 keeps a zero norm from dividing by zero).
    """
    grads = [p.grad._data for p in _as_list(parameters) if p.grad is not None]
    norm_type = float(norm_type)
    if not grads:
        return _wrap(np.array(0.0, dtype=np.float32))
    dtype = grads[0].dtype
    if norm_type == math.inf:
        norms = [np.max(np.abs(g)) if g.size else 0.0 for g in grads]
        total = max(norms)
    else:
        norms = [np.linalg.norm(g.reshape(-1), ord=norm_type) if g.size else 0.0 for g in grads]
        total = np.linalg.norm(np.asarray(norms, dtype=np.float64), ord=norm_type)
    total = np.asarray(total, dtype=dtype)
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(
            f"The total norm of order {norm_type} for gradients from `parameters` is "
            "non-finite, so it cannot be clipped. To disable this error and scale the "
            "gradients by the non-finite norm anyway, set `error_if_nonfinite=False`")
    clip_coef = min(float(max_norm) / (float(total) + 1e-6), 1.0)  # NaN stays NaN, as in torch
    if clip_coef != 1.0:
        for g in grads:
            g *= clip_coef
    return _wrap(total)


@_graph.replayed
def clip_grad_value_(parameters, clip_value, foreach=None):
    """Clamp every gradient element of ``parameters`` to [-clip_value, clip_value], in place."""
    clip_value = float(clip_value)
    for p in _as_list(parameters):
        if p.grad is not None:
            np.clip(p.grad._data, -clip_value, clip_value, out=p.grad._data)


def parameters_to_vector(parameters):
    """All parameters' values, flattened and concatenated into one 1-D Tensor (a new tensor,
    differentiable: its gradient flows back to the parameters, as torch.cat of views)."""
    return cat([p.reshape(-1) for p in _as_list(parameters)])


def vector_to_parameters(vec, parameters):
    """Copy consecutive slices of the 1-D Tensor ``vec`` into the parameters, in place
    (PyTorch makes each parameter's data a view of ``vec``; a copy keeps the parameters'
    memory, which optimizers holding them rely on)."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected minigrad.Tensor, but got: {type(vec).__name__}")
    values = vec._data.reshape(-1)
    offset = 0
    for p in _as_list(parameters):
        n = p._data.size
        if offset + n > values.size:
            raise ShapeError(
                f"vector_to_parameters: the vector of shape {tuple(vec.shape)} has "
                f"{values.size} values, too few for parameters needing at least {offset + n}")
        p._data[...] = values[offset:offset + n].reshape(p._data.shape)
        offset += n
