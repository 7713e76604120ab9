# cython: language_level=3
"""Input checks shared by the kernel modules (inline: compiled into each module that cimports
them). They run once per call, in the Python-facing ``def``, never inside a loop."""
cimport numpy as cnp


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
