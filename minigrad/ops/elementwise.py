"""Elementwise ops: arithmetic, unary math, activations, comparisons-based selection.

Each op's forward and backward stand side by side; the backward is written once for arrays
(``xp`` = the kernels) and Tensors (``xp`` = ``tensor_math``, under ``create_graph``), see
``minigrad/autograd/graph.py``. Binary ops may return gradients of the broadcast shape: the
engine sums them back to each input's shape. Either argument of a binary op may be a Python
number (a constant: no gradient).
"""
import math

import numpy as np

from .. import dtypes as _dt
from .._kernels import kernels as K
from ..autograd.graph import Op


def _floating(x):
    """Integer and bool inputs of a floating function are computed in the default dtype
    (``torch.sin(int_tensor)`` is float32), whoever calls the op."""
    return x if x.dtype.kind in "fc" else x.astype(_dt.default_np())


def _array(out):
    """numpy returns a scalar, not an array, for a 0-d input: make it an array again."""
    return out if type(out) is np.ndarray else np.asarray(out)

# ---------------------------------------------------------------------------------------------
# Arithmetic
# ---------------------------------------------------------------------------------------------


class Add(Op):
    """out = a + b;  d out/da = 1,  d out/db = 1."""

    def forward(self, a, b):
        return K.add(a, b)

    def backward(self, grad, xp):
        return grad, grad


class Sub(Op):
    """out = a - b;  d out/da = 1,  d out/db = -1."""

    def forward(self, a, b):
        return K.sub(a, b)

    def backward(self, grad, xp):
        return grad, (xp.neg(grad) if self.needs_input_grad[1] else None)


class Mul(Op):
    """out = a * b;  d out/da = b,  d out/db = a."""

    def forward(self, a, b):
        self.saved_tensors = (a, b)
        return K.mul(a, b)

    def backward(self, grad, xp):
        a, b = self.saved_tensors
        need_a, need_b = self.needs_input_grad
        return (xp.mul(grad, b) if need_a else None,
                xp.mul(grad, a) if need_b else None)


class Square(Op):
    """out = x * x;  d out/dx = 2x. A primitive for speed: ``pow(x, 2)`` would take the
    promotion path of a binary op, and ``x * x`` would record two edges to x and add their
    gradients."""

    may_broadcast = False

    def forward(self, x):
        self.saved_tensors = (x,)
        return K.mul(x, x)

    def backward(self, grad, xp):
        x, = self.saved_tensors
        return xp.mul(grad, xp.mul(x, 2.0))


class Div(Op):
    """out = a / b;  d out/da = 1/b,  d out/db = -a/b**2 = -out/b."""

    def forward(self, a, b):
        self.saved_tensors = (b,)
        self.result = out = K.div(a, b)
        return out

    def backward(self, grad, xp):
        b, = self.saved_tensors
        need_a, need_b = self.needs_input_grad
        grad_a = xp.div(grad, b) if need_a else None
        grad_b = xp.neg(xp.div(xp.mul(grad, self.result), b)) if need_b else None
        return grad_a, grad_b


class Pow(Op):
    """out = a ** b;  d out/da = b a**(b-1) (0 where b == 0, even at a == 0, as PyTorch),
    d out/db = out log(a) (0 where a == 0 and b >= 0: 0**b is flat in b there)."""

    def forward(self, a, b):
        self.saved_tensors = (a, b)
        self.result = out = _power(a, b)
        return out

    def backward(self, grad, xp):
        a, b = self.saved_tensors
        need_a, need_b = self.needs_input_grad
        grad_a = grad_b = None
        if need_a:
            if isinstance(b, (int, float)):
                if b == 0:
                    grad_a = xp.zeros_like(grad)
                elif b == 2:
                    grad_a = xp.mul(grad, xp.mul(a, 2.0))
                else:
                    grad_a = xp.mul(grad, xp.mul(xp.pow(a, b - 1), float(b)))
            else:
                slope = xp.mul(xp.pow(a, xp.sub(b, 1)), b)
                grad_a = xp.where(xp.values(b) == 0, 0.0, xp.mul(grad, slope))
        if need_b:
            a_values = np.asarray(xp.values(a))
            flat = (a_values == 0) & (np.asarray(xp.values(b)) >= 0)
            if isinstance(a, (int, float)):  # a number base: log(a) is a constant
                log_a = math.log(a) if a > 0 else (-math.inf if a == 0 else math.nan)
            else:
                log_a = xp.log(a)
            with np.errstate(divide="ignore", invalid="ignore"):
                grad_b = xp.where(flat, 0.0, xp.mul(grad, xp.mul(self.result, log_a)))
        return grad_a, grad_b


