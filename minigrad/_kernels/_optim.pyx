# cython: language_level=3
# distutils: extra_compile_args = -fno-math-errno -fno-inline-functions-called-once -fno-inline-small-functions -fno-inline-functions
"""Fused optimizer update kernels: one call updates one parameter in place.

Each ``*_`` function here is the compiled twin of the function of the same name in
``reference.py`` (section "Optimizer kernels"), which spells out the update with numpy.
Both follow PyTorch's single-tensor implementation (``torch/optim/*.py``) operation by
operation, in the same order, with every scalar first rounded to the parameter's dtype as
PyTorch does, so a float64 trajectory matches ``torch.optim`` to round-off.

Why the arrays arrive as plain objects rather than typed memoryviews
--------------------------------------------------------------------
These kernels run once per parameter per training step on arrays that are often tiny (a
bias of 10 numbers). Acquiring four typed memoryviews and dispatching a fused ``def``
costs about 0.8 us per call, more than the arithmetic itself; reading the array's data
pointer through numpy's C API costs about 0.1 us. So the Python-visible function checks
every array (type, dtype, C-contiguity, size, writeability) with numpy's C API and then
hands raw pointers to a ``floating`` loop that runs without the GIL. Arrays of any number
of dimensions are accepted; the update is elementwise, so only the element count matters.

The parameter and the gradient may have any layout: a strided parameter is updated
through a C-contiguous copy that is then written back into the caller's array (whose
identity matters: other objects hold it), and a strided gradient, or one of another dtype,
is read from a contiguous copy in the parameter's dtype. The state buffers, which the
optimizer creates, must be C-contiguous arrays of the parameter's dtype and size. A check
that fails raises ``ValueError`` (``TypeError`` for a non-array), before any memory is
written.

Compiler flags for this file (the ``# distutils:`` line above)
-------------------------------------------------------------
``-fno-math-errno``: without it, ``sqrt`` must set errno for negative inputs, which means a
branch and a libm call in the loop, and the loop is not vectorised. Results are unchanged.
``-fno-inline-*``: GCC otherwise inlines a loop function into the large Python wrapper that
calls it, and in that context gives up vectorising the loop (measured: SGD with momentum
4x slower on 200k float32 numbers). Functions declared ``inline`` (Cython's helpers and the
small ``cdef inline`` ones here) are still inlined.
"""
from libc.math cimport fabs, sqrt

import numpy as np

cimport numpy as cnp
from cython cimport floating

cnp.import_array()


# ----------------------------------------------------------------------------------------
# Input checks (Python layer, once per call; never inside a loop)
# ----------------------------------------------------------------------------------------


cdef int _float_typenum(object param) except -1:
    """The numpy type number of ``param`` (float32 or float64), or raise."""
    if type(param) is not cnp.ndarray:
        raise TypeError(f"optimizer kernel: expected a numpy array, got {type(param).__name__}")
    cdef int typenum = cnp.PyArray_TYPE(<cnp.ndarray>param)
    if typenum != cnp.NPY_FLOAT and typenum != cnp.NPY_DOUBLE:
        raise ValueError(
            f"optimizer kernel: parameters must be float32 or float64, got {param.dtype}")
    return typenum


cdef int _check(object array, str name, int typenum, Py_ssize_t size,
                bint writeable) except -1:
    """Raise unless ``array`` is a C-contiguous ndarray of ``typenum`` with ``size`` elements."""
    if type(array) is not cnp.ndarray:
        raise TypeError(
            f"optimizer kernel: {name} must be a numpy array, got {type(array).__name__}")
    cdef cnp.ndarray a = <cnp.ndarray>array
    if cnp.PyArray_TYPE(a) != typenum:
        raise ValueError(f"optimizer kernel: {name} has dtype {a.dtype}, expected "
                         f"{cnp.PyArray_DescrFromType(typenum)}")
    if cnp.PyArray_SIZE(a) != size:
        raise ValueError(f"optimizer kernel: {name} has {cnp.PyArray_SIZE(a)} elements, "
                         f"the parameter has {size}")
    if not cnp.PyArray_IS_C_CONTIGUOUS(a):
        raise ValueError(f"optimizer kernel: {name} is not C-contiguous")
    if writeable and not cnp.PyArray_ISWRITEABLE(a):
        raise ValueError(f"optimizer kernel: {name} is read-only")
    return 0


