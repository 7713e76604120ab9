"""The convolution family's layers against PyTorch's: constructor arguments and attributes,
parameter names and shapes (a PyTorch state dict, converted with ``.numpy()``, loads and gives
the same outputs and gradients), default initialisation, ``repr``."""
import math

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn

torch = pytest.importorskip("torch")

# (name, constructor arguments, keyword arguments, input shape)
LAYERS = [
    ("Conv1d", (3, 4, 3), {}, (2, 3, 9)),
    ("Conv1d", (4, 6, 2), {"stride": 2, "padding": 1, "dilation": 2, "groups": 2,
                           "bias": False}, (2, 4, 9)),
    ("Conv1d", (2, 3, 4), {"padding": "same", "padding_mode": "reflect"}, (2, 2, 7)),
    ("Conv1d", (2, 3, 3), {"padding": 2, "padding_mode": "circular"}, (3, 2, 6)),
    ("Conv2d", (3, 6, 3), {}, (2, 3, 7, 7)),
    ("Conv2d", (4, 6, (3, 2)), {"stride": (2, 1), "padding": (1, 0), "dilation": (1, 2),
                                "groups": 2}, (2, 4, 7, 8)),
    ("Conv2d", (3, 3, 3), {"padding": 1, "groups": 3, "bias": False}, (2, 3, 5, 5)),
    ("Conv2d", (2, 4, 3), {"padding": "same"}, (1, 2, 5, 6)),
    ("Conv2d", (2, 4, 3), {"padding": "valid"}, (1, 2, 5, 6)),
    ("Conv2d", (2, 3, 3), {"padding": 1, "padding_mode": "reflect"}, (2, 2, 5, 5)),
    ("Conv2d", (2, 3, 3), {"padding": (2, 1), "padding_mode": "replicate"}, (2, 2, 5, 5)),
    ("Conv2d", (2, 3, 3), {"padding": 1, "padding_mode": "circular"}, (2, 2, 5, 5)),
    ("Conv2d", (2, 3, 4), {"padding": "same", "padding_mode": "reflect", "dilation": 1},
     (2, 2, 6, 6)),
    ("Conv2d", (2, 3, 3), {}, (2, 6, 6)),  # unbatched input
    ("ConvTranspose1d", (3, 4, 3), {"stride": 2, "padding": 1, "output_padding": 1},
     (2, 3, 5)),
    ("ConvTranspose2d", (3, 4, 3), {}, (2, 3, 4, 4)),
    ("ConvTranspose2d", (4, 6, (3, 2)), {"stride": 2, "padding": 1, "output_padding": 1,
                                         "groups": 2, "dilation": (1, 2), "bias": False},
     (2, 4, 3, 4)),
    ("MaxPool1d", (3,), {"stride": 2, "padding": 1, "ceil_mode": True}, (2, 3, 10)),
    ("MaxPool2d", (2,), {}, (2, 3, 6, 6)),
    ("MaxPool2d", ((3, 2),), {"stride": (2, 1), "padding": (1, 0), "dilation": (1, 2)},
     (1, 2, 7, 7)),
    ("AvgPool1d", (3,), {"stride": 2, "padding": 1, "count_include_pad": False}, (2, 3, 10)),
    ("AvgPool2d", (3,), {"stride": 2, "padding": 1, "ceil_mode": True}, (1, 2, 7, 7)),
    ("AvgPool2d", (2,), {"divisor_override": 3}, (1, 2, 6, 6)),
    ("AdaptiveAvgPool1d", (4,), {}, (2, 3, 9)),
    ("AdaptiveAvgPool2d", ((3, None),), {}, (2, 3, 7, 5)),
    ("AdaptiveMaxPool1d", (4,), {}, (2, 3, 9)),
    ("AdaptiveMaxPool2d", (3,), {}, (2, 3, 7, 5)),
    ("Unfold", ((2, 3),), {"padding": 1, "stride": 2}, (2, 3, 5, 6)),
    ("Fold", ((4, 5), 2), {}, (2, 8, 12)),
    ("Upsample", (), {"scale_factor": 2}, (1, 2, 3, 4)),
    ("Upsample", (), {"size": (5, 7), "mode": "bilinear"}, (1, 2, 3, 4)),
    ("Upsample", (), {"scale_factor": 1.5, "mode": "bilinear", "align_corners": True},
     (1, 2, 3, 4)),
    ("Upsample", (), {"scale_factor": 3, "mode": "linear"}, (2, 2, 4)),
    ("UpsamplingNearest2d", (), {"scale_factor": 2}, (1, 2, 3, 4)),
    ("UpsamplingBilinear2d", (), {"size": (5, 6)}, (1, 2, 3, 4)),
    ("PixelShuffle", (2,), {}, (2, 8, 3, 3)),
    ("PixelUnshuffle", (2,), {}, (2, 2, 4, 6)),
    ("ZeroPad1d", ((1, 2),), {}, (2, 3, 4)),
    ("ZeroPad2d", (2,), {}, (2, 3, 4, 4)),
    ("ConstantPad1d", (2, 3.5), {}, (2, 3, 4)),
    ("ConstantPad2d", ((1, 0, 2, 1), -1.0), {}, (2, 3, 4, 4)),
    ("ConstantPad3d", (1, 0.5), {}, (1, 2, 3, 3, 3)),
    ("ReflectionPad1d", (2,), {}, (2, 3, 5)),
    ("ReflectionPad2d", ((1, 2, 0, 1),), {}, (2, 3, 4, 4)),
    ("ReflectionPad3d", (1,), {}, (1, 2, 3, 3, 3)),
    ("ReplicationPad1d", ((3, 1),), {}, (2, 3, 4)),
    ("ReplicationPad2d", (2,), {}, (2, 3, 4, 4)),
    ("ReplicationPad3d", (1,), {}, (1, 2, 2, 3, 3)),
    ("CircularPad1d", (2,), {}, (2, 3, 4)),
    ("CircularPad2d", ((1, 2, 2, 1),), {}, (2, 3, 4, 4)),
    ("CircularPad3d", (1,), {}, (1, 2, 2, 3, 3)),
]

