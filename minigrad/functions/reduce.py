"""Reductions: sums, means, products, extremes, statistics, norms, scans, sorts and counts.

Each function has PyTorch's signature (``input`` first; ``dim``/``axis`` and
``keepdim``/``keepdims`` both accepted), checks its arguments with PyTorch's errors, normalises
dims, applies PyTorch's dtype rules (the sum of an integer tensor is int64; the mean of one is
an error) and calls the ops of ``minigrad/ops/reduce.py``. Integer and bool tensors cannot
require grad, so their results are computed with numpy directly.

Functions that return values and indices return named tuples, as ``torch.return_types``:
``values, indices = x.max(1)`` and ``x.max(1).values`` both work. The values are a gather at
the indices, so their gradient goes to the selected elements (PyTorch's rule); the reductions
over all elements that pick an element (``max()``, ``amax``, ``median()``) share the gradient
evenly among the elements equal to the result instead, as PyTorch's do.
"""
import math
import numbers
import warnings
from collections import namedtuple

import numpy as np

from .. import dtypes as _dt
from .._kernels import kernels as K
from ..autograd import graph as _graph
from ..ops import index as I
from ..ops import reduce as R
from ..tensor import Tensor, _as_type, _axis, _wrap
from ..tensor import maximum as _maximum
from ..tensor import minimum as _minimum

__all__ = ["all", "amax", "amin", "aminmax", "any", "argmax", "argmin", "argsort",
           "count_nonzero", "cummax", "cummin", "cumprod", "cumsum", "kthvalue",
           "logcumsumexp", "logsumexp", "max", "mean", "median", "min", "mode", "msort",
           "nanmean", "nanmedian", "nansum", "norm", "prod", "sort", "std", "std_mean", "sum",
           "topk", "unique", "unique_consecutive", "var", "var_mean"]
METHODS = ["aminmax", "amax", "amin", "all", "any", "argmax", "argmin", "argsort",
           "count_nonzero", "cummax", "cummin", "cumprod", "cumprod_", "cumsum", "cumsum_",
           "kthvalue", "logcumsumexp", "logsumexp", "max", "mean", "median", "min", "mode",
           "msort", "nanmean", "nanmedian", "nansum", "norm", "prod", "sort", "std", "sum",
           "topk", "unique", "unique_consecutive", "var"]

_INT64 = np.dtype(np.int64)
_UNSET = object()


# ---------------------------------------------------------------------------------------------
# Named results, as torch.return_types
# ---------------------------------------------------------------------------------------------


def _return_type(name, fields):
    """A named tuple printed as PyTorch prints its ``torch.return_types`` structseqs."""
    base = namedtuple(name, fields)

    def __repr__(self):
        body = ",\n".join(f"{field}={value!r}" for field, value in zip(self._fields, self))
        return f"minigrad.return_types.{name}(\n{body})"

    cls = type(name, (base,), {"__slots__": (), "__repr__": __repr__,
                               "__module__": "minigrad.return_types"})
    return cls


# return_types.name(values, indices) runs namedtuple's Python-level __new__ (0.6 us); the hot
# paths below build the pair with tuple's own __new__ (0.2 us): _pair(return_types.name, (v, i)).
_pair = tuple.__new__


class return_types:
    """The named tuples returned by the functions that give values and indices."""

    max = _return_type("max", "values indices")
    min = _return_type("min", "values indices")
    median = _return_type("median", "values indices")
    nanmedian = _return_type("nanmedian", "values indices")
    mode = _return_type("mode", "values indices")
    kthvalue = _return_type("kthvalue", "values indices")
    sort = _return_type("sort", "values indices")
    topk = _return_type("topk", "values indices")
    cummax = _return_type("cummax", "values indices")
    cummin = _return_type("cummin", "values indices")
    aminmax = _return_type("aminmax", "min max")


# ---------------------------------------------------------------------------------------------
# Argument helpers
# ---------------------------------------------------------------------------------------------


def _check_input(input, name):
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}(): argument 'input' (position 1) must be Tensor, not "
                        f"{type(input).__name__}")


def _dim_args(name, dim, keepdim, axis, keepdims, default=None):
    """PyTorch's aliases: ``axis`` for ``dim``, ``keepdims`` for ``keepdim``."""
    if axis is not _UNSET:
        if dim is not default:
            raise TypeError(f"{name}() got multiple values for argument 'dim' (as 'axis')")
        dim = axis
    if keepdims is not _UNSET:
        keepdim = keepdims
    return dim, bool(keepdim)


def _reduce_axes(dim, ndim):
    """The axes a reduction over ``dim`` covers: None for all (dim None, () or []), else a
    sorted tuple of distinct axes; () for a 0-d tensor (whose only dims are 0 and -1)."""
    if dim is None:
        return None
    if isinstance(dim, (tuple, list)):
        if len(dim) == 0:
            return None
        axes = [_axis(d, ndim) for d in dim]
        for i, a in enumerate(axes):
            if a in axes[:i]:
                raise RuntimeError(f"dim {a} appears multiple times in the list of dims")
        return tuple(sorted(axes)) if ndim else ()
    _axis(dim, ndim)
    return (dim % ndim,) if ndim else ()


def _one_axis(dim, ndim):
    """One dim as an axis (0 for a 0-d tensor), with PyTorch's IndexError when out of range."""
    if isinstance(dim, (tuple, list)):
        raise TypeError(f"expected an int for dim, got {type(dim).__name__}")
    return _axis(dim, ndim)


def _np_dtype(dtype):
    return None if dtype is None else _dt.as_dtype(dtype).np_dtype


def _float_input(input, dtype, name):
    """input cast to ``dtype`` (if given), before a reduction that needs floats."""
    return input if dtype is None else _as_type(input, _np_dtype(dtype))


def _is_float(t):
    return t._data.dtype.kind == "f"


def _reduced_size(shape, axes):
    if axes is None:
        return math.prod(shape)
    return math.prod(shape[a] for a in axes)


def _check_reduced_nonempty(name, data, axes, sep="():"):
    """PyTorch refuses to take an extreme over nothing: every element (axes None) or a
    reduced dim of size 0."""
    if axes is None:
        if data.size == 0:
            raise RuntimeError(f"{name}(): Expected reduction dim to be specified for "
                               f"input.numel() == 0. Specify the reduction dim with the 'dim' "
                               f"argument.")
        return
    for a in axes:
        if data.shape[a] == 0:
            raise IndexError(f"{name}{sep} Expected reduction dim {a} to have non-zero size.")


def _int_index(array):
    return _wrap(np.asarray(array, dtype=np.int64))


def _keep(indices, axis, keepdim, ndim):
    """indices with the reduced axis put back as size 1 (for keepdim)."""
    if not (keepdim and ndim):
        return indices
    return indices.reshape(indices.shape[:axis] + (1,) + indices.shape[axis:])


