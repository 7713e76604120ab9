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
from libc.math cimport sqrt, sqrtf
from libc.stdlib cimport free, malloc

from cython.parallel cimport prange

from ._common cimport _fast_float_type
from ._runtime cimport parallel_threads, pool_empty

import numpy as np

from . import reference as _reference

cnp.import_array()

cdef inline Py_ssize_t _prod(cnp.npy_intp* dims, int start, int stop) noexcept:
    cdef Py_ssize_t p = 1
    cdef int d
    for d in range(start, stop):
        p *= dims[d]
    return p


cdef inline bint _one_axis_run(object axis, int ndim, int* first, int* last):
    """The quick case of _axis_run: ``axis`` an int or a 1-tuple of an int in [0, ndim), the
    common reduction over one dim (0.1 us, against 0.3 for _axis_run and its tuple). False
    for anything else (the caller then asks _axis_run)."""
    cdef object a = axis
    if type(a) is tuple and len(<tuple>a) == 1:
        a = (<tuple>a)[0]
    if type(a) is not int:
        return False
    cdef long k = a
    if not 0 <= k < ndim:
        return False
    first[0] = last[0] = <int>k
    return True


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


DEF _VAR_LANES = 8


cdef inline double _sum_lanes(const floating* x, Py_ssize_t n, double mean,
                              bint squares) noexcept nogil:
    """sum_j x[j] (``squares``: sum_j (x[j] - mean)^2) in double, in _VAR_LANES independent
    accumulators: one running total would wait on each add's latency (the loop ran at a
    quarter of the speed)."""
    cdef double lanes[_VAR_LANES]
    cdef double total = 0, d
    cdef Py_ssize_t j, k, full = n - n % _VAR_LANES
    for k in range(_VAR_LANES):
        lanes[k] = 0
    if squares:
        for j in range(0, full, _VAR_LANES):
            for k in range(_VAR_LANES):
                d = x[j + k] - mean
                lanes[k] = lanes[k] + d * d
        for j in range(full, n):
            d = x[j] - mean
            total = total + d * d
    else:
        for j in range(0, full, _VAR_LANES):
            for k in range(_VAR_LANES):
                lanes[k] = lanes[k] + x[j + k]
        for j in range(full, n):
            total = total + x[j]
    for k in range(_VAR_LANES):
        total = total + lanes[k]
    return total


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
            mean = _sum_lanes(xo, n, 0.0, False) / n
            out[o] = _sum_lanes(xo, n, mean, True) / divisor
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


cdef void _round_spread(const double* var, floating* out, Py_ssize_t m,
                        bint root) noexcept nogil:
    """The float64 variances rounded to x's type, their square roots first if ``root``."""
    cdef Py_ssize_t i
    for i in range(m):
        out[i] = <floating>(sqrt(var[i]) if root else var[i])


cdef inline floating _sum_squares(const floating* x, Py_ssize_t n) noexcept nogil:
    """sum_j x[j]^2 in x's type (a float32 sum overflows to inf, as numpy's and PyTorch's),
    in _VAR_LANES independent accumulators."""
    cdef floating lanes[_VAR_LANES]
    cdef floating total = 0
    cdef Py_ssize_t j, k, full = n - n % _VAR_LANES
    for k in range(_VAR_LANES):
        lanes[k] = 0
    for j in range(0, full, _VAR_LANES):
        for k in range(_VAR_LANES):
            lanes[k] = lanes[k] + x[j + k] * x[j + k]
    for j in range(full, n):
        total = total + x[j] * x[j]
    for k in range(_VAR_LANES):
        total = total + lanes[k]
    return total


def norm2_all(x):
    """sqrt(sum x^2) over every element, in x's dtype, as a 0-d array: the 2-norm of a small
    tensor without np.errstate around numpy's dot (1.4 us of the 2.5 it took on 100 elements;
    an overflow to inf here raises no floating-point warning)."""
    cdef int type_num = _fast_float_type(x)
    if type_num < 0:
        return _reference.norm2_all(x)
    cdef cnp.ndarray X = <cnp.ndarray>x
    cdef Py_ssize_t n = cnp.PyArray_SIZE(X)
    cdef void* px = cnp.PyArray_DATA(X)
    cdef cnp.ndarray out = cnp.PyArray_EMPTY(0, NULL, type_num, 0)
    if type_num == cnp.NPY_DOUBLE:
        (<double*>cnp.PyArray_DATA(out))[0] = sqrt(_sum_squares(<const double*>px, n))
    else:
        (<float*>cnp.PyArray_DATA(out))[0] = sqrtf(_sum_squares(<const float*>px, n))
    return out


def var_axes(x, axis, correction, keepdims):
    """sum((x - mean)^2) / max(n - correction, 0) over ``axis``, in float64."""
    geometry = _var_geometry(x, axis, keepdims)
    if geometry is None:
        return _reference.var_axes(x, axis, correction, keepdims)
    outer, n, inner, shape = geometry
    out = np.empty(shape, dtype=np.float64)
    _run_var_kernel(<cnp.ndarray>x, <double*>cnp.PyArray_DATA(<cnp.ndarray>out), outer, n,
                    inner, correction)
    return out


def moments_axes(x, axis, correction, keepdims, root):
    """(var or, with ``root``, std; mean) over ``axis`` in x's dtype, from one call:
    var_mean / std_mean. The spread is var_axes' rounded (after its square root), the mean is
    reduce_axes' (so both equal what var/std and mean give alone)."""
    geometry = _var_geometry(x, axis, keepdims)
    if geometry is None:
        return _reference.moments_axes(x, axis, correction, keepdims, root)
    outer, n, inner, shape = geometry
    cdef int type_num = cnp.PyArray_TYPE(<cnp.ndarray>x)
    spread = np.empty(shape, dtype=x.dtype)
    cdef Py_ssize_t m = cnp.PyArray_SIZE(<cnp.ndarray>spread)
    cdef double* var = <double*>malloc(max(m, 1) * sizeof(double))
    if var == NULL:
        raise MemoryError()
    cdef void* ps = cnp.PyArray_DATA(<cnp.ndarray>spread)
    cdef bint take_root = bool(root)
    try:
        _run_var_kernel(<cnp.ndarray>x, var, outer, n, inner, correction)
        with nogil:
            if type_num == cnp.NPY_DOUBLE:
                _round_spread(var, <double*>ps, m, take_root)
            else:
                _round_spread(var, <float*>ps, m, take_root)
    finally:
        free(var)
    return spread, reduce_axes(x, axis, "mean", keepdims)


cdef object _var_geometry(x, axis, keepdims):
    """(outer, n, inner, result shape) of a variance over ``axis`` of x seen as (outer, n,
    inner), or None for what the kernel does not take (the caller asks the reference)."""
    if _fast_float_type(x) < 0:
        return None
    cdef cnp.ndarray X = <cnp.ndarray>x
    cdef int ndim = cnp.PyArray_NDIM(X)
    run = _axis_run(axis, ndim) if ndim else None
    if run is None or cnp.PyArray_SIZE(X) == 0:
        return None
    cdef int first = run[0], last = run[1]
    cdef cnp.npy_intp* dims = cnp.PyArray_DIMS(X)
    shape = list(x.shape)
    if keepdims:
        for d in range(first, last + 1):
            shape[d] = 1
    else:
        del shape[first:last + 1]
    return _prod(dims, 0, first), _prod(dims, first, last + 1), _prod(dims, last + 1, ndim), \
        shape


