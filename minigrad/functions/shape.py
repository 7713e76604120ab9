"""Shape and layout: views, joins, splits, repeats, flips, triangles and diagonals.

Views share the input's memory exactly where PyTorch's do (``select``, ``narrow``, ``split``,
``chunk``, ``unbind``, ``unfold``, ``diagonal``, ``movedim``, ``broadcast_to``, ``meshgrid``,
``atleast_*d``...): they go through ``tensor._view`` (or ``Split``), so an in-place change
through a view is recorded on its base. Copies (``repeat``, ``flip``, ``roll``, ``tril``...)
are ops of their own in ``minigrad/ops/shape.py``.
"""
import numbers
import warnings

import numpy as np

from .. import ops
from ..errors import ShapeError
from ..ops import shape as S
from ..tensor import (
    Size,
    Tensor,
    _axis,
    _view,
    _wrap,
)
from ..tensor import cat as _cat
from ..tensor import stack as _stack
from ._common import method_form
from .creation import with_out

__all__ = ["adjoint", "atleast_1d", "atleast_2d", "atleast_3d", "broadcast_shapes", "broadcast_tensors",
           "broadcast_to", "cat", "chunk", "column_stack", "concat", "concatenate", "diag",
           "diag_embed", "diagonal", "dsplit", "dstack", "flatten", "flip", "fliplr", "flipud",
           "hsplit", "hstack", "meshgrid", "moveaxis", "movedim", "narrow", "narrow_copy",
           "permute", "ravel", "repeat_interleave", "reshape", "roll", "rot90", "row_stack",
           "select", "split", "squeeze", "stack", "swapaxes", "swapdims", "t", "tensor_split",
           "tile", "trace", "transpose", "tril", "triu", "unbind", "unflatten", "unsqueeze",
           "vsplit", "vstack"]
METHODS = ["adjoint", "broadcast_to", "chunk", "diag", "diag_embed", "diagonal", "dsplit",
           "flip", "fliplr", "flipud", "hsplit", "moveaxis", "movedim", "narrow", "narrow_copy",
           "ravel", "repeat", "repeat_interleave", "roll", "rot90", "select", "split",
           "swapaxes", "swapdims", "tensor_split", "tile", "trace", "tril", "tril_", "triu",
           "triu_", "unbind", "unflatten", "unfold", "vsplit"]

reshape = method_form("reshape")
flatten = method_form("flatten")
transpose = method_form("transpose")
permute = method_form("permute")
unsqueeze = method_form("unsqueeze")
squeeze = method_form("squeeze")
t = method_form("t")


def _tensor_arg(value, name):
    if not isinstance(value, Tensor):
        raise TypeError(f"{name}(): argument 'input' must be Tensor, not {type(value).__name__}")
    return value


def _int_list(value, name):
    """An int or a sequence of ints (a Size, a tuple, a list) as a tuple of ints."""
    if isinstance(value, numbers.Integral):
        return (int(value),)
    if isinstance(value, Tensor):
        return tuple(int(v) for v in value._data.reshape(-1))
    try:
        return tuple(int(v.__index__()) for v in value)
    except (TypeError, AttributeError):
        raise TypeError(f"{name}(): expected a tuple of ints, got {value!r}") from None


def _dims_list(dims, ndim, name):
    """Distinct dims (an int or a sequence) as non-negative axes, PyTorch's errors otherwise."""
    axes = tuple(_axis(d, ndim) for d in _int_list(dims, name))
    for i, a in enumerate(axes):
        if a in axes[:i]:
            raise RuntimeError(f"dim {a} appears multiple times in the list of dims")
    return axes


# =============================================================================================
# Joining
# =============================================================================================


@with_out(joins=True)
def cat(tensors, dim=0, *, out=None):
    """Join tensors along an existing dimension (``torch.cat``). As in PyTorch, 1-D empty
    tensors are skipped beside tensors of other ranks, and 0-d tensors are refused."""
    if isinstance(tensors, Tensor):
        raise TypeError("cat(): argument 'tensors' (position 1) must be tuple of Tensors, not "
                        "Tensor")
    tensors = list(tensors)
    if not tensors:
        raise ValueError("torch.cat(): expected a non-empty list of Tensors")
    for i, x in enumerate(tensors):
        if isinstance(x, Tensor) and x._data.ndim == 0:
            raise RuntimeError(f"zero-dimensional tensor (at position {i}) cannot be "
                               f"concatenated")
    kept = [x for x in tensors if not (isinstance(x, Tensor) and x._data.shape == (0,))]
    if kept and len(kept) < len(tensors) and any(
            isinstance(x, Tensor) and x._data.ndim != 1 for x in kept):
        tensors = kept  # legacy: 1-D empty tensors join anything
    return _cat(tensors, dim)


