"""Elementwise functions: arithmetic, math, activations, comparisons, logical and bitwise E.

Each function has PyTorch's name, argument names and defaults, and PyTorch's type promotion
(``minigrad/dtypes.py``): integer and bool inputs of a floating function (``sin``, ``sigmoid``,
``atan2``...) are computed in the default dtype; a Python number does not promote a tensor of
its category. Its errors are PyTorch's: a function that has no kernel for a dtype raises
NotImplementedError (a RuntimeError) naming it (``"bitwise_and_cpu" not implemented for
'Float'``); a non-Tensor where a Tensor is required is a TypeError.

Most are also Tensor methods (``METHODS``), with an in-place form ``name_`` where PyTorch has
one (``t.sin_()``: same checks, and the result must be castable to t's dtype). The operators
``== != < <= > >= & | ^ ~ << >> // %`` and their reflected and in-place forms are attached to
Tensor from here too.
"""
import math
import numbers

import numpy as np

from .. import dtypes as _dt
from .._kernels import kernels as K
from ..autograd import graph as _graph
from ..autograd.grad_mode import is_grad_enabled
from ..errors import ShapeError
from ..ops import elementwise as E
from ..tensor import (
    Tensor,
    _as_type,
    _binary,
    _broadcasting,
    _check_fits,
    _filled_like,
    _scalar_as,
    _wrap,
    where,
)

__all__ = [
    "abs",
    "absolute",
    "acos",
    "acosh",
    "add",
    "allclose",
    "arccos",
    "arccosh",
    "arcsin",
    "arcsinh",
    "arctan",
    "arctan2",
    "arctanh",
    "asin",
    "asinh",
    "atan",
    "atan2",
    "atanh",
    "bitwise_and",
    "bitwise_left_shift",
    "bitwise_not",
    "bitwise_or",
    "bitwise_right_shift",
    "bitwise_xor",
    "ceil",
    "clamp",
    "clamp_max",
    "clamp_min",
    "clip",
    "copysign",
    "cos",
    "cosh",
    "div",
    "divide",
    "eq",
    "equal",
    "erf",
    "erfc",
    "erfinv",
    "exp",
    "exp2",
    "expm1",
    "fix",
    "float_power",
    "floor",
    "floor_divide",
    "fmax",
    "fmin",
    "fmod",
    "frac",
    "ge",
    "greater",
    "greater_equal",
    "gt",
    "hypot",
    "isclose",
    "isfinite",
    "isinf",
    "isnan",
    "isneginf",
    "isposinf",
    "le",
    "lerp",
    "less",
    "less_equal",
    "log",
    "log1p",
    "log2",
    "log10",
    "logaddexp",
    "logaddexp2",
    "logical_and",
    "logical_not",
    "logical_or",
    "logical_xor",
    "logit",
    "lt",
    "maximum",
    "minimum",
    "mul",
    "multiply",
    "nan_to_num",
    "ne",
    "neg",
    "negative",
    "not_equal",
    "positive",
    "pow",
    "reciprocal",
    "relu",
    "remainder",
    "round",
    "rsqrt",
    "sgn",
    "sigmoid",
    "sign",
    "signbit",
    "sin",
    "sinh",
    "sqrt",
    "square",
    "sub",
    "subtract",
    "tan",
    "tanh",
    "true_divide",
    "trunc",
    "where",
]

# ---------------------------------------------------------------------------------------------
# Argument checks and promotion
# ---------------------------------------------------------------------------------------------

_NUMBER_TYPES = (numbers.Number, np.bool_, np.number)
_FLOAT64 = np.dtype(np.float64)


def _is_number(value):
    kind = type(value)
    if kind is float or kind is int or kind is bool:  # the common case, without the ABC check
        return True
    return isinstance(value, _NUMBER_TYPES) and not isinstance(value, Tensor)


def _check_tensor(value, function, name="input", position=1):
    if not isinstance(value, Tensor):
        raise TypeError(f"{function}(): argument '{name}' (position {position}) must be "
                        f"Tensor, not {type(value).__name__}")


def _check_operand(value, function, name="other", position=2):
    """A Tensor or a number (numpy arrays are taken as tensors)."""
    if isinstance(value, Tensor) or _is_number(value):
        return value
    if isinstance(value, np.ndarray):
        return _wrap(value)
    raise TypeError(f"{function}(): argument '{name}' (position {position}) must be Tensor "
                    f"or Number, not {type(value).__name__}")


def _legacy(np_dtype):
    return _dt.from_numpy_dtype(np_dtype).legacy_name


def _not_implemented(kernel, np_dtype):
    return NotImplementedError(f'"{kernel}" not implemented for \'{_legacy(np_dtype)}\'')


def _promote(operands, floating=False):
    """(dtype, operands converted to it): PyTorch's result dtype of Tensors and numbers (the
    default float dtype instead of an integral one when ``floating``); Tensors are converted
    (recorded, so gradients flow back), numbers converted as PyTorch converts scalars."""
    operands = [x.item() if isinstance(x, np.generic) else x for x in operands]
    want = _dt.result_np_dtype(*[x._data if isinstance(x, Tensor) else x for x in operands])
    if floating and want.kind in "biu":
        want = _dt.default_np()
    return want, [_as_type(x, want) if isinstance(x, Tensor) else _scalar_as(x, want)
                  for x in operands]


