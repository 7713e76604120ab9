"""Datasets and mini-batches: ``Dataset``, ``TensorDataset``, ``Subset``, ``random_split``,
``DataLoader`` and ``default_collate``, as in ``torch.utils.data``.

A ``DataLoader`` turns a dataset into an iterable of mini-batches. Each epoch it orders the
sample indices (``0..n-1``, or a fresh random permutation when ``shuffle=True``), cuts that
order into consecutive chunks of ``batch_size`` and makes one batch from each chunk.

For a generic dataset a batch is made the PyTorch way: fetch the samples one by one with
``dataset[i]`` and merge them with ``collate_fn`` (``default_collate`` stacks them). For a
``TensorDataset`` (or a ``Subset`` of one, as ``random_split`` makes) with the default collate,
the same batch is made in one numpy operation per tensor, ``array.take(indices, axis=0)``,
instead of ``batch_size`` Python-level indexing calls and a stack: same result, far less
Python overhead per batch.

Randomness comes from minigrad's global generator (``minigrad.random.generator()``), so
``mg.manual_seed(s)`` makes shuffling and ``random_split`` reproducible; pass ``generator=`` (a
``np.random.Generator``) to use a generator of your own instead.
"""
import collections.abc
import math
import warnings

import numpy as np

from .. import random as _random
from ..autograd import is_grad_enabled
from ..tensor import Tensor, from_numpy

__all__ = [
    "DataLoader",
    "Dataset",
    "Subset",
    "TensorDataset",
    "default_collate",
    "random_split",
]


class Dataset:
    """A map-style dataset: ``dataset[i]`` is the i-th sample, ``len(dataset)`` their number.
    Subclasses implement ``__getitem__`` and ``__len__``."""

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must implement __getitem__")

    def __len__(self):
        raise NotImplementedError(f"{type(self).__name__} must implement __len__")


