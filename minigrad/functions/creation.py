"""Creation: tensors from data, factories, random sampling, dtype helpers.

Factories and samplers follow PyTorch's signatures: sizes as ``f(2, 3)``, ``f((2, 3))`` or
``size=(2, 3)``; ``dtype=None`` picks PyTorch's default (float32 for floating results, int64 for
integer ones); ``layout``, ``device`` (CPU only), ``pin_memory`` and ``memory_format`` are
accepted at their CPU values. Every sampler draws from ``generator=`` when given, else from the
default generator (``mg.manual_seed``); see ``minigrad/random.py``.
"""
from __future__ import annotations

import functools
import math
import numbers
import warnings
from collections.abc import Callable
from typing import Any, TypeVar, cast

import numpy as np

from .. import dtypes as _dt
from .. import random as _random
from .._kernels import kernels as K
from ..autograd import graph as _graph
from ..dtypes import (
    can_cast,
    finfo,
    get_default_dtype,
    iinfo,
    promote_types,
    set_default_dtype,
)
from ..interop import as_tensor  # shares memory with arrays and DLPack objects
from ..ops.random import Sample
from ..random import Generator, default_generator, get_rng_state, set_rng_state
from ..tensor import (
    Tensor,
    _broadcastable,
    _check_device,
    _fill_value,
    _grad_on,
    _wrap,
    from_numpy,
    tensor,
)
from ._common import method_form

__all__ = [
    "Generator",
    "arange",
    "as_tensor",
    "bernoulli",
    "default_generator",
    "empty",
    "empty_like",
    "eye",
    "fill_",
    "from_numpy",
    "full",
    "full_like",
    "get_rng_state",
    "is_tensor",
    "linspace",
    "logspace",
    "multinomial",
    "normal",
    "numel",
    "ones",
    "ones_like",
    "poisson",
    "rand",
    "rand_like",
    "randint",
    "randint_like",
    "randn",
    "randn_like",
    "randperm",
    "set_rng_state",
    "tensor",
    "tril_indices",
    "triu_indices",
    "zero_",
    "zeros",
    "zeros_like",
]
METHODS = ["bernoulli", "bernoulli_", "cauchy_", "exponential_", "geometric_", "log_normal_",
           "multinomial", "new_empty", "new_full", "new_ones", "new_tensor", "new_zeros",
           "normal_", "random_", "uniform_"]

numel = method_form("numel")
fill_ = method_form("fill_")  # torch.fill_(t, value), torch.zero_(t): in place, as the methods
zero_ = method_form("zero_")


def is_tensor(obj):
    """True if ``obj`` is a minigrad ``Tensor`` (``isinstance(obj, Tensor)``)."""
    return isinstance(obj, Tensor)


# ---------------------------------------------------------------------------------------------
# dtypes: the default dtype, promotion, machine limits, legacy tensor types
# ---------------------------------------------------------------------------------------------

__all__ += ["BoolTensor", "ByteTensor", "CharTensor", "DoubleTensor", "FloatTensor",
            "HalfTensor", "IntTensor", "LongTensor", "ShortTensor", "can_cast", "finfo",
            "get_default_dtype", "iinfo", "is_complex", "is_floating_point", "promote_types",
            "result_type", "set_default_dtype"]


def is_floating_point(input):
    """True if ``input`` has a floating dtype."""
    return input.is_floating_point()


def is_complex(input):
    """True if ``input`` has a complex dtype (never, in minigrad's scope)."""
    return input._data.dtype.kind == "c"


def result_type(tensor, other):
    """The dtype PyTorch computes ``tensor <op> other`` in: each a Tensor or a number (a
    dimensioned tensor outranks a 0-d one, which outranks a number, within a category)."""
    values = []
    for x in (tensor, other):
        if isinstance(x, Tensor):
            values.append(x._data)
        elif isinstance(x, (bool, int, float, complex)):
            values.append(x)
        else:
            raise TypeError(f"result_type(): argument must be Tensor or Number, not "
                            f"{type(x).__name__}")
    return _dt.from_numpy_dtype(_dt.result_np_dtype(*values))


class _LegacyTensorType(type):
    """The metaclass of ``mg.FloatTensor`` and friends (PyTorch's legacy tensor types):
    calling one builds a tensor of its dtype (``FloatTensor([1, 2])`` from data,
    ``FloatTensor(2, 3)`` of that size, ``FloatTensor()`` empty), and ``isinstance(t,
    mg.FloatTensor)`` is True for a float32 tensor."""

    def __instancecheck__(cls, obj):
        return isinstance(obj, Tensor) and obj._data.dtype == cls.dtype.np_dtype

    def __call__(cls, *args, device=None):
        if not args:
            return zeros(0, dtype=cls.dtype, device=device)
        if len(args) == 1 and not isinstance(args[0], int):
            data = args[0]
            if isinstance(data, Tensor) and data.dtype is not cls.dtype:
                raise TypeError(f"expected {cls.dtype} (got {data.dtype})")
            return tensor(data, dtype=cls.dtype, device=device)
        return zeros(*args, dtype=cls.dtype, device=device)

    def __repr__(cls):
        return f"<class 'minigrad.{cls.__name__}'>"


def _legacy_type(name, dtype):
    return _LegacyTensorType(name, (), {"dtype": dtype, "__module__": "minigrad",
                                        "__doc__": f"Legacy constructor of {dtype} tensors."})


FloatTensor = _legacy_type("FloatTensor", _dt.float32)
DoubleTensor = _legacy_type("DoubleTensor", _dt.float64)
HalfTensor = _legacy_type("HalfTensor", _dt.float16)
LongTensor = _legacy_type("LongTensor", _dt.int64)
IntTensor = _legacy_type("IntTensor", _dt.int32)
ShortTensor = _legacy_type("ShortTensor", _dt.int16)
CharTensor = _legacy_type("CharTensor", _dt.int8)
ByteTensor = _legacy_type("ByteTensor", _dt.uint8)
BoolTensor = _legacy_type("BoolTensor", _dt.bool_)
_ = (can_cast, finfo, get_default_dtype, iinfo, promote_types, set_default_dtype)
# =============================================================================================
# out=: results written into a given tensor (shared by the function families)
# =============================================================================================

