"""``F.conv2d``, ``F.max_pool2d``, ``F.pad``, ``F.interpolate`` and the rest of the convolution
family, with PyTorch's signatures, defaults and errors.

Each function checks its arguments as PyTorch does (same exception types, messages naming the
shapes), turns the window parameters into the pairs the ops take, and applies the ops of
``minigrad/ops/conv.py``. The ops work on 2-D images (N, C, H, W): 1-D forms run on
(N, C, 1, L), and unbatched inputs get a batch dimension of 1, both as views. Pooling windows
are handed to the kernels as index tables (one per spatial dimension, see
``_kernels/reference.py``), built once per geometry and cached.
"""
import functools
import math
import numbers
import operator

import numpy as np

from .. import ops
from .._kernels import kernels as K
from ..autograd import graph as _graph
from ..errors import ShapeError
from ..ops.conv import (
    AvgPool2d,
    Col2im,
    ConstantPad,
    Conv2d,
    ConvTranspose2d,
    Im2col,
    MaxUnpool2d,
    PoolGather,
)
from ..tensor import Tensor, _wrap

__all__ = [
    "adaptive_avg_pool1d",
    "adaptive_avg_pool2d",
    "adaptive_max_pool1d",
    "adaptive_max_pool1d_with_indices",
    "adaptive_max_pool2d",
    "adaptive_max_pool2d_with_indices",
    "avg_pool1d",
    "avg_pool2d",
    "conv1d",
    "conv2d",
    "conv_transpose1d",
    "conv_transpose2d",
    "fold",
    "interpolate",
    "max_pool1d",
    "max_pool1d_with_indices",
    "max_pool2d",
    "max_pool2d_with_indices",
    "max_unpool1d",
    "max_unpool2d",
    "pad",
    "pixel_shuffle",
    "pixel_unshuffle",
    "unfold",
    "upsample",
    "upsample_bilinear",
    "upsample_nearest",
]

_FLOAT_KINDS = "f"


# ---------------------------------------------------------------------------------------------
# Argument handling shared by the family
# ---------------------------------------------------------------------------------------------


def _check_tensor(value, name, function):
    if not isinstance(value, Tensor):
        raise TypeError(f"{function}(): argument '{name}' (position 1) must be Tensor, not "
                        f"{type(value).__name__}")


def _is_int(value):
    return type(value) is int or (isinstance(value, numbers.Integral)
                                  and not isinstance(value, bool))


def _ints(value, n, name, function):
    """An int or a sequence of ints, as a tuple of n ints (PyTorch's ``_pair`` for arguments
    that the C++ side parses as ``int[n]``): a single int or a one-element sequence repeats."""
    if _is_int(value):
        return (int(value),) * n
    if isinstance(value, (tuple, list)) and all(_is_int(v) for v in value):
        if len(value) == 1:
            return (int(value[0]),) * n
        if len(value) == n:
            return tuple(int(v) for v in value)
        raise RuntimeError(f"{function}: {name} must either be a single int, or a tuple of "
                           f"{n} ints")
    raise TypeError(f"{function}(): argument '{name}' must be tuple of ints, but found "
                    f"{type(value).__name__}")


def _int_list(value, n, name, function):
    """A convolution argument as PyTorch's parser reads ``int[n]``: an int becomes n copies,
    a sequence of ints is kept as it is (its length is checked against the weight later)."""
    if _is_int(value):
        return [int(value)] * n
    if isinstance(value, (tuple, list)) and all(_is_int(v) for v in value):
        return [int(v) for v in value]
    raise TypeError(f"{function}() received an invalid combination of arguments - got "
                    f"{name}={type(value).__name__}, but expected tuple of ints {name}")


def _expand(values, k, name):
    """PyTorch's expand_param_if_needed: one value for every one of the weight's k spatial
    dimensions."""
    if len(values) == 1:
        return tuple(values) * k
    if len(values) != k:
        raise RuntimeError(f"expected {name} to be a single integer value or a list of {k} "
                           f"values to match the convolution dimensions, but got "
                           f"{name}={list(values)}")
    return tuple(values)


def _shape(t):
    return list(t._data.shape)


def _batched(input, spatial, function):
    """(input as (N, C, *spatial), whether a batch dimension was added)."""
    ndim = input._data.ndim
    if ndim == spatial + 2:
        return input, False
    if ndim == spatial + 1:
        return input.unsqueeze(0), True
    raise RuntimeError(f"Expected {spatial + 1}D (unbatched) or {spatial + 2}D (batched) input "
                       f"to {function}, but got input of size: {_shape(input)}")


def _dtype_name(dtype):
    return {"float32": "float", "float64": "double", "int64": "long", "int32": "int",
            "int16": "short", "int8": "signed char", "uint8": "unsigned char",
            "bool": "bool"}.get(dtype.name, dtype.name)


_LEGACY = {"float32": "Float", "float64": "Double", "int64": "Long", "int32": "Int",
           "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool"}


def _check_conv_dtypes(x_dtype, w_dtype, function):
    if w_dtype != x_dtype:
        if x_dtype == np.float32:
            raise RuntimeError(f"Input type (torch.{_LEGACY[x_dtype.name]}Tensor) and weight "
                               f"type (torch.{_LEGACY.get(w_dtype.name, w_dtype.name)}Tensor) "
                               "should be the same or input should be a MKLDNN tensor and "
                               "weight is a dense tensor")
        raise RuntimeError(f"expected scalar type {_LEGACY.get(x_dtype.name, x_dtype.name)} "
                           f"but found {_LEGACY.get(w_dtype.name, w_dtype.name)}")
    # PyTorch's CPU kernels: convolutions of any integer type, transposed ones of int64 only
    transposed = "transpose" in function
    if x_dtype.kind not in "fiu" or (transposed and x_dtype.kind != "f"
                                     and x_dtype != np.int64):
        kind = "slow_conv_transpose2d_out_cpu" if transposed else "slow_conv2d_cpu"
        raise NotImplementedError(f"\"{kind}\" not implemented for "
                                  f"'{_LEGACY.get(x_dtype.name, x_dtype.name)}'")


def _hashable(value):
    """Lists (PyTorch accepts them for int[n] arguments) as tuples, so a geometry can be a
    cache key."""
    return tuple(value) if isinstance(value, list) else value


def _planned(plan, *key):
    """plan(*key) through its cache, or directly when an argument cannot be hashed (plan then
    raises PyTorch's error for it)."""
    try:
        hash(key)
    except TypeError:
        return plan.__wrapped__(*key)
    return plan(*key)


# ---------------------------------------------------------------------------------------------
# Convolution
# ---------------------------------------------------------------------------------------------


def _check_conv(input, weight, bias, stride, padding, dilation, groups, output_padding,
                spatial, function):
    """Check a (transposed, if ``output_padding`` is not None) convolution's arguments; return
    (input as (N, C, *spatial), whether a batch dimension was added, stride, padding pairs,
    dilation, output_padding). The checks on shapes and parameters run once per geometry
    (``_conv_plan``, cached): a training step repeats the same ones."""
    _check_tensor(input, "input", function)
    _check_tensor(weight, "weight", function)
    if bias is not None:
        _check_tensor(bias, "bias", function)
    b_shape = b_dtype = None
    if bias is not None:
        b_shape, b_dtype = bias._data.shape, bias._data.dtype
    unbatched, stride, pairs, dilation, output_padding = _planned(
        _conv_plan, input._data.shape, input._data.dtype, weight._data.shape,
        weight._data.dtype, b_shape, b_dtype, _hashable(stride), _hashable(padding),
        _hashable(dilation), groups, _hashable(output_padding), spatial, function)
    return (input.unsqueeze(0) if unbatched else input), unbatched, stride, pairs, dilation, \
        output_padding


