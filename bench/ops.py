"""Per-op cost: one op (forward + graph recording) and its backward, minigrad beside PyTorch.

For float32 tensors of 10^2, 10^4 and 10^6 elements (and 1, for the engine's fixed cost), each
op's forward and backward are timed in minigrad (Cython kernels) and in PyTorch eager on ONE
thread, in this one run, alternating between the two libraries so that a noisy machine slows
both alike. Each figure is the median of 7 samples; ``spread`` is the inter-quartile range of
the minigrad/torch ratio over those samples, as a percentage of the median ratio. Read the
ratios, not the absolute figures. ``fwd+bwd`` is the ratio of the summed medians; ops
without a derivative (comparisons, bitwise, floor_divide) have a forward only.

    python bench/ops.py                  # every op, every size
    python bench/ops.py --quick          # shorter timing loops
    python bench/ops.py --ops sin erf    # some ops only
    python bench/ops.py --sizes 100 1000000
    python bench/ops.py --issue12 --quick  # add mul relu sigmoid tanh exp sum cross_entropy,
                                           # n = 10^2..10^7 (issue 12's per-op table)
    python bench/ops.py --threads 2        # minigrad and torch on 2 threads

``flt`` is the minor page faults per forward+backward (resource.getrusage ru_minflt over the
timed calls): memory mapped anew on every call.
"""
import argparse
import resource
import statistics
import sys
import time

import numpy as np

import minigrad as mg

try:
    import torch
except ImportError:  # pragma: no cover - the comparison needs torch
    torch = None


def _timed_samples(fns, target_seconds, repeats=7):
    """For each function, ``repeats`` samples of seconds per call; the samples of the
    functions are interleaved, so that a load spike hits all of them."""
    for fn in fns:
        fn()
    number = 1
    while True:
        start = time.perf_counter()
        for _ in range(number):
            fns[0]()
        elapsed = time.perf_counter() - start
        if elapsed > target_seconds / repeats or number > 1e6:
            break
        number *= 4
    samples = [[] for _ in fns]
    faults = [0 for _ in fns]
    for _ in range(repeats):
        for i, fn in enumerate(fns):
            f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
            start = time.perf_counter()
            for _ in range(number):
                fn()
            samples[i].append((time.perf_counter() - start) / number)
            faults[i] += resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0
    _timed_samples.faults = [f / (number * repeats) for f in faults]
    return samples


def _quartile_spread(ratios):
    q1, _, q3 = statistics.quantiles(ratios, n=4)
    return (q3 - q1) / statistics.median(ratios)


def unit(rng, n):
    return rng.uniform(0.1, 0.9, n)


def signed(rng, n):
    return rng.uniform(-2.0, 2.0, n)


_TARGETS = {}


