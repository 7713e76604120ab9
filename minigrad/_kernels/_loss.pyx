# cython: language_level=3
"""Compiled fused loss kernels: each returns the loss and its gradient from one sweep.

Twins of the functions of the same names in ``reference.py`` (same outputs, same types and
dtypes). As in ``_elementwise.pyx``, the ``def`` checks its inputs with the numpy C-API and
hands raw pointers to typed C loops; anything that does not fit the fast path (other dtypes,
non-contiguous or 0-d inputs, mismatched shapes) is computed by the reference.

On large inputs the exponentials come from numpy: its SIMD exp and log1p are several times
faster than a loop over the C library's scalar functions, which only win while numpy's call
overhead (about 0.3 us per call) dominates. The arithmetic around them stays in C.
"""
cimport numpy as cnp
from cython cimport floating

from ._common cimport _fast_float_type, _same_shape
from ._runtime cimport pool_empty
from libc cimport math as cmath

import numpy as np

from . import reference as _reference

cnp.import_array()

# Inputs with more elements than this take their exp (and log1p) from numpy; measured
# crossover of a libm loop against numpy's SIMD exp: 16 to 64 elements, and a fused loss
# pays two to four numpy calls instead of one, so its crossover is a few hundred elements.
cdef Py_ssize_t _LIBM_MAX_SIZE = 256


cdef inline floating _exp(floating x) noexcept nogil:
    if floating is float:
        return cmath.expf(x)
    else:
        return cmath.exp(x)


cdef inline floating _log(floating x) noexcept nogil:
    if floating is float:
        return cmath.logf(x)
    else:
        return cmath.log(x)


cdef inline floating _log1p(floating x) noexcept nogil:
    if floating is float:
        return cmath.log1pf(x)
    else:
        return cmath.log1p(x)


# ---------------------------------------------------------------------------------------------
# Mean squared error
# ---------------------------------------------------------------------------------------------


cdef double _mse_kernel(const floating* pred, const floating* target, floating* grad,
                        Py_ssize_t n) noexcept nogil:
    """grad = 2 (pred - target); returns sum((pred - target)**2), accumulated in double.

    Four running sums, so that each addition need not wait for the one before it (a single
    sum is bound by the adder's latency); combined at the end.
    """
    cdef Py_ssize_t i
    cdef Py_ssize_t n4 = n - n % 4
    cdef floating d0, d1, d2, d3
    cdef double s0 = 0, s1 = 0, s2 = 0, s3 = 0
    for i in range(n):
        grad[i] = 2 * (pred[i] - target[i])
    for i in range(0, n4, 4):
        d0 = pred[i] - target[i]
        d1 = pred[i + 1] - target[i + 1]
        d2 = pred[i + 2] - target[i + 2]
        d3 = pred[i + 3] - target[i + 3]
        s0 += <double>d0 * d0
        s1 += <double>d1 * d1
        s2 += <double>d2 * d2
        s3 += <double>d3 * d3
    for i in range(n4, n):
        d0 = pred[i] - target[i]
        s0 += <double>d0 * d0
    return (s0 + s1) + (s2 + s3)


def mse_loss(pred, target):
    """Returns (S, G): S = sum((pred - target)**2) as a Python float, G = dS/dpred = 2 (pred - target).

    pred and target have one shape and one dtype; the caller scales by 1/n for reduction='mean'.
    """
    cdef int type_num = _fast_float_type(pred)
    if type_num < 0 or _fast_float_type(target) != type_num:
        return _reference.mse_loss(pred, target)
    cdef cnp.ndarray P = <cnp.ndarray>pred
    cdef cnp.ndarray T = <cnp.ndarray>target
    if cnp.PyArray_NDIM(P) == 0 or not _same_shape(P, T):
        return _reference.mse_loss(pred, target)
    cdef Py_ssize_t n = cnp.PyArray_SIZE(P)
    cdef cnp.ndarray grad = pool_empty(cnp.PyArray_NDIM(P), cnp.PyArray_DIMS(P), type_num)
    cdef const void* pp = cnp.PyArray_DATA(P)
    cdef const void* pt = cnp.PyArray_DATA(T)
    cdef void* pg = cnp.PyArray_DATA(grad)
    cdef double total
    if type_num == cnp.NPY_DOUBLE:
        total = _mse_kernel(<const double*>pp, <const double*>pt, <double*>pg, n)
    else:
        total = _mse_kernel(<const float*>pp, <const float*>pt, <float*>pg, n)
    return total, grad