# ---------------------------------------------------------------------------------------------
# Sums, means, products
# ---------------------------------------------------------------------------------------------


def sum(input, dim=None, keepdim=False, *, dtype=None, axis=_UNSET, keepdims=_UNSET):
    """Sum over ``dim`` (all dims if None or empty). Integer and bool inputs sum to int64
    (unless ``dtype`` says otherwise); float inputs keep their dtype.
    d sum/dx = 1, broadcast back."""
    data = input._data
    if dim is None and not keepdim and dtype is None and axis is _UNSET and \
            keepdims is _UNSET and data.dtype.kind == "f":
        return R.Sum.apply(input)  # loss.sum(), the common call
    if type(dim) is int and dtype is None and axis is _UNSET and keepdims is _UNSET and \
            type(input) is Tensor and data.dtype.kind == "f" and -data.ndim <= dim < data.ndim:
        # x.sum(dim) on floats, the other common call: checks inline
        return R.Sum.apply(input, axis=(dim % data.ndim,), keepdims=bool(keepdim))
    _check_input(input, "sum")
    dim, keepdim = _dim_args("sum", dim, keepdim, axis, keepdims)
    axes = _reduce_axes(dim, data.ndim)
    want = _np_dtype(dtype)
    if data.dtype.kind == "f" and (want is None or want.kind == "f"):
        x = input if want is None else _as_type(input, want)
        return R.Sum.apply(x, axis=axes, keepdims=keepdim)
    if want is None:
        want = data.dtype if data.dtype.kind == "f" else _INT64
    return _wrap(np.asarray(np.sum(data, axis=axes, dtype=want, keepdims=keepdim)))


def nansum(input, dim=None, keepdim=False, *, dtype=None, axis=_UNSET, keepdims=_UNSET):
    """Sum treating NaN as 0; NaN elements get a zero gradient."""
    if type(dim) is int and dtype is None and axis is _UNSET and keepdims is _UNSET and \
            type(input) is Tensor:  # x.nansum(dim) on floats, the common call: checks inline
        data = input._data
        if data.dtype.kind == "f" and -data.ndim <= dim < data.ndim:
            return R.Nansum.apply(input, axis=(dim % data.ndim,), keepdims=bool(keepdim))
    _check_input(input, "nansum")
    dim, keepdim = _dim_args("nansum", dim, keepdim, axis, keepdims)
    x = _float_input(input, dtype, "nansum")
    if _is_float(x):
        return R.Nansum.apply(x, axis=_reduce_axes(dim, x._data.ndim), keepdims=keepdim)
    return sum(x, dim, keepdim, dtype=None)


def mean(input, dim=None, keepdim=False, *, dtype=None, axis=_UNSET, keepdims=_UNSET):
    """Mean over ``dim`` (all dims if None or empty); NaN over no elements. Only floating
    inputs (or ``dtype``): PyTorch's RuntimeError otherwise. d mean/dx = 1/n."""
    data = input._data
    if dim is None and not keepdim and dtype is None and axis is _UNSET and \
            keepdims is _UNSET and data.dtype.kind == "f":
        return R.Mean.apply(input)
    _check_input(input, "mean")
    dim, keepdim = _dim_args("mean", dim, keepdim, axis, keepdims)
    x = _float_input(input, dtype, "mean")
    if not _is_float(x):
        raise RuntimeError(f"mean(): could not infer output dtype. Input dtype must be either "
                           f"a floating point or complex dtype. Got: {x.dtype.legacy_name}")
    return R.Mean.apply(x, axis=_reduce_axes(dim, data.ndim), keepdims=keepdim)


def nanmean(input, dim=None, keepdim=False, *, dtype=None, axis=_UNSET, keepdims=_UNSET):
    """Mean of the non-NaN elements (NaN if there are none)."""
    _check_input(input, "nanmean")
    dim, keepdim = _dim_args("nanmean", dim, keepdim, axis, keepdims)
    x = _float_input(input, dtype, "nanmean")
    if not _is_float(x):
        raise RuntimeError(f"nanmean(): expected input to have floating point or complex "
                           f"dtype but got {x.dtype.legacy_name}")
    axes = _reduce_axes(dim, x._data.ndim)
    count = np.sum(~np.isnan(x._data), axis=axes, keepdims=keepdim)
    with np.errstate(invalid="ignore", divide="ignore"):
        return nansum(x, dim, keepdim) / _wrap(np.asarray(count, dtype=x._data.dtype))


def prod(input, dim=None, keepdim=False, *, dtype=None, axis=_UNSET, keepdims=_UNSET):
    """Product over one dim (or all elements). Integer and bool inputs give int64. The
    gradient is the product of the other elements, exact with zeros in the input."""
    if type(dim) is int and dtype is None and axis is _UNSET and keepdims is _UNSET and \
            type(input) is Tensor:  # x.prod(dim) on floats, the common call: checks inline
        data = input._data
        if data.dtype.kind == "f" and -data.ndim <= dim < data.ndim:
            return R.Prod.apply(input, axis=dim % data.ndim, keepdims=bool(keepdim))
    _check_input(input, "prod")
    dim, keepdim = _dim_args("prod", dim, keepdim, axis, keepdims)
    if dim is not None and not isinstance(dim, numbers.Integral):
        raise TypeError(f"prod(): argument 'dim' must be int, not {type(dim).__name__}")
    data = input._data
    a = None if dim is None or data.ndim == 0 else _one_axis(dim, data.ndim)
    if dim is not None and data.ndim == 0:
        _one_axis(dim, 0)
    want = _np_dtype(dtype)
    if data.dtype.kind == "f" and (want is None or want.kind == "f"):
        x = input if want is None else _as_type(input, want)
        return R.Prod.apply(x, axis=a, keepdims=keepdim and dim is not None)
    if want is None:
        want = _INT64
    return _wrap(np.asarray(np.prod(data, axis=a, dtype=want,
                                    keepdims=keepdim and dim is not None)))


# ---------------------------------------------------------------------------------------------
# Variance and standard deviation
# ---------------------------------------------------------------------------------------------


def _correction(name, dim, unbiased, correction):
    """PyTorch's overloads: (dim, unbiased, keepdim), (unbiased) and (dim, *, correction)."""
    if isinstance(dim, bool):  # var(input, unbiased)
        if unbiased is not None:
            raise TypeError(f"{name}() received an invalid combination of arguments")
        dim, unbiased = None, dim
    if unbiased is not None and correction is not None:
        raise TypeError(f"{name}() received an invalid combination of arguments - got both "
                        f"'unbiased' and 'correction'")
    if correction is None:
        correction = 1 if unbiased is None or unbiased else 0
    return dim, correction


