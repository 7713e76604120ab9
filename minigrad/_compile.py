"""``mg.compile``: record a training step once, replay it without the graph.

::

    @mg.compile
    def train_step(x, y):
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        return loss

    for x, y in loader:
        losses.append(train_step(x, y))      # a fresh Tensor each call

The first call with a given input signature runs eagerly while a recorder listens: every
primitive op (``Op.apply``: the node and its arguments), the backward pass (which node's
formula gets which gradient, the sums of gradients meeting at a node, the sums back to a
broadcast input's shape, the accumulation into each ``.grad``), and the calls that compute
outside the op protocol (``optimizer.step``, ``zero_grad``, ``scheduler.step``,
``clip_grad_norm_``, ``dropout``, ``batch_norm``, ``cross_entropy``: the functions marked
``graph.replayed``) become a flat tape of entries over numbered slots. Slots are resolved by
the identity of the arrays while recording: the arrays of the function's Tensor arguments are
bound to input slots, tensors that exist outside the function (parameters, buffers, constants)
are read live at each replay, everything else is a value the tape computes.

Later calls whose guards pass (same input shapes, dtypes and requires_grad, same grad mode and
default dtype, the modules the step called still in the same train/eval mode with the same
parameters and buffers, the outside tensors still requiring grad as before) replay the tape:
each op's ``forward`` on the current arrays, each node's ``backward`` formula, the gradient
sums, the recorded calls; the common ops, ``zero_grad`` and the Adam steps through the lowered
entries of ``_compile_lower.py`` (their kernels called directly on the slots), all inside one
generated function per tape. No graph is built, no Python of the user's function runs. The
kernels, their order and the random stream are those of the eager step, so the results are
bit-identical. A failed guard records another tape (up to ``_TAPES_PER_KEY`` per input
signature); what cannot be recorded makes the function run eagerly, with a one-time warning
naming the reason.

What cannot be captured (the function then runs eagerly): reading values inside the function
(``.item()``, ``.tolist()``, ``.numpy()``, ``float(t)``, ``bool(t)``: the value would be
frozen), in-place changes of tensors outside the recorded calls (``x += 1``, ``t[i] = v``),
random numbers drawn outside the recorded calls (``mg.randn``, ``rrelu``, ``dropout2d``...),
ops whose nodes are not ``Op.apply`` nodes (``split``/``chunk``/``unbind`` that need a
gradient, recurrent layers, custom ``autograd.Function``), index ops fed with integer tensors
computed in the step (their bounds are checked in Python), ``autograd.grad``,
``backward(create_graph=True)`` or ``inputs=``, hooks on tensors or nodes, anomaly detection,
an optimizer step with a closure (LBFGS), and a forward whose outputs still carry a graph
when the function returns (``mg.compile(model)`` in training mode: compile the whole step).
Data-dependent Python control flow inside the function is the user's responsibility, as with
CUDA graphs: the branch taken while recording is the one replayed.
"""
from __future__ import annotations

import builtins
import functools
import sys
import threading
import types
import warnings
import weakref
from heapq import heappop, heappush

import numpy as np

from . import _compile_lower as _lower
from . import dtypes as _dtypes
from . import random as _random
from ._kernels import kernels as K
from .autograd import anomaly_mode, engine, graph
from .autograd.grad_mode import state as _grad_state
from .nn.module import Module, _Structure
from .tensor import Tensor, _wrap

__all__ = ["compile"]

_TAPES_PER_KEY = 8   # torch._dynamo.config.recompile_limit's default
_MODES = ("default", "lite", "reduce-overhead", "max-autotune-no-cudagraphs", "max-autotune")
_BACKENDS = ("inductor", "eager", "aot_eager", "cudagraphs", "onnxrt", "openxla", "tvm",
             "aot_eager_decomp_partition", "aot_inductor", "ts", "dynamo_graph_accumulation")
_ndarray = np.ndarray


class Unsupported(Exception):
    """Raised inside the recorder when something cannot be captured (the reason)."""


# ---------------------------------------------------------------------------------------------
# The public entry point
# ---------------------------------------------------------------------------------------------


def compile(model=None, *, fullgraph=False, dynamic=None, backend="inductor", mode=None,
            options=None, disable=False, **kwargs):
    """Capture ``model`` (a function or an ``nn.Module``) for fast replay (``torch.compile``).

    ``mg.compile(fn)``, ``@mg.compile`` and ``@mg.compile(...)`` return a function that
    records ``fn``'s first call per input signature and replays the recording afterwards (see
    the module docstring); ``mg.compile(module)`` returns an ``OptimizedModule`` that does the
    same for the module's call and passes everything else through (its state_dict keys carry
    the ``_orig_mod.`` prefix, as PyTorch's). torch.compile's keyword arguments are accepted
    and checked as PyTorch checks them: ``mode`` one of PyTorch's modes, not together with
    ``options`` (a dict); ``backend`` a name or a callable (minigrad has one backend: the
    choice changes nothing); ``dynamic`` None or a bool; ``fullgraph=True`` raises
    RuntimeError where the function would otherwise run eagerly; ``disable=True`` returns
    ``model`` itself.
    """
    for name in kwargs:
        if name not in ("name", "recompile_limit", "isolate_recompiles", "shapes_spec"):
            raise TypeError(f"compile() got an unexpected keyword argument '{name}'")
    if model is None:
        def decorator(model):
            if model is None:
                raise RuntimeError("Model can't be None")
            return compile(model, fullgraph=fullgraph, dynamic=dynamic, backend=backend,
                           mode=mode, options=options, disable=disable, **kwargs)
        return decorator
    if mode is not None and options is not None:
        raise RuntimeError("Either mode or options can be specified, but both can't be "
                           "specified at the same time.")
    if mode is not None and mode not in _MODES:
        raise RuntimeError(f"Unrecognized mode={mode}, should be one of: {', '.join(_MODES)}")
    if options is not None and not isinstance(options, dict):
        raise TypeError(f"options must be a dict, got {type(options).__name__}")
    if isinstance(backend, str) and backend not in _BACKENDS:
        raise RuntimeError(f"Invalid backend: {backend!r}, see `torch._dynamo.list_backends()` "
                           f"for available backends.")
    if dynamic is not None and not isinstance(dynamic, bool):
        raise AssertionError(f"Expected enable to be a bool, got {type(dynamic)}")
    if disable:
        return model
    if not callable(model):
        raise AssertionError(  # noqa: TRY004 (as torch)
            f"A callable function is expected, but {type(model)} is provided.")
    if isinstance(model, Module):
        return OptimizedModule(model, fullgraph)
    return CompiledFunction(model, fullgraph)


