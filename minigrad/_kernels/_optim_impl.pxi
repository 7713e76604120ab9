# The optimizer kernels, included by _optim.pyx (portable build) and _optim_avx2.pyx (the same
# code compiled for AVX2, used on CPUs that have it); see _optim.pyx's docstring.
from libc.math cimport fabs, sqrt

import numpy as np

cimport numpy as cnp
from cython cimport floating

from ._common cimport _fast_float_type

cnp.import_array()


# ----------------------------------------------------------------------------------------
# Input checks (Python layer, once per call; never inside a loop)
#
# A loop reads and writes raw pointers, so it may only see arrays that are exactly what it
# assumes: C-contiguous, aligned, in native byte order, of the compute dtype (the test is
# ``_fast_float_type`` from _common.pxd, shared with the other kernels). Any other array is
# replaced by a working copy that is (``_working_copy``), and a written operand's copy is
# stored back into the caller's array after the loop (``_write_back``): the parameter and its
# state must be updated in place, because other objects hold those arrays. numpy's assignment
# does the conversion back (byte order, alignment, strides, float16 rounding). Every check
# runs before the first write, so a refused call changes nothing.
# ----------------------------------------------------------------------------------------


cdef int _compute_typenum(object param) except -1:
    """The numpy type number the loop computes in for ``param``, or raise.

    float64 parameters compute in float64; float32 and float16 ones in float32 (PyTorch's CPU
    kernels also compute float16 through float32; the result is rounded back on the store).
    """
    if type(param) is not cnp.ndarray:
        raise TypeError(f"optimizer kernel: expected a numpy array, got {type(param).__name__}")
    cdef int typenum = cnp.PyArray_TYPE(<cnp.ndarray>param)
    if typenum == cnp.NPY_DOUBLE:
        return cnp.NPY_DOUBLE
    if typenum == cnp.NPY_FLOAT or typenum == cnp.NPY_FLOAT16:
        return cnp.NPY_FLOAT
    raise ValueError("optimizer kernel: parameters must be float16, float32 or float64, got "
                     f"{param.dtype}")


cdef object _working_copy(object array, int typenum):
    """A new C-contiguous, aligned, native-order array of the compute dtype ``typenum``."""
    return np.array(array, dtype=np.float64 if typenum == cnp.NPY_DOUBLE else np.float32,
                    order="C")


cdef object _operand(object array, str name, int param_typenum, int typenum,
                     Py_ssize_t size):
    """A written operand (the parameter or a state buffer) as the loop may use it.

    ``array`` must be an ndarray of the parameter's dtype (``param_typenum``; any byte order)
    with ``size`` elements, and writeable: else raise. It is returned itself when the loop can
    use it directly, else as a working copy that ``_write_back`` stores into it afterwards.
    """
    if type(array) is not cnp.ndarray:
        raise TypeError(
            f"optimizer kernel: {name} must be a numpy array, got {type(array).__name__}")
    cdef cnp.ndarray a = <cnp.ndarray>array
    if cnp.PyArray_TYPE(a) != param_typenum:
        raise ValueError(f"optimizer kernel: {name} has dtype {a.dtype}, expected "
                         f"{cnp.PyArray_DescrFromType(param_typenum)}")
    if cnp.PyArray_SIZE(a) != size:
        raise ValueError(f"optimizer kernel: {name} has {cnp.PyArray_SIZE(a)} elements, "
                         f"the parameter has {size}")
    if not cnp.PyArray_ISWRITEABLE(a):
        raise ValueError(f"optimizer kernel: {name} is read-only")
    if _fast_float_type(array) == typenum:
        return array
    return _working_copy(array, typenum)


cdef object _grad_operand(object grad, object param, int typenum):
    """The gradient as the loop may read it: itself, or a working copy (any dtype, layout and
    byte order is read as the compute dtype). It must have the parameter's element count."""
    if _fast_float_type(grad) != typenum:
        grad = _working_copy(grad, typenum)
    if cnp.PyArray_SIZE(<cnp.ndarray>grad) != cnp.PyArray_SIZE(<cnp.ndarray>param):
        raise ValueError(f"optimizer kernel: grad has shape {grad.shape}, the parameter has "
                         f"shape {param.shape}")
    return grad


