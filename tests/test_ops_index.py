"""Indexing, gather/scatter and masks against PyTorch, one table row per op.

``GETITEM`` holds index expressions (each a function of the library, so that index tensors
are built by the library under test) applied to an input of shape (2, 3, 4); ``SETITEM`` holds
assignments; ``ROWS`` the functions (gather, scatter, index_*, masked_*, take, put, nonzero,
where...). For each, on both kernel backends: values, shapes and dtypes match PyTorch in
float32 and float64, the gradients of a random weighted sum match PyTorch's, ``gradcheck`` and
``gradgradcheck`` pass in float64, and a non-contiguous input gives the same. The errors
PyTorch raises for bad indices (out of range, negative where refused, bad dtype or shape) are
raised with the same exception type.
"""
import warnings
from dataclasses import dataclass

import numpy as np
import pytest

import minigrad as mg
from minigrad.autograd import gradcheck, gradgradcheck

torch = pytest.importorskip("torch")
torch.set_num_threads(1)
ERRORS = (RuntimeError, IndexError, TypeError, ValueError, NotImplementedError)


def distinct(rng, shape):
    n = int(np.prod(shape, dtype=np.int64))
    values = (rng.permutation(n) - n / 2.0) * 0.37 + 0.05
    return np.where(np.abs(values) < 0.1, values + 0.2, values).reshape(shape)


def make(lib, array, dtype, grad, layout="C"):
    a = np.asarray(array).astype(dtype)
    if lib is mg and layout == "F" and a.ndim >= 2 and a.size > 1 and 1 not in a.shape:
        x = mg.from_numpy(np.asfortranarray(a))
        assert not x.numpy().flags.c_contiguous
    else:
        x = lib.tensor(a)
    return x.requires_grad_(True) if grad else x


def dtype_name(t):
    return str(t.dtype).split(".")[-1]


def values_of(t):
    return np.array(t.detach().numpy())


def outputs(result):
    if isinstance(result, (tuple, list)):
        found = []
        for r in result:
            found.extend(outputs(r))
        return found
    return [result]


def run(lib, fn, arrays, dtype, grad, layout="C", seed=1):
    """Outputs (values, dtype) and input gradients of fn(lib, *inputs)."""
    xs = [make(lib, a, dtype, grad, layout) for a in arrays]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        outs = outputs(fn(lib, *xs))
    got = [(values_of(o), dtype_name(o)) for o in outs]
    grads = None
    if grad:
        rng = np.random.default_rng(seed)
        total = None
        for o in outs:
            if o.dtype.is_floating_point and o.requires_grad:
                term = (o * lib.tensor(rng.standard_normal(tuple(o.shape)), dtype=o.dtype)).sum()
                total = term if total is None else total + term
        if total is not None:
            total.backward()
        grads = [None if x.grad is None else values_of(x.grad) for x in xs]
    return got, grads


def assert_close(got, want, dtype):
    tol = {"rtol": 1e-10, "atol": 1e-12} if dtype == np.float64 else \
        {"rtol": 3e-5, "atol": 3e-6}
    if got.dtype.kind == "f":
        np.testing.assert_allclose(got, want, equal_nan=True, **tol)
    else:
        np.testing.assert_array_equal(got, want)


def compare(fn, arrays, dtype, grad=True, layout="C"):
    """Run fn on torch and minigrad; the same results (or the same exception type)."""
    try:
        want, want_grads = run(torch, fn, arrays, dtype, grad)
    except ERRORS as exc:
        with pytest.raises(type(exc)):
            run(mg, fn, arrays, dtype, grad, layout)
        return False
    got, got_grads = run(mg, fn, arrays, dtype, grad, layout)
    assert len(got) == len(want)
    for (g, g_dtype), (w, w_dtype) in zip(got, want):
        assert g_dtype == w_dtype
        assert g.shape == w.shape
        assert_close(g, w, dtype)
    if grad:
        for g, w in zip(got_grads, want_grads):
            assert (g is None) == (w is None)
            if w is not None:
                assert g.dtype == w.dtype
                assert_close(g, w, dtype)
    return True


# ---------------------------------------------------------------------------------------------
# x[index] on an input of shape (2, 3, 4)
# ---------------------------------------------------------------------------------------------


def t(L, values, dtype=None):
    return L.tensor(values, dtype=dtype)