def _variance_args(name, input, dim, unbiased, keepdim, correction, axis, keepdims,
                   stacklevel=3):
    """(axes, correction, keepdim) of a var/std/var_mean/std_mean call, checked (warns, as
    PyTorch, when no degree of freedom is left)."""
    _check_input(input, name)
    dim, correction = _correction(name, dim, unbiased, correction)
    dim, keepdim = _dim_args(name, dim, keepdim, axis, keepdims)
    if not _is_float(input):
        raise RuntimeError(f"{'std and var' if name in ('std', 'var') else name} only support "
                           f"floating point and complex dtypes")
    data = input._data
    axes = _reduce_axes(dim, data.ndim)
    if _reduced_size(data.shape, axes) - correction <= 0:
        warnings.warn(f"{name}(): degrees of freedom is <= 0. Correction should be strictly "
                      f"less than the reduction factor (input numel divided by output numel).",
                      UserWarning, stacklevel=stacklevel)
    return axes, correction, keepdim


def var(input, dim=None, unbiased=None, keepdim=False, *, correction=None, axis=_UNSET,
        keepdims=_UNSET):
    """sum((x - mean)^2) / max(n - correction, 0) over ``dim``; ``correction=1`` (the default,
    or ``unbiased=True``) is Bessel's. Accumulated in float64 for float32 inputs."""
    axes, correction, keepdim = _variance_args("var", input, dim, unbiased, keepdim,
                                               correction, axis, keepdims)
    return R.Var.apply(input, axis=axes, correction=correction, keepdims=keepdim)


def std(input, dim=None, unbiased=None, keepdim=False, *, correction=None, axis=_UNSET,
        keepdims=_UNSET):
    """sqrt(var(...)); its gradient is 0 (not NaN) on a constant slice, as in PyTorch."""
    axes, correction, keepdim = _variance_args("std", input, dim, unbiased, keepdim,
                                               correction, axis, keepdims)
    return R.Std.apply(input, axis=axes, correction=correction, keepdims=keepdim)


def var_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None, axis=_UNSET,
             keepdims=_UNSET):
    """(var, mean) over ``dim``, as a tuple (the arguments read once for both)."""
    return _moments("var_mean", R.Var, input, dim, unbiased, keepdim, correction, axis,
                     keepdims)


def std_mean(input, dim=None, unbiased=None, keepdim=False, *, correction=None, axis=_UNSET,
             keepdims=_UNSET):
    """(std, mean) over ``dim``, as a tuple (the arguments read once for both)."""
    return _moments("std_mean", R.Std, input, dim, unbiased, keepdim, correction, axis,
                     keepdims)


def _moments(name, op, input, dim, unbiased, keepdim, correction, axis, keepdims):
    """(var or std, mean): both from one kernel call, each its own differentiable node."""
    axes = None
    if type(input) is Tensor and type(dim) is int and unbiased is None and keepdim is False \
            and correction is None and axis is _UNSET and keepdims is _UNSET:
        data = input._data  # x.std_mean(dim), the common call: checks inline
        if data.dtype.kind == "f" and -data.ndim <= dim < data.ndim and data.shape[dim] > 1:
            axes, correction = (dim % data.ndim,), 1
    if axes is None:
        axes, correction, keepdim = _variance_args(name, input, dim, unbiased, keepdim,
                                                   correction, axis, keepdims, stacklevel=4)
    if _graph.capture is not None:  # mg.compile records ops that compute their own values
        return (op.apply(input, axis=axes, correction=correction, keepdims=keepdim),
                R.Mean.apply(input, axis=axes, keepdims=keepdim))
    spread, mean = K.moments_axes(input._data, axes, correction, keepdim, op is R.Std)
    return (op.apply(input, axis=axes, correction=correction, keepdims=keepdim, given=spread),
            R.Mean.apply(input, axis=axes, keepdims=keepdim, given=mean))


# ---------------------------------------------------------------------------------------------
# Extremes
# ---------------------------------------------------------------------------------------------


def amax(input, dim=(), keepdim=False, *, axis=_UNSET, keepdims=_UNSET):
    """Maximum over ``dim`` (all dims if empty); the gradient is shared evenly by the
    elements that attain it."""
    return _extreme("amax", "max", input, dim, keepdim, axis, keepdims)


def amin(input, dim=(), keepdim=False, *, axis=_UNSET, keepdims=_UNSET):
    """Minimum over ``dim`` (all dims if empty), computed directly (so the smallest integer
    of a dtype and bool tensors are handled); gradient as amax."""
    return _extreme("amin", "min", input, dim, keepdim, axis, keepdims)


def _extreme(name, kind, input, dim, keepdim, axis, keepdims):
    if type(dim) is int and axis is _UNSET and keepdims is _UNSET and type(input) is Tensor:
        data = input._data  # x.amax(dim), the common call: checks inline
        if -data.ndim <= dim < data.ndim and data.shape[dim]:
            return R.Amax.apply(input, axis=(dim % data.ndim,), keepdims=bool(keepdim),
                                kind=kind)
    _check_input(input, name)
    dim, keepdim = _dim_args(name, dim, keepdim, axis, keepdims, default=())
    data = input._data
    axes = _reduce_axes(dim, data.ndim)
    _check_reduced_nonempty(name, data, axes)
    return R.Amax.apply(input, axis=axes, keepdims=keepdim, kind=kind)


def aminmax(input, *, dim=None, keepdim=False):
    """(min, max) over ``dim`` (or all elements), each differentiable as amin/amax."""
    if dim is None and type(input) is Tensor:  # over all elements, the common call
        data = input._data
        if data.size and data.dtype.kind == "f":
            if _graph.capture is None:  # one node with two outputs
                return _pair(return_types.aminmax, R.AminMax.apply_outputs(input))
            return _pair(return_types.aminmax, (R.Amin.apply(input), R.Amax.apply(input)))
    _check_input(input, "aminmax")
    data = input._data
    axes = None if dim is None else (_one_axis(dim, data.ndim),) if data.ndim else ()
    if axes is None and data.size == 0:
        raise RuntimeError("aminmax(): cannot compute aminmax over an empty dimension as the "
                           "operation has no identity.")
    _check_reduced_nonempty("aminmax", data, axes, sep=":")
    keep = keepdim and dim is not None
    return return_types.aminmax(R.Amax.apply(input, axis=axes, keepdims=keep, kind="min"),
                                R.Amax.apply(input, axis=axes, keepdims=keep, kind="max"))


def max(input, dim=None, keepdim=False, *, axis=_UNSET, keepdims=_UNSET):
    """``max(input)``: the largest element (gradient shared evenly among ties);
    ``max(input, dim)``: (values, indices) along ``dim``, the first maximal index of each
    slice (gradient to it alone); ``max(input, other)``: the elementwise maximum."""
    return _extreme_dim("max", "max", True, input, dim, keepdim, axis, keepdims)