cdef object _param_array(object param):
    """``param`` itself if C-contiguous, else a C-contiguous copy (written back later)."""
    if not cnp.PyArray_ISWRITEABLE(<cnp.ndarray>param):
        raise ValueError("optimizer kernel: param is read-only")
    if cnp.PyArray_IS_C_CONTIGUOUS(<cnp.ndarray>param):
        return param
    return np.ascontiguousarray(param)


cdef object _grad_array(object grad, object param):
    """``grad`` itself if it is a C-contiguous array of param's dtype and size, else a copy."""
    if not (type(grad) is cnp.ndarray
            and cnp.PyArray_TYPE(<cnp.ndarray>grad) == cnp.PyArray_TYPE(<cnp.ndarray>param)
            and cnp.PyArray_IS_C_CONTIGUOUS(<cnp.ndarray>grad)):
        grad = np.ascontiguousarray(grad, dtype=param.dtype)
    if cnp.PyArray_SIZE(<cnp.ndarray>grad) != cnp.PyArray_SIZE(<cnp.ndarray>param):
        raise ValueError(f"optimizer kernel: grad has shape {grad.shape}, the parameter has "
                         f"shape {param.shape}")
    return grad


cdef inline void* _ptr(object array):
    return cnp.PyArray_DATA(<cnp.ndarray>array)


# ----------------------------------------------------------------------------------------
# The loops, and how they stay vectorisable
#
# The C compiler vectorises a loop only if it has no branch that stores conditionally
# (``if momentum: buf[i] = ...``). So there is one loop per combination of state buffers
# (SGD with or without a momentum buffer, RMSprop with or without grad_avg and momentum
# buffer, Adam with or without max_exp_avg_sq), chosen once per call. Inside a loop every
# other hyper-parameter enters as a select (``a if flag else b``, a vector blend) or as a
# factor that is exact when unused: maximize multiplies by -1 or 1 (x * -1 is -x to the
# last bit) and AdamW's decay factor is 1 for Adam (p * 1 is p).
# ----------------------------------------------------------------------------------------


cdef inline floating _lerp(floating start, floating end, floating coeff,
                           bint weight_small) noexcept nogil:
    """torch.lerp(start, end, weight) for a scalar weight, as ATen computes it.

    ATen uses start + weight * (end - start) when |weight| < 0.5, else
    end - (end - start) * (1 - weight) (each form is exact at its own end point). The second
    equals end + (weight - 1) * (end - start) to the last bit, since rounding is symmetric
    under negation, so with coeff = weight or weight - 1 one expression serves both.
    """
    cdef floating base = start if weight_small else end
    return base + coeff * (end - start)


cdef inline floating _lerp_coeff(floating weight) noexcept nogil:
    return weight if fabs(weight) < 0.5 else weight - 1


cdef inline floating _maximum(floating a, floating b) noexcept nogil:
    """torch.maximum: the larger value; NaN if either is NaN."""
    return a if (a != a) | (a > b) else b  # '|', not 'or': no branch in the loop


# ----------------------------------------------------------------------------------------
# SGD
# ----------------------------------------------------------------------------------------


cdef void _sgd_loop(floating* param, const floating* grad, Py_ssize_t n, double lr,
                    double weight_decay, bint maximize) noexcept nogil:
    cdef floating sign = -1 if maximize else 1
    cdef bint has_wd = weight_decay != 0
    cdef floating wd = <floating>weight_decay
    cdef floating neg_lr = <floating>(-lr)
    cdef floating g
    cdef Py_ssize_t i
    for i in range(n):
        g = sign * grad[i]
        g = g + wd * param[i] if has_wd else g
        param[i] = param[i] + neg_lr * g


