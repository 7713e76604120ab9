"""Shape, product, creation and random ops: minigrad beside PyTorch eager (one thread).

For inputs of about 10^2, 10^4 and 10^6 elements, each op's forward and backward (the
gradient of every output given, as ``autograd.backward(outputs, grads)``) is timed in
minigrad and in torch, side by side in this one run; creation and random ops are forward
only. Medians of 7 repeats of an auto-sized loop, with the spread (max/min of the repeats).
The ratio column is minigrad / torch: the target is at most 1.5 everywhere.

    python bench/shape.py                  # full table
    python bench/shape.py --quick          # shorter loops
    python bench/shape.py --only einsum    # rows whose name contains "einsum"
"""
import os

# One thread for numpy's BLAS as for torch: on a shared machine a multi-threaded BLAS measures
# the neighbours' load, not the op.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse
import math
import statistics
import sys
import time
import warnings

import numpy as np

import minigrad as mg

try:
    import torch
except ImportError:
    sys.exit("bench/shape.py compares with PyTorch: pip install torch")


def timed(fn, budget):
    """(median, max/min) seconds per call of ``fn`` over 7 repeats of an auto-sized loop."""
    fn()
    number = 1
    while True:
        start = time.perf_counter()
        for _ in range(number):
            fn()
        if time.perf_counter() - start > budget / 7 or number > 1e5:
            break
        number *= 4
    samples = []
    for _ in range(7):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        samples.append((time.perf_counter() - start) / number)
    return statistics.median(samples), max(samples) / min(samples)


