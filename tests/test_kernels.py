"""The compiled kernels against their plain-numpy twins in reference.py.

Every non-optimizer function of reference.py must have a compiled twin of the same name and
parameters in _elementwise, _matmul or _loss; each is run next to its twin on the same inputs,
in float32 and float64, through every fast path and the numpy fallback: broadcast patterns,
non-contiguous layouts, empty, 0-d and size-1 arrays, NaN and inf, extreme logits, integer
arrays. The losses are also checked against a direct float64 formula, so that the reference is
not only compared with itself.
"""
import inspect
import itertools
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from minigrad import _kernels
from minigrad._kernels import reference

MY_MODULES = tuple(m for m in _kernels._COMPILED_MODULES if not m.startswith("_optim"))
FLOATS = (np.float32, np.float64)

# Differences allowed between the twins: the arithmetic is the same IEEE operations, but the
# C library's exp/log/tanh may differ from numpy's SIMD versions in the last bit, and sums
# (matmul, reductions) may add in a different order.
TOL = {np.dtype(np.float32): {"rtol": 2e-6, "atol": 1e-7},
       np.dtype(np.float64): {"rtol": 1e-13, "atol": 1e-300}}


def compiled_twins():
    twins = {}
    for module_name in MY_MODULES:
        module = _kernels.compiled_module(module_name)
        for name, value in vars(module).items():
            if not name.startswith("_") and callable(value) and not inspect.ismodule(value):
                twins[name] = value
    return twins


def reference_functions():
    return {name: f for name, f in vars(reference).items()
            if inspect.isfunction(f) and not name.startswith("_")
            and f.__module__ == reference.__name__}


def optimizer_names():
    """Reference functions that belong to the optimizer section (compiled in _optim, which is
    another engineer's): in-place kernels end in '_' (reference.py's convention), and anything
    the compiled _optim module defines."""
    optim = _kernels.compiled_module("_optim")
    in_optim = {name for name in vars(optim) if not name.startswith("_")}
    return {name for name in reference_functions() if name.endswith("_") or name in in_optim}


TWINS = compiled_twins()


def twin(name):
    return TWINS[name], getattr(reference, name)


def quiet(f, *args):
    """Call f with numpy's floating-point warnings silenced (the reference warns on log(0),
    1/0, exp overflow; the results, which is what the tests compare, are still IEEE's)."""
    with np.errstate(all="ignore"):
        return f(*args)


def assert_same(actual, expected, tol=None):
    """Same Python type, dtype and shape, and values equal within the dtype's tolerance
    (NaN where the other has NaN, infinities equal)."""
    assert type(actual) is type(expected), (type(actual), type(expected))
    if isinstance(expected, float):
        np.testing.assert_allclose(actual, expected, **(tol or TOL[np.dtype(np.float64)]))
        return
    if isinstance(expected, tuple):
        assert len(actual) == len(expected)
        for a, e in zip(actual, expected):
            assert_same(a, e, tol)
        return
    if expected is None:
        return
    assert actual.dtype == expected.dtype, (actual.dtype, expected.dtype)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    if np.issubdtype(expected.dtype, np.floating):
        np.testing.assert_allclose(actual, expected, **(tol or TOL[expected.dtype]))
    else:
        np.testing.assert_array_equal(actual, expected)


def layouts(x):
    """Views of x's values with other memory layouts (each equal to x elementwise)."""
    yield "C", np.ascontiguousarray(x)
    if x.ndim >= 2:
        yield "F", np.asfortranarray(x)
        yield "transposed", np.ascontiguousarray(x.T).T
    if x.ndim >= 1 and x.size:
        yield "negative stride", np.ascontiguousarray(x[::-1])[::-1]
        wide = np.repeat(x, 2, axis=-1)
        yield "sliced", wide[..., ::2]
        yield "byteswapped", x.astype(x.dtype.newbyteorder())
        yield "offset by one byte", unaligned(x)


def unaligned(x):
    raw = np.zeros(x.nbytes + 1, dtype=np.uint8)
    view = raw[1:].view(x.dtype).reshape(x.shape)
    view[...] = x
    assert not view.flags.aligned or x.dtype.itemsize == 1
    return view


def special_values(rng, shape, dtype, specials=(np.nan, np.inf, -np.inf, 0.0, -0.0)):
    """Random normal values with some NaN, +-inf and signed zeros sprinkled in."""
    x = rng.standard_normal(shape).astype(dtype)
    flat = x.reshape(-1)
    for i, value in enumerate(specials):
        if i < flat.size:
            flat[rng.integers(flat.size)] = value
    return x


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


# ---------------------------------------------------------------------------------------------
# Coverage: every kernel has a twin
# ---------------------------------------------------------------------------------------------


def test_every_non_optimizer_reference_kernel_has_a_compiled_twin():
    skipped = optimizer_names()
    expected = set(reference_functions()) - skipped
    # The non-optimizer kernels known when this test was written: none may disappear.
    assert {"add", "sub", "mul", "div", "exp", "log", "sqrt", "relu", "relu_backward",
            "leaky_relu", "leaky_relu_backward", "sigmoid", "sigmoid_backward", "tanh",
            "tanh_backward", "sum_all", "sum_rows", "matmul", "linear_forward",
            "linear_backward", "mse_loss", "softmax_cross_entropy",
            "bce_with_logits"} <= expected
    missing = sorted(expected - set(TWINS))
    assert not missing, f"reference kernels without a compiled twin: {missing}"


@pytest.mark.parametrize("name", sorted(set(reference_functions()) - optimizer_names()))
def test_twin_has_the_reference_signature(name):
    compiled, ref = twin(name)
    assert list(inspect.signature(compiled).parameters) == list(
        inspect.signature(ref).parameters)


def test_cython_backend_dispatches_to_the_compiled_twins():
    previous = _kernels.backend_name
    try:
        _kernels.use("cython")
        for name, compiled in TWINS.items():
            assert getattr(_kernels.kernels, name) is compiled
        _kernels.use("numpy")
        assert _kernels.kernels.add is reference.add
    finally:
        _kernels.use(previous)


