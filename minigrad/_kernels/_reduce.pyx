# cython: language_level=3
"""Compiled reductions and scans: twins of ``var_axes``, ``cumsum`` and
``cumulative_extreme_indices`` in the reductions section of ``reference.py`` (read that for
what each computes).

Each kernel sees a C-contiguous float array as (outer, n, inner) around the reduced or scanned
axes (a run of adjacent axes for var_axes; None is (1, size, 1)), which needs no copy: a
reduction over trailing axes has inner == 1 and reads each slice as one contiguous run; over
leading axes it walks rows of ``inner`` contiguous elements and keeps ``inner`` accumulators,
so both inner loops are over contiguous memory. Anything else (other dtypes, layouts, axes
that are not adjacent) goes to the reference, so results always equal numpy's.
"""
cimport numpy as cnp
from cython cimport floating
from libc.stdlib cimport free, malloc

from ._common cimport _fast_float_type

import numpy as np

from . import reference as _reference

cnp.import_array()


cdef inline Py_ssize_t _prod(cnp.npy_intp* dims, int start, int stop) noexcept:
    cdef Py_ssize_t p = 1
    cdef int d
    for d in range(start, stop):
        p *= dims[d]
    return p


def _axis_run(axis, int ndim):
    """(first, last) of the axes a reduction covers if they are adjacent, else None."""
    if axis is None:
        return (0, ndim - 1)
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    if not axes:
        return None
    first, last = axes[0], axes[len(axes) - 1]  # (no negative indices: wraparound is off)
    if list(axes) != list(range(first, last + 1)):
        return None
    return (first, last)


# ---------------------------------------------------------------------------------------------
# var_axes: two passes in float64
# ---------------------------------------------------------------------------------------------


cdef void _var_kernel(const floating* x, double* out, Py_ssize_t outer, Py_ssize_t n,
                      Py_ssize_t inner, double divisor, double* acc) noexcept nogil:
    """out[o, i] = sum_j (x[o, j, i] - mean[o, i])^2 / divisor, accumulated in double;
    ``acc`` is scratch for ``inner`` doubles."""
    cdef Py_ssize_t o, j, i
    cdef const floating* xo
    cdef const floating* row
    cdef double total, mean, d
    cdef double* means = out  # the means are kept in out until the second pass
    for o in range(outer):
        xo = x + o * n * inner
        if inner == 1:
            total = 0
            for j in range(n):
                total = total + xo[j]
            mean = total / n
            total = 0
            for j in range(n):
                d = xo[j] - mean
                total = total + d * d
            out[o] = total / divisor
            continue
        for i in range(inner):
            acc[i] = 0
        for j in range(n):
            row = xo + j * inner
            for i in range(inner):
                acc[i] = acc[i] + row[i]
        for i in range(inner):
            means[o * inner + i] = acc[i] / n
            acc[i] = 0
        for j in range(n):
            row = xo + j * inner
            for i in range(inner):
                d = row[i] - means[o * inner + i]
                acc[i] = acc[i] + d * d
        for i in range(inner):
            out[o * inner + i] = acc[i] / divisor


def var_axes(x, axis, correction, keepdims):
    """sum((x - mean)^2) / max(n - correction, 0) over ``axis``, in float64."""
    cdef int type_num = _fast_float_type(x)
    if type_num < 0:
        return _reference.var_axes(x, axis, correction, keepdims)
    cdef cnp.ndarray X = <cnp.ndarray>x
    cdef int ndim = cnp.PyArray_NDIM(X)
    run = _axis_run(axis, ndim) if ndim else None
    if run is None or cnp.PyArray_SIZE(X) == 0:
        return _reference.var_axes(x, axis, correction, keepdims)
    cdef int first = run[0], last = run[1]
    cdef cnp.npy_intp* dims = cnp.PyArray_DIMS(X)
    cdef Py_ssize_t outer = _prod(dims, 0, first), n = _prod(dims, first, last + 1)
    cdef Py_ssize_t inner = _prod(dims, last + 1, ndim)
    cdef double dof = n - correction
    cdef double divisor = dof if dof > 0 else 0.0
    shape = list(x.shape)
    for d in range(first, last + 1):
        shape[d] = 1
    out = np.empty(shape if keepdims else [s for d, s in enumerate(x.shape)
                                           if not first <= d <= last], dtype=np.float64)
    cdef double* acc = <double*>malloc(max(inner, 1) * sizeof(double))
    if acc == NULL:
        raise MemoryError()
    cdef void* px = cnp.PyArray_DATA(X)
    cdef double* po = <double*>cnp.PyArray_DATA(<cnp.ndarray>out)
    try:
        with nogil:
            if type_num == cnp.NPY_DOUBLE:
                _var_kernel(<const double*>px, po, outer, n, inner, divisor, acc)
            else:
                _var_kernel(<const float*>px, po, outer, n, inner, divisor, acc)
    finally:
        free(acc)
    return out


# ---------------------------------------------------------------------------------------------
# cumsum
# ---------------------------------------------------------------------------------------------


