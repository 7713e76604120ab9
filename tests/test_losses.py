"""Loss functions and modules: values and gradients against PyTorch (float64, every
reduction, both kernel backends), finite differences, extreme logits, and bad input."""
import numpy as np
import pytest

import minigrad as mg
import minigrad.nn.functional as F
from minigrad import nn
from minigrad.autograd import gradcheck, gradgradcheck

torch = pytest.importorskip("torch")
TF = torch.nn.functional

REDUCTIONS = ["mean", "sum", "none"]


def _mg(array, requires_grad=False):
    return mg.tensor(np.array(array), requires_grad=requires_grad)


def _torch(array, requires_grad=False):
    return torch.tensor(np.array(array), requires_grad=requires_grad)


def compare_with_torch(mg_fn, torch_fn, arrays, requires_grad, rtol=1e-9, atol=1e-12):
    """Run both functions on the same arrays; compare outputs and every gradient, seeding
    backward with the same random vector (so 'none' reductions are checked too)."""
    m_in = [_mg(a, r) for a, r in zip(arrays, requires_grad)]
    t_in = [_torch(a, r) for a, r in zip(arrays, requires_grad)]
    m_out, t_out = mg_fn(*m_in), torch_fn(*t_in)
    expected = t_out.detach().numpy()
    assert m_out.numpy().shape == expected.shape
    assert m_out.numpy().dtype == expected.dtype
    np.testing.assert_allclose(m_out.numpy(), expected, rtol=rtol, atol=atol)
    seed = np.random.default_rng(1).standard_normal(expected.shape)
    m_out.backward(mg.tensor(seed))
    t_out.backward(torch.tensor(seed))
    for m, t, r in zip(m_in, t_in, requires_grad):
        if r:
            assert m.grad is not None
            np.testing.assert_allclose(m.grad.numpy(), t.grad.numpy(), rtol=rtol, atol=atol)
    return m_out


rng = np.random.default_rng(0)
X = rng.standard_normal((5, 3)) * 2
Y = rng.standard_normal((5, 3)) * 2
W = rng.uniform(0.1, 2.0, (5, 3))

REGRESSION_CASES = [
    ("mse", lambda r: (lambda x, y: F.mse_loss(x, y, reduction=r)),
     lambda r: (lambda x, y: TF.mse_loss(x, y, reduction=r))),
    ("l1", lambda r: (lambda x, y: F.l1_loss(x, y, reduction=r)),
     lambda r: (lambda x, y: TF.l1_loss(x, y, reduction=r))),
    ("smooth_l1", lambda r: (lambda x, y: F.smooth_l1_loss(x, y, reduction=r)),
     lambda r: (lambda x, y: TF.smooth_l1_loss(x, y, reduction=r))),
    ("smooth_l1_beta0.5", lambda r: (lambda x, y: F.smooth_l1_loss(x, y, reduction=r, beta=0.5)),
     lambda r: (lambda x, y: TF.smooth_l1_loss(x, y, reduction=r, beta=0.5))),
    ("smooth_l1_beta0", lambda r: (lambda x, y: F.smooth_l1_loss(x, y, reduction=r, beta=0.0)),
     lambda r: (lambda x, y: TF.smooth_l1_loss(x, y, reduction=r, beta=0.0))),
    ("huber", lambda r: (lambda x, y: F.huber_loss(x, y, reduction=r)),
     lambda r: (lambda x, y: TF.huber_loss(x, y, reduction=r))),
    ("huber_delta0.3", lambda r: (lambda x, y: F.huber_loss(x, y, reduction=r, delta=0.3)),
     lambda r: (lambda x, y: TF.huber_loss(x, y, reduction=r, delta=0.3))),
]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name,mg_maker,torch_maker", REGRESSION_CASES,
                         ids=[c[0] for c in REGRESSION_CASES])
@pytest.mark.parametrize("target_grad", [False, True])
def test_regression_losses_match_torch(backend, name, mg_maker, torch_maker, reduction,
                                       target_grad):
    compare_with_torch(mg_maker(reduction), torch_maker(reduction), [X, Y],
                       [True, target_grad])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "huber_loss"])
