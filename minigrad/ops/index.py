"""Indexing: reading (``x[index]``, gather), writing (``x[index] = v``, scatter), and the
scatters that carry gradients back.

Each read has a write as its derivative and the other way round: the gradient of a read is a
scatter-add of the gradient into zeros, and the gradient of that scatter-add is a read at the
same positions, so indexing can be differentiated any number of times.

An ``index`` here is a numpy index (ints, slices, None, integer and boolean arrays) that
already has PyTorch's meaning under numpy's rules and whose integers are in range: the Tensor
layer (``tensor.py``'s ``_index``) and the functions in ``minigrad/functions/index.py`` check
and convert before any op runs.
"""
import warnings

import numpy as np

from .._kernels import kernels as K
from ..autograd.graph import Op, tensor_type


def is_advanced(index):
    """True if ``index`` holds an integer or boolean array (numpy's advanced indexing, which
    copies; basic indexing with ints, slices, None and ... makes a view)."""
    if type(index) is tuple:
        for part in index:
            if isinstance(part, (np.ndarray, list)):
                return True
        return False
    return isinstance(index, (np.ndarray, list))


class Index(Op):
    """out = x[index];  d out/dx scatters the gradient back into zeros of x's shape, adding up
    where an index repeats."""

    may_broadcast = False

    def forward(self, x, index):
        self.shape, self.index = x.shape, index
        if type(index) is int:  # x[i]: a view, 0-d included (numpy would give a scalar)
            self.is_view = True
            return x[index, ...]
        if type(index) is np.ndarray and index.dtype == np.bool_ and index.shape == x.shape:
            return K.masked_select(x, index)  # x[mask]: one compiled pass
        if type(index) is np.ndarray or is_advanced(index):
            return np.asarray(x[index])
        self.is_view = True
        parts = index if type(index) is tuple else (index,)
        if Ellipsis not in parts:  # a 0-d result stays a view (numpy gives a scalar)
            return x[parts + (Ellipsis,)]
        return x[index]

    def backward(self, grad, xp):
        return xp.scatter_index(grad, self.index, self.shape), None


class Take(Op):
    """out = x seen as 1-D, read at ``indices`` (int64, any shape, in [-x.size, x.size):
    PyTorch's take; one node where Reshape + Index made two);  d out/dx scatters the
    gradient back into zeros of x's size, adding up where an index repeats."""

    may_broadcast = False

    def forward(self, x, indices):
        self.shape, self.indices = x.shape, indices
        return x.reshape(-1)[indices]

    def backward(self, grad, xp):
        flat = xp.scatter_index(grad, self.indices, (int(np.prod(self.shape)),))
        return xp.reshape(flat, self.shape), None


class MaskedScatter(Op):
    """out = x with the positions where ``mask`` (bool, x's shape) is True filled, in order,
    with the first elements of ``source`` (read flat): masked_scatter's common call, one
    compiled pass where Reshape + Index + IndexPut took three nodes;  x gets the gradient
    where mask is False, source the gradient at mask's True positions, in order, in its first
    elements (zeros after them)."""

    may_broadcast = False

    def forward(self, x, source, mask):
        out = K.masked_scatter(x, mask, source)
        if out is None:
            raise RuntimeError("Number of elements of source < number of ones in mask")
        self.mask, self.source_shape = mask, source.shape
        return out

    def backward(self, grad, xp):
        need_x, need_source = self.needs_input_grad[:2]
        grad_x = xp.index_put(grad, self.mask, 0.0) if need_x else None
        grad_source = None
        if need_source:
            picked = xp.index(grad, self.mask)
            count = picked.shape[0]
            size = int(np.prod(self.source_shape))
            grad_source = xp.reshape(xp.scatter_index(picked, slice(0, count), (size,)),
                                     self.source_shape)
        return grad_x, grad_source


class IndexSelect(Index):
    """out = x's slices at ``indices`` (1-D, int64, in range) along ``axis``: index_select,
    x[..., indices, ...], one compiled copy of whole rows instead of numpy's general advanced
    indexing;  d out/dx as Index's (a scatter-add into zeros)."""

    def forward(self, x, indices, axis):
        self.shape = x.shape
        self.index = (slice(None),) * axis + (indices,)
        return K.index_select(x, indices, axis)

    def backward(self, grad, xp):
        return xp.scatter_index(grad, self.index, self.shape), None, None