cdef void _sgd_momentum_loop(floating* param, const floating* grad, floating* buf,
                             Py_ssize_t n, double lr, double weight_decay, double momentum,
                             double dampening, bint nesterov, bint maximize,
                             bint first_step) noexcept nogil:
    cdef floating sign = -1 if maximize else 1
    cdef bint has_wd = weight_decay != 0
    cdef floating wd = <floating>weight_decay
    cdef floating mom = <floating>momentum
    cdef floating keep = <floating>(1.0 - dampening)
    cdef floating neg_lr = <floating>(-lr)
    cdef floating g, b
    cdef Py_ssize_t i
    if first_step:
        # The buffer starts as a copy of the gradient. A loop of its own, run once per
        # parameter, keeps the every-step loop below down to two selects (one more and GCC
        # stops vectorising it).
        for i in range(n):
            g = sign * grad[i]
            g = g + wd * param[i] if has_wd else g
            buf[i] = g
            g = g + mom * g if nesterov else g
            param[i] = param[i] + neg_lr * g
        return
    for i in range(n):
        g = sign * grad[i]
        g = g + wd * param[i] if has_wd else g
        b = buf[i] * mom + keep * g
        buf[i] = b
        g = g + mom * b if nesterov else b
        param[i] = param[i] + neg_lr * g


def sgd_(param, grad, momentum_buffer, double lr, double weight_decay, double momentum,
         double dampening, bint nesterov, bint maximize, bint first_step):
    """In-place SGD step on one parameter; see reference.sgd_ for the equations."""
    cdef int typenum = _float_typenum(param)
    cdef Py_ssize_t n = cnp.PyArray_SIZE(<cnp.ndarray>param)
    cdef object work = _param_array(param)
    grad = _grad_array(grad, param)
    cdef bint use_momentum = momentum != 0
    if use_momentum:
        _check(momentum_buffer, "momentum_buffer", typenum, n, True)
    cdef void* p = _ptr(work)
    cdef void* g = _ptr(grad)
    cdef void* b = _ptr(momentum_buffer) if use_momentum else NULL
    with nogil:
        if typenum == cnp.NPY_DOUBLE:
            if use_momentum:
                _sgd_momentum_loop(<double*>p, <const double*>g, <double*>b, n, lr,
                                   weight_decay, momentum, dampening, nesterov, maximize,
                                   first_step)
            else:
                _sgd_loop(<double*>p, <const double*>g, n, lr, weight_decay, maximize)
        else:
            if use_momentum:
                _sgd_momentum_loop(<float*>p, <const float*>g, <float*>b, n, lr,
                                   weight_decay, momentum, dampening, nesterov, maximize,
                                   first_step)
            else:
                _sgd_loop(<float*>p, <const float*>g, n, lr, weight_decay, maximize)
    if work is not param:
        param[...] = work  # the caller's array, not a new one


# ----------------------------------------------------------------------------------------
# Adagrad
# ----------------------------------------------------------------------------------------


cdef void _adagrad_loop(floating* param, const floating* grad, floating* state_sum,
                        Py_ssize_t n, double clr, double weight_decay, double eps,
                        bint maximize) noexcept nogil:
    cdef floating sign = -1 if maximize else 1
    cdef bint has_wd = weight_decay != 0
    cdef floating wd = <floating>weight_decay
    cdef floating e = <floating>eps
    cdef floating neg_clr = <floating>(-clr)
    cdef floating one = 1
    cdef floating g, s
    cdef Py_ssize_t i
    for i in range(n):
        g = sign * grad[i]
        g = g + wd * param[i] if has_wd else g
        s = state_sum[i] + one * g * g
        state_sum[i] = s
        param[i] = param[i] + neg_clr * g / (<floating>sqrt(s) + e)


def adagrad_(param, grad, state_sum, double clr, double weight_decay, double eps,
             bint maximize):
    """In-place Adagrad step on one parameter; see reference.adagrad_ for the equations."""
    cdef int typenum = _float_typenum(param)
    cdef Py_ssize_t n = cnp.PyArray_SIZE(<cnp.ndarray>param)
    cdef object work = _param_array(param)
    grad = _grad_array(grad, param)
    _check(state_sum, "state_sum", typenum, n, True)
    cdef void* p = _ptr(work)
    cdef void* g = _ptr(grad)
    cdef void* s = _ptr(state_sum)
    with nogil:
        if typenum == cnp.NPY_DOUBLE:
            _adagrad_loop(<double*>p, <const double*>g, <double*>s, n, clr, weight_decay,
                          eps, maximize)
        else:
            _adagrad_loop(<float*>p, <const float*>g, <float*>s, n, clr, weight_decay,
                          eps, maximize)
    if work is not param:
        param[...] = work  # the caller's array, not a new one


# ----------------------------------------------------------------------------------------
# RMSprop: four loops, for (centered or not) x (momentum or not). Each computes, in order,
# the decayed gradient g, the new square_avg, the denominator avg, then the update.
# ----------------------------------------------------------------------------------------


