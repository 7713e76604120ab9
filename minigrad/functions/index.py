"""Indexing functions: gather and scatter, index_* along a dim, masks, take/put, nonzero.

Each function has PyTorch's signature, checks indices with PyTorch's errors (naming the
index and the size; a negative index is never wrapped around where PyTorch refuses it) and
composes the ops of ``minigrad/ops/index.py``:

- reads (gather, index_select, take, masked_select) are ``Index``/``TakeAlongAxis``, whose
  gradient scatters back (adding where an index repeats);
- writes (scatter, index_copy, index_fill, masked_fill, masked_scatter, put, index_put) are
  ``IndexPut`` (or ``Where``): the written positions take the new values' gradient, the
  others keep the input's;
- additions (scatter_add, index_add, put/index_put with ``accumulate``) add a scatter-add
  into zeros, so both operands get the whole gradient where it belongs;
- ``scatter_reduce`` has its own op (PyTorch's gradient rules for prod, mean, amax, amin).

In-place variants (``t.index_add_(...)``) go through ``Tensor._inplace`` and are recorded
like every in-place op.
"""
import warnings

import numpy as np

from .. import ops
from .._kernels import kernels as K
from ..errors import ShapeError
from ..ops import index as I
from ..ops import shape as S
from ..tensor import Tensor, _as_type, _axis, _wrap, tensor
from ..tensor import where as _where3

__all__ = ["argwhere", "gather", "index_add", "index_copy", "index_fill", "index_put",
           "index_put_", "index_select", "masked_fill", "masked_scatter", "masked_select",
           "nonzero", "put", "scatter", "scatter_add", "scatter_reduce", "take",
           "take_along_dim", "where"]
METHODS = ["argwhere", "gather", "index_add", "index_add_", "index_copy", "index_copy_",
           "index_fill", "index_fill_", "index_put", "index_put_", "index_select",
           "masked_fill", "masked_fill_", "masked_scatter", "masked_scatter_", "masked_select",
           "nonzero", "put", "put_", "scatter", "scatter_", "scatter_add", "scatter_add_",
           "scatter_reduce", "scatter_reduce_", "take", "take_along_dim"]

_CPP_NAMES = {"float32": "float", "float64": "double", "float16": "c10::Half",
              "int64": "long int", "int32": "int", "int16": "short int", "int8": "signed char",
              "uint8": "unsigned char", "bool": "bool"}


# ---------------------------------------------------------------------------------------------
# Argument checks
# ---------------------------------------------------------------------------------------------


def _tensor_arg(value, name, position, fn):
    if not isinstance(value, Tensor):
        raise TypeError(f"{fn}(): argument '{name}' (position {position}) must be Tensor, not "
                        f"{type(value).__name__}")
    return value


_INT64, _INT32 = np.dtype(np.int64), np.dtype(np.int32)


def _index_array(index, fn, message=None):
    """The index tensor's array, after PyTorch's dtype check (int64 or int32)."""
    _tensor_arg(index, "index", 3, fn)
    data = index._data
    if data.dtype != _INT64 and data.dtype != _INT32:
        raise RuntimeError(message or f"{fn}(): Expected dtype int32/int64 for index")
    return data


def _check_bounds(indices, n, dim, exc=RuntimeError, prefix="", allow_negative=False):
    """PyTorch's bounds check: every index in [0, n) (or [-n, n) where negative indices
    count from the end), naming the first offending value."""
    if indices.size == 0:
        return
    low, high = K.index_range(indices)
    lowest = -n if allow_negative else 0
    if low < lowest or high >= n:
        bad = indices.reshape(-1)[np.argmax((indices.reshape(-1) < lowest)
                                            | (indices.reshape(-1) >= n))]
        raise exc(f"{prefix}index {bad} is out of bounds for dimension {dim} with size {n}")


def _wrapped(indices, n):
    """Negative indices counted from the end (after the bounds check), as int64."""
    indices = indices.astype(np.int64, copy=False)
    if indices.size and indices.min() < 0:
        indices = np.where(indices < 0, indices + n, indices)
    return indices


def _along_dim(axis, ndim, indices):
    """The numpy index selecting ``indices`` along ``axis`` and everything elsewhere."""
    return (slice(None),) * axis + (indices,) + (slice(None),) * (ndim - axis - 1)


def _scalar_tensor(value, dtype):
    return _wrap(np.asarray(value).astype(dtype))


def _cpp_name(np_dtype):
    return _CPP_NAMES.get(np.dtype(np_dtype).name, np.dtype(np_dtype).name)


# ---------------------------------------------------------------------------------------------
# gather / scatter along a dim
# ---------------------------------------------------------------------------------------------


