"""mg.save / mg.load: round trips, atomic writes, and refusing bad or dangerous files."""
import collections
import concurrent.futures
import io
import json
import math
import os
import pathlib
import pickle
import re
import signal
import subprocess
import sys
import zipfile

import numpy as np
import pytest

import minigrad as mg
from minigrad import serialization
from minigrad.serialization import CheckpointError


def roundtrip(obj, tmp_path):
    path = tmp_path / "checkpoint.mg"
    mg.save(obj, path)
    return mg.load(path)


def assert_same(expected, actual, where="obj"):
    """Deep equality that also checks exact types, dtypes, shapes, NaNs and requires_grad."""
    assert type(actual) is type(expected), f"{where}: {type(actual)} != {type(expected)}"
    if isinstance(expected, mg.Tensor):
        assert actual is not expected
        assert actual.dtype == expected.dtype, where
        assert actual.requires_grad == expected.requires_grad, where
        assert actual.is_leaf and actual.grad is None and actual.grad_fn is None, where
        assert_same(np.array(expected.numpy()), actual.numpy(), where + ".data")
    elif isinstance(expected, np.ndarray):
        assert actual.dtype == expected.dtype, f"{where}: {actual.dtype} != {expected.dtype}"
        assert actual.shape == expected.shape, where
        np.testing.assert_array_equal(actual, expected, err_msg=where)
    elif isinstance(expected, np.generic):
        assert actual.dtype == expected.dtype, where
        np.testing.assert_array_equal(actual, expected, err_msg=where)
    elif isinstance(expected, float):
        assert (math.isnan(expected) and math.isnan(actual)) or (
            actual == expected and math.copysign(1, actual) == math.copysign(1, expected)), where
    elif isinstance(expected, dict):
        assert list(actual.keys()) == list(expected.keys()), where
        for key in expected:
            assert type(next(k for k in actual if k == key)) is type(key), where
            assert_same(expected[key], actual[key], f"{where}[{key!r}]")
    elif isinstance(expected, (list, tuple)):
        assert len(actual) == len(expected), where
        for i, (e, a) in enumerate(zip(expected, actual)):
            assert_same(e, a, f"{where}[{i}]")
    else:
        assert actual == expected, where


# --------------------------------------------------------------------------------------------
# Round trips
# --------------------------------------------------------------------------------------------

# The tensor dtypes: all a checkpoint holds (what load accepts, save writes).
DTYPES = [np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8, np.float16, np.float32,
          np.float64]
# Outside the contract (no minigrad tensor has them): save refuses them, as load does.
OTHER_DTYPES = [np.uint16, np.uint32, np.uint64, np.longdouble, np.complex64, np.complex128]
SHAPES = [(), (0,), (1,), (5,), (3, 4), (2, 0, 3), (2, 3, 4, 1)]


def _array(dtype, shape, rng):
    values = rng.standard_normal(shape) * 100
    if np.dtype(dtype).kind == "c":
        values = values + 1j * rng.standard_normal(shape)
    if np.dtype(dtype).kind == "u":
        values = np.abs(values)
    return np.asarray(values).astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
def test_numpy_array_roundtrip(tmp_path, dtype, shape):
    array = _array(dtype, shape, np.random.default_rng(1))
    assert_same(array, roundtrip(array, tmp_path))


def test_extreme_values_roundtrip(tmp_path):
    special = np.array([np.nan, np.inf, -np.inf, -0.0, 5e-324, np.finfo(np.float64).max])
    ints = np.array([np.iinfo(np.int64).min, np.iinfo(np.int64).max])
    uints = np.array([0, np.iinfo(np.uint8).max], dtype=np.uint8)
    loaded = roundtrip([special, ints, uints], tmp_path)
    assert_same([special, ints, uints], loaded)
    assert np.signbit(loaded[0][3])


@pytest.mark.parametrize("make_view", [
    lambda a: a.T,
    lambda a: a[::-1],
    lambda a: a[:, ::2],
    lambda a: a[::2, 1:],
    lambda a: np.asfortranarray(a),
    lambda a: np.broadcast_to(a[:1], (4, 6)),
], ids=["transposed", "reversed", "strided", "sliced", "fortran", "broadcast"])
def test_non_contiguous_arrays_roundtrip(tmp_path, make_view):
    view = make_view(np.arange(24, dtype=np.float64).reshape(4, 6))
    loaded = roundtrip(view, tmp_path)
    assert_same(np.array(view), loaded)


@pytest.mark.parametrize("value", [
    0, -7, 2**100, -(2**70), True, False, 0.1, -0.0, 1e-310, float("inf"), float("-inf"),
    float("nan"), 1.7976931348623157e308, complex(1.5, -2.25), complex(float("nan"), 0.0),
    "", "text", "héllo ☃ \x00 \"quoted\" \\ back", None,
])
def test_python_scalars_roundtrip(tmp_path, value):
    loaded = roundtrip(value, tmp_path)
    assert type(loaded) is type(value)
    if isinstance(value, complex):
        assert repr(loaded) == repr(value)
    else:
        assert_same(value, loaded)


@pytest.mark.parametrize("value", [
    np.float32(1.5), np.float64(-0.1), np.float16(3.0), np.int8(-3), np.int64(2**62),
    np.uint8(255), np.bool_(True),
])
def test_numpy_scalars_roundtrip(tmp_path, value):
    loaded = roundtrip(value, tmp_path)
    assert type(loaded) is type(value)
    assert loaded == value


@pytest.mark.parametrize("make", [
    lambda dtype: np.zeros(3, dtype=dtype),
    lambda dtype: np.zeros((), dtype=dtype)[()],  # a numpy scalar
], ids=["array", "scalar"])
@pytest.mark.parametrize("dtype", OTHER_DTYPES)
def test_dtypes_outside_the_contract_are_refused_by_save(tmp_path, dtype, make):
    with pytest.raises(TypeError, match=r"obj\['x'\]\[1\]: cannot save an array of dtype "
                       + np.dtype(dtype).name):
        mg.save({"x": [1, make(dtype)]}, tmp_path / "bad.mg")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("dtype", [mg.float32, mg.float64, mg.float16, mg.int64, mg.int32,
                                   mg.int16, mg.int8, mg.uint8, mg.bool])
