"""The optimizer zoo on three problems, then learning-rate schedules: tables and one figure.
=========================================================================================

The seeds all list optimizers: 000 section 3.2.2 (momentum, RMSprop, Adam), 002 section 3.2
(gradient descent, SGD, momentum, Nesterov, "adaptive gradient"), 003 sections 3.3-3.5 (GD,
SGD, a decaying learning rate) and 004 section 2.2 (GD, momentum, RMSProp, Adam). This program
runs every optimizer minigrad has (PyTorch's names and update rules, ``minigrad.optim``) on the
same three problems, each from one fixed starting point and with one fixed sequence of
mini-batches shared by all:

1. the regression network of seed 000 section 4 (x1, x2 ~ U(0, 1), y = 2 x1 + 3 x2 + U(0, 1),
   Linear(2, 10) -> ReLU -> Linear(10, 1), MSE; noise floor 1/12), mini-batches of 10 of the
   100 samples; the loss reported is the MSE on all 100 after each update;
2. the Rosenbrock function f(x, y) = (1 - x)^2 + 100 (y - x^2)^2 from (-1.2, 1): a long curved
   valley, minimum f = 0 at (1, 1). Its gradient is exact, except for the "SGD" row, which adds
   Gaussian noise (sigma 2) as a stand-in for a mini-batch gradient;
3. the digits MLP of seed 004 (scikit-learn's 8x8 ``load_digits``: Linear(64, 32) -> ReLU ->
   Linear(32, 10), cross-entropy), mini-batches of 64 of the 1347 training images; the loss
   reported is the cross-entropy on all of them, plus the accuracy on the 450 held out.

A "step" is one call of ``optimizer.step()``. GD, Rprop (sign-based, meant for full batches)
and L-BFGS take full-batch steps (L-BFGS: two iterations with a strong-Wolfe line search per
step, which may evaluate the loss several times). Muon
orthogonalises the updates of weight matrices only, so it applies to the two networks (with
AdamW for the biases, the usual recipe) and not to Rosenbrock's 2-vector.

Update rules, with g the gradient and lr the learning rate (all as in PyTorch)::

    GD / SGD    p <- p - lr g
    momentum    b <- mu b + g;               p <- p - lr b
    Nesterov    b <- mu b + g;               p <- p - lr (g + mu b)
    Adagrad     s <- s + g^2;                p <- p - lr g / (sqrt(s) + eps)
    RMSprop     v <- a v + (1 - a) g^2;      p <- p - lr g / (sqrt(v) + eps)
    Adadelta    v <- r v + (1 - r) g^2;  d = sqrt(u + eps) / sqrt(v + eps) g;
                u <- r u + (1 - r) d^2;      p <- p - lr d
    Adam        m <- b1 m + (1 - b1) g;  v <- b2 v + (1 - b2) g^2
                p <- p - lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
    AdamW       p <- p (1 - lr wd), then the Adam step (decay decoupled from the gradient)
    Adamax      Adam with v replaced by u <- max(b2 u, |g| + eps)
    NAdam       Adam with a Nesterov look-ahead on m and a momentum-decay schedule
    RAdam       Adam whose adaptive step is switched on only once the variance of v's
                estimate is finite (rectification), plain momentum SGD before
    ASGD        SGD that also keeps a running average of the iterates (reported: the iterate)
    Rprop       per-weight steps grown by 1.2 / shrunk by 0.5 as sign(g) keeps / flips
    L-BFGS      quasi-Newton direction from the last updates, strong-Wolfe line search
    Adafactor   Adam-like second moments factored into row and column averages
    Muon        momentum, then the update matrix replaced by its nearest orthogonal matrix

Seed formulas fixed here (minigrad's optimizers do the right thing):

- 002 section 3.2 writes momentum (and "NAG") as v_t = beta v_{t-1} - alpha grad,
  theta_{t+1} = theta_t - v_t: with v already holding -alpha grad, subtracting it climbs the
  loss. One of the two signs must go (above: b accumulates +g and p moves by -lr b).
- 002's "NAG" evaluates the gradient at the previous point, which is plain momentum; Nesterov's
  look-ahead is the extra mu b in the step above (Sutskever et al.'s form, as in PyTorch).
- 002's "adaptive gradient" squares the momentum m_t instead of the gradient g_t and has no
  bias correction; Adam squares g_t and divides by (1 - beta^t).
- 004 section 2.2 puts RMSProp's eps inside the square root, sqrt(E[g^2] + eps); PyTorch (and
  minigrad) add it outside, sqrt(v) + eps. Its momentum keeps lr inside the buffer
  (v <- gamma v + eta g), which equals PyTorch's form only while lr is constant: under a
  schedule the old velocity would keep the old lr. PyTorch's buffer holds gradients only.
- 003 section 3.5 calls multiplying the learning rate by a constant every step "adjusting it
  from gradient information"; it uses no gradient information: it is ExponentialLR (the
  "exponential" row of the schedules table), and the lr shrinks to 0 however training goes.
  ReduceLROnPlateau is the schedule that does look at the loss.

Learning rates are each optimizer's usual ones, picked once per problem (not tuned per run);
they are printed under the table. Saves optimizer_comparison.png when matplotlib is installed.

Run::

    python examples/optimizer_comparison.py       (MINIGRAD_EXAMPLE_QUICK=1: fewer steps)
"""
import math
import os

