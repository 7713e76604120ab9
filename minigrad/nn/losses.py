"""Loss functions (``F.mse_loss``, ``F.cross_entropy``, ...) and their modules (``nn.MSELoss``).

Every loss is ONE node of the graph. Its forward computes the per-element losses; its
backward computes their derivative with respect to the input and scales it by the incoming
gradient. The hot ones (MSE, cross-entropy with class indices, BCE with logits) call fused
value-and-gradient kernels (``K.mse_loss``, ``K.softmax_cross_entropy``, ``K.bce_with_logits``)
and keep the derivative from forward; under ``create_graph`` every loss recomputes its
derivative from the saved input and target with ``xp``, so losses differentiate twice.

Reductions. With per-element losses l_i (i = 1..n) and incoming gradient g:

    'none': out_i = l_i,      dL/dx_i = g_i dl_i/dx_i
    'sum':  out = sum_i l_i,  dL/dx_i = g dl_i/dx_i
    'mean': out = sum_i l_i / n (weighted losses divide by the sum of the weights),
            dL/dx_i = g / n dl_i/dx_i

Inputs are checked in Python before any kernel runs: shapes (a mismatch raises
``mg.ShapeError`` naming both shapes), dtypes, class indices, the reduction name.

Targets may require grad (PyTorch allows it): every loss here except ``cross_entropy`` and
``nll_loss`` with class-index targets (integers, so no gradient) returns dL/dtarget as well.
Optional ``weight`` / ``pos_weight`` tensors are constants: no gradient flows into them.
"""
from __future__ import annotations

import warnings

import numpy as np

from .._kernels import kernels as K
from ..autograd.graph import Op
from ..errors import ArgumentError, ShapeError
from ..tensor import Tensor
from .module import Module

__all__ = [
    "BCELoss",
    "BCEWithLogitsLoss",
    "CrossEntropyLoss",
    "HuberLoss",
    "L1Loss",
    "MSELoss",
    "NLLLoss",
    "SmoothL1Loss",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "huber_loss",
    "l1_loss",
    "mse_loss",
    "nll_loss",
    "smooth_l1_loss",
]

_REDUCTIONS = ("mean", "sum", "none")


# ---------------------------------------------------------------------------------------------
# Argument checking
# ---------------------------------------------------------------------------------------------


def _check_reduction(reduction):
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{reduction} is not a valid value for reduction "
                         "(expected 'mean', 'sum' or 'none')")


def _legacy_reduction(size_average, reduce, reduction):
    """PyTorch's deprecated ``size_average`` / ``reduce`` arguments, mapped to ``reduction``."""
    if size_average is None and reduce is None:
        return reduction
    warnings.warn("size_average and reduce args will be deprecated, please use "
                  "reduction='mean'/'sum'/'none' instead.", UserWarning, stacklevel=3)
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    if size_average and reduce:
        return "mean"
    return "sum" if reduce else "none"


def _check_tensor(value, name, function):
    if not isinstance(value, Tensor):
        raise TypeError(f"{function}(): argument '{name}' must be a Tensor, not "
                        f"{type(value).__name__}")


def _check_same_shape(input, target, function):
    if input._data.shape != target._data.shape:
        raise ShapeError(
            f"{function}: input has shape {tuple(input._data.shape)} but target has shape "
            f"{tuple(target._data.shape)}; they must be the same (PyTorch would broadcast them "
            "with a warning; minigrad refuses, because that is almost always a bug)")


def _check_float(input, name, function):
    if input._data.dtype.kind != "f":
        raise TypeError(f"{function}: {name} must be a floating point tensor, got dtype "
                        f"{input._data.dtype}")


def _constant(value, name, input_shape, function):
    """An optional weight-like argument as a numpy array broadcastable to ``input_shape``."""
    if value is None:
        return None
    array = value._data if isinstance(value, Tensor) else np.asarray(value)
    try:
        ok = np.broadcast_shapes(array.shape, input_shape) == tuple(input_shape)
    except ValueError:
        ok = False
    if not ok:
        raise ShapeError(f"{function}: {name} has shape {tuple(array.shape)}, which does not "
                         f"broadcast to the input shape {tuple(input_shape)}")
    return array


def _common_float_dtype(x, y):
    """The dtype a pointwise loss computes in: the wider float dtype of input and target
    (PyTorch promotes float32 with float64 to float64); integer targets take the input's."""
    if y.dtype.kind == "f" and y.dtype != x.dtype:
        return np.promote_types(x.dtype, y.dtype)
    return x.dtype


