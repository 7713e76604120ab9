# cython: language_level=3
"""Compiled matrix products: matmul, and the fused forward and backward of a Linear layer.

Twins of the functions of the same names in ``reference.py``.

Two regimes, chosen per call by the work to do:

- Small products (a training step of a tiny network: x (100, 2) through a (10, 2) weight) are
  dominated by the cost of the call, not the arithmetic. A plain C loop, called with a few
  C-API checks and no Python-level calls, finishes before numpy has dispatched to BLAS.
- Large products go to numpy's BLAS (``np.matmul``): OpenBLAS' blocked, multi-threaded SIMD
  kernels are far faster than any loop written here (about 280 GFLOP/s in float32 at n=1024).

The crossover is where the C loop stops being faster than ``np.matmul``; see the limits
below and ``bench/matmul.py``, which measures both sides.

As in ``_elementwise.pyx``, the loops take raw pointers into arrays checked in the ``def``
(acquiring typed memoryviews would cost more than the whole small product). Inputs that are
not C-contiguous float32/float64 ndarrays of one dtype go to the reference (numpy), which
handles transposed and strided operands through BLAS' transpose flags.
"""
cimport numpy as cnp
from cython cimport floating

from ._common cimport _fast_float_type, _sum_rows_kernel
from ._runtime cimport pool_empty

import numpy as np

from . import reference as _reference

cnp.import_array()

# Looked up once: a module-global plus attribute lookup per call costs about 30 ns, which is
# visible next to the whole cost of a small BLAS call (about 0.8 us).
cdef object _np_matmul = np.matmul

# Where the C loops stop and BLAS starts.
#
# np.matmul costs about 0.7 us before BLAS does any arithmetic; BLAS then runs far faster
# than these loops (which are compiled for baseline x86-64, SSE2). So a loop wins while its
# whole run takes less than that overhead, and its run time is, to a fair approximation,
#
#     work = (runs of the innermost loop) * (innermost length + fixed cost per run)
#
# the fixed cost being the set-up of a short loop (counters, the vectorizer's prologue and
# remainder), worth about 8 elements for the row-update loops (matmul, grad_x, grad_weight)
# and 2 for the dot products of linear_forward. A kernel takes the loop when work <= limit.
# The limits were read off a sweep of shapes against np.matmul on this project's reference
# machine (x86-64 with AVX-512, OpenBLAS 0.3.31 as bundled with numpy 2.4, 2 cores): square
# matmul crosses over near n = 12-13 in both dtypes; Linear shapes (N, in, out) such as
# (64, 2, 10), (16, 10, 10), (16, 32, 4) take the loop, (128, 2, 10), (32, 10, 10) in float32
# and (16, 16, 16) do not. Just past a limit the two sides differ by less than the timing
# noise either way; bench/matmul.py measures both sides.
cdef Py_ssize_t _ROW_UPDATE_COST = 8
cdef Py_ssize_t _DOT_COST = 2
cdef Py_ssize_t _ROW_UPDATE_LIMIT_F32 = 3000
cdef Py_ssize_t _ROW_UPDATE_LIMIT_F64 = 2600
cdef Py_ssize_t _DOT_LIMIT_F32 = 3072
cdef Py_ssize_t _DOT_LIMIT_F64 = 4608
# The outer-product form (the short-input Linear loops below), work counted as in
# _outer_loop_wins: measured against the BLAS path (np.matmul, then the bias pass), float32
# (300, 2, 10) at work 10820 is 2.66 us against 2.62 us for np.matmul alone, float64 (120, 4,
# 20) at 13520 is 2.98 against 3.00; below, the loop wins (the seed network's (100, 2, 10):
# 1.1 us against 4.0 us).
cdef Py_ssize_t _OUTER_LIMIT_F32 = 10000
cdef Py_ssize_t _OUTER_LIMIT_F64 = 12000


