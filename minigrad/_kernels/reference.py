"""Plain-numpy twins of every Cython kernel.

This file is the contract for the compiled kernels in this folder: each function here has a
twin of the same name and signature in one of the ``_*.pyx`` modules, and the tests run both
and compare them in float32 and float64. It is also the readable version: a student who wants
to see what a kernel computes reads it here.

Conventions shared by both backends
-----------------------------------
- Float inputs of one call share one dtype, float32 or float64 (the Python layer promotes
  before calling). Binary elementwise kernels also accept any other dtype and then simply defer
  to numpy, so the engine can call them for integer tensors too.
- Inputs may have any layout (the compiled twins take a fast path for C-contiguous inputs
  and fall back to numpy otherwise). Outputs are new arrays unless the name ends in ``_``
  (in-place, on C-contiguous float arrays, as the optimizer kernels are).
- Shapes have been checked by the caller: kernels never validate them.

Select the backend for the whole engine with the environment variable
``MINIGRAD_KERNELS=numpy`` (read once at import); see ``minigrad/_kernels/__init__.py``.
"""
import numpy as np

# ---------------------------------------------------------------------------------------------
# Elementwise binary ops, numpy broadcasting. Cython fast paths: same shape, scalar (size-1)
# operand on either side, row vector (a: (m, n), b: (n,) or (1, n)), column (b: (m, 1)).
# ---------------------------------------------------------------------------------------------


def add(a, b):
    return np.add(a, b)


def sub(a, b):
    return np.subtract(a, b)


def mul(a, b):
    return np.multiply(a, b)


def div(a, b):
    return np.true_divide(a, b)


# ---------------------------------------------------------------------------------------------
# Unary math and activations. ``*_backward`` gets what the forward saved (the input x or the
# output y, as named) and the incoming gradient, and returns the gradient for x.
# ---------------------------------------------------------------------------------------------


def exp(x):
    return np.exp(x)


def log(x):
    return np.log(x)


def sqrt(x):
    return np.sqrt(x)


def relu(x):
    """relu(x) = max(x, 0). NaN stays NaN (as in PyTorch)."""
    return np.where(x > 0, x, np.where(np.isnan(x), x, 0)).astype(x.dtype, copy=False)


def relu_backward(x, grad_output):
    """d relu/dx = 0 where x <= 0 (so 0 at x == 0), 1 elsewhere: written as PyTorch's
    threshold_backward, ``x <= 0 ? 0 : g``, so a NaN input passes its gradient through."""
    return np.where(x <= 0, 0, grad_output).astype(grad_output.dtype, copy=False)


def leaky_relu(x, negative_slope):
    return np.where(x > 0, x, x * negative_slope).astype(x.dtype, copy=False)


def leaky_relu_backward(x, grad_output, negative_slope):
    """d/dx = 1 for x > 0, negative_slope otherwise."""
    return np.where(x > 0, grad_output, grad_output * negative_slope).astype(
        grad_output.dtype, copy=False)


def sigmoid(x):
    """sigmoid(x) = 1 / (1 + exp(-x)), computed without overflow for either sign of x."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


def sigmoid_backward(y, grad_output):
    """With y = sigmoid(x): dy/dx = y * (1 - y)."""
    return grad_output * y * (1 - y)


def tanh(x):
    return np.tanh(x)


def tanh_backward(y, grad_output):
    """With y = tanh(x): dy/dx = 1 - y**2."""
    return grad_output * (1 - y * y)


# ---------------------------------------------------------------------------------------------
# Reductions
# ---------------------------------------------------------------------------------------------


def sum_all(x):
    """Sum of every element, as a 0-d array of x's dtype."""
    return np.asarray(np.sum(x), dtype=x.dtype)


def sum_rows(x):
    """Column sums of a 2-D array, shape (n,): the bias gradient of a Linear layer."""
    return np.sum(x, axis=0)


# ---------------------------------------------------------------------------------------------
# Matrix products
# ---------------------------------------------------------------------------------------------


def matmul(a, b):
    """(m, k) @ (k, n) -> (m, n), both 2-D and of one float dtype."""
    return np.matmul(a, b)


