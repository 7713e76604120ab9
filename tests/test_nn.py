"""nn.Module machinery, the layers, functional activations, init and clip utils, compared with
PyTorch (float64, copied weights), finite differences and hand derivations."""
import collections
import copy
import math

import numpy as np
import pytest

import minigrad as mg
import minigrad.nn.functional as F
from minigrad import nn
from minigrad.autograd import gradcheck, gradgradcheck

torch = pytest.importorskip("torch")


def copy_params(mg_module, torch_module):
    """Copy torch's parameters and buffers into the minigrad module (same names)."""
    state = {k: v.detach().numpy().copy() for k, v in torch_module.state_dict().items()}
    mg_module.load_state_dict(state)


def torch_twin(mg_module):
    """The torch module of the same architecture, by building the same Sequential."""
    layers = []
    for m in mg_module:
        name = type(m).__name__
        if name == "Linear":
            layers.append(torch.nn.Linear(m.in_features, m.out_features, m.bias is not None))
        elif name == "BatchNorm1d":
            layers.append(torch.nn.BatchNorm1d(m.num_features, m.eps, m.momentum, m.affine,
                                               m.track_running_stats))
        else:
            layers.append(getattr(torch.nn, name)())
    return torch.nn.Sequential(*layers).double()


def assert_close(a, b, rtol=1e-10, atol=1e-12):
    a = a.numpy() if hasattr(a, "numpy") and not isinstance(a, np.ndarray) else a
    b = b.detach().numpy() if isinstance(b, torch.Tensor) else b
    np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)


# ---------------------------------------------------------------------------------------------
# Linear
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(5, 3), (3,), (2, 4, 3)], ids=["2d", "1d", "3d"])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_matches_torch(backend, shape, bias):
    lin = nn.Linear(3, 4, bias=bias, dtype=mg.float64)
    tlin = torch.nn.Linear(3, 4, bias=bias).double()
    copy_params(lin, tlin)
    x = np.random.default_rng(0).standard_normal(shape)
    mx = mg.tensor(x, requires_grad=True)
    tx = torch.tensor(x, requires_grad=True)
    my, ty = lin(mx), tlin(tx)
    assert tuple(my.shape) == tuple(ty.shape)
    assert_close(my, ty)
    seed = np.random.default_rng(1).standard_normal(tuple(ty.shape))
    my.backward(mg.tensor(seed))
    ty.backward(torch.tensor(seed))
    assert_close(mx.grad, tx.grad)
    assert_close(lin.weight.grad, tlin.weight.grad)
    if bias:
        assert_close(lin.bias.grad, tlin.bias.grad)


def test_linear_is_one_node_on_its_parameters():
    lin = nn.Linear(2, 3)
    x = mg.randn(4, 2)
    y = lin(x)
    inputs = [fn for fn, _ in y.grad_fn.next_functions]
    assert inputs[1].variable is lin.weight and inputs[2].variable is lin.bias
    assert inputs[0] is None  # x needs no gradient
    assert y.grad_fn.name() == "LinearBackward0"


def test_linear_default_init_float32_bounds_and_seed():
    mg.manual_seed(7)
    a = nn.Linear(50, 40)
    mg.manual_seed(7)
    b = nn.Linear(50, 40)
    assert a.weight.dtype == mg.float32 and a.bias.dtype == mg.float32
    assert tuple(a.weight.shape) == (40, 50) and tuple(a.bias.shape) == (40,)
    np.testing.assert_array_equal(a.weight.numpy(), b.weight.numpy())
    bound = 1 / math.sqrt(50)
    w = a.weight.numpy()
    assert np.abs(w).max() <= bound and np.abs(a.bias.numpy()).max() <= bound
    # U(-b, b) has std b / sqrt(3); 2000 samples pin it to a few percent.
    assert abs(w.std() - bound / math.sqrt(3)) < 0.05 * bound
    assert abs(w.mean()) < 0.05 * bound
    assert a.weight.requires_grad and a.weight.is_leaf
    c = nn.Linear(50, 40)
    assert not np.array_equal(c.weight.numpy(), a.weight.numpy())


def test_linear_wrong_in_features_raises_shape_error():
    lin = nn.Linear(2, 10)
    with pytest.raises(mg.ShapeError) as info:
        lin(mg.randn(5, 3))
    assert str(info.value) == ("Linear(in_features=2, out_features=10): input has shape (5, 3), "
                               "expected last dimension 2")
    assert isinstance(info.value, RuntimeError) and isinstance(info.value, ValueError)
    with pytest.raises(mg.ShapeError, match=r"\(5, 3\).*\(10, 2\)"):
        F.linear(mg.randn(5, 3), lin.weight, lin.bias)


def test_linear_dtype_mismatch_is_a_clear_error():
    with pytest.raises(RuntimeError, match="float64.*float32"):  # as torch: RuntimeError
        nn.Linear(2, 3)(mg.tensor(np.ones((1, 2))))


