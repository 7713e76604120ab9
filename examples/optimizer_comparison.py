"""Eight optimizers on two problems: loss curves side by side, final losses, steps to a target.

The seeds all list optimizers: 000 section 3.2.2 (momentum, RMSprop, Adam), 002 section 3.2
(gradient descent, SGD, momentum, Nesterov, "adaptive gradient"), 003 sections 3.3-3.5 (GD,
SGD, decaying learning rate) and 004 section 2.2 (GD, momentum, RMSProp, Adam). This program
runs them all on the same two problems, from the same starting point:

1. the regression network of seed 000 section 4 (x1, x2 ~ U(0, 1), y = 2 x1 + 3 x2 + U(0, 1),
   Linear(2, 10) -> ReLU -> Linear(10, 1), MSE; noise floor 1/12). GD takes full-batch steps;
   every other optimizer takes mini-batch steps of 10 samples, the same batches in the same
   order for each. A "step" is one parameter update; the loss plotted is the MSE on all 100
   samples after that update.
2. the Rosenbrock function f(x, y) = (1 - x)^2 + 100 (y - x^2)^2 from (-1.2, 1): a long curved
   valley with its minimum f = 0 at (1, 1). There is no data to sample, so "SGD" here is GD on
   the gradient plus Gaussian noise (sigma = 2), which is what a mini-batch gradient is: the full
   gradient plus zero-mean noise.

The update rules are PyTorch's (``minigrad.optim``), with g the gradient and lr the learning
rate::

    GD / SGD    p <- p - lr g
    momentum    b <- mu b + g;               p <- p - lr b
    Nesterov    b <- mu b + g;               p <- p - lr (g + mu b)
    Adagrad     s <- s + g^2;                p <- p - lr g / (sqrt(s) + eps)
    RMSprop     v <- a v + (1 - a) g^2;      p <- p - lr g / (sqrt(v) + eps)
    Adam        m <- b1 m + (1 - b1) g;  v <- b2 v + (1 - b2) g^2
                p <- p - lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
    AdamW       p <- p (1 - lr wd), then the Adam step (decay decoupled from the gradient)

Seed formulas fixed here:
- 002 section 3.2 writes momentum (and "NAG") as v_t = beta v_{t-1} - alpha grad,
  theta_{t+1} = theta_t - v_t: with v already holding -alpha grad, subtracting it climbs the
  loss. One of the two signs must go (above: b accumulates +g and p moves by -lr b).
- 002's "NAG" evaluates the gradient at the previous point, which is plain momentum; Nesterov's
  look-ahead is the extra mu b in the step above (Sutskever et al.'s form, as in PyTorch).
- 002's "adaptive gradient" squares the momentum m_t instead of the gradient g_t and has no
  bias correction; the Adam above squares g_t and divides by (1 - beta^t).

Learning rates are each optimizer's usual ones, picked once per problem (not tuned per run);
they are printed in the table. Saves optimizer_comparison.png when matplotlib is installed.

Run:  python examples/optimizer_comparison.py
"""
import os

import numpy as np

import minigrad as mg
import minigrad.nn.functional as F
from minigrad import nn, optim

QUICK = os.environ.get("MINIGRAD_EXAMPLE_QUICK", "") not in ("", "0")
REGRESSION_STEPS = 300 if QUICK else 1000
ROSENBROCK_STEPS = 600 if QUICK else 2000
REGRESSION_TARGET = 0.09     # MSE, 8% above the noise floor 1/12
ROSENBROCK_TARGET = 1e-3     # f
NAMES = ["GD", "SGD", "momentum", "Nesterov", "Adagrad", "RMSprop", "Adam", "AdamW"]