# ---------------------------------------------------------------------------------------------
# Softmax cross-entropy
# ---------------------------------------------------------------------------------------------
#
# For one row x (C logits) with target class t, and m = max_j x_j:
#
#     s = sum_j exp(x_j - m)                      (every term <= 1: no overflow)
#     loss = log(s) - (x_t - m)                   (= logsumexp(x) - x_t)
#     grad_j = exp(x_j - m) / s - 1[j == t]       (= softmax(x)_j - onehot_j)
#
# NaN or +inf anywhere in a row makes s NaN, hence that row's loss and gradient NaN, as in
# the reference.


cdef inline floating _row_max(const floating* row, Py_ssize_t n_classes) noexcept nogil:
    cdef floating m = row[0]
    cdef Py_ssize_t j
    for j in range(1, n_classes):
        if row[j] > m:
            m = row[j]
    return m


cdef void _cross_entropy_rows(const floating* logits, const cnp.npy_int64* target,
                              floating* losses, floating* grad, Py_ssize_t n_rows,
                              Py_ssize_t n_classes, bint exp_done) noexcept nogil:
    """The per-row loss and gradient above, one row at a time.

    If exp_done, grad already holds exp(x - m) for every row (from numpy, on large inputs);
    otherwise this loop computes it.
    """
    cdef Py_ssize_t i, j
    cdef const floating* x
    cdef floating* g
    cdef floating m, e
    cdef double s
    cdef cnp.npy_int64 t
    for i in range(n_rows):
        x = logits + i * n_classes
        g = grad + i * n_classes
        t = target[i]
        m = _row_max(x, n_classes)
        s = 0  # a double: the sum of C terms, each in (0, 1], loses nothing
        for j in range(n_classes):
            if exp_done:
                e = g[j]
            else:
                e = _exp(x[j] - m)
                g[j] = e
            s += e
        losses[i] = _log(<floating>s) - (x[t] - m)
        for j in range(n_classes):
            g[j] = g[j] / <floating>s
        g[t] = g[t] - 1


cdef void _shift_rows(const floating* logits, floating* out, Py_ssize_t n_rows,
                      Py_ssize_t n_classes) noexcept nogil:
    """out[i, j] = logits[i, j] - max_j logits[i, j] (the input of numpy's exp)."""
    cdef Py_ssize_t i, j
    cdef floating m
    for i in range(n_rows):
        m = _row_max(logits + i * n_classes, n_classes)
        for j in range(n_classes):
            out[i * n_classes + j] = logits[i * n_classes + j] - m


cdef Py_ssize_t _first_bad_target(const cnp.npy_int64* target, Py_ssize_t n,
                                  cnp.npy_int64 n_classes) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(n):
        if target[i] < 0 or target[i] >= n_classes:
            return i
    return -1


def softmax_cross_entropy(logits, target):
    """Cross-entropy of (N, C) logits against int64 class indices (N,), log-sum-exp stable.

    loss_i = logsumexp(logits_i) - logits_i[target_i]
    Returns (losses (N,), G (N, C)) where G = d(sum_i loss_i)/dlogits = softmax(logits) - onehot.
    Raises IndexError for a target outside [0, C) (the caller checks this first; the check
    here keeps a bad index from ever reaching memory).
    """
    cdef int type_num = _fast_float_type(logits)
    if (type_num < 0 or not cnp.PyArray_CheckExact(target)
            or cnp.PyArray_TYPE(<cnp.ndarray>target) != cnp.NPY_INT64
            or not cnp.PyArray_ISCARRAY_RO(<cnp.ndarray>target)
            or not cnp.PyArray_ISNOTSWAPPED(<cnp.ndarray>target)):
        return _reference.softmax_cross_entropy(logits, target)
    cdef cnp.ndarray X = <cnp.ndarray>logits
    cdef cnp.ndarray T = <cnp.ndarray>target
    if (cnp.PyArray_NDIM(X) != 2 or cnp.PyArray_NDIM(T) != 1
            or cnp.PyArray_DIMS(T)[0] != cnp.PyArray_DIMS(X)[0]
            or cnp.PyArray_DIMS(X)[1] == 0):
        return _reference.softmax_cross_entropy(logits, target)
    cdef Py_ssize_t n_rows = cnp.PyArray_DIMS(X)[0]
    cdef Py_ssize_t n_classes = cnp.PyArray_DIMS(X)[1]
    cdef const cnp.npy_int64* pt = <const cnp.npy_int64*>cnp.PyArray_DATA(T)
    cdef Py_ssize_t bad = _first_bad_target(pt, n_rows, n_classes)
    if bad >= 0:
        raise IndexError(f"softmax_cross_entropy: target[{bad}] = {pt[bad]} is not a class "
                         f"index in [0, {n_classes})")

    cdef cnp.ndarray losses = cnp.PyArray_EMPTY(1, cnp.PyArray_DIMS(X), type_num, 0)
    cdef cnp.ndarray grad = pool_empty(2, cnp.PyArray_DIMS(X), type_num)
    cdef const void* px = cnp.PyArray_DATA(X)
    cdef void* pl = cnp.PyArray_DATA(losses)
    cdef void* pg = cnp.PyArray_DATA(grad)
    cdef bint exp_done = n_rows * n_classes > _LIBM_MAX_SIZE
    if exp_done:
        if type_num == cnp.NPY_DOUBLE:
            _shift_rows(<const double*>px, <double*>pg, n_rows, n_classes)
        else:
            _shift_rows(<const float*>px, <float*>pg, n_rows, n_classes)
        np.exp(grad, out=grad)
    with nogil:
        if type_num == cnp.NPY_DOUBLE:
            _cross_entropy_rows(<const double*>px, pt, <double*>pl, <double*>pg, n_rows,
                                n_classes, exp_done)
        else:
            _cross_entropy_rows(<const float*>px, pt, <float*>pl, <float*>pg, n_rows,
                                n_classes, exp_done)
    return losses, grad


