"""The layers: Linear, the activations, Dropout, BatchNorm1d, Flatten, Identity and the
containers Sequential and ModuleList. Each is a thin ``Module`` around a function of
``functional.py``; the math (and the backward) is there."""
from __future__ import annotations

import collections
import math
import operator
from typing import Any

import numpy as np

from .. import dtypes as _dtypes
from .. import ops
from ..autograd import graph as _graph
from ..errors import ShapeError
from ..tensor import Tensor, _check_device, _wrap
from . import functional as F
from . import init
from .module import Module, Parameter, _addindent

__all__ = [
    "BatchNorm1d",
    "Dropout",
    "Flatten",
    "Identity",
    "LeakyReLU",
    "Linear",
    "LogSoftmax",
    "ModuleList",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Softmax",
    "Tanh",
]


def _float_dtype(dtype):
    """The numpy dtype for a layer's parameters: float32 unless ``dtype`` says otherwise."""
    if dtype is None:
        return np.dtype(np.float32)
    np_dtype = _dtypes.as_dtype(dtype).np_dtype
    if np_dtype.kind != "f":
        raise TypeError(f"layer parameters must have a floating point dtype, got {dtype}")
    return np_dtype


# ---------------------------------------------------------------------------------------------
# Linear
# ---------------------------------------------------------------------------------------------


class Linear(Module):
    """y = x @ weight.T + bias.

    Shapes: input ``(*, in_features)``, weight (out_features, in_features), bias
    (out_features,), output ``(*, out_features)``. Initialisation as in PyTorch:
    ``kaiming_uniform_(a=sqrt(5))`` for the weight, which is U(-1/sqrt(in_features),
    1/sqrt(in_features)), and the same uniform distribution for the bias. Parameters are float32 unless ``dtype`` is given.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 device: Any = None, dtype: Any = None) -> None:
        super().__init__()
        _check_device(device)
        np_dtype = _float_dtype(dtype)
        self.in_features = operator.index(in_features)
        self.out_features = operator.index(out_features)
        if self.in_features < 0 or self.out_features < 0:
            raise ValueError(f"Linear: in_features and out_features must be non-negative, got "
                             f"{in_features} and {out_features}")
        self.weight = Parameter(np.empty((self.out_features, self.in_features), np_dtype))
        if bias:
            self.bias = Parameter(np.empty(self.out_features, np_dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        """PyTorch's default initialisation (see the class docstring)."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_features) if self.in_features > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input: Tensor) -> Tensor:
        return self._apply_op(input, F.Linear)

    def _apply_op(self, input, op):
        """``op.apply(input, weight, bias)`` after Linear's checks: ``F.Linear``, or one of the
        fused Linear-activation ops nn.Sequential runs (``ops.nn.LinearReLU`` ...)."""
        weight = self.weight
        if not isinstance(input, Tensor):
            raise TypeError(f"Linear expects a Tensor input, got {type(input).__name__}")
        if input._data.shape[-1:] != weight._data.shape[1:]:
            raise ShapeError(
                f"Linear(in_features={self.in_features}, out_features={self.out_features}): "
                f"input has shape {tuple(input._data.shape)}, expected last dimension "
                f"{weight._data.shape[1]}")
        bias = self.bias
        if input._data.dtype != weight._data.dtype or (
                bias is not None and bias._data.dtype != weight._data.dtype):
            F.raise_linear_dtype_error(input, weight, bias)
        return op.apply(input, weight, bias)

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class Identity(Module):
    """Returns its input unchanged (arguments are accepted and ignored, as in PyTorch)."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, input: Tensor) -> Tensor:
        return input


class Flatten(Module):
    """Flattens dimensions ``start_dim`` .. ``end_dim`` into one: (N, C, L) -> (N, C * L)."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, input: Tensor) -> Tensor:
        return input.flatten(self.start_dim, self.end_dim)

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


# ---------------------------------------------------------------------------------------------
# Activations
# ---------------------------------------------------------------------------------------------


class ReLU(Module):
    """relu(x) = max(x, 0), elementwise. (``inplace=True`` is accepted, and shown in the repr,
    but the result is always a new tensor: that is always safe for autograd.)"""

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return ops.ReLU.apply(input)

    def extra_repr(self):
        return "inplace=True" if self.inplace else ""


class LeakyReLU(Module):
    """x for x > 0, negative_slope * x otherwise."""

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False) -> None:
        super().__init__()
        self.negative_slope = negative_slope
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.leaky_relu(input, self.negative_slope)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace
                                                           else "")


class Sigmoid(Module):
    """1 / (1 + exp(-x)), elementwise."""

    def forward(self, input: Tensor) -> Tensor:
        return F.sigmoid(input)


class Tanh(Module):
    """tanh(x), elementwise."""

    def forward(self, input: Tensor) -> Tensor:
        return F.tanh(input)


