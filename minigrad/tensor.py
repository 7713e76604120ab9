"""The user-facing Tensor: creation, operators, and the ops built from the primitives.

A Tensor holds a numpy array (``._data``; ``.numpy()`` returns it), and, when it takes part in a recorded graph, the node
that made it (``grad_fn``). The primitive ops live in ``ops.py``; here they get PyTorch's
spelling (``a + b``, ``t.sum(dim=1)``, ``t.view(-1)``), PyTorch's type promotion, and argument
checking that names the shapes at fault. Derived ops (``mean``, ``squeeze``, ``softmax``-free
``min``...) are compositions of primitives and need no backward of their own.
"""
import math
import numbers
import warnings
import weakref
from collections import OrderedDict

import numpy as np

from . import dtypes as _dt
from . import ops
from ._kernels import arraymath as _kernels_arraymath
from ._kernels import kernels as K
from .autograd import engine as _engine
from .autograd import graph as _graph
from .autograd.grad_mode import no_grad as _no_grad
from .autograd.grad_mode import state as _grad_state
from .errors import ShapeError

_FLOAT32 = np.dtype(np.float32)
_INT64 = np.dtype(np.int64)
_NON_LEAF_GRAD_WARNING = (
    "The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. Its .grad "
    "attribute won't be populated during autograd.backward(). If you indeed want the .grad "
    "field to be populated for a non-leaf Tensor, use .retain_grad() on the non-leaf Tensor. "
    "If you access the non-leaf Tensor by mistake, make sure you access the leaf Tensor "
    "instead.")
_LEGACY_TYPE_NAMES = {"float32": "Float", "float64": "Double", "float16": "Half",
                      "int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char",
                      "uint8": "Byte", "bool": "Bool"}


def _binary_operator(fn):
    """The method for a binary operator (``Tensor.__add__`` for ``ops.Add``...).

    The case that every + - * / of a training step takes, a float tensor with a float tensor of
    the same dtype or with a Python number, needs no promotion: it calls the op directly (one
    Python call less than going through ``_binary``, on the hottest path of the engine).
    """
    apply = fn.apply

    def operator(self, other):
        data = self._data
        if data.dtype.kind == "f":
            kind = type(other)
            if kind is float or kind is int or (
                    isinstance(other, Tensor) and other._data.dtype is data.dtype):
                try:
                    return apply(self, other)
                except ValueError:
                    pass  # _binary runs it again and names the shapes at fault
        return _binary(fn, self, other)

    return operator


