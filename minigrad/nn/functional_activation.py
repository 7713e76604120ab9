"""``nn.functional``: the activations beyond ReLU/sigmoid/tanh/softmax, the dropout family
(channel dropout, alpha dropout), ``one_hot`` and ``cosine_similarity`` (``pairwise_distance``
lives with the triplet losses that use it, in ``losses/margin.py``).

GELU, SiLU, the ELU family, Softplus, Hardswish and Hardtanh are single ops
(``minigrad/ops/activation.py``); the others are compositions of differentiable ops. Each
function checks its arguments as PyTorch does (same exception types) before anything runs, and
``inplace=True`` writes the result into the input (PyTorch's in-place rules: not on a leaf that
requires grad) and returns it.
"""
import math
import warnings

import numpy as np

from .. import ops
from .. import random as _random
from ..ops import activation as A
from ..ops.elementwise import Where
from ..ops.nn import Dropout
from ..tensor import _wrap
from .functional import _check_dropout_p, _softmax_dim, leaky_relu, softmax
from .losses import _check_tensor

__all__ = [
    "alpha_dropout",
    "celu",
    "celu_",
    "cosine_similarity",
    "dropout1d",
    "dropout2d",
    "dropout3d",
    "elu",
    "elu_",
    "feature_alpha_dropout",
    "gelu",
    "glu",
    "hardshrink",
    "hardsigmoid",
    "hardswish",
    "hardtanh",
    "hardtanh_",
    "leaky_relu_",
    "logsigmoid",
    "mish",
    "one_hot",
    "prelu",
    "relu6",
    "relu_",
    "rrelu",
    "rrelu_",
    "selu",
    "selu_",
    "silu",
    "softmin",
    "softplus",
    "softshrink",
    "softsign",
    "tanhshrink",
    "threshold",
    "threshold_",
]

# SELU's constants (Klambauer et al. 2017), as PyTorch spells them.
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def _check_input(input, function):
    _check_tensor(input, "input", function)
    return input


def _require_floating(input, kernel):
    """PyTorch has no integer kernel for most activations: NotImplementedError, as it says."""
    if input._data.dtype.kind != "f":
        raise NotImplementedError(f'"{kernel}" not implemented for '
                                  f"'{input.dtype.legacy_name}'")


def _maybe_inplace(input, inplace, compute):
    """compute(input), or the same written into ``input`` when ``inplace``."""
    if inplace:
        return input._inplace(compute)
    return compute(input)


def _constant_like(values, like):
    """A numpy constant in ``like``'s dtype (a mask-derived value: no gradient)."""
    return np.asarray(values, dtype=like._data.dtype)


# ---------------------------------------------------------------------------------------------
# Smooth activations (single ops)
# ---------------------------------------------------------------------------------------------


def gelu(input, *, approximate="none"):
    """x Phi(x), Phi the standard normal CDF; ``approximate='tanh'``:
    x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) / 2."""
    _check_input(input, "gelu")
    if approximate not in ("none", "tanh"):
        raise RuntimeError("approximate argument must be either none or tanh.")
    _require_floating(input, "GeluKernelImpl")
    return A.GELU.apply(input, approximate=approximate)


def silu(input, inplace=False):
    """silu(x) = x sigmoid(x) (also called swish)."""
    _check_input(input, "silu")
    _require_floating(input, "silu_cpu")
    return _maybe_inplace(input, inplace, A.SiLU.apply)


def mish(input, inplace=False):
    """mish(x) = x tanh(softplus(x))."""
    _check_input(input, "mish")
    _require_floating(input, "mish_cpu")
    return _maybe_inplace(input, inplace,
                          lambda x: x * ops.Tanh.apply(ops.Softplus.apply(x)))


def _elu(input, alpha, scale, input_scale, inplace, grad_input_scale=None):
    _require_floating(input, "elu_cpu")
    return _maybe_inplace(
        input, inplace,
        lambda x: A.ELU.apply(x, float(alpha), float(scale), float(input_scale),
                              grad_input_scale=grad_input_scale))


def elu(input, alpha=1.0, inplace=False):
    """elu(x) = x for x > 0, alpha (exp(x) - 1) otherwise."""
    _check_input(input, "elu")
    return _elu(input, alpha, 1.0, 1.0, inplace)


def elu_(input, alpha=1.0):
    """In place: ``elu(input, alpha)`` written into input."""
    return elu(input, alpha, inplace=True)


