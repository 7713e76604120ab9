"""Training-step grid: minigrad eager beside PyTorch (1 thread) and jax.jit, with page faults.

Every cell trains the same network, x (batch, 64) -> Linear(64, hidden) -> ReLU ->
Linear(hidden, 10), cross-entropy, Adam(lr=1e-3), float32, for batch 1..2048 and hidden
16..1024. Engines:

  minigrad      eager minigrad (zero_grad, forward, loss, backward, Adam step)
  mg.compile    the same step through ``mg.compile`` (a column only where it exists)
  torch         PyTorch eager, torch.set_num_threads(1)
  jax.jit       jax.jit of the whole step with optax.adam, waited on (block_until_ready);
                jax is optional: the column is left out when it cannot be imported

The engines run interleaved, a block of steps each in turn, for several rounds, so that a slow
patch of this shared machine hits all of them alike. A cell prints, per engine, the median
microseconds per step over the rounds; ``ratio`` columns are engine / torch (below 1: faster
than PyTorch) and ``spread`` is the inter-quartile range of minigrad's ratio to torch over the
rounds, as a percentage of its median. ``flt`` is the minor page faults per step
(resource.getrusage ru_minflt, measured over the engine's blocks after warm-up): a step that
maps memory the previous step gave back to the operating system faults once per 4 KiB page.

    python bench/scaling.py                     # the full grid
    python bench/scaling.py --quick             # fewer cells and rounds: a few minutes
    python bench/scaling.py --cells 256x1024 2048x128
    python bench/scaling.py --threads 2         # BLAS/OpenMP threads of every engine

jax is installed in /work/venv only on the development machine: run the grid with that
interpreter and this tree on PYTHONPATH (PYTHONPATH=. /work/venv/bin/python bench/scaling.py).
"""
import argparse
import os
import resource
import statistics
import sys
import time


def _threads_from_argv(argv):
    for i, arg in enumerate(argv):
        if arg.startswith("--threads="):
            return arg.split("=", 1)[1]
        if arg == "--threads" and i + 1 < len(argv):
            return argv[i + 1]
    return "1"


# Thread counts must reach OpenBLAS, OpenMP and XLA before the libraries load.
_THREADS = _threads_from_argv(sys.argv[1:])
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = _THREADS
if _THREADS == "1":
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "")
                               + " --xla_cpu_multi_thread_eigen=false"
                               + " intra_op_parallelism_threads=1").strip()

import numpy as np

# Imported in the worker process of the engine that needs it (see _worker).
mg = torch = None

IN_FEATURES, CLASSES = 64, 10
BATCHES = (1, 8, 64, 256, 1024, 2048)
HIDDEN = (16, 64, 128, 256, 1024)
QUICK_BATCHES = (1, 64, 256, 2048)
QUICK_HIDDEN = (16, 128, 1024)


def n_in(hidden):
    """The input width: IN_FEATURES, or hidden itself when IN_FEATURES is 0."""
    return IN_FEATURES or hidden


def make_problem(batch, hidden):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, n_in(hidden)), dtype=np.float32)
    y = rng.integers(0, CLASSES, size=batch).astype(np.int64)
    weights = []
    for fan_in, fan_out in ((n_in(hidden), hidden), (hidden, CLASSES)):
        bound = 1 / np.sqrt(fan_in)
        weights.append(rng.uniform(-bound, bound, (fan_out, fan_in)).astype(np.float32))
        weights.append(rng.uniform(-bound, bound, fan_out).astype(np.float32))
    return x, y, weights


def minigrad_step(batch, hidden):
    x_np, y_np, (w1, b1, w2, b2) = make_problem(batch, hidden)
    x, y = mg.tensor(x_np), mg.tensor(y_np)
    model = mg.nn.Sequential(mg.nn.Linear(n_in(hidden), hidden), mg.nn.ReLU(),
                             mg.nn.Linear(hidden, CLASSES))
    model.load_state_dict({"0.weight": mg.tensor(w1), "0.bias": mg.tensor(b1),
                           "2.weight": mg.tensor(w2), "2.bias": mg.tensor(b2)})
    optimizer = mg.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = mg.nn.functional.cross_entropy

    def step():
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        return loss

    return step