class CompiledFunction:
    """The function returned by ``mg.compile(fn)``: calls replay a tape when one fits."""

    def __init__(self, fn, fullgraph=False):
        self._orig_fn = fn
        self._fullgraph = fullgraph
        self._tapes = {}      # input signature -> list of Tape, or a str: why it runs eagerly
        self._warned = set()
        # The tape last replayed for a call whose arguments are all Tensors, with what its
        # signature asks of them: checked in one loop before the full signature is built.
        self._fast = None
        functools.update_wrapper(self, fn)

    def __get__(self, instance, owner=None):  # decorating a method binds like a function
        return self if instance is None else types.MethodType(self, instance)

    def __call__(self, *args, **kwargs):
        fast = self._fast
        if fast is not None and not kwargs:
            tape, layout, enabled, default = fast
            if (len(args) == len(layout) and _grad_state.enabled is enabled
                    and _dtypes._default.dtype is default):
                for value, (shape, dtype, requires_grad) in zip(args, layout):
                    if (value.__class__ is not Tensor or value._grad_fn is not None
                            or value._requires_grad is not requires_grad):
                        break
                    data = value._data
                    if data.shape != shape or data.dtype is not dtype:
                        break
                else:
                    if tape.guards_pass():
                        return tape.replay_positional(args)
        key = _signature(args, kwargs)
        if key is None:
            return self._orig_fn(*args, **kwargs)
        tapes = self._tapes.get(key)
        if tapes.__class__ is list:
            for tape in tapes:
                if tape.guards_pass():
                    if not kwargs and all(a.__class__ is Tensor for a in args):
                        self._fast = (tape, tuple((a._data.shape, a._data.dtype,
                                                   a._requires_grad) for a in args),
                                      _grad_state.enabled, _dtypes._default.dtype)
                    return tape.replay(args, kwargs)
            if len(tapes) >= _TAPES_PER_KEY:
                self._eager(key, f"more than {_TAPES_PER_KEY} recordings for one input "
                                 f"signature (the guards keep failing)")
                return self._orig_fn(*args, **kwargs)
        elif tapes is not None:  # a reason to run eagerly
            return self._orig_fn(*args, **kwargs)
        return self._record(key, args, kwargs)

    def _record(self, key, args, kwargs):
        if graph.capture is not None:  # a compiled function called by one being recorded
            return self._orig_fn(*args, **kwargs)
        recorder = Recorder(args, kwargs)
        result = recorder.run(self._orig_fn, args, kwargs)
        if recorder.failure is None:
            tape = recorder.finish(result)
            if tape is not None:
                self._tapes.setdefault(key, []).append(tape)
                return result
        self._eager(key, recorder.failure)
        return result

    def _eager(self, key, reason):
        self._tapes[key] = reason
        name = getattr(self._orig_fn, "__qualname__", repr(self._orig_fn))
        if self._fullgraph:
            raise RuntimeError(f"mg.compile(fullgraph=True): {name} cannot be captured: "
                               f"{reason}")
        if reason not in self._warned:
            self._warned.add(reason)
            warnings.warn(f"mg.compile: {name} runs eagerly: {reason}", stacklevel=3)

    def __repr__(self):
        return f"<mg.compile of {self._orig_fn!r}>"


class OptimizedModule(Module):
    """What ``mg.compile(module)`` returns (PyTorch's ``OptimizedModule``): a Module whose only
    child is ``_orig_mod``; calling it calls the captured module, attributes it does not have
    come from ``_orig_mod``; parameters, state_dict (keys prefixed ``_orig_mod.``),
    train()/eval() reach the original module."""

    def __init__(self, mod, fullgraph=False):
        super().__init__()
        self._orig_mod = mod
        object.__setattr__(self, "_compiled_call", CompiledFunction(mod.__call__, fullgraph))

    def __call__(self, *args, **kwargs):
        return self._compiled_call(*args, **kwargs)

    def forward(self, *args, **kwargs):
        return self._orig_mod.forward(*args, **kwargs)

    def __getattr__(self, name):
        try:
            return super().__getattr__(name)
        except AttributeError:
            return getattr(self._modules["_orig_mod"], name)

    def __repr__(self):
        return f"OptimizedModule(\n  (_orig_mod): {self._orig_mod!r}\n)"


# ---------------------------------------------------------------------------------------------
# Guards
# ---------------------------------------------------------------------------------------------


