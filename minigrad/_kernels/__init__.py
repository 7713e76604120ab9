"""Kernel backends: compiled Cython kernels, or their plain-numpy twins.

The engine calls every kernel through the namespace ``kernels`` below (``K.add(a, b)``), so the
backend is chosen in one place. ``MINIGRAD_KERNELS=numpy`` in the environment (read once, when
minigrad is imported) runs the whole engine on ``reference.py``: slower, but every line is
plain numpy, for teaching and for debugging a suspected kernel bug. ``use(name)`` switches at
run time (the tests use it to run the same checks on both backends).
"""
import os
import sys
import types

from . import arraymath, reference

# The compiled modules, one per area. Each defines twins of the functions in reference.py.
_COMPILED_MODULES = ("_elementwise", "_matmul", "_loss", "_optim", "_conv", "_reduce", "_index",
                     "_norm", "_select", "_random", "_shape")

kernels = types.SimpleNamespace()
backend_name = None


def _installed_elsewhere(source_tree):
    """Where ``import minigrad`` would find a package if ``source_tree`` were not on sys.path
    (None if nowhere)."""
    from importlib.machinery import PathFinder

    source_tree = os.path.realpath(source_tree)
    others = [p for p in sys.path if os.path.realpath(p or os.curdir) != source_tree]
    spec = PathFinder.find_spec("minigrad", others)
    if spec is None or not spec.submodule_search_locations:
        return None
    return next(iter(spec.submodule_search_locations))


def _missing_kernels_message(name, exc):
    """Say why a compiled module failed to import and what to do about it.

    The common case: ``pip install .`` in a clone, then Python started in that clone. Python
    puts the current directory first on sys.path, so it imports the uncompiled source tree,
    not the package pip built and installed.
    """
    package_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    tree = os.path.dirname(package_dir)
    lines = [f"minigrad's compiled kernel module {name!r} could not be imported ({exc})."]
    if os.path.exists(os.path.join(tree, "setup.py")):
        lines.append(
            f"The minigrad being imported is the source tree {package_dir}, which holds no "
            "compiled kernels: Python imports it first because it was started in "
            f"{tree} (or that folder is on sys.path)."
        )
        installed = _installed_elsewhere(tree)
        if installed is not None:
            lines.append(f"- minigrad is also installed at {installed}: to use it, start "
                         "Python from another directory.")
        else:
            lines.append("- To install minigrad, run `pip install .` there, then start Python "
                         "from another directory.")
        lines.append("- To work inside the source tree, build the kernels in place with "
                     "`pip install -e .` (again after editing a .pyx file).")
    else:
        lines.append("- Reinstall the package with `pip install .` (or `pip install -e .`).")
    lines.append("- Or set MINIGRAD_KERNELS=numpy to run on the plain-numpy reference kernels.")
    return "\n".join(lines)


def _load_compiled():
    import importlib

    namespace = {}
    for name in _COMPILED_MODULES:
        try:
            module = importlib.import_module("." + name, __name__)
        except ImportError as exc:
            raise ImportError(_missing_kernels_message(name, exc)) from exc
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
