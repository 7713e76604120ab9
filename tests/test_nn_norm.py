"""The normalisation family (BatchNorm1d/2d/3d, LayerNorm, GroupNorm, InstanceNorm, RMSNorm,
LocalResponseNorm and their functions), the same code run on PyTorch and minigrad: outputs,
gradients, running statistics, state_dict names, repr, errors; gradcheck and gradgradcheck."""
import numpy as np
import pytest

import minigrad as mg
import minigrad.nn.functional as F
from minigrad import nn
from minigrad.autograd import gradcheck, gradgradcheck

torch = pytest.importorskip("torch")


def randomize(torch_module, seed=0):
    """Give the torch module's parameters and float buffers non-default values."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in torch_module.state_dict().items():
            if t.dtype.is_floating_point:
                values = torch.rand(t.shape, generator=g, dtype=t.dtype) + 0.5
                t.copy_(values if "var" in name or "weight" in name else values - 1.0)


def load_from_torch(mg_module, torch_module):
    state = {k: v.detach().numpy().copy() for k, v in torch_module.state_dict().items()}
    result = mg_module.load_state_dict(state)
    assert not result.missing_keys and not result.unexpected_keys


# (id, constructor arguments, input shape): the same class name exists in both libraries.
MODULES = [
    ("bn1d", "BatchNorm1d", (3,), {}, (4, 3, 5)),
    ("bn1d_2d", "BatchNorm1d", (3,), {"momentum": None}, (6, 3)),
    ("bn2d", "BatchNorm2d", (3,), {}, (2, 3, 4, 5)),
    ("bn2d_noaffine", "BatchNorm2d", (3,), {"affine": False, "momentum": 0.3}, (2, 3, 4, 5)),
    ("bn2d_nobias", "BatchNorm2d", (3,), {"bias": False}, (2, 3, 4, 5)),
    ("bn2d_notrack", "BatchNorm2d", (3,), {"track_running_stats": False}, (2, 3, 2, 2)),
    ("bn3d", "BatchNorm3d", (2,), {}, (2, 2, 3, 2, 3)),
    ("ln", "LayerNorm", (5,), {}, (2, 3, 5)),
    ("ln_2d", "LayerNorm", ([3, 5],), {"eps": 1e-3}, (2, 3, 5)),
    ("ln_nobias", "LayerNorm", (5,), {"bias": False}, (4, 5)),
    ("ln_noaffine", "LayerNorm", (5,), {"elementwise_affine": False}, (4, 5)),
    ("ln_1d_input", "LayerNorm", (5,), {}, (5,)),
    ("gn", "GroupNorm", (2, 4), {}, (3, 4, 5)),
    ("gn_4d", "GroupNorm", (1, 4), {"eps": 1e-3}, (2, 4, 2, 3)),
    ("gn_noaffine", "GroupNorm", (4, 4), {"affine": False}, (2, 4, 3)),
    ("gn_nobias", "GroupNorm", (2, 4), {"bias": False}, (2, 4, 3)),
    ("in1d", "InstanceNorm1d", (3,), {}, (2, 3, 5)),
    ("in1d_affine", "InstanceNorm1d", (3,), {"affine": True}, (2, 3, 5)),
    ("in1d_track", "InstanceNorm1d", (3,), {"track_running_stats": True, "affine": True},
     (2, 3, 5)),
    ("in1d_unbatched", "InstanceNorm1d", (3,), {"affine": True}, (3, 5)),
    ("in2d", "InstanceNorm2d", (3,), {"affine": True, "track_running_stats": True},
     (2, 3, 4, 3)),
    ("in3d", "InstanceNorm3d", (2,), {"affine": True}, (2, 2, 2, 3, 2)),
    ("rms", "RMSNorm", (5,), {}, (2, 3, 5)),
    ("rms_eps", "RMSNorm", ([3, 5],), {"eps": 1e-3}, (2, 3, 5)),
    ("rms_noaffine", "RMSNorm", (5,), {"elementwise_affine": False}, (4, 5)),
    ("lrn", "LocalResponseNorm", (3,), {"alpha": 0.1, "k": 2.0}, (2, 5, 4)),
    ("lrn_4d", "LocalResponseNorm", (2,), {"alpha": 0.5, "beta": 0.6}, (2, 4, 3, 2)),
]


@pytest.mark.parametrize("case", MODULES, ids=[c[0] for c in MODULES])
def test_module_matches_torch(case):
    """Train-mode forward and backward twice (running statistics move), then eval forward:
    outputs, input and parameter gradients, buffers, state_dict keys and repr as torch."""
    _, name, args, kwargs, shape = case
    tm = getattr(torch.nn, name)(*args, **kwargs).double()
    mm = getattr(nn, name)(*args, **kwargs).double()
    assert repr(mm) == repr(tm)
    assert [(k, tuple(v.shape)) for k, v in mm.state_dict().items()] == \
        [(k, tuple(v.shape)) for k, v in tm.state_dict().items()]
    randomize(tm)
    load_from_torch(mm, tm)
    rng = np.random.default_rng(1)
    for step in range(2):
        x = rng.standard_normal(shape) * 2 + 0.5
        g = rng.standard_normal(shape)
        tx = torch.tensor(x, requires_grad=True)
        mx = mg.tensor(x, requires_grad=True)
        ty, my = tm(tx), mm(mx)
        np.testing.assert_allclose(my.numpy(), ty.detach().numpy(), rtol=1e-10, atol=1e-12)
        ty.backward(torch.tensor(g))
        my.backward(mg.tensor(g))
        np.testing.assert_allclose(mx.grad.numpy(), tx.grad.numpy(), rtol=1e-9, atol=1e-11)
        for (key, mp), (tkey, tp) in zip(mm.named_parameters(), tm.named_parameters()):
            assert key == tkey
            np.testing.assert_allclose(mp.grad.numpy(), tp.grad.numpy(), rtol=1e-9,
                                       atol=1e-11)
        for key, value in tm.state_dict().items():
            np.testing.assert_allclose(mm.state_dict()[key].numpy(), value.numpy(),
                                       rtol=1e-12, atol=1e-14, err_msg=key)
    tm.eval()
    mm.eval()
    x = rng.standard_normal(shape)
    np.testing.assert_allclose(mm(mg.tensor(x)).numpy(), tm(torch.tensor(x)).detach().numpy(),
                               rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", ["LayerNorm", "GroupNorm", "RMSNorm", "BatchNorm2d",
                                  "InstanceNorm2d"])
def test_default_init_and_float32(name):
    """Parameters are float32 ones/zeros by default, as torch's."""
    args = (2, 4) if name == "GroupNorm" else (4,)
    tm, mm = getattr(torch.nn, name)(*args, affine=True) if name.startswith("Instance") \
        else getattr(torch.nn, name)(*args), None
    mm = getattr(nn, name)(*args, affine=True) if name.startswith("Instance") \
        else getattr(nn, name)(*args)
    for (key, mp), (tkey, tp) in zip(mm.named_parameters(), tm.named_parameters()):
        assert key == tkey
        assert mp.dtype == mg.float32
        np.testing.assert_array_equal(mp.numpy(), tp.detach().numpy())


