"""Shape ops: they move elements around, so backward moves the gradient back."""
import numpy as np

from .._kernels import arraymath
from .._kernels import kernels as K
from ..autograd import anomaly_mode, graph
from ..autograd.grad_mode import state as grad_state
from ..autograd.graph import Op


class Reshape(Op):
    """out = x with a new shape (a view when numpy can make one);  the gradient is reshaped
    back."""

    may_broadcast = False

    is_view = True

    def forward(self, x, shape):
        self.input_shape = x.shape
        return x.reshape(shape)  # the method: np.reshape's wrapper costs as much again

    def backward(self, grad, xp):
        return xp.reshape(grad, self.input_shape)


class Permute(Op):
    """out = x with its axes reordered (a view);  the gradient gets the inverse order."""

    may_broadcast = False

    is_view = True

    def forward(self, x, axes):
        self.axes = axes
        return x.transpose(axes)  # the method: np.transpose's wrapper costs 3 times more

    def backward(self, grad, xp):
        return xp.permute(grad, tuple(np.argsort(self.axes)))


class Expand(Op):
    """out = x broadcast to ``shape`` (a read-only view);  the engine sums the gradient back
    over the broadcast axes."""

    is_view = True

    def forward(self, x, shape):
        lead = len(shape) - x.ndim
        if shape[lead:] == x.shape and shape[:lead] == (1,) * lead:
            # Nothing stretched (only leading axes of size 1 added): a writable view, as
            # PyTorch's; numpy's broadcast views are always read-only.
            return x.reshape(shape)
        return K.expand(x, shape)

    def backward(self, grad, xp):
        return grad


class Cat(Op):
    """out = the inputs joined along ``axis``;  each input gets its slice of the gradient."""

    may_broadcast = False

    def forward(self, *arrays, axis=0):
        self.axis = axis
        self.bounds = tuple(np.cumsum([a.shape[axis] for a in arrays])[:-1].tolist())
        return np.concatenate(arrays, axis=axis)

    def backward(self, grad, xp):
        return xp.split(grad, self.bounds, self.axis)


class Stack(Op):
    """out = the inputs stacked along a new ``axis``;  each input gets its slice of the
    gradient."""

    may_broadcast = False

    def forward(self, *arrays, axis=0):
        self.axis = axis
        self.count = len(arrays)
        return np.stack(arrays, axis=axis)

    def backward(self, grad, xp):
        return xp.unstack(grad, self.axis, self.count)


# ---------------------------------------------------------------------------------------------
# Copies that move elements (each derivative moves the gradient back)
# ---------------------------------------------------------------------------------------------


class Repeat(Op):
    """out = x tiled ``repeats`` times along each axis (``Tensor.repeat``; x is first given
    leading axes of size 1 up to len(repeats));  d out/dx sums the gradient over the copies:
    the gradient, seen as (r0, n0, r1, n1, ...), summed over the r axes."""

    may_broadcast = False

    def forward(self, x, repeats):
        self.input_shape, self.repeats = x.shape, repeats
        padded = (1,) * (len(repeats) - x.ndim) + x.shape
        # One copy, into a fresh array seen as (r0, n0, r1, n1, ...): numpy's tile copies once
        # per repeated axis.
        out = np.empty([r * n for r, n in zip(repeats, padded)], dtype=x.dtype)
        out.reshape([m for r, n in zip(repeats, padded) for m in (r, n)])[...] = \
            x.reshape([m for n in padded for m in (1, n)])
        return out

    def backward(self, grad, xp):
        padded = (1,) * (len(self.repeats) - len(self.input_shape)) + tuple(self.input_shape)
        split = []
        for r, n in zip(self.repeats, padded):
            split += [r, n]
        grad = xp.sum(xp.reshape(grad, split), tuple(range(0, 2 * len(padded), 2)))
        return xp.reshape(grad, self.input_shape)


