"""Time one training step captured by ``mg.compile`` against the eager step, PyTorch and jax.jit.

Cases (the models of bench/train_step.py):
  seed  Linear(2, 10) -> ReLU -> Linear(10, 1), x (100, 2), MSE, Adam(lr=0.01)
  mlp   Linear(784, 256) -> ReLU -> Linear(256, 10), batch 128, cross-entropy, Adam(lr=1e-3)

Columns (median us per step over interleaved rounds, and the spread: the 25th-75th percentile):
  mg eager      minigrad, the step as written (zero_grad, forward, loss, backward, step)
  mg compiled   the same function through mg.compile (recorded once, replayed)
  torch         PyTorch eager, same model and step, torch.set_num_threads(--threads)
  jax.jit       jax + optax: jit of (loss, grad, adam update), waited on (block_until_ready)
  jax dispatch  the same jitted step dispatched back to back, waited on once per block of
                steps (jax's asynchronous dispatch overlaps them): block time / steps
jax and optax are benchmark peers only (not dependencies); a missing one shows "-".

    python bench/compile.py --threads 1            # the README table
    python bench/compile.py --case seed --profile  # plus a cProfile of one replay
"""
import argparse
import os
import statistics
import sys
import time


def _set_thread_env(argv):
    """--threads N must reach BLAS, OpenMP and XLA before numpy, torch and jax load."""
    for i, arg in enumerate(argv):
        value = arg.split("=", 1)[1] if arg.startswith("--threads=") else (
            argv[i + 1] if arg == "--threads" and i + 1 < len(argv) else None)
        if value is not None:
            for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
                os.environ[var] = value
            if value == "1":
                os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") +
                                           " --xla_cpu_multi_thread_eigen=false"
                                           " intra_op_parallelism_threads=1").strip()


_set_thread_env(sys.argv[1:])

import numpy as np  # after the thread settings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import train_step  # the models, data and initial weights shared with bench/train_step.py

import minigrad as mg
import minigrad.nn.functional as F
from minigrad import nn, optim


def minigrad_steps(case):
    """(eager step, compiled step) on two copies of the same model; each returns the loss."""
    _, _, sizes, loss_name = train_step.CASES[case]
    x_np, y_np = train_step.make_data(case)
    x, y = mg.tensor(x_np), mg.tensor(y_np)
    loss_fn = F.mse_loss if loss_name == "mse" else F.cross_entropy
    steps = []
    for _ in range(2):
        (w1, b1), (w2, b2) = train_step.initial_weights(sizes)
        model = nn.Sequential(nn.Linear(sizes[0], sizes[1]), nn.ReLU(),
                              nn.Linear(sizes[1], sizes[2]))
        model.load_state_dict({"0.weight": mg.tensor(w1), "0.bias": mg.tensor(b1),
                               "2.weight": mg.tensor(w2), "2.bias": mg.tensor(b2)})
        optimizer = optim.Adam(model.parameters(), lr=train_step.LEARNING_RATES[case])

        def step(x, y, model=model, optimizer=optimizer):
            optimizer.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            optimizer.step()
            return loss
        steps.append(step)
    eager, compiled = steps[0], mg.compile(steps[1])
    return (lambda: eager(x, y)), (lambda: compiled(x, y))


def jax_step(case):
    try:
        import jax
        import jax.numpy as jnp
        import optax
    except ImportError:
        return None
    _, _, sizes, loss_name = train_step.CASES[case]
    x_np, y_np = train_step.make_data(case)
    (w1, b1), (w2, b2) = train_step.initial_weights(sizes)
    params = {"w1": jnp.asarray(w1), "b1": jnp.asarray(b1), "w2": jnp.asarray(w2),
              "b2": jnp.asarray(b2)}
    tx = optax.adam(train_step.LEARNING_RATES[case])
    state = [params, tx.init(params)]
    x, y = jnp.asarray(x_np), jnp.asarray(y_np)

    def loss_fn(p, x, y):
        h = jnp.maximum(x @ p["w1"].T + p["b1"], 0)
        o = h @ p["w2"].T + p["b2"]
        if loss_name == "mse":
            return jnp.mean((o - y) ** 2)
        logp = jax.nn.log_softmax(o)
        return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1))

    @jax.jit
    def update(params, opt_state, x, y):
        loss, grads = jax.value_and_grad(loss_fn)(params, x, y)
        updates, opt_state = tx.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    def step():
        state[0], state[1], loss = update(state[0], state[1], x, y)
        return loss.block_until_ready()

    def dispatch():
        state[0], state[1], loss = update(state[0], state[1], x, y)
        return loss
    # time_interleaved times a block of dispatches, then waits for the last one
    dispatch.finish = lambda loss: loss.block_until_ready()
    return step, dispatch


