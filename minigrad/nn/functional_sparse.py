"""The embedding family of ``minigrad.nn.functional``: ``embedding`` and ``embedding_bag``.

``embedding`` is one op (``ops.nn.Embedding``): a row gather forward, and an index add of
gradient rows backward (the ``scatter_index`` kernel of ``_kernels/_index.pyx``).
``embedding_bag`` gathers the rows the same way and reduces each bag with recorded ops (an
index add into the bags for sum and mean, a gather of the winning rows for max), so every
gradient, the per-sample weights' included, differentiates twice.
"""
import numpy as np

from ..autograd import no_grad
from ..autograd.graph import bump
from ..errors import ShapeError
from ..ops.index import Index, ScatterIndex
from ..ops.nn import Embedding
from ..tensor import Tensor
from .losses import _check_tensor

__all__ = ["embedding", "embedding_bag"]


def _indices(input, function):
    """The int64 numpy indices of an integer tensor (PyTorch accepts Long and Int)."""
    _check_tensor(input, "input", function)
    indices = input._data
    if indices.dtype not in (np.int64, np.int32):
        raise RuntimeError(
            "Expected tensor for argument #1 'indices' to have one of the following scalar "
            f"types: Long, Int; but got {input.dtype} instead (while checking arguments for "
            f"{function})")
    return indices.astype(np.int64, copy=False)


def _check_weight(weight, function):
    _check_tensor(weight, "weight", function)
    if weight._data.ndim != 2:
        raise RuntimeError(f"'weight' must be 2-D (got shape {tuple(weight._data.shape)})")


def _check_range(indices, num_embeddings):
    """Negative indices are out of range too, as in PyTorch."""
    if indices.size and (indices.min() < 0 or indices.max() >= num_embeddings):
        bad = indices[(indices < 0) | (indices >= num_embeddings)].reshape(-1)[0]
        raise IndexError(f"index out of range in self (index {bad} with {num_embeddings} "
                         "embeddings)")


def _padding_index(padding_idx, num_embeddings):
    """padding_idx in [0, num_embeddings), or -1 for none (PyTorch's AssertionError)."""
    if padding_idx is None:
        return -1
    if padding_idx > 0:
        if padding_idx >= num_embeddings:
            raise AssertionError("Padding_idx must be within num_embeddings")
    elif padding_idx < 0:
        if padding_idx < -num_embeddings:
            raise AssertionError("Padding_idx must be within num_embeddings")
        padding_idx = num_embeddings + padding_idx
    return int(padding_idx)


def _renorm_(weight, indices, max_norm, norm_type):
    """Rescale, in place, the rows of weight that ``indices`` use whose ``norm_type`` norm
    exceeds ``max_norm`` to norm max_norm (scale max_norm / (norm + 1e-7), as PyTorch)."""
    rows = np.unique(indices)
    if rows.size == 0:
        return
    with no_grad():
        values = weight._data[rows]
        norms = np.linalg.norm(values, ord=float(norm_type), axis=1)
        over = norms > max_norm
        if over.any():
            scale = (max_norm / (norms[over] + 1e-7)).astype(values.dtype)
            weight._data[rows[over]] = values[over] * scale[:, None]
            bump(weight._data)  # an in-place change: saved copies of weight are now stale


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0,
              scale_grad_by_freq=False, sparse=False):
    """out = weight[input]: rows of weight (num_embeddings, D) picked by the integer tensor
    input (any shape) -> ``(*input.shape, D)``.

    ``padding_idx``: positions holding it get no gradient. ``max_norm``: rows used whose norm
    exceeds it are first rescaled in place. ``scale_grad_by_freq``: each row's gradient is
    divided by the number of times it occurs in input.
    """
    indices = _indices(input, "embedding")
    _check_weight(weight, "embedding")
    if sparse:
        raise NotImplementedError("embedding: sparse gradients are out of minigrad's scope "
                                  "(sparse tensors); use sparse=False")
    num_embeddings = weight._data.shape[0]
    padding_idx = _padding_index(padding_idx, num_embeddings)
    _check_range(indices, num_embeddings)
    if max_norm is not None:
        _renorm_(weight, indices, max_norm, norm_type)
    scale = None
    if padding_idx >= 0 or scale_grad_by_freq:
        scale = np.ones(indices.shape, np.float64)
        if scale_grad_by_freq:
            counts = np.bincount(indices.reshape(-1), minlength=num_embeddings)
            scale /= counts[indices]
        if padding_idx >= 0:
            scale[indices == padding_idx] = 0.0
        scale = scale[..., None]
    return Embedding.apply(weight, indices, scale)


_MODES = ("sum", "mean", "max")


