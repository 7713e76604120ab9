"""Reverse-mode automatic differentiation, with PyTorch's semantics (``torch.autograd``).

Where to read
-------------
- ``graph.py``: ``Op``, the base of every primitive op: ``forward`` and ``backward`` side by
  side; ``apply`` records the op as a node of the graph; saved values; storage versions.
- ``engine.py``: the backward pass (``backward``, ``grad``): nodes newest first off a heap,
  gradients summed per node, broadcasting undone in one place, hooks.
- ``function.py``: ``Function``, custom ops in PyTorch's ctx style.
- ``grad_mode.py`` (``no_grad`` and friends, thread-local), ``anomaly_mode.py``,
  ``gradcheck.py`` (``gradcheck``, ``gradgradcheck``), ``functional.py`` (``jacobian``,
  ``hessian``, ``vjp``, ``jvp``, ``hvp``).
- ``minigrad/ops/``: the primitive ops themselves, each derivative next to its forward.

The op protocol, and why
------------------------
Each op's backward formula is written once, against a namespace ``xp``::

    def backward(self, grad, xp):
        a, b = self.saved_tensors
        return xp.mul(grad, b), xp.mul(grad, a)

On the fast path (every ordinary ``loss.backward()``) ``grad`` and the saved values are numpy
arrays and ``xp`` is the kernel namespace: the formula calls the compiled kernels directly, as
the engine did before it could differentiate twice, and costs the same. Under
``create_graph=True`` (``autograd.grad(..., create_graph=True)``, ``gradgradcheck``, Hessians,
gradient penalties) the engine hands the formula Tensors and the tensor namespace
(``minigrad/ops/tensor_math.py``), whose functions are recorded ops: the gradient comes out with
a graph of its own, and differentiating it again runs the same machinery one level up. Saved
values follow PyTorch: an op saves its inputs and its output, and for ``create_graph`` the engine
maps each saved array back to the tensor it came from (an input through the edge captured when
the op was recorded; the output as a tensor whose ``grad_fn`` is the op itself), so a
second-order graph reaches the original leaves.

The alternatives, and why not:

- Formulas written on Tensors only, run under ``no_grad`` on the fast path (what PyTorch does in
  C++): in Python every formula step would pay a Tensor's bookkeeping (~1 us) instead of a
  kernel call (~0.1-0.2 us); the backward of the seed network would cost about twice as much.
- Two formulas per op (arrays for speed, tensors for create_graph): twice the code to keep in
  agreement, and a derivative that is right on one path and wrong on the other.
- Numpy's ``__array_function__`` dispatch to make plain numpy formulas run on Tensors: clever,
  slow to dispatch, and hard to read.

Fused ops (Linear, the fused losses, softmax) follow the same protocol: where the fast path
caches a derived value in ``forward`` (the loss kernels return the loss and its derivative in
one pass), the formula recomputes that value from the saved inputs with ``xp`` when ``xp`` is
the tensor namespace, so it is differentiable too.

Other PyTorch semantics kept here: backward frees the saved values of the graph it walked
(``retain_graph=True`` keeps them; a second backward through a freed op raises RuntimeError);
in-place changes of a saved array after the op was recorded are caught at backward by storage
versions (``graph.bump``), which cost nothing until an in-place change happens; grad mode is
thread-local; hooks on tensors, nodes and modules run in PyTorch's order.
"""
from . import anomaly_mode, engine, function, functional, grad_mode, graph
from .anomaly_mode import detect_anomaly, is_anomaly_enabled, set_detect_anomaly
from .compare import Comparison, compare
from .engine import backward, grad
from .function import Function, FunctionCtx, InplaceFunction, NestedIOFunction, once_differentiable
from .grad_mode import (
    enable_grad,
    inference_mode,
    is_grad_enabled,
    is_inference_mode_enabled,
    no_grad,
    set_grad_enabled,
)
from .gradcheck import GradcheckError, gradcheck, gradgradcheck
from .graph import Op
from .trace import TraceRecord, trace

__all__ = [
    "Comparison",
    "Function",
    "FunctionCtx",
    "GradcheckError",
    "InplaceFunction",
    "NestedIOFunction",
    "Op",
    "TraceRecord",
    "Variable",
    "anomaly_mode",
    "backward",
    "compare",
    "detect_anomaly",
    "enable_grad",
    "engine",
    "function",
    "functional",
    "grad",
    "grad_mode",
    "gradcheck",
    "gradgradcheck",
    "graph",
    "inference_mode",
    "is_anomaly_enabled",
    "is_grad_enabled",
    "is_inference_mode_enabled",
    "no_grad",
    "once_differentiable",
    "set_detect_anomaly",
    "set_grad_enabled",
    "trace",
]


def Variable(data, requires_grad=False, volatile=False):
    """PyTorch's legacy ``Variable(tensor, requires_grad=...)``: a Tensor (Variables and
    Tensors merged in PyTorch 0.4)."""
    Tensor = graph.tensor_type()
    if not isinstance(data, Tensor):
        raise TypeError(f"Variable data has to be a tensor, but got {type(data).__name__}")
    result = data.detach()
    if requires_grad:
        result.requires_grad_(True)
    return result
