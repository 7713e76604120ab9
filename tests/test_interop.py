"""Interop with numpy and PyTorch: DLPack (zero-copy both ways), as_tensor, load_state_dict
from PyTorch tensors, and safetensors files (mg.save_file / mg.load_file)."""
import json
import os

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.safetensors import load_metadata

DTYPES = [mg.float32, mg.float64, mg.float16, mg.int64, mg.int32, mg.int16, mg.int8, mg.uint8,
          mg.bool]


def sample(dtype, shape=(2, 3)):
    values = np.arange(int(np.prod(shape))).reshape(shape) % 3
    return mg.tensor(values.astype(dtype.np_dtype))


def first_value(dtype):
    return True if dtype == mg.bool else 7


# --------------------------------------------------------------------------------------------
# DLPack with numpy
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_numpy_from_dlpack_shares_memory(dtype):
    t = sample(dtype)
    a = np.from_dlpack(t)
    assert a.shape == (2, 3) and a.dtype == t.numpy().dtype
    a[0, 0] = first_value(dtype)
    assert t[0, 0].item() == first_value(dtype)  # written through numpy, read through minigrad
    t[1, 2] = 0
    assert a[1, 2] == 0


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_mg_from_dlpack_of_numpy_shares_memory(dtype):
    a = np.zeros((2, 3), dtype=sample(dtype).numpy().dtype)
    t = mg.from_dlpack(a)
    assert isinstance(t, mg.Tensor) and t.shape == (2, 3) and t.dtype == dtype
    t[0, 1] = first_value(dtype)
    assert a[0, 1] == first_value(dtype)
    a[1, 1] = first_value(dtype)
    assert t[1, 1].item() == first_value(dtype)


def test_dlpack_device_is_the_cpu():
    assert mg.ones(2).__dlpack_device__() == (1, 0) == np.ones(2).__dlpack_device__()


def test_as_tensor_of_numpy_shares_memory_like_torch():
    a = np.zeros(3, dtype=np.float64)
    t = mg.as_tensor(a)
    t[0] = 5.0
    assert a[0] == 5.0
    copied = mg.as_tensor(a, dtype=mg.float32)  # another dtype: a copy, as in torch
    copied[1] = 4.0
    assert a[1] == 0.0 and copied.dtype == mg.float32
    t = mg.tensor([1.0, 2.0])
    assert mg.as_tensor(t) is t


def test_as_tensor_with_another_dtype_is_recorded_by_autograd():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = mg.as_tensor(x, dtype=mg.float64)
    assert y.dtype == mg.float64 and y.grad_fn is not None
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 1.0])


def test_from_dlpack_copy_true_does_not_share():
    a = np.zeros(3)
    t = mg.from_dlpack(a, copy=True)
    t[0] = 1.0
    assert a[0] == 0.0


def test_negative_strides_export_a_copy_or_refuse_with_copy_false():
    t = mg.from_numpy(np.arange(5.0)[::-1])
    np.testing.assert_array_equal(np.from_dlpack(t), [4.0, 3.0, 2.0, 1.0, 0.0])
    with pytest.raises(BufferError, match="negative strides"):
        t.__dlpack__(copy=False)


def test_export_to_another_device_is_refused():
    with pytest.raises(BufferError, match="CPU"):
        mg.ones(2).__dlpack__(dl_device=(2, 0))  # kDLCUDA


def test_from_dlpack_rejects_objects_without_the_protocol():
    with pytest.raises(TypeError, match="list"):
        mg.from_dlpack([1.0, 2.0])


# --------------------------------------------------------------------------------------------
# DLPack and as_tensor with PyTorch
# --------------------------------------------------------------------------------------------

def torch_dtype(torch, dtype):
    return getattr(torch, str(dtype).split(".")[1])


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("convert", ["from_dlpack", "as_tensor"])
def test_torch_reads_minigrad_memory(dtype, convert):
    torch = pytest.importorskip("torch")
    t = sample(dtype)
    p = getattr(torch, convert)(t)
    assert p.dtype == torch_dtype(torch, dtype) and tuple(p.shape) == (2, 3)
    np.testing.assert_array_equal(p.numpy(), t.numpy())
    p[0, 0] = first_value(dtype)
    assert t[0, 0].item() == first_value(dtype)  # written through torch, read through minigrad
    t[1, 0] = 0
    assert p[1, 0].item() == 0


