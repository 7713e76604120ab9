"""The compiled convolution and pooling kernels (``_kernels/_conv.pyx``) against their numpy
twins (``reference.py``): float32 and float64, C-contiguous and other layouts (transposed,
sliced, Fortran order, byte-swapped), every implementation path (standard and batch-last
columns; C-loop and BLAS products), empty shapes, NaN and infinities in max pooling."""
import inspect

import numpy as np
import pytest

from minigrad import _kernels
from minigrad._kernels import reference

conv = _kernels.compiled_module("_conv")
FLOATS = (np.float32, np.float64)
TOL = {np.dtype(np.float32): {"rtol": 2e-5, "atol": 2e-5},
       np.dtype(np.float64): {"rtol": 1e-12, "atol": 1e-12}}
NAMES = ["im2col", "col2im", "conv2d", "conv2d_input_grad", "conv2d_weight_grad",
         "conv2d_backward", "max_pool2d",
         "pool_gather", "pool_scatter", "avg_pool2d", "avg_pool2d_backward"]


def layouts(x):
    """x itself and copies of its values in other memory layouts."""
    yield "C", np.ascontiguousarray(x)
    yield "F", np.asfortranarray(x)
    yield "transposed", np.ascontiguousarray(np.swapaxes(x, -1, -2)).swapaxes(-1, -2)
    yield "sliced", np.repeat(x, 2, axis=-1)[..., ::2]
    yield "byteswapped", x.astype(x.dtype.newbyteorder())


def assert_same(got, want, dtype):
    assert type(got) is type(want)
    if isinstance(want, tuple):
        for g, w in zip(got, want):
            assert_same(g, w, dtype)
        return
    assert got.dtype == want.dtype, (got.dtype, want.dtype)
    assert got.shape == want.shape
    assert got.flags.c_contiguous
    if want.dtype.kind == "f":
        np.testing.assert_allclose(got, want, **TOL[np.dtype(dtype)])
    else:
        np.testing.assert_array_equal(got, want)


@pytest.fixture(params=[("loop", 10**9), ("blas", 0)], ids=lambda p: p[0])
def product_path(request):
    """Every product through the C loops, or every product through np.matmul."""
    old = conv._set_limits(loop_max_work=request.param[1])
    yield request.param[0]
    conv._set_limits(*old)


@pytest.fixture(params=[("standard", 10**9), ("batch_last", 1)], ids=lambda p: p[0])
def columns_layout(request):
    old = conv._set_limits(batch_last_min_batch=request.param[1])
    yield request.param[0]
    conv._set_limits(*old)


def test_every_kernel_has_a_twin_with_its_signature():
    for name in NAMES:
        compiled, twin = getattr(conv, name), getattr(reference, name)
        assert list(inspect.signature(compiled).parameters) == list(
            inspect.signature(twin).parameters), name


def test_cython_backend_dispatches_to_the_compiled_kernels():
    previous = _kernels.backend_name
    try:
        _kernels.use("cython")
        for name in NAMES:
            assert getattr(_kernels.kernels, name) is getattr(conv, name)
        _kernels.use("numpy")
        assert _kernels.kernels.conv2d is reference.conv2d
    finally:
        _kernels.use(previous)


# (N, C, H, W, O, kh, kw, stride, padding pairs, dilation, groups)
GEOMETRIES = [
    (2, 3, 5, 6, 4, 3, 3, (1, 1), ((1, 1), (1, 1)), (1, 1), 1),
    (1, 2, 7, 5, 2, 2, 3, (2, 1), ((0, 1), (2, 0)), (1, 2), 2),
    (9, 4, 4, 4, 6, 3, 2, (1, 2), ((2, 1), (0, 0)), (2, 1), 2),
    (16, 3, 3, 3, 3, 1, 1, (1, 1), ((0, 0), (0, 0)), (1, 1), 3),
    (3, 1, 8, 8, 6, 5, 5, (1, 1), ((2, 2), (2, 2)), (1, 1), 1),
    (2, 2, 1, 9, 3, 1, 4, (1, 3), ((0, 0), (1, 2)), (1, 1), 1),
]


