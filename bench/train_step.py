"""Time one training step (forward + loss + backward + optimizer step) four ways, side by side.

Cases:
  seed  the network of seed 000 section 4: x (100, 2), Linear(2, 10) -> ReLU -> Linear(10, 1),
        MSE, Adam(lr=0.01). Tiny arrays: the time is per-call overhead, not arithmetic.
  mlp   an MLP 784 -> 256 -> ReLU -> 10 on a batch of 128, cross-entropy, Adam(lr=1e-3).
        Mostly two matmuls per layer: the time is arithmetic (BLAS).

Columns:
  minigrad (cython)   minigrad with its compiled kernels (the default backend)
  minigrad (numpy)    the same code on the plain-numpy reference kernels (_kernels.use('numpy'))
  PyTorch eager       the same model and step in torch (if installed), float32, default threads
  numpy by hand       forward, backward and Adam written out in numpy: no graph, no Tensor
                      objects, the floor for a Python-driven step on numpy arrays
and the ratios PyTorch / minigrad (how many times faster minigrad is) and minigrad / by hand
(minigrad's overhead over hand-written numpy).

Every step is timed on its own (time.perf_counter_ns); the table shows the median. The
implementations run interleaved, a block of steps each in turn, for several rounds, so that a
slow patch of the machine hits all of them alike. All steps use float32.

    python bench/train_step.py                 # the table
    python bench/train_step.py --profile       # plus a cProfile of the minigrad step
    python bench/train_step.py --steps 500 --rounds 5 --case seed
    python bench/train_step.py --threads 1      # one BLAS/OpenMP thread everywhere

On a busy machine, multi-threaded BLAS (numpy's OpenBLAS, PyTorch's OpenMP) loses far more than
single-threaded code when its threads wait for a core: use --threads 1 for stable ratios.
"""
import argparse
import cProfile
import os
import pstats
import statistics
import sys
import time


def _set_thread_env(argv):
    """--threads N must reach the BLAS libraries before numpy and torch load them."""
    for i, arg in enumerate(argv):
        value = arg.split("=", 1)[1] if arg.startswith("--threads=") else (
            argv[i + 1] if arg == "--threads" and i + 1 < len(argv) else None)
        if value is not None:
            for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
                os.environ[var] = value


_set_thread_env(sys.argv[1:])

import numpy as np  # after the thread settings

import minigrad as mg
import minigrad.nn.functional as F
from minigrad import _kernels, nn, optim

CASES = {
    # name: (description, batch, sizes, loss)
    "seed": ("seed net 2-10-1, 100x2, MSE, Adam", 100, (2, 10, 1), "mse"),
    "mlp": ("MLP 784-256-10, batch 128, CE, Adam", 128, (784, 256, 10), "ce"),
}
LEARNING_RATES = {"seed": 0.01, "mlp": 1e-3}


def make_data(case):
    _, batch, sizes, loss = CASES[case]
    rng = np.random.default_rng(0)
    x = rng.random((batch, sizes[0]), dtype=np.float32)
    if loss == "mse":
        y = (x @ np.array([[2.0], [3.0]], np.float32) + rng.random((batch, 1),
                                                                   dtype=np.float32))
    else:
        y = rng.integers(0, sizes[-1], size=batch).astype(np.int64)
    return x, y


def initial_weights(sizes):
    """PyTorch's default Linear init, U(-1/sqrt(in), 1/sqrt(in)), as numpy float32 arrays."""
    rng = np.random.default_rng(1)
    weights = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        bound = 1 / np.sqrt(fan_in)
        weights.append((rng.uniform(-bound, bound, (fan_out, fan_in)).astype(np.float32),
                        rng.uniform(-bound, bound, fan_out).astype(np.float32)))
    return weights


# ----------------------------------------------------------------------------------------
# The four implementations: each returns a step() closure
# ----------------------------------------------------------------------------------------

def minigrad_step(case):
    _, _, sizes, loss_name = CASES[case]
    x_np, y_np = make_data(case)
    x, y = mg.tensor(x_np), mg.tensor(y_np)
    (w1, b1), (w2, b2) = initial_weights(sizes)
    model = nn.Sequential(nn.Linear(sizes[0], sizes[1]), nn.ReLU(),
                          nn.Linear(sizes[1], sizes[2]))
    model.load_state_dict({"0.weight": mg.tensor(w1), "0.bias": mg.tensor(b1),
                           "2.weight": mg.tensor(w2), "2.bias": mg.tensor(b2)})
    optimizer = optim.Adam(model.parameters(), lr=LEARNING_RATES[case])
    loss_fn = F.mse_loss if loss_name == "mse" else F.cross_entropy

    def step():
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        return loss.item()

    return step


