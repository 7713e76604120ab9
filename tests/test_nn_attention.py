"""Attention against PyTorch's: F.scaled_dot_product_attention (masks, causal, scale, grouped
heads, dropout), nn.MultiheadAttention, nn.TransformerEncoderLayer / TransformerEncoder
(parameter names and shapes: a PyTorch state dict loads and gives the same outputs and
gradients in float64), gradcheck/gradgradcheck, default initialisation and PyTorch's
exceptions."""
import math

import _nn_fallbacks
import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.autograd import gradcheck, gradgradcheck
from minigrad.nn import functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional


@pytest.fixture
def norm_and_gelu(monkeypatch):
    """nn.LayerNorm and F.gelu, composed stand-ins while their families are not merged."""
    _nn_fallbacks.install(monkeypatch)


def _both(a, requires_grad=False):
    return mg.tensor(a, requires_grad=requires_grad), torch.tensor(a,
                                                                   requires_grad=requires_grad)


def _check_close(m, t, rtol=1e-10, atol=1e-12):
    assert tuple(m.shape) == tuple(t.shape)
    np.testing.assert_allclose(m.numpy(), t.detach().numpy(), rtol=rtol, atol=atol)


# ----- scaled_dot_product_attention -----------------------------------------------------------

rng0 = np.random.default_rng(0)
SDPA = [  # (q shape, k shape, v shape, kwargs builder)
    ((2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 7), {}),
    ((4, 5), (6, 5), (6, 3), {}),
    ((2, 4, 5), (2, 4, 5), (2, 4, 5), {"is_causal": True}),
    ((1, 2, 3, 5), (1, 2, 6, 5), (1, 2, 6, 5), {"is_causal": True}),  # L < S: top-left
    ((2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 5), {"attn_mask": rng0.random((4, 6)) > 0.3}),
    ((2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 5),
     {"attn_mask": rng0.random((2, 1, 4, 6)) > 0.3}),
    ((2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 5), {"attn_mask": rng0.standard_normal((4, 6))}),
    ((2, 2, 4, 5), (2, 2, 6, 5), (2, 2, 6, 5), {"scale": 0.3}),
    ((2, 4, 3, 5), (2, 2, 6, 5), (2, 2, 6, 5), {"enable_gqa": True}),
    ((2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 5),  # row 1 sees no key: 0, not NaN
     {"attn_mask": np.array([[True] * 6, [False] * 6, [True, False] * 3, [False] * 5 + [True]])}),
]


def _sdpa_kwargs(kwargs, lib):
    out = dict(kwargs)
    if "attn_mask" in out:
        out["attn_mask"] = (mg.tensor if lib == "mg" else torch.tensor)(out["attn_mask"])
    return out


@pytest.mark.parametrize("qs, ks, vs, kwargs", SDPA)
def test_sdpa_matches_torch(backend, qs, ks, vs, kwargs):
    rng = np.random.default_rng(1)
    (mq, tq), (mk, tk), (mv, tv) = [_both(rng.standard_normal(s), True) for s in (qs, ks, vs)]
    mo = F.scaled_dot_product_attention(mq, mk, mv, **_sdpa_kwargs(kwargs, "mg"))
    to = TF.scaled_dot_product_attention(tq, tk, tv, **_sdpa_kwargs(kwargs, "torch"))
    _check_close(mo, to)
    w = rng.standard_normal(tuple(to.shape))
    (mo * mg.tensor(w)).sum().backward()
    (to * torch.tensor(w)).sum().backward()
    for m, t in ((mq, tq), (mk, tk), (mv, tv)):
        np.testing.assert_allclose(m.grad.numpy(), t.grad.numpy(), rtol=1e-9, atol=1e-11)