def _power(a, b):
    """a ** b; an integer base to a negative integer power is 0 except for bases 1 and -1
    (PyTorch's integer pow; numpy refuses). The caller refused a negative Python int."""
    if isinstance(b, np.ndarray) and b.dtype.kind in "iu" and (b < 0).any() and (
            not isinstance(a, np.ndarray) or a.dtype.kind in "biu"):
        a_arr = np.asarray(a)
        magnitude = np.power(a_arr, np.abs(b))
        odd = (b % 2).astype(bool)
        small = np.where(a_arr == 1, 1, np.where(a_arr == -1, np.where(odd, -1, 1), 0))
        return np.where(b < 0, small, magnitude).astype(magnitude.dtype, copy=False)
    if isinstance(a, np.ndarray) and a.dtype.kind == "f":
        if type(b) is float or type(b) is int:  # PyTorch's special exponents
            if b == 2:
                return K.mul(a, a)
            if b == 3:
                return K.mul(K.mul(a, a), a)
            if b == 0.5:
                return K.sqrt(a)
            if b == -1:
                return K.div(1.0, a)
        return K.pow(a, b)
    out = _array(np.power(a, b))
    if out.dtype.kind != "b" and np.asarray(a).dtype.kind == "b" and np.asarray(b).dtype.kind == "b":
        out = out != 0  # numpy powers bools as int8; PyTorch keeps bool
    return out


class Neg(Op):
    """out = -a;  d out/da = -1."""

    may_broadcast = False

    def forward(self, a):
        return np.negative(a)

    def backward(self, grad, xp):
        return xp.neg(grad)


class Maximum(Op):
    """out = max(a, b) elementwise;  the gradient goes to the larger input, half to each on a
    tie (PyTorch's rule)."""

    def forward(self, a, b):
        self.saved_tensors = (a, b)
        return np.maximum(a, b)

    def backward(self, grad, xp):
        a, b = (np.asarray(xp.values(v)) for v in self.saved_tensors)
        dtype = np.asarray(xp.values(grad)).dtype
        # constants: 1 to the larger, 1/2 to each on a tie, 1 to both at a NaN (PyTorch's)
        share_a = np.where(a == b, 0.5, np.where(a < b, 0.0, 1.0)).astype(dtype)
        share_b = np.where(a == b, 0.5, np.where(a > b, 0.0, 1.0)).astype(dtype)
        need_a, need_b = self.needs_input_grad
        return (xp.mul(grad, share_a) if need_a else None,
                xp.mul(grad, share_b) if need_b else None)


class Where(Op):
    """out = where(condition, a, b);  a gets the gradient where the condition holds, b
    elsewhere (the condition is a constant boolean array)."""

    def forward(self, condition, a, b):
        self.condition = condition
        return np.where(condition, a, b)

    def backward(self, grad, xp):
        _, need_a, need_b = self.needs_input_grad
        return (None,
                xp.where(self.condition, grad, 0.0) if need_a else None,
                xp.where(self.condition, 0.0, grad) if need_b else None)


# ---------------------------------------------------------------------------------------------
# Unary math
# ---------------------------------------------------------------------------------------------


class Exp(Op):
    """out = exp(x);  d out/dx = exp(x) = out."""

    may_broadcast = False

    def forward(self, x):
        self.result = out = K.exp(_floating(x))
        return out

    def backward(self, grad, xp):
        return xp.mul(grad, self.result)


class Log(Op):
    """out = log(x);  d out/dx = 1/x."""

    may_broadcast = False

    def forward(self, x):
        self.saved_tensors = (x,)
        return K.log(_floating(x))

    def backward(self, grad, xp):
        x, = self.saved_tensors
        return xp.div(grad, x)


class Log1p(Op):
    """out = log(1 + x);  d out/dx = 1/(1 + x)."""

    may_broadcast = False

    def forward(self, x):
        self.saved_tensors = (x,)
        return K.log1p(_floating(x))

    def backward(self, grad, xp):
        x, = self.saved_tensors
        return xp.div(grad, xp.add(x, 1.0))


