"""Safe checkpoints: ``save(obj, f)`` and ``load(f)``.

A checkpoint is a zip archive, laid out like numpy's ``.npz`` (uncompressed members)::

    manifest.json      {"format": "minigrad-checkpoint", "version": 1, "root": <node>}
    arrays/0.npy       one .npy member per Tensor / numpy array / numpy scalar
    arrays/1.npy
    ...

The manifest is plain JSON that describes the structure; every node is one of

    null, true, false          None, True, False
    123                        int (a JSON integer)
    "text"                     str
    {"float": "0.1"}           float, kept as its repr so nan, inf and -0.0 round-trip exactly
    {"complex": ["1.0", "-2.5"]}
    {"list": [node, ...]}      {"tuple": [node, ...]}
    {"dict": [[key, node], ...], "ordered": false}
                               key a JSON string or integer, in insertion order; "ordered"
                               marks a collections.OrderedDict
    {"tensor": i, "requires_grad": false}
    {"ndarray": i}             {"numpy_scalar": i}

where ``i`` indexes ``arrays/i.npy``; a Tensor or array object that appears twice in ``obj`` is
stored once and comes back as one object. (A module's ``state_dict`` holds a separate Tensor
per name, so weights tied in a model are stored, and come back, as separate copies.)

Why not pickle: unpickling runs whatever code the file names, so opening a downloaded
checkpoint would be as dangerous as running a downloaded script. Here ``load`` parses JSON and
reads ``.npy`` members with ``allow_pickle=False``: numbers only, never code. The price is that
only the types above can be saved; anything else raises TypeError naming where it was found.

Saving is atomic: the archive is written to a temporary file in the target's directory, flushed
to disk (fsync) and renamed onto the target (``os.replace``, atomic on POSIX and Windows). A
save that fails for any reason leaves the previous file untouched and removes its temporary.
"""
import io
import json
import os
from collections import OrderedDict

import numpy as np

from .tensor import Tensor, from_numpy

__all__ = ["CheckpointError", "load", "save"]

FORMAT_NAME = "minigrad-checkpoint"
FORMAT_VERSION = 1
_MANIFEST = "manifest.json"
_SAVEABLE_KINDS = "biufc"  # bool, signed and unsigned integers, floating, complex


class CheckpointError(ValueError, RuntimeError):
    """A file that is not a readable minigrad checkpoint (corrupt, truncated, empty or of
    another format). The message names the file. A subclass of RuntimeError (what
    ``torch.load`` raises for bad files) and of ValueError."""


# --------------------------------------------------------------------------------------------
# Saving: encode the structure into a JSON-able manifest plus a list of arrays.
# --------------------------------------------------------------------------------------------

class _Encoder:
    """Walks ``obj`` once, building the manifest node and collecting the arrays to store."""

    def __init__(self):
        self.arrays = []
        self._index_of = {}  # id(Tensor or ndarray) -> its array index, to store it only once
        self._keep_alive = []  # the objects behind those ids, so no id is reused mid-walk
        self._open_containers = set()  # ids of the containers on the current path (cycles)

    def _store(self, obj, array):
        key = id(obj)
        if key not in self._index_of:
            self._index_of[key] = len(self.arrays)
            self.arrays.append(array)
            self._keep_alive.append(obj)
        return self._index_of[key]

    def encode(self, obj, path):
        kind = type(obj)
        # Exact type checks, most specific first: bool is an int, np.float64 is a float.
        if obj is None or kind is bool or kind is str:
            return obj
        if kind is int:
            return obj
        if isinstance(obj, np.generic):
            _check_array_dtype(obj.dtype, path)
            return {"numpy_scalar": self._store(obj, np.asarray(obj))}
        if kind is float:
            return {"float": repr(obj)}
        if kind is complex:
            return {"complex": [repr(obj.real), repr(obj.imag)]}
        if isinstance(obj, Tensor):
            _check_array_dtype(obj._data.dtype, path)
            return {"tensor": self._store(obj, obj._data), "requires_grad": bool(obj.requires_grad)}
        if kind is np.ndarray:
            _check_array_dtype(obj.dtype, path)
            return {"ndarray": self._store(obj, obj)}
        if kind in (list, tuple, dict, OrderedDict):
            if id(obj) in self._open_containers:
                raise ValueError(f"{path}: cannot save a structure that contains itself "
                                 f"(a reference cycle)")
            self._open_containers.add(id(obj))
            try:
                if kind is list or kind is tuple:
                    items = [self.encode(item, f"{path}[{i}]") for i, item in enumerate(obj)]
                    return {kind.__name__: items}
                return self._encode_dict(obj, path)
            finally:
                self._open_containers.discard(id(obj))
        raise TypeError(f"{path}: cannot save object of type {_type_name(obj)} (a checkpoint "
                        f"holds dicts, lists, tuples, Tensors, numpy arrays of numbers, "
                        f"numbers, strings and None)")

    def _encode_dict(self, obj, path):
        entries = []
        for key, value in obj.items():
            # JSON keeps str and int apart ("0" vs 0), so both key types round-trip.
            if type(key) not in (str, int, bool):
                raise TypeError(f"{path}: cannot save dict key {key!r} of type "
                                f"{_type_name(key)} (keys must be str or int)")
            entries.append([key, self.encode(value, f"{path}[{key!r}]")])
        return {"dict": entries, "ordered": type(obj) is OrderedDict}