def linear_forward(x, weight, bias):
    """y = x @ weight.T + bias with x: (N, in), weight: (out, in), bias: (out,) or None."""
    y = np.matmul(x, weight.T)
    if bias is not None:
        y += bias
    return y


def linear_backward(grad_output, x, weight, need_x, need_weight, need_bias):
    """Gradients of y = x @ weight.T + bias, given g = dL/dy of shape (N, out):

    dL/dx = g @ weight,  dL/dweight = g.T @ x,  dL/dbias = sum over rows of g.
    Returns (grad_x, grad_weight, grad_bias); an entry not asked for is None.
    """
    grad_x = np.matmul(grad_output, weight) if need_x else None
    grad_weight = np.matmul(grad_output.T, x) if need_weight else None
    grad_bias = np.sum(grad_output, axis=0) if need_bias else None
    return grad_x, grad_weight, grad_bias


# ---------------------------------------------------------------------------------------------
# Fused loss kernels: value and gradient in one pass.
# ---------------------------------------------------------------------------------------------


def mse_loss(pred, target):
    """Returns (S, G): S = sum((pred - target)**2) as a Python float, G = dS/dpred = 2 (pred - target).

    pred and target have one shape and one dtype; the caller scales by 1/n for reduction='mean'.
    """
    diff = pred - target
    return float(np.dot(diff.ravel(), diff.ravel())), 2 * diff


def softmax_cross_entropy(logits, target):
    """Cross-entropy of (N, C) logits against int64 class indices (N,), log-sum-exp stable.

    loss_i = logsumexp(logits_i) - logits_i[target_i]
    Returns (losses (N,), G (N, C)) where G = d(sum_i loss_i)/dlogits = softmax(logits) - onehot.
    Targets have been checked to lie in [0, C) by the caller.
    """
    m = np.max(logits, axis=1, keepdims=True) if logits.shape[1] else np.zeros(
        (logits.shape[0], 1), logits.dtype)
    shifted = logits - m
    e = np.exp(shifted)
    s = np.sum(e, axis=1, keepdims=True)
    rows = np.arange(logits.shape[0])
    losses = (np.log(s) - shifted[rows, target][:, None])[:, 0]
    grad = e / s
    grad[rows, target] -= 1
    return losses.astype(logits.dtype, copy=False), grad.astype(logits.dtype, copy=False)


def bce_with_logits(x, y):
    """Binary cross-entropy on logits, elementwise, stable for any x:

    loss = max(x, 0) - x * y + log(1 + exp(-|x|)),   dloss/dx = sigmoid(x) - y.
    Returns (losses, grads), both of x's shape.
    """
    losses = np.maximum(x, 0) - x * y + np.log1p(np.exp(-np.abs(x)))
    return losses.astype(x.dtype, copy=False), (sigmoid(x) - y).astype(x.dtype, copy=False)


# ---------------------------------------------------------------------------------------------
# Optimizer kernels: one call updates one parameter IN PLACE (param and the state buffers).
#
# Each is PyTorch's single-tensor update (torch/optim/*.py, ``_single_tensor_*``) written with
# numpy, operation by operation in PyTorch's order, so float64 trajectories agree with
# torch.optim to round-off. PyTorch does the arithmetic in the parameter's dtype, rounding each
# Python-float hyper-parameter to that dtype first; ``_scalar`` does the same here (numpy would
# otherwise keep a float64 scalar strong and compute a float32 update in float64).
# ``grad`` is never modified and is read in the parameter's dtype. ``param`` and ``grad`` may
# have any layout; the state buffers are C-contiguous arrays of the parameter's dtype.
# ---------------------------------------------------------------------------------------------


def _scalar(value, array):
    """A Python float rounded to ``array``'s dtype, as PyTorch rounds a scalar operand."""
    return array.dtype.type(value)


def _lerp(start, end, weight):
    """torch.lerp(start, end, weight) for a scalar weight, in ATen's two forms.

    start + weight * (end - start) when |weight| < 0.5, else end - (end - start) * (1 - weight):
    each form is exact at its own end point.
    """
    w = _scalar(weight, start)
    if abs(float(w)) < 0.5:
        return start + w * (end - start)
    return end - (end - start) * (_scalar(1, start) - w)


