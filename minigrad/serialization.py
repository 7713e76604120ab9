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
per name, so weights tied in a model are stored, and come back, as separate copies.) Arrays
hold the tensor dtypes (bool, uint8, int8, int16, int32, int64, float16, float32, float64),
in the byte order of the machine that wrote them; ``load`` returns native byte order.

Why not pickle: unpickling runs whatever code the file names, so opening a downloaded
checkpoint would be as dangerous as running a downloaded script. Here ``load`` parses JSON and
reads ``.npy`` members itself: numbers only, never code. The price is that only the types
above can be saved; anything else raises TypeError naming where it was found.

The reader accepts only what the writer writes (the discipline of safetensors), so a hostile
file is refused quickly and in memory bounded by the file's size: a regular file, members
stored uncompressed, named exactly ``manifest.json``, ``arrays/0.npy``, ``arrays/1.npy``, ...
in that order, laid end to end with no gaps, overlaps or duplicates, each checked by its
CRC-32; a manifest of at most ``MAX_MANIFEST_BYTES`` bytes, ``MAX_MANIFEST_CONTAINERS`` JSON
arrays and objects and numbers of at most 4300 digits, whose nesting (at most ``MAX_NESTING``
containers in ``obj``) is measured on the raw bytes before any recursive parser sees them; each
``.npy`` header's dtype, shape and size checked against the member's size before the array is
allocated. ``save`` refuses, with an error and before touching the file, anything ``load``
would refuse.

