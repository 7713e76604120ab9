"""Connectionist temporal classification (``F.ctc_loss``, ``nn.CTCLoss``).

The loss of one sequence is -log of the total probability of every alignment of its target
to the T input frames (blanks between and around the labels, repeats merged). The forward
(alpha) recursion runs in log space over the extended target l' = (blank, l1, blank, l2, ...,
blank) of length L = 2S + 1:

    alpha_0(s) = log p_0(l'_s)                     for s in {0, 1}, impossible otherwise
    alpha_t(s) = logsumexp(alpha_{t-1}(s), alpha_{t-1}(s-1), [alpha_{t-1}(s-2)])
                 + log p_t(l'_s)
    loss = -logsumexp(alpha_{T-1}(L-1), alpha_{T-1}(L-2))

where the s-2 term is allowed only when l'_s is a label different from l'_{s-2}; the beta
recursion is its mirror image, and alpha_t(s) + beta_t(s) - log p_t(l'_s) is the log
probability of the paths through (t, s), whose posterior gives the gradient. ``CtcLoss`` runs
both recursions with numpy (vectorised over the batch and the extended targets, a Python loop
over time: about 2x PyTorch's time at T=50, N=16, C=20; a Cython kernel would win little
more, as the loss is seldom the hot part of a CTC model). Under create_graph, the gradient is
recomputed by differentiating the same alpha recursion written with recorded tensor ops
(gather, logsumexp, where), so CTC is differentiable twice; there "impossible" is a large
finite negative number rather than -inf (its exponential is exactly 0, and logsumexp never
meets a row of all -inf, whose gradient is NaN). A loss that stays impossible (a target
longer than the input allows) is +inf with a NaN gradient, as in PyTorch, or 0 with gradient
0 with ``zero_infinity=True``.
"""
import numpy as np

from ..._kernels import kernels as K
from ...autograd import enable_grad
from ...autograd import grad as autograd_grad
from ...autograd.graph import Op
from ...errors import ShapeError
from ...tensor import Tensor
from ..module import Module
from . import _ops as _fn
from ._common import _check_reduction, _check_tensor

__all__ = ["CTCLoss", "ctc_loss"]

_IMPOSSIBLE = -1e30


def _lengths(value, name, batch):
    array = value._data if isinstance(value, Tensor) else np.asarray(value)
    if array.dtype.kind not in "iu":
        raise TypeError(f"ctc_loss: {name} must be integers (a tensor, list or tuple of int), "
                        f"got dtype {array.dtype}")
    array = array.reshape(-1).astype(np.int64)
    if array.size != batch:
        raise ShapeError(f"ctc_loss: Expected {name} to have {batch} elements (the batch "
                         f"size), but got {array.size}")
    return array


