"""Reductions, scans and selections: sums, products, extremes, statistics, cumulative ops.

Every op here reduces (or scans) a floating array along axes the caller has already checked
and normalised (``axis`` is None for all axes, an int, or a sorted tuple of distinct
non-negative ints). Integer and bool inputs never reach these classes: they cannot require
grad, so the functions in ``minigrad/functions/reduce.py`` compute them with numpy directly.

Ops that pick elements (max/min/median/mode/kthvalue along a dim, sort, topk, cummax) do not
appear here: they are a gather (``index.TakeAlongAxis``) at indices the caller computed, and
their gradient is the gather's (the gradient goes to the chosen element only), as PyTorch's.
"""
import math

import numpy as np

from .._kernels import kernels as K
from ..autograd.graph import Op


def kept_shape(shape, axis):
    """``shape`` with the reduced axes kept as size 1 (the shape of a keepdim result)."""
    if axis is None:
        return (1,) * len(shape)
    axes = (axis,) if isinstance(axis, int) else axis
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def reduced_count(shape, axis):
    """How many elements each output of a reduction over ``axis`` combines."""
    if axis is None:
        return math.prod(shape)
    axes = (axis,) if isinstance(axis, int) else axis
    return math.prod(shape[a] for a in axes)


class Sum(Op):
    """out = sum of x over ``axis`` (all axes if None);  every summed element gets the gradient
    of its sum: d out/dx = 1, broadcast back over the summed axes."""

    may_broadcast = False

    def forward(self, x, axis=None, keepdims=False):
        self.shape, self.axis, self.keepdims = x.shape, axis, keepdims
        if axis is None and x.dtype.kind == "f":
            out = K.sum_all(x)
            return out.reshape((1,) * x.ndim) if keepdims else out
        return K.reduce_axes(x, axis, "sum", keepdims)

    def backward(self, grad, xp):
        return xp.sum_backward(grad, self.shape, self.axis, self.keepdims)


class Nansum(Op):
    """out = sum of the non-NaN elements of x over ``axis`` (all axes if None); d out/dx = 1
    where x is not NaN, 0 where it is (PyTorch's nansum_backward: the summed gradient times
    the constant mask ~isnan(x))."""

    may_broadcast = False

    def forward(self, x, axis=None, keepdims=False):
        self.shape, self.axis, self.keepdims = x.shape, axis, keepdims
        self.save_for_backward(x)
        return K.reduce_axes(x, axis, "nansum", keepdims)

    def backward(self, grad, xp):
        (x,) = self.saved_tensors
        values = xp.values(x)
        spread = xp.sum_backward(grad, self.shape, self.axis, self.keepdims)
        nan = np.isnan(values)
        if not nan.any():
            return spread
        return xp.mul(spread, (~nan).astype(values.dtype))


class Mean(Op):
    """out = sum of x over ``axis`` / n (n = the number of elements averaged; NaN if 0);
    d out/dx = 1/n, broadcast back over the averaged axes."""

    may_broadcast = False

    def forward(self, x, axis=None, keepdims=False, given=None):
        """``given``: the result, computed already (std_mean's kernel gives it)."""
        self.shape, self.axis, self.keepdims = x.shape, axis, keepdims
        if given is not None:
            return given
        if reduced_count(x.shape, axis) == 0:
            return np.full(_reduced_shape(x.shape, axis, keepdims), np.nan, dtype=x.dtype)
        return K.reduce_axes(x, axis, "mean", keepdims)

    def backward(self, grad, xp):
        count = reduced_count(self.shape, self.axis)
        scale = 1.0 / count if count else math.nan
        return xp.sum_backward(xp.mul(grad, scale), self.shape, self.axis, self.keepdims)


class Prod(Op):
    """out = product of x over ``axis`` (one axis, or all if None).

    d out/dx_i = product of the other elements: out / x_i when no element of the slice is 0;
    with zeros, the product of the elements before i times the product of those after i
    (exclusive cumulative products from each end), which is right for any number of zeros
    and is itself differentiable (PyTorch's prod_safe_zeros_backward)."""

    may_broadcast = False

    def forward(self, x, axis=None, keepdims=False):
        self.shape, self.axis, self.keepdims = x.shape, axis, keepdims
        self.save_for_backward(x)
        self.result = out = K.reduce_axes(x, axis, "prod", keepdims)
        return out

    def backward(self, grad, xp):
        (x,) = self.saved_tensors
        if len(self.shape) == 0:
            return grad
        grad = xp.reshape(grad, kept_shape(self.shape, self.axis))
        if not (xp.values(x) == 0).any():
            result = xp.reshape(self.result, kept_shape(self.shape, self.axis))
            return xp.mul(grad, xp.div(result, x))
        if self.axis is None:  # the product of all elements: the same along one flat axis
            others = xp.reshape(product_of_others(xp.reshape(x, (-1,)), 0, xp), self.shape)
        else:
            others = product_of_others(x, self.axis, xp)
        return xp.mul(grad, others)


