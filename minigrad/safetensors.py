"""safetensors files: ``save_file(tensors, filename, metadata=None)`` and ``load_file(filename)``.

safetensors is the weights format of the Hugging Face hub, read by PyTorch
(``safetensors.torch.load_file``), numpy, JAX and others; these two functions carry the names
of the ``safetensors`` package's API and write and read the format with no dependency::

    8 bytes    N, the header's length, an unsigned 64-bit little-endian integer
    N bytes    a JSON object (UTF-8), padded with spaces to a multiple of 8 bytes:
                   {"__metadata__": {"format": "pt"},                 (optional, str -> str)
                    "fc.weight": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]},
                    ...}
    the rest   the tensors' bytes, little-endian, C order; data_offsets are [begin, end) in
               this buffer, which the tensors tile exactly: no gaps, no overlaps, no slack.

Like ``mg.load``, ``load_file`` reads numbers only, never code, and accepts only a well-formed
file: a header of at most ``MAX_HEADER_BYTES`` that fits in the file and parses as a JSON
object without duplicate keys; for each tensor exactly the keys dtype, shape and data_offsets,
a dtype minigrad has (``DTYPES``; BF16, unsigned 16/32/64-bit and float8 are refused), a shape
of non-negative integers whose byte size equals its offsets' span, offsets that tile the
buffer; a ``__metadata__`` of strings only. Anything else raises ``mg.CheckpointError`` naming
the file, before any tensor memory is allocated. ``save_file`` writes atomically, as
``mg.save`` does.
"""
from __future__ import annotations

import json
import math
import os
import stat
from collections.abc import Mapping
from typing import IO, Any, Callable, NoReturn

import numpy as np

from .interop import to_numpy
from .serialization import CheckpointError, write_atomically
from .tensor import Tensor, _wrap

__all__ = ["load_file", "load_metadata", "load_model", "save_file", "save_model"]

# safetensors' names for the dtypes minigrad has (the format's others are refused).
DTYPES = {
    "BOOL": np.dtype(np.bool_), "U8": np.dtype(np.uint8), "I8": np.dtype(np.int8),
    "I16": np.dtype(np.int16), "I32": np.dtype(np.int32), "I64": np.dtype(np.int64),
    "F16": np.dtype(np.float16), "F32": np.dtype(np.float32), "F64": np.dtype(np.float64),
}
_NAMES = {dtype: name for name, dtype in DTYPES.items()}
MAX_HEADER_BYTES = 100_000_000  # the safetensors package's own limit
_METADATA = "__metadata__"
_ALIGNMENT = 8  # the header is padded so that the data starts 8-byte aligned


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------

def _tensor_array(name: str, value: Any) -> np.ndarray:
    if not isinstance(name, str):
        raise TypeError(f"save_file: tensor names must be str, got {type(name).__name__} "
                        f"({name!r})")
    if name == _METADATA:
        raise ValueError(f"save_file: {_METADATA!r} is reserved for the metadata; it cannot "
                         f"name a tensor")
    array = to_numpy(value)
    if array is None:
        raise TypeError(f"save_file: tensors[{name!r}] is a {type(value).__name__}, not a "
                        f"Tensor or an array")
    native = array.dtype.newbyteorder("=")
    if native not in _NAMES:
        raise TypeError(f"save_file: tensors[{name!r}] has dtype {array.dtype}, which "
                        f"safetensors files written by minigrad do not hold (they hold "
                        f"{', '.join(str(d) for d in _NAMES)})")
    # Little-endian, C order: the format's layout, whatever the array's.
    return np.asarray(array, dtype=native.newbyteorder("<"), order="C")


