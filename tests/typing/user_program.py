"""A small typed user program: tests/test_typing.py checks it with ``mypy --strict`` (and runs
it). It uses the public API the way a PyTorch user would, with annotations throughout."""
from __future__ import annotations

import os
import sys
import tempfile
from typing import Any

import numpy as np

import minigrad as mg
import minigrad.nn.functional as F
from minigrad import nn
from minigrad.optim import SGD, Adam, Optimizer
from minigrad.utils.data import DataLoader, Dataset, TensorDataset


class MLP(nn.Module):
    def __init__(self, n_in: int, n_hidden: int, n_out: int) -> None:
        super().__init__()
        self.hidden = nn.Linear(n_in, n_hidden)
        self.out = nn.Linear(n_hidden, n_out)
        self.dropout = nn.Dropout(p=0.1)

    def forward(self, x: mg.Tensor) -> mg.Tensor:
        h: mg.Tensor = F.relu(self.hidden(x))
        y: mg.Tensor = self.out(self.dropout(h))
        return y


class Squares(Dataset[tuple[mg.Tensor, mg.Tensor]]):
    """A map-style dataset of (x, x**2) pairs."""

    def __init__(self, n: int) -> None:
        self.x = mg.linspace(-1.0, 1.0, n).reshape(n, 1)

    def __len__(self) -> int:
        return self.x.shape[0]

    def __getitem__(self, index: int) -> tuple[mg.Tensor, mg.Tensor]:
        x = self.x[index]
        return x, x * x


def train_epoch(model: nn.Module, loader: DataLoader[Any], optimizer: Optimizer,
                loss_fn: nn.Module) -> float:
    """One pass over ``loader``; returns the mean loss per sample."""
    model.train()
    total, count = 0.0, 0
    for xb, yb in loader:
        optimizer.zero_grad()
        loss: mg.Tensor = loss_fn(model(xb), yb)
        loss.backward()
        optimizer.step()
        batch: int = xb.shape[0]
        total += loss.item() * batch
        count += batch
    return total / count


def accuracy(logits: mg.Tensor, labels: mg.Tensor) -> float:
    predicted = logits.argmax(dim=1)
    return float((predicted == labels).float().mean().item())


def main() -> int:
    mg.manual_seed(0)
    # Regression with a map-style dataset, Adam and MSE.
    model = MLP(1, 16, 1)
    optimizer = Adam(model.parameters(), lr=1e-2, betas=(0.9, 0.999))
    loader = DataLoader(Squares(64), batch_size=16, shuffle=True)
    losses = [train_epoch(model, loader, optimizer, nn.MSELoss()) for _ in range(20)]
    assert losses[-1] < losses[0], losses

    # Classification with tensors, SGD and cross-entropy.
    features = mg.randn(128, 4)
    labels: mg.Tensor = (features.sum(dim=1) > 0).long()
    classifier = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    sgd = SGD(classifier.parameters(), lr=0.1, momentum=0.9)
    data = DataLoader(TensorDataset(features, labels), batch_size=32, shuffle=True)
    for _ in range(10):
        train_epoch(classifier, data, sgd, nn.CrossEntropyLoss())
    classifier.eval()
    with mg.no_grad():
        acc = accuracy(classifier(features), labels)

    # Checkpoints: minigrad's own format and safetensors.
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "checkpoint.mg")
        mg.save({"model": classifier.state_dict(), "optimizer": sgd.state_dict()}, path)
        checkpoint = mg.load(path)
        classifier.load_state_dict(checkpoint["model"])
        sgd.load_state_dict(checkpoint["optimizer"])
        weights = os.path.join(folder, "model.safetensors")
        mg.save_file(classifier.state_dict(), weights, metadata={"format": "pt"})
        state: dict[str, mg.Tensor] = mg.load_file(weights)
        classifier.load_state_dict(state)

    # numpy and back
    array: np.ndarray = features.numpy()
    shared: mg.Tensor = mg.from_numpy(array)
    assert shared.shape == features.shape and shared.dtype == mg.float32
    grad_check = mg.tensor([1.0, 2.0], requires_grad=True)
    (grad_check ** 2).sum().backward()
    assert grad_check.grad is not None and grad_check.grad.tolist() == [2.0, 4.0]
    print(f"final loss {losses[-1]:.4f}, accuracy {acc:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
