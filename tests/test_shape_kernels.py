"""The compiled kernels of _shape.pyx (``outer``, ``addr``, ``spaced``, ``expand``...) against
their numpy twins in reference.py, in float32 and float64, through the loop and every
fallback: strided and byte-swapped vectors, inputs broadcast along rows or columns, transposed
inputs, beta = 0 (input not read), empty results, integer and mixed dtypes; and the reference
against a direct float64 formula, so that it is not only compared with itself."""
import inspect
import warnings

import numpy as np
import pytest

from minigrad import _kernels
from minigrad._kernels import reference

SHAPE = _kernels.compiled_module("_shape")
FLOATS = (np.float32, np.float64)
TOL = {np.dtype(np.float32): {"rtol": 2e-6, "atol": 1e-7},
       np.dtype(np.float64): {"rtol": 1e-13, "atol": 1e-300}}


def test_each_kernel_has_a_twin_with_its_signature_and_is_dispatched():
    previous = _kernels.backend_name
    try:
        for name in ("outer", "addr", "spaced", "arange_values", "full_values", "fill_values",
                     "flip", "expand", "tril", "triu"):
            compiled, ref = getattr(SHAPE, name), getattr(reference, name)
            assert list(inspect.signature(compiled).parameters) == \
                list(inspect.signature(ref).parameters)
            _kernels.use("cython")
            assert getattr(_kernels.kernels, name) is compiled
            _kernels.use("numpy")
            assert getattr(_kernels.kernels, name) is ref
    finally:
        _kernels.use(previous)


def vectors(dtype, n, m, layout, rng):
    a = rng.standard_normal(2 * n).astype(dtype)
    b = rng.standard_normal(2 * m).astype(dtype)
    if layout == "strided":  # every other element: a is read with a stride, b is copied
        return a[::2], b[::2]
    if layout == "reversed":
        return a[:n][::-1], b[:m][::-1]
    if layout == "swapped":  # non-native byte order: the reference
        return a[:n].astype(a.dtype.newbyteorder()), b[:m]
    return a[:n], b[:m]


def assert_same(got, want):
    assert type(got) is type(want) and got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_allclose(got, want, **TOL.get(want.dtype, {}))


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("layout", ["contiguous", "strided", "reversed", "swapped"])
@pytest.mark.parametrize("n, m", [(3, 5), (1, 7), (6, 1), (0, 4), (4, 0), (300, 200)])
def test_outer_matches_the_reference_and_a_direct_formula(dtype, layout, n, m):
    a, b = vectors(dtype, n, m, layout, np.random.default_rng(0))
    got = SHAPE.outer(a, b)
    assert_same(got, reference.outer(a, b))
    direct = a.astype(np.float64)[:, None] * b.astype(np.float64)[None, :]
    np.testing.assert_allclose(got, direct, rtol=1e-6 if dtype == np.float32 else 1e-15)


INPUTS = {  # input shape for an (n, m) result, and how it is laid out
    "full": lambda n, m, x: x,
    "row": lambda n, m, x: x[0],                       # (m,), read again for every row
    "row_2d": lambda n, m, x: x[:1],                   # (1, m)
    "column": lambda n, m, x: x[:, :1],                # (n, 1): rows not contiguous
    "transposed": lambda n, m, x: np.ascontiguousarray(x.T).T,
    "strided_rows": lambda n, m, x: np.repeat(x, 2, axis=0)[::2],
    "scalar": lambda n, m, x: x[0, 0],                 # 0-d
    "swapped": lambda n, m, x: x.astype(x.dtype.newbyteorder()),
}


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("kind", sorted(INPUTS))
@pytest.mark.parametrize("beta, alpha", [(1.0, 1.0), (0.5, -2.0), (0.0, 3.0)])
@pytest.mark.parametrize("n, m", [(4, 6), (1, 5), (5, 1), (0, 3), (257, 129)])
def test_addr_matches_the_reference_and_a_direct_formula(dtype, kind, beta, alpha, n, m):
    rng = np.random.default_rng(1)
    a, b = vectors(dtype, n, m, "contiguous", rng)
    x = INPUTS[kind](n, m, rng.standard_normal((n, m)).astype(dtype)) if n and m else \
        np.zeros((n, m), dtype)
    x = np.asarray(x)
    given = None if beta == 0 else x
    got = SHAPE.addr(given, a, b, beta, alpha)
    assert_same(got, reference.addr(given, a, b, beta, alpha))
    x64 = x.astype(np.float64)
    direct = alpha * a.astype(np.float64)[:, None] * b.astype(np.float64)[None, :]
    if beta:
        direct = direct + beta * x64
    np.testing.assert_allclose(got, direct, rtol=1e-5 if dtype == np.float32 else 1e-13,
                               atol=1e-5 if dtype == np.float32 else 1e-13)


