"""Hostile checkpoints: files built to exhaust memory, time or the C stack, or to make two
zip readers disagree, must each be refused with CheckpointError naming the file, quickly and
in bounded memory.

Each case below builds its file (small: zip bombs are made from one repeated deflate chunk),
and one child process loads them all, one after another, under a 512 MiB address-space limit
(RLIMIT_AS), with the recursion limit raised to a million (as a program with a deep model
might; json.loads then overflows the C stack instead of raising RecursionError) and Python's
int-digit limit switched off (as some programs do). For every case the child reports what
happened, how long it took and how much its peak memory grew; a case that kills the child
(segfault, the kernel's OOM killer) or hangs is recorded as such and a new child takes the
remaining cases. The tests then check, per case, that the child raised CheckpointError naming
the file and the reason, that memory never ran out on the way (no MemoryError behind it,
peak memory grown by less than 64 MiB) and that it did not hang (the time bound is a hang
guard, far above what any case takes).
"""
import io
import json
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import zlib

import numpy as np
import pytest

import minigrad as mg

pytestmark = pytest.mark.skipif(os.name != "posix" or not hasattr(os, "mkfifo"),
                                reason="FIFOs, devices and RLIMIT_AS are POSIX")

MEMORY_LIMIT = 512 * 2**20
MAX_RSS_GROWTH_KIB = 64 * 1024
HANG_SECONDS = 10

CHILD = r"""
import json, os, resource, sys, time
import numpy as np
import minigrad as mg
from minigrad.serialization import CheckpointError

cases = json.loads(sys.stdin.read())
limit = int(os.environ["HOSTILE_MEMORY_LIMIT"])
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
sys.setrecursionlimit(1_000_000)
if hasattr(sys, "set_int_max_str_digits"):
    sys.set_int_max_str_digits(0)


def summary(value):
    if isinstance(value, dict):
        return {str(k): summary(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [summary(v) for v in value]
    if isinstance(value, mg.Tensor):
        value = value.numpy()
    if isinstance(value, np.ndarray):
        return {"dtype": value.dtype.str, "values": value.tolist()}
    return repr(value)


def peak_kib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


for name, path in cases:
    print(json.dumps({"start": name}), flush=True)
    result = {"name": name}
    before = peak_kib()
    start = time.perf_counter()
    try:
        if path.startswith("file object:"):  # load from an open file object, not a path
            with open(path[len("file object:"):], "rb") as f:
                value = mg.load(f)
        else:
            value = mg.load(path)
    except CheckpointError as exc:
        cause = exc.__cause__
        result.update(kind="CheckpointError", message=str(exc),
                      cause=None if cause is None else type(cause).__name__)
    except BaseException as exc:
        result.update(kind=type(exc).__name__, message=str(exc)[:1000])
    else:
        result.update(kind="loaded", value=summary(value))
    result.update(seconds=time.perf_counter() - start, rss_growth_kib=peak_kib() - before)
    print(json.dumps(result, default=repr), flush=True)
"""


# --------------------------------------------------------------------------------------------
# Building archives byte by byte, so that every field can lie
# --------------------------------------------------------------------------------------------

def npy(array):
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array, allow_pickle=array.dtype.hasobject)
    return buffer.getvalue()


def npy_with_header(header, data=b"", version=1):
    """A .npy member with the header dict text ``header`` (padded as numpy pads)."""
    text = header.encode("latin1")
    length_size = 2 if version == 1 else 4
    padding = -(10 + len(text) + 1) % 64 if version == 1 else -(12 + len(text) + 1) % 64
    text += b" " * padding + b"\n"
    length = struct.pack("<H" if version == 1 else "<I", len(text))
    assert len(length) == length_size
    return b"\x93NUMPY" + bytes([version, 0]) + length + text + data


def manifest(root, **fields):
    return json.dumps({"format": "minigrad-checkpoint", "version": 1, "root": root,
                       **fields}).encode()


def member(name, data, **fields):
    """A member of build_zip: ``data`` is written as is; every other field can be overridden:
    method, flags, crc (of the content), size (uncompressed), csize (stored bytes), and
    local_* / central_* versions of name, crc and sizes, offset (central), descriptor."""
    spec = {"name": name.encode() if isinstance(name, str) else name, "data": data,
            "method": 0, "flags": 0, "crc": zlib.crc32(data), "size": len(data),
            "csize": len(data), "descriptor": b""}
    spec.update(fields)
    return spec