def compiled_step(batch, hidden):
    step = minigrad_step(batch, hidden)
    return mg.compile(step)


def torch_step(batch, hidden):
    x_np, y_np, (w1, b1, w2, b2) = make_problem(batch, hidden)
    x, y = torch.from_numpy(x_np), torch.from_numpy(y_np)
    model = torch.nn.Sequential(torch.nn.Linear(n_in(hidden), hidden), torch.nn.ReLU(),
                                torch.nn.Linear(hidden, CLASSES))
    model.load_state_dict({"0.weight": torch.from_numpy(w1), "0.bias": torch.from_numpy(b1),
                           "2.weight": torch.from_numpy(w2), "2.bias": torch.from_numpy(b2)})
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.functional.cross_entropy

    def step():
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        return loss

    return step


def jax_step(batch, hidden):
    import jax
    import jax.numpy as jnp
    import optax

    x_np, y_np, (w1, b1, w2, b2) = make_problem(batch, hidden)
    x, y = jnp.asarray(x_np), jnp.asarray(y_np)
    params = {"w1": jnp.asarray(w1), "b1": jnp.asarray(b1),
              "w2": jnp.asarray(w2), "b2": jnp.asarray(b2)}
    tx = optax.adam(1e-3)

    def loss_fn(p):
        h = jax.nn.relu(x @ p["w1"].T + p["b1"])
        logits = h @ p["w2"].T + p["b2"]
        return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()

    @jax.jit
    def train(p, state):
        loss, grads = jax.value_and_grad(loss_fn)(p)
        updates, state = tx.update(grads, state, p)
        return optax.apply_updates(p, updates), state, loss

    holder = [params, tx.init(params)]

    def step():
        holder[0], holder[1], loss = train(holder[0], holder[1])
        loss.block_until_ready()
        return loss

    return step


ENGINES = {"minigrad": minigrad_step, "mg.compile": compiled_step, "torch": torch_step,
           "jax.jit": jax_step}


def _faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def _worker(engine, threads, in_features, conn):
    """One engine in its own process: its heap is its own, as in a program that uses only
    that library (in one process, another library's allocations keep the heap grown and
    hide the page faults of an engine that gives its memory back every step)."""
    global IN_FEATURES, mg, torch
    IN_FEATURES = in_features
    if engine in ("minigrad", "mg.compile"):
        import minigrad as mg
        if hasattr(mg, "set_num_threads"):
            mg.set_num_threads(threads)
    elif engine == "torch":
        import torch
        torch.set_num_threads(threads)
    make = ENGINES[engine]
    step = None
    while True:
        command, *args = conn.recv()
        if command == "stop":
            return
        try:
            if command == "build":
                step = None
                step = make(*args)
                for _ in range(3):  # compile, warm the caches, reach the steady state
                    step()
                conn.send(None)
            elif command == "run":
                (block,) = args
                f0 = _faults()
                t0 = time.perf_counter()
                for _ in range(block):
                    step()
                conn.send((time.perf_counter() - t0, _faults() - f0))
        except Exception as exc:  # noqa: BLE001 - reported in the table, the others go on
            conn.send(exc)


class Engine:
    """A worker process running one engine's steps on request."""

    def __init__(self, name, threads):
        import multiprocessing

        context = multiprocessing.get_context("spawn")
        self.name = name
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_worker, args=(name, threads, IN_FEATURES, child),
                                       daemon=True)
        self.process.start()

    def ask(self, *message):
        self.conn.send(message)
        answer = self.conn.recv()
        if isinstance(answer, Exception):
            raise answer
        return answer

    def stop(self):
        self.conn.send(("stop",))
        self.process.join(10)


def time_cell(engines, batch, hidden, budget, rounds):
    """{engine: (median us per step, [us per step per round], faults per step)}."""
    for engine in engines:
        engine.ask("build", batch, hidden)
    elapsed, _ = engines[0].ask("run", 1)
    block = max(1, min(2000, int(budget / rounds / max(elapsed, 1e-6))))
    samples = {engine.name: [] for engine in engines}
    faults = {engine.name: 0 for engine in engines}
    for _ in range(rounds):
        for engine in engines:
            seconds, flt = engine.ask("run", block)
            samples[engine.name].append(seconds / block * 1e6)
            faults[engine.name] += flt
    return {name: (statistics.median(s), s, faults[name] / (block * rounds))
            for name, s in samples.items()}


