# cython: language_level=3
"""Compiled outer products: twins of ``outer`` and ``addr`` in the products section of
``reference.py`` (read that for what each computes).

numpy forms an outer product as a broadcast multiply, (n, 1) * (m,), which on a 10^6-element
result runs about 3x slower than an elementwise multiply of the same size (and ``np.matmul``
with an inner size of 1 about 13x slower); ``addr`` then needs a second pass for the added
matrix. Here each row of the result is one contiguous, vectorizable loop, scaled vector plus
(for ``addr``) the matching row of the input, in one pass.

Inputs that are not float32/float64 ndarrays of one dtype, in native byte order and aligned,
go to the reference, so results always equal numpy's up to rounding.
"""
cimport numpy as cnp
from cython cimport floating

from cpython.object cimport PyObject, PyTypeObject
from cpython.ref cimport Py_INCREF
from libc.math cimport fabs, isfinite
from libc.string cimport memcpy, memset

from ._runtime cimport pool_empty

import numpy as np

from . import reference as _reference

cnp.import_array()

# Results at least this large run without the GIL (below it, releasing costs more than it
# lets a neighbour thread do).
cdef Py_ssize_t _NOGIL_MIN_SIZE = 1 << 15
# arange's index runs in blocks of this many (an int counts them).
cdef enum:
    _ARANGE_BLOCK = 1 << 30


cdef void _outer_kernel(const floating* a, Py_ssize_t a_stride, const floating* b,
                        const floating* c, Py_ssize_t c_row_stride, floating* out,
                        Py_ssize_t n, Py_ssize_t m, floating alpha, floating beta,
                        bint has_c) noexcept nogil:
    """out[i, j] = beta * c[i, j] + (alpha * a[i]) * b[j] (c ignored without has_c); a read
    every a_stride elements, b contiguous, rows of c c_row_stride elements apart (0: one row
    broadcast), each row of c contiguous."""
    cdef Py_ssize_t i, j
    cdef floating s
    cdef floating* row
    cdef const floating* c_row
    for i in range(n):
        s = alpha * a[i * a_stride]
        row = out + i * m
        if has_c:
            c_row = c + i * c_row_stride
            if beta == 1:
                for j in range(m):
                    row[j] = c_row[j] + s * b[j]
            else:
                for j in range(m):
                    row[j] = beta * c_row[j] + s * b[j]
        else:
            for j in range(m):
                row[j] = s * b[j]


cdef inline bint _plain_float(object x, int type_num):
    """x is an exact ndarray of numpy type ``type_num``, aligned and in native byte order."""
    if not cnp.PyArray_CheckExact(x):
        return False
    cdef cnp.ndarray arr = <cnp.ndarray>x
    return (cnp.PyArray_TYPE(arr) == type_num and cnp.PyArray_ISALIGNED(arr)
            and cnp.PyArray_ISNOTSWAPPED(arr))