def _values(x):
    return x._data if isinstance(x, Tensor) else x


def _same_float(input, other):
    """True when there is nothing to promote: two tensors of one floating dtype, or a
    floating tensor and a Python float (the common case, taken without ``_promote``)."""
    data = input._data
    if data.dtype.kind != "f":
        return False
    if isinstance(other, Tensor):
        return other._data.dtype is data.dtype
    return type(other) is float


def _fast_apply(name, op, input, other):
    """op.apply on operands with nothing to promote; a shape error is reported by
    ``_broadcasting`` (which runs the op again to name the shapes)."""
    try:
        return op.apply(input, other)
    except ValueError:
        return _broadcasting(name, op.apply, input, other)


def _compute(name, ufunc, *operands):
    """A non-differentiable result (comparisons, logical and bitwise ops) as a new Tensor;
    shapes that do not broadcast raise ShapeError naming them."""
    try:
        if len(operands) == 2:
            a, b = operands
            out = ufunc(a._data if isinstance(a, Tensor) else a,
                        b._data if isinstance(b, Tensor) else b)
        else:
            out = ufunc(*[_values(x) for x in operands])
    except ValueError:
        shapes = [tuple(np.shape(_values(x))) for x in operands]
        raise ShapeError(f"{name}: the shapes {', '.join(map(str, shapes))} do not "
                         f"broadcast") from None
    return _wrap(out if type(out) is np.ndarray else np.asarray(out))


# ---------------------------------------------------------------------------------------------
# Unary floating functions: int and bool inputs compute in the default dtype
# ---------------------------------------------------------------------------------------------


def _floating_function(name, op, doc):
    def function(input):
        if not isinstance(input, Tensor):
            _check_tensor(input, name)
        return op.apply(input)

    function.__name__ = function.__qualname__ = name
    function.__doc__ = doc
    return function


sin = _floating_function("sin", E.Sin, "sin(x);  d/dx = cos(x).")
cos = _floating_function("cos", E.Cos, "cos(x);  d/dx = -sin(x).")
tan = _floating_function("tan", E.Tan, "tan(x);  d/dx = 1 + tan(x)**2.")
asin = _floating_function("asin", E.Asin, "asin(x);  d/dx = 1 / sqrt(1 - x**2).")
acos = _floating_function("acos", E.Acos, "acos(x);  d/dx = -1 / sqrt(1 - x**2).")
atan = _floating_function("atan", E.Atan, "atan(x);  d/dx = 1 / (1 + x**2).")
sinh = _floating_function("sinh", E.Sinh, "sinh(x);  d/dx = cosh(x).")
cosh = _floating_function("cosh", E.Cosh, "cosh(x);  d/dx = sinh(x).")
tanh = _floating_function("tanh", E.Tanh, "tanh(x);  d/dx = 1 - tanh(x)**2.")
asinh = _floating_function("asinh", E.Asinh, "asinh(x);  d/dx = 1 / sqrt(x**2 + 1).")
acosh = _floating_function("acosh", E.Acosh, "acosh(x);  d/dx = 1 / sqrt(x**2 - 1).")
atanh = _floating_function("atanh", E.Atanh, "atanh(x);  d/dx = 1 / (1 - x**2).")
exp = _floating_function("exp", E.Exp, "e**x;  d/dx = e**x.")
exp2 = _floating_function("exp2", E.Exp2, "2**x;  d/dx = 2**x ln 2.")
expm1 = _floating_function("expm1", E.Expm1, "e**x - 1 (accurate near 0);  d/dx = e**x.")
log = _floating_function("log", E.Log, "Natural logarithm;  d/dx = 1/x.")
log2 = _floating_function("log2", E.Log2, "Base-2 logarithm;  d/dx = 1 / (x ln 2).")
log10 = _floating_function("log10", E.Log10, "Base-10 logarithm;  d/dx = 1 / (x ln 10).")
log1p = _floating_function("log1p", E.Log1p, "log(1 + x) (accurate near 0);  "
                                               "d/dx = 1 / (1 + x).")
sqrt = _floating_function("sqrt", E.Sqrt, "Square root;  d/dx = 1 / (2 sqrt(x)).")
rsqrt = _floating_function("rsqrt", E.Rsqrt, "1 / sqrt(x);  d/dx = -x**-1.5 / 2.")
reciprocal = _floating_function("reciprocal", E.Reciprocal, "1 / x;  d/dx = -1 / x**2.")
erf = _floating_function("erf", E.Erf, "The error function;  d/dx = 2/sqrt(pi) exp(-x**2).")
erfc = _floating_function("erfc", E.Erfc, "1 - erf(x);  d/dx = -2/sqrt(pi) exp(-x**2).")
erfinv = _floating_function("erfinv", E.Erfinv, "The inverse of erf;  "
                                                  "d/dx = sqrt(pi)/2 exp(erfinv(x)**2).")
sigmoid = _floating_function("sigmoid", E.Sigmoid, "1 / (1 + exp(-x));  "
                                                     "d/dx = sigmoid(x) (1 - sigmoid(x)).")