def _reduce(losses, reduction, dtype):
    if reduction == "none":
        return losses
    total = np.sum(losses, dtype=dtype)
    if reduction == "sum":
        return np.asarray(total, dtype=dtype)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(total / losses.size if losses.size else np.nan, dtype=dtype)


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


def _pointwise(function_class, name, input, target, reduction, weight=None, *params):
    _check_tensor(input, "input", name)
    _check_tensor(target, "target", name)
    _check_reduction(reduction)
    _check_same_shape(input, target, name)
    _check_float(input, "input", name)
    weight = _constant(weight, "weight", input._data.shape, name)
    return function_class.apply(input, target, reduction, weight, *params)


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    """Mean squared error: l_i = (input_i - target_i)^2, reduced.

    Deliberate difference from PyTorch: input and target must have the same shape. PyTorch
    broadcasts mismatched shapes (e.g. (N, 1) against (N,), silently giving an (N, N) loss)
    with only a warning; minigrad raises ``mg.ShapeError`` naming both shapes.
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
    """Mean absolute error: l_i = |input_i - target_i|, reduced. Shapes must match."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    return _pointwise(AbsoluteError, "l1_loss", input, target, reduction, weight)


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean", beta=1.0):
    """Smooth L1: quadratic for |d| < beta, linear beyond (beta = 0 is L1). Shapes must match."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    if beta < 0:
        raise ArgumentError(f"smooth_l1_loss does not support negative values for beta (got "
                            f"{beta}).")
    return _pointwise(SmoothL1, "smooth_l1_loss", input, target, reduction, None, float(beta))


def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):
    """Huber loss: quadratic for |d| <= delta, linear beyond. Shapes must match."""
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
                      weight)


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None,
                                     reduce=None, reduction="mean", pos_weight=None):
    """Sigmoid + binary cross-entropy in one stable step, on raw scores ``input``.

    ``weight`` rescales each element's loss; ``pos_weight`` (broadcast along the last, class
    dimension) rescales the positive term y log s(x), trading recall against precision.
    """
    reduction = _legacy_reduction(size_average, reduce, reduction)
    name = "binary_cross_entropy_with_logits"
    _check_tensor(input, "input", name)
    pos_weight = _constant(pos_weight, "pos_weight", input._data.shape, name)
    return _pointwise(BCEWithLogits, name, input, target, reduction, weight, pos_weight)


# ---------------------------------------------------------------------------------------------
# Classification losses over a class dimension
# ---------------------------------------------------------------------------------------------


def _check_class_arguments(input, target, function, allow_probabilities):
    """Validate (input, target) of a classification loss; return True for probability targets.

    input: (C,) (unbatched), (N, C) or (N, C, d1, ...); the class dimension is 1 (0 if
    unbatched). target: integer class indices of the input's shape without the class
    dimension, or (if ``allow_probabilities``) float class probabilities of the input's shape.
    """
    _check_tensor(input, "input", function)
    _check_tensor(target, "target", function)
    x, t = input._data, target._data
    _check_float(input, "input", function)
    if x.ndim == 0:
        raise ShapeError(f"{function}: input must have at least 1 dimension (classes), got "
                         "a 0-d tensor")
    class_dim = 0 if x.ndim == 1 else 1
    if t.dtype.kind == "f":
        if not allow_probabilities:
            raise TypeError(f"{function}: target must hold integer class indices (int64), "
                            f"got dtype {t.dtype}")
        if t.shape != x.shape:
            raise ShapeError(
                f"{function}: floating point target of shape {tuple(t.shape)} is read as "
                f"class probabilities, which must have the input's shape {tuple(x.shape)}; "
                "for class indices use an integer (int64) target of shape "
                f"{tuple(x.shape[:class_dim] + x.shape[class_dim + 1:])}")
        return True
    if t.dtype.kind not in "iu":
        raise TypeError(f"{function}: target must be int64 class indices or float class "
                        f"probabilities, got dtype {t.dtype}")
    expected = x.shape[:class_dim] + x.shape[class_dim + 1:]
    if t.shape != expected:
        if x.ndim >= 2 and (t.ndim == 0 or t.shape[0] != x.shape[0]):
            raise ShapeError(
                f"{function}: expected input batch_size ({x.shape[0]}) to match target "
                f"batch_size ({t.shape[0] if t.ndim else 'none, a 0-d target'}); input has "
                f"shape {tuple(x.shape)}, target has shape {tuple(t.shape)}")
        raise ShapeError(
            f"{function}: input has shape {tuple(x.shape)} so class-index targets must "
            f"have shape {tuple(expected)}, got {tuple(t.shape)}")
    return False


def _check_class_indices(target, num_classes, ignore_index, function):
    """Every index must be in [0, C) or equal ``ignore_index``. Returns True if any is
    ignored."""
    if target.size == 0:
        return False
    ignored = target == ignore_index
    valid = ((target >= 0) & (target < num_classes)) | ignored
    if not valid.all():
        bad = int(target[~valid].flat[0])
        raise IndexError(
            f"{function}: target {bad} is out of bounds: class indices must lie in "
            f"[0, {num_classes}) for {num_classes} classes (or equal ignore_index="
            f"{ignore_index})")
    return bool(ignored.any())


def _class_weight(weight, num_classes, dtype, function):
    if weight is None:
        return None
    array = weight._data if isinstance(weight, Tensor) else np.asarray(weight)
    if array.shape != (num_classes,):
        raise ShapeError(f"{function}: weight has shape {tuple(array.shape)}; expected "
                         f"({num_classes},), one weight per class")
    return array.astype(dtype, copy=False)


def _to_rows(array, with_classes):
    """(C,), (N, C) or (N, C, d1, ...) -> (M, C) rows (``with_classes``); targets of class
    indices (), (N,), (N, d1, ...) -> (M,)."""
    if not with_classes:
        return array.reshape(-1)
    if array.ndim <= 2:
        return array.reshape(-1, array.shape[-1])
    return np.moveaxis(array, 1, -1).reshape(-1, array.shape[1])


def _from_rows(rows, shape):
    """Undo ``_to_rows`` for an array of the input's layout ``shape``."""
    if len(shape) <= 2:
        return rows.reshape(shape)
    moved = shape[:1] + shape[2:] + shape[1:2]
    return np.moveaxis(rows.reshape(moved), -1, 1)


