"""Time of one optimizer.step(), minigrad vs torch.optim, float32, every optimizer.

Two models, gradients fixed (set once, so only the update is timed):
  (a) the seed network 2-10-1: four parameters of shapes (10, 2), (10,), (1, 10), (1,);
  (b) a 784-1024-256-10 MLP: six parameters, 1,068,810 numbers.
Each entry is the median over many steps in microseconds, with the spread as the
interquartile range in percent of the median. minigrad runs its compiled kernels;
torch.optim runs at 1 thread its default single-tensor path (foreach=False), then
foreach=True and fused=True where CPU supports them. "ratio" is the fastest torch variant's
time / minigrad's, from the same run (> 1: minigrad is faster). LBFGS is timed as one
step(closure) with max_iter=1 and a closure that only returns a fixed loss (the gradient
stays the same), i.e. one iteration of its bookkeeping and update. Muon takes matrices only:
it is timed on the 2-D parameters of each model, with 5 steps on model (b) (PyTorch's bfloat16
matrix products take seconds there). numpy's BLAS is limited to 1 thread too (threadpoolctl),
so both libraries run on one core.

    python bench/optim.py [--steps-small 3000] [--steps-large 100] [--only Adam "SGD momentum"]
                          [--large-only]
"""
import argparse
import statistics
import time

import numpy as np

import minigrad as mg
from minigrad import _kernels

SMALL = [(10, 2), (10,), (1, 10), (1,)]
LARGE = [(1024, 784), (1024,), (256, 1024), (256,), (10, 256), (10,)]

OPTIMIZERS = [
    ("SGD", {"lr": 0.01}),
    ("SGD momentum", {"lr": 0.01, "momentum": 0.9}),
    ("Adagrad", {"lr": 0.01}),
    ("RMSprop", {"lr": 0.001}),
    ("Adam", {"lr": 0.001}),
    ("AdamW", {"lr": 0.001}),
    ("NAdam", {"lr": 0.001}),
    ("RAdam", {"lr": 0.001}),
    ("Adamax", {"lr": 0.001}),
    ("Adadelta", {}),
    ("ASGD", {"lr": 0.001}),
    ("Rprop", {"lr": 0.001}),
    ("Adafactor", {"lr": 0.001}),
    ("Muon", {"lr": 0.001}),
    ("LBFGS", {"lr": 0.001, "max_iter": 1}),
]


def timed_step_us(step, steps):
    """(median, interquartile range in % of the median) of one call, in microseconds."""
    for _ in range(min(20, steps)):  # warm up (and create the lazy state)
        step()
    samples = []
    clock = time.perf_counter_ns
    for _ in range(steps):
        start = clock()
        step()
        samples.append(clock() - start)
    q1, median, q3 = statistics.quantiles(samples, n=4)
    return median / 1e3, 100.0 * (q3 - q1) / median


def _stepper(opt, name, loss):
    if name == "LBFGS":
        return lambda: opt.step(lambda: loss)
    return opt.step


def _shapes_for(name, shapes):
    return [s for s in shapes if len(s) == 2] if name == "Muon" else shapes


def minigrad_step(name, kwargs, shapes):
    shapes = _shapes_for(name, shapes)
    rng = np.random.default_rng(0)
    params = []
    for shape in shapes:
        p = mg.tensor(rng.standard_normal(shape).astype(np.float32), requires_grad=True)
        p.grad = mg.tensor(rng.standard_normal(shape).astype(np.float32) * 1e-3)
        params.append(p)
    opt = getattr(mg.optim, name.split()[0])(params, **kwargs)
    return _stepper(opt, name, mg.tensor(1.0))


def torch_step(torch, name, kwargs, shapes, variant):
    shapes = _shapes_for(name, shapes)
    params = []
    gen = torch.Generator().manual_seed(0)
    for shape in shapes:
        p = torch.randn(shape, generator=gen, requires_grad=True)
        p.grad = torch.randn(shape, generator=gen) * 1e-3
        params.append(p)
    cls = getattr(torch.optim, name.split()[0])
    try:
        opt = cls(params, **kwargs, **variant)
        step = _stepper(opt, name, torch.tensor(1.0))
        step()
    except (RuntimeError, TypeError, ValueError):
        return None  # this variant is not supported on CPU for this optimizer
    return step


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps-small", type=int, default=3000)
    parser.add_argument("--steps-large", type=int, default=100)
    parser.add_argument("--only", nargs="*", help="optimizer names to time (default: all)")
    parser.add_argument("--large-only", action="store_true", help="time only model (b)")
    args = parser.parse_args()
    try:
        import torch
        torch.set_num_threads(1)
    except ImportError:
        torch = None
    try:
        from threadpoolctl import threadpool_limits
        threadpool_limits(1)  # numpy's BLAS (LBFGS's dot products, Muon's matrix products)
    except ImportError:
        print("threadpoolctl is not installed: numpy's BLAS may use several threads")

    previous_backend = _kernels.backend_name
    _kernels.use("cython")
    variants = [("default", {"foreach": False}), ("foreach", {"foreach": True}),
                ("fused", {"fused": True})]
    large_size = sum(int(np.prod(s)) for s in LARGE)
    cases = [("(a) seed network 2-10-1, 4 params, 41 numbers", SMALL, args.steps_small),
             (f"(b) MLP 784-1024-256-10, 6 params, {large_size} numbers", LARGE,
              args.steps_large)]
    if args.large_only:
        cases = cases[1:]
    for title, shapes, case_steps in cases:
        print(f"\n{title}: median us per step() (+- IQR %), float32"
              + (f", torch threads {torch.get_num_threads()}" if torch else ""))
        header = f"{'optimizer':13} {'minigrad':>15}"
        if torch:
            header += "".join(f" {'torch ' + v:>15}" for v, _ in variants) + f" {'ratio':>6}"
        print(header)
        for name, kwargs in OPTIMIZERS:
            if args.only and name not in args.only:
                continue
            steps = case_steps
            if name == "Muon" and shapes is LARGE:
                steps = min(steps, 5)
            ours, spread = timed_step_us(minigrad_step(name, kwargs, shapes), steps)
            row = f"{name:13} {ours:9.1f} +-{spread:3.0f}%"
            if torch:
                fastest = None
                for variant_name, variant in variants:
                    if name in ("LBFGS", "Muon") and variant_name != "default":
                        step = None  # neither has foreach or fused
                    else:
                        step = torch_step(torch, name, kwargs, shapes,
                                          variant if name not in ("LBFGS", "Muon") else {})
                    if step is None:
                        row += f" {'n/a':>15}"
                        continue
                    theirs, tspread = timed_step_us(step, steps)
                    fastest = theirs if fastest is None else min(fastest, theirs)
                    row += f" {theirs:9.1f} +-{tspread:3.0f}%"
                row += f" {fastest / ours:6.2f}"
            print(row, flush=True)
    _kernels.use(previous_backend)


if __name__ == "__main__":
    main()