# name: (constructor, keyword arguments) per problem
REGRESSION_OPTIMIZERS = {
    "GD": (optim.SGD, {"lr": 0.1}),
    "SGD": (optim.SGD, {"lr": 0.1}),
    "momentum": (optim.SGD, {"lr": 0.01, "momentum": 0.9}),
    "Nesterov": (optim.SGD, {"lr": 0.01, "momentum": 0.9, "nesterov": True}),
    "Adagrad": (optim.Adagrad, {"lr": 0.1}),
    "RMSprop": (optim.RMSprop, {"lr": 0.01}),
    "Adam": (optim.Adam, {"lr": 0.01}),
    "AdamW": (optim.AdamW, {"lr": 0.01, "weight_decay": 0.01}),
}
ROSENBROCK_OPTIMIZERS = {
    "GD": (optim.SGD, {"lr": 1e-3}),
    "SGD": (optim.SGD, {"lr": 1e-3}),
    "momentum": (optim.SGD, {"lr": 1e-3, "momentum": 0.9}),
    "Nesterov": (optim.SGD, {"lr": 1e-3, "momentum": 0.9, "nesterov": True}),
    "Adagrad": (optim.Adagrad, {"lr": 0.5}),
    "RMSprop": (optim.RMSprop, {"lr": 3e-3}),
    "Adam": (optim.Adam, {"lr": 0.1}),
    "AdamW": (optim.AdamW, {"lr": 0.1, "weight_decay": 0.01}),
}
ROSENBROCK_NOISE = 2.0


def describe(kwargs):
    return ", ".join(f"{k}={v}" for k, v in kwargs.items() if k != "nesterov")


def steps_to(losses, target):
    """The first step (1-based) whose loss is <= target, or None."""
    hits = np.flatnonzero(np.asarray(losses) <= target)
    return int(hits[0]) + 1 if hits.size else None


# ============================================================================================
# Problem 1: the regression network
# ============================================================================================
mg.manual_seed(0)
n = 100
x1, x2 = mg.rand(n, 1), mg.rand(n, 1)
y = 2 * x1 + 3 * x2 + mg.rand(n, 1)
x = mg.cat((x1, x2), dim=1)
model = nn.Sequential(nn.Linear(2, 10), nn.ReLU(), nn.Linear(10, 1))
initial_state = {k: v.clone() for k, v in model.state_dict().items()}

# One fixed sequence of mini-batches (reshuffled every epoch), shared by every optimizer.
batch_rng = np.random.default_rng(1)
batches = []
while len(batches) < REGRESSION_STEPS:
    order = batch_rng.permutation(n)
    batches.extend(order[start:start + 10] for start in range(0, n, 10))


def train_regression(name):
    cls, kwargs = REGRESSION_OPTIMIZERS[name]
    model.load_state_dict(initial_state)
    optimizer = cls(model.parameters(), **kwargs)
    losses = []
    for step in range(REGRESSION_STEPS):
        if name == "GD":
            x_batch, y_batch = x, y
        else:
            rows = batches[step]
            x_batch, y_batch = x[rows], y[rows]
        optimizer.zero_grad()
        F.mse_loss(model(x_batch), y_batch).backward()
        optimizer.step()
        with mg.no_grad():
            losses.append(F.mse_loss(model(x), y).item())
    return losses


# ============================================================================================
# Problem 2: the Rosenbrock function
# ============================================================================================
def rosenbrock(p):
    """f(x, y) = (1 - x)^2 + 100 (y - x^2)^2 on a Tensor p = (x, y)."""
    return (1 - p[0]) ** 2 + 100 * (p[1] - p[0] ** 2) ** 2


def train_rosenbrock(name):
    cls, kwargs = ROSENBROCK_OPTIMIZERS[name]
    point = mg.tensor([-1.2, 1.0], dtype=mg.float64, requires_grad=True)
    optimizer = cls([point], **kwargs)
    noise_rng = np.random.default_rng(2)
    losses, path = [], [point.numpy().copy()]
    for _ in range(ROSENBROCK_STEPS):
        optimizer.zero_grad()
        rosenbrock(point).backward()
        if name == "SGD":  # a stochastic gradient: the true one plus zero-mean noise
            point.grad = point.grad + mg.tensor(noise_rng.normal(0, ROSENBROCK_NOISE, 2))
        optimizer.step()
        with mg.no_grad():
            losses.append(rosenbrock(point).item())
        path.append(point.numpy().copy())
    return losses, np.array(path)


