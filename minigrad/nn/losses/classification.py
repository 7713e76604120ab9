"""Classification losses over a class dimension: cross-entropy and NLL, for input (C,),
(N, C) or (N, C, d1, ..., dK), class-index or class-probability targets."""
import numpy as np

from ..._kernels import kernels as K
from ...autograd import graph as _graph
from ...autograd.graph import Op
from ...errors import ArgumentError, ShapeError
from ...tensor import Tensor
from ._common import _check_float, _check_reduction, _check_tensor, _legacy_reduction

_INT64 = np.dtype(np.int64)

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
    if target.dtype == np.int64:  # the common case: one compiled pass finds both bounds
        low, high = K.index_range(target)
        if 0 <= low and high < num_classes and not low <= ignore_index <= high:
            return False  # every index valid, none equal to ignore_index
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
        total = losses.sum()  # (the method: np.sum's Python wrapper costs a microsecond)
        if reduction == "sum":
            self.scale = 1.0
            return np.asarray(total, dtype=dtype)
        if denominator:  # (no floating-point warning can arise: skip errstate's cost)
            self.scale = np.float64(1.0) / denominator
            return np.asarray(total / denominator, dtype=dtype)
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
        return (grad_x, grad_t) + (None,) * (len(self.needs_input_grad) - 2)


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


@_graph.replayed  # checks the class indices (and picks a kernel) on every replay
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
    if (type(input) is Tensor and type(target) is Tensor and weight is None
            and size_average is None and reduce is None and not label_smoothing
            and (reduction == "mean" or reduction == "sum" or reduction == "none")):
        # The common call, (N, C) float logits and (N,) int64 indices, all valid and none
        # ignored, checked inline: the fused kernel's case, without the general checks
        x, t = input._data, target._data
        if (x.ndim == 2 and t.ndim == 1 and t.dtype == _INT64 and x.dtype.kind == "f"
                and 0 < t.shape[0] == x.shape[0] and x.shape[1]):
            low, high = K.index_range(t)
            if 0 <= low and high < x.shape[1] and not low <= ignore_index <= high:
                # (the constants as options: Op.apply's two-input path, not its general loop)
                return CrossEntropy.apply(input, target, reduction=reduction, weight=None,
                                          ignore_index=ignore_index, label_smoothing=0.0,
                                          fast=True)
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


@_graph.replayed  # checks the class indices on every replay
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