def _rows_xp(xp, x):
    """``_to_rows(x, True)`` written with xp (arrays or Tensors)."""
    shape = tuple(x.shape)
    if len(shape) <= 2:
        return xp.reshape(x, (-1, shape[-1]))
    axes = (0,) + tuple(range(2, len(shape))) + (1,)
    return xp.reshape(xp.permute(x, axes), (-1, shape[1]))


def _from_rows_xp(xp, rows, shape):
    """``_from_rows`` written with xp (arrays or Tensors)."""
    if len(shape) <= 2:
        return xp.reshape(rows, shape)
    n = len(shape)
    moved = xp.reshape(rows, shape[:1] + shape[2:] + shape[1:2])
    return xp.permute(moved, (0, n - 1) + tuple(range(1, n - 1)))


def _log_softmax_rows(z):
    """log softmax of each row of z (M, C), by log-sum-exp: finite for any finite z."""
    if z.shape[1] == 0:
        return z.copy()
    shifted = z - np.max(z, axis=1, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))


class _ClassLoss(Op):
    """Shared tail of the classification losses: reduction of the per-row losses, and the
    chain rule through the per-row derivative (M, C) (and dl/dtarget, for probabilities).

    The fast path keeps the derivative from forward; ``derivative_rows(xp, x, t)`` recomputes
    it with xp under create_graph (the default: it is a constant, as for NLL)."""

    may_broadcast = False

    target_grad = None

    def reduce(self, losses, grad, denominator, reduction, x_shape, dtype):
        self.grad_rows = grad
        self.x_shape = x_shape
        if reduction == "none":
            self.scale = None
            none_shape = x_shape[:1] + x_shape[2:] if len(x_shape) > 1 else ()
            return losses.astype(dtype, copy=False).reshape(none_shape)
        total = np.sum(losses)
        if reduction == "sum":
            self.scale = 1.0
            return np.asarray(total, dtype=dtype)
        with np.errstate(invalid="ignore", divide="ignore"):
            # Nothing kept (every target ignored): the loss is 0/0 = NaN and the gradient
            # exactly 0, as in PyTorch (a NaN gradient would ruin the weights in one step).
            self.scale = np.float64(1.0) / denominator if denominator else 0.0
            return np.asarray(total / denominator, dtype=dtype)

    def derivative_rows(self, xp, x, t):
        return self.grad_rows, None

    def backward(self, grad, xp):
        x, t = self.saved_tensors
        if self.scale is None:
            per_row = xp.reshape(grad, (-1, 1))
        elif xp is K:  # a Python float: a numpy float64 scalar would make the product float64
            per_row = float(grad) * float(self.scale)
        else:
            per_row = xp.mul(grad, float(self.scale))
        if xp is K:
            rows, target_rows = self.grad_rows, self.target_grad
        else:
            rows, target_rows = self.derivative_rows(xp, x, t)
        grad_x = xp.cast(_from_rows_xp(xp, xp.mul(rows, per_row), self.x_shape),
                         xp.values(x).dtype)
        grad_t = None
        if self.needs_input_grad[1] and target_rows is not None:
            grad_t = xp.cast(_from_rows_xp(xp, xp.mul(target_rows, per_row), self.x_shape),
                             xp.values(t).dtype)
        return (grad_x, grad_t) + (None,) * 5