def test_addr_without_input_ignores_nan_and_writes_a_new_array():
    a, b = np.ones(3), np.full(2, 2.0)
    for fn in (SHAPE.addr, reference.addr):
        out = fn(None, a, b, 0.0, 1.0)
        np.testing.assert_array_equal(out, np.full((3, 2), 2.0))
        assert not np.shares_memory(out, a) and out.flags.c_contiguous


@pytest.mark.parametrize("types", [(np.int64, np.int64, np.int64),
                                   (np.float32, np.float64, np.float64),
                                   (np.float64, np.float64, np.float32)])
def test_other_dtypes_go_to_the_reference(types):
    ta, tb, tx = types
    a, b = np.arange(1, 4).astype(ta), np.arange(2, 4).astype(tb)
    x = np.ones((3, 2), tx)
    assert_same(SHAPE.outer(a, b), reference.outer(a, b))
    assert_same(SHAPE.addr(x, a, b, 2, 1), reference.addr(x, a, b, 2, 1))


@pytest.mark.parametrize("dtype", FLOATS + (np.int64,))
@pytest.mark.parametrize("shapes, axis", [(((4, 3), (4, 3)), 1), (((1, 3), (5, 3)), -1),
                                          (((3, 2, 4), (3, 1, 4)), 0),
                                          (((2000, 3), (2000, 3)), 1),   # np.cross's side
                                          (((3, 1500), (1, 3, 1500)), -2)])
def test_cross_both_ways_match_numpy(dtype, shapes, axis):
    """arraymath.cross takes rotated components of small arrays, np.cross of large ones."""
    from minigrad._kernels import arraymath
    rng = np.random.default_rng(3)
    a, b = (rng.integers(-9, 10, size=s).astype(dtype) for s in shapes)
    got = arraymath.cross(a, b, axis)
    want = np.cross(a, b, axis=axis)
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_array_equal(got, want)


SPACED_ENDS = [(0, 1), (-3.5, 7.25), (1e30, -1e30), (5, 5), (0.1, 0.7), (2, -2**53),
               (float("-inf"), 1.0), (0.0, float("nan")), (2**60 + 1, 0), (-1e-3, 1e300)]


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("steps", [2, 3, 4, 5, 100, 1001])
@pytest.mark.parametrize("ends", SPACED_ENDS, ids=str)
def test_spaced_equals_the_reference_bit_for_bit(dtype, steps, ends):
    """Each value is one product and one sum in ``dtype``, as the reference's numpy array
    operations round them: the results are identical, infinities and NaN included."""
    start, end = ends
    dtype = np.dtype(dtype)
    with np.errstate(all="ignore"):
        got = SHAPE.spaced(start, end, steps, dtype)
        want = reference.spaced(start, end, steps, dtype)
    assert type(got) is np.ndarray and got.dtype == dtype and got.shape == (steps,)
    np.testing.assert_array_equal(got, want)
    if np.isfinite(want[[0, -1]]).all():
        # both ends exact, and the values within rounding of the exact line
        assert got[0] == dtype.type(start) and got[-1] == dtype.type(end)
        exact = np.linspace(float(dtype.type(start)), float(dtype.type(end)), steps)
        scale = max(abs(float(dtype.type(start))), abs(float(dtype.type(end))))
        if np.isfinite(scale) and scale < 1e290:
            np.testing.assert_allclose(got, exact, rtol=0, atol=4 * np.finfo(dtype).eps * scale)


def test_spaced_other_dtypes_go_to_the_reference():
    for dtype in (np.dtype(np.float16), np.dtype(">f4")):
        got = SHAPE.spaced(-1.0, 2.0, 7, dtype)
        np.testing.assert_array_equal(got, reference.spaced(-1.0, 2.0, 7, dtype))
        assert got.dtype == dtype


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16, np.int32])
@pytest.mark.parametrize("args", [(0.0, 1.0, 0), (0.0, 1.0, 1), (0.0, 0.1, 1000),
                                  (-3.25, 0.3, 777), (1e8, -0.7, 300), (0.5, 1e-30, 50),
                                  (2.0**60, 3.0, 10)], ids=str)