cdef inline bint _row_update_loop_wins(Py_ssize_t runs, Py_ssize_t length,
                                       int type_num) noexcept:
    """True if a row-update loop (runs x `out_row[:length] += s * in_row[:length]`) beats
    np.matmul; see the limits above."""
    cdef Py_ssize_t work = runs * (length + _ROW_UPDATE_COST)
    if type_num == cnp.NPY_DOUBLE:
        return work <= _ROW_UPDATE_LIMIT_F64
    return work <= _ROW_UPDATE_LIMIT_F32


cdef inline bint _dot_loop_wins(Py_ssize_t runs, Py_ssize_t length, int type_num) noexcept:
    """True if `runs` dot products of `length` elements beat np.matmul."""
    cdef Py_ssize_t work = runs * (length + _DOT_COST)
    if type_num == cnp.NPY_DOUBLE:
        return work <= _DOT_LIMIT_F64
    return work <= _DOT_LIMIT_F32


cdef inline bint _outer_loop_wins(Py_ssize_t batch, Py_ssize_t n_in, Py_ssize_t n_out,
                                  Py_ssize_t other_per_row, int type_num) noexcept:
    """True if the outer-product form of a Linear loop (batch x n_in row updates of n_out
    elements, after transposing the (out, in) weight into the scratch buffer) beats both the
    other loop form (``other_per_row`` per row of the batch) and np.matmul."""
    if n_in * n_out > _SCRATCH or n_out < 2 * n_in:
        return False
    cdef Py_ssize_t work = batch * n_in * (n_out + _ROW_UPDATE_COST) + n_in * n_out
    if work >= batch * other_per_row:
        return False
    if type_num == cnp.NPY_DOUBLE:
        return work <= _OUTER_LIMIT_F64
    return work <= _OUTER_LIMIT_F32


# Loops over at least this many multiply-adds release the GIL (releasing it costs ~40 ns).
cdef Py_ssize_t _NOGIL_MIN_FLOPS = 4096


cdef inline cnp.ndarray _empty_2d(Py_ssize_t rows, Py_ssize_t cols, int type_num):
    """A new (rows, cols) C-contiguous array; large ones from the buffer pool (_runtime.pyx)."""
    cdef cnp.npy_intp dims[2]
    dims[0] = rows
    dims[1] = cols
    return <cnp.ndarray>pool_empty(2, dims, type_num)


cdef object _blas_matmul(object a, object b, Py_ssize_t rows, Py_ssize_t cols, int type_num):
    """np.matmul(a, b) of shape (rows, cols): into a pooled array when the result is large
    (numpy would allocate a fresh one, which page-faults in every training step)."""
    if rows * cols * (8 if type_num == cnp.NPY_DOUBLE else 4) < 32768:
        return _np_matmul(a, b)
    cdef cnp.ndarray out = _empty_2d(rows, cols, type_num)
    _np_matmul(a, b, out=out)
    return out


# ---------------------------------------------------------------------------------------------
# C loops. Every one keeps a contiguous row in its innermost loop and writes no reduction
# there (a floating-point reduction cannot be vectorized without reordering the sum), so the
# compiler vectorizes it.
# ---------------------------------------------------------------------------------------------


cdef void _matmul_kernel(const floating* a, const floating* b, floating* c,
                         Py_ssize_t m, Py_ssize_t k, Py_ssize_t n) noexcept nogil:
    """c (m, n) = a (m, k) @ b (k, n):  c[i, :] = sum_p a[i, p] * b[p, :]."""
    cdef Py_ssize_t i, p, j
    cdef floating a_ip
    cdef floating* c_row
    cdef const floating* b_row
    if k == 1:  # an outer product (a Linear layer of one output, backward): one pass a row
        for i in range(m):
            c_row = c + i * n
            a_ip = a[i]
            for j in range(n):
                c_row[j] = 0 + a_ip * b[j]  # 0 + as below: a -0 product sums to +0
        return
    for i in range(m):
        c_row = c + i * n
        for j in range(n):
            c_row[j] = 0
        for p in range(k):
            a_ip = a[i * k + p]
            b_row = b + p * n
            for j in range(n):
                c_row[j] += a_ip * b_row[j]