def test_sdpa_float32_and_float_mask_gradient():
    rng = np.random.default_rng(2)
    q, k, v = (rng.standard_normal((2, 3, 4, 8)).astype(np.float32) for _ in range(3))
    mask = rng.standard_normal((4, 4)).astype(np.float32)
    mo = F.scaled_dot_product_attention(mg.tensor(q), mg.tensor(k), mg.tensor(v))
    to = TF.scaled_dot_product_attention(torch.tensor(q), torch.tensor(k), torch.tensor(v))
    assert mo.dtype == mg.float32
    np.testing.assert_allclose(mo.numpy(), to.numpy(), rtol=1e-5, atol=1e-6)
    mm, tm = _both(mask.astype(np.float64), True)
    args = [rng.standard_normal((2, 3, 4, 8)) for _ in range(3)]
    mo = F.scaled_dot_product_attention(*[mg.tensor(a) for a in args], attn_mask=mm)
    to = TF.scaled_dot_product_attention(*[torch.tensor(a) for a in args], attn_mask=tm)
    mo.pow(2).sum().backward()
    to.pow(2).sum().backward()
    np.testing.assert_allclose(mm.grad.numpy(), tm.grad.numpy(), rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("kwargs", [{}, {"is_causal": True}, {"scale": 0.7}])
def test_sdpa_gradcheck_and_gradgradcheck(backend, kwargs):
    rng = np.random.default_rng(3)
    q, k, v = (mg.tensor(rng.standard_normal((2, 3, 4)), requires_grad=True) for _ in range(3))

    def f(q, k, v):
        return F.scaled_dot_product_attention(q, k, v, **kwargs)

    assert gradcheck(f, (q, k, v))
    assert gradgradcheck(f, (q, k, v))


def test_sdpa_second_derivative_matches_torch():
    rng = np.random.default_rng(4)
    arrays = [rng.standard_normal((2, 3, 4)) for _ in range(3)]
    m = [mg.tensor(a, requires_grad=True) for a in arrays]
    t = [torch.tensor(a, requires_grad=True) for a in arrays]
    mg_g = mg.autograd.grad(F.scaled_dot_product_attention(*m, is_causal=True).pow(2).sum(),
                            m, create_graph=True)
    t_g = torch.autograd.grad(TF.scaled_dot_product_attention(*t, is_causal=True).pow(2).sum(),
                              t, create_graph=True)
    sum(g.pow(2).sum() for g in mg_g).backward()
    sum(g.pow(2).sum() for g in t_g).backward()
    for a, b in zip(m, t):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-8, atol=1e-10)


def test_sdpa_dropout():
    """dropout_p=1 zeroes the output; p=0.5 keeps the expectation (inverted dropout): with
    v = 1 every output is sum(mask * softmax) / (1 - p), whose mean is 1."""
    q, k = mg.randn(4, 16, 8), mg.randn(4, 16, 8)
    v = mg.ones(4, 16, 8)
    assert np.all(F.scaled_dot_product_attention(q, k, v, dropout_p=1.0).numpy() == 0)
    out = F.scaled_dot_product_attention(q, k, v, dropout_p=0.5).numpy()
    assert abs(out.mean() - 1.0) < 0.1 and out.std() > 0.1
    with pytest.raises(ValueError):
        F.scaled_dot_product_attention(q, k, v, dropout_p=1.5)


@pytest.mark.parametrize("make", [
    lambda lib, T: lib.scaled_dot_product_attention(T((2, 3, 4)), T((2, 3, 4)), T((2, 3, 4)),
                                                    attn_mask=T((3, 3)), is_causal=True),
    lambda lib, T: lib.scaled_dot_product_attention(T((2, 3, 4)), T((2, 3, 5)), T((2, 3, 4))),
    lambda lib, T: lib.scaled_dot_product_attention(T((2, 3, 4)), T((2, 5, 4)), T((2, 3, 4))),
    lambda lib, T: lib.scaled_dot_product_attention(T((2, 3, 4)), T((2, 3, 4)), T((2, 3, 4)),
                                                    attn_mask=T((2, 4))),
])
def test_sdpa_errors_match_torch(make):
    with pytest.raises(Exception) as info:
        make(TF, lambda s: torch.zeros(s))
    with pytest.raises(type(info.value)):
        make(F, lambda s: mg.zeros(s))


# ----- MultiheadAttention ---------------------------------------------------------------------

def _some_masked(shape):
    """A bool mask (True = masked) that leaves every query at least key 0."""
    mask = np.random.default_rng(6).random(shape) > 0.6
    mask[..., 0] = False
    return mask


MHA = [  # (kwargs, query shape, key shape or None (self-attention), forward kwargs)
    ({}, (5, 2, 8), None, {}),
    ({"batch_first": True}, (2, 5, 8), None, {"average_attn_weights": False}),
    ({}, (5, 8), None, {}),                                              # unbatched
    ({"bias": False}, (5, 2, 8), (7, 2, 8), {}),                        # cross-attention
    ({}, (5, 2, 8), None, {"need_weights": False}),
    ({"batch_first": True}, (2, 5, 8), None,
     {"key_padding_mask": np.array([[False] * 5, [False] * 3 + [True] * 2])}),
    ({}, (5, 2, 8), None, {"attn_mask": np.triu(np.ones((5, 5), bool), 1), "is_causal": True,
                           "need_weights": False}),
    ({}, (5, 2, 8), None, {"attn_mask": np.random.default_rng(5).standard_normal((5, 5))}),
    ({}, (5, 2, 8), (4, 2, 8), {"attn_mask": _some_masked((4, 5, 4)),
                                "key_padding_mask": np.random.default_rng(7).standard_normal(
                                    (2, 4))}),
]