def build_zip(members, *, prefix=b"", suffix=b"", comment=b"", entries=None, cd_size=None,
              cd_offset=None, extra_entries=()):
    out = bytearray(prefix)
    central = []
    for spec in list(members):
        offset = len(out)
        name = spec["name"]
        local_name = spec.get("local_name", name)
        local = struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, spec["flags"], spec["method"], 0,
                            0x21, spec.get("local_crc", spec["crc"]),
                            spec.get("local_csize", spec["csize"]),
                            spec.get("local_size", spec["size"]), len(local_name), 0)
        out += local + local_name + spec["data"] + spec["descriptor"]
        central.append(struct.pack(
            "<4s6H3L5H2L", b"PK\x01\x02", 20, 20, spec["flags"], spec["method"], 0, 0x21,
            spec.get("central_crc", spec["crc"]), spec.get("central_csize", spec["csize"]),
            spec.get("central_size", spec["size"]), len(name), 0, 0, 0, 0, 0,
            spec.get("offset", offset)) + name)
    central.extend(extra_entries)
    directory = b"".join(central)
    directory_offset = len(out)
    out += directory
    count = len(central) if entries is None else entries
    out += struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, count, count,
                       len(directory) if cd_size is None else cd_size,
                       directory_offset if cd_offset is None else cd_offset, len(comment))
    out += comment + suffix
    return bytes(out)


GOOD_ARRAY = np.array([1.0, 2.0, 3.0])


def good_members():
    return [member("manifest.json", manifest({"ndarray": 0})),
            member("arrays/0.npy", npy(GOOD_ARRAY))]


