"""``DataLoader``: a dataset, a sampler and a collate function make an iterable of batches,
loaded in the main process (``num_workers=0``) or by worker processes.

How a batch is made (PyTorch's pipeline): the sampler orders the indices (``SequentialSampler``,
``RandomSampler`` when ``shuffle=True``, or yours); a ``BatchSampler`` groups them
``batch_size`` at a time (or your ``batch_sampler`` does); a fetcher gets the samples of one
group and ``collate_fn`` merges them (``default_collate`` by default). With
``batch_size=None`` there is no grouping: each sample goes through ``collate_fn``
(``default_convert`` by default) alone. An ``IterableDataset`` has no indices: the fetcher
takes the next ``batch_size`` samples from its stream.

With ``num_workers > 0`` the main process sends index groups to the workers round-robin, at
most ``prefetch_factor * num_workers`` ahead of what has been yielded, and yields the batches
in the order the sampler made them (``in_order=True``) or as they arrive (``in_order=False``).
Each iterator starts its workers and stops them at the end of the epoch, unless
``persistent_workers=True``: then the same workers (and their dataset copies and RNG states)
serve every epoch.

Seeds (PyTorch's rule): each iterator draws ``base_seed`` from ``generator`` (default
minigrad's global generator); worker ``i`` seeds minigrad's global generator and Python's
``random`` with ``base_seed + i``, and numpy's global RNG with a hash of (base_seed, i).
"""
from __future__ import annotations

import atexit
import itertools
import math
import multiprocessing
import os
import pickle
import signal
import time
import warnings
from collections.abc import Callable, Iterator
from multiprocessing.connection import wait as _wait_ready
from typing import Any, Generic, TypeVar

from . import _fetch, _worker
from .collate import default_collate, default_convert
from .dataset import Dataset, IterableDataset
from .sampler import (
    BatchSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    _draw_seed,
    _index_array_batches,
)

__all__ = ["DataLoader", "default_collate", "default_convert", "get_worker_info"]

get_worker_info = _worker.get_worker_info

# How long shutting down waits for a worker to finish its current task before terminating it.
_SHUTDOWN_GRACE = _worker.MP_STATUS_CHECK_INTERVAL


_T_co = TypeVar("_T_co", covariant=True)


class _DatasetKind:
    Map = 0
    Iterable = 1

    @staticmethod
    def create_fetcher(kind, dataset, auto_collation, collate_fn, drop_last):
        if kind == _DatasetKind.Map:
            return _fetch._MapDatasetFetcher(dataset, auto_collation, collate_fn, drop_last)
        return _fetch._IterableDatasetFetcher(dataset, auto_collation, collate_fn, drop_last)


class _InfiniteConstantSampler(Sampler):
    """``None`` forever: the 'indices' of an iterable dataset, whose stream decides the end."""

    def __iter__(self):
        while True:
            yield None


def _is_positive_int(value):
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