def selu(input, inplace=False):
    """selu(x) = scale elu(x, alpha), alpha ~ 1.6733, scale ~ 1.0507 (self-normalising)."""
    _check_input(input, "selu")
    return _elu(input, SELU_ALPHA, SELU_SCALE, 1.0, inplace)


def selu_(input):
    """In place: ``selu(input)`` written into input."""
    return selu(input, inplace=True)


def celu(input, alpha=1.0, inplace=False):
    """celu(x) = max(0, x) + min(0, alpha (exp(x / alpha) - 1))."""
    _check_input(input, "celu")
    if alpha == 0:
        raise RuntimeError("ZeroDivisionError: alpha cannot be 0 for CELU")
    # PyTorch's derivative of celu uses 1 / alpha with alpha rounded to float32
    return _elu(input, alpha, 1.0, 1.0 / alpha, inplace,
                grad_input_scale=1.0 / float(np.float32(alpha)))


def celu_(input, alpha=1.0):
    """In place: ``celu(input, alpha)`` written into input."""
    return celu(input, alpha, inplace=True)


def softplus(input, beta=1.0, threshold=20.0):
    """log(1 + exp(beta x)) / beta, and x itself where beta x > threshold."""
    _check_input(input, "softplus")
    _require_floating(input, "softplus_cpu")
    return A.Softplus.apply(input, float(beta), float(threshold))


def hardswish(input, inplace=False):
    """hardswish(x) = x relu6(x + 3) / 6."""
    _check_input(input, "hardswish")
    _require_floating(input, "hardswish_cpu")
    return _maybe_inplace(input, inplace, A.Hardswish.apply)


# ---------------------------------------------------------------------------------------------
# Piecewise-linear activations
# ---------------------------------------------------------------------------------------------


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    """min(max(x, min_val), max_val); the gradient is 1 strictly between the bounds."""
    _check_input(input, "hardtanh")
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    return _maybe_inplace(input, inplace,
                          lambda x: A.Hardtanh.apply(x, min_val, max_val))


def hardtanh_(input, min_val=-1.0, max_val=1.0):
    """In place: input clamped to ``[min_val, max_val]``; ``d/dx = 1`` inside, 0 outside."""
    return hardtanh(input, min_val, max_val, inplace=True)


def relu6(input, inplace=False):
    """relu6(x) = min(max(x, 0), 6) (hardtanh with bounds 0 and 6)."""
    return hardtanh(input, 0.0, 6.0, inplace)


def relu_(input):
    """relu, in place."""
    _check_input(input, "relu_")
    return input._inplace(ops.ReLU.apply)


def leaky_relu_(input, negative_slope=0.01):
    """leaky_relu, in place."""
    _check_input(input, "leaky_relu_")
    return input._inplace(lambda x: leaky_relu(x, negative_slope))


def hardsigmoid(input, inplace=False):
    """hardsigmoid(x) = relu6(x + 3) / 6: 0 for x <= -3, 1 for x >= 3, x / 6 + 1/2 between."""
    _check_input(input, "hardsigmoid")
    _require_floating(input, "hardsigmoid_cpu")
    return _maybe_inplace(input, inplace, A.Hardsigmoid.apply)


def _threshold(input, threshold, value, inplace=False):
    """x where x > threshold, else ``value`` (NaN stays NaN); d/dx = 1[x > threshold]."""
    _check_input(input, "threshold")

    def compute(x):
        keep = ~(x._data <= threshold)
        return Where.apply(keep, x, x._data.dtype.type(value))

    return _maybe_inplace(input, inplace, compute)


# named _threshold because its argument ``threshold`` hides the function's name (as in PyTorch)
threshold = _threshold


def threshold_(input, threshold, value):
    """In place: input where ``input > threshold``, else ``value``."""
    return _threshold(input, threshold, value, inplace=True)


def hardshrink(input, lambd=0.5):
    """x where ``|x| > lambd``, else 0."""
    _check_input(input, "hardshrink")
    _require_floating(input, "hardshrink_cpu")
    return A.Hardshrink.apply(input, float(lambd))


def softshrink(input, lambd=0.5):
    """x - lambd for x > lambd, x + lambd for x < -lambd, 0 between."""
    _check_input(input, "softshrink")
    _require_floating(input, "softshrink_check")
    if not 0 <= lambd <= np.finfo(input._data.dtype).max:
        raise RuntimeError(f"lambda must be in range [0, {np.finfo(input._data.dtype).max:g}] "
                           f"for input dtype {input.dtype.legacy_name}, but found {lambd}")
    return A.Softshrink.apply(input, float(lambd))


