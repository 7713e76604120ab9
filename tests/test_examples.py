"""Run every program in examples/ as a user would, in a fresh working directory, and check
what it prints.

The main example (two_layer_regression.py, the README's first command) runs in full; the others
run with MINIGRAD_EXAMPLE_QUICK=1 (fewer iterations, same code paths). The assertions are about
the mathematics, not the code: the regression reaches the noise floor 1/12, the digits
classifier is accurate, mini-batch SGD finds the slope 3, and so on.
"""
import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import child_env

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
HAS_MATPLOTLIB = importlib.util.find_spec("matplotlib") is not None
HAS_SKLEARN = importlib.util.find_spec("sklearn") is not None


def run_example(name, tmp_path, quick=True, block=()):
    """Run examples/<name> with cwd = tmp_path; return its stdout. ``block``: modules to make
    unimportable (as if not installed)."""
    env = child_env()
    env.pop("MINIGRAD_EXAMPLE_QUICK", None)
    if quick:
        env["MINIGRAD_EXAMPLE_QUICK"] = "1"
    env["MPLBACKEND"] = "Agg"
    script = str(EXAMPLES / name)
    if block:
        code = ("import runpy, sys\n"
                f"for m in {list(block)!r}: sys.modules[m] = None\n"
                f"sys.argv = [{script!r}]\n"
                f"runpy.run_path({script!r}, run_name='__main__')\n")
        command = [sys.executable, "-c", code]
    else:
        command = [sys.executable, script]
    result = subprocess.run(command, check=False, cwd=tmp_path, env=env, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, f"{name} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def number_after(label, text):
    match = re.search(re.escape(label) + r"\s*(-?[0-9.]+(?:e[-+]?\d+)?)", text)
    assert match, f"{label!r} not found in:\n{text}"
    return float(match.group(1))


def test_every_example_has_a_docstring_naming_its_seed():
    for path in sorted(EXAMPLES.glob("*.py")):
        source = path.read_text(encoding="utf-8")
        assert source.startswith('"""'), path.name
        docstring = source.split('"""')[1]
        assert re.search(r"\b00[0-4]", docstring), f"{path.name} names no seed file"


def test_two_layer_regression_reaches_the_noise_floor(tmp_path):
    out = run_example("two_layer_regression.py", tmp_path, quick=False)
    epochs = re.findall(r"^Epoch (\d+), Loss: ([0-9.]+)$", out, flags=re.MULTILINE)
    assert [int(e) for e, _ in epochs] == list(range(0, 1000, 100))
    losses = [float(v) for _, v in epochs]
    assert losses[-1] < 0.1 * losses[0]
    final = number_after("final MSE (1/n) sum (y - y_pred)^2:", out)
    assert abs(final - 1 / 12) < 0.035          # the noise floor Var U(0,1) = 1/12
    half = number_after("seed's loss L = 1/(2n) sum (y - y_pred)^2:", out)
    assert half == pytest.approx(final / 2, rel=1e-4)
    # Deterministic: a second run prints the same numbers.
    again = run_example("two_layer_regression.py", tmp_path, quick=False)
    strip_time = re.compile(r"^training took.*$", flags=re.MULTILINE)
    assert strip_time.sub("", again) == strip_time.sub("", out)


def test_losses_and_keras_fit(tmp_path):
    out = run_example("losses_and_keras_fit.py", tmp_path)
    assert "all three definitions agree with minigrad's losses" in out
    mse = number_after("Mean Squared Error:", out)
    best = number_after("(MSE", out)
    assert mse == pytest.approx(best, rel=1e-3)   # SGD reached the least-squares line
    assert 0.3 < mse < 2.0                        # noise N(0, 1): MSE about 1
    assert (tmp_path / "keras_fit_loss.png").exists() == HAS_MATPLOTLIB


def test_loss_zoo_and_minibatch_sgd(tmp_path):
    out = run_example("loss_zoo_minibatch_sgd.py", tmp_path)
    assert "all agree" in out
    jump = number_after("SmoothL2 jump at |y| = 1:", out)
    assert jump == pytest.approx(-0.5)
    fixed = number_after("theta, X and y sampled together (fixed):", out)
    seed = number_after("theta, X and y sampled separately (seed):", out)
    best = number_after("least-squares theta on these 100 points:", out)
    assert abs(fixed - best) < 0.3 and abs(seed) < 1.0
    assert (tmp_path / "minibatch_sgd.png").exists() == HAS_MATPLOTLIB


def test_gd_vs_sgd(tmp_path):
    out = run_example("gd_vs_sgd.py", tmp_path)
    checks = number_after("hand-computed gradients and updates agree with autograd:", out)
    assert checks > 1000
    assert "seed's GD: iteration 1 fails" in out
    w_best = number_after("least squares: w* =", out)
    gd_line = re.search(r"^full-batch GD\s+([-0-9.]+)\s+([-0-9.]+)", out, flags=re.MULTILINE)
    assert float(gd_line.group(1)) == pytest.approx(w_best, abs=0.05)
    assert 2.0 < w_best < 4.0
    assert (tmp_path / "gd_vs_sgd.png").exists() == HAS_MATPLOTLIB


@pytest.mark.skipif(not HAS_SKLEARN, reason="the digits part needs scikit-learn")
def test_cross_entropy_adam_on_random_data_and_digits(tmp_path):
    out = run_example("cross_entropy_adam.py", tmp_path)
    first = number_after("Loss:", out)
    assert abs(first - 2.3026) < 0.5                 # an untrained 10-class model: ~log 10
    assert number_after("final loss on the 10 random samples:", out) < 0.05
    assert number_after("test accuracy:", out) >= 0.9


OPTIMIZER_ZOO = ["GD", "SGD", "momentum", "Nesterov", "Adagrad", "RMSprop", "Adadelta", "Adam",
                 "AdamW", "Adamax", "NAdam", "RAdam", "ASGD", "Rprop", "LBFGS", "Adafactor",
                 "Muon"]
SCHEDULES = ["constant", "StepLR", "exponential", "cosine", "warmup+cosine", "OneCycleLR",
             "plateau"]


def _table_rows(out, names, problems):
    """{name: [final loss or None (n/a) per problem]} from the example's tables."""
    rows = {}
    for name in names:
        match = re.search(rf"^{re.escape(name)}\s+\|(.*)$", out, flags=re.MULTILINE)
        assert match, f"no table row for {name}:\n{out}"
        cells = match.group(1).split("|")[:len(problems)]
        rows[name] = [None if "n/a" in c else float(c.split()[0]) for c in cells]
    return rows


def test_optimizer_comparison_runs_the_whole_zoo(tmp_path):
    out = run_example("optimizer_comparison.py", tmp_path)
    problems = ["regression", "rosenbrock"] + (["digits"] if HAS_SKLEARN else [])
    start = {p: float(v) for p, v in re.findall(r"(\w+): \d+ steps, start ([0-9.e+-]+)", out)}
    assert sorted(start) == sorted(problems)
    rows = _table_rows(out, OPTIMIZER_ZOO, problems)
    for name, finals in rows.items():
        for problem, final in zip(problems, finals):
            if name == "Muon" and problem == "rosenbrock":
                assert final is None   # Muon takes matrices only: not applicable
                continue
            assert final is not None and final < start[problem], (name, problem, final)
    # Along Rosenbrock's curved valley, momentum and Adam get much further than plain GD.
    for name in ("momentum", "Nesterov", "Adam"):
        assert rows[name][1] < 0.1 * rows["GD"][1], name
    schedules = _table_rows(out.split("Learning-rate schedules")[1], SCHEDULES, problems)
    for name, finals in schedules.items():
        assert all(f < start[p] for f, p in zip(finals, problems)), name
    if HAS_SKLEARN:  # the digits MLP learns: held-out accuracy well above chance (0.1)
        adam = re.search(r"^Adam\s+\|.*\|\s+([0-9.]+)$", out, flags=re.MULTILINE)
        accuracy = float(adam.group(1))
        assert accuracy > 0.8
    assert (tmp_path / "optimizer_comparison.png").exists() == HAS_MATPLOTLIB


@pytest.mark.parametrize("name, picture", [
    ("gd_vs_sgd.py", "gd_vs_sgd.png"),
    ("losses_and_keras_fit.py", "keras_fit_loss.png"),
])
def test_examples_without_matplotlib_skip_the_picture_and_say_so(tmp_path, name, picture):
    out = run_example(name, tmp_path, block=("matplotlib", "matplotlib.figure"))
    assert "matplotlib is not installed: skipping the plot" in out
    assert not (tmp_path / picture).exists()
