"""``Module``, the base of every layer and model, and ``Parameter``, a Tensor that is a weight.

A model is a tree of modules. Assigning a ``Parameter`` or a ``Module`` to an attribute
(``self.fc1 = nn.Linear(2, 10)``) registers it, in assignment order, so that
``parameters()``, ``named_parameters()``, ``state_dict()``, ``train()``/``eval()`` and ``repr``
can walk the tree without being told what is in it. Buffers (``register_buffer``) are tensors
that belong to the model's state but are not trained, such as BatchNorm's running statistics.

How attributes are stored (a speed choice): PyTorch keeps parameters and sub-modules only in
the registries ``_parameters`` / ``_modules`` / ``_buffers`` and finds them with
``__getattr__``, a slow path taken on every ``self.weight`` in a forward pass. Here each
registered value is *also* stored in the instance ``__dict__``, so ``self.weight`` is an
ordinary attribute look-up. ``__setattr__`` and ``__delattr__`` keep the two in step; the
registries alone define order and membership.

Hooks (``register_forward_pre_hook``, ``register_forward_hook``,
``register_full_backward_pre_hook``, ``register_full_backward_hook``) follow PyTorch's
signatures and order. ``Module.__call__`` checks one attribute for them and otherwise just calls
``forward``: a model without hooks pays nothing for the machinery.
"""
from __future__ import annotations

import collections
import collections.abc
import itertools
import warnings
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import dtypes as _dtypes
from ..autograd import Function, no_grad
from ..autograd import graph as _graph
from ..autograd.graph import OutputRef
from ..errors import ArgumentError, ShapeError
from ..interop import to_numpy
from ..tensor import Tensor, _check_device, _wrap
from ..tensor import device as _device

__all__ = ["Buffer", "Module", "Parameter"]

if TYPE_CHECKING:
    from typing_extensions import Self  # for type checkers only (typing.Self is 3.11+)


def _forward_unimplemented(self: Module, *args: Any, **kwargs: Any) -> Any:
    raise NotImplementedError(
        f'Module [{type(self).__name__}] is missing the required "forward" function')


class Parameter(Tensor):
    """A Tensor that is a module's weight: assigning it to a Module attribute registers it.

    ``Parameter(data, requires_grad=True)``: ``data`` is a Tensor or a numpy array (used as is:
    the parameter shares its memory, as ``torch.nn.Parameter(t)`` shares ``t``'s storage).
    """

    def __new__(cls, data: Any = None, requires_grad: bool = True) -> Self:
        if data is None:
            array = np.empty(0, dtype=np.float32)
        elif isinstance(data, Tensor):
            array = data._data
        else:
            array = np.asarray(data)
        self = Tensor.__new__(cls)
        self._data = array
        self._grad = None
        self._grad_fn = None
        self._hooks = None
        self.requires_grad = bool(requires_grad)
        return self

    def __init__(self, data: Any = None, requires_grad: bool = True) -> None:
        pass  # everything is done in __new__; Tensor.__init__ must not run again

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()

    def __reduce_ex__(self, protocol):
        # copy / deepcopy / pickle rebuild a Parameter (not a plain Tensor) of the same values.
        return (_rebuild_parameter, (self._data, self.requires_grad, self.grad))

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        result = Parameter(self._data.copy(), self.requires_grad)
        if self.grad is not None:
            result.grad = _wrap(self.grad._data.copy())
        memo[id(self)] = result
        return result


class Buffer(Tensor):
    """A Tensor that is a module's non-trained state (``torch.nn.Buffer``): assigning it to a
    Module attribute registers it as a buffer, in ``state_dict()`` unless
    ``persistent=False``. ``Buffer(data)`` shares ``data``'s memory (as PyTorch's detach)."""

    def __new__(cls, data=None, *, persistent=True):
        if data is None:
            array, requires_grad = np.empty(0, dtype=np.float32), False
        elif isinstance(data, Tensor):
            array, requires_grad = data._data, data.requires_grad
        else:
            array, requires_grad = np.asarray(data), False
        self = Tensor.__new__(cls)
        self._data = array
        self._grad = None
        self._grad_fn = None
        self._hooks = None
        self.requires_grad = requires_grad
        self.persistent = persistent
        return self

    def __init__(self, data=None, *, persistent=True):
        pass  # everything is done in __new__; Tensor.__init__ must not run again


