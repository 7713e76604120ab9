# cython: language_level=3
"""Compiled convolution and pooling kernels: im2col/col2im, conv2d and its two gradients,
max/average pooling over window tables, and the gather/scatter of max pooling.

Twins of the functions of the same names in ``reference.py`` (read that file for what each
one computes and for the conventions: 2-D windows, pairs (height, width), padding tables).

How a convolution is computed
-----------------------------
A convolution is a matrix product once the windows of the input are laid out as columns
("im2col"): with groups G, weight (O, Cg, kh, kw) = G blocks Wg (Og, Cg*kh*kw) and

    cols (G, Cg*kh*kw, N*L)   cols[g, (c*kh + i)*kw + j, n*L + l] = x[n, g*Cg + c, window l]
    Y_g = Wg @ cols[g]         (Og, N*L),   y[n, g*Og + o, l] = Y_g[o, n*L + l] + bias

(L = Ho*Wo). The whole batch is one product per group, so the product is as wide as it can
be (a batch of 8x8 images is a few thousand columns, not 64). The two gradients are products
of the same pieces, with g = dL/dy rearranged as gT (G, Og, N*L):

    dL/dx = col2im(Wg.T @ gT[g])          dL/dweight[g] = gT[g] @ cols[g].T

The products go to one of two implementations, chosen per call by the work to do:

- small products: C loops here (row updates for the first two forms, four interleaved dot
  products for the third), which finish before numpy has dispatched to BLAS;
- larger ones: ``np.matmul`` (OpenBLAS: blocked, SIMD, multi-threaded), far faster than any
  loop compiled for baseline x86-64.

The crossover is ``_LOOP_MAX_WORK`` below, measured with bench/conv.py ``--crossover``.
im2col, col2im, the rearrangements and the bias are C loops in every case.

Pooling reads its windows from index tables, one per spatial dimension (``rows`` (Ho, kh),
``cols`` (Wo, kw), -1 where a window reads padding), so one loop serves max pooling with
padding, dilation and ceil_mode, and adaptive pooling (windows of varying size).

Inputs of other layouts or byte orders are copied to C-contiguous native arrays of their
float dtype; non-float inputs go to the reference (numpy). Shapes and parameters have been
checked by the Python layer (``nn/functional_conv.py``).
"""
cimport numpy as cnp
from cython cimport floating
from libc.math cimport INFINITY

from ._common cimport _fast_float_type

import numpy as np

from . import reference as _reference

cnp.import_array()

cdef object _np_matmul = np.matmul
cdef object _np_require = np.require
cdef object _np_float32 = np.float32
cdef object _np_float64 = np.float64

# Where the C loops stop and BLAS starts: a product of an (m, k) by a (k, n) matrix takes the
# loop when m * k * (n + _LOOP_RUN_COST) <= _LOOP_MAX_WORK, i.e. while the loop's whole run is
# shorter than np.matmul's fixed cost plus its (much faster) arithmetic. The fixed cost per
# run of the innermost loop (set-up, remainder) is worth about 8 elements. Read off
# ``python bench/conv.py --crossover`` (forward and both gradients of LeNet's two layers,
# float32, 2-core x86-64, OpenBLAS 0.3.31; times for all three kernels):
#
#     layer (m, k, n)      work      loop     BLAS    loop/BLAS
#     conv1 (6, 25, 64)    10800    12.4 us  18.7 us    0.66
#     conv2 (16, 54, 16)   20736    17.5 us  16.5 us    1.06
#     conv1 (6, 25, 128)   20400    22.4 us  22.9 us    0.98
#     conv1 (6, 25, 256)   39600    38.6 us  34.3 us    1.13
#     conv2 (16, 54, 64)   62208    47.9 us  37.9 us    1.26
#
# so the two are even near 20000 (the C loop is 2.5x slower by a few hundred thousand).
cdef Py_ssize_t _LOOP_RUN_COST = 8
cdef Py_ssize_t _LOOP_MAX_WORK = 20000

# Products handed to BLAS are cut into blocks of at most this many multiply-adds. OpenBLAS
# runs a product of more than 65536 * 4 = 262144 of them (its SMP_THRESHOLD_MIN times
# GEMM_MULTITHREAD_THRESHOLD) on all its threads, which busy-wait for each other; on a machine
# whose cores are shared with other processes (the reference machine: 2 cores, a load of 6-10)
# a threaded product of LeNet's sizes then took 10 to 1000 times as long as on one thread
# (bench/conv.py at batch 256: 1.4 s instead of 1.3 ms for a conv layer). Blocks below the
# threshold always run on the calling thread; a convolution's products are few and mid-sized,
# so the blocks cost little (about 1.5 us of numpy call each) and gain little from threads.
cdef Py_ssize_t _BLAS_CHUNK_WORK = 262144

# Batches of at least this many images, whose output rows are shorter than the batch, use the
# batch-last columns (see below). From the same run (all three kernels, default products):
#
#     layer (Wo)   batch   standard   batch-last
#     conv2 (4)        4    32.4 us     32.9 us
#     conv2 (4)        8    53.4 us     39.2 us
#     conv2 (4)      256   (>1 ms)     891 us
#     conv1 (8)        8    56.3 us     56.2 us
#     conv1 (8)       16   111.7 us     81.2 us
#     conv1 (8)      256     2.4 ms      1.2 ms
cdef Py_ssize_t _BATCH_LAST_MIN_BATCH = 8


def _set_limits(loop_max_work=None, batch_last_min_batch=None):
    """Set the crossovers (for bench/conv.py --crossover); returns the old values."""
    global _LOOP_MAX_WORK, _BATCH_LAST_MIN_BATCH
    old = (_LOOP_MAX_WORK, _BATCH_LAST_MIN_BATCH)
    if loop_max_work is not None:
        _LOOP_MAX_WORK = loop_max_work
    if batch_last_min_batch is not None:
        _BATCH_LAST_MIN_BATCH = batch_last_min_batch
    return old


cdef struct Geometry:
    Py_ssize_t n, c, h, w          # input (N, C, H, W)
    Py_ssize_t o, g                # output channels, groups
    Py_ssize_t kh, kw, ho, wo      # kernel and output sizes
    Py_ssize_t sh, sw, ph, pw, dh, dw


cdef inline bint _loop_wins(Py_ssize_t m, Py_ssize_t k, Py_ssize_t n) noexcept:
    return m * k * (n + _LOOP_RUN_COST) <= _LOOP_MAX_WORK


cdef inline int _float_type(object x) noexcept:
    """NPY_FLOAT or NPY_DOUBLE for a float32/float64 ndarray (any layout), else -1."""
    if not cnp.PyArray_Check(x):
        return -1
    cdef int t = cnp.PyArray_TYPE(<cnp.ndarray>x)
    if t == cnp.NPY_FLOAT or t == cnp.NPY_DOUBLE:
        return t
    return -1


cdef inline cnp.ndarray _fast(object x, int type_num):
    """x as a C-contiguous, aligned, native-order array of type_num (a copy only if needed)."""
    if _fast_float_type(x) == type_num:
        return <cnp.ndarray>x
    return <cnp.ndarray>_np_require(x, _np_float64 if type_num == cnp.NPY_DOUBLE
                                    else _np_float32, "CA")


