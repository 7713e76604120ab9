"""The convolution family's functions (``F.conv2d``, ``F.max_pool2d``, ``F.pad``,
``F.interpolate``...) in one table, checked against PyTorch and finite differences.

Each row is ``Row(name, fn, shapes)``: ``fn(F, *tensors)`` is written once against PyTorch's
API and runs unchanged with ``F = torch.nn.functional`` and ``F = minigrad.nn.functional``.
For every row, on both kernel backends:

- outputs and input gradients (for a random upstream gradient) match PyTorch in float64 and
  float32;
- gradients match central finite differences (``gradcheck``, float64);
- second derivatives match finite differences of the first (``gradgradcheck``, float64):
  every backward formula of the family is itself differentiable;

and a graph that uses a row's output several times gives PyTorch's gradients. Rows include
strides, dilation, groups (depthwise), asymmetric padding, unbatched and 1-D forms, and inputs
that reach the kernels non-contiguous (a transposed view).
"""
from dataclasses import dataclass

import numpy as np
import pytest

import minigrad as mg
import minigrad.nn.functional as MF
from minigrad.autograd import gradcheck, gradgradcheck

torch = pytest.importorskip("torch")
TF = torch.nn.functional


@dataclass
class Row:
    name: str
    fn: object        # fn(F, *tensors) -> tensor, F = torch's or minigrad's functional
    shapes: tuple     # input shapes (all inputs require grad)
    second: bool = True  # gradgradcheck (off only where the second derivative is zero or
                         # the row is large)


def T(x):  # a transposed view: the op receives a non-contiguous array
    return x.transpose(-1, -2)


