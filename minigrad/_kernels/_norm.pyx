# cython: language_level=3
"""Compiled normalisations along rows: layer normalisation (twins of ``layer_norm_forward``
and ``layer_norm_backward``) and softmax / log-softmax along a dimension (twins of
``softmax_along`` and ``softmax_along_backward``), all in the normalisation section of
``reference.py`` (read that for what each computes).

Each sees x as (M, D) rows of D contiguous values and makes one trip over each row while it
is in cache (numpy needs four to eight passes over the whole array).

Layer norm: forward keeps only each row's mean and inv_std (as PyTorch does), not the
normalised values: backward recomputes those from x, row by row, which costs less than
writing and reading them back. Statistics and the weight and bias gradients accumulate in
double for float32 and float64 alike. Anything the loops cannot read as flat C-contiguous
float buffers of one dtype goes to the reference.

Softmax along the last dimension: the row's maximum and sums in lanes (16 running maxima, 8
double sums) so that the loops vectorize without reassociating anything the C standard
forbids. Along another dimension x is seen as (outer, D, inner) and each (D, inner) block is
reduced down its columns, the inner values side by side (vectorized across the columns, the
running maxima and double sums in a scratch row). The exponentials
from glibc's vector math where it has it (as in _elementwise.pyx: AVX-512, AVX2 and baseline
clones chosen at load time; elsewhere the C library's scalar functions).
"""
cimport numpy as cnp
from cython cimport floating
from libc.math cimport sqrt
from libc.stdlib cimport calloc, free, malloc

from ._common cimport _fast_float_type, _same_shape

import numpy as np

from . import reference as _reference
from ._runtime cimport pool_empty

cnp.import_array()


cdef inline double _row_sum(const floating* row, Py_ssize_t d, double shift) noexcept nogil:
    """sum_j (row[j] - shift) ** p for p = 1 (shift 0) or the sum of squares about ``shift``
    (shift given as a mean): four independent accumulators, so the additions overlap
    instead of waiting on each other."""
    cdef double a0 = 0.0, a1 = 0.0, a2 = 0.0, a3 = 0.0, c0, c1, c2, c3
    cdef Py_ssize_t j, end = d - d % 4
    for j in range(0, end, 4):
        c0 = row[j] - shift
        c1 = row[j + 1] - shift
        c2 = row[j + 2] - shift
        c3 = row[j + 3] - shift
        a0 = a0 + c0 * c0
        a1 = a1 + c1 * c1
        a2 = a2 + c2 * c2
        a3 = a3 + c3 * c3
    for j in range(end, d):
        c0 = row[j] - shift
        a0 = a0 + c0 * c0
    return (a0 + a1) + (a2 + a3)


cdef inline double _row_total(const floating* row, Py_ssize_t d) noexcept nogil:
    cdef double a0 = 0.0, a1 = 0.0, a2 = 0.0, a3 = 0.0
    cdef Py_ssize_t j, end = d - d % 4
    for j in range(0, end, 4):
        a0 = a0 + row[j]
        a1 = a1 + row[j + 1]
        a2 = a2 + row[j + 2]
        a3 = a3 + row[j + 3]
    for j in range(end, d):
        a0 = a0 + row[j]
    return (a0 + a1) + (a2 + a3)


cdef void _forward_kernel(const floating* x, const floating* weight, const floating* bias,
                          floating* y, floating* mean_out, floating* inv_std, Py_ssize_t m,
                          Py_ssize_t d, double eps) noexcept nogil:
    """Per row: mean, biased variance (two passes over the row, in cache), inv_std =
    1/sqrt(var + eps), y = (x - mean) inv_std weight + bias (weight/bias may be NULL)."""
    cdef Py_ssize_t i, j
    cdef double mean, inv
    cdef floating fmean, finv
    cdef const floating* row
    cdef floating* out
    for i in range(m):
        row = x + i * d
        out = y + i * d
        mean = _row_total(row, d) / d
        inv = 1.0 / sqrt(_row_sum(row, d, mean) / d + eps)
        mean_out[i] = <floating>mean
        inv_std[i] = <floating>inv
        fmean = <floating>mean
        finv = <floating>inv
        if weight != NULL and bias != NULL:
            for j in range(d):
                out[j] = (row[j] - fmean) * finv * weight[j] + bias[j]
        elif weight != NULL:
            for j in range(d):
                out[j] = (row[j] - fmean) * finv * weight[j]
        elif bias != NULL:
            for j in range(d):
                out[j] = (row[j] - fmean) * finv + bias[j]
        else:
            for j in range(d):
                out[j] = (row[j] - fmean) * finv