class DataLoader(Generic[_T_co]):
    """Iterate over ``dataset`` in mini-batches, as ``torch.utils.data.DataLoader`` (with
    PyTorch's argument names, order and defaults).

    Parameters
    ----------
    dataset
        A map-style ``Dataset`` (``dataset[i]``) or an ``IterableDataset``.
    batch_size
        Samples per batch (a positive int), or None to yield single samples.
    shuffle
        A fresh random order every epoch (``RandomSampler(dataset, generator=...)``).
    sampler
        An iterable of indices giving the order (excludes ``shuffle``).
    batch_sampler
        An iterable of index lists, one per batch (excludes ``batch_size``,
        ``shuffle``, ``sampler`` and ``drop_last``).
    num_workers
        Worker processes loading batches (0: load in the calling process).
    collate_fn
        Merges a list of samples into a batch (default ``default_collate``; with
        ``batch_size=None``, ``default_convert`` applied to each sample).
    pin_memory
        Accepted; minigrad is CPU-only, so there is no pinned memory to copy to
        and it changes nothing but a warning, exactly like PyTorch without an accelerator.
    drop_last
        Drop the last batch if it is smaller than ``batch_size``.
    timeout
        Seconds to wait for a batch from the workers (0: no limit) before raising
        RuntimeError; a worker that dies is reported at once either way.
    worker_init_fn
        Called in each worker with its id, after seeding, before loading.
    multiprocessing_context
        A start method name ('fork', 'spawn', 'forkserver') or a
        ``multiprocessing`` context (default: the platform's, 'fork' on Linux).
    generator
        A ``minigrad.random.Generator`` (or ``np.random.Generator``) for the
        ``RandomSampler`` and the workers' ``base_seed``.
    prefetch_factor
        Batches loaded ahead per worker (default 2 with workers; must stay
        None without).
    persistent_workers
        Keep the workers (and their dataset copies) between epochs.
    pin_memory_device
        Deprecated in PyTorch; accepted and ignored.
    in_order
        With workers, yield batches in sampler order (True) or as they come.

    Notes
    -----
    ``len(loader)`` is the number of batches per epoch: ``len(batch_sampler)``, i.e.
    ``ceil(n / batch_size)`` or ``n // batch_size`` with ``drop_last``.
    """

    _initialized = False

    dataset: Dataset[_T_co]
    batch_size: int | None

    def __init__(self, dataset: Dataset[_T_co], batch_size: int | None = 1,
                 shuffle: bool | None = None, sampler: Any = None, batch_sampler: Any = None,
                 num_workers: int = 0, collate_fn: Callable[[list[Any]], Any] | None = None,
                 pin_memory: bool = False, drop_last: bool = False, timeout: float = 0,
                 worker_init_fn: Callable[[int], None] | None = None,
                 multiprocessing_context: Any = None, generator: Any = None, *,
                 prefetch_factor: int | None = None, persistent_workers: bool = False,
                 pin_memory_device: str = "", in_order: bool = True) -> None:
        if isinstance(num_workers, bool) or not isinstance(num_workers, int):
            raise TypeError(f"num_workers should be an int, but got num_workers={num_workers!r}")
        if num_workers < 0:
            raise ValueError("num_workers option should be non-negative; use num_workers=0 to "
                             "disable multiprocessing.")
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError("prefetch_factor option could only be specified in "
                             "multiprocessing.let num_workers > 0 to enable multiprocessing, "
                             "otherwise set prefetch_factor to None.")
        if num_workers > 0 and prefetch_factor is None:
            prefetch_factor = 2
        elif prefetch_factor is not None and prefetch_factor < 0:
            raise ValueError("prefetch_factor option should be non-negative")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")

        self.dataset = dataset
        self.num_workers = num_workers
        self.prefetch_factor = prefetch_factor
        self.pin_memory = pin_memory
        self.pin_memory_device = pin_memory_device
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.in_order = in_order

        # Dataset-kind errors come before sampler errors, as in PyTorch.
        if isinstance(dataset, IterableDataset):
            self._dataset_kind = _DatasetKind.Iterable
            if shuffle not in {False, None}:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified shuffle "
                                 f"option, but got shuffle={shuffle}")
            if sampler is not None:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified sampler "
                                 f"option, but got sampler={sampler}")
            if batch_sampler is not None:
                raise ValueError(f"DataLoader with IterableDataset: expected unspecified "
                                 f"batch_sampler option, but got batch_sampler={batch_sampler}")
        else:
            shuffle = bool(shuffle)
            self._dataset_kind = _DatasetKind.Map

        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, "
                                 "shuffle, sampler, and drop_last")
            batch_size = None
            drop_last = False
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually "
                             "exclusive with drop_last")

        if sampler is None:
            if self._dataset_kind == _DatasetKind.Iterable:
                sampler = _InfiniteConstantSampler()
            elif shuffle:
                sampler = RandomSampler(dataset, generator=generator)
            else:
                sampler = SequentialSampler(dataset)
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)

        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.generator = generator
        if collate_fn is None:
            collate_fn = default_collate if self._auto_collation else default_convert
        self.collate_fn = collate_fn
        self.persistent_workers = persistent_workers
        self._IterableDataset_len_called = None
        self._iterator = None
        self._initialized = True
        self.check_worker_number_rationality()

    def __setattr__(self, attr, value):
        if self._initialized and attr in ("batch_size", "batch_sampler", "sampler",
                                          "drop_last", "dataset", "persistent_workers"):
            raise ValueError(f"{attr} attribute should not be set after "
                             f"{type(self).__name__} is initialized")
        super().__setattr__(attr, value)

    @property
    def multiprocessing_context(self):
        return self._multiprocessing_context

    @multiprocessing_context.setter
    def multiprocessing_context(self, context):
        if context is not None:
            if self.num_workers == 0:
                raise ValueError(f"multiprocessing_context can only be used with multi-process "
                                 f"loading (num_workers > 0), but got "
                                 f"num_workers={self.num_workers}")
            if isinstance(context, str):
                methods = multiprocessing.get_all_start_methods()
                if context not in methods:
                    raise ValueError(f"multiprocessing_context option should specify a valid "
                                     f"start method in {methods!r}, but got "
                                     f"multiprocessing_context={context!r}")
                context = multiprocessing.get_context(context)
            if not isinstance(context, multiprocessing.context.BaseContext):
                raise TypeError(f"multiprocessing_context option should be a valid context "
                                f"object or a string specifying the start method, but got "
                                f"multiprocessing_context={context}")
        self._multiprocessing_context = context

    @property
    def _auto_collation(self):
        return self.batch_sampler is not None

    @property
    def _index_sampler(self):
        """What the fetcher's indices come from: the batch sampler when batching, else the
        sampler."""
        return self.batch_sampler if self._auto_collation else self.sampler

    def __iter__(self) -> Iterator[Any]:
        # Persistent workers: one iterator for the loader's life, reset each epoch.
        if self.persistent_workers and self.num_workers > 0:
            # A new one if the last was shut down by an error (a dead worker, a timeout).
            if self._iterator is None or self._iterator._shutdown:
                self._iterator = self._get_iterator()
            else:
                self._iterator._reset(self)
            return self._iterator
        return self._get_iterator()

    def _get_iterator(self):
        if self.num_workers == 0:
            return _SingleProcessDataLoaderIter(self)
        self.check_worker_number_rationality()
        return _MultiProcessingDataLoaderIter(self)

    def __len__(self) -> int:
        if self._dataset_kind == _DatasetKind.Iterable:
            # Trust the dataset's own length (TypeError if it has none); warn later if the
            # stream turns out longer.
            length = self._IterableDataset_len_called = len(self.dataset)
            if self.batch_size is not None:
                if self.drop_last:
                    return length // self.batch_size
                return math.ceil(length / self.batch_size)
            return length
        return len(self._index_sampler)

    def check_worker_number_rationality(self):
        """Warn when asked for more workers than this process may use CPUs."""
        if not self.num_workers:
            return
        cpus = (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                else os.cpu_count())
        if cpus is not None and self.num_workers <= cpus:
            return
        cpuset_checked = hasattr(os, "sched_getaffinity")
        if cpus is not None:
            suggestion = (f"Our suggested max number of worker in current system is {cpus}"
                          f"{'' if cpuset_checked else ' (`cpuset` is not taken into account)'}"
                          f", which is smaller than what this DataLoader is going to create.")
        else:
            suggestion = ("DataLoader is not able to compute a suggested max number of worker "
                          "in current system.")
        warnings.warn(f"This DataLoader will create {self.num_workers} worker processes in "
                      f"total. {suggestion} Please be aware that excessive worker creation "
                      f"might get DataLoader running slow or even freeze, lower the worker "
                      f"number to avoid potential slowness/freeze if necessary.", stacklevel=2)


