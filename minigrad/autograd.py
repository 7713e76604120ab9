"""Reverse-mode automatic differentiation: graph recording and the backward pass.

How it works, in three pieces:

1. A primitive op is a ``Function`` subclass with a ``forward`` and a ``backward`` that work on
   numpy arrays, side by side (see ``ops.py``). ``Function.apply(*tensors)`` runs ``forward`` on
   the tensors' arrays and, when gradients are wanted, records the call: the output tensor
   keeps the ``Function`` instance (its ``grad_fn``), which keeps its input tensors and
   whatever ``forward`` saved for ``backward``.
2. ``backward(tensor)`` visits the recorded graph newest node first (a heap on creation
   order, not recursion, so a 100,000-op chain is fine), each node once,
   calling its ``backward`` with dL/d(output) and routing the returned dL/d(input)s to the
   inputs. Gradients that reach one tensor along several paths are added: a value used twice
   gets both contributions (the multivariate chain rule).
3. A binary op on broadcast shapes hands back a gradient of the broadcast shape; the engine
   sums it back to each input's shape in one place, ``unbroadcast``.

``no_grad`` switches recording off, so inference does no bookkeeping at all.
"""
import functools
import itertools
from heapq import heappop, heappush

import numpy as np

from .errors import ShapeError

_grad_enabled = True
_tensor_type = None  # minigrad.tensor.Tensor, registered by tensor.py (nothing imports upward)
_sequence = itertools.count()  # creation order of graph nodes: see backward()


def is_grad_enabled():
    """True when operations are being recorded for backward."""
    return _grad_enabled


