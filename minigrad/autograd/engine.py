"""The backward pass: ``backward`` (accumulate into ``.grad``) and ``grad`` (return gradients).

The engine visits the recorded graph newest node first, off a heap keyed on creation order. A
node is always created after the nodes of its inputs, so when the newest pending node is taken,
every node that consumes its output (all newer) has already passed its gradient on: its
dL/d(output) is complete. That gives a topological order in one pass, with no recursion (a
100,000-op chain is fine) and no separate sort. Each node's ``backward`` turns dL/d(output) into
dL/d(inputs); gradients reaching one node along several paths are added (the multivariate chain
rule); a gradient of a broadcast shape is summed back to its input's shape in one place here.

``create_graph=True`` runs the same formulas on Tensors, with recording on, so the gradients
carry a graph of their own (see ``graph.py``).
"""
import sys
from heapq import heappop, heappush
from sys import getrefcount

import numpy as np

from .._kernels import kernels as K
from ..errors import ShapeError
from . import anomaly_mode, graph
from .grad_mode import state as _grad_state
from .graph import EDGE_LEAF as _LEAF
from .graph import EDGE_NODE as _NODE
from .graph import FREED_MESSAGE, OutputRef, inplace_state

tensor_math = None  # the namespace of recorded tensor functions, registered by minigrad.ops
_tracer = None  # an active autograd.trace (trace.py), read once per pass

__all__ = ["backward", "grad"]

_SEED_GRADIENTS = {}


def _seed_gradient(shape, dtype):
    """d(out)/d(out) = 1 for a one-element output, cached read-only (no formula writes into
    the gradient it is given, and the read-only flag would catch one that did)."""
    key = (shape, dtype)
    seed = _SEED_GRADIENTS.get(key)
    if seed is None:
        seed = np.ones(shape, dtype=dtype)
        seed.flags.writeable = False
        _SEED_GRADIENTS[key] = seed
    return seed


def _as_tuple(tensors, name):
    Tensor = graph.tensor_type()
    if isinstance(tensors, Tensor):
        return (tensors,)
    tensors = tuple(tensors)
    for t in tensors:
        if not isinstance(t, Tensor):
            raise TypeError(f"{name} must be Tensors, got {type(t).__name__}")
    return tensors