class CrossEntropy(_ClassLoss):
    """Cross-entropy of logits z against class indices or class probabilities.

    Per row i, with log p = log_softmax(z_i) and per-class weights w (all 1 by default):

    - class index y_i, label smoothing e, C classes:
        l_i = (1 - e) (-w_y log p_y) + e (-(1/C) sum_c w_c log p_c)
        dl_i/dz = (1 - e) w_y (p - onehot(y)) + (e / C) (p sum_c w_c - w)
      'mean' divides by sum_i w_{y_i} over rows not ignored (PyTorch's convention);
      rows whose target is ``ignore_index`` contribute nothing.
    - class probabilities t_i (smoothed: t (1 - e) + e / C):
        l_i = -sum_c w_c t_c log p_c,
        dl_i/dz = p sum_c w_c t_c - w t,   dl_i/dt = -(1 - e) w log p
      'mean' divides by the number of rows.

    The common case (indices, no weight, no smoothing, nothing ignored) is one call of the
    fused kernel ``K.softmax_cross_entropy`` (loss and softmax - onehot in one pass).
    """

    def forward(self, x, t, reduction, weight, ignore_index, label_smoothing, fast):
        self.saved_tensors = (x, t)
        self.weight, self.ignore_index, self.label_smoothing = weight, ignore_index, \
            label_smoothing
        rows = _to_rows(x, True)
        self.probabilities = t.dtype.kind == "f"
        if fast:
            self.target_rows = _to_rows(t, False)
            losses, grad = K.softmax_cross_entropy(rows, self.target_rows)
            denominator = rows.shape[0]
        elif self.probabilities:
            losses, grad, denominator = self._probabilities(rows, _to_rows(t, True), weight,
                                                            label_smoothing)
        else:
            self.target_rows = _to_rows(t, False)
            losses, grad, denominator = self._indices(rows, self.target_rows, weight,
                                                      ignore_index, label_smoothing)
        return self.reduce(losses, grad, denominator, reduction, x.shape, x.dtype)

    def _indices(self, z, target, weight, ignore_index, label_smoothing):
        log_p = _log_softmax_rows(z)
        coef, offset, w_y = self._linear_in_p(z.shape, z.dtype, target)
        kept = target != ignore_index
        # An ignored row contributes exactly 0, even if its logits hold a NaN (as PyTorch).
        losses = np.where(kept, -log_p[np.arange(z.shape[0]), np.where(kept, target, 0)] * w_y,
                          0.0)
        if label_smoothing:
            w = np.ones(z.shape[1], dtype=z.dtype) if weight is None else weight
            smooth = np.where(kept, -np.sum(log_p * w, axis=1) / z.shape[1], 0.0)
            losses = (1 - label_smoothing) * losses + label_smoothing * smooth
        grad = (np.exp(log_p) * coef + offset).astype(z.dtype, copy=False)
        return losses, grad, np.sum(w_y)

    def _linear_in_p(self, shape, dtype, target):
        """dl/dz = p * coef + offset, with coef (M, 1) and offset (M, C) constants (the
        indices, weights, smoothing and ignored rows fixed); also w_y per row."""
        num_rows, num_classes = shape
        e = self.label_smoothing
        w = np.ones(num_classes, dtype=dtype) if self.weight is None else self.weight
        kept = target != self.ignore_index
        safe_target = np.where(kept, target, 0)
        w_y = w[safe_target] * kept
        coef = ((1 - e) * w_y + (e / num_classes) * kept * np.sum(w))[:, None]
        offset = -(e / num_classes) * kept[:, None] * w[None, :]
        offset = offset.astype(dtype, copy=False) if e else np.zeros(shape, dtype=dtype)
        offset[np.arange(num_rows), safe_target] -= (1 - e) * w_y
        return coef.astype(dtype, copy=False), offset, w_y

    def _probabilities(self, z, t, weight, label_smoothing):
        num_classes = z.shape[1]
        t = t.astype(z.dtype, copy=False)
        if label_smoothing:
            t = t * (1 - label_smoothing) + label_smoothing / num_classes
        log_p = _log_softmax_rows(z)
        wt = t if weight is None else t * weight
        losses = -np.sum(wt * log_p, axis=1)
        grad = np.exp(log_p) * np.sum(wt, axis=1, keepdims=True) - wt
        # dl/dt, for a target that requires grad (cheap now: log p is at hand).
        w_log_p = log_p if weight is None else log_p * weight
        self.target_grad = -(1 - label_smoothing) * w_log_p
        return losses, grad, z.shape[0]

    def derivative_rows(self, xp, x, t):
        rows = _rows_xp(xp, x)
        dtype = xp.values(x).dtype
        if not self.probabilities:
            coef, offset, _ = self._linear_in_p(tuple(rows.shape), dtype, self.target_rows)
            return xp.add(xp.mul(xp.softmax(rows, 1), coef), offset), None
        num_classes = tuple(rows.shape)[1]
        e = self.label_smoothing
        t_rows = _rows_xp(xp, xp.cast(t, dtype))
        if e:
            t_rows = xp.add(xp.mul(t_rows, 1 - e), e / num_classes)
        wt = t_rows if self.weight is None else xp.mul(t_rows, self.weight)
        log_p = xp.log_softmax(rows, 1)
        grad = xp.sub(xp.mul(xp.exp(log_p), xp.sum(wt, 1, True)), wt)
        w_log_p = log_p if self.weight is None else xp.mul(log_p, self.weight)
        return grad, xp.mul(w_log_p, -(1 - e))


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100,
                  reduce=None, reduction="mean", label_smoothing=0.0):
    """Cross-entropy between logits and targets: log_softmax + negative log-likelihood, in
    one numerically stable step (log-sum-exp; logits of 1e4 or -500 are fine).

    input: (C,), (N, C) or (N, C, d1, ...) raw scores. target: int64 class indices of shape
    (), (N,) or (N, d1, ...), each in [0, C) or equal to ``ignore_index``; or float class
    probabilities of the input's shape. ``weight``: (C,) per-class weights.
    ``label_smoothing`` in [0, 1] mixes the target with the uniform distribution.
    (Class indices of any integer dtype are accepted; PyTorch insists on int64.)
    """
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ArgumentError(f"label_smoothing must be between 0.0 and 1.0. Got: "
                            f"{label_smoothing}")
    probabilities = _check_class_arguments(input, target, "cross_entropy", True)
    x = input._data
    num_classes = x.shape[0 if x.ndim == 1 else 1]
    weight = _class_weight(weight, num_classes, x.dtype, "cross_entropy")
    any_ignored = False
    if not probabilities:
        any_ignored = _check_class_indices(target._data, num_classes, ignore_index,
                                           "cross_entropy")
    fast = (not probabilities and weight is None and not label_smoothing and not any_ignored
            and num_classes > 0)
    return CrossEntropy.apply(input, target, reduction, weight, ignore_index,
                              float(label_smoothing), fast)