def _check_gather_shapes(fn, input, axis, index, src=None):
    x_shape = input._data.shape
    i_shape = index.shape
    if len(i_shape) != len(x_shape) and not (len(x_shape) <= 1 and len(i_shape) <= 1):
        which = "input" if fn == "gather" else "self"
        raise RuntimeError(f"Index tensor must have the same number of dimensions as {which} "
                           f"tensor")
    if src is not None and len(src.shape) != len(i_shape) and not (
            len(src.shape) <= 1 and len(i_shape) <= 1):
        raise RuntimeError("Index tensor must have the same number of dimensions as src "
                           "tensor")
    for d, n in enumerate(i_shape):
        too_big = d != axis and n > (x_shape[d] if x_shape else 1)
        if src is not None:
            too_big = too_big or n > (src.shape[d] if src.shape else 1)
        if too_big:
            if fn == "gather":
                raise RuntimeError(f"Size does not match at dimension {d} expected index "
                                   f"{list(i_shape)} to be no larger than self "
                                   f"{list(x_shape)} apart from dimension {axis}")
            raise RuntimeError(f"Expected index {list(i_shape)} to be no larger than self "
                               f"{list(x_shape)} apart from dimension {axis} and to be no "
                               f"larger size than src {list(src.shape)}")


def _plain_along_dim(input, dim, index, src=None):
    """The axis of a gather or scatter whose arguments need no check but the bounds (which
    this makes): Tensors, an int dim, int64 indices of input's shape (and src of input's
    shape and dtype), all in range; else None, and the general path checks, converts and
    raises. On 100 elements the general checks cost about as much as PyTorch's whole op."""
    if type(input) is not Tensor or type(index) is not Tensor or type(dim) is not int:
        return None
    x, indices = input._data, index._data
    if indices.dtype != _INT64 or indices.shape != x.shape or not x.size or \
            not -x.ndim <= dim < x.ndim:
        return None
    if src is not None and (type(src) is not Tensor or src._data.shape != x.shape or
                            src._data.dtype != x.dtype):
        return None
    axis = dim % x.ndim
    low, high = K.index_range(indices)
    return axis if low >= 0 and high < x.shape[axis] else None


def _as_1d(t):
    """A 0-d tensor as one of shape (1,) (gather/scatter treat 0-d as 1-d)."""
    return t.reshape(1) if t._data.ndim == 0 else t


def gather(input, dim, index, *, sparse_grad=False):
    """out[i][j][k] = input[index[i][j][k]][j][k] (for dim 0; likewise for other dims).
    index has input's number of dims and is no larger than input apart from ``dim``."""
    axis = _plain_along_dim(input, dim, index)
    if axis is not None:
        return I.TakeAlongAxis.apply(input, index._data, axis)
    _tensor_arg(input, "input", 1, "gather")
    indices = _index_array(index, "gather")
    axis = _axis(dim, input._data.ndim)
    _check_gather_shapes("gather", input, axis, indices)
    x = input
    if input._data.ndim == 0:
        x = _as_1d(input)
        indices = indices.reshape(1)
    _check_bounds(indices, x._data.shape[axis], axis)
    indices = indices.astype(np.int64, copy=False)
    out = I.TakeAlongAxis.apply(x, indices, axis)
    return out.reshape(index._data.shape) if input._data.ndim == 0 else out


def take_along_dim(input, indices, dim=None):
    """input gathered at ``indices`` along ``dim`` after broadcasting the two apart from
    ``dim`` (negative indices count from the end); with ``dim`` None, along the flattened
    input."""
    _tensor_arg(input, "input", 1, "take_along_dim")
    _tensor_arg(indices, "indices", 2, "take_along_dim")
    data = indices._data
    if data.dtype != np.int64:
        raise RuntimeError(f"torch.take_along_dim(): dtype of indices should be Long but got "
                           f"{indices.dtype.legacy_name}")
    if dim is None:
        flat = input.reshape(-1)
        return gather(flat, 0, indices.reshape(-1))
    x_nd, i_nd = input._data.ndim, data.ndim
    if type(dim) is int and data.shape == input._data.shape and x_nd and -x_nd <= dim < x_nd \
            and data.size:
        axis = dim % x_nd  # the common call, indices of input's shape: a gather if in range
        low, high = K.index_range(data)
        if 0 <= low and high < input._data.shape[axis]:
            return I.TakeAlongAxis.apply(input, data, axis)
    if x_nd != i_nd:
        raise RuntimeError(f"torch.take_along_dim(): input and indices should have the same "
                           f"number of dimensions, but got {x_nd} dimensions for input, and "
                           f"{i_nd} dimensions for indices")
    axis = _axis(dim, x_nd)
    x_shape = list(input._data.shape)
    i_shape = list(data.shape)
    for d in range(x_nd):
        if d != axis and x_shape[d] != i_shape[d] and 1 not in (x_shape[d], i_shape[d]):
            raise RuntimeError(f"The size of tensor a ({x_shape[d]}) must match the size of "
                               f"tensor b ({i_shape[d]}) at non-singleton dimension {d}")
    x_target = [max(a, b) if d != axis else a for d, (a, b) in enumerate(zip(x_shape,
                                                                           i_shape))]
    i_target = [max(a, b) if d != axis else b for d, (a, b) in enumerate(zip(x_shape,
                                                                           i_shape))]
    n = x_shape[axis] if x_nd else 1
    _check_bounds(data, n, axis, allow_negative=True)
    wrapped = np.broadcast_to(_wrapped(data, n), i_target)
    x = input if x_target == x_shape else S.Expand.apply(input, tuple(x_target))
    if x_nd == 0:
        return input.clone()
    return I.TakeAlongAxis.apply(x, np.ascontiguousarray(wrapped), axis)


