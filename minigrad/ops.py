"""The primitive differentiable ops: one ``Function`` each, forward and backward side by side.

Every op works on numpy arrays: ``forward`` computes the output and keeps what the chain rule
will need; ``backward`` gets g = dL/d(output) and returns dL/d(input) for each input. Binary
ops may return gradients of the broadcast shape: the engine reduces them (``unbroadcast``).

Everything else in ``tensor.py`` (subtraction of a scalar, mean, squeeze, stack, ...) is
built from these and needs no backward of its own. Hot ops call the kernels through ``K``,
which is either the compiled Cython kernels or their numpy twins.
"""
import numpy as np

from ._kernels import kernels as K
from .autograd import Function, unbroadcast
from .errors import ShapeError

# ---------------------------------------------------------------------------------------------
# Elementwise binary ops. Either argument may be a Python scalar (a constant: no gradient).
# ---------------------------------------------------------------------------------------------


class Add(Function):
    """out = a + b;  d out/da = 1, d out/db = 1."""

    def forward(self, a, b):
        return K.add(a, b)

    def backward(self, g):
        return g, g


class Sub(Function):
    """out = a - b;  d out/da = 1, d out/db = -1."""

    def forward(self, a, b):
        return K.sub(a, b)

    def backward(self, g):
        return g, (-g if self.needs_input_grad[1] else None)


class Mul(Function):
    """out = a * b;  d out/da = b, d out/db = a."""

    def forward(self, a, b):
        self.a, self.b = a, b
        return K.mul(a, b)

    def backward(self, g):
        need_a, need_b = self.needs_input_grad
        return (K.mul(g, self.b) if need_a else None,
                K.mul(g, self.a) if need_b else None)


class Div(Function):
    """out = a / b;  d out/da = 1/b, d out/db = -a/b**2 = -out/b."""

    def forward(self, a, b):
        self.b = b
        self.out = K.div(a, b)
        return self.out

    def backward(self, g):
        need_a, need_b = self.needs_input_grad
        grad_a = K.div(g, self.b) if need_a else None
        grad_b = -K.div(K.mul(g, self.out), self.b) if need_b else None
        return grad_a, grad_b


class Pow(Function):
    """out = a ** b;  d out/da = b * a**(b-1), d out/db = out * log(a)."""

    def forward(self, a, b):
        self.a, self.b = a, b
        self.out = np.power(a, b)
        return self.out

    def backward(self, g):
        need_a, need_b = self.needs_input_grad
        a, b = self.a, self.b
        grad_a = grad_b = None
        if need_a:
            if isinstance(b, (int, float)) and b == 2:
                grad_a = g * (2 * a)
            else:
                grad_a = g * (b * np.power(a, b - 1))
        if need_b:
            # PyTorch's convention: the term is 0 where a == 0 and b >= 0 (0**b has slope 0 in b).
            with np.errstate(divide="ignore", invalid="ignore"):
                log_a = np.log(a)
            grad_b = g * np.where((np.asarray(a) == 0) & (np.asarray(b) >= 0), 0,
                                  self.out * log_a)
        return grad_a, grad_b


class Neg(Function):
    """out = -a;  d out/da = -1."""

    def forward(self, a):
        return np.negative(a)

    def backward(self, g):
        return (-g,)


# ---------------------------------------------------------------------------------------------
# Unary math and activations
# ---------------------------------------------------------------------------------------------


class Exp(Function):
    """out = exp(x);  d out/dx = exp(x) = out."""

    def forward(self, x):
        self.out = K.exp(x)
        return self.out

    def backward(self, g):
        return (K.mul(g, self.out),)


class Log(Function):
    """out = log(x);  d out/dx = 1/x."""

    def forward(self, x):
        self.x = x
        return K.log(x)

    def backward(self, g):
        return (K.div(g, self.x),)


class Sqrt(Function):
    """out = sqrt(x);  d out/dx = 1 / (2 sqrt(x))."""

    def forward(self, x):
        self.out = K.sqrt(x)
        return self.out

    def backward(self, g):
        return (K.div(g, 2 * self.out),)


class Abs(Function):
    """out = |x|;  d out/dx = sign(x) (0 at x == 0, as in PyTorch)."""

    def forward(self, x):
        self.x = x
        return np.abs(x)

    def backward(self, g):
        return (g * np.sign(self.x),)


class Clamp(Function):
    """out = min(max(x, lo), hi);  d out/dx = 1 where lo <= x <= hi, else 0 (PyTorch's rule)."""

    def forward(self, x, lo=None, hi=None):
        self.x, self.lo, self.hi = x, lo, hi
        out = x
        if lo is not None:
            out = np.maximum(out, np.asarray(lo, dtype=x.dtype))
        if hi is not None:
            out = np.minimum(out, np.asarray(hi, dtype=x.dtype))
        return out if out is not x else x.copy()

    def backward(self, g):
        inside = np.ones(self.x.shape, dtype=bool)
        if self.lo is not None:
            inside &= self.x >= self.lo
        if self.hi is not None:
            inside &= self.x <= self.hi
        return (np.where(inside, g, 0).astype(g.dtype, copy=False),)


