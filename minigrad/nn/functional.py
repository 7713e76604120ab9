"""``minigrad.nn.functional`` (``F``): the stateless functions behind the layers and losses.

Each function here that is not a plain composition is a ``Function`` with its forward and
its analytic backward side by side (the same contract as ``minigrad/ops.py``): a Linear layer,
a softmax or a loss is ONE node of the graph, which keeps the per-step Python overhead small
and lets the numerically delicate parts (log-sum-exp) be written once, carefully.

The loss functions (``F.mse_loss``, ``F.cross_entropy``, ...) live in ``losses.py`` and are
re-exported here, as in PyTorch.
"""
import warnings

import numpy as np

from .. import ops
from .. import random as _random
from .._kernels import kernels as K
from ..autograd import Function
from ..errors import ShapeError
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


class Linear(Function):
    """y = x @ weight.T + bias, one graph node over the fused kernels.

    Shapes: x (*, in) (any number of leading dimensions, or none), weight (out, in),
    bias (out,) or None, y (*, out). Inputs other than 2-D are reshaped to (N, in) for the
    kernel and back. With g = dL/dy (as (N, out)):

        dL/dx = g @ weight,   dL/dweight = g.T @ x,   dL/dbias = sum over rows of g.
    """

    def forward(self, x, weight, bias):
        if x.dtype != weight.dtype or (bias is not None and bias.dtype != weight.dtype):
            raise TypeError(
                f"linear: input dtype {x.dtype} does not match weight dtype {weight.dtype}"
                + (f" / bias dtype {bias.dtype}" if bias is not None else "")
                + "; convert the input (x.float() / x.double()) or the model "
                  "(model.float() / model.double())")
        self.weight = weight
        if x.ndim == 2:
            self.x = x
            self.x_shape = None
            return K.linear_forward(x, weight, bias)
        self.x_shape = x.shape
        x2 = x.reshape(-1, weight.shape[1])
        self.x = x2
        return K.linear_forward(x2, weight, bias).reshape(x.shape[:-1] + (weight.shape[0],))

    def backward(self, grad_output):
        needs = self.needs_input_grad
        if self.x_shape is not None:
            grad_output = grad_output.reshape(-1, self.weight.shape[0])
        grad_x, grad_weight, grad_bias = K.linear_backward(
            grad_output, self.x, self.weight, needs[0], needs[1], needs[2])
        if grad_x is not None and self.x_shape is not None:
            grad_x = grad_x.reshape(self.x_shape)
        return grad_x, grad_weight, grad_bias


def _linear_shape_message(x_shape, weight_shape, bias_shape):
    message = f"linear: input has shape {tuple(x_shape)} and weight has shape " \
              f"{tuple(weight_shape)}"
    if bias_shape is not None:
        message += f" and bias has shape {tuple(bias_shape)}"
    return message + "; expected input (*, in), weight (out, in), bias (out,)"


def linear(input, weight, bias=None):
    """y = input @ weight.T + bias.  input (*, in), weight (out, in), bias (out,) -> (*, out)."""
    _check_tensor(input, "input", "linear")
    _check_tensor(weight, "weight", "linear")
    x_shape, w_shape = input._data.shape, weight._data.shape
    b_shape = None if bias is None else bias._data.shape
    if (len(w_shape) != 2 or input._data.ndim == 0 or x_shape[-1] != w_shape[1]
            or (b_shape is not None and b_shape != (w_shape[0],))):
        raise ShapeError(_linear_shape_message(x_shape, w_shape, b_shape))
    return Linear.apply(input, weight, bias)


# ---------------------------------------------------------------------------------------------
# Activations
# ---------------------------------------------------------------------------------------------


def relu(input, inplace=False):
    """relu(x) = max(x, 0);  d/dx = 1[x > 0]. (``inplace`` is accepted and ignored: the
    result is always a new tensor, which is always safe for autograd.)"""
    return ops.ReLU.apply(input)