# ---------------------------------------------------------------------------------------------
# Binary elementwise ops
# ---------------------------------------------------------------------------------------------

BINARY = ("add", "sub", "mul", "div")

SHAPE_PAIRS = [
    # same shape (fast path)
    ((3, 4), (3, 4)), ((7,), (7,)), ((2, 3, 4), (2, 3, 4)), ((1,), (1,)), ((1, 1), (1, 1)),
    ((5000,), (5000,)),  # large enough to release the GIL
    # size-1 operand on either side (fast path)
    ((3, 4), ()), ((3, 4), (1,)), ((3, 4), (1, 1)), ((), (3, 4)), ((1,), (5,)),
    ((1, 1), (3, 4)), ((2, 3, 4), (1, 1, 1)), ((1,), (1, 1)), ((70, 70), ()),
    # row vector (fast path)
    ((3, 4), (4,)), ((3, 4), (1, 4)), ((4,), (3, 4)), ((1, 4), (3, 4)), ((100, 64), (64,)),
    # column vector (fast path)
    ((3, 4), (3, 1)), ((3, 1), (3, 4)), ((100, 64), (100, 1)),
    # other broadcasts (numpy fallback)
    ((3, 1), (1, 4)), ((2, 3, 4), (3, 4)), ((2, 1, 4), (3, 1)), ((3,), (1, 1)),
    ((4,), (2, 3, 4)),
    # 0-d with 0-d (numpy returns a scalar)
    ((), ()),
    # empty
    ((0,), (0,)), ((0, 4), (0, 4)), ((0, 4), (4,)), ((0,), ()), ((3, 0), (3, 1)),
    ((0, 3), (1, 3)), ((3, 0), ()),
]


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shapes", SHAPE_PAIRS, ids=str)
@pytest.mark.parametrize("name", BINARY)
def test_binary_matches_numpy(name, shapes, dtype, rng):
    compiled, ref = twin(name)
    a = special_values(rng, shapes[0], dtype)
    b = special_values(rng, shapes[1], dtype)
    expected = quiet(ref, a, b)
    assert_same(quiet(compiled, a, b), expected)
    assert_same(quiet(compiled, b, a), quiet(ref, b, a))
    # The reference is numpy's ufunc: the contract is numpy's result.
    ufunc = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.true_divide}
    assert_same(expected, quiet(ufunc[name], a, b))


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("name", BINARY)
def test_binary_same_shape_is_bitwise_numpy(name, dtype, rng):
    """The fast loops do the same IEEE operation per element as numpy: bitwise equal."""
    compiled, ref = twin(name)
    a = rng.standard_normal((17, 33)).astype(dtype)
    b = rng.standard_normal((17, 33)).astype(dtype)
    for operand in [b, b[0].copy(), b[:1].copy(), b[:, :1].copy(), np.array(b[0, 0]),
                    b[:1, :1].copy()]:
        np.testing.assert_array_equal(compiled(a, operand), ref(a, operand))
        np.testing.assert_array_equal(compiled(operand, a), ref(operand, a))


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shapes", [((3, 4), (3, 4)), ((3, 4), (4,)), ((3, 4), (3, 1)),
                                    ((3, 4), (1, 1)), ((5,), (5,))], ids=str)
@pytest.mark.parametrize("name", BINARY)
def test_binary_any_layout(name, shapes, dtype, rng):
    compiled, ref = twin(name)
    a = rng.standard_normal(shapes[0]).astype(dtype)
    b = rng.standard_normal(shapes[1]).astype(dtype) + 3
    expected = ref(a, b)
    for (layout_a, va), (layout_b, vb) in itertools.product(list(layouts(a)), list(layouts(b))):
        got = compiled(va, vb)
        assert_same(got, ref(va, vb))
        np.testing.assert_allclose(got, expected, **TOL[np.dtype(dtype)],
                                   err_msg=f"{layout_a} with {layout_b}")


@pytest.mark.parametrize("dtypes", [(np.int64, np.int64), (np.int32, np.int32),
                                    (np.uint8, np.uint8), (np.int64, np.float32),
                                    (np.float32, np.float64), (np.float64, np.float32),
                                    (np.bool_, np.bool_), (np.int16, np.float64),
                                    (np.complex128, np.complex128)], ids=str)
@pytest.mark.parametrize("name", BINARY)
def test_binary_other_dtypes_give_numpys_result(name, dtypes, rng):
    compiled, ref = twin(name)
    a = (rng.integers(1, 50, (3, 4))).astype(dtypes[0])
    b = (rng.integers(1, 50, (3, 4))).astype(dtypes[1])
    if name == "sub" and dtypes == (np.bool_, np.bool_):
        with pytest.raises(TypeError):
            ref(a, b)
        with pytest.raises(TypeError):
            compiled(a, b)
        return
    assert_same(quiet(compiled, a, b), quiet(ref, a, b))
    assert_same(quiet(compiled, a, b[0]), quiet(ref, a, b[0]))


def test_integer_arithmetic_is_numpys(rng):
    a = np.array([[7, -7, 3], [100, 0, -1]], dtype=np.int64)
    b = np.array([2, 3, -2], dtype=np.int64)
    add, sub, mul, div = (TWINS[n] for n in BINARY)
    np.testing.assert_array_equal(add(a, b), [[9, -4, 1], [102, 3, -3]])
    np.testing.assert_array_equal(sub(a, b), [[5, -10, 5], [98, -3, 1]])
    np.testing.assert_array_equal(mul(a, b), [[14, -21, -6], [200, 0, 2]])
    quotient = div(a, b)
    assert quotient.dtype == np.float64
    np.testing.assert_allclose(quotient, [[3.5, -7 / 3, -1.5], [50, 0, 0.5]])
    assert add(a, b).dtype == np.int64


