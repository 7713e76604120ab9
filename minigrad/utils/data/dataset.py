"""Datasets, as in ``torch.utils.data.dataset``.

A map-style ``Dataset`` answers ``dataset[i]`` (and usually ``len(dataset)``); an
``IterableDataset`` is a stream, ``iter(dataset)``. ``TensorDataset``, ``StackDataset``,
``ConcatDataset``, ``ChainDataset`` and ``Subset`` combine datasets; ``random_split`` cuts one
into random non-overlapping ``Subset``s.
"""
from __future__ import annotations

import bisect
import itertools
import math
import warnings
from typing import Any, Generic, TypeVar

from ... import random as _random
from ...tensor import Tensor

__all__ = [
    "ChainDataset",
    "ConcatDataset",
    "Dataset",
    "IterableDataset",
    "StackDataset",
    "Subset",
    "TensorDataset",
    "random_split",
]

_T_co = TypeVar("_T_co", covariant=True)


class Dataset(Generic[_T_co]):
    """A map-style dataset: ``dataset[key]`` is a sample. Subclasses implement
    ``__getitem__``, usually ``__len__`` (samplers and the loader's defaults need it), and may
    implement ``__getitems__(indices) -> list of samples`` to fetch a whole batch at once.
    ``a + b`` is ``ConcatDataset([a, b])``."""

    def __getitem__(self, index: Any) -> _T_co:
        raise NotImplementedError("Subclasses of Dataset should implement __getitem__.")

    # No default __len__ (as in PyTorch): len() of a dataset without one is a TypeError.
    # No default __getitems__: the loader checks for one to fetch batches in one call.

    def __add__(self, other: Dataset[_T_co]) -> ConcatDataset[_T_co]:
        return ConcatDataset([self, other])


class IterableDataset(Dataset[_T_co]):
    """A stream of samples: subclasses implement ``__iter__``.

    With ``num_workers > 0`` every worker iterates its own copy of the dataset, so without
    care each sample comes once per worker; split the work in ``__iter__`` (or in
    ``worker_init_fn``) with ``get_worker_info()``::

        def __iter__(self):
            info = get_worker_info()
            if info is None:                 # loading in the main process
                return iter(range(self.start, self.end))
            return iter(range(self.start + info.id, self.end, info.num_workers))

    ``a + b`` is ``ChainDataset([a, b])``.
    """

    def __iter__(self):
        raise NotImplementedError("Subclasses of IterableDataset should implement __iter__.")

    def __add__(self, other):
        return ChainDataset([self, other])


class TensorDataset(Dataset["tuple[Tensor, ...]"]):
    """Samples are rows of tensors that share their first dimension: ``dataset[i]`` is
    ``tuple(t[i] for t in tensors)``, e.g. ``TensorDataset(X, y)`` with X ``(N, D)``, y ``(N,)``.
    """

    def __init__(self, *tensors: Tensor) -> None:
        if not tensors:
            raise IndexError("TensorDataset needs at least one tensor")
        for position, t in enumerate(tensors):
            if not isinstance(t, Tensor):
                raise TypeError(f"TensorDataset: argument {position} is a "
                                f"{type(t).__name__}, not a Tensor")
            if t._data.ndim == 0:
                raise IndexError(f"TensorDataset: argument {position} is a 0-d tensor; "
                                 f"samples are taken along the first dimension")
        sizes = [t._data.shape[0] for t in tensors]
        if len(set(sizes)) != 1:
            # AssertionError is PyTorch's type for this error.
            raise AssertionError(f"Size mismatch between tensors: TensorDataset needs the same "
                                 f"first dimension in every tensor, got sizes {sizes} (shapes "
                                 f"{[tuple(t._data.shape) for t in tensors]})")
        self.tensors = tensors

    def __getitem__(self, index: Any) -> tuple[Tensor, ...]:
        return tuple(t[index] for t in self.tensors)

    def __len__(self) -> int:
        return self.tensors[0]._data.shape[0]


class StackDataset(Dataset):
    """Datasets of one length side by side: ``StackDataset(a, b)[i]`` is ``(a[i], b[i])``,
    ``StackDataset(x=a, y=b)[i]`` is ``{"x": a[i], "y": b[i]}``."""

    def __init__(self, *args, **kwargs):
        if args and kwargs:
            raise ValueError("Supported either ``tuple``- (via ``args``) or"
                             "``dict``- (via ``kwargs``) like input/output, but both types "
                             "are given.")
        if not args and not kwargs:
            raise ValueError("At least one dataset should be passed")
        parts = list(args) if args else list(kwargs.values())
        lengths = [len(dataset) for dataset in parts]
        if any(length != lengths[0] for length in lengths):
            raise ValueError(f"Size mismatch between datasets: lengths {lengths}")
        self._length = lengths[0]
        self.datasets = args if args else kwargs

    def __getitem__(self, index):
        if isinstance(self.datasets, dict):
            return {key: dataset[index] for key, dataset in self.datasets.items()}
        return tuple(dataset[index] for dataset in self.datasets)

    def __getitems__(self, indices):
        """One batch: each part fetched with its own ``__getitems__`` when it has one."""
        named = isinstance(self.datasets, dict)
        parts = self.datasets.items() if named else enumerate(self.datasets)
        columns = {}
        for key, dataset in parts:
            if callable(getattr(dataset, "__getitems__", None)):
                items = dataset.__getitems__(indices)
                if len(items) != len(indices):
                    raise ValueError(f"Nested dataset's output size mismatch. Expected "
                                     f"{len(indices)}, got {len(items)}")
            else:
                items = [dataset[i] for i in indices]
            columns[key] = items
        if named:
            return [{key: columns[key][row] for key in columns} for row in range(len(indices))]
        return [tuple(columns[key][row] for key in columns) for row in range(len(indices))]

    def __len__(self):
        return self._length