Saving is atomic: the archive is written to a temporary file ``.NAME.XXXXXXXX.tmp`` in the
target's directory, flushed to disk (fsync) and renamed onto the target (``os.replace``, atomic
on POSIX and Windows). A save that fails for any reason leaves the previous file untouched and
removes its temporary. A SIGTERM that would terminate the process mid-save removes the
temporary first. A process killed outright (SIGKILL, a power cut) cannot clean up, so on POSIX
a save holds a lock (``flock``) on its temporary, which the system drops when the process
dies, and the next save to the same path removes that target's temporaries nobody holds.
"""
from __future__ import annotations

import io
import json
import os
import re
import stat
import struct
from collections import OrderedDict
from collections.abc import Callable
from typing import IO, Any, Union

import numpy as np

from .tensor import Tensor, from_numpy

__all__ = ["CheckpointError", "load", "save"]

# A path or a binary file object, as torch.save/torch.load take.
FileLike = Union[str, "os.PathLike[str]", IO[bytes]]

FORMAT_NAME = "minigrad-checkpoint"
FORMAT_VERSION = 1
_MANIFEST = "manifest.json"

# The dtypes a checkpoint holds: minigrad's tensor dtypes, in either byte order.
_TENSOR_DTYPES = frozenset(np.dtype(t) for t in (np.bool_, np.uint8, np.int8, np.int16, np.int32,
                                                 np.int64, np.float16, np.float32, np.float64))

# Limits shared by the writer (which refuses to exceed them) and the reader.
MAX_MANIFEST_BYTES = 16 * 2**20
MAX_MANIFEST_CONTAINERS = 2**20  # JSON arrays and objects (json.loads makes ~100 bytes of each)
MAX_NESTING = 100  # containers (dicts, lists, tuples) inside one another in obj
# A container costs at most 3 levels of JSON ({"dict": [[key, node]]}), the top object 1 and a
# leaf 2 ({"complex": [...]}).
_MAX_JSON_DEPTH = 3 * MAX_NESTING + 3
_MAX_INT_DIGITS = 4300  # Python's default int/str conversion limit
_INT_LIMIT = 10**_MAX_INT_DIGITS
_MAX_NPY_HEADER = 10000  # numpy's own default limit on a .npy header
_READ_CHUNK = 4 * 2**20


class CheckpointError(ValueError, RuntimeError):
    """A file that is not a readable minigrad checkpoint (corrupt, truncated, empty, of another
    format, or outside what ``save`` writes). The message names the file. A subclass of
    RuntimeError (what ``torch.load`` raises for bad files) and of ValueError."""


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
            if not array.dtype.isnative:  # the reader's kernels read native byte order
                array = array.astype(array.dtype.newbyteorder("="))
            self._index_of[key] = len(self.arrays)
            self.arrays.append(array)
            self._keep_alive.append(obj)
        return self._index_of[key]

    def encode(self, obj, path, depth=0):
        kind = type(obj)
        # Exact type checks, most specific first: bool is an int, np.float64 is a float.
        if obj is None or kind is bool or kind is str:
            return obj
        if kind is int:
            _check_int(obj, path)
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
            if depth == MAX_NESTING:
                raise ValueError(f"{path}: cannot save containers nested more than "
                                 f"{MAX_NESTING} deep")
            self._open_containers.add(id(obj))
            try:
                if kind is list or kind is tuple:
                    items = [self.encode(item, f"{path}[{i}]", depth + 1)
                             for i, item in enumerate(obj)]
                    return {kind.__name__: items}
                return self._encode_dict(obj, path, depth)
            finally:
                self._open_containers.discard(id(obj))
        raise TypeError(f"{path}: cannot save object of type {_type_name(obj)} (a checkpoint "
                        f"holds dicts, lists, tuples, Tensors, numpy arrays of numbers, "
                        f"numbers, strings and None)")

    def _encode_dict(self, obj, path, depth):
        entries = []
        for key, value in obj.items():
            # JSON keeps str and int apart ("0" vs 0), so both key types round-trip.
            if type(key) not in (str, int, bool):
                raise TypeError(f"{path}: cannot save dict key {key!r} of type "
                                f"{_type_name(key)} (keys must be str or int)")
            if type(key) is int:
                _check_int(key, path)
            entries.append([key, self.encode(value, f"{path}[{key!r}]", depth + 1)])
        return {"dict": entries, "ordered": type(obj) is OrderedDict}


def _check_array_dtype(dtype, path):
    if dtype.newbyteorder("=") not in _TENSOR_DTYPES:
        raise TypeError(f"{path}: cannot save an array of dtype {dtype} (a checkpoint holds the "
                        f"tensor dtypes: bool, uint8, int8, int16, int32, int64, float16, "
                        f"float32, float64)")


def _check_int(value, path):
    if not -_INT_LIMIT < value < _INT_LIMIT:
        raise ValueError(f"{path}: cannot save an int of more than {_MAX_INT_DIGITS} digits")


def _type_name(obj):
    kind = type(obj)
    if kind.__module__ in ("builtins", "__main__"):
        return kind.__qualname__
    return f"{kind.__module__}.{kind.__qualname__}"


def _encode_manifest(root):
    """The manifest as ASCII JSON bytes, refused (ValueError) if ``load`` would refuse it."""
    data = json.dumps({"format": FORMAT_NAME, "version": FORMAT_VERSION, "root": root},
                      allow_nan=False).encode("ascii")
    problem = _manifest_problem(data)
    if problem:
        raise ValueError(f"obj: cannot save it: its structure is too large for a checkpoint "
                         f"({problem}); store long runs of numbers as a Tensor or numpy array")
    return data


def _write_archive(fileobj, manifest, arrays):
    """Write the zip archive (manifest first, then one .npy member per array) to ``fileobj``."""
    import zipfile  # here, not at the top: keeps `import minigrad` fast

    with zipfile.ZipFile(fileobj, mode="w", compression=zipfile.ZIP_STORED,
                         allowZip64=True) as archive:
        archive.writestr(_MANIFEST, manifest)
        for index, array in enumerate(arrays):
            # force_zip64: the member's size is unknown until written and may pass 4 GiB.
            with archive.open(f"arrays/{index}.npy", mode="w", force_zip64=True) as member:
                np.lib.format.write_array(member, array, allow_pickle=False)


def save(obj: Any, f: FileLike) -> None:
    """Save ``obj`` (nested dicts, lists, tuples, Tensors, numpy arrays, numbers, strings,
    None) to ``f``, a path or a binary file object opened for writing.

    Dict keys may be str or int and keep their order; tuples stay tuples; a Tensor keeps its
    dtype, shape, values and ``requires_grad`` (but not its graph or ``.grad``). To a path,
    the write is atomic: either the whole new checkpoint is there afterwards, or, if anything
    failed, whatever was there before, byte for byte, with no temporary file left behind.
    While the save runs in the main thread and SIGTERM would terminate the process (its
    default action), a SIGTERM first removes the temporary, then terminates the process as
    it would have; any other SIGTERM handler, and the handler afterwards, are left as they are.

    Raises TypeError (ValueError for a structure that contains itself, is nested more than
    ``MAX_NESTING`` deep or too large), naming the path of the offending object, e.g.
    ``obj['layers'][2]: cannot save object of type Foo``, before any file is touched.
    """
    encoder = _Encoder()
    manifest = _encode_manifest(encoder.encode(obj, "obj"))
    if hasattr(f, "write"):
        _write_archive(f, manifest, encoder.arrays)
        return
    write_atomically(f, lambda out: _write_archive(out, manifest, encoder.arrays))


def write_atomically(f: str | os.PathLike[str], write: Callable[[IO[bytes]], object]) -> None:
    """Call ``write(fileobj)`` on a temporary file beside the path ``f`` and rename it onto
    ``f`` once complete and flushed to disk (see the module docstring): a failure leaves any
    previous file untouched. Shared by ``save`` and the safetensors writer."""
    target = os.path.realpath(os.fspath(f))  # through a symlink, onto the file it names
    directory, name = os.path.split(target)
    _remove_stale_temporaries(directory, name)
    with _RemoveOnSigterm() as on_sigterm:
        out, temporary = _create_temporary(directory, name, on_sigterm)
        try:
            write(out)
            out.flush()
            os.fsync(out.fileno())
            # mkstemp creates the file private (0600); give it the mode a plain open() would.
            os.chmod(temporary, _mode_for(target))
            if os.name != "posix":
                out.close()  # Windows cannot rename an open file
            # On POSIX the file stays open, and so locked, until it has become the target.
            os.replace(temporary, target)
        except BaseException:
            out.close()
            try:
                os.unlink(temporary)
            except FileNotFoundError:
                pass
            raise
        finally:
            out.close()
    _fsync_directory(directory)


def _create_temporary(directory, name, on_sigterm):
    """A new temporary file beside the target, opened for writing and, on POSIX, locked."""
    import tempfile

    for _ in range(100):
        fd, temporary = tempfile.mkstemp(dir=directory, prefix=f".{name}.", suffix=".tmp")
        on_sigterm.path = temporary
        out = os.fdopen(fd, "wb")
        try:
            lock = _try_lock(fd)
            if lock == "held" or (lock == "locked" and not _still_named(temporary, fd)):
                # In the instant before we locked it, another save's sweep found it unlocked
                # and is removing it: make another.
                out.close()
                continue
        except BaseException:
            out.close()
            _unlink_quietly(temporary)
            raise
        return out, temporary
    raise OSError(f"could not create a temporary file in {directory!r}")


def _try_lock(fd):
    """Try to flock(LOCK_EX) ``fd`` without waiting: "locked", "held" (by another process)
    or "unsupported" (not POSIX, or a filesystem without locks). The system drops the lock
    when the process holding it dies, however it dies."""
    try:
        import fcntl
    except ImportError:
        return "unsupported"
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return "held"
    except OSError:  # ENOLCK, EOPNOTSUPP, ...
        return "unsupported"
    return "locked"


def _still_named(path, fd):
    """Whether ``path`` still names the file open as ``fd``."""
    try:
        by_name = os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        return False
    by_fd = os.fstat(fd)
    return (by_name.st_dev, by_name.st_ino) == (by_fd.st_dev, by_fd.st_ino)


def _unlink_quietly(path):
    try:
        os.unlink(path)
    except OSError:
        pass


def _remove_stale_temporaries(directory, name):
    """Remove ``.NAME.XXXXXXXX.tmp`` files (this target's temporaries, as mkstemp names them)
    that no process holds locked: left by a save that was killed. A live save holds its lock
    from just after creating its temporary until the rename, and checks, once locked, that
    no sweep removed it in between. POSIX only (elsewhere there is no flock); where the
    filesystem has no locks, nothing can be known to be stale, and nothing is removed."""
    if os.name != "posix":
        return
    pattern = re.compile(re.escape(f".{name}.") + r"[a-z0-9_]{8}\.tmp")
    try:
        entries = [entry.name for entry in os.scandir(directory or ".")
                   if entry.name.startswith(f".{name}.") and pattern.fullmatch(entry.name)]
    except OSError:
        return
    for entry in entries:
        path = os.path.join(directory, entry)
        try:
            fd = os.open(path, os.O_RDWR | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError:  # gone already, or not ours to open
            continue
        try:
            if (stat.S_ISREG(os.fstat(fd).st_mode) and _try_lock(fd) == "locked"
                    and _still_named(path, fd)):
                os.unlink(path)
        except OSError:
            pass
        finally:
            os.close(fd)


class _RemoveOnSigterm:
    """For the duration of a save in the main thread, when SIGTERM's action is the default
    (terminate): a SIGTERM removes ``self.path``, restores the default action and re-delivers
    the signal, so the process dies of SIGTERM as it would have, minus the stray temporary.
    A handler the program installed (or SIG_IGN) is left alone: its choice stands, and an
    exception it raises unwinds the save, which removes the temporary."""

    def __init__(self):
        self.path = None
        self._handler = None

    def __enter__(self):
        import signal
        import threading

        if (threading.current_thread() is threading.main_thread()
                and hasattr(signal, "SIGTERM")
                and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL):
            handler = self._handle
            try:
                signal.signal(signal.SIGTERM, handler)
            except ValueError:  # not the main interpreter
                return self
            self._handler = handler
        return self

    def _handle(self, signum, frame):
        import signal

        if self.path is not None:
            _unlink_quietly(self.path)
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)

    def __exit__(self, *exc_info):
        if self._handler is not None:
            import signal

            if signal.getsignal(signal.SIGTERM) == self._handler:
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
            self._handler = None
        return False


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
# The manifest's limits, measured on its raw bytes: json.loads recurses once per level in C,
# so nesting must be known before it runs (a raised recursion limit lets it overflow the
# C stack), and CPython parses a long integer in time quadratic in its digits.
# --------------------------------------------------------------------------------------------

# A JSON string, or an unterminated one running to the end: this always matches at a quote,
# so the substitution is linear. Inside the prefix json.loads accepts, it delimits strings
# exactly as json.loads does (an escape is a backslash and one character). Patterns are
# compiled on first use (re caches them), not when minigrad is imported.
_JSON_STRING = rb'(?s)"[^"\\]*(?:\\.[^"\\]*)*(?:"|\\?\Z)'
_LONG_NUMBER = rb"(?<![0-9])[0-9]{%d}" % (_MAX_INT_DIGITS + 1)
_NOT_BRACKETS = bytes(sorted(set(range(256)) - set(b"[]{}")))
_BRACKET_STEP = np.zeros(256, dtype=np.int32)
_BRACKET_STEP[list(b"[{")] = 1
_BRACKET_STEP[list(b"]}")] = -1


def _manifest_problem(data):
    """Why the manifest bytes ``data`` are outside the limits, or None. Linear time; memory a
    small multiple of the number of brackets, itself bounded before it is used."""
    if len(data) > MAX_MANIFEST_BYTES:
        return f"a manifest of {len(data)} bytes; the limit is {MAX_MANIFEST_BYTES}"
    structure = re.sub(_JSON_STRING, b"", data)
    if re.search(_LONG_NUMBER, structure):
        return f"a number of more than {_MAX_INT_DIGITS} digits"
    brackets = structure.translate(None, _NOT_BRACKETS)
    opened = brackets.count(b"[") + brackets.count(b"{")
    if opened > MAX_MANIFEST_CONTAINERS or len(brackets) - opened > MAX_MANIFEST_CONTAINERS:
        return (f"{opened} JSON arrays and objects; the limit is {MAX_MANIFEST_CONTAINERS}")
    if brackets:
        depth = int(np.cumsum(_BRACKET_STEP[np.frombuffer(brackets, dtype=np.uint8)]).max())
        if depth > _MAX_JSON_DEPTH:
            return (f"JSON nested {depth} deep; the limit is {_MAX_JSON_DEPTH} "
                    f"({MAX_NESTING} nested containers)")
    return None


# --------------------------------------------------------------------------------------------
# Loading, part 1: the zip container. Only what _write_archive writes is accepted: members
# stored (not compressed), named manifest.json, arrays/0.npy, arrays/1.npy, ... in that order,
# laid end to end from the start of the file to its central directory, which ends the file.
# Every size is checked against the file's before anything of that size is read or allocated.
# --------------------------------------------------------------------------------------------

_LOCAL = struct.Struct("<4s5H3L2H")  # signature .. extra length: 30 bytes
_CENTRAL = struct.Struct("<4s6H3L5H2L")  # signature .. local header offset: 46 bytes
_END = struct.Struct("<4s4H2LH")  # end of central directory: 22 bytes
_END64_LOCATOR = struct.Struct("<4sLQL")  # 20 bytes
_END64 = struct.Struct("<4sQ2H2L4Q")  # zip64 end of central directory: 56 bytes
_DATA_DESCRIPTOR = b"PK\x07\x08"
_FLAG_DESCRIPTOR = 0x08  # sizes and CRC follow the data (a save to an unseekable stream)
_FLAG_UTF8 = 0x800
_U16, _U32 = 0xFFFF, 0xFFFFFFFF


class _Source:
    """Positioned reads of the byte range [start, end) of a seekable binary file object."""

    def __init__(self, fileobj, start, end, where):
        self.fileobj = fileobj
        self.start = start
        self.end = end
        self.where = where
        self._readinto = getattr(fileobj, "readinto", None)

    def fail(self, message):
        raise CheckpointError(f"{self.where}: {message}")

    def read(self, position, size):
        if position < self.start or position + size > self.end:
            self.fail(f"truncated or corrupt checkpoint (a read at {position - self.start} of "
                      f"{size} bytes passes the end of the file)")
        self.fileobj.seek(position)
        data = self.fileobj.read(size)
        if len(data) != size:
            self.fail("truncated checkpoint (the file ended early; did it change while "
                      "loading?)")
        return data

    def read_into(self, position, view, crc):
        """Fill the byte memoryview ``view`` from ``position``; return the updated CRC-32."""
        from zlib import crc32

        self.fileobj.seek(position)
        filled = 0
        while filled < len(view):
            chunk = view[filled:filled + _READ_CHUNK]
            if self._readinto is not None:
                count = self._readinto(chunk)
            else:
                data = self.fileobj.read(len(chunk))
                count = len(data)
                chunk[:count] = data
            if not count:
                self.fail("truncated checkpoint (the file ended early; did it change while "
                          "loading?)")
            crc = crc32(chunk[:count], crc)
            filled += count
        return crc


class _Member:
    """A stored member: its name, where its local header and data lie, its size, CRC-32 and
    zip flags, and ``head``, the first bytes of its data as far as they were read with the
    local header (for a .npy member, usually its whole header)."""

    __slots__ = ("crc", "data_offset", "flags", "head", "header_offset", "name", "size")

    def __init__(self, name, header_offset, data_offset, size, crc, flags, head):
        self.name = name
        self.header_offset = header_offset
        self.data_offset = data_offset
        self.size = size
        self.crc = crc
        self.flags = flags
        self.head = head


def _zip64_values(extra, wanted, source, what):
    """The first ``wanted`` 64-bit values of the zip64 field (tag 1) in the extra field."""
    position = 0
    while position + 4 <= len(extra):
        tag, length = struct.unpack_from("<HH", extra, position)
        body = extra[position + 4:position + 4 + length]
        if len(body) != length:
            break
        if tag == 1:
            if length < 8 * wanted:
                break
            return struct.unpack_from(f"<{wanted}Q", body)
        position += 4 + length
    source.fail(f"truncated or corrupt checkpoint (bad zip64 field in {what})")


def _find_directory(source):
    """Read the end record (and the zip64 one, when present) at the very end of the file;
    return (central directory bytes, number of entries, where it starts, the base that its
    offsets are relative to)."""
    fail = source.fail
    corrupt = "truncated or corrupt checkpoint"
    if source.end - source.start < _END.size:
        fail("not a minigrad checkpoint, or a truncated or corrupt one (too short to be a zip "
             "archive)")
    directory_end = source.end - _END.size
    (signature, disk, directory_disk, disk_entries, entries, size, offset,
     comment_length) = _END.unpack(source.read(directory_end, _END.size))
    if signature != b"PK\x05\x06" or comment_length:
        fail("not a minigrad checkpoint, or a truncated or corrupt one (no zip end record at "
             "the end of the file)")
    if disk or directory_disk or disk_entries != entries:
        fail(f"{corrupt} (a multi-disk zip archive)")
    locator_position = directory_end - _END64_LOCATOR.size
    zip64 = (locator_position >= source.start
             and source.read(locator_position, 4) == b"PK\x06\x07")
    if zip64:
        # Past 65535 members or 4 GiB the end record's fields saturate; these hold the values.
        _, locator_disk, record_offset, disks = _END64_LOCATOR.unpack(
            source.read(locator_position, _END64_LOCATOR.size))
        directory_end = locator_position - _END64.size
        if locator_disk or disks != 1 or directory_end < source.start:
            fail(f"{corrupt} (bad zip64 end locator)")
        (signature, record_size, _, _, disk, directory_disk, disk_entries, entries64, size64,
         offset64) = _END64.unpack(source.read(directory_end, _END64.size))
        if (signature != b"PK\x06\x06" or record_size != _END64.size - 12 or disk
                or directory_disk or disk_entries != entries64 or entries not in (entries64, _U16)
                or size not in (size64, _U32) or offset not in (offset64, _U32)):
            fail(f"{corrupt} (bad zip64 end record)")
        entries, size, offset = entries64, size64, offset64
    directory_start = directory_end - size
    if directory_start < source.start or entries > size // _CENTRAL.size:
        fail(f"{corrupt} (the zip directory claims more than the file holds)")
    # Offsets count from where the writer started: the start of the file, or of the archive
    # when it was written into a file object after other data.
    base = directory_start - offset
    if zip64 and record_offset + base != directory_end:
        fail(f"{corrupt} (bad zip64 end locator)")
    return source.read(directory_start, size), entries, directory_start, base


def _directory_entries(source, directory, entries, base):
    """Yield (name, flags, method, crc, size, compressed size, local header offset) for each
    entry of the central directory, which must hold exactly ``entries`` entries."""
    position = 0
    for _ in range(entries):
        if position + _CENTRAL.size > len(directory):
            break
        (signature, _, _, flags, method, _, _, crc, compressed_size, size, name_length,
         extra_length, comment_length, disk, _, _, offset) = _CENTRAL.unpack_from(directory,
                                                                                  position)
        name_start = position + _CENTRAL.size
        extra_start = name_start + name_length
        position = extra_start + extra_length + comment_length
        if signature != b"PK\x01\x02" or position > len(directory) or disk:
            break
        saturated = [size == _U32, compressed_size == _U32, offset == _U32]
        if any(saturated):
            values = iter(_zip64_values(directory[extra_start:extra_start + extra_length],
                                        sum(saturated), source, "the zip directory"))
            size = next(values) if saturated[0] else size
            compressed_size = next(values) if saturated[1] else compressed_size
            offset = next(values) if saturated[2] else offset
        yield (directory[name_start:extra_start], flags, method, crc, size, compressed_size,
               offset + base)
    if position != len(directory):
        source.fail("truncated or corrupt checkpoint (bad zip directory)")


def _foreign_archive_error(source, name, entries):
    """The error for a zip archive whose first member is not manifest.json: say whose it is."""
    try:
        while not (name.endswith(b"data.pkl") or name == _MANIFEST.encode()):
            name = next(entries)[0]  # names are looked at one by one, never kept
    except (StopIteration, CheckpointError):
        pass
    if name.endswith(b"data.pkl"):
        source.fail("this is a PyTorch checkpoint (torch.save), whose contents are pickled; "
                    "minigrad cannot read it. Convert it with torch: load it and save its "
                    "tensors as numpy arrays")
    if name != _MANIFEST.encode():
        source.fail(f"not a minigrad checkpoint (a zip archive without {_MANIFEST})")
    source.fail(f"not a minigrad checkpoint, or a corrupt one ({_MANIFEST} is not the first "
                f"member of the zip archive)")


def _check_member_name(source, name, index):
    """Member ``index`` must be named manifest.json (0) or arrays/{index - 1}.npy, exactly."""
    expected = _MANIFEST if index == 0 else f"arrays/{index - 1}.npy"
    if name == expected.encode():
        return expected
    name = name.decode("utf-8", "replace")
    match = re.fullmatch(r"arrays/(0|[1-9][0-9]*)\.npy", name)
    if name == _MANIFEST or (match and int(match.group(1)) < index - 1):
        source.fail(f"corrupt checkpoint: duplicate member {name!r}")
    source.fail(f"corrupt checkpoint: unexpected member {name!r} (expected {expected!r})")


def _check_local_header(source, entry, name):
    """Check the local header an entry points to against the entry, and return the member.
    The local header repeats the name, method and (unless a data descriptor follows the data)
    sizes and CRC: a reader that streams local headers must see the archive this one sees."""
    fail = source.fail
    raw_name, flags, method, crc, size, compressed_size, offset = entry
    if flags & ~(_FLAG_DESCRIPTOR | _FLAG_UTF8):
        fail(f"member {name} uses zip features a checkpoint never uses (flags {flags:#x}: "
             f"encryption or compression options)")
    if method != 0 or compressed_size != size:
        fail(f"member {name} is compressed (zip method {method}); a checkpoint's members are "
             f"stored as they are")
    # One read for the header, the name, a zip64 extra field and most .npy headers.
    block = source.read(offset, min(_LOCAL.size + len(raw_name) + 256, source.end - offset))
    if len(block) < _LOCAL.size:
        fail(f"truncated or corrupt checkpoint (member {name} starts past the end)")
    (signature, _, local_flags, local_method, _, _, local_crc, local_compressed_size,
     local_size, name_length, extra_length) = _LOCAL.unpack_from(block)
    data_start = _LOCAL.size + name_length + extra_length
    if data_start > len(block):
        block += source.read(offset + len(block), data_start - len(block))
    if signature != b"PK\x03\x04" or (local_flags, local_method) != (flags, method):
        fail(f"corrupt checkpoint: the local header of member {name} does not match the zip "
             f"directory")
    if block[_LOCAL.size:_LOCAL.size + name_length] != raw_name:
        fail(f"corrupt checkpoint: the local header of member {name} names another member")
    if not flags & _FLAG_DESCRIPTOR:
        if local_compressed_size == _U32 or local_size == _U32:
            local_size, local_compressed_size = _zip64_values(
                block[_LOCAL.size + name_length:data_start], 2, source, f"member {name}")
        if (local_crc, local_size, local_compressed_size) != (crc, size, size):
            fail(f"corrupt checkpoint: the local header of member {name} does not match the "
                 f"zip directory")
    return _Member(name, offset, offset + data_start, size, crc, flags,
                   block[data_start:data_start + size])


def _check_member_end(source, member, next_offset):
    """The member's data must end where the next header starts (after the data descriptor,
    when there is one): no gaps, no overlaps, so its bytes belong to it alone."""
    data_end = member.data_offset + member.size
    gap = next_offset - data_end
    if gap < 0:
        source.fail(f"corrupt checkpoint: member {member.name} claims {member.size} bytes, "
                    f"more than there are before the next member")
    if not member.flags & _FLAG_DESCRIPTOR:
        if gap == 0:
            return
    elif gap in (12, 16, 20, 24):  # CRC-32 and sizes (8 bytes each in zip64), signature or not
        descriptor = source.read(data_end, gap)
        if gap in (16, 24) and descriptor[:4] == _DATA_DESCRIPTOR:
            descriptor = descriptor[4:]
        if len(descriptor) in (12, 20):
            fmt = "<LQQ" if len(descriptor) == 20 else "<LLL"
            if struct.unpack(fmt, descriptor) == (member.crc, member.size, member.size):
                return
    source.fail(f"corrupt checkpoint: member {member.name} is not followed directly by the "
                f"next (members overlap, or there are bytes between them)")


def _read_members(source):
    """Check the archive's layout; return (the manifest member, the array members)."""
    directory, count, directory_start, base = _find_directory(source)
    entries = _directory_entries(source, directory, count, base)
    members = []
    for index, entry in enumerate(entries):
        if index == 0 and entry[0] != _MANIFEST.encode():
            _foreign_archive_error(source, entry[0], entries)
        name = _check_member_name(source, entry[0], index)
        if members and entry[6] < members[-1].data_offset + members[-1].size:
            source.fail(f"corrupt checkpoint: member {name} overlaps the member before it")
        members.append(_check_local_header(source, entry, name))
    if not members:
        source.fail(f"not a minigrad checkpoint (an empty zip archive, without {_MANIFEST})")
    if members[0].header_offset != source.start:
        source.fail("corrupt checkpoint: bytes before the first member of the zip archive")
    for member, following in zip(members, members[1:]):
        _check_member_end(source, member, following.header_offset)
    _check_member_end(source, members[-1], directory_start)
    return members[0], members[1:]


