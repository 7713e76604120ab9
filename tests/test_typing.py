"""Type information: minigrad ships py.typed and annotations, and a typed user program
(tests/typing/user_program.py) is clean under ``mypy --strict``."""
import os
import pathlib
import runpy
import site
import subprocess
import sys
import sysconfig

import pytest

import minigrad as mg

HERE = pathlib.Path(__file__).resolve().parent
USER_PROGRAM = HERE / "typing" / "user_program.py"
PACKAGE = pathlib.Path(mg.__file__).resolve().parent
REPO = PACKAGE.parent
SCRIPT = REPO / "scripts" / "gen_tensor_stub.py"

def run_mypy(tmp_path, cache_dir, *files):
    """``mypy --strict`` on ``files`` against minigrad as its users get it: an installed
    package is found through py.typed; a source tree or an editable install (whose import hook
    mypy cannot follow) through MYPYPATH. Errors inside minigrad itself are not reported
    (``--follow-imports=silent``, what mypy does for any installed package)."""
    pytest.importorskip("mypy")
    env = dict(os.environ)
    installed = {os.path.realpath(p) for p in site.getsitepackages() + [
        sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]]}
    if os.path.realpath(REPO) not in installed:
        env["MYPYPATH"] = str(REPO)
    command = [sys.executable, "-m", "mypy", "--strict", "--follow-imports=silent",
               "--cache-dir", str(cache_dir),
               "--python-executable", sys.executable, *map(str, files)]
    # From a directory outside the source tree, so mypy does not pick minigrad up as a
    # source file of the program.
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=600, check=False)
    return result.returncode, result.stdout + result.stderr


def test_py_typed_marks_the_package():
    assert (PACKAGE / "py.typed").is_file()
    assert (PACKAGE / "tensor.pyi").is_file()


@pytest.fixture(scope="module")
def mypy_cache(tmp_path_factory):
    """One cache for the module's mypy runs: minigrad is analysed once."""
    return tmp_path_factory.mktemp("mypy-cache")


def test_user_program_is_clean_under_mypy_strict(tmp_path, mypy_cache):
    code, output = run_mypy(tmp_path, mypy_cache, USER_PROGRAM)
    assert code == 0, output
    assert "Success: no issues found" in output


def test_mypy_catches_mistakes_against_the_api(tmp_path, mypy_cache):
    """The annotations carry information: misuses of the typed API are reported."""
    program = tmp_path / "wrong.py"
    program.write_text(
        "import minigrad as mg\n"
        "import minigrad.nn as nn\n"
        "from minigrad.optim import SGD\n"
        "from minigrad.utils.data import DataLoader, TensorDataset\n"
        "t = mg.tensor([1.0, 2.0])\n"
        "t.sume()\n"                                         # no such method
        "n: str = t.numel()\n"                               # int, not str
        "layer = nn.Linear('4', 2)\n"                        # in_features is an int
        "opt = SGD(layer.parameters(), lr='fast')\n"         # lr is a float
        "loader = DataLoader(TensorDataset(t), batch_size='8')\n"  # batch_size is an int
        "mg.save(layer.state_dict(), 42)\n"                  # a path or a file
        "s: mg.Size = t.size(0)\n"                           # size(dim) is an int
    )
    code, output = run_mypy(tmp_path, mypy_cache, program)
    assert code == 1, output
    expected = {6: '"Tensor" has no attribute "sume"',
                7: 'Incompatible types in assignment (expression has type "int"',
                8: 'Argument 1 to "Linear" has incompatible type "str"',
                9: 'Argument "lr" to "SGD" has incompatible type "str"',
                10: 'Argument "batch_size" to "DataLoader" has incompatible type "str"',
                11: 'Argument 2 to "save" has incompatible type "int"',
                12: 'Incompatible types in assignment (expression has type "int"'}
    for line, message in expected.items():
        assert f"wrong.py:{line}: error: {message}" in output, (line, output)


def test_user_program_runs():
    namespace = runpy.run_path(str(USER_PROGRAM))
    assert namespace["main"]() == 0


def test_tensor_stub_lists_exactly_the_runtime_attributes():
    """tensor.pyi declares every public Tensor attribute (methods attached from
    minigrad/functions/ included) and nothing the class lacks."""
    if not SCRIPT.is_file():
        pytest.skip("scripts/ is not available (an installed wheel)")
    result = subprocess.run([sys.executable, str(SCRIPT), "--check"], capture_output=True,
                            text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_all_lists_the_public_names():
    """``__all__`` (what type checkers treat as re-exported) names every public attribute of
    the package except its internal modules, and only names that exist."""
    internal = {"dtypes", "errors", "functions", "interop", "ops", "safetensors",
                "serialization", "tensor"}
    public = {name for name in dir(mg) if not name.startswith("_")} - internal
    assert sorted(public - set(mg.__all__)) == []
    assert sorted(name for name in mg.__all__ if not hasattr(mg, name)) == []
