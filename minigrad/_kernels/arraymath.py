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

__all__ = ["cast", "clone", "index", "index_put", "log", "log1p", "log_softmax", "mT",
           "maximum", "neg", "permute", "pow", "reshape", "scatter_along_axis", "scatter_index",
           "softmax", "softplus", "split", "sum", "sum_backward", "sum_to",
           "take_along_axis", "unstack", "values", "where"]


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


# ---------------------------------------------------------------------------------------------
# Shape, layout and product functions (the shape ops' backward formulas)
# ---------------------------------------------------------------------------------------------

__all__ += ["cross", "diagonal", "diagonal_scatter", "einsum", "expand", "flip",
            "repeat_interleave", "roll", "segment_sum", "tril", "triu", "unfold",
            "unfold_backward", "zeros"]


def zeros(shape, dtype):
    """Zeros of ``shape`` (a constant: the gradient of a sample with respect to its
    parameters)."""
    return np.zeros(shape, dtype=dtype)


def expand(x, shape):
    """x broadcast to ``shape`` (a read-only view)."""
    return np.broadcast_to(x, shape)


def flip(x, axes):
    """x reversed along ``axes`` (a new array)."""
    return np.flip(x, axes).copy()


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
    count = (x.shape[axis] - size) // step + 1
    shape = x.shape[:axis] + (count,) + x.shape[axis + 1:] + (size,)
    strides = x.strides[:axis] + (x.strides[axis] * step,) + x.strides[axis + 1:] + \
        (x.strides[axis],)
    return np.lib.stride_tricks.as_strided(x, shape, strides, writeable=False)


def unfold_backward(grad, shape, axis, size, step):
    """The derivative of ``unfold``: each window's gradient added back where the window was
    read (windows overlap when step < size)."""
    out = np.zeros(shape, dtype=grad.dtype)
    count = grad.shape[axis]
    lead = (slice(None),) * axis
    if size <= count:
        for j in range(size):  # the j-th element of every window at once
            out[lead + (slice(j, j + step * (count - 1) + 1, step),)] += grad[..., j]
    else:
        for w in range(count):  # one window at a time
            out[lead + (slice(w * step, w * step + size),)] += np.moveaxis(grad[lead + (w,)],
                                                                         -1, axis)
    return out


def cross(a, b, axis):
    """The cross product of 3-vectors along ``axis`` (a and b broadcast)."""
    return np.cross(a, b, axis=axis)


# Contractions at most this many multiply-adds (the product of every label's size) go to
# numpy's einsum loop; larger ones are turned into one batched matrix product (BLAS).
_EINSUM_DIRECT_MAX = 1 << 15


def einsum(equation, *operands):
    """``einsum`` of an explicit equation ("ij,jk->ik": letters only, every label of one size
    in every operand), contracted left to right, each pair as one batched matmul (as PyTorch
    does). The result is a new array."""
    inputs, output = equation.split("->")
    subscripts = inputs.split(",")
    if len(operands) == 1:
        return _fresh(np.einsum(equation, operands[0]), operands)
    current, current_subs = operands[0], subscripts[0]
    for i in range(1, len(operands)):
        later = set(output).union(*subscripts[i + 1:])
        current, current_subs = _contract_pair(current, current_subs, operands[i],
                                               subscripts[i], later)
    if current_subs != output:
        current = np.einsum(f"{current_subs}->{output}", current)
    return _fresh(current, operands)


def _fresh(result, operands):
    """``result`` as an array that shares no memory with the operands."""
    result = np.asarray(result)
    if any(np.may_share_memory(result, x) for x in operands):
        result = result.copy()
    return result


def _reduce_alone(x, subs, keep):
    """x with the labels outside ``keep`` summed away and repeated labels reduced to their
    diagonal (numpy's einsum on one operand is fast at both)."""
    labels = "".join(dict.fromkeys(c for c in subs if c in keep))
    if labels == subs:
        return x, subs
    return np.einsum(f"{subs}->{labels}", x), labels


def _contract_pair(a, sa, b, sb, later):
    """a (labels sa) times b (labels sb), summed over the labels that no later operand and
    not the output need; returns (result, its labels)."""
    a, sa = _reduce_alone(a, sa, set(sb) | later)
    b, sb = _reduce_alone(b, sb, set(sa) | later)
    sizes = dict(zip(sa, a.shape))
    sizes.update(zip(sb, b.shape))
    batch = [c for c in sa if c in sb and c in later]
    summed = [c for c in sa if c in sb and c not in later]
    left = [c for c in sa if c not in sb]
    right = [c for c in sb if c not in sa]
    out_subs = "".join(batch + left + right)
    work = 1
    for n in sizes.values():
        work *= n
    if not summed or work <= _EINSUM_DIRECT_MAX:
        return np.einsum(f"{sa},{sb}->{out_subs}", a, b), out_subs
    n_batch, n_left, n_sum, n_right = (int(np.prod([sizes[c] for c in group], dtype=np.int64))
                                       for group in (batch, left, summed, right))
    a2 = np.transpose(a, [sa.index(c) for c in batch + left + summed])
    b2 = np.transpose(b, [sb.index(c) for c in batch + summed + right])
    if batch:
        out = np.matmul(a2.reshape(n_batch, n_left, n_sum), b2.reshape(n_batch, n_sum, n_right))
    else:
        out = np.matmul(a2.reshape(n_left, n_sum), b2.reshape(n_sum, n_right))
    return out.reshape([sizes[c] for c in out_subs]), out_subs


__all__ += ["cat"]


def cat(arrays, axis):
    """The arrays joined along ``axis`` (the derivative of a split)."""
    return np.concatenate(arrays, axis=axis)
