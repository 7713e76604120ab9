"""Collation: a list of samples -> one batch (``default_collate``), and a single sample ->
Tensors (``default_convert``), with PyTorch's rules, type by type.

``collate(batch, collate_fn_map=...)`` is the general walk over containers (dicts, namedtuples,
tuples, lists) that hands the leaves to a per-type function from ``collate_fn_map``;
``default_collate`` is ``collate`` with ``default_collate_fn_map``. To collate a type of your
own, copy the map, add ``{YourType: fn}`` and call ``collate`` with it, as in PyTorch.
"""
import collections.abc
import copy
import re

import numpy as np

from ... import dtypes
from ...autograd import is_grad_enabled
from ...tensor import Tensor, as_tensor, from_numpy, tensor

__all__ = ["collate", "default_collate", "default_collate_fn_map", "default_convert"]

# numpy dtype strings ('<U3', '|S5', '|O', ...) of strings and objects: arrays that are not
# numbers, which PyTorch leaves alone in default_convert and refuses in default_collate.
np_str_obj_array_pattern = re.compile(r"[SaUO]")

default_collate_err_msg_format = ("default_collate: batch must contain tensors, numpy arrays, "
                                  "numbers, dicts or lists; found {}")


def default_convert(data):
    """Turn the numpy arrays and numpy scalars inside one sample into Tensors, leaving the
    rest as it is; what a ``DataLoader`` with ``batch_size=None`` applies to each sample.

    Mappings keep their type (a copy with converted values), namedtuples stay namedtuples,
    tuples become lists (PyTorch's rule), other sequences keep their type; numpy arrays of
    strings or objects are left unchanged.
    """
    elem_type = type(data)
    if isinstance(data, Tensor):
        return data
    if elem_type.__module__ == "numpy" and elem_type.__name__ not in ("str_", "string_"):
        if (elem_type.__name__ == "ndarray"
                and np_str_obj_array_pattern.search(data.dtype.str) is not None):
            return data
        return as_tensor(data)
    if isinstance(data, collections.abc.Mapping):
        try:
            if isinstance(data, collections.abc.MutableMapping):
                clone = copy.copy(data)  # keeps the mapping's type and its other state
                clone.update({key: default_convert(data[key]) for key in data})
                return clone
            return elem_type({key: default_convert(data[key]) for key in data})
        except TypeError:  # a Mapping type that cannot be built from a dict
            return {key: default_convert(data[key]) for key in data}
    if isinstance(data, tuple) and hasattr(data, "_fields"):  # namedtuple
        return elem_type(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, (str, bytes)):
        try:
            if isinstance(data, collections.abc.MutableSequence):
                clone = copy.copy(data)
                for i, d in enumerate(data):
                    clone[i] = default_convert(d)
                return clone
            return elem_type([default_convert(d) for d in data])
        except TypeError:
            return [default_convert(d) for d in data]
    return data


