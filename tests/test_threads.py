"""Threads and the buffer pool of the kernels (minigrad/_threads.py, _kernels/_runtime.pyx).

- mg.set_num_threads / mg.get_num_threads behave as PyTorch's (same exceptions, messages).
- Every kernel that splits its loop across threads gives the same bits on 1, 2 and 3 threads
  (each thread computes its elements exactly as the serial loop does; the sum splits its
  fixed summation tree, not the data), and agrees with its numpy twin, in float32 and float64.
- Large kernel outputs come from the pool: ordinary numpy arrays that own their data, freed
  back to the pool, reused by the next allocation of their size class, with numpy's own
  allocator (and everything outside the kernels) left alone.
"""
import multiprocessing
import os
import sys

import numpy as np
import pytest

import minigrad as mg
from minigrad import _kernels
from minigrad._kernels import _runtime, reference

FLOATS = (np.float32, np.float64)
# Above every parallel threshold (2 x 65536 elements for the cheapest loops), and not a
# multiple of 16 x 3, so that the last chunk is a short one.
N = 300_007


@pytest.fixture
def restore_threads():
    before = mg.get_num_threads()
    yield
    mg.set_num_threads(before)


# ---------------------------------------------------------------------------------------------
# set_num_threads / get_num_threads
# ---------------------------------------------------------------------------------------------


BAD_THREADS = [0, -1, -(2**31), True, 1.5, "2", None, 2**31, -(2**31) - 1, 2**63]


@pytest.mark.parametrize("value", BAD_THREADS, ids=repr)
def test_set_num_threads_rejects_what_torch_rejects(value, restore_threads):
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    try:
        with pytest.raises(Exception) as expected:
            torch.set_num_threads(value)
    finally:
        torch.set_num_threads(before)
    with pytest.raises(type(expected.value)) as got:
        mg.set_num_threads(value)
    assert str(got.value) == str(expected.value)
    assert mg.get_num_threads() == before or mg.get_num_threads() >= 1


@pytest.mark.parametrize("value", [1, 2, 3, np.int64(2)], ids=repr)
def test_set_num_threads_round_trips_like_torch(value, restore_threads):
    torch = pytest.importorskip("torch")
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(value)
        expected = torch.get_num_threads()
    finally:
        torch.set_num_threads(before)
    assert mg.set_num_threads(value) is None
    assert mg.get_num_threads() == expected
    assert type(mg.get_num_threads()) is int
    assert _runtime.get_threads() == expected


def test_default_thread_count_follows_omp_num_threads():
    code = "import minigrad as mg; print(mg.get_num_threads())"
    env = dict(os.environ, OMP_NUM_THREADS="3")
    import subprocess

    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=120, check=True)
    assert out.stdout.strip() == "3"


def test_names_are_exported():
    assert "set_num_threads" in mg.__all__ and "get_num_threads" in mg.__all__


# ---------------------------------------------------------------------------------------------
# Threaded kernels equal single-threaded ones
# ---------------------------------------------------------------------------------------------


def _data(rng, dtype, shape=(N,), low=-3.0, high=3.0):
    return rng.uniform(low, high, shape).astype(dtype)


def _kernel_cases(rng, dtype):
    """(name, call(K), reference call) for every kernel with a parallel loop."""
    x = _data(rng, dtype)
    y = _data(rng, dtype)
    pos = _data(rng, dtype, low=0.1, high=4.0)
    m = _data(rng, dtype, (601, 997))
    row = _data(rng, dtype, (997,))
    col = _data(rng, dtype, (601, 1))
    one = _data(rng, dtype, (1,))
    sig = 1 / (1 + np.exp(-x))
    th = np.tanh(x)
    cases = []
    for op in ("add", "sub", "mul", "div"):
        cases += [(f"{op} same shape", op, (x, y)), (f"{op} row", op, (m, row)),
                  (f"{op} row first", op, (row, m)), (f"{op} column", op, (m, col)),
                  (f"{op} column first", op, (col, m)), (f"{op} size-1", op, (x, one)),
                  (f"{op} number", op, (x, 1.7)), (f"{op} number first", op, (1.7, x))]
    for op in ("relu", "exp", "tanh", "sigmoid", "sqrt", "sin", "erf", "expm1", "sign"):
        cases.append((op, op, (pos if op == "sqrt" else x,)))
    cases += [("log", "log", (pos,)), ("leaky_relu", "leaky_relu", (x, 0.01)),
              ("relu_backward", "relu_backward", (x, y)),
              ("leaky_relu_backward", "leaky_relu_backward", (x, y, 0.2)),
              ("sigmoid_backward", "sigmoid_backward", (sig, y)),
              ("tanh_backward", "tanh_backward", (th, y)),
              ("sum_all", "sum_all", (x,)), ("sum_all matrix", "sum_all", (m,)),
              ("sum_backward all", "sum_backward", (np.asarray(x[0]), (601, 997), None, False)),
              ("sum_backward rows", "sum_backward", (row, (601, 997), 0, False)),
              ("sum_backward cols", "sum_backward", (col[:, 0], (601, 997), 1, False)),
              ("sum_backward few rows", "sum_backward", (_data(rng, dtype, (3, 1)),
                                                         (3, 200_000), 1, True))]
    return cases