class IndexAdd(Op):
    """out = x with the slices of ``values`` added at ``indices`` (1-D, int64, in range) along
    ``axis``, repeated indices adding up (index_add, and index_put with accumulate on one
    index vector: one copy and one compiled pass, where ScatterIndex + Add made zeros,
    scattered and added);  x gets the whole gradient, values the gradient's slices at
    ``indices``."""

    may_broadcast = False

    def forward(self, x, values, indices, axis):
        self.index = (slice(None),) * axis + (indices,)
        return K.index_add(x, indices, values, axis)

    def backward(self, grad, xp):
        need_x, need_values = self.needs_input_grad[:2]
        grad_values = xp.index(grad, self.index) if need_values else None
        return (grad if need_x else None), grad_values


class IndexCopy(Op):
    """out = x with the slices of ``values`` written at ``indices`` (1-D, int64, in range)
    along ``axis`` (index_copy's common call: one compiled copy of rows, where IndexPut went
    through numpy's general assignment);  x gets the gradient with those slices zeroed,
    values the gradient's slices at ``indices``."""

    may_broadcast = False

    def forward(self, x, values, indices, axis):
        self.index = (slice(None),) * axis + (indices,)
        return K.index_copy(x, indices, values, axis)

    def backward(self, grad, xp):
        need_x, need_values = self.needs_input_grad[:2]
        grad_x = xp.index_put(grad, self.index, 0.0) if need_x else None
        grad_values = xp.index(grad, self.index) if need_values else None
        return grad_x, grad_values


class IndexFill(Op):
    """out = x with the slices at ``indices`` (1-D, int64, in range) along ``axis`` set to
    the number ``value`` (index_fill's common call: one copy and one assignment, without
    IndexPut's general values);  d out/dx = the gradient with those slices zeroed."""

    may_broadcast = False

    def forward(self, x, indices, axis, value):
        self.index = index = (slice(None),) * axis + (indices,)
        out = x.copy()
        out[index] = value
        return out

    def backward(self, grad, xp):
        return xp.index_put(grad, self.index, 0.0)


class ScatterIndex(Op):
    """out = zeros of ``shape`` with ``grad`` added at ``index`` (the derivative of Index);
    d out/d grad = reading at ``index`` again."""

    may_broadcast = False

    def forward(self, grad, index, shape):
        self.index = index
        return K.scatter_index(grad, index, shape)

    def backward(self, grad, xp):
        return xp.index(grad, self.index), None, None


class IndexPut(Op):
    """out = x with ``out[index] = values`` (broadcast; ``accumulate``: ``+=``, repeated
    positions adding up);  x gets the gradient everywhere (``accumulate``) or everywhere but
    at ``index``; values get the gradient read at ``index`` (summed over broadcasting)."""

    def forward(self, x, values, index, accumulate=False):
        self.index, self.accumulate = index, accumulate
        self.values_shape = np.shape(values)
        out = x.copy()
        if not accumulate:
            out[index] = values
        elif is_advanced(index):
            selected = np.broadcast_to(values, np.shape(out[index]))
            out += K.scatter_index(selected.astype(out.dtype, copy=False), index, out.shape)
        else:
            out[index] += values
        return out

    def backward(self, grad, xp):
        need_x, need_values = self.needs_input_grad[:2]
        grad_x = None
        if need_x:
            grad_x = grad if self.accumulate else xp.index_put(grad, self.index, 0.0)
        grad_values = None
        if need_values:
            grad_values = xp.index(grad, self.index)
            shape = self.values_shape
            ndim = len(tuple(grad_values.shape))
            if len(shape) > ndim:  # values with extra leading 1s (numpy and PyTorch allow)
                grad_values = xp.reshape(xp.sum_to(grad_values, shape[len(shape) - ndim:]),
                                         shape)
        return (grad_x, grad_values, None)


class TakeAlongAxis(Op):
    """out = take_along_axis(x, indices, axis) (PyTorch's gather: indices no larger than x
    except along ``axis``, which reads the leading part of x in those dims);  the gradient is
    scattered back into zeros of x's shape, adding where an index repeats."""

    may_broadcast = False

    def forward(self, x, indices, axis):
        self.shape, self.indices, self.axis = x.shape, indices, axis
        shape = x.shape
        taken = indices.shape  # may be shorter than x's in any dim
        if taken != shape and (taken[:axis] != shape[:axis]
                               or taken[axis + 1:] != shape[axis + 1:]):
            x = x[tuple(slice(None) if d == axis else slice(0, n)
                        for d, n in enumerate(indices.shape))]
        return K.take_along_axis(x, indices, axis)

    def backward(self, grad, xp):
        return xp.scatter_along_axis(grad, self.indices, self.axis, self.shape), None, None


