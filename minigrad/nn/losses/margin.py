"""Margin and embedding losses: ranking, hinge, cosine and soft margins, the multi-class and
multi-label margins, triplet losses, and ``F.pairwise_distance``.

Each is a composition of differentiable tensor ops (clamp_min, where, gather, norm,
softplus, ...) following PyTorch's definitions, so first and second derivatives come from
the ops' own formulas. Class indices and the +-1 labels only select terms: they are read
as constants (masks), never differentiated.
"""
import numpy as np

from ...errors import ShapeError
from ...tensor import Tensor
from ..module import Module
from . import _ops as _fn
from ._common import _check_reduction, _check_tensor, _legacy_reduction
from .divergence import _apply_reduction

__all__ = [
    "CosineEmbeddingLoss",
    "HingeEmbeddingLoss",
    "MarginRankingLoss",
    "MultiLabelMarginLoss",
    "MultiLabelSoftMarginLoss",
    "MultiMarginLoss",
    "SoftMarginLoss",
    "TripletMarginLoss",
    "TripletMarginWithDistanceLoss",
    "cosine_embedding_loss",
    "hinge_embedding_loss",
    "margin_ranking_loss",
    "multi_margin_loss",
    "multilabel_margin_loss",
    "multilabel_soft_margin_loss",
    "pairwise_distance",
    "soft_margin_loss",
    "triplet_margin_loss",
    "triplet_margin_with_distance_loss",
]


def _reduction(size_average, reduce, reduction):
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    return reduction


def _values(x):
    return x._data if isinstance(x, Tensor) else np.asarray(x)


# ---------------------------------------------------------------------------------------------
# Pairwise margins on +-1 labels
# ---------------------------------------------------------------------------------------------


def margin_ranking_loss(input1, input2, target, margin=0, size_average=None, reduce=None,
                        reduction="mean"):
    """l = max(0, -y (x1 - x2) + margin) for y = +-1 (y = 1: x1 should rank higher)."""
    reduction = _reduction(size_average, reduce, reduction)
    for name, t in (("input1", input1), ("input2", input2), ("target", target)):
        _check_tensor(t, name, "margin_ranking_loss")
    if not input1.dim() == input2.dim() == target.dim():
        raise ShapeError(
            "margin_ranking_loss : All input tensors should have same dimension but got sizes: "
            f"input1: {input1.size()}, input2: {input2.size()}, target: {target.size()} ")
    loss = _fn.clamp_min(-target * (input1 - input2) + margin, 0)
    return _apply_reduction(loss, reduction)


def hinge_embedding_loss(input, target, margin=1.0, size_average=None, reduce=None,
                         reduction="mean"):
    """l = x where y = 1, max(0, margin - x) where y = -1 (x: a distance, y = +-1).
    (As PyTorch: a label that is neither 1 nor -1 gets both terms.)"""
    reduction = _reduction(size_average, reduce, reduction)
    _check_tensor(input, "input", "hinge_embedding_loss")
    _check_tensor(target, "target", "hinge_embedding_loss")
    y = _values(target)
    margin_term = _fn.where(y != 1, _fn.clamp_min(margin - input, 0), 0.0)
    loss = margin_term + _fn.where(y != -1, input, 0.0)
    return _apply_reduction(loss, reduction)


def soft_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """l = log(1 + exp(-y x)), as softplus(-y x): finite for any finite y x."""
    reduction = _reduction(size_average, reduce, reduction)
    _check_tensor(input, "input", "soft_margin_loss")
    _check_tensor(target, "target", "soft_margin_loss")
    return _apply_reduction(_fn.softplus(-(input * target)), reduction)


def cosine_embedding_loss(input1, input2, target, margin=0, size_average=None, reduce=None,
                          reduction="mean"):
    """With ``cos = <x1, x2> / sqrt((|x1|^2 + 1e-12)(|x2|^2 + 1e-12))`` along the last dimension:
    l = 1 - cos where y = 1, max(0, cos - margin) where y = -1.
    input1, input2: (N, D) with target (N,), or (D,) with a 0-d target."""
    reduction = _reduction(size_average, reduce, reduction)
    for name, t in (("input1", input1), ("input2", input2), ("target", target)):
        _check_tensor(t, name, "cosine_embedding_loss")
    dim = target.dim()
    if dim not in (0, 1):
        raise ShapeError("0D or 1D target tensor expected, multi-target not supported "
                         f"(target has shape {tuple(target.shape)})")
    if dim == 1 and not (input1.dim() == 2 and input2.dim() == 2):
        raise ShapeError("1D target tensor expects 2D input tensors, but found inputs with "
                         f"sizes {list(input1.shape)} and {list(input2.shape)}.")
    if dim == 0 and not (input1.dim() == 1 and input2.dim() == 1):
        raise ShapeError("0D target tensor expects 1D input tensors, but found inputs with "
                         f"sizes {list(input1.shape)} and {list(input2.shape)}.")
    epsilon = 1e-12
    product = (input1 * input2).sum(dim)
    square1 = (input1 * input1).sum(dim) + epsilon
    square2 = (input2 * input2).sum(dim) + epsilon
    cos = product / (square1 * square2).sqrt()
    y = _values(target)
    loss = _fn.where(y == 1, 1 - cos, 0.0) + _fn.where(y == -1, _fn.clamp_min(cos - margin, 0),
                                                        0.0)
    return _apply_reduction(loss, reduction)


