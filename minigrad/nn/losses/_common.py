"""Shared pieces of the losses: argument checking (PyTorch's errors), the legacy
``size_average``/``reduce`` mapping, reductions and the constant weight arguments."""
import warnings

import numpy as np

from ...errors import ShapeError
from ...tensor import Tensor

_REDUCTIONS = ("mean", "sum", "none")


# ---------------------------------------------------------------------------------------------
# Argument checking
# ---------------------------------------------------------------------------------------------


def _check_reduction(reduction):
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{reduction} is not a valid value for reduction "
                         "(expected 'mean', 'sum' or 'none')")


def _legacy_reduction(size_average, reduce, reduction):
    """PyTorch's deprecated ``size_average`` / ``reduce`` arguments, mapped to ``reduction``."""
    if size_average is None and reduce is None:
        return reduction
    warnings.warn("size_average and reduce args will be deprecated, please use "
                  "reduction='mean'/'sum'/'none' instead.", UserWarning, stacklevel=3)
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    if size_average and reduce:
        return "mean"
    return "sum" if reduce else "none"


def _check_tensor(value, name, function):
    if not isinstance(value, Tensor):
        raise TypeError(f"{function}(): argument '{name}' must be a Tensor, not "
                        f"{type(value).__name__}")


def _check_same_shape(input, target, function):
    """BCE's rule (PyTorch): input and target sizes must be equal, a ValueError otherwise."""
    if input._data.shape != target._data.shape:
        raise ShapeError(
            f"{function}: using a target size ({target.size()}) that is different to the input "
            f"size ({input.size()}) is deprecated. Please ensure they have the same size.")


def _broadcast_pair(input, target, function):
    """The pointwise regression losses' rule (PyTorch): a target size that differs from the
    input size gets a UserWarning, then both are broadcast (RuntimeError if they cannot be).
    Returns the (possibly expanded) pair; gradients sum back through the expansion."""
    if input._data.shape == target._data.shape:
        return input, target
    warnings.warn(
        f"Using a target size ({target.size()}) that is different to the input size "
        f"({input.size()}). This will likely lead to incorrect results due to broadcasting. "
        "Please ensure they have the same size.", UserWarning, stacklevel=4)
    shape = _broadcast_shape(input._data.shape, target._data.shape, function)
    from ...functions.shape import broadcast_to
    return broadcast_to(input, shape), broadcast_to(target, shape)


def _broadcast_shape(a, b, function):
    """np.broadcast_shapes with PyTorch's RuntimeError (mg.ShapeError) naming the sizes."""
    for i in range(1, min(len(a), len(b)) + 1):
        if a[-i] != b[-i] and a[-i] != 1 and b[-i] != 1:
            raise ShapeError(
                f"{function}: the size of tensor a ({a[-i]}) must match the size of tensor b "
                f"({b[-i]}) at non-singleton dimension {max(len(a), len(b)) - i}; shapes "
                f"{tuple(a)} and {tuple(b)}")
    return np.broadcast_shapes(a, b)


def _check_float(input, name, function):
    if input._data.dtype.kind != "f":
        raise TypeError(f"{function}: {name} must be a floating point tensor, got dtype "
                        f"{input._data.dtype}")


def _constant(value, name, input_shape, function):
    """An optional weight-like argument as a numpy array broadcastable to ``input_shape``."""
    if value is None:
        return None
    array = value._data if isinstance(value, Tensor) else np.asarray(value)
    try:
        ok = np.broadcast_shapes(array.shape, input_shape) == tuple(input_shape)
    except ValueError:
        ok = False
    if not ok:
        raise ShapeError(f"{function}: {name} has shape {tuple(array.shape)}, which does not "
                         f"broadcast to the input shape {tuple(input_shape)}")
    return array


def _common_float_dtype(x, y):
    """The dtype a pointwise loss computes in: the wider float dtype of input and target
    (PyTorch promotes float32 with float64 to float64); integer targets take the input's."""
    if y.dtype.kind == "f" and y.dtype != x.dtype:
        return np.promote_types(x.dtype, y.dtype)
    return x.dtype


def _reduce(losses, reduction, dtype):
    if reduction == "none":
        return losses
    total = np.sum(losses, dtype=dtype)
    if reduction == "sum":
        return np.asarray(total, dtype=dtype)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(total / losses.size if losses.size else np.nan, dtype=dtype)