cdef struct _RMSpropScalars:
    double sign, wd, alpha, weight, coeff, eps, momentum, neg_lr
    bint has_wd, weight_small


cdef _RMSpropScalars _rmsprop_scalars(double lr, double alpha, double eps,
                                      double weight_decay, double momentum,
                                      bint maximize) noexcept nogil:
    cdef _RMSpropScalars c
    c.sign = -1.0 if maximize else 1.0
    c.has_wd = weight_decay != 0
    c.wd = weight_decay
    c.alpha = alpha
    c.weight = 1.0 - alpha
    c.eps = eps
    c.momentum = momentum
    c.neg_lr = -lr
    return c


cdef void _rmsprop_loop(floating* param, const floating* grad, floating* square_avg,
                        Py_ssize_t n, _RMSpropScalars c) noexcept nogil:
    cdef floating sign = <floating>c.sign, wd = <floating>c.wd, a = <floating>c.alpha
    cdef floating weight = <floating>c.weight, e = <floating>c.eps
    cdef floating neg_lr = <floating>c.neg_lr
    cdef bint has_wd = c.has_wd
    cdef floating g, sq, avg
    cdef Py_ssize_t i
    for i in range(n):
        g = sign * grad[i]
        g = g + wd * param[i] if has_wd else g
        sq = square_avg[i] * a + weight * g * g
        square_avg[i] = sq
        avg = <floating>sqrt(sq) + e
        param[i] = param[i] + neg_lr * g / avg


cdef void _rmsprop_momentum_loop(floating* param, const floating* grad, floating* square_avg,
                                 floating* buf, Py_ssize_t n, _RMSpropScalars c) noexcept nogil:
    cdef floating sign = <floating>c.sign, wd = <floating>c.wd, a = <floating>c.alpha
    cdef floating weight = <floating>c.weight, e = <floating>c.eps
    cdef floating mom = <floating>c.momentum, neg_lr = <floating>c.neg_lr, one = 1
    cdef bint has_wd = c.has_wd
    cdef floating g, sq, avg, b
    cdef Py_ssize_t i
    for i in range(n):
        g = sign * grad[i]
        g = g + wd * param[i] if has_wd else g
        sq = square_avg[i] * a + weight * g * g
        square_avg[i] = sq
        avg = <floating>sqrt(sq) + e
        b = buf[i] * mom + one * g / avg
        buf[i] = b
        param[i] = param[i] + neg_lr * b


cdef void _rmsprop_centered_loop(floating* param, const floating* grad, floating* square_avg,
                                 floating* grad_avg, Py_ssize_t n,
                                 _RMSpropScalars c) noexcept nogil:
    cdef floating sign = <floating>c.sign, wd = <floating>c.wd, a = <floating>c.alpha
    cdef floating weight = <floating>c.weight, e = <floating>c.eps
    cdef floating neg_lr = <floating>c.neg_lr, one = 1
    cdef floating coeff = _lerp_coeff(weight)
    cdef bint has_wd = c.has_wd, weight_small = fabs(weight) < 0.5
    cdef floating g, sq, ga, avg
    cdef Py_ssize_t i
    for i in range(n):
        g = sign * grad[i]
        g = g + wd * param[i] if has_wd else g
        sq = square_avg[i] * a + weight * g * g
        square_avg[i] = sq
        ga = _lerp(grad_avg[i], g, coeff, weight_small)
        grad_avg[i] = ga
        avg = <floating>sqrt(sq + (-one) * ga * ga) + e
        param[i] = param[i] + neg_lr * g / avg


cdef void _rmsprop_centered_momentum_loop(floating* param, const floating* grad,
                                          floating* square_avg, floating* grad_avg,
                                          floating* buf, Py_ssize_t n,
                                          _RMSpropScalars c) noexcept nogil:
    cdef floating sign = <floating>c.sign, wd = <floating>c.wd, a = <floating>c.alpha
    cdef floating weight = <floating>c.weight, e = <floating>c.eps
    cdef floating mom = <floating>c.momentum, neg_lr = <floating>c.neg_lr, one = 1
    cdef floating coeff = _lerp_coeff(weight)
    cdef bint has_wd = c.has_wd, weight_small = fabs(weight) < 0.5
    cdef floating g, sq, ga, avg, b
    cdef Py_ssize_t i
    for i in range(n):
        g = sign * grad[i]
        g = g + wd * param[i] if has_wd else g
        sq = square_avg[i] * a + weight * g * g
        square_avg[i] = sq
        ga = _lerp(grad_avg[i], g, coeff, weight_small)
        grad_avg[i] = ga
        avg = <floating>sqrt(sq + (-one) * ga * ga) + e
        b = buf[i] * mom + one * g / avg
        buf[i] = b
        param[i] = param[i] + neg_lr * b


