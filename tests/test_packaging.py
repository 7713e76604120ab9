"""The package as installed: where it is imported from, how its kernels were built, what
`python -m minigrad` reports, what a missing build says, and setup.py's refusal to build
without its Cython sources.

CI sets two variables to say what it installed, and these tests check it:
MINIGRAD_EXPECT_INSTALLED=1 (minigrad must come from this interpreter's site-packages, not a
source tree) and MINIGRAD_EXPECT_BUILD=release|debug|sanitize (the build mode of the kernels).
"""
import importlib.metadata
import os
import platform
import shutil
import subprocess
import sys
import sysconfig
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

import numpy as np
import pytest

import minigrad as mg
from minigrad import _kernels

PACKAGE_DIR = Path(mg.__file__).resolve().parent
SOURCE_ROOT = Path(__file__).resolve().parent.parent  # the clone or unpacked sdist
DISTRIBUTION = "minigrad-engine"


def run_python(args, cwd, pythonpath=None, extra_env=None):
    env = dict(os.environ)
    env.pop("MINIGRAD_KERNELS", None)
    if pythonpath is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(pythonpath), env.get("PYTHONPATH", "")])
    env.update(extra_env or {})
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120, check=False)


def build_options():
    from minigrad._kernels._build_options import BUILD_OPTIONS

    return BUILD_OPTIONS


def compiled_files():
    """Every compiled module in minigrad/_kernels (those the engine loads and any others)."""
    return sorted(path for suffix in EXTENSION_SUFFIXES
                  for path in (PACKAGE_DIR / "_kernels").glob("*" + suffix))


def test_compiled_kernels_are_the_ones_beside_the_package():
    loaded = [Path(_kernels.compiled_module(name).__file__).resolve()
              for name in _kernels._COMPILED_MODULES]
    assert loaded
    for path in loaded:
        assert path.parent == PACKAGE_DIR / "_kernels", path
    assert set(loaded) <= set(compiled_files())


def test_minigrad_comes_from_site_packages_when_ci_installed_it():
    site_dirs = {Path(sysconfig.get_paths()[key]).resolve() for key in ("purelib", "platlib")}
    if os.environ.get("MINIGRAD_EXPECT_INSTALLED", "0") not in ("", "0"):
        assert PACKAGE_DIR.parent in site_dirs, (
            f"minigrad imported from {PACKAGE_DIR}, not from site-packages {site_dirs}")
        assert SOURCE_ROOT not in PACKAGE_DIR.parents, (
            f"minigrad imported from the source tree {SOURCE_ROOT}")
    else:
        # Outside CI's installed runs: either the installed package or an in-place build in
        # the tree these tests came from, never a third copy.
        assert PACKAGE_DIR.parent in site_dirs or PACKAGE_DIR.parent == SOURCE_ROOT