def test_arange_values_equals_the_reference_bit_for_bit(args, dtype):
    start, step, count = args
    dtype = np.dtype(dtype)
    got = SHAPE.arange_values(start, step, count, dtype)
    want = reference.arange_values(start, step, count, dtype)
    assert type(got) is np.ndarray and got.dtype == dtype and got.shape == (count,)
    np.testing.assert_array_equal(got, want)
    # the reference is the double sequence start + i * step, rounded once to dtype
    exact = np.array([start + i * step for i in range(count)], dtype=np.float64)
    np.testing.assert_array_equal(want, exact.astype(dtype))


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.int32, np.float16,
                                   np.bool_])
@pytest.mark.parametrize("value", [2.5, -0.0, 0, 1, -7, 2**53, 2**60, -2**63, float("inf"),
                                   float("-inf"), float("nan"), 3.4028234663852886e38, 1e-45,
                                   True, np.float32(0.1)], ids=repr)
@pytest.mark.parametrize("shape", [(0,), (1,), (3, 5), (10007,), (2, 0, 3), ()])
def test_full_values_equals_the_reference_bit_for_bit(shape, value, dtype):
    dtype = np.dtype(dtype)
    try:
        with warnings.catch_warnings(record=True) as warned_ref:
            warnings.simplefilter("always")
            want = reference.full_values(shape, value, dtype)
    except OverflowError:  # numpy refuses the value for this dtype: so must the kernel
        with pytest.raises(OverflowError):
            SHAPE.full_values(shape, value, dtype)
        return
    with warnings.catch_warnings(record=True) as warned:
        warnings.simplefilter("always")
        got = SHAPE.full_values(shape, value, dtype)
    # numpy's cast warnings (inf to an integer, float16 overflow) come through unchanged
    assert [str(w.message) for w in warned] == [str(w.message) for w in warned_ref]
    assert type(got) is np.ndarray and got.dtype == dtype and got.shape == shape
    assert got.flags.c_contiguous and got.flags.writeable and got.flags.owndata
    assert got.tobytes() == want.tobytes()  # bit for bit: -0.0 and NaN too


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.int32, np.float16,
                                   np.bool_])
@pytest.mark.parametrize("value", [2.5, -0.0, 0, 1, -7, 2**53, 2**60, -2**63, float("inf"),
                                   float("nan"), 3.4028234663852886e38, True], ids=repr)
@pytest.mark.parametrize("layout", ["C", "strided", "byteswapped", "0-d", "empty"])
def test_fill_values_equals_the_reference_bit_for_bit(layout, value, dtype):
    """In place, on every layout (the loop takes C-contiguous native arrays, the twin the
    rest): the same bytes and the same object back."""
    base = (np.arange(24) % 3).astype(dtype).reshape(4, 6)
    arrays = {"C": base, "strided": base[:, ::2], "byteswapped":
              base.astype(base.dtype.newbyteorder()), "0-d": np.array(base[1, 1]),
              "empty": base[:0]}
    got, want = arrays[layout].copy(), arrays[layout].copy()
    if layout == "strided":
        got, want = base.copy()[:, ::2], base.copy()[:, ::2]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # numpy's cast warnings: the same on both sides
            reference.fill_values(want, value)
    except (OverflowError, ValueError) as exc:  # numpy refuses the value: so must the kernel
        with pytest.raises(type(exc)):
            SHAPE.fill_values(got, value)
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert SHAPE.fill_values(got, value) is got
    assert got.tobytes() == want.tobytes()  # bit for bit: -0.0 and NaN too
    if layout == "strided":  # the skipped columns are untouched
        assert got.base[:, 1::2].tobytes() == base[:, 1::2].tobytes()


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32, np.int64, np.float16,
                                   np.bool_, np.complex64, np.uint8])
@pytest.mark.parametrize("layout", ["C", "1-D", "3-D", "one column", "strided", "transposed",
                                    "byteswapped", "0-d", "empty"])
def test_flip_equals_the_reference(layout, dtype):
    """The last axis alone (the compiled row reversal where it can read the array), other
    axes and several (the reference), on every layout."""
    base = (np.arange(60) % 7 - 3).astype(dtype).reshape(3, 4, 5)
    x = {"C": base[0], "1-D": base[0, 0], "3-D": base, "one column": base[0, :, :1],
         "strided": base[:, :, ::2], "transposed": base[0].T,
         "byteswapped": base.astype(base.dtype.newbyteorder()), "0-d": np.array(base[0, 0, 1]),
         "empty": base[:, :0]}[layout]
    for axes in [(x.ndim - 1,), (0,), tuple(range(x.ndim))] if x.ndim else [()]:
        got, want = SHAPE.flip(x, axes), reference.flip(x, axes)
        assert got.dtype == want.dtype and got.shape == want.shape and got.flags.c_contiguous
        assert got.tobytes() == want.tobytes()
        np.testing.assert_array_equal(got, np.flip(x, axes))