def test_torch_state_dict_loads_and_gives_the_same_output():
    """A trained torch model's state dict (LayerNorm + GroupNorm + BatchNorm2d) loads into the
    minigrad twin, which then computes the same evaluation output in float32."""
    def build(lib):
        return lib.nn.Sequential(lib.nn.BatchNorm2d(4), lib.nn.GroupNorm(2, 4),
                                 lib.nn.Flatten(), lib.nn.LayerNorm(24), lib.nn.RMSNorm(24))
    tm, mm = build(torch), build(mg)
    randomize(tm, seed=3)
    tm.train()
    tm(torch.randn(5, 4, 2, 3))  # move the running statistics
    tm.eval()
    mm.load_state_dict(tm.state_dict())
    mm.eval()
    x = np.random.default_rng(0).standard_normal((3, 4, 2, 3)).astype(np.float32)
    np.testing.assert_allclose(mm(mg.tensor(x)).numpy(), tm(torch.tensor(x)).detach().numpy(),
                               rtol=1e-5, atol=1e-5)


# ---------------------------------------------------------------------------------------------
# The functions: forward against torch, gradcheck and gradgradcheck in float64
# ---------------------------------------------------------------------------------------------


def _functions(lib):
    f = lib.nn.functional
    return {
        "layer_norm": (lambda x, w, b: f.layer_norm(x, (4,), w, b), [(2, 3, 4), (4,), (4,)]),
        "layer_norm_2d": (lambda x, w, b: f.layer_norm(x, [3, 4], w, b, eps=1e-3),
                          [(2, 3, 4), (3, 4), (3, 4)]),
        "layer_norm_noaffine": (lambda x: f.layer_norm(x, (4,)), [(3, 4)]),
        "layer_norm_weight_only": (lambda x, w: f.layer_norm(x, (4,), w), [(3, 4), (4,)]),
        "layer_norm_bias_only": (lambda x, b: f.layer_norm(x, (4,), None, b), [(3, 4), (4,)]),
        "group_norm": (lambda x, w, b: f.group_norm(x, 2, w, b), [(2, 4, 3), (4,), (4,)]),
        "group_norm_4d": (lambda x: f.group_norm(x, 1), [(2, 2, 3, 2)]),
        "instance_norm": (lambda x, w, b: f.instance_norm(x, weight=w, bias=b),
                          [(2, 3, 4), (3,), (3,)]),
        "instance_norm_2d": (lambda x: f.instance_norm(x), [(2, 2, 3, 2)]),
        "batch_norm_4d": (lambda x, w, b: f.batch_norm(x, None, None, w, b, training=True),
                          [(2, 3, 2, 2), (3,), (3,)]),
        "batch_norm_5d": (lambda x: f.batch_norm(x, None, None, training=True),
                          [(2, 2, 2, 1, 2)]),
        "rms_norm": (lambda x, w: f.rms_norm(x, (4,), w), [(2, 3, 4), (4,)]),
        "rms_norm_eps": (lambda x: f.rms_norm(x, [3, 4], eps=1e-2), [(2, 3, 4)]),
        "normalize": (lambda x: f.normalize(x), [(3, 4)]),
        "normalize_p1": (lambda x: f.normalize(x, p=1.0, dim=-1), [(2, 3, 4)]),
        "local_response_norm": (lambda x: f.local_response_norm(x, 3, alpha=0.2, k=1.5),
                                [(2, 4, 3)]),
    }