@pytest.mark.parametrize("make", [
    lambda: mg.tensor(3.5),                                    # 0-d: torch probed __len__
    lambda: mg.arange(6.0).reshape(2, 3).t(),                  # transposed
    lambda: mg.arange(12.0).reshape(3, 4)[:, 1::2],            # strided slice
    lambda: mg.ones(3).expand(2, 3),                           # zero stride
    lambda: mg.zeros(0, 4),                                    # empty
], ids=["0-d", "transposed", "sliced", "expanded", "empty"])
def test_torch_as_tensor_of_any_layout(make):
    torch = pytest.importorskip("torch")
    t = make()
    for p in (torch.as_tensor(t), torch.from_dlpack(t)):
        assert tuple(p.shape) == tuple(t.shape)
        np.testing.assert_array_equal(p.numpy(), t.numpy())


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("convert", ["from_dlpack", "as_tensor"])
def test_minigrad_reads_torch_memory(dtype, convert):
    torch = pytest.importorskip("torch")
    p = torch.zeros(2, 3, dtype=torch_dtype(torch, dtype))
    t = getattr(mg, convert)(p)
    assert isinstance(t, mg.Tensor) and t.dtype == dtype and t.shape == (2, 3)
    t[0, 2] = first_value(dtype)
    assert p[0, 2].item() == first_value(dtype)
    p[1, 1] = first_value(dtype)
    assert t[1, 1].item() == first_value(dtype)


def test_minigrad_from_a_torch_capsule_and_non_contiguous_torch_tensor():
    torch = pytest.importorskip("torch")
    from torch.utils.dlpack import to_dlpack

    p = torch.arange(6.0).reshape(2, 3)
    t = mg.from_dlpack(to_dlpack(p))
    p[0, 0] = 9.0  # shared; a bare (unversioned) capsule cannot say it is writable, so numpy,
    assert t[0, 0].item() == 9.0  # and minigrad with it, import it read-only
    q = p.t()
    u = mg.from_dlpack(q)
    np.testing.assert_array_equal(u.numpy(), q.numpy())
    u[2, 1] = -1.0
    assert p[1, 2].item() == -1.0


def test_mg_tensor_of_torch_tensor_copies():
    torch = pytest.importorskip("torch")
    for p in (torch.ones(2, 3), torch.tensor(2.5), torch.tensor([1, 2]), torch.tensor([True])):
        t = mg.tensor(p)
        assert t.dtype == getattr(mg, str(p.dtype).split(".")[1]) and t.shape == tuple(p.shape)
        np.testing.assert_array_equal(t.numpy(), p.numpy())
    p = torch.zeros(2)
    t = mg.tensor(p)
    t[0] = 1.0
    assert p[0].item() == 0.0


def test_tensors_that_require_grad_are_not_exported_as_in_torch():
    torch = pytest.importorskip("torch")
    with pytest.raises(BufferError) as torch_error:
        torch.from_dlpack(torch.ones(2, requires_grad=True))
    with pytest.raises(BufferError) as mg_error:
        torch.from_dlpack(mg.ones(2, requires_grad=True))
    assert str(mg_error.value) == str(torch_error.value)
    p = torch.from_dlpack(mg.ones(2, requires_grad=True).detach())
    assert p.tolist() == [1.0, 1.0]
    # The other way, mg.as_tensor copies a torch tensor that requires grad (no graph crosses).
    t = mg.as_tensor(torch.ones(2, requires_grad=True))
    assert t.tolist() == [1.0, 1.0] and not t.requires_grad


# --------------------------------------------------------------------------------------------
# load_state_dict from PyTorch tensors
# --------------------------------------------------------------------------------------------

def mlp_pair(torch):
    mg_model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3))
    torch_model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(),
                                      torch.nn.Linear(8, 3))
    return mg_model, torch_model


def outputs(torch, mg_model, torch_model, x):
    with torch.no_grad():
        expected = torch_model(torch.from_numpy(x)).numpy()
    return mg_model(mg.tensor(x)).numpy(), expected