@functools.lru_cache(maxsize=256)
def _conv_plan(x_shape, x_dtype, w_shape, w_dtype, b_shape, b_dtype, stride, padding,
               dilation, groups, output_padding, spatial, function):
    """The checks of a convolution's shapes, dtypes and parameters, in PyTorch's order (the
    frontend, then ``_convolution``'s check_shape_forward), with its messages."""
    transposed = output_padding is not None
    if not _is_int(groups):
        raise TypeError(f"{function}() received an invalid combination of arguments - got "
                        f"groups={type(groups).__name__}, but expected int groups")
    if transposed and isinstance(padding, str):
        raise TypeError(f"{function}(): argument 'padding' must be tuple of ints, not str")
    stride = _int_list(stride, spatial, "stride", function)
    dilation = _int_list(dilation, spatial, "dilation", function)
    if not isinstance(padding, str):
        padding = _int_list(padding, spatial, "padding", function)
    if transposed:
        output_padding = _int_list(output_padding, spatial, "output_padding", function)
    if b_dtype is not None and b_dtype != x_dtype:
        raise RuntimeError(f"Input type ({_dtype_name(x_dtype)}) and bias type "
                           f"({_dtype_name(b_dtype)}) should be the same")
    x_shape = list(x_shape)
    if len(x_shape) not in (spatial + 1, spatial + 2):
        raise RuntimeError(f"Expected {spatial + 1}D (unbatched) or {spatial + 2}D (batched) "
                           f"input to {function}, but got input of size: {x_shape}")
    unbatched = len(x_shape) == spatial + 1
    if unbatched:
        x_shape = [1] + x_shape
    if isinstance(padding, str):
        if padding not in ("valid", "same"):
            raise RuntimeError(f"Invalid padding string: '{padding}'")
        if padding == "same" and any(s != 1 for s in stride):
            raise RuntimeError("padding='same' is not supported for strided convolutions")
    w_shape = list(w_shape)
    if len(w_shape) < 3:
        raise RuntimeError("weight should have at least three dimensions")
    k = len(w_shape) - 2
    stride = _expand(stride, k, "stride")
    if isinstance(padding, str):
        dilation = _expand(dilation, k, "dilation")
        if padding == "valid":
            pairs = ((0, 0),) * k
        else:  # 'same': the odd unit of padding goes after, as in PyTorch
            pairs = tuple((d * (n - 1) // 2, d * (n - 1) - d * (n - 1) // 2)
                          for d, n in zip(dilation, w_shape[2:]))
    else:
        padding = _expand(padding, k, "padding")
        dilation = _expand(dilation, k, "dilation")
        pairs = tuple((p, p) for p in padding)
    if transposed:
        output_padding = _expand(output_padding, k, "output_padding")
    if any(lo < 0 for lo, _ in pairs):
        raise RuntimeError("negative padding is not supported")
    if transposed and any(p < 0 for p in output_padding):
        raise RuntimeError("negative output_padding is not supported")
    if any(s <= 0 for s in stride):
        raise RuntimeError("non-positive stride is not supported")
    if any(d <= 0 for d in dilation):
        raise RuntimeError("non-positive dilation is not supported")
    if groups <= 0:
        raise RuntimeError("non-positive groups is not supported")
    if len(x_shape) != len(w_shape):
        raise RuntimeError(f"Expected {len(w_shape)}-dimensional input for {len(w_shape)}-"
                           f"dimensional weight {w_shape}, but got {len(x_shape)}-dimensional "
                           f"input of size {x_shape} instead")
    if w_shape[0] < groups:
        raise RuntimeError(f"Given groups={groups}, expected weight to be at least {groups} at "
                           f"dimension 0, but got weight of size {w_shape} instead")
    if w_shape[0] % groups:
        raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by {groups} "
                           f"at dimension 0, but got weight of size [{w_shape}] instead")
    shown = x_shape  # batched, as PyTorch shows it
    bias_bad = b_shape is not None and (len(b_shape) != 1 or b_shape[0] != (
        w_shape[1] * groups if transposed else w_shape[0]))
    if not transposed:
        if x_shape[1] != w_shape[1] * groups:
            raise ShapeError(f"Given groups={groups}, weight of size {w_shape}, expected "
                             f"input{shown} to have {w_shape[1] * groups} channels, but got "
                             f"{x_shape[1]} channels instead")
        if bias_bad:
            raise ShapeError(f"Given weight of size {w_shape}, expected bias to be "
                             f"1-dimensional with {w_shape[0]} elements, but got bias of size "
                             f"{list(b_shape)} instead")
        padded = [n + lo + hi for n, (lo, hi) in zip(x_shape[2:], pairs)]
        kernel = [d * (n - 1) + 1 for d, n in zip(dilation, w_shape[2:])]
        if any(p < q for p, q in zip(padded, kernel)):
            raise ShapeError(f"Calculated padded input size per channel: "
                             f"({' x '.join(map(str, padded))}). Kernel size: "
                             f"({' x '.join(map(str, kernel))}). Kernel size can't be greater "
                             "than actual input size")
    else:
        if x_shape[1] != w_shape[0]:
            raise ShapeError(f"Given transposed=1, weight of size {w_shape}, expected "
                             f"input{shown} to have {w_shape[0]} channels, but got "
                             f"{x_shape[1]} channels instead")
        if bias_bad:
            raise ShapeError(f"Given transposed=1, weight of size {w_shape}, expected bias to "
                             f"be 1-dimensional with {w_shape[1] * groups} elements, but got "
                             f"bias of size {list(b_shape)} instead")
    _check_conv_dtypes(x_dtype, w_dtype, function)
    return unbatched, stride, pairs, dilation, output_padding


def _conv(input, weight, bias, stride, padding, dilation, groups, spatial, function):
    x, unbatched, stride, pairs, dilation, _ = _check_conv(
        input, weight, bias, stride, padding, dilation, groups, None, spatial, function)
    if spatial == 1:
        x = x.unsqueeze(2)
        weight = weight.unsqueeze(2)
        stride, dilation, pairs = (1,) + stride, (1,) + dilation, ((0, 0),) + pairs
    y = Conv2d.apply(x, weight, bias, stride=stride, padding=pairs, dilation=dilation,
                     groups=groups)
    if spatial == 1:
        y = y.squeeze(2)
    return y.squeeze(0) if unbatched else y


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D convolution (cross-correlation): input (N, C, L) or (C, L), weight (O, C/groups, k),
    bias (O,) -> (N, O, L_out), L_out = (L + 2 p - d (k - 1) - 1) // s + 1.
    ``padding`` may be 'valid' (none) or 'same' (output length L; stride 1 only)."""
    return _conv(input, weight, bias, stride, padding, dilation, groups, 1, "conv1d")


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D convolution (cross-correlation): input (N, C, H, W) or (C, H, W), weight
    (O, C/groups, kh, kw), bias (O,) -> (N, O, H_out, W_out), with
    H_out = (H + 2 p_h - d_h (kh - 1) - 1) // s_h + 1 (W_out alike).
    ``padding`` may be 'valid' (none) or 'same' (output H x W; stride 1 only; an odd total
    padding puts the extra row/column at the bottom/right, as PyTorch)."""
    return _conv(input, weight, bias, stride, padding, dilation, groups, 2, "conv2d")