def tanhshrink(input):
    """tanhshrink(x) = x - tanh(x)."""
    _check_input(input, "tanhshrink")
    return input - input.tanh()


def softsign(input):
    """``softsign(x) = x / (1 + |x|)``."""
    _check_input(input, "softsign")
    return input / (input.abs() + 1)


def logsigmoid(input):
    """log(sigmoid(x)) = -softplus(-x), computed without overflow."""
    _check_input(input, "logsigmoid")
    _require_floating(input, "log_sigmoid_cpu")
    return -ops.Softplus.apply(-input)


def softmin(input, dim=None, _stacklevel=3, dtype=None):
    """softmax(-x) along ``dim``."""
    _check_input(input, "softmin")
    if dim is None:
        dim = _softmax_dim(input._data.ndim, "softmin")
    return softmax(-input, dim, dtype=dtype)


def glu(input, dim=-1):
    """glu(x) = a * sigmoid(b), with (a, b) the two halves of x along ``dim``."""
    _check_input(input, "glu")
    if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool):
        raise TypeError(f"glu(): argument 'dim' (position 2) must be int, not "
                        f"{type(dim).__name__}")
    if input._data.ndim == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    ndim = input._data.ndim
    if not -ndim <= dim < ndim:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-ndim}, "
                         f"{ndim - 1}], but got {dim})")
    dim = int(dim) % ndim
    size = input._data.shape[dim]
    if size % 2:
        raise RuntimeError(f"Halving dimension must be even, but dimension {dim} is size {size}")
    _require_floating(input, "glu_cpu")
    half = size // 2
    a = input.narrow(dim, 0, half)
    b = input.narrow(dim, half, half)
    return a * ops.Sigmoid.apply(b)


# ---------------------------------------------------------------------------------------------
# Activations with a parameter or noise
# ---------------------------------------------------------------------------------------------


def prelu(input, weight):
    """x for x > 0, weight * x otherwise; ``weight`` has 1 element or one per channel (dim 1
    of the input; a 1-D input is one channel)."""
    _check_input(input, "prelu")
    _check_tensor(weight, "weight", "prelu")
    if input._data.dtype != weight._data.dtype:
        raise RuntimeError(f"prelu: Type promoting not supported. Got "
                           f"{input.dtype.legacy_name} and {weight.dtype.legacy_name}")
    ndim, count = input._data.ndim, weight._data.size
    if count != 1:
        if ndim == 0:
            raise RuntimeError("Not allow zero-dim input tensor.")
        channels = input._data.shape[1] if ndim > 1 else 1
        if channels != count:
            raise RuntimeError(f"Mismatch of parameter numbers and input channel size. Found "
                               f"parameter numbers = {count} and channel size = {channels}.")
    if weight._data.ndim > 1:
        raise RuntimeError(f"prelu: Expected `weight` to be a scalar or 1D tensor, but got: "
                           f"ndim = {weight._data.ndim}")
    if ndim != weight._data.ndim:
        shape = [1] * ndim
        if ndim > 1:
            shape[1] = count
        weight = weight.reshape(shape)
    return Where.apply(input._data > 0, input, input * weight)


def rrelu(input, lower=1.0 / 8, upper=1.0 / 3, training=False, inplace=False):
    """Randomized leaky ReLU: in training, x * a for x <= 0 with a ~ U(lower, upper) drawn per
    element; in evaluation, leaky_relu with slope (lower + upper) / 2."""
    _check_input(input, "rrelu")
    if lower > upper:
        raise RuntimeError("Lower bound should be less than or equal to the upper bound")
    _require_floating(input, "leaky_relu_cpu")
    if not training:
        return _maybe_inplace(input, inplace,
                              lambda x: leaky_relu(x, (lower + upper) / 2))

    def compute(x):
        values = x._data
        slopes = _random.generator().uniform(lower, upper, values.shape)
        noise = _constant_like(np.where(values <= 0, slopes, 1.0), x)
        return ops.Mul.apply(x, noise)

    return _maybe_inplace(input, inplace, compute)


def rrelu_(input, lower=1.0 / 8, upper=1.0 / 3, training=False):
    """In place: ``rrelu(input, lower, upper, training)`` written into input."""
    return rrelu(input, lower, upper, training, inplace=True)


# ---------------------------------------------------------------------------------------------
# Dropout family
# ---------------------------------------------------------------------------------------------

