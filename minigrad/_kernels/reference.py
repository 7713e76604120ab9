"""Plain-numpy twins of every Cython kernel.

This file is the contract for the compiled kernels in this folder: each function here has a
twin of the same name and signature in one of the ``_*.pyx`` modules, and the tests run both
and compare them in float32 and float64. It is also the readable version: a student who wants
to see what a kernel computes reads it here.

Conventions shared by both backends
-----------------------------------
- Float inputs of one call share one dtype, float32 or float64 (the Python layer promotes
  before calling). Binary elementwise kernels also accept any other dtype and then simply defer
  to numpy, so the engine can call them for integer tensors too.
- Inputs may have any layout (the compiled twins take a fast path for C-contiguous inputs
  and fall back to numpy otherwise). Outputs are new arrays unless the name ends in ``_``
  (in-place, on C-contiguous float arrays, as the optimizer kernels are).
- Shapes have been checked by the caller: kernels never validate them.

Select the backend for the whole engine with the environment variable
``MINIGRAD_KERNELS=numpy`` (read once at import); see ``minigrad/_kernels/__init__.py``.
"""
import functools
import math

import numpy as np

# ---------------------------------------------------------------------------------------------
# Elementwise binary ops, numpy broadcasting. Cython fast paths: same shape, scalar (size-1)
# operand on either side, row vector (a: (m, n), b: (n,) or (1, n)), column (b: (m, 1)).
# ---------------------------------------------------------------------------------------------


def add(a, b):
    return np.add(a, b)


def sub(a, b):
    return np.subtract(a, b)


def mul(a, b):
    return np.multiply(a, b)


def div(a, b):
    return np.true_divide(a, b)


# ---------------------------------------------------------------------------------------------
# Unary math and activations. ``*_backward`` gets what the forward saved (the input x or the
# output y, as named) and the incoming gradient, and returns the gradient for x.
# ---------------------------------------------------------------------------------------------


def exp(x):
    return np.exp(x)


def log(x):
    return np.log(x)


def sqrt(x):
    return np.sqrt(x)


def relu(x):
    """relu(x) = max(x, 0). NaN stays NaN (as in PyTorch)."""
    return np.where(x > 0, x, np.where(np.isnan(x), x, 0)).astype(x.dtype, copy=False)


def relu_backward(x, grad_output):
    """d relu/dx = 0 where x <= 0 (so 0 at x == 0), 1 elsewhere: written as PyTorch's
    threshold_backward, ``x <= 0 ? 0 : g``, so a NaN input passes its gradient through."""
    return np.where(x <= 0, 0, grad_output).astype(grad_output.dtype, copy=False)


def leaky_relu(x, negative_slope):
    return np.where(x > 0, x, x * negative_slope).astype(x.dtype, copy=False)


def leaky_relu_backward(x, grad_output, negative_slope):
    """d/dx = 1 for x > 0, negative_slope otherwise."""
    return np.where(x > 0, grad_output, grad_output * negative_slope).astype(
        grad_output.dtype, copy=False)


