# cython: language_level=3
"""Compiled selections: twins of the functions of the same names in the "Selections" section
of ``reference.py`` (read that for what each computes).

numpy has no "mode" and no partial sort that keeps equal elements in index order, so the
reference composes a dozen whole-array calls; on the small and medium rows that models use
(logits of a batch, a row of class counts) those calls cost ten times the work. The loops
here walk each row once: ``mode_indices`` sorts a copy of the row and finds its longest run,
``topk_indices`` keeps the k best elements seen so far in a small sorted list (an element
enters only if it beats the k-th, which on unordered data happens about k*log(n/k) times),
``nonzero_coords`` writes the coordinates of the non-zero elements of a C-contiguous
array in one pass, and ``kthvalue_indices`` / ``median_indices`` select in each row by
PyTorch's own quickselect, so that of several equal elements they return the one PyTorch
returns (numpy's argpartition picks another, and costs 119 of median(dim)'s 136 us on a
(100, 100) array).

Rows are the last axis of a C-contiguous 2-D array: the Python layer moves the selected dim
last and makes the array contiguous. Anything else (other dtypes, layouts) goes to the
reference.
"""
cimport numpy as cnp
from cython cimport floating
from libc.stdlib cimport free, malloc

import numpy as np

from ._common cimport _fast_float_type

from . import reference as _reference

cnp.import_array()

ctypedef fused sortable:
    cnp.int64_t
    double


cdef inline bint _c_array(object a, int type_num, int ndim) noexcept:
    """a is an exact ndarray of type_num with ndim dims, C-contiguous, aligned, native order."""
    if not cnp.PyArray_CheckExact(a):
        return False
    cdef cnp.ndarray arr = <cnp.ndarray>a
    return (cnp.PyArray_TYPE(arr) == type_num and cnp.PyArray_NDIM(arr) == ndim
            and cnp.PyArray_ISCARRAY_RO(arr) and cnp.PyArray_ISNOTSWAPPED(arr))


# ---------------------------------------------------------------------------------------------
# mode_indices
# ---------------------------------------------------------------------------------------------

cdef void _sort(sortable* v, Py_ssize_t n) noexcept nogil:
    """Ascending in-place sort of v[0:n] (no NaN): quicksort on the median of three, insertion
    sort below 16 elements. Equal values need no order (only values are sorted)."""
    cdef Py_ssize_t i, j, lo, hi
    cdef sortable pivot, t
    while n > 16:
        lo, hi = 0, n - 1
        i = n // 2
        if v[i] < v[lo]:
            v[i], v[lo] = v[lo], v[i]
        if v[hi] < v[lo]:
            v[hi], v[lo] = v[lo], v[hi]
        if v[hi] < v[i]:
            v[hi], v[i] = v[i], v[hi]
        pivot = v[i]
        i, j = lo, hi
        while i <= j:
            while v[i] < pivot:
                i += 1
            while pivot < v[j]:
                j -= 1
            if i <= j:
                t = v[i]
                v[i] = v[j]
                v[j] = t
                i += 1
                j -= 1
        # recurse into the smaller part, loop on the larger: stack depth O(log n)
        if j + 1 < n - i:
            _sort(v, j + 1)
            v = v + i
            n = n - i
        else:
            _sort(v + i, n - i)
            n = j + 1
    for i in range(1, n):
        t = v[i]
        j = i - 1
        while j >= 0 and t < v[j]:
            v[j + 1] = v[j]
            j -= 1
        v[j + 1] = t