class Gathered(Op):
    """out = ``values``, which the caller computed as take_along_axis(x, indices, axis) in the
    same pass that found the indices (cummax, cummin);  the gradient is TakeAlongAxis's: grad
    scattered back into zeros of x's shape at ``indices``."""

    may_broadcast = False

    def forward(self, x, values, indices, axis):
        self.shape, self.indices, self.axis = x.shape, indices, axis
        return values

    def backward(self, grad, xp):
        return xp.scatter_along_axis(grad, self.indices, self.axis, self.shape)


class ScatterAlongAxis(Op):
    """out = zeros of ``shape`` with ``grad`` added at ``indices`` along ``axis`` (the
    derivative of TakeAlongAxis, and PyTorch's scatter_add into zeros);  d out/d grad =
    gathering at ``indices`` again."""

    may_broadcast = False

    def forward(self, grad, indices, axis, shape):
        self.indices, self.axis = indices, axis
        return K.scatter_along_axis(grad, indices, axis, shape)

    def backward(self, grad, xp):
        return gather(grad, self.indices, self.axis, xp), None, None, None


class PutAlongAxis(Op):
    """out = x with values written at ``indices`` along ``axis`` (PyTorch's scatter with
    src);  x gets the gradient everywhere but at the written positions, values get the
    gradient gathered at ``indices`` (every value, also one overwritten by a repeated
    index, as in PyTorch)."""

    may_broadcast = False

    def forward(self, x, values, indices, axis):
        self.indices, self.axis = indices, axis
        return K.put_along_axis(x, indices, values, axis)

    def backward(self, grad, xp):
        need_x, need_values = self.needs_input_grad[:2]
        grad_x = grad_values = None
        if need_x:
            zeros = np.zeros(self.indices.shape, dtype=xp.values(grad).dtype)
            grad_x = xp.put_along_axis(grad, self.indices, zeros, self.axis)
        if need_values:
            grad_values = gather(grad, self.indices, self.axis, xp)
        return grad_x, grad_values, None, None


class ScatterAdd(Op):
    """out = x with values added at ``indices`` along ``axis`` (PyTorch's scatter_add,
    repeated indices adding up; one copy and one pass, where ScatterAlongAxis + Add made
    zeros, scattered and added);  x gets the whole gradient, values the gradient gathered at
    ``indices``."""

    may_broadcast = False

    def forward(self, x, values, indices, axis):
        self.indices, self.axis = indices, axis
        return K.scatter_add_along_axis(x, indices, values, axis)

    def backward(self, grad, xp):
        need_x, need_values = self.needs_input_grad[:2]
        grad_values = gather(grad, self.indices, self.axis, xp) if need_values else None
        return (grad if need_x else None), grad_values


def gather(x, indices, axis, xp):
    """x gathered at ``indices`` along ``axis``; indices may be smaller than x in the other
    dims (PyTorch's gather reads the leading part of x there)."""
    shape = tuple(x.shape)
    if any(i != axis and n != shape[i] for i, n in enumerate(indices.shape)):
        x = xp.index(x, tuple(slice(None) if i == axis else slice(0, n)
                              for i, n in enumerate(indices.shape)))
    return xp.take_along_axis(x, indices, axis)


def along_axis_index(indices, axis):
    """The advanced index that reaches, for each element of ``indices``, the element of x at
    that index along ``axis`` and at the same position elsewhere (x[P] is the gather)."""
    index = list(np.ix_(*[np.arange(n) for n in indices.shape])) if indices.ndim else []
    index[axis] = indices
    return tuple(index)


