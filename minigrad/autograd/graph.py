"""The recorded graph: ``Op``, the base class of every primitive op and the node that records it.

An op is written as a pair of methods, side by side (see ``minigrad/ops/``)::

    class Mul(Op):
        '''out = a * b;  d out/da = b,  d out/db = a.'''

        def forward(self, a, b):                 # numpy arrays (or Python numbers) in,
            self.save_for_backward(a, b)         # an array out
            return K.mul(a, b)

        def backward(self, grad, xp):            # dL/d(out) in, dL/d(inputs) out
            a, b = self.saved_tensors
            return xp.mul(grad, b), xp.mul(grad, a)

``Op.apply(*tensors)`` runs ``forward`` on the tensors' arrays and, when the thread records
and an input requires grad, makes the instance the output's ``grad_fn``: it keeps the edges to
its inputs' nodes (captured now, so a later in-place change of an input cannot re-route this
node), ``needs_input_grad``, and a sequence number (creation order, which the engine uses as
its topological order).

``backward`` is written once for two kinds of values. On the fast path ``grad`` and the saved
values are numpy arrays and ``xp`` is the kernel namespace ``K``. Under
``backward(create_graph=True)`` they are Tensors and ``xp`` is the tensor namespace, whose
functions record ops: the formula itself becomes part of a new graph, so gradients of
gradients work for every op. For that, ops save only their inputs (``save_for_backward``)
and their output (``self.result = out``), never values derived from them: the engine maps
each saved array back to the tensor it came from, so a second-order graph reaches the
original leaves. Fused ops that cache a derived value for speed recompute it from the saved
inputs with ``xp`` when ``xp`` is not ``K``.

Saved values are released after a backward (unless ``retain_graph``); a second backward through
a released node raises PyTorch's RuntimeError. An in-place change of a saved array after the op
was recorded is caught at backward by the storage versions kept here (``bump``/``check``).
"""
import functools
import itertools
import weakref
from collections import OrderedDict, deque

import numpy as np

from . import anomaly_mode
from .grad_mode import state as _grad_state

_ndarray = np.ndarray
_tensor_type = None  # minigrad.tensor.Tensor, registered by tensor.py (nothing imports upward)
_next_sequence = itertools.count(1).__next__  # creation order of nodes and in-place changes

# The recorder of ``mg.compile`` while it records a function's first call (minigrad/compile.py),
# else None: ``Op.apply`` and the functions marked ``replayed`` report to it. One global read
# per op when nothing records.
capture = None

# What an edge of the graph points at, read by the engine as one class attribute:
EDGE_NODE = "node"      # an Op: add the gradient to its pending sum
EDGE_LEAF = "leaf"      # a Tensor (leaf): accumulate into its .grad
EDGE_OUTPUT = "output"  # output k of a node with several outputs (OutputRef)

FREED_MESSAGE = (
    "Trying to backward through the graph a second time (or directly access saved tensors "
    "after they have already been freed). Saved intermediate values of the graph are freed "
    "when you call .backward() or autograd.grad(). Specify retain_graph=True if you need to "
    "backward through the graph a second time or if you need to access saved tensors after "
    "calling backward.")


def tensor_type():
    return _tensor_type


def register_tensor_type(cls):
    global _tensor_type
    _tensor_type = cls