class TensorDataset(Dataset):
    """Samples are rows of tensors that share their first dimension: ``dataset[i]`` is
    ``(t[i] for t in tensors)``, e.g. ``TensorDataset(X, y)`` with X ``(N, D)``, y ``(N,)``."""

    def __init__(self, *tensors):
        if not tensors:
            raise ValueError("TensorDataset needs at least one tensor")
        for position, t in enumerate(tensors):
            if not isinstance(t, Tensor):
                raise TypeError(f"TensorDataset: argument {position} is a "
                                f"{type(t).__name__}, not a Tensor")
            if t._data.ndim == 0:
                raise ValueError(f"TensorDataset: argument {position} is a 0-d tensor; "
                                 f"samples are taken along the first dimension")
        sizes = [t._data.shape[0] for t in tensors]
        if len(set(sizes)) != 1:
            raise ValueError(f"Size mismatch between tensors: TensorDataset needs the same "
                             f"first dimension in every tensor, got sizes {sizes} (shapes "
                             f"{[tuple(t._data.shape) for t in tensors]})")
        self.tensors = tensors

    def __getitem__(self, index):
        return tuple(t[index] for t in self.tensors)

    def __len__(self):
        return self.tensors[0]._data.shape[0]


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order: ``subset[i]`` is
    ``dataset[indices[i]]``."""

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = indices

    def __getitem__(self, index):
        if isinstance(index, list):
            return [self.dataset[self.indices[i]] for i in index]
        return self.dataset[self.indices[index]]

    def __len__(self):
        return len(self.indices)


def random_split(dataset, lengths, generator=None):
    """Split ``dataset`` into non-overlapping ``Subset``s of the given lengths, at random.

    ``lengths`` are either sample counts summing to ``len(dataset)``, or fractions summing to
    1; fractions become ``floor(n * fraction)`` samples each, and the samples left over go one
    at a time to the first subsets in turn (PyTorch's rule), e.g. 11 samples split
    ``[0.3, 0.3, 0.4]`` -> ``[4, 3, 4]``.
    """
    n = len(dataset)
    lengths = list(lengths)
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        counts = []
        for i, fraction in enumerate(lengths):
            if not 0 <= fraction <= 1:
                raise ValueError(f"Fraction at index {i} is not between 0 and 1")
            counts.append(math.floor(n * fraction))
        for i in range(n - sum(counts)):
            counts[i % len(counts)] += 1
        for i, count in enumerate(counts):
            if count == 0:
                warnings.warn(f"Length of split at index {i} is 0. This might result in an "
                              f"empty dataset.", stacklevel=2)
        lengths = counts
    if sum(lengths) != n:
        raise ValueError(f"Sum of input lengths does not equal the length of the input "
                         f"dataset! (lengths {lengths} sum to {sum(lengths)}, the dataset "
                         f"has {n} samples)")
    rng = generator if generator is not None else _random.generator()
    order = rng.permutation(n).tolist()
    subsets = []
    offset = 0
    for length in lengths:
        subsets.append(Subset(dataset, order[offset:offset + length]))
        offset += length
    return subsets


# --------------------------------------------------------------------------------------------
# Collation: a list of samples -> one batch.
# --------------------------------------------------------------------------------------------

_COLLATE_TYPE_ERROR = ("default_collate: batch must contain tensors, numpy arrays, numbers, "
                       "dicts or lists; found {}")


def _stack_tensors(batch):
    """Stack equal-shaped tensors along a new first axis; differentiable when one needs grad."""
    if is_grad_enabled() and any(t.requires_grad for t in batch):
        from ..tensor import stack  # the differentiable op, only when a graph is wanted
        return stack(batch, 0)
    return from_numpy(np.stack([t._data for t in batch]))


def default_collate(batch):
    """Merge a list of samples into a batch, the way ``torch.utils.data.default_collate``
    does, field by field:

    - Tensors (and numpy arrays) of one shape -> one Tensor of shape ``(B, *shape)``;
    - Python floats -> a float64 Tensor; Python ints -> int64; bools -> bool;
      numpy scalars -> a Tensor of their dtype;
    - strings -> the list of them;
    - dicts -> a dict of collated values per key; tuples and lists (samples like ``(x, y)``)
      -> a list with one collated batch per position; namedtuples stay namedtuples.
    """
    elem = batch[0]
    if isinstance(elem, Tensor):
        return _stack_tensors(batch)
    if isinstance(elem, np.ndarray):
        if elem.dtype.kind not in "biufc":
            raise TypeError(_COLLATE_TYPE_ERROR.format(elem.dtype))
        return from_numpy(np.stack(batch))
    if isinstance(elem, np.generic):
        if elem.dtype.kind not in "biufc":
            raise TypeError(_COLLATE_TYPE_ERROR.format(elem.dtype))
        return from_numpy(np.array(batch))
    if isinstance(elem, float):
        return from_numpy(np.array(batch, dtype=np.float64))
    if isinstance(elem, int):  # bool included: all bools give a bool tensor, as in torch
        values = np.array(batch)
        if values.dtype.kind in "iu":
            values = values.astype(np.int64)
        elif values.dtype.kind == "f":  # torch.tensor([1, 2.5]) -> the default float dtype
            values = values.astype(np.float32)
        return from_numpy(values)
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, collections.abc.Mapping):
        collated = {key: default_collate([sample[key] for sample in batch]) for key in elem}
        try:
            return type(elem)(collated)
        except TypeError:  # a Mapping type that cannot be built from a dict
            return collated
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # namedtuple
        return type(elem)(*(default_collate(list(field)) for field in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        size = len(elem)
        if any(len(sample) != size for sample in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        return [default_collate(list(field)) for field in zip(*batch)]
    raise TypeError(_COLLATE_TYPE_ERROR.format(type(elem)))


def _default_convert(sample):
    """What a loader with ``batch_size=None`` yields: numpy arrays become Tensors; the rest is
    left as it is (``torch.utils.data.default_convert``)."""
    if isinstance(sample, np.ndarray) and sample.dtype.kind in "biufc":
        return from_numpy(sample)
    if isinstance(sample, collections.abc.Mapping):
        return {key: _default_convert(value) for key, value in sample.items()}
    if isinstance(sample, tuple) and hasattr(sample, "_fields"):
        return type(sample)(*(_default_convert(value) for value in sample))
    if isinstance(sample, (tuple, list)):
        return [_default_convert(value) for value in sample]
    return sample


# --------------------------------------------------------------------------------------------
# The loader.
# --------------------------------------------------------------------------------------------

def _rows_source(dataset):
    """``(tensors, index_map)`` when ``dataset`` is a TensorDataset, or a (nested) Subset of
    one, so batches can be cut straight from the tensors' arrays; None otherwise.
    ``index_map`` turns loader indices into row numbers (None: the identity)."""
    index_map = None
    while type(dataset) is Subset:
        indices = dataset.indices
        indices = indices._data if isinstance(indices, Tensor) else indices
        indices = np.asarray(indices, dtype=np.int64)
        index_map = indices if index_map is None else indices[index_map]
        dataset = dataset.dataset
    if type(dataset) is not TensorDataset:
        return None
    return dataset.tensors, index_map


def _take_rows(tensor, rows):
    """``tensor[rows]`` (rows an int64 index array) as one numpy ``take``: a fresh array, so
    the batch never aliases the dataset; through the differentiable indexing op if a graph is
    wanted."""
    if tensor.requires_grad and is_grad_enabled():
        return tensor[rows]
    return from_numpy(tensor._data.take(rows, axis=0))


class DataLoader:
    """Iterate over ``dataset`` in mini-batches.

    Arguments (PyTorch's, in PyTorch's order):
        batch_size: samples per batch (a positive int), or None to yield single samples.
        shuffle: a fresh random order every epoch (from ``generator``, or minigrad's global
            generator, so ``mg.manual_seed`` makes it reproducible).
        sampler: an iterable of indices giving the order instead (excludes ``shuffle``).
        batch_sampler: an iterable of index lists, one per batch (excludes ``batch_size``,
            ``shuffle``, ``sampler`` and ``drop_last``).
        num_workers, pin_memory, timeout, worker_init_fn, multiprocessing_context,
            prefetch_factor, persistent_workers: accepted so PyTorch scripts run unchanged;
            minigrad always loads in the calling process, so they change nothing.
        collate_fn: merges a list of samples into a batch (default: ``default_collate``).
        drop_last: drop the last batch if it is smaller than ``batch_size``.
        generator: a ``np.random.Generator`` to shuffle with.

    ``len(loader)`` is the number of batches per epoch: ``ceil(n / batch_size)``, or
    ``n // batch_size`` with ``drop_last``.
    """

    def __init__(self, dataset, batch_size=1, shuffle=None, sampler=None, batch_sampler=None,
                 num_workers=0, collate_fn=None, pin_memory=False, drop_last=False, timeout=0,
                 worker_init_fn=None, multiprocessing_context=None, generator=None, *,
                 prefetch_factor=None, persistent_workers=False):
        if batch_size is not None and (isinstance(batch_size, bool)
                                       or not isinstance(batch_size, (int, np.integer))
                                       or batch_size <= 0):
            raise ValueError(f"batch_size should be a positive integer value, but got "
                             f"batch_size={batch_size!r}")
        if isinstance(num_workers, bool) or not isinstance(num_workers, int) or num_workers < 0:
            raise ValueError(f"num_workers option should be non-negative; use num_workers=0 "
                             f"to disable multiprocessing (got {num_workers!r})")
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, "
                                 "shuffle, sampler, and drop_last")
            batch_size = None
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually "
                             "exclusive with drop_last")
        self.dataset = dataset
        self.batch_size = None if batch_size is None else int(batch_size)
        self.shuffle = bool(shuffle)
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.num_workers = num_workers
        self.collate_fn = collate_fn
        self.pin_memory = pin_memory
        self.drop_last = bool(drop_last)
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.generator = generator
        self.prefetch_factor = prefetch_factor
        self.persistent_workers = persistent_workers

    def _epoch_order(self):
        """The sample indices for one epoch, in the order they will be batched."""
        if self.sampler is not None:
            return np.fromiter((int(i) for i in self.sampler), dtype=np.int64)
        n = len(self.dataset)
        if self.shuffle:
            rng = self.generator if self.generator is not None else _random.generator()
            return rng.permutation(n)
        return np.arange(n)

    def _index_batches(self):
        """One int64 index array per batch."""
        if self.batch_sampler is not None:
            for indices in self.batch_sampler:
                yield np.asarray([int(i) for i in indices], dtype=np.int64)
            return
        order = self._epoch_order()
        size = self.batch_size
        stop = len(order) - len(order) % size if self.drop_last else len(order)
        for start in range(0, stop, size):
            yield order[start:start + size]

    def __iter__(self):
        if self.batch_size is None and self.batch_sampler is None:
            yield from self._single_samples()
            return
        source = _rows_source(self.dataset) if self.collate_fn is None else None
        if source is not None:
            tensors, index_map = source
            for indices in self._index_batches():
                rows = indices if index_map is None else index_map[indices]
                yield [_take_rows(t, rows) for t in tensors]
            return
        collate = self.collate_fn if self.collate_fn is not None else default_collate
        for indices in self._index_batches():
            yield collate([self.dataset[i] for i in indices.tolist()])

    def _single_samples(self):
        convert = self.collate_fn if self.collate_fn is not None else _default_convert
        for index in self._epoch_order().tolist():
            yield convert(self.dataset[index])

    def __len__(self):
        if self.batch_sampler is not None:
            return len(self.batch_sampler)
        n = len(self.sampler) if self.sampler is not None else len(self.dataset)
        if self.batch_size is None:
            return n
        if self.drop_last:
            return n // self.batch_size
        return (n + self.batch_size - 1) // self.batch_size