@pytest.mark.parametrize("dtype", FLOATS)
def test_binary_python_scalars_and_subclasses(dtype, rng):
    a = rng.standard_normal((3, 4)).astype(dtype)
    for name in BINARY:
        compiled, ref = twin(name)
        assert_same(compiled(a, 2.5), ref(a, 2.5))
        assert_same(compiled(3, a), ref(3, a))

    class Sub(np.ndarray):
        pass

    sub_a = a.view(Sub)
    out = TWINS["add"](sub_a, a)
    assert isinstance(out, Sub)
    np.testing.assert_array_equal(out, a + a)


def test_division_by_zero_gives_ieee_results():
    div = TWINS["div"]
    for dtype in FLOATS:
        a = np.array([1.0, -1.0, 0.0, np.nan, np.inf], dtype=dtype)
        b = np.zeros(5, dtype=dtype)
        got = div(a, b)
        np.testing.assert_array_equal(got, [np.inf, -np.inf, np.nan, np.nan, np.inf])
        assert np.signbit(div(np.array([1.0], dtype), np.array([-0.0], dtype)))[0]


@settings(max_examples=150, deadline=None)
@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3,
                                                max_side=4),
       dtype=st.sampled_from(FLOATS), name=st.sampled_from(BINARY),
       seed=st.integers(0, 2**16))
def test_binary_any_broadcast(shapes, dtype, name, seed):
    rng = np.random.default_rng(seed)
    a_shape, b_shape = shapes.input_shapes
    a = rng.standard_normal(a_shape).astype(dtype)
    b = (rng.standard_normal(b_shape) + 4).astype(dtype)
    compiled, ref = twin(name)
    assert_same(compiled(a, b), ref(a, b))


# ---------------------------------------------------------------------------------------------
# Unary math and activations
# ---------------------------------------------------------------------------------------------

UNARY = {
    "exp": (), "log": (), "sqrt": (), "tanh": (), "relu": (), "sigmoid": (),
    "leaky_relu": (0.01,), "reciprocal": (), "atanh": (),
}
# Sizes on both sides of every internal limit (libm loop vs numpy, GIL release).
SIZES = [(), (0,), (1,), (3, 4), (16,), (24,), (25,), (48,), (49,), (128,), (129,),
         (2, 0, 3), (50, 20), (5000,)]


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shape", SIZES, ids=str)
@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_matches_reference(name, shape, dtype, rng):
    compiled, ref = twin(name)
    x = special_values(rng, shape, dtype, (np.nan, np.inf, -np.inf, 0.0, -0.0, 1e4, -1e4,
                                           80.0, -80.0, 1e-30))
    if name in ("log", "sqrt") and x.size:
        x = np.abs(x)
        x.reshape(-1)[-1] = -1.0  # negative: NaN
    extra = UNARY[name]
    assert_same(quiet(compiled, x, *extra), quiet(ref, x, *extra))


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_any_layout(name, dtype, rng):
    compiled, ref = twin(name)
    for shape in [(6, 5), (40, 30)]:
        x = np.abs(rng.standard_normal(shape)).astype(dtype) + 0.1
        if name == "atanh":
            x = x / (x + 1)  # inside its domain, (0, 1)
        extra = UNARY[name]
        expected = ref(x, *extra)
        for layout, view in layouts(x):
            got = compiled(view, *extra)
            assert_same(got, ref(view, *extra), tol=dict(**TOL[np.dtype(dtype)],
                                                         err_msg=layout))
            np.testing.assert_allclose(got, expected, **TOL[np.dtype(dtype)], err_msg=layout)


LOGICAL = ("logical_and", "logical_or", "logical_xor")


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("name", LOGICAL)
def test_logical_matches_reference(name, dtype, rng):
    compiled, ref = twin(name)
    for shape in SIZES:
        a, b = (special_values(rng, shape, dtype) for _ in range(2))
        a[rng.random(shape) < 0.3] = 0.0
        b[rng.random(shape) < 0.3] = -0.0
        assert_same(compiled(a, b), ref(a, b))
        for layout, view in layouts(a):
            assert_same(compiled(view, b), ref(view, b))
            assert_same(compiled(b, view), ref(b, view))
    # broadcasting, mixed dtypes, integers and bools: numpy's result
    a = special_values(rng, (4, 5), dtype)
    for b in (a[0], a[:, :1], a.astype(np.float16), (a > 0).astype(np.int64), a > 0, 2.5):
        assert_same(compiled(a, b), ref(a, b))
    assert_same(compiled(a > 0, a < 0), ref(a > 0, a < 0))


@pytest.mark.parametrize("dtype", FLOATS)
def test_atanh_is_accurate_near_zero_and_near_one(dtype):
    # the compiled atanh is log1p(2|x| / (1 - |x|)) / 2: check it within 4 ulps of the
    # float64 C library's where the formula is most fragile (both ends of its domain)
    eps = np.finfo(dtype).eps
    x = np.concatenate([np.logspace(-30, -1, 50), 1 - np.logspace(np.log10(eps), -1, 50)])
    x = np.concatenate([x, -x]).astype(dtype)
    got = TWINS["atanh"](x)
    exact = np.arctanh(x.astype(np.float64))
    np.testing.assert_allclose(got, exact, rtol=4 * eps, atol=0)