class Tensor:
    """An n-dimensional array that records the operations applied to it for autograd.

    Internals: ``_data`` is the numpy array (``numpy()`` returns it); ``_grad_fn`` the op that
    made the tensor (None for a leaf); ``_grad`` the accumulated gradient (a Tensor). Three
    optional slots: ``_hooks`` (hooks of a leaf), ``_view_of`` (for a view: its base and how to
    take it again, so that an in-place change through the view can be recorded on the base),
    ``_untracked`` (``.data`` aliases, whose in-place changes autograd does not see, as in
    PyTorch). They may be unset (read them with ``getattr`` and a default), but the common
    constructors (``Tensor()``, ``_wrap``, ``Op.apply``) set all three: a read of an unset slot
    costs several times a store.
    """

    __slots__ = ("__weakref__", "_data", "_grad", "_grad_fn", "_hooks", "_requires_grad",
                 "_retains_grad", "_untracked", "_view_of")
    __array_ufunc__ = None  # numpy defers to our reflected operators: ndarray + Tensor -> Tensor
    _edge_kind = _graph.EDGE_LEAF  # as the end of a graph edge (autograd/engine.py)
    __hash__ = object.__hash__  # tensors are dict keys by identity (optimizer state), as in torch

    def __init__(self, *args, dtype=None, requires_grad=False):
        """``Tensor(data)`` like ``mg.tensor(data, dtype=float32)``; ``Tensor(2, 3)`` zeros."""
        if len(args) == 1 and not isinstance(args[0], numbers.Integral):
            data = _to_array(args[0], dtype if dtype is not None else _dt.float32)
        else:
            data = np.zeros(_size(args), dtype=_np_dtype(dtype, _FLOAT32))
        self._data = data
        self._grad = None
        self._grad_fn = None
        self._hooks = None
        self._requires_grad = False
        self._view_of = None  # set, though rarely used: see Op.apply
        self._untracked = False
        if requires_grad:
            self.requires_grad_(True)

    # ----- attributes ---------------------------------------------------------------------

    @property
    def data(self):
        """A Tensor sharing this tensor's storage, outside autograd (``requires_grad=False``):
        ``p.data -= lr * p.grad`` updates ``p`` without recording, and without the version
        check (as in PyTorch). The numpy array itself is ``numpy()``."""
        t = _wrap(self._data)
        t._untracked = True
        return t

    @data.setter
    def data(self, value):
        """``t.data = other``: ``t`` now holds ``other``'s storage (its graph is unchanged)."""
        if not isinstance(value, Tensor):
            raise TypeError(f"data must be a Tensor, not {type(value).__name__}")
        self._data = value._data

    @property
    def requires_grad(self):
        """Whether autograd records operations on this tensor (settable on leaves)."""
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, flag):
        self.requires_grad_(flag)

    def requires_grad_(self, requires_grad=True):
        """Set ``requires_grad`` in place and return this tensor.

        Only floating tensors can require gradients; only leaves can stop requiring them
        (RuntimeError otherwise, as in PyTorch)."""
        if requires_grad and self._data.dtype.kind not in "fc":
            raise RuntimeError(
                f"only Tensors of floating point and complex dtype can require gradients "
                f"(this tensor is {self.dtype})")
        if not requires_grad and self._grad_fn is not None:
            raise RuntimeError(
                "you can only change requires_grad flags of leaf variables. If you want to use "
                "a computed variable in a subgraph that doesn't require differentiation use "
                "var_no_grad = var.detach().")
        self._requires_grad = bool(requires_grad)
        if requires_grad and self._grad_fn is None and getattr(self, "_hooks", None) is None:
            self._hooks = None  # the engine reads a leaf's hooks slot
        return self

    @property
    def grad(self):
        """The gradient accumulated by backward: a Tensor, or None. Only leaves (and tensors
        that called ``retain_grad()``) get one; reading it on another tensor warns, as in
        PyTorch, because it is almost always a mistake."""
        if self._grad_fn is not None and not getattr(self, "_retains_grad", False):
            warnings.warn(_NON_LEAF_GRAD_WARNING, UserWarning, stacklevel=2)
        return self._grad

    @grad.setter
    def grad(self, value):
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(f"assigned grad expected to be a Tensor or None but got grad of "
                                f"type {type(value).__name__}")
            if value._data.shape != self._data.shape:
                raise RuntimeError(f"assigned grad has data of a different size (grad "
                                   f"{list(value._data.shape)}, tensor "
                                   f"{list(self._data.shape)})")
            if value._data.dtype != self._data.dtype and self._data.dtype.kind == "f":
                raise RuntimeError(f"assigned grad has data of a different type (grad "
                                   f"{value.dtype}, tensor {self.dtype})")
        self._grad = value

    @grad.deleter
    def grad(self):
        self._grad = None

    @property
    def grad_fn(self):
        """The op that produced this tensor (its node in the graph), or None for a leaf."""
        fn = self._grad_fn
        return fn[0] if type(fn) is _graph.OutputRef else fn

    @property
    def is_leaf(self):
        """True for a tensor no recorded op produced (user-created, or ``detach()``-ed)."""
        return self._grad_fn is None

    @property
    def retains_grad(self):
        """True for a non-leaf tensor that called ``retain_grad()``."""
        return self._grad_fn is not None and getattr(self, "_retains_grad", False)

    @property
    def output_nr(self):
        """Which output of its ``grad_fn`` this tensor is (0 for single-output ops)."""
        fn = self._grad_fn
        return fn[1] if type(fn) is _graph.OutputRef else 0

    @property
    def _version(self):
        """How many in-place changes this tensor's memory has had (PyTorch's version
        counter, shared with every view of the memory)."""
        return _graph.version(self._data)

    @property
    def _base(self):
        view = getattr(self, "_view_of", None)
        return view[0] if view is not None else None

    def _is_view(self):
        return getattr(self, "_view_of", None) is not None

    @staticmethod
    def _legacy_type_name(np_dtype):
        return "minigrad." + _LEGACY_TYPE_NAMES.get(np.dtype(np_dtype).name, "") + "Tensor"

    @property
    def shape(self):
        """The size of each dimension, a ``minigrad.Size`` (a tuple)."""
        return Size(self._data.shape)

    @property
    def dtype(self):
        """The element type, a ``minigrad.dtype`` (``minigrad.float32`` by default)."""
        return _dt.from_numpy_dtype(self._data.dtype)

    @property
    def ndim(self):
        """The number of dimensions, ``len(shape)``."""
        return self._data.ndim

    @property
    def device(self):
        """Always ``device('cpu')``: minigrad has no other devices."""
        return device("cpu")

    @property
    def is_cuda(self):
        """Always False (CPU only)."""
        return False

    @property
    def T(self):
        """This tensor with its dimensions reversed (a view): shape ``(d0, ..., dn)`` ->
        ``(dn, ..., d0)``; the transpose of a matrix."""
        return self.permute(*reversed(range(self._data.ndim)))

    @property
    def mT(self):
        """The transpose of the last two dimensions (a view): ``(*, m, n)`` -> ``(*, n, m)``."""
        return self.transpose(-2, -1)

    def is_floating_point(self):
        """True if the dtype is a floating type (float16, float32, float64)."""
        return self._data.dtype.kind == "f"

    def is_complex(self):
        """Always False: minigrad has no complex dtypes."""
        return self._data.dtype.kind == "c"

    def size(self, dim=None):
        """The shape (a ``minigrad.Size``), or with ``dim`` the size of that dimension (an int;
        negative dims count from the end)."""
        if dim is None:
            return Size(self._data.shape)
        return self._data.shape[_axis(dim, self._data.ndim)]

    def dim(self):
        """The number of dimensions (``ndim``)."""
        return self._data.ndim

    def numel(self):
        """The number of elements, the product of the shape (1 for a 0-d tensor)."""
        return int(self._data.size)

    nelement = numel

    def element_size(self):
        """Bytes per element (4 for float32)."""
        return self._data.itemsize

    def __len__(self):
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self._data.shape[0]))

    # ----- conversion -----------------------------------------------------------------------

    def numpy(self, force=False):
        """The values as a numpy array (shares memory, like torch; works with requires_grad)."""
        return self._data

    def __array__(self, dtype=None, copy=None):
        if dtype is not None:
            return self._data.astype(dtype)
        return self._data.copy() if copy else self._data

    def __dlpack__(self, *, stream=None, max_version=None, dl_device=None, copy=None):
        """A DLPack capsule on this tensor's memory, for ``torch.from_dlpack(t)``,
        ``np.from_dlpack(t)`` (zero-copy; see minigrad/interop.py)."""
        from .interop import dlpack_capsule

        return dlpack_capsule(self, stream=stream, max_version=max_version,
                              dl_device=dl_device, copy=copy)

    def __dlpack_device__(self):
        return (1, 0)  # (DLDeviceType.kDLCPU, device 0)

    def item(self):
        """The value of a one-element tensor as a Python number (RuntimeError for any other
        number of elements)."""
        if self._data.size != 1:
            raise RuntimeError(
                f"a Tensor with {self._data.size} elements cannot be converted to Scalar")
        return self._data.item()

    def tolist(self):
        """The values as nested Python lists of numbers (a number for a 0-d tensor)."""
        return self._data.tolist()

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __index__(self):
        if self._data.dtype.kind not in "iu" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    def __bool__(self):
        if self._data.size != 1:
            raise RuntimeError(
                f"Boolean value of Tensor with {self._data.size} elements is ambiguous")
        return bool(self._data.item())

    def detach(self):
        """A new leaf sharing this tensor's memory, cut off from the graph (an in-place change
        of either is seen by the other, and by autograd's version check)."""
        return _wrap(self._data)

    def detach_(self):
        """Cut this tensor off from the graph, in place: it becomes a leaf."""
        if getattr(self, "_view_of", None) is not None and self._grad_fn is not None:
            raise RuntimeError("Can't detach views in-place. Use detach() instead.")
        self._grad_fn = None
        self._requires_grad = False
        return self

    def clone(self):
        """A copy with its own memory, recorded by autograd: ``d clone(x)/dx = 1`` (the
        gradient passes through unchanged)."""
        return ops.Clone.apply(self)

    def contiguous(self):
        """This tensor if its memory is C-contiguous, else a contiguous copy (``clone``:
        the gradient passes through)."""
        return self if self._data.flags.c_contiguous else ops.Clone.apply(self)

    def to(self, *args, **kwargs):
        """``to(dtype)``, ``to('cpu')``, ``to(device)``, ``to(other_tensor)``, ``to(device, dtype)``."""
        target = kwargs.pop("dtype", None)
        kwargs.pop("device", None)
        kwargs.pop("non_blocking", None)
        copy = kwargs.pop("copy", False)
        if kwargs:
            raise TypeError(f"to() got unexpected keyword arguments {sorted(kwargs)}")
        for arg in args:
            if isinstance(arg, Tensor):
                target = arg.dtype
            elif isinstance(arg, (str, device)):
                _check_device(arg)
            elif arg is not None:
                target = arg
        result = self if target is None else self._cast(_dt.as_dtype(target))
        return result.clone() if copy and result is self else result

    def _cast(self, dtype):
        if self._data.dtype == dtype.np_dtype:
            return self
        if self._requires_grad and _grad_on() and dtype.is_floating_point:
            return ops.Cast.apply(self, dtype.np_dtype)
        return _wrap(self._data.astype(dtype.np_dtype))

    def type(self, dtype=None, non_blocking=False, **kwargs):
        """``type()``: the legacy type name (``minigrad.FloatTensor``...); ``type(dtype)``:
        this tensor converted (itself if it has that type already). ``dtype`` may be a dtype,
        a legacy type (``mg.FloatTensor``) or its name (``'torch.FloatTensor'``,
        ``'minigrad.FloatTensor'``)."""
        if dtype is None:
            return self._legacy_type_name(self._data.dtype)
        if isinstance(dtype, str):
            dtype = _dtype_of_type_name(dtype)
        return self.to(_dt.as_dtype(dtype))

    def float(self):
        """This tensor as float32 (itself if it is already); differentiable for floating input."""
        return self._cast(_dt.float32)

    def double(self):
        """This tensor as float64 (itself if it is already); differentiable for floating input."""
        return self._cast(_dt.float64)

    def half(self):
        """This tensor as float16 (itself if it is already); differentiable for floating input."""
        return self._cast(_dt.float16)

    def long(self):
        """This tensor as int64 (itself if it is already); not differentiable."""
        return self._cast(_dt.int64)

    def int(self):
        """This tensor as int32 (itself if it is already); not differentiable."""
        return self._cast(_dt.int32)

    def bool(self):
        """This tensor as bool (nonzero is True); not differentiable."""
        return self._cast(_dt.bool_)

    def cpu(self):
        """This tensor itself (it is already on the CPU, minigrad's only device)."""
        return self

    # ----- autograd ---------------------------------------------------------------------------

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        """Add d(self)/d(leaf) into every leaf's ``.grad`` (``torch.Tensor.backward``).

        A one-element output needs no ``gradient``; any other needs one of its own shape (the
        vector of the vector-Jacobian product). Gradients add up across calls. The graph's saved
        values are freed unless ``retain_graph=True``; ``create_graph=True`` records the
        backward itself, so the gradients can be differentiated again; ``inputs`` restricts
        the accumulation to those tensors."""
        if gradient is None and inputs is None and not create_graph and self._grad_fn is not None \
                and self._data.size == 1:
            _engine.backward_scalar(self, retain_graph)  # the common call, spelled out
        else:
            _engine.backward(self, gradient, retain_graph, create_graph, inputs=inputs)

    def register_hook(self, hook):
        """Call ``hook(grad)`` each time the gradient with respect to this tensor is computed;
        a hook may return a new gradient (of the same shape) to use instead. Returns a handle
        whose ``remove()`` takes the hook off."""
        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require "
                               "gradient")
        fn = self._grad_fn
        if fn is None:
            return _leaf_hooks(self).add("tensor", hook)
        node, index = (fn[0], fn[1]) if type(fn) is _graph.OutputRef else (fn, 0)
        return _graph.node_hooks(node).add("tensor", hook, index)

    def register_post_accumulate_grad_hook(self, hook):
        """Call ``hook(tensor)`` after a backward has accumulated into this leaf's ``.grad``."""
        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require "
                               "gradient")
        if self._grad_fn is not None:
            raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf "
                               "tensors")
        return _leaf_hooks(self).add("post_accumulate", hook)

    def retain_grad(self):
        """Keep this non-leaf tensor's gradient in ``.grad`` during backward (a no-op on
        leaves, which always keep theirs)."""
        if not self._requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        fn = self._grad_fn
        if fn is None or getattr(self, "_retains_grad", False):
            return
        node, index = (fn[0], fn[1]) if type(fn) is _graph.OutputRef else (fn, 0)
        _graph.node_hooks(node).retain[index] = weakref.ref(self)
        self._retains_grad = True

    # ----- printing -----------------------------------------------------------------------

    def __repr__(self):
        data = self._data
        extras = []
        if data.size == 0 and data.ndim != 1:
            extras.append(f"size={tuple(data.shape)}")
        if data.dtype not in (_FLOAT32, _INT64, np.dtype(bool)) or data.size == 0 and \
                data.dtype != _FLOAT32:
            extras.append(f"dtype={self.dtype}")
        if self._grad_fn is not None:
            extras.append(f"grad_fn=<{self._grad_fn.name()}>")
        elif self._requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + _format_values(data, extras) + ")"

    def __format__(self, spec):
        if self._data.ndim == 0:
            return format(self._data.item(), spec)
        return repr(self)

    # ----- arithmetic -------------------------------------------------------------------------

    # ``_binary_operator`` (above the class) spells out the common case, two float tensors of
    # one dtype or a float tensor and a Python number, and hands everything else (promotion,
    # numpy operands, shape errors) to ``_binary``.
    __add__ = __radd__ = _binary_operator(ops.Add)  # a + b == b + a
    __mul__ = __rmul__ = _binary_operator(ops.Mul)
    __sub__ = _binary_operator(ops.Sub)
    __truediv__ = _binary_operator(ops.Div)

    def __rsub__(self, other):
        return _binary(ops.Sub, other, self)

    def __rtruediv__(self, other):
        return _binary(ops.Div, other, self)

    def __pow__(self, other):
        return _binary(ops.Pow, self, other)

    def __rpow__(self, other):
        return _binary(ops.Pow, other, self)

    def __neg__(self):
        return ops.Neg.apply(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return self.abs()

    def __matmul__(self, other):
        return matmul(self, other)

    def __rmatmul__(self, other):
        return matmul(other, self)

    add = __add__
    sub = __sub__
    mul = __mul__
    div = __truediv__
    pow = __pow__
    neg = __neg__

    # ----- in-place ops ------------------------------------------------------------------------
    #
    # ``t.op_(...)`` changes t's memory, and so every view of it. As in PyTorch:
    # - with nothing to record (grad mode off, or neither t nor the operands require grad) the
    #   values are updated where they are, allocation-free where numpy allows;
    # - otherwise the op is recorded: t's new grad_fn is the op applied to t's previous
    #   history (a snapshot of the old values, so that nothing saved is overwritten), and when
    #   t is a view, its base's history is extended too (the view's positions in the base are
    #   rewritten), so gradients of the base see the change;
    # - every in-place change bumps the memory's version, and a backward that needs the old
    #   values raises instead of computing a wrong gradient (see autograd/graph.py);
    # - refused: a leaf that requires grad (or a view of one) while recording, and memory that
    #   several elements share (an expand() view).

    def _check_inplace(self, recording):
        if not self._data.flags.writeable:
            raise RuntimeError(
                "unsupported operation: more than one element of the written-to tensor refers "
                "to a single memory location (or the memory is read-only). Please clone() the "
                "tensor before performing the operation.")
        if recording:
            if self._grad_fn is None and self._requires_grad:
                raise RuntimeError("a leaf Variable that requires grad is being used in an "
                                   "in-place operation.")
            view = getattr(self, "_view_of", None)
            if view is not None and view[0]._grad_fn is None and view[0]._requires_grad:
                raise RuntimeError("a view of a leaf Variable that requires grad is being used "
                                   "in an in-place operation.")

    def _inplace(self, compute, operands=(), fast=None, casting="same_kind"):
        """self <- compute(self), in place; returns self.

        ``compute(x)`` gives the new value as a tensor (recorded when it should be);
        ``operands`` are the other inputs (their requires_grad decides recording); ``fast()``,
        if given, updates ``self._data`` directly when nothing is recorded."""
        recording = _grad_state.enabled and (self._requires_grad or any(
            isinstance(o, Tensor) and o._requires_grad for o in operands))
        self._check_inplace(_grad_state.enabled)
        if not recording:
            if fast is not None:
                fast()
            else:
                with _no_grad():
                    self._assign(compute(self)._data, casting)
        else:
            self._record_inplace(compute, casting)
        return self._changed()

    def _changed(self):
        """Record that this tensor's memory was written in place (unless it is a ``.data``
        alias, whose changes autograd does not track); returns self."""
        if not getattr(self, "_untracked", False):
            _graph.bump(self._data)
        return self

    def _assign(self, values, casting):
        """Write ``values`` into this tensor's memory, with PyTorch's dtype and shape rules."""
        target = self._data
        if values.shape != target.shape:
            try:
                if np.broadcast_shapes(values.shape, target.shape) != target.shape:
                    raise ValueError
            except ValueError:
                raise ShapeError(f"output with shape {list(target.shape)} doesn't match the "
                                 f"broadcast shape "
                                 f"{list(np.broadcast_shapes(values.shape, target.shape))}"
                                 if _broadcastable(values.shape, target.shape) else
                                 f"the value of shape {list(values.shape)} cannot be written "
                                 f"into a tensor of shape {list(target.shape)}") from None
        if casting == "same_kind" and not np.can_cast(values.dtype, target.dtype, "same_kind"):
            raise RuntimeError(f"result type {_dt.from_numpy_dtype(values.dtype).legacy_name}"
                               f" can't be cast to the desired output type "
                               f"{_dt.from_numpy_dtype(target.dtype).legacy_name}")
        np.copyto(target, values, casting="unsafe")

    def _snapshot(self):
        """A copy of this tensor's values that carries its current history."""
        t = Tensor.__new__(Tensor)
        t._data = self._data.copy()
        t._grad = None
        t._grad_fn = self._grad_fn
        t._requires_grad = self._requires_grad
        return t

    def _record_inplace(self, compute, casting):
        result = compute(self._snapshot())
        if result._data.dtype != self._data.dtype:
            self._assign(result._data, casting)  # checks the cast and the shape first
            result = _as_type(result, self._data.dtype)
        else:
            self._assign(result._data, casting)
        view = getattr(self, "_view_of", None)
        if view is not None:
            self._rebase_view(view, result)
        else:
            self._set_history(result._grad_fn)

    def _set_history(self, grad_fn):
        previous = self._grad_fn
        self._grad_fn = grad_fn
        self._requires_grad = True
        if getattr(self, "_retains_grad", False) and previous is not None:
            # retain_grad follows the tensor to its new history, as in PyTorch
            old = previous[0] if type(previous) is _graph.OutputRef else previous
            ref = old._hooks.retain.pop(0, None) if old._hooks is not None else None
            if ref is not None:
                _graph.node_hooks(grad_fn).retain[0] = ref

    def _rebase_view(self, view, result):
        """The view's values changed to ``result``: record the change on its base (the base's
        new value is the old one with the view's positions rewritten), and make the view read
        from the base's new history."""
        base, steps = view
        positions = _view_positions(base._data.shape, steps)
        old_base = Tensor.__new__(Tensor)
        old_base._data, old_base._grad = base._data, None
        old_base._grad_fn, old_base._requires_grad = base._grad_fn, base._requires_grad
        flat = ops.IndexPut.apply(ops.Reshape.apply(old_base, (-1,)), result, positions)
        base._set_history(ops.Reshape.apply(flat, base._data.shape)._grad_fn)
        reread = ops.Index.apply(ops.Reshape.apply(base, (-1,)), positions)
        self._set_history(reread._grad_fn)
        if base._data is not self._data:
            _graph.bump(base._data)

    def _binary_inplace(self, other, fn, ufunc, alpha=None):
        value = other._data if isinstance(other, Tensor) else other
        if alpha is not None and alpha != 1:
            other = other * alpha
            value = other._data if isinstance(other, Tensor) else other

        def fast():
            try:
                ufunc(self._data, value, out=self._data, casting="same_kind")
            except TypeError:  # numpy's UFuncTypeError: the result type cannot be stored here
                result_dtype = np.result_type(self._data, value)
                raise RuntimeError(
                    f"result type {_dt.from_numpy_dtype(result_dtype).legacy_name} can't be "
                    f"cast to the desired output type {self.dtype.legacy_name}") from None
            except ValueError:
                shape = np.shape(value)
                raise ShapeError(
                    f"output with shape {list(self._data.shape)} doesn't match the broadcast "
                    f"shape {list(_broadcast_or(shape, self._data.shape))}") from None

        return self._inplace(lambda x: _binary(fn, x, other), (other,), fast)

    def __iadd__(self, other):
        return self._binary_inplace(other, ops.Add, np.add)

    def __isub__(self, other):
        return self._binary_inplace(other, ops.Sub, np.subtract)

    def __imul__(self, other):
        return self._binary_inplace(other, ops.Mul, np.multiply)

    def __itruediv__(self, other):
        return self._binary_inplace(other, ops.Div, np.true_divide)

    def __ipow__(self, other):
        return self._binary_inplace(other, ops.Pow, np.power)

    def add_(self, other, *, alpha=1):
        """In place: ``self += alpha * other`` (other broadcast to self's shape);
        ``d/dself = 1``, ``d/dother = alpha``."""
        return self._binary_inplace(other, ops.Add, np.add, alpha)

    def sub_(self, other, *, alpha=1):
        """In place: ``self -= alpha * other`` (other broadcast to self's shape);
        ``d/dself = 1``, ``d/dother = -alpha``."""
        return self._binary_inplace(other, ops.Sub, np.subtract, alpha)

    def mul_(self, other):
        """In place: ``self *= other`` (broadcast to self's shape); ``d/dself = other``,
        ``d/dother = self`` (the old value)."""
        return self._binary_inplace(other, ops.Mul, np.multiply)

    def div_(self, other):
        """In place: ``self /= other`` (broadcast to self's shape); ``d/dself = 1 / other``,
        ``d/dother = -self / other^2``."""
        return self._binary_inplace(other, ops.Div, np.true_divide)

    def pow_(self, exponent):
        """In place: ``self = self ** exponent``; ``d/dself = exponent * self^(exponent - 1)``,
        ``d/dexponent = self^exponent * log(self)``."""
        return self._binary_inplace(exponent, ops.Pow, np.power)

    def _unary_inplace(self, method, *args, **kwargs):
        return self._inplace(lambda x: getattr(x, method)(*args, **kwargs))

    def neg_(self):
        """In place: ``self = -self``; ``d/dx = -1``."""
        return self._unary_inplace("neg")

    def exp_(self):
        """In place: ``self = exp(self)``; ``d/dx = exp(x)``."""
        return self._unary_inplace("exp")

    def log_(self):
        """In place: ``self = log(self)``; ``d/dx = 1 / x``."""
        return self._unary_inplace("log")

    def sqrt_(self):
        """In place: ``self = sqrt(self)``; ``d/dx = 1 / (2 sqrt(x))``."""
        return self._unary_inplace("sqrt")

    def abs_(self):
        """In place: ``self = |self|``; ``d/dx = sign(x)``."""
        return self._unary_inplace("abs")

    def relu_(self):
        """In place: ``self = max(self, 0)``; ``d/dx = 1[x > 0]``."""
        return self._unary_inplace("relu")

    def sigmoid_(self):
        """In place: ``self = 1 / (1 + exp(-self))``; ``d/dx = s (1 - s)``."""
        return self._unary_inplace("sigmoid")

    def tanh_(self):
        """In place: ``self = tanh(self)``; ``d/dx = 1 - tanh(x)^2``."""
        return self._unary_inplace("tanh")

    def clamp_(self, min=None, max=None):
        """In place: every element limited to ``[min, max]`` (either may be None, not both);
        ``d/dx = 1`` inside the range, 0 where clamped."""
        operands = tuple(v for v in (min, max) if isinstance(v, Tensor))
        return self._inplace(lambda x: x.clamp(min, max), operands)

    clip_ = clamp_

    def clamp_min_(self, min):
        """In place: ``self = max(self, min)``; ``d/dx = 1[x >= min]``."""
        return self.clamp_(min=min)

    def clamp_max_(self, max):
        """In place: ``self = min(self, max)``; ``d/dx = 1[x <= max]``."""
        return self.clamp_(max=max)

    def zero_(self):
        """Set every element to 0, in place (``fill_(0)``); returns this tensor."""
        if not self._requires_grad and self._data.flags.writeable:  # no graph: in place
            K.fill_values(self._data, 0)
            return self._changed()
        return self.fill_(0)

    def fill_(self, value):
        """Set every element to ``value`` (a number, or a one-element tensor, which then gets
        the sum of the gradient)."""
        if not isinstance(value, Tensor):
            value = _fill_value(value, self._data.dtype)
            if not self._requires_grad and self._data.flags.writeable:  # no graph: in place
                K.fill_values(self._data, value)
                return self._changed()
        elif value._data.ndim:
            raise RuntimeError(f"fill_ only supports 0-dimension value tensor but got tensor "
                               f"with {value._data.ndim} dimensions.")

        def fast():
            self._data[...] = value._data if isinstance(value, Tensor) else value

        return self._inplace(lambda x: _filled_like(x, value), (value,), fast, "unsafe")

    def copy_(self, src, non_blocking=False):
        """Copy ``src``'s values (broadcast, converted to this dtype) into this tensor; the
        gradient flows to ``src``."""
        if type(src) is Tensor and not self._requires_grad and not src._requires_grad and \
                src._data.shape == self._data.shape and self._data.flags.writeable:
            np.copyto(self._data, src._data, casting="unsafe")  # the common call, no graph
            return self._changed()
        source = src if isinstance(src, Tensor) else tensor(src)
        shape = source._data.shape
        if not _broadcastable(shape, self._data.shape) or \
                np.broadcast_shapes(shape, self._data.shape) != self._data.shape:
            raise ShapeError(f"copy_: the source of shape {list(shape)} must be broadcastable "
                             f"to the destination of shape {list(self._data.shape)}")

        def fast():
            np.copyto(self._data, np.broadcast_to(source._data, self._data.shape),
                      casting="unsafe")

        return self._inplace(lambda x: _filled_like(x, source), (source,), fast, "unsafe")

    # ----- comparisons, logical and bitwise operators -------------------------------------
    #
    # ``==``, ``<``, ``&``, ``|``, ``^``, ``~``, ``<<``, ``>>``, ``//``, ``%`` (and their
    # reflected and in-place forms) are defined in minigrad/functions/elementwise.py, with the
    # functions they spell (``eq``, ``bitwise_and``, ``floor_divide``...), and attached here.

    def equal(self, other):
        return self._data.shape == other._data.shape and bool(np.all(self._data == other._data))

    def allclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False):
        return bool(np.allclose(self._data, _data(other), rtol=rtol, atol=atol,
                                equal_nan=equal_nan))

    def isnan(self):
        return _wrap(np.isnan(self._data))

    def isinf(self):
        return _wrap(np.isinf(self._data))

    def isfinite(self):
        return _wrap(np.isfinite(self._data))

    def all(self):
        return _wrap(np.asarray(np.all(self._data)))

    def any(self):
        return _wrap(np.asarray(np.any(self._data)))

    # ----- unary math and activations ---------------------------------------------------------

    def exp(self):
        return ops.Exp.apply(self if self._data.dtype.kind == "f" else _floating(self))

    def log(self):
        return ops.Log.apply(self if self._data.dtype.kind == "f" else _floating(self))

    def sqrt(self):
        return ops.Sqrt.apply(self if self._data.dtype.kind == "f" else _floating(self))

    def abs(self):
        return ops.Abs.apply(self)

    def relu(self):
        return ops.ReLU.apply(self)

    def sigmoid(self):
        return ops.Sigmoid.apply(self if self._data.dtype.kind == "f" else _floating(self))

    def tanh(self):
        return ops.Tanh.apply(self if self._data.dtype.kind == "f" else _floating(self))

    def square(self):
        return ops.Square.apply(self) if self._data.dtype.kind == "f" else self ** 2

    def rsqrt(self):
        return 1 / self.sqrt()

    def reciprocal(self):
        return 1 / self

    def clamp(self, min=None, max=None):
        if min is None and max is None:
            raise ValueError("clamp: at least one of 'min' and 'max' must not be None")
        x = self
        if x._data.dtype.kind in "biu" and any(isinstance(v, (float, np.floating)) or (
                isinstance(v, Tensor) and v._data.dtype.kind == "f") for v in (min, max)):
            x = _as_type(x, _FLOAT32)  # torch: an integer tensor clamped by floats is float
        return ops.Clamp.apply(x, _scalar(min), _scalar(max))

    clip = clamp

    def clamp_min(self, min):
        """``max(self, min)`` elementwise; ``d/dx = 1[x >= min]``."""
        return self.clamp(min=min)

    def clamp_max(self, max):
        """``min(self, max)`` elementwise; ``d/dx = 1[x <= max]``."""
        return self.clamp(max=max)

    # ----- reductions ---------------------------------------------------------------------
    #
    # sum, mean, var, std, amax, amin, max, min, argmax, argmin and the other reductions are
    # defined in minigrad/functions/reduce.py and attached as methods from there.

    # ----- shape ops --------------------------------------------------------------------------

    def reshape(self, *shape):
        """The same elements in a new shape: a view when the strides allow one (as ``view``),
        else a copy. One dimension may be -1 (inferred)."""
        target = _target_shape(shape, self._data.shape)
        # Always a new node, even for the same shape: torch's view is a new tensor, and
        # returning self would make it a leaf that aliases the input's .grad and flags.
        return _view(self, ops.Reshape, "reshape", target)

    def view(self, *shape):
        """The same memory seen in a new shape (a view, always); RuntimeError when the strides
        make that impossible (a transposed tensor flattened, say): ``reshape`` copies then."""
        data = self._data
        target = _target_shape(shape, data.shape)
        # contiguous memory can be seen in any shape of its size: only other layouts are
        # checked, with PyTorch's rule
        if not data.flags.c_contiguous and \
                _view_strides(data.shape, data.strides, data.itemsize, target) is None:
            raise RuntimeError("view size is not compatible with input tensor's size and stride "
                               "(at least one dimension spans across two contiguous subspaces)."
                               " Use .reshape(...) instead.")
        return _view(self, ops.Reshape, "reshape", target)

    def view_as(self, other):
        """``self.view(other.shape)``: a view with ``other``'s shape."""
        return self.view(other.shape)

    def reshape_as(self, other):
        """``self.reshape(other.shape)``: ``other``'s shape, a view when possible."""
        return self.reshape(other.shape)

    def flatten(self, start_dim=0, end_dim=-1):
        """Dimensions ``start_dim`` to ``end_dim`` merged into one, their sizes multiplied:
        ``(*a, d_s, ..., d_e, *b)`` -> ``(*a, prod(d_s..d_e), *b)``; a view when the strides
        allow (as ``reshape``). A 0-d tensor becomes shape ``(1,)``."""
        if type(start_dim) is int and type(end_dim) is int and start_dim == 0 and end_dim == -1:
            # the common call, every dimension (0-d too): one dimension of the tensor's size
            return _view(self, ops.Reshape, "reshape", (self._data.size,))
        shape = self._data.shape
        nd = len(shape)
        start, end = _axis(start_dim, nd), _axis(end_dim, nd)  # (a 0-d tensor takes 0 or -1)
        if nd == 0:
            return _view(self, ops.Reshape, "reshape", (1,))
        if start > end:
            raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
        if start == end:
            return _view(self, ops.Reshape, "reshape", shape)
        # the new shape holds the same elements by construction: no reshape() checks needed
        return _view(self, ops.Reshape, "reshape",
                     shape[:start] + (math.prod(shape[start:end + 1]),) + shape[end + 1:])

    def transpose(self, dim0, dim1):
        """Dimensions ``dim0`` and ``dim1`` swapped (a view); the gradient is transposed
        back."""
        nd = self._data.ndim
        a, b = _axis(dim0, nd), _axis(dim1, nd)
        if nd == 2:  # the common call, spelled out
            return _view(self, ops.Permute, "permute", (0, 1) if a == b else (1, 0))
        axes = list(range(nd))
        if nd:
            axes[a], axes[b] = axes[b], axes[a]
        return _view(self, ops.Permute, "permute", tuple(axes))

    def t(self):
        """The transpose of a tensor of at most 2 dimensions (a view): ``(m, n)`` -> ``(n, m)``;
        0-d and 1-d tensors are returned as they are."""
        if self._data.ndim > 2:
            raise ShapeError(f"t() expects a tensor with <= 2 dimensions, but self is "
                             f"{self._data.ndim}D")
        return _view(self, ops.Permute, "permute",
                     (1, 0) if self._data.ndim == 2 else tuple(range(self._data.ndim)))

    def permute(self, *dims):
        """The dimensions reordered (a view): result dimension i is input dimension
        ``dims[i]``; the gradient is permuted back by the inverse order."""
        dims = _size(dims)
        nd = self._data.ndim
        if len(dims) != nd:
            raise ShapeError(f"permute(sparse_coo): number of dimensions in the tensor input "
                             f"does not match the length of the desired ordering of dimensions "
                             f"i.e. input.dim() = {nd} is not equal to len(dims) = {len(dims)}")
        axes = dims
        for d in dims:
            if not 0 <= d < nd:  # negative or out of range: normalised, or _axis's error
                axes = tuple([_axis(d, nd) for d in dims])
                break
        if len(set(axes)) != nd:
            raise RuntimeError("permute(): duplicate dims are not allowed.")
        return _view(self, ops.Permute, "permute", axes)

    def unsqueeze(self, dim):
        """A dimension of size 1 inserted at ``dim`` (a view; ``dim`` in
        ``[-ndim - 1, ndim]``)."""
        axis = _axis(dim, self._data.ndim + 1)
        shape = self._data.shape
        return _view(self, ops.Reshape, "reshape", shape[:axis] + (1,) + shape[axis:])

    def squeeze(self, dim=None):
        """Drop dimensions of size 1 (all of them, or those among ``dim``: an int or a tuple);
        a view, and a new one even when nothing is dropped."""
        shape = self._data.shape
        if dim is None:
            new = tuple([n for n in shape if n != 1])
        else:
            axes = _axes(dim, self._data.ndim) or ()
            new = tuple(n for i, n in enumerate(shape) if not (i in axes and n == 1))
        return _view(self, ops.Reshape, "reshape", new)

    def expand(self, *sizes):
        """A view with size-1 dimensions repeated to ``sizes`` without copying (-1 keeps a
        size; new leading dimensions may be added). The gradient is summed over the expanded
        dimensions."""
        sizes = _size(sizes)
        shape = self._data.shape
        if len(sizes) < len(shape):
            raise ShapeError(f"expand(minigrad.{self.dtype.legacy_name}Tensor"
                             f"{{{list(shape)}}}, size={list(sizes)}): the number of sizes "
                             f"provided ({len(sizes)}) must be greater or equal to the number "
                             f"of dimensions in the tensor ({len(shape)})")
        lead = len(sizes) - len(shape)
        for n, have in zip(sizes[lead:], shape):
            if n != have and (have != 1 or n < 0):  # -1 to fill in, or an error
                break
        else:
            if not lead or min(sizes[:lead]) >= 0:  # the common call: sizes as given
                return _view(self, ops.Expand, "expand", sizes)
        target = []
        for i, n in enumerate(sizes):
            if i < lead:
                if n < 0:
                    raise ShapeError(f"The expanded size of the tensor ({n}) isn't allowed in "
                                     f"a leading, non-existing dimension {i}")
                target.append(n)
                continue
            have = shape[i - lead]
            if n == -1:
                n = have
            elif n != have and have != 1 or n < 0:
                raise ShapeError(f"The expanded size of the tensor ({n}) must match the "
                                 f"existing size ({have}) at non-singleton dimension {i}.  "
                                 f"Target sizes: {list(sizes)}.  Tensor sizes: {list(shape)}")
            target.append(n)
        return _view(self, ops.Expand, "expand", tuple(target))

    def expand_as(self, other):
        """``self.expand(other.shape)``."""
        return self.expand(other.shape)

    def __getitem__(self, index):
        """``t[index]`` with PyTorch's rules (see ``ops/index.py``'s ``torch_index``): ints,
        slices, None and ... give a view; index tensors, lists and masks a copy."""
        if type(index) is int:  # x[i] within range: the fastest path (a view)
            data = self._data
            shape = data.shape
            if shape and -shape[0] <= index < shape[0]:
                if self._requires_grad or _graph.capture is not None:
                    return _mark_view(ops.Index.apply(self, index), self, "index", index)
                # nothing to record: Index.forward's view without the node
                return _mark_view(_wrap(data[index, ...]), self, "index", index)
        if type(index) is Tensor:  # x[mask], mask of x's shape or its leading dims
            mask = index._data
            shape = self._data.shape
            if mask.dtype == np.bool_ and mask.ndim and mask.shape == shape[:mask.ndim]:
                return ops.Index.apply(self, mask)
        elif type(index) is tuple and len(index) == 2 and self._data.ndim == 2:
            pair = _index_pair(index, self._data.shape)  # x[rows, cols], x[:, cols]
            if pair is not None:
                return ops.Index.apply(self, pair)
        first, second = ops.index.torch_index(index, self._data.shape)
        try:
            if type(index) is int or type(index) is slice or (
                    type(index) is tuple and second is None and _all_basic(index)):
                # ints and slices (checked by torch_index): always a view, numpy's memory
                # test is not needed
                return _mark_view(ops.Index.apply(self, first), self, "index", first)
            if second is None:
                if type(first) is np.ndarray or ops.index.is_advanced(first):
                    return ops.Index.apply(self, first)
                return _view(self, ops.Index, "index", first)
            view = _view(self, ops.Index, "index", first) if first != () else self
            return ops.Index.apply(view, second)
        except IndexError as exc:  # numpy's bounds check, in PyTorch's words
            raise IndexError(str(exc).replace(" axis ", " dimension ")) from None

    def __setitem__(self, index, value):
        """``t[index] = value`` (a Tensor or a number, broadcast to the indexed shape and
        converted to t's dtype): in place (see the in-place ops above); recorded as an
        index-put when value or t requires grad, so both get their gradients."""
        if isinstance(value, Tensor):
            source = value
        elif isinstance(value, (numbers.Number, np.number, np.bool_)):
            source = _wrap(np.asarray(value).astype(self._data.dtype))
        else:
            raise TypeError(f"can't assign a {type(value).__name__} to a {self.type()}")
        first, second = _index(index, self._data.shape)
        if second is not None:  # through the view that PyTorch indexes into
            view = _view(self, ops.Index, "index", first) if first != () else self
            view[second] = source
            return
        target_shape = np.shape(self._data[first])
        if not _broadcastable_to(source._data.shape, target_shape):
            raise ShapeError(f"shape mismatch: value tensor of shape "
                             f"{list(source._data.shape)} cannot be broadcast to indexing "
                             f"result of shape {list(target_shape)}")

        def fast():
            self._data[first] = source._data

        self._inplace(lambda x: ops.IndexPut.apply(x, _as_type(source, x._data.dtype), first),
                      (source,), fast, "unsafe")

    # ----- matrix ops -------------------------------------------------------------------------

    def matmul(self, other):
        """The matrix product ``self @ other`` (``minigrad.matmul``): 1-D, 2-D and batched
        operands with broadcasting batch dimensions, ``(*, n, k) @ (*, k, m) -> (*, n, m)``;
        ``d/dA = G B^T``, ``d/dB = A^T G``."""
        return matmul(self, other)

    def mm(self, other):
        if self._data.ndim != 2 or _data(other).ndim != 2:
            raise ShapeError(f"mm: both arguments must be 2-D, got shapes "
                             f"{tuple(self._data.shape)} and {tuple(_data(other).shape)}")
        return matmul(self, other)

    def dot(self, other):
        if self._data.ndim != 1 or _data(other).ndim != 1:
            raise ShapeError(f"dot: both arguments must be 1-D, got shapes "
                             f"{tuple(self._data.shape)} and {tuple(_data(other).shape)}")
        return matmul(self, other)


