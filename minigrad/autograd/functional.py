"""Higher-level derivatives of a function (``torch.autograd.functional``).

Everything here is built from reverse mode (``autograd.grad``), as PyTorch's versions are:

- ``vjp(f, x, v)``: v^T J, one backward pass.
- ``jvp(f, x, v)``: J v, by the double-vjp trick: u -> u^T J is linear in u, so its vjp with v
  is (J v)^T -- a backward through a backward (``create_graph=True``).
- ``jacobian(f, x)``: J, one backward pass per output element (a row each).
- ``hessian(f, x)``: the Jacobian of the gradient, d^2 f / dx_i dx_j.
- ``hvp(f, x, v)``: H v = d/dx (grad f . v);  ``vhp``: v^T H (equal, H being symmetric).

``inputs`` is a Tensor or a tuple of Tensors; results mirror that structure. The function is
evaluated on fresh leaves holding the inputs' values, so the caller's tensors are untouched.
"""
import numpy as np

from . import graph
from .engine import grad as _grad
from .grad_mode import enable_grad

__all__ = ["hessian", "hvp", "jacobian", "jvp", "vhp", "vjp"]


def _as_tuple(value, arg_name, fn_name):
    Tensor = graph.tensor_type()
    is_tuple = isinstance(value, tuple)
    items = value if is_tuple else (value,)
    for i, item in enumerate(items):
        if not isinstance(item, Tensor):
            if is_tuple:
                raise TypeError(f"The {arg_name} given to {fn_name} must be either a Tensor or "
                                f"a tuple of Tensors but the value at index {i} has type "
                                f"{type(item)}.")
            raise TypeError(f"The {arg_name} given to {fn_name} must be either a Tensor or a "
                            f"tuple of Tensors but the given {arg_name} has type {type(item)}.")
    return is_tuple, tuple(items)


def _leaves(inputs, create_graph):
    """Fresh tensors that require grad and hold the inputs' values (with the inputs' graph
    kept when ``create_graph``, so derivatives of the result reach the caller's tensors)."""
    out = []
    for t in inputs:
        if create_graph and t.requires_grad:
            out.append(t.view_as(t))
        else:
            out.append(t.detach().requires_grad_(True))
    return tuple(out)


def _outputs(func, inputs, fn_name):
    with enable_grad():
        result = func(*inputs)
    return _as_tuple(result, "outputs of the user-provided function", fn_name)


def _zeros_like(t):
    return graph._constant(np.zeros_like(t._data))


def _grads(outputs, inputs, grad_outputs, create_graph, strict, fn_name, retain_graph=None):
    """autograd.grad that tolerates outputs without a graph and gives zeros for unused
    inputs (or raises under ``strict``)."""
    used = [(o, g) for o, g in zip(outputs, grad_outputs) if o.requires_grad]
    if not used:
        grads = (None,) * len(inputs)
    else:
        grads = _grad([o for o, _ in used], inputs, [g for _, g in used],
                      retain_graph=True if retain_graph is None else retain_graph,
                      create_graph=create_graph, allow_unused=True)
    result = []
    for i, (g, t) in enumerate(zip(grads, inputs)):
        if g is None:
            if strict:
                raise RuntimeError(f"The output of the user-provided function is independent of "
                                   f"input {i}. This is not allowed in strict mode.")
            g = _zeros_like(t)
        result.append(g)
    return tuple(result)


def _detach(values, create_graph):
    return tuple(v if create_graph else v.detach() for v in values)


def _fill_v(v, outputs, fn_name, arg="v"):
    """``v`` as a tuple matching ``outputs``; may be omitted for one-element outputs."""
    if v is None:
        if any(o._data.size != 1 for o in outputs):
            raise RuntimeError(f"The vector {arg} can only be None if the user-provided "
                               f"function returns a single Tensor with a single element.")
        return tuple(graph._constant(np.ones_like(o._data)) for o in outputs)
    _, v = _as_tuple(v, arg, fn_name)
    if len(v) != len(outputs):
        raise RuntimeError(f"{arg} is a tuple of invalid length: should be {len(outputs)} but "
                           f"got {len(v)}.")
    for i, (vi, o) in enumerate(zip(v, outputs)):
        if tuple(vi.shape) != tuple(o.shape):
            raise RuntimeError(f"Entry {i} in {arg} has invalid size: should be "
                               f"{list(o.shape)} but got {list(vi.shape)}.")
    return v


def vjp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), v^T J): the vector-Jacobian product at ``inputs``."""
    is_tuple, inputs = _as_tuple(inputs, "inputs", "vjp")
    leaves = _leaves(inputs, create_graph)
    out_is_tuple, outputs = _outputs(func, leaves, "vjp")
    v = _fill_v(v, outputs, "vjp")
    grads = _grads(outputs, leaves, v, create_graph, strict, "vjp")
    outputs = _detach(outputs, create_graph)
    return (outputs if out_is_tuple else outputs[0],
            _detach(grads, create_graph) if is_tuple else _detach(grads, create_graph)[0])


def jvp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), J v): the Jacobian-vector product, by the double-vjp trick."""
    _, inputs = _as_tuple(inputs, "inputs", "jvp")
    leaves = _leaves(inputs, create_graph)
    if v is None:
        if len(leaves) != 1 or leaves[0]._data.size != 1:
            raise RuntimeError("The vector v can only be None if the input to the "
                               "user-provided function is a single Tensor with a single "
                               "element.")
        v = (graph._constant(np.ones_like(leaves[0]._data)),)
    else:
        v = _fill_v(v, leaves, "jvp")
    out_is_tuple, outputs = _outputs(func, leaves, "jvp")
    # u -> u^T J is linear in u; its vjp with v is J v.
    dummies = tuple(_zeros_like(o).requires_grad_(True) for o in outputs)
    grads = _grads(outputs, leaves, dummies, True, strict, "jvp")
    used = [(g, vi) for g, vi in zip(grads, v) if g.requires_grad]
    if used:
        result = _grad([g for g, _ in used], dummies, [vi for _, vi in used],
                       create_graph=create_graph, allow_unused=True, retain_graph=True)
    else:
        result = (None,) * len(dummies)
    result = tuple(_zeros_like(o) if r is None else r for r, o in zip(result, outputs))
    outputs = _detach(outputs, create_graph)
    result = _detach(result, create_graph)
    return (outputs if out_is_tuple else outputs[0], result if out_is_tuple else result[0])