concat = cat
concatenate = cat


@with_out(joins=True)
def stack(tensors, dim=0, *, out=None):
    """Join same-shape tensors along a new dimension (``torch.stack``)."""
    if isinstance(tensors, Tensor):
        raise TypeError("stack(): argument 'tensors' (position 1) must be tuple of Tensors, "
                        "not Tensor")
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("stack expects a non-empty TensorList")
    return _stack(tensors, dim)


def _sequence(tensors, name):
    if isinstance(tensors, Tensor):
        raise TypeError(f"{name}(): argument 'tensors' (position 1) must be tuple of Tensors, "
                        f"not Tensor")
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError(f"{name} expects a non-empty TensorList")
    return tensors


def _atleast(tensors, ndim, name):
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        return tuple(_atleast_one(x, ndim, name) for x in tensors[0])
    if len(tensors) == 1:
        return _atleast_one(tensors[0], ndim, name)
    return tuple(_atleast_one(x, ndim, name) for x in tensors)


def _atleast_one(x, ndim, name):
    x = _tensor_arg(x, name)
    shape = x._data.shape
    if len(shape) >= ndim:
        return x  # PyTorch returns the input itself
    if ndim == 3:
        new = {0: (1, 1, 1), 1: (1,) + shape + (1,), 2: shape + (1,)}[len(shape)]
    else:
        new = (1,) * (ndim - len(shape)) + shape
    return _view(x, ops.Reshape, "reshape", new)


def atleast_1d(*tensors):
    """Each input with at least 1 dimension (0-d becomes (1,)); one tensor in, one out."""
    return _atleast(tensors, 1, "atleast_1d")


def atleast_2d(*tensors):
    """Each input with at least 2 dimensions ((n,) becomes (1, n))."""
    return _atleast(tensors, 2, "atleast_2d")


def atleast_3d(*tensors):
    """Each input with at least 3 dimensions ((n,) becomes (1, n, 1), (m, n) becomes
    (m, n, 1))."""
    return _atleast(tensors, 3, "atleast_3d")


@with_out(joins=True)
def hstack(tensors, *, out=None):
    """Join along dimension 1 (dimension 0 when every input is 1-D)."""
    tensors = [_atleast_one(x, 1, "hstack") for x in _sequence(tensors, "hstack")]
    return cat(tensors, 0 if all(x._data.ndim == 1 for x in tensors) else 1)


@with_out(joins=True)
def vstack(tensors, *, out=None):
    """Join along dimension 0 after making every input at least 2-D."""
    return cat([_atleast_one(x, 2, "vstack") for x in _sequence(tensors, "vstack")], 0)


row_stack = vstack


@with_out(joins=True)
def dstack(tensors, *, out=None):
    """Join along dimension 2 after making every input at least 3-D."""
    return cat([_atleast_one(x, 3, "dstack") for x in _sequence(tensors, "dstack")], 2)


@with_out(joins=True)
def column_stack(tensors, *, out=None):
    """Join along dimension 1, 0-d and 1-D inputs first made columns (n, 1)."""
    columns = []
    for x in _sequence(tensors, "column_stack"):
        x = _tensor_arg(x, "column_stack")
        if x._data.ndim <= 1:
            x = _view(x, ops.Reshape, "reshape", (x._data.size, 1))
        columns.append(x)
    return cat(columns, 1)


# =============================================================================================
# Splitting and selecting (views)
# =============================================================================================


def _split_at(x, axis, bounds, squeeze=False):
    """The slices of x along ``axis`` between ``bounds``, each a view of x."""
    outputs = S.Split.apply_split(x, axis, bounds, squeeze)
    view = getattr(x, "_view_of", None)
    for out, index in zip(outputs, _split_indices(x._data.shape, axis, bounds, squeeze)):
        # kind "split": a view that one multi-output op made (PyTorch refuses in-place
        # changes through those; tensor._view_positions reads it as "index")
        out._view_of = (x, (("split", index),)) if view is None else \
            (view[0], view[1] + (("split", index),))
        if getattr(x, "_untracked", False):
            out._untracked = True
    return outputs


