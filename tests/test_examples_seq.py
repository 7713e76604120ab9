"""examples/char_transformer.py and examples/lstm_sequence.py at small size (CPU seconds):
each must reach its stated loss target. They run in this process (their ``main(argv)``), so
that the stand-ins of tests/_nn_fallbacks.py can supply Embedding/LayerNorm/gelu where the
normalisation and activation families are not merged yet."""
import re
import runpy
from pathlib import Path

import _nn_fallbacks
import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def run(name, argv, capsys):
    main = runpy.run_path(str(EXAMPLES / name))["main"]
    main(argv)
    return capsys.readouterr().out


def test_char_transformer_beats_the_unigram_baseline(monkeypatch, capsys):
    _nn_fallbacks.install(monkeypatch)
    out = run("char_transformer.py", ["--steps", "200", "--batch-size", "16", "--sample", "80",
                                      "--seed", "0"], capsys)
    baseline = float(re.search(r"unigram baseline: ([0-9.]+)", out).group(1))
    final = float(re.search(r"final loss: ([0-9.]+)", out).group(1))
    assert 2.5 < baseline < 3.5                 # the Zen's character entropy, about 3.11
    assert final < 0.7 * baseline               # 0.55 of it on the reference machine
    sample = out.split("sample:\n", 1)[1]
    assert sample.startswith("The Zen ") and len(sample.strip()) >= 80


def test_char_transformer_on_a_module_source(monkeypatch, capsys):
    _nn_fallbacks.install(monkeypatch)
    out = run("char_transformer.py", ["--module", "textwrap", "--steps", "2", "--sample", "0"],
              capsys)
    assert "the source of textwrap" in out and "final loss" in out


@pytest.mark.parametrize("seed", [0, 1])
def test_lstm_learns_the_adding_problem(capsys, seed):
    out = run("lstm_sequence.py", ["--steps", "400", "--length", "10", "--seed", str(seed)],
              capsys)
    test = float(re.search(r"test MSE: ([0-9.]+)", out).group(1))
    assert test < 0.01                          # baseline 0.167; 0.001-0.002 measured