class Softmax(Module):
    """Softmax along ``dim`` (see ``F.softmax``)."""

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input: Tensor) -> Tensor:
        return F.softmax(input, self.dim, _stacklevel=5)

    def extra_repr(self):
        return f"dim={self.dim}"


class LogSoftmax(Module):
    """log(softmax(x)) along ``dim``, computed stably (see ``F.log_softmax``)."""

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, input: Tensor) -> Tensor:
        return F.log_softmax(input, self.dim, _stacklevel=5)

    def extra_repr(self):
        return f"dim={self.dim}"


# ---------------------------------------------------------------------------------------------
# Regularisation and normalisation
# ---------------------------------------------------------------------------------------------


class Dropout(Module):
    """In training, zero each element with probability ``p`` and scale the others by
    1 / (1 - p) (inverted dropout); in evaluation, the identity."""

    def __init__(self, p: float = 0.5, inplace: bool = False) -> None:
        super().__init__()
        F._check_dropout_p(p)
        self.p = p
        self.inplace = inplace

    def forward(self, input: Tensor) -> Tensor:
        return F.dropout(input, self.p, self.training)

    def extra_repr(self):
        return f"p={self.p}, inplace={self.inplace}"


class _BatchNorm(Module):
    """Batch normalisation over (N, C, *) input, per channel C = ``num_features`` (the base of
    BatchNorm1d/2d/3d, which differ only in the number of dimensions they accept).

    Training: y = (x - mean_B) / sqrt(var_B + eps) * weight + bias with the batch's mean and
    biased variance, and the running statistics move towards the batch's:
        running_mean <- (1 - momentum) running_mean + momentum mean_B
        running_var  <- (1 - momentum) running_var  + momentum var_B * m / (m - 1)
    (m values per channel; the running variance is unbiased). ``momentum=None`` uses the
    cumulative average (factor 1 / num_batches_tracked). Evaluation: the running statistics
    replace the batch's. ``track_running_stats=False`` always uses batch statistics.
    """

    # Checkpoints without the batch counter still load (PyTorch's rule for old checkpoints).
    _optional_state_keys = ("num_batches_tracked",)

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True,
                 track_running_stats=True, device=None, dtype=None, *, bias=True):
        super().__init__()
        _check_device(device)
        np_dtype = _float_dtype(dtype)
        self.num_features = operator.index(num_features)
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        if affine:
            self.weight = Parameter(np.ones(self.num_features, np_dtype))
            if bias:
                self.bias = Parameter(np.zeros(self.num_features, np_dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", _wrap(np.zeros(self.num_features, np_dtype)))
            self.register_buffer("running_var", _wrap(np.ones(self.num_features, np_dtype)))
            self.register_buffer("num_batches_tracked", _wrap(np.array(0, dtype=np.int64)))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self):
        if self.track_running_stats:
            self.running_mean._data[...] = 0
            self.running_var._data[...] = 1
            self.num_batches_tracked._data[...] = 0

    def reset_parameters(self):
        self.reset_running_stats()
        if self.affine:
            init.ones_(self.weight)
            if self.bias is not None:
                init.zeros_(self.bias)

    def _check_input_dim(self, x: np.ndarray) -> None:
        raise NotImplementedError

    @_graph.replayed  # counts num_batches_tracked in Python: one entry of mg.compile's tape
    def forward(self, input: Tensor) -> Tensor:
        if not isinstance(input, Tensor):
            raise TypeError(
                f"{self._get_name()} expects a Tensor input, got {type(input).__name__}")
        x = input._data
        self._check_input_dim(x)
        if x.shape[1] != self.num_features:
            raise ShapeError(
                f"{self._get_name()}({self.num_features}): input has shape {tuple(x.shape)}, "
                f"expected {self.num_features} channels in dimension 1")
        use_batch_stats = self.training or self.running_mean is None
        if use_batch_stats and x.size // max(x.shape[1], 1) <= 1:
            raise ValueError(f"Expected more than 1 value per channel when training, got input "
                             f"size {tuple(x.shape)}")
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats and self.num_batches_tracked is not None:
            self.num_batches_tracked._data[...] += 1
            if self.momentum is None:
                factor = 1.0 / float(self.num_batches_tracked._data)
        keep_stats = not self.training or self.track_running_stats
        return F.batch_norm(input, self.running_mean if keep_stats else None,
                            self.running_var if keep_stats else None, self.weight, self.bias,
                            use_batch_stats, factor, self.eps)

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, bias={self.bias is not None}, "
                f"track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch normalisation over (N, C) or (N, C, L) input (see ``_BatchNorm``)."""

    def _check_input_dim(self, x: np.ndarray) -> None:
        if x.ndim not in (2, 3):
            raise ValueError(f"expected 2D or 3D input (got {x.ndim}D input)")


# ---------------------------------------------------------------------------------------------
# Containers
# ---------------------------------------------------------------------------------------------


class _IndexedContainer(Module):
    """Shared machinery of Sequential and ModuleList: children named '0', '1', ..."""

    def _index(self, idx):
        """Normalise an integer index into range, or raise IndexError."""
        idx = operator.index(idx)
        size = len(self._modules)
        if not -size <= idx < size:
            raise IndexError(f"index {idx} is out of range")
        return idx % size

    def _renumber(self, modules):
        """Replace the children by ``modules``, named '0', '1', ... in order."""
        for name in self._modules:
            self.__dict__.pop(name, None)
        self._modules.clear()
        for i, module in enumerate(modules):
            self.add_module(str(i), module)

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def __setitem__(self, idx, module):
        key = list(self._modules)[self._index(idx)]
        setattr(self, key, module)

    def __delitem__(self, idx):
        modules = list(self._modules.values())
        if isinstance(idx, slice):
            del modules[idx]
        else:
            del modules[self._index(idx)]
        self._renumber(modules)

    def append(self, module):
        """Add ``module`` at the end; return self."""
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules):
        for module in modules:
            self.append(module)
        return self

    def insert(self, index, module):
        modules = list(self._modules.values())
        modules.insert(index, module)
        self._renumber(modules)

    def pop(self, index=-1):
        module = list(self._modules.values())[self._index(index)]
        del self[index]
        return module