def _read_member_bytes(source, member):
    data = bytearray(member.size)
    crc = source.read_into(member.data_offset, memoryview(data), 0)
    if crc != member.crc:
        source.fail(f"corrupt checkpoint: member {member.name} fails its CRC-32 check")
    return bytes(data)


# --------------------------------------------------------------------------------------------
# Loading, part 2: the .npy members. The header is parsed by numpy (a literal, never code)
# from at most _MAX_NPY_HEADER bytes; the dtype must be a tensor dtype and the shape's size
# must fill the member exactly, before the array is allocated and read straight into.
# --------------------------------------------------------------------------------------------

class _ArraySpec:
    """What a .npy member holds and where its data starts."""

    __slots__ = ("count", "dtype", "fortran_order", "header_crc", "member", "payload_offset",
                 "shape")

    def __init__(self, member, header, dtype, shape, fortran_order, count):
        self.member = member
        self.dtype = dtype
        self.shape = shape
        self.fortran_order = fortran_order
        self.count = count
        self.payload_offset = member.data_offset + len(header)
        from zlib import crc32

        self.header_crc = crc32(header)


def _read_array_spec(source, member, parsed_headers):
    """Check a .npy member's header against its size; ``parsed_headers`` caches the parse of
    each distinct header (layers of one shape share it)."""
    fail = source.fail
    name = member.name
    head = member.head
    if len(head) < min(12, member.size):
        head = source.read(member.data_offset, min(12, member.size))
    if head[:6] != b"\x93NUMPY" or len(head) < 10:
        fail(f"corrupt checkpoint: member {name} is not a .npy array")
    version = head[6]
    if version == 1:
        header_end = 10 + struct.unpack_from("<H", head, 8)[0]
    elif version == 2 and len(head) >= 12:
        header_end = 12 + struct.unpack_from("<L", head, 8)[0]
    else:
        fail(f"corrupt checkpoint: member {name} is a .npy file of an unsupported version "
             f"{tuple(head[6:8])}")
    if header_end > _MAX_NPY_HEADER or header_end > member.size:
        fail(f"corrupt checkpoint: member {name} has a .npy header of {header_end} bytes")
    if header_end > len(head):
        head = source.read(member.data_offset, header_end)
    header = bytes(head[:header_end])
    if header not in parsed_headers:
        parsed_headers[header] = _parse_npy_header(source, name, header, version)
    dtype, shape, fortran_order, count = parsed_headers[header]
    member.head = None  # read; no need to keep it
    data_size = member.size - header_end
    if count * dtype.itemsize != data_size:
        what = ("trailing bytes after the data" if count * dtype.itemsize < data_size
                else "too few bytes for it")
        fail(f"corrupt checkpoint: member {name} declares shape {shape} of {dtype} "
             f"({count * dtype.itemsize} bytes) but holds {data_size} bytes: {what}")
    return _ArraySpec(member, header, dtype, shape, fortran_order, count)