class ConcatDataset(Dataset[_T_co]):
    """Map-style datasets one after the other: indices ``0..len(a)-1`` reach ``a``, the next
    ``len(b)`` reach ``b``, and so on. ``cumulative_sizes[k]`` is the total length of the
    first k+1 datasets."""

    @staticmethod
    def cumsum(sequence):
        return list(itertools.accumulate(len(dataset) for dataset in sequence))

    def __init__(self, datasets):
        self.datasets = list(datasets)
        if not self.datasets:
            raise AssertionError("datasets should not be an empty iterable")
        for dataset in self.datasets:
            if isinstance(dataset, IterableDataset):
                message = "ConcatDataset does not support IterableDataset"
                raise AssertionError(message)  # noqa: TRY004 - PyTorch's type
        self.cumulative_sizes = self.cumsum(self.datasets)

    def __len__(self):
        return self.cumulative_sizes[-1]

    def __getitem__(self, idx):
        if idx < 0:
            if -idx > len(self):
                raise ValueError("absolute value of index should not exceed dataset length")
            idx = len(self) + idx
        dataset_idx = bisect.bisect_right(self.cumulative_sizes, idx)
        sample_idx = idx if dataset_idx == 0 else idx - self.cumulative_sizes[dataset_idx - 1]
        return self.datasets[dataset_idx][sample_idx]


class ChainDataset(IterableDataset[_T_co]):
    """Iterable datasets one after the other, chained lazily as they are iterated."""

    def __init__(self, datasets):
        self.datasets = datasets

    def __iter__(self):
        for dataset in self.datasets:
            if not isinstance(dataset, IterableDataset):
                raise AssertionError("ChainDataset only supports IterableDataset")  # noqa: TRY004
            yield from dataset

    def __len__(self):
        total = 0
        for dataset in self.datasets:
            if not isinstance(dataset, IterableDataset):
                raise AssertionError("ChainDataset only supports IterableDataset")  # noqa: TRY004
            total += len(dataset)
        return total


class Subset(Dataset[_T_co]):
    """The samples of ``dataset`` at ``indices``, in that order: ``subset[i]`` is
    ``dataset[indices[i]]``. A subclass that overrides ``__getitem__`` must override
    ``__getitems__`` too (the loader fetches batches through it), as in PyTorch."""

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = indices
        if (type(self).__getitem__ is not Subset.__getitem__
                and type(self).__getitems__ is Subset.__getitems__):
            raise NotImplementedError(
                f"{type(self).__name__} overrides __getitem__ but not __getitems__. When "
                "subclassing Subset and overriding __getitem__, you must also override "
                "__getitems__ to ensure DataLoader works correctly with your custom logic. "
                "A simple implementation:\n\n"
                "def __getitems__(self, indices):\n"
                "    return [self.__getitem__(idx) for idx in indices]")

    def __getitem__(self, idx):
        if isinstance(idx, list):
            return self.dataset[[self.indices[i] for i in idx]]
        return self.dataset[self.indices[idx]]

    def __getitems__(self, indices):
        if callable(getattr(self.dataset, "__getitems__", None)):
            return self.dataset.__getitems__([self.indices[i] for i in indices])
        return [self.dataset[self.indices[i]] for i in indices]

    def __len__(self):
        return len(self.indices)


def random_split(dataset, lengths, generator=None):
    """Split ``dataset`` into non-overlapping ``Subset`` objects of the given lengths, at random.

    ``lengths`` are either sample counts summing to ``len(dataset)``, or fractions summing to
    1; fractions become ``floor(n * fraction)`` samples each, and the samples left over go one
    at a time to the first subsets in turn (PyTorch's rule), e.g. 11 samples split
    ``[0.3, 0.3, 0.4]`` -> ``[4, 3, 4]``. The order is one permutation of ``range(n)`` drawn
    from ``generator`` (a ``minigrad.random.Generator`` or any ``np.random.Generator``; default
    minigrad's global generator, so ``mg.manual_seed`` makes it reproducible).
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
    offsets = itertools.accumulate(lengths)
    return [Subset(dataset, order[end - length:end]) for end, length in zip(offsets, lengths)]
