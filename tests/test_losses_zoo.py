"""The loss zoo (issue 11) against PyTorch: one table, the same code run on torch and on
minigrad (``L`` is the library, ``F`` its nn.functional), in float64 on both kernel backends.

For every row: values and gradients (backward seeded with the same random vector, so 'none'
reductions are checked element by element), finite-difference gradcheck and gradgradcheck,
and second derivatives against PyTorch's where PyTorch has them. Then extreme inputs
(+-1e30, inf), broadcasting with PyTorch's warning, PyTorch's exception types for bad
shapes and arguments, the modules, and float32.
"""
import warnings

import numpy as np
import pytest

import minigrad as mg
from minigrad.autograd import gradcheck, gradgradcheck

torch = pytest.importorskip("torch")

REDUCTIONS = ["mean", "sum", "none"]
rng = np.random.default_rng(11)
X = rng.standard_normal((4, 5)) * 2
Y = rng.standard_normal((4, 5)) * 2
Z = rng.standard_normal((4, 5)) * 2
P = rng.uniform(0.05, 0.95, (4, 5))            # probabilities, rates
PM1 = np.where(rng.standard_normal((4, 5)) > 0, 1.0, -1.0)
PM1_ROWS = np.array([1.0, -1.0, -1.0, 1.0])
WEIGHT5 = rng.uniform(0.2, 2.0, 5)
CLASSES = np.array([0, 4, 2, 1])
MULTILABEL = np.array([[3, 0, -1, 1, 2], [1, -1, 0, 0, 0], [0, 1, 2, 3, 4], [-1, 2, 2, 2, 2]])
COUNTS = rng.poisson(3.0, (4, 5)).astype(np.float64)
# K-dimensional classification: (N, C, d1, d2) with targets (N, d1, d2)
XK = rng.standard_normal((2, 3, 4, 2)) * 2
TK = rng.integers(0, 3, (2, 4, 2))
TK_IGNORED = np.where(rng.random((2, 4, 2)) < 0.3, -100, TK)
PK = rng.dirichlet(np.ones(3), (2, 4, 2)).transpose(0, 3, 1, 2).copy()
WEIGHT3 = np.array([0.5, 2.0, 1.2])
# CTC: T=6 frames, N=3, C=4 classes (blank 0); logits go through log_softmax
CTC_LOGITS = rng.standard_normal((6, 3, 4)) * 2
CTC_TARGETS = np.array([[1, 2, 2], [3, 1, 1], [2, 0, 0]])
CTC_INPUT_LENGTHS = [6, 5, 3]
CTC_TARGET_LENGTHS = [3, 2, 1]


def _lib_tensor(L, array, requires_grad=False):
    array = np.array(array)
    t = L.tensor(array)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _log_softmax_ctc(L, F, logits, targets, reduction="mean", **options):
    return F.ctc_loss(F.log_softmax(logits, 2), targets, L.tensor(CTC_INPUT_LENGTHS),
                      L.tensor(CTC_TARGET_LENGTHS), reduction=reduction, **options)


def _w(L, array):
    return L.tensor(np.array(array))