class ReLU(Function):
    """out = max(x, 0);  d out/dx = 1[x > 0]."""

    def forward(self, x):
        self.x = x
        return K.relu(x)

    def backward(self, g):
        return (K.relu_backward(self.x, g),)


class Sigmoid(Function):
    """out = 1 / (1 + exp(-x));  d out/dx = out (1 - out)."""

    def forward(self, x):
        self.out = K.sigmoid(x)
        return self.out

    def backward(self, g):
        return (K.sigmoid_backward(self.out, g),)


class Tanh(Function):
    """out = tanh(x);  d out/dx = 1 - out**2."""

    def forward(self, x):
        self.out = K.tanh(x)
        return self.out

    def backward(self, g):
        return (K.tanh_backward(self.out, g),)


class Cast(Function):
    """out = x converted to another float dtype;  the gradient is converted back."""

    def forward(self, x, dtype):
        self.dtype = x.dtype
        return x.astype(dtype)

    def backward(self, g):
        return (g.astype(self.dtype),)


class Clone(Function):
    """out = a copy of x;  d out/dx = 1."""

    def forward(self, x):
        return x.copy()

    def backward(self, g):
        return (g,)


# ---------------------------------------------------------------------------------------------
# Reductions
# ---------------------------------------------------------------------------------------------


class Sum(Function):
    """out = sum of x over ``axis`` (all axes if None);  every summed element gets g."""

    def forward(self, x, axis=None, keepdims=False):
        self.shape, self.axis, self.keepdims = x.shape, axis, keepdims
        if axis is None and x.dtype.kind == "f":
            out = K.sum_all(x)
            return out.reshape((1,) * x.ndim) if keepdims else out
        out = np.sum(x, axis=axis, keepdims=keepdims)
        return np.asarray(out)

    def backward(self, g):
        if not self.keepdims and self.axis is not None:
            g = np.expand_dims(g, self.axis)
        grad = np.empty(self.shape, dtype=g.dtype)  # faster than np.broadcast_to on small
        grad[...] = g                                # arrays, and gives an array we own
        return (grad,)


class Amax(Function):
    """out = max of x over ``axis``;  g is shared evenly by the elements that attain the max
    (PyTorch's rule for amax and for max() over all elements)."""

    def forward(self, x, axis=None, keepdims=False):
        self.x, self.axis, self.keepdims = x, axis, keepdims
        self.out = np.amax(x, axis=axis, keepdims=True)
        if keepdims:
            return self.out
        return self.out.reshape(()) if axis is None else np.squeeze(self.out, axis)

    def backward(self, g):
        if not self.keepdims:
            g = g.reshape(self.out.shape)
        hits = (self.x == self.out)
        if np.isnan(self.out).any():  # a NaN maximum came from the NaN elements (as torch)
            hits |= np.isnan(self.x) & np.isnan(self.out)
        count = np.sum(hits, axis=self.axis, keepdims=True)
        return (np.where(hits, g / count, 0).astype(g.dtype, copy=False),)


class MaxDim(Function):
    """values = max of x along ``axis`` at ``argmax`` (the first maximal index, given by the
    caller, who also returns it); the gradient goes to that index only (PyTorch's rule for
    max(dim))."""

    def forward(self, x, axis, argmax, keepdims=False):
        self.shape, self.axis, self.keepdims = x.shape, axis, keepdims
        if x.ndim == 0:  # torch: max over dim 0 (or -1) of a 0-d tensor is the tensor itself
            self.indices = None
            return x.copy()
        self.indices = np.expand_dims(argmax, axis)
        values = np.take_along_axis(x, self.indices, axis=axis)
        return values if keepdims else np.squeeze(values, axis)

    def backward(self, g):
        if self.indices is None:
            return (g,)
        if not self.keepdims:
            g = np.expand_dims(g, self.axis)
        grad = np.zeros(self.shape, dtype=g.dtype)
        np.put_along_axis(grad, self.indices, g, axis=self.axis)
        return (grad,)


# ---------------------------------------------------------------------------------------------
# Matrix product
# ---------------------------------------------------------------------------------------------


class MatMul(Function):
    """out = a @ b with numpy's rules (1-D, 2-D, batched N-D);
    d out/da = g @ b^T,  d out/db = a^T @ g  (summed over broadcast batch axes)."""

    def forward(self, a, b):
        self.a, self.b = a, b
        if a.ndim == 2 and b.ndim == 2 and a.dtype == b.dtype:
            return K.matmul(a, b)
        return np.matmul(a, b)

    def backward(self, g):
        a, b = self.a, self.b
        need_a, need_b = self.needs_input_grad
        if a.ndim == 2 and b.ndim == 2:
            return (K.matmul(g, b.T) if need_a else None,
                    K.matmul(a.T, g) if need_b else None)
        # Lift 1-D operands to matrices, as matmul itself does, then drop the added axis again.
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        # (b's axis first: for 1-D @ 1-D, g is 0-d and must become (1, 1).)
        g2 = g
        if b.ndim == 1:
            g2 = np.expand_dims(g2, -1)
        if a.ndim == 1:
            g2 = np.expand_dims(g2, -2)
        grad_a = grad_b = None
        if need_a:
            grad_a = unbroadcast(np.matmul(g2, np.swapaxes(b2, -1, -2)), a2.shape)
            grad_a = grad_a.reshape(a.shape)
        if need_b:
            grad_b = unbroadcast(np.matmul(np.swapaxes(a2, -1, -2), g2), b2.shape)
            grad_b = grad_b.reshape(b.shape)
        return grad_a, grad_b