cdef inline cnp.ndarray _fast_index(object a):
    """An index table or index array as C-contiguous aligned int64 (a copy only if needed)."""
    if (cnp.PyArray_CheckExact(a) and cnp.PyArray_TYPE(<cnp.ndarray>a) == cnp.NPY_INT64
            and cnp.PyArray_ISCARRAY_RO(<cnp.ndarray>a)
            and cnp.PyArray_ISNOTSWAPPED(<cnp.ndarray>a)):
        return <cnp.ndarray>a
    return <cnp.ndarray>_np_require(a, np.int64, "CA")


cdef inline cnp.ndarray _empty(int nd, Py_ssize_t* dims, int type_num):
    return cnp.PyArray_EMPTY(nd, <cnp.npy_intp*>dims, type_num, 0)


cdef inline cnp.ndarray _zeros(int nd, Py_ssize_t* dims, int type_num):
    return cnp.PyArray_ZEROS(nd, <cnp.npy_intp*>dims, type_num, 0)


cdef inline void _valid_range(Py_ssize_t count, Py_ssize_t stride, Py_ssize_t offset,
                              Py_ssize_t size, Py_ssize_t* lo, Py_ssize_t* hi) noexcept nogil:
    """The positions q in [0, count) with 0 <= q*stride + offset < size: [lo, hi)."""
    cdef Py_ssize_t a = 0, b
    if offset < 0:
        a = (-offset + stride - 1) // stride
    if size - offset <= 0:
        b = 0
    else:
        b = (size - offset + stride - 1) // stride
    if a > count:
        a = count
    if b > count:
        b = count
    if b < a:
        b = a
    lo[0] = a
    hi[0] = b


# ---------------------------------------------------------------------------------------------
# im2col / col2im. ``row_stride`` and ``sample_stride`` place window row r = (c*kh + i)*kw + j
# of sample n at cols[r*row_stride + n*sample_stride + l]: (C*kh*kw, N*L) for the convolution
# (row_stride = N*L, sample_stride = L), (N, C*kh*kw, L) for F.unfold (L, C*kh*kw*L).
# ---------------------------------------------------------------------------------------------


cdef void _im2col_kernel(const floating* x, floating* cols, Geometry* q,
                         Py_ssize_t row_stride, Py_ssize_t sample_stride) noexcept nogil:
    cdef Py_ssize_t n, c, i, j, oh, ow, ih, lo, hi, r, base, off
    cdef floating* dst
    for c in range(q.c):
        for i in range(q.kh):
            for j in range(q.kw):
                r = (c * q.kh + i) * q.kw + j
                off = j * q.dw - q.pw
                _valid_range(q.wo, q.sw, off, q.w, &lo, &hi)
                for n in range(q.n):
                    for oh in range(q.ho):
                        dst = cols + r * row_stride + n * sample_stride + oh * q.wo
                        ih = oh * q.sh - q.ph + i * q.dh
                        if ih < 0 or ih >= q.h or lo == hi:
                            for ow in range(q.wo):
                                dst[ow] = 0
                            continue
                        base = ((n * q.c + c) * q.h + ih) * q.w + off
                        for ow in range(lo):
                            dst[ow] = 0
                        if q.sw == 1:
                            for ow in range(lo, hi):
                                dst[ow] = x[base + ow]
                        else:
                            for ow in range(lo, hi):
                                dst[ow] = x[base + ow * q.sw]
                        for ow in range(hi, q.wo):
                            dst[ow] = 0


cdef void _col2im_kernel(const floating* cols, floating* x, Geometry* q,
                         Py_ssize_t row_stride, Py_ssize_t sample_stride) noexcept nogil:
    """x (zeroed by the caller) += each column entry at the position im2col read it from."""
    cdef Py_ssize_t n, c, i, j, oh, ow, ih, lo, hi, r, base, off
    cdef const floating* src
    for c in range(q.c):
        for i in range(q.kh):
            for j in range(q.kw):
                r = (c * q.kh + i) * q.kw + j
                off = j * q.dw - q.pw
                _valid_range(q.wo, q.sw, off, q.w, &lo, &hi)
                if lo == hi:
                    continue
                for n in range(q.n):
                    for oh in range(q.ho):
                        ih = oh * q.sh - q.ph + i * q.dh
                        if ih < 0 or ih >= q.h:
                            continue
                        src = cols + r * row_stride + n * sample_stride + oh * q.wo
                        base = ((n * q.c + c) * q.h + ih) * q.w + off
                        if q.sw == 1:
                            for ow in range(lo, hi):
                                x[base + ow] += src[ow]
                        else:
                            for ow in range(lo, hi):
                                x[base + ow * q.sw] += src[ow]


cdef void _im2col(int t, const void* x, void* cols, Geometry* q, Py_ssize_t row_stride,
                  Py_ssize_t sample_stride) noexcept nogil:
    if t == cnp.NPY_DOUBLE:
        _im2col_kernel(<const double*>x, <double*>cols, q, row_stride, sample_stride)
    else:
        _im2col_kernel(<const float*>x, <float*>cols, q, row_stride, sample_stride)


cdef void _col2im(int t, const void* cols, void* x, Geometry* q, Py_ssize_t row_stride,
                  Py_ssize_t sample_stride) noexcept nogil:
    if t == cnp.NPY_DOUBLE:
        _col2im_kernel(<const double*>cols, <double*>x, q, row_stride, sample_stride)
    else:
        _col2im_kernel(<const float*>cols, <float*>x, q, row_stride, sample_stride)


# ---------------------------------------------------------------------------------------------
# Batch-last im2col / col2im for batches of small images. The standard columns copy one
# output row (Wo elements, 4 or 8 for LeNet's images) at a time, and for small images the
# set-up of each short copy costs more than the copy. With the batch as the last axis,
# xT (C, H, W, N), every column entry is a run of N contiguous elements:
#
#     cols[r, oh, ow, :] = xT[c, oh*sh - ph + i*dh, ow*sw - pw + j*dw, :]   (or zeros)
#
# so the copies are long and vectorized. The product then gives (O, Ho, Wo, N), and one
# transpose each way (blocked, below) moves between (N, ...) and (..., N).
# ---------------------------------------------------------------------------------------------


cdef void _transpose_kernel(const floating* src, floating* dst, Py_ssize_t rows,
                            Py_ssize_t cols) noexcept nogil:
    """dst (cols, rows) = src (rows, cols).T, in 16 x 16 tiles (each tile's reads and writes
    stay in cache)."""
    cdef Py_ssize_t i0, j0, i, j, i1, j1
    for i0 in range(0, rows, 16):
        i1 = min(i0 + 16, rows)
        for j0 in range(0, cols, 16):
            j1 = min(j0 + 16, cols)
            for j in range(j0, j1):
                for i in range(i0, i1):
                    dst[j * rows + i] = src[i * cols + j]


