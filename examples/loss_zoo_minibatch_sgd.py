"""The loss zoo, and linear regression by mini-batch SGD.
======================================================

Reproduces seed 002_46503aea7306a0b6.txt:

- section 3.1 / 3.3: the five losses it lists (MSE, cross-entropy H(p, q), log loss,
  SmoothL1 and "SmoothL2"), each written from the seed's formula in numpy and compared with
  minigrad's ``F.mse_loss``, ``F.cross_entropy``, ``F.nll_loss``, ``F.smooth_l1_loss``,
  ``F.huber_loss``;
- section 4.1: linear regression y = 3x + noise by mini-batch stochastic gradient descent
  (batch 10, learning rate 0.01, 1000 iterations), plotted with the data, the truth and the
  prediction (saved as minibatch_sgd.png when matplotlib is installed).

Seed bugs fixed here:

- "SmoothL2" as written, ``0.5 y^2`` for ``|y| <= 1`` and ``|y| - 1`` above, jumps at
  ``|y| = 1`` (from 0.5 down to 0): a loss with a cliff. The values either side of 1 are
  printed below. The continuous version of that shape is the Huber loss (``0.5 y^2`` inside,
  ``delta (|y| - delta/2)`` outside: with delta = 1 the outer piece is ``|y| - 0.5``, which
  meets ``0.5 y^2`` at ``|y| = 1`` with the same value and slope); minigrad's
  ``F.huber_loss`` is used instead.
- The seed samples each mini-batch's X and y with two *different* random index sets
  (``X[np.random.choice(...)]``, ``y[np.random.choice(...)]``), so the x's and y's of a
  batch are unrelated: the gradient 2/b X_b^T (X_b theta - y_b) then pulls theta towards 0, not
  towards 3. Here one index set picks the rows of both. The seed's version is run too, to show
  what it learns.
- The seed's plot code makes ``X_test = np.linspace(-2, 2, 100)`` 1-D, so
  ``y_test = 3 * X_test + np.random.randn(100, 1)`` broadcasts to a (100, 100) array and
  ``X_test.dot(theta)`` with theta (1, 1) raises a shape error; here X_test is a column (100, 1).

Run::

    python examples/loss_zoo_minibatch_sgd.py
"""
import os

import numpy as np

import minigrad as mg
import minigrad.nn.functional as F
from minigrad import optim

QUICK = os.environ.get("MINIGRAD_EXAMPLE_QUICK", "") not in ("", "0")
mg.manual_seed(0)
rng = mg.random.generator()

# ============================================================================================
# Part 1: the loss zoo
# ============================================================================================
print("== the loss zoo: the seed's formulas (numpy) against minigrad ==")
n, classes = 8, 4
y_true = rng.normal(size=n)
y_pred = y_true + rng.normal(scale=1.5, size=n)  # errors both inside and outside |d| <= 1
logits = rng.normal(size=(n, classes))
q = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)  # predicted distributions
p = rng.dirichlet(np.ones(classes), size=n)                     # target distributions
labels = rng.integers(0, classes, size=n)
one_hot = np.eye(classes)[labels]
d = y_pred - y_true

zoo = [
    # MSE = (1/n) sum_i (y_i - yhat_i)^2
    ("MSE", np.mean((y_true - y_pred) ** 2),
     F.mse_loss(mg.tensor(y_pred), mg.tensor(y_true))),
    # H(p, q) = -sum_c p_c log q_c, per sample; averaged over the n samples (F.cross_entropy
    # takes logits and computes log q = log_softmax(logits) stably).
    ("cross-entropy H(p,q)", np.mean(-(p * np.log(q)).sum(axis=1)),
     F.cross_entropy(mg.tensor(logits), mg.tensor(p))),
    # LL = -(1/n) sum_i y_i log yhat_i with one-hot y: minus the mean log-probability of the
    # true class, i.e. the negative log-likelihood of log q.
    ("log loss", -np.sum(one_hot * np.log(q)) / n,
     F.nll_loss(mg.tensor(np.log(q)), mg.tensor(labels))),
    # SmoothL1: 0.5 d^2 if |d| <= 1, |d| - 0.5 otherwise (PyTorch's beta = 1)
    ("SmoothL1", np.mean(np.where(np.abs(d) <= 1, 0.5 * d**2, np.abs(d) - 0.5)),
     F.smooth_l1_loss(mg.tensor(y_pred), mg.tensor(y_true))),
    # the continuous "SmoothL2": Huber with delta = 1 (same as SmoothL1 with beta = 1)
    ("Huber (delta=1)", np.mean(np.where(np.abs(d) <= 1, 0.5 * d**2, np.abs(d) - 0.5)),
     F.huber_loss(mg.tensor(y_pred), mg.tensor(y_true), delta=1.0)),
]
print(f"{'loss':22s} {'seed formula':>14s} {'minigrad':>14s}")
for name, by_formula, ours in zoo:
    ours = ours.item()
    print(f"{name:22s} {by_formula:14.6f} {ours:14.6f}")
    assert np.isclose(by_formula, ours, rtol=1e-5, atol=1e-7), name