def _split_indices(shape, axis, bounds, squeeze):
    edges = (0,) + tuple(bounds) + (shape[axis],)
    lead = (slice(None),) * axis
    return [lead + ((lo, Ellipsis) if squeeze else (slice(lo, hi),))
            for lo, hi in zip(edges[:-1], edges[1:])]


def split(tensor, split_size_or_sections=None, dim=0, *, split_size=None):
    """Views of consecutive pieces along ``dim``: pieces of ``split_size_or_sections``
    elements (an int; the last piece may be smaller), or of the given sizes (a sequence that
    sums to the dimension's size)."""
    if split_size is not None:
        split_size_or_sections = split_size
    x = _tensor_arg(tensor, "split")
    if x._data.ndim == 0:
        raise RuntimeError("split expects at least a 1-dimensional tensor")
    axis = _axis(dim, x._data.ndim)
    size = x._data.shape[axis]
    if isinstance(split_size_or_sections, (numbers.Integral, Tensor)) and not (
            isinstance(split_size_or_sections, Tensor) and split_size_or_sections._data.ndim):
        step = int(split_size_or_sections)
        if step < 0:
            raise RuntimeError(f"split expects split_size be non-negative, but got "
                               f"split_size={step}")
        if step == 0 and size != 0:
            raise RuntimeError(f"split_size can only be 0 if dimension size is 0, but got "
                               f"dimension size of {size}")
        count = max((size + step - 1) // step, 1) if step else 1
        bounds = [min(step * k, size) for k in range(1, count)]
        return _split_at(x, axis, bounds)
    sizes = _int_list(split_size_or_sections, "split")
    if any(n < 0 for n in sizes):
        raise RuntimeError(f"split_with_sizes expects split_sizes have only non-negative "
                           f"entries, but got split_sizes={list(sizes)}")
    if sum(sizes) != size:
        raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {size} "
                           f"(input tensor's size at dimension {axis}), but got "
                           f"split_sizes={list(sizes)}")
    return _split_at(x, axis, np.cumsum(sizes)[:-1].tolist())


def chunk(input, chunks, dim=0):
    """Split into ``chunks`` views of ceil(size / chunks) elements (fewer pieces when the
    size runs out first)."""
    x = _tensor_arg(input, "chunk")
    if x._data.ndim == 0:
        raise RuntimeError("chunk expects at least a 1-dimensional tensor")
    chunks = int(chunks)
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    axis = _axis(dim, x._data.ndim)
    size = x._data.shape[axis]
    step = (size + chunks - 1) // chunks
    if step == 0 and size == 0:
        return _split_at(x, axis, [0] * (chunks - 1))
    return split(x, step, axis)


def tensor_split(input, indices_or_sections=None, dim=0, *, sections=None, indices=None,
                 tensor_indices_or_sections=None):
    """Views of x along ``dim``: ``n`` sections as equal as possible (the first size % n one
    element longer), or pieces cut at the given indices (as Python slices: clipped, and empty
    where an index is past the next)."""
    x = _tensor_arg(input, "tensor_split")
    spec = next(v for v in (indices_or_sections, sections, indices, tensor_indices_or_sections,
                            0) if v is not None)
    if x._data.ndim == 0:
        raise RuntimeError("tensor_split expected at least a 1-dimensional tensor, but got a "
                           "tensor with 0 dims")
    axis = _axis(dim, x._data.ndim)
    size = x._data.shape[axis]
    if isinstance(spec, Tensor):
        if spec._data.dtype.kind not in "iu":
            raise RuntimeError(f"tensor_split expected tensor_indices_or_sections to have "
                               f"integer dtype, but got {spec.dtype}")
        if spec._data.ndim > 1:
            raise RuntimeError(f"tensor_split expected tensor_indices_or_sections to be a "
                               f"zero-dimensional or one-dimensional tensor, but got a tensor "
                               f"with {spec._data.ndim} dims")
        spec = int(spec._data) if spec._data.ndim == 0 else spec._data.tolist()
    if isinstance(spec, numbers.Integral):
        n = int(spec)
        if n <= 0:
            raise RuntimeError(f"number of sections must be larger than 0, got {n}")
        base, extra = divmod(size, n)
        bounds, at = [], 0
        for k in range(n - 1):
            at += base + (1 if k < extra else 0)
            bounds.append(at)
        return _split_at(x, axis, bounds)
    cuts = [int(i) for i in _int_list(spec, "tensor_split")]
    lead = (slice(None),) * axis
    pieces = []
    edges = [0] + cuts + [size]
    for lo, hi in zip(edges[:-1], edges[1:]):
        lo = slice(lo, hi).indices(size)
        index = lead + (slice(lo[0], max(lo[1], lo[0])),)
        pieces.append(_view(x, ops.Index, "index", index))
    return tuple(pieces)