def sgd_(param, grad, momentum_buffer, lr, weight_decay, momentum, dampening, nesterov,
         maximize, first_step):
    """SGD with momentum, PyTorch's form (the dampening applies to the gradient term):

        g = -grad if maximize else grad
        g = g + weight_decay * param                          (if weight_decay != 0)
        buf = g  (first step)  or  buf = buf * momentum + (1 - dampening) * g
        g = g + momentum * buf  (nesterov)  or  g = buf       (if momentum != 0)
        param = param + (-lr) * g
    """
    grad = np.asarray(grad, dtype=param.dtype)
    g = -grad if maximize else grad
    if weight_decay != 0:
        g = g + _scalar(weight_decay, param) * param
    if momentum != 0:
        if first_step:
            momentum_buffer[...] = g
        else:
            momentum_buffer[...] = (momentum_buffer * _scalar(momentum, param)
                                    + _scalar(1 - dampening, param) * g)
        if nesterov:
            g = g + _scalar(momentum, param) * momentum_buffer
        else:
            g = momentum_buffer
    param[...] = param + _scalar(-lr, param) * g


def adagrad_(param, grad, state_sum, clr, weight_decay, eps, maximize):
    """Adagrad; ``clr = lr / (1 + (step - 1) * lr_decay)`` is computed by the caller:

        g = -grad if maximize else grad
        g = g + weight_decay * param                          (if weight_decay != 0)
        state_sum = state_sum + g * g
        param = param + (-clr) * g / (sqrt(state_sum) + eps)
    """
    grad = np.asarray(grad, dtype=param.dtype)
    g = -grad if maximize else grad
    if weight_decay != 0:
        g = g + _scalar(weight_decay, param) * param
    state_sum[...] = state_sum + _scalar(1, param) * g * g
    std = np.sqrt(state_sum) + _scalar(eps, param)
    param[...] = param + _scalar(-clr, param) * g / std


def rmsprop_(param, grad, square_avg, grad_avg, momentum_buffer, lr, alpha, eps,
             weight_decay, momentum, centered, maximize):
    """RMSprop, PyTorch's form (eps added outside the square root):

        g = -grad if maximize else grad
        g = g + weight_decay * param                          (if weight_decay != 0)
        square_avg = square_avg * alpha + (1 - alpha) * g * g
        centered:  grad_avg = lerp(grad_avg, g, 1 - alpha)
                   avg = sqrt(square_avg - grad_avg * grad_avg) + eps
        otherwise: avg = sqrt(square_avg) + eps
        momentum > 0: buf = buf * momentum + g / avg;  param = param + (-lr) * buf
        otherwise:    param = param + (-lr) * g / avg
    grad_avg is None unless centered; momentum_buffer is None unless momentum > 0.
    """
    grad = np.asarray(grad, dtype=param.dtype)
    g = -grad if maximize else grad
    if weight_decay != 0:
        g = g + _scalar(weight_decay, param) * param
    square_avg[...] = (square_avg * _scalar(alpha, param)
                       + _scalar(1 - alpha, param) * g * g)
    if centered:
        grad_avg[...] = _lerp(grad_avg, g, 1 - alpha)
        avg = np.sqrt(square_avg + _scalar(-1, param) * grad_avg * grad_avg)
    else:
        avg = np.sqrt(square_avg)
    avg = avg + _scalar(eps, param)
    if momentum > 0:
        momentum_buffer[...] = (momentum_buffer * _scalar(momentum, param)
                                + _scalar(1, param) * g / avg)
        param[...] = param + _scalar(-lr, param) * momentum_buffer
    else:
        param[...] = param + _scalar(-lr, param) * g / avg


