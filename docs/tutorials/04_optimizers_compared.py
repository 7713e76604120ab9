"""Tutorial 4: optimizers compared, on Rosenbrock's valley and on the seed network.
================================================================================

Rosenbrock's function f(x, y) = (1 - x)^2 + 100 (y - x^2)^2 has its minimum f = 0 at (1, 1)
at the end of a long, curved, flat-bottomed valley: plain gradient descent crawls along the
valley floor (the gradient points mostly across it), momentum builds up speed along it, and
the adaptive methods (Adagrad, RMSprop, Adam) rescale each coordinate by the size of its
recent gradients. From the classic start (-1.2, 1) each optimizer runs the same number of
steps; we plot the trajectories and print what ``optimizer.describe()`` says Adam is doing.

The second comparison uses the seed network (Linear(2, 10) - ReLU - Linear(10, 1), MSE) with
its first layer frozen: the output is then s * z + b for the fixed feature z = relu(layer1(x))
@ w2^T (scaled to unit RMS), and the loss surface over (s, b) is a tilted bowl we can draw and watch each
optimizer descend.

Run::

    python docs/tutorials/04_optimizers_compared.py [--out DIR]
    (writes DIR/rosenbrock.png and DIR/seed_surface.png)
"""
import argparse
import os

import numpy as np

import minigrad as mg
import minigrad.nn.functional as F
from minigrad import nn, optim

parser = argparse.ArgumentParser()
parser.add_argument("--out", default=".", help="folder for the pictures")
args = parser.parse_args()
small = os.environ.get("MINIGRAD_TUTORIAL_SIZE") == "small"
steps = 300 if small else 3000


def rosenbrock(p):
    x, y = p[0], p[1]
    return (1 - x) ** 2 + 100 * (y - x ** 2) ** 2


def run(make_optimizer, loss_fn, start, steps):
    """The trajectory (steps + 1, 2) and the final optimizer."""
    p = mg.tensor(start, dtype=mg.float64, requires_grad=True)
    opt = make_optimizer([p])
    path = [p.numpy().copy()]
    for _ in range(steps):
        opt.zero_grad()
        loss_fn(p).backward()
        opt.step()
        path.append(p.numpy().copy())
    return np.array(path), opt


contenders = {
    "SGD lr=1e-3": lambda ps: optim.SGD(ps, lr=1e-3),
    "SGD momentum=0.9 lr=2e-4": lambda ps: optim.SGD(ps, lr=2e-4, momentum=0.9),
    "Adagrad lr=0.5": lambda ps: optim.Adagrad(ps, lr=0.5),
    "RMSprop lr=1e-2": lambda ps: optim.RMSprop(ps, lr=1e-2),
    "Adam lr=0.05": lambda ps: optim.Adam(ps, lr=0.05),
}
start = [-1.2, 1.0]
f0 = rosenbrock(mg.tensor(start, dtype=mg.float64)).item()
print(f"Rosenbrock from {start} (f = {f0:.2f}), {steps} steps each:")
paths = {}
for name, make in contenders.items():
    path, opt = run(make, rosenbrock, start, steps)
    paths[name] = path
    f = rosenbrock(mg.tensor(path[-1])).item()
    print(f"  {name:26s} ends at ({path[-1][0]:+.4f}, {path[-1][1]:+.4f}), f = {f:.3g}")
    assert f < f0 / 5, f"{name} did not make progress"
    assert np.isfinite(path).all()
    if name.startswith("Adam"):
        adam = opt

# Adam's own account of its next step, checked against the formula by hand
description = adam.describe()
print("\n" + str(description))
values = description.groups[0]["values"]
t = steps + 1
assert np.isclose(values["bias_correction1"][0], 1 - 0.9 ** t)
assert np.isclose(values["bias_correction2"][0], 1 - 0.999 ** t)
assert np.isclose(values["step_size"][0], 0.05 / (1 - 0.9 ** t))