@pytest.mark.parametrize("source", ["state_dict", "named_parameters"])
def test_load_state_dict_accepts_torch_tensors(source):
    torch = pytest.importorskip("torch")
    mg_model, torch_model = mlp_pair(torch)
    sd = (torch_model.state_dict() if source == "state_dict"
          else dict(torch_model.named_parameters()))  # these require grad
    result = mg_model.load_state_dict(sd)
    assert result.missing_keys == [] and result.unexpected_keys == []
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    got, expected = outputs(torch, mg_model, torch_model, x)
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)
    # A copy, not an alias: changing torch's weights leaves minigrad's alone.
    with torch.no_grad():
        torch_model[0].weight.zero_()
    assert np.abs(mg_model[0].weight.numpy()).sum() > 0


def test_load_state_dict_of_torch_tensors_checks_shapes_as_torch():
    torch = pytest.importorskip("torch")
    mg_model, torch_model = nn.Linear(3, 2), torch.nn.Linear(3, 2)
    bad = {"weight": torch.ones(3, 3), "bias": torch.ones(2)}
    with pytest.raises(RuntimeError, match=r"size mismatch for weight") as torch_error:
        torch_model.load_state_dict(bad)
    before = mg_model.weight.numpy().copy()
    with pytest.raises(RuntimeError, match=r"size mismatch for weight.*\(3, 3\).*\(2, 3\)"):
        mg_model.load_state_dict(bad)
    np.testing.assert_array_equal(mg_model.weight.numpy(), before)
    assert "size mismatch for weight" in str(torch_error.value)
    with pytest.raises(RuntimeError, match="received object"):
        mg_model.load_state_dict({"weight": object(), "bias": torch.ones(2)})


def test_load_state_dict_accepts_any_array_protocol():
    class Wrapped:  # an array exposing only __array__
        def __init__(self, values):
            self.values = values

        def __array__(self, dtype=None, copy=None):
            return np.asarray(self.values, dtype=dtype)

    model = nn.Linear(2, 1)
    model.load_state_dict({"weight": Wrapped([[1.0, 2.0]]), "bias": Wrapped([3.0])})
    np.testing.assert_array_equal(model.weight.numpy(), [[1.0, 2.0]])
    np.testing.assert_array_equal(model.bias.numpy(), [3.0])


# --------------------------------------------------------------------------------------------
# safetensors
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_save_file_load_file_round_trip(tmp_path, dtype):
    path = tmp_path / "w.safetensors"
    tensors = {"a": sample(dtype), "scalar": sample(dtype, ()), "empty": sample(dtype, (0, 2)),
               "transposed": sample(dtype, (3, 4)).t(), "b": sample(mg.float64, (2,))}
    mg.save_file(tensors, path, metadata={"format": "pt", "note": "é"})
    loaded = mg.load_file(path)
    assert set(loaded) == set(tensors)
    for name, t in tensors.items():
        assert loaded[name].dtype == t.dtype and loaded[name].shape == t.shape, name
        np.testing.assert_array_equal(loaded[name].numpy(), t.numpy())
        assert loaded[name].is_leaf and not loaded[name].requires_grad
    assert load_metadata(path) == {"format": "pt", "note": "é"}


def test_save_file_layout_follows_the_format(tmp_path):
    """Read the bytes by the format's definition (not by minigrad's reader)."""
    path = tmp_path / "w.safetensors"
    mg.save_file({"x": mg.tensor([1.0, 2.0]), "n": mg.tensor([[3]]),
                  "m": mg.tensor([True])}, path)
    raw = path.read_bytes()
    n = int.from_bytes(raw[:8], "little")
    assert (8 + n) % 8 == 0  # data aligned to 8 bytes
    header = json.loads(raw[8:8 + n])
    data = raw[8 + n:]
    assert header["x"]["dtype"] == "F32" and header["x"]["shape"] == [2]
    assert header["n"]["dtype"] == "I64" and header["m"]["dtype"] == "BOOL"
    begin, end = header["x"]["data_offsets"]
    assert np.frombuffer(data[begin:end], dtype="<f4").tolist() == [1.0, 2.0]
    begin, end = header["n"]["data_offsets"]
    assert np.frombuffer(data[begin:end], dtype="<i8").tolist() == [3]
    assert sum(e - b for b, e in (v["data_offsets"] for v in header.values())) == len(data)


