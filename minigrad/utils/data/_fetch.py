"""Fetchers: given what the index sampler yields (one index, or a list of them for a batch),
fetch the samples and collate them. The same code runs in the main process
(``num_workers=0``) and in each worker process.
"""
import numpy as np

from ...autograd import is_grad_enabled
from ...tensor import Tensor, from_numpy
from .collate import default_collate
from .dataset import Subset, TensorDataset


class _MapDatasetFetcher:
    """Map-style: ``dataset.__getitems__(indices)`` if the dataset has one, else
    ``[dataset[i] for i in indices]``, then ``collate_fn``; without auto-collation (a loader
    with ``batch_size=None``) one ``dataset[index]`` through ``collate_fn``.

    A ``TensorDataset``, or a (nested) ``Subset`` of one, collated by ``default_collate`` is
    cut straight from the tensors' arrays, one ``take`` per tensor instead of ``batch_size``
    indexing calls and a stack: same batch, far less Python per batch.
    """

    def __init__(self, dataset, auto_collation, collate_fn, drop_last):
        self.dataset = dataset
        self.auto_collation = auto_collation
        self.collate_fn = collate_fn
        self.drop_last = drop_last
        self._rows = None
        if auto_collation and collate_fn is default_collate:
            self._rows = _rows_source(dataset)

    def fetch(self, possibly_batched_index):
        if not self.auto_collation:
            return self.collate_fn(self.dataset[possibly_batched_index])
        if self._rows is not None:
            tensors, index_map = self._rows
            rows = np.asarray(possibly_batched_index, dtype=np.int64)
            if index_map is not None:
                rows = index_map[rows]
            return [_take_rows(t, rows) for t in tensors]
        indices = possibly_batched_index
        if isinstance(indices, np.ndarray):  # from the default samplers: give Python ints
            indices = indices.tolist()
        if callable(getattr(self.dataset, "__getitems__", None)):
            data = self.dataset.__getitems__(indices)
        else:
            data = [self.dataset[i] for i in indices]
        return self.collate_fn(data)


class _IterableDatasetFetcher:
    """Iterable-style: the next sample, or the next ``len(batch_index)`` samples collated (a
    shorter last batch unless ``drop_last``); StopIteration when the stream ends."""

    def __init__(self, dataset, auto_collation, collate_fn, drop_last):
        self.dataset_iter = iter(dataset)
        self.auto_collation = auto_collation
        self.collate_fn = collate_fn
        self.drop_last = drop_last
        self.ended = False

    def fetch(self, possibly_batched_index):
        if self.ended:
            raise StopIteration
        if not self.auto_collation:
            return self.collate_fn(next(self.dataset_iter))
        data = []
        for _ in possibly_batched_index:
            try:
                data.append(next(self.dataset_iter))
            except StopIteration:
                self.ended = True
                break
        if not data or (self.drop_last and len(data) < len(possibly_batched_index)):
            raise StopIteration
        return self.collate_fn(data)


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