def test_full_values_hands_numpys_warning_on_a_float32_overflow_to_the_reference():
    with pytest.warns(RuntimeWarning, match="overflow"):
        got = SHAPE.full_values((4,), 1e300, np.dtype(np.float32))
    assert np.isinf(got).all()


def test_full_values_fills_every_element_of_a_large_pooled_array():
    # 10^6 float32 (from the buffer pool): a stale block must be overwritten everywhere
    for value in (1.5, -3.0):
        got = SHAPE.full_values((1000, 1000), value, np.dtype(np.float32))
        assert (got == value).all()
        del got


def _expand_inputs():
    x = np.random.default_rng(0).standard_normal((4, 1, 3)).astype(np.float32)
    return [(x, (2, 4, 5, 3)), (x, (4, 1, 3)), (x, (1, 4, 1, 3)),
            (x[:, :, ::-1], (4, 6, 3)),                        # negative strides
            (x.transpose(2, 1, 0), (3, 7, 4)),                 # not contiguous
            (x[:2], (2, 1, 3)), (x.astype(">f4"), (4, 2, 3)),  # byte-swapped
            (np.zeros((0, 1)), (2, 0, 5)), (np.array(2.0), (3, 3)), (np.array(2.0), ()),
            (np.arange(6).reshape(2, 3)[:, :1], (2, 4)), (np.ones(3, bool), (2, 3)),
            (np.float64(3.0), (2,)), (x, [4, 2, 3]), (x, (4, np.int64(2), 3))]  # the reference


@pytest.mark.parametrize("case", range(len(_expand_inputs())))
def test_expand_is_broadcast_to_view_for_view(case):
    x, shape = _expand_inputs()[case]
    got, want = SHAPE.expand(x, shape), reference.expand(x, shape)
    assert type(got) is type(want) and got.dtype == want.dtype and got.shape == want.shape
    assert got.strides == want.strides and not got.flags.writeable
    assert got.flags.c_contiguous == want.flags.c_contiguous and got.flags.aligned
    np.testing.assert_array_equal(got, want)
    if got.size and type(x) is np.ndarray:
        assert np.shares_memory(got, x)
        assert got.base is x or got.base is x.base  # tracked on x's memory


@pytest.mark.parametrize("shape", [(4, 2, 2), (1, 3), (4, 1, -1), (4, 1, 3.0), (2**63, 1, 3)])
def test_expand_raises_what_numpy_raises(shape):
    x = np.ones((4, 1, 3), np.float32)
    with pytest.raises(Exception) as want:
        reference.expand(x, shape)
    with pytest.raises(want.type):
        SHAPE.expand(x, shape)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("name", ["tril", "triu"])
@pytest.mark.parametrize("shape", [(4, 4), (3, 7), (7, 3), (2, 3, 5, 4), (1, 1), (0, 3),
                                   (3, 0), (2, 0, 4)], ids=str)
def test_triangles_equal_numpys_bit_for_bit(dtype, name, shape):
    """Every diagonal from below the first row to past the last column, in every matrix of a
    batch: the same bits as np.tril/np.triu (zeros +0.0), a new array."""
    x = np.random.default_rng(3).standard_normal(shape).astype(dtype)
    x[x < -1] = -0.0
    compiled, twin = getattr(SHAPE, name), getattr(reference, name)
    rows, cols = shape[-2], shape[-1]
    for k in range(-rows - 1, cols + 2):
        got, want = compiled(x, k), twin(x, k)
        assert got.dtype == want.dtype and got.shape == want.shape
        assert got.tobytes() == want.tobytes()
        assert got.size == 0 or not np.shares_memory(got, x)


@pytest.mark.parametrize("name", ["tril", "triu"])
def test_triangles_fall_back_for_what_the_loop_cannot_read(name):
    """Transposed, byte-swapped, integer and bool input and diagonals of 2**62 or more go to
    the twin: the same values."""
    x = np.arange(20.0).reshape(4, 5) - 7
    compiled, twin = getattr(SHAPE, name), getattr(reference, name)
    for case in (x.T, x.astype(">f8"), x.astype(np.int64), x > 0, x.astype(np.float32)[:, ::2]):
        for k in (-2, 0, 3, 2**62, -2**62):
            np.testing.assert_array_equal(compiled(case, k), twin(case, k))