# ---------------------------------------------------------------------------------------------
# Shape ops: they move elements around, so backward moves the gradient back.
# ---------------------------------------------------------------------------------------------


class Reshape(Function):
    """out = x viewed with a new shape;  the gradient is reshaped back."""

    def forward(self, x, shape):
        self.shape = x.shape
        return np.reshape(x, shape)

    def backward(self, g):
        return (np.reshape(g, self.shape),)


class Permute(Function):
    """out = x with its axes reordered;  the gradient gets the inverse order."""

    def forward(self, x, axes):
        self.axes = axes
        return np.transpose(x, axes)

    def backward(self, g):
        return (np.transpose(g, np.argsort(self.axes)),)


class Expand(Function):
    """out = x broadcast to ``shape`` (a read-only view);  the engine sums the gradient back."""

    def forward(self, x, shape):
        return np.broadcast_to(x, shape)

    def backward(self, g):
        return (g,)


class Index(Function):
    """out = x[index] (basic slicing or integer/boolean arrays);
    the gradient is scattered back, adding where an index repeats."""

    def forward(self, x, index):
        self.shape, self.index = x.shape, index
        parts = index if isinstance(index, tuple) else (index,)
        self.advanced = any(isinstance(p, (np.ndarray, list)) for p in parts)
        return np.asarray(x[index])

    def backward(self, g):
        grad = np.zeros(self.shape, dtype=g.dtype)
        if self.advanced:
            np.add.at(grad, self.index, g)  # an index may repeat: contributions add up
        else:
            grad[self.index] = g
        return (grad,)


class Cat(Function):
    """out = the inputs joined along ``axis``;  each input gets its slice of the gradient."""

    def forward(self, *arrays, axis=0):
        self.axis = axis
        self.bounds = np.cumsum([a.shape[axis] for a in arrays])[:-1]
        return np.concatenate(arrays, axis=axis)

    def backward(self, g):
        return tuple(np.split(g, self.bounds, axis=self.axis))


class Stack(Function):
    """out = the inputs stacked along a new ``axis``;  each input gets its slice of g."""

    def forward(self, *arrays, axis=0):
        self.axis = axis
        return np.stack(arrays, axis=axis)

    def backward(self, g):
        return tuple(np.take(g, i, axis=self.axis) for i in range(g.shape[self.axis]))


def check_matmul_shapes(a_shape, b_shape):
    """Raise ShapeError, naming both shapes, where numpy's matmul would reject them."""
    if len(a_shape) == 0 or len(b_shape) == 0:
        raise ShapeError(f"matmul: both arguments need at least 1 dimension, got shapes "
                         f"{tuple(a_shape)} and {tuple(b_shape)}")
    k_a = a_shape[-1]
    k_b = b_shape[0] if len(b_shape) == 1 else b_shape[-2]
    if k_a != k_b:
        raise ShapeError(f"matmul: shapes {tuple(a_shape)} and {tuple(b_shape)} cannot be "
                         f"multiplied ({k_a} != {k_b})")
    if len(a_shape) <= 2 and len(b_shape) <= 2:
        return
    try:
        np.broadcast_shapes(a_shape[:-2], b_shape[:-2])
    except ValueError:
        raise ShapeError(f"matmul: batch dimensions of shapes {tuple(a_shape)} and "
                         f"{tuple(b_shape)} do not broadcast") from None


class Maximum(Function):
    """out = max(a, b) elementwise;  g goes to the larger input, half to each on a tie
    (PyTorch's rule)."""

    def forward(self, a, b):
        self.a, self.b = a, b
        return np.maximum(a, b)

    def backward(self, g):
        half = g * g.dtype.type(0.5)
        zero = np.zeros((), dtype=g.dtype)
        tie = self.a == self.b
        grad_a = np.where(self.a > self.b, g, np.where(tie, half, zero))
        grad_b = np.where(self.a < self.b, g, np.where(tie, half, zero))
        return grad_a, grad_b


class Where(Function):
    """out = where(mask, a, b);  a gets g where mask holds, b gets it elsewhere."""

    def forward(self, mask, a, b):
        self.mask = mask
        return np.where(mask, a, b)

    def backward(self, g):
        zero = np.zeros((), dtype=g.dtype)
        return None, np.where(self.mask, g, zero), np.where(self.mask, zero, g)
