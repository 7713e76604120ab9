"""Backward semantics: when backward may be called, what it accumulates, grad modes, graph
structure, deep and diamond-shaped graphs, dtypes of gradients, non-finite values, and
gradcheck itself. Expected values are derived by hand or taken from PyTorch."""
import numpy as np
import pytest

import minigrad as mg
from minigrad.autograd import Function, GradcheckError, gradcheck

# ---------------------------------------------------------------------------------------------
# When backward may be called, and with which gradient
# ---------------------------------------------------------------------------------------------


def test_scalar_output_needs_no_gradient(backend):
    x = mg.tensor([1.0, -2.0, 3.0], requires_grad=True)
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, -4.0, 6.0])


def test_one_element_output_of_any_rank_needs_no_gradient(backend):
    x = mg.tensor([[3.0]], requires_grad=True)
    (x * 2).backward()  # shape (1, 1): one element, like torch
    np.testing.assert_allclose(x.grad.numpy(), [[2.0]])


def test_non_scalar_output_without_gradient_raises(backend):
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="scalar"):
        (x * 2).backward()
    assert x.grad is None


def test_output_that_requires_no_grad_raises(backend):
    x = mg.tensor([1.0, 2.0])
    with pytest.raises(RuntimeError):
        (x * 2).sum().backward()
    with mg.no_grad():
        y = (mg.tensor([1.0], requires_grad=True) * 2).sum()
    with pytest.raises(RuntimeError):
        y.backward()


def test_gradient_of_wrong_shape_raises_shape_error_naming_both_shapes(backend):
    x = mg.ones(2, 3, requires_grad=True)
    y = x * 2
    with pytest.raises(mg.ShapeError) as info:
        y.backward(mg.ones(3, 2))
    assert "[3, 2]" in str(info.value) and "[2, 3]" in str(info.value)
    assert isinstance(info.value, ValueError) and isinstance(info.value, RuntimeError)
    assert x.grad is None


def test_explicit_gradient_is_the_vector_in_the_vector_jacobian_product(backend):
    x = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    (x * x).backward(mg.tensor([1.0, 10.0, 100.0]))
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 40.0, 600.0])


def test_backward_on_a_leaf_stores_the_gradient_as_a_copy(backend):
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    g = mg.tensor([5.0, 6.0])
    x.backward(g)
    np.testing.assert_allclose(x.grad.numpy(), [5.0, 6.0])
    x.grad.data += 1
    np.testing.assert_allclose(g.numpy(), [5.0, 6.0])


# ---------------------------------------------------------------------------------------------
# Accumulation
# ---------------------------------------------------------------------------------------------


def test_gradients_accumulate_across_backward_calls(backend):
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    (x * 3).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [3 + 2, 3 + 4])


def test_backward_twice_needs_retain_graph_and_then_accumulates(backend):
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = (x.exp() * x).sum()
    y.backward(retain_graph=True)
    first = x.grad.numpy().copy()
    y.backward()
    expected = np.exp([1.0, 2.0]) * (1 + np.array([1.0, 2.0]))
    np.testing.assert_allclose(first, expected)
    np.testing.assert_allclose(x.grad.numpy(), 2 * expected)
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.backward()  # the second backward freed the saved values, as in torch


def test_leaf_grad_never_aliases_another_tensors_grad(backend):
    a = mg.tensor([1.0, 2.0], requires_grad=True)
    b = mg.tensor([3.0, 4.0], requires_grad=True)
    y = a + b
    y.backward(mg.ones(2))
    a.grad.data += 1
    np.testing.assert_array_equal(b.grad.numpy(), [1.0, 1.0])
    assert not np.shares_memory(a.grad.numpy(), b.grad.numpy())


def test_leaf_grad_does_not_alias_the_upstream_gradient(backend):
    a = mg.tensor([1.0, 2.0], requires_grad=True)
    g = mg.tensor([7.0, 8.0])
    (a + 0).backward(g)
    a.grad.data *= 0
    np.testing.assert_array_equal(g.numpy(), [7.0, 8.0])