def _directional_split(input, indices_or_sections, dim, name, min_ndim):
    x = _tensor_arg(input, name)
    if x._data.ndim < min_ndim:
        raise RuntimeError(f"torch.{name} requires a tensor with at least {min_ndim} dimension,"
                           f" but got a tensor with {x._data.ndim} dimensions!")
    if isinstance(indices_or_sections, numbers.Integral):
        size = x._data.shape[dim]
        n = int(indices_or_sections)
        if n == 0 or size % n:
            raise RuntimeError(f"torch.{name} attempted to split along dimension {dim}, but "
                               f"the size of the dimension {size} is not divisible by the "
                               f"split_size {n}!")
    return tensor_split(x, indices_or_sections, dim)


def hsplit(input, indices_or_sections):
    """tensor_split along dimension 1 (dimension 0 of a 1-D tensor); sections must divide."""
    x = _tensor_arg(input, "hsplit")
    return _directional_split(x, indices_or_sections, 1 if x._data.ndim > 1 else 0, "hsplit", 1)


def vsplit(input, indices_or_sections):
    """tensor_split along dimension 0 of an at least 2-D tensor; sections must divide."""
    return _directional_split(input, indices_or_sections, 0, "vsplit", 2)


def dsplit(input, indices_or_sections):
    """tensor_split along dimension 2 of an at least 3-D tensor; sections must divide."""
    return _directional_split(input, indices_or_sections, 2, "dsplit", 3)


def unbind(input, dim=0):
    """The slices along ``dim`` with that dimension removed (views)."""
    x = _tensor_arg(input, "unbind")
    if x._data.ndim == 0:
        raise IndexError("Dimension specified as 0 but tensor has no dimensions")
    axis = _axis(dim, x._data.ndim)
    size = x._data.shape[axis]
    if size == 0:
        return ()
    return _split_at(x, axis, list(range(1, size)), squeeze=True)


def select(input, dim, index):
    """The slice at ``index`` along ``dim``, that dimension removed (a view)."""
    x = _tensor_arg(input, "select")
    if x._data.ndim == 0:
        raise IndexError("select() cannot be applied to a 0-dim tensor.")
    axis = _axis(dim, x._data.ndim)
    size = x._data.shape[axis]
    i = int(index)
    if not -size <= i < size:
        raise IndexError(f"select(): index {i} out of range for tensor of size "
                         f"{list(x._data.shape)} at dimension {axis}")
    # (the Ellipsis keeps a 0-d result a numpy view instead of a scalar copy)
    return _view(x, ops.Index, "index", (slice(None),) * axis + (i % size, Ellipsis))


def narrow(input, dim, start, length):
    """``length`` elements from ``start`` along ``dim`` (a view); start may be negative."""
    x = _tensor_arg(input, "narrow")
    if x._data.ndim == 0:
        raise RuntimeError("narrow() cannot be applied to a 0-dim tensor.")
    axis = _axis(dim, x._data.ndim)
    size = x._data.shape[axis]
    start, length = int(start), int(length)
    if length < 0:
        raise RuntimeError("narrow(): length must be non-negative.")
    if not -size <= start <= size:
        raise IndexError(f"start out of range (expected to be in range of [{-size}, {size}], "
                         f"but got {start})")
    if start < 0:
        start += size
    if start + length > size:
        raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size "
                           f"({size}).")
    return _view(x, ops.Index, "index", (slice(None),) * axis + (slice(start, start + length),))


def narrow_copy(input, dim, start, length):
    """``narrow``, copied."""
    return narrow(input, dim, start, length).clone()


def unfold(self, dimension, size, step):
    """The windows of ``size`` elements every ``step`` along ``dimension``, as a view:
    ``dimension`` becomes the window count and a new last dimension runs along each window."""
    data = self._data
    nd = data.ndim
    axis = _axis(dimension, nd)
    size, step = int(size), int(step)
    length = data.shape[axis] if nd else 1
    if size > length:
        raise RuntimeError(f"maximum size for tensor at dimension {axis} is {length} but size "
                           f"is {size}")
    if size < 0:
        raise RuntimeError(f"size is {size} but must be >= 0")
    if step <= 0:
        raise RuntimeError(f"step is {step} but must be > 0")
    if nd == 0:  # a 0-d tensor is one window of its one element
        flat = _view(self, ops.Reshape, "reshape", (1,))
        return flat if size == 1 else _view(flat, ops.Index, "index", (slice(0, 0),))
    return _view(self, S.Unfold, "unfold", (axis, size, step))