class Op:
    """One primitive op: ``forward`` and ``backward`` side by side, and its graph node.

    Subclasses implement

    - ``forward(self, *arrays, **options) -> ndarray``: the arrays of the Tensor arguments
      (other arguments, such as Python numbers, arrive unchanged). Save what backward needs
      with ``self.save_for_backward(*inputs)`` and ``self.result = output``.
    - ``backward(self, grad, xp) -> gradient or tuple``: dL/d(input) for each positional
      argument of ``forward`` (None where there is none), each of its input's shape or a
      broadcast of it (the engine sums a broadcast gradient back with ``xp.sum_to``).

    ``needs_input_grad`` tells which inputs want a gradient, as in PyTorch's ``ctx``.
    """

    __slots__ = ("__dict__", "_edges", "_inputs", "_seq", "needs_input_grad")

    saved_tensors = None  # the saved inputs: arrays, or Tensors under create_graph
    result = None         # the saved output, if backward needs it
    _edge_kind = EDGE_NODE
    is_view = False       # ops whose output shares the input's memory (reshape, index...)
    may_broadcast = True  # may return a gradient of a broadcast shape (engine sums it back)
    num_outputs = 1
    _freed = False
    _hooks = None         # _NodeHooks, when a hook is registered on this node or its output
    _trace = None         # where the op was created, under anomaly detection

    def save_for_backward(self, *values):
        self.saved_tensors = values

    @classmethod
    def apply(cls, *args, **options):
        """Run the op on Tensors (and constants), recording it if an input requires grad.

        One- and two-argument ops (nearly all of them) take a spelled-out path: this method
        runs once per op in every training step, and the generic loop costs about as much
        again as the rest of the op on a small tensor."""
        Tensor = _tensor_type
        node = cls()
        n = len(args)
        if n == 2:
            a, b = args
            if isinstance(a, Tensor):
                a_data, need_a = a._data, a._requires_grad
            else:
                a_data, need_a = a, False
            if isinstance(b, Tensor):
                b_data, need_b = b._data, b._requires_grad
            else:
                b_data, need_b = b, False
            out = node.forward(a_data, b_data, **options) if options else \
                node.forward(a_data, b_data)
            record = (need_a or need_b) and _grad_state.enabled
            if record:
                node.needs_input_grad = (need_a, need_b)
                node._edges = ((a._grad_fn or a) if need_a else None,
                               (b._grad_fn or b) if need_b else None)
        elif n == 1:
            a = args[0]
            out = node.forward(a._data, **options) if options else node.forward(a._data)
            record = a._requires_grad and _grad_state.enabled
            if record:
                node.needs_input_grad = (True,)
                node._edges = (a._grad_fn or a,)
        elif n == 3 and not options:  # Linear (x, weight, bias) and the weighted losses
            a, b, c = args
            need_a = isinstance(a, Tensor) and a._requires_grad
            need_b = isinstance(b, Tensor) and b._requires_grad
            need_c = isinstance(c, Tensor) and c._requires_grad
            out = node.forward(a._data if isinstance(a, Tensor) else a,
                               b._data if isinstance(b, Tensor) else b,
                               c._data if isinstance(c, Tensor) else c)
            record = (need_a or need_b or need_c) and _grad_state.enabled
            if record:
                node.needs_input_grad = (need_a, need_b, need_c)
                node._edges = ((a._grad_fn or a) if need_a else None,
                               (b._grad_fn or b) if need_b else None,
                               (c._grad_fn or c) if need_c else None)
        else:
            needs = tuple([isinstance(x, Tensor) and x._requires_grad for x in args])
            out = node.forward(*[x._data if isinstance(x, Tensor) else x for x in args],
                               **options)
            record = True in needs and _grad_state.enabled
            if record:
                node.needs_input_grad = needs
                node._edges = tuple([(x._grad_fn or x) if need else None
                                     for x, need in zip(args, needs)])
        if type(out) is not _ndarray:  # numpy answers a 0-d input with a scalar, not an array
            out = np.asarray(out)
        result = Tensor.__new__(Tensor)
        result._data = out
        result._grad = None
        # set, though rarely used: reading an unset slot (getattr with a default, as the view
        # and in-place code do) raises and catches inside, several times a store's cost
        result._view_of = None
        result._untracked = False
        if record:
            node._inputs = args
            node._seq = _next_sequence()
            if anomaly_mode.state.enabled:
                node._trace = anomaly_mode.creation_trace()
            result._requires_grad = True
            result._grad_fn = node
        else:
            result._requires_grad = False
            result._grad_fn = None
        if capture is not None:
            capture.record_op(node, args, options, result)
        return result

    @classmethod
    def apply_outputs(cls, *args, **options):
        """``apply`` for an op whose forward returns a tuple of arrays (aminmax): one node,
        a Tensor per array, each recorded as output k of the node (an ``OutputRef``), and
        ``backward`` given the list of their gradients (None for an output that got none).
        mg.compile records one-output ops only: callers use theirs while it records."""
        Tensor = _tensor_type
        node = cls()
        if len(args) == 1 and not options and isinstance(args[0], Tensor):  # aminmax(x)
            needs = (args[0]._requires_grad,)
            arrays = node.forward(args[0]._data)
        else:
            needs = tuple([isinstance(x, Tensor) and x._requires_grad for x in args])
            arrays = node.forward(*[x._data if isinstance(x, Tensor) else x for x in args],
                                  **options)
        record = True in needs and _grad_state.enabled
        node.num_outputs = len(arrays)
        outputs = []
        for out in arrays:
            t = Tensor.__new__(Tensor)
            t._data = out if type(out) is _ndarray else np.asarray(out)
            t._grad = t._view_of = t._grad_fn = None
            t._untracked = t._requires_grad = False
            outputs.append(t)
        if record:
            for k, t in enumerate(outputs):
                if t._data.dtype.kind in "fc":
                    t._requires_grad = True
                    t._grad_fn = OutputRef(node, k)
            node.needs_input_grad = needs
            node._edges = tuple([(x._grad_fn or x) if need else None
                                 for x, need in zip(args, needs)])
            node._inputs = args
            node._seq = _next_sequence()
            if anomaly_mode.state.enabled:
                node._trace = anomaly_mode.creation_trace()
        return tuple(outputs)

    def forward(self, *args, **options):  # pragma: no cover - abstract
        raise NotImplementedError

    def backward(self, grad, xp):  # pragma: no cover - abstract
        raise NotImplementedError

    # ----- what the engine calls ---------------------------------------------------------------

    def release(self):
        """Free the saved values after a backward that does not retain the graph. A node that
        saved nothing (an addition, a reshape) stays usable, as in PyTorch."""
        if self.saved_tensors is not None or self.result is not None:
            self.saved_tensors = self.result = self._inputs = None
            self._freed = True

    def backward_recorded(self, grad, xp):
        """``backward`` on Tensors (``create_graph=True``): the saved arrays are swapped for
        the tensors they came from for the duration of the call, so the formula records."""
        saved, result = self.saved_tensors, self.result
        if saved is not None:
            self.saved_tensors = tuple([self._saved_tensor(value) for value in saved])
        if result is not None:
            self.result = _node_output(self, result)
        try:
            return self.backward(grad, xp)
        finally:
            self.saved_tensors, self.result = saved, result

    def _saved_tensor(self, value):
        """A saved array as the Tensor it was saved from: an input keeps its graph (through
        the edge captured at recording); other arrays are constants."""
        if type(value) is not np.ndarray:
            return value
        Tensor = _tensor_type
        for inp, edge in zip(self._inputs, self._edges):
            if isinstance(inp, Tensor) and inp._data is value:
                if edge is None:
                    return inp if not inp._requires_grad else _constant(value)
                if edge is inp or edge is inp._grad_fn:
                    return inp
                t = Tensor.__new__(Tensor)  # the input has changed its graph since (in place)
                t._data, t._grad, t._grad_fn, t._requires_grad = value, None, edge, True
                return t
        return value

    def check_saved_versions(self):
        """Raise if a saved array was changed in place after this node was recorded."""
        values = list(self.saved_tensors or ())
        if self.result is not None:
            values.append(self.result)
        for i, value in enumerate(values):
            if type(value) is np.ndarray:
                changed = versions_after(value, self._seq)
                if changed:
                    raise RuntimeError(_modified_message(self, value, i == len(values) - 1
                                                         and self.result is not None, changed))

    # ----- introspection, in PyTorch's spelling ------------------------------------------------

    def name(self):
        return type(self).__name__ + "Backward0"  # torch: y.grad_fn.name() == "MulBackward0"

    @property
    def next_functions(self):
        return tuple(_edge_function(edge) for edge in getattr(self, "_edges", ()))

    def _sequence_nr(self):
        return getattr(self, "_seq", -1)

    @property
    def metadata(self):
        if "_metadata" not in self.__dict__:
            self._metadata = {}
        return self._metadata

    def register_hook(self, fn):
        """``fn(grad_inputs, grad_outputs)`` after this node's backward; it may return new
        grad_inputs."""
        return _node_hooks(self).add("post", fn)

    def register_prehook(self, fn):
        """``fn(grad_outputs)`` before this node's backward; it may return new grad_outputs."""
        return _node_hooks(self).add("pre", fn)

    def __repr__(self):
        return f"<{self.name()} object at {id(self):#x}>"

    def __call__(self, *grads):
        """``grad_fn(grad)``: run this node's backward formula by hand (as torch allows)."""
        Tensor = _tensor_type
        grad = grads[0] if len(grads) == 1 else list(grads)
        if self._freed:
            raise RuntimeError(FREED_MESSAGE)
        if isinstance(grad, Tensor):
            grad = grad._data
        from .._kernels import kernels
        out = self.backward(grad, kernels)
        out = out if type(out) is tuple else (out,)
        return tuple(None if g is None else _constant(np.asarray(g)) for g in out)