def test_weighted_regression_losses_match_torch(backend, name, reduction):
    compare_with_torch(lambda x, y, w: getattr(F, name)(x, y, reduction=reduction, weight=w),
                       lambda x, y, w: getattr(TF, name)(x, y, reduction=reduction, weight=w),
                       [X, Y, W], [True, True, False])


def test_mse_is_one_fused_node_and_float32(backend):
    x = mg.randn(100, 1, requires_grad=True)
    y = mg.randn(100, 1)
    loss = F.mse_loss(x, y)
    assert loss.dtype == mg.float32
    (x_fn, _), (y_fn, _) = loss.grad_fn.next_functions  # one node, straight on the leaves
    assert x_fn.variable is x and y_fn is None  # (y needs no gradient)
    loss.backward()
    expected = 2 * (x.numpy() - y.numpy()) / 100
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-5)
    assert x.grad.dtype == mg.float32


def test_mse_float32_input_float64_target_promotes_like_torch():
    x32 = rng.standard_normal(4).astype(np.float32)
    y64 = rng.standard_normal(4)
    m = F.mse_loss(mg.tensor(x32), mg.tensor(y64))
    t = TF.mse_loss(torch.tensor(x32), torch.tensor(y64))
    assert m.dtype == mg.float64 and t.dtype == torch.float64
    np.testing.assert_allclose(m.item(), t.item(), rtol=1e-12)


def test_mse_empty_mean_is_nan_like_torch():
    out = F.mse_loss(mg.zeros(0), mg.zeros(0))
    assert np.isnan(out.item()) and np.isnan(TF.mse_loss(torch.zeros(0), torch.zeros(0)).item())


@pytest.mark.parametrize("fn", [F.binary_cross_entropy, F.binary_cross_entropy_with_logits])
def test_bce_shape_mismatch_raises_value_error_naming_both(fn):
    """The BCE losses refuse different sizes (ValueError, as PyTorch); the regression losses
    broadcast with a warning (tests/test_losses_zoo.py)."""
    x = mg.rand(5, 1, requires_grad=True)
    y = mg.rand(5)
    with pytest.raises(ValueError, match=r"\[5\].*\[5, 1\]"):
        fn(x, y)


@pytest.mark.parametrize("fn", [F.mse_loss, F.l1_loss, F.smooth_l1_loss, F.huber_loss,
                                F.binary_cross_entropy, F.binary_cross_entropy_with_logits])
def test_bad_reduction_raises_value_error(fn):
    with pytest.raises(ValueError, match="bogus is not a valid value for reduction"):
        fn(mg.rand(3), mg.rand(3), reduction="bogus")


@pytest.mark.parametrize("module", [nn.MSELoss, nn.L1Loss, nn.SmoothL1Loss, nn.HuberLoss,
                                    nn.BCELoss, nn.BCEWithLogitsLoss, nn.CrossEntropyLoss,
                                    nn.NLLLoss])
def test_loss_module_bad_reduction_and_repr(module):
    with pytest.raises(ValueError, match="not a valid value for reduction"):
        module(reduction="avg")
    assert repr(module()) == repr(getattr(torch.nn, module.__name__)())


def test_negative_beta_and_delta_rejected():
    with pytest.raises(ValueError, match="beta"):
        F.smooth_l1_loss(mg.rand(2), mg.rand(2), beta=-1.0)
    with pytest.raises(ValueError, match="delta"):
        F.huber_loss(mg.rand(2), mg.rand(2), delta=0.0)


# ---------------------------------------------------------------------------------------------
# Binary cross-entropy
# ---------------------------------------------------------------------------------------------

P = rng.uniform(0.02, 0.98, (4, 3))
T01 = rng.uniform(0, 1, (4, 3))
LOGITS_EXTREME = np.array([[1e4, -500.0, 0.0], [30.0, -30.0, 1e-3], [-1e4, 500.0, 2.0],
                           [7.0, -7.0, 0.5]])
WEIGHT_ROW = rng.uniform(0.5, 2.0, (3,))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
def test_bce_matches_torch(backend, reduction, weighted):
    w = [WEIGHT_ROW] if weighted else []
    compare_with_torch(
        lambda x, t, *w: F.binary_cross_entropy(x, t, *w, reduction=reduction),
        lambda x, t, *w: TF.binary_cross_entropy(x, t, *w, reduction=reduction),
        [P, T01] + w, [True, True] + [False] * len(w))