def _scatter_args(fn, input, dim, index, src, value):
    _tensor_arg(input, "input", 1, fn)
    indices = _index_array(index, fn)
    axis = _axis(dim, input._data.ndim)
    if src is not None:
        if not isinstance(src, Tensor):
            value, src = src, None
        elif src._data.dtype != input._data.dtype:
            raise RuntimeError("scatter(): Expected self.dtype to be equal to src.dtype")
    _check_gather_shapes(fn, input, axis, indices, src._data if src is not None else None)
    n = input._data.shape[axis] if input._data.ndim else 1
    _check_bounds(indices, n, axis)
    return axis, indices.astype(np.int64, copy=False), src, value


def _cut_source(src, indices):
    """src restricted to the extent of indices (PyTorch reads only that part of src)."""
    shape = src._data.shape
    if shape == indices.shape:
        return src
    return I.Index.apply(src, tuple(slice(0, n) for n in indices.shape))


def scatter(input, dim, index, src=None, *, value=None, reduce=None):
    """out = input with out[index[i][j]][j] = src[i][j] (for dim 0; or = value). With
    ``reduce='add' | 'multiply'`` the values are combined instead (not differentiable, as in
    PyTorch). Repeated indices: one of the values wins."""
    if value is None and reduce is None:
        axis = _plain_along_dim(input, dim, index, src)
        if axis is not None:
            return I.PutAlongAxis.apply(input, src, indices=index._data, axis=axis)
    axis, indices, src, value = _scatter_args("scatter", input, dim, index, src, value)
    if src is None and value is None:
        raise TypeError("scatter() missing 1 required argument: 'src' or 'value'")
    if input._data.ndim == 0:
        indices = indices.reshape(1)
        x = _as_1d(input)
        src = _as_1d(src) if src is not None else None
        return scatter(x, 0, _wrap(indices), src, value=value, reduce=reduce).reshape(())
    source = _cut_source(src, indices) if src is not None else \
        _scalar_tensor(value, input._data.dtype)
    if reduce is not None:
        if reduce not in ("add", "multiply"):
            raise RuntimeError("reduce argument must be either add or multiply.")
        if src is not None:
            warnings.warn("The reduce argument of torch.scatter with Tensor src is deprecated "
                          "and will be removed in a future PyTorch release. Use "
                          "torch.scatter_reduce instead for more reduction options.",
                          UserWarning, stacklevel=2)
        values = np.broadcast_to(source._data, indices.shape)
        return I.ScatterNoGrad.apply(input, _wrap(values), indices, axis, reduce)
    if src is None:  # a number: the same value at every index
        source = _wrap(np.full(indices.shape, source._data, dtype=input._data.dtype))
    return I.PutAlongAxis.apply(input, source, indices, axis)


def scatter_add(input, dim, index, src):
    """out = input with src[i][j] added at out[index[i][j]][j] (for dim 0), repeated indices
    adding up; input gets the whole gradient, src the gradient gathered at index."""
    axis = _plain_along_dim(input, dim, index, src)
    if axis is not None:
        return I.ScatterAdd.apply(input, src, indices=index._data, axis=axis)
    axis, indices, src, _ = _scatter_args("scatter_add", input, dim, index, src, None)
    if src is None:
        raise TypeError("scatter_add(): argument 'src' (position 4) must be Tensor")
    if input._data.ndim == 0:
        return scatter_add(_as_1d(input), 0, _wrap(indices.reshape(1)), _as_1d(src)).reshape(())
    # indices and axis as options: apply's two-input path, cheaper than its general one
    return I.ScatterAdd.apply(input, _cut_source(src, indices), indices=indices, axis=axis)


_REDUCTIONS = ("sum", "prod", "mean", "amax", "amin")


def scatter_reduce(input, dim, index, src, reduce, *, include_self=True):
    """out = input with src reduced into the positions index names along ``dim`` (reduce:
    sum, prod, mean, amax, amin; ``include_self`` whether input's own value takes part)."""
    if reduce not in _REDUCTIONS:
        raise RuntimeError(f"reduce argument must be either sum, prod, mean, amax or amin, "
                           f"got {reduce}")
    axis = _plain_along_dim(input, dim, index, src)
    if axis is not None:
        # indices, axis and reduce as options: apply's two-input path, cheaper than its
        # general one
        return I.ScatterReduce.apply(input, src, indices=index._data, axis=axis, reduce=reduce,
                                     include_self=include_self)
    axis, indices, src, _ = _scatter_args("scatter_reduce", input, dim, index, src, None)
    if src is None:
        raise TypeError("scatter_reduce(): argument 'src' (position 4) must be Tensor")
    if input._data.ndim == 0:
        return scatter_reduce(_as_1d(input), 0, _wrap(indices.reshape(1)), _as_1d(src),
                              reduce, include_self=include_self).reshape(())
    source = _cut_source(src, indices)
    return I.ScatterReduce.apply(input, source, indices=indices, axis=axis, reduce=reduce,
                                 include_self=include_self)