@pytest.mark.parametrize("shape", [(), (0,), (3,), (2, 3), (2, 0, 4)])
def test_tensor_roundtrip(tmp_path, dtype, shape):
    values = np.random.default_rng(2).standard_normal(shape) * 10
    t = mg.tensor(values.astype(dtype.np_dtype), dtype=dtype)
    assert_same(t, roundtrip(t, tmp_path))


def test_tensor_requires_grad_is_kept_and_loaded_tensor_is_a_fresh_leaf(tmp_path):
    w = mg.tensor([[1.0, -2.0], [3.0, 0.5]], requires_grad=True)
    (w * w).sum().backward()
    assert w.grad is not None
    derived = w * 3  # not a leaf: it has a grad_fn
    loaded = roundtrip({"w": w, "derived": derived}, tmp_path)
    for name, original in [("w", w), ("derived", derived)]:
        t = loaded[name]
        assert t.requires_grad and t.is_leaf and t.grad is None and t.grad_fn is None
        assert t.dtype == mg.float32
        np.testing.assert_array_equal(t.numpy(), original.numpy())
    # The loaded leaf takes part in autograd like any other: d(sum(w*w))/dw = 2w.
    (loaded["w"] * loaded["w"]).sum().backward()
    np.testing.assert_allclose(loaded["w"].grad.numpy(), 2 * w.numpy())


def test_non_contiguous_tensor_roundtrip(tmp_path):
    t = mg.tensor(np.arange(12, dtype=np.float32).reshape(3, 4)).T
    loaded = roundtrip(t, tmp_path)
    assert loaded.shape == (4, 3)
    np.testing.assert_array_equal(loaded.numpy(), np.arange(12, dtype=np.float32).reshape(3, 4).T)


def test_nested_structure_roundtrip(tmp_path):
    weight = mg.tensor(np.ones((2, 3), np.float32), requires_grad=True)
    checkpoint = {
        "epoch": 7,
        "model": collections.OrderedDict([("0.weight", weight), ("0.bias", mg.zeros(2))]),
        "optimizer": {
            # Optimizer state dicts key per-parameter state by int; int and str keys coexist.
            "state": {1: {"step": 3, "exp_avg": np.zeros(3)}, 0: {"step": 3}},
            "param_groups": [{"lr": 1e-3, "betas": (0.9, 0.999), "params": [0, 1],
                              "amsgrad": False, "foreach": None}],
        },
        "mixed": {"1": "str key", 1: "int key", -5: [], "": {}},
        "bool_keys": {True: "yes", False: "no", 2: "two"},
        "empty": ([], (), {}, ""),
        "nested": [[[[1, (2.5, [None])]]]],
        "one_tuple": (3,),
        "losses": [0.9, 0.5, float("nan")],
    }
    loaded = roundtrip(checkpoint, tmp_path)
    assert_same(checkpoint, loaded)
    assert type(loaded["model"]) is collections.OrderedDict
    assert list(loaded["optimizer"]["state"]) == [1, 0]  # insertion order, not sorted


def test_key_order_is_kept(tmp_path):
    keys = ["zeta", "alpha", "mu", 3, 1, 2, "beta"]
    loaded = roundtrip({k: i for i, k in enumerate(keys)}, tmp_path)
    assert list(loaded) == keys


def test_shared_objects_stay_shared(tmp_path):
    t = mg.tensor([1.0, 2.0])
    a = np.arange(3)
    loaded = roundtrip({"first": t, "tied": t, "arrays": [a, a], "other": mg.tensor([1.0, 2.0])},
                       tmp_path)
    assert loaded["first"] is loaded["tied"]
    assert loaded["arrays"][0] is loaded["arrays"][1]
    assert loaded["other"] is not loaded["first"]


def test_loaded_values_are_a_snapshot(tmp_path):
    a = np.arange(4.0)
    t = mg.tensor([1.0, 2.0])
    path = tmp_path / "snap.mg"
    mg.save({"a": a, "t": t}, path)
    a[:] = -1
    t.data[:] = -1
    loaded = mg.load(path)
    np.testing.assert_array_equal(loaded["a"], [0.0, 1.0, 2.0, 3.0])
    np.testing.assert_array_equal(loaded["t"].numpy(), [1.0, 2.0])


def test_str_path_pathlike_and_file_objects(tmp_path):
    obj = {"x": np.arange(5), "y": (1, "two")}
    mg.save(obj, str(tmp_path / "a.mg"))
    assert_same(obj, mg.load(str(tmp_path / "a.mg")))
    mg.save(obj, pathlib.Path(tmp_path / "b.mg"))
    assert_same(obj, mg.load(pathlib.Path(tmp_path / "b.mg")))
    buffer = io.BytesIO()
    mg.save(obj, buffer)
    buffer.seek(0)
    assert_same(obj, mg.load(buffer))
    with open(tmp_path / "c.mg", "wb") as f:
        mg.save(obj, f)
    with open(tmp_path / "c.mg", "rb") as f:
        assert_same(obj, mg.load(f))


def test_pytorch_keywords_are_accepted(tmp_path):
    path = tmp_path / "kw.mg"
    mg.save([1, 2], path)
    assert mg.load(path, weights_only=True) == [1, 2]
    assert mg.load(path, map_location="cpu") == [1, 2]
    assert mg.load(path, map_location="cpu", weights_only=False) == [1, 2]


def test_file_is_an_npz_style_zip_with_a_versioned_manifest(tmp_path):
    path = tmp_path / "layout.mg"
    mg.save({"w": np.eye(2)}, path)
    with zipfile.ZipFile(path) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        assert manifest["format"] == "minigrad-checkpoint"
        assert manifest["version"] == 1
        assert any(name.endswith(".npy") for name in archive.namelist())
    with np.load(path, allow_pickle=False) as npz:  # numpy itself can read the arrays
        arrays = [npz[k] for k in npz.files if k != "manifest.json"]
    np.testing.assert_array_equal(arrays[0], np.eye(2))