# SELU's negative saturation value -scale * alpha, where alpha dropout sends dropped units.
_ALPHA_DROPOUT_ALPHA = 1.7580993408473766


def _noise_dtype(x):
    return x.dtype if x.dtype in (np.float32, np.float64) else np.float64


def _dropout_impl(input, p, training, inplace, feature_dims, alpha):
    """PyTorch's _dropout_impl: Bernoulli(1 - p) keep-noise drawn per element
    (``feature_dims=None``) or per index of the first ``feature_dims`` dimensions (channel
    dropout: noise of shape (N, C, 1, ...)); kept values scaled by 1 / (1 - p). Alpha dropout
    instead maps x to a x + b, with dropped units at SELU's saturation value."""
    if p == 0 or not training or input._data.size == 0:
        return input
    x = input._data
    if feature_dims == 2 and x.ndim < 2:
        raise RuntimeError("Feature dropout requires at least 2 dimensions in the input")
    if x.dtype.kind != "f":
        raise RuntimeError(f"result type Float can't be cast to the desired output type "
                           f"{input.dtype.legacy_name}")
    if p == 1:
        return _maybe_inplace(input, inplace, lambda t: t * 0.0)
    if feature_dims is None:
        shape = x.shape
    else:
        shape = x.shape[:feature_dims] + (1,) * (x.ndim - feature_dims)
    keep = (_random.generator().random(shape, dtype=_noise_dtype(x)) >= p).astype(x.dtype)
    if not alpha:
        scaled = keep * x.dtype.type(1.0 / (1.0 - p))
        return _maybe_inplace(input, inplace, lambda t: Dropout.apply(t, scaled))
    a = 1.0 / math.sqrt((_ALPHA_DROPOUT_ALPHA ** 2 * p + 1) * (1 - p))
    shift = ((keep - 1) * (_ALPHA_DROPOUT_ALPHA * a) + _ALPHA_DROPOUT_ALPHA * a * p)
    shift = shift.astype(x.dtype)
    scaled = (keep * a).astype(x.dtype)
    return _maybe_inplace(input, inplace, lambda t: Dropout.apply(t, scaled) + shift)


def _channel_dropout(input, p, training, inplace, batched_ndim):
    """dropout1d/dropout3d: an unbatched input (no N) draws one value per channel."""
    feature_dims = 2 if input._data.ndim == batched_ndim else 1
    return _dropout_impl(input, p, training, inplace, feature_dims, False)


def dropout1d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels: each (sample, channel) row of an (N, C, L) or (C, L) input is
    zeroed with probability ``p``; the others are scaled by 1 / (1 - p)."""
    _check_input(input, "dropout1d")
    _check_dropout_p(p)
    ndim = input._data.ndim
    if ndim not in (2, 3):
        raise RuntimeError(
            f"dropout1d: Expected 2D or 3D input, but received a {ndim}D input. Note that "
            "dropout1d exists to provide channel-wise dropout on inputs with 1 spatial "
            "dimension, a channel dimension, and an optional batch dimension (i.e. 2D or 3D "
            "inputs).")
    return _channel_dropout(input, p, training, inplace, 3)


def dropout2d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of an (N, C, H, W) input (each (n, c) feature map with probability
    ``p``; the others scaled by 1 / (1 - p)). As in PyTorch, a 3-D input is taken as
    (N, C, L) (1-D channel dropout), with a warning."""
    _check_input(input, "dropout2d")
    _check_dropout_p(p)
    ndim = input._data.ndim
    if ndim not in (3, 4):
        warnings.warn(
            f"dropout2d: Received a {ndim}-D input to dropout2d, which is deprecated and will "
            "result in an error in a future release. To retain the behavior and silence this "
            "warning, please use dropout instead. Note that dropout2d exists to provide "
            "channel-wise dropout on inputs with 2 spatial dimensions, a channel dimension, "
            "and an optional batch dimension (i.e. 3D or 4D inputs).", stacklevel=2)
    if ndim == 3:
        warnings.warn(
            "dropout2d: Received a 3D input to dropout2d and assuming that channel-wise 1D "
            "dropout behavior is desired - input is interpreted as shape (N, C, L), where C "
            "is the channel dim. This behavior will change in a future release to interpret "
            "the input as one without a batch dimension, i.e. shape (C, H, W). To maintain "
            "the 1D channel-wise dropout behavior, please switch to using dropout1d instead.",
            stacklevel=2)
    return _dropout_impl(input, p, training, inplace, 2, False)