def product_of_others(x, axis, xp):
    """For each element, the product of the other elements of its slice along ``axis``:
    the exclusive cumulative product from the front times the one from the back (no
    division, so zeros are handled exactly)."""
    reverse = (slice(None),) * axis + (slice(None, None, -1),)
    from_the_end = xp.index(exclusive_cumprod(xp.index(x, reverse), axis, xp), reverse)
    return xp.mul(exclusive_cumprod(x, axis, xp), from_the_end)


class Var(Op):
    """out = sum((x - mean)^2) / max(n - correction, 0) over ``axis``, accumulated in float64
    (so float32 inputs of any finite magnitude do not overflow, as in PyTorch);
    d out/dx = 2 (x - mean) / (n - correction)."""

    may_broadcast = False

    def forward(self, x, axis=None, correction=1, keepdims=False, given=None):
        """``given``: the result, computed already (var_mean's kernel gives it)."""
        self.shape, self.axis, self.keepdims = x.shape, axis, keepdims
        self.correction = correction
        self.save_for_backward(x)
        if given is not None:
            return given
        return K.var_axes(x, axis, correction, keepdims).astype(x.dtype, copy=False)

    def backward(self, grad, xp):
        (x,) = self.saved_tensors
        return var_backward(grad, x, self.shape, self.axis, self.correction, xp)


class Std(Op):
    """out = sqrt(var(x));  d out/dx = d var/dx / (2 out), and 0 where out == 0 (a constant
    slice: PyTorch's rule, which keeps the gradient finite)."""

    may_broadcast = False

    def forward(self, x, axis=None, correction=1, keepdims=False, given=None):
        """``given``: the result, computed already (std_mean's kernel gives it)."""
        self.shape, self.axis, self.keepdims = x.shape, axis, keepdims
        self.correction = correction
        self.save_for_backward(x)
        if given is None:
            var = K.var_axes(x, axis, correction, keepdims)  # float64: sqrt before rounding
            given = np.sqrt(var).astype(x.dtype, copy=False)
        self.result = given
        return given

    def backward(self, grad, xp):
        (x,) = self.saved_tensors
        result = self.result
        zero = xp.values(result) == 0
        if zero.any():
            safe = xp.where(zero, 1.0, result)
            grad = xp.where(zero, 0.0, xp.div(grad, xp.mul(safe, 2.0)))
        else:
            grad = xp.div(grad, xp.mul(result, 2.0))
        return var_backward(grad, x, self.shape, self.axis, self.correction, xp)


def var_backward(grad, x, shape, axis, correction, xp):
    """2 (x - mean(x)) / (n - correction) * grad, with grad broadcast back over ``axis``."""
    count = reduced_count(shape, axis)
    dof = count - correction
    scale = 2.0 / dof if dof > 0 else math.inf
    grad = xp.reshape(grad, kept_shape(shape, axis))
    mean = xp.mul(xp.sum(x, axis, True), 1.0 / count) if count else 0.0
    with np.errstate(invalid="ignore"):
        return xp.mul(xp.mul(grad, scale), xp.sub(x, mean))


class LogSumExp(Op):
    """out = m + log(sum(exp(x - m))) over ``axis``, with m the maximum (replaced by 0 where it
    is infinite, so that an all -inf slice gives -inf and a +inf gives +inf);
    d out/dx = exp(x - out) (the softmax of the slice)."""

    may_broadcast = False

    def forward(self, x, axis=None, keepdims=False):
        self.shape, self.axis = x.shape, axis
        self.save_for_backward(x)
        self.result = out = logsumexp(x, axis, keepdims)
        return out

    def backward(self, grad, xp):
        (x,) = self.saved_tensors
        kept = kept_shape(self.shape, self.axis)
        result = xp.reshape(self.result, kept)
        return xp.mul(xp.reshape(grad, kept), xp.exp(xp.sub(x, result)))