def scatter_(input, dim, index, src=None, *, value=None, reduce=None):
    """In-place ``scatter``."""
    operands = (src,) if isinstance(src, Tensor) else ()
    return input._inplace(lambda t: scatter(t, dim, index, src, value=value, reduce=reduce),
                          operands)


def scatter_add_(input, dim, index, src):
    """In-place ``scatter_add``."""
    return input._inplace(lambda t: scatter_add(t, dim, index, src), (src,))


def scatter_reduce_(input, dim, index, src, reduce, *, include_self=True):
    """In-place ``scatter_reduce``."""
    return input._inplace(lambda t: scatter_reduce(t, dim, index, src, reduce,
                                                   include_self=include_self), (src,))


# ---------------------------------------------------------------------------------------------
# index_* along a dim
# ---------------------------------------------------------------------------------------------


def _vector_index(fn, index, exc=IndexError, message=None):
    data = index._data
    if data.ndim > 1:
        raise exc(message or f"{fn}(): Index is supposed to be a vector")
    return data.reshape(-1)


def index_select(input, dim, index):
    """The slices of input at ``index`` (a vector or 0-d) along ``dim``; the gradient adds
    back into those slices."""
    if type(input) is Tensor and type(index) is Tensor and type(dim) is int:
        x, indices = input._data, index._data  # the common call: checks inline
        if indices.dtype == _INT64 and indices.ndim == 1 and x.ndim and \
                -x.ndim <= dim < x.ndim:
            axis = dim % x.ndim
            if indices.size:
                low, high = K.index_range(indices)
                if low < 0 or high >= x.shape[axis]:
                    raise IndexError("index out of range in self")
            return I.IndexSelect.apply(input, indices, axis)
    _tensor_arg(input, "input", 1, "index_select")
    data = _index_array(index, "index_select",
                        message="index_select(): Expected dtype int32 or int64 for index")
    indices = _vector_index("index_select", index)
    nd = input._data.ndim
    axis = _axis(dim, nd)
    if nd == 0:
        _check_bounds(indices, 1, 0, IndexError)
        return input.clone()
    n = input._data.shape[axis]
    if indices.size:
        low, high = K.index_range(indices)
        if low < 0 or high >= n:
            raise IndexError("index out of range in self")
    del data
    return I.IndexSelect.apply(input, indices.astype(np.int64, copy=False), axis)


def _index_source_checks(fn, input, axis, indices, source):
    nd = input._data.ndim
    x_shape, s_shape = input._data.shape, source._data.shape
    if nd and (len(s_shape) != nd or any(x_shape[d] != s_shape[d] for d in range(nd)
                                         if d != axis)):
        if fn == "index_add_":
            raise RuntimeError(f"source tensor shape must match self tensor shape, excluding "
                               f"the specified dimension. Got self.shape = {list(x_shape)} "
                               f"source.shape = {list(s_shape)}")
        raise IndexError(f"{fn}(): Source/destination tensor must have same slice shapes. "
                         f"Destination slice shape: {list(x_shape)} at dimension {axis} and "
                         f"source slice shape: {list(s_shape)} at dimension {axis}.")
    count = s_shape[axis] if len(s_shape) else 1
    if indices.size != count:
        if fn == "index_add_":
            raise RuntimeError(f"index_add_(): Number of indices ({indices.size}) should be "
                               f"equal to source.size(dim): ({count}), for dim: {axis}")
        raise IndexError(f"{fn}(): Number of indices ({indices.size}) should be equal to "
                         f"source.size(dim) ({count})")


def index_add(input, dim, index, source, *, alpha=1):
    """out = input with alpha * source's slices added at ``index`` along ``dim`` (repeated
    indices adding up)."""
    _tensor_arg(input, "input", 1, "index_add")
    data = index._data if isinstance(index, Tensor) else None
    if data is None or (data.dtype != _INT64 and data.dtype != _INT32):
        got = index.dtype.legacy_name if isinstance(index, Tensor) else type(index).__name__
        raise RuntimeError(f"index_add_(): Expected dtype int32/int64 for index but got: {got}")
    if data.ndim > 1:
        raise IndexError(f"index_add_(): Index is supposed to be a vector, but got dim: "
                         f"{data.ndim} with type: {index.dtype.legacy_name} and size: "
                         f"{list(data.shape)}")
    _tensor_arg(source, "source", 4, "index_add")
    if source._data.dtype != input._data.dtype:
        raise RuntimeError(f"index_add_(): self ({input.dtype.legacy_name}) and source "
                           f"({source.dtype.legacy_name}) must have the same scalar type")
    nd = input._data.ndim
    axis = _axis(dim, nd)
    indices = data.reshape(-1)
    _index_source_checks("index_add_", input, axis, indices, source)
    n = input._data.shape[axis] if nd else 1
    _check_bounds(indices, n, axis)
    if alpha != 1:
        source = source * alpha
    if nd == 0:
        return input + source.reshape(())
    return I.IndexAdd.apply(input, source, indices=indices.astype(np.int64, copy=False),
                            axis=axis)