def min(input, dim=None, keepdim=False, *, axis=_UNSET, keepdims=_UNSET):
    """As ``max``, for the smallest element (computed directly, not as -max(-x))."""
    return _extreme_dim("min", "min", False, input, dim, keepdim, axis, keepdims)


def _extreme_dim(name, kind, largest, input, dim, keepdim, axis, keepdims):
    if dim is None and keepdim is False and axis is _UNSET and keepdims is _UNSET and \
            isinstance(input, Tensor) and input._data.size:  # x.max(), the common call
        # (max is Amax's default kind: a call without options takes apply's quicker path,
        # 0.2 us of x.max()'s 1.0 on 100 elements)
        return R.Amax.apply(input) if largest else R.Amin.apply(input)
    if type(dim) is int and axis is _UNSET and keepdims is _UNSET and type(input) is Tensor:
        data = input._data  # x.max(dim), the other common call: checks inline
        if data.ndim and -data.ndim <= dim < data.ndim and data.shape[dim]:
            a = dim % data.ndim
            return _select(name, input, a, K.arg_extreme(data, a, largest), bool(keepdim))
    if isinstance(dim, Tensor):
        return (_maximum if kind == "max" else _minimum)(input, dim)
    _check_input(input, name)
    dim, keepdim = _dim_args(name, dim, keepdim, axis, keepdims)
    data = input._data
    if dim is None:
        if keepdim:
            raise TypeError(f"{name}() received an invalid combination of arguments - got "
                            f"(keepdim=bool), but keepdim needs dim")
        _check_reduced_nonempty(name, data, None)
        return R.Amax.apply(input, kind=kind)
    a = _one_axis(dim, data.ndim)
    if data.ndim == 0:
        return getattr(return_types, name)(R.MaxDim.apply(input, 0, None, keepdims=keepdim),
                                           _int_index(0))
    _check_reduced_nonempty(name, data, (a,))
    return _select(name, input, a, K.arg_extreme(data, a, largest), keepdim)


def argmax(input, dim=None, keepdim=False, *, axis=_UNSET, keepdims=_UNSET):
    """Index of the first maximal element (NaN counts as maximal), over all elements
    (flattened) or along ``dim``."""
    return _arg_extreme("argmax", True, input, dim, keepdim, axis, keepdims)


def argmin(input, dim=None, keepdim=False, *, axis=_UNSET, keepdims=_UNSET):
    """Index of the first minimal element (NaN counts as minimal, as in PyTorch)."""
    return _arg_extreme("argmin", False, input, dim, keepdim, axis, keepdims)


def _arg_extreme(name, largest, input, dim, keepdim, axis, keepdims):
    if type(dim) is int and keepdim is False and axis is _UNSET and keepdims is _UNSET and \
            type(input) is Tensor:  # x.argmax(dim), the common call: checks inline
        data = input._data
        if data.dtype.kind == "f" and data.ndim and -data.ndim <= dim < data.ndim and \
                data.shape[dim]:
            return _int_index(K.arg_extreme(data, dim % data.ndim, largest))
    _check_input(input, name)
    dim, keepdim = _dim_args(name, dim, keepdim, axis, keepdims)
    data = input._data
    if data.dtype == np.bool_:
        raise RuntimeError(f"{name}(): does not support bool input")
    if dim is None:
        if data.size == 0:
            raise IndexError(f"{name}(): Expected reduction dim to be specified for "
                             f"input.numel() == 0.")
        index = K.arg_extreme(data.reshape(-1), 0, largest)
        return _int_index(np.full((1,) * data.ndim, index) if keepdim else index)
    a = _one_axis(dim, data.ndim)
    if data.ndim == 0:
        return _int_index(0)
    _check_reduced_nonempty(name, data, (a,))
    return _int_index(_keep(K.arg_extreme(data, a, largest), a, keepdim, 2))


# ---------------------------------------------------------------------------------------------
# Selections along a dim: median, mode, kthvalue, sort, topk
# ---------------------------------------------------------------------------------------------


def _select(name, input, axis, indices, keepdim):
    """(values, indices) of a selection: indices has the slice axis removed."""
    # axis and indices as options: Op.apply's one-Tensor path, 1 us quicker than its generic one
    values = R.MaxDim.apply(input, axis=axis, argmax=indices, keepdims=keepdim)
    return _pair(getattr(return_types, name),
                 (values, _int_index(_keep(indices, axis, keepdim, 2))))


_ROW_DTYPES = (np.dtype(np.float32), np.dtype(np.float64), np.dtype(np.int64))


def _last_dim_rows(input, dim, axis, keepdims):
    """The rows of ``input`` for x.median(dim) / x.kthvalue(k, dim), the common calls, when
    dim is the last, non-empty dim of a float32/float64/int64 Tensor (the kernels' case): a
    view if C-contiguous, with the checks of the general path done inline. None otherwise
    (the general path then checks the arguments)."""
    if type(dim) is not int or type(input) is not Tensor or axis is not _UNSET or \
            keepdims is not _UNSET:
        return None
    data = input._data
    shape = data.shape
    if not shape or not (dim == -1 or dim == len(shape) - 1) or not shape[-1] or \
            data.dtype not in _ROW_DTYPES:
        return None
    return data.reshape(-1, shape[-1])


def _last_dim_select(name, input, indices, keepdim):
    """_select for the rows of _last_dim_rows: indices int64 (m,) from a kernel."""
    shape = input._data.shape
    indices = indices.reshape(shape[:-1])
    values = R.MaxDim.apply(input, axis=len(shape) - 1, argmax=indices, keepdims=keepdim)
    if keepdim:
        indices = indices.reshape(shape[:-1] + (1,))
    return _pair(getattr(return_types, name), (values, _wrap(indices)))


def _select_0d(name, input):
    return getattr(return_types, name)(R.MaxDim.apply(input, 0, None), _int_index(0))


def median(input, dim=None, keepdim=False, *, axis=_UNSET, keepdims=_UNSET):
    """The lower median (the element at position (n - 1) // 2 in sorted order; NaN if the
    slice holds a NaN). Without ``dim``: of all elements, the gradient shared by the elements
    equal to it; with ``dim``: (values, indices), the gradient to the index returned."""
    if dim is None and keepdim is False and axis is _UNSET and keepdims is _UNSET and \
            type(input) is Tensor and input._data.dtype.kind == "f":  # x.median()
        return R.MedianAll.apply(input)
    rows = _last_dim_rows(input, dim, axis, keepdims)
    if rows is not None:
        return _last_dim_select("median", input, K.median_indices(rows), bool(keepdim))
    return _median("median", input, dim, keepdim, axis, keepdims, ignore_nan=False)


def nanmedian(input, dim=None, keepdim=False, *, axis=_UNSET, keepdims=_UNSET):
    """As ``median``, ignoring NaN elements (NaN only where a slice is all NaN)."""
    return _median("nanmedian", input, dim, keepdim, axis, keepdims, ignore_nan=True)