_C_NAMES = {"float32": "float", "float64": "double", "int64": "long int", "int32": "int",
            "int16": "short int", "int8": "signed char", "uint8": "unsigned char",
            "bool": "bool", "float16": "c10::Half"}


def c_name(np_dtype):
    """The C++ type name PyTorch's dtype errors use (float, double, long int...)."""
    return _C_NAMES.get(np_dtype.name, np_dtype.name)


def _kind_rank(np_dtype):
    return {"b": 0, "u": 1, "i": 1, "f": 2, "c": 3}[np_dtype.kind]


def write_out(result, out, name, factory=False, exact=False, joins=False):
    """``result``, or, when ``out`` is a tensor, ``out`` holding result's values (PyTorch's
    ``out=``): out is resized to the result's shape (with PyTorch's warning when it had
    elements); a factory's result takes out's dtype, others are cast to it when PyTorch can
    (never float to int), and the BLAS products (``exact``) must match it; not
    differentiable."""
    if out is None:
        return result
    if not isinstance(out, Tensor):
        raise TypeError(f"{name}(): argument 'out' must be Tensor, not {type(out).__name__}")
    if _grad_on() and (result._requires_grad or out._requires_grad):
        raise RuntimeError(f"{name}(): functions with out=... arguments don't support automatic "
                           f"differentiation, but one of the arguments requires grad.")
    data = result._data
    if out._data.dtype != data.dtype:
        if exact:
            raise RuntimeError(f"Expected out tensor to have dtype {c_name(data.dtype)}, but "
                               f"got {c_name(out._data.dtype)} instead")
        if not factory and _kind_rank(data.dtype) > _kind_rank(out._data.dtype):
            want = _dt.from_numpy_dtype(out._data.dtype).legacy_name
            if joins:  # PyTorch's cat and stack raise a TypeError here
                raise TypeError(f"torch.{name}(): input types can't be cast to the desired "
                                f"output type {want}")
            raise RuntimeError(f"result type {_dt.from_numpy_dtype(data.dtype).legacy_name} "
                               f"can't be cast to the desired output type {want}")
        data = data.astype(out._data.dtype)
    if out._data.shape != data.shape:
        if out._data.size:
            warnings.warn(f"An output with one or more elements was resized since it had shape "
                          f"{list(out._data.shape)}, which does not match the required output "
                          f"shape {list(data.shape)}. This behavior is deprecated, and in a "
                          f"future PyTorch release outputs will not be resized unless they "
                          f"have zero elements.", UserWarning, stacklevel=3)
        out._data = np.empty(data.shape, dtype=data.dtype)
    np.copyto(out._data, data)
    _graph.bump(out._data)
    return out


_F = TypeVar("_F", bound=Callable[..., Any])

def with_out(factory: bool = False, exact: bool = False, joins: bool = False
             ) -> Callable[[_F], _F]:
    """Decorator: the function takes ``out=`` (see ``write_out``)."""

    def decorate(fn: _F) -> _F:
        @functools.wraps(fn)
        def function(*args: Any, out: Tensor | None = None, **kwargs: Any) -> Any:
            return write_out(fn(*args, **kwargs), out, fn.__name__, factory, exact, joins)

        return cast(_F, function)

    return decorate


# =============================================================================================
# Factories
# =============================================================================================

_FLOAT32 = np.dtype(np.float32)
_FLOAT64 = np.dtype(np.float64)
_INT64 = np.dtype(np.int64)
_BOOL = np.dtype(bool)


def _default_float():
    """PyTorch's default floating dtype (float32)."""
    return _FLOAT32


def _np_dtype(dtype, default):
    return default if dtype is None else _dt.as_dtype(dtype).np_dtype


def _sizes(args, size, name):
    """The size of ``f(2, 3)``, ``f((2, 3))``, ``f([2, 3])``, ``f(size=(2, 3))``, checked as
    PyTorch does (ints only, none negative, a product int64 can hold)."""
    if size is not None:
        if args:
            raise TypeError(f"{name}() got multiple values for argument 'size'")
        args = (size,)
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        args = tuple(args[0])
    sizes = []
    for n in args:
        if isinstance(n, bool) or not hasattr(n, "__index__"):
            raise TypeError(f"{name}(): argument 'size' must be tuple of ints, but found "
                            f"element of type {type(n).__name__}")
        sizes.append(n.__index__())
    for n in sizes:
        if n < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {n}: {sizes}")
    total = 1
    for n in sizes:
        total *= n
    if total >= 2**63:
        raise RuntimeError(f"Storage size calculation overflowed with sizes={sizes}")
    return tuple(sizes)


def _finish(array, requires_grad, device=None):
    _check_device(device)
    t = _wrap(array)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _filled(args, size, value, dtype, requires_grad, device, name, default=None):
    shape = _sizes(args, size, name)
    return _finish(K.full_values(shape, value, _np_dtype(dtype, default or _default_float())),
                   requires_grad, device)


