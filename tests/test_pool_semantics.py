"""Pooling's conventions against PyTorch's, over sweeps of geometries: output sizes with
ceil_mode and padding, the divisor of average pooling (count_include_pad, divisor_override),
adaptive windows, and max pooling's choice of the maximum (ties, NaN, infinities), which
decides where the gradient goes."""
import itertools

import numpy as np
import pytest

import minigrad as mg
import minigrad.nn.functional as MF

torch = pytest.importorskip("torch")
TF = torch.nn.functional


def _both(fn, x, grad=True):
    """fn on minigrad and on torch; returns (mg out, torch out, mg grad, torch grad)."""
    mx = mg.tensor(x, requires_grad=grad)
    tx = torch.tensor(x, requires_grad=grad)
    my, ty = fn(MF, mx), fn(TF, tx)
    if isinstance(ty, tuple):
        return my, ty, None, None
    if not grad:
        return my, ty, None, None
    upstream = np.random.default_rng(3).standard_normal(tuple(ty.shape))
    my.backward(mg.tensor(upstream, dtype=my.dtype))
    ty.backward(torch.tensor(upstream, dtype=ty.dtype))
    return my, ty, mx.grad.numpy(), tx.grad.numpy()


GEOMETRIES = [(size, k, s, p, d, ceil)
              for size, k, s, p, d, ceil in itertools.product(
                  (5, 7), (1, 2, 3), (1, 2, 3), (0, 1), (1, 2), (False, True))
              if p <= ((k - 1) * d + 1) // 2 and (size + 2 * p - d * (k - 1) - 1) >= 0]


@pytest.mark.parametrize("size, k, s, p, d, ceil", GEOMETRIES, ids=str)
def test_max_pool_geometry_sweep(size, k, s, p, d, ceil):
    x = np.random.default_rng(size * 7 + k).standard_normal((2, 2, size, size + 1))
    fn = lambda F, t: F.max_pool2d(t, k, s, p, d, ceil_mode=ceil)
    my, ty, mg_grad, t_grad = _both(fn, x)
    np.testing.assert_array_equal(my.numpy(), ty.detach().numpy())
    np.testing.assert_array_equal(mg_grad, t_grad)
    _, mi = MF.max_pool2d(mg.tensor(x), k, s, p, d, ceil_mode=ceil, return_indices=True)
    _, ti = TF.max_pool2d(torch.tensor(x), k, s, p, d, ceil_mode=ceil, return_indices=True)
    np.testing.assert_array_equal(mi.numpy(), ti.numpy())


@pytest.mark.parametrize("size, k, s, p, ceil, include, divisor", [
    (size, k, s, p, ceil, include, divisor)
    for size, k, s, p, ceil, include, divisor in itertools.product(
        (5, 7), (1, 2, 3), (1, 2, 3), (0, 1), (False, True), (False, True), (None, 2))
    if p <= k // 2], ids=str)
def test_avg_pool_geometry_sweep(size, k, s, p, ceil, include, divisor):
    x = np.random.default_rng(size + k).standard_normal((2, 2, size, size + 1))
    fn = lambda F, t: F.avg_pool2d(t, k, s, p, ceil, include, divisor)
    my, ty, mg_grad, t_grad = _both(fn, x)
    np.testing.assert_allclose(my.numpy(), ty.detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(mg_grad, t_grad, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("size, out", [(s, o) for s in (1, 3, 5, 8) for o in (1, 2, 3, 5, 9)])
def test_adaptive_pool_sweep(size, out):
    x = np.random.default_rng(size * 10 + out).standard_normal((2, 2, size, size + 2))
    for fn in (lambda F, t: F.adaptive_avg_pool2d(t, (out, out + 1)),
               lambda F, t: F.adaptive_max_pool2d(t, (out, out + 1)),
               lambda F, t: F.adaptive_avg_pool1d(t[:, :, 0], out),
               lambda F, t: F.adaptive_max_pool1d(t[:, :, 0], out)):
        my, ty, mg_grad, t_grad = _both(fn, x)
        np.testing.assert_allclose(my.numpy(), ty.detach().numpy(), rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(mg_grad, t_grad, rtol=1e-12, atol=1e-14)


SPECIAL = np.array([[1, 3, 3, 2], [np.nan, 5, np.nan, 1], [-np.inf] * 4,
                    [np.inf, 2, np.inf, np.nan], [0.0, -0.0, 0.0, -1], [-np.inf, 7, 7, -np.inf],
                    [2, 2, 2, 2], [np.inf, np.inf, 1, 1]])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("pool", ["max_pool2d", "max_pool2d_padded", "adaptive_max_pool2d",
                                  "max_pool1d"])
def test_max_pool_ties_nan_inf_match_torch(backend, pool, dtype):
    """Values, positions and the gradient's destination for ties, NaN and infinities."""
    x = SPECIAL.astype(dtype).reshape(1, len(SPECIAL), 2, 2)
    fns = {
        "max_pool2d": lambda F, t, **kw: F.max_pool2d(t, 2, **kw),
        "max_pool2d_padded": lambda F, t, **kw: F.max_pool2d(t, 3, 1, 1, **kw),
        "adaptive_max_pool2d": lambda F, t, **kw: F.adaptive_max_pool2d(t, 1, **kw),
        "max_pool1d": lambda F, t, **kw: F.max_pool1d(t.reshape(1, -1, 4), 4, **kw),
    }
    fn = fns[pool]
    my, mi = fn(MF, mg.tensor(x), return_indices=True)
    ty, ti = fn(TF, torch.tensor(x), return_indices=True)
    np.testing.assert_array_equal(my.numpy(), ty.numpy())
    np.testing.assert_array_equal(mi.numpy(), ti.numpy())
    _, _, mg_grad, t_grad = _both(lambda F, t: fn(F, t), x)
    np.testing.assert_array_equal(mg_grad, t_grad)


def test_max_unpool_overlapping_windows_assigns_like_torch():
    """With overlapping windows one input element can be the maximum of several; unpooling
    writes it once (an assignment), and the gradient reads it back for each."""
    x = np.array([[[[1.0, 9.0, 2.0], [3.0, 4.0, 0.5], [8.0, 1.5, 6.0]]]])
    _my, mi = MF.max_pool2d(mg.tensor(x), 2, 1, return_indices=True)
    _ty, ti = TF.max_pool2d(torch.tensor(x), 2, 1, return_indices=True)
    np.testing.assert_array_equal(mi.numpy(), ti.numpy())
    v = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
    mv, tv = mg.tensor(v, requires_grad=True), torch.tensor(v, requires_grad=True)
    mu = MF.max_unpool2d(mv, mi, 2, 1, output_size=(3, 3))
    tu = TF.max_unpool2d(tv, ti, 2, 1, output_size=(3, 3))
    overlap = np.unique(ti.numpy()).size < ti.numel()
    assert overlap  # the test needs a repeated position
    # where positions repeat, torch keeps one of the values written there (which one is an
    # implementation detail); every other position must agree
    repeated = [p for p in np.unique(ti.numpy()) if (ti.numpy() == p).sum() > 1]
    mask = np.ones(9, bool)
    mask[repeated] = False
    np.testing.assert_array_equal(mu.numpy().ravel()[mask], tu.detach().numpy().ravel()[mask])
    g = np.arange(9.0).reshape(1, 1, 3, 3)
    mu.backward(mg.tensor(g))
    tu.backward(torch.tensor(g))
    np.testing.assert_array_equal(mv.grad.numpy(), tv.grad.numpy())


def test_unbatched_pooling_returns_unbatched_indices():
    x = np.random.default_rng(0).standard_normal((3, 5, 6))
    my, mi = MF.max_pool2d(mg.tensor(x), 2, return_indices=True)
    ty, ti = TF.max_pool2d(torch.tensor(x), 2, return_indices=True)
    assert tuple(mi.shape) == tuple(ti.shape) == (3, 2, 3)
    np.testing.assert_array_equal(mi.numpy(), ti.numpy())
    np.testing.assert_array_equal(my.numpy(), ty.numpy())


def test_indices_tensor_is_a_constant_int64_leaf():
    x = mg.tensor(np.random.default_rng(0).standard_normal((1, 1, 4, 4)), requires_grad=True)
    y, i = MF.max_pool2d(x, 2, return_indices=True)
    assert i.dtype == mg.int64 and not i.requires_grad and i.grad_fn is None
    assert y.requires_grad and y.grad_fn is not None
