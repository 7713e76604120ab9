"""Per-op cost: one differentiable op (forward + graph recording) and its backward.

For tensors of 1, 100, 10^4 and 10^6 elements, minigrad (Cython kernels) vs PyTorch eager vs
plain numpy (the same arithmetic with no graph), all measured in this one run. Medians of
several repeats; the machine is noisy, so read the ratios, not the absolute figures.

    python bench/ops.py            # full table
    python bench/ops.py --quick    # fewer repeats
"""
import argparse
import statistics
import sys
import time

import numpy as np

import minigrad as mg

try:
    import torch
except ImportError:  # the table still prints minigrad vs numpy
    torch = None


def median_time(fn, target_seconds):
    """Median seconds per call of ``fn`` over 7 repeats of an auto-sized loop."""
    fn()
    number = 1
    while True:
        start = time.perf_counter()
        for _ in range(number):
            fn()
        elapsed = time.perf_counter() - start
        if elapsed > target_seconds / 7 or number > 1e6:
            break
        number *= 4
    samples = []
    for _ in range(7):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        samples.append((time.perf_counter() - start) / number)
    return statistics.median(samples)


# name: (minigrad/torch op on tensors, numpy forward, numpy backward(g, a, b, out))
OPS = {
    "add": (lambda a, b: a + b, lambda a, b: a + b, lambda g, a, b, y: (g, g)),
    "mul": (lambda a, b: a * b, lambda a, b: a * b, lambda g, a, b, y: (g * b, g * a)),
    "exp": (lambda a, b: a.exp(), lambda a, b: np.exp(a), lambda g, a, b, y: g * y),
    "relu": (lambda a, b: a.relu(), lambda a, b: np.maximum(a, 0),
             lambda g, a, b, y: g * (a > 0)),
    "sigmoid": (lambda a, b: a.sigmoid(), lambda a, b: 1 / (1 + np.exp(-a)),
                lambda g, a, b, y: g * y * (1 - y)),
    "sum": (lambda a, b: a.sum(), lambda a, b: a.sum(),
            lambda g, a, b, y: np.broadcast_to(g, a.shape).copy()),
}
SIZES = (1, 100, 10**4, 10**6)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter timing loops")
    args = parser.parse_args()
    budget = 0.05 if args.quick else 0.3
    if torch is not None:
        torch.set_num_threads(2)

    print(f"minigrad {mg.__version__} (kernels: {mg._kernels.backend_name}), numpy "
          f"{np.__version__}, torch {torch.__version__ if torch else 'not installed'}")
    print("times in microseconds, median; ratio = minigrad / torch (below 1: minigrad faster)")
    header = (f"{'op':8} {'n':>8} | {'fwd mg':>9} {'fwd torch':>9} {'fwd np':>9} {'mg/torch':>8} |"
              f" {'bwd mg':>9} {'bwd torch':>9} {'bwd np':>9} {'mg/torch':>8}")
    print(header)
    print("-" * len(header))
    rng = np.random.default_rng(0)
    for name, (op, np_forward, np_backward) in OPS.items():
        for n in SIZES:
            a_np = rng.standard_normal(n).astype(np.float32)
            b_np = rng.standard_normal(n).astype(np.float32)
            a = mg.tensor(a_np, requires_grad=True)
            b = mg.tensor(b_np, requires_grad=True)
            # The lambdas are timed right here, inside this iteration (B023 does not apply).
            fwd_mg = median_time(lambda: op(a, b), budget)  # noqa: B023
            y = op(a, b)
            g = mg.ones_like(y)
            bwd_mg = median_time(lambda: y.backward(g), budget)  # noqa: B023

            y_np = np_forward(a_np, b_np)
            g_np = np.ones_like(y_np)
            fwd_np = median_time(lambda: np_forward(a_np, b_np), budget)  # noqa: B023
            bwd_np = median_time(lambda: np_backward(g_np, a_np, b_np, y_np),  # noqa: B023
                                 budget)

            fwd_t = bwd_t = float("nan")
            if torch is not None:
                at = torch.tensor(a_np, requires_grad=True)
                bt = torch.tensor(b_np, requires_grad=True)
                fwd_t = median_time(lambda: op(at, bt), budget)  # noqa: B023
                yt = op(at, bt)
                gt = torch.ones_like(yt)
                bwd_t = median_time(lambda: yt.backward(gt, retain_graph=True),  # noqa: B023
                                    budget)
            us = 1e6
            print(f"{name:8} {n:>8} | {fwd_mg * us:9.2f} {fwd_t * us:9.2f} {fwd_np * us:9.2f} "
                  f"{fwd_mg / fwd_t:8.2f} | {bwd_mg * us:9.2f} {bwd_t * us:9.2f} "
                  f"{bwd_np * us:9.2f} {bwd_mg / bwd_t:8.2f}")
            sys.stdout.flush()


if __name__ == "__main__":
    main()
