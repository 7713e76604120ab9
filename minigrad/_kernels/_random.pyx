# cython: language_level=3
"""Compiled random fills: twins of the functions of the same names in the "Random fills"
section of ``reference.py`` (read that for what each computes).

numpy's Generator methods cost a few microseconds of argument handling per call, and a fill
through them (draw a new array, transform it, copy it into the tensor) makes several such calls:
on a small tensor that is ten times the drawing itself. These loops call the very C functions
numpy's Generator uses (its bit generator and numpy's distributions library), on the
generator's state under its lock, writing straight into the tensor's buffer: the values, and
the generator's state after the call, are bit for bit the reference's. The one exception is
the normal fill's Box-Muller transform, whose log, cos and sin run on the C library's vector
math here and on numpy's there: the same uniforms and state, the normals equal within a few
units in the last place.

Arrays must be C-contiguous, aligned, native float32/float64 (int64 too for ``integers_fill``);
anything else, and any generator that is not a numpy ``Generator``, goes to the reference.
"""
cimport numpy as cnp
from libc.float cimport DBL_MAX
from libc.math cimport INFINITY
from cpython.pycapsule cimport PyCapsule_GetPointer, PyCapsule_IsValid
from numpy.random cimport bitgen_t
from numpy.random.c_distributions cimport (
    random_poisson,
    random_standard_exponential_fill,
    random_standard_exponential_fill_f,
    random_standard_uniform_fill,
    random_standard_uniform_fill_f,
)

import numpy as np

from . import reference as _reference

cnp.import_array()

cdef const char* _CAPSULE_NAME = "BitGenerator"

# Box-Muller on pairs of uniforms, in a loop the compiler vectorizes: glibc's vector math
# (libmvec) computes 4, 8 or 16 logs, cosines and sines per call where the scalar functions are
# declared ``simd`` (as in _elementwise.pyx: GCC on x86-64 with glibc 2.35 or later, AVX-512, AVX2
# and baseline clones picked at load time; elsewhere the scalar functions).
cdef extern from *:
    """
    #include <math.h>
    #if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && \
        defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 35))
    #define MG_SIMD __attribute__((simd("notinbranch")))
    #define MG_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
    MG_SIMD float logf(float); MG_SIMD float cosf(float); MG_SIMD float sinf(float);
    MG_SIMD double log(double); MG_SIMD double cos(double); MG_SIMD double sin(double);
    #else
    #define MG_CLONES
    #endif
    /* a[i] = u1, b[i] = u2, uniform on [0, 1), become r cos(t) and r sin(t) with
       r = sqrt(-2 log(1 - u1)) and t = 2 pi u2 (1 - u1 > 0: log never sees 0); h <= 128.
       One loop per function: GCC would merge a sin and a cos of the same value into a
       scalar sincos call, which no loop vectorizes. */
    #define MG_BOX_MULLER(name, T, SQRT, LOG, COS, SIN, TWO_PI) \
    MG_CLONES void name(T* restrict a, T* restrict b, Py_ssize_t h) { \
        T t[128]; \
        for (Py_ssize_t i = 0; i < h; i++) { \
            a[i] = SQRT(-2 * LOG(1 - a[i])); t[i] = TWO_PI * b[i]; } \
        for (Py_ssize_t i = 0; i < h; i++) b[i] = a[i] * SIN(t[i]); \
        for (Py_ssize_t i = 0; i < h; i++) a[i] = a[i] * COS(t[i]); }
    MG_BOX_MULLER(mg_box_muller_f32, float, sqrtf, logf, cosf, sinf, 6.2831855f)
    MG_BOX_MULLER(mg_box_muller_f64, double, sqrt, log, cos, sin, 6.283185307179586)
    """
    void mg_box_muller_f32(float* a, float* b, Py_ssize_t h) noexcept nogil
    void mg_box_muller_f64(double* a, double* b, Py_ssize_t h) noexcept nogil