@pytest.mark.parametrize("direction", ["minigrad to torch", "torch to minigrad"])
def test_safetensors_carry_a_model_between_minigrad_and_torch(tmp_path, direction):
    torch = pytest.importorskip("torch")
    st_torch = pytest.importorskip("safetensors.torch")
    mg_model, torch_model = mlp_pair(torch)
    path = tmp_path / "model.safetensors"
    if direction == "minigrad to torch":
        mg.save_file(mg_model.state_dict(), path, metadata={"format": "pt"})
        torch_model.load_state_dict(st_torch.load_file(path))
    else:
        st_torch.save_file(torch_model.state_dict(), path)
        mg_model.load_state_dict(mg.load_file(path))
    x = np.random.default_rng(1).standard_normal((6, 4)).astype(np.float32)
    got, expected = outputs(torch, mg_model, torch_model, x)
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)


def test_safetensors_numpy_reads_what_save_file_writes(tmp_path):
    st_numpy = pytest.importorskip("safetensors.numpy")
    path = tmp_path / "w.safetensors"
    tensors = {name: sample(dtype) for name, dtype in zip("abcdefghi", DTYPES)}
    mg.save_file(tensors, path)
    loaded = st_numpy.load_file(str(path))
    for name, t in tensors.items():
        assert loaded[name].dtype == t.numpy().dtype
        np.testing.assert_array_equal(loaded[name], t.numpy())
    st_numpy.save_file({k: v.numpy() for k, v in tensors.items()}, str(path))
    back = mg.load_file(path)
    for name, t in tensors.items():
        np.testing.assert_array_equal(back[name].numpy(), t.numpy())


def test_save_file_refuses_bad_input_before_touching_the_file(tmp_path):
    path = tmp_path / "w.safetensors"
    path.write_bytes(b"previous")
    cases = [
        (TypeError, "names must be str", {1: mg.ones(1)}, None),
        (ValueError, "reserved", {"__metadata__": mg.ones(1)}, None),
        (TypeError, "not a Tensor", {"a": "text"}, None),
        (TypeError, "uint16", {"a": np.zeros(2, dtype=np.uint16)}, None),
        (TypeError, "metadata", {"a": mg.ones(1)}, {"k": 1}),
        (TypeError, "dict", [mg.ones(1)], None),
    ]
    for error, match, tensors, metadata in cases:
        with pytest.raises(error, match=match):
            mg.save_file(tensors, path, metadata=metadata)
    assert path.read_bytes() == b"previous"
    assert os.listdir(tmp_path) == ["w.safetensors"]


def build(header, data=b"", pad=True, length=None):
    text = json.dumps(header).encode() if not isinstance(header, bytes) else header
    if pad:
        text += b" " * (-(8 + len(text)) % 8)
    n = len(text) if length is None else length
    return n.to_bytes(8, "little") + text + data


