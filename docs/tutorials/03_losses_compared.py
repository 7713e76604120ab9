"""Tutorial 3: losses compared: values and gradients of MSE, MAE, Huber and cross-entropy.
=======================================================================================

A loss turns the residual r = prediction - target into one number; training follows its
gradient dloss/dr. We let autograd compute each loss and its gradient on a grid of residuals
(``reduction='none'``, then ``.sum().backward()``: element i of the gradient is the derivative
at residual i) and check both against the formulas::

    MSE     r^2                                        d = 2 r
    MAE     |r|                                        d = sign(r)
    Huber   r^2 / 2 if |r| <= delta, else delta (|r| - delta / 2)      d = clamp(r, -delta, delta)
    binary cross-entropy of a logit z, target 1: -log sigmoid(z) = log(1 + exp(-z))
                                                       d = sigmoid(z) - 1

MSE's gradient grows with the error (outliers dominate); MAE's has the same size everywhere
(robust, but it does not shrink near the optimum); Huber is MSE near 0 and MAE far away.

The seed text on losses (shared/seeds, "SmoothL2") gives::

    L2 = 0.5 y^2 if |y| <= 1,   |y| - 1 if |y| > 1,

which jumps from 0.5 down to 0 at ``|y| = 1``: a larger error can cost less, and its derivative
is 1 on both sides, so gradient descent cannot even see the jump. Continuity needs ``|y| - 0.5``:
that is SmoothL1 (= Huber with delta = 1), which minigrad (like PyTorch) implements.

Run::

    python docs/tutorials/03_losses_compared.py [--out DIR]   (writes DIR/losses.png)
"""
import argparse
import os

import numpy as np

import minigrad as mg
import minigrad.nn.functional as F

parser = argparse.ArgumentParser()
parser.add_argument("--out", default=".", help="folder for the picture")
args = parser.parse_args()
points = 61 if os.environ.get("MINIGRAD_TUTORIAL_SIZE") == "small" else 601

r = np.linspace(-3, 3, points)


def value_and_gradient(loss_fn, values=r):
    """loss_fn(prediction, target) element-wise, and d loss_i / d prediction_i (autograd)."""
    prediction = mg.tensor(values, dtype=mg.float64, requires_grad=True)
    target = mg.zeros(len(values), dtype=mg.float64)
    loss = loss_fn(prediction, target)
    loss.sum().backward()
    return loss.numpy(), prediction.grad.numpy()


def seed_smooth_l2(prediction, target):
    """The seed's SmoothL2, as written: 0.5 y^2 for |y| <= 1, |y| - 1 beyond."""
    y = prediction - target
    return mg.where(y.abs() <= 1, 0.5 * y ** 2, y.abs() - 1)


losses = {
    "MSE": (lambda p, t: F.mse_loss(p, t, reduction="none"), r ** 2, 2 * r),
    "MAE": (lambda p, t: F.l1_loss(p, t, reduction="none"), np.abs(r), np.sign(r)),
    "Huber (delta=1)": (lambda p, t: F.huber_loss(p, t, reduction="none", delta=1.0),
                        np.where(np.abs(r) <= 1, 0.5 * r ** 2, np.abs(r) - 0.5),
                        np.clip(r, -1, 1)),
    "cross-entropy (logit r, target 1)": (
        lambda p, t: F.binary_cross_entropy_with_logits(p, t + 1, reduction="none"),
        np.log1p(np.exp(-r)), 1 / (1 + np.exp(-r)) - 1),
}
results = {}
print(f"{'loss':36s} {'at r=-2':>9s} {'at r=0.5':>9s} {'d at -2':>9s} {'d at 0.5':>9s}")
at = [np.argmin(np.abs(r - v)) for v in (-2.0, 0.5)]
for name, (fn, expected_value, expected_grad) in losses.items():
    value, grad = value_and_gradient(fn)
    np.testing.assert_allclose(value, expected_value, rtol=1e-12, atol=1e-12)
    # MAE's derivative at exactly 0 is 0 in PyTorch (sign(0)); elsewhere sign(r)
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-12, atol=1e-12)
    results[name] = (value, grad)
    print(f"{name:36s} {value[at[0]]:9.4f} {value[at[1]]:9.4f} {grad[at[0]]:9.4f} "
          f"{grad[at[1]]:9.4f}")

