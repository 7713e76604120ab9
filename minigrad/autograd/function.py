"""Custom differentiable functions in PyTorch's style (``torch.autograd.Function``)::

    class Exp(mg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            y = x.exp()
            ctx.save_for_backward(y)
            return y

        @staticmethod
        def backward(ctx, grad):
            y, = ctx.saved_tensors
            return grad * y

    Exp.apply(x)

The same class body runs on torch and on minigrad. ``forward`` runs with recording off and gets
Tensors; ``backward`` gets and returns Tensors (recorded under ``create_graph=True``, so a
backward written with differentiable ops gives second derivatives; ``@once_differentiable``
marks one that cannot). ``ctx`` is the graph node itself: ``save_for_backward``,
``saved_tensors``, ``needs_input_grad``, ``mark_non_differentiable``, ``mark_dirty`` and
``set_materialize_grads`` behave as in PyTorch, and so do the errors for a backward that returns
the wrong number of gradients or a gradient of the wrong shape.
"""
import functools

import numpy as np

from . import anomaly_mode, graph
from .grad_mode import no_grad
from .grad_mode import state as _grad_state
from .graph import FREED_MESSAGE, Op, OutputRef

__all__ = ["Function", "FunctionCtx", "InplaceFunction", "NestedIOFunction", "once_differentiable"]


class FunctionCtx:
    """The methods ``ctx`` offers inside ``forward`` / ``setup_context`` / ``backward``."""

    def save_for_backward(self, *tensors):
        Tensor = graph.tensor_type()
        for i, t in enumerate(tensors):
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(f"save_for_backward can only save variables, but argument {i} "
                                f"is of type {type(t).__name__}")
        self.to_save = tensors

    def save_for_forward(self, *tensors):
        self.saved_for_forward = tensors

    def mark_dirty(self, *tensors):
        self.dirty_tensors = tensors

    def mark_non_differentiable(self, *tensors):
        self.non_differentiable = tensors

    def set_materialize_grads(self, value):
        self.materialize_grads = bool(value)

    def mark_shared_storage(self, *pairs):
        raise RuntimeError("mark_shared_storage is deprecated. Tensors with shared storages "
                           "are automatically tracked.")