arcsin, arccos, arctan = asin, acos, atan
arcsinh, arccosh, arctanh = asinh, acosh, atanh


def logit(input, eps=None):
    """log(p / (1 - p)), with p clamped to [eps, 1 - eps] when eps is given;
    d/dx = 1 / (x (1 - x)) (0 where eps clamps)."""
    _check_tensor(input, "logit")
    if eps is None:
        return E.Logit.apply(input)
    return E.Logit.apply(input, eps=float(eps))


def relu(input):
    """max(x, 0);  d/dx = 1[x > 0]."""
    _check_tensor(input, "relu")
    if input._data.dtype.kind == "b":
        raise _not_implemented("clamp_min_scalar_cpu", input._data.dtype)
    return E.ReLU.apply(input)


# ---------------------------------------------------------------------------------------------
# Sign, magnitude and rounding: defined for integers too
# ---------------------------------------------------------------------------------------------


def abs(input):
    """``|x|``;  d/dx = sign(x) (0 at 0)."""
    _check_tensor(input, "abs")
    if input._data.dtype.kind == "b":
        raise _not_implemented("abs_cpu", input._data.dtype)
    return E.Abs.apply(input)


absolute = abs


def neg(input):
    """-x;  d/dx = -1. Not defined for bool (use ``~`` or ``logical_not``)."""
    _check_tensor(input, "neg")
    if input._data.dtype.kind == "b":
        raise RuntimeError("Negation, the `-` operator, on a bool tensor is not supported. If "
                           "you are trying to invert a mask, use the `~` or `logical_not()` "
                           "operator instead.")
    return E.Neg.apply(input)


negative = neg


def positive(input):
    """x itself (``+x``); not defined for bool."""
    _check_tensor(input, "positive")
    if input._data.dtype.kind == "b":
        raise RuntimeError("The `+` operator, on a bool tensor is not supported.")
    return input


def sign(input):
    """-1, 0 or 1 by the sign of x (0 for NaN; bool stays bool);  d/dx = 0."""
    _check_tensor(input, "sign")
    return E.Sign.apply(input)


sgn = sign


def _rounding(name, op):
    def function(input):
        _check_tensor(input, name)
        if input._data.dtype.kind == "b":
            raise _not_implemented(f"{name}_cpu", input._data.dtype)
        return op.apply(input)

    function.__name__ = function.__qualname__ = name
    function.__doc__ = f"{name}(x), the identity on integers;  d/dx = 0."
    return function


floor = _rounding("floor", E.Floor)
ceil = _rounding("ceil", E.Ceil)
trunc = _rounding("trunc", E.Trunc)
fix = trunc


def round(input, *, decimals=0):
    """x rounded to ``decimals`` places (halves to even);  d/dx = 0."""
    _check_tensor(input, "round")
    kind = input._data.dtype.kind
    if kind == "b" or (decimals != 0 and kind in "iu"):
        raise _not_implemented("round_cpu", input._data.dtype)
    if decimals == 0:
        return E.Round.apply(input)
    return E.Round.apply(input, decimals=int(decimals))


def frac(input):
    """x - trunc(x) (floating only);  d/dx = 1."""
    _check_tensor(input, "frac")
    if input._data.dtype.kind != "f":
        raise _not_implemented("frac_cpu", input._data.dtype)
    return E.Frac.apply(input)


def square(input):
    """x * x (integers as ``pow(x, 2)``: bool squares to int64);  d/dx = 2x."""
    _check_tensor(input, "square")
    if input._data.dtype.kind == "f":
        return E.Square.apply(input)
    return _binary(E.Pow, input, 2)


def nan_to_num(input, nan=0.0, posinf=None, neginf=None):
    """x with NaN, +inf, -inf replaced by ``nan``, ``posinf``, ``neginf`` (default: 0, the
    dtype's largest and smallest finite values); integers unchanged;  d/dx = 1[x finite]."""
    _check_tensor(input, "nan_to_num")
    return E.NanToNum.apply(input, nan=nan, posinf=posinf, neginf=neginf)


# ---------------------------------------------------------------------------------------------
# Arithmetic
# ---------------------------------------------------------------------------------------------


def add(input, other, *, alpha=1):
    """input + alpha * other, with broadcasting and type promotion."""
    if alpha != 1:
        other = _binary(E.Mul, other, alpha) if isinstance(other, Tensor) else other * alpha
    return _binary(E.Add, input, other)


def sub(input, other, *, alpha=1):
    """input - alpha * other (not defined for bool)."""
    if alpha != 1:
        other = _binary(E.Mul, other, alpha) if isinstance(other, Tensor) else other * alpha
    return _binary(E.Sub, input, other)


subtract = sub


def mul(input, other):
    """input * other."""
    return _binary(E.Mul, input, other)


multiply = mul


