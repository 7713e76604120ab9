"""The array side of the namespace that backward formulas are written against.

A backward formula calls ``xp.mul(grad, b)``, ``xp.sum_to(grad, shape)``... On the fast path
``xp`` is the kernel namespace ``K``: the compiled kernels where there are some, these numpy
functions for the rest. Under ``create_graph=True`` it is ``minigrad/ops/tensor_math.py``,
which has a function of the same name and meaning for each of these, recording ops on Tensors.
(A test checks that the two namespaces offer the same names.)

Inputs are numpy arrays or Python numbers; outputs are new arrays or views the caller never
writes into.
"""
import functools

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
    # np.generic too: a 0-d gradient may arrive as a numpy scalar (float32 must stay float32).
    dtype = a.dtype if isinstance(a, (np.ndarray, np.generic)) else np.asarray(b).dtype
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
    axes = tuple(range(extra)) + tuple(i + extra for i, n in enumerate(shape)
                                       if n == 1 and grad.shape[i + extra] != 1)
    if not axes:
        return grad
    if grad.dtype.kind == "f":  # the backend's reduction: compiled, faster than ndarray.sum
        from . import kernels
        return kernels.reduce_axes(grad, axes, "sum", True).reshape(shape)
    return grad.sum(axis=axes, keepdims=True).reshape(shape)


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
# ---------------------------------------------------------------------------------------------
# Shape, layout and product functions (the shape ops' backward formulas)
# ---------------------------------------------------------------------------------------------

__all__ += ["cross", "diagonal", "diagonal_scatter", "einsum", "expand",
            "repeat_interleave", "roll", "segment_sum", "tril", "triu", "unfold",
            "unfold_backward", "zeros"]
__all__ += ["outer"]


def zeros(shape, dtype):
    """Zeros of ``shape`` (a constant: the gradient of a sample with respect to its
    parameters)."""
    return np.zeros(shape, dtype=dtype)


def expand(x, shape):
    """x broadcast to ``shape`` (a read-only view)."""
    return np.broadcast_to(x, shape)


def roll(x, shifts, axes):
    """x rolled by ``shifts`` along ``axes`` (elements leaving one end re-enter at the other)."""
    return np.roll(x, shifts, axes)


def tril(x, k):
    """x with the elements above the ``k``-th diagonal of its last two axes set to 0."""
    return np.tril(x, k)


def triu(x, k):
    """x with the elements below the ``k``-th diagonal of its last two axes set to 0."""
    return np.triu(x, k)


def diagonal(x, offset, axis1, axis2):
    """The ``offset`` diagonal of the (axis1, axis2) planes, as a new last axis."""
    return np.diagonal(x, offset, axis1, axis2)


def diagonal_scatter(grad, shape, offset, axis1, axis2):
    """Zeros of ``shape`` with ``grad`` written on the diagonal that ``diagonal`` reads (its
    derivative)."""
    out = np.zeros(shape, dtype=grad.dtype)
    view = np.diagonal(out, offset, axis1, axis2)
    view.flags.writeable = True  # a view of ``out``, which owns its memory
    view[...] = grad
    return out


def repeat_interleave(x, repeats, axis):
    """Each slice of x along ``axis`` repeated ``repeats`` times (an int, or one count per
    slice)."""
    return np.repeat(x, repeats, axis)