def test_save_through_a_symlink_replaces_the_target_file(tmp_path):
    real = tmp_path / "real.mg"
    mg.save(1, real)
    link = tmp_path / "link.mg"
    link.symlink_to(real)
    mg.save(2, link)
    assert link.is_symlink()
    assert mg.load(real) == 2


def test_new_file_gets_the_usual_permissions(tmp_path):
    umask = os.umask(0o022)
    os.umask(umask)
    path = tmp_path / "mode.mg"
    mg.save(1, path)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


@pytest.mark.parametrize("dtype", [">f8", ">f4", ">f2", ">i8", ">i4", ">i2"])
def test_big_endian_arrays_come_back_in_native_order(tmp_path, dtype):
    values = np.array([[1.5, -2.0, 3.0], [4.0, 0.0, -7.0]]).astype(dtype)
    obj = {"array": values, "fortran": np.asfortranarray(values), "tensor": mg.tensor(values),
           "scalar": values[0, 0]}
    path = tmp_path / "big-endian.mg"
    mg.save(obj, path)
    loaded = mg.load(path)
    native = values.dtype.newbyteorder("=")
    for key in ("array", "fortran", "tensor"):
        array = loaded[key].numpy() if key == "tensor" else loaded[key]
        assert array.dtype == native and array.dtype.isnative, key
        np.testing.assert_array_equal(array, values)
    assert loaded["scalar"] == values[0, 0] and loaded["scalar"].dtype == native
    # Kernels read the loaded tensor's bytes as native numbers.
    np.testing.assert_array_equal((loaded["tensor"] * 2).numpy(), values.astype(native) * 2)
    # The writer stores native order (what the machine that reads it back most likely uses).
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist()[1:]:
            with archive.open(name) as member:
                np.lib.format.read_magic(member)
                _, _, stored = np.lib.format.read_array_header_1_0(member)
                assert stored.isnative, name


def test_big_endian_members_from_elsewhere_are_converted_on_load(tmp_path):
    # An older minigrad wrote whatever byte order an array had; a big-endian machine writes
    # its own. Either way the reader hands out native arrays with the same values.
    values = np.array([[1.5, -2.0], [3.0, 4.25]])
    root = {"list": [{"ndarray": 0}, {"tensor": 1, "requires_grad": True},
                     {"numpy_scalar": 2}, {"ndarray": 3}]}
    path = tmp_path / "foreign-order.mg"
    _zip_with(path, {"manifest.json": _manifest(root),
                     "arrays/0.npy": _npy_bytes(values.astype(">f8")),
                     "arrays/1.npy": _npy_bytes(values.astype(">f4")),
                     "arrays/2.npy": _npy_bytes(np.array(-7, dtype=">i8")),
                     "arrays/3.npy": _npy_bytes(np.asfortranarray(values.astype(">i2")))})
    array, weight, scalar, fortran = mg.load(path)
    assert array.dtype == np.float64 and array.dtype.isnative
    np.testing.assert_array_equal(array, values)
    assert weight.dtype == mg.float32 and weight.numpy().dtype.isnative and weight.requires_grad
    (weight * weight).sum().backward()  # d(sum w^2)/dw = 2w, computed on the loaded bytes
    np.testing.assert_array_equal(weight.grad.numpy(), 2 * values.astype(np.float32))
    assert type(scalar) is np.int64 and scalar == -7
    assert fortran.dtype == np.int16 and fortran.dtype.isnative
    np.testing.assert_array_equal(fortran, values.astype(np.int16))


def test_zip64_records_are_read(tmp_path, monkeypatch):
    # Past 65535 members or 4 GiB, zipfile writes zip64 end records, sizes and offsets. Lower
    # its thresholds so that a small archive takes the same paths.
    obj = {"a": np.arange(10.0), "b": [mg.tensor([1, 2]), np.ones((2, 3), np.float32)], "c": 1}
    path = tmp_path / "zip64.mg"
    monkeypatch.setattr(zipfile, "ZIP64_LIMIT", 64)
    monkeypatch.setattr(zipfile, "ZIP_FILECOUNT_LIMIT", 2)
    mg.save(obj, path)
    monkeypatch.undo()
    data = path.read_bytes()
    assert b"PK\x06\x06" in data and b"PK\x06\x07" in data  # zip64 end record and locator
    assert_same(obj, mg.load(path))


class _Unseekable:
    """A stream that cannot seek (a pipe, a socket): zipfile then writes each member's CRC and
    sizes after its data, in a data descriptor."""

    def __init__(self):
        self.written = io.BytesIO()

    def write(self, data):
        return self.written.write(data)

    def flush(self):
        pass


def test_archive_written_to_an_unseekable_stream_is_read(tmp_path):
    obj = {"a": np.arange(10.0), "b": [mg.tensor([1.0, 2.0], requires_grad=True)], "c": "x"}
    stream = _Unseekable()
    mg.save(obj, stream)
    data = stream.written.getvalue()
    assert data.count(b"PK\x07\x08") == 3  # one data descriptor per member
    assert_same(obj, mg.load(io.BytesIO(data)))


def test_checkpoint_inside_a_larger_file_object(tmp_path):
    obj = {"a": np.arange(4), "b": 2.5}
    buffer = io.BytesIO()
    buffer.write(b"my own header\n")
    start = buffer.tell()
    mg.save(obj, buffer)
    buffer.seek(start)
    assert_same(obj, mg.load(buffer))
    buffer.seek(0)
    with pytest.raises(CheckpointError, match="bytes before the first member"):
        mg.load(buffer)


# --------------------------------------------------------------------------------------------
# What cannot be saved
# --------------------------------------------------------------------------------------------

class Foo:
    pass


