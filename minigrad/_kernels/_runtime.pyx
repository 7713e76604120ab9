# cython: language_level=3
"""Process-wide state of the kernels: the buffer pool their large outputs come from, and the
number of threads a parallel loop may use.

The buffer pool
---------------
A training step frees its activations and gradients and allocates arrays of the same sizes in
the next step. glibc serves large blocks (above its mmap threshold, or at the top of the heap
past its trim threshold) by mapping fresh pages and hands them back to the operating system
on free, so every step faults each page in again: about 1,000 page faults per step on a
batch-256 x hidden-1024 MLP, which doubled its step time. The kernels therefore take their
large outputs (``POOL_MIN_BYTES`` and more) from a cache of freed blocks, bucketed by size
class (four classes per power of two, so a block serves requests up to 25% smaller).

The arrays are ordinary numpy arrays that own their data (``base`` is None, OWNDATA set):
their ``mem_handler`` is this module's numpy memory handler (NEP 49), so numpy returns the
block here when the array dies, wherever that happens. Only arrays the kernels create use it:
numpy's own handler, and every allocation outside minigrad's kernels, are left alone (no
global handler swap, no mallopt). At most ``limit`` bytes (256 MiB by default) stay cached;
a freed block past that goes back to the C library. ``pool_stats()`` reports the cache and
``empty_pool()`` releases it, as ``torch.cuda.empty_cache()`` does for PyTorch's allocator.

Threads
-------
``parallel_threads(n, min_per_thread)`` is the number of threads a kernel splits a loop of n
items across: 1 unless the build has OpenMP, ``set_threads`` allowed more and every thread
gets at least ``min_per_thread`` items (below that, starting threads costs more than it
saves). ``minigrad.set_num_threads`` (minigrad/_threads.py) sets the count.
"""
cimport numpy as cnp
from cpython.pycapsule cimport PyCapsule_New

cnp.import_array()