def _root_gradients(outputs, grad_outputs, create_graph):
    """The gradient each output starts with: ``grad_outputs``, or 1 for one-element outputs."""
    Tensor = graph.tensor_type()
    if grad_outputs is None:
        grad_outputs = (None,) * len(outputs)
    elif isinstance(grad_outputs, Tensor) or not isinstance(grad_outputs, (list, tuple)):
        grad_outputs = (grad_outputs,)
    if len(grad_outputs) != len(outputs):
        raise RuntimeError(f"got {len(grad_outputs)} tensors and {len(outputs)} gradients")
    grads = []
    for i, (out, g) in enumerate(zip(outputs, grad_outputs)):
        if not out._requires_grad:
            raise RuntimeError(f"element {i} of tensors does not require grad and does not "
                               f"have a grad_fn")
        shape, dtype = out._data.shape, out._data.dtype
        if g is None:
            if out._data.size != 1:
                raise RuntimeError(
                    f"grad can be implicitly created only for scalar outputs (output {i} has "
                    f"shape {list(shape)}); pass the gradient of each element")
            seed = _seed_gradient(shape, dtype)
            grads.append(graph._constant(seed) if create_graph else seed)
            continue
        array = g._data if isinstance(g, Tensor) else np.asarray(g)
        if array.shape != shape:
            raise ShapeError(f"Mismatch in shape: grad_output[{i}] has a shape of "
                               f"{list(array.shape)} and output[{i}] has a shape of "
                               f"{list(shape)}.")
        if create_graph:
            if not isinstance(g, Tensor):
                g = graph._constant(array)
            grads.append(g if g._data.dtype == dtype else tensor_math.cast(g, dtype))
        else:
            grads.append(array if array.dtype == dtype else array.astype(dtype))
    return grads


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False,
             grad_variables=None, inputs=None):
    """Add d(sum of tensors * grad_tensors)/d(leaf) into every leaf's ``.grad``
    (``torch.autograd.backward``). With ``inputs``, only those tensors' ``.grad`` (leaves or
    not) are accumulated, and only the part of the graph that reaches them is run."""
    if grad_variables is not None:
        grad_tensors = grad_variables
    tensors = _as_tuple(tensors, "tensors")
    if inputs is not None:
        inputs = _as_tuple(inputs, "inputs")
        if not inputs:
            raise RuntimeError("'inputs' argument to backward() cannot be empty.")
    if retain_graph is None:
        retain_graph = create_graph
    grads = _root_gradients(tensors, grad_tensors, create_graph)
    run(tensors, grads, retain_graph, create_graph, inputs, accumulate=True)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         only_inputs=True, allow_unused=None, is_grads_batched=False, materialize_grads=False):
    """d(sum of outputs * grad_outputs)/d(input) for each of ``inputs``, returned as a tuple
    (``torch.autograd.grad``); ``.grad`` attributes are left alone. ``create_graph=True``
    gives gradients that can be differentiated again."""
    if is_grads_batched:
        raise NotImplementedError("grad(is_grads_batched=True) needs vmap, which minigrad "
                                  "does not have; call grad once per grad_output")
    if materialize_grads and allow_unused is False:
        raise ValueError("Expected allow_unused to be True or not passed when "
                         "materialize_grads=True, but got: allow_unused=False.")
    if allow_unused is None:
        allow_unused = materialize_grads
    outputs = _as_tuple(outputs, "outputs")
    inputs = _as_tuple(inputs, "inputs")
    for t in inputs:
        if not t._requires_grad:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
    if retain_graph is None:
        retain_graph = create_graph
    grads = _root_gradients(outputs, grad_outputs, create_graph)
    captured = run(outputs, grads, retain_graph, create_graph, inputs, accumulate=False)
    results = []
    for t in inputs:
        g = captured.get(id(t))
        if g is None:
            if not allow_unused:
                raise RuntimeError("One of the differentiated Tensors appears to not have "
                                   "been used in the graph. Set allow_unused=True if this is "
                                   "the desired behavior.")
            if materialize_grads:
                g = np.zeros_like(t._data)
        results.append(_as_tensor(g, create_graph))
    return tuple(results)


def _as_tensor(g, create_graph):
    if g is None or create_graph:
        return g
    return graph._constant(g)


def _target_key(t):
    """Targets are found by identity: a leaf itself, or the node that made a non-leaf."""
    return id(t) if t._grad_fn is None else id(_node_of(t._grad_fn))


def _edge_key(edge, Tensor):
    return id(edge) if isinstance(edge, Tensor) else id(_node_of(edge))


def _node_of(edge):
    return edge[0] if type(edge) is OutputRef else edge


def _needed_nodes(roots, targets, Tensor):
    """The ids of the nodes from which a target can be reached: the only ones worth running.
    (A node that is itself a target has its gradient captured when it is reached; it runs
    only if something beyond it is needed.)"""
    target_keys = {_target_key(t) for t in targets}
    needed = {}
    stack = [(_node_of(root._grad_fn), False) for root in roots if root._grad_fn is not None]
    while stack:
        node, expanded = stack.pop()
        key = id(node)
        if expanded:
            needed[key] = any(
                edge is not None and (_edge_key(edge, Tensor) in target_keys or (
                    not isinstance(edge, Tensor) and needed.get(id(_node_of(edge)), False)))
                for edge in node._edges)
            continue
        if key in needed:
            continue
        needed[key] = False
        stack.append((node, True))
        for edge in node._edges:
            if edge is not None and not isinstance(edge, Tensor):
                child = _node_of(edge)
                if id(child) not in needed:
                    stack.append((child, False))
    return {key for key, is_needed in needed.items() if is_needed}


def run(roots, root_grads, keep_graph, create_graph, targets=None, accumulate=True):
    """Backpropagate ``root_grads`` from ``roots``. Returns {id(target): gradient} when
    ``targets`` are given and ``accumulate`` is False (``grad``); otherwise accumulates."""
    Tensor = graph.tensor_type()
    xp = tensor_math if create_graph else K
    previous_mode = _grad_state.enabled
    _grad_state.enabled = create_graph  # formulas record only under create_graph
    try:
        return _run(Tensor, xp, roots, root_grads, keep_graph, create_graph, targets,
                    accumulate)
    finally:
        _grad_state.enabled = previous_mode