def _check_metadata(metadata: Any) -> dict[str, str]:
    if metadata is None:
        return {}
    if not isinstance(metadata, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
        raise TypeError("save_file: metadata must be a dict of str keys to str values, got "
                        f"{metadata!r}")
    return dict(metadata)


def _encode(tensors: Mapping[str, Any], metadata: Mapping[str, str] | None
            ) -> tuple[bytes, list[np.ndarray]]:
    if not isinstance(tensors, Mapping):
        raise TypeError(f"save_file: tensors must be a dict of names to Tensors, got "
                        f"{type(tensors).__name__}")
    meta = _check_metadata(metadata)
    arrays = {name: _tensor_array(name, value) for name, value in tensors.items()}
    # Widest dtypes first, then by name (the safetensors package's order): every tensor then
    # starts at a multiple of its item size.
    order = sorted(arrays, key=lambda n: (-arrays[n].dtype.itemsize, n))
    header: dict[str, Any] = {_METADATA: meta} if meta else {}
    offset = 0
    for name in order:
        array = arrays[name]
        header[name] = {"dtype": _NAMES[array.dtype.newbyteorder("=")],
                        "shape": list(array.shape),
                        "data_offsets": [offset, offset + array.nbytes]}
        offset += array.nbytes
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    text += b" " * (-(8 + len(text)) % _ALIGNMENT)
    if len(text) > MAX_HEADER_BYTES:
        raise ValueError(f"save_file: the header would be {len(text)} bytes, more than the "
                         f"format's limit of {MAX_HEADER_BYTES}")
    return len(text).to_bytes(8, "little") + text, [arrays[name] for name in order]


def _write(out: IO[bytes], head: bytes, arrays: list[np.ndarray]) -> None:
    out.write(head)
    for array in arrays:
        out.write(memoryview(array.reshape(-1)).cast("B"))


def save_file(tensors: Mapping[str, Any], filename: str | os.PathLike[str],
              metadata: Mapping[str, str] | None = None) -> None:
    """Write ``tensors`` (a dict of names to Tensors, numpy arrays or any DLPack/``__array__``
    arrays: torch tensors) to the safetensors file ``filename``, with the optional ``metadata``
    (str -> str). Values are written (a tensor's graph, grad and ``requires_grad`` are not);
    the write is atomic. Raises TypeError for a name that is not a str, a value that is not an
    array or has a dtype the format written here does not hold, and ValueError for the name
    ``"__metadata__"``, all before the file is touched.

    Unlike ``safetensors.torch.save_file``, tensors that share memory or are not contiguous
    are accepted: each is written as its own contiguous copy.
    """
    head, arrays = _encode(tensors, metadata)
    write_atomically(filename, lambda out: _write(out, head, arrays))


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------

class _TensorSpec:
    __slots__ = ("begin", "dtype", "end", "name", "shape")

    def __init__(self, name: str, dtype: np.dtype, shape: tuple[int, ...], begin: int,
                 end: int) -> None:
        self.name, self.dtype, self.shape, self.begin, self.end = name, dtype, shape, begin, end


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r} in the header")
        result[key] = value
    return result


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _parse_header(raw: bytes, data_size: int, fail: Callable[[str], NoReturn]
                  ) -> tuple[dict[str, str], list[_TensorSpec]]:
    if not raw.startswith(b"{"):
        fail("the header is not a JSON object")
    try:
        header = json.loads(raw.decode("utf-8"), object_pairs_hook=_no_duplicates)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        fail(f"the header is not valid JSON ({exc})")
    if not isinstance(header, dict):
        fail("the header is not a JSON object")
    metadata = header.pop(_METADATA, {})
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        fail(f"{_METADATA} must map strings to strings")
    specs = []
    for name, info in header.items():
        if not isinstance(info, dict) or set(info) != {"dtype", "shape", "data_offsets"}:
            fail(f"tensor {name!r}: expected exactly the keys dtype, shape and data_offsets, "
                 f"got {info!r:.200}")
        dtype_name, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
        if dtype_name not in DTYPES:
            fail(f"tensor {name!r}: dtype {dtype_name!r:.40} is not one minigrad reads (it "
                 f"reads {', '.join(DTYPES)})")
        if (not isinstance(shape, list) or len(shape) > 64
                or not all(_is_int(d) and d >= 0 for d in shape)):
            fail(f"tensor {name!r}: shape {shape!r:.200} is not a list of non-negative integers")
        if (not isinstance(offsets, list) or len(offsets) != 2
                or not all(_is_int(v) for v in offsets)
                or not 0 <= offsets[0] <= offsets[1] <= data_size):
            fail(f"tensor {name!r}: data_offsets {offsets!r:.200} are not [begin, end] within "
                 f"the {data_size} data bytes")
        dtype = DTYPES[dtype_name]
        nbytes = math.prod(shape) * dtype.itemsize
        if nbytes != offsets[1] - offsets[0]:
            fail(f"tensor {name!r}: shape {shape} of {dtype_name} needs {nbytes} bytes, but "
                 f"data_offsets {offsets} span {offsets[1] - offsets[0]}")
        specs.append(_TensorSpec(name, dtype, tuple(shape), offsets[0], offsets[1]))
    specs.sort(key=lambda s: (s.begin, s.end))
    position = 0
    for spec in specs:
        if spec.begin != position:
            what = "overlaps the tensor before it" if spec.begin < position else "leaves a gap"
            fail(f"tensor {spec.name!r}: data_offsets [{spec.begin}, {spec.end}] {what} (the "
                 f"previous tensor ends at {position})")
        position = spec.end
    if position != data_size:
        fail(f"the tensors cover {position} of the {data_size} data bytes; the rest is "
             f"unaccounted for")
    return metadata, specs