def _conv_transpose(input, weight, bias, stride, padding, output_padding, groups, dilation,
                    spatial, function):
    x, unbatched, stride, pairs, dilation, output_padding = _check_conv(
        input, weight, bias, stride, padding, dilation, groups, output_padding, spatial,
        function)
    if any(op >= s and op >= d for op, s, d in zip(output_padding, stride, dilation)):
        full_op, full_s, full_d = ((0,) * (2 - spatial) + output_padding,
                                   (1,) * (2 - spatial) + stride,
                                   (1,) * (2 - spatial) + dilation)
        raise RuntimeError(
            f"output padding must be smaller than either stride or dilation, but got "
            f"output_padding_height: {full_op[0]} output_padding_width: {full_op[1]} "
            f"stride_height: {full_s[0]} stride_width: {full_s[1]} dilation_height: "
            f"{full_d[0]} dilation_width: {full_d[1]}")
    x_shape, w_shape = _shape(x), _shape(weight)
    out_size = tuple((n - 1) * s - lo - hi + d * (k - 1) + op + 1
                     for n, s, (lo, hi), d, k, op in zip(x_shape[2:], stride, pairs, dilation,
                                                         w_shape[2:], output_padding))
    if any(n < 0 for n in out_size):
        raise ShapeError(f"{function}: input of size {x_shape} and weight of size {w_shape} "
                         f"with stride={list(stride)}, padding={[lo for lo, _ in pairs]}, "
                         f"dilation={list(dilation)} and output_padding={list(output_padding)} "
                         f"give a negative output size {list(out_size)}")
    if spatial == 1:
        x = x.unsqueeze(2)
        weight = weight.unsqueeze(2)
        stride, dilation, pairs = (1,) + stride, (1,) + dilation, ((0, 0),) + pairs
        out_size = (1,) + out_size
    y = ConvTranspose2d.apply(x, weight, bias, input_size=out_size, stride=stride,
                              padding=pairs, dilation=dilation, groups=groups)
    if spatial == 1:
        y = y.squeeze(2)
    return y.squeeze(0) if unbatched else y


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """1-D transposed convolution (the gradient of conv1d with respect to its input): input
    (N, C_in, L), weight (C_in, C_out/groups, k), bias (C_out,) -> (N, C_out, L_out),
    L_out = (L - 1) s - 2 p + d (k - 1) + output_padding + 1."""
    return _conv_transpose(input, weight, bias, stride, padding, output_padding, groups,
                           dilation, 1, "conv_transpose1d")


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    """2-D transposed convolution (the gradient of conv2d with respect to its input): input
    (N, C_in, H, W), weight (C_in, C_out/groups, kh, kw), bias (C_out,) ->
    (N, C_out, H_out, W_out), H_out = (H - 1) s_h - 2 p_h + d_h (kh - 1) + output_padding_h + 1."""
    return _conv_transpose(input, weight, bias, stride, padding, output_padding, groups,
                           dilation, 2, "conv_transpose2d")


# ---------------------------------------------------------------------------------------------
# Pooling: window tables
# ---------------------------------------------------------------------------------------------


def _frozen(array):
    array.flags.writeable = False
    return array


def _pool_output_size(size, kernel, stride, pad, dilation, ceil_mode):
    """PyTorch's pooling_output_shape: floor (or ceil) of the window count; with ceil_mode the
    last window must start inside the image or its left padding."""
    out = (size + 2 * pad - dilation * (kernel - 1) - 1 + (stride - 1 if ceil_mode else 0)) \
        // stride + 1
    if ceil_mode and (out - 1) * stride >= size + pad:
        out -= 1
    return out


@functools.lru_cache(maxsize=512)
def _max_windows(size, kernel, stride, pad, dilation, out):
    """(out, kernel) table of the input positions each max-pool window reads (-1: padding)."""
    positions = (np.arange(out)[:, None] * stride - pad + np.arange(kernel)[None, :] * dilation)
    return _frozen(np.where((positions >= 0) & (positions < size), positions, -1))


@functools.lru_cache(maxsize=512)
def _avg_windows(size, kernel, stride, pad, out):
    """(table, window size counting the padding, window size inside the image) for
    avg-pool windows along one dimension, PyTorch's rules: a window runs from o*s - pad to
    min(o*s - pad + kernel, size + pad), then is cut to the image."""
    start = np.arange(out) * stride - pad
    end = np.minimum(start + kernel, size + pad)
    with_pad = end - start
    start, end = np.maximum(start, 0), np.minimum(end, size)
    inside = np.maximum(end - start, 0)
    positions = start[:, None] + np.arange(kernel)[None, :]
    table = np.where(np.arange(kernel)[None, :] < inside[:, None], positions, -1)
    return _frozen(table), with_pad, inside


@functools.lru_cache(maxsize=512)
def _adaptive_windows(size, out):
    """(table, window sizes) for adaptive pooling along one dimension: window o covers
    [floor(o size / out), ceil((o + 1) size / out))."""
    start = (np.arange(out) * size) // out
    end = ((np.arange(out) + 1) * size + out - 1) // out
    count = end - start
    longest = int(count.max()) if out else 0
    positions = start[:, None] + np.arange(longest)[None, :]
    table = np.where(np.arange(longest)[None, :] < count[:, None], positions, -1)
    return _frozen(table), count


@functools.lru_cache(maxsize=512)
def _avg_divisor(rows_key, cols_key, count_include_pad, divisor_override):
    (rows_pad, rows_in), (cols_pad, cols_in) = rows_key, cols_key
    if divisor_override is not None:
        divisor = np.full((len(rows_in), len(cols_in)), float(divisor_override))
    elif count_include_pad:
        divisor = np.outer(rows_pad, cols_pad).astype(np.float64)
    else:
        divisor = np.outer(rows_in, cols_in).astype(np.float64)
    divisor[divisor == 0] = 1  # an empty window averages to 0, as in PyTorch
    return _frozen(divisor)


# ---------------------------------------------------------------------------------------------
# Max and average pooling
# ---------------------------------------------------------------------------------------------


def _pool_args(kernel_size, stride, padding, dilation, spatial, function):
    names = ("kernel_size", "stride", "padding", "dilation")
    count = "a single int, or a tuple of two ints" if spatial == 2 else "a single int"

    def parse(value, name):
        if _is_int(value):
            return (int(value),) * spatial
        if isinstance(value, (tuple, list)) and all(_is_int(v) for v in value):
            if len(value) == 1:
                return (int(value[0]),) * spatial
            if len(value) == spatial:
                return tuple(int(v) for v in value)
            raise RuntimeError(f"{function}: {name} must either be {count}")
        raise TypeError(f"{function}(): argument '{name}' must be tuple of ints, not "
                        f"{type(value).__name__}")

    kernel = parse(kernel_size, names[0])
    if stride is None or (isinstance(stride, (tuple, list)) and len(stride) == 0):
        stride = kernel
    else:
        stride = parse(stride, names[1])
    return kernel, stride, parse(padding, names[2]), (
        parse(dilation, names[3]) if dilation is not None else (1,) * spatial)


def _check_pool_input(shape, spatial, function):
    shape = list(shape)
    if len(shape) not in (spatial + 1, spatial + 2) or any(n == 0 for n in shape[-spatial - 1:]):
        if function.startswith("max_pool1d"):
            raise RuntimeError(f"max_pool1d: Expected 2D or 3D (batch mode) tensor with "
                               f"optional 0 dim batch size for input, but got:{shape}")
        if len(shape) not in (spatial + 1, spatial + 2):
            if spatial == 1:
                raise RuntimeError(f"Expected 2 to 3 dimensions, but got {len(shape)}-"
                                   f"dimensional tensor for argument #1 'self' (while checking "
                                   f"arguments for {function})")
            raise RuntimeError("non-empty 3D or 4D (batch mode) tensor expected for input")
        raise RuntimeError(f"Expected {spatial + 1}D or {spatial + 2}D (batch mode) tensor with "
                           f"optional 0 dim batch size for input, but got:{shape}")


def _pool_input(input, spatial, unbatched):
    """input as (N, C, H, W): a batch dimension added if ``unbatched``, and a unit height for
    1-D pooling."""
    x = input.unsqueeze(0) if unbatched else input
    return x.unsqueeze(2) if spatial == 1 else x


def _pool_output(y, spatial, unbatched):
    if spatial == 1:
        y = y.squeeze(2)
    return y.squeeze(0) if unbatched else y