def index_copy(input, dim, index, source):
    """out = input with source's slices copied to ``index`` along ``dim``."""
    if type(input) is Tensor and type(index) is Tensor and type(source) is Tensor and \
            type(dim) is int:
        # the common call (int64 1-D index, source of the right shape and dtype): checks inline
        x, indices, values = input._data, index._data, source._data
        nd = x.ndim
        if indices.dtype == _INT64 and indices.ndim == 1 and indices.size and \
                values.dtype == x.dtype and values.ndim == nd and -nd <= dim < nd:
            axis = dim % nd
            shape = values.shape
            if shape[axis] == indices.size and shape[:axis] == x.shape[:axis] and \
                    shape[axis + 1:] == x.shape[axis + 1:]:
                low, high = K.index_range(indices)
                if 0 <= low and high < x.shape[axis]:
                    return I.IndexCopy.apply(input, source, indices=indices, axis=axis)
    _tensor_arg(input, "input", 1, "index_copy")
    _tensor_arg(index, "index", 3, "index_copy")
    if index._data.dtype != np.int64:
        raise RuntimeError(f"index_copy_(): Expected a long tensor for index, but got "
                           f"{index.dtype.legacy_name}")
    indices = _vector_index("index_copy_", index, message="index_copy_(): Index should have "
                            "dimension 1 or 0")
    _tensor_arg(source, "source", 4, "index_copy")
    if source._data.dtype != input._data.dtype:
        raise RuntimeError(f"index_copy_(): self and source expected to have the same dtype, "
                           f"but got (self) {input.dtype.legacy_name} and (source) "
                           f"{source.dtype.legacy_name}")
    nd = input._data.ndim
    axis = _axis(dim, nd)
    _index_source_checks("index_copy_", input, axis, indices, source)
    n = input._data.shape[axis] if nd else 1
    _check_bounds(indices, n, axis, IndexError, "index_copy_(): ")
    if nd == 0:
        return ops.IndexPut.apply(input, source.reshape(()), ())
    return ops.IndexPut.apply(input, source, _along_dim(axis, nd, indices))


def index_fill(input, dim, index, value):
    """out = input with the slices at ``index`` along ``dim`` set to ``value`` (a number or
    a 0-d tensor, which then gets the sum of the gradient of those slices)."""
    if type(input) is Tensor and type(index) is Tensor and type(dim) is int and \
            (type(value) is float or type(value) is int):
        # the common call, a number into a float tensor: checks inline, and no np.unique (a
        # slice named twice is filled with the same number twice)
        x, indices = input._data, index._data
        if indices.dtype == _INT64 and indices.ndim == 1 and indices.size and \
                x.dtype.kind == "f" and -x.ndim <= dim < x.ndim:
            axis = dim % x.ndim
            low, high = K.index_range(indices)
            if 0 <= low and high < x.shape[axis]:
                return I.IndexFill.apply(input, indices=indices, axis=axis, value=value)
    _tensor_arg(input, "input", 1, "index_fill")
    _tensor_arg(index, "index", 3, "index_fill")
    if index._data.dtype != np.int64:
        raise IndexError("index_fill_(): Expected dtype int64 for index.")
    if index._data.ndim > 1:
        raise RuntimeError("Index has to be a vector/scalar")
    if isinstance(value, Tensor) and value._data.ndim:
        raise RuntimeError(f"index_fill_ only supports a 0-dimensional value tensor, but got "
                           f"tensor with {value._data.ndim} dimension(s).")
    nd = input._data.ndim
    axis = _axis(dim, nd)
    n = input._data.shape[axis] if nd else 1
    indices = index._data.reshape(-1)
    _check_bounds(indices, n, axis, IndexError, allow_negative=True)
    indices = np.unique(_wrapped(indices, n))  # each slice filled (and differentiated) once
    value = value if isinstance(value, Tensor) else _scalar_tensor(value, input._data.dtype)
    value = _as_type(value, input._data.dtype)
    if nd == 0:
        return ops.IndexPut.apply(input, value, () if indices.size else (np.zeros(0, bool),))
    return ops.IndexPut.apply(input, value, _along_dim(axis, nd, indices))


def index_add_(input, dim, index, source, *, alpha=1):
    """In-place ``index_add``."""
    return input._inplace(lambda t: index_add(t, dim, index, source, alpha=alpha), (source,))