# Pairs are taken within blocks of 2 * _BM_HALF samples: the first half with the second.
DEF _BM_HALF = 128


# Fills at least this large release the GIL (below it, releasing and taking it back costs a
# fifth of the call).
cdef cnp.npy_intp _NOGIL_MIN_SIZE = 4096


# The last Generator seen, with its C state and its bit generator's lock: a Generator's bit
# generator never changes, and looking both up costs more than drawing 100 samples.
cdef object _last_rng = None
cdef object _last_lock = None
cdef bitgen_t* _last_state = NULL


cdef bitgen_t* _bitgen(object rng) except? NULL:
    """The C state of a numpy Generator's bit generator, or NULL if rng is not one; its lock
    is then ``_last_lock``."""
    global _last_rng, _last_lock, _last_state
    if rng is _last_rng:
        return _last_state
    if not isinstance(rng, np.random.Generator):
        return NULL
    bit_generator = rng.bit_generator
    capsule = bit_generator.capsule
    if not PyCapsule_IsValid(capsule, _CAPSULE_NAME):
        return NULL
    _last_state = <bitgen_t*>PyCapsule_GetPointer(capsule, _CAPSULE_NAME)
    _last_lock = bit_generator.lock
    _last_rng = rng
    return _last_state


cdef int _writable_type(object out) noexcept:
    """The numpy type number of out if the loops may write it as one C-contiguous buffer of
    float32, float64 or int64, else -1."""
    if not cnp.PyArray_CheckExact(out):
        return -1
    cdef cnp.ndarray arr = <cnp.ndarray>out
    cdef int t = cnp.PyArray_TYPE(arr)
    if t != cnp.NPY_FLOAT and t != cnp.NPY_DOUBLE and t != cnp.NPY_INT64:
        return -1
    if not (cnp.PyArray_ISCARRAY(arr) and cnp.PyArray_ISNOTSWAPPED(arr)):
        return -1
    return t


cdef enum Sampler:
    UNIFORM
    EXPONENTIAL


cdef void _standard_fill(bitgen_t* state, Sampler sampler, int t, cnp.npy_intp n,
                         void* p) noexcept nogil:
    """p[:n] = numpy's uniform or standard exponential samples, as float64 or float32 (t)."""
    if sampler == EXPONENTIAL and t == cnp.NPY_DOUBLE:
        random_standard_exponential_fill(state, n, <double*>p)
    elif sampler == EXPONENTIAL:
        random_standard_exponential_fill_f(state, n, <float*>p)
    elif t == cnp.NPY_DOUBLE:
        random_standard_uniform_fill(state, n, <double*>p)
    else:
        random_standard_uniform_fill_f(state, n, <float*>p)


cdef bint _float_fill(object rng, object out, Sampler sampler):
    """Fill out with numpy's uniform or standard exponential samples, the same calls
    Generator.random / standard_exponential make; False if out or rng does not fit the loop."""
    cdef int t = _writable_type(out)
    cdef bitgen_t* state = _bitgen(rng)
    lock = _last_lock  # rng's bit generator's lock, found by _bitgen
    if t < 0 or t == cnp.NPY_INT64 or state == NULL:
        return False
    cdef cnp.npy_intp n = cnp.PyArray_SIZE(<cnp.ndarray>out)
    cdef void* p = cnp.PyArray_DATA(<cnp.ndarray>out)
    if n < _NOGIL_MIN_SIZE:
        with lock:
            _standard_fill(state, sampler, t, n, p)
    else:
        with lock, nogil:
            _standard_fill(state, sampler, t, n, p)
    return True


def uniform_fill(rng, out):
    """out[...] = rng.random(out.shape, dtype=out.dtype) (float32 or float64), in place."""
    return out if _float_fill(rng, out, UNIFORM) else _reference.uniform_fill(rng, out)