def _check_array_dtype(dtype, path):
    if dtype.kind not in _SAVEABLE_KINDS or dtype.fields is not None:
        raise TypeError(f"{path}: cannot save an array of dtype {dtype} (only bool, integer, "
                        f"floating and complex arrays can be saved)")


def _type_name(obj):
    kind = type(obj)
    if kind.__module__ in ("builtins", "__main__"):
        return kind.__qualname__
    return f"{kind.__module__}.{kind.__qualname__}"


def _write_archive(fileobj, manifest, arrays):
    """Write the zip archive (manifest first, then one .npy member per array) to ``fileobj``."""
    import zipfile  # here, not at the top: keeps `import minigrad` fast

    with zipfile.ZipFile(fileobj, mode="w", compression=zipfile.ZIP_STORED,
                         allowZip64=True) as archive:
        archive.writestr(_MANIFEST, json.dumps(manifest, allow_nan=False))
        for index, array in enumerate(arrays):
            # force_zip64: the member's size is unknown until written and may pass 4 GiB.
            with archive.open(f"arrays/{index}.npy", mode="w", force_zip64=True) as member:
                np.lib.format.write_array(member, array, allow_pickle=False)


def save(obj, f):
    """Save ``obj`` (nested dicts, lists, tuples, Tensors, numpy arrays, numbers, strings,
    None) to ``f``, a path or a binary file object opened for writing.

    Dict keys may be str or int and keep their order; tuples stay tuples; a Tensor keeps its
    dtype, shape, values and ``requires_grad`` (but not its graph or ``.grad``). To a path,
    the write is atomic: either the whole new checkpoint is there afterwards, or, if anything
    failed, whatever was there before, byte for byte, with no temporary file left behind.

    Raises TypeError (ValueError for a structure that contains itself), naming the path of the
    offending object, e.g. ``obj['layers'][2]: cannot save object of type Foo``, before any
    file is touched.
    """
    encoder = _Encoder()
    manifest = {"format": FORMAT_NAME, "version": FORMAT_VERSION,
                "root": encoder.encode(obj, "obj")}
    if hasattr(f, "write"):
        _write_archive(f, manifest, encoder.arrays)
        return
    target = os.path.realpath(os.fspath(f))  # through a symlink, onto the file it names
    directory, name = os.path.split(target)
    import tempfile

    fd, temporary = tempfile.mkstemp(dir=directory, prefix=f".{name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            _write_archive(out, manifest, encoder.arrays)
            out.flush()
            os.fsync(out.fileno())
        # mkstemp creates the file private (0600); give it the mode a plain open() would.
        os.chmod(temporary, _mode_for(target))
        os.replace(temporary, target)
    except BaseException:
        try:
            os.unlink(temporary)
        except FileNotFoundError:
            pass
        raise
    _fsync_directory(directory)


def _mode_for(target):
    """The permission bits for the new file: the old file's, or 0o666 less the umask."""
    try:
        return os.stat(target).st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0o022)  # reading the umask means setting it; put it straight back
        os.umask(umask)
        return 0o666 & ~umask