def _rebuild_parameter(data, requires_grad, grad):
    result = Parameter(data, requires_grad)
    result.grad = grad
    return result


class _IncompatibleKeys(
        collections.namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    """What ``load_state_dict`` returns: the keys it did not find, and the keys it did not use."""

    __slots__ = ()

    def __repr__(self):
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()

    __str__ = __repr__


class _ModuleHooks:
    """The hook tables of one module, made when its first hook is registered."""

    def __init__(self):
        self.forward_pre = collections.OrderedDict()
        self.forward = collections.OrderedDict()
        self.backward_pre = collections.OrderedDict()
        self.backward = collections.OrderedDict()


class _Identity(Function):
    """Passes tensors through unchanged; its node is where module backward hooks attach."""

    @staticmethod
    def forward(ctx, *tensors):
        return tensors

    @staticmethod
    def backward(ctx, *grads):
        return grads


class _BackwardHooks:
    """PyTorch's full backward hooks: an identity node after the module's outputs catches
    grad_output (and runs the backward pre-hooks); one before its inputs catches grad_input
    and runs the backward hooks with both."""

    def __init__(self, module, tables):
        self.module = module
        self.tables = tables
        self.grad_output = None
        self.n_inputs = 0
        self.input_positions = None

    def _tensors(self, values):
        return [i for i, v in enumerate(values) if isinstance(v, Tensor) and v.requires_grad]

    def setup_inputs(self, args):
        self.n_inputs = len(args)
        positions = self._tensors(args)
        self.input_positions = positions
        if not positions:
            return args
        outs = _Identity.apply(*[args[i] for i in positions])
        outs = outs if isinstance(outs, tuple) else (outs,)
        node = _node_of(outs[0])
        node.register_hook(self._on_grad_input)
        args = list(args)
        for i, t in zip(positions, outs):
            args[i] = t
        return tuple(args)

    def setup_outputs(self, output):
        single = isinstance(output, Tensor)
        values = (output,) if single else tuple(output) if isinstance(output, (tuple, list)) \
            else None
        if values is None:
            return output
        positions = self._tensors(values)
        if not positions:
            return output
        self.n_outputs = len(values)
        self.output_positions = positions
        outs = _Identity.apply(*[values[i] for i in positions])
        outs = outs if isinstance(outs, tuple) else (outs,)
        node = _node_of(outs[0])
        node.register_prehook(self._on_grad_output)
        values = list(values)
        for i, t in zip(positions, outs):
            values[i] = t
        return values[0] if single else type(output)(values)

    def _on_grad_output(self, grads):
        grad_output = [None] * self.n_outputs
        for i, g in zip(self.output_positions, grads):
            grad_output[i] = g
        grad_output = tuple(grad_output)
        for hook, _ in list(self.tables.backward_pre.values()):
            result = hook(self.module, grad_output)
            if result is not None:
                result = result if isinstance(result, tuple) else (result,)
                if len(result) != len(grad_output):
                    raise RuntimeError(f"Backward pre hook returned an invalid number of "
                                       f"grad_output, got {len(result)}, but expected "
                                       f"{len(grad_output)}")
                grad_output = result
        self.grad_output = grad_output
        if not self.input_positions:  # nothing before the module needs a gradient
            if self.tables.backward:
                warnings.warn("Full backward hook is firing when gradients are computed with "
                              "respect to module outputs since no inputs require gradients.",
                              UserWarning, stacklevel=2)
            self._call_backward_hooks((None,) * self.n_inputs)
        return tuple(grad_output[i] for i in self.output_positions)

    def _on_grad_input(self, grad_inputs, grad_outputs):
        grad_input = [None] * self.n_inputs
        for i, g in zip(self.input_positions, grad_inputs):
            grad_input[i] = g
        result = self._call_backward_hooks(tuple(grad_input))
        return tuple(result[i] for i in self.input_positions)

    def _call_backward_hooks(self, grad_input):
        for hook, _ in list(self.tables.backward.values()):
            result = hook(self.module, grad_input, self.grad_output)
            if result is not None:
                result = result if isinstance(result, tuple) else (result,)
                if len(result) != len(grad_input):
                    raise RuntimeError(f"Backward hook returned an invalid number of grad_input, "
                                       f"got {len(result)}, but expected {len(grad_input)}")
                grad_input = result
        return grad_input


def _node_of(tensor):
    fn = tensor._grad_fn
    return fn[0] if type(fn) is OutputRef else fn


def _addindent(text, num_spaces):
    """Indent every line of ``text`` but the first (PyTorch's helper for nested reprs)."""
    lines = text.split("\n")
    if len(lines) == 1:
        return text
    first = lines.pop(0)
    return first + "\n" + "\n".join(num_spaces * " " + line for line in lines)


def _typename(value):
    return type(value).__name__


class _Structure:
    """``version`` changes whenever any module's parameters, buffers, children or train/eval
    mode change, so that ``mg.compile``'s guards look at the modules again only then."""

    version = 0


class Module:
    """Base class of all layers and models (``torch.nn.Module``).

    Subclasses call ``super().__init__()`` first, assign their parameters and sub-modules as
    attributes, and define ``forward``. Calling the module runs ``forward``.
    """

    training: bool
    _hook_tables = None  # a _ModuleHooks once a hook is registered

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if args or kwargs:
            raise TypeError(
                f"{type(self).__name__}.__init__() got unexpected arguments {args} {kwargs}")
        set_attr = object.__setattr__
        set_attr(self, "training", True)
        set_attr(self, "_parameters", {})
        set_attr(self, "_buffers", {})
        set_attr(self, "_non_persistent_buffers_set", set())
        set_attr(self, "_modules", {})

    # Typed as attributes (as in PyTorch) so that a subclass may define forward with any
    # signature without breaking the override rules of type checkers.
    forward: Callable[..., Any] = _forward_unimplemented

    def _call_impl(self, *args: Any, **kwargs: Any) -> Any:
        if self._hook_tables is None:
            return self.forward(*args, **kwargs)
        return self._call_with_hooks(args, kwargs)

    __call__: Callable[..., Any] = _call_impl

    # -----------------------------------------------------------------------------------------
    # Hooks
    # -----------------------------------------------------------------------------------------

    def _hooks_of(self, kind):
        if self._hook_tables is None:
            object.__setattr__(self, "_hook_tables", _ModuleHooks())
        return getattr(self._hook_tables, kind)

    def _add_hook(self, kind, hook, prepend=False, **flags):
        from ..utils.hooks import RemovableHandle
        table = self._hooks_of(kind)
        handle = RemovableHandle(table)
        table[handle.id] = (hook, flags)
        if prepend:
            table.move_to_end(handle.id, last=False)
        return handle

    def register_forward_pre_hook(self, hook: Callable[..., Any], *, prepend: bool = False,
                                  with_kwargs: bool = False) -> Any:
        """``hook(module, args)`` (or ``hook(module, args, kwargs)`` with ``with_kwargs``) before
        ``forward``; it may return new args (a single value is wrapped in a tuple), or with
        ``with_kwargs`` a new ``(args, kwargs)``."""
        return self._add_hook("forward_pre", hook, prepend, with_kwargs=with_kwargs)

    def register_forward_hook(self, hook: Callable[..., Any], *, prepend: bool = False,
                              with_kwargs: bool = False, always_call: bool = False) -> Any:
        """``hook(module, args, output)`` (or ``hook(module, args, kwargs, output)``) after
        ``forward``; it may return a new output. ``always_call``: run it even when forward
        raised."""
        return self._add_hook("forward", hook, prepend, with_kwargs=with_kwargs,
                              always_call=always_call)

    def register_full_backward_pre_hook(self, hook: Callable[..., Any],
                                        prepend: bool = False) -> Any:
        """``hook(module, grad_output)`` when the gradients with respect to the module's
        outputs are known; it may return a new ``grad_output``."""
        return self._add_hook("backward_pre", hook, prepend)

    def register_full_backward_hook(self, hook: Callable[..., Any],
                                    prepend: bool = False) -> Any:
        """``hook(module, grad_input, grad_output)`` when the gradients with respect to the
        module's positional tensor inputs are known (None for inputs that need none); it may
        return a new ``grad_input``."""
        return self._add_hook("backward", hook, prepend)

    def register_backward_hook(self, hook: Callable[..., Any]) -> Any:
        raise RuntimeError("register_backward_hook is deprecated in PyTorch and not provided; "
                           "use register_full_backward_hook")

    def _call_with_hooks(self, args, kwargs):
        tables = self._hook_tables
        for hook, flags in list(tables.forward_pre.values()):
            if flags["with_kwargs"]:
                result = hook(self, args, kwargs)
                if result is not None:
                    if not (isinstance(result, tuple) and len(result) == 2):
                        raise RuntimeError("forward pre-hook must return None or a tuple of "
                                           f"(new_args, new_kwargs), but got {result}.")
                    args, kwargs = result
            else:
                result = hook(self, args)
                if result is not None:
                    args = result if isinstance(result, tuple) else (result,)
        backward_hooks = None
        if tables.backward or tables.backward_pre:
            backward_hooks = _BackwardHooks(self, tables)
            args = backward_hooks.setup_inputs(args)
        try:
            output = self.forward(*args, **kwargs)
        except BaseException:
            for hook, flags in list(tables.forward.values()):
                if flags["always_call"]:
                    try:
                        if flags["with_kwargs"]:
                            hook(self, args, kwargs, None)
                        else:
                            hook(self, args, None)
                    except Exception:  # noqa: BLE001, S110 - the forward's error wins
                        pass
            raise
        for hook, flags in list(tables.forward.values()):
            result = hook(self, args, kwargs, output) if flags["with_kwargs"] else \
                hook(self, args, output)
            if result is not None:
                output = result
        if backward_hooks is not None:
            output = backward_hooks.setup_outputs(output)
        return output

    # -----------------------------------------------------------------------------------------
    # Registration
    # -----------------------------------------------------------------------------------------

    def _check_name(self, name, kind):
        if not isinstance(name, str):
            raise TypeError(f"{kind} name should be a string. Got {type(name).__name__}")
        if name == "":
            raise KeyError(f'{kind} name can\'t be empty string ""')
        if "." in name:
            raise KeyError(f'{kind} name can\'t contain ".", got: {name}')

    def _forget(self, name, *registries):
        """Remove ``name`` from the given registries (used when it changes kind)."""
        for registry in registries:
            registry.pop(name, None)
        self._non_persistent_buffers_set.discard(name)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Add a parameter (a ``Parameter`` or None) under ``name``."""
        _Structure.version += 1
        if "_parameters" not in self.__dict__:
            raise AttributeError("cannot assign parameter before Module.__init__() call")
        self._check_name(name, "parameter")
        if name in self.__dict__ and name not in self._parameters:
            raise KeyError(f"attribute '{name}' already exists")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(
                f"cannot assign '{_typename(param)}' object to parameter '{name}' "
                "(nn.Parameter or None required)")
        self._forget(name, self._buffers, self._modules)
        self._parameters[name] = param
        self.__dict__[name] = param

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True
                        ) -> None:
        """Add a buffer: model state that is not trained (e.g. BatchNorm's running mean).

        Buffers appear in ``state_dict()`` unless ``persistent=False``, and are converted by
        ``float()``/``double()``/``to()`` when they are floating point.
        """
        _Structure.version += 1
        if "_buffers" not in self.__dict__:
            raise AttributeError("cannot assign buffer before Module.__init__() call")
        self._check_name(name, "buffer")
        if name in self.__dict__ and name not in self._buffers:
            raise KeyError(f"attribute '{name}' already exists")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(
                f"cannot assign '{_typename(tensor)}' object to buffer '{name}' "
                "(Tensor or None required)")
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers_set.discard(name)
        else:
            self._non_persistent_buffers_set.add(name)
        self.__dict__[name] = tensor

    def add_module(self, name: str, module: Module | None) -> None:
        """Add a child module (or None) under ``name``."""
        _Structure.version += 1
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{_typename(module)} is not a Module subclass")
        self._check_name(name, "module")
        if name in self.__dict__ and name not in self._modules:
            raise KeyError(f"attribute '{name}' already exists")
        self._modules[name] = module
        self.__dict__[name] = module

    register_module = add_module

    def __setattr__(self, name: str, value: Any) -> None:
        _Structure.version += 1
        d = self.__dict__
        params = d.get("_parameters")
        if isinstance(value, Parameter):
            if params is None:
                raise AttributeError("cannot assign parameters before Module.__init__() call")
            self._forget(name, self._buffers, self._modules)
            params[name] = value
            d[name] = value
        elif params is not None and name in params:
            if value is not None:
                raise TypeError(
                    f"cannot assign '{_typename(value)}' as parameter '{name}' "
                    "(nn.Parameter or None expected)")
            params[name] = None
            d[name] = None
        elif isinstance(value, Module):
            modules = d.get("_modules")
            if modules is None:
                raise AttributeError("cannot assign module before Module.__init__() call")
            self._forget(name, self._parameters, self._buffers)
            modules[name] = value
            d[name] = value
        elif name in d.get("_modules", ()):
            if value is not None:
                raise TypeError(
                    f"cannot assign '{_typename(value)}' as child module '{name}' "
                    "(nn.Module or None expected)")
            self._modules[name] = None
            d[name] = None
        elif isinstance(value, Buffer):
            if d.get("_buffers") is None:
                raise AttributeError("cannot assign buffer before Module.__init__() call")
            self._forget(name, self._parameters, self._modules)
            self._buffers[name] = value
            if not value.persistent:
                self._non_persistent_buffers_set.add(name)
            d[name] = value
        elif name in d.get("_buffers", ()):
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(
                    f"cannot assign '{_typename(value)}' as buffer '{name}' "
                    "(Tensor or None expected)")
            self._buffers[name] = value
            d[name] = value
        else:
            object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        _Structure.version += 1
        for registry in (self._parameters, self._buffers, self._modules):
            if name in registry:
                del registry[name]
                self._non_persistent_buffers_set.discard(name)
                self.__dict__.pop(name, None)
                return
        object.__delattr__(self, name)

    def __setstate__(self, state):
        self.__dict__.update(state)

    # -----------------------------------------------------------------------------------------
    # Walking the tree
    # -----------------------------------------------------------------------------------------

    def _named_members(self, get_members, prefix="", recurse=True, remove_duplicate=True):
        memo = set()
        modules = (self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate)
                   if recurse else [(prefix, self)])
        for module_prefix, module in modules:
            for name, value in get_members(module):
                if value is None or (remove_duplicate and id(value) in memo):
                    continue
                if remove_duplicate:
                    memo.add(id(value))
                yield (module_prefix + "." + name if module_prefix else name), value

    def named_parameters(self, prefix: str = "", recurse: bool = True,
                         remove_duplicate: bool = True) -> Iterator[tuple[str, Parameter]]:
        """Yield ``(name, parameter)`` pairs, names like ``'0.weight'`` or ``'fc1.bias'``, in
        registration order, each shared parameter once."""
        return self._named_members(lambda m: m._parameters.items(), prefix, recurse,
                                   remove_duplicate)

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        """Yield every parameter (each shared one once), in registration order."""
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def named_buffers(self, prefix: str = "", recurse: bool = True,
                      remove_duplicate: bool = True) -> Iterator[tuple[str, Tensor]]:
        return self._named_members(lambda m: m._buffers.items(), prefix, recurse,
                                   remove_duplicate)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, buf in self.named_buffers(recurse=recurse):
            yield buf

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """Yield ``(name, module)`` for the direct children (each child once)."""
        memo = set()
        for name, module in self._modules.items():
            if module is not None and id(module) not in memo:
                memo.add(id(module))
                yield name, module

    def children(self) -> Iterator[Module]:
        for _, module in self.named_children():
            yield module

    def named_modules(self, memo: set[Module] | None = None, prefix: str = "",
                      remove_duplicate: bool = True) -> Iterator[tuple[str, Module]]:
        """Yield ``(name, module)`` for this module (name ``prefix``) and every descendant,
        depth first, in registration order."""
        if memo is None:
            memo = set()
        if remove_duplicate:  # memo holds the modules themselves, as PyTorch's
            if self in memo:
                return
            memo.add(self)
        yield prefix, self
        for name, module in self._modules.items():
            if module is None:
                continue
            child_prefix = prefix + "." + name if prefix else name
            yield from module.named_modules(memo, child_prefix, remove_duplicate)

    def modules(self) -> Iterator[Module]:
        for _, module in self.named_modules():
            yield module

    def get_submodule(self, target: str) -> Module:
        """The sub-module at dotted path ``target`` (``''`` is the module itself)."""
        if target == "":
            return self
        module = self
        for item in target.split("."):
            if not hasattr(module, item):
                raise AttributeError(f"{module._get_name()} has no attribute `{item}`")
            module = getattr(module, item)
            if not isinstance(module, Module):
                raise AttributeError(f"`{item}` is not an nn.Module")  # noqa: TRY004 (as torch)
        return module

    def get_parameter(self, target: str) -> Parameter:
        """The parameter at dotted path ``target`` (``'encoder.0.weight'``)."""
        module_path, _, param_name = target.rpartition(".")
        module = self.get_submodule(module_path)
        if not hasattr(module, param_name):
            raise AttributeError(f"{module._get_name()} has no attribute `{param_name}`")
        param = getattr(module, param_name)
        if not isinstance(param, Parameter):
            raise AttributeError(f"`{param_name}` is not an nn.Parameter")  # noqa: TRY004
        return param

    def get_buffer(self, target: str) -> Tensor:
        """The buffer at dotted path ``target`` (``'bn.running_mean'``)."""
        module_path, _, buffer_name = target.rpartition(".")
        module = self.get_submodule(module_path)
        if not hasattr(module, buffer_name):
            raise AttributeError(f"{module._get_name()} has no attribute `{buffer_name}`")
        buffer = getattr(module, buffer_name)
        if buffer_name not in module._buffers:
            raise AttributeError(f"`{buffer_name}` is not a buffer")
        return buffer

    def apply(self, fn: Callable[[Module], None]) -> Self:
        """Call ``fn(module)`` on every child (recursively), then on ``self``; return self."""
        for module in self.children():
            module.apply(fn)
        fn(self)
        return self

    # -----------------------------------------------------------------------------------------
    # Modes and gradients
    # -----------------------------------------------------------------------------------------

    def train(self, mode: bool = True) -> Self:
        """Set training mode (``mode=True``) or evaluation mode on this module and every
        descendant (Dropout and BatchNorm behave differently); return self."""
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")  # noqa: TRY004 (as torch)
        for module in self.modules():
            object.__setattr__(module, "training", mode)
        _Structure.version += 1
        return self

    def eval(self) -> Self:
        """Evaluation mode: ``train(False)``."""
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Self:
        for param in self.parameters():
            param.requires_grad = requires_grad
        return self

    @_graph.replayed
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset every parameter's ``.grad``: to None (the default, as in PyTorch), or to
        zeros in place with ``set_to_none=False``."""
        for param in self.parameters():
            if param.grad is None:
                continue
            if set_to_none:
                param.grad = None
            else:
                param.grad._grad_fn = None
                param.grad.requires_grad = False
                param.grad._data[...] = 0

    # -----------------------------------------------------------------------------------------
    # dtype conversion
    # -----------------------------------------------------------------------------------------

    def _convert_floating(self, np_dtype):
        """Convert every floating parameter, its gradient and every floating buffer to
        ``np_dtype``. Parameters keep their identity (an optimizer holding them still works):
        only their ``.data`` is replaced, as PyTorch does."""
        for module in self.modules():
            for param in module._parameters.values():
                if param is None or param._data.dtype.kind != "f":
                    continue
                if param._data.dtype != np_dtype:
                    param._data = param._data.astype(np_dtype)
                    if param.grad is not None:
                        param.grad._data = param.grad._data.astype(np_dtype)
            for buf in module._buffers.values():
                if buf is not None and buf._data.dtype.kind == "f" and buf._data.dtype != np_dtype:
                    buf._data = buf._data.astype(np_dtype)
        return self

    def float(self) -> Self:
        """Cast floating parameters and buffers to float32; return self."""
        return self._convert_floating(np.dtype(np.float32))

    def double(self) -> Self:
        """Cast floating parameters and buffers to float64; return self."""
        return self._convert_floating(np.dtype(np.float64))

    def cpu(self) -> Self:
        return self

    def to(self, *args: Any, **kwargs: Any) -> Self:
        """``to(dtype)``, ``to('cpu')``, ``to(device='cpu', dtype=...)`` or ``to(tensor)``
        (its dtype). Only floating parameters and buffers change dtype; CPU is the only
        device, so a device argument other than 'cpu' raises ValueError. Returns self."""
        device = kwargs.pop("device", None)
        dtype = kwargs.pop("dtype", None)
        kwargs.pop("non_blocking", None)
        if "copy" in kwargs:
            raise ArgumentError(".to() does not accept copy argument")
        if kwargs:
            raise TypeError(f"to() got unexpected keyword arguments {sorted(kwargs)}")
        for arg in args:
            if isinstance(arg, Tensor):
                dtype = arg._data.dtype
            elif isinstance(arg, (str, _device)):
                device = arg
            elif isinstance(arg, bool):
                continue  # non_blocking passed positionally
            elif arg is not None:
                dtype = arg
        if device is not None:
            _check_device(device)
        if dtype is not None:
            np_dtype = _dtypes.as_dtype(dtype).np_dtype
            if np_dtype.kind != "f":
                raise TypeError(
                    f"nn.Module.to only accepts floating point dtypes, but got desired dtype="
                    f"{_dtypes.as_dtype(dtype)}")
            self._convert_floating(np_dtype)
        return self

    # -----------------------------------------------------------------------------------------
    # State
    # -----------------------------------------------------------------------------------------

    def state_dict(self, destination: dict[str, Any] | None = None, prefix: str = "",
                   keep_vars: bool = False) -> dict[str, Any]:
        """An OrderedDict mapping names (``'0.weight'``, ``'bn.running_mean'``) to tensors:
        every parameter and persistent buffer, parameters first within each module, modules
        in registration order.

        As in PyTorch, the tensors are detached but *share memory* with the model: training
        the model afterwards changes them. Copy (``{k: v.clone() ...}`` or
        ``copy.deepcopy``) to keep a snapshot. ``keep_vars=True`` returns the Parameters.
        """
        if destination is None:
            destination = collections.OrderedDict()
        for key, tensor, _ in self._state_entries():
            destination[prefix + key] = tensor if keep_vars else _wrap(tensor._data)
        return destination

    # Names of buffers a checkpoint may lack without being reported missing (BatchNorm's
    # batch counter, as in PyTorch).
    _optional_state_keys = ()

    def _state_entries(self):
        """``(key, tensor, optional)`` for every entry ``state_dict`` would hold, in the same
        order, as live objects; ``optional`` marks keys a checkpoint may lack."""
        for prefix, module in self.named_modules(remove_duplicate=False):
            prefix = prefix + "." if prefix else ""
            for name, param in module._parameters.items():
                if param is not None:
                    yield prefix + name, param, False
            for name, buf in module._buffers.items():
                if buf is not None and name not in module._non_persistent_buffers_set:
                    yield prefix + name, buf, name in module._optional_state_keys

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True) -> Any:
        """Copy values from ``state_dict`` into this module's parameters and buffers, in place
        (``param._data[...] = value``, cast to the parameter's dtype), so optimizers that hold
        the parameters keep working.

        With ``strict=True`` the keys must match exactly. Errors (missing keys, unexpected
        keys, shape mismatches) are all collected and reported in one RuntimeError in
        PyTorch's wording (``mg.ShapeError`` if a shape mismatch is among them). Unlike
        PyTorch, nothing is copied when there is an error: the model is left untouched.

        Returns a namedtuple ``(missing_keys, unexpected_keys)``.
        """
        if not isinstance(state_dict, collections.abc.Mapping):
            raise TypeError(
                f"Expected state_dict to be dict-like, got {type(state_dict).__name__}.")
        entries = list(self._state_entries())
        own = {key for key, _, _ in entries}
        missing = [key for key, _, optional in entries
                   if key not in state_dict and not optional]
        unexpected = [key for key in state_dict if key not in own]
        errors = []
        shape_error = False
        copies = []
        for key, target, _ in entries:
            if key not in state_dict:
                continue
            value = state_dict[key]
            if isinstance(value, (np.generic, int, float, bool)):
                array = np.asarray(value)
            elif hasattr(value, "__array__") and hasattr(value, "shape"):
                # another library's CPU tensor (a PyTorch state dict loads as is)
                array = np.asarray(value.detach() if hasattr(value, "detach") else value)
            else:
                # A Tensor, a numpy array, or any array exposing DLPack or __array__ (a torch
                # tensor from a PyTorch state dict): read in place, without a copy.
                array = to_numpy(value)
            if array is None:
                errors.append(
                    f'While copying the parameter named "{key}", expected Tensor, numpy array '
                    f"or an array exposing __dlpack__ or __array__ from checkpoint but received "
                    f"{type(value).__name__}")
                continue
            if array.shape != target._data.shape:
                shape_error = True
                errors.append(
                    f"size mismatch for {key}: copying a param with shape {tuple(array.shape)} "
                    f"from checkpoint, the shape in current model is "
                    f"{tuple(target._data.shape)}.")
                continue
            copies.append((target, array))
        if strict:
            if unexpected:
                errors.insert(0, "Unexpected key(s) in state_dict: {}. ".format(
                    ", ".join(f'"{k}"' for k in unexpected)))
            if missing:
                errors.insert(0, "Missing key(s) in state_dict: {}. ".format(
                    ", ".join(f'"{k}"' for k in missing)))
        if errors:
            error_type = ShapeError if shape_error else RuntimeError
            raise error_type("Error(s) in loading state_dict for {}:\n\t{}".format(
                self._get_name(), "\n\t".join(errors)))
        with no_grad():
            for target, array in copies:
                target._data[...] = array  # numpy casts to the parameter's dtype
        return _IncompatibleKeys(missing, unexpected)

    # -----------------------------------------------------------------------------------------
    # Printing
    # -----------------------------------------------------------------------------------------

    def _get_name(self):
        return type(self).__name__

    def extra_repr(self) -> str:
        """The text between the parentheses of this module's repr (override in layers)."""
        return ""

    def __repr__(self) -> str:
        extra_lines = []
        extra = self.extra_repr()
        if extra:
            extra_lines = extra.split("\n")
        child_lines = []
        for key, module in self._modules.items():
            child_lines.append("(" + key + "): " + _addindent(repr(module), 2))
        lines = extra_lines + child_lines
        main = self._get_name() + "("
        if lines:
            if len(extra_lines) == 1 and not child_lines:
                main += extra_lines[0]
            else:
                main += "\n  " + "\n  ".join(lines) + "\n"
        return main + ")"

    def __dir__(self):
        return sorted(set(itertools.chain(object.__dir__(self), self._parameters,
                                          self._buffers, self._modules)))
