"""Time of one optimizer.step(), minigrad vs torch.optim, float32.

Two models, gradients fixed (set once, so only the update is timed):
  (a) the seed network 2-10-1: four parameters of shapes (10, 2), (10,), (1, 10), (1,);
  (b) a 784-256-10 MLP: (256, 784), (256,), (10, 256), (10,), about 203k numbers.
Each entry is the median over many steps, in microseconds. minigrad runs on its compiled
kernels (and, for reference, on the plain-numpy twins); torch.optim runs its default
single-tensor path (foreach=False), then foreach=True and fused=True where CPU supports them.
Ratios are torch time / minigrad time from the same run (> 1: minigrad is faster).

    python bench/optim.py [--steps-small 3000] [--steps-large 300]
"""
import argparse
import statistics
import time

import numpy as np

import minigrad as mg
from minigrad import _kernels

SMALL = [(10, 2), (10,), (1, 10), (1,)]
LARGE = [(256, 784), (256,), (10, 256), (10,)]

OPTIMIZERS = [
    ("SGD", {"lr": 0.01}),
    ("SGD momentum", {"lr": 0.01, "momentum": 0.9}),
    ("Adagrad", {"lr": 0.01}),
    ("RMSprop", {"lr": 0.001}),
    ("Adam", {"lr": 0.001}),
    ("AdamW", {"lr": 0.001}),
]


def median_step_us(step, steps):
    for _ in range(min(50, steps)):  # warm up (and create the lazy state)
        step()
    samples = []
    clock = time.perf_counter_ns
    for _ in range(steps):
        start = clock()
        step()
        samples.append(clock() - start)
    return statistics.median(samples) / 1e3


def minigrad_step(name, kwargs, shapes, backend):
    rng = np.random.default_rng(0)
    params = []
    for shape in shapes:
        p = mg.tensor(rng.standard_normal(shape).astype(np.float32), requires_grad=True)
        p.grad = mg.tensor(rng.standard_normal(shape).astype(np.float32) * 1e-3)
        params.append(p)
    opt = getattr(mg.optim, name.split()[0])(params, **kwargs)
    _kernels.use(backend)
    return opt.step


def torch_step(torch, name, kwargs, shapes, variant):
    params = []
    gen = torch.Generator().manual_seed(0)
    for shape in shapes:
        p = torch.randn(shape, generator=gen, requires_grad=True)
        p.grad = torch.randn(shape, generator=gen) * 1e-3
        params.append(p)
    cls = getattr(torch.optim, name.split()[0])
    try:
        opt = cls(params, **kwargs, **variant)
        opt.step()
    except (RuntimeError, TypeError, ValueError):
        return None  # this variant is not supported on CPU for this optimizer
    return opt.step


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps-small", type=int, default=3000)
    parser.add_argument("--steps-large", type=int, default=300)
    args = parser.parse_args()
    try:
        import torch
    except ImportError:
        torch = None

    previous_backend = _kernels.backend_name
    variants = [("default", {"foreach": False}), ("foreach", {"foreach": True}),
                ("fused", {"fused": True})]
    large_size = sum(int(np.prod(s)) for s in LARGE)
    cases = [("(a) seed network 2-10-1, 4 params, 41 numbers", SMALL, args.steps_small),
             (f"(b) MLP 784-256-10, 4 params, {large_size} numbers", LARGE, args.steps_large)]
    for title, shapes, steps in cases:
        print(f"\n{title}: median us per step(), float32"
              + (f", torch threads {torch.get_num_threads()}" if torch else ""))
        header = f"{'optimizer':14} {'minigrad':>9} {'mg numpy':>9}"
        if torch:
            header += "".join(f" {'torch ' + v:>14} {'ratio':>6}" for v, _ in variants)
        print(header)
        for name, kwargs in OPTIMIZERS:
            ours = median_step_us(minigrad_step(name, kwargs, shapes, "cython"), steps)
            twin = median_step_us(minigrad_step(name, kwargs, shapes, "numpy"), steps)
            _kernels.use(previous_backend)
            row = f"{name:14} {ours:9.2f} {twin:9.2f}"
            if torch:
                for _, variant in variants:
                    step = torch_step(torch, name, kwargs, shapes, variant)
                    if step is None:
                        row += f" {'n/a':>14} {'':>6}"
                    else:
                        theirs = median_step_us(step, steps)
                        row += f" {theirs:14.2f} {theirs / ours:6.1f}"
            print(row, flush=True)


if __name__ == "__main__":
    main()