def unflatten(input, dim, sizes):
    """Dimension ``dim`` split into ``sizes`` (one may be -1), as a view."""
    x = _tensor_arg(input, "unflatten")
    nd = x._data.ndim
    axis = _axis(dim, nd)
    sizes = _int_list(sizes, "unflatten")
    if not sizes:
        raise RuntimeError("unflatten: sizes must be non-empty")
    shape = x._data.shape
    n = shape[axis] if nd else 1
    known = 1
    for s in sizes:
        if s != -1:
            known *= s
    inferred = [i for i, s in enumerate(sizes) if s == -1]
    ok = (len(inferred) <= 1 and all(s >= -1 for s in sizes) and
          (known == n if not inferred else (known != 0 and n % known == 0)))
    if not ok:
        if len(inferred) > 1:
            raise RuntimeError("only one dimension can be inferred")
        raise RuntimeError(f"unflatten: Provided sizes {list(sizes)} don't multiply up to the "
                           f"size of dim {dim} ({n}) in the input tensor")
    if inferred:
        sizes = tuple(n // known if s == -1 else s for s in sizes)
    return x.view(shape[:axis] + sizes + shape[axis + 1:])


def movedim(input, source, destination):
    """The dimensions ``source`` moved to positions ``destination`` (ints or sequences), the
    others keeping their order (a view)."""
    x = _tensor_arg(input, "movedim")
    nd = x._data.ndim
    if isinstance(source, numbers.Integral) != isinstance(destination, numbers.Integral):
        raise TypeError(f"movedim() received an invalid combination of arguments - got "
                        f"({type(source).__name__}, {type(destination).__name__}): source and "
                        f"destination must both be ints or both be tuples of ints")
    src, dst = _int_list(source, "movedim"), _int_list(destination, "movedim")
    if len(src) != len(dst):
        raise RuntimeError(f"movedim: Invalid source or destination dims: source ({list(src)} "
                           f"dims) should contain the same number of dims as destination "
                           f"({list(dst)} dims)")
    src = tuple(_axis(d, nd) for d in src)
    dst = tuple(_axis(d, nd) for d in dst)
    if len(set(src)) != len(src):
        raise RuntimeError(f"movedim: repeated dim in `source` ({list(src)})")
    if len(set(dst)) != len(dst):
        raise RuntimeError(f"movedim: repeated dim in `destination` ({list(dst)})")
    order = [None] * nd
    for s, d in zip(src, dst):
        order[d] = s
    rest = iter(d for d in range(nd) if d not in src)
    order = tuple(o if o is not None else next(rest) for o in order)
    return _view(x, ops.Permute, "permute", order)


moveaxis = movedim


def swapaxes(input, axis0, axis1):
    """NumPy's name for ``transpose(input, axis0, axis1)``: the two dimensions swapped (a
    view)."""
    return input.transpose(axis0, axis1)


def swapdims(input, dim0, dim1):
    """Another name for ``transpose(input, dim0, dim1)``: the two dimensions swapped (a
    view)."""
    return input.transpose(dim0, dim1)


def adjoint(self):
    """The last two dimensions swapped (the conjugate is the tensor itself: real dtypes)."""
    if self._data.ndim < 2:
        raise RuntimeError("tensor.adjoint() is only supported on matrices or batches of "
                           "matrices. Got 1-D tensor.")
    return self.transpose(-2, -1)


def ravel(input):
    """The elements as a 1-D tensor (a view when possible)."""
    return input.reshape(-1)


# =============================================================================================
# Broadcasting
# =============================================================================================


def broadcast_shapes(*shapes):
    """The shape that tensors of ``shapes`` broadcast to (ints count as 1-D shapes)."""
    dims = [(int(s),) if isinstance(s, numbers.Integral) else tuple(int(n) for n in s)
            for s in shapes]
    ndim = max((len(d) for d in dims), default=0)
    result = [1] * ndim
    for d in dims:
        for i, n in enumerate(d):
            if n < 0:
                raise RuntimeError(f"Trying to create tensor with negative dimension {n}: "
                                   f"{list(d)}")
    for k, d in enumerate(dims):
        for i in range(1, len(d) + 1):
            n, have = d[-i], result[-i]
            if n == have or n == 1:
                continue
            if have == 1:
                result[-i] = n
                continue
            raise RuntimeError(f"Attempting to broadcast a dimension of length {n} at {-i}! "
                               f"Mismatching argument at index {k} had {tuple(d)}; but "
                               f"expected shape should be broadcastable to {result}")
    return Size(result)


def broadcast_to(input, size):
    """x expanded to ``size`` (a view; -1 keeps a dimension)."""
    return _tensor_arg(input, "broadcast_to").expand(size)


def broadcast_tensors(*tensors):
    """The inputs expanded to their common broadcast shape (views)."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    for x in tensors:
        _tensor_arg(x, "broadcast_tensors")
    shapes = [x._data.shape for x in tensors]
    try:
        shape = tuple(np.broadcast_shapes(*shapes))
    except ValueError:
        raise ShapeError(f"shape mismatch: objects cannot be broadcast to a single shape: "
                         f"{', '.join(str(list(s)) for s in shapes)}") from None
    return tuple(x.expand(shape) for x in tensors)


def meshgrid(*tensors, indexing=None):
    """Coordinate grids of 1-D (or 0-d) tensors: output k holds input k along dimension k
    ('ij', the default) or with the first two dimensions swapped ('xy'); each is an expanded
    view of its input."""
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        tensors = tuple(tensors[0])
    if indexing is None:
        warnings.warn("torch.meshgrid: in an upcoming release, it will be required to pass the "
                      "indexing argument.", UserWarning, stacklevel=2)
        indexing = "ij"
    if indexing not in ("ij", "xy"):
        raise RuntimeError(f'torch.meshgrid: indexing must be one of "xy" or "ij", but '
                           f"received: {indexing}")
    if not tensors:
        raise RuntimeError("meshgrid expects a non-empty TensorList")
    for x in tensors:
        _tensor_arg(x, "meshgrid")
        if x._data.ndim > 1:
            raise RuntimeError(f"torch.meshgrid: Expected 0D or 1D tensor in the tensor list "
                               f"but got: {x}")
    if len({x._data.dtype for x in tensors}) > 1:
        raise RuntimeError("meshgrid expects all tensors to have the same dtype")
    sizes = [x._data.size for x in tensors]
    swap = indexing == "xy" and len(tensors) >= 2
    if swap:
        sizes[0], sizes[1] = sizes[1], sizes[0]
    outputs = []
    for k, x in enumerate(tensors):
        position = {0: 1, 1: 0}.get(k, k) if swap else k
        shape = [1] * len(tensors)
        shape[position] = x._data.size
        outputs.append(_view(x, ops.Reshape, "reshape", tuple(shape)).expand(tuple(sizes)))
    return tuple(outputs)


# =============================================================================================
# Copies that move elements
# =============================================================================================


def repeat(self, *sizes):
    """x tiled ``sizes`` times along each dimension (x first given leading dimensions of size
    1 up to len(sizes)); a copy."""
    reps = _int_list(sizes[0] if len(sizes) == 1 and not isinstance(sizes[0], numbers.Integral)
                     else sizes, "repeat")
    if len(reps) < self._data.ndim:
        raise RuntimeError("Number of dimensions of repeat dims can not be smaller than number "
                           "of dimensions of tensor")
    shape = (1,) * (len(reps) - self._data.ndim) + self._data.shape
    if any(r < 0 for r in reps):
        raise RuntimeError(f"Trying to create tensor with negative dimension "
                           f"{min(r * n for r, n in zip(reps, shape))}: "
                           f"{[r * n for r, n in zip(reps, shape)]}")
    return S.Repeat.apply(self, reps)


def tile(input, dims):
    """``repeat`` with ``dims`` padded with leading 1s up to x's number of dimensions."""
    x = _tensor_arg(input, "tile")
    reps = _int_list(dims, "tile")
    reps = (1,) * (x._data.ndim - len(reps)) + reps
    return repeat(x, reps)


def repeat_interleave(input, repeats=None, dim=None, *, output_size=None):
    """Each element (or each slice along ``dim``) repeated ``repeats`` times, in place order:
    an int, or a tensor of one count per slice. Without ``dim``, on the flattened input.
    ``repeat_interleave(counts)`` alone gives the indices 0..n-1 repeated by counts."""
    if repeats is None:  # repeat_interleave(repeats): indices repeated
        counts = _tensor_arg(input, "repeat_interleave")
        values = _repeat_counts(counts, None)
        return _wrap(np.repeat(np.arange(values.size, dtype=counts._data.dtype), values))
    x = _tensor_arg(input, "repeat_interleave")
    if dim is None:
        x = x.reshape(-1)
        axis = 0
    else:
        axis = _axis(dim, x._data.ndim)
        if x._data.ndim == 0:
            x = x.reshape(1)
    size = x._data.shape[axis]
    if isinstance(repeats, Tensor):
        counts = _repeat_counts(repeats, size)
        if counts.size == 1:
            counts = int(counts[0])
    else:
        counts = int(repeats)
        if counts < 0:
            raise RuntimeError("repeats can not be negative")
    total = counts * size if isinstance(counts, int) else int(counts.sum())
    if output_size is not None and int(output_size) != total:
        raise RuntimeError(f"allocated size does not match required size (output_size="
                           f"{output_size}, required {total})")
    return S.RepeatInterleave.apply(x, counts, axis)


def _repeat_counts(repeats, size):
    data = repeats._data
    if data.dtype.kind not in "iu":
        raise NotImplementedError(f'"repeat_interleave_cpu" not implemented for '
                                  f"'{repeats.dtype.legacy_name}'")
    if data.ndim > 1:
        raise RuntimeError("repeat_interleave only accept 1D vector as repeat")
    data = data.reshape(-1).astype(np.int64)
    if size is not None and data.size != 1 and data.size != size:
        raise RuntimeError(f"repeats must have the same size as input along dim, but got "
                           f"repeats.size(0) = {data.size} and input.size(0) = {size}")
    if (data < 0).any():
        raise RuntimeError("repeats can not be negative")
    return data


def flip(input, *dims):
    """x reversed along ``dims`` (a copy)."""
    x = _tensor_arg(input, "flip")
    if len(dims) == 1 and not isinstance(dims[0], numbers.Integral):
        dims = dims[0]
    axes = _dims_list(dims, x._data.ndim, "flip")
    if x._data.ndim == 0:
        axes = ()
    return S.Flip.apply(x, axes)


def fliplr(input):
    """x reversed along dimension 1 (at least 2-D)."""
    x = _tensor_arg(input, "fliplr")
    if x._data.ndim < 2:
        raise RuntimeError("Input must be >= 2-d.")
    return S.Flip.apply(x, (1,))


def flipud(input):
    """x reversed along dimension 0 (at least 1-D)."""
    x = _tensor_arg(input, "flipud")
    if x._data.ndim < 1:
        raise RuntimeError("Input must be >= 1-d.")
    return S.Flip.apply(x, (0,))


def roll(input, shifts, dims=None):
    """x rolled by ``shifts`` along ``dims`` (elements leaving one end come back at the
    other); without dims, the flattened x is rolled and reshaped back."""
    x = _tensor_arg(input, "roll")
    shifts = _int_list(shifts, "roll")
    if dims is None:
        if len(shifts) != 1:
            raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, "
                               f"dims:0")
        return S.Roll.apply(x, shifts[0], None)
    if x._data.ndim == 0:  # PyTorch refuses any dim here, even 0 or -1
        raise IndexError(f"Dimension specified as {_int_list(dims, 'roll')[0]} but tensor has "
                         f"no dimensions")
    axes = tuple(_axis(d, x._data.ndim) for d in _int_list(dims, "roll"))
    if len(shifts) != len(axes):
        raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, "
                           f"dims:{len(axes)}")
    if x._data.ndim == 0:
        return ops.Clone.apply(x)
    return S.Roll.apply(x, shifts, axes)


