"""Embedding and EmbeddingBag (and F.embedding / F.embedding_bag), the same code run on
PyTorch and minigrad: outputs, weight and per-sample-weight gradients, padding_idx, max_norm,
scale_grad_by_freq, from_pretrained, state_dict, repr, errors; gradcheck and gradgradcheck."""
import numpy as np
import pytest

import minigrad as mg
import minigrad.nn.functional as F
from minigrad import nn
from minigrad.autograd import gradcheck, gradgradcheck

torch = pytest.importorskip("torch")

WEIGHT = np.random.default_rng(0).standard_normal((7, 4))

EMBEDDING_CASES = [
    ("plain", np.array([[1, 2, 1], [0, 6, 3]]), {}),
    ("1d", np.array([3, 3, 3, 5]), {}),
    ("0d", np.array(2), {}),
    ("empty", np.zeros((0, 3), np.int64), {}),
    ("padding", np.array([[1, 2, 1], [0, 6, 1]]), {"padding_idx": 1}),
    ("padding_negative", np.array([5, 6, 6, 0]), {"padding_idx": -1}),
    ("freq", np.array([[1, 2, 1], [1, 6, 3]]), {"scale_grad_by_freq": True}),
    ("freq_padding", np.array([1, 2, 1, 2]), {"scale_grad_by_freq": True, "padding_idx": 2}),
    ("max_norm", np.array([[1, 2, 1], [0, 6, 3]]), {"max_norm": 1.5}),
    ("max_norm_p1", np.array([4, 5, 4]), {"max_norm": 2.0, "norm_type": 1.0}),
    ("int32", np.array([[1, 2], [3, 4]], np.int32), {}),
]