def _indices_output(indices, spatial, unbatched):
    if spatial == 1:
        indices = indices.reshape(indices.shape[:2] + indices.shape[3:])
    if unbatched:
        indices = indices[0]
    return _wrap(np.ascontiguousarray(indices))


def _too_small(shape, out, spatial):
    planes = shape[-spatial - 1]
    shown = (planes,) + tuple(shape[-spatial:])
    out_shown = (planes,) + tuple(out[2 - spatial:])
    return ShapeError(f"Given input size: ({'x'.join(map(str, shown))}). Calculated output "
                      f"size: ({'x'.join(map(str, out_shown))}). Output size is too small")


@functools.lru_cache(maxsize=256)
def _max_pool_plan(shape, dtype, kernel_size, stride, padding, dilation, ceil_mode, indices,
                   spatial, function):
    """Checks (PyTorch's order and messages) and the window tables of a max pooling:
    (unbatched, rows, cols)."""
    kernel, stride, pad, dilation = _pool_args(kernel_size, stride, padding, dilation,
                                               spatial, function)
    _check_pool_input(shape, spatial, function)
    if any(s == 0 for s in stride):
        raise RuntimeError("stride should not be zero")
    if any(p < 0 for p in pad):
        raise RuntimeError(f"pad must be non-negative, but got pad: {pad[0]}")
    if any(k <= 0 for k in kernel):
        raise RuntimeError(f"kernel size should be greater than zero, but got kH: "
                           f"{kernel[0]} kW: {kernel[-1]}")
    if any(s < 0 for s in stride):
        raise RuntimeError(f"stride should be greater than zero, but got dH: {stride[0]} dW: "
                           f"{stride[-1]}")
    if any(d <= 0 for d in dilation):
        raise RuntimeError(f"dilation should be greater than zero, but got dilationH: "
                           f"{dilation[0]} dilationW: {dilation[-1]}")
    for p, k, d in zip(pad, kernel, dilation):
        if p > ((k - 1) * d + 1) // 2:
            raise RuntimeError(f"pad should be at most half of effective kernel size, but got "
                               f"pad={p}, kernel_size={k} and dilation={d}")
    if dtype == np.bool_ or (spatial == 1 and dtype.kind != "f" and not indices):
        kind = "max_pool2d" if dtype == np.bool_ else "max_pool1d_impl"
        raise NotImplementedError(f"\"{kind}\" not implemented for "
                                  f"'{_LEGACY.get(dtype.name, dtype.name)}'")
    size = tuple(shape[-spatial:])
    if spatial == 1:
        kernel, stride, pad, dilation, size = (1,) + kernel, (1,) + stride, (0,) + pad, \
            (1,) + dilation, (1,) + size
    out = tuple(_pool_output_size(n, k, s, p, d, ceil_mode)
                for n, k, s, p, d in zip(size, kernel, stride, pad, dilation))
    if any(o < 1 for o in out):
        raise _too_small(shape, out, spatial)
    rows = _max_windows(size[0], kernel[0], stride[0], pad[0], dilation[0], out[0])
    cols = _max_windows(size[1], kernel[1], stride[1], pad[1], dilation[1], out[1])
    return len(shape) == spatial + 1, rows, cols


@_graph.replayed  # the maxima and their positions are found outside the op
def _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices,
              spatial, function):
    _check_tensor(input, "input", function)
    unbatched, rows, cols = _planned(
        _max_pool_plan, input._data.shape, input._data.dtype, _hashable(kernel_size),
        _hashable(stride), _hashable(padding), _hashable(dilation), bool(ceil_mode),
        bool(return_indices), spatial, function)
    x = _pool_input(input, spatial, unbatched)
    values, indices = K.max_pool2d(x._data, rows, cols)
    y = _pool_output(PoolGather.apply(x, indices=indices, values=values), spatial, unbatched)
    if return_indices:
        return y, _indices_output(indices, spatial, unbatched)
    return y


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """Max over windows of ``kernel_size`` along the last dimension: input (N, C, L) or (C, L).
    Windows start every ``stride`` (default: kernel_size) elements, read every ``dilation``-th
    element, over an input padded with -inf by ``padding`` on both sides; ``ceil_mode`` keeps a
    last partial window. With ``return_indices`` also the position of each maximum in L."""
    return _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices,
                     1, "max_pool1d")


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    """Max over (kh, kw) windows: input (N, C, H, W) or (C, H, W) -> (N, C, H_out, W_out),
    H_out = (H + 2 p - d (k - 1) - 1) // s + 1 (rounded up with ``ceil_mode``, the last window
    starting inside the image or its left padding). With ``return_indices`` also the position
    h * W + w of each maximum in its plane (int64). d out/dx is 1 at each maximum's position
    (the first maximum of a window if several tie)."""
    return _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, return_indices,
                     2, "max_pool2d")


def max_pool1d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode=False, return_indices=False):
    """``max_pool1d(..., return_indices=True)``: the pooled values and the position of
    each maximum along the input's last dimension."""
    return max_pool1d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool2d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode=False, return_indices=False):
    """``max_pool2d(..., return_indices=True)``: the pooled values and the position
    ``h * W + w`` of each maximum in its plane."""
    return max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


@functools.lru_cache(maxsize=256)
def _avg_pool_plan(shape, dtype, kernel_size, stride, padding, ceil_mode, count_include_pad,
                   divisor_override, spatial, function):
    """Checks and window tables of an average pooling: (unbatched, rows, cols, divisor)."""
    kernel, stride, pad, _ = _pool_args(kernel_size, stride, padding, None, spatial, function)
    _check_pool_input(shape, spatial, function)
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeError("divisor must be not zero")
    if any(s == 0 for s in stride):
        raise RuntimeError("stride should not be zero")
    if any(p < 0 for p in pad):
        raise RuntimeError(f"pad must be non-negative, but got pad: {pad[0]}")
    if any(k <= 0 for k in kernel):
        raise RuntimeError(f"kernel size should be greater than zero, but got kH: "
                           f"{kernel[0]} kW: {kernel[-1]}")
    for p, k in zip(pad, kernel):
        if p > k // 2:
            raise RuntimeError(f"pad should be at most half of effective kernel size, but got "
                               f"pad={p}, kernel_size={k} and dilation=1")
    if dtype.kind != "f" and dtype != np.int64:  # PyTorch: floats and int64 only
        raise NotImplementedError(f"\"avg_pool2d\" not implemented for "
                                  f"'{_LEGACY.get(dtype.name, dtype.name)}'")
    size = tuple(shape[-spatial:])
    if spatial == 1:
        kernel, stride, pad, size = (1,) + kernel, (1,) + stride, (0,) + pad, (1,) + size
    out = tuple(_pool_output_size(n, k, s, p, 1, ceil_mode)
                for n, k, s, p in zip(size, kernel, stride, pad))
    if any(o < 1 for o in out):
        raise _too_small(shape, out, spatial)
    rows, rows_pad, rows_in = _avg_windows(size[0], kernel[0], stride[0], pad[0], out[0])
    cols, cols_pad, cols_in = _avg_windows(size[1], kernel[1], stride[1], pad[1], out[1])
    divisor = _avg_divisor((tuple(rows_pad), tuple(rows_in)), (tuple(cols_pad), tuple(cols_in)),
                           bool(count_include_pad),
                           None if divisor_override is None else int(divisor_override))
    return len(shape) == spatial + 1, rows, cols, divisor