print("all agree")
print()


def seed_smooth_l2(y):
    """The seed's "SmoothL2", as written: 0.5 y^2 if |y| <= 1, |y| - 1 if |y| > 1."""
    return np.where(np.abs(y) <= 1, 0.5 * y**2, np.abs(y) - 1)


print("== the seed's SmoothL2 jumps at |y| = 1; Huber does not ==")
points = np.array([0.9, 0.99, 0.999, 1.0, 1.001, 1.01, 1.1])
t_points = mg.tensor(points, dtype=mg.float64, requires_grad=True)
huber = F.huber_loss(t_points, mg.zeros_like(t_points), reduction="none", delta=1.0)
huber.sum().backward()  # d huber / dy: y inside, sign(y) outside: continuous at 1 as well
print(f"{'y':>7s} {'seed SmoothL2':>14s} {'Huber(delta=1)':>15s} {'d Huber/dy':>11s}")
for y_value, smooth_l2, h, g in zip(points, seed_smooth_l2(points), huber.tolist(),
                                   t_points.grad.tolist()):
    print(f"{y_value:7.3f} {smooth_l2:14.6f} {h:15.6f} {g:11.6f}")
jump = seed_smooth_l2(np.array([1.0 + 1e-9]))[0] - seed_smooth_l2(np.array([1.0]))[0]
print(f"SmoothL2 jump at |y| = 1: {jump:+.3f} (0.5 * 1^2 = 0.5 inside, |1| - 1 = 0 outside); "
      f"the outer piece must be |y| - 0.5 to meet: that is Huber / SmoothL1")
print()

# ============================================================================================
# Part 2: mini-batch SGD linear regression (seed section 4.1)
# ============================================================================================
print("== mini-batch SGD linear regression: y = 3x + noise ==")
n_samples = 100
X = mg.randn(n_samples, 1)
y = 3 * X + mg.randn(n_samples, 1)
alpha = 0.01
batch_size = 10
iterations = 300 if QUICK else 1000


def train(sample_together):
    """Mini-batch SGD on MSE(X_b theta, y_b) from theta = 0; returns theta (a float).

    The gradient autograd computes is the seed's 2/b X_b^T (X_b theta - y_b).
    """
    theta = mg.zeros(1, 1, requires_grad=True)
    optimizer = optim.SGD([theta], lr=alpha)
    for _ in range(iterations):
        # np.random.choice(n, b) in the seed: b indices drawn with replacement.
        rows = rng.integers(0, n_samples, size=batch_size)
        if sample_together:
            X_batch, y_batch = X[rows], y[rows]
        else:  # the seed's bug: a second, independent index set for y
            X_batch, y_batch = X[rows], y[rng.integers(0, n_samples, size=batch_size)]
        optimizer.zero_grad()
        loss = ((X_batch @ theta - y_batch) ** 2).mean()
        loss.backward()
        optimizer.step()
    return theta.item()


theta_fixed = train(sample_together=True)
theta_seed = train(sample_together=False)
Xn, yn = X.numpy().ravel(), y.numpy().ravel()
theta_best = float(Xn @ yn / (Xn @ Xn))  # least squares through the origin
print(f"theta, X and y sampled together (fixed):     {theta_fixed:.4f}")
print(f"theta, X and y sampled separately (seed):    {theta_seed:.4f}")
print(f"least-squares theta on these 100 points:     {theta_best:.4f}   (truth 3)")

try:
    from matplotlib.figure import Figure
except ImportError:
    print("matplotlib is not installed: skipping the plot (pip install matplotlib)")
else:
    X_test = np.linspace(-2, 2, 100).reshape(-1, 1)  # a column, unlike the seed's 1-D array
    fig = Figure(figsize=(6, 4.5), tight_layout=True)
    ax = fig.add_subplot()
    ax.scatter(Xn, yn, color="k", s=12, label="data")
    ax.plot(X_test, 3 * X_test, color="r", label="truth y = 3x")
    ax.plot(X_test, theta_fixed * X_test, color="b", label=f"mini-batch SGD: {theta_fixed:.2f}x")
    ax.plot(X_test, theta_seed * X_test, color="b", linestyle="--",
            label=f"seed's separate sampling: {theta_seed:.2f}x")
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_title("Linear regression by mini-batch SGD (batch 10, lr 0.01)")
    ax.legend()
    fig.savefig("minibatch_sgd.png", dpi=100)
    print("saved minibatch_sgd.png")