cdef void _mode_rows(const sortable* x, cnp.int64_t* out, Py_ssize_t m, Py_ssize_t n,
                     sortable* buf) noexcept nogil:
    cdef Py_ssize_t r, i, count, run, best_run, kept
    cdef sortable value, v
    cdef const sortable* row
    for r in range(m):
        row = x + r * n
        kept = 0
        for i in range(n):  # NaN never equals NaN: each is a run of one, sorted last
            if row[i] == row[i]:
                buf[kept] = row[i]
                kept += 1
        if kept == 0:  # all NaN: the reference finds no element equal to the mode
            out[r] = n - 1
            continue
        _sort(buf, kept)
        value, best_run, run = buf[0], 1, 1
        for i in range(1, kept):  # the first longest run: the smallest value on a tie
            run = run + 1 if buf[i] == buf[i - 1] else 1
            if run > best_run:
                best_run, value = run, buf[i]
        out[r] = n - 1
        for i in range(n - 1, -1, -1):  # the last index holding it
            if row[i] == value:
                out[r] = i
                break


def mode_indices(rows):
    """Per row of a (m, n) array (n >= 1): the last index of the most frequent value."""
    cdef bint is_float = _c_array(rows, cnp.NPY_DOUBLE, 2)
    if not (is_float or _c_array(rows, cnp.NPY_INT64, 2)):
        return _reference.mode_indices(rows)
    cdef cnp.ndarray X = <cnp.ndarray>rows
    cdef Py_ssize_t m = cnp.PyArray_DIMS(X)[0], n = cnp.PyArray_DIMS(X)[1]
    out = np.empty(m, dtype=np.int64)
    if m == 0 or n == 0:
        return _reference.mode_indices(rows)
    cdef void* buf = malloc(n * 8)
    if buf == NULL:
        raise MemoryError(f"mode: no memory for a row of {n} elements")
    cdef cnp.int64_t* po = <cnp.int64_t*>cnp.PyArray_DATA(<cnp.ndarray>out)
    cdef void* px = cnp.PyArray_DATA(X)
    with nogil:
        if is_float:
            _mode_rows(<const double*>px, po, m, n, <double*>buf)
        else:
            _mode_rows(<const cnp.int64_t*>px, po, m, n, <cnp.int64_t*>buf)
    free(buf)
    return out


# ---------------------------------------------------------------------------------------------
# topk_indices
# ---------------------------------------------------------------------------------------------

cdef inline bint _beats(floating a, floating b, bint largest) noexcept nogil:
    """a comes strictly before b (b seen earlier): NaN is the largest value, as in sort."""
    if largest:
        return (a > b) or (a != a and b == b)
    return (a < b) or (b != b and a == a)


cdef void _topk_rows(const floating* x, cnp.int64_t* out, Py_ssize_t m, Py_ssize_t n,
                     Py_ssize_t k, bint largest, floating* vals) noexcept nogil:
    """out[r, :k]: the indices of the k first elements of row r in the order (better value,
    then smaller index). The list (out[r, :filled], their values in vals) is kept in that
    order; an element (seen in index order, so after every equal one already listed) enters
    behind the ones it does not beat."""
    cdef Py_ssize_t r, i, j, filled
    cdef const floating* row
    cdef cnp.int64_t* best
    cdef floating v
    for r in range(m):
        row = x + r * n
        best = out + r * k
        filled = 0
        for i in range(n):
            v = row[i]
            if filled == k and not _beats(v, vals[k - 1], largest):
                continue
            j = filled if filled < k else k - 1
            while j > 0 and _beats(v, vals[j - 1], largest):
                best[j] = best[j - 1]
                vals[j] = vals[j - 1]
                j -= 1
            best[j] = i
            vals[j] = v
            if filled < k:
                filled += 1


# An insertion costs up to k moves, and sorted input makes every element enter: beyond this
# k a sort of the whole row (the reference) is cheaper.
DEF _TOPK_MAX_K = 32