def test_bce_log_is_clamped_at_minus_100_like_torch():
    x = np.array([0.0, 1.0, 0.5])
    t = np.array([1.0, 0.0, 1.0])
    m = F.binary_cross_entropy(mg.tensor(x), mg.tensor(t), reduction="none")
    expected = TF.binary_cross_entropy(torch.tensor(x), torch.tensor(t), reduction="none")
    np.testing.assert_allclose(m.numpy(), expected.numpy())
    assert m.numpy()[0] == 100.0  # -log(0) clamped, by hand


def test_bce_rejects_inputs_outside_unit_interval():
    with pytest.raises(ValueError, match="between 0 and 1"):
        F.binary_cross_entropy(mg.tensor([0.5, 1.5]), mg.tensor([1.0, 0.0]))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("options", ["plain", "weight", "pos_weight", "both"])
def test_bce_with_logits_matches_torch_even_for_extreme_logits(backend, reduction, options):
    extra, flags, keys = [], [], []
    if options in ("weight", "both"):
        extra.append(np.array([[0.5], [1.0], [2.0], [1.5]]))
        keys.append("weight")
    if options in ("pos_weight", "both"):
        extra.append(np.array([0.5, 3.0, 1.0]))
        keys.append("pos_weight")
    flags = [True, True] + [False] * len(extra)

    def call(fn):
        return lambda x, t, *e: fn(x, t, reduction=reduction, **dict(zip(keys, e)))

    out = compare_with_torch(call(F.binary_cross_entropy_with_logits),
                             call(TF.binary_cross_entropy_with_logits),
                             [LOGITS_EXTREME, T01] + extra, flags)
    assert np.all(np.isfinite(out.numpy()))


def test_bce_with_logits_is_one_fused_node(backend):
    x = mg.tensor(LOGITS_EXTREME, requires_grad=True)
    loss = F.binary_cross_entropy_with_logits(x, mg.tensor(T01), reduction="sum")
    assert loss.grad_fn.next_functions[0][0].variable is x  # one node, straight on the leaf
    loss.backward()
    sigmoid = 1 / (1 + np.exp(-np.clip(LOGITS_EXTREME, -700, 700)))
    np.testing.assert_allclose(x.grad.numpy(), sigmoid - T01, atol=1e-15)


# ---------------------------------------------------------------------------------------------
# Cross-entropy and NLL
# ---------------------------------------------------------------------------------------------

Z = rng.standard_normal((6, 4)) * 3
LABELS = np.array([0, 3, 1, 1, 2, 3])
Z_EXTREME = np.array([[1e4, 0.0, -1e4], [-500.0, 500.0, 0.0], [1e4, 1e4, -500.0],
                      [0.0, 0.0, 0.0]])
LABELS_EXTREME = np.array([2, 0, 1, 1])
CLASS_WEIGHT = np.array([0.2, 1.0, 2.5, 0.7])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("options", [{}, {"label_smoothing": 0.2}, {"weight": True},
                                     {"weight": True, "label_smoothing": 0.1},
                                     {"ignore_index": 1}, {"ignore_index": 3, "weight": True,
                                                           "label_smoothing": 0.3}],
                         ids=["plain", "smoothing", "weight", "weight+smoothing", "ignore",
                              "all"])
def test_cross_entropy_indices_matches_torch(backend, reduction, options):
    options = dict(options)
    arrays, flags = [Z, LABELS], [True, False]
    if options.pop("weight", False):
        arrays.append(CLASS_WEIGHT)
        flags.append(False)

    def call(fn):
        return lambda z, y, *w: fn(z, y, *w, reduction=reduction, **options)

    compare_with_torch(call(F.cross_entropy), call(TF.cross_entropy), arrays, flags)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_extreme_logits_finite_like_torch(backend, reduction):
    out = compare_with_torch(lambda z, y: F.cross_entropy(z, y, reduction=reduction),
                             lambda z, y: TF.cross_entropy(z, y, reduction=reduction),
                             [Z_EXTREME, LABELS_EXTREME], [True, False])
    assert np.all(np.isfinite(out.numpy()))
    # Row 0 is certain of class 0 but the label is 2: loss 2e4 (by hand: logsumexp = 1e4).
    if reduction == "none":
        assert out.numpy()[0] == pytest.approx(2e4)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("smoothing", [0.0, 0.25])
