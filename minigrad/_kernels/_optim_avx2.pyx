# cython: language_level=3
# distutils: extra_compile_args = -fno-math-errno -ffp-contract=off -fno-inline-functions-called-once -fno-inline-small-functions -fno-inline-functions
"""The optimizer kernels of ``_optim_impl.pxi`` compiled for AVX2 (x86-64, GCC): imported by
``_optim`` only when the CPU supports AVX2, whose kernels it then replaces. Elsewhere (another
compiler or architecture) the pragma below is skipped, ``_built_for_avx2`` is False and
``_optim`` keeps its own build. Same source, same rounding (no FMA): see ``_optim``."""

cdef extern from *:
    """
    #if defined(__GNUC__) && !defined(__clang__) && (defined(__x86_64__) || defined(__i386__))
    #pragma GCC target("avx2")
    #define MINIGRAD_BUILT_FOR_AVX2 1
    #else
    #define MINIGRAD_BUILT_FOR_AVX2 0
    #endif
    """
    int MINIGRAD_BUILT_FOR_AVX2

_built_for_avx2 = bool(MINIGRAD_BUILT_FOR_AVX2)

include "_optim_impl.pxi"