# ---------------------------------------------------------------------------------------------
# Multi-class and multi-label margins
# ---------------------------------------------------------------------------------------------


def _check_class_input(input, function):
    """(N, C), (C,) or 0-d, non-empty class dimension (PyTorch's RuntimeError otherwise)."""
    n = input.dim()
    if not ((n == 2 and input.shape[1] != 0) or (n == 1 and input.shape[0] != 0) or n == 0):
        raise ShapeError(f"{function}: Expected non-empty vector or matrix with optional 0-dim "
                         f"batch size, but got: {list(input.shape)}")


def _positive_part(z):
    """max(z, 0) with derivative 1[z > 0] (PyTorch's multi-class margins count a term only
    when z > 0 strictly; clamp_min would pass the gradient at z = 0)."""
    return _fn.where(z._data > 0, z, 0.0)


def _as_rows(input):
    """input as (N, C) rows (a view), and the shape of a 'none' result ((N,) or ())."""
    if input.dim() == 2:
        return input, (input.shape[0],)
    return input.reshape(1, -1), ()


def multi_margin_loss(input, target, p=1, margin=1.0, weight=None, size_average=None,
                      reduce=None, reduction="mean"):
    """Multi-class hinge loss of scores x (N, C) against class indices y (N,):

        l_n = sum_{i != y_n} w_{y_n} max(0, margin - x[n, y_n] + x[n, i])^p / C,  p = 1 or 2.
    """
    reduction = _reduction(size_average, reduce, reduction)
    if p != 1 and p != 2:
        raise ValueError("only p == 1 and p == 2 supported")
    if weight is not None and weight.dim() != 1:
        raise ValueError("weight must be one-dimensional")
    _check_tensor(input, "input", "multi_margin_loss")
    _check_tensor(target, "target", "multi_margin_loss")
    _check_class_input(input, "multi_margin_loss")
    rows, none_shape = _as_rows(input)
    frames, classes = rows.shape
    y = _values(target)
    if y.ndim > 1 or y.size != frames:
        raise ShapeError(f"multi_margin_loss: inconsistent target size, expected {frames} but "
                         f"got {list(y.shape)}")
    y = y.reshape(-1).astype(np.int64)
    if y.size and (y.min() < 0 or y.max() >= classes):
        raise IndexError(f"multi_margin_loss: target out of range: class indices must lie in "
                         f"[0, {classes}), got {int(y[(y < 0) | (y >= classes)][0])}")
    if weight is not None and weight.numel() != classes:
        raise ShapeError(f"multi_margin_loss: weight has {weight.numel()} elements; expected "
                         f"{classes}, one per class")
    x_y = _fn.gather(rows, 1, _fn.constant(y[:, None]))
    z = _positive_part(margin - x_y + rows)
    if p == 2:
        z = z * z
    other = np.ones((frames, classes), dtype=bool)
    other[np.arange(frames), y] = False
    scale = np.where(other, 1.0 / classes, 0.0).astype(rows._data.dtype)
    if weight is not None:
        scale = scale * _values(weight).astype(scale.dtype)[y][:, None]
    loss = (z * _fn.constant(scale)).sum(1).reshape(none_shape)
    return _apply_reduction(loss, reduction)


