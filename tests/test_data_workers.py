"""DataLoader with worker processes: batches, order, seeding, worker_init_fn,
get_worker_info, persistent workers, prefetching, errors, dead and slow workers, start methods.

Every loader here that could wait on a worker has ``timeout=`` set, so a bug fails the test
with "timed out" instead of hanging the suite; datasets are tiny and workers are 2 (the
machine has 2 cores).
"""
import gc
import multiprocessing
import os
import pickle
import random
import signal
import time

import numpy as np
import pytest

import minigrad as mg
import minigrad.utils.data as mdata
from minigrad.random import Generator
from minigrad.utils.data import DataLoader, Dataset, IterableDataset, get_worker_info

GUARD = 20  # seconds: the loaders' own timeout, far above what any test needs

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork (POSIX)")


# Module-level datasets and functions, so the 'spawn' start method can pickle them.

class Probe(Dataset):
    """Sample i: what the worker that loads it knows about itself."""

    def __init__(self, n=8):
        self.n = n
        self.calls = 0

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        info = get_worker_info()
        self.calls += 1
        return {
            "i": i,
            "pid": os.getpid(),
            "id": -1 if info is None else info.id,
            "num_workers": -1 if info is None else info.num_workers,
            "seed": -1 if info is None else info.seed,
            "own_copy": info is not None and info.dataset is self,
            "calls": self.calls,
            "init": _INIT_RECORD.get("worker_id", -1),
            "python": random.random(),
            "minigrad": float(mg.rand(1).item()),
            "numpy": float(np.random.rand()),
        }


_INIT_RECORD = {}


def record_init(worker_id):
    _INIT_RECORD["worker_id"] = worker_id
    _INIT_RECORD["info_id"] = get_worker_info().id


def _column(batches, key):
    return [v for b in batches for v in (b[key].tolist() if hasattr(b[key], "tolist")
                                         else b[key])]


def _fork_loader(dataset, **kwargs):
    kwargs.setdefault("timeout", GUARD)
    kwargs.setdefault("multiprocessing_context", "fork")
    return DataLoader(dataset, **kwargs)


# --------------------------------------------------------------------------------------------
# Batches and order
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("batch_size", [None, 1, 3])
def test_worker_batches_equal_main_process_batches(batch_size):
    ds = mdata.TensorDataset(mg.arange(22.0).reshape(11, 2), mg.arange(11))
    main = list(DataLoader(ds, batch_size=batch_size))
    workers = list(_fork_loader(ds, batch_size=batch_size, num_workers=2))
    assert len(main) == len(workers) == len(DataLoader(ds, batch_size=batch_size))
    for a, b in zip(main, workers):
        for ta, tb in zip(a, b):
            assert ta.dtype == tb.dtype and ta.shape == tb.shape
            np.testing.assert_array_equal(ta.numpy(), tb.numpy())


def test_batches_come_in_sampler_order_and_round_robin():
    batches = list(_fork_loader(Probe(10), batch_size=2, num_workers=2))
    assert _column(batches, "i") == list(range(10))
    # Batch k goes to worker k % num_workers, as in PyTorch.
    assert [b["id"].tolist()[0] for b in batches] == [0, 1, 0, 1, 0]
    pids = {b["id"].tolist()[0]: b["pid"].tolist()[0] for b in batches}
    assert len(set(pids.values())) == 2 and os.getpid() not in pids.values()


def test_shuffled_order_does_not_depend_on_num_workers():
    ds = mdata.TensorDataset(mg.arange(30))
    orders = []
    for workers in (0, 1, 2):
        mg.manual_seed(3)
        loader = DataLoader(ds, batch_size=4, shuffle=True, num_workers=workers,
                            timeout=GUARD if workers else 0)
        orders.append([v for b in loader for v in b[0].tolist()])
    assert orders[0] == orders[1] == orders[2] != list(range(30))


class Slow(Dataset):
    """Sample 0 takes ``delay`` seconds, the others none."""

    def __init__(self, n=6, delay=1.0):
        self.n, self.delay = n, delay

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if i == 0:
            time.sleep(self.delay)
        return i


def test_in_order_false_yields_ready_batches_first():
    loader = _fork_loader(Slow(delay=1.5), batch_size=1, num_workers=2, in_order=False)
    got = [b.item() for b in loader]
    assert sorted(got) == list(range(6))
    assert got[0] != 0  # sample 0 was still sleeping when the others were ready
    in_order = [b.item() for b in _fork_loader(Slow(delay=0.2), batch_size=1, num_workers=2)]
    assert in_order == list(range(6))