def _avg_pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad,
              divisor_override, spatial, function):
    _check_tensor(input, "input", function)
    unbatched, rows, cols, divisor = _planned(
        _avg_pool_plan, input._data.shape, input._data.dtype, _hashable(kernel_size),
        _hashable(stride), _hashable(padding), bool(ceil_mode), bool(count_include_pad),
        divisor_override, spatial, function)
    x = _pool_input(input, spatial, unbatched)
    y = AvgPool2d.apply(x, rows=rows, cols=cols, divisor=divisor)
    return _pool_output(y, spatial, unbatched)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True):
    """Mean over windows of ``kernel_size`` along the last dimension (see avg_pool2d)."""
    return _avg_pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad, None,
                     1, "avg_pool1d")


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    """Mean over (kh, kw) windows: input (N, C, H, W) or (C, H, W) -> (N, C, H_out, W_out)
    (sizes as max_pool2d). The divisor is ``divisor_override`` if given, else the window's
    size counting the zero padding (``count_include_pad``) or only the image elements it
    covers. d out/dx spreads each gradient evenly (1 / divisor) over its window."""
    return _avg_pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad,
                     divisor_override, 2, "avg_pool2d")


# ---------------------------------------------------------------------------------------------
# Adaptive pooling
# ---------------------------------------------------------------------------------------------


def _adaptive_args(input, output_size, spatial, function):
    _check_tensor(input, "input", function)
    shape = _shape(input)
    if spatial == 1:
        if len(shape) not in (2, 3):
            raise RuntimeError(f"Expected 2 to 3 dimensions, but got {len(shape)}-dimensional "
                               f"tensor for argument #1 'self' (while checking arguments for "
                               f"{function})")
        sizes = (output_size,) if _is_int(output_size) or output_size is None else \
            tuple(output_size)
        if len(sizes) != 1:
            raise RuntimeError(f"{function}: output_size must be 1")
    else:
        if len(shape) not in (3, 4):
            raise RuntimeError(f"{function}(): Expected 3D or 4D tensor, but got {shape}")
        sizes = (output_size,) * 2 if _is_int(output_size) or output_size is None else \
            tuple(output_size)
        if len(sizes) != 2:
            raise RuntimeError(f"{function}: output_size must be 2")
    for i in range(1, len(shape)):
        if shape[i] == 0 and not (len(shape) == spatial + 2 and i == 0):
            raise RuntimeError(f"{function}(): Expected input to have non-zero size for "
                               f"non-batch dimensions, but input has sizes {shape} with "
                               f"dimension {i} being empty")
    spatial_in = shape[-spatial:]
    sizes = tuple(n if s is None else s for s, n in zip(sizes, spatial_in))
    for s in sizes:
        if not _is_int(s):
            raise TypeError(f"{function}(): argument 'output_size' must be tuple of ints, not "
                            f"{type(s).__name__}")
        if s < 0:
            raise RuntimeError(f"{function}: elements of output_size must be greater than or "
                               f"equal to 0 but received {s}")
    x, unbatched = _batched(input, spatial, function)
    if spatial == 1:
        x = x.unsqueeze(2)
        sizes = (1,) + sizes
    rows, rows_count = _adaptive_windows(x._data.shape[2], sizes[0])
    cols, cols_count = _adaptive_windows(x._data.shape[3], sizes[1])
    return x, unbatched, rows, cols, rows_count, cols_count


def adaptive_avg_pool1d(input, output_size):
    """Mean over ``output_size`` windows that tile the last dimension: window o covers
    [floor(o L / out), ceil((o + 1) L / out))."""
    return _adaptive_avg(input, output_size, 1, "adaptive_avg_pool1d")


def adaptive_avg_pool2d(input, output_size):
    """Mean over (H_out, W_out) windows that tile the image (see adaptive_avg_pool1d for one
    dimension); an entry of ``output_size`` may be None (keep that size)."""
    return _adaptive_avg(input, output_size, 2, "adaptive_avg_pool2d")


def _adaptive_avg(input, output_size, spatial, function):
    x, unbatched, rows, cols, rows_count, cols_count = _adaptive_args(input, output_size,
                                                                      spatial, function)
    if x._data.dtype.kind not in _FLOAT_KINDS:
        raise NotImplementedError(f"\"{function.replace('1d', '2d')}\" not implemented for "
                                  f"'{_LEGACY.get(x._data.dtype.name, x._data.dtype.name)}'")
    divisor = _avg_divisor((tuple(rows_count), tuple(rows_count)),
                           (tuple(cols_count), tuple(cols_count)), True, None)
    y = AvgPool2d.apply(x, rows=rows, cols=cols, divisor=divisor)
    return _pool_output(y, spatial, unbatched)


@_graph.replayed  # the maxima and their positions are found outside the op
def _adaptive_max(input, output_size, return_indices, spatial, function):
    x, unbatched, rows, cols, _, _ = _adaptive_args(input, output_size, spatial, function)
    if x._data.dtype.kind not in _FLOAT_KINDS:
        raise NotImplementedError(f"\"{function.replace('1d', '2d')}\" not implemented for "
                                  f"'{_LEGACY.get(x._data.dtype.name, x._data.dtype.name)}'")
    values, indices = K.max_pool2d(x._data, rows, cols)
    y = _pool_output(PoolGather.apply(x, indices=indices, values=values), spatial, unbatched)
    if return_indices:
        return y, _indices_output(indices, spatial, unbatched)
    return y


def adaptive_max_pool1d(input, output_size, return_indices=False):
    """Max over ``output_size`` windows that tile the last dimension (windows as
    adaptive_avg_pool1d); with ``return_indices`` also the position of each maximum."""
    return _adaptive_max(input, output_size, return_indices, 1, "adaptive_max_pool1d")


def adaptive_max_pool2d(input, output_size, return_indices=False):
    """Max over (H_out, W_out) windows that tile the image; with ``return_indices`` also the
    position h * W + w of each maximum in its plane."""
    return _adaptive_max(input, output_size, return_indices, 2, "adaptive_max_pool2d")


def adaptive_max_pool1d_with_indices(input, output_size, return_indices=False):
    """``adaptive_max_pool1d(..., return_indices=True)``: the pooled values and the
    position of each maximum."""
    return adaptive_max_pool1d(input, output_size, True)


def adaptive_max_pool2d_with_indices(input, output_size, return_indices=False):
    """``adaptive_max_pool2d(..., return_indices=True)``: the pooled values and the
    position ``h * W + w`` of each maximum in its plane."""
    return adaptive_max_pool2d(input, output_size, True)


# ---------------------------------------------------------------------------------------------
# Max unpooling
# ---------------------------------------------------------------------------------------------


def _max_unpool(input, indices, kernel_size, stride, padding, output_size, spatial, function):
    _check_tensor(input, "input", function)
    _check_tensor(indices, "indices", function)
    kernel, stride, pad, _ = _pool_args(kernel_size, stride, padding, None, spatial, function)
    shape = _shape(input)
    if len(shape) not in (spatial + 1, spatial + 2):
        raise RuntimeError(f"Input to max_unpooling{spatial}d should be a "
                           f"{spatial + 1}d or {spatial + 2}d Tensor, but got a tensor with "
                           f"{len(shape)} dimensions.")
    if indices._data.dtype != np.int64:
        raise RuntimeError(f"elements in indices should be type int64 but got: "
                           f"{_LEGACY.get(indices._data.dtype.name, indices._data.dtype.name)}")
    if _shape(indices) != shape:
        raise ShapeError(f"Expected shape of indices to be same as that of the input tensor "
                         f"({shape}) but got indices tensor with shape: {_shape(indices)}")
    default = [(n - 1) * s + k - 2 * p
               for n, s, k, p in zip(shape[-spatial:], stride, kernel, pad)]
    if output_size is None:
        size = default
    else:
        given = output_size
        size = list(output_size)
        if len(size) == spatial + 2 or (len(size) == spatial + 1 and len(shape) == spatial + 1):
            size = size[-spatial:]
        if len(size) != spatial:
            raise ValueError(f"output_size should be a sequence containing {spatial} or "
                             f"{spatial + 2} elements, but it has a length of '{len(size)}'")
        for d in range(spatial):
            low, high = default[d] - stride[d], default[d] + stride[d]
            if not low < size[d] < high:
                raise ValueError(f'invalid output_size "{given}" (dim {d} must be between '
                                 f'{low} and {high})')
    x, unbatched = _batched(input, spatial, function)
    idx = indices._data if not unbatched else indices._data[None]
    if spatial == 1:
        x = x.unsqueeze(2)
        idx = idx[:, :, None]
        size = [1] + size
    limit = size[0] * size[1]
    if idx.size and (idx.min() < 0 or idx.max() >= limit):
        bad = idx[(idx < 0) | (idx >= limit)].flat[0]
        raise RuntimeError(f"Found an invalid max index: {bad} (output volumes are of size "
                           f"{size[0]}x{size[1]})" if spatial == 2 else
                           f"Found an invalid max index: {bad} (output volumes are of size "
                           f"{size[1]})")
    y = MaxUnpool2d.apply(x, indices=np.ascontiguousarray(idx), output_size=tuple(size))
    return _pool_output(y, spatial, unbatched)