cdef void _run_var_kernel(cnp.ndarray x, double* out, Py_ssize_t outer, Py_ssize_t n,
                          Py_ssize_t inner, double correction) except *:
    """_var_kernel over x (checked by _var_geometry), with its scratch row."""
    cdef double dof = n - correction
    cdef double divisor = dof if dof > 0 else 0.0
    cdef double* acc = <double*>malloc(max(inner, 1) * sizeof(double))
    if acc == NULL:
        raise MemoryError()
    cdef void* px = cnp.PyArray_DATA(x)
    with nogil:
        if cnp.PyArray_TYPE(x) == cnp.NPY_DOUBLE:
            _var_kernel(<const double*>px, out, outer, n, inner, divisor, acc)
        else:
            _var_kernel(<const float*>px, out, outer, n, inner, divisor, acc)
    free(acc)


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


cdef void _cumprod_kernel(const floating* x, floating* out, Py_ssize_t outer, Py_ssize_t n,
                          Py_ssize_t inner) noexcept nogil:
    """Running products along the middle axis of (outer, n, inner), in order."""
    cdef Py_ssize_t o, j, i
    cdef const floating* xo
    cdef floating* oo
    cdef floating running
    for o in range(outer):
        xo = x + o * n * inner
        oo = out + o * n * inner
        if inner == 1:
            running = 1
            for j in range(n):
                running = running * xo[j]
                oo[j] = running
            continue
        for i in range(inner):
            oo[i] = xo[i]
        for j in range(1, n):
            for i in range(inner):
                oo[j * inner + i] = oo[(j - 1) * inner + i] * xo[j * inner + i]


def cumprod(x, axis):
    """Running products along ``axis``."""
    cdef int type_num = _fast_float_type(x)
    if type_num < 0:
        return _reference.cumprod(x, axis)
    cdef cnp.ndarray X = <cnp.ndarray>x
    cdef int ndim = cnp.PyArray_NDIM(X)
    if ndim == 0:
        return _reference.cumprod(x, axis)
    cdef int a = axis
    cdef cnp.npy_intp* dims = cnp.PyArray_DIMS(X)
    cdef Py_ssize_t outer = _prod(dims, 0, a), n = dims[a], inner = _prod(dims, a + 1, ndim)
    cdef cnp.ndarray out = cnp.PyArray_EMPTY(ndim, dims, type_num, 0)
    cdef void* px = cnp.PyArray_DATA(X)
    cdef void* po = cnp.PyArray_DATA(out)
    if cnp.PyArray_SIZE(X) == 0:
        return out
    with nogil:
        if type_num == cnp.NPY_DOUBLE:
            _cumprod_kernel(<const double*>px, <double*>po, outer, n, inner)
        else:
            _cumprod_kernel(<const float*>px, <float*>po, outer, n, inner)
    return out


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


cdef void _cumulative_kernel(const floating* x, cnp.int64_t* out, floating* values,
                             Py_ssize_t outer, Py_ssize_t n, Py_ssize_t inner, bint largest,
                             floating* best) noexcept nogil:
    """out[o, j, i] = index of the running extreme of x[o, :j+1, i], and values[o, j, i] = that
    extreme (x at that index) unless ``values`` is NULL; ``best`` is scratch for ``inner``
    values."""
    cdef Py_ssize_t o, j, i, chosen
    cdef const floating* xo
    cdef cnp.int64_t* oo
    cdef floating* vo
    cdef floating v, running
    if inner == 1:  # along the last axis: the running value stays in a register
        for o in range(outer):
            xo = x + o * n
            oo = out + o * n
            running = xo[0]
            chosen = 0
            oo[0] = 0
            vo = values + o * n if values != NULL else NULL
            if vo != NULL:
                vo[0] = running
            for j in range(1, n):
                v = xo[j]
                if _takes_over(v, running, largest):
                    running = v
                    chosen = j
                oo[j] = chosen
                if vo != NULL:  # (the same branch every time: predicted)
                    vo[j] = running
        return
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
        if values != NULL:  # x at the chosen indices, slice by slice
            vo = values + o * n * inner
            for j in range(n):
                for i in range(inner):
                    vo[j * inner + i] = xo[oo[j * inner + i] * inner + i]


def cumulative_extreme_indices(x, axis, largest):
    """For each position along ``axis``, the index of the running maximum (or minimum)."""
    return _cumulative(x, axis, largest, False)


def cumulative_extreme(x, axis, largest):
    """(values, indices) of the running maximum (or minimum) along ``axis``, in one pass."""
    return _cumulative(x, axis, largest, True)


cdef _cumulative(x, axis, largest, bint with_values):
    cdef int type_num = _fast_float_type(x)
    if type_num < 0 or x.ndim == 0:
        if with_values:
            return _reference.cumulative_extreme(x, axis, largest)
        return _reference.cumulative_extreme_indices(x, axis, largest)
    cdef cnp.ndarray X = <cnp.ndarray>x
    cdef int ndim = cnp.PyArray_NDIM(X)
    cdef int a = axis
    cdef cnp.npy_intp* dims = cnp.PyArray_DIMS(X)
    cdef Py_ssize_t outer = _prod(dims, 0, a), n = dims[a], inner = _prod(dims, a + 1, ndim)
    cdef cnp.ndarray out = cnp.PyArray_EMPTY(ndim, dims, cnp.NPY_INT64, 0)
    cdef cnp.ndarray vals = cnp.PyArray_EMPTY(ndim, dims, type_num, 0) if with_values else None
    if cnp.PyArray_SIZE(X) == 0:
        return (vals, out) if with_values else out
    cdef void* px = cnp.PyArray_DATA(X)
    cdef cnp.int64_t* po = <cnp.int64_t*>cnp.PyArray_DATA(out)
    cdef void* pv = cnp.PyArray_DATA(vals) if with_values else NULL
    cdef bint big = largest
    cdef void* best = malloc(inner * sizeof(double))
    if best == NULL:
        raise MemoryError()
    try:
        with nogil:
            if type_num == cnp.NPY_DOUBLE:
                _cumulative_kernel(<const double*>px, po, <double*>pv, outer, n, inner, big,
                                   <double*>best)
            else:
                _cumulative_kernel(<const float*>px, po, <float*>pv, outer, n, inner, big,
                                   <float*>best)
    finally:
        free(best)
    return (vals, out) if with_values else out


