"""The normalisation layers beyond BatchNorm1d: BatchNorm2d/3d, LayerNorm, GroupNorm,
InstanceNorm1d/2d/3d, RMSNorm and LocalResponseNorm. Each is a thin ``Module`` around a
function of ``functional.py`` / ``functional_norm.py`` (where the arguments are checked and the
ops applied), with PyTorch's constructor arguments, attributes, parameter and buffer names,
default initialisation (weight ones, bias zeros) and ``repr``."""
import numbers
import warnings

import numpy as np

from ..tensor import Tensor, _check_device
from . import functional as F
from . import init
from .layers import _BatchNorm, _float_dtype
from .module import Module, Parameter

__all__ = [
    "BatchNorm2d",
    "BatchNorm3d",
    "GroupNorm",
    "InstanceNorm1d",
    "InstanceNorm2d",
    "InstanceNorm3d",
    "LayerNorm",
    "LocalResponseNorm",
    "RMSNorm",
]


class BatchNorm2d(_BatchNorm):
    """Batch normalisation over (N, C, H, W) input, per channel (see ``BatchNorm1d``)."""

    def _check_input_dim(self, x):
        if x.ndim != 4:
            raise ValueError(f"expected 4D input (got {x.ndim}D input)")


class BatchNorm3d(_BatchNorm):
    """Batch normalisation over (N, C, D, H, W) input, per channel (see ``BatchNorm1d``)."""

    def _check_input_dim(self, x):
        if x.ndim != 5:
            raise ValueError(f"expected 5D input (got {x.ndim}D input)")


class _InstanceNorm(_BatchNorm):
    """Instance normalisation: each (sample, channel) normalised over its spatial positions.

    Defaults differ from BatchNorm: ``affine=False``, ``track_running_stats=False`` (then
    instance statistics are used in training and evaluation alike). With
    ``track_running_stats=True`` the running statistics (mean over the batch of the
    instances' statistics) replace them in evaluation. Unbatched input (C, *) is accepted.
    """

    _no_batch_dim = None  # the number of dimensions of unbatched input

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=False,
                 track_running_stats=False, device=None, dtype=None, *, bias=True):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device,
                         dtype, bias=bias)

    def _check_input_dim(self, x):
        dims = (self._no_batch_dim, self._no_batch_dim + 1)
        if x.ndim not in dims:
            raise ValueError(f"expected {dims[0]}D or {dims[1]}D input (got {x.ndim}D input)")

    def _apply_instance_norm(self, input):
        return F.instance_norm(input, self.running_mean, self.running_var, self.weight,
                               self.bias, self.training or not self.track_running_stats,
                               self.momentum if self.momentum is not None else 0.0, self.eps)

    def forward(self, input):
        if not isinstance(input, Tensor):
            raise TypeError(
                f"{self._get_name()} expects a Tensor input, got {type(input).__name__}")
        x = input._data
        self._check_input_dim(x)
        feature_dim = x.ndim - self._no_batch_dim
        if x.shape[feature_dim] != self.num_features:
            if self.affine:
                raise ValueError(
                    f"expected input's size at dim={feature_dim} to match num_features "
                    f"({self.num_features}), but got: {x.shape[feature_dim]}.")
            warnings.warn(
                f"input's size at dim={feature_dim} does not match num_features. You can "
                "silence this warning by not passing in num_features, which is not used "
                "because affine=False", UserWarning, stacklevel=2)
        if x.ndim == self._no_batch_dim:
            return self._apply_instance_norm(input.unsqueeze(0)).squeeze(0)
        return self._apply_instance_norm(input)


class InstanceNorm1d(_InstanceNorm):
    """Instance normalisation over (N, C, L) or unbatched (C, L) input."""

    _no_batch_dim = 2


class InstanceNorm2d(_InstanceNorm):
    """Instance normalisation over (N, C, H, W) or unbatched (C, H, W) input."""

    _no_batch_dim = 3


