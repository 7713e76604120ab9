"""Per-activation cost: forward (with graph recording) and backward, minigrad beside PyTorch.

For float32 tensors of 10^2, 10^4 and 10^6 elements, each activation of ``nn.functional``
is timed in minigrad and in PyTorch eager on ONE thread, in this one run, alternating between
the two libraries (the sampling of bench/ops.py), so that a noisy machine slows both alike.
Each figure is the median of 7 samples; ``spread`` is the inter-quartile range of the
minigrad/torch ratio over those samples, as a percentage of the median ratio. GELU, SiLU, ELU,
Softplus, Hardswish, Hardtanh and Hardsigmoid are single ops (minigrad/ops/activation.py);
the others are compositions, listed for comparison.

    python bench/activations.py [--quick] [--names gelu silu] [--sizes 10000]
"""
import argparse
import os
import statistics
import sys

import numpy as np

import minigrad as mg

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ops import _quartile_spread, _timed_samples  # the sampling of bench/ops.py

try:
    import torch
except ImportError:  # pragma: no cover - the comparison needs torch
    torch = None

ACTIVATIONS = {
    "gelu": lambda F, x: F.gelu(x),
    "gelu_tanh": lambda F, x: F.gelu(x, approximate="tanh"),
    "silu": lambda F, x: F.silu(x),
    "elu": lambda F, x: F.elu(x),
    "selu": lambda F, x: F.selu(x),
    "softplus": lambda F, x: F.softplus(x),
    "hardswish": lambda F, x: F.hardswish(x),
    "hardsigmoid": lambda F, x: F.hardsigmoid(x),
    "hardtanh": lambda F, x: F.hardtanh(x),
    "mish": lambda F, x: F.mish(x),
    "logsigmoid": lambda F, x: F.logsigmoid(x),
    "softsign": lambda F, x: F.softsign(x),
    "hardshrink": lambda F, x: F.hardshrink(x),
    "softshrink": lambda F, x: F.softshrink(x),
    "glu": lambda F, x: F.glu(x),
    "relu (reference)": lambda F, x: F.relu(x),
}
SIZES = (100, 10**4, 10**6)


def measure(fn, n, budget, rng):
    a = rng.uniform(-4.0, 4.0, n).astype(np.float32)
    x, xt = mg.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    F, Ft = mg.nn.functional, torch.nn.functional
    fwd = _timed_samples([lambda: fn(F, x), lambda: fn(Ft, xt)], budget)
    y, yt = fn(F, x), fn(Ft, xt)
    g, gt = mg.ones_like(y), torch.ones_like(yt)
    bwd = _timed_samples([lambda: y.backward(g, retain_graph=True),
                          lambda: yt.backward(gt, retain_graph=True)], budget)
    return fwd, bwd


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter timing loops")
    parser.add_argument("--names", nargs="*", default=list(ACTIVATIONS))
    parser.add_argument("--sizes", nargs="*", type=int, default=list(SIZES))
    args = parser.parse_args()
    if torch is None:
        sys.exit("bench/activations.py compares with PyTorch: pip install torch")
    budget = 0.04 if args.quick else 0.2
    torch.set_num_threads(1)
    print(f"minigrad {mg.__version__} (kernels: {mg._kernels.backend_name}), numpy "
          f"{np.__version__}, torch {torch.__version__} (1 thread); float32")
    print("times in microseconds, medians of 7; ratio = minigrad / torch (below 1: minigrad "
          "faster); spread = IQR of the ratio, % of it")
    header = (f"{'activation':16} {'n':>8} | {'fwd mg':>9} {'fwd torch':>9} {'ratio':>6} "
              f"{'spread':>6} | {'bwd mg':>9} {'bwd torch':>9} {'ratio':>6} {'spread':>6} | "
              f"{'fwd+bwd':>7}")
    print(header)
    print("-" * len(header))
    rng = np.random.default_rng(0)
    for name in args.names:
        for n in args.sizes:
            fwd, bwd = measure(ACTIVATIONS[name], n, budget, rng)
            medians = [statistics.median(s) for s in (*fwd, *bwd)]
            f_mg, f_t, b_mg, b_t = medians
            us = 1e6
            print(f"{name:16} {n:>8} | {f_mg * us:9.2f} {f_t * us:9.2f} {f_mg / f_t:6.2f} "
                  f"{_quartile_spread([a / b for a, b in zip(*fwd)]):6.0%} | "
                  f"{b_mg * us:9.2f} {b_t * us:9.2f} {b_mg / b_t:6.2f} "
                  f"{_quartile_spread([a / b for a, b in zip(*bwd)]):6.0%} | "
                  f"{(f_mg + b_mg) / (f_t + b_t):7.2f}")
            sys.stdout.flush()


if __name__ == "__main__":
    main()