# ---------------------------------------------------------------------------------------------
# reduce_axes: sum, mean, max, min, prod, nansum
# ---------------------------------------------------------------------------------------------
#
# A sum along contiguous memory is written as 16 lane accumulators over blocks of 16 elements:
# each lane is a plain elementwise add (which the compiler turns into SIMD adds without
# reassociating anything), and blocks of _BLOCK elements are combined pairwise, so the rounding
# error grows like (_BLOCK / 16) + log(n) additions instead of n.
#
# Sum, max, min, prod and nansum are C loops (below) of one step, acc = step(acc, v). Along a
# leading axis, acc[k] = step(acc[k], row[k]) over the input's rows of m = inner elements,
# compiled on its own (noinline, restrict) so that m stays a run-time count: with m a constant
# GCC unrolls the inner loop first and then leaves the selects of max and min scalar (2.4x
# slower than the sum). Along contiguous memory, lanes take every 8th (32nd) element.
# The max/min step keeps a NaN: v replaces the accumulator when v > c or when v is NaN, and a
# NaN accumulator compares false with everything, so it stays. The nansum step adds 0 for NaN.

cdef extern from *:
    """
    #if defined(_MSC_VER)
    #define MG_ROW_NOINLINE __declspec(noinline)
    #define MG_RESTRICT __restrict
    #else
    #define MG_ROW_NOINLINE __attribute__((noinline))
    #define MG_RESTRICT __restrict__
    #endif
    /* Each lane loop is compiled twice, for AVX2 and for the x86-64 baseline, and one is
       picked at load time from the CPU (an ifunc: GCC on x86-64 with glibc; elsewhere one
       baseline copy). The lanes and the order they are combined in are the same in both, so
       the results are bit-identical; "avx2" implies no FMA, so nothing is contracted. */
    #if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__GLIBC__)
    #define MG_AVX2_DISPATCH 1
    #define MG_RED_CLONES __attribute__((target_clones("avx2", "default")))
    #else
    #define MG_AVX2_DISPATCH 0
    #define MG_RED_CLONES
    #endif
    #define MG_STEP_MAX(c, v) ((v) != (v) ? (v) : ((v) > (c) ? (v) : (c)))
    #define MG_STEP_MIN(c, v) ((v) != (v) ? (v) : ((v) < (c) ? (v) : (c)))
    #define MG_STEP_PROD(c, v) ((c) * (v))
    #define MG_STEP_NANSUM(c, v) ((c) + ((v) == (v) ? (v) : 0))
    #define MG_ROW_LOOP(NAME, T, STEP, ATTR) \
        static ATTR MG_ROW_NOINLINE void NAME(const T* MG_RESTRICT x, T* MG_RESTRICT acc, \
                                              Py_ssize_t rows, Py_ssize_t m) { \
            for (Py_ssize_t j = 0; j < rows; j++) { \
                const T* MG_RESTRICT row = x + j * m; \
                for (Py_ssize_t k = 0; k < m; k++) acc[k] = STEP(acc[k], row[k]); \
            } \
        } \
        static inline T NAME##_1(T c, T v) { return STEP(c, v); }
    /* Along one contiguous run of n >= 1 elements: LANES lanes, lane k taking every
       LANES-th element, then combined as a tree, lane k with lane k + h for h = LANES / 2
       down to 1 (GCC and Clang: vector registers, below; others: the plain C loops after
       them). Few lanes suit short rows: combining the lanes is what a row of 100 spends
       its time on (8 lanes: 9 ns a float32 row of 100 in prod, 32 lanes: 28 ns; combined
       one after another, 16 sum lanes took 8 ns a row of 100, as a tree 4: a float32
       sum(dim=1) of 10^6 in 43 us instead of 81);
       long float32 runs want 32 (8 vectors in flight hide the multiplies' and adds' latency:
       a 10^5 product in 12 us instead of 17 with 16 lanes and 24 with 8).
       Max and min track NaN in lanes of their own, so the scalar steps are branch-free
       (maxss) and a random order of comparisons costs no mispredicted branches (88 ns a row
       of 100 with the NaN test inside the step, 21 ns with flags). */
    #define MG_GREATER(c, v) ((v) > (c) ? (v) : (c))
    #define MG_LESS(c, v) ((v) < (c) ? (v) : (c))
    #define MG_PLUS(c, v) ((c) + (v))
    #if defined(__GNUC__)
    /* The lanes held in registers as GCC vectors (16 bytes: SSE2 or NEON; 32 bytes: AVX2),
       then combined (whole vectors, then the elements of the last) in the same tree as the
       plain C loops below, so the results are theirs bit for bit. Those loops keep their lanes in an
       array on the stack ("GCC unroll 1" keeps GCC from unrolling them, which left the
       selects scalar), and every step waited on a store and a reload of its lane: a 10^5
       float32 nansum took 14.6 us, and an AVX2 clone of that loop was no faster than SSE2
       (8.0 us now). Selects are masks: a compare gives all ones or zeros. */
    #include <string.h>
    typedef float mg_vec16_float __attribute__((vector_size(16)));
    typedef int mg_mask16_float __attribute__((vector_size(16)));
    typedef double mg_vec16_double __attribute__((vector_size(16)));
    typedef long long mg_mask16_double __attribute__((vector_size(16)));
    typedef float mg_vec32_float __attribute__((vector_size(32)));
    typedef int mg_mask32_float __attribute__((vector_size(32)));
    typedef double mg_vec32_double __attribute__((vector_size(32)));
    typedef long long mg_mask32_double __attribute__((vector_size(32)));
    #define MG_SELECT(M, V, m, a, b) ((V)(((M)(a) & (m)) | ((M)(b) & ~(m))))
    #define MG_GREATER_V(M, V, c, v) MG_SELECT(M, V, (M)((v) > (c)), v, c)
    #define MG_LESS_V(M, V, c, v) MG_SELECT(M, V, (M)((v) < (c)), v, c)
    #define MG_PLUS_V(M, V, c, v) ((c) + (v))
    #define MG_STEP_PROD_V(M, V, c, v) ((c) * (v))
    #define MG_STEP_NANSUM_V(M, V, c, v) ((c) + (V)((M)(v) & (M)((v) == (v))))
    #define MG_EXTREME_BLOCK_V(NAME, T, PICK, VB, ATTR) \
        static ATTR T NAME(const T* MG_RESTRICT x, Py_ssize_t n) { \
            enum { W = sizeof(mg_vec##VB##_##T) / sizeof(T), NV = 8 / W }; \
            mg_vec##VB##_##T lanes[NV], v; \
            mg_mask##VB##_##T nan[NV]; \
            T result = x[0]; \
            Py_ssize_t i, k, full = n - n % 8; \
            int a, seen = 0; \
            if (full) { \
                for (a = 0; a < NV; a++) { \
                    memcpy(&lanes[a], x + a * W, sizeof v); \
                    nan[a] = (mg_mask##VB##_##T){0}; \
                } \
                for (i = 0; i < full; i += 8) { \
                    _Pragma("GCC unroll 8") \
                    for (a = 0; a < NV; a++) { \
                        memcpy(&v, x + i + a * W, sizeof v); \
                        lanes[a] = PICK##_V(mg_mask##VB##_##T, mg_vec##VB##_##T, lanes[a], \
                                            v); \
                        nan[a] |= (mg_mask##VB##_##T)(v != v); \
                    } \
                } \
                for (k = 0; k < 8; k++) { \
                    result = PICK(result, lanes[k / W][k % W]); \
                    seen |= nan[k / W][k % W] != 0; \
                } \
            } \
            for (i = full; i < n; i++) { result = PICK(result, x[i]); seen |= x[i] != x[i]; } \
            return seen ? (T)NAN : result; \
        }
    #define MG_ACC_BLOCK_V(NAME, T, STEP, COMBINE, IDENTITY, LANES, VB, ATTR) \
        static ATTR T NAME(const T* MG_RESTRICT x, Py_ssize_t n) { \
            enum { W = sizeof(mg_vec##VB##_##T) / sizeof(T), NV = LANES / W }; \
            mg_vec##VB##_##T lanes[NV], v; \
            T result, tree[W]; \
            Py_ssize_t i, k, full = n - n % LANES; \
            int a, nv, h; \
            for (a = 0; a < NV; a++) \
                for (k = 0; k < W; k++) lanes[a][k] = IDENTITY; \
            for (i = 0; i < full; i += LANES) { \
                _Pragma("GCC unroll 8") \
                for (a = 0; a < NV; a++) { \
                    memcpy(&v, x + i + a * W, sizeof v); \
                    lanes[a] = STEP##_V(mg_mask##VB##_##T, mg_vec##VB##_##T, lanes[a], \
                                        v); \
                } \
            } \
            /* the lanes combined as a tree (lane k with lane k + h, h = LANES / 2 ... 1): \
               whole vectors first, then the W elements of the last one */ \
            for (nv = NV / 2; nv >= 1; nv /= 2) \
                for (a = 0; a < nv; a++) lanes[a] = COMBINE(lanes[a], lanes[a + nv]); \
            memcpy(tree, &lanes[0], sizeof v); \
            for (h = W / 2; h >= 1; h /= 2) \
                for (k = 0; k < h; k++) tree[k] = COMBINE(tree[k], tree[k + h]); \
            result = tree[0]; \
            for (i = full; i < n; i++) result = STEP(result, x[i]); \
            return result; \
        }
    #if MG_AVX2_DISPATCH
    /* Twice: 32-byte vectors for AVX2 and 16-byte ones for the baseline (GCC splits 32-byte
       vectors into scalar code where AVX is off: 35x slower), chosen at each call. */
    #define MG_AVX2 __attribute__((target("avx2")))
    #define MG_EXTREME_BLOCK(NAME, T, PICK) \
        MG_EXTREME_BLOCK_V(NAME##_v16, T, PICK, 16, ) \
        MG_EXTREME_BLOCK_V(NAME##_v32, T, PICK, 32, MG_AVX2) \
        static T NAME(const T* x, Py_ssize_t n) { \
            return __builtin_cpu_supports("avx2") ? NAME##_v32(x, n) : NAME##_v16(x, n); }
    #define MG_ACC_BLOCK(NAME, T, STEP, COMBINE, IDENTITY, LANES) \
        MG_ACC_BLOCK_V(NAME##_v16, T, STEP, COMBINE, IDENTITY, LANES, 16, ) \
        MG_ACC_BLOCK_V(NAME##_v32, T, STEP, COMBINE, IDENTITY, LANES, 32, MG_AVX2) \
        static T NAME(const T* x, Py_ssize_t n) { \
            return __builtin_cpu_supports("avx2") ? NAME##_v32(x, n) : NAME##_v16(x, n); }
    #else
    #define MG_EXTREME_BLOCK(NAME, T, PICK) MG_EXTREME_BLOCK_V(NAME, T, PICK, 16, )
    #define MG_ACC_BLOCK(NAME, T, STEP, COMBINE, IDENTITY, LANES) \
        MG_ACC_BLOCK_V(NAME, T, STEP, COMBINE, IDENTITY, LANES, 16, )
    #endif
    #else
    #define MG_EXTREME_BLOCK(NAME, T, PICK) \
        static MG_RED_CLONES T NAME(const T* MG_RESTRICT x, Py_ssize_t n) { \
            T lanes[8], nan[8], result = x[0]; \
            Py_ssize_t i, k, full = n - n % 8; \
            int seen = 0; \
            if (full) { \
                for (k = 0; k < 8; k++) { lanes[k] = x[k]; nan[k] = 0; } \
                for (i = 0; i < full; i += 8) { \
                    _Pragma("GCC unroll 1") \
                    for (k = 0; k < 8; k++) { \
                        T v = x[i + k]; \
                        lanes[k] = PICK(lanes[k], v); \
                        nan[k] = v != v ? 1 : nan[k]; \
                    } \
                } \
                for (k = 0; k < 8; k++) { result = PICK(result, lanes[k]); seen |= nan[k] != 0; } \
            } \
            for (i = full; i < n; i++) { result = PICK(result, x[i]); seen |= x[i] != x[i]; } \
            return seen ? (T)NAN : result; \
        }
    #define MG_ACC_BLOCK(NAME, T, STEP, COMBINE, IDENTITY, LANES) \
        static MG_RED_CLONES T NAME(const T* MG_RESTRICT x, Py_ssize_t n) { \
            T lanes[LANES], result; \
            Py_ssize_t i, k, h, full = n - n % LANES; \
            for (k = 0; k < LANES; k++) lanes[k] = IDENTITY; \
            for (i = 0; i < full; i += LANES) { \
                _Pragma("GCC unroll 1") \
                for (k = 0; k < LANES; k++) lanes[k] = STEP(lanes[k], x[i + k]); \
            } \
            for (h = LANES / 2; h >= 1; h /= 2) /* a tree, as the vector loops combine */ \
                for (k = 0; k < h; k++) lanes[k] = COMBINE(lanes[k], lanes[k + h]); \
            result = lanes[0]; \
            for (i = full; i < n; i++) result = STEP(result, x[i]); \
            return result; \
        }
    #endif
    /* The row loops are plain C (their accumulators are rows in memory): cloned for AVX2
       where that was faster (float32 sum and prod were 10% slower with it: they run at the
       speed of the loads and stores either way) */
    #define MG_ROWS_BOTH(OP, STEP, ATTR_F, ATTR_D) \
        MG_ROW_LOOP(mg_rows_##OP##_f, float, STEP, ATTR_F) \
        MG_ROW_LOOP(mg_rows_##OP##_d, double, STEP, ATTR_D)
    /* Whether a row holds any of the extremes found for its columns (a NaN in a column makes
       its extreme NaN, so any NaN is one):
       an OR over compares, which vectorizes, so that argmax's search for the first row
       holding each extreme runs its scalar, branching loop only on the rows that do. */
    #define MG_ROW_HITS(NAME, T) \
        static MG_ROW_NOINLINE int NAME(const T* MG_RESTRICT row, const T* MG_RESTRICT best, \
                                        Py_ssize_t m) { \
            T hit = 0;  /* of the row's type: an int flag kept GCC from vectorizing doubles */ \
            for (Py_ssize_t k = 0; k < m; k++) \
                hit = ((row[k] == best[k]) | (row[k] != row[k])) ? 1 : hit; \
            return hit != 0; \
        }
    MG_ROW_HITS(mg_row_hits_f, float)
    MG_ROW_HITS(mg_row_hits_d, double)
    MG_ROWS_BOTH(sum, MG_PLUS, , MG_RED_CLONES)
    MG_ROWS_BOTH(max, MG_STEP_MAX, MG_RED_CLONES, MG_RED_CLONES)
    MG_ROWS_BOTH(min, MG_STEP_MIN, MG_RED_CLONES, MG_RED_CLONES)
    MG_ROWS_BOTH(prod, MG_STEP_PROD, , MG_RED_CLONES)
    MG_ROWS_BOTH(nansum, MG_STEP_NANSUM, MG_RED_CLONES, MG_RED_CLONES)
    MG_EXTREME_BLOCK(mg_block_max_f, float, MG_GREATER)
    MG_EXTREME_BLOCK(mg_block_max_d, double, MG_GREATER)
    MG_EXTREME_BLOCK(mg_block_min_f, float, MG_LESS)
    MG_EXTREME_BLOCK(mg_block_min_d, double, MG_LESS)
    /* sum: 16 lanes (_LANES), combined as a tree after the lanes, then the tail */
    MG_ACC_BLOCK(mg_block_sum_f, float, MG_PLUS, MG_PLUS, 0, 16)
    MG_ACC_BLOCK(mg_block_sum_d, double, MG_PLUS, MG_PLUS, 0, 16)
    /* float32 prod: 16 lanes for short runs (with the lanes combined as a tree, 2 vectors
       in flight beat 1: a float32 prod(dim=1) of 10^6 in 61 us instead of 76), 32 for long
       ones; nansum: 8 and 32 (see above) */
    MG_ACC_BLOCK(mg_block_prod8_f, float, MG_STEP_PROD, MG_STEP_PROD, 1, 8)
    MG_ACC_BLOCK(mg_block_prod16_f, float, MG_STEP_PROD, MG_STEP_PROD, 1, 16)
    MG_ACC_BLOCK(mg_block_prod32_f, float, MG_STEP_PROD, MG_STEP_PROD, 1, 32)
    MG_ACC_BLOCK(mg_block_prod8_d, double, MG_STEP_PROD, MG_STEP_PROD, 1, 8)
    static inline float mg_block_prod_f(const float* x, Py_ssize_t n) {
        return n <= 256 ? mg_block_prod16_f(x, n) : mg_block_prod32_f(x, n); }
    static inline double mg_block_prod_d(const double* x, Py_ssize_t n) {
        return mg_block_prod8_d(x, n); }
    /* nansum's lanes hold no NaN of the input, only inf - inf: combined with a plain add */
    MG_ACC_BLOCK(mg_block_nansum8_f, float, MG_STEP_NANSUM, MG_PLUS, 0, 8)
    MG_ACC_BLOCK(mg_block_nansum32_f, float, MG_STEP_NANSUM, MG_PLUS, 0, 32)
    MG_ACC_BLOCK(mg_block_nansum_d, double, MG_STEP_NANSUM, MG_PLUS, 0, 8)
    static inline float mg_block_nansum_f(const float* x, Py_ssize_t n) {
        return n <= 256 ? mg_block_nansum8_f(x, n) : mg_block_nansum32_f(x, n); }
    /* min and max in one pass (aminmax): 16 lanes of each, NaN noted per lane */
    #define MG_MINMAX(NAME, T) \
        static MG_RED_CLONES void NAME(const T* MG_RESTRICT x, Py_ssize_t n, T* low, \
                                       T* high) { \
            T lo[16], hi[16], nan[16], l = x[0], h = x[0]; \
            Py_ssize_t i, k, full = n - n % 16; \
            int seen = 0; \
            if (full) { \
                for (k = 0; k < 16; k++) { lo[k] = hi[k] = x[k]; nan[k] = 0; } \
                for (i = 0; i < full; i += 16) { \
                    _Pragma("GCC unroll 1") \
                    for (k = 0; k < 16; k++) { \
                        T v = x[i + k]; \
                        lo[k] = v < lo[k] ? v : lo[k]; \
                        hi[k] = v > hi[k] ? v : hi[k]; \
                        nan[k] = v != v ? 1 : nan[k]; \
                    } \
                } \
                for (k = 0; k < 16; k++) { \
                    l = lo[k] < l ? lo[k] : l; h = hi[k] > h ? hi[k] : h; seen |= nan[k] != 0; \
                } \
            } \
            for (i = full; i < n; i++) { \
                T v = x[i]; l = v < l ? v : l; h = v > h ? v : h; seen |= v != v; \
            } \
            *low = seen ? (T)NAN : l; \
            *high = seen ? (T)NAN : h; \
        }
    MG_MINMAX(mg_minmax_f, float)
    MG_MINMAX(mg_minmax_d, double)
    """
    void mg_rows_sum_f(const float* x, float* acc, Py_ssize_t rows, Py_ssize_t m) noexcept nogil
    void mg_rows_sum_d(const double* x, double* acc, Py_ssize_t rows,
                       Py_ssize_t m) noexcept nogil
    float mg_block_sum_f(const float* x, Py_ssize_t n) noexcept nogil
    double mg_block_sum_d(const double* x, Py_ssize_t n) noexcept nogil
    void mg_rows_max_f(const float* x, float* acc, Py_ssize_t rows, Py_ssize_t m) noexcept nogil
    void mg_rows_max_d(const double* x, double* acc, Py_ssize_t rows,
                       Py_ssize_t m) noexcept nogil
    void mg_rows_min_f(const float* x, float* acc, Py_ssize_t rows, Py_ssize_t m) noexcept nogil
    void mg_rows_min_d(const double* x, double* acc, Py_ssize_t rows,
                       Py_ssize_t m) noexcept nogil
    void mg_rows_prod_f(const float* x, float* acc, Py_ssize_t rows,
                        Py_ssize_t m) noexcept nogil
    void mg_rows_prod_d(const double* x, double* acc, Py_ssize_t rows,
                        Py_ssize_t m) noexcept nogil
    void mg_rows_nansum_f(const float* x, float* acc, Py_ssize_t rows,
                          Py_ssize_t m) noexcept nogil
    void mg_rows_nansum_d(const double* x, double* acc, Py_ssize_t rows,
                          Py_ssize_t m) noexcept nogil
    float mg_rows_max_f_1(float c, float v) noexcept nogil
    double mg_rows_max_d_1(double c, double v) noexcept nogil
    float mg_rows_min_f_1(float c, float v) noexcept nogil
    double mg_rows_min_d_1(double c, double v) noexcept nogil
    float mg_rows_prod_f_1(float c, float v) noexcept nogil
    double mg_rows_prod_d_1(double c, double v) noexcept nogil
    float mg_rows_nansum_f_1(float c, float v) noexcept nogil
    double mg_rows_nansum_d_1(double c, double v) noexcept nogil
    int mg_row_hits_f(const float* row, const float* best, Py_ssize_t m) noexcept nogil
    int mg_row_hits_d(const double* row, const double* best, Py_ssize_t m) noexcept nogil
    float mg_block_max_f(const float* x, Py_ssize_t n) noexcept nogil
    double mg_block_max_d(const double* x, Py_ssize_t n) noexcept nogil
    float mg_block_min_f(const float* x, Py_ssize_t n) noexcept nogil
    double mg_block_min_d(const double* x, Py_ssize_t n) noexcept nogil
    float mg_block_prod_f(const float* x, Py_ssize_t n) noexcept nogil
    double mg_block_prod_d(const double* x, Py_ssize_t n) noexcept nogil
    float mg_block_nansum_f(const float* x, Py_ssize_t n) noexcept nogil
    double mg_block_nansum_d(const double* x, Py_ssize_t n) noexcept nogil
    void mg_minmax_f(const float* x, Py_ssize_t n, float* low, float* high) noexcept nogil
    void mg_minmax_d(const double* x, Py_ssize_t n, double* low, double* high) noexcept nogil