def multilabel_margin_loss(input, target, size_average=None, reduce=None, reduction="mean"):
    """Multi-label hinge loss. ``target`` (input's shape, int64) lists each sample's classes,
    ended by the first -1; with J_n those classes:

        l_n = sum_{j in J_n} sum_{i not in J_n} max(0, 1 - (x[n, j] - x[n, i])) / C.
    """
    reduction = _reduction(size_average, reduce, reduction)
    _check_tensor(input, "input", "multilabel_margin_loss")
    _check_tensor(target, "target", "multilabel_margin_loss")
    _check_class_input(input, "multilabel_margin_loss")
    y = _values(target)
    if (input.dim() <= 1 and y.ndim > 1) or (y.shape != tuple(input.shape)
                                             and not (input.dim() <= 1 and y.size == input.numel())):
        raise ShapeError(f"multilabel_margin_loss: inconsistent target size: {list(y.shape)} "
                         f"for input of size: {list(input.shape)}")
    rows, none_shape = _as_rows(input)
    frames, classes = rows.shape
    y = y.reshape(frames, classes).astype(np.int64)
    if y.size and (y.min() < -1 or y.max() >= classes):
        raise IndexError(f"multilabel_margin_loss: target index is out of range: class "
                         f"indices must lie in [-1, {classes})")
    # listed[n, j]: j-th listed class is valid (before the first -1)
    listed = np.cumprod(y != -1, axis=1).astype(bool)
    safe = np.where(listed, y, 0)
    is_target = np.zeros((frames, classes), dtype=bool)
    rows_index = np.repeat(np.arange(frames), classes)
    is_target[rows_index[listed.reshape(-1)], safe[listed]] = True
    x_j = _fn.gather(rows, 1, _fn.constant(safe))                       # (N, J)
    z = _positive_part(1 - x_j.unsqueeze(2) + rows.unsqueeze(1))  # (N, J, C)
    mask = (listed[:, :, None] & ~is_target[:, None, :]) / classes
    loss = (z * _fn.constant(mask.astype(rows._data.dtype))).sum((1, 2)).reshape(none_shape)
    return _apply_reduction(loss, reduction)


