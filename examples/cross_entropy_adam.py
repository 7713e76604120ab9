"""Cross-entropy and Adam: the seed's Linear(784, 10) on random data, then real digits.
====================================================================================

Reproduces seed 004_a58549527fa08327.txt, section 4 ("具体最佳实践"):

- 4.1: N = 10 random 784-dimensional inputs with random labels 0..9, ``Linear(784, 10)``,
  ``F.softmax`` for the probabilities and ``F.cross_entropy`` on the logits;
- 4.2: ``optim.Adam(model.parameters(), lr=0.001)`` for 100 epochs;

then the same recipe (cross-entropy on logits + Adam) on real data: scikit-learn's
``load_digits`` (8x8 images of handwritten digits, 1797 samples) with a small MLP
64 -> 64 -> ReLU -> 10, mini-batches from a ``DataLoader``, reporting the accuracy on a
held-out test split.

Seed details made explicit here:

- 4.2 re-creates ``model`` (a fresh ``Linear(784, 10)``) and trains that one, so the loss
  printed in 4.1 belongs to a different model; here the same model is trained.
- The seed has no seed, so its "Loss: 2.3849" cannot be reproduced; any value near
  log(10) = 2.303 is what an untrained 10-class model gives. ``mg.manual_seed(0)`` makes the
  numbers below repeatable.
- Fitting 10 random points with 7850 parameters is memorisation, not learning: the loss goes to
  about 0, and says nothing about new data. The digits part measures what the recipe learns.

Run::

    python examples/cross_entropy_adam.py   (the digits part needs scikit-learn)
"""
import math
import os

import numpy as np

import minigrad as mg
import minigrad.nn.functional as F
from minigrad import nn, optim
from minigrad.utils.data import DataLoader, TensorDataset

QUICK = os.environ.get("MINIGRAD_EXAMPLE_QUICK", "") not in ("", "0")
mg.manual_seed(0)

# ============================================================================================
# 4.1 / 4.2: the seed's program
# ============================================================================================
print("== seed 4.1/4.2: Linear(784, 10) on N = 10 random samples, cross-entropy, Adam ==")
N = 10
X = mg.randn(N, 784)              # 784 = 28 x 28 pixels, random values
y = mg.randint(0, 10, (N,))       # random class labels 0..9 (int64)

model = nn.Linear(784, 10)
logits = model(X)
probs = F.softmax(logits, dim=1)  # each row a probability distribution over the 10 classes
loss = F.cross_entropy(logits, y)  # = mean_i -log probs[i, y_i], from the logits (stable)
print(f"Loss: {loss.item():.4f}   (log 10 = {math.log(10):.4f}: an untrained model's guess)")
assert np.allclose(probs.sum(dim=1).numpy(), 1.0, atol=1e-6)
by_hand = -np.log(probs.numpy()[np.arange(N), y.numpy()]).mean()
print(f"mean -log softmax(logits)[i, y_i] by hand: {by_hand:.4f}")

optimizer = optim.Adam(model.parameters(), lr=0.001)
for epoch in range(100):
    logits = model(X)
    loss = F.cross_entropy(logits, y)

    optimizer.zero_grad()
    loss.backward()

    optimizer.step()

    if epoch == 0 or (epoch + 1) % 10 == 0:
        print(f"Epoch {epoch + 1}, Loss: {loss.item():.4f}")
with mg.no_grad():
    final_random = F.cross_entropy(model(X), y).item()
print(f"final loss on the 10 random samples: {final_random:.4f} (memorised)")
print()

# ============================================================================================
# The same recipe on real data: scikit-learn's handwritten digits
# ============================================================================================
print("== the same recipe on real data: load_digits, MLP 64-64-10, cross-entropy, Adam ==")
try:
    from sklearn.datasets import load_digits
except ImportError:
    print("scikit-learn is not installed: skipping the digits part (pip install scikit-learn)")
    raise SystemExit(0)

digits = load_digits()
images = digits.data.astype(np.float32) / 16.0   # pixel intensities 0..16 -> [0, 1]
targets = digits.target.astype(np.int64)
order = mg.random.generator().permutation(len(images))
n_test = len(images) // 5                         # hold out 20% for testing
test_rows, train_rows = order[:n_test], order[n_test:]
X_train, y_train = mg.tensor(images[train_rows]), mg.tensor(targets[train_rows])
X_test, y_test = mg.tensor(images[test_rows]), mg.tensor(targets[test_rows])
print(f"{len(train_rows)} training and {n_test} test images of 8x8 = 64 pixels, 10 classes")

mlp = nn.Sequential(
    nn.Linear(64, 64),
    nn.ReLU(),
    nn.Linear(64, 10),   # logits: cross_entropy applies log_softmax itself
)
optimizer = optim.Adam(mlp.parameters(), lr=0.001)
loader = DataLoader(TensorDataset(X_train, y_train), batch_size=32, shuffle=True)
epochs = 15 if QUICK else 40


def accuracy(model, inputs, labels):
    with mg.no_grad():
        predicted = model(inputs).argmax(dim=1)
    return float((predicted.numpy() == labels.numpy()).mean())


for epoch in range(epochs):
    mlp.train()
    total = 0.0
    for x_batch, y_batch in loader:
        optimizer.zero_grad()
        loss = F.cross_entropy(mlp(x_batch), y_batch)
        loss.backward()
        optimizer.step()
        total += loss.item() * len(x_batch)
    if epoch == 0 or (epoch + 1) % 5 == 0:
        mlp.eval()
        print(f"epoch {epoch + 1:3d}  train loss {total / len(train_rows):.4f}  "
              f"test accuracy {accuracy(mlp, X_test, y_test):.4f}")

mlp.eval()
test_accuracy = accuracy(mlp, X_test, y_test)
print(f"test accuracy: {test_accuracy:.4f}")