def test_linear_gradcheck(backend):
    gen = np.random.default_rng(0)
    x = mg.tensor(gen.standard_normal((3, 2, 4)), requires_grad=True)
    w = mg.tensor(gen.standard_normal((5, 4)), requires_grad=True)
    b = mg.tensor(gen.standard_normal(5), requires_grad=True)
    assert gradcheck(F.linear, (x, w, b))


# ---------------------------------------------------------------------------------------------
# Activations and functional
# ---------------------------------------------------------------------------------------------

X_ACT = np.array([[-3.0, -0.5, 0.25, 2.0], [1e4, -500.0, 30.0, -30.0], [0.1, -0.1, 5.0, -2.0]])

ACTIVATIONS = [
    ("ReLU", lambda: nn.ReLU(), lambda: torch.nn.ReLU()),
    ("LeakyReLU", lambda: nn.LeakyReLU(0.2), lambda: torch.nn.LeakyReLU(0.2)),
    ("Sigmoid", lambda: nn.Sigmoid(), lambda: torch.nn.Sigmoid()),
    ("Tanh", lambda: nn.Tanh(), lambda: torch.nn.Tanh()),
    ("Softmax1", lambda: nn.Softmax(dim=1), lambda: torch.nn.Softmax(dim=1)),
    ("Softmax0", lambda: nn.Softmax(dim=0), lambda: torch.nn.Softmax(dim=0)),
    ("LogSoftmax1", lambda: nn.LogSoftmax(dim=1), lambda: torch.nn.LogSoftmax(dim=1)),
    ("LogSoftmax-2", lambda: nn.LogSoftmax(dim=-2), lambda: torch.nn.LogSoftmax(dim=-2)),
    ("Identity", lambda: nn.Identity(), lambda: torch.nn.Identity()),
    ("Flatten", lambda: nn.Flatten(0), lambda: torch.nn.Flatten(0)),
]


@pytest.mark.parametrize("name,make,make_torch", ACTIVATIONS, ids=[a[0] for a in ACTIVATIONS])
def test_activation_modules_match_torch_with_extreme_values(backend, name, make, make_torch):
    module, tmodule = make(), make_torch()
    assert repr(module) == repr(tmodule)
    mx = mg.tensor(X_ACT, requires_grad=True)
    tx = torch.tensor(X_ACT, requires_grad=True)
    my, ty = module(mx), tmodule(tx)
    assert np.all(np.isfinite(my.numpy()))
    assert_close(my, ty)
    seed = np.random.default_rng(2).standard_normal(tuple(ty.shape))
    my.backward(mg.tensor(seed))
    ty.backward(torch.tensor(seed))
    assert_close(mx.grad, tx.grad)


GRADCHECK_FUNCTIONS = [
    ("relu", lambda x: F.relu(x)),
    ("leaky_relu", lambda x: F.leaky_relu(x, 0.3)),
    ("sigmoid", lambda x: F.sigmoid(x)),
    ("tanh", lambda x: F.tanh(x)),
    ("softmax", lambda x: F.softmax(x, dim=1)),
    ("softmax_3d", lambda x: F.softmax(x.reshape(2, 3, 2), dim=-1)),
    ("log_softmax", lambda x: F.log_softmax(x, dim=0)),
    ("batch_norm_train", lambda x: F.batch_norm(x, None, None, mg.tensor([1.5, -2.0, 0.5]),
                                                mg.tensor([0.1, 0.2, 0.3]), training=True)),
    ("batch_norm_eval", lambda x: F.batch_norm(x, mg.tensor([0.5, -1.0, 0.0]),
                                               mg.tensor([2.0, 0.5, 1.0]), training=False)),
]


@pytest.mark.parametrize("name,fn", GRADCHECK_FUNCTIONS, ids=[g[0] for g in GRADCHECK_FUNCTIONS])
def test_functional_gradcheck(backend, name, fn):
    gen = np.random.default_rng(4)
    values = gen.standard_normal((4, 3))
    values[np.abs(values) < 0.05] = 0.3  # keep away from the kink of relu
    x = mg.tensor(values, requires_grad=True)
    assert gradcheck(fn, (x,))


@pytest.mark.parametrize("name,fn", GRADCHECK_FUNCTIONS, ids=[g[0] for g in GRADCHECK_FUNCTIONS])
def test_functional_gradgradcheck(backend, name, fn):
    """Linear, softmax, batch norm...: their fused backward formulas differentiate again."""
    gen = np.random.default_rng(4)
    values = gen.standard_normal((4, 3))
    values[np.abs(values) < 0.05] = 0.3
    x = mg.tensor(values, requires_grad=True)
    assert gradgradcheck(fn, (x,))