def segment_sum(grad, repeats, axis, size):
    """The derivative of ``repeat_interleave``: consecutive runs of ``repeats`` slices of
    ``grad`` along ``axis`` summed into one slice each (``size`` slices)."""
    if isinstance(repeats, (int, np.integer)):
        shape = grad.shape[:axis] + (size, int(repeats)) + grad.shape[axis + 1:]
        return np.asarray(np.sum(grad.reshape(shape), axis=axis + 1))
    out_shape = grad.shape[:axis] + (size,) + grad.shape[axis + 1:]
    out = np.zeros(out_shape, dtype=grad.dtype)
    nonzero = np.flatnonzero(repeats)
    if not nonzero.size:
        return out
    starts = np.cumsum(repeats) - repeats
    lead = (slice(None),) * axis
    if nonzero.size <= 32:  # few runs: one vectorised sum each
        for i in nonzero.tolist():
            np.sum(grad[lead + (slice(starts[i], starts[i] + repeats[i]),)], axis=axis,
                   out=out[lead + (i,)])
        return out
    # many runs: numpy's reduceat, along a last (contiguous) axis where it is fast
    moved = np.ascontiguousarray(np.moveaxis(grad, axis, -1))
    sums = np.add.reduceat(moved, starts[nonzero], axis=-1)
    out[lead + (nonzero,)] = np.moveaxis(sums, -1, axis)
    return out


def unfold(x, axis, size, step):
    """The windows of ``size`` elements every ``step`` along ``axis`` (``Tensor.unfold``):
    axis becomes the window count, and a new last axis of ``size`` runs along each window."""
    shape, strides = unfold_layout(x.shape, x.strides, axis, size, step)
    return np.lib.stride_tricks.as_strided(x, shape, strides, writeable=False)


def unfold_layout(shape, strides, axis, size, step):
    """The shape and strides of ``unfold``'s windows of an array of ``shape`` and
    ``strides``."""
    count = (shape[axis] - size) // step + 1
    return (shape[:axis] + (count,) + shape[axis + 1:] + (size,),
            strides[:axis] + (strides[axis] * step,) + strides[axis + 1:] + (strides[axis],))


def unfold_backward(grad, shape, axis, size, step):
    """The derivative of ``unfold``: each window's gradient added back where the window was
    read (windows overlap when step < size)."""
    count = grad.shape[axis]
    if step == size and count * size == shape[axis]:
        # The windows tile the axis: element j of window w came from w * size + j, so the
        # gradient is the windows laid end to end (the window axis moved next to the count
        # axis; a view of grad when its layout allows, one copy otherwise).
        return np.reshape(np.moveaxis(grad, -1, axis + 1), shape)
    out = np.zeros(shape, dtype=grad.dtype)
    if step >= size:  # disjoint windows: one strided copy into the zeros
        if count and size:
            out_shape, out_strides = unfold_layout(shape, out.strides, axis, size, step)
            windows = np.lib.stride_tricks.as_strided(out, out_shape, out_strides)
            windows[...] = grad
        return out
    lead = (slice(None),) * axis
    if size <= count:
        for j in range(size):  # the j-th element of every window at once
            out[lead + (slice(j, j + step * (count - 1) + 1, step),)] += grad[..., j]
    else:
        for w in range(count):  # one window at a time
            out[lead + (slice(w * step, w * step + size),)] += np.moveaxis(grad[lead + (w,)],
                                                                         -1, axis)
    return out


def outer(a, b):
    """out[i, j] = a[i] * b[j] for 1-D a and b (the gradient of a matrix-vector product)."""
    return np.multiply.outer(a, b)


def cross(a, b, axis):
    """The cross product of 3-vectors along ``axis`` (a and b broadcast): component k is
    a[k+1] b[k+2] - a[k+2] b[k+1] (indices mod 3)."""
    if a.size + b.size > _CROSS_TAKE_MAX:
        return np.cross(a, b, axis=axis)
    # np.cross moves axes and fills the components one by one: ~20 us of calls that a small
    # product does not need; four takes of the rotated components do it in a third of that
    # (on large arrays a take along a short axis is the slower of the two).
    return a.take(_NEXT, axis) * b.take(_AFTER, axis) - a.take(_AFTER, axis) * b.take(_NEXT, axis)


_NEXT, _AFTER = np.array([1, 2, 0]), np.array([2, 0, 1])
_CROSS_TAKE_MAX = 4096


# Contractions at most this many multiply-adds (the product of every label's size) go to
# numpy's einsum loop; larger ones are turned into one batched matrix product (BLAS).
_EINSUM_DIRECT_MAX = 1 << 15