class NegativeLogLikelihood(_ClassLoss):
    """l_i = -w_{y_i} input[i, y_i] for log-probabilities ``input`` (rows not ignored);
    dl_i/dinput[i, c] = -w_{y_i} 1[c = y_i] (a constant). 'mean' divides by sum_i w_{y_i}."""

    def forward(self, x, t, reduction, weight, ignore_index):
        self.saved_tensors = (x, t)
        rows, target = _to_rows(x, True), _to_rows(t, False)
        kept = target != ignore_index
        safe_target = np.where(kept, target, 0)
        index = np.arange(rows.shape[0])
        w_y = kept.astype(rows.dtype) if weight is None else weight[safe_target] * kept
        losses = np.where(kept, -rows[index, safe_target] * w_y, 0.0)
        grad = np.zeros_like(rows)
        grad[index, safe_target] = 0.0 - w_y  # (0.0, not -0.0, for an ignored row)
        return self.reduce(losses, grad, np.sum(w_y), reduction, x.shape, x.dtype)


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
             reduction="mean"):
    """Negative log-likelihood of log-probabilities ``input`` ((C,), (N, C) or
    (N, C, d1, ...), e.g. from log_softmax) at int64 class indices ``target``."""
    reduction = _legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    _check_class_arguments(input, target, "nll_loss", False)
    x = input._data
    num_classes = x.shape[0 if x.ndim == 1 else 1]
    weight = _class_weight(weight, num_classes, x.dtype, "nll_loss")
    _check_class_indices(target._data, num_classes, ignore_index, "nll_loss")
    return NegativeLogLikelihood.apply(input, target, reduction, weight, ignore_index)