Point = collections.namedtuple("Point", "x y")


@pytest.mark.parametrize("obj, where, what", [
    ({"layers": [1, 2, Foo()]}, "obj['layers'][2]", "Foo"),
    (Foo(), "obj", "Foo"),
    ([len], "obj[0]", "builtin_function_or_method"),
    ({"f": lambda x: x}, "obj['f']", "function"),
    ({"s": {1, 2}}, "obj['s']", "set"),
    ({"fs": frozenset()}, "obj['fs']", "frozenset"),
    ((1, (2, np.array([None, 1], dtype=object))), "obj[1][1]", "object"),
    ({"u": np.array(["a", "b"])}, "obj['u']", "<U1"),
    ({"d": np.array(["2020-01-01"], dtype="datetime64[D]")}, "obj['d']", "datetime64"),
    ({"r": np.zeros(2, dtype=[("a", "f4"), ("b", "i4")])}, "obj['r']", "dtype"),
    ({"bytes": b"raw"}, "obj['bytes']", "bytes"),
    ({"p": Point(1, 2)}, "obj['p']", "Point"),
    ({"dd": collections.defaultdict(list)}, "obj['dd']", "defaultdict"),
    ({"m": np.ma.masked_array([1, 2], mask=[0, 1])}, "obj['m']", "MaskedArray"),
    ({"x": {0: {"y": [Foo()]}}}, "obj['x'][0]['y'][0]", "Foo"),
    ({"o": np.object_(Foo())}, "obj['o']", "Foo"),
], ids=lambda v: v if isinstance(v, str) else None)
def test_unsaveable_objects_raise_type_error_naming_where(tmp_path, obj, where, what):
    with pytest.raises(TypeError) as info:
        mg.save(obj, tmp_path / "bad.mg")
    message = str(info.value)
    assert message.startswith(where + ":"), message
    assert what in message
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("key", [(1, 2), 1.5, None, np.int64(3), b"k"])
def test_unsupported_dict_keys(tmp_path, key):
    with pytest.raises(TypeError, match=r"obj\['inner'\]: cannot save dict key"):
        mg.save({"inner": {key: 1}}, tmp_path / "bad.mg")


def test_reference_cycle_is_an_error_not_a_hang(tmp_path):
    loop = [1]
    loop.append({"again": loop})
    with pytest.raises(ValueError, match=r"obj\[1\]\['again'\]: .*cycle"):
        mg.save(loop, tmp_path / "cycle.mg")
    # The same list twice, side by side, is not a cycle.
    shared = [1, 2]
    assert roundtrip([shared, shared], tmp_path) == [[1, 2], [1, 2]]


def _nested(depth, leaf):
    """``depth`` containers around ``leaf``, dicts and lists and tuples in turn."""
    obj = leaf
    for level in range(depth):
        obj = ({"k": obj}, [obj], (obj,))[level % 3]
    return obj


def test_nesting_limit_is_the_same_for_save_and_load(tmp_path):
    limit = serialization.MAX_NESTING
    # The deepest JSON a checkpoint can have: dicts all the way, a complex number at the bottom.
    deepest = {"k": 1j}
    for _ in range(limit - 1):
        deepest = {"k": deepest}
    assert_same(deepest, roundtrip(deepest, tmp_path))
    mixed = _nested(limit - 1, [1.5, mg.tensor([1.0])])
    assert_same(mixed, roundtrip(mixed, tmp_path))
    for too_deep in (_nested(limit + 1, 1), _nested(10_000, 1)):
        with pytest.raises(ValueError, match=rf"obj.*: cannot save containers nested more than "
                                             rf"{limit} deep"):
            mg.save(too_deep, tmp_path / "deep.mg")
        assert not (tmp_path / "deep.mg").exists()


def test_manifest_size_and_breadth_limits_are_the_same_for_save_and_load(tmp_path, monkeypatch):
    monkeypatch.setattr(serialization, "MAX_MANIFEST_BYTES", 4000)
    assert roundtrip(list(range(500)), tmp_path) == list(range(500))
    with pytest.raises(ValueError, match="too large.*4000"):
        mg.save(list(range(1000)), tmp_path / "big.mg")
    monkeypatch.setattr(serialization, "MAX_MANIFEST_CONTAINERS", 100)
    # 3 containers ({manifest}, {"list":, [), then 2 per empty list ({"list":, [])
    assert roundtrip([[]] * 48, tmp_path) == [[]] * 48
    with pytest.raises(ValueError, match="too large.*101 JSON arrays and objects"):
        mg.save([[]] * 49, tmp_path / "broad.mg")
    assert sorted(os.listdir(tmp_path)) == ["checkpoint.mg"]


def test_int_digit_limit_is_the_same_for_save_and_load(tmp_path):
    largest = 10**4300 - 1
    assert roundtrip({"n": -largest, largest: 1}, tmp_path) == {"n": -largest, largest: 1}
    for obj in ({"n": 10**4300}, {"n": [-(10**5000)]}, {10**4300: 1}):
        with pytest.raises(ValueError, match="more than 4300 digits"):
            mg.save(obj, tmp_path / "long.mg")


# --------------------------------------------------------------------------------------------
# Atomic saves
# --------------------------------------------------------------------------------------------

@pytest.fixture
def previous_checkpoint(tmp_path):
    """A directory holding one good checkpoint; yields (path, its bytes)."""
    path = tmp_path / "model.mg"
    mg.save({"version": "old", "w": np.arange(1000.0)}, path)
    return path, path.read_bytes()


def _assert_untouched(path, old_bytes):
    assert path.read_bytes() == old_bytes
    assert os.listdir(path.parent) == [path.name]  # no temporary left behind
    assert mg.load(path)["version"] == "old"


def test_unsaveable_object_deep_inside_leaves_old_file(previous_checkpoint):
    path, old = previous_checkpoint
    new = {"version": "new", "w": np.zeros(10**5), "deep": [{"a": [1, 2, {"b": Foo()}]}]}
    with pytest.raises(TypeError, match=r"obj\['deep'\]\[0\]\['a'\]\[2\]\['b'\]"):
        mg.save(new, path)
    _assert_untouched(path, old)