FUNCTIONS = sorted(_functions(mg))


def _inputs(shapes, seed, lib, requires_grad):
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(s) + (1.0 if i else 0.0) for i, s in enumerate(shapes)]
    if lib is torch:
        return [torch.tensor(a, requires_grad=requires_grad) for a in arrays]
    return [mg.tensor(a, requires_grad=requires_grad) for a in arrays]


@pytest.mark.parametrize("name", FUNCTIONS)
def test_function_matches_torch(backend, name):
    fn, shapes = _functions(mg)[name]
    tfn, _ = _functions(torch)[name]
    mx, tx = _inputs(shapes, 0, mg, True), _inputs(shapes, 0, torch, True)
    my, ty = fn(*mx), tfn(*tx)
    np.testing.assert_allclose(my.numpy(), ty.detach().numpy(), rtol=1e-10, atol=1e-12)
    g = np.random.default_rng(5).standard_normal(ty.shape)
    my.backward(mg.tensor(g))
    ty.backward(torch.tensor(g))
    for m, t in zip(mx, tx):
        np.testing.assert_allclose(m.grad.numpy(), t.grad.numpy(), rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("name", FUNCTIONS)
def test_function_gradcheck_and_gradgradcheck(backend, name):
    fn, shapes = _functions(mg)[name]
    inputs = _inputs(shapes, 1, mg, True)
    assert gradcheck(fn, inputs)
    assert gradgradcheck(fn, inputs)


@pytest.mark.parametrize("name", ["layer_norm", "group_norm", "batch_norm_4d", "rms_norm"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_backends_agree(name, dtype):
    """The compiled kernels and their numpy twins give the same values and gradients."""
    fn, shapes = _functions(mg)[name]
    results = []
    for backend_name in ("cython", "numpy"):
        mg._kernels.use(backend_name)
        try:
            inputs = [mg.tensor(a._data.astype(dtype), requires_grad=True)
                      for a in _inputs(shapes, 2, mg, False)]
            y = fn(*inputs)
            y.backward(mg.ones_like(y))
            results.append([y.numpy()] + [t.grad.numpy() for t in inputs])
        finally:
            mg._kernels.use("cython")
    assert results[0][0].dtype == np.dtype(dtype)
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-5 if dtype == "float32" else 1e-12,
                                   atol=1e-6 if dtype == "float32" else 1e-13)


def test_layer_norm_float32_matches_torch():
    x = np.random.default_rng(0).standard_normal((8, 16)).astype(np.float32) * 10 + 3
    y = F.layer_norm(mg.tensor(x), (16,)).numpy()
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, torch.nn.functional.layer_norm(torch.tensor(x), (16,)).numpy(),
                               rtol=1e-5, atol=1e-5)


def test_layer_norm_empty_and_non_contiguous():
    x = mg.zeros(0, 4, requires_grad=True)
    y = F.layer_norm(x, (4,))
    assert tuple(y.shape) == (0, 4)
    y.sum().backward()
    assert tuple(x.grad.shape) == (0, 4)
    a = np.random.default_rng(0).standard_normal((4, 6))
    t = np.asarray(a.T)  # a non-contiguous view
    np.testing.assert_allclose(
        F.layer_norm(mg.tensor(a).T, (4,)).numpy(),
        torch.nn.functional.layer_norm(torch.tensor(a).T, (4,)).numpy(), rtol=1e-12)
    assert not t.flags.c_contiguous


def test_layer_norm_output_does_not_alias_saved_values():
    """Changing the output's storage (``.data``) must not change the gradient: the
    normalised values kept for backward are not the output array."""
    rng = np.random.default_rng(0)
    x_values, c = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    x = mg.tensor(x_values, requires_grad=True)
    y = F.layer_norm(x, (4,))
    loss = (y * mg.tensor(c)).sum()
    y.data.mul_(0.0)
    loss.backward()
    expected = torch.tensor(x_values, requires_grad=True)
    (torch.nn.functional.layer_norm(expected, (4,)) * torch.tensor(c)).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), expected.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_rms_norm_default_eps_is_machine_epsilon():
    x = np.full((2, 3), 1e-5, dtype=np.float32)
    expected = torch.nn.functional.rms_norm(torch.tensor(x), (3,)).numpy()
    np.testing.assert_allclose(F.rms_norm(mg.tensor(x), (3,)).numpy(), expected, rtol=1e-5)
    assert nn.RMSNorm(3).eps is None