def backward_scalar(tensor, retain_graph):
    """``tensor.backward()`` for a one-element output: the common call, spelled out."""
    data = tensor._data
    if not tensor._requires_grad:
        raise RuntimeError("element 0 of tensors does not require grad and does not have a "
                           "grad_fn")
    run((tensor,), (_seed_gradient(data.shape, data.dtype),), bool(retain_graph), False)


class _Pass:
    """The state of one backward pass: nodes waiting for their gradient, the gradients of the
    leaves (summed over the pass, then accumulated once each, as PyTorch's AccumulateGrad
    does), and what ``grad`` or ``backward(inputs=...)`` asked for."""

    __slots__ = ("accumulate", "captured", "create_graph", "heap", "leaf_grads", "pending",
                 "targets")

    def __init__(self, create_graph, targets, accumulate):
        self.pending = {}
        self.heap = []
        self.leaf_grads = {}
        self.create_graph = create_graph
        self.targets = targets
        self.accumulate = accumulate
        self.captured = {}

    def deliver(self, edge, g, Tensor):
        """Hand gradient ``g`` to a leaf's sum for this pass, or to a node's pending sum."""
        if isinstance(edge, Tensor):
            previous = self.leaf_grads.get(edge)
            self.leaf_grads[edge] = g if previous is None else previous + g
            return
        pending = self.pending
        if type(edge) is OutputRef:
            node, index = edge
            grads = pending.get(node)
            if grads is None:
                grads = pending[node] = [None] * node.num_outputs
                heappush(self.heap, (-node._seq, node))
            grads[index] = g if grads[index] is None else grads[index] + g
            return
        previous = pending.get(edge)
        if previous is None:
            pending[edge] = g
            heappush(self.heap, (-edge._seq, edge))
        else:
            pending[edge] = previous + g

    def finish_leaves(self):
        """Accumulate (or, for ``grad``, capture) each leaf's gradient for this pass."""
        targets, create_graph = self.targets, self.create_graph
        steal = not create_graph and _CAN_STEAL
        for leaf, g in self.leaf_grads.items():
            if targets is not None:
                if id(leaf) not in targets:
                    continue
                if not self.accumulate:
                    self.captured[id(leaf)] = _run_leaf_hooks(leaf, g, create_graph)
                    continue
            if steal and leaf._grad is None and leaf._hooks is None \
                    and g.dtype == leaf._data.dtype:
                # The first gradient of a leaf: keep the array itself when nothing else can
                # see it (no other reference, not a view: PyTorch's AccumulateGrad does the
                # same), else a copy.
                if getrefcount(g) <= _UNSHARED_REFCOUNT and g.base is None:
                    leaf._grad = graph._constant(g)
                else:
                    leaf._grad = graph._constant(np.array(g, copy=True, order="C"))
            else:
                _accumulate_leaf(leaf, g, create_graph)