ROWS = [
    # ----- convolution ------------------------------------------------------------------
    Row("conv2d", lambda F, x, w, b: F.conv2d(x, w, b), ((2, 3, 5, 5), (4, 3, 3, 3), (4,))),
    Row("conv2d_stride_pad", lambda F, x, w: F.conv2d(x, w, None, 2, 1),
        ((2, 2, 5, 6), (3, 2, 3, 2))),
    Row("conv2d_rect", lambda F, x, w: F.conv2d(x, w, stride=(2, 1), padding=(0, 2),
                                                dilation=(1, 2)), ((1, 2, 6, 5), (2, 2, 2, 3))),
    Row("conv2d_groups", lambda F, x, w, b: F.conv2d(x, w, b, padding=1, groups=2),
        ((2, 4, 4, 4), (6, 2, 2, 2), (6,))),
    Row("conv2d_depthwise", lambda F, x, w: F.conv2d(x, w, padding=1, groups=3),
        ((2, 3, 4, 4), (3, 1, 3, 3))),
    Row("conv2d_same_even", lambda F, x, w: F.conv2d(x, w, padding="same"),
        ((1, 2, 4, 5), (2, 2, 2, 3))),
    Row("conv2d_same_dilated", lambda F, x, w: F.conv2d(x, w, padding="same", dilation=2),
        ((1, 2, 5, 5), (2, 2, 3, 3))),
    Row("conv2d_valid", lambda F, x, w: F.conv2d(x, w, padding="valid"),
        ((1, 2, 4, 4), (2, 2, 3, 3))),
    Row("conv2d_unbatched", lambda F, x, w: F.conv2d(x, w, padding=1), ((2, 4, 4), (3, 2, 3, 3))),
    Row("conv2d_noncontig", lambda F, x, w: F.conv2d(T(x), T(w), stride=2),
        ((2, 2, 5, 4), (3, 2, 3, 2))),
    Row("conv2d_1x1", lambda F, x, w, b: F.conv2d(x, w, b), ((2, 3, 3, 3), (2, 3, 1, 1), (2,))),
    Row("conv2d_batch_last", lambda F, x, w, b: F.conv2d(x, w, b, padding=1),
        ((9, 1, 3, 3), (2, 1, 2, 2), (2,)), second=False),
    Row("conv1d", lambda F, x, w, b: F.conv1d(x, w, b, stride=2, padding=1),
        ((2, 3, 7), (4, 3, 3), (4,))),
    Row("conv1d_dilated_groups", lambda F, x, w: F.conv1d(x, w, dilation=2, groups=2),
        ((2, 4, 7), (2, 2, 2))),
    Row("conv1d_same", lambda F, x, w: F.conv1d(x, w, padding="same"), ((1, 2, 5), (3, 2, 4))),
    Row("conv1d_unbatched", lambda F, x, w: F.conv1d(x, w), ((2, 6), (3, 2, 3))),
    Row("conv_transpose2d", lambda F, x, w, b: F.conv_transpose2d(x, w, b),
        ((2, 3, 3, 3), (3, 2, 2, 2), (2,))),
    Row("conv_transpose2d_stride", lambda F, x, w: F.conv_transpose2d(
        x, w, stride=2, padding=1, output_padding=1), ((1, 2, 3, 3), (2, 3, 3, 3))),
    Row("conv_transpose2d_rect_groups", lambda F, x, w, b: F.conv_transpose2d(
        x, w, b, stride=(2, 1), padding=(1, 0), output_padding=(1, 0), groups=2,
        dilation=(1, 2)), ((1, 4, 3, 2), (4, 1, 3, 2), (2,))),
    Row("conv_transpose2d_outpad_dilation", lambda F, x, w: F.conv_transpose2d(
        x, w, output_padding=1, dilation=2), ((1, 2, 3, 3), (2, 1, 2, 2))),
    Row("conv_transpose2d_unbatched", lambda F, x, w: F.conv_transpose2d(x, w, stride=2),
        ((2, 2, 3), (2, 2, 2, 2))),
    Row("conv_transpose1d", lambda F, x, w, b: F.conv_transpose1d(
        x, w, b, stride=3, padding=1, output_padding=2), ((2, 2, 4), (2, 3, 3), (3,))),
    Row("conv_transpose1d_groups", lambda F, x, w: F.conv_transpose1d(x, w, groups=2),
        ((1, 4, 3), (4, 2, 2))),
    # ----- pooling ----------------------------------------------------------------------
    Row("max_pool2d", lambda F, x: F.max_pool2d(x, 2), ((2, 3, 4, 6),)),
    Row("max_pool2d_overlap_pad_ceil", lambda F, x: F.max_pool2d(
        x, 3, stride=2, padding=1, ceil_mode=True), ((1, 2, 6, 5),)),
    Row("max_pool2d_dilation", lambda F, x: F.max_pool2d(x, (2, 3), (1, 2), (1, 1), (2, 1)),
        ((1, 2, 5, 6),)),
    Row("max_pool2d_unbatched_noncontig", lambda F, x: F.max_pool2d(T(x), 2, 1),
        ((2, 4, 3),)),
    Row("max_pool2d_indices", lambda F, x: F.max_pool2d(x, 2, return_indices=True)[0],
        ((1, 2, 4, 4),)),
    Row("max_pool1d", lambda F, x: F.max_pool1d(x, 3, 2, 1, ceil_mode=True), ((2, 3, 8),)),
    Row("max_pool1d_dilation_unbatched", lambda F, x: F.max_pool1d(x, 2, 1, 0, 2),
        ((3, 7),)),
    Row("avg_pool2d", lambda F, x: F.avg_pool2d(x, 2), ((2, 3, 4, 6),)),
    Row("avg_pool2d_pad_ceil", lambda F, x: F.avg_pool2d(
        x, 3, stride=2, padding=1, ceil_mode=True), ((1, 2, 6, 5),)),
    Row("avg_pool2d_exclude_pad", lambda F, x: F.avg_pool2d(
        x, 3, stride=2, padding=1, ceil_mode=True, count_include_pad=False), ((1, 2, 6, 5),)),
    Row("avg_pool2d_divisor", lambda F, x: F.avg_pool2d(x, (2, 3), 1, (1, 1),
                                                        divisor_override=4), ((1, 2, 4, 5),)),
    Row("avg_pool2d_unbatched_noncontig", lambda F, x: F.avg_pool2d(T(x), 2),
        ((2, 4, 4),)),
    Row("avg_pool1d", lambda F, x: F.avg_pool1d(x, 3, 2, 1, ceil_mode=True,
                                                count_include_pad=False), ((2, 3, 8),)),
    Row("adaptive_avg_pool2d", lambda F, x: F.adaptive_avg_pool2d(x, (3, 2)), ((2, 2, 5, 7),)),
    Row("adaptive_avg_pool2d_none", lambda F, x: F.adaptive_avg_pool2d(x, (None, 3)),
        ((1, 2, 4, 5),)),
    Row("adaptive_avg_pool2d_upsample", lambda F, x: F.adaptive_avg_pool2d(x, 5),
        ((1, 2, 3, 4),)),
    Row("adaptive_avg_pool1d", lambda F, x: F.adaptive_avg_pool1d(x, 4), ((2, 3, 7),)),
    Row("adaptive_max_pool2d", lambda F, x: F.adaptive_max_pool2d(x, (3, 2)), ((2, 2, 5, 7),)),
    Row("adaptive_max_pool2d_indices", lambda F, x: F.adaptive_max_pool2d(
        x, 2, return_indices=True)[0], ((1, 2, 4, 5),)),
    Row("adaptive_max_pool1d", lambda F, x: F.adaptive_max_pool1d(x, 3), ((2, 3, 7),)),
    Row("max_unpool2d", lambda F, x: F.max_unpool2d(*F.max_pool2d(x, 2, return_indices=True),
                                                    2), ((1, 2, 4, 6),)),
    Row("max_unpool2d_output_size", lambda F, x: F.max_unpool2d(
        *F.max_pool2d(x, 2, return_indices=True), 2, output_size=(5, 7)), ((1, 2, 5, 7),)),
    Row("max_unpool1d", lambda F, x: F.max_unpool1d(*F.max_pool1d(x, 2, return_indices=True),
                                                    2), ((2, 2, 6),)),
    # ----- unfold / fold ----------------------------------------------------------------
    Row("unfold", lambda F, x: F.unfold(x, (2, 3), dilation=(1, 2), padding=1, stride=(2, 1)),
        ((2, 2, 4, 5),)),
    Row("unfold_unbatched", lambda F, x: F.unfold(x, 2), ((2, 3, 3),)),
    Row("fold", lambda F, x: F.fold(x, (4, 5), (2, 3), dilation=(1, 2), padding=1,
                                    stride=(2, 1)), ((2, 12, 9),)),
    Row("fold_unbatched", lambda F, x: F.fold(x, 3, 2), ((8, 4),)),
    Row("fold_unfold", lambda F, x: F.fold(F.unfold(x, 2), (3, 4), 2), ((1, 2, 3, 4),)),
    # ----- padding ----------------------------------------------------------------------
    Row("pad_constant", lambda F, x: F.pad(x, (1, 2, 0, 1), value=1.5), ((2, 3, 3, 4),)),
    Row("pad_constant_negative", lambda F, x: F.pad(x, (-1, 2, 1, -2)), ((2, 2, 4, 4),)),
    Row("pad_constant_all_dims", lambda F, x: F.pad(x, (1, 0, 0, 1, 2, 1, 1, 1)),
        ((2, 2, 2, 3),)),
    Row("pad_reflect_1d", lambda F, x: F.pad(x, (2, 3), mode="reflect"), ((2, 2, 5),)),
    Row("pad_reflect_2d", lambda F, x: F.pad(x, (1, 2, 2, 1), mode="reflect"), ((1, 2, 3, 4),)),
    Row("pad_reflect_negative", lambda F, x: F.pad(x, (-1, 3), mode="reflect"), ((2, 5),)),
    Row("pad_reflect_3d", lambda F, x: F.pad(x, (1, 1, 1, 0, 0, 1), mode="reflect"),
        ((1, 2, 2, 3, 3),)),
    Row("pad_replicate", lambda F, x: F.pad(x, (2, 1, 3, 0), mode="replicate"),
        ((1, 2, 3, 3),)),
    Row("pad_replicate_1d_unbatched", lambda F, x: F.pad(x, (3, -1), mode="replicate"),
        ((2, 4),)),
    Row("pad_circular", lambda F, x: F.pad(x, (2, 1, 1, 2), mode="circular"), ((1, 2, 3, 4),)),
    Row("pad_circular_negative", lambda F, x: F.pad(x, (2, -1), mode="circular"), ((2, 2, 5),)),
    Row("pad_circular_3d", lambda F, x: F.pad(x, (1, 1, 0, 1, 1, 0), mode="circular"),
        ((1, 1, 2, 3, 3),)),
    # ----- interpolation ----------------------------------------------------------------
    Row("interpolate_nearest", lambda F, x: F.interpolate(x, size=(5, 7)), ((1, 2, 3, 4),)),
    Row("interpolate_nearest_scale", lambda F, x: F.interpolate(x, scale_factor=(1.5, 2.3)),
        ((1, 2, 3, 4),)),
    Row("interpolate_nearest_down", lambda F, x: F.interpolate(x, size=(2, 3)),
        ((1, 2, 5, 7),)),
    Row("interpolate_nearest_exact", lambda F, x: F.interpolate(
        x, scale_factor=2.3, mode="nearest-exact"), ((1, 2, 3, 4),)),
    Row("interpolate_nearest_1d", lambda F, x: F.interpolate(x, scale_factor=2), ((2, 2, 4),)),
    Row("interpolate_bilinear", lambda F, x: F.interpolate(x, size=(5, 7), mode="bilinear"),
        ((1, 2, 3, 4),)),
    Row("interpolate_bilinear_align", lambda F, x: F.interpolate(
        x, scale_factor=1.7, mode="bilinear", align_corners=True), ((1, 2, 3, 4),)),
    Row("interpolate_bilinear_down", lambda F, x: F.interpolate(
        x, size=(2, 3), mode="bilinear"), ((1, 2, 5, 7),)),
    Row("interpolate_bilinear_recompute", lambda F, x: F.interpolate(
        x, scale_factor=1.7, mode="bilinear", recompute_scale_factor=True), ((1, 2, 3, 4),)),
    Row("interpolate_linear", lambda F, x: F.interpolate(x, scale_factor=2.5, mode="linear"),
        ((2, 2, 4),)),
    Row("interpolate_linear_align", lambda F, x: F.interpolate(
        x, size=7, mode="linear", align_corners=True), ((2, 2, 4),)),
    Row("interpolate_trilinear", lambda F, x: F.interpolate(
        x, size=(3, 3, 4), mode="trilinear"), ((1, 1, 2, 2, 3),)),
    Row("interpolate_area", lambda F, x: F.interpolate(x, size=(2, 3), mode="area"),
        ((1, 2, 5, 7),)),
    # ----- pixel shuffle ----------------------------------------------------------------
    Row("pixel_shuffle", lambda F, x: F.pixel_shuffle(x, 2), ((2, 8, 2, 3),)),
    Row("pixel_shuffle_extra_dims", lambda F, x: F.pixel_shuffle(x, 2), ((2, 1, 4, 2, 2),)),
    Row("pixel_unshuffle", lambda F, x: F.pixel_unshuffle(x, 2), ((2, 2, 4, 6),)),
]

