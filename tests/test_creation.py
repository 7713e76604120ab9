"""Creating tensors, their dtypes (defaults and promotion, against PyTorch), the creation and
random functions, and the attributes and small methods of a Tensor."""
import itertools

import numpy as np
import pytest

import minigrad as mg


def _dtype_name(dtype):
    """'float32' for mg.float32 and torch.float32 alike."""
    return str(dtype).split(".")[-1]


# ---------------------------------------------------------------------------------------------
# mg.tensor and mg.from_numpy
# ---------------------------------------------------------------------------------------------

BASE = np.arange(24, dtype=np.float64).reshape(4, 6) * 0.5 - 3
LAYOUTS = {
    "c_order": BASE,
    "transposed": BASE.T,
    "fortran": np.asfortranarray(BASE),
    "negative_strides": BASE[::-1, ::-2],
    "slice": BASE[1:3, 2:5],
    "step_slice": BASE[::2, 1::3],
    "column": BASE[:, 2],
    "broadcast_view": np.broadcast_to(BASE[0], (3, 6)),
    "zero_d": np.array(2.5),
    "non_contiguous_3d": np.arange(60.0).reshape(3, 4, 5).transpose(2, 0, 1)[:, ::-1],
}


@pytest.mark.parametrize("name", list(LAYOUTS))
def test_tensor_from_any_numpy_layout_copies_into_c_order(name):
    source = LAYOUTS[name]
    t = mg.tensor(source)
    expected = np.array(source)
    np.testing.assert_array_equal(t.numpy(), expected)
    assert t.shape == expected.shape
    assert t.numpy().flags.c_contiguous
    assert t.dtype == mg.float64  # a float64 array keeps its dtype
    assert not np.shares_memory(t.numpy(), source)
    if source.flags.writeable:
        source_copy = source.copy()
        source[...] = 99.0  # the tensor is independent of its source
        np.testing.assert_array_equal(t.numpy(), expected)
        source[...] = source_copy


@pytest.mark.parametrize("name", ["transposed", "negative_strides", "slice"])
def test_tensor_from_layout_with_dtype_and_grad(name):
    t = mg.tensor(LAYOUTS[name], dtype=mg.float32, requires_grad=True)
    assert t.dtype == mg.float32 and t.requires_grad and t.numpy().flags.c_contiguous
    (t * t).sum().backward()
    np.testing.assert_allclose(t.grad.numpy(), 2 * np.array(LAYOUTS[name], dtype=np.float32))


@pytest.mark.parametrize("data", [
    3.5, 7, True, [1.0, 2.0], [1, 2, 3], [True, False], [[1, 2], [3, 4]], [[1.5], [2.5]],
    [1, 2.5], [True, 2], [[[1.0, 2.0]], [[3.0, 4.0]]], [], [[]], (1.0, 2.0), [(1, 2), (3, 4)],
    np.float64(2.0), np.float32(1.5), np.int32(3), np.arange(3, dtype=np.int32),
    np.array([1, 2], dtype=np.int16), np.array([1.5], dtype=np.float32),
    np.array([True, False]), np.arange(4, dtype=np.uint8),
], ids=lambda d: repr(d)[:30])
def test_tensor_values_and_default_dtypes_match_torch(data):
    torch = pytest.importorskip("torch")
    got, want = mg.tensor(data), torch.tensor(data)
    assert _dtype_name(got.dtype) == _dtype_name(want.dtype)
    assert tuple(got.shape) == tuple(want.shape)
    np.testing.assert_array_equal(got.numpy(), want.numpy())
    assert got.numpy().flags.c_contiguous


def test_python_defaults():
    assert mg.tensor(1.0).dtype == mg.float32
    assert mg.tensor(1).dtype == mg.int64
    assert mg.tensor(True).dtype == mg.bool
    assert mg.tensor([1, 2.0]).dtype == mg.float32
    assert mg.tensor(np.array([1.0])).dtype == mg.float64
    assert mg.tensor([1.0], dtype=mg.float64).dtype == mg.float64
    assert mg.tensor([1, 2], dtype=mg.float32).numpy().dtype == np.float32