def test_failure_while_writing_arrays_leaves_old_file(previous_checkpoint, monkeypatch):
    path, old = previous_checkpoint
    real_write_array = np.lib.format.write_array
    written = []

    def write_then_fail(fp, array, *args, **kwargs):
        if written:  # the first array goes to disk, the second write fails halfway
            fp.write(b"\x00" * 100)
            raise OSError(28, "No space left on device")
        written.append(array)
        return real_write_array(fp, array, *args, **kwargs)

    monkeypatch.setattr(np.lib.format, "write_array", write_then_fail)
    with pytest.raises(OSError, match="No space left"):
        mg.save({"version": "new", "a": np.ones(50), "b": np.ones(50)}, path)
    assert written  # the failure really happened midway
    _assert_untouched(path, old)


def test_failure_in_rename_leaves_old_file(previous_checkpoint, monkeypatch):
    path, old = previous_checkpoint

    def failing_replace(src, dst):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(PermissionError):
        mg.save({"version": "new"}, path)
    _assert_untouched(path, old)


def test_failure_in_fsync_leaves_old_file(previous_checkpoint, monkeypatch):
    path, old = previous_checkpoint

    def failing_fsync(fd):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(OSError, match="Input/output"):
        mg.save({"version": "new"}, path)
    _assert_untouched(path, old)


def test_interrupt_during_save_leaves_old_file(previous_checkpoint, monkeypatch):
    path, old = previous_checkpoint

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(np.lib.format, "write_array", interrupted)
    with pytest.raises(KeyboardInterrupt):
        mg.save({"version": "new", "a": np.ones(3)}, path)
    _assert_untouched(path, old)


def test_successful_save_replaces_old_file(previous_checkpoint):
    path, old = previous_checkpoint
    mg.save({"version": "new"}, path)
    assert path.read_bytes() != old
    assert mg.load(path) == {"version": "new"}
    assert os.listdir(path.parent) == [path.name]


def test_save_into_missing_directory_fails_cleanly(tmp_path):
    with pytest.raises(FileNotFoundError):
        mg.save(1, tmp_path / "no" / "such" / "dir.mg")
    assert os.listdir(tmp_path) == []


# --------------------------------------------------------------------------------------------
# Saves that are killed: SIGTERM cleans up; after SIGKILL the next save does
# --------------------------------------------------------------------------------------------

posix_only = pytest.mark.skipif(os.name != "posix", reason="signals and flock are POSIX")

# A save that has written its first array to the temporary and then waits: a process to kill
# mid-save.
SLOW_SAVE = r"""
import signal, sys, time
import numpy as np
import minigrad as mg

real_write_array = np.lib.format.write_array


def write_then_wait(fp, array, *args, **kwargs):
    real_write_array(fp, array, *args, **kwargs)
    print("writing", flush=True)
    time.sleep(60)


np.lib.format.write_array = write_then_wait
if sys.argv[2] == "program-handler":
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(3))
mg.save({"version": "new", "w": np.ones(1000)}, sys.argv[1])
"""

# Holds an flock on a file, as a live save holds one on its temporary.
HOLD_LOCK = r"""
import fcntl, sys, time
f = open(sys.argv[1], "wb")
fcntl.flock(f, fcntl.LOCK_EX)
print("locked", flush=True)
time.sleep(60)
"""


def _child(script, *args):
    env = dict(os.environ)
    root = os.path.dirname(os.path.dirname(os.path.abspath(mg.__file__)))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
    child = subprocess.Popen([sys.executable, "-c", script, *map(str, args)],
                             stdout=subprocess.PIPE, env=env, cwd=root)  # the minigrad under test
    first_line = child.stdout.readline()  # the child is now mid-save (or holds its lock)
    assert first_line in (b"writing\n", b"locked\n"), first_line
    return child


def _temporaries(directory, name):
    pattern = re.compile(re.escape(f".{name}.") + r"[a-z0-9_]{8}\.tmp")
    return [entry for entry in os.listdir(directory) if pattern.fullmatch(entry)]


@posix_only
def test_sigterm_during_save_removes_the_temporary_and_terminates(previous_checkpoint):
    path, old = previous_checkpoint
    child = _child(SLOW_SAVE, path, "default")
    assert len(_temporaries(path.parent, path.name)) == 1  # really mid-save
    child.send_signal(signal.SIGTERM)
    assert child.wait(timeout=30) == -signal.SIGTERM  # died of SIGTERM, as without minigrad
    child.stdout.close()
    _assert_untouched(path, old)


@posix_only
def test_sigterm_handler_of_the_program_is_left_in_charge(previous_checkpoint):
    path, old = previous_checkpoint
    child = _child(SLOW_SAVE, path, "program-handler")  # its handler calls sys.exit(3)
    child.send_signal(signal.SIGTERM)
    assert child.wait(timeout=30) == 3
    child.stdout.close()
    _assert_untouched(path, old)


@posix_only
def test_the_next_save_removes_the_temporary_of_a_killed_save(previous_checkpoint):
    path, _ = previous_checkpoint
    child = _child(SLOW_SAVE, path, "default")
    [temporary] = _temporaries(path.parent, path.name)
    mg.save({"version": "meanwhile"}, path)  # a save beside a live one leaves its temporary
    assert _temporaries(path.parent, path.name) == [temporary]
    child.kill()  # SIGKILL: nothing runs, the temporary stays
    child.wait(timeout=30)
    child.stdout.close()
    assert _temporaries(path.parent, path.name) == [temporary]
    assert mg.load(path) == {"version": "meanwhile"}
    mg.save({"version": "next"}, path)
    assert os.listdir(path.parent) == [path.name]
    assert mg.load(path) == {"version": "next"}