class Sqrt(Op):
    """out = sqrt(x);  d out/dx = 1 / (2 sqrt(x)) = 1 / (2 out)."""

    may_broadcast = False

    def forward(self, x):
        self.result = out = K.sqrt(_floating(x))
        return out

    def backward(self, grad, xp):
        return xp.div(grad, xp.mul(self.result, 2.0))


class Abs(Op):
    """out = |x|;  d out/dx = sign(x) (0 at x == 0 and at NaN, as in PyTorch)."""

    may_broadcast = False

    def forward(self, x):
        self.saved_tensors = (x,)
        return np.abs(x)

    def backward(self, grad, xp):
        x, = self.saved_tensors
        # K.sign, not np.sign: PyTorch's sign is 0 at NaN (numpy's is NaN).
        return xp.mul(grad, K.sign(xp.values(x)))


class Clamp(Op):
    """out = min(max(x, lo), hi);  d out/dx = 1 where lo <= x <= hi, else 0 (PyTorch's rule:
    the boundary counts as inside)."""

    may_broadcast = False

    def forward(self, x, lo=None, hi=None):
        self.saved_tensors = (x,)
        self.lo, self.hi = lo, hi
        return K.clamp(x, lo, hi)

    def backward(self, grad, xp):
        x = np.asarray(xp.values(self.saved_tensors[0]))
        if self.lo is None:
            inside = x <= self.hi
        elif self.hi is None:
            inside = x >= self.lo
        else:
            inside = (x >= self.lo) & (x <= self.hi)
        return xp.where(inside, grad, 0.0)


# ---------------------------------------------------------------------------------------------
# Activations
# ---------------------------------------------------------------------------------------------


class ReLU(Op):
    """out = max(x, 0);  d out/dx = 1[x > 0]."""

    may_broadcast = False

    def forward(self, x):
        self.saved_tensors = (x,)
        return K.relu(x)

    def backward(self, grad, xp):
        x, = self.saved_tensors
        return xp.relu_backward(x, grad)


class LeakyReLU(Op):
    """out = x for x > 0, negative_slope * x otherwise;  d out/dx = 1 or negative_slope."""

    may_broadcast = False

    def forward(self, x, negative_slope):
        self.saved_tensors = (x,)
        self.negative_slope = negative_slope
        return K.leaky_relu(x, negative_slope)

    def backward(self, grad, xp):
        x, = self.saved_tensors
        return xp.leaky_relu_backward(x, grad, self.negative_slope), None


class Sigmoid(Op):
    """out = 1 / (1 + exp(-x));  d out/dx = out (1 - out)."""

    may_broadcast = False

    def forward(self, x):
        self.result = out = K.sigmoid(_floating(x))
        return out

    def backward(self, grad, xp):
        return xp.sigmoid_backward(self.result, grad)


class Tanh(Op):
    """out = tanh(x);  d out/dx = 1 - out**2."""

    may_broadcast = False

    def forward(self, x):
        self.result = out = K.tanh(_floating(x))
        return out

    def backward(self, grad, xp):
        return xp.tanh_backward(self.result, grad)


# ---------------------------------------------------------------------------------------------
# Copies and conversions
# ---------------------------------------------------------------------------------------------


class Cast(Op):
    """out = x converted to another floating dtype;  the gradient is converted back."""

    may_broadcast = False

    def forward(self, x, dtype):
        self.input_dtype = x.dtype
        return x.astype(dtype)

    def backward(self, grad, xp):
        return xp.cast(grad, self.input_dtype), None


class Clone(Op):
    """out = a copy of x;  d out/dx = 1."""

    may_broadcast = False

    def forward(self, x):
        return x.copy()

    def backward(self, grad, xp):
        return grad


class Softplus(Op):
    """out = log(1 + exp(x)), computed as max(x, 0) + log1p(exp(-|x|)) (no overflow);
    d out/dx = sigmoid(x)."""

    may_broadcast = False

    def forward(self, x):
        self.saved_tensors = (x,)
        return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))

    def backward(self, grad, xp):
        x, = self.saved_tensors
        return xp.mul(grad, xp.sigmoid(x))


# ---------------------------------------------------------------------------------------------
# Trigonometric and hyperbolic functions
# ---------------------------------------------------------------------------------------------
#
# Integer and bool inputs compute in the default dtype (``_floating``); they never require
# grad, so the saved input is only read for floating ones.


class Sin(Op):
    """out = sin(x);  d out/dx = cos(x)."""

    may_broadcast = False

    def forward(self, x):
        self.saved_tensors = (x,)
        return K.sin(_floating(x))

    def backward(self, grad, xp):
        x, = self.saved_tensors
        return xp.mul(grad, xp.cos(x))