def _read_file(filename: str | os.PathLike[str], read_tensors: bool = True
               ) -> tuple[dict[str, str], dict[str, Tensor]]:
    path = os.fspath(filename)
    where = repr(path)

    def fail(message: str) -> NoReturn:
        raise CheckpointError(f"{where}: not a valid safetensors file: {message}")

    status = os.stat(path)
    if not stat.S_ISREG(status.st_mode):
        fail("it is not a regular file")
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        if size < 8:
            fail(f"the file has {size} bytes, fewer than the 8 of the header's length")
        header_size = int.from_bytes(f.read(8), "little")
        if header_size > MAX_HEADER_BYTES:
            fail(f"the header's length {header_size} is more than the limit "
                 f"{MAX_HEADER_BYTES}")
        if header_size > size - 8:
            fail(f"the header's length {header_size} runs past the end of the file "
                 f"({size} bytes)")
        raw = f.read(header_size)
        if len(raw) != header_size:
            fail("the file was truncated while being read")
        metadata, specs = _parse_header(raw, size - 8 - header_size, fail)
        tensors = {}
        for spec in specs if read_tensors else ():
            nbytes = spec.end - spec.begin
            array = np.empty(spec.shape, dtype=spec.dtype)  # native byte order, aligned
            if nbytes:
                view = memoryview(array.reshape(-1)).cast("B")
                if f.readinto(view) != nbytes:
                    fail("the file was truncated while being read")
                if not np.little_endian:
                    array.byteswap(inplace=True)  # the file is little-endian
            if spec.dtype == np.bool_ and nbytes and array.view(np.uint8).max() > 1:
                fail(f"tensor {spec.name!r}: BOOL values other than 0 and 1")
            tensors[spec.name] = _wrap(array)
    return metadata, tensors


def load_file(filename: str | os.PathLike[str], device: Any = "cpu") -> dict[str, Tensor]:
    """The tensors of the safetensors file ``filename``, a dict of names to fresh minigrad
    Tensors (native byte order, in the file's order), as ``safetensors.torch.load_file``.
    ``device`` must be the CPU. A malformed or hostile file raises ``mg.CheckpointError``
    naming it (see the module docstring); a missing file FileNotFoundError."""
    if str(device) != "cpu":
        raise ValueError(f"load_file: minigrad tensors live on the CPU, got device={device!r}")
    return _read_file(filename)[1]


def load_metadata(filename: str | os.PathLike[str]) -> dict[str, str]:
    """The ``__metadata__`` of the safetensors file ``filename`` (``{}`` if it has none)."""
    return _read_file(filename, read_tensors=False)[0]


# --------------------------------------------------------------------------------------------
# Module helpers, as safetensors.torch's
# --------------------------------------------------------------------------------------------

def save_model(model: Any, filename: str | os.PathLike[str],
               metadata: Mapping[str, str] | None = None, force_contiguous: bool = True
               ) -> None:
    """``save_file(model.state_dict(), filename, metadata)``, as
    ``safetensors.torch.save_model``. (minigrad's state dicts hold a separate tensor per name,
    tied weights included, so there are no shared tensors to drop; every tensor is written
    contiguous, so ``force_contiguous`` changes nothing.)"""
    del force_contiguous
    save_file(model.state_dict(), filename, metadata=metadata)


def load_model(model: Any, filename: str | os.PathLike[str], strict: bool = True,
               device: Any = "cpu") -> tuple[list[str], list[str]]:
    """Load the safetensors file ``filename`` into ``model`` (``load_state_dict`` with
    ``strict=False``), as ``safetensors.torch.load_model``: returns ``(missing, unexpected)``,
    the model's names the file did not have and the file's names the model did not use;
    with ``strict``, either being non-empty raises RuntimeError, after loading."""
    missing, unexpected = model.load_state_dict(load_file(filename, device=device),
                                                strict=False)
    if strict and (missing or unexpected):
        error = f"Error(s) in loading state_dict for {type(model).__name__}:"
        if missing:
            error += "\n    Missing key(s) in state_dict: " + ", ".join(
                f'"{k}"' for k in sorted(missing))
        if unexpected:
            error += "\n    Unexpected key(s) in state_dict: " + ", ".join(
                f'"{k}"' for k in sorted(unexpected))
        raise RuntimeError(error)
    return list(missing), list(unexpected)
