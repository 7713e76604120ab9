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
# ``grad`` is never modified and is read in the parameter's dtype. ``param`` and ``grad`` may
# have any layout; the state buffers are C-contiguous arrays of the parameter's dtype.
# ---------------------------------------------------------------------------------------------


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
