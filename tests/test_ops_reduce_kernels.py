"""The compiled reduction, index and selection kernels (_reduce.pyx, _index.pyx, _select.pyx)
against their numpy
twins in reference.py, in float32 and float64, through every fast path and the fallback:
axes (leading, trailing, middle, runs, non-adjacent), layouts (C, Fortran, transposed,
sliced, byte-swapped), empty and 0-d arrays, NaN and infinities, repeated indices, and the
reference itself against a direct formula so that it is not only compared with itself.
"""
import inspect
import itertools
import math

import numpy as np
import pytest

from minigrad import _kernels
from minigrad._kernels import reference

MODULES = ("_reduce", "_index", "_select")
FLOATS = (np.float32, np.float64)
TOL = {np.dtype(np.float32): {"rtol": 3e-6, "atol": 1e-6},
       np.dtype(np.float64): {"rtol": 1e-12, "atol": 1e-300}}


def twins():
    found = {}
    for module in MODULES:
        for name, value in vars(_kernels.compiled_module(module)).items():
            if not name.startswith("_") and callable(value) and not inspect.ismodule(value) \
                    and hasattr(reference, name):
                found[name] = (value, getattr(reference, name))
    return found


TWINS = twins()
KERNELS = ("reduce_axes", "extreme_all", "extreme_pair", "sum_backward", "arg_extreme", "var_axes", "moments_axes",
           "cumsum", "cumprod",
           "cumulative_extreme_indices", "cumulative_extreme", "norm2_all",
           "take_along_axis", "scatter_along_axis",
           "put_along_axis", "scatter_add_along_axis", "scatter_index", "scatter_reduce", "index_range", "index_select",
           "index_add", "index_copy", "masked_select", "masked_scatter", "unique_values",
           "mode_indices", "topk_indices", "nonzero_coords", "stable_argsort_f32",
           "kthvalue_indices", "median_indices", "median_all")


def test_every_kernel_of_these_modules_has_a_twin_with_its_signature():
    assert set(KERNELS) <= set(TWINS)
    for name, (compiled, ref) in TWINS.items():
        assert list(inspect.signature(compiled).parameters) == list(
            inspect.signature(ref).parameters), name


def test_the_cython_backend_dispatches_to_them():
    previous = _kernels.backend_name
    try:
        _kernels.use("cython")
        for name in KERNELS:
            assert getattr(_kernels.kernels, name) is TWINS[name][0]
        _kernels.use("numpy")
        for name in KERNELS:
            assert getattr(_kernels.kernels, name) is TWINS[name][1]
    finally:
        _kernels.use(previous)


def layouts(x):
    yield "C", np.ascontiguousarray(x)
    if x.ndim >= 2:
        yield "F", np.asfortranarray(x)
    if x.ndim >= 1 and x.size:
        yield "negative stride", np.ascontiguousarray(x[::-1])[::-1]
        yield "sliced", np.repeat(x, 2, axis=-1)[..., ::2]
        yield "byteswapped", x.astype(x.dtype.newbyteorder())


def values(rng, shape, dtype, specials=True):
    x = rng.standard_normal(shape).astype(dtype)
    if specials and x.size > 4:
        flat = x.reshape(-1)
        flat[rng.integers(flat.size)] = np.nan
        flat[rng.integers(flat.size)] = np.inf
    return x


def assert_same(got, want):
    assert type(got) is type(want)
    assert got.dtype == want.dtype, (got.dtype, want.dtype)
    assert got.shape == want.shape, (got.shape, want.shape)
    if got.dtype.kind == "f":
        np.testing.assert_allclose(got, want, equal_nan=True, **TOL[got.dtype.newbyteorder("=")])
    else:
        np.testing.assert_array_equal(got, want)


@pytest.fixture
def rng():
    return np.random.default_rng(7)


SHAPES_AXES = [((3, 4, 5), a) for a in (None, 0, 1, 2, (0, 1), (1, 2), (0, 2), (0, 1, 2))] + [
    ((7,), None), ((7,), 0), ((1, 6), 0), ((6, 1), 1), ((0, 4), 0), ((0, 4), 1), ((0, 4), None),
    ((), None), ((), ()), ((300, 70), 1), ((70, 300), 0), ((2, 3, 4, 5), (1, 2)),
    ((3, 4, 5), (1,)), ((3, 4, 5), (2,)), ((1, 6), (0,))]  # one dim as a 1-tuple: the quick case


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("op", ["sum", "mean", "max", "min"])
@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("shape, axis", [s for s in SHAPES_AXES if 0 not in s[0]] + [
    ((10007,), None), ((3, 5000), 1), ((5000, 3), 0), ((2, 9000), None),
    ((2,) + (1,) * 31 + (3,), (32,)), ((2,) + (1,) * 31 + (3,), 0)], ids=str)  # 33 dims