@posix_only
def test_the_next_save_keeps_live_temporaries_and_other_files(tmp_path):
    path = tmp_path / "model.mg"
    live = tmp_path / ".model.mg.live1234.tmp"  # another process is saving to the same path
    holder = _child(HOLD_LOCK, live)
    stale = [tmp_path / ".model.mg.abcd_789.tmp", tmp_path / ".model.mg.00000000.tmp"]
    others = [".model.mg.abcd1234.tmp.bak", ".other.mg.abcd1234.tmp", "model.mg.abcd1234.tmp",
              ".model.mg.abcd12345.tmp", ".model.mg.x.abcd1234.tmp", ".model.mg.ABCD1234.tmp",
              ".model.mg.abcd1234.tmp2", ".model.mgx.abcd1234.tmp"]
    for name in others:
        (tmp_path / name).write_bytes(b"not a temporary of model.mg")
    for file in stale:
        file.write_bytes(b"partial")
    (tmp_path / ".model.mg.dir12345.tmp").mkdir()  # matches, but is no file: left alone
    try:
        mg.save(1, path)
        assert live.exists()
        assert not any(file.exists() for file in stale)
        assert all((tmp_path / name).read_bytes() == b"not a temporary of model.mg"
                   for name in others)
        assert (tmp_path / ".model.mg.dir12345.tmp").is_dir()
    finally:
        holder.kill()
        holder.wait(timeout=30)
        holder.stdout.close()
    mg.save(2, path)  # the holder is gone, so is its lock: now its temporary is stale
    assert not live.exists()
    assert mg.load(path) == 2


@posix_only
@pytest.mark.parametrize("sweep", ["done", "under way"])
def test_a_temporary_swept_before_it_was_locked_is_replaced(tmp_path, monkeypatch, sweep):
    # Another process's sweep can see a new temporary in the instant before its save locks
    # it, and remove it (holding the lock meanwhile); the save then makes another instead of
    # writing to a deleted file.
    real_try_lock = serialization._try_lock
    removed = []

    def lock_after_a_sweep(fd):
        if not removed:
            removed.extend(_temporaries(tmp_path, "m.mg"))
            for name in removed:
                os.unlink(tmp_path / name)
            if sweep == "under way":
                return "held"
        return real_try_lock(fd)

    monkeypatch.setattr(serialization, "_try_lock", lock_after_a_sweep)
    mg.save({"a": np.arange(3)}, tmp_path / "m.mg")
    assert len(removed) == 1
    assert os.listdir(tmp_path) == ["m.mg"]
    np.testing.assert_array_equal(mg.load(tmp_path / "m.mg")["a"], np.arange(3))


def test_save_leaves_the_sigterm_handler_as_it_found_it(tmp_path, monkeypatch):
    seen_during_save = []
    real_write_array = np.lib.format.write_array

    def spy(*args, **kwargs):
        seen_during_save.append(signal.getsignal(signal.SIGTERM))
        return real_write_array(*args, **kwargs)

    monkeypatch.setattr(np.lib.format, "write_array", spy)
    before = signal.getsignal(signal.SIGTERM)
    mg.save(np.ones(2), tmp_path / "a.mg")
    assert signal.getsignal(signal.SIGTERM) is before
    if before is signal.SIG_DFL and os.name == "posix":
        assert seen_during_save[-1] is not signal.SIG_DFL  # the cleanup handler, meanwhile

    def programs_own(signum, frame):
        pass

    previous = signal.signal(signal.SIGTERM, programs_own)
    try:
        mg.save(np.ones(2), tmp_path / "b.mg")
        assert seen_during_save[-1] is programs_own
        assert signal.getsignal(signal.SIGTERM) is programs_own
    finally:
        signal.signal(signal.SIGTERM, previous)

    # From another thread nothing is installed (only the main thread may), and saving works.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(mg.save, np.ones(2), tmp_path / "c.mg").result()
    assert seen_during_save[-1] is before
    np.testing.assert_array_equal(mg.load(tmp_path / "c.mg"), np.ones(2))


# --------------------------------------------------------------------------------------------
# Corrupt, truncated and foreign files
# --------------------------------------------------------------------------------------------

def _expect_checkpoint_error(path, *fragments):
    with pytest.raises(CheckpointError) as info:
        mg.load(path)
    message = str(info.value)
    assert str(path) in message, message
    for fragment in fragments:
        assert fragment in message, message
    assert isinstance(info.value, RuntimeError) and isinstance(info.value, ValueError)
    return message


def test_empty_file(tmp_path):
    path = tmp_path / "empty.mg"
    path.write_bytes(b"")
    _expect_checkpoint_error(path, "empty")


def test_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        mg.load(tmp_path / "nothing.mg")


def _good_checkpoint_bytes(tmp_path):
    path = tmp_path / "good.mg"
    mg.save({"w": mg.tensor(np.arange(20, dtype=np.float32)), "b": np.arange(7),
             "meta": {"lr": 0.1, "name": "net"}}, path)
    return path.read_bytes()