def _outer_into(input, vec1, vec2, double beta, double alpha):
    """The compiled ``addr`` (input None: ``outer`` scaled by alpha), or None where the
    reference must run (dtypes, byte order, a layout the loop does not read)."""
    if not cnp.PyArray_CheckExact(vec1):
        return None
    cdef int type_num = cnp.PyArray_TYPE(<cnp.ndarray>vec1)
    if type_num != cnp.NPY_FLOAT and type_num != cnp.NPY_DOUBLE:
        return None
    if not (_plain_float(vec1, type_num) and _plain_float(vec2, type_num)):
        return None
    cdef cnp.ndarray A = <cnp.ndarray>vec1
    cdef cnp.ndarray B = <cnp.ndarray>vec2
    if cnp.PyArray_NDIM(A) != 1 or cnp.PyArray_NDIM(B) != 1:
        return None
    cdef Py_ssize_t n = cnp.PyArray_DIMS(A)[0], m = cnp.PyArray_DIMS(B)[0]
    cdef Py_ssize_t itemsize = cnp.PyArray_ITEMSIZE(A)
    if not cnp.PyArray_IS_C_CONTIGUOUS(B):
        B = np.ascontiguousarray(B)  # one short copy: the inner loop reads b contiguously
    cdef Py_ssize_t a_stride = cnp.PyArray_STRIDES(A)[0] // itemsize if n > 1 else 0
    if n > 1 and cnp.PyArray_STRIDES(A)[0] % itemsize:
        return None
    cdef bint has_c = input is not None
    cdef cnp.ndarray C = None
    cdef Py_ssize_t c_row_stride = 0
    cdef void* pc = NULL
    if has_c:
        if not _plain_float(input, type_num):
            return None
        C = <cnp.ndarray>input
        if cnp.PyArray_NDIM(C) > 2:
            return None
        if not (cnp.PyArray_NDIM(C) == 2 and cnp.PyArray_DIMS(C)[0] == n
                and cnp.PyArray_DIMS(C)[1] == m):
            C = np.broadcast_to(C, (n, m))  # the caller checked that it broadcasts
        if m > 1 and cnp.PyArray_STRIDES(C)[1] != itemsize:
            return None  # rows not contiguous (a transposed or column-broadcast input)
        if n > 1:
            if cnp.PyArray_STRIDES(C)[0] % itemsize:
                return None
            c_row_stride = cnp.PyArray_STRIDES(C)[0] // itemsize
        pc = cnp.PyArray_DATA(C)
    cdef cnp.npy_intp dims[2]
    dims[0] = n
    dims[1] = m
    cdef cnp.ndarray out = cnp.PyArray_EMPTY(2, dims, type_num, 0)
    cdef void* pa = cnp.PyArray_DATA(A)
    cdef void* pb = cnp.PyArray_DATA(B)
    cdef void* po = cnp.PyArray_DATA(out)
    cdef bint nogil_ok = n * m >= _NOGIL_MIN_SIZE
    if type_num == cnp.NPY_DOUBLE:
        if nogil_ok:
            with nogil:
                _outer_kernel(<const double*>pa, a_stride, <const double*>pb,
                              <const double*>pc, c_row_stride, <double*>po, n, m, alpha,
                              beta, has_c)
        else:
            _outer_kernel(<const double*>pa, a_stride, <const double*>pb, <const double*>pc,
                          c_row_stride, <double*>po, n, m, alpha, beta, has_c)
    else:
        if nogil_ok:
            with nogil:
                _outer_kernel(<const float*>pa, a_stride, <const float*>pb,
                              <const float*>pc, c_row_stride, <float*>po, n, m,
                              <float>alpha, <float>beta, has_c)
        else:
            _outer_kernel(<const float*>pa, a_stride, <const float*>pb, <const float*>pc,
                          c_row_stride, <float*>po, n, m, <float>alpha, <float>beta, has_c)
    return out


def outer(a, b):
    """out[i, j] = a[i] * b[j] for 1-D a (n,) and b (m,) of one dtype -> (n, m)."""
    out = _outer_into(None, a, b, 0.0, 1.0)
    return _reference.outer(a, b) if out is None else out


def addr(input, vec1, vec2, beta, alpha):
    """beta * input + alpha * outer(vec1, vec2) -> (n, m): input (None when beta is 0, so that
    its NaN and inf do not reach the result) broadcasts to (n, m); one dtype throughout."""
    out = None
    if isinstance(beta, float) and isinstance(alpha, float):
        out = _outer_into(input, vec1, vec2, beta, alpha)
    return _reference.addr(input, vec1, vec2, beta, alpha) if out is None else out


# ---------------------------------------------------------------------------------------------
# expand: a broadcast view
# ---------------------------------------------------------------------------------------------


cdef extern from "numpy/arrayobject.h":
    # Not declared by numpy's .pxd. Steals a reference to descr; flags 0: a read-only view.
    PyTypeObject PyArray_Type
    object PyArray_NewFromDescr(PyTypeObject* subtype, cnp.PyArray_Descr* descr, int nd,
                                cnp.npy_intp* dims, cnp.npy_intp* strides, void* data,
                                int flags, PyObject* obj)


