"""Reductions, scans, sorts, indexing and gather/scatter: minigrad vs PyTorch eager, one thread each.

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
import re
import statistics
import time
import warnings

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


def make_aux(L, shape):
    """The constant operands of the ops below (index tensors, masks), made once per case."""
    rng = np.random.default_rng(1)
    rows, cols = shape if len(shape) == 2 else (shape[0], 1)
    return {
        "rows": L.tensor(rng.integers(0, rows, rows)),
        "cols": L.tensor(rng.integers(0, cols, cols)),
        "perm": L.tensor(rng.permutation(rows)),
        "gather": L.tensor(rng.integers(0, cols, shape)),
        "mask": L.tensor(rng.random(shape) > 0.5),
        "arange": L.arange(rows),
        "rowcols": L.tensor(rng.integers(0, cols, rows)),
        "flat": L.tensor(rng.integers(0, rows * cols, max(rows * cols // 10, 1))),
        "fill": L.tensor([0, 5 % cols]),
    }


def _setitem(L, x, aux):
    y = x * 1.0
    y[aux["rows"]] = x
    return y


# name: (input kind, differentiable, fn(L, x, aux))
OPS = {
    "sum": ("matrix", True, lambda L, x, a: x.sum()),
    "sum(dim=1)": ("matrix", True, lambda L, x, a: x.sum(1)),
    "sum(dim=0)": ("matrix", True, lambda L, x, a: x.sum(0)),
    "mean(dim=1)": ("matrix", True, lambda L, x, a: x.mean(1)),
    "prod(dim=1)": ("matrix", True, lambda L, x, a: x.prod(1)),
    "prod(dim=0)": ("matrix", True, lambda L, x, a: x.prod(0)),
    "var": ("matrix", True, lambda L, x, a: x.var()),
    "var(dim=1)": ("matrix", True, lambda L, x, a: x.var(1)),
    "std(dim=0)": ("matrix", True, lambda L, x, a: x.std(0)),
    "norm": ("matrix", True, lambda L, x, a: x.norm()),
    "norm(p=1,dim=1)": ("matrix", True, lambda L, x, a: L.linalg.vector_norm(x, 1, dim=1)),
    "max": ("matrix", True, lambda L, x, a: x.max()),
    "amax(dim=1)": ("matrix", True, lambda L, x, a: x.amax(1)),
    "max(dim=1)": ("matrix", True, lambda L, x, a: x.max(1).values),
    "min(dim=0)": ("matrix", True, lambda L, x, a: x.min(0).values),
    "amin(dim=0)": ("matrix", True, lambda L, x, a: x.amin(0)),
    "argmax(dim=1)": ("matrix", False, lambda L, x, a: x.argmax(1)),
    "argmin(dim=0)": ("matrix", False, lambda L, x, a: x.argmin(0)),
    "aminmax": ("matrix", True, lambda L, x, a: L.aminmax(x).max),
    "std_mean(dim=1)": ("matrix", True, lambda L, x, a: L.std_mean(x, 1)[0]),
    "softmax(dim=1)": ("matrix", True, lambda L, x, a: x.softmax(1)),
    "log_softmax(dim=0)": ("matrix", True, lambda L, x, a: x.log_softmax(0)),
    "logsumexp(dim=1)": ("matrix", True, lambda L, x, a: x.logsumexp(1)),
    "cumsum(dim=1)": ("matrix", True, lambda L, x, a: x.cumsum(1)),
    "cumprod(dim=1)": ("matrix", True, lambda L, x, a: x.cumprod(1)),
    "cummax(dim=1)": ("matrix", True, lambda L, x, a: x.cummax(1).values),
    "logcumsumexp(dim=1)": ("matrix", True, lambda L, x, a: x.logcumsumexp(1)),
    "sort(dim=1)": ("matrix", True, lambda L, x, a: x.sort(1).values),
    "argsort": ("vector", False, lambda L, x, a: x.argsort()),
    "topk(10,dim=1)": ("matrix", True, lambda L, x, a: x.topk(min(10, x.shape[1]), 1).values),
    "median": ("vector", True, lambda L, x, a: x.median()),
    "median(dim=1)": ("matrix", True, lambda L, x, a: x.median(1).values),
    "kthvalue(dim=1)": ("matrix", True, lambda L, x, a: x.kthvalue(3, 1).values),
    "mode(dim=1)": ("matrix", False, lambda L, x, a: a["mask"].long().mode(1).values),
    "unique": ("matrix", False, lambda L, x, a: a["gather"].unique()),
    "any(dim=1)": ("matrix", False, lambda L, x, a: a["mask"].any(1)),
    "all": ("matrix", False, lambda L, x, a: a["mask"].all()),
    "count_nonzero": ("matrix", False, lambda L, x, a: L.count_nonzero(a["mask"])),
    "nansum": ("matrix", True, lambda L, x, a: x.nansum()),
    "nansum(dim=1)": ("matrix", True, lambda L, x, a: x.nansum(1)),
    "x[i]": ("matrix", True, lambda L, x, a: x[x.shape[0] // 2]),
    "x[idx]": ("matrix", True, lambda L, x, a: x[a["rows"]]),
    "x[:, idx]": ("matrix", True, lambda L, x, a: x[:, a["cols"]]),
    "x[rows, cols]": ("matrix", True, lambda L, x, a: x[a["arange"], a["rowcols"]]),
    "x[mask]": ("matrix", True, lambda L, x, a: x[a["mask"]]),
    "x[idx] = v": ("matrix", True, lambda L, x, a: _setitem(L, x, a)),
    "gather(dim=1)": ("matrix", True, lambda L, x, a: x.gather(1, a["gather"])),
    "scatter(dim=1)": ("matrix", True, lambda L, x, a: x.scatter(1, a["gather"], x)),
    "scatter_add(dim=1)": ("matrix", True, lambda L, x, a: x.scatter_add(1, a["gather"], x)),
    "scatter_reduce(amax)": ("matrix", True,
                             lambda L, x, a: x.scatter_reduce(1, a["gather"], x, "amax")),
    "index_select(dim=0)": ("matrix", True, lambda L, x, a: x.index_select(0, a["rows"])),
    "index_add(dim=0)": ("matrix", True, lambda L, x, a: x.index_add(0, a["rows"], x)),
    "index_copy(dim=0)": ("matrix", True, lambda L, x, a: x.index_copy(0, a["perm"], x)),
    "index_fill(dim=1)": ("matrix", True, lambda L, x, a: x.index_fill(1, a["fill"], 0.0)),
    "masked_fill": ("matrix", True, lambda L, x, a: x.masked_fill(a["mask"], 0.0)),
    "masked_select": ("matrix", True, lambda L, x, a: x.masked_select(a["mask"])),
    "masked_scatter": ("matrix", True, lambda L, x, a: x.masked_scatter(a["mask"], x)),
    "take": ("matrix", True, lambda L, x, a: x.take(a["flat"])),
    "take_along_dim": ("matrix", True, lambda L, x, a: L.take_along_dim(x, a["gather"], 1)),
    "index_put(acc)": ("matrix", True,
                       lambda L, x, a: x.index_put((a["rows"],), x, accumulate=True)),
    "nonzero": ("matrix", False, lambda L, x, a: L.nonzero(a["mask"])),
    "where(mask, x, 0)": ("matrix", True, lambda L, x, a: L.where(a["mask"], x, 0.0)),
    "where(mask)": ("matrix", False, lambda L, x, a: L.where(a["mask"])[0]),
}


def case(L, name, n, backward):
    kind, differentiable, fn = OPS[name]
    shape = shape_of(n, kind)
    values = np.random.default_rng(0).standard_normal(shape)
    if name.startswith(("prod", "cumprod")):
        values = 1 + 0.01 * values  # products of many values stay finite
    x = L.tensor(values, dtype=L.float32)
    aux = make_aux(L, shape)
    if backward and differentiable:
        x.requires_grad_(True)

        def run():
            y = fn(L, x, aux)
            y.backward(L.ones_like(y))
            x.grad = None
        return run
    return lambda: fn(L, x, aux)


def ratio_timings(name, n, backward, target):
    """Median seconds per call for minigrad and torch, and the median of the per-repeat
    ratios: the two are timed alternately, so that a load change on the machine hits both."""
    runs = (case(mg, name, n, backward), case(torch, name, n, backward))
    numbers = []
    for run in runs:
        run()
        number = 1
        while True:
            start = time.perf_counter()
            for _ in range(number):
                run()
            if time.perf_counter() - start > target / 9 or number >= 100000:
                break
            number *= 4
        numbers.append(number)
    samples = ([], [])
    for _ in range(9):
        for k in (0, 1):
            start = time.perf_counter()
            for _ in range(numbers[k]):
                runs[k]()
            samples[k].append((time.perf_counter() - start) / numbers[k])
    ratios = [a / b for a, b in zip(*samples)]
    spread = [(q[2] - q[0]) / statistics.median(s) for s in samples
              for q in [statistics.quantiles(s, n=4)]]
    return (statistics.median(samples[0]), statistics.median(samples[1]),
            statistics.median(ratios), spread)


def main():
    warnings.simplefilter("ignore", UserWarning)  # var of one row per column, on purpose
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter timing loops")
    parser.add_argument("--only", default="", help="comma-separated op names")
    parser.add_argument("--sizes", default="", help="comma-separated sizes")
    args = parser.parse_args()
    torch.set_num_threads(1)
    mg.set_num_threads(1)  # one thread each: the comparison the README quotes
    target = 0.05 if args.quick else 0.2
    # split on the commas outside brackets: "norm(p=1,dim=1),x[:, idx]" is two names
    wanted = re.split(r",(?![^(\[]*[)\]])", args.only) if args.only else None
    unknown = sorted(set(wanted or ()) - set(OPS))
    if unknown:
        parser.error(f"unknown op names {unknown}; known: {', '.join(OPS)}")
    names = [n for n in OPS if wanted is None or n in wanted]
    sizes = tuple(int(s) for s in args.sizes.split(",")) if args.sizes else SIZES
    print(f"minigrad {mg.__version__} (kernels: {mg._kernels.backend_name}), numpy "
          f"{np.__version__}, torch {torch.__version__} (1 thread)")
    print("median microseconds per call (spread = IQR / median); ratio = median of the "
          "per-repeat ratios minigrad / torch; '!' marks a ratio above 1.5")
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
                mg_time, torch_time, ratio, spread = ratio_timings(name, n, backward, target)
                cells.append((mg_time, torch_time, ratio))
                spreads.append(f"{spread[0]:.0%}/{spread[1]:.0%}")
            text = f"{name:22} {n:>8} |"
            for cell in cells:
                if cell is None:
                    text += f" {'':>9} {'':>9} {'':>6} |"
                    continue
                ratio = cell[2]
                mark = "!" if ratio > 1.5 else " "
                text += f" {cell[0] * 1e6:9.1f} {cell[1] * 1e6:9.1f} {ratio:5.2f}{mark}|"
                if cell is cells[-1] or not OPS[name][1]:  # the goal: forward + backward
                    worst.append((ratio, name, n))
            print(text + " " + " ".join(spreads), flush=True)
    worst.sort(reverse=True)
    print("\nforward + backward (forward for the ops without a gradient) above 1.5x:",
          ", ".join(f"{name} n={n} ({r:.2f}x)" for r, name, n in worst if r > 1.5) or "none")


if __name__ == "__main__":
    main()
