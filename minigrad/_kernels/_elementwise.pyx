# cython: language_level=3
# distutils: libraries = m
"""Compiled elementwise kernels: binary arithmetic, unary math, activations, reductions.

Twins of the functions of the same names in ``reference.py`` (read that file for what each
one computes). Every function here has the same shape:

    def f(x):                       # Python-visible, checks the input once
        if x fits a fast path:      # plain float32/float64 ndarray, C-contiguous, aligned
            out = new array         # PyArray_EMPTY: no Python call
            _f_kernel(...)          # typed C loop over the flat buffer, no Python objects
            return out
        return reference.f(x)       # anything else: numpy, so the result is always numpy's

Why raw pointers and not typed memoryviews: these kernels are called on tiny arrays in every
training step, so the cost of the call is the cost of the kernel. Acquiring one typed
memoryview costs about 130 ns here, as much as the whole of ``np.add`` on a (10, 1) array
(about 300 ns), so three of them would make ``add`` slower than numpy. The C-API checks on
the ndarray (type, flags, shape) cost a few nanoseconds, and a C-contiguous array of any
number of dimensions is one flat buffer, so the loops take ``floating*`` pointers and a
length. Every pointer handed to a loop comes from an array checked in the ``def``.

Results equal numpy's: the arithmetic loops do the same IEEE operations in the same dtype
(bitwise equal); exp, log and tanh call the C library (within an ulp of numpy's SIMD versions)
and hand large arrays to numpy, whose vectorized versions are faster there. 0-d inputs go to
the reference, since numpy's ufuncs return a numpy scalar, not an array, for them.
"""
cimport numpy as cnp
from cython cimport floating
from cython.parallel cimport prange

from ._common cimport _fast_float_type, _same_shape, _sum_rows_kernel
from ._runtime cimport parallel_threads, pool_empty_like
# cimported as a module: the defs below are named exp, log, sqrt and tanh themselves.
from libc cimport math as cmath
from libc.float cimport FLT_MAX

import numpy as np

from . import reference as _reference

cnp.import_array()

# Loops over at least this many elements release the GIL. Releasing and taking it back costs
# about 40 ns, a sixth of a whole call on a small array, so tiny arrays keep it.
cdef Py_ssize_t _NOGIL_MIN_SIZE = 4096

# Above these sizes exp, log and tanh go to numpy: its SIMD versions beat a loop over the C
# library's scalar functions once its call overhead (about 0.25 us) is paid back. Measured
# crossovers (float32 and float64 alike, x86-64 with AVX-512): exp and log between 16 and 64
# elements, tanh between 16 and 64 (scalar tanh is slow). Sigmoid above its limit takes
# exp(-|x|) from numpy and does the rest in one C pass (4096 float32: 5 us instead of 28 us).
cdef Py_ssize_t _EXP_LOG_MAX_SIZE = 48
cdef Py_ssize_t _TANH_MAX_SIZE = 24
cdef Py_ssize_t _SIGMOID_LIBM_MAX_SIZE = 128

# Loops split across threads (minigrad.set_num_threads) only when each thread gets at least
# this many elements: starting a parallel region costs a few microseconds, and a cheap loop
# (add, relu, a copy) runs at memory speed, which a second thread helps only past the caches.
# Measured on a shared 2-core x86-64 machine, one kernel at a time, 1 thread against 2 (medians):
# add and relu_backward take 0.6-0.7x the serial time from 2^17 elements (2^16 per thread),
# 1.1x at 2^16; exp takes 0.7-0.8x from 2^13 per thread. When the other core is busy (another
# process), the second thread waits for it and the loop gets slower (1.5x at 2^20 here under
# load): on a loaded machine, minigrad.set_num_threads(1), as with PyTorch.
cdef Py_ssize_t _PARALLEL_MIN_CHEAP = 65536
cdef Py_ssize_t _PARALLEL_MIN_MATH = 8192


cdef enum BinaryOp:
    OP_ADD
    OP_SUB
    OP_MUL
    OP_DIV

cdef enum UnaryOp:
    OP_EXP
    OP_LOG
    OP_SQRT
    OP_RELU
    OP_LEAKY_RELU
    OP_SIGMOID
    OP_TANH

cdef enum BackwardOp:
    OP_RELU_BACKWARD
    OP_LEAKY_RELU_BACKWARD
    OP_SIGMOID_BACKWARD
    OP_TANH_BACKWARD


# ---------------------------------------------------------------------------------------------
# Input checks (Python layer, once per call)
# ---------------------------------------------------------------------------------------------


cdef inline cnp.ndarray _empty_like(cnp.ndarray x):
    """A new C-contiguous array of x's shape and dtype (no Python-level call); large ones come
    from the buffer pool (see _runtime.pyx), so a training step does not page-fault."""
    return <cnp.ndarray>pool_empty_like(x)


cdef inline Py_ssize_t _chunk_bound(Py_ssize_t n, int threads, int c) noexcept nogil:
    """Where the range of n items that thread c of ``threads`` handles starts (thread c + 1's:
    where it stops): equal chunks, each a multiple of 16 items (whole cache lines), the last
    one shorter.

    Written as a value, not through pointers: Cython makes a variable private to each thread
    of a prange only when the loop body assigns it, and a chunk bound that threads shared
    (set through a pointer) let one thread run its own count from another's start, past the
    end of the arrays (AddressSanitizer caught it)."""
    cdef Py_ssize_t size = (n + threads - 1) // threads
    size = (size + 15) // 16 * 16
    return n if c * size > n else c * size


# ---------------------------------------------------------------------------------------------
# Binary arithmetic: add, sub, mul, div
# ---------------------------------------------------------------------------------------------
#
# Every fast path is a (rows, cols) loop: row i of the output is op(row i of a, row i of b),
# where an operand's row is either a contiguous vector of cols elements or one element
# broadcast along the row, and each operand steps by a fixed number of elements per row:
#
#   pattern                 rows  cols  a: step, broadcast   b: step, broadcast
#   same shape              1     size  0, no                0, no
#   b size-1 (scalar)       1     size  0, no                0, yes
#   b (n,) or (1, n) row    m     n     n, no                0, no
#   b (m, 1) column         m     n     n, no                1, yes
#
# and the mirror images with a and b swapped. Each inner loop is a plain loop over contiguous
# memory that the C compiler vectorizes.


cdef inline floating _apply(BinaryOp op, floating x, floating y) noexcept nogil:
    if op == OP_ADD:
        return x + y
    elif op == OP_SUB:
        return x - y
    elif op == OP_MUL:
        return x * y
    else:
        return x / y