class LeakyReLU(Function):
    """y = x for x > 0, negative_slope * x otherwise;  dy/dx = 1 or negative_slope."""

    def forward(self, x, negative_slope):
        self.x = x
        self.negative_slope = negative_slope
        return K.leaky_relu(x, negative_slope)

    def backward(self, grad_output):
        return K.leaky_relu_backward(self.x, grad_output, self.negative_slope), None


def leaky_relu(input, negative_slope=0.01, inplace=False):
    return LeakyReLU.apply(input, float(negative_slope))


def sigmoid(input):
    """sigmoid(x) = 1 / (1 + exp(-x));  d/dx = y (1 - y)."""
    return ops.Sigmoid.apply(input)


def tanh(input):
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


class Softmax(Function):
    """y = exp(x - max) / sum(exp(x - max)) along ``dim`` (shifting by the max cannot
    overflow).  Backward: dL/dx = y * (g - sum(g * y, dim))."""

    def forward(self, x, dim):
        if x.ndim == 0:
            self.y = np.ones_like(x)
            self.dim = None
            return self.y
        self.dim = dim
        if x.size == 0:
            self.y = x.copy()
            return self.y
        e = np.exp(x - np.max(x, axis=dim, keepdims=True))
        e /= np.sum(e, axis=dim, keepdims=True)
        self.y = e
        return e

    def backward(self, grad_output):
        y = self.y
        if self.dim is None:
            return np.zeros_like(grad_output), None
        return y * (grad_output - np.sum(grad_output * y, axis=self.dim, keepdims=True)), None


class LogSoftmax(Function):
    """y = x - max - log(sum(exp(x - max))) along ``dim`` (log-sum-exp: finite for any finite
    x).  Backward: dL/dx = g - exp(y) * sum(g, dim)."""

    def forward(self, x, dim):
        if x.ndim == 0:
            self.y = np.zeros_like(x)
            self.dim = None
            return self.y
        self.dim = dim
        if x.size == 0:
            self.y = x.copy()
            return self.y
        shifted = x - np.max(x, axis=dim, keepdims=True)
        shifted -= np.log(np.sum(np.exp(shifted), axis=dim, keepdims=True))
        self.y = shifted
        return shifted

    def backward(self, grad_output):
        if self.dim is None:
            return np.zeros_like(grad_output), None
        return grad_output - np.exp(self.y) * np.sum(grad_output, axis=self.dim,
                                                     keepdims=True), None


def _cast_for_softmax(input, dtype):
    if dtype is None:
        return input
    from .. import dtypes
    np_dtype = dtypes.as_dtype(dtype).np_dtype
    if input._data.dtype == np_dtype:
        return input
    return ops.Cast.apply(input, np_dtype)


def softmax(input, dim=None, _stacklevel=3, dtype=None):
    """Softmax along ``dim``: non-negative values summing to 1 along that dimension."""
    _check_tensor(input, "input", "softmax")
    input = _cast_for_softmax(input, dtype)
    if input._data.dtype.kind != "f":
        raise TypeError(f"softmax: expected a floating point tensor, got {input._data.dtype}")
    if dim is None:
        dim = _softmax_dim(input._data.ndim, "softmax")
    return Softmax.apply(input, _normalize_dim(dim, input._data.ndim, "softmax"))


def log_softmax(input, dim=None, _stacklevel=3, dtype=None):
    """log(softmax(x)) along ``dim``, computed stably (never log(0) for finite inputs)."""
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


class Dropout(Function):
    """Inverted dropout: y = x * mask / (1 - p), mask_i ~ Bernoulli(1 - p), so E[y] = x and
    evaluation needs no rescaling.  dL/dx = g * mask / (1 - p)."""

    def forward(self, x, p):
        if p == 1.0:
            self.scaled_mask = np.zeros_like(x)
        else:
            u = _random.generator().random(x.shape, dtype=x.dtype if x.dtype in (
                np.float32, np.float64) else np.float64)
            self.scaled_mask = (u >= p).astype(x.dtype) * x.dtype.type(1.0 / (1.0 - p))
        return x * self.scaled_mask

    def backward(self, grad_output):
        return grad_output * self.scaled_mask, None