def expand(x, shape):
    """x broadcast to ``shape`` (a tuple of ints), as numpy's ``broadcast_to``: a read-only
    view of x, stride 0 along the new leading axes and the stretched size-1 axes. Built in
    one call: broadcast_to's Python and iterator setup cost 3-4 times more on a small array.
    Anything else (not an exact ndarray, sizes that do not fit, too many axes) goes to the
    reference, which raises numpy's errors."""
    if not cnp.PyArray_CheckExact(x) or type(shape) is not tuple:
        return _reference.expand(x, shape)
    cdef cnp.ndarray arr = <cnp.ndarray>x
    cdef int ndim = cnp.PyArray_NDIM(arr)
    cdef Py_ssize_t nd = len(shape)
    if nd < ndim or nd > cnp.NPY_MAXDIMS:
        return _reference.expand(x, shape)
    cdef cnp.npy_intp dims[cnp.NPY_MAXDIMS]
    cdef cnp.npy_intp strides[cnp.NPY_MAXDIMS]
    cdef Py_ssize_t lead = nd - ndim, i
    cdef cnp.npy_intp n, have
    for i in range(nd):
        size = shape[i]
        if type(size) is not int or not 0 <= size < 2**62:
            return _reference.expand(x, shape)
        n = size
        dims[i] = n
        if i < lead:
            strides[i] = 0
            continue
        have = cnp.PyArray_DIMS(arr)[i - lead]
        if have == 1:  # stretched or not, stride 0 as numpy gives it
            strides[i] = 0
        elif n == have:
            strides[i] = cnp.PyArray_STRIDES(arr)[i - lead]
        else:
            return _reference.expand(x, shape)
    cdef cnp.PyArray_Descr* descr = cnp.PyArray_DESCR(arr)
    Py_INCREF(<object>descr)
    cdef cnp.ndarray out = PyArray_NewFromDescr(&PyArray_Type, descr, <int>nd, dims, strides,
                                                 cnp.PyArray_DATA(arr), 0, NULL)
    cnp.set_array_base(out, x)  # numpy stores x's owner: the view is tracked on its memory
    return out


# ---------------------------------------------------------------------------------------------
# linspace
# ---------------------------------------------------------------------------------------------


cdef void _spaced_kernel(floating* out, Py_ssize_t steps, floating lo, floating hi,
                         floating step) noexcept nogil:
    """out[i] = lo + i * step for i < steps // 2, hi - (steps - 1 - i) * step after: PyTorch's
    linspace, counting up from start and down from end so that both ends are exact. Each
    value is rounded as numpy rounds the reference's array operations (product, then sum)."""
    cdef Py_ssize_t i
    cdef Py_ssize_t half = steps // 2
    for i in range(half):
        out[i] = <floating>i * step + lo
    for i in range(half, steps):
        out[i] = hi - <floating>(steps - 1 - i) * step


def spaced(start, end, Py_ssize_t steps, dtype):
    """``steps`` (>= 2) values from start to end in ``dtype``, both ends exact (see the
    reference's ``spaced``). float32 and float64 run here; other dtypes go to the reference."""
    cdef cnp.npy_intp n = steps
    cdef cnp.ndarray out
    cdef float lo32, hi32, step32
    cdef double lo64, hi64, step64
    if steps < 2 or not (_exact_in_double(start) and _exact_in_double(end)):
        return _reference.spaced(start, end, steps, dtype)
    if dtype is _FLOAT32:
        lo32, hi32 = start, end
        step32 = (hi32 - lo32) / <float>(steps - 1)
        out = cnp.PyArray_EMPTY(1, &n, cnp.NPY_FLOAT, 0)
        _spaced_kernel(<float*>cnp.PyArray_DATA(out), steps, lo32, hi32, step32)
        return out
    if dtype is _FLOAT64:
        lo64, hi64 = start, end
        step64 = (hi64 - lo64) / <double>(steps - 1)
        out = cnp.PyArray_EMPTY(1, &n, cnp.NPY_DOUBLE, 0)
        _spaced_kernel(<double*>cnp.PyArray_DATA(out), steps, lo64, hi64, step64)
        return out
    return _reference.spaced(start, end, steps, dtype)


