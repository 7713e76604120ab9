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

A subclass implements ``step``: for each group, for each parameter whose ``grad`` is not None,
one call to its fused kernel through ``minigrad._kernels.kernels`` (so MINIGRAD_KERNELS=numpy
runs the plain-numpy twins in ``reference.py``). The kernel updates ``p._data`` in place,
whatever its layout: the array is never replaced, since other objects hold references to it.
"""
import copy
from collections import defaultdict
from itertools import chain

import numpy as np

from ..autograd import enable_grad
from ..tensor import Tensor


class _RequiredParameter:
    """Marks a hyper-parameter that has no default and must be given (e.g. SGD's lr once)."""

    def __repr__(self):
        return "<required parameter>"


required = _RequiredParameter()


class Optimizer:
    """Base class of all optimizers.

    params: an iterable of Tensors, or of dicts each with a "params" entry and any
        per-group hyper-parameters (the rest come from ``defaults``).
    defaults: dict of hyper-parameter defaults.
    """

    def __init__(self, params, defaults):
        self.defaults = defaults
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

    def add_param_group(self, param_group):
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
        param_group["params"] = params

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

    def zero_grad(self, set_to_none=True):
        """Reset the gradients of every parameter.

        set_to_none=True (the default) drops them (``p.grad = None``): less memory, and the
        next backward writes fresh arrays instead of adding to zeros. False fills the
        existing gradient arrays with zeros in place.
        """
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    if set_to_none:
                        p.grad = None
                    elif p.grad._data.flags.writeable:
                        p.grad._data.fill(0)
                    else:  # e.g. a broadcast view: give the gradient its own zeros
                        p.grad._data = np.zeros(p.grad._data.shape, p.grad._data.dtype)

    def step(self, closure=None):
        """Update every parameter that has a gradient. Subclasses implement it."""
        raise NotImplementedError

    @staticmethod
    def _evaluate_closure(closure):
        """Call ``closure`` (which recomputes and returns the loss) with gradients enabled."""
        if closure is None:
            return None
        with enable_grad():
            return closure()

    # ------------------------------------------------------------------------------------
    # Saving and loading
    # ------------------------------------------------------------------------------------

    def state_dict(self):
        """The optimizer's state in PyTorch's format.

        ``{"state": {index: {"step": float, buffer name: ndarray, ...}},
        "param_groups": [{hyper-parameters..., "params": [index, ...]}, ...]}``
        where ``index`` numbers the parameters in group order. The buffers are the live arrays
        (as in PyTorch); they are copied by ``load_state_dict``.
        """
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
        return {"state": packed_state, "param_groups": param_groups}

    def load_state_dict(self, state_dict):
        """Load a dict made by ``state_dict()`` (possibly after mg.save / mg.load).

        Every buffer is copied into a new C-contiguous array of its parameter's dtype, so
        this optimizer never aliases the dict's arrays. Raises ValueError when the number of
        groups, a group's size or a buffer's size does not match this optimizer.
        """
        if not isinstance(state_dict, dict) or "state" not in state_dict \
                or "param_groups" not in state_dict:
            raise ValueError('optimizer state dict must be a dict with "state" and '
                             '"param_groups" entries')
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
                state[param] = _copy_state(value, param, key)
            else:
                state[key] = copy.deepcopy(value)

        new_groups = []
        for group, saved in zip(groups, saved_groups):
            saved["params"] = group["params"]
            if isinstance(saved.get("betas"), list):
                saved["betas"] = tuple(saved["betas"])
            new_groups.append(saved)
        self.state = state
        self.param_groups = new_groups


def _copy_state(value, param, index, name=None):
    """A deep copy of one parameter's state, arrays cast to the parameter's dtype.

    ``step`` stays a Python number; other float buffers become fresh C-contiguous arrays
    of the parameter's dtype (as PyTorch casts them to the parameter's dtype).
    """
    if isinstance(value, Tensor):
        value = value._data
    if isinstance(value, dict):
        return {k: _copy_state(v, param, index, k) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_copy_state(v, param, index, name) for v in value)
    if isinstance(value, (np.ndarray, np.generic)):
        if name == "step":
            return float(value)
        array = np.array(value, dtype=param._data.dtype, order="C", copy=True)
        if array.ndim and array.size != param._data.size:
            raise ValueError(f"loaded state dict has a buffer {name!r} of shape {array.shape} "
                             f"for parameter {index} of shape {param._data.shape}")
        return array.reshape(param._data.shape) if array.ndim else array
    return copy.deepcopy(value)