def _median(name, input, dim, keepdim, axis, keepdims, ignore_nan):
    _check_input(input, name)
    dim, keepdim = _dim_args(name, dim, keepdim, axis, keepdims)
    data = input._data
    if dim is None:
        if _is_float(input):
            return R.MedianAll.apply(input, ignore_nan=ignore_nan)
        flat = np.sort(data.reshape(-1))
        return _wrap(np.asarray(flat[(flat.size - 1) // 2] if flat.size else 0,
                                dtype=data.dtype))
    a = _one_axis(dim, data.ndim)
    if data.ndim == 0:
        return _select_0d(name, input)
    _check_reduced_nonempty(name, data, (a,))
    if not ignore_nan:
        rows, shape = _select_rows(data, a)
        return _select(name, input, a, K.median_indices(rows).reshape(shape), keepdim)
    if data.dtype.kind != "f" or not np.isnan(data).any():
        k = (data.shape[a] - 1) // 2
        indices = np.take(np.argpartition(data, k, axis=a), k, axis=a)
    else:
        order = np.argsort(data, axis=a, kind="stable")  # NaN last
        valid = np.sum(~np.isnan(data), axis=a, keepdims=True)
        k = np.maximum(valid - 1, 0) // 2
        indices = np.take_along_axis(order, k, axis=a).squeeze(a)
    return _select(name, input, a, indices, keepdim)


def mode(input, dim=-1, keepdim=False, *, axis=_UNSET, keepdims=_UNSET):
    """(values, indices): the most frequent value of each slice along ``dim`` (the smallest
    of the most frequent on a tie; NaN never equals NaN) and the last index holding it."""
    _check_input(input, "mode")
    dim, keepdim = _dim_args("mode", dim, keepdim, axis, keepdims, default=-1)
    data = input._data
    a = _one_axis(dim, data.ndim)
    if data.ndim == 0:
        return _select_0d("mode", input)
    _check_reduced_nonempty("mode", data, (a,))
    moved = data if a == data.ndim - 1 else np.moveaxis(data, a, -1)
    # Rows of float64 or int64 (both hold every value of the narrower types exactly): the
    # kernel compares values only, and returns the index that picks the value from input.
    rows = np.ascontiguousarray(moved.reshape(-1, moved.shape[-1]),
                                dtype=np.float64 if data.dtype.kind == "f" else np.int64)
    indices = K.mode_indices(rows).reshape(moved.shape[:-1])
    return _select("mode", input, a, indices, keepdim)


def kthvalue(input, k, dim=-1, keepdim=False, *, axis=_UNSET, keepdims=_UNSET):
    """(values, indices): the k-th smallest element (k from 1) of each slice along ``dim``."""
    rows = _last_dim_rows(input, dim, axis, keepdims)
    if rows is not None and type(k) is int and 1 <= k <= rows.shape[1]:
        return _last_dim_select("kthvalue", input, K.kthvalue_indices(rows, k - 1),
                                bool(keepdim))
    _check_input(input, "kthvalue")
    dim, keepdim = _dim_args("kthvalue", dim, keepdim, axis, keepdims, default=-1)
    data = input._data
    a = _one_axis(dim, data.ndim)
    n = data.shape[a] if data.ndim else 1
    if data.ndim and n == 0:
        _check_reduced_nonempty("kthvalue", data, (a,))
    if not 1 <= k <= n:
        raise RuntimeError(f"kthvalue(): selected number k out of range for dimension {a}")
    if data.ndim == 0:
        return _select_0d("kthvalue", input)
    rows, shape = _select_rows(data, a)
    indices = K.kthvalue_indices(rows, k - 1).reshape(shape)
    return _select("kthvalue", input, a, indices, keepdim)


def _select_rows(data, axis):
    """The slices of ``data`` along ``axis`` as the rows of a C-contiguous (m, n) array for the
    row selection kernels (float32, float64 or int64, which order and compare every value of
    the narrower types as they do), and the shape of data without ``axis``."""
    moved = data if axis == data.ndim - 1 else np.moveaxis(data, axis, -1)
    dtype = data.dtype
    if dtype.kind == "f" and dtype.itemsize < 4:
        dtype = np.float32
    elif dtype.kind in "iu" and dtype.itemsize < 8:
        dtype = np.int64
    rows = np.ascontiguousarray(moved.reshape(-1, moved.shape[-1]), dtype=dtype)
    return rows, moved.shape[:-1]


def _sort_order(data, axis, descending):
    """A stable sort along ``axis`` (NaN sorts as the largest value). Descending keeps equal
    elements in their original order too: it is a stable ascending sort of the reversed
    slice, reversed."""
    if not descending:
        return _stable_argsort(data, axis)
    n = data.shape[axis]
    flip = (slice(None),) * axis + (slice(None, None, -1),)
    return (n - 1) - _stable_argsort(data[flip], axis)[flip]


_SMALL_SORT = 4096


def _stable_argsort(data, axis):
    """np.argsort(kind='stable'), faster: numpy's quicksort (about three times faster than
    its stable sort), then, if equal values (or NaNs) meet, each run of them put back in index
    order by one sort of (start of the run, index) keys, which are all distinct."""
    n = data.shape[axis]
    if data.dtype == np.float32 and n >= 2:  # (value, index) keys in one uint64
        last = data.ndim - 1
        moved = data if axis == last else np.moveaxis(data, axis, -1)
        order = K.stable_argsort_f32(np.ascontiguousarray(moved.reshape(-1, n)))
        order = order.reshape(moved.shape)
        return order if axis == last else np.moveaxis(order, -1, axis)
    if data.size <= _SMALL_SORT or n < 2 or data.dtype.kind not in "fiu":
        return np.argsort(data, axis=axis, kind="stable")
    order = np.argsort(data, axis=axis)
    ordered = np.take_along_axis(data, order, axis=axis)
    lead = (slice(None),) * axis
    later, earlier = ordered[lead + (slice(1, n),)], ordered[lead + (slice(0, n - 1),)]
    same = later == earlier
    if data.dtype.kind == "f":
        same |= np.isnan(later) & np.isnan(earlier)
    if not same.any():
        return order
    shape = [1] * data.ndim
    shape[axis] = n
    positions = np.arange(n, dtype=np.int64).reshape(shape)
    starts = np.broadcast_to(positions, data.shape).copy()
    starts[lead + (slice(1, n),)][same] = 0
    run_start = np.maximum.accumulate(starts, axis=axis)
    key = run_start * n + order
    key.sort(axis=axis)
    return key % n


def sort(input, dim=-1, descending=False, stable=False, *, axis=_UNSET):
    """(values, indices) sorted along ``dim`` (stable in either direction; NaN last when
    ascending, first when descending). The gradient of values goes back through indices."""
    _check_input(input, "sort")
    if isinstance(dim, bool) and stable is False:  # sort(input, stable, dim, descending)
        stable, dim = dim, -1
    dim, _ = _dim_args("sort", dim, False, axis, _UNSET, default=-1)
    data = input._data
    a = _one_axis(dim, data.ndim)
    if data.ndim == 0:
        return return_types.sort(R.MaxDim.apply(input, 0, None), _int_index(0))
    order = _sort_order(data, a, descending)
    return return_types.sort(I.TakeAlongAxis.apply(input, order, a), _int_index(order))


def argsort(input, dim=-1, descending=False, stable=False):
    """The indices that sort ``input`` along ``dim`` (see ``sort``)."""
    _check_input(input, "argsort")
    data = input._data
    a = _one_axis(dim, data.ndim)
    if data.ndim == 0:
        return _int_index(0)
    return _int_index(_sort_order(data, a, descending))


def msort(input):
    """``sort(input, dim=0).values``."""
    return sort(input, 0).values


# K.topk_indices keeps the k best in a sorted list of k (see _kernels/_select.pyx): for a
# larger k, sorting (or partitioning) the whole row is cheaper.
_TOPK_KERNEL_MAX_K = 32


def topk(input, k, dim=-1, largest=True, sorted=True):
    """(values, indices) of the k largest (``largest=False``: smallest) elements along
    ``dim``, in order (equal elements in their original order)."""
    _check_input(input, "topk")
    data = input._data
    a = _one_axis(dim, data.ndim)
    n = data.shape[a] if data.ndim else 1
    if not 0 <= k <= n:
        raise RuntimeError("selected index k out of range")
    if data.ndim == 0:
        if k == 0:
            empty = np.zeros((0,), dtype=np.int64)
            return return_types.topk(I.TakeAlongAxis.apply(input.reshape(1), empty, 0),
                                     _int_index(empty))
        return return_types.topk(R.MaxDim.apply(input, 0, None), _int_index(0))
    if 0 < k <= _TOPK_KERNEL_MAX_K and data.dtype.kind == "f":  # one pass over each row
        last = data.ndim - 1
        if a == last and data.flags.c_contiguous:  # the common call: rows already in place
            if last == 1:  # a matrix: the kernel's (rows, k) int64 result is the answer
                order = K.topk_indices(data, k, largest)
            else:
                order = K.topk_indices(data.reshape(-1, n), k, largest).reshape(
                    data.shape[:-1] + (k,))
            return _pair(return_types.topk, (I.TakeAlongAxis.apply(input, order, a), _wrap(order)))
        moved = data if a == last else np.moveaxis(data, a, -1)
        rows = np.ascontiguousarray(moved.reshape(-1, n))
        order = K.topk_indices(rows, k, largest).reshape(moved.shape[:-1] + (k,))
        order = np.ascontiguousarray(order if a == last else np.moveaxis(order, -1, a))
        return return_types.topk(I.TakeAlongAxis.apply(input, order, a), _int_index(order))
    lead = (slice(None),) * a
    if 0 < 4 * k < n and data.size > _SMALL_SORT:  # partition, then sort the k candidates
        part = np.argpartition(data, n - k if largest else k - 1, axis=a)
        candidates = np.sort(part[lead + ((slice(n - k, n) if largest else slice(0, k)),)],
                             axis=a)  # in index order, so that the stable sort keeps it
        order = np.take_along_axis(candidates, _sort_order(
            np.take_along_axis(data, candidates, axis=a), a, descending=largest), axis=a)
    else:
        order = _sort_order(data, a, descending=largest)[lead + (slice(0, k),)]
    order = np.ascontiguousarray(order)
    return return_types.topk(I.TakeAlongAxis.apply(input, order, a), _int_index(order))


# ---------------------------------------------------------------------------------------------
# Log-sum-exp and norms
# ---------------------------------------------------------------------------------------------


def logsumexp(input, dim, keepdim=False, *, axis=_UNSET, keepdims=_UNSET):
    """log(sum(exp(x))) over ``dim``, stable for any magnitude; integer inputs are computed
    in float32. d/dx = softmax over the slice."""
    _check_input(input, "logsumexp")
    dim, keepdim = _dim_args("logsumexp", dim, keepdim, axis, keepdims)
    x = input if _is_float(input) else _as_type(input, np.dtype(np.float32))
    return R.LogSumExp.apply(x, axis=_reduce_axes(dim, x._data.ndim), keepdims=keepdim)


def _vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None):
    """``torch.linalg.vector_norm``: (sum |x|^ord)^(1/ord) over ``dim`` (all if None)."""
    if type(ord) is int and ord > 0 and dtype is None and isinstance(x, Tensor):
        data = x._data
        if data.dtype.kind == "f":  # the common call, without the general checks below
            ndim = data.ndim
            if dim is None:
                return R.VectorNorm.apply(x, ord, axis=None, keepdims=keepdim)
            if type(dim) is int and -ndim <= dim < ndim:
                return R.VectorNorm.apply(x, ord, axis=(dim % ndim,), keepdims=keepdim)
    _check_input(x, "linalg.vector_norm")
    if isinstance(ord, str) or not isinstance(ord, numbers.Real):
        raise TypeError(f"linalg_vector_norm(): argument 'ord' (position 2) must be Number, "
                        f"not {type(ord).__name__}")
    if not _is_float(x):
        raise RuntimeError(f"linalg.vector_norm: Expected a floating point or complex tensor "
                           f"as input. Got {x.dtype.legacy_name}")
    if dtype is not None:
        want = _dt.as_dtype(dtype)
        if not want.is_floating_point:
            raise RuntimeError(f"linalg.vector_norm: dtype should be floating point or "
                               f"complex, but got {want.legacy_name}")
        x = _as_type(x, want.np_dtype)
    data = x._data
    axes = _reduce_axes(dim, data.ndim)
    ord = float(ord)
    if ord < 0 or ord == math.inf:
        shown = "inf" if ord == math.inf else ("-inf" if ord == -math.inf else f"{ord:g}")
        if axes is None and data.size == 0:
            raise RuntimeError(f"linalg.vector_norm cannot compute the {shown} norm on an "
                               f"empty tensor because the operation does not have an identity")
        for a in axes or ():
            if data.shape[a] == 0:
                raise RuntimeError(f"linalg.vector_norm cannot compute the {shown} norm on "
                                   f"the dimension {a}because this dimension is empty and "
                                   f"the operation does not have an identity")
    if ord == int(ord) if math.isfinite(ord) else False:
        ord = int(ord)
    return R.VectorNorm.apply(x, ord, axis=axes, keepdims=keepdim)