cdef inline void _bias_act_row(floating* y_row, const floating* bias, Py_ssize_t n,
                               bint relu) noexcept nogil:
    """y_row += bias (if not NULL), then y_row = relu(y_row) if ``relu`` (as _elementwise's
    relu: NaN <= 0 is false, so NaN stays NaN): the end of each output row, in cache."""
    cdef Py_ssize_t o
    cdef floating v
    if bias != NULL:
        for o in range(n):
            y_row[o] = y_row[o] + bias[o]
    if relu:
        for o in range(n):
            v = y_row[o]
            y_row[o] = 0 if v <= 0 else v


cdef void _linear_forward_kernel(const floating* x, const floating* w, const floating* bias,
                                 floating* y, Py_ssize_t batch, Py_ssize_t n_in,
                                 Py_ssize_t n_out, bint relu) noexcept nogil:
    """y (N, out) = x (N, in) @ w (out, in).T + bias (out,); bias may be NULL; then the ReLU
    on each finished row if ``relu``.

    y[i, o] = sum_p x[i, p] * w[o, p] (+ bias[o]): both factors are contiguous rows, so each
    output is a dot product. Four outputs are computed together: x[i, p] is loaded once for
    four weight rows, and the four independent sums keep the adder busy (one running sum
    would wait on the latency of every addition). The bias is added after the sum, in the
    reference's order.
    """
    cdef Py_ssize_t i, o, p
    cdef floating acc0, acc1, acc2, acc3, x_ip
    cdef const floating* x_row
    cdef const floating* w0
    cdef const floating* w1
    cdef const floating* w2
    cdef const floating* w3
    cdef floating* y_row
    for i in range(batch):
        x_row = x + i * n_in
        y_row = y + i * n_out
        o = 0
        while o + 4 <= n_out:
            w0 = w + o * n_in
            w1 = w0 + n_in
            w2 = w1 + n_in
            w3 = w2 + n_in
            acc0 = 0
            acc1 = 0
            acc2 = 0
            acc3 = 0
            for p in range(n_in):
                x_ip = x_row[p]
                acc0 += x_ip * w0[p]
                acc1 += x_ip * w1[p]
                acc2 += x_ip * w2[p]
                acc3 += x_ip * w3[p]
            y_row[o] = acc0
            y_row[o + 1] = acc1
            y_row[o + 2] = acc2
            y_row[o + 3] = acc3
            o = o + 4
        while o < n_out:  # the last n_out % 4 outputs, one at a time
            w0 = w + o * n_in
            acc0 = 0
            for p in range(n_in):
                acc0 += x_row[p] * w0[p]
            y_row[o] = acc0
            o = o + 1
        _bias_act_row(y_row, bias, n_out, relu)


# Scratch space for the transposed weight of the outer-product loops below (on the stack:
# no allocation in a call that takes well under a microsecond).
cdef enum:
    _SCRATCH = 1024  # doubles (8 KiB): a weight of in * out <= 1024 elements


