"""Creation: tensors from data, factories, random sampling, dtype helpers."""
from ..tensor import (
    Tensor,
    arange,
    as_tensor,
    empty,
    eye,
    from_numpy,
    full,
    full_like,
    linspace,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randn,
    randn_like,
    randperm,
    tensor,
    zeros,
    zeros_like,
)
from ._common import method_form

__all__ = ["arange", "as_tensor", "empty", "eye", "from_numpy", "full", "full_like",
           "is_tensor", "linspace", "numel", "ones", "ones_like", "rand", "rand_like",
           "randint", "randn", "randn_like", "randperm", "tensor", "zeros", "zeros_like"]
METHODS = []

numel = method_form("numel")


def is_tensor(obj):
    return isinstance(obj, Tensor)