def _matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False, *, dtype=None):
    """``torch.linalg.matrix_norm`` for ord 'fro', 1, -1, inf, -inf (sums of absolute values
    and extremes of them); 'nuc', 2 and -2 need singular values, which minigrad lacks."""
    _check_input(A, "linalg.matrix_norm")
    if A._data.ndim < 2:
        raise RuntimeError("linalg.matrix_norm: The input tensor A must have at least 2 "
                           "dimensions.")
    if not isinstance(dim, (tuple, list)) or len(dim) != 2:
        shown = " ".join(str(d) for d in dim) if isinstance(dim, (tuple, list)) else dim
        raise RuntimeError(f"linalg.matrix_norm: dim must be a 2-tuple. Got {shown}")
    d0, d1 = (_axis(d, A._data.ndim) for d in dim)
    if d0 == d1:
        raise RuntimeError(f"linalg.matrix_norm: dims must be different. Got ({dim[0]}, "
                           f"{dim[1]})")
    if ord in ("nuc", 2, -2):
        raise NotImplementedError(f"linalg.matrix_norm: ord={ord!r} needs a singular value "
                                  f"decomposition, which minigrad does not have")
    if ord == "fro":
        return _vector_norm(A, 2, (d0, d1), keepdim, dtype=dtype)
    if ord not in (1, -1, math.inf, -math.inf):
        raise RuntimeError(f"linalg.matrix_norm: Order {ord} not supported.")
    if not _is_float(A):
        raise RuntimeError(f"linalg.matrix_norm: Expected a floating point or complex tensor "
                           f"as input. Got {A.dtype.legacy_name}")
    x = A if dtype is None else _as_type(A, _np_dtype(dtype))
    # ord +-1: extreme over columns of the column sums |a_ij| over i; ord +-inf: over rows.
    summed, other = (d0, d1) if abs(ord) == 1 else (d1, d0)
    absolute = R.VectorNorm.apply(x, 1, axis=(summed,), keepdims=True)
    extreme = amax if ord > 0 else amin
    out = extreme(absolute, other, keepdim=True)
    if not keepdim:
        out = out.squeeze((d0, d1)) if out.ndim else out
    return out