class Cos(Op):
    """out = cos(x);  d out/dx = -sin(x)."""

    may_broadcast = False

    def forward(self, x):
        self.saved_tensors = (x,)
        return K.cos(_floating(x))

    def backward(self, grad, xp):
        x, = self.saved_tensors
        return xp.mul(grad, xp.neg(xp.sin(x)))


class Tan(Op):
    """out = tan(x);  d out/dx = 1 + tan(x)**2 = 1 + out**2."""

    may_broadcast = False

    def forward(self, x):
        self.result = out = K.tan(_floating(x))
        return out

    def backward(self, grad, xp):
        out = self.result
        return xp.mul(grad, xp.add(xp.mul(out, out), 1.0))


class Asin(Op):
    """out = asin(x);  d out/dx = 1 / sqrt(1 - x**2)."""

    may_broadcast = False

    def forward(self, x):
        self.saved_tensors = (x,)
        return K.asin(_floating(x))

    def backward(self, grad, xp):
        x, = self.saved_tensors
        return xp.div(grad, xp.sqrt(xp.sub(1.0, xp.mul(x, x))))


class Acos(Op):
    """out = acos(x);  d out/dx = -1 / sqrt(1 - x**2)."""

    may_broadcast = False

    def forward(self, x):
        self.saved_tensors = (x,)
        return K.acos(_floating(x))

    def backward(self, grad, xp):
        x, = self.saved_tensors
        return xp.neg(xp.div(grad, xp.sqrt(xp.sub(1.0, xp.mul(x, x)))))


class Atan(Op):
    """out = atan(x);  d out/dx = 1 / (1 + x**2)."""

    may_broadcast = False

    def forward(self, x):
        self.saved_tensors = (x,)
        return K.atan(_floating(x))

    def backward(self, grad, xp):
        x, = self.saved_tensors
        return xp.div(grad, xp.add(xp.mul(x, x), 1.0))


class Sinh(Op):
    """out = sinh(x);  d out/dx = cosh(x)."""

    may_broadcast = False

    def forward(self, x):
        self.saved_tensors = (x,)
        return K.sinh(_floating(x))

    def backward(self, grad, xp):
        x, = self.saved_tensors
        return xp.mul(grad, xp.cosh(x))


class Cosh(Op):
    """out = cosh(x);  d out/dx = sinh(x)."""

    may_broadcast = False

    def forward(self, x):
        self.saved_tensors = (x,)
        return K.cosh(_floating(x))

    def backward(self, grad, xp):
        x, = self.saved_tensors
        return xp.mul(grad, xp.sinh(x))


class Asinh(Op):
    """out = asinh(x);  d out/dx = 1 / sqrt(x**2 + 1)."""

    may_broadcast = False

    def forward(self, x):
        self.saved_tensors = (x,)
        return K.asinh(_floating(x))

    def backward(self, grad, xp):
        x, = self.saved_tensors
        return xp.div(grad, xp.sqrt(xp.add(xp.mul(x, x), 1.0)))


class Acosh(Op):
    """out = acosh(x);  d out/dx = 1 / sqrt(x**2 - 1)."""

    may_broadcast = False

    def forward(self, x):
        self.saved_tensors = (x,)
        return K.acosh(_floating(x))

    def backward(self, grad, xp):
        x, = self.saved_tensors
        return xp.div(grad, xp.sqrt(xp.sub(xp.mul(x, x), 1.0)))


class Atanh(Op):
    """out = atanh(x);  d out/dx = 1 / (1 - x**2)."""

    may_broadcast = False

    def forward(self, x):
        self.saved_tensors = (x,)
        return K.atanh(_floating(x))

    def backward(self, grad, xp):
        x, = self.saved_tensors
        return xp.div(grad, xp.sub(1.0, xp.mul(x, x)))


# ---------------------------------------------------------------------------------------------
# Exponentials, logarithms, powers
# ---------------------------------------------------------------------------------------------


class Exp2(Op):
    """out = 2**x;  d out/dx = out ln 2."""

    may_broadcast = False

    def forward(self, x):
        self.result = out = K.exp2(_floating(x))
        return out

    def backward(self, grad, xp):
        return xp.mul(grad, xp.mul(self.result, math.log(2.0)))


