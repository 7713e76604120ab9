"""nn.Sequential runs a Linear followed by ReLU, Sigmoid or Tanh as one fused node
(ops.nn.LinearActivation): the same values and gradients as the two nodes, bit for bit."""
import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.autograd import gradcheck, gradgradcheck
from minigrad.ops import nn as nn_ops

ACTIVATIONS = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh}
FUSED_OPS = {"relu": nn_ops.LinearReLU, "sigmoid": nn_ops.LinearSigmoid,
             "tanh": nn_ops.LinearTanh}


def _pair(act, sizes=(3, 8, 2), between=False):
    """Two models with the same weights: the fused Sequential, and the same layers kept apart
    by an Identity between the Linear and the activation (which stops the fusion)."""
    mg.manual_seed(0)
    fused = nn.Sequential(nn.Linear(sizes[0], sizes[1]), ACTIVATIONS[act](),
                          nn.Linear(sizes[1], sizes[2]))
    separate = nn.Sequential(fused[0], nn.Identity(), fused[1], fused[2])
    return fused, separate


def _grads(model, x):
    model.zero_grad()
    x = x.detach().requires_grad_(True)
    out = model(x)
    (out * mg.arange(out.numel(), dtype=out.dtype).reshape(out.shape)).sum().backward()
    return [out.numpy().copy(), x.grad.numpy().copy()] + [
        p.grad.numpy().copy() for p in model.parameters()]


@pytest.mark.parametrize("dtype", [mg.float32, mg.float64, mg.float16])
@pytest.mark.parametrize("act", sorted(ACTIVATIONS))
@pytest.mark.parametrize("shape", [(100, 3), (5, 4, 3), (1, 3), (0, 3)], ids=str)
def test_fused_equals_separate_bit_for_bit(backend, act, dtype, shape):
    fused, separate = _pair(act)
    fused.to(dtype)
    x = mg.randn(*shape, dtype=dtype) * 3  # both signs; relu's zeros too
    got, expected = _grads(fused, x), _grads(separate, x)
    for a, b in zip(got, expected):
        assert a.dtype == b.dtype and a.shape == b.shape
        assert np.array_equal(a, b, equal_nan=True)


@pytest.mark.parametrize("act", sorted(ACTIVATIONS))
def test_sequential_fuses_into_one_node(act):
    fused, separate = _pair(act)
    x = mg.randn(4, 3)
    inner = fused[:2](x)  # Linear + activation: the last node is the fused one
    assert type(inner.grad_fn) is FUSED_OPS[act]
    assert inner.grad_fn.name() == {"relu": "LinearReLUBackward0",
                                    "sigmoid": "LinearSigmoidBackward0",
                                    "tanh": "LinearTanhBackward0"}[act]
    # its inputs are the three leaves, as for a Linear node
    assert len(inner.grad_fn.next_functions) == 3
    assert type(separate[:3](x).grad_fn) is not FUSED_OPS[act]


@pytest.mark.filterwarnings("ignore:invalid value encountered")
def test_nan_and_inf_pass_as_in_the_separate_nodes(backend):
    fused, separate = _pair("relu")
    x = mg.tensor([[np.nan, 1.0, -2.0], [np.inf, -np.inf, 0.0], [0.0, 0.0, 0.0]])
    for a, b in zip(_grads(fused, x), _grads(separate, x)):
        assert np.array_equal(a, b, equal_nan=True)


@pytest.mark.parametrize("act", sorted(ACTIVATIONS))
def test_hooks_keep_the_layers_apart(act):
    """A hook on either module must see what it sees in PyTorch: the Linear's own output."""
    fused, _ = _pair(act)
    seen = []
    handle = fused[1].register_forward_hook(lambda m, args, out: seen.append(args[0]))
    x = mg.randn(4, 3)
    fused(x)
    (linear_out,) = seen
    assert np.array_equal(linear_out.numpy(), fused[0](x).numpy())
    assert linear_out.grad_fn.name() == "LinearBackward0"
    handle.remove()
    seen.clear()
    handle = fused[0].register_forward_hook(lambda m, args, out: seen.append(out))
    fused(x)
    assert len(seen) == 1 and seen[0].grad_fn.name() == "LinearBackward0"
    handle.remove()


@pytest.mark.parametrize("which", [0, 1])
def test_a_forward_replaced_on_the_instance_is_called(which):
    """Code that patches one module's forward (adapters, debugging) must see it run."""
    fused, _ = _pair("relu")
    original = fused[which].forward
    calls = []

    def patched(input):
        calls.append(input)
        return original(input) * 3
    fused[which].forward = patched
    x = mg.randn(4, 3)
    out = fused(x)
    assert len(calls) == 1
    hidden = fused[0](x)  # the patched forward (times 3) when which == 0
    expected = fused[2](hidden.relu() * 3 if which == 1 else hidden.relu())
    assert np.array_equal(out.numpy(), expected.numpy())


def test_subclasses_are_not_fused():
    class MyReLU(nn.ReLU):
        def forward(self, input):
            return super().forward(input) * 2

    mg.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), MyReLU())
    x = mg.randn(5, 3)
    assert np.array_equal(model(x).numpy(), model[0](x).relu().numpy() * 2)


def test_linear_shape_error_still_raised():
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU())
    with pytest.raises(RuntimeError, match="3"):
        model(mg.randn(5, 2))


@pytest.mark.parametrize("act", sorted(ACTIVATIONS))
@pytest.mark.parametrize("shape", [(4, 3), (2, 2, 3)], ids=str)
def test_fused_op_gradcheck_and_gradgradcheck(backend, act, shape):
    op = FUSED_OPS[act]
    rng = np.random.default_rng(1)
    x = mg.tensor(rng.standard_normal(shape), requires_grad=True)
    w = mg.tensor(rng.standard_normal((5, 3)), requires_grad=True)
    b = mg.tensor(rng.standard_normal(5), requires_grad=True)
    assert gradcheck(lambda x, w, b: op.apply(x, w, b), (x, w, b))
    assert gradgradcheck(lambda x, w, b: op.apply(x, w, b), (x, w, b))
    assert gradcheck(lambda x, w: op.apply(x, w, None), (x, w))


@pytest.mark.parametrize("act", sorted(ACTIVATIONS))
def test_sequential_matches_torch(act):
    torch = pytest.importorskip("torch")
    fused, _ = _pair(act, sizes=(6, 16, 3))
    t_model = torch.nn.Sequential(torch.nn.Linear(6, 16),
                                  {"relu": torch.nn.ReLU, "sigmoid": torch.nn.Sigmoid,
                                   "tanh": torch.nn.Tanh}[act](), torch.nn.Linear(16, 3))
    with torch.no_grad():
        for p, q in zip(t_model.parameters(), fused.parameters()):
            p.copy_(torch.from_numpy(q.numpy().copy()))
    x_np = np.random.default_rng(2).standard_normal((32, 6)).astype(np.float32)
    x, tx = mg.tensor(x_np, requires_grad=True), torch.tensor(x_np, requires_grad=True)
    out, t_out = fused(x), t_model(tx)
    (out ** 2).sum().backward()
    (t_out ** 2).sum().backward()
    np.testing.assert_allclose(out.numpy(), t_out.detach().numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-4, atol=1e-5)
    for p, q in zip(fused.parameters(), t_model.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-4, atol=1e-5)