def uniform_range_fill(rng, out, low, high):
    """out[...] = U * (high - low) + low for U = rng.random(out.shape, dtype=out.dtype), the
    width and low rounded to out's dtype first, each step rounded in that dtype."""
    if not _float_fill(rng, out, UNIFORM):
        return _reference.uniform_range_fill(rng, out, low, high)
    cdef cnp.npy_intp n = cnp.PyArray_SIZE(<cnp.ndarray>out), i
    cdef void* p = cnp.PyArray_DATA(<cnp.ndarray>out)
    cdef double width = high - low, offset = low
    cdef float width32 = <float>width, offset32 = <float>offset, v32
    cdef double v64
    if cnp.PyArray_TYPE(<cnp.ndarray>out) == cnp.NPY_DOUBLE:
        for i in range(n):
            v64 = (<double*>p)[i] * width
            (<double*>p)[i] = v64 + offset
    else:
        for i in range(n):
            v32 = (<float*>p)[i] * width32
            (<float*>p)[i] = v32 + offset32
    return out


cdef void _box_muller(void* p, cnp.npy_intp n, bint f64) noexcept nogil:
    """Turn the n uniforms at p into normals, pairing within blocks as reference.normal_fill
    does; an odd n's last pair has its second uniform already at p[n] (room for it made by
    the caller)."""
    cdef cnp.npy_intp i = 0, h
    while i < n:
        h = _BM_HALF if n - i >= 2 * _BM_HALF else (n - i + 1) // 2
        if f64:
            mg_box_muller_f64(<double*>p + i, <double*>p + i + h, h)
        else:
            mg_box_muller_f32(<float*>p + i, <float*>p + i + h, h)
        i += 2 * h


cdef void _affine(void* p, cnp.npy_intp n, bint f64, double mean, double std) noexcept nogil:
    """p[i] = p[i] * std + mean, each step rounded to the dtype, a step skipped when it is the
    identity (so that -0.0 stays -0.0, as in the reference)."""
    cdef cnp.npy_intp i
    cdef float std32 = <float>std, mean32 = <float>mean
    if f64:
        if std != 1:
            for i in range(n):
                (<double*>p)[i] = (<double*>p)[i] * std
        if mean != 0:
            for i in range(n):
                (<double*>p)[i] = (<double*>p)[i] + mean
    else:
        if std != 1:
            for i in range(n):
                (<float*>p)[i] = (<float*>p)[i] * std32
        if mean != 0:
            for i in range(n):
                (<float*>p)[i] = (<float*>p)[i] + mean32


def normal_fill(rng, out, double mean=0.0, double std=1.0):
    """out[...] = N(mean, std^2) samples (float32 or float64): Box-Muller on the uniforms
    rng.random(n + n % 2, dtype=out.dtype), then * std and + mean, as reference.normal_fill;
    out of any layout (other than the loop's are filled through a C-contiguous copy, with the
    same values)."""
    cdef int t = _writable_type(out)
    if t < 0 or t == cnp.NPY_INT64:
        if isinstance(out, np.ndarray) and out.dtype.kind == "f" and out.dtype.itemsize in (4, 8):
            out[...] = normal_fill(rng, np.empty(out.shape, dtype=out.dtype.newbyteorder("=")),
                                   mean, std)
            return out
        return _reference.normal_fill(rng, out, mean, std)
    cdef cnp.npy_intp n = cnp.PyArray_SIZE(<cnp.ndarray>out)
    cdef bint f64 = t == cnp.NPY_DOUBLE
    cdef void* p = cnp.PyArray_DATA(<cnp.ndarray>out)
    if n % 2 == 0:
        if not _float_fill(rng, out, UNIFORM):
            return _reference.normal_fill(rng, out, mean, std)
        if n < _NOGIL_MIN_SIZE:
            _box_muller(p, n, f64)
            _affine(p, n, f64, mean, std)
        else:
            with nogil:
                _box_muller(p, n, f64)
                _affine(p, n, f64, mean, std)
        return out
    # An odd count draws one uniform more: the last block goes through a buffer with room
    # for it (a block is at most 2 * _BM_HALF samples).
    cdef cnp.npy_intp tail = n % (2 * _BM_HALF)
    cdef cnp.npy_intp head = n - tail
    cdef cnp.ndarray buffer = np.empty(tail + 1, dtype=out.dtype)
    cdef cnp.ndarray flat = out.reshape(-1)
    if not (_float_fill(rng, flat[:head], UNIFORM) and _float_fill(rng, buffer, UNIFORM)):
        return _reference.normal_fill(rng, out, mean, std)
    with nogil:
        _box_muller(p, head, f64)
        _box_muller(cnp.PyArray_DATA(buffer), tail, f64)
    flat[head:] = buffer[:tail]
    with nogil:
        _affine(p, n, f64, mean, std)
    return out


