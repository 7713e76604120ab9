"""Matrix-product timings: minigrad's compiled kernel against numpy's `@` (and PyTorch).

    python bench/matmul.py            # square sizes 2 .. 1024, float32 and float64
    python bench/matmul.py --quick    # fewer repeats
    python bench/matmul.py --linear   # also the fused Linear kernels on a few layer shapes

For each size the implementations are timed in turns (round-robin, so that a change in the
machine's load hits them all alike); each turn runs a batch of calls long enough for the
clock (about 2 ms), and the table gives the median time per call over the turns, in
microseconds, the rate in GFLOP/s (2 n**3 flops per product) and the ratio minigrad/numpy.

The kernel computes small products in a C loop and hands large ones to numpy's BLAS (see
minigrad/_kernels/_matmul.pyx): the ratio should be below 1 for small sizes and about 1
(within noise) above the crossover.
"""
import argparse
import operator
import os
import statistics
import time
from functools import partial

import numpy as np

from minigrad._kernels import compiled_module, reference

matmul_kernel = compiled_module("_matmul").matmul

# PyTorch's OpenMP threads spin for a while after each call; in a round-robin they would then
# fight numpy's OpenBLAS threads for the 2 cores and slow whichever call comes next. Passive
# waiting keeps the turns independent.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
try:
    import torch
except ImportError:  # torch is an optional comparison
    torch = None

try:
    import minigrad as mg

    make_tensor = mg.tensor
except (ImportError, AttributeError):  # the Tensor layer is optional here
    make_tensor = None

SIZES = (2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
BATCH_SECONDS = 2e-3


def calls_per_batch(fn):
    """How many calls of fn make a batch of about BATCH_SECONDS (timeit's autorange idea)."""
    number = 1
    while True:
        start = time.perf_counter()
        for _ in range(number):
            fn()
        elapsed = time.perf_counter() - start
        if elapsed >= BATCH_SECONDS or number >= 1 << 20:
            return max(1, int(number * BATCH_SECONDS / max(elapsed, 1e-9)))
        number *= 4


def time_round_robin(functions, turns):
    """Median seconds per call of each function, timed in turns."""
    numbers = {name: calls_per_batch(fn) for name, fn in functions.items()}
    samples = {name: [] for name in functions}
    for _ in range(turns):
        for name, fn in functions.items():
            number = numbers[name]
            start = time.perf_counter()
            for _ in range(number):
                fn()
            samples[name].append((time.perf_counter() - start) / number)
    return {name: statistics.median(values) for name, values in samples.items()}


def blas_description():
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "threadpoolctl not installed"
    infos = [f"{i.get('internal_api')} {i.get('version')} ({i.get('architecture')}, "
             f"{i.get('num_threads')} threads)"
             for i in threadpool_info() if i.get("user_api") == "blas"]
    return ", ".join(infos) or "unknown"


def matmul_table(turns_small, turns_large):
    header = (f"{'dtype':8} {'n':>5} {'minigrad us':>12} {'numpy us':>10} {'ratio':>6} "
              f"{'mg GF/s':>8} {'np GF/s':>8}")
    if torch is not None:
        header += f" {'torch us':>10} {'th GF/s':>8}"
    if make_tensor is not None:
        header += f" {'Tensor@ us':>11}"
    print(header)
    print("-" * len(header))
    rng = np.random.default_rng(0)
    for dtype in (np.float32, np.float64):
        for n in SIZES:
            a = rng.standard_normal((n, n)).astype(dtype)
            b = rng.standard_normal((n, n)).astype(dtype)
            assert np.allclose(matmul_kernel(a, b), reference.matmul(a, b),
                               rtol=1e-3, atol=1e-3 * n)
            # partial objects: the same small calling cost for every contender
            functions = {"minigrad": partial(matmul_kernel, a, b),
                         "numpy": partial(operator.matmul, a, b)}
            if torch is not None:
                functions["torch"] = partial(torch.matmul, torch.from_numpy(a),
                                             torch.from_numpy(b))
            if make_tensor is not None:
                functions["tensor"] = partial(operator.matmul, make_tensor(a), make_tensor(b))
            turns = turns_small if n <= 128 else turns_large
            t = time_round_robin(functions, turns)
            flops = 2.0 * n ** 3
            row = (f"{np.dtype(dtype).name:8} {n:5d} {t['minigrad'] * 1e6:12.2f} "
                   f"{t['numpy'] * 1e6:10.2f} {t['minigrad'] / t['numpy']:6.2f} "
                   f"{flops / t['minigrad'] / 1e9:8.2f} {flops / t['numpy'] / 1e9:8.2f}")
            if torch is not None:
                row += f" {t['torch'] * 1e6:10.2f} {flops / t['torch'] / 1e9:8.2f}"
            if make_tensor is not None:
                row += f" {t['tensor'] * 1e6:11.2f}"
            print(row, flush=True)


def linear_table(turns):
    """The fused Linear kernels against the reference (numpy) twins, on layer shapes."""
    kernels = compiled_module("_matmul")
    print()
    header = (f"{'dtype':8} {'(N, in, out)':>16} {'fwd mg us':>10} {'fwd np us':>10} "
              f"{'ratio':>6} {'bwd mg us':>10} {'bwd np us':>10} {'ratio':>6}")
    print(header)
    print("-" * len(header))
    rng = np.random.default_rng(0)
    for dtype in (np.float32, np.float64):
        for batch, n_in, n_out in [(100, 2, 10), (100, 10, 10), (100, 10, 1), (64, 32, 32),
                                   (128, 784, 256), (128, 256, 10)]:
            x = rng.standard_normal((batch, n_in)).astype(dtype)
            w = rng.standard_normal((n_out, n_in)).astype(dtype)
            bias = rng.standard_normal(n_out).astype(dtype)
            g = rng.standard_normal((batch, n_out)).astype(dtype)
            t = time_round_robin({
                "fwd mg": partial(kernels.linear_forward, x, w, bias),
                "fwd np": partial(reference.linear_forward, x, w, bias),
                "bwd mg": partial(kernels.linear_backward, g, x, w, True, True, True),
                "bwd np": partial(reference.linear_backward, g, x, w, True, True, True),
            }, turns)
            print(f"{np.dtype(dtype).name:8} {(batch, n_in, n_out)!s:>16} "
                  f"{t['fwd mg'] * 1e6:10.2f} {t['fwd np'] * 1e6:10.2f} "
                  f"{t['fwd mg'] / t['fwd np']:6.2f} {t['bwd mg'] * 1e6:10.2f} "
                  f"{t['bwd np'] * 1e6:10.2f} {t['bwd mg'] / t['bwd np']:6.2f}", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    parser.add_argument("--linear", action="store_true", help="also time the Linear kernels")
    args = parser.parse_args()
    turns_small, turns_large = (7, 3) if args.quick else (25, 7)
    print(f"numpy {np.__version__}, BLAS: {blas_description()}")
    print(f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}, "
          f"torch {torch.__version__ if torch is not None else 'not installed'}, "
          f"torch threads {torch.get_num_threads() if torch is not None else '-'}")
    print("median time per call; ratio = minigrad / numpy (same run)\n")
    matmul_table(turns_small, turns_large)
    if args.linear:
        linear_table(turns_small)


if __name__ == "__main__":
    main()
