"""Activation functions that PyTorch also offers as ``torch.*`` functions and Tensor methods
(``torch.softmax(x, 1)``, ``x.log_softmax(1)``); ``nn.functional`` has the full set."""
import importlib
import sys

__all__ = ["log_softmax", "softmax"]
METHODS = ["log_softmax", "softmax"]
__all__ += ["alpha_dropout", "celu", "celu_", "cosine_similarity", "feature_alpha_dropout",
            "hardshrink", "pairwise_distance", "prelu", "rrelu", "rrelu_", "selu", "selu_",
            "threshold", "threshold_"]
__all__ += ["alpha_dropout_", "dropout", "dropout_", "feature_alpha_dropout_",
            "feature_dropout", "feature_dropout_", "relu_"]
METHODS += ["hardshrink", "prelu"]


def softmax(input, dim=None, dtype=None):
    """exp(x) / sum(exp(x)) along ``dim`` (see ``nn.functional.softmax``)."""
    return _functional().softmax(input, dim, dtype=dtype)


def log_softmax(input, dim=None, dtype=None):
    """log(softmax(x)) along ``dim``, computed stably (see ``nn.functional.log_softmax``)."""
    return _functional().log_softmax(input, dim, dtype=dtype)


def _functional():
    """minigrad.nn.functional (nn sits above the tensor functions, so it is imported on first
    use; after that a dict lookup, where an import statement costs a microsecond a call)."""
    return sys.modules.get("minigrad.nn.functional") or importlib.import_module(
        "minigrad.nn.functional")


# The activations, dropouts and distances torch also exports as torch.* functions (nn sits above
# the tensor functions, hence the imports inside).


def selu(input):
    """scale * elu(x, alpha) with SELU's constants (see ``nn.functional.selu``)."""
    from ..nn.functional import selu as _selu
    return _selu(input)


def selu_(input):
    """In place: ``selu(input)`` written into input (see ``nn.functional.selu``)."""
    from ..nn.functional import selu as _selu
    return _selu(input, inplace=True)


def celu(input, alpha=1.0):
    """max(0, x) + min(0, alpha (exp(x / alpha) - 1)) (see ``nn.functional.celu``)."""
    from ..nn.functional import celu as _celu
    return _celu(input, alpha)


def celu_(input, alpha=1.0):
    """In place: ``celu(input, alpha)`` written into input (see ``nn.functional.celu``)."""
    from ..nn.functional import celu as _celu
    return _celu(input, alpha, inplace=True)


def prelu(input, weight):
    """x for x > 0, weight * x otherwise (see ``nn.functional.prelu``)."""
    from ..nn.functional import prelu as _prelu
    return _prelu(input, weight)


def rrelu(input, lower=1.0 / 8, upper=1.0 / 3, training=False):
    """Randomized leaky ReLU (see ``nn.functional.rrelu``)."""
    from ..nn.functional import rrelu as _rrelu
    return _rrelu(input, lower, upper, training)


def rrelu_(input, lower=1.0 / 8, upper=1.0 / 3, training=False):
    """In place: ``rrelu(input, lower, upper, training)`` written into input (see
    ``nn.functional.rrelu``)."""
    from ..nn.functional import rrelu as _rrelu
    return _rrelu(input, lower, upper, training, inplace=True)


def threshold(input, threshold, value):
    """x where x > threshold, else value (see ``nn.functional.threshold``)."""
    from ..nn.functional import threshold as _threshold
    return _threshold(input, threshold, value)


def threshold_(input, threshold, value):
    """In place: input where ``input > threshold``, else ``value``; ``d/dx = 1[x > threshold]``."""
    from ..nn.functional import threshold as _threshold
    return _threshold(input, threshold, value, inplace=True)


def hardshrink(input, lambd=0.5):
    """x where ``|x| > lambd``, else 0 (see ``nn.functional.hardshrink``)."""
    from ..nn.functional import hardshrink as _hardshrink
    return _hardshrink(input, lambd)


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """Cosine of the angle between x1 and x2 along ``dim``
    (see ``nn.functional.cosine_similarity``)."""
    from ..nn.functional import cosine_similarity as _cosine_similarity
    return _cosine_similarity(x1, x2, dim, eps)


def pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    """||x1 - x2 + eps||_p over the last dimension (see ``nn.functional.pairwise_distance``)."""
    from ..nn.functional import pairwise_distance as _pairwise_distance
    return _pairwise_distance(x1, x2, p, eps, keepdim)


def _check_p(p):
    """The torch.* dropouts check p in ATen: RuntimeError (nn.functional's: ValueError)."""
    if not 0.0 <= p <= 1.0:
        raise RuntimeError(f"dropout probability has to be between 0 and 1, but got {p}")


def alpha_dropout(input, p, train):
    """Alpha dropout (see ``nn.functional.alpha_dropout``; ``train`` is its ``training``)."""
    from ..nn.functional import alpha_dropout as _alpha_dropout
    _check_p(p)
    return _alpha_dropout(input, p, train)


def feature_alpha_dropout(input, p, train):
    """Channel-wise alpha dropout (see ``nn.functional.feature_alpha_dropout``)."""
    from ..nn.functional import feature_alpha_dropout as _feature_alpha_dropout
    _check_p(p)
    return _feature_alpha_dropout(input, p, train)


def relu_(input):
    """relu, in place."""
    from ..nn.functional import relu_ as _relu_
    return _relu_(input)


def dropout(input, p, train):
    """Dropout (see ``nn.functional.dropout``; ``train`` is its ``training``)."""
    from ..nn.functional import dropout as _dropout
    _check_p(p)
    return _dropout(input, p, train)


def dropout_(input, p, train):
    """In place: dropout of input (each element zeroed with probability p, the others
    scaled by ``1 / (1 - p)``) when ``train``; see ``nn.functional.dropout``."""
    from ..nn.functional import dropout as _dropout
    _check_p(p)
    return input._inplace(lambda x: _dropout(x, p, train))


def feature_dropout(input, p, train):
    """Dropout of whole channels (dim 1) of a batched input: one draw per (sample, channel)."""
    from ..nn.functional_activation import _check_input, _dropout_impl
    _check_input(input, "feature_dropout")
    _check_p(p)
    return _dropout_impl(input, p, train, False, 2, False)


def feature_dropout_(input, p, train):
    """In place: ``feature_dropout`` (whole channels of ``(N, C, ...)`` input zeroed
    with probability p, the others scaled by ``1 / (1 - p)``) when ``train``."""
    from ..nn.functional_activation import _check_input, _dropout_impl
    _check_input(input, "feature_dropout_")
    _check_p(p)
    return _dropout_impl(input, p, train, True, 2, False)


def alpha_dropout_(input, p, train):
    """In place: alpha dropout of input when ``train`` (see
    ``nn.functional.alpha_dropout``)."""
    from ..nn.functional import alpha_dropout as _alpha_dropout
    _check_p(p)
    return _alpha_dropout(input, p, train, inplace=True)


def feature_alpha_dropout_(input, p, train):
    """In place: channel-wise alpha dropout of input when ``train`` (see
    ``nn.functional.feature_alpha_dropout``)."""
    from ..nn.functional import feature_alpha_dropout as _feature_alpha_dropout
    _check_p(p)
    return _feature_alpha_dropout(input, p, train, inplace=True)