cdef int _write_back(object target, object work) except -1:
    """Store a working copy into the caller's array (the same object, updated in place)."""
    if work is not target:
        target[...] = work
    return 0


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
    cdef int typenum = _compute_typenum(param)
    cdef int param_typenum = cnp.PyArray_TYPE(<cnp.ndarray>param)
    cdef Py_ssize_t n = cnp.PyArray_SIZE(<cnp.ndarray>param)
    cdef bint use_momentum = momentum != 0
    cdef object work = _operand(param, "param", param_typenum, typenum, n)
    grad = _grad_operand(grad, param, typenum)
    cdef object buf = None
    if use_momentum:
        buf = _operand(momentum_buffer, "momentum_buffer", param_typenum, typenum, n)
    cdef void* p = _ptr(work)
    cdef void* g = _ptr(grad)
    cdef void* b = _ptr(buf) if use_momentum else NULL
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
    _write_back(param, work)
    if use_momentum:
        _write_back(momentum_buffer, buf)


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
    cdef int typenum = _compute_typenum(param)
    cdef int param_typenum = cnp.PyArray_TYPE(<cnp.ndarray>param)
    cdef Py_ssize_t n = cnp.PyArray_SIZE(<cnp.ndarray>param)
    cdef object work = _operand(param, "param", param_typenum, typenum, n)
    grad = _grad_operand(grad, param, typenum)
    cdef object sums = _operand(state_sum, "state_sum", param_typenum, typenum, n)
    cdef void* p = _ptr(work)
    cdef void* g = _ptr(grad)
    cdef void* s = _ptr(sums)
    with nogil:
        if typenum == cnp.NPY_DOUBLE:
            _adagrad_loop(<double*>p, <const double*>g, <double*>s, n, clr, weight_decay,
                          eps, maximize)
        else:
            _adagrad_loop(<float*>p, <const float*>g, <float*>s, n, clr, weight_decay,
                          eps, maximize)
    _write_back(param, work)
    _write_back(state_sum, sums)


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
    cdef int typenum = _compute_typenum(param)
    cdef int param_typenum = cnp.PyArray_TYPE(<cnp.ndarray>param)
    cdef Py_ssize_t n = cnp.PyArray_SIZE(<cnp.ndarray>param)
    cdef bint use_momentum = momentum > 0
    cdef object work = _operand(param, "param", param_typenum, typenum, n)
    grad = _grad_operand(grad, param, typenum)
    cdef object sq_work = _operand(square_avg, "square_avg", param_typenum, typenum, n)
    cdef object ga_work = None, buf = None
    if centered:
        ga_work = _operand(grad_avg, "grad_avg", param_typenum, typenum, n)
    if use_momentum:
        buf = _operand(momentum_buffer, "momentum_buffer", param_typenum, typenum, n)
    cdef void* p = _ptr(work)
    cdef void* g = _ptr(grad)
    cdef void* sq = _ptr(sq_work)
    cdef void* ga = _ptr(ga_work) if centered else NULL
    cdef void* b = _ptr(buf) if use_momentum else NULL
    cdef _RMSpropScalars c = _rmsprop_scalars(lr, alpha, eps, weight_decay, momentum,
                                              maximize)
    with nogil:
        if typenum == cnp.NPY_DOUBLE:
            _rmsprop_dispatch(<double*>p, <const double*>g, <double*>sq, <double*>ga,
                              <double*>b, n, centered, use_momentum, c)
        else:
            _rmsprop_dispatch(<float*>p, <const float*>g, <float*>sq, <float*>ga,
                              <float*>b, n, centered, use_momentum, c)
    _write_back(param, work)
    _write_back(square_avg, sq_work)
    if centered:
        _write_back(grad_avg, ga_work)
    if use_momentum:
        _write_back(momentum_buffer, buf)


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
    cdef int typenum = _compute_typenum(param)
    cdef int param_typenum = cnp.PyArray_TYPE(<cnp.ndarray>param)
    cdef Py_ssize_t n = cnp.PyArray_SIZE(<cnp.ndarray>param)
    cdef object work = _operand(param, "param", param_typenum, typenum, n)
    grad = _grad_operand(grad, param, typenum)
    cdef object m_work = _operand(exp_avg, "exp_avg", param_typenum, typenum, n)
    cdef object v_work = _operand(exp_avg_sq, "exp_avg_sq", param_typenum, typenum, n)
    cdef object vmax_work = None
    if amsgrad:
        vmax_work = _operand(max_exp_avg_sq, "max_exp_avg_sq", param_typenum, typenum, n)
    cdef void* p = _ptr(work)
    cdef void* g = _ptr(grad)
    cdef void* m = _ptr(m_work)
    cdef void* v = _ptr(v_work)
    cdef void* vmax = _ptr(vmax_work) if amsgrad else NULL
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
    _write_back(param, work)
    _write_back(exp_avg, m_work)
    _write_back(exp_avg_sq, v_work)
    if amsgrad:
        _write_back(max_exp_avg_sq, vmax_work)


