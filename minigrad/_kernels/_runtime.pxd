# cython: language_level=3
"""What the kernel modules cimport from ``_runtime``: new arrays from the buffer pool and the
number of threads a parallel loop may use (see _runtime.pyx)."""
cimport numpy as cnp

cdef object pool_empty(int ndim, cnp.npy_intp* dims, int type_num)
cdef object pool_empty_like(cnp.ndarray x)
cdef int parallel_threads(Py_ssize_t n, Py_ssize_t min_per_thread) noexcept nogil