def adam_(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, lr, beta1, beta2, eps,
          weight_decay, decoupled_weight_decay, amsgrad, maximize, step_size,
          bias_correction2_sqrt):
    """Adam (AdamW with ``decoupled_weight_decay``), PyTorch's form. With t the step count
    after increment, the caller computes ``step_size = lr / (1 - beta1**t)`` and
    ``bias_correction2_sqrt = (1 - beta2**t) ** 0.5``:

        g = -grad if maximize else grad
        AdamW: param = param * (1 - lr * weight_decay)        (if weight_decay != 0)
        Adam:  g = g + weight_decay * param                   (if weight_decay != 0)
        exp_avg = lerp(exp_avg, g, 1 - beta1)                 (= beta1 m + (1 - beta1) g)
        exp_avg_sq = exp_avg_sq * beta2 + (1 - beta2) * g * g
        amsgrad: max_exp_avg_sq = maximum(max_exp_avg_sq, exp_avg_sq);  v = max_exp_avg_sq
        else:    v = exp_avg_sq
        denom = sqrt(v) / bias_correction2_sqrt + eps
        param = param + (-step_size) * exp_avg / denom
    max_exp_avg_sq is None unless amsgrad.
    """
    grad = np.asarray(grad, dtype=param.dtype)
    g = -grad if maximize else grad
    if weight_decay != 0:
        if decoupled_weight_decay:
            param[...] = param * _scalar(1 - lr * weight_decay, param)
        else:
            g = g + _scalar(weight_decay, param) * param
    exp_avg[...] = _lerp(exp_avg, g, 1 - beta1)
    exp_avg_sq[...] = (exp_avg_sq * _scalar(beta2, param)
                       + _scalar(1 - beta2, param) * g * g)
    if amsgrad:
        np.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
        v = max_exp_avg_sq
    else:
        v = exp_avg_sq
    denom = np.sqrt(v) / _scalar(bias_correction2_sqrt, param) + _scalar(eps, param)
    param[...] = param + _scalar(-step_size, param) * exp_avg / denom


# ---------------------------------------------------------------------------------------------
# Reductions over axes. ``axis`` is None (all axes), an int, or a sorted tuple of distinct
# non-negative ints; inputs are float32 or float64, any layout. Cython fast paths
# (minigrad/_kernels/_reduce.pyx): C-contiguous input reduced over all axes, over trailing
# axes or over leading axes.
# ---------------------------------------------------------------------------------------------


def reduce_axes(x, axis, op, keepdims):
    """The sum, mean, max or min (``op``) of x over ``axis``, in x's dtype; max and min
    propagate NaN. The mean needs at least one element per slice."""
    reduce = {"sum": np.sum, "mean": np.mean, "max": np.amax, "min": np.amin}[op]
    return np.asarray(reduce(x, axis=axis, keepdims=keepdims))


def sum_backward(grad, shape, axis, keepdims):
    """The gradient of a sum over ``axis`` (None: all axes): ``grad`` (the sum's shape)
    copied to every summed element of an array of ``shape`` (a new array)."""
    if not keepdims and axis is not None:
        grad = np.expand_dims(grad, axis)
    out = np.empty(shape, dtype=grad.dtype)
    out[...] = grad
    return out


def arg_extreme(x, axis, largest):
    """The index of the first maximal (``largest``) or minimal element along ``axis`` (an
    int), a NaN counting as the extreme (numpy's and PyTorch's rule); int64, the axis
    removed. Every slice has at least one element."""
    found = np.argmax(x, axis=axis) if largest else np.argmin(x, axis=axis)
    return np.asarray(found, dtype=np.int64)


def var_axes(x, axis, correction, keepdims):
    """sum((x - mean)^2) / max(n - correction, 0) over ``axis``, accumulated and returned in
    float64 (two passes: the mean, then the squared deviations from it; the caller rounds to
    x's dtype, after a square root for std). 0/0 gives NaN and c/0 gives inf, silently, as
    in PyTorch."""
    x64 = x.astype(np.float64, copy=False)
    n = x.size if axis is None else int(np.prod([x.shape[a] for a in np.atleast_1d(axis)]))
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.sum(x64, axis=axis, keepdims=True) / n if n else 0.0
        centered = x64 - mean
        out = np.sum(centered * centered, axis=axis, keepdims=keepdims) / max(n - correction, 0)
    return np.asarray(out, dtype=np.float64)


