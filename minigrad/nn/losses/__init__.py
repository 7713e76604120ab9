"""Loss functions (``F.mse_loss``, ``F.cross_entropy``, ...) and their modules (``nn.MSELoss``),
one module per family:

    pointwise.py       MSE, L1, smooth L1, Huber, BCE, BCE with logits (fused ops)
    classification.py  cross-entropy and NLL over (C,), (N, C), (N, C, d1, ..., dK)
    divergence.py      KL divergence, Poisson NLL, Gaussian NLL
    margin.py          margin ranking, hinge/cosine embedding, soft margin, multi-class and
                       multi-label margins, triplet losses, F.pairwise_distance
    ctc.py             connectionist temporal classification (forward-backward in log space)
    modules.py         the nn.*Loss modules of pointwise.py and classification.py

The pointwise and classification losses are each ONE node of the graph. Its forward computes the per-element losses; its
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

The divergence and margin losses are compositions of differentiable tensor ops (none is hot;
each op in the chain is stable), so they differentiate twice through the ops' own formulas.

Inputs are checked in Python before any kernel runs: shapes, dtypes, class indices, the
reduction name, with PyTorch's exception types. As in PyTorch, the regression losses (MSE, L1,
smooth L1, Huber) broadcast a target of a different size with a UserWarning ("Using a target
size ... that is different to the input size ..."), and the BCE losses raise ValueError.

Targets may require grad (PyTorch allows it): every loss here except ``cross_entropy`` and
``nll_loss`` with class-index targets (integers, so no gradient) returns dL/dtarget as well.
Optional ``weight`` / ``pos_weight`` tensors are constants: no gradient flows into them.
"""
from ._common import (  # noqa: F401  (private helpers other modules import from here)
    _check_float,
    _check_reduction,
    _check_tensor,
    _legacy_reduction,
)
from .classification import cross_entropy, nll_loss
from .modules import (
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    HuberLoss,
    L1Loss,
    MSELoss,
    NLLLoss,
    SmoothL1Loss,
)
from .pointwise import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    huber_loss,
    l1_loss,
    mse_loss,
    smooth_l1_loss,
)

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

# issue 11: the rest of PyTorch's losses, one module per family
from . import ctc as _ctc
from . import divergence as _divergence
from . import margin as _margin
from .ctc import *
from .divergence import *
from .margin import *

__all__ += _ctc.__all__ + _divergence.__all__ + _margin.__all__
