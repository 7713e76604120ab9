"""Semantics found in review: copies, promotion of mixed int/float helpers, in-place guards."""
import numpy as np
import pytest

import minigrad as mg


def test_np_array_with_copy_does_not_alias_the_tensor():
    t = mg.tensor([1.0, 2.0])
    a = np.array(t, copy=True)
    a[0] = 99.0
    assert t.tolist() == [1.0, 2.0]
    shared = np.asarray(t)  # no copy asked: shares memory, as torch's .numpy() does
    assert np.shares_memory(shared, t.numpy())


@pytest.mark.parametrize("make", [
    lambda L, t: L.where(t > 1, t, 0.5),
    lambda L, t: L.maximum(t, L.tensor(1.5)),
    lambda L, t: L.minimum(L.tensor(2.5), t),
    lambda L, t: t.clamp(min=1.5),
    lambda L, t: t.clamp(max=2.5),
])
def test_integer_tensor_meeting_floats_is_promoted_like_torch(make):
    torch = pytest.importorskip("torch")
    got = make(mg, mg.tensor([0, 2, 3]))
    want = make(torch, torch.tensor([0, 2, 3]))
    assert got.dtype.name == str(want.dtype).replace("torch.", "")
    np.testing.assert_allclose(got.numpy(), want.numpy())


def test_where_with_a_python_float_keeps_a_float32_tensor_float32():
    t = mg.tensor([1.0, -2.0])
    out = mg.where(t > 0, t, 0.25)
    assert out.dtype == mg.float32
    assert out.tolist() == [1.0, 0.25]


def test_in_place_change_of_a_saved_output_under_no_grad_fails_at_backward():
    x = mg.tensor([0.5, -1.0], requires_grad=True)
    y = x.sigmoid()  # sigmoid's backward reads y itself
    with mg.no_grad():
        y *= 0  # allowed, as in torch; the version check catches it at backward
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_in_place_change_of_an_expanded_view_names_the_cause():
    e = mg.tensor([1.0, 2.0]).expand(3, 2)
    with pytest.raises(RuntimeError, match="single memory location"):
        e += 1
    with pytest.raises(RuntimeError, match="single memory location"):
        e[0, 0] = 5.0


def test_to_with_copy_returns_a_new_tensor():
    t = mg.tensor([1.0, 2.0])
    same = t.to(mg.float32)
    copied = t.to(mg.float32, copy=True)
    assert same is t
    assert copied is not t and not np.shares_memory(copied.numpy(), t.numpy())
    assert copied.tolist() == t.tolist()


@pytest.mark.parametrize("dtype, name", [(mg.float32, "Float"), (mg.float64, "Double"),
                                         (mg.int64, "Long"), (mg.bool, "Bool")])
def test_legacy_type_names_follow_the_dtype(dtype, name):
    assert mg.zeros(2, dtype=dtype).type() == f"minigrad.{name}Tensor"


def test_gradient_accumulates_in_place_into_the_existing_grad_array():
    w = mg.tensor([1.0, 2.0], requires_grad=True)
    (w * 3).sum().backward()
    first = w.grad.numpy()
    (w * 2).sum().backward()
    assert w.grad.numpy() is first  # accumulated in place, as torch does
    np.testing.assert_allclose(w.grad.numpy(), [5.0, 5.0])


def test_bce_target_gradient_matches_torch_at_probabilities_zero_and_one():
    # torch clamps the logs of the loss at -100 but not the target's gradient (+-inf there).
    torch = pytest.importorskip("torch")
    p = np.array([0.0, 1.0, 0.3])
    y = np.array([0.2, 0.7, 0.5])
    target = mg.tensor(y, requires_grad=True)
    mg.nn.functional.binary_cross_entropy(mg.tensor(p), target).backward()
    t_target = torch.tensor(y, requires_grad=True)
    torch.nn.functional.binary_cross_entropy(torch.tensor(p), t_target).backward()
    np.testing.assert_allclose(target.grad.numpy(), t_target.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("requires_grad", [False, True])
@pytest.mark.parametrize("index", [0, 2, -1, slice(1, 3), (1, 2), (slice(None), 1)], ids=str)
def test_basic_index_views_share_memory_and_versions_as_in_torch(index, requires_grad):
    """x[i], x[a:b], x[i, j], x[:, j] are views: an in-place change through one shows in the
    base (values and version counter), and a view of a leaf that requires grad keeps the
    graph, on both libraries alike."""
    torch = pytest.importorskip("torch")
    results = []
    for lib in (mg, torch):
        base = lib.arange(12, dtype=lib.float32).reshape(3, 4)
        x = base.clone().requires_grad_(True) if requires_grad else base.clone()
        view = x[index]
        if requires_grad:
            (view * 2).sum().backward()
            results.append((x.grad.numpy().copy(), None, None))
            continue
        before = x._version
        view.add_(100)
        results.append((x.numpy().copy(), x._version > before, view.numpy().copy()))
    for a, b in zip(*results):
        if isinstance(a, np.ndarray):
            np.testing.assert_array_equal(a, b)
        else:
            assert a == b