def einsum(equation, *operands):
    """``einsum`` of an explicit equation ("ij,jk->ik": letters only, every label of one size
    in every operand), contracted left to right, each pair as one batched matmul (as PyTorch
    does). The result is a new array (or a view of a new one)."""
    if len(operands) == 1:
        result = np.asarray(np.einsum(equation, operands[0]))
        return result.copy() if np.may_share_memory(result, operands[0]) else result
    steps, final = _einsum_plan(equation, tuple(x.shape for x in operands))
    current = operands[0]
    for step, other in zip(steps, operands[1:]):
        current = _contract_pair(step, current, other)
    if final is not None:
        current = np.einsum(final, current)
    return np.asarray(current)


@functools.lru_cache(maxsize=1024)
def _einsum_plan(equation, shapes):
    """How to contract ``equation`` for operands of ``shapes``, pair by pair (cached: a
    training loop calls the same einsum with the same shapes every step)."""
    inputs, output = equation.split("->")
    subscripts = inputs.split(",")
    sizes = {}
    for subs, shape in zip(subscripts, shapes):
        sizes.update(zip(subs, shape))
    steps = []
    current = subscripts[0]
    for i in range(1, len(subscripts)):
        later = set(output).union(*subscripts[i + 1:])
        steps.append(_pair_plan(current, subscripts[i], later, sizes))
        current = steps[-1][-1]
    return tuple(steps), (f"{current}->{output}" if current != output else None)


def _kept(subs, keep):
    """The labels of ``subs`` that are kept, each once, in order."""
    return "".join(dict.fromkeys(c for c in subs if c in keep))


def _pair_plan(sa, sb, later, sizes):
    """The contraction of operands labelled sa and sb into the labels that no later operand
    and not the output can do without: labels of one operand alone are summed (and repeated
    labels reduced to their diagonal) first, then the shared labels are contracted by one
    (batched) matmul, or by numpy's einsum loop when that is small or nothing is summed."""
    ra = _kept(sa, set(sb) | later)
    rb = _kept(sb, set(ra) | later)
    reduce_a = f"{sa}->{ra}" if ra != sa else None
    reduce_b = f"{sb}->{rb}" if rb != sb else None
    batch = [c for c in ra if c in rb and c in later]
    summed = [c for c in ra if c in rb and c not in later]
    left = [c for c in ra if c not in rb]
    right = [c for c in rb if c not in ra]
    out_subs = "".join(batch + left + right)
    work = 1
    for c in set(ra) | set(rb):
        work *= sizes[c]
    if not summed or work <= _EINSUM_DIRECT_MAX:
        return reduce_a, reduce_b, f"{ra},{rb}->{out_subs}", out_subs

    def size(group):
        n = 1
        for c in group:
            n *= sizes[c]
        return n

    n_batch, n_left, n_sum, n_right = size(batch), size(left), size(summed), size(right)
    a_shape = (n_batch, n_left, n_sum) if batch else (n_left, n_sum)
    b_shape = (n_batch, n_sum, n_right) if batch else (n_sum, n_right)
    matmul = (tuple(ra.index(c) for c in batch + left + summed), a_shape,
              tuple(rb.index(c) for c in batch + summed + right), b_shape,
              tuple(sizes[c] for c in out_subs))
    return reduce_a, reduce_b, matmul, out_subs


def _contract_pair(step, a, b):
    reduce_a, reduce_b, how, _ = step
    if reduce_a is not None:
        a = np.einsum(reduce_a, a)
    if reduce_b is not None:
        b = np.einsum(reduce_b, b)
    if isinstance(how, str):
        return np.einsum(how, a, b)
    perm_a, a_shape, perm_b, b_shape, out_shape = how
    a = np.transpose(a, perm_a).reshape(a_shape)
    b = np.transpose(b, perm_b).reshape(b_shape)
    return np.matmul(a, b).reshape(out_shape)


__all__ += ["cat"]


def cat(arrays, axis):
    """The arrays joined along ``axis`` (the derivative of a split)."""
    return np.concatenate(arrays, axis=axis)