_graph.register_tensor_type(Tensor)


class Size(tuple):
    """The shape of a tensor: a tuple, printed as in PyTorch (``minigrad.Size([2, 3])``)."""

    def __repr__(self):
        return f"minigrad.Size({list(self)})"

    def numel(self):
        """The number of elements of a tensor of this shape, the product of the sizes."""
        return int(np.prod(self))


class device:
    """Only the CPU exists; ``device('cpu')`` is accepted so that device-agnostic code runs."""

    def __init__(self, type="cpu", index=None):
        _check_device(type)
        self.type = "cpu"
        self.index = None

    def __repr__(self):
        return "device(type='cpu')"

    def __str__(self):
        return "cpu"

    def __eq__(self, other):
        return str(other) == "cpu"

    def __hash__(self):
        return hash("cpu")


def _check_device(value):
    if value is None:
        return
    name = value.type if isinstance(value, device) else str(value)
    if name.split(":")[0] != "cpu":
        raise RuntimeError(f"minigrad runs on the CPU only; device {name!r} is not available")


# ---------------------------------------------------------------------------------------------
# Helpers shared by the methods above
# ---------------------------------------------------------------------------------------------


def _view(tensor, op, kind, arg):
    """``op`` applied to ``tensor``; when the result shares the tensor's memory (numpy made a
    view, not a copy: ``reshape`` of a transposed tensor copies; an empty view shares nothing
    but is one), it remembers its base and
    how to take the view again (for in-place changes through it, see ``_rebase_view``)."""
    result = op.apply(tensor, arg)
    base = result._data.base
    if base is not None:
        # numpy sets a view's base to the array that owns the memory: the identity tests
        # answer the common cases, numpy's memory test the rest
        source = tensor._data
        if base is source or base is source.base or result._data.size == 0 or \
                np.may_share_memory(result._data, source):
            _mark_view(result, tensor, kind, arg)
    return result