def test_prefetch_is_bounded_by_prefetch_factor():
    context = multiprocessing.get_context("fork")
    fetched = context.Value("i", 0)

    class Counting(Dataset):
        def __len__(self):
            return 40

        def __getitem__(self, i):
            with fetched.get_lock():
                fetched.value += 1
            return i

    for prefetch_factor in (1, 3):
        fetched.value = 0
        it = iter(_fork_loader(Counting(), batch_size=1, num_workers=2,
                               prefetch_factor=prefetch_factor))
        next(it)
        time.sleep(0.3)  # time for the workers to run ahead as far as they are allowed
        # At most prefetch_factor * num_workers tasks out, plus the one sent as batch 0 left.
        assert 1 <= fetched.value <= prefetch_factor * 2 + 1
        del it


# --------------------------------------------------------------------------------------------
# worker_init_fn, get_worker_info, seeds
# --------------------------------------------------------------------------------------------

def test_worker_init_fn_runs_once_in_each_worker_before_loading():
    batches = list(_fork_loader(Probe(6), batch_size=1, num_workers=2,
                                worker_init_fn=record_init))
    assert [b["init"].item() for b in batches] == [b["id"].item() for b in batches]
    assert sorted({b["init"].item() for b in batches}) == [0, 1]
    assert "worker_id" not in _INIT_RECORD  # it ran in the workers, not here


def test_get_worker_info():
    assert get_worker_info() is None
    batches = list(_fork_loader(Probe(4), batch_size=1, num_workers=2))
    for b in batches:
        assert b["num_workers"].item() == 2
        assert b["own_copy"].tolist() == [True]
    seeds = {b["id"].item(): b["seed"].item() for b in batches}
    assert seeds[1] == seeds[0] + 1  # base_seed + worker_id
    info = mdata._worker.WorkerInfo(id=0, num_workers=1, seed=5, dataset=None)
    with pytest.raises(AttributeError):
        info.id = 3  # frozen, as PyTorch's


def _first_by_worker(batches, key):
    return {b["id"].item(): b[key].item() for b in reversed(batches)}


def test_each_worker_seeds_python_minigrad_and_numpy_like_torch():
    batches = list(_fork_loader(Probe(4), batch_size=1, num_workers=2))
    seeds = _first_by_worker(batches, "seed")
    base_seed = seeds[0]
    for worker_id, seed in seeds.items():
        first = next(b for b in batches if b["id"].item() == worker_id)
        assert first["python"].item() == random.Random(seed).random()
        assert first["minigrad"].item() == pytest.approx(
            float(np.random.default_rng(seed).random(1, dtype=np.float32)[0]))
        state = mdata._worker._numpy_seed(base_seed, worker_id)
        assert first["numpy"].item() == np.random.RandomState(state).random_sample()
    torch = pytest.importorskip("torch")
    from torch.utils.data._utils.worker import _generate_state
    for worker_id in (0, 1, 5):
        for base in (0, base_seed, 2**63 - 2):
            assert (mdata._worker._numpy_seed(base, worker_id).tolist()
                    == _generate_state(base, worker_id))
    del torch


def test_base_seed_comes_from_the_loaders_generator():
    def worker0_seed(**kwargs):
        batches = list(_fork_loader(Probe(2), batch_size=1, num_workers=2, **kwargs))
        return _first_by_worker(batches, "seed")[0]

    expected = int(np.random.default_rng(8).integers(2**63 - 1, dtype=np.int64))
    assert worker0_seed(generator=Generator().manual_seed(8)) == expected
    mg.manual_seed(8)
    assert worker0_seed() == expected  # default: minigrad's global generator
    mg.manual_seed(8)
    loader = _fork_loader(Probe(2), batch_size=1, num_workers=2)
    first = _first_by_worker(list(loader), "seed")[0]
    second = _first_by_worker(list(loader), "seed")[0]
    assert first == expected and second != first  # a new base_seed per epoch


# --------------------------------------------------------------------------------------------
# Persistent workers, shutdown
# --------------------------------------------------------------------------------------------

