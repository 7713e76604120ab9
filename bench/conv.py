"""Convolution timings: minigrad against PyTorch eager (1 thread and its default threads) and
jax.jit, side by side in one run.

    python bench/conv.py               # the table (LeNet's conv layers and training step)
    python bench/conv.py --quick       # fewer turns
    python bench/conv.py --crossover   # the kernel crossovers of minigrad/_kernels/_conv.pyx

Workloads, at batch 1, 32 and 256 (float32):

- ``conv1``, ``conv2``: forward and backward (dL/dx, dL/dweight, dL/dbias) of the two
  convolutions of examples/lenet_digits.py: Conv2d(1, 6, 5, padding=2) on 8x8 images and
  Conv2d(6, 16, 3, padding=1) on 4x4 images;
- ``lenet step``: one training step of that network (zero_grad, forward, cross-entropy,
  backward, Adam step).

Each implementation is timed in turns (round-robin, starting with a different one each
turn, after a short pause), so a change in the machine's load hits all of them alike; each turn runs a batch of calls long enough for the clock (about 5 ms) and
the table gives, per call, the median over the turns and the interquartile range (+- half of
it). "minigrad" runs with numpy's BLAS on its default threads, "minigrad 1T" with BLAS
limited to one thread (threadpoolctl, if installed), the counterpart of "torch 1T". jax.jit compiles each workload once, before timing; it is left out if jax is not
installed (``pip install jax optax``; never a dependency of minigrad).

The --crossover mode times minigrad's convolution kernels with their matrix products forced
through the C loops and through BLAS, and with the standard and the batch-last columns, for
LeNet-sized layers; the limits in _conv.pyx (_LOOP_MAX_WORK, _BATCH_LAST_MIN_BATCH) were read
off its output.
"""
import argparse
import os
import platform
import statistics
import sys
import time

# PyTorch's OpenMP threads spin after each call; passive waiting keeps the turns independent
# (see bench/matmul.py).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np

import minigrad as mg
import minigrad.nn.functional as MF
from minigrad import nn as mnn

try:
    import torch
    import torch.nn.functional as TF
except ImportError:  # pragma: no cover - torch is an optional comparison
    torch = None

try:  # to time minigrad with numpy's BLAS on one thread too, as torch 1T
    from threadpoolctl import ThreadpoolController

    BLAS = ThreadpoolController().select(user_api="blas")
except ImportError:  # pragma: no cover
    BLAS = None

try:
    import jax
    import jax.numpy as jnp
    import optax
except ImportError:  # pragma: no cover - jax is an optional comparison
    jax = None

BATCHES = (1, 32, 256)
BATCH_SECONDS = 5e-3
PAUSE_SECONDS = 0.02
CONVS = {"conv1": (1, 6, 5, 2, 8), "conv2": (6, 16, 3, 1, 4)}  # in, out, k, padding, size


# ---------------------------------------------------------------------------------------------
# Timing
# ---------------------------------------------------------------------------------------------


class Timed:
    """A contender: ``fn`` runs one call; ``enter`` prepares the process for it (threads) and
    ``leave`` undoes that."""

    def __init__(self, fn, enter=None, leave=None):
        self.fn, self.enter, self.leave = fn, enter, leave
        self.samples = []      # wall-clock seconds per call, one per turn
        self.cpu_samples = []  # the process's CPU seconds per call (all its threads)
        self.number = 1


def calls_per_batch(fn):
    number = 1
    while True:
        start = time.perf_counter()
        for _ in range(number):
            fn()
        elapsed = time.perf_counter() - start
        if elapsed >= BATCH_SECONDS or number >= 1 << 16:
            return max(1, int(number * BATCH_SECONDS / max(elapsed, 1e-9)))
        number *= 2