def square(n):
    side = max(math.isqrt(n), 1)
    return (side, max(n // side, 1))


def cube(n):
    side = max(round(n ** (1 / 3)), 1)
    return (side, side, max(n // (side * side), 1))


# name -> (input shapes for ~n elements, op(L, *tensors), differentiable)
OPS = {
    "repeat": (lambda n: [square(n // 2)], lambda L, a: a.repeat(2, 1), True),
    "tile": (lambda n: [square(n // 2)], lambda L, a: L.tile(a, (1, 2)), True),
    "repeat_interleave": (lambda n: [square(n // 2)], lambda L, a: a.repeat_interleave(2, 0),
                          True),
    "repeat_interleave_t": (lambda n: [(8, max(n // 8, 1))],
                            lambda L, a: a.repeat_interleave(L.tensor([1, 2, 0, 1, 3, 1, 2, 1]),
                                                             0), True),
    "flip": (lambda n: [square(n)], lambda L, a: a.flip(0), True),
    "fliplr": (lambda n: [square(n)], lambda L, a: L.fliplr(a), True),
    "flipud": (lambda n: [square(n)], lambda L, a: L.flipud(a), True),
    "roll": (lambda n: [square(n)], lambda L, a: a.roll(3, 1), True),
    "rot90": (lambda n: [square(n)], lambda L, a: L.rot90(a), True),
    "split": (lambda n: [square(n)], lambda L, a: a.split(max(a.shape[1] // 4, 1), 1), True),
    "chunk": (lambda n: [square(n)], lambda L, a: a.chunk(4, 0), True),
    "tensor_split": (lambda n: [square(n)], lambda L, a: L.tensor_split(a, 3, 1), True),
    "unbind": (lambda n: [(8, max(n // 8, 1))], lambda L, a: a.unbind(0), True),
    "select": (lambda n: [square(n)], lambda L, a: a.select(1, 0), True),
    "narrow": (lambda n: [square(n)], lambda L, a: a.narrow(0, 1, a.shape[0] // 2), True),
    "unfold": (lambda n: [square(n // 2)], lambda L, a: a.unfold(1, 2, 2), True),
    "unflatten": (lambda n: [(max(n // 4, 1), 4)], lambda L, a: a.unflatten(1, (2, 2)), True),
    "movedim": (lambda n: [cube(n)], lambda L, a: L.movedim(a, 0, 2), True),
    "swapaxes": (lambda n: [square(n)], lambda L, a: L.swapaxes(a, 0, 1), True),
    "moveaxis": (lambda n: [cube(n)], lambda L, a: L.moveaxis(a, 2, 0), True),
    "swapdims": (lambda n: [cube(n)], lambda L, a: L.swapdims(a, 0, 2), True),
    "t": (lambda n: [square(n)], lambda L, a: a.t(), True),
    "view": (lambda n: [square(n)], lambda L, a: a.view(-1), True),
    "reshape_copy": (lambda n: [square(n)], lambda L, a: a.t().reshape(-1), True),
    "contiguous": (lambda n: [square(n)], lambda L, a: a.t().contiguous(), True),
    "broadcast_to": (lambda n: [(1, max(n // 64, 1))],
                     lambda L, a: L.broadcast_to(a, (64, a.shape[1])), True),
    "meshgrid": (lambda n: [(square(n)[0],), (square(n)[1],)],
                 lambda L, a, b: L.meshgrid(a, b, indexing="ij"), True),
    "tril": (lambda n: [square(n)], lambda L, a: a.tril(), True),
    "triu": (lambda n: [square(n)], lambda L, a: L.triu(a, 1), True),
    "diag": (lambda n: [(square(n)[0],)], lambda L, a: L.diag(a), True),
    "diagonal": (lambda n: [square(n)], lambda L, a: a.diagonal(), True),
    "diag_embed": (lambda n: [square(n)], lambda L, a: L.diag_embed(a[:, :8]), True),
    "trace": (lambda n: [square(n)], lambda L, a: L.trace(a), True),
    "atleast_1d": (lambda n: [(n,)], lambda L, a: L.atleast_1d(a), True),
    "atleast_2d": (lambda n: [(n,)], lambda L, a: L.atleast_2d(a), True),
    "atleast_3d": (lambda n: [square(n)], lambda L, a: L.atleast_3d(a), True),
    "broadcast_tensors": (lambda n: [(1, max(n // 64, 1)), (64, 1)],
                          lambda L, a, b: L.broadcast_tensors(a, b), True),
    "dstack": (lambda n: [square(n // 2)] * 2, lambda L, a, b: L.dstack([a, b]), True),
    "column_stack": (lambda n: [(n // 2,)] * 2, lambda L, a, b: L.column_stack([a, b]), True),
    "hstack": (lambda n: [square(n // 2)] * 2, lambda L, a, b: L.hstack([a, b]), True),
    "vstack": (lambda n: [square(n // 2)] * 2, lambda L, a, b: L.vstack([a, b]), True),
    "cat": (lambda n: [square(n // 2)] * 2, lambda L, a, b: L.cat([a, b], 1), True),
    "outer": (lambda n: [(square(n)[0],), (square(n)[1],)], lambda L, a, b: L.outer(a, b),
              True),
    "inner": (lambda n: [(16, max(n // 32, 1)), (16, max(n // 32, 1))],
              lambda L, a, b: L.inner(a, b), True),
    "dot": (lambda n: [(n,), (n,)], lambda L, a, b: L.dot(a, b), True),
    "mm": (lambda n: [square(n), square(n)[::-1]], lambda L, a, b: L.mm(a, b), True),
    "mv": (lambda n: [square(n), (square(n)[1],)], lambda L, a, b: L.mv(a, b), True),
    "bmm": (lambda n: [cube(n), cube(n)[:1] + cube(n)[1:][::-1]], lambda L, a, b: L.bmm(a, b),
            True),
    "addmm": (lambda n: [(square(n)[0],) * 2, square(n), square(n)[::-1]],
              lambda L, c, a, b: L.addmm(c, a, b), True),
    "addmm_scaled": (lambda n: [(square(n)[0],) * 2, square(n), square(n)[::-1]],
                     lambda L, c, a, b: L.addmm(c, a, b, beta=0.5, alpha=2), True),
    "addmv": (lambda n: [(square(n)[0],), square(n), (square(n)[1],)],
              lambda L, c, a, b: L.addmv(c, a, b), True),
    "addr": (lambda n: [square(n), (square(n)[0],), (square(n)[1],)],
             lambda L, c, a, b: L.addr(c, a, b), True),
    "baddbmm": (lambda n: [cube(n)[:2] + cube(n)[1:2], cube(n), cube(n)[:1] + cube(n)[1:][::-1]],
                lambda L, c, a, b: L.baddbmm(c, a, b), True),
    "addbmm": (lambda n: [cube(n)[1:2] * 2, cube(n), cube(n)[:1] + cube(n)[1:][::-1]],
               lambda L, c, a, b: L.addbmm(c, a, b), True),
    "einsum_mm": (lambda n: [square(n), square(n)[::-1]],
                  lambda L, a, b: L.einsum("ij,jk->ik", a, b), True),
    "einsum_bmm": (lambda n: [cube(n), cube(n)[:1] + cube(n)[1:][::-1]],
                   lambda L, a, b: L.einsum("bij,bjk->bik", a, b), True),
    "einsum_sum": (lambda n: [cube(n)], lambda L, a: L.einsum("ijk->j", a), True),
    "einsum_outer": (lambda n: [(square(n)[0],), (square(n)[1],)],
                     lambda L, a, b: L.einsum("i,j->ij", a, b), True),
    "einsum_t": (lambda n: [square(n)], lambda L, a: L.einsum("ij->ji", a), True),
    "kron": (lambda n: [square(max(n // 16, 1)), (4, 4)], lambda L, a, b: L.kron(a, b), True),
    "cross": (lambda n: [(max(n // 3, 1), 3)] * 2, lambda L, a, b: L.cross(a, b, dim=1), True),
    "multi_dot": (lambda n: [square(n), square(n)[::-1], square(n)],
                  lambda L, a, b, c: (L.linalg.multi_dot if L is torch else L.multi_dot)(
                      [a, b, c]), True),
    # creation and sampling: forward only
    "zeros": (lambda n: [(n,)], lambda L, a: L.zeros(a.shape), False),
    "empty": (lambda n: [(n,)], lambda L, a: L.empty(a.shape), False),
    "zeros_like": (lambda n: [(n,)], lambda L, a: L.zeros_like(a), False),
    "ones_like": (lambda n: [(n,)], lambda L, a: L.ones_like(a), False),
    "empty_like": (lambda n: [(n,)], lambda L, a: L.empty_like(a), False),
    "full_like": (lambda n: [(n,)], lambda L, a: L.full_like(a, 2.5), False),
    "full": (lambda n: [(n,)], lambda L, a: L.full(tuple(a.shape), 2.5), False),
    "arange": (lambda n: [(n,)], lambda L, a: L.arange(0.0, a.shape[0], 1.0), False),
    "linspace": (lambda n: [(n,)], lambda L, a: L.linspace(0, 1, a.shape[0]), False),
    "logspace": (lambda n: [(n,)], lambda L, a: L.logspace(0, 1, a.shape[0]), False),
    "eye": (lambda n: [square(n)], lambda L, a: L.eye(*a.shape), False),
    "tril_indices": (lambda n: [square(n)], lambda L, a: L.tril_indices(*a.shape), False),
    "triu_indices": (lambda n: [square(n)], lambda L, a: L.triu_indices(*a.shape, 1), False),
    "rand": (lambda n: [(n,)], lambda L, a: L.rand(a.shape), False),
    "randn": (lambda n: [(n,)], lambda L, a: L.randn(a.shape), False),
    "randint": (lambda n: [(n,)], lambda L, a: L.randint(0, 100, tuple(a.shape)), False),
    "rand_like": (lambda n: [(n,)], lambda L, a: L.rand_like(a), False),
    "randn_like": (lambda n: [(n,)], lambda L, a: L.randn_like(a), False),
    "randint_like": (lambda n: [(n,)], lambda L, a: L.randint_like(a, 0, 100), False),
    "randperm": (lambda n: [(n,)], lambda L, a: L.randperm(a.shape[0]), False),
    "normal": (lambda n: [(n,), (n,)], lambda L, a, b: L.normal(a, b.abs()), False),
    "bernoulli": (lambda n: [(n,)], lambda L, a: L.bernoulli(a.sigmoid()), False),
    "poisson": (lambda n: [(n,)], lambda L, a: L.poisson(a.abs()), False),
    "multinomial": (lambda n: [(max(n // 100, 1), 100)],
                    lambda L, a: L.multinomial(a.abs(), 10), False),
    "multinomial_repl": (lambda n: [(max(n // 100, 1), 100)],
                         lambda L, a: L.multinomial(a.abs(), 100, True), False),
    "normal_": (lambda n: [(n,)], lambda L, a: a.normal_(), False),
    "uniform_": (lambda n: [(n,)], lambda L, a: a.uniform_(-1, 1), False),
    "exponential_": (lambda n: [(n,)], lambda L, a: a.exponential_(), False),
    "bernoulli_": (lambda n: [(n,)], lambda L, a: a.bernoulli_(0.3), False),
    "random_": (lambda n: [(n,)], lambda L, a: a.random_(0, 10), False),
    "fill_": (lambda n: [(n,)], lambda L, a: a.fill_(1.5), False),
    "zero_": (lambda n: [(n,)], lambda L, a: a.zero_(), False),
    "copy_": (lambda n: [(n,), (n,)], lambda L, a, b: a.copy_(b), False),
}
SIZES = (10**2, 10**4, 10**6)


def case(L, name, n, rng):
    """A zero-argument callable running op ``name`` once in library ``L`` (forward, and
    backward when the op is differentiable)."""
    shapes, op, differentiable = OPS[name]
    arrays = [rng.standard_normal(s).astype(np.float32) for s in shapes(n)]
    inputs = [L.tensor(a, requires_grad=differentiable) for a in arrays]
    backward = torch.autograd.backward if L is torch else mg.autograd.backward
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        first = op(L, *inputs)
    outs = list(first) if isinstance(first, (tuple, list)) else [first]
    grads = [L.ones(tuple(o.shape)) for o in outs]

    def run():
        out = op(L, *inputs)
        if differentiable:
            backward(list(out) if isinstance(out, (tuple, list)) else [out], grads)

    return run, sum(a.size for a in arrays)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter timing loops")
    parser.add_argument("--only", default="", help="only rows whose name contains one of these (comma-separated)")
    args = parser.parse_args()
    budget = 0.05 if args.quick else 0.2
    torch.set_num_threads(1)
    mg.set_num_threads(1)  # one thread each: the comparison the README quotes
    warnings.simplefilter("ignore")
    print(f"minigrad {mg.__version__} (kernels: {mg._kernels.backend_name}), numpy "
          f"{np.__version__}, torch {torch.__version__} on 1 thread")
    print("microseconds per forward+backward (forward only for creation/random), median of 7;"
          " spread = max/min of the 7")
    header = (f"{'op':20} {'n':>8} | {'minigrad':>10} {'spread':>6} | {'torch':>10} "
              f"{'spread':>6} | {'mg/torch':>8}")
    print(header)
    print("-" * len(header))
    worst = []
    for name in OPS:
        if args.only and not any(part in name for part in args.only.split(",")):
            continue
        for n in SIZES:
            rng = np.random.default_rng(0)
            mg_run, size = case(mg, name, n, rng)
            rng = np.random.default_rng(0)
            torch_run, _ = case(torch, name, n, rng)
            t_mg, s_mg = timed(mg_run, budget)
            t_torch, s_torch = timed(torch_run, budget)
            ratio = t_mg / t_torch
            worst.append((ratio, name, size))
            flag = "  <-- over 1.5" if ratio > 1.5 else ""
            print(f"{name:20} {size:>8} | {t_mg * 1e6:10.1f} {s_mg:6.2f} | "
                  f"{t_torch * 1e6:10.1f} {s_torch:6.2f} | {ratio:8.2f}{flag}", flush=True)
    worst.sort(reverse=True)
    print("\nworst ratios:", ", ".join(f"{name}@{size}: {r:.2f}" for r, name, size in worst[:8]))


if __name__ == "__main__":
    main()