import numpy as np

import minigrad as mg
import minigrad.nn.functional as F
from minigrad import nn, optim
from minigrad.optim import lr_scheduler

QUICK = os.environ.get("MINIGRAD_EXAMPLE_QUICK", "") not in ("", "0")
STEPS = {"regression": 150, "rosenbrock": 300, "digits": 80} if QUICK else \
    {"regression": 1000, "rosenbrock": 2000, "digits": 600}
TARGETS = {"regression": 0.09, "rosenbrock": 1e-3, "digits": 0.1}
ROSENBROCK_NOISE = 2.0

# name: {problem: keyword arguments}; a problem left out means "does not apply".
# (constructor, whether it takes full-batch steps)
OPTIMIZERS = {
    "GD": (optim.SGD, True),
    "SGD": (optim.SGD, False),
    "momentum": (optim.SGD, False),
    "Nesterov": (optim.SGD, False),
    "Adagrad": (optim.Adagrad, False),
    "RMSprop": (optim.RMSprop, False),
    "Adadelta": (optim.Adadelta, False),
    "Adam": (optim.Adam, False),
    "AdamW": (optim.AdamW, False),
    "Adamax": (optim.Adamax, False),
    "NAdam": (optim.NAdam, False),
    "RAdam": (optim.RAdam, False),
    "ASGD": (optim.ASGD, False),
    "Rprop": (optim.Rprop, True),   # sign-based: meant for full batches
    "LBFGS": (optim.LBFGS, True),
    "Adafactor": (optim.Adafactor, False),
    "Muon": (optim.Muon, False),
}
# Two L-BFGS iterations per step: with max_iter=1 and the strong-Wolfe search, PyTorch's L-BFGS
# stops moving after its first step() (minigrad's, which follows it exactly, does the same).
LBFGS = {"lr": 1, "max_iter": 2, "history_size": 10, "line_search_fn": "strong_wolfe"}
SETTINGS = {
    "regression": {
        "GD": {"lr": 0.1}, "SGD": {"lr": 0.1}, "momentum": {"lr": 0.01, "momentum": 0.9},
        "Nesterov": {"lr": 0.01, "momentum": 0.9, "nesterov": True}, "Adagrad": {"lr": 0.1},
        "RMSprop": {"lr": 0.01}, "Adadelta": {"lr": 1.0}, "Adam": {"lr": 0.01},
        "AdamW": {"lr": 0.01, "weight_decay": 0.01}, "Adamax": {"lr": 0.02},
        "NAdam": {"lr": 0.01}, "RAdam": {"lr": 0.01}, "ASGD": {"lr": 0.1},
        "Rprop": {"lr": 0.01}, "LBFGS": LBFGS, "Adafactor": {"lr": 0.01},
        "Muon": {"lr": 0.02},
    },
    "rosenbrock": {
        "GD": {"lr": 1e-3}, "SGD": {"lr": 1e-3}, "momentum": {"lr": 1e-3, "momentum": 0.9},
        "Nesterov": {"lr": 1e-3, "momentum": 0.9, "nesterov": True}, "Adagrad": {"lr": 0.5},
        "RMSprop": {"lr": 3e-3}, "Adadelta": {"lr": 1.0}, "Adam": {"lr": 0.1},
        "AdamW": {"lr": 0.1, "weight_decay": 0.01}, "Adamax": {"lr": 0.1},
        "NAdam": {"lr": 0.05}, "RAdam": {"lr": 1e-3}, "ASGD": {"lr": 1e-3},
        "Rprop": {"lr": 0.01}, "LBFGS": LBFGS, "Adafactor": {"lr": 0.05},
    },
    "digits": {
        "GD": {"lr": 0.5}, "SGD": {"lr": 0.1}, "momentum": {"lr": 0.05, "momentum": 0.9},
        "Nesterov": {"lr": 0.05, "momentum": 0.9, "nesterov": True}, "Adagrad": {"lr": 0.05},
        "RMSprop": {"lr": 0.003}, "Adadelta": {"lr": 1.0}, "Adam": {"lr": 0.005},
        "AdamW": {"lr": 0.005, "weight_decay": 0.01}, "Adamax": {"lr": 0.01},
        "NAdam": {"lr": 0.005}, "RAdam": {"lr": 0.005}, "ASGD": {"lr": 0.1},
        "Rprop": {"lr": 0.01}, "LBFGS": LBFGS, "Adafactor": {"lr": 0.01},
        "Muon": {"lr": 0.02},
    },
}
PROBLEMS = ["regression", "rosenbrock", "digits"]
FAMILIES = {   # the rows of the figure
    "SGD family": ["GD", "SGD", "momentum", "Nesterov", "ASGD"],
    "Adam family": ["Adam", "AdamW", "Adamax", "NAdam", "RAdam", "Adafactor"],
    "per-weight, L-BFGS, Muon": ["Adagrad", "RMSprop", "Adadelta", "Rprop", "LBFGS", "Muon"],
}