def div(input, other, *, rounding_mode=None):
    """input / other: true division (integers give the default float dtype), or with
    ``rounding_mode='trunc'`` rounded toward zero, ``'floor'`` rounded down (keeping integer
    dtypes)."""
    if rounding_mode is None:
        return _binary(E.Div, input, other)
    if rounding_mode == "floor":
        return floor_divide(input, other)
    if rounding_mode != "trunc":
        raise RuntimeError(f"div expected rounding_mode to be one of None, 'trunc', or "
                           f"'floor' but found '{rounding_mode}'")
    want, (a, b) = _promote((input, _check_operand(other, "div")))
    if want.kind in "iu":
        _check_integer_divisor(b, want)
        with np.errstate(all="ignore"):
            quotient = np.floor_divide(_values(a), _values(b))
            inexact = (np.remainder(_values(a), _values(b)) != 0) & (
                (np.asarray(_values(a)) < 0) != (np.asarray(_values(b)) < 0))
        return _wrap(np.asarray(quotient + inexact.astype(quotient.dtype)))
    return E.Trunc.apply(_binary(E.Div, a, b))


divide = div


def true_divide(input, other):
    """input / other, true division."""
    return _binary(E.Div, input, other)


def pow(input, exponent):
    """input ** exponent (a Tensor or a number on either side);  d/da = b a**(b-1),
    d/db = a**b log(a). An integer tensor to a negative integer number raises, as PyTorch."""
    if not isinstance(input, Tensor) and not isinstance(exponent, Tensor):
        _check_tensor(exponent, "pow", "exponent", 2)
    return _binary(E.Pow, input, exponent)


def float_power(input, exponent):
    """input ** exponent computed in float64 (the result is float64 whatever the inputs)."""
    kind = type(exponent)
    if isinstance(input, Tensor) and (kind is float or kind is int) and \
            input._data.dtype.kind == "f":  # the common case: no promotion to work out
        return E.Pow.apply(_as_type(input, _FLOAT64), float(exponent))
    operands = []
    for x in (input, exponent):
        if isinstance(x, Tensor):
            operands.append(_as_type(x, _FLOAT64))
        else:
            operands.append(float(x) if _is_number(x) else x)
    if not any(isinstance(x, Tensor) for x in operands):
        _check_tensor(exponent, "float_power", "exponent", 2)
    return _binary(E.Pow, *operands)


def _check_integer_divisor(divisor, np_dtype):
    if np_dtype.kind in "iu" and np.any(np.asarray(_values(divisor)) == 0):
        raise RuntimeError("ZeroDivisionError")


def _division(name, op, input, other):
    """fmod, remainder, floor_divide: promotion, PyTorch's refusal of bool and of an integer
    division by zero, then the op."""
    scalar_self = not isinstance(input, Tensor)
    if not scalar_self and _same_float(input, other):
        return _fast_apply(name, op, input, other)
    if scalar_self:
        if op is E.Fmod:  # fmod has no number-first form
            _check_tensor(input, name)
        input = _check_operand(input, name, "input", 1)
        if not isinstance(other, Tensor):
            _check_tensor(other, name, "other", 2)
    other = _check_operand(other, name)
    want, (a, b) = _promote((input, other))
    if want.kind == "b":
        raise _not_implemented(f"{name}_cpu", want)
    _check_integer_divisor(b, want)
    if scalar_self and op is E.Remainder:
        return _broadcasting(name, lambda a, b: op.apply(a, b, scalar_self=True), a, b)
    return _broadcasting(name, op.apply, a, b)


def fmod(input, other):
    """C's fmod: input - trunc(input / other) other (the sign of input);  d/da = 1,
    d/db = -trunc(a / b)."""
    return _division("fmod", E.Fmod, input, other)


def remainder(input, other):
    """Python's %: input - floor(input / other) other (the sign of other);  d/da = 1,
    d/db = -floor(a / b)."""
    return _division("remainder", E.Remainder, input, other)


def floor_divide(input, other):
    """floor(input / other) (Python's //); no derivative."""
    return _division("floor_divide", E.FloorDivide, input, other)


# ---------------------------------------------------------------------------------------------
# Binary floating functions
# ---------------------------------------------------------------------------------------------


def _binary_floating(name, op, input, other, integers=True, numbers_allowed=False):
    """A differentiable binary function on floating values: integer inputs compute in the
    default dtype when ``integers`` (atan2), else raise (hypot)."""
    _check_tensor(input, name)
    if isinstance(other, Tensor) and _same_float(input, other):
        return _fast_apply(name, op, input, other)
    if numbers_allowed:
        other = _check_operand(other, name)
    else:
        _check_tensor(other, name, "other", 2)
    want, (a, b) = _promote((input, other), floating=integers)
    if want.kind != "f":
        raise _not_implemented(f"{name}_cpu", want)
    return _broadcasting(name, op.apply, a, b)


def atan2(input, other):
    """The angle of the point (other, input);  d/da = b / (a**2 + b**2),
    d/db = -a / (a**2 + b**2)."""
    return _binary_floating("atan2", E.Atan2, input, other)


arctan2 = atan2


def hypot(input, other):
    """sqrt(input**2 + other**2) (floating only);  d/da = a / out, d/db = b / out."""
    return _binary_floating("hypot", E.Hypot, input, other, integers=False)


def copysign(input, other):
    """``|input|`` with the sign of other (a Tensor or a number);  d/da = +-1 (0 at 0), d/db = 0."""
    return _binary_floating("copysign", E.Copysign, input, other, numbers_allowed=True)