def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=0, reduction="mean",
             zero_infinity=False):
    """CTC loss of ``log_probs`` (T, N, C) (or (T, C) unbatched; log_softmax outputs) against
    ``targets``: (N, S) padded or the N targets concatenated (1-D, sum(target_lengths)), or
    (S,) unbatched. ``input_lengths``, ``target_lengths``: (N,) ints (tensors, lists or
    tuples). 'mean' divides each loss by its target length (at least 1), then averages."""
    _check_tensor(log_probs, "log_probs", "ctc_loss")
    _check_tensor(targets, "targets", "ctc_loss")
    _check_reduction(reduction)
    if log_probs.dim() not in (2, 3):
        raise ShapeError(f"ctc_loss: log_probs must be 3-D (T, N, C) or 2-D (T, C), got shape "
                         f"{tuple(log_probs.shape)}")
    if log_probs._data.dtype.kind != "f":
        raise TypeError(f"ctc_loss: log_probs must be a floating point tensor, got dtype "
                        f"{log_probs._data.dtype}")
    unbatched = log_probs.dim() == 2
    if unbatched:
        log_probs = log_probs.unsqueeze(1)
    steps, batch, classes = log_probs.shape
    if not 0 <= blank < classes:
        raise ShapeError(f"ctc_loss: blank must be in label range [0, {classes}), got {blank}")
    input_lengths = _lengths(input_lengths, "input_lengths", batch)
    target_lengths = _lengths(target_lengths, "target_lengths", batch)
    y = targets._data
    if y.dtype.kind not in "iu":
        raise TypeError(f"ctc_loss: targets must hold integer class indices, got dtype "
                        f"{y.dtype}")
    if np.any(input_lengths > steps) or np.any(input_lengths < 0):
        bad = int(input_lengths[(input_lengths > steps) | (input_lengths < 0)][0])
        raise ShapeError(f"ctc_loss: Expected input_lengths to have value at most {steps} "
                         f"(and at least 0), but got value {bad}")
    if np.any(target_lengths < 0):
        raise ShapeError("ctc_loss: target_lengths must be non-negative")
    longest = int(target_lengths.max()) if batch else 0
    padded = np.zeros((batch, longest), dtype=np.int64)
    if unbatched:
        y = y.reshape(1, -1)
    if y.ndim == 1:  # concatenated targets
        if y.size < int(target_lengths.sum()):
            raise ShapeError(f"ctc_loss: concatenated targets hold {y.size} labels but "
                             f"target_lengths sum to {int(target_lengths.sum())}")
        starts = np.concatenate(([0], np.cumsum(target_lengths)[:-1]))
        for n in range(batch):
            padded[n, :target_lengths[n]] = y[starts[n]:starts[n] + target_lengths[n]]
    elif y.ndim == 2:
        if y.shape[0] != batch:
            raise ShapeError(f"ctc_loss: targets have batch size {y.shape[0]}, log_probs "
                             f"{batch}")
        if y.shape[1] < longest:
            raise ShapeError(f"ctc_loss: Expected tensor to have size at least {longest} at "
                             f"dimension 1, but got size {y.shape[1]} for targets of shape "
                             f"{tuple(y.shape)}")
        padded[:] = y[:, :longest]
    else:
        raise ShapeError(f"ctc_loss: targets must be 1-D or 2-D, got shape {tuple(y.shape)}")
    within = np.arange(longest)[None, :] < target_lengths[:, None]
    if np.any(within & ((padded < 0) | (padded >= classes))):
        # (PyTorch reads out of bounds here; minigrad refuses)
        raise IndexError(f"ctc_loss: target labels must lie in [0, {classes}), got "
                         f"{int(padded[within & ((padded < 0) | (padded >= classes))][0])}")
    padded = np.where(within, padded, blank)

    # Extended targets (N, L), and where the s - 2 transition is allowed.
    width = 2 * longest + 1
    extended = np.full((batch, width), blank, dtype=np.int64)
    extended[:, 1::2] = padded
    skip = np.zeros((batch, width), dtype=bool)
    # (at label positions s = 3, 5, ...; PyTorch's rule, which also decides the odd case of a
    # label equal to blank)
    skip[:, 3::2] = extended[:, 3::2] != extended[:, 1:-2:2]
    plan = _Plan(extended, skip, input_lengths, target_lengths, bool(zero_infinity))
    loss = CtcLoss.apply(log_probs, plan)
    if unbatched:
        loss = loss.reshape(())
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    divisor = np.maximum(target_lengths, 1).astype(log_probs._data.dtype)
    return (loss / _fn.constant(divisor.reshape(loss.shape))).mean()


class _Plan:
    """The constants of one CTC call: extended targets (N, L), allowed skips (N, L), lengths."""

    def __init__(self, extended, skip, input_lengths, target_lengths, zero_infinity):
        self.extended, self.skip = extended, skip
        self.input_lengths, self.target_lengths = input_lengths, target_lengths
        self.zero_infinity = zero_infinity