def collate(batch, *, collate_fn_map=None):
    """Collate ``batch`` (a list of samples of one structure) field by field.

    The first sample decides: if its type (or, in the map's order, a base class of it) is in
    ``collate_fn_map``, that function makes the batch; otherwise mappings collate per key,
    namedtuples per field, and other sequences per position (all samples must have the same
    length). Tuples give lists; other sequences and mappings keep their type.

    Raises TypeError for a leaf type the map does not know, RuntimeError for sequences of
    different lengths, IndexError for an empty batch (PyTorch's errors).
    """
    elem = batch[0]
    elem_type = type(elem)
    if collate_fn_map is not None:
        if elem_type in collate_fn_map:
            return collate_fn_map[elem_type](batch, collate_fn_map=collate_fn_map)
        for collate_type in collate_fn_map:
            if isinstance(elem, collate_type):
                return collate_fn_map[collate_type](batch, collate_fn_map=collate_fn_map)
    if isinstance(elem, collections.abc.Mapping):
        collated = {key: collate([d[key] for d in batch], collate_fn_map=collate_fn_map)
                    for key in elem}
        try:
            if isinstance(elem, collections.abc.MutableMapping):
                clone = copy.copy(elem)
                clone.update(collated)
                return clone
            return elem_type(collated)
        except TypeError:
            return collated
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # namedtuple
        # Each field's samples go on as the tuple zip makes (strings stay a tuple), as in
        # PyTorch.
        return elem_type(*(collate(samples, collate_fn_map=collate_fn_map)
                           for samples in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        size = len(elem)
        if any(len(sample) != size for sample in batch):
            raise RuntimeError("each element in list of batch should be of equal size")
        columns = [collate(samples, collate_fn_map=collate_fn_map) for samples in zip(*batch)]
        if isinstance(elem, tuple):
            return columns
        try:
            if isinstance(elem, collections.abc.MutableSequence):
                clone = copy.copy(elem)
                for i, column in enumerate(columns):
                    clone[i] = column
                return clone
            return elem_type(columns)
        except TypeError:
            return columns
    raise TypeError(default_collate_err_msg_format.format(elem_type))


def collate_tensor_fn(batch, *, collate_fn_map=None):
    """Tensors of one shape -> one Tensor ``(B, *shape)``, dtypes promoted as ``stack`` does.

    A plain numpy stack (a fresh array, never aliasing the samples) unless grad mode is on and
    a sample requires grad: then the differentiable ``stack``, so the batch carries gradient.
    """
    elem = batch[0]
    shape = elem.shape
    for i, t in enumerate(batch):
        if t.shape != shape:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got "
                               f"{list(shape)} at entry 0 and {list(t.shape)} at entry {i}")
    if is_grad_enabled() and any(t.requires_grad for t in batch):
        from ...tensor import stack  # the differentiable op, only when a graph is wanted
        return stack(batch, 0)
    arrays = [t._data for t in batch]
    dtype = arrays[0].dtype
    for array in arrays[1:]:
        if array.dtype != dtype:
            dtype = dtypes.result_type(np.empty(1, dtype), array)
    return from_numpy(np.stack(arrays).astype(dtype, copy=False))


def collate_numpy_array_fn(batch, *, collate_fn_map=None):
    """numpy arrays -> Tensors, then stacked as Tensors; arrays of strings/objects refused."""
    elem = batch[0]
    if np_str_obj_array_pattern.search(elem.dtype.str) is not None:
        raise TypeError(default_collate_err_msg_format.format(elem.dtype))
    return collate([as_tensor(b) for b in batch], collate_fn_map=collate_fn_map)


def collate_numpy_scalar_fn(batch, *, collate_fn_map=None):
    """numpy scalars -> a 1-D Tensor of their (promoted) dtype."""
    return as_tensor(np.array(batch))


def collate_float_fn(batch, *, collate_fn_map=None):
    """Python floats -> float64 (PyTorch's rule: not the default float32)."""
    return from_numpy(np.array(batch, dtype=np.float64))


def collate_int_fn(batch, *, collate_fn_map=None):
    """Python ints -> int64; all bools -> bool; ints mixed with floats -> float32 (what
    ``torch.tensor(batch)`` infers)."""
    return tensor(batch)


def collate_str_fn(batch, *, collate_fn_map=None):
    """Strings and bytes stay as they came: the list of them (a tuple inside a sequence or
    namedtuple sample, where the batch is a column of the samples)."""
    return batch


# Checked in this order (after an exact type match): Tensor before numpy, numpy scalars
# (np.float64 is also a float) before Python numbers, bool handled as an int.
default_collate_fn_map = {
    Tensor: collate_tensor_fn,
    np.ndarray: collate_numpy_array_fn,
    (np.bool_, np.number, np.object_): collate_numpy_scalar_fn,
    float: collate_float_fn,
    int: collate_int_fn,
    str: collate_str_fn,
    bytes: collate_str_fn,
}


def default_collate(batch):
    """Merge a list of samples into a batch with an outer dimension of size ``len(batch)``,
    as ``torch.utils.data.default_collate`` does:

    - Tensors (and numpy arrays) of one shape ``S`` -> one Tensor of shape ``(B, *S)``;
    - Python floats -> float64; Python ints -> int64; bools -> bool; numpy scalars -> their
      dtype;
    - strings and bytes -> the list of them;
    - mappings -> the same mapping type of collated values per key; namedtuples stay
      namedtuples; tuples and lists (samples like ``(x, y)``) -> one collated batch per
      position (tuples give a list).
    """
    return collate(batch, collate_fn_map=default_collate_fn_map)