def max_unpool1d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """The partial inverse of max_pool1d: each value written at its index, zeros elsewhere."""
    return _max_unpool(input, indices, kernel_size, stride, padding, output_size, 1,
                       "max_unpool1d")


def max_unpool2d(input, indices, kernel_size, stride=None, padding=0, output_size=None):
    """The partial inverse of max_pool2d: input (N, C, H, W) and the pool's indices ->
    (N, C, H_out, W_out), each value written at position indices (h * W_out + w) of its
    plane, zeros elsewhere. H_out = (H - 1) s - 2 p + k unless ``output_size`` says."""
    return _max_unpool(input, indices, kernel_size, stride, padding, output_size, 2,
                       "max_unpool2d")


# ---------------------------------------------------------------------------------------------
# Unfold / fold (im2col / col2im)
# ---------------------------------------------------------------------------------------------


def _fold_args(kernel_size, dilation, padding, stride, function):
    kernel = _ints(kernel_size, 2, "kernel_size", function)
    dilation = _ints(dilation, 2, "dilation", function)
    padding = _ints(padding, 2, "padding", function)
    stride = _ints(stride, 2, "stride", function)
    if any(k <= 0 for k in kernel):
        raise RuntimeError(f"kernel size should be greater than zero, but got kernel_height: "
                           f"{kernel[0]} kernel_width: {kernel[1]}")
    if any(d <= 0 for d in dilation):
        raise RuntimeError(f"dilation should be greater than zero, but got dilation_height: "
                           f"{dilation[0]} dilation_width: {dilation[1]}")
    if any(p < 0 for p in padding):
        raise RuntimeError(f"padding should be non-negative, but got pad_height: {padding[0]} "
                           f"pad_width: {padding[1]}")
    if any(s <= 0 for s in stride):
        raise RuntimeError(f"stride should be greater than zero, but got stride_height: "
                           f"{stride[0]} stride_width: {stride[1]}")
    return kernel, dilation, padding, stride


def _blocks(size, kernel, dilation, padding, stride):
    return tuple((n + 2 * p - d * (k - 1) - 1) // s + 1
                 for n, k, d, p, s in zip(size, kernel, dilation, padding, stride))


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    """Sliding windows as columns (im2col): input (N, C, H, W) or (C, H, W) ->
    (N, C * kh * kw, L), L the number of windows; column l holds window l's elements,
    channel-major then kernel row and column."""
    _check_tensor(input, "input", "unfold")
    shape = _shape(input)
    if len(shape) not in (3, 4):
        raise NotImplementedError(f"Input Error: Only 3D or 4D input Tensors are supported "
                                  f"(got {len(shape)}D)")
    kernel, dilation, padding, stride = _fold_args(kernel_size, dilation, padding, stride,
                                                   "unfold")
    x, unbatched = _batched(input, 2, "unfold")
    if x._data.dtype.kind not in _FLOAT_KINDS:
        raise NotImplementedError(f"\"im2col_out_cpu\" not implemented for "
                                  f"'{_LEGACY.get(x._data.dtype.name, x._data.dtype.name)}'")
    size = x._data.shape[2:]
    blocks = _blocks(size, kernel, dilation, padding, stride)
    if any(b < 1 for b in blocks):
        raise ShapeError(f"Given input with spatial size {tuple(size)}, kernel_size="
                         f"{kernel}, dilation={dilation}, padding={padding}, calculated shape "
                         f"of the array of sliding blocks as {blocks}, but its components "
                         "must be at least one.")
    cols = Im2col.apply(x, kernel_size=kernel, output_size=blocks, stride=stride,
                        padding=padding, dilation=dilation)
    return cols.squeeze(0) if unbatched else cols


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """The transpose of unfold (col2im): columns (N, C * kh * kw, L) or (C * kh * kw, L) summed
    into an image (N, C, H, W), (H, W) = ``output_size``; overlapping entries add."""
    _check_tensor(input, "input", "fold")
    shape = _shape(input)
    if len(shape) not in (2, 3):
        raise NotImplementedError(f"Input Error: Only unbatched (2D) or batched (3D) input "
                                  f"Tensors are supported (got {len(shape)}D)")
    size = _ints(output_size, 2, "output_size", "fold")
    kernel, dilation, padding, stride = _fold_args(kernel_size, dilation, padding, stride,
                                                   "fold")
    x, unbatched = _batched(input, 1, "fold")
    if x._data.dtype.kind not in _FLOAT_KINDS:
        raise NotImplementedError(f"\"col2im_out_cpu\" not implemented for "
                                  f"'{_LEGACY.get(x._data.dtype.name, x._data.dtype.name)}'")
    channels_k = x._data.shape[1]
    if channels_k % (kernel[0] * kernel[1]):
        raise ShapeError(f"Expected size of input's dimension 1 to be divisible by the product "
                         f"of kernel_size, but got input.size(1)={channels_k} and "
                         f"kernel_size={kernel}.")
    blocks = _blocks(size, kernel, dilation, padding, stride)
    if any(b < 1 for b in blocks):
        raise ShapeError(f"Given output_size={size}, kernel_size={kernel}, dilation="
                         f"{dilation}, padding={padding}, stride={stride}, calculated shape of "
                         f"the array of sliding blocks as {blocks}, but its components must be "
                         "at least one.")
    if x._data.shape[2] != blocks[0] * blocks[1]:
        raise ShapeError(f"Given output_size={size}, kernel_size={kernel}, dilation="
                         f"{dilation}, padding={padding}, stride={stride}, expected size of "
                         f"input's dimension 2 to match the calculated number of sliding "
                         f"blocks {blocks[0]} * {blocks[1]} = {blocks[0] * blocks[1]}, but got "
                         f"input.size(2)={x._data.shape[2]}.")
    y = Col2im.apply(x, input_size=size, kernel_size=kernel, output_size=blocks, stride=stride,
                     padding=padding, dilation=dilation)
    return y.squeeze(0) if unbatched else y


# ---------------------------------------------------------------------------------------------
# Padding
# ---------------------------------------------------------------------------------------------

_PAD_COMBINATIONS = (
    "Supported combinations for non-constant padding:\n"
    "  - 2D or 3D input: padding size = 2 (pads last dimension)\n"
    "  - 3D or 4D input: padding size = 4 (pads last 2 dimensions)\n"
    "  - 4D or 5D input: padding size = 6 (pads last 3 dimensions)")


@functools.lru_cache(maxsize=512)
def _pad_positions(size, before, after, mode):
    """The input position each output position along one dimension reads, for a pad of
    (before, after) elements (negative: removed) in mode reflect, replicate or circular.
    Circular padding wraps around what is left after the cropping, as PyTorch's does."""
    src = np.arange(-before, size + after)
    if mode == "circular":
        start, kept = max(-before, 0), size - max(-before, 0) - max(-after, 0)
        src = start + np.mod(np.arange(size + before + after) - max(before, 0), kept)
    elif mode == "reflect":
        src = np.abs(src)                                   # mirror at 0 (edge not repeated)
        src = np.where(src >= size, 2 * (size - 1) - src, src)  # mirror at size - 1
    elif mode == "replicate":
        src = np.clip(src, 0, size - 1)
    return _frozen(src.astype(np.int64))