def test_tensor_from_tensor_and_nested_tensors_copy():
    a = mg.tensor([1.0, 2.0])
    b = mg.tensor(a)
    b.data[0] = 5.0
    assert a.tolist() == [1.0, 2.0]
    c = mg.tensor([mg.tensor(1.0), mg.tensor(2.0)])
    assert c.tolist() == [1.0, 2.0] and c.shape == (2,)


def test_tensor_rejects_non_numeric_data():
    with pytest.raises(TypeError):
        mg.tensor(np.array(["a", "b"]))
    with pytest.raises((TypeError, ValueError)):
        mg.tensor("abc")


def test_from_numpy_shares_memory_and_keeps_dtype():
    a = np.arange(6, dtype=np.float64).reshape(2, 3)
    t = mg.from_numpy(a)
    assert t.dtype == mg.float64
    assert np.shares_memory(t.numpy(), a)
    a[0, 0] = 42.0
    assert t[0, 0].item() == 42.0
    t.data[1, 2] = -1.0
    assert a[1, 2] == -1.0
    assert mg.from_numpy(np.zeros(3, dtype=np.int32)).dtype == mg.int32
    with pytest.raises(TypeError):
        mg.from_numpy([1.0, 2.0])


# ---------------------------------------------------------------------------------------------
# Type promotion, compared with torch for every pair
# ---------------------------------------------------------------------------------------------

DTYPES = ["float32", "float64", "int64", "bool"]
SCALARS = [2, 2.5, True]


def _make(lib, dtype_name, zero_d):
    values = np.array(1 if zero_d else [1, 0, 1])
    return lib.tensor(values.astype(np.dtype(dtype_name)), dtype=getattr(lib, dtype_name))


OPERATORS = {"add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
             "div": lambda a, b: a / b}


def _result_dtype(lib, op, a, b):
    try:
        return _dtype_name(op(a, b).dtype)
    except RuntimeError as exc:  # torch refuses bool - bool; minigrad must refuse too
        return f"error: {type(exc).__name__}"


@pytest.mark.parametrize("op_name", list(OPERATORS))
def test_promotion_of_tensor_pairs_matches_torch(op_name):
    torch = pytest.importorskip("torch")
    op = OPERATORS[op_name]
    mismatches = []
    for da, db in itertools.product(DTYPES, DTYPES):
        for za, zb in [(False, False), (True, False), (False, True), (True, True)]:
            want = _result_dtype(torch, op, _make(torch, da, za), _make(torch, db, zb))
            try:
                got = _result_dtype(mg, op, _make(mg, da, za), _make(mg, db, zb))
            except Exception as exc:  # noqa: BLE001 - report every pair at once
                got = f"error: {type(exc).__name__}"
            if got.startswith("error") and want.startswith("error"):
                continue
            if got != want:
                mismatches.append((da, "0d" if za else "1d", db, "0d" if zb else "1d", got, want))
    assert not mismatches, mismatches


@pytest.mark.parametrize("op_name", list(OPERATORS))
@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")
def test_promotion_with_python_scalars_matches_torch(op_name):
    torch = pytest.importorskip("torch")
    op = OPERATORS[op_name]
    mismatches = []
    def run(lib, dtype, zero_d, scalar, scalar_first):
        t = _make(lib, dtype, zero_d)
        return _result_dtype(lib, op, scalar, t) if scalar_first else \
            _result_dtype(lib, op, t, scalar)

    for case in itertools.product(DTYPES, [False, True], SCALARS, [False, True]):
        dtype, zero_d, scalar, scalar_first = case
        want = run(torch, *case)
        try:
            got = run(mg, *case)
        except Exception as exc:  # noqa: BLE001 - report every case at once
            got = f"error: {type(exc).__name__}"
        if got.startswith("error") and want.startswith("error"):
            continue
        if got != want:
            mismatches.append((dtype, zero_d, repr(scalar), scalar_first, got, want))
    assert not mismatches, mismatches