def index_copy_(input, dim, index, source):
    """In-place ``index_copy``."""
    return input._inplace(lambda t: index_copy(t, dim, index, source), (source,))


def index_fill_(input, dim, index, value):
    """In-place ``index_fill``."""
    return input._inplace(lambda t: index_fill(t, dim, index, value), (value,))


# ---------------------------------------------------------------------------------------------
# Masks
# ---------------------------------------------------------------------------------------------


def _bool_mask(mask, message):
    if not isinstance(mask, Tensor):
        raise TypeError(f"mask must be a Tensor, not {type(mask).__name__}")
    if mask._data.dtype != np.bool_:
        raise RuntimeError(message.format(_cpp_name(mask._data.dtype),
                                          mask.dtype.legacy_name))
    return mask._data


def _broadcast_shape(a, b):
    try:
        return np.broadcast_shapes(a, b)
    except ValueError:
        a_, b_ = list(a), list(b)
        for d in range(1, max(len(a_), len(b_)) + 1):
            x = a_[-d] if d <= len(a_) else 1
            y = b_[-d] if d <= len(b_) else 1
            if x != y and 1 not in (x, y):
                dim = max(len(a_), len(b_)) - d
                raise ShapeError(f"The size of tensor a ({x}) must match the size of tensor b "
                                 f"({y}) at non-singleton dimension {dim}") from None
        raise


def masked_fill(input, mask, value):
    """out = input where mask is False, ``value`` where it is True (mask broadcasts with
    input; value is a number or a 0-d tensor, which then gets the sum of the gradient at the
    masked positions)."""
    if type(input) is Tensor and type(mask) is Tensor and \
            (type(value) is float or type(value) is int):
        # the common call, a number into a float tensor through a mask of its shape
        x, where = input._data, mask._data
        if where.dtype == np.bool_ and where.shape == x.shape and x.dtype.kind == "f":
            return ops.Where.apply(where, x.dtype.type(value), input)
    _tensor_arg(input, "input", 1, "masked_fill")
    where = _bool_mask(mask, "masked_fill_ only supports boolean masks, but got mask with "
                             "dtype {}")
    if isinstance(value, Tensor):
        if value._data.ndim:
            raise RuntimeError(f"masked_fill_ only supports a 0-dimensional value tensor, but "
                               f"got tensor with {value._data.ndim} dimension(s).")
        value = _as_type(value, input._data.dtype)
    else:
        value = np.asarray(value).astype(input._data.dtype)
    _broadcast_shape(input._data.shape, where.shape)
    return ops.Where.apply(where, value, input)


def masked_fill_(input, mask, value):
    """In-place ``masked_fill`` (mask must broadcast to input's shape)."""
    where = _bool_mask(mask, "masked_fill_ only supports boolean masks, but got mask with "
                             "dtype {}")
    shape = _broadcast_shape(input._data.shape, where.shape)
    if shape != input._data.shape:
        raise ShapeError(f"output with shape {list(input._data.shape)} doesn't match the "
                         f"broadcast shape {list(shape)}")
    operands = (value,) if isinstance(value, Tensor) else ()

    def fast():
        fill = value._data if isinstance(value, Tensor) else value
        np.copyto(input._data, np.asarray(fill).astype(input._data.dtype), where=where)

    return input._inplace(lambda t: masked_fill(t, mask, value), operands,
                          None if isinstance(value, Tensor) and value._data.ndim else fast)


def masked_select(input, mask):
    """The elements of input where mask (broadcast with it) is True, as a 1-D tensor."""
    if type(input) is Tensor and type(mask) is Tensor:
        where = mask._data  # the common call, a mask of input's shape: input[mask]
        if where.dtype == np.bool_ and where.ndim and where.shape == input._data.shape:
            return I.Index.apply(input, where)
    _tensor_arg(input, "input", 1, "masked_select")
    where = _bool_mask(mask, "masked_select: expected BoolTensor for mask")
    shape = _broadcast_shape(input._data.shape, where.shape)
    x = input if input._data.shape == shape else S.Expand.apply(input, shape)
    where = np.broadcast_to(where, shape)
    if not shape:
        return I.Index.apply(x.reshape(1), where.reshape(1))
    return I.Index.apply(x, where)


