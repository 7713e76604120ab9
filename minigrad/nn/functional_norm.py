"""The normalisation family of ``minigrad.nn.functional``: layer, group, instance and RMS
normalisation, ``normalize`` and local response normalisation.

``layer_norm`` is one op (``ops.nn.LayerNorm``: numpy forward, a backward written with ``xp``
so it differentiates twice); ``group_norm`` runs the same op on the input seen as
(N, groups, rest); ``instance_norm`` runs ``batch_norm`` on the input seen as (1, N * C, *), as
PyTorch does. ``rms_norm``, ``normalize`` and ``local_response_norm`` are compositions of
recorded ops, as in PyTorch.
"""
import numbers

import numpy as np

from ..errors import ShapeError
from ..ops.nn import LayerNorm
from ..tensor import Tensor, _wrap
from . import functional_conv as _conv
from .functional import batch_norm
from .losses import _check_tensor

__all__ = [
    "group_norm",
    "instance_norm",
    "layer_norm",
    "local_response_norm",
    "normalize",
    "rms_norm",
]


def _shape_list(shape):
    return list(shape)


def _normalized_shape(normalized_shape, function):
    """The shape as a tuple; like PyTorch's functions, a bare int is refused (the modules
    accept one)."""
    if not isinstance(normalized_shape, (tuple, list)) or not all(
            isinstance(n, numbers.Integral) for n in normalized_shape):
        raise TypeError(f"{function}(): argument 'normalized_shape' (position 2) must be "
                        f"tuple of ints, not {type(normalized_shape).__name__}")
    return tuple(int(n) for n in normalized_shape)