def exponential_fill(rng, out):
    """out[...] = rng.standard_exponential(out.shape, dtype=out.dtype) (float32 or float64)."""
    return out if _float_fill(rng, out, EXPONENTIAL) else _reference.exponential_fill(rng, out)


# numpy's largest Poisson rate (POISSON_LAM_MAX, a little under 2**63); larger rates, negative
# ones and NaN go to the reference, which raises numpy's errors for them.
cdef double _POISSON_LAM_MAX = 9.2e18


def poisson_sample(rng, lam):
    """rng.poisson(lam) as an array of lam's dtype (float32 or float64, rates >= 0)."""
    cdef int t = _writable_type(lam)
    cdef bitgen_t* state = _bitgen(rng)
    lock = _last_lock  # rng's bit generator's lock, found by _bitgen
    if t < 0 or t == cnp.NPY_INT64 or state == NULL:
        return _reference.poisson_sample(rng, lam)
    cdef cnp.ndarray rates = <cnp.ndarray>lam
    cdef cnp.npy_intp n = cnp.PyArray_SIZE(rates), i
    cdef const void* pl = cnp.PyArray_DATA(rates)
    cdef double rate
    for i in range(n):
        rate = (<const double*>pl)[i] if t == cnp.NPY_DOUBLE else (<const float*>pl)[i]
        if not 0 <= rate <= _POISSON_LAM_MAX:  # NaN too
            return _reference.poisson_sample(rng, lam)
    cdef cnp.ndarray out = cnp.PyArray_EMPTY(cnp.PyArray_NDIM(rates), cnp.PyArray_DIMS(rates),
                                             t, 0)
    cdef void* po = cnp.PyArray_DATA(out)
    with lock, nogil:
        for i in range(n):
            if t == cnp.NPY_DOUBLE:
                (<double*>po)[i] = <double>random_poisson(state, (<const double*>pl)[i])
            else:
                (<float*>po)[i] = <float>random_poisson(state, (<const float*>pl)[i])
    return out


cdef void _bernoulli_loop(bitgen_t* state, void* po, int t, cnp.npy_intp size,
                         double prob) noexcept nogil:
    """po[:size] = (U < prob) for doubles U, as int64, float64 or float32 (t)."""
    cdef cnp.npy_intp i
    cdef bint hit
    for i in range(size):
        hit = state.next_double(state.state) < prob
        if t == cnp.NPY_INT64:
            (<cnp.int64_t*>po)[i] = hit
        elif t == cnp.NPY_DOUBLE:
            (<double*>po)[i] = hit
        else:
            (<float*>po)[i] = hit


def bernoulli_fill(rng, out, p):
    """out[...] = (U < p) for doubles U = rng.random(out.shape), stored as out's dtype
    (float32, float64 or int64): 1 with probability p (0 <= p <= 1)."""
    cdef int t = _writable_type(out)
    cdef bitgen_t* state = _bitgen(rng)
    lock = _last_lock  # rng's bit generator's lock, found by _bitgen
    if t < 0 or state == NULL:
        return _reference.bernoulli_fill(rng, out, p)
    cdef cnp.npy_intp size = cnp.PyArray_SIZE(<cnp.ndarray>out)
    cdef void* po = cnp.PyArray_DATA(<cnp.ndarray>out)
    cdef double prob = p
    if size < _NOGIL_MIN_SIZE:
        with lock:
            _bernoulli_loop(state, po, t, size, prob)
    else:
        with lock, nogil:
            _bernoulli_loop(state, po, t, size, prob)
    return out