def _run(Tensor, xp, roots, root_grads, keep_graph, create_graph, targets, accumulate):
    needed = target_ids = None
    if targets is not None:
        needed = _needed_nodes(roots, targets, Tensor)
        target_ids = {}
        for t in targets:
            target_ids.setdefault(_target_key(t), []).append(t)
    state = _Pass(create_graph, target_ids, accumulate)
    pending, heap, leaf_grads = state.pending, state.heap, state.leaf_grads
    for root, g in zip(roots, root_grads):
        state.deliver(root._grad_fn if root._grad_fn is not None else root, g, Tensor)

    anomaly = anomaly_mode.state.enabled
    versions = inplace_state
    backward = "backward_recorded" if create_graph else "backward"
    if _tracer is not None:  # each node's formula runs through a timing twin (trace.py)
        backward = _tracer.method_name(backward)
    while heap:
        node = heappop(heap)[1]
        g = pending.pop(node)
        hooks = node._hooks
        if hooks is not None:
            g = _run_node_pre_hooks(node, g, create_graph)
        if target_ids is not None:
            for t in target_ids.get(id(node), ()):
                _capture_non_leaf(t, node, g, state.captured, accumulate, create_graph)
            if id(node) not in needed:
                continue
        if node._freed:
            raise RuntimeError(FREED_MESSAGE)
        if node._seq < versions.last:
            node.check_saved_versions()
        input_grads = getattr(node, backward)(g, xp)
        if type(input_grads) is not tuple:
            input_grads = (input_grads,)
        if anomaly:
            _check_anomaly(node, input_grads)
        if hooks is not None and hooks.post:
            input_grads = _run_node_post_hooks(node, input_grads, g)
        broadcasts = node.may_broadcast
        for edge, inp, g in zip(node._edges, node._inputs, input_grads):
            if edge is None or g is None:
                continue
            if broadcasts:
                shape = inp._data.shape
                if g.shape != shape:
                    g = xp.sum_to(g, shape)
            kind = edge._edge_kind
            if kind is _NODE:  # a gradient for another node: add it to its pending sum
                previous = pending.get(edge)
                if previous is None:
                    pending[edge] = g
                    heappush(heap, (-edge._seq, edge))
                else:
                    pending[edge] = previous + g
            elif kind is _LEAF:  # summed over the pass, accumulated at the end
                previous = leaf_grads.get(edge)
                leaf_grads[edge] = g if previous is None else previous + g
            else:
                state.deliver(edge, g, Tensor)
        if not keep_graph:
            node.release()
    if leaf_grads:
        input_grads = g = None  # this frame's references would stop finish_leaves stealing
        state.finish_leaves()
    return state.captured


def _unshared_refcount():
    """The reference count of a gradient array that only the engine holds: the pass's dict of
    leaf gradients, the loop variable, and getrefcount's own argument. Measured rather
    than assumed; stealing is off where refcounts may be deferred or borrowed (free-threaded
    builds, CPython >= 3.14)."""
    if sys.implementation.name != "cpython" or sys.version_info >= (3, 14) or \
            not getattr(sys, "_is_gil_enabled", lambda: True)():
        return None
    leaf_grads = {None: np.ones(2)}
    for _, g in leaf_grads.items():  # noqa: PERF102 - exactly finish_leaves' loop (the items
        return getrefcount(g)        # iterator's reused tuple counts)
    return None  # pragma: no cover


_UNSHARED_REFCOUNT = _unshared_refcount()
_CAN_STEAL = _UNSHARED_REFCOUNT is not None


def _accumulate_leaf(leaf, g, create_graph):
    """``leaf.grad += g`` (the first gradient is copied so it never aliases another array; under
    create_graph the sum is recorded, out of place, as in PyTorch)."""
    try:
        hooks = leaf._hooks
    except AttributeError:  # a leaf made without hooks slot set (rare): none registered
        hooks = None
    if hooks is not None:
        g = _run_leaf_hooks(leaf, g, create_graph)
    current = leaf._grad
    if create_graph:
        if g._data.dtype != leaf._data.dtype:
            g = tensor_math.cast(g, leaf._data.dtype)
        leaf._grad = tensor_math.clone(g) if current is None else current + g
    else:
        if g.dtype != leaf._data.dtype:
            g = g.astype(leaf._data.dtype)
        if current is None:
            leaf._grad = graph._constant(np.array(g, copy=True, order="C"))
        else:
            stored = current._data
            if (not current._requires_grad and stored.flags.writeable
                    and stored.shape == g.shape):
                np.add(stored, g, out=stored)  # in place, as torch accumulates
            else:  # a gradient with a graph, or one the user assigned (read-only, broadcast)
                leaf._grad = graph._constant(stored + g)
    if hooks is not None and hooks.post_accumulate:
        for hook in list(hooks.post_accumulate.values()):
            hook(leaf)


def _wrap_grad(g, create_graph):
    return g if create_graph else graph._constant(g)


def _unwrap_grad(value, like, create_graph, hook):
    Tensor = graph.tensor_type()
    if not isinstance(value, Tensor):
        raise TypeError(f"hook '{_hook_name(hook)}' returned {type(value).__name__}; a hook "
                        f"returns None or a Tensor")
    if tuple(value._data.shape) != tuple(like.shape):
        raise RuntimeError(f"hook '{_hook_name(hook)}' has changed the size of value (from "
                           f"{list(like.shape)} to {list(value._data.shape)})")
    return value if create_graph else value._data