def test_reduce_axes(rng, shape, axis, keepdims, op, dtype):
    compiled, ref = TWINS["reduce_axes"]
    for specials in (False, True):
        for name, x in layouts(values(rng, shape, dtype, specials)):
            got, want = compiled(x, axis, op, keepdims), ref(x, axis, op, keepdims)
            if op in ("sum", "mean") and dtype == np.float32:
                # the same values added in another order: float32 rounding, which grows with
                # the number of terms (and cancellation makes it large against the result)
                count = max(x.size // max(want.size, 1), 1)
                scale = 1.0 if op == "sum" else 1.0 / count
                assert got.shape == want.shape and got.dtype == want.dtype
                np.testing.assert_allclose(got, want, rtol=1e-5, equal_nan=True,
                                           atol=3e-7 * count * scale * 4)
            else:
                assert_same(got, want)


@pytest.mark.parametrize("dtype", FLOATS + (np.int64, np.bool_))
@pytest.mark.parametrize("largest", [True, False])
@pytest.mark.parametrize("shape", [(), (1,), (7,), (3, 5), (1, 100), (2048,), (2049,),
                                   (40, 100)], ids=str)
def test_extreme_all(rng, shape, largest, dtype):
    """x.max() / x.min(): the lane loop up to 8192 elements, numpy past it; NaN anywhere
    (the lanes or the tail) gives NaN."""
    compiled, ref = TWINS["extreme_all"]
    for specials in (False, True):
        x = values(rng, shape, np.float64, specials and dtype in FLOATS).astype(dtype)
        for name, v in layouts(x):
            got = compiled(v, largest)
            assert_same(got, ref(v, largest))
            want = x.max() if largest else x.min()
            np.testing.assert_array_equal(got, want)
    if dtype in FLOATS and len(shape) and shape[-1] > 1:
        for position in (0, x.size // 2, x.size - 1):
            x = values(rng, shape, dtype, False)
            x.reshape(-1)[position] = np.nan
            assert np.isnan(compiled(x, largest)) and np.isnan(ref(x, largest))


@pytest.mark.parametrize("dtype", FLOATS + (np.int64,))
@pytest.mark.parametrize("shape", [(1,), (15,), (16,), (17,), (3, 33), (100, 100), (70001,)],
                         ids=str)
def test_extreme_pair(rng, shape, dtype):
    """aminmax over all elements: both extremes from one pass of 16 lanes and a tail; NaN
    anywhere (a lane, the first block, the tail) makes both NaN."""
    compiled, ref = TWINS["extreme_pair"]
    for specials in (False, True):
        x = values(rng, shape, np.float64, specials and dtype in FLOATS).astype(dtype)
        for name, v in layouts(x):
            got, want = compiled(v), ref(v)
            for a, b, exact in zip(got, want, (x.min(), x.max())):
                assert_same(a, b)
                np.testing.assert_array_equal(a, exact)
    if dtype in FLOATS:
        for position in {0, min(15, x.size - 1), x.size // 2, x.size - 1}:
            x = values(rng, shape, dtype, False)
            x.reshape(-1)[position] = np.nan
            assert all(np.isnan(v) for v in compiled(x) + ref(x))


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("shape, axis", SHAPES_AXES, ids=str)
def test_sum_backward(rng, shape, axis, keepdims, dtype):
    compiled, ref = TWINS["sum_backward"]
    x = values(rng, shape, dtype)
    grad_shape = np.sum(x, axis=axis if axis != () else None, keepdims=keepdims).shape \
        if axis != () else x.shape
    for name, g in layouts(values(rng, grad_shape, dtype)):
        got = compiled(g, shape, axis, keepdims)
        assert_same(got, ref(g, shape, axis, keepdims))
        assert got.flags.c_contiguous and got.flags.writeable and got.base is None
    g = values(rng, grad_shape, dtype)
    expected = np.broadcast_to(np.expand_dims(g, axis) if axis is not None and not keepdims
                               else g, shape)
    np.testing.assert_array_equal(ref(g, shape, axis, keepdims), expected)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("op", ["prod", "nansum", "max", "min"])
@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("shape, axis", SHAPES_AXES + [
    ((10007,), None), ((3, 5000), 1), ((5000, 3), 0), ((2, 9000), None), ((40, 100), 1),
    ((100, 40), 0), ((33,), 0), ((31,), 0)], ids=str)
def test_reduce_axes_prod_nansum(rng, shape, axis, keepdims, op, dtype):
    """prod and nansum (and max/min again, through the lane loops) on every path: values near
    1 so that long products stay finite; NaN, inf and zeros; empty slices (1 and 0)."""
    if op in ("max", "min") and 0 in shape:
        return  # no identity: the Python layer refuses these (PyTorch's IndexError)
    compiled, ref = TWINS["reduce_axes"]
    for specials in (False, True):
        x = (1 + 0.01 * rng.standard_normal(shape)).astype(dtype)
        if specials and x.size > 4:
            flat = x.reshape(-1)
            for value in (np.nan, np.inf, -np.inf, 0.0):
                flat[rng.integers(flat.size)] = value
        for name, y in layouts(x):
            got, want = compiled(y, axis, op, keepdims), ref(y, axis, op, keepdims)
            assert got.shape == want.shape and got.dtype == want.dtype, name
            # another order of the same products/sums: rounding grows with the count
            count = max(y.size // max(want.size, 1), 1)
            rtol = (3e-7 if dtype == np.float32 else 1e-15) * count * 4
            atol = rtol * (count if op == "nansum" else 1)
            np.testing.assert_allclose(got, want, rtol=rtol, atol=atol, equal_nan=True,
                                       err_msg=name)


def test_reduce_axes_prod_nansum_reference_against_the_formula(rng):
    x = rng.standard_normal((4, 6))
    x[1, 2] = x[3, 0] = np.nan
    want = [sum(v for v in row if not math.isnan(v)) for row in x]
    np.testing.assert_allclose(reference.reduce_axes(x, 1, "nansum", False), want)
    assert reference.reduce_axes(np.full((2, 3), np.nan), None, "nansum", False) == 0
    y = rng.standard_normal((3, 5))
    np.testing.assert_allclose(reference.reduce_axes(y, 0, "prod", True),
                               [[math.prod(col) for col in y.T]])
    # zeros, inf and NaN multiply as IEEE says: 0 * inf is NaN
    z = np.array([[0.0, np.inf], [2.0, -np.inf], [np.nan, 1.0]])
    for compiled in (TWINS["reduce_axes"][0], reference.reduce_axes):
        got = compiled(np.ascontiguousarray(z.T), 1, "prod", False)
        np.testing.assert_array_equal(got, [np.nan, -np.inf])
        assert np.isnan(compiled(np.array([[0.0, np.inf, 3.0]]), 1, "prod", False)).all()
        np.testing.assert_array_equal(compiled(z, 0, "prod", False), [np.nan, -np.inf])
        np.testing.assert_array_equal(compiled(z, 0, "nansum", False), [2.0, np.nan])


def test_reduce_axes_max_min_keep_a_nan_in_any_lane(rng):
    """A NaN at each position of a run (each lane, the tail) makes the max and min NaN."""
    compiled = TWINS["reduce_axes"][0]
    for dtype in FLOATS:
        for n in (1, 31, 32, 100, 4097):
            for where in sorted({0, n // 2, n - 1}):
                x = rng.standard_normal((3, n)).astype(dtype)
                x[1, where] = np.nan
                for op in ("max", "min"):
                    got = compiled(x, 1, op, False)
                    assert np.isnan(got[1]) and not np.isnan(got[[0, 2]]).any(), (n, where)
                    got = compiled(np.ascontiguousarray(x.T), 0, op, False)
                    assert np.isnan(got[1]) and not np.isnan(got[[0, 2]]).any(), (n, where)


def test_reduce_axes_lane_loops_count_every_element_once(rng):
    """Runs of every length around the lane and vector widths (4, 8, 16 and 32 elements, the
    8 / 32 lane switch at 256, the 4096 blocks), with values whose sums and products are exact
    in any order (small integers, powers of two): each element is counted once, the
    vectorised lanes and the scalar tail included, and one NaN or inf anywhere is seen."""
    compiled = TWINS["reduce_axes"][0]
    lengths = list(range(1, 70)) + list(range(250, 262)) + [4095, 4096, 4097, 8200]
    for dtype in FLOATS:
        for n in lengths:
            ints = rng.integers(-8, 9, (2, n)).astype(dtype)
            powers = rng.choice(np.array([-1.0, 1.0], dtype=dtype), (2, n))
            powers[:, rng.integers(0, n, 3)] *= 2  # (a few: the product stays in range)
            powers[:, rng.integers(0, n, 3)] *= 0.5
            where = int(rng.integers(0, n))
            cases = [(ints, "sum"), (ints, "max"), (ints, "min"), (powers, "prod")]
            holes = ints.copy()
            holes[1, where] = np.nan
            cases += [(holes, "nansum"), (holes, "max"), (holes, "min")]
            infs = ints.copy()
            infs[0, where] = -np.inf
            cases += [(infs, "sum"), (infs, "nansum"), (infs, "min")]
            for x, op in cases:
                want = {"sum": np.sum, "max": np.max, "min": np.min, "prod": np.prod,
                        "nansum": np.nansum}[op](x, axis=1)
                for a in (x, np.ascontiguousarray(x.T)):  # a run, then a leading axis
                    got = compiled(a, 1 if a is x else 0, op, False)
                    np.testing.assert_array_equal(got, want, err_msg=f"{op} n={n} {dtype}")


def test_reduce_axes_sum_is_accurate_in_float32(rng):
    """Blocks of lanes, combined pairwise: the error of a million-element float32 sum stays
    near numpy's pairwise sum's, far below a running sum's."""
    compiled = TWINS["reduce_axes"][0]
    x = rng.random(10**6).astype(np.float32)
    exact = x.astype(np.float64).sum()
    error = abs(float(compiled(x, None, "sum", False)) - exact)
    assert error < 1e-6 * exact
    running = float(np.cumsum(x, dtype=np.float32)[-1])  # one addition after another
    assert error < abs(running - exact) / 10


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("largest", [True, False])
@pytest.mark.parametrize("shape, axis", [((3, 4, 5), 0), ((3, 4, 5), 1), ((3, 4, 5), 2),
                                         ((9,), 0), ((4, 1), 1), ((1, 4), 0)], ids=str)
def test_arg_extreme(rng, shape, axis, largest, dtype):
    compiled, ref = TWINS["arg_extreme"]
    x = np.round(rng.standard_normal(shape) * 2).astype(dtype)  # ties: the first one wins
    for with_nan in (False, True):
        if with_nan and x.size > 3:
            x.reshape(-1)[[1, 3]] = np.nan
        for name, v in layouts(x):
            assert_same(compiled(v, axis, largest), ref(v, axis, largest))


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("largest", [True, False])
@pytest.mark.parametrize("shape", [(1, 7), (2, 100), (300, 70), (5, 3, 40)], ids=str)
def test_arg_extreme_along_a_leading_axis(rng, shape, largest, dtype):
    """The two-pass leading-axis search: ties (the first row wins), NaN (the first NaN wins,
    a NaN in the first or the last row), infinities, and -0.0 against 0.0."""
    compiled, ref = TWINS["arg_extreme"]
    x = np.round(rng.standard_normal(shape) * 2).astype(dtype)
    flat = x.reshape(-1)
    flat[rng.integers(flat.size, size=3)] = np.inf
    flat[rng.integers(flat.size, size=3)] = -np.inf
    flat[rng.integers(flat.size, size=5)] = -0.0
    assert_same(compiled(x, 0, largest), ref(x, 0, largest))
    x[0, ..., 1] = x[-1, ..., 2] = x[shape[0] // 2, ..., 3 % shape[-1]] = np.nan
    x[-1, ..., 3 % shape[-1]] = np.nan
    got = compiled(x, 0, largest)
    assert_same(got, ref(x, 0, largest))
    if shape[0] > 1 and shape[-1] > 3:
        assert (got[..., 1] == 0).all() and (got[..., 2] == shape[0] - 1).all()
        assert (got[..., 3] == shape[0] // 2).all()


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("correction", [0, 1, 2.5, 10])
@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("shape, axis", SHAPES_AXES, ids=str)
def test_var_axes(rng, shape, axis, keepdims, correction, dtype):
    compiled, ref = TWINS["var_axes"]
    for name, x in layouts(values(rng, shape, dtype, specials=False)):
        with np.errstate(all="ignore"):
            assert_same(compiled(x, axis, correction, keepdims),
                        ref(x, axis, correction, keepdims))


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("root", [False, True], ids=["var", "std"])
@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("shape, axis", SHAPES_AXES, ids=str)
def test_moments_axes(rng, shape, axis, keepdims, root, dtype):
    compiled, ref = TWINS["moments_axes"]
    for name, x in layouts(values(rng, shape, dtype, specials=False)):
        with np.errstate(all="ignore"):
            got, want = compiled(x, axis, 1, keepdims, root), ref(x, axis, 1, keepdims, root)
        for a, b in zip(got, want):
            assert_same(a, b)
        # the spread is var_axes' (or its root), rounded to x's dtype
        with np.errstate(all="ignore"):
            var = TWINS["var_axes"][1](x, axis, 1, keepdims)
        assert_same(got[0], np.asarray(np.sqrt(var) if root else var).astype(x.dtype))


def test_var_axes_reference_against_the_formula(rng):
    x = rng.standard_normal((5, 6)).astype(np.float32) * 1e20
    got = reference.var_axes(x, 1, 1, False)
    exact = np.var(x.astype(np.float64), axis=1, ddof=1)
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, exact, rtol=1e-12)
    assert np.isfinite(got).all()  # float32 squares would overflow


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("shape, axis", [((3, 4, 5), 0), ((3, 4, 5), 1), ((3, 4, 5), 2),
                                         ((9,), 0), ((0, 3), 0), ((0, 3), 1), ((4, 1), 1),
                                         ((200, 60), 1), ((60, 200), 0)], ids=str)
def test_cumsum(rng, shape, axis, reverse, dtype):
    compiled, ref = TWINS["cumsum"]
    for name, x in layouts(values(rng, shape, dtype)):
        assert_same(compiled(x, axis, reverse), ref(x, axis, reverse))
    x = rng.standard_normal(shape).astype(dtype)
    expected = np.flip(np.cumsum(np.flip(x, axis), axis), axis) if reverse else \
        np.cumsum(x, axis)
    np.testing.assert_allclose(ref(x, axis, reverse), expected, rtol=1e-5)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shape, axis", [((3, 4, 5), 0), ((3, 4, 5), 1), ((3, 4, 5), 2),
                                         ((9,), 0), ((0, 3), 1), ((4, 1), 1), ((60, 200), 1)],
                         ids=str)
def test_cumprod(rng, shape, axis, dtype):
    compiled, ref = TWINS["cumprod"]
    for name, x in layouts(1 + 0.01 * values(rng, shape, dtype)):
        assert_same(compiled(x, axis), ref(x, axis))


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("largest", [True, False])
@pytest.mark.parametrize("shape, axis", [((3, 4, 5), 0), ((3, 4, 5), 1), ((3, 4, 5), 2),
                                         ((9,), 0), ((0, 3), 1), ((4, 1), 1)], ids=str)
def test_cumulative_extreme_indices(rng, shape, axis, largest, dtype):
    compiled, ref = TWINS["cumulative_extreme_indices"]
    x = np.round(rng.standard_normal(shape) * 2).astype(dtype)  # many ties
    if x.size > 3:
        x.reshape(-1)[[1, 2]] = np.nan
    for name, v in layouts(x):
        assert_same(compiled(v, axis, largest), ref(v, axis, largest))


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("largest", [True, False])
@pytest.mark.parametrize("shape, axis", [((3, 4, 5), 0), ((3, 4, 5), 1), ((3, 4, 5), 2),
                                         ((9,), 0), ((0, 3), 1), ((4, 1), 1)], ids=str)
def test_cumulative_extreme(rng, shape, axis, largest, dtype):
    compiled, ref = TWINS["cumulative_extreme"]
    x = np.round(rng.standard_normal(shape) * 2).astype(dtype)  # many ties
    if x.size > 3:
        x.reshape(-1)[[1, 2]] = np.nan
        x.reshape(-1)[0] = -0.0
    for name, v in layouts(x):
        values, indices = compiled(v, axis, largest)
        ref_values, ref_indices = ref(v, axis, largest)
        assert_same(indices, ref_indices)
        assert_same(values, ref_values)
        assert_same(np.signbit(values), np.signbit(ref_values))


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shape", [(), (0,), (5,), (3, 7), (2, 3, 17)], ids=str)
def test_norm2_all(rng, shape, dtype):
    compiled, ref = TWINS["norm2_all"]
    x = rng.standard_normal(shape).astype(dtype)
    for name, v in layouts(x):
        assert_same(compiled(v), ref(v))
    big = np.full(shape, np.finfo(dtype).max / 2, dtype=dtype)  # squares overflow x's dtype
    assert_same(compiled(big), ref(big))


def test_cumulative_extreme_indices_reference_by_hand():
    x = np.array([np.nan, 1.0, np.nan, 3.0, 3.0, 2.0])
    np.testing.assert_array_equal(reference.cumulative_extreme_indices(x, 0, True),
                                  [0, 0, 2, 2, 2, 2])
    y = np.array([2.0, 1.0, 1.0, 3.0, 1.0])
    np.testing.assert_array_equal(reference.cumulative_extreme_indices(y, 0, False),
                                  [0, 1, 2, 2, 4])
    np.testing.assert_array_equal(reference.cumulative_extreme_indices(y, 0, True),
                                  [0, 0, 0, 3, 3])


def _indices(rng, shape, axis, n):
    return rng.integers(0, n, shape).astype(np.int64)


GATHER_CASES = [((3, 4, 5), 0, 2), ((3, 4, 5), 1, 6), ((3, 4, 5), 2, 1), ((7,), 0, 12),
                ((0, 4), 1, 2), ((3, 0), 0, 2), ((200, 50), 1, 50)]


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shape, axis, m", GATHER_CASES, ids=str)
def test_take_along_axis_and_scatter_along_axis(rng, shape, axis, m, dtype):
    take, take_ref = TWINS["take_along_axis"]
    scatter, scatter_ref = TWINS["scatter_along_axis"]
    index_shape = list(shape)
    index_shape[axis] = m
    n = shape[axis]
    if n == 0:
        m = 0
        index_shape[axis] = 0
    indices = _indices(rng, index_shape, axis, max(n, 1))
    for name, x in layouts(values(rng, shape, dtype)):
        assert_same(take(x, indices, axis), take_ref(x, indices, axis))
    for name, g in layouts(values(rng, index_shape, dtype)):
        assert_same(scatter(g, indices, axis, shape), scatter_ref(g, indices, axis, shape))
    for name, i in layouts(indices):  # index layouts too
        x = values(rng, shape, dtype)
        assert_same(take(x, i, axis), take_ref(x, i, axis))
    put, put_ref = TWINS["put_along_axis"]
    for name, x in layouts(values(rng, shape, dtype)):
        v = values(rng, index_shape, dtype)
        assert_same(put(x, indices, v, axis), put_ref(x, indices, v, axis))
    add, add_ref = TWINS["scatter_add_along_axis"]
    for name, x in layouts(values(rng, shape, dtype)):
        v = values(rng, index_shape, dtype)
        got = add(x, indices, v, axis)
        assert_same(got, add_ref(x, indices, v, axis))
        # scatter_add is x plus the scatter of v into zeros
        np.testing.assert_allclose(got, x + scatter_ref(v, indices, axis, shape),
                                   equal_nan=True, **TOL[np.dtype(dtype)])


@pytest.mark.parametrize("shape", [(1,), (7,), (3, 5), (1000,)])
@pytest.mark.parametrize("dtype", [np.int64, np.int32])
def test_index_range(rng, shape, dtype):
    compiled, ref = TWINS["index_range"]
    a = rng.integers(-50, 50, shape).astype(dtype)
    for name, v in layouts(a):
        got, want = compiled(v), ref(v)
        assert got == want == (int(a.min()), int(a.max()))
        assert all(type(b) is int for b in got)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.int32, np.bool_,
                                   np.int8, np.complex64])
@pytest.mark.parametrize("shape", [(7,), (3, 5), (2, 3, 4), (300, 70), (0, 3), (3, 0)],
                         ids=str)
def test_index_select(rng, shape, dtype):
    """Whole slices along each axis (4- and 8-byte elements as typed loads when the axis is
    the last, memcpy of rows otherwise), repeated and unordered indices, every layout."""
    compiled, ref = TWINS["index_select"]
    x = (rng.standard_normal(shape) * 4).astype(dtype)
    for axis in range(len(shape)):
        for indices in (rng.integers(0, max(shape[axis], 1), 9) if shape[axis] else
                        np.zeros(0, np.int64), np.zeros(0, np.int64)):
            for name, v in layouts(x):
                got, want = compiled(v, indices, axis), ref(v, indices, axis)
                assert_same(got, want)
                np.testing.assert_array_equal(got, np.take(x, indices, axis=axis))
                assert got.flags.c_contiguous and got.flags.writeable


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shape", [(7,), (3, 5), (2, 3, 4), (300, 70), (0, 3), (3, 0)],
                         ids=str)
def test_index_add(rng, shape, dtype):
    """Whole slices of values added along each axis (the first, a middle one, the last) at
    repeated and unordered indices, and at none; x, values and indices in every layout (the
    odd ones go to the reference); x itself left alone. The reference against x plus the
    scatter of values into zeros."""
    compiled, ref = TWINS["index_add"]
    x = values(rng, shape, dtype)
    for axis in range(len(shape)):
        n = shape[axis]
        for indices in (rng.integers(0, n, 9) if n else np.zeros(0, np.int64),
                        np.zeros(0, np.int64)):
            v_shape = shape[:axis] + (indices.size,) + shape[axis + 1:]
            v = values(rng, v_shape, dtype)
            for name, x_layout in layouts(x):
                before = x_layout.copy()
                assert_same(compiled(x_layout, indices, v, axis),
                            ref(x_layout, indices, v, axis))
                np.testing.assert_array_equal(x_layout, before)
            for name, v_layout in layouts(v):
                assert_same(compiled(x, indices, v_layout, axis), ref(x, indices, v_layout, axis))
            for name, i_layout in layouts(indices):
                assert_same(compiled(x, i_layout, v, axis), ref(x, i_layout, v, axis))
            index = (slice(None),) * axis + (indices,)
            np.testing.assert_allclose(ref(x, indices, v, axis),
                                       x + reference.scatter_index(v, index, shape),
                                       equal_nan=True, **TOL[np.dtype(dtype)])


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.int32, np.bool_,
                                   np.int8])