GETITEM = {
    "int": lambda L, x: x[1],
    "negative_int": lambda L, x: x[-2, -1],
    "slices": lambda L, x: x[:, 1:3, ::2],
    "slice_out_of_range_stop": lambda L, x: x[:, 1:99],
    "empty_slice": lambda L, x: x[1:1],
    "ellipsis": lambda L, x: x[..., 1],
    "none": lambda L, x: x[None, :, None, 0],
    "tuple_of_ints": lambda L, x: x[(1, 2)],
    "zero_d_int_tensor": lambda L, x: x[t(L, 1)],
    "int32_zero_d": lambda L, x: x[t(L, 1, L.int32), 0],
    "index_tensor": lambda L, x: x[t(L, [1, 0, 1])],
    "index_tensor_int32": lambda L, x: x[t(L, [1, 0, 1], L.int32)],
    "index_tensor_negative": lambda L, x: x[:, t(L, [-1, -3, 0])],
    "index_tensor_2d": lambda L, x: x[:, :, t(L, [[0, 3], [3, 3]])],
    "index_tensor_empty": lambda L, x: x[t(L, np.zeros(0, np.int64))],
    "index_list": lambda L, x: x[[1, 0]],
    "index_list_of_lists_is_a_tuple": lambda L, x: x[[[0, 1], [1, 2]]],
    "index_nested_list_in_tuple": lambda L, x: x[[[0, 1], [1, 0]], ],
    "index_empty_list": lambda L, x: x[[]],
    "index_list_int_and_bool": lambda L, x: x[[0, True]],
    "pairs": lambda L, x: x[t(L, [0, 1, 1]), t(L, [2, 0, 2])],
    "pairs_broadcast": lambda L, x: x[t(L, [[0], [1]]), :, t(L, [0, 3, 1])],
    "int_slice_tensor_torch_order": lambda L, x: x[0, :, t(L, [0, 2, 3])],
    "zero_d_tensor_slice_tensor": lambda L, x: x[t(L, 1), :, t(L, [0, 2])],
    "tensor_slice_tensor": lambda L, x: x[t(L, [1]), :, t(L, [0, 2])],
    "tensor_ellipsis_tensor": lambda L, x: x[t(L, [1, 0]), ..., t(L, [0, 2])],
    "adjacent_after_slice": lambda L, x: x[:, t(L, [2, 0]), t(L, [1, 3])],
    "tensor_none_tensor": lambda L, x: x[:, t(L, [2, 0]), None, t(L, [1])],
    "none_then_tensors": lambda L, x: x[None, t(L, [1]), t(L, [0, 2])],
    "int_then_tensor": lambda L, x: x[1, t(L, [2, 0])],
    "tensor_then_int": lambda L, x: x[t(L, [1, 0]), 2],
    "int_tensor_int": lambda L, x: x[1, t(L, [2, 0]), 3],
    "int_none_tensor": lambda L, x: x[1, None, :, t(L, [2, 0])],
    "bool_true": lambda L, x: x[True],
    "bool_false": lambda L, x: x[False],
    "int_bool": lambda L, x: x[0, True],
    "tensor_bool_tensor": lambda L, x: x[t(L, [1]), True, t(L, [0, 2])],
    "bool_zero_d_tensor": lambda L, x: x[t(L, True)],
    "mask_first_dim": lambda L, x: x[t(L, [True, False])],
    "mask_two_dims": lambda L, x: x[t(L, [[True, False, True], [False, True, True]])],
    "mask_after_slice": lambda L, x: x[:, t(L, [False, True, True])],
    "mask_all_dims": lambda L, x: x[x > 0.5],
    "mask_none_selected": lambda L, x: x[x > 100.0],
    "mask_and_tensor": lambda L, x: x[t(L, [[True, False, True], [False, True, True]]),
                                      t(L, [0, 1, 3, 2])],
    "mask_uint8": lambda L, x: x[t(L, [1, 0], L.uint8)],
    "mask_list_of_bools": lambda L, x: x[[True, False]],
    "repeated_indices": lambda L, x: x[t(L, [1, 1, 0, 1])],
    "index_then_view": lambda L, x: x[1][:, 2],
    "chained_advanced": lambda L, x: x[t(L, [1, 0])][:, t(L, [2, 2])],
    "second_ellipsis_is_empty": lambda L, x: x[..., 0, ...],
}

GETITEM_ERRORS = {
    "int_out_of_range": lambda L, x: x[2],
    "negative_int_out_of_range": lambda L, x: x[-3],
    "second_int_out_of_range": lambda L, x: x[0, 5],
    "tensor_out_of_range": lambda L, x: x[t(L, [0, 2])],
    "tensor_negative_out_of_range": lambda L, x: x[:, t(L, [-4])],
    "too_many_indices": lambda L, x: x[0, 0, 0, 0],
    "float_index": lambda L, x: x[1.5],
    "float_tensor_index": lambda L, x: x[t(L, [1.0])],
    "int16_tensor_index": lambda L, x: x[t(L, [1], L.int16)],
    "int8_tensor_index": lambda L, x: x[t(L, [1], L.int8)],
    "mask_shape": lambda L, x: x[t(L, [True, False, True])],
    "mask_shape_second_dim": lambda L, x: x[:, t(L, [True, False])],
    "broadcast_mismatch": lambda L, x: x[t(L, [0, 1]), t(L, [0, 1, 2])],
    "negative_step": lambda L, x: x[::-1],
    "zero_step": lambda L, x: x[::0],
    "string": lambda L, x: x["a"],
    "zero_d_int": lambda L, x: x.sum()[0],
}

X_SHAPE = (2, 3, 4)


def x_values():
    return distinct(np.random.default_rng(0), X_SHAPE)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", sorted(GETITEM))
def test_getitem_matches_torch(backend, name, dtype):
    assert compare(GETITEM[name], [x_values()], dtype)


@pytest.mark.parametrize("name", sorted(GETITEM))
def test_getitem_non_contiguous_input(backend, name):
    assert compare(GETITEM[name], [x_values()], np.float64, layout="F")


