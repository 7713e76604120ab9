"""Tutorial 5: why is my loss NaN? Anomaly detection finds the op, and the line.
=============================================================================

A NaN rarely starts where it shows. Here a model learns to place points near targets with a
distance written by hand, sqrt(sum((p - t)^2)). When a point sits exactly on its target the
distance is 0 and its value is fine, but d sqrt(u)/du = 1 / (2 sqrt(u)) is infinite there; the
next formula multiplies that inf by (p - t) = 0, and 0 * inf = NaN. The loss of step 1 looks
fine, the gradients are already NaN, the optimizer writes NaN into the parameters, and the
loss of step 2 is NaN.

Three tools find it:

- ``mg.autograd.detect_anomaly()``: the backward raises at the first op whose formula returns
  NaN, naming it (``PowBackward0``) and showing the line of your code that created it;
- ``mg.autograd.trace()``: the gradient norms node by node show where inf appeared first
  (``SqrtBackward0``), one node before the NaN;
- the fix at that op: a distance that is differentiable at 0 (sqrt(u + eps)), or a loss that
  needs no square root.

A second classic: softmax written as exp(z) / sum(exp(z)) overflows for large logits
(exp(1000) = inf, inf / inf = NaN) in the forward pass; ``F.cross_entropy`` computes the same
loss with the log-sum-exp trick and stays finite.

Run::

    python docs/tutorials/05_why_is_my_loss_nan.py
"""
import argparse
import warnings

import numpy as np

import minigrad as mg
import minigrad.nn.functional as F

argparse.ArgumentParser().parse_known_args()
warnings.filterwarnings("ignore", "Anomaly Detection has been enabled")

targets = mg.tensor([[1.0, 2.0], [0.0, 0.0], [3.0, -1.0]])


def distance_loss(points):
    distance = ((points - targets) ** 2).sum(dim=1).sqrt()  # the culprit: sqrt'(0) = inf
    return distance.mean()


# ---- the symptom ---------------------------------------------------------------------------
points = mg.nn.Parameter(mg.tensor([[1.0, 2.0], [0.5, 0.5], [2.0, 0.0]]))  # row 0 on target
opt = mg.optim.SGD([points], lr=0.1)
history = []
for step in range(2):
    opt.zero_grad()
    loss = distance_loss(points)
    loss.backward()
    history.append(loss.item())
    print(f"step {step + 1}: loss = {loss.item():.4f}, gradient has NaN: "
          f"{bool(np.isnan(points.grad.numpy()).any())}")
    opt.step()
assert np.isfinite(history[0]) and np.isnan(history[1])

# ---- anomaly detection: the op, and the line that made it ---------------------------------
points = mg.nn.Parameter(mg.tensor([[1.0, 2.0], [0.5, 0.5], [2.0, 0.0]]))
with mg.autograd.detect_anomaly():
    loss = distance_loss(points)
    try:
        loss.backward()
        raise AssertionError("anomaly detection should have stopped the backward")
    except RuntimeError as error:
        message = str(error)
print("\nwith detect_anomaly():\n" + message)
assert message.startswith("Function 'PowBackward0' returned nan values")
assert "distance = ((points - targets) ** 2).sum(dim=1).sqrt()" in message

# ---- the trace: where the inf came from ----------------------------------------------------
with mg.autograd.trace() as t:
    distance_loss(points).backward()
print("\nthe backward, node by node:")
print(t)
first_inf = next(r for r in t if any(n is not None and not np.isfinite(n)
                                     for n in r.grad_out_norms))
first_nan = next(r for r in t if any(n is not None and np.isnan(n) for n in r.grad_out_norms))
print(f"\nfirst inf out of: {first_inf.op}; first NaN out of: {first_nan.op}")
assert first_inf.op == "SqrtBackward0" and first_nan.op == "PowBackward0"

# ---- the fix ---------------------------------------------------------------------------------


def safe_distance_loss(points, eps=1e-12):
    distance = (((points - targets) ** 2).sum(dim=1) + eps).sqrt()
    return distance.mean()


points = mg.nn.Parameter(mg.tensor([[1.0, 2.0], [0.5, 0.5], [2.0, 0.0]]))
opt = mg.optim.SGD([points], lr=0.1)
with mg.autograd.detect_anomaly():
    for _ in range(20):
        opt.zero_grad()
        loss = safe_distance_loss(points)
        loss.backward()
        opt.step()
print(f"\nwith sqrt(u + eps): loss after 20 steps = {loss.item():.4f}, all finite")
assert np.isfinite(points.numpy()).all() and loss.item() < history[0]

# ---- the second classic: softmax by hand overflows -----------------------------------------
logits = mg.tensor([[1000.0, 0.0], [2.0, 1.0]], requires_grad=True)
labels = mg.tensor([0, 1])
probabilities = logits.exp() / logits.exp().sum(dim=1, keepdim=True)  # exp(1000) = inf
naive = -probabilities[mg.arange(2), labels].log().mean()
stable = F.cross_entropy(logits, labels)  # log-sum-exp: log softmax without exp overflow
print(f"\nsoftmax by hand: loss = {naive.item()}; F.cross_entropy: loss = {stable.item():.4f}")
assert np.isnan(naive.item()) and np.isfinite(stable.item())
stable.backward()
assert np.isfinite(logits.grad.numpy()).all()

print("\nall checks passed")