def _class_targets(L, a):
    """Integer class labels for ``a`` viewed as (n // 10, 10) logits (cached per library and
    size, so that the timed call makes none)."""
    key = (L.__name__, a.numel())
    if key not in _TARGETS:
        labels = np.random.default_rng(1).integers(0, 10, a.numel() // 10)
        _TARGETS[key] = L.tensor(labels)
    return _TARGETS[key]


# name: (op on lib tensors a, b, differentiable, input domain)
OPS = {
    "sub": (lambda L, a, b: a - b, True, signed),
    "add": (lambda L, a, b: a + b, True, signed),
    "mul": (lambda L, a, b: a * b, True, signed),
    "div": (lambda L, a, b: a / b, True, unit),
    "pow": (lambda L, a, b: a ** b, True, unit),
    "pow_2.5": (lambda L, a, b: a ** 2.5, True, unit),
    "square": (lambda L, a, b: L.square(a), True, signed),
    "neg": (lambda L, a, b: -a, True, signed),
    "abs": (lambda L, a, b: L.abs(a), True, signed),
    "sign": (lambda L, a, b: L.sign(a), True, signed),
    "sgn": (lambda L, a, b: L.sgn(a), True, signed),
    "relu": (lambda L, a, b: a.relu(), True, signed),
    "sigmoid": (lambda L, a, b: a.sigmoid(), True, signed),
    "logit": (lambda L, a, b: L.logit(a), True, unit),
    "sin": (lambda L, a, b: L.sin(a), True, signed),
    "cos": (lambda L, a, b: L.cos(a), True, signed),
    "tan": (lambda L, a, b: L.tan(a), True, unit),
    "asin": (lambda L, a, b: L.asin(a), True, unit),
    "acos": (lambda L, a, b: L.acos(a), True, unit),
    "atan": (lambda L, a, b: L.atan(a), True, signed),
    "sinh": (lambda L, a, b: L.sinh(a), True, signed),
    "cosh": (lambda L, a, b: L.cosh(a), True, signed),
    "tanh": (lambda L, a, b: L.tanh(a), True, signed),
    "asinh": (lambda L, a, b: L.asinh(a), True, signed),
    "acosh": (lambda L, a, b: L.acosh(a + 1.5), True, unit),
    "atanh": (lambda L, a, b: L.atanh(a), True, unit),
    "exp": (lambda L, a, b: a.exp(), True, signed),
    "exp2": (lambda L, a, b: L.exp2(a), True, signed),
    "expm1": (lambda L, a, b: L.expm1(a), True, signed),
    "log": (lambda L, a, b: L.log(a), True, unit),
    "log2": (lambda L, a, b: L.log2(a), True, unit),
    "log10": (lambda L, a, b: L.log10(a), True, unit),
    "log1p": (lambda L, a, b: L.log1p(a), True, unit),
    "sqrt": (lambda L, a, b: L.sqrt(a), True, unit),
    "rsqrt": (lambda L, a, b: L.rsqrt(a), True, unit),
    "reciprocal": (lambda L, a, b: L.reciprocal(a), True, unit),
    "erf": (lambda L, a, b: L.erf(a), True, signed),
    "erfc": (lambda L, a, b: L.erfc(a), True, signed),
    "erfinv": (lambda L, a, b: L.erfinv(a), True, unit),
    "floor": (lambda L, a, b: L.floor(a), True, signed),
    "ceil": (lambda L, a, b: L.ceil(a), True, signed),
    "round": (lambda L, a, b: L.round(a), True, signed),
    "round_dec": (lambda L, a, b: L.round(a, decimals=2), True, signed),
    "trunc": (lambda L, a, b: L.trunc(a), True, signed),
    "frac": (lambda L, a, b: L.frac(a), True, signed),
    "nan_to_num": (lambda L, a, b: L.nan_to_num(a), True, signed),
    "clamp": (lambda L, a, b: L.clamp(a, -0.5, 0.5), True, signed),
    "clamp_tensor": (lambda L, a, b: L.clamp(a, min=b), True, signed),
    "maximum": (lambda L, a, b: L.maximum(a, b), True, signed),
    "minimum": (lambda L, a, b: L.minimum(a, b), True, signed),
    "fmax": (lambda L, a, b: L.fmax(a, b), True, signed),
    "fmin": (lambda L, a, b: L.fmin(a, b), True, signed),
    "atan2": (lambda L, a, b: L.atan2(a, b), True, signed),
    "hypot": (lambda L, a, b: L.hypot(a, b), True, signed),
    "copysign": (lambda L, a, b: L.copysign(a, b), True, signed),
    "logaddexp": (lambda L, a, b: L.logaddexp(a, b), True, signed),
    "logaddexp2": (lambda L, a, b: L.logaddexp2(a, b), True, signed),
    "fmod": (lambda L, a, b: L.fmod(a, b), True, unit),
    "remainder": (lambda L, a, b: L.remainder(a, b), True, unit),
    "lerp": (lambda L, a, b: L.lerp(a, b, 0.3), True, signed),
    "lerp_tensor": (lambda L, a, b: L.lerp(a, b, b), True, unit),
    "float_power": (lambda L, a, b: L.float_power(a, 2.0), True, unit),
    "floor_divide": (lambda L, a, b: a // b, False, unit),
    "eq": (lambda L, a, b: a == b, False, signed),
    "lt": (lambda L, a, b: a < b, False, signed),
    "ne": (lambda L, a, b: a != b, False, signed),
    "ge": (lambda L, a, b: a >= b, False, signed),
    "isclose": (lambda L, a, b: L.isclose(a, b), False, signed),
    "isnan": (lambda L, a, b: L.isnan(a), False, signed),
    "isinf": (lambda L, a, b: L.isinf(a), False, signed),
    "isfinite": (lambda L, a, b: L.isfinite(a), False, signed),
    "logical_and": (lambda L, a, b: L.logical_and(a, b), False, signed),
    "logical_or": (lambda L, a, b: L.logical_or(a, b), False, signed),
    "logical_xor": (lambda L, a, b: L.logical_xor(a, b), False, signed),
    "logical_not": (lambda L, a, b: L.logical_not(a), False, signed),
    "bitwise_and": (lambda L, a, b: a.int() & b.int(), False, signed),
    "bitwise_or": (lambda L, a, b: a.int() | b.int(), False, signed),
    "bitwise_xor": (lambda L, a, b: a.int() ^ b.int(), False, signed),
    "bitwise_not": (lambda L, a, b: ~a.int(), False, signed),
    "shift_left": (lambda L, a, b: a.int() << 3, False, signed),
    "shift_right": (lambda L, a, b: a.int() >> 3, False, signed),
    "sum": (lambda L, a, b: a.sum(), True, signed),
    "cross_entropy": (lambda L, a, b: L.nn.functional.cross_entropy(
        a.reshape(-1, 10), _class_targets(L, a)), True, signed),
}
SIZES = (1, 100, 10**4, 10**6)
ISSUE12_OPS = ("add", "mul", "relu", "sigmoid", "tanh", "exp", "sum", "cross_entropy")
ISSUE12_SIZES = (10**2, 10**3, 10**4, 10**5, 10**6, 10**7)


def measure(name, n, budget, rng):
    op, differentiable, domain = OPS[name]
    if name == "cross_entropy":
        n = max(10, n - n % 10)
    a_np = domain(rng, n).astype(np.float32)
    b_np = domain(rng, n).astype(np.float32)
    a, b = mg.tensor(a_np, requires_grad=differentiable), mg.tensor(b_np,
                                                                     requires_grad=differentiable)
    at = torch.tensor(a_np, requires_grad=differentiable)
    bt = torch.tensor(b_np, requires_grad=differentiable)
    fwd = _timed_samples([lambda: op(mg, a, b), lambda: op(torch, at, bt)], budget)
    faults = list(_timed_samples.faults)
    bwd = None
    if differentiable:
        y, yt = op(mg, a, b), op(torch, at, bt)
        g, gt = mg.ones_like(y), torch.ones_like(yt)
        # The gradients of a and b are dropped after every backward, as zero_grad does in a
        # training loop (accumulating into them would time an add that a step does not make).

        def backward_mg():
            y.backward(g, retain_graph=True)
            a.grad = b.grad = None

        def backward_torch():
            yt.backward(gt, retain_graph=True)
            at.grad = bt.grad = None

        bwd = _timed_samples([backward_mg, backward_torch], budget)
        faults = [f + b for f, b in zip(faults, _timed_samples.faults)]
    return fwd, bwd, faults


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter timing loops")
    parser.add_argument("--ops", nargs="*", default=list(OPS), help="ops to time")
    parser.add_argument("--sizes", nargs="*", type=int, default=None)
    parser.add_argument("--issue12", action="store_true",
                        help="issue 12's ops and sizes 10^2..10^7 (unless --ops/--sizes say)")
    parser.add_argument("--threads", type=int, default=1,
                        help="threads of minigrad and torch (default 1)")
    args = parser.parse_args()
    if args.sizes is None:
        args.sizes = list(ISSUE12_SIZES if args.issue12 else SIZES)
    if args.issue12 and args.ops == list(OPS):
        args.ops = list(ISSUE12_OPS)
    if torch is None:
        sys.exit("bench/ops.py compares with PyTorch: pip install torch")
    budget = 0.04 if args.quick else 0.2
    torch.set_num_threads(args.threads)
    if hasattr(mg, "set_num_threads"):
        mg.set_num_threads(args.threads)
    from minigrad._kernels import compiled_module
    vector = getattr(compiled_module("_elementwise"), "VECTOR_MATH", False)

    print(f"minigrad {mg.__version__} (kernels: {mg._kernels.backend_name}, vector math: "
          f"{vector}), numpy {np.__version__}, torch {torch.__version__} (1 thread); float32")
    print("times in microseconds, medians of 7; ratio = minigrad / torch (below 1: minigrad "
          "faster); spread = IQR of the ratio, % of it")
    header = (f"{'op':13} {'n':>8} | {'fwd mg':>9} {'fwd torch':>9} {'ratio':>6} {'spread':>6} |"
              f" {'bwd mg':>9} {'bwd torch':>9} {'ratio':>6} {'spread':>6} | {'fwd+bwd':>7} |"
              f" {'flt mg':>7} {'flt t':>6}")
    print(header)
    print("-" * len(header))
    rng = np.random.default_rng(0)
    worst = []
    for name in args.ops:
        for n in args.sizes:
            fwd, bwd, faults = measure(name, n, budget, rng)
            us = 1e6
            f_mg, f_t = statistics.median(fwd[0]), statistics.median(fwd[1])
            f_spread = _quartile_spread([x / y for x, y in zip(*fwd)])
            line = (f"{name:13} {n:>8} | {f_mg * us:9.2f} {f_t * us:9.2f} {f_mg / f_t:6.2f} "
                    f"{f_spread:6.0%} |")
            total_mg, total_t = f_mg, f_t
            if bwd is not None:
                b_mg, b_t = statistics.median(bwd[0]), statistics.median(bwd[1])
                b_spread = _quartile_spread([x / y for x, y in zip(*bwd)])
                line += (f" {b_mg * us:9.2f} {b_t * us:9.2f} {b_mg / b_t:6.2f} "
                         f"{b_spread:6.0%} |")
                total_mg, total_t = f_mg + b_mg, f_t + b_t
            else:
                line += f" {'-':>9} {'-':>9} {'-':>6} {'-':>6} |"
            line += f" {total_mg / total_t:7.2f} | {faults[0]:7.1f} {faults[1]:6.1f}"
            print(line)
            sys.stdout.flush()
            if n >= 100:
                worst.append((total_mg / total_t, name, n))
    worst.sort(reverse=True)
    print("\nslowest fwd+bwd ratios at 100 elements or more:",
          ", ".join(f"{name}@{n}: {r:.2f}" for r, name, n in worst[:10]))


if __name__ == "__main__":
    main()
