"""Indexing: reading (``x[index]``), writing (``x[index] = v``), and scattering gradients back.

Each pair here is the other's derivative: the gradient of a read is a scatter of the
gradient into zeros, and the gradient of that scatter is a read, so indexing can be
differentiated any number of times.
"""
import numpy as np

from ..autograd.graph import Op


def is_advanced(index):
    """True if ``index`` holds an integer or boolean array (numpy's advanced indexing, which
    copies; basic indexing with ints, slices, None and ... makes a view)."""
    parts = index if isinstance(index, tuple) else (index,)
    return any(isinstance(p, (np.ndarray, list)) for p in parts)


class Index(Op):
    """out = x[index];  d out/dx scatters the gradient back into zeros of x's shape, adding up
    where an index repeats."""

    may_broadcast = False

    def forward(self, x, index):
        self.shape, self.index = x.shape, index
        if is_advanced(index):
            self.is_view = False
            return np.asarray(x[index])
        self.is_view = True
        parts = index if isinstance(index, tuple) else (index,)
        if not any(p is Ellipsis for p in parts):
            parts = parts + (Ellipsis,)  # x[0, 1, ...] is a 0-d view where x[0, 1] is a copy
        return x[parts]

    def backward(self, grad, xp):
        return xp.scatter_index(grad, self.index, self.shape), None


class ScatterIndex(Op):
    """out = zeros of ``shape`` with ``grad`` added at ``index`` (the derivative of Index);
    d out/d grad = reading at ``index`` again."""

    may_broadcast = False

    def forward(self, grad, index, shape):
        self.index = index
        out = np.zeros(shape, dtype=grad.dtype)
        if is_advanced(index):
            np.add.at(out, index, grad)  # an index may repeat: contributions add up
        else:
            out[index] = grad
        return out

    def backward(self, grad, xp):
        return xp.index(grad, self.index), None, None


class IndexPut(Op):
    """out = x with ``out[index] = values`` (broadcast);  x gets the gradient everywhere but
    at ``index``; values get the gradient read at ``index`` (summed over broadcasting)."""

    def forward(self, x, values, index):
        self.index = index
        out = x.copy()
        out[index] = values
        return out

    def backward(self, grad, xp):
        need_x, need_values, _ = self.needs_input_grad
        return (xp.index_put(grad, self.index, 0.0) if need_x else None,
                xp.index(grad, self.index) if need_values else None,
                None)


class TakeAlongAxis(Op):
    """out = take_along_axis(x, indices, axis) (gather);  the gradient is scattered back,
    adding where an index repeats."""

    may_broadcast = False

    def forward(self, x, indices, axis):
        self.shape, self.indices, self.axis = x.shape, indices, axis
        return np.take_along_axis(x, indices, axis=axis)

    def backward(self, grad, xp):
        return xp.scatter_along_axis(grad, self.indices, self.axis, self.shape), None, None


class ScatterAlongAxis(Op):
    """out = zeros of ``shape`` with ``grad`` added at ``indices`` along ``axis`` (the
    derivative of TakeAlongAxis);  d out/d grad = gathering at ``indices`` again."""

    may_broadcast = False

    def forward(self, grad, indices, axis, shape):
        self.indices, self.axis = indices, axis
        out = np.zeros(shape, dtype=grad.dtype)
        _add_along_axis(out, indices, grad, axis)
        return out

    def backward(self, grad, xp):
        return xp.take_along_axis(grad, self.indices, self.axis), None, None, None


def _add_along_axis(out, indices, values, axis):
    """out[... indices ...] += values along ``axis``, adding where an index repeats."""
    index = list(np.ix_(*[np.arange(n) for n in indices.shape]))
    index[axis] = indices
    np.add.at(out, tuple(index), values)