def test_reciprocal_of_zero_is_inf_without_a_warning():
    reciprocal = TWINS["reciprocal"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for dtype in (np.float16, np.float32, np.float64):
            got = reciprocal(np.array([0.0, -0.0, 4.0], dtype=dtype))
            np.testing.assert_array_equal(got, np.array([np.inf, -np.inf, 0.25], dtype=dtype))
            assert got.dtype == dtype
        assert reciprocal(np.array(0.0)).shape == ()


@pytest.mark.parametrize("dtype", FLOATS)
def test_relu_keeps_nan_and_zeroes_negatives(dtype):
    relu = TWINS["relu"]
    x = np.array([np.nan, -np.inf, -1.0, -0.0, 0.0, 2.0, np.inf], dtype=dtype)
    got = relu(x)
    np.testing.assert_array_equal(got, [np.nan, 0, 0, 0, 0, 2, np.inf])
    assert not np.signbit(got[3])  # max(-0.0, 0) written as +0, as the reference does


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("size", [10, 1000])
def test_sigmoid_is_stable_for_large_inputs(dtype, size):
    sigmoid = TWINS["sigmoid"]
    x = np.linspace(-1e4, 1e4, size).astype(dtype)
    x[:3] = [-1e30, 1e30, 0.0] if dtype == np.float64 else [-3e38, 3e38, 0.0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # (underflow of exp(-|x|) to 0 is the intended result, not an error)
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            y = sigmoid(x)
    assert y.dtype == dtype and not np.isnan(y).any()
    assert ((y >= 0) & (y <= 1)).all()
    np.testing.assert_array_equal(y[:3], [0.0, 1.0, 0.5])
    # Direct float64 formula, where it does not overflow.
    with np.errstate(over="ignore"):
        oracle = 1 / (1 + np.exp(-x.astype(np.float64)))
    np.testing.assert_allclose(y, oracle, rtol=1e-6 if dtype == np.float32 else 1e-14,
                               atol=np.finfo(dtype).tiny)


@pytest.mark.parametrize("dtype", FLOATS)
def test_leaky_relu_slope_is_applied_in_the_arrays_dtype(dtype, rng):
    compiled, ref = twin("leaky_relu")
    x = rng.standard_normal(200).astype(dtype)
    for slope in (0.0, 0.01, 0.3, 1.0, 2.5):
        got = compiled(x, slope)
        np.testing.assert_array_equal(got, ref(x, slope))  # same IEEE ops: bitwise
        np.testing.assert_allclose(got, np.where(x > 0, x, slope * x.astype(np.float64)),
                                   rtol=1e-6)


# ---------------------------------------------------------------------------------------------
# Activation gradients
# ---------------------------------------------------------------------------------------------

BACKWARD = {"relu_backward": (), "leaky_relu_backward": (0.1,), "sigmoid_backward": (),
            "tanh_backward": ()}


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shape", [(), (0,), (1,), (3, 4), (2, 3, 5), (5000,)], ids=str)
@pytest.mark.parametrize("name", sorted(BACKWARD))
def test_backward_matches_reference(name, shape, dtype, rng):
    compiled, ref = twin(name)
    saved = special_values(rng, shape, dtype)
    if name in ("sigmoid_backward", "tanh_backward"):
        saved = np.tanh(saved) if name == "tanh_backward" else 1 / (1 + np.exp(-saved))
        saved = saved.astype(dtype)
    grad_output = special_values(rng, shape, dtype, (np.nan, np.inf))
    extra = BACKWARD[name]
    assert_same(compiled(saved, grad_output, *extra), quiet(ref, saved, grad_output, *extra))


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("name", sorted(BACKWARD))
def test_backward_any_layout_and_broadcast(name, dtype, rng):
    compiled, ref = twin(name)
    extra = BACKWARD[name]
    saved = rng.uniform(-1, 1, (6, 5)).astype(dtype)
    grad_output = rng.standard_normal((6, 5)).astype(dtype)
    expected = ref(saved, grad_output, *extra)
    for (ls, vs), (lg, vg) in itertools.product(list(layouts(saved)),
                                                 list(layouts(grad_output))):
        got = compiled(vs, vg, *extra)
        np.testing.assert_allclose(got, expected, **TOL[np.dtype(dtype)], err_msg=f"{ls}/{lg}")
    # broadcasting and mixed dtypes go to numpy
    assert_same(compiled(saved, grad_output[0], *extra), ref(saved, grad_output[0], *extra))
    assert_same(compiled(saved.astype(np.float64), grad_output.astype(np.float32), *extra),
                ref(saved.astype(np.float64), grad_output.astype(np.float32), *extra))


def test_relu_backward_is_zero_at_zero_and_passes_gradient_at_nan_input():
    # PyTorch's threshold_backward: x <= 0 ? 0 : g. A NaN upstream gradient where x <= 0 is
    # blocked; at a NaN input (NaN <= 0 is false) the gradient passes.
    relu_backward = TWINS["relu_backward"]
    x = np.array([-1.0, 0.0, -0.0, 1e-30, np.nan, 2.0])
    g = np.array([np.nan, 5.0, 5.0, 3.0, 4.0, np.inf])
    np.testing.assert_array_equal(relu_backward(x, g), [0, 0, 0, 3, 4.0, np.inf])


# ---------------------------------------------------------------------------------------------
# Reductions
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shape", [(), (0,), (1,), (7,), (8,), (3, 4), (129,), (1000, 3),
                                   (100003,), (0, 5)], ids=str)
def test_sum_all(shape, dtype, rng):
    compiled, ref = twin("sum_all")
    x = rng.standard_normal(shape).astype(dtype)
    got = compiled(x)
    expected = ref(x)
    assert type(got) is np.ndarray and got.shape == () and got.dtype == dtype
    scale = np.abs(x.astype(np.float64)).sum() + 1
    eps = np.finfo(dtype).eps
    np.testing.assert_allclose(got, expected, rtol=0, atol=8 * eps * scale)
    np.testing.assert_allclose(got, x.astype(np.float64).sum(), rtol=0, atol=8 * eps * scale)
    for layout, view in layouts(x):
        np.testing.assert_allclose(compiled(view), expected, rtol=0, atol=8 * eps * scale,
                                   err_msg=layout)


def test_sum_all_propagates_nan_and_inf():
    sum_all = TWINS["sum_all"]
    assert np.isnan(sum_all(np.array([1.0, np.nan, 2.0])))
    assert sum_all(np.array([1.0, np.inf], np.float32)) == np.inf
    assert np.isnan(sum_all(np.array([np.inf, -np.inf])))


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shape", [(0, 3), (3, 0), (1, 1), (5, 4), (128, 10), (200, 64),
                                   (100, 1)],
                         ids=str)