def topk_indices(rows, k, largest):
    """Per row of a (m, n) array: the indices of the k largest (smallest) elements, best
    first, equal elements in index order; int64 (m, k). 0 <= k <= n."""
    cdef int type_num = cnp.NPY_DOUBLE if _c_array(rows, cnp.NPY_DOUBLE, 2) else (
        cnp.NPY_FLOAT if _c_array(rows, cnp.NPY_FLOAT, 2) else -1)
    if type_num < 0 or k == 0 or k > _TOPK_MAX_K:
        return _reference.topk_indices(rows, k, largest)
    cdef cnp.ndarray X = <cnp.ndarray>rows
    cdef Py_ssize_t m = cnp.PyArray_DIMS(X)[0], n = cnp.PyArray_DIMS(X)[1], kk = k
    out = np.empty((m, kk), dtype=np.int64)
    cdef cnp.int64_t* po = <cnp.int64_t*>cnp.PyArray_DATA(<cnp.ndarray>out)
    cdef void* px = cnp.PyArray_DATA(X)
    cdef bint big = largest
    cdef double vals[_TOPK_MAX_K]
    with nogil:
        if type_num == cnp.NPY_DOUBLE:
            _topk_rows(<const double*>px, po, m, n, kk, big, vals)
        else:
            _topk_rows(<const float*>px, po, m, n, kk, big, <float*>vals)
    return out


# ---------------------------------------------------------------------------------------------
# nonzero_coords
# ---------------------------------------------------------------------------------------------

def nonzero_coords(mask):
    """The coordinates of the True elements of a bool array (ndim >= 1), in C order; int64
    (count, ndim)."""
    if (not cnp.PyArray_CheckExact(mask) or mask.ndim == 0
            or not _c_array(mask, cnp.NPY_BOOL, mask.ndim)):
        return _reference.nonzero_coords(mask)
    cdef cnp.ndarray X = <cnp.ndarray>mask
    cdef int ndim = cnp.PyArray_NDIM(X), d
    cdef Py_ssize_t size = cnp.PyArray_SIZE(X), count = np.count_nonzero(mask), i, w = 0
    if count == 0:
        return np.empty((0, ndim), dtype=np.int64)
    cdef const cnp.npy_bool* px = <const cnp.npy_bool*>cnp.PyArray_DATA(X)
    cdef cnp.npy_intp* dims = cnp.PyArray_DIMS(X)
    cdef Py_ssize_t last = dims[ndim - 1], rows = size // last if last else 0, r, j
    # Every element's coordinates are written and the write position moves on only for a
    # non-zero one (no branch to mispredict on a random mask): one spare row at the end.
    buffer = np.empty((count + 1, ndim), dtype=np.int64)
    cdef cnp.int64_t* po = <cnp.int64_t*>cnp.PyArray_DATA(<cnp.ndarray>buffer)
    cdef cnp.int64_t* at = <cnp.int64_t*>malloc(ndim * sizeof(cnp.int64_t))
    if at == NULL:
        raise MemoryError("nonzero: no memory for the coordinates")
    for d in range(ndim):
        at[d] = 0
    with nogil:
        if ndim == 2:  # the common case, with its coordinate loop unrolled (3x faster)
            for r in range(rows):
                for j in range(last):
                    po[w] = r
                    po[w + 1] = j
                    w += 2 * (px[r * last + j] != 0)
            rows = 0
        for r in range(rows):
            for j in range(last):
                for d in range(ndim - 1):
                    po[w + d] = at[d]
                po[w + ndim - 1] = j
                w += ndim * (px[r * last + j] != 0)
            d = ndim - 2  # the coordinates of the next row, in C order
            while d >= 0:
                at[d] += 1
                if at[d] < dims[d]:
                    break
                at[d] = 0
                d -= 1
    free(at)
    return buffer[:count]


# ---------------------------------------------------------------------------------------------
# stable_argsort_f32
# ---------------------------------------------------------------------------------------------
#
# A stable argsort is a sort of (value, index) pairs, which are all distinct, so any sort will
# do. For float32 both fit one uint64: the value's bits mapped to an unsigned key in the same
# order (negative floats: all bits flipped; others: the sign bit set; -0.0 as 0.0; every NaN
# the largest key, after inf, as numpy and PyTorch sort it) above the index. numpy's sort of
# uint64 (SIMD quicksort where the CPU has it) is several times faster than its stable sort of
# float32 (a merge sort).