CASE_NAMES = [name for name, _, _ in _kernel_cases(np.random.default_rng(0), np.float32)]


@pytest.mark.parametrize("dtype", FLOATS, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("case", CASE_NAMES)
def test_threaded_kernel_equals_single_threaded(case, dtype, restore_threads):
    rng = np.random.default_rng(abs(hash(case)) % 2**32)
    _, kernel_name, args = next(c for c in _kernel_cases(rng, dtype) if c[0] == case)
    _kernels.use("cython")
    kernel = getattr(_kernels.kernels, kernel_name)
    mg.set_num_threads(1)
    serial = kernel(*args)
    results = {}
    for threads in (2, 3, 7):
        mg.set_num_threads(threads)
        results[threads] = kernel(*args)
    for threads, got in results.items():
        assert got.dtype == serial.dtype and got.shape == serial.shape
        np.testing.assert_array_equal(got, serial, err_msg=f"{threads} threads")
        assert got.tobytes() == serial.tobytes(), f"{threads} threads: not the same bits"
    # ... and the threaded result is the numpy twin's (exactly for arithmetic, copies and
    # relu; within the twins' usual tolerance for math functions and sums)
    expected = getattr(reference, kernel_name)(*args)
    exact = kernel_name in ("add", "sub", "mul", "div", "relu", "leaky_relu", "relu_backward",
                            "leaky_relu_backward", "sum_backward", "sign")
    if exact:
        np.testing.assert_array_equal(results[2], expected)
    else:
        tol = 1e-5 if dtype == np.float32 else 1e-12
        scale = np.abs(args[0]).sum() if kernel_name == "sum_all" else 1.0
        np.testing.assert_allclose(results[2], expected, rtol=tol, atol=tol * scale)


def test_the_build_reports_openmp():
    from minigrad._kernels._build_options import BUILD_OPTIONS

    assert BUILD_OPTIONS.get("openmp", False) == _runtime.OPENMP


def test_threads_do_not_change_a_training_step(restore_threads):
    """The same few Adam steps of an MLP big enough to split, with the kernels on 1 and on 2
    threads (BLAS kept on one: its results may depend on its own split): the same bits."""
    mg.set_num_threads(1)

    def train(threads):
        _runtime.set_threads(threads)
        mg.manual_seed(0)
        model = mg.nn.Sequential(mg.nn.Linear(64, 1024), mg.nn.Sigmoid(),
                                 mg.nn.Linear(1024, 10))
        opt = mg.optim.Adam(model.parameters(), lr=1e-3)
        x = mg.tensor(np.random.default_rng(1).standard_normal((512, 64), dtype=np.float32))
        y = mg.tensor(np.random.default_rng(2).integers(0, 10, 512))
        losses = []
        for _ in range(3):
            opt.zero_grad()
            loss = mg.nn.functional.cross_entropy(model(x), y) + model(x).tanh().sum() * 1e-4
            loss.backward()
            opt.step()
            losses.append(loss.item())
        return losses, [p.detach().numpy().copy() for p in model.parameters()]

    l1, p1 = train(1)
    l2, p2 = train(2)
    assert l1 == l2
    for a, b in zip(p1, p2):
        np.testing.assert_array_equal(a, b)


def _child_threads(queue):
    x = np.ones(N, np.float32)
    queue.put((mg.get_num_threads(), float(_kernels.kernels.sum_all(x))))


@pytest.mark.skipif(not hasattr(os, "fork") or sys.platform == "darwin",
                    reason="fork start method")
def test_forked_child_after_a_parallel_loop_runs_on_one_thread(restore_threads):
    mg.set_num_threads(2)
    _kernels.kernels.add(np.ones(N, np.float32), np.ones(N, np.float32))  # a parallel region
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_child_threads, args=(queue,))
    child.start()
    child.join(60)
    assert child.exitcode == 0, "the forked child hung or failed"
    threads, total = queue.get(timeout=10)
    assert total == N
    assert threads == (1 if _runtime.parallel_region_used() else 2)


# ---------------------------------------------------------------------------------------------
# The buffer pool
# ---------------------------------------------------------------------------------------------