cdef void _arange_kernel(floating* out, Py_ssize_t count, double start,
                         double step) noexcept nogil:
    """out[i] = start + i * step in double (the product rounded, then the sum), then rounded
    to out's type: the reference's three numpy passes in one. The index is converted as
    block + j with j an int (exact, as block and j are integers below 2**53): SSE2 converts
    four ints to doubles at once, but has no packed int64 -> double, so a Py_ssize_t index
    kept the loop scalar (1.6x PyTorch at 10^6)."""
    cdef Py_ssize_t block = 0
    cdef int j, length
    cdef double base
    cdef floating* chunk
    while block < count:
        length = <int>min(count - block, _ARANGE_BLOCK)
        base = <double>block
        chunk = out + block
        for j in range(length):
            chunk[j] = <floating>(start + (base + <double>j) * step)
        block += length


def arange_values(double start, double step, Py_ssize_t count, dtype):
    """``count`` values start + i * step computed in double, in the float ``dtype``
    (float32 or float64 here; other dtypes go to the reference)."""
    cdef cnp.npy_intp n = count
    cdef cnp.ndarray out
    if count < 0:
        return _reference.arange_values(start, step, count, dtype)
    if dtype is _FLOAT32:
        out = pool_empty(1, &n, cnp.NPY_FLOAT)  # large results: no page faults
        with nogil:
            _arange_kernel(<float*>cnp.PyArray_DATA(out), count, start, step)
        return out
    if dtype is _FLOAT64:
        out = pool_empty(1, &n, cnp.NPY_DOUBLE)
        with nogil:
            _arange_kernel(<double*>cnp.PyArray_DATA(out), count, start, step)
        return out
    return _reference.arange_values(start, step, count, dtype)


cdef bint _exact_in_double(value):
    """A Python float, or an int a double holds exactly (larger ints would be rounded twice on
    the way to float32, where numpy rounds once)."""
    return type(value) is float or (type(value) is int and -2**53 <= value <= 2**53)


cdef object _FLOAT32 = np.dtype(np.float32)
cdef object _FLOAT64 = np.dtype(np.float64)
cdef object _INT64 = np.dtype(np.int64)


cdef extern from *:
    """
    #include <stdint.h>
    /* n copies of one 4- or 8-byte pattern. On x86-64 `rep stos`: with the fast-string
       feature every current x86 has, the CPU writes whole cache lines without reading them
       first, where a loop of stores reads each line before writing it (numpy's fill: 1.5x
       PyTorch's time on 4 MB). */
    static void mg_fill32(uint32_t* p, uint32_t bits, Py_ssize_t n) {
    #if defined(__x86_64__) && defined(__GNUC__)
        size_t count = (size_t)n;
        __asm__ volatile("rep stosl" : "+D"(p), "+c"(count) : "a"(bits) : "memory");
    #else
        for (Py_ssize_t i = 0; i < n; i++) p[i] = bits;
    #endif
    }
    static void mg_fill64(uint64_t* p, uint64_t bits, Py_ssize_t n) {
    #if defined(__x86_64__) && defined(__GNUC__)
        size_t count = (size_t)n;
        __asm__ volatile("rep stosq" : "+D"(p), "+c"(count) : "a"(bits) : "memory");
    #else
        for (Py_ssize_t i = 0; i < n; i++) p[i] = bits;
    #endif
    }
    """
    void mg_fill32(cnp.uint32_t* p, cnp.uint32_t bits, Py_ssize_t n) noexcept nogil
    void mg_fill64(cnp.uint64_t* p, cnp.uint64_t bits, Py_ssize_t n) noexcept nogil


# numpy's float32 cast of a double warns of overflow past this (rounding would give inf).
cdef double _FLOAT32_MAX = 3.4028234663852886e38


def full_values(shape, value, dtype):
    """A new C-contiguous array of ``shape`` (a tuple of ints >= 0) and ``dtype`` holding
    ``value`` everywhere, as np.full; float32 and float64 from a Python float or an int a
    double holds exactly, and int64 from a Python int, here (the rest, and float32 values
    whose cast numpy would warn about, go to the reference)."""
    cdef int type_num = _fill_type(value, dtype), ndim = len(shape), d
    cdef cnp.npy_intp dims[32]
    if ndim > 32 or type_num < 0:
        return _reference.full_values(shape, value, dtype)
    for d in range(ndim):
        dims[d] = shape[d]
    cdef cnp.ndarray out
    if type_num == cnp.NPY_INT64:
        out = cnp.PyArray_EMPTY(ndim, dims, type_num, 0)
    else:
        out = pool_empty(ndim, dims, type_num)  # large results: no page faults
    _fill(out, value, type_num)
    return out