@pytest.mark.parametrize("shape", [(7,), (3, 5), (2, 3, 4), (300, 70), (0, 3), (3, 0)],
                         ids=str)
def test_index_copy(rng, shape, dtype):
    """Whole slices of values written along each axis at a permutation of it, at unordered
    indices, and at none; x, values and indices in every layout (the odd ones go to the
    reference); x itself left alone. Both against a loop over the indices."""
    compiled, ref = TWINS["index_copy"]
    x = (rng.standard_normal(shape) * 4).astype(dtype)
    for axis in range(len(shape)):
        n = shape[axis]
        for indices in (rng.permutation(n), rng.integers(0, max(n, 1), min(n, 3)),
                        np.zeros(0, np.int64)):
            v_shape = shape[:axis] + (indices.size,) + shape[axis + 1:]
            v = (rng.standard_normal(v_shape) * 4 + 20).astype(dtype)
            expected = x.copy()
            for j, i in enumerate(indices):
                expected[(slice(None),) * axis + (i,)] = v[(slice(None),) * axis + (j,)]
            for name, x_layout in layouts(x):
                before = x_layout.copy()
                got = compiled(x_layout, indices, v, axis)
                assert_same(got, ref(x_layout, indices, v, axis))
                np.testing.assert_array_equal(got, expected)
                np.testing.assert_array_equal(x_layout, before)
            for name, v_layout in layouts(v):
                assert_same(compiled(x, indices, v_layout, axis), expected)
            for name, i_layout in layouts(indices):
                assert_same(compiled(x, i_layout, v, axis), expected)
            assert_same(ref(x, indices, v, axis), expected)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.int32, np.int8])