def test_truncated_files(tmp_path):
    data = _good_checkpoint_bytes(tmp_path)
    cut_points = sorted({1, 2, 4, 10, 30, 64, len(data) // 4, len(data) // 2,
                         3 * len(data) // 4, len(data) - 22, len(data) - 10, len(data) - 1})
    for cut in cut_points:
        path = tmp_path / f"cut{cut}.mg"
        path.write_bytes(data[:cut])
        _expect_checkpoint_error(path)


def test_every_single_byte_corruption_is_detected_or_harmless(tmp_path):
    """Flip each byte in turn: loading either raises CheckpointError or, when the byte was one
    zip does not use (a timestamp, a version field), returns exactly the saved values. It
    never returns wrong numbers and never raises anything else."""
    data = _good_checkpoint_bytes(tmp_path)
    expected = mg.load(tmp_path / "good.mg")
    path = tmp_path / "flipped.mg"
    detected = 0
    for position in range(len(data)):
        corrupted = bytearray(data)
        corrupted[position] ^= 0xA5
        path.write_bytes(bytes(corrupted))
        try:
            loaded = mg.load(path)
        except CheckpointError as exc:
            assert str(path) in str(exc)
            detected += 1
        else:
            assert_same(expected, loaded)
    assert detected > len(data) // 2


def test_mutated_manifests_and_npy_headers_are_refused_or_load_cleanly(tmp_path):
    """Past the CRC-32: mutate the manifest's JSON or an .npy header and re-zip with valid
    CRCs, so the parsers behind the zip layer see the damage. Each file either raises
    CheckpointError naming it, or loads into well-formed values: native arrays of the tensor
    dtypes. Never another exception, whatever the mutation."""
    rng = np.random.default_rng(7)
    buffer = io.BytesIO()
    mg.save({"w": mg.tensor(np.ones((2, 3), np.float32), requires_grad=True),
             "b": np.asfortranarray(np.arange(6).reshape(2, 3)), "h": np.float16(2),
             "meta": {"lr": 0.1, 3: [1, (2, None)], "c": 1j}, "mask": np.array([True])},
            buffer)
    with zipfile.ZipFile(buffer) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    alphabet = list(b'[]{}",:0123456789-.eELtruefalsnu\\ \x00\xff')
    path = tmp_path / "mutated.mg"
    outcomes = collections.Counter()
    for _ in range(400):
        name = list(members)[rng.integers(len(members))]
        data = bytearray(members[name])
        end = len(data) if name == "manifest.json" else 128  # an .npy header, not its data
        for _ in range(rng.integers(1, 4)):
            position = int(rng.integers(end))
            byte = bytes([alphabet[rng.integers(len(alphabet))]])
            data[position:position + int(rng.integers(2))] = byte * int(rng.choice([1, 2, 99]))
        _zip_with(path, {**members, name: bytes(data)})
        try:
            loaded = mg.load(path)
        except CheckpointError as exc:
            assert str(path) in str(exc)
            outcomes["refused"] += 1
            continue
        outcomes["loaded"] += 1
        stack = [loaded]
        while stack:
            value = stack.pop()
            if isinstance(value, dict):
                stack.extend(value.values())
            elif isinstance(value, (list, tuple)):
                stack.extend(value)
            elif isinstance(value, (mg.Tensor, np.ndarray, np.generic)):
                array = value.numpy() if isinstance(value, mg.Tensor) else np.asarray(value)
                assert array.dtype.isnative and array.dtype in DTYPES, array.dtype
    assert outcomes["refused"] > 200 and outcomes["loaded"] > 0, outcomes


def test_text_file(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("epoch 3: loss 0.25\n")
    _expect_checkpoint_error(path, "not a minigrad checkpoint")


@pytest.mark.parametrize("protocol", [0, 2, pickle.HIGHEST_PROTOCOL])
def test_plain_pickle_file(tmp_path, protocol):
    path = tmp_path / "state.pkl"
    path.write_bytes(pickle.dumps({"w": [1.0, 2.0]}, protocol=protocol))
    _expect_checkpoint_error(path)


def test_plain_npy_and_npz_files(tmp_path):
    npy = tmp_path / "array.npy"
    np.save(npy, np.arange(3))
    _expect_checkpoint_error(npy)
    npz = tmp_path / "arrays.npz"
    np.savez(npz, a=np.arange(3))
    _expect_checkpoint_error(npz, "manifest")


def _zip_with(path, members):
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)


def _manifest(root, **overrides):
    fields = {"format": "minigrad-checkpoint", "version": 1, "root": root}
    fields.update(overrides)
    return json.dumps(fields)


def _npy_bytes(array, allow_pickle=False):
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array, allow_pickle=allow_pickle)
    return buffer.getvalue()


@pytest.mark.parametrize("members, fragment", [
    ({"manifest.json": "{not json"}, "corrupt"),
    ({"manifest.json": "[1, 2]"}, "format"),
    ({"manifest.json": _manifest(1, format="someone-else")}, "format"),
    ({"manifest.json": _manifest(1, version=99)}, "newer"),
    ({"manifest.json": _manifest(1, version="1")}, "version"),
    ({"manifest.json": json.dumps({"format": "minigrad-checkpoint", "version": 1})}, "root"),
    ({"manifest.json": _manifest({"ndarray": 0})}, "missing"),
    ({"manifest.json": _manifest({"ndarray": -1})}, "bad array reference"),
    ({"manifest.json": _manifest({"pickle": "cos\nsystem\n"})}, "unknown node"),
    ({"manifest.json": _manifest(1.5)}, "unexpected node"),
    ({"manifest.json": _manifest({"float": "not-a-number"})}, "not a float"),
    ({"manifest.json": _manifest({"float": "1_000.0"})}, "not a float"),
    ({"manifest.json": _manifest({"float": " 1.5"})}, "not a float"),
    ({"manifest.json": _manifest({"float": "Infinity"})}, "not a float"),
    ({"manifest.json": _manifest({"float": "1" * 100000})}, "not a float"),
    ({"manifest.json": _manifest({"complex": ["1.0", "1e0"]})}, "not a float"),
    ({"manifest.json": _manifest({"dict": [["a", 1], ["a", 2]], "ordered": False})},
     "duplicate key"),
    ({"manifest.json": _manifest({"dict": [[1, 1], [True, 2]], "ordered": False})},
     "duplicate key"),
    ({"manifest.json": _manifest({"dict": [[[1], 2]], "ordered": False})}, "dict entry"),
    ({"manifest.json": _manifest({"dict": [], "ordered": "yes"})}, "unknown node"),
    ({"manifest.json": _manifest({"numpy_scalar": 0}), "arrays/0.npy": _npy_bytes(np.ones(2))},
     "shape"),
    ({"manifest.json": _manifest({"tensor": 0, "requires_grad": True}),
      "arrays/0.npy": _npy_bytes(np.ones(2, dtype=np.int64))}, "cannot require grad"),
    ({"manifest.json": _manifest({"ndarray": 0}), "arrays/0.npy": b"\x93NUMPY garbage"},
     "corrupt"),
    ({"manifest.json": _manifest({"ndarray": 0}),
      "arrays/0.npy": _npy_bytes(np.ones(2)) + b"extra"}, "trailing"),
    ({"manifest.json": _manifest({"ndarray": 0}), "arrays/0.npy": _npy_bytes(np.array(["s"]))},
     "dtype <U1"),
    ({"manifest.json": b"\xff\xfe bad utf-8"}, "corrupt"),
    ({"manifest.json": _manifest("[" * 100000)}, None),
    ({"manifest.json": "[" * 100000 + "]" * 100000}, "corrupt"),
])
def test_malformed_archives(tmp_path, members, fragment):
    path = tmp_path / "malformed.mg"
    _zip_with(path, members)
    if fragment is None:  # a deep string is a string, not nesting: it loads
        assert mg.load(path) == "[" * 100000
    else:
        _expect_checkpoint_error(path, fragment)


class _Evil:
    """Unpickling this runs open(marker, 'w'): a stand-in for arbitrary code execution."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_malicious_pickle_is_refused_without_running_it(tmp_path):
    # First show the payload is live: plain pickle.loads does run it.
    proof = tmp_path / "proof-of-payload"
    pickle.loads(pickle.dumps(_Evil(proof))).close()
    assert proof.exists()

    marker = tmp_path / "pwned"
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        path = tmp_path / f"evil{protocol}.pt"
        path.write_bytes(pickle.dumps({"w": _Evil(marker)}, protocol=protocol))
        _expect_checkpoint_error(path)
        assert not marker.exists()


def test_malicious_pickle_inside_a_minigrad_shaped_archive_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    evil_array = np.empty(1, dtype=object)
    evil_array[0] = _Evil(marker)
    path = tmp_path / "evil.mg"
    _zip_with(path, {"manifest.json": _manifest({"ndarray": 0}),
                     "arrays/0.npy": _npy_bytes(evil_array, allow_pickle=True)})
    _expect_checkpoint_error(path)
    assert not marker.exists()


def test_torch_style_zip_with_malicious_data_pkl_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "model.pt"
    _zip_with(path, {"archive/data.pkl": pickle.dumps(_Evil(marker)), "archive/version": "3\n"})
    _expect_checkpoint_error(path, "PyTorch")
    assert not marker.exists()


def test_real_torch_save_file_is_refused(tmp_path):
    torch = pytest.importorskip("torch")
    path = tmp_path / "model.pt"
    torch.save({"w": torch.ones(3)}, path)
    _expect_checkpoint_error(path, "PyTorch")
    legacy = tmp_path / "legacy.pt"
    torch.save({"w": torch.ones(3)}, legacy, _use_new_zipfile_serialization=False)
    _expect_checkpoint_error(legacy, "pickle")


def test_error_for_file_object_names_it(tmp_path):
    path = tmp_path / "junk.bin"
    path.write_bytes(b"junk" * 10)
    with open(path, "rb") as f, pytest.raises(CheckpointError, match="junk.bin"):
        mg.load(f)


def test_checkpoint_error_is_exported():
    assert serialization.CheckpointError is CheckpointError
    assert issubclass(CheckpointError, RuntimeError)


# --------------------------------------------------------------------------------------------
# Real checkpoints: resume training from a saved model and optimizer
# --------------------------------------------------------------------------------------------

def _train_steps(params, optimizer, steps):
    for _ in range(steps):
        optimizer.zero_grad()
        loss = sum(((p - 1.5) ** 2).sum() for p in params)
        loss.backward()
        optimizer.step()


@pytest.mark.parametrize("make_optimizer", [
    lambda ps: mg.optim.Adam(ps, lr=0.1, amsgrad=True),
    lambda ps: mg.optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True),
    lambda ps: mg.optim.RMSprop(ps, lr=0.01, centered=True, momentum=0.5),
], ids=["adam", "sgd", "rmsprop"])
def test_resuming_from_a_checkpoint_continues_the_same_trajectory(tmp_path, make_optimizer):
    rng = np.random.default_rng(0)
    params = [mg.tensor(rng.standard_normal((3, 2)), requires_grad=True),
              mg.tensor(rng.standard_normal(2), requires_grad=True)]
    optimizer = make_optimizer(params)
    _train_steps(params, optimizer, 3)
    path = tmp_path / "resume.mg"
    mg.save({"params": [p.detach() for p in params], "optimizer": optimizer.state_dict(),
             "epoch": 3}, path)
    _train_steps(params, optimizer, 4)  # the uninterrupted run

    checkpoint = mg.load(path)
    assert checkpoint["epoch"] == 3
    resumed = [mg.tensor(p.numpy(), requires_grad=True) for p in checkpoint["params"]]
    resumed_optimizer = make_optimizer(resumed)
    resumed_optimizer.load_state_dict(checkpoint["optimizer"])
    _train_steps(resumed, resumed_optimizer, 4)
    for original, again in zip(params, resumed):
        np.testing.assert_array_equal(again.numpy(), original.numpy())


def test_model_state_dict_roundtrip(tmp_path):
    if not hasattr(mg.nn, "Linear"):
        pytest.skip("minigrad.nn.Linear is not there yet")
    mg.manual_seed(0)
    model = mg.nn.Sequential(mg.nn.Linear(4, 3), mg.nn.ReLU(), mg.nn.Linear(3, 2))
    path = tmp_path / "model.mg"
    mg.save(model.state_dict(), path)
    mg.manual_seed(1)
    other = mg.nn.Sequential(mg.nn.Linear(4, 3), mg.nn.ReLU(), mg.nn.Linear(3, 2))
    loaded = mg.load(path)
    assert list(loaded) == list(model.state_dict())
    other.load_state_dict(loaded)
    x = mg.tensor(np.random.default_rng(2).standard_normal((5, 4)).astype(np.float32))
    np.testing.assert_array_equal(other(x).numpy(), model(x).numpy())