class ScatterReduce(Op):
    """out = x with src reduced into the positions ``indices`` name along ``axis``
    (PyTorch's scatter_reduce with reduce in sum, prod, mean, amax, amin; ``include_self``
    decides whether x's values at those positions take part).

    Gradients (PyTorch's scatter_reduce_backward): sum: x gets grad, src the gathered grad;
    mean: both divided by the count of each position; amax/amin: shared evenly by the
    elements (of x and src) equal to the result; prod: the product of the other factors
    (computed without dividing by zero; more than one zero src factor at one position has no
    second derivative, as in PyTorch). Without ``include_self``, x gets no gradient at the
    positions written."""

    may_broadcast = False

    def forward(self, x, src, indices, axis, reduce, include_self=True):
        self.indices, self.axis, self.reduce = indices, axis, reduce
        self.include_self = include_self
        self.save_for_backward(x, src)
        self.result = out = K.scatter_reduce(x, src, indices, axis, reduce, include_self)
        return out

    def backward(self, grad, xp):
        x, src = self.saved_tensors
        indices, axis, reduce = self.indices, self.axis, self.reduce
        shape = tuple(x.shape)

        def gather_(value):
            return gather(value, indices, axis, xp)

        if reduce == "sum":
            grad_x, grad_src = grad, gather_(grad)
        elif reduce == "mean":
            count = np.full(shape, 1.0 if self.include_self else 0.0,
                            dtype=xp.values(grad).dtype)
            count = K.scatter_along_axis(np.ones(indices.shape, count.dtype), indices, axis,
                                         shape) + count
            count[count == 0] = 1
            grad_x = xp.div(grad, count)
            grad_src = xp.div(gather_(grad), gather(count, indices, axis, K))
        elif reduce in ("amax", "amin"):
            result = self.result
            x_hits = (xp.values(x) == xp.values(result)).astype(xp.values(grad).dtype)
            src_hits = (xp.values(src) == gather(xp.values(result), indices, axis, K)).astype(
                x_hits.dtype)
            count = x_hits + K.scatter_along_axis(src_hits, indices, axis, shape)
            count[count == 0] = 1
            distributed = xp.div(grad, count)
            grad_x = xp.mul(distributed, x_hits)
            grad_src = xp.mul(gather_(distributed), src_hits)
        else:
            grad_x, grad_src = self._prod_backward(grad, x, src, xp, gather_)
        if not self.include_self:
            grad_x = xp.index_put(grad_x, along_axis_index(indices, axis), 0.0)
        return grad_x, grad_src

    def _prod_backward(self, grad, x, src, xp, gather_):
        indices, axis = self.indices, self.axis
        x_values, src_values = xp.values(x), xp.values(src)
        x_zero = x_values == 0
        # x: grad * (the product at its position with x's own factor taken out)
        masked_x = xp.where(x_zero, 1.0, x)
        masked_result = xp.scatter_reduce(masked_x, src, indices, axis, "prod",
                                          self.include_self)
        grad_x = xp.div(xp.mul(grad, masked_result), masked_x)
        # src: the same; a src factor that is the only zero src factor at its position
        # gets the product of the others, computed with it replaced by 1
        src_zero = src_values == 0
        zeros_at = K.scatter_along_axis(src_zero.astype(x_values.dtype), indices, axis,
                                        x_values.shape)
        single_zero = src_zero & (gather(zeros_at, indices, axis, K) == 1)
        masked_src = xp.where(single_zero, 1.0, src)
        with_one = xp.scatter_reduce(x, masked_src, indices, axis, "prod", self.include_self)
        from_zero = gather_(xp.mul(grad, with_one))
        from_others = xp.div(gather_(xp.mul(grad, self.result)), xp.where(src_zero, 1.0, src))
        return grad_x, xp.where(single_zero, from_zero, from_others)


class ScatterNoGrad(Op):
    """PyTorch's ``scatter(..., reduce='add' | 'multiply')``: computed, but (as in PyTorch)
    without a derivative: backward through it raises."""

    def forward(self, x, src, indices, axis, reduce):
        out = x.copy()
        ufunc = np.add if reduce == "add" else np.multiply
        ufunc.at(out, along_axis_index(indices, axis), src)
        return out

    def backward(self, grad, xp):
        raise RuntimeError("derivative for aten::scatter is not implemented")


# ---------------------------------------------------------------------------------------------
# PyTorch's indexing rules, as numpy indices
# ---------------------------------------------------------------------------------------------
#
# PyTorch applies the integers, slices, None and Ellipsis of an index first (a view), then the
# index tensors to the dims that are left. numpy applies them all at once and counts an integer
# as an index array: both put the dims of adjacent index arrays in place and those of separated
# ones first, but for x[0, :, idx] numpy sees 0 and idx as separated (result (len(idx), ...))
# where PyTorch sees idx alone (result (..., len(idx))). ``torch_index`` therefore returns a
# view index and, when the index also holds integers, a second index (full slices and arrays)
# to apply to the view, which numpy reads exactly as PyTorch reads it.

_INDEX_TYPE_ERROR = ("only integers, slices (`:`), ellipsis (`...`), None and long or byte "
                     "Variables are valid indices (got {})")