# ----------------------------------------------------------------------------------------
# NAdam: Adam with Nesterov momentum (Dozat, 2016); the momentum schedule mu_t, its running
# product and the two update coefficients are scalars computed by the caller.
# ----------------------------------------------------------------------------------------


cdef struct _NAdamScalars:
    double sign, decay, wd, w1, beta2, one_minus_beta2, bias_correction2, eps
    double grad_coeff, exp_avg_coeff
    bint l2


cdef void _nadam_loop(floating* param, const floating* grad, floating* exp_avg,
                      floating* exp_avg_sq, Py_ssize_t n, _NAdamScalars c) noexcept nogil:
    cdef floating sign = <floating>c.sign, decay = <floating>c.decay, wd = <floating>c.wd
    cdef floating w1 = <floating>c.w1, coeff1 = _lerp_coeff(w1)
    cdef floating b2 = <floating>c.beta2, one_minus_b2 = <floating>c.one_minus_beta2
    cdef floating bc2 = <floating>c.bias_correction2, e = <floating>c.eps
    cdef floating grad_coeff = <floating>c.grad_coeff
    cdef floating exp_avg_coeff = <floating>c.exp_avg_coeff
    cdef bint l2 = c.l2, w1_small = fabs(w1) < 0.5
    cdef floating g, p, m, v, denom
    cdef Py_ssize_t i
    for i in range(n):
        g = sign * grad[i]
        p = param[i] * decay
        g = g + wd * p if l2 else g
        m = _lerp(exp_avg[i], g, coeff1, w1_small)
        exp_avg[i] = m
        v = exp_avg_sq[i] * b2 + one_minus_b2 * g * g
        exp_avg_sq[i] = v
        denom = <floating>sqrt(v / bc2) + e
        p = p + grad_coeff * g / denom
        param[i] = p + exp_avg_coeff * m / denom


def nadam_(param, grad, exp_avg, exp_avg_sq, double lr, double beta1, double beta2,
           double eps, double weight_decay, bint decoupled_weight_decay, bint maximize,
           double bias_correction2, double grad_coeff, double exp_avg_coeff):
    """In-place NAdam step on one parameter; see reference.nadam_ for the equations."""
    cdef int typenum = _compute_typenum(param)
    cdef int param_typenum = cnp.PyArray_TYPE(<cnp.ndarray>param)
    cdef Py_ssize_t n = cnp.PyArray_SIZE(<cnp.ndarray>param)
    cdef object work = _operand(param, "param", param_typenum, typenum, n)
    grad = _grad_operand(grad, param, typenum)
    cdef object m_work = _operand(exp_avg, "exp_avg", param_typenum, typenum, n)
    cdef object v_work = _operand(exp_avg_sq, "exp_avg_sq", param_typenum, typenum, n)
    cdef _NAdamScalars c
    c.sign = -1.0 if maximize else 1.0
    c.l2 = weight_decay != 0 and not decoupled_weight_decay
    c.decay = 1.0 - lr * weight_decay if weight_decay != 0 and decoupled_weight_decay else 1.0
    c.wd = weight_decay
    c.w1 = 1.0 - beta1
    c.beta2 = beta2
    c.one_minus_beta2 = 1.0 - beta2
    c.bias_correction2 = bias_correction2
    c.eps = eps
    c.grad_coeff = grad_coeff
    c.exp_avg_coeff = exp_avg_coeff
    cdef void* p = _ptr(work)
    cdef void* g = _ptr(grad)
    cdef void* m = _ptr(m_work)
    cdef void* v = _ptr(v_work)
    with nogil:
        if typenum == cnp.NPY_DOUBLE:
            _nadam_loop(<double*>p, <const double*>g, <double*>m, <double*>v, n, c)
        else:
            _nadam_loop(<float*>p, <const float*>g, <float*>m, <float*>v, n, c)
    _write_back(param, work)
    _write_back(exp_avg, m_work)
    _write_back(exp_avg_sq, v_work)