def test_linear_and_batch_norm_parameters_gradgradcheck():
    gen = np.random.default_rng(5)
    x = mg.tensor(gen.standard_normal((5, 2, 3)), requires_grad=True)
    w = mg.tensor(gen.standard_normal(2), requires_grad=True)
    b = mg.tensor(gen.standard_normal(2), requires_grad=True)
    assert gradgradcheck(lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
                         (x, w, b))
    x = mg.tensor(gen.standard_normal((3, 2, 4)), requires_grad=True)
    w = mg.tensor(gen.standard_normal((5, 4)), requires_grad=True)
    b = mg.tensor(gen.standard_normal(5), requires_grad=True)
    assert gradgradcheck(lambda x, w, b: F.linear(x, w, b).tanh(), (x, w, b))


def test_batch_norm_weight_and_bias_gradcheck():
    gen = np.random.default_rng(5)
    x = mg.tensor(gen.standard_normal((5, 2, 3)), requires_grad=True)
    w = mg.tensor(gen.standard_normal(2), requires_grad=True)
    b = mg.tensor(gen.standard_normal(2), requires_grad=True)
    assert gradcheck(lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True), (x, w, b))


def test_softmax_rows_sum_to_one_and_log_softmax_is_stable():
    x = mg.tensor([[1e4, 1e4 - 1.0, -1e4]], dtype=mg.float64)
    p = F.softmax(x, dim=1).numpy()
    np.testing.assert_allclose(p.sum(), 1.0)
    e = math.exp(-1)
    np.testing.assert_allclose(p[0, :2], [1 / (1 + e), e / (1 + e)])
    logp = F.log_softmax(x, dim=1).numpy()
    np.testing.assert_allclose(logp[0, 2], -2e4 - math.log(1 + e), rtol=1e-12)


def test_softmax_without_dim_warns_and_uses_torchs_choice():
    x = np.random.default_rng(0).standard_normal((2, 3))
    with pytest.warns(UserWarning, match="Implicit dimension"):
        out = F.softmax(mg.tensor(x))
    with pytest.warns(UserWarning):
        expected = torch.nn.functional.softmax(torch.tensor(x))
    assert_close(out, expected)


# ---------------------------------------------------------------------------------------------
# Dropout
# ---------------------------------------------------------------------------------------------


def test_dropout_statistics_scaling_and_gradient(backend):
    drop = nn.Dropout(p=0.3)
    x = mg.ones(200, 100, requires_grad=True)
    y = drop(x)
    values = y.numpy()
    kept = values != 0
    assert abs(kept.mean() - 0.7) < 0.01  # 20000 Bernoulli(0.7): std 0.003
    np.testing.assert_allclose(values[kept], 1 / 0.7, rtol=1e-6)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), values, rtol=1e-6)  # d/dx = mask / (1 - p)


def test_dropout_eval_is_identity_and_seed_reproducible():
    drop = nn.Dropout(0.5)
    x = mg.randn(10, 10)
    drop.eval()
    assert drop(x) is x
    drop.train()
    mg.manual_seed(3)
    a = drop(x).numpy()
    mg.manual_seed(3)
    b = drop(x).numpy()
    np.testing.assert_array_equal(a, b)
    assert F.dropout(x, 0.0) is x
    assert np.all(F.dropout(x, 1.0).numpy() == 0)


@pytest.mark.parametrize("p", [-0.1, 1.5])
def test_dropout_validates_p(p):
    with pytest.raises(ValueError, match="between 0 and 1"):
        nn.Dropout(p)
    with pytest.raises(ValueError, match="between 0 and 1"):
        F.dropout(mg.ones(2), p)


# ---------------------------------------------------------------------------------------------
# BatchNorm1d
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(8, 3), (4, 3, 5)], ids=["NC", "NCL"])
@pytest.mark.parametrize("options", [{}, {"momentum": None}, {"affine": False},
                                     {"track_running_stats": False}, {"momentum": 0.5,
                                                                      "eps": 1e-3}],
                         ids=["default", "cumulative", "no-affine", "no-stats", "momentum"])
def test_batchnorm1d_matches_torch_over_steps(backend, shape, options):
    bn = nn.BatchNorm1d(3, **options).double()
    tbn = torch.nn.BatchNorm1d(3, **options).double()
    assert repr(bn) == repr(tbn)
    gen = np.random.default_rng(6)
    if bn.affine:
        with torch.no_grad():
            tbn.weight.copy_(torch.tensor(gen.standard_normal(3)))
            tbn.bias.copy_(torch.tensor(gen.standard_normal(3)))
        copy_params(bn, tbn)
    for step in range(4):
        train = step < 3
        bn.train(train)
        tbn.train(train)
        x = gen.standard_normal(shape) * 3 + 1
        mx = mg.tensor(x, requires_grad=True)
        tx = torch.tensor(x, requires_grad=True)
        my, ty = bn(mx), tbn(tx)
        assert_close(my, ty, rtol=1e-9, atol=1e-10)
        seed = gen.standard_normal(shape)
        my.backward(mg.tensor(seed))
        ty.backward(torch.tensor(seed))
        assert_close(mx.grad, tx.grad, rtol=1e-8, atol=1e-10)
        if bn.affine:
            assert_close(bn.weight.grad, tbn.weight.grad, rtol=1e-8, atol=1e-10)
            assert_close(bn.bias.grad, tbn.bias.grad, rtol=1e-8, atol=1e-10)
        for name, buf in tbn.named_buffers():
            assert_close(getattr(bn, name), buf)
    assert list(bn.state_dict()) == list(tbn.state_dict())