def _all_basic(index):
    """True if the tuple ``index`` holds only ints and slices."""
    for part in index:
        if type(part) is not int and type(part) is not slice:
            return False
    return True


def _mark_view(result, tensor, kind, arg):
    """Record that ``result`` is the view ``(kind, arg)`` of ``tensor`` (see ``_view``)."""
    view = getattr(tensor, "_view_of", None)
    result._view_of = (tensor, ((kind, arg),)) if view is None else \
        (view[0], view[1] + ((kind, arg),))
    if getattr(tensor, "_untracked", False):
        result._untracked = True
    return result


def _target_shape(args, shape):
    """The shape that ``reshape(*args)``/``view(*args)`` of a tensor of ``shape`` asks for,
    its one -1 inferred; PyTorch's errors otherwise. Sizes are Python ints, so a product
    that overflows int64 is caught here instead of wrapping around in numpy."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        args = args[0]
    # The common call: plain positive ints and at most one -1, for a non-empty tensor. A valid
    # answer then multiplies out to the tensor's size, so no partial product can overflow;
    # anything else (other types, zeros, errors) takes the general checks below.
    size = math.prod(shape)
    known = 1
    inferred = False
    for n in args:
        if type(n) is not int:
            break
        if n > 0:
            known *= n
        elif n == -1 and not inferred:
            inferred = True
        else:
            break
    else:
        if not inferred:
            if known == size:
                return tuple(args)
        elif size and not size % known:
            target = list(args)
            target[target.index(-1)] = size // known
            return tuple(target)
    return _checked_target_shape(args, shape)


def _checked_target_shape(args, shape):
    """``_target_shape`` for any call: each size checked, with PyTorch's errors."""
    target = []
    for n in args:
        if isinstance(n, bool) or not hasattr(n, "__index__"):
            raise TypeError(f"reshape(): argument 'shape' must be tuple of ints, but found "
                            f"element of type {type(n).__name__}")
        n = n.__index__()
        if not -2**63 <= n < 2**63:
            raise TypeError("reshape(): argument 'shape' failed to unpack: Overflow when "
                            "unpacking long long")
        target.append(n)
    size = 1
    for n in shape:
        size *= n
    inferred = None
    known = 1
    for i, n in enumerate(target):
        if n == -1:
            if inferred is not None:
                raise RuntimeError("only one dimension can be inferred")
            inferred = i
        elif n < 0:
            raise RuntimeError(f"invalid shape dimension {n} at index {i} of shape {target}")
        else:
            known *= n
    if inferred is not None:
        if known == 0:
            if size == 0:
                raise RuntimeError(f"cannot reshape tensor of 0 elements into shape {target} "
                                   f"because the unspecified dimension size -1 can be any "
                                   f"value and is ambiguous")
            raise ShapeError(f"shape '{target}' is invalid for input of size {size}")
        if size % known:
            raise ShapeError(f"shape '{target}' is invalid for input of size {size}")
        target[inferred] = size // known
    elif known != size:
        raise ShapeError(f"shape '{target}' is invalid for input of size {size}")
    running = 1
    for n in target:  # the tensor's numel, computed in int64 as PyTorch does
        running *= n
        if running > 2**63 - 1:
            raise RuntimeError("numel: integer multiplication overflow")
    return tuple(target)