cdef void _transpose_bias_kernel(const floating* src, const floating* bias, floating* dst,
                                 Py_ssize_t o, Py_ssize_t l, Py_ssize_t n) noexcept nogil:
    """dst (N, O, L) = src (O, L, N) transposed, plus bias[o] (bias may be NULL)."""
    cdef Py_ssize_t i0, j0, i, j, i1, j1, rows = o * l
    cdef floating b = 0
    for i0 in range(0, rows, 16):
        i1 = min(i0 + 16, rows)
        for j0 in range(0, n, 16):
            j1 = min(j0 + 16, n)
            for i in range(i0, i1):
                if bias != NULL:
                    b = bias[i // l]
                for j in range(j0, j1):
                    dst[j * rows + i] = src[i * n + j] + b


cdef void _im2col_bl_kernel(const floating* xt, floating* cols, Geometry* q) noexcept nogil:
    cdef Py_ssize_t c, i, j, oh, ow, ih, iw, k, r
    cdef Py_ssize_t n = q.n
    cdef floating* dst
    cdef const floating* src
    for c in range(q.c):
        for i in range(q.kh):
            for j in range(q.kw):
                r = (c * q.kh + i) * q.kw + j
                for oh in range(q.ho):
                    ih = oh * q.sh - q.ph + i * q.dh
                    for ow in range(q.wo):
                        iw = ow * q.sw - q.pw + j * q.dw
                        dst = cols + ((r * q.ho + oh) * q.wo + ow) * n
                        if ih < 0 or ih >= q.h or iw < 0 or iw >= q.w:
                            for k in range(n):
                                dst[k] = 0
                        else:
                            src = xt + ((c * q.h + ih) * q.w + iw) * n
                            for k in range(n):
                                dst[k] = src[k]


cdef void _col2im_bl_kernel(const floating* cols, floating* xt, Geometry* q) noexcept nogil:
    """xT (zeroed by the caller) += each column run at the position im2col read it from."""
    cdef Py_ssize_t c, i, j, oh, ow, ih, iw, k, r
    cdef Py_ssize_t n = q.n
    cdef floating* dst
    cdef const floating* src
    for c in range(q.c):
        for i in range(q.kh):
            for j in range(q.kw):
                r = (c * q.kh + i) * q.kw + j
                for oh in range(q.ho):
                    ih = oh * q.sh - q.ph + i * q.dh
                    if ih < 0 or ih >= q.h:
                        continue
                    for ow in range(q.wo):
                        iw = ow * q.sw - q.pw + j * q.dw
                        if iw < 0 or iw >= q.w:
                            continue
                        src = cols + ((r * q.ho + oh) * q.wo + ow) * n
                        dst = xt + ((c * q.h + ih) * q.w + iw) * n
                        for k in range(n):
                            dst[k] += src[k]


cdef void _transpose(int t, const void* src, void* dst, Py_ssize_t rows,
                     Py_ssize_t cols) noexcept nogil:
    if t == cnp.NPY_DOUBLE:
        _transpose_kernel(<const double*>src, <double*>dst, rows, cols)
    else:
        _transpose_kernel(<const float*>src, <float*>dst, rows, cols)


# ---------------------------------------------------------------------------------------------
# Small matrix products (C loops) and the rearrangements between (N, O, L) and (O, N*L).
# ---------------------------------------------------------------------------------------------


cdef void _gemm_kernel(const floating* a, Py_ssize_t a_row, Py_ssize_t a_col,
                       const floating* b, floating* c, Py_ssize_t m, Py_ssize_t k,
                       Py_ssize_t n) noexcept nogil:
    """c (m, n) = a (m, k) @ b (k, n), a[i, p] = a[i*a_row + p*a_col] (a may be transposed):
    c[i, :] = sum_p a[i, p] b[p, :], row updates (contiguous, vectorized)."""
    cdef Py_ssize_t i, p, j
    cdef floating a_ip
    cdef floating* c_row
    cdef const floating* b_row
    for i in range(m):
        c_row = c + i * n
        for j in range(n):
            c_row[j] = 0
        for p in range(k):
            a_ip = a[i * a_row + p * a_col]
            b_row = b + p * n
            for j in range(n):
                c_row[j] += a_ip * b_row[j]


cdef void _gemm_nt_kernel(const floating* a, const floating* b, floating* c, Py_ssize_t m,
                          Py_ssize_t k, Py_ssize_t n) noexcept nogil:
    """c (m, k) = a (m, n) @ b (k, n).T: c[i, p] = dot(a[i, :], b[p, :]); four products at
    once share each load of a[i, :] and keep four independent sums in flight."""
    cdef Py_ssize_t i, p, j
    cdef floating s0, s1, s2, s3, a_ij
    cdef const floating* a_row
    cdef const floating* b0
    cdef const floating* b1
    cdef const floating* b2
    cdef const floating* b3
    for i in range(m):
        a_row = a + i * n
        p = 0
        while p + 4 <= k:
            b0 = b + p * n
            b1 = b0 + n
            b2 = b1 + n
            b3 = b2 + n
            s0 = 0
            s1 = 0
            s2 = 0
            s3 = 0
            for j in range(n):
                a_ij = a_row[j]
                s0 += a_ij * b0[j]
                s1 += a_ij * b1[j]
                s2 += a_ij * b2[j]
                s3 += a_ij * b3[j]
            c[i * k + p] = s0
            c[i * k + p + 1] = s1
            c[i * k + p + 2] = s2
            c[i * k + p + 3] = s3
            p = p + 4
        while p < k:
            b0 = b + p * n
            s0 = 0
            for j in range(n):
                s0 += a_row[j] * b0[j]
            c[i * k + p] = s0
            p = p + 1


cdef void _nol_to_onl_kernel(const floating* src, floating* dst, Py_ssize_t n,
                             Py_ssize_t o, Py_ssize_t l) noexcept nogil:
    """dst (O, N, L) = src (N, O, L) rearranged."""
    cdef Py_ssize_t i, ch, j
    cdef const floating* s
    cdef floating* d
    for i in range(n):
        for ch in range(o):
            s = src + (i * o + ch) * l
            d = dst + (ch * n + i) * l
            for j in range(l):
                d[j] = s[j]


cdef void _onl_to_nol_kernel(const floating* src, const floating* bias, floating* dst,
                             Py_ssize_t n, Py_ssize_t o, Py_ssize_t l) noexcept nogil:
    """dst (N, O, L) = src (O, N, L) rearranged, plus bias[o] (bias may be NULL)."""
    cdef Py_ssize_t i, ch, j
    cdef const floating* s
    cdef floating* d
    cdef floating b
    for i in range(n):
        for ch in range(o):
            s = src + (ch * n + i) * l
            d = dst + (i * o + ch) * l
            if bias != NULL:
                b = bias[ch]
                for j in range(l):
                    d[j] = s[j] + b
            else:
                for j in range(l):
                    d[j] = s[j]


cdef void _add_bias_kernel(floating* y, const floating* bias, Py_ssize_t n, Py_ssize_t o,
                           Py_ssize_t l) noexcept nogil:
    cdef Py_ssize_t i, ch, j
    cdef floating* d
    cdef floating b
    for i in range(n):
        for ch in range(o):
            d = y + (i * o + ch) * l
            b = bias[ch]
            for j in range(l):
                d[j] = d[j] + b


cdef object _blas_in_chunks(int t, object a3, object b3, Py_ssize_t groups, Py_ssize_t m,
                            Py_ssize_t k, Py_ssize_t n):
    """(G, m, n) = a3[g] @ b3[g] through np.matmul, in column blocks of at most
    _BLAS_CHUNK_WORK multiply-adds each (see _BLAS_CHUNK_WORK)."""
    cdef Py_ssize_t dims[3]
    dims[0] = groups
    dims[1] = m
    dims[2] = n
    cdef cnp.ndarray out = _empty(3, dims, t)
    cdef Py_ssize_t step = max(1, _BLAS_CHUNK_WORK // max(1, m * k))
    cdef Py_ssize_t gi, j
    for gi in range(groups):
        a_g, b_g, out_g = a3[gi], b3[gi], out[gi]
        for j in range(0, n, step):
            _np_matmul(a_g, b_g[:, j:j + step], out=out_g[:, j:j + step])
    return out


cdef object _blas_nt_in_chunks(int t, object a3, object b3, Py_ssize_t groups, Py_ssize_t m,
                               Py_ssize_t k, Py_ssize_t n):
    """(G, m, k) = a3[g] (m, n) @ b3[g] (k, n).T through np.matmul, summed over blocks of the
    n axis of at most _BLAS_CHUNK_WORK multiply-adds each."""
    cdef Py_ssize_t dims[3]
    dims[0] = groups
    dims[1] = m
    dims[2] = k
    cdef cnp.ndarray out = _empty(3, dims, t)
    cdef Py_ssize_t step = max(1, _BLAS_CHUNK_WORK // max(1, m * k))
    cdef Py_ssize_t gi, j
    for gi in range(groups):
        a_g, b_g, out_g = a3[gi], b3[gi], out[gi]
        _np_matmul(a_g[:, :step], b_g[:, :step].T, out=out_g)
        for j in range(step, n, step):
            out_g += _np_matmul(a_g[:, j:j + step], b_g[:, j:j + step].T)
    return out


cdef object _matmul_into(int t, cnp.ndarray a, bint a_transposed, cnp.ndarray b,
                         Py_ssize_t groups, Py_ssize_t m, Py_ssize_t k, Py_ssize_t n):
    """(G, m, n) = a_g (m, k) @ b_g (k, n) for each group: a is (G, m, k) C-contiguous, or
    (G, k, m) read transposed; b is (G, k, n) C-contiguous. C loop or BLAS by size."""
    cdef Py_ssize_t dims[3]
    cdef cnp.ndarray out
    cdef Py_ssize_t gi, a_row, a_col
    cdef char* pa
    cdef char* pb
    cdef char* pc
    cdef Py_ssize_t item = 8 if t == cnp.NPY_DOUBLE else 4
    if not _loop_wins(m, k, n):
        a3 = a.reshape(groups, k, m).transpose(0, 2, 1) if a_transposed else \
            a.reshape(groups, m, k)
        b3 = b.reshape(groups, k, n)
        if groups == 1 and m * k * n <= _BLAS_CHUNK_WORK:
            return _np_matmul(a3[0], b3[0]).reshape(1, m, n)
        return _blas_in_chunks(t, a3, b3, groups, m, k, n)
    dims[0] = groups
    dims[1] = m
    dims[2] = n
    out = _empty(3, dims, t)
    if a_transposed:
        a_row, a_col = 1, m
    else:
        a_row, a_col = k, 1
    pa = <char*>cnp.PyArray_DATA(a)
    pb = <char*>cnp.PyArray_DATA(b)
    pc = <char*>cnp.PyArray_DATA(out)
    with nogil:
        for gi in range(groups):
            if t == cnp.NPY_DOUBLE:
                _gemm_kernel(<const double*>(pa + gi * m * k * item), a_row, a_col,
                             <const double*>(pb + gi * k * n * item),
                             <double*>(pc + gi * m * n * item), m, k, n)
            else:
                _gemm_kernel(<const float*>(pa + gi * m * k * item), a_row, a_col,
                             <const float*>(pb + gi * k * n * item),
                             <float*>(pc + gi * m * n * item), m, k, n)
    return out


cdef object _matmul_nt(int t, cnp.ndarray a, cnp.ndarray b, Py_ssize_t groups, Py_ssize_t m,
                       Py_ssize_t k, Py_ssize_t n):
    """(G, m, k) = a_g (m, n) @ b_g (k, n).T for each group (a (G, m, n), b (G, k, n))."""
    cdef Py_ssize_t dims[3]
    cdef cnp.ndarray out
    cdef Py_ssize_t gi
    cdef char* pa
    cdef char* pb
    cdef char* pc
    cdef Py_ssize_t item = 8 if t == cnp.NPY_DOUBLE else 4
    if not _loop_wins(m, k, n):
        a3 = a.reshape(groups, m, n)
        b3 = b.reshape(groups, k, n)
        if groups == 1 and m * k * n <= _BLAS_CHUNK_WORK:
            return _np_matmul(a3[0], b3[0].T).reshape(1, m, k)
        return _blas_nt_in_chunks(t, a3, b3, groups, m, k, n)
    dims[0] = groups
    dims[1] = m
    dims[2] = k
    out = _empty(3, dims, t)
    pa = <char*>cnp.PyArray_DATA(a)
    pb = <char*>cnp.PyArray_DATA(b)
    pc = <char*>cnp.PyArray_DATA(out)
    with nogil:
        for gi in range(groups):
            if t == cnp.NPY_DOUBLE:
                _gemm_nt_kernel(<const double*>(pa + gi * m * n * item),
                                <const double*>(pb + gi * k * n * item),
                                <double*>(pc + gi * m * k * item), m, k, n)
            else:
                _gemm_nt_kernel(<const float*>(pa + gi * m * n * item),
                                <const float*>(pb + gi * k * n * item),
                                <float*>(pc + gi * m * k * item), m, k, n)
    return out


# ---------------------------------------------------------------------------------------------
# Python-visible kernels: convolution
# ---------------------------------------------------------------------------------------------


cdef inline void _set_geometry(Geometry* q, tuple stride, tuple padding, tuple dilation):
    """stride, dilation: (h, w); padding: ((top, bottom), (left, right)) or (top, left)."""
    q.sh = stride[0]
    q.sw = stride[1]
    q.dh = dilation[0]
    q.dw = dilation[1]
    top, left = padding
    q.ph = top[0] if isinstance(top, tuple) else top
    q.pw = left[0] if isinstance(left, tuple) else left


cdef inline bint _batch_last(Geometry* q) noexcept:
    """Whether the batch-last layout (long copies of N elements) beats the standard one
    (copies of Wo elements): see the module docstring and _BATCH_LAST_MIN_BATCH."""
    return q.n >= _BATCH_LAST_MIN_BATCH and q.wo < q.n


cdef cnp.ndarray _transposed(int t, cnp.ndarray a, Py_ssize_t rows, Py_ssize_t cols):
    """a seen as (rows, cols), transposed into a new C-contiguous (cols, rows) array."""
    cdef Py_ssize_t dims[2]
    dims[0] = cols
    dims[1] = rows
    cdef cnp.ndarray out = _empty(2, dims, t)
    cdef const void* pa = cnp.PyArray_DATA(a)
    cdef void* po = cnp.PyArray_DATA(out)
    with nogil:
        _transpose(t, pa, po, rows, cols)
    return out


cdef cnp.ndarray _conv_columns(int t, cnp.ndarray x, Geometry* q, bint batch_last):
    """The convolution's columns of x: (C*kh*kw, N*L) in the standard layout, or
    (C*kh*kw, L*N) batch-last (see the module docstring)."""
    cdef Py_ssize_t dims[2]
    cdef Py_ssize_t nl = q.n * q.ho * q.wo
    dims[0] = q.c * q.kh * q.kw
    dims[1] = nl
    cdef cnp.ndarray cols = _empty(2, dims, t)
    cdef cnp.ndarray xt
    cdef void* pc = cnp.PyArray_DATA(cols)
    cdef const void* px
    if batch_last:
        xt = _transposed(t, x, q.n, q.c * q.h * q.w)
        px = cnp.PyArray_DATA(xt)
        with nogil:
            if t == cnp.NPY_DOUBLE:
                _im2col_bl_kernel(<const double*>px, <double*>pc, q)
            else:
                _im2col_bl_kernel(<const float*>px, <float*>pc, q)
    else:
        px = cnp.PyArray_DATA(x)
        with nogil:
            _im2col(t, px, pc, q, nl, q.ho * q.wo)
    return cols


cdef cnp.ndarray _grad_rows(int t, cnp.ndarray G, Geometry* q, bint batch_last):
    """g (N, O, L) as gT (O, N*L) (standard; a view when N == 1) or (O, L*N) (batch-last)."""
    cdef Py_ssize_t l = q.ho * q.wo
    if batch_last:
        return _transposed(t, G, q.n, q.o * l)
    if q.n == 1:
        return G
    cdef Py_ssize_t dims[2]
    dims[0] = q.o
    dims[1] = q.n * l
    cdef cnp.ndarray out = _empty(2, dims, t)
    cdef const void* pg = cnp.PyArray_DATA(G)
    cdef void* po = cnp.PyArray_DATA(out)
    with nogil:
        if t == cnp.NPY_DOUBLE:
            _nol_to_onl_kernel(<const double*>pg, <double*>po, q.n, q.o, l)
        else:
            _nol_to_onl_kernel(<const float*>pg, <float*>po, q.n, q.o, l)
    return out


def conv2d(x, weight, bias, stride, padding, dilation, groups):
    """y = conv(x, weight) + bias: x (N, C, H, W), weight (O, C/groups, kh, kw), bias (O,) or
    None, padding ((top, bottom), (left, right)). Returns y (N, O, Ho, Wo)."""
    cdef int t = _float_type(x)
    if t < 0 or _float_type(weight) != t or (bias is not None and _float_type(bias) != t):
        return _reference.conv2d(x, weight, bias, stride, padding, dilation, groups)
    cdef cnp.ndarray X = _fast(x, t)
    cdef cnp.ndarray Wt = _fast(weight, t)
    cdef cnp.ndarray B = _fast(bias, t) if bias is not None else None
    cdef Geometry q
    _set_geometry(&q, stride, padding, dilation)
    q.n, q.c, q.h, q.w = X.shape[0], X.shape[1], X.shape[2], X.shape[3]
    q.o, q.kh, q.kw = Wt.shape[0], Wt.shape[2], Wt.shape[3]
    q.g = groups
    (top, bottom), (left, right) = padding
    q.ho = (q.h + top + bottom - q.dh * (q.kh - 1) - 1) // q.sh + 1
    q.wo = (q.w + left + right - q.dw * (q.kw - 1) - 1) // q.sw + 1
    cdef Py_ssize_t l = q.ho * q.wo
    cdef Py_ssize_t og = q.o // q.g
    cdef Py_ssize_t ck = (q.c // q.g) * q.kh * q.kw
    cdef Py_ssize_t dims[4]
    dims[0], dims[1], dims[2], dims[3] = q.n, q.o, q.ho, q.wo
    if q.n * q.o * l == 0 or ck == 0:
        y = _zeros(4, dims, t)
        if B is not None and q.n * q.o * l:
            y += bias.reshape(1, -1, 1, 1)
        return y
    cdef bint batch_last = _batch_last(&q)
    cols = _conv_columns(t, X, &q, batch_last)
    # (G, Og, N*L), or (G, Og, L*N) batch-last
    cdef cnp.ndarray prod = _fast(_matmul_into(t, Wt, False, cols, q.g, og, ck, q.n * l), t)
    cdef const void* pbias = cnp.PyArray_DATA(B) if B is not None else NULL
    cdef const void* pp = cnp.PyArray_DATA(prod)
    cdef cnp.ndarray Y
    cdef void* py
    if q.n == 1:  # (O, 1*L) is already (1, O, L)
        Y = prod.reshape(1, q.o, q.ho, q.wo)
        if pbias != NULL:
            py = cnp.PyArray_DATA(Y)
            with nogil:
                if t == cnp.NPY_DOUBLE:
                    _add_bias_kernel(<double*>py, <const double*>pbias, 1, q.o, l)
                else:
                    _add_bias_kernel(<float*>py, <const float*>pbias, 1, q.o, l)
        return Y
    Y = _empty(4, dims, t)
    py = cnp.PyArray_DATA(Y)
    with nogil:
        if t == cnp.NPY_DOUBLE:
            if batch_last:
                _transpose_bias_kernel(<const double*>pp, <const double*>pbias, <double*>py,
                                       q.o, l, q.n)
            else:
                _onl_to_nol_kernel(<const double*>pp, <const double*>pbias, <double*>py, q.n,
                                   q.o, l)
        else:
            if batch_last:
                _transpose_bias_kernel(<const float*>pp, <const float*>pbias, <float*>py,
                                       q.o, l, q.n)
            else:
                _onl_to_nol_kernel(<const float*>pp, <const float*>pbias, <float*>py, q.n,
                                   q.o, l)
    return Y


def conv2d_input_grad(grad_output, weight, input_size, stride, padding, dilation, groups):
    """dL/dx (N, C, H, W) of y = conv2d(x, weight) for g = dL/dy (N, O, Ho, Wo); (H, W) =
    ``input_size``. g may be smaller than conv2d's output for (H, W) (output_padding)."""
    cdef int t = _float_type(grad_output)
    if t < 0 or _float_type(weight) != t:
        return _reference.conv2d_input_grad(grad_output, weight, input_size, stride, padding,
                                            dilation, groups)
    cdef cnp.ndarray G = _fast(grad_output, t)
    cdef cnp.ndarray Wt = _fast(weight, t)
    cdef Geometry q
    _set_geometry(&q, stride, padding, dilation)
    q.n, q.o, q.ho, q.wo = G.shape[0], G.shape[1], G.shape[2], G.shape[3]
    q.g = groups
    q.c = Wt.shape[1] * groups
    q.kh, q.kw = Wt.shape[2], Wt.shape[3]
    q.h, q.w = input_size
    cdef Py_ssize_t l = q.ho * q.wo
    cdef Py_ssize_t og = q.o // q.g
    cdef Py_ssize_t ck = (q.c // q.g) * q.kh * q.kw
    cdef Py_ssize_t chw = q.c * q.h * q.w
    cdef Py_ssize_t dims[4]
    dims[0], dims[1], dims[2], dims[3] = q.n, q.c, q.h, q.w
    if q.n * q.o * l == 0 or ck == 0 or q.h * q.w == 0:
        return _zeros(4, dims, t)
    cdef bint batch_last = _batch_last(&q)
    gt = _grad_rows(t, G, &q, batch_last)
    cdef cnp.ndarray cols = _fast(_matmul_into(t, Wt, True, gt, q.g, ck, og, q.n * l), t)
    cdef const void* pc = cnp.PyArray_DATA(cols)
    cdef cnp.ndarray X
    cdef void* px
    if not batch_last:
        X = _zeros(4, dims, t)
        px = cnp.PyArray_DATA(X)
        with nogil:
            _col2im(t, pc, px, &q, q.n * l, l)
        return X
    cdef Py_ssize_t tdims[2]
    tdims[0] = chw
    tdims[1] = q.n
    cdef cnp.ndarray XT = _zeros(2, tdims, t)
    cdef void* pxt = cnp.PyArray_DATA(XT)
    with nogil:
        if t == cnp.NPY_DOUBLE:
            _col2im_bl_kernel(<const double*>pc, <double*>pxt, &q)
        else:
            _col2im_bl_kernel(<const float*>pc, <float*>pxt, &q)
    return _transposed(t, XT, chw, q.n).reshape(q.n, q.c, q.h, q.w)


def conv2d_weight_grad(x, grad_output, kernel_size, stride, padding, dilation, groups):
    """dL/dweight (O, C/groups, kh, kw) of y = conv2d(x, weight) for g = dL/dy
    (N, O, Ho, Wo); (kh, kw) = ``kernel_size``."""
    cdef int t = _float_type(x)
    if t < 0 or _float_type(grad_output) != t:
        return _reference.conv2d_weight_grad(x, grad_output, kernel_size, stride, padding,
                                             dilation, groups)
    cdef cnp.ndarray X = _fast(x, t)
    cdef cnp.ndarray G = _fast(grad_output, t)
    cdef Geometry q
    _set_geometry(&q, stride, padding, dilation)
    q.n, q.c, q.h, q.w = X.shape[0], X.shape[1], X.shape[2], X.shape[3]
    q.o, q.ho, q.wo = G.shape[1], G.shape[2], G.shape[3]
    q.kh, q.kw = kernel_size
    q.g = groups
    cdef Py_ssize_t l = q.ho * q.wo
    cdef Py_ssize_t og = q.o // q.g
    cdef Py_ssize_t cg = q.c // q.g
    cdef Py_ssize_t ck = cg * q.kh * q.kw
    cdef Py_ssize_t dims[4]
    dims[0], dims[1], dims[2], dims[3] = q.o, cg, q.kh, q.kw
    if q.n * l == 0 or q.o * ck == 0:
        return _zeros(4, dims, t)
    cdef bint batch_last = _batch_last(&q)
    cols = _conv_columns(t, X, &q, batch_last)
    gt = _grad_rows(t, G, &q, batch_last)
    return _matmul_nt(t, gt, cols, q.g, og, ck, q.n * l).reshape(q.o, cg, q.kh, q.kw)


cdef void _row_sums_kernel(const floating* a, floating* out, Py_ssize_t rows,
                           Py_ssize_t cols) noexcept nogil:
    """out[i] = sum of row i of a (rows, cols), accumulated in double."""
    cdef Py_ssize_t i, j
    cdef double s
    cdef const floating* row
    for i in range(rows):
        row = a + i * cols
        s = 0
        for j in range(cols):
            s += row[j]
        out[i] = <floating>s


def conv2d_backward(grad_output, x, weight, stride, padding, dilation, groups, need_x,
                    need_weight, need_bias):
    """(dL/dx, dL/dweight, dL/dbias) of y = conv2d(x, weight) + bias for g = dL/dy, each only
    if asked for (else None). One rearrangement of g serves all three."""
    cdef int t = _float_type(grad_output)
    if t < 0 or _float_type(x) != t or _float_type(weight) != t:
        return _reference.conv2d_backward(grad_output, x, weight, stride, padding, dilation,
                                          groups, need_x, need_weight, need_bias)
    cdef cnp.ndarray G = _fast(grad_output, t)
    cdef cnp.ndarray X = _fast(x, t)
    cdef cnp.ndarray Wt = _fast(weight, t)
    cdef Geometry q
    _set_geometry(&q, stride, padding, dilation)
    q.n, q.c, q.h, q.w = X.shape[0], X.shape[1], X.shape[2], X.shape[3]
    q.o, q.ho, q.wo = G.shape[1], G.shape[2], G.shape[3]
    q.kh, q.kw = Wt.shape[2], Wt.shape[3]
    q.g = groups
    cdef Py_ssize_t l = q.ho * q.wo
    cdef Py_ssize_t og = q.o // q.g
    cdef Py_ssize_t cg = q.c // q.g
    cdef Py_ssize_t ck = cg * q.kh * q.kw
    cdef Py_ssize_t chw = q.c * q.h * q.w
    if q.n * l == 0 or q.o == 0 or ck == 0 or chw == 0:
        return _reference.conv2d_backward(grad_output, x, weight, stride, padding, dilation,
                                          groups, need_x, need_weight, need_bias)
    cdef bint batch_last = _batch_last(&q)
    cdef cnp.ndarray gt = _fast(_grad_rows(t, G, &q, batch_last), t)  # (O, N*L) or (O, L*N)
    grad_x = grad_weight = grad_bias = None
    cdef Py_ssize_t dims[4]
    cdef cnp.ndarray cols, out
    cdef const void* pc
    cdef void* po
    if need_x:
        cols = _fast(_matmul_into(t, Wt, True, gt, q.g, ck, og, q.n * l), t)
        pc = cnp.PyArray_DATA(cols)
        if batch_last:
            dims[0], dims[1] = chw, q.n
            out = _zeros(2, dims, t)
            po = cnp.PyArray_DATA(out)
            with nogil:
                if t == cnp.NPY_DOUBLE:
                    _col2im_bl_kernel(<const double*>pc, <double*>po, &q)
                else:
                    _col2im_bl_kernel(<const float*>pc, <float*>po, &q)
            grad_x = _transposed(t, out, chw, q.n).reshape(q.n, q.c, q.h, q.w)
        else:
            dims[0], dims[1], dims[2], dims[3] = q.n, q.c, q.h, q.w
            out = _zeros(4, dims, t)
            po = cnp.PyArray_DATA(out)
            with nogil:
                _col2im(t, pc, po, &q, q.n * l, l)
            grad_x = out
    if need_weight:
        cols = _conv_columns(t, X, &q, batch_last)
        grad_weight = _matmul_nt(t, gt, cols, q.g, og, ck, q.n * l).reshape(
            q.o, cg, q.kh, q.kw)
    if need_bias:
        out = cnp.PyArray_EMPTY(1, cnp.PyArray_DIMS(Wt), t, 0)
        pc = cnp.PyArray_DATA(gt)
        po = cnp.PyArray_DATA(out)
        with nogil:
            if t == cnp.NPY_DOUBLE:
                _row_sums_kernel(<const double*>pc, <double*>po, q.o, q.n * l)
            else:
                _row_sums_kernel(<const float*>pc, <float*>po, q.o, q.n * l)
        grad_bias = out
    return grad_x, grad_weight, grad_bias


# ---------------------------------------------------------------------------------------------
# Python-visible kernels: unfold / fold
# ---------------------------------------------------------------------------------------------


def im2col(x, kernel_size, output_size, stride, padding, dilation):
    """The windows of x (N, C, H, W) as columns (N, C*kh*kw, Ho*Wo); padding (top, left)."""
    cdef int t = _float_type(x)
    if t < 0:
        return _reference.im2col(x, kernel_size, output_size, stride, padding, dilation)
    cdef cnp.ndarray X = _fast(x, t)
    cdef Geometry q
    _set_geometry(&q, stride, padding, dilation)
    q.n, q.c, q.h, q.w = X.shape[0], X.shape[1], X.shape[2], X.shape[3]
    q.kh, q.kw = kernel_size
    q.ho, q.wo = output_size
    cdef Py_ssize_t l = q.ho * q.wo
    cdef Py_ssize_t dims[3]
    dims[0], dims[1], dims[2] = q.n, q.c * q.kh * q.kw, l
    cdef cnp.ndarray cols = _empty(3, dims, t)
    cdef const void* px = cnp.PyArray_DATA(X)
    cdef void* pc = cnp.PyArray_DATA(cols)
    with nogil:
        _im2col(t, px, pc, &q, l, q.c * q.kh * q.kw * l)
    return cols


def col2im(cols, input_size, kernel_size, output_size, stride, padding, dilation):
    """Columns (N, C*kh*kw, Ho*Wo) summed back into an image (N, C, H, W)."""
    cdef int t = _float_type(cols)
    if t < 0:
        return _reference.col2im(cols, input_size, kernel_size, output_size, stride, padding,
                                 dilation)
    cdef cnp.ndarray Cl = _fast(cols, t)
    cdef Geometry q
    _set_geometry(&q, stride, padding, dilation)
    q.kh, q.kw = kernel_size
    q.ho, q.wo = output_size
    q.h, q.w = input_size
    q.n = Cl.shape[0]
    q.c = Cl.shape[1] // (q.kh * q.kw) if q.kh * q.kw else 0
    cdef Py_ssize_t l = q.ho * q.wo
    cdef Py_ssize_t dims[4]
    dims[0], dims[1], dims[2], dims[3] = q.n, q.c, q.h, q.w
    cdef cnp.ndarray X = _zeros(4, dims, t)
    cdef const void* pc = cnp.PyArray_DATA(Cl)
    cdef void* px = cnp.PyArray_DATA(X)
    if l and q.h * q.w:
        with nogil:
            _col2im(t, pc, px, &q, l, q.c * q.kh * q.kw * l)
    return X


# ---------------------------------------------------------------------------------------------
# Pooling over window tables
# ---------------------------------------------------------------------------------------------


cdef void _max_pool_kernel(const floating* x, floating* out, cnp.int64_t* indices,
                           const cnp.int64_t* rows, const cnp.int64_t* cols, Py_ssize_t planes,
                           Py_ssize_t h, Py_ssize_t w, Py_ssize_t ho, Py_ssize_t kh,
                           Py_ssize_t wo, Py_ssize_t kw) noexcept nogil:
    """Per plane and window: the maximum and its position h*W + w, PyTorch's rules: ties keep
    the first maximum; a NaN wins over any number, and the last NaN over earlier ones; a
    window of -inf points at its first element inside the image.

    Which element wins is data-dependent and unpredictable, so the loop keeps the running
    maximum and the positions with selects (maxss, cmov), not branches: NaNs are tracked on
    the side (a NaN never compares greater) and win at the end. A branch on each comparison
    costs about three times as much on random data."""
    cdef Py_ssize_t p, oh, ow, i, j, r, col, pos, best_pos, nan_pos, first
    cdef floating v, best
    cdef const floating* plane
    cdef floating neg_inf = -INFINITY
    for p in range(planes):
        plane = x + p * h * w
        for oh in range(ho):
            for ow in range(wo):
                best = neg_inf
                best_pos = -1
                nan_pos = -1
                first = -1
                for i in range(kh):
                    r = rows[oh * kh + i]
                    if r < 0:
                        continue
                    for j in range(kw):
                        col = cols[ow * kw + j]
                        if col < 0:
                            continue
                        pos = r * w + col
                        if first < 0:
                            first = pos
                        v = plane[pos]
                        best_pos = pos if v > best else best_pos
                        best = v if v > best else best
                        nan_pos = pos if v != v else nan_pos
                if nan_pos >= 0:
                    best_pos = nan_pos
                    best = plane[nan_pos]
                elif best_pos < 0:
                    best_pos = first  # every value was -inf
                out[(p * ho + oh) * wo + ow] = best
                indices[(p * ho + oh) * wo + ow] = best_pos


def max_pool2d(x, rows, cols):
    """(out, indices) of max pooling x (N, C, H, W) over the windows of the index tables
    ``rows`` (Ho, kh) and ``cols`` (Wo, kw); indices are int64 positions h*W + w."""
    cdef int t = _float_type(x)
    if t < 0:
        return _reference.max_pool2d(x, rows, cols)
    cdef cnp.ndarray X = _fast(x, t)
    cdef cnp.ndarray R = _fast_index(rows)
    cdef cnp.ndarray Cc = _fast_index(cols)
    cdef Py_ssize_t n = X.shape[0], c = X.shape[1], h = X.shape[2], w = X.shape[3]
    cdef Py_ssize_t ho = R.shape[0], kh = R.shape[1], wo = Cc.shape[0], kw = Cc.shape[1]
    cdef Py_ssize_t dims[4]
    dims[0], dims[1], dims[2], dims[3] = n, c, ho, wo
    cdef cnp.ndarray out = _empty(4, dims, t)
    cdef cnp.ndarray indices = _empty(4, dims, cnp.NPY_INT64)
    cdef const void* px = cnp.PyArray_DATA(X)
    cdef void* po = cnp.PyArray_DATA(out)
    cdef cnp.int64_t* pi = <cnp.int64_t*>cnp.PyArray_DATA(indices)
    cdef const cnp.int64_t* pr = <const cnp.int64_t*>cnp.PyArray_DATA(R)
    cdef const cnp.int64_t* pcol = <const cnp.int64_t*>cnp.PyArray_DATA(Cc)
    with nogil:
        if t == cnp.NPY_DOUBLE:
            _max_pool_kernel(<const double*>px, <double*>po, pi, pr, pcol, n * c, h, w, ho,
                             kh, wo, kw)
        else:
            _max_pool_kernel(<const float*>px, <float*>po, pi, pr, pcol, n * c, h, w, ho, kh,
                             wo, kw)
    return out, indices


cdef void _gather_kernel(const floating* x, const cnp.int64_t* indices, floating* out,
                         Py_ssize_t planes, Py_ssize_t size, Py_ssize_t count) noexcept nogil:
    cdef Py_ssize_t p, k
    for p in range(planes):
        for k in range(count):
            out[p * count + k] = x[p * size + indices[p * count + k]]


cdef void _scatter_kernel(const floating* g, const cnp.int64_t* indices, floating* out,
                          Py_ssize_t planes, Py_ssize_t size, Py_ssize_t count) noexcept nogil:
    cdef Py_ssize_t p, k
    for p in range(planes):
        for k in range(count):
            out[p * size + indices[p * count + k]] += g[p * count + k]


def pool_gather(x, indices):
    """out[n, c, oh, ow] = x[n, c].flat[indices[n, c, oh, ow]]."""
    cdef int t = _float_type(x)
    if t < 0:
        return _reference.pool_gather(x, indices)
    cdef cnp.ndarray X = _fast(x, t)
    cdef cnp.ndarray I = _fast_index(indices)
    cdef Py_ssize_t planes = X.shape[0] * X.shape[1]
    cdef Py_ssize_t size = X.shape[2] * X.shape[3]
    cdef Py_ssize_t count = I.shape[2] * I.shape[3]
    cdef cnp.ndarray out = cnp.PyArray_EMPTY(4, cnp.PyArray_DIMS(I), t, 0)
    cdef const void* px = cnp.PyArray_DATA(X)
    cdef const cnp.int64_t* pi = <const cnp.int64_t*>cnp.PyArray_DATA(I)
    cdef void* po = cnp.PyArray_DATA(out)
    with nogil:
        if t == cnp.NPY_DOUBLE:
            _gather_kernel(<const double*>px, pi, <double*>po, planes, size, count)
        else:
            _gather_kernel(<const float*>px, pi, <float*>po, planes, size, count)
    return out


def pool_scatter(grad_output, indices, input_size):
    """zeros (N, C, H, W) with grad_output added at the positions ``indices``."""
    cdef int t = _float_type(grad_output)
    if t < 0:
        return _reference.pool_scatter(grad_output, indices, input_size)
    cdef cnp.ndarray G = _fast(grad_output, t)
    cdef cnp.ndarray I = _fast_index(indices)
    cdef Py_ssize_t dims[4]
    dims[0], dims[1] = G.shape[0], G.shape[1]
    dims[2], dims[3] = input_size
    cdef cnp.ndarray out = _zeros(4, dims, t)
    cdef Py_ssize_t planes = dims[0] * dims[1]
    cdef Py_ssize_t size = dims[2] * dims[3]
    cdef Py_ssize_t count = G.shape[2] * G.shape[3]
    cdef const void* pg = cnp.PyArray_DATA(G)
    cdef const cnp.int64_t* pi = <const cnp.int64_t*>cnp.PyArray_DATA(I)
    cdef void* po = cnp.PyArray_DATA(out)
    with nogil:
        if t == cnp.NPY_DOUBLE:
            _scatter_kernel(<const double*>pg, pi, <double*>po, planes, size, count)
        else:
            _scatter_kernel(<const float*>pg, pi, <float*>po, planes, size, count)
    return out


cdef void _avg_pool_kernel(const floating* x, floating* out, const cnp.int64_t* rows,
                           const cnp.int64_t* cols, const double* divisor, Py_ssize_t planes,
                           Py_ssize_t h, Py_ssize_t w, Py_ssize_t ho, Py_ssize_t kh,
                           Py_ssize_t wo, Py_ssize_t kw) noexcept nogil:
    cdef Py_ssize_t p, oh, ow, i, j, r, col
    cdef floating s
    cdef const floating* plane
    for p in range(planes):
        plane = x + p * h * w
        for oh in range(ho):
            for ow in range(wo):
                s = 0
                for i in range(kh):
                    r = rows[oh * kh + i]
                    if r < 0:
                        continue
                    for j in range(kw):
                        col = cols[ow * kw + j]
                        if col >= 0:
                            s += plane[r * w + col]
                out[(p * ho + oh) * wo + ow] = s / <floating>divisor[oh * wo + ow]


cdef void _avg_pool_backward_kernel(const floating* g, floating* out, const cnp.int64_t* rows,
                                    const cnp.int64_t* cols, const double* divisor,
                                    Py_ssize_t planes, Py_ssize_t h, Py_ssize_t w,
                                    Py_ssize_t ho, Py_ssize_t kh, Py_ssize_t wo,
                                    Py_ssize_t kw) noexcept nogil:
    cdef Py_ssize_t p, oh, ow, i, j, r, col
    cdef floating share
    cdef floating* plane
    for p in range(planes):
        plane = out + p * h * w
        for oh in range(ho):
            for ow in range(wo):
                share = g[(p * ho + oh) * wo + ow] / <floating>divisor[oh * wo + ow]
                for i in range(kh):
                    r = rows[oh * kh + i]
                    if r < 0:
                        continue
                    for j in range(kw):
                        col = cols[ow * kw + j]
                        if col >= 0:
                            plane[r * w + col] += share


def avg_pool2d(x, rows, cols, divisor):
    """Window sums of x (N, C, H, W) over the index tables, divided by divisor (Ho, Wo)."""
    cdef int t = _float_type(x)
    if t < 0:
        return _reference.avg_pool2d(x, rows, cols, divisor)
    cdef cnp.ndarray X = _fast(x, t)
    cdef cnp.ndarray R = _fast_index(rows)
    cdef cnp.ndarray Cc = _fast_index(cols)
    cdef cnp.ndarray D = _np_require(divisor, np.float64, "CA")
    cdef Py_ssize_t n = X.shape[0], c = X.shape[1], h = X.shape[2], w = X.shape[3]
    cdef Py_ssize_t ho = R.shape[0], kh = R.shape[1], wo = Cc.shape[0], kw = Cc.shape[1]
    cdef Py_ssize_t dims[4]
    dims[0], dims[1], dims[2], dims[3] = n, c, ho, wo
    cdef cnp.ndarray out = _empty(4, dims, t)
    cdef const void* px = cnp.PyArray_DATA(X)
    cdef void* po = cnp.PyArray_DATA(out)
    cdef const cnp.int64_t* pr = <const cnp.int64_t*>cnp.PyArray_DATA(R)
    cdef const cnp.int64_t* pcol = <const cnp.int64_t*>cnp.PyArray_DATA(Cc)
    cdef const double* pd = <const double*>cnp.PyArray_DATA(D)
    with nogil:
        if t == cnp.NPY_DOUBLE:
            _avg_pool_kernel(<const double*>px, <double*>po, pr, pcol, pd, n * c, h, w, ho,
                             kh, wo, kw)
        else:
            _avg_pool_kernel(<const float*>px, <float*>po, pr, pcol, pd, n * c, h, w, ho, kh,
                             wo, kw)
    return out


def avg_pool2d_backward(grad_output, rows, cols, divisor, input_size):
    """The transpose of avg_pool2d: (N, C, H, W) with each g / divisor spread over its
    window."""
    cdef int t = _float_type(grad_output)
    if t < 0:
        return _reference.avg_pool2d_backward(grad_output, rows, cols, divisor, input_size)
    cdef cnp.ndarray G = _fast(grad_output, t)
    cdef cnp.ndarray R = _fast_index(rows)
    cdef cnp.ndarray Cc = _fast_index(cols)
    cdef cnp.ndarray D = _np_require(divisor, np.float64, "CA")
    cdef Py_ssize_t dims[4]
    dims[0], dims[1] = G.shape[0], G.shape[1]
    dims[2], dims[3] = input_size
    cdef cnp.ndarray out = _zeros(4, dims, t)
    cdef Py_ssize_t ho = R.shape[0], kh = R.shape[1], wo = Cc.shape[0], kw = Cc.shape[1]
    cdef const void* pg = cnp.PyArray_DATA(G)
    cdef void* po = cnp.PyArray_DATA(out)
    cdef const cnp.int64_t* pr = <const cnp.int64_t*>cnp.PyArray_DATA(R)
    cdef const cnp.int64_t* pcol = <const cnp.int64_t*>cnp.PyArray_DATA(Cc)
    cdef const double* pd = <const double*>cnp.PyArray_DATA(D)
    with nogil:
        if t == cnp.NPY_DOUBLE:
            _avg_pool_backward_kernel(<const double*>pg, <double*>po, pr, pcol, pd,
                                      dims[0] * dims[1], dims[2], dims[3], ho, kh, wo, kw)
        else:
            _avg_pool_backward_kernel(<const float*>pg, <float*>po, pr, pcol, pd,
                                      dims[0] * dims[1], dims[2], dims[3], ho, kh, wo, kw)
    return out
