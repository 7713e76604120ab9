# cython: language_level=3
# distutils: extra_compile_args = -fno-math-errno -ffp-contract=off -fno-inline-functions-called-once -fno-inline-small-functions -fno-inline-functions
"""Fused optimizer update kernels: one call updates one parameter in place.

Each ``*_`` function here is the compiled twin of the function of the same name in
``reference.py`` (section "Optimizer kernels"), which spells out the update with numpy.
Both follow PyTorch's single-tensor implementation (``torch/optim/*.py``) operation by
operation, in the same order, with every scalar first rounded to the parameter's dtype as
PyTorch does, so a float64 trajectory matches ``torch.optim`` to round-off.

Why the arrays arrive as plain objects rather than typed memoryviews
--------------------------------------------------------------------
These kernels run once per parameter per training step on arrays that are often tiny (a
bias of 10 numbers). Acquiring four typed memoryviews and dispatching a fused ``def``
costs about 0.8 us per call, more than the arithmetic itself; reading the array's data
pointer through numpy's C API costs about 0.1 us. So the Python-visible function checks
every array (type, dtype, C-contiguity, size, writeability) with numpy's C API and then
hands raw pointers to a ``floating`` loop that runs without the GIL. Arrays of any number
of dimensions are accepted; the update is elementwise, so only the element count matters.

The parameter and the gradient may have any layout: a strided parameter is updated
through a C-contiguous copy that is then written back into the caller's array (whose
identity matters: other objects hold it), and a strided gradient, or one of another dtype,
is read from a contiguous copy in the parameter's dtype. The state buffers, which the
optimizer creates, must be C-contiguous arrays of the parameter's dtype and size. A check
that fails raises ``ValueError`` (``TypeError`` for a non-array), before any memory is
written.

Two builds of one source, chosen at import
------------------------------------------
The kernels live in ``_optim_impl.pxi``. This module compiles them for the baseline
instruction set (SSE2 on x86-64), which runs everywhere; ``_optim_avx2`` compiles the same
file for AVX2 (``#pragma GCC target``, x86-64 with GCC only). At import, if numpy reports that
the CPU (and OS) support AVX2, the public kernels here are replaced by the AVX2 ones. The loops
are bound by sqrt and division throughput on large parameters, which AVX2 doubles (eight
float32 lanes instead of four); PyTorch's own CPU kernels dispatch the same way. FMA stays off
(no ``fma`` target, ``-ffp-contract=off``): both builds round every operation as the numpy twin
does, to the last bit. ``_simd`` names the build in use, ``_portable`` keeps the baseline
kernels (the tests compare both with the twins).

Compiler flags for this file (the ``# distutils:`` line above)
-------------------------------------------------------------
``-fno-math-errno``: without it, ``sqrt`` must set errno for negative inputs, which means a
branch and a libm call in the loop, and the loop is not vectorised. Results are unchanged.
``-fno-inline-*``: GCC otherwise inlines a loop function into the large Python wrapper that
calls it, and in that context gives up vectorising the loop (measured: SGD with momentum
4x slower on 200k float32 numbers). Functions declared ``inline`` (Cython's helpers and the
small ``cdef inline`` ones here) are still inlined.
"""
include "_optim_impl.pxi"


# ----------------------------------------------------------------------------------------
# Dispatch: the AVX2 build on CPUs that have AVX2 (see the module docstring)
# ----------------------------------------------------------------------------------------

_KERNEL_NAMES = ("sgd_", "adagrad_", "rmsprop_", "adam_", "nadam_", "radam_", "adamax_",
                 "adadelta_", "asgd_", "rprop_", "bfloat16_round_",
                 "adafactor_update_")
_portable = {name: globals()[name] for name in _KERNEL_NAMES}
_simd = "baseline"


def _cpu_has_avx2():
    try:
        from numpy._core._multiarray_umath import __cpu_features__
    except ImportError:  # numpy < 2
        from numpy.core._multiarray_umath import __cpu_features__
    return bool(__cpu_features__.get("AVX2"))


def _load_avx2():
    """The AVX2 build's kernels, or None where it is not built for AVX2 or the CPU lacks it."""
    try:
        from . import _optim_avx2
    except ImportError:
        return None
    if not (_optim_avx2._built_for_avx2 and _cpu_has_avx2()):
        return None
    return {name: getattr(_optim_avx2, name) for name in _KERNEL_NAMES}


_avx2 = _load_avx2()
if _avx2 is not None:
    globals().update(_avx2)
    _simd = "avx2"
