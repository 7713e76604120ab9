"""Full-batch gradient descent vs stochastic gradient descent vs a decaying learning rate.
=======================================================================================

Reproduces seed 003_2df35c57be643b80.txt, sections 3.3-3.5 and 4 (梯度下降, 随机梯度下降,
动态学习率梯度下降): fitting y = 3x + 2 + U(0, 1), x ~ U(0, 1), 100 samples, by

- full-batch gradient descent (every step uses all 100 samples),
- stochastic gradient descent (every step uses one random sample),
- SGD with a decaying learning rate, alpha <- alpha * decay after every step (the seed's
  "learningRateDecay"; here via ``optim.lr_scheduler.ExponentialLR``),

and comparing the three: parameters, loss, distance to the least-squares solution, and the
loss curves (saved as gd_vs_sgd.png when matplotlib is installed).

Seed bugs fixed here:

- The seed's gradient ``2 * (X - X @ theta)`` never looks at y and has no bias term: it is not
  the gradient of any loss of this data. In the seed's full-batch program it is also a
  (100, 1) array, so ``theta - alpha * gradients`` turns theta into a (100, 1) array and
  ``X @ theta`` fails on the second iteration. The seed's SGD program runs, but its step
  theta <- theta - alpha * 2 x (1 - theta) is gradient *ascent* on (x - x theta)^2 (whose
  gradient is -2 x^2 (1 - theta)): theta - 1 grows by (1 + 2 alpha x) every step, so theta runs
  away from 1, whatever y is (both are run below to show it).
  The right gradient: the model is y_hat = w x + b, the loss the mean squared error ::

      J(w, b) = (1/n) sum_i (w x_i + b - y_i)^2,

  and with residuals r_i = w x_i + b - y_i, ::

      dJ/dw = (2/n) sum_i r_i x_i,        dJ/db = (2/n) sum_i r_i

  (n = 100 for full-batch steps, n = 1 for a stochastic step). Every step below computes this
  by hand in numpy and asserts that it equals what minigrad's autograd computes, and that the
  optimizer's update equals theta - alpha * gradient.
- The seed's learning rate 0.01 is too small for 1000 steps on this problem: the loss's
  Hessian has eigenvalues about 2.5 and 0.13, so along the slow direction each step removes
  only 0.01 * 0.13 = 0.13% of the error and 1000 steps leave (1 - 0.0013)^1000 = 27% of it.
  This program uses alpha = 0.1 (stable below 2 / 2.5 = 0.8) and prints those numbers.
- The seed uses no seed for its random index; here ``mg.manual_seed(0)`` fixes everything.

Run::

    python examples/gd_vs_sgd.py
"""
import os

import numpy as np

import minigrad as mg
from minigrad import optim

QUICK = os.environ.get("MINIGRAD_EXAMPLE_QUICK", "") not in ("", "0")
mg.manual_seed(0)
rng = mg.random.generator()

# float64 so that hand arithmetic and autograd agree to round-off.
n = 100
X = mg.rand(n, 1, dtype=mg.float64)
y = 3 * X + 2 + mg.rand(n, 1, dtype=mg.float64)
Xn, yn = X.numpy(), y.numpy()

# ---- the optimum and the curvature -----------------------------------------------------------
design = np.hstack([Xn, np.ones_like(Xn)])                  # rows (x_i, 1)
(w_best, b_best), *_ = np.linalg.lstsq(design, yn.ravel(), rcond=None)
best_mse = np.mean((design @ [w_best, b_best] - yn.ravel()) ** 2)
hessian = 2 / n * design.T @ design                          # d^2 J / d(w, b)^2
eigenvalues = np.linalg.eigvalsh(hessian)
print(f"least squares: w* = {w_best:.4f}, b* = {b_best:.4f} (truth w = 3, b = 2 + E[U(0,1)] "
      f"= 2.5), MSE {best_mse:.5f} (noise floor 1/12 = {1 / 12:.5f})")
print(f"Hessian eigenvalues {eigenvalues[0]:.3f} and {eigenvalues[1]:.3f}: GD is stable for "
      f"alpha < {2 / eigenvalues[1]:.2f}; after 1000 steps the slow direction keeps "
      f"{(1 - 0.01 * eigenvalues[0]) ** 1000:.0%} of its error at alpha = 0.01, "
      f"{(1 - 0.1 * eigenvalues[0]) ** 1000:.1e} at alpha = 0.1")
print()

