"""``gradcheck`` and ``gradgradcheck``: autograd's derivatives against finite differences.

How gradcheck works. For a function f from tensors to tensors, the Jacobian J[o, x] = d o / d x
is built twice, element by element:

- numerically, by central differences: perturb one input element x by +-eps and take
  (f(x + eps) - f(x - eps)) / (2 eps) -- a column of J per input element;
- analytically, by reverse mode: one backward per output element o, seeded with the unit
  vector e_o, gives the row e_o^T J -- a row of J per output element.

Every pair must agree within ``atol + rtol * |numerical|``. Central differences have an error
of order eps^2 f''' (truncation) plus eps_machine |f| / eps (round-off), so they need float64:
in float32 the round-off term alone is ~1e-7 / 1e-6 ~ 0.1. A failure names the worst element,
so a wrong derivative formula can be found from the message.

``gradgradcheck`` checks second derivatives the same way: it gradchecks the function
(inputs, v) -> v^T J(inputs), computed with ``create_graph=True``, so every backward formula that
f uses is itself differentiated.
"""
import warnings

import numpy as np

from . import graph
from .engine import grad as _grad
from .grad_mode import enable_grad, no_grad

__all__ = ["GradcheckError", "gradcheck", "gradgradcheck"]


class GradcheckError(RuntimeError):
    """Raised by gradcheck when analytical and numerical gradients disagree."""


def _as_tuple(x):
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def _differentiable_outputs(outputs):
    Tensor = graph.tensor_type()
    return tuple(o for o in outputs if isinstance(o, Tensor) and o._data.dtype.kind == "f")


def gradcheck(func, inputs, *, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True,
              nondet_tol=0.0, check_undefined_grad=True, check_grad_dtypes=False,
              check_batched_grad=False, check_batched_forward_grad=False,
              check_forward_ad=False, check_backward_ad=True, fast_mode=False, masked=None):
    """Check the gradients of ``func(*inputs)`` against central finite differences, for every
    input that requires grad (``torch.autograd.gradcheck``). Returns True, or raises
    ``GradcheckError`` naming the worst element (False with ``raise_exception=False``).

    What it does: it builds the Jacobian J[o, x] = d output_o / d input_x twice. Numerically,
    by nudging each input element x by +-eps and taking (f(x + eps) - f(x - eps)) / (2 eps)
    (a column of J each); analytically, by running backward once per output element o with
    the unit vector e_o as the output gradient (a row of J each: the vector-Jacobian product
    autograd computes). Each pair must agree within ``atol + rtol * |numerical|``. A wrong
    backward formula (a missing factor, a transposed product, a forgotten sum over a
    broadcast dimension) shows up as a large difference at the element it affects. It costs
    two evaluations of ``func`` per input element plus one backward per output element: use
    small inputs. Points where ``func`` has a kink (relu at 0, abs at 0, max with ties) give
    one-sided answers that cannot agree: keep inputs away from them.

    Use float64 inputs. The batched and forward-mode options of PyTorch are accepted only at
    their defaults (minigrad has neither vmap nor forward-mode AD)."""
    if check_batched_grad or check_batched_forward_grad or check_forward_ad:
        raise NotImplementedError("minigrad's gradcheck has no batched or forward-mode checks "
                                  "(check_batched_grad, check_batched_forward_grad and "
                                  "check_forward_ad must be False)")
    Tensor = graph.tensor_type()
    inputs = _as_tuple(inputs)
    checked = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    if not checked:
        raise ValueError("gradcheck expects at least one input tensor to require gradient, but "
                         "none of the them have requires_grad=True.")
    for i in checked:
        if inputs[i]._data.dtype != np.float64:
            warnings.warn(f"Input #{i} requires gradient and is not a double precision floating "
                          "point or complex. This check will likely fail if all the inputs are "
                          "not of double precision floating point or complex.", UserWarning,
                          stacklevel=2)

    def evaluate():  # with recording on: func may itself differentiate (gradgradcheck)
        outs = _differentiable_outputs(_as_tuple(func(*inputs)))
        return [np.array(o._data, dtype=np.float64) for o in outs]

    base = evaluate()
    # Numerical Jacobians: numerical[i][k] = [d out_j / d x_ik for each output j] (flattened).
    numerical = {}
    for i in checked:
        x = inputs[i]._data
        columns = []
        for index in np.ndindex(x.shape):
            original = x[index].copy()
            x[index] = original + eps
            plus = evaluate()
            x[index] = original - eps
            minus = evaluate()
            x[index] = original
            columns.append([(p - m).reshape(-1) / (2 * eps) for p, m in zip(plus, minus)])
        numerical[i] = columns

    # Analytical Jacobians: one reverse pass per output element.
    worst = None
    with enable_grad():
        outputs = _differentiable_outputs(_as_tuple(func(*inputs)))
    if len(outputs) != len(base):
        raise GradcheckError("gradcheck: the function returned a different number of "
                             "differentiable outputs on a second call")
    for j_out, (out, reference) in enumerate(zip(outputs, base)):
        for j in range(reference.size):
            if out.requires_grad:
                seed = np.zeros(out._data.size, dtype=out._data.dtype)
                seed[j] = 1
                grads = _grad(out, [inputs[i] for i in checked], seed.reshape(out._data.shape),
                              retain_graph=True, allow_unused=True)
            else:
                grads = (None,) * len(checked)
            for i, g in zip(checked, grads):
                size = inputs[i]._data.size
                analytic = np.zeros(size) if g is None else \
                    np.asarray(g._data, dtype=np.float64).reshape(-1)
                for k in range(size):
                    num = numerical[i][k][j_out][j]
                    ana = analytic[k]
                    if np.isfinite(ana) and np.isfinite(num):
                        err = abs(ana - num) - (atol + rtol * abs(num))
                    elif np.isnan(ana) and np.isnan(num) or ana == num:
                        err = -np.inf
                    else:
                        err = np.inf
                    if worst is None or err > worst[0]:
                        worst = (err, i, k, j_out, j, ana, num)
    if worst is not None and worst[0] > 0:
        err, i, k, j_out, j, ana, num = worst
        index = tuple(int(v) for v in np.unravel_index(k, inputs[i]._data.shape))
        message = (f"Jacobian mismatch for output {j_out} element {j} with respect to input "
                   f"{i} element {index}: analytical {float(ana)!r}, numerical {float(num)!r} "
                   f"(atol={atol}, rtol={rtol})")
        if raise_exception:
            raise GradcheckError(message)
        return False
    return True


