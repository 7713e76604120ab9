# cython: language_level=3
# distutils: extra_compile_args = -fno-math-errno -ffp-contract=off -fno-inline-functions-called-once -fno-inline-small-functions -fno-inline-functions
"""Kernels for ``mg.compile``'s replays: whole optimizer steps in one call.

``adam_group_`` runs the loop of ``Adam.step`` over one parameter group: for each parameter
with a gradient, the step count in its state is incremented and the update of ``adam_`` is
applied, with the same scalars computed the same way (``lr / (1 - beta1**step)``,
``(1 - beta2**step) ** 0.5``, both by the C library's ``pow`` as Python computes them) and the
same loops: the optimizer kernels of ``_optim_impl.pxi`` are compiled into this module (baseline
instruction set; the AVX2 build that ``_optim`` may use rounds every operation identically,
see ``_optim``). A replayed Adam step then pays one call per group instead of one Python
iteration and one 15-argument kernel call per parameter.

Its numpy twin is the Python loop itself (``minigrad/_compile_lower.py``, with
``reference.adam_``): the tests compare the two bit for bit.

A parameter this loop does not take (no state yet, a gradient of another shape, a step count
that is not a Python float, an array that is not an ndarray) stops it: the caller continues
from the index returned, in Python, as ``Adam.step`` would.
"""
include "_optim_impl.pxi"

from cpython.dict cimport PyDict_GetItem, PyDict_SetItem
from cpython.object cimport PyObject
from libc.math cimport pow


cdef inline bint _grad_fits(object grad, object param):
    """Whether ``adam_`` would read ``grad`` for ``param`` without broadcasting."""
    return (type(grad) is cnp.ndarray and
            _same_dims(<cnp.ndarray>grad, <cnp.ndarray>param))


cdef inline bint _same_dims(cnp.ndarray a, cnp.ndarray b) noexcept:
    cdef int ndim = cnp.PyArray_NDIM(a)
    if cnp.PyArray_NDIM(b) != ndim:
        return False
    cdef int d
    for d in range(ndim):
        if cnp.PyArray_DIMS(a)[d] != cnp.PyArray_DIMS(b)[d]:
            return False
    return True


def adam_group_(list params, object state, double lr, double beta1, double beta2, double eps,
                double weight_decay, bint decoupled_weight_decay, bint amsgrad,
                bint maximize, object kernel=None, Py_ssize_t kernel_min_size=0):
    """Adam.step's loop over ``params`` (one group); returns -1 when every parameter was
    handled, else the index of the first one left to the caller (nothing done for it).
    ``state``: the optimizer's state (a dict, looked up without creating entries).
    ``kernel``: the backend's ``adam_``, called for parameters of at least
    ``kernel_min_size`` elements (its AVX2 build is faster on large ones; same bits)."""
    cdef Py_ssize_t index
    cdef object p, g, grad, data, param_state, m_arr, v_arr, vmax_arr, step_obj
    cdef PyObject* item
    cdef double step, last_step = -1.0, step_size = 0.0, bc2_sqrt = 0.0
    cdef bint have_last = False
    cdef int typenum, param_typenum
    cdef Py_ssize_t n
    cdef object work, m_work, v_work, vmax_work
    cdef _AdamScalars c
    cdef void* pp
    cdef void* pg
    cdef void* pm
    cdef void* pv
    cdef void* pvmax
    if not isinstance(state, dict):  # optimizer.state: a defaultdict (read without __missing__)
        return 0
    for index in range(len(params)):
        p = params[index]
        g = p._grad
        if g is None:
            continue
        grad = g._data
        data = p._data
        if type(data) is not cnp.ndarray or not _grad_fits(grad, data):
            return index
        item = PyDict_GetItem(state, p)
        if item == NULL:
            return index
        param_state = <object>item
        if type(param_state) is not dict or not param_state:
            return index
        item = PyDict_GetItem(param_state, "step")
        if item == NULL or type(<object>item) is not float:
            return index
        step = <double>(<object>item) + 1.0
        PyDict_SetItem(param_state, "step", step)  # before the kernel's checks, as Adam.step
        m_arr = param_state["exp_avg"]
        v_arr = param_state["exp_avg_sq"]
        vmax_arr = param_state.get("max_exp_avg_sq")
        if kernel is not None and cnp.PyArray_SIZE(<cnp.ndarray>data) >= kernel_min_size:
            # (the step count is already incremented above)
            if not have_last or step != last_step:
                have_last = True
                last_step = step
                step_size = lr / (1 - pow(beta1, step))
                bc2_sqrt = pow(1 - pow(beta2, step), 0.5)
            kernel(data, grad, param_state["exp_avg"], param_state["exp_avg_sq"],
                   param_state.get("max_exp_avg_sq"), lr, beta1, beta2, eps, weight_decay,
                   decoupled_weight_decay, amsgrad, maximize, step_size, bc2_sqrt)
            continue
        # The checks of adam_, before anything is written.
        typenum = _compute_typenum(data)
        param_typenum = cnp.PyArray_TYPE(<cnp.ndarray>data)
        n = cnp.PyArray_SIZE(<cnp.ndarray>data)
        work = _operand(data, "param", param_typenum, typenum, n)
        grad = _grad_operand(grad, data, typenum)
        m_work = _operand(m_arr, "exp_avg", param_typenum, typenum, n)
        v_work = _operand(v_arr, "exp_avg_sq", param_typenum, typenum, n)
        vmax_work = None
        if amsgrad:
            vmax_work = _operand(vmax_arr, "max_exp_avg_sq", param_typenum, typenum, n)
        if not have_last or step != last_step:
            have_last = True
            last_step = step
            step_size = lr / (1 - pow(beta1, step))
            bc2_sqrt = pow(1 - pow(beta2, step), 0.5)
        c = _adam_scalars(lr, beta1, beta2, eps, weight_decay, decoupled_weight_decay,
                          maximize, step_size, bc2_sqrt)
        pp = _ptr(work)
        pg = _ptr(grad)
        pm = _ptr(m_work)
        pv = _ptr(v_work)
        pvmax = _ptr(vmax_work) if amsgrad else NULL
        if typenum == cnp.NPY_DOUBLE:
            if amsgrad:
                _adam_amsgrad_loop(<double*>pp, <const double*>pg, <double*>pm, <double*>pv,
                                   <double*>pvmax, n, c)
            else:
                _adam_loop(<double*>pp, <const double*>pg, <double*>pm, <double*>pv, n, c)
        else:
            if amsgrad:
                _adam_amsgrad_loop(<float*>pp, <const float*>pg, <float*>pm, <float*>pv,
                                   <float*>pvmax, n, c)
            else:
                _adam_loop(<float*>pp, <const float*>pg, <float*>pm, <float*>pv, n, c)
        _write_back(data, work)
        _write_back(m_arr, m_work)
        _write_back(v_arr, v_work)
        if amsgrad:
            _write_back(vmax_arr, vmax_work)
    return -1