# ----------------------------------------------------------------------------------------
# RAdam: two loops, with the rectified adaptive step (rho_t > 5) and without it (plain
# bias-corrected momentum SGD in the first steps).
# ----------------------------------------------------------------------------------------


cdef struct _RAdamScalars:
    double sign, decay, wd, w1, beta2, one_minus_beta2, lr, bias_correction1
    double bias_correction2_sqrt, eps, rect
    bint l2


cdef void _radam_loop(floating* param, const floating* grad, floating* exp_avg,
                      floating* exp_avg_sq, Py_ssize_t n, _RAdamScalars c,
                      bint rectified) noexcept nogil:
    cdef floating sign = <floating>c.sign, decay = <floating>c.decay, wd = <floating>c.wd
    cdef floating w1 = <floating>c.w1, coeff1 = _lerp_coeff(w1)
    cdef floating b2 = <floating>c.beta2, one_minus_b2 = <floating>c.one_minus_beta2
    cdef floating lr = <floating>c.lr, bc1 = <floating>c.bias_correction1
    cdef floating bc2_sqrt = <floating>c.bias_correction2_sqrt, e = <floating>c.eps
    cdef floating rect = <floating>c.rect
    cdef bint l2 = c.l2, w1_small = fabs(w1) < 0.5
    cdef floating g, p, m, v
    cdef Py_ssize_t i
    if rectified:
        for i in range(n):
            g = sign * grad[i]
            p = param[i] * decay
            g = g + wd * p if l2 else g
            m = _lerp(exp_avg[i], g, coeff1, w1_small)
            exp_avg[i] = m
            v = exp_avg_sq[i] * b2 + one_minus_b2 * g * g
            exp_avg_sq[i] = v
            param[i] = p - m / bc1 * lr * (bc2_sqrt / (<floating>sqrt(v) + e)) * rect
        return
    for i in range(n):
        g = sign * grad[i]
        p = param[i] * decay
        g = g + wd * p if l2 else g
        m = _lerp(exp_avg[i], g, coeff1, w1_small)
        exp_avg[i] = m
        exp_avg_sq[i] = exp_avg_sq[i] * b2 + one_minus_b2 * g * g
        param[i] = p - m / bc1 * lr


def radam_(param, grad, exp_avg, exp_avg_sq, double lr, double beta1, double beta2,
           double eps, double weight_decay, bint decoupled_weight_decay, bint maximize,
           double bias_correction1, double bias_correction2_sqrt, double rect):
    """In-place RAdam step on one parameter; see reference.radam_ for the equations.
    ``rect`` <= 0 means the variance is not yet tractable (rho_t <= 5): no adaptive step."""
    cdef int typenum = _compute_typenum(param)
    cdef int param_typenum = cnp.PyArray_TYPE(<cnp.ndarray>param)
    cdef Py_ssize_t n = cnp.PyArray_SIZE(<cnp.ndarray>param)
    cdef object work = _operand(param, "param", param_typenum, typenum, n)
    grad = _grad_operand(grad, param, typenum)
    cdef object m_work = _operand(exp_avg, "exp_avg", param_typenum, typenum, n)
    cdef object v_work = _operand(exp_avg_sq, "exp_avg_sq", param_typenum, typenum, n)
    cdef _RAdamScalars c
    c.sign = -1.0 if maximize else 1.0
    c.l2 = weight_decay != 0 and not decoupled_weight_decay
    c.decay = 1.0 - lr * weight_decay if weight_decay != 0 and decoupled_weight_decay else 1.0
    c.wd = weight_decay
    c.w1 = 1.0 - beta1
    c.beta2 = beta2
    c.one_minus_beta2 = 1.0 - beta2
    c.lr = lr
    c.bias_correction1 = bias_correction1
    c.bias_correction2_sqrt = bias_correction2_sqrt
    c.eps = eps
    c.rect = rect
    cdef bint rectified = rect > 0
    cdef void* p = _ptr(work)
    cdef void* g = _ptr(grad)
    cdef void* m = _ptr(m_work)
    cdef void* v = _ptr(v_work)
    with nogil:
        if typenum == cnp.NPY_DOUBLE:
            _radam_loop(<double*>p, <const double*>g, <double*>m, <double*>v, n, c, rectified)
        else:
            _radam_loop(<float*>p, <const float*>g, <float*>m, <float*>v, n, c, rectified)
    _write_back(param, work)
    _write_back(exp_avg, m_work)
    _write_back(exp_avg_sq, v_work)