def test_instance_norm_eval_without_tracking_uses_instance_statistics():
    tm, mm = torch.nn.InstanceNorm1d(2), nn.InstanceNorm1d(2)
    tm.eval()
    mm.eval()
    x = np.random.default_rng(0).standard_normal((2, 2, 4))
    np.testing.assert_allclose(mm(mg.tensor(x)).numpy(), tm(torch.tensor(x)).numpy(),
                               rtol=1e-10)
    assert mm.running_mean is None and mm.state_dict() == {}


def test_instance_norm_mismatched_features_warns_without_affine():
    x = np.random.default_rng(0).standard_normal((2, 4, 5))
    with pytest.warns(UserWarning, match="does not match num_features"):
        y = nn.InstanceNorm1d(3)(mg.tensor(x))
    np.testing.assert_allclose(y.numpy(), torch.nn.functional.instance_norm(
        torch.tensor(x)).numpy(), rtol=1e-10)


# ---------------------------------------------------------------------------------------------
# Errors: the exception type torch raises, and a message naming the shapes
# ---------------------------------------------------------------------------------------------

ERRORS = [
    ("layer_norm_shape", lambda lib: lib.nn.functional.layer_norm(lib.ones(2, 3, 4), (5,)),
     "[2, 3, 4]"),
    ("layer_norm_weight", lambda lib: lib.nn.functional.layer_norm(
        lib.ones(2, 4), (4,), weight=lib.ones(5)), "[5]"),
    ("layer_norm_empty_shape", lambda lib: lib.nn.functional.layer_norm(lib.ones(2, 4), []),
     "normalized_shape"),
    ("layer_norm_int_shape", lambda lib: lib.nn.functional.layer_norm(lib.ones(2, 4), 4),
     "tuple of ints"),
    ("rms_norm_int_shape", lambda lib: lib.nn.functional.rms_norm(lib.ones(2, 4), 4),
     "tuple of ints"),
    ("rms_norm_shape", lambda lib: lib.nn.functional.rms_norm(lib.ones(2, 3), (4,)),
     "[2, 3]"),
    ("group_norm_groups", lambda lib: lib.nn.functional.group_norm(lib.ones(2, 3, 4), 2),
     "[2, 3, 4]"),
    ("group_norm_weight", lambda lib: lib.nn.functional.group_norm(
        lib.ones(2, 4, 3), 2, lib.ones(3)), "[3]"),
    ("group_norm_1d", lambda lib: lib.nn.functional.group_norm(lib.ones(4), 2), "received 1"),
    ("group_norm_one_value", lambda lib: lib.nn.functional.group_norm(lib.ones(1, 2), 2),
     "more than 1 value"),
    ("instance_norm_spatial", lambda lib: lib.nn.functional.instance_norm(lib.ones(2, 3, 1)),
     "(2, 3, 1)"),
    ("GroupNorm_init", lambda lib: lib.nn.GroupNorm(2, 3), "num_groups (2)"),
    ("BatchNorm2d_dim", lambda lib: lib.nn.BatchNorm2d(3)(lib.ones(2, 3, 4)), "3D"),
    ("BatchNorm3d_dim", lambda lib: lib.nn.BatchNorm3d(3)(lib.ones(2, 3, 4, 4)), "4D"),
    ("BatchNorm2d_channels", lambda lib: lib.nn.BatchNorm2d(3)(lib.ones(2, 4, 2, 2)), "4"),
    ("BatchNorm2d_one_value", lambda lib: lib.nn.BatchNorm2d(3)(lib.ones(1, 3, 1, 1)),
     "more than 1 value"),
    ("InstanceNorm1d_dim", lambda lib: lib.nn.InstanceNorm1d(3)(lib.ones(2, 3, 4, 5)), "4D"),
    ("InstanceNorm2d_affine_features", lambda lib: lib.nn.InstanceNorm2d(3, affine=True)(
        lib.ones(2, 4, 3, 3)), "num_features (3)"),
    ("LayerNorm_shape", lambda lib: lib.nn.LayerNorm(4)(lib.ones(2, 5)), "[2, 5]"),
    ("lrn_2d", lambda lib: lib.nn.functional.local_response_norm(lib.ones(2, 3), 2),
     "got 2 dimensions"),
    ("normalize_dim", lambda lib: lib.nn.functional.normalize(lib.ones(3), dim=1), ""),
]