class Amax(Op):
    """out = max (``kind='max'``) or min (``kind='min'``) of x over ``axis``;  the gradient is
    shared evenly by the elements equal to the result, NaN elements counting as equal to a
    NaN result (PyTorch's rule for max()/min() over all elements; for amax/amin over a slice
    holding NaN, PyTorch gives the whole slice a NaN gradient, and minigrad deliberately
    keeps routing it to the NaN elements, as tests/test_autograd.py records)."""

    may_broadcast = False

    def forward(self, x, axis=None, keepdims=False, kind="max"):
        self.shape, self.axis = x.shape, axis
        self.saved_tensors = (x,)
        if axis is None:  # x.max(): the common call, one kernel call
            out = K.extreme_all(x, kind == "max")
            self.result = out
            return out.reshape((1,) * x.ndim) if keepdims else out
        self.result = out = K.reduce_axes(x, axis, kind, keepdims)
        return out

    def backward(self, grad, xp):
        (x,) = self.saved_tensors
        share = even_share(xp.values(x), xp.values(self.result), self.shape, self.axis)
        return xp.mul(xp.reshape(grad, kept_shape(self.shape, self.axis)), share)


class AminMax(Op):
    """(min, max) of all elements as one node with two outputs (aminmax: one call instead
    of two nodes);  each output's gradient is shared evenly by the elements equal to it, as
    amin's and amax's, and x gets their sum."""

    may_broadcast = False

    def forward(self, x):
        self.shape = x.shape
        self.saved_tensors = (x,)
        self.values = K.extreme_pair(x)
        return self.values

    def backward(self, grads, xp):
        (x,) = self.saved_tensors
        total = None
        for grad, value in zip(grads, self.values):
            if grad is not None:
                share = even_share(xp.values(x), value, self.shape, None)
                part = xp.mul(xp.reshape(grad, kept_shape(self.shape, None)), share)
                total = part if total is None else xp.add(total, part)
        return total


class Amin(Amax):
    """Amax with ``kind='min'`` as its default: min() and aminmax() over all elements call it
    without options, which takes apply's quicker path."""

    def forward(self, x, axis=None, keepdims=False, kind="min"):
        return Amax.forward(self, x, axis, keepdims, kind)


# Up to this size the median kernel (a scalar quickselect of a copy) beats np.isnan +
# np.partition: float32, 2048 elements 1.4 us vs 3.5, 5000 3.7 vs 5.2, 10^4 7.7 vs 8.1 (and
# its copy, 8 bytes an element, stays below glibc's 128 KiB mmap threshold).
_SMALL_MEDIAN = 8192
_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


class MedianAll(Op):
    """out = the lower median of all elements (NaN if any is NaN; ``ignore_nan`` takes the
    median of the others instead);  the gradient is shared evenly by the elements equal to
    it (PyTorch's rule for median() and nanmedian() without a dim)."""

    may_broadcast = False

    def forward(self, x, ignore_nan=False):
        self.shape = x.shape
        self.saved_tensors = (x,)
        if not ignore_nan and 0 < x.size <= _SMALL_MEDIAN and x.dtype in _FLOATS:
            # One compiled pass (NaN check, then a quickselect of a copy) for a small
            # array; np.partition (vectorised) wins on large ones.
            self.result = out = K.median_all(np.ascontiguousarray(x))
            return out
        flat = x.reshape(-1)
        if ignore_nan:
            flat = flat[~np.isnan(flat)]
        if flat.size == 0 or (not ignore_nan and np.isnan(flat).any()):
            out = np.asarray(np.nan, dtype=x.dtype)
        else:
            k = (flat.size - 1) // 2
            out = np.asarray(np.partition(flat, k)[k], dtype=x.dtype)
        self.result = out
        return out

    def backward(self, grad, xp):
        (x,) = self.saved_tensors
        share = even_share(xp.values(x), xp.values(self.result), self.shape, None)
        return xp.mul(xp.reshape(grad, (1,) * len(self.shape)), share)