def jacobian(func, inputs, create_graph=False, strict=False, vectorize=False,
             strategy="reverse-mode"):
    """d func(inputs) / d inputs: for one input and one output, a Tensor of shape
    output.shape + input.shape; with tuples, a tuple (per output) of tuples (per input)."""
    if strategy != "reverse-mode":
        raise NotImplementedError("minigrad has no forward-mode AD: strategy must be "
                                  "'reverse-mode'")
    is_tuple, inputs = _as_tuple(inputs, "inputs", "jacobian")
    leaves = _leaves(inputs, create_graph)
    out_is_tuple, outputs = _outputs(func, leaves, "jacobian")
    jac = []
    for out in outputs:
        rows = [[] for _ in leaves]
        flat = out.reshape(-1)
        for j in range(flat._data.size):
            if out.requires_grad:
                grads = _grads((flat[j],), leaves, (None,), create_graph, strict, "jacobian")
            else:
                if strict:
                    raise RuntimeError("Output 0 of the user-provided function does not "
                                       "require gradients. The outputs must be computed in a "
                                       "differentiable manner from the input when running in "
                                       "strict mode.")
                grads = tuple(_zeros_like(t) for t in leaves)
            for i, g in enumerate(grads):
                rows[i].append(g)
        per_input = []
        from ..tensor import stack  # the functional API sits above the engine
        for i, t in enumerate(leaves):
            if rows[i]:
                block = stack(rows[i], 0).reshape(tuple(out.shape) + tuple(t.shape))
            else:
                block = graph._constant(np.zeros(tuple(out.shape) + tuple(t.shape),
                                                 t._data.dtype))
            per_input.append(block if create_graph else block.detach())
        jac.append(tuple(per_input))
    if not out_is_tuple and not is_tuple:
        return jac[0][0]
    if not out_is_tuple:
        return jac[0]
    if not is_tuple:
        return tuple(row[0] for row in jac)
    return tuple(jac)


def hessian(func, inputs, create_graph=False, strict=False, vectorize=False,
            outer_jacobian_strategy="reverse-mode"):
    """d^2 func / d inputs^2 for a function returning one scalar: shape input.shape * 2."""
    is_tuple, inputs = _as_tuple(inputs, "inputs", "hessian")

    def gradient(*args):
        out_is_tuple, out = _outputs(func, args, "hessian")
        if out_is_tuple or out[0]._data.size != 1:
            raise RuntimeError("The function given to hessian should return a single Tensor "
                               "with a single element")
        return _grads(out, args, (None,), True, strict, "hessian")

    result = jacobian(gradient, inputs, create_graph=create_graph, strict=strict,
                      strategy=outer_jacobian_strategy)  # a tuple (per input) of tuples
    return result if is_tuple else result[0][0]


def _scalar_gradient(func, leaves, fn_name, strict):
    out_is_tuple, outputs = _outputs(func, leaves, fn_name)
    if out_is_tuple or outputs[0]._data.size != 1:
        raise RuntimeError(f"The function given to {fn_name} should return a single Tensor "
                           f"with a single element")
    return outputs[0], _grads(outputs, leaves, (None,), True, strict, fn_name)


def hvp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), H v): the Hessian-vector product, as d/dx (grad f . v)."""
    return _hessian_product(func, inputs, v, create_graph, strict, "hvp")


def vhp(func, inputs, v=None, create_graph=False, strict=False):
    """(func(inputs), v^T H)."""
    return _hessian_product(func, inputs, v, create_graph, strict, "vhp")


def _hessian_product(func, inputs, v, create_graph, strict, fn_name):
    is_tuple, inputs = _as_tuple(inputs, "inputs", fn_name)
    leaves = _leaves(inputs, create_graph)
    if v is None:
        if len(leaves) != 1 or leaves[0]._data.size != 1:
            raise RuntimeError("The vector v can only be None if the input to the "
                               "user-provided function is a single Tensor with a single "
                               "element.")
        v = (graph._constant(np.ones_like(leaves[0]._data)),)
    else:
        v = _fill_v(v, leaves, fn_name)
    output, grads = _scalar_gradient(func, leaves, fn_name, strict)
    used = [(g, vi) for g, vi in zip(grads, v) if g.requires_grad]
    if used:
        result = _grads([g for g, _ in used], leaves, [vi for _, vi in used], create_graph,
                        strict, fn_name)
    else:
        result = tuple(_zeros_like(t) for t in leaves)
    output = output if create_graph else output.detach()
    result = _detach(result, create_graph)
    return output, (result if is_tuple else result[0])
