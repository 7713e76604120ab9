"""Reductions, scans, sorts, indexing and gather/scatter: minigrad vs PyTorch eager, one thread.

For each op and each input size (10^2 to 10^6 float32 elements, as (n / 100, 100) or
(n,) where the op wants a vector), times one forward and, where the op is differentiable,
forward + backward (``y.backward(ones)``) on both libraries in the same run, alternating, and
prints medians, the spread (interquartile range / median) and the ratio minigrad / torch. The
goal is a ratio below 1.5 everywhere; rows above it are marked ``!``.

    python bench/reduce.py                 # full table
    python bench/reduce.py --quick         # shorter loops
    python bench/reduce.py --only sum,var  # some ops
    python bench/reduce.py --sizes 100,1000000
"""
import argparse
import statistics
import time

import numpy as np

import minigrad as mg

try:
    import torch
except ImportError:  # pragma: no cover
    raise SystemExit("bench/reduce.py compares with PyTorch; install torch") from None

SIZES = (10**2, 10**3, 10**4, 10**5, 10**6)


def shape_of(n, kind):
    if kind == "vector":
        return (n,)
    cols = min(100, n)
    return (n // cols, cols)


def index_rows(L, n, count):
    """A fixed int64 index tensor of ``count`` rows of a (n / 100, 100) input."""
    rows = n // min(100, n)
    return L.tensor(np.random.default_rng(1).integers(0, rows, count))


def gather_index(L, n):
    shape = shape_of(n, "matrix")
    return L.tensor(np.random.default_rng(2).integers(0, shape[1], shape))


def mask_of(L, n):
    return L.tensor(np.random.default_rng(3).random(shape_of(n, "matrix")) > 0.5)


# name: (input kind, differentiable, fn(L, x, n))
OPS = {
    "sum": ("matrix", True, lambda L, x, n: x.sum()),
    "sum(dim=1)": ("matrix", True, lambda L, x, n: x.sum(1)),
    "sum(dim=0)": ("matrix", True, lambda L, x, n: x.sum(0)),
    "mean(dim=1)": ("matrix", True, lambda L, x, n: x.mean(1)),
    "prod(dim=1)": ("matrix", True, lambda L, x, n: (x * 0.01 + 1).prod(1)),
    "var": ("matrix", True, lambda L, x, n: x.var()),
    "var(dim=1)": ("matrix", True, lambda L, x, n: x.var(1)),
    "std(dim=0)": ("matrix", True, lambda L, x, n: x.std(0)),
    "norm": ("matrix", True, lambda L, x, n: x.norm()),
    "norm(p=1,dim=1)": ("matrix", True, lambda L, x, n: L.linalg.vector_norm(x, 1, dim=1)),
    "max": ("matrix", True, lambda L, x, n: x.max()),
    "amax(dim=1)": ("matrix", True, lambda L, x, n: x.amax(1)),
    "max(dim=1)": ("matrix", True, lambda L, x, n: x.max(1).values),
    "min(dim=0)": ("matrix", True, lambda L, x, n: x.min(0).values),
    "argmax(dim=1)": ("matrix", False, lambda L, x, n: x.argmax(1)),
    "logsumexp(dim=1)": ("matrix", True, lambda L, x, n: x.logsumexp(1)),
    "cumsum(dim=1)": ("matrix", True, lambda L, x, n: x.cumsum(1)),
    "cumprod(dim=1)": ("matrix", True, lambda L, x, n: (x * 0.01 + 1).cumprod(1)),
    "cummax(dim=1)": ("matrix", True, lambda L, x, n: x.cummax(1).values),
    "logcumsumexp(dim=1)": ("matrix", True, lambda L, x, n: x.logcumsumexp(1)),
    "sort(dim=1)": ("matrix", True, lambda L, x, n: x.sort(1).values),
    "argsort": ("vector", False, lambda L, x, n: x.argsort()),
    "topk(10,dim=1)": ("matrix", True, lambda L, x, n: x.topk(min(10, x.shape[1]), 1).values),
    "median": ("vector", True, lambda L, x, n: x.median()),
    "median(dim=1)": ("matrix", True, lambda L, x, n: x.median(1).values),
    "kthvalue(dim=1)": ("matrix", True, lambda L, x, n: x.kthvalue(3, 1).values),
    "mode(dim=1)": ("matrix", False, lambda L, x, n: (x > 0).long().mode(1).values),
    "unique": ("vector", False, lambda L, x, n: (x * 10).long().unique()),
    "any(dim=1)": ("matrix", False, lambda L, x, n: (x > 2).any(1)),
    "count_nonzero": ("matrix", False, lambda L, x, n: L.count_nonzero(x > 0)),
    "nansum": ("matrix", True, lambda L, x, n: x.nansum()),
    "x[i]": ("matrix", True, lambda L, x, n: x[1 if x.shape[0] > 1 else 0]),
    "x[idx]": ("matrix", True, lambda L, x, n: x[index_rows(L, n, x.shape[0])]),
    "x[:, idx]": ("matrix", True, lambda L, x, n: x[:, index_rows(L, 100 * x.shape[1],
                                                                     x.shape[1])]),
    "x[rows, cols]": ("matrix", True, lambda L, x, n: x[L.arange(x.shape[0]),
                                                         gather_index(L, n)[:, 0]]),
    "x[mask]": ("matrix", True, lambda L, x, n: x[mask_of(L, n)]),
    "x[idx] = v": ("matrix", True, lambda L, x, n: _setitem(L, x, n)),
    "gather(dim=1)": ("matrix", True, lambda L, x, n: x.gather(1, gather_index(L, n))),
    "scatter(dim=1)": ("matrix", True, lambda L, x, n: x.scatter(1, gather_index(L, n), x)),
    "scatter_add(dim=1)": ("matrix", True,
                           lambda L, x, n: x.scatter_add(1, gather_index(L, n), x)),
    "scatter_reduce(amax)": ("matrix", True, lambda L, x, n: x.scatter_reduce(
        1, gather_index(L, n), x, "amax")),
    "index_select(dim=0)": ("matrix", True,
                            lambda L, x, n: x.index_select(0, index_rows(L, n, x.shape[0]))),
    "index_add(dim=0)": ("matrix", True,
                         lambda L, x, n: x.index_add(0, index_rows(L, n, x.shape[0]), x)),
    "index_copy(dim=0)": ("matrix", True, lambda L, x, n: x.index_copy(
        0, L.tensor(np.random.default_rng(4).permutation(x.shape[0])), x)),
    "index_fill(dim=1)": ("matrix", True,
                          lambda L, x, n: x.index_fill(1, L.tensor([0, 5 % x.shape[1]]), 0.0)),
    "masked_fill": ("matrix", True, lambda L, x, n: x.masked_fill(mask_of(L, n), 0.0)),
    "masked_select": ("matrix", True, lambda L, x, n: x.masked_select(mask_of(L, n))),
    "masked_scatter": ("matrix", True, lambda L, x, n: x.masked_scatter(mask_of(L, n), x)),
    "take": ("matrix", True, lambda L, x, n: x.take(index_rows(L, n * 100, n // 10))),
    "take_along_dim": ("matrix", True,
                       lambda L, x, n: L.take_along_dim(x, gather_index(L, n), 1)),
    "index_put(acc)": ("matrix", True, lambda L, x, n: x.index_put(
        (index_rows(L, n, x.shape[0]),), x, accumulate=True)),
    "nonzero": ("matrix", False, lambda L, x, n: L.nonzero(x > 0)),
}


def _setitem(L, x, n):
    y = x * 1.0
    y[index_rows(L, n, x.shape[0])] = x
    return y


def timings(fn, target):
    """Median and interquartile range of seconds per call of ``fn``, over 9 repeats of a loop
    sized to take about ``target`` seconds."""
    fn()
    number = 1
    while True:
        start = time.perf_counter()
        for _ in range(number):
            fn()
        if time.perf_counter() - start > target / 9 or number >= 100000:
            break
        number *= 4
    samples = []
    for _ in range(9):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        samples.append((time.perf_counter() - start) / number)
    q = statistics.quantiles(samples, n=4)
    median = statistics.median(samples)
    return median, (q[2] - q[0]) / median


def case(L, name, n, backward):
    kind, differentiable, fn = OPS[name]
    x = L.tensor(np.random.default_rng(0).standard_normal(shape_of(n, kind)),
                 dtype=L.float32)
    if backward and differentiable:
        x.requires_grad_(True)

        def run():
            y = fn(L, x, n)
            y.backward(L.ones_like(y))
            x.grad = None
        return run
    return lambda: fn(L, x, n)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter timing loops")
    parser.add_argument("--only", default="", help="comma-separated op names")
    parser.add_argument("--sizes", default="", help="comma-separated sizes")
    args = parser.parse_args()
    torch.set_num_threads(1)
    target = 0.05 if args.quick else 0.2
    names = [n for n in OPS if not args.only or n in args.only.split(",")]
    sizes = tuple(int(s) for s in args.sizes.split(",")) if args.sizes else SIZES
    print(f"minigrad {mg.__version__} (kernels: {mg._kernels.backend_name}), numpy "
          f"{np.__version__}, torch {torch.__version__} (1 thread)")
    print("median microseconds per call (spread = IQR / median); ratio = minigrad / torch; "
          "'!' marks a ratio above 1.5")
    header = (f"{'op':22} {'n':>8} | {'fwd mg':>9} {'fwd torch':>9} {'ratio':>6} | "
              f"{'f+b mg':>9} {'f+b torch':>9} {'ratio':>6} | spread mg/torch")
    print(header)
    print("-" * len(header))
    worst = []
    for name in names:
        for n in sizes:
            cells = []
            spreads = []
            for backward in (False, True):
                if backward and not OPS[name][1]:
                    cells.append(None)
                    continue
                mg_time, mg_spread = timings(case(mg, name, n, backward), target)
                torch_time, torch_spread = timings(case(torch, name, n, backward), target)
                cells.append((mg_time, torch_time))
                spreads.append(f"{mg_spread:.0%}/{torch_spread:.0%}")
            text = f"{name:22} {n:>8} |"
            for cell in cells:
                if cell is None:
                    text += f" {'':>9} {'':>9} {'':>6} |"
                    continue
                ratio = cell[0] / cell[1]
                mark = "!" if ratio > 1.5 else " "
                text += f" {cell[0] * 1e6:9.1f} {cell[1] * 1e6:9.1f} {ratio:5.2f}{mark}|"
                worst.append((ratio, name, n))
            print(text + " " + " ".join(spreads), flush=True)
    worst.sort(reverse=True)
    print("\nabove 1.5:", ", ".join(f"{name} n={n} ({r:.2f}x)" for r, name, n in worst
                                     if r > 1.5) or "none")


if __name__ == "__main__":
    main()
