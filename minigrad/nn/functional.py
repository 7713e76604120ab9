"""``minigrad.nn.functional`` (``F``): the stateless functions behind the layers and losses.

Each function here that is not a plain composition checks its arguments and applies one op
of ``minigrad/ops/nn.py`` (forward and analytic backward side by side): a Linear layer, a
softmax or a loss is ONE node of the graph, which keeps the per-step Python overhead small and
lets the numerically delicate parts (log-sum-exp) be written once, carefully.

The loss functions (``F.mse_loss``, ``F.cross_entropy``, ...) live in ``losses.py`` and are
re-exported here, as in PyTorch.
"""
from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from .. import ops
from .. import random as _random
from ..autograd import graph as _graph
from ..errors import ShapeError
from ..ops.nn import BatchNorm, Dropout, Linear, LogSoftmax, Softmax
from ..tensor import Tensor
from .losses import (
    _check_tensor,
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    huber_loss,
    l1_loss,
    mse_loss,
    nll_loss,
    smooth_l1_loss,
)

__all__ = [
    "batch_norm",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "dropout",
    "huber_loss",
    "l1_loss",
    "leaky_relu",
    "linear",
    "log_softmax",
    "mse_loss",
    "nll_loss",
    "relu",
    "sigmoid",
    "smooth_l1_loss",
    "softmax",
    "tanh",
]


# ---------------------------------------------------------------------------------------------
# Linear
# ---------------------------------------------------------------------------------------------


def _linear_shape_message(x_shape, weight_shape, bias_shape):
    message = f"linear: input has shape {tuple(x_shape)} and weight has shape " \
              f"{tuple(weight_shape)}"
    if bias_shape is not None:
        message += f" and bias has shape {tuple(bias_shape)}"
    return message + "; expected input (*, in), weight (out, in), bias (out,)"


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y = input @ weight.T + bias.  input ``(*, in)``, weight (out, in), bias (out,) ->
    ``(*, out)``."""
    _check_tensor(input, "input", "linear")
    _check_tensor(weight, "weight", "linear")
    x_shape, w_shape = input._data.shape, weight._data.shape
    b_shape = None if bias is None else bias._data.shape
    if (len(w_shape) != 2 or input._data.ndim == 0 or x_shape[-1] != w_shape[1]
            or (b_shape is not None and b_shape != (w_shape[0],))):
        raise ShapeError(_linear_shape_message(x_shape, w_shape, b_shape))
    dtype = weight._data.dtype
    if input._data.dtype != dtype or (bias is not None and bias._data.dtype != dtype):
        raise_linear_dtype_error(input, weight, bias)
    return Linear.apply(input, weight, bias)


def raise_linear_dtype_error(input, weight, bias):
    """PyTorch raises RuntimeError ("mat1 and mat2 must have the same dtype") here."""
    raise RuntimeError(
        f"linear: input dtype {input.dtype} does not match weight dtype {weight.dtype}"
        + (f" / bias dtype {bias.dtype}" if bias is not None else "")
        + "; convert the input (x.float() / x.double()) or the model "
          "(model.float() / model.double())")


# ---------------------------------------------------------------------------------------------
# Activations
# ---------------------------------------------------------------------------------------------


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """relu(x) = max(x, 0);  d/dx = 1[x > 0]. (``inplace`` is accepted and ignored: the
    result is always a new tensor, which is always safe for autograd.)"""
    return ops.ReLU.apply(input)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    """x for x > 0, ``negative_slope * x`` otherwise, elementwise (any shape);
    ``d/dx = 1[x > 0] + negative_slope 1[x <= 0]``."""
    return ops.LeakyReLU.apply(input, float(negative_slope))


def sigmoid(input: Tensor) -> Tensor:
    """sigmoid(x) = 1 / (1 + exp(-x));  d/dx = y (1 - y)."""
    return ops.Sigmoid.apply(input)


def tanh(input: Tensor) -> Tensor:
    """tanh(x);  d/dx = 1 - y**2."""
    return ops.Tanh.apply(input)


def _softmax_dim(ndim, name):
    """PyTorch's legacy choice of dim when none is given (with its deprecation warning)."""
    warnings.warn(
        f"Implicit dimension choice for {name} has been deprecated. Change the call to "
        "include dim=X as an argument.", UserWarning, stacklevel=3)
    return 0 if ndim in (0, 1, 3) else 1


def _normalize_dim(dim, ndim, function):
    size = max(ndim, 1)  # a 0-d tensor accepts dim 0 and -1
    if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool):
        raise TypeError(f"{function}(): dim must be an int, got {type(dim).__name__}")
    if not -size <= dim < size:
        raise IndexError(f"{function}(): dimension out of range (expected to be in range of "
                         f"[{-size}, {size - 1}], but got {dim})")
    return int(dim) % size


def _cast_for_softmax(input, dtype):
    if dtype is None:
        return input
    from .. import dtypes
    np_dtype = dtypes.as_dtype(dtype).np_dtype
    if input._data.dtype == np_dtype:
        return input
    return ops.Cast.apply(input, np_dtype)


def softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3,
            dtype: Any = None) -> Tensor:
    """Softmax along ``dim``: non-negative values summing to 1 along that dimension."""
    if type(input) is Tensor and type(dim) is int and dtype is None:  # the common call
        size = input._data.ndim or 1
        if input._data.dtype.kind == "f" and -size <= dim < size:
            return Softmax.apply(input, dim % size)
    _check_tensor(input, "input", "softmax")
    input = _cast_for_softmax(input, dtype)
    if input._data.dtype.kind != "f":
        raise TypeError(f"softmax: expected a floating point tensor, got {input._data.dtype}")
    if dim is None:
        dim = _softmax_dim(input._data.ndim, "softmax")
    return Softmax.apply(input, _normalize_dim(dim, input._data.ndim, "softmax"))


