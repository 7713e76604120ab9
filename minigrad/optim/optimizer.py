"""The optimizer base class: parameter groups, per-parameter state, state_dict.

Follows ``torch.optim.Optimizer``:

- ``param_groups`` is a list of dicts. Each holds ``"params"`` (a list of Tensors) and every
  hyper-parameter, the optimizer's defaults filled in where the group gave none, so one model
  can train its layers at different learning rates.
- ``state`` maps a parameter Tensor (hashed by identity) to a dict of its buffers, created
  lazily on that parameter's first update. Buffers are numpy arrays of the parameter's shape
  and dtype, C-contiguous, updated in place by the fused kernels in
  ``minigrad/_kernels/_optim.pyx``. The step count ``state["step"]`` is a Python float (PyTorch
  keeps a float32 scalar tensor; the values are the same).
- ``state_dict()`` is PyTorch's format: ``{"state": {index: {...}}, "param_groups": [...]}``
  with every parameter replaced by its integer position in the groups. It holds the live
  buffers, as PyTorch's does (``copy.deepcopy`` it for a snapshot that training won't change).
  ``load_state_dict()`` copies every buffer, so the optimizer never shares an array with the
  dict it was loaded from.

Hooks follow PyTorch's signatures:

- ``register_step_pre_hook(hook(optimizer, args, kwargs))``: may return new ``(args, kwargs)``;
  ``args`` starts with the optimizer. ``register_step_post_hook``: the same, returns nothing.
- ``register_state_dict_pre_hook(hook(optimizer))``,
  ``register_state_dict_post_hook(hook(optimizer, state_dict))`` (may return a new dict).
- ``register_load_state_dict_pre_hook(hook(optimizer, state_dict))`` (may return a new dict),
  ``register_load_state_dict_post_hook(hook(optimizer))``.

Each returns a handle whose ``remove()`` unregisters it. ``register_optimizer_step_pre_hook``
and ``register_optimizer_step_post_hook`` (this module) register step hooks for every optimizer.

PyTorch's implementation switches ``foreach``, ``fused``, ``capturable`` and ``differentiable``
are accepted by every optimizer that has them, stored in the groups as PyTorch does (so state
dicts have PyTorch's keys), and raise where PyTorch raises on CPU; they otherwise change
nothing: minigrad has one implementation, a fused kernel per parameter, whose results are
PyTorch's single-tensor ones. ``lr`` may be a 1-element Tensor (its value is used).

A subclass implements ``step`` (wrapped with the step hooks when the class is defined): for
each group, for each parameter whose ``grad`` is not None, one call to its fused kernel
through ``minigrad._kernels.kernels`` (so MINIGRAD_KERNELS=numpy runs the plain-numpy twins in
``reference.py``). The kernel updates ``p._data`` in place,
whatever its layout: the array is never replaced, since other objects hold references to it.
LBFGS, Adafactor and Muon are written in numpy instead (flat vectors, row and column
reductions, matrix products), with the same in-place rule.
"""
from __future__ import annotations

import copy
import functools
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Iterable
from itertools import chain
from typing import Any, Union

import numpy as np

from ..autograd import enable_grad
from ..autograd import graph as _graph
from ..tensor import Tensor
from ..utils.hooks import RemovableHandle

# What optimizers accept as ``params`` (PyTorch's ParamsT): tensors, parameter groups (dicts),
# or (name, tensor) pairs.
ParamsT = Union[Iterable[Tensor], Iterable[dict[str, Any]], Iterable[tuple[str, Tensor]]]


class _RequiredParameter:
    """Marks a hyper-parameter that has no default and must be given (e.g. SGD's lr once)."""

    def __repr__(self):
        return "<required parameter>"


required = _RequiredParameter()


_global_optimizer_pre_hooks = OrderedDict()
_global_optimizer_post_hooks = OrderedDict()


def register_optimizer_step_pre_hook(hook):
    """Register ``hook(optimizer, args, kwargs)`` to run before every optimizer's step."""
    handle = RemovableHandle(_global_optimizer_pre_hooks)
    _global_optimizer_pre_hooks[handle.id] = hook
    return handle