cdef int _backward_kernel(const floating* grad, const floating* x, const floating* mean,
                          const floating* inv_std, const floating* weight, floating* grad_x,
                          floating* grad_weight, floating* grad_bias, Py_ssize_t m,
                          Py_ssize_t d) noexcept nogil:
    """With x_hat = (x - mean) inv_std recomputed per row (not stored by forward): grad_x (if
    not NULL) = inv_std / d (d dxh - sum(dxh) - x_hat sum(dxh x_hat)), dxh = grad weight;
    grad_weight = sum over rows of grad x_hat, grad_bias = sum over rows of grad (each if
    not NULL). Returns -1 if memory ran out.

    The inner loops have no branches (so they vectorize): a missing weight reads a row of
    ones, and unwanted weight/bias sums go to scratch accumulators."""
    cdef Py_ssize_t i, j
    cdef double sum_dxh, sum_dxh_xh, scale
    cdef double dd = <double>d
    cdef floating fmean, finv, xh, dxh, a, b, c
    cdef const floating* g
    cdef const floating* row
    cdef floating* gx
    cdef double* acc_weight = <double*>calloc(d if d > 0 else 1, sizeof(double))
    cdef double* acc_bias = <double*>calloc(d if d > 0 else 1, sizeof(double))
    cdef floating* ones = NULL
    cdef const floating* w = weight
    if weight == NULL:
        ones = <floating*>malloc((d if d > 0 else 1) * sizeof(floating))
        if ones != NULL:
            for j in range(d):
                ones[j] = 1
        w = ones
    if acc_weight == NULL or acc_bias == NULL or w == NULL:
        free(acc_weight)
        free(acc_bias)
        free(ones)
        return -1
    for i in range(m):
        g = grad + i * d
        row = x + i * d
        fmean = mean[i]
        finv = inv_std[i]
        sum_dxh = 0.0
        sum_dxh_xh = 0.0
        for j in range(d):
            xh = (row[j] - fmean) * finv
            dxh = g[j] * w[j]
            acc_weight[j] = acc_weight[j] + g[j] * xh
            acc_bias[j] = acc_bias[j] + g[j]
            sum_dxh = sum_dxh + dxh
            sum_dxh_xh = sum_dxh_xh + dxh * xh
        if grad_x != NULL:
            gx = grad_x + i * d
            # gx = a dxh + b x_hat + c, the row constants in the input's precision so the
            # loop stays in one floating type (and vectorizes)
            scale = <double>finv / dd
            a = <floating>(scale * dd)
            b = <floating>(-scale * sum_dxh_xh)
            c = <floating>(-scale * sum_dxh)
            for j in range(d):
                xh = (row[j] - fmean) * finv
                gx[j] = a * (g[j] * w[j]) + b * xh + c
    for j in range(d):
        if grad_weight != NULL:
            grad_weight[j] = <floating>acc_weight[j]
        if grad_bias != NULL:
            grad_bias[j] = <floating>acc_bias[j]
    free(acc_weight)
    free(acc_bias)
    free(ones)
    return 0


cdef bint _fits(object a, int type_num, Py_ssize_t size):
    """a is None, or a flat-readable array of ``type_num`` with ``size`` elements."""
    if a is None:
        return True
    return _fast_float_type(a) == type_num and cnp.PyArray_SIZE(<cnp.ndarray>a) == size


cdef void* _data_or_null(object a):
    if a is None:
        return NULL
    return cnp.PyArray_DATA(<cnp.ndarray>a)


def layer_norm_forward(x, weight, bias, eps):
    """(y, mean, inv_std) for x (M, D) normalised along its rows; see reference.py."""
    cdef int type_num = _fast_float_type(x)
    if type_num < 0 or cnp.PyArray_NDIM(<cnp.ndarray>x) != 2:
        return _reference.layer_norm_forward(x, weight, bias, eps)
    cdef Py_ssize_t m = x.shape[0], d = x.shape[1]
    if d == 0 or not _fits(weight, type_num, d) or not _fits(bias, type_num, d):
        return _reference.layer_norm_forward(x, weight, bias, eps)
    y = np.empty_like(x)
    mean = np.empty(m, dtype=x.dtype)
    inv_std = np.empty(m, dtype=x.dtype)
    cdef void* px = cnp.PyArray_DATA(<cnp.ndarray>x)
    cdef void* pw = _data_or_null(weight)
    cdef void* pb = _data_or_null(bias)
    cdef void* py = cnp.PyArray_DATA(<cnp.ndarray>y)
    cdef void* pm = cnp.PyArray_DATA(<cnp.ndarray>mean)
    cdef void* ps = cnp.PyArray_DATA(<cnp.ndarray>inv_std)
    cdef double c_eps = eps
    with nogil:
        if type_num == cnp.NPY_DOUBLE:
            _forward_kernel(<const double*>px, <const double*>pw, <const double*>pb,
                            <double*>py, <double*>pm, <double*>ps, m, d, c_eps)
        else:
            _forward_kernel(<const float*>px, <const float*>pw, <const float*>pb,
                            <float*>py, <float*>pm, <float*>ps, m, d, c_eps)
    return y, mean, inv_std