cdef void _integers_loop(bitgen_t* state, void* p, int t, cnp.npy_intp size, cnp.int64_t lo,
                        cnp.int64_t count) noexcept nogil:
    cdef cnp.npy_intp i
    cdef cnp.int64_t v
    cdef double span = <double>count
    for i in range(size):
        v = <cnp.int64_t>(state.next_double(state.state) * span)
        if v > count - 1:  # U * n may round up to n when U is near 1
            v = count - 1
        v = v + lo
        if t == cnp.NPY_INT64:
            (<cnp.int64_t*>p)[i] = v
        elif t == cnp.NPY_DOUBLE:
            (<double*>p)[i] = <double>v
        else:
            (<float*>p)[i] = <float>v


def integers_fill(rng, out, low, n):
    """out[...] = low + min(floor(U * n), n - 1) for doubles U = rng.random(out.shape), stored
    as out's dtype (float32, float64 or int64); 1 <= n <= 2**32."""
    cdef int t = _writable_type(out)
    cdef bitgen_t* state = _bitgen(rng)
    lock = _last_lock  # rng's bit generator's lock, found by _bitgen
    if t < 0 or state == NULL or not 1 <= n <= 2 ** 32:
        return _reference.integers_fill(rng, out, low, n)
    cdef cnp.npy_intp size = cnp.PyArray_SIZE(<cnp.ndarray>out)
    cdef void* p = cnp.PyArray_DATA(<cnp.ndarray>out)
    cdef cnp.int64_t lo = low, count = n
    if size < _NOGIL_MIN_SIZE:
        with lock:
            _integers_loop(state, p, t, size, lo, count)
    else:
        with lock, nogil:
            _integers_loop(state, p, t, size, lo, count)
    return out


def permutation(rng, n):
    """A random permutation of 0 .. n-1 (n >= 0) as int64, by the inside-out Fisher-Yates
    shuffle: out[0] = 0, then for i = 1 .. n-1, j = min(floor(U * (i + 1)), i) for a double U
    uniform on [0, 1) (rng.random's stream, one draw per i), out[i] = out[j] and out[j] = i.
    Each of the n! orders has probability 1/n! up to the double's rounding (a bias below
    n / 2**53), as in integers_fill."""
    cdef bitgen_t* state = _bitgen(rng)
    lock = _last_lock  # rng's bit generator's lock, found by _bitgen
    if state == NULL or n < 0:
        return _reference.permutation(rng, n)
    cdef cnp.npy_intp size = n
    cdef cnp.ndarray out = cnp.PyArray_EMPTY(1, &size, cnp.NPY_INT64, 0)
    cdef cnp.int64_t* p = <cnp.int64_t*>cnp.PyArray_DATA(out)
    cdef cnp.int64_t i, j
    if size == 0:
        return out
    with lock, nogil:
        p[0] = 0
        for i in range(1, size):
            j = <cnp.int64_t>(state.next_double(state.state) * <double>(i + 1))
            if j > i:  # U * (i + 1) may round up to i + 1 when U is near 1
                j = i
            p[i] = p[j]
            p[j] = i
    return out


cdef bint _weights_valid(const void* pw, bint is_double, Py_ssize_t rows,
                         Py_ssize_t categories, Py_ssize_t min_positive) noexcept nogil:
    """Every weight finite and >= 0, and every row with at least min_positive > 0."""
    cdef Py_ssize_t r, k, positive
    cdef double w
    for r in range(rows):
        positive = 0
        for k in range(r * categories, (r + 1) * categories):
            w = (<const double*>pw)[k] if is_double else (<const float*>pw)[k]
            if not (0 <= w <= DBL_MAX):  # NaN, inf and negatives
                return False
            positive += w > 0
        if positive < min_positive:
            return False
    return True


