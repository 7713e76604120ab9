"""Function forms of Tensor methods (``mg.exp(t)``, ``mg.sum(t, dim=1)``...), as in torch.

They live apart from tensor.py because their names (sum, max, abs, pow...) shadow builtins.
"""
from . import ops
from .tensor import Tensor, _binary


def _method(name):
    def function(input, *args, **kwargs):
        return getattr(input, name)(*args, **kwargs)

    function.__name__ = name
    function.__doc__ = f"Function form of ``Tensor.{name}``."
    return function


exp = _method("exp")
log = _method("log")
sqrt = _method("sqrt")
abs = _method("abs")
clamp = _method("clamp")
clip = clamp
relu = _method("relu")
sigmoid = _method("sigmoid")
tanh = _method("tanh")
square = _method("square")
sum = _method("sum")
mean = _method("mean")
var = _method("var")
std = _method("std")
amax = _method("amax")
amin = _method("amin")
max = _method("max")
min = _method("min")
argmax = _method("argmax")
argmin = _method("argmin")
reshape = _method("reshape")
flatten = _method("flatten")
transpose = _method("transpose")
permute = _method("permute")
unsqueeze = _method("unsqueeze")
squeeze = _method("squeeze")
neg = _method("neg")
isnan = _method("isnan")
isinf = _method("isinf")
isfinite = _method("isfinite")
t = _method("t")
mm = _method("mm")
dot = _method("dot")
numel = _method("numel")
allclose = _method("allclose")
equal = _method("equal")


def add(a, b):
    return _binary(ops.Add, a, b)


def sub(a, b):
    return _binary(ops.Sub, a, b)


def mul(a, b):
    return _binary(ops.Mul, a, b)


def div(a, b):
    return _binary(ops.Div, a, b)


def pow(a, b):
    return _binary(ops.Pow, a, b)


def is_tensor(obj):
    return isinstance(obj, Tensor)