@pytest.mark.parametrize("case", EMBEDDING_CASES, ids=[c[0] for c in EMBEDDING_CASES])
def test_embedding_matches_torch(backend, case):
    _, indices, kwargs = case
    mw, tw = mg.tensor(WEIGHT, requires_grad=True), torch.tensor(WEIGHT, requires_grad=True)
    my = F.embedding(mg.tensor(indices), mw, **kwargs)
    ty = torch.nn.functional.embedding(torch.tensor(indices), tw, **kwargs)
    assert tuple(my.shape) == tuple(ty.shape)
    np.testing.assert_allclose(my.numpy(), ty.detach().numpy(), rtol=1e-12, atol=1e-14)
    # max_norm renormalised the used rows in place, in both
    np.testing.assert_allclose(mw.numpy(), tw.detach().numpy(), rtol=1e-12, atol=1e-14)
    g = np.random.default_rng(1).standard_normal(ty.shape)
    my.backward(mg.tensor(g))
    ty.backward(torch.tensor(g))
    np.testing.assert_allclose(mw.grad.numpy(), tw.grad.numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_embedding_backends_agree(dtype):
    """The scatter_index kernel and its numpy twin give the same weight gradient."""
    indices = np.random.default_rng(0).integers(0, 50, (64, 9))
    grads = []
    for name in ("cython", "numpy"):
        mg._kernels.use(name)
        try:
            w = mg.tensor(np.random.default_rng(1).standard_normal((50, 16)).astype(dtype),
                          requires_grad=True)
            (F.embedding(mg.tensor(indices), w, padding_idx=3) * 2.0).sum().backward()
            grads.append(w.grad.numpy())
        finally:
            mg._kernels.use("cython")
    assert grads[0].dtype == np.dtype(dtype)
    np.testing.assert_array_equal(grads[0], grads[1])
    counts = np.bincount(indices.ravel(), minlength=50) * 2.0
    counts[3] = 0.0
    np.testing.assert_allclose(grads[0][:, 0], counts)


@pytest.mark.parametrize("kwargs", [{}, {"padding_idx": 1}, {"scale_grad_by_freq": True}],
                         ids=["plain", "padding", "freq"])
def test_embedding_gradcheck_and_gradgradcheck(backend, kwargs):
    indices = mg.tensor(np.array([[1, 2, 1], [0, 4, 1]]))
    w = mg.tensor(np.random.default_rng(0).standard_normal((5, 3)), requires_grad=True)

    def fn(weight):
        out = F.embedding(indices, weight, **kwargs)
        # Squared, so the second derivative is not zero; not with scale_grad_by_freq, whose
        # scaled gradient is no function's derivative (its own derivative with respect to
        # the output gradient is still checked).
        return out if kwargs.get("scale_grad_by_freq") else out * out

    if not kwargs:  # padding_idx and scale_grad_by_freq change the gradient on purpose
        assert gradcheck(fn, (w,))
    assert gradgradcheck(fn, (w,))  # the (changed) gradient's own derivative


def test_embedding_module_init_state_dict_and_repr():
    mg.manual_seed(0)
    m = nn.Embedding(10, 3, padding_idx=-2)
    t = torch.nn.Embedding(10, 3, padding_idx=-2)
    assert m.padding_idx == t.padding_idx == 8
    np.testing.assert_array_equal(m.weight.numpy()[8], np.zeros(3, np.float32))
    assert m.weight.dtype == mg.float32
    w = m.weight.numpy()
    assert abs(w.mean()) < 0.6 and 0.5 < w.std() < 1.6  # N(0, 1)
    assert [(k, tuple(v.shape)) for k, v in m.state_dict().items()] == \
        [(k, tuple(v.shape)) for k, v in t.state_dict().items()]
    m.load_state_dict(t.state_dict())
    idx = np.array([[1, 8, 9], [0, 0, 2]])
    np.testing.assert_array_equal(m(mg.tensor(idx)).numpy(), t(torch.tensor(idx)).detach().numpy())
    for args, kwargs in [((5, 3), {}), ((5, 3), {"padding_idx": 0, "max_norm": 1.0,
                                                 "norm_type": 1.0, "scale_grad_by_freq": True}),
                         ((5, 3), {"norm_type": 2})]:
        assert repr(nn.Embedding(*args, **kwargs)) == repr(torch.nn.Embedding(*args, **kwargs))


def test_embedding_padding_row_stays_fixed_under_training():
    m = nn.Embedding(5, 2, padding_idx=0)
    m.weight.data[0] = mg.tensor([1.0, 2.0])
    opt = mg.optim.SGD(m.parameters(), lr=0.5)
    for _ in range(3):
        opt.zero_grad()
        m(mg.tensor([[0, 1, 0, 2]])).sum().backward()
        np.testing.assert_array_equal(m.weight.grad.numpy()[0], [0.0, 0.0])
        opt.step()
    np.testing.assert_array_equal(m.weight.numpy()[0], [1.0, 2.0])


@pytest.mark.parametrize("freeze", [True, False])
def test_from_pretrained(freeze):
    w = np.arange(12, dtype=np.float64).reshape(4, 3)
    m = nn.Embedding.from_pretrained(mg.tensor(w), freeze=freeze, padding_idx=1)
    t = torch.nn.Embedding.from_pretrained(torch.tensor(w), freeze=freeze, padding_idx=1)
    assert m.weight.requires_grad == t.weight.requires_grad == (not freeze)
    np.testing.assert_array_equal(m.weight.numpy(), w)  # the padding row is not zeroed
    assert repr(m) == repr(t)
    bag = nn.EmbeddingBag.from_pretrained(mg.tensor(w), freeze=freeze, mode="sum")
    tbag = torch.nn.EmbeddingBag.from_pretrained(torch.tensor(w), freeze=freeze, mode="sum")
    assert bag.weight.requires_grad == tbag.weight.requires_grad
    idx = np.array([[0, 1], [3, 3]])
    np.testing.assert_array_equal(bag(mg.tensor(idx)).numpy(),
                                  tbag(torch.tensor(idx)).detach().numpy())


def test_from_pretrained_shares_memory():
    source = mg.tensor(np.ones((3, 2)))
    m = nn.Embedding.from_pretrained(source)
    source.data.mul_(3.0)
    np.testing.assert_array_equal(m.weight.numpy(), np.full((3, 2), 3.0))


# ---------------------------------------------------------------------------------------------
# EmbeddingBag
# ---------------------------------------------------------------------------------------------

FLAT = np.array([1, 2, 4, 5, 4, 3, 2, 0, 6])
OFFSETS = np.array([0, 2, 2, 5])

BAG_CASES = [
    ("sum", FLAT, OFFSETS, {"mode": "sum"}, False),
    ("mean", FLAT, OFFSETS, {"mode": "mean"}, False),
    ("max", FLAT, OFFSETS, {"mode": "max"}, False),
    ("sum_weights", FLAT, OFFSETS, {"mode": "sum"}, True),
    ("mean_padding", FLAT, OFFSETS, {"mode": "mean", "padding_idx": 2}, False),
    ("max_padding", FLAT, OFFSETS, {"mode": "max", "padding_idx": 4}, False),
    ("sum_padding_weights", FLAT, OFFSETS, {"mode": "sum", "padding_idx": 4}, True),
    ("last_offset", FLAT, np.array([0, 2, 2, 5, 9]), {"mode": "sum",
                                                      "include_last_offset": True}, False),
    ("last_offset_mean", FLAT, np.array([0, 3, 9]), {"mode": "mean",
                                                     "include_last_offset": True}, False),
    ("2d_mean", np.array([[1, 2, 3], [6, 6, 0]]), None, {"mode": "mean"}, False),
    ("2d_sum_weights", np.array([[1, 2, 3], [6, 6, 0]]), None, {"mode": "sum"}, True),
    ("2d_max", np.array([[1, 2, 3], [6, 6, 0]]), None, {"mode": "max"}, False),
    ("max_norm", FLAT, OFFSETS, {"mode": "mean", "max_norm": 1.0}, False),
    ("empty_bags", np.array([3, 4]), np.array([0, 0, 2, 2]), {"mode": "mean"}, False),
]


@pytest.mark.parametrize("case", BAG_CASES, ids=[c[0] for c in BAG_CASES])
def test_embedding_bag_matches_torch(backend, case):
    _, indices, offsets, kwargs, weighted = case
    rng = np.random.default_rng(2)
    psw = rng.standard_normal(indices.shape)
    mw, tw = mg.tensor(WEIGHT, requires_grad=True), torch.tensor(WEIGHT, requires_grad=True)
    mp, tp = mg.tensor(psw, requires_grad=True), torch.tensor(psw, requires_grad=True)
    my = F.embedding_bag(mg.tensor(indices), mw,
                         None if offsets is None else mg.tensor(offsets),
                         per_sample_weights=mp if weighted else None, **kwargs)
    ty = torch.nn.functional.embedding_bag(torch.tensor(indices), tw,
                                           None if offsets is None else torch.tensor(offsets),
                                           per_sample_weights=tp if weighted else None,
                                           **kwargs)
    assert tuple(my.shape) == tuple(ty.shape)
    np.testing.assert_allclose(my.numpy(), ty.detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(mw.numpy(), tw.detach().numpy(), rtol=1e-12, atol=1e-14)
    g = rng.standard_normal(ty.shape)
    my.backward(mg.tensor(g))
    ty.backward(torch.tensor(g))
    np.testing.assert_allclose(mw.grad.numpy(), tw.grad.numpy(), rtol=1e-12, atol=1e-14)
    if weighted:
        np.testing.assert_allclose(mp.grad.numpy(), tp.grad.numpy(), rtol=1e-12, atol=1e-14)


def test_embedding_bag_scale_grad_by_freq_divides_by_counts():
    """Each row's gradient divided by its count in the input, as for F.embedding (checked
    by hand: PyTorch 2.13's CPU kernel scales some rows by another row's count)."""
    w = mg.tensor(np.ones((6, 1)), requires_grad=True)
    F.embedding_bag(mg.tensor(FLAT[:8]), w, mg.tensor(OFFSETS), mode="sum",
                    scale_grad_by_freq=True).sum().backward()
    counts = np.bincount(FLAT[:8], minlength=6)
    np.testing.assert_allclose(w.grad.numpy()[:, 0], np.where(counts, 1.0, 0.0))


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_embedding_bag_gradcheck_and_gradgradcheck(backend, mode):
    w = mg.tensor(np.random.default_rng(0).standard_normal((7, 3)), requires_grad=True)
    indices, offsets = mg.tensor(FLAT), mg.tensor(OFFSETS)
    inputs = [w]
    if mode == "sum":
        inputs.append(mg.tensor(np.random.default_rng(1).standard_normal(FLAT.shape),
                                requires_grad=True))

    def fn(weight, *psw):
        out = F.embedding_bag(indices, weight, offsets, mode=mode,
                              per_sample_weights=psw[0] if psw else None)
        return out * out

    assert gradcheck(fn, inputs)
    assert gradgradcheck(fn, inputs)


def test_embedding_bag_module_state_dict_and_repr():
    for kwargs in [{}, {"mode": "max", "padding_idx": 0, "max_norm": 2.0},
                   {"include_last_offset": True, "norm_type": 1.0, "scale_grad_by_freq": True}]:
        m, t = nn.EmbeddingBag(6, 3, **kwargs), torch.nn.EmbeddingBag(6, 3, **kwargs)
        assert repr(m) == repr(t)
        assert [(k, tuple(v.shape)) for k, v in m.state_dict().items()] == \
            [(k, tuple(v.shape)) for k, v in t.state_dict().items()]
    m = nn.EmbeddingBag(6, 3, mode="sum", padding_idx=2)
    np.testing.assert_array_equal(m.weight.numpy()[2], np.zeros(3, np.float32))
    t = torch.nn.EmbeddingBag(6, 3, mode="sum", padding_idx=2)
    m.load_state_dict(t.state_dict())
    idx, off = np.array([0, 2, 5, 5, 1]), np.array([0, 3])
    np.testing.assert_allclose(m(mg.tensor(idx), mg.tensor(off)).numpy(),
                               t(torch.tensor(idx), torch.tensor(off)).detach().numpy(),
                               rtol=1e-6)


# ---------------------------------------------------------------------------------------------
# Errors: torch's exception type, and (where the message is minigrad's own) the values at fault
# ---------------------------------------------------------------------------------------------

ERRORS = [
    ("float_indices", lambda lib: lib.nn.functional.embedding(
        lib.tensor([1.0]), lib.ones(5, 3)), "Long, Int"),
    ("index_too_large", lambda lib: lib.nn.functional.embedding(
        lib.tensor([5]), lib.ones(5, 3)), "index out of range"),
    ("index_negative", lambda lib: lib.nn.functional.embedding(
        lib.tensor([-1]), lib.ones(5, 3)), "index out of range"),
    ("weight_1d", lambda lib: lib.nn.functional.embedding(lib.tensor([1]), lib.ones(5)),
     "'weight' must be 2-D"),
    ("padding_out_of_range", lambda lib: lib.nn.functional.embedding(
        lib.tensor([1]), lib.ones(5, 3), padding_idx=5), "Padding_idx"),
    ("module_padding", lambda lib: lib.nn.Embedding(5, 3, padding_idx=-6), "Padding_idx"),
    ("bag_padding", lambda lib: lib.nn.EmbeddingBag(5, 3, padding_idx=5), "padding_idx"),
    ("pretrained_1d", lambda lib: lib.nn.Embedding.from_pretrained(lib.ones(5)),
     "2-dimensional"),
    ("weight_shape", lambda lib: lib.nn.Embedding(5, 3, _weight=lib.ones(4, 3)),
     "does not match"),
    ("bag_no_offsets", lambda lib: lib.nn.functional.embedding_bag(
        lib.tensor([1, 2]), lib.ones(5, 3)), "got None"),
    ("bag_2d_offsets", lambda lib: lib.nn.functional.embedding_bag(
        lib.tensor([[1, 2]]), lib.ones(5, 3), lib.tensor([0])), "offsets has to be None"),
    ("bag_offsets_2d", lambda lib: lib.nn.functional.embedding_bag(
        lib.tensor([1, 2]), lib.ones(5, 3), lib.tensor([[0]])), "1D Tensor"),
    ("bag_first_offset", lambda lib: lib.nn.functional.embedding_bag(
        lib.tensor([1, 2]), lib.ones(5, 3), lib.tensor([1])), "got 1"),
    ("bag_last_offset", lambda lib: lib.nn.functional.embedding_bag(
        lib.tensor([1, 2, 3]), lib.ones(5, 3), lib.tensor([0, 2, 5])), "5"),
    ("bag_mode", lambda lib: lib.nn.functional.embedding_bag(
        lib.tensor([1, 2]), lib.ones(5, 3), lib.tensor([0]), mode="foo"), "sum, mean or max"),
    ("bag_weights_mode", lambda lib: lib.nn.functional.embedding_bag(
        lib.tensor([1, 2]), lib.ones(5, 3), lib.tensor([0]), per_sample_weights=lib.ones(2)),
     "mode='mean'"),
    ("bag_weights_shape", lambda lib: lib.nn.functional.embedding_bag(
        lib.tensor([1, 2]), lib.ones(5, 3), lib.tensor([0]), mode="sum",
        per_sample_weights=lib.ones(3)), "(3,)"),
    ("bag_3d", lambda lib: lib.nn.functional.embedding_bag(
        lib.tensor([[[1, 2]]]), lib.ones(5, 3)), "dimension 3"),
]


@pytest.mark.parametrize("case", ERRORS, ids=[c[0] for c in ERRORS])
def test_errors_match_torch(case):
    _, call, fragment = case
    with pytest.raises(Exception) as expected:
        call(torch)
    with pytest.raises(expected.type) as got:
        call(mg)
    assert fragment in str(got.value)