def test_sum_rows(shape, dtype, rng):
    compiled, ref = twin("sum_rows")
    x = special_values(rng, shape, dtype, (np.nan, np.inf))
    expected = ref(x)
    # numpy sums a non-contiguous column in another order: allow for the rounding
    bound = 4 * max(shape[0], 1) * np.finfo(dtype).eps * np.abs(x).sum(axis=0)
    bound = np.nan_to_num(bound, nan=0.0, posinf=0.0)  # such columns must match exactly
    assert_same(compiled(x), expected)
    for layout, view in layouts(x):
        got = compiled(view)
        assert got.dtype == expected.dtype
        assert_within(got, expected, bound, err_msg=layout)
    # 1-D and 3-D inputs go to numpy
    y = rng.standard_normal((2, 3, 4)).astype(dtype)
    assert_same(compiled(y), ref(y))
    assert_same(compiled(y[0, 0]), ref(y[0, 0]))


# ---------------------------------------------------------------------------------------------
# Matrix products
# ---------------------------------------------------------------------------------------------

MATMUL_SHAPES = [(1, 1, 1), (2, 3, 4), (5, 7, 3), (4, 1, 4), (12, 12, 12), (13, 13, 13),
                 (16, 16, 16), (64, 32, 48), (100, 2, 10), (0, 3, 4), (3, 0, 4), (3, 4, 0),
                 (1, 300, 1)]


def product_tol(a, b, dtype):
    """Sums of k products may round differently in a different order: allow k ulps of the
    size of the terms, elementwise (an array of bounds for assert_within)."""
    k = max(a.shape[-1], 1)
    scale = np.abs(a.astype(np.float64)) @ np.abs(b.astype(np.float64))
    return {"bound": 4 * k * np.finfo(dtype).eps * (scale + 1e-30)}


def assert_within(actual, expected, bound, err_msg=""):
    """|actual - expected| <= bound elementwise (bound an array), NaN matching NaN."""
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape, err_msg
    nan = np.isnan(expected)
    np.testing.assert_array_equal(np.isnan(actual), nan, err_msg=err_msg)
    with np.errstate(invalid="ignore"):
        error = np.where(nan | (actual == expected), 0, np.abs(actual - expected))
    bound = np.broadcast_to(bound, error.shape)
    if error.size:
        worst = np.unravel_index(np.argmax(error - bound), error.shape)
        assert (error <= bound).all(), (
            f"{err_msg}: error {error[worst]:.3g} > bound {bound[worst]:.3g} at {worst}")


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("mkn", MATMUL_SHAPES, ids=str)
def test_matmul(mkn, dtype, rng):
    m, k, n = mkn
    compiled, ref = twin("matmul")
    a = rng.standard_normal((m, k)).astype(dtype)
    b = rng.standard_normal((k, n)).astype(dtype)
    expected = ref(a, b)
    got = compiled(a, b)
    assert type(got) is np.ndarray and got.dtype == dtype and got.shape == (m, n)
    tol = product_tol(a, b, dtype)
    assert_within(got, expected, **tol)
    assert_within(got, a.astype(np.float64) @ b.astype(np.float64), **tol)
    if m and k and n:
        for (la, va), (lb, vb) in itertools.product(list(layouts(a))[:4], list(layouts(b))[:4]):
            assert_within(compiled(va, vb), expected, **tol, err_msg=f"{la}/{lb}")


def test_matmul_nan_propagates_and_mixed_dtypes_and_bad_shapes(rng):
    compiled, ref = twin("matmul")
    for size in (3, 40):
        a = rng.standard_normal((size, size))
        b = rng.standard_normal((size, size))
        a[1, 2] = np.nan
        got = compiled(a, b)
        assert np.isnan(got[1]).all() and not np.isnan(np.delete(got, 1, axis=0)).any()
    a32 = rng.standard_normal((3, 4)).astype(np.float32)
    b64 = rng.standard_normal((4, 2))
    assert_same(compiled(a32, b64), ref(a32, b64))
    ai = rng.integers(0, 5, (3, 4))
    assert_same(compiled(ai, ai.T), ref(ai, ai.T))
    with pytest.raises(ValueError):
        compiled(a32, a32)


LINEAR_SHAPES = [(100, 2, 10), (1, 1, 1), (4, 3, 5), (64, 2, 10), (16, 10, 10), (32, 10, 10),
                 (5, 0, 3), (0, 3, 4), (4, 3, 0), (128, 784, 256), (100, 10, 1), (3, 64, 9),
                 (7, 1, 33), (50, 4, 20), (1, 3, 300)]