DEF _LANES = 16
DEF _BLOCK = 4096

cdef enum ReduceOp:
    RED_SUM
    RED_MAX
    RED_MIN
    RED_PROD
    RED_NANSUM


cdef inline void _rows(ReduceOp op, const floating* x, floating* acc, Py_ssize_t rows,
                       Py_ssize_t m) noexcept nogil:
    """acc[k] = step(acc[k], x[j * m + k]) for j < rows, k < m."""
    if floating is float:
        if op == RED_SUM:
            mg_rows_sum_f(x, acc, rows, m)
        elif op == RED_MAX:
            mg_rows_max_f(x, acc, rows, m)
        elif op == RED_MIN:
            mg_rows_min_f(x, acc, rows, m)
        elif op == RED_PROD:
            mg_rows_prod_f(x, acc, rows, m)
        else:
            mg_rows_nansum_f(x, acc, rows, m)
    else:
        if op == RED_SUM:
            mg_rows_sum_d(x, acc, rows, m)
        elif op == RED_MAX:
            mg_rows_max_d(x, acc, rows, m)
        elif op == RED_MIN:
            mg_rows_min_d(x, acc, rows, m)
        elif op == RED_PROD:
            mg_rows_prod_d(x, acc, rows, m)
        else:
            mg_rows_nansum_d(x, acc, rows, m)


