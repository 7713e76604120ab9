"""Reductions: sums and maxima over axes."""
import numpy as np

from .._kernels import kernels as K
from ..autograd.graph import Op


class Sum(Op):
    """out = sum of x over ``axis`` (all axes if None);  every summed element gets the gradient
    of its sum: d out/dx = 1, broadcast back over the summed axes."""

    may_broadcast = False

    def forward(self, x, axis=None, keepdims=False):
        self.shape, self.axis, self.keepdims = x.shape, axis, keepdims
        if axis is None and x.dtype.kind == "f":
            out = K.sum_all(x)
            return out.reshape((1,) * x.ndim) if keepdims else out
        return np.asarray(np.sum(x, axis=axis, keepdims=keepdims))

    def backward(self, grad, xp):
        return xp.sum_backward(grad, self.shape, self.axis, self.keepdims)


class Amax(Op):
    """out = max of x over ``axis``;  the gradient is shared evenly by the elements that attain
    the max (PyTorch's rule for amax and for max() over all elements)."""

    may_broadcast = False

    def forward(self, x, axis=None, keepdims=False):
        self.axis, self.keepdims = axis, keepdims
        kept = np.amax(x, axis=axis, keepdims=True)
        hits = x == kept
        if np.isnan(kept).any():  # a NaN maximum came from the NaN elements (as torch)
            hits |= np.isnan(x) & np.isnan(kept)
        self.share = hits / np.sum(hits, axis=axis, keepdims=True)  # a constant: the choice
        self.kept_shape = kept.shape
        if keepdims:
            return kept
        return kept.reshape(()) if axis is None else np.squeeze(kept, axis)

    def backward(self, grad, xp):
        grad = xp.reshape(grad, self.kept_shape)
        return xp.mul(grad, self.share.astype(xp.values(grad).dtype, copy=False))


class MaxDim(Op):
    """values = x at ``argmax`` along ``axis`` (the first maximal index, given by the caller,
    who also returns it);  the gradient goes to that index only (PyTorch's rule for
    max(dim) / min(dim))."""

    may_broadcast = False

    def forward(self, x, axis, argmax, keepdims=False):
        self.shape, self.axis, self.keepdims = x.shape, axis, keepdims
        if x.ndim == 0:  # torch: max over dim 0 (or -1) of a 0-d tensor is the tensor itself
            self.indices = None
            return x.copy()
        self.indices = np.expand_dims(argmax, axis)
        values = np.take_along_axis(x, self.indices, axis=axis)
        return values if keepdims else np.squeeze(values, axis)

    def backward(self, grad, xp):
        if self.indices is None:
            return grad
        if not self.keepdims:
            grad = xp.reshape(grad, self.indices.shape)
        return xp.scatter_along_axis(grad, self.indices, self.axis, self.shape)
