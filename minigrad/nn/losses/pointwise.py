"""Pointwise losses l_i = f(x_i, y_i): MSE, L1, smooth L1, Huber, BCE, BCE with logits.

Each is ONE node of the graph: forward computes the per-element losses, backward their
derivative; under create_graph the derivative is recomputed with ``xp`` (twice
differentiable). Hot ones (MSE, BCE with logits) call fused value-and-gradient kernels.
"""
import numpy as np

from ..._kernels import kernels as K
from ...autograd.graph import Op
from ...errors import ArgumentError, ShapeError
from ...tensor import Tensor
from ._common import (
    _broadcast_pair,
    _check_float,
    _check_reduction,
    _check_same_shape,
    _check_tensor,
    _common_float_dtype,
    _constant,
    _legacy_reduction,
    _reduce,
)

# ---------------------------------------------------------------------------------------------
# Pointwise losses: l_i = f(x_i, y_i), one Op base for all of them
# ---------------------------------------------------------------------------------------------


class PointwiseLoss(Op):
    """Base of the elementwise losses l_i = f(x_i, y_i). A subclass defines

    - ``losses(x, y, *params)``: the per-element losses, on arrays (forward);
    - ``derivative(xp, x, y, *params)``: dl/dx, elementwise, written with ``xp``;
    - ``target_derivative(xp, x, y, *params)``: dl/dy, called only when the target requires
      grad.

    This class applies the optional ``weight`` (l_i w_i), the reduction and the chain rule. A
    weighted 'mean' divides by n, or by sum_i w_i where PyTorch does (MSE and L1).
    """

    may_broadcast = False

    weighted_mean_divides_by_weight_sum = False
    cached_derivative = None  # dl/dx from a fused forward kernel, for the fast path

    def forward(self, x, y, reduction, weight, *params):
        self.saved_tensors = (x, y)
        self.x_dtype, self.y_dtype = x.dtype, y.dtype
        self.dtype = dtype = _common_float_dtype(x, y)
        x = x.astype(dtype, copy=False)
        y = y.astype(dtype, copy=False)
        if weight is not None:
            weight = weight.astype(dtype, copy=False)
        losses = self.losses(x, y, *params)
        if weight is not None:
            losses = losses * weight
        self.weight, self.params, self.reduction = weight, params, reduction
        if weight is not None and self.weighted_mean_divides_by_weight_sum:
            self.n = np.sum(np.broadcast_to(weight, losses.shape))
            if reduction == "mean":
                with np.errstate(invalid="ignore", divide="ignore"):
                    return np.asarray(np.sum(losses) / self.n, dtype=dtype)
        else:
            self.n = losses.size
        return _reduce(losses, reduction, dtype)

    def backward(self, grad, xp):
        x, y = self.saved_tensors
        x, y = xp.cast(x, self.dtype), xp.cast(y, self.dtype)
        if self.reduction == "mean":
            with np.errstate(invalid="ignore", divide="ignore"):
                scale = xp.div(grad, self.n) if self.n else xp.mul(grad, np.nan)
        else:
            scale = grad
        need_x, need_y = self.needs_input_grad[:2]
        grad_x = grad_y = None
        if need_x:
            d = self.cached_derivative if (xp is K and self.cached_derivative is not None) \
                else self.derivative(xp, x, y, *self.params)
            if self.weight is not None:
                d = xp.mul(d, self.weight)
            grad_x = xp.cast(xp.mul(d, scale), self.x_dtype)
        if need_y:
            d = self.target_derivative(xp, x, y, *self.params)
            if self.weight is not None:
                d = xp.mul(d, self.weight)
            grad_y = xp.cast(xp.mul(d, scale), self.y_dtype)
        return (grad_x, grad_y) + (None,) * (2 + len(self.params))

    def losses(self, x, y, *params):  # pragma: no cover - abstract
        raise NotImplementedError

    def derivative(self, xp, x, y, *params):  # pragma: no cover - abstract
        raise NotImplementedError

    def target_derivative(self, xp, x, y, *params):  # pragma: no cover - abstract
        raise NotImplementedError


class SquaredError(PointwiseLoss):
    """l = (x - y)^2;  dl/dx = 2 (x - y),  dl/dy = -2 (x - y)."""

    weighted_mean_divides_by_weight_sum = True

    def losses(self, x, y):
        diff = x - y
        return diff * diff

    def derivative(self, xp, x, y):
        return xp.mul(xp.sub(x, y), 2.0)

    def target_derivative(self, xp, x, y):
        return xp.mul(xp.sub(x, y), -2.0)


