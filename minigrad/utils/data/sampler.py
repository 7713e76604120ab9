"""Samplers, as in ``torch.utils.data.sampler``: the order in which a ``DataLoader`` visits a
map-style dataset (``Sampler`` yields indices) and how it groups them (``BatchSampler``
yields lists of indices).

Randomness: a sampler built with ``generator=`` (a ``minigrad.random.Generator`` or any
``np.random.Generator``) draws from it; without one it draws from minigrad's global generator,
so ``mg.manual_seed`` makes every epoch's order reproducible. As in PyTorch, an unseeded
``RandomSampler`` draws one seed from the global generator per epoch and shuffles with a
fresh generator made from it; ``SubsetRandomSampler`` and ``WeightedRandomSampler`` draw from
the global generator directly.
"""
import itertools

import numpy as np

from ... import random as _random
from ...tensor import from_numpy

__all__ = [
    "BatchSampler",
    "RandomSampler",
    "Sampler",
    "SequentialSampler",
    "SubsetRandomSampler",
    "WeightedRandomSampler",
]

_INT64_MAX = 2**63 - 1


def _draw_seed(generator=None):
    """A seed in [0, 2**63 - 1) from ``generator`` (default: minigrad's global generator)."""
    rng = generator if generator is not None else _random.generator()
    return int(rng.integers(_INT64_MAX, dtype=np.int64))


def _is_positive_int(value):
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


class Sampler:
    """Base class: subclasses implement ``__iter__`` (indices, or lists of indices for a batch
    sampler) and usually ``__len__``. Any iterable of indices works as a sampler too."""

    def __iter__(self):
        raise NotImplementedError


class SequentialSampler(Sampler):
    """``0, 1, ..., len(data_source) - 1``, the same every epoch."""

    def __init__(self, data_source):
        self.data_source = data_source

    def __iter__(self):
        return iter(range(len(self.data_source)))

    def __len__(self):
        return len(self.data_source)