cdef inline cnp.uint32_t _order_key(cnp.uint32_t bits) noexcept nogil:
    if (bits & 0x7FFFFFFFu) > 0x7F800000u:  # NaN
        return 0xFFFFFFFFu
    if bits == 0x80000000u:  # -0.0 sorts with 0.0
        bits = 0
    if bits >> 31:
        return ~bits
    return bits | 0x80000000u


def stable_argsort_f32(rows):
    """Per row of a float32 (m, n) array: the stable ascending argsort (NaN last); int64."""
    if not _c_array(rows, cnp.NPY_FLOAT, 2) or rows.shape[1] >= 2 ** 32:
        return _reference.stable_argsort_f32(rows)
    cdef cnp.ndarray X = <cnp.ndarray>rows
    cdef Py_ssize_t m = cnp.PyArray_DIMS(X)[0], n = cnp.PyArray_DIMS(X)[1], r, j
    keys = np.empty((m, n), dtype=np.uint64)
    cdef const cnp.uint32_t* pb = <const cnp.uint32_t*>cnp.PyArray_DATA(X)
    cdef cnp.uint64_t* pk = <cnp.uint64_t*>cnp.PyArray_DATA(<cnp.ndarray>keys)
    with nogil:
        for r in range(m):
            for j in range(n):
                pk[r * n + j] = (<cnp.uint64_t>_order_key(pb[r * n + j]) << 32) | <cnp.uint64_t>j
    keys.sort(axis=1)
    out = np.empty((m, n), dtype=np.int64)
    cdef cnp.int64_t* po = <cnp.int64_t*>cnp.PyArray_DATA(<cnp.ndarray>out)
    with nogil:
        for r in range(m * n):
            po[r] = <cnp.int64_t>(pk[r] & 0xFFFFFFFFu)
    return out


# ---------------------------------------------------------------------------------------------
# kthvalue_indices, median_indices
# ---------------------------------------------------------------------------------------------
#
# Which of several equal elements PyTorch's CPU kthvalue returns is whatever its quickselect
# (Sedgewick's, on a copy of the row and of its indices; median of three pivots, NaN the
# largest value) leaves at position k - 1: the loop below is that algorithm, step for step, so
# the index is the same. median(dim) instead returns the first NaN of a row that has one, else
# the element at position (n - 1) // 2 of the stable sort: the value by a quickselect of the
# values alone, then the right one of the elements equal to it by two scans of the row.

ctypedef fused selectable:
    float
    double
    cnp.int64_t


cdef inline bint _after(selectable x, selectable y, bint nan_aware) noexcept nogil:
    """x comes after y in ascending order; NaN the largest value when nan_aware (PyTorch's
    gt_or_nan; the median's selection runs on rows without NaN and skips that test)."""
    if nan_aware:
        return x > y or (x != x and y == y)
    return x > y


cdef inline void _swap(selectable* v, cnp.int64_t* ix, Py_ssize_t a, Py_ssize_t b,
                       bint kth) noexcept nogil:
    cdef selectable t = v[a]
    v[a] = v[b]
    v[b] = t
    cdef cnp.int64_t ti
    if kth:
        ti = ix[a]
        ix[a] = ix[b]
        ix[b] = ti