def layer_norm_backward(grad, x, mean, inv_std, weight, need_x, need_weight, need_bias):
    """(grad_x, grad_weight, grad_bias) of layer_norm_forward (None where not needed)."""
    cdef int type_num = _fast_float_type(x)
    if type_num < 0 or cnp.PyArray_NDIM(<cnp.ndarray>x) != 2:
        return _reference.layer_norm_backward(grad, x, mean, inv_std, weight, need_x,
                                              need_weight, need_bias)
    cdef Py_ssize_t m = x.shape[0], d = x.shape[1]
    if (not _fits(grad, type_num, m * d) or not _fits(mean, type_num, m)
            or not _fits(inv_std, type_num, m) or not _fits(weight, type_num, d)
            or tuple(grad.shape) != (m, d)):
        return _reference.layer_norm_backward(grad, x, mean, inv_std, weight, need_x,
                                              need_weight, need_bias)
    grad_x = np.empty_like(x) if need_x else None
    grad_weight = np.empty(d, dtype=x.dtype) if need_weight else None
    grad_bias = np.empty(d, dtype=x.dtype) if need_bias else None
    cdef void* pg = cnp.PyArray_DATA(<cnp.ndarray>grad)
    cdef void* px = cnp.PyArray_DATA(<cnp.ndarray>x)
    cdef void* pm = cnp.PyArray_DATA(<cnp.ndarray>mean)
    cdef void* ps = cnp.PyArray_DATA(<cnp.ndarray>inv_std)
    cdef void* pw = _data_or_null(weight)
    cdef void* pgx = _data_or_null(grad_x)
    cdef void* pgw = _data_or_null(grad_weight)
    cdef void* pgb = _data_or_null(grad_bias)
    cdef int status
    with nogil:
        if type_num == cnp.NPY_DOUBLE:
            status = _backward_kernel(<const double*>pg, <const double*>px, <const double*>pm,
                                      <const double*>ps, <const double*>pw, <double*>pgx,
                                      <double*>pgw, <double*>pgb, m, d)
        else:
            status = _backward_kernel(<const float*>pg, <const float*>px, <const float*>pm,
                                      <const float*>ps, <const float*>pw, <float*>pgx,
                                      <float*>pgw, <float*>pgb, m, d)
    if status < 0:
        raise MemoryError("layer_norm_backward: could not allocate the accumulators")
    return grad_x, grad_weight, grad_bias


# ---------------------------------------------------------------------------------------------
# Softmax and log-softmax along a dimension
# ---------------------------------------------------------------------------------------------
#
# Per row x (D values; a column of a (D, inner) block along another dim), m = max(x) (NaN ignored here: a NaN in x makes its exponential and so
# the whole row NaN, as in the reference), e = exp(x - m), s = sum(e) (in double):
#
#     softmax:      y = e / s                   dL/dx = y (g - sum(g y))
#     log-softmax:  y = (x - m) - log(s)        dL/dx = g - exp(y) sum(g)