def _view_strides(shape, strides, itemsize, target):
    """The strides (in elements) of ``target`` seen as a view of memory laid out with
    ``shape``/``strides`` (bytes), or None when no view can do it (PyTorch's computeStride:
    each run of dimensions that is contiguous in memory may be re-split freely, but a new
    dimension cannot span two such runs)."""
    if not shape:
        return [1] * len(target)
    old = [s // itemsize for s in strides]
    numel = 1
    for n in shape:
        numel *= n
    if numel == 0:
        return [0] * len(target)
    new = [0] * len(target)
    view_d = len(target) - 1
    chunk_base = old[-1]
    tensor_numel = view_numel = 1
    for d in range(len(shape) - 1, -1, -1):
        tensor_numel *= shape[d]
        if d == 0 or (shape[d - 1] != 1 and old[d - 1] != tensor_numel * chunk_base):
            while view_d >= 0 and (view_numel < tensor_numel or target[view_d] == 1):
                new[view_d] = view_numel * chunk_base
                view_numel *= target[view_d]
                view_d -= 1
            if view_numel != tensor_numel:
                return None
            if d > 0:
                chunk_base = old[d - 1]
                tensor_numel = view_numel = 1
    return new if view_d == -1 else None


def _view_positions(shape, steps):
    """For each element of a view, its flat (C-order) position in the base of ``shape``:
    the view steps replayed on the base's positions."""
    positions = np.arange(int(np.prod(shape, dtype=np.int64))).reshape(shape)
    for kind, arg in steps:
        if kind == "reshape":
            positions = positions.reshape(arg)
        elif kind == "permute":
            positions = positions.transpose(arg)
        elif kind == "expand":
            positions = np.broadcast_to(positions, arg)
        elif kind == "diagonal":
            positions = np.diagonal(positions, *arg)
        elif kind == "unfold":
            positions = _kernels_arraymath.unfold(positions, *arg)
        else:  # "index", and "split" (an output of split/chunk/unbind/tensor_split)
            positions = positions[arg]
    return np.asarray(positions)


def _broadcastable(shape, other):
    try:
        np.broadcast_shapes(shape, other)
        return True
    except ValueError:
        return False


def _broadcast_or(shape, other):
    return np.broadcast_shapes(shape, other) if _broadcastable(shape, other) else shape


def _filled_like(x, value):
    """A tensor of x's shape and dtype holding ``value`` everywhere (a number, or a tensor
    broadcast to x's shape, which then gets the gradient; x gets none)."""
    everywhere = np.ones(x._data.shape, dtype=bool)
    if isinstance(value, Tensor):
        return ops.Where.apply(everywhere, _as_type(value, x._data.dtype), x)
    return ops.Where.apply(everywhere, np.asarray(value).astype(x._data.dtype), x)


def _leaf_hooks(tensor):
    hooks = getattr(tensor, "_hooks", None)  # (a tensor made by an op may not have the slot set)
    if hooks is None:
        hooks = tensor._hooks = _LeafHooks()
    return hooks


class _LeafHooks:
    """The hooks of a leaf tensor: ``register_hook`` and ``register_post_accumulate_grad_hook``."""

    def __init__(self):
        self.tensor = OrderedDict()
        self.post_accumulate = OrderedDict()

    def add(self, kind, fn):
        from .utils.hooks import RemovableHandle
        table = getattr(self, kind)
        handle = RemovableHandle(table)
        table[handle.id] = fn
        return handle


def _grad_on():
    return _grad_state.enabled


def _wrap(array, requires_grad=False):
    """A new leaf Tensor around ``array`` (no copy, no checks): the internal constructor."""
    t = Tensor.__new__(Tensor)
    t._data = array
    t._grad = None
    t._grad_fn = None
    t._hooks = None
    t._requires_grad = requires_grad
    t._view_of = None  # set, though rarely used: see Op.apply
    t._untracked = False
    return t


def _data(value):
    return value._data if isinstance(value, Tensor) else value


def _np_dtype(dtype, default):
    return default if dtype is None else _dt.as_dtype(dtype).np_dtype


def _scalar(value):
    if isinstance(value, Tensor):
        return value._data
    return value


def _floating(t):
    """Integer inputs to float functions (exp, log, ...) are computed in float32, as in torch."""
    return t if t._data.dtype.kind in "fc" else _wrap(t._data.astype(np.float32))


def _size(args):
    """Accept ``f(2, 3)``, ``f((2, 3))``, ``f([2, 3])`` and a Size."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        args = args[0]
    for n in args:
        if type(n) is not int:
            break
    else:
        return tuple(args)  # plain ints (the common call): nothing to convert
    try:
        return tuple(int(n) for n in args)
    except TypeError:
        raise TypeError(f"expected a sequence of integers for a size, got {args!r}") from None


def _resolve_shape(shape, size):
    """``shape`` with its one allowed -1 filled in; ValueError if it cannot hold ``size``."""
    unknown = [i for i, n in enumerate(shape) if n == -1]
    if len(unknown) > 1 or any(n < -1 for n in shape):
        raise ValueError(shape)
    known = int(np.prod([n for n in shape if n != -1]))
    if unknown:
        if known == 0 or size % known:
            raise ValueError(shape)
        i = unknown[0]
        return shape[:i] + (size // known,) + shape[i + 1:]
    if known != size:
        raise ValueError(shape)
    return shape


def _axis(dim, ndim):
    """A dim in [-ndim, ndim) as a non-negative axis, with torch's IndexError otherwise."""
    if type(dim) is int and -ndim <= dim < ndim:  # the common call (a 0-d tensor goes on)
        return dim % ndim
    n = max(ndim, 1)
    if type(dim) is not int and not isinstance(dim, numbers.Integral):  # the ABC check is slow
        raise TypeError(f"dim must be an int, got {dim!r}")
    if not -n <= dim < n:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], "
                         f"but got {dim})")
    return dim % n if ndim else 0