# Exactly the header numpy writes (the repr of a dict with sorted keys, padded with spaces
# and a newline) for a dtype without fields: parsed by this pattern rather than by
# ast.literal_eval, which numpy uses, because Python's parser warns (SyntaxWarning) about
# some malformed literals, and numpy adds a fallback for headers written by Python 2.
_NPY_HEADER = (
    rb"\{'descr': '(?P<descr>[<>|=]?[A-Za-z][A-Za-z0-9\[\]]{0,15})', "
    rb"'fortran_order': (?P<order>True|False), "
    rb"'shape': \((?P<shape>|[0-9]{1,20},|[0-9]{1,20}(?:, [0-9]{1,20}){1,63})\), \} *\n")


# The descr of each tensor dtype, in either byte order, as numpy writes it: '<f8', '|b1', ...
_NPY_DESCRS = {dtype.newbyteorder(order).str.encode(): dtype.newbyteorder(order)
               for dtype in _TENSOR_DTYPES for order in "<>"}


def _parse_npy_header(source, name, header, version):
    """(dtype, shape, fortran_order, element count) of a .npy header."""
    match = re.fullmatch(_NPY_HEADER, header[10 if version == 1 else 12:])
    if match is None:
        source.fail(f"corrupt checkpoint: member {name} has a bad .npy header "
                    f"{header[8:]!r:.120}")
    dtype = _NPY_DESCRS.get(match.group("descr"))
    if dtype is None:
        source.fail(f"member {name} holds dtype {match.group('descr').decode('ascii')}; a "
                    f"checkpoint holds only the tensor dtypes (bool, uint8, int8, int16, "
                    f"int32, int64, float16, float32, float64)")
    shape = tuple(int(n) for n in match.group("shape").split(b",") if n)
    count = 1
    for n in shape:
        count *= n  # a Python int: no overflow, however large the forged shape
    return dtype, shape, match.group("order") == b"True", count


