# cython: language_level=3
"""Compiled gathers and scatters: twins of the functions of the same names in the "Gathers and
scatters" section of ``reference.py`` (read that for what each computes).

Every kernel sees its arrays as (outer, n, inner): the dims before the axis, the axis, the
dims after it, which a C-contiguous array is without copying. A gather then reads
x[o, index[o, j, i], i] and a scatter adds into out[o, index[o, j, i], i]; for the gradient of
indexing (scatter_index), ``reference._index_layout`` finds the rows of x (seen as (A, R, B))
that x[index] reads, and whole rows of B elements are added at once.

Inputs that do not fit (other dtypes, non-contiguous layouts, indices of other shapes) go to
the reference, so every result equals numpy's. Indices are trusted: the Python layer checked
that they lie in range (minigrad/functions/index.py, ops/index.py); with the debug build
(MINIGRAD_DEBUG=1) the loops check bounds anyway.
"""
cimport numpy as cnp
from cython cimport floating
from libc.stdlib cimport calloc, free
from libc.string cimport memcpy

from ._common cimport _fast_float_type

import numpy as np

from . import reference as _reference

cnp.import_array()

cdef Py_ssize_t _NOGIL_MIN_SIZE = 4096


cdef inline bint _is_int64_c(object a) noexcept:
    """True if a is an exact int64 ndarray, C-contiguous, aligned, native byte order."""
    if not cnp.PyArray_CheckExact(a):
        return False
    cdef cnp.ndarray arr = <cnp.ndarray>a
    return (cnp.PyArray_TYPE(arr) == cnp.NPY_INT64 and cnp.PyArray_ISCARRAY_RO(arr)
            and cnp.PyArray_ISNOTSWAPPED(arr))


cdef inline Py_ssize_t _prod(cnp.npy_intp* dims, int start, int stop) noexcept:
    cdef Py_ssize_t p = 1
    cdef int d
    for d in range(start, stop):
        p *= dims[d]
    return p


cdef bint _same_but_axis(cnp.ndarray a, cnp.ndarray b, int axis) noexcept:
    """a and b have the same number of dims and sizes, except (maybe) along ``axis``."""
    cdef int ndim = cnp.PyArray_NDIM(a)
    if cnp.PyArray_NDIM(b) != ndim:
        return False
    cdef cnp.npy_intp* da = cnp.PyArray_DIMS(a)
    cdef cnp.npy_intp* db = cnp.PyArray_DIMS(b)
    cdef int d
    for d in range(ndim):
        if d != axis and da[d] != db[d]:
            return False
    return True


cdef bint _same_shape_tuple(cnp.ndarray a, cnp.ndarray b) noexcept:
    cdef int ndim = cnp.PyArray_NDIM(a)
    if cnp.PyArray_NDIM(b) != ndim:
        return False
    cdef int d
    for d in range(ndim):
        if cnp.PyArray_DIMS(a)[d] != cnp.PyArray_DIMS(b)[d]:
            return False
    return True


# ---------------------------------------------------------------------------------------------
# index_range: the bounds check's one pass
# ---------------------------------------------------------------------------------------------


cdef extern from *:
    """
    #include <string.h>
    /* The smallest and largest of p[0:n] (n >= 1) in one pass. A plain loop is one compare
       and select after another on the same two accumulators, and x86-64's baseline (SSE2)
       has no 64-bit integer compare: 1.4 ms for 10^6 indices, 20x numpy's min, and each
       gather's bounds check cost three times its gather. Here 4 vectors of lanes each keep a
       running min and max (a compare gives all ones or zeros: the select is a mask), cloned
       for AVX2 (vpcmpgtq) where the CPU has it: about 90 us for 10^6. */
    #if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__GLIBC__)
    #define MG_RANGE_AVX2 1
    #else
    #define MG_RANGE_AVX2 0
    #endif
    #if defined(__GNUC__)
    typedef long long mg_i64x2 __attribute__((vector_size(16)));
    typedef long long mg_i64x4 __attribute__((vector_size(32)));
    #define MG_RANGE_LANES(NAME, V, W, ATTR) \
        static ATTR void NAME(const long long* x, Py_ssize_t n, long long* low, \
                              long long* high) { \
            V lo[4], hi[4], v, m; \
            Py_ssize_t i, full = n - n % (4 * W); \
            long long l = x[0], h = x[0]; \
            int a, k; \
            if (full) { \
                for (a = 0; a < 4; a++) { memcpy(&lo[a], x + a * W, sizeof v); hi[a] = lo[a]; } \
                for (i = 0; i < full; i += 4 * W) { \
                    for (a = 0; a < 4; a++) { \
                        memcpy(&v, x + i + a * W, sizeof v); \
                        m = (V)(v < lo[a]); lo[a] = (v & m) | (lo[a] & ~m); \
                        m = (V)(v > hi[a]); hi[a] = (v & m) | (hi[a] & ~m); \
                    } \
                } \
                for (a = 0; a < 4; a++) \
                    for (k = 0; k < W; k++) { \
                        l = lo[a][k] < l ? lo[a][k] : l; \
                        h = hi[a][k] > h ? hi[a][k] : h; \
                    } \
            } \
            for (i = full; i < n; i++) { l = x[i] < l ? x[i] : l; h = x[i] > h ? x[i] : h; } \
            *low = l; *high = h; \
        }
    MG_RANGE_LANES(mg_index_range_v16, mg_i64x2, 2, )
    #if MG_RANGE_AVX2
    MG_RANGE_LANES(mg_index_range_v32, mg_i64x4, 4, __attribute__((target("avx2"))))
    static void mg_index_range(const long long* x, Py_ssize_t n, long long* low,
                               long long* high) {
        if (__builtin_cpu_supports("avx2")) mg_index_range_v32(x, n, low, high);
        else mg_index_range_v16(x, n, low, high);
    }
    #else
    #define mg_index_range mg_index_range_v16
    #endif
    #else
    static void mg_index_range(const long long* x, Py_ssize_t n, long long* low,
                               long long* high) {
        long long l = x[0], h = x[0];
        for (Py_ssize_t i = 1; i < n; i++) { l = x[i] < l ? x[i] : l; h = x[i] > h ? x[i] : h; }
        *low = l; *high = h;
    }
    #endif
    """
    void mg_index_range(const long long* x, Py_ssize_t n, long long* low,
                        long long* high) noexcept nogil