def register_optimizer_step_post_hook(hook):
    """Register ``hook(optimizer, args, kwargs)`` to run after every optimizer's step."""
    handle = RemovableHandle(_global_optimizer_post_hooks)
    _global_optimizer_post_hooks[handle.id] = hook
    return handle


def _with_step_hooks(step):
    """Wrap a subclass's ``step``: the step pre- and post-hooks run around it, and afterwards
    autograd learns that the parameters changed in place (as PyTorch's in-place update bumps
    their version counters), so a retained graph that saved them refuses to backward."""

    @functools.wraps(step)
    def wrapper(*args, **kwargs):
        if _graph.capture is not None:  # mg.compile records: the step is one tape entry
            return _graph.capture.record_call(wrapper, args, kwargs)
        self = args[0]
        if not (self._optimizer_step_pre_hooks or self._optimizer_step_post_hooks
                or _global_optimizer_pre_hooks or _global_optimizer_post_hooks):
            out = step(*args, **kwargs)
            _graph.mark_bulk_write(self)
            return out
        if self.__dict__.get("_in_hooked_step"):  # a subclass's step calling super().step()
            return step(*args, **kwargs)
        for pre_hook in chain(_global_optimizer_pre_hooks.values(),
                              self._optimizer_step_pre_hooks.values()):
            result = pre_hook(self, args, kwargs)
            if result is not None:
                if isinstance(result, tuple) and len(result) == 2:
                    args, kwargs = result
                else:
                    raise RuntimeError(f"{step} must return None or a tuple of "
                                       f"(new_args, new_kwargs), but got {result}.")
        self._in_hooked_step = True
        try:
            out = step(*args, **kwargs)
        finally:
            self._in_hooked_step = False
        _graph.mark_bulk_write(self)
        for post_hook in chain(self._optimizer_step_post_hooks.values(),
                               _global_optimizer_post_hooks.values()):
            post_hook(self, args, kwargs)
        return out

    wrapper.hooked = True
    return wrapper


def _hyperparameter(value):
    """A hyper-parameter as a Python number: a 1-element Tensor (e.g. a Tensor lr) gives its
    value, anything else is returned as it is."""
    return value.item() if isinstance(value, Tensor) else value


def _check_tensor_lr(lr):
    if isinstance(lr, Tensor) and lr.numel() != 1:
        raise ValueError("Tensor lr must be 1-element")


def _check_fused(fused, foreach, differentiable):
    """PyTorch's checks of ``fused=True`` (SGD, Adam, AdamW, Adagrad), made in __init__."""
    if fused:
        if differentiable:
            raise RuntimeError("`fused` does not support `differentiable`")
        if foreach:
            raise RuntimeError("`fused` and `foreach` cannot be `True` together.")


_CAPTURABLE_DEVICES = "['cuda', 'xpu', 'hpu', 'privateuseone', 'xla']"


def _refuse_capturable(what="params and state_steps", devices=_CAPTURABLE_DEVICES):
    """capturable=True needs an accelerator: PyTorch raises this at the first CPU update."""
    raise AssertionError(f"If capturable=True, {what} must be on supported devices: "
                         f"{devices}.")


def _grad_array(p, grad_first=False):
    """The array of ``p.grad``, checked against the parameter's shape as PyTorch's in-place
    update would: a gradient that broadcasts to the parameter's shape is broadcast, any other
    shape raises RuntimeError with PyTorch's message. ``grad_first``: the gradient is the
    first operand of the optimizer's first operation (Rprop's grad * prev), which decides
    which shape PyTorch's message calls "tensor a"."""
    grad = p._grad._data
    shape = p._data.shape
    if grad.shape == shape:
        return grad
    ndim = max(len(shape), len(grad.shape))
    a = (1,) * (ndim - len(shape)) + tuple(shape)
    b = (1,) * (ndim - len(grad.shape)) + tuple(grad.shape)
    for i in range(ndim - 1, -1, -1):
        if a[i] != b[i] and a[i] != 1 and b[i] != 1:
            first, second = (b[i], a[i]) if grad_first else (a[i], b[i])
            raise RuntimeError(f"The size of tensor a ({first}) must match the size of tensor "
                               f"b ({second}) at non-singleton dimension {i}")
    broadcast = tuple(max(x, y) for x, y in zip(a, b))
    if broadcast != tuple(shape):
        raise RuntimeError(f"output with shape {list(shape)} doesn't match the broadcast "
                           f"shape {list(broadcast)}")
    return np.broadcast_to(grad, shape)