def even_share(x, result, shape, axis):
    """1 / (number of elements equal to the result) at those elements, 0 elsewhere (NaN
    elements count as equal to a NaN result): a constant of x's dtype (which element attains
    an extreme does not change under a small perturbation, so the share has no derivative of
    its own)."""
    kept = result.reshape(kept_shape(shape, axis))
    hits = x == kept
    if np.isnan(kept).any():
        hits |= np.isnan(x) & np.isnan(kept)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (hits / np.sum(hits, axis=axis, keepdims=True)).astype(x.dtype, copy=False)


class MaxDim(Op):
    """values = x at ``indices`` along ``axis`` (one index per slice, chosen by the caller,
    who also returns them: max/min/median/mode/kthvalue with a dim);  the gradient goes to
    that element only (PyTorch's value_selecting_reduction_backward)."""

    may_broadcast = False

    def forward(self, x, axis, argmax, keepdims=False):
        self.shape, self.axis, self.keepdims = x.shape, axis, keepdims
        if x.ndim == 0:  # torch: a reduction over dim 0 (or -1) of a 0-d tensor is itself
            self.indices = None
            return x.copy()
        kept = argmax.shape[:axis] + (1,) + argmax.shape[axis:]
        self.indices = argmax.reshape(kept)
        values = K.take_along_axis(x, self.indices, axis)
        return values if keepdims else values.reshape(argmax.shape)

    def backward(self, grad, xp):
        if self.indices is None:
            return grad
        if not self.keepdims:
            grad = xp.reshape(grad, self.indices.shape)
        return xp.scatter_along_axis(grad, self.indices, self.axis, self.shape)


class CumSum(Op):
    """out_k = sum_{j <= k} x_j along ``axis`` (``reverse``: sum_{j >= k});  the gradient is
    the cumulative sum of the gradient in the other direction."""

    may_broadcast = False

    def forward(self, x, axis, reverse=False):
        self.axis, self.reverse = axis, reverse
        return K.cumsum(x, axis, reverse)

    def backward(self, grad, xp):
        return xp.cumsum(grad, self.axis, not self.reverse)


class CumProd(Op):
    """out_k = prod_{j <= k} x_j along ``axis``.

    d out_k/dx_i = prod_{j <= k, j != i} x_j for i <= k, so
    dL/dx_i = (prod_{j < i} x_j) * T_i  with  T_i = sum_{k >= i} g_k prod_{i < j <= k} x_j,
    and T is the reverse linear scan T_i = g_i + x_{i+1} T_{i+1}: no division, so exact for
    any zeros, and made of differentiable ops (LinearScan, CumProd), so exact to any order.
    Without zeros the same value is revcumsum(g * out) / x, which is cheaper."""

    may_broadcast = False

    def forward(self, x, axis):
        self.axis = axis
        self.save_for_backward(x)
        self.result = out = K.cumprod(x, axis)
        return out

    def backward(self, grad, xp):
        (x,) = self.saved_tensors
        axis = self.axis
        if not (xp.values(x) == 0).any():
            return xp.div(xp.cumsum(xp.mul(grad, self.result), axis, True), x)
        before = exclusive_cumprod(x, axis, xp)
        scan = xp.linear_scan(grad, shifted(x, axis, -1, 0.0, xp), axis, True)
        return xp.mul(before, scan)


def shifted(x, axis, step, fill, xp):
    """x moved by ``step`` (+1 or -1) positions along ``axis``, the freed end set to
    ``fill`` (a differentiable shift: a read and a write of slices)."""
    n = x.shape[axis]
    lead = (slice(None),) * axis
    head, tail = lead + (slice(0, max(n - 1, 0)),), lead + (slice(1, n),)
    base = np.full(tuple(x.shape), fill, dtype=xp.values(x).dtype)
    if step > 0:
        return xp.index_put(base, tail, xp.index(x, head))
    return xp.index_put(base, head, xp.index(x, tail))


def exclusive_cumprod(x, axis, xp):
    """prod_{j < i} x_j along ``axis`` (1 at the first position)."""
    return xp.cumprod(shifted(x, axis, 1, 1.0, xp), axis)