def rot90(input, k=1, dims=(0, 1)):
    """x rotated by k * 90 degrees in the plane of ``dims`` (from the first towards the
    second); a copy."""
    x = _tensor_arg(input, "rot90")
    dims = _int_list(dims, "rot90")
    nd = x._data.ndim
    if len(dims) != 2:
        raise RuntimeError(f"expected total rotation dims == 2, but got dims = {len(dims)}")
    if nd < 2:
        raise RuntimeError(f"expected total dims >= 2, but got total dims = {nd}")
    if dims[0] == dims[1] or (dims[0] - dims[1]) % nd == 0:
        raise RuntimeError(f"expected rotation dims to be different, but got dim0 = {dims[0]} "
                           f"and dim1 = {dims[1]}")
    if not -nd <= dims[0] < nd:
        raise RuntimeError(f"Rotation dim0 out of range, dim0 = {dims[0]}")
    if not -nd <= dims[1] < nd:
        raise RuntimeError(f"Rotation dim1 out of range, dim1 = {dims[1]}")
    d0, d1 = dims[0] % nd, dims[1] % nd
    k = int(k) % 4
    if k == 1:
        return S.Flip.apply(x, (d1,)).transpose(d0, d1)
    if k == 2:
        return S.Flip.apply(x, (d0, d1))
    if k == 3:
        return S.Flip.apply(x, (d0,)).transpose(d0, d1)
    return ops.Clone.apply(x)


