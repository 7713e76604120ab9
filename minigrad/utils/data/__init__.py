"""``minigrad.utils.data``: datasets, samplers and the ``DataLoader``, as ``torch.utils.data``::

    from minigrad.utils.data import DataLoader, TensorDataset
    loader = DataLoader(TensorDataset(X, y), batch_size=32, shuffle=True, num_workers=2)
    for xb, yb in loader:                  # xb: (32, *X.shape[1:]), yb: (32, *y.shape[1:])
        ...

Where things are::

    dataset.py     Dataset, IterableDataset, TensorDataset, StackDataset, ConcatDataset,
                   ChainDataset, Subset, random_split
    sampler.py     Sampler, SequentialSampler, RandomSampler, SubsetRandomSampler,
                   WeightedRandomSampler, BatchSampler
    collate.py     default_collate, default_convert, collate and default_collate_fn_map
    dataloader.py  DataLoader and its single- and multi-process iterators
    _fetch.py      fetch one batch: samples by index (or from a stream), then collate
    _worker.py     the worker process loop, its seeding, get_worker_info()

Randomness comes from minigrad's global generator, so ``mg.manual_seed(s)`` makes shuffling,
sampling, ``random_split`` and the workers' seeds reproducible; ``generator=`` (a
``minigrad.random.Generator``, or any ``np.random.Generator``) gives a stream of its own.
"""
from .collate import default_collate, default_convert
from .dataloader import DataLoader, _DatasetKind, get_worker_info
from .dataset import (
    ChainDataset,
    ConcatDataset,
    Dataset,
    IterableDataset,
    StackDataset,
    Subset,
    TensorDataset,
    random_split,
)
from .sampler import (
    BatchSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    SubsetRandomSampler,
    WeightedRandomSampler,
)

__all__ = [
    "BatchSampler",
    "ChainDataset",
    "ConcatDataset",
    "DataLoader",
    "Dataset",
    "IterableDataset",
    "RandomSampler",
    "Sampler",
    "SequentialSampler",
    "StackDataset",
    "Subset",
    "SubsetRandomSampler",
    "TensorDataset",
    "WeightedRandomSampler",
    "_DatasetKind",
    "default_collate",
    "default_convert",
    "get_worker_info",
    "random_split",
]