# ----------------------------------------------------------------------------------------
# Adamax: Adam with the infinity norm in place of the second moment.
# ----------------------------------------------------------------------------------------


cdef void _adamax_loop(floating* param, const floating* grad, floating* exp_avg,
                       floating* exp_inf, Py_ssize_t n, double beta1, double beta2,
                       double eps, double weight_decay, bint maximize,
                       double clr) noexcept nogil:
    cdef floating sign = -1 if maximize else 1
    cdef bint has_wd = weight_decay != 0
    cdef floating wd = <floating>weight_decay
    cdef floating w1 = <floating>(1.0 - beta1), coeff1 = _lerp_coeff(w1)
    cdef bint w1_small = fabs(w1) < 0.5
    cdef floating b2 = <floating>beta2, e = <floating>eps, neg_clr = <floating>(-clr)
    cdef floating g, m, u, absg
    cdef Py_ssize_t i
    for i in range(n):
        g = sign * grad[i]
        g = g + wd * param[i] if has_wd else g
        m = _lerp(exp_avg[i], g, coeff1, w1_small)
        exp_avg[i] = m
        absg = -g if g < 0 else g
        u = _maximum(exp_inf[i] * b2, absg + e)
        exp_inf[i] = u
        param[i] = param[i] + neg_clr * m / u


def adamax_(param, grad, exp_avg, exp_inf, double beta1, double beta2, double eps,
            double weight_decay, bint maximize, double clr):
    """In-place Adamax step on one parameter; see reference.adamax_ for the equations."""
    cdef int typenum = _compute_typenum(param)
    cdef int param_typenum = cnp.PyArray_TYPE(<cnp.ndarray>param)
    cdef Py_ssize_t n = cnp.PyArray_SIZE(<cnp.ndarray>param)
    cdef object work = _operand(param, "param", param_typenum, typenum, n)
    grad = _grad_operand(grad, param, typenum)
    cdef object m_work = _operand(exp_avg, "exp_avg", param_typenum, typenum, n)
    cdef object u_work = _operand(exp_inf, "exp_inf", param_typenum, typenum, n)
    cdef void* p = _ptr(work)
    cdef void* g = _ptr(grad)
    cdef void* m = _ptr(m_work)
    cdef void* u = _ptr(u_work)
    with nogil:
        if typenum == cnp.NPY_DOUBLE:
            _adamax_loop(<double*>p, <const double*>g, <double*>m, <double*>u, n, beta1,
                         beta2, eps, weight_decay, maximize, clr)
        else:
            _adamax_loop(<float*>p, <const float*>g, <float*>m, <float*>u, n, beta1,
                         beta2, eps, weight_decay, maximize, clr)
    _write_back(param, work)
    _write_back(exp_avg, m_work)
    _write_back(exp_inf, u_work)


# ----------------------------------------------------------------------------------------
# Adadelta
# ----------------------------------------------------------------------------------------