def _signature(args, kwargs):
    """What a tape is keyed on: each Tensor argument's shape, dtype and requires_grad, the
    other arguments' values, the grad mode and the default dtype. None when an argument is
    neither a Tensor nor hashable (the call then runs eagerly)."""
    parts = [_grad_state.enabled, _dtypes.get_default_dtype()]
    for value in args:
        if value.__class__ is Tensor:
            data = value._data
            parts.append((data.shape, data.dtype, value._requires_grad,
                          value._grad_fn is not None))
        else:
            parts.append(_value_key(value))
    for name, value in kwargs.items():
        parts.append(name)
        parts.append(_value_key(value) if value.__class__ is not Tensor else
                     (value._data.shape, value._data.dtype, value._requires_grad,
                      value._grad_fn is not None))
    try:
        return tuple(parts).__hash__() and tuple(parts)
    except TypeError:
        return None


def _value_key(value):
    if isinstance(value, Tensor):
        data = value._data
        return ("tensor", data.shape, data.dtype, value._requires_grad, value._grad_fn is not None)
    if isinstance(value, (list, tuple)):
        return (type(value),) + tuple(_value_key(v) for v in value)
    if isinstance(value, (int, float, str, bool, type(None), complex, bytes)):
        return (type(value), value)
    return ("object", id(value))  # modules, optimizers...: the same object


def _module_state(module):
    """train/eval and the identity of the module's parameters, buffers and children (the
    tape keeps the module, so these objects stay alive and their ids stay theirs)."""
    return (module.training, *map(id, module._parameters.values()),
            None, *map(id, module._buffers.values()), None, *map(id, module._modules.values()))


# ---------------------------------------------------------------------------------------------
# The tape
# ---------------------------------------------------------------------------------------------
#
# Slots: [inputs | live tensors' arrays | constants | values computed by the tape]. A replay
# fills the first two groups from the call's arguments and the live tensors, then runs each
# entry, which reads and writes slots by index.


def _forward_entry(node, arg_slots, options, out):
    forward = node.forward

    def run(slots):
        value = forward(*[slots[i] for i in arg_slots], **options)
        slots[out] = value if value.__class__ is _ndarray else np.asarray(value)
    return run


def _backward_entry(node_of, grad_slot, outs):
    """``outs``: (index in the formula's results, slot) for each gradient the tape keeps.
    ``node_of`` is the node, or (a call's node, made anew by each replay) a function
    giving it."""
    if isinstance(node_of, graph.Op):
        backward = node_of.backward
        if len(outs) == 1:
            (k, out), = outs

            def run_one(slots):
                grads = backward(slots[grad_slot], K)
                slots[out] = grads[k] if grads.__class__ is tuple else grads
            return run_one

        def run_bound(slots):
            grads = backward(slots[grad_slot], K)
            if grads.__class__ is not tuple:
                grads = (grads,)
            for k, slot in outs:
                slots[slot] = grads[k]
        return run_bound

    def run(slots):
        grads = node_of().backward(slots[grad_slot], K)
        if grads.__class__ is not tuple:
            grads = (grads,)
        for k, slot in outs:
            slots[slot] = grads[k]
    return run


def _sum_to_entry(source, shape, out):
    def run(slots):
        slots[out] = K.sum_to(slots[source], shape)
    return _lower.source(run, f"s[{out}] = K.sum_to(s[{source}], {{shape}})", shape=shape)


def _add_entry(a, b, out):
    def run(slots):
        slots[out] = slots[a] + slots[b]   # the engine's sum of two paths' gradients
    return _lower.source(run, f"s[{out}] = s[{a}] + s[{b}]")


def _release_function(slots):
    """A function setting the given slots to None in one statement."""
    if not slots:
        return lambda s: None
    code = "def release(s):\n    " + " = ".join(f"s[{i}]" for i in slots) + " = None\n"
    namespace = {}
    exec(builtins.compile(code, "<mg.compile release>", "exec"), namespace)  # noqa: S102
    return namespace["release"]


def _generate(entries):
    """One Python function running ``entries`` in order: the source of each lowered entry
    inline (no call per entry), a call ``e<k>(s)`` for the others. The tape's replays call
    it instead of looping over the entries; the result is the same, entry for entry."""
    namespace = {"K": K}
    body = []
    for k, entry in enumerate(entries):
        lines = getattr(entry, "lines", None)
        if lines is None:
            namespace[f"e{k}"] = entry
            body.append(f"e{k}(s)")
            continue
        names = {}
        for name, value in entry.constants.items():
            names[name] = f"c{k}_{name}"
            namespace[names[name]] = value
        body.extend(line.format(**names) for line in lines)
    code = "def replay(s):\n" + "".join(f"    {line}\n" for line in body or ["pass"])
    exec(builtins.compile(code, "<mg.compile replay>", "exec"), namespace)  # noqa: S102
    replay = namespace["replay"]
    replay.source = code
    return replay