def _check_dropout_p(p):
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def dropout(input, p=0.5, training=True, inplace=False):
    """Zero each element with probability ``p`` and scale the rest by 1/(1 - p) when
    ``training``; identity (the input itself) otherwise."""
    _check_dropout_p(p)
    if not training or p == 0.0:
        return input
    if input._data.dtype.kind != "f":
        raise TypeError(f"dropout: expected a floating point tensor, got {input._data.dtype}")
    return Dropout.apply(input, float(p))


# ---------------------------------------------------------------------------------------------
# Batch normalisation
# ---------------------------------------------------------------------------------------------


class BatchNorm(Function):
    """y = gamma * (x - mean) / sqrt(var + eps) + beta, per channel (dim 1).

    x is (N, C) or (N, C, L); statistics are over every dimension but the channel one (m
    values per channel). ``mean``/``var`` are either the batch's own statistics
    (``batch_stats=True``: they depend on x) or constants (running statistics in eval).
    With x_hat = (x - mean) * inv_std and dx_hat = g * gamma:

        dL/dgamma = sum(g * x_hat),   dL/dbeta = sum(g),
        dL/dx = inv_std * dx_hat                                     (constant statistics)
        dL/dx = inv_std / m * (m dx_hat - sum(dx_hat) - x_hat sum(dx_hat x_hat))  (batch)
    """

    def forward(self, x, weight, bias, mean, var, eps, batch_stats):
        shape = (1, -1) if x.ndim == 2 else (1, -1, 1)
        self.axes = (0,) if x.ndim == 2 else (0, 2)
        self.shape = shape
        self.batch_stats = batch_stats
        self.inv_std = (1.0 / np.sqrt(var + eps)).astype(x.dtype, copy=False).reshape(shape)
        self.x_hat = (x - mean.astype(x.dtype, copy=False).reshape(shape)) * self.inv_std
        self.weight = weight
        y = self.x_hat
        if weight is not None:
            y = y * weight.reshape(shape)
        if bias is not None:
            y = y + bias.reshape(shape)
        elif weight is None:
            y = y.copy()  # the output must not alias the array saved for backward
        return y

    def backward(self, grad_output):
        needs = self.needs_input_grad
        axes, shape, x_hat = self.axes, self.shape, self.x_hat
        grad_weight = np.sum(grad_output * x_hat, axis=axes) if needs[1] else None
        grad_bias = np.sum(grad_output, axis=axes) if needs[2] else None
        grad_x = None
        if needs[0]:
            dx_hat = grad_output if self.weight is None else \
                grad_output * self.weight.reshape(shape)
            if self.batch_stats:
                m = x_hat.size // x_hat.shape[1]
                grad_x = (self.inv_std / m) * (
                    m * dx_hat - np.sum(dx_hat, axis=axes, keepdims=True)
                    - x_hat * np.sum(dx_hat * x_hat, axis=axes, keepdims=True))
            else:
                grad_x = dx_hat * self.inv_std
        return grad_x, grad_weight, grad_bias, None, None, None, None


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    """Batch normalisation of (N, C) or (N, C, L) input over all dimensions but dim 1.

    ``training=True``: normalise with the batch's mean and biased variance and, if running
    statistics are given, update them in place with
        running_mean = (1 - momentum) running_mean + momentum mean
        running_var  = (1 - momentum) running_var  + momentum var * m / (m - 1)   (unbiased)
    ``training=False``: normalise with the running statistics.
    """
    _check_tensor(input, "input", "batch_norm")
    x = input._data
    if x.ndim not in (2, 3):
        raise ValueError(f"batch_norm: expected 2D or 3D input (got {x.ndim}D input)")
    channels = x.shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        if t is not None and t._data.shape != (channels,):
            raise ShapeError(
                f"batch_norm: {name} has shape {tuple(t._data.shape)} but the input of shape "
                f"{tuple(x.shape)} has {channels} channels; expected ({channels},)")
    axes = (0,) if x.ndim == 2 else (0, 2)
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