class CtcLoss(Op):
    """Per-sequence CTC losses (N,) of log_probs (T, N, C).

    Forward runs the alpha and beta recursions in log space with numpy (vectorised over the
    batch and the extended targets, a loop over time) and keeps the derivative

        d loss_n / d log_probs[t, n, c] = -sum_{s: l'_s = c} exp(alpha_t(s) + beta_t(s)
                                           - log p_t(l'_s) + loss_n)          (t < T_n)

    (the posterior probability that frame t emits c, negated). It is the true derivative of
    the loss with respect to ``log_probs``; PyTorch's CTC backward adds exp(log_probs), the
    gradient with respect to the logits of a log_softmax, which is the same after the
    log_softmax (see tests/test_losses_zoo.py). An infinite loss has a NaN gradient, as in
    PyTorch, unless ``zero_infinity`` (loss 0, gradient 0).

    Under create_graph the derivative is recomputed by differentiating ``_ctc_composed``, the
    same alpha recursion written with recorded tensor ops, so it is differentiable again.
    """

    may_broadcast = False

    def forward(self, log_probs, plan):
        self.saved_tensors = (log_probs,)
        self.plan = plan
        losses, self.gradient = _ctc_numpy(log_probs, plan)
        return losses

    def backward(self, grad, xp):
        if xp is K:
            return xp.mul(self.gradient, xp.reshape(grad, (1, -1, 1))), None
        log_probs, = self.saved_tensors
        with enable_grad():
            losses = _ctc_composed(log_probs, self.plan)
        gradient, = autograd_grad(losses, log_probs, grad, create_graph=True)
        return gradient, None


def _ctc_numpy(log_probs, plan):
    """Losses (N,) and their derivatives (T, N, C), by forward-backward in log space."""
    steps, batch, _ = log_probs.shape
    extended, skip = plan.extended, plan.skip
    width = extended.shape[1]
    lengths, target_lengths = plan.input_lengths, plan.target_lengths
    rows = np.arange(batch)
    emissions = np.take_along_axis(log_probs, np.broadcast_to(extended, (steps, batch, width)),
                                   axis=2)
    alpha = np.full((steps, batch, width), -np.inf, dtype=log_probs.dtype)
    beta = np.full_like(alpha, -np.inf)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        if steps:
            alpha[0, :, 0] = emissions[0, :, 0]
            has_label = target_lengths > 0
            alpha[0, has_label, 1] = emissions[0, has_label, 1]
        for t in range(1, steps):
            previous = alpha[t - 1]
            total = previous.copy()
            np.logaddexp(total[:, 1:], previous[:, :-1], out=total[:, 1:])
            skipped = np.where(skip[:, 2:], previous[:, :-2], -np.inf)
            np.logaddexp(total[:, 2:], skipped, out=total[:, 2:])
            alpha[t] = np.where((t < lengths)[:, None], total + emissions[t], -np.inf)
        end = 2 * target_lengths
        last = np.maximum(lengths - 1, 0)
        for t in range(steps - 1, -1, -1):
            starting = t == lengths - 1
            if t + 1 < steps:
                following = beta[t + 1]
                total = following.copy()
                np.logaddexp(total[:, :-1], following[:, 1:], out=total[:, :-1])
                skipped = np.where(skip[:, 2:], following[:, 2:], -np.inf)
                np.logaddexp(total[:, :-2], skipped, out=total[:, :-2])
                beta[t] = np.where((t < lengths - 1)[:, None], total + emissions[t], -np.inf)
            beta[t, rows[starting], end[starting]] = emissions[t, rows[starting], end[starting]]
            tail = starting & (target_lengths > 0)
            beta[t, rows[tail], end[tail] - 1] = emissions[t, rows[tail], end[tail] - 1]
        final = alpha[last, rows]                                     # (N, L)
        log_likelihood = np.logaddexp(
            final[rows, end], np.where(target_lengths > 0, final[rows, np.maximum(end - 1, 0)],
                                       -np.inf))
        log_likelihood = np.where(lengths == 0, np.where(target_lengths == 0, 0.0, -np.inf),
                                  log_likelihood)
        losses = -log_likelihood
        posterior = np.exp(alpha + beta - emissions + losses[None, :, None])
    gradient = np.zeros_like(log_probs)
    time_index, batch_index, _ = np.indices(posterior.shape)
    np.add.at(gradient, (time_index, batch_index, np.broadcast_to(extended, posterior.shape)),
              -posterior)
    within = np.arange(steps)[:, None] < lengths[None, :]          # (T, N): frames in use
    gradient[~within] = 0.0
    infinite = np.isinf(losses)
    if plan.zero_infinity:
        losses = np.where(infinite, 0.0, losses)
        gradient[:, infinite] = 0.0
    else:
        gradient[within & infinite[None, :]] = np.nan
    return losses.astype(log_probs.dtype, copy=False), gradient