cdef inline floating _step(ReduceOp op, floating c, floating v) noexcept nogil:
    """One element of _rows: the accumulator c combined with v (op is not RED_SUM)."""
    if floating is float:
        if op == RED_MAX:
            return mg_rows_max_f_1(c, v)
        if op == RED_MIN:
            return mg_rows_min_f_1(c, v)
        if op == RED_PROD:
            return mg_rows_prod_f_1(c, v)
        return mg_rows_nansum_f_1(c, v)
    else:
        if op == RED_MAX:
            return mg_rows_max_d_1(c, v)
        if op == RED_MIN:
            return mg_rows_min_d_1(c, v)
        if op == RED_PROD:
            return mg_rows_prod_d_1(c, v)
        return mg_rows_nansum_d_1(c, v)


cdef inline bint _starts_with_first(ReduceOp op) noexcept nogil:
    """max and min start from the first element; prod and nansum from their identity."""
    return op == RED_MAX or op == RED_MIN


cdef inline floating _sum_block(const floating* x, Py_ssize_t n) noexcept nogil:
    """Sum of x[0:n] (n <= _BLOCK) in _LANES independent lanes (mg_block_sum_*)."""
    if floating is float:
        return mg_block_sum_f(x, n)
    else:
        return mg_block_sum_d(x, n)