class MSEFused(Op):
    """mean of (x - y)^2 in one fused kernel pass, which also returns 2 (x - y);  backward is
    2 (x - y) g / n, and minus that for the target. (Two tensor arguments and no options: the
    engine's quickest path, this being the loss of every regression step.)"""

    may_broadcast = False

    mean = True

    def forward(self, x, y):
        self.saved_tensors = (x, y)
        total, self.twice_diff = K.mse_loss(x, y)
        if self.mean:
            n = x.size
            self.scale = 1.0 / n if n else np.nan
            return np.asarray(total * self.scale, dtype=x.dtype)
        self.scale = 1.0
        return np.asarray(total, dtype=x.dtype)

    def backward(self, grad, xp):
        if xp is K:  # 0-d: a Python float is the cheapest scale for the kernel
            grad_x = K.mul(self.twice_diff, float(grad) * self.scale)
        else:
            x, y = self.saved_tensors
            grad_x = xp.mul(xp.mul(xp.sub(x, y), 2.0), xp.mul(grad, self.scale))
        grad_y = xp.neg(grad_x) if self.needs_input_grad[1] else None
        return grad_x, grad_y


class MSESumFused(MSEFused):
    """sum of (x - y)^2: as ``MSEFused`` without the 1/n."""

    mean = False


class AbsoluteError(PointwiseLoss):
    """l = |x - y|;  dl/dx = sign(x - y) (0 at x = y, as in PyTorch),  dl/dy = -dl/dx."""

    weighted_mean_divides_by_weight_sum = True

    def losses(self, x, y):
        return np.abs(x - y)

    # K.sign, not np.sign: PyTorch's sign (so the gradient) is 0 at NaN, numpy's is NaN.
    def derivative(self, xp, x, y):
        return K.sign(xp.values(x) - xp.values(y))

    def target_derivative(self, xp, x, y):
        return -K.sign(xp.values(x) - xp.values(y))


class SmoothL1(PointwiseLoss):
    """With d = x - y:  l = 0.5 d^2 / beta if |d| < beta, else |d| - 0.5 beta;
    dl/dx = d / beta or sign(d).  beta = 0 is exactly the L1 loss."""

    def losses(self, x, y, beta):
        diff = x - y
        abs_diff = np.abs(diff)
        if beta == 0.0:
            return abs_diff
        return np.where(abs_diff < beta, 0.5 * diff * diff / beta, abs_diff - 0.5 * beta)

    def derivative(self, xp, x, y, beta):
        diff = xp.sub(x, y)
        values = xp.values(diff)
        if beta == 0.0:  # the L1 loss's gradient (0 at NaN, as PyTorch's)
            return K.sign(values)
        return xp.where(np.abs(values) < beta, xp.div(diff, beta), np.sign(values))

    def target_derivative(self, xp, x, y, beta):
        return xp.neg(self.derivative(xp, x, y, beta))


class Huber(PointwiseLoss):
    """With d = x - y:  l = 0.5 d^2 if |d| <= delta, else delta (|d| - 0.5 delta);
    dl/dx = d or delta sign(d).  (Huber = delta * SmoothL1 with beta = delta.)"""

    def losses(self, x, y, delta):
        diff = x - y
        abs_diff = np.abs(diff)
        return np.where(abs_diff < delta, 0.5 * diff * diff, delta * (abs_diff - 0.5 * delta))

    def derivative(self, xp, x, y, delta):
        diff = xp.sub(x, y)
        values = xp.values(diff)
        return xp.where(np.abs(values) < delta, diff, delta * np.sign(values))

    def target_derivative(self, xp, x, y, delta):
        return xp.neg(self.derivative(xp, x, y, delta))


class BinaryCrossEntropy(PointwiseLoss):
    """Inputs are probabilities x in [0, 1]:
    l = -(y log x + (1 - y) log(1 - x)), each log clamped at -100 (as PyTorch does, so x = 0
    or 1 gives a large finite loss instead of inf);
    dl/dx = (x - y) / max(x (1 - x), 1e-12),   dl/dy = log(1 - x) - log(x)."""

    def losses(self, x, y):
        with np.errstate(divide="ignore"):
            log_x = np.maximum(np.log(x), -100.0)
            log_1mx = np.maximum(np.log1p(-x), -100.0)
        return -(y * log_x + (1 - y) * log_1mx)

    def derivative(self, xp, x, y):
        return xp.div(xp.sub(x, y), xp.maximum(xp.mul(x, xp.sub(1.0, x)), 1e-12))

    def target_derivative(self, xp, x, y):
        # unclamped, as torch: +-inf at x = 0 or 1
        with np.errstate(divide="ignore", invalid="ignore"):
            return xp.sub(xp.log1p(xp.neg(x)), xp.log(x))