F32 = {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}
HOSTILE = {
    "empty file": b"",
    "shorter than the length": b"\x01\x00",
    "header length past the limit": (2**63).to_bytes(8, "little") + b"{}",
    "header length past the end": build({}, length=1000),
    "not JSON": build(b"{not json"),
    "not UTF-8": build(b'{"\xff": 1}'),
    "JSON array": build(b"[1, 2]"),
    "deep nesting": build(b"{" + b'"a":' * 1 + b"[" * 100000 + b"]" * 100000 + b"}"),
    "duplicate name": build(b'{"a": %s, "a": %s}' % (json.dumps(F32).encode(),
                                                     json.dumps(F32).encode()), b"\0" * 8),
    "bfloat16": build({"a": {"dtype": "BF16", "shape": [2], "data_offsets": [0, 4]}},
                      b"\0" * 4),
    "unknown dtype": build({"a": {"dtype": "OBJ", "shape": [2], "data_offsets": [0, 8]}},
                           b"\0" * 8),
    "missing key": build({"a": {"dtype": "F32", "shape": [2]}}, b"\0" * 8),
    "extra key": build({"a": dict(F32, code="import os")}, b"\0" * 8),
    "negative shape": build({"a": {"dtype": "F32", "shape": [-2], "data_offsets": [0, 8]}},
                            b"\0" * 8),
    "boolean shape": build({"a": {"dtype": "F32", "shape": [True], "data_offsets": [0, 4]}},
                           b"\0" * 4),
    "float offsets": build({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0.0, 8.0]}},
                           b"\0" * 8),
    "offsets past the end": build({"a": {"dtype": "F32", "shape": [2],
                                         "data_offsets": [0, 8]}}, b"\0" * 4),
    "size mismatch": build({"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}},
                           b"\0" * 8),
    "huge shape": build({"a": {"dtype": "F32", "shape": [2**40, 2**40],
                               "data_offsets": [0, 8]}}, b"\0" * 8),
    "overlap": build({"a": F32, "b": F32}, b"\0" * 16),
    "gap": build({"a": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]}}, b"\0" * 16),
    "trailing bytes": build({"a": F32}, b"\0" * 12),
    "non-string metadata": build({"__metadata__": {"k": 1}, "a": F32}, b"\0" * 8),
    "metadata not a dict": build({"__metadata__": ["k"], "a": F32}, b"\0" * 8),
    "bool values not 0 or 1": build({"a": {"dtype": "BOOL", "shape": [2],
                                           "data_offsets": [0, 2]}}, b"\x00\x07"),
    "a zip (mg.save checkpoint)": b"PK\x03\x04" + b"\0" * 40,
}


@pytest.mark.parametrize("content", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_safetensors_files_are_refused(tmp_path, content):
    path = tmp_path / "hostile.safetensors"
    path.write_bytes(content)
    with pytest.raises(mg.CheckpointError, match="hostile.safetensors"):
        mg.load_file(path)


def test_hostile_files_are_refused_by_the_safetensors_package_too(tmp_path):
    """The reference reader agrees with minigrad's on the structural cases (a check that the
    cases above are really malformed, not a quirk of minigrad's reader)."""
    st_numpy = pytest.importorskip("safetensors.numpy")
    structural = ["header length past the end", "not JSON", "JSON array", "missing key",
                  "negative shape", "offsets past the end", "size mismatch", "overlap", "gap",
                  "trailing bytes", "non-string metadata"]
    for name in structural:
        path = tmp_path / "x.safetensors"
        path.write_bytes(HOSTILE[name])
        with pytest.raises(Exception):  # noqa: B017 - the package raises its own types
            st_numpy.load_file(str(path))


def test_load_file_refuses_directories_and_other_devices(tmp_path):
    with pytest.raises(mg.CheckpointError, match="regular file"):
        mg.load_file(tmp_path)
    with pytest.raises(FileNotFoundError):
        mg.load_file(tmp_path / "missing.safetensors")
    with pytest.raises(ValueError, match="CPU"):
        mg.load_file(tmp_path / "missing.safetensors", device="cuda")


def test_save_model_load_model_as_safetensors_torch(tmp_path):
    torch = pytest.importorskip("torch")
    st_torch = pytest.importorskip("safetensors.torch")
    from minigrad.safetensors import load_model, save_model

    mg_model, torch_model = mlp_pair(torch)
    path = tmp_path / "model.safetensors"
    save_model(mg_model, path)
    missing, unexpected = st_torch.load_model(torch_model, path)
    assert not missing and not unexpected
    x = np.random.default_rng(2).standard_normal((3, 4)).astype(np.float32)
    got, expected = outputs(torch, mg_model, torch_model, x)
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)
    other = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3))
    assert load_model(other, path) == ([], [])
    np.testing.assert_array_equal(other[2].bias.numpy(), mg_model[2].bias.numpy())
    # strict: the same error as safetensors.torch's, for a model with other names
    smaller, torch_smaller = nn.Sequential(nn.Linear(4, 8)), torch.nn.Sequential(
        torch.nn.Linear(4, 8))
    with pytest.raises(RuntimeError) as torch_error:
        st_torch.load_model(torch_smaller, path)
    with pytest.raises(RuntimeError) as mg_error:
        load_model(smaller, path)
    assert str(mg_error.value) == str(torch_error.value)
    missing, unexpected = load_model(smaller, path, strict=False)
    assert missing == [] and sorted(unexpected) == ["2.bias", "2.weight"]