def logaddexp(input, other):
    """log(exp(input) + exp(other)) (floating only);  d/da = sigmoid(a - b)."""
    return _binary_floating("logaddexp", E.LogAddExp, input, other, integers=False)


def logaddexp2(input, other):
    """log2(2**input + 2**other) (floating only);  d/da = sigmoid((a - b) ln 2)."""
    return _binary_floating("logaddexp2", E.LogAddExp2, input, other, integers=False)


def _extremum(name, op, input, other):
    _check_tensor(input, name)
    _check_tensor(other, name, "other", 2)
    if _same_float(input, other):
        return _fast_apply(name, op, input, other)
    _, (a, b) = _promote((input, other))
    return _broadcasting(name, op.apply, a, b)


def maximum(input, other):
    """The larger of input and other, elementwise (NaN if either is);  the gradient goes to
    the larger, half to each on a tie."""
    return _extremum("maximum", E.Maximum, input, other)


def minimum(input, other):
    """The smaller of input and other, elementwise (NaN if either is)."""
    return _extremum("minimum", E.Minimum, input, other)


def fmax(input, other):
    """The larger of input and other, ignoring a NaN on one side; ties go to input."""
    return _extremum("fmax", E.Fmax, input, other)


def fmin(input, other):
    """The smaller of input and other, ignoring a NaN on one side; ties go to input."""
    return _extremum("fmin", E.Fmin, input, other)


def lerp(input, end, weight):
    """input + weight (end - input), weight a number or a Tensor; input, end (and a tensor
    weight) of one floating dtype;  d/dinput = 1 - w, d/dend = w, d/dweight = end - input."""
    _check_tensor(input, "lerp")
    _check_tensor(end, "lerp", "end", 2)
    dtype = input._data.dtype
    for name, value in (("end", end), ("weight", weight)):
        if isinstance(value, Tensor) and value._data.dtype != dtype:
            raise RuntimeError(f"expected dtype {_legacy(dtype).lower()} for `{name}` but got "
                               f"dtype {_legacy(value._data.dtype).lower()}")
    if dtype.kind != "f":
        raise _not_implemented("lerp_kernel_scalar" if not isinstance(weight, Tensor)
                               else "lerp_kernel_tensor", dtype)
    if not isinstance(weight, Tensor):
        weight = float(_check_operand(weight, "lerp", "weight", 3))
    return _broadcasting("lerp", E.Lerp.apply, input, end, weight)


# ---------------------------------------------------------------------------------------------
# Clamping
# ---------------------------------------------------------------------------------------------


def _clamp_bound(value, np_dtype):
    """A number bound in the computation dtype: integers must fit (PyTorch refuses to wrap
    a clamp bound)."""
    if np_dtype.kind in "iu" and isinstance(value, numbers.Integral):
        _check_fits(value, np_dtype)
        return int(value)
    return _scalar_as(value, np_dtype)


_PLAIN_BOUNDS = (float, int, type(None))


def _same_dtype_or_none(bound, dtype):
    return bound is None or isinstance(bound, Tensor) and bound._data.dtype is dtype


def clamp(input, min=None, max=None):
    """min(max(x, min), max) with number or Tensor bounds (either may be None); the result
    has the promoted dtype of x and the bounds. d/dx = 1 where min <= x <= max; a Tensor
    bound gets the gradient where it is the output (PyTorch's rule)."""
    _check_tensor(input, "clamp")
    dtype = input._data.dtype
    if dtype.kind == "f":  # the common cases: nothing to promote
        if type(min) in _PLAIN_BOUNDS and type(max) in _PLAIN_BOUNDS and \
                (min is not None or max is not None):
            return E.Clamp.apply(input, min, max)
        if _same_dtype_or_none(min, dtype) and _same_dtype_or_none(max, dtype) and \
                (min is not None or max is not None):
            return _broadcasting("clamp", E.ClampTensor.apply, input, min, max)
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    bounds = [None if v is None else _check_operand(v, "clamp", n, i + 2)
              for i, (n, v) in enumerate((("min", min), ("max", max)))]
    if isinstance(bounds[0], Tensor) or isinstance(bounds[1], Tensor):
        given = [b for b in bounds if b is not None]
        want, converted = _promote([input] + given)
        x, rest = converted[0], iter(converted[1:])
        lo, hi = (None if b is None else next(rest) for b in bounds)
        return _broadcasting("clamp", E.ClampTensor.apply, x, lo, hi)
    given = [b.item() if isinstance(b, np.generic) else b for b in bounds if b is not None]
    want = _dt.result_np_dtype(input._data, *given)
    x = _as_type(input, want)
    lo, hi = (None if b is None else _clamp_bound(b, want) for b in bounds)
    return E.Clamp.apply(x, lo, hi)


clip = clamp


def clamp_min(input, min):
    """``max(input, min)`` elementwise (``clamp(input, min=min)``); ``d/dx = 1[x >= min]``."""
    return clamp(input, min=min)


def clamp_max(input, max):
    """``min(input, max)`` elementwise (``clamp(input, max=max)``); ``d/dx = 1[x <= max]``."""
    return clamp(input, max=max)