@pytest.mark.parametrize("with_bias", [True, False])
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shape", LINEAR_SHAPES, ids=str)
def test_linear_forward(shape, dtype, with_bias, rng):
    batch, n_in, n_out = shape
    compiled, ref = twin("linear_forward")
    x = rng.standard_normal((batch, n_in)).astype(dtype)
    weight = rng.standard_normal((n_out, n_in)).astype(dtype)
    bias = rng.standard_normal(n_out).astype(dtype) if with_bias else None
    expected = ref(x, weight, bias)
    got = compiled(x, weight, bias)
    assert type(got) is np.ndarray and got.dtype == dtype and got.shape == (batch, n_out)
    tol = product_tol(x, weight.T, dtype)
    tol["bound"] = tol["bound"] + 4 * np.finfo(dtype).eps * (0 if bias is None else np.abs(bias))
    assert_within(got, expected, **tol)
    oracle = x.astype(np.float64) @ weight.T.astype(np.float64)
    if with_bias:
        oracle += bias
    assert_within(got, oracle, **tol)
    if batch and n_in and n_out and batch * n_in * n_out < 10**5:
        for (lx, vx), (lw, vw) in itertools.product(list(layouts(x))[:4],
                                                     list(layouts(weight))[:4]):
            assert_within(compiled(vx, vw, bias), expected, **tol, err_msg=f"{lx}/{lw}")


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shape", LINEAR_SHAPES, ids=str)
def test_linear_relu(shape, dtype, rng):
    """The fused Linear + ReLU: the twin within the product's rounding, and the same bits as
    the compiled relu of the compiled linear_forward."""
    batch, n_in, n_out = shape
    compiled, ref = twin("linear_relu")
    x = rng.standard_normal((batch, n_in)).astype(dtype)
    weight = rng.standard_normal((n_out, n_in)).astype(dtype)
    bias = rng.standard_normal(n_out).astype(dtype)
    got = compiled(x, weight, bias)
    assert type(got) is np.ndarray and got.dtype == dtype and got.shape == (batch, n_out)
    oracle = np.maximum(x.astype(np.float64) @ weight.T.astype(np.float64) + bias, 0)
    tol = product_tol(x, weight.T, dtype)
    tol["bound"] = tol["bound"] + 4 * np.finfo(dtype).eps * np.abs(bias)
    assert_within(got, ref(x, weight, bias), **tol)
    assert_within(got, oracle, **tol)
    assert_same(got, TWINS["relu"](TWINS["linear_forward"](x, weight, bias)))
    assert_same(compiled(x, weight, None), TWINS["relu"](TWINS["linear_forward"](x, weight, None)))
    if batch and n_in and n_out:
        view = np.asfortranarray(x)
        assert_within(compiled(view, weight, bias), oracle, **tol)


@pytest.mark.parametrize("act", ["relu", "sigmoid", "tanh"])
@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shape", LINEAR_SHAPES, ids=str)
def test_linear_act_backward(shape, dtype, act, rng):
    """dz = g act'(z) from y, then Linear's gradients: the twin within rounding, and the same
    bits as the compiled activation gradient followed by the compiled linear_backward."""
    batch, n_in, n_out = shape
    compiled, ref = twin("linear_act_backward")
    x = rng.standard_normal((batch, n_in)).astype(dtype)
    weight = rng.standard_normal((n_out, n_in)).astype(dtype)
    z = rng.standard_normal((batch, n_out)).astype(dtype)
    z[::3] = 0  # relu's kink: no gradient at z == 0
    y = {"relu": np.maximum(z, 0), "sigmoid": 1 / (1 + np.exp(-z)), "tanh": np.tanh(z)}[act]
    y = y.astype(dtype)
    g = rng.standard_normal((batch, n_out)).astype(dtype)
    dz = TWINS[act + "_backward"](y, g)
    # dz itself (its own rounding) against float64; the products below are checked from dz
    dz_oracle = g.astype(np.float64) * {"relu": (y > 0), "sigmoid": y * (1.0 - y),
                                        "tanh": 1.0 - y.astype(np.float64) ** 2}[act]
    # (1 - y) and 1 - y^2 cancel near |y| = 1: the bound follows the terms' sizes
    assert_within(dz, dz_oracle, 4 * np.finfo(dtype).eps * np.abs(g) * (1 + np.abs(y)) ** 2)
    dz64 = dz.astype(np.float64)
    oracles = (dz64 @ weight, dz64.T @ x, dz64.sum(axis=0))
    tols = (product_tol(dz, weight, dtype), product_tol(dz.T, x, dtype),
            {"bound": 8 * max(batch, 1) * np.finfo(dtype).eps * np.abs(dz64).sum(axis=0)})
    for need in itertools.product([False, True], repeat=3):
        got = compiled(g, y, x, weight, act, *need)
        expected = ref(g, y, x, weight, act, *need)
        separate = TWINS["linear_backward"](dz, x, weight, *need)
        assert type(got) is tuple and len(got) == 3
        for asked, value, e, s, tol, oracle in zip(need, got, expected, separate, tols, oracles):
            if not asked:
                assert value is None
                continue
            assert type(value) is np.ndarray and value.dtype == dtype and value.shape == e.shape
            assert_same(value, s)
            assert_within(value, e, **tol)
            assert_within(value, oracle, **tol)
    with pytest.raises(ValueError, match="gelu"):
        compiled(g, y, x, weight, "gelu", True, True, True)
    with pytest.raises(ValueError, match="gelu"):
        ref(g, y, x, weight, "gelu", True, True, True)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shape", LINEAR_SHAPES, ids=str)
def test_linear_backward(shape, dtype, rng):
    batch, n_in, n_out = shape
    compiled, ref = twin("linear_backward")
    x = rng.standard_normal((batch, n_in)).astype(dtype)
    weight = rng.standard_normal((n_out, n_in)).astype(dtype)
    g = rng.standard_normal((batch, n_out)).astype(dtype)
    tols = (product_tol(g, weight, dtype), product_tol(g.T, x, dtype),
            {"bound": 4 * max(batch, 1) * np.finfo(dtype).eps * np.abs(g).sum(axis=0)})
    oracles = (g.astype(np.float64) @ weight, g.T.astype(np.float64) @ x,
               g.astype(np.float64).sum(axis=0))
    for need in itertools.product([False, True], repeat=3):
        expected = ref(g, x, weight, *need)
        got = compiled(g, x, weight, *need)
        assert type(got) is tuple and len(got) == 3
        for asked, value, e, tol, oracle in zip(need, got, expected, tols, oracles):
            if not asked:
                assert value is None
                continue
            assert type(value) is np.ndarray and value.dtype == dtype
            assert value.shape == e.shape
            assert_within(value, e, **tol)
            assert_within(value, oracle, **tol)
    if batch and n_in and n_out and batch * n_in * n_out < 10**5:
        expected = ref(g, x, weight, True, True, True)
        for layout, vg in list(layouts(g))[:4]:
            got = compiled(vg, x, weight, True, True, True)
            for value, e, tol in zip(got, expected, tols):
                assert_within(value, e, **tol, err_msg=layout)