def _ctc_composed(log_probs, plan):
    """Per-sequence losses (N,) by the alpha recursion in recorded tensor ops (the
    create_graph path: its derivative is the gradient, and differentiable again)."""
    steps, batch, _ = log_probs.shape
    extended, skip = plan.extended, plan.skip
    input_lengths, target_lengths = plan.input_lengths, plan.target_lengths
    width = extended.shape[1]
    index = _fn.constant(np.broadcast_to(extended, (steps, batch, width)).copy())
    emissions = _fn.gather(log_probs, 2, index)                       # (T, N, L)
    dtype = log_probs._data.dtype
    start = np.full((batch, width), _IMPOSSIBLE, dtype=dtype)
    start[:, 0] = 0
    start[target_lengths > 0, 1] = 0
    impossible_column = _fn.constant(np.full((batch, 1), _IMPOSSIBLE, dtype=dtype))
    impossible_pair = _fn.constant(np.full((batch, 2), _IMPOSSIBLE, dtype=dtype))
    if steps:
        alpha = emissions[0] + _fn.constant(start)
    else:
        alpha = _fn.constant(start)
    for t in range(1, steps):
        shifted1 = _fn.cat((impossible_column, alpha[:, :-1]), 1)
        shifted2 = _fn.cat((impossible_pair, alpha[:, :-2]), 1)[:, :width]
        shifted2 = _fn.where(skip, shifted2, _IMPOSSIBLE)
        step = _fn.logsumexp(_fn.stack((alpha, shifted1, shifted2)), 0) + emissions[t]
        alpha = _fn.where((t < input_lengths)[:, None], step, alpha)
    last = np.stack((2 * target_lengths, np.maximum(2 * target_lengths - 1, 0)), 1)
    ends = _fn.gather(alpha, 1, _fn.constant(last))
    ends = _fn.where(np.stack((np.ones(batch, bool), target_lengths > 0), 1), ends,
                     _IMPOSSIBLE)
    loss = -_fn.logsumexp(ends, 1)
    # Empty input (input length 0) with an empty target has probability 1.
    empty = (input_lengths == 0)
    loss = _fn.where(empty & (target_lengths == 0), 0.0, loss)
    infinite = (loss._data > -_IMPOSSIBLE / 10) | (empty & (target_lengths > 0))
    return _fn.where(infinite, 0.0 if plan.zero_infinity else np.inf, loss)


class CTCLoss(Module):
    """Connectionist temporal classification loss (see ``F.ctc_loss``)."""

    def __init__(self, blank=0, reduction="mean", zero_infinity=False):
        super().__init__()
        _check_reduction(reduction)
        self.blank, self.reduction, self.zero_infinity = blank, reduction, zero_infinity

    def forward(self, log_probs, targets, input_lengths, target_lengths):
        return ctc_loss(log_probs, targets, input_lengths, target_lengths, self.blank,
                        self.reduction, self.zero_infinity)
