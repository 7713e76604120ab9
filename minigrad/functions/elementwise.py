"""Elementwise functions: arithmetic, math, activations, comparisons."""
from .. import ops
from ..tensor import _binary, maximum, minimum, where
from ._common import method_form

__all__ = ["abs", "add", "allclose", "clamp", "clip", "div", "equal", "exp", "isfinite",
           "isinf", "isnan", "log", "maximum", "minimum", "mul", "neg", "pow", "relu",
           "sigmoid", "sqrt", "square", "sub", "tanh", "where"]
METHODS = []

exp = method_form("exp")
log = method_form("log")
sqrt = method_form("sqrt")
abs = method_form("abs")
clamp = method_form("clamp")
clip = clamp
relu = method_form("relu")
sigmoid = method_form("sigmoid")
tanh = method_form("tanh")
square = method_form("square")
neg = method_form("neg")
isnan = method_form("isnan")
isinf = method_form("isinf")
isfinite = method_form("isfinite")
allclose = method_form("allclose")
equal = method_form("equal")


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


# (maximum, minimum and where are defined in tensor.py, where the promotion helpers live.)
_ = (maximum, minimum, where)