def pad(input, pad, mode="constant", value=None):
    """Pad (or, with negative amounts, crop) the last len(pad) // 2 dimensions:
    ``pad = (left, right, top, bottom, front, back)`` starting from the last dimension.

    mode 'constant' fills with ``value`` (0 by default) and pads any number of dimensions;
    'reflect' mirrors without repeating the edge, 'replicate' repeats the edge, 'circular'
    wraps around; these pad the last 1, 2 or 3 dimensions of a batched or unbatched input.
    The gradient of the padded values flows back to the elements they copy."""
    _check_tensor(input, "input", "pad")
    if not isinstance(pad, (tuple, list)):
        raise TypeError(f"pad(): argument 'pad' (position 2) must be tuple of ints, not "
                        f"{type(pad).__name__}")
    for i, p in enumerate(pad):
        if not _is_int(p):
            raise TypeError(f"pad(): argument 'pad' (position 2) must be tuple of ints, but "
                            f"found element of type {type(p).__name__} at pos {i}")
    pad = [int(p) for p in pad]
    shape = _shape(input)
    ndim = len(shape)
    if len(pad) % 2:
        raise RuntimeError("Padding length must be divisible by 2")
    if len(pad) // 2 > ndim:
        raise RuntimeError(f"Padding length should be less than or equal to two times the "
                           f"input dimension but got padding length {len(pad)} and input of "
                           f"dimension {ndim}")
    count = len(pad) // 2
    pairs = [(pad[2 * i], pad[2 * i + 1]) for i in range(count)][::-1]  # first padded dim first
    dims = list(range(ndim - count, ndim))
    if mode == "constant":
        for d, (lo, hi) in zip(dims, pairs):
            if shape[d] + lo + hi < 0:
                raise RuntimeError("narrow(): length must be non-negative.")
        full = ((0, 0),) * (ndim - count) + tuple(pairs)
        fill = 0 if value is None else value
        return ConstantPad.apply(input, pads=full, value=fill)
    if mode not in ("reflect", "replicate", "circular"):
        raise NotImplementedError(f"Unrecognised padding mode {mode}")
    if value is not None and value != 0:
        raise RuntimeError(f"Padding mode \"{mode}\" doesn't take in value argument")
    if not (count in (1, 2, 3) and ndim in (count + 1, count + 2)):
        raise NotImplementedError(f"Padding size {len(pad)} is not supported for {ndim}D input "
                                  f"tensor.\n{_PAD_COMBINATIONS}")
    batched = ndim == count + 2
    channel_dims = shape[1:ndim - count] if batched else shape[:ndim - count]
    if mode != "circular":
        spatial = shape[ndim - count:]
        if any(n == 0 for n in channel_dims) or any(n == 0 for n in spatial):
            raise RuntimeError(f"Expected {count + 1}D or {count + 2}D (batch mode) tensor "
                               f"with possibly 0 batch size and other non-zero dimensions for "
                               f"input, but got: {shape}")
    sizes = [shape[d] for d in dims]
    outs = [n + lo + hi for n, (lo, hi) in zip(sizes, pairs)]
    for k, (d, n, (lo, hi)) in enumerate(reversed(list(zip(dims, sizes, pairs)))):
        if mode == "reflect" and (lo >= n or hi >= n):  # the last dimension first, as PyTorch
            raise RuntimeError(f"Argument #{4 + 2 * k}: Padding size should be less than the "
                               f"corresponding input dimension, but got: padding ({lo}, {hi}) "
                               f"at dimension {d} of input {shape}")
        if mode == "circular":
            kept = n - max(-lo, 0) - max(-hi, 0)
            if n + lo + hi < 0 or kept < 0:
                raise RuntimeError("Negative padding value is resulting in an empty dimension")
            if lo > n or hi > n or max(lo, 0) > kept or max(hi, 0) > kept:
                raise RuntimeError("Padding value causes wrapping around more than once.")
    if mode != "circular" and (all(o < 1 for o in outs) or any(o < 0 for o in outs)):
        names = "DHW"[3 - count:]
        raise RuntimeError(f"input ({', '.join(f'{a}: {n}' for a, n in zip(names, sizes))}) is "
                           f"too small. Calculated output "
                           f"{' '.join(f'{a}: {o}' for a, o in zip(names, outs))}")
    index = [slice(None)] * (ndim - count)
    for i, (d, (lo, hi)) in enumerate(zip(dims, pairs)):
        positions = _pad_positions(shape[d], lo, hi, mode)
        index.append(positions.reshape((-1,) + (1,) * (count - 1 - i)))
    return ops.Index.apply(input, tuple(index))


# ---------------------------------------------------------------------------------------------
# Interpolation
# ---------------------------------------------------------------------------------------------


def _nearest_positions(in_size, out_size, scale, exact):
    """PyTorch's nearest source index: floor(dst * s) ('nearest') or floor((dst + 0.5) * s)
    ('nearest-exact'), s = 1 / scale_factor if given, else in / out, in float32."""
    s = np.float32(1.0 / scale) if scale is not None and scale > 0 else \
        np.float32(in_size) / np.float32(out_size)
    dst = np.arange(out_size)
    if exact:
        src = np.floor((dst.astype(np.float32) + np.float32(0.5)) * s)
    else:
        src = np.floor(dst.astype(np.float32) * s)
    return np.minimum(src.astype(np.int64), in_size - 1)


def _linear_weights(in_size, out_size, scale, align_corners, dtype):
    """(i0, i1, w0, w1): out[j] = w0[j] x[i0[j]] + w1[j] x[i1[j]], PyTorch's linear
    interpolation indices and weights, computed in the input's precision."""
    real = np.dtype(np.float64 if dtype == np.float64 else np.float32).type
    if align_corners:
        s = real(in_size - 1) / real(out_size - 1) if out_size > 1 else real(0)
        src = s * np.arange(out_size).astype(real)
    else:
        s = real(1.0 / scale) if scale is not None and scale > 0 else \
            real(in_size) / real(out_size)
        src = s * (np.arange(out_size).astype(real) + real(0.5)) - real(0.5)
        src = np.maximum(src, real(0))
    i0 = np.minimum(np.floor(src).astype(np.int64), in_size - 1)
    w1 = np.clip(src - i0.astype(real), real(0), real(1)).astype(real)
    i1 = i0 + (i0 < in_size - 1)
    w0 = (real(1) - w1).astype(real)
    return i0, i1, w0.astype(dtype), w1.astype(dtype)


def _along(axis, ndim, index):
    return (slice(None),) * axis + (index,) + (slice(None),) * (ndim - axis - 1)