class Optimizer:
    """Base class of all optimizers.

    Parameters
    ----------
    params : iterable
        Tensors, or dicts each with a "params" entry and any per-group hyper-parameters (the
        rest come from ``defaults``).
    defaults : dict
        The hyper-parameters' defaults.
    """

    def modified_arrays(self):
        """The arrays ``step`` changes in place (for autograd's version check)."""
        return [p._data for group in self.param_groups for p in group["params"]]

    # Per-parameter state entries that are Python numbers (PyTorch keeps 0-d tensors); the
    # others are arrays of the parameter's dtype. Subclasses with more extend the tuple.
    _scalar_state = ("step",)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        step = cls.__dict__.get("step")
        if step is not None and not getattr(step, "hooked", False):
            cls.step = _with_step_hooks(step)

    def __init__(self, params: ParamsT, defaults: dict[str, Any]) -> None:
        self.defaults = defaults
        _graph.register_bulk_writer(self)
        self._optimizer_step_pre_hooks = OrderedDict()
        self._optimizer_step_post_hooks = OrderedDict()
        self._optimizer_state_dict_pre_hooks = OrderedDict()
        self._optimizer_state_dict_post_hooks = OrderedDict()
        self._optimizer_load_state_dict_pre_hooks = OrderedDict()
        self._optimizer_load_state_dict_post_hooks = OrderedDict()
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of "
                            "Tensors or dicts, but got a Tensor")
        self.state = defaultdict(dict)
        self.param_groups = []
        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for param_group in param_groups:
            self.add_param_group(param_group)

    def describe(self):
        """The update this optimizer applies, with its current hyper-parameters, state and
        bias corrections at the next step (``print(optimizer.describe())``; see
        ``describe.py``)."""
        from .describe import describe
        return describe(self)

    def __repr__(self):
        lines = [self.__class__.__name__ + " ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for key in sorted(group):
                if key != "params":
                    lines.append(f"    {key}: {group[key]}")
        lines.append(")")
        return "\n".join(lines)

    # ------------------------------------------------------------------------------------
    # Parameter groups
    # ------------------------------------------------------------------------------------

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a dict ``{"params": [...], hyper-parameter: value, ...}`` as a new group.

        Hyper-parameters it does not name take the optimizer's defaults. A parameter may
        belong to one group only.
        """
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        param_group = dict(param_group)
        params = param_group.get("params")
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError("optimizer parameters need to be organized in ordered collections, "
                            "but the ordering of tensors in sets will change between runs. "
                            "Please use a list instead.")
        elif params is None:
            raise ValueError('param_group must have a "params" entry')
        params = list(params)
        # named_parameters() gives (name, tensor) pairs: PyTorch keeps the names.
        names = [param[0] for param in params if isinstance(param, tuple)]
        params = [param[1] if isinstance(param, tuple) else param for param in params]
        param_group["params"] = params
        if names:
            if len(names) != len(params):
                raise ValueError("all optimizer params should be with/without names. "
                                 "Some param names are missing")
            param_group["param_names"] = names
        if self.param_groups and (("param_names" in param_group)
                                  != ("param_names" in self.param_groups[0])):
            raise ValueError("all optimizer param groups should be with/without names.")

        for param in params:
            if not isinstance(param, Tensor):
                raise TypeError("optimizer can only optimize Tensors, but one of the params is "
                                + type(param).__name__)
            if not param.is_leaf:
                raise ValueError("can't optimize a non-leaf Tensor")

        for name, default in self.defaults.items():
            if default is required and name not in param_group:
                raise ValueError("parameter group didn't specify a value of required "
                                 f"optimization parameter {name}")
            param_group.setdefault(name, default)

        ids = [id(p) for p in params]
        if len(ids) != len(set(ids)):
            raise ValueError("optimizer contains a parameter group with duplicate parameters")
        existing = {id(p) for group in self.param_groups for p in group["params"]}
        if not existing.isdisjoint(ids):
            raise ValueError("some parameters appear in more than one parameter group")

        self.param_groups.append(param_group)

    # ------------------------------------------------------------------------------------
    # Gradients and steps
    # ------------------------------------------------------------------------------------

    @_graph.replayed
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of every parameter.

        set_to_none=True (the default) drops them (``p.grad = None``): less memory, and the
        next backward writes fresh arrays instead of adding to zeros. False fills the
        existing gradient arrays with zeros in place.
        """
        for group in self.param_groups:
            for p in group["params"]:
                if p._grad is not None:
                    if set_to_none:
                        p._grad = None
                    elif p._grad._data.flags.writeable:
                        p._grad._data.fill(0)
                    else:  # e.g. a broadcast view: give the gradient its own zeros
                        p._grad._data = np.zeros(p._grad._data.shape, p._grad._data.dtype)

    def step(self, closure: Callable[[], float] | None = None) -> float | None:
        """Update every parameter that has a gradient. Subclasses implement it."""
        raise NotImplementedError

    @staticmethod
    def _evaluate_closure(closure):
        """Call ``closure`` (which recomputes and returns the loss) with gradients enabled."""
        if closure is None:
            return None
        with enable_grad():
            return closure()

    def _load_param_state(self, value, param, index):
        """One parameter's loaded state: a copy, buffers cast to the parameter's dtype."""
        return _copy_state(value, param, index, self._scalar_state)

    # ------------------------------------------------------------------------------------
    # Hooks
    # ------------------------------------------------------------------------------------

    @staticmethod
    def _register(hooks, hook, prepend=False):
        handle = RemovableHandle(hooks)
        hooks[handle.id] = hook
        if prepend:
            hooks.move_to_end(handle.id, last=False)
        return handle

    def register_step_pre_hook(self, hook):
        """``hook(optimizer, args, kwargs) -> None or (new_args, new_kwargs)``, run before
        each ``step``; ``args`` is the step's positional arguments, the optimizer first."""
        return self._register(self._optimizer_step_pre_hooks, hook)

    def register_step_post_hook(self, hook):
        """``hook(optimizer, args, kwargs) -> None``, run after each ``step``."""
        return self._register(self._optimizer_step_post_hooks, hook)

    def register_state_dict_pre_hook(self, hook, prepend=False):
        """``hook(optimizer) -> None``, run at the start of ``state_dict()``."""
        return self._register(self._optimizer_state_dict_pre_hooks, hook, prepend)

    def register_state_dict_post_hook(self, hook, prepend=False):
        """``hook(optimizer, state_dict) -> state_dict or None``, run on the dict that
        ``state_dict()`` returns (a returned dict replaces it)."""
        return self._register(self._optimizer_state_dict_post_hooks, hook, prepend)

    def register_load_state_dict_pre_hook(self, hook, prepend=False):
        """``hook(optimizer, state_dict) -> state_dict or None``, run on a shallow copy of the
        dict given to ``load_state_dict`` (a returned dict is loaded instead)."""
        return self._register(self._optimizer_load_state_dict_pre_hooks, hook, prepend)

    def register_load_state_dict_post_hook(self, hook, prepend=False):
        """``hook(optimizer) -> None``, run at the end of ``load_state_dict``."""
        return self._register(self._optimizer_load_state_dict_post_hooks, hook, prepend)

    # ------------------------------------------------------------------------------------
    # Saving and loading
    # ------------------------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """The optimizer's state in PyTorch's format.

        ``{"state": {index: {"step": float, buffer name: ndarray, ...}},
        "param_groups": [{hyper-parameters..., "params": [index, ...]}, ...]}``
        where ``index`` numbers the parameters in group order. The buffers are the live arrays
        (as in PyTorch); they are copied by ``load_state_dict``.
        """
        for pre_hook in self._optimizer_state_dict_pre_hooks.values():
            pre_hook(self)
        index_of = {}
        start_index = 0

        def pack_group(group):
            nonlocal start_index
            packed = {k: v for k, v in group.items() if k != "params"}
            for i, p in enumerate(group["params"], start_index):
                index_of.setdefault(id(p), i)
            packed["params"] = [index_of[id(p)] for p in group["params"]]
            start_index += len(packed["params"])
            return packed

        param_groups = [pack_group(g) for g in self.param_groups]
        packed_state = {
            (index_of[id(k)] if isinstance(k, Tensor) else k): dict(v)
            for k, v in self.state.items()
            if not isinstance(k, Tensor) or id(k) in index_of
        }
        state_dict = {"state": packed_state, "param_groups": param_groups}
        for post_hook in self._optimizer_state_dict_post_hooks.values():
            result = post_hook(self, state_dict)
            if result is not None:
                state_dict = result
        return state_dict

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load a dict made by ``state_dict()`` (possibly after mg.save / mg.load).

        Every buffer is copied into a new C-contiguous array of its parameter's dtype, so
        this optimizer never aliases the dict's arrays. Raises ValueError when the number of
        groups, a group's size or a buffer's size does not match this optimizer.
        """
        if not isinstance(state_dict, dict) or "state" not in state_dict \
                or "param_groups" not in state_dict:
            raise ValueError('optimizer state dict must be a dict with "state" and '
                             '"param_groups" entries')
        state_dict = dict(state_dict)
        for pre_hook in self._optimizer_load_state_dict_pre_hooks.values():
            result = pre_hook(self, state_dict)
            if result is not None:
                state_dict = result
        groups = self.param_groups
        saved_groups = copy.deepcopy(list(state_dict["param_groups"]))
        if len(groups) != len(saved_groups):
            raise ValueError(f"loaded state dict has {len(saved_groups)} parameter groups, "
                             f"the optimizer has {len(groups)}")
        for i, (group, saved) in enumerate(zip(groups, saved_groups)):
            if len(group["params"]) != len(saved["params"]):
                raise ValueError(
                    f"loaded state dict contains a parameter group ({i}) of "
                    f"{len(saved['params'])} parameters, which doesn't match the size of "
                    f"optimizer's group ({len(group['params'])} parameters)")

        id_map = dict(zip(chain.from_iterable(g["params"] for g in saved_groups),
                          chain.from_iterable(g["params"] for g in groups)))

        state = defaultdict(dict)
        for key, value in state_dict["state"].items():
            key = int(key) if isinstance(key, str) and key.isdigit() else key
            if key in id_map:
                param = id_map[key]
                state[param] = self._load_param_state(value, param, key)
            else:
                state[key] = copy.deepcopy(value)

        new_groups = []
        for group, saved in zip(groups, saved_groups):
            saved["params"] = group["params"]
            if "param_names" in group and "param_names" not in saved:
                saved["param_names"] = group["param_names"]
            for key in ("betas", "etas", "step_sizes"):
                if isinstance(saved.get(key), list):
                    saved[key] = tuple(saved[key])
            new_groups.append(saved)
        self.state = state
        self.param_groups = new_groups
        for post_hook in self._optimizer_load_state_dict_post_hooks.values():
            post_hook(self)


def _copy_state(value, param, index, scalar_names, name=None):
    """A deep copy of one parameter's state, arrays cast to the parameter's dtype.

    The entries named in ``scalar_names`` (``step``, ...) become Python floats; other float
    buffers become fresh C-contiguous arrays of the parameter's dtype in native byte order
    (as PyTorch casts them to the parameter's dtype).
    """
    if isinstance(value, Tensor):
        value = value._data
    elif hasattr(value, "__array__") and not isinstance(value, (np.ndarray, np.generic)):
        value = np.asarray(value)  # e.g. a torch.Tensor from torch's own state_dict
    if isinstance(value, dict):
        return {k: _copy_state(v, param, index, scalar_names, k) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_copy_state(v, param, index, scalar_names, name) for v in value)
    if name in scalar_names and np.ndim(value) == 0 and not isinstance(value, str):
        return float(value)
    if isinstance(value, (np.ndarray, np.generic)):
        dtype = param._data.dtype.newbyteorder("=")
        array = np.array(value, dtype=dtype, order="C", copy=True)
        if array.ndim and array.size != param._data.size:
            raise ValueError(f"loaded state dict has a buffer {name!r} of shape {array.shape} "
                             f"for parameter {index} of shape {param._data.shape}")
        return array.reshape(param._data.shape) if array.ndim else array
    return copy.deepcopy(value)