def test_batchnorm1d_float32_default_and_running_stats_by_hand():
    bn = nn.BatchNorm1d(2, momentum=0.1)
    assert bn.weight.dtype == mg.float32 and bn.running_mean.dtype == mg.float32
    assert bn.num_batches_tracked.dtype == mg.int64
    x = np.array([[1.0, 10.0], [3.0, 14.0], [5.0, 18.0]], dtype=np.float32)
    y = bn(mg.tensor(x)).numpy()
    # batch mean (3, 14), biased var (8/3, 32/3), unbiased (4, 16)
    np.testing.assert_allclose(bn.running_mean.numpy(), [0.3, 1.4], rtol=1e-6)
    np.testing.assert_allclose(bn.running_var.numpy(), [0.9 + 0.4, 0.9 + 1.6], rtol=1e-6)
    np.testing.assert_allclose(y[:, 0], (x[:, 0] - 3) / np.sqrt(8 / 3 + 1e-5), rtol=1e-5)
    assert bn.num_batches_tracked.item() == 1


def test_batchnorm1d_bad_inputs():
    bn = nn.BatchNorm1d(3)
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        bn(mg.randn(1, 3))
    assert bn.num_batches_tracked.item() == 0
    bn.eval()
    assert tuple(bn(mg.randn(1, 3)).shape) == (1, 3)  # eval uses running stats: fine
    with pytest.raises(ValueError, match="expected 2D or 3D input"):
        bn(mg.randn(2, 3, 4, 5))
    with pytest.raises(mg.ShapeError, match=r"\(4, 5\)"):
        bn(mg.randn(4, 5))


# ---------------------------------------------------------------------------------------------
# Module machinery
# ---------------------------------------------------------------------------------------------


class MgNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(2, 4)
        self.act = nn.ReLU()
        self.block = nn.Sequential(nn.Linear(4, 4), nn.BatchNorm1d(4), nn.Tanh())
        self.scale = nn.Parameter(mg.ones(1))
        self.fc2 = nn.Linear(4, 1)
        self.register_buffer("steps", mg.zeros(1))

    def forward(self, x):
        return self.fc2(self.block(self.act(self.fc1(x)))) * self.scale


class TorchNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = torch.nn.Linear(2, 4)
        self.act = torch.nn.ReLU()
        self.block = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.BatchNorm1d(4),
                                         torch.nn.Tanh())
        self.scale = torch.nn.Parameter(torch.ones(1))
        self.fc2 = torch.nn.Linear(4, 1)
        self.register_buffer("steps", torch.zeros(1))

    def forward(self, x):
        return self.fc2(self.block(self.act(self.fc1(x)))) * self.scale


def test_registration_names_and_order_match_torch():
    net, tnet = MgNet(), TorchNet()
    assert [n for n, _ in net.named_parameters()] == [n for n, _ in tnet.named_parameters()]
    assert [n for n, _ in net.named_buffers()] == [n for n, _ in tnet.named_buffers()]
    assert [n for n, _ in net.named_modules()] == [n for n, _ in tnet.named_modules()]
    assert [n for n, _ in net.named_children()] == [n for n, _ in tnet.named_children()]
    assert [type(m).__name__ for m in net.modules()][1:] == [
        type(m).__name__ for m in tnet.modules()][1:]
    assert list(net.state_dict()) == list(tnet.state_dict())
    assert len(list(net.parameters())) == len(list(tnet.parameters()))
    assert [n for n, _ in net.named_parameters(recurse=False)] == ["scale"]
    assert repr(net) == repr(tnet).replace("TorchNet", "MgNet")
    assert net.fc1 is net._modules["fc1"] and net.scale is net._parameters["scale"]


def test_forward_matches_torch_after_state_dict_copy():
    net, tnet = MgNet().double(), TorchNet().double()
    copy_params(net, tnet)
    x = np.random.default_rng(0).standard_normal((6, 2))
    assert_close(net(mg.tensor(x)), tnet(torch.tensor(x)))


