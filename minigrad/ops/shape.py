"""Shape ops: they move elements around, so backward moves the gradient back."""
import numpy as np

from ..autograd.graph import Op


class Reshape(Op):
    """out = x with a new shape (a view when numpy can make one);  the gradient is reshaped
    back."""

    may_broadcast = False

    is_view = True

    def forward(self, x, shape):
        self.input_shape = x.shape
        return np.reshape(x, shape)

    def backward(self, grad, xp):
        return xp.reshape(grad, self.input_shape)


class Permute(Op):
    """out = x with its axes reordered (a view);  the gradient gets the inverse order."""

    may_broadcast = False

    is_view = True

    def forward(self, x, axes):
        self.axes = axes
        return np.transpose(x, axes)

    def backward(self, grad, xp):
        return xp.permute(grad, tuple(np.argsort(self.axes)))


class Expand(Op):
    """out = x broadcast to ``shape`` (a read-only view);  the engine sums the gradient back
    over the broadcast axes."""

    is_view = True

    def forward(self, x, shape):
        return np.broadcast_to(x, shape)

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