def index_range(indices):
    """(smallest, largest) of a non-empty integer array."""
    if not _is_int64_c(indices) or cnp.PyArray_SIZE(<cnp.ndarray>indices) == 0:
        return _reference.index_range(indices)
    cdef const long long* p = <const long long*>cnp.PyArray_DATA(<cnp.ndarray>indices)
    cdef Py_ssize_t n = cnp.PyArray_SIZE(<cnp.ndarray>indices)
    cdef long long low, high
    if n < _NOGIL_MIN_SIZE:
        mg_index_range(p, n, &low, &high)
    else:
        with nogil:
            mg_index_range(p, n, &low, &high)
    return low, high


# ---------------------------------------------------------------------------------------------
# unique_values: the distinct values of an int64 array whose range is small
# ---------------------------------------------------------------------------------------------


cdef Py_ssize_t _mark_present(const long long* x, Py_ssize_t n, long long low,
                              unsigned char* seen, Py_ssize_t span) noexcept nogil:
    """seen[v - low] = 1 for every value v of x (all in [low, low + span)); returns how many
    distinct values there are."""
    cdef Py_ssize_t i, count = 0
    for i in range(n):
        seen[x[i] - low] = 1
    for i in range(span):
        count += seen[i]
    return count


cdef void _collect_present(const unsigned char* seen, Py_ssize_t span, long long low,
                           long long* out) noexcept nogil:
    cdef Py_ssize_t v, k = 0
    for v in range(span):
        if seen[v]:
            out[k] = low + v
            k += 1


def unique_values(x):
    """The sorted distinct values of x, read flat. int64 values spanning a range of at most
    about 8 times their number (class labels, token ids, bucket numbers) are counted in a
    table of that range, in linear time, instead of sorted."""
    if not _is_int64_c(x) or cnp.PyArray_SIZE(<cnp.ndarray>x) == 0:
        return _reference.unique_values(x)
    cdef const long long* p = <const long long*>cnp.PyArray_DATA(<cnp.ndarray>x)
    cdef Py_ssize_t n = cnp.PyArray_SIZE(<cnp.ndarray>x)
    cdef long long low, high
    mg_index_range(p, n, &low, &high)
    # unsigned: high - low may not fit an int64
    if <unsigned long long>high - <unsigned long long>low >= <unsigned long long>(8 * n + 256):
        return _reference.unique_values(x)
    cdef Py_ssize_t span = <Py_ssize_t>(high - low) + 1, count
    cdef unsigned char* seen = <unsigned char*>calloc(span, 1)
    if seen == NULL:
        raise MemoryError()
    with nogil:
        count = _mark_present(p, n, low, seen, span)
    cdef cnp.npy_intp size = count
    cdef cnp.ndarray out = cnp.PyArray_EMPTY(1, &size, cnp.NPY_INT64, 0)
    with nogil:
        _collect_present(seen, span, low, <long long*>cnp.PyArray_DATA(out))
    free(seen)
    return out


# ---------------------------------------------------------------------------------------------
# index_select: whole slices along one axis
# ---------------------------------------------------------------------------------------------


cdef void _select_rows(const char* x, const cnp.int64_t* indices, char* out, Py_ssize_t outer,
                       Py_ssize_t n, Py_ssize_t m, Py_ssize_t row_bytes) noexcept nogil:
    """out[o, j, :] = x[o, indices[j], :] for rows of row_bytes bytes (x: (outer, n, row),
    out: (outer, m, row)); 4- and 8-byte rows (a dim with nothing after it) as typed
    loads, since a memcpy call per element would cost more than the copy."""
    cdef Py_ssize_t o, j
    cdef const char* src
    cdef char* dst
    for o in range(outer):
        src = x + o * n * row_bytes
        dst = out + o * m * row_bytes
        if row_bytes == 4:
            for j in range(m):
                (<cnp.int32_t*>dst)[j] = (<const cnp.int32_t*>src)[indices[j]]
        elif row_bytes == 8:
            for j in range(m):
                (<cnp.int64_t*>dst)[j] = (<const cnp.int64_t*>src)[indices[j]]
        else:
            for j in range(m):
                memcpy(dst + j * row_bytes, src + indices[j] * row_bytes, row_bytes)