def multilabel_soft_margin_loss(input, target, weight=None, size_average=None, reduce=None,
                                reduction="mean"):
    """l_n = -sum_c w_c (y_c log sigmoid(x_c) + (1 - y_c) log sigmoid(-x_c)) / C (stable)."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_tensor(input, "input", "multilabel_soft_margin_loss")
    _check_tensor(target, "target", "multilabel_soft_margin_loss")
    loss = -(target * _fn.log_sigmoid(input) + (1 - target) * _fn.log_sigmoid(-input))
    if weight is not None:
        loss = loss * weight
    class_dim = input.dim() - 1
    loss = loss.sum(class_dim) / input.shape[class_dim]
    if reduction == "none":
        return loss
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    raise ValueError(reduction + " is not valid")


# ---------------------------------------------------------------------------------------------
# Triplet losses
# ---------------------------------------------------------------------------------------------


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    """||x1 - x2 + eps||_p along the last dimension (eps keeps the norm differentiable when
    x1 = x2). x1 and x2 broadcast."""
    _check_tensor(x1, "x1", "pairwise_distance")
    _check_tensor(x2, "x2", "pairwise_distance")
    from ...linalg import vector_norm  # (0-d inputs: the norm of one element, as torch)
    return vector_norm(x1 - x2 + eps, p, max(x1.dim(), x2.dim()) - 1, keepdim)


def _check_triplet_dims(anchor, positive, negative):
    a, p, n = anchor.dim(), positive.dim(), negative.dim()
    if not a == p == n:
        raise ShapeError("The anchor, positive, and negative tensors are expected to have the "
                         f"same number of dimensions, but got: anchor {a}D, positive {p}D, and "
                         f"negative {n}D inputs")


def triplet_margin_loss(anchor, positive, negative, margin=1.0, p=2, eps=1e-6, swap=False,
                        size_average=None, reduce=None, reduction="mean"):
    """l = max(0, margin + d(a, p) - d(a, n)) with d = pairwise_distance(., ., p, eps);
    ``swap`` uses min(d(a, n), d(p, n)) as the negative distance."""
    reduction = _reduction(size_average, reduce, reduction)
    for name, t in (("anchor", anchor), ("positive", positive), ("negative", negative)):
        _check_tensor(t, name, "triplet_margin_loss")
    _check_triplet_dims(anchor, positive, negative)
    distance_positive = pairwise_distance(anchor, positive, p, eps)
    distance_negative = pairwise_distance(anchor, negative, p, eps)
    if swap:
        distance_negative = _fn.minimum(distance_negative,
                                        pairwise_distance(positive, negative, p, eps))
    loss = _fn.clamp_min(margin + distance_positive - distance_negative, 0)
    return _apply_reduction(loss, reduction)


def triplet_margin_with_distance_loss(anchor, positive, negative, *, distance_function=None,
                                      margin=1.0, swap=False, reduction="mean"):
    """As ``triplet_margin_loss`` with any distance (a callable of two tensors; default
    ``pairwise_distance``); margin must be positive."""
    if margin <= 0:
        raise ValueError(f"margin must be greater than 0, got {margin}")
    _check_reduction(reduction)
    _check_triplet_dims(anchor, positive, negative)
    distance = distance_function if distance_function is not None else pairwise_distance
    distance_positive = distance(anchor, positive)
    distance_negative = distance(anchor, negative)
    if swap:
        distance_negative = _fn.minimum(distance_negative, distance(positive, negative))
    loss = _fn.clamp_min(margin + distance_positive - distance_negative, 0)
    return _apply_reduction(loss, reduction)


# ---------------------------------------------------------------------------------------------
# Modules
# ---------------------------------------------------------------------------------------------


class _MarginLoss(Module):
    def __init__(self, size_average=None, reduce=None, reduction="mean"):
        super().__init__()
        self.reduction = _reduction(size_average, reduce, reduction)


class MarginRankingLoss(_MarginLoss):
    """See ``F.margin_ranking_loss``."""

    def __init__(self, margin=0.0, size_average=None, reduce=None, reduction="mean"):
        super().__init__(size_average, reduce, reduction)
        self.margin = margin

    def forward(self, input1, input2, target):
        return margin_ranking_loss(input1, input2, target, margin=self.margin,
                                   reduction=self.reduction)


class HingeEmbeddingLoss(_MarginLoss):
    """See ``F.hinge_embedding_loss``."""

    def __init__(self, margin=1.0, size_average=None, reduce=None, reduction="mean"):
        super().__init__(size_average, reduce, reduction)
        self.margin = margin

    def forward(self, input, target):
        return hinge_embedding_loss(input, target, margin=self.margin, reduction=self.reduction)


class CosineEmbeddingLoss(_MarginLoss):
    """See ``F.cosine_embedding_loss``."""

    def __init__(self, margin=0.0, size_average=None, reduce=None, reduction="mean"):
        super().__init__(size_average, reduce, reduction)
        self.margin = margin

    def forward(self, input1, input2, target):
        return cosine_embedding_loss(input1, input2, target, margin=self.margin,
                                     reduction=self.reduction)


class SoftMarginLoss(_MarginLoss):
    """See ``F.soft_margin_loss``."""

    def forward(self, input, target):
        return soft_margin_loss(input, target, reduction=self.reduction)


class MultiLabelMarginLoss(_MarginLoss):
    """See ``F.multilabel_margin_loss``."""

    def forward(self, input, target):
        return multilabel_margin_loss(input, target, reduction=self.reduction)


class MultiLabelSoftMarginLoss(_MarginLoss):
    """See ``F.multilabel_soft_margin_loss``; ``weight`` (C,) is a buffer."""

    def __init__(self, weight=None, size_average=None, reduce=None, reduction="mean"):
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)

    def forward(self, input, target):
        return multilabel_soft_margin_loss(input, target, weight=self.weight,
                                           reduction=self.reduction)


class MultiMarginLoss(_MarginLoss):
    """See ``F.multi_margin_loss``; ``weight`` (C,) is a buffer."""

    def __init__(self, p=1, margin=1.0, weight=None, size_average=None, reduce=None,
                 reduction="mean"):
        super().__init__(size_average, reduce, reduction)
        if p != 1 and p != 2:
            raise ValueError("only p == 1 and p == 2 supported")
        if weight is not None and weight.dim() != 1:
            raise ValueError(f"MultiMarginLoss: expected weight to be None or 1D tensor, got "
                             f"{weight.dim()}D instead")
        self.register_buffer("weight", weight)
        self.p, self.margin = p, margin

    def forward(self, input, target):
        return multi_margin_loss(input, target, p=self.p, margin=self.margin,
                                 weight=self.weight, reduction=self.reduction)


class TripletMarginLoss(_MarginLoss):
    """See ``F.triplet_margin_loss``."""

    def __init__(self, margin=1.0, p=2.0, eps=1e-6, swap=False, size_average=None,
                 reduce=None, reduction="mean"):
        super().__init__(size_average, reduce, reduction)
        if margin <= 0:
            raise ValueError(f"TripletMarginLoss: expected margin to be greater than 0, got "
                             f"{margin} instead")
        self.margin, self.p, self.eps, self.swap = margin, p, eps, swap

    def forward(self, anchor, positive, negative):
        return triplet_margin_loss(anchor, positive, negative, margin=self.margin, p=self.p,
                                   eps=self.eps, swap=self.swap, reduction=self.reduction)


class TripletMarginWithDistanceLoss(_MarginLoss):
    """See ``F.triplet_margin_with_distance_loss``."""

    def __init__(self, *, distance_function=None, margin=1.0, swap=False, reduction="mean"):
        super().__init__(reduction=reduction)
        if margin <= 0:
            raise ValueError(f"TripletMarginWithDistanceLoss: expected margin to be greater "
                             f"than 0, got {margin} instead")
        self.distance_function = distance_function if distance_function is not None \
            else pairwise_distance
        self.margin, self.swap = margin, swap

    def forward(self, anchor, positive, negative):
        return triplet_margin_with_distance_loss(
            anchor, positive, negative, distance_function=self.distance_function,
            margin=self.margin, swap=self.swap, reduction=self.reduction)