def test_shared_parameters_and_modules_are_listed_once():
    shared = nn.Linear(3, 3)
    seq = nn.Sequential(shared, nn.ReLU(), shared)
    tshared = torch.nn.Linear(3, 3)
    tseq = torch.nn.Sequential(tshared, torch.nn.ReLU(), tshared)
    assert [n for n, _ in seq.named_parameters()] == [n for n, _ in tseq.named_parameters()]
    assert [n for n, _ in seq.named_modules()] == [n for n, _ in tseq.named_modules()]
    assert list(seq.state_dict()) == list(tseq.state_dict())


def test_reassignment_and_deletion_keep_registries_consistent():
    net = MgNet()
    net.fc1 = nn.Linear(2, 4, bias=False)
    assert "fc1.bias" not in dict(net.named_parameters())
    net.scale = None
    assert net.scale is None and "scale" not in dict(net.named_parameters())
    with pytest.raises(TypeError, match="parameter 'scale'"):
        net.scale = mg.ones(1)
    with pytest.raises(TypeError, match="child module 'fc2'"):
        net.fc2 = 3
    net.steps = mg.ones(2)  # a buffer may be replaced by another tensor
    assert net.state_dict()["steps"].shape == (2,)
    del net.fc2
    assert "fc2" not in dict(net.named_children())
    with pytest.raises(AttributeError):
        _ = net.fc2
    net.plain = 5  # ordinary attributes stay ordinary
    assert net.plain == 5 and "plain" not in dict(net.named_children())


def test_assignment_before_init_fails_clearly():
    class Broken(nn.Module):
        def __init__(self):
            self.fc = nn.Linear(1, 1)

    with pytest.raises(AttributeError, match="before Module.__init__"):
        Broken()


def test_parameter_is_a_tensor_with_torch_repr():
    p = nn.Parameter(mg.tensor([1.0, 2.0]))
    assert isinstance(p, mg.Tensor) and p.requires_grad
    assert repr(p) == "Parameter containing:\ntensor([1., 2.], requires_grad=True)"
    assert repr(p) == repr(torch.nn.Parameter(torch.tensor([1.0, 2.0])))
    assert not nn.Parameter(mg.ones(2), requires_grad=False).requires_grad
    with pytest.raises(RuntimeError, match="floating point"):
        nn.Parameter(mg.tensor([1, 2]))


def test_state_dict_shares_memory_and_round_trips():
    net = MgNet()
    sd = net.state_dict()
    assert isinstance(sd, collections.OrderedDict)
    assert not sd["fc1.weight"].requires_grad
    assert np.shares_memory(sd["fc1.weight"].numpy(), net.fc1.weight.numpy())  # like torch
    assert "block.1.num_batches_tracked" in sd
    other = MgNet()
    weight_array = other.fc1.weight.numpy()
    result = other.load_state_dict(sd)
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert repr(result) == "<All keys matched successfully>"
    assert other.fc1.weight.numpy() is weight_array  # copied in place, not replaced
    for key, value in other.state_dict().items():
        np.testing.assert_array_equal(value.numpy(), sd[key].numpy())
    x = mg.randn(5, 2)
    net.eval()
    other.eval()
    np.testing.assert_array_equal(net(x).numpy(), other(x).numpy())


def test_load_state_dict_casts_to_parameter_dtype():
    lin = nn.Linear(2, 2)
    lin.load_state_dict({"weight": np.ones((2, 2)), "bias": mg.tensor([1.0, 2.0],
                                                                      dtype=mg.float64)})
    assert lin.weight.dtype == mg.float32 and lin.bias.dtype == mg.float32
    np.testing.assert_array_equal(lin.bias.numpy(), [1.0, 2.0])


def test_load_state_dict_errors_name_keys_like_torch():
    net, tnet = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3)), torch.nn.Sequential(
        torch.nn.Linear(2, 3), torch.nn.BatchNorm1d(3))
    sd = {k: v.numpy().copy() for k, v in net.state_dict().items()}
    tsd = dict(tnet.state_dict())
    del sd["0.bias"], tsd["0.bias"]
    sd["extra"] = np.zeros(1)
    tsd["extra"] = torch.zeros(1)
    with pytest.raises(RuntimeError) as info:
        net.load_state_dict(sd)
    with pytest.raises(RuntimeError) as tinfo:
        tnet.load_state_dict(tsd)
    assert str(info.value) == str(tinfo.value)
    assert str(info.value).startswith("Error(s) in loading state_dict for Sequential:\n\t"
                                      'Missing key(s) in state_dict: "0.bias". ')
    result = net.load_state_dict(sd, strict=False)
    tresult = tnet.load_state_dict(tsd, strict=False)
    assert result.missing_keys == tresult.missing_keys == ["0.bias"]
    assert result.unexpected_keys == tresult.unexpected_keys == ["extra"]
    # A checkpoint without BatchNorm's counter still loads (torch's rule).
    del sd["1.num_batches_tracked"]
    assert net.load_state_dict(sd, strict=False).missing_keys == ["0.bias"]