IDS = [f"{name}-{i}" for i, (name, *_rest) in enumerate(LAYERS)]


def _pair(name, args, kwargs):
    return getattr(nn, name)(*args, **kwargs), getattr(torch.nn, name)(*args, **kwargs)


@pytest.mark.parametrize("name, args, kwargs, shape", LAYERS, ids=IDS)
def test_layer_matches_torch(backend, name, args, kwargs, shape):
    layer, tlayer = _pair(name, args, kwargs)
    tlayer = tlayer.double()
    layer = layer.double()
    tstate = tlayer.state_dict()
    state = layer.state_dict()
    assert list(state) == list(tstate)
    for key in tstate:
        assert tuple(state[key].shape) == tuple(tstate[key].shape)
    layer.load_state_dict({k: v.numpy() for k, v in tstate.items()})
    x = np.random.default_rng(0).standard_normal(shape)
    mx, tx = mg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    my, ty = layer(mx), tlayer(tx)
    assert tuple(my.shape) == tuple(ty.shape)
    np.testing.assert_allclose(my.numpy(), ty.detach().numpy(), rtol=1e-10, atol=1e-12)
    upstream = np.random.default_rng(1).standard_normal(tuple(ty.shape))
    my.backward(mg.tensor(upstream))
    ty.backward(torch.tensor(upstream))
    np.testing.assert_allclose(mx.grad.numpy(), tx.grad.numpy(), rtol=1e-10, atol=1e-12)
    for (pname, p), (tname, tp) in zip(layer.named_parameters(), tlayer.named_parameters()):
        assert pname == tname
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name, args, kwargs, shape", LAYERS, ids=IDS)
def test_repr_and_attributes_match_torch(name, args, kwargs, shape):
    layer, tlayer = _pair(name, args, kwargs)
    assert repr(layer) == repr(tlayer)
    for attr in ("in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation",
                 "groups", "padding_mode", "transposed", "output_padding", "ceil_mode",
                 "return_indices", "count_include_pad", "divisor_override", "output_size",
                 "scale_factor", "size", "mode", "align_corners", "upscale_factor",
                 "downscale_factor", "value", "_reversed_padding_repeated_twice"):
        if hasattr(tlayer, attr):
            assert getattr(layer, attr) == getattr(tlayer, attr), attr


@pytest.mark.parametrize("name, args, kwargs", [
    ("Conv1d", (3, 8, 5), {}), ("Conv2d", (6, 16, 3), {}), ("Conv2d", (4, 8, (2, 5)),
                                                            {"groups": 2}),
    ("ConvTranspose1d", (3, 8, 5), {}), ("ConvTranspose2d", (6, 4, 3), {"groups": 2})])