def gradgradcheck(func, inputs, grad_outputs=None, *, eps=1e-6, atol=1e-5, rtol=1e-3,
                  gen_non_contig_grad_outputs=False, raise_exception=True, nondet_tol=0.0,
                  check_undefined_grad=True, check_grad_dtypes=False, check_batched_grad=False,
                  check_fwd_over_rev=False, check_rev_over_rev=True, fast_mode=False,
                  masked=False):
    """Check second derivatives (``torch.autograd.gradgradcheck``): gradcheck of
    (inputs, v) -> v^T J(inputs), the vector-Jacobian product computed with
    ``create_graph=True``. ``grad_outputs`` (the v) are random when not given."""
    if check_fwd_over_rev or check_batched_grad:
        raise NotImplementedError("minigrad has no forward-mode AD or vmap "
                                  "(check_fwd_over_rev and check_batched_grad must be False)")
    Tensor = graph.tensor_type()
    inputs = _as_tuple(inputs)
    differentiable = [t for t in inputs if isinstance(t, Tensor) and t.requires_grad]
    if grad_outputs is None:
        with no_grad():
            outputs = _differentiable_outputs(_as_tuple(func(*inputs)))
        rng = np.random.default_rng(0)
        grad_outputs = []
        for o in outputs:
            values = rng.uniform(-1, 1, o._data.shape).astype(o._data.dtype)
            if gen_non_contig_grad_outputs and values.ndim:
                values = np.repeat(values, 2, axis=-1)[..., ::2]
            v = Tensor.__new__(Tensor)
            v._data, v._grad, v._grad_fn, v._requires_grad = values, None, None, False
            v.requires_grad_(True)
            grad_outputs.append(v)
    grad_outputs = _as_tuple(grad_outputs)
    n_inputs = len(inputs)

    def vector_jacobian_product(*args):
        outs = _differentiable_outputs(_as_tuple(func(*args[:n_inputs])))
        used = [(o, v) for o, v in zip(outs, args[n_inputs:]) if o.requires_grad]
        if not used:
            return ()
        diff_inputs = [t for t in args[:n_inputs] if isinstance(t, Tensor) and t.requires_grad]
        grads = _grad([o for o, _ in used], diff_inputs, [v for _, v in used],
                      create_graph=True, allow_unused=True)
        return tuple(g for g in grads if g is not None)

    if not differentiable:
        raise ValueError("gradgradcheck expects at least one input tensor to require gradient")
    return gradcheck(vector_jacobian_product, inputs + tuple(grad_outputs), eps=eps, atol=atol,
                     rtol=rtol, raise_exception=raise_exception)