_INDEX_DTYPE_ERROR = "tensors used as indices must be long, int, byte or bool tensors"


def torch_index(index, shape):
    """``index`` (anything ``Tensor.__getitem__`` accepts) for an array of ``shape`` as
    ``(first, second)``: numpy indices such that ``a[first]`` (a view) and then, unless
    ``second`` is None, ``[second]`` give PyTorch's result. Raises PyTorch's IndexError
    (naming the index and the size) for out-of-range integers and indices, bad mask shapes,
    bad types; ValueError for a slice step that is not positive."""
    if type(index) is int:
        _check_int(index, 0, shape)
        return index, None
    if type(index) is slice:
        _check_slice(index)
        return index, None
    if type(index) is tensor_type() and shape:  # x[idx], the common advanced case
        data = index._data
        if data.ndim and (data.dtype == np.int64 or data.dtype == np.int32):
            return data, None  # (numpy raises IndexError for out-of-range values itself)
    if type(index) is tuple and len(index) <= len(shape):
        fast = _basic_or_arrays(index, shape)
        if fast is not None:
            return fast, None
    if isinstance(index, tuple):
        items = index
    elif isinstance(index, list) and _sequence_as_tuple(index):
        warnings.warn("Using a non-tuple sequence for multidimensional indexing is deprecated "
                      "and will be changed in pytorch 2.9; use x[tuple(seq)] instead of "
                      "x[seq]. In pytorch 2.9 this will be interpreted as tensor index, "
                      "x[torch.tensor(seq)], which will result either in an error or a "
                      "different result", UserWarning, stacklevel=4)
        items = tuple(index)
    else:
        items = (index,)
    parts = [_index_part(item) for item in items]
    consumed = 0
    for kind, value in parts:
        if kind in ("int", "slice", "array"):
            consumed += 1
        elif kind == "mask":
            consumed += value.ndim
    ndim = len(shape)
    if consumed > ndim:
        if ndim == 0 and parts and parts[0][0] == "int":
            raise IndexError("invalid index of a 0-dim tensor. Use `tensor.item()` in Python "
                             "or `tensor.item<T>()` in C++ to convert a 0-dim tensor to a "
                             "number")
        raise IndexError(f"too many indices for tensor of dimension {ndim}")
    first, second, checks = [], [], []
    dim = 0
    has_int = has_bool = has_array = False
    expanded = False
    for kind, value in parts:
        if kind == "ellipsis":  # (PyTorch lets a second one stand for no dims)
            for _ in range(0 if expanded else ndim - consumed):
                first.append(slice(None))
                second.append(None)
                dim += 1
            expanded = True
        elif kind == "int":
            _check_int(value, dim, shape)
            first.append(value)
            has_int = True
            dim += 1
        elif kind == "slice":
            first.append(value)
            second.append(None)
            dim += 1
        elif kind == "none":
            first.append(None)
            second.append(None)
        elif kind == "bool":
            first.append(None)
            second.append(np.zeros(1 if value else 0, dtype=np.int64))
            has_bool = has_array = True
        elif kind == "array":
            first.append(slice(None))
            second.append(value)
            checks.append((value, dim, shape[dim]))
            has_array = True
            dim += 1
        else:  # a mask over value.ndim dims: the positions of its True elements
            check_mask(value, dim, shape)
            first.extend([slice(None)] * value.ndim)
            second.extend(np.nonzero(value))
            has_array = True
            dim += value.ndim
    if not has_array:
        return tuple(first), None
    arrays = [a for a in second if a is not None]
    if len(arrays) > 1 and any(a.shape != arrays[0].shape for a in arrays):
        try:
            np.broadcast_shapes(*[a.shape for a in arrays])
        except ValueError:
            shapes = ", ".join(str(list(a.shape)) for a in arrays)
            raise IndexError(f"shape mismatch: indexing tensors could not be broadcast "
                             f"together with shapes {shapes}") from None
    for array, dim, n in checks:
        check_array_bounds(array, dim, n)
    rest = tuple(slice(None) if a is None else a for a in second)
    if not has_int and not has_bool:
        merged = tuple(a if isinstance(a, np.ndarray) else f for f, a in zip(first, rest))
        return merged, None
    view = tuple(first)
    return (view if any(not (isinstance(f, slice) and f == slice(None)) for f in view)
            else ()), rest