regression = {name: train_regression(name) for name in NAMES}
rosenbrock_runs = {name: train_rosenbrock(name) for name in NAMES}


# ============================================================================================
# The table
# ============================================================================================
def fmt_steps(steps):
    return "-" if steps is None else str(steps)


print(f"regression network: {REGRESSION_STEPS} steps, target MSE {REGRESSION_TARGET} "
      f"(noise floor 1/12 = {1 / 12:.4f}); Rosenbrock from (-1.2, 1): {ROSENBROCK_STEPS} "
      f"steps, target f {ROSENBROCK_TARGET}")
print("'-' = target not reached")
header = (f"{'optimizer':10s} | {'regression settings':30s} {'final MSE':>9s} {'steps':>6s} | "
          f"{'Rosenbrock settings':28s} {'final f':>9s} {'steps':>6s}  (x, y)")
print(header)
print("-" * len(header))
for name in NAMES:
    reg_losses = regression[name]
    ros_losses, ros_path = rosenbrock_runs[name]
    ros_settings = describe(ROSENBROCK_OPTIMIZERS[name][1])
    if name == "SGD":
        ros_settings += f", noise={ROSENBROCK_NOISE}"
    print(f"{name:10s} | {describe(REGRESSION_OPTIMIZERS[name][1]):30s} {reg_losses[-1]:9.5f} "
          f"{fmt_steps(steps_to(reg_losses, REGRESSION_TARGET)):>6s} | "
          f"{ros_settings:28s} {ros_losses[-1]:9.2e} "
          f"{fmt_steps(steps_to(ros_losses, ROSENBROCK_TARGET)):>6s}  "
          f"({ros_path[-1][0]:.3f}, {ros_path[-1][1]:.3f})")

# ============================================================================================
# The picture
# ============================================================================================
try:
    from matplotlib.figure import Figure
except ImportError:
    print("matplotlib is not installed: skipping the plot (pip install matplotlib)")
else:
    fig = Figure(figsize=(17, 5), tight_layout=True)
    ax_reg, ax_ros, ax_path = fig.subplots(1, 3)
    colors = {name: f"C{i}" for i, name in enumerate(NAMES)}
    for name in NAMES:
        ax_reg.plot(np.arange(1, REGRESSION_STEPS + 1), regression[name], label=name,
                    color=colors[name], linewidth=1)
        losses, path = rosenbrock_runs[name]
        ax_ros.plot(np.arange(1, ROSENBROCK_STEPS + 1), losses, label=name,
                    color=colors[name], linewidth=1)
        ax_path.plot(path[:, 0], path[:, 1], label=name, color=colors[name], linewidth=1)
    ax_reg.axhline(1 / 12, color="k", linestyle=":", label="noise floor 1/12")
    ax_reg.set(yscale="log", xlabel="step", ylabel="MSE on all 100 samples",
               title="Regression network 2-10-1")
    ax_ros.set(yscale="log", xlabel="step", ylabel="f(x, y)", title="Rosenbrock function")
    grid_x, grid_y = np.meshgrid(np.linspace(-2, 2, 300), np.linspace(-1, 3, 300))
    levels = np.logspace(-1, 3.5, 15)
    ax_path.contour(grid_x, grid_y, (1 - grid_x) ** 2 + 100 * (grid_y - grid_x**2) ** 2,
                    levels=levels, colors="0.75", linewidths=0.7)
    ax_path.plot([1], [1], "k*", markersize=12)
    ax_path.set(xlim=(-2, 2), ylim=(-1, 3), xlabel="x", ylabel="y",
                title="Rosenbrock paths from (-1.2, 1); * = minimum")
    for ax in (ax_reg, ax_ros, ax_path):
        ax.legend(fontsize=8)
        ax.grid(True, alpha=0.3)
    fig.savefig("optimizer_comparison.png", dpi=90)
    print("saved optimizer_comparison.png")