def index_select(x, indices, axis):
    """x's slices at ``indices`` (1-D, int64, in range) along ``axis``."""
    if not (_is_int64_c(indices) and cnp.PyArray_NDIM(<cnp.ndarray>indices) == 1
            and cnp.PyArray_CheckExact(x)):
        return _reference.index_select(x, indices, axis)
    cdef cnp.ndarray X = <cnp.ndarray>x
    cdef int ndim = cnp.PyArray_NDIM(X)
    if ndim == 0 or not (cnp.PyArray_ISCARRAY_RO(X) and cnp.PyArray_ISNOTSWAPPED(X)) or not (
            cnp.PyArray_ISNUMBER(X) or cnp.PyArray_ISBOOL(X)):
        return _reference.index_select(x, indices, axis)
    cdef int a = axis
    cdef cnp.npy_intp* dims = cnp.PyArray_DIMS(X)
    cdef Py_ssize_t outer = _prod(dims, 0, a), n = dims[a]
    cdef Py_ssize_t row_bytes = _prod(dims, a + 1, ndim) * cnp.PyArray_ITEMSIZE(X)
    cdef cnp.npy_intp m = cnp.PyArray_SIZE(<cnp.ndarray>indices)
    cdef cnp.npy_intp shape[64]  # NPY_MAXDIMS
    cdef int d
    for d in range(ndim):
        shape[d] = dims[d]
    shape[a] = m
    cdef cnp.ndarray out = cnp.PyArray_EMPTY(ndim, shape, cnp.PyArray_TYPE(X), 0)
    cdef Py_ssize_t size = outer * m * row_bytes
    if size == 0:
        return out
    cdef const char* px = <const char*>cnp.PyArray_DATA(X)
    cdef const cnp.int64_t* pi = <const cnp.int64_t*>cnp.PyArray_DATA(<cnp.ndarray>indices)
    cdef char* po = <char*>cnp.PyArray_DATA(out)
    if size < 4 * _NOGIL_MIN_SIZE:
        _select_rows(px, pi, po, outer, n, m, row_bytes)
    else:
        with nogil:
            _select_rows(px, pi, po, outer, n, m, row_bytes)
    return out


# ---------------------------------------------------------------------------------------------
# take_along_axis (gather) and scatter_along_axis (its gradient)
# ---------------------------------------------------------------------------------------------


# A gather only copies elements: integer tensors (the values of mode, kthvalue, sort of an
# index tensor...) take the same loop as floats.
ctypedef fused gathered:
    float
    double
    cnp.int64_t
    cnp.int32_t


cdef inline int _fast_int_type(object x) noexcept:
    """NPY_INT64 or NPY_INT32 if x is an exact C-contiguous aligned native array of it, else
    -1."""
    if not cnp.PyArray_CheckExact(x):
        return -1
    cdef cnp.ndarray arr = <cnp.ndarray>x
    cdef int type_num = cnp.PyArray_TYPE(arr)
    if type_num != cnp.NPY_INT64 and type_num != cnp.NPY_INT32:
        return -1
    if not (cnp.PyArray_ISCARRAY_RO(arr) and cnp.PyArray_ISNOTSWAPPED(arr)):
        return -1
    return type_num


cdef void _gather_kernel(const gathered* x, const cnp.int64_t* index, gathered* out,
                         Py_ssize_t outer, Py_ssize_t n, Py_ssize_t m,
                         Py_ssize_t inner) noexcept nogil:
    """out[o, j, i] = x[o, index[o, j, i], i] for x (outer, n, inner), out (outer, m, inner)."""
    cdef Py_ssize_t o, j, i
    cdef const gathered* xo
    cdef const cnp.int64_t* row
    cdef gathered* orow
    if inner == 1:  # along the last axis: one plain loop per slice
        for o in range(outer):
            xo = x + o * n
            row = index + o * m
            orow = out + o * m
            for j in range(m):
                orow[j] = xo[row[j]]
        return
    for o in range(outer):
        xo = x + o * n * inner
        for j in range(m):
            row = index + (o * m + j) * inner
            orow = out + (o * m + j) * inner
            for i in range(inner):
                orow[i] = xo[row[i] * inner + i]


cdef void _scatter_add_kernel(const floating* values, const cnp.int64_t* index, floating* out,
                              Py_ssize_t outer, Py_ssize_t n, Py_ssize_t m,
                              Py_ssize_t inner) noexcept nogil:
    """out[o, index[o, j, i], i] += values[o, j, i], out (outer, n, inner) (repeated indices
    add up, in order)."""
    cdef Py_ssize_t o, j, i
    cdef floating* oo
    cdef const cnp.int64_t* row
    cdef const floating* vrow
    if inner == 1:
        for o in range(outer):
            oo = out + o * n
            row = index + o * m
            vrow = values + o * m
            for j in range(m):
                oo[row[j]] += vrow[j]
        return
    for o in range(outer):
        oo = out + o * n * inner
        for j in range(m):
            row = index + (o * m + j) * inner
            vrow = values + (o * m + j) * inner
            for i in range(inner):
                oo[row[i] * inner + i] += vrow[i]