def _mha_pair(kwargs, E=8, heads=2):
    m = nn.MultiheadAttention(E, heads, **kwargs).double()
    t = torch.nn.MultiheadAttention(E, heads, **kwargs).double()
    tstate = t.state_dict()
    assert list(m.state_dict()) == list(tstate)
    for key, value in m.state_dict().items():
        assert tuple(value.shape) == tuple(tstate[key].shape)
    m.load_state_dict({k: v.numpy() for k, v in tstate.items()})
    return m, t


@pytest.mark.parametrize("kwargs, qs, ks, fkw", MHA)
def test_mha_matches_torch(backend, kwargs, qs, ks, fkw):
    m, t = _mha_pair(kwargs)
    rng = np.random.default_rng(8)
    mq, tq = _both(rng.standard_normal(qs), True)
    if ks is None:
        mk = mv = mq
        tk = tv = tq
    else:
        mk, tk = _both(rng.standard_normal(ks), True)
        mv, tv = _both(rng.standard_normal(ks), True)
    mf = {k: mg.tensor(v) if isinstance(v, np.ndarray) else v for k, v in fkw.items()}
    tf = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in fkw.items()}
    mo, mw = m(mq, mk, mv, **mf)
    to, tw = t(tq, tk, tv, **tf)
    _check_close(mo, to)
    assert (mw is None) == (tw is None)
    loss_m = (mo * mg.tensor(np.cos(np.arange(mo.numel())).reshape(tuple(mo.shape)))).sum()
    loss_t = (to * torch.tensor(np.cos(np.arange(to.numel())).reshape(tuple(to.shape)))).sum()
    if mw is not None:
        _check_close(mw, tw)
        loss_m = loss_m + mw.pow(2).sum()
        loss_t = loss_t + tw.pow(2).sum()
    loss_m.backward()
    loss_t.backward()
    np.testing.assert_allclose(mq.grad.numpy(), tq.grad.numpy(), rtol=1e-9, atol=1e-11)
    for (name, p), (tname, tp) in zip(m.named_parameters(), t.named_parameters()):
        assert name == tname
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-9, atol=1e-11,
                                   err_msg=name)


def test_mha_init_and_attributes():
    m = nn.MultiheadAttention(16, 4)
    t = torch.nn.MultiheadAttention(16, 4)
    assert repr(m) == repr(t)
    for attr in ("embed_dim", "num_heads", "head_dim", "dropout", "batch_first", "kdim",
                 "vdim", "_qkv_same_embed_dim"):
        assert getattr(m, attr) == getattr(t, attr), attr
    assert m.in_proj_weight.dtype == mg.float32
    assert np.all(m.in_proj_bias.numpy() == 0) and np.all(m.out_proj.bias.numpy() == 0)
    bound = math.sqrt(6.0 / (16 + 48))  # xavier_uniform_ on (3E, E)
    w = m.in_proj_weight.numpy()
    assert np.all(np.abs(w) <= bound) and np.abs(w).max() > 0.9 * bound
    wo = m.out_proj.weight.numpy()
    assert np.all(np.abs(wo) <= 1 / 4) and np.abs(wo).max() > 0.8 / 4  # Linear's default


def test_mha_gradcheck_and_gradgradcheck():
    m = nn.MultiheadAttention(4, 2).double()
    x = mg.tensor(np.random.default_rng(9).standard_normal((3, 2, 4)), requires_grad=True)

    def f(x):
        out, w = m(x, x, x)
        return out.sum(-1) + w.pow(2).sum(-1).transpose(0, 1)

    assert gradcheck(f, (x,))
    assert gradgradcheck(f, (x,))


@pytest.mark.parametrize("make", [
    lambda lib, T: lib.MultiheadAttention(10, 3),
    lambda lib, T: lib.MultiheadAttention(8, 2)(T((5, 2, 6)), T((5, 2, 6)), T((5, 2, 6))),
    lambda lib, T: lib.MultiheadAttention(8, 2)(T((5, 2, 8)), T((5, 8)), T((5, 8))),
    lambda lib, T: lib.MultiheadAttention(8, 2)(T((5, 2, 8)), T((5, 2, 8)), T((5, 2, 8)),
                                                attn_mask=T((4, 4))),
    lambda lib, T: lib.MultiheadAttention(8, 2)(T((5, 2, 8)), T((5, 2, 8)), T((5, 2, 8)),
                                                is_causal=True),
])
def test_mha_errors_match_torch(make):
    with pytest.raises(Exception) as info:
        make(torch.nn, lambda s: torch.zeros(s))
    with pytest.raises(type(info.value)):
        make(nn, lambda s: mg.zeros(s))