def cumsum(x, axis, reverse=False):
    """Running sums along ``axis`` in x's dtype (``reverse``: from the last element
    backwards)."""
    if reverse:
        flip = (slice(None),) * axis + (slice(None, None, -1),)
        return np.cumsum(x[flip], axis=axis)[flip]
    return np.cumsum(x, axis=axis)


def cumprod(x, axis):
    """Running products along ``axis`` in x's dtype."""
    return np.cumprod(x, axis=axis)


def cumulative_extreme_indices(x, axis, largest):
    """For each position k along ``axis``, the index of the running maximum (``largest``) or
    minimum of x[..., :k+1, ...], by PyTorch's rule: element k takes over when it is NaN, or
    when the running value is not NaN and x_k >= it (<= for the minimum). int64."""
    n = x.shape[axis]
    indices = np.zeros(x.shape, dtype=np.int64)
    if n == 0 or x.size == 0:
        return indices
    running = (np.maximum if largest else np.minimum).accumulate(x, axis=axis)
    head = (slice(None),) * axis
    previous = running[head + (slice(0, n - 1),)]
    current = x[head + (slice(1, n),)]
    with np.errstate(invalid="ignore"):
        update = current >= previous if largest else current <= previous
    if x.dtype.kind == "f":
        update = (update & ~np.isnan(previous)) | np.isnan(current)
    shape = [1] * x.ndim
    shape[axis] = n
    positions = np.broadcast_to(np.arange(n).reshape(shape), x.shape)
    indices[head + (slice(1, n),)] = np.where(update, positions[head + (slice(1, n),)], 0)
    return np.maximum.accumulate(indices, axis=axis)


# ---------------------------------------------------------------------------------------------
# Gathers and scatters along an axis, and the scatter that is the gradient of indexing.
# Indices are integer arrays already checked to lie in range (negative values only where
# numpy indexing allows them); the shapes agree as stated. Cython fast paths
# (minigrad/_kernels/_index.pyx): C-contiguous float arrays and int64 indices.
# ---------------------------------------------------------------------------------------------


def index_range(indices):
    """(smallest, largest) of a non-empty integer array, as Python ints (the bounds check of
    every gather and scatter: one pass instead of two)."""
    return int(indices.min()), int(indices.max())


def take_along_axis(x, indices, axis):
    """out[..., j, ...] = x[..., indices[..., j, ...], ...] along ``axis``; indices has x's
    shape except along ``axis`` (PyTorch's gather, once the caller has cut x to the extent of
    indices in the other axes). Indices lie in [0, x.shape[axis])."""
    return np.take_along_axis(x, indices, axis=axis)


def scatter_along_axis(grad, indices, axis, shape):
    """Zeros of ``shape`` with grad[..., j, ...] added at indices[..., j, ...] along ``axis``
    (repeated indices add up: the gradient of take_along_axis); grad and indices share a
    shape no larger than ``shape`` except along ``axis``. Indices lie in [0, shape[axis])."""
    out = np.zeros(shape, dtype=grad.dtype)
    index = list(np.ix_(*[np.arange(n) for n in indices.shape]))
    index[axis] = indices
    np.add.at(out, tuple(index), grad)
    return out


def put_along_axis(x, indices, values, axis):
    """A copy of x with values[..., j, ...] written at indices[..., j, ...] along ``axis``
    (PyTorch's scatter; values and indices share a shape no larger than x's except along
    ``axis``; of repeated indices the last value written stays)."""
    out = np.array(x, copy=True)
    index = list(np.ix_(*[np.arange(n) for n in indices.shape]))
    index[axis] = indices
    out[tuple(index)] = values
    return out