def _broadcast_along(values, axis, ndim):
    return values.reshape((-1,) + (1,) * (ndim - axis - 1))


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    """Resize the spatial dimensions of input ``(N, C, *spatial)`` to ``size`` (or to
    floor(in * ``scale_factor``)).

    modes: 'nearest' (source floor(dst * in / out)), 'nearest-exact' (floor((dst + 0.5) *
    in / out)), 'linear' (3-D input), 'bilinear' (4-D), 'trilinear' (5-D): separable linear
    interpolation between the two nearest source samples, sample centres aligned
    (``align_corners=False``: src = (dst + 0.5) in / out - 0.5, clamped at 0) or corner pixels
    aligned (src = dst (in - 1) / (out - 1)); 'area': adaptive average pooling.
    Given ``scale_factor`` (and not ``recompute_scale_factor``), the source positions use
    1 / scale_factor, as in PyTorch."""
    _check_tensor(input, "input", "interpolate")
    if mode in ("nearest", "area", "nearest-exact"):
        if align_corners is not None:
            raise ValueError("align_corners option can only be set with the interpolating "
                             "modes: linear | bilinear | bicubic | trilinear")
    elif align_corners is None:
        align_corners = False
    shape = _shape(input)
    dim = len(shape) - 2
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    if size is not None:
        scales = None
        if isinstance(size, (list, tuple)):
            if len(size) != dim:
                raise ValueError(
                    "Input and output must have the same number of spatial dimensions, but "
                    f"got input with spatial dimensions of {shape[2:]} and output size of "
                    f"{size}. Please provide input tensor in (N, C, d1, d2, ...,dK) format and "
                    "output size in (o1, o2, ...,oK) format.")
            if not all(_is_int(s) for s in size):
                raise TypeError("expected size to be one of int or Tuple[int] or Tuple[int, "
                                "int] or Tuple[int, int, int], but got size with types "
                                f"{[type(s) for s in size]}")
            out_size = [int(s) for s in size]
        else:
            out_size = [int(size)] * dim
    elif scale_factor is not None:
        if isinstance(scale_factor, (list, tuple)):
            if len(scale_factor) != dim:
                raise ValueError(
                    "Input and scale_factor must have the same number of spatial dimensions, "
                    f"but got input with spatial dimensions of {shape[2:]} and scale_factor of "
                    f"shape {scale_factor}. Please provide input tensor in (N, C, d1, d2, "
                    "...,dK) format and scale_factor in (s1, s2, ...,sK) format.")
            scales = [float(s) for s in scale_factor]
        else:
            scales = [float(scale_factor)] * dim
        out_size = None
    else:
        raise ValueError("either size or scale_factor should be defined")
    if recompute_scale_factor and size is not None:
        raise ValueError("recompute_scale_factor is not meaningful with an explicit size.")
    if mode == "area" and out_size is None:
        recompute_scale_factor = True
    if out_size is None:
        out_size = [math.floor(float(n) * s) for n, s in zip(shape[2:], scales)]
        if recompute_scale_factor:
            scales = None
    if antialias:
        raise NotImplementedError("interpolate(antialias=True) is not supported by minigrad")
    linear_dims = {"linear": 1, "bilinear": 2, "trilinear": 3}
    known = ("nearest", "nearest-exact", "area") + tuple(linear_dims)
    if mode not in known or dim < 1 or dim > 3 or (mode in linear_dims
                                                   and linear_dims[mode] != dim):
        if mode in linear_dims and 1 <= dim <= 3:
            need = linear_dims[mode] + 2
            raise NotImplementedError(f"Got {dim + 2}D input, but {mode} mode needs {need}D "
                                      "input")
        raise NotImplementedError(
            f"Input Error: Only 3D, 4D and 5D input Tensors supported (got {dim + 2}D) for the "
            f"modes: nearest | linear | bilinear | bicubic | trilinear | area | nearest-exact "
            f"(got {mode})")
    for n in out_size:
        if n <= 0:
            raise RuntimeError(f"Input and output sizes should be greater than 0, but got "
                               f"input ({', '.join(map(str, shape[2:]))}) and output "
                               f"({', '.join(map(str, out_size))})")
    if mode == "area":
        if dim == 1:
            return adaptive_avg_pool1d(input, out_size)
        if dim == 2:
            return adaptive_avg_pool2d(input, out_size)
        raise NotImplementedError("interpolate(mode='area') on 5-D input is not supported by "
                                  "minigrad")
    if any(n == 0 for n in shape[1:]):
        raise RuntimeError(f"Non-empty {dim + 1}D data tensor expected but got a tensor with "
                           f"sizes {shape}")
    dtype = input._data.dtype
    if dtype.kind != "f" and (mode in linear_dims or dtype != np.uint8):
        raise NotImplementedError(f"\"upsample_{mode}{dim}d_out_frame\" not implemented for "
                                  f"'{_LEGACY.get(dtype.name, dtype.name)}'")
    y = input
    ndim = dim + 2
    for k in range(dim):
        axis = 2 + k
        n_in, n_out = shape[axis], out_size[k]
        scale = None if scales is None else scales[k]
        if mode in ("nearest", "nearest-exact"):
            if n_in == n_out and scale is None:
                continue
            src = _nearest_positions(n_in, n_out, scale, mode == "nearest-exact")
            y = ops.Index.apply(y, _along(axis, ndim, src))
        else:
            i0, i1, w0, w1 = _linear_weights(n_in, n_out, scale, align_corners, dtype)
            low = ops.Index.apply(y, _along(axis, ndim, i0))
            high = ops.Index.apply(y, _along(axis, ndim, i1))
            y = low * _wrap(_broadcast_along(w0, axis, ndim)) + \
                high * _wrap(_broadcast_along(w1, axis, ndim))
    return y if y is not input else ops.Clone.apply(input)


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    """Deprecated alias of interpolate (as in PyTorch)."""
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input, size=None, scale_factor=None):
    """Deprecated in PyTorch: ``interpolate(input, size, scale_factor, mode="nearest")``."""
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input, size=None, scale_factor=None):
    """Deprecated in PyTorch: ``interpolate(input, size, scale_factor, mode="bilinear",
    align_corners=True)`` on ``(N, C, H, W)`` input."""
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


# ---------------------------------------------------------------------------------------------
# Pixel shuffle
# ---------------------------------------------------------------------------------------------


def pixel_shuffle(input, upscale_factor):
    """``(*, C r^2, H, W) -> (*, C, H r, W r)``:
    out[..., c, h r + i, w r + j] = in[..., c r^2 + i r + j, h, w]."""
    _check_tensor(input, "input", "pixel_shuffle")
    r = operator.index(upscale_factor)
    shape = _shape(input)
    if len(shape) < 3:
        raise RuntimeError(f"pixel_shuffle expects input to have at least 3 dimensions, but got "
                           f"input with {len(shape)} dimension(s)")
    if r <= 0:
        raise RuntimeError(f"pixel_shuffle expects a positive upscale_factor, but got {r}")
    c, h, w = shape[-3:]
    if c % (r * r):
        raise RuntimeError(f"pixel_shuffle expects its input's 'channel' dimension to be "
                           f"divisible by the square of upscale_factor, but input.size(-3)={c} "
                           f"is not divisible by {r * r}")
    lead = shape[:-3]
    k = len(lead)
    y = input.reshape(*lead, c // (r * r), r, r, h, w)
    y = y.permute(*range(k), k, k + 3, k + 1, k + 4, k + 2)
    return y.reshape(*lead, c // (r * r), h * r, w * r)


def pixel_unshuffle(input, downscale_factor):
    """``(*, C, H r, W r) -> (*, C r^2, H, W)``, the inverse of pixel_shuffle."""
    _check_tensor(input, "input", "pixel_unshuffle")
    r = operator.index(downscale_factor)
    shape = _shape(input)
    if len(shape) < 3:
        raise RuntimeError(f"pixel_unshuffle expects input to have at least 3 dimensions, but "
                           f"got input with {len(shape)} dimension(s)")
    if r <= 0:
        raise RuntimeError(f"pixel_unshuffle expects a positive downscale_factor, but got {r}")
    c, h, w = shape[-3:]
    if h % r:
        raise RuntimeError(f"pixel_unshuffle expects height to be divisible by "
                           f"downscale_factor, but input.size(-2)={h} is not divisible by {r}")
    if w % r:
        raise RuntimeError(f"pixel_unshuffle expects width to be divisible by "
                           f"downscale_factor, but input.size(-1)={w} is not divisible by {r}")
    lead = shape[:-3]
    k = len(lead)
    y = input.reshape(*lead, c, h // r, r, w // r, r)
    y = y.permute(*range(k), k, k + 2, k + 4, k + 1, k + 3)
    return y.reshape(*lead, c * r * r, h // r, w // r)
