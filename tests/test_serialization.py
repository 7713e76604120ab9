"""mg.save / mg.load: round trips, atomic writes, and refusing bad or dangerous files."""
import collections
import io
import json
import math
import os
import pathlib
import pickle
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

DTYPES = [np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32,
          np.uint64, np.float16, np.float32, np.float64, np.longdouble, np.complex64,
          np.complex128]
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
    uints = np.array([0, np.iinfo(np.uint64).max], dtype=np.uint64)
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
    np.uint64(2**64 - 1), np.bool_(True), np.complex64(1 - 2j), np.longdouble(1) / 3,
])
def test_numpy_scalars_roundtrip(tmp_path, value):
    loaded = roundtrip(value, tmp_path)
    assert type(loaded) is type(value)
    assert loaded == value


@pytest.mark.parametrize("dtype", [mg.float32, mg.float64, mg.int64, mg.int32, mg.bool])
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
     "not an array of numbers"),
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