cdef void _linear_forward_outer_kernel(const floating* x, const floating* w,
                                       const floating* bias, floating* y, floating* wt,
                                       Py_ssize_t batch, Py_ssize_t n_in,
                                       Py_ssize_t n_out, bint relu) noexcept nogil:
    """_linear_forward_kernel for a short n_in (x (100, 2) into 10 outputs): the dot products
    of that kernel would be 2 elements long, all loop overhead. Here the weight is transposed
    into ``wt`` (in, out) first, and each output row is built as

        y[i, :] = x[i, 0] wt[0, :] + x[i, 1] wt[1, :] + ... (+ bias)

    so the innermost loop runs along the n_out outputs. Every y[i, o] is summed over p in the
    same order as the dot product, and the bias added last: the same bits.
    """
    cdef Py_ssize_t i, o, p
    cdef floating x_ip
    cdef const floating* x_row
    cdef const floating* wt_row
    cdef floating* y_row
    for o in range(n_out):
        for p in range(n_in):
            wt[p * n_out + o] = w[o * n_in + p]
    for i in range(batch):
        x_row = x + i * n_in
        y_row = y + i * n_out
        if n_in == 0:
            for o in range(n_out):
                y_row[o] = 0
        else:
            x_ip = x_row[0]
            for o in range(n_out):
                y_row[o] = x_ip * wt[o]
            for p in range(1, n_in):
                x_ip = x_row[p]
                wt_row = wt + p * n_out
                for o in range(n_out):
                    y_row[o] = y_row[o] + x_ip * wt_row[o]
        _bias_act_row(y_row, bias, n_out, relu)


cdef void _bias_act_rows(floating* y, const floating* v, Py_ssize_t rows, Py_ssize_t cols,
                         bint relu) noexcept nogil:
    """y[i, :] += v for every row i (v may be NULL), then the ReLU if ``relu``: the end of a
    BLAS-computed linear_forward, one pass over the fresh result."""
    cdef Py_ssize_t i
    for i in range(rows):
        _bias_act_row(y + i * cols, v, cols, relu)


cdef void _grad_weight_kernel(const floating* g, const floating* x, floating* gw,
                              Py_ssize_t batch, Py_ssize_t n_in,
                              Py_ssize_t n_out) noexcept nogil:
    """gw (out, in) = g (N, out).T @ x (N, in):  gw[o, :] = sum_i g[i, o] * x[i, :]."""
    cdef Py_ssize_t i, o, p
    cdef floating g_io
    cdef floating* gw_row
    cdef const floating* x_row
    for p in range(n_out * n_in):
        gw[p] = 0
    for i in range(batch):
        x_row = x + i * n_in
        for o in range(n_out):
            g_io = g[i * n_out + o]
            gw_row = gw + o * n_in
            for p in range(n_in):
                gw_row[p] += g_io * x_row[p]


cdef void _grad_weight_outer_kernel(const floating* g, const floating* x, floating* gw,
                                    floating* gwt, Py_ssize_t batch, Py_ssize_t n_in,
                                    Py_ssize_t n_out) noexcept nogil:
    """_grad_weight_kernel for a short n_in: gw.T (in, out) is summed in ``gwt`` row by row,

        gwt[p, :] += x[i, p] * g[i, :]   for i = 0, 1, ..., N - 1,

    (the innermost loop along the n_out outputs), then transposed into gw. Each entry sums
    over i in the same order as _grad_weight_kernel: the same bits.
    """
    cdef Py_ssize_t i, o, p
    cdef floating x_ip
    cdef const floating* g_row
    cdef floating* gwt_row
    for p in range(n_out * n_in):
        gwt[p] = 0
    for i in range(batch):
        g_row = g + i * n_out
        for p in range(n_in):
            x_ip = x[i * n_in + p]
            gwt_row = gwt + p * n_out
            for o in range(n_out):
                gwt_row[o] += x_ip * g_row[o]
    for o in range(n_out):
        for p in range(n_in):
            gw[o * n_in + p] = gwt[p * n_out + o]


# ---------------------------------------------------------------------------------------------
# Python-visible kernels
# ---------------------------------------------------------------------------------------------