@pytest.mark.parametrize("weighted", [False, True])
def test_cross_entropy_probabilities_matches_torch(backend, reduction, smoothing, weighted):
    probs = rng.dirichlet(np.ones(4), size=6)
    arrays, flags = [Z, probs], [True, True]
    if weighted:
        arrays.append(CLASS_WEIGHT)
        flags.append(False)

    def call(fn):
        return lambda z, t, *w: fn(z, t, *w, reduction=reduction, label_smoothing=smoothing)

    compare_with_torch(call(F.cross_entropy), call(TF.cross_entropy), arrays, flags)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_unbatched_and_spatial_match_torch(backend, reduction):
    compare_with_torch(lambda z, y: F.cross_entropy(z, y, reduction=reduction),
                       lambda z, y: TF.cross_entropy(z, y, reduction=reduction),
                       [Z[0], np.array(2)], [True, False])
    z3 = rng.standard_normal((2, 4, 3))
    y3 = np.array([[0, 3, 1], [2, 2, 0]])
    compare_with_torch(lambda z, y: F.cross_entropy(z, y, reduction=reduction),
                       lambda z, y: TF.cross_entropy(z, y, reduction=reduction),
                       [z3, y3], [True, False])


def test_cross_entropy_fused_path_is_one_node_float32(backend):
    z = mg.randn(8, 5, requires_grad=True)
    y = mg.randint(0, 5, (8,))
    loss = F.cross_entropy(z, y)
    assert loss.dtype == mg.float32
    assert loss.grad_fn.next_functions[0][0].variable is z  # one node, straight on the leaf
    loss.backward()
    zz = z.numpy().astype(np.float64)
    p = np.exp(zz - zz.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    p[np.arange(8), y.numpy()] -= 1
    np.testing.assert_allclose(z.grad.numpy(), p / 8, rtol=1e-4, atol=1e-7)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("ignore_index", [-100, 1])
def test_nll_loss_matches_torch(backend, reduction, weighted, ignore_index):
    logp = Z - np.log(np.exp(Z).sum(1, keepdims=True))
    arrays, flags = [logp, LABELS], [True, False]
    if weighted:
        arrays.append(CLASS_WEIGHT)
        flags.append(False)

    def call(fn):
        return lambda x, y, *w: fn(x, y, *w, reduction=reduction, ignore_index=ignore_index)

    compare_with_torch(call(F.nll_loss), call(TF.nll_loss), arrays, flags)


def test_log_softmax_then_nll_equals_cross_entropy():
    z = mg.tensor(Z, requires_grad=True)
    y = mg.tensor(LABELS)
    a = F.nll_loss(F.log_softmax(z, dim=1), y)
    b = F.cross_entropy(z, y)
    np.testing.assert_allclose(a.item(), b.item(), rtol=1e-12)


def test_cross_entropy_target_out_of_range_names_value_and_classes():
    z = mg.randn(3, 4)
    with pytest.raises(IndexError, match=r"target 4 is out of bounds.*\[0, 4\)"):
        F.cross_entropy(z, mg.tensor([1, 2, 4]))
    with pytest.raises(IndexError, match="target -1"):
        F.cross_entropy(z, mg.tensor([1, -1, 0]))
    with pytest.raises(IndexError, match="target 7"):
        nn.NLLLoss()(z, mg.tensor([7, 0, 0]))


def test_cross_entropy_wrong_batch_size_names_shapes():
    with pytest.raises(mg.ShapeError, match=r"batch_size \(3\).*batch_size \(2\).*\(3, 4\).*\(2,\)"):
        F.cross_entropy(mg.randn(3, 4), mg.tensor([1, 2]))


def test_cross_entropy_float_target_of_wrong_shape_explains():
    with pytest.raises(mg.ShapeError, match=r"class probabilities.*\(3, 4\).*int64"):
        F.cross_entropy(mg.randn(3, 4), mg.tensor([1.0, 2.0, 3.0]))


def test_nll_loss_rejects_float_targets_and_bad_weight():
    with pytest.raises(TypeError, match="integer class indices"):
        F.nll_loss(mg.randn(3, 4), mg.rand(3, 4))
    with pytest.raises(mg.ShapeError, match=r"weight has shape \(3,\)"):
        F.cross_entropy(mg.randn(3, 4), mg.tensor([0, 1, 2]), weight=mg.ones(3))


def test_cross_entropy_bad_label_smoothing():
    with pytest.raises(ValueError, match="label_smoothing"):
        F.cross_entropy(mg.randn(3, 4), mg.tensor([0, 1, 2]), label_smoothing=1.5)


def test_loss_modules_equal_functions_and_keep_weight_buffer():
    z = mg.tensor(Z)
    y = mg.tensor(LABELS)
    w = mg.tensor(CLASS_WEIGHT)
    module = nn.CrossEntropyLoss(weight=w, label_smoothing=0.1, reduction="sum")
    expected = TF.cross_entropy(torch.tensor(Z), torch.tensor(LABELS),
                                weight=torch.tensor(CLASS_WEIGHT), label_smoothing=0.1,
                                reduction="sum")
    np.testing.assert_allclose(module(z, y).item(), expected.item(), rtol=1e-12)
    assert list(module.state_dict()) == list(torch.nn.CrossEntropyLoss(
        weight=torch.tensor(CLASS_WEIGHT)).state_dict()) == ["weight"]
    x, t = mg.tensor(X), mg.tensor(Y)
    for module_cls, fn in [(nn.MSELoss, TF.mse_loss), (nn.L1Loss, TF.l1_loss),
                           (nn.SmoothL1Loss, TF.smooth_l1_loss), (nn.HuberLoss, TF.huber_loss)]:
        np.testing.assert_allclose(module_cls(reduction="sum")(x, t).item(),
                                   fn(torch.tensor(X), torch.tensor(Y), reduction="sum").item(),
                                   rtol=1e-12)
    pw = mg.tensor([1.0, 2.0, 3.0])
    np.testing.assert_allclose(
        nn.BCEWithLogitsLoss(pos_weight=pw)(mg.tensor(LOGITS_EXTREME), mg.tensor(T01)).item(),
        TF.binary_cross_entropy_with_logits(torch.tensor(LOGITS_EXTREME), torch.tensor(T01),
                                            pos_weight=torch.tensor([1.0, 2.0, 3.0])).item(),
        rtol=1e-12)
    np.testing.assert_allclose(nn.BCELoss()(mg.tensor(P), mg.tensor(T01)).item(),
                               TF.binary_cross_entropy(torch.tensor(P), torch.tensor(T01)).item(),
                               rtol=1e-12)


# ---------------------------------------------------------------------------------------------
# Finite differences (float64)
# ---------------------------------------------------------------------------------------------

GRADCHECK_CASES = [
    ("mse", lambda x, y: F.mse_loss(x, y), False),
    ("mse_none", lambda x, y: F.mse_loss(x, y, reduction="none"), False),
    ("l1", lambda x, y: F.l1_loss(x, y, reduction="sum"), False),
    ("smooth_l1", lambda x, y: F.smooth_l1_loss(x, y, beta=0.7), False),
    ("huber", lambda x, y: F.huber_loss(x, y, delta=0.6, reduction="none"), False),
    ("bce", lambda x, y: F.binary_cross_entropy(x.sigmoid(), y.sigmoid()), False),
    ("bce_logits", lambda x, y: F.binary_cross_entropy_with_logits(
        x, y.sigmoid(), pos_weight=mg.tensor([2.0, 0.5, 1.0])), False),
    ("ce", lambda x, y: F.cross_entropy(x, mg.tensor([0, 2, 1, 1])), True),
    ("ce_smooth_weight", lambda x, y: F.cross_entropy(
        x, mg.tensor([0, 2, 1, 1]), weight=mg.tensor([1.0, 2.0, 0.5]), label_smoothing=0.3,
        reduction="none"), True),
    ("ce_probs", lambda x, y: F.cross_entropy(x, F.softmax(y, dim=1), label_smoothing=0.1),
     False),
    ("nll", lambda x, y: F.nll_loss(x, mg.tensor([0, 2, 1, 1]), weight=mg.tensor(
        [1.0, 2.0, 0.5])), True),
]


@pytest.mark.parametrize("name,fn,indices_only", GRADCHECK_CASES,
                         ids=[c[0] for c in GRADCHECK_CASES])
def test_losses_pass_gradcheck(backend, name, fn, indices_only):
    gen = np.random.default_rng(3)
    x = mg.tensor(gen.standard_normal((4, 3)), requires_grad=True)
    # Keep |x - y| away from the kinks of L1 / SmoothL1 / Huber for finite differences.
    y = mg.tensor(gen.standard_normal((4, 3)) + 0.05, requires_grad=not indices_only)
    assert gradcheck(fn, (x, y))


@pytest.mark.parametrize("name,fn,indices_only", GRADCHECK_CASES,
                         ids=[c[0] for c in GRADCHECK_CASES])
def test_losses_pass_gradgradcheck(backend, name, fn, indices_only):
    """The fused losses' backward formulas are differentiable too (create_graph)."""
    gen = np.random.default_rng(3)
    x = mg.tensor(gen.standard_normal((4, 3)), requires_grad=True)
    y = mg.tensor(gen.standard_normal((4, 3)) + 0.05, requires_grad=not indices_only)
    assert gradgradcheck(fn, (x, y))


@pytest.mark.parametrize("name,fn,indices_only", GRADCHECK_CASES,
                         ids=[c[0] for c in GRADCHECK_CASES])
def test_losses_second_derivatives_match_torch(backend, name, fn, indices_only):
    """d/d(x, y) of |d loss/dx|^2, the double-backward graph, against PyTorch's."""
    torch = pytest.importorskip("torch")
    gen = np.random.default_rng(3)
    arrays = gen.standard_normal((4, 3)), gen.standard_normal((4, 3)) + 0.05
    loss = {
        "mse": lambda L, F, x, y: F.mse_loss(x, y),
        "mse_none": lambda L, F, x, y: F.mse_loss(x, y, reduction="none"),
        "l1": lambda L, F, x, y: F.l1_loss(x, y, reduction="sum"),
        "smooth_l1": lambda L, F, x, y: F.smooth_l1_loss(x, y, beta=0.7),
        "huber": lambda L, F, x, y: F.huber_loss(x, y, delta=0.6, reduction="none"),
        "bce": lambda L, F, x, y: F.binary_cross_entropy(x.sigmoid(), y.sigmoid()),
        "bce_logits": lambda L, F, x, y: F.binary_cross_entropy_with_logits(
            x, y.sigmoid(), pos_weight=L.tensor([2.0, 0.5, 1.0], dtype=L.float64)),
        "ce": lambda L, F, x, y: F.cross_entropy(x, L.tensor([0, 2, 1, 1])),
        "ce_smooth_weight": lambda L, F, x, y: F.cross_entropy(
            x, L.tensor([0, 2, 1, 1]), weight=L.tensor([1.0, 2.0, 0.5], dtype=L.float64),
            label_smoothing=0.3, reduction="none"),
        "ce_probs": lambda L, F, x, y: F.cross_entropy(x, F.softmax(y, dim=1),
                                                       label_smoothing=0.1),
        "nll": lambda L, F, x, y: F.nll_loss(x, L.tensor([0, 2, 1, 1]), weight=L.tensor(
            [1.0, 2.0, 0.5], dtype=L.float64)),
    }[name]

    def second(L):
        x = L.tensor(arrays[0], dtype=L.float64, requires_grad=True)
        y = L.tensor(arrays[1], dtype=L.float64, requires_grad=not indices_only)
        out = loss(L, L.nn.functional, x, y)
        v = L.tensor(np.linspace(0.5, 1.5, out.numel()).reshape(tuple(out.shape)),
                     dtype=L.float64)
        wrt = [x, y] if y.requires_grad else [x]
        grads = L.autograd.grad(out, wrt, v, create_graph=True)
        total = sum((g * g).sum() for g in grads)
        if not total.requires_grad:
            return [np.zeros(a.shape) for a in wrt]
        return [np.zeros(t.shape) if g is None else np.array(g.detach().numpy(force=True))
                for g, t in zip(L.autograd.grad(total, wrt, allow_unused=True), wrt)]

    for got, want in zip(second(mg), second(torch)):
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-11)