class _GradMode:
    """Base of no_grad / enable_grad: a context manager that also works as a decorator."""

    mode = True

    def __enter__(self):
        global _grad_enabled
        self._previous = _grad_enabled
        _grad_enabled = self.mode

    def __exit__(self, *exc):
        global _grad_enabled
        _grad_enabled = self._previous
        return False

    def __call__(self, func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with self.__class__():
                return func(*args, **kwargs)

        return wrapper


class no_grad(_GradMode):
    """Context manager / decorator: operations inside record no graph (like torch.no_grad)."""

    mode = False


class enable_grad(_GradMode):
    """Context manager / decorator: turn recording back on inside a no_grad block."""

    mode = True


class set_grad_enabled(_GradMode):
    """``with set_grad_enabled(False): ...`` or ``set_grad_enabled(False)`` as a plain call."""

    def __init__(self, mode):
        global _grad_enabled
        self.mode = bool(mode)
        self._previous = _grad_enabled
        _grad_enabled = self.mode

    def __enter__(self):
        pass

    def __call__(self, func):
        global _grad_enabled
        _grad_enabled = self._previous  # used as a decorator: do not leave the mode switched
        mode = self.mode

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with set_grad_enabled(mode):
                return func(*args, **kwargs)

        return wrapper


def unbroadcast(grad, shape):
    """Sum ``grad`` (of a broadcast result's shape) down to ``shape``.

    Broadcasting copies an input along new leading axes and along axes of size 1, so the
    gradient of the input is the sum of the output gradient over exactly those axes.
    """
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra:
        grad = grad.sum(axis=tuple(range(extra)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    return grad


class Function:
    """One primitive op: ``forward`` and ``backward`` on numpy arrays, and its graph node.

    Subclasses implement

    - ``forward(self, *arrays, **options) -> ndarray``: the arrays of the Tensor arguments
      (other arguments, such as Python scalars, arrive unchanged); save what backward needs
      with ``self.save_for_backward(...)`` or as attributes;
    - ``backward(self, grad_output) -> tuple``: given dL/d(output), return dL/d(input) for
      every positional argument of ``forward`` (None where there is none), each of its
      input's shape (or a broadcast shape, which the engine reduces with ``unbroadcast``).

    The instance is the node of the graph (the ``grad_fn`` of its output) and its context.
    """

    __slots__ = ("__dict__", "inputs", "needs_input_grad", "saved_tensors", "sequence_nr")

    def save_for_backward(self, *arrays):
        self.saved_tensors = arrays

    @classmethod
    def apply(cls, *args, **options):
        """Run the op on Tensors (and constants), recording it if any input requires grad.

        One- and two-argument ops (nearly all of them) take a spelled-out path: this method
        runs once per op in every training step, and the generic loop costs about as much
        again as the rest of the op on a small tensor."""
        Tensor = _tensor_type
        node = cls()
        n = len(args)
        if n == 2:
            a, b = args
            a_is, b_is = isinstance(a, Tensor), isinstance(b, Tensor)
            out = node.forward(a._data if a_is else a, b._data if b_is else b, **options) \
                if options else node.forward(a._data if a_is else a, b._data if b_is else b)
            needs = (a_is and a._requires_grad, b_is and b._requires_grad)
        elif n == 1:
            a = args[0]
            out = node.forward(a._data, **options) if options else node.forward(a._data)
            needs = (a._requires_grad,)
        elif n == 3:  # Linear (x, weight, bias) and the losses with a weight
            a, b, c = args
            a_is, b_is, c_is = isinstance(a, Tensor), isinstance(b, Tensor), isinstance(c, Tensor)
            out = node.forward(a._data if a_is else a, b._data if b_is else b,
                               c._data if c_is else c, **options)
            needs = (a_is and a._requires_grad, b_is and b._requires_grad,
                     c_is and c._requires_grad)
        else:
            out = node.forward(*[a._data if isinstance(a, Tensor) else a for a in args],
                               **options)
            needs = tuple([isinstance(a, Tensor) and a._requires_grad for a in args])
        result = Tensor.__new__(Tensor)
        result._data = out
        result.grad = None
        if _grad_enabled and True in needs:
            node.inputs = args
            node.needs_input_grad = needs
            node.sequence_nr = next(_sequence)
            result._requires_grad = True
            result._ctx = node
        else:
            result._requires_grad = False
            result._ctx = None
        return result

    def forward(self, *args, **options):  # pragma: no cover - abstract
        raise NotImplementedError

    def backward(self, grad_output):  # pragma: no cover - abstract
        raise NotImplementedError

    # Introspection, in PyTorch's spelling (t.grad_fn.name(), t.grad_fn.next_functions).
    def name(self):
        return type(self).__name__ + "Backward0"  # torch: y.grad_fn.name() == "AddBackward0"

    @property
    def next_functions(self):
        return tuple((a._ctx if isinstance(a, _tensor_type) and a._requires_grad else None, 0)
                     for a in self.inputs)

    def __repr__(self):
        return f"<{self.name()} object at {id(self):#x}>"


def _accumulate_leaf(leaf, grad):
    """``leaf.grad += grad``; the first gradient is copied so it never aliases another array."""
    if grad.dtype != leaf._data.dtype:
        grad = grad.astype(leaf._data.dtype)
    if leaf.grad is None:
        stored = _tensor_type.__new__(_tensor_type)
        stored._data = np.array(grad, copy=True, order="C")
        stored.grad = None
        stored._ctx = None
        stored._requires_grad = False
        leaf.grad = stored
    else:
        stored = leaf.grad._data
        if stored.flags.writeable and stored.shape == grad.shape:
            np.add(stored, grad, out=stored)  # in place, as torch accumulates
        else:  # a gradient the user assigned (read-only, or of another shape)
            leaf.grad._data = stored + grad


_SEED_GRADIENTS = {}


def _seed_gradient(shape, dtype):
    """d(out)/d(out) = 1 for a one-element output, cached read-only (no op writes into the
    gradient it is given, and the read-only flag would catch one that did)."""
    key = (shape, dtype)
    seed = _SEED_GRADIENTS.get(key)
    if seed is None:
        seed = np.ones(shape, dtype=dtype)
        seed.flags.writeable = False
        _SEED_GRADIENTS[key] = seed
    return seed


def backward(tensor, gradient=None):
    """Backpropagate from ``tensor``: add d(tensor)/d(leaf) (times ``gradient``) into every
    leaf's ``.grad``. See ``Tensor.backward`` for the rules on ``gradient``."""
    Tensor = _tensor_type
    if not tensor._requires_grad:
        raise RuntimeError(
            "element 0 of tensors does not require grad and does not have a grad_fn")
    if gradient is None:
        if tensor._data.size != 1:
            raise RuntimeError(
                f"grad can be implicitly created only for scalar outputs (this output has "
                f"shape {tuple(tensor._data.shape)}); pass backward(gradient=...)")
        grad = _seed_gradient(tensor._data.shape, tensor._data.dtype)
    else:
        grad = gradient._data if isinstance(gradient, Tensor) else np.asarray(gradient)
        if grad.shape != tensor._data.shape:
            raise ShapeError(
                f"backward: gradient has shape {tuple(grad.shape)} but the output has shape "
                f"{tuple(tensor._data.shape)}; they must match")
        grad = grad.astype(tensor._data.dtype, copy=False)

    root = tensor._ctx
    if root is None:  # backward on a leaf: its gradient is just `gradient`
        _accumulate_leaf(tensor, grad)
        return

    # Visit nodes newest first. A node is always created after the nodes of its inputs, so
    # when the newest pending node is taken, every node that consumes its output (all newer)
    # has already passed its gradient on: its dL/d(output) is complete. A heap keyed on the
    # creation number gives that order in one pass, with no separate topological sort.
    pending = {root: grad}
    heap = [(-root.sequence_nr, root)]
    while heap:
        node = heappop(heap)[1]
        input_grads = node.backward(pending.pop(node))
        if type(input_grads) is not tuple:
            input_grads = (input_grads,)
        for inp, needs, g in zip(node.inputs, node.needs_input_grad, input_grads):
            if not needs or g is None:
                continue
            if g.shape != inp._data.shape:
                g = unbroadcast(g, inp._data.shape)
            parent = inp._ctx
            if parent is None:
                _accumulate_leaf(inp, g)
            elif parent in pending:
                pending[parent] = pending[parent] + g
            else:
                pending[parent] = g
                heappush(heap, (-parent.sequence_nr, parent))


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True):
    """Compare autograd's gradients of ``fn`` with central finite differences (float64).

    Like ``torch.autograd.gradcheck``: ``inputs`` is a Tensor or a tuple of Tensors; those with
    ``requires_grad`` are checked. ``fn(*inputs)`` returns a Tensor (or a tuple of Tensors).
    For every output element o and input element x, the analytical d o / d x (one backward per
    output element) must match (o(x + eps) - o(x - eps)) / (2 eps) within
    ``atol + rtol * |numerical|``. Returns True, or raises ``GradcheckError`` naming the worst
    element (with ``raise_exception=False``, returns False instead).

    Inputs should be float64 (as in PyTorch, float32 differences are too coarse).
    """
    Tensor = _tensor_type
    if isinstance(inputs, Tensor):
        inputs = (inputs,)
    inputs = tuple(inputs)
    checked = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input requires grad, so there is nothing to check")

    def outputs_of(args):
        with no_grad():
            out = fn(*args)
        outs = out if isinstance(out, (tuple, list)) else (out,)
        return [np.array(o._data, dtype=np.float64) for o in outs]

    base_outputs = outputs_of(inputs)

    # Numerical Jacobians, one column per input element.
    numerical = {}
    for i in checked:
        x = inputs[i]._data
        flat = x.reshape(-1)  # a view: perturbs the tensor's data in place
        if not np.shares_memory(flat, x) and flat.size:
            raise ValueError("gradcheck needs inputs whose data is contiguous")
        cols = []
        for k in range(flat.size):
            orig = flat[k]
            flat[k] = orig + eps
            plus = outputs_of(inputs)
            flat[k] = orig - eps
            minus = outputs_of(inputs)
            flat[k] = orig
            cols.append([(p - m).reshape(-1) / (2 * eps) for p, m in zip(plus, minus)])
        numerical[i] = cols

    # Analytical Jacobians, one backward per output element.
    worst = None
    for out_index, base in enumerate(base_outputs):
        for j in range(base.size):
            for i in checked:
                inputs[i].grad = None
            with enable_grad():
                out = fn(*inputs)
            outs = out if isinstance(out, (tuple, list)) else (out,)
            o = outs[out_index]
            if not o.requires_grad:
                analytic = {i: np.zeros(inputs[i]._data.size) for i in checked}
            else:
                seed = np.zeros(o._data.size, dtype=o._data.dtype)
                seed[j] = 1
                backward(o, seed.reshape(o._data.shape))
                analytic = {i: (np.zeros(inputs[i]._data.size) if inputs[i].grad is None
                                else inputs[i].grad._data.astype(np.float64).reshape(-1))
                            for i in checked}
            for i in checked:
                for k in range(inputs[i]._data.size):
                    num = numerical[i][k][out_index][j]
                    ana = analytic[i][k]
                    err = abs(ana - num) - (atol + rtol * abs(num))
                    if not np.isfinite(ana) or not np.isfinite(num):
                        err = np.inf if not (np.isnan(ana) and np.isnan(num)) else -np.inf
                    if worst is None or err > worst[0]:
                        worst = (err, i, k, out_index, j, ana, num)
    for i in checked:
        inputs[i].grad = None
    if worst is not None and worst[0] > 0:
        err, i, k, out_index, j, ana, num = worst
        index = np.unravel_index(k, inputs[i]._data.shape)
        message = (
            f"Jacobian mismatch for output {out_index} element {j} with respect to input {i} "
            f"element {tuple(int(v) for v in index)}: analytical {ana!r}, numerical {num!r} "
            f"(atol={atol}, rtol={rtol})")
        if raise_exception:
            raise GradcheckError(message)
        return False
    return True


class GradcheckError(RuntimeError):
    """Raised by gradcheck when analytical and numerical gradients disagree."""