def _read_array(source, spec):
    """The array ``spec`` describes, in native byte order, its CRC-32 checked."""
    array = np.empty(spec.count, dtype=spec.dtype)
    crc = source.read_into(spec.payload_offset, memoryview(array).cast("B"), spec.header_crc)
    if crc != spec.member.crc:
        source.fail(f"corrupt checkpoint: member {spec.member.name} fails its CRC-32 check")
    if spec.dtype.kind == "b" and spec.count and array.view(np.uint8).max() > 1:
        # numpy and the kernels assume a bool byte is 0 or 1; anything else misbehaves.
        source.fail(f"corrupt checkpoint: member {spec.member.name} holds bools other than "
                    f"0 and 1")
    if not spec.dtype.isnative:
        array.byteswap(inplace=True)
        array = array.view(spec.dtype.newbyteorder("="))
    if spec.fortran_order:
        return array.reshape(spec.shape[::-1]).transpose()
    return array.reshape(spec.shape)


# --------------------------------------------------------------------------------------------
# Loading, part 3: the manifest, parsed as JSON only after its limits are checked, with
# objects kept as tuples of (key, value) pairs so a duplicated key is seen, not overwritten.
# --------------------------------------------------------------------------------------------

def _parse_manifest(source, member):
    if member.size > MAX_MANIFEST_BYTES:
        source.fail(f"the manifest is {member.size} bytes; the limit is {MAX_MANIFEST_BYTES}")
    data = _read_member_bytes(source, member)
    problem = _manifest_problem(data)
    if problem:
        source.fail(f"corrupt manifest: {problem}")
    try:
        manifest = json.loads(data.decode("utf-8"), object_pairs_hook=tuple)
    except ValueError as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        source.fail(f"corrupt manifest ({type(exc).__name__}: {exc})")
    fields = dict(manifest) if type(manifest) is tuple else None
    if fields is not None and len(fields) != len(manifest):
        source.fail("corrupt manifest: a duplicate key in its top-level object")
    if fields is None or fields.get("format") != FORMAT_NAME:
        source.fail(f"not a minigrad checkpoint (its {_MANIFEST} does not name the format "
                    f"{FORMAT_NAME!r})")
    version = fields.get("version")
    if type(version) is not int or "root" not in fields:
        source.fail("corrupt manifest (no format version or root)")
    if version > FORMAT_VERSION:
        source.fail(f"written in checkpoint format version {version} by a newer minigrad; "
                    f"this one reads up to version {FORMAT_VERSION}")
    if set(fields) != {"format", "version", "root"}:
        source.fail(f"corrupt manifest: unexpected fields {sorted(fields)}")
    return fields["root"]


