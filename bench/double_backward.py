"""Gradients of gradients: backward(create_graph=True) in minigrad and PyTorch, side by side.

Cases (float32, small sizes where per-op overhead dominates, as in minigrad's use):
  penalty  WGAN-GP style gradient penalty of an MLP 32-64-1 on a batch of 64:
           g = d out/d x with create_graph, then ((|g| - 1)^2).mean().backward()
  hvp      Hessian-vector product of an MLP 8-32-1 MSE loss w.r.t. its weights:
           g = d loss/d w (create_graph), then d (g . v)/d w
  plain    the same MLP's ordinary backward, for scale (the fast path: no graph of the
           gradient is recorded)

Each step is timed on its own; the two libraries run interleaved in rounds, and the table
shows medians (and the spread over rounds) in microseconds and the ratio minigrad / torch.
PyTorch runs on one thread (the comparison the project uses).

    python bench/double_backward.py [--steps 300] [--rounds 5]
"""
import argparse
import statistics
import time

import numpy as np

import minigrad as mg

try:
    import torch
    torch.set_num_threads(1)
except ImportError:  # pragma: no cover - torch is the benchmark's peer, not a dependency
    torch = None


def make_mlp(lib, sizes, seed):
    rng = np.random.default_rng(seed)
    params = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        bound = 1 / np.sqrt(n_in)
        params.append(lib.tensor(rng.uniform(-bound, bound, (n_out, n_in)).astype(np.float32),
                                 requires_grad=True))
        params.append(lib.tensor(rng.uniform(-bound, bound, (n_out,)).astype(np.float32),
                                 requires_grad=True))
    return params


def forward(lib, params, x):
    F = lib.nn.functional
    h = x
    for i in range(0, len(params) - 2, 2):
        h = F.linear(h, params[i], params[i + 1]).tanh()
    return F.linear(h, params[-2], params[-1])


def penalty_case(lib):
    params = make_mlp(lib, (32, 64, 1), 0)
    x = lib.tensor(np.random.default_rng(1).standard_normal((64, 32)).astype(np.float32),
                   requires_grad=True)

    def step():
        for p in params:
            p.grad = None
        out = forward(lib, params, x).sum()
        g, = lib.autograd.grad(out, x, create_graph=True)
        norm = ((g * g).sum(1) + 1e-12).sqrt()
        ((norm - 1) ** 2).mean().backward()

    return step


def hvp_case(lib):
    params = make_mlp(lib, (8, 32, 1), 2)
    rng = np.random.default_rng(3)
    x = lib.tensor(rng.standard_normal((32, 8)).astype(np.float32))
    y = lib.tensor(rng.standard_normal((32, 1)).astype(np.float32))
    v = [lib.tensor(rng.standard_normal(tuple(p.shape)).astype(np.float32)) for p in params]

    def step():
        loss = lib.nn.functional.mse_loss(forward(lib, params, x), y)
        grads = lib.autograd.grad(loss, params, create_graph=True)
        dot = sum((g * vi).sum() for g, vi in zip(grads, v))
        lib.autograd.grad(dot, params)

    return step


def plain_case(lib):
    params = make_mlp(lib, (8, 32, 1), 2)
    rng = np.random.default_rng(3)
    x = lib.tensor(rng.standard_normal((32, 8)).astype(np.float32))
    y = lib.tensor(rng.standard_normal((32, 1)).astype(np.float32))

    def step():
        for p in params:
            p.grad = None
        lib.nn.functional.mse_loss(forward(lib, params, x), y).backward()

    return step


CASES = {"penalty": penalty_case, "hvp": hvp_case, "plain": plain_case}


def time_steps(step, n):
    times = []
    for _ in range(n):
        start = time.perf_counter_ns()
        step()
        times.append(time.perf_counter_ns() - start)
    return statistics.median(times) / 1000


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    libs = [("minigrad", mg)] + ([("torch", torch)] if torch is not None else [])
    print(f"median us per step over {args.rounds} rounds of {args.steps} (spread: min-max of "
          f"the round medians); torch with 1 thread")
    print(f"{'case':10s} {'minigrad':>22s} {'torch':>22s} {'minigrad/torch':>15s}")
    for name, make in CASES.items():
        steps = {label: make(lib) for label, lib in libs}
        for step in steps.values():
            step()  # warm up (and check it runs)
        rounds = {label: [] for label in steps}
        for _ in range(args.rounds):
            for label, step in steps.items():
                rounds[label].append(time_steps(step, args.steps))
        cells = []
        for label in ("minigrad", "torch"):
            if label in rounds:
                r = rounds[label]
                cells.append(f"{statistics.median(r):8.1f} ({min(r):.0f}-{max(r):.0f})")
            else:
                cells.append("-")
        ratio = (statistics.median(rounds["minigrad"]) / statistics.median(rounds["torch"])
                 if "torch" in rounds else float("nan"))
        print(f"{name:10s} {cells[0]:>22s} {cells[1]:>22s} {ratio:15.2f}")


if __name__ == "__main__":
    main()
