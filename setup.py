"""Build script for minigrad's Cython kernels.

Compiler directives are set here, once, for every kernel (scikit-learn's habit):
bounds checking and negative-index wrap-around are off because the Python layer checks
every shape before a kernel runs.

Switches (environment variables read at build time):
  MINIGRAD_DEBUG=1   turn boundscheck, wraparound and initializedcheck back on, build with -O0 -g;
                     the test suite is run once in CI against this build.
  MINIGRAD_NATIVE=1  add -march=native (opt-in only: the default build must run on any
                     x86-64 or arm64 machine).
"""
import glob
import os
import sys

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext as _build_ext

DEBUG = os.environ.get("MINIGRAD_DEBUG", "0") not in ("", "0")
NATIVE = os.environ.get("MINIGRAD_NATIVE", "0") not in ("", "0")

directives = {
    "language_level": 3,
    "boundscheck": DEBUG,
    "wraparound": DEBUG,
    "initializedcheck": DEBUG,
    "cdivision": True,
    "nonecheck": False,
    "embedsignature": True,
}

if sys.platform == "win32":
    compile_args = ["/O2"]
else:
    # -fno-math-errno and -fno-trapping-math change no result (IEEE semantics, NaN and inf
    # behave the same; minigrad never reads errno or traps on FP exceptions) but let GCC
    # vectorize loops that hold a sqrt or a select between two computed values (relu's and
    # sigmoid's branches): without them such loops stay scalar and branchy, ~10x slower.
    compile_args = ["-fno-math-errno", "-fno-trapping-math"]
    compile_args += ["-O0", "-g"] if DEBUG else ["-O3"]
    if NATIVE:
        compile_args.append("-march=native")

extensions = [
    Extension(
        "minigrad._kernels." + os.path.splitext(os.path.basename(path))[0],
        [path],
        include_dirs=[np.get_include()],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        extra_compile_args=compile_args,
    )
    for path in sorted(glob.glob(os.path.join("minigrad", "_kernels", "*.pyx")))
]

class build_ext(_build_ext):
    """Rebuild everything when switching between the debug and the normal build: a compiled
    module newer than its C source would otherwise be kept, whichever mode compiled it."""

    def run(self):
        mode = "debug" if DEBUG else ("native" if NATIVE else "release")
        stamp = os.path.join(self.build_temp, "minigrad-build-mode")
        previous = None
        if os.path.exists(stamp):
            with open(stamp) as f:
                previous = f.read()
        if previous != mode:
            self.force = True
        super().run()
        os.makedirs(self.build_temp, exist_ok=True)
        with open(stamp, "w") as f:
            f.write(mode)


setup(
    cmdclass={"build_ext": build_ext},
    # The debug build writes its generated C to a separate folder, so that switching back to a
    # normal build never recompiles C that was generated with bounds checking on (and back).
    ext_modules=cythonize(extensions, compiler_directives=directives,
                          build_dir=os.path.join("build", "cython-debug") if DEBUG else None),
)