@pytest.mark.parametrize("case", ERRORS, ids=[c[0] for c in ERRORS])
def test_errors_match_torch(case):
    _, call, fragment = case
    with pytest.raises(Exception) as expected:
        call(torch)
    with pytest.raises(expected.type) as got:
        call(mg)
    assert fragment in str(got.value)


# ---------------------------------------------------------------------------------------------
# The layer_norm kernels (_kernels/_norm.pyx) against their numpy twins
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("affine", ["both", "weight", "bias", "none"])
@pytest.mark.parametrize("shape", [(5, 7), (1, 1), (3, 1024), (0, 4)], ids=str)
def test_layer_norm_kernels_match_numpy_twins(dtype, affine, shape):
    from minigrad._kernels import _norm, reference
    rng = np.random.default_rng(0)
    x = (rng.standard_normal(shape) * 3 + 1).astype(dtype)
    weight = rng.standard_normal(shape[1]).astype(dtype) if affine in ("both", "weight") \
        else None
    bias = rng.standard_normal(shape[1]).astype(dtype) if affine in ("both", "bias") else None
    tol = {"rtol": 2e-5, "atol": 2e-5} if dtype == "float32" else {"rtol": 1e-12,
                                                                    "atol": 1e-12}
    compiled = _norm.layer_norm_forward(x, weight, bias, 1e-5)
    twin = reference.layer_norm_forward(x, weight, bias, 1e-5)
    for a, b in zip(compiled, twin):
        assert a.dtype == np.dtype(dtype) and a.shape == b.shape
        np.testing.assert_allclose(a, b, **tol)
    assert not np.shares_memory(compiled[0], x)
    grad = rng.standard_normal(shape).astype(dtype)
    _, mean, inv_std = twin
    for needs in [(True, True, True), (True, False, False), (False, True, False)]:
        a = _norm.layer_norm_backward(grad, x, mean, inv_std, weight, *needs)
        b = reference.layer_norm_backward(grad, x, mean, inv_std, weight, *needs)
        for ga, gb, need in zip(a, b, needs):
            assert (ga is None) == (gb is None) == (not need)
            if need:
                np.testing.assert_allclose(ga, gb, **tol)