class RepeatInterleave(Op):
    """out = each slice of x along ``axis`` repeated (``repeats``: an int, or an int array
    with one count per slice);  d out/dx sums each run of copies (``segment_sum``)."""

    may_broadcast = False

    def forward(self, x, repeats, axis):
        self.repeats, self.axis, self.size = repeats, axis, x.shape[axis]
        return np.repeat(x, repeats, axis)

    def backward(self, grad, xp):
        return xp.segment_sum(grad, self.repeats, self.axis, self.size)


class SegmentSum(Op):
    """out = runs of ``repeats`` slices of x along ``axis`` summed (the derivative of
    RepeatInterleave);  d out/dx repeats the gradient back."""

    may_broadcast = False

    def forward(self, x, repeats, axis, size):
        self.repeats, self.axis = repeats, axis
        return arraymath.segment_sum(x, repeats, axis, size)

    def backward(self, grad, xp):
        return xp.repeat_interleave(grad, self.repeats, self.axis)


class Flip(Op):
    """out = x reversed along ``axes`` (a copy, as in PyTorch);  d out/dx flips the gradient
    back."""

    may_broadcast = False

    def forward(self, x, axes):
        self.axes = axes
        return K.flip(x, axes)

    def backward(self, grad, xp):
        return xp.flip(grad, self.axes)


class Roll(Op):
    """out = x rolled by ``shifts`` along ``axes`` (None: the flattened x);  d out/dx rolls
    the gradient back by -shifts."""

    may_broadcast = False

    def forward(self, x, shifts, axes):
        self.shifts, self.axes = shifts, axes
        return np.roll(x, shifts, axes)

    def backward(self, grad, xp):
        back = tuple(-s for s in self.shifts) if isinstance(self.shifts, tuple) else -self.shifts
        return xp.roll(grad, back, self.axes)


class Tril(Op):
    """out = x with the elements above diagonal ``k`` of the last two axes zeroed;
    d out/dx = the same mask applied to the gradient."""

    may_broadcast = False

    def forward(self, x, k):
        self.k = k
        return K.tril(x, k)

    def backward(self, grad, xp):
        return xp.tril(grad, self.k)


class Triu(Op):
    """out = x with the elements below diagonal ``k`` of the last two axes zeroed;
    d out/dx = the same mask applied to the gradient."""

    may_broadcast = False

    def forward(self, x, k):
        self.k = k
        return K.triu(x, k)

    def backward(self, grad, xp):
        return xp.triu(grad, self.k)


class Diagonal(Op):
    """out = the ``offset`` diagonal of the (axis1, axis2) planes of x, as a new last axis (a
    view, writable as PyTorch's is);  d out/dx writes the gradient on that diagonal of zeros."""

    may_broadcast = False
    is_view = True

    def forward(self, x, spec):
        self.shape, self.spec = x.shape, spec
        out = np.diagonal(x, *spec)
        if x.flags.writeable:
            out.flags.writeable = True  # numpy's diagonal views are read-only by default
        return out

    def backward(self, grad, xp):
        return xp.diagonal_scatter(grad, self.shape, *self.spec)


class DiagonalScatter(Op):
    """out = zeros of ``shape`` with x written on a diagonal (the derivative of Diagonal, and
    ``diag_embed``);  d out/dx reads that diagonal of the gradient."""

    may_broadcast = False

    def forward(self, x, shape, offset, axis1, axis2):
        self.spec = (offset, axis1, axis2)
        return arraymath.diagonal_scatter(x, shape, offset, axis1, axis2)

    def backward(self, grad, xp):
        return xp.diagonal(grad, *self.spec)


class Unfold(Op):
    """out = the windows of ``size`` elements every ``step`` along ``axis`` (``Tensor.unfold``;
    a view: windows that overlap share memory);  d out/dx adds each window's gradient back."""

    may_broadcast = False
    is_view = True

    def forward(self, x, spec):
        self.shape, self.spec = x.shape, spec
        return strided_view(x, *spec)

    def backward(self, grad, xp):
        return xp.unfold_backward(grad, self.shape, *self.spec)


