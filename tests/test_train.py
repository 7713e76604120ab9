"""minigrad.train: the Keras-style fit / evaluate helper.

Expected values come from hand computations in numpy (losses, a linear model's forward, one
SGD step) or from a training loop written out by hand, never from the helper itself.
"""
import sys

import numpy as np
import pytest

import minigrad as mg
import minigrad.nn.functional as F
from minigrad import nn, optim
from minigrad.train import LOSSES, OPTIMIZERS, History, evaluate, fit
from minigrad.utils.data import DataLoader, TensorDataset


def regression_data(n=40, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, size=(n, 2)).astype(np.float32)
    y = (x @ np.array([[2.0], [-1.0]], np.float32) + 0.5
         + 0.1 * rng.normal(size=(n, 1))).astype(np.float32)
    return x, y


def snapshot(model):
    return {k: v.numpy().copy() for k, v in model.state_dict().items()}


def restore(model, state):
    model.load_state_dict({k: mg.tensor(v) for k, v in state.items()})


# ---------------------------------------------------------------------------------------------
# fit: arrays, DataLoaders, the recorded history
# ---------------------------------------------------------------------------------------------

def test_fit_with_arrays_learns_and_records_one_loss_per_epoch():
    x, y = regression_data()
    model = nn.Linear(2, 1)
    history = fit(model, x, y, loss="mse", optimizer=optim.SGD(model.parameters(), lr=0.1),
                  epochs=30, batch_size=8, verbose=0)
    assert isinstance(history, History)
    assert len(history.history["loss"]) == 30 and history.epoch == list(range(30))
    assert "val_loss" not in history.history
    assert history.history["loss"][-1] < 0.05 < history.history["loss"][0]
    assert history.params == {"epochs": 30, "steps": 5, "verbose": 0}
    np.testing.assert_allclose(model.weight.numpy(), [[2.0, -1.0]], atol=0.1)


def test_fit_with_a_dataloader():
    x, y = regression_data()
    loader = DataLoader(TensorDataset(mg.tensor(x), mg.tensor(y)), batch_size=10, shuffle=True)
    model = nn.Linear(2, 1)
    history = fit(model, loader, loss=nn.MSELoss(),
                  optimizer=optim.Adam(model.parameters(), lr=0.05), epochs=40, verbose=0)
    assert history.params["steps"] == 4
    assert history.history["loss"][-1] < 0.1 * history.history["loss"][0]


def test_fit_with_a_dataset_batches_it():
    x, y = regression_data(n=25)
    model = nn.Linear(2, 1)
    history = fit(model, TensorDataset(mg.tensor(x), mg.tensor(y)), loss="mse",
                  optimizer="sgd", epochs=2, batch_size=10, verbose=0)
    assert history.params["steps"] == 3


def test_history_equals_a_hand_written_training_loop(backend):
    """fit's per-epoch loss is the batch losses' mean weighted by batch size, and its updates
    are exactly those of the loop everyone writes by hand."""
    x, y = regression_data(n=23)  # 23 = 4 batches of 5 + one of 3: unequal weights
    model = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 1))
    start = snapshot(model)

    mg.manual_seed(123)
    history = fit(model, x, y, loss="mean_squared_error",
                  optimizer=optim.Adam(model.parameters(), lr=0.01), epochs=5, batch_size=5,
                  verbose=0)
    fitted = snapshot(model)

    restore(model, start)
    optimizer = optim.Adam(model.parameters(), lr=0.01)
    mg.manual_seed(123)
    loader = DataLoader(TensorDataset(mg.tensor(x), mg.tensor(y)), batch_size=5, shuffle=True)
    expected = []
    for _ in range(5):
        total = 0.0
        for xb, yb in loader:
            optimizer.zero_grad()
            loss = F.mse_loss(model(xb), yb)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(xb)
        expected.append(total / len(x))
    np.testing.assert_allclose(history.history["loss"], expected, rtol=1e-6)
    for key, value in snapshot(model).items():
        np.testing.assert_allclose(fitted[key], value, rtol=1e-6, err_msg=key)


