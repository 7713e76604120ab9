"""The differentiable tensor functions the composed losses are written with (one namespace,
so each loss reads like its formula)."""
import numpy as np

from ...functions.creation import full_like, zeros_like  # noqa: F401
from ...functions.elementwise import clamp_min, maximum, minimum  # noqa: F401
from ...functions.index import gather, where  # noqa: F401
from ...functions.reduce import logsumexp, norm  # noqa: F401
from ...functions.shape import broadcast_to, cat, stack  # noqa: F401
from ...ops.elementwise import Softplus


def exp(x):
    return x.exp()


def log(x):
    return x.log()


def softplus(x):
    """log(1 + e^x), stable for any x (max(x, 0) + log1p(e^-|x|))."""
    return Softplus.apply(x)


def log_sigmoid(x):
    """log sigmoid(x) = -softplus(-x): finite for x = -1e30 (= -1e30), 0 for x = 1e30."""
    return -softplus(-x)


def constant(array):
    """A numpy array (masks, indices, scales) as a Tensor that requires no grad, its dtype
    kept (``Tensor(array)`` would make a float32 copy, as ``torch.Tensor`` does)."""
    from ...tensor import as_tensor
    return as_tensor(np.ascontiguousarray(array))