@pytest.mark.parametrize("shape", [(1,), (7,), (3, 5), (2, 3, 4), (300, 70), (0, 3)], ids=str)
def test_masked_select(rng, shape, dtype):
    """Masks with no, some (the last position False, then True) and every position True; x
    and mask in every layout (the odd ones go to the reference). Both against a loop over
    the positions."""
    compiled, ref = TWINS["masked_select"]
    x = (rng.standard_normal(shape) * 4).astype(dtype)
    some = rng.random(shape) > 0.5
    some_last = some.copy()
    if some.size:
        some.reshape(-1)[-1] = False
        some_last.reshape(-1)[-1] = True
    for mask in (np.zeros(shape, bool), some, some_last, np.ones(shape, bool)):
        expected = np.array([v for v, m in zip(x.reshape(-1), mask.reshape(-1)) if m],
                            dtype=dtype)
        for name, x_layout in layouts(x):
            got = compiled(x_layout, mask)
            assert_same(got, ref(x_layout, mask))
            np.testing.assert_array_equal(got, expected)
        for name, m_layout in layouts(mask):
            assert_same(compiled(x, m_layout), expected)
        assert_same(ref(x, mask), expected)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.int32, np.int8])
@pytest.mark.parametrize("shape", [(1,), (7,), (3, 5), (2, 3, 4), (300, 70), (0, 3)], ids=str)
def test_masked_scatter(rng, shape, dtype):
    """Masks with no, some and every position True, a source longer than needed, exactly
    as long, and one too short (None); x, mask and source in every layout (the odd ones go
    to the reference); x left alone. The reference against a loop over the positions."""
    compiled, ref = TWINS["masked_scatter"]
    x = (rng.standard_normal(shape) * 4).astype(dtype)
    for mask in (np.zeros(shape, bool), rng.random(shape) > 0.5, np.ones(shape, bool)):
        count = int(mask.sum())
        expected = x.copy().reshape(-1)
        source = (rng.standard_normal((count + 3,)) * 4 + 50).astype(dtype)
        k = 0
        for i, m in enumerate(mask.reshape(-1)):
            if m:
                expected[i] = source[k]
                k += 1
        expected = expected.reshape(shape)
        for src in (source, source[:count], source[:count].reshape(-1, 1)):
            for name, x_layout in layouts(x):
                before = x_layout.copy()
                got = compiled(x_layout, mask, src)
                assert_same(got, ref(x_layout, mask, src))
                np.testing.assert_array_equal(got, expected)
                np.testing.assert_array_equal(x_layout, before)
            for name, m_layout in layouts(mask):
                assert_same(compiled(x, m_layout, src), expected)
            for name, s_layout in layouts(src):
                assert_same(compiled(x, mask, s_layout), expected)
            assert_same(ref(x, mask, src), expected)
        if count:
            assert compiled(x, mask, source[:count - 1]) is None
            assert ref(x, mask, source[:count - 1]) is None


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.float32, np.float64])
@pytest.mark.parametrize("shape", [(), (0,), (1,), (7,), (30, 40), (3, 1000)], ids=str)
def test_unique_values(rng, shape, dtype):
    """Values in a small range (the compiled table for int64), around zero, shifted far from
    it, spread wider than the table takes, and at the ends of int64; every layout. Both
    against np.unique."""
    compiled, ref = TWINS["unique_values"]
    n = int(np.prod(shape))
    cases = [rng.integers(0, 10, shape), rng.integers(-50, 50, shape),
             rng.integers(0, 10, shape) + 10**12, rng.integers(0, 10 * n + 1000, shape)]
    if n >= 2 and dtype == np.int64:
        ends = rng.integers(-3, 3, shape)
        ends.reshape(-1)[:2] = np.iinfo(np.int64).min, np.iinfo(np.int64).max
        cases.append(ends)
    for case in cases:
        x = np.asarray(case).astype(dtype)
        for name, v in layouts(x):
            want = np.unique(v.reshape(-1))
            assert_same(compiled(v), want)
            assert_same(ref(v), want)