def _leaves_entry(leaves):
    """The engine's accumulation of the pass' leaf gradients (finish_leaves), in its order.
    ``leaves``: (leaf or None, leaf_of, source slot, steal) per leaf; ``leaf`` is the leaf
    itself when it lives outside the call (a parameter), else None and ``leaf_of()`` gives it
    (an input of the call). ``steal``: the gradient is a fresh array nothing else reads, so
    the first accumulation may keep it instead of copying it."""
    new = Tensor.__new__

    def run(slots):
        for leaf, leaf_of, source, steal in leaves:
            if leaf is None:
                leaf = leaf_of()
            g = slots[source]
            if leaf._grad is None and g.dtype == leaf._data.dtype:
                if not (steal and g.base is None):
                    g = np.array(g, copy=True, order="C")
                t = new(Tensor)  # _wrap(g), inline
                t._data = g
                t._grad = t._grad_fn = t._hooks = None
                t._requires_grad = False
                leaf._grad = t
            else:
                engine._accumulate_leaf(leaf, g, False)
    lines, constants = [], {"new": new, "Tensor": Tensor, "array": np.array,
                            "accumulate": engine._accumulate_leaf}
    for k, (leaf, leaf_of, source, steal) in enumerate(leaves):
        if leaf is None:
            constants[f"leaf_of{k}"] = leaf_of
            lines.append(f"leaf = {{leaf_of{k}}}()")
        else:
            constants[f"leaf{k}"] = leaf
            lines.append(f"leaf = {{leaf{k}}}")
        copy = '{array}(g, copy=True, order="C")'
        lines += [f"g = s[{source}]",
                  "if leaf._grad is None and g.dtype == leaf._data.dtype:",
                  "    t = {new}({Tensor})",
                  f"    t._data = g if g.base is None else {copy}" if steal else
                  f"    t._data = {copy}",
                  "    t._grad = t._grad_fn = t._hooks = None",
                  "    t._requires_grad = False",
                  "    leaf._grad = t",
                  "else:",
                  "    {accumulate}(leaf, g, False)"]
    return _lower.source(run, *lines, **constants)


class _CallEntry:
    """A call of a ``replayed`` function, run again with the current values."""

    __slots__ = ("args", "function", "kwargs", "node", "outs", "tensor_args")

    def __init__(self, function, args, kwargs, tensor_args, outs):
        self.function = function
        self.args = args              # with None where a tape value goes
        self.kwargs = kwargs
        self.tensor_args = tensor_args  # (where, slot, requires_grad): where = index or name
        self.outs = outs              # (index into the result or None, slot)
        self.node = None

    def __call__(self, slots):
        args, kwargs = self.args, self.kwargs
        if self.tensor_args:
            args, kwargs = list(args), dict(kwargs)
            for where, slot, requires_grad in self.tensor_args:
                t = Tensor.__new__(Tensor)
                t._data, t._grad, t._grad_fn, t._requires_grad = slots[slot], None, None, \
                    requires_grad
                t._hooks = None
                if where.__class__ is int:
                    args[where] = t
                else:
                    kwargs[where] = t
        result = self.function(*args, **kwargs)
        for index, slot in self.outs:
            value = result if index is None else result[index]
            slots[slot] = value._data
            self.node = value._grad_fn
        return result


class Tape:
    """One recording: the entries, the slots, and the guards it was recorded under."""

    def __init__(self, recorder, live, output):
        self.entries = recorder.entries
        self.slots = recorder.slots
        self.frame = recorder.frame
        self.input_positions = list(enumerate(recorder.input_positions))
        self.live = live
        self.modules = [(m, _module_state(m)) for m in recorder.modules.values()]
        live_ids = {id(t) for _, t in live}
        self.watched = tuple((t, t._requires_grad) for t in recorder.watched.values()
                             if id(t) not in live_ids)
        # The live tensors: (slot, tensor, requires_grad, shape, dtype), checked and bound in
        # one loop.
        self.live_layout = tuple((slot, t, t._requires_grad, t._data.shape, t._data.dtype)
                                 for slot, t in live)
        self.input_slots = tuple(slot for slot, (where, _) in self.input_positions)
        self.positional = all(where == 0 for _, (where, _) in self.input_positions)
        self.output = output
        self.checked_version = _Structure.version
        self.run = _generate(self.entries)
        # After a replay, the slots of the values it computed are emptied: the arrays die
        # (back to the kernels' buffer pool) instead of living until the next replay.
        computed = sorted(recorder.computed | recorder.internal | set(self.input_slots))
        self.release = _release_function(computed)

    def guards_pass(self):
        if _Structure.version != self.checked_version:
            for module, state in self.modules:
                if _module_state(module) != state:
                    return False
            self.checked_version = _Structure.version
        for t, requires_grad in self.watched:
            if t._requires_grad is not requires_grad:
                return False
        slots = self.slots
        for slot, t, requires_grad, shape, dtype in self.live_layout:
            data = t._data
            if (t._requires_grad is not requires_grad or data.shape != shape
                    or data.dtype != dtype):
                return False
            slots[slot] = data  # bound here: a passing guard is always followed by a replay
        return True

    def replay(self, args, kwargs):
        slots = self.slots
        self.frame[0], self.frame[1] = args, kwargs
        for slot, (where, key) in self.input_positions:
            slots[slot] = (args[key] if where == 0 else kwargs[key])._data
        self.run(slots)
        result = _build_output(self.output, slots, args, kwargs)
        self.release(slots)
        return result

    def replay_positional(self, args):
        """``replay`` for a call whose arguments are all Tensors, given by position (the
        inputs' slots are their positions' order)."""
        if not self.positional:
            return self.replay(args, {})
        slots = self.slots
        frame = self.frame
        frame[0] = args
        frame[1] = {}
        for slot, value in zip(self.input_slots, args):
            slots[slot] = value._data
        self.run(slots)
        output = self.output
        if output[0] == "slot":
            result = _wrap(slots[output[1]])
        else:
            result = _build_output(output, slots, args, {})
        self.release(slots)
        return result


def _build_output(spec, slots, args, kwargs):
    kind = spec[0]
    if kind == "slot":
        return _wrap(slots[spec[1]])
    if kind == "value":
        return spec[1]
    if kind == "input":
        where, key = spec[1]
        return args[key] if where == 0 else kwargs[key]
    if kind == "seq":
        return spec[1](_build_output(s, slots, args, kwargs) for s in spec[2])
    if kind == "dict":
        return {k: _build_output(s, slots, args, kwargs) for k, s in spec[1].items()}
    raise AssertionError(kind)  # pragma: no cover