@with_out(factory=True)
def zeros(*size_args: Any, size: Any = None, out: Tensor | None = None, dtype: Any = None,
          layout: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor of zeros, float32 unless ``dtype`` says otherwise."""
    return _filled(size_args, size, 0, dtype, requires_grad, device, "zeros")


@with_out(factory=True)
def ones(*size_args: Any, size: Any = None, out: Tensor | None = None, dtype: Any = None,
         layout: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor of ones, float32 unless ``dtype`` says otherwise."""
    return _filled(size_args, size, 1, dtype, requires_grad, device, "ones")


@with_out(factory=True)
def empty(*size_args: Any, size: Any = None, out: Tensor | None = None, dtype: Any = None,
          layout: Any = None, device: Any = None, requires_grad: bool = False,
          pin_memory: bool = False, memory_format: Any = None) -> Tensor:
    """An uninitialised tensor, as PyTorch's: whatever the memory held (filling it with zeros
    would cost as much as ``zeros``: 30 us at 10^6 elements, against 1.5 for PyTorch's)."""
    shape = _sizes(size_args, size, "empty")
    return _finish(np.empty(shape, _np_dtype(dtype, _default_float())), requires_grad, device)


def _fill_dtype(fill_value):
    """``full``'s dtype when none is given: that of the fill value (bool, int64, float32)."""
    if isinstance(fill_value, Tensor):
        return fill_value._data.dtype if fill_value._data.dtype.kind != "f" else \
            _default_float()
    if isinstance(fill_value, (bool, np.bool_)):
        return _BOOL
    if isinstance(fill_value, numbers.Integral):
        return _INT64
    return _default_float()


def full(size: Any, fill_value: Any, *, out: Tensor | None = None, dtype: Any = None,
         layout: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """A tensor of ``size`` filled with ``fill_value``; its dtype is the fill value's (bool,
    int64, or float32) unless ``dtype`` is given."""
    # out= by hand rather than through with_out: its wrapper is a third of the call at 100
    # elements
    if not isinstance(size, (tuple, list)):
        raise TypeError(f"full(): argument 'size' (position 1) must be tuple of ints, not "
                        f"{type(size).__name__}")
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.item()
    np_dtype = _fill_dtype(fill_value) if dtype is None else _dt.as_dtype(dtype).np_dtype
    fill_value = _fill_value(fill_value, np_dtype)
    shape = _sizes((size,), None, "full")
    result = _finish(K.full_values(shape, fill_value, np_dtype), requires_grad, device)
    return result if out is None else write_out(result, out, "full", factory=True)


def _like(input, value, dtype, requires_grad, device):
    """A new tensor of input's shape filled with ``value`` (None: uninitialised)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"expected a Tensor as input, got {type(input).__name__}")
    np_dtype = input._data.dtype if dtype is None else _dt.as_dtype(dtype).np_dtype
    if value is not None:
        value = _fill_value(value, np_dtype)
    shape = input._data.shape
    return _finish(np.empty(shape, np_dtype) if value is None else
                   K.full_values(shape, value, np_dtype), requires_grad, device)


def zeros_like(input: Tensor, *, dtype: Any = None, layout: Any = None, device: Any = None,
               requires_grad: bool = False, memory_format: Any = None) -> Tensor:
    """Zeros in ``input``'s shape, and in its dtype unless ``dtype`` is given (a new leaf)."""
    return _like(input, 0, dtype, requires_grad, device)


def ones_like(input: Tensor, *, dtype: Any = None, layout: Any = None, device: Any = None,
              requires_grad: bool = False, memory_format: Any = None) -> Tensor:
    """Ones in ``input``'s shape, and in its dtype unless ``dtype`` is given (a new leaf)."""
    return _like(input, 1, dtype, requires_grad, device)


def empty_like(input, *, dtype=None, layout=None, device=None, requires_grad=False,
               memory_format=None):
    """An uninitialised tensor in ``input``'s shape and dtype (see ``empty``)."""
    return _like(input, None, dtype, requires_grad, device)


def full_like(input, fill_value, *, dtype=None, layout=None, device=None, requires_grad=False,
              memory_format=None):
    """``fill_value`` everywhere, in ``input``'s shape, and in its dtype unless ``dtype``
    is given (a new leaf)."""
    return _like(input, fill_value, dtype, requires_grad, device)


@with_out(factory=True)
def _new(self, args, size, value, dtype, requires_grad, device, name):
    np_dtype = self._data.dtype if dtype is None else _dt.as_dtype(dtype).np_dtype
    if value is not None:
        value = _fill_value(value, np_dtype)
    shape = _sizes(args, size, name)
    return _finish(np.empty(shape, np_dtype) if value is None else
                   K.full_values(shape, value, np_dtype), requires_grad, device)


def new_zeros(self, *size_args, size=None, dtype=None, layout=None, device=None,
              requires_grad=False, pin_memory=False):
    """Zeros of the given size, with this tensor's dtype unless ``dtype`` says otherwise."""
    return _new(self, size_args, size, 0, dtype, requires_grad, device, "new_zeros")


def new_ones(self, *size_args, size=None, dtype=None, layout=None, device=None,
             requires_grad=False, pin_memory=False):
    """Ones of the given size, with this tensor's dtype unless ``dtype`` says otherwise."""
    return _new(self, size_args, size, 1, dtype, requires_grad, device, "new_ones")


def new_empty(self, *size_args, size=None, dtype=None, layout=None, device=None,
              requires_grad=False, pin_memory=False):
    """An uninitialised tensor (see ``empty``) with this tensor's dtype."""
    return _new(self, size_args, size, None, dtype, requires_grad, device, "new_empty")


def new_full(self, size, fill_value, *, dtype=None, layout=None, device=None,
             requires_grad=False, pin_memory=False):
    """``fill_value`` everywhere, with this tensor's dtype unless ``dtype`` says otherwise."""
    return _new(self, (size,), None, fill_value, dtype, requires_grad, device, "new_full")


def new_tensor(self, data, *, dtype=None, layout=None, device=None, requires_grad=False,
               pin_memory=False):
    """A copy of ``data`` with this tensor's dtype unless ``dtype`` says otherwise."""
    _check_device(device)
    return tensor(data, dtype=self.dtype if dtype is None else dtype,
                  requires_grad=requires_grad)


def eye(n: int, m: int | None = None, *, out: Tensor | None = None, dtype: Any = None,
        layout: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """The n x m identity matrix (m = n by default)."""
    n = int(n)
    if n < 0:
        raise RuntimeError(f"n must be greater or equal to 0, got {n}")
    if m is not None:
        m = int(m)
        if m < 0:
            raise RuntimeError(f"m must be greater or equal to 0, got {m}")
    return _finish(np.eye(n, m, dtype=_np_dtype(dtype, _default_float())), requires_grad,
                   device)


def _number(value):
    return value.item() if isinstance(value, Tensor) else value


def _is_floating_number(value):
    return isinstance(value, (float, np.floating)) or (
        isinstance(value, Tensor) and value._data.dtype.kind == "f")


@with_out(factory=True)
def arange(start: Any = 0, end: Any = None, step: Any = 1, *, out: Tensor | None = None,
           dtype: Any = None, layout: Any = None, device: Any = None,
           requires_grad: bool = False) -> Tensor:
    """Values in [start, end) by step: int64 when start, end and step are all ints, else
    float32. The count is ceil((end - start) / step) computed in double, and each value is
    start + i * step computed in double, then converted (as PyTorch does)."""
    if end is None:
        start, end = 0, start
    floating = any(_is_floating_number(v) for v in (start, end, step))
    np_dtype = _np_dtype(dtype, _default_float() if floating else _INT64)
    start, end, step = _number(start), _number(end), _number(step)
    if np_dtype.kind in "iub":  # an integer result: PyTorch casts the bounds first
        start, end, step = int(start), int(end), int(step)
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if (end - start) * step < 0 and end != start:
        raise RuntimeError("upper bound and lower bound inconsistent with step sign")
    if isinstance(step, int) and isinstance(start, int) and isinstance(end, int):
        values = np.arange(start, end, step, dtype=np.int64)
        if np_dtype != _INT64:
            values = values.astype(np_dtype)
    else:
        count = math.ceil((float(end) - float(start)) / float(step))
        if not math.isfinite(count) or count >= 2**63:
            raise RuntimeError(f"invalid size, possible overflow? (start={start}, end={end}, "
                               f"step={step})")
        values = K.arange_values(float(start), float(step), max(count, 0), np_dtype)
    return _finish(values, requires_grad, device)


def _spaced(start, end, steps, np_dtype):
    """PyTorch's linspace: the first half counts up from start, the second half down from end
    (so both ends are exact), in the result's dtype (in double for integer results)."""
    steps = int(steps)
    if steps < 0:
        raise RuntimeError("number of steps must be non-negative")
    work = np_dtype if np_dtype.kind == "f" else _FLOAT64
    if np_dtype.kind in "iu":
        start, end = int(start), int(end)
    if steps == 0:
        return np.zeros(0, dtype=work)
    if steps == 1:
        return np.full(1, start, dtype=work)
    return K.spaced(start, end, steps, work)


@with_out(factory=True)
def linspace(start: Any, end: Any, steps: int, *, out: Tensor | None = None,
             dtype: Any = None, layout: Any = None, device: Any = None,
             requires_grad: bool = False) -> Tensor:
    """``steps`` evenly spaced values from start to end, both included (float32 default)."""
    np_dtype = _np_dtype(dtype, _default_float())
    values = _spaced(_number(start), _number(end), _number(steps), np_dtype)
    return _finish(values.astype(np_dtype, copy=False), requires_grad, device)


@with_out(factory=True)
def logspace(start, end, steps, base=10.0, *, out=None, dtype=None, layout=None, device=None,
             requires_grad=False):
    """base ** linspace(start, end, steps) (float32 default; powers computed in double)."""
    np_dtype = _np_dtype(dtype, _default_float())
    start, end, base = _number(start), _number(end), float(base)
    exponents = _spaced(start, end, _number(steps), np_dtype if np_dtype.kind == "f" else
                        _FLOAT64)
    # (np.errstate costs a third of a small call: skipped where every power is finite in
    # np_dtype, so that there is nothing to warn of)
    if 0 < base and abs(math.log(base)) * max(abs(start), abs(end)) < \
            _LOG_LARGEST.get(np_dtype, 0):
        values = np.power(base, exponents, dtype=np.float64).astype(np_dtype, copy=False)
    else:
        with np.errstate(all="ignore"):
            values = np.power(base, exponents, dtype=np.float64).astype(np_dtype, copy=False)
    return _finish(values, requires_grad, device)


_LOG_LARGEST = {np.dtype(t): math.log(float(np.finfo(t).max)) - 1
                for t in (np.float16, np.float32, np.float64)}


def _triangle_indices(name, row, col, offset, dtype, device, lower):
    row, col, offset = int(row), int(col), int(offset)
    if row < 0:
        raise RuntimeError(f"row must be non-negative, got{row}")
    if col < 0:
        raise RuntimeError(f"col must be non-negative, got{col}")
    np_dtype = _np_dtype(dtype, _INT64)
    if np_dtype.kind not in "iu":
        raise RuntimeError(f'"{name}" not implemented for '
                           f"'{_dt.from_numpy_dtype(np_dtype).legacy_name}'")
    return _finish(_triangle(row, col, offset, np_dtype, lower).copy(), False, device)


@functools.lru_cache(maxsize=64)
def _triangle(row, col, offset, np_dtype, lower):
    """The (2, N) indices (cached: masks and causal attention ask for the same ones again;
    callers copy)."""
    # Row i holds columns [0, i + offset] (lower) or [i + offset, col) (upper), clipped:
    # built from counts per row, without numpy's mask-and-nonzero.
    i = np.arange(row, dtype=np.int64)
    if lower:
        first = np.zeros(row, dtype=np.int64)
        last = np.clip(i + offset + 1, 0, col)
    else:
        first = np.clip(i + offset, 0, col)
        last = np.full(row, col, dtype=np.int64)
    counts = np.maximum(last - first, 0)
    total = int(counts.sum())
    out = np.empty((2, total), dtype=np_dtype)
    out[0] = np.repeat(i, counts)
    starts = np.cumsum(counts) - counts
    out[1] = np.arange(total, dtype=np.int64) - np.repeat(starts - first, counts)
    out.flags.writeable = False
    return out


def tril_indices(row, col, offset=0, *, dtype=None, device=None, layout=None):
    """The (2, N) indices of the lower triangle of a row x col matrix (on and below diagonal
    ``offset``), row by row."""
    return _triangle_indices("tril_indices", row, col, offset, dtype, device, True)


def triu_indices(row, col, offset=0, *, dtype=None, device=None, layout=None):
    """The (2, N) indices of the upper triangle of a row x col matrix (on and above diagonal
    ``offset``), row by row."""
    return _triangle_indices("triu_indices", row, col, offset, dtype, device, False)


# =============================================================================================
# Random sampling
# =============================================================================================


class _RangeError(RuntimeError, ValueError):
    """PyTorch raises RuntimeError for an empty ``randint`` range; minigrad's tests have long
    caught it as ValueError, so it is both."""


def _rng(generator):
    if generator is None:
        return _random.default_generator
    if not isinstance(generator, np.random.Generator):
        raise TypeError(f"generator must be a minigrad.Generator, not "
                        f"{type(generator).__name__}")
    return generator


def _float_dtype(dtype, kernel, default=None):
    if dtype is _FLOAT32 or dtype is _FLOAT64:  # a tensor's own dtype, the common case
        return dtype
    np_dtype = _np_dtype(dtype, default if default is not None else _default_float())
    if np_dtype.kind != "f":
        raise NotImplementedError(f'"{kernel}" not implemented for '
                                  f"'{_dt.from_numpy_dtype(np_dtype).legacy_name}'")
    return np_dtype


def _uniform(rng, shape, np_dtype):
    """Uniform on [0, 1) in ``np_dtype`` (numpy draws float32 and float64 natively: the kernel
    makes numpy's own calls, without the Generator method's costs)."""
    if np_dtype in (_FLOAT32, _FLOAT64):
        return K.uniform_fill(rng, np.empty(shape, dtype=np_dtype))
    return rng.random(shape).astype(np_dtype)


def _standard_normal(rng, shape, np_dtype):
    if np_dtype in (_FLOAT32, _FLOAT64):
        return K.normal_fill(rng, np.empty(shape, dtype=np_dtype))
    # float16: drawn in float32, as PyTorch's CPU sampler computes it
    return K.normal_fill(rng, np.empty(shape, dtype=_FLOAT32)).astype(np_dtype)


@with_out(factory=True)
def rand(*size_args: Any, size: Any = None, generator: Any = None, out: Tensor | None = None,
         dtype: Any = None, layout: Any = None, device: Any = None, requires_grad: bool = False,
         pin_memory: bool = False) -> Tensor:
    """Uniform on [0, 1), float32 by default."""
    shape = _sizes(size_args, size, "rand")
    np_dtype = _float_dtype(dtype, "check_uniform_bounds")
    return _finish(_uniform(_rng(generator), shape, np_dtype), requires_grad, device)


@with_out(factory=True)
def randn(*size_args: Any, size: Any = None, generator: Any = None, out: Tensor | None = None,
          dtype: Any = None, layout: Any = None, device: Any = None, requires_grad: bool = False,
          pin_memory: bool = False) -> Tensor:
    """Standard normal, float32 by default."""
    shape = _sizes(size_args, size, "randn")
    np_dtype = _float_dtype(dtype, "normal_kernel_cpu")
    return _finish(_standard_normal(_rng(generator), shape, np_dtype), requires_grad, device)


def _check_range(low, high):
    if low >= high:
        raise _RangeError(f"random_ expects 'from' to be less than 'to', but got from={low} "
                          f">= to={high}")


def _integers(rng, low, high, shape, np_dtype):
    """Integers uniform on [low, high) stored as ``np_dtype``. Ranges up to 2**32 take
    floor(U * n) from a double U (a bias below n / 2**53, and ~10x faster than numpy's
    ``integers`` on small arrays); wider ones use numpy's exact ``integers``."""
    n = high - low
    if n <= 2**32:  # low + min(floor(U * n), n - 1): U * n may round up to n when U is near 1
        filled = np_dtype if np_dtype in (_FLOAT32, _FLOAT64, _INT64) else _INT64
        values = K.integers_fill(rng, np.empty(shape, dtype=filled), low, n)
        return values if filled == np_dtype else values.astype(np_dtype)
    else:
        values = rng.integers(low, high, size=shape, dtype=np.int64)
    return values if np_dtype == _INT64 else values.astype(np_dtype)


@with_out(factory=True)
def randint(low: Any = 0, high: Any = None, size: Any = None, *, generator: Any = None,
            out: Tensor | None = None, dtype: Any = None, layout: Any = None, device: Any = None,
            requires_grad: bool = False) -> Tensor:
    """Integers uniform on [low, high): ``randint(high, size)`` or ``randint(low, high, size)``;
    int64 unless ``dtype`` says otherwise."""
    if size is None:
        if high is None:
            raise TypeError("randint() missing 1 required positional arguments: \"size\"")
        low, high, size = 0, low, high
    elif high is None:
        low, high = 0, low
    low, high = int(_number(low)), int(_number(high))
    _check_range(low, high)
    shape = _sizes((size,), None, "randint")
    np_dtype = _np_dtype(dtype, _INT64)
    return _finish(_integers(_rng(generator), low, high, shape, np_dtype), requires_grad,
                   device)


def randperm(n: int, *, generator: Any = None, out: Tensor | None = None, dtype: Any = None,
             layout: Any = None, device: Any = None, requires_grad: bool = False,
             pin_memory: bool = False) -> Tensor:
    """A random permutation of 0 .. n-1 (int64 unless ``dtype`` says otherwise), by the
    Fisher-Yates shuffle of ``K.permutation``."""
    n = int(n)
    if n < 0:
        raise RuntimeError(f"Trying to create tensor with negative dimension {n}: [{n}]")
    values = K.permutation(_rng(generator), n)
    if dtype is not None:
        values = values.astype(_dt.as_dtype(dtype).np_dtype, copy=False)
    result = _finish(values, requires_grad, device)
    return result if out is None else write_out(result, out, "randperm", factory=True)


def rand_like(input, *, generator=None, dtype=None, layout=None, device=None,
              requires_grad=False, memory_format=None):
    """Samples of U(0, 1) in ``input``'s shape, and in its (floating) dtype unless
    ``dtype`` is given; drawn from ``generator`` or minigrad's global generator."""
    np_dtype = _float_dtype(dtype, "check_uniform_bounds", input._data.dtype)
    return _finish(_uniform(_rng(generator), input._data.shape, np_dtype), requires_grad,
                   device)


def randn_like(input, *, generator=None, dtype=None, layout=None, device=None,
               requires_grad=False, memory_format=None):
    """Samples of N(0, 1) in ``input``'s shape, and in its (floating) dtype unless
    ``dtype`` is given; drawn from ``generator`` or minigrad's global generator."""
    np_dtype = _float_dtype(dtype, "normal_kernel_cpu", input._data.dtype)
    return _finish(_standard_normal(_rng(generator), input._data.shape, np_dtype),
                   requires_grad, device)


def randint_like(input, low=0, high=None, *, generator=None, dtype=None, layout=None,
                 device=None, requires_grad=False, memory_format=None):
    """Integers uniform on [low, high) in input's shape and dtype: ``randint_like(x, high)`` or
    ``randint_like(x, low, high)``."""
    if high is None:
        low, high = 0, low
    low, high = int(_number(low)), int(_number(high))
    _check_range(low, high)
    np_dtype = input._data.dtype if dtype is None else _dt.as_dtype(dtype).np_dtype
    return _finish(_integers(_rng(generator), low, high, input._data.shape, np_dtype),
                   requires_grad, device)


def _sample(params, draw):
    """A sample drawn from ``draw(*arrays)``: recorded (with zero gradients for the tensor
    parameters, as PyTorch's) when a parameter requires grad."""
    if _grad_on() and any(isinstance(p, Tensor) and p._requires_grad for p in params):
        return Sample.apply(*params, draw=draw)
    return _wrap(draw(*[p._data if isinstance(p, Tensor) else p for p in params]))


def _check_std(std):
    if isinstance(std, Tensor):
        if (std._data < 0).any():
            raise RuntimeError("normal expects all elements of std >= 0.0")
    elif std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std}")


@with_out(factory=True)
def normal(mean, std=1.0, size=None, *, generator=None, out=None, dtype=None, layout=None,
           device=None, pin_memory=False, requires_grad=False):
    """Normal samples, in four forms: ``normal(mean_tensor, std_tensor)`` (broadcast),
    ``normal(mean_tensor, std=1.0)``, ``normal(mean, std_tensor)``, and
    ``normal(mean, std, size)`` with numbers (float32 unless ``dtype`` says otherwise). The
    dtype of a tensor form is the mean's (or the std's if mean is a number)."""
    rng = _rng(generator)
    mean_t, std_t = isinstance(mean, Tensor), isinstance(std, Tensor)
    if not mean_t and not std_t:
        if size is None:
            raise TypeError("normal() received an invalid combination of arguments - got "
                            "(float, float): a size is needed when mean and std are numbers")
        shape = _sizes((size,), None, "normal")
        _check_std(std)
        np_dtype = _float_dtype(dtype, "normal_kernel_cpu")
        values = _standard_normal(rng, shape, np_dtype)
        if std != 1.0:
            values *= np_dtype.type(std)
        if mean != 0.0:
            values += np_dtype.type(mean)
        return _finish(values, requires_grad, device)
    if size is not None:
        raise TypeError("normal() received an invalid combination of arguments: size is only "
                        "taken when mean and std are both numbers")
    np_dtype = (mean if mean_t else std)._data.dtype
    _float_dtype(np_dtype, "normal_kernel_cpu")
    _check_std(std)
    shape = np.broadcast_shapes(np.shape(mean._data if mean_t else mean),
                                np.shape(std._data if std_t else std)) \
        if _broadcastable(np.shape(mean._data if mean_t else mean),
                          np.shape(std._data if std_t else std)) else None
    if shape is None:
        raise RuntimeError(f"The size of tensor a ({mean.shape}) must match the size of tensor "
                           f"b ({std.shape})")

    def draw(m, s):
        values = _standard_normal(rng, shape, np_dtype)
        values *= np.asarray(s, dtype=np_dtype)
        values += np.asarray(m, dtype=np_dtype)
        return values

    return _sample((mean, std), draw)


def _check_probabilities(p):
    if not ((p >= 0) & (p <= 1)).all():
        raise RuntimeError("Expected p_in >= 0 && p_in <= 1 to be true, but got false.")


def bernoulli(input, p=None, *, generator=None, out=None):
    """0/1 samples in input's shape and dtype: 1 with probability ``input`` (element by
    element), or with probability ``p`` (a number) when given."""
    rng = _rng(generator)
    np_dtype = input._data.dtype
    if p is not None:
        if not 0 <= p <= 1:
            raise RuntimeError(f"bernoulli_ expects p to be in [0, 1], but got p={p}")
        result = _sample((input,), lambda x: (rng.random(x.shape) < p).astype(np_dtype))
    elif np_dtype.kind != "f":
        raise NotImplementedError(f'"bernoulli_tensor_cpu_p_" not implemented for '
                                  f"'{_dt.from_numpy_dtype(np_dtype).legacy_name}'")
    elif not (input._requires_grad and _grad_on()):
        # the kernel checks the probabilities before it draws: None if one is not in [0, 1]
        values = K.bernoulli_sample(rng, input._data)
        if values is None:
            _check_probabilities(input._data)
        result = _wrap(values)
    else:
        _check_probabilities(input._data)
        result = _sample((input,), lambda x: K.bernoulli_sample(rng, x))
    # out= by hand rather than through with_out: its wrapper is a fifth of the call at 100
    return result if out is None else write_out(result, out, "bernoulli")


def poisson(input, generator=None):
    """Poisson samples with rates ``input`` (input's shape and dtype)."""
    np_dtype = input._data.dtype
    if np_dtype.kind != "f":
        raise NotImplementedError(f'"poisson_cpu" not implemented for '
                                  f"'{_dt.from_numpy_dtype(np_dtype).legacy_name}'")
    if (input._data < 0).any():
        raise RuntimeError("invalid Poisson rate, expected rate to be non-negative")
    rng = _rng(generator)
    return _sample((input,), lambda x: K.poisson_sample(rng, x))


def _check_weights(weights):
    """Raise PyTorch's error for rows of multinomial weights (rows, categories) in float64
    that are not finite and non-negative with a positive sum."""
    if not np.isfinite(weights).all() or (weights < 0).any():
        raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
    if (weights.sum(axis=1) <= 0).any():
        raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")


def multinomial(input, num_samples, replacement=False, *, generator=None, out=None):
    """Category indices (int64) drawn from each row of ``input`` (1-D or 2-D, non-negative
    weights, not necessarily normalised): ``num_samples`` per row, with or without
    replacement. With replacement, by the inverse CDF (``K.multinomial_with_replacement``);
    without, the draws are sequential (each drawn category leaves the pool), done at once by
    the exponential race: the categories with the smallest Exponential(1) / weight
    (``K.multinomial_without_replacement``). Both kernels check the weights before drawing
    and return None if they are invalid; the errors are raised here."""
    data = input._data
    if data.dtype.kind != "f":
        raise RuntimeError(f"multinomial only supports floating-point dtypes for input, got: "
                           f"{_dt.from_numpy_dtype(data.dtype).legacy_name}")
    if data.ndim not in (1, 2):
        raise RuntimeError("prob_dist must be 1 or 2 dim")
    num_samples = int(num_samples)
    if num_samples <= 0:
        raise RuntimeError("cannot sample n_sample <= 0 samples")
    categories = data.shape[-1]
    if not replacement and num_samples > categories:
        raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without "
                           "replacement")
    rng = _rng(generator)
    if replacement:
        # the kernel checks the weights before it draws: None if they are invalid
        result = K.multinomial_with_replacement(
            rng, data if data.ndim == 2 else data.reshape(1, categories), num_samples)
        if result is None:
            _check_weights(np.asarray(data, dtype=np.float64).reshape(-1, categories))
    else:
        result = K.multinomial_without_replacement(
            rng, data if data.ndim == 2 else data.reshape(1, categories), num_samples)
        if result is None:
            weights = np.asarray(data, dtype=np.float64).reshape(-1, categories)
            _check_weights(weights)
            raise RuntimeError("invalid multinomial distribution (with replacement=False, "
                               "not enough non-negative category to sample)")
    result = _wrap(result.reshape(num_samples) if data.ndim == 1 else result)
    # out= by hand rather than through with_out: its wrapper costs a microsecond
    return result if out is None else write_out(result, out, "multinomial")


# ----- in-place samplers (Tensor methods) -----------------------------------------------------


def _fill_random(self, draw, operands=()):
    """self <- a sample (``draw(shape, np_dtype)`` gives its values), in place; when self or
    an operand is in a graph the change is recorded, with zero gradients."""
    data = self._data

    def fast():
        data[...] = draw(data.shape, data.dtype)

    def compute(x):
        return Sample.apply(x, *operands, draw=lambda *_: draw(data.shape, data.dtype))

    return self._inplace(compute, operands, fast, "unsafe")


def _direct_target(self):
    """self's array if an in-place sampler may write its sample straight into it, without the
    machinery of ``_inplace``, else None: a float32/float64 tensor outside any graph (it does
    not require grad, so nothing is recorded and no check applies), C-contiguous and writable.
    The sampler then calls ``_record_change``."""
    data = self._data
    np_dtype = data.dtype
    if self._requires_grad or (np_dtype is not _FLOAT32 and np_dtype is not _FLOAT64):
        return None  # (a native float32 array's dtype is numpy's one float32 instance)
    flags = data.flags
    if not (flags.c_contiguous and flags.writeable):
        return None
    return data


def _record_change(self, data):
    """Bump the version of the memory a direct fill wrote (``.data`` aliases excepted)."""
    if not getattr(self, "_untracked", False):
        _graph.bump(data)


def _legacy(np_dtype):
    return _dt.from_numpy_dtype(np_dtype).legacy_name


def normal_(self, mean=0, std=1, *, generator=None):
    """Fill with samples of N(mean, std^2)."""
    # numbers, std not negative (a negative one goes on to the checks, which raise)
    if type(mean) in (int, float) and type(std) in (int, float) and not std < 0:
        data = _direct_target(self)
        if data is not None:  # (_rng and _record_change inline: 0.1 us of about 1)
            K.normal_fill(_random.default_generator if generator is None else _rng(generator),
                          data, mean, std)
            if not getattr(self, "_untracked", False):
                _graph.bump(data)
            return self
    _float_dtype(self._data.dtype, "normal_kernel_cpu")
    _check_std(std)
    rng = _rng(generator)

    def draw(shape, np_dtype):
        values = _standard_normal(rng, shape, np_dtype)
        if std != 1:
            values *= np_dtype.type(std)
        if mean != 0:
            values += np_dtype.type(mean)
        return values

    return _fill_random(self, draw)


def uniform_(self, *args, generator=None, **kwargs):
    """``uniform_(from=0, to=1)``: fill with samples uniform on [from, to)."""
    if len(args) == 2 and not kwargs:
        low, high = args
    else:
        low, high = _two_args("uniform_", args, kwargs, ("from", "to"), (0, 1))
    _float_dtype(self._data.dtype, "check_uniform_bounds")
    if low > high:
        raise RuntimeError(f"uniform_ expects to return a [from, to) range, but found "
                           f"from={low} > to={high}")
    rng = _rng(generator)
    data = _direct_target(self)
    if data is not None:
        if low == 0 and high == 1:
            K.uniform_fill(rng, data)
        else:
            K.uniform_range_fill(rng, data, low, high)
        _record_change(self, data)
        return self
    return _fill_random(self, lambda shape, dt: (_uniform(rng, shape, dt) * dt.type(high - low)
                                                 + dt.type(low)))


def _two_args(name, args, kwargs, names, defaults):
    values = list(defaults)
    if len(args) > 2:
        raise TypeError(f"{name}() takes at most 2 arguments ({len(args)} given)")
    values[:len(args)] = args
    for key, value in kwargs.items():
        if key not in names:
            raise TypeError(f"{name}() got an unexpected keyword argument '{key}'")
        values[names.index(key)] = value
    return values


def random_(self, *args, generator=None, **kwargs):
    """``random_(to)``, ``random_(from, to)``: fill with integers uniform on [from, to); with
    no bounds, on [0, the largest integer the dtype holds exactly] (2**24 for float32, 2**53
    for float64, the dtype's maximum for integers, {0, 1} for bool)."""
    np_dtype = self._data.dtype
    if kwargs or not 1 <= len(args) <= 2:
        low, high = _two_args("random_", args, kwargs, ("from", "to"), (0, None))
    elif len(args) == 2:
        low, high = args
    else:
        low, high = 0, args[0]
    if high is None:
        high = _integer_range(np_dtype)[1] + 1
    low, high = int(low), int(high)
    _check_range(low, high)
    if np_dtype.kind in "iu":
        lowest, highest = _integer_range(np_dtype)
        if high - 1 > highest or low < lowest:
            raise RuntimeError(f"to - 1 is out of bounds for {np_dtype.name}")
    rng = _rng(generator)
    data = _direct_target(self) if high - low <= 2**32 else None
    if data is not None:
        K.integers_fill(rng, data, low, high - low)
        _record_change(self, data)
        return self
    return _fill_random(self, lambda shape, dt: _integers(rng, low, high, shape, dt))


@functools.cache
def _integer_range(np_dtype):
    """The integers ``np_dtype`` holds exactly: [0, 2**24] for float32, [0, 2**53] for
    float64, {0, 1} for bool, the dtype's range for integers."""
    if np_dtype.kind == "f":
        return 0, 2 ** (np.finfo(np_dtype).nmant + 1)
    if np_dtype.kind == "b":
        return 0, 1
    info = np.iinfo(np_dtype)
    return int(info.min), int(info.max)


def exponential_(self, lambd=1, *, generator=None):
    """Fill with samples of the exponential distribution of rate ``lambd``."""
    if self._data.dtype.kind != "f":
        raise RuntimeError(f"Exponential distribution is a continuous probability "
                           f"distribution. dtype must be a floating point but you specified "
                           f"{_legacy(self._data.dtype)}")
    if not lambd > 0:
        raise RuntimeError(f"exponential_ expects lambda > 0.0, but found lambda={lambd}")
    rng = _rng(generator)
    data = _direct_target(self)
    if data is not None:
        K.exponential_fill(rng, data)
        if lambd != 1:
            data /= data.dtype.type(lambd)
        _record_change(self, data)
        return self

    def draw(shape, dt):
        values = rng.standard_exponential(shape, dtype=dt) if dt in (_FLOAT32, _FLOAT64) else \
            rng.standard_exponential(shape).astype(dt)
        values /= dt.type(lambd)
        return values

    return _fill_random(self, draw)


def geometric_(self, p, *, generator=None):
    """Fill with the number of Bernoulli(p) trials up to the first success (1, 2, ...)."""
    if not 0 < p < 1:
        raise RuntimeError(f"geometric_ expects p to be in (0, 1), but got p={p}")
    rng = _rng(generator)
    return _fill_random(self, lambda shape, dt: rng.geometric(p, shape).astype(dt))


def cauchy_(self, median=0, sigma=1, *, generator=None):
    """Fill with samples of the Cauchy distribution (location ``median``, scale ``sigma``)."""
    if self._data.dtype.kind != "f":
        raise RuntimeError(f"Cauchy distribution is a continuous probability distribution. "
                           f"dtype must be a floating point but you specified "
                           f"{self._data.dtype.name}")
    if not sigma > 0:
        raise RuntimeError(f"cauchy_ expects sigma > 0.0, but found sigma={sigma}")
    rng = _rng(generator)
    return _fill_random(self, lambda shape, dt: (median + sigma * rng.standard_cauchy(shape)
                                                 ).astype(dt))


def log_normal_(self, mean=1, std=2, *, generator=None):
    """Fill with exp(N(mean, std^2)) samples."""
    _float_dtype(self._data.dtype, "log_normal_cpu")
    if not std > 0:
        raise RuntimeError(f"log_normal_ expects std > 0.0, but found std={std}")
    rng = _rng(generator)
    return _fill_random(self, lambda shape, dt: np.exp(
        mean + std * _standard_normal(rng, shape, _FLOAT64)).astype(dt))


def bernoulli_(self, p=0.5, *, generator=None):
    """Fill with 0/1 samples, 1 with probability ``p`` (a number, or a tensor broadcast to
    self's shape)."""
    rng = _rng(generator)
    if isinstance(p, Tensor):
        shape = self._data.shape
        if not _broadcastable(p._data.shape, shape) or \
                np.broadcast_shapes(p._data.shape, shape) != shape:
            raise RuntimeError(f"The expanded size of the tensor ({list(shape)}) must match "
                               f"the existing size ({list(p._data.shape)}) at non-singleton "
                               f"dimension.  Target sizes: {list(shape)}.  Tensor sizes: "
                               f"{list(p._data.shape)}")
        _check_probabilities(p._data)
        probabilities = p._data
        return _fill_random(self, lambda s, dt: (rng.random(s) < probabilities).astype(dt))
    if not 0 <= p <= 1:
        raise RuntimeError(f"bernoulli_ expects p to be in [0, 1], but got p={p}")
    data = _direct_target(self)
    if data is not None:
        K.bernoulli_fill(rng, data, p)
        _record_change(self, data)
        return self
    return _fill_random(self, lambda s, dt: (rng.random(s) < p).astype(dt))


_ = (Generator, default_generator, get_rng_state, set_rng_state, as_tensor, from_numpy, tensor)