cdef void _adadelta_loop(floating* param, const floating* grad, floating* square_avg,
                         floating* acc_delta, Py_ssize_t n, double lr, double rho,
                         double eps, double weight_decay, bint maximize) noexcept nogil:
    cdef floating sign = -1 if maximize else 1
    cdef bint has_wd = weight_decay != 0
    cdef floating wd = <floating>weight_decay, r = <floating>rho
    cdef floating one_minus_rho = <floating>(1.0 - rho), e = <floating>eps
    cdef floating neg_lr = <floating>(-lr)
    cdef floating g, sq, std, delta, acc
    cdef Py_ssize_t i
    for i in range(n):
        g = sign * grad[i]
        g = g + wd * param[i] if has_wd else g
        sq = square_avg[i] * r + one_minus_rho * g * g
        square_avg[i] = sq
        std = <floating>sqrt(sq + e)
        acc = acc_delta[i]
        delta = <floating>sqrt(acc + e) / std * g
        acc_delta[i] = acc * r + one_minus_rho * delta * delta
        param[i] = param[i] + neg_lr * delta


def adadelta_(param, grad, square_avg, acc_delta, double lr, double rho, double eps,
              double weight_decay, bint maximize):
    """In-place Adadelta step on one parameter; see reference.adadelta_ for the equations."""
    cdef int typenum = _compute_typenum(param)
    cdef int param_typenum = cnp.PyArray_TYPE(<cnp.ndarray>param)
    cdef Py_ssize_t n = cnp.PyArray_SIZE(<cnp.ndarray>param)
    cdef object work = _operand(param, "param", param_typenum, typenum, n)
    grad = _grad_operand(grad, param, typenum)
    cdef object sq_work = _operand(square_avg, "square_avg", param_typenum, typenum, n)
    cdef object acc_work = _operand(acc_delta, "acc_delta", param_typenum, typenum, n)
    cdef void* p = _ptr(work)
    cdef void* g = _ptr(grad)
    cdef void* sq = _ptr(sq_work)
    cdef void* acc = _ptr(acc_work)
    with nogil:
        if typenum == cnp.NPY_DOUBLE:
            _adadelta_loop(<double*>p, <const double*>g, <double*>sq, <double*>acc, n, lr,
                           rho, eps, weight_decay, maximize)
        else:
            _adadelta_loop(<float*>p, <const float*>g, <float*>sq, <float*>acc, n, lr,
                           rho, eps, weight_decay, maximize)
    _write_back(param, work)
    _write_back(square_avg, sq_work)
    _write_back(acc_delta, acc_work)


# ----------------------------------------------------------------------------------------
# ASGD: SGD with a decaying step eta_t and a running average ax of the iterates; two loops,
# for mu == 1 (ax copies the parameter) and mu != 1 (ax moves towards it).
# ----------------------------------------------------------------------------------------


cdef void _asgd_loop(floating* param, const floating* grad, floating* ax, Py_ssize_t n,
                     double eta, double lambd, double mu, double weight_decay,
                     bint maximize) noexcept nogil:
    cdef floating sign = -1 if maximize else 1
    cdef bint has_wd = weight_decay != 0
    cdef floating wd = <floating>weight_decay
    cdef floating decay = <floating>(1.0 - lambd * eta), neg_eta = <floating>(-eta)
    cdef floating m = <floating>mu
    cdef floating g, p, a
    cdef Py_ssize_t i
    if mu == 1:
        for i in range(n):
            g = sign * grad[i]
            g = g + wd * param[i] if has_wd else g
            p = param[i] * decay
            p = p + neg_eta * g
            param[i] = p
            ax[i] = p
        return
    for i in range(n):
        g = sign * grad[i]
        g = g + wd * param[i] if has_wd else g
        p = param[i] * decay
        p = p + neg_eta * g
        param[i] = p
        a = ax[i]
        ax[i] = a + (p - a) * m