def take_along_axis(x, indices, axis):
    """out[..., j, ...] = x[..., indices[..., j, ...], ...] along ``axis``."""
    cdef int type_num = _fast_float_type(x)
    if type_num < 0:
        type_num = _fast_int_type(x)
    if type_num < 0 or not _is_int64_c(indices):
        return _reference.take_along_axis(x, indices, axis)
    cdef cnp.ndarray X = <cnp.ndarray>x
    cdef cnp.ndarray I = <cnp.ndarray>indices
    cdef int ndim = cnp.PyArray_NDIM(X)
    if ndim == 0 or not _same_but_axis(X, I, axis):
        return _reference.take_along_axis(x, indices, axis)
    cdef int a = axis
    cdef cnp.npy_intp* dims = cnp.PyArray_DIMS(X)
    cdef Py_ssize_t outer = _prod(dims, 0, a), inner = _prod(dims, a + 1, ndim)
    cdef Py_ssize_t n = dims[a], m = cnp.PyArray_DIMS(I)[a]
    cdef cnp.ndarray out = cnp.PyArray_EMPTY(ndim, cnp.PyArray_DIMS(I), type_num, 0)
    if cnp.PyArray_SIZE(out) == 0:
        return out
    cdef void* px = cnp.PyArray_DATA(X)
    cdef const cnp.int64_t* pi = <const cnp.int64_t*>cnp.PyArray_DATA(I)
    cdef void* po = cnp.PyArray_DATA(out)
    with nogil:
        if type_num == cnp.NPY_DOUBLE:
            _gather_kernel(<const double*>px, pi, <double*>po, outer, n, m, inner)
        elif type_num == cnp.NPY_FLOAT:
            _gather_kernel(<const float*>px, pi, <float*>po, outer, n, m, inner)
        elif type_num == cnp.NPY_INT64:
            _gather_kernel(<const cnp.int64_t*>px, pi, <cnp.int64_t*>po, outer, n, m, inner)
        else:
            _gather_kernel(<const cnp.int32_t*>px, pi, <cnp.int32_t*>po, outer, n, m, inner)
    return out


def scatter_along_axis(grad, indices, axis, shape):
    """Zeros of ``shape`` with grad[..., j, ...] added at indices[..., j, ...] along ``axis``."""
    cdef int type_num = _fast_float_type(grad)
    if type_num < 0 or not _is_int64_c(indices):
        return _reference.scatter_along_axis(grad, indices, axis, shape)
    cdef cnp.ndarray G = <cnp.ndarray>grad
    cdef cnp.ndarray I = <cnp.ndarray>indices
    cdef int ndim = cnp.PyArray_NDIM(G)
    shape = tuple(shape)
    if ndim == 0 or len(shape) != ndim or not _same_shape_tuple(I, G):
        return _reference.scatter_along_axis(grad, indices, axis, shape)
    out = np.zeros(shape, dtype=grad.dtype)
    cdef cnp.ndarray O = <cnp.ndarray>out
    if not _same_but_axis(O, G, axis):
        return _reference.scatter_along_axis(grad, indices, axis, shape)
    cdef int a = axis
    cdef cnp.npy_intp* dims = cnp.PyArray_DIMS(O)
    cdef Py_ssize_t outer = _prod(dims, 0, a), inner = _prod(dims, a + 1, ndim)
    cdef Py_ssize_t n = dims[a], m = cnp.PyArray_DIMS(G)[a]
    if cnp.PyArray_SIZE(G) == 0:
        return out
    cdef void* pg = cnp.PyArray_DATA(G)
    cdef const cnp.int64_t* pi = <const cnp.int64_t*>cnp.PyArray_DATA(I)
    cdef void* po = cnp.PyArray_DATA(O)
    with nogil:
        if type_num == cnp.NPY_DOUBLE:
            _scatter_add_kernel(<const double*>pg, pi, <double*>po, outer, n, m, inner)
        else:
            _scatter_add_kernel(<const float*>pg, pi, <float*>po, outer, n, m, inner)
    return out


cdef void _put_kernel(const floating* values, const cnp.int64_t* index, floating* out,
                      Py_ssize_t outer, Py_ssize_t n, Py_ssize_t m,
                      Py_ssize_t inner) noexcept nogil:
    """out[o, index[o, j, i], i] = values[o, j, i], in order (the last write stays)."""
    cdef Py_ssize_t o, j, i
    cdef floating* oo
    cdef const cnp.int64_t* row
    cdef const floating* vrow
    if inner == 1:  # along the last dim: one run of m writes per row (2x the general loop)
        for o in range(outer):
            oo = out + o * n
            row = index + o * m
            vrow = values + o * m
            for j in range(m):
                oo[row[j]] = vrow[j]
        return
    for o in range(outer):
        oo = out + o * n * inner
        for j in range(m):
            row = index + (o * m + j) * inner
            vrow = values + (o * m + j) * inner
            for i in range(inner):
                oo[row[i] * inner + i] = vrow[i]


