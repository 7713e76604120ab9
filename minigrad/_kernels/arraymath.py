"""The array side of the namespace that backward formulas are written against.

A backward formula calls ``xp.mul(grad, b)``, ``xp.sum_to(grad, shape)``... On the fast path
``xp`` is the kernel namespace ``K``: the compiled kernels where there are some, these numpy
functions for the rest. Under ``create_graph=True`` it is ``minigrad/ops/tensor_math.py``,
which has a function of the same name and meaning for each of these, recording ops on Tensors.
(A test checks that the two namespaces offer the same names.)

Inputs are numpy arrays or Python numbers; outputs are new arrays or views the caller never
writes into.
"""
import numpy as np

__all__ = ["cast", "clone", "cos", "cosh", "index", "index_put", "log", "log1p",
           "log_softmax", "mT", "maximum", "neg", "permute", "pow", "reshape",
           "scatter_along_axis", "scatter_index", "sin", "sinh", "softmax", "softplus", "split",
           "sum", "sum_backward", "sum_to", "take_along_axis", "unstack", "values", "where",
           "zeros_like"]
# Reductions and scans (the kernels add cumsum and logcumsumexp; see reference.py).
__all__ += ["linear_scan", "logcumsumexp", "prod"]  # (cumprod is a kernel)


def values(x):
    """The numpy values of x (for masks and other constants a formula derives)."""
    return x


def neg(x):
    return np.negative(x)


def pow(x, exponent):
    return np.power(x, exponent)


def log(x):
    return np.log(x)


def log1p(x):
    return np.log1p(x)


def sin(x):
    return np.sin(x)


def cos(x):
    return np.cos(x)


def sinh(x):
    return np.sinh(x)


def cosh(x):
    return np.cosh(x)


def zeros_like(x):
    """Zeros of x's shape and dtype (the gradient of a piecewise-constant function)."""
    return np.zeros(np.shape(x), dtype=np.asarray(x).dtype)


def softplus(x):
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


def maximum(a, b):
    return np.maximum(a, b)


def where(condition, a, b):
    """a where condition holds, else b; a number takes the dtype of the array it meets."""
    dtype = a.dtype if isinstance(a, np.ndarray) else np.asarray(b).dtype
    return np.where(condition, a, b).astype(dtype, copy=False)


def softmax(x, axis):
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def log_softmax(x, axis):
    shifted = x - np.max(x, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def cast(x, dtype):
    return x.astype(dtype, copy=False)


def clone(x):
    return np.array(x, copy=True)


def sum(x, axis=None, keepdims=False):
    return np.asarray(np.sum(x, axis=axis, keepdims=keepdims))


def sum_to(grad, shape):
    """Sum ``grad`` (of a broadcast result's shape) down to ``shape``: broadcasting copies an
    input along new leading axes and along axes of size 1, so its gradient is the sum of the
    output gradient over exactly those axes."""
    extra = grad.ndim - len(shape)
    if extra:
        grad = grad.sum(axis=tuple(range(extra)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    return grad


def sum_backward(grad, shape, axis, keepdims):
    """The gradient of a sum over ``axis``: ``grad`` copied to every summed element."""
    if not keepdims and axis is not None:
        grad = np.expand_dims(grad, axis)
    out = np.empty(shape, dtype=grad.dtype)  # faster than np.broadcast_to on small arrays,
    out[...] = grad                           # and an array the engine may own
    return out


def reshape(x, shape):
    return np.reshape(x, shape)


def permute(x, axes):
    return np.transpose(x, axes)


def mT(x):
    return np.swapaxes(x, -1, -2)


def split(x, bounds, axis):
    return tuple(np.split(x, bounds, axis=axis))


def unstack(x, axis, count):
    return tuple(np.take(x, i, axis=axis) for i in range(count))


def index(x, index):
    return np.asarray(x[index])


def scatter_index(grad, index, shape):
    """Zeros of ``shape`` with ``grad`` added at ``index`` (adding where an index repeats)."""
    out = np.zeros(shape, dtype=grad.dtype)
    parts = index if isinstance(index, tuple) else (index,)
    if any(isinstance(p, (np.ndarray, list)) for p in parts):
        np.add.at(out, index, grad)
    else:
        out[index] = grad
    return out


def index_put(x, index, value):
    out = np.array(x, copy=True)
    out[index] = value
    return out


def take_along_axis(x, indices, axis):
    return np.take_along_axis(x, indices, axis=axis)


def scatter_along_axis(grad, indices, axis, shape):
    out = np.zeros(shape, dtype=grad.dtype)
    index = list(np.ix_(*[np.arange(n) for n in indices.shape]))
    index[axis] = indices
    np.add.at(out, tuple(index), grad)
    return out


# ----- convolution family (ops/conv.py) ------------------------------------------------------

__all__ += ["constant_pad"]


def constant_pad(x, pads, value):
    """x with ``pads[d] = (before, after)`` elements equal to ``value`` added on either side of
    each dimension d (one pair per dimension of x); a negative amount removes elements."""
    x = x[tuple(slice(max(-lo, 0), n - max(-hi, 0)) for n, (lo, hi) in zip(x.shape, pads))]
    out = np.full(tuple(n + max(lo, 0) + max(hi, 0) for n, (lo, hi) in zip(x.shape, pads)),
                  value, dtype=x.dtype)
    out[tuple(slice(max(lo, 0), max(lo, 0) + n) for n, (lo, _) in zip(x.shape, pads))] = x
    return out
# ----- reductions and scans -------------------------------------------------------------------


def prod(x, axis=None, keepdims=False):
    return np.asarray(np.prod(x, axis=axis, keepdims=keepdims))


def linear_scan(g, a, axis, reverse=False):
    """out_i = g_i + a_i * out_{i-1} along ``axis`` (``reverse``: a_i * out_{i+1}), one
    position at a time."""
    out = np.array(np.moveaxis(g, axis, 0), dtype=np.result_type(g, a), copy=True)
    coefficients = np.moveaxis(a, axis, 0)
    n = out.shape[0]
    order = range(n - 2, -1, -1) if reverse else range(1, n)
    for i in order:
        out[i] += coefficients[i] * out[i + 1 if reverse else i - 1]
    return np.moveaxis(out, 0, axis)


def logcumsumexp(x, axis, reverse=False):
    """log of the running sums of exp(x) along ``axis``, pairwise with logaddexp (stable)."""
    if reverse:
        flip = (slice(None),) * axis + (slice(None, None, -1),)
        return np.logaddexp.accumulate(x[flip], axis=axis)[flip]
    return np.logaddexp.accumulate(x, axis=axis)