def matmul(a, b):
    """(m, k) @ (k, n) -> (m, n), both 2-D and of one float dtype."""
    cdef int type_num = _fast_float_type(a)
    if type_num < 0 or _fast_float_type(b) != type_num:
        return _reference.matmul(a, b)
    cdef cnp.ndarray A = <cnp.ndarray>a
    cdef cnp.ndarray B = <cnp.ndarray>b
    if cnp.PyArray_NDIM(A) != 2 or cnp.PyArray_NDIM(B) != 2:
        return _reference.matmul(a, b)
    cdef Py_ssize_t m = cnp.PyArray_DIMS(A)[0]
    cdef Py_ssize_t k = cnp.PyArray_DIMS(A)[1]
    cdef Py_ssize_t n = cnp.PyArray_DIMS(B)[1]
    if cnp.PyArray_DIMS(B)[0] != k:
        return _reference.matmul(a, b)  # numpy raises its shape-mismatch ValueError
    if not _row_update_loop_wins(m * k, n, type_num):
        return _blas_matmul(a, b, m, n, type_num)
    cdef Py_ssize_t flops = m * k * n
    cdef cnp.ndarray out = _empty_2d(m, n, type_num)
    cdef void* pa = cnp.PyArray_DATA(A)
    cdef void* pb = cnp.PyArray_DATA(B)
    cdef void* pc = cnp.PyArray_DATA(out)
    if type_num == cnp.NPY_DOUBLE:
        if flops >= _NOGIL_MIN_FLOPS:
            with nogil:
                _matmul_kernel(<const double*>pa, <const double*>pb, <double*>pc, m, k, n)
        else:
            _matmul_kernel(<const double*>pa, <const double*>pb, <double*>pc, m, k, n)
    else:
        if flops >= _NOGIL_MIN_FLOPS:
            with nogil:
                _matmul_kernel(<const float*>pa, <const float*>pb, <float*>pc, m, k, n)
        else:
            _matmul_kernel(<const float*>pa, <const float*>pb, <float*>pc, m, k, n)
    return out


def linear_forward(x, weight, bias):
    """y = x @ weight.T + bias with x: (N, in), weight: (out, in), bias: (out,) or None.

    Returns y: (N, out).
    """
    return _linear(x, weight, bias, False)


cdef object _linear_reference(x, weight, bias, bint relu):
    if relu:
        return _reference.linear_relu(x, weight, bias)
    return _reference.linear_forward(x, weight, bias)


cdef object _linear(x, weight, bias, bint relu):
    """linear_forward, and (``relu``) the ReLU applied to each row as it is finished."""
    cdef int type_num = _fast_float_type(x)
    if type_num < 0 or _fast_float_type(weight) != type_num:
        return _linear_reference(x, weight, bias, relu)
    if bias is not None and _fast_float_type(bias) != type_num:
        return _linear_reference(x, weight, bias, relu)
    cdef cnp.ndarray X = <cnp.ndarray>x
    cdef cnp.ndarray W = <cnp.ndarray>weight
    if cnp.PyArray_NDIM(X) != 2 or cnp.PyArray_NDIM(W) != 2:
        return _linear_reference(x, weight, bias, relu)
    cdef Py_ssize_t batch = cnp.PyArray_DIMS(X)[0]
    cdef Py_ssize_t n_in = cnp.PyArray_DIMS(X)[1]
    cdef Py_ssize_t n_out = cnp.PyArray_DIMS(W)[0]
    if cnp.PyArray_DIMS(W)[1] != n_in:
        return _linear_reference(x, weight, bias, relu)
    cdef const void* pbias = NULL
    if bias is not None:
        if cnp.PyArray_NDIM(<cnp.ndarray>bias) != 1 or cnp.PyArray_DIMS(<cnp.ndarray>bias)[0] != n_out:
            return _linear_reference(x, weight, bias, relu)
        pbias = cnp.PyArray_DATA(<cnp.ndarray>bias)

    cdef cnp.ndarray y
    cdef void* py
    cdef double scratch[_SCRATCH]
    if _outer_loop_wins(batch, n_in, n_out, n_out * (n_in + _DOT_COST), type_num):
        y = _empty_2d(batch, n_out, type_num)
        py = cnp.PyArray_DATA(y)
        if type_num == cnp.NPY_DOUBLE:
            _linear_forward_outer_kernel(
                <const double*>cnp.PyArray_DATA(X), <const double*>cnp.PyArray_DATA(W),
                <const double*>pbias, <double*>py, scratch, batch, n_in, n_out, relu)
        else:
            _linear_forward_outer_kernel(
                <const float*>cnp.PyArray_DATA(X), <const float*>cnp.PyArray_DATA(W),
                <const float*>pbias, <float*>py, <float*>scratch, batch, n_in, n_out, relu)
        return y
    if not _dot_loop_wins(batch * n_out, n_in, type_num):
        # BLAS for the product (weight.T is a transposed view: no copy, BLAS reads it as is),
        # then the bias (and ReLU) in one C pass over the fresh C-contiguous result.
        y = _blas_matmul(x, cnp.PyArray_Transpose(W, NULL),  # W.T: a view
                         batch, n_out, type_num)
        if not cnp.PyArray_IS_C_CONTIGUOUS(y):
            # numpy chose another layout for y: the C loop below assumes rows
            if pbias != NULL:
                y += bias
            return _reference.relu(y) if relu else y
        if pbias != NULL or relu:
            py = cnp.PyArray_DATA(y)
            if type_num == cnp.NPY_DOUBLE:
                _bias_act_rows(<double*>py, <const double*>pbias, batch, n_out, relu)
            else:
                _bias_act_rows(<float*>py, <const float*>pbias, batch, n_out, relu)
        return y

    y = _empty_2d(batch, n_out, type_num)
    py = cnp.PyArray_DATA(y)
    cdef const void* px = cnp.PyArray_DATA(X)
    cdef const void* pw = cnp.PyArray_DATA(W)
    if type_num == cnp.NPY_DOUBLE:
        _linear_forward_kernel(<const double*>px, <const double*>pw, <const double*>pbias,
                               <double*>py, batch, n_in, n_out, relu)
    else:
        _linear_forward_kernel(<const float*>px, <const float*>pw, <const float*>pbias,
                               <float*>py, batch, n_in, n_out, relu)
    return y