def torch_step(case):
    import torch

    _, _, sizes, loss_name = CASES[case]
    x_np, y_np = make_data(case)
    x, y = torch.from_numpy(x_np), torch.from_numpy(y_np)
    (w1, b1), (w2, b2) = initial_weights(sizes)
    model = torch.nn.Sequential(torch.nn.Linear(sizes[0], sizes[1]), torch.nn.ReLU(),
                                torch.nn.Linear(sizes[1], sizes[2]))
    model.load_state_dict({"0.weight": torch.from_numpy(w1), "0.bias": torch.from_numpy(b1),
                           "2.weight": torch.from_numpy(w2), "2.bias": torch.from_numpy(b2)})
    optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATES[case])
    loss_fn = torch.nn.functional.mse_loss if loss_name == "mse" \
        else torch.nn.functional.cross_entropy

    def step():
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        return loss.item()

    return step


def numpy_step(case):
    """Forward, backward and Adam for Linear -> ReLU -> Linear, written out in numpy.

    Forward:   h = x W1^T + b1,  a = max(h, 0),  o = a W2^T + b2
    MSE:       L = mean((o - y)^2),               dL/do = 2 (o - y) / o.size
    CE:        L = mean(logsumexp(o) - o[y]),     dL/do = (softmax(o) - onehot(y)) / N
    Backward:  dW2 = g^T a, db2 = sum g, da = g W2, dh = da [h > 0], dW1 = dh^T x, db1 = sum dh
    Adam:      PyTorch's update (see minigrad/optim/adam.py), in place.

    As fast as plain numpy gets: the four parameters are views into one flat array, their
    gradients are written (``out=``) into views of another, so Adam is a handful of whole-array
    operations on the flat buffers instead of a loop over the parameters.
    """
    _, batch, sizes, loss_name = CASES[case]
    x, y = make_data(case)
    weights = [a for pair in initial_weights(sizes) for a in pair]   # W1, b1, W2, b2
    flat = np.concatenate([a.ravel() for a in weights])
    grad_flat = np.zeros_like(flat)
    views, grad_views, offset = [], [], 0
    for a in weights:
        views.append(flat[offset:offset + a.size].reshape(a.shape))
        grad_views.append(grad_flat[offset:offset + a.size].reshape(a.shape))
        offset += a.size
    w1, b1, w2, b2 = views
    g_w1, g_b1, g_w2, g_b2 = grad_views
    exp_avg, exp_avg_sq = np.zeros_like(flat), np.zeros_like(flat)
    scratch = np.empty_like(flat)
    lr, beta1, beta2, eps = LEARNING_RATES[case], 0.9, 0.999, 1e-8
    rows = np.arange(batch)
    t = [0]

    def step():
        h = x @ w1.T
        h += b1
        a = np.maximum(h, 0)
        o = a @ w2.T
        o += b2
        if loss_name == "mse":
            g = o - y
            loss = float(np.vdot(g, g)) / g.size
            g *= np.float32(2 / g.size)
        else:
            m = o.max(axis=1, keepdims=True)
            g = o - m
            np.exp(g, out=g)
            s = g.sum(axis=1, keepdims=True)
            loss = float(np.mean(np.log(s[:, 0]) + m[:, 0] - o[rows, y]))
            g /= s
            g[rows, y] -= 1
            g *= np.float32(1 / batch)
        np.matmul(g.T, a, out=g_w2)
        np.sum(g, axis=0, out=g_b2)
        dh = g @ w2
        dh *= h > 0
        np.matmul(dh.T, x, out=g_w1)
        np.sum(dh, axis=0, out=g_b1)
        t[0] += 1
        step_size = lr / (1 - beta1 ** t[0])
        bias_correction2_sqrt = np.sqrt(1 - beta2 ** t[0])
        # (out= rather than augmented assignment: these arrays belong to the enclosing scope)
        np.multiply(exp_avg, beta1, out=exp_avg)                # m = b1 m + (1 - b1) g
        np.multiply(grad_flat, 1 - beta1, out=scratch)
        np.add(exp_avg, scratch, out=exp_avg)
        np.multiply(exp_avg_sq, beta2, out=exp_avg_sq)          # v = b2 v + (1 - b2) g^2
        np.multiply(grad_flat, grad_flat, out=scratch)
        np.multiply(scratch, 1 - beta2, out=scratch)
        np.add(exp_avg_sq, scratch, out=exp_avg_sq)
        np.sqrt(exp_avg_sq, out=scratch)                        # sqrt(v) / sqrt(1 - b2^t) + eps
        np.divide(scratch, bias_correction2_sqrt, out=scratch)
        np.add(scratch, eps, out=scratch)
        np.divide(exp_avg, scratch, out=scratch)                # p -= lr / (1 - b1^t) m / denom
        np.multiply(scratch, step_size, out=scratch)
        np.subtract(flat, scratch, out=flat)
        return loss

    return step


# ----------------------------------------------------------------------------------------
# Timing
# ----------------------------------------------------------------------------------------

def with_backend(name, step):
    """Wrap a minigrad step so the kernel backend is switched before its block of steps."""
    step.backend = name
    return step