def _bags(indices, offsets, include_last_offset, per_sample_weights):
    """(flat indices, bag number of each, number of bags, flat per-sample weights)."""
    if indices.ndim == 2:
        if offsets is not None:
            raise ValueError(
                "if input is 2D, then offsets has to be None, as input is treated is a "
                "mini-batch of fixed length sequences. However, found offsets of type "
                f"{type(offsets)}")
        n_bags, length = indices.shape
        bag_of = np.repeat(np.arange(n_bags), length)
        flat_weights = None if per_sample_weights is None else per_sample_weights.reshape(-1)
        return indices.reshape(-1), bag_of, n_bags, flat_weights
    if indices.ndim != 1:
        raise ValueError(f"input has to be 1D or 2D Tensor, but got Tensor of dimension "
                         f"{indices.ndim}")
    if offsets is None:
        raise ValueError("offsets has to be a 1D Tensor but got None")
    if not isinstance(offsets, Tensor) or offsets._data.ndim != 1:
        raise ValueError("offsets has to be a 1D Tensor")
    starts = offsets._data.astype(np.int64)
    if starts.size and starts[0] != 0:
        raise RuntimeError("offsets[0] has to be 0, i.e., the first sequence in the mini-batch "
                           f"has to start from position 0. However, got {starts[0]}")
    n = indices.size
    if starts.size and starts[-1] > n:
        raise RuntimeError(f"offsets[-1] can not be greater than input's length {n} but got "
                           f"offsets[-1] of {starts[-1]}")
    if np.any(np.diff(starts) < 0):
        raise RuntimeError(f"offsets must be non-decreasing, got {starts.tolist()}")
    # With include_last_offset the last offset only marks the bag count: as in PyTorch, the
    # last bag runs to the end of input.
    n_bags = max(starts.size - 1 if include_last_offset else starts.size, 0)
    # The bag of position j: the number of bag starts at or before j, minus one.
    bag_of = np.searchsorted(starts[:n_bags], np.arange(n), side="right") - 1
    return indices, bag_of, n_bags, per_sample_weights


def embedding_bag(input, weight, offsets=None, max_norm=None, norm_type=2,
                  scale_grad_by_freq=False, mode="mean", sparse=False,
                  per_sample_weights=None, include_last_offset=False, padding_idx=None):
    """Sums, means or maxima of bags of embedding rows, without materialising the
    (n, D) rows of each bag as separate outputs.

    input (B, L) (B bags of L indices; offsets None) or (n,) with ``offsets`` (B,) (bag b
    is input[offsets[b]:offsets[b + 1]]; with ``include_last_offset`` offsets has B + 1
    entries, the last one the end). out (B, D); an empty bag gives zeros. ``mode='sum'``
    may weight each index by ``per_sample_weights`` (input's shape). Entries equal to
    ``padding_idx`` are left out of their bag (and out of a mean's count).
    ``scale_grad_by_freq`` divides each row's gradient by its count in the input (as
    ``embedding`` does; PyTorch 2.13's CPU kernel scales some rows by another row's count).
    """
    indices = _indices(input, "embedding_bag")
    _check_weight(weight, "embedding_bag")
    if sparse:
        raise NotImplementedError("embedding_bag: sparse gradients are out of minigrad's "
                                  "scope (sparse tensors); use sparse=False")
    if per_sample_weights is not None:
        _check_tensor(per_sample_weights, "per_sample_weights", "embedding_bag")
        if per_sample_weights._data.shape != indices.shape:
            raise ShapeError(
                f"embedding_bag: If per_sample_weights ({tuple(per_sample_weights.shape)}) is "
                f"not None, then it must have the same shape as the input "
                f"({tuple(indices.shape)})")
    flat, bag_of, n_bags, flat_weights = _bags(indices, offsets, include_last_offset,
                                               per_sample_weights)
    if mode not in _MODES:
        raise ValueError("mode has to be one of sum, mean or max")
    if per_sample_weights is not None and mode != "sum":
        raise NotImplementedError(
            "embedding_bag: per_sample_weights was not None. per_sample_weights is only "
            f"supported for mode='sum' (got mode='{mode}'). Please open a feature request on "
            "GitHub.")
    num_embeddings, dim = weight._data.shape
    _check_range(flat, num_embeddings)
    padding_idx = _padding_index(padding_idx, num_embeddings)
    if max_norm is not None:
        _renorm_(weight, flat, max_norm, norm_type)
    # Positions that count: inside a bag and not padding.
    used = bag_of >= 0
    if padding_idx >= 0:
        used &= flat != padding_idx
    positions = np.flatnonzero(used)
    if positions.size != flat.size:
        flat, bag_of = flat[positions], bag_of[positions]
        if flat_weights is not None:
            flat_weights = flat_weights.reshape(-1)[positions]
    if mode == "max":
        return _bag_max(weight, flat, bag_of, n_bags, dim)
    scale = None
    if scale_grad_by_freq:
        counts = np.bincount(flat, minlength=num_embeddings)
        scale = (1.0 / counts[flat])[:, None]
    rows = Embedding.apply(weight, flat, scale)
    if flat_weights is not None:
        rows = rows * flat_weights.reshape(-1, 1)
    out = ScatterIndex.apply(rows, bag_of, (n_bags, dim))
    if mode == "mean":
        counts = np.bincount(bag_of, minlength=n_bags).astype(weight._data.dtype)
        out = out / np.maximum(counts, 1)[:, None]
    return out


def _bag_max(weight, flat, bag_of, n_bags, dim):
    """out[b, d] = max over the bag's rows of weight[flat, d] (0 for an empty bag): a gather
    of the winning row per (bag, column), so the gradient goes to that row alone."""
    values = weight._data[flat]  # (n, D)
    best = np.full((n_bags, dim), -np.inf, values.dtype)
    np.maximum.at(best, bag_of, values)
    # The first position of each bag reaching its maximum, per column.
    n = flat.size
    is_best = values == best[bag_of]
    candidate = np.where(is_best, np.arange(n)[:, None], n)
    first = np.full((n_bags, dim), n, np.int64)
    np.minimum.at(first, bag_of, candidate)
    empty = first == n
    winner_rows = flat[np.where(empty, 0, first)] if n else np.zeros((n_bags, dim), np.int64)
    out = Index.apply(weight, (winner_rows, np.arange(dim)[None, :]))
    if empty.any():
        out = out * (~empty).astype(weight._data.dtype)
    return out