def log_softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3,
                dtype: Any = None) -> Tensor:
    """log(softmax(x)) along ``dim``, computed stably (never log(0) for finite inputs)."""
    if type(input) is Tensor and type(dim) is int and dtype is None:  # the common call
        size = input._data.ndim or 1
        if input._data.dtype.kind == "f" and -size <= dim < size:
            return LogSoftmax.apply(input, dim % size)
    _check_tensor(input, "input", "log_softmax")
    input = _cast_for_softmax(input, dtype)
    if input._data.dtype.kind != "f":
        raise TypeError(
            f"log_softmax: expected a floating point tensor, got {input._data.dtype}")
    if dim is None:
        dim = _softmax_dim(input._data.ndim, "log_softmax")
    return LogSoftmax.apply(input, _normalize_dim(dim, input._data.ndim, "log_softmax"))


# ---------------------------------------------------------------------------------------------
# Dropout
# ---------------------------------------------------------------------------------------------


def _check_dropout_p(p):
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


@_graph.replayed  # draws a fresh mask from the generator on every replay of mg.compile
def dropout(input: Tensor, p: float = 0.5, training: bool = True,
            inplace: bool = False) -> Tensor:
    """Zero each element with probability ``p`` and scale the rest by 1/(1 - p) when
    ``training``; identity (the input itself) otherwise."""
    _check_dropout_p(p)
    if not training or p == 0.0:
        return input
    x = input._data
    if x.dtype.kind != "f":
        raise TypeError(f"dropout: expected a floating point tensor, got {x.dtype}")
    if p == 1.0:
        scaled_mask = np.zeros_like(x)
    else:
        u = _random.generator().random(x.shape, dtype=x.dtype if x.dtype in (
            np.float32, np.float64) else np.float64)
        scaled_mask = (u >= p).astype(x.dtype) * x.dtype.type(1.0 / (1.0 - p))
    return Dropout.apply(input, scaled_mask)


# ---------------------------------------------------------------------------------------------
# Batch normalisation
# ---------------------------------------------------------------------------------------------


@_graph.replayed  # statistics in numpy, running statistics updated in place
def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    """Batch normalisation of ``(N, C, *)`` input over all dimensions but dim 1.

    ``training=True``: normalise with the batch's mean and biased variance and, if running
    statistics are given, update them in place with::

        running_mean = (1 - momentum) running_mean + momentum mean
        running_var  = (1 - momentum) running_var  + momentum var * m / (m - 1)   (unbiased)

    ``training=False``: normalise with the running statistics.
    """
    _check_tensor(input, "input", "batch_norm")
    x = input._data
    if x.ndim < 2:
        raise ValueError(f"batch_norm: expected at least 2D input (got {x.ndim}D input)")
    channels = x.shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        if t is not None and t._data.shape != (channels,):
            raise ShapeError(
                f"batch_norm: {name} has shape {tuple(t._data.shape)} but the input of shape "
                f"{tuple(x.shape)} has {channels} channels; expected ({channels},)")
    axes = (0,) + tuple(range(2, x.ndim))
    use_batch_stats = training or running_mean is None or running_var is None
    if use_batch_stats:
        m = x.size // channels if channels else 0
        if training and m <= 1:
            raise ValueError(f"Expected more than 1 value per channel when training, got "
                             f"input size {tuple(x.shape)}")
        mean = np.mean(x, axis=axes)
        var = np.var(x, axis=axes)
        if training and running_mean is not None and running_var is not None:
            momentum = float(momentum)
            rm, rv = running_mean._data, running_var._data
            rm[...] = (1 - momentum) * rm + momentum * mean
            rv[...] = (1 - momentum) * rv + momentum * var * (m / (m - 1))
    else:
        mean, var = running_mean._data, running_var._data
    return BatchNorm.apply(input, weight, bias, mean, var, float(eps), use_batch_stats)
from .functional_conv import *  # the convolution family: conv2d, max_pool2d, pad, interpolate...
from .functional_conv import __all__ as _conv_all

__all__.extend(_conv_all)
from .functional_activation import *  # GELU, SiLU, ELU..., the dropout family, one_hot, distances
from .functional_activation import __all__ as _activation_all

__all__.extend(_activation_all)
from .functional_attention import *  # scaled_dot_product_attention
from .functional_attention import __all__ as _attention_all

__all__.extend(_attention_all)
from .losses import _ctc as _losses_ctc
from .losses import _divergence as _losses_divergence
from .losses import _margin as _losses_margin
from .losses.ctc import ctc_loss  # noqa: F401
from .losses.divergence import gaussian_nll_loss, kl_div, poisson_nll_loss  # noqa: F401
from .losses.margin import (  # noqa: F401
    cosine_embedding_loss,
    hinge_embedding_loss,
    margin_ranking_loss,
    multi_margin_loss,
    multilabel_margin_loss,
    multilabel_soft_margin_loss,
    pairwise_distance,
    soft_margin_loss,
    triplet_margin_loss,
    triplet_margin_with_distance_loss,
)

__all__.extend(name for family in (_losses_ctc, _losses_divergence, _losses_margin)
               for name in family.__all__ if name[0].islower())
from .functional_norm import *  # the normalisation family: layer_norm, group_norm...
from .functional_norm import __all__ as _norm_all

__all__.extend(_norm_all)
from .functional_sparse import *  # the embedding family: embedding, embedding_bag
from .functional_sparse import __all__ as _sparse_all

__all__.extend(_sparse_all)
