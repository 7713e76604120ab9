"""``set_num_threads`` / ``get_num_threads``: how many threads minigrad's kernels may use.

PyTorch's semantics: the setting is process-wide; the default is what OMP_NUM_THREADS says
(a positive integer) or else the number of CPUs this process may run on. It governs

- minigrad's own kernels: large elementwise loops and reductions split across OpenMP threads
  (Cython's prange; see the thresholds in _kernels/_elementwise.pyx), bitwise equal to the
  single-threaded result. Small arrays always run on the calling thread. A build without
  OpenMP runs every loop serial, whatever the setting;
- the BLAS behind numpy's matmul (OpenBLAS, as bundled in numpy's wheels, or MKL), reached
  through its C API with ctypes (threadpoolctl's approach, without the dependency). Only an
  explicit ``set_num_threads`` call changes the BLAS setting: importing minigrad leaves it
  alone.

A child process forked after a parallel loop ran starts with one thread (GNU OpenMP cannot
run a parallel region in a forked child of a process that used it: it would hang), as
PyTorch's forked DataLoader workers do; the child may raise it again.
"""
import ctypes
import glob
import os
import sys

try:
    from ._kernels import _runtime
except ImportError:  # an uncompiled tree run with MINIGRAD_KERNELS=numpy: nothing to split
    _runtime = None

__all__ = ["get_num_threads", "set_num_threads"]


def _default_threads():
    value = os.environ.get("OMP_NUM_THREADS", "").strip()
    if value.isdigit() and int(value) > 0:
        return int(value)
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return os.cpu_count() or 1


def _blas_setters():
    """ctypes functions that set the thread count of each BLAS library loaded in this process
    (usually numpy's OpenBLAS), found by file name and exported symbol."""
    import numpy as np

    numpy_dir = os.path.dirname(np.__file__)
    patterns = [os.path.join(numpy_dir, ".dylibs", "*"),              # macOS wheels
                os.path.join(os.path.dirname(numpy_dir), "numpy.libs", "*"),  # Linux, Windows
                os.path.join(numpy_dir, ".libs", "*")]
    paths = [p for pattern in patterns for p in glob.glob(pattern)]
    if sys.platform.startswith("linux"):  # a numpy linked to the system's BLAS
        try:
            with open("/proc/self/maps") as maps:
                paths += [line.split()[-1] for line in maps if "blas" in line.lower()
                          or "mkl_rt" in line.lower()]
        except OSError:
            pass
    names = ("scipy_openblas_set_num_threads64_", "scipy_openblas_set_num_threads",
             "openblas_set_num_threads64_", "openblas_set_num_threads", "MKL_Set_Num_Threads")
    setters, seen = [], set()
    for path in paths:
        base = os.path.basename(path).lower()
        if path in seen or not ("blas" in base or "mkl_rt" in base):
            continue
        seen.add(path)
        try:
            library = ctypes.CDLL(path)
        except OSError:
            continue
        for name in names:
            setter = getattr(library, name, None)
            if setter is not None:
                setter.argtypes, setter.restype = [ctypes.c_int], None
                setters.append(setter)
                break
    return setters


def _set_kernel_threads(n):
    if _runtime is not None:
        _runtime.set_threads(n)


_state = {"threads": _default_threads(), "blas": None}
_set_kernel_threads(_state["threads"])


def set_num_threads(int_num):
    """Set the number of threads minigrad uses for its parallel kernels and numpy's BLAS.

    int_num: a positive int (a C int). Raises RuntimeError otherwise, ValueError past the
    range of a C int (PyTorch's exceptions and messages).
    """
    import operator

    if isinstance(int_num, bool) or not hasattr(type(int_num), "__index__"):
        raise RuntimeError(f"set_num_threads expects an int, but got {type(int_num).__name__}")
    value = operator.index(int_num)
    if not -(1 << 63) <= value < (1 << 63):
        raise ValueError("Overflow when unpacking long long")
    if not -(1 << 31) <= value < (1 << 31):  # PyTorch keeps a C int
        raise ValueError("Overflow when unpacking long")
    if value <= 0:
        raise RuntimeError("set_num_threads expects a positive integer")
    _state["threads"] = value
    _set_kernel_threads(value)
    if _state["blas"] is None:
        _state["blas"] = _blas_setters()
    for setter in _state["blas"]:
        setter(value)


def get_num_threads():
    """The number of threads minigrad's parallel kernels may use (see set_num_threads)."""
    return _state["threads"]


def _after_fork_in_child():
    if _runtime is not None and _runtime.parallel_region_used():
        _state["threads"] = 1
        _set_kernel_threads(1)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