class Expm1(Op):
    """out = exp(x) - 1 (accurate near 0);  d out/dx = exp(x) = out + 1."""

    may_broadcast = False

    def forward(self, x):
        self.result = out = K.expm1(_floating(x))
        return out

    def backward(self, grad, xp):
        return xp.mul(grad, xp.add(self.result, 1.0))


class Log2(Op):
    """out = log2(x);  d out/dx = 1 / (x ln 2)."""

    may_broadcast = False

    def forward(self, x):
        self.saved_tensors = (x,)
        return K.log2(_floating(x))

    def backward(self, grad, xp):
        x, = self.saved_tensors
        return xp.div(grad, xp.mul(x, math.log(2.0)))


class Log10(Op):
    """out = log10(x);  d out/dx = 1 / (x ln 10)."""

    may_broadcast = False

    def forward(self, x):
        self.saved_tensors = (x,)
        return K.log10(_floating(x))

    def backward(self, grad, xp):
        x, = self.saved_tensors
        return xp.div(grad, xp.mul(x, math.log(10.0)))


class Rsqrt(Op):
    """out = 1 / sqrt(x);  d out/dx = -out**3 / 2."""

    may_broadcast = False

    def forward(self, x):
        self.result = out = K.rsqrt(_floating(x))
        return out

    def backward(self, grad, xp):
        out = self.result
        return xp.mul(grad, xp.mul(xp.mul(out, xp.mul(out, out)), -0.5))


class Reciprocal(Op):
    """out = 1 / x;  d out/dx = -out**2."""

    may_broadcast = False

    def forward(self, x):
        self.result = out = K.reciprocal(_floating(x))
        return out

    def backward(self, grad, xp):
        out = self.result
        return xp.mul(grad, xp.neg(xp.mul(out, out)))


# ---------------------------------------------------------------------------------------------
# Error function and friends
# ---------------------------------------------------------------------------------------------

_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


class Erf(Op):
    """out = erf(x) = 2/sqrt(pi) int_0^x exp(-t**2) dt;  d out/dx = 2/sqrt(pi) exp(-x**2)."""

    may_broadcast = False

    def forward(self, x):
        self.saved_tensors = (x,)
        return K.erf(_floating(x))

    def backward(self, grad, xp):
        x, = self.saved_tensors
        return xp.mul(grad, xp.mul(xp.exp(xp.neg(xp.mul(x, x))), _TWO_OVER_SQRT_PI))


class Erfc(Op):
    """out = erfc(x) = 1 - erf(x) (accurate for large x);  d out/dx = -2/sqrt(pi) exp(-x**2)."""

    may_broadcast = False

    def forward(self, x):
        self.saved_tensors = (x,)
        return K.erfc(_floating(x))

    def backward(self, grad, xp):
        x, = self.saved_tensors
        return xp.mul(grad, xp.mul(xp.exp(xp.neg(xp.mul(x, x))), -_TWO_OVER_SQRT_PI))


class Erfinv(Op):
    """out = erfinv(x), the inverse of erf on (-1, 1);  d out/dx = sqrt(pi)/2 exp(out**2)."""

    may_broadcast = False

    def forward(self, x):
        self.result = out = K.erfinv(_floating(x))
        return out

    def backward(self, grad, xp):
        out = self.result
        return xp.mul(grad, xp.mul(xp.exp(xp.mul(out, out)), 1.0 / _TWO_OVER_SQRT_PI))


class Logit(Op):
    """out = log(z / (1 - z)) with z = x, or x clamped to [eps, 1 - eps] when eps is given;
    d out/dx = 1 / (x (1 - x)): without eps NaN outside [0, 1], with eps 0 outside
    [eps, 1 - eps] (PyTorch's logit_backward)."""

    may_broadcast = False

    def forward(self, x, eps=None):
        self.saved_tensors = (x,)
        self.eps = eps
        x = _floating(x)
        z = x if eps is None else np.clip(x, eps, 1 - eps).astype(x.dtype, copy=False)
        return K.logit(z)

    def backward(self, grad, xp):
        x, = self.saved_tensors
        eps = self.eps
        if xp is K:  # the fused kernel: one pass
            return K.logit_backward(x, grad, -1.0 if eps is None else eps)
        values = np.asarray(xp.values(x))
        slope = xp.div(grad, xp.mul(x, xp.sub(1.0, x)))
        if eps is None:
            return xp.where((values < 0) | (values > 1), np.nan, slope)
        return xp.where((values < eps) | (values > 1 - eps), 0.0, slope)