def _axes(dim, ndim):
    """dim None -> None (all axes); an int or a tuple/list of ints -> a sorted tuple of axes."""
    if dim is None:
        return None
    if isinstance(dim, (tuple, list)):
        axes = tuple(sorted(_axis(d, ndim) for d in dim))
        if len(set(axes)) != len(axes):
            raise RuntimeError(f"dim {tuple(dim)} appears multiple times in the list of dims")
        return axes if ndim else ()
    axis = _axis(dim, ndim)  # checked on a 0-d tensor too (0 and -1 only), as torch
    return (axis,) if ndim else ()


def _index(index, shape):
    """PyTorch's index as numpy indices (first, second): see ``ops.index.torch_index``."""
    return ops.index.torch_index(index, shape)


def _broadcastable_to(shape, target):
    """True if a value of ``shape`` can be written into ``target`` (numpy's rule for
    assignment, which is PyTorch's: leading size-1 dims of the value may be dropped)."""
    shape = tuple(shape)
    while len(shape) > len(target) and shape[0] == 1:
        shape = shape[1:]
    if len(shape) > len(target):
        return False
    return all(s == 1 or s == t for s, t in zip(reversed(shape), reversed(target)))


def _apply_binary(fn, a, b):
    try:
        return fn.apply(a, b)
    except ValueError:
        shape_a, shape_b = np.shape(_data(a)), np.shape(_data(b))
        try:
            np.broadcast_shapes(shape_a, shape_b)
        except ValueError:
            raise ShapeError(
                f"{fn.__name__.lower()}: the shapes {tuple(shape_a)} and {tuple(shape_b)} "
                f"do not broadcast") from None
        raise