# ---------------------------------------------------------------------------------------------
# Loss modules
# ---------------------------------------------------------------------------------------------


class _Loss(Module):
    def __init__(self, size_average: bool | None = None, reduce: bool | None = None,
                 reduction: str = "mean") -> None:
        super().__init__()
        reduction = _legacy_reduction(size_average, reduce, reduction)
        _check_reduction(reduction)
        self.reduction = reduction


class _WeightedLoss(_Loss):
    def __init__(self, weight: Tensor | None = None, size_average: bool | None = None,
                 reduce: bool | None = None, reduction: str = "mean") -> None:
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)


class MSELoss(_Loss):
    """Mean squared error (see ``F.mse_loss``; input and target shapes must match)."""

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return mse_loss(input, target, None, None, self.reduction)


class L1Loss(_Loss):
    """Mean absolute error (see ``F.l1_loss``)."""

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return l1_loss(input, target, reduction=self.reduction)


class SmoothL1Loss(_Loss):
    """Smooth L1 loss with threshold ``beta`` (see ``F.smooth_l1_loss``)."""

    def __init__(self, size_average: bool | None = None, reduce: bool | None = None,
                 reduction: str = "mean", beta: float = 1.0) -> None:
        super().__init__(size_average, reduce, reduction)
        self.beta = beta

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return smooth_l1_loss(input, target, reduction=self.reduction, beta=self.beta)


class HuberLoss(_Loss):
    """Huber loss with threshold ``delta`` (see ``F.huber_loss``)."""

    def __init__(self, reduction: str = "mean", delta: float = 1.0) -> None:
        super().__init__(reduction=reduction)
        self.delta = delta

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return huber_loss(input, target, reduction=self.reduction, delta=self.delta)


class BCELoss(_WeightedLoss):
    """Binary cross-entropy on probabilities (see ``F.binary_cross_entropy``)."""

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return binary_cross_entropy(input, target, weight=self.weight,
                                    reduction=self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Sigmoid + binary cross-entropy, stable (see ``F.binary_cross_entropy_with_logits``)."""

    def __init__(self, weight: Tensor | None = None, size_average: bool | None = None,
                 reduce: bool | None = None, reduction: str = "mean",
                 pos_weight: Tensor | None = None) -> None:
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", weight)
        self.register_buffer("pos_weight", pos_weight)

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return binary_cross_entropy_with_logits(input, target, self.weight,
                                                pos_weight=self.pos_weight,
                                                reduction=self.reduction)


class CrossEntropyLoss(_WeightedLoss):
    """Cross-entropy of logits against class indices or probabilities (see
    ``F.cross_entropy``)."""

    def __init__(self, weight: Tensor | None = None, size_average: bool | None = None,
                 ignore_index: int = -100, reduce: bool | None = None, reduction: str = "mean",
                 label_smoothing: float = 0.0) -> None:
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return cross_entropy(input, target, weight=self.weight, ignore_index=self.ignore_index,
                             reduction=self.reduction, label_smoothing=self.label_smoothing)


class NLLLoss(_WeightedLoss):
    """Negative log-likelihood of log-probabilities (see ``F.nll_loss``)."""

    def __init__(self, weight: Tensor | None = None, size_average: bool | None = None,
                 ignore_index: int = -100, reduce: bool | None = None,
                 reduction: str = "mean") -> None:
        super().__init__(weight, size_average, reduce, reduction)
        self.ignore_index = ignore_index

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        return nll_loss(input, target, weight=self.weight, ignore_index=self.ignore_index,
                        reduction=self.reduction)
