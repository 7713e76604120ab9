# cython: language_level=3
"""What the kernel modules share, inline (compiled into each module that cimports it): the
input checks that run once per call in a Python-facing ``def`` (never inside a loop), and the
column-sum loop that both ``sum_rows`` and the Linear backward use."""
cimport numpy as cnp
from cython cimport floating


cdef inline int _fast_float_type(object x) noexcept:
    """The numpy type number of x if a C loop may read it as one flat C-contiguous buffer,
    else -1.

    That is: an exact ndarray (no subclass), float32 or float64, C-contiguous, aligned and in
    native byte order.
    """
    if not cnp.PyArray_CheckExact(x):
        return -1
    cdef cnp.ndarray arr = <cnp.ndarray>x
    cdef int type_num = cnp.PyArray_TYPE(arr)
    if type_num != cnp.NPY_FLOAT and type_num != cnp.NPY_DOUBLE:
        return -1
    if not (cnp.PyArray_ISCARRAY_RO(arr) and cnp.PyArray_ISNOTSWAPPED(arr)):
        return -1
    return type_num


cdef inline bint _same_shape(cnp.ndarray a, cnp.ndarray b) noexcept:
    """True if a and b have the same number of dimensions and the same sizes."""
    cdef int ndim = cnp.PyArray_NDIM(a)
    if cnp.PyArray_NDIM(b) != ndim:
        return False
    cdef cnp.npy_intp* da = cnp.PyArray_DIMS(a)
    cdef cnp.npy_intp* db = cnp.PyArray_DIMS(b)
    cdef int d
    for d in range(ndim):
        if da[d] != db[d]:
            return False
    return True


cdef inline void _sum_rows_kernel(const floating* x, floating* out, Py_ssize_t rows,
                                  Py_ssize_t cols) noexcept nogil:
    """out[j] = sum_i x[i, j], row after row (contiguous, vectorizable; numpy's order for
    axis=0)."""
    cdef Py_ssize_t i, j
    cdef const floating* row
    cdef floating total
    if rows == 0:
        for j in range(cols):
            out[j] = 0
        return
    if cols == 1:  # one column: a plain running sum (the same additions, in the same order)
        total = x[0]
        for i in range(1, rows):
            total = total + x[i]
        out[0] = total
        return
    for j in range(cols):
        out[j] = x[j]
    for i in range(1, rows):
        row = x + i * cols
        for j in range(cols):
            out[j] = out[j] + row[j]