def test_promotion_values_match_torch():
    torch = pytest.importorskip("torch")
    for da, db in itertools.product(DTYPES, DTYPES):
        for name, op in OPERATORS.items():
            if name == "sub" and "bool" in (da, db):
                continue
            got = op(_make(mg, da, False), _make(mg, db, False) + 1)
            want = op(_make(torch, da, False), _make(torch, db, False) + 1)
            np.testing.assert_allclose(got.numpy().astype(np.float64),
                                       want.numpy().astype(np.float64), rtol=1e-6)


def test_python_scalar_does_not_promote_float32():
    t = mg.tensor([1.0, 2.0])
    for out in (t + 2.5, 2.5 * t, t / 3, t ** 2.0, 1 - t, t * 10**3):
        assert out.dtype == mg.float32
    assert (mg.tensor([1, 2]) + 1.5).dtype == mg.float32
    assert (mg.tensor([1, 2]) / 2).dtype == mg.float32
    assert (mg.tensor([1, 2]) * 2).dtype == mg.int64


# ---------------------------------------------------------------------------------------------
# Creation functions
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("make, shape, dtype, fill", [
    (lambda: mg.zeros(2, 3), (2, 3), mg.float32, 0),
    (lambda: mg.zeros((2, 3)), (2, 3), mg.float32, 0),
    (lambda: mg.zeros([4]), (4,), mg.float32, 0),
    (lambda: mg.zeros(()), (), mg.float32, 0),
    (lambda: mg.zeros(0, 2), (0, 2), mg.float32, 0),
    (lambda: mg.zeros(2, dtype=mg.int64), (2,), mg.int64, 0),
    (lambda: mg.ones(3), (3,), mg.float32, 1),
    (lambda: mg.ones(2, 2, dtype=mg.float64), (2, 2), mg.float64, 1),
    (lambda: mg.full((2, 3), 7.5), (2, 3), mg.float32, 7.5),
    (lambda: mg.full((2,), 7), (2,), mg.int64, 7),
    (lambda: mg.full((2,), True), (2,), mg.bool, True),
    (lambda: mg.full((1, 2), 2, dtype=mg.float64), (1, 2), mg.float64, 2),
    (lambda: mg.zeros_like(mg.ones(2, 3, dtype=mg.float64)), (2, 3), mg.float64, 0),
    (lambda: mg.ones_like(mg.tensor([1, 2])), (2,), mg.int64, 1),
    (lambda: mg.ones_like(mg.tensor([1, 2]), dtype=mg.float32), (2,), mg.float32, 1),
], ids=lambda v: "" if callable(v) else str(v))
def test_filled_creation(make, shape, dtype, fill):
    t = make()
    assert t.shape == shape and t.dtype == dtype
    assert np.all(t.numpy() == fill)
    assert not t.requires_grad and t.is_leaf


@pytest.mark.parametrize("call", [
    "zeros(2, 3)", "ones(4)", "full((2, 2), 1.5)", "zeros_like(torch.ones(2, dtype=torch.float64))",
    "arange(5)", "arange(1, 7, 2)", "arange(0.0, 1.0, 0.25)", "arange(5.0)", "arange(1, 2.5, 0.5)",
    "arange(10, 0, -3)", "arange(0, 1, 0.1)", "arange(5, dtype=torch.float64)",
    "arange(0, 3, dtype=torch.float32)", "full((2,), 3)", "arange(-1.5, 1.5, 0.5)",
    "arange(3, 3)",
])
def test_creation_matches_torch(call):
    torch = pytest.importorskip("torch")
    want = eval("torch." + call, {"torch": torch})
    got = eval("mg." + call.replace("torch.", "mg."), {"mg": mg})
    assert _dtype_name(got.dtype) == _dtype_name(want.dtype)
    assert tuple(got.shape) == tuple(want.shape)
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6)