# ---- the seed's gradient, as written ------------------------------------------------------------
theta = np.random.default_rng(0).random((1, 1))
try:
    for i in range(2):
        gradients = 2 * (Xn - (Xn @ theta))
        theta = theta - 0.01 * gradients
except ValueError as exc:
    print(f"seed's GD: iteration {i} fails, theta became {theta.shape}: {exc}")
theta = np.random.default_rng(0).random((1, 1))
for i in range(1000):
    random_index = rng.integers(0, n)
    gradients = 2 * (Xn[random_index] - (Xn[random_index] @ theta))
    theta = theta - 0.01 * gradients
print(f"seed's SGD: theta = {theta.item():.4g} after 1000 steps (it never reads y; "
      f"theta - 1 grows by (1 + 0.02 x) per step)")
print()

# ---- the three methods, with hand gradients checked against autograd ---------------------------
alpha = 0.1
decay = 0.998
iterations = 400 if QUICK else 1000


def full_data_mse(w, b):
    return float(np.mean((w * Xn + b - yn) ** 2))


def run(method):
    """Train (w, b) from (0, 0); return per-step full-data MSE, final w, b, number of checks."""
    w = mg.zeros(1, dtype=mg.float64, requires_grad=True)
    b = mg.zeros(1, dtype=mg.float64, requires_grad=True)
    optimizer = optim.SGD([w, b], lr=alpha)
    scheduler = optim.lr_scheduler.ExponentialLR(optimizer, gamma=decay) \
        if method == "decay" else None
    losses, checks = [], 0
    for _ in range(iterations):
        if method == "gd":
            rows = np.arange(n)
        else:
            rows = rng.integers(0, n, size=1)
        x_b, y_b = X[rows], y[rows]
        lr = optimizer.param_groups[0]["lr"]
        w0, b0 = w.item(), b.item()

        # By hand: residuals and the two partial derivatives.
        r = w0 * x_b.numpy() + b0 - y_b.numpy()
        grad_w = 2 * np.mean(r * x_b.numpy())
        grad_b = 2 * np.mean(r)

        # By autograd.
        optimizer.zero_grad()
        loss = ((x_b * w + b - y_b) ** 2).mean()
        loss.backward()
        assert np.isclose(w.grad.item(), grad_w, rtol=1e-12, atol=1e-12), (w.grad, grad_w)
        assert np.isclose(b.grad.item(), grad_b, rtol=1e-12, atol=1e-12), (b.grad, grad_b)
        optimizer.step()
        assert np.isclose(w.item(), w0 - lr * grad_w, rtol=1e-12, atol=1e-12)
        assert np.isclose(b.item(), b0 - lr * grad_b, rtol=1e-12, atol=1e-12)
        checks += 4
        if scheduler is not None:
            scheduler.step()
        losses.append(full_data_mse(w.item(), b.item()))
    return losses, w.item(), b.item(), checks


methods = {
    "gd": "full-batch GD",
    "sgd": "SGD (1 sample)",
    "decay": f"SGD, alpha*{decay}^t",
}
results = {key: run(key) for key in methods}
total_checks = sum(r[3] for r in results.values())
print(f"hand-computed gradients and updates agree with autograd: {total_checks} checks passed")
print()
print(f"{'method':20s} {'w':>8s} {'b':>8s} {'final MSE':>10s} {'excess MSE':>11s} "
      f"{'|theta-theta*|':>15s}")
for key, label in methods.items():
    losses, w, b, _ = results[key]
    distance = np.hypot(w - w_best, b - b_best)
    print(f"{label:20s} {w:8.4f} {b:8.4f} {losses[-1]:10.5f} {losses[-1] - best_mse:11.2e} "
          f"{distance:15.4f}")
print(f"{'least squares':20s} {w_best:8.4f} {b_best:8.4f} {best_mse:10.5f}")

try:
    from matplotlib.figure import Figure
except ImportError:
    print("matplotlib is not installed: skipping the plot (pip install matplotlib)")
else:
    fig = Figure(figsize=(7, 4.5), tight_layout=True)
    ax = fig.add_subplot()
    steps = np.arange(1, iterations + 1)
    for key, label in methods.items():
        ax.plot(steps, np.array(results[key][0]) - best_mse, label=label, linewidth=1)
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("full-data MSE - least-squares MSE")
    ax.set_title(f"y = 3x + 2 + U(0,1): GD vs SGD vs decaying lr (alpha = {alpha})")
    ax.legend()
    ax.grid(True, alpha=0.3)
    fig.savefig("gd_vs_sgd.png", dpi=100)
    print("saved gd_vs_sgd.png")