def test_layer_norm_kernels_fall_back_on_layouts_they_cannot_read():
    """Non-contiguous, byte-swapped or mixed-dtype arrays go to the numpy twin: same values,
    never a crash."""
    from minigrad._kernels import _norm, reference
    x = np.random.default_rng(0).standard_normal((6, 8))
    weight = np.ones(8)
    expected = reference.layer_norm_forward(np.ascontiguousarray(x[:, ::2]), weight[::2], None,
                                            1e-5)
    for case in [(x[:, ::2], weight[::2]), (x[:, ::2].astype(">f8"), weight[::2]),
                 (np.ascontiguousarray(x[:, ::2]), weight[::2].astype(np.float32))]:
        got = _norm.layer_norm_forward(case[0], case[1], None, 1e-5)
        for a, b in zip(got, expected):
            np.testing.assert_allclose(a, b, rtol=1e-6)


# ---------------------------------------------------------------------------------------------
# The softmax kernels (_kernels/_norm.pyx) against their numpy twins
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("log", [False, True], ids=["softmax", "log_softmax"])
@pytest.mark.parametrize("shape, dim", [((5, 7), 1), ((1, 1), 1), ((3, 15), 1), ((4, 16), 1),
                                        ((2, 33), 1), ((3, 1024), 1), ((2, 3, 40), 2),
                                        ((9,), 0), ((5, 7), 0), ((1, 1), 0), ((33, 3), 0),
                                        ((2, 3, 40), 1), ((2, 3, 40), 0), ((4, 1, 5), 1),
                                        ((3, 17, 2, 9), 1)], ids=str)