class _BaseDataLoaderIter:
    def __init__(self, loader):
        self._dataset = loader.dataset
        self._dataset_kind = loader._dataset_kind
        self._IterableDataset_len_called = loader._IterableDataset_len_called
        self._auto_collation = loader._auto_collation
        self._drop_last = loader.drop_last
        self._index_sampler = loader._index_sampler
        self._num_workers = loader.num_workers
        if loader.pin_memory and loader.pin_memory_device:
            warnings.warn(f"pin_memory_device is deprecated, the current accelerator will be "
                          f"used as the device,ignore "
                          f"pin_memory_device='{loader.pin_memory_device}'.", stacklevel=3)
        if loader.pin_memory:
            warnings.warn("'pin_memory' argument is set as true but no accelerator is found, "
                          "then device pinned memory won't be used.", stacklevel=3)
        self._timeout = loader.timeout
        self._collate_fn = loader.collate_fn
        self._sampler_iter = self._index_batches()
        # Drawn by every iterator, with or without workers, so the generator's stream (and
        # hence the shuffling that follows) does not depend on num_workers.
        self._base_seed = _draw_seed(loader.generator)
        self._persistent_workers = loader.persistent_workers
        self._num_yielded = 0

    def __iter__(self):
        return self

    def _reset(self, loader, first_iter=False):
        self._sampler_iter = self._index_batches()
        self._num_yielded = 0
        self._IterableDataset_len_called = loader._IterableDataset_len_called

    def _index_batches(self):
        """An iterator over the index sampler; for the default samplers, batches as int64
        arrays (the fetchers hand the dataset Python ints either way)."""
        batches = _index_array_batches(self._index_sampler)
        return batches if batches is not None else iter(self._index_sampler)

    def _next_index(self):
        return next(self._sampler_iter)  # StopIteration ends the epoch

    def _next_data(self):
        raise NotImplementedError

    def __next__(self):
        data = self._next_data()
        self._num_yielded += 1
        if (self._dataset_kind == _DatasetKind.Iterable
                and self._IterableDataset_len_called is not None
                and self._num_yielded > self._IterableDataset_len_called):
            message = (f"Length of IterableDataset {self._dataset} was reported to be "
                       f"{self._IterableDataset_len_called}(when accessing len(dataloader)), "
                       f"but {self._num_yielded} samples have been fetched. ")
            if self._num_workers > 0:
                message += ("For multiprocessing data-loading, this could be caused by not "
                            "properly configuring the IterableDataset replica at each worker.")
            warnings.warn(message, stacklevel=2)
        return data

    def __len__(self):
        return len(self._index_sampler)

    def __getstate__(self):
        raise NotImplementedError(f"{type(self).__name__} cannot be pickled")