# ---------------------------------------------------------------------------------------------
# Losses
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shape", [(), (0,), (1,), (5,), (3, 4), (100, 1), (20000,)], ids=str)
def test_mse_loss(shape, dtype, rng):
    compiled, ref = twin("mse_loss")
    pred = rng.standard_normal(shape).astype(dtype)
    target = rng.standard_normal(shape).astype(dtype)
    total, grad = compiled(pred, target)
    ref_total, ref_grad = ref(pred, target)
    assert type(total) is float and type(ref_total) is float
    assert_same(grad, ref_grad)
    diff64 = pred.astype(np.float64) - target.astype(np.float64)
    oracle = float(np.sum(diff64 ** 2))
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(total, oracle, rtol=rtol, atol=1e-300)
    np.testing.assert_allclose(ref_total, oracle, rtol=rtol, atol=1e-300)
    np.testing.assert_allclose(grad, 2 * diff64, rtol=1e-6 if dtype == np.float32 else 0)
    for layout, view in layouts(pred):
        t2, g2 = compiled(view, target)
        np.testing.assert_allclose(t2, oracle, rtol=rtol, err_msg=layout)
        np.testing.assert_array_equal(g2, ref_grad, err_msg=layout)


def test_mse_loss_nan_and_inf():
    mse_loss = TWINS["mse_loss"]
    total, grad = mse_loss(np.array([1.0, np.nan]), np.array([0.0, 0.0]))
    assert np.isnan(total) and grad[0] == 2 and np.isnan(grad[1])
    total, grad = mse_loss(np.array([np.inf], np.float32), np.array([0.0], np.float32))
    assert total == np.inf and grad[0] == np.inf


def logsumexp64(logits):
    x = logits.astype(np.float64)
    return np.logaddexp.reduce(x, axis=1)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shape", [(1, 1), (5, 3), (4, 1), (100, 10), (0, 5), (33, 64)],
                         ids=str)
@pytest.mark.parametrize("scale", [1.0, 100.0, 1e4])
def test_softmax_cross_entropy(shape, dtype, scale, rng):
    compiled, ref = twin("softmax_cross_entropy")
    n, c = shape
    logits = (rng.standard_normal(shape) * scale).astype(dtype)
    target = rng.integers(0, c, n)
    losses, grad = compiled(logits, target)
    assert_same((losses, grad), quiet(ref, logits, target),
                tol={"rtol": 1e-5, "atol": 1e-5 * scale} if dtype == np.float32 else None)
    # Direct float64 formula: loss = logsumexp - x_t, grad = softmax - onehot.
    lse = logsumexp64(logits) if n else np.zeros(0)
    x64 = logits.astype(np.float64)
    oracle_losses = lse - x64[np.arange(n), target]
    oracle_grad = np.exp(x64 - lse[:, None])
    oracle_grad[np.arange(n), target] -= 1
    eps = np.finfo(dtype).eps
    np.testing.assert_allclose(losses, oracle_losses, rtol=8 * eps, atol=8 * eps * scale)
    np.testing.assert_allclose(grad, oracle_grad, rtol=0, atol=8 * eps * max(c, 1))
    assert np.isfinite(losses).all() and np.isfinite(grad).all()


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("rows", [3, 300])
def test_softmax_cross_entropy_nan_and_inf_rows(dtype, rows, rng):
    compiled, ref = twin("softmax_cross_entropy")
    logits = rng.standard_normal((rows, 4)).astype(dtype)
    logits[0, 2] = np.nan
    logits[1, 0] = np.inf
    logits[2, :] = -np.inf
    target = rng.integers(0, 4, rows)
    losses, grad = compiled(logits, target)
    assert_same((losses, grad), quiet(ref, logits, target))
    assert np.isnan(losses[:3]).all() and np.isnan(grad[:3]).all()
    assert np.isfinite(losses[3:]).all() and np.isfinite(grad[3:]).all()


def test_softmax_cross_entropy_targets(rng):
    compiled, ref = twin("softmax_cross_entropy")
    logits = rng.standard_normal((4, 3))
    for bad in ([0, 1, 3, 0], [0, -1, 1, 1]):
        with pytest.raises(IndexError, match="target"):
            compiled(logits, np.array(bad))
    # Other integer dtypes and non-contiguous targets go to the reference.
    target = np.array([0, 2, 1, 2], dtype=np.int32)
    assert_same(compiled(logits, target), ref(logits, target))
    wide = np.array([0, 9, 2, 9, 1, 9, 2, 9])
    assert_same(compiled(logits, wide[::2]), ref(logits, wide[::2]))
    assert_same(compiled(np.asfortranarray(logits), wide[::2]), ref(logits, wide[::2]))