def test_load_state_dict_shape_mismatch_is_atomic():
    net = nn.Sequential(nn.Linear(2, 3), nn.Linear(3, 1))
    before = {k: v.numpy().copy() for k, v in net.state_dict().items()}
    sd = {k: np.full(v.shape, 7.0) for k, v in before.items()}
    sd["1.weight"] = np.zeros((2, 3))
    with pytest.raises(mg.ShapeError) as info:
        net.load_state_dict(sd)
    message = str(info.value)
    assert "size mismatch for 1.weight" in message and "(2, 3)" in message and "(1, 3)" in message
    for key, value in net.state_dict().items():
        np.testing.assert_array_equal(value.numpy(), before[key])  # nothing was copied


def test_train_eval_zero_grad_requires_grad_apply():
    net = MgNet()
    assert net.training and net.block[1].training
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())
    with pytest.raises(ValueError):
        net.train("no")
    net(mg.randn(4, 2)).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad(set_to_none=False)
    assert all(np.all(p.grad.numpy() == 0) for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    net.requires_grad_(False)
    assert not any(p.requires_grad for p in net.parameters())
    visited = []
    tvisited = []
    net.apply(lambda m: visited.append(type(m).__name__))
    TorchNet().apply(lambda m: tvisited.append(type(m).__name__))
    assert visited == [v.replace("TorchNet", "MgNet") for v in tvisited]


def test_float_double_to_convert_in_place():
    net = MgNet()
    params = list(net.parameters())
    net(mg.randn(3, 2)).sum().backward()
    assert net.double() is net
    assert [p is q for p, q in zip(params, net.parameters())] == [True] * len(params)
    assert all(p.dtype == mg.float64 and p.grad.dtype == mg.float64 for p in params)
    assert net.block[1].running_mean.dtype == mg.float64
    assert net.block[1].num_batches_tracked.dtype == mg.int64
    net.to(mg.float32)
    assert all(p.dtype == mg.float32 for p in net.parameters())
    assert net.to("cpu") is net and net.to(dtype=mg.float64).fc1.weight.dtype == mg.float64
    net.float()
    assert net.fc1.weight.dtype == mg.float32
    with pytest.raises(RuntimeError, match="CPU"):
        net.to("cuda")
    with pytest.raises(TypeError, match="floating point"):
        net.to(mg.int64)


def test_deepcopy_gives_independent_parameters():
    net = MgNet()
    clone = copy.deepcopy(net)
    assert isinstance(clone.fc1.weight, nn.Parameter)
    clone.fc1.weight.data[...] = 0
    assert not np.all(net.fc1.weight.numpy() == 0)
    assert [n for n, _ in clone.named_parameters()] == [n for n, _ in net.named_parameters()]
    assert clone.fc1.weight is dict(clone.named_parameters())["fc1.weight"]


# ---------------------------------------------------------------------------------------------
# Containers and repr
# ---------------------------------------------------------------------------------------------


def test_sequential_indexing_and_editing_like_torch():
    seq = nn.Sequential(nn.Linear(2, 10), nn.ReLU(), nn.Linear(10, 1))
    tseq = torch.nn.Sequential(torch.nn.Linear(2, 10), torch.nn.ReLU(), torch.nn.Linear(10, 1))
    assert repr(seq) == repr(tseq) == (
        "Sequential(\n  (0): Linear(in_features=2, out_features=10, bias=True)\n"
        "  (1): ReLU()\n  (2): Linear(in_features=10, out_features=1, bias=True)\n)")
    assert len(seq) == 3 and isinstance(seq[1], nn.ReLU) and seq[-1] is seq[2]
    assert [type(m).__name__ for m in seq] == ["Linear", "ReLU", "Linear"]
    assert repr(seq[1:]) == repr(tseq[1:])
    with pytest.raises(IndexError):
        seq[3]
    seq.append(nn.Sigmoid())
    tseq.append(torch.nn.Sigmoid())
    del seq[1]
    del tseq[1]
    assert repr(seq) == repr(tseq)
    assert [n for n, _ in seq.named_parameters()] == [n for n, _ in tseq.named_parameters()]
    named = nn.Sequential(collections.OrderedDict([("hidden", nn.Linear(2, 3)),
                                                   ("act", nn.Tanh())]))
    assert [n for n, _ in named.named_parameters()] == ["hidden.weight", "hidden.bias"]
    assert named.hidden is named[0]


def test_module_list_and_its_compact_repr():
    layers = nn.ModuleList([nn.Linear(1, 1) for _ in range(3)] + [nn.ReLU()])
    tlayers = torch.nn.ModuleList([torch.nn.Linear(1, 1) for _ in range(3)] + [torch.nn.ReLU()])
    assert repr(layers) == repr(tlayers)
    assert len(layers) == 4 and len(list(layers.parameters())) == 6
    layers.append(nn.Tanh())
    assert isinstance(layers[-1], nn.Tanh)
    assert repr(nn.ModuleList()) == repr(torch.nn.ModuleList())


def test_reprs_match_torch():
    pairs = [
        (nn.LeakyReLU(0.2), torch.nn.LeakyReLU(0.2)),
        (nn.ReLU(inplace=True), torch.nn.ReLU(inplace=True)),
        (nn.Dropout(0.25), torch.nn.Dropout(0.25)),
        (nn.BatchNorm1d(5), torch.nn.BatchNorm1d(5)),
        (nn.BatchNorm1d(5, affine=False, momentum=None),
         torch.nn.BatchNorm1d(5, affine=False, momentum=None)),
        (nn.Flatten(), torch.nn.Flatten()),
        (nn.Softmax(dim=-1), torch.nn.Softmax(dim=-1)),
        (nn.LogSoftmax(), torch.nn.LogSoftmax()),
        (nn.Linear(3, 2, bias=False), torch.nn.Linear(3, 2, bias=False)),
        (nn.Sequential(nn.Sequential(nn.Linear(1, 2), nn.Sigmoid()), nn.Identity()),
         torch.nn.Sequential(torch.nn.Sequential(torch.nn.Linear(1, 2), torch.nn.Sigmoid()),
                             torch.nn.Identity())),
    ]
    for ours, theirs in pairs:
        assert repr(ours) == repr(theirs)


def test_flatten_and_identity_shapes_and_gradients():
    x = mg.randn(2, 3, 4, requires_grad=True)
    y = nn.Flatten()(x)
    assert tuple(y.shape) == tuple(torch.nn.Flatten()(torch.zeros(2, 3, 4)).shape) == (2, 12)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.ones((2, 3, 4)))
    assert tuple(nn.Flatten(0, 1)(x).shape) == (6, 4)
    assert nn.Identity(54, unused="argument")(x) is x