def test_installed_metadata_names_the_distribution_and_version():
    try:
        dist = importlib.metadata.distribution(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        if os.environ.get("MINIGRAD_EXPECT_INSTALLED", "0") not in ("", "0"):
            raise
        pytest.skip(f"{DISTRIBUTION} is not installed (an in-place build)")
    assert dist.version == mg.__version__
    assert dist.metadata["License-Expression"] == "MIT"
    assert any(req.startswith("numpy") for req in dist.requires)
    if PACKAGE_DIR.parent != SOURCE_ROOT:  # an editable install lists no package files
        files = {str(f).replace("\\", "/") for f in dist.files}
        assert "minigrad/__init__.py" in files
        assert any(f.startswith("minigrad/_kernels/_loss.") and not f.endswith(".pyx")
                   for f in files)


def test_build_mode_is_recorded_and_matches_what_ci_built():
    options = build_options()
    assert options["mode"] in ("release", "debug", "sanitize", "native", "debug+sanitize",
                               "debug+native", "native+sanitize", "debug+native+sanitize")
    expected = os.environ.get("MINIGRAD_EXPECT_BUILD")
    if expected:
        assert options["mode"] == expected


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads ELF files")
def test_compiled_modules_carry_what_their_build_mode_promises():
    """A release build has no debug sections and no symbol table (-g0, --strip-all); a debug
    build has debug sections; a sanitizer build calls the ASan and UBSan runtimes."""
    options = build_options()
    for path in compiled_files():
        data = path.read_bytes()
        assert data[:4] == b"\x7fELF"
        if options["debug"] or options["sanitize"]:
            assert b".debug_info" in data, path
        else:
            assert b".debug_info" not in data, path
            assert b".symtab" not in data, path
        assert (b"__asan_report" in data) == options["sanitize"], path
        if options["sanitize"]:
            assert b"__ubsan_handle" in data, path


def test_python_m_minigrad_reports_versions_backend_and_build(tmp_path):
    result = run_python(["-m", "minigrad"], cwd=tmp_path, pythonpath=PACKAGE_DIR.parent)
    assert result.returncode == 0, result.stderr
    lines = dict(line.split(": ", 1) for line in result.stdout.splitlines())
    version, location = lines["minigrad"].split(" ", 1)
    assert version == mg.__version__
    assert Path(location.strip("()")).resolve() == PACKAGE_DIR
    assert lines["kernel backend"].startswith("cython")
    assert lines["build"].startswith(build_options()["mode"] + " (")
    assert lines["numpy"] == np.__version__
    assert lines["python"].startswith(platform.python_version() + " (")

    result = run_python(["-m", "minigrad"], cwd=tmp_path, pythonpath=PACKAGE_DIR.parent,
                        extra_env={"MINIGRAD_KERNELS": "numpy"})
    assert result.returncode == 0, result.stderr
    assert "kernel backend: numpy" in result.stdout


def copy_package_without_kernels(destination):
    """A copy of the minigrad package with its Python files only, as in a fresh clone."""
    shutil.copytree(PACKAGE_DIR, destination / "minigrad",
                    ignore=shutil.ignore_patterns("*.so", "*.pyd", "_build_options.py",
                                                  "__pycache__", "*.c"))


def test_python_started_in_an_unbuilt_source_tree_says_what_to_do(tmp_path):
    """`pip install .` in a clone, then `python` in the clone: the uncompiled source tree
    shadows the installed package. The error names both and says what to do."""
    tree = tmp_path / "clone"
    tree.mkdir()
    (tree / "setup.py").write_text("")
    copy_package_without_kernels(tree)
    result = run_python(["-c", "import minigrad"], cwd=tree, pythonpath=PACKAGE_DIR.parent)
    assert result.returncode != 0
    message = result.stderr[result.stderr.rindex("ImportError: "):]
    assert f"source tree {tree / 'minigrad'}" in message
    assert f"also installed at {PACKAGE_DIR}" in message
    assert "start Python from another directory" in message
    assert "pip install -e ." in message
    assert "MINIGRAD_KERNELS=numpy" in message


def test_a_broken_install_outside_a_source_tree_says_reinstall(tmp_path):
    copy_package_without_kernels(tmp_path)
    result = run_python(["-c", "import minigrad"], cwd=tmp_path)
    assert result.returncode != 0
    message = result.stderr[result.stderr.rindex("ImportError: "):]
    assert "could not be imported" in message
    assert "Reinstall the package with `pip install .`" in message
    assert "source tree" not in message


def test_no_installed_copy_is_found_when_only_the_source_tree_is_on_the_path(
        tmp_path, monkeypatch):
    copy_package_without_kernels(tmp_path)
    monkeypatch.setattr(sys, "path", [str(tmp_path)])
    assert _kernels._installed_elsewhere(str(tmp_path)) is None
    monkeypatch.setattr(sys, "path", [str(tmp_path), str(PACKAGE_DIR.parent)])
    assert _kernels._installed_elsewhere(str(tmp_path)) == str(PACKAGE_DIR)


def test_setup_py_refuses_to_build_without_cython_sources(tmp_path):
    """An incomplete sdist must fail the build, not produce a wheel without kernels."""
    pytest.importorskip("setuptools")
    setup_py = SOURCE_ROOT / "setup.py"
    if not setup_py.exists():
        pytest.skip("setup.py is not beside tests/ (tests run from an installed copy)")
    shutil.copy(setup_py, tmp_path / "setup.py")
    (tmp_path / "minigrad" / "_kernels").mkdir(parents=True)
    result = run_python(["setup.py", "--name"], cwd=tmp_path)
    assert result.returncode != 0
    assert "found no Cython sources" in result.stderr