def bce64(x, y):
    x64, y64 = x.astype(np.float64), y.astype(np.float64)
    with np.errstate(over="ignore"):
        return np.logaddexp(0, x64) - x64 * y64, 1 / (1 + np.exp(-x64)) - y64


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shape", [(), (0,), (1,), (7,), (4, 5), (1000,)], ids=str)
def test_bce_with_logits(shape, dtype, rng):
    compiled, ref = twin("bce_with_logits")
    x = (rng.standard_normal(shape) * 10).astype(dtype)
    flat = x.reshape(-1)
    for i, value in enumerate([1e4, -500.0, -1e4, 0.0, 88.0, -88.0, 40.0]):
        if i < flat.size:
            flat[i] = value
    y = rng.uniform(0, 1, shape).astype(dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        losses, grad = compiled(x, y)
    assert_same((losses, grad), ref(x, y), tol={"rtol": 1e-5, "atol": 1e-6}
                if dtype == np.float32 else None)
    oracle_losses, oracle_grad = bce64(x, y)
    eps = np.finfo(dtype).eps
    np.testing.assert_allclose(losses, oracle_losses, rtol=16 * eps, atol=16 * eps)
    np.testing.assert_allclose(grad, oracle_grad, rtol=0, atol=4 * eps)
    assert np.isfinite(losses).all() and np.isfinite(grad).all()
    for layout, view in layouts(x):
        assert_same(compiled(view, y), ref(view, y), tol={"rtol": 1e-5, "atol": 1e-6})


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("size", [6, 600])
def test_bce_with_logits_nan_and_inf(dtype, size):
    compiled, ref = twin("bce_with_logits")
    x = np.zeros(size, dtype)
    y = np.full(size, 0.5, dtype)
    x[:3] = [np.nan, np.inf, -np.inf]
    y[:3] = [1.0, 0.0, 1.0]
    losses, grad = compiled(x, y)
    assert_same((losses, grad), quiet(ref, x, y))
    assert np.isnan(losses[0]) and np.isnan(grad[0])
    # x = +inf, y = 0: the formula's x * y is inf * 0 = NaN (PyTorch's (1 - y) x form
    # gives inf); the twins agree on it, and the gradient is right.
    assert np.isnan(losses[1]) and grad[1] == 1
    assert losses[2] == np.inf and grad[2] == -1  # x = -inf, y = 1: certain and wrong
    np.testing.assert_allclose(losses[3:], np.log(2), rtol=1e-6)


# ---------------------------------------------------------------------------------------------
# The fast paths are taken (the comparisons above would also pass if every call fell back to
# numpy): with numpy and the reference made unreachable from the compiled modules, the
# fast-path calls still work, and the fallback calls reach numpy.
# ---------------------------------------------------------------------------------------------


class Unreachable:
    def __getattr__(self, name):
        raise AssertionError(f"the fast path called numpy/reference .{name}")


def fast_path_calls(dtype, rng):
    def r(*shape):
        return rng.standard_normal(shape).astype(dtype)

    m, v, c, s = r(6, 5), r(5), r(6, 1), r(1)
    target = rng.integers(0, 5, 6)
    calls = [(op, (m, m)) for op in BINARY]
    calls += [(op, (m, v)) for op in BINARY] + [(op, (v, m)) for op in BINARY]
    calls += [(op, (m, c)) for op in BINARY] + [(op, (c, m)) for op in BINARY]
    calls += [(op, (m, s)) for op in BINARY] + [(op, (np.array(s[0]), m)) for op in BINARY]
    calls += [(op, (np.tanh(m) if op == "atanh" else np.abs(m),) + UNARY[op]) for op in UNARY]
    calls += [(op, (m, np.where(m > 0, m, 0))) for op in LOGICAL]
    calls += [("sigmoid", (r(1000),))]  # numpy's exp inside, then C: but no reference call
    calls += [(op, (m, m) + BACKWARD[op]) for op in BACKWARD]
    calls += [("sum_all", (m,)), ("sum_rows", (m,)), ("matmul", (m, r(5, 3))),
              ("linear_forward", (m, r(3, 5), r(3))), ("linear_forward", (m, r(3, 5), None)),
              ("linear_backward", (r(6, 3), m, r(3, 5), True, True, True)),
              ("mse_loss", (m, m)), ("softmax_cross_entropy", (m, target)),
              ("bce_with_logits", (m, np.abs(m) / 10))]
    return calls


@pytest.mark.parametrize("dtype", FLOATS)
def test_fast_paths_call_no_numpy(dtype, rng, monkeypatch):
    calls = fast_path_calls(dtype, rng)
    expected = [reference_functions()[name](*args) for name, args in calls]
    for module_name in MY_MODULES:
        module = _kernels.compiled_module(module_name)
        monkeypatch.setattr(module, "_reference", Unreachable())
        if module_name != "_elementwise":  # the large sigmoid uses numpy's exp by design
            monkeypatch.setattr(module, "np", Unreachable())
    for (name, args), e in zip(calls, expected):
        assert_same(TWINS[name](*args), e)


@pytest.mark.parametrize("name, args", [
    ("add", (np.ones((3, 1)), np.ones((1, 4)))),
    ("mul", (np.ones((3, 4), np.float32), np.ones((3, 4)))),
    ("relu", (np.ones((4, 3)).T,)),
    ("sum_rows", (np.ones((2, 3, 4)),)),
    ("matmul", (np.ones((3, 4)).T, np.ones((3, 2)))),
    ("softmax_cross_entropy", (np.ones((2, 3)), np.zeros(2, np.int32))),
])
def test_fallbacks_reach_numpy(name, args, monkeypatch):
    for module_name in MY_MODULES:
        module = _kernels.compiled_module(module_name)
        monkeypatch.setattr(module, "_reference", Unreachable())
        monkeypatch.setattr(module, "np", Unreachable())
    with pytest.raises(AssertionError, match="called numpy/reference"):
        TWINS[name](*args)


def test_python_objects_are_accepted_like_numpy():
    assert_same(TWINS["add"]([1.0, 2.0], [3.0, 4.0]), reference.add([1.0, 2.0], [3.0, 4.0]))
    assert_same(TWINS["mul"](2.0, 3.0), reference.mul(2.0, 3.0))
    with pytest.raises(ValueError):
        TWINS["linear_forward"](np.ones((2, 3)), np.ones((4, 5)), None)
    with pytest.raises(ValueError):
        TWINS["mse_loss"](np.ones(3), np.ones(4))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("number", [2.0, 3, -0.1, 1e-30, 1e30, 2**60, float("nan"), float("inf"),
                                    0, -7])
def test_binary_ops_with_a_python_number_equal_numpy_on_either_side(dtype, number):
    # The compiled kernels take Python floats and ints on a fast path (converted to the
    # array's dtype first, as numpy's NEP 50 rules do); results must be numpy's to the bit.
    a = (np.random.default_rng(3).standard_normal((7, 5)) * 10).astype(dtype)
    for name, ufunc in (("add", np.add), ("sub", np.subtract), ("mul", np.multiply),
                        ("div", np.true_divide)):
        kernel = TWINS[name]
        with np.errstate(all="ignore"):
            for got, want in ((kernel(a, number), ufunc(a, number)),
                              (kernel(number, a), ufunc(number, a))):
                assert got.dtype == want.dtype and got.shape == want.shape
                np.testing.assert_array_equal(got, want)