cdef inline void _quickselect(selectable* v, cnp.int64_t* ix, Py_ssize_t n, Py_ssize_t k,
                              bint kth) noexcept nogil:
    """Partially order v[0:n] so that v[k] is the k-th smallest: PyTorch's
    quick_select_template. kth: move the indices ix alongside, NaN the largest value (as
    kthvalue); else values only, of a row without NaN. Inline, so that each caller gets a copy
    with kth constant."""
    cdef Py_ssize_t L = 0, R = n - 1, P, i, j
    cdef selectable piv
    while R > L:
        if R == L + 1:
            if _after(v[L], v[R], kth):
                _swap(v, ix, L, R, kth)
            return
        P = (L + R) >> 1
        _swap(v, ix, P, L + 1, kth)
        if _after(v[L + 1], v[R], kth):
            _swap(v, ix, L + 1, R, kth)
        if _after(v[L], v[R], kth):
            _swap(v, ix, L, R, kth)
        if _after(v[L + 1], v[L], kth):
            _swap(v, ix, L + 1, L, kth)
        i = L + 1
        j = R
        piv = v[L]
        while True:  # v[L + 1] <= piv <= v[R] stop both scans
            i += 1
            while _after(piv, v[i], kth):
                i += 1
            j -= 1
            while _after(v[j], piv, kth):
                j -= 1
            if j < i:
                break
            _swap(v, ix, i, j, kth)
        _swap(v, ix, L, j, kth)
        if j <= k:
            L = i
        if j >= k:
            R = j - 1


cdef void _kth_rows(const selectable* x, cnp.int64_t* out, Py_ssize_t m, Py_ssize_t n,
                    Py_ssize_t k, selectable* v, cnp.int64_t* ix) noexcept nogil:
    cdef Py_ssize_t r, i
    for r in range(m):
        for i in range(n):
            v[i] = x[r * n + i]
            ix[i] = i
        _quickselect(v, ix, n, k, True)
        out[r] = ix[k]


cdef void _median_rows(const selectable* x, cnp.int64_t* out, Py_ssize_t m, Py_ssize_t n,
                       selectable* v) noexcept nogil:
    cdef Py_ssize_t r, i, k = (n - 1) // 2, seen
    cdef const selectable* row
    cdef selectable value
    cdef bint has_nan
    for r in range(m):
        row = x + r * n
        has_nan = False
        for i in range(n):  # no early exit: a loop the compiler can vectorise
            v[i] = row[i]
            if selectable is not cnp.int64_t:
                has_nan |= row[i] != row[i]
        if has_nan:  # the first NaN
            for i in range(n):
                if row[i] != row[i]:
                    out[r] = i
                    break
            continue
        _quickselect(v, <cnp.int64_t*>NULL, n, k, False)
        value = v[k]
        # v[:k] holds the k smallest: the elements equal to value among them come before
        # position k in the stable sort, so the one at k is the next one equal to value.
        seen = 0
        for i in range(k):
            seen += v[i] < value
        out[r] = n - 1
        for i in range(n):
            if row[i] == value:
                if seen == k:
                    out[r] = i
                    break
                seen += 1


cdef int _select_type(object rows) noexcept:
    if _c_array(rows, cnp.NPY_DOUBLE, 2):
        return cnp.NPY_DOUBLE
    if _c_array(rows, cnp.NPY_FLOAT, 2):
        return cnp.NPY_FLOAT
    if _c_array(rows, cnp.NPY_INT64, 2):
        return cnp.NPY_INT64
    return -1


cdef selectable _median_value(const selectable* x, Py_ssize_t n, selectable* v) noexcept nogil:
    """The element _median_rows picks in x[0:n] (n >= 1), found by value: a quickselect of
    the copy v, without the two passes that find its index. When the value alone does not
    say which element (a NaN, whose payload and sign differ; 0, which may be -0.0 or 0.0),
    the index is found as _median_rows finds it."""
    cdef Py_ssize_t i, k = (n - 1) // 2
    cdef cnp.int64_t index
    cdef bint has_nan = False
    for i in range(n):  # no early exit: a loop the compiler can vectorise
        v[i] = x[i]
        has_nan |= x[i] != x[i]
    if not has_nan:
        _quickselect(v, <cnp.int64_t*>NULL, n, k, False)
        if v[k] != 0:
            return v[k]
    _median_rows(x, &index, 1, n, v)
    return x[index]