def linear_backward(grad_output, x, weight, need_x, need_weight, need_bias):
    """Gradients of y = x @ weight.T + bias, given g = dL/dy of shape (N, out):

    dL/dx = g @ weight        (N, in),
    dL/dweight = g.T @ x      (out, in),
    dL/dbias = sum_i g[i, :]  (out,).
    Returns (grad_x, grad_weight, grad_bias); an entry not asked for is None.
    """
    cdef int type_num = _fast_float_type(grad_output)
    if (type_num < 0 or _fast_float_type(x) != type_num
            or _fast_float_type(weight) != type_num):
        return _reference.linear_backward(grad_output, x, weight, need_x, need_weight,
                                          need_bias)
    cdef cnp.ndarray G = <cnp.ndarray>grad_output
    cdef cnp.ndarray X = <cnp.ndarray>x
    cdef cnp.ndarray W = <cnp.ndarray>weight
    if cnp.PyArray_NDIM(G) != 2 or cnp.PyArray_NDIM(X) != 2 or cnp.PyArray_NDIM(W) != 2:
        return _reference.linear_backward(grad_output, x, weight, need_x, need_weight,
                                          need_bias)
    cdef Py_ssize_t batch = cnp.PyArray_DIMS(G)[0]
    cdef Py_ssize_t n_out = cnp.PyArray_DIMS(G)[1]
    cdef Py_ssize_t n_in = cnp.PyArray_DIMS(W)[1]
    if (cnp.PyArray_DIMS(W)[0] != n_out or cnp.PyArray_DIMS(X)[0] != batch
            or cnp.PyArray_DIMS(X)[1] != n_in):
        return _reference.linear_backward(grad_output, x, weight, need_x, need_weight,
                                          need_bias)

    cdef const void* pg = cnp.PyArray_DATA(G)
    cdef const void* px = cnp.PyArray_DATA(X)
    cdef const void* pw = cnp.PyArray_DATA(W)
    cdef void* pout
    grad_x = grad_weight = grad_bias = None

    if need_x:
        if not _row_update_loop_wins(batch * n_out, n_in, type_num):
            grad_x = _blas_matmul(G, W, batch, n_in, type_num)
        else:
            # g (N, out) @ weight (out, in): exactly the matmul loop.
            grad_x = _empty_2d(batch, n_in, type_num)
            pout = cnp.PyArray_DATA(<cnp.ndarray>grad_x)
            if type_num == cnp.NPY_DOUBLE:
                _matmul_kernel(<const double*>pg, <const double*>pw, <double*>pout,
                               batch, n_out, n_in)
            else:
                _matmul_kernel(<const float*>pg, <const float*>pw, <float*>pout,
                               batch, n_out, n_in)
    cdef double scratch[_SCRATCH]
    if need_weight and _outer_loop_wins(batch, n_in, n_out, n_out * (n_in + _ROW_UPDATE_COST),
                                        type_num):
        grad_weight = _empty_2d(n_out, n_in, type_num)
        pout = cnp.PyArray_DATA(<cnp.ndarray>grad_weight)
        if type_num == cnp.NPY_DOUBLE:
            _grad_weight_outer_kernel(<const double*>pg, <const double*>px, <double*>pout,
                                      scratch, batch, n_in, n_out)
        else:
            _grad_weight_outer_kernel(<const float*>pg, <const float*>px, <float*>pout,
                                      <float*>scratch, batch, n_in, n_out)
    elif need_weight:
        if not _row_update_loop_wins(batch * n_out, n_in, type_num):
            grad_weight = _blas_matmul(cnp.PyArray_Transpose(G, NULL), X, n_out, n_in,
                                       type_num)  # G.T @ X
        else:
            grad_weight = _empty_2d(n_out, n_in, type_num)
            pout = cnp.PyArray_DATA(<cnp.ndarray>grad_weight)
            if type_num == cnp.NPY_DOUBLE:
                _grad_weight_kernel(<const double*>pg, <const double*>px, <double*>pout,
                                    batch, n_in, n_out)
            else:
                _grad_weight_kernel(<const float*>pg, <const float*>px, <float*>pout,
                                    batch, n_in, n_out)
    if need_bias:
        grad_bias = cnp.PyArray_EMPTY(1, cnp.PyArray_DIMS(G) + 1, type_num, 0)
        pout = cnp.PyArray_DATA(<cnp.ndarray>grad_bias)
        if type_num == cnp.NPY_DOUBLE:
            _sum_rows_kernel(<const double*>pg, <double*>pout, batch, n_out)
        else:
            _sum_rows_kernel(<const float*>pg, <float*>pout, batch, n_out)
    return grad_x, grad_weight, grad_bias