def _binary(fn, a, b):
    """Run a broadcasting binary op with PyTorch's type promotion (integer, bool and mixed
    dtypes, Python numbers and numpy operands on either side) and a ShapeError naming the
    shapes when they do not broadcast. (The operators take ``_binary_operator``'s shortcut
    first when there is nothing to promote.)"""
    for value in (a, b):  # an out-of-range int fails first, as in PyTorch
        if type(value) is int and not -(1 << 63) <= value < (1 << 64):
            raise OverflowError("int too big to convert")
    if fn is ops.Sub and (_is_bool(a) or _is_bool(b)):
        raise RuntimeError("Subtraction, the `-` operator, with a bool tensor is not supported "
                           "(as in torch). To invert a mask, use the `~` operator instead.")
    if isinstance(a, Tensor):
        if isinstance(b, Tensor):
            da, db = a._data.dtype, b._data.dtype
            want = _dt.result_type(a._data, b._data) if da != db else da
            if fn is ops.Div and want.kind in "biu":
                want = _dt.default_np()
            elif fn is ops.Pow and want.kind == "b":
                raise NotImplementedError("\"pow\" not implemented for 'Bool'")
            if want != da or want != db:
                a, b = _as_type(a, want), _as_type(b, want)
        elif isinstance(b, (numbers.Number, np.number, np.bool_)):
            a, b = _with_scalar(fn, a, b)
        else:
            return _binary(fn, a, _operand(b))
    elif isinstance(a, (numbers.Number, np.number, np.bool_)):
        b, a = _with_scalar(fn, b, a)
    else:
        return _binary(fn, _operand(a), b)
    return _apply_binary(fn, a, b)


def _is_bool(value):
    if isinstance(value, (Tensor, np.ndarray)):
        return _data(value).dtype.kind == "b"
    return isinstance(value, (bool, np.bool_))


def _operand(value):
    if isinstance(value, np.ndarray):
        return _wrap(value)
    if isinstance(value, (list, tuple)):
        return tensor(value)
    raise TypeError(f"unsupported operand type for a Tensor operation: {type(value).__name__}")


def _with_scalar(fn, t, scalar):
    """(t, scalar) converted to the dtype PyTorch computes ``fn(t, scalar)`` in: a Python
    number does not promote a tensor of its category or above (float32 + 2.5 stays float32,
    uint8 + 300 stays uint8), and counts as the default float dtype, int64 or bool otherwise;
    integer true division is floating. The number is converted as PyTorch converts it: an
    integer wraps around to the dtype's width (``int32 | 0xFFFFFFFF`` is ``int32 | -1``)."""
    if isinstance(scalar, np.generic):
        scalar = scalar.item()
    want = _dt.result_np_dtype(t._data, scalar)
    if fn is ops.Div and want.kind in "biu":
        want = _dt.default_np()
    if fn is ops.Pow and want.kind in "iu" and isinstance(scalar, numbers.Integral) and \
            not isinstance(scalar, bool):
        if scalar < 0:
            raise RuntimeError("Integers to negative integer powers are not allowed.")
        _check_fits(scalar, want)  # an exponent is not wrapped around
    return _as_type(t, want), _scalar_as(scalar, want)


_C_TYPE_NAMES = {"uint8": "uint8_t", "int8": "int8_t", "int16": "int16_t", "int32": "int",
                 "int64": "int64_t"}


def _check_fits(value, np_dtype):
    """PyTorch's check that an integer argument fits the integer dtype it is used in."""
    info = np.iinfo(np_dtype)
    if not info.min <= value <= info.max:
        raise RuntimeError(f"value cannot be converted to type "
                           f"{_C_TYPE_NAMES.get(np_dtype.name, np_dtype.name)} without overflow")


def _index_pair(index, shape):
    """The numpy index of a matrix's ``x[rows, cols]`` (two int64 index tensors of one
    shape) or ``x[:, cols]``, their bounds checked (PyTorch's IndexError); None for any
    other pair, which takes torch_index's general parse."""
    first, second = index
    if type(second) is not Tensor or second._data.dtype != np.int64 or not second._data.ndim:
        return None
    cols = second._data
    if type(first) is slice and first == _ALL:
        rows = first
    elif type(first) is Tensor and first._data.dtype == np.int64 and \
            first._data.shape == cols.shape:
        rows = first._data
        ops.index.check_array_bounds(rows, 0, shape[0])
    else:
        return None
    ops.index.check_array_bounds(cols, 1, shape[1])
    return rows, cols


_ALL = slice(None)


_FLOAT_LARGEST = {np.dtype(np.float16): float(np.finfo(np.float16).max),
                  np.dtype(np.float32): float(np.finfo(np.float32).max)}


def _fill_value(value, np_dtype):
    """A number to write into every element (full, fill_; where's number for float32/64) as
    the dtype holds it, or PyTorch's error: OverflowError for an int beyond 64 bits; RuntimeError beyond an integer dtype's
    range (NaN and inf included; unsigned dtypes take negative integers down to -max, which
    wrap around), or for a finite number beyond float16's or float32's largest (PyTorch's
    rule for more than one element). bool and float64 take any number."""
    if type(value) is int and -128 <= value <= 127 and (value >= 0 or np_dtype.kind != "u"):
        return value  # fits every dtype as it is (0 and 1 above all)
    largest = _FLOAT_LARGEST.get(np_dtype)
    if type(value) is float and largest is not None and (
            -largest <= value <= largest or not math.isfinite(value)):
        return value  # a float into float16/float32 (the common fill)
    if isinstance(value, numbers.Integral) and not isinstance(value, bool) and \
            not -(1 << 63) <= value < (1 << 64):
        raise OverflowError("int too big to convert")
    kind = np_dtype.kind
    if isinstance(value, bool) or kind in "bc" or np_dtype == np.float64 or \
            not isinstance(value, numbers.Real):
        return value
    if kind == "f":  # float16, float32
        bad = math.isfinite(float(value)) and abs(float(value)) > largest
    else:
        info = np.iinfo(np_dtype)
        if isinstance(value, numbers.Integral):
            bad = not (-int(info.max) if kind == "u" else int(info.min)) <= value <= info.max
            if not bad and value < 0 and kind == "u":
                return int(value) + (1 << (8 * np_dtype.itemsize))  # wraps, as in C
        else:
            bad = not info.min <= float(value) <= info.max  # NaN compares false: refused
    if bad:
        name = {"float16": "c10::Half", "float32": "float"}.get(
            np_dtype.name, _C_TYPE_NAMES.get(np_dtype.name, np_dtype.name))
        raise RuntimeError(f"value cannot be converted to type {name} without overflow")
    return value


def _scalar_as(value, np_dtype):
    """A Python number converted to ``np_dtype`` as PyTorch converts a scalar operand: bool
    for bool, an integer wrapped around to the dtype's width (OverflowError beyond 64 bits),
    a float for floating dtypes (kept a Python number: numpy then computes in np_dtype)."""
    kind = np_dtype.kind
    if isinstance(value, int) and not -(1 << 63) <= value < (1 << 64):
        raise OverflowError("int too big to convert")  # whatever it meets, as PyTorch
    if kind == "b":
        return bool(value)
    if kind in "iu":
        if isinstance(value, float):
            value = int(value)  # trunc, as a C cast
        value = int(value)
        bits = 8 * np_dtype.itemsize
        value &= (1 << bits) - 1
        if kind == "i" and value >= 1 << (bits - 1):
            value -= 1 << bits
        return value
    if kind == "f" and not isinstance(value, complex):
        return float(value)
    return value


def _dtype_of_type_name(name):
    """The dtype of a legacy type name: 'torch.FloatTensor', 'minigrad.LongTensor'..."""
    for prefix in ("torch.", "minigrad."):
        if name.startswith(prefix) and name.endswith("Tensor"):
            legacy = name[len(prefix):-len("Tensor")]
            for np_name, legacy_name in _LEGACY_TYPE_NAMES.items():
                if legacy_name == legacy:
                    return _dt.as_dtype(np_name)
    raise ValueError(f"invalid type: {name!r}")


def _number_as_tensor(t, number):
    """(t, number as a 0-d tensor) after ``_with_scalar``'s promotion; lists become tensors."""
    if isinstance(number, (numbers.Number, np.number, np.bool_)):
        t, number = _with_scalar(None, t, number)
        return t, _wrap(np.asarray(number, dtype=t._data.dtype))
    return t, tensor(number)


def _as_type(t, np_dtype):
    """t converted to ``np_dtype`` (recorded when t requires grad: the gradient is converted
    back); t itself when it has that dtype already."""
    if t._data.dtype == np_dtype:
        return t
    if t._requires_grad and _grad_on():
        return ops.Cast.apply(t, np_dtype)
    return _wrap(t._data.astype(np_dtype))


def _format_values(data, extras):
    """The body of PyTorch's repr, following torch/_tensor_str.py: one element format for the
    whole tensor (for floats: integer-valued -> ``1.``; scientific when max/min > 1000,
    max > 1e8 or, for non-integers, min < 1e-4; else 4 decimals), chosen from the elements
    that get printed; every element right-aligned to one width; lines of at most 80 columns;
    more than 1000 elements summarized with the first and last 3 along each axis."""
    if data.size == 0:
        return _add_suffixes("[]", extras)
    summarize = data.size > 1000
    shown = _summarized(data) if summarize else data
    if data.dtype.kind == "f":
        formatter, width = _float_formatter(shown)
    else:
        width = max(len(str(v)) for v in shown.ravel().tolist())

        def formatter(value):
            return str(value).rjust(width)
    return _add_suffixes(_format_nested(data, formatter, width, len("tensor("), summarize),
                         extras)


def _add_suffixes(body, extras, indent=7):  # 7 == len("tensor(")
    """Append ``, dtype=...`` and the like; one that would pass column 80 goes on a new line
    (the same arithmetic as torch._tensor_str._add_suffixes)."""
    text = "tensor(" + body
    last_line_len = len(text) - text.rfind("\n") + 1
    for extra in extras:
        if last_line_len + len(extra) + 2 > 80:
            text += ",\n" + " " * indent + extra
            last_line_len = indent + len(extra)
        else:
            text += ", " + extra
            last_line_len += len(extra) + 2
    return text[len("tensor("):]