def _conv_arrays(geometry, dtype, seed=0):
    n, c, h, w, o, kh, kw, stride, pad, dil, groups = geometry
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c, h, w)).astype(dtype)
    weight = rng.standard_normal((o, c // groups, kh, kw)).astype(dtype)
    bias = rng.standard_normal(o).astype(dtype)
    y = reference.conv2d(x, weight, bias, stride, pad, dil, groups)
    grad = rng.standard_normal(y.shape).astype(dtype)
    return x, weight, bias, grad


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("geometry", GEOMETRIES, ids=str)
def test_convolution_kernels(geometry, dtype, product_path, columns_layout):
    _, _, _, _, _, kh, kw, stride, pad, dil, groups = geometry
    x, weight, bias, grad = _conv_arrays(geometry, dtype)
    for b in (bias, None):
        assert_same(conv.conv2d(x, weight, b, stride, pad, dil, groups),
                    reference.conv2d(x, weight, b, stride, pad, dil, groups), dtype)
    size = x.shape[2:]
    assert_same(conv.conv2d_input_grad(grad, weight, size, stride, pad, dil, groups),
                reference.conv2d_input_grad(grad, weight, size, stride, pad, dil, groups), dtype)
    assert_same(conv.conv2d_weight_grad(x, grad, (kh, kw), stride, pad, dil, groups),
                reference.conv2d_weight_grad(x, grad, (kh, kw), stride, pad, dil, groups), dtype)
    for needs in [(True, True, True), (False, True, True), (True, False, False),
                  (False, False, True)]:
        got = conv.conv2d_backward(grad, x, weight, stride, pad, dil, groups, *needs)
        want = reference.conv2d_backward(grad, x, weight, stride, pad, dil, groups, *needs)
        for g, w, need in zip(got, want, needs):
            assert (g is None) == (w is None) == (not need)
            if need:
                assert_same(g, w, dtype)


@pytest.mark.parametrize("dtype", FLOATS)
def test_convolution_kernels_any_layout(dtype, columns_layout):
    geometry = GEOMETRIES[2]
    _, _, _, _, _, kh, kw, stride, pad, dil, groups = geometry
    x, weight, bias, grad = _conv_arrays(geometry, dtype)
    want_y = reference.conv2d(x, weight, bias, stride, pad, dil, groups)
    want_dx = reference.conv2d_input_grad(grad, weight, x.shape[2:], stride, pad, dil, groups)
    want_dw = reference.conv2d_weight_grad(x, grad, (kh, kw), stride, pad, dil, groups)
    for (_, xl), (_, wl), (_, gl) in zip(layouts(x), layouts(weight), layouts(grad)):
        assert_same(conv.conv2d(xl, wl, bias, stride, pad, dil, groups), want_y, dtype)
        assert_same(conv.conv2d_input_grad(gl, wl, x.shape[2:], stride, pad, dil, groups),
                    want_dx, dtype)
        assert_same(conv.conv2d_weight_grad(xl, gl, (kh, kw), stride, pad, dil, groups),
                    want_dw, dtype)
        got = conv.conv2d_backward(gl, xl, wl, stride, pad, dil, groups, True, True, True)
        assert_same(got[:2], (want_dx, want_dw), dtype)
        assert_same(got[2], grad.sum(axis=(0, 2, 3)), dtype)


def test_convolution_of_smaller_gradient_than_natural():
    """A transposed convolution's output_padding: g has fewer rows and columns than the
    convolution of an image of ``input_size`` would give; the rest counts as zero."""
    rng = np.random.default_rng(0)
    for dtype in FLOATS:
        weight = rng.standard_normal((3, 2, 3, 3)).astype(dtype)
        grad = rng.standard_normal((2, 3, 4, 4)).astype(dtype)
        args = ((11, 10), (1, 1), ((0, 0), (0, 0)), (2, 2), 1)
        assert_same(conv.conv2d_input_grad(grad, weight, *args),
                    reference.conv2d_input_grad(grad, weight, *args), dtype)
        x = rng.standard_normal((2, 2, 11, 10)).astype(dtype)
        assert_same(conv.conv2d_weight_grad(x, grad, (3, 3), *args[1:]),
                    reference.conv2d_weight_grad(x, grad, (3, 3), *args[1:]), dtype)


@pytest.mark.parametrize("dtype", FLOATS)
def test_empty_convolutions(dtype):
    for x_shape, w_shape in [((0, 3, 5, 5), (4, 3, 3, 3)), ((2, 0, 5, 5), (4, 0, 3, 3)),
                             ((2, 3, 5, 5), (0, 3, 3, 3))]:
        x = np.ones(x_shape, dtype)
        w = np.ones(w_shape, dtype)
        b = np.ones(w_shape[0], dtype)
        args = ((1, 1), ((1, 1), (1, 1)), (1, 1), 1)
        y = reference.conv2d(x, w, b, *args)
        assert_same(conv.conv2d(x, w, b, *args), y, dtype)
        g = np.ones(y.shape, dtype)
        assert_same(conv.conv2d_input_grad(g, w, (5, 5), *args),
                    reference.conv2d_input_grad(g, w, (5, 5), *args), dtype)
        assert_same(conv.conv2d_weight_grad(x, g, (3, 3), *args),
                    reference.conv2d_weight_grad(x, g, (3, 3), *args), dtype)


def test_integer_inputs_go_to_the_reference():
    x = np.arange(2 * 2 * 4 * 4).reshape(2, 2, 4, 4)
    w = np.ones((3, 2, 2, 2), dtype=np.int64)
    args = (None, (1, 1), ((0, 0), (0, 0)), (1, 1), 1)
    assert_same(conv.conv2d(x, w, *args), reference.conv2d(x, w, *args), np.int64)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("geometry", [((2, 3, 5, 6), (2, 3), (3, 2), (2, 1), (1, 0), (1, 2)),
                                      ((1, 2, 4, 4), (2, 2), (5, 5), (1, 1), (1, 1), (1, 1)),
                                      ((3, 1, 6, 2), (3, 1), (2, 2), (2, 1), (0, 0), (1, 1))],
                         ids=str)
def test_im2col_col2im(geometry, dtype):
    shape, kernel, out, stride, pad, dil = geometry
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(dtype)
    want = reference.im2col(x, kernel, out, stride, pad, dil)
    for _, xl in layouts(x):
        assert_same(conv.im2col(xl, kernel, out, stride, pad, dil), want, dtype)
    cols = rng.standard_normal(want.shape).astype(dtype)
    want = reference.col2im(cols, shape[2:], kernel, out, stride, pad, dil)
    for _, cl in layouts(cols):
        assert_same(conv.col2im(cl, shape[2:], kernel, out, stride, pad, dil), want, dtype)


def _windows(size, kernel, stride, pad, dilation, out):
    positions = np.arange(out)[:, None] * stride - pad + np.arange(kernel)[None, :] * dilation
    return np.where((positions >= 0) & (positions < size), positions, -1)


def _ragged(size, out):
    """Adaptive-pooling tables: windows of different lengths, padded with -1."""
    start = (np.arange(out) * size) // out
    end = ((np.arange(out) + 1) * size + out - 1) // out
    longest = int((end - start).max())
    pos = start[:, None] + np.arange(longest)
    return np.where(np.arange(longest) < (end - start)[:, None], pos, -1)


TABLES = [
    ((2, 3, 6, 6), _windows(6, 2, 2, 0, 1, 3), _windows(6, 2, 2, 0, 1, 3)),
    ((1, 2, 7, 5), _windows(7, 3, 2, 1, 1, 4), _windows(5, 2, 1, 0, 2, 3)),
    ((2, 2, 7, 5), _ragged(7, 3), _ragged(5, 4)),
    ((1, 1, 1, 9), _windows(1, 1, 1, 0, 1, 1), _windows(9, 4, 3, 2, 1, 4)),
]


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("shape, rows, cols", TABLES, ids=range(len(TABLES)))
def test_pooling_kernels(shape, rows, cols, dtype):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(dtype)
    want = reference.max_pool2d(x, rows, cols)
    for _, xl in layouts(x):
        assert_same(conv.max_pool2d(xl, rows, cols), want, dtype)
    indices = want[1]
    g = rng.standard_normal(indices.shape).astype(dtype)
    assert_same(conv.pool_gather(x, indices), reference.pool_gather(x, indices), dtype)
    assert_same(conv.pool_scatter(g, indices, shape[2:]),
                reference.pool_scatter(g, indices, shape[2:]), dtype)
    divisor = rng.integers(1, 5, (rows.shape[0], cols.shape[0])).astype(np.float64)
    for _, xl in layouts(x):
        assert_same(conv.avg_pool2d(xl, rows, cols, divisor),
                    reference.avg_pool2d(x, rows, cols, divisor), dtype)
    for _, gl in layouts(g):
        assert_same(conv.avg_pool2d_backward(gl, rows, cols, divisor, shape[2:]),
                    reference.avg_pool2d_backward(g, rows, cols, divisor, shape[2:]), dtype)


@pytest.mark.parametrize("dtype", FLOATS)
def test_max_pool_nan_inf_and_ties(dtype):
    """PyTorch's rules, in both twins: the first maximum wins a tie; a NaN wins, the last NaN of
    a window if several; a window of -inf points at its first element inside the image."""
    nan, inf = np.nan, np.inf
    windows = [[1, 3, 3, 2], [nan, 5, nan, 1], [-inf, -inf, -inf, -inf], [inf, 2, inf, nan],
               [0.0, -0.0, 0.0, -1], [-inf, 7, 7, -inf]]
    x = np.array(windows, dtype=dtype).reshape(1, len(windows), 2, 2)
    rows = _windows(2, 2, 2, 0, 1, 1)
    for kernel in (conv.max_pool2d, reference.max_pool2d):
        out, idx = kernel(x, rows, rows)
        np.testing.assert_array_equal(idx.ravel(), [1, 2, 0, 3, 0, 1])
        np.testing.assert_array_equal(out.ravel(), [3, nan, -inf, nan, 0, 7])
    padded = _windows(2, 3, 1, 1, 1, 2)   # windows that read padding first
    for kernel in (conv.max_pool2d, reference.max_pool2d):
        _, idx = kernel(np.full((1, 1, 2, 2), -inf, dtype), padded, padded)
        np.testing.assert_array_equal(idx.ravel(), [0, 0, 0, 0])


def test_pool_scatter_adds_repeated_positions():
    g = np.ones((1, 1, 2, 2), np.float32)
    indices = np.array([[[[3, 3], [0, 3]]]])
    for kernel in (conv.pool_scatter, reference.pool_scatter):
        np.testing.assert_array_equal(kernel(g, indices, (2, 2)).ravel(), [1, 0, 0, 3])


@pytest.mark.parametrize("dtype", FLOATS)
def test_random_geometries(dtype, columns_layout):
    """Many small random geometries, both product paths, against the reference."""
    rng = np.random.default_rng(7)
    for _ in range(25):
        groups = int(rng.integers(1, 3))
        n, cg, og = (int(v) for v in rng.integers(1, 4, 3))
        kh, kw, sh, sw, dh, dw = (int(v) for v in rng.integers(1, 4, 6))
        ph, pw = (int(v) for v in rng.integers(0, 3, 2))
        h = dh * (kh - 1) + 1 + int(rng.integers(0, 5))
        w = dw * (kw - 1) + 1 + int(rng.integers(0, 5))
        geometry = (n, cg * groups, h, w, og * groups, kh, kw, (sh, sw), ((ph, ph), (pw, pw)),
                    (dh, dw), groups)
        x, weight, bias, grad = _conv_arrays(geometry, dtype, seed=int(rng.integers(1000)))
        args = ((sh, sw), ((ph, ph), (pw, pw)), (dh, dw), groups)
        for limit in (0, 10**9):
            old = conv._set_limits(loop_max_work=limit)
            try:
                assert_same(conv.conv2d(x, weight, bias, *args),
                            reference.conv2d(x, weight, bias, *args), dtype)
                assert_same(conv.conv2d_input_grad(grad, weight, (h, w), *args),
                            reference.conv2d_input_grad(grad, weight, (h, w), *args), dtype)
                assert_same(conv.conv2d_weight_grad(x, grad, (kh, kw), *args),
                            reference.conv2d_weight_grad(x, grad, (kh, kw), *args), dtype)
            finally:
                conv._set_limits(*old)


def test_kernels_agree_through_the_functional_layer():
    """The whole backward of a small CNN is the same on both backends."""
    import minigrad as mg
    import minigrad.nn.functional as F

    results = []
    for backend in ("cython", "numpy"):
        previous = _kernels.backend_name
        _kernels.use(backend)
        try:
            rng = np.random.default_rng(0)
            x = mg.tensor(rng.standard_normal((10, 2, 8, 8)), requires_grad=True)
            w = mg.tensor(rng.standard_normal((4, 2, 3, 3)), requires_grad=True)
            y = F.avg_pool2d(F.max_pool2d(F.conv2d(x, w, padding=1).relu(), 2), 2, 1, 1)
            F.conv_transpose2d(y, w, stride=2).sum().backward()
            results.append((x.grad.numpy(), w.grad.numpy()))
        finally:
            _kernels.use(previous)
    for u, v in zip(*results):
        np.testing.assert_allclose(u, v, rtol=1e-12, atol=1e-12)