# Schedules, on SGD with momentum (where the schedule matters most), stepped every update.
SCHEDULES = ["constant", "StepLR", "exponential", "cosine", "warmup+cosine", "OneCycleLR",
             "plateau"]


def make_schedule(name, optimizer, steps):
    if name == "constant":
        return None
    if name == "StepLR":
        return lr_scheduler.StepLR(optimizer, step_size=max(steps // 3, 1), gamma=0.3)
    if name == "exponential":   # seed 003's "alpha = alpha * learningRateDecay"
        return lr_scheduler.ExponentialLR(optimizer, gamma=0.01 ** (1 / steps))
    if name == "cosine":
        return lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps)
    if name == "warmup+cosine":
        warmup = max(steps // 10, 1)
        return lr_scheduler.SequentialLR(optimizer, [
            lr_scheduler.LinearLR(optimizer, start_factor=0.1, total_iters=warmup),
            lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps - warmup)],
            milestones=[warmup])
    if name == "OneCycleLR":
        return lr_scheduler.OneCycleLR(optimizer, max_lr=optimizer.param_groups[0]["lr"] * 2,
                                       total_steps=steps)
    if name == "plateau":       # looks at the loss: lr / 3 after 20 updates without progress
        return lr_scheduler.ReduceLROnPlateau(optimizer, factor=1 / 3, patience=20)
    raise ValueError(name)


def steps_to(losses, target):
    """The first step (1-based) whose loss is <= target, or None."""
    hits = np.flatnonzero(np.asarray(losses) <= target)
    return int(hits[0]) + 1 if hits.size else None


# ============================================================================================
# The three problems: each gives fresh parameters from one fixed start, a loss on step k's
# batch (or the full batch) and the full loss that is reported.
# ============================================================================================
def fixed_batches(rng, n, size, steps):
    """One sequence of mini-batch index arrays (reshuffled every epoch), shared by all."""
    batches = []
    while len(batches) < steps:
        order = rng.permutation(n)
        batches.extend(order[start:start + size] for start in range(0, n - size + 1, size))
    return batches


class Regression:
    name = "regression"

    def __init__(self):
        mg.manual_seed(0)
        n = 100
        x1, x2 = mg.rand(n, 1), mg.rand(n, 1)
        self.y = 2 * x1 + 3 * x2 + mg.rand(n, 1)
        self.x = mg.cat((x1, x2), dim=1)
        self.model = nn.Sequential(nn.Linear(2, 10), nn.ReLU(), nn.Linear(10, 1))
        self.start = {k: v.clone() for k, v in self.model.state_dict().items()}
        self.batches = fixed_batches(np.random.default_rng(1), n, 10, STEPS[self.name])

    def parameters(self):
        self.model.load_state_dict(self.start)
        return list(self.model.parameters())

    def batch_loss(self, step, full_batch):
        if full_batch:
            return F.mse_loss(self.model(self.x), self.y)
        rows = self.batches[step]
        return F.mse_loss(self.model(self.x[rows]), self.y[rows])

    def full_loss(self):
        with mg.no_grad():
            return F.mse_loss(self.model(self.x), self.y).item()


class Rosenbrock:
    name = "rosenbrock"

    def parameters(self):
        self.point = mg.tensor([-1.2, 1.0], dtype=mg.float64, requires_grad=True)
        self.noise = np.random.default_rng(2)
        return [self.point]

    @staticmethod
    def f(p):
        """f(x, y) = (1 - x)^2 + 100 (y - x^2)^2 on a Tensor p = (x, y)."""
        return (1 - p[0]) ** 2 + 100 * (p[1] - p[0] ** 2) ** 2

    def batch_loss(self, step, full_batch):
        return self.f(self.point)

    def full_loss(self):
        with mg.no_grad():
            return self.f(self.point).item()


class Digits:
    name = "digits"

    def __init__(self):
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split
        digits = load_digits()
        x = (digits.data / 16.0).astype(np.float32)
        x_train, x_test, y_train, y_test = train_test_split(
            x, digits.target.astype(np.int64), test_size=0.25, random_state=0,
            stratify=digits.target)
        self.x, self.y = mg.tensor(x_train), mg.tensor(y_train)
        self.x_test, self.y_test = mg.tensor(x_test), mg.tensor(y_test)
        mg.manual_seed(0)
        self.model = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
        self.start = {k: v.clone() for k, v in self.model.state_dict().items()}
        self.batches = fixed_batches(np.random.default_rng(3), len(x_train), 64,
                                     STEPS[self.name])

    def parameters(self):
        self.model.load_state_dict(self.start)
        return list(self.model.parameters())

    def batch_loss(self, step, full_batch):
        if full_batch:
            return F.cross_entropy(self.model(self.x), self.y)
        rows = self.batches[step]
        return F.cross_entropy(self.model(self.x[rows]), self.y[rows])

    def full_loss(self):
        with mg.no_grad():
            return F.cross_entropy(self.model(self.x), self.y).item()

    def test_accuracy(self):
        with mg.no_grad():
            predicted = self.model(self.x_test).argmax(1)
        return float((predicted == self.y_test).float().mean().item())


def make_optimizers(name, params, kwargs):
    """The optimizer(s) of one run: Muon takes the weight matrices, AdamW the rest."""
    cls, _ = OPTIMIZERS[name]
    if name != "Muon":
        return [cls(params, **kwargs)]
    matrices = [p for p in params if p.ndim == 2]
    others = [p for p in params if p.ndim != 2]
    return [optim.Muon(matrices, **kwargs), optim.AdamW(others, lr=0.01)]


def train(problem, name, kwargs, schedule=None):
    """Run one optimizer (and schedule) for STEPS[problem] updates; the full loss after each."""
    _, full_batch = OPTIMIZERS[name]
    optimizers = make_optimizers(name, problem.parameters(), kwargs)
    steps = STEPS[problem.name]
    scheduler = make_schedule(schedule, optimizers[0], steps) if schedule else None
    noisy = problem.name == "rosenbrock" and name == "SGD"
    losses = []
    for step in range(steps):
        def closure(step=step):
            for optimizer in optimizers:
                optimizer.zero_grad()
            loss = problem.batch_loss(step, full_batch)
            loss.backward()
            if noisy:  # a stochastic gradient: the true one plus zero-mean noise
                point = problem.point
                noise = problem.noise.normal(0, ROSENBROCK_NOISE, 2)
                point.grad = point.grad + mg.tensor(noise)
            return loss

        if name == "LBFGS":
            optimizers[0].step(closure)
        else:
            closure()
            for optimizer in optimizers:
                optimizer.step()
        losses.append(problem.full_loss())
        if not math.isfinite(losses[-1]):
            break
        if isinstance(scheduler, lr_scheduler.ReduceLROnPlateau):
            scheduler.step(losses[-1])
        elif scheduler is not None:
            scheduler.step()
    return losses


def main():
    problems = [Regression(), Rosenbrock()]
    try:
        problems.append(Digits())
    except ImportError:
        print("scikit-learn is not installed: skipping the digits problem "
              "(pip install scikit-learn)")
    initial = {p.name: (p.parameters(), p.full_loss())[1] for p in problems}

    runs, accuracy = {}, {}
    for problem in problems:
        for name in OPTIMIZERS:
            if name in SETTINGS[problem.name]:
                runs[problem.name, name] = train(problem, name, SETTINGS[problem.name][name])
                if problem.name == "digits":
                    accuracy[name] = problem.test_accuracy()
    schedule_runs = {}
    for problem in problems:
        for schedule in SCHEDULES:
            schedule_runs[problem.name, schedule] = train(
                problem, "momentum", SETTINGS[problem.name]["momentum"],
                None if schedule == "constant" else schedule)

    print_tables(problems, initial, runs, accuracy, schedule_runs)
    plot(problems, initial, runs, schedule_runs)


def cell(losses, target):
    if losses is None:
        return f"{'n/a':>9s} {'':>5s}"
    steps = steps_to(losses, target)
    return f"{losses[-1]:9.2e} {'-' if steps is None else steps:>5}"


def print_tables(problems, initial, runs, accuracy, schedule_runs):
    names = [p.name for p in problems]
    print("Final loss after each problem's updates, and the first step reaching its target "
          "('-': never).")
    print("  " + "; ".join(f"{n}: {STEPS[n]} steps, start {initial[n]:.3g}, target "
                           f"{TARGETS[n]}" for n in names)
          + (f"; regression noise floor 1/12 = {1 / 12:.4f}" if "regression" in names else ""))
    header = f"{'optimizer':10s} |" + "|".join(f" {n:>15s} " for n in names)
    if "digits" in names:
        header += "| test acc"
    print(header)
    print("-" * len(header))
    for name in OPTIMIZERS:
        row = f"{name:10s} |" + "|".join(f" {cell(runs.get((n, name)), TARGETS[n])} "
                                         for n in names)
        if "digits" in names:
            row += f"| {accuracy[name]:8.3f}" if name in accuracy else "|      n/a"
        print(row)
    print()
    print("Settings (regression / Rosenbrock / digits):")
    for name in OPTIMIZERS:
        parts = []
        for n in names:
            kwargs = SETTINGS[n].get(name)
            parts.append("n/a" if kwargs is None else ", ".join(
                f"{k}={v}" for k, v in kwargs.items()))
        print(f"  {name:10s} " + " / ".join(parts))
    print()
    print("Learning-rate schedules on SGD with momentum (settings above), stepped every update:")
    header = f"{'schedule':14s} |" + "|".join(f" {n:>15s} " for n in names)
    print(header)
    print("-" * len(header))
    for schedule in SCHEDULES:
        print(f"{schedule:14s} |" + "|".join(
            f" {cell(schedule_runs[n, schedule], TARGETS[n])} " for n in names))


def plot(problems, initial, runs, schedule_runs):
    try:
        from matplotlib.figure import Figure
    except ImportError:
        print("matplotlib is not installed: skipping the plot (pip install matplotlib)")
        return
    # Small multiples: one row per family of optimizers (six curves at most per panel, so
    # each can be told apart), a last row for the schedules; one column per problem.
    rows = list(FAMILIES.items()) + [("momentum SGD schedules", SCHEDULES)]
    fig = Figure(figsize=(5.5 * len(problems) + 2.5, 3.6 * len(rows)), layout="constrained")
    axes = fig.subplots(len(rows), len(problems), squeeze=False)
    titles = {"regression": "regression 2-10-1, MSE (dotted: noise floor 1/12)",
              "rosenbrock": "Rosenbrock f(x, y) from (-1.2, 1)",
              "digits": "digits MLP 64-32-10, cross-entropy"}
    for r, (family, names) in enumerate(rows):
        for column, problem in enumerate(problems):
            ax = axes[r, column]
            for i, name in enumerate(names):
                if r < len(FAMILIES):
                    losses = runs.get((problem.name, name))
                else:
                    losses = schedule_runs[problem.name, name]
                if losses is not None:
                    ax.plot(np.arange(len(losses) + 1), [initial[problem.name]] + losses,
                            label=name, color=f"C{i}", linewidth=1.0)
            if problem.name == "regression":
                ax.axhline(1 / 12, color="k", linestyle=":", linewidth=0.8)
            ax.set(yscale="log", xlabel="step" if r == len(rows) - 1 else None,
                   ylabel=f"{family}\nloss (whole training set)" if column == 0 else None)
            if r == 0:
                ax.set_title(titles[problem.name])
            ax.grid(True, which="major", alpha=0.3)
        # The row's legend, outside the axes, to the right of its last panel.
        axes[r, -1].legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=9,
                           title=family)
    fig.savefig("optimizer_comparison.png", dpi=90)
    print("saved optimizer_comparison.png")


if __name__ == "__main__":
    main()