cdef void _rmsprop_dispatch(floating* p, const floating* g, floating* sq, floating* ga,
                            floating* b, Py_ssize_t n, bint centered, bint use_momentum,
                            _RMSpropScalars c) noexcept nogil:
    if centered and use_momentum:
        _rmsprop_centered_momentum_loop(p, g, sq, ga, b, n, c)
    elif centered:
        _rmsprop_centered_loop(p, g, sq, ga, n, c)
    elif use_momentum:
        _rmsprop_momentum_loop(p, g, sq, b, n, c)
    else:
        _rmsprop_loop(p, g, sq, n, c)


def rmsprop_(param, grad, square_avg, grad_avg, momentum_buffer, double lr, double alpha,
             double eps, double weight_decay, double momentum, bint centered,
             bint maximize):
    """In-place RMSprop step on one parameter; see reference.rmsprop_ for the equations."""
    cdef int typenum = _float_typenum(param)
    cdef Py_ssize_t n = cnp.PyArray_SIZE(<cnp.ndarray>param)
    cdef bint use_momentum = momentum > 0
    cdef object work = _param_array(param)
    grad = _grad_array(grad, param)
    _check(square_avg, "square_avg", typenum, n, True)
    if centered:
        _check(grad_avg, "grad_avg", typenum, n, True)
    if use_momentum:
        _check(momentum_buffer, "momentum_buffer", typenum, n, True)
    cdef void* p = _ptr(work)
    cdef void* g = _ptr(grad)
    cdef void* sq = _ptr(square_avg)
    cdef void* ga = _ptr(grad_avg) if centered else NULL
    cdef void* b = _ptr(momentum_buffer) if use_momentum else NULL
    cdef _RMSpropScalars c = _rmsprop_scalars(lr, alpha, eps, weight_decay, momentum,
                                              maximize)
    with nogil:
        if typenum == cnp.NPY_DOUBLE:
            _rmsprop_dispatch(<double*>p, <const double*>g, <double*>sq, <double*>ga,
                              <double*>b, n, centered, use_momentum, c)
        else:
            _rmsprop_dispatch(<float*>p, <const float*>g, <float*>sq, <float*>ga,
                              <float*>b, n, centered, use_momentum, c)
    if work is not param:
        param[...] = work  # the caller's array, not a new one


# ----------------------------------------------------------------------------------------
# Adam / AdamW: two loops, with and without AMSGrad's running maximum.
# ----------------------------------------------------------------------------------------


cdef struct _AdamScalars:
    double sign, decay, wd, w1, beta2, one_minus_beta2, bc2_sqrt, eps, neg_step
    bint l2


cdef _AdamScalars _adam_scalars(double lr, double beta1, double beta2, double eps,
                                double weight_decay, bint decoupled_weight_decay,
                                bint maximize, double step_size,
                                double bias_correction2_sqrt) noexcept nogil:
    cdef _AdamScalars c
    c.sign = -1.0 if maximize else 1.0
    c.l2 = weight_decay != 0 and not decoupled_weight_decay
    # AdamW's decay factor, exactly 1 (p * 1 == p) when there is no decoupled decay.
    c.decay = 1.0 - lr * weight_decay if weight_decay != 0 and decoupled_weight_decay else 1.0
    c.wd = weight_decay
    c.w1 = 1.0 - beta1
    c.beta2 = beta2
    c.one_minus_beta2 = 1.0 - beta2
    c.bc2_sqrt = bias_correction2_sqrt
    c.eps = eps
    c.neg_step = -step_size
    return c