def deflate_bomb(block, repeats, head=b""):
    """A raw deflate stream of ``head + block * repeats`` made by repeating one chunk (a full
    flush makes each chunk independent of the others): small to build and store,
    ``len(block) * repeats`` bytes to inflate."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    start = compressor.compress(head) + compressor.flush(zlib.Z_FULL_FLUSH)
    chunk = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
    return start + chunk * repeats + compressor.flush()


def central_entry(name, offset=0, size=0):
    name = name.encode()
    return struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, 0, 0, 0x21, 0, size, size,
                       len(name), 0, 0, 0, 0, 0, offset) + name


# --------------------------------------------------------------------------------------------
# The cases: name -> (function building the file in a directory, returning its path,
# the fragment the error message must contain)
# --------------------------------------------------------------------------------------------

CASES = {}


def case(fragment):
    def register(build):
        CASES[build.__name__] = (build, fragment)
        return build
    return register


def write(directory, name, data):
    path = os.path.join(directory, name + ".mg")
    with open(path, "wb") as f:
        f.write(data)
    return path


# Not a regular file: opening it would block (FIFO) or reading it would never end (devices).

@case("character device")
def dev_zero(directory):
    return "/dev/zero"


@case("character device")
def dev_urandom(directory):
    return "/dev/urandom"


@case("character device")
def dev_zero_as_a_file_object(directory):
    return "file object:/dev/zero"  # seekable, and endless


@case("character device")
def symlink_to_dev_zero(directory):
    path = os.path.join(directory, "zero-link.mg")
    os.symlink("/dev/zero", path)
    return path


@case("FIFO")
def fifo(directory):
    path = os.path.join(directory, "pipe.mg")
    os.mkfifo(path)
    return path


@case("FIFO")
def symlink_to_fifo(directory):
    target = os.path.join(directory, "pipe2.mg")
    os.mkfifo(target)
    path = os.path.join(directory, "pipe-link.mg")
    os.symlink(target, path)
    return path


@case("directory")
def directory_path(directory):
    path = os.path.join(directory, "a-directory.mg")
    os.mkdir(path)
    return path


@case("socket")
def unix_socket(directory):
    path = os.path.join(directory, "sock.mg")
    server = socket.socket(socket.AF_UNIX)
    server.bind(path)
    CASES_KEEP_ALIVE.append(server)
    return path


CASES_KEEP_ALIVE = []


@case("empty")
def proc_file_reporting_size_zero(directory):
    return "/proc/self/status"  # a regular file of st_size 0 that yields bytes when read


# Not a checkpoint at all.

@case("empty")
def empty_file(directory):
    return write(directory, "empty", b"")


@case("not a minigrad checkpoint")
def wrong_magic(directory):
    return write(directory, "magic", b"GIF89a" + bytes(range(256)) * 4)


@case("pickle")
def pickle_file(directory):
    import pickle
    return write(directory, "pickle", pickle.dumps({"w": [1.0, 2.0]}, protocol=4))


@case("not a minigrad checkpoint")
def npy_file(directory):
    return write(directory, "npy", npy(GOOD_ARRAY))


@case("without manifest.json")
def npz_file(directory):
    path = os.path.join(directory, "arrays.npz")
    np.savez(path, a=GOOD_ARRAY)
    return path


@case("PyTorch")
def torch_style_zip(directory):
    return write(directory, "torch", build_zip([member("archive/data.pkl", b"\x80\x02}q\x00."),
                                               member("archive/version", b"3\n")]))


@case("empty zip archive")
def empty_zip(directory):
    return write(directory, "emptyzip", build_zip([]))


@case("no zip end record")
def zip_with_comment(directory):
    return write(directory, "comment", build_zip(good_members(), comment=b"hello"))


# Truncated, extended, shifted.

def good_checkpoint_bytes():
    buffer = io.BytesIO()
    mg.save({"w": mg.tensor([1.0, 2.0]), "b": np.arange(3)}, buffer)
    return buffer.getvalue()


@case("truncated")
def truncated_in_half(directory):
    data = good_checkpoint_bytes()
    return write(directory, "half", data[:len(data) // 2])


@case("truncated")
def truncated_by_one_byte(directory):
    return write(directory, "minus1", good_checkpoint_bytes()[:-1])


@case("no zip end record")
def junk_appended(directory):
    return write(directory, "junk-after", good_checkpoint_bytes() + b"\x00" * 100)


@case("bytes before the first member")
def junk_prepended(directory):
    return write(directory, "junk-before", build_zip(good_members(), prefix=b"#!/bin/sh\n"))


# Zip bombs and lying sizes: nothing is inflated, nothing is allocated from a declared size.

@case("compressed")
def manifest_inflating_to_1_gib(directory):
    # The manifest: 1 GiB of JSON whitespace in about 1 MB of deflate.
    bomb = deflate_bomb(b" " * 2**22, 256)
    return write(directory, "manifest-bomb", build_zip(
        [member("manifest.json", bomb, method=8, size=2**30, crc=0)]))


@case("compressed")
def array_inflating_to_2_gib(directory):
    # A valid manifest, then an array whose .npy header claims 2 GiB of float64 zeros, the
    # data being deflate that inflates to that: 2 MB on disk.
    header = npy_with_header("{'descr': '<f8', 'fortran_order': False, 'shape': (268435456,), }")
    bomb = deflate_bomb(b"\x00" * 2**22, 512, head=header)
    return write(directory, "array-bomb", build_zip(
        [member("manifest.json", manifest({"ndarray": 0})),
         member("arrays/0.npy", bomb, method=8, size=len(header) + 2**31, crc=0)]))


@case("compressed")
def compressed_small_array(directory):
    data = npy(GOOD_ARRAY)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    deflated = compressor.compress(data) + compressor.flush()
    return write(directory, "deflated", build_zip(
        [member("manifest.json", manifest({"ndarray": 0})),
         member("arrays/0.npy", deflated, method=8, size=len(data), crc=zlib.crc32(data))]))


@case("claims")
def member_claiming_4_gib(directory):
    members = good_members()
    members[1].update(size=2**32 - 2, csize=2**32 - 2)
    return write(directory, "claims-tb", build_zip(members))


@case("claims more than the file holds")
def directory_claiming_65535_entries(directory):
    return write(directory, "entries", build_zip(good_members(), entries=65535))


@case("claims more than the file holds")
def directory_claiming_4_gib(directory):
    return write(directory, "cdsize", build_zip(good_members(), cd_size=2**32 - 2))


@case("claims more than the file holds")
def zip64_directory_claiming_2_to_the_60_entries(directory):
    data = bytearray(build_zip(good_members()))
    end = data[-22:]
    del data[-22:]
    record_offset = len(data)
    cd_size, cd_offset = struct.unpack_from("<2L", end, 12)
    data += struct.pack("<4sQ2H2L4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, 2**60, 2**60, cd_size,
                        cd_offset)
    data += struct.pack("<4sLQL", b"PK\x06\x07", 0, record_offset, 1)
    data += struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, cd_size, cd_offset, 0)
    return write(directory, "zip64-count", bytes(data))


@case("declares shape")
def npy_header_claiming_8_terabytes(directory):
    data = npy_with_header("{'descr': '<f8', 'fortran_order': False, 'shape': (10**12,), }"
                           .replace("10**12", str(10**12)), b"\x00" * 64)
    return write(directory, "npy-8tb", build_zip(
        [member("manifest.json", manifest({"tensor": 0, "requires_grad": False})),
         member("arrays/0.npy", data)]))


@case("declares shape")
def npy_shape_whose_product_overflows_int64(directory):
    shape = f"({2**40}, {2**40}, {2**40})"
    data = npy_with_header(f"{{'descr': '<f4', 'fortran_order': False, 'shape': {shape}, }}")
    return write(directory, "npy-overflow", build_zip(
        [member("manifest.json", manifest({"ndarray": 0})), member("arrays/0.npy", data)]))


@case("header of")
def npy_header_of_a_megabyte(directory):
    data = npy_with_header("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }"
                           + " " * 2**20, b"\x00" * 8, version=2)
    return write(directory, "npy-bighead", build_zip(
        [member("manifest.json", manifest({"ndarray": 0})), member("arrays/0.npy", data)]))


@case("unsupported version")
def npy_version_3(directory):
    data = npy_with_header("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }",
                           b"\x00" * 8, version=2)
    data = data[:6] + b"\x03" + data[7:]
    return write(directory, "npy-v3", build_zip(
        [member("manifest.json", manifest({"ndarray": 0})), member("arrays/0.npy", data)]))


@case("bad .npy header")
def npy_header_that_is_code(directory):
    marker = os.path.join(directory, "npy-header-ran")
    data = npy_with_header(f"__import__('os').mkdir({marker!r})", b"\x00" * 8)
    return write(directory, "npy-code", build_zip(
        [member("manifest.json", manifest({"ndarray": 0})), member("arrays/0.npy", data)]))


def _add_npy_header_case(label, header, fragment):
    def build(directory):
        data = npy_with_header(header, b"\x00" * 24)
        return write(directory, f"npy-{label}", build_zip(
            [member("manifest.json", manifest({"ndarray": 0})), member("arrays/0.npy", data)]))
    build.__name__ = f"npy_header_{label}"
    case(fragment)(build)


for _label, _header, _fragment in [
        # numpy reads Python 2's long ints (3L) with a warning; the writer never writes them.
        ("python2_long", "{'descr': '<f8', 'fortran_order': False, 'shape': (3L,), }",
         "bad .npy header"),
        ("extra_key", "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), 'x': 1, }",
         "bad .npy header"),
        ("missing_key", "{'descr': '<f8', 'shape': (3,), }", "bad .npy header"),
        ("order_not_bool", "{'descr': '<f8', 'fortran_order': 0, 'shape': (3,), }",
         "bad .npy header"),
        ("shape_of_floats", "{'descr': '<f8', 'fortran_order': False, 'shape': (3.0,), }",
         "bad .npy header"),
        ("shape_negative", "{'descr': '<f8', 'fortran_order': False, 'shape': (-3,), }",
         "bad .npy header"),
        ("shape_of_65_dimensions", "{'descr': '<f8', 'fortran_order': False, 'shape': ("
         + "1, " * 64 + "1), }", "bad .npy header"),
        ("descr_deprecated_alias", "{'descr': '|a8', 'fortran_order': False, 'shape': (3,), }",
         "holds dtype |a8"),
        ("keys_out_of_order", "{'shape': (3,), 'fortran_order': False, 'descr': '<f8', }",
         "bad .npy header"),
        ("nested_parentheses", "{'descr': '<f8', 'fortran_order': False, 'shape': "
         + "(" * 3000 + "3," + ")" * 3000 + ", }", "bad .npy header"),
        ("nested_lists", "[" * 4000 + "]" * 4000, "bad .npy header"),
        ("descr_list", "{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (3,), }",
         "bad .npy header")]:
    _add_npy_header_case(_label, _header, _fragment)


@case("trailing bytes")
def npy_with_trailing_bytes(directory):
    return write(directory, "npy-trailing", build_zip(
        [member("manifest.json", manifest({"ndarray": 0})),
         member("arrays/0.npy", npy(GOOD_ARRAY) + b"hidden")]))


@case("too few bytes")
def npy_with_missing_bytes(directory):
    return write(directory, "npy-short", build_zip(
        [member("manifest.json", manifest({"ndarray": 0})),
         member("arrays/0.npy", npy(GOOD_ARRAY)[:-8])]))


# The manifest: size, nesting, breadth, numbers, keys.

@case("the limit is 16777216")
def manifest_over_16_mib(directory):
    text = manifest("x" * (2**24 + 10))
    return write(directory, "manifest-big", build_zip([member("manifest.json", text)]))


@case("nested 100000 deep")
def manifest_nested_100000_deep_in_arrays(directory):
    text = b"[" * 100000 + b"]" * 100000
    return write(directory, "deep-arrays", build_zip([member("manifest.json", text)]))


@case("nested 100001 deep")
def manifest_nested_100000_deep_in_objects(directory):
    text = b'{"format": "minigrad-checkpoint", "version": 1, "root": ' + b'{"list": [' * 50000
    text += b"]}" * 50000 + b"}"
    return write(directory, "deep-objects", build_zip([member("manifest.json", text)]))


@case("nested 100000 deep")
def manifest_nested_deep_and_unterminated(directory):
    # No closing brackets at all: json.loads would still recurse all the way down first.
    text = b'{"format": "minigrad-checkpoint", "root": ' + b"[" * 99999 + b'"unterminated'
    return write(directory, "deep-open", build_zip([member("manifest.json", text)]))


@case("nested 304 deep")
def manifest_one_level_past_the_limit(directory):
    text = (b'{"format": "minigrad-checkpoint", "version": 1, "root": ' + b"[" * 303
            + b"]" * 303 + b"}")
    return write(directory, "deep-304", build_zip([member("manifest.json", text)]))


@case("arrays and objects")
def manifest_of_a_million_empty_lists(directory):
    text = manifest({"list": [[]]}).replace(b"[[]]", b"[" + b"[]," * 2**20 + b"[]]")
    return write(directory, "breadth", build_zip([member("manifest.json", text)]))


@case("digits")
def manifest_with_a_two_million_digit_int(directory):
    # With the int-digit limit off, parsing this takes time quadratic in its length.
    text = manifest(0).replace(b'"root": 0', b'"root": ' + b"7" * 2_000_000)
    return write(directory, "long-int", build_zip([member("manifest.json", text)]))


@case("duplicate key")
def manifest_with_duplicate_root(directory):
    text = manifest(1)[:-1] + b', "root": {"ndarray": 0}}'
    return write(directory, "dup-key", build_zip(
        [member("manifest.json", text), member("arrays/0.npy", npy(GOOD_ARRAY))]))


@case("unknown node")
def manifest_with_duplicate_key_in_a_node(directory):
    text = manifest(0).replace(b'"root": 0', b'"root": {"tensor": 0, "tensor": 0}')
    return write(directory, "dup-node-key", build_zip(
        [member("manifest.json", text), member("arrays/0.npy", npy(GOOD_ARRAY))]))


@case("corrupt manifest")
def manifest_not_utf8(directory):
    return write(directory, "latin1", build_zip([member("manifest.json", b"\xff\xfe{}")]))


@case("unexpected node")
def manifest_with_json_float(directory):
    return write(directory, "json-float", build_zip([member("manifest.json", manifest(1.5))]))


@case("unexpected node")
def manifest_with_nan_literal(directory):
    text = manifest(0).replace(b'"root": 0', b'"root": NaN')
    return write(directory, "nan", build_zip([member("manifest.json", text)]))


@case("unknown node")
def manifest_asking_for_pickle(directory):
    return write(directory, "pickle-node", build_zip(
        [member("manifest.json", manifest({"pickle": "cos\nsystem\n(S'id'\ntR."}))]))


@case("newer")
def manifest_of_a_newer_version(directory):
    return write(directory, "newer", build_zip(
        [member("manifest.json", manifest(1).replace(b'"version": 1', b'"version": 2'))]))


@case("format")
def manifest_of_another_format(directory):
    text = manifest(1).replace(b"minigrad-checkpoint", b"something-else")
    return write(directory, "other-format", build_zip([member("manifest.json", text)]))


@case("missing")
def manifest_referencing_a_missing_array(directory):
    return write(directory, "missing", build_zip(
        [member("manifest.json", manifest({"ndarray": 10**18}))]))


@case("used as both")
def manifest_using_one_array_twice_differently(directory):
    root = {"list": [{"ndarray": 0}, {"tensor": 0, "requires_grad": False}]}
    return write(directory, "two-tags", build_zip(
        [member("manifest.json", manifest(root)), member("arrays/0.npy", npy(GOOD_ARRAY))]))


@case("cannot require grad")
def int_tensor_requiring_grad(directory):
    return write(directory, "int-grad", build_zip(
        [member("manifest.json", manifest({"tensor": 0, "requires_grad": True})),
         member("arrays/0.npy", npy(np.arange(3)))]))


@case("has shape")
def numpy_scalar_with_a_shape(directory):
    return write(directory, "scalar-shape", build_zip(
        [member("manifest.json", manifest({"numpy_scalar": 0})),
         member("arrays/0.npy", npy(GOOD_ARRAY))]))


# Members: names, duplicates, order, layout. Two zip readers must never see two checkpoints.

@case("duplicate member 'manifest.json'")
def duplicate_manifest(directory):
    return write(directory, "dup-manifest", build_zip(
        [member("manifest.json", manifest(1)), member("manifest.json", manifest(2))]))


@case("duplicate member 'arrays/0.npy'")
def duplicate_array(directory):
    members = good_members() + [member("arrays/0.npy", npy(-GOOD_ARRAY))]
    return write(directory, "dup-array", build_zip(members))


@case("duplicate member 'manifest.json'")
def sixty_thousand_duplicate_entries(directory):
    first = good_members()[0]
    extra = [central_entry("manifest.json")] * 60_000
    return write(directory, "dup-60k", build_zip([first], extra_entries=extra))


@case("unexpected member 'evil.txt'")
def unknown_member(directory):
    return write(directory, "unknown", build_zip(good_members() + [member("evil.txt", b"hi")]))


def _add_misnamed_case(label, name):
    def build(directory):
        members = good_members()
        members[1]["name"] = members[1]["local_name"] = name
        return write(directory, f"misnamed-{label}", build_zip(members))
    build.__name__ = f"member_named_{label}"
    case("unexpected member")(build)


for _label, _name in [("dotdot", b"../arrays/0.npy"), ("leading_zero", b"arrays/00.npy"),
                      ("capital", b"Arrays/0.npy"), ("nul", b"arrays/0.npy\x00.txt"),
                      ("backslash", b"arrays\\0.npy"), ("absolute", b"/arrays/0.npy")]:
    _add_misnamed_case(_label, _name)


@case("not in the manifest")
def unreferenced_member(directory):
    members = good_members() + [member("arrays/1.npy", npy(-GOOD_ARRAY))]
    return write(directory, "unreferenced", build_zip(members))


@case("not the first member")
def manifest_not_first(directory):
    members = good_members()
    members[1]["name"] = members[1]["local_name"] = b"arrays/0.npy"
    return write(directory, "not-first", build_zip([members[1], members[0]]))


@case("names another member")
def local_header_naming_another_member(directory):
    members = good_members()
    members[1]["local_name"] = b"arrays/9.npy"
    return write(directory, "local-name", build_zip(members))


@case("does not match the zip directory")
def local_header_with_other_sizes(directory):
    # A streaming reader, trusting local headers, would read 16 bytes; the directory says 24.
    members = good_members()
    size = members[1]["size"]
    members[1].update(local_size=size - 8, local_csize=size - 8)
    return write(directory, "local-size", build_zip(members))


@case("does not match the zip directory")
def local_header_with_other_crc(directory):
    members = good_members()
    members[1]["local_crc"] = members[1]["crc"] ^ 1
    return write(directory, "local-crc", build_zip(members))


@case("overlaps the member before it")
def two_entries_sharing_one_local_header(directory):
    members = good_members()
    members[1]["offset"] = 0  # arrays/0.npy's entry points at manifest.json's bytes
    return write(directory, "shared", build_zip(members))


@case("bytes between")
def gap_between_members(directory):
    members = good_members()
    members[0]["data"] += b"    "  # 4 bytes nobody declares
    members[0]["crc"] = zlib.crc32(members[0]["data"][:-4])
    members[0]["size"] = members[0]["csize"] = len(members[0]["data"]) - 4
    return write(directory, "gap", build_zip(members))


@case("bytes between")
def descriptor_flag_without_descriptor(directory):
    members = good_members()
    members[0]["flags"] = 0x08
    return write(directory, "no-descriptor", build_zip(members))


@case("flags")
def encrypted_member(directory):
    members = good_members()
    members[1]["flags"] = 0x01
    return write(directory, "encrypted", build_zip(members))


# Arrays: only the tensor dtypes, only bools that are 0 or 1, only data that passes its CRC.

def _add_dtype_case(label, array_bytes, fragment):
    def build(directory):
        return write(directory, f"dtype-{label}", build_zip(
            [member("manifest.json", manifest({"ndarray": 0})),
             member("arrays/0.npy", array_bytes)]))
    build.__name__ = f"dtype_{label}"
    case(fragment)(build)


_OBJECT = np.empty(1, dtype=object)
_OBJECT[0] = {"a": 1}
for _label, _bytes, _fragment in [
        ("complex128", npy(np.ones(2, np.complex128)), "holds dtype <c16"),
        ("uint64", npy(np.ones(2, np.uint64)), "holds dtype <u8"),
        ("uint16", npy(np.ones(2, np.uint16)), "holds dtype <u2"),
        ("longdouble", npy(np.ones(2, np.longdouble)), "holds dtype <f"),
        ("unicode", npy(np.array(["ab"])), "holds dtype <U2"),
        ("bytes", npy(np.array([b"ab"])), "holds dtype |S2"),
        ("datetime", npy(np.array(["2020-01-01"], dtype="datetime64[D]")), "holds dtype <M8[D]"),
        ("void", npy(np.zeros(2, dtype="V8")), "holds dtype |V8"),
        ("object_pickle", npy(_OBJECT), "holds dtype |O"),
        ("structured", npy(np.zeros(2, dtype=[("a", "<f4"), ("b", "<i4")])), "bad .npy header")]:
    _add_dtype_case(_label, _bytes, _fragment)


@case("bools other than 0 and 1")
def bool_byte_of_2(directory):
    data = bytearray(npy(np.array([True, False, True])))
    data[-1] = 2
    return write(directory, "bool2", build_zip(
        [member("manifest.json", manifest({"tensor": 0, "requires_grad": False})),
         member("arrays/0.npy", bytes(data))]))


@case("CRC-32")
def array_failing_its_crc(directory):
    members = good_members()
    members[1]["crc"] ^= 0xFFFF
    return write(directory, "crc-array", build_zip(members))


@case("CRC-32")
def manifest_failing_its_crc(directory):
    members = good_members()
    members[0]["crc"] ^= 1
    return write(directory, "crc-manifest", build_zip(members))


# --------------------------------------------------------------------------------------------
# Controls: the same harness loads good files, so refusals above are the file's doing.
# --------------------------------------------------------------------------------------------

CONTROLS = {
    "hand_built_checkpoint": lambda d: write(d, "control-built", build_zip(good_members())),
    "saved_checkpoint": lambda d: write(d, "control-saved", good_checkpoint_bytes()),
}


# --------------------------------------------------------------------------------------------
# The child process and the tests
# --------------------------------------------------------------------------------------------

def _child_env():
    env = dict(os.environ)
    # The child must import the minigrad under test, and keep its address space small.
    package_root = os.path.dirname(os.path.dirname(os.path.abspath(mg.__file__)))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
    env["HOSTILE_MEMORY_LIMIT"] = str(MEMORY_LIMIT)
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env[name] = "1"
    return env


def _run_child(cases, directory):
    """Run ``cases`` ([name, path] pairs) in one child; return {name: result} for those it
    finished, plus the name it died or hung in, with what happened, if it did."""
    process = subprocess.Popen([sys.executable, "-c", CHILD], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=directory,
                               env=_child_env())
    process.stdin.write(json.dumps(cases).encode())
    process.stdin.close()
    results, current, pending = {}, None, b""
    fd = process.stdout.fileno()
    timeout = 60  # the first line waits for the interpreter and the imports
    while True:
        ready, _, _ = select.select([fd], [], [], timeout)
        if not ready:
            process.kill()
            if current is None:
                raise RuntimeError(f"the child hung between cases (after {sorted(results)})")
            process.wait()
            results[current] = {"kind": f"hung (no answer in {timeout} s)"}
            break
        data = os.read(fd, 1 << 16)
        if not data:
            process.wait()
            if current is not None:
                stderr = process.stderr.read().decode(errors="replace")[-2000:]
                results[current] = {"kind": f"child died (exit status {process.returncode})",
                                    "message": stderr}
            elif len(results) < len(cases):
                stderr = process.stderr.read().decode(errors="replace")[-2000:]
                raise RuntimeError(f"the child failed before its first case:\n{stderr}")
            break
        pending += data
        *lines, pending = pending.split(b"\n")
        for line in lines:
            record = json.loads(line)
            if "start" in record:
                current = record["start"]
                timeout = HANG_SECONDS
            else:
                results[record["name"]] = record
                current = None
    process.stdout.close()
    process.stderr.close()
    return results


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    directory = str(tmp_path_factory.mktemp("hostile"))
    builders = dict(CONTROLS)  # first: they also warm the child up
    builders.update((name, build) for name, (build, _) in CASES.items())
    cases = [[name, build(directory)] for name, build in builders.items()]
    results = {}
    try:
        while len(results) < len(cases):
            remaining = [pair for pair in cases if pair[0] not in results]
            results.update(_run_child(remaining, directory))
    finally:
        for server in CASES_KEEP_ALIVE:
            server.close()
    return {name: (path, results[name]) for name, path in cases}, directory


def test_the_suite_has_many_cases():
    assert len(CASES) >= 95, len(CASES)


@pytest.mark.parametrize("name", list(CASES))
def test_hostile_file_is_refused_quickly_in_bounded_memory(outcomes, name):
    results, _ = outcomes
    path, result = results[name]
    fragment = CASES[name][1]
    assert result["kind"] == "CheckpointError", result
    message = result["message"]
    assert path.replace("file object:", "") in message, message
    assert fragment in message, message
    # Running out of memory and recovering is not "bounded memory", nor is a deep recursion.
    assert result["cause"] not in ("MemoryError", "RecursionError"), result
    assert "MemoryError" not in message and "RecursionError" not in message, message
    assert result["rss_growth_kib"] < MAX_RSS_GROWTH_KIB, result
    assert result["seconds"] < HANG_SECONDS, result


@pytest.mark.parametrize("name", list(CONTROLS))
def test_good_files_load_in_the_same_harness(outcomes, name):
    results, _ = outcomes
    _, result = results[name]
    assert result["kind"] == "loaded", result
    value = result["value"]
    if name == "hand_built_checkpoint":
        assert value == {"dtype": np.dtype(np.float64).str, "values": [1.0, 2.0, 3.0]}
    else:
        assert value["w"]["values"] == [1.0, 2.0] and value["b"]["values"] == [0, 1, 2]


def test_no_code_from_a_hostile_file_ran(outcomes):
    _, directory = outcomes
    assert not os.path.exists(os.path.join(directory, "npy-header-ran"))


def test_a_fifo_is_refused_without_blocking_even_with_a_writer_waiting(tmp_path):
    # In-process too: opening a FIFO for reading blocks until a writer appears; load never
    # opens it. (A writer that does appear would block on its own open, so none is started.)
    path = tmp_path / "pipe.mg"
    os.mkfifo(path)

    def blocked(signum, frame):
        raise TimeoutError("mg.load blocked opening a FIFO")

    previous = signal.signal(signal.SIGALRM, blocked)  # a hang guard
    signal.setitimer(signal.ITIMER_REAL, 5)
    try:
        with pytest.raises(mg.CheckpointError, match="FIFO"):
            mg.load(path)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_a_pipe_is_refused_as_torch_load_refuses_it():
    read_end, write_end = os.pipe()
    os.write(write_end, good_checkpoint_bytes())
    os.close(write_end)
    with os.fdopen(read_end, "rb") as f, pytest.raises(io.UnsupportedOperation,
                                                       match="seekable.*BytesIO"):
        mg.load(f)