# ---------------------------------------------------------------------------------------------
# Comparisons (bool results, no gradient)
# ---------------------------------------------------------------------------------------------


def _comparison(name, ufunc):
    def function(input, other):
        _check_tensor(input, name)
        data = input._data
        kind = type(other)
        if (kind is float or kind is int) and data.dtype.kind == "f" or \
                isinstance(other, Tensor) and other._data.dtype == data.dtype:
            return _compute(name, ufunc, input, other)  # nothing to promote
        other = _check_operand(other, name)
        _, (a, b) = _promote((input, other))
        return _compute(name, ufunc, a, b)

    function.__name__ = function.__qualname__ = name
    function.__doc__ = f"input {ufunc.__name__} other, elementwise, as a bool tensor (after " \
                       f"type promotion)."
    return function


eq = _comparison("eq", np.equal)
ne = _comparison("ne", np.not_equal)
lt = _comparison("lt", np.less)
le = _comparison("le", np.less_equal)
gt = _comparison("gt", np.greater)
ge = _comparison("ge", np.greater_equal)
not_equal, less, less_equal, greater, greater_equal = ne, lt, le, gt, ge


def equal(input, other):
    """True if both tensors have the same shape and the same values."""
    _check_tensor(input, "equal")
    _check_tensor(other, "equal", "other", 2)
    return input._data.shape == other._data.shape and bool(np.all(input._data == other._data))


def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    """``|input - other| <= atol + rtol |other|`` elementwise (equal infinities are close; NaNs
    are close to each other only with ``equal_nan``). Both tensors of one dtype."""
    _check_tensor(input, "isclose")
    _check_tensor(other, "isclose", "other", 2)
    a, b = input._data, other._data
    if a.dtype != b.dtype:
        raise RuntimeError(f"{_legacy(a.dtype)} did not match {_legacy(b.dtype)}")
    if rtol < 0:
        raise RuntimeError(f"rtol must be greater than or equal to zero, but got {rtol}")
    if atol < 0:
        raise RuntimeError(f"atol must be greater than or equal to zero, but got {atol}")

    def close(a, b):
        with np.errstate(all="ignore"):
            return _close(a, b)

    def _close(a, b):
        same = a == b
        if a.dtype.kind == "b":
            return same
        if a.dtype.kind != "f":  # integers are compared in the default dtype
            a, b = a.astype(_dt.default_np()), b.astype(_dt.default_np())
        if equal_nan:
            same = same | (np.isnan(a) & np.isnan(b))
        allowed = atol + np.abs(rtol * b)
        actual = np.abs(a - b)
        return same | (np.isfinite(actual) & (actual <= allowed))

    return _compute("isclose", close, a, b)


def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    """True if every element of input is close to other's (``isclose``)."""
    return bool(np.all(isclose(input, other, rtol, atol, equal_nan)._data))


def _predicate(name, ufunc):
    def function(input):
        _check_tensor(input, name)
        return _compute(name, ufunc, input)

    function.__name__ = function.__qualname__ = name
    function.__doc__ = f"{name}(x) elementwise, as a bool tensor."
    return function


isnan = _predicate("isnan", np.isnan)
isinf = _predicate("isinf", np.isinf)
isfinite = _predicate("isfinite", np.isfinite)
isposinf = _predicate("isposinf", np.isposinf)
isneginf = _predicate("isneginf", np.isneginf)
signbit = _predicate("signbit", np.signbit)


# ---------------------------------------------------------------------------------------------
# Logical ops: any dtype, nonzero is true, bool result
# ---------------------------------------------------------------------------------------------


def _logical(name):
    """The kernel of that name (``K.logical_and``...): a compiled loop for two float arrays of
    one dtype and shape, numpy (``reference.py``) for the rest."""
    def function(input, other):
        _check_tensor(input, name)
        _check_tensor(other, name, "other", 2)
        return _compute(name, getattr(K, name), input, other)

    function.__name__ = function.__qualname__ = name
    function.__doc__ = f"{name} of the truth values (nonzero is true), as a bool tensor."
    return function


logical_and = _logical("logical_and")
logical_or = _logical("logical_or")
logical_xor = _logical("logical_xor")


def logical_not(input):
    """not x (zero is false), as a bool tensor."""
    _check_tensor(input, "logical_not")
    return _compute("logical_not", _logical_not, input)


def _logical_not(x):
    # numpy's logical_not is ~10x slower on large float32/float64 arrays than a comparison
    # with 0 (and NaN == 0 is false, as not NaN is); on bool, float16 and arrays of a few
    # hundred elements it is the faster of the two
    if x.size >= 1000 and x.dtype.kind in "fiu" and x.dtype.itemsize >= 4:
        return np.equal(x, 0)
    return np.logical_not(x)


# ---------------------------------------------------------------------------------------------
# Bitwise ops: integer and bool tensors
# ---------------------------------------------------------------------------------------------