def test_broadcast_leaf_grad_does_not_alias_a_sibling(backend):
    a = mg.tensor([[1.0, 2.0]], requires_grad=True)
    b = mg.tensor([[1.0, 2.0]], requires_grad=True)
    c = a.expand(3, 2) + b.expand(3, 2)
    c.sum().backward()
    a.grad.data[...] = -1
    np.testing.assert_array_equal(b.grad.numpy(), [[3.0, 3.0]])


def test_stored_grad_is_writable_and_contiguous(backend):
    x = mg.tensor([[1.0, 2.0, 3.0]], requires_grad=True)
    x.expand(4, 3).sum().backward()  # the raw gradient is a read-only broadcast view
    assert x.grad.numpy().flags.writeable and x.grad.numpy().flags.c_contiguous
    x.grad.data += 1
    np.testing.assert_array_equal(x.grad.numpy(), [[5.0, 5.0, 5.0]])


# ---------------------------------------------------------------------------------------------
# Grad modes
# ---------------------------------------------------------------------------------------------


def test_no_grad_context_manager_records_nothing_and_restores(backend):
    x = mg.tensor([1.0], requires_grad=True)
    assert mg.is_grad_enabled()
    with mg.no_grad():
        assert not mg.is_grad_enabled()
        y = x * 2
    assert mg.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None and y.is_leaf


def test_no_grad_restores_after_an_exception(backend):
    with pytest.raises(KeyError), mg.no_grad():
        raise KeyError("boom")
    assert mg.is_grad_enabled()


def test_no_grad_as_decorator(backend):
    @mg.no_grad()
    def f(t):
        assert not mg.is_grad_enabled()
        return t * 2

    x = mg.tensor([1.0], requires_grad=True)
    y = f(x)
    assert not y.requires_grad
    assert mg.is_grad_enabled()
    assert f.__name__ == "f"


def test_enable_grad_inside_no_grad(backend):
    x = mg.tensor([2.0], requires_grad=True)
    with mg.no_grad():
        with mg.enable_grad():
            assert mg.is_grad_enabled()
            y = x * x
        assert not mg.is_grad_enabled()
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [4.0])


def test_enable_grad_as_decorator(backend):
    @mg.enable_grad()
    def f(t):
        return t * 3

    x = mg.tensor([1.0], requires_grad=True)
    with mg.no_grad():
        y = f(x)
    assert y.requires_grad


def test_set_grad_enabled_as_call_context_and_decorator(backend):
    x = mg.tensor([1.0], requires_grad=True)
    mg.set_grad_enabled(False)
    try:
        assert not mg.is_grad_enabled()
        assert not (x * 2).requires_grad
    finally:
        mg.set_grad_enabled(True)
    assert mg.is_grad_enabled()
    with mg.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert mg.is_grad_enabled()
    with mg.no_grad():
        with mg.set_grad_enabled(True):
            assert (x * 2).requires_grad
        assert not mg.is_grad_enabled()

    @mg.set_grad_enabled(False)
    def f():
        return mg.is_grad_enabled()

    assert mg.is_grad_enabled()  # making the decorator does not switch the mode
    assert f() is False
    assert mg.is_grad_enabled()


def test_in_place_update_of_a_leaf_needs_no_grad(backend):
    w = mg.tensor([1.0, 2.0], requires_grad=True)
    (w * w).sum().backward()
    with pytest.raises(RuntimeError):
        w -= 0.1 * w.grad
    with mg.no_grad():
        w -= 0.1 * w.grad
    np.testing.assert_allclose(w.numpy(), [0.8, 1.6])
    assert w.requires_grad and w.is_leaf


# ---------------------------------------------------------------------------------------------
# Graph structure: leaves, grad_fn, detach, requires_grad
# ---------------------------------------------------------------------------------------------


