"""``minigrad.nn``: modules, layers, losses, and the ``functional``, ``init`` and ``utils``
submodules, with PyTorch's names (``import minigrad.nn as nn``)."""
from . import functional, init, utils
from .layers import (
    BatchNorm1d,
    Dropout,
    Flatten,
    Identity,
    LeakyReLU,
    Linear,
    LogSoftmax,
    ModuleList,
    ReLU,
    Sequential,
    Sigmoid,
    Softmax,
    Tanh,
)
from .losses import (
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    HuberLoss,
    L1Loss,
    MSELoss,
    NLLLoss,
    SmoothL1Loss,
)
from .module import Module, Parameter

__all__ = [
    "BCELoss",
    "BCEWithLogitsLoss",
    "BatchNorm1d",
    "CrossEntropyLoss",
    "Dropout",
    "Flatten",
    "HuberLoss",
    "Identity",
    "L1Loss",
    "LeakyReLU",
    "Linear",
    "LogSoftmax",
    "MSELoss",
    "Module",
    "ModuleList",
    "NLLLoss",
    "Parameter",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "SmoothL1Loss",
    "Softmax",
    "Tanh",
    "functional",
    "init",
    "utils",
]
from .conv import *  # the convolution family: Conv2d, MaxPool2d, Upsample...
from .conv import __all__ as _conv_all

__all__.extend(_conv_all)
from .activation import *  # GELU, SiLU, ELU, PReLU... (the activations beyond layers.py)
from .activation import __all__ as _activation_all
from .dropout import *  # Dropout1d/2d/3d, AlphaDropout, FeatureAlphaDropout
from .dropout import __all__ as _dropout_all

__all__.extend(_activation_all)
__all__.extend(_dropout_all)
from .rnn import *  # the recurrent family: RNN, LSTM, GRU and their cells
from .rnn import __all__ as _rnn_all

__all__.extend(_rnn_all)
from .attention import *  # the attention family: MultiheadAttention
from .attention import __all__ as _attention_all
from .transformer import *  # TransformerEncoderLayer, TransformerEncoder
from .transformer import __all__ as _transformer_all

__all__.extend(_attention_all)
__all__.extend(_transformer_all)
from .losses import _ctc as _losses_ctc
from .losses import _divergence as _losses_divergence
from .losses import _margin as _losses_margin
from .losses.ctc import *  # the issue-11 losses: CTCLoss, KLDivLoss, TripletMarginLoss...
from .losses.divergence import *
from .losses.margin import *

__all__.extend(name for family in (_losses_ctc, _losses_divergence, _losses_margin)
               for name in family.__all__ if name[0].isupper())