def _hook_name(hook):
    return getattr(hook, "__name__", type(hook).__name__)


def _run_leaf_hooks(leaf, g, create_graph):
    hooks = getattr(leaf, "_hooks", None)
    if hooks is None or not hooks.tensor:
        return g
    for fn in list(hooks.tensor.values()):
        result = fn(_wrap_grad(g, create_graph))
        if result is not None:
            g = _unwrap_grad(result, g, create_graph, fn)
    return g


def _run_node_pre_hooks(node, g, create_graph):
    """Tensor hooks of the node's output(s), retain_grad, then the node's own pre-hooks."""
    hooks = node._hooks
    multi = node.num_outputs > 1
    grads = g if multi else [g]
    for index, fn in list(hooks.tensor.values()):
        if grads[index] is None:
            continue
        result = fn(_wrap_grad(grads[index], create_graph))
        if result is not None:
            grads[index] = _unwrap_grad(result, grads[index], create_graph, fn)
    for index, ref in list(hooks.retain.items()):
        tensor = ref()
        if tensor is not None and grads[index] is not None:
            value = grads[index]
            if tensor._grad is None:
                tensor._grad = tensor_math.clone(value) if create_graph else \
                    graph._constant(np.array(value, copy=True))
            elif create_graph:
                tensor._grad = tensor._grad + value
            else:
                tensor._grad = graph._constant(tensor._grad._data + value)
    if hooks.pre:
        wrapped = tuple(None if x is None else _wrap_grad(x, create_graph) for x in grads)
        for fn in list(hooks.pre.values()):
            result = fn(wrapped)
            if result is not None:
                wrapped = tuple(result)
        grads = [None if x is None else (x if create_graph else x._data) for x in wrapped]
    return grads if multi else grads[0]


def _run_node_post_hooks(node, input_grads, output_grad):
    create_graph = _grad_state.enabled
    wrap = (lambda x: None if x is None else _wrap_grad(x, create_graph))
    grad_inputs = tuple(wrap(x) for x in input_grads)
    outs = output_grad if node.num_outputs > 1 else [output_grad]
    grad_outputs = tuple(wrap(x) for x in outs)
    for fn in list(node._hooks.post.values()):
        result = fn(grad_inputs, grad_outputs)
        if result is not None:
            if len(result) != len(grad_inputs):
                raise RuntimeError(f"hook '{_hook_name(fn)}' has returned an incorrect number "
                                   f"of values (got {len(result)}, but expected "
                                   f"{len(grad_inputs)})")
            grad_inputs = tuple(result)
    return tuple(None if x is None else (x if create_graph else x._data) for x in grad_inputs)


def _capture_non_leaf(t, node, g, captured, accumulate, create_graph):
    """The gradient reaching a non-leaf target ``t`` (the output of ``node``)."""
    edge = t._grad_fn
    value = g[edge.index] if type(edge) is OutputRef else g
    if value is None:
        return
    if accumulate:  # backward(inputs=[non_leaf]) fills its .grad, as torch does
        if getattr(t, "_retains_grad", False):
            return  # its retain_grad hook has just done it
        if t._grad is None:
            t._grad = tensor_math.clone(value) if create_graph else \
                graph._constant(np.array(value, copy=True))
        else:
            t._grad = t._grad + value if create_graph else \
                graph._constant(t._grad._data + value)
    else:
        previous = captured.get(id(t))
        captured[id(t)] = value if previous is None else previous + value


def _check_anomaly(node, input_grads):
    if not anomaly_mode.state.check_nan:
        return
    for i, g in enumerate(input_grads):
        if g is None:
            continue
        values = g._data if isinstance(g, graph.tensor_type()) else g
        if np.issubdtype(np.asarray(values).dtype, np.inexact) and np.isnan(values).any():
            message = f"Function '{node.name()}' returned nan values in its {i}th output."
            if node._trace:
                message += ("\n\nTraceback of the forward call that created this op "
                            "(most recent call last):\n" + node._trace)
            raise RuntimeError(message)