def scatter_reduce(x, src, indices, axis, reduce, include_self):
    """x with src reduced (sum, prod, mean, amax, amin) into the positions ``indices`` name
    along ``axis`` (PyTorch's scatter_reduce; src already cut to indices' shape, indices in
    range). Without ``include_self`` x's own values at those positions take no part; the
    mean of integers rounds down."""
    out = np.array(x, copy=True)
    positions = list(np.ix_(*[np.arange(n) for n in indices.shape]))
    positions[axis] = indices
    positions = tuple(positions)
    if not include_self:
        if reduce in ("sum", "mean"):
            out[positions] = 0
        elif reduce == "prod":
            out[positions] = 1
        elif out.dtype.kind == "f":
            out[positions] = -np.inf if reduce == "amax" else np.inf
        elif out.dtype.kind == "b":
            out[positions] = reduce == "amin"
        else:
            info = np.iinfo(out.dtype)
            out[positions] = info.min if reduce == "amax" else info.max
    ufunc = {"sum": np.add, "mean": np.add, "prod": np.multiply, "amax": np.maximum,
             "amin": np.minimum}[reduce]
    ufunc.at(out, positions, src)
    if reduce == "mean":
        count = np.zeros(out.shape, dtype=np.int64)
        np.add.at(count, positions, 1)
        count = np.maximum(count + (1 if include_self else 0), 1).astype(out.dtype)
        if out.dtype.kind == "f":
            out /= count
        else:
            out //= count
    return out


def scatter_index(grad, index, shape):
    """Zeros of ``shape`` with ``grad`` added at the positions ``x[index]`` reads from an x of
    ``shape`` (repeated positions add up: the gradient of indexing). ``index`` is a numpy
    index already checked by the forward indexing."""
    out = np.zeros(shape, dtype=grad.dtype)
    layout = _index_layout(index, shape)
    if layout is not None:
        lead, count, flat = layout
        rows = out.reshape(_three_axes(shape, lead, count))
        np.add.at(rows, (slice(None), flat),
                  np.ascontiguousarray(grad).reshape(_three_axes(shape, lead, count, flat.size)))
    elif _is_advanced(index):
        np.add.at(out, index, grad)
    else:
        out[index] = grad
    return out


def _is_advanced(index):
    parts = index if isinstance(index, tuple) else (index,)
    return any(isinstance(p, np.ndarray) for p in parts)


def _three_axes(shape, lead, count, middle=None):
    """(prod(shape[:lead]), prod(shape[lead:lead+count]) or ``middle``, prod(the rest))."""
    outer = int(np.prod(shape[:lead], dtype=np.int64))
    inner = int(np.prod(shape[lead + count:], dtype=np.int64))
    if middle is None:
        middle = int(np.prod(shape[lead:lead + count], dtype=np.int64))
    return (outer, middle, inner)


def _index_layout(index, shape):
    """If ``x[index]`` reads whole rows of x seen as (A, R, B) -- full slices, then adjacent
    integer (or one boolean) arrays over ``count`` axes from axis ``lead``, then full slices
    -- return (lead, count, flat): flat is the int64 row number in [0, R) of each selected
    element, in the result's order (so the result is (A, flat.size, B)). Else None."""
    parts = index if isinstance(index, tuple) else (index,)
    full = slice(None)
    lead = 0
    while lead < len(parts) and isinstance(parts[lead], slice) and parts[lead] == full:
        lead += 1
    arrays = []
    end = lead
    while end < len(parts) and isinstance(parts[end], np.ndarray):
        arrays.append(parts[end])
        end += 1
    if not arrays or any(not (isinstance(p, slice) and p == full) for p in parts[end:]):
        return None
    if any(a.dtype.kind == "b" for a in arrays):
        if len(arrays) != 1:
            return None
        mask = arrays[0]
        count = mask.ndim
        if mask.shape != tuple(shape[lead:lead + count]):
            return None
        return lead, count, np.flatnonzero(mask)
    count = len(arrays)
    if lead + count > len(shape):
        return None
    dims = tuple(shape[lead:lead + count])
    if count == 1:
        flat = arrays[0].reshape(-1).astype(np.int64, copy=False)
        if flat.size and flat.min() < 0:
            flat = np.where(flat < 0, flat + dims[0], flat)
        return lead, 1, flat
    arrays = np.broadcast_arrays(*arrays)
    flat = np.ravel_multi_index(tuple(a.reshape(-1) for a in arrays), dims, mode="wrap")
    return lead, count, flat.astype(np.int64, copy=False)