def _basic_or_arrays(index, shape):
    """The numpy index for the common tuples, checked: ints and slices (x[i, j], x[:, j]: a
    view), or slices and integer index tensors of one shape (x[rows, cols], x[:, idx]: numpy
    then indexes exactly as PyTorch does). None for anything else (the general path)."""
    Tensor = tensor_type()
    has_int = has_array = False
    array_shape = None
    parts = list(index)
    for dim, part in enumerate(index):
        kind = type(part)
        if kind is int:
            _check_int(part, dim, shape)
            has_int = True
        elif kind is slice:
            _check_slice(part)
        elif kind is Tensor:
            data = part._data
            if not data.ndim or (data.dtype != np.int64 and data.dtype != np.int32):
                return None
            if array_shape is not None and data.shape != array_shape:
                return None
            check_array_bounds(data, dim, shape[dim])
            parts[dim] = data
            array_shape = data.shape
            has_array = True
        else:
            return None
    if has_int and has_array:
        return None  # ints beside index tensors: PyTorch's order differs (the general path)
    return index if not has_array else tuple(parts)


def _sequence_as_tuple(seq):
    """PyTorch (as numpy once did) reads a list holding sequences, slices, Ellipsis, None or
    tensors as a tuple of indices; a list of 32 or more elements is always an index tensor."""
    if len(seq) >= 32:
        return False
    Tensor = tensor_type()
    return any(isinstance(item, (list, tuple, slice, Tensor, np.ndarray)) or item is None
               or item is Ellipsis for item in seq)


def _index_part(item):
    """One element of an index as (kind, value)."""
    Tensor = tensor_type()
    if item is None:
        return "none", None
    if item is Ellipsis:
        return "ellipsis", None
    if isinstance(item, (bool, np.bool_)):
        return "bool", bool(item)
    if isinstance(item, (int, np.integer)):
        return "int", int(item)
    if isinstance(item, slice):
        _check_slice(item)
        return "slice", item
    if isinstance(item, Tensor):
        item = item._data
    elif isinstance(item, (list, tuple)):
        item = np.array(item)
        if item.size == 0 and item.dtype.kind == "f":
            item = item.astype(np.int64)
    elif isinstance(item, str):
        raise TypeError(f"new(): invalid data type '{type(item).__name__}'")
    elif not isinstance(item, np.ndarray):
        raise IndexError(_INDEX_TYPE_ERROR.format(type(item).__name__))
    kind = item.dtype.kind
    if kind == "b" or item.dtype == np.uint8:
        if kind != "b":
            warnings.warn("indexing with dtype torch.uint8 is now deprecated, please use a "
                          "dtype torch.bool instead.", UserWarning, stacklevel=5)
            item = item.astype(bool)
        return ("bool", bool(item)) if item.ndim == 0 else ("mask", item)
    if item.dtype not in (np.int64, np.int32):
        raise IndexError(_INDEX_DTYPE_ERROR)
    if item.ndim == 0:
        return "int", int(item)
    return "array", item


def _check_slice(s):
    if s.step is not None:
        step = s.step.__index__() if not isinstance(s.step, int) else s.step
        if step == 0:
            raise ValueError("slice step cannot be zero")
        if step < 0:
            raise ValueError("step must be greater than zero")


def _check_int(i, dim, shape):
    if dim >= len(shape):
        if not shape:
            raise IndexError("invalid index of a 0-dim tensor. Use `tensor.item()` in Python "
                             "or `tensor.item<T>()` in C++ to convert a 0-dim tensor to a "
                             "number")
        raise IndexError(f"too many indices for tensor of dimension {len(shape)}")
    n = shape[dim]
    if not -n <= i < n:
        raise IndexError(f"index {i} is out of bounds for dimension {dim} with size {n}")


def check_array_bounds(array, dim, n):
    """IndexError naming the first out-of-range value of an index array for a dim of size n
    (negative values count from the end, down to -n)."""
    if array.size == 0:
        return
    low, high = K.index_range(array)  # one compiled pass
    if low < -n or high >= n:
        bad = low if low < -n else high
        raise IndexError(f"index {bad} is out of bounds for dimension {dim} with size {n}")


def check_mask(mask, dim, shape):
    """IndexError unless a mask matches the indexed shape from ``dim`` on."""
    for j, m in enumerate(mask.shape):
        if dim + j >= len(shape) or shape[dim + j] != m:
            raise IndexError(f"The shape of the mask {list(mask.shape)} at index {j} does not "
                             f"match the shape of the indexed tensor {list(shape)} at index "
                             f"{dim + j}")