def replayed(function):
    """Mark ``function`` as one step of a captured function (``mg.compile``): it computes
    outside the op protocol (numpy on the arrays, random draws, in-place updates of running
    statistics, gradients or parameters, Python state such as a learning rate), so while
    ``mg.compile`` records, the whole call is recorded as one entry of the tape and run again,
    with the same arguments, on every replay. When nothing records it costs one global read."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        if capture is None:
            return function(*args, **kwargs)
        return capture.record_call(function, args, kwargs)

    return wrapper


class OutputRef(tuple):
    """The ``grad_fn`` edge of output ``index`` of a node with several outputs."""

    __slots__ = ()
    _edge_kind = EDGE_OUTPUT

    def __new__(cls, node, index):
        return super().__new__(cls, (node, index))

    node = property(lambda self: self[0])
    index = property(lambda self: self[1])


def _node_output(node, value):
    """The output of ``node`` as a Tensor whose grad_fn is ``node`` (PyTorch's unpacking of
    a saved output): differentiating it goes through ``node`` to the original inputs."""
    Tensor = _tensor_type
    t = Tensor.__new__(Tensor)
    t._data, t._grad, t._grad_fn, t._requires_grad = value, None, node, True
    return t


def _constant(array):
    Tensor = _tensor_type
    t = Tensor.__new__(Tensor)
    t._data, t._grad, t._grad_fn, t._requires_grad = array, None, None, False
    return t


# ---------------------------------------------------------------------------------------------
# Hooks on nodes and their outputs
# ---------------------------------------------------------------------------------------------


class _NodeHooks:
    """Hooks attached to one node: tensor hooks of its output(s) (``register_hook``), the
    ``retain_grad`` of its output(s), and node pre/post hooks."""

    def __init__(self):
        self.tensor = OrderedDict()    # id -> (output index, fn(grad) -> grad or None)
        self.retain = {}               # output index -> weakref to the tensor retaining grad
        self.pre = OrderedDict()       # id -> fn(grad_outputs) -> grad_outputs or None
        self.post = OrderedDict()      # id -> fn(grad_inputs, grad_outputs) -> ... or None

    def add(self, kind, fn, index=0):
        from ..utils.hooks import RemovableHandle
        table = getattr(self, kind)
        handle = RemovableHandle(table)
        table[handle.id] = (index, fn) if kind == "tensor" else fn
        return handle


def _node_hooks(node):
    if node._hooks is None:
        node._hooks = _NodeHooks()
    return node._hooks


def node_hooks(node):
    return _node_hooks(node)


# ---------------------------------------------------------------------------------------------
# next_functions: leaves appear as AccumulateGrad nodes, as in PyTorch
# ---------------------------------------------------------------------------------------------


class AccumulateGrad:
    """What ``next_functions`` shows for a leaf: the node that accumulates into ``.grad``."""

    def __init__(self, variable):
        self._variable = weakref.ref(variable)  # the leaf owns its accumulator, not the reverse
        self.next_functions = ()

    @property
    def variable(self):
        return self._variable()

    def name(self):
        return "AccumulateGrad"

    def __repr__(self):
        return f"<AccumulateGrad object at {id(self):#x}>"


# id(leaf) -> its AccumulateGrad, one per leaf (as PyTorch's), dropped when the leaf dies. Not
# a WeakKeyDictionary: its lookups compare keys with ==, which is elementwise for Tensors.
_accumulators = {}


def _edge_function(edge):
    if edge is None:
        return (None, 0)
    if isinstance(edge, OutputRef):
        return (edge.node, edge.index)
    if isinstance(edge, Op):
        return (edge, 0)
    key = id(edge)
    accumulator = _accumulators.get(key)
    if accumulator is None or accumulator.variable is not edge:
        accumulator = _accumulators[key] = AccumulateGrad(edge)
        weakref.finalize(edge, _accumulators.pop, key, None)
    return (accumulator, 0)


# ---------------------------------------------------------------------------------------------
# Storage versions: in-place changes, and the check that a saved array was not changed since
# ---------------------------------------------------------------------------------------------
#
# PyTorch keeps a version counter per tensor (shared by its views); minigrad keeps one per block
# of memory, in a dict keyed by the numpy object that owns the memory, so views made by numpy
# need no bookkeeping at all and recording an op costs nothing. An in-place change takes a
# sequence number from the same counter as the nodes, so "changed after this node was recorded"
# is one comparison; and as long as no in-place change happened after a node, the engine skips
# the check entirely (``inplace_state.last``).


class _InplaceState:
    last = 0  # sequence number of the latest in-place change anywhere


inplace_state = _InplaceState()
_versions = {}  # id(owner of the memory) -> [version, recent change sequence numbers, weakref]


def _owner(array):
    """The object that owns the memory ``array`` views (the array itself if it owns it)."""
    while isinstance(array.base, np.ndarray):
        array = array.base
    return array if array.base is None else array.base


def bump(array):
    """Record an in-place change of the memory that ``array`` uses."""
    owner = array if array.base is None else _owner(array)  # (most own their memory)
    key = id(owner)
    seq = _next_sequence()
    entry = _versions.get(key)
    if entry is None:
        try:
            ref = weakref.ref(owner, lambda _, key=key: _versions.pop(key, None))
        except TypeError:  # e.g. bytes: cannot be weakly referenced; keep the entry
            ref = None
        entry = _versions[key] = [0, deque(maxlen=64), ref]
    entry[0] += 1
    entry[1].append(seq)
    inplace_state.last = seq


# Bulk writers (optimizers) change many arrays in place at once, every step. Bumping each
# array's version would cost a dict update per parameter per step; instead a writer records one
# sequence number per call, and the (rare) check of a node older than that asks the writer
# which arrays it changed.
_bulk_writers = weakref.WeakSet()


def register_bulk_writer(writer):
    """``writer`` has ``modified_arrays()``; call ``mark_bulk_write(writer)`` after each write."""
    writer._modified_at = 0
    _bulk_writers.add(writer)


def mark_bulk_write(writer):
    seq = _next_sequence()
    writer._modified_at = seq
    inplace_state.last = seq


def _bulk_writes_after(array, seq):
    owner = _owner(array)
    return sum(1 for writer in list(_bulk_writers) if writer._modified_at > seq
               and any(_owner(a) is owner for a in writer.modified_arrays()))


def version(array):
    entry = _versions.get(id(_owner(array)))
    return entry[0] if entry is not None else 0


def versions_after(array, seq):
    """How many in-place changes the memory of ``array`` had after sequence number ``seq``
    (an optimizer's step counts as one)."""
    entry = _versions.get(id(_owner(array)))
    changes = 0 if entry is None else sum(1 for s in entry[1] if s > seq)
    return changes + (_bulk_writes_after(array, seq) if _bulk_writers else 0)


def _modified_message(node, array, is_output, changed):
    Tensor = _tensor_type
    now = version(array)
    kind = Tensor._legacy_type_name(array.dtype)
    where = ""
    if is_output:
        where = f", which is output 0 of {node.name()},"
    else:
        for inp, edge in zip(node._inputs or (), node._edges):
            if isinstance(inp, Tensor) and inp._data is array and isinstance(edge, Op):
                where = f", which is output 0 of {edge.name()},"
                break
    return (f"one of the variables needed for gradient computation has been modified by an "
            f"inplace operation: [{kind} {list(array.shape)}]{where} is at version {now}; "
            f"expected version {now - changed} instead. Hint: enable anomaly detection to find "
            f"the operation that failed to compute its gradient, with "
            f"minigrad.autograd.set_detect_anomaly(True).")
