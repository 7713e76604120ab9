"""The primitive differentiable ops, one ``Op`` class each, forward and backward side by side.

One module per family: ``elementwise`` (arithmetic, math, activations), ``reduce``, ``shape``,
``index``, ``linalg``, ``nn`` (Linear, softmax, dropout, batch norm). ``tensor_math`` is the
namespace their backward formulas run on under ``create_graph=True``. Everything else
(``tensor.py``'s mean, squeeze, min...) is built from these and needs no backward of its own.
"""
from ..autograd import engine as _engine
from . import tensor_math
from .elementwise import (
    Abs,
    Add,
    Cast,
    Clamp,
    Clone,
    Div,
    Exp,
    LeakyReLU,
    Log,
    Log1p,
    Maximum,
    Mul,
    Neg,
    Pow,
    ReLU,
    Sigmoid,
    Softplus,
    Sqrt,
    Square,
    Sub,
    Tanh,
    Where,
)
from .index import Index, IndexPut, ScatterAlongAxis, ScatterIndex, TakeAlongAxis
from .linalg import MatMul, check_matmul_shapes
from .nn import BatchNorm, Dropout, Linear, LogSoftmax, Softmax
from .reduce import Amax, MaxDim, Sum
from .shape import Cat, Expand, Permute, Reshape, Stack

_engine.tensor_math = tensor_math