def test_persistent_workers_keep_processes_dataset_copies_and_rng_state():
    loader = _fork_loader(Probe(4), batch_size=1, num_workers=2, persistent_workers=True)
    first, second = list(loader), list(loader)
    assert _column(first, "pid") == _column(second, "pid")
    assert _column(first, "seed") == _column(second, "seed")  # seeded once
    # Each worker's dataset copy counts its calls across epochs: 1, 2 then 3, 4.
    assert _column(first, "calls") == [1, 1, 2, 2] and _column(second, "calls") == [3, 3, 4, 4]
    assert _column(first, "python") != _column(second, "python")  # RNG state carried on
    iterator = loader._iterator
    assert iter(loader) is iterator
    processes = list(iterator._workers)
    assert all(p.is_alive() for p in processes)
    next(iter(loader))  # abandon an epoch half-way: the next one starts clean
    assert _column(list(loader), "i") == [0, 1, 2, 3]
    del loader, iterator
    gc.collect()
    for p in processes:
        p.join(timeout=GUARD)
        assert not p.is_alive()


def test_non_persistent_workers_are_new_each_epoch_and_stop_after_it():
    loader = _fork_loader(Probe(4), batch_size=2, num_workers=2)
    it = iter(loader)
    batches = list(it)
    for p in it._workers:
        assert not p.is_alive()
    assert set(_column(batches, "pid")).isdisjoint(_column(list(loader), "pid"))


def test_breaking_out_early_stops_the_workers():
    it = iter(_fork_loader(Probe(40), batch_size=1, num_workers=2))
    next(it)
    processes = list(it._workers)
    del it
    gc.collect()
    for p in processes:
        p.join(timeout=GUARD)
        assert not p.is_alive()


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------

class Failing(Dataset):
    def __init__(self, exc_type=ValueError, at=2):
        self.exc_type, self.at = exc_type, at

    def __len__(self):
        return 6

    def __getitem__(self, i):
        if i == self.at:
            raise self.exc_type(f"bad sample {i}")
        return i


@pytest.mark.parametrize("exc_type", [ValueError, KeyError, IndexError, ZeroDivisionError])
def test_worker_error_is_reraised_with_its_type_and_traceback(exc_type):
    loader = _fork_loader(Failing(exc_type), batch_size=1, num_workers=2)
    got = []
    with pytest.raises(exc_type) as caught:
        for batch in loader:
            got.append(batch.item())
    message = str(caught.value)
    assert got == [0, 1]  # the batches before the bad one, in order
    assert message.startswith(f"Caught {exc_type.__name__} in DataLoader worker process 0.\n"
                              f"Original Traceback (most recent call last):")
    assert "bad sample 2" in message and "__getitem__" in message
    if exc_type is KeyError:
        assert "\\n" not in repr(caught.value)  # readable, not one escaped line


def test_worker_error_message_matches_torch():
    torch = pytest.importorskip("torch")

    class TorchFailing(torch.utils.data.Dataset):
        def __len__(self):
            return 6

        def __getitem__(self, i):
            if i == 3:
                raise ValueError("bad sample 3")
            return i

    def first_line(make_loader):
        with pytest.raises(ValueError) as caught:
            list(make_loader())
        return str(caught.value).splitlines()[:2]

    theirs = first_line(lambda: torch.utils.data.DataLoader(
        TorchFailing(), num_workers=2, timeout=GUARD, multiprocessing_context="fork"))
    ours = first_line(lambda: _fork_loader(Failing(at=3), num_workers=2))
    assert ours == theirs == ["Caught ValueError in DataLoader worker process 1.",
                              "Original Traceback (most recent call last):"]


def failing_init(worker_id):
    raise RuntimeError(f"init failed in {worker_id}")


def test_worker_init_fn_error_is_reported():
    with pytest.raises(RuntimeError, match=r"Caught RuntimeError in DataLoader worker process "
                                           r"0\.(.|\n)*init failed in 0"):
        list(_fork_loader(Probe(4), num_workers=2, worker_init_fn=failing_init))


class Killer(Dataset):
    def __init__(self, how):
        self.how = how

    def __len__(self):
        return 8

    def __getitem__(self, i):
        if i == 3:
            if self.how == "kill":
                os.kill(os.getpid(), signal.SIGKILL)
            os._exit(3)
        return i


@pytest.mark.parametrize("how, message", [("kill", r"is killed by signal: Killed"),
                                          ("exit", r"exited unexpectedly")])
def test_dead_worker_raises_runtime_error_at_once(how, message):
    start = time.monotonic()
    with pytest.raises(RuntimeError, match=r"DataLoader worker \(pid(\(s\))? \d+\) " + message):
        list(_fork_loader(Killer(how), num_workers=2))
    assert time.monotonic() - start < GUARD / 2  # reported, not found by the timeout