cdef extern from *:
    """
    #include <stdlib.h>
    #include <string.h>
    #include <stdint.h>
    #include "pythread.h"
    #ifdef _OPENMP
    #include <omp.h>
    #define MG_HAVE_OPENMP 1
    #else
    #define MG_HAVE_OPENMP 0
    #endif

    /* Every block starts MG_HEADER bytes before the data it hands out (64: the data stays
       64-byte aligned, a cache line, whatever malloc's alignment). */
    #define MG_HEADER 64
    #define MG_CLASSES 256
    typedef struct mg_block {
        void* raw;              /* what malloc returned */
        size_t capacity;        /* usable bytes after the header */
        struct mg_block* next;  /* next free block of the same class */
        int klass;              /* size class, or -1: never cached (small) */
    } mg_block;

    static size_t mg_pool_min = 32768;
    static size_t mg_pool_limit = (size_t)256 << 20;
    static size_t mg_pool_cached = 0;
    static unsigned long long mg_pool_hits = 0, mg_pool_misses = 0;
    static mg_block* mg_free_lists[MG_CLASSES];
    static PyThread_type_lock mg_pool_lock = NULL;

    static inline mg_block* mg_header_of(void* p) { return (mg_block*)((char*)p - MG_HEADER); }

    /* The size class of a request of `size` bytes (size >= mg_pool_min) and the capacity of
       that class: 2^k, 1.25 2^k, 1.5 2^k or 1.75 2^k, the smallest not below size. */
    static int mg_size_class(size_t size, size_t* capacity) {
        int k = 0;
        while (k < 62 && ((size_t)1 << (k + 1)) <= size) k++;
        size_t base = (size_t)1 << k, step = base >> 2;
        size_t quarters = (size - base + step - 1) / step;   /* 0..4 */
        if (quarters == 4) { k++; quarters = 0; base <<= 1; step <<= 1; }
        *capacity = base + quarters * step;
        return 4 * k + (int)quarters;
    }

    static void* mg_raw_alloc(size_t capacity, int klass) {
        if (capacity > SIZE_MAX - 2 * MG_HEADER) return NULL;
        char* raw = (char*)malloc(capacity + 2 * MG_HEADER);
        if (raw == NULL) return NULL;
        uintptr_t data = ((uintptr_t)raw + 2 * MG_HEADER) & ~(uintptr_t)(MG_HEADER - 1);
        mg_block* h = mg_header_of((void*)data);
        h->raw = raw; h->capacity = capacity; h->next = NULL; h->klass = klass;
        return (void*)data;
    }

    static void* mg_pool_malloc(void* ctx, size_t size) {
        (void)ctx;
        if (size < mg_pool_min) return mg_raw_alloc(size ? size : 1, -1);
        size_t capacity;
        int klass = mg_size_class(size, &capacity);
        PyThread_acquire_lock(mg_pool_lock, WAIT_LOCK);
        mg_block* h = mg_free_lists[klass];
        if (h != NULL) {
            mg_free_lists[klass] = h->next;
            mg_pool_cached -= h->capacity;
            mg_pool_hits++;
        } else {
            mg_pool_misses++;
        }
        PyThread_release_lock(mg_pool_lock);
        if (h != NULL) { h->next = NULL; return (char*)h + MG_HEADER; }
        return mg_raw_alloc(capacity, klass);
    }

    static void mg_pool_free(void* ctx, void* p, size_t size) {
        (void)ctx; (void)size;  /* the header knows the block's class and capacity */
        if (p == NULL) return;
        mg_block* h = mg_header_of(p);
        if (h->klass >= 0) {
            PyThread_acquire_lock(mg_pool_lock, WAIT_LOCK);
            if (mg_pool_cached + h->capacity <= mg_pool_limit) {
                h->next = mg_free_lists[h->klass];
                mg_free_lists[h->klass] = h;
                mg_pool_cached += h->capacity;
                PyThread_release_lock(mg_pool_lock);
                return;
            }
            PyThread_release_lock(mg_pool_lock);
        }
        free(h->raw);
    }

    static void* mg_pool_calloc(void* ctx, size_t nelem, size_t elsize) {
        if (elsize != 0 && nelem > SIZE_MAX / elsize) return NULL;
        void* p = mg_pool_malloc(ctx, nelem * elsize);
        if (p != NULL) memset(p, 0, nelem * elsize);
        return p;
    }

    static void* mg_pool_realloc(void* ctx, void* p, size_t new_size) {
        if (p == NULL) return mg_pool_malloc(ctx, new_size);
        mg_block* h = mg_header_of(p);
        if (new_size <= h->capacity && (h->klass >= 0 || new_size == h->capacity)) return p;
        void* q = mg_pool_malloc(ctx, new_size);
        if (q == NULL) return NULL;
        memcpy(q, p, h->capacity < new_size ? h->capacity : new_size);
        mg_pool_free(ctx, p, h->capacity);
        return q;
    }

    static size_t mg_pool_release(void) {
        size_t released = 0;
        PyThread_acquire_lock(mg_pool_lock, WAIT_LOCK);
        for (int c = 0; c < MG_CLASSES; c++) {
            mg_block* h = mg_free_lists[c];
            mg_free_lists[c] = NULL;
            while (h != NULL) {
                mg_block* next = h->next;
                released += h->capacity;
                free(h->raw);
                h = next;
            }
        }
        mg_pool_cached = 0;
        PyThread_release_lock(mg_pool_lock);
        return released;
    }

    static PyDataMem_Handler mg_pool_handler = {
        "minigrad_pool", 1,
        {NULL, mg_pool_malloc, mg_pool_calloc, mg_pool_realloc, mg_pool_free}
    };
    static PyObject* mg_pool_capsule = NULL;

    static int mg_pool_init(void) {
        mg_pool_lock = PyThread_allocate_lock();
        if (mg_pool_lock == NULL) { PyErr_NoMemory(); return -1; }
        mg_pool_capsule = PyCapsule_New(&mg_pool_handler, "mem_handler", NULL);
        return mg_pool_capsule == NULL ? -1 : 0;
    }

    /* A new C-contiguous array whose data comes from the pool, owned by the array and given
       back to the pool by numpy (through the array's mem_handler) when it dies. */
    static PyObject* mg_pool_new_array(int ndim, npy_intp* dims, int type_num) {
        PyArray_Descr* descr = PyArray_DescrFromType(type_num);
        if (descr == NULL) return NULL;
        size_t nbytes = type_num == NPY_DOUBLE ? 8 : 4;  /* float32 or float64 only */
        for (int d = 0; d < ndim; d++) nbytes *= (size_t)dims[d];
        void* data = mg_pool_malloc(NULL, nbytes);
        if (data == NULL) { Py_DECREF(descr); return PyErr_NoMemory(); }
        PyObject* arr = PyArray_NewFromDescr(&PyArray_Type, descr, ndim, dims, NULL, data,
                                             NPY_ARRAY_CARRAY, NULL);
        if (arr == NULL) { mg_pool_free(NULL, data, nbytes); return NULL; }
        PyArray_ENABLEFLAGS((PyArrayObject*)arr, NPY_ARRAY_OWNDATA);
        Py_INCREF(mg_pool_capsule);
        ((PyArrayObject_fields*)arr)->mem_handler = mg_pool_capsule;
        return arr;
    }

    static int mg_num_threads = 1;
    static int mg_parallel_used = 0;
    """
    int MG_HAVE_OPENMP
    size_t mg_pool_min
    size_t mg_pool_limit
    size_t mg_pool_cached
    unsigned long long mg_pool_hits
    unsigned long long mg_pool_misses
    int mg_num_threads
    int mg_parallel_used
    int mg_pool_init() except -1
    size_t mg_pool_release()
    object mg_pool_new_array(int ndim, cnp.npy_intp* dims, int type_num)


