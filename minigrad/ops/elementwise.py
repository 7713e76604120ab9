"""Elementwise ops: arithmetic, unary math, activations, comparisons-based selection.

Each op's forward and backward stand side by side; the backward is written once for arrays
(``xp`` = the kernels) and Tensors (``xp`` = ``tensor_math``, under ``create_graph``), see
``minigrad/autograd/graph.py``. Binary ops may return gradients of the broadcast shape: the
engine sums them back to each input's shape. Either argument of a binary op may be a Python
number (a constant: no gradient).
"""
import numpy as np

from .._kernels import kernels as K
from ..autograd.graph import Op

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
        self.result = out = np.power(a, b)
        return out

    def backward(self, grad, xp):
        a, b = self.saved_tensors
        need_a, need_b = self.needs_input_grad
        grad_a = grad_b = None
        if need_a:
            if isinstance(b, (int, float)):
                if b == 0:
                    grad_a = xp.mul(grad, 0.0)
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
            with np.errstate(divide="ignore", invalid="ignore"):
                log_a = np.log(a) if isinstance(a, (int, float)) else xp.log(a)  # (2 ** x)
                grad_b = xp.where(flat, 0.0, xp.mul(grad, xp.mul(self.result, log_a)))
        return grad_a, grad_b


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
        share_a = ((a > b) + 0.5 * (a == b)).astype(xp.values(grad).dtype)  # constant
        need_a, need_b = self.needs_input_grad
        return (xp.mul(grad, share_a) if need_a else None,
                xp.mul(grad, 1.0 - share_a) if need_b else None)


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
        self.result = out = K.exp(x)
        return out

    def backward(self, grad, xp):
        return xp.mul(grad, self.result)


class Log(Op):
    """out = log(x);  d out/dx = 1/x."""

    may_broadcast = False

    def forward(self, x):
        self.saved_tensors = (x,)
        return K.log(x)

    def backward(self, grad, xp):
        x, = self.saved_tensors
        return xp.div(grad, x)


class Log1p(Op):
    """out = log(1 + x);  d out/dx = 1/(1 + x)."""

    may_broadcast = False

    def forward(self, x):
        self.saved_tensors = (x,)
        return np.log1p(x)

    def backward(self, grad, xp):
        x, = self.saved_tensors
        return xp.div(grad, xp.add(x, 1.0))


class Sqrt(Op):
    """out = sqrt(x);  d out/dx = 1 / (2 sqrt(x)) = 1 / (2 out)."""

    may_broadcast = False

    def forward(self, x):
        self.result = out = K.sqrt(x)
        return out

    def backward(self, grad, xp):
        return xp.div(grad, xp.mul(self.result, 2.0))


class Abs(Op):
    """out = |x|;  d out/dx = sign(x) (0 at x == 0, as in PyTorch)."""

    may_broadcast = False

    def forward(self, x):
        self.saved_tensors = (x,)
        return np.abs(x)

    def backward(self, grad, xp):
        x, = self.saved_tensors
        return xp.mul(grad, np.sign(xp.values(x)))


class Clamp(Op):
    """out = min(max(x, lo), hi);  d out/dx = 1 where lo <= x <= hi, else 0 (PyTorch's rule:
    the boundary counts as inside)."""

    may_broadcast = False

    def forward(self, x, lo=None, hi=None):
        inside = np.ones(x.shape, dtype=bool)
        out = x
        if lo is not None:
            inside &= x >= lo
            out = np.maximum(out, np.asarray(lo, dtype=x.dtype))
        if hi is not None:
            inside &= x <= hi
            out = np.minimum(out, np.asarray(hi, dtype=x.dtype))
        self.inside = inside
        return out if out is not x else x.copy()

    def backward(self, grad, xp):
        return xp.where(self.inside, grad, 0.0)


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
        self.result = out = K.sigmoid(x)
        return out

    def backward(self, grad, xp):
        return xp.sigmoid_backward(self.result, grad)


class Tanh(Op):
    """out = tanh(x);  d out/dx = 1 - out**2."""

    may_broadcast = False

    def forward(self, x):
        self.result = out = K.tanh(x)
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
