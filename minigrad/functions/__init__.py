"""The ``torch.*`` functions and the ``Tensor`` methods that share their names, one module per
family: ``elementwise`` (arithmetic, math, comparisons), ``reduce``, ``index`` (gather,
scatter, masks), ``shape`` (views, joins, splits), ``linalg`` (products), ``creation``
(factories, random sampling, dtypes).

Each module defines functions with PyTorch's signatures (``input`` first), lists in
``__all__`` the ones ``minigrad`` exports and in ``METHODS`` the ones that are also
``Tensor`` methods (``t.sin()`` is ``mg.sin(t)``); importing this package attaches those.
The differentiable primitives they use live in ``minigrad/ops/``; a function here checks and
converts its arguments (PyTorch's errors, dims, dtypes) and composes ops.
"""
from ..tensor import Tensor
from . import activation, creation, elementwise, index, linalg, reduce, shape

_FAMILIES = (activation, creation, elementwise, index, linalg, reduce, shape)


def _attach_methods():
    for module in _FAMILIES:
        for name in getattr(module, "METHODS", ()):
            setattr(Tensor, name, getattr(module, name))
        # methods whose signature differs from the function's (Tensor.where(condition, other))
        for name, method in getattr(module, "METHOD_FORMS", {}).items():
            setattr(Tensor, name, method)


_attach_methods()