def fill_values(x, value):
    """Every element of x set to ``value`` in place (x.fill), with full_values' rules for
    what the loop takes (x C-contiguous, aligned, native, writeable); returns x."""
    if not cnp.PyArray_CheckExact(x):
        return _reference.fill_values(x, value)
    cdef cnp.ndarray X = <cnp.ndarray>x
    cdef int type_num = _fill_type(value, x.dtype)
    if type_num < 0 or not cnp.PyArray_ISCARRAY(X) or not cnp.PyArray_ISNOTSWAPPED(X):
        return _reference.fill_values(x, value)
    _fill(X, value, type_num)
    return x


cdef int _fill_type(value, dtype):
    """The type number of a fill the loops take (value exact in the dtype), else -1."""
    if dtype is _FLOAT32 and _exact_in_double(value) and (
            not isfinite(value) or fabs(value) <= _FLOAT32_MAX):
        return cnp.NPY_FLOAT
    if dtype is _FLOAT64 and _exact_in_double(value):
        return cnp.NPY_DOUBLE
    if dtype is _INT64 and type(value) is int and -2**63 <= value < 2**63:
        return cnp.NPY_INT64
    return -1


cdef void _fill(cnp.ndarray out, value, int type_num):
    """``value`` (checked by _fill_type) in every element of the C-contiguous out."""
    cdef void* p = cnp.PyArray_DATA(out)
    cdef Py_ssize_t n = cnp.PyArray_SIZE(out)
    cdef double v
    cdef float v32
    cdef cnp.int64_t v64
    if type_num == cnp.NPY_FLOAT:
        v32 = <float><double>value
        with nogil:
            mg_fill32(<cnp.uint32_t*>p, (<cnp.uint32_t*>&v32)[0], n)
    elif type_num == cnp.NPY_DOUBLE:
        v = value
        with nogil:
            mg_fill64(<cnp.uint64_t*>p, (<cnp.uint64_t*>&v)[0], n)
    else:
        v64 = value
        with nogil:
            mg_fill64(<cnp.uint64_t*>p, <cnp.uint64_t>v64, n)


# ---------------------------------------------------------------------------------------------
# flip: along the last axis alone (fliplr of a matrix), one reversed copy per row
# ---------------------------------------------------------------------------------------------

cdef extern from *:
    """
    #include <stdint.h>
    #define MG_REVERSE(NAME, T)                                                               \
        static void NAME(const T* x, T* y, Py_ssize_t rows, Py_ssize_t n) {                   \
            for (Py_ssize_t r = 0; r < rows; r++) {                                           \
                const T* row = x + r * n;                                                     \
                T* out = y + r * n;                                                           \
                for (Py_ssize_t j = 0; j < n; j++) out[j] = row[n - 1 - j];                   \
            }                                                                                 \
        }
    MG_REVERSE(mg_reverse32, uint32_t)
    MG_REVERSE(mg_reverse64, uint64_t)
    """
    void mg_reverse32(const cnp.uint32_t* x, cnp.uint32_t* y, Py_ssize_t rows,
                      Py_ssize_t n) noexcept nogil
    void mg_reverse64(const cnp.uint64_t* x, cnp.uint64_t* y, Py_ssize_t rows,
                      Py_ssize_t n) noexcept nogil