def test_creation_with_requires_grad():
    for t in (mg.zeros(2, requires_grad=True), mg.ones(2, 2, requires_grad=True),
              mg.full((2,), 1.0, requires_grad=True), mg.rand(3, requires_grad=True),
              mg.randn(3, requires_grad=True), mg.arange(3.0, requires_grad=True)):
        assert t.requires_grad and t.is_leaf


def test_rand_randn_shapes_dtypes_ranges():
    u = mg.rand(200, 50)
    assert u.shape == (200, 50) and u.dtype == mg.float32
    assert 0.0 <= u.numpy().min() and u.numpy().max() < 1.0
    assert abs(u.numpy().mean() - 0.5) < 0.01
    assert mg.rand((2, 3)).shape == (2, 3)
    assert mg.rand(4, dtype=mg.float64).dtype == mg.float64
    n = mg.randn(400, 50)
    assert n.shape == (400, 50) and n.dtype == mg.float32
    assert abs(n.numpy().mean()) < 0.05 and abs(n.numpy().std() - 1.0) < 0.05  # 7 sigma
    assert mg.randn(2, 2, dtype=mg.float64).dtype == mg.float64
    assert mg.rand(0, 3).shape == (0, 3)


def test_randint_both_signatures():
    a = mg.randint(5, (1000,))  # randint(high, size)
    assert a.dtype == mg.int64 and a.shape == (1000,)
    assert a.numpy().min() == 0 and a.numpy().max() == 4
    b = mg.randint(-3, 3, (20, 50))  # randint(low, high, size)
    assert b.shape == (20, 50) and b.dtype == mg.int64
    assert b.numpy().min() == -3 and b.numpy().max() == 2
    c = mg.randint(0, 10, size=(4,))
    assert c.shape == (4,)
    assert mg.randint(3, 4, (2, 2)).tolist() == [[3, 3], [3, 3]]
    with pytest.raises(ValueError):
        mg.randint(5, 5, (2,))


@pytest.mark.parametrize("draw", [lambda: mg.rand(5), lambda: mg.randn(2, 3),
                                  lambda: mg.randint(0, 100, (8,)), lambda: mg.randperm(10)],
                         ids=["rand", "randn", "randint", "randperm"])
def test_manual_seed_reproducibility(draw):
    mg.manual_seed(123)
    first = [draw().numpy().copy() for _ in range(3)]
    mg.manual_seed(123)
    again = [draw().numpy().copy() for _ in range(3)]
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[0], first[1])  # successive draws differ
    mg.manual_seed(124)
    assert not np.array_equal(draw().numpy(), first[0])


def test_manual_seed_covers_every_random_function_in_sequence():
    def sequence():
        mg.manual_seed(7)
        return [mg.rand(3).numpy(), mg.randn(3).numpy(), mg.randint(10, (3,)).numpy(),
                mg.randperm(5).numpy()]

    for a, b in zip(sequence(), sequence()):
        np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------------------------------------
# Attributes and small methods
# ---------------------------------------------------------------------------------------------


def test_basic_attributes():
    t = mg.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert t.shape == (2, 3) and isinstance(t.shape, tuple)
    assert t.shape[0] == 2 and tuple(t.shape) == (2, 3)
    assert t.dtype == mg.float32 and t.ndim == 2
    assert t.requires_grad is False and t.grad is None and t.is_leaf and t.grad_fn is None
    assert t.size() == (2, 3) and t.size(1) == 3 and t.size(-1) == 3
    assert t.dim() == 2 and t.numel() == 6 and len(t) == 2
    assert t.T.shape == (3, 2)
    np.testing.assert_array_equal(t.T.numpy(), t.numpy().T)
    assert mg.tensor(5.0).dim() == 0 and mg.tensor(5.0).numel() == 1
    with pytest.raises(IndexError):
        t.size(2)
    with pytest.raises(TypeError):
        len(mg.tensor(1.0))


