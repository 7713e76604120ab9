"""examples/lenet_digits.py run as a user would (a fresh working directory, its own process),
with few epochs: the LeNet-style CNN must learn the digits."""
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import child_env

pytest.importorskip("sklearn")

SCRIPT = Path(__file__).resolve().parent.parent / "examples" / "lenet_digits.py"


def run(tmp_path, *args):
    env = child_env()
    env.pop("MINIGRAD_EXAMPLE_QUICK", None)
    result = subprocess.run([sys.executable, str(SCRIPT), *args], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    return result.stdout


def test_quick_run_learns_the_digits(tmp_path):
    out = run(tmp_path, "--epochs", "6", "--seed", "0")
    assert "1347 training and 450 test images" in out
    losses = [float(v) for v in re.findall(r"train loss ([0-9.]+)", out)]
    assert losses[-1] < 0.6 * losses[0]                 # training makes progress
    accuracy = float(re.search(r"final test accuracy: ([0-9.]+)", out).group(1))
    assert accuracy >= 0.95                             # 0.960 on the reference machine


def test_the_run_is_reproducible(tmp_path):
    args = ("--epochs", "2", "--train-size", "300", "--seed", "3")
    first = re.findall(r"(?:loss|accuracy) [0-9.]+", run(tmp_path, *args))
    second = re.findall(r"(?:loss|accuracy) [0-9.]+", run(tmp_path, *args))
    assert first and first == second