# ---------------------------------------------------------------------------------------------
# Binary cross-entropy on logits
# ---------------------------------------------------------------------------------------------
#
# With e = exp(-|x|) (in (0, 1]: never overflows):
#
#     loss = max(x, 0) - x y + log(1 + e)           (= -[y log s + (1 - y) log(1 - s)], s = sigmoid(x))
#     dloss/dx = sigmoid(x) - y,   sigmoid(x) = 1 / (1 + e) for x >= 0, e / (1 + e) otherwise.
#
# max(x, 0) keeps NaN as NaN (as np.maximum does).


cdef void _bce_kernel(const floating* x, const floating* y, floating* losses, floating* grad,
                      Py_ssize_t n, bint exp_done) noexcept nogil:
    """If exp_done, grad holds e = exp(-|x|) and losses holds log1p(e) on entry (from numpy,
    on large inputs); otherwise this loop computes both."""
    cdef Py_ssize_t i
    cdef floating v, e, log1p_e, positive_part
    for i in range(n):
        v = x[i]
        if exp_done:
            e = grad[i]
            log1p_e = losses[i]
        else:
            if floating is float:
                e = cmath.expf(-cmath.fabsf(v))
            else:
                e = cmath.exp(-cmath.fabs(v))
            log1p_e = _log1p(e)
        positive_part = v if (v > 0 or v != v) else 0
        losses[i] = positive_part - v * y[i] + log1p_e
        if v >= 0:
            grad[i] = 1 / (1 + e) - y[i]
        else:
            grad[i] = e / (1 + e) - y[i]


def bce_with_logits(x, y):
    """Binary cross-entropy on logits, elementwise, stable for any x:

    loss = max(x, 0) - x * y + log(1 + exp(-|x|)),   dloss/dx = sigmoid(x) - y.
    Returns (losses, grads), both of x's shape.
    """
    cdef int type_num = _fast_float_type(x)
    if type_num < 0 or _fast_float_type(y) != type_num:
        return _reference.bce_with_logits(x, y)
    cdef cnp.ndarray X = <cnp.ndarray>x
    cdef cnp.ndarray Y = <cnp.ndarray>y
    if cnp.PyArray_NDIM(X) == 0 or not _same_shape(X, Y):
        return _reference.bce_with_logits(x, y)
    cdef Py_ssize_t n = cnp.PyArray_SIZE(X)
    cdef cnp.ndarray losses
    cdef cnp.ndarray grad
    cdef bint exp_done = n > _LIBM_MAX_SIZE
    if exp_done:
        grad = np.abs(X)
        np.negative(grad, out=grad)
        np.exp(grad, out=grad)
        losses = np.log1p(grad)
    else:
        losses = cnp.PyArray_EMPTY(cnp.PyArray_NDIM(X), cnp.PyArray_DIMS(X), type_num, 0)
        grad = pool_empty(cnp.PyArray_NDIM(X), cnp.PyArray_DIMS(X), type_num)
    cdef const void* px = cnp.PyArray_DATA(X)
    cdef const void* py = cnp.PyArray_DATA(Y)
    cdef void* pl = cnp.PyArray_DATA(losses)
    cdef void* pg = cnp.PyArray_DATA(grad)
    if type_num == cnp.NPY_DOUBLE:
        _bce_kernel(<const double*>px, <const double*>py, <double*>pl, <double*>pg, n,
                    exp_done)
    else:
        _bce_kernel(<const float*>px, <const float*>py, <float*>pl, <float*>pg, n, exp_done)
    return losses, grad