def test_one_sgd_epoch_matches_the_hand_derived_update():
    """Full batch, Keras' 'sgd' (lr 0.01), MSE on a linear model: W <- W - 0.01 dJ/dW with
    dJ/dW = (2/n) (XW^T + b - y)^T X, dJ/db = (2/n) sum (XW^T + b - y)."""
    x, y = regression_data(n=12)
    model = nn.Linear(2, 1)
    w0, b0 = model.weight.numpy().astype(np.float64), model.bias.numpy().astype(np.float64)
    residual = x @ w0.T + b0 - y
    grad_w = 2 / len(x) * residual.T @ x
    grad_b = 2 / len(x) * residual.sum(axis=0)
    history = fit(model, x, y, loss="mse", optimizer="sgd", epochs=1, batch_size=None,
                  verbose=0)
    np.testing.assert_allclose(model.weight.numpy(), w0 - 0.01 * grad_w, rtol=1e-5)
    np.testing.assert_allclose(model.bias.numpy(), b0 - 0.01 * grad_b, rtol=1e-5)
    np.testing.assert_allclose(history.history["loss"][0], np.mean(residual**2), rtol=1e-5)


def test_one_dimensional_integer_inputs_are_samples_of_one_feature():
    """The seed's Keras program: x = -10..10 as a 1-D integer array into Dense(1)."""
    x = np.arange(-10, 11)
    y = 2 * x + 3
    model = nn.Sequential(nn.Linear(1, 1))
    history = fit(model, x, y.astype(np.float64), loss="mean_squared_error", optimizer="sgd",
                  epochs=300, verbose=0)
    assert history.history["loss"][-1] < 1e-3
    np.testing.assert_allclose([model[0].weight.item(), model[0].bias.item()], [2, 3],
                               atol=0.02)
    assert model[0].weight.dtype == mg.float32


def test_validation_data_records_val_loss_after_each_epoch():
    x, y = regression_data(n=30)
    xv, yv = regression_data(n=10, seed=1)
    model = nn.Linear(2, 1)
    history = fit(model, x, y, loss="mae", optimizer="adam", epochs=4, batch_size=8,
                  validation_data=(xv, yv), verbose=0)
    assert len(history.history["val_loss"]) == 4
    w, b = model.weight.numpy(), model.bias.numpy()
    expected_last = np.mean(np.abs(xv @ w.T + b - yv))
    np.testing.assert_allclose(history.history["val_loss"][-1], expected_last, rtol=1e-5)
    # A DataLoader works as validation data too.
    loader = DataLoader(TensorDataset(mg.tensor(xv), mg.tensor(yv)), batch_size=3)
    history = fit(model, x, y, loss="mae", optimizer="adam", epochs=1, validation_data=loader,
                  verbose=0)
    w, b = model.weight.numpy(), model.bias.numpy()
    np.testing.assert_allclose(history.history["val_loss"][0],
                               np.mean(np.abs(xv @ w.T + b - yv)), rtol=1e-5)