def _linalg_norm(A, ord=None, dim=None, keepdim=False, *, dtype=None):
    """``torch.linalg.norm``: a vector norm when ``dim`` is one dim (or ord is None and dim
    is None: the 2-norm of all elements), a matrix norm when ``dim`` is two dims."""
    _check_input(A, "linalg.norm")
    ndim = A._data.ndim
    if dim is not None:
        dims = dim if isinstance(dim, (tuple, list)) else (dim,)
        if len(dims) not in (1, 2):
            raise RuntimeError(f"linalg.norm: If dim is specified, it must be of length 1 or "
                               f"2. Got {list(dims)}")
        if len(dims) == 1:
            return _vector_norm(A, 2 if ord is None else ord, dims, keepdim, dtype=dtype)
        return _matrix_norm(A, "fro" if ord is None else ord, dims, keepdim, dtype=dtype)
    if ord is None:
        return _vector_norm(A, 2, None, keepdim, dtype=dtype)
    if ndim not in (1, 2):
        raise RuntimeError(f"linalg.norm: If dim is not specified but ord is, the input must "
                           f"be 1D or 2D. Got {ndim}D.")
    if ndim == 1:
        return _vector_norm(A, ord, None, keepdim, dtype=dtype)
    return _matrix_norm(A, ord, (-2, -1), keepdim, dtype=dtype)


def norm(input, p="fro", dim=None, keepdim=False, dtype=None):
    """``torch.norm``: 'fro' (the 2-norm over ``dim`` or all elements) or a numeric p (a
    vector norm over ``dim``); 'nuc' is not available (it needs singular values)."""
    _check_input(input, "norm")
    if isinstance(p, str):
        if p == "fro" and (dim is None or isinstance(dim, numbers.Integral) or len(dim) <= 2):
            return _vector_norm(input, 2, dim, keepdim, dtype=dtype)
        return _matrix_norm(input, p, (-2, -1) if dim is None else dim, keepdim, dtype=dtype)
    return _vector_norm(input, 2 if p is None else p, dim, keepdim, dtype=dtype)


# ---------------------------------------------------------------------------------------------
# Scans
# ---------------------------------------------------------------------------------------------


def _scan_input(name, input, dim, dtype):
    _check_input(input, name)
    data = input._data
    a = _one_axis(dim, data.ndim)
    want = _np_dtype(dtype)
    x = input if want is None else _as_type(input, want)
    return x, a


def cumsum(input, dim, *, dtype=None, axis=_UNSET):
    """Running sums along ``dim`` (integer and bool inputs give int64); the gradient is the
    running sum of the gradient from the other end."""
    dim, _ = _dim_args("cumsum", dim, False, axis, _UNSET, default=dim)
    x, a = _scan_input("cumsum", input, dim, dtype)
    data = x._data
    if not _is_float(x):
        out = np.cumsum(data.reshape(-1) if data.ndim == 0 else data, axis=a,
                        dtype=data.dtype if dtype is not None else _INT64)
        return _wrap(out.reshape(data.shape))
    if data.ndim == 0:
        return R.CumSum.apply(x.reshape(1), 0).reshape(())
    return R.CumSum.apply(x, a)


def cumprod(input, dim, *, dtype=None, axis=_UNSET):
    """Running products along ``dim`` (integer and bool inputs give int64); the gradient is
    exact with zeros in the input."""
    dim, _ = _dim_args("cumprod", dim, False, axis, _UNSET, default=dim)
    x, a = _scan_input("cumprod", input, dim, dtype)
    data = x._data
    if not _is_float(x):
        out = np.cumprod(data.reshape(-1) if data.ndim == 0 else data, axis=a,
                         dtype=data.dtype if dtype is not None else _INT64)
        return _wrap(out.reshape(data.shape))
    if data.ndim == 0:
        return R.CumProd.apply(x.reshape(1), 0).reshape(())
    return R.CumProd.apply(x, a)


def cumsum_(input, dim, *, dtype=None):
    """In place: ``input`` becomes ``input.cumsum(dim)``."""
    return input._inplace(lambda t: cumsum(t, dim, dtype=dtype), (), None, "same_kind")


def cumprod_(input, dim, *, dtype=None):
    """In place: ``input`` becomes ``input.cumprod(dim)``."""
    return input._inplace(lambda t: cumprod(t, dim, dtype=dtype), (), None, "same_kind")


def logcumsumexp(input, dim, *, axis=_UNSET):
    """log(running sums of exp(x)) along ``dim``, stable (floating inputs only)."""
    dim, _ = _dim_args("logcumsumexp", dim, False, axis, _UNSET, default=dim)
    x, a = _scan_input("logcumsumexp", input, dim, None)
    if not _is_float(x):
        raise NotImplementedError(f'"logcumsumexp_out_cpu" not implemented for '
                                  f"'{x.dtype.legacy_name}'")
    if x._data.ndim == 0:
        return R.LogCumSumExp.apply(x.reshape(1), 0).reshape(())
    return R.LogCumSumExp.apply(x, a)