# =============================================================================================
# Triangles and diagonals
# =============================================================================================


def _at_least_2d(x, name):
    if x._data.ndim < 2:
        raise RuntimeError(f"{name}: input tensor must have at least 2 dimensions")


@with_out(exact=True)
def tril(input, diagonal=0, *, out=None):
    """x with the elements above diagonal ``diagonal`` of the last two dimensions zeroed."""
    x = _tensor_arg(input, "tril")
    _at_least_2d(x, "tril")
    return S.Tril.apply(x, int(diagonal))


@with_out(exact=True)
def triu(input, diagonal=0, *, out=None):
    """x with the elements below diagonal ``diagonal`` of the last two dimensions zeroed."""
    x = _tensor_arg(input, "triu")
    _at_least_2d(x, "triu")
    return S.Triu.apply(x, int(diagonal))


def tril_(self, diagonal=0):
    """In place: the elements above diagonal ``diagonal`` of the last two dimensions set to 0;
    ``d/dx = 1`` on the kept elements, 0 elsewhere."""
    _at_least_2d(self, "tril")
    return self._inplace(lambda x: S.Tril.apply(x, int(diagonal)))


def triu_(self, diagonal=0):
    """In place: the elements below diagonal ``diagonal`` of the last two dimensions set to 0;
    ``d/dx = 1`` on the kept elements, 0 elsewhere."""
    _at_least_2d(self, "triu")
    return self._inplace(lambda x: S.Triu.apply(x, int(diagonal)))


