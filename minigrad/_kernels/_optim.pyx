# cython: language_level=3
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

A check that fails raises ``ValueError`` (``TypeError`` for a non-array); the optimizer
then falls back to contiguous copies (see ``minigrad/optim/optimizer.py``).
"""
from libc.math cimport fabs, sqrt

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


cdef inline void* _ptr(object array):
    return cnp.PyArray_DATA(<cnp.ndarray>array)


# ----------------------------------------------------------------------------------------
# Small helpers shared by the loops
# ----------------------------------------------------------------------------------------


cdef inline floating _lerp(floating start, floating end, floating weight,
                           bint weight_small) noexcept nogil:
    """torch.lerp: start + weight * (end - start), written the way ATen does it.

    ATen picks the form by |weight| < 0.5 (the weight rounded to the parameter's dtype), so
    the result is exact at both ends.
    """
    if weight_small:
        return start + weight * (end - start)
    return end - (end - start) * (<floating>1 - weight)


cdef inline floating _maximum(floating a, floating b) noexcept nogil:
    """torch.maximum: the larger value; NaN if either is NaN."""
    if a != a or a > b:
        return a
    return b


# ----------------------------------------------------------------------------------------
# SGD
# ----------------------------------------------------------------------------------------


cdef void _sgd_loop(floating* param, const floating* grad, floating* buf, Py_ssize_t n,
                    double lr, double weight_decay, double momentum, double dampening,
                    bint nesterov, bint maximize, bint first_step) noexcept nogil:
    cdef floating wd = <floating>weight_decay
    cdef floating mom = <floating>momentum
    cdef floating keep = <floating>(1.0 - dampening)
    cdef floating neg_lr = <floating>(-lr)
    cdef floating g
    cdef Py_ssize_t i
    for i in range(n):
        g = -grad[i] if maximize else grad[i]
        if weight_decay != 0:
            g = g + wd * param[i]
        if momentum != 0:
            if first_step:
                buf[i] = g
            else:
                buf[i] = buf[i] * mom + keep * g
            if nesterov:
                g = g + mom * buf[i]
            else:
                g = buf[i]
        param[i] = param[i] + neg_lr * g


def sgd_(param, grad, momentum_buffer, double lr, double weight_decay, double momentum,
         double dampening, bint nesterov, bint maximize, bint first_step):
    """In-place SGD step on one parameter; see reference.sgd_ for the equations."""
    cdef int typenum = _float_typenum(param)
    cdef Py_ssize_t n = cnp.PyArray_SIZE(<cnp.ndarray>param)
    _check(param, "param", typenum, n, True)
    _check(grad, "grad", typenum, n, False)
    if momentum != 0:
        _check(momentum_buffer, "momentum_buffer", typenum, n, True)
    cdef void* p = _ptr(param)
    cdef void* g = _ptr(grad)
    cdef void* b = _ptr(momentum_buffer) if momentum != 0 else NULL
    with nogil:
        if typenum == cnp.NPY_DOUBLE:
            _sgd_loop(<double*>p, <const double*>g, <double*>b, n, lr, weight_decay,
                      momentum, dampening, nesterov, maximize, first_step)
        else:
            _sgd_loop(<float*>p, <const float*>g, <float*>b, n, lr, weight_decay,
                      momentum, dampening, nesterov, maximize, first_step)


# ----------------------------------------------------------------------------------------
# Adagrad
# ----------------------------------------------------------------------------------------


cdef void _adagrad_loop(floating* param, const floating* grad, floating* state_sum,
                        Py_ssize_t n, double clr, double weight_decay, double eps,
                        bint maximize) noexcept nogil:
    cdef floating wd = <floating>weight_decay
    cdef floating e = <floating>eps
    cdef floating neg_clr = <floating>(-clr)
    cdef floating one = 1
    cdef floating g, std
    cdef Py_ssize_t i
    for i in range(n):
        g = -grad[i] if maximize else grad[i]
        if weight_decay != 0:
            g = g + wd * param[i]
        state_sum[i] = state_sum[i] + one * g * g
        std = <floating>sqrt(state_sum[i]) + e
        param[i] = param[i] + neg_clr * g / std


def adagrad_(param, grad, state_sum, double clr, double weight_decay, double eps,
             bint maximize):
    """In-place Adagrad step on one parameter; see reference.adagrad_ for the equations."""
    cdef int typenum = _float_typenum(param)
    cdef Py_ssize_t n = cnp.PyArray_SIZE(<cnp.ndarray>param)
    _check(param, "param", typenum, n, True)
    _check(grad, "grad", typenum, n, False)
    _check(state_sum, "state_sum", typenum, n, True)
    cdef void* p = _ptr(param)
    cdef void* g = _ptr(grad)
    cdef void* s = _ptr(state_sum)
    with nogil:
        if typenum == cnp.NPY_DOUBLE:
            _adagrad_loop(<double*>p, <const double*>g, <double*>s, n, clr, weight_decay,
                          eps, maximize)
        else:
            _adagrad_loop(<float*>p, <const float*>g, <float*>s, n, clr, weight_decay,
                          eps, maximize)


# ----------------------------------------------------------------------------------------
# RMSprop
# ----------------------------------------------------------------------------------------


cdef void _rmsprop_loop(floating* param, const floating* grad, floating* square_avg,
                        floating* grad_avg, floating* buf, Py_ssize_t n, double lr,
                        double alpha, double eps, double weight_decay, double momentum,
                        bint centered, bint maximize) noexcept nogil:
    cdef floating wd = <floating>weight_decay
    cdef floating a = <floating>alpha
    cdef floating one_minus_a = <floating>(1.0 - alpha)
    cdef bint weight_small = fabs(one_minus_a) < 0.5
    cdef floating e = <floating>eps
    cdef floating mom = <floating>momentum
    cdef floating neg_lr = <floating>(-lr)
    cdef floating one = 1
    cdef floating g, avg
    cdef Py_ssize_t i
    for i in range(n):
        g = -grad[i] if maximize else grad[i]
        if weight_decay != 0:
            g = g + wd * param[i]
        square_avg[i] = square_avg[i] * a + one_minus_a * g * g
        if centered:
            grad_avg[i] = _lerp(grad_avg[i], g, one_minus_a, weight_small)
            avg = <floating>sqrt(square_avg[i] + (-one) * grad_avg[i] * grad_avg[i])
        else:
            avg = <floating>sqrt(square_avg[i])
        avg = avg + e
        if momentum > 0:
            buf[i] = buf[i] * mom + one * g / avg
            param[i] = param[i] + neg_lr * buf[i]
        else:
            param[i] = param[i] + neg_lr * g / avg


def rmsprop_(param, grad, square_avg, grad_avg, momentum_buffer, double lr, double alpha,
             double eps, double weight_decay, double momentum, bint centered,
             bint maximize):
    """In-place RMSprop step on one parameter; see reference.rmsprop_ for the equations."""
    cdef int typenum = _float_typenum(param)
    cdef Py_ssize_t n = cnp.PyArray_SIZE(<cnp.ndarray>param)
    _check(param, "param", typenum, n, True)
    _check(grad, "grad", typenum, n, False)
    _check(square_avg, "square_avg", typenum, n, True)
    if centered:
        _check(grad_avg, "grad_avg", typenum, n, True)
    if momentum > 0:
        _check(momentum_buffer, "momentum_buffer", typenum, n, True)
    cdef void* p = _ptr(param)
    cdef void* g = _ptr(grad)
    cdef void* sq = _ptr(square_avg)
    cdef void* ga = _ptr(grad_avg) if centered else NULL
    cdef void* b = _ptr(momentum_buffer) if momentum > 0 else NULL
    with nogil:
        if typenum == cnp.NPY_DOUBLE:
            _rmsprop_loop(<double*>p, <const double*>g, <double*>sq, <double*>ga,
                          <double*>b, n, lr, alpha, eps, weight_decay, momentum, centered,
                          maximize)
        else:
            _rmsprop_loop(<float*>p, <const float*>g, <float*>sq, <float*>ga, <float*>b,
                          n, lr, alpha, eps, weight_decay, momentum, centered, maximize)


# ----------------------------------------------------------------------------------------
# Adam / AdamW
# ----------------------------------------------------------------------------------------


cdef void _adam_loop(floating* param, const floating* grad, floating* exp_avg,
                     floating* exp_avg_sq, floating* max_exp_avg_sq, Py_ssize_t n,
                     double lr, double beta1, double beta2, double eps, double weight_decay,
                     bint decoupled_weight_decay, bint amsgrad, bint maximize,
                     double step_size, double bias_correction2_sqrt) noexcept nogil:
    cdef floating decay = <floating>(1.0 - lr * weight_decay)
    cdef floating wd = <floating>weight_decay
    cdef floating w1 = <floating>(1.0 - beta1)
    cdef bint w1_small = fabs(w1) < 0.5
    cdef floating b2 = <floating>beta2
    cdef floating one_minus_b2 = <floating>(1.0 - beta2)
    cdef floating bc2_sqrt = <floating>bias_correction2_sqrt
    cdef floating e = <floating>eps
    cdef floating neg_step = <floating>(-step_size)
    cdef floating g, v, denom
    cdef Py_ssize_t i
    for i in range(n):
        g = -grad[i] if maximize else grad[i]
        if weight_decay != 0:
            if decoupled_weight_decay:
                param[i] = param[i] * decay
            else:
                g = g + wd * param[i]
        exp_avg[i] = _lerp(exp_avg[i], g, w1, w1_small)
        exp_avg_sq[i] = exp_avg_sq[i] * b2 + one_minus_b2 * g * g
        if amsgrad:
            max_exp_avg_sq[i] = _maximum(max_exp_avg_sq[i], exp_avg_sq[i])
            v = max_exp_avg_sq[i]
        else:
            v = exp_avg_sq[i]
        denom = <floating>sqrt(v) / bc2_sqrt + e
        param[i] = param[i] + neg_step * exp_avg[i] / denom


def adam_(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, double lr, double beta1,
          double beta2, double eps, double weight_decay, bint decoupled_weight_decay,
          bint amsgrad, bint maximize, double step_size, double bias_correction2_sqrt):
    """In-place Adam/AdamW step on one parameter; see reference.adam_ for the equations."""
    cdef int typenum = _float_typenum(param)
    cdef Py_ssize_t n = cnp.PyArray_SIZE(<cnp.ndarray>param)
    _check(param, "param", typenum, n, True)
    _check(grad, "grad", typenum, n, False)
    _check(exp_avg, "exp_avg", typenum, n, True)
    _check(exp_avg_sq, "exp_avg_sq", typenum, n, True)
    if amsgrad:
        _check(max_exp_avg_sq, "max_exp_avg_sq", typenum, n, True)
    cdef void* p = _ptr(param)
    cdef void* g = _ptr(grad)
    cdef void* m = _ptr(exp_avg)
    cdef void* v = _ptr(exp_avg_sq)
    cdef void* vmax = _ptr(max_exp_avg_sq) if amsgrad else NULL
    with nogil:
        if typenum == cnp.NPY_DOUBLE:
            _adam_loop(<double*>p, <const double*>g, <double*>m, <double*>v, <double*>vmax,
                       n, lr, beta1, beta2, eps, weight_decay, decoupled_weight_decay,
                       amsgrad, maximize, step_size, bias_correction2_sqrt)
        else:
            _adam_loop(<float*>p, <const float*>g, <float*>m, <float*>v, <float*>vmax, n,
                       lr, beta1, beta2, eps, weight_decay, decoupled_weight_decay, amsgrad,
                       maximize, step_size, bias_correction2_sqrt)