class BackwardCFunction(FunctionCtx, Op):
    """The node (and ``ctx``) of one call of a custom Function."""

    _forward_cls = None
    materialize_grads = True
    to_save = ()
    dirty_tensors = ()
    non_differentiable = ()
    _saved = None  # [(kind, value, edge)], kind "input"/"output"/"other", after forward

    def name(self):
        return type(self).__name__

    # ----- saved tensors -------------------------------------------------------------------

    @property
    def saved_tensors(self):
        if self._freed:
            raise RuntimeError(FREED_MESSAGE)
        if self._saved is None:
            return ()
        if getattr(self, "_seq", None) is not None and self._seq < graph.inplace_state.last:
            self.check_saved_versions()
        return tuple(self._unpack(entry) for entry in self._saved)

    saved_variables = saved_tensors

    def _unpack(self, entry):
        kind, value, edge = entry
        if kind == "output":
            t = graph._node_output(self, value[0])
            if self.num_outputs > 1:
                t._grad_fn = OutputRef(self, value[1])
            t._requires_grad = value[2]
            if not value[2]:
                t._grad_fn = None
            return t
        if kind == "input" and edge is not None and value._grad_fn is not edge \
                and edge is not value:
            Tensor = graph.tensor_type()  # the input changed its graph since: as saved
            t = Tensor.__new__(Tensor)
            t._data, t._grad, t._grad_fn, t._requires_grad = value._data, None, edge, True
            return t
        return value

    def _saved_arrays(self):
        for kind, value, _ in self._saved or ():
            if value is None:
                continue
            yield value[0] if kind == "output" else value._data

    def check_saved_versions(self):
        for array in self._saved_arrays():
            changed = graph.versions_after(array, self._seq)
            if changed:
                raise RuntimeError(
                    f"one of the variables needed for gradient computation has been modified "
                    f"by an inplace operation: [{graph.tensor_type()._legacy_type_name(array.dtype)}"
                    f" {list(array.shape)}], which is saved by {self.name()}, is at version "
                    f"{graph.version(array)}; expected version "
                    f"{graph.version(array) - changed} instead. Hint: enable anomaly detection "
                    f"to find the operation that failed to compute its gradient, with "
                    f"minigrad.autograd.set_detect_anomaly(True).")

    def release(self):
        if self._saved:
            self._saved = None
            self._freed = True

    # ----- backward ------------------------------------------------------------------------

    def backward(self, grad, xp):
        """Array mode: wrap the gradients as Tensors, run the user's backward (recording off),
        and hand back arrays."""
        grads = self._grad_outputs(grad, create_graph=False)
        results = self._call_user_backward(grads)
        return tuple(None if g is None else g._data for g in results)

    def backward_recorded(self, grad, xp):
        grads = self._grad_outputs(grad, create_graph=True)
        return self._call_user_backward(grads)

    def _grad_outputs(self, grad, create_graph):
        Tensor = graph.tensor_type()
        grads = grad if self.num_outputs > 1 else [grad]
        out = []
        for g, (shape, dtype) in zip(grads, self._output_meta):
            if g is None:
                if self.materialize_grads:
                    out.append(graph._constant(np.zeros(shape, dtype)))
                else:
                    out.append(None)
            elif isinstance(g, Tensor):
                out.append(g)
            else:
                out.append(graph._constant(g))
        return out

    def _call_user_backward(self, grads):
        results = self._forward_cls.backward(self, *grads)
        if not isinstance(results, tuple):
            results = (results,)
        return self._validate(results)

    def _validate(self, results):
        """PyTorch's checks on what a custom backward returns, then each gradient summed to
        its input's shape (when it broadcasts to it) and cast to its dtype."""
        Tensor = graph.tensor_type()
        inputs = self._inputs
        n = len(inputs)
        if len(results) != n:
            if len(results) > n and all(r is None for r in results[n:]):
                results = results[:n]
            else:
                raise RuntimeError(f"function {self.name()} returned an incorrect number of "
                                   f"gradients (expected {n}, got {len(results)})")
        checked = []
        for i, (g, inp) in enumerate(zip(results, inputs)):
            if g is None:
                checked.append(None)
                continue
            if not isinstance(inp, Tensor):
                raise RuntimeError(f"function {self.name()} returned a gradient different than "  # noqa: TRY004
                                   f"None at position {i + 1}, but the corresponding forward "
                                   f"input was not a Variable")
            if not isinstance(g, Tensor):
                raise TypeError(f"function {self.name()} returned a {type(g).__name__} as the "
                                f"gradient at index {i}; gradients must be Tensors or None")
            if not self.needs_input_grad[i]:
                checked.append(None)
                continue
            shape = inp._data.shape
            if g._data.shape != shape:
                try:
                    np.broadcast_shapes(g._data.shape, shape)
                    ok = np.broadcast_shapes(g._data.shape, shape) == g._data.shape and \
                        len(g._data.shape) >= len(shape)
                except ValueError:
                    ok = False
                if not ok:
                    raise RuntimeError(f"Function {self.name()} returned an invalid gradient at "
                                       f"index {i} - got {list(g._data.shape)} but expected "
                                       f"shape compatible with {list(shape)}")
            if g._data.dtype != inp._data.dtype and inp._data.dtype.kind == "f":
                g = g.to(_dtype_of(inp))
            checked.append(g)
        return tuple(checked)


def _dtype_of(t):
    from .. import dtypes
    return dtypes.from_numpy_dtype(t._data.dtype)


class FunctionMeta(type):
    """Gives every Function subclass its own node class, named ``<Name>Backward``."""

    def __init__(cls, name, bases, attrs):
        cls._backward_cls = type(name + "Backward", (BackwardCFunction,), {"_forward_cls": cls})
        super().__init__(name, bases, attrs)


