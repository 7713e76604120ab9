"""Activation ops beyond ReLU/sigmoid/tanh: GELU (exact and tanh), SiLU, the ELU family (ELU,
SELU, CELU), Softplus with ``beta``/``threshold``, Hardswish, Hardtanh.

Each op is one node of the graph (these sit in the hot path of modern networks): the forward
runs in numpy, the backward is written once against ``xp`` (arrays on the fast path, Tensors
under ``create_graph``), so every derivative below can be differentiated again. The masks of
piecewise functions are constants (they do not depend differentiably on the input), and the
boundaries follow PyTorch's backward kernels exactly (which side of a kink a tie falls on).
The cheaper activations (Mish, Softsign, Hardsigmoid, the shrinks...) are compositions of
these and the elementwise ops, in ``nn/functional_activation.py``.
"""
import math

import numpy as np

from .._kernels import kernels as K
from ..autograd.graph import Op
from .elementwise import _array, _floating

_SQRT_HALF = math.sqrt(0.5)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_GELU_CUBIC = 0.044715


class GELU(Op):
    """approximate='none':  out = x Phi(x), Phi(x) = (1 + erf(x / sqrt 2)) / 2 (the normal CDF);
        d out/dx = Phi(x) + x phi(x), phi(x) = exp(-x^2 / 2) / sqrt(2 pi).
    approximate='tanh':  out = x (1 + tanh(u)) / 2, u = sqrt(2/pi) (x + 0.044715 x^3);
        d out/dx = (1 + t) / 2 + x (1 - t^2) u' / 2, t = tanh(u),
        u' = sqrt(2/pi) (1 + 3 * 0.044715 x^2)."""

    may_broadcast = False

    def forward(self, x, approximate="none"):
        self.saved_tensors = (x,)
        self.approximate = approximate
        x = _floating(x)
        one = x.dtype.type(1)
        if approximate == "tanh":
            inner = x.dtype.type(_SQRT_2_OVER_PI) * (x + x.dtype.type(_GELU_CUBIC) * x * x * x)
            return _array(x.dtype.type(0.5) * x * (one + np.tanh(inner)))
        cdf = x.dtype.type(0.5) * (one + K.erf(x * x.dtype.type(_SQRT_HALF)))
        return _array(x * cdf)

    def backward(self, grad, xp):
        x, = self.saved_tensors
        if self.approximate == "tanh":
            x_sq = xp.mul(x, x)
            inner = xp.mul(xp.add(x, xp.mul(xp.mul(x_sq, x), _GELU_CUBIC)), _SQRT_2_OVER_PI)
            t = xp.tanh(inner)
            d_inner = xp.mul(xp.add(xp.mul(x_sq, 3.0 * _GELU_CUBIC), 1.0), _SQRT_2_OVER_PI)
            left = xp.mul(xp.add(t, 1.0), 0.5)
            right = xp.mul(xp.mul(x, xp.sub(1.0, xp.mul(t, t))), xp.mul(d_inner, 0.5))
            return xp.mul(grad, xp.add(left, right)), None
        cdf = xp.mul(xp.add(xp.erf(xp.mul(x, _SQRT_HALF)), 1.0), 0.5)
        pdf = xp.mul(xp.exp(xp.mul(xp.mul(x, x), -0.5)), _INV_SQRT_2PI)
        return xp.mul(grad, xp.add(cdf, xp.mul(x, pdf))), None


class SiLU(Op):
    """out = x sigmoid(x);  d out/dx = s (1 + x (1 - s)), s = sigmoid(x)."""

    may_broadcast = False

    def forward(self, x):
        self.saved_tensors = (x,)
        x = _floating(x)
        return _array(x * K.sigmoid(x))

    def backward(self, grad, xp):
        x, = self.saved_tensors
        s = xp.sigmoid(x)
        return xp.mul(grad, xp.mul(s, xp.add(xp.mul(x, xp.sub(1.0, s)), 1.0)))


class ELU(Op):
    """PyTorch's general ELU (ELU, SELU and CELU are instances):
        out = scale x                                       for x > 0,
        out = scale alpha (exp(input_scale x) - 1)          for x <= 0;
        d out/dx = scale (x > 0),  scale alpha input_scale exp(input_scale x) (x <= 0).
    (PyTorch's elu_backward puts x == 0 on the exponential side.) ``grad_input_scale``, if
    given, replaces input_scale in the derivative: PyTorch's CELU differentiates with
    1 / float32(alpha), a hair off its forward's 1 / alpha."""

    may_broadcast = False

    def forward(self, x, alpha, scale, input_scale, grad_input_scale=None):
        self.saved_tensors = (x,)
        self.alpha, self.scale = alpha, scale
        self.input_scale = input_scale if grad_input_scale is None else grad_input_scale
        x = _floating(x)
        t = x.dtype.type
        negative = np.asarray(np.minimum(x, t(0)))  # an array even for 0-d x (in place below)
        if input_scale != 1:
            negative *= t(input_scale)
        negative = np.expm1(negative, out=negative)
        negative *= t(alpha)
        out = np.where(x > 0, x, negative)
        if scale != 1:
            out *= t(scale)
        return _array(out)

    def backward(self, grad, xp):
        x, = self.saved_tensors
        negative = xp.values(x) <= 0
        # exp only of the non-positive side (no overflow warning on large x), with a mask that
        # routes the second derivative to exactly those elements.
        x_neg = xp.where(negative, x, 0.0)
        slope_neg = xp.mul(xp.exp(xp.mul(x_neg, self.input_scale)),
                           self.scale * self.alpha * self.input_scale)
        return xp.mul(grad, xp.where(negative, slope_neg, self.scale)), None, None, None


