"""Fixtures shared by every test file, and a header naming the minigrad under test.

The tests run against whichever minigrad Python imports: the installed package when pytest
runs in a clone after `pip install ".[test]"` (pytest puts tests/, not the clone, on sys.path),
or an installed wheel when they run from an unpacked sdist or from another directory with
`pytest --rootdir=SRC SRC/tests` (as CI does). They read the examples/ folder beside tests/
(shipped in the sdist).
"""
import os

import numpy as np
import pytest

import minigrad as mg
from minigrad import _kernels


def pytest_report_header(config):
    try:
        from minigrad._kernels._build_options import BUILD_OPTIONS
        build = BUILD_OPTIONS["mode"]
    except ImportError:
        build = "unknown (no record of the build)"
    location = os.path.dirname(os.path.abspath(mg.__file__))
    return (f"minigrad {mg.__version__} from {location}; kernel backend {_kernels.backend_name}, "
            f"build {build}")


@pytest.fixture(params=["cython", "numpy"])
def backend(request):
    """Run a test once on the compiled kernels and once on their plain-numpy twins."""
    previous = _kernels.backend_name
    _kernels.use(request.param)
    yield request.param
    _kernels.use(previous)


@pytest.fixture(autouse=True)
def _seed():
    mg.manual_seed(0)
    np.random.seed(0)


def child_env(**extra):
    """os.environ for a child Python that must import the same minigrad as this process
    (installed, or the source tree of an editable build) whatever its working directory: from
    a clone's root, a child would otherwise import the uncompiled sources. ``extra``: more
    variables."""
    env = dict(os.environ, **extra)
    package_parent = os.path.dirname(os.path.dirname(os.path.abspath(mg.__file__)))
    env["PYTHONPATH"] = os.pathsep.join([package_parent, env.get("PYTHONPATH", "")])
    return env


@pytest.fixture
def child_python(tmp_path):
    """``run(code)``: ``python -c code`` in a child process (see ``child_env``) run in a
    temporary directory; returns the CompletedProcess (text)."""
    import subprocess
    import sys

    env = child_env()

    def run(code, timeout=120):
        return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              check=True, cwd=tmp_path, env=env, timeout=timeout)

    return run