cdef extern from *:
    """
    #include <math.h>
    #include <stdlib.h>
    #if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && \
        defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 35))
    #define MG_SM_SIMD __attribute__((simd("notinbranch")))
    #define MG_SM_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
    MG_SM_SIMD float expf(float); MG_SM_SIMD double exp(double);
    #else
    #define MG_SM_CLONES
    #endif

    #define MG_SOFTMAX(T, SUF, EXP, LOG)                                                      \\
    static inline T mg_row_max_##SUF(const T* x, Py_ssize_t d) {                              \\
        T lane[16], m;                                                                        \\
        Py_ssize_t j = 0, k;                                                                  \\
        m = x[0];                                                                             \\
        if (d >= 16) {                                                                        \\
            for (k = 0; k < 16; k++) lane[k] = x[k];                                          \\
            for (j = 16; j + 16 <= d; j += 16)                                                \\
                for (k = 0; k < 16; k++) lane[k] = x[j + k] > lane[k] ? x[j + k] : lane[k];   \\
            for (k = 0; k < 16; k++) m = lane[k] > m ? lane[k] : m;                           \\
        }                                                                                     \\
        for (; j < d; j++) m = x[j] > m ? x[j] : m;                                           \\
        return m;                                                                             \\
    }                                                                                         \\
    static inline double mg_row_sum_##SUF(const T* x, Py_ssize_t d) {                         \\
        double lane[8] = {0, 0, 0, 0, 0, 0, 0, 0}, s = 0;                                     \\
        Py_ssize_t j = 0, k;                                                                  \\
        for (; j + 8 <= d; j += 8)                                                            \\
            for (k = 0; k < 8; k++) lane[k] += x[j + k];                                      \\
        for (k = 0; k < 8; k++) s += lane[k];                                                 \\
        for (; j < d; j++) s += x[j];                                                         \\
        return s;                                                                             \\
    }                                                                                         \\
    static inline double mg_row_dot_##SUF(const T* x, const T* y, Py_ssize_t d) {             \\
        double lane[8] = {0, 0, 0, 0, 0, 0, 0, 0}, s = 0;                                     \\
        Py_ssize_t j = 0, k;                                                                  \\
        for (; j + 8 <= d; j += 8)                                                            \\
            for (k = 0; k < 8; k++) lane[k] += x[j + k] * y[j + k];                           \\
        for (k = 0; k < 8; k++) s += lane[k];                                                 \\
        for (; j < d; j++) s += x[j] * y[j];                                                  \\
        return s;                                                                             \\
    }                                                                                         \\
    MG_SM_CLONES static void mg_softmax_rows_##SUF(const T* x, T* y, Py_ssize_t rows,         \\
                                                  Py_ssize_t d, int log_out) {                \\
        for (Py_ssize_t i = 0; i < rows; i++) {                                               \\
            const T* xr = x + i * d;                                                          \\
            T* yr = y + i * d;                                                                \\
            T m = mg_row_max_##SUF(xr, d);                                                    \\
            for (Py_ssize_t j = 0; j < d; j++) yr[j] = EXP(xr[j] - m);                        \\
            T s = (T)mg_row_sum_##SUF(yr, d);                                                 \\
            if (log_out) {                                                                    \\
                T log_s = LOG(s);                                                             \\
                for (Py_ssize_t j = 0; j < d; j++) yr[j] = (xr[j] - m) - log_s;               \\
            } else {                                                                          \\
                for (Py_ssize_t j = 0; j < d; j++) yr[j] = yr[j] / s;                         \\
            }                                                                                 \\
        }                                                                                     \\
    }                                                                                         \\
    MG_SM_CLONES static void mg_softmax_backward_##SUF(const T* y, const T* g, T* out,        \\
                                                      Py_ssize_t rows, Py_ssize_t d,          \\
                                                      int log_out) {                          \\
        for (Py_ssize_t i = 0; i < rows; i++) {                                               \\
            const T* yr = y + i * d;                                                          \\
            const T* gr = g + i * d;                                                          \\
            T* o = out + i * d;                                                               \\
            if (log_out) {                                                                    \\
                T sg = (T)mg_row_sum_##SUF(gr, d);                                            \\
                for (Py_ssize_t j = 0; j < d; j++) o[j] = gr[j] - EXP(yr[j]) * sg;            \\
            } else {                                                                          \\
                T dot = (T)mg_row_dot_##SUF(gr, yr, d);                                       \\
                for (Py_ssize_t j = 0; j < d; j++) o[j] = yr[j] * (gr[j] - dot);              \\
            }                                                                                 \\
        }                                                                                     \\
    }                                                                                         \\
    /* along a middle dim: blocks of (d, inner); m and s hold one value per column */        \\
    MG_SM_CLONES static int mg_softmax_cols_##SUF(const T* x, T* y, Py_ssize_t outer,         \\
                                                 Py_ssize_t d, Py_ssize_t inner,              \\
                                                 int log_out) {                               \\
        T* m = (T*)malloc(inner * sizeof(T));                                                 \\
        double* s = (double*)malloc(inner * sizeof(double));                                  \\
        if (m == NULL || s == NULL) { free(m); free(s); return -1; }                          \\
        for (Py_ssize_t b = 0; b < outer; b++) {                                              \\
            const T* xb = x + b * d * inner;                                                  \\
            T* yb = y + b * d * inner;                                                        \\
            Py_ssize_t i, j;                                                                  \\
            for (j = 0; j < inner; j++) { m[j] = xb[j]; s[j] = 0; }                           \\
            for (i = 1; i < d; i++)                                                           \\
                for (j = 0; j < inner; j++)                                                   \\
                    m[j] = xb[i * inner + j] > m[j] ? xb[i * inner + j] : m[j];               \\
            for (i = 0; i < d; i++)                                                           \\
                for (j = 0; j < inner; j++) {                                                 \\
                    T e = EXP(xb[i * inner + j] - m[j]);                                      \\
                    yb[i * inner + j] = e;                                                    \\
                    s[j] += e;                                                                \\
                }                                                                             \\
            if (log_out) {                                                                    \\
                for (j = 0; j < inner; j++) s[j] = LOG((T)s[j]);                              \\
                for (i = 0; i < d; i++)                                                       \\
                    for (j = 0; j < inner; j++)                                               \\
                        yb[i * inner + j] = (xb[i * inner + j] - m[j]) - (T)s[j];             \\
            } else {                                                                          \\
                for (i = 0; i < d; i++)                                                       \\
                    for (j = 0; j < inner; j++)                                               \\
                        yb[i * inner + j] = yb[i * inner + j] / (T)s[j];                      \\
            }                                                                                 \\
        }                                                                                     \\
        free(m); free(s);                                                                     \\
        return 0;                                                                             \\
    }                                                                                         \\
    MG_SM_CLONES static int mg_softmax_cols_backward_##SUF(const T* y, const T* g, T* out,    \\
                                                          Py_ssize_t outer, Py_ssize_t d,     \\
                                                          Py_ssize_t inner, int log_out) {    \\
        double* s = (double*)malloc(inner * sizeof(double));                                  \\
        if (s == NULL) return -1;                                                             \\
        for (Py_ssize_t b = 0; b < outer; b++) {                                              \\
            const T* yb = y + b * d * inner;                                                  \\
            const T* gb = g + b * d * inner;                                                  \\
            T* o = out + b * d * inner;                                                       \\
            Py_ssize_t i, j;                                                                  \\
            for (j = 0; j < inner; j++) s[j] = 0;                                             \\
            for (i = 0; i < d; i++)                                                           \\
                for (j = 0; j < inner; j++)                                                   \\
                    s[j] += log_out ? gb[i * inner + j]                                       \\
                                    : gb[i * inner + j] * yb[i * inner + j];                  \\
            for (i = 0; i < d; i++)                                                           \\
                for (j = 0; j < inner; j++) {                                                 \\
                    T v = yb[i * inner + j], gv = gb[i * inner + j];                          \\
                    o[i * inner + j] = log_out ? gv - EXP(v) * (T)s[j] : v * (gv - (T)s[j]);  \\
                }                                                                             \\
        }                                                                                     \\
        free(s);                                                                              \\
        return 0;                                                                             \\
    }
    MG_SOFTMAX(float, f32, expf, logf)
    MG_SOFTMAX(double, f64, exp, log)
    """
    void mg_softmax_rows_f32(const float* x, float* y, Py_ssize_t rows, Py_ssize_t d,
                             int log_out) nogil
    void mg_softmax_rows_f64(const double* x, double* y, Py_ssize_t rows, Py_ssize_t d,
                             int log_out) nogil
    void mg_softmax_backward_f32(const float* y, const float* g, float* out, Py_ssize_t rows,
                                 Py_ssize_t d, int log_out) nogil
    void mg_softmax_backward_f64(const double* y, const double* g, double* out,
                                 Py_ssize_t rows, Py_ssize_t d, int log_out) nogil
    int mg_softmax_cols_f32(const float* x, float* y, Py_ssize_t outer, Py_ssize_t d,
                            Py_ssize_t inner, int log_out) nogil
    int mg_softmax_cols_f64(const double* x, double* y, Py_ssize_t outer, Py_ssize_t d,
                            Py_ssize_t inner, int log_out) nogil
    int mg_softmax_cols_backward_f32(const float* y, const float* g, float* out,
                                     Py_ssize_t outer, Py_ssize_t d, Py_ssize_t inner,
                                     int log_out) nogil
    int mg_softmax_cols_backward_f64(const double* y, const double* g, double* out,
                                     Py_ssize_t outer, Py_ssize_t d, Py_ssize_t inner,
                                     int log_out) nogil