def _check_normalized_shape(input, normalized_shape, weight, bias, sep=", "):
    """PyTorch's checks of layer_norm / rms_norm (RuntimeError naming every shape)."""
    shape = input._data.shape
    if not normalized_shape:
        raise RuntimeError(
            "Expected normalized_shape to be at least 1-dimensional, i.e., containing at least "
            f"one element, but got normalized_shape = {_shape_list(normalized_shape)}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None:
            _check_tensor(t, name, "layer_norm")
            if t._data.shape != normalized_shape:
                raise ShapeError(
                    f"Expected {name} to be of same shape as normalized_shape, but got {name} "
                    f"of shape {_shape_list(t._data.shape)} and normalized_shape = "
                    f"{_shape_list(normalized_shape)}")
    k = len(normalized_shape)
    if len(shape) < k or shape[len(shape) - k:] != normalized_shape:
        inner = ", ".join(str(n) for n in normalized_shape)
        raise ShapeError(
            f"Given normalized_shape={_shape_list(normalized_shape)}, expected input with shape "
            f"[*{sep}{inner}], but got input of size{_shape_list(shape)}")


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    """Normalise over the last len(normalized_shape) dimensions:
    y = (x - mean) / sqrt(var + eps) * weight + bias, mean and biased var per leading index.

    input ``(*, D1..Dk)``, normalized_shape (D1..Dk), weight and bias (D1..Dk) or None.
    """
    _check_tensor(input, "input", "layer_norm")
    normalized_shape = _normalized_shape(normalized_shape, "layer_norm")
    _check_normalized_shape(input, normalized_shape, weight, bias)
    _check_floating(input, "layer_norm")
    return LayerNorm.apply(input, weight, bias, len(normalized_shape), float(eps))


def _check_floating(input, function):
    if input._data.dtype.kind != "f":
        raise RuntimeError(f'"{function}" not implemented for \'{input.dtype}\'')


def rms_norm(input, normalized_shape, weight=None, eps=None):
    """y = x / sqrt(mean(x**2) + eps) * weight over the last len(normalized_shape) dimensions;
    eps=None means the machine epsilon of input's dtype (PyTorch's default)."""
    _check_tensor(input, "input", "rms_norm")
    normalized_shape = _normalized_shape(normalized_shape, "rms_norm")
    _check_normalized_shape(input, normalized_shape, weight, None, sep="")
    _check_floating(input, "rms_norm")
    if eps is None:
        eps = float(np.finfo(input._data.dtype).eps)
    dims = tuple(range(-len(normalized_shape), 0))
    y = input * ((input * input).mean(dims, keepdim=True) + eps).rsqrt()
    if weight is not None:
        y = y * weight
    return y


def _per_channel(t, ndim):
    """A (C,) tensor seen as (1, C, 1, ...) to broadcast against (N, C, *)."""
    return t.reshape((1, -1) + (1,) * (ndim - 2))


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    """Normalise ``(N, C, *)`` input over each group of C / num_groups channels (and all the
    spatial positions), then scale and shift per channel by weight and bias (C,)."""
    _check_tensor(input, "input", "group_norm")
    shape = input._data.shape
    if len(shape) < 2:
        raise RuntimeError(
            f"Expected at least 2 dimensions for input tensor but received {len(shape)}")
    n, c = shape[0], shape[1]
    if num_groups <= 0 or c % num_groups:
        raise ShapeError(
            "Expected number of channels in input to be divisible by num_groups, but got "
            f"input of shape {_shape_list(shape)} and num_groups={num_groups}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and t._data.shape != (c,):
            raise ShapeError(
                f"Expected {name} to be a vector of size equal to the number of channels in "
                f"input, but got {name} of shape {_shape_list(t._data.shape)} and input of "
                f"shape {_shape_list(shape)}")
    values_per_group = n * c // num_groups * int(np.prod(shape[2:], dtype=np.int64))
    if values_per_group == 1:
        raise ValueError("Expected more than 1 value per channel when training, got input "
                         f"size {tuple([n * c // num_groups, num_groups] + list(shape[2:]))}")
    _check_floating(input, "group_norm")
    y = LayerNorm.apply(input.reshape(n, num_groups, -1), None, None, 1, float(eps))
    y = y.reshape(shape)
    if weight is not None:
        y = y * _per_channel(weight, len(shape))
    if bias is not None:
        y = y + _per_channel(bias, len(shape))
    return y


def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None,
                  use_input_stats=True, momentum=0.1, eps=1e-5):
    """Normalise each (sample, channel) of ``(N, C, *)`` input over its spatial positions, then
    scale and shift per channel. With ``use_input_stats`` and running statistics (C,), those
    move towards the mean over the batch of the instances' statistics (unbiased variance)."""
    _check_tensor(input, "input", "instance_norm")
    shape = input._data.shape
    if len(shape) < 2:
        raise RuntimeError(
            f"Expected at least 2 dimensions for input tensor but received {len(shape)}")
    n, c = shape[0], shape[1]
    if use_input_stats and int(np.prod(shape[2:], dtype=np.int64)) == 1:
        raise ValueError("Expected more than 1 spatial element when training, got input size "
                         f"{tuple(shape)}")
    for name, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        if t is not None and t._data.shape != (c,):
            raise ShapeError(
                f"instance_norm: {name} has shape {tuple(t._data.shape)} but the input of "
                f"shape {tuple(shape)} has {c} channels; expected ({c},)")
    _check_floating(input, "instance_norm")
    stats = running_mean is not None and running_var is not None
    # Every instance is a channel of one big batch; the running statistics are repeated per
    # sample, updated by batch_norm, and averaged back over the samples (as PyTorch does).
    repeated_mean = _wrap(np.tile(running_mean._data, n)) if stats else None
    repeated_var = _wrap(np.tile(running_var._data, n)) if stats else None
    y = batch_norm(input.reshape((1, n * c) + tuple(shape[2:])), repeated_mean, repeated_var,
                   None, None, use_input_stats, momentum, eps)
    if stats and use_input_stats:
        running_mean._data[...] = repeated_mean._data.reshape(n, c).mean(axis=0)
        running_var._data[...] = repeated_var._data.reshape(n, c).mean(axis=0)
    y = y.reshape(shape)
    if weight is not None:
        y = y * _per_channel(weight, len(shape))
    if bias is not None:
        y = y + _per_channel(bias, len(shape))
    return y


def normalize(input, p=2.0, dim=1, eps=1e-12, out=None):
    """x / max(||x||_p, eps) along ``dim`` (the norm kept as a dimension of size 1)."""
    _check_tensor(input, "input", "normalize")
    denom = input.norm(p, dim, keepdim=True).clamp_min(eps).expand_as(input)
    result = input / denom
    if out is not None:
        if not isinstance(out, Tensor):
            raise TypeError(f"normalize(): argument 'out' must be Tensor, not "
                            f"{type(out).__name__}")
        out.copy_(result)
        return out
    return result


def local_response_norm(input, size, alpha=1e-4, beta=0.75, k=1.0):
    """b_c = a_c / (k + alpha / size * sum of a_c'^2 over the ``size`` channels around c)
    ^ beta, for ``(N, C, *)`` input (the window zero-padded at the channel ends)."""
    _check_tensor(input, "input", "local_response_norm")
    dim = input._data.ndim
    if dim < 3:
        raise ValueError(f"Expected 3D or higher dimensionality                          "
                         f"input (got {dim} dimensions)")
    if input._data.size == 0:
        return input
    shape = input._data.shape
    # The channel window as a (size, 1) average pooling of (N, 1, C, rest), zero-padded.
    div = (input * input).reshape(shape[0], 1, shape[1], -1)
    div = _conv.pad(div, (0, 0, size // 2, (size - 1) // 2))
    div = _conv.avg_pool2d(div, (size, 1), stride=1).reshape(shape)
    div = (div * alpha + k) ** beta
    return input / div