def test_default_init_is_pytorchs(name, args, kwargs):
    """kaiming_uniform_(a=sqrt(5)): U(-b, b), b = 1/sqrt(fan_in), fan_in = weight.shape[1] *
    prod(kernel); the bias U(-b, b) with the same b. Checked on the bounds and the moments of
    many draws (the generators differ from PyTorch's, the distributions must not)."""
    mg.manual_seed(0)
    weights, biases = [], []
    for _ in range(60):
        layer = getattr(nn, name)(*args, **kwargs)
        weights.append(layer.weight.numpy().ravel())
        biases.append(layer.bias.numpy().ravel())
    tlayer = getattr(torch.nn, name)(*args, **kwargs)
    assert layer.weight.dtype == mg.float32 and layer.bias.dtype == mg.float32
    shape = tuple(layer.weight.shape)
    assert shape == tuple(tlayer.weight.shape)
    bound = 1 / math.sqrt(shape[1] * math.prod(shape[2:]))
    for values in (np.concatenate(weights), np.concatenate(biases)):
        assert np.all(np.abs(values) <= bound)
        assert np.abs(values).max() > 0.95 * bound
        assert abs(values.mean()) < 0.05 * bound
        np.testing.assert_allclose(values.var(), bound ** 2 / 3, rtol=0.1)


def test_dtype_argument_and_seeded_init():
    layer = nn.Conv2d(2, 3, 3, dtype=mg.float64)
    assert layer.weight.dtype == mg.float64 and layer.bias.dtype == mg.float64
    mg.manual_seed(5)
    a = nn.Conv2d(2, 3, 3).weight.numpy().copy()
    mg.manual_seed(5)
    b = nn.Conv2d(2, 3, 3).weight.numpy()
    np.testing.assert_array_equal(a, b)


def test_conv_transpose_output_size_picks_output_padding():
    for lib in (mg, torch):
        lib.manual_seed(0)
    layer = nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1)
    tlayer = torch.nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1).double()
    layer.double().load_state_dict({k: v.numpy() for k, v in tlayer.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 4))
    for size in [(7, 7), (8, 8), (7, 8), [2, 2, 8, 7]]:
        got = layer(mg.tensor(x), output_size=size)
        want = tlayer(torch.tensor(x), output_size=size)
        assert tuple(got.shape) == tuple(want.shape)
        np.testing.assert_allclose(got.numpy(), want.detach().numpy(), rtol=1e-10)


def test_max_pool_and_adaptive_max_pool_modules_return_indices():
    x = np.random.default_rng(0).standard_normal((2, 3, 6, 6))
    for name, args in [("MaxPool2d", (2,)), ("AdaptiveMaxPool2d", (4,)), ("MaxPool1d", (3,)),
                       ("AdaptiveMaxPool1d", (4,))]:
        xi = x if "1d" not in name else x[:, :, 0]
        y, i = getattr(nn, name)(*args, return_indices=True)(mg.tensor(xi))
        ty, ti = getattr(torch.nn, name)(*args, return_indices=True)(torch.tensor(xi))
        np.testing.assert_array_equal(y.numpy(), ty.numpy())
        assert i.dtype == mg.int64
        np.testing.assert_array_equal(i.numpy(), ti.numpy())


def test_max_unpool_module_inverts_max_pool_like_torch():
    x = np.random.default_rng(0).standard_normal((2, 3, 5, 7))
    pool, unpool = nn.MaxPool2d(2, return_indices=True), nn.MaxUnpool2d(2)
    tpool, tunpool = torch.nn.MaxPool2d(2, return_indices=True), torch.nn.MaxUnpool2d(2)
    assert repr(unpool) == repr(tunpool)
    y, i = pool(mg.tensor(x))
    ty, ti = tpool(torch.tensor(x))
    got = unpool(y, i, output_size=(5, 7))
    want = tunpool(ty, ti, output_size=(5, 7))
    np.testing.assert_array_equal(got.numpy(), want.numpy())


def test_lenet_parameter_names_and_state_dict_round_trip():
    def lenet(lib):
        return lib.nn.Sequential(
            lib.nn.Conv2d(1, 6, 5, padding=2), lib.nn.ReLU(), lib.nn.MaxPool2d(2),
            lib.nn.Conv2d(6, 16, 3, padding=1), lib.nn.ReLU(), lib.nn.MaxPool2d(2),
            lib.nn.Flatten(), lib.nn.Linear(64, 120), lib.nn.ReLU(), lib.nn.Linear(120, 84),
            lib.nn.ReLU(), lib.nn.Linear(84, 10))

    model, tmodel = lenet(mg), lenet(torch)
    assert [(k, tuple(v.shape)) for k, v in model.state_dict().items()] == \
        [(k, tuple(v.shape)) for k, v in tmodel.state_dict().items()]
    model.load_state_dict({k: v.numpy() for k, v in tmodel.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((4, 1, 8, 8)).astype(np.float32)
    np.testing.assert_allclose(model(mg.tensor(x)).numpy(),
                               tmodel(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-6)