def dropout3d(input, p=0.5, training=True, inplace=False):
    """Zero whole channels of an (N, C, D, H, W) or (C, D, H, W) input."""
    _check_input(input, "dropout3d")
    _check_dropout_p(p)
    ndim = input._data.ndim
    if ndim not in (4, 5):
        warnings.warn(
            f"dropout3d: Received a {ndim}-D input to dropout3d, which is deprecated and will "
            "result in an error in a future release. To retain the behavior and silence this "
            "warning, please use dropout instead. Note that dropout3d exists to provide "
            "channel-wise dropout on inputs with 3 spatial dimensions, a channel dimension, "
            "and an optional batch dimension (i.e. 4D or 5D inputs).", stacklevel=2)
    return _channel_dropout(input, p, training, inplace, 5)


def alpha_dropout(input, p=0.5, training=False, inplace=False):
    """Dropout for SELU networks: dropped units are set to SELU's negative saturation
    -alpha' = -1.7581, then y = a x' + b restores zero mean and unit variance, with
    a = 1 / sqrt((alpha'^2 p + 1)(1 - p)), b = a alpha' p (for kept units) / a alpha' (p - 1)
    (for dropped ones)."""
    _check_input(input, "alpha_dropout")
    _check_dropout_p(p)
    return _dropout_impl(input, p, training, inplace, None, True)


def feature_alpha_dropout(input, p=0.5, training=False, inplace=False):
    """alpha_dropout with one draw per (sample, channel), as in dropout2d."""
    _check_input(input, "feature_alpha_dropout")
    _check_dropout_p(p)
    return _dropout_impl(input, p, training, inplace, 2, True)


# ---------------------------------------------------------------------------------------------
# one_hot and distances
# ---------------------------------------------------------------------------------------------


def one_hot(tensor, num_classes=-1):
    """``(*)`` int64 class indices -> ``(*, num_classes)`` int64, 1 at each index and 0 elsewhere;
    ``num_classes=-1`` means max(tensor) + 1."""
    _check_tensor(tensor, "tensor", "one_hot")
    x = tensor._data
    if x.dtype != np.int64:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    num_classes = int(num_classes)
    if x.size == 0:
        if num_classes <= 0:
            raise RuntimeError("Can not infer total number of classes from empty tensor.")
        return _wrap(np.zeros(x.shape + (num_classes,), dtype=np.int64))
    if x.min() < 0:
        raise RuntimeError("Class values must be non-negative.")
    if num_classes == -1:
        num_classes = int(x.max()) + 1
    elif x.max() >= num_classes:
        raise RuntimeError("Class values must be smaller than num_classes.")
    out = np.zeros(x.shape + (num_classes,), dtype=np.int64)
    np.put_along_axis(out, x[..., None], 1, axis=-1)
    return _wrap(out)


def _promote_pair(x1, x2):
    """Both inputs in their common dtype, which must be floating (PyTorch's result_type)."""
    from .. import dtypes
    common = dtypes.from_numpy_dtype(dtypes.result_type(x1._data, x2._data))
    if not common.is_floating_point:
        raise RuntimeError(f"expected common dtype to be floating point, yet common dtype is "
                           f"{common.legacy_name}")
    return tuple(t if t._data.dtype == common.np_dtype else t.to(common) for t in (x1, x2))


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """sum(x1 / max(||x1||, eps) * x2 / max(||x2||, eps)) along ``dim`` (inputs broadcast).

    PyTorch 2.13's formula: each input is divided by its own clamped norm first (the result
    stays in [-1, 1]); the clamp is applied outside autograd, so the gradient flows through
    the unclamped norm."""
    _check_tensor(x1, "x1", "cosine_similarity")
    _check_tensor(x2, "x2", "cosine_similarity")
    from ..functions.shape import broadcast_tensors
    from ..linalg import vector_norm
    x1, x2 = _promote_pair(x1, x2)
    x1, x2 = broadcast_tensors(x1, x2)
    ndim = x1._data.ndim
    size = max(ndim, 1)
    if not -size <= dim < size:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-size}, "
                         f"{size - 1}], but got {dim})")

    def normalized(x):
        norm = vector_norm(x, 2, dim, True)
        lift = np.maximum(norm._data, norm._data.dtype.type(eps)) - norm._data
        return x / (norm + lift)

    return (normalized(x1) * normalized(x2)).sum(dim)