def check_agreement(case):
    """Eager and compiled minigrad agree bit for bit over 20 steps."""
    eager, compiled = minigrad_steps(case)
    for _ in range(20):
        a, b = eager().numpy(), compiled().numpy()
        if not np.array_equal(a, b):
            raise AssertionError(f"{case}: compiled loss {b} differs from eager {a}")


def time_interleaved(steps_by_name, steps, rounds, warmup):
    samples = {name: [] for name in steps_by_name}
    for step in steps_by_name.values():
        for _ in range(warmup):
            step()
    clock = time.perf_counter_ns
    for _ in range(rounds):
        for name, step in steps_by_name.items():
            times = samples[name]
            finish = getattr(step, "finish", None)
            if finish is not None:  # back to back: one sample per block, waited on at its end
                start = clock()
                for _ in range(steps):
                    last = step()
                finish(last)
                times.append((clock() - start) / steps)
                continue
            for _ in range(steps):
                start = clock()
                step()
                times.append(clock() - start)
    return {name: (statistics.median(t) / 1000, np.percentile(t, 25) / 1000,
                   np.percentile(t, 75) / 1000) for name, t in samples.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--case", choices=[*train_step.CASES, "all"], default="all")
    parser.add_argument("--steps", type=int, default=None,
                        help="steps per implementation per round (default: 400 seed, 40 mlp)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args(argv)
    cases = list(train_step.CASES) if args.case == "all" else [args.case]
    try:
        import torch
    except ImportError:
        torch = None
    if args.threads and torch is not None:
        torch.set_num_threads(args.threads)
    try:
        import jax
        jax_version = jax.__version__
    except ImportError:
        jax_version = "absent"
    print(f"python {sys.version.split()[0]}, numpy {np.__version__}, minigrad {mg.__version__}, "
          f"torch {torch.__version__ if torch else 'absent'}"
          f"{f' ({torch.get_num_threads()} threads)' if torch else ''}, jax {jax_version}, "
          f"threads: {os.environ.get('OPENBLAS_NUM_THREADS', 'default')}")
    names = {"eager": "mg eager", "compiled": "mg compiled", "torch": "torch", "jax": "jax.jit",
             "jax_dispatch": "jax dispatch"}
    rows = {}
    for case in cases:
        check_agreement(case)
        steps = args.steps or (400 if case == "seed" else 40)
        eager, compiled = minigrad_steps(case)
        impls = {"eager": eager, "compiled": compiled}
        if torch is not None:
            impls["torch"] = train_step.torch_step(case)
        jax_impls = jax_step(case)
        if jax_impls is not None:
            impls["jax"], impls["jax_dispatch"] = jax_impls
        rows[case] = time_interleaved(impls, steps, args.rounds, warmup=max(10, steps // 4))
    print("median us per training step [25th-75th percentile]")
    header = f"{'case':36s}" + "".join(f"{names[k]:>24s}" for k in names) + \
        f"{'eager/compiled':>15s}{'torch/compiled':>15s}{'jax/compiled':>13s}" \
        f"{'dispatch/compiled':>18s}"
    print(header)
    print("-" * len(header))
    for case, r in rows.items():
        cells = ""
        for key in names:
            if key in r:
                median, low, high = r[key]
                cell = f" {median:.1f} [{low:.1f}-{high:.1f}]"
                cells += f"{cell:>24s}"
            else:
                cells += f"{'-':>24s}"
        compiled = r["compiled"][0]
        ratios = f"{r['eager'][0] / compiled:14.2f}x"
        ratios += f"{r['torch'][0] / compiled:14.2f}x" if "torch" in r else f"{'-':>15s}"
        ratios += f"{r['jax'][0] / compiled:12.2f}x" if "jax" in r else f"{'-':>13s}"
        ratios += (f"{r['jax_dispatch'][0] / compiled:17.2f}x" if "jax_dispatch" in r
                   else f"{'-':>18s}")
        print(f"{train_step.CASES[case][0]:36s}{cells}{ratios}")
    if args.profile:
        import cProfile
        import pstats
        for case in cases:
            _, compiled = minigrad_steps(case)
            for _ in range(20):
                compiled()
            profiler = cProfile.Profile()
            profiler.runcall(lambda step=compiled: [step() for _ in range(2000)])
            pstats.Stats(profiler).sort_stats("tottime").print_stats(15)


if __name__ == "__main__":
    main()