def asgd_(param, grad, ax, double eta, double lambd, double mu, double weight_decay,
          bint maximize):
    """In-place ASGD step on one parameter; see reference.asgd_ for the equations."""
    cdef int typenum = _compute_typenum(param)
    cdef int param_typenum = cnp.PyArray_TYPE(<cnp.ndarray>param)
    cdef Py_ssize_t n = cnp.PyArray_SIZE(<cnp.ndarray>param)
    cdef object work = _operand(param, "param", param_typenum, typenum, n)
    grad = _grad_operand(grad, param, typenum)
    cdef object ax_work = _operand(ax, "ax", param_typenum, typenum, n)
    cdef void* p = _ptr(work)
    cdef void* g = _ptr(grad)
    cdef void* a = _ptr(ax_work)
    with nogil:
        if typenum == cnp.NPY_DOUBLE:
            _asgd_loop(<double*>p, <const double*>g, <double*>a, n, eta, lambd, mu,
                       weight_decay, maximize)
        else:
            _asgd_loop(<float*>p, <const float*>g, <float*>a, n, eta, lambd, mu,
                       weight_decay, maximize)
    _write_back(param, work)
    _write_back(ax, ax_work)


# ----------------------------------------------------------------------------------------
# Rprop: per-coordinate step sizes grown or shrunk by the sign agreement of successive
# gradients; the gradient's magnitude is never used, only its sign.
# ----------------------------------------------------------------------------------------


cdef void _rprop_loop(floating* param, const floating* grad, floating* prev,
                      floating* step_size, Py_ssize_t n, double etaminus, double etaplus,
                      double step_size_min, double step_size_max,
                      bint maximize) noexcept nogil:
    cdef floating sign = -1 if maximize else 1
    cdef floating minus = <floating>etaminus, plus = <floating>etaplus, one = 1, zero = 0
    cdef floating lo = <floating>step_size_min, hi = <floating>step_size_max
    cdef floating g, s, factor, size, direction
    cdef Py_ssize_t i
    for i in range(n):
        g = sign * grad[i]
        s = g * prev[i]
        # torch.sign(NaN) is 0, so a NaN product keeps the step size (factor 1).
        factor = plus if s > 0 else (minus if s < 0 else one)
        size = step_size[i] * factor
        size = lo if size < lo else size  # clamp; NaN passes through, as in torch.clamp
        size = hi if size > hi else size
        step_size[i] = size
        g = zero if s < 0 else g
        direction = one if g > 0 else (-one if g < 0 else zero)
        param[i] = param[i] + (-direction) * size
        prev[i] = g


def rprop_(param, grad, prev, step_size, double etaminus, double etaplus,
           double step_size_min, double step_size_max, bint maximize):
    """In-place Rprop step on one parameter; see reference.rprop_ for the equations."""
    cdef int typenum = _compute_typenum(param)
    cdef int param_typenum = cnp.PyArray_TYPE(<cnp.ndarray>param)
    cdef Py_ssize_t n = cnp.PyArray_SIZE(<cnp.ndarray>param)
    cdef object work = _operand(param, "param", param_typenum, typenum, n)
    grad = _grad_operand(grad, param, typenum)
    cdef object prev_work = _operand(prev, "prev", param_typenum, typenum, n)
    cdef object size_work = _operand(step_size, "step_size", param_typenum, typenum, n)
    cdef void* p = _ptr(work)
    cdef void* g = _ptr(grad)
    cdef void* pr = _ptr(prev_work)
    cdef void* s = _ptr(size_work)
    with nogil:
        if typenum == cnp.NPY_DOUBLE:
            _rprop_loop(<double*>p, <const double*>g, <double*>pr, <double*>s, n, etaminus,
                        etaplus, step_size_min, step_size_max, maximize)
        else:
            _rprop_loop(<float*>p, <const float*>g, <float*>pr, <float*>s, n, etaminus,
                        etaplus, step_size_min, step_size_max, maximize)
    _write_back(param, work)
    _write_back(prev, prev_work)
    _write_back(step_size, size_work)


# ----------------------------------------------------------------------------------------
# bfloat16 rounding, for Muon's Newton-Schulz iteration (PyTorch runs it in bfloat16; numpy
# has no bfloat16, so each float32 result is rounded to bfloat16's 8 significant bits).
# ----------------------------------------------------------------------------------------