def test_fit_trains_in_train_mode_and_restores_the_mode():
    seen = []

    class Probe(nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = nn.Linear(2, 1)

        def forward(self, x):
            seen.append(self.training)
            return self.linear(x)

    x, y = regression_data(n=8)
    model = Probe()
    model.eval()
    fit(model, x, y, loss="mse", optimizer="sgd", epochs=1, batch_size=8,
        validation_data=(x, y), verbose=0)
    assert seen == [True, False]          # one training batch, one validation batch
    assert model.training is False


# ---------------------------------------------------------------------------------------------
# Keras names
# ---------------------------------------------------------------------------------------------

def _clip(p):
    return np.clip(p, 1e-7, 1 - 1e-7)


def _loss_case(name, rng):
    """(output probabilities/values, target, expected loss by hand) for a Keras loss name."""
    if name in ("mse", "mean_squared_error"):
        out, tgt = rng.normal(size=(6, 1)), rng.normal(size=(6, 1))
        return out, tgt, np.mean((out - tgt) ** 2)
    if name in ("mae", "mean_absolute_error"):
        out, tgt = rng.normal(size=(6, 1)), rng.normal(size=(6, 1))
        return out, tgt, np.mean(np.abs(out - tgt))
    if name == "binary_crossentropy":
        p = rng.uniform(0.01, 0.99, size=(6, 1))
        t = rng.integers(0, 2, size=(6, 1)).astype(np.float64)
        return p, t, np.mean(-(t * np.log(p) + (1 - t) * np.log(1 - p)))
    p = rng.dirichlet(np.ones(4), size=6)
    labels = rng.integers(0, 4, size=6)
    if name == "categorical_crossentropy":
        one_hot = np.eye(4)[labels]
        return p, one_hot, np.mean(-(one_hot * np.log(p)).sum(axis=1))
    assert name == "sparse_categorical_crossentropy"
    return p, labels, np.mean(-np.log(p[np.arange(6), labels]))


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_every_keras_loss_name_matches_its_formula(name):
    out, tgt, expected = _loss_case(name, np.random.default_rng(7))
    value = LOSSES[name](mg.tensor(out), mg.tensor(tgt))
    np.testing.assert_allclose(value.item(), expected, rtol=1e-10)
    # evaluate() with a model that returns fixed outputs gives the same number.

    class Fixed(nn.Module):
        def __init__(self):
            super().__init__()
            self.scale = nn.Parameter(mg.tensor(1.0, dtype=mg.float64))

        def forward(self, index):
            return mg.tensor(out)[index.long().reshape(-1)] * self.scale

    np.testing.assert_allclose(evaluate(Fixed(), np.arange(6), tgt, name, batch_size=4),
                               expected, rtol=1e-10)


def _classifier_problem(name, rng):
    """A small separable problem and a model whose output suits the Keras loss ``name``."""
    x = rng.normal(size=(60, 3)).astype(np.float32)
    labels = (x[:, 0] + x[:, 1] > 0).astype(np.int64)
    if name == "binary_crossentropy":
        return x, labels.astype(np.float32), nn.Sequential(nn.Linear(3, 1), nn.Sigmoid())
    model = nn.Sequential(nn.Linear(3, 2), nn.Softmax(dim=1))
    if name == "categorical_crossentropy":
        return x, np.eye(2, dtype=np.float32)[labels], model
    if name == "sparse_categorical_crossentropy":
        return x, labels, model
    return x, (x @ np.ones((3, 1))).astype(np.float32), nn.Linear(3, 1)


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_fit_trains_with_every_keras_loss_name(name):
    x, y, model = _classifier_problem(name, np.random.default_rng(3))
    history = fit(model, x, y, loss=name, optimizer=optim.Adam(model.parameters(), lr=0.05),
                  epochs=25, batch_size=20, verbose=0)
    losses = history.history["loss"]
    assert np.all(np.isfinite(losses))
    assert losses[-1] < 0.6 * losses[0]


def test_binary_crossentropy_labels_of_shape_n_and_saturated_probabilities():
    """Targets (N,) against outputs (N, 1) are matched like Keras; probabilities 0 and 1 are
    clipped to [1e-7, 1 - 1e-7] (in float32: 1 - 1e-7 rounds to 1 - 2^-23), so the loss is
    finite: -log(1e-7) or -log(2^-23) for a confident mistake."""
    p = mg.tensor([[0.0], [1.0], [1.0]])
    t = mg.tensor([1.0, 1.0, 0.0])
    value = LOSSES["binary_crossentropy"](p, t).item()
    low, high = np.float64(np.float32(1e-7)), np.float64(np.float32(1 - 1e-7))
    expected = np.mean([-np.log(low), -np.log(high), -np.log(1 - high)])
    np.testing.assert_allclose(value, expected, rtol=1e-3)


def test_categorical_crossentropy_rejects_integer_labels():
    p = mg.tensor([[0.5, 0.5], [0.2, 0.8]])
    with pytest.raises(ValueError, match="sparse_categorical_crossentropy"):
        LOSSES["categorical_crossentropy"](p, mg.tensor([0, 1]))


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_every_keras_optimizer_name_builds_keras_defaults_and_trains(name):
    keras_lr = {"sgd": 0.01, "adam": 0.001, "rmsprop": 0.001, "adagrad": 0.001}[name]
    keras_class = {"sgd": optim.SGD, "adam": optim.Adam, "rmsprop": optim.RMSprop,
                   "adagrad": optim.Adagrad}[name]
    x, y = regression_data()
    model = nn.Linear(2, 1)
    history = fit(model, x, y, loss="mse", optimizer=name.upper(), epochs=20, batch_size=4,
                  verbose=0)
    assert type(history.optimizer) is keras_class
    group = history.optimizer.param_groups[0]
    assert group["lr"] == keras_lr
    assert {id(p) for p in group["params"]} == {id(p) for p in model.parameters()}
    if name == "rmsprop":
        assert group["alpha"] == 0.9   # Keras' rho
    if name == "adagrad":
        assert group["initial_accumulator_value"] == 0.1
    assert history.history["loss"][-1] < history.history["loss"][0]


@pytest.mark.parametrize("kind, bad", [("loss", "cross_entropy"), ("optimizer", "adamax")])
def test_unknown_names_raise_value_error_listing_the_known_ones(kind, bad):
    x, y = regression_data(n=4)
    kwargs = {"loss": "mse", "optimizer": "sgd", kind: bad}
    with pytest.raises(ValueError, match=bad) as info:
        fit(nn.Linear(2, 1), x, y, verbose=0, **kwargs)
    known = LOSSES if kind == "loss" else OPTIMIZERS
    for name in known:
        assert name in str(info.value)


def test_bad_arguments_raise_clear_errors():
    x, y = regression_data(n=4)
    model = nn.Linear(2, 1)
    with pytest.raises(TypeError, match="loss"):
        fit(model, x, y, loss=3, optimizer="sgd", verbose=0)
    with pytest.raises(TypeError, match="optimizer"):
        fit(model, x, y, loss="mse", optimizer=object(), verbose=0)
    with pytest.raises(ValueError, match="different numbers of samples"):
        fit(model, x, y[:3], loss="mse", optimizer="sgd", verbose=0)
    with pytest.raises(ValueError, match="y is required"):
        fit(model, x, loss="mse", optimizer="sgd", verbose=0)
    loader = DataLoader(TensorDataset(mg.tensor(x), mg.tensor(y)))
    with pytest.raises(ValueError, match="y must be None"):
        fit(model, loader, y, loss="mse", optimizer="sgd", verbose=0)
    with pytest.raises(ValueError, match="verbose"):
        fit(model, x, y, loss="mse", optimizer="sgd", verbose=3)
    with pytest.raises(TypeError, match="loss"):
        evaluate(model, x, y)


# ---------------------------------------------------------------------------------------------
# evaluate
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("batch_size", [None, 1, 7, 100])
def test_evaluate_equals_the_loss_computed_by_hand(batch_size):
    x, y = regression_data(n=30)
    model = nn.Linear(2, 1)
    w, b = model.weight.numpy().astype(np.float64), model.bias.numpy().astype(np.float64)
    expected = np.mean((x @ w.T + b - y) ** 2)
    value = evaluate(model, x, y, "mse", batch_size=batch_size)
    assert isinstance(value, float)
    np.testing.assert_allclose(value, expected, rtol=1e-5)
    assert model.weight.grad is None   # no gradients are computed


# ---------------------------------------------------------------------------------------------
# progress output, plotting, import cost
# ---------------------------------------------------------------------------------------------

def test_verbose_0_prints_nothing(capsys):
    x, y = regression_data(n=8)
    fit(nn.Linear(2, 1), x, y, loss="mse", optimizer="sgd", epochs=3, verbose=0,
        validation_data=(x, y))
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_verbose_1_shows_progress(capsys):
    x, y = regression_data(n=8)
    fit(nn.Linear(2, 1), x, y, loss="mse", optimizer="sgd", epochs=3, verbose=1)
    captured = capsys.readouterr()
    assert (captured.out + captured.err).strip() != ""
    if "tqdm" in sys.modules and sys.modules["tqdm"] is not None:
        assert "3/3" in captured.err     # the bar reached the last epoch


def test_verbose_1_without_tqdm_prints_one_line_per_epoch(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)   # makes `import tqdm` raise ImportError
    x, y = regression_data(n=8)
    history = fit(nn.Linear(2, 1), x, y, loss="mse", optimizer="sgd", epochs=3, verbose=1,
                  validation_data=(x, y))
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split(" - ")[0] for line in lines] == ["Epoch 1/3", "Epoch 2/3", "Epoch 3/3"]
    assert f"loss: {history.history['loss'][2]:.4f}" in lines[2]
    assert f"val_loss: {history.history['val_loss'][2]:.4f}" in lines[2]


