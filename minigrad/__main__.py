"""``python -m minigrad``: which minigrad this is, where it lives and how its kernels were built.

The lines to paste into a bug report. The build options are the ones setup.py recorded when it
compiled the kernels (minigrad/_kernels/_build_options.py).
"""
import os
import platform
import sys

import numpy as np

import minigrad
from minigrad import _kernels


def build_options():
    """The dict setup.py recorded at build time, or None if this copy was never built by it."""
    try:
        from minigrad._kernels._build_options import BUILD_OPTIONS
    except ImportError:
        return None
    return BUILD_OPTIONS


def describe_backend():
    name = _kernels.backend_name
    chosen = os.environ.get("MINIGRAD_KERNELS", "").strip().lower()
    if name == "numpy" and chosen == "numpy":
        return "numpy (plain-numpy reference kernels, chosen by MINIGRAD_KERNELS=numpy)"
    if name == "numpy":
        return "numpy (plain-numpy reference kernels)"
    return f"{name} (compiled kernels)"


def describe_build(options):
    if options is None:
        return "unknown (no record of the build: kernels not built by setup.py)"
    return (f"{options['mode']} (debug={options['debug']}, native={options['native']}, "
            f"sanitize={options['sanitize']}; compile: {' '.join(options['compile_args'])}; "
            f"link: {' '.join(options['link_args']) or '-'}; Cython {options['cython']}, "
            f"compiled against numpy {options['numpy']})")


def report_lines():
    """The report, as a list of 'name: value' lines."""
    return [
        f"minigrad: {minigrad.__version__} ({os.path.dirname(os.path.abspath(minigrad.__file__))})",
        f"kernel backend: {describe_backend()}",
        f"build: {describe_build(build_options())}",
        f"numpy: {np.__version__}",
        (f"python: {platform.python_version()} ({platform.python_implementation()}, "
         f"{platform.system()} {platform.machine()})"),
    ]


def main():
    print("\n".join(report_lines()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