# ---------------------------------------------------------------------------------------------
# Rounding and sign: piecewise constant, so their gradient is zero everywhere
# ---------------------------------------------------------------------------------------------


class _PiecewiseConstant(Op):
    """The shared backward of floor, ceil, round, trunc, sign: d out/dx = 0."""

    may_broadcast = False

    def backward(self, grad, xp):
        return xp.zeros_like(grad)


class Floor(_PiecewiseConstant):
    """out = floor(x) (the identity on integers);  d out/dx = 0."""

    def forward(self, x):
        return x.copy() if x.dtype.kind in "iu" else _array(np.floor(x))


class Ceil(_PiecewiseConstant):
    """out = ceil(x) (the identity on integers);  d out/dx = 0."""

    def forward(self, x):
        return x.copy() if x.dtype.kind in "iu" else _array(np.ceil(x))


class Trunc(_PiecewiseConstant):
    """out = x rounded toward zero (the identity on integers);  d out/dx = 0."""

    def forward(self, x):
        return x.copy() if x.dtype.kind in "iu" else _array(np.trunc(x))


class Round(_PiecewiseConstant):
    """out = x rounded to ``decimals`` places, halves to even (as PyTorch: with
    10**decimals scaling, ``rint(x * 10**d) / 10**d``, or ``rint(x / 10**-d) * 10**-d``
    for negative d);  d out/dx = 0."""

    def forward(self, x, decimals=0):
        if x.dtype.kind in "iu":
            return x.copy()
        if decimals == 0:
            return _array(np.rint(x))
        return K.round_decimals(x, decimals)


class Sign(_PiecewiseConstant):
    """out = -1, 0 or 1 by the sign of x (0 for NaN, as PyTorch; bool is itself);
    d out/dx = 0."""

    def forward(self, x):
        if x.dtype.kind == "b":
            return x.copy()
        return K.sign(x) if x.dtype.kind == "f" else _array(np.sign(x))


class Frac(Op):
    """out = x - trunc(x);  d out/dx = 1."""

    may_broadcast = False

    def forward(self, x):
        return K.frac(x)

    def backward(self, grad, xp):
        return grad


class NanToNum(Op):
    """out = x with NaN, +inf and -inf replaced by ``nan``, ``posinf``, ``neginf`` (by
    default 0 and the dtype's largest and smallest values);  d out/dx = 1 where x is finite,
    else 0."""

    may_broadcast = False

    def forward(self, x, nan=0.0, posinf=None, neginf=None):
        self.saved_tensors = (x,)
        if x.dtype.kind not in "fc":
            return x.copy()
        info = np.finfo(x.dtype)
        return K.nan_to_num(x, nan, info.max if posinf is None else posinf,
                            info.min if neginf is None else neginf)

    def backward(self, grad, xp):
        x, = self.saved_tensors
        return xp.where(np.isfinite(xp.values(x)), grad, 0.0)


# ---------------------------------------------------------------------------------------------
# Binary math
# ---------------------------------------------------------------------------------------------