def time_round_robin(contenders, turns, cpu=False):
    """{name: (median seconds per call, interquartile range)}, the contenders timed in turns
    (wall clock; with ``cpu``, the process's CPU time instead)."""
    for c in contenders.values():
        if c.enter:
            c.enter()
        c.fn()  # warm up (caches, allocations, jit)
        c.number = calls_per_batch(c.fn)
        if c.leave:
            c.leave()
    order = list(contenders.values())
    for turn in range(turns):
        # A new order each turn, and a pause before each contender: threads left spinning by
        # the previous one (OpenBLAS, XLA's pool) would otherwise always slow the same next one.
        rotation = turn % len(order)
        for c in order[rotation:] + order[:rotation]:
            time.sleep(PAUSE_SECONDS)
            if c.enter:
                c.enter()
            start, start_cpu = time.perf_counter(), time.process_time()
            for _ in range(c.number):
                c.fn()
            c.samples.append((time.perf_counter() - start) / c.number)
            c.cpu_samples.append((time.process_time() - start_cpu) / c.number)
            if c.leave:
                c.leave()
    result = {}
    for name, c in contenders.items():
        samples = c.cpu_samples if cpu else c.samples
        q1, _, q3 = statistics.quantiles(samples, n=4)
        result[name] = (statistics.median(samples), q3 - q1)
    return result


# ---------------------------------------------------------------------------------------------
# Workloads
# ---------------------------------------------------------------------------------------------


def lenet(lib):
    nn = lib.nn
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(64, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10))


def data(batch, channels, size, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, channels, size, size)).astype(np.float32)
    return x, rng.integers(0, 10, batch)


def conv_step(lib, F, layer, x, grad):
    """forward and backward of one convolution layer; returns the callable."""
    def step():
        x.grad = None
        layer.weight.grad = layer.bias.grad = None
        layer(x).backward(grad)
    return step


def mg_contenders(workload, batch):
    if workload == "lenet step":
        model = lenet(mg)
        opt = mg.optim.Adam(model.parameters(), lr=1e-3)
        x, y = data(batch, 1, 8)
        x, y = mg.tensor(x), mg.tensor(y)

        def step():
            opt.zero_grad()
            MF.cross_entropy(model(x), y).backward()
            opt.step()
        return step
    cin, cout, k, pad, size = CONVS[workload]
    layer = mnn.Conv2d(cin, cout, k, padding=pad)
    x, _ = data(batch, cin, size)
    grad = np.random.default_rng(1).standard_normal((batch, cout, size, size)).astype(np.float32)
    return conv_step(mg, MF, layer, mg.tensor(x, requires_grad=True), mg.tensor(grad))


def torch_contender(workload, batch):
    if workload == "lenet step":
        model = lenet(torch)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        x, y = data(batch, 1, 8)
        x, y = torch.tensor(x), torch.tensor(y)

        def step():
            opt.zero_grad()
            TF.cross_entropy(model(x), y).backward()
            opt.step()
        return step
    cin, cout, k, pad, size = CONVS[workload]
    layer = torch.nn.Conv2d(cin, cout, k, padding=pad)
    x, _ = data(batch, cin, size)
    grad = np.random.default_rng(1).standard_normal((batch, cout, size, size)).astype(np.float32)
    return conv_step(torch, TF, layer, torch.tensor(x, requires_grad=True), torch.tensor(grad))


def jax_contender(workload, batch):
    """The same computation, jitted: the conv layer's three gradients; the LeNet step with
    optax.adam. Results are blocked on, so the time includes the computation."""
    def conv(x, w, b, pad):
        y = jax.lax.conv_general_dilated(x, w, (1, 1), [(pad, pad), (pad, pad)],
                                         dimension_numbers=("NCHW", "OIHW", "NCHW"))
        return y + b[None, :, None, None]

    rng = np.random.default_rng(0)
    if workload != "lenet step":
        cin, cout, k, pad, size = CONVS[workload]
        x, _ = data(batch, cin, size)
        w = jnp.asarray(rng.standard_normal((cout, cin, k, k)).astype(np.float32))
        b = jnp.zeros(cout, jnp.float32)
        g = jnp.asarray(rng.standard_normal((batch, cout, size, size)).astype(np.float32))

        @jax.jit
        def grads(x, w, b, g):
            _, vjp = jax.vjp(lambda x, w, b: conv(x, w, b, pad), x, w, b)
            return vjp(g)

        x = jnp.asarray(x)
        return lambda: jax.block_until_ready(grads(x, w, b, g))

    def init(shape, fan_in):
        bound = 1 / np.sqrt(fan_in)
        return jnp.asarray(rng.uniform(-bound, bound, shape).astype(np.float32))

    params = {"c1w": init((6, 1, 5, 5), 25), "c1b": init((6,), 25),
              "c2w": init((16, 6, 3, 3), 54), "c2b": init((16,), 54),
              "f1w": init((64, 120), 64), "f1b": init((120,), 64),
              "f2w": init((120, 84), 120), "f2b": init((84,), 120),
              "f3w": init((84, 10), 84), "f3b": init((10,), 84)}

    def pool(x):
        return jax.lax.reduce_window(x, -jnp.inf, jax.lax.max, (1, 1, 2, 2), (1, 1, 2, 2),
                                     "VALID")

    def loss_fn(p, x, y):
        x = pool(jax.nn.relu(conv(x, p["c1w"], p["c1b"], 2)))
        x = pool(jax.nn.relu(conv(x, p["c2w"], p["c2b"], 1)))
        x = x.reshape(x.shape[0], -1)
        x = jax.nn.relu(x @ p["f1w"] + p["f1b"])
        x = jax.nn.relu(x @ p["f2w"] + p["f2b"])
        logits = x @ p["f3w"] + p["f3b"]
        return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()

    optimizer = optax.adam(1e-3)
    state = {"params": params, "opt": optimizer.init(params)}

    @jax.jit
    def update(params, opt_state, x, y):
        grads = jax.grad(loss_fn)(params, x, y)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state

    x, y = data(batch, 1, 8)
    x, y = jnp.asarray(x), jnp.asarray(y)

    def step():
        state["params"], state["opt"] = jax.block_until_ready(
            update(state["params"], state["opt"], x, y))
    return step