def sigmoid(x):
    """sigmoid(x) = 1 / (1 + exp(-x)), computed without overflow for either sign of x."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


def sigmoid_backward(y, grad_output):
    """With y = sigmoid(x): dy/dx = y * (1 - y)."""
    return grad_output * y * (1 - y)


def tanh(x):
    return np.tanh(x)


def tanh_backward(y, grad_output):
    """With y = tanh(x): dy/dx = 1 - y**2."""
    return grad_output * (1 - y * y)


# ---------------------------------------------------------------------------------------------
# More unary math (float32/float64 in, same dtype out). The compiled twins run the C library's
# functions, vectorized (glibc's libmvec) where the platform has them.
# ---------------------------------------------------------------------------------------------


def sin(x):
    return np.sin(x)


def cos(x):
    return np.cos(x)


def tan(x):
    return np.tan(x)


def asin(x):
    return np.arcsin(x)


def acos(x):
    return np.arccos(x)


def atan(x):
    return np.arctan(x)


def sinh(x):
    return np.sinh(x)


def cosh(x):
    return np.cosh(x)


def asinh(x):
    return np.arcsinh(x)


def acosh(x):
    return np.arccosh(x)


def atanh(x):
    return np.arctanh(x)


def exp2(x):
    return np.exp2(x)


def expm1(x):
    return np.expm1(x)


def log2(x):
    return np.log2(x)


def log10(x):
    return np.log10(x)


def log1p(x):
    return np.log1p(x)


def reciprocal(x):
    """1 / x in x's dtype; 1/0 is inf (IEEE's, and PyTorch's), without numpy's warning."""
    with np.errstate(divide="ignore"):
        return np.asarray(np.divide(1, x, dtype=x.dtype.type))


def sign(x):
    """-1, 0 or 1 by the sign of x; 0 for NaN (PyTorch's sign)."""
    return ((x > 0).astype(x.dtype) - (x < 0).astype(x.dtype)).astype(x.dtype, copy=False)


def rsqrt(x):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(np.divide(1, np.sqrt(x), dtype=x.dtype))


def logit(x):
    """log(x / (1 - x))."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(np.log(x / (1 - x)))


def frac(x):
    return np.asarray(x - np.trunc(x))


def clamp(x, lo, hi):
    """min(max(x, lo), hi) for number bounds (None: no bound)."""
    out = x
    if lo is not None:
        out = np.maximum(out, lo)
    if hi is not None:
        out = np.minimum(out, hi)
    return np.asarray(out) if out is not x else x.copy()


def logit_backward(x, grad_output, eps):
    """d logit/dx = 1 / (x (1 - x)); with eps < 0 (none given) NaN outside [0, 1], else 0
    outside [eps, 1 - eps] (PyTorch's logit_backward)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = grad_output / (x * (1 - x))
        outside = (x < 0) | (x > 1) if eps < 0 else (x < eps) | (x > 1 - eps)
        fill = np.nan if eps < 0 else 0
        return np.where(outside, fill, slope).astype(grad_output.dtype, copy=False)


def logical_and(a, b):
    """(a != 0) and (b != 0), elementwise, as a bool array (NaN is nonzero, so true). The
    comparisons come first: numpy's logical ufuncs are ~10x slower on floats than on bools."""
    return np.asarray(np.logical_and(np.not_equal(a, 0), np.not_equal(b, 0)))


def logical_or(a, b):
    """(a != 0) or (b != 0), elementwise, as a bool array."""
    return np.asarray(np.logical_or(np.not_equal(a, 0), np.not_equal(b, 0)))


def logical_xor(a, b):
    """(a != 0) xor (b != 0), elementwise, as a bool array."""
    return np.asarray(np.logical_xor(np.not_equal(a, 0), np.not_equal(b, 0)))


def copysign(a, b):
    return np.asarray(np.copysign(a, b))


def round_decimals(x, decimals):
    """x rounded to ``decimals`` places, halves to even, as PyTorch: rint(x * 10**d) / 10**d,
    or rint(x / 10**-d) * 10**-d for negative d, in x's dtype (float16 in float32)."""
    compute = np.float32 if x.dtype == np.float16 else x.dtype.type
    v = x.astype(compute)
    if decimals > 0:
        scale = compute(10.0 ** decimals)
        out = np.rint(v * scale) / scale
    else:
        scale = compute(10.0 ** -decimals)
        out = np.rint(v / scale) * scale
    return np.asarray(out.astype(x.dtype, copy=False))


def atan2(a, b):
    return np.asarray(np.arctan2(a, b))


def hypot(a, b):
    return np.asarray(np.hypot(a, b))


def pow(a, b):
    return np.asarray(np.power(a, b))


def logaddexp(a, b):
    return np.asarray(np.logaddexp(a, b))


def logaddexp2(a, b):
    return np.asarray(np.logaddexp2(a, b))


def fmod(a, b):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(np.fmod(a, b))


def remainder(a, b):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(np.remainder(a, b))


def floor_divide(a, b):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(np.floor_divide(a, b))


def lerp(start, end, weight):
    """start + weight (end - start) where |weight| < 0.5, else end - (end - start)
    (1 - weight): PyTorch's two forms, each exact at its own end. weight: an array, or a
    Python float (rounded to the arrays' dtype, as PyTorch rounds a scalar)."""
    diff = end - start
    if isinstance(weight, float):
        w = start.dtype.type(weight)
        if abs(w) < 0.5:
            return np.asarray(start + w * diff)
        return np.asarray(end - diff * (start.dtype.type(1) - w))
    out = np.where(np.abs(weight) < 0.5, start + weight * diff, end - diff * (1 - weight))
    return np.asarray(out.astype(np.result_type(start, end, weight), copy=False))


def nan_to_num(x, nan, posinf, neginf):
    return np.asarray(np.nan_to_num(x, nan=nan, posinf=posinf, neginf=neginf))


# W. J. Cody's rational approximations of erf and erfc (Math. Comp. 23, 1969; the SPECFUN
# routine CALERF), accurate to float64 round-off: three intervals of |x|, in each a ratio of
# polynomials, P/Q, in x**2, x and 1/x**2 respectively.
_ERF_A = (3.16112374387056560e00, 1.13864154151050156e02, 3.77485237685302021e02,
          3.20937758913846947e03, 1.85777706184603153e-1)
_ERF_B = (2.36012909523441209e01, 2.44024637934444173e02, 1.28261652607737228e03,
          2.84423683343917062e03)
_ERF_C = (5.64188496988670089e-1, 8.88314979438837594e00, 6.61191906371416295e01,
          2.98635138197400131e02, 8.81952221241769090e02, 1.71204761263407058e03,
          2.05107837782607147e03, 1.23033935479799725e03, 2.15311535474403846e-8)
_ERF_D = (1.57449261107098347e01, 1.17693950891312499e02, 5.37181101862009858e02,
          1.62138957456669019e03, 3.29079923573345963e03, 4.36261909014324716e03,
          3.43936767414372164e03, 1.23033935480374942e03)
_ERF_P = (3.05326634961232344e-1, 3.60344899949804439e-1, 1.25781726111229246e-1,
          1.60837851487422766e-2, 6.58749161529837803e-4, 1.63153871373020978e-2)
_ERF_Q = (2.56852019228982242e00, 1.87295284992346047e00, 5.27905102951428412e-1,
          6.05183413124413191e-2, 2.33520497626869185e-3)
_RSQRT_PI = 0.56418958354775628695


def _erf_parts(x):
    """(erf(|x|) for |x| <= 0.46875 (else junk), erfc(|x|) for |x| > 0.46875 (else junk),
    the mask |x| <= 0.46875), all in float64."""
    y = np.abs(x)
    small = y <= 0.46875
    # |x| <= 0.46875: erf(y) = y P(y^2) / Q(y^2)
    z = y * y
    num, den = _ERF_A[4] * z, z
    for i in range(3):
        num = (num + _ERF_A[i]) * z
        den = (den + _ERF_B[i]) * z
    erf_small = y * (num + _ERF_A[3]) / (den + _ERF_B[3])
    # 0.46875 < |x| <= 4: erfc(y) = exp(-y^2) P(y) / Q(y)
    num, den = _ERF_C[8] * y, y
    for i in range(7):
        num = (num + _ERF_C[i]) * y
        den = (den + _ERF_D[i]) * y
    middle = (num + _ERF_C[7]) / (den + _ERF_D[7])
    # |x| > 4: erfc(y) = exp(-y^2) / y (1/sqrt(pi) - z P(z) / Q(z)), z = 1/y^2
    z = 1.0 / (y * y)
    num, den = _ERF_P[5] * z, z
    for i in range(4):
        num = (num + _ERF_P[i]) * z
        den = (den + _ERF_Q[i]) * z
    tail = (_RSQRT_PI - z * (num + _ERF_P[4]) / (den + _ERF_Q[4])) / y
    scaled = np.where(y <= 4.0, middle, tail)
    # exp(-y^2) as exp(-s^2) exp(-(y - s)(y + s)) with s = y rounded down to 1/16: y^2 is
    # not exact in float64, and its rounding error would be amplified by the exponential.
    s = np.trunc(y * 16.0) / 16.0
    erfc_large = np.exp(-s * s) * np.exp(-(y - s) * (y + s)) * scaled
    erfc_large = np.where(np.isinf(y), 0.0, erfc_large)
    return erf_small, erfc_large, small


def erf(x):
    """The error function 2/sqrt(pi) int_0^x exp(-t^2) dt, elementwise (Cody's rational
    approximations, evaluated in float64)."""
    v = np.asarray(x, dtype=np.float64)
    with np.errstate(all="ignore"):
        erf_small, erfc_large, small = _erf_parts(v)
        magnitude = np.where(small, erf_small, (0.5 - erfc_large) + 0.5)
        out = np.copysign(magnitude, v)
    return np.asarray(out.astype(x.dtype, copy=False))


def erfc(x):
    """1 - erf(x), accurate where erf(x) is close to 1 (Cody's approximations, in float64)."""
    v = np.asarray(x, dtype=np.float64)
    with np.errstate(all="ignore"):
        erf_small, erfc_large, small = _erf_parts(v)
        out = np.where(small, 1.0 - np.copysign(erf_small, v),
                       np.where(v < 0, 2.0 - erfc_large, erfc_large))
    return np.asarray(out.astype(x.dtype, copy=False))


# M. Giles' single-precision approximation of erfinv ("Approximating the erfinv function",
# GPU Computing Gems, 2011), in w = -log(1 - x^2): a polynomial in w - 2.5 for w < 5, in
# sqrt(w) - 3 beyond; then Halley steps on erf(z) = x (Newton steps on log erfc(z) =
# log(1 - x) in the upper half) reach float64 round-off.
_ERFINV_CENTRAL = (2.81022636e-08, 3.43273939e-07, -3.5233877e-06, -4.39150654e-06,
                   0.00021858087, -0.00125372503, -0.00417768164, 0.246640727, 1.50140941)
_ERFINV_TAIL = (-0.000200214257, 0.000100950558, 0.00134934322, -0.00367342844,
                0.00573950773, -0.0076224613, 0.00943887047, 1.00167406, 2.83297682)
_TWO_OVER_SQRT_PI = 1.1283791670955126


def _polynomial(coefficients, w):
    p = coefficients[0]
    for c in coefficients[1:]:
        p = c + p * w
    return p


def erfinv(x):
    """The inverse of erf on [-1, 1] (+-inf at +-1, NaN outside), elementwise."""
    v = np.asarray(x, dtype=np.float64)
    with np.errstate(all="ignore"):
        a = np.abs(v)
        w = -np.log((1.0 - a) * (1.0 + a))
        z = a * np.where(w < 5.0, _polynomial(_ERFINV_CENTRAL, w - 2.5),
                         _polynomial(_ERFINV_TAIL, np.sqrt(w) - 3.0))
        for _ in range(4):
            # a < 0.5: Halley on f(z) = erf(z) - a (f''/f' = -2z), converged in 2 steps.
            # a >= 0.5: Newton on g(z) = log(erfc(z)) - log(1 - a): 1 - a is exact there,
            # erfc keeps the digits that erf rounds away near 1, and the log makes g nearly
            # quadratic in the far tail, where the polynomial start is poor (4 steps).
            gauss = _TWO_OVER_SQRT_PI * np.exp(-z * z)
            ratio = (erf(z) - a) / gauss
            near = z - ratio / (1.0 + z * ratio)
            tail = erfc(z)
            far = z + (np.log(tail) - np.log(1.0 - a)) * tail / gauss
            z = np.where(a < 0.5, near, far)
        out = np.where(a < 1.0, z, np.where(a == 1.0, np.inf, np.nan))
        out = np.copysign(out, v)
    return np.asarray(out.astype(x.dtype, copy=False))


# ---------------------------------------------------------------------------------------------
# Reductions
# ---------------------------------------------------------------------------------------------


def sum_all(x):
    """Sum of every element, as a 0-d array of x's dtype."""
    return np.asarray(np.sum(x), dtype=x.dtype)


def sum_rows(x):
    """Column sums of a 2-D array, shape (n,): the bias gradient of a Linear layer."""
    return np.sum(x, axis=0)


# ---------------------------------------------------------------------------------------------
# Matrix products
# ---------------------------------------------------------------------------------------------


def matmul(a, b):
    """(m, k) @ (k, n) -> (m, n), both 2-D and of one float dtype."""
    return np.matmul(a, b)


def linear_forward(x, weight, bias):
    """y = x @ weight.T + bias with x: (N, in), weight: (out, in), bias: (out,) or None."""
    y = np.matmul(x, weight.T)
    if bias is not None:
        y += bias
    return y


def linear_backward(grad_output, x, weight, need_x, need_weight, need_bias):
    """Gradients of y = x @ weight.T + bias, given g = dL/dy of shape (N, out):

    dL/dx = g @ weight,  dL/dweight = g.T @ x,  dL/dbias = sum over rows of g.
    Returns (grad_x, grad_weight, grad_bias); an entry not asked for is None.
    """
    grad_x = np.matmul(grad_output, weight) if need_x else None
    grad_weight = np.matmul(grad_output.T, x) if need_weight else None
    grad_bias = np.sum(grad_output, axis=0) if need_bias else None
    return grad_x, grad_weight, grad_bias


def linear_relu(x, weight, bias):
    """relu(x @ weight.T + bias): a Linear layer and the ReLU after it."""
    return relu(linear_forward(x, weight, bias))


_ACTIVATION_GRADS = {"relu": relu_backward, "sigmoid": sigmoid_backward,
                     "tanh": tanh_backward}


def linear_act_backward(grad_output, y, x, weight, act, need_x, need_weight, need_bias):
    """Gradients of y = act(x @ weight.T + bias), act 'relu', 'sigmoid' or 'tanh', from the
    output y: dz = g * act'(z) (relu: 1[y > 0], sigmoid: y (1 - y), tanh: 1 - y^2), then
    linear_backward(dz, ...). Returns (grad_x, grad_weight, grad_bias)."""
    if act not in _ACTIVATION_GRADS:
        raise ValueError(f"unknown activation {act!r}: expected 'relu', 'sigmoid' or 'tanh'")
    dz = _ACTIVATION_GRADS[act](y, grad_output)  # relu's reads y > 0 as z > 0
    return linear_backward(dz, x, weight, need_x, need_weight, need_bias)


# ---------------------------------------------------------------------------------------------
# Fused loss kernels: value and gradient in one pass.
# ---------------------------------------------------------------------------------------------


def mse_loss(pred, target):
    """Returns (S, G): S = sum((pred - target)**2) as a Python float, G = dS/dpred = 2 (pred - target).

    pred and target have one shape and one dtype; the caller scales by 1/n for reduction='mean'.
    """
    diff = pred - target
    return float(np.dot(diff.ravel(), diff.ravel())), 2 * diff


def softmax_cross_entropy(logits, target):
    """Cross-entropy of (N, C) logits against int64 class indices (N,), log-sum-exp stable.

    loss_i = logsumexp(logits_i) - logits_i[target_i]
    Returns (losses (N,), G (N, C)) where G = d(sum_i loss_i)/dlogits = softmax(logits) - onehot.
    Targets have been checked to lie in [0, C) by the caller.
    """
    m = np.max(logits, axis=1, keepdims=True) if logits.shape[1] else np.zeros(
        (logits.shape[0], 1), logits.dtype)
    shifted = logits - m
    e = np.exp(shifted)
    s = np.sum(e, axis=1, keepdims=True)
    rows = np.arange(logits.shape[0])
    losses = (np.log(s) - shifted[rows, target][:, None])[:, 0]
    grad = e / s
    grad[rows, target] -= 1
    return losses.astype(logits.dtype, copy=False), grad.astype(logits.dtype, copy=False)


def bce_with_logits(x, y):
    """Binary cross-entropy on logits, elementwise, stable for any x:

    loss = max(x, 0) - x * y + log(1 + exp(-|x|)),   dloss/dx = sigmoid(x) - y.
    Returns (losses, grads), both of x's shape.
    """
    losses = np.maximum(x, 0) - x * y + np.log1p(np.exp(-np.abs(x)))
    return losses.astype(x.dtype, copy=False), (sigmoid(x) - y).astype(x.dtype, copy=False)


# ---------------------------------------------------------------------------------------------
# Optimizer kernels: one call updates one parameter IN PLACE (param and the state buffers).
#
# Each is PyTorch's single-tensor update (torch/optim/*.py, ``_single_tensor_*``) written with
# numpy, operation by operation in PyTorch's order, so float64 trajectories agree with
# torch.optim to round-off. PyTorch does the arithmetic in the parameter's dtype, rounding each
# Python-float hyper-parameter to that dtype first; ``_scalar`` does the same here (numpy would
# otherwise keep a float64 scalar strong and compute a float32 update in float64).
# ``grad`` is never modified and is read in the parameter's dtype. ``param``, ``grad`` and the
# state buffers may have any layout and byte order (numpy's own loops handle both); the
# parameter and its buffers are written in place, never replaced. A float16 parameter is
# updated in float32 (``_float16_in_float32``), as the compiled kernels do.
# ---------------------------------------------------------------------------------------------


def _float16_in_float32(kernel):
    """Run ``kernel`` on float32 copies of a float16 parameter and of its float16 buffers, then
    round the results back into the caller's arrays (the compiled kernels' float16 path)."""
    def run(param, grad, *args):
        if param.dtype.type is not np.float16:  # (any byte order)
            return kernel(param, grad, *args)
        originals = [param] + [a for a in args if isinstance(a, np.ndarray)]
        copies = {id(a): a.astype(np.float32) for a in originals}
        kernel(copies[id(param)], np.asarray(grad, dtype=np.float32),
               *[copies[id(a)] if isinstance(a, np.ndarray) else a for a in args])
        for a in originals:
            a[...] = copies[id(a)]

    return functools.wraps(kernel)(run)


def _scalar(value, array):
    """A Python float rounded to ``array``'s dtype, as PyTorch rounds a scalar operand."""
    return array.dtype.type(value)


def _lerp(start, end, weight):
    """torch.lerp(start, end, weight) for a scalar weight, in ATen's two forms.

    start + weight * (end - start) when |weight| < 0.5, else end - (end - start) * (1 - weight):
    each form is exact at its own end point.
    """
    w = _scalar(weight, start)
    if abs(float(w)) < 0.5:
        return start + w * (end - start)
    return end - (end - start) * (_scalar(1, start) - w)


@_float16_in_float32
def sgd_(param, grad, momentum_buffer, lr, weight_decay, momentum, dampening, nesterov,
         maximize, first_step):
    """SGD with momentum, PyTorch's form (the dampening applies to the gradient term):

        g = -grad if maximize else grad
        g = g + weight_decay * param                          (if weight_decay != 0)
        buf = g  (first step)  or  buf = buf * momentum + (1 - dampening) * g
        g = g + momentum * buf  (nesterov)  or  g = buf       (if momentum != 0)
        param = param + (-lr) * g
    """
    grad = np.asarray(grad, dtype=param.dtype)
    g = -grad if maximize else grad
    if weight_decay != 0:
        g = g + _scalar(weight_decay, param) * param
    if momentum != 0:
        if first_step:
            momentum_buffer[...] = g
        else:
            momentum_buffer[...] = (momentum_buffer * _scalar(momentum, param)
                                    + _scalar(1 - dampening, param) * g)
        if nesterov:
            g = g + _scalar(momentum, param) * momentum_buffer
        else:
            g = momentum_buffer
    param[...] = param + _scalar(-lr, param) * g


@_float16_in_float32
def adagrad_(param, grad, state_sum, clr, weight_decay, eps, maximize):
    """Adagrad; ``clr = lr / (1 + (step - 1) * lr_decay)`` is computed by the caller:

        g = -grad if maximize else grad
        g = g + weight_decay * param                          (if weight_decay != 0)
        state_sum = state_sum + g * g
        param = param + (-clr) * g / (sqrt(state_sum) + eps)
    """
    grad = np.asarray(grad, dtype=param.dtype)
    g = -grad if maximize else grad
    if weight_decay != 0:
        g = g + _scalar(weight_decay, param) * param
    state_sum[...] = state_sum + _scalar(1, param) * g * g
    std = np.sqrt(state_sum) + _scalar(eps, param)
    param[...] = param + _scalar(-clr, param) * g / std


@_float16_in_float32
def rmsprop_(param, grad, square_avg, grad_avg, momentum_buffer, lr, alpha, eps,
             weight_decay, momentum, centered, maximize):
    """RMSprop, PyTorch's form (eps added outside the square root):

        g = -grad if maximize else grad
        g = g + weight_decay * param                          (if weight_decay != 0)
        square_avg = square_avg * alpha + (1 - alpha) * g * g
        centered:  grad_avg = lerp(grad_avg, g, 1 - alpha)
                   avg = sqrt(square_avg - grad_avg * grad_avg) + eps
        otherwise: avg = sqrt(square_avg) + eps
        momentum > 0: buf = buf * momentum + g / avg;  param = param + (-lr) * buf
        otherwise:    param = param + (-lr) * g / avg
    grad_avg is None unless centered; momentum_buffer is None unless momentum > 0.
    """
    grad = np.asarray(grad, dtype=param.dtype)
    g = -grad if maximize else grad
    if weight_decay != 0:
        g = g + _scalar(weight_decay, param) * param
    square_avg[...] = (square_avg * _scalar(alpha, param)
                       + _scalar(1 - alpha, param) * g * g)
    if centered:
        grad_avg[...] = _lerp(grad_avg, g, 1 - alpha)
        avg = np.sqrt(square_avg + _scalar(-1, param) * grad_avg * grad_avg)
    else:
        avg = np.sqrt(square_avg)
    avg = avg + _scalar(eps, param)
    if momentum > 0:
        momentum_buffer[...] = (momentum_buffer * _scalar(momentum, param)
                                + _scalar(1, param) * g / avg)
        param[...] = param + _scalar(-lr, param) * momentum_buffer
    else:
        param[...] = param + _scalar(-lr, param) * g / avg


@_float16_in_float32
def adam_(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, lr, beta1, beta2, eps,
          weight_decay, decoupled_weight_decay, amsgrad, maximize, step_size,
          bias_correction2_sqrt):
    """Adam (AdamW with ``decoupled_weight_decay``), PyTorch's form. With t the step count
    after increment, the caller computes ``step_size = lr / (1 - beta1**t)`` and
    ``bias_correction2_sqrt = (1 - beta2**t) ** 0.5``:

        g = -grad if maximize else grad
        AdamW: param = param * (1 - lr * weight_decay)        (if weight_decay != 0)
        Adam:  g = g + weight_decay * param                   (if weight_decay != 0)
        exp_avg = lerp(exp_avg, g, 1 - beta1)                 (= beta1 m + (1 - beta1) g)
        exp_avg_sq = exp_avg_sq * beta2 + (1 - beta2) * g * g
        amsgrad: max_exp_avg_sq = maximum(max_exp_avg_sq, exp_avg_sq);  v = max_exp_avg_sq
        else:    v = exp_avg_sq
        denom = sqrt(v) / bias_correction2_sqrt + eps
        param = param + (-step_size) * exp_avg / denom
    max_exp_avg_sq is None unless amsgrad.
    """
    grad = np.asarray(grad, dtype=param.dtype)
    g = -grad if maximize else grad
    if weight_decay != 0:
        if decoupled_weight_decay:
            param[...] = param * _scalar(1 - lr * weight_decay, param)
        else:
            g = g + _scalar(weight_decay, param) * param
    exp_avg[...] = _lerp(exp_avg, g, 1 - beta1)
    exp_avg_sq[...] = (exp_avg_sq * _scalar(beta2, param)
                       + _scalar(1 - beta2, param) * g * g)
    if amsgrad:
        np.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
        v = max_exp_avg_sq
    else:
        v = exp_avg_sq
    denom = np.sqrt(v) / _scalar(bias_correction2_sqrt, param) + _scalar(eps, param)
    param[...] = param + _scalar(-step_size, param) * exp_avg / denom


@_float16_in_float32
def nadam_(param, grad, exp_avg, exp_avg_sq, lr, beta1, beta2, eps, weight_decay,
           decoupled_weight_decay, maximize, bias_correction2, grad_coeff, exp_avg_coeff):
    """NAdam, PyTorch's form. The caller computes, with t the step count after increment,
    mu_t = beta1 (1 - 0.5 * 0.96**(t * momentum_decay)) and the running product
    mu_product = mu_1 ... mu_t: ``bias_correction2 = 1 - beta2**t``,
    ``grad_coeff = -lr (1 - mu_t) / (1 - mu_product)`` and
    ``exp_avg_coeff = -lr mu_{t+1} / (1 - mu_product mu_{t+1})``:

        g = -grad if maximize else grad
        decoupled: param = param * (1 - lr * weight_decay)    (if weight_decay != 0)
        else:      g = g + weight_decay * param               (if weight_decay != 0)
        exp_avg = lerp(exp_avg, g, 1 - beta1)
        exp_avg_sq = exp_avg_sq * beta2 + (1 - beta2) * g * g
        denom = sqrt(exp_avg_sq / bias_correction2) + eps
        param = param + grad_coeff * g / denom
        param = param + exp_avg_coeff * exp_avg / denom
    """
    grad = np.asarray(grad, dtype=param.dtype)
    g = -grad if maximize else grad
    if weight_decay != 0:
        if decoupled_weight_decay:
            param[...] = param * _scalar(1 - lr * weight_decay, param)
        else:
            g = g + _scalar(weight_decay, param) * param
    exp_avg[...] = _lerp(exp_avg, g, 1 - beta1)
    exp_avg_sq[...] = (exp_avg_sq * _scalar(beta2, param)
                       + _scalar(1 - beta2, param) * g * g)
    denom = np.sqrt(exp_avg_sq / _scalar(bias_correction2, param)) + _scalar(eps, param)
    param[...] = param + _scalar(grad_coeff, param) * g / denom
    param[...] = param + _scalar(exp_avg_coeff, param) * exp_avg / denom


@_float16_in_float32
def radam_(param, grad, exp_avg, exp_avg_sq, lr, beta1, beta2, eps, weight_decay,
           decoupled_weight_decay, maximize, bias_correction1, bias_correction2_sqrt, rect):
    """RAdam, PyTorch's form. The caller computes, with t the step count after increment,
    ``bias_correction1 = 1 - beta1**t``, ``bias_correction2_sqrt = (1 - beta2**t) ** 0.5`` and
    the rectification ``rect`` (> 0 once rho_t > 5, else 0: see RAdam's docstring):

        g = -grad if maximize else grad
        decoupled: param = param * (1 - lr * weight_decay)    (if weight_decay != 0)
        else:      g = g + weight_decay * param               (if weight_decay != 0)
        exp_avg = lerp(exp_avg, g, 1 - beta1)
        exp_avg_sq = exp_avg_sq * beta2 + (1 - beta2) * g * g
        m_hat = exp_avg / bias_correction1
        rect > 0:  param = param - m_hat * lr * (bias_correction2_sqrt
                                                 / (sqrt(exp_avg_sq) + eps)) * rect
        otherwise: param = param - m_hat * lr
    """
    grad = np.asarray(grad, dtype=param.dtype)
    g = -grad if maximize else grad
    if weight_decay != 0:
        if decoupled_weight_decay:
            param[...] = param * _scalar(1 - lr * weight_decay, param)
        else:
            g = g + _scalar(weight_decay, param) * param
    exp_avg[...] = _lerp(exp_avg, g, 1 - beta1)
    exp_avg_sq[...] = (exp_avg_sq * _scalar(beta2, param)
                       + _scalar(1 - beta2, param) * g * g)
    update = exp_avg / _scalar(bias_correction1, param) * _scalar(lr, param)
    if rect > 0:
        adaptive = _scalar(bias_correction2_sqrt, param) / (np.sqrt(exp_avg_sq)
                                                            + _scalar(eps, param))
        update = update * adaptive * _scalar(rect, param)
    param[...] = param - update


@_float16_in_float32
def adamax_(param, grad, exp_avg, exp_inf, beta1, beta2, eps, weight_decay, maximize, clr):
    """Adamax, PyTorch's form; ``clr = lr / (1 - beta1**t)`` is computed by the caller:

        g = -grad if maximize else grad
        g = g + weight_decay * param                          (if weight_decay != 0)
        exp_avg = lerp(exp_avg, g, 1 - beta1)
        exp_inf = maximum(exp_inf * beta2, |g| + eps)
        param = param + (-clr) * exp_avg / exp_inf
    """
    grad = np.asarray(grad, dtype=param.dtype)
    g = -grad if maximize else grad
    if weight_decay != 0:
        g = g + _scalar(weight_decay, param) * param
    exp_avg[...] = _lerp(exp_avg, g, 1 - beta1)
    exp_inf[...] = np.maximum(exp_inf * _scalar(beta2, param), np.abs(g) + _scalar(eps, param))
    param[...] = param + _scalar(-clr, param) * exp_avg / exp_inf


@_float16_in_float32
def adadelta_(param, grad, square_avg, acc_delta, lr, rho, eps, weight_decay, maximize):
    """Adadelta, PyTorch's form (with its learning rate, 1.0 by default):

        g = -grad if maximize else grad
        g = g + weight_decay * param                          (if weight_decay != 0)
        square_avg = square_avg * rho + (1 - rho) * g * g
        delta = sqrt(acc_delta + eps) / sqrt(square_avg + eps) * g
        acc_delta = acc_delta * rho + (1 - rho) * delta * delta
        param = param + (-lr) * delta
    """
    grad = np.asarray(grad, dtype=param.dtype)
    g = -grad if maximize else grad
    if weight_decay != 0:
        g = g + _scalar(weight_decay, param) * param
    rho_, one_minus_rho = _scalar(rho, param), _scalar(1 - rho, param)
    square_avg[...] = square_avg * rho_ + one_minus_rho * g * g
    std = np.sqrt(square_avg + _scalar(eps, param))
    delta = np.sqrt(acc_delta + _scalar(eps, param)) / std * g
    acc_delta[...] = acc_delta * rho_ + one_minus_rho * delta * delta
    param[...] = param + _scalar(-lr, param) * delta


@_float16_in_float32
def asgd_(param, grad, ax, eta, lambd, mu, weight_decay, maximize):
    """ASGD, PyTorch's form; eta and mu are the state's current values (the caller updates
    them after the step):

        g = -grad if maximize else grad
        g = g + weight_decay * param                          (if weight_decay != 0)
        param = param * (1 - lambd * eta)
        param = param + (-eta) * g
        ax = ax + (param - ax) * mu  if mu != 1,  else  ax = param
    """
    grad = np.asarray(grad, dtype=param.dtype)
    g = -grad if maximize else grad
    if weight_decay != 0:
        g = g + _scalar(weight_decay, param) * param
    param[...] = param * _scalar(1 - lambd * eta, param)
    param[...] = param + _scalar(-eta, param) * g
    if mu != 1:
        ax[...] = ax + (param - ax) * _scalar(mu, param)
    else:
        ax[...] = param


@_float16_in_float32
def rprop_(param, grad, prev, step_size, etaminus, etaplus, step_size_min, step_size_max,
           maximize):
    """Rprop, PyTorch's form:

        g = -grad if maximize else grad
        s = sign(g * prev)                                    (sign(NaN) = 0, as torch.sign)
        factor = etaplus where s > 0, etaminus where s < 0, 1 where s == 0
        step_size = clamp(step_size * factor, step_size_min, step_size_max)
        g = 0 where s < 0
        param = param - sign(g) * step_size
        prev = g
    """
    grad = np.asarray(grad, dtype=param.dtype)
    g = -grad if maximize else grad
    s = g * prev
    factor = np.where(s > 0, _scalar(etaplus, param),
                      np.where(s < 0, _scalar(etaminus, param), _scalar(1, param)))
    size = step_size * factor
    size = np.where(size < _scalar(step_size_min, param), _scalar(step_size_min, param), size)
    size = np.where(size > _scalar(step_size_max, param), _scalar(step_size_max, param), size)
    step_size[...] = size
    g = np.where(s < 0, _scalar(0, param), g)
    direction = (g > 0).astype(param.dtype) - (g < 0).astype(param.dtype)
    param[...] = param + (-direction) * step_size
    prev[...] = g


def bfloat16_round_(x):
    """Round a float32 array to the nearest bfloat16 values (ties to even), in place: keep
    the upper 16 bits of each float32 after adding half of the dropped part. A NaN becomes
    the quiet NaN 0x7FC00000, as c10::BFloat16 does. Used by Muon, whose Newton-Schulz
    iteration PyTorch runs in bfloat16.
    """
    if not (isinstance(x, np.ndarray) and x.dtype == np.float32):
        raise TypeError("bfloat16_round_: expected a float32 numpy array")
    native = np.ascontiguousarray(x, dtype=np.dtype(np.float32).newbyteorder("="))
    bits = native.view(np.uint32)
    rounded = (bits + np.uint32(0x7FFF) + ((bits >> np.uint32(16)) & np.uint32(1))) \
        & np.uint32(0xFFFF0000)
    is_nan = (bits & np.uint32(0x7FFFFFFF)) > np.uint32(0x7F800000)
    x[...] = np.where(is_nan, np.uint32(0x7FC00000), rounded).view(np.float32)


@_float16_in_float32
def adafactor_update_(update, grad, row_var, col_var, row_var_mean, batches, rows, cols,
                      eps1_squared):
    """Adafactor's update direction for a parameter of ``batches`` matrices of shape
    (rows, cols), written into ``update`` (PyTorch's order):

        v[b, i, j] = row_var[b, i] * col_var[b, j] / row_var_mean[b]     ((R @ C) / mean)
        v = max(v, eps1_squared)                                         (clamp, NaN kept)
        update[b, i, j] = (1 / sqrt(v)) * grad[b, i, j]
    """
    dtype = update.dtype
    g = np.asarray(grad, dtype=dtype).reshape(batches, rows, cols)
    r = np.asarray(row_var).reshape(batches, rows, 1)
    c = np.asarray(col_var).reshape(batches, 1, cols)
    m = np.asarray(row_var_mean).reshape(batches, 1, 1)
    v = r * c / m
    floor = _scalar(eps1_squared, update)
    v = np.where(v < floor, floor, v)
    update[...] = (_scalar(1, update) / np.sqrt(v) * g).reshape(update.shape)

# ---------------------------------------------------------------------------------------------
# Convolution and pooling (twins in _conv.pyx). Images are (N, C, H, W) arrays; 1-D ops run as
# 2-D ops on (N, C, 1, L). Every op is written for 2-D windows: ``kernel_size``, ``stride``,
# ``dilation`` and ``padding`` are pairs (height, width), the low (top/left) padding only unless
# said otherwise; the far side's padding is implied by the output size the caller computed.
#
# A window is read through "im2col": for output position (oh, ow) and kernel offset (i, j) the
# input element read is
#
#     x[n, c, oh * sh - ph + i * dh, ow * sw - pw + j * dw]     (zero outside the image).
#
# Convolution (cross-correlation, as in PyTorch) with ``groups`` G, C = G * Cg input and
# O = G * Og output channels, weight (O, Cg, kh, kw):
#
#     y[n, g*Og + o, oh, ow] = sum_{c, i, j} weight[g*Og + o, c, i, j] x[n, g*Cg + c, ...] + b
#
# i.e. a matrix product per group, weight (Og, Cg*kh*kw) @ cols (Cg*kh*kw, Ho*Wo). The pooling
# kernels take their windows as index tables, one per spatial dimension: ``rows`` (Ho, kh) holds
# the input row of each (output row, window row), -1 where the window reads padding, and
# ``cols`` (Wo, kw) the same for columns. One kernel then serves max pooling with padding,
# dilation and ceil_mode, and adaptive pooling (windows of varying size, padded with -1).
# ---------------------------------------------------------------------------------------------


def _padded_image(n, c, size, kernel_size, output_size, stride, padding, dilation, dtype):
    """Zeros large enough for every window read: the image sits at (ph, pw)."""
    extent = [max((o - 1) * s + (k - 1) * d + 1, p + m) if o > 0 else p + m
              for o, s, k, d, p, m in zip(output_size, stride, kernel_size, dilation, padding,
                                          size)]
    return np.zeros((n, c, extent[0], extent[1]), dtype=dtype)


def im2col(x, kernel_size, output_size, stride, padding, dilation):
    """The windows of x (N, C, H, W) as columns (N, C*kh*kw, Ho*Wo):

    cols[n, (c*kh + i)*kw + j, oh*Wo + ow] = x[n, c, oh*sh - ph + i*dh, ow*sw - pw + j*dw]
    (0 where that falls outside x). ``output_size`` (Ho, Wo) is the caller's.
    """
    n, c, h, w = x.shape
    (kh, kw), (ho, wo), (sh, sw) = kernel_size, output_size, stride
    (ph, pw), (dh, dw) = padding, dilation
    cols = np.zeros((n, c, kh, kw, ho, wo), dtype=x.dtype)
    if cols.size:
        padded = _padded_image(n, c, (h, w), kernel_size, output_size, stride, padding,
                               dilation, x.dtype)
        padded[:, :, ph:ph + h, pw:pw + w] = x
        for i in range(kh):
            for j in range(kw):
                cols[:, :, i, j] = padded[:, :, i * dh:i * dh + (ho - 1) * sh + 1:sh,
                                          j * dw:j * dw + (wo - 1) * sw + 1:sw]
    return cols.reshape(n, c * kh * kw, ho * wo)


def col2im(cols, input_size, kernel_size, output_size, stride, padding, dilation):
    """The transpose of im2col: columns (N, C*kh*kw, Ho*Wo) summed back into an image
    (N, C, H, W), each column entry added at the input position im2col read it from (entries
    that im2col read from the padding are dropped)."""
    n = cols.shape[0]
    (h, w), (kh, kw), (ho, wo), (sh, sw) = input_size, kernel_size, output_size, stride
    (ph, pw), (dh, dw) = padding, dilation
    c = cols.shape[1] // (kh * kw) if kh * kw else 0
    padded = _padded_image(n, c, (h, w), kernel_size, output_size, stride, padding, dilation,
                           cols.dtype)
    if ho * wo:
        windows = cols.reshape(n, c, kh, kw, ho, wo)
        for i in range(kh):
            for j in range(kw):
                padded[:, :, i * dh:i * dh + (ho - 1) * sh + 1:sh,
                       j * dw:j * dw + (wo - 1) * sw + 1:sw] += windows[:, :, i, j]
    return np.ascontiguousarray(padded[:, :, ph:ph + h, pw:pw + w])


def conv2d(x, weight, bias, stride, padding, dilation, groups):
    """y = conv(x, weight) + bias: x (N, C, H, W), weight (O, C/groups, kh, kw), bias (O,) or
    None, ``padding`` ((top, bottom), (left, right)); y (N, O, Ho, Wo) with
    Ho = (H + top + bottom - dh (kh - 1) - 1) // sh + 1 (and the same for Wo)."""
    n, _, h, w = x.shape
    o, cg, kh, kw = weight.shape
    (top, bottom), (left, right) = padding
    ho = (h + top + bottom - dilation[0] * (kh - 1) - 1) // stride[0] + 1
    wo = (w + left + right - dilation[1] * (kw - 1) - 1) // stride[1] + 1
    cols = im2col(x, (kh, kw), (ho, wo), stride, (top, left), dilation)
    cols = cols.reshape(n, groups, cg * kh * kw, ho * wo)
    y = np.matmul(weight.reshape(groups, o // groups, cg * kh * kw), cols)
    y = y.reshape(n, o, ho, wo)
    if bias is not None:
        y += bias.reshape(1, o, 1, 1)
    return y


def conv2d_input_grad(grad_output, weight, input_size, stride, padding, dilation, groups):
    """dL/dx of y = conv2d(x, weight) for g = dL/dy (N, O, Ho, Wo), x of spatial size
    ``input_size`` (H, W) (a transposed convolution of g):

    cols[n, g] = weight[g].T (Cg*kh*kw, Og) @ g[n, g] (Og, Ho*Wo),  dL/dx = col2im(cols).

    g may have fewer rows or columns than the convolution of an (H, W) image would give (a
    transposed convolution's output_padding): the missing outputs count as zero.
    """
    n, o, ho, wo = grad_output.shape
    _, cg, kh, kw = weight.shape
    w_t = np.swapaxes(weight.reshape(groups, o // groups, cg * kh * kw), 1, 2)
    cols = np.matmul(w_t, grad_output.reshape(n, groups, o // groups, ho * wo))
    return col2im(cols.reshape(n, groups * cg * kh * kw, ho * wo), input_size, (kh, kw),
                  (ho, wo), stride, (padding[0][0], padding[1][0]), dilation)


def conv2d_weight_grad(x, grad_output, kernel_size, stride, padding, dilation, groups):
    """dL/dweight of y = conv2d(x, weight) for g = dL/dy (N, O, Ho, Wo):

    dL/dweight[g] = sum_n g[n, g] (Og, Ho*Wo) @ cols[n, g].T (Ho*Wo, Cg*kh*kw),
    returned as (O, C/groups, kh, kw).
    """
    n, c = x.shape[:2]
    _, o, ho, wo = grad_output.shape
    kh, kw = kernel_size
    cg = c // groups
    cols = im2col(x, kernel_size, (ho, wo), stride, (padding[0][0], padding[1][0]), dilation)
    cols = cols.reshape(n, groups, cg * kh * kw, ho * wo)
    g = grad_output.reshape(n, groups, o // groups, ho * wo)
    grad_weight = np.matmul(g, np.swapaxes(cols, 2, 3)).sum(axis=0)
    return grad_weight.reshape(o, cg, kh, kw).astype(x.dtype, copy=False)


def conv2d_backward(grad_output, x, weight, stride, padding, dilation, groups, need_x,
                    need_weight, need_bias):
    """The three gradients of y = conv2d(x, weight) + bias for g = dL/dy, each only if asked
    for (else None): (conv2d_input_grad, conv2d_weight_grad, sum of g over (N, Ho, Wo))."""
    grad_x = grad_weight = grad_bias = None
    if need_x:
        grad_x = conv2d_input_grad(grad_output, weight, x.shape[2:], stride, padding, dilation,
                                   groups)
    if need_weight:
        grad_weight = conv2d_weight_grad(x, grad_output, weight.shape[2:], stride, padding,
                                         dilation, groups)
    if need_bias:
        grad_bias = grad_output.sum(axis=(0, 2, 3))
    return grad_x, grad_weight, grad_bias


def _window_positions(x, rows, cols):
    """Flat positions h*W + w (N-independent) of every window element, (Ho, Wo, kh*kw), and
    whether each lies inside the image."""
    w = x.shape[3]
    valid = (rows[:, None, :, None] >= 0) & (cols[None, :, None, :] >= 0)
    flat = np.maximum(rows, 0)[:, None, :, None] * w + np.maximum(cols, 0)[None, :, None, :]
    ho, wo = rows.shape[0], cols.shape[0]
    return flat.reshape(ho, wo, -1), valid.reshape(ho, wo, -1)


def max_pool2d(x, rows, cols):
    """Max over windows given by index tables (see the section's comment): returns
    (out (N, C, Ho, Wo), indices (N, C, Ho, Wo) int64), indices[n, c, oh, ow] = h*W + w of the
    maximum within its plane. As PyTorch: the first maximum in window order wins a tie, a NaN
    wins over any number (the last NaN if several), and a window of -inf (or of the dtype's
    least value) points at its first element inside the image."""
    n, c, h, w = x.shape
    flat, valid = _window_positions(x, rows, cols)
    values = x.reshape(n, c, h * w)[:, :, flat]                 # (N, C, Ho, Wo, K)
    if np.issubdtype(x.dtype, np.floating):
        lowest = -np.inf
    else:
        lowest = np.iinfo(x.dtype).min
    masked = np.where(valid, values, np.asarray(lowest, dtype=x.dtype))
    with np.errstate(invalid="ignore"):
        choice = np.argmax(np.where(np.isnan(masked), lowest, masked)
                           if masked.dtype.kind == "f" else masked, axis=-1)
        best = np.take_along_axis(masked, choice[..., None], -1)[..., 0]
        first_valid = np.argmax(valid, axis=-1)                   # (Ho, Wo)
        choice = np.where(best == lowest, first_valid, choice)   # nothing beat the start
        if masked.dtype.kind == "f":
            nan = np.isnan(masked)
            last_nan = nan.shape[-1] - 1 - np.argmax(nan[..., ::-1], axis=-1)
            choice = np.where(nan.any(axis=-1), last_nan, choice)
    indices = np.take_along_axis(np.broadcast_to(flat, values.shape), choice[..., None],
                                 -1)[..., 0].astype(np.int64)
    out = np.take_along_axis(values, choice[..., None], -1)[..., 0]
    return np.ascontiguousarray(out), np.ascontiguousarray(indices)


def pool_gather(x, indices):
    """out[n, c, oh, ow] = x[n, c].flat[indices[n, c, oh, ow]]: x (N, C, H, W), indices
    (N, C, Ho, Wo) of positions within a plane (as max_pool2d returns them)."""
    n, c, h, w = x.shape
    out = np.take_along_axis(x.reshape(n, c, h * w), indices.reshape(n, c, -1), axis=2)
    return out.reshape(indices.shape)


def pool_scatter(grad_output, indices, input_size):
    """The transpose of pool_gather: zeros (N, C, H, W) with grad_output[n, c, oh, ow] added
    at position indices[n, c, oh, ow] of plane (n, c) (adding where positions repeat)."""
    n, c = grad_output.shape[:2]
    h, w = input_size
    out = np.zeros((n, c, h * w), dtype=grad_output.dtype)
    planes = np.arange(n * c).reshape(n, c, 1)
    np.add.at(out.reshape(n * c, h * w), (planes, indices.reshape(n, c, -1)),
              grad_output.reshape(n, c, -1))
    return out.reshape(n, c, h, w)


def avg_pool2d(x, rows, cols, divisor):
    """Window sums over index tables (see the section's comment) divided by ``divisor``
    (Ho, Wo) (float64; the caller's count of the window, or divisor_override). Integer
    images divide with truncation toward zero, as PyTorch does."""
    n, c, h, w = x.shape
    flat, valid = _window_positions(x, rows, cols)
    values = x.reshape(n, c, h * w)[:, :, flat]
    if np.issubdtype(x.dtype, np.floating):
        sums = np.where(valid, values, 0).sum(axis=-1, dtype=x.dtype)
        return (sums / divisor.astype(x.dtype)).astype(x.dtype, copy=False)
    sums = np.where(valid, values, 0).sum(axis=-1, dtype=np.int64)
    d = divisor.astype(np.int64)
    return (np.sign(sums) * (np.abs(sums) // d)).astype(x.dtype)


def avg_pool2d_backward(grad_output, rows, cols, divisor, input_size):
    """The transpose of avg_pool2d: each grad_output[n, c, oh, ow] / divisor[oh, ow] added to
    every image element of its window. Returns (N, C, H, W)."""
    n, c = grad_output.shape[:2]
    h, w = input_size
    flat, valid = _window_positions(np.empty((0, 0, h, w)), rows, cols)
    share = grad_output / divisor.astype(grad_output.dtype)          # (N, C, Ho, Wo)
    contributions = np.where(valid, share[..., None], 0).astype(grad_output.dtype)
    out = np.zeros((n, c, h * w), dtype=grad_output.dtype)
    np.add.at(out, (slice(None), slice(None), flat), contributions)
    return out.reshape(n, c, h, w)
# ---------------------------------------------------------------------------------------------
# Reductions over axes. ``axis`` is None (all axes), an int, or a sorted tuple of distinct
# non-negative ints; inputs are float32 or float64, any layout. Cython fast paths
# (minigrad/_kernels/_reduce.pyx): C-contiguous input reduced over all axes, over trailing
# axes or over leading axes.
# ---------------------------------------------------------------------------------------------


def reduce_axes(x, axis, op, keepdims):
    """The sum, mean, max, min, prod or nansum (``op``) of x over ``axis``, in x's dtype; max
    and min propagate NaN, nansum counts NaN as 0. The mean needs at least one element per
    slice."""
    if op == "mean":
        return np.asarray(np.mean(x, axis=axis, keepdims=keepdims))
    if op == "nansum":
        with np.errstate(invalid="ignore"):  # inf + -inf is NaN, silently as in PyTorch
            return np.asarray(np.add.reduce(np.where(np.isnan(x), 0, x), axis=axis,
                                            keepdims=keepdims), dtype=x.dtype)
    if op == "prod":
        with np.errstate(invalid="ignore", over="ignore", under="ignore"):  # 0 * inf, silently
            return np.asarray(np.multiply.reduce(x, axis=axis, keepdims=keepdims))
    # The ufuncs' own reduce: what np.sum/np.amax call, without their ~1.5 us of dispatch.
    reduce = _REDUCE_UFUNCS[op].reduce
    return np.asarray(reduce(x, axis=axis, keepdims=keepdims))


_REDUCE_UFUNCS = {"sum": np.add, "max": np.maximum, "min": np.minimum, "prod": np.multiply}


def extreme_all(x, largest):
    """The max (``largest``) or min of every element of a non-empty array, NaN if any is NaN
    (as a 0-d array of x's dtype): reduce_axes(x, None, 'max' or 'min', False)."""
    return np.asarray((np.maximum if largest else np.minimum).reduce(x, axis=None))


def extreme_pair(x):
    """(min, max) of every element of a non-empty array, both NaN if any is NaN, as two 0-d
    arrays of x's dtype: extreme_all both ways."""
    return extreme_all(x, False), extreme_all(x, True)


def sum_backward(grad, shape, axis, keepdims):
    """The gradient of a sum over ``axis`` (None: all axes): ``grad`` (the sum's shape)
    copied to every summed element of an array of ``shape`` (a new array)."""
    if not keepdims and axis is not None:
        grad = np.expand_dims(grad, axis)
    out = np.empty(shape, dtype=grad.dtype)
    out[...] = grad
    return out


def arg_extreme(x, axis, largest):
    """The index of the first maximal (``largest``) or minimal element along ``axis`` (an
    int), a NaN counting as the extreme (numpy's and PyTorch's rule); int64, the axis
    removed. Every slice has at least one element."""
    found = x.argmax(axis=axis) if largest else x.argmin(axis=axis)  # methods: 1 us less
    return np.asarray(found, dtype=np.int64)


def norm2_all(x):
    """sqrt(sum x^2) over every element of a float array, in x's dtype (an overflow gives
    inf), as a 0-d array."""
    flat = x.reshape(-1)
    with np.errstate(over="ignore", invalid="ignore"):
        return np.asarray(np.sqrt(np.dot(flat, flat)), dtype=x.dtype)


def var_axes(x, axis, correction, keepdims):
    """sum((x - mean)^2) / max(n - correction, 0) over ``axis``, accumulated and returned in
    float64 (two passes: the mean, then the squared deviations from it; the caller rounds to
    x's dtype, after a square root for std). 0/0 gives NaN and c/0 gives inf, silently, as
    in PyTorch."""
    x64 = x.astype(np.float64, copy=False)
    n = x.size if axis is None else int(np.prod([x.shape[a] for a in np.atleast_1d(axis)]))
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.sum(x64, axis=axis, keepdims=True) / n if n else 0.0
        centered = x64 - mean
        out = np.sum(centered * centered, axis=axis, keepdims=keepdims) / max(n - correction, 0)
    return np.asarray(out, dtype=np.float64)


def moments_axes(x, axis, correction, keepdims, root):
    """(var_axes rounded to x's dtype, after its square root with ``root``; the mean as
    reduce_axes gives it): what var_mean and std_mean return, each equal to what var/std and
    mean give alone."""
    var = var_axes(x, axis, correction, keepdims)
    spread = np.asarray(np.sqrt(var) if root else var, dtype=x.dtype)
    if x.size == 0:  # numpy's mean warns about an empty slice; PyTorch's is NaN
        mean = np.full(spread.shape, np.nan, dtype=x.dtype)
    else:
        mean = reduce_axes(x, axis, "mean", keepdims)
    return spread, mean


def cumsum(x, axis, reverse=False):
    """Running sums along ``axis`` in x's dtype (``reverse``: from the last element
    backwards)."""
    if reverse:
        flip = (slice(None),) * axis + (slice(None, None, -1),)
        return np.cumsum(x[flip], axis=axis)[flip]
    return np.cumsum(x, axis=axis)


def cumprod(x, axis):
    """Running products along ``axis`` in x's dtype."""
    return np.cumprod(x, axis=axis)


def cumulative_extreme_indices(x, axis, largest):
    """For each position k along ``axis``, the index of the running maximum (``largest``) or
    minimum of x[..., :k+1, ...], by PyTorch's rule: element k takes over when it is NaN, or
    when the running value is not NaN and x_k >= it (<= for the minimum). int64."""
    n = x.shape[axis]
    indices = np.zeros(x.shape, dtype=np.int64)
    if n == 0 or x.size == 0:
        return indices
    running = (np.maximum if largest else np.minimum).accumulate(x, axis=axis)
    head = (slice(None),) * axis
    previous = running[head + (slice(0, n - 1),)]
    current = x[head + (slice(1, n),)]
    with np.errstate(invalid="ignore"):
        update = current >= previous if largest else current <= previous
    if x.dtype.kind == "f":
        update = (update & ~np.isnan(previous)) | np.isnan(current)
    shape = [1] * x.ndim
    shape[axis] = n
    positions = np.broadcast_to(np.arange(n).reshape(shape), x.shape)
    indices[head + (slice(1, n),)] = np.where(update, positions[head + (slice(1, n),)], 0)
    return np.maximum.accumulate(indices, axis=axis)


def cumulative_extreme(x, axis, largest):
    """(values, indices): cumulative_extreme_indices and x gathered at them (x's dtype), the
    running maximum (``largest``) or minimum along ``axis`` with PyTorch's index rule."""
    indices = cumulative_extreme_indices(x, axis, largest)
    return np.take_along_axis(x, indices, axis=axis), indices


# ---------------------------------------------------------------------------------------------
# Gathers and scatters along an axis, and the scatter that is the gradient of indexing.
# Indices are integer arrays already checked to lie in range (negative values only where
# numpy indexing allows them); the shapes agree as stated. Cython fast paths
# (minigrad/_kernels/_index.pyx): C-contiguous float arrays and int64 indices.
# ---------------------------------------------------------------------------------------------


def index_range(indices):
    """(smallest, largest) of a non-empty integer array, as Python ints (the bounds check of
    every gather and scatter: one pass instead of two)."""
    return int(indices.min()), int(indices.max())


def index_select(x, indices, axis):
    """x's slices at ``indices`` (a 1-D integer array, in range) along ``axis``: PyTorch's
    index_select, x[..., indices, ...] (a new array)."""
    return np.take(x, indices, axis=axis)


def take_along_axis(x, indices, axis):
    """out[..., j, ...] = x[..., indices[..., j, ...], ...] along ``axis``; indices has x's
    shape except along ``axis`` (PyTorch's gather, once the caller has cut x to the extent of
    indices in the other axes). Indices lie in [0, x.shape[axis])."""
    return np.take_along_axis(x, indices, axis=axis)


def scatter_along_axis(grad, indices, axis, shape):
    """Zeros of ``shape`` with grad[..., j, ...] added at indices[..., j, ...] along ``axis``
    (repeated indices add up: the gradient of take_along_axis); grad and indices share a
    shape no larger than ``shape`` except along ``axis``. Indices lie in [0, shape[axis])."""
    out = np.zeros(shape, dtype=grad.dtype)
    index = list(np.ix_(*[np.arange(n) for n in indices.shape]))
    index[axis] = indices
    np.add.at(out, tuple(index), grad)
    return out


def put_along_axis(x, indices, values, axis):
    """A copy of x with values[..., j, ...] written at indices[..., j, ...] along ``axis``
    (PyTorch's scatter; values and indices share a shape no larger than x's except along
    ``axis``; of repeated indices the last value written stays)."""
    out = np.array(x, copy=True)
    index = list(np.ix_(*[np.arange(n) for n in indices.shape]))
    index[axis] = indices
    out[tuple(index)] = values
    return out


def scatter_add_along_axis(x, indices, values, axis):
    """A copy of x with values[..., j, ...] added at indices[..., j, ...] along ``axis``
    (PyTorch's scatter_add; values and indices share a shape no larger than x's except along
    ``axis``; repeated indices add up)."""
    out = np.array(x, copy=True)
    index = list(np.ix_(*[np.arange(n) for n in indices.shape]))
    index[axis] = indices
    np.add.at(out, tuple(index), values)
    return out


def scatter_reduce(x, src, indices, axis, reduce, include_self):
    """x with src reduced (sum, prod, mean, amax, amin) into the positions ``indices`` name
    along ``axis`` (PyTorch's scatter_reduce; src already cut to indices' shape, indices in
    range). Without ``include_self`` x's own values at those positions take no part; the
    mean of integers rounds down."""
    out = np.array(x, copy=True)
    positions = list(np.ix_(*[np.arange(n) for n in indices.shape]))
    positions[axis] = indices
    positions = tuple(positions)
    if not include_self:
        if reduce in ("sum", "mean"):
            out[positions] = 0
        elif reduce == "prod":
            out[positions] = 1
        elif out.dtype.kind == "f":
            out[positions] = -np.inf if reduce == "amax" else np.inf
        elif out.dtype.kind == "b":
            out[positions] = reduce == "amin"
        else:
            info = np.iinfo(out.dtype)
            out[positions] = info.min if reduce == "amax" else info.max
    ufunc = {"sum": np.add, "mean": np.add, "prod": np.multiply, "amax": np.maximum,
             "amin": np.minimum}[reduce]
    ufunc.at(out, positions, src)
    if reduce == "mean":
        count = np.zeros(out.shape, dtype=np.int64)
        np.add.at(count, positions, 1)
        count = np.maximum(count + (1 if include_self else 0), 1).astype(out.dtype)
        if out.dtype.kind == "f":
            out /= count
        else:
            out //= count
    return out


def index_add(x, indices, values, axis):
    """A copy of x with values' slices added at ``indices`` (a 1-D integer array, in range)
    along ``axis``, repeated indices adding up: PyTorch's index_add (values has x's shape
    except along ``axis``, where it has one slice per index)."""
    out = np.array(x, copy=True)
    np.add.at(out, (slice(None),) * axis + (indices,), values)
    return out


def index_copy(x, indices, values, axis):
    """A copy of x with values' slices written at ``indices`` (a 1-D integer array, in range)
    along ``axis``: PyTorch's index_copy (values has x's shape except along ``axis``, where it
    has one slice per index; of repeated indices the last slice written stays)."""
    out = np.array(x, copy=True)
    out[(slice(None),) * axis + (indices,)] = values
    return out


def unique_values(x):
    """The distinct values of x (any shape, read flat), sorted, as a 1-D array (NaN values
    all distinct, as in PyTorch): ``unique`` without inverse or counts."""
    return np.unique(x.reshape(-1), equal_nan=False)


def masked_select(x, mask):
    """The elements of x where ``mask`` (bool, x's shape) is True, in order, as a 1-D
    array: x[mask]."""
    return x[mask]


def masked_scatter(x, mask, source):
    """A copy of x with the positions where ``mask`` (bool, x's shape) is True filled, in
    order, with the first elements of ``source`` (read flat): PyTorch's masked_scatter. None
    if source has fewer elements than mask has True values (the caller raises)."""
    count = np.count_nonzero(mask)
    flat = source.reshape(-1)
    if count > flat.size:
        return None
    out = np.array(x, copy=True)
    out[mask] = flat[:count]
    return out


def scatter_index(grad, index, shape):
    """Zeros of ``shape`` with ``grad`` added at the positions ``x[index]`` reads from an x of
    ``shape`` (repeated positions add up: the gradient of indexing). ``index`` is a numpy
    index already checked by the forward indexing."""
    out = np.zeros(shape, dtype=grad.dtype)
    layout = _index_layout(index, shape)
    if layout is not None:
        lead, count, flat = layout
        rows = out.reshape(_three_axes(shape, lead, count))
        np.add.at(rows, (slice(None), flat),
                  np.ascontiguousarray(grad).reshape(_three_axes(shape, lead, count, flat.size)))
    elif _is_advanced(index):
        np.add.at(out, index, grad)
    else:
        out[index] = grad
    return out


def _is_advanced(index):
    parts = index if isinstance(index, tuple) else (index,)
    return any(isinstance(p, np.ndarray) for p in parts)


def _three_axes(shape, lead, count, middle=None):
    """(prod(shape[:lead]), prod(shape[lead:lead+count]) or ``middle``, prod(the rest))."""
    outer = int(np.prod(shape[:lead], dtype=np.int64))
    inner = int(np.prod(shape[lead + count:], dtype=np.int64))
    if middle is None:
        middle = int(np.prod(shape[lead:lead + count], dtype=np.int64))
    return (outer, middle, inner)


def _index_layout(index, shape):
    """If ``x[index]`` reads whole rows of x seen as (A, R, B) -- full slices, then adjacent
    integer (or one boolean) arrays over ``count`` axes from axis ``lead``, then full slices
    -- return (lead, count, flat): flat is the int64 row number in [0, R) of each selected
    element, in the result's order (so the result is (A, flat.size, B)). Else None."""
    parts = index if isinstance(index, tuple) else (index,)
    full = slice(None)
    lead = 0
    while lead < len(parts) and isinstance(parts[lead], slice) and parts[lead] == full:
        lead += 1
    arrays = []
    end = lead
    while end < len(parts) and isinstance(parts[end], np.ndarray):
        arrays.append(parts[end])
        end += 1
    if not arrays or any(not (isinstance(p, slice) and p == full) for p in parts[end:]):
        return None
    if any(a.dtype.kind == "b" for a in arrays):
        if len(arrays) != 1:
            return None
        mask = arrays[0]
        count = mask.ndim
        if mask.shape != tuple(shape[lead:lead + count]):
            return None
        return lead, count, np.flatnonzero(mask)
    count = len(arrays)
    if lead + count > len(shape):
        return None
    dims = tuple(shape[lead:lead + count])
    if count == 1:
        flat = arrays[0].reshape(-1).astype(np.int64, copy=False)
        if flat.size and flat.min() < 0:
            flat = np.where(flat < 0, flat + dims[0], flat)
        return lead, 1, flat
    arrays = np.broadcast_arrays(*arrays)
    flat = np.ravel_multi_index(tuple(a.reshape(-1) for a in arrays), dims, mode="wrap")
    return lead, count, flat.astype(np.int64, copy=False)


# ---------------------------------------------------------------------------------------------
# Layer normalisation of x (M, D) along its rows (statistics in float64 for both dtypes;
# weight and bias (D,) or None), and softmax / log-softmax over the last dimension. Cython fast
# paths (minigrad/_kernels/_norm.pyx): C-contiguous float arrays of one dtype.
# ---------------------------------------------------------------------------------------------


def layer_norm_forward(x, weight, bias, eps):
    """(y, mean, inv_std): per row, the mean (M,) and biased variance of x, inv_std (M,) =
    1/sqrt(var + eps), and y = (x - mean) inv_std weight + bias (weight/bias may be None)."""
    mean = np.mean(x, axis=1, keepdims=True, dtype=np.float64)
    centered = x - mean
    var = np.mean(np.square(centered), axis=1, keepdims=True)
    inv_std = 1.0 / np.sqrt(var + eps)
    mean, inv_std = mean.astype(x.dtype), inv_std.astype(x.dtype)
    y = (x - mean) * inv_std
    if weight is not None:
        y *= weight
    if bias is not None:
        y += bias
    return y, mean.reshape(-1), inv_std.reshape(-1)


def layer_norm_backward(grad, x, mean, inv_std, weight, need_x, need_weight, need_bias):
    """(grad_x, grad_weight, grad_bias) of layer_norm_forward, None where not needed: with
    x_hat = (x - mean) inv_std and dxh = grad weight, grad_x = inv_std / D (D dxh - sum(dxh)
    - x_hat sum(dxh x_hat)) per row; grad_weight = sum over rows of grad x_hat; grad_bias =
    sum over rows of grad."""
    dtype = x.dtype
    x_hat = (x - mean[:, None]) * inv_std[:, None]
    grad_weight = np.sum(grad * x_hat, axis=0, dtype=np.float64).astype(dtype) \
        if need_weight else None
    grad_bias = np.sum(grad, axis=0, dtype=np.float64).astype(dtype) if need_bias else None
    grad_x = None
    if need_x:
        d = x.shape[1]
        dxh = grad if weight is None else grad * weight
        sum_dxh = np.sum(dxh, axis=1, keepdims=True, dtype=np.float64)
        sum_dxh_xh = np.sum(dxh * x_hat, axis=1, keepdims=True, dtype=np.float64)
        grad_x = (inv_std.astype(np.float64)[:, None] / d
                  * (d * dxh - sum_dxh - x_hat * sum_dxh_xh)).astype(dtype)
    return grad_x, grad_weight, grad_bias


def softmax_along(x, dim, log):
    """softmax of x (float) along ``dim`` (0 <= dim < max(x.ndim, 1)), or log_softmax if
    ``log``: with m the maximum along dim and s = sum(exp(x - m)), y = exp(x - m) / s, or
    y = (x - m) - log(s) (no overflow for any finite x). A new array."""
    if x.ndim == 0 or x.size == 0:
        return (np.zeros_like(x) if log else np.ones_like(x)) if x.ndim == 0 else x.copy()
    shifted = x - np.max(x, axis=dim, keepdims=True)
    if log:
        return shifted - np.log(np.sum(np.exp(shifted), axis=dim, keepdims=True))
    e = np.exp(shifted)
    return e / np.sum(e, axis=dim, keepdims=True)


def softmax_along_backward(y, grad, dim, log):
    """dL/dx of ``softmax_along`` from its output y and grad = dL/dy (one shape): y (g -
    sum(g y)) for softmax, g - exp(y) sum(g) for log_softmax, the sums along ``dim``. A new
    array."""
    if log:
        return grad - np.exp(y) * np.sum(grad, axis=dim, keepdims=True)
    return y * (grad - np.sum(grad * y, axis=dim, keepdims=True))


# ---------------------------------------------------------------------------------------------
# Selections along the rows of a C-contiguous (m, n) array (the Python layer moves the selected
# dim last), and the coordinates of the non-zero elements. Compiled twins in _select.pyx.
# ---------------------------------------------------------------------------------------------


def mode_indices(rows):
    """Per row (n >= 1): the last index of the most frequent value, the smallest of the most
    frequent on a tie; NaN never equals NaN (each NaN is a run of one, sorted last)."""
    m, n = rows.shape
    ordered = np.sort(rows, axis=1)
    positions = np.arange(n)
    starts = np.ones(rows.shape, dtype=bool)
    starts[:, 1:] = ordered[:, 1:] != ordered[:, :-1]
    run_start = np.maximum.accumulate(np.where(starts, positions, 0), axis=1)
    best = np.argmax(positions - run_start, axis=1)  # the end of the first longest run
    value = ordered[np.arange(m), best]
    last = n - 1 - np.argmax((rows == value[:, None])[:, ::-1], axis=1)
    return last.astype(np.int64, copy=False)


def topk_indices(rows, k, largest):
    """Per row: the indices of the k largest (smallest) elements, best first, equal elements
    in index order, NaN the largest value; int64 (m, k)."""
    n = rows.shape[1]
    if largest:  # a stable ascending sort of the reversed row, reversed: ties in index order
        order = (n - 1) - np.argsort(rows[:, ::-1], axis=1, kind="stable")[:, ::-1]
    else:
        order = np.argsort(rows, axis=1, kind="stable")
    return np.ascontiguousarray(order[:, :k], dtype=np.int64)


def nonzero_coords(mask):
    """The coordinates of the True elements of a bool array (ndim >= 1), in C order; int64
    (count, ndim)."""
    return np.argwhere(mask).astype(np.int64, copy=False)


def stable_argsort_f32(rows):
    """Per row of a float32 (m, n) array: the stable ascending argsort (NaN last, -0.0 equal
    to 0.0); int64."""
    return np.argsort(rows, axis=1, kind="stable").astype(np.int64, copy=False)


def _gt_or_nan(x, y):
    """x comes after y in ascending order, NaN the largest value (PyTorch's comparison)."""
    return x > y or (_isnan(x) and not _isnan(y))


def _isnan(x):
    return isinstance(x, float) and math.isnan(x)


def _torch_quickselect(values, k):
    """The index that PyTorch's CPU quickselect (Sedgewick's, median of three pivots, NaN the
    largest value) leaves at position k of a copy of ``values`` (a 1-D array)."""
    v, ix = values.tolist(), list(range(len(values)))

    def swap(a, b):
        v[a], v[b] = v[b], v[a]
        ix[a], ix[b] = ix[b], ix[a]

    low, high = 0, len(v) - 1
    while high > low:
        if high == low + 1:
            if _gt_or_nan(v[low], v[high]):
                swap(low, high)
            break
        swap((low + high) >> 1, low + 1)
        for a, b in ((low + 1, high), (low, high), (low + 1, low)):
            if _gt_or_nan(v[a], v[b]):
                swap(a, b)
        i, j, pivot = low + 1, high, v[low]
        while True:
            i += 1
            while _gt_or_nan(pivot, v[i]):
                i += 1
            j -= 1
            while _gt_or_nan(v[j], pivot):
                j -= 1
            if j < i:
                break
            swap(i, j)
        swap(low, j)
        if j <= k:
            low = i
        if j >= k:
            high = j - 1
    return ix[k]


def kthvalue_indices(rows, k):
    """Per row: the index of the k-th smallest element (k from 0; NaN the largest value), the
    one of several equal elements that PyTorch's kthvalue picks (what its quickselect leaves
    at position k); int64 (m,). 0 <= k < n. A row whose selected value occurs once has one
    answer (argpartition's); only rows with ties there replay the quickselect."""
    picked = np.argpartition(rows, k, axis=1)[:, k] if rows.size else np.zeros(0, np.int64)
    value = rows[np.arange(rows.shape[0]), picked][:, None]
    equal = rows == value
    if rows.dtype.kind in "fc":
        equal |= np.isnan(rows) & np.isnan(value)
    for r in np.flatnonzero(equal.sum(axis=1) > 1):
        picked[r] = _torch_quickselect(rows[r], k)
    return picked.astype(np.int64, copy=False)


def median_indices(rows):
    """Per row (n >= 1): the index of the first NaN if the row has one, else of the element
    at position (n - 1) // 2 of its stable ascending sort (PyTorch's median along a dim);
    int64 (m,)."""
    order = np.argsort(rows, axis=1, kind="stable")
    picked = order[:, (rows.shape[1] - 1) // 2]
    if rows.dtype.kind in "fc":
        nan = np.isnan(rows)
        picked = np.where(nan.any(axis=1), np.argmax(nan, axis=1), picked)
    return picked.astype(np.int64, copy=False)


def median_all(x):
    """The lower median of all the elements of a non-empty float array (the first NaN if it
    holds one), as a 0-d array of its dtype: the element median_indices picks in x flattened
    to one row (which of 0.0 and -0.0, which NaN)."""
    flat = x.reshape(1, -1)
    return np.array(flat[0, median_indices(flat)[0]])


# ---------------------------------------------------------------------------------------------
# expand (compiled in _shape)
# ---------------------------------------------------------------------------------------------


def expand(x, shape):
    """x broadcast to ``shape`` (a read-only view: stride 0 along the new leading axes and the
    stretched size-1 axes)."""
    return np.broadcast_to(x, shape)


# ---------------------------------------------------------------------------------------------
# Outer products (compiled in _shape)
# ---------------------------------------------------------------------------------------------


def outer(a, b):
    """out[i, j] = a[i] * b[j] for 1-D a (n,) and b (m,) of one dtype -> (n, m)."""
    return np.multiply.outer(a, b)


def addr(input, vec1, vec2, beta, alpha):
    """beta * input + alpha * outer(vec1, vec2) -> (n, m), computed as
    beta * input[i, j] + (alpha * vec1[i]) * vec2[j]: input (None when beta is 0, so that
    its NaN and inf do not reach the result) broadcasts to (n, m); one dtype throughout."""
    out = np.multiply.outer(vec1 if alpha == 1 else vec1 * alpha, vec2)
    if input is not None:
        out += input if beta == 1 else input * beta
    return out


def arange_values(start, step, count, dtype):
    """``count`` values start + i * step, each computed in double (the product rounded, then
    the sum) and then converted to ``dtype``, as PyTorch's arange does."""
    return (float(start) + float(step) * np.arange(max(count, 0), dtype=np.float64)
            ).astype(dtype)


def tril(x, k):
    """x with the elements above diagonal k of its last two axes zeroed, as np.tril (a new
    array; row i keeps columns 0 .. i + k)."""
    return np.tril(x, k)


def triu(x, k):
    """x with the elements below diagonal k of its last two axes zeroed, as np.triu (a new
    array; row i keeps columns i + k .. the last)."""
    return np.triu(x, k)


def flip(x, axes):
    """x reversed along ``axes`` (a new C-contiguous array): Flip's forward and backward."""
    return np.flip(x, axes).copy()


def full_values(shape, value, dtype):
    """A new array of ``shape`` and ``dtype`` holding ``value`` everywhere (np.full)."""
    return np.full(shape, value, dtype=dtype)


def fill_values(x, value):
    """Every element of x set to ``value``, in place (ndarray.fill); returns x."""
    x.fill(value)
    return x


def spaced(start, end, steps, dtype):
    """``steps`` (>= 2) values from start to end in the float ``dtype``, as PyTorch's linspace:
    the first steps // 2 count up from start, out[i] = start + i * step, the rest down from
    end, out[i] = end - (steps - 1 - i) * step, so both ends are exact; step = (end - start) /
    (steps - 1), every operation in ``dtype``."""
    lo, hi = dtype.type(start), dtype.type(end)
    step = (hi - lo) / dtype.type(steps - 1)
    half = steps // 2
    out = np.empty(steps, dtype=dtype)
    with np.errstate(all="ignore"):
        np.multiply(np.arange(half, dtype=dtype), step, out=out[:half])
        out[:half] += lo
        np.multiply(np.arange(steps - 1 - half, -1, -1, dtype=dtype), step, out=out[half:])
        np.subtract(hi, out[half:], out=out[half:])
    return out


# ---------------------------------------------------------------------------------------------
# Random fills, in place, from a numpy Generator (compiled twins in _random.pyx draw the same
# stream through numpy's own C functions).
# ---------------------------------------------------------------------------------------------


def uniform_fill(rng, out):
    """out[...] = samples uniform on [0, 1) in out's dtype (float32 or float64); returns out."""
    out[...] = rng.random(out.shape, dtype=out.dtype.newbyteorder("="))
    return out


def uniform_range_fill(rng, out, low, high):
    """out[...] = U * (high - low) + low, U uniform on [0, 1) in out's dtype (float32 or
    float64), the width and low rounded to that dtype first; returns out."""
    uniform_fill(rng, out)
    out *= out.dtype.type(high - low)
    out += out.dtype.type(low)
    return out


def _box_muller(u1, u2):
    """Two independent standard normals from two uniforms on [0, 1): r cos t and r sin t with
    r = sqrt(-2 log(1 - u1)) (1 - u1 > 0, so the log is finite) and t = 2 pi u2."""
    dt = u1.dtype.type
    r = np.sqrt(dt(-2.0) * np.log(dt(1.0) - u1))
    t = dt(2 * np.pi) * u2
    return r * np.cos(t), r * np.sin(t)


def normal_fill(rng, out, mean=0.0, std=1.0):
    """out[...] = N(mean, std^2) samples in out's dtype (float32 or float64): standard normals
    times std, plus mean, each step rounded to the dtype and skipped when it is the identity;
    returns out.

    Box-Muller, as PyTorch's CPU sampler (numpy's ziggurat draws one sample at a time and is
    three times slower than a vectorized transform): n + n % 2 uniforms are drawn in out's
    dtype, and within each block of 256 (the last block: what is left, plus the odd one) the
    first half is paired with the second: block[j], block[h + j] = _box_muller(u[j], u[h + j]).
    """
    dtype = out.dtype.newbyteorder("=")
    n = out.size
    u = rng.random(n + n % 2, dtype=dtype)
    z = np.empty_like(u)
    full = n - n % 256
    if full:
        blocks = u[:full].reshape(-1, 2, 128)
        a, b = _box_muller(blocks[:, 0], blocks[:, 1])
        z[:full] = np.stack([a, b], axis=1).reshape(-1)
    h = (u.size - full) // 2
    z[full:full + h], z[full + h:] = _box_muller(u[full:full + h], u[full + h:])
    z = z[:n]
    if std != 1:
        z *= dtype.type(std)
    if mean != 0:
        z += dtype.type(mean)
    out[...] = z.reshape(out.shape)
    return out


def exponential_fill(rng, out):
    """out[...] = standard exponential samples in out's dtype (float32 or float64); returns
    out."""
    out[...] = rng.standard_exponential(out.shape, dtype=out.dtype.newbyteorder("="))
    return out


def poisson_sample(rng, lam):
    """Poisson samples of rates ``lam`` (an array), as an array of lam's dtype."""
    return rng.poisson(lam).astype(lam.dtype)


def bernoulli_fill(rng, out, p):
    """out[...] = 1 where U < p, else 0, for U uniform on [0, 1) (doubles, rng.random), in
    out's dtype; returns out."""
    out[...] = rng.random(out.shape) < p
    return out


def permutation(rng, n):
    """A random permutation of 0 .. n-1 (n >= 0) as int64, by the inside-out Fisher-Yates
    shuffle: out[0] = 0, then for i = 1 .. n-1, j = min(floor(U * (i + 1)), i) for doubles U
    uniform on [0, 1) (rng.random, one per i), out[i] = out[j] and out[j] = i. (The swaps
    depend on each other: a Python loop, slow but plain.)"""
    if n < 0:
        raise ValueError(f"negative dimensions are not allowed: {n}")
    bounds = np.arange(1, n, dtype=np.int64)  # i = 1 .. n-1
    picks = (rng.random(max(n - 1, 0)) * (bounds + 1)).astype(np.int64)
    np.minimum(picks, bounds, out=picks)
    out = [0] * n
    for i, j in enumerate(picks.tolist(), start=1):
        out[i] = out[j]
        out[j] = i
    return np.array(out, dtype=np.int64)


def multinomial_with_replacement(rng, weights, num_samples):
    """(rows, num_samples) int64 category indices drawn with replacement from each row of the
    2-D ``weights`` (rows, categories >= 1; num_samples >= 1), by the inverse CDF: the row's
    cumulative sums in double, c[k] = w[0] + ... + w[k], and for each sample u = U * c[-1]
    (doubles U uniform on [0, 1), rng.random's stream, row by row) the number of c[k] <= u,
    capped at the row's last category of positive weight (u may round up to c[-1]). None,
    with nothing drawn, if a weight is negative, NaN or infinite or a row has no positive
    weight."""
    w = np.asarray(weights, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        if not ((w >= 0) & (w <= np.finfo(np.float64).max)).all() or \
                not (w > 0).any(axis=1).all():
            return None
    rows, categories = w.shape
    cdf = np.cumsum(w, axis=1)
    u = rng.random((rows, num_samples)) * cdf[:, -1:]
    out = np.empty((rows, num_samples), dtype=np.int64)
    for r in range(rows):
        out[r] = np.searchsorted(cdf[r], u[r], side="right")
    last = categories - 1 - np.argmax(w[:, ::-1] > 0, axis=1)
    np.minimum(out, last[:, None], out=out)
    return out


def multinomial_without_replacement(rng, weights, num_samples):
    """(rows, num_samples) int64 category indices drawn without replacement from each row of
    the 2-D ``weights`` (rows, categories; 1 <= num_samples <= categories), by the
    exponential race: with E = rng.standard_exponential((rows, categories)) (float64) the
    keys E / w, and each row's num_samples smallest keys in increasing order. That is the
    sequential draw (each draw follows the weights of the categories not drawn yet): the
    smallest of independent Exponential(w_k) variables E_k / w_k is the k-th with probability
    w_k / sum(w), and the others, given it, are again independent exponentials. None, with
    nothing drawn, if a weight is negative, NaN or infinite or a row has fewer than
    num_samples positive weights."""
    w = np.asarray(weights, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        if not ((w >= 0) & (w <= np.finfo(np.float64).max)).all() or \
                ((w > 0).sum(axis=1) < num_samples).any():
            return None
    rows, categories = w.shape
    with np.errstate(divide="ignore", invalid="ignore"):
        keys = rng.standard_exponential((rows, categories)) / w
    keys[np.isnan(keys)] = np.inf  # 0 / 0: a zero weight, never drawn before a positive one
    if num_samples < categories:
        part = np.argpartition(keys, num_samples - 1, axis=1)[:, :num_samples]
        order = np.argsort(np.take_along_axis(keys, part, axis=1), axis=1, kind="stable")
        out = np.take_along_axis(part, order, axis=1)
    else:
        out = np.argsort(keys, axis=1, kind="stable")
    return out.astype(np.int64, copy=False)


def bernoulli_sample(rng, p):
    """A new array of p's shape and dtype holding 1 where U < p, else 0, for doubles U
    uniform on [0, 1) (rng.random, one per element of p, in C order). None, with nothing
    drawn, if an element of p is outside [0, 1] or NaN."""
    with np.errstate(invalid="ignore"):
        if not ((p >= 0) & (p <= 1)).all():
            return None
    return (rng.random(p.shape) < p).astype(p.dtype.newbyteorder("="))


def integers_fill(rng, out, low, n):
    """out[...] = integers uniform on [low, low + n) (1 <= n <= 2**32): low + floor(U * n)
    from doubles U uniform on [0, 1), capped at n - 1 (U * n can round up to n), stored as
    out's dtype; a bias below n / 2**53. Returns out."""
    values = (rng.random(out.shape) * n).astype(np.int64)
    np.minimum(values, n - 1, out=values)
    if low:
        values += low
    out[...] = values
    return out