class _SingleProcessDataLoaderIter(_BaseDataLoaderIter):
    def __init__(self, loader):
        super().__init__(loader)
        if self._timeout != 0:
            raise AssertionError("_SingleProcessDataLoaderIter requires timeout == 0")
        self._dataset_fetcher = _DatasetKind.create_fetcher(
            self._dataset_kind, self._dataset, self._auto_collation, self._collate_fn,
            self._drop_last)

    def _next_data(self):
        index = self._next_index()
        return self._dataset_fetcher.fetch(index)


# Set at interpreter exit: from then on __del__ leaves the (daemonic) workers to
# multiprocessing's own exit handler, which terminates them, rather than run half torn down.
_exiting = False


def _set_exiting():
    global _exiting
    _exiting = True


atexit.register(_set_exiting)


class _MultiProcessingDataLoaderIter(_BaseDataLoaderIter):
    """One epoch (or, with persistent workers, every epoch) of loading by worker processes.

    Bookkeeping: tasks are numbered in the order the sampler makes them (``_send_idx``);
    ``_task_worker[idx]`` is the worker a task went to and ``_buffer[idx]`` a result that came
    early. ``_rcvd_idx`` is the next task to yield in order. At most
    ``prefetch_factor * num_workers`` tasks are sent and not yet yielded.
    """

    def __init__(self, loader):
        super().__init__(loader)
        self._prefetch_factor = loader.prefetch_factor
        self._in_order = loader.in_order
        if self._prefetch_factor <= 0:
            raise AssertionError("prefetch_factor must be greater than 0 for "
                                 "MultiProcessingDataLoaderIter")
        context = loader.multiprocessing_context or multiprocessing.get_context()
        self._owner_pid = os.getpid()
        self._shutdown = False
        self._workers = []
        self._index_conns = []
        self._result_conns = []
        try:
            for worker_id in range(self._num_workers):
                index_reader, index_writer = context.Pipe(duplex=False)
                result_reader, result_writer = context.Pipe(duplex=False)
                self._index_conns.append(index_writer)
                self._result_conns.append(result_reader)
                process = context.Process(
                    target=_worker._worker_loop,
                    args=(self._dataset_kind, self._dataset, index_reader, result_writer,
                          self._auto_collation, self._collate_fn, self._drop_last,
                          self._base_seed, loader.worker_init_fn, worker_id,
                          self._num_workers),
                    daemon=True)
                try:
                    process.start()
                finally:
                    # The worker has its own copies now. Closing ours means the worker's
                    # death closes its result pipe (a half-written batch reads as EOF), and
                    # workers started later do not inherit these ends.
                    index_reader.close()
                    result_writer.close()
                self._workers.append(process)
            self._reset(loader, first_iter=True)
        except BaseException:
            self._shutdown_workers()
            raise

    def _reset(self, loader, first_iter=False):
        super()._reset(loader, first_iter)
        self._send_idx = 0
        self._rcvd_idx = 0
        self._task_worker = {}
        self._buffer = {}
        self._outstanding = [0] * self._num_workers  # tasks sent, not yet yielded
        self._workers_status = [True] * self._num_workers
        self._worker_cycle = itertools.cycle(range(self._num_workers))
        if not first_iter:
            # Persistent workers: start a new epoch in each; results still on their way from
            # an epoch abandoned half-way are read and dropped until every worker has
            # acknowledged.
            for worker_id in range(self._num_workers):
                self._send_to_worker(worker_id, _worker._ResumeIteration())
            acknowledged = 0
            while acknowledged < self._num_workers:
                idx, _ = self._get_data()
                if isinstance(idx, _worker._ResumeIteration):
                    acknowledged += 1
        for _ in range(self._prefetch_factor * self._num_workers):
            self._try_put_index()

    def _try_put_index(self):
        """Send the next index group to the next worker in turn; False if there is none."""
        limit = self._prefetch_factor * self._num_workers
        if sum(self._outstanding) >= limit:
            return False
        for _ in range(self._num_workers):
            worker_id = next(self._worker_cycle)
            if not self._workers_status[worker_id]:
                continue
            # Out of order, a slow worker must not hog the queue: give each its share.
            if self._in_order or self._outstanding[worker_id] < limit // sum(
                    self._workers_status):
                break
        else:
            return False
        try:
            index = self._next_index()
        except StopIteration:
            return False
        self._send_to_worker(worker_id, (self._send_idx, index))
        self._task_worker[self._send_idx] = worker_id
        self._outstanding[worker_id] += 1
        self._send_idx += 1
        return True

    def _next_data(self):
        while True:
            # Skip the numbers of tasks already yielded out of order, or dropped because their
            # worker's stream ended first.
            while self._rcvd_idx < self._send_idx:
                if self._rcvd_idx in self._task_worker:
                    break
                self._rcvd_idx += 1
            else:
                if not self._persistent_workers:
                    self._shutdown_workers()
                raise StopIteration
            if self._rcvd_idx in self._buffer:
                idx = self._rcvd_idx
                self._rcvd_idx += 1
                return self._process_data(idx, self._buffer.pop(idx))
            idx, data = self._get_data()
            if isinstance(data, _worker._IterableDatasetStopIteration):
                self._mark_stream_ended(data.worker_id)
                continue
            if idx == self._rcvd_idx:
                self._rcvd_idx += 1
                return self._process_data(idx, data)
            if not self._in_order:
                return self._process_data(idx, data)
            self._buffer[idx] = data

    def _process_data(self, idx, data):
        worker_id = self._task_worker.pop(idx)
        self._outstanding[worker_id] -= 1
        self._try_put_index()
        if isinstance(data, _worker.ExceptionWrapper):
            data.reraise()
        return data

    def _mark_stream_ended(self, worker_id):
        """A worker's iterable stream ran out: send it nothing more this epoch (and, unless
        persistent, let it exit); hand its share of the prefetch to the others."""
        self._workers_status[worker_id] = False
        unanswered = [idx for idx, worker in self._task_worker.items()
                      if worker == worker_id and idx not in self._buffer]
        for idx in unanswered:
            del self._task_worker[idx]
        self._outstanding[worker_id] -= len(unanswered)
        if not self._persistent_workers:
            self._send_to_worker(worker_id, None)
        while self._try_put_index():
            pass

    def _send_to_worker(self, worker_id, message):
        try:
            self._index_conns[worker_id].send(message)
        except OSError:  # a broken pipe: the worker is gone
            self._raise_worker_failed(worker_id)

    def _get_data(self):
        """The next message from any worker, ``(task_idx, data)``.

        Waits on the result pipes and on the worker processes themselves at once, so a worker
        that dies (killed by a signal, or exiting) raises RuntimeError at once instead of
        leaving the loader waiting; ``timeout`` bounds the wait for a result.
        """
        deadline = time.monotonic() + self._timeout if self._timeout > 0 else None
        conn_worker = {conn: i for i, conn in enumerate(self._result_conns)}
        while True:
            watched = [w for w in range(self._num_workers) if self._workers_status[w]]
            sentinels = {self._workers[w].sentinel: w for w in watched}
            wait_for = _worker.MP_STATUS_CHECK_INTERVAL
            if deadline is not None:
                wait_for = max(0.0, min(wait_for, deadline - time.monotonic()))
            # Only workers still serving this epoch: one whose stream ended may have exited.
            conns = [self._result_conns[w] for w in watched]
            ready = _wait_ready(conns + list(sentinels), wait_for)
            conns = [r for r in ready if r in conn_worker]
            if conns:
                conn = conns[0]
                try:
                    return pickle.loads(conn.recv_bytes())
                except EOFError:
                    # Its write end is closed: the worker died, maybe half-way through.
                    self._raise_worker_failed(conn_worker[conn])
            for sentinel in ready:
                self._raise_worker_failed(sentinels[sentinel])
            if deadline is not None and time.monotonic() >= deadline:
                self._shutdown_workers(grace=0)  # stuck workers need not finish their task
                raise RuntimeError(f"DataLoader timed out after {self._timeout} seconds")

    def _raise_worker_failed(self, worker_id):
        process = self._workers[worker_id]
        process.join(timeout=1.0)  # it may be closing its pipe just before it ends
        code = process.exitcode
        self._shutdown_workers(grace=0)
        if code is not None and code < 0:
            raise RuntimeError(f"DataLoader worker (pid {process.pid}) is killed by signal: "
                               f"{signal.strsignal(-code)}. ")
        raise RuntimeError(f"DataLoader worker (pid(s) {process.pid}) exited unexpectedly")

    def _shutdown_workers(self, grace=_SHUTDOWN_GRACE):
        """Tell every worker to exit, give each up to ``grace`` seconds to finish the task in
        hand (reading and dropping what they still send, so none blocks on a full pipe), then
        terminate the rest. Safe to call twice, and a no-op in a forked child that inherited
        this object."""
        if self._shutdown or os.getpid() != self._owner_pid:
            return
        self._shutdown = True
        for conn in self._index_conns:
            try:
                conn.send(None)
            except OSError:
                pass  # that worker is gone already
        deadline = time.monotonic() + grace
        readable = list(self._result_conns)
        alive = [p for p in self._workers if p.exitcode is None]
        while alive and time.monotonic() < deadline:
            ready = _wait_ready(readable + [p.sentinel for p in alive],
                                max(0.0, deadline - time.monotonic()))
            for conn in readable[:]:
                if conn in ready:
                    try:
                        conn.recv_bytes()
                    except (EOFError, OSError):
                        readable.remove(conn)
            alive = [p for p in self._workers if p.exitcode is None]
        for process in alive:
            process.terminate()
        for process in self._workers:
            process.join(timeout=1.0)
        for conn in self._index_conns + self._result_conns:
            conn.close()

    def __del__(self):
        if not _exiting and hasattr(self, "_shutdown"):
            self._shutdown_workers()