def test_detach_cuts_the_graph_and_shares_values(backend):
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    d = y.detach()
    assert not d.requires_grad and d.is_leaf and d.grad_fn is None
    np.testing.assert_array_equal(d.numpy(), [3.0, 6.0])
    assert np.shares_memory(d.numpy(), y.numpy())  # torch: detach shares storage
    (x * d).sum().backward()  # d is a constant: d(x * d)/dx = d
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 6.0])


@pytest.mark.parametrize("make", [
    lambda: mg.tensor([1, 2], requires_grad=True),
    lambda: mg.tensor([1, 2]).requires_grad_(),
    lambda: mg.tensor([True, False]).requires_grad_(True),
    lambda: mg.zeros(2, dtype=mg.int64, requires_grad=True),
    lambda: mg.arange(3, requires_grad=True),
], ids=["tensor", "requires_grad_", "bool", "zeros", "arange"])
def test_requires_grad_on_a_non_float_tensor_raises(make):
    with pytest.raises(RuntimeError, match="floating point"):
        make()


def test_requires_grad_setter_on_int_tensor_raises():
    t = mg.tensor([1, 2])
    with pytest.raises(RuntimeError):
        t.requires_grad = True
    assert not t.requires_grad


def test_requires_grad_flag_of_a_non_leaf_cannot_be_cleared(backend):
    y = mg.tensor([1.0], requires_grad=True) * 2
    with pytest.raises(RuntimeError):
        y.requires_grad_(False)


def test_is_leaf_and_grad_fn(backend):
    a = mg.tensor([1.0, 2.0], requires_grad=True)
    c = mg.tensor([1.0, 2.0])
    assert a.is_leaf and a.grad_fn is None
    assert c.is_leaf and c.grad_fn is None
    y = a * c
    assert not y.is_leaf and y.grad_fn is not None and y.requires_grad
    z = c * 2  # no input requires grad: torch makes this a leaf
    assert z.is_leaf and z.grad_fn is None and not z.requires_grad
    y.sum().backward()
    assert c.grad is None  # tensors that do not require grad get none
    with pytest.warns(UserWarning, match="not a leaf Tensor"):  # as torch
        assert y.grad is None  # non-leaves keep no .grad


def test_grad_fn_names_match_torch(backend):
    torch = pytest.importorskip("torch")
    ops = {
        "add": lambda t: t + t, "sub": lambda t: t - 1, "mul": lambda t: t * t,
        "div": lambda t: t / 2, "neg": lambda t: -t, "exp": lambda t: t.exp(),
        "log": lambda t: t.log(), "sqrt": lambda t: t.sqrt(), "abs": lambda t: t.abs(),
        "sigmoid": lambda t: t.sigmoid(), "tanh": lambda t: t.tanh(),
        "sum": lambda t: t.sum(), "pow": lambda t: t ** 2, "cat": lambda t: torch_or_mg(t).cat(
            [t, t]), "stack": lambda t: torch_or_mg(t).stack([t, t]),
        "clone": lambda t: t.clone(),
    }
    for name, op in ops.items():
        got = op(mg.tensor([1.0, 2.0], requires_grad=True)).grad_fn
        want = op(torch.tensor([1.0, 2.0], requires_grad=True)).grad_fn
        assert got.name() == want.name(), name
        assert repr(got).startswith(f"<{want.name()} object at 0x")


def torch_or_mg(t):
    return mg if isinstance(t, mg.Tensor) else __import__("torch")


def test_next_functions_point_to_the_producing_nodes(backend):
    a = mg.tensor([1.0], requires_grad=True)
    b = mg.tensor([2.0], requires_grad=True)
    m = a * b
    y = m + a
    nodes = [fn for fn, _ in y.grad_fn.next_functions]
    assert nodes[0] is m.grad_fn


# ---------------------------------------------------------------------------------------------
# Graph shapes: deep chains and diamonds
# ---------------------------------------------------------------------------------------------