# ---------------------------------------------------------------------------------------------
# A Linear layer and the activation after it (nn.Sequential runs the pair as one node)
# ---------------------------------------------------------------------------------------------

cdef enum Activation:
    ACT_RELU
    ACT_SIGMOID
    ACT_TANH


cdef int _activation_code(str act) except -1:
    if act == "relu":
        return ACT_RELU
    if act == "sigmoid":
        return ACT_SIGMOID
    if act == "tanh":
        return ACT_TANH
    raise ValueError(f"unknown activation {act!r}: expected 'relu', 'sigmoid' or 'tanh'")


cdef void _activation_grad_rows(int act, const floating* y, const floating* g, floating* dz,
                                floating* grad_bias, Py_ssize_t rows,
                                Py_ssize_t cols) noexcept nogil:
    """dz = g * act'(z) from the activation's output y = act(z), and (if grad_bias is not
    NULL) grad_bias = the sum of dz's rows, in the same pass over each row:

        relu:     act'(z) = 1[y > 0]  (y > 0 exactly where z > 0; a NaN passes g)
        sigmoid:  act'(z) = y (1 - y)
        tanh:     act'(z) = 1 - y^2

    Each value is computed as _elementwise's activation gradients compute it and the rows are
    summed in _sum_rows_kernel's order: the same bits as the two separate kernels.
    """
    cdef Py_ssize_t i, j
    cdef floating v
    cdef floating one = 1  # typed, as in _elementwise (a bare 1 would compute in double)
    cdef const floating* y_row
    cdef const floating* g_row
    cdef floating* dz_row
    for i in range(rows):
        y_row = y + i * cols
        g_row = g + i * cols
        dz_row = dz + i * cols
        if act == ACT_RELU:
            for j in range(cols):
                v = g_row[j]
                dz_row[j] = 0 if y_row[j] <= 0 else v
        elif act == ACT_SIGMOID:
            for j in range(cols):
                v = y_row[j]
                dz_row[j] = g_row[j] * v * (one - v)
        else:
            for j in range(cols):
                v = y_row[j]
                dz_row[j] = g_row[j] * (one - v * v)
        if grad_bias != NULL:
            if i == 0:
                for j in range(cols):
                    grad_bias[j] = dz_row[j]
            else:
                for j in range(cols):
                    grad_bias[j] = grad_bias[j] + dz_row[j]
    if grad_bias != NULL and rows == 0:
        for j in range(cols):
            grad_bias[j] = 0