# ---------------------------------------------------------------------------------------------
# The table
# ---------------------------------------------------------------------------------------------


def fmt(seconds, spread):
    value, unit = (seconds * 1e3, "ms") if seconds >= 1e-3 else (seconds * 1e6, "us")
    half = spread / 2 * (1e3 if unit == "ms" else 1e6)
    return f"{value:6.1f} {unit} +-{half:5.1f}"


def environment():
    lines = [(f"python {platform.python_version()}, numpy {np.__version__}, minigrad "
             f"{mg.__version__}, {os.cpu_count()} cpus, load average "
             f"{' '.join(f'{v:.1f}' for v in os.getloadavg())}")]
    try:
        from threadpoolctl import threadpool_info
        blas = [f"{i['internal_api']} {i.get('version')} ({i['num_threads']} threads)"
                for i in threadpool_info() if i["user_api"] == "blas"]
        lines.append("numpy BLAS: " + ", ".join(blas))
    except ImportError:
        lines.append("numpy BLAS: (threadpoolctl not installed: threads unknown)")
    if torch is not None:
        lines.append(f"torch {torch.__version__}, default threads {DEFAULT_THREADS}")
    lines.append(f"jax {jax.__version__} ({jax.default_backend()})" if jax is not None
                 else "jax not installed: no jax.jit column")
    return lines


def blas_threads(n):
    return lambda: BLAS.limit(limits=n)


def run_table(turns):
    print("\n".join(environment()))
    names = ["minigrad"]
    if BLAS is not None:
        names.append("minigrad 1T")
        default_blas = BLAS.lib_controllers[0].num_threads if BLAS.lib_controllers else 1
    if torch is not None:
        names += ["torch 1T", f"torch {DEFAULT_THREADS}T"]
    if jax is not None:
        names += ["jax.jit"]
    rows = []
    for workload in ("conv1", "conv2", "lenet step"):
        for batch in BATCHES:
            contenders = {"minigrad": Timed(mg_contenders(workload, batch))}
            if BLAS is not None:
                contenders["minigrad 1T"] = Timed(mg_contenders(workload, batch),
                                                  blas_threads(1), blas_threads(default_blas))
            if torch is not None:
                contenders["torch 1T"] = Timed(torch_contender(workload, batch),
                                               lambda: torch.set_num_threads(1))
                contenders[f"torch {DEFAULT_THREADS}T"] = Timed(
                    torch_contender(workload, batch),
                    lambda: torch.set_num_threads(DEFAULT_THREADS))
            if jax is not None:
                contenders["jax.jit"] = Timed(jax_contender(workload, batch))
            time_round_robin(contenders, turns)
            rows.append((workload, batch, contenders))
            print(f"  timed {workload} at batch {batch}", file=sys.stderr, flush=True)
    if torch is not None:
        torch.set_num_threads(DEFAULT_THREADS)
    for title, cpu in (("wall-clock time per call", False),
                       ("CPU time per call (the process, all threads)", True)):
        print_table(title, names, rows, cpu)
    print(f"\nload average at the end: {' '.join(f'{v:.1f}' for v in os.getloadavg())}")