def multinomial_with_replacement(rng, weights, num_samples):
    """(rows, num_samples) int64 category indices drawn with replacement from each row of the
    2-D ``weights`` by the inverse CDF, or None if a weight is invalid: see reference.py."""
    cdef int t = _writable_type(weights)
    cdef bitgen_t* state = _bitgen(rng)
    lock = _last_lock  # rng's bit generator's lock, found by _bitgen
    if t < 0 or t == cnp.NPY_INT64 or state == NULL or cnp.PyArray_NDIM(weights) != 2:
        return _reference.multinomial_with_replacement(rng, weights, num_samples)
    cdef Py_ssize_t rows = cnp.PyArray_DIMS(weights)[0], categories = cnp.PyArray_DIMS(weights)[1]
    cdef Py_ssize_t samples = num_samples, r, k, s, lo, count, half, last
    cdef const void* pw = cnp.PyArray_DATA(<cnp.ndarray>weights)
    cdef bint is_double = t == cnp.NPY_DOUBLE
    cdef bint valid
    with nogil:
        valid = _weights_valid(pw, is_double, rows, categories, 1)
    if not valid:
        return None
    cdef cnp.npy_intp dims[2]
    dims[0], dims[1] = rows, samples
    cdef cnp.ndarray out = cnp.PyArray_EMPTY(2, dims, cnp.NPY_INT64, 0)
    cdef cnp.int64_t* po = <cnp.int64_t*>cnp.PyArray_DATA(out)
    cdef cnp.npy_intp width = categories
    cdef cnp.ndarray table = cnp.PyArray_EMPTY(1, &width, cnp.NPY_DOUBLE, 0)  # one row's sums
    cdef double* cdf = <double*>cnp.PyArray_DATA(table)
    cdef double total, u, w
    with lock, nogil:
        for r in range(rows):
            total = 0
            last = 0
            for k in range(categories):
                w = (<const double*>pw)[r * categories + k] if is_double else \
                    (<const float*>pw)[r * categories + k]
                total = total + w
                cdf[k] = total
                if w > 0:
                    last = k
            for s in range(samples):
                u = state.next_double(state.state) * total
                # the number of cdf[k] <= u (numpy's searchsorted, side="right", which
                # counts all of them for a NaN: U = 0 times an infinite total). A binary
                # search without branches on the data (log2(categories) steps, whichever way
                # each goes): a mispredicted branch per step cost 2x.
                lo = 0
                count = categories
                while count > 1:
                    half = count >> 1
                    lo = lo + half * (cdf[lo + half] <= u)
                    count = count - half
                lo = lo + (cdf[lo] <= u or u != u)
                po[r * samples + s] = lo if lo < last else last
    return out


# Up to this many samples a row's smallest keys are kept in a sorted list that a new key
# enters by insertion (about k log(n / k) entries on the n keys of a row); more go to the
# reference's sort.
DEF _RACE_MAX_SAMPLES = 64