ROW_IDS = [row.name for row in ROWS]


def _inputs(row, seed=0):
    """Random inputs, away from ties (pooling) and kinks."""
    rng = np.random.default_rng(seed)
    return [rng.uniform(0.1, 1.0, s) * rng.choice([-1.0, 1.0], s) + 0.001 * rng.standard_normal(s)
            for s in row.shapes]


def _run(lib, F, row, arrays, dtype_name, upstream_seed=1):
    dtype = getattr(lib, dtype_name)
    xs = [lib.tensor(a, dtype=dtype, requires_grad=True) for a in arrays]
    out = row.fn(F, *xs)
    upstream = np.random.default_rng(upstream_seed).standard_normal(tuple(out.shape))
    out.backward(lib.tensor(upstream, dtype=dtype))
    values = out.detach().numpy() if lib is torch else out.numpy()
    grads = [x.grad.numpy() if x.grad is not None else None for x in xs]
    return np.array(values), str(out.dtype).split(".")[-1], grads


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("row", ROWS, ids=ROW_IDS)
def test_matches_torch(backend, row, dtype):
    arrays = _inputs(row)
    got, got_dtype, got_grads = _run(mg, MF, row, arrays, dtype)
    want, want_dtype, want_grads = _run(torch, TF, row, arrays, dtype)
    tol = {"rtol": 1e-10, "atol": 1e-12} if dtype == "float64" else {"rtol": 1e-5, "atol": 1e-5}
    assert got_dtype == want_dtype == dtype
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, **tol)
    for g, w in zip(got_grads, want_grads):
        assert (g is None) == (w is None)
        if w is not None:
            assert g.dtype == w.dtype and g.shape == w.shape
            np.testing.assert_allclose(g, w, **tol)