def diagonal(input, offset=0, dim1=0, dim2=1):
    """The ``offset`` diagonal of the (dim1, dim2) planes as a new last dimension (a view)."""
    x = _tensor_arg(input, "diagonal")
    nd = x._data.ndim
    a, b = _axis(dim1, nd), _axis(dim2, nd)
    if a == b:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    if nd < 2:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-max(nd, 1)}, "
                         f"{max(nd, 1) - 1}], but got {dim2})")
    return _view(x, S.Diagonal, "diagonal", (int(offset), a, b))


def diag_embed(input, offset=0, dim1=-2, dim2=-1):
    """A tensor whose (dim1, dim2) planes have x's last dimension on diagonal ``offset`` and
    zeros elsewhere (one more dimension than x)."""
    x = _tensor_arg(input, "diag_embed")
    nd = x._data.ndim + 1
    a, b = _axis(dim1, nd), _axis(dim2, nd)
    if a == b:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    offset = int(offset)
    data = x._data if x._data.ndim else x._data.reshape(1)
    n = data.shape[-1] + abs(offset)
    rest = list(data.shape[:-1])
    shape = []
    for axis in range(nd):
        shape.append(n if axis in (a, b) else rest.pop(0))
    source = x if x._data.ndim else x.reshape(1)
    return S.DiagonalScatter.apply(source, tuple(shape), offset, a, b)


@with_out(exact=True)
def diag(input, diagonal=0, *, out=None):
    """A 1-D x placed on diagonal ``diagonal`` of a square matrix, or a copy of that diagonal
    of a 2-D x."""
    x = _tensor_arg(input, "diag")
    nd = x._data.ndim
    if nd == 1:
        n = x._data.shape[0] + abs(int(diagonal))
        return S.DiagonalScatter.apply(x, (n, n), int(diagonal), 0, 1)
    if nd == 2:
        return ops.Clone.apply(S.Diagonal.apply(x, (int(diagonal), 0, 1)))
    raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {nd}D")


def trace(input):
    """The sum of the main diagonal of a matrix (int64 for integer inputs)."""
    x = _tensor_arg(input, "trace")
    if x._data.ndim != 2:
        raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {x._data.ndim}")
    if x._data.dtype.kind != "f":  # integers are summed in int64, as PyTorch does
        return _wrap(np.asarray(np.trace(x._data, dtype=np.int64)))
    return S.Diagonal.apply(x, (0, 0, 1)).sum()