class Function(FunctionCtx, metaclass=FunctionMeta):
    """Base class of custom differentiable functions (see the module docstring)."""

    def __init__(self, *args, **kwargs):
        raise RuntimeError("Legacy autograd function with non-static forward method is "
                           "deprecated. Please use new-style autograd function with static "
                           "forward method.")

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("You must implement the forward function for custom "
                                  "autograd.Function.")

    @staticmethod
    def setup_context(ctx, inputs, output):
        raise NotImplementedError("setup_context is not implemented.")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError("You must implement either the backward or vjp method for "
                                  "your custom autograd.Function to use it with backward mode "
                                  "AD.")

    @staticmethod
    def vjp(ctx, *grad_outputs):
        raise NotImplementedError

    @staticmethod
    def jvp(ctx, *grad_inputs):
        raise NotImplementedError("minigrad has no forward-mode AD; use "
                                  "mg.autograd.functional.jvp (double-vjp)")

    @classmethod
    def apply(cls, *args, **kwargs):
        Tensor = graph.tensor_type()
        node = cls._backward_cls()
        needs = tuple(isinstance(a, Tensor) and a._requires_grad for a in args)
        node.needs_input_grad = needs
        record = _grad_state.enabled and True in needs
        uses_setup_context = cls.setup_context is not Function.setup_context
        with no_grad():
            if uses_setup_context:
                outputs = cls.forward(*args, **kwargs)
                cls.setup_context(node, args, outputs)
            else:
                outputs = cls.forward(node, *args, **kwargs)
        # The edges to the inputs' history, captured before a dirty input (changed in place
        # by forward) is rebased onto this node.
        edges = tuple((a._grad_fn or a) if need else None for a, need in zip(args, needs))
        is_tuple = isinstance(outputs, tuple)
        outs = list(outputs) if is_tuple else [outputs]
        node.num_outputs = len(outs)
        non_differentiable = {id(t) for t in node.non_differentiable}
        dirty = {id(t) for t in node.dirty_tensors}
        input_ids = {id(a) for a in args if isinstance(a, Tensor)}
        for k, o in enumerate(outs):
            if not isinstance(o, Tensor):
                continue
            is_dirty = id(o) in dirty
            differentiable = record and id(o) not in non_differentiable and \
                o._data.dtype.kind in "fc"
            if is_dirty:  # an input changed in place by forward (ctx.mark_dirty)
                if record and o._grad_fn is None and o._requires_grad:
                    raise RuntimeError("a leaf Variable that requires grad has been used in "
                                       "an in-place operation.")
                graph.bump(o._data)
            elif id(o) in input_ids:  # an input returned as it is: a new tensor sharing it
                o = outs[k] = graph._constant(o._data)
            if differentiable:
                o._grad_fn = OutputRef(node, k) if node.num_outputs > 1 else node
                o._requires_grad = True
            elif not is_dirty:
                o._grad_fn = None
                o._requires_grad = False
        if record:
            node._inputs = args
            node._edges = edges
            node._output_meta = [(np.shape(o._data) if isinstance(o, Tensor) else (),
                                  o._data.dtype if isinstance(o, Tensor) else np.float32)
                                 for o in outs]
            node._seq = graph._next_sequence()
            if anomaly_mode.state.enabled:
                node._trace = anomaly_mode.creation_trace()
            node._saved = _pack_saved(node, args, outs, edges)
        node.__dict__.pop("to_save", None)
        return tuple(outs) if is_tuple else outs[0]


def _pack_saved(node, args, outs, edges):
    Tensor = graph.tensor_type()
    to_save = node.__dict__.get("to_save", ())
    packed = []
    output_index = {id(o): k for k, o in enumerate(outs) if isinstance(o, Tensor)}
    input_edges = {id(a): edge for a, edge in zip(args, edges) if isinstance(a, Tensor)}
    for t in to_save:
        if t is None:
            packed.append(("other", None, None))
        elif id(t) in output_index:  # saved by value, so that no reference cycle forms
            packed.append(("output", (t._data, output_index[id(t)], t._requires_grad), None))
        elif id(t) in input_edges:
            packed.append(("input", t, input_edges[id(t)]))
        else:
            packed.append(("other", t, None))
    return packed


class InplaceFunction(Function):
    """PyTorch's base class for custom Functions that may work in place (``inplace`` is
    accepted and stored nowhere); otherwise a ``Function``."""

    def __init__(self, inplace=False):
        super().__init__()


class NestedIOFunction(Function):
    """PyTorch's legacy base class for Functions with nested inputs and outputs; here a plain
    ``Function``."""


def once_differentiable(fn):
    """Decorate a custom ``backward`` whose formula cannot itself be differentiated: it runs
    with recording off, and differentiating its result again raises."""

    @functools.wraps(fn)
    def wrapper(ctx, *args):
        with no_grad():
            outputs = fn(ctx, *args)
        if not _grad_state.enabled:
            return outputs
        Tensor = graph.tensor_type()
        requires_grad = any(isinstance(a, Tensor) and a._requires_grad for a in args)
        if not requires_grad:
            return outputs
        single = not isinstance(outputs, tuple)
        outs = (outputs,) if single else outputs
        wrapped = tuple(_DelayedError.apply(o) if isinstance(o, Tensor) else o for o in outs)
        return wrapped[0] if single else wrapped

    return wrapper


class _DelayedError(Op):
    """Passes values through; its backward raises (what @once_differentiable returns)."""

    def forward(self, x):
        return x

    def backward(self, grad, xp):
        raise RuntimeError("trying to differentiate twice a function that was marked with "
                           "@once_differentiable")

    @classmethod
    def apply(cls, x):
        out = graph._constant(x._data)
        node = cls()
        node.needs_input_grad = (True,)
        node._edges = (None,)
        node._inputs = (x,)
        node._seq = graph._next_sequence()
        out._grad_fn = node
        out._requires_grad = True
        return out