def _bitwise(name, kernel, ufunc, bool_ok=True):
    def function(input, other):
        if isinstance(input, Tensor) and isinstance(other, Tensor) and \
                input._data.dtype is other._data.dtype and input._data.dtype.kind in "iu":
            return _compute(name, ufunc, input, other)  # nothing to promote
        if not isinstance(input, Tensor):
            input = _check_operand(input, name, "input", 1)
            if not isinstance(other, Tensor):
                _check_tensor(other, name, "other", 2)
        other = _check_operand(other, name)
        want, operands = _promote((input, other))
        if want.kind not in ("biu" if bool_ok else "iu"):
            raise _not_implemented(kernel, want)
        return _compute(name, ufunc, *operands)

    function.__name__ = function.__qualname__ = name
    function.__doc__ = f"{name} of integer or bool tensors (and numbers), after promotion."
    return function


bitwise_and = _bitwise("bitwise_and", "bitwise_and_cpu", np.bitwise_and)
bitwise_or = _bitwise("bitwise_or", "bitwise_or_cpu", np.bitwise_or)
bitwise_xor = _bitwise("bitwise_xor", "bitwise_xor_cpu", np.bitwise_xor)
# numpy's shifts give PyTorch's results for counts outside [0, bits): 0, or -1 for a negative
# value shifted right.
bitwise_left_shift = _bitwise("bitwise_left_shift", "lshift_cpu", np.left_shift, False)
bitwise_right_shift = _bitwise("bitwise_right_shift", "rshift_cpu", np.right_shift, False)


def bitwise_not(input):
    """~x for integer and bool tensors (logical not on bool)."""
    _check_tensor(input, "bitwise_not")
    if input._data.dtype.kind not in "biu":
        raise _not_implemented("bitwise_not_cpu", input._data.dtype)
    return _compute("bitwise_not", np.invert, input)


# ---------------------------------------------------------------------------------------------
# Operators and in-place forms, attached to Tensor
# ---------------------------------------------------------------------------------------------


def _operator(function, reflected=False):
    """``t <op> other`` (or ``other <op> t``): NotImplemented for operands that are neither
    tensors nor numbers, so Python falls back (``t == None`` is False)."""
    def method(self, other):
        if not (isinstance(other, Tensor) or _is_number(other) or isinstance(other, np.ndarray)):
            return NotImplemented
        return function(other, self) if reflected else function(self, other)

    method.__name__ = method.__qualname__ = function.__name__
    return method


def _invert(self):
    if self._data.dtype.kind not in "biu":
        raise TypeError("~ (operator.invert) is only implemented on integer and Boolean-type "
                        "tensors")
    return bitwise_not(self)


def _summary(function):
    """The first paragraph of ``function``'s docstring, on one line (for its in-place form's)."""
    first = (function.__doc__ or "").strip().split("\n\n")[0]
    return " ".join(line.strip() for line in first.split("\n"))


def _inplace_form(function):
    """``t.name_(...)``: t <- function(t, ...), in place (recorded when it should be; the
    result must be castable to t's dtype, as PyTorch requires)."""
    def method(self, *args, **kwargs):
        operands = tuple(v for v in args + tuple(kwargs.values()) if isinstance(v, Tensor))
        return self._inplace(lambda x: function(x, *args, **kwargs), operands)

    method.__name__ = method.__qualname__ = function.__name__ + "_"
    method.__doc__ = (f"In place: ``t.{function.__name__}_(...)`` writes ``{function.__name__}(t, "
                      f"...)`` into t (its dtype must hold the result). {_summary(function)}")
    return method


def _comparison_inplace(function):
    """``t.eq_(other)``, ``t.logical_and_(other)``: t <- the bool result as 0/1 in t's own
    dtype (recorded with a zero gradient, as PyTorch's)."""
    def method(self, other):
        def compute(x):
            return _filled_like(x, function(x, other)._cast(self.dtype))

        return self._inplace(compute, (), None, "unsafe")

    method.__name__ = method.__qualname__ = function.__name__ + "_"
    method.__doc__ = (f"In place: t becomes ``{function.__name__}(t, other)`` as 0/1 in t's own "
                      f"dtype; its gradient is zero. {_summary(function)}")
    return method


def _logical_inplace(function):
    """``t.logical_and_(other)``: t's values become 0/1 in its own dtype; as in PyTorch this
    is not recorded (t keeps its history), but the version counter moves."""
    def method(self, *args):
        self._check_inplace(is_grad_enabled() and self._requires_grad and self._grad_fn is None)
        np.copyto(self._data, function(self, *args)._data, casting="unsafe")
        _graph.bump(self._data)
        return self

    method.__name__ = method.__qualname__ = function.__name__ + "_"
    method.__doc__ = (f"In place: t becomes ``{function.__name__}(t, ...)`` as 0/1 in t's own "
                      f"dtype (not recorded by autograd). {_summary(function)}")
    return method