mg_pool_init()

#: True when the kernels were compiled with OpenMP (parallel loops); else every loop is serial.
OPENMP = bool(MG_HAVE_OPENMP)
#: Outputs of at least this many bytes come from the pool (smaller ones from numpy).
POOL_MIN_BYTES = mg_pool_min


cdef object pool_empty(int ndim, cnp.npy_intp* dims, int type_num):
    """An uninitialised C-contiguous array: from the pool if it has POOL_MIN_BYTES or more,
    else numpy's PyArray_EMPTY (small blocks are cheap in the C library and never fault)."""
    cdef Py_ssize_t nbytes = 8 if type_num == cnp.NPY_DOUBLE else 4
    cdef int d
    for d in range(ndim):
        nbytes *= dims[d]
    if nbytes < <Py_ssize_t>mg_pool_min:
        return cnp.PyArray_EMPTY(ndim, dims, type_num, 0)
    return mg_pool_new_array(ndim, dims, type_num)


cdef object pool_empty_like(cnp.ndarray x):
    """pool_empty with x's shape and dtype (x float32 or float64)."""
    return pool_empty(cnp.PyArray_NDIM(x), cnp.PyArray_DIMS(x), cnp.PyArray_TYPE(x))


def empty(shape, dtype):
    """A new uninitialised float32/float64 C-contiguous array of ``shape`` from the pool (for
    Python-level kernels and tests)."""
    cdef cnp.dtype descr = cnp.dtype(dtype)
    if descr.type_num != cnp.NPY_FLOAT and descr.type_num != cnp.NPY_DOUBLE:
        raise TypeError(f"the pool serves float32 and float64 arrays, not {descr}")
    shape = tuple(shape)
    cdef int ndim = len(shape)
    if ndim > 32:
        raise ValueError(f"too many dimensions: {ndim}")
    cdef cnp.npy_intp dims[32]
    cdef int d
    for d in range(ndim):
        if shape[d] < 0:
            raise ValueError(f"negative dimensions are not allowed: {shape}")
        dims[d] = shape[d]
    return pool_empty(ndim, dims, descr.type_num)


cdef int parallel_threads(Py_ssize_t n, Py_ssize_t min_per_thread) noexcept nogil:
    """How many threads a loop of n items runs on (see the module docstring)."""
    global mg_parallel_used
    cdef int threads = mg_num_threads
    if not MG_HAVE_OPENMP or threads <= 1 or n < 2 * min_per_thread:
        return 1
    if n // min_per_thread < threads:
        threads = <int>(n // min_per_thread)
    mg_parallel_used = 1
    return threads


#: No loop starts more threads than this, whatever set_threads allowed.
MAX_THREADS = 256


def set_threads(int n):
    """Let parallel loops use up to n threads (n >= 1; minigrad.set_num_threads checks it;
    at most MAX_THREADS are started)."""
    global mg_num_threads
    mg_num_threads = min(max(n, 1), MAX_THREADS)


def get_threads():
    return mg_num_threads


def parallel_region_used():
    """True once a kernel has run a loop on more than one thread in this process."""
    return bool(mg_parallel_used)


def pool_stats():
    """The pool's state: bytes cached, the cache limit, hits and misses so far."""
    return {"cached_bytes": mg_pool_cached, "limit_bytes": mg_pool_limit,
            "min_bytes": mg_pool_min, "hits": mg_pool_hits, "misses": mg_pool_misses}


def set_pool_limit(limit_bytes):
    """Cache at most limit_bytes of freed blocks (0: cache nothing); returns the old limit.
    Blocks cached beyond the new limit are released."""
    global mg_pool_limit
    if limit_bytes < 0:
        raise ValueError(f"the pool limit must be >= 0, got {limit_bytes}")
    old = mg_pool_limit
    mg_pool_limit = limit_bytes
    if mg_pool_cached > mg_pool_limit:
        mg_pool_release()
    return old


def empty_pool():
    """Give every cached block back to the C library; returns the bytes released."""
    return mg_pool_release()