class BCEWithLogits(PointwiseLoss):
    """Binary cross-entropy on logits x (stable for any x, e.g. |x| = 1e4):
    with s(x) = sigmoid(x) and softplus(z) = log(1 + e^z) (computed as max(z, 0) + log1p(e^-|z|)),
    l = (1 - y) x + (1 + (p - 1) y) softplus(-x)    (p = pos_weight; p = 1 gives the plain loss)
    dl/dx = (1 - y) - (1 + (p - 1) y) (1 - s(x))   (= s(x) - y when p = 1)
    dl/dy = -x + (p - 1) softplus(-x)."""

    def losses(self, x, y, pos_weight):
        if pos_weight is None:
            losses, self.cached_derivative = K.bce_with_logits(x, y)
            return losses
        pos_weight = pos_weight.astype(x.dtype, copy=False)
        softplus_neg_x = np.maximum(-x, 0) + np.log1p(np.exp(-np.abs(x)))
        return (1 - y) * x + (1 + (pos_weight - 1) * y) * softplus_neg_x

    def derivative(self, xp, x, y, pos_weight):
        if pos_weight is None:
            return xp.sub(xp.sigmoid(x), y)
        log_weight = xp.add(xp.mul(y, pos_weight.astype(xp.values(x).dtype) - 1), 1.0)
        return xp.sub(xp.sub(1.0, y), xp.mul(log_weight, xp.sub(1.0, xp.sigmoid(x))))

    def target_derivative(self, xp, x, y, pos_weight):
        if pos_weight is None:
            return xp.neg(x)
        weight = pos_weight.astype(xp.values(x).dtype) - 1
        return xp.add(xp.neg(x), xp.mul(xp.softplus(xp.neg(x)), weight))


def _pointwise(function_class, name, input, target, reduction, weight=None, *params,
               same_shape=False):
    _check_tensor(input, "input", name)
    _check_tensor(target, "target", name)
    _check_reduction(reduction)
    if same_shape:  # the BCE losses: PyTorch raises ValueError on any size difference
        _check_same_shape(input, target, name)
    else:
        input, target = _broadcast_pair(input, target, name)
    _check_float(input, "input", name)
    weight = _constant(weight, "weight", input._data.shape, name)
    return function_class.apply(input, target, reduction, weight, *params)


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """Mean squared error: l_i = (input_i - target_i)^2, reduced.

    Input and target of different sizes are broadcast, with PyTorch's UserWarning ("Using a
    target size ... that is different to the input size ..."): (N, 1) against (N,) gives an
    (N, N) loss, almost always a bug, hence the warning.
    """
    if size_average is not None or reduce is not None:
        reduction = _legacy_reduction(size_average, reduce, reduction)
    if weight is None and isinstance(input, Tensor) and isinstance(target, Tensor):
        x, y = input._data, target._data
        if x.shape == y.shape and x.dtype == y.dtype and x.dtype.kind == "f":
            if reduction == "mean":
                return MSEFused.apply(input, target)
            if reduction == "sum":
                return MSESumFused.apply(input, target)
    return _pointwise(SquaredError, "mse_loss", input, target, reduction, weight)


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """Mean absolute error: ``l_i = |input_i - target_i|``, reduced (sizes broadcast with a
    warning)."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    return _pointwise(AbsoluteError, "l1_loss", input, target, reduction, weight)


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    """Smooth L1: quadratic for ``|d| < beta``, linear beyond (beta = 0 is L1)."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    if beta < 0:
        raise ArgumentError(f"smooth_l1_loss does not support negative values for beta (got "
                            f"{beta}).")
    return _pointwise(SmoothL1, "smooth_l1_loss", input, target, reduction, None, float(beta))


def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):
    """Huber loss: quadratic for ``|d| <= delta``, linear beyond."""
    if delta <= 0:
        raise ArgumentError(f"huber_loss does not support non-positive values for delta "
                         f"(got {delta})")
    return _pointwise(Huber, "huber_loss", input, target, reduction, weight, float(delta))


def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None,
                         reduction="mean"):
    """Binary cross-entropy of probabilities ``input`` (in [0, 1]) against ``target``
    (in [0, 1]), optionally weighted elementwise by ``weight`` (broadcast to the input)."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_tensor(input, "input", "binary_cross_entropy")
    _check_tensor(target, "target", "binary_cross_entropy")
    _check_same_shape(input, target, "binary_cross_entropy")
    for name, values in (("input", input._data), ("target", target._data)):
        if values.dtype.kind == "f" and not np.all((values >= 0) & (values <= 1)):
            bad = values[~((values >= 0) & (values <= 1))].flat[0]
            raise ArgumentError(
                f"binary_cross_entropy: all elements of {name} should be between 0 and 1 "
                f"(found {bad})" + ("; to train on unbounded scores use "
                                    "binary_cross_entropy_with_logits" if name == "input" else ""))
    return _pointwise(BinaryCrossEntropy, "binary_cross_entropy", input, target, reduction,
                      weight, same_shape=True)


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None,
                                     reduce=None, reduction="mean", pos_weight=None):
    """Sigmoid + binary cross-entropy in one stable step, on raw scores ``input``.

    ``weight`` rescales each element's loss; ``pos_weight`` (broadcast along the last, class
    dimension) rescales the positive term y log s(x), trading recall against precision.
    """
    reduction = _legacy_reduction(size_average, reduce, reduction)
    name = "binary_cross_entropy_with_logits"
    _check_tensor(input, "input", name)
    _check_tensor(target, "target", name)
    if input._data.shape != target._data.shape:
        raise ShapeError(f"{name}: target size ({target.size()}) must be the same as input "
                         f"size ({input.size()})")
    pos_weight = _constant(pos_weight, "pos_weight", input._data.shape, name)
    return _pointwise(BCEWithLogits, name, input, target, reduction, weight, pos_weight)