def _handler_name(array=None):
    from numpy._core.multiarray import get_handler_name

    return get_handler_name() if array is None else get_handler_name(array)


@pytest.fixture
def cython_kernels():
    _kernels.use("cython")
    yield _kernels.kernels


def test_large_outputs_are_ordinary_arrays_from_the_pool(cython_kernels):
    K = cython_kernels
    x = np.random.default_rng(0).standard_normal(100_000).astype(np.float32)
    y = K.relu(x)
    assert _handler_name(y) == "minigrad_pool"
    assert y.flags.owndata and y.flags.c_contiguous and y.flags.writeable
    assert y.base is None
    np.testing.assert_array_equal(y, np.maximum(x, 0))
    # numpy operations on it, views of it and copies behave as on any array
    z = y.reshape(100, 1000)[::2]
    assert z.base is y
    y2 = y.copy()
    assert _handler_name(y2) != "minigrad_pool"  # numpy's allocation: numpy's handler
    y += 1
    np.testing.assert_array_equal(y, y2 + 1)


def test_small_outputs_and_everything_else_use_numpys_allocator(cython_kernels):
    K = cython_kernels
    small = K.relu(np.ones(10, np.float32))
    assert _handler_name(small) != "minigrad_pool"
    big = K.add(np.ones(10**5), np.ones(10**5))
    assert _handler_name(big) == "minigrad_pool"
    # the process-wide (context) handler is never swapped: numpy's own arrays are numpy's
    assert _handler_name() == "default_allocator"
    assert _handler_name(np.empty(10**6)) == "default_allocator"


def test_freed_blocks_are_reused_and_released(cython_kernels):
    K = cython_kernels
    x = np.ones(200_000, np.float64)
    _runtime.empty_pool()
    y = K.exp(x)
    hits = _runtime.pool_stats()["hits"]
    del y
    cached = _runtime.pool_stats()["cached_bytes"]
    assert cached >= x.nbytes
    y = K.exp(x)  # the same size class: the block just freed
    assert _runtime.pool_stats()["hits"] == hits + 1
    np.testing.assert_allclose(y, np.e)
    del y
    assert _runtime.empty_pool() >= x.nbytes
    assert _runtime.pool_stats()["cached_bytes"] == 0


def test_pool_limit_caps_what_is_cached(cython_kernels):
    K = cython_kernels
    old = _runtime.set_pool_limit(0)
    try:
        y = K.exp(np.ones(200_000))
        del y
        assert _runtime.pool_stats()["cached_bytes"] == 0
        with pytest.raises(ValueError):
            _runtime.set_pool_limit(-1)
    finally:
        _runtime.set_pool_limit(old)


@pytest.mark.parametrize("nbytes", [0, 8, 32767, 32768, 40000, 1 << 20, (1 << 20) + 8])
def test_pool_size_classes_hold_the_request(nbytes):
    """Every size gets a block at least as large (written to the last byte, read back)."""
    n = nbytes // 8
    a = _runtime.empty((n,), np.float64)
    a[:] = np.arange(n)
    np.testing.assert_array_equal(a, np.arange(n))
    assert a.shape == (n,) and a.dtype == np.float64


def test_pooled_array_can_be_resized_and_pickled():
    import pickle

    a = _runtime.empty((10_000,), np.float32)
    a[:] = 3
    a.resize((20_000,), refcheck=False)  # numpy reallocates through the array's handler
    assert a.shape == (20_000,)
    np.testing.assert_array_equal(a[:10_000], 3)
    np.testing.assert_array_equal(a[10_000:], 0)
    b = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(a, b)
    a.resize((5,), refcheck=False)
    np.testing.assert_array_equal(a, 3)


def test_pool_empty_checks_its_arguments():
    with pytest.raises(TypeError):
        _runtime.empty((3,), np.int64)
    with pytest.raises(ValueError):
        _runtime.empty((-1,), np.float32)


def test_training_step_reuses_its_buffers(cython_kernels):
    """After a warm-up step, a step of an MLP with 1 MiB activations takes every large
    buffer from the pool (the page faults this removes are counted in bench/scaling.py)."""
    model = mg.nn.Sequential(mg.nn.Linear(64, 1024), mg.nn.ReLU(), mg.nn.Linear(1024, 10))
    opt = mg.optim.Adam(model.parameters())
    x = mg.randn(256, 64)
    y = mg.randint(0, 10, (256,))

    def step():
        opt.zero_grad()
        mg.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()

    step()
    step()
    before = _runtime.pool_stats()
    step()
    after = _runtime.pool_stats()
    assert after["misses"] == before["misses"]
    assert after["hits"] >= before["hits"] + 4  # two activations, two gradients