def test_index_add_adds_repeated_indices_in_order():
    """A slice added at the same index three times: the sums come out bit for bit as
    numpy's add.at gives them (one after another, in index order), in float32."""
    compiled, ref = TWINS["index_add"]
    x = np.array([[1.0, 0.0], [0.0, 1e8]], np.float32)
    v = np.array([[1e8, 1.0], [-1e8, 1.0], [0.5, -1e8]], np.float32)
    indices = np.array([1, 1, 1])
    expected = x.copy()
    np.add.at(expected, indices, v)
    np.testing.assert_array_equal(compiled(x, indices, v, 0), expected)
    np.testing.assert_array_equal(ref(x, indices, v, 0), expected)


@pytest.mark.parametrize("n", [1, 2, 15, 16, 17, 37, 4099])
def test_index_range_finds_the_extremes_in_every_lane_and_the_tail(n):
    """The compiled pass keeps 4 vectors of lanes and a scalar tail: the extreme at any
    position, and the full int64 range, must come out."""
    compiled, ref = TWINS["index_range"]
    for position in sorted({p for p in (0, 1, n // 2, n - 2, n - 1) if 0 <= p < n}):
        a = np.zeros(n, dtype=np.int64)
        a[position] = np.iinfo(np.int64).min
        a[n - 1 - position] = np.iinfo(np.int64).max
        assert compiled(a) == ref(a) == (int(a.min()), int(a.max()))


def test_put_along_axis_keeps_the_last_of_repeated_indices():
    put, put_ref = TWINS["put_along_axis"]
    x = np.zeros((2, 3))
    indices = np.array([[1, 1, 1], [0, 2, 0]])
    v = np.arange(6.0).reshape(2, 3)
    expected = np.array([[0.0, 2.0, 0.0], [5.0, 0.0, 4.0]])
    np.testing.assert_array_equal(put(x, indices, v, 1), expected)
    np.testing.assert_array_equal(put_ref(x, indices, v, 1), expected)
    small = put(x, np.array([[2]]), np.array([[7.0]]), 1)  # index smaller than x
    np.testing.assert_array_equal(small, [[0.0, 0.0, 7.0], [0.0, 0.0, 0.0]])


def test_scatter_along_axis_with_indices_smaller_than_the_output(rng):
    scatter, scatter_ref = TWINS["scatter_along_axis"]
    g = rng.standard_normal((2, 2))
    indices = np.array([[3, 3], [0, 1]])
    assert_same(scatter(g, indices, 1, (3, 4)), scatter_ref(g, indices, 1, (3, 4)))
    expected = np.zeros((3, 4))
    expected[0, 3] = g[0, 0] + g[0, 1]
    expected[1, 0], expected[1, 1] = g[1]
    np.testing.assert_allclose(scatter(g, indices, 1, (3, 4)), expected)


INDEXES = [
    (np.array([2, 0, 2]),),
    (np.array([[1, -1], [0, 0]]),),
    (slice(None), np.array([3, 3, 0])),
    (slice(None), slice(None), np.array([4, -5])),
    (np.array([0, 2]), np.array([1, 1])),
    (slice(None), np.array([[0], [3]]), np.array([1, 4, 2])),
    (np.array([True, False, True]),),
    (slice(None), np.arange(20).reshape(4, 5) % 3 == 0),
    (np.array([0, 2]), slice(None), np.array([1, 1])),    # separated: numpy's own order
    (1, np.array([0, 3])),
    (slice(0, 2), np.array([1, 2])),                      # partial slice: the fallback
    (slice(None), 2),
    (np.zeros(0, np.int64),),
]


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("index", INDEXES, ids=lambda i: str(i)[:40])
def test_scatter_index(rng, index, dtype):
    compiled, ref = TWINS["scatter_index"]
    shape = (3, 4, 5)
    x = values(rng, shape, dtype)
    selected_shape = np.shape(x[index])
    for name, g in layouts(values(rng, selected_shape, dtype, specials=False)):
        assert_same(compiled(g, index, shape), ref(g, index, shape))
    g = rng.standard_normal(selected_shape).astype(dtype)
    expected = np.zeros(shape, dtype)
    np.add.at(expected, index, g)
    np.testing.assert_allclose(ref(g, index, shape), expected, rtol=1e-6)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("reduce, include_self", list(itertools.product(
    ["sum", "prod", "mean", "amax", "amin"], [True, False])))
@pytest.mark.parametrize("shape, axis, m", [((3, 4), 0, 5), ((3, 4), 1, 2), ((2, 3, 4), 1, 3),
                                            ((3, 4), 0, 0), ((100, 30), 1, 30)], ids=str)
def test_scatter_reduce(rng, shape, axis, m, reduce, include_self, dtype):
    compiled, ref = TWINS["scatter_reduce"]
    index_shape = list(shape)
    index_shape[axis] = m
    indices = _indices(rng, index_shape, axis, shape[axis])
    src = np.round(rng.standard_normal(index_shape) * 2).astype(dtype)  # ties with x
    for name, x in layouts(np.round(values(rng, shape, dtype) * 2)):
        assert_same(compiled(x, src, indices, axis, reduce, include_self),
                    ref(x, src, indices, axis, reduce, include_self))
    x = rng.standard_normal(shape).astype(dtype)
    # the reference against a loop, one scattered element at a time
    expected = x.copy()
    touched = np.zeros(shape, bool)
    count = np.ones(shape) if include_self else np.zeros(shape)
    for position in itertools.product(*[range(k) for k in index_shape]):
        target = list(position)
        target[axis] = indices[position]
        target = tuple(target)
        value = src[position]
        if not include_self and not touched[target]:
            expected[target] = value
        elif reduce in ("sum", "mean"):
            expected[target] += value
        elif reduce == "prod":
            expected[target] *= value
        elif reduce == "amax":
            expected[target] = max(expected[target], value)
        else:
            expected[target] = min(expected[target], value)
        touched[target] = True
        count[target] += 1
    if reduce == "mean":
        expected = np.where(touched, expected / np.maximum(count, 1), x)
    np.testing.assert_allclose(ref(x, src, indices, axis, reduce, include_self), expected,
                               rtol=1e-5)


def test_integer_inputs_go_to_numpy(rng):
    x = np.arange(12).reshape(3, 4)
    for name in ("cumsum", "cumulative_extreme_indices"):
        compiled, ref = TWINS[name]
        args = (x, 1, True) if name != "cumsum" else (x, 1, False)
        assert_same(compiled(*args), ref(*args))
    take, take_ref = TWINS["take_along_axis"]
    i = np.array([[0, 3], [1, 1], [2, 0]])
    assert_same(take(x, i, 1), take_ref(x, i, 1))


@pytest.mark.parametrize("dtype", [np.int64, np.int32])
def test_take_along_axis_of_integers(rng, dtype):
    take, take_ref = TWINS["take_along_axis"]
    for shape, axis, m in GATHER_CASES:
        index_shape = list(shape)
        index_shape[axis] = m if shape[axis] else 0
        indices = _indices(rng, index_shape, axis, max(shape[axis], 1))
        x = rng.integers(-2**31, 2**31, shape).astype(dtype)
        for name, v in layouts(x):
            got = take(v, indices, axis)
            assert_same(got, take_ref(v, indices, axis))
            assert got.dtype.newbyteorder("=") == dtype


# ---------------------------------------------------------------------------------------------
# Selections (_select.pyx): each compiled kernel against its reference, and the reference
# against a definition written out with Python's sorted()
# ---------------------------------------------------------------------------------------------


def _rows_with_ties_and_nan(rng, m, n, dtype):
    x = rng.integers(-3, 4, (m, n)).astype(dtype)  # few distinct values: many ties
    if np.dtype(dtype).kind == "f" and x.size > 3:
        x.reshape(-1)[rng.choice(x.size, max(1, x.size // 5), replace=False)] = np.nan
        x.reshape(-1)[rng.integers(x.size)] = -0.0
    return x


def _mode_by_hand(row):
    """The smallest of the most frequent values (NaN never equal to anything), last index."""
    counts = {}
    for v in row:
        if not math.isnan(v):
            counts[v] = counts.get(v, 0) + 1
    if not counts:
        return len(row) - 1
    top = max(counts.values())
    value = min(v for v, c in counts.items() if c == top)
    return max(i for i, v in enumerate(row) if v == value)


@pytest.mark.parametrize("dtype", [np.float64, np.int64])
@pytest.mark.parametrize("m, n", [(1, 1), (1, 7), (5, 30), (3, 200), (0, 4)])
def test_mode_indices(rng, m, n, dtype):
    compiled, ref = TWINS["mode_indices"]
    x = _rows_with_ties_and_nan(rng, m, n, dtype)
    got = compiled(x)
    assert_same(got, ref(x))
    assert got.tolist() == [_mode_by_hand(list(row)) for row in x]
    if dtype == np.float64 and m:
        allnan = np.full((2, n), np.nan)
        assert_same(compiled(allnan), ref(allnan))


def _order_by_hand(row, largest):
    """Indices by (value, then index), NaN the largest value."""
    def key(i):
        v = row[i]
        rank = (1, 0.0) if math.isnan(v) else (0, float(v))
        return ((-rank[0], -rank[1]) if largest else rank), i
    return sorted(range(len(row)), key=key)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("largest", [True, False])
@pytest.mark.parametrize("m, n, k", [(1, 1, 1), (4, 9, 3), (3, 40, 32), (2, 50, 33),
                                     (6, 20, 0), (1, 100, 100)])
def test_topk_indices(rng, m, n, k, largest, dtype):
    compiled, ref = TWINS["topk_indices"]
    for x in (_rows_with_ties_and_nan(rng, m, n, dtype), np.sort(values(rng, (m, n), dtype))):
        got = compiled(x, k, largest)
        assert_same(got, ref(x, k, largest))
        assert got.tolist() == [_order_by_hand(list(row), largest)[:k] for row in x]


@pytest.mark.parametrize("shape", [(1,), (7,), (3, 5), (2, 3, 4), (1, 1, 9), (1000,), (4, 0)])
def test_nonzero_coords(rng, shape):
    compiled, ref = TWINS["nonzero_coords"]
    for fill in (None, False, True):
        mask = rng.random(shape) > 0.5 if fill is None else np.full(shape, fill)
        for name, v in layouts(mask):
            got = compiled(v)
            assert_same(got, ref(v))
            by_hand = [list(i) for i in itertools.product(*map(range, shape)) if mask[i]]
            assert got.tolist() == by_hand


@pytest.mark.parametrize("m, n", [(1, 2), (3, 17), (2, 1000), (5, 1)])
def test_stable_argsort_f32(rng, m, n):
    compiled, ref = TWINS["stable_argsort_f32"]
    x = _rows_with_ties_and_nan(rng, m, n, np.float32)
    x.reshape(-1)[:: 7] = -x.reshape(-1)[:: 7]  # -NaN (sign bit set) and -0.0 too
    x.reshape(-1)[1:: 11] = np.inf
    x.reshape(-1)[2:: 13] = -np.inf
    for name, v in layouts(x):
        got = compiled(v)
        assert_same(got, ref(v))
        assert got.tolist() == [_order_by_hand(list(row), False) for row in x]


def _selection_rows(rng, m, n, dtype):
    """Rows with many ties, and in float: NaN, -0.0 beside 0.0, and infinities."""
    x = _rows_with_ties_and_nan(rng, m, n, dtype)
    if np.dtype(dtype).kind == "f" and x.size > 6:
        flat = x.reshape(-1)
        flat[rng.integers(flat.size)] = np.inf
        flat[rng.integers(flat.size)] = -np.inf
        flat[rng.choice(flat.size, max(1, flat.size // 6), replace=False)] = -0.0
    return x


def _median_by_hand(row):
    """PyTorch's median along a dim: the first NaN, else position (n - 1) // 2 of the stable
    sort (-0.0 equal to 0.0)."""
    for i, v in enumerate(row):
        if isinstance(v, float) and math.isnan(v):
            return i
    return _order_by_hand(row, False)[(len(row) - 1) // 2]


SELECT_SHAPES = [(1, 1), (3, 2), (4, 3), (5, 8), (6, 9), (3, 100), (2, 257), (1, 2000)]


@pytest.mark.parametrize("dtype", FLOATS + (np.int64,))
@pytest.mark.parametrize("m, n", SELECT_SHAPES)
def test_median_indices(rng, m, n, dtype):
    compiled, ref = TWINS["median_indices"]
    for x in (_selection_rows(rng, m, n, dtype), values(rng, (m, n), dtype, specials=False),
              np.zeros((m, n), dtype)):
        got = compiled(x)
        assert_same(got, ref(x))
        assert got.tolist() == [_median_by_hand(row) for row in x.tolist()]


def test_median_indices_of_rows_of_nan_or_of_no_rows():
    compiled, ref = TWINS["median_indices"]
    x = np.full((2, 5), np.nan)
    x[1, :2] = [1.0, -0.0]
    assert compiled(x).tolist() == ref(x).tolist() == [0, 2]
    for empty in (np.zeros((0, 4)), np.zeros((3, 5))[:, ::2]):  # no rows; not C-contiguous
        assert_same(compiled(empty), ref(empty))


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shape", [(1,), (2,), (7,), (100,), (1000,), (2001,), (3, 5), (4, 25)],
                         ids=str)
def test_median_all(rng, shape, dtype):
    """The value of the element median_indices picks, bit for bit: which of 0.0 and -0.0 (the
    -0.0 rows are a sixth zeros), which NaN (the first, whose payload it keeps)."""
    compiled, ref = TWINS["median_all"]
    m, n = shape if len(shape) == 2 else (1, shape[0])
    ties = _selection_rows(rng, m, n, dtype).reshape(shape)
    zeros = np.where(rng.random(shape) < 0.5, -0.0, 0.0).astype(dtype)
    payload = np.full(shape, -np.nan, dtype)
    payload.reshape(-1)[0] = np.array(np.nan, dtype)  # the first NaN, with another sign
    for x in (ties, values(rng, shape, dtype, specials=False), zeros, payload):
        got = compiled(x)
        assert_same(got, ref(x))
        assert got.shape == () and got.tobytes() == ref(x).tobytes()
        flat = x.reshape(1, -1)
        assert got.tobytes() == flat[0, _median_by_hand(flat[0].tolist())].tobytes()


def test_median_all_of_other_dtypes_and_layouts_goes_to_the_reference(rng):
    compiled, ref = TWINS["median_all"]
    x = _selection_rows(rng, 4, 9, np.float64)
    for v in (x[:, ::-1], x.astype(">f8"), rng.integers(-3, 4, (4, 9)), x.T):
        assert compiled(v).tobytes() == ref(v).tobytes()


@pytest.mark.parametrize("dtype", FLOATS + (np.int64,))
@pytest.mark.parametrize("m, n", SELECT_SHAPES)
def test_kthvalue_indices(rng, m, n, dtype):
    compiled, ref = TWINS["kthvalue_indices"]
    for x in (_selection_rows(rng, m, n, dtype), values(rng, (m, n), dtype, specials=False)):
        for k in sorted({0, (n - 1) // 2, n // 2, n - 1, int(rng.integers(n))}):
            got = compiled(x, k)
            assert_same(got, ref(x, k))
            # the index holds the k-th value of the sort (which of equal ones: test_..._torch)
            by_hand = [row[_order_by_hand(row, False)[k]] for row in x.tolist()]
            np.testing.assert_array_equal(x[np.arange(m), got], np.array(by_hand, x.dtype))


def test_kthvalue_indices_of_other_dtypes_and_layouts_go_to_the_reference(rng):
    compiled, ref = TWINS["kthvalue_indices"]
    x = _selection_rows(rng, 4, 9, np.float64)
    small_ints = rng.integers(-3, 4, (4, 9)).astype(np.int32)
    for v in (small_ints, x[:, ::-1], x.astype(">f8"), np.zeros((0, 3))):
        assert_same(compiled(v, 2), ref(v, 2))


@pytest.mark.parametrize("dtype", FLOATS + (np.int64,))
@pytest.mark.parametrize("m, n", SELECT_SHAPES)
def test_selections_pick_the_equal_element_that_torch_picks(rng, m, n, dtype):
    """Which of several equal elements PyTorch's CPU kthvalue and median(dim) return is a
    property of its algorithms (a quickselect; the stable sort): both kernels match it."""
    torch = pytest.importorskip("torch")
    for x in (_selection_rows(rng, m, n, dtype), values(rng, (m, n), dtype, specials=False)):
        t = torch.from_numpy(x)
        for kernel in TWINS["median_indices"]:
            assert kernel(x).tolist() == t.median(1).indices.tolist()
        for k in sorted({0, (n - 1) // 2, n - 1, int(rng.integers(n))}):
            want = t.kthvalue(k + 1, 1).indices.tolist()
            for kernel in TWINS["kthvalue_indices"]:
                assert kernel(x, k).tolist() == want