def multinomial_without_replacement(rng, weights, num_samples):
    """(rows, num_samples) int64 category indices drawn without replacement from each row of
    the 2-D ``weights`` by the exponential race, or None if a weight is invalid or a row has
    too few positive weights: see reference.py. The keys E / w are computed as there (a
    zero weight's NaN, from E = 0, taken as inf: a zero weight is never drawn before a
    positive one) and each row's smallest are kept in order, the first index on a tie."""
    cdef int t = _writable_type(weights)
    cdef bitgen_t* state = _bitgen(rng)
    lock = _last_lock  # rng's bit generator's lock, found by _bitgen
    if t < 0 or t == cnp.NPY_INT64 or state == NULL or cnp.PyArray_NDIM(weights) != 2 or \
            not 1 <= num_samples <= min(_RACE_MAX_SAMPLES, weights.shape[1]):
        return _reference.multinomial_without_replacement(rng, weights, num_samples)
    cdef Py_ssize_t rows = cnp.PyArray_DIMS(weights)[0], categories = cnp.PyArray_DIMS(weights)[1]
    cdef Py_ssize_t samples = num_samples, r, k, j, count
    cdef const void* pw = cnp.PyArray_DATA(<cnp.ndarray>weights)
    cdef bint is_double = t == cnp.NPY_DOUBLE
    cdef bint valid
    with nogil:
        valid = _weights_valid(pw, is_double, rows, categories, samples)
    if not valid:
        return None
    cdef cnp.npy_intp dims[2]
    dims[0], dims[1] = rows, samples
    cdef cnp.ndarray out = cnp.PyArray_EMPTY(2, dims, cnp.NPY_INT64, 0)
    cdef cnp.int64_t* chosen
    cdef cnp.npy_intp width = categories
    cdef cnp.ndarray row_keys = cnp.PyArray_EMPTY(1, &width, cnp.NPY_DOUBLE, 0)
    cdef double* keys = <double*>cnp.PyArray_DATA(row_keys)
    cdef double best[_RACE_MAX_SAMPLES]  # the row's smallest keys so far, ascending
    cdef double key, w
    with lock, nogil:
        for r in range(rows):
            random_standard_exponential_fill(state, categories, keys)
            chosen = <cnp.int64_t*>cnp.PyArray_DATA(out) + r * samples
            count = 0
            for k in range(categories):
                w = (<const double*>pw)[r * categories + k] if is_double else \
                    (<const float*>pw)[r * categories + k]
                key = keys[k] / w
                if key != key:
                    key = INFINITY
                if count == samples:
                    if not key < best[samples - 1]:
                        continue  # (an equal key comes later in index order: it loses)
                    j = samples - 1
                else:
                    j = count
                    count += 1
                while j > 0 and best[j - 1] > key:
                    best[j] = best[j - 1]
                    chosen[j] = chosen[j - 1]
                    j -= 1
                best[j] = key
                chosen[j] = k
    return out


def bernoulli_sample(rng, p):
    """A new array of p's shape and dtype (float32 or float64) holding 1 where U < p, else 0,
    for doubles U uniform on [0, 1) (rng.random's stream, one per element of p, in C
    order). None, with nothing drawn, if an element of p is outside [0, 1] or NaN."""
    cdef int t = _writable_type(p)
    cdef bitgen_t* state = _bitgen(rng)
    lock = _last_lock  # rng's bit generator's lock, found by _bitgen
    if t < 0 or t == cnp.NPY_INT64 or state == NULL:
        return _reference.bernoulli_sample(rng, p)
    cdef cnp.ndarray probabilities = <cnp.ndarray>p
    cdef cnp.npy_intp n = cnp.PyArray_SIZE(probabilities), i
    cdef const void* pp = cnp.PyArray_DATA(probabilities)
    cdef bint is_double = t == cnp.NPY_DOUBLE
    cdef double q
    for i in range(n):
        q = (<const double*>pp)[i] if is_double else (<const float*>pp)[i]
        if not 0 <= q <= 1:  # NaN too
            return None
    cdef cnp.ndarray out = cnp.PyArray_EMPTY(cnp.PyArray_NDIM(probabilities),
                                             cnp.PyArray_DIMS(probabilities), t, 0)
    cdef void* po = cnp.PyArray_DATA(out)
    with lock, nogil:
        if is_double:
            for i in range(n):
                (<double*>po)[i] = state.next_double(state.state) < (<const double*>pp)[i]
        else:
            for i in range(n):
                (<float*>po)[i] = state.next_double(state.state) < (<const float*>pp)[i]
    return out