cdef object _along_axis_copy(x, indices, values, axis, bint add):
    """put_along_axis's and scatter_add_along_axis's compiled case: a copy of x with values
    written (``add``: added) at indices along ``axis``; None when the case does not apply
    (dtypes, layout or shapes), for the caller's reference to handle."""
    cdef int type_num = _fast_float_type(x)
    if type_num < 0 or _fast_float_type(values) != type_num or not _is_int64_c(indices):
        return None
    cdef cnp.ndarray X = <cnp.ndarray>x
    cdef cnp.ndarray V = <cnp.ndarray>values
    cdef cnp.ndarray I = <cnp.ndarray>indices
    cdef int ndim = cnp.PyArray_NDIM(X)
    if ndim == 0 or not _same_shape_tuple(V, I) or not _same_but_axis(X, I, axis):
        return None
    cdef int a = axis
    cdef cnp.npy_intp* dims = cnp.PyArray_DIMS(X)
    cdef Py_ssize_t outer = _prod(dims, 0, a), inner = _prod(dims, a + 1, ndim)
    cdef Py_ssize_t n = dims[a], m = cnp.PyArray_DIMS(I)[a]
    cdef cnp.ndarray out = cnp.PyArray_NewCopy(X, cnp.NPY_CORDER)
    if cnp.PyArray_SIZE(V) == 0:
        return out
    cdef void* pv = cnp.PyArray_DATA(V)
    cdef const cnp.int64_t* pi = <const cnp.int64_t*>cnp.PyArray_DATA(I)
    cdef void* po = cnp.PyArray_DATA(out)
    with nogil:
        if type_num == cnp.NPY_DOUBLE and add:
            _scatter_add_kernel(<const double*>pv, pi, <double*>po, outer, n, m, inner)
        elif type_num == cnp.NPY_DOUBLE:
            _put_kernel(<const double*>pv, pi, <double*>po, outer, n, m, inner)
        elif add:
            _scatter_add_kernel(<const float*>pv, pi, <float*>po, outer, n, m, inner)
        else:
            _put_kernel(<const float*>pv, pi, <float*>po, outer, n, m, inner)
    return out


def put_along_axis(x, indices, values, axis):
    """A copy of x with values written at indices along ``axis``."""
    out = _along_axis_copy(x, indices, values, axis, False)
    return _reference.put_along_axis(x, indices, values, axis) if out is None else out


def scatter_add_along_axis(x, indices, values, axis):
    """A copy of x with values added at indices along ``axis`` (repeated indices add up)."""
    out = _along_axis_copy(x, indices, values, axis, True)
    return _reference.scatter_add_along_axis(x, indices, values, axis) if out is None else out


# ---------------------------------------------------------------------------------------------
# masked_select and masked_scatter: a mask's True positions read into, or filled from, a
# compact vector, in order
# ---------------------------------------------------------------------------------------------


cdef bint _plain_mask_of(object x, object mask) noexcept:
    """mask is an exact C-contiguous bool array of x's shape."""
    return (cnp.PyArray_CheckExact(mask) and cnp.PyArray_TYPE(<cnp.ndarray>mask) == cnp.NPY_BOOL
            and cnp.PyArray_ISCARRAY_RO(<cnp.ndarray>mask)
            and _same_shape_tuple(<cnp.ndarray>x, <cnp.ndarray>mask))