def cummax(input, dim, *, axis=_UNSET):
    """(values, indices): running maxima along ``dim``; an element equal to the running
    maximum takes over its index, and a NaN always does (PyTorch's rule)."""
    return _cumulative_extreme("cummax", "max", input, dim, axis)


def cummin(input, dim, *, axis=_UNSET):
    """As ``cummax`` for running minima."""
    return _cumulative_extreme("cummin", "min", input, dim, axis)


def _cumulative_extreme(name, kind, input, dim, axis):
    dim, _ = _dim_args(name, dim, False, axis, _UNSET, default=dim)
    _check_input(input, name)
    data = input._data
    a = _one_axis(dim, data.ndim)
    result = getattr(return_types, name)
    if data.ndim == 0:
        return result(R.MaxDim.apply(input, 0, None), _int_index(0))
    if data.dtype.kind == "f":  # the values come out of the pass that finds the indices
        values, indices = K.cumulative_extreme(data, a, kind == "max")
        return _pair(result, (I.Gathered.apply(input, values=values, indices=indices, axis=a),
                              _wrap(indices)))
    indices = K.cumulative_extreme_indices(data, a, kind == "max")
    return result(I.TakeAlongAxis.apply(input, indices, a), _int_index(indices))


# ---------------------------------------------------------------------------------------------
# Logical reductions and counts
# ---------------------------------------------------------------------------------------------


def any(input, dim=None, keepdim=False, *, axis=_UNSET, keepdims=_UNSET):
    """True where any element over ``dim`` is non-zero (uint8 inputs give uint8)."""
    return _logical("any", np.logical_or.reduce, input, dim, keepdim, axis, keepdims)


def all(input, dim=None, keepdim=False, *, axis=_UNSET, keepdims=_UNSET):
    """True where every element over ``dim`` is non-zero (uint8 inputs give uint8)."""
    return _logical("all", np.logical_and.reduce, input, dim, keepdim, axis, keepdims)


def _logical(name, reduce, input, dim, keepdim, axis, keepdims):
    if type(dim) is int and axis is _UNSET and keepdims is _UNSET and input._data.ndim and \
            input._data.dtype != np.uint8:  # t.any(1): the common call
        out = reduce(input._data, axis=_one_axis(dim, input._data.ndim), keepdims=keepdim)
        return _wrap(np.asarray(out))
    _check_input(input, name)
    dim, keepdim = _dim_args(name, dim, keepdim, axis, keepdims)
    data = input._data
    if isinstance(dim, (tuple, list)) and len(dim) == 0:
        out = data != 0  # PyTorch reduces over no dim at all here
    else:
        out = reduce(data, axis=_reduce_axes(dim, data.ndim), keepdims=keepdim)
    out = np.asarray(out)
    return _wrap(out.astype(np.uint8) if data.dtype == np.uint8 else out)


def count_nonzero(input, dim=None):
    """The number of non-zero elements over ``dim`` (int64)."""
    _check_input(input, "count_nonzero")
    data = input._data
    axes = _reduce_axes(dim, data.ndim)
    return _wrap(np.asarray(np.count_nonzero(data, axis=axes), dtype=np.int64))


# ---------------------------------------------------------------------------------------------
# Unique values
# ---------------------------------------------------------------------------------------------


def unique(input, sorted=True, return_inverse=False, return_counts=False, dim=None):
    """The distinct values (sorted; NaN values are all distinct, as in PyTorch), or the
    distinct slices along ``dim``; optionally each element's position in them (inverse) and
    how often each occurs (counts). Not differentiable."""
    _check_input(input, "unique")
    data = input._data
    if dim is None and not (return_inverse or return_counts):
        return _not_differentiable(input, K.unique_values(data), "_unique2")
    if dim is None:
        found = np.unique(data.reshape(-1), return_inverse=return_inverse,
                          return_counts=return_counts, equal_nan=False)
        values, rest = found[0], list(found[1:])
        inverse = rest.pop(0).reshape(data.shape) if return_inverse else None
        counts = rest.pop(0) if return_counts else None
    else:
        if data.ndim == 0:
            raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
        a = _one_axis(dim, data.ndim)
        if data.size == 0 and data.shape[a] != 0:
            raise RuntimeError("There are 0 sized dimensions, and they aren't selected, so "
                               "unique cannot be applied")
        if data.shape[a] == 0:
            values = data.copy()
            inverse = np.zeros((0,), dtype=np.int64)
            counts = np.zeros((0,), dtype=np.int64)
        else:
            values, inverse, counts = np.unique(data, return_inverse=True, return_counts=True,
                                                axis=a, equal_nan=False)
            inverse = inverse.reshape(-1)
    out = [_not_differentiable(input, values, "_unique2")]
    if return_inverse:
        out.append(_int_index(inverse))
    if return_counts:
        out.append(_int_index(counts))
    return out[0] if len(out) == 1 else tuple(out)


def _not_differentiable(input, values, name):
    """values as the output of a function of input that has no derivative in PyTorch: it
    requires grad when input does, and backward through it raises PyTorch's error."""
    values = np.ascontiguousarray(values)
    if not input.requires_grad:
        return _wrap(values)
    return R.NoDerivative.apply(input, values, NotImplementedError,
                                f"the derivative for '{name}' is not implemented.")


def unique_consecutive(input, return_inverse=False, return_counts=False, dim=None):
    """Collapse runs of equal consecutive values (or slices along ``dim``) to one."""
    _check_input(input, "unique_consecutive")
    data = input._data
    if dim is None:
        flat = data.reshape(-1)
        starts = np.ones(flat.shape, dtype=bool)
        starts[1:] = flat[1:] != flat[:-1]
        values = flat[starts]
        run = np.cumsum(starts) - 1
        inverse = run.reshape(data.shape)
    else:
        a = _one_axis(dim, data.ndim)
        moved = np.moveaxis(data, a, 0)
        rows = moved.reshape(moved.shape[0], -1)
        starts = np.ones(rows.shape[0], dtype=bool)
        starts[1:] = (rows[1:] != rows[:-1]).any(axis=1)
        values = np.moveaxis(moved[starts], 0, a)
        inverse = np.cumsum(starts) - 1
    counts = np.diff(np.append(np.flatnonzero(starts), starts.size))
    out = [_not_differentiable(input, values, "unique_consecutive")]
    if return_inverse:
        out.append(_int_index(inverse))
    if return_counts:
        out.append(_int_index(counts))
    return out[0] if len(out) == 1 else tuple(out)


from .. import linalg as _linalg  # mg.linalg (it exposes the norms above)

_ = _linalg