cdef inline floating _lane_block(ReduceOp op, const floating* x, Py_ssize_t n) noexcept nogil:
    """max, min, prod or nansum of x[0:n] (1 <= n <= _BLOCK), in lanes (mg_block_*)."""
    if floating is float:
        if op == RED_MAX:
            return mg_block_max_f(x, n)
        if op == RED_MIN:
            return mg_block_min_f(x, n)
        if op == RED_PROD:
            return mg_block_prod_f(x, n)
        return mg_block_nansum_f(x, n)
    else:
        if op == RED_MAX:
            return mg_block_max_d(x, n)
        if op == RED_MIN:
            return mg_block_min_d(x, n)
        if op == RED_PROD:
            return mg_block_prod_d(x, n)
        return mg_block_nansum_d(x, n)


cdef floating _reduce_run(ReduceOp op, const floating* x, Py_ssize_t n) noexcept nogil:
    """Reduce a contiguous run of n >= 1 elements: blocks of _BLOCK, combined pairwise."""
    cdef Py_ssize_t half
    if n <= _BLOCK:
        if op == RED_SUM:
            return _sum_block(x, n)
        return _lane_block(op, x, n)
    half = (n // 2) - (n // 2) % _LANES
    if op == RED_SUM:
        return _reduce_run(op, x, half) + _reduce_run(op, x + half, n - half)
    if op == RED_NANSUM:  # the halves hold no NaN: a plain add
        return _reduce_run(op, x, half) + _reduce_run(op, x + half, n - half)
    return _step(op, _reduce_run(op, x, half), _reduce_run(op, x + half, n - half))


cdef void _reduce_kernel(ReduceOp op, const floating* x, floating* out, Py_ssize_t outer,
                         Py_ssize_t n, Py_ssize_t inner) noexcept nogil:
    """out[o, i] = reduce_j x[o, j, i] (n >= 1)."""
    cdef Py_ssize_t o, j, i
    cdef const floating* row
    cdef floating* target
    for o in range(outer):
        if inner == 1:
            out[o] = _reduce_run(op, x + o * n, n)
            continue
        target = out + o * inner
        row = x + o * n * inner
        if op == RED_SUM or _starts_with_first(op):
            for i in range(inner):
                target[i] = row[i]
            _rows(op, row + inner, target, n - 1, inner)
        else:
            for i in range(inner):
                target[i] = (1 if op == RED_PROD else 0)
            _rows(op, row, target, n, inner)


_REDUCE_CODES = {"sum": RED_SUM, "mean": RED_SUM, "max": RED_MAX, "min": RED_MIN,
                 "prod": RED_PROD, "nansum": RED_NANSUM}


def reduce_axes(x, axis, op, keepdims):
    """The sum, mean, max, min, prod or nansum of x over ``axis``, in x's dtype."""
    cdef int type_num = _fast_float_type(x)
    code_of_op = _REDUCE_CODES.get(op)
    if type_num < 0 or code_of_op is None:
        return _reference.reduce_axes(x, axis, op, keepdims)
    cdef cnp.ndarray X = <cnp.ndarray>x
    cdef int ndim = cnp.PyArray_NDIM(X)
    if ndim == 0 or ndim > 32 or cnp.PyArray_SIZE(X) == 0:
        return _reference.reduce_axes(x, axis, op, keepdims)
    cdef int first = 0, last = 0
    if not _one_axis_run(axis, ndim, &first, &last):
        run = _axis_run(axis, ndim)
        if run is None:
            return _reference.reduce_axes(x, axis, op, keepdims)
        first, last = run
    cdef cnp.npy_intp* dims = cnp.PyArray_DIMS(X)
    cdef Py_ssize_t outer = _prod(dims, 0, first), n = _prod(dims, first, last + 1)
    cdef Py_ssize_t inner = _prod(dims, last + 1, ndim)
    cdef ReduceOp code = code_of_op
    if (code == RED_MAX or code == RED_MIN) and outer == 1 and inner == 1 and n > 2048:
        # one long run: numpy's SIMD max is faster, once its ~1 us call cost is amortised
        return _reference.reduce_axes(x, axis, op, keepdims)
    cdef cnp.npy_intp out_dims[32]  # x's dims without the reduced ones (or with them as 1)
    cdef int d, out_ndim = 0
    cdef bint keep = keepdims
    for d in range(ndim):
        if d < first or d > last:
            out_dims[out_ndim] = dims[d]
            out_ndim += 1
        elif keep:
            out_dims[out_ndim] = 1
            out_ndim += 1
    out = cnp.PyArray_EMPTY(out_ndim, out_dims, type_num, 0)
    cdef void* px = cnp.PyArray_DATA(X)
    cdef void* po = cnp.PyArray_DATA(<cnp.ndarray>out)
    cdef Py_ssize_t size = cnp.PyArray_SIZE(X), k, count = outer * inner
    if size >= 4096:
        with nogil:
            if type_num == cnp.NPY_DOUBLE:
                _reduce_kernel(code, <const double*>px, <double*>po, outer, n, inner)
            else:
                _reduce_kernel(code, <const float*>px, <float*>po, outer, n, inner)
    elif type_num == cnp.NPY_DOUBLE:
        _reduce_kernel(code, <const double*>px, <double*>po, outer, n, inner)
    else:
        _reduce_kernel(code, <const float*>px, <float*>po, outer, n, inner)
    if op == "mean":
        if type_num == cnp.NPY_DOUBLE:
            for k in range(count):
                (<double*>po)[k] = (<double*>po)[k] / n
        else:
            for k in range(count):
                (<float*>po)[k] = (<float*>po)[k] / n
    return out


# Up to this many elements extreme_all runs the lane loop; beyond, numpy's SIMD max (several
# vectors in flight) is faster once its ~1 us call cost is amortised (on an AVX-512 EPYC: 4096
# float32 1.15 us against numpy's 1.8, level at 10^4, 8.1 against 3.7 at 65536).
DEF _EXTREME_ALL_MAX = 8192


def extreme_all(x, largest):
    """The max (``largest``) or min of every element of a non-empty array (NaN if any is
    NaN), as a 0-d array of x's dtype: ``x.max()``, without reduce_axes' look at the axes
    (0.3 us of the 0.5 it took on 100 elements)."""
    cdef int type_num = _fast_float_type(x)
    if type_num < 0:
        return _reference.extreme_all(x, largest)
    cdef cnp.ndarray X = <cnp.ndarray>x
    cdef Py_ssize_t n = cnp.PyArray_SIZE(X)
    if n == 0 or n > _EXTREME_ALL_MAX:
        return _reference.extreme_all(x, largest)
    cdef cnp.ndarray out = cnp.PyArray_EMPTY(0, NULL, type_num, 0)
    cdef void* px = cnp.PyArray_DATA(X)
    cdef void* po = cnp.PyArray_DATA(out)
    cdef ReduceOp code = RED_MAX if largest else RED_MIN
    if type_num == cnp.NPY_DOUBLE:
        (<double*>po)[0] = _lane_block(code, <const double*>px, n)
    else:
        (<float*>po)[0] = _lane_block(code, <const float*>px, n)
    return out


def extreme_pair(x):
    """(min, max) of every element of a non-empty array (both NaN if any is NaN), as two 0-d
    arrays of x's dtype, from one pass: aminmax over all elements."""
    cdef int type_num = _fast_float_type(x)
    if type_num < 0 or cnp.PyArray_SIZE(<cnp.ndarray>x) == 0:
        return _reference.extreme_pair(x)
    cdef Py_ssize_t n = cnp.PyArray_SIZE(<cnp.ndarray>x)
    cdef cnp.ndarray low = cnp.PyArray_EMPTY(0, NULL, type_num, 0)
    cdef cnp.ndarray high = cnp.PyArray_EMPTY(0, NULL, type_num, 0)
    cdef void* px = cnp.PyArray_DATA(<cnp.ndarray>x)
    cdef void* pl = cnp.PyArray_DATA(low)
    cdef void* ph = cnp.PyArray_DATA(high)
    with nogil:
        if type_num == cnp.NPY_DOUBLE:
            mg_minmax_d(<const double*>px, n, <double*>pl, <double*>ph)
        else:
            mg_minmax_f(<const float*>px, n, <float*>pl, <float*>ph)
    return low, high


# ---------------------------------------------------------------------------------------------
# arg_extreme: argmax / argmin along one axis
# ---------------------------------------------------------------------------------------------


cdef void _arg_kernel(const floating* x, cnp.int64_t* out, Py_ssize_t outer, Py_ssize_t n,
                      Py_ssize_t inner, bint largest, floating* best) noexcept nogil:
    cdef Py_ssize_t o, j, i, chosen
    cdef const floating* row
    cdef floating v, running
    cdef bint nan
    for o in range(outer):
        if inner == 1:
            # one compare per element in the main loop; NaN (rare) is noted on the way and,
            # if seen, the first NaN's index is looked up afterwards
            row = x + o * n
            running = row[0]
            chosen = 0
            nan = running != running
            for j in range(1, n):
                v = row[j]
                nan = nan | (v != v)
                if (v > running) if largest else (v < running):
                    running = v
                    chosen = j
            if nan:
                for j in range(n):
                    if row[j] != row[j]:
                        chosen = j
                        break
            out[o] = chosen
            continue
        _arg_leading(x + o * n * inner, out + o * inner, n, inner, largest, best)


cdef void _arg_leading(const floating* x, cnp.int64_t* out, Py_ssize_t n, Py_ssize_t inner,
                       bint largest, floating* best) noexcept nogil:
    """out[i] = the first j at which x[j, i] is the extreme of column i (NaN first), in two
    passes: the extremes by the vectorized max/min row loop, then the first row holding each,
    looked for element by element only in the rows that hold one (mg_row_hits). One pass with
    a select per element, updating both the value and the index, stayed scalar: 1.5x
    PyTorch's time."""
    cdef Py_ssize_t j, i, remaining = inner
    cdef const floating* row
    cdef floating v
    for i in range(inner):
        best[i] = x[i]
        out[i] = -1
    _rows(RED_MAX if largest else RED_MIN, x + inner, best, n - 1, inner)
    for j in range(n):
        row = x + j * inner
        if floating is float:
            if not mg_row_hits_f(row, best, inner):
                continue
        else:
            if not mg_row_hits_d(row, best, inner):
                continue
        for i in range(inner):
            v = row[i]
            if v == best[i] or v != v:  # (a NaN in column i made best[i] NaN)
                if out[i] < 0:
                    out[i] = j
                    remaining -= 1
        if remaining == 0:
            break


def arg_extreme(x, axis, largest):
    """The index of the first maximal (minimal) element along ``axis``, NaN first."""
    cdef int type_num = _fast_float_type(x)
    if type_num < 0:
        return _reference.arg_extreme(x, axis, largest)
    cdef cnp.ndarray X = <cnp.ndarray>x
    cdef int ndim = cnp.PyArray_NDIM(X)
    if ndim == 0 or cnp.PyArray_SIZE(X) == 0:
        return _reference.arg_extreme(x, axis, largest)
    cdef int a = axis
    cdef cnp.npy_intp* dims = cnp.PyArray_DIMS(X)
    cdef Py_ssize_t outer = _prod(dims, 0, a), n = dims[a], inner = _prod(dims, a + 1, ndim)
    if inner == 1:  # along contiguous memory numpy's SIMD argmax is faster than this loop
        return _reference.arg_extreme(x, axis, largest)
    out = np.empty([s for d, s in enumerate(x.shape) if d != a], dtype=np.int64)
    cdef cnp.int64_t* po = <cnp.int64_t*>cnp.PyArray_DATA(<cnp.ndarray>out)
    cdef void* px = cnp.PyArray_DATA(X)
    cdef bint big = largest
    cdef void* best = malloc(inner * sizeof(double))
    if best == NULL:
        raise MemoryError()
    try:
        with nogil:
            if type_num == cnp.NPY_DOUBLE:
                _arg_kernel(<const double*>px, po, outer, n, inner, big, <double*>best)
            else:
                _arg_kernel(<const float*>px, po, outer, n, inner, big, <float*>best)
    finally:
        free(best)
    return out


# ---------------------------------------------------------------------------------------------
# sum_backward: the gradient of a sum, copied back over the summed axes
# ---------------------------------------------------------------------------------------------


cdef extern from *:
    """
    /* One value stored n times: a loop the compiler turns into vector stores, but only
       compiled on its own: GCC 12 inlined it into _broadcast_kernel's loop kept it scalar,
       4x slower (316 us instead of 80 for 10^6 floats). */
    #if defined(_MSC_VER)
    #define MG_NOINLINE __declspec(noinline)
    #else
    #define MG_NOINLINE __attribute__((noinline))
    #endif
    static MG_NOINLINE void mg_fill_f32(float* out, float value, Py_ssize_t n) {
        for (Py_ssize_t i = 0; i < n; i++) out[i] = value; }
    static MG_NOINLINE void mg_fill_f64(double* out, double value, Py_ssize_t n) {
        for (Py_ssize_t i = 0; i < n; i++) out[i] = value; }
    """
    void mg_fill_f32(float* out, float value, Py_ssize_t n) noexcept nogil
    void mg_fill_f64(double* out, double value, Py_ssize_t n) noexcept nogil


cdef void _broadcast_kernel(const floating* grad, floating* out, Py_ssize_t outer,
                            Py_ssize_t n, Py_ssize_t inner) noexcept nogil:
    """out[o, j, i] = grad[o, i]: rows of inner elements copied n times, or (inner == 1) one
    value filled over a run of n."""
    cdef Py_ssize_t o, j, i
    cdef floating value
    cdef const floating* source
    cdef floating* target
    for o in range(outer):
        if inner == 1:
            if floating is float:
                mg_fill_f32(out + o * n, grad[o], n)
            else:
                mg_fill_f64(out + o * n, grad[o], n)
            continue
        source = grad + o * inner
        for j in range(n):
            target = out + (o * n + j) * inner
            for i in range(inner):
                target[i] = source[i]


cdef void _broadcast_threads(const floating* grad, floating* out, Py_ssize_t outer,
                             Py_ssize_t n, Py_ssize_t inner) noexcept nogil:
    """_broadcast_kernel, split across threads when the copy is large enough."""
    cdef int threads = parallel_threads(outer * n * inner, 65536)
    if threads == 1:
        _broadcast_kernel(grad, out, outer, n, inner)
    else:
        _broadcast_parallel(grad, out, outer, n, inner, threads)


# A function of its own, never beside the serial call: OpenMP shares a prange's variables
# through memory, and where they are shared the compiler (under Python's -fno-strict-aliasing)
# reloads them after every store, which keeps an inlined serial loop scalar (4x slower).
cdef void _broadcast_parallel(const floating* grad, floating* out, Py_ssize_t outer,
                              Py_ssize_t n, Py_ssize_t inner, int threads) noexcept nogil:
    """_broadcast_kernel on ``threads`` threads: by the outer index when there are enough
    outer rows, else by the n copies (a copy is a copy: equal results)."""
    cdef int c
    cdef Py_ssize_t start, stop, o
    if outer >= threads:
        for c in prange(threads, num_threads=threads, schedule="static"):
            start = outer * c // threads
            stop = outer * (c + 1) // threads
            _broadcast_kernel(grad + start * inner, out + start * n * inner, stop - start, n,
                              inner)
    else:
        if n < threads:
            threads = <int>n
        for c in prange(threads, num_threads=threads, schedule="static"):
            start = n * c // threads
            stop = n * (c + 1) // threads
            for o in range(outer):
                _broadcast_kernel(grad + o * inner, out + (o * n + start) * inner, 1,
                                  stop - start, inner)


def sum_backward(grad, shape, axis, keepdims):
    """``grad`` copied to every summed element of an array of ``shape``."""
    cdef int type_num = _fast_float_type(grad)
    shape = tuple(shape)
    cdef int ndim = len(shape)
    run = _axis_run(axis, ndim) if (type_num >= 0 and 0 < ndim <= 32) else None
    if run is None:
        return _reference.sum_backward(grad, shape, axis, keepdims)
    cdef int first = run[0], last = run[1]
    cdef Py_ssize_t outer = 1, n = 1, inner = 1, d
    for d in range(ndim):
        if d < first:
            outer *= shape[d]
        elif d <= last:
            n *= shape[d]
        else:
            inner *= shape[d]
    if cnp.PyArray_SIZE(<cnp.ndarray>grad) != outer * inner:
        return _reference.sum_backward(grad, shape, axis, keepdims)
    cdef cnp.npy_intp dims[32]
    for d in range(ndim):
        dims[d] = shape[d]
    out = pool_empty(ndim, dims, type_num)  # large gradients: from the buffer pool
    if outer * n * inner == 0:
        return out
    cdef void* pg = cnp.PyArray_DATA(<cnp.ndarray>grad)
    cdef void* po = cnp.PyArray_DATA(<cnp.ndarray>out)
    with nogil:
        if type_num == cnp.NPY_DOUBLE:
            _broadcast_threads(<const double*>pg, <double*>po, outer, n, inner)
        else:
            _broadcast_threads(<const float*>pg, <float*>po, outer, n, inner)
    return out