def test_deep_multiplicative_chain_has_no_recursion_error(backend):
    x = mg.tensor(1.0, dtype=mg.float64, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0001
    y.backward()
    expected = 1.0001 ** 100_000  # d/dx of x * c**n
    np.testing.assert_allclose(x.grad.item(), expected, rtol=1e-9)
    np.testing.assert_allclose(y.item(), expected, rtol=1e-9)


def test_deep_additive_chain_has_no_recursion_error(backend):
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y + 1
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 1.0])
    np.testing.assert_allclose(y.numpy(), [100_001.0, 100_002.0])


def test_diamond_graph(backend):
    a = mg.tensor([1.5, -2.0], dtype=mg.float64, requires_grad=True)
    b = a * 2
    c = a * 3
    d = b * c  # 6 a^2
    d.sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), 12 * a.numpy())


def test_stacked_diamonds_match_torch(backend):
    torch = pytest.importorskip("torch")

    def f(lib, a):
        for _ in range(5):
            left, right = a.tanh(), a * a
            a = left * right + a  # three paths lead back to a each round
        return a.sum()

    values = np.array([0.3, -0.7, 1.1])
    x = mg.tensor(values, requires_grad=True)
    tx = torch.tensor(values, requires_grad=True)
    f(mg, x).backward()
    f(torch, tx).backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-10)


def test_wide_fan_out_accumulates_every_path(backend):
    x = mg.tensor(2.0, dtype=mg.float64, requires_grad=True)
    total = x * 0
    for k in range(1, 201):
        total = total + x * k
    total.backward()
    assert x.grad.item() == pytest.approx(sum(range(1, 201)))


def test_unused_branch_contributes_nothing(backend):
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    _unused = x * 100
    (x * 2).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0])


# ---------------------------------------------------------------------------------------------
# dtypes and non-finite values
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("op", [lambda a, b: a * b, lambda a, b: a + b, lambda a, b: a / b,
                                lambda a, b: a @ b, lambda a, b: mg.maximum(a, b),
                                lambda a, b: mg.cat([a, b]), lambda a, b: mg.where(a > 0, a, b)],
                         ids=["mul", "add", "div", "matmul", "maximum", "cat", "where"])
def test_gradient_dtype_equals_leaf_dtype_under_promotion(backend, op):
    a = mg.tensor([1.0, 2.0], dtype=mg.float32, requires_grad=True)
    b = mg.tensor([3.0, 4.0], dtype=mg.float64, requires_grad=True)
    out = op(a, b)
    assert out.dtype == mg.float64
    out.sum().backward()
    assert a.grad.dtype == mg.float32 and a.grad.numpy().dtype == np.float32
    assert b.grad.dtype == mg.float64


def test_promotion_gradients_match_torch(backend):
    torch = pytest.importorskip("torch")
    a32, b64 = np.array([1.0, -2.0, 0.5]), np.array([0.25, 3.0, -1.0])
    a, b = mg.tensor(a32, dtype=mg.float32, requires_grad=True), mg.tensor(b64, requires_grad=True)
    ta = torch.tensor(a32, dtype=torch.float32, requires_grad=True)
    tb = torch.tensor(b64, requires_grad=True)
    ((a * b).exp() / (b * b + a)).sum().backward()
    ((ta * tb).exp() / (tb * tb + ta)).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), ta.grad.numpy(), rtol=1e-6)
    np.testing.assert_allclose(b.grad.numpy(), tb.grad.numpy(), rtol=1e-6)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("name, op", [
    ("log", lambda t: t.log()), ("sqrt", lambda t: t.sqrt()), ("reciprocal", lambda t: 1 / t),
    ("exp_times_zero", lambda t: t.exp() * 0), ("times_inf", lambda t: t * float("inf")),
    ("times_nan", lambda t: t * float("nan")), ("relu", lambda t: t.relu()),
    ("sigmoid", lambda t: t.sigmoid()), ("tanh", lambda t: t.tanh()), ("abs", lambda t: t.abs()),
    ("max", lambda t: t.max()), ("amax", lambda t: t.reshape(2, 3).amax(1)),
    ("max_dim", lambda t: t.reshape(3, 2).max(1)[0]), ("sum", lambda t: t.sum())],
    ids=lambda v: v if isinstance(v, str) else "")