_METHOD_FUNCTIONS = [
    abs, absolute, acos, acosh, add, allclose, arccos, arccosh, arcsin, arcsinh, arctan,
    arctan2, arctanh, asin, asinh, atan, atan2, atanh, bitwise_and, bitwise_left_shift,
    bitwise_not, bitwise_or, bitwise_right_shift, bitwise_xor, ceil, clamp, clamp_max,
    clamp_min, clip, copysign, cos, cosh, div, divide, eq, equal, erf, erfc, erfinv, exp, exp2,
    expm1, fix, float_power, floor, floor_divide, fmax, fmin, fmod, frac, ge, greater,
    greater_equal, gt, hypot, isclose, isfinite, isinf, isnan, isneginf, isposinf, le, lerp,
    less, less_equal, log, log10, log1p, log2, logaddexp, logaddexp2, logical_and, logical_not,
    logical_or, logical_xor, logit, lt, maximum, minimum, mul, multiply, nan_to_num, ne, neg,
    negative, not_equal, positive, pow, reciprocal, relu, remainder, round, rsqrt, sgn, sigmoid,
    sign, signbit, sin, sinh, sqrt, square, sub, subtract, tan, tanh, true_divide, trunc,
]
# (add_, sub_, mul_, div_ and pow_ are tensor.py's, with a fast path the optimizers use.)
_INPLACE_NAMES = [
    "abs", "absolute", "acos", "acosh", "arccos", "arccosh", "arcsin", "arcsinh",
    "arctan", "arctan2", "arctanh", "asin", "asinh", "atan", "atan2", "atanh", "bitwise_and",
    "bitwise_left_shift", "bitwise_not", "bitwise_or", "bitwise_right_shift", "bitwise_xor",
    "ceil", "clamp", "clamp_max", "clamp_min", "clip", "copysign", "cos", "cosh", "erf", "erfc", "erfinv", "exp", "exp2", "expm1", "fix", "float_power", "floor",
    "floor_divide", "fmod", "frac", "hypot", "lerp", "log", "log10", "log1p", "log2",
    "logit", "nan_to_num", "neg", "negative", "reciprocal", "relu", "remainder", "round",
    "rsqrt", "sgn", "sigmoid", "sign", "sin", "sinh", "sqrt", "square", "tan", "tanh", "trunc",
]
_COMPARISON_NAMES = ["eq", "ne", "lt", "le", "gt", "ge", "greater", "greater_equal", "less",
                     "less_equal", "not_equal"]
_OPERATORS = {
    "__eq__": _operator(eq), "__ne__": _operator(ne), "__lt__": _operator(lt),
    "__le__": _operator(le), "__gt__": _operator(gt), "__ge__": _operator(ge),
    "__and__": _operator(bitwise_and), "__rand__": _operator(bitwise_and, True),
    "__or__": _operator(bitwise_or), "__ror__": _operator(bitwise_or, True),
    "__xor__": _operator(bitwise_xor), "__rxor__": _operator(bitwise_xor, True),
    "__lshift__": _operator(bitwise_left_shift),
    "__rlshift__": _operator(bitwise_left_shift, True),
    "__rshift__": _operator(bitwise_right_shift),
    "__rrshift__": _operator(bitwise_right_shift, True),
    "__floordiv__": _operator(floor_divide), "__rfloordiv__": _operator(floor_divide, True),
    "__mod__": _operator(remainder), "__rmod__": _operator(remainder, True),
    "__invert__": _invert, "__neg__": neg, "__pos__": positive, "__abs__": abs,
}
_INPLACE_OPERATORS = {"__iand__": "bitwise_and", "__ior__": "bitwise_or",
                      "__ixor__": "bitwise_xor", "__ilshift__": "bitwise_left_shift",
                      "__irshift__": "bitwise_right_shift", "__ifloordiv__": "floor_divide",
                      "__imod__": "remainder"}


def _attach():
    """The Tensor methods this module defines (``functions/__init__.py`` attaches
    ``METHODS``; the in-place forms and operators are set here)."""
    for name, function in _OPERATORS.items():
        setattr(Tensor, name, function)
    by_name = {f.__name__: f for f in _METHOD_FUNCTIONS}
    by_name.update({"absolute": absolute, "arccos": arccos, "arccosh": arccosh,
                    "arcsin": arcsin, "arcsinh": arcsinh, "arctan": arctan,
                    "arctan2": arctan2, "arctanh": arctanh, "clip": clip, "divide": divide,
                    "fix": fix, "greater": greater, "greater_equal": greater_equal,
                    "less": less, "less_equal": less_equal, "multiply": multiply,
                    "negative": negative, "not_equal": not_equal, "sgn": sgn,
                    "subtract": subtract})
    for name in _INPLACE_NAMES:
        method = _inplace_form(by_name[name])
        method.__name__ = method.__qualname__ = name + "_"
        setattr(Tensor, name + "_", method)
    for name in ("logical_and", "logical_or", "logical_xor"):
        method = _logical_inplace(by_name[name])
        setattr(Tensor, name + "_", method)
    for name in _COMPARISON_NAMES:
        method = _comparison_inplace(by_name[name])
        method.__name__ = method.__qualname__ = name + "_"
        setattr(Tensor, name + "_", method)
    Tensor.logical_not_ = _logical_inplace(logical_not)
    for dunder, name in _INPLACE_OPERATORS.items():
        setattr(Tensor, dunder, getattr(Tensor, name + "_"))
    for alias, name in (("subtract_", "sub_"), ("multiply_", "mul_"), ("divide_", "div_"),
                        ("true_divide_", "div_")):
        setattr(Tensor, alias, getattr(Tensor, name))
    return by_name


METHODS = sorted(_attach())
_ = (math, where)