class LinearScan(Op):
    """out_i = g_i + a_i * out_{i-1} along ``axis`` (out_0 = g_0; ``reverse``: out_i = g_i +
    a_i * out_{i+1}, from the last position). The coefficient at the starting position is
    unused. Its adjoint is the same scan in the other direction:
    dL/dg_i = U_i with U_i = h_i + a_{i+1} U_{i+1} (forward scan), and
    dL/da_i = U_i * out_{i-1}; so the op is differentiable to any order."""

    may_broadcast = False

    def forward(self, g, a, axis, reverse=False):
        self.axis, self.reverse = axis, reverse
        self.save_for_backward(a)
        self.result = out = K.linear_scan(g, a, axis, reverse)
        return out

    def backward(self, grad, xp):
        (a,) = self.saved_tensors
        axis, reverse = self.axis, self.reverse
        step = 1 if reverse else -1  # the coefficients of the adjoint scan, moved one place
        adjoint = xp.linear_scan(grad, shifted(a, axis, step, 0.0, xp), axis, not reverse)
        previous = shifted(self.result, axis, -step, 0.0, xp)
        need_g, need_a = self.needs_input_grad[:2]
        return (adjoint if need_g else None,
                xp.mul(adjoint, previous) if need_a else None, None, None)


class LogCumSumExp(Op):
    """out_k = log(sum_{j <= k} exp(x_j)) along ``axis`` (``reverse``: j >= k), computed
    pairwise with logaddexp (no overflow).

    d out_k/dx_i = exp(x_i - out_k) for i <= k, so dL/dx_i = sum_{k >= i} g_k exp(x_i - out_k),
    computed in log space for the positive and the negative parts of g separately (PyTorch's
    logcumsumexp_backward): exp(x_i + revlogcumsumexp(log g+ - out)) - the same for g-."""

    may_broadcast = False

    def forward(self, x, axis, reverse=False):
        self.axis, self.reverse = axis, reverse
        self.save_for_backward(x)
        self.result = out = K.logcumsumexp(x, axis, reverse)
        return out

    def backward(self, grad, xp):
        (x,) = self.saved_tensors
        g = xp.values(grad)
        lowest = float(np.finfo(g.dtype).min)
        positive, negative = g > 0, g < 0
        sign = np.sign(g)
        log_abs = xp.log(xp.where(positive | negative, xp.mul(grad, sign), 1.0))
        parts = []
        for mask in (positive, negative):
            if xp is K and mask is negative and not mask.any():
                # no negative g (the common case): that part is exp(about the lowest float)
                # = 0 exactly, and subtracting it changes nothing; skip its passes
                return parts[0]
            logs = xp.sub(xp.where(mask, log_abs, lowest), self.result)
            parts.append(xp.exp(xp.add(xp.logcumsumexp(logs, self.axis, not self.reverse), x)))
        return xp.sub(parts[0], parts[1])


class VectorNorm(Op):
    """out = (sum |x|^p)^(1/p) over ``axis``; p = inf: max |x|, -inf: min |x|, 0: the number
    of non-zero elements.

    d out/dx, as PyTorch's norm_backward: p = 1: sign(x); p = 2: x / out (0 where out is 0);
    p = +-inf: sign(x) shared evenly by the elements attaining the extreme; p = 0: 0;
    otherwise sign(x) |x|^(p-1) / out^(p-1) (0 where out is 0; for p < 1, 0 where x is 0).
    sign(x) is a constant (its derivative is 0 wherever it is defined)."""

    may_broadcast = False

    def forward(self, x, ord, axis=None, keepdims=False):
        self.shape, self.axis, self.ord = x.shape, axis, ord
        self.save_for_backward(x)
        self.result = out = vector_norm(x, ord, axis, keepdims)
        return out

    def backward(self, grad, xp):
        (x,) = self.saved_tensors
        p, axis = self.ord, self.axis
        kept = kept_shape(self.shape, axis)
        grad = xp.reshape(grad, kept)
        if p == 0:  # PyTorch: no gradient at all (an undefined one)
            return None
        values = xp.values(x)
        if p == 1:
            return _times_grad(np.sign(values), grad, xp)
        norm = xp.reshape(self.result, kept)
        norm_zero = xp.values(norm) == 0
        if p == 2:
            if not norm_zero.any():  # the common case: no 0/0 to mask out
                return _times_grad(xp.div(x, norm), grad, xp)
            ratio = xp.div(x, xp.where(norm_zero, 1.0, norm))
            return xp.mul(grad, xp.where(norm_zero, 0.0, ratio))
        sign = np.sign(values)
        if math.isinf(p):
            abs_x = np.abs(values)
            hits = (abs_x == xp.values(norm)) | np.isnan(abs_x)
            share = (sign * hits / np.sum(hits, axis=axis, keepdims=True)).astype(values.dtype)
            return xp.mul(grad, share)
        abs_x = xp.mul(x, sign)
        if p < 1:
            x_zero = values == 0
            scaled = xp.where(x_zero, 0.0, xp.pow(xp.where(x_zero, 1.0, abs_x), p - 1))
            return xp.mul(xp.mul(scaled, sign), xp.mul(grad, xp.pow(norm, 1 - p)))
        scaled = xp.mul(xp.pow(abs_x, p - 1), sign)
        scale = xp.where(norm_zero, 0.0,
                         xp.div(grad, xp.pow(xp.where(norm_zero, 1.0, norm), p - 1)))
        return xp.mul(scaled, scale)