def test_nan_and_inf_propagate_like_torch(backend, name, op):
    torch = pytest.importorskip("torch")
    values = np.array([0.0, -1.0, 2.0, np.inf, -np.inf, np.nan])
    x = mg.tensor(values, dtype=mg.float64, requires_grad=True)
    tx = torch.tensor(values, requires_grad=True)
    out, tout = op(x), op(tx)
    np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), rtol=1e-15)
    upstream = np.ones(tuple(tout.shape))
    out.backward(mg.tensor(upstream))
    tout.backward(torch.tensor(upstream))
    got, want = x.grad.numpy(), tx.grad.numpy()
    if name == "abs":
        # At a NaN input the slope is a convention: torch uses sign(NaN) = 0 for abs;
        # minigrad follows numpy's sign(NaN) = NaN. Compare every other element.
        got, want = got[:-1], want[:-1]
    if name == "amax":
        # torch's amax backward divides by the count of elements equal to a NaN maximum (0)
        # and gives NaN to the whole row; minigrad routes it to the NaN, as max() does in both.
        np.testing.assert_array_equal(got[3:], [0.0, 0.0, 1.0])
        got, want = got[:3], want[:3]
    np.testing.assert_allclose(got, want, rtol=1e-15)


# ---------------------------------------------------------------------------------------------
# gradcheck itself
# ---------------------------------------------------------------------------------------------


class SquareWithWrongBackward(Function):
    """out = x**2, but backward is wrong at exactly one element, (1, 2)."""

    def forward(self, x):
        self.x = x
        return x * x

    def backward(self, g):
        grad = 2 * self.x * g
        grad[1, 2] *= 3
        return (grad,)


class SquareWithRightBackward(SquareWithWrongBackward):
    def backward(self, g):
        return (2 * self.x * g,)


def _matrix():
    return mg.tensor(np.arange(1.0, 13.0).reshape(3, 4) / 4, dtype=mg.float64,
                     requires_grad=True)


def test_gradcheck_accepts_correct_ops():
    assert gradcheck(SquareWithRightBackward.apply, _matrix()) is True
    a = mg.tensor([[0.5, -1.2]], dtype=mg.float64, requires_grad=True)
    b = mg.tensor([[2.0], [0.3]], dtype=mg.float64, requires_grad=True)
    assert gradcheck(lambda p, q: (p @ q).tanh() * p.sum(), (a, b)) is True


def test_gradcheck_names_the_worst_element_of_a_wrong_backward():
    with pytest.raises(GradcheckError) as info:
        gradcheck(SquareWithWrongBackward.apply, _matrix())
    message = str(info.value)
    assert "(1, 2)" in message  # the input element whose gradient is wrong
    assert "element 6" in message  # output (1, 2) flattened
    assert isinstance(info.value, RuntimeError)
    assert gradcheck(SquareWithWrongBackward.apply, _matrix(), raise_exception=False) is False


def test_gradcheck_leaves_inputs_and_grads_untouched():
    x = _matrix()
    before = x.numpy().copy()
    gradcheck(lambda t: (t * t).sum(), x)
    np.testing.assert_array_equal(x.numpy(), before)
    assert x.grad is None


def test_gradcheck_needs_an_input_that_requires_grad():
    with pytest.raises(ValueError):
        gradcheck(lambda t: t * 2, mg.tensor([1.0], dtype=mg.float64))


def test_custom_function_gets_unbroadcast_gradients(backend):
    class AddBroadcast(Function):
        def forward(self, a, b):
            return a + b

        def backward(self, g):
            return g, g  # of the broadcast shape: the engine sums it down

    a = mg.tensor([[1.0, 2.0, 3.0]], requires_grad=True)
    b = mg.tensor([[1.0], [2.0]], requires_grad=True)
    AddBroadcast.apply(a, b).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [[2.0, 2.0, 2.0]])
    np.testing.assert_array_equal(b.grad.numpy(), [[3.0], [3.0]])
