"""Kernel backends: compiled Cython kernels, or their plain-numpy twins.

The engine calls every kernel through the namespace ``kernels`` below (``K.add(a, b)``), so the
backend is chosen in one place. ``MINIGRAD_KERNELS=numpy`` in the environment (read once, when
minigrad is imported) runs the whole engine on ``reference.py``: slower, but every line is
plain numpy, for teaching and for debugging a suspected kernel bug. ``use(name)`` switches at
run time (the tests use it to run the same checks on both backends).
"""
import os
import types

from . import arraymath, reference

# The compiled modules, one per area. Each defines twins of the functions in reference.py.
_COMPILED_MODULES = ("_elementwise", "_matmul", "_loss", "_optim", "_reduce", "_index")

kernels = types.SimpleNamespace()
backend_name = None


def _load_compiled():
    import importlib

    namespace = {}
    for name in _COMPILED_MODULES:
        try:
            module = importlib.import_module("." + name, __name__)
        except ImportError as exc:  # pragma: no cover - only on a broken install
            raise ImportError(
                f"minigrad's compiled kernel module {name!r} is missing ({exc}). Build the "
                "package with `pip install .` (or `pip install -e .`), or set "
                "MINIGRAD_KERNELS=numpy to run on the plain-numpy reference kernels."
            ) from exc
        namespace.update({k: v for k, v in vars(module).items() if not k.startswith("_")})
    return namespace


def use(name):
    """Select the kernel backend: 'cython' (compiled, the default) or 'numpy' (reference)."""
    global backend_name
    # The array functions of the backward formulas (arraymath), then the kernels' numpy twins,
    # then, for 'cython', the compiled kernels over them.
    table = {k: getattr(arraymath, k) for k in arraymath.__all__}
    if name == "numpy":
        table.update({k: v for k, v in vars(reference).items() if not k.startswith("_")})
    elif name == "cython":
        table.update({k: v for k, v in vars(reference).items() if not k.startswith("_")})
        table.update(_load_compiled())
    else:
        raise ValueError(f"unknown kernel backend {name!r}; expected 'cython' or 'numpy'")
    kernels.__dict__.clear()
    kernels.__dict__.update(table)
    backend_name = name


def compiled_module(name):
    """The compiled module ``name`` (e.g. '_loss'), for tests that compare it with its twin."""
    import importlib

    return importlib.import_module("." + name, __name__)


use(os.environ.get("MINIGRAD_KERNELS", "cython").strip().lower() or "cython")