# ---- the seed network's loss surface over (s, b) -------------------------------------------
mg.manual_seed(0)
n = 32 if small else 100
x1, x2, noise = mg.rand(n, 1), mg.rand(n, 1), mg.rand(n, 1)
y = (2 * x1 + 3 * x2 + noise).double()
x = mg.cat((x1, x2), dim=1).double()
layer1, layer2 = nn.Linear(2, 10).double(), nn.Linear(10, 1).double()
with mg.no_grad():
    z = layer1(x).relu() @ layer2.weight.T  # the frozen feature, (n, 1)
    z = z / (z ** 2).mean().sqrt()          # scaled to unit RMS, so s and b are comparable


def seed_loss(p):
    s, b = p[0], p[1]
    return F.mse_loss(s * z + b, y)


seed_steps = 60 if small else 200
seed_start = [-2.0, -1.0]
seed_contenders = {
    "SGD lr=0.1": lambda ps: optim.SGD(ps, lr=0.1),
    "SGD momentum=0.9 lr=0.02": lambda ps: optim.SGD(ps, lr=0.02, momentum=0.9),
    "RMSprop lr=0.05": lambda ps: optim.RMSprop(ps, lr=0.05),
    "Adam lr=0.1": lambda ps: optim.Adam(ps, lr=0.1),
}
# The minimum of this bowl in closed form (least squares of y on [z, 1]), for reference
design = np.hstack([z.numpy(), np.ones((n, 1))])
best = np.linalg.lstsq(design, y.numpy(), rcond=None)[0].ravel()
best_loss = seed_loss(mg.tensor(best)).item()
start_loss = seed_loss(mg.tensor(seed_start, dtype=mg.float64)).item()
print(f"\nseed network, loss over (s, b): start {start_loss:.3f}, minimum {best_loss:.4f} at "
      f"s = {best[0]:.3f}, b = {best[1]:.3f}; {seed_steps} steps each:")
seed_paths = {}
for name, make in seed_contenders.items():
    path, _ = run(make, seed_loss, seed_start, seed_steps)
    seed_paths[name] = path
    final = seed_loss(mg.tensor(path[-1])).item()
    print(f"  {name:26s} loss {final:.4f}")
    assert final < start_loss and final >= best_loss - 1e-9

# ---- pictures -------------------------------------------------------------------------------
try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:
    plt = None
if plt is not None:
    def contour(ax, fn, xs, ys, levels):
        X, Y = np.meshgrid(xs, ys)
        Z = np.array([[fn(mg.tensor([a, b], dtype=mg.float64)).item() for a in xs]
                      for b in ys])
        ax.contour(X, Y, Z, levels=levels, colors="0.75", linewidths=0.7)

    fig, ax = plt.subplots(figsize=(7, 5.5))
    grid = 60 if small else 160
    contour(ax, rosenbrock, np.linspace(-1.6, 1.6, grid), np.linspace(-0.6, 2.0, grid),
            np.logspace(-1, 3, 14))
    for name, path in paths.items():
        ax.plot(path[:, 0], path[:, 1], lw=1.3, label=name)
    ax.plot(*start, "ko")
    ax.plot(1, 1, "r*", ms=14, label="minimum (1, 1)")
    ax.set(title=f"Rosenbrock: {steps} steps from (-1.2, 1)", xlabel="x", ylabel="y")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(os.path.join(args.out, "rosenbrock.png"), dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(7, 5.5))
    span = 1.2 * np.abs(np.array(seed_start) - best).max()
    contour(ax, seed_loss, np.linspace(best[0] - span, best[0] + span, grid // 2),
            np.linspace(best[1] - span, best[1] + span, grid // 2),
            best_loss + np.logspace(-2, 2, 16))
    for name, path in seed_paths.items():
        ax.plot(path[:, 0], path[:, 1], ".-", ms=2.5, lw=1.1, label=name)
    ax.plot(*best, "r*", ms=14, label="least-squares minimum")
    ax.set(title="seed network, layer 1 frozen: loss over (scale s, bias b)",
           xlabel="s", ylabel="b")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(os.path.join(args.out, "seed_surface.png"), dpi=110)
    plt.close(fig)
    print(f"\npictures: {os.path.join(args.out, 'rosenbrock.png')}, "
          f"{os.path.join(args.out, 'seed_surface.png')}")

print("\nall checks passed")