class UnfoldBackward(Op):
    """out = window gradients added back into an array of ``shape`` (the derivative of
    Unfold);  d out/dx reads the windows again."""

    may_broadcast = False

    def forward(self, x, shape, axis, size, step):
        self.spec = (axis, size, step)
        out = arraymath.unfold_backward(x, shape, axis, size, step)
        # a result of its own: the fast path may hand back a view of x
        return out.copy() if np.may_share_memory(out, x) else out

    def backward(self, grad, xp):
        return xp.unfold(grad, *self.spec)


def strided_view(x, axis, size, step):
    """The windows of ``Tensor.unfold`` as a view of x that numpy knows is one (its ``base``
    chain leads to x's memory, so in-place changes are tracked on x's storage), writable
    when x is; numpy's ``as_strided`` would hide the owner behind a wrapper object (and
    costs more than the rest of ``unfold`` together)."""
    owner = x
    while isinstance(owner.base, np.ndarray):
        owner = owner.base
    if not x.flags.writeable or owner.base is not None or x.size == 0 or size == 0:
        return arraymath.unfold(x, axis, size, step)  # read-only, foreign owners, empty
    if not owner.flags.c_contiguous:
        if not owner.flags.f_contiguous:
            return arraymath.unfold(x, axis, size, step)
        owner = owner.ravel(order="K")  # a 1-D view: the buffer numpy's constructor takes
    shape, strides = arraymath.unfold_layout(x.shape, x.strides, axis, size, step)
    offset = 0 if owner is x else \
        x.__array_interface__["data"][0] - owner.__array_interface__["data"][0]
    return np.ndarray(shape, x.dtype, buffer=owner, offset=offset, strides=strides)


class Split(Op):
    """outputs = the slices of x along ``axis`` between ``bounds`` (each a view; with
    ``squeeze``, slices of one element with that axis dropped, as ``unbind``);
    d x = the outputs' gradients joined back along ``axis`` (zeros for outputs that got
    none), in one concatenation rather than one scatter per output."""

    may_broadcast = False

    @classmethod
    def apply_split(cls, x, axis, bounds, squeeze=False):
        """Run on Tensor ``x``: a tuple of Tensors, each output ``k`` of one node."""
        Tensor = graph.tensor_type()
        node = cls()
        data = x._data
        node.shape, node.axis, node.squeeze = data.shape, axis, squeeze
        edges = (0,) + tuple(bounds) + (data.shape[axis],)
        lead = (slice(None),) * axis
        node.indices = tuple(lead + ((lo, Ellipsis) if squeeze else (slice(lo, hi),))
                             for lo, hi in zip(edges[:-1], edges[1:]))
        node.num_outputs = len(node.indices)
        record = x._requires_grad and grad_state.enabled
        if record:
            node.needs_input_grad = (True,)
            node._edges = (x._grad_fn or x,)
            node._inputs = (x,)
            node._seq = graph._next_sequence()
            if anomaly_mode.state.enabled:
                node._trace = anomaly_mode.creation_trace()
        outputs = []
        for k, index in enumerate(node.indices):
            t = Tensor.__new__(Tensor)
            t._data = data[index]
            t._grad = None
            t._requires_grad = record
            t._grad_fn = (graph.OutputRef(node, k) if node.num_outputs > 1 else node) \
                if record else None
            outputs.append(t)
        return tuple(outputs)

    def backward(self, grads, xp):
        if self.num_outputs == 1:
            grads = [grads]
        parts = []
        for index, g in zip(self.indices, grads):
            if g is None:
                like = np.empty(self.shape, dtype=np.int8)[index]
                g = xp.zeros(like.shape, self._grad_dtype(grads, xp))
            if self.squeeze:
                shape = tuple(g.shape)
                g = xp.reshape(g, shape[:self.axis] + (1,) + shape[self.axis:])
            parts.append(g)
        return xp.cat(parts, self.axis)

    @staticmethod
    def _grad_dtype(grads, xp):
        for g in grads:
            if g is not None:
                return xp.values(g).dtype
        return np.float32
