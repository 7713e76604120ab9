"""Zero-copy interchange with numpy, PyTorch and any other DLPack library.

DLPack is the array-interchange protocol of the Python array API: a producer's
``__dlpack__()`` returns a capsule describing its memory (pointer, dtype, shape, strides,
device) and ``__dlpack_device__()`` says where that memory lives; a consumer such as
``torch.from_dlpack(x)`` or ``np.from_dlpack(x)`` wraps the same memory without copying.
A minigrad tensor's storage is a numpy array, so minigrad exports and imports through numpy's
own DLPack support (numpy >= 1.25) rather than writing capsules itself::

    t = mg.ones(3)
    p = torch.from_dlpack(t)        # shares memory: p[0] = 5 is seen as t[0] == 5
    u = mg.from_dlpack(p)           # and back: a minigrad tensor on the same memory
    w = mg.as_tensor(p)             # the same, as torch.as_tensor(numpy_array) shares memory

PyTorch's rules are kept: a tensor that requires grad is not exported (BufferError, "use
tensor.detach()"), since the consumer would write into it behind autograd's back.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from . import dtypes as _dt
from .tensor import Tensor, _check_device, _wrap, from_numpy, tensor

__all__ = ["as_tensor", "from_dlpack"]

KDLCPU = 1  # DLDeviceType.kDLCPU: the only device a minigrad tensor lives on
CPU_DEVICE = (KDLCPU, 0)

# numpy 2.1 added max_version/dl_device/copy to ndarray.__dlpack__ and device/copy to
# np.from_dlpack (versioned capsules, read-only flag); older numpy takes only ``stream``.
_NUMPY_HAS_VERSIONED_DLPACK = np.lib.NumpyVersion(np.__version__) >= "2.1.0"


def dlpack_capsule(t: Tensor, *, stream: Any = None, max_version: tuple[int, int] | None = None,
                   dl_device: tuple[int, int] | None = None, copy: bool | None = None) -> Any:
    """``Tensor.__dlpack__``: a DLPack capsule for ``t``'s memory (a copy's, if ``copy``)."""
    if t.requires_grad:
        raise BufferError("Can't export tensors that require gradient, use tensor.detach()")
    if stream is not None and stream != -1:
        # -1 is PyTorch's "no stream" default; a CPU array has no streams to synchronise.
        raise BufferError(f"stream={stream!r} given for a CPU tensor: only None is supported")
    if dl_device is not None and tuple(int(v) for v in dl_device) != CPU_DEVICE:
        raise BufferError(f"cannot export a CPU tensor to DLPack device {tuple(dl_device)}: "
                          f"minigrad tensors live on the CPU {CPU_DEVICE}")
    array = t._data
    if any(stride < 0 for stride in array.strides):
        # DLPack allows negative strides, but PyTorch aborts the process on them (its tensors
        # never have any): export a copy, as the array API's copy=None ("if needed") allows.
        if copy is False:
            raise BufferError(f"cannot export a tensor with negative strides {array.strides} "
                              f"without a copy (copy=False)")
        copy = True
    if copy:
        array = array.copy()
    if _NUMPY_HAS_VERSIONED_DLPACK and max_version is not None:
        return array.__dlpack__(max_version=max_version)
    # A consumer that asks for a versioned capsule accepts the older unversioned one.
    return array.__dlpack__()


class _Capsule:
    """Lets ``np.from_dlpack`` consume a bare capsule (``torch.utils.dlpack.to_dlpack(x)``),
    which ``torch.from_dlpack`` accepts too."""

    def __init__(self, capsule: Any) -> None:
        self.capsule = capsule

    def __dlpack__(self, **kwargs: Any) -> Any:
        return self.capsule

    def __dlpack_device__(self) -> tuple[int, int]:
        return CPU_DEVICE


def _is_capsule(obj: Any) -> bool:
    return type(obj).__name__ == "PyCapsule"


def from_dlpack(ext_tensor: Any, *, device: Any = None, copy: bool | None = None) -> Tensor:
    """A minigrad tensor on the memory of ``ext_tensor``, any object with ``__dlpack__`` and
    ``__dlpack_device__`` (a torch tensor, a numpy array, a minigrad tensor, ...) or a DLPack
    capsule. No copy unless ``copy=True`` (as ``torch.from_dlpack``); writes through either are
    seen by the other. Memory on a device other than the CPU raises BufferError (numpy's)."""
    if device is not None:
        _check_device(device)
    if _is_capsule(ext_tensor):
        if copy is not None:
            raise AssertionError(
                "device and copy kwargs not supported when ext_tensor is already a DLPack "
                "capsule.")
        ext_tensor = _Capsule(ext_tensor)
    elif not hasattr(ext_tensor, "__dlpack__"):
        raise TypeError(f"from_dlpack: expected an object with __dlpack__ or a DLPack capsule, "
                        f"got {type(ext_tensor).__name__}")
    if _NUMPY_HAS_VERSIONED_DLPACK:
        array = np.from_dlpack(ext_tensor, copy=copy)
    else:
        array = np.from_dlpack(ext_tensor)
        if copy:
            array = array.copy()
    return from_numpy(array)


def to_numpy(value: Any) -> np.ndarray | None:
    """The values of a foreign array as a numpy array, sharing memory when possible: through
    DLPack, else ``__array__``; None if ``value`` offers neither. A torch tensor that requires
    grad refuses both protocols, so it is detached first (as ``load_state_dict`` copies
    parameters whatever their ``requires_grad``)."""
    if isinstance(value, Tensor):
        return value._data
    if isinstance(value, np.ndarray):
        return value
    if hasattr(value, "__dlpack__") and hasattr(value, "__dlpack_device__"):
        if getattr(value, "requires_grad", False) and hasattr(value, "detach"):
            value = value.detach()
        try:
            return np.from_dlpack(value)
        except (BufferError, TypeError, RuntimeError):
            pass  # a dtype numpy lacks (bfloat16), another device, ...: try __array__
    if hasattr(value, "__array__"):
        if getattr(value, "requires_grad", False) and hasattr(value, "detach"):
            value = value.detach()
        return np.asarray(value)
    return None


def as_tensor(data: Any, dtype: Any = None, device: Any = None) -> Tensor:
    """``data`` as a tensor, sharing its memory when it already is one of the right dtype
    (as ``torch.as_tensor``): a minigrad tensor is returned as it is (or ``.to(dtype)``, which
    autograd records), a numpy array or any DLPack object (a torch tensor) is wrapped without a
    copy; anything else (lists, scalars, other dtypes) is copied as by ``mg.tensor``."""
    if device is not None:
        _check_device(device)
    if isinstance(data, Tensor):
        return data if dtype is None else data.to(_dt.as_dtype(dtype))
    array = None
    if isinstance(data, np.ndarray):
        array = data
    elif hasattr(data, "__dlpack__") and hasattr(data, "__dlpack_device__"):
        try:
            array = np.from_dlpack(data)
        except (BufferError, TypeError, RuntimeError):
            array = None  # e.g. a torch tensor that requires grad: copied below
    if (array is not None and array.dtype.isnative and _supported(array.dtype)
            and (dtype is None or _dt.as_dtype(dtype).np_dtype == array.dtype)):
        return _wrap(array)
    if array is None:
        array = to_numpy(data)  # None for lists and Python scalars
    return tensor(data if array is None else array, dtype=dtype)


def _supported(np_dtype: np.dtype) -> bool:
    try:
        _dt.as_dtype(np_dtype)
    except (TypeError, ValueError, KeyError):
        return False
    return True