# ---------------------------------------------------------------------------------------------
# The recorder
# ---------------------------------------------------------------------------------------------


class Recorder:
    """Listens to one eager call of the function and builds its tape (see the module
    docstring). Every entry is run as soon as it is recorded, on the same slots a replay
    uses, so the recording call computes exactly what its replays will."""

    def __init__(self, args, kwargs):
        self.thread = threading.get_ident()
        self.failure = None
        self.entries = []
        self.slots = []
        self.slot_of = {}          # id(array) -> slot
        self.keep = []             # every array seen, so that no id is reused while recording
        self.input_positions = []  # slot -> (0, position) or (1, name)
        self.input_tensors = {}    # id(tensor) -> slot
        self.live_refs = []        # (slot, weakref): tensors dying with the call are constants
        self.op_nodes = {}         # id(node) -> node, recorded forward ops
        self.call_nodes = {}       # id(node) -> _CallEntry that makes it
        self.modules = {}
        self.uses = {}             # slot -> times read by backward / leaf entries
        self.lowered = {}          # id(node) -> what its lowered backward entry reads
        self.internal = set()      # slots of arrays kept by lowered entries
        self.frame = [args, kwargs]  # the call's arguments (replays set them)
        for position, value in enumerate(args):
            if isinstance(value, Tensor):
                self._bind_input(value, (0, position))
        for name, value in kwargs.items():
            if isinstance(value, Tensor):
                self._bind_input(value, (1, name))

    # ----- slots ----------------------------------------------------------------------------

    def _new_slot(self, array):
        slot = len(self.slots)
        self.slots.append(array)
        if array is not None:
            self.slot_of[id(array)] = slot
            self.keep.append(array)
        return slot

    def new_internal_slot(self, array):
        """A slot for an array a lowered entry keeps for a later one (not a Tensor's)."""
        slot = len(self.slots)
        self.slots.append(array)
        self.keep.append(array)
        self.internal.add(slot)
        return slot

    def _bind_input(self, tensor, where):
        if tensor._grad_fn is not None:
            self.fail("an input tensor carries a graph (it is the output of ops that require "
                      "grad); pass it detached or compute it inside the function")
            return
        if id(tensor._data) in self.slot_of:
            self.fail("two input tensors share one array")
            return
        slot = self._new_slot(tensor._data)
        self.input_positions.append(where)
        self.input_tensors[id(tensor)] = slot

    def _slot_of_tensor(self, t):
        slot = self.slot_of.get(id(t._data))
        if slot is not None:
            return slot
        if t._grad_fn is not None:
            raise Unsupported(f"a tensor made by {_node_name(t._grad_fn)}, whose node is not "
                              f"recorded (split/chunk/unbind, recurrent layers and custom "
                              f"autograd.Function are not captured)")
        base = t._data
        while isinstance(base.base, _ndarray):
            base = base.base
        if id(base) in self.slot_of and self.slot_of[id(base)] >= 0 and \
                self._is_computed(self.slot_of[id(base)]):
            raise Unsupported("a view of a value computed in the function, made outside the "
                              "recorded ops (split/chunk/unbind without grad)")
        slot = self._new_slot(t._data)
        self.live_refs.append((slot, weakref.ref(t)))
        return slot

    def _is_computed(self, slot):
        return slot < len(self.input_positions) or slot in self.computed

    def _slot_of_argument(self, value, node):
        """A non-Tensor argument of an op: an array of the tape (found by identity), or a
        constant. An array the tape does not know was computed outside the recorded ops
        (numpy in a functional): replaying would freeze it."""
        if value.__class__ is _ndarray or isinstance(value, (list, tuple)) and any(
                v.__class__ is _ndarray for v in value):
            for array in (value,) if value.__class__ is _ndarray else value:
                if array.__class__ is _ndarray and id(array) not in self.slot_of:
                    raise Unsupported(f"{type(node).__name__} is given an array computed "
                                      f"outside the recorded ops; a replay would reuse it")
        return self._slot_of_value(value)

    def _refuse_frozen_arrays(self, value, node, role):
        """An option, or a tuple or list argument (x[rows, cols]), is replayed as it was
        recorded: it must not hold an input of the function or a value computed in it."""
        arrays = (value,) if value.__class__ is _ndarray else value if isinstance(
            value, (tuple, list)) else ()
        for array in arrays:
            slot = self.slot_of.get(id(array)) if array.__class__ is _ndarray else None
            if slot is not None and self._is_computed(slot):
                raise Unsupported(f"{type(node).__name__} is given an input or a value "
                                  f"computed in the function inside {role}, which a replay "
                                  f"would not read again")

    def _slot_of_value(self, value):
        """A non-Tensor argument of an op: an array found by identity, else a constant."""
        slot = self.slot_of.get(id(value)) if value.__class__ is _ndarray else None
        return slot if slot is not None else self._new_slot(value)

    # ----- installing the listeners ---------------------------------------------------------

    def run(self, fn, args, kwargs):
        """Call ``fn`` eagerly while listening; returns its result."""
        self.computed = set()
        self.watched = {}          # id -> tensor whose requires_grad the guards check
        self.backward_done = False
        self._rng_state = _random.generator().bit_generator.state
        self._install()
        try:
            return fn(*args, **kwargs)
        finally:
            self._uninstall()

    def _install(self):
        # Swapped in for the recording only, so that eager code pays nothing for them: the
        # engine's pass, the in-place bump, Tensor's value reads and Module.__call__.
        self._installed = (graph.capture, engine.run, graph.bump,
                           {name: Tensor.__dict__[name] for name in _READS
                            if name in Tensor.__dict__}, Module.__dict__["__call__"])
        graph.capture = self
        engine.run = self._backward_run
        graph.bump = self._bump
        for name, method in self._installed[3].items():
            setattr(Tensor, name, _reader(name, method))
        Module.__call__ = _recording_call(self._installed[4])

    def _uninstall(self):
        installed = getattr(self, "_installed", None)
        if installed is None:
            return
        self._installed = None
        graph.capture, engine.run, graph.bump, methods, module_call = installed
        for name, method in methods.items():
            setattr(Tensor, name, method)
        Module.__call__ = module_call

    def fail(self, reason):
        if self.failure is None:
            self.failure = reason
        self._uninstall()  # the rest of the call runs as plain eager code

    def _active(self):
        return graph.capture is self and threading.get_ident() == self.thread

    def _bump(self, array):
        if self._active():
            self.fail("an in-place change of a tensor outside the recorded calls "
                      "(x.add_(), x += y, x[i] = v...): the tape does not hold it")
        _ORIGINAL_BUMP(array)

    def _check_rng(self):
        state = _random.generator().bit_generator.state
        if state != self._rng_state:
            raise Unsupported("random numbers drawn outside the recorded calls (mg.rand*, "
                              "rrelu, dropout1d/2d/3d, alpha_dropout, attention dropout...): "
                              "the recording would freeze them")

    # ----- forward ---------------------------------------------------------------------------

    def record_module(self, module):
        if threading.get_ident() == self.thread:
            self.modules.setdefault(id(module), module)

    def record_op(self, node, args, options, result):
        if not self._active():
            return
        try:
            self._record_op(node, args, options, result)
        except Unsupported as reason:
            self.fail(str(reason))

    def _record_op(self, node, args, options, result):
        arg_slots = []
        for a in args:
            if isinstance(a, Tensor):
                slot = self._slot_of_tensor(a)
                if a._data.dtype.kind in "biu" and self._is_computed(slot) and \
                        _indexes(node):
                    raise Unsupported(f"{type(node).__name__} indexes with integer values "
                                      f"computed in the function (their bounds are checked in "
                                      f"Python, which a replay does not run)")
                arg_slots.append(slot)
            else:
                slot = self._slot_of_argument(a, node)
                if a.__class__ is _ndarray and a.dtype.kind in "biu" and \
                        self._is_computed(slot) and _indexes(node):
                    raise Unsupported(f"{type(node).__name__} indexes with integer values "
                                      f"computed in the function (their bounds are checked in "
                                      f"Python, which a replay does not run)")
                if a.__class__ is not _ndarray:
                    self._refuse_frozen_arrays(a, node, "an argument")
                arg_slots.append(slot)
        for value in options.values():
            self._slot_of_argument(value, node)  # refuses arrays computed outside
            self._refuse_frozen_arrays(value, node, "an option")
        out = self._new_slot(result._data)
        self.computed.add(out)
        self.op_nodes[id(node)] = node
        lowered = _lower.lower_forward(self, node, tuple(arg_slots), options, out)
        if lowered is not None:
            entry, self.lowered[id(node)] = lowered
        else:
            entry = _forward_entry(node, tuple(arg_slots), dict(options), out)
        self.entries.append(entry)

    def record_call(self, function, args, kwargs):
        """A ``replayed`` function called while recording: run it (not listening inside) and
        record one entry that runs it again with the same arguments."""
        if not self._active():
            return function(*args, **kwargs)
        try:
            self._check_rng()
            args = [list(a) if isinstance(a, types.GeneratorType) else a for a in args]
            entry_args, entry_kwargs = list(args), dict(kwargs)
            tensor_args = []
            for where, value in [*enumerate(args), *kwargs.items()]:
                if callable(value) and not isinstance(value, (Tensor, Module, type)):
                    raise Unsupported(f"{_function_name(function)} is given a function "
                                      f"(a closure, as LBFGS needs): it would run only once")
                if isinstance(value, (list, tuple)) and any(
                        isinstance(v, Tensor) and self._is_value(v) for v in value):
                    raise Unsupported(f"{_function_name(function)} is given a list of "
                                      f"tensors computed in the function")
                if isinstance(value, Tensor):
                    if self._is_value(value):
                        tensor_args.append((where, self.slot_of[id(value._data)],
                                            value._requires_grad))
                        if where.__class__ is int:
                            entry_args[where] = None
                        else:
                            entry_kwargs[where] = None
                    elif value._grad_fn is not None:
                        raise Unsupported(f"{_function_name(function)} is given a tensor "
                                          f"made by {_node_name(value._grad_fn)}, whose node "
                                          f"is not recorded")
                    else:
                        self.watched[id(value)] = value
        except Unsupported as reason:
            self.fail(str(reason))
            return function(*args, **kwargs)
        entry = _CallEntry(function, tuple(entry_args), entry_kwargs, tuple(tensor_args), [])
        first_new_node = graph._next_sequence()
        graph.capture = None  # the call's own ops and calls are not recorded
        try:
            result = function(*args, **kwargs)
        finally:
            if self._installed is not None:
                graph.capture = self
        if self._installed is None:  # failed meanwhile
            return result
        outs = []
        if isinstance(result, Tensor):
            outs.append((None, result))
        elif isinstance(result, tuple):
            outs.extend((k, v) for k, v in enumerate(result) if isinstance(v, Tensor))
        for index, value in outs:
            slot = self._new_slot(value._data)
            self.computed.add(slot)
            entry.outs.append((index, slot))
            node = value._grad_fn
            if node is not None and engine._node_of(node)._seq > first_new_node:
                if len(outs) > 1 or not isinstance(node, graph.Op):
                    self.fail(f"{_function_name(function)} returns several tensors that "
                              f"carry a graph")
                    return result
                self.call_nodes[id(node)] = entry
                entry.node = node
        self.entries.append(entry)
        self._rng_state = _random.generator().bit_generator.state
        return result

    def _is_value(self, t):
        """Whether tensor ``t`` holds a value of the tape (an input or a computed value)."""
        slot = self.slot_of.get(id(t._data))
        return slot is not None and self._is_computed(slot)

    # ----- backward --------------------------------------------------------------------------

    def _backward_run(self, roots, root_grads, keep_graph, create_graph, targets=None,
                      accumulate=True):
        """Stands in for ``engine.run`` while recording: the same pass, recorded."""
        if not self._active():
            return _ORIGINAL_RUN(roots, root_grads, keep_graph, create_graph, targets,
                                 accumulate)
        reason = None
        if create_graph:
            reason = "backward(create_graph=True) (a graph of the gradients)"
        elif targets is not None or not accumulate:
            reason = "autograd.grad or backward(inputs=...)"
        elif anomaly_mode.state.enabled:
            reason = "anomaly detection is on"
        elif engine._tracer is not None:
            reason = "an autograd.trace is active"
        else:
            reason = self._check_graph(roots)
        if reason is not None:
            self.fail(reason)
            return _ORIGINAL_RUN(roots, root_grads, keep_graph, create_graph, targets,
                                 accumulate)
        previous = _grad_state.enabled
        _grad_state.enabled = False
        try:
            self._backward(roots, root_grads, keep_graph)
        finally:
            _grad_state.enabled = previous
        self.backward_done = True
        return {}

    def _check_graph(self, roots):
        seen = set()
        stack = [root._grad_fn for root in roots if root._grad_fn is not None]
        for root in roots:
            if root._grad_fn is None:
                return "backward of a leaf tensor"
        while stack:
            node = stack.pop()
            if id(node) in seen:
                continue
            seen.add(id(node))
            if isinstance(node, graph.OutputRef):
                return (f"a node with several outputs ({_node_name(node)}: split, chunk, "
                        f"unbind, recurrent layers, autograd.Function)")
            if id(node) not in self.op_nodes and id(node) not in self.call_nodes:
                return f"backward reaches {_node_name(node)}, made outside the recording"
            if node._freed:
                return None  # the engine raises its error
            if node._hooks is not None:
                return f"a hook on {_node_name(node)} or its output"
            for edge in node._edges:
                if edge is None:
                    continue
                if isinstance(edge, Tensor):
                    if getattr(edge, "_hooks", None) is not None:
                        return "a hook on a leaf tensor (register_hook, retain_grad...)"
                else:
                    stack.append(edge)
        return None

    def _node_ref(self, node):
        entry = self.call_nodes.get(id(node))
        if entry is not None:
            return lambda: entry.node
        return node

    def _leaf_ref(self, leaf):
        slot = self.input_tensors.get(id(leaf))
        if slot is not None:
            where, key = self.input_positions[slot]
            frame = self.frame
            return lambda: frame[where][key], leaf
        self.watched[id(leaf)] = leaf
        return lambda: leaf, leaf

    def _emit(self, entry):
        entry(self.slots)
        self.entries.append(entry)

    def _output_slot(self, array):
        slot = self.slot_of.get(id(array))
        if slot is None:
            slot = self._new_slot(array)
            self.fresh_grads.add(slot)
        self.computed.add(slot)
        return slot

    def _read(self, slot):
        self.reads[slot] = self.reads.get(slot, 0) + 1

    def _sum(self, a, b):
        self._read(a)
        self._read(b)
        out = self._new_slot(None)
        self._emit(_add_entry(a, b, out))
        self.slot_of[id(self.slots[out])] = out
        self.keep.append(self.slots[out])
        self.computed.add(out)
        self.fresh_grads.add(out)
        return out

    def _backward(self, roots, root_grads, keep_graph):
        """engine._run for one pass without targets, hooks or create_graph, each step
        recorded (and run) as a tape entry. Same order, same sums, same formulas."""
        self.reads = {}
        self.fresh_grads = set()
        pending, heap, leaf_grads = {}, [], {}
        for root, g in zip(roots, root_grads):
            slot = self._slot_of_value(g)
            node = root._grad_fn
            if id(node) in pending:
                pending[id(node)] = (node, self._sum(pending[id(node)][1], slot))
            else:
                pending[id(node)] = (node, slot)
                heappush(heap, (-node._seq, id(node)))
        while heap:
            node, grad_slot = pending.pop(heappop(heap)[1])
            self._read(grad_slot)
            grads = node.backward(self.slots[grad_slot], K)
            if grads.__class__ is not tuple:
                grads = (grads,)
            outs, delivered = [], []
            for k, (edge, inp, g) in enumerate(zip(node._edges, node._inputs, grads)):
                if edge is None or g is None:
                    continue
                slot = self._output_slot(g)
                outs.append((k, slot))
                delivered.append((edge, inp, slot))
            del grads, g
            saved = self.lowered.get(id(node))
            entry = None if saved is None else _lower.lower_backward(node, saved, grad_slot,
                                                                     tuple(outs))
            if entry is None:
                entry = _backward_entry(self._node_ref(node), grad_slot, tuple(outs))
            self.entries.append(entry)
            for edge, inp, slot in delivered:
                array = self.slots[slot]
                if node.may_broadcast and array.shape != inp._data.shape:
                    self._read(slot)
                    out = self._new_slot(None)
                    self._emit(_sum_to_entry(slot, inp._data.shape, out))
                    self.slot_of[id(self.slots[out])] = out
                    self.keep.append(self.slots[out])
                    self.computed.add(out)
                    self.fresh_grads.add(out)
                    slot = out
                if isinstance(edge, Tensor):
                    previous = leaf_grads.get(id(edge))
                    leaf_grads[id(edge)] = (edge, slot if previous is None else
                                            self._sum(previous[1], slot))
                else:
                    previous = pending.get(id(edge))
                    if previous is None:
                        pending[id(edge)] = (edge, slot)
                        heappush(heap, (-edge._seq, id(edge)))
                    else:
                        pending[id(edge)] = (edge, self._sum(previous[1], slot))
            if not keep_graph:
                node.release()
        for leaf, slot in leaf_grads.values():
            self._read(slot)
        leaves = []
        for leaf, slot in leaf_grads.values():
            steal = (slot in self.fresh_grads and self.reads.get(slot) == 1
                     and sys.getrefcount(self.slots[slot]) <= _TAPE_REFCOUNT)
            leaf_of, _ = self._leaf_ref(leaf)
            leaves.append((None if id(leaf) in self.input_tensors else leaf, leaf_of, slot,
                           steal))
        if leaves:
            self._emit(_leaves_entry(tuple(leaves)))

    # ----- the end of the recording ---------------------------------------------------------

    def finish(self, result):
        """The tape, or None with ``self.failure`` set."""
        try:
            self._check_rng()
            output = self._output_spec(result)
        except Unsupported as reason:
            self.fail(str(reason))
            return None
        live = []
        for slot, ref in self.live_refs:
            t = ref()
            if t is None:
                self.fail(_MADE_INSIDE)
                return None
            live.append((slot, t))
            self.watched[id(t)] = t
        for k, entry in enumerate(self.entries):
            if entry.__class__ is _CallEntry:
                lowered = _lower.lower_call(entry)
                if lowered is not None:
                    self.entries[k] = lowered
        return Tape(self, live, output)

    def _output_spec(self, value):
        if isinstance(value, Tensor):
            slot = self.input_tensors.get(id(value))
            if slot is not None:
                return ("input", self.input_positions[slot])
            if value._grad_fn is not None and not self.backward_done:
                raise Unsupported("the function returns a tensor that carries a graph and "
                                  "runs no backward: a replay cannot give a graph back (for "
                                  "training, compile the whole step; for inference, call it "
                                  "under no_grad or in eval mode)")
            slot = self.slot_of.get(id(value._data))
            if slot is not None and self._is_computed(slot):
                return ("slot", slot)
            raise Unsupported("the function returns a tensor that no recorded op computed "
                              "(" + _MADE_INSIDE.split("(", 1)[1])
        if isinstance(value, (list, tuple)) and type(value) in (list, tuple):
            return ("seq", type(value), [self._output_spec(v) for v in value])
        if type(value) is dict:
            return ("dict", {k: self._output_spec(v) for k, v in value.items()})
        if isinstance(value, (int, float, complex, str, bytes, bool, type(None))):
            return ("value", value)
        raise Unsupported(f"the function returns a {type(value).__name__}, which a replay "
                          f"cannot rebuild")