class _Decoder:
    """Rebuilds the structure from a manifest node, reading each array member once."""

    def __init__(self, source, specs):
        self.source = source
        self.specs = specs
        self._loaded = {}  # array index -> (tag, the object made from it): shared stays shared

    def fail(self, message):
        self.source.fail(message)

    def decode(self, node):
        if node is None or type(node) in (bool, int, str):
            return node
        if type(node) is not tuple or not node:
            self.fail(f"corrupt manifest: unexpected node {_short(node)}")
        tag, value = node[0]
        if len(node) == 1:
            if tag in ("list", "tuple") and type(value) is list:
                items = [self.decode(item) for item in value]
                return items if tag == "list" else tuple(items)
            if tag == "float" and type(value) is str:
                return self._parse_float(value)
            if (tag == "complex" and type(value) is list and len(value) == 2
                    and all(type(part) is str for part in value)):
                return complex(self._parse_float(value[0]), self._parse_float(value[1]))
            if tag in ("ndarray", "numpy_scalar"):
                return self._array_object(value, tag, False)
        elif len(node) == 2:
            second, flag = node[1]
            if (tag == "dict" and second == "ordered" and type(value) is list
                    and type(flag) is bool):
                return self._decode_dict(value, flag)
            if tag == "tensor" and second == "requires_grad":
                return self._array_object(value, tag, flag)
        self.fail(f"corrupt manifest: unknown node {_short(node)}")

    def _decode_dict(self, entries, ordered):
        result = OrderedDict() if ordered else {}
        for entry in entries:
            if (type(entry) is not list or len(entry) != 2
                    or type(entry[0]) not in (str, int, bool)):
                self.fail(f"corrupt manifest: bad dict entry {_short(entry)}")
            result[entry[0]] = self.decode(entry[1])
        if len(result) != len(entries):  # a key twice (or both 1 and true): last would win
            self.fail(f"corrupt manifest: a dict with a duplicate key {_short(entries)}")
        return result

    def _parse_float(self, text):
        # save writes repr(x), which float() reads back exactly; float() also reads other
        # spellings ("1_0", " 1 ", "infinity"), which are not a checkpoint's.
        try:
            value = float(text) if len(text) <= 32 else None
        except ValueError:
            value = None
        if value is None or repr(value) != text:
            self.fail(f"corrupt manifest: {text!r:.80} is not a float as save writes it")
        return value

    def _array_object(self, index, tag, requires_grad):
        if type(index) is not int or index < 0 or type(requires_grad) is not bool:
            self.fail(f"corrupt manifest: bad array reference {index!r}")
        if index in self._loaded:
            loaded_tag, obj = self._loaded[index]
            if loaded_tag != tag:
                self.fail(f"corrupt manifest: array {index} is used as both {loaded_tag} "
                          f"and {tag}")
            return obj
        if index >= len(self.specs):
            self.fail(f"member arrays/{index}.npy is missing")
        array = _read_array(self.source, self.specs[index])
        if tag == "tensor":
            obj = from_numpy(array)
            if requires_grad:
                if array.dtype.kind != "f":
                    self.fail(f"corrupt manifest: a {array.dtype} tensor cannot require grad")
                obj.requires_grad_(True)
        elif tag == "numpy_scalar":
            if array.ndim != 0:
                self.fail(f"corrupt manifest: numpy scalar {index} has shape {array.shape}")
            obj = array[()]
        else:
            obj = array
        self._loaded[index] = (tag, obj)
        return obj

    def check_all_used(self):
        if len(self._loaded) != len(self.specs):
            unused = min(set(range(len(self.specs))) - set(self._loaded))
            self.fail(f"corrupt checkpoint: member arrays/{unused}.npy is not in the manifest")