cdef inline void _check_dim(cnp.ndarray x, dim) except *:
    if not 0 <= dim < cnp.PyArray_NDIM(x):
        raise ValueError(f"softmax: dim {dim} is not a dimension of an array of shape "
                         f"{(<object>x).shape}")


cdef inline Py_ssize_t _inner_size(cnp.ndarray x, int dim) noexcept:
    """The product of x's dimensions after ``dim`` (1 for the last)."""
    cdef Py_ssize_t inner = 1
    cdef int k
    for k in range(dim + 1, cnp.PyArray_NDIM(x)):
        inner *= cnp.PyArray_DIMS(x)[k]
    return inner


def softmax_along(x, dim, log):
    """softmax (``log``: log_softmax) of x along ``dim``; see reference.py."""
    cdef int type_num = _fast_float_type(x)
    if type_num < 0 or cnp.PyArray_NDIM(<cnp.ndarray>x) == 0 or \
            cnp.PyArray_SIZE(<cnp.ndarray>x) == 0:
        return _reference.softmax_along(x, dim, log)
    cdef cnp.ndarray X = <cnp.ndarray>x
    _check_dim(X, dim)
    cdef Py_ssize_t d = cnp.PyArray_DIMS(X)[<int>dim], inner = _inner_size(X, dim)
    cdef Py_ssize_t outer = cnp.PyArray_SIZE(X) // (d * inner)
    cdef cnp.ndarray y = pool_empty(cnp.PyArray_NDIM(X), cnp.PyArray_DIMS(X), type_num)
    cdef void* px = cnp.PyArray_DATA(X)
    cdef void* py = cnp.PyArray_DATA(y)
    cdef int log_out = bool(log), status = 0
    with nogil:
        if inner == 1:
            if type_num == cnp.NPY_DOUBLE:
                mg_softmax_rows_f64(<const double*>px, <double*>py, outer, d, log_out)
            else:
                mg_softmax_rows_f32(<const float*>px, <float*>py, outer, d, log_out)
        elif type_num == cnp.NPY_DOUBLE:
            status = mg_softmax_cols_f64(<const double*>px, <double*>py, outer, d, inner,
                                         log_out)
        else:
            status = mg_softmax_cols_f32(<const float*>px, <float*>py, outer, d, inner, log_out)
    if status < 0:
        raise MemoryError("softmax: could not allocate the column maxima and sums")
    return y


