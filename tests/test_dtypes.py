"""dtypes against PyTorch: promotion (``promote_types``, ``result_type``, ``can_cast`` and the
dtype of every binary op between tensors of every dtype, 0-d tensors and Python numbers), the
default dtype, machine limits, ``Tensor.type()`` and the legacy tensor types, and storage and
arithmetic in the narrow dtypes (int32, int16, int8, uint8, float16)."""
import numpy as np
import pytest

import minigrad as mg

torch = pytest.importorskip("torch")

NAMES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64"]


def _name(dtype):
    return str(dtype).split(".")[-1]


@pytest.fixture
def default_dtype():
    """Restore both libraries' default dtype after a test that changes it."""
    yield
    mg.set_default_dtype(mg.float32)
    torch.set_default_dtype(torch.float32)


@pytest.mark.parametrize("a", NAMES)
@pytest.mark.parametrize("b", NAMES)
def test_promote_types_and_can_cast(a, b):
    got = mg.promote_types(getattr(mg, a), getattr(mg, b))
    want = torch.promote_types(getattr(torch, a), getattr(torch, b))
    assert _name(got) == _name(want)
    assert mg.can_cast(getattr(mg, a), getattr(mg, b)) == \
        torch.can_cast(getattr(torch, a), getattr(torch, b))


OPERANDS = {
    "tensor": lambda L, d: L.ones(3, dtype=getattr(L, d)),
    "zero_d": lambda L, d: L.ones((), dtype=getattr(L, d)),
}
NUMBERS = [True, 3, -1, 2.5, 2 ** 63]


# every pair of dtypes as tensor/0-d operands, and every dtype with each kind of number
RESULT_CASES = [(a, b, ka, kb) for a in NAMES for b in NAMES for ka in OPERANDS
                for kb in OPERANDS] + [(a, "bool", ka, repr(n)) for a in NAMES
                                       for ka in OPERANDS for n in NUMBERS]


@pytest.mark.parametrize("a, b, kind_a, kind_b", RESULT_CASES)
def test_result_type_matches_torch(a, b, kind_a, kind_b):
    def run(L):
        x = OPERANDS[kind_a](L, a)
        y = OPERANDS[kind_b](L, b) if kind_b in OPERANDS else eval(kind_b)
        try:
            return _name(L.result_type(x, y))
        except RuntimeError as exc:
            return type(exc)

    assert run(mg) == run(torch)


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_default_dtype_drives_floats_factories_and_promotion(default_dtype, dtype):
    mg.set_default_dtype(getattr(mg, dtype))
    torch.set_default_dtype(getattr(torch, dtype))
    assert mg.get_default_dtype() == getattr(mg, dtype)
    for fn in (lambda L: L.tensor([1.5, 2.0]), lambda L: L.tensor(3.0),
               lambda L: L.tensor([1, 2]) / 2, lambda L: L.tensor([1, 2]) * 1.5,
               lambda L: L.sin(L.tensor([1, 2])), lambda L: L.sigmoid(L.tensor([True])),
               lambda L: L.atan2(L.tensor([1]), L.tensor([2]))):
        assert _name(fn(mg).dtype) == _name(fn(torch).dtype)
    assert _name(mg.result_type(mg.tensor([1]), 1.0)) == dtype


def test_set_default_dtype_refuses_integers(default_dtype):
    with pytest.raises(TypeError):
        torch.set_default_dtype(torch.int64)
    with pytest.raises(TypeError):
        mg.set_default_dtype(mg.int64)
    assert mg.get_default_dtype() == mg.float32


@pytest.mark.parametrize("name", ["float16", "float32", "float64"])
def test_finfo_matches_torch(name):
    got, want = mg.finfo(getattr(mg, name)), torch.finfo(getattr(torch, name))
    for attr in ("bits", "eps", "max", "min", "tiny", "smallest_normal", "resolution"):
        assert getattr(got, attr) == getattr(want, attr), attr
    assert got.dtype == want.dtype
    assert repr(mg.finfo()) == repr(torch.finfo()).replace("torch", "minigrad")


@pytest.mark.parametrize("name", ["uint8", "int8", "int16", "int32", "int64"])
def test_iinfo_matches_torch(name):
    got, want = mg.iinfo(getattr(mg, name)), torch.iinfo(getattr(torch, name))
    assert (got.bits, got.max, got.min, got.dtype) == (want.bits, want.max, want.min, want.dtype)