# (name, fn(L, F, *tensors, reduction), arrays, requires_grad, gradcheckable)
# gradcheckable: smooth at the sample (away from hinge kinks, no clamped var: PyTorch passes
# the gradient through gaussian_nll_loss's clamp at eps, so finite differences disagree there).
ROWS = [
    ("kl_div", lambda L, F, x, t, r: F.kl_div(x, t, reduction=r), [X, P], [True, True], True),
    ("kl_div_log_target", lambda L, F, x, t, r: F.kl_div(x, t, reduction=r, log_target=True),
     [X, np.log(P)], [True, True], True),
    ("poisson_log_input", lambda L, F, x, t, r: F.poisson_nll_loss(x, t, reduction=r),
     [X, COUNTS], [True, True], True),
    ("poisson_rate_full", lambda L, F, x, t, r: F.poisson_nll_loss(
        x, t, log_input=False, full=True, eps=1e-6, reduction=r), [P * 4, COUNTS],
     [True, False], True),
    ("gaussian_nll", lambda L, F, x, t, v, r: F.gaussian_nll_loss(x, t, v, reduction=r),
     [X, Y, P], [True, True, True], True),
    ("gaussian_nll_full_rowvar", lambda L, F, x, t, v, r: F.gaussian_nll_loss(
        x, t, v, full=True, reduction=r), [X, Y, P[:, 0]], [True, True, True], True),
    ("gaussian_nll_var_col1", lambda L, F, x, t, v, r: F.gaussian_nll_loss(
        x, t, v, eps=0.1, reduction=r), [X, Y, P[:, :1]], [True, True, True], False),
    ("gaussian_nll_float_var", lambda L, F, x, t, r: F.gaussian_nll_loss(
        x, t, 0.7, reduction=r), [X, Y], [True, True], True),
    ("margin_ranking", lambda L, F, a, b, y, r: F.margin_ranking_loss(
        a, b, y, margin=0.3, reduction=r), [X[:, 0], Y[:, 0], PM1_ROWS], [True, True, False],
     False),
    ("hinge_embedding", lambda L, F, x, y, r: F.hinge_embedding_loss(
        x, y, margin=1.5, reduction=r), [X, PM1], [True, False], False),
    ("cosine_embedding", lambda L, F, a, b, y, r: F.cosine_embedding_loss(
        a, b, y, margin=0.2, reduction=r), [X, Y, PM1_ROWS], [True, True, False], False),
    ("cosine_embedding_1d", lambda L, F, a, b, y, r: F.cosine_embedding_loss(
        a, b, y, reduction=r), [X[0], Y[0], np.array(1.0)], [True, True, False], True),
    ("soft_margin", lambda L, F, x, y, r: F.soft_margin_loss(x, y, reduction=r),
     [X, PM1], [True, False], True),
    ("multilabel_soft_margin", lambda L, F, x, y, r: F.multilabel_soft_margin_loss(
        x, y, weight=_w(L, WEIGHT5), reduction=r), [X, (P > 0.5) * 1.0], [True, True], True),
    ("multilabel_margin", lambda L, F, x, y, r: F.multilabel_margin_loss(x, y, reduction=r),
     [X, MULTILABEL], [True, False], False),
    ("multilabel_margin_1d", lambda L, F, x, y, r: F.multilabel_margin_loss(
        x, y, reduction=r), [X[0], MULTILABEL[0]], [True, False], False),
    ("multi_margin", lambda L, F, x, y, r: F.multi_margin_loss(x, y, reduction=r),
     [X, CLASSES], [True, False], False),
    ("multi_margin_p2_weight", lambda L, F, x, y, r: F.multi_margin_loss(
        x, y, p=2, margin=0.7, weight=_w(L, WEIGHT5), reduction=r), [X, CLASSES],
     [True, False], False),
    ("multi_margin_1d", lambda L, F, x, y, r: F.multi_margin_loss(x, y, reduction=r),
     [X[1], np.array(3)], [True, False], False),
    ("triplet_p2", lambda L, F, a, p, n, r: F.triplet_margin_loss(
        a, p, n, margin=3.0, reduction=r), [X, Y, Z], [True, True, True], False),
    ("triplet_p1_swap", lambda L, F, a, p, n, r: F.triplet_margin_loss(
        a, p, n, margin=3.0, p=1, swap=True, reduction=r), [X, Y, Z], [True, True, True],
     False),
    ("triplet_p3_1d", lambda L, F, a, p, n, r: F.triplet_margin_loss(
        a, p, n, margin=2.0, p=3, eps=1e-3, reduction=r), [X[0], Y[0], Z[0]],
     [True, True, True], False),
    ("triplet_distance_default_swap", lambda L, F, a, p, n, r:
        F.triplet_margin_with_distance_loss(a, p, n, margin=3.0, swap=True, reduction=r),
     [X, Y, Z], [True, True, True], False),
    ("triplet_distance_cosine", lambda L, F, a, p, n, r: F.triplet_margin_with_distance_loss(
        a, p, n, distance_function=lambda u, v: 1 - (u * v).sum(-1) / (
            (u * u).sum(-1) * (v * v).sum(-1)).sqrt(), margin=0.5, reduction=r),
     [X, Y, Z], [True, True, True], False),
    ("pairwise_distance", lambda L, F, a, b, r: F.pairwise_distance(a, b, p=1.5),
     [X, Y], [True, True], True),
    ("ctc", lambda L, F, x, y, r: _log_softmax_ctc(L, F, x, y, r), [CTC_LOGITS, CTC_TARGETS],
     [True, False], True),
    ("ctc_blank3_concatenated", lambda L, F, x, y, r: F.ctc_loss(
        F.log_softmax(x, 2), y, CTC_INPUT_LENGTHS, CTC_TARGET_LENGTHS, blank=3, reduction=r),
     [CTC_LOGITS, np.array([1, 2, 2, 0, 1, 2])], [True, False], True),
    ("ctc_unbatched", lambda L, F, x, y, r: F.ctc_loss(
        F.log_softmax(x, 1), y, L.tensor(5), L.tensor(2), reduction=r),
     [CTC_LOGITS[:, 0], np.array([2, 2])], [True, False], True),
    ("ctc_zero_infinity", lambda L, F, x, y, r: F.ctc_loss(
        F.log_softmax(x, 2), y, [6, 2, 3], [3, 3, 1], reduction=r, zero_infinity=True),
     [CTC_LOGITS, CTC_TARGETS], [True, False], True),
    ("cross_entropy_kdim_weight_ignore_smooth", lambda L, F, x, t, r: F.cross_entropy(
        x, t, weight=_w(L, WEIGHT3), ignore_index=-100, label_smoothing=0.2, reduction=r),
     [XK, TK_IGNORED], [True, False], True),
    ("cross_entropy_kdim_probabilities", lambda L, F, x, t, r: F.cross_entropy(
        x, t, weight=_w(L, WEIGHT3), label_smoothing=0.1, reduction=r), [XK, PK],
     [True, True], True),
    ("nll_kdim_weight_ignore", lambda L, F, x, t, r: F.nll_loss(
        F.log_softmax(x, 1), t, weight=_w(L, WEIGHT3), ignore_index=1, reduction=r),
     [XK, TK], [True, False], True),
    ("mse_broadcast", lambda L, F, x, t, r: F.mse_loss(x, t, reduction=r),
     [X[:, :1], Y[0]], [True, True], True),
    ("l1_broadcast", lambda L, F, x, t, r: F.l1_loss(x, t, reduction=r),
     [X, Y[:1] + 0.01], [True, True], True),
    ("smooth_l1_broadcast", lambda L, F, x, t, r: F.smooth_l1_loss(x, t, beta=0.5, reduction=r),
     [X[:, :1], Y[0] + 0.01], [True, True], True),
    ("huber_broadcast", lambda L, F, x, t, r: F.huber_loss(x, t, delta=0.8, reduction=r),
     [X[0], Y + 0.01], [True, True], True),
]
NO_REDUCTION = {"pairwise_distance"}
CASES = [(row, r) for row in ROWS for r in (["none"] if row[0] in NO_REDUCTION else REDUCTIONS)]
CASE_IDS = [f"{row[0]}-{r}" for row, r in CASES]