def test_verbose_2_prints_lines(capsys):
    x, y = regression_data(n=8)
    fit(nn.Linear(2, 1), x, y, loss="mse", optimizer="sgd", epochs=2, verbose=2)
    assert capsys.readouterr().out.count("Epoch ") == 2


def test_history_plot_writes_a_png(tmp_path):
    pytest.importorskip("matplotlib")
    x, y = regression_data(n=8)
    history = fit(nn.Linear(2, 1), x, y, loss="mse", optimizer="sgd", epochs=5, verbose=0,
                  validation_data=(x, y))
    path = history.plot(tmp_path / "history.png")
    data = (tmp_path / "history.png").read_bytes()
    assert path == tmp_path / "history.png"
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 1000


def test_history_plot_without_matplotlib_says_so(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    history = History()
    history.history["loss"] = [1.0, 0.5]
    history.epoch = [0, 1]
    with pytest.raises(ImportError, match="pip install matplotlib"):
        history.plot(tmp_path / "h.png")
    assert not (tmp_path / "h.png").exists()


def test_importing_minigrad_train_stays_cheap(child_python):
    code = ("import sys, minigrad.train; "
            "print(sorted(m for m in ('tqdm', 'matplotlib') if m in sys.modules))")
    out = child_python(code).stdout.strip()
    assert out == "[]"