def _format_nested(data, formatter, width, indent, summarize, edge=3):
    if data.ndim == 0:
        return formatter(data.item())
    if data.ndim == 1:
        values = data.tolist()
        if summarize and len(values) > 2 * edge:
            items = ([formatter(v) for v in values[:edge]] + [" ..."]
                     + [formatter(v) for v in values[-edge:]])
        else:
            items = [formatter(v) for v in values]
        per_line = max(1, (80 - indent) // (width + 2))
        lines = [", ".join(items[i:i + per_line]) for i in range(0, len(items), per_line)]
        return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"
    n = data.shape[0]
    rows = list(range(edge)) + [None] + list(range(n - edge, n)) if (
        summarize and n > 2 * edge) else range(n)
    slices = ["..." if i is None else
              _format_nested(data[i], formatter, width, indent + 1, summarize, edge)
              for i in rows]
    return "[" + ("," + "\n" * (data.ndim - 1) + " " * (indent + 1)).join(slices) + "]"


def _summarized(data, edge=3):
    """The elements a summarized print shows: the first and last ``edge`` along each axis."""
    for axis in range(data.ndim):
        if data.shape[axis] > 2 * edge:
            data = np.concatenate([data.take(np.arange(edge), axis),
                                   data.take(np.arange(-edge, 0), axis)], axis)
    return data


def _float_formatter(shown):
    values = shown[np.isfinite(shown) & (shown != 0)].astype(np.float64).ravel()
    int_mode, sci_mode, width = True, False, 1
    if values.size:
        magnitudes = np.abs(values)
        lo, hi = magnitudes.min(), magnitudes.max()
        int_mode = bool(np.all(values == np.ceil(values)))
        sci_mode = bool(hi / lo > 1000.0 or hi > 1.0e8 or (not int_mode and lo < 1.0e-4))
        width = max(len(_format_float(v, int_mode, sci_mode)) for v in values)

    def formatter(value):
        return _format_float(value, int_mode, sci_mode).rjust(width)

    return formatter, width


def _format_float(value, int_mode, sci_mode):
    if sci_mode:
        return f"{value:.4e}"
    if int_mode:
        return f"{value:.0f}" + ("." if np.isfinite(value) else "")
    return f"{value:.4f}"


# ---------------------------------------------------------------------------------------------
# Creation functions
# ---------------------------------------------------------------------------------------------


def _to_array(data, dtype=None):
    """A fresh C-contiguous array from data of any kind and layout, with torch's default dtypes:
    Python floats -> the default dtype (float32 unless ``set_default_dtype`` changed it),
    Python ints -> int64, numpy arrays keep their dtype."""
    if isinstance(data, Tensor):
        data = data._data
    elif hasattr(data, "__dlpack__") and not isinstance(data, np.ndarray):
        from .interop import to_numpy  # a torch tensor: its __array__ lacks numpy 2's copy=
        data = to_numpy(data)
    if dtype is not None:
        return np.array(_unwrap_nested(data), dtype=_dt.as_dtype(dtype).np_dtype, order="C",
                        copy=True)
    if isinstance(data, (np.ndarray, np.generic)):
        # A copy in native byte order: kernels read memory as native numbers, so a
        # byte-swapped array would be silently wrong (PyTorch refuses one; copying is safe).
        array = np.array(data, dtype=data.dtype.newbyteorder("="), order="C", copy=True)
        if array.dtype.kind not in "biufc":
            raise TypeError(f"can't convert a numpy array of dtype {array.dtype} to a tensor")
        return array
    array = np.array(_unwrap_nested(data), order="C")
    kind = array.dtype.kind
    if kind == "f":
        return array.astype(_dt.default_np())
    if kind in "iu":
        return array.astype(np.int64)
    if kind == "b" or kind == "c":
        return array
    raise TypeError(f"can't build a tensor from {type(data).__name__} "
                    f"(got numpy dtype {array.dtype})")


def _unwrap_nested(data):
    if isinstance(data, Tensor):
        return data._data
    if isinstance(data, (list, tuple)) and any(isinstance(d, (Tensor, list, tuple)) for d in data):
        return [_unwrap_nested(d) for d in data]
    return data


def tensor(data, dtype=None, device=None, requires_grad=False):
    """A new tensor holding a copy of ``data`` (lists, scalars, numpy arrays of any layout)."""
    if device is not None:
        _check_device(device)
    t = _wrap(_to_array(data, dtype))
    if requires_grad:
        t.requires_grad_(True)
    return t


def as_tensor(data, dtype=None, device=None):
    if isinstance(data, Tensor) and (dtype is None or data.dtype == _dt.as_dtype(dtype)):
        return data
    return tensor(data, dtype=dtype, device=device)


def from_numpy(array):
    """A tensor sharing memory with the numpy array ``array`` (as torch.from_numpy)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(array).__name__})")
    if array.dtype.kind not in "biufc":
        raise TypeError(f"can't convert np.ndarray of type {array.dtype}")
    if not array.dtype.isnative:
        raise ValueError("given numpy array has byte order different from the native byte "
                         "order. Conversion between byte orders is currently not supported.")
    return _wrap(array)


# ---------------------------------------------------------------------------------------------
# Function forms of the ops
# ---------------------------------------------------------------------------------------------


def matmul(a, b):
    """``a @ b`` with numpy's rules for 1-D, 2-D and batched operands; shapes are checked
    first so a mismatch raises ShapeError naming both."""
    if not isinstance(a, Tensor):
        a = _operand(a)
    if not isinstance(b, Tensor):
        b = _operand(b)
    if a._data.ndim == 2 and b._data.ndim == 2 and a._data.dtype is b._data.dtype and \
            a._data.shape[1] == b._data.shape[0]:
        return ops.MatMul.apply(a, b)  # the common case: nothing to check or promote
    ops.check_matmul_shapes(a._data.shape, b._data.shape)
    if a._data.dtype != b._data.dtype:
        want = _dt.result_type(a._data, b._data)
        a, b = _as_type(a, want), _as_type(b, want)
    return ops.MatMul.apply(a, b)


def _check_tensors(tensors, name):
    tensors = list(tensors)
    if not tensors:
        raise ValueError(f"{name}(): expected a non-empty list of Tensors")
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"{name}(): expected Tensor as element {i} in argument 0, but got "
                            f"{type(t).__name__}")
    want = tensors[0]._data.dtype
    for t in tensors[1:]:
        if t._data.dtype != want:
            want = _dt.result_type(np.empty((1,), want), np.empty((1,), t._data.dtype))
    return [_as_type(t, want) for t in tensors]


def cat(tensors, dim=0):
    """Join tensors along an existing dimension; all other dimensions must match."""
    tensors = _check_tensors(tensors, "cat")
    ref = tensors[0]._data
    axis = _axis(dim, ref.ndim)
    for i, t in enumerate(tensors):
        shape = t._data.shape
        if t._data.ndim != ref.ndim or shape[:axis] + shape[axis + 1:] != \
                ref.shape[:axis] + ref.shape[axis + 1:]:
            raise ShapeError(
                f"cat: sizes of tensors must match except in dimension {dim}; got shapes "
                f"{[tuple(x._data.shape) for x in tensors]}")
    return ops.Cat.apply(*tensors, axis=axis)


concat = cat
concatenate = cat


def stack(tensors, dim=0):
    """Join same-shape tensors along a new dimension."""
    tensors = _check_tensors(tensors, "stack")
    shapes = [tuple(t._data.shape) for t in tensors]
    if len(set(shapes)) != 1:
        raise ShapeError(f"stack expects each tensor to be equal size, but got shapes {shapes}")
    axis = _axis(dim, tensors[0]._data.ndim + 1)
    return ops.Stack.apply(*tensors, axis=axis)


def maximum(a, b):
    """Elementwise maximum; the gradient goes to the larger input, split evenly on ties."""
    a, b = _promoted_pair(a, b)
    return _broadcasting("maximum", ops.Maximum.apply, a, b)


def minimum(a, b):
    """Elementwise minimum, as -maximum(-a, -b)."""
    a, b = _promoted_pair(a, b)
    return -_broadcasting("minimum", ops.Maximum.apply, -a, -b)


def where(condition, x, y):
    """Elementwise choice: x where condition holds, else y; each side gets the gradient of
    the elements it supplied."""
    if type(condition) is Tensor and type(x) is Tensor and (type(y) is float or type(y) is int) \
            and x._data.dtype.kind == "f" and x._data.dtype.itemsize >= 4 and \
            condition._data.dtype == np.bool_:
        # where(mask, x, number), the common call: the number stays a number in x's dtype
        return _broadcasting("where", ops.Where.apply, condition._data, x,
                             _fill_value(y, x._data.dtype))
    x, y = _promoted_pair(x, y)
    return _broadcasting("where", ops.Where.apply, np.asarray(_data(condition), dtype=bool),
                         x, y)


def _broadcasting(name, apply, *args):
    """``apply(*args)``, turning numpy's broadcast ValueError into a ShapeError naming shapes."""
    try:
        return apply(*args)
    except ValueError:
        shapes = [tuple(np.shape(_data(a))) for a in args]
        try:
            np.broadcast_shapes(*shapes)
        except ValueError:
            raise ShapeError(f"{name}: the shapes {', '.join(map(str, shapes))} do not "
                             f"broadcast") from None
        raise


def _promoted_pair(a, b):
    """Both operands as Tensors of one dtype, by torch's rules: a Python number takes the
    tensor's dtype unless it is a float meeting an integer tensor (then both are float32)."""
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):
        a = tensor(a)
    if not isinstance(a, Tensor):
        b, a = _number_as_tensor(b, a)
    if not isinstance(b, Tensor):
        a, b = _number_as_tensor(a, b)
    if a._data.dtype != b._data.dtype:
        want = _dt.result_type(a._data, b._data)
        a, b = _as_type(a, want), _as_type(b, want)
    return a, b