def _mg_leaves(row, seed=0):
    return [mg.tensor(a, dtype=mg.float64, requires_grad=True) for a in _inputs(row, seed)]


@pytest.mark.parametrize("row", ROWS, ids=ROW_IDS)
def test_gradcheck(backend, row):
    assert gradcheck(lambda *t: row.fn(MF, *t), _mg_leaves(row))


@pytest.mark.parametrize("row", [r for r in ROWS if r.second], ids=[r.name for r in ROWS
                                                                     if r.second])
def test_gradgradcheck(backend, row):
    assert gradgradcheck(lambda *t: row.fn(MF, *t), _mg_leaves(row))


def _reuse(F, row, xs):
    out = row.fn(F, *xs)
    return (out * out).sum() + out.sum() * 0.5 + row.fn(F, *xs).sum()


@pytest.mark.parametrize("row", ROWS, ids=ROW_IDS)
def test_value_used_several_times(row):
    arrays = _inputs(row)
    xs = [mg.tensor(a, requires_grad=True) for a in arrays]
    _reuse(MF, row, xs).backward()
    txs = [torch.tensor(a, requires_grad=True) for a in arrays]
    _reuse(TF, row, txs).backward()
    for x, tx in zip(xs, txs):
        np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-10, atol=1e-12)


def _conv_then(op):
    """A convolution followed by ``op``: the linear ops' gradients do not depend on their input
    (nor max pooling's: its positions are constants), so their second-order terms are seen
    through the (bilinear) convolution before them."""
    return lambda F, x, w: op(F, F.conv2d(x, w, padding=1))