def _tape_refcount():
    """References to an array held in a recorder's slots and keep lists only, as counted by
    ``sys.getrefcount(self.slots[slot])`` in ``Recorder._backward`` (measured, not assumed)."""
    holder = types.SimpleNamespace(slots=[], keep=[])
    array = np.empty(1)
    holder.slots.append(array)
    holder.keep.append(array)
    del array
    return sys.getrefcount(holder.slots[0])


_TAPE_REFCOUNT = _tape_refcount()
_MADE_INSIDE = ("a tensor made inside the function without a recorded op (comparisons, "
                "argmax, nonzero, unique, ones_like, mg.tensor(...), .float() and other "
                "functions that build tensors from numpy results): a replay would freeze it")
_ORIGINAL_RUN = engine.run
_ORIGINAL_BUMP = graph.bump
_READS = ("item", "tolist", "numpy", "__float__", "__int__", "__bool__", "__index__",
          "__array__", "__complex__")


def _reader(name, method):
    """``Tensor.<name>`` while recording: reading a value makes the function run eagerly."""

    @functools.wraps(method)
    def read(self, *args, **kwargs):
        recorder = graph.capture
        if recorder is not None and recorder._active():
            recorder.fail(f"Tensor.{name.strip('_')}() reads a value inside the function "
                          f"(a recording would freeze it)")
        return method(self, *args, **kwargs)

    return read


def _recording_call(call):
    """``Module.__call__`` while recording: note the module (the guards watch it)."""

    @functools.wraps(call)
    def record(module, *args, **kwargs):
        recorder = graph.capture
        if recorder is not None:
            recorder.record_module(module)
        return call(module, *args, **kwargs)

    return record


def _node_name(node):
    if isinstance(node, graph.OutputRef):
        node = node.node
    name = getattr(node, "name", None)
    return name() if callable(name) else type(node).__name__


def _function_name(function):
    return getattr(function, "__qualname__", repr(function))


_INDEX_MODULES = ("minigrad.ops.index",)


def _indexes(node):
    """Whether an op reads memory at positions given by an integer argument."""
    return type(node).__module__ in _INDEX_MODULES or any(
        word in type(node).__name__ for word in ("Embedding", "Gather", "Scatter", "Index",
                                                 "Take", "NLL", "Entropy"))