def _run(L, fn, arrays, requires_grad, reduction):
    F = L.nn.functional
    inputs = [_lib_tensor(L, a, g) for a, g in zip(arrays, requires_grad)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # kl_div 'mean', broadcasting: tested below
        out = fn(L, F, *inputs, reduction)
    return inputs, out


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_value_and_gradient_match_torch(backend, case):
    (name, fn, arrays, requires_grad, _), reduction = case
    m_in, m_out = _run(mg, fn, arrays, requires_grad, reduction)
    t_in, t_out = _run(torch, fn, arrays, requires_grad, reduction)
    want = t_out.detach().numpy()
    assert tuple(m_out.shape) == want.shape
    assert m_out.numpy().dtype == want.dtype == np.float64
    np.testing.assert_allclose(m_out.numpy(), want, rtol=1e-10, atol=1e-12)
    seed = np.random.default_rng(5).standard_normal(want.shape)
    m_out.backward(mg.tensor(seed))
    t_out.backward(torch.tensor(seed))
    for m, t, g in zip(m_in, t_in, requires_grad):
        if g:
            assert m.grad is not None, name
            np.testing.assert_allclose(m.grad.numpy(), t.grad.numpy(), rtol=1e-9, atol=1e-11,
                                       err_msg=name)


GRAD_CASES = [(row, r) for row, r in CASES if row[4] and r != "sum"]


@pytest.mark.parametrize("case", GRAD_CASES, ids=[f"{row[0]}-{r}" for row, r in GRAD_CASES])
def test_gradcheck_and_gradgradcheck(case):
    (_name, fn, arrays, requires_grad, _), reduction = case
    inputs = [_lib_tensor(mg, a, g) for a, g in zip(arrays, requires_grad)]

    def f(*xs):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fn(mg, mg.nn.functional, *xs, reduction)

    assert gradcheck(f, inputs)
    assert gradgradcheck(f, inputs)


# Rows with kinks: finite differences at points where every hinge is strictly active or not.
@pytest.mark.parametrize("name", ["margin_ranking", "hinge_embedding", "cosine_embedding",
                                  "multilabel_margin", "multi_margin_p2_weight",
                                  "triplet_p2", "triplet_p1_swap",
                                  "triplet_distance_default_swap"])
def test_hinge_losses_gradcheck_away_from_kinks(name):
    (_, fn, arrays, requires_grad, _), = [row for row in ROWS if row[0] == name]
    inputs = [_lib_tensor(mg, a, g) for a, g in zip(arrays, requires_grad)]
    f = lambda *xs: fn(mg, mg.nn.functional, *xs, "sum")
    assert gradcheck(f, inputs, eps=1e-7)
    assert gradgradcheck(f, inputs, eps=1e-7)


SECOND_ORDER = ["kl_div", "poisson_rate_full", "gaussian_nll", "cosine_embedding_1d",
                "soft_margin", "multilabel_soft_margin", "triplet_p2", "cross_entropy_kdim_probabilities", "mse_broadcast",
                "huber_broadcast"]


@pytest.mark.parametrize("name", SECOND_ORDER)
def test_second_derivatives_match_torch(backend, name):
    """d/dinputs of |dloss/dinputs|^2 (the double-backward graph) equal PyTorch's."""
    (_, fn, arrays, requires_grad, _), = [row for row in ROWS if row[0] == name]

    def second(L):
        inputs, out = _run(L, fn, arrays, requires_grad, "none")
        wrt = [t for t, g in zip(inputs, requires_grad) if g]
        v = L.tensor(np.linspace(0.5, 1.5, out.numel()).reshape(tuple(out.shape)))
        grads = L.autograd.grad(out, wrt, v, create_graph=True)
        total = sum((g * g).sum() for g in grads)
        return [np.zeros(tuple(t.shape)) if g is None else g.detach().numpy()
                for g, t in zip(L.autograd.grad(total, wrt, allow_unused=True), wrt)]

    for got, want in zip(second(mg), second(torch)):
        np.testing.assert_allclose(got, want, rtol=1e-8, atol=1e-10)


def test_ctc_gradient_is_the_true_derivative_of_log_probs():
    """PyTorch's CTC backward returns exp(log_probs) - posterior, the gradient with respect to
    the logits of a log_softmax (its formula assumes one); minigrad returns the derivative of
    the loss it computed, -posterior. Through log_softmax both agree (the rows above); on raw
    log_probs minigrad's passes gradcheck and differs from PyTorch's by exactly exp(log_probs)
    on the frames within each input length."""
    log_probs = np.log(np.random.default_rng(2).dirichlet(np.ones(4), (6, 3)))
    args = (CTC_TARGETS, CTC_INPUT_LENGTHS, CTC_TARGET_LENGTHS)
    m = mg.tensor(log_probs, requires_grad=True)
    assert gradcheck(lambda x: mg.nn.functional.ctc_loss(x, mg.tensor(args[0]), *args[1:],
                                                         reduction="sum"), (m,))
    mg.nn.functional.ctc_loss(m, mg.tensor(args[0]), *args[1:], reduction="sum").backward()
    t = torch.tensor(log_probs, requires_grad=True)
    torch.nn.functional.ctc_loss(t, torch.tensor(args[0]), *args[1:], reduction="sum").backward()
    within = (np.arange(6)[:, None] < np.array(CTC_INPUT_LENGTHS)[None, :])[:, :, None]
    np.testing.assert_allclose(t.grad.numpy() - m.grad.numpy(), np.exp(log_probs) * within,
                               atol=1e-12)


def test_ctc_impossible_alignment_is_inf_or_zero_like_torch():
    args = ([6, 2, 3], [3, 3, 1])   # sample 1: 3 labels cannot fit in 2 frames
    out = {}
    for L in (mg, torch):
        F = L.nn.functional
        lp = F.log_softmax(L.tensor(CTC_LOGITS), 2)
        out[L] = [F.ctc_loss(lp, L.tensor(CTC_TARGETS), *args, reduction="none",
                             zero_infinity=z).numpy() for z in (False, True)]
    np.testing.assert_allclose(out[mg][0], out[torch][0])
    assert np.isinf(out[mg][0][1]) and out[mg][1][1] == 0.0
    np.testing.assert_allclose(out[mg][1], out[torch][1])


# ---------------------------------------------------------------------------------------------
# Extreme inputs: finite wherever PyTorch is finite, and equal to it
# ---------------------------------------------------------------------------------------------

EXTREME = np.array([[1e30, -1e30, 0.5, 3.0, -2.0], [-1e30, 1e30, 1e30, -1e30, 0.0]])
EXTREME_ROWS = [
    ("kl_div", lambda L, F, x: F.kl_div(x, _w(L, P[:2]), reduction="sum")),
    ("kl_div_log_target", lambda L, F, x: F.kl_div(x, _w(L, -np.abs(Y[:2])), reduction="sum",
                                                    log_target=True)),
    ("poisson_rate", lambda L, F, x: F.poisson_nll_loss(x.abs(), _w(L, COUNTS[:2]),
                                                         log_input=False, reduction="none")),
    ("poisson_log_input_negative", lambda L, F, x: F.poisson_nll_loss(
        -x.abs(), _w(L, COUNTS[:2]), reduction="none")),
    ("gaussian_nll", lambda L, F, x: F.gaussian_nll_loss(x, _w(L, Y[:2]), _w(L, P[:2]),
                                                          reduction="none")),
    ("margin_ranking", lambda L, F, x: F.margin_ranking_loss(x[0], x[1], _w(L, PM1[0]),
                                                             reduction="none")),
    ("hinge_embedding", lambda L, F, x: F.hinge_embedding_loss(x, _w(L, PM1[:2]),
                                                               reduction="none")),
    ("soft_margin_finite_side", lambda L, F, x: F.soft_margin_loss(
        x.abs(), _w(L, np.ones((2, 5))), reduction="none")),
    ("multilabel_soft_margin", lambda L, F, x: F.multilabel_soft_margin_loss(
        x, _w(L, (P[:2] > 0.5) * 1.0), reduction="none")),
    ("multi_margin", lambda L, F, x: F.multi_margin_loss(x, L.tensor([0, 2]), p=1,
                                                         reduction="none")),
    ("multilabel_margin", lambda L, F, x: F.multilabel_margin_loss(x, L.tensor(
        MULTILABEL[:2]), reduction="none")),
    ("triplet", lambda L, F, x: F.triplet_margin_loss(x, _w(L, Y[:2]), _w(L, Z[:2]),
                                                      reduction="none")),
    ("cross_entropy_probabilities", lambda L, F, x: F.cross_entropy(
        x, _w(L, P[:2] / P[:2].sum(1, keepdims=True)), reduction="none")),
    ("cross_entropy_smoothing", lambda L, F, x: F.cross_entropy(
        x, L.tensor([1, 4]), label_smoothing=0.0, reduction="none")),
    ("bce_with_logits", lambda L, F, x: F.binary_cross_entropy_with_logits(
        x, _w(L, P[:2]), pos_weight=_w(L, WEIGHT5), reduction="none")),
    ("huber", lambda L, F, x: F.huber_loss(x, _w(L, Y[:2]), reduction="none")),
    ("smooth_l1", lambda L, F, x: F.smooth_l1_loss(x, _w(L, Y[:2]), reduction="none")),
]


@pytest.mark.parametrize("name,fn", EXTREME_ROWS, ids=[r[0] for r in EXTREME_ROWS])
def test_extreme_inputs_match_torch(backend, name, fn):
    results = {}
    for L in (mg, torch):
        x = _lib_tensor(L, EXTREME, True)
        out = fn(L, L.nn.functional, x)
        out.sum().backward()
        results[L] = out.detach().numpy(), x.grad.numpy()
    (m_out, m_grad), (t_out, t_grad) = results[mg], results[torch]
    finite = np.isfinite(t_out)
    assert np.all(np.isfinite(m_out[finite])), name
    np.testing.assert_allclose(m_out, t_out, rtol=1e-10)
    np.testing.assert_allclose(m_grad, t_grad, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("call", [
    lambda L: L.nn.functional.soft_margin_loss(
        L.tensor([[np.inf, -np.inf, 1.0]]), L.tensor([[1.0, -1.0, -1.0]])),
    lambda L: L.nn.functional.cross_entropy(
        L.tensor([[-np.inf, 2.0, 0.5], [1.0, -np.inf, -np.inf]]), L.tensor([1, 0])),
    lambda L: L.nn.functional.margin_ranking_loss(
        L.tensor([np.inf, 1.0]), L.tensor([0.0, np.inf]), L.tensor([1.0, -1.0])),
], ids=["soft_margin", "cross_entropy", "margin_ranking"])
def test_inf_input_where_torch_is_finite(call):
    want, got = call(torch).item(), call(mg).item()
    assert np.isfinite(want) and got == pytest.approx(want, rel=1e-6)  # float32 inputs


# ---------------------------------------------------------------------------------------------
# Warnings and broadcasting
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fname", ["mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss"])
def test_regression_losses_broadcast_with_torchs_warning(fname):
    results = {}
    for L in (mg, torch):
        x, y = L.tensor(X[:, :1]), L.tensor(Y[0])
        with pytest.warns(UserWarning, match=r"Using a target size \(.*\[5\]\)\) that is "
                                             r"different to the input size \(.*\[4, 1\]\)\)"):
            results[L] = getattr(L.nn.functional, fname)(x, y, reduction="none").numpy()
    assert results[mg].shape == (4, 5)
    np.testing.assert_allclose(results[mg], results[torch], rtol=1e-12)


def test_same_size_regression_losses_do_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mg.nn.functional.mse_loss(mg.tensor(X), mg.tensor(Y))


@pytest.mark.parametrize("reduction,warns", [("mean", True), ("batchmean", False),
                                             ("sum", False)])
def test_kl_div_mean_warns_like_torch(reduction, warns):
    for L in (mg, torch):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            L.nn.functional.kl_div(L.tensor(X), L.tensor(P), reduction=reduction)
        messages = [str(w.message) for w in caught if w.category is UserWarning]
        assert any("'batchmean' divides only by the batch size" in m
                   for m in messages) == warns, L.__name__


def test_kl_div_batchmean_divides_by_batch_size():
    loss_sum = mg.nn.functional.kl_div(mg.tensor(X), mg.tensor(P), reduction="sum").item()
    batchmean = mg.nn.functional.kl_div(mg.tensor(X), mg.tensor(P), reduction="batchmean")
    assert batchmean.item() == pytest.approx(loss_sum / 4, rel=1e-14)


# ---------------------------------------------------------------------------------------------
# PyTorch's exception types for bad shapes and arguments
# ---------------------------------------------------------------------------------------------

def _t(L, a):
    return L.tensor(np.array(a))


ERROR_ROWS = [
    ("kl_div_bad_reduction", lambda L, F: F.kl_div(_t(L, X), _t(L, P), reduction="bogus")),
    ("poisson_bad_reduction", lambda L, F: F.poisson_nll_loss(_t(L, X), _t(L, P),
                                                              reduction="bogus")),
    ("gaussian_var_wrong_size", lambda L, F: F.gaussian_nll_loss(_t(L, X), _t(L, Y),
                                                                 _t(L, P[:, :2]))),
    ("gaussian_var_0d_tensor", lambda L, F: F.gaussian_nll_loss(_t(L, X), _t(L, Y),
                                                                _t(L, 0.5))),
    ("gaussian_negative_var", lambda L, F: F.gaussian_nll_loss(_t(L, X), _t(L, Y), -_t(L, P))),
    ("gaussian_negative_float_var", lambda L, F: F.gaussian_nll_loss(_t(L, X), _t(L, Y), -1.0)),
    ("gaussian_bad_reduction", lambda L, F: F.gaussian_nll_loss(_t(L, X), _t(L, Y), _t(L, P),
                                                                reduction="bogus")),
    ("gaussian_target_does_not_broadcast", lambda L, F: F.gaussian_nll_loss(
        _t(L, X), _t(L, Y[:, :2]), _t(L, P))),
    ("margin_ranking_dims", lambda L, F: F.margin_ranking_loss(_t(L, X[:, 0]), _t(L, X[:, :1]),
                                                               _t(L, PM1_ROWS))),
    ("cosine_1d_target_1d_inputs", lambda L, F: F.cosine_embedding_loss(
        _t(L, X[0]), _t(L, Y[0]), _t(L, PM1_ROWS))),
    ("cosine_2d_target", lambda L, F: F.cosine_embedding_loss(_t(L, X), _t(L, Y), _t(L, PM1))),
    ("cosine_0d_target_2d_inputs", lambda L, F: F.cosine_embedding_loss(
        _t(L, X), _t(L, Y), _t(L, 1.0))),
    ("multi_margin_p3", lambda L, F: F.multi_margin_loss(_t(L, X), _t(L, CLASSES), p=3)),
    ("multi_margin_weight_2d", lambda L, F: F.multi_margin_loss(
        _t(L, X), _t(L, CLASSES), weight=_t(L, np.ones((5, 1))))),
    ("multi_margin_target_size", lambda L, F: F.multi_margin_loss(_t(L, X), _t(L, CLASSES[:3]))),
    ("multi_margin_empty_classes", lambda L, F: F.multi_margin_loss(_t(L, X[:, :0]),
                                                                    _t(L, CLASSES))),
    ("multi_margin_3d", lambda L, F: F.multi_margin_loss(_t(L, XK), _t(L, [0, 1]))),
    ("multi_margin_weight_size", lambda L, F: F.multi_margin_loss(
        _t(L, X), _t(L, CLASSES), weight=_t(L, np.ones(3)))),
    ("multilabel_margin_target_size", lambda L, F: F.multilabel_margin_loss(
        _t(L, X), _t(L, MULTILABEL[:3]))),
    ("triplet_dims", lambda L, F: F.triplet_margin_loss(_t(L, X), _t(L, Y), _t(L, Z[0]))),
    ("triplet_distance_margin", lambda L, F: F.triplet_margin_with_distance_loss(
        _t(L, X), _t(L, Y), _t(L, Z), margin=0.0)),
    ("triplet_distance_bad_reduction", lambda L, F: F.triplet_margin_with_distance_loss(
        _t(L, X), _t(L, Y), _t(L, Z), reduction="bogus")),
    ("multilabel_soft_margin_bad_reduction", lambda L, F: F.multilabel_soft_margin_loss(
        _t(L, X), _t(L, P), reduction="bogus")),
    ("hinge_bad_reduction", lambda L, F: F.hinge_embedding_loss(_t(L, X), _t(L, PM1),
                                                                reduction="bogus")),
    ("ctc_input_length_too_long", lambda L, F: F.ctc_loss(
        _t(L, CTC_LOGITS), _t(L, CTC_TARGETS), [7, 5, 3], CTC_TARGET_LENGTHS)),
    ("ctc_target_length_too_long", lambda L, F: F.ctc_loss(
        _t(L, CTC_LOGITS), _t(L, CTC_TARGETS), CTC_INPUT_LENGTHS, [4, 2, 1])),
    ("ctc_negative_target_length", lambda L, F: F.ctc_loss(
        _t(L, CTC_LOGITS), _t(L, CTC_TARGETS), CTC_INPUT_LENGTHS, [-1, 2, 1])),
    ("ctc_blank_out_of_range", lambda L, F: F.ctc_loss(
        _t(L, CTC_LOGITS), _t(L, CTC_TARGETS), CTC_INPUT_LENGTHS, CTC_TARGET_LENGTHS, blank=4)),
    ("ctc_lengths_not_batch", lambda L, F: F.ctc_loss(
        _t(L, CTC_LOGITS), _t(L, CTC_TARGETS), [6, 5], CTC_TARGET_LENGTHS)),
    ("ctc_float_lengths", lambda L, F: F.ctc_loss(
        _t(L, CTC_LOGITS), _t(L, CTC_TARGETS), _t(L, [6.0, 5.0, 3.0]), CTC_TARGET_LENGTHS)),
    ("mse_does_not_broadcast", lambda L, F: F.mse_loss(_t(L, X[:, :2]), _t(L, Y[0]))),
    ("bce_size_mismatch", lambda L, F: F.binary_cross_entropy(_t(L, P[:, :1]), _t(L, P[0]))),
    ("bce_logits_size_mismatch", lambda L, F: F.binary_cross_entropy_with_logits(
        _t(L, X[:, :1]), _t(L, P[0]))),
    ("module_multi_margin_p3", lambda L, F: L.nn.MultiMarginLoss(p=3)),
    ("module_multi_margin_weight_2d", lambda L, F: L.nn.MultiMarginLoss(
        weight=_t(L, np.ones((2, 2))))),
    ("module_triplet_margin_0", lambda L, F: L.nn.TripletMarginLoss(margin=0)),
    ("module_triplet_distance_margin_neg", lambda L, F: L.nn.TripletMarginWithDistanceLoss(
        margin=-1.0)),
]


@pytest.mark.parametrize("name,call", ERROR_ROWS, ids=[r[0] for r in ERROR_ROWS])
def test_errors_have_torchs_exception_type(name, call):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(Exception) as torch_error:
            call(torch, torch.nn.functional)
        with pytest.raises(torch_error.type):
            call(mg, mg.nn.functional)


def test_out_of_range_class_indices_raise_instead_of_reading_garbage():
    """PyTorch's CPU CTC reads out of bounds for labels >= C; minigrad refuses them."""
    F = mg.nn.functional
    with pytest.raises(IndexError, match=r"\[0, 4\)"):
        F.ctc_loss(mg.tensor(CTC_LOGITS), mg.tensor([[5, 1, 1]] * 3), CTC_INPUT_LENGTHS,
                   CTC_TARGET_LENGTHS)
    with pytest.raises((IndexError, RuntimeError)):
        F.multi_margin_loss(mg.tensor(X), mg.tensor([0, 5, 1, 1]))
    with pytest.raises((IndexError, RuntimeError)):
        F.multilabel_margin_loss(mg.tensor(X), mg.tensor(MULTILABEL * 0 + 7))


# ---------------------------------------------------------------------------------------------
# Modules, float32
# ---------------------------------------------------------------------------------------------

MODULE_ROWS = [
    ("KLDivLoss", {"reduction": "batchmean", "log_target": False}, [X, P]),
    ("PoissonNLLLoss", {"log_input": False, "full": True, "eps": 1e-5, "reduction": "sum"},
     [P * 3, COUNTS]),
    ("GaussianNLLLoss", {"full": True, "eps": 1e-3}, [X, Y, P]),
    ("MarginRankingLoss", {"margin": 0.5}, [X[:, 0], Y[:, 0], PM1_ROWS]),
    ("HingeEmbeddingLoss", {"margin": 2.0, "reduction": "none"}, [X, PM1]),
    ("CosineEmbeddingLoss", {"margin": 0.1, "reduction": "sum"}, [X, Y, PM1_ROWS]),
    ("SoftMarginLoss", {}, [X, PM1]),
    ("MultiLabelMarginLoss", {"reduction": "none"}, [X, MULTILABEL]),
    ("MultiLabelSoftMarginLoss", {"reduction": "sum"}, [X, (P > 0.5) * 1.0]),
    ("MultiMarginLoss", {"p": 2, "margin": 0.5}, [X, CLASSES]),
    ("TripletMarginLoss", {"margin": 2.0, "p": 1.0, "swap": True}, [X, Y, Z]),
    ("TripletMarginWithDistanceLoss", {"margin": 2.0, "swap": True}, [X, Y, Z]),
    ("CTCLoss", {"blank": 0, "zero_infinity": True}, None),
]


@pytest.mark.parametrize("name,options,arrays", MODULE_ROWS, ids=[r[0] for r in MODULE_ROWS])
def test_modules_match_torch(name, options, arrays):
    results = []
    for L in (mg, torch):
        module = getattr(L.nn, name)(**options)
        if arrays is None:
            args = (L.nn.functional.log_softmax(L.tensor(CTC_LOGITS), 2), L.tensor(CTC_TARGETS),
                    L.tensor(CTC_INPUT_LENGTHS), L.tensor(CTC_TARGET_LENGTHS))
        else:
            args = [L.tensor(np.array(a)) for a in arrays]
        results.append(module(*args).detach().numpy())
    np.testing.assert_allclose(results[0], results[1], rtol=1e-10)


def test_legacy_size_average_and_reduce_map_like_torch():
    for kwargs in ({"size_average": False}, {"reduce": False}, {"size_average": True}):
        values = []
        for L in (mg, torch):
            F = L.nn.functional
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                values.append([
                    F.kl_div(L.tensor(X), L.tensor(P), **kwargs).numpy(),
                    F.margin_ranking_loss(L.tensor(X[:, 0]), L.tensor(Y[:, 0]),
                                          L.tensor(PM1_ROWS), **kwargs).numpy(),
                    F.multi_margin_loss(L.tensor(X), L.tensor(CLASSES), **kwargs).numpy(),
                    L.nn.SoftMarginLoss(**kwargs)(L.tensor(X), L.tensor(PM1)).numpy(),
                ])
        for got, want in zip(*values):
            np.testing.assert_allclose(got, want, rtol=1e-12)


@pytest.mark.parametrize("name", ["kl_div", "poisson_log_input", "gaussian_nll",
                                  "cosine_embedding", "multilabel_soft_margin", "multi_margin",
                                  "triplet_p2", "ctc", "soft_margin"])
def test_float32_matches_torch(name):
    (_, fn, arrays, requires_grad, _), = [row for row in ROWS if row[0] == name]
    arrays32 = [a.astype(np.float32) if a.dtype.kind == "f" else a for a in map(np.asarray,
                                                                                 arrays)]
    outputs = []
    for L in (mg, torch):
        inputs, out = _run(L, fn, arrays32, requires_grad, "sum")
        out.backward()
        outputs.append((out.detach().numpy(), inputs[0].grad.numpy()))
    (m_out, m_grad), (t_out, t_grad) = outputs
    # float32 throughout, except where a float64 weight promotes the loss (as in PyTorch)
    assert m_out.dtype == t_out.dtype and m_grad.dtype == t_grad.dtype == np.float32
    np.testing.assert_allclose(m_out, t_out, rtol=2e-5)
    np.testing.assert_allclose(m_grad, t_grad, rtol=2e-4, atol=2e-5)


def test_every_issue_loss_is_exported_as_module_and_function():
    functions = ["kl_div", "poisson_nll_loss", "gaussian_nll_loss", "ctc_loss",
                 "margin_ranking_loss", "hinge_embedding_loss", "cosine_embedding_loss",
                 "soft_margin_loss", "multilabel_margin_loss", "multilabel_soft_margin_loss",
                 "multi_margin_loss", "triplet_margin_loss",
                 "triplet_margin_with_distance_loss", "pairwise_distance"]
    for name in functions:
        assert name in mg.nn.functional.__all__ and callable(getattr(mg.nn.functional, name))
        assert getattr(mg.nn.losses, name) is getattr(mg.nn.functional, name)
    for name, *_ in MODULE_ROWS:
        assert name in mg.nn.__all__ and getattr(mg.nn, name) is getattr(mg.nn.losses, name)


def test_ctc_fast_and_create_graph_gradients_agree():
    """The numpy forward-backward gradient and the one autograd derives from the recorded
    alpha recursion (the create_graph path) are the same numbers."""
    F = mg.nn.functional
    x = mg.tensor(CTC_LOGITS, requires_grad=True)
    targets = mg.tensor(CTC_TARGETS)

    def loss():
        return F.ctc_loss(F.log_softmax(x, 2), targets, CTC_INPUT_LENGTHS, CTC_TARGET_LENGTHS,
                          reduction="none")

    seed = mg.tensor(np.array([0.5, -1.0, 2.0]))
    fast, = mg.autograd.grad(loss(), x, seed)
    recorded, = mg.autograd.grad(loss(), x, seed, create_graph=True)
    assert recorded.requires_grad
    np.testing.assert_allclose(recorded.numpy(), fast.numpy(), rtol=1e-11, atol=1e-13)


def test_ctc_infinite_loss_gradient_is_nan_on_the_frames_torch_marks():
    args = ([6, 2, 0], [3, 3, 1])   # samples 1 and 2 impossible; sample 2 has no frames
    grads = []
    for L in (mg, torch):
        x = L.tensor(CTC_LOGITS, requires_grad=True)
        L.nn.functional.ctc_loss(L.nn.functional.log_softmax(x, 2), L.tensor(CTC_TARGETS),
                                 *args, reduction="sum").backward()
        grads.append(x.grad.numpy())
    np.testing.assert_array_equal(np.isnan(grads[0]), np.isnan(grads[1]))
    assert np.isnan(grads[0][:2, 1]).all() and not np.isnan(grads[0][:, 2]).any()
    finite = ~np.isnan(grads[1])
    np.testing.assert_allclose(grads[0][finite], grads[1][finite], rtol=1e-9, atol=1e-12)