SECOND_ORDER_ROWS = [r for r in ROWS if r.name in (
    "conv2d", "conv2d_groups", "conv_transpose2d_stride", "conv1d")] + [
    Row(name, _conv_then(op), ((1, 2, 4, 4), (2, 2, 2, 2))) for name, op in [
        ("conv_max_pool", lambda F, y: F.max_pool2d(y, 2, 1)),
        ("conv_avg_pool", lambda F, y: F.avg_pool2d(y, 3, 2, 1, ceil_mode=True)),
        ("conv_unfold", lambda F, y: F.unfold(y, 2, stride=2)),
        ("conv_reflect_pad", lambda F, y: F.pad(y, (1, 2, 2, 1), mode="reflect")),
        ("conv_bilinear", lambda F, y: F.interpolate(y, scale_factor=1.5, mode="bilinear")),
        ("conv_adaptive_max", lambda F, y: F.adaptive_max_pool2d(y, 3))]]


@pytest.mark.parametrize("row", SECOND_ORDER_ROWS, ids=lambda r: r.name)
def test_second_derivatives_match_torch(row):
    """d/dx of (sum of the gradient squared), through create_graph, equals torch's."""
    arrays = _inputs(row)

    def penalty(lib, F):
        xs = [lib.tensor(a, dtype=lib.float64, requires_grad=True) for a in arrays]
        out = row.fn(F, *xs)
        upstream = lib.tensor(np.random.default_rng(2).standard_normal(tuple(out.shape)))
        grads = lib.autograd.grad(out, xs, upstream, create_graph=True)
        total = sum((g * g).sum() for g in grads)
        total.backward()
        return [None if x.grad is None else x.grad.detach().numpy() for x in xs]

    for got, want in zip(penalty(mg, MF), penalty(torch, TF)):
        assert (got is None) == (want is None)  # a bias's gradient does not depend on it
        if want is not None:
            np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)