def _fsync_directory(directory):
    """Make the rename itself durable (POSIX); a no-op where directories cannot be opened."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# --------------------------------------------------------------------------------------------
# Loading: parse the manifest, check every node, read arrays without pickle.
# --------------------------------------------------------------------------------------------

class _Decoder:
    """Rebuilds the structure from a manifest node, reading each array member once."""

    def __init__(self, archive, where):
        self.archive = archive
        self.where = where
        self._loaded = {}  # array index -> the object made from it (shared stays shared)

    def fail(self, message):
        raise CheckpointError(f"{self.where}: {message}")

    def decode(self, node):
        if node is None or type(node) in (bool, int, str):
            return node
        if type(node) is not dict or not node:
            self.fail(f"corrupt manifest: unexpected node {_short(node)}")
        tag = next(iter(node))
        value = node[tag]
        if tag in ("list", "tuple") and len(node) == 1 and type(value) is list:
            items = [self.decode(item) for item in value]
            return items if tag == "list" else tuple(items)
        if (tag == "dict" and set(node) == {"dict", "ordered"} and type(value) is list
                and type(node["ordered"]) is bool):
            result = OrderedDict() if node["ordered"] else {}
            for entry in value:
                if (type(entry) is not list or len(entry) != 2
                        or type(entry[0]) not in (str, int, bool)):
                    self.fail(f"corrupt manifest: bad dict entry {_short(entry)}")
                result[entry[0]] = self.decode(entry[1])
            return result
        if tag == "float" and len(node) == 1 and type(value) is str:
            return self._parse_float(value)
        if (tag == "complex" and len(node) == 1 and type(value) is list and len(value) == 2
                and all(type(part) is str for part in value)):
            return complex(self._parse_float(value[0]), self._parse_float(value[1]))
        if tag == "tensor" and set(node) == {"tensor", "requires_grad"}:
            return self._array_object(value, "tensor", node["requires_grad"])
        if tag in ("ndarray", "numpy_scalar") and len(node) == 1:
            return self._array_object(value, tag, False)
        self.fail(f"corrupt manifest: unknown node {_short(node)}")

    def _parse_float(self, text):
        try:
            return float(text)
        except ValueError:
            self.fail(f"corrupt manifest: {text!r} is not a float")

    def _array_object(self, index, tag, requires_grad):
        if type(index) is not int or index < 0 or type(requires_grad) is not bool:
            self.fail(f"corrupt manifest: bad array reference {index!r}")
        key = (index, tag)
        if key not in self._loaded:
            array = self._read_array(index)
            if tag == "tensor":
                obj = from_numpy(array)
                if requires_grad:
                    if array.dtype.kind not in "fc":
                        self.fail(f"corrupt manifest: a {array.dtype} tensor cannot require grad")
                    obj.requires_grad_(True)
            elif tag == "numpy_scalar":
                if array.ndim != 0:
                    self.fail(f"corrupt manifest: numpy scalar {index} has shape {array.shape}")
                obj = array[()]
            else:
                obj = array
            self._loaded[key] = obj
        return self._loaded[key]

    def _read_array(self, index):
        name = f"arrays/{index}.npy"
        try:
            with self.archive.open(name) as member:
                array = np.load(member, allow_pickle=False)
                # Reading to the end makes zipfile check the member's CRC-32, catching
                # flipped bytes, and shows any bytes the .npy header did not account for.
                if member.read():
                    self.fail(f"member {name} has trailing bytes")
        except KeyError:
            self.fail(f"member {name} is missing")
        if not isinstance(array, np.ndarray) or array.dtype.kind not in _SAVEABLE_KINDS:
            self.fail(f"member {name} is not an array of numbers")
        return array


def _short(node, limit=80):
    text = repr(node)
    return text if len(text) <= limit else text[:limit] + "..."


def _open_archive(fileobj, where):
    """Open ``fileobj`` as a zip archive, or explain what kind of file it seems to be."""
    start = fileobj.tell() if fileobj.seekable() else 0
    head = fileobj.read(4)
    fileobj.seek(start)
    if not head:
        raise CheckpointError(f"{where}: the file is empty, not a minigrad checkpoint")
    if head[:1] == b"\x80":
        raise CheckpointError(
            f"{where}: this is a pickle file (e.g. from pickle.dump or an old torch.save), "
            f"not a minigrad checkpoint; minigrad never unpickles, since unpickling can run "
            f"arbitrary code")
    try:
        import zipfile

        return zipfile.ZipFile(fileobj, mode="r")
    except Exception as exc:  # a damaged directory surfaces as many exception types
        raise CheckpointError(f"{where}: not a minigrad checkpoint, or a truncated or corrupt "
                              f"one (not a readable zip archive: {exc})") from exc


def _read_manifest(archive, where):
    names = archive.namelist()
    if _MANIFEST not in names:
        if any(name.endswith("data.pkl") for name in names):
            raise CheckpointError(f"{where}: this is a PyTorch checkpoint (torch.save), whose "
                                  f"contents are pickled; minigrad cannot read it. Convert it "
                                  f"with torch: load it and save its tensors as numpy arrays")
        raise CheckpointError(f"{where}: not a minigrad checkpoint (a zip archive without "
                              f"{_MANIFEST})")
    manifest = json.loads(archive.read(_MANIFEST).decode("utf-8"))
    if type(manifest) is not dict or manifest.get("format") != FORMAT_NAME:
        raise CheckpointError(f"{where}: not a minigrad checkpoint (its {_MANIFEST} does not "
                              f"name the format {FORMAT_NAME!r})")
    version = manifest.get("version")
    if type(version) is not int or "root" not in manifest:
        raise CheckpointError(f"{where}: corrupt manifest (no format version or root)")
    if version > FORMAT_VERSION:
        raise CheckpointError(f"{where}: written in checkpoint format version {version} by a "
                              f"newer minigrad; this one reads up to version {FORMAT_VERSION}")
    return manifest


def load(f, map_location=None, *, weights_only=True, mmap=None):
    """Load what ``save`` wrote, from a path or a binary file object.

    Never executes code from the file: the structure comes from JSON and the arrays from
    ``.npy`` members read with ``allow_pickle=False``. Loaded Tensors are fresh leaves (no
    graph, no ``.grad``) with the saved dtype, shape, values and ``requires_grad``.

    ``map_location``, ``weights_only`` and ``mmap`` are accepted for PyTorch compatibility and
    change nothing: minigrad runs on the CPU, and its checkpoints never hold anything but
    weights-like data, so loading is always "weights only".

    Raises CheckpointError (a RuntimeError and ValueError) naming the file when it is empty,
    truncated, corrupt or of another format (a pickle, a torch.save file, a zip without a
    manifest); FileNotFoundError when there is no file.
    """
    del map_location, weights_only, mmap  # accepted for compatibility; see the docstring
    if hasattr(f, "read"):
        where = repr(getattr(f, "name", f))
        fileobj = f if _seekable(f) else io.BytesIO(f.read())
        return _load_from(fileobj, where)
    path = os.fspath(f)
    with open(path, "rb") as fileobj:
        return _load_from(fileobj, repr(path))


def _seekable(f):
    try:
        return f.seekable()
    except AttributeError:
        return False


def _load_from(fileobj, where):
    archive = _open_archive(fileobj, where)
    with archive:
        try:
            manifest = _read_manifest(archive, where)
            return _Decoder(archive, where).decode(manifest["root"])
        except CheckpointError:
            raise
        except Exception as exc:
            # Damage surfaces from zipfile, json and numpy as many exception types (BadZipFile,
            # EOFError, ValueError, NotImplementedError, RecursionError, MemoryError for a
            # forged shape...); say which file, and keep the original as the cause.
            raise CheckpointError(f"{where}: truncated or corrupt checkpoint "
                                  f"({type(exc).__name__}: {exc})") from exc