def masked_scatter(input, mask, source):
    """out = input with the positions where mask (broadcast) is True filled, in order, with
    the first elements of ``source``."""
    if type(input) is Tensor and type(mask) is Tensor and type(source) is Tensor:
        x, where = input._data, mask._data  # the common call: a mask of input's shape
        if where.dtype == np.bool_ and where.ndim and where.shape == x.shape and \
                source._data.dtype == x.dtype:
            return I.MaskedScatter.apply(input, source, mask=where)
    _tensor_arg(input, "input", 1, "masked_scatter")
    where = _bool_mask(mask, "masked_scatter_ only supports boolean masks, but got mask with "
                             "dtype {1}")
    _tensor_arg(source, "source", 3, "masked_scatter")
    if source._data.dtype != input._data.dtype:
        raise RuntimeError(f"masked_scatter: expected self and source to have same dtypes but "
                           f"got{input.dtype.legacy_name} and {source.dtype.legacy_name}")
    shape = _broadcast_shape(input._data.shape, where.shape)
    where = np.broadcast_to(where, shape)
    count = int(np.count_nonzero(where))
    if count > source._data.size:
        raise RuntimeError("Number of elements of source < number of ones in mask")
    x = input if input._data.shape == shape else S.Expand.apply(input, shape)
    taken = I.Index.apply(source.reshape(-1), slice(0, count))
    if not shape:
        return ops.IndexPut.apply(x.reshape(1), taken, where.reshape(1)).reshape(())
    return ops.IndexPut.apply(x, taken, np.ascontiguousarray(where))


def masked_scatter_(input, mask, source):
    """In-place ``masked_scatter``."""
    return input._inplace(lambda t: masked_scatter(t, mask, source), (source,))


# ---------------------------------------------------------------------------------------------
# take / put / index_put, nonzero, where
# ---------------------------------------------------------------------------------------------


def _flat_indices(fn, input, index, name="index"):
    _tensor_arg(index, name, 2, fn)
    if index._data.dtype != np.int64:
        raise RuntimeError(f"{fn}(): Expected a long tensor for index, but got "
                           f"{index.dtype.legacy_name}")
    n = input._data.size
    flat = index._data
    if flat.size:
        bad = (flat < -n) | (flat >= n)
        if bad.any():
            raise IndexError(f"out of range: tried to access index {flat[bad].reshape(-1)[0]} "
                             f"on a tensor of {n} elements.")
    return flat


def take(input, index):
    """input seen as 1-D, read at ``index`` (negative indices count from the end); the
    result has index's shape."""
    if type(input) is Tensor and type(index) is Tensor:
        flat = index._data  # the common call, int64 indices in range: checks inline
        if flat.dtype == _INT64 and flat.size:
            n = input._data.size
            low, high = K.index_range(flat)
            if -n <= low and high < n:
                return I.Take.apply(input, flat)
    _tensor_arg(input, "input", 1, "take")
    flat = _flat_indices("take", input, index)
    return I.Index.apply(input.reshape(-1), flat)


def put(input, index, source, accumulate=False):
    """out = input seen as 1-D with out[index] = source (``accumulate``: +=)."""
    _tensor_arg(input, "input", 1, "put")
    _tensor_arg(index, "index", 2, "put")
    _tensor_arg(source, "source", 3, "put")
    if source._data.dtype != input._data.dtype:
        raise RuntimeError(f"put_(): self and source expected to have the same dtype, but got "
                           f"self.dtype = {input.dtype.legacy_name} and source.dtype = "
                           f"{source.dtype.legacy_name}")
    if source._data.size != index._data.size:
        raise IndexError(f"put_(): Expected source and index to have the same number of "
                         f"elements, but got source.numel() = {source._data.size}, "
                         f"index.numel() = {index._data.size}")
    flat = _flat_indices("put_", input, index)
    out = ops.IndexPut.apply(input.reshape(-1), source.reshape(-1), flat.reshape(-1),
                             accumulate=bool(accumulate))
    return out.reshape(input._data.shape)


def put_(input, index, source, accumulate=False):
    """In-place ``put``."""
    return input._inplace(lambda t: put(t, index, source, accumulate), (source,))


def _index_put_args(input, indices, values, fn):
    """The numpy index of ``input[indices]`` (index tensors for the leading dims, broadcast
    together; masks count for their dims) and values in input's dtype, checked."""
    if not isinstance(indices, (tuple, list)):
        raise TypeError(f"{fn}(): argument 'indices' must be tuple of Tensors, not "
                        f"{type(indices).__name__}")
    shape = input._data.shape
    parts, checks = [], []
    dim = 0
    for i, t in enumerate(indices):
        if not isinstance(t, Tensor):
            raise TypeError(f"expected Tensor as element {i} in argument 0, but got "
                            f"{type(t).__name__}")
        data = t._data
        if data.dtype.kind == "b" or data.dtype == np.uint8:
            mask = data.astype(bool, copy=False)
            if dim + mask.ndim > len(shape):
                dim += mask.ndim
                break
            I.check_mask(mask, dim, shape)
            parts.extend(np.nonzero(mask))
            dim += mask.ndim
        elif data.dtype in (np.int64, np.int32):
            if dim < len(shape):
                checks.append((data, dim, shape[dim]))
            parts.append(data)
            dim += 1
        else:
            raise IndexError("tensors used as indices must be long, int, byte or bool tensors")
    if dim > len(shape):
        raise IndexError(f"too many indices for tensor of dimension {len(shape)} (got {dim})")
    try:
        np.broadcast_shapes(*[p.shape for p in parts])
    except ValueError:
        shapes = ", ".join(str(list(p.shape)) for p in parts)
        raise IndexError(f"shape mismatch: indexing tensors could not be broadcast together "
                         f"with shapes {shapes}") from None
    _tensor_arg(values, "values", 2, fn)
    # PyTorch lets one element of another dtype fill a full-shape mask (its masked_fill
    # path); every other index_put needs the dtypes to match.
    full_mask = len(indices) == 1 and indices[0]._data.dtype.kind == "b" and \
        indices[0]._data.shape == shape and values._data.size == 1
    if values._data.dtype != input._data.dtype and not full_mask:
        raise RuntimeError(f"Index put requires the source and destination dtypes match, got "
                           f"{input.dtype.legacy_name} for the destination and "
                           f"{values.dtype.legacy_name} for the source.")
    for data, d, n in checks:
        I.check_array_bounds(data, d, n)
    index = tuple(parts)
    target = np.shape(input._data[index])
    vshape = values._data.shape
    if not _broadcastable_to(vshape, target):
        raise ShapeError(f"shape mismatch: value tensor of shape {list(vshape)} cannot be "
                         f"broadcast to indexing result of shape {list(target)}")
    return index, _as_type(values, input._data.dtype)


