"""The README's Python examples run as written (in order, in one namespace, in a scratch
directory: the training example writes a checkpoint)."""
import os
import re

import pytest

README = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "README.md")


def python_blocks():
    with open(README, encoding="utf-8") as f:
        text = f.read()
    return re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)


def test_readme_has_python_examples():
    assert len(python_blocks()) >= 3


@pytest.mark.parametrize("index", range(len(python_blocks())))
def test_readme_example_runs(index, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": "readme"}
    for block in python_blocks()[:index + 1]:  # earlier blocks may define names later ones use
        exec(compile(block, f"README.md python block {index}", "exec"), namespace)  # noqa: S102