def test_dead_worker_with_no_timeout_does_not_hang():
    loader = DataLoader(Killer("kill"), num_workers=2, multiprocessing_context="fork")
    assert loader.timeout == 0
    with pytest.raises(RuntimeError, match="killed by signal"):
        list(loader)


def test_persistent_loader_recovers_after_a_dead_worker():
    class KillOnce(Dataset):
        def __init__(self, flag):
            self.flag = flag

        def __len__(self):
            return 4

        def __getitem__(self, i):
            if i == 1 and self.flag.value == 0:
                self.flag.value = 1
                os.kill(os.getpid(), signal.SIGKILL)
            return i

    flag = multiprocessing.get_context("fork").Value("i", 0)
    loader = _fork_loader(KillOnce(flag), num_workers=2, persistent_workers=True)
    with pytest.raises(RuntimeError, match="killed by signal"):
        list(loader)
    assert [b.item() for b in loader] == [0, 1, 2, 3]  # new workers for the next epoch


def test_timeout_raises_runtime_error():
    loader = _fork_loader(Slow(delay=3.0), batch_size=1, num_workers=1, timeout=0.3)
    start = time.monotonic()
    with pytest.raises(RuntimeError, match=r"DataLoader timed out after 0.3 seconds"):
        list(loader)
    assert time.monotonic() - start < 2.5


def unpicklable_collate(samples):
    return lambda: samples


def test_unpicklable_batch_is_an_error_not_a_hang():
    with pytest.raises((pickle.PicklingError, AttributeError, TypeError),
                       match="in DataLoader worker process 0"):
        list(_fork_loader(Probe(2), num_workers=1, collate_fn=unpicklable_collate))


# --------------------------------------------------------------------------------------------
# Iterable datasets
# --------------------------------------------------------------------------------------------

def sharded_count(data):
    class Count(data.IterableDataset):
        """0..n-1; each worker takes every num_workers-th value (or all, if shard=False)."""

        def __init__(self, n, shard=True):
            self.n, self.shard = n, shard

        def __iter__(self):
            info = data.get_worker_info()
            if info is None or not self.shard:
                return iter(range(self.n))
            return iter(range(info.id, self.n, info.num_workers))

    return Count


class Count(IterableDataset):
    def __init__(self, n, shard=True):
        self.n, self.shard = n, shard

    def __iter__(self):
        info = get_worker_info()
        if info is None or not self.shard:
            return iter(range(self.n))
        return iter(range(info.id, self.n, info.num_workers))


@pytest.mark.parametrize("kwargs", [{"batch_size": 2}, {"batch_size": 2, "drop_last": True},
                                    {"batch_size": None}, {"batch_size": 3}])
@pytest.mark.parametrize("shard", [True, False])
def test_iterable_dataset_with_workers_matches_torch(kwargs, shard):
    torch = pytest.importorskip("torch")

    def run(data, count):
        loader = data.DataLoader(count(11, shard), num_workers=2, timeout=GUARD,
                                 multiprocessing_context="fork", **kwargs)
        return [b.tolist() if hasattr(b, "tolist") else b for b in loader]

    ours = run(mdata, Count)
    assert ours == run(torch.utils.data, sharded_count(torch.utils.data))
    flat = [v for b in ours for v in (b if isinstance(b, list) else [b])]
    if shard and not kwargs.get("drop_last"):
        assert sorted(flat) == list(range(11))


def test_iterable_dataset_with_persistent_workers_restarts_each_epoch():
    loader = _fork_loader(Count(7), batch_size=2, num_workers=2, persistent_workers=True)
    first = [b.tolist() for b in loader]
    assert first == [[0, 2], [1, 3], [4, 6], [5]]
    assert [b.tolist() for b in loader] == first


# --------------------------------------------------------------------------------------------
# Start methods
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("method", ["spawn", "forkserver"])
def test_other_start_methods(method):
    if method not in multiprocessing.get_all_start_methods():
        pytest.skip(f"{method} is not available here")
    loader = DataLoader(Probe(4), batch_size=1, num_workers=2, timeout=60,
                        multiprocessing_context=multiprocessing.get_context(method),
                        worker_init_fn=record_init)
    batches = list(loader)
    assert _column(batches, "i") == [0, 1, 2, 3]
    assert _column(batches, "init") == _column(batches, "id") == [0, 1, 0, 1]
    seeds = _first_by_worker(batches, "seed")
    assert seeds[1] == seeds[0] + 1
