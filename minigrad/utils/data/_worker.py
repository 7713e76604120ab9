"""What runs inside a DataLoader worker process: the worker loop, its seeding, the
``WorkerInfo`` that ``get_worker_info()`` returns there, and the wrapper that carries a
worker's exception (type and formatted traceback) back to the main process.

Protocol, per worker, over two one-way pipes made by the main process:
  index pipe (main -> worker): ``(task_idx, index)`` asks for one batch (or one sample);
      ``_ResumeIteration()`` starts a new epoch (persistent workers); ``None`` means exit.
  result pipe (worker -> main): pickled ``(task_idx, data)``, where data is the batch, an
      ``ExceptionWrapper``, or ``_IterableDatasetStopIteration`` when an iterable dataset's
      stream has ended in this worker; ``(_ResumeIteration(), None)`` acknowledges an epoch
      start.
The worker pickles each result itself (not a queue's feeder thread), so a batch that cannot be
pickled becomes an error in the main process instead of a message lost and a loader that
waits forever.
"""
import dataclasses
import os
import pickle
import random
import sys
import traceback

import numpy as np

from ... import random as _random

# How often (seconds) a waiting worker checks that the main process is still alive.
MP_STATUS_CHECK_INTERVAL = 5.0

_worker_info = None


@dataclasses.dataclass(frozen=True)
class WorkerInfo:
    """About the DataLoader worker process this code runs in.

    id: this worker's id, ``0 .. num_workers - 1``; num_workers: the loader's worker count;
    seed: this worker's seed, ``base_seed + id``; dataset: this process's copy of the dataset.
    """

    id: int
    num_workers: int
    seed: int
    dataset: object
    rng: object = None
    worker_method: str = "multiprocessing"


def get_worker_info():
    """The ``WorkerInfo`` of the current DataLoader worker process; None in the main process.

    Use it in an ``IterableDataset.__iter__`` or a ``worker_init_fn`` to give each worker its
    own share of the data, or ``seed`` to seed other libraries."""
    return _worker_info


@dataclasses.dataclass(frozen=True)
class _IterableDatasetStopIteration:
    """Sent by a worker whose copy of an iterable dataset has run out."""

    worker_id: int


@dataclasses.dataclass(frozen=True)
class _ResumeIteration:
    """Sent to persistent workers at the start of a new epoch, and echoed back."""

    seed: object = None


class KeyErrorMessage(str):
    """A str whose repr is itself: KeyError shows repr(message), which would print the
    traceback's newlines as '\\n'."""

    def __repr__(self):
        return self


class ExceptionWrapper:
    """An exception's type and formatted traceback, to raise again in another process."""

    def __init__(self, exc_info=None, where="in background"):
        if exc_info is None:
            exc_info = sys.exc_info()
        self.exc_type = exc_info[0]
        # The text, not the traceback object: frames hold references (and do not pickle).
        self.exc_msg = "".join(traceback.format_exception(*exc_info))
        self.where = where

    def reraise(self):
        """Raise an exception of the original type whose message is "Caught <Type> <where>."
        and the original traceback (RuntimeError if that type cannot be built from a str)."""
        msg = f"Caught {self.exc_type.__name__} {self.where}.\nOriginal {self.exc_msg}"
        if self.exc_type is KeyError:
            msg = KeyErrorMessage(msg)
        elif getattr(self.exc_type, "message", None):
            # Exception types whose first argument is not the message but a keyword is.
            raise self.exc_type(message=msg)
        try:
            exception = self.exc_type(msg)
        except Exception:  # noqa: BLE001 - any failure to build one means: RuntimeError
            raise RuntimeError(msg) from None
        raise exception


def _numpy_seed(base_seed, worker_id):
    """The four 32-bit words PyTorch seeds numpy's global RNG with in worker ``worker_id``:
    a SeedSequence hash of ``(worker_id, base_seed)``, so numpy's stream differs from
    Python's ``random`` (seeded ``base_seed + worker_id``) and from the other workers'."""
    entropy = [worker_id, base_seed & 0xFFFFFFFF, base_seed >> 32, 0]
    return np.random.SeedSequence(entropy).generate_state(4)


def _seed_worker(base_seed, worker_id):
    """Seed every global RNG in this worker the way PyTorch 2.13 does; returns the seed."""
    seed = base_seed + worker_id
    random.seed(seed)
    _random.manual_seed(seed)
    np.random.seed(_numpy_seed(base_seed, worker_id))
    return seed


def _send(conn, task_idx, data, worker_id):
    """Pickle ``(task_idx, data)`` here, so a pickling failure is reported, not lost."""
    try:
        payload = pickle.dumps((task_idx, data), protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:  # noqa: BLE001 - whatever pickling raises goes to the main process
        error = ExceptionWrapper(where=f"in DataLoader worker process {worker_id} "
                                       f"(pickling its result)")
        payload = pickle.dumps((task_idx, error), protocol=pickle.HIGHEST_PROTOCOL)
    conn.send_bytes(payload)


def _worker_loop(dataset_kind, dataset, index_conn, result_conn, auto_collation, collate_fn,
                 drop_last, base_seed, init_fn, worker_id, num_workers):
    """Serve tasks from ``index_conn`` until told to stop or the main process is gone."""
    from .dataloader import _DatasetKind  # the loader module imports this one

    global _worker_info
    try:
        seed = _seed_worker(base_seed, worker_id)
        _worker_info = WorkerInfo(id=worker_id, num_workers=num_workers, seed=seed,
                                  dataset=dataset)
        # An error in worker_init_fn or in making the fetcher is reported with the first
        # task, as PyTorch does.
        init_exception = None
        fetcher = None
        try:
            if init_fn is not None:
                init_fn(worker_id)
            fetcher = _DatasetKind.create_fetcher(dataset_kind, dataset, auto_collation,
                                                  collate_fn, drop_last)
        except Exception:  # noqa: BLE001 - user code: every error goes to the main process
            init_exception = ExceptionWrapper(where=f"in DataLoader worker process {worker_id}")

        iteration_end = False
        manager_pid = os.getppid()
        while True:
            if not index_conn.poll(MP_STATUS_CHECK_INTERVAL):
                if os.getppid() != manager_pid:  # the main process died: nobody to serve
                    break
                continue
            message = index_conn.recv()
            if message is None:
                break
            if isinstance(message, _ResumeIteration):
                _send(result_conn, message, None, worker_id)
                iteration_end = False
                if init_exception is None:
                    fetcher = _DatasetKind.create_fetcher(dataset_kind, dataset,
                                                          auto_collation, collate_fn, drop_last)
                continue
            if iteration_end:
                continue  # this worker's stream has ended; the main process knows
            task_idx, index = message
            if init_exception is not None:
                data, init_exception = init_exception, None
            else:
                try:
                    data = fetcher.fetch(index)
                except StopIteration:
                    if dataset_kind != _DatasetKind.Iterable:
                        data = ExceptionWrapper(
                            where=f"in DataLoader worker process {worker_id}")
                    else:
                        data = _IterableDatasetStopIteration(worker_id)
                        iteration_end = True
                except Exception:  # noqa: BLE001 - user code, as above
                    data = ExceptionWrapper(where=f"in DataLoader worker process {worker_id}")
            _send(result_conn, task_idx, data, worker_id)
            del data, message
    except KeyboardInterrupt:
        pass  # the main process gets it too and shuts the workers down
    except (EOFError, BrokenPipeError, ConnectionResetError):
        pass  # the main process closed its ends of the pipes: nothing left to do