def _broadcastable_to(shape, target):
    shape = tuple(shape)
    while len(shape) > len(target) and shape[0] == 1:
        shape = shape[1:]
    if len(shape) > len(target):
        return False
    return all(s == 1 or s == t for s, t in zip(reversed(shape), reversed(target)))


def index_put(input, indices, values, accumulate=False):
    """out = input with out[indices] = values (indices: a tuple of index tensors or masks
    for the leading dims; values broadcast; ``accumulate``: +=, repeated positions adding
    up)."""
    if accumulate and type(input) is Tensor and type(values) is Tensor and \
            type(indices) is tuple and len(indices) == 1 and type(indices[0]) is Tensor:
        # x.index_put((rows,), v, accumulate=True) with v of x[rows]'s shape, the common
        # call: an index_add along dim 0 (the general path finds x[rows]'s shape by taking
        # x[rows], and adds a scatter into zeros)
        x, rows, v = input._data, indices[0]._data, values._data
        if rows.dtype == _INT64 and rows.ndim == 1 and x.ndim and rows.size and \
                v.shape == rows.shape + x.shape[1:] and v.dtype == x.dtype:
            low, high = K.index_range(rows)
            if 0 <= low and high < x.shape[0]:
                return I.IndexAdd.apply(input, values, indices=rows, axis=0)
    _tensor_arg(input, "input", 1, "index_put")
    index, values = _index_put_args(input, indices, values, "index_put")
    return ops.IndexPut.apply(input, values, index, accumulate=bool(accumulate))


def index_put_(input, indices, values, accumulate=False):
    """In-place ``index_put``."""
    index, source = _index_put_args(input, indices, values, "index_put_")

    def fast():
        if accumulate:
            selected = np.broadcast_to(source._data, np.shape(input._data[index]))
            input._data += K.scatter_index(np.ascontiguousarray(selected), index,
                                                     input._data.shape)
        else:
            input._data[index] = source._data

    return input._inplace(lambda t: ops.IndexPut.apply(t, source, index,
                                                       accumulate=bool(accumulate)),
                          (values,), fast)


def nonzero(input, *, as_tuple=False):
    """The indices of the non-zero elements: an int64 tensor (count, ndim), or (as_tuple) one
    1-D tensor per dim (a 0-d input counts as 1-d)."""
    _tensor_arg(input, "input", 1, "nonzero")
    data = input._data
    if as_tuple and data.ndim <= 1:
        data = data.reshape(1) if data.ndim == 0 else data
        return (_wrap(np.flatnonzero(data).astype(np.int64, copy=False)),)
    if data.ndim == 0:
        return _wrap(np.zeros((1 if data else 0, 0), dtype=np.int64))
    mask = data if data.dtype == np.bool_ else data != 0  # NaN is non-zero
    coords = K.nonzero_coords(np.ascontiguousarray(mask))
    if as_tuple:  # (the compiled coordinates and a copy per column beat numpy's N-d nonzero)
        return tuple(_wrap(np.ascontiguousarray(coords[:, k])) for k in range(data.ndim))
    return _wrap(coords)


def argwhere(input):
    """``nonzero(input)``: the indices of the non-zero elements, (count, ndim)."""
    return nonzero(input)


def where(condition, input=None, other=None):
    """``where(condition, input, other)``: elementwise choice; ``where(condition)``:
    ``nonzero(condition, as_tuple=True)``."""
    if input is None and other is None:
        if not isinstance(condition, Tensor):
            condition = tensor(condition)
        return nonzero(condition, as_tuple=True)
    if input is None or other is None:
        raise TypeError("where() takes 1 or 3 arguments (condition, input, other)")
    return _where3(condition, input, other)


def _where_method(self, condition, other):
    """``t.where(condition, other)`` is ``where(condition, t, other)``."""
    return _where3(condition, self, other)


METHOD_FORMS = {"where": _where_method}