class Softplus(Op):
    """out = log(1 + exp(beta x)) / beta, or x where beta x > threshold (linear regime);
    d out/dx = sigmoid(beta x), or 1 where beta x > threshold."""

    may_broadcast = False

    def forward(self, x, beta, threshold):
        self.saved_tensors = (x,)
        self.beta, self.threshold = beta, threshold
        x = _floating(x)
        t = x.dtype.type
        z = x * t(beta)
        smooth = (np.maximum(z, t(0)) + np.log1p(np.exp(-np.abs(z)))) / t(beta)
        return _array(np.where(z > t(threshold), x, smooth))

    def backward(self, grad, xp):
        x, = self.saved_tensors
        linear = xp.values(x) * self.beta > self.threshold
        slope = xp.sigmoid(xp.mul(x, self.beta))
        return xp.where(linear, grad, xp.mul(grad, slope)), None, None


class Hardswish(Op):
    """out = 0 (x <= -3), x (x >= 3), x (x + 3) / 6 otherwise;
    d out/dx = 0 (x <= -3), 1 (x >= 3), x / 3 + 1/2 strictly between (PyTorch's
    hardswish_backward: the kinks take the outer side)."""

    may_broadcast = False

    def forward(self, x):
        self.saved_tensors = (x,)
        x = _floating(x)
        t = x.dtype.type
        return _array(x * np.clip(x + t(3), t(0), t(6)) / t(6))

    def backward(self, grad, xp):
        x, = self.saved_tensors
        values = xp.values(x)
        middle = (values > -3) & (values < 3)
        above = values >= 3
        slope = xp.add(xp.mul(x, 1.0 / 3.0), 0.5)
        return xp.where(middle, xp.mul(grad, slope), xp.where(above, grad, 0.0))


class Hardsigmoid(Op):
    """out = min(max(x + 3, 0), 6) / 6;  d out/dx = 1/6 strictly inside (-3, 3), else 0.
    (PyTorch's hardsigmoid_backward multiplies by the float32 constant 1/6, also in float64.)"""

    may_broadcast = False
    ONE_SIXTH = float(np.float32(1.0) / np.float32(6.0))

    def forward(self, x):
        self.saved_tensors = (x,)
        t = x.dtype.type
        return _array(np.minimum(np.maximum(x + t(3), t(0)), t(6)) / t(6))

    def backward(self, grad, xp):
        values = xp.values(self.saved_tensors[0])
        inside = (values > -3) & (values < 3)
        return xp.where(inside, xp.mul(grad, self.ONE_SIXTH), 0.0)


class Hardtanh(Op):
    """out = min(max(x, min_val), max_val);  d out/dx = 1 strictly inside (min_val, max_val),
    else 0 (PyTorch's hardtanh_backward: unlike clamp, the boundaries get 0)."""

    may_broadcast = False

    def forward(self, x, min_val, max_val):
        self.saved_tensors = (x,)
        self.min_val, self.max_val = min_val, max_val
        return _array(np.minimum(np.maximum(x, x.dtype.type(min_val)), x.dtype.type(max_val)))

    def backward(self, grad, xp):
        values = xp.values(self.saved_tensors[0])
        inside = (values > self.min_val) & (values < self.max_val)
        return xp.where(inside, grad, 0.0), None, None


class Softshrink(Op):
    """out = x - lambd (x > lambd), x + lambd (x < -lambd), 0 between: x - clamp(x, -lambd,
    lambd);  d out/dx = 0 on [-lambd, lambd], 1 elsewhere (NaN included, as PyTorch)."""

    may_broadcast = False

    def forward(self, x, lambd):
        t = x.dtype.type
        self.outside = ~((x >= -lambd) & (x <= lambd))  # a constant mask, not a derived value
        return _array(x - np.clip(x, t(-lambd), t(lambd)))

    def backward(self, grad, xp):
        return xp.where(self.outside, grad, 0.0), None


class Hardshrink(Op):
    """out = x where |x| > lambd (NaN included), else 0;  d out/dx = the same indicator."""

    may_broadcast = False

    def forward(self, x, lambd):
        self.outside = ~((x >= -lambd) & (x <= lambd))
        return _array(np.where(self.outside, x, x.dtype.type(0)))

    def backward(self, grad, xp):
        return xp.where(self.outside, grad, 0.0), None