def test_leaky_relu_default_slope_matches_torch():
    x = np.linspace(-3, 3, 13)
    expected = torch.nn.functional.leaky_relu(torch.tensor(x)).numpy()
    np.testing.assert_allclose(F.leaky_relu(mg.tensor(x)).numpy(), expected)
    assert repr(nn.LeakyReLU()) == repr(torch.nn.LeakyReLU()) == "LeakyReLU(negative_slope=0.01)"


def test_nn_available_after_import_minigrad_only():
    import minigrad

    assert minigrad.nn.Linear is nn.Linear
    assert minigrad.nn.functional.relu is F.relu
    assert minigrad.nn.utils.clip_grad_norm_ is nn.utils.clip_grad_norm_


# ---------------------------------------------------------------------------------------------
# init
# ---------------------------------------------------------------------------------------------


def test_calculate_gain_matches_torch():
    for name, param in [("linear", None), ("sigmoid", None), ("tanh", None), ("relu", None),
                        ("leaky_relu", None), ("leaky_relu", 0.2), ("selu", None),
                        ("conv2d", None)]:
        assert nn.init.calculate_gain(name, param) == pytest.approx(
            torch.nn.init.calculate_gain(name, param))
    with pytest.raises(ValueError):
        nn.init.calculate_gain("swish")


INIT_CASES = [
    # name, call, expected (low, high) bound or None, expected mean, expected std
    ("uniform", lambda t: nn.init.uniform_(t, -2.0, 3.0), (-2.0, 3.0), 0.5, 5 / math.sqrt(12)),
    ("normal", lambda t: nn.init.normal_(t, 1.0, 0.5), None, 1.0, 0.5),
    ("xavier_uniform", lambda t: nn.init.xavier_uniform_(t, gain=2.0),
     (-2 * math.sqrt(6 / 300), 2 * math.sqrt(6 / 300)), 0.0, 2 * math.sqrt(2 / 300)),
    ("xavier_normal", lambda t: nn.init.xavier_normal_(t), None, 0.0, math.sqrt(2 / 300)),
    ("kaiming_uniform", lambda t: nn.init.kaiming_uniform_(t, nonlinearity="relu"),
     (-math.sqrt(6 / 100), math.sqrt(6 / 100)), 0.0, math.sqrt(2 / 100)),
    ("kaiming_normal_fan_out", lambda t: nn.init.kaiming_normal_(t, mode="fan_out",
                                                                  nonlinearity="relu"),
     None, 0.0, math.sqrt(2 / 200)),
]


@pytest.mark.parametrize("name,call,bounds,mean,std", INIT_CASES, ids=[c[0] for c in INIT_CASES])
def test_init_distributions_and_reproducibility(name, call, bounds, mean, std):
    t = nn.Parameter(mg.zeros(200, 100))  # fan_in 100, fan_out 200
    array = t.numpy()
    assert call(t) is t
    assert t.numpy() is array  # filled in place
    values = t.numpy()
    if bounds is not None:
        assert values.min() >= bounds[0] and values.max() <= bounds[1]
    # 20000 samples: the sample mean is within ~4 standard errors, the std within 3%.
    assert abs(values.mean() - mean) < 4 * std / math.sqrt(values.size)
    assert abs(values.std() - std) < 0.03 * std
    assert t.grad is None and t.grad_fn is None
    mg.manual_seed(11)
    a = call(nn.Parameter(mg.zeros(200, 100))).numpy()
    mg.manual_seed(11)
    b = call(nn.Parameter(mg.zeros(200, 100))).numpy()
    np.testing.assert_array_equal(a, b)