def softmax_along_backward(y, grad, dim, log):
    """dL/dx of softmax_along (``log``: of log_softmax) from its output y and dL/dy; see
    reference.py."""
    cdef int type_num = _fast_float_type(y)
    if (type_num < 0 or _fast_float_type(grad) != type_num or not _same_shape(y, grad)
            or cnp.PyArray_NDIM(<cnp.ndarray>y) == 0 or cnp.PyArray_SIZE(<cnp.ndarray>y) == 0):
        return _reference.softmax_along_backward(y, grad, dim, log)
    cdef cnp.ndarray Y = <cnp.ndarray>y
    _check_dim(Y, dim)
    cdef Py_ssize_t d = cnp.PyArray_DIMS(Y)[<int>dim], inner = _inner_size(Y, dim)
    cdef Py_ssize_t outer = cnp.PyArray_SIZE(Y) // (d * inner)
    cdef cnp.ndarray out = pool_empty(cnp.PyArray_NDIM(Y), cnp.PyArray_DIMS(Y), type_num)
    cdef void* py = cnp.PyArray_DATA(Y)
    cdef void* pg = cnp.PyArray_DATA(<cnp.ndarray>grad)
    cdef void* po = cnp.PyArray_DATA(out)
    cdef int log_out = bool(log), status = 0
    with nogil:
        if inner == 1:
            if type_num == cnp.NPY_DOUBLE:
                mg_softmax_backward_f64(<const double*>py, <const double*>pg, <double*>po,
                                        outer, d, log_out)
            else:
                mg_softmax_backward_f32(<const float*>py, <const float*>pg, <float*>po,
                                        outer, d, log_out)
        elif type_num == cnp.NPY_DOUBLE:
            status = mg_softmax_cols_backward_f64(<const double*>py, <const double*>pg,
                                                  <double*>po, outer, d, inner, log_out)
        else:
            status = mg_softmax_cols_backward_f32(<const float*>py, <const float*>pg,
                                                  <float*>po, outer, d, inner, log_out)
    if status < 0:
        raise MemoryError("softmax backward: could not allocate the column sums")
    return out