def flip(x, axes):
    """x reversed along ``axes`` (a new C-contiguous array). Along the last axis alone, one
    reversed copy per row (numpy's copy of a negative-stride view runs element by element:
    2x PyTorch's flip at 10^6 floats) for C-contiguous, aligned, native arrays of 4- or
    8-byte numbers; anything else goes to the reference."""
    if not cnp.PyArray_CheckExact(x):
        return _reference.flip(x, axes)
    cdef cnp.ndarray X = <cnp.ndarray>x
    cdef int ndim = cnp.PyArray_NDIM(X)
    cdef Py_ssize_t itemsize = cnp.PyArray_ITEMSIZE(X)
    if ndim == 0 or tuple(axes) != (ndim - 1,) or not cnp.PyArray_ISCARRAY_RO(X) or \
            (itemsize != 4 and itemsize != 8) or cnp.PyArray_SIZE(X) == 0 or \
            not cnp.PyArray_ISNOTSWAPPED(X) or not (cnp.PyArray_ISNUMBER(X) or
                                                    cnp.PyArray_ISBOOL(X)):
        return _reference.flip(x, axes)
    cdef Py_ssize_t n = cnp.PyArray_DIMS(X)[ndim - 1], rows = cnp.PyArray_SIZE(X) // n
    cdef int type_num = cnp.PyArray_TYPE(X)
    cdef cnp.ndarray out
    if type_num == cnp.NPY_FLOAT or type_num == cnp.NPY_DOUBLE:
        out = pool_empty(ndim, cnp.PyArray_DIMS(X), type_num)  # large results: no faults
    else:
        out = cnp.PyArray_EMPTY(ndim, cnp.PyArray_DIMS(X), type_num, 0)
    cdef const void* px = cnp.PyArray_DATA(X)
    cdef void* po = cnp.PyArray_DATA(out)
    with nogil:
        if itemsize == 4:
            mg_reverse32(<const cnp.uint32_t*>px, <cnp.uint32_t*>po, rows, n)
        else:
            mg_reverse64(<const cnp.uint64_t*>px, <cnp.uint64_t*>po, rows, n)
    return out


# ---------------------------------------------------------------------------------------------
# tril / triu: one pass over each row, a copy of the kept run and zeros for the rest
# ---------------------------------------------------------------------------------------------


cdef object _triangle(x, Py_ssize_t k, bint upper):
    """x with the elements above (``upper``: below) diagonal k of its last two axes zeroed,
    for a C-contiguous native float32/float64 x of at least 2 dimensions; None otherwise.
    Row i of each matrix keeps columns [0, i + k] (lower) or [i + k, cols) (upper): one
    memcpy and one memset per row (numpy builds a boolean mask of the whole array and
    selects through it)."""
    if not cnp.PyArray_CheckExact(x):
        return None
    cdef cnp.ndarray X = <cnp.ndarray>x
    cdef int type_num = cnp.PyArray_TYPE(X)
    cdef int ndim = cnp.PyArray_NDIM(X)
    if ((type_num != cnp.NPY_FLOAT and type_num != cnp.NPY_DOUBLE) or ndim < 2
            or not cnp.PyArray_ISCARRAY_RO(X) or not cnp.PyArray_ISNOTSWAPPED(X)):
        return None
    cdef cnp.ndarray out = pool_empty(ndim, cnp.PyArray_DIMS(X), type_num)
    cdef Py_ssize_t rows = cnp.PyArray_DIMS(X)[ndim - 2], cols = cnp.PyArray_DIMS(X)[ndim - 1]
    cdef Py_ssize_t size = cnp.PyArray_SIZE(X), item = cnp.PyArray_ITEMSIZE(X)
    cdef Py_ssize_t matrices = size // (rows * cols) if rows and cols else 0
    cdef const char* src = <const char*>cnp.PyArray_DATA(X)
    cdef char* dst = <char*>cnp.PyArray_DATA(out)
    cdef Py_ssize_t m, i, start, stop, offset
    with nogil:
        for m in range(matrices):
            for i in range(rows):
                if upper:  # keep [i + k, cols)
                    start, stop = min(max(i + k, 0), cols), cols
                else:  # keep [0, i + k + 1)
                    start, stop = 0, min(max(i + k + 1, 0), cols)
                offset = ((m * rows + i) * cols) * item
                memset(dst + offset, 0, start * item)  # all bits zero: +0.0
                memcpy(dst + offset + start * item, src + offset + start * item,
                       (stop - start) * item)
                memset(dst + offset + stop * item, 0, (cols - stop) * item)
    return out


def tril(x, k):
    """x with the elements above diagonal k of its last two axes zeroed (a new array)."""
    out = _triangle(x, k, False) if -2**62 < k < 2**62 else None
    return _reference.tril(x, k) if out is None else out


def triu(x, k):
    """x with the elements below diagonal k of its last two axes zeroed (a new array)."""
    out = _triangle(x, k, True) if -2**62 < k < 2**62 else None
    return _reference.triu(x, k) if out is None else out