class InstanceNorm3d(_InstanceNorm):
    """Instance normalisation over (N, C, D, H, W) or unbatched (C, D, H, W) input."""

    _no_batch_dim = 4


def _shape_tuple(normalized_shape):
    if isinstance(normalized_shape, numbers.Integral):
        return (int(normalized_shape),)
    return tuple(normalized_shape)


def _affine_parameters(module, affine, bias, shape, np_dtype):
    """Register weight (ones) and bias (zeros, or None when not ``bias``) of ``shape``, in that
    order, or both as None when not ``affine`` (LayerNorm's and GroupNorm's layout)."""
    if affine:
        module.weight = Parameter(np.empty(shape, np_dtype))
        if bias:
            module.bias = Parameter(np.empty(shape, np_dtype))
        else:
            module.register_parameter("bias", None)
    else:
        module.register_parameter("weight", None)
        module.register_parameter("bias", None)
    _reset_affine(module)


def _reset_affine(module):
    if module.weight is not None:
        init.ones_(module.weight)
    if module.bias is not None:
        init.zeros_(module.bias)


class LayerNorm(Module):
    """y = (x - mean) / sqrt(var + eps) * weight + bias over the last
    len(normalized_shape) dimensions of x ``(*, *normalized_shape)``; weight (ones) and bias
    (zeros) have shape ``normalized_shape`` when ``elementwise_affine``."""

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True,
                 device=None, dtype=None):
        super().__init__()
        _check_device(device)
        np_dtype = _float_dtype(dtype)
        self.normalized_shape = _shape_tuple(normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        _affine_parameters(self, elementwise_affine, bias, self.normalized_shape, np_dtype)

    def reset_parameters(self):
        _reset_affine(self)

    def forward(self, input):
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}, bias={self.bias is not None}")


class GroupNorm(Module):
    """Group normalisation of ``(N, C, *)`` input: the C channels split into ``num_groups``
    groups, each normalised over its channels and positions, then scaled and shifted per
    channel by weight (ones) and bias (zeros) of shape (C,) when ``affine``."""

    def __init__(self, num_groups, num_channels, eps=1e-5, affine=True, device=None,
                 dtype=None, *, bias=True):
        super().__init__()
        _check_device(device)
        np_dtype = _float_dtype(dtype)
        if num_channels % num_groups != 0:
            raise ValueError(f"num_channels ({num_channels}) must be divisible by num_groups "
                             f"({num_groups})")
        self.num_groups = num_groups
        self.num_channels = num_channels
        self.eps = eps
        self.affine = affine
        _affine_parameters(self, affine, bias, (num_channels,), np_dtype)

    def reset_parameters(self):
        _reset_affine(self)

    def forward(self, input):
        return F.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.num_groups}, {self.num_channels}, eps={self.eps}, "
                f"affine={self.affine}, bias={self.bias is not None}")


class RMSNorm(Module):
    """y = x / sqrt(mean(x**2) + eps) * weight over the last len(normalized_shape)
    dimensions; ``eps=None`` is the machine epsilon of the input's dtype; weight (ones) of
    shape ``normalized_shape`` when ``elementwise_affine``."""

    def __init__(self, normalized_shape, eps=None, elementwise_affine=True, device=None,
                 dtype=None):
        super().__init__()
        _check_device(device)
        np_dtype = _float_dtype(dtype)
        self.normalized_shape = _shape_tuple(normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(np.empty(self.normalized_shape, np_dtype))
        else:
            self.register_parameter("weight", None)
        self.reset_parameters()

    def reset_parameters(self):
        if self.elementwise_affine:
            init.ones_(self.weight)

    def forward(self, x):
        return F.rms_norm(x, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}")


class LocalResponseNorm(Module):
    """Local response normalisation across channels (see ``F.local_response_norm``)."""

    def __init__(self, size, alpha=1e-4, beta=0.75, k=1.0):
        super().__init__()
        self.size = size
        self.alpha = alpha
        self.beta = beta
        self.k = k

    def forward(self, input):
        return F.local_response_norm(input, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self):
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"