cdef void _cumsum_kernel(const floating* x, floating* out, Py_ssize_t outer, Py_ssize_t n,
                         Py_ssize_t inner, bint reverse) noexcept nogil:
    """Running sums along the middle axis of (outer, n, inner), in x's dtype and in order."""
    cdef Py_ssize_t o, j, i, step
    cdef const floating* xo
    cdef floating* oo
    cdef floating running
    for o in range(outer):
        xo = x + o * n * inner
        oo = out + o * n * inner
        if inner == 1:
            running = 0
            if reverse:
                for j in range(n - 1, -1, -1):
                    running = running + xo[j]
                    oo[j] = running
            else:
                for j in range(n):
                    running = running + xo[j]
                    oo[j] = running
            continue
        if reverse:
            for i in range(inner):
                oo[(n - 1) * inner + i] = xo[(n - 1) * inner + i]
            for j in range(n - 2, -1, -1):
                for i in range(inner):
                    oo[j * inner + i] = oo[(j + 1) * inner + i] + xo[j * inner + i]
        else:
            for i in range(inner):
                oo[i] = xo[i]
            for j in range(1, n):
                for i in range(inner):
                    oo[j * inner + i] = oo[(j - 1) * inner + i] + xo[j * inner + i]


def cumsum(x, axis, reverse=False):
    """Running sums along ``axis`` (``reverse``: from the last element backwards)."""
    cdef int type_num = _fast_float_type(x)
    if type_num < 0:
        return _reference.cumsum(x, axis, reverse)
    cdef cnp.ndarray X = <cnp.ndarray>x
    cdef int ndim = cnp.PyArray_NDIM(X)
    if ndim == 0:
        return _reference.cumsum(x, axis, reverse)
    cdef int a = axis
    cdef cnp.npy_intp* dims = cnp.PyArray_DIMS(X)
    cdef Py_ssize_t outer = _prod(dims, 0, a), n = dims[a], inner = _prod(dims, a + 1, ndim)
    cdef cnp.ndarray out = cnp.PyArray_EMPTY(ndim, dims, type_num, 0)
    cdef void* px = cnp.PyArray_DATA(X)
    cdef void* po = cnp.PyArray_DATA(out)
    cdef bint rev = reverse
    if cnp.PyArray_SIZE(X) == 0:
        return out
    with nogil:
        if type_num == cnp.NPY_DOUBLE:
            _cumsum_kernel(<const double*>px, <double*>po, outer, n, inner, rev)
        else:
            _cumsum_kernel(<const float*>px, <float*>po, outer, n, inner, rev)
    return out


# ---------------------------------------------------------------------------------------------
# cumulative_extreme_indices (cummax / cummin)
# ---------------------------------------------------------------------------------------------


cdef inline bint _takes_over(floating v, floating best, bint largest) noexcept nogil:
    """PyTorch's rule: a NaN always takes over; otherwise v >= best (<= for the minimum),
    unless best is NaN."""
    if v != v:
        return True
    if best != best:
        return False
    return v >= best if largest else v <= best


cdef void _cumulative_kernel(const floating* x, cnp.int64_t* out, Py_ssize_t outer,
                             Py_ssize_t n, Py_ssize_t inner, bint largest,
                             floating* best) noexcept nogil:
    """out[o, j, i] = index of the running extreme of x[o, :j+1, i]; ``best`` is scratch for
    ``inner`` values."""
    cdef Py_ssize_t o, j, i
    cdef const floating* xo
    cdef cnp.int64_t* oo
    cdef floating v
    for o in range(outer):
        xo = x + o * n * inner
        oo = out + o * n * inner
        for i in range(inner):
            best[i] = xo[i]
            oo[i] = 0
        for j in range(1, n):
            for i in range(inner):
                v = xo[j * inner + i]
                if _takes_over(v, best[i], largest):
                    best[i] = v
                    oo[j * inner + i] = j
                else:
                    oo[j * inner + i] = oo[(j - 1) * inner + i]


def cumulative_extreme_indices(x, axis, largest):
    """For each position along ``axis``, the index of the running maximum (or minimum)."""
    cdef int type_num = _fast_float_type(x)
    if type_num < 0:
        return _reference.cumulative_extreme_indices(x, axis, largest)
    cdef cnp.ndarray X = <cnp.ndarray>x
    cdef int ndim = cnp.PyArray_NDIM(X)
    if ndim == 0:
        return _reference.cumulative_extreme_indices(x, axis, largest)
    cdef int a = axis
    cdef cnp.npy_intp* dims = cnp.PyArray_DIMS(X)
    cdef Py_ssize_t outer = _prod(dims, 0, a), n = dims[a], inner = _prod(dims, a + 1, ndim)
    cdef cnp.ndarray out = cnp.PyArray_EMPTY(ndim, dims, cnp.NPY_INT64, 0)
    if cnp.PyArray_SIZE(X) == 0:
        return out
    cdef void* px = cnp.PyArray_DATA(X)
    cdef cnp.int64_t* po = <cnp.int64_t*>cnp.PyArray_DATA(out)
    cdef bint big = largest
    cdef void* best = malloc(inner * sizeof(double))
    if best == NULL:
        raise MemoryError()
    try:
        with nogil:
            if type_num == cnp.NPY_DOUBLE:
                _cumulative_kernel(<const double*>px, po, outer, n, inner, big, <double*>best)
            else:
                _cumulative_kernel(<const float*>px, po, outer, n, inner, big, <float*>best)
    finally:
        free(best)
    return out