cdef void _bfloat16_round_loop(unsigned int* bits, Py_ssize_t n) noexcept nogil:
    cdef unsigned int b
    cdef Py_ssize_t i
    for i in range(n):
        b = bits[i]
        # Round to nearest, ties to even, on the upper 16 bits; a NaN becomes the quiet NaN
        # 0x7FC0 (as c10::BFloat16 does), which rounding could otherwise turn into inf.
        bits[i] = (0x7FC00000u if (b & 0x7FFFFFFFu) > 0x7F800000u
                   else (b + 0x7FFFu + ((b >> 16) & 1u)) & 0xFFFF0000u)


def bfloat16_round_(x):
    """Round a float32 array to bfloat16 values in place; see reference.bfloat16_round_."""
    if type(x) is not cnp.ndarray or cnp.PyArray_TYPE(<cnp.ndarray>x) != cnp.NPY_FLOAT:
        raise TypeError("bfloat16_round_: expected a float32 numpy array")
    cdef Py_ssize_t n = cnp.PyArray_SIZE(<cnp.ndarray>x)
    cdef object work = _operand(x, "x", cnp.NPY_FLOAT, cnp.NPY_FLOAT, n)
    cdef unsigned int* bits = <unsigned int*>_ptr(work)
    with nogil:
        _bfloat16_round_loop(bits, n)
    _write_back(x, work)


# ----------------------------------------------------------------------------------------
# Adafactor's factored update direction (the reductions over rows and columns stay in
# numpy; this is the elementwise part, one pass instead of six numpy passes).
# ----------------------------------------------------------------------------------------


cdef void _adafactor_update_loop(floating* update, const floating* grad,
                                 const floating* row_var, const floating* col_var,
                                 const floating* row_var_mean, Py_ssize_t batches,
                                 Py_ssize_t rows, Py_ssize_t cols,
                                 double eps1_squared) noexcept nogil:
    cdef floating floor = <floating>eps1_squared, one = 1
    cdef floating r, mean, v
    cdef const floating* g
    cdef const floating* c
    cdef floating* u
    cdef Py_ssize_t b, i, j
    for b in range(batches):
        mean = row_var_mean[b]
        c = col_var + b * cols
        for i in range(rows):
            r = row_var[b * rows + i]
            u = update + (b * rows + i) * cols
            g = grad + (b * rows + i) * cols
            for j in range(cols):
                v = r * c[j] / mean
                v = floor if v < floor else v  # clamp(min=); NaN passes through
                u[j] = one / <floating>sqrt(v) * g[j]


def adafactor_update_(update, grad, row_var, col_var, row_var_mean, Py_ssize_t batches,
                      Py_ssize_t rows, Py_ssize_t cols, double eps1_squared):
    """Adafactor's update direction into ``update``; see reference.adafactor_update_."""
    cdef int typenum = _compute_typenum(update)
    cdef int update_typenum = cnp.PyArray_TYPE(<cnp.ndarray>update)
    if batches < 0 or rows < 0 or cols < 0:
        raise ValueError("adafactor_update_: negative dimensions")
    cdef Py_ssize_t n = batches * rows * cols
    cdef object u_work = _operand(update, "update", update_typenum, typenum, n)
    grad = _grad_operand(grad, update, typenum)
    # The factors are read only: _operand's checks, and a copy when not directly usable.
    cdef object r_work = _operand(row_var, "row_var", update_typenum, typenum, batches * rows)
    cdef object c_work = _operand(col_var, "col_var", update_typenum, typenum, batches * cols)
    cdef object m_work = _operand(row_var_mean, "row_var_mean", update_typenum, typenum,
                                  batches)
    cdef void* u = _ptr(u_work)
    cdef void* g = _ptr(grad)
    cdef void* r = _ptr(r_work)
    cdef void* c = _ptr(c_work)
    cdef void* m = _ptr(m_work)
    with nogil:
        if typenum == cnp.NPY_DOUBLE:
            _adafactor_update_loop(<double*>u, <const double*>g, <const double*>r,
                                   <const double*>c, <const double*>m, batches, rows, cols,
                                   eps1_squared)
        else:
            _adafactor_update_loop(<float*>u, <const float*>g, <const float*>r,
                                   <const float*>c, <const float*>m, batches, rows, cols,
                                   eps1_squared)
    _write_back(update, u_work)