def linear_relu(x, weight, bias):
    """relu(x @ weight.T + bias) with x: (N, in), weight: (out, in), bias: (out,) or None.

    linear_forward with the bias and the ReLU applied to each output row as it is finished
    (one pass, no second array). Returns y: (N, out).
    """
    return _linear(x, weight, bias, True)


def linear_act_backward(grad_output, y, x, weight, act, need_x, need_weight, need_bias):
    """Gradients of y = act(x @ weight.T + bias), act 'relu', 'sigmoid' or 'tanh', given
    g = dL/dy (N, out) and the output y (N, out):

    dz = g * act'(z) (from y: see _activation_grad_rows), then Linear's gradients of dz:
    dL/dx = dz @ weight (N, in), dL/dweight = dz.T @ x (out, in), dL/dbias = sum_i dz[i, :].
    Returns (grad_x, grad_weight, grad_bias); an entry not asked for is None.
    """
    cdef int code = _activation_code(act)
    cdef int type_num = _fast_float_type(grad_output)
    if (type_num < 0 or _fast_float_type(y) != type_num
            or cnp.PyArray_NDIM(<cnp.ndarray>grad_output) != 2
            or not cnp.PyArray_SAMESHAPE(<cnp.ndarray>grad_output, <cnp.ndarray>y)):
        return _reference.linear_act_backward(grad_output, y, x, weight, act, need_x,
                                              need_weight, need_bias)
    cdef cnp.ndarray G = <cnp.ndarray>grad_output
    cdef Py_ssize_t rows = cnp.PyArray_DIMS(G)[0]
    cdef Py_ssize_t cols = cnp.PyArray_DIMS(G)[1]
    cdef cnp.ndarray dz = _empty_2d(rows, cols, type_num)
    grad_bias = None
    cdef void* pb = NULL
    if need_bias:
        grad_bias = cnp.PyArray_EMPTY(1, cnp.PyArray_DIMS(G) + 1, type_num, 0)
        pb = cnp.PyArray_DATA(<cnp.ndarray>grad_bias)
    if type_num == cnp.NPY_DOUBLE:
        _activation_grad_rows(code, <const double*>cnp.PyArray_DATA(<cnp.ndarray>y),
                              <const double*>cnp.PyArray_DATA(G),
                              <double*>cnp.PyArray_DATA(dz), <double*>pb, rows, cols)
    else:
        _activation_grad_rows(code, <const float*>cnp.PyArray_DATA(<cnp.ndarray>y),
                              <const float*>cnp.PyArray_DATA(G),
                              <float*>cnp.PyArray_DATA(dz), <float*>pb, rows, cols)
    grad_x, grad_weight, _ = linear_backward(dz, x, weight, need_x, need_weight, False)
    return grad_x, grad_weight, grad_bias