def test_numpy_on_a_tensor_that_requires_grad():
    t = mg.tensor([1.0, 2.0], requires_grad=True)
    a = t.numpy()
    assert isinstance(a, np.ndarray)
    np.testing.assert_array_equal(a, [1.0, 2.0])
    np.testing.assert_array_equal((t * 2).numpy(), [2.0, 4.0])


def test_item_and_tolist():
    assert mg.tensor(2.5).item() == 2.5 and isinstance(mg.tensor(2.5).item(), float)
    assert mg.tensor([7]).item() == 7 and isinstance(mg.tensor([7]).item(), int)
    assert mg.tensor([[True]]).item() is True
    with pytest.raises(RuntimeError):
        mg.tensor([1.0, 2.0]).item()
    assert mg.tensor([[1, 2], [3, 4]]).tolist() == [[1, 2], [3, 4]]
    assert mg.tensor(3.0).tolist() == 3.0
    out = mg.tensor([0.5, 1.5]).tolist()
    assert out == [0.5, 1.5] and all(type(v) is float for v in out)


def test_detach_and_requires_grad_():
    t = mg.tensor([1.0, 2.0])
    assert t.requires_grad_() is t and t.requires_grad
    t.requires_grad_(False)
    assert not t.requires_grad
    d = (mg.tensor([1.0], requires_grad=True) * 2).detach()
    assert not d.requires_grad and d.is_leaf


@pytest.mark.parametrize("method, dtype", [("float", mg.float32), ("double", mg.float64)])
def test_float_double_to(method, dtype):
    t = mg.tensor([1, 2, 3])
    out = getattr(t, method)()
    assert out.dtype == dtype and out.tolist() == [1.0, 2.0, 3.0]
    assert t.to(dtype).dtype == dtype
    assert t.to("cpu") is t or t.to("cpu").dtype == t.dtype
    assert t.to(mg.int64).dtype == mg.int64


def test_to_cpu_is_a_no_op_and_gpu_is_refused():
    t = mg.tensor([1.0])
    assert t.to("cpu").tolist() == [1.0] and t.to("cpu").dtype == mg.float32
    with pytest.raises(RuntimeError):
        t.to("cuda")


def test_dtype_conversion_is_differentiable():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = x.double()
    assert y.dtype == mg.float64 and y.requires_grad
    (y * y).sum().backward()
    assert x.grad.dtype == mg.float32
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 4.0])
    z = x.to(mg.float64).float()
    assert z.dtype == mg.float32 and z.requires_grad


def test_clone_is_a_differentiable_copy():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    c = x.clone()
    assert not np.shares_memory(c.numpy(), x.numpy())
    assert c.grad_fn is not None and not c.is_leaf
    (c * 3).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 3.0])
    plain = mg.tensor([1, 2]).clone()
    plain.data[0] = 9
    assert plain.dtype == mg.int64