# ----- Transformer encoder --------------------------------------------------------------------

ENC = [
    ({}, (5, 2, 8), {}),
    ({"activation": "gelu", "norm_first": True}, (5, 2, 8), {}),
    ({"batch_first": True, "bias": False}, (2, 5, 8), {}),
    ({}, (5, 8), {}),                                                    # unbatched
    ({"batch_first": True}, (2, 5, 8),
     {"src_mask": np.triu(np.full((5, 5), -np.inf), 1), "is_causal": True}),
    ({"layer_norm_eps": 1e-3}, (5, 2, 8),
     {"src_key_padding_mask": np.array([[False] * 5, [False] * 4 + [True]]).T.T}),
]


def _enc_pair(kwargs):
    m = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, **kwargs).double()
    t = torch.nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, **kwargs).double()
    tstate = t.state_dict()
    assert list(m.state_dict()) == list(tstate)
    m.load_state_dict({k: v.numpy() for k, v in tstate.items()})
    return m, t


@pytest.mark.parametrize("kwargs, shape, fkw", ENC)
def test_encoder_layer_matches_torch(norm_and_gelu, kwargs, shape, fkw):
    m, t = _enc_pair(kwargs)
    m.eval()
    t.eval()
    x = np.random.default_rng(10).standard_normal(shape)
    mx, tx = _both(x, True)
    mf = {k: mg.tensor(v) if isinstance(v, np.ndarray) else v for k, v in fkw.items()}
    tf = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in fkw.items()}
    mo, to = m(mx, **mf), t(tx, **tf)
    _check_close(mo, to, rtol=1e-9, atol=1e-11)
    w = np.random.default_rng(11).standard_normal(tuple(to.shape))
    (mo * mg.tensor(w)).sum().backward()
    (to * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(mx.grad.numpy(), tx.grad.numpy(), rtol=1e-8, atol=1e-10)
    for (name, p), (tname, tp) in zip(m.named_parameters(), t.named_parameters()):
        assert name == tname
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-8, atol=1e-10,
                                   err_msg=name)


def test_encoder_stack_matches_torch(norm_and_gelu):
    layer = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, batch_first=True)
    tlayer = torch.nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, batch_first=True)
    m = nn.TransformerEncoder(layer, 3, norm=nn.LayerNorm(8)).double().eval()
    t = torch.nn.TransformerEncoder(tlayer, 3, norm=torch.nn.LayerNorm(8),
                                    enable_nested_tensor=False).double().eval()
    assert list(m.state_dict()) == list(t.state_dict())
    m.load_state_dict({k: v.numpy() for k, v in t.state_dict().items()})
    x = np.random.default_rng(12).standard_normal((2, 6, 8))
    mask = np.triu(np.ones((6, 6), bool), 1)
    mx, tx = _both(x, True)
    mo = m(mx, mask=mg.tensor(mask))
    to = t(tx, mask=torch.tensor(mask))
    _check_close(mo, to, rtol=1e-9, atol=1e-11)
    mo.pow(2).sum().backward()
    to.pow(2).sum().backward()
    np.testing.assert_allclose(mx.grad.numpy(), tx.grad.numpy(), rtol=1e-8, atol=1e-10)


def test_encoder_layer_dropout_and_activation(norm_and_gelu):
    m = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.5)
    x = mg.randn(5, 2, 8)
    m.train()
    a, b = m(x).numpy(), m(x).numpy()
    assert not np.allclose(a, b)          # dropout is drawn anew in training
    m.eval()
    np.testing.assert_array_equal(m(x).numpy(), m(x).numpy())
    custom = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, activation=mg.tanh)
    assert custom.activation is mg.tanh
    with pytest.raises(RuntimeError, match="activation should be relu/gelu"):
        nn.TransformerEncoderLayer(8, 2, activation="swish")
    with pytest.raises(RuntimeError):
        torch.nn.TransformerEncoderLayer(8, 2, activation="swish")


def test_encoder_layer_gradgradcheck(norm_and_gelu):
    m = nn.TransformerEncoderLayer(4, 2, dim_feedforward=6, dropout=0.0).double()
    x = mg.tensor(np.random.default_rng(13).standard_normal((3, 2, 4)), requires_grad=True)
    assert gradcheck(m, (x,))
    assert gradgradcheck(m, (x,))