class Sequential(_IndexedContainer):
    """Modules applied in order: ``Sequential(nn.Linear(2, 10), nn.ReLU(), nn.Linear(10, 1))``
    (children named '0', '1', '2'), or from an OrderedDict of named modules.

    A Linear followed by ReLU, Sigmoid or Tanh runs as one graph node (``LinearReLUBackward0``
    ...), with the values and gradients of the two; hooks on either module keep them apart."""

    def __init__(self, *args: Any) -> None:
        super().__init__()
        if len(args) == 1 and isinstance(args[0], collections.OrderedDict):
            for name, module in args[0].items():
                self.add_module(name, module)
        else:
            for i, module in enumerate(args):
                self.add_module(str(i), module)

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return type(self)(collections.OrderedDict(list(self._modules.items())[idx]))
        return list(self._modules.values())[self._index(idx)]

    def forward(self, input: Tensor) -> Tensor:
        # A Linear followed by ReLU, Sigmoid or Tanh runs as one node (ops.nn.LinearActivation):
        # the same values and gradients, bit for bit, with one graph node and one kernel call
        # fewer each way. Only the exact classes, without hooks (a hook must see the Linear's
        # output) and without a forward replaced on the instance; anything else runs module by
        # module, as written.
        fused = None
        for module in self._modules.values():
            if fused is not None:
                op = _FUSED_ACTIVATIONS.get(type(module))
                if op is not None and _plain(module):
                    input = fused._apply_op(input, op)
                    fused = None
                    continue
                input = fused(input)
                fused = None
            if type(module) is Linear and _plain(module):
                fused = module  # held back: the next module may fuse with it
            else:
                input = module(input)
        return input if fused is None else fused(input)


class ModuleList(_IndexedContainer):
    """A list of modules, registered (so their parameters are the model's) but not called."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return type(self)(list(self._modules.values())[idx])
        return list(self._modules.values())[self._index(idx)]

    def __iadd__(self, modules):
        return self.extend(modules)

    def __add__(self, other):
        return ModuleList(list(self) + list(other))

    def forward(self, *args, **kwargs):
        raise NotImplementedError("ModuleList is not callable: iterate over it in forward()")

    def __repr__(self):
        # PyTorch's compact form: a run of identical children prints once, as '(0-2): 3 x ...'.
        reprs = [repr(module) for module in self]
        if not reprs:
            return self._get_name() + "()"
        blocks = []  # [first index, last index, repr]
        for i, text in enumerate(reprs):
            if blocks and blocks[-1][2] == text:
                blocks[-1][1] = i
            else:
                blocks.append([i, i, text])
        lines = []
        for start, end, text in blocks:
            if start == end:
                line = f"({start}): {text}"
            else:
                line = f"({start}-{end}): {end - start + 1} x {text}"
            lines.append(_addindent(line, 2))
        return self._get_name() + "(\n  " + "\n  ".join(lines) + "\n)"


def _plain(module):
    """No hooks on ``module`` and no forward of its own set on the instance."""
    return module._hook_tables is None and "forward" not in module.__dict__


_FUSED_ACTIVATIONS = {ReLU: ops.nn.LinearReLU, Sigmoid: ops.nn.LinearSigmoid,
                      Tanh: ops.nn.LinearTanh}
