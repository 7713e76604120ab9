"""Likelihood and divergence losses: KL divergence, Poisson NLL, Gaussian NLL.

These are compositions of differentiable tensor ops (log, exp, where, ...), so their first
and second derivatives come from the ops' own backward formulas; no new primitive is needed
(none of them is hot, and each op in the chain is already stable on its own).
"""
import math
import warnings

import numpy as np

from ..module import Module
from . import _ops as _fn
from ._common import _check_reduction, _check_tensor, _legacy_reduction

__all__ = [
    "GaussianNLLLoss",
    "KLDivLoss",
    "PoissonNLLLoss",
    "gaussian_nll_loss",
    "kl_div",
    "poisson_nll_loss",
]


def _apply_reduction(loss, reduction):
    """'mean' (NaN for no elements, as PyTorch), 'sum' or 'none' of a tensor of losses."""
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _xlogx(t):
    """t log t with 0 log 0 = 0 (PyTorch's xlogy(t, t)); negative t gives NaN, as there."""
    safe = _fn.where(t == 0, 1.0, t)
    return t * _fn.log(safe)


def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):
    """Kullback-Leibler divergence, pointwise, with ``input`` the log-probabilities log q:

        l = target (log target - input)            (log_target=False; 0 where target = 0)
        l = exp(target) (target - input)           (log_target=True: target is log p)

    ``reduction='batchmean'`` divides the sum by the batch size input.size(0) (the KL
    divergence proper); 'mean' divides by the number of elements and warns, as PyTorch does.
    Input and target broadcast. dl/dinput = -p.
    """
    _check_tensor(input, "input", "kl_div")
    _check_tensor(target, "target", "kl_div")
    if size_average is not None or reduce is not None:
        reduction = _legacy_reduction(size_average, reduce, reduction)
    elif reduction == "mean":
        warnings.warn(
            "reduction: 'mean' divides the total loss by both the batch size and the support "
            "size.'batchmean' divides only by the batch size, and aligns with the KL div math "
            "definition.'mean' will be changed to behave the same as 'batchmean' in the next "
            "major release.", UserWarning, stacklevel=2)
    if reduction != "batchmean":
        _check_reduction(reduction)
    if log_target:
        loss = _fn.exp(target) * (target - input)
    else:
        loss = _xlogx(target) - target * input
    if reduction == "batchmean":
        total = loss.sum()
        return total / input.shape[0] if input.dim() != 0 else total
    return _apply_reduction(loss, reduction)


def poisson_nll_loss(input, target, log_input=True, full=False, size_average=None, eps=1e-8,
                     reduce=None, reduction="mean"):
    """Negative log-likelihood of ``target`` under Poisson(rate):

        log_input=True:   l = exp(input) - target input          (input = log rate)
        log_input=False:  l = input - target log(input + eps)    (input = rate)
        full=True adds Stirling's log(target!) ~ t log t - t + log(2 pi t) / 2 where t > 1.
    """
    _check_tensor(input, "input", "poisson_nll_loss")
    _check_tensor(target, "target", "poisson_nll_loss")
    reduction = _legacy_reduction(size_average, reduce, reduction)
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(reduction + " is not a valid value for reduction")
    if log_input:
        loss = _fn.exp(input) - target * input
    else:
        loss = input - target * _fn.log(input + eps)
    if full:
        counted = target > 1
        safe = _fn.where(counted, target, 1.0)
        stirling = safe * _fn.log(safe) - safe + 0.5 * _fn.log(2 * math.pi * safe)
        loss = loss + _fn.where(counted, stirling, 0.0)
    return _apply_reduction(loss, reduction)


def gaussian_nll_loss(input, target, var, full=False, eps=1e-6, reduction="mean"):
    """Negative log-likelihood of ``target`` under N(input, var):

        l = (log(max(var, eps)) + (input - target)^2 / max(var, eps)) / 2  (+ log(2 pi) / 2)

    ``var`` has the input's shape, or the input's shape without its last dimension, or the
    input's shape with one dimension of size 1 (shared variances), or is a float; anything
    else is a ValueError, as is a negative variance. The clamp at eps is not differentiated (as PyTorch: the gradient reaches a
    clamped var as if unclamped).
    """
    _check_tensor(input, "input", "gaussian_nll_loss")
    _check_tensor(target, "target", "gaussian_nll_loss")
    if isinstance(var, (int, float)) and not isinstance(var, bool):
        if var < 0:
            raise ValueError("var has negative entry/entries")
        var = _fn.full_like(input, float(var))
    else:
        _check_tensor(var, "var", "gaussian_nll_loss")
        if np.any(var._data < 0):
            raise ValueError("var has negative entry/entries")
    if var.size() != input.size():
        differing = [v for i, v in zip(input.shape, var.shape) if i != v]
        if tuple(input.shape[:-1]) == tuple(var.shape):
            var = var.unsqueeze(-1)  # one variance per row, shared by the last dimension
        elif input.dim() == var.dim() and sum(differing) == 1:
            pass  # one dimension of size 1 in var, broadcast
        else:
            raise ValueError(f"var is of incorrect size: var has shape {tuple(var.shape)}, "
                             f"input has shape {tuple(input.shape)}")
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(reduction + " is not valid")
    values = var._data
    clamped = np.maximum(values, eps).astype(values.dtype, copy=False)
    # var + (clamped - var) as a constant: the clamped value, with the identity derivative.
    var = var + _fn.constant(clamped - values) if var.requires_grad else _fn.constant(clamped)
    loss = 0.5 * (_fn.log(var) + (input - target) ** 2 / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _apply_reduction(loss, reduction)


class KLDivLoss(Module):
    """Kullback-Leibler divergence (see ``F.kl_div``)."""

    def __init__(self, size_average=None, reduce=None, reduction="mean", log_target=False):
        super().__init__()
        if size_average is not None or reduce is not None:
            reduction = _legacy_reduction(size_average, reduce, reduction)
        self.reduction = reduction
        self.log_target = log_target

    def forward(self, input, target):
        return kl_div(input, target, reduction=self.reduction, log_target=self.log_target)


class PoissonNLLLoss(Module):
    """Poisson negative log-likelihood (see ``F.poisson_nll_loss``)."""

    def __init__(self, log_input=True, full=False, size_average=None, eps=1e-8, reduce=None,
                 reduction="mean"):
        super().__init__()
        self.reduction = _legacy_reduction(size_average, reduce, reduction)
        self.log_input, self.full, self.eps = log_input, full, eps

    def forward(self, log_input, target):
        return poisson_nll_loss(log_input, target, log_input=self.log_input, full=self.full,
                                eps=self.eps, reduction=self.reduction)


class GaussianNLLLoss(Module):
    """Gaussian negative log-likelihood (see ``F.gaussian_nll_loss``)."""

    def __init__(self, *, full=False, eps=1e-6, reduction="mean"):
        super().__init__()
        self.full, self.eps, self.reduction = full, eps, reduction

    def forward(self, input, target, var):
        return gaussian_nll_loss(input, target, var, full=self.full, eps=self.eps,
                                 reduction=self.reduction)