cdef Py_ssize_t _mask_count(const cnp.npy_bool* mask, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i, count = 0
    for i in range(n):
        count += mask[i] != 0
    return count


cdef void _masked_select_kernel(const gathered* x, const cnp.npy_bool* mask, gathered* out,
                                Py_ssize_t stop) noexcept nogil:
    """out[k] = x[i] for the k-th True mask[i], i < stop, the position of the last True
    value + 1. Without branches: every x[i] is written at the count so far and the next
    True value overwrites the False ones; before ``stop`` the count stays below out's
    length."""
    cdef Py_ssize_t i, k = 0
    for i in range(stop):
        out[k] = x[i]
        k += mask[i] != 0


cdef void _masked_scatter_kernel(const gathered* x, const cnp.npy_bool* mask,
                                 const gathered* source, gathered* out, Py_ssize_t n,
                                 Py_ssize_t last) noexcept nogil:
    """out[i] = source[k] where mask[i], k counting the True values so far, else x[i];
    ``last`` = (the number of True values) - 1 >= 0, which source covers. Without branches
    (a random mask mispredicts half of them): the read position is clamped to ``last``, so
    it stays in source after the last True value, and the select picks x[i] there."""
    cdef Py_ssize_t i, k = 0
    cdef gathered value
    cdef bint m
    for i in range(n):
        m = mask[i] != 0
        value = source[k if k < last else last]
        out[i] = value if m else x[i]
        k += m


def masked_select(x, mask):
    """x's elements where mask is True, in order, 1-D."""
    cdef int type_num = _fast_float_type(x)
    if type_num < 0:
        type_num = _fast_int_type(x)
    if type_num < 0 or not _plain_mask_of(x, mask):
        return _reference.masked_select(x, mask)
    cdef Py_ssize_t n = cnp.PyArray_SIZE(<cnp.ndarray>x)
    cdef const cnp.npy_bool* pm = <const cnp.npy_bool*>cnp.PyArray_DATA(<cnp.ndarray>mask)
    cdef cnp.npy_intp count = _mask_count(pm, n)
    cdef cnp.ndarray out = cnp.PyArray_EMPTY(1, &count, type_num, 0)
    cdef Py_ssize_t stop = n
    while stop > 0 and not pm[stop - 1]:
        stop -= 1
    cdef void* px = cnp.PyArray_DATA(<cnp.ndarray>x)
    cdef void* po = cnp.PyArray_DATA(out)
    with nogil:
        if type_num == cnp.NPY_DOUBLE:
            _masked_select_kernel(<const double*>px, pm, <double*>po, stop)
        elif type_num == cnp.NPY_FLOAT:
            _masked_select_kernel(<const float*>px, pm, <float*>po, stop)
        elif type_num == cnp.NPY_INT64:
            _masked_select_kernel(<const cnp.int64_t*>px, pm, <cnp.int64_t*>po, stop)
        else:
            _masked_select_kernel(<const cnp.int32_t*>px, pm, <cnp.int32_t*>po, stop)
    return out


def masked_scatter(x, mask, source):
    """A copy of x with mask's True positions filled, in order, from source (flat); None if
    source is too short."""
    cdef int type_num = _fast_float_type(x)
    if type_num < 0:
        type_num = _fast_int_type(x)
    if (type_num < 0 or not _plain_mask_of(x, mask) or not cnp.PyArray_CheckExact(source)
            or cnp.PyArray_TYPE(<cnp.ndarray>source) != type_num
            or not (cnp.PyArray_ISCARRAY_RO(<cnp.ndarray>source)
                    and cnp.PyArray_ISNOTSWAPPED(<cnp.ndarray>source))):
        return _reference.masked_scatter(x, mask, source)
    cdef Py_ssize_t n = cnp.PyArray_SIZE(<cnp.ndarray>x)
    cdef const cnp.npy_bool* pm = <const cnp.npy_bool*>cnp.PyArray_DATA(<cnp.ndarray>mask)
    cdef Py_ssize_t count = _mask_count(pm, n)
    if count > cnp.PyArray_SIZE(<cnp.ndarray>source):
        return None
    cdef cnp.ndarray out = cnp.PyArray_NewCopy(<cnp.ndarray>x, cnp.NPY_CORDER)
    if count == 0:
        return out
    cdef void* px = cnp.PyArray_DATA(<cnp.ndarray>x)
    cdef void* ps = cnp.PyArray_DATA(<cnp.ndarray>source)
    cdef void* po = cnp.PyArray_DATA(out)
    with nogil:
        if type_num == cnp.NPY_DOUBLE:
            _masked_scatter_kernel(<const double*>px, pm, <const double*>ps, <double*>po,
                                   n, count - 1)
        elif type_num == cnp.NPY_FLOAT:
            _masked_scatter_kernel(<const float*>px, pm, <const float*>ps, <float*>po,
                                   n, count - 1)
        elif type_num == cnp.NPY_INT64:
            _masked_scatter_kernel(<const cnp.int64_t*>px, pm, <const cnp.int64_t*>ps,
                                   <cnp.int64_t*>po, n, count - 1)
        else:
            _masked_scatter_kernel(<const cnp.int32_t*>px, pm, <const cnp.int32_t*>ps,
                                   <cnp.int32_t*>po, n, count - 1)
    return out


# ---------------------------------------------------------------------------------------------
# scatter_index: the gradient of x[index]
# ---------------------------------------------------------------------------------------------


cdef void _add_rows_kernel(const floating* values, const cnp.int64_t* rows, floating* out,
                           Py_ssize_t outer, Py_ssize_t r, Py_ssize_t m,
                           Py_ssize_t inner) noexcept nogil:
    """out[o, rows[j], :] += values[o, j, :] for out (outer, r, inner), values (outer, m,
    inner): whole rows of ``inner`` contiguous elements (the loop the compiler vectorizes)."""
    cdef Py_ssize_t o, j, i
    cdef floating* target
    cdef const floating* source
    for o in range(outer):
        for j in range(m):
            target = out + (o * r + rows[j]) * inner
            source = values + (o * m + j) * inner
            for i in range(inner):
                target[i] += source[i]


def index_add(x, indices, values, axis):
    """A copy of x with values' slices added at ``indices`` (1-D, int64, in range) along
    ``axis``."""
    cdef int type_num = _fast_float_type(x)
    if type_num < 0 or _fast_float_type(values) != type_num or not _is_int64_c(indices) \
            or cnp.PyArray_NDIM(<cnp.ndarray>indices) != 1:
        return _reference.index_add(x, indices, values, axis)
    cdef cnp.ndarray X = <cnp.ndarray>x
    cdef cnp.ndarray V = <cnp.ndarray>values
    cdef int ndim = cnp.PyArray_NDIM(X)
    cdef Py_ssize_t m = cnp.PyArray_SIZE(<cnp.ndarray>indices)
    if ndim == 0 or not _same_but_axis(X, V, axis) or cnp.PyArray_DIMS(V)[axis] != m:
        return _reference.index_add(x, indices, values, axis)
    cdef int a = axis
    cdef cnp.npy_intp* dims = cnp.PyArray_DIMS(X)
    cdef Py_ssize_t outer = _prod(dims, 0, a), inner = _prod(dims, a + 1, ndim), r = dims[a]
    cdef cnp.ndarray out = cnp.PyArray_NewCopy(X, cnp.NPY_CORDER)
    if cnp.PyArray_SIZE(V) == 0:
        return out
    cdef void* pv = cnp.PyArray_DATA(V)
    cdef const cnp.int64_t* pi = <const cnp.int64_t*>cnp.PyArray_DATA(<cnp.ndarray>indices)
    cdef void* po = cnp.PyArray_DATA(out)
    with nogil:
        if type_num == cnp.NPY_DOUBLE:
            _add_rows_kernel(<const double*>pv, pi, <double*>po, outer, r, m, inner)
        else:
            _add_rows_kernel(<const float*>pv, pi, <float*>po, outer, r, m, inner)
    return out


cdef void _copy_rows_kernel(const char* values, const cnp.int64_t* rows, char* out,
                           Py_ssize_t outer, Py_ssize_t r, Py_ssize_t m,
                           Py_ssize_t row_bytes) noexcept nogil:
    """out[o, rows[j], :] = values[o, j, :] for out (outer, r, row), values (outer, m, row),
    rows of row_bytes bytes, in order (the last of repeated rows stays)."""
    cdef Py_ssize_t o, j
    for o in range(outer):
        for j in range(m):
            memcpy(out + (o * r + rows[j]) * row_bytes, values + (o * m + j) * row_bytes,
                   row_bytes)


def index_copy(x, indices, values, axis):
    """A copy of x with values' slices written at ``indices`` (1-D, int64, in range) along
    ``axis``."""
    if not (_is_int64_c(indices) and cnp.PyArray_NDIM(<cnp.ndarray>indices) == 1
            and cnp.PyArray_CheckExact(x) and cnp.PyArray_CheckExact(values)):
        return _reference.index_copy(x, indices, values, axis)
    cdef cnp.ndarray X = <cnp.ndarray>x
    cdef cnp.ndarray V = <cnp.ndarray>values
    cdef int ndim = cnp.PyArray_NDIM(X)
    cdef Py_ssize_t m = cnp.PyArray_SIZE(<cnp.ndarray>indices)
    if (ndim == 0 or cnp.PyArray_TYPE(V) != cnp.PyArray_TYPE(X)
            or not (cnp.PyArray_ISNUMBER(X) or cnp.PyArray_ISBOOL(X))
            or not (cnp.PyArray_ISCARRAY_RO(X) and cnp.PyArray_ISNOTSWAPPED(X))
            or not (cnp.PyArray_ISCARRAY_RO(V) and cnp.PyArray_ISNOTSWAPPED(V))
            or not _same_but_axis(X, V, axis) or cnp.PyArray_DIMS(V)[axis] != m):
        return _reference.index_copy(x, indices, values, axis)
    cdef int a = axis
    cdef cnp.npy_intp* dims = cnp.PyArray_DIMS(X)
    cdef Py_ssize_t outer = _prod(dims, 0, a), r = dims[a]
    cdef Py_ssize_t row_bytes = _prod(dims, a + 1, ndim) * cnp.PyArray_ITEMSIZE(X)
    cdef cnp.ndarray out = cnp.PyArray_NewCopy(X, cnp.NPY_CORDER)
    if cnp.PyArray_SIZE(V) == 0:
        return out
    cdef const char* pv = <const char*>cnp.PyArray_DATA(V)
    cdef const cnp.int64_t* pi = <const cnp.int64_t*>cnp.PyArray_DATA(<cnp.ndarray>indices)
    cdef char* po = <char*>cnp.PyArray_DATA(out)
    with nogil:
        _copy_rows_kernel(pv, pi, po, outer, r, m, row_bytes)
    return out


def scatter_index(grad, index, shape):
    """Zeros of ``shape`` with ``grad`` added at the positions ``x[index]`` reads."""
    cdef int type_num = _fast_float_type(grad)
    if type_num < 0:
        return _reference.scatter_index(grad, index, shape)
    shape = tuple(shape)
    layout = _reference._index_layout(index, shape)
    if layout is None:
        return _reference.scatter_index(grad, index, shape)
    lead, count, flat = layout
    if not _is_int64_c(flat):
        flat = np.ascontiguousarray(flat, dtype=np.int64)
    outer, r, inner = _reference._three_axes(shape, lead, count)
    cdef Py_ssize_t m = flat.size
    if cnp.PyArray_SIZE(<cnp.ndarray>grad) != outer * m * inner:
        return _reference.scatter_index(grad, index, shape)
    out = np.zeros(shape, dtype=grad.dtype)
    if m == 0 or outer == 0 or inner == 0:
        return out
    cdef void* pg = cnp.PyArray_DATA(<cnp.ndarray>grad)
    cdef const cnp.int64_t* pf = <const cnp.int64_t*>cnp.PyArray_DATA(<cnp.ndarray>flat)
    cdef void* po = cnp.PyArray_DATA(<cnp.ndarray>out)
    cdef Py_ssize_t c_outer = outer, c_r = r, c_inner = inner
    with nogil:
        if type_num == cnp.NPY_DOUBLE:
            _add_rows_kernel(<const double*>pg, pf, <double*>po, c_outer, c_r, m, c_inner)
        else:
            _add_rows_kernel(<const float*>pg, pf, <float*>po, c_outer, c_r, m, c_inner)
    return out


# ---------------------------------------------------------------------------------------------
# scatter_reduce
# ---------------------------------------------------------------------------------------------

cdef enum Reduction:
    RED_SUM
    RED_PROD
    RED_AMAX
    RED_AMIN


cdef inline floating _combine(Reduction op, floating current, floating v) noexcept nogil:
    """One reduction step. amax/amin take v when it is NaN (so NaN propagates, as
    np.maximum/np.minimum); written as selects without short-circuits, so that the compiler
    emits no branch: a branch per element mispredicts on random data."""
    cdef bint take
    if op == RED_SUM:
        return current + v
    if op == RED_PROD:
        return current * v
    if op == RED_AMAX:
        take = (v > current) | (v != v)
    else:
        take = (v < current) | (v != v)
    return v if take else current


cdef void _scatter_reduce_kernel(Reduction op, const floating* src, const cnp.int64_t* index,
                                 floating* out, Py_ssize_t outer, Py_ssize_t n, Py_ssize_t m,
                                 Py_ssize_t inner) noexcept nogil:
    """out[o, index[o, j, i], i] = op(out[...], src[o, j, i]), in order."""
    cdef Py_ssize_t o, j, i, k
    cdef floating* row
    if inner == 1:  # along the last axis: one plain loop per row
        for o in range(outer):
            row = out + o * n
            for j in range(o * m, (o + 1) * m):
                k = index[j]
                row[k] = _combine(op, row[k], src[j])
        return
    for o in range(outer):
        for j in range(m):
            for i in range(inner):
                k = (o * m + j) * inner + i
                row = out + (o * n + index[k]) * inner + i
                row[0] = _combine(op, row[0], src[k])


cdef void _count_kernel(const cnp.int64_t* index, floating* count, Py_ssize_t outer,
                        Py_ssize_t n, Py_ssize_t m, Py_ssize_t inner) noexcept nogil:
    cdef Py_ssize_t o, j, i, k
    for o in range(outer):
        for j in range(m):
            for i in range(inner):
                k = (o * m + j) * inner + i
                count[(o * n + index[k]) * inner + i] += 1


def scatter_reduce(x, src, indices, axis, reduce, include_self):
    """x with src reduced into the positions ``indices`` name along ``axis``."""
    cdef int type_num = _fast_float_type(x)
    if (type_num < 0 or _fast_float_type(src) != type_num or not _is_int64_c(indices)
            or reduce not in ("sum", "prod", "mean", "amax", "amin")):
        return _reference.scatter_reduce(x, src, indices, axis, reduce, include_self)
    cdef cnp.ndarray X = <cnp.ndarray>x
    cdef cnp.ndarray S = <cnp.ndarray>src
    cdef cnp.ndarray I = <cnp.ndarray>indices
    cdef int ndim = cnp.PyArray_NDIM(X)
    if ndim == 0 or not _same_shape_tuple(S, I) or not _same_but_axis(X, I, axis):
        return _reference.scatter_reduce(x, src, indices, axis, reduce, include_self)
    cdef int a = axis
    cdef cnp.npy_intp* dims = cnp.PyArray_DIMS(X)
    cdef Py_ssize_t outer = _prod(dims, 0, a), inner = _prod(dims, a + 1, ndim)
    cdef Py_ssize_t n = dims[a], m = cnp.PyArray_DIMS(I)[a]
    cdef void* pc
    out = np.array(x, copy=True)
    if cnp.PyArray_SIZE(S) == 0:
        return out
    if not include_self:  # the written positions start from the reduction's identity
        positions = _along_axis(indices, axis)
        if reduce in ("sum", "mean"):
            out[positions] = 0
        elif reduce == "prod":
            out[positions] = 1
        else:
            out[positions] = -np.inf if reduce == "amax" else np.inf
    cdef Reduction op = RED_SUM
    if reduce == "prod":
        op = RED_PROD
    elif reduce == "amax":
        op = RED_AMAX
    elif reduce == "amin":
        op = RED_AMIN
    cdef void* ps = cnp.PyArray_DATA(S)
    cdef const cnp.int64_t* pi = <const cnp.int64_t*>cnp.PyArray_DATA(I)
    cdef void* po = cnp.PyArray_DATA(<cnp.ndarray>out)
    with nogil:
        if type_num == cnp.NPY_DOUBLE:
            _scatter_reduce_kernel(op, <const double*>ps, pi, <double*>po, outer, n, m, inner)
        else:
            _scatter_reduce_kernel(op, <const float*>ps, pi, <float*>po, outer, n, m, inner)
    if reduce == "mean":
        count = np.full(out.shape, 1 if include_self else 0, dtype=out.dtype)
        pc = cnp.PyArray_DATA(<cnp.ndarray>count)
        with nogil:
            if type_num == cnp.NPY_DOUBLE:
                _count_kernel(pi, <double*>pc, outer, n, m, inner)
            else:
                _count_kernel(pi, <float*>pc, outer, n, m, inner)
        np.maximum(count, 1, out=count)
        out /= count
    return out


def _along_axis(indices, axis):
    index = list(np.ix_(*[np.arange(k) for k in indices.shape]))
    index[axis] = indices
    return tuple(index)