def summary(samples):
    q1, _, q3 = statistics.quantiles(samples, n=4)
    return statistics.median(samples), q3 - q1


def print_table(title, names, rows, cpu):
    header = f"{'workload':12s} {'batch':>5s} " + " ".join(f"{n:>20s}" for n in names)
    if torch is not None:
        header += f" {'mg/torch' + str(DEFAULT_THREADS) + 'T':>10s}"
        header += f" {'mg1T/torch1T':>12s}" if BLAS is not None else f" {'mg/torch1T':>10s}"
    print(f"\n{title}: median +- half the interquartile range\n")
    print(header)
    print("-" * len(header))
    for workload, batch, contenders in rows:
        result = {n: summary(c.cpu_samples if cpu else c.samples)
                  for n, c in contenders.items()}
        row = f"{workload:12s} {batch:5d} " + " ".join(f"{fmt(*result[n]):>20s}" for n in names)
        if torch is not None:
            mine = result["minigrad"][0]
            row += f" {mine / result[f'torch {DEFAULT_THREADS}T'][0]:10.2f}"
            if BLAS is not None:
                row += f" {result['minigrad 1T'][0] / result['torch 1T'][0]:12.2f}"
            else:
                row += f" {mine / result['torch 1T'][0]:10.2f}"
        print(row)


# ---------------------------------------------------------------------------------------------
# Crossovers of the compiled kernels
# ---------------------------------------------------------------------------------------------


def run_crossover(turns):
    from minigrad._kernels import compiled_module

    conv = compiled_module("_conv")
    print("\n".join(environment()))
    print("\nconv2d forward + input grad + weight grad, float32: C-loop products against BLAS,"
          "\nthen standard against batch-last columns (both with the default product choice)")
    print(f"{'layer':6s} {'batch':>5s} {'product (m,k,n)':>18s} {'work':>9s} "
          f"{'loop':>18s} {'blas':>18s} {'loop/blas':>9s} {'standard':>18s} "
          f"{'batch-last':>18s} {'bl/std':>7s}")
    for name, (cin, cout, k, pad, size) in CONVS.items():
        for batch in (1, 2, 4, 8, 16, 32, 64, 128, 256):
            x, _ = data(batch, cin, size)
            w = np.random.default_rng(1).standard_normal((cout, cin, k, k)).astype(np.float32)
            g = np.random.default_rng(2).standard_normal(
                (batch, cout, size, size)).astype(np.float32)
            geometry = ((1, 1), ((pad, pad), (pad, pad)), (1, 1), 1)

            def under(loop=None, batch_last=None, x=x, w=w, g=g, k=k, size=size,
                      geometry=geometry):
                """All three kernels of this layer with the given crossovers."""
                def fn():
                    old = conv._set_limits(loop, batch_last)
                    try:
                        conv.conv2d(x, w, None, *geometry)
                        conv.conv2d_input_grad(g, w, (size, size), *geometry)
                        conv.conv2d_weight_grad(x, g, (k, k), *geometry)
                    finally:
                        conv._set_limits(*old)
                return fn

            result = time_round_robin({
                "loop": Timed(under(loop=10**12)), "blas": Timed(under(loop=0)),
                "standard": Timed(under(batch_last=10**9)),
                "batch-last": Timed(under(batch_last=1))}, turns)
            m, kk, n = cout, cin * k * k, batch * size * size
            print(f"{name:6s} {batch:5d} {(m, kk, n)!s:>18s} {m * kk * (n + 8):9d} "
                  f"{fmt(*result['loop']):>18s} {fmt(*result['blas']):>18s} "
                  f"{result['loop'][0] / result['blas'][0]:9.2f} "
                  f"{fmt(*result['standard']):>18s} {fmt(*result['batch-last']):>18s} "
                  f"{result['batch-last'][0] / result['standard'][0]:7.2f}", flush=True)


DEFAULT_THREADS = torch.get_num_threads() if torch is not None else None


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer turns")
    parser.add_argument("--crossover", action="store_true",
                        help="time the kernel crossovers instead of the table")
    parser.add_argument("--turns", type=int, default=None)
    args = parser.parse_args(argv)
    turns = args.turns or (5 if args.quick else 21)
    if args.crossover:
        run_crossover(turns)
    else:
        run_table(turns)


if __name__ == "__main__":
    sys.exit(main())