def _short(node, limit=80):
    text = repr(dict(node) if type(node) is tuple else node)
    return text if len(text) <= limit else text[:limit] + "..."


# --------------------------------------------------------------------------------------------
# Loading, part 4: the file itself. Only a regular file is read, and only its size is read.
# --------------------------------------------------------------------------------------------

_FILE_KINDS = [(stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
               (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
               (stat.S_ISSOCK, "a socket")]


def _check_regular(status, where):
    if not stat.S_ISREG(status.st_mode):
        kind = next((text for test, text in _FILE_KINDS if test(status.st_mode)),
                    "not a regular file")
        raise CheckpointError(f"{where}: not a minigrad checkpoint: it is {kind}, and a "
                              f"checkpoint is a regular file")


def load(f: FileLike, map_location: Any = None, *, weights_only: bool = True,
         mmap: bool | None = None) -> Any:
    """Load what ``save`` wrote, from a path or a seekable binary file object.

    Never executes code from the file: the structure comes from JSON and the arrays from
    ``.npy`` members parsed here, numbers only. Loaded Tensors are fresh leaves (no graph, no
    ``.grad``) with the saved dtype, shape, values and ``requires_grad``, in native byte order.

    ``map_location``, ``weights_only`` and ``mmap`` are accepted for PyTorch compatibility and
    change nothing: minigrad runs on the CPU, and its checkpoints never hold anything but
    weights-like data, so loading is always "weights only".

    Raises CheckpointError (a RuntimeError and ValueError) naming the file when it is empty,
    truncated, corrupt, of another format (a pickle, a torch.save file, a zip without a
    manifest), not a regular file (a directory, FIFO or device), or outside what ``save``
    writes (compressed or unknown members, other dtypes, a manifest past the limits); it is
    raised after reading at most the file's size, before allocating more than that.
    FileNotFoundError when there is no file; io.UnsupportedOperation (an OSError) for a file
    object that cannot seek, as torch.load.
    """
    del map_location, weights_only, mmap  # accepted for compatibility; see the docstring
    if hasattr(f, "read"):
        where = repr(getattr(f, "name", f))
        if not _seekable(f):
            raise io.UnsupportedOperation(
                f"{where}: can only load from a file that is seekable; read it into a buffer "
                f"such as io.BytesIO and load from that")
        try:
            fd = f.fileno()
        except (AttributeError, OSError):  # BytesIO and friends: io.UnsupportedOperation
            fd = None
        if fd is not None:
            _check_regular(os.fstat(fd), where)
        start = f.tell()
        end = max(f.seek(0, os.SEEK_END), start)
        return _load_from(_Source(f, start, end, where))
    path = os.fspath(f)
    where = repr(path)
    # stat first: opening a FIFO would block until a writer appears, and reading a device
    # would not end. fstat after opening closes the gap in which the path could be swapped.
    _check_regular(os.stat(path), where)
    flags = os.O_RDONLY
    for name in ("O_NONBLOCK", "O_NOCTTY", "O_BINARY"):  # whichever this system has
        flags |= getattr(os, name, 0)
    fd = os.open(path, flags)
    with open(fd, "rb", buffering=0) as fileobj:
        status = os.fstat(fd)
        _check_regular(status, where)
        return _load_from(_Source(fileobj, 0, status.st_size, where))


def _seekable(f):
    try:
        return f.seekable()
    except (AttributeError, OSError, ValueError):
        return False


def _load_from(source):
    try:
        if source.end == source.start:
            source.fail("the file is empty, not a minigrad checkpoint")
        if source.read(source.start, 1) == b"\x80":
            source.fail("this is a pickle file (e.g. from pickle.dump or an old torch.save), not "
                        "a minigrad checkpoint; minigrad never unpickles, since unpickling can "
                        "run arbitrary code")
        manifest_member, array_members = _read_members(source)
        root = _parse_manifest(source, manifest_member)
        parsed_headers = {}
        specs = [_read_array_spec(source, member, parsed_headers)
                 for member in array_members]
        decoder = _Decoder(source, specs)
        obj = decoder.decode(root)
        decoder.check_all_used()
        return obj
    except (CheckpointError, MemoryError, RecursionError):
        # Nothing is allocated beyond the file's size and nothing recurses past the nesting
        # limit, so these two say the machine cannot hold the file or the caller is already
        # deep: not that the file is bad.
        raise
    except Exception as exc:
        # What else a damaged file can provoke (an OSError reading it, ...): say which file,
        # and keep the original as the cause.
        raise CheckpointError(f"{source.where}: truncated or corrupt checkpoint "
                              f"({type(exc).__name__}: {exc})") from exc