@pytest.mark.parametrize("name", sorted(GETITEM))
def test_getitem_gradcheck(backend, name):
    x = mg.tensor(x_values(), requires_grad=True)
    fn = GETITEM[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if fn(mg, x).numel() == 0:
            pytest.skip("no output elements")
        assert gradcheck(lambda v: fn(mg, v), [x])
        assert gradgradcheck(lambda v: fn(mg, v), [x])


@pytest.mark.parametrize("name", sorted(GETITEM_ERRORS))
def test_getitem_errors_match_torch(backend, name):
    assert not compare(GETITEM_ERRORS[name], [x_values()], np.float64, grad=False)


def test_int_then_slice_then_tensor_follows_torch_not_numpy(backend):
    """x[0, :, idx]: numpy puts the index dims first ((3, 2) -> (2, 3)); PyTorch applies the
    integer first, so the result is x[0][:, idx], of shape (3, 2). minigrad followed numpy."""
    a = x_values()
    got = mg.tensor(a)[0, :, mg.tensor([0, 2])]
    assert tuple(got.shape) == (3, 2)
    np.testing.assert_array_equal(got.numpy(), a[0][:, [0, 2]])
    assert a[0, :, [0, 2]].shape == (2, 3)  # numpy's answer, for the record
    x = mg.zeros(2, 3, 4)
    x[0, :, mg.tensor([0, 2])] = mg.arange(6.0).reshape(3, 2)
    np.testing.assert_array_equal(x.numpy()[0][:, [0, 2]], np.arange(6.0).reshape(3, 2))


def test_index_error_messages_name_index_dim_and_size(backend):
    x = mg.zeros(2, 3)
    with pytest.raises(IndexError, match="index 5 is out of bounds for dimension 1 with size 3"):
        x[0, 5]
    with pytest.raises(IndexError, match="index -4 is out of bounds for dimension 1 with size 3"):
        x[:, mg.tensor([0, -4])]
    with pytest.raises(IndexError, match=r"The shape of the mask \[3\] at index 0 does not match"):
        x[mg.tensor([True, False, True])]


def test_uint8_index_warns_like_torch(backend):
    with pytest.warns(UserWarning, match="indexing with dtype torch.uint8 is now deprecated"):
        mg.zeros(2, 3)[mg.tensor([1, 0], dtype=mg.uint8)]


def test_basic_indexing_gives_views(backend):
    x = mg.zeros(2, 3)
    row = x[1]
    row += 1.0
    element = x[0, 2]
    element += 5.0
    np.testing.assert_array_equal(x.numpy(), [[0.0, 0.0, 5.0], [1.0, 1.0, 1.0]])
    picked = x[mg.tensor([1])]
    picked += 10.0
    np.testing.assert_array_equal(x.numpy()[1], [1.0, 1.0, 1.0])  # advanced: a copy


# ---------------------------------------------------------------------------------------------
# x[index] = value
# ---------------------------------------------------------------------------------------------

SETITEM = {
    "int_number": (lambda L, x: x[1], 2.5),
    "slice_tensor": (lambda L, x: x[:, 1:], "value"),
    "int_slice_tensor_torch_order": (lambda L, x: x[0, :, t(L, [0, 2])], "value"),
    "tensor_slice_tensor": (lambda L, x: x[t(L, [1]), :, t(L, [0, 3])], "value"),
    "index_tensor_repeated": (lambda L, x: x[t(L, [1, 1])], "value"),
    "pairs": (lambda L, x: x[t(L, [0, 1]), t(L, [2, 0])], "value"),
    "mask": (lambda L, x: x[t(L, [[True, False, True], [False, True, True]])], "value"),
    "mask_number": (lambda L, x: x[t(L, x_values() > 0.5)], -1.0),
    "ellipsis_broadcast_row": (lambda L, x: x[..., 1], "row"),
    "none": (lambda L, x: x[None], "value"),
    "bool_true": (lambda L, x: x[True], "value"),
    "bool_false": (lambda L, x: x[False], 3.0),
    "zero_d_int_tensor": (lambda L, x: x[t(L, 1), 2], "value"),
    "leading_ones_in_value": (lambda L, x: x[1], "leading_ones"),
}


def _setitem_fn(selector, value_kind):
    """fn(L, x, v) = a copy of x with ``selector``'s positions set to v (or a number),
    differentiable in both."""
    def fn(L, x, *v):
        y = x * 1.0
        target = selector(L, y)
        if isinstance(value_kind, float):
            value = value_kind
        else:
            value = v[0]
            if value_kind == "leading_ones":
                value = value.reshape((1, 1) + tuple(target.shape))
            elif value_kind == "row":
                value = value.reshape(-1)[:target.shape[-1]]
        index = _index_of(selector, L, y)
        y[index] = value
        return y
    return fn


def _index_of(selector, L, y):
    """The index a selector applies (recorded by a small probe object)."""
    class Probe:
        def __getitem__(self, index):
            self.index = index
            return y[index]

    probe = Probe()
    selector(L, probe)
    return probe.index


def _setitem_inputs(selector, value_kind):
    a = x_values()
    if isinstance(value_kind, float):
        return [a]
    shape = tuple(selector(torch, torch.tensor(a)).shape)
    if value_kind == "leading_ones":
        return [a, distinct(np.random.default_rng(5), shape)]
    if value_kind == "row":
        return [a, distinct(np.random.default_rng(5), (shape[-1],))]
    return [a, distinct(np.random.default_rng(5), shape)]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", sorted(SETITEM))
def test_setitem_matches_torch(backend, name, dtype):
    selector, kind = SETITEM[name]
    assert compare(_setitem_fn(selector, kind), _setitem_inputs(selector, kind), dtype)


@pytest.mark.parametrize("name", sorted(set(SETITEM) - {"index_tensor_repeated"}))
def test_setitem_gradcheck(backend, name):
    """(Not for repeated indices: there PyTorch's gradient, which test_setitem_matches_torch
    checks, gives every duplicate the gradient although only one value lands.)"""
    selector, kind = SETITEM[name]
    inputs = [mg.tensor(a, requires_grad=True) for a in _setitem_inputs(selector, kind)]
    fn = _setitem_fn(selector, kind)
    assert gradcheck(lambda *v: fn(mg, *v), inputs)
    assert gradgradcheck(lambda *v: fn(mg, *v), inputs)


def test_setitem_without_grad_writes_in_place(backend):
    for lib in (mg, torch):
        x = lib.zeros(2, 3, 4)
        view = x[1]
        x[1, :, lib.tensor([0, 3])] = lib.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
        x[0][x[0] == 0] = 7.0
        x[lib.tensor([1]), 2] = 9
        if lib is mg:
            got, got_view = x.numpy().copy(), view.numpy().copy()
        else:
            np.testing.assert_array_equal(got, x.numpy())
            np.testing.assert_array_equal(got_view, view.numpy())


def test_setitem_casts_to_the_tensor_dtype(backend):
    for lib in (mg, torch):
        x = lib.zeros(2, 3, dtype=lib.int64)
        x[1] = 5.7
        x[0, 1] = lib.tensor(2.9)
        assert x.tolist() == [[0, 2, 0], [5, 5, 5]]


SETITEM_ERRORS = {
    "value_shape": lambda L, x: x.__setitem__((0, slice(None), t(L, [0, 2])),
                                              L.ones(2, 3)),
    "mask_count": lambda L, x: x.__setitem__(x > 0.5, L.ones(100)),
    "out_of_range": lambda L, x: x.__setitem__(5, 1.0),
    "tensor_out_of_range": lambda L, x: x.__setitem__(t(L, [5]), 1.0),
    "negative_step": lambda L, x: x.__setitem__(slice(None, None, -1), 1.0),
    "list_value": lambda L, x: x.__setitem__(0, [1.0, 2.0]),
    "numpy_value": lambda L, x: x.__setitem__(0, np.ones(3)),
    "too_big_value": lambda L, x: x.__setitem__(1, L.ones(2, 3, 4)),
    "leaf_requiring_grad": lambda L, x: x.requires_grad_().__setitem__(0, 1.0),
}


@pytest.mark.parametrize("name", sorted(SETITEM_ERRORS))
def test_setitem_errors_match_torch(backend, name):
    assert not compare(SETITEM_ERRORS[name], [x_values()], np.float64, grad=False)


# ---------------------------------------------------------------------------------------------
# The functions: gather, scatter, index_*, masks, take/put, nonzero, where
# ---------------------------------------------------------------------------------------------


@dataclass
class Row:
    name: str
    fn: object
    shapes: tuple = ((3, 4),)
    grad: bool = True
    torch_backward: bool = True  # False: PyTorch has no backward here (minigrad does)


IDX = [[0, 2, 0, 1], [1, 1, 2, 0]]          # for dim 0 of a (3, 4) input, shape (2, 4)
IDX_DIM1 = [[3, 0], [0, 0], [2, 1]]          # for dim 1 of a (3, 4) input, shape (3, 2)
IDX_SMALL = [[2, 0], [1, 1]]                 # smaller than the input in the other dim

ROWS = [
    Row("gather_dim0", lambda L, x: L.gather(x, 0, t(L, IDX))),
    Row("gather_dim1_method", lambda L, x: x.gather(1, t(L, IDX_DIM1))),
    Row("gather_neg_dim_int32", lambda L, x: x.gather(-1, t(L, IDX_DIM1, L.int32))),
    Row("gather_smaller_index", lambda L, x: L.gather(x, 0, t(L, IDX_SMALL))),
    Row("gather_3d", lambda L, x: x.gather(1, t(L, [[[0, 2]], [[1, 1]]])), ((2, 3, 2),)),
    Row("gather_empty", lambda L, x: x.gather(0, t(L, np.zeros((0, 4), np.int64)))),
    Row("gather_0d", lambda L, x: x.gather(0, t(L, 0)), ((),)),
    Row("scatter_src", lambda L, x, s: x.scatter(0, t(L, [[0, 2, 1, 1], [1, 0, 2, 0]]), s),
        ((3, 4), (2, 4))),
    # src larger than index: PyTorch's backward refuses ("only implemented for src.shape ==
    # index.shape"); minigrad's gradient is checked by gradcheck instead
    Row("scatter_smaller_index", lambda L, x, s: L.scatter(x, 1, t(L, [[3, 0], [1, 2]]), s),
        ((3, 4), (2, 3)), torch_backward=False),
    Row("scatter_value", lambda L, x: x.scatter(1, t(L, IDX_DIM1), 2.5)),
    Row("scatter_value_kw", lambda L, x: L.scatter(x, 0, t(L, IDX), value=-1.0)),
    Row("scatter_add", lambda L, x, s: x.scatter_add(0, t(L, IDX), s), ((3, 4), (2, 4))),
    Row("scatter_add_smaller", lambda L, x, s: L.scatter_add(x, 1, t(L, IDX_SMALL), s),
        ((3, 4), (3, 3)), torch_backward=False),
    Row("scatter_add_3d", lambda L, x, s: x.scatter_add(2, t(L, [[[0, 0, 1]]]), s),
        ((2, 2, 3), (1, 1, 3))),
    Row("scatter_reduce_sum", lambda L, x, s: x.scatter_reduce(0, t(L, IDX), s, "sum"),
        ((3, 4), (2, 4))),
    Row("scatter_reduce_prod", lambda L, x, s: L.scatter_reduce(x, 0, t(L, IDX), s, "prod"),
        ((3, 4), (2, 4))),
    Row("scatter_reduce_prod_no_self", lambda L, x, s: x.scatter_reduce(
        1, t(L, IDX_DIM1), s, "prod", include_self=False), ((3, 4), (3, 2))),
    Row("scatter_reduce_mean", lambda L, x, s: x.scatter_reduce(0, t(L, IDX), s, "mean"),
        ((3, 4), (2, 4))),
    Row("scatter_reduce_mean_no_self", lambda L, x, s: x.scatter_reduce(
        0, t(L, IDX), s, "mean", include_self=False), ((3, 4), (2, 4))),
    Row("scatter_reduce_amax", lambda L, x, s: x.scatter_reduce(0, t(L, IDX), s, "amax"),
        ((3, 4), (2, 4))),
    Row("scatter_reduce_amin_no_self", lambda L, x, s: x.scatter_reduce(
        1, t(L, IDX_DIM1), s, "amin", include_self=False), ((3, 4), (3, 2))),
    Row("scatter_reduce_sum_no_self", lambda L, x, s: x.scatter_reduce(
        0, t(L, IDX_SMALL), s, "sum", include_self=False), ((3, 4), (2, 2))),
    Row("index_select", lambda L, x: x.index_select(0, t(L, [2, 0, 2]))),
    Row("index_select_dim1_int32", lambda L, x: L.index_select(x, 1, t(L, [3, 3], L.int32))),
    Row("index_select_0d_index", lambda L, x: x.index_select(1, t(L, 2))),
    Row("index_select_empty", lambda L, x: x.index_select(1, t(L, np.zeros(0, np.int64)))),
    Row("index_select_0d", lambda L, x: x.index_select(0, t(L, [0])), ((),)),
    Row("index_add", lambda L, x, s: x.index_add(0, t(L, [2, 2]), s), ((3, 4), (2, 4))),
    Row("index_add_alpha_dim1", lambda L, x, s: L.index_add(x, 1, t(L, [3, 0, 3]), s,
                                                            alpha=-2.0), ((3, 4), (3, 3))),
    Row("index_add_3d_middle", lambda L, x, s: x.index_add(1, t(L, [2, 0, 2, 2]), s),
        ((2, 3, 4), (2, 4, 4))),
    Row("index_add_3d_last_int32", lambda L, x, s: x.index_add(2, t(L, [3, 1, 3], L.int32), s),
        ((2, 3, 4), (2, 3, 3))),
    Row("index_add_1d", lambda L, x, s: L.index_add(x, 0, t(L, [4, 4, 0]), s), ((5,), (3,))),
    Row("index_add_empty_index", lambda L, x, s: x.index_add(
        0, t(L, np.zeros(0, np.int64)), s), ((3, 4), (0, 4))),
    Row("index_copy", lambda L, x, s: x.index_copy(1, t(L, [3, 0]), s), ((3, 4), (3, 2))),
    Row("index_fill", lambda L, x: x.index_fill(1, t(L, [3, -4, 3]), -1.5)),
    Row("index_fill_nonnegative", lambda L, x: x.index_fill(0, t(L, [2, 0, 2]), 3)),
    Row("index_fill_3d_middle", lambda L, x: L.index_fill(x, -2, t(L, [1]), -0.5),
        ((2, 3, 4),)),
    Row("index_fill_tensor_value", lambda L, x, v: L.index_fill(x, 0, t(L, [1, 1]), v),
        ((3, 4), ())),
    Row("masked_fill", lambda L, x: x.masked_fill(x > 0.5, 0.25)),
    Row("masked_fill_broadcast_mask", lambda L, x: L.masked_fill(
        x, t(L, [True, False, False, True]), -2.0)),
    Row("masked_fill_broadcast_input", lambda L, x: L.masked_fill(
        x, t(L, np.ones((2, 3, 1), bool)), -2.0), ((3, 4),)),
    Row("masked_fill_tensor_value", lambda L, x, v: x.masked_fill(x > 0, v), ((3, 4), ())),
    Row("masked_select", lambda L, x: x.masked_select(x > 0.2)),
    Row("masked_select_broadcast", lambda L, x: L.masked_select(
        x, t(L, [[True], [False], [True]]))),
    Row("masked_select_broadcast_input", lambda L, x: L.masked_select(
        x, t(L, np.ones((2, 1, 4), bool)))),
    Row("masked_scatter", lambda L, x, s: x.masked_scatter(x > 0.2, s), ((3, 4), (3, 5))),
    Row("masked_scatter_broadcast", lambda L, x, s: L.masked_scatter(
        x, t(L, [True, False, True, False]), s), ((3, 4), (7,))),
    Row("take", lambda L, x: x.take(t(L, [[0, 11], [-1, -12]]))),
    Row("take_repeated", lambda L, x: L.take(x, t(L, [5, 5, 5]))),
    Row("take_0d_index", lambda L, x: x.take(t(L, -2))),
    Row("take_from_0d", lambda L, x: x.take(t(L, [[0, -1, 0]])), ((),)),
    Row("take_along_dim", lambda L, x: L.take_along_dim(x, t(L, [[0], [3], [1]]), 1)),
    Row("take_along_dim_broadcast", lambda L, x: x.take_along_dim(t(L, [[2, 0, 1, -1]]), 0)),
    Row("take_along_dim_same_shape", lambda L, x: L.take_along_dim(x, t(L, IDX), 1),
        ((2, 4),)),
    Row("take_along_dim_same_shape_negative", lambda L, x: L.take_along_dim(
        x, t(L, [[-1, 0], [1, -2], [0, 0]]), -1), ((3, 2),)),
    Row("take_along_dim_flat", lambda L, x: L.take_along_dim(x, t(L, [11, 0, 3]))),
    Row("put", lambda L, x, s: x.put(t(L, [0, 11, -2]), s), ((3, 4), (3,))),
    Row("put_accumulate", lambda L, x, s: L.put(x, t(L, [1, 1, 5]), s, accumulate=True),
        ((3, 4), (3,))),
    Row("index_put", lambda L, x, v: x.index_put((t(L, [0, 2]),), v), ((3, 4), (4,))),
    Row("index_put_pairs_accumulate", lambda L, x, v: L.index_put(
        x, (t(L, [0, 0, 2]), t(L, [1, 1, 3])), v, accumulate=True), ((3, 4), (3,))),
    Row("index_put_rows_accumulate", lambda L, x, v: x.index_put(
        (t(L, [2, 0, 2, 2]),), v, accumulate=True), ((3, 4), (4, 4))),
    Row("index_put_rows_accumulate_3d", lambda L, x, v: L.index_put(
        x, (t(L, [1, 1]),), v, accumulate=True), ((2, 3, 4), (2, 3, 4))),
    Row("index_put_rows_accumulate_1d", lambda L, x, v: x.index_put(
        (t(L, [4, 0, 4]),), v, accumulate=True), ((5,), (3,))),
    Row("index_put_rows_accumulate_negative", lambda L, x, v: x.index_put(
        (t(L, [-1, 0, -1]),), v, accumulate=True), ((3, 4), (3, 4))),
    Row("index_put_rows_accumulate_broadcast", lambda L, x, v: x.index_put(
        (t(L, [1, 1]),), v, accumulate=True), ((3, 4), (4,))),
    Row("index_put_mask", lambda L, x, v: x.index_put((x > 0.3,), v), ((3, 4), ())),
    Row("index_put_full_mask_int_value", lambda L, x: x.index_put((x > 0,), t(L, 3)),
        ((3, 4),)),
    Row("where_3", lambda L, x, y: L.where(x > 0, x, y), ((3, 4), (3, 4))),
    Row("nonzero", lambda L, x: L.nonzero(x > 0.2), grad=False),
    Row("nonzero_tuple", lambda L, x: (x > 0.2).nonzero(as_tuple=True), grad=False),
    Row("nonzero_0d", lambda L, x: L.nonzero(x), ((),), grad=False),
    Row("nonzero_0d_tuple", lambda L, x: L.nonzero(x, as_tuple=True), ((),), grad=False),
    Row("nonzero_empty", lambda L, x: L.nonzero(x), ((2, 0),), grad=False),
    Row("argwhere", lambda L, x: L.argwhere(x > 0), grad=False),
    Row("where_1", lambda L, x: L.where(x > 0), grad=False),
]

ROWS_BY_NAME = {row.name: row for row in ROWS}


def row_inputs(row):
    """Distinct values; the second input is offset so that it ties with none of the first."""
    rng = np.random.default_rng(2)
    return [distinct(rng, s) + 0.013 * i for i, s in enumerate(row.shapes)]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("row", ROWS, ids=[r.name for r in ROWS])
def test_function_matches_torch(backend, row, dtype):
    assert compare(row.fn, row_inputs(row), dtype, row.grad and row.torch_backward)


@pytest.mark.parametrize("row", ROWS, ids=[r.name for r in ROWS])
def test_function_non_contiguous_input(backend, row):
    assert compare(row.fn, row_inputs(row), np.float64, row.grad and row.torch_backward,
                   layout="F")


@pytest.mark.parametrize("row", [r for r in ROWS if r.grad], ids=[r.name for r in ROWS if r.grad])
def test_function_gradcheck_and_gradgradcheck(backend, row):
    inputs = [mg.tensor(a, requires_grad=True) for a in row_inputs(row)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if row.fn(mg, *inputs).numel() == 0:
            pytest.skip("no output elements")
        assert gradcheck(lambda *v: row.fn(mg, *v), inputs)
        assert gradgradcheck(lambda *v: row.fn(mg, *v), inputs)


@pytest.mark.parametrize("dtype", ["int64", "int32", "bool"])
@pytest.mark.parametrize("name", ["gather_dim0", "index_select", "take", "masked_select",
                                  "take_along_dim", "nonzero", "where_1", "index_fill",
                                  "masked_fill", "scatter_value"])
def test_integer_inputs_match_torch(backend, name, dtype):
    fn = ROWS_BY_NAME[name].fn
    a = (np.arange(12).reshape(3, 4) % 5 - 1).astype(dtype)
    try:
        want = outputs(fn(torch, torch.tensor(a)))
    except ERRORS as exc:
        with pytest.raises(type(exc)):
            fn(mg, mg.tensor(a))
        return
    got = outputs(fn(mg, mg.tensor(a)))
    for g, w in zip(got, want):
        assert dtype_name(g) == dtype_name(w)
        np.testing.assert_array_equal(g.numpy(), w.numpy())


TIES = np.array([[1.0, 2.0, 2.0, 0.5], [2.0, 2.0, 1.0, 3.0], [0.0, 1.0, 3.0, 3.0]])


@pytest.mark.parametrize("reduce", ["amax", "amin", "prod", "mean", "sum"])
@pytest.mark.parametrize("include_self", [True, False])
def test_scatter_reduce_ties_and_zeros_follow_torch(backend, reduce, include_self):
    """Ties between self and src (amax/amin share the gradient) and a zero factor (prod)."""
    src = np.array([[2.0, 2.0, 0.0, 3.0], [2.0, 1.0, 3.0, 0.5]])
    index = [[0, 0, 2, 1], [0, 1, 2, 1]]
    fn = (lambda L, x, s: x.scatter_reduce(0, t(L, index), s, reduce,
                                           include_self=include_self))
    assert compare(fn, [TIES, src], np.float64)


# ---------------------------------------------------------------------------------------------
# In place
# ---------------------------------------------------------------------------------------------

INPLACE = {
    "scatter_": lambda L, x, s: x.scatter_(0, t(L, IDX), s),
    "scatter_value_": lambda L, x, s: x.scatter_(1, t(L, IDX_DIM1), 0.5),
    "scatter_add_": lambda L, x, s: x.scatter_add_(0, t(L, IDX), s),
    "scatter_reduce_": lambda L, x, s: x.scatter_reduce_(0, t(L, IDX), s, "amax"),
    "index_add_": lambda L, x, s: x.index_add_(0, t(L, [1, 1]), s, alpha=3),
    "index_copy_": lambda L, x, s: x.index_copy_(0, t(L, [2, 0]), s),
    "index_fill_": lambda L, x, s: x.index_fill_(1, t(L, [0, 2]), -3.0),
    "masked_fill_": lambda L, x, s: x.masked_fill_(x > 0.2, 7.0),
    "masked_scatter_": lambda L, x, s: x.masked_scatter_(x > 0.2, s),
    "put_": lambda L, x, s: x.put_(t(L, [0, 7]), s[0, :2]),
    "put_accumulate_": lambda L, x, s: x.put_(t(L, [3, 3]), s[1, :2], accumulate=True),
    "index_put_": lambda L, x, s: x.index_put_((t(L, [0, 2]), t(L, [1, 1])), s[0, :2],
                                               accumulate=True),
    "index_put_fn_": lambda L, x, s: L.index_put_(x, (x > 0.5,), s[1, 0]),
    "index_put_rows_": lambda L, x, s: x.index_put_((t(L, [2, 2]),), s, accumulate=True),
}


@pytest.mark.parametrize("grad", [True, False])
@pytest.mark.parametrize("name", sorted(INPLACE))
def test_in_place_variants_match_torch(backend, name, grad):
    """On a non-leaf (recorded, gradients to both operands) and without grad (in place)."""
    op = INPLACE[name]

    def fn(L, x, s):
        y = x * 1.0
        result = op(L, y, s)
        assert result is y
        return y

    rng = np.random.default_rng(4)
    assert compare(fn, [distinct(rng, (3, 4)), distinct(rng, (2, 4))], np.float64, grad)


def test_in_place_on_a_leaf_that_requires_grad_raises(backend):
    for lib in (mg, torch):
        x = lib.ones(3, 4, requires_grad=True)
        with pytest.raises(RuntimeError, match="leaf Variable"):
            x.index_fill_(0, lib.tensor([0]), 2.0)
        with pytest.raises(RuntimeError, match="leaf Variable"):
            x.masked_fill_(x > 0, 2.0)


def test_in_place_changes_bump_the_version_seen_by_backward(backend):
    for lib in (mg, torch):
        x = lib.ones(3, requires_grad=True)
        y = x * 2
        z = y * y
        y.masked_fill_(y > 0, 0.0)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            z.sum().backward()


# ---------------------------------------------------------------------------------------------
# Bad arguments
# ---------------------------------------------------------------------------------------------

X = ((3, 4),)
BAD = {
    "gather_out_of_range": lambda L, x: x.gather(0, t(L, [[3, 0, 0, 0]])),
    "gather_negative": lambda L, x: x.gather(0, t(L, [[-1, 0, 0, 0]])),
    "gather_float_index": lambda L, x: x.gather(0, t(L, [[1.0]])),
    "gather_ndim": lambda L, x: x.gather(0, t(L, [0])),
    "gather_too_big": lambda L, x: x.gather(0, t(L, np.zeros((1, 5), np.int64))),
    "gather_dim": lambda L, x: x.gather(2, t(L, [[0]])),
    "scatter_out_of_range": lambda L, x: x.scatter(1, t(L, [[4]]), 1.0),
    "scatter_negative": lambda L, x: x.scatter(1, t(L, [[-1]]), 1.0),
    "scatter_src_dtype": lambda L, x: x.scatter(0, t(L, [[0]]), x.double() if x.dtype ==
                                                L.float32 else x.float()),
    "scatter_index_too_big": lambda L, x: x.scatter(0, t(L, np.zeros((4, 4), np.int64)), x),
    "scatter_bad_reduce": lambda L, x: x.scatter(0, t(L, [[0]]), x, reduce="mean"),
    "scatter_add_out_of_range": lambda L, x: x.scatter_add(0, t(L, [[3]]), x),
    "scatter_reduce_bad_reduce": lambda L, x: x.scatter_reduce(0, t(L, [[0]]), x, "max2"),
    "scatter_reduce_negative": lambda L, x: x.scatter_reduce(0, t(L, [[-1]]), x, "sum"),
    "index_select_out_of_range": lambda L, x: x.index_select(0, t(L, [3])),
    "index_select_negative": lambda L, x: x.index_select(0, t(L, [-1])),
    "index_select_2d_index": lambda L, x: x.index_select(0, t(L, [[0]])),
    "index_select_float_index": lambda L, x: x.index_select(0, t(L, [0.0])),
    "index_add_count": lambda L, x: x.index_add(0, t(L, [0]), x),
    "index_add_out_of_range": lambda L, x: x.index_add(0, t(L, [0, 1, 3]), x),
    "index_add_negative": lambda L, x: x.index_add(0, t(L, [0, 1, -1]), x),
    "index_add_dtype": lambda L, x: x.index_add(0, t(L, [0, 1, 2]), x.double() if x.dtype ==
                                                L.float32 else x.float()),
    "index_add_shape": lambda L, x: x.index_add(0, t(L, [0, 1, 2]), x[:, :2]),
    "index_copy_negative": lambda L, x: x.index_copy(0, t(L, [0, 1, -1]), x),
    "index_copy_int32": lambda L, x: x.index_copy(0, t(L, [0, 1, 2], L.int32), x),
    "index_copy_count": lambda L, x: x.index_copy(0, t(L, [0]), x),
    "index_fill_out_of_range": lambda L, x: x.index_fill(0, t(L, [3]), 1.0),
    "index_fill_negative_out_of_range": lambda L, x: x.index_fill(0, t(L, [-4]), 1.0),
    "index_fill_value_1d": lambda L, x: x.index_fill(0, t(L, [0]), t(L, [1.0])),
    "index_fill_int32": lambda L, x: x.index_fill(0, t(L, [0], L.int32), 1.0),
    "masked_fill_float_mask": lambda L, x: x.masked_fill((x > 0).float(), 1.0),
    "masked_fill_uint8_mask": lambda L, x: x.masked_fill((x > 0).to(L.uint8), 1.0),
    "masked_fill_value_1d": lambda L, x: x.masked_fill(x > 0, t(L, [1.0])),
    "masked_fill_shape": lambda L, x: x.masked_fill(t(L, np.ones((2, 4), bool)), 1.0),
    "masked_fill_in_place_grows": lambda L, x: x.clone().masked_fill_(
        t(L, np.ones((2, 3, 4), bool)), 1.0),
    "masked_select_float_mask": lambda L, x: x.masked_select(x.float()),
    "masked_scatter_too_few": lambda L, x: x.masked_scatter(x > -100, x[0]),
    "masked_scatter_dtype": lambda L, x: x.masked_scatter(x > 0, x.long()),
    "take_out_of_range": lambda L, x: x.take(t(L, [12])),
    "take_negative_out_of_range": lambda L, x: x.take(t(L, [-13])),
    "take_int32": lambda L, x: x.take(t(L, [0], L.int32)),
    "take_along_dim_int32": lambda L, x: L.take_along_dim(x, t(L, [[0]], L.int32), 0),
    "take_along_dim_ndim": lambda L, x: L.take_along_dim(x, t(L, [0]), 0),
    "take_along_dim_broadcast": lambda L, x: L.take_along_dim(x, t(L, [[0], [1]]), 1),
    "take_along_dim_flat_negative": lambda L, x: L.take_along_dim(x, t(L, [-1])),
    "put_out_of_range": lambda L, x: x.put(t(L, [12]), t(L, [1.0], x.dtype)),
    "put_dtype_checked_before_range": lambda L, x: x.put(t(L, [12]), t(L, [1])),
    "put_count": lambda L, x: x.put(t(L, [0, 1]), x[0, :1]),
    "put_dtype": lambda L, x: x.put(t(L, [0]), t(L, [1])),
    "index_put_out_of_range": lambda L, x: x.index_put((t(L, [3]),), t(L, 1.0, x.dtype)),
    "index_put_0d_value_dtype": lambda L, x: x.index_put((t(L, [1]),), t(L, 1)),
    "index_put_too_many": lambda L, x: x.index_put((t(L, [0]),) * 3, t(L, 1.0)),
    "index_put_none": lambda L, x: x.index_put((None, t(L, [0])), t(L, 1.0)),
    "index_put_value_shape": lambda L, x: x.index_put((t(L, [0, 1]),), L.ones(2, 2)),
    "index_put_value_dtype": lambda L, x: x.index_put((t(L, [0, 1]),), L.ones(4,
                                                                             dtype=L.int64)),
    "index_put_float_index": lambda L, x: x.index_put((t(L, [0.0]),), t(L, 1.0)),
    "index_put_broadcast_indices": lambda L, x: x.index_put((t(L, [0, 1]), t(L, [0, 1, 2])),
                                                           t(L, 1.0)),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_arguments_raise_like_torch(backend, name):
    assert not compare(BAD[name], [distinct(np.random.default_rng(0), (3, 4))], np.float64,
                       grad=False)


def test_bad_index_messages_name_the_index_and_size(backend):
    x = mg.zeros(3, 4)
    with pytest.raises(RuntimeError, match="index -1 is out of bounds for dimension 0 with "
                                           "size 3"):
        x.gather(0, mg.tensor([[-1, 0, 0, 0]]))
    with pytest.raises(RuntimeError, match="index 4 is out of bounds for dimension 1 with "
                                           "size 4"):
        x.scatter_add(1, mg.tensor([[4]]), x)
    with pytest.raises(IndexError, match="out of range: tried to access index -13 on a tensor "
                                         "of 12 elements"):
        x.take(mg.tensor([-13]))


def test_scatter_with_reduce_has_no_derivative_like_torch(backend):
    for lib in (mg, torch):
        x = lib.ones(2, 3, requires_grad=True) * 1.0
        src = lib.ones(2, 3)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = x.scatter(0, lib.tensor([[0, 1, 0]]), src, reduce="add")
        with pytest.raises(RuntimeError, match="derivative for aten::scatter is not "
                                               "implemented"):
            out.sum().backward()


def test_table_covers_the_functions(backend):
    names = {row.name.split("_")[0] for row in ROWS} | {n.rstrip("_").split("_")[0]
                                                       for n in INPLACE}
    for required in ("gather", "scatter", "index", "masked", "take", "put", "nonzero",
                     "argwhere", "where"):
        assert required in names
    for method in ("gather", "scatter", "scatter_", "scatter_add", "scatter_add_",
                   "scatter_reduce", "scatter_reduce_", "index_select", "index_add",
                   "index_add_", "index_copy", "index_copy_", "index_fill", "index_fill_",
                   "masked_fill", "masked_fill_", "masked_select", "masked_scatter",
                   "masked_scatter_", "nonzero", "argwhere", "take", "take_along_dim",
                   "index_put", "index_put_", "put", "put_"):
        assert callable(getattr(mg.Tensor, method)), method


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("value", [0.0, 3, -1.5, float("inf"), float("nan"), 1e300, 2**70,
                                   True], ids=repr)
def test_where_with_a_number_matches_torch(dtype, value):
    """where(mask, x, number): the number in x's dtype, refused as PyTorch refuses it (a
    finite float32 overflow, an int beyond 64 bits)."""
    mask = np.array([[True, False, True], [False, False, True]])
    x = np.arange(6.0).reshape(2, 3)
    outcomes = []
    for L in (mg, torch):
        try:
            out = L.where(L.tensor(mask), L.tensor(x, dtype=getattr(L, dtype)), value)
            outcomes.append((str(out.dtype).split(".")[-1], out.numpy().tolist()))
        except (RuntimeError, OverflowError) as exc:
            outcomes.append((type(exc).__name__, str(exc)))
    (got_kind, got), (want_kind, want) = outcomes
    assert got_kind == want_kind
    if isinstance(want, str):
        assert got == want
    else:
        np.testing.assert_array_equal(np.array(got), np.array(want))  # NaN equals NaN here