# ---------------------------------------------------------------------------------------------
# Larger shapes: the batch-last and BLAS paths of the compiled kernels, against torch
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("batch, channels, size, out, k, stride, pad, groups", [
    (1, 1, 8, 6, 5, 1, 2, 1), (32, 6, 4, 16, 3, 1, 1, 1), (64, 8, 12, 8, 3, 2, 1, 2),
    (16, 4, 9, 4, 3, 1, 0, 4), (3, 16, 20, 32, 3, 1, 1, 1)])
def test_lenet_sized_convolutions_match_torch(backend, dtype, batch, channels, size, out, k,
                                             stride, pad, groups):
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal((batch, channels, size, size)),
              rng.standard_normal((out, channels // groups, k, k)), rng.standard_normal(out)]
    row = Row("conv", lambda F, x, w, b: F.max_pool2d(
        F.relu(F.conv2d(x, w, b, stride, pad, 1, groups)), 2), ())
    got, _, got_grads = _run(mg, MF, row, arrays, dtype)
    want, _, want_grads = _run(torch, TF, row, arrays, dtype)
    tol = {"rtol": 1e-9, "atol": 1e-9} if dtype == "float64" else {"rtol": 1e-4, "atol": 1e-4}
    np.testing.assert_allclose(got, want, **tol)
    for g, w in zip(got_grads, want_grads):
        np.testing.assert_allclose(g, w, **tol)


def test_empty_batch():
    for lib, F in ((mg, MF), (torch, TF)):
        x = lib.zeros(0, 3, 5, 5, requires_grad=True)
        w = lib.ones(2, 3, 3, 3, requires_grad=True)
        y = F.max_pool2d(F.conv2d(x, w, padding=1), 2)
        assert tuple(y.shape) == (0, 2, 2, 2)
        y.sum().backward()
        assert tuple(x.grad.shape) == (0, 3, 5, 5)
        np.testing.assert_array_equal(w.grad.numpy(), np.zeros((2, 3, 3, 3)))


@pytest.mark.parametrize("dtype", ["int64", "int32"])
def test_integer_convolution_and_max_pool_match_torch(dtype):
    """PyTorch convolves and max-pools integer tensors on the CPU (no gradient)."""
    rng = np.random.default_rng(0)
    x, w = rng.integers(-5, 5, (2, 3, 6, 6)), rng.integers(-3, 3, (4, 3, 3, 3))
    fns = [lambda F, L, x, w: F.conv2d(x, w, padding=1),
           lambda F, L, x, w: F.max_pool2d(x, 3, 2, 1)]
    if dtype == "int64":
        fns += [lambda F, L, x, w: F.avg_pool2d(x, 2),
                lambda F, L, x, w: F.conv_transpose2d(x, w.transpose(0, 1), stride=2)]
    for fn in fns:
        got = fn(MF, mg, mg.tensor(x, dtype=getattr(mg, dtype)),
                 mg.tensor(w, dtype=getattr(mg, dtype)))
        want = fn(TF, torch, torch.tensor(x, dtype=getattr(torch, dtype)),
                  torch.tensor(w, dtype=getattr(torch, dtype)))
        assert str(got.dtype).split(".")[-1] == dtype
        np.testing.assert_array_equal(got.numpy(), want.numpy())


def test_avg_pool_of_negative_integers_truncates_like_torch():
    x = np.array([[[[-7, 2], [3, -5]]]])
    got = MF.avg_pool2d(mg.tensor(x), 2).numpy()
    want = TF.avg_pool2d(torch.tensor(x), 2).numpy()
    np.testing.assert_array_equal(got, want)