def test_constant_zeros_ones_and_fan_errors():
    t = mg.empty(3, 4)
    assert np.all(nn.init.constant_(t, 2.5).numpy() == 2.5)
    assert np.all(nn.init.zeros_(t).numpy() == 0)
    assert np.all(nn.init.ones_(t).numpy() == 1)
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        nn.init.xavier_uniform_(mg.empty(5))
    w = mg.empty(4, 3, 5)  # fan_in 15, fan_out 20 (receptive field 5)
    nn.init.kaiming_uniform_(w, a=math.sqrt(5))
    assert np.abs(w.numpy()).max() <= 1 / math.sqrt(15)


# ---------------------------------------------------------------------------------------------
# clip utils
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf])
@pytest.mark.parametrize("max_norm", [0.5, 100.0])
def test_clip_grad_norm_matches_torch(norm_type, max_norm):
    gen = np.random.default_rng(8)
    grads = [gen.standard_normal((3, 4)), gen.standard_normal(4)]
    params = [nn.Parameter(mg.zeros(*g.shape, dtype=mg.float64)) for g in grads]
    tparams = [torch.nn.Parameter(torch.zeros(g.shape, dtype=torch.float64)) for g in grads]
    for p, tp, g in zip(params, tparams, grads):
        p.grad = mg.tensor(g.copy())
        tp.grad = torch.tensor(g.copy())
    total = nn.utils.clip_grad_norm_(params, max_norm, norm_type)
    ttotal = torch.nn.utils.clip_grad_norm_(tparams, max_norm, norm_type)
    assert isinstance(total, mg.Tensor)
    np.testing.assert_allclose(total.item(), ttotal.item(), rtol=1e-12)
    for p, tp in zip(params, tparams):
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-12)


def test_clip_grad_norm_nonfinite_and_single_tensor():
    p = nn.Parameter(mg.zeros(2))
    p.grad = mg.tensor([np.inf, 1.0])
    with pytest.raises(RuntimeError, match="non-finite"):
        nn.utils.clip_grad_norm_(p, 1.0, error_if_nonfinite=True)
    q = nn.Parameter(mg.zeros(2))
    q.grad = mg.tensor([3.0, 4.0])
    assert nn.utils.clip_grad_norm_(q, 1.0).item() == pytest.approx(5.0)
    np.testing.assert_allclose(q.grad.numpy(), [0.6, 0.8], rtol=1e-5)
    assert nn.utils.clip_grad_norm_([nn.Parameter(mg.zeros(1))], 1.0).item() == 0.0


def test_clip_grad_value_matches_torch():
    g = np.random.default_rng(9).standard_normal((5, 5)) * 3
    p = nn.Parameter(mg.zeros(5, 5, dtype=mg.float64))
    p.grad = mg.tensor(g.copy())
    tp = torch.nn.Parameter(torch.zeros(5, 5, dtype=torch.float64))
    tp.grad = torch.tensor(g.copy())
    nn.utils.clip_grad_value_([p], 1.5)
    torch.nn.utils.clip_grad_value_([tp], 1.5)
    np.testing.assert_array_equal(p.grad.numpy(), tp.grad.numpy())
    assert np.abs(p.grad.numpy()).max() == 1.5


def test_seed_network_trains_like_torch():
    """The seed network (Linear(2,10) -> ReLU -> Linear(10,1), MSE) over a few SGD steps, done
    by hand on .grad, follows torch's trajectory in float64."""
    model = nn.Sequential(nn.Linear(2, 10), nn.ReLU(), nn.Linear(10, 1)).double()
    tmodel = torch_twin(model)
    copy_params(model, tmodel)
    gen = np.random.default_rng(10)
    x, y = gen.standard_normal((100, 2)), gen.standard_normal((100, 1))
    for _ in range(5):
        loss = nn.MSELoss()(model(mg.tensor(x)), mg.tensor(y))
        tloss = torch.nn.MSELoss()(tmodel(torch.tensor(x)), torch.tensor(y))
        np.testing.assert_allclose(loss.item(), tloss.item(), rtol=1e-10)
        model.zero_grad()
        tmodel.zero_grad()
        loss.backward()
        tloss.backward()
        with mg.no_grad(), torch.no_grad():
            for p, tp in zip(model.parameters(), tmodel.parameters()):
                p.data -= 0.1 * p.grad.data
                tp -= 0.1 * tp.grad