cdef void _vector_vector(BinaryOp op, const floating* a, const floating* b, floating* out,
                         Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t j
    # One loop per op (not a switch inside the loop) so that each one vectorizes.
    if op == OP_ADD:
        for j in range(n):
            out[j] = a[j] + b[j]
    elif op == OP_SUB:
        for j in range(n):
            out[j] = a[j] - b[j]
    elif op == OP_MUL:
        for j in range(n):
            out[j] = a[j] * b[j]
    elif floating is float:
        mg_div_vv_f32(a, b, out, n)  # the division loops have vector clones (see there)
    else:
        mg_div_vv_f64(a, b, out, n)


cdef void _vector_scalar(BinaryOp op, const floating* a, floating b, floating* out,
                         Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t j
    # Note: x / b is not replaced by x * (1 / b), which would round differently from numpy.
    if op == OP_ADD:
        for j in range(n):
            out[j] = a[j] + b
    elif op == OP_SUB:
        for j in range(n):
            out[j] = a[j] - b
    elif op == OP_MUL:
        for j in range(n):
            out[j] = a[j] * b
    elif floating is float:
        mg_div_vs_f32(a, b, out, n)
    else:
        mg_div_vs_f64(a, b, out, n)


cdef void _scalar_vector(BinaryOp op, floating a, const floating* b, floating* out,
                         Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t j
    if op == OP_ADD:
        for j in range(n):
            out[j] = a + b[j]
    elif op == OP_SUB:
        for j in range(n):
            out[j] = a - b[j]
    elif op == OP_MUL:
        for j in range(n):
            out[j] = a * b[j]
    elif floating is float:
        mg_div_sv_f32(a, b, out, n)
    else:
        mg_div_sv_f64(a, b, out, n)


cdef void _binary_kernel(BinaryOp op,
                         const floating* a, Py_ssize_t a_step, bint a_broadcast,
                         const floating* b, Py_ssize_t b_step, bint b_broadcast,
                         floating* out, Py_ssize_t rows, Py_ssize_t cols) noexcept nogil:
    """out[i, :] = op(a row i, b row i) for i < rows; see the table above."""
    cdef Py_ssize_t i
    for i in range(rows):
        if a_broadcast:
            _scalar_vector(op, a[i * a_step], b + i * b_step, out + i * cols, cols)
        elif b_broadcast:
            _vector_scalar(op, a + i * a_step, b[i * b_step], out + i * cols, cols)
        else:
            _vector_vector(op, a + i * a_step, b + i * b_step, out + i * cols, cols)


cdef void _binary_kernel_threads(BinaryOp op,
                                 const floating* a, Py_ssize_t a_step, bint a_broadcast,
                                 const floating* b, Py_ssize_t b_step, bint b_broadcast,
                                 floating* out, Py_ssize_t rows, Py_ssize_t cols) noexcept nogil:
    """_binary_kernel, split across threads when the loop is large enough (see
    _binary_parallel)."""
    cdef int threads = parallel_threads(rows * cols, _PARALLEL_MIN_CHEAP)
    if threads == 1:
        _binary_kernel(op, a, a_step, a_broadcast, b, b_step, b_broadcast, out, rows, cols)
    else:
        _binary_parallel(op, a, a_step, a_broadcast, b, b_step, b_broadcast, out, rows, cols,
                         threads)


# The parallel loops live in functions of their own, never beside the serial call: OpenMP
# shares a prange's variables through memory, and in a function where they are shared the
# compiler (under Python's -fno-strict-aliasing) reloads them after every store through a
# pointer, which keeps a serial loop inlined there from vectorizing (4x slower).
cdef void _binary_parallel(BinaryOp op,
                           const floating* a, Py_ssize_t a_step, bint a_broadcast,
                           const floating* b, Py_ssize_t b_step, bint b_broadcast,
                           floating* out, Py_ssize_t rows, Py_ssize_t cols,
                           int threads) noexcept nogil:
    """_binary_kernel on ``threads`` threads, split by rows, or by columns when there is one
    row (each element computed by the same operation as in the serial loop: equal results)."""
    cdef int c
    cdef Py_ssize_t start = 0, stop = 0
    if rows == 1:
        for c in prange(threads, num_threads=threads, schedule="static"):
            start = _chunk_bound(cols, threads, c)
            stop = _chunk_bound(cols, threads, c + 1)
            _binary_kernel(op, a if a_broadcast else a + start, 0, a_broadcast,
                           b if b_broadcast else b + start, 0, b_broadcast,
                           out + start, 1, stop - start)
        return
    if rows < threads:
        threads = <int>rows
    for c in prange(threads, num_threads=threads, schedule="static"):
        start = rows * c // threads
        stop = rows * (c + 1) // threads
        _binary_kernel(op, a + start * a_step, a_step, a_broadcast, b + start * b_step, b_step,
                       b_broadcast, out + start * cols, stop - start, cols)


cdef inline bint _is_row_of(cnp.ndarray v, cnp.ndarray m) noexcept:
    """True if v is (n,) or (1, n) and m is (rows, n): v broadcasts along m's rows."""
    cdef cnp.npy_intp* dv = cnp.PyArray_DIMS(v)
    cdef cnp.npy_intp n = cnp.PyArray_DIMS(m)[1]
    if cnp.PyArray_NDIM(v) == 1:
        return dv[0] == n
    return cnp.PyArray_NDIM(v) == 2 and dv[0] == 1 and dv[1] == n


cdef inline bint _is_column_of(cnp.ndarray v, cnp.ndarray m) noexcept:
    """True if v is (rows, 1) and m is (rows, n): v broadcasts along m's columns."""
    cdef cnp.npy_intp* dv = cnp.PyArray_DIMS(v)
    return cnp.PyArray_NDIM(v) == 2 and dv[1] == 1 and dv[0] == cnp.PyArray_DIMS(m)[0]


cdef object _with_python_number(object x, object number, BinaryOp op, bint number_first):
    """op(x, number), or op(number, x) if number_first, for a Python float or int: the number
    is converted to x's dtype first, as numpy does (NEP 50), then broadcast. None when x or
    the number does not fit the fast path (the caller then asks numpy)."""
    cdef int type_num = _fast_float_type(x)
    if type_num < 0:
        return None
    cdef cnp.ndarray X = <cnp.ndarray>x
    if cnp.PyArray_NDIM(X) == 0:
        return None
    if type(number) is int and not -(1 << 53) <= number <= (1 << 53):
        return None  # beyond 2**53 an int does not convert exactly through a double
    cdef double d = number
    if type_num == cnp.NPY_FLOAT and cmath.fabs(d) > FLT_MAX and not cmath.isinf(d):
        return None  # numpy warns about the overflow to inf; let it
    cdef double number_d = d
    cdef float number_f = <float>d
    cdef Py_ssize_t n = cnp.PyArray_SIZE(X)
    cdef cnp.ndarray out = _empty_like(X)
    cdef void* px = cnp.PyArray_DATA(X)
    cdef void* po = cnp.PyArray_DATA(out)
    if n >= _NOGIL_MIN_SIZE:
        with nogil:
            if type_num == cnp.NPY_DOUBLE:
                if number_first:
                    _binary_kernel_threads(op, &number_d, 0, True, <const double*>px, 0, False,
                                           <double*>po, 1, n)
                else:
                    _binary_kernel_threads(op, <const double*>px, 0, False, &number_d, 0, True,
                                           <double*>po, 1, n)
            else:
                if number_first:
                    _binary_kernel_threads(op, &number_f, 0, True, <const float*>px, 0, False,
                                           <float*>po, 1, n)
                else:
                    _binary_kernel_threads(op, <const float*>px, 0, False, &number_f, 0, True,
                                           <float*>po, 1, n)
    elif type_num == cnp.NPY_DOUBLE:
        if number_first:
            _binary_kernel(op, &number_d, 0, True, <const double*>px, 0, False,
                           <double*>po, 1, n)
        else:
            _binary_kernel(op, <const double*>px, 0, False, &number_d, 0, True,
                           <double*>po, 1, n)
    else:
        if number_first:
            _binary_kernel(op, &number_f, 0, True, <const float*>px, 0, False,
                           <float*>po, 1, n)
        else:
            _binary_kernel(op, <const float*>px, 0, False, &number_f, 0, True,
                           <float*>po, 1, n)
    return out


cdef object _binary(object a, object b, BinaryOp op):
    """op(a, b) on a fast path, or None when a and b fit none (the caller then asks numpy)."""
    cdef object kind = type(b)
    if kind is float or kind is int:
        return _with_python_number(a, b, op, False)
    kind = type(a)
    if kind is float or kind is int:
        return _with_python_number(b, a, op, True)
    cdef int type_num = _fast_float_type(a)
    if type_num < 0 or _fast_float_type(b) != type_num:
        return None
    cdef cnp.ndarray A = <cnp.ndarray>a
    cdef cnp.ndarray B = <cnp.ndarray>b
    cdef int ndim_a = cnp.PyArray_NDIM(A)
    cdef int ndim_b = cnp.PyArray_NDIM(B)
    cdef Py_ssize_t size_a = cnp.PyArray_SIZE(A)
    cdef Py_ssize_t size_b = cnp.PyArray_SIZE(B)
    cdef Py_ssize_t rows = 1, cols, a_step = 0, b_step = 0
    cdef bint a_broadcast = False, b_broadcast = False
    cdef cnp.ndarray out_shape_of

    if ndim_a == 0 and ndim_b == 0:
        return None  # numpy returns a scalar here, not an array
    if _same_shape(A, B):
        out_shape_of, cols = A, size_a
    elif size_b == 1 and ndim_b <= ndim_a:
        out_shape_of, cols, b_broadcast = A, size_a, True
    elif size_a == 1 and ndim_a <= ndim_b:
        out_shape_of, cols, a_broadcast = B, size_b, True
    elif ndim_a == 2 and _is_row_of(B, A):
        out_shape_of, rows, cols = A, cnp.PyArray_DIMS(A)[0], cnp.PyArray_DIMS(A)[1]
        a_step = cols
    elif ndim_b == 2 and _is_row_of(A, B):
        out_shape_of, rows, cols = B, cnp.PyArray_DIMS(B)[0], cnp.PyArray_DIMS(B)[1]
        b_step = cols
    elif ndim_a == 2 and _is_column_of(B, A):
        out_shape_of, rows, cols = A, cnp.PyArray_DIMS(A)[0], cnp.PyArray_DIMS(A)[1]
        a_step, b_step, b_broadcast = cols, 1, True
    elif ndim_b == 2 and _is_column_of(A, B):
        out_shape_of, rows, cols = B, cnp.PyArray_DIMS(B)[0], cnp.PyArray_DIMS(B)[1]
        a_step, b_step, a_broadcast = 1, cols, True
    else:
        return None

    cdef cnp.ndarray out = _empty_like(out_shape_of)
    cdef void* pa = cnp.PyArray_DATA(A)
    cdef void* pb = cnp.PyArray_DATA(B)
    cdef void* po = cnp.PyArray_DATA(out)
    if type_num == cnp.NPY_DOUBLE:
        if rows * cols >= _NOGIL_MIN_SIZE:
            with nogil:
                _binary_kernel_threads(op, <const double*>pa, a_step, a_broadcast,
                                       <const double*>pb, b_step, b_broadcast,
                                       <double*>po, rows, cols)
        else:
            _binary_kernel(op, <const double*>pa, a_step, a_broadcast,
                           <const double*>pb, b_step, b_broadcast, <double*>po, rows, cols)
    else:
        if rows * cols >= _NOGIL_MIN_SIZE:
            with nogil:
                _binary_kernel_threads(op, <const float*>pa, a_step, a_broadcast,
                                       <const float*>pb, b_step, b_broadcast,
                                       <float*>po, rows, cols)
        else:
            _binary_kernel(op, <const float*>pa, a_step, a_broadcast,
                           <const float*>pb, b_step, b_broadcast, <float*>po, rows, cols)
    return out


def add(a, b):
    """a + b with numpy broadcasting."""
    out = _binary(a, b, OP_ADD)
    return np.add(a, b) if out is None else out


def sub(a, b):
    """a - b with numpy broadcasting."""
    out = _binary(a, b, OP_SUB)
    return np.subtract(a, b) if out is None else out


def mul(a, b):
    """a * b with numpy broadcasting."""
    out = _binary(a, b, OP_MUL)
    return np.multiply(a, b) if out is None else out


def div(a, b):
    """a / b (true division) with numpy broadcasting."""
    out = _binary(a, b, OP_DIV)
    return np.true_divide(a, b) if out is None else out


# ---------------------------------------------------------------------------------------------
# Unary math and activations
# ---------------------------------------------------------------------------------------------


cdef inline floating _exp(floating x) noexcept nogil:
    if floating is float:
        return cmath.expf(x)
    else:
        return cmath.exp(x)


cdef inline floating _sigmoid(floating x) noexcept nogil:
    """1 / (1 + exp(-x)), through e = exp(-|x|) <= 1 so that nothing overflows:
    x >= 0: 1 / (1 + e);  x < 0: e / (1 + e) (the same value, multiplied through by e).
    NaN gives NaN (exp(NaN) is NaN)."""
    cdef floating e
    if floating is float:
        e = cmath.expf(-cmath.fabsf(x))
    else:
        e = cmath.exp(-cmath.fabs(x))
    if x >= 0:
        return 1 / (1 + e)
    return e / (1 + e)


cdef void _unary_kernel(UnaryOp op, const floating* x, floating* out, Py_ssize_t n,
                        floating slope) noexcept nogil:
    cdef Py_ssize_t i
    cdef floating v, y
    if op == OP_EXP:
        for i in range(n):
            out[i] = _exp(x[i])
    elif op == OP_LOG:
        for i in range(n):
            if floating is float:
                out[i] = cmath.logf(x[i])
            else:
                out[i] = cmath.log(x[i])
    elif op == OP_SQRT:
        for i in range(n):
            if floating is float:
                out[i] = cmath.sqrtf(x[i])
            else:
                out[i] = cmath.sqrt(x[i])
    elif op == OP_TANH:
        for i in range(n):
            if floating is float:
                out[i] = cmath.tanhf(x[i])
            else:
                out[i] = cmath.tanh(x[i])
    elif op == OP_RELU:
        for i in range(n):
            v = x[i]
            out[i] = 0 if v <= 0 else v  # NaN <= 0 is false: NaN stays NaN, as in torch
    elif op == OP_LEAKY_RELU:
        for i in range(n):
            v = x[i]
            y = v * slope  # computed on both sides of the select (see _sigmoid_from_exp)
            out[i] = v if v > 0 else y
    elif op == OP_SIGMOID:
        for i in range(n):
            out[i] = _sigmoid(x[i])


cdef void _unary_kernel_threads(UnaryOp op, const floating* x, floating* out, Py_ssize_t n,
                                floating slope) noexcept nogil:
    """_unary_kernel, split across threads when the loop is large enough."""
    cdef Py_ssize_t per_thread = _PARALLEL_MIN_CHEAP if (
        op == OP_RELU or op == OP_LEAKY_RELU or op == OP_SQRT) else _PARALLEL_MIN_MATH
    cdef int threads = parallel_threads(n, per_thread)
    if threads == 1:
        _unary_kernel(op, x, out, n, slope)
    else:
        _unary_parallel(op, x, out, n, slope, threads)


cdef void _unary_parallel(UnaryOp op, const floating* x, floating* out, Py_ssize_t n,
                          floating slope, int threads) noexcept nogil:
    """_unary_kernel on ``threads`` threads (elementwise: equal results)."""
    cdef int c
    cdef Py_ssize_t start = 0, stop = 0
    for c in prange(threads, num_threads=threads, schedule="static"):
        start = _chunk_bound(n, threads, c)
        stop = _chunk_bound(n, threads, c + 1)
        _unary_kernel(op, x + start, out + start, stop - start, slope)


cdef void _sigmoid_from_exp(const floating* x, floating* e, Py_ssize_t n) noexcept nogil:
    """Turn e = exp(-|x|) into sigmoid(x) in place (the two branches of _sigmoid)."""
    cdef Py_ssize_t i
    cdef floating numerator, ei
    for i in range(n):
        # A select, then one division: branch-free, so the loop vectorizes. Both sides of
        # the select are loaded first: a load (or a floating-point operation, under the
        # default -ftrapping-math) inside one branch only is not moved out of it, and the
        # loop would stay branchy and scalar.
        ei = e[i]
        numerator = 1 if x[i] >= 0 else ei
        e[i] = numerator / (1 + ei)


cdef object _sigmoid_large(cnp.ndarray x, Py_ssize_t n, int type_num):
    """sigmoid(x) for a large C-contiguous float x: numpy's SIMD exp, then one C pass."""
    cdef cnp.ndarray out = np.abs(x)
    np.negative(out, out=out)
    np.exp(out, out=out)
    cdef void* px = cnp.PyArray_DATA(x)
    cdef void* po = cnp.PyArray_DATA(out)
    with nogil:
        if type_num == cnp.NPY_DOUBLE:
            _sigmoid_from_exp(<const double*>px, <double*>po, n)
        else:
            _sigmoid_from_exp(<const float*>px, <float*>po, n)
    return out


cdef object _unary(object x, UnaryOp op, double slope=0.0):
    """op(x) on the fast path, or None when x does not fit it."""
    cdef int type_num = _fast_float_type(x)
    if type_num < 0:
        return None
    cdef cnp.ndarray X = <cnp.ndarray>x
    if cnp.PyArray_NDIM(X) == 0:
        return None
    cdef Py_ssize_t n = cnp.PyArray_SIZE(X)
    if (op == OP_EXP or op == OP_LOG) and n > _EXP_LOG_MAX_SIZE:
        return None
    if op == OP_TANH and n > _TANH_MAX_SIZE:
        return None
    if op == OP_SIGMOID and n > _SIGMOID_LIBM_MAX_SIZE:
        return _sigmoid_large(X, n, type_num)
    cdef cnp.ndarray out = _empty_like(X)
    cdef void* px = cnp.PyArray_DATA(X)
    cdef void* po = cnp.PyArray_DATA(out)
    if type_num == cnp.NPY_DOUBLE:
        if n >= _NOGIL_MIN_SIZE:
            with nogil:
                _unary_kernel_threads(op, <const double*>px, <double*>po, n, <double>slope)
        else:
            _unary_kernel(op, <const double*>px, <double*>po, n, <double>slope)
    else:
        # The slope is rounded to float32 first, as numpy does with a Python float operand.
        if n >= _NOGIL_MIN_SIZE:
            with nogil:
                _unary_kernel_threads(op, <const float*>px, <float*>po, n, <float>slope)
        else:
            _unary_kernel(op, <const float*>px, <float*>po, n, <float>slope)
    return out


def exp(x):
    """e**x elementwise (glibc's vector exp where there is one: faster than numpy's at any
    size; else a C loop for small arrays and numpy's SIMD version for large ones)."""
    out = _math_loop(x, mg_exp_f32, mg_exp_f64) if MG_VECTOR_MATH else _unary(x, OP_EXP)
    return np.exp(x) if out is None else out


def log(x):
    """Natural logarithm elementwise (log(0) = -inf, log(x < 0) = NaN)."""
    out = _math_loop(x, mg_log_f32, mg_log_f64) if MG_VECTOR_MATH else _unary(x, OP_LOG)
    return np.log(x) if out is None else out


def sqrt(x):
    """Square root elementwise (sqrt(x < 0) = NaN)."""
    out = _unary(x, OP_SQRT)
    return np.sqrt(x) if out is None else out


def tanh(x):
    """Hyperbolic tangent elementwise."""
    out = _math_loop(x, mg_tanh_f32, mg_tanh_f64) if MG_VECTOR_MATH else _unary(x, OP_TANH)
    return np.tanh(x) if out is None else out


def relu(x):
    """relu(x) = max(x, 0); NaN stays NaN."""
    out = _unary(x, OP_RELU)
    return _reference.relu(x) if out is None else out


def leaky_relu(x, negative_slope):
    """x for x > 0, negative_slope * x otherwise."""
    out = _unary(x, OP_LEAKY_RELU, negative_slope)
    return _reference.leaky_relu(x, negative_slope) if out is None else out


def sigmoid(x):
    """sigmoid(x) = 1 / (1 + exp(-x)), without overflow for either sign of x."""
    if MG_VECTOR_MATH:
        out = _math_loop(x, mg_sigmoid_f32, mg_sigmoid_f64)
    else:
        out = _unary(x, OP_SIGMOID)
    return _reference.sigmoid(x) if out is None else out


# ---------------------------------------------------------------------------------------------
# More unary math: the C library's functions in a loop the compiler vectorizes
# ---------------------------------------------------------------------------------------------
#
# glibc (2.35 and later) ships vector versions of its math functions (libmvec: 4 or 8 floats per
# call with SSE or AVX2, 16 with AVX-512, within 4 ulp). A loop calls them when the scalar
# function is declared ``simd``; ``target_clones`` compiles each loop three times, for AVX-512,
# AVX2 and the x86-64 baseline, and picks one at load time from the CPU, so the build stays
# portable (no -march=native).
# Elsewhere (other C libraries or compilers) the same loops call the scalar functions.
#
# erfinv has no C library function: Giles' approximation refined by two Halley steps, as in
# reference.py, written branch-free (both polynomials, then a select) so that it vectorizes too.

cdef extern from *:
    """
    #include <math.h>
    #include <stdint.h>
    #include <string.h>
    #if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && \
        defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 35))
    #define MG_VECTOR_MATH 1
    #define MG_SIMD __attribute__((simd("notinbranch")))
    #define MG_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
    #define MG_DECLARE(name) MG_SIMD float name##f(float); MG_SIMD double name(double);
    MG_DECLARE(sin) MG_DECLARE(cos) MG_DECLARE(tan) MG_DECLARE(asin) MG_DECLARE(acos)
    MG_DECLARE(atan) MG_DECLARE(sinh) MG_DECLARE(cosh) MG_DECLARE(tanh) MG_DECLARE(asinh)
    MG_DECLARE(acosh) MG_DECLARE(atanh) MG_DECLARE(exp) MG_DECLARE(exp2) MG_DECLARE(expm1)
    MG_DECLARE(log) MG_DECLARE(log2) MG_DECLARE(log10) MG_DECLARE(log1p) MG_DECLARE(erf)
    MG_DECLARE(erfc)
    MG_SIMD float atan2f(float, float); MG_SIMD double atan2(double, double);
    MG_SIMD float hypotf(float, float); MG_SIMD double hypot(double, double);
    MG_SIMD float powf(float, float); MG_SIMD double pow(double, double);
    #else
    #define MG_VECTOR_MATH 0
    #define MG_CLONES
    #endif

    /* The division loops of div (add, sub and mul keep the Cython loops above, in
       _vector_vector and its siblings): division is the one arithmetic operation bound by the
       vector width rather than by memory (the x86-64 baseline divides 4 floats at a time,
       AVX2 8), so it gets the clones. The same IEEE division at any width: numpy's results
       to the bit. */
    #define MG_DIVISION(T, suffix) \
    MG_CLONES void mg_div_vv_##suffix(const T* a, const T* b, T* y, Py_ssize_t n) { \
        for (Py_ssize_t i = 0; i < n; i++) y[i] = a[i] / b[i]; } \
    MG_CLONES void mg_div_vs_##suffix(const T* a, T b, T* y, Py_ssize_t n) { \
        for (Py_ssize_t i = 0; i < n; i++) y[i] = a[i] / b; } \
    MG_CLONES void mg_div_sv_##suffix(T a, const T* b, T* y, Py_ssize_t n) { \
        for (Py_ssize_t i = 0; i < n; i++) y[i] = a / b[i]; }
    MG_DIVISION(float, f32) MG_DIVISION(double, f64)

    #define MG_UNARY(name, f32, f64) \
    MG_CLONES void mg_##name##_f32(const float* x, float* y, Py_ssize_t n) { \
        for (Py_ssize_t i = 0; i < n; i++) y[i] = f32(x[i]); } \
    MG_CLONES void mg_##name##_f64(const double* x, double* y, Py_ssize_t n) { \
        for (Py_ssize_t i = 0; i < n; i++) y[i] = f64(x[i]); }

    MG_UNARY(sin, sinf, sin) MG_UNARY(cos, cosf, cos) MG_UNARY(tan, tanf, tan)
    MG_UNARY(asin, asinf, asin) MG_UNARY(acos, acosf, acos) MG_UNARY(atan, atanf, atan)
    MG_UNARY(sinh, sinhf, sinh) MG_UNARY(cosh, coshf, cosh) MG_UNARY(tanh, tanhf, tanh)
    MG_UNARY(asinh, asinhf, asinh) MG_UNARY(acosh, acoshf, acosh)
    MG_UNARY(exp, expf, exp) MG_UNARY(exp2, exp2f, exp2)
    MG_UNARY(expm1, expm1f, expm1) MG_UNARY(log, logf, log) MG_UNARY(log2, log2f, log2)
    MG_UNARY(log10, log10f, log10) MG_UNARY(log1p, log1pf, log1p)
    MG_UNARY(erf, erff, erf) MG_UNARY(erfc, erfcf, erfc)

    /* erfinv on a block of at most MG_BLOCK doubles, in passes (each a simple loop that
       vectorizes well; one loop doing everything spills registers and runs ~1.5x slower):
       Giles' single-precision polynomial in w = -log(1 - a^2), then refinement as in
       reference.py: Halley on erf(z) = a below a = 0.5, Newton on log erfc(z) = log(1 - a)
       above (accurate, and fast to converge in the far tail). float32 needs no refinement:
       the polynomial is accurate to a few float32 ulps (as PyTorch's float32 erfinv). */
    #define MG_BLOCK 256
    static inline __attribute__((always_inline))
    void mg_erfinv_block(const double* v, double* z, Py_ssize_t m) {
        for (Py_ssize_t i = 0; i < m; i++) {
            double a = fabs(v[i]);
            double w = -log((1.0 - a) * (1.0 + a));
            double c = w - 2.5, t = sqrt(w) - 3.0;
            double pc = 2.81022636e-08, pt = -0.000200214257;
            pc = 3.43273939e-07 + pc * c;   pt = 0.000100950558 + pt * t;
            pc = -3.5233877e-06 + pc * c;   pt = 0.00134934322 + pt * t;
            pc = -4.39150654e-06 + pc * c;  pt = -0.00367342844 + pt * t;
            pc = 0.00021858087 + pc * c;    pt = 0.00573950773 + pt * t;
            pc = -0.00125372503 + pc * c;   pt = -0.0076224613 + pt * t;
            pc = -0.00417768164 + pc * c;   pt = 0.00943887047 + pt * t;
            pc = 0.246640727 + pc * c;      pt = 1.00167406 + pt * t;
            pc = 1.50140941 + pc * c;       pt = 2.83297682 + pt * t;
            z[i] = a * (w < 5.0 ? pc : pt);
        }
        for (int step = 0; step < 4; step++) {
            for (Py_ssize_t i = 0; i < m; i++) {
                double a = fabs(v[i]), zi = z[i];
                double gauss = 1.1283791670955126 * exp(-zi * zi);
                double r = (erf(zi) - a) / gauss;
                double near = zi - r / (1.0 + zi * r);
                double tail = erfc(zi);
                double far = zi + (log(tail) - log(1.0 - a)) * tail / gauss;
                z[i] = a < 0.5 ? near : far;
            }
        }
        for (Py_ssize_t i = 0; i < m; i++) {
            double a = fabs(v[i]);
            double edge = a == 1.0 ? INFINITY : NAN;
            z[i] = copysign(a < 1.0 ? z[i] : edge, v[i]);
        }
    }
    MG_CLONES void mg_erfinv_f32(const float* x, float* y, Py_ssize_t n) {
        for (Py_ssize_t i = 0; i < n; i++) {
            float a = fabsf(x[i]);
            float w = -logf((1.0f - a) * (1.0f + a));
            float c = w - 2.5f, t = sqrtf(w) - 3.0f;
            float pc = 2.81022636e-08f, pt = -0.000200214257f;
            pc = 3.43273939e-07f + pc * c;   pt = 0.000100950558f + pt * t;
            pc = -3.5233877e-06f + pc * c;   pt = 0.00134934322f + pt * t;
            pc = -4.39150654e-06f + pc * c;  pt = -0.00367342844f + pt * t;
            pc = 0.00021858087f + pc * c;    pt = 0.00573950773f + pt * t;
            pc = -0.00125372503f + pc * c;   pt = -0.0076224613f + pt * t;
            pc = -0.00417768164f + pc * c;   pt = 0.00943887047f + pt * t;
            pc = 0.246640727f + pc * c;      pt = 1.00167406f + pt * t;
            pc = 1.50140941f + pc * c;       pt = 2.83297682f + pt * t;
            float z = a * (w < 5.0f ? pc : pt);
            float edge = a == 1.0f ? INFINITY : NAN;
            y[i] = copysignf(a < 1.0f ? z : edge, x[i]);
        }
    }
    MG_CLONES void mg_erfinv_f64(const double* x, double* y, Py_ssize_t n) {
        for (Py_ssize_t s = 0; s < n; s += MG_BLOCK) {
            Py_ssize_t m = n - s < MG_BLOCK ? n - s : MG_BLOCK;
            mg_erfinv_block(x + s, y + s, m);
        }
    }

    /* Elementwise functions of our own, written as selects so that they vectorize. Each
       body is written once for T = float and T = double; MG_F picks the C library function of
       T's precision (the test is on a constant and compiles away). */
    #define MG_F(fn, x) (sizeof(T) == 4 ? fn##f(x) : fn(x))
    #define MG_F2(fn, x, y) (sizeof(T) == 4 ? fn##f(x, y) : fn(x, y))
    #define MG_TWIN(name, body) \
    static inline float name##_f(float x) { typedef float T; body } \
    static inline double name##_d(double x) { typedef double T; body }
    MG_TWIN(mg_sign1, return (T)((x > 0) - (x < 0));)   /* NaN -> 0, as PyTorch */
    MG_TWIN(mg_rsqrt1, return (T)1 / MG_F(sqrt, x);)
    MG_TWIN(mg_logit1, return MG_F(log, x / ((T)1 - x));)
    MG_TWIN(mg_frac1, return x - MG_F(trunc, x);)
    /* atanh(x) = log1p(2a / (1 - a)) / 2 with a = |x| and x's sign: the vector log1p and a
       division, 1.2-1.3x faster than glibc's vector atanhf (AVX2). Taking |x| keeps
       1 + 2a / (1 - a) clear of cancellation near x = -1; a = 1 gives inf, a > 1 and NaN
       give NaN. */
    MG_TWIN(mg_atanh1, T a = MG_F(fabs, x);
            return MG_F2(copysign, (T)0.5 * MG_F(log1p, (T)2 * a / ((T)1 - a)), x);)
    static inline float mg_sigmoid1_f(float x) {
        float e = expf(-fabsf(x)), num = x >= 0 ? 1.0f : e; return num / (1.0f + e); }
    static inline double mg_sigmoid1_d(double x) {
        double e = exp(-fabs(x)), num = x >= 0 ? 1.0 : e; return num / (1.0 + e); }
    MG_UNARY(sign, mg_sign1_f, mg_sign1_d) MG_UNARY(rsqrt, mg_rsqrt1_f, mg_rsqrt1_d)
    MG_UNARY(logit, mg_logit1_f, mg_logit1_d) MG_UNARY(sigmoid, mg_sigmoid1_f, mg_sigmoid1_d)
    MG_UNARY(frac, mg_frac1_f, mg_frac1_d) MG_UNARY(atanh, mg_atanh1_f, mg_atanh1_d)

    /* logical and, or, xor of two arrays of one float dtype: nonzero (NaN too) is true */
    #define MG_LOGICAL(name, op) \
    MG_CLONES void mg_##name##_f32(const float* a, const float* b, unsigned char* y, \
                                   Py_ssize_t n) { \
        for (Py_ssize_t i = 0; i < n; i++) y[i] = (a[i] != 0) op (b[i] != 0); } \
    MG_CLONES void mg_##name##_f64(const double* a, const double* b, unsigned char* y, \
                                   Py_ssize_t n) { \
        for (Py_ssize_t i = 0; i < n; i++) y[i] = (a[i] != 0) op (b[i] != 0); }
    MG_LOGICAL(logical_and, &) MG_LOGICAL(logical_or, |) MG_LOGICAL(logical_xor, ^)

    /* Binary loops: b is an array of n elements (b_step 1) or one value (b_step 0). */
    #define MG_BINARY(name, f32, f64) \
    MG_CLONES void mg_##name##_f32(const float* a, const float* b, float* y, Py_ssize_t n, \
                                   int b_step) { \
        if (b_step) { for (Py_ssize_t i = 0; i < n; i++) y[i] = f32(a[i], b[i]); } \
        else { float s = b[0]; for (Py_ssize_t i = 0; i < n; i++) y[i] = f32(a[i], s); } } \
    MG_CLONES void mg_##name##_f64(const double* a, const double* b, double* y, Py_ssize_t n, \
                                   int b_step) { \
        if (b_step) { for (Py_ssize_t i = 0; i < n; i++) y[i] = f64(a[i], b[i]); } \
        else { double s = b[0]; for (Py_ssize_t i = 0; i < n; i++) y[i] = f64(a[i], s); } }

    #define MG_TWIN2(name, body) \
    static inline float name##_f(float a, float b) { typedef float T; body } \
    static inline double name##_d(double a, double b) { typedef double T; body }
    /* log(e^a + e^b) = max + log1p(exp(-|a - b|)); equal infinities are themselves */
    MG_TWIN2(mg_logaddexp1, T m = a > b ? a : b;
             T r = m + MG_F(log1p, MG_F(exp, -MG_F(fabs, a - b)));
             return (isinf(a) && a == b) ? a : r;)
    MG_TWIN2(mg_logaddexp21, T m = a > b ? a : b;
             T r = m + MG_F(log1p, MG_F(exp2, -MG_F(fabs, a - b))) * (T)1.4426950408889634;
             return (isinf(a) && a == b) ? a : r;)
    /* fmod, remainder and floor division. C's fmod is exact but scalar (no vector version);
       for float32 it is computed exactly in double instead: with q = trunc(a / b) in double,
       a - q b is exact while |q| < 2**29 (24 + 29 bits), and q can only overshoot by one
       (a / b is correctly rounded), which leaves a remainder of the wrong sign to correct.
       Other elements (|q| >= 2**29, inf, NaN, b == 0) go through fmodf in a second pass. */
    static inline float mg_fmod_fast(float a, float b) {
        double q = trunc((double)a / (double)b), r = (double)a - q * (double)b;
        r = ((r != 0) & ((r < 0) != (a < 0))) ? r + copysign((double)b, (double)a) : r;
        return r == 0 ? copysignf(0.0f, a) : (float)r; }
    static inline int mg_fmod_slow(float a, float b) {
        return !(fabsf(a) < 536870912.0f * fabsf(b)) | !isfinite(b); }
    static inline float mg_remainder_of(float m, float b) {
        return ((m != 0) & ((b < 0) != (m < 0))) ? m + b : m; }
    static inline float mg_floor_divide_of(float a, float b, float m) {
        /* Python's float //, as numpy and PyTorch compute it, from m = fmod(a, b) */
        float d = (a - m) / b;
        d = ((m != 0) & ((b < 0) != (m < 0))) ? d - 1.0f : d;
        float f = floorf(d);
        f = d - f > 0.5f ? f + 1.0f : f;
        f = d == 0 ? copysignf(0.0f, a / b) : f;
        return b == 0 ? a / b : f; }
    #define MG_FMOD_LOOPS(bi_value, expr) \
        int any_slow = 0; \
        for (Py_ssize_t i = 0; i < n; i++) { \
            float ai = a[i], bi = bi_value, m = mg_fmod_fast(ai, bi); y[i] = expr; \
            any_slow |= mg_fmod_slow(ai, bi); } \
        if (any_slow) { \
            for (Py_ssize_t i = 0; i < n; i++) { \
                float ai = a[i], bi = bi_value; \
                if (mg_fmod_slow(ai, bi)) { float m = fmodf(ai, bi); y[i] = expr; } } }
    #define MG_FMOD_FAMILY(name, expr) \
    MG_CLONES void mg_##name##_f32(const float* a, const float* b, float* y, Py_ssize_t n, \
                                   int b_step) { \
        if (b_step) { MG_FMOD_LOOPS(b[i], expr) } \
        else { const float b0 = b[0]; MG_FMOD_LOOPS(b0, expr) } }
    MG_FMOD_FAMILY(fmod, m) MG_FMOD_FAMILY(remainder, mg_remainder_of(m, bi))
    MG_FMOD_FAMILY(floor_divide, mg_floor_divide_of(ai, bi, m))
    /* float64: the C library's fmod, element by element */
    MG_TWIN2(mg_fmod1, return fmod(a, b);)
    MG_TWIN2(mg_remainder1, T m = fmod(a, b);
             return (m != 0 && ((b < 0) != (m < 0))) ? m + b : m;)
    MG_TWIN2(mg_floor_divide1,
             if (b == 0) return a / b;
             T m = fmod(a, b); T d = (a - m) / b;
             if (m != 0 && ((b < 0) != (m < 0))) d -= 1;
             if (d == 0) return copysign((T)0, a / b);
             T f = floor(d); if (d - f > (T)0.5) f += 1; return f;)
    #define MG_BINARY64(name, f64) \
    MG_CLONES void mg_##name##_f64(const double* a, const double* b, double* y, Py_ssize_t n, \
                                   int b_step) { \
        if (b_step) { for (Py_ssize_t i = 0; i < n; i++) y[i] = f64(a[i], b[i]); } \
        else { const double b0 = b[0]; for (Py_ssize_t i = 0; i < n; i++) y[i] = f64(a[i], b0); } }
    /* the gradient of logit: g / (x (1 - x)), NaN (eps < 0: none) or 0 outside the range */
    MG_CLONES void mg_logit_backward_f32(const float* x, const float* g, float* y, Py_ssize_t n,
                                         float eps) {
        float lo = eps < 0 ? 0.0f : eps, hi = eps < 0 ? 1.0f : 1.0f - eps;
        float fill = eps < 0 ? NAN : 0.0f;
        for (Py_ssize_t i = 0; i < n; i++) {
            float v = x[i], s = g[i] / (v * (1.0f - v));
            y[i] = (v < lo) | (v > hi) ? fill : s; } }
    MG_CLONES void mg_logit_backward_f64(const double* x, const double* g, double* y,
                                         Py_ssize_t n, double eps) {
        double lo = eps < 0 ? 0.0 : eps, hi = eps < 0 ? 1.0 : 1.0 - eps;
        double fill = eps < 0 ? NAN : 0.0;
        for (Py_ssize_t i = 0; i < n; i++) {
            double v = x[i], s = g[i] / (v * (1.0 - v));
            y[i] = (v < lo) | (v > hi) ? fill : s; } }
    /* round to d decimals as PyTorch: rint(x * 10^d) / 10^d, or rint(x / 10^-d) * 10^-d */
    MG_CLONES void mg_round_decimals_f32(const float* x, float* y, Py_ssize_t n, float scale,
                                         int negative) {
        if (negative) { for (Py_ssize_t i = 0; i < n; i++) y[i] = rintf(x[i] / scale) * scale; }
        else { for (Py_ssize_t i = 0; i < n; i++) y[i] = rintf(x[i] * scale) / scale; } }
    MG_CLONES void mg_round_decimals_f64(const double* x, double* y, Py_ssize_t n,
                                         double scale, int negative) {
        if (negative) { for (Py_ssize_t i = 0; i < n; i++) y[i] = rint(x[i] / scale) * scale; }
        else { for (Py_ssize_t i = 0; i < n; i++) y[i] = rint(x[i] * scale) / scale; } }
    /* clamp with number bounds (NaN stays NaN, as PyTorch) */
    MG_CLONES void mg_clamp_f32(const float* x, float* y, Py_ssize_t n, float lo, float hi) {
        for (Py_ssize_t i = 0; i < n; i++) {
            float v = x[i], c = v < lo ? lo : v; c = c > hi ? hi : c; y[i] = v != v ? v : c; } }
    MG_CLONES void mg_clamp_f64(const double* x, double* y, Py_ssize_t n, double lo,
                                double hi) {
        for (Py_ssize_t i = 0; i < n; i++) {
            double v = x[i], c = v < lo ? lo : v; c = c > hi ? hi : c; y[i] = v != v ? v : c; } }
    MG_BINARY(atan2, atan2f, atan2) MG_BINARY(hypot, hypotf, hypot) MG_BINARY(pow, powf, pow)
    MG_BINARY(copysign, copysignf, copysign)
    MG_BINARY(logaddexp, mg_logaddexp1_f, mg_logaddexp1_d)
    MG_BINARY(logaddexp2, mg_logaddexp21_f, mg_logaddexp21_d)
    MG_BINARY64(fmod, mg_fmod1_d) MG_BINARY64(remainder, mg_remainder1_d)
    MG_BINARY64(floor_divide, mg_floor_divide1_d)

    /* lerp with a tensor weight, PyTorch's two forms; nan_to_num */
    /* (the two forms are chosen by a bit mask, not "?:": GCC sinks each form into its arm
       of a ternary and then, as a float operation may trap, will not vectorize the loop) */
    #define MG_LERP_TENSOR(NAME, T, U, ONE, ABS)                                              \
        MG_CLONES void NAME(const T* a, const T* b, const T* w, T* y, Py_ssize_t n) {         \
            for (Py_ssize_t i = 0; i < n; i++) {                                              \
                T ai = a[i], bi = b[i], wi = w[i];                                            \
                T d = bi - ai, lo = ai + wi * d, hi = bi - d * (ONE - wi);                    \
                U lo_bits, hi_bits, pick = -(U)(ABS(wi) < (T)0.5), out;                      \
                memcpy(&lo_bits, &lo, sizeof(T)); memcpy(&hi_bits, &hi, sizeof(T));           \
                out = (lo_bits & pick) | (hi_bits & ~pick);                                   \
                memcpy(y + i, &out, sizeof(T)); } }
    MG_LERP_TENSOR(mg_lerp_f32, float, uint32_t, 1.0f, fabsf)
    MG_LERP_TENSOR(mg_lerp_f64, double, uint64_t, 1.0, fabs)
    MG_CLONES void mg_lerp_scalar_f32(const float* a, const float* b, float w, float* y,
                                      Py_ssize_t n) {
        if (fabsf(w) < 0.5f) { for (Py_ssize_t i = 0; i < n; i++) y[i] = a[i] + w * (b[i] - a[i]); }
        else { for (Py_ssize_t i = 0; i < n; i++) y[i] = b[i] - (b[i] - a[i]) * (1.0f - w); } }
    MG_CLONES void mg_lerp_scalar_f64(const double* a, const double* b, double w, double* y,
                                      Py_ssize_t n) {
        if (fabs(w) < 0.5) { for (Py_ssize_t i = 0; i < n; i++) y[i] = a[i] + w * (b[i] - a[i]); }
        else { for (Py_ssize_t i = 0; i < n; i++) y[i] = b[i] - (b[i] - a[i]) * (1.0 - w); } }
    MG_CLONES void mg_nan_to_num_f32(const float* x, float* y, Py_ssize_t n, float nan_,
                                     float posinf, float neginf) {
        for (Py_ssize_t i = 0; i < n; i++) {
            float v = x[i], inf = v > 0 ? posinf : neginf;
            y[i] = v != v ? nan_ : (isinf(v) ? inf : v); } }
    MG_CLONES void mg_nan_to_num_f64(const double* x, double* y, Py_ssize_t n, double nan_,
                                     double posinf, double neginf) {
        for (Py_ssize_t i = 0; i < n; i++) {
            double v = x[i], inf = v > 0 ? posinf : neginf;
            y[i] = v != v ? nan_ : (isinf(v) ? inf : v); } }
    """
    int MG_VECTOR_MATH
    void mg_div_vv_f32(const float*, const float*, float*, Py_ssize_t) noexcept nogil
    void mg_div_vv_f64(const double*, const double*, double*, Py_ssize_t) noexcept nogil
    void mg_div_vs_f32(const float*, float, float*, Py_ssize_t) noexcept nogil
    void mg_div_vs_f64(const double*, double, double*, Py_ssize_t) noexcept nogil
    void mg_div_sv_f32(float, const float*, float*, Py_ssize_t) noexcept nogil
    void mg_div_sv_f64(double, const double*, double*, Py_ssize_t) noexcept nogil
    void mg_sin_f32(const float*, float*, Py_ssize_t) noexcept nogil
    void mg_sin_f64(const double*, double*, Py_ssize_t) noexcept nogil
    void mg_cos_f32(const float*, float*, Py_ssize_t) noexcept nogil
    void mg_cos_f64(const double*, double*, Py_ssize_t) noexcept nogil
    void mg_tan_f32(const float*, float*, Py_ssize_t) noexcept nogil
    void mg_tan_f64(const double*, double*, Py_ssize_t) noexcept nogil
    void mg_asin_f32(const float*, float*, Py_ssize_t) noexcept nogil
    void mg_asin_f64(const double*, double*, Py_ssize_t) noexcept nogil
    void mg_acos_f32(const float*, float*, Py_ssize_t) noexcept nogil
    void mg_acos_f64(const double*, double*, Py_ssize_t) noexcept nogil
    void mg_atan_f32(const float*, float*, Py_ssize_t) noexcept nogil
    void mg_atan_f64(const double*, double*, Py_ssize_t) noexcept nogil
    void mg_sinh_f32(const float*, float*, Py_ssize_t) noexcept nogil
    void mg_sinh_f64(const double*, double*, Py_ssize_t) noexcept nogil
    void mg_cosh_f32(const float*, float*, Py_ssize_t) noexcept nogil
    void mg_cosh_f64(const double*, double*, Py_ssize_t) noexcept nogil
    void mg_tanh_f32(const float*, float*, Py_ssize_t) noexcept nogil
    void mg_tanh_f64(const double*, double*, Py_ssize_t) noexcept nogil
    void mg_asinh_f32(const float*, float*, Py_ssize_t) noexcept nogil
    void mg_asinh_f64(const double*, double*, Py_ssize_t) noexcept nogil
    void mg_acosh_f32(const float*, float*, Py_ssize_t) noexcept nogil
    void mg_acosh_f64(const double*, double*, Py_ssize_t) noexcept nogil
    void mg_atanh_f32(const float*, float*, Py_ssize_t) noexcept nogil
    void mg_atanh_f64(const double*, double*, Py_ssize_t) noexcept nogil
    void mg_exp_f32(const float*, float*, Py_ssize_t) noexcept nogil
    void mg_exp_f64(const double*, double*, Py_ssize_t) noexcept nogil
    void mg_exp2_f32(const float*, float*, Py_ssize_t) noexcept nogil
    void mg_exp2_f64(const double*, double*, Py_ssize_t) noexcept nogil
    void mg_expm1_f32(const float*, float*, Py_ssize_t) noexcept nogil
    void mg_expm1_f64(const double*, double*, Py_ssize_t) noexcept nogil
    void mg_log_f32(const float*, float*, Py_ssize_t) noexcept nogil
    void mg_log_f64(const double*, double*, Py_ssize_t) noexcept nogil
    void mg_log2_f32(const float*, float*, Py_ssize_t) noexcept nogil
    void mg_log2_f64(const double*, double*, Py_ssize_t) noexcept nogil
    void mg_log10_f32(const float*, float*, Py_ssize_t) noexcept nogil
    void mg_log10_f64(const double*, double*, Py_ssize_t) noexcept nogil
    void mg_log1p_f32(const float*, float*, Py_ssize_t) noexcept nogil
    void mg_log1p_f64(const double*, double*, Py_ssize_t) noexcept nogil
    void mg_erf_f32(const float*, float*, Py_ssize_t) noexcept nogil
    void mg_erf_f64(const double*, double*, Py_ssize_t) noexcept nogil
    void mg_erfc_f32(const float*, float*, Py_ssize_t) noexcept nogil
    void mg_erfc_f64(const double*, double*, Py_ssize_t) noexcept nogil
    void mg_erfinv_f32(const float*, float*, Py_ssize_t) noexcept nogil
    void mg_erfinv_f64(const double*, double*, Py_ssize_t) noexcept nogil
    void mg_sign_f32(const float*, float*, Py_ssize_t) noexcept nogil
    void mg_sign_f64(const double*, double*, Py_ssize_t) noexcept nogil
    void mg_rsqrt_f32(const float*, float*, Py_ssize_t) noexcept nogil
    void mg_rsqrt_f64(const double*, double*, Py_ssize_t) noexcept nogil
    void mg_logit_f32(const float*, float*, Py_ssize_t) noexcept nogil
    void mg_logit_f64(const double*, double*, Py_ssize_t) noexcept nogil
    void mg_sigmoid_f32(const float*, float*, Py_ssize_t) noexcept nogil
    void mg_sigmoid_f64(const double*, double*, Py_ssize_t) noexcept nogil
    void mg_frac_f32(const float*, float*, Py_ssize_t) noexcept nogil
    void mg_frac_f64(const double*, double*, Py_ssize_t) noexcept nogil
    void mg_logical_and_f32(const float*, const float*, unsigned char*, Py_ssize_t) noexcept nogil
    void mg_logical_and_f64(const double*, const double*, unsigned char*,
                            Py_ssize_t) noexcept nogil
    void mg_logical_or_f32(const float*, const float*, unsigned char*, Py_ssize_t) noexcept nogil
    void mg_logical_or_f64(const double*, const double*, unsigned char*,
                           Py_ssize_t) noexcept nogil
    void mg_logical_xor_f32(const float*, const float*, unsigned char*, Py_ssize_t) noexcept nogil
    void mg_logical_xor_f64(const double*, const double*, unsigned char*,
                            Py_ssize_t) noexcept nogil
    void mg_clamp_f32(const float*, float*, Py_ssize_t, float, float) noexcept nogil
    void mg_copysign_f32(const float*, const float*, float*, Py_ssize_t, int) noexcept nogil
    void mg_copysign_f64(const double*, const double*, double*, Py_ssize_t,
                         int) noexcept nogil
    void mg_round_decimals_f32(const float*, float*, Py_ssize_t, float, int) noexcept nogil
    void mg_round_decimals_f64(const double*, double*, Py_ssize_t, double, int) noexcept nogil
    void mg_logit_backward_f32(const float*, const float*, float*, Py_ssize_t,
                               float) noexcept nogil
    void mg_logit_backward_f64(const double*, const double*, double*, Py_ssize_t,
                               double) noexcept nogil
    void mg_clamp_f64(const double*, double*, Py_ssize_t, double, double) noexcept nogil
    void mg_atan2_f32(const float*, const float*, float*, Py_ssize_t, int) noexcept nogil
    void mg_atan2_f64(const double*, const double*, double*, Py_ssize_t, int) noexcept nogil
    void mg_hypot_f32(const float*, const float*, float*, Py_ssize_t, int) noexcept nogil
    void mg_hypot_f64(const double*, const double*, double*, Py_ssize_t, int) noexcept nogil
    void mg_pow_f32(const float*, const float*, float*, Py_ssize_t, int) noexcept nogil
    void mg_pow_f64(const double*, const double*, double*, Py_ssize_t, int) noexcept nogil
    void mg_logaddexp_f32(const float*, const float*, float*, Py_ssize_t, int) noexcept nogil
    void mg_logaddexp_f64(const double*, const double*, double*, Py_ssize_t,
                          int) noexcept nogil
    void mg_logaddexp2_f32(const float*, const float*, float*, Py_ssize_t, int) noexcept nogil
    void mg_logaddexp2_f64(const double*, const double*, double*, Py_ssize_t,
                           int) noexcept nogil
    void mg_fmod_f32(const float*, const float*, float*, Py_ssize_t, int) noexcept nogil
    void mg_fmod_f64(const double*, const double*, double*, Py_ssize_t, int) noexcept nogil
    void mg_remainder_f32(const float*, const float*, float*, Py_ssize_t, int) noexcept nogil
    void mg_remainder_f64(const double*, const double*, double*, Py_ssize_t,
                          int) noexcept nogil
    void mg_floor_divide_f32(const float*, const float*, float*, Py_ssize_t,
                             int) noexcept nogil
    void mg_floor_divide_f64(const double*, const double*, double*, Py_ssize_t,
                             int) noexcept nogil
    void mg_lerp_f32(const float*, const float*, const float*, float*, Py_ssize_t) noexcept nogil
    void mg_lerp_f64(const double*, const double*, const double*, double*,
                     Py_ssize_t) noexcept nogil
    void mg_nan_to_num_f32(const float*, float*, Py_ssize_t, float, float, float) noexcept nogil
    void mg_lerp_scalar_f32(const float*, const float*, float, float*, Py_ssize_t) noexcept nogil
    void mg_lerp_scalar_f64(const double*, const double*, double, double*,
                            Py_ssize_t) noexcept nogil
    void mg_nan_to_num_f64(const double*, double*, Py_ssize_t, double, double,
                           double) noexcept nogil

ctypedef void (*_loop_f32)(const float*, float*, Py_ssize_t) noexcept nogil
ctypedef void (*_loop_f64)(const double*, double*, Py_ssize_t) noexcept nogil
ctypedef void (*_loop2_f32)(const float*, const float*, float*, Py_ssize_t, int) noexcept nogil
ctypedef void (*_loop2_f64)(const double*, const double*, double*, Py_ssize_t,
                            int) noexcept nogil
ctypedef void (*_logical_f32)(const float*, const float*, unsigned char*,
                              Py_ssize_t) noexcept nogil
ctypedef void (*_logical_f64)(const double*, const double*, unsigned char*,
                              Py_ssize_t) noexcept nogil

#: True when the loops below run glibc's vector math (the table in bench/ops.py prints it).
VECTOR_MATH = bool(MG_VECTOR_MATH)


cdef void _loop_threads_f32(_loop_f32 loop, const float* x, float* y,
                            Py_ssize_t n) noexcept nogil:
    """loop(x, y, n), split across threads when the loop is large enough."""
    cdef int threads = parallel_threads(n, _PARALLEL_MIN_MATH)
    if threads == 1:
        loop(x, y, n)
    else:
        _loop_parallel_f32(loop, x, y, n, threads)


cdef void _loop_parallel_f32(_loop_f32 loop, const float* x, float* y, Py_ssize_t n,
                             int threads) noexcept nogil:
    cdef int c
    cdef Py_ssize_t start = 0, stop = 0
    for c in prange(threads, num_threads=threads, schedule="static"):
        start = _chunk_bound(n, threads, c)
        stop = _chunk_bound(n, threads, c + 1)
        loop(x + start, y + start, stop - start)


cdef void _loop_threads_f64(_loop_f64 loop, const double* x, double* y,
                            Py_ssize_t n) noexcept nogil:
    cdef int threads = parallel_threads(n, _PARALLEL_MIN_MATH)
    if threads == 1:
        loop(x, y, n)
    else:
        _loop_parallel_f64(loop, x, y, n, threads)


cdef void _loop_parallel_f64(_loop_f64 loop, const double* x, double* y, Py_ssize_t n,
                             int threads) noexcept nogil:
    cdef int c
    cdef Py_ssize_t start = 0, stop = 0
    for c in prange(threads, num_threads=threads, schedule="static"):
        start = _chunk_bound(n, threads, c)
        stop = _chunk_bound(n, threads, c + 1)
        loop(x + start, y + start, stop - start)


cdef object _math_loop(object x, _loop_f32 loop32, _loop_f64 loop64):
    """loop(x) into a new array on the fast path (float32/float64, C-contiguous, at least
    1-D), or None (the caller then asks the reference)."""
    cdef int type_num = _fast_float_type(x)
    if type_num < 0:
        return None
    cdef cnp.ndarray X = <cnp.ndarray>x
    if cnp.PyArray_NDIM(X) == 0:
        return None
    cdef Py_ssize_t n = cnp.PyArray_SIZE(X)
    cdef cnp.ndarray out = _empty_like(X)
    cdef void* px = cnp.PyArray_DATA(X)
    cdef void* po = cnp.PyArray_DATA(out)
    if type_num == cnp.NPY_DOUBLE:
        if n >= _NOGIL_MIN_SIZE:
            with nogil:
                _loop_threads_f64(loop64, <const double*>px, <double*>po, n)
        else:
            loop64(<const double*>px, <double*>po, n)
    else:
        if n >= _NOGIL_MIN_SIZE:
            with nogil:
                _loop_threads_f32(loop32, <const float*>px, <float*>po, n)
        else:
            loop32(<const float*>px, <float*>po, n)
    return out


def sin(x):
    out = _math_loop(x, mg_sin_f32, mg_sin_f64)
    return _reference.sin(x) if out is None else out


def cos(x):
    out = _math_loop(x, mg_cos_f32, mg_cos_f64)
    return _reference.cos(x) if out is None else out


def tan(x):
    out = _math_loop(x, mg_tan_f32, mg_tan_f64)
    return _reference.tan(x) if out is None else out


def asin(x):
    out = _math_loop(x, mg_asin_f32, mg_asin_f64)
    return _reference.asin(x) if out is None else out


def acos(x):
    out = _math_loop(x, mg_acos_f32, mg_acos_f64)
    return _reference.acos(x) if out is None else out


def atan(x):
    out = _math_loop(x, mg_atan_f32, mg_atan_f64)
    return _reference.atan(x) if out is None else out


def sinh(x):
    out = _math_loop(x, mg_sinh_f32, mg_sinh_f64)
    return _reference.sinh(x) if out is None else out


def cosh(x):
    out = _math_loop(x, mg_cosh_f32, mg_cosh_f64)
    return _reference.cosh(x) if out is None else out


def asinh(x):
    out = _math_loop(x, mg_asinh_f32, mg_asinh_f64)
    return _reference.asinh(x) if out is None else out


def acosh(x):
    out = _math_loop(x, mg_acosh_f32, mg_acosh_f64)
    return _reference.acosh(x) if out is None else out


def atanh(x):
    """atanh(x), as log1p(2|x| / (1 - |x|)) / 2 with x's sign (within a few ulps of the C
    library's atanh)."""
    out = _math_loop(x, mg_atanh_f32, mg_atanh_f64)
    return _reference.atanh(x) if out is None else out


def exp2(x):
    out = _math_loop(x, mg_exp2_f32, mg_exp2_f64)
    return _reference.exp2(x) if out is None else out


def expm1(x):
    out = _math_loop(x, mg_expm1_f32, mg_expm1_f64)
    return _reference.expm1(x) if out is None else out


def log2(x):
    out = _math_loop(x, mg_log2_f32, mg_log2_f64)
    return _reference.log2(x) if out is None else out


def log10(x):
    out = _math_loop(x, mg_log10_f32, mg_log10_f64)
    return _reference.log10(x) if out is None else out


def log1p(x):
    out = _math_loop(x, mg_log1p_f32, mg_log1p_f64)
    return _reference.log1p(x) if out is None else out


def erf(x):
    """The error function (the C library's erf)."""
    out = _math_loop(x, mg_erf_f32, mg_erf_f64)
    return _reference.erf(x) if out is None else out


def erfc(x):
    """1 - erf(x) (the C library's erfc)."""
    out = _math_loop(x, mg_erfc_f32, mg_erfc_f64)
    return _reference.erfc(x) if out is None else out


cdef object _math_loop2(object a, object b, _loop2_f32 loop32, _loop2_f64 loop64):
    """loop(a, b) into a new array when a is a float32/float64 C-contiguous array (at least
    1-D) and b is an array of a's dtype and shape (C-contiguous) or a Python number; else
    None (the caller then asks the reference)."""
    cdef int type_num = _fast_float_type(a)
    if type_num < 0:
        return None
    cdef cnp.ndarray A = <cnp.ndarray>a
    if cnp.PyArray_NDIM(A) == 0:
        return None
    cdef double number_d
    cdef float number_f
    cdef int b_step = 1
    cdef const void* pb
    cdef cnp.ndarray B
    kind = type(b)
    if kind is float or kind is int:
        if kind is int and not -(1 << 53) <= b <= (1 << 53):
            return None
        number_d = b
        if type_num == cnp.NPY_FLOAT and cmath.fabs(number_d) > FLT_MAX and \
                not cmath.isinf(number_d):
            return None
        number_f = <float>number_d
        b_step = 0
        pb = <const void*>&number_d if type_num == cnp.NPY_DOUBLE else <const void*>&number_f
    else:
        if _fast_float_type(b) != type_num or not _same_shape(A, <cnp.ndarray>b):
            return None
        B = <cnp.ndarray>b
        pb = cnp.PyArray_DATA(B)
    cdef Py_ssize_t n = cnp.PyArray_SIZE(A)
    cdef cnp.ndarray out = _empty_like(A)
    cdef const void* pa = cnp.PyArray_DATA(A)
    cdef void* po = cnp.PyArray_DATA(out)
    with nogil:
        if type_num == cnp.NPY_DOUBLE:
            loop64(<const double*>pa, <const double*>pb, <double*>po, n, b_step)
        else:
            loop32(<const float*>pa, <const float*>pb, <float*>po, n, b_step)
    return out


def atan2(a, b):
    out = _math_loop2(a, b, mg_atan2_f32, mg_atan2_f64)
    return _reference.atan2(a, b) if out is None else out


def hypot(a, b):
    out = _math_loop2(a, b, mg_hypot_f32, mg_hypot_f64)
    return _reference.hypot(a, b) if out is None else out


def pow(a, b):
    out = _math_loop2(a, b, mg_pow_f32, mg_pow_f64)
    return _reference.pow(a, b) if out is None else out


def copysign(a, b):
    out = _math_loop2(a, b, mg_copysign_f32, mg_copysign_f64)
    return _reference.copysign(a, b) if out is None else out


def round_decimals(x, decimals):
    """x rounded to ``decimals`` places (halves to even), PyTorch's way (see reference)."""
    cdef int type_num = _fast_float_type(x)
    if type_num < 0 or cnp.PyArray_NDIM(<cnp.ndarray>x) == 0:
        return _reference.round_decimals(x, decimals)
    cdef cnp.ndarray X = <cnp.ndarray>x
    cdef Py_ssize_t n = cnp.PyArray_SIZE(X)
    cdef cnp.ndarray out = _empty_like(X)
    cdef int negative = decimals < 0
    cdef double scale = 10.0 ** (-decimals if negative else decimals)
    cdef const void* px = cnp.PyArray_DATA(X)
    cdef void* po = cnp.PyArray_DATA(out)
    with nogil:
        if type_num == cnp.NPY_DOUBLE:
            mg_round_decimals_f64(<const double*>px, <double*>po, n, scale, negative)
        else:
            mg_round_decimals_f32(<const float*>px, <float*>po, n, <float>scale, negative)
    return out


def logaddexp(a, b):
    out = _math_loop2(a, b, mg_logaddexp_f32, mg_logaddexp_f64)
    return _reference.logaddexp(a, b) if out is None else out


def logaddexp2(a, b):
    out = _math_loop2(a, b, mg_logaddexp2_f32, mg_logaddexp2_f64)
    return _reference.logaddexp2(a, b) if out is None else out


def fmod(a, b):
    out = _math_loop2(a, b, mg_fmod_f32, mg_fmod_f64)
    return _reference.fmod(a, b) if out is None else out


def remainder(a, b):
    out = _math_loop2(a, b, mg_remainder_f32, mg_remainder_f64)
    return _reference.remainder(a, b) if out is None else out


def floor_divide(a, b):
    out = _math_loop2(a, b, mg_floor_divide_f32, mg_floor_divide_f64)
    return _reference.floor_divide(a, b) if out is None else out


def reciprocal(x):
    """1 / x (1/0 is inf, without a warning)."""
    out = _with_python_number(x, 1.0, OP_DIV, True)
    return _reference.reciprocal(x) if out is None else out


cdef object _logical(object a, object b, _logical_f32 loop32, _logical_f64 loop64):
    """loop(a, b) into a new bool array when a and b are float32/float64 arrays of one dtype
    and shape (C-contiguous, at least 1-D); else None (the caller then asks the reference)."""
    cdef int type_num = _fast_float_type(a)
    if type_num < 0 or _fast_float_type(b) != type_num:
        return None
    cdef cnp.ndarray A = <cnp.ndarray>a
    cdef cnp.ndarray B = <cnp.ndarray>b
    if cnp.PyArray_NDIM(A) == 0 or not _same_shape(A, B):
        return None
    cdef Py_ssize_t n = cnp.PyArray_SIZE(A)
    # (not from the buffer pool, which serves float arrays: a bool output is 4 or 8 times
    # smaller than the inputs)
    cdef cnp.ndarray out = cnp.PyArray_EMPTY(cnp.PyArray_NDIM(A), cnp.PyArray_DIMS(A),
                                             cnp.NPY_BOOL, 0)
    cdef const void* pa = cnp.PyArray_DATA(A)
    cdef const void* pb = cnp.PyArray_DATA(B)
    cdef unsigned char* po = <unsigned char*>cnp.PyArray_DATA(out)
    with nogil:
        if type_num == cnp.NPY_DOUBLE:
            loop64(<const double*>pa, <const double*>pb, po, n)
        else:
            loop32(<const float*>pa, <const float*>pb, po, n)
    return out


def logical_and(a, b):
    out = _logical(a, b, mg_logical_and_f32, mg_logical_and_f64)
    return _reference.logical_and(a, b) if out is None else out


def logical_or(a, b):
    out = _logical(a, b, mg_logical_or_f32, mg_logical_or_f64)
    return _reference.logical_or(a, b) if out is None else out


def logical_xor(a, b):
    out = _logical(a, b, mg_logical_xor_f32, mg_logical_xor_f64)
    return _reference.logical_xor(a, b) if out is None else out


def sign(x):
    out = _math_loop(x, mg_sign_f32, mg_sign_f64)
    return _reference.sign(x) if out is None else out


def rsqrt(x):
    out = _math_loop(x, mg_rsqrt_f32, mg_rsqrt_f64)
    return _reference.rsqrt(x) if out is None else out


def frac(x):
    out = _math_loop(x, mg_frac_f32, mg_frac_f64)
    return _reference.frac(x) if out is None else out


def clamp(x, lo, hi):
    """min(max(x, lo), hi) for number bounds (None: no bound); NaN stays NaN."""
    cdef int type_num = _fast_float_type(x)
    if type_num < 0 or cnp.PyArray_NDIM(<cnp.ndarray>x) == 0 or \
            not (lo is None or type(lo) is float or type(lo) is int) or \
            not (hi is None or type(hi) is float or type(hi) is int) or \
            (lo is not None and lo != lo) or (hi is not None and hi != hi):
        return _reference.clamp(x, lo, hi)
    cdef cnp.ndarray X = <cnp.ndarray>x
    cdef Py_ssize_t n = cnp.PyArray_SIZE(X)
    cdef cnp.ndarray out = _empty_like(X)
    cdef double low = -cmath.INFINITY if lo is None else lo
    cdef double high = cmath.INFINITY if hi is None else hi
    cdef const void* px = cnp.PyArray_DATA(X)
    cdef void* po = cnp.PyArray_DATA(out)
    with nogil:
        if type_num == cnp.NPY_DOUBLE:
            mg_clamp_f64(<const double*>px, <double*>po, n, low, high)
        else:
            mg_clamp_f32(<const float*>px, <float*>po, n, <float>low, <float>high)
    return out


def logit_backward(x, grad_output, eps):
    """grad_output / (x (1 - x)); outside [0, 1] NaN when eps < 0 (none), else 0 outside
    [eps, 1 - eps]."""
    cdef int type_num = _fast_float_type(x)
    if type_num < 0 or _fast_float_type(grad_output) != type_num:
        return _reference.logit_backward(x, grad_output, eps)
    cdef cnp.ndarray X = <cnp.ndarray>x
    if cnp.PyArray_NDIM(X) == 0 or not _same_shape(X, <cnp.ndarray>grad_output):
        return _reference.logit_backward(x, grad_output, eps)
    cdef Py_ssize_t n = cnp.PyArray_SIZE(X)
    cdef cnp.ndarray out = _empty_like(X)
    cdef double e = eps
    cdef const void* px = cnp.PyArray_DATA(X)
    cdef const void* pg = cnp.PyArray_DATA(<cnp.ndarray>grad_output)
    cdef void* po = cnp.PyArray_DATA(out)
    with nogil:
        if type_num == cnp.NPY_DOUBLE:
            mg_logit_backward_f64(<const double*>px, <const double*>pg, <double*>po, n, e)
        else:
            mg_logit_backward_f32(<const float*>px, <const float*>pg, <float*>po, n, <float>e)
    return out


def logit(x):
    out = _math_loop(x, mg_logit_f32, mg_logit_f64)
    return _reference.logit(x) if out is None else out


def lerp(start, end, weight):
    """PyTorch's lerp, weight an array or a number (fast path: C-contiguous float arrays of
    one dtype and shape)."""
    cdef int type_num = _fast_float_type(start)
    cdef double w
    if type(weight) is float:
        if type_num < 0 or _fast_float_type(end) != type_num or \
                cnp.PyArray_NDIM(<cnp.ndarray>start) == 0 or \
                not _same_shape(<cnp.ndarray>start, <cnp.ndarray>end):
            return _reference.lerp(start, end, weight)
        w = weight
        return _lerp_scalar(<cnp.ndarray>start, <cnp.ndarray>end, w, type_num)
    if type_num < 0 or _fast_float_type(end) != type_num or \
            _fast_float_type(weight) != type_num:
        return _reference.lerp(start, end, weight)
    cdef cnp.ndarray A = <cnp.ndarray>start
    if cnp.PyArray_NDIM(A) == 0 or not _same_shape(A, <cnp.ndarray>end) or \
            not _same_shape(A, <cnp.ndarray>weight):
        return _reference.lerp(start, end, weight)
    cdef Py_ssize_t n = cnp.PyArray_SIZE(A)
    cdef cnp.ndarray out = _empty_like(A)
    cdef const void* pa = cnp.PyArray_DATA(A)
    cdef const void* pb = cnp.PyArray_DATA(<cnp.ndarray>end)
    cdef const void* pw = cnp.PyArray_DATA(<cnp.ndarray>weight)
    cdef void* po = cnp.PyArray_DATA(out)
    with nogil:
        if type_num == cnp.NPY_DOUBLE:
            mg_lerp_f64(<const double*>pa, <const double*>pb, <const double*>pw,
                        <double*>po, n)
        else:
            mg_lerp_f32(<const float*>pa, <const float*>pb, <const float*>pw, <float*>po, n)
    return out


cdef object _lerp_scalar(cnp.ndarray A, cnp.ndarray B, double w, int type_num):
    cdef Py_ssize_t n = cnp.PyArray_SIZE(A)
    cdef cnp.ndarray out = _empty_like(A)
    cdef const void* pa = cnp.PyArray_DATA(A)
    cdef const void* pb = cnp.PyArray_DATA(B)
    cdef void* po = cnp.PyArray_DATA(out)
    with nogil:
        if type_num == cnp.NPY_DOUBLE:
            mg_lerp_scalar_f64(<const double*>pa, <const double*>pb, w, <double*>po, n)
        else:
            mg_lerp_scalar_f32(<const float*>pa, <const float*>pb, <float>w, <float*>po, n)
    return out


def nan_to_num(x, nan, posinf, neginf):
    """x with NaN, +inf, -inf replaced (the three values given as numbers, already
    resolved to the dtype's limits where the caller had None)."""
    cdef int type_num = _fast_float_type(x)
    if type_num < 0 or cnp.PyArray_NDIM(<cnp.ndarray>x) == 0:
        return _reference.nan_to_num(x, nan, posinf, neginf)
    cdef cnp.ndarray X = <cnp.ndarray>x
    cdef Py_ssize_t n = cnp.PyArray_SIZE(X)
    cdef cnp.ndarray out = _empty_like(X)
    cdef double v_nan = nan, v_pos = posinf, v_neg = neginf
    cdef const void* px = cnp.PyArray_DATA(X)
    cdef void* po = cnp.PyArray_DATA(out)
    with nogil:
        if type_num == cnp.NPY_DOUBLE:
            mg_nan_to_num_f64(<const double*>px, <double*>po, n, v_nan, v_pos, v_neg)
        else:
            mg_nan_to_num_f32(<const float*>px, <float*>po, n, <float>v_nan, <float>v_pos,
                              <float>v_neg)
    return out


def erfinv(x):
    """The inverse of erf (float32: Giles' polynomial, a few ulps; float64: refined to
    round-off)."""
    out = _math_loop(x, mg_erfinv_f32, mg_erfinv_f64)
    return _reference.erfinv(x) if out is None else out


# ---------------------------------------------------------------------------------------------
# Activation gradients: (saved x or y, grad_output) -> grad for x, same shape and dtype
# ---------------------------------------------------------------------------------------------


cdef void _backward_kernel(BackwardOp op, const floating* saved, const floating* g,
                           floating* out, Py_ssize_t n, floating slope) noexcept nogil:
    cdef Py_ssize_t i
    cdef floating y, z
    cdef floating one = 1  # a typed 1: Cython writes a bare 1 as the double 1.0, which would
    #                        compute float32 gradients in double, unvectorized
    if op == OP_RELU_BACKWARD:
        # d relu/dx = 0 where x <= 0, else 1 (a NaN x passes g, as torch). g[i] is loaded
        # unconditionally so the compiler can turn the choice into a vector blend (a load
        # inside one branch only may not be hoisted, and the loop then runs branchy and
        # scalar: 14x slower on random signs).
        for i in range(n):
            y = g[i]
            out[i] = 0 if saved[i] <= 0 else y
    elif op == OP_LEAKY_RELU_BACKWARD:
        for i in range(n):  # 1 for x > 0, slope otherwise (both sides computed, as above)
            y = g[i]
            z = y * slope
            out[i] = y if saved[i] > 0 else z
    elif op == OP_SIGMOID_BACKWARD:
        for i in range(n):  # y (1 - y), in the reference's order of operations
            y = saved[i]
            out[i] = g[i] * y * (one - y)
    elif op == OP_TANH_BACKWARD:
        for i in range(n):  # 1 - y**2
            y = saved[i]
            out[i] = g[i] * (one - y * y)


cdef void _backward_kernel_threads(BackwardOp op, const floating* saved, const floating* g,
                                   floating* out, Py_ssize_t n, floating slope) noexcept nogil:
    """_backward_kernel, split across threads when the loop is large enough."""
    cdef int threads = parallel_threads(n, _PARALLEL_MIN_CHEAP)
    if threads == 1:
        _backward_kernel(op, saved, g, out, n, slope)
    else:
        _backward_parallel(op, saved, g, out, n, slope, threads)


cdef void _backward_parallel(BackwardOp op, const floating* saved, const floating* g,
                             floating* out, Py_ssize_t n, floating slope,
                             int threads) noexcept nogil:
    """_backward_kernel on ``threads`` threads (elementwise: equal results)."""
    cdef int c
    cdef Py_ssize_t start = 0, stop = 0
    for c in prange(threads, num_threads=threads, schedule="static"):
        start = _chunk_bound(n, threads, c)
        stop = _chunk_bound(n, threads, c + 1)
        _backward_kernel(op, saved + start, g + start, out + start, stop - start, slope)


cdef object _backward(object saved, object grad_output, BackwardOp op, double slope=0.0):
    """The activation gradient on the fast path (one shape, one float dtype, C-contiguous,
    at least 1-D), or None."""
    cdef int type_num = _fast_float_type(saved)
    if type_num < 0 or _fast_float_type(grad_output) != type_num:
        return None
    cdef cnp.ndarray S = <cnp.ndarray>saved
    cdef cnp.ndarray G = <cnp.ndarray>grad_output
    if cnp.PyArray_NDIM(S) == 0 or not _same_shape(S, G):
        return None
    cdef Py_ssize_t n = cnp.PyArray_SIZE(S)
    cdef cnp.ndarray out = _empty_like(G)
    cdef void* ps = cnp.PyArray_DATA(S)
    cdef void* pg = cnp.PyArray_DATA(G)
    cdef void* po = cnp.PyArray_DATA(out)
    if type_num == cnp.NPY_DOUBLE:
        if n >= _NOGIL_MIN_SIZE:
            with nogil:
                _backward_kernel_threads(op, <const double*>ps, <const double*>pg, <double*>po,
                                         n, <double>slope)
        else:
            _backward_kernel(op, <const double*>ps, <const double*>pg, <double*>po, n,
                             <double>slope)
    else:
        if n >= _NOGIL_MIN_SIZE:
            with nogil:
                _backward_kernel_threads(op, <const float*>ps, <const float*>pg, <float*>po,
                                         n, <float>slope)
        else:
            _backward_kernel(op, <const float*>ps, <const float*>pg, <float*>po, n,
                             <float>slope)
    return out


def relu_backward(x, grad_output):
    """grad_output where x > 0 or x is NaN, 0 where x <= 0 (PyTorch's threshold_backward)."""
    out = _backward(x, grad_output, OP_RELU_BACKWARD)
    return _reference.relu_backward(x, grad_output) if out is None else out


def leaky_relu_backward(x, grad_output, negative_slope):
    """grad_output for x > 0, grad_output * negative_slope otherwise."""
    out = _backward(x, grad_output, OP_LEAKY_RELU_BACKWARD, negative_slope)
    if out is None:
        return _reference.leaky_relu_backward(x, grad_output, negative_slope)
    return out


def sigmoid_backward(y, grad_output):
    """With y = sigmoid(x): grad_output * y * (1 - y)."""
    out = _backward(y, grad_output, OP_SIGMOID_BACKWARD)
    return _reference.sigmoid_backward(y, grad_output) if out is None else out


def tanh_backward(y, grad_output):
    """With y = tanh(x): grad_output * (1 - y**2)."""
    out = _backward(y, grad_output, OP_TANH_BACKWARD)
    return _reference.tanh_backward(y, grad_output) if out is None else out


# ---------------------------------------------------------------------------------------------
# Reductions
# ---------------------------------------------------------------------------------------------


cdef extern from *:
    """
    /* Sum of x[0:n] in a fixed binary tree: a range of more than MG_SUM_LEAF elements is
       split in two (the first half a multiple of 32 elements) and each half summed the same
       way; a leaf is summed in 32 lanes (lane j adds every 32nd element, a loop the compiler
       turns into SIMD additions: AVX2 where the CPU has it, through MG_CLONES), then the 32
       lanes are added pairwise. Rounding error grows like O(log n) plus 2048/32 terms per
       lane, as in numpy's pairwise sum (its leaves hold 128 elements in 8 lanes), and the
       tree depends on n only: any split of the top of the tree across threads gives the same
       bits. */
    #define MG_SUM_LEAF 2048
    #define MG_SUM_TWIN(T, suffix) \
    MG_CLONES static T mg_sum_leaf_##suffix(const T* x, Py_ssize_t n) { \
        T acc[32]; Py_ssize_t i = 0, j, k; \
        for (j = 0; j < 32; j++) acc[j] = 0; \
        for (; i + 32 <= n; i += 32) \
            for (j = 0; j < 32; j++) acc[j] += x[i + j]; \
        for (k = 16; k >= 1; k /= 2) \
            for (j = 0; j < k; j++) acc[j] += acc[j + k]; \
        T total = acc[0]; \
        for (; i < n; i++) total += x[i]; \
        return total; } \
    static T mg_sum_tree_##suffix(const T* x, Py_ssize_t n) { \
        if (n <= MG_SUM_LEAF) return mg_sum_leaf_##suffix(x, n); \
        Py_ssize_t half = n / 2; half -= half % 32; \
        return mg_sum_tree_##suffix(x, half) + mg_sum_tree_##suffix(x + half, n - half); }
    MG_SUM_TWIN(float, f32)
    MG_SUM_TWIN(double, f64)
    """
    float mg_sum_tree_f32(const float* x, Py_ssize_t n) noexcept nogil
    double mg_sum_tree_f64(const double* x, Py_ssize_t n) noexcept nogil
    int MG_SUM_LEAF


cdef inline floating _sum_tree(const floating* x, Py_ssize_t n) noexcept nogil:
    if floating is float:
        return mg_sum_tree_f32(x, n)
    else:
        return mg_sum_tree_f64(x, n)


# The top of the sum tree: 2**_SUM_TOP_LEVELS subtrees, summed in parallel when threads allow,
# then added pairwise in the tree's order (so the bits do not depend on the thread count).
cdef enum:
    _SUM_TOP_LEVELS = 4
    _SUM_SUBTREES = 16


cdef void _sum_subtrees_parallel(const floating* x, const Py_ssize_t* offsets,
                                 const Py_ssize_t* sizes, floating* partial,
                                 int threads) noexcept nogil:
    """partial[c] = the sum of subtree c, on ``threads`` threads (a function of its own: see
    _binary_parallel)."""
    cdef int c
    for c in prange(_SUM_SUBTREES, num_threads=threads, schedule="static"):
        partial[c] = _sum_tree(x + offsets[c], sizes[c])


cdef floating _sum_all_kernel(const floating* x, Py_ssize_t n) noexcept nogil:
    """The sum of x[0:n] by mg_sum_tree, its top levels split across threads for large n."""
    if n <= _SUM_SUBTREES * 4 * MG_SUM_LEAF:
        return _sum_tree(x, n)
    cdef Py_ssize_t offsets[_SUM_SUBTREES]
    cdef Py_ssize_t sizes[_SUM_SUBTREES]
    cdef floating partial[_SUM_SUBTREES]
    cdef int level, s, count = 1, c
    cdef Py_ssize_t half
    offsets[0], sizes[0] = 0, n
    for level in range(_SUM_TOP_LEVELS):  # split every range in two, as mg_sum_tree does
        for s in range(count - 1, -1, -1):
            half = sizes[s] // 2
            half = half - half % 32
            offsets[2 * s], offsets[2 * s + 1] = offsets[s], offsets[s] + half
            sizes[2 * s + 1] = sizes[s] - half
            sizes[2 * s] = half
        count *= 2
    cdef int threads = parallel_threads(n, _PARALLEL_MIN_CHEAP)
    if threads > 1:
        _sum_subtrees_parallel(x, offsets, sizes, partial, threads)
    else:
        for c in range(_SUM_SUBTREES):
            partial[c] = _sum_tree(x + offsets[c], sizes[c])
    count = _SUM_SUBTREES
    while count > 1:
        count //= 2
        for s in range(count):
            partial[s] = partial[2 * s] + partial[2 * s + 1]
    return partial[0]


def sum_all(x):
    """Sum of every element, as a 0-d array of x's dtype."""
    cdef int type_num = _fast_float_type(x)
    if type_num < 0:
        return _reference.sum_all(x)
    cdef cnp.ndarray X = <cnp.ndarray>x
    cdef Py_ssize_t n = cnp.PyArray_SIZE(X)
    cdef cnp.ndarray out = cnp.PyArray_EMPTY(0, NULL, type_num, 0)
    cdef void* px = cnp.PyArray_DATA(X)
    cdef void* po = cnp.PyArray_DATA(out)
    if n < _NOGIL_MIN_SIZE:
        if type_num == cnp.NPY_DOUBLE:
            (<double*>po)[0] = _sum_all_kernel(<const double*>px, n)
        else:
            (<float*>po)[0] = _sum_all_kernel(<const float*>px, n)
        return out
    with nogil:
        if type_num == cnp.NPY_DOUBLE:
            (<double*>po)[0] = _sum_all_kernel(<const double*>px, n)
        else:
            (<float*>po)[0] = _sum_all_kernel(<const float*>px, n)
    return out


def sum_rows(x):
    """Column sums of a 2-D array x (m, n) -> (n,): the bias gradient of a Linear layer."""
    cdef int type_num = _fast_float_type(x)
    if type_num < 0 or cnp.PyArray_NDIM(<cnp.ndarray>x) != 2:
        return _reference.sum_rows(x)
    cdef cnp.ndarray X = <cnp.ndarray>x
    cdef Py_ssize_t rows = cnp.PyArray_DIMS(X)[0]
    cdef cnp.npy_intp cols = cnp.PyArray_DIMS(X)[1]
    cdef cnp.ndarray out = cnp.PyArray_EMPTY(1, &cols, type_num, 0)
    cdef void* px = cnp.PyArray_DATA(X)
    cdef void* po = cnp.PyArray_DATA(out)
    if rows * cols >= _NOGIL_MIN_SIZE:
        with nogil:
            if type_num == cnp.NPY_DOUBLE:
                _sum_rows_kernel(<const double*>px, <double*>po, rows, cols)
            else:
                _sum_rows_kernel(<const float*>px, <float*>po, rows, cols)
    elif type_num == cnp.NPY_DOUBLE:
        _sum_rows_kernel(<const double*>px, <double*>po, rows, cols)
    else:
        _sum_rows_kernel(<const float*>px, <float*>po, rows, cols)
    return out