def _spread(ours, theirs):
    ratios = [a / b for a, b in zip(ours, theirs)]
    if len(ratios) < 2:
        return 0.0
    q1, _, q3 = statistics.quantiles(ratios, n=4)
    return (q3 - q1) / statistics.median(ratios)


def _importable(name):
    import importlib.util

    return importlib.util.find_spec(name) is not None


def main():
    global IN_FEATURES
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer cells, shorter blocks")
    parser.add_argument("--cells", nargs="*", default=None,
                        help="cells as BATCHxHIDDEN (default: the grid)")
    parser.add_argument("--threads", type=int, default=1,
                        help="threads of every engine (default 1)")
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--in-features", type=int, default=IN_FEATURES,
                        help="input features (0: the same as hidden)")
    parser.add_argument("--engines", nargs="*", default=None,
                        help="engines to time (default: every one that imports)")
    args = parser.parse_args()
    IN_FEATURES = args.in_features
    if not _importable("torch"):
        sys.exit("bench/scaling.py compares with PyTorch: pip install torch")
    if args.cells:
        cells = [tuple(int(v) for v in cell.lower().split("x")) for cell in args.cells]
    else:
        batches, hidden = (QUICK_BATCHES, QUICK_HIDDEN) if args.quick else (BATCHES, HIDDEN)
        cells = [(b, h) for b in batches for h in hidden]
    rounds = args.rounds or (5 if args.quick else 9)
    budget = 0.5 if args.quick else 2.0  # seconds per engine and cell

    import minigrad

    names = ["minigrad"]
    if hasattr(minigrad, "compile"):
        names.append("mg.compile")
    names.append("torch")
    if _importable("jax") and _importable("optax"):
        names.append("jax.jit")
    else:
        print("(jax/optax not importable: no jax.jit column)")
    if args.engines:
        names = [n for n in names if n in args.engines or n in ("minigrad", "torch")]
    engines = [Engine(name, args.threads) for name in names]

    versions = [f"minigrad {minigrad.__version__} from {os.path.dirname(minigrad.__file__)}",
                f"numpy {np.__version__}"]
    for module in ("torch", "jax"):
        if module == "torch" or "jax.jit" in names:
            versions.append(f"{module} {__import__(module).__version__}")
    print(", ".join(versions) + f"; {args.threads} thread(s) in every engine; float32; "
          f"in={IN_FEATURES or 'hidden'}, classes={CLASSES}; one process per engine")
    print("us = median microseconds per step over the rounds; ratio = engine / torch; "
          "spread = IQR of minigrad/torch, % of it; flt = minor page faults per step")
    head = f"{'batch':>5} {'hidden':>6} |"
    for name in names:
        head += f" {name + ' us':>13} {'flt':>6} |"
    for name in names:
        if name != "torch":
            head += f" {name[:8] + '/t':>10}"
    head += f" {'spread':>6}"
    print(head)
    print("-" * len(head))
    worst = []
    try:
        for batch, hidden in cells:
            try:
                result = time_cell(engines, batch, hidden, budget, rounds)
            except Exception as exc:  # noqa: BLE001 - a failing peer must not hide the rest
                print(f"{batch:>5} {hidden:>6} | failed: {type(exc).__name__}: {exc}")
                continue
            line = f"{batch:>5} {hidden:>6} |"
            for name in names:
                us, _, flt = result[name]
                line += f" {us:13.1f} {flt:6.0f} |"
            torch_us = result["torch"][0]
            for name in names:
                if name != "torch":
                    line += f" {result[name][0] / torch_us:10.2f}"
            line += f" {_spread(result['minigrad'][1], result['torch'][1]):6.0%}"
            print(line)
            sys.stdout.flush()
            worst.append((result["minigrad"][0] / torch_us, batch, hidden))
    finally:
        for engine in engines:
            engine.stop()
    worst.sort(reverse=True)
    print("\nslowest minigrad/torch cells:",
          ", ".join(f"{b}x{h}: {r:.2f}" for r, b, h in worst[:6]))


if __name__ == "__main__":
    main()