def median_all(x):
    """The lower median of all the elements of a non-empty float array, as a 0-d array of
    its dtype: the element median_indices picks in x flattened to one row."""
    cdef int type_num = _fast_float_type(x)
    if type_num < 0 or cnp.PyArray_SIZE(<cnp.ndarray>x) == 0:
        return _reference.median_all(x)
    cdef cnp.ndarray X = <cnp.ndarray>x
    cdef Py_ssize_t n = cnp.PyArray_SIZE(X)
    cdef cnp.ndarray out = cnp.PyArray_EMPTY(0, NULL, type_num, 0)
    cdef void* buf = malloc(n * 8)
    if buf == NULL:
        raise MemoryError(f"median: no memory for a copy of {n} elements")
    cdef void* px = cnp.PyArray_DATA(X)
    cdef void* po = cnp.PyArray_DATA(out)
    with nogil:
        if type_num == cnp.NPY_DOUBLE:
            (<double*>po)[0] = _median_value(<const double*>px, n, <double*>buf)
        else:
            (<float*>po)[0] = _median_value(<const float*>px, n, <float*>buf)
    free(buf)
    return out


def kthvalue_indices(rows, k):
    """Per row of a (m, n) array: the index of the k-th smallest element (k from 0; NaN the
    largest value), the one of several equal elements that PyTorch's kthvalue picks; int64
    (m,). 0 <= k < n."""
    cdef int type_num = _select_type(rows)
    if type_num < 0 or rows.shape[0] == 0 or not 0 <= k < rows.shape[1]:
        return _reference.kthvalue_indices(rows, k)
    cdef cnp.ndarray X = <cnp.ndarray>rows
    cdef Py_ssize_t m = cnp.PyArray_DIMS(X)[0], n = cnp.PyArray_DIMS(X)[1], kk = k
    out = np.empty(m, dtype=np.int64)
    cdef void* buf = malloc(n * 16)  # the row's values (8 bytes at most), then its indices
    if buf == NULL:
        raise MemoryError(f"kthvalue: no memory for a row of {n} elements")
    cdef cnp.int64_t* ix = <cnp.int64_t*>buf + n
    cdef cnp.int64_t* po = <cnp.int64_t*>cnp.PyArray_DATA(<cnp.ndarray>out)
    cdef void* px = cnp.PyArray_DATA(X)
    with nogil:
        if type_num == cnp.NPY_DOUBLE:
            _kth_rows(<const double*>px, po, m, n, kk, <double*>buf, ix)
        elif type_num == cnp.NPY_FLOAT:
            _kth_rows(<const float*>px, po, m, n, kk, <float*>buf, ix)
        else:
            _kth_rows(<const cnp.int64_t*>px, po, m, n, kk, <cnp.int64_t*>buf, ix)
    free(buf)
    return out


def median_indices(rows):
    """Per row of a (m, n) array (n >= 1): the index of the first NaN if the row has one,
    else of the element at position (n - 1) // 2 of its stable ascending sort (PyTorch's
    median along a dim); int64 (m,)."""
    cdef int type_num = _select_type(rows)
    if type_num < 0 or rows.shape[0] == 0 or rows.shape[1] == 0:
        return _reference.median_indices(rows)
    cdef cnp.ndarray X = <cnp.ndarray>rows
    cdef Py_ssize_t m = cnp.PyArray_DIMS(X)[0], n = cnp.PyArray_DIMS(X)[1]
    out = np.empty(m, dtype=np.int64)
    cdef void* buf = malloc(n * 8)
    if buf == NULL:
        raise MemoryError(f"median: no memory for a row of {n} elements")
    cdef cnp.int64_t* po = <cnp.int64_t*>cnp.PyArray_DATA(<cnp.ndarray>out)
    cdef void* px = cnp.PyArray_DATA(X)
    with nogil:
        if type_num == cnp.NPY_DOUBLE:
            _median_rows(<const double*>px, po, m, n, <double*>buf)
        elif type_num == cnp.NPY_FLOAT:
            _median_rows(<const float*>px, po, m, n, <float*>buf)
        else:
            _median_rows(<const cnp.int64_t*>px, po, m, n, <cnp.int64_t*>buf)
    free(buf)
    return out