class RandomSampler(Sampler):
    """A random order of ``range(n)``, n = ``len(data_source)``, fresh every epoch.

    Without replacement each epoch is a permutation (``num_samples > n`` gives whole
    permutations followed by the start of another); with ``replacement=True`` it is
    ``num_samples`` independent uniform draws from ``range(n)``.
    """

    def __init__(self, data_source, replacement=False, num_samples=None, generator=None):
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator
        if not isinstance(self.replacement, bool):
            raise TypeError(f"replacement should be a boolean value, but got "
                            f"replacement={self.replacement}")
        if not isinstance(self.num_samples, int) or self.num_samples <= 0:
            raise ValueError(f"num_samples should be a positive integer value, but got "
                             f"num_samples={self.num_samples}")

    @property
    def num_samples(self):
        if self._num_samples is None:
            return len(self.data_source)
        return self._num_samples

    def __iter__(self):
        # A generator: the draws happen at the first next(), as in PyTorch.
        yield from self._draw_order().tolist()

    def _draw_order(self):
        """One epoch's indices as an int64 array: the draws ``__iter__`` makes."""
        n = len(self.data_source)
        if self.generator is None:
            # PyTorch's rule: one seed from the global generator per epoch.
            rng = np.random.default_rng(_draw_seed())
        else:
            rng = self.generator
        if self.replacement:
            return rng.integers(n, size=self.num_samples, dtype=np.int64)
        parts = [rng.permutation(n) for _ in range(self.num_samples // n)]
        if self.num_samples % n:
            parts.append(rng.permutation(n)[:self.num_samples % n])
        order = parts[0] if len(parts) == 1 else np.concatenate(parts)
        return order.astype(np.int64, copy=False)

    def __len__(self):
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given indices in a random order, fresh every epoch (without replacement)."""

    def __init__(self, indices, generator=None):
        self.indices = indices
        self.generator = generator

    def __iter__(self):
        rng = self.generator if self.generator is not None else _random.generator()
        for i in rng.permutation(len(self.indices)).tolist():
            yield self.indices[i]

    def __len__(self):
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """``num_samples`` indices from ``range(len(weights))``, index i drawn with probability
    ``weights[i] / sum(weights)`` (``torch.multinomial``'s rule). With ``replacement=False``
    an index is drawn at most once: each draw is proportional to the weights not yet drawn.
    """

    def __init__(self, weights, num_samples, replacement=True, generator=None):
        if not _is_positive_int(num_samples):
            raise ValueError(f"num_samples should be a positive integer value, but got "
                             f"num_samples={num_samples}")
        if not isinstance(replacement, bool):
            raise ValueError(f"replacement should be a boolean value, but got "  # noqa: TRY004
                             f"replacement={replacement}")
        weights = np.asarray(weights._data if hasattr(weights, "_data") else weights,
                             dtype=np.float64)
        if weights.ndim != 1:
            raise ValueError(f"weights should be a 1d sequence but given weights have shape "
                             f"{tuple(weights.shape)}")
        self.weights = from_numpy(weights)  # a float64 Tensor, as PyTorch keeps it
        self.num_samples = num_samples
        self.replacement = replacement
        self.generator = generator

    def __iter__(self):
        weights = self.weights._data
        # torch.multinomial's checks and messages, in its order.
        if np.isinf(weights).any():
            raise RuntimeError("invalid multinomial distribution (encountering probability "
                               "entry = infinity or NaN)")
        if (weights < 0).any() or np.isnan(weights).any():
            raise RuntimeError("invalid multinomial distribution (encountering probability "
                               "entry < 0)")
        total = weights.sum()
        if not total > 0:
            raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
        if not self.replacement and self.num_samples > len(weights):
            raise RuntimeError(f"cannot sample n_sample > prob_dist.size(-1) samples without "
                               f"replacement (n_sample={self.num_samples}, "
                               f"size={len(weights)})")
        rng = self.generator if self.generator is not None else _random.generator()
        probabilities = weights / total
        if self.replacement:
            drawn = rng.choice(len(weights), size=self.num_samples, p=probabilities)
        else:
            drawn = _weighted_draws_without_replacement(rng, probabilities, self.num_samples)
        yield from drawn.tolist()

    def __len__(self):
        return self.num_samples


def _weighted_draws_without_replacement(rng, probabilities, count):
    """``count`` distinct indices, each draw proportional to the remaining weights; once only
    zero weights remain, the zero-weight indices follow in a random order (what
    torch.multinomial does when count exceeds the number of non-zero weights)."""
    nonzero = np.flatnonzero(probabilities)
    first = min(count, len(nonzero))
    drawn = rng.choice(len(probabilities), size=first, replace=False, p=probabilities)
    if first == count:
        return drawn
    zeros = np.flatnonzero(probabilities == 0)
    return np.concatenate([drawn, rng.permutation(zeros)[:count - first]])


class BatchSampler(Sampler):
    """Group the indices of ``sampler`` into lists of ``batch_size``; the last, shorter one is
    kept unless ``drop_last``. ``len`` is ``ceil(len(sampler) / batch_size)`` (floor with
    ``drop_last``)."""

    def __init__(self, sampler, batch_size, drop_last):
        if not _is_positive_int(batch_size):
            raise ValueError(f"batch_size should be a positive integer value, but got "
                             f"batch_size={batch_size}")
        if not isinstance(drop_last, bool):
            raise ValueError(f"drop_last should be a boolean value, but got "  # noqa: TRY004
                             f"drop_last={drop_last}")
        self.sampler = sampler
        self.batch_size = batch_size
        self.drop_last = drop_last

    def __iter__(self):
        indices = iter(self.sampler)
        batch = list(itertools.islice(indices, self.batch_size))
        while batch:
            if self.drop_last and len(batch) < self.batch_size:
                return
            yield batch
            batch = list(itertools.islice(indices, self.batch_size))

    def __len__(self):
        if self.drop_last:
            return len(self.sampler) // self.batch_size
        return (len(self.sampler) + self.batch_size - 1) // self.batch_size


def _index_array_batches(batch_sampler):
    """The batches ``iter(batch_sampler)`` would give, as int64 arrays cut from one array per
    epoch, when it is a plain ``BatchSampler`` over a ``SequentialSampler`` or
    ``RandomSampler`` (the loader's defaults): same indices, same random draws at the same
    moment (the first next()), without a Python int per index. None for any other sampler.
    """
    if type(batch_sampler) is not BatchSampler:
        return None
    sampler = batch_sampler.sampler
    if type(sampler) is SequentialSampler:
        def draw_order():
            return np.arange(len(sampler.data_source), dtype=np.int64)
    elif type(sampler) is RandomSampler:
        draw_order = sampler._draw_order
    else:
        return None

    def batches():
        order = draw_order()
        size = batch_sampler.batch_size
        stop = len(order) - len(order) % size if batch_sampler.drop_last else len(order)
        for start in range(0, stop, size):
            yield order[start:start + size]

    return batches()
