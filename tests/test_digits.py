"""End to end on real data: scikit-learn's digits, an MLP 64-128-10, DataLoader and Adam."""
import numpy as np
import pytest

import minigrad as mg
import minigrad.nn.functional as F
from minigrad import nn
from minigrad.utils.data import DataLoader, TensorDataset

datasets = pytest.importorskip("sklearn.datasets")
model_selection = pytest.importorskip("sklearn.model_selection")


def test_mlp_on_digits_reaches_95_percent_test_accuracy():
    digits = datasets.load_digits()
    x_train, x_test, y_train, y_test = model_selection.train_test_split(
        digits.data / 16.0, digits.target, test_size=0.25, random_state=0,
        stratify=digits.target)
    mg.manual_seed(0)
    train = TensorDataset(mg.tensor(x_train, dtype=mg.float32), mg.tensor(y_train))
    loader = DataLoader(train, batch_size=32, shuffle=True)
    model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))
    optimizer = mg.optim.Adam(model.parameters(), lr=1e-3)

    first_epoch_loss = None
    for epoch in range(20):
        model.train()
        total = 0.0
        for xb, yb in loader:
            optimizer.zero_grad()
            loss = F.cross_entropy(model(xb), yb)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(yb)
        if first_epoch_loss is None:
            first_epoch_loss = total / len(train)

    model.eval()
    with mg.no_grad():
        logits = model(mg.tensor(x_test, dtype=mg.float32))
    accuracy = float(np.mean(logits.argmax(dim=1).numpy() == y_test))
    final_loss = total / len(train)
    assert final_loss < first_epoch_loss / 5, (first_epoch_loss, final_loss)
    assert accuracy >= 0.95, f"test accuracy {accuracy:.3f} < 0.95"