def time_interleaved(steps_by_name, steps, rounds, warmup):
    """Median microseconds per step for each implementation, run in turns."""
    samples = {name: [] for name in steps_by_name}
    for name, step in steps_by_name.items():
        if hasattr(step, "backend"):
            _kernels.use(step.backend)
        for _ in range(warmup):
            step()
    clock = time.perf_counter_ns
    for _ in range(rounds):
        for name, step in steps_by_name.items():
            if hasattr(step, "backend"):
                _kernels.use(step.backend)
            times = samples[name]
            for _ in range(steps):
                start = clock()
                step()
                times.append(clock() - start)
    _kernels.use("cython")
    return {name: statistics.median(times) / 1000 for name, times in samples.items()}


def check_agreement(case, have_torch, steps=5):
    """The implementations compute the same thing: their first losses agree (float32)."""
    makers = {"minigrad": minigrad_step, "numpy by hand": numpy_step}
    if have_torch:
        makers["PyTorch"] = torch_step
    _kernels.use("cython")
    losses = {}
    for name, make in makers.items():
        step = make(case)
        losses[name] = [step() for _ in range(steps)]
    reference = np.array(losses["minigrad"])
    for name, values in losses.items():
        if not np.allclose(values, reference, rtol=1e-3):
            raise AssertionError(f"{case}: {name} losses {values} differ from minigrad's "
                                 f"{reference.tolist()}")


def profile_minigrad(case, steps):
    _kernels.use("cython")
    step = minigrad_step(case)
    for _ in range(20):
        step()
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(steps):
        step()
    profiler.disable()
    stats = pstats.Stats(profiler)
    rows = []
    for (filename, line, function), (_, ncalls, tottime, cumtime, _) in stats.stats.items():
        short = os.path.join(*filename.split(os.sep)[-2:]) if os.sep in filename else filename
        rows.append((tottime, cumtime, ncalls, f"{short}:{line}({function})"))
    rows.sort(reverse=True)
    total = sum(r[0] for r in rows)
    print(f"\ncProfile of the minigrad (cython) step, case {case!r}, {steps} steps "
          f"(profiler overhead inflates small functions; compare shares, not totals):")
    print(f"  total {total / steps * 1e6:8.1f} us/step under the profiler")
    print(f"  {'own us/step':>11s} {'cum us/step':>11s} {'calls/step':>10s}  function")
    for tottime, cumtime, ncalls, name in rows[:25]:
        print(f"  {tottime / steps * 1e6:11.2f} {cumtime / steps * 1e6:11.2f} "
              f"{ncalls / steps:10.1f}  {name}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--case", choices=[*CASES, "all"], default="all")
    parser.add_argument("--steps", type=int, default=None,
                        help="steps per implementation per round (default: 400 seed, 40 mlp)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--profile", action="store_true", help="cProfile the minigrad step")
    parser.add_argument("--threads", type=int, default=None,
                        help="BLAS / OpenMP / torch threads (default: the libraries' own)")
    args = parser.parse_args(argv)
    cases = list(CASES) if args.case == "all" else [args.case]

    try:
        import torch
    except ImportError:
        torch = None
    if args.threads and torch is not None:
        torch.set_num_threads(args.threads)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    if load > (os.cpu_count() or 1):
        print(f"warning: load average {load:.1f} on {os.cpu_count()} cores: other processes "
              f"compete for the CPU; multi-threaded BLAS suffers most (try --threads 1)")
    print(f"python {sys.version.split()[0]}, numpy {np.__version__}, minigrad "
          f"{mg.__version__}, torch "
          + (f"{torch.__version__} ({torch.get_num_threads()} threads)" if torch else "absent")
          + f", BLAS threads: {os.environ.get('OPENBLAS_NUM_THREADS', 'default')}")

    header = (f"{'case':38s} {'minigrad (cython)':>17s} {'minigrad (numpy)':>16s} "
              f"{'PyTorch eager':>13s} {'numpy by hand':>13s} {'PyTorch/mg':>10s} "
              f"{'mg/by hand':>10s}")
    results = {}
    for case in cases:
        check_agreement(case, torch is not None)
        steps = args.steps or (400 if case == "seed" else 40)
        impls = {
            "cython": with_backend("cython", minigrad_step(case)),
            "numpy": with_backend("numpy", minigrad_step(case)),
            "hand": numpy_step(case),
        }
        if torch is not None:
            impls["torch"] = torch_step(case)
        results[case] = time_interleaved(impls, steps, args.rounds, warmup=max(10, steps // 4))

    print("median us per training step (forward + loss + backward + optimizer step)")
    print(header)
    print("-" * len(header))
    for case, r in results.items():
        torch_us = r.get("torch")
        torch_text = f"{torch_us:13.1f}" if torch_us else f"{'-':>13s}"
        ratio = f"{torch_us / r['cython']:9.2f}x" if torch_us else f"{'-':>10s}"
        print(f"{CASES[case][0]:38s} {r['cython']:17.1f} {r['numpy']:16.1f} {torch_text} "
              f"{r['hand']:13.1f} {ratio} {r['cython'] / r['hand']:9.2f}x")

    if args.profile:
        for case in cases:
            profile_minigrad(case, 2000 if case == "seed" else 200)


if __name__ == "__main__":
    main()