cdef void _adam_loop(floating* param, const floating* grad, floating* exp_avg,
                     floating* exp_avg_sq, Py_ssize_t n, _AdamScalars c) noexcept nogil:
    cdef floating sign = <floating>c.sign, decay = <floating>c.decay, wd = <floating>c.wd
    cdef floating w1 = <floating>c.w1, coeff1 = _lerp_coeff(w1)
    cdef floating b2 = <floating>c.beta2, one_minus_b2 = <floating>c.one_minus_beta2
    cdef floating bc2_sqrt = <floating>c.bc2_sqrt, e = <floating>c.eps
    cdef floating neg_step = <floating>c.neg_step
    cdef bint l2 = c.l2, w1_small = fabs(w1) < 0.5
    cdef floating g, p, m, v
    cdef Py_ssize_t i
    for i in range(n):
        g = sign * grad[i]
        p = param[i] * decay
        g = g + wd * p if l2 else g
        m = _lerp(exp_avg[i], g, coeff1, w1_small)
        exp_avg[i] = m
        v = exp_avg_sq[i] * b2 + one_minus_b2 * g * g
        exp_avg_sq[i] = v
        param[i] = p + neg_step * m / (<floating>sqrt(v) / bc2_sqrt + e)


cdef void _adam_amsgrad_loop(floating* param, const floating* grad, floating* exp_avg,
                             floating* exp_avg_sq, floating* max_exp_avg_sq, Py_ssize_t n,
                             _AdamScalars c) noexcept nogil:
    cdef floating sign = <floating>c.sign, decay = <floating>c.decay, wd = <floating>c.wd
    cdef floating w1 = <floating>c.w1, coeff1 = _lerp_coeff(w1)
    cdef floating b2 = <floating>c.beta2, one_minus_b2 = <floating>c.one_minus_beta2
    cdef floating bc2_sqrt = <floating>c.bc2_sqrt, e = <floating>c.eps
    cdef floating neg_step = <floating>c.neg_step
    cdef bint l2 = c.l2, w1_small = fabs(w1) < 0.5
    cdef floating g, p, m, v
    cdef Py_ssize_t i
    for i in range(n):
        g = sign * grad[i]
        p = param[i] * decay
        g = g + wd * p if l2 else g
        m = _lerp(exp_avg[i], g, coeff1, w1_small)
        exp_avg[i] = m
        v = exp_avg_sq[i] * b2 + one_minus_b2 * g * g
        exp_avg_sq[i] = v
        v = _maximum(max_exp_avg_sq[i], v)
        max_exp_avg_sq[i] = v
        param[i] = p + neg_step * m / (<floating>sqrt(v) / bc2_sqrt + e)


def adam_(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, double lr, double beta1,
          double beta2, double eps, double weight_decay, bint decoupled_weight_decay,
          bint amsgrad, bint maximize, double step_size, double bias_correction2_sqrt):
    """In-place Adam/AdamW step on one parameter; see reference.adam_ for the equations."""
    cdef int typenum = _float_typenum(param)
    cdef Py_ssize_t n = cnp.PyArray_SIZE(<cnp.ndarray>param)
    cdef object work = _param_array(param)
    grad = _grad_array(grad, param)
    _check(exp_avg, "exp_avg", typenum, n, True)
    _check(exp_avg_sq, "exp_avg_sq", typenum, n, True)
    if amsgrad:
        _check(max_exp_avg_sq, "max_exp_avg_sq", typenum, n, True)
    cdef void* p = _ptr(work)
    cdef void* g = _ptr(grad)
    cdef void* m = _ptr(exp_avg)
    cdef void* v = _ptr(exp_avg_sq)
    cdef void* vmax = _ptr(max_exp_avg_sq) if amsgrad else NULL
    cdef _AdamScalars c = _adam_scalars(lr, beta1, beta2, eps, weight_decay,
                                        decoupled_weight_decay, maximize, step_size,
                                        bias_correction2_sqrt)
    with nogil:
        if typenum == cnp.NPY_DOUBLE:
            if amsgrad:
                _adam_amsgrad_loop(<double*>p, <const double*>g, <double*>m, <double*>v,
                                   <double*>vmax, n, c)
            else:
                _adam_loop(<double*>p, <const double*>g, <double*>m, <double*>v, n, c)
        else:
            if amsgrad:
                _adam_amsgrad_loop(<float*>p, <const float*>g, <float*>m, <float*>v,
                                   <float*>vmax, n, c)
            else:
                _adam_loop(<float*>p, <const float*>g, <float*>m, <float*>v, n, c)
    if work is not param:
        param[...] = work  # the caller's array, not a new one