REPR_CASES = [
    "tensor([1.0, 2.5, -3.0])",
    "tensor([[1.0, 2.0], [3.0, 4.0]])",
    "tensor([1.0, 2.0], dtype={L}.float64)",
    "tensor([[1.5, 2.0]], requires_grad=True)",
    "tensor([1.5, 2.0], dtype={L}.float64, requires_grad=True)",
    "tensor([1.5, 2.0], requires_grad=True) * 2",
    "tensor([1.5, 2.0], requires_grad=True).sum()",
    "tensor([1.5, 2.0], requires_grad=True).exp()",
    "tensor(3.5)",
    "tensor(3)",
    "tensor([1, 20, -300])",
    "tensor([True, False])",
    "tensor([])",
    "zeros(0, 3)",
    "tensor([1e-5, 1.0])",
    "tensor([1e10, -1.0])",
    "tensor([0.1, 0.25, 100.0])",
    "tensor([float('nan'), float('inf'), -1.0])",
    "tensor([[[1.0, 2.0]], [[3.0, 4.0]]])",
    "tensor([1, 2], dtype={L}.int32)",
    "arange(2000.0)",
    "arange(30.0) / 7",
    "arange(12.0, dtype={L}.float64).reshape(3, 4)",
    "arange(3000).reshape(30, 100)",
    "arange(1200.0, dtype={L}.float64).reshape(40, 30) / 3",
    "ones(2, 60, dtype={L}.float64)",
]


@pytest.mark.parametrize("expr", REPR_CASES)
def test_repr_matches_torch(expr):
    torch = pytest.importorskip("torch")
    want = repr(eval("torch." + expr.format(L="torch"), {"torch": torch}))
    got = repr(eval("mg." + expr.format(L="mg"), {"mg": mg}))
    assert got == want.replace("torch.", "minigrad.")


def test_repr_shows_grad_fn_names():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    assert "grad_fn=<MulBackward0>" in repr(x * x)
    assert "requires_grad=True" in repr(x) and "grad_fn" not in repr(x)
    assert repr(mg.float32) == "minigrad.float32"
    assert repr(mg.zeros(2, 3).shape) == "minigrad.Size([2, 3])"


# ---------------------------------------------------------------------------------------------
# A number written into every element: full, full_like, new_full, fill_ (PyTorch's overflow
# check: RuntimeError, never a silently wrapped or zeroed value; its rule for more than one
# element: a one-element float16 fill skips the check in PyTorch)
# ---------------------------------------------------------------------------------------------

FILL_CASES = [("uint8", -1), ("uint8", -255), ("uint8", 256), ("uint8", 255.9), ("uint8", -1.0),
              ("int8", 127), ("int8", 127.5), ("int8", -128.9), ("int8", -129), ("int8", 300),
              ("int8", float("nan")), ("int32", 2**31), ("int32", float("inf")),
              ("int16", 40000), ("int64", 2**63), ("int64", -2**63), ("int64", 2**64),
              ("float16", 70000), ("float16", 65504.0), ("float16", 65519.0), ("float32", 3.4028235e38), ("float32", -3.41e38),
              ("float32", 2**200), ("float32", float("inf")), ("float32", float("nan")),
              ("float64", 1e308), ("bool", 5), ("bool", float("nan")), ("float32", True)]
FILLERS = {
    "full": lambda L, dtype, v: L.full((3,), v, dtype=dtype),
    "full_like": lambda L, dtype, v: L.full_like(L.zeros(3, dtype=dtype), v),
    "new_full": lambda L, dtype, v: L.zeros(1, dtype=dtype).new_full((3,), v),
    "fill_": lambda L, dtype, v: L.zeros(3, dtype=dtype).fill_(v),
    "fill_ strided": lambda L, dtype, v: L.zeros(3, 2, dtype=dtype)[:, 0].fill_(v),
}


@pytest.mark.parametrize("filler", list(FILLERS))
@pytest.mark.parametrize("dtype, value", FILL_CASES, ids=repr)
def test_fill_values_and_overflow_match_torch(filler, dtype, value):
    torch = pytest.importorskip("torch")
    outcomes = []
    for L in (mg, torch):
        try:
            with np.errstate(all="ignore"):
                out = FILLERS[filler](L, getattr(L, dtype), value)
            outcomes.append(np.asarray(out.tolist()))
        except (RuntimeError, OverflowError) as exc:
            outcomes.append(f"{type(exc).__name__}: {exc}")
    got, want = outcomes
    if isinstance(want, str):
        assert got == want
    else:
        np.testing.assert_array_equal(got, want)