def test_softmax_kernels_match_numpy_twins(dtype, log, shape, dim):
    """Every row length around the 8 sum lanes and 16 max lanes, 1-D to 3-D, along the last
    dimension (rows) and along others (columns of (D, inner) blocks)."""
    from minigrad._kernels import _norm, reference
    rng = np.random.default_rng(0)
    x = (rng.standard_normal(shape) * 4).astype(dtype)
    x.flat[0] = 30  # one large logit, so the max shift matters
    # (log_softmax near 0 is a difference of numbers up to ~30: a few float32 ulps of those)
    tol = {"rtol": 2e-6, "atol": 5e-7} if dtype == "float32" else {"rtol": 1e-13,
                                                                   "atol": 1e-15}
    y, expected = _norm.softmax_along(x, dim, log), reference.softmax_along(x, dim, log)
    assert y.dtype == np.dtype(dtype) and y.shape == x.shape
    np.testing.assert_allclose(y, expected, **tol)
    if not log:  # each slice along dim sums to 1
        np.testing.assert_allclose(y.sum(axis=dim), 1, rtol=tol["rtol"] * shape[dim])
    grad = rng.standard_normal(shape).astype(dtype)
    got = _norm.softmax_along_backward(expected, grad, dim, log)
    want = reference.softmax_along_backward(expected, grad, dim, log)
    assert got.dtype == np.dtype(dtype)
    np.testing.assert_allclose(got, want, rtol=tol["rtol"] * 10, atol=tol["atol"] * 10)


@pytest.mark.parametrize("log", [False, True], ids=["softmax", "log_softmax"])
def test_softmax_kernel_rows_with_nan_and_inf(log):
    """A NaN or +inf in a row makes that row NaN and leaves the others alone (as the twin
    and PyTorch); a row of -inf and finite values puts 0 (log: -inf) at the -inf."""
    from minigrad._kernels import _norm, reference
    x = np.array([[1.0, np.nan, 2.0] + [0.5] * 17, [1.0, np.inf, 2.0] + [0.5] * 17,
                  [-np.inf, 0.0, 1.0] + [0.5] * 17, [3.0] * 20], dtype=np.float32)
    for dim, z in ((1, x), (0, np.ascontiguousarray(x.T))):  # rows, and the same as columns
        y, expected = _norm.softmax_along(z, dim, log), reference.softmax_along(z, dim, log)
        y = y if dim == 1 else y.T
        assert np.isnan(y[:2]).all()
        assert y[2, 0] == (-np.inf if log else 0.0)
        np.testing.assert_allclose(y, expected if dim == 1 else expected.T, rtol=2e-6)
        np.testing.assert_allclose(y[3], np.log(1 / 20) if log else 1 / 20, rtol=1e-6)


def test_softmax_kernels_fall_back_on_layouts_they_cannot_read():
    """Non-contiguous, byte-swapped, integer, empty and 0-d input go to the twin; a dim the
    array does not have is refused, not read past the shape."""
    from minigrad._kernels import _norm, reference
    x = np.random.default_rng(1).standard_normal((6, 8))
    for case in [x[:, ::2], x[:, ::2].astype(">f8"), x.T, np.zeros((0, 3)), np.float64(2.0),
                 np.array(1.5)]:
        case = np.asarray(case)
        for log in (False, True):
            for dim in range(max(case.ndim, 1)):
                np.testing.assert_allclose(_norm.softmax_along(case, dim, log),
                                           reference.softmax_along(case, dim, log),
                                           rtol=1e-12)
    grad = np.ones((6, 4), dtype=np.float32)  # a dtype other than y's
    y = reference.softmax_along(np.ascontiguousarray(x[:, ::2]), 0, False)
    np.testing.assert_allclose(_norm.softmax_along_backward(y, grad, 0, False),
                               reference.softmax_along_backward(y, grad, 0, False), rtol=1e-6)
    for dim in (2, -1):
        with pytest.raises(ValueError, match="dim"):
            _norm.softmax_along(x, dim, False)
        with pytest.raises(ValueError, match="dim"):
            _norm.softmax_along_backward(x, x, dim, True)