@pytest.mark.parametrize("name", NAMES)
def test_dtype_attributes_and_tensor_queries(name):
    d, td = getattr(mg, name), getattr(torch, name)
    assert (d.is_floating_point, d.is_signed, d.itemsize, d.is_complex) == \
        (td.is_floating_point, td.is_signed, td.itemsize, td.is_complex)
    t, tt = mg.ones(2, 3, dtype=d), torch.ones(2, 3, dtype=td)
    assert t.element_size() == tt.element_size()
    assert t.nelement() == tt.nelement() == 6
    assert t.is_floating_point() == tt.is_floating_point() == mg.is_floating_point(t)
    assert t.is_complex() is False and mg.is_complex(t) is False
    assert t.type() == tt.type().replace("torch", "minigrad")


LEGACY = ["FloatTensor", "DoubleTensor", "HalfTensor", "LongTensor", "IntTensor",
          "ShortTensor", "CharTensor", "ByteTensor", "BoolTensor"]


@pytest.mark.parametrize("name", LEGACY)
def test_legacy_tensor_types(name):
    cls, tcls = getattr(mg, name), getattr(torch, name)
    for args in (([1, 0, 2],), (2, 3), ()):
        got, want = cls(*args), tcls(*args)
        assert _name(got.dtype) == _name(want.dtype)
        assert tuple(got.shape) == tuple(want.shape)
        if args and isinstance(args[0], list):
            assert got.tolist() == want.tolist()
    assert isinstance(got, cls) and not isinstance(got, mg.Tensor.__class__)
    others = [n for n in LEGACY if n != name]
    assert not any(isinstance(got, getattr(mg, o)) for o in others)
    source = mg.tensor([1.0, 2.0])
    assert source.type(cls).dtype == cls.dtype
    assert source.type(f"torch.{name}").dtype == cls.dtype
    assert source.type(f"minigrad.{name}").dtype == cls.dtype
    assert _name(source.type(cls).dtype) == _name(torch.tensor([1.0, 2.0]).type(tcls).dtype)


def test_type_returns_self_when_nothing_changes():
    t = mg.tensor([1.0])
    assert t.type(mg.float32) is t
    assert t.type("torch.FloatTensor") is t
    assert t.type(mg.float64).dtype == mg.float64
    with pytest.raises(ValueError):
        t.type("torch.float32")


NARROW = ["uint8", "int8", "int16", "int32", "float16"]


@pytest.mark.parametrize("name", NARROW)
def test_narrow_dtypes_store_and_compute_like_torch(name):
    """Storage, arithmetic (with wrap-around for integers, float16 results rounded to
    float16), reductions to Python and printing of the narrow dtypes."""
    values = [0, 1, 2, 3, 100, 120] if name != "float16" else [0.1, 1.5, -2.25, 3.0, 100.7, 6e4]

    def run(L):
        d = getattr(L, name)
        a = L.tensor(values, dtype=d)
        b = L.tensor([3, 2, 1, 3, 2, 1], dtype=d)
        outs = [a + b, a * b, a - b, a * 3, a + 200, a // b if name != "float16" else a / b,
                a % b, -a if name != "uint8" else a, a.abs(), a.square(), a.clamp(1, 50),
                L.maximum(a, b), a == b, a.float(), a.double()]
        return [(_name(o.dtype), np.array(o.numpy(), dtype=np.float64)) for o in outs]

    for (gd, gv), (wd, wv) in zip(run(mg), run(torch)):
        assert gd == wd
        np.testing.assert_allclose(gv, wv, rtol=1e-3)
    t = mg.tensor(values, dtype=getattr(mg, name))
    assert repr(t) == repr(torch.tensor(values, dtype=getattr(torch, name))).replace(
        "torch.", "minigrad.")


def test_float16_requires_grad_and_backpropagates():
    x = mg.tensor([0.5, 1.5, -2.0], dtype=mg.float16, requires_grad=True)
    tx = torch.tensor([0.5, 1.5, -2.0], dtype=torch.float16, requires_grad=True)
    (x.sin() * x + x.exp()).sum().backward()
    (tx.sin() * tx + tx.exp()).sum().backward()
    assert x.grad.dtype == mg.float16
    np.testing.assert_allclose(x.grad.numpy().astype(np.float64),
                               tx.grad.numpy().astype(np.float64), rtol=2e-3)