# Multi-class cross-entropy on logits (z, 0) with class 0 is the binary one of z: the same
# numbers from F.cross_entropy, whose gradient is softmax(logits) - onehot(target).
logits = mg.tensor(np.stack([r, np.zeros_like(r)], axis=1), dtype=mg.float64,
                   requires_grad=True)
ce = F.cross_entropy(logits, mg.zeros(len(r), dtype=mg.int64), reduction="none")
ce.sum().backward()
np.testing.assert_allclose(ce.numpy(), results["cross-entropy (logit r, target 1)"][0],
                           rtol=1e-12)
softmax = np.exp(logits.numpy()) / np.exp(logits.numpy()).sum(axis=1, keepdims=True)
np.testing.assert_allclose(logits.grad.numpy(), softmax - np.array([1.0, 0.0]), atol=1e-12)
print("cross_entropy: gradient = softmax(logits) - onehot(target), checked")

# ---- the seed's SmoothL2: a jump at |y| = 1 that the gradient does not see -----------------
edge = np.array([1 - 1e-9, 1 + 1e-9, 1.2, 0.9])
value, grad = value_and_gradient(seed_smooth_l2, edge)
jump = value[1] - value[0]
print(f"\nseed SmoothL2 at |y| = 1 - 1e-9: {value[0]:.6f}, at 1 + 1e-9: {value[1]:.6f} "
      f"(jump {jump:+.3f}); derivative {grad[0]:.3f} and {grad[1]:.3f}")
print(f"  an error of 1.2 costs {value[2]:.3f}, less than an error of 0.9 ({value[3]:.3f})")
assert abs(jump + 0.5) < 1e-8            # discontinuous: falls by 0.5
assert abs(grad[0] - grad[1]) < 1e-8     # ...while the derivative is 1 on both sides
assert value[2] < value[3]               # so the loss is not even increasing in |y|
smooth, _ = value_and_gradient(
    lambda p, t: F.smooth_l1_loss(p, t, reduction="none", beta=1.0), edge)
assert abs(smooth[1] - smooth[0]) < 1e-8  # |y| - 0.5 (SmoothL1 / Huber) is continuous
print(f"  SmoothL1 (|y| - 0.5 beyond 1) is continuous: {smooth[0]:.6f} -> {smooth[1]:.6f}")

# ---- the picture ---------------------------------------------------------------------------
try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:
    plt = None
if plt is not None:
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    for name, (value, grad) in results.items():
        left.plot(r, value, label=name)
        right.plot(r, grad, label=name)
    seed_value, seed_grad = value_and_gradient(seed_smooth_l2)
    for side in (r < -1, np.abs(r) <= 1, r > 1):  # drawn in pieces: do not join the jump
        left.plot(r[side], seed_value[side], "k--", lw=1.2)
    left.plot([], [], "k--", lw=1.2, label="seed SmoothL2 (jumps at |r| = 1)")
    right.plot(r, seed_grad, "k--", lw=1.2, label="seed SmoothL2")
    left.set(title="loss(r)", xlabel="residual r = prediction - target", ylim=(-0.2, 4.5))
    right.set(title="d loss / d r (autograd)", xlabel="residual r", ylim=(-2.5, 2.5))
    for ax in (left, right):
        ax.axhline(0, color="0.8", lw=0.8)
        ax.legend(fontsize=8)
    fig.tight_layout()
    path = os.path.join(args.out, "losses.png")
    fig.savefig(path, dpi=110)
    print(f"picture: {path}")

print("\nall checks passed")