def _times_grad(factor, grad, xp):
    """grad * factor, for ``factor`` a new array of x's shape (a numpy scalar for some 0-d x)
    that grad broadcasts to. On the fast path the product is written into ``factor``: a
    second array of x's size would cost a second allocation, which on large inputs (page
    faults included) takes longer than the product itself."""
    if xp is K and type(factor) is np.ndarray and factor.dtype == grad.dtype:
        return np.multiply(factor, grad, out=factor)
    return xp.mul(grad, factor)


# Up to this many elements the 2-norm of everything is K.norm2_all's compiled lane loop;
# beyond, numpy's float32 dot (BLAS, SIMD) is faster once np.errstate's ~1.4 us is amortised.
_SMALL_NORM = 4096


def vector_norm(x, ord, axis, keepdims):
    """The p-norm of x over ``axis`` in x's dtype (numpy; see VectorNorm)."""
    if ord == 2 and axis is None and not keepdims and x.size <= _SMALL_NORM and x.dtype in _FLOATS:
        return K.norm2_all(x)  # no np.errstate (1.4 us): the compiled sum overflows silently
    if (ord == 1 and x.ndim and x.dtype in _FLOATS and (axis is None or len(axis) == 1)
            and x.flags.c_contiguous):
        # outside np.errstate (1.4 us): the compiled sum overflows to inf silently
        return K.reduce_axes(np.abs(x), axis, "sum", keepdims)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        if ord == 2:
            if axis is None and not keepdims and x.dtype.kind == "f":
                flat = x.reshape(-1)
                return np.asarray(np.sqrt(np.dot(flat, flat)), dtype=x.dtype)
            return np.sqrt(np.sum(x * x, axis=axis, keepdims=keepdims))
        a = np.abs(x)
        if ord == math.inf:
            out = np.amax(a, axis=axis, keepdims=keepdims)
        elif ord == -math.inf:
            out = np.amin(a, axis=axis, keepdims=keepdims)
        elif ord == 0:
            out = np.sum(a != 0, axis=axis, keepdims=keepdims)
        elif ord == 1:
            out = np.sum(a, axis=axis, keepdims=keepdims)
        else:
            out = np.power(np.sum(np.power(a, ord), axis=axis, keepdims=keepdims), 1.0 / ord)
    return np.asarray(out, dtype=x.dtype)


def _reduced_shape(shape, axis, keepdims):
    if keepdims:
        return kept_shape(shape, axis)
    if axis is None:
        return ()
    axes = (axis,) if isinstance(axis, int) else axis
    return tuple(n for i, n in enumerate(shape) if i not in axes)


def logsumexp(x, axis, keepdims):
    """log(sum(exp(x))) over ``axis``, shifted by the maximum m of each slice (m taken as 0
    where it is infinite, so -inf slices give -inf and +inf gives +inf); -inf when empty."""
    if x.size == 0:
        shape = np.sum(x, axis=axis, keepdims=keepdims).shape
        return np.full(shape, -np.inf, dtype=x.dtype)
    m = K.reduce_axes(x, axis, "max", True)
    m[np.isinf(m)] = 0
    with np.errstate(divide="ignore"):
        out = np.log(K.reduce_axes(np.exp(x - m), axis, "sum", True)) + m
    if not keepdims:
        out = out.reshape(()) if axis is None else np.squeeze(out, axis)
    return np.asarray(out, dtype=x.dtype)


class NoDerivative(Op):
    """``value`` (computed by the caller from x) as an op without a derivative: as in
    PyTorch, the output requires grad when x does, and backward through it raises
    ``error(message)``."""

    def forward(self, x, value, error, message):
        self.error, self.message = error, message
        return value

    def backward(self, grad, xp):
        raise self.error(self.message)