class Atan2(Op):
    """out = atan2(a, b), the angle of the point (b, a);  d out/da = b / (a**2 + b**2),
    d out/db = -a / (a**2 + b**2) (both 0 at the origin, as PyTorch)."""

    def forward(self, a, b):
        self.saved_tensors = (a, b)
        return K.atan2(a, b)

    def backward(self, grad, xp):
        a, b = self.saved_tensors
        need_a, need_b = self.needs_input_grad
        origin = (np.asarray(xp.values(a)) == 0) & (np.asarray(xp.values(b)) == 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            scaled = xp.div(grad, xp.add(xp.mul(a, a), xp.mul(b, b)))
            return (xp.where(origin, 0.0, xp.mul(scaled, b)) if need_a else None,
                    xp.where(origin, 0.0, xp.neg(xp.mul(scaled, a))) if need_b else None)


class Hypot(Op):
    """out = sqrt(a**2 + b**2);  d out/da = a / out,  d out/db = b / out."""

    def forward(self, a, b):
        self.saved_tensors = (a, b)
        self.result = out = K.hypot(a, b)
        return out

    def backward(self, grad, xp):
        a, b = self.saved_tensors
        need_a, need_b = self.needs_input_grad
        with np.errstate(divide="ignore", invalid="ignore"):
            scaled = xp.div(grad, self.result)
            return (xp.mul(scaled, a) if need_a else None,
                    xp.mul(scaled, b) if need_b else None)


class Copysign(Op):
    """out = |a| with the sign of b;  d out/da = out / a (+-1; 0 at a == 0, as PyTorch),
    d out/db = 0."""

    def forward(self, a, b):
        self.saved_tensors = (a, b)
        self.result = out = K.copysign(a, b)
        return out

    def backward(self, grad, xp):
        a, _ = self.saved_tensors
        need_a, need_b = self.needs_input_grad
        grad_a = grad_b = None
        if need_a:
            a_values = np.asarray(xp.values(a))
            # out / a = +-1: whether copysign flipped a's sign (0 at a == 0, as PyTorch); a
            # constant, since it is piecewise so
            with np.errstate(invalid="ignore"):
                flip = np.where(a_values == 0, 0, np.asarray(xp.values(self.result)) / a_values)
            grad_a = xp.mul(grad, flip.astype(np.asarray(xp.values(grad)).dtype, copy=False))
        if need_b:
            grad_b = xp.zeros_like(grad)
        return grad_a, grad_b


class LogAddExp(Op):
    """out = log(exp(a) + exp(b)), without overflow;  d out/da = sigmoid(a - b),
    d out/db = sigmoid(b - a)."""

    def forward(self, a, b):
        self.saved_tensors = (a, b)
        return K.logaddexp(a, b)

    def backward(self, grad, xp):
        a, b = self.saved_tensors
        need_a, need_b = self.needs_input_grad
        with np.errstate(invalid="ignore"):
            return (xp.mul(grad, xp.sigmoid(xp.sub(a, b))) if need_a else None,
                    xp.mul(grad, xp.sigmoid(xp.sub(b, a))) if need_b else None)


class LogAddExp2(Op):
    """out = log2(2**a + 2**b), without overflow;  d out/da = sigmoid((a - b) ln 2),
    d out/db = sigmoid((b - a) ln 2)."""

    def forward(self, a, b):
        self.saved_tensors = (a, b)
        return K.logaddexp2(a, b)

    def backward(self, grad, xp):
        a, b = self.saved_tensors
        need_a, need_b = self.needs_input_grad
        ln2 = math.log(2.0)
        with np.errstate(invalid="ignore"):
            return (xp.mul(grad, xp.sigmoid(xp.mul(xp.sub(a, b), ln2))) if need_a else None,
                    xp.mul(grad, xp.sigmoid(xp.mul(xp.sub(b, a), ln2))) if need_b else None)


class Fmod(Op):
    """out = a - trunc(a / b) b (C's fmod: the sign of a);  d out/da = 1,
    d out/db = -trunc(a / b)."""

    def forward(self, a, b):
        self.saved_tensors = (a, b)
        return K.fmod(a, b)

    def backward(self, grad, xp):
        a, b = self.saved_tensors
        need_a, need_b = self.needs_input_grad
        grad_b = None
        if need_b:
            with np.errstate(divide="ignore", invalid="ignore"):
                quotient = np.trunc(np.asarray(xp.values(a)) / np.asarray(xp.values(b)))
            grad_b = xp.mul(grad, np.negative(quotient))
        return (grad if need_a else None), grad_b


class Remainder(Op):
    """out = a - floor(a / b) b (Python's %: the sign of b);  d out/da = 1,
    d out/db = -floor(a / b). With a number for a (``2.5 % t``, ``scalar_self``) PyTorch has
    no derivative, and backward raises as its does."""

    def forward(self, a, b, scalar_self=False):
        self.saved_tensors = (a, b)
        self.scalar_self = scalar_self
        return K.remainder(a, b)

    def backward(self, grad, xp):
        if self.scalar_self:
            raise RuntimeError("derivative for aten::remainder is not implemented")
        a, b = self.saved_tensors
        need_a, need_b = self.needs_input_grad
        grad_b = None
        if need_b:
            with np.errstate(divide="ignore", invalid="ignore"):
                quotient = K.floor_divide(np.asarray(xp.values(a)), np.asarray(xp.values(b)))
            grad_b = xp.mul(grad, np.negative(quotient))
        return (grad if need_a else None), grad_b


class FloorDivide(Op):
    """out = floor(a / b). Its output requires grad when an input does, but it has no
    derivative: backward raises, as PyTorch's does."""

    def forward(self, a, b):
        return K.floor_divide(a, b)

    def backward(self, grad, xp):
        raise RuntimeError("derivative for aten::floor_divide is not implemented")


class Minimum(Op):
    """out = min(a, b) elementwise (NaN if either is);  the gradient goes to the smaller
    input, half to each on a tie (PyTorch's rule)."""

    def forward(self, a, b):
        self.saved_tensors = (a, b)
        return _array(np.minimum(a, b))

    def backward(self, grad, xp):
        a, b = (np.asarray(xp.values(v)) for v in self.saved_tensors)
        dtype = np.asarray(xp.values(grad)).dtype
        share_a = np.where(a == b, 0.5, np.where(a > b, 0.0, 1.0)).astype(dtype)
        share_b = np.where(a == b, 0.5, np.where(a < b, 0.0, 1.0)).astype(dtype)
        need_a, need_b = self.needs_input_grad
        return (xp.mul(grad, share_a) if need_a else None,
                xp.mul(grad, share_b) if need_b else None)


class Fmax(Op):
    """out = max(a, b), ignoring a NaN on one side;  the gradient goes to a where a >= b or
    b is NaN, else to b (PyTorch's rule: a tie goes to a)."""

    def forward(self, a, b):
        self.saved_tensors = (a, b)
        return _array(np.fmax(a, b))

    def backward(self, grad, xp):
        a, b = (np.asarray(xp.values(v)) for v in self.saved_tensors)
        to_a = (a >= b) | np.isnan(b)
        need_a, need_b = self.needs_input_grad
        return (xp.where(to_a, grad, 0.0) if need_a else None,
                xp.where(to_a, 0.0, grad) if need_b else None)


class Fmin(Op):
    """out = min(a, b), ignoring a NaN on one side;  the gradient goes to a where a <= b or
    b is NaN, else to b."""

    def forward(self, a, b):
        self.saved_tensors = (a, b)
        return _array(np.fmin(a, b))

    def backward(self, grad, xp):
        a, b = (np.asarray(xp.values(v)) for v in self.saved_tensors)
        to_a = (a <= b) | np.isnan(b)
        need_a, need_b = self.needs_input_grad
        return (xp.where(to_a, grad, 0.0) if need_a else None,
                xp.where(to_a, 0.0, grad) if need_b else None)


class Lerp(Op):
    """out = start + weight (end - start), computed as PyTorch does (``end - (end - start)
    (1 - weight)`` where |weight| >= 0.5, exact at either end);  d out/dstart = 1 - weight,
    d out/dend = weight, d out/dweight = end - start. ``weight`` is an array or a number."""

    def forward(self, start, end, weight):
        self.saved_tensors = (start, end, weight)
        return K.lerp(start, end, weight)

    def backward(self, grad, xp):
        start, end, weight = self.saved_tensors
        need_start, need_end, need_weight = self.needs_input_grad
        one_minus = 1.0 - weight if isinstance(weight, float) else xp.sub(1.0, weight)
        return (xp.mul(grad, one_minus) if need_start else None,
                xp.mul(grad, weight) if need_end else None,
                xp.mul(grad, xp.sub(end, start)) if need_weight else None)


class ClampTensor(Op):
    """out = min(max(x, lo), hi) with tensor bounds (either may be None). PyTorch's gradients:
    x gets it where lo <= x <= hi; lo where x < lo and lo < hi; hi where x > hi, or where
    hi < lo (then hi wins: the output is hi)."""

    def forward(self, x, lo, hi):
        self.saved_tensors = (x, lo, hi)
        out = x
        if lo is not None:
            out = np.maximum(out, lo)
        if hi is not None:
            out = np.minimum(out, hi)
        return _array(out if out is not x else x.copy())

    def backward(self, grad, xp):
        x, lo, hi = (None if v is None else np.asarray(xp.values(v))
                     for v in self.saved_tensors)
        need_x, need_lo, need_hi = self.needs_input_grad
        inside = np.ones(np.shape(x), dtype=bool)
        if lo is not None:
            inside = inside & (x >= lo)
        if hi is not None:
            inside = inside & (x <= hi)
        to_lo = None if lo is None else (x < lo)
        to_hi = None if hi is None else (x > hi)
        if lo is not None and hi is not None:
            to_lo, to_hi = to_lo & (lo < hi), to_hi | (hi < lo)
        return (xp.where(inside, grad, 0.0) if need_x else None,
                xp.where(to_lo, grad, 0.0) if need_lo else None,
                xp.where(to_hi, grad, 0.0) if need_hi else None)
