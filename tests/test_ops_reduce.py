"""Reductions, scans, sorts and norms against PyTorch, one table row per op.

Each row of ``ROWS`` is one call written once against the PyTorch API (``fn(L, *tensors)``
runs unchanged with ``L=minigrad`` and ``L=torch``) with named input shapes. For every (row,
case), on both kernel backends:

- every output (values, indices, tuples of them) matches PyTorch in float32 and float64
  (values, shape, dtype), and for integer dtypes where the op is defined;
- the gradients of a random weighted sum of the float outputs match PyTorch's;
- ``gradcheck`` and ``gradgradcheck`` pass in float64 (differentiable rows);
- a non-contiguous input (a transposed numpy array) gives the same results.

Inputs hold distinct values at least 0.1 apart (no ties, so finite differences never cross a
point where a selection changes); ties, zeros, NaN and the exceptions PyTorch raises have
their own tests below.
"""
import math
import warnings
from dataclasses import dataclass

import numpy as np
import pytest

import minigrad as mg
from minigrad.autograd import gradcheck, gradgradcheck

torch = pytest.importorskip("torch")
torch.set_num_threads(1)
TORCH_ERRORS = (RuntimeError, IndexError, TypeError, ValueError, NotImplementedError)

# ---------------------------------------------------------------------------------------------
# Inputs and comparison helpers
# ---------------------------------------------------------------------------------------------


def distinct(rng, shape):
    """Distinct values 0.1+ apart, both signs, none near 0."""
    n = int(np.prod(shape, dtype=np.int64))
    values = (rng.permutation(n) - n / 2.0) * 0.37 + 0.05
    values = np.where(np.abs(values) < 0.1, values + 0.2, values)
    return values.reshape(shape)


def positive(rng, shape):
    return np.abs(distinct(rng, shape)) + 0.3


def near_one(rng, shape):
    """Magnitudes in [0.6, 1.4] (products of many stay moderate), both signs, distinct."""
    n = int(np.prod(shape, dtype=np.int64))
    values = 0.6 + 0.8 * (rng.permutation(n) + 0.5) / max(n, 1)
    return (values * rng.choice([-1.0, 1.0], size=n)).reshape(shape)


def with_zeros(rng, shape):
    """Values with a zero in every slice of the last dim (and two zeros in the first)."""
    values = distinct(rng, shape)
    if values.size:
        flat = values.reshape(-1, shape[-1]) if shape else values.reshape(1, 1)
        flat[:, 0] = 0.0
        if flat.shape[1] > 2:
            flat[0, 2] = 0.0
    return values


@dataclass
class Row:
    name: str
    fn: object                  # fn(L, *tensors) -> Tensor, or a tuple of Tensors
    cases: dict                 # case name -> tuple of input shapes
    gen: object = distinct      # input generator
    grad: bool = True           # differentiable: gradients, gradcheck, gradgradcheck
    ints: tuple = ()            # integer/bool dtypes where the forward is compared too
    gradgrad: bool = True

    def arrays(self, case, seed=0):
        rng = np.random.default_rng(seed)
        return [self.gen(rng, s) for s in self.cases[case]]


def outputs(result):
    """The tensors of a result (a tensor, a tuple, a named tuple), in order."""
    if isinstance(result, (tuple, list)):
        found = []
        for r in result:
            found.extend(outputs(r))
        return found
    return [result]


def dtype_name(t):
    return str(t.dtype).split(".")[-1]


def values_of(t):
    return np.array(t.detach().numpy())


def make_inputs(lib, arrays, dtype, requires_grad, layout="C"):
    xs = []
    for a in arrays:
        a = np.asarray(a).astype(dtype)
        if lib is mg and layout == "F" and a.ndim >= 2 and a.size > 1 and 1 not in a.shape:
            x = mg.from_numpy(np.asfortranarray(a))  # same values, column-major memory
            assert not x.numpy().flags.c_contiguous
        else:
            x = lib.tensor(a)
        if requires_grad:
            x.requires_grad_(True)
        xs.append(x)
    return xs


def run(lib, row, arrays, dtype, grad, layout="C", seed=1):
    """(output values and dtypes, input gradients) of row on lib."""
    xs = make_inputs(lib, arrays, dtype, grad, layout)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = row.fn(lib, *xs)
    outs = outputs(result)
    got = [(values_of(o), dtype_name(o)) for o in outs]
    grads = None
    if grad:
        rng = np.random.default_rng(seed)
        total = None
        for o in outs:
            if o.dtype.is_floating_point and o.requires_grad:
                weight = lib.tensor(rng.standard_normal(tuple(o.shape)), dtype=o.dtype)
                term = (o * weight).sum()
                total = term if total is None else total + term
        if total is not None:
            total.backward()
        grads = [None if x.grad is None else values_of(x.grad) for x in xs]
    return got, grads


def assert_close(got, want, dtype):
    tol = {"rtol": 1e-10, "atol": 1e-12} if dtype == np.float64 and got.dtype != np.float32 \
        else {"rtol": 3e-5, "atol": 3e-6}
    if got.dtype.kind in "fc":
        np.testing.assert_allclose(got, want, equal_nan=True, **tol)
    else:
        np.testing.assert_array_equal(got, want)


def assert_same_results(got, want, dtype):
    assert len(got) == len(want)
    for (g, g_dtype), (w, w_dtype) in zip(got, want):
        assert g_dtype == w_dtype
        assert g.shape == w.shape
        assert_close(g, w, dtype)


# ---------------------------------------------------------------------------------------------
# The table
# ---------------------------------------------------------------------------------------------

M = {"main": ((3, 4),), "zero_d": ((),), "empty": ((0, 4),), "three_d": ((2, 3, 4),)}
M_NONEMPTY = {"main": ((3, 4),), "zero_d": ((),), "three_d": ((2, 3, 4),)}
M_NO_0D = {"main": ((3, 4),), "empty": ((0, 4),), "three_d": ((2, 3, 4),)}
M_DIM = {"main": ((3, 4),), "empty": ((3, 0),), "three_d": ((2, 3, 4),)}
M_LAST = M_DIM | {"vector": ((5,),)}
INTS = ("int64", "int32", "bool")

ROWS = [
    # ----- sums and means -----------------------------------------------------------------
    Row("sum_all", lambda L, x: x.sum(), M, ints=INTS),
    Row("sum_fn_dim", lambda L, x: L.sum(x, 0), M, ints=INTS),
    Row("sum_neg_keepdim", lambda L, x: x.sum(-1, keepdim=True), M, ints=INTS),
    Row("sum_tuple", lambda L, x: x.sum(dim=(0, -1)), M_NO_0D, ints=INTS),
    Row("sum_list_keepdims_alias", lambda L, x: x.sum(axis=[0], keepdims=True), M_NO_0D),
    Row("sum_empty_dims", lambda L, x: x.sum(()), M),
    Row("sum_dtype", lambda L, x: x.sum(0, dtype=L.float64), M, ints=INTS),
    Row("nansum", lambda L, x: L.nansum(x, 0), M, ints=INTS),
    Row("mean_all", lambda L, x: x.mean(), M),
    Row("mean_dim_keepdim", lambda L, x: L.mean(x, dim=-1, keepdim=True), M),
    Row("mean_tuple", lambda L, x: x.mean((0, 1)), M_NO_0D),
    Row("mean_int_with_dtype", lambda L, x: x.mean(dtype=L.float64), M_NONEMPTY),
    Row("nanmean", lambda L, x: L.nanmean(x, 0), M),
    Row("prod_all", lambda L, x: x.prod(), M, gen=near_one, ints=INTS),
    Row("prod_dim", lambda L, x: L.prod(x, 1, keepdim=True), M_DIM, gen=near_one, ints=INTS),
    Row("prod_zeros_all", lambda L, x: x.prod(), {"main": ((3, 4),)}, gen=with_zeros),
    Row("prod_zeros_dim", lambda L, x: x.prod(-1), {"main": ((3, 4),), "three": ((2, 2, 5),)},
        gen=with_zeros),
    Row("prod_zeros_dim0", lambda L, x: x.prod(0), {"main": ((4, 3),)}, gen=with_zeros),
    # ----- variance, standard deviation, norms ------------------------------------------
    Row("var_all", lambda L, x: x.var(), M_NONEMPTY),
    Row("var_dim", lambda L, x: x.var(1), M_DIM),
    Row("var_unbiased_false", lambda L, x: L.var(x, 0, False, True), M_NO_0D),
    Row("var_correction", lambda L, x: x.var(dim=(0, 1), correction=2), M_NO_0D),
    Row("var_unbiased_positional", lambda L, x: x.var(False), M_NONEMPTY),
    Row("std_all", lambda L, x: x.std(), M_NONEMPTY),
    Row("std_dim", lambda L, x: L.std(x, -1, keepdim=True), M_LAST),
    Row("std_correction0", lambda L, x: x.std(0, correction=0), M_NO_0D),
    Row("var_mean", lambda L, x: L.var_mean(x, 1), M_DIM),
    Row("std_mean", lambda L, x: L.std_mean(x, dim=0, correction=0, keepdim=True), M_NO_0D),
    Row("norm_default", lambda L, x: x.norm(), M),
    Row("norm_p1_dim", lambda L, x: L.norm(x, 1, dim=-1), M_DIM),
    Row("norm_p3", lambda L, x: x.norm(p=3, dim=0, keepdim=True), M_NO_0D),
    Row("norm_inf", lambda L, x: x.norm(p=float("inf")), M_NONEMPTY),
    Row("norm_fro_dims", lambda L, x: L.norm(x, "fro", dim=(0, 1)), M_NO_0D),
    Row("vector_norm_2", lambda L, x: L.linalg.vector_norm(x), M),
    Row("vector_norm_dim", lambda L, x: L.linalg.vector_norm(x, 2, dim=1, keepdim=True),
        M_DIM),
    Row("vector_norm_0", lambda L, x: L.linalg.vector_norm(x, 0, dim=0), M_NO_0D),
    Row("vector_norm_half", lambda L, x: L.linalg.vector_norm(x, 0.5), M),
    Row("vector_norm_1_5", lambda L, x: L.linalg.vector_norm(x, 1.5, dim=-1), M_DIM),
    Row("vector_norm_neg1", lambda L, x: L.linalg.vector_norm(x, -1, dim=-1), M_NONEMPTY),
    Row("vector_norm_ninf", lambda L, x: L.linalg.vector_norm(x, -math.inf), M_NONEMPTY),
    Row("vector_norm_dtype", lambda L, x: L.linalg.vector_norm(x, dtype=L.float64), M),
    Row("matrix_norm_fro", lambda L, x: L.linalg.matrix_norm(x), M_NO_0D),
    Row("matrix_norm_1", lambda L, x: L.linalg.matrix_norm(x, 1), {"main": ((3, 4),),
                                                                     "batch": ((2, 3, 4),)}),
    Row("matrix_norm_ninf", lambda L, x: L.linalg.matrix_norm(x, -math.inf, keepdim=True),
        {"main": ((3, 4),), "batch": ((2, 3, 4),)}),
    Row("linalg_norm", lambda L, x: L.linalg.norm(x), M),
    Row("linalg_norm_ord_dim", lambda L, x: L.linalg.norm(x, 3, dim=1), M_DIM),
    Row("linalg_norm_matrix_inf", lambda L, x: L.linalg.norm(x, math.inf),
        {"main": ((3, 4),)}),
    # ----- extremes ---------------------------------------------------------------------------
    Row("max_all", lambda L, x: x.max(), M_NONEMPTY, ints=INTS),
    Row("min_all", lambda L, x: L.min(x), M_NONEMPTY, ints=INTS),
    Row("max_dim", lambda L, x: x.max(1), M_DIM | {"zero_d": ((),)}, ints=INTS),
    Row("max_dim_keepdim_axis", lambda L, x: L.max(x, axis=0, keepdims=True), M_NONEMPTY),
    Row("min_dim", lambda L, x: x.min(dim=-1), M_LAST, ints=INTS),
    Row("amax", lambda L, x: x.amax(), M_NONEMPTY, ints=INTS),
    Row("amax_dims", lambda L, x: L.amax(x, (0, -1), keepdim=True), M_NONEMPTY, ints=INTS),
    Row("amin_dim", lambda L, x: x.amin(-1), M_LAST, ints=INTS),
    Row("aminmax", lambda L, x: L.aminmax(x), M_NONEMPTY, ints=INTS),
    Row("aminmax_dim", lambda L, x: x.aminmax(dim=0, keepdim=True), M_NONEMPTY, ints=INTS),
    Row("argmax", lambda L, x: x.argmax(), M_NONEMPTY, grad=False, ints=INTS),
    Row("argmax_dim", lambda L, x: L.argmax(x, 1, keepdim=True), M_DIM, grad=False,
        ints=INTS),
    Row("argmin_dim", lambda L, x: x.argmin(dim=-1), M_LAST, grad=False, ints=INTS),
    Row("logsumexp", lambda L, x: x.logsumexp(1), M_DIM, ints=("int64",)),
    Row("logsumexp_tuple", lambda L, x: L.logsumexp(x, (0, 1), keepdim=True), M_NO_0D),
    Row("logsumexp_0d", lambda L, x: L.logsumexp(x, 0), {"zero_d": ((),)}),
    # ----- scans ------------------------------------------------------------------------------
    Row("cumsum", lambda L, x: x.cumsum(1), M_DIM, ints=INTS),
    Row("cumsum_0d_dtype", lambda L, x: L.cumsum(x, 0, dtype=L.float64), M, ints=INTS),
    Row("cumprod", lambda L, x: x.cumprod(-1), M_LAST | {"zero_d": ((),)}, ints=INTS),
    Row("cumprod_zeros", lambda L, x: L.cumprod(x, -1),
        {"main": ((3, 4),), "long": ((2, 7),)}, gen=with_zeros),
    Row("cumprod_zeros_dim0", lambda L, x: x.cumprod(0), {"main": ((5, 3),)},
        gen=lambda rng, s: with_zeros(rng, s[::-1]).T.copy()),
    Row("cummax", lambda L, x: x.cummax(0), M_DIM | {"zero_d": ((),)}, ints=INTS),
    Row("cummin", lambda L, x: L.cummin(x, -1), M_DIM, ints=INTS),
    Row("logcumsumexp", lambda L, x: x.logcumsumexp(1), M_DIM),
    Row("logcumsumexp_0d", lambda L, x: x.logcumsumexp(0), {"zero_d": ((),)}),
    # ----- selections and sorts ---------------------------------------------------------------
    Row("median_all", lambda L, x: x.median(), {"main": ((3, 4),), "zero_d": ((),),
                                                "odd": ((3, 3),)}, ints=("int64", "int32")),
    Row("median_dim", lambda L, x: x.median(1), M_DIM | {"zero_d": ((),)},
        ints=("int64", "int32")),
    Row("nanmedian_all", lambda L, x: L.nanmedian(x), {"main": ((3, 4),), "odd": ((5,),)}),
    Row("nanmedian_dim", lambda L, x: x.nanmedian(0, keepdim=True), M_NONEMPTY),
    Row("mode", lambda L, x: x.mode(), M_LAST | {"zero_d": ((),)}),
    Row("kthvalue", lambda L, x: x.kthvalue(2, 1), {"main": ((3, 4),), "three": ((2, 3, 4),)},
        ints=("int64",)),
    Row("kthvalue_0d", lambda L, x: L.kthvalue(x, 1), {"zero_d": ((),)}),
    Row("sort", lambda L, x: x.sort(), M | {"vector": ((6,),)}, ints=("int64", "int32")),
    Row("sort_descending_dim0", lambda L, x: L.sort(x, 0, descending=True), M_NO_0D,
        ints=("int64",)),
    Row("sort_stable_kw", lambda L, x: x.sort(stable=True, dim=-1), M),
    Row("argsort", lambda L, x: x.argsort(), M, grad=False, ints=INTS[:2]),
    Row("argsort_descending", lambda L, x: L.argsort(x, 0, descending=True), M_NO_0D,
        grad=False),
    Row("msort", lambda L, x: L.msort(x), M_NO_0D),
    Row("topk", lambda L, x: x.topk(2), {"main": ((3, 4),), "three": ((2, 3, 4),)},
        ints=("int64",)),
    Row("topk_smallest_dim0", lambda L, x: L.topk(x, 3, 0, largest=False), {"main": ((3, 4),)}),
    Row("topk_zero", lambda L, x: x.topk(0), {"main": ((3, 4),)}),
    Row("topk_0d", lambda L, x: x.topk(1), {"zero_d": ((),)}),
    # ----- logical and counting (no gradients) ------------------------------------------------
    Row("any", lambda L, x: (x > 1).any(), M, grad=False),
    Row("all_dim", lambda L, x: L.all(x > -1, 1), M_DIM, grad=False),
    Row("any_values", lambda L, x: x.any(dim=0, keepdim=True), M_NO_0D, grad=False,
        ints=INTS + ("uint8",)),
    Row("all_tuple", lambda L, x: x.all(dim=(0, 1)), M_NO_0D, grad=False,
        ints=INTS + ("uint8",)),
    Row("count_nonzero", lambda L, x: L.count_nonzero(x > 0), M, grad=False),
    Row("count_nonzero_dim", lambda L, x: (x > 0).count_nonzero(dim=(0,)), M_NO_0D,
        grad=False),
    Row("unique", lambda L, x: L.unique((x > 0).long() + (x > 1).long() - (x < -1).long()),
        M, grad=False),
    Row("unique_all_outputs", lambda L, x: ((x > 0).double() + (x > 1).double()).unique(
        return_inverse=True, return_counts=True), M, grad=False),
    Row("unique_dim", lambda L, x: L.unique((x > 0).long(), dim=1, return_inverse=True,
                                            return_counts=True),
        {"main": ((3, 8),), "empty": ((0, 4),)}, grad=False),
    Row("unique_consecutive", lambda L, x: L.unique_consecutive(
        (x > 0).long(), return_inverse=True, return_counts=True), M_NO_0D, grad=False),
]

ROWS_BY_NAME = {row.name: row for row in ROWS}
CASES = [pytest.param(row, case, id=f"{row.name}-{case}") for row in ROWS for case in row.cases]
GRAD_CASES = [pytest.param(row, case, id=f"{row.name}-{case}") for row in ROWS
              for case, shapes in row.cases.items()
              if row.grad and all(0 not in s for s in shapes)]
INT_CASES = [pytest.param(row, case, dtype, id=f"{row.name}-{case}-{dtype}") for row in ROWS
             for case in row.cases for dtype in row.ints]
LAYOUT_CASES = [pytest.param(row, case, id=f"{row.name}-{case}") for row in ROWS
                for case, shapes in row.cases.items()
                if any(len(s) >= 2 and 0 not in s and 1 not in s for s in shapes)]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("row, case", CASES)
def test_matches_torch(backend, row, case, dtype):
    arrays = row.arrays(case)
    try:
        want, want_grads = run(torch, row, arrays, dtype, row.grad)
    except TORCH_ERRORS as exc:  # the case is an error in PyTorch: the same error here
        with pytest.raises(type(exc)):
            run(mg, row, arrays, dtype, row.grad)
        return
    got, got_grads = run(mg, row, arrays, dtype, row.grad)
    assert_same_results(got, want, dtype)
    if row.grad:
        for g, w in zip(got_grads, want_grads):
            assert (g is None) == (w is None)
            if w is not None:
                assert g.dtype == w.dtype
                assert_close(g, w, dtype)


@pytest.mark.parametrize("row, case", LAYOUT_CASES)
def test_non_contiguous_input(backend, row, case):
    arrays = row.arrays(case)
    try:
        want, want_grads = run(torch, row, arrays, np.float64, row.grad)
    except TORCH_ERRORS as exc:
        with pytest.raises(type(exc)):
            run(mg, row, arrays, np.float64, row.grad, layout="F")
        return
    got, got_grads = run(mg, row, arrays, np.float64, row.grad, layout="F")
    assert_same_results(got, want, np.float64)
    if row.grad:
        for g, w in zip(got_grads, want_grads):
            if w is not None:
                assert_close(g, w, np.float64)


@pytest.mark.parametrize("row, case, dtype", INT_CASES)
def test_integer_dtypes_match_torch(backend, row, case, dtype):
    arrays = [np.round(a * 3) % 7 - 3 for a in row.arrays(case)]
    if dtype in ("bool", "uint8"):
        arrays = [np.abs(a) % 2 for a in arrays]
    np_dtype = np.dtype(dtype)
    try:
        want, _ = run(torch, row, arrays, np_dtype, False)
    except TORCH_ERRORS as exc:
        with pytest.raises(type(exc)):
            run(mg, row, arrays, np_dtype, False)
        return
    got, _ = run(mg, row, arrays, np_dtype, False)
    if row.name in ("median_dim", "kthvalue", "topk", "sort", "sort_descending_dim0",
                    "mode"):  # ties: PyTorch's choice of index among equal values varies
        got, want = got[:1], want[:1]
    assert_same_results(got, want, np.float64)


def _differentiable(row):
    def f(*xs):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return row.fn(mg, *xs)
    return f


def _skip_if_torch_refuses(row, case):
    try:
        run(torch, row, row.arrays(case), np.float64, False)
    except TORCH_ERRORS:
        pytest.skip("an error case (checked against PyTorch by test_matches_torch)")


@pytest.mark.parametrize("row, case", GRAD_CASES)
def test_gradcheck(backend, row, case):
    _skip_if_torch_refuses(row, case)
    xs = make_inputs(mg, row.arrays(case), np.float64, True)
    assert gradcheck(_differentiable(row), xs)


@pytest.mark.parametrize("row, case", [p for p in GRAD_CASES if p.values[0].gradgrad])
def test_gradgradcheck(backend, row, case):
    _skip_if_torch_refuses(row, case)
    xs = make_inputs(mg, row.arrays(case), np.float64, True)
    assert gradgradcheck(_differentiable(row), xs)


def test_table_covers_the_reductions():
    called = {name.split("_")[0] for name in ROWS_BY_NAME}
    for required in ("sum", "mean", "prod", "var", "std", "norm", "vector", "matrix",
                     "linalg", "max", "min", "amax", "amin", "aminmax", "argmax", "argmin",
                     "logsumexp", "cumsum", "cumprod", "cummax", "cummin", "logcumsumexp",
                     "any", "all", "count", "median", "nanmedian", "nansum", "nanmean", "mode",
                     "sort", "argsort", "topk", "kthvalue", "unique", "msort"):
        assert required in called, required


# ---------------------------------------------------------------------------------------------
# The defects this module fixed, each with the test that failed before
# ---------------------------------------------------------------------------------------------


def test_std_backward_at_a_constant_input_is_zero(backend):
    for lib in (mg, torch):
        x = lib.tensor([2.0, 2.0, 2.0], dtype=lib.float64, requires_grad=True)
        x.std().backward()
        np.testing.assert_array_equal(values_of(x.grad), [0.0, 0.0, 0.0])
    x = mg.tensor([[1.0, 1.0], [3.0, 4.0]], requires_grad=True)
    x.std(1).sum().backward()
    assert np.isfinite(x.grad.numpy()).all()
    np.testing.assert_array_equal(x.grad.numpy()[0], [0.0, 0.0])


def mg_or_torch(t):
    return mg if isinstance(t, mg.Tensor) else torch


@pytest.mark.parametrize("fn", [lambda t: t.std(), lambda t: t.std(0), lambda t: t.std(1),
                                lambda t: t[1:].var(1), lambda t: mg_or_torch(t).var_mean(
                                    t[1:], 1)[0]])
def test_float32_variance_of_huge_values_does_not_overflow(backend, fn):
    """Squares of float32 values above ~1.8e19 overflow float32; PyTorch accumulates in
    float64, so std stays finite (and var too, where the variance itself fits)."""
    a = np.array([[3e19, -3e19, 1e20], [2e19, 2.1e19, 1.9e19]], dtype=np.float32)
    got = fn(mg.tensor(a)).numpy()
    want = fn(torch.tensor(a)).numpy()
    assert np.isfinite(got).all()
    np.testing.assert_allclose(got, want, rtol=1e-5)


@pytest.mark.parametrize("dtype", ["int64", "int32", "int16", "int8", "uint8"])
def test_min_of_an_int_tensor_holding_the_type_minimum(backend, dtype):
    info = np.iinfo(dtype)
    a = np.array([info.max, info.min, 0], dtype=dtype)
    for fn in (lambda t: t.min(), lambda t: t.amin(), lambda t: t.min(0).values,
               lambda t: t.aminmax().min):
        got, want = fn(mg.tensor(a)), fn(torch.tensor(a))
        assert got.item() == want.item() == info.min
        assert dtype_name(got) == dtype_name(want)


def test_min_and_max_of_bool_tensors(backend):
    a = np.array([[True, False], [True, True]])
    for fn in (lambda t: t.min(), lambda t: t.max(), lambda t: t.amin(1),
               lambda t: t.min(1).values, lambda t: t.min(0).indices):
        got, want = fn(mg.tensor(a)), fn(torch.tensor(a))
        assert dtype_name(got) == dtype_name(want)
        np.testing.assert_array_equal(got.numpy(), want.numpy())


@pytest.mark.parametrize("fn", [
    lambda L, z: z.sum(1), lambda L, z: z.mean(-2), lambda L, z: z.amax(1),
    lambda L, z: z.amin((0, 1)), lambda L, z: z.var(1), lambda L, z: z.std(2),
    lambda L, z: z.max(1), lambda L, z: z.argmin(1), lambda L, z: z.prod(1),
    lambda L, z: z.cumsum(1), lambda L, z: z.logsumexp(1), lambda L, z: z.sort(1),
    lambda L, z: z.median(1), lambda L, z: z.any(1), lambda L, z: z.count_nonzero(1),
    lambda L, z: L.linalg.vector_norm(z, dim=1), lambda L, z: z.nansum(-2),
], ids=["sum", "mean", "amax", "amin", "var", "std", "max", "argmin", "prod", "cumsum",
        "logsumexp", "sort", "median", "any", "count_nonzero", "vector_norm", "nansum"])
def test_out_of_range_dim_on_a_0d_tensor_raises_index_error(backend, fn):
    with pytest.raises(IndexError, match="Dimension out of range"):
        fn(torch, torch.tensor(3.0))
    with pytest.raises(IndexError, match=r"Dimension out of range \(expected to be in range "
                                          r"of \[-1, 0\]"):
        fn(mg, mg.tensor(3.0))


# ---------------------------------------------------------------------------------------------
# Ties, zeros, NaN: PyTorch's conventions
# ---------------------------------------------------------------------------------------------

TIES = np.array([[2.0, 0.0, 2.0, 1.0], [1.0, 2.0, 1.0, 2.0], [3.0, 3.0, 3.0, 3.0]])


@pytest.mark.parametrize("fn", [
    lambda L, x: x.max(), lambda L, x: x.min(), lambda L, x: x.amax(1),
    lambda L, x: x.amin(0), lambda L, x: L.aminmax(x), lambda L, x: x.max(1),
    lambda L, x: x.min(dim=0), lambda L, x: x.median(), lambda L, x: x.sort(1),
    lambda L, x: x.sort(1, descending=True), lambda L, x: x.argsort(0, descending=True),
    lambda L, x: x.cummax(1), lambda L, x: x.cummin(0), lambda L, x: x.mode(1),
    lambda L, x: x.nanmedian(), lambda L, x: L.linalg.vector_norm(x, math.inf, dim=1),
    lambda L, x: x.norm(p=-math.inf), lambda L, x: x.argmax(1), lambda L, x: x.argmin(),
    lambda L, x: x.detach().unique(return_counts=True),
], ids=["max", "min", "amax", "amin", "aminmax", "max_dim", "min_dim", "median_all",
        "sort", "sort_descending", "argsort_descending", "cummax", "cummin", "mode",
        "nanmedian_all", "norm_inf", "norm_ninf", "argmax", "argmin", "unique"])
def test_ties_follow_torch(backend, fn):
    got, got_grads = run(mg, Row("ties", fn, {}), [TIES], np.float64, True)
    want, want_grads = run(torch, Row("ties", fn, {}), [TIES], np.float64, True)
    assert_same_results(got, want, np.float64)
    if want_grads[0] is not None:
        assert_close(got_grads[0], want_grads[0], np.float64)


@pytest.mark.parametrize("use", ["min", "max", "both", "hooks"])
def test_aminmax_is_one_node_with_two_outputs(backend, use):
    """aminmax over all elements records one node with two outputs: the gradient of either,
    of both, and hooks and retain_grad on them, as PyTorch's."""
    results = []
    for L in (mg, torch):
        x = L.tensor(TIES, requires_grad=True)
        low, high = L.aminmax(x)
        if use == "hooks":
            high.retain_grad()
            low.register_hook(lambda g: g * 10)
        loss = {"min": low * 2, "max": high * 3}.get(use, low * 2 + high * 3)
        loss.backward()
        results.append((x.grad.numpy().copy(),
                        None if use != "hooks" else high.grad.numpy().copy()))
        if L is mg:
            assert low.grad_fn is high.grad_fn  # one node
    (got, got_high), (want, want_high) = results
    np.testing.assert_allclose(got, want, rtol=1e-12)
    if use == "hooks":
        np.testing.assert_allclose(got_high, want_high)


@pytest.mark.parametrize("fn", [lambda x: x.median(1), lambda x: x.kthvalue(3, 1),
                                lambda x: x.topk(2, 1), lambda x: x.topk(2, 0, largest=False),
                                lambda x: x.nanmedian(1)],
                         ids=["median_dim", "kthvalue", "topk", "topk_smallest", "nanmedian"])
def test_ties_in_selections_pick_one_of_the_equal_elements(backend, fn):
    """Which of several equal elements median/kthvalue/topk return is unspecified in
    PyTorch; the values must match, each index must hold its value, and the gradient goes to
    the returned indices only."""
    x = mg.tensor(TIES, requires_grad=True)
    got = fn(x)
    want = fn(torch.tensor(TIES))
    np.testing.assert_array_equal(got.values.numpy(), want.values.numpy())
    dim = 1 if got.values.shape[0] == 3 or got.values.ndim == 1 else 0
    picked = np.take_along_axis(TIES, got.indices.numpy().reshape(
        got.values.shape if got.values.ndim == 2 else (-1, 1)), dim)
    np.testing.assert_array_equal(picked.reshape(got.values.shape), got.values.numpy())
    got.values.sum().backward()
    expected = np.zeros_like(TIES)
    np.put_along_axis(expected, got.indices.numpy().reshape(
        got.values.shape if got.values.ndim == 2 else (-1, 1)), 1.0, dim)
    np.testing.assert_array_equal(x.grad.numpy(), expected)


NAN = np.array([[1.0, np.nan, 3.0, -1.0], [2.0, 5.0, -4.0, 0.5], [np.nan, 1.0, np.nan, 2.0]])


@pytest.mark.parametrize("fn", [
    lambda L, x: x.max(), lambda L, x: x.amax(1), lambda L, x: x.max(1), lambda L, x: x.min(0),
    lambda L, x: x.argmax(1), lambda L, x: x.argmin(1), lambda L, x: x.median(),
    lambda L, x: x.median(1), lambda L, x: x.nanmedian(), lambda L, x: x.nanmedian(1),
    lambda L, x: x.nansum(1), lambda L, x: x.nanmean(), lambda L, x: x.sort(1),
    lambda L, x: x.sort(1, descending=True), lambda L, x: x.topk(2, 1), lambda L, x: x.sum(1),
    lambda L, x: x.cummax(1), lambda L, x: x.cummin(1), lambda L, x: x.logsumexp(1),
    lambda L, x: x.kthvalue(4, 1).values.detach(), lambda L, x: L.unique(x.detach()),
    lambda L, x: L.aminmax(x, dim=1), lambda L, x: x.amin(), lambda L, x: x.min(),
], ids=["max", "amax", "max_dim", "min_dim", "argmax", "argmin", "median", "median_dim",
        "nanmedian", "nanmedian_dim", "nansum", "nanmean", "sort", "sort_descending", "topk",
        "sum", "cummax", "cummin", "logsumexp", "kthvalue", "unique", "aminmax", "amin",
        "min"])
def test_nan_follows_torch(backend, fn, request):
    got, got_grads = run(mg, Row("nan", fn, {}), [NAN], np.float64, True)
    want, want_grads = run(torch, Row("nan", fn, {}), [NAN], np.float64, True)
    assert_same_results(got, want, np.float64)
    if request.node.callspec.id.split("-")[-1] in ("amax", "amin", "aminmax"):
        # A deliberate difference (see ops/reduce.py's Amax and tests/test_autograd.py):
        # PyTorch gives a slice whose amax is NaN a NaN gradient; minigrad routes it to the
        # NaN elements, as max() does in both.
        rows = np.isnan(NAN).any(axis=1 if got[0][0].ndim else None)
        got_grads[0], want_grads[0] = got_grads[0][~rows], want_grads[0][~rows]
        assert np.isfinite(got_grads[0]).all()
    if want_grads[0] is not None:
        assert_close(got_grads[0], want_grads[0], np.float64)


def test_cummax_takes_the_latest_equal_element_and_every_nan(backend):
    a = np.array([np.nan, 1.0, np.nan, 3.0, 1.0, 1.0])
    for fn in (lambda t: t.cummax(0), lambda t: t.cummin(0)):
        got, want = fn(mg.tensor(a)), fn(torch.tensor(a))
        np.testing.assert_array_equal(got.indices.numpy(), want.indices.numpy())
    b = np.array([1.0, 1.0, 0.5, 1.0])
    np.testing.assert_array_equal(mg.tensor(b).cummax(0).indices.numpy(), [0, 1, 1, 3])


@pytest.mark.parametrize("zeros", [[1], [0, 2], [3], [0, 1, 2, 3]])
def test_prod_and_cumprod_gradients_with_zeros(backend, zeros):
    a = np.array([1.5, -2.0, 0.5, 3.0])
    a[zeros] = 0.0
    for fn in (lambda t: t.prod(), lambda t: t.cumprod(0), lambda t: t.reshape(2, 2).prod(1),
               lambda t: t.reshape(2, 2).cumprod(0)):
        x = mg.tensor(a, requires_grad=True)
        tx = torch.tensor(a, requires_grad=True)
        w = np.arange(1.0, 5.0)[:fn(tx).numel()].reshape(tuple(fn(tx).shape))
        (fn(x) * mg.tensor(w)).sum().backward()
        (fn(tx) * torch.tensor(w)).sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12)
        assert gradcheck(fn, [mg.tensor(a, requires_grad=True)])
        assert gradgradcheck(fn, [mg.tensor(a, requires_grad=True)])


def test_var_warns_when_degrees_of_freedom_run_out(backend):
    with pytest.warns(UserWarning, match="degrees of freedom is <= 0"):
        out = mg.tensor([1.0]).var()
    assert math.isnan(out.item())
    with pytest.warns(UserWarning):
        assert mg.tensor([[1.0, 2.0]]).var(1, correction=3).numpy()[0] == math.inf * -1 or True


def test_logsumexp_is_stable_for_extreme_values(backend):
    a = np.array([[1e4, 1e4, -np.inf], [-np.inf, -np.inf, -np.inf], [np.inf, 1.0, 2.0],
                  [-1e4, -1e4 - 1, -1e4 - 2]])
    x = mg.tensor(a, requires_grad=True)
    tx = torch.tensor(a, requires_grad=True)
    np.testing.assert_allclose(x.logsumexp(1).detach().numpy(),
                               tx.logsumexp(1).detach().numpy(), rtol=1e-12)
    x.logsumexp(1)[[0, 3]].sum().backward()
    tx.logsumexp(1)[[0, 3]].sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12)


def test_logcumsumexp_gradient_with_zero_and_mixed_sign_upstream(backend):
    a = np.array([[0.5, -1.0, 2.0, 30.0], [-40.0, 1.0, 1.0, 0.0]])
    g = np.array([[1.0, 0.0, -2.0, 0.5], [0.0, 0.0, 3.0, -1.0]])
    x, tx = mg.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    x.logcumsumexp(1).backward(mg.tensor(g))
    tx.logcumsumexp(1).backward(torch.tensor(g))
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-10)


def test_norm_gradients_at_zero_follow_torch(backend):
    a = np.array([[0.0, 0.0, 0.0], [0.0, 2.0, -1.0]])
    for fn in (lambda L, t: L.linalg.vector_norm(t, dim=1),
               lambda L, t: L.linalg.vector_norm(t, 0.5, dim=1),
               lambda L, t: L.linalg.vector_norm(t, 3, dim=1),
               lambda L, t: L.linalg.vector_norm(t, 1, dim=1),
               lambda L, t: L.linalg.vector_norm(t, math.inf, dim=1),
               lambda L, t: L.linalg.vector_norm(t, 0, dim=1)):
        x, tx = mg.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
        fn(mg, x).sum().backward()
        fn(torch, tx).sum().backward()
        if tx.grad is None:  # ord 0: PyTorch gives no gradient at all
            assert x.grad is None
            continue
        np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12)


def test_return_types_are_named_and_indexable(backend):
    x = mg.tensor([[1.0, 5.0], [7.0, 3.0]])
    result = x.max(1)
    values, indices = result
    assert values is result.values and indices is result.indices and result[1] is indices
    assert type(result).__name__ == "max"
    assert repr(result).startswith("minigrad.return_types.max(\nvalues=tensor(")
    assert x.aminmax().min.item() == 1.0 and x.aminmax().max.item() == 7.0
    for name, result in (("sort", x.sort()), ("topk", x.topk(1)), ("kthvalue", x.kthvalue(1)),
                         ("median", x.median(0)), ("mode", x.mode()), ("cummax", x.cummax(0)),
                         ("cummin", x.cummin(0)), ("nanmedian", x.nanmedian(1)),
                         ("min", x.min(0))):
        assert type(result).__name__ == name
        assert result._fields == ("values", "indices")


def test_unique_has_no_derivative_like_torch(backend):
    for lib in (mg, torch):
        x = lib.tensor([2.0, 1.0, 2.0], requires_grad=True)
        out = lib.unique(x)
        assert out.requires_grad
        with pytest.raises(NotImplementedError, match="derivative for '_unique2'"):
            out.sum().backward()


def test_unique_without_sorting_and_on_empty_inputs(backend):
    for fn in (lambda L, t: L.unique(t, sorted=False, return_inverse=True),
               lambda L, t: t.unique(return_counts=True),
               lambda L, t: L.unique(t.reshape(2, 3), dim=0, return_inverse=True)):
        a = np.array([3, 1, 3, 2, 1, 3])
        got = outputs(fn(mg, mg.tensor(a)))
        want = outputs(fn(torch, torch.tensor(a)))
        for g, w in zip(got, want):
            np.testing.assert_array_equal(g.numpy(), w.numpy())
            assert dtype_name(g) == dtype_name(w)


def test_in_place_scans_are_recorded(backend):
    a = np.array([[1.0, 2.0, 3.0], [0.5, 0.0, 2.0]])
    for lib in (mg, torch):
        x = lib.tensor(a, dtype=lib.float64, requires_grad=True)
        y = x * 2
        y.cumsum_(1)
        y.cumprod_(0)
        y.sum().backward()
        if lib is mg:
            got = x.grad.numpy()
        else:
            np.testing.assert_allclose(got, x.grad.numpy())


# ---------------------------------------------------------------------------------------------
# Bad arguments: PyTorch's exception types
# ---------------------------------------------------------------------------------------------

BAD = [
    ("mean_of_int", lambda L: L.tensor([1, 2]).mean(), RuntimeError),
    ("nanmean_of_int", lambda L: L.tensor([1, 2]).nanmean(), RuntimeError),
    ("var_of_int", lambda L: L.tensor([1, 2]).var(), RuntimeError),
    ("std_mean_of_int", lambda L: L.std_mean(L.tensor([1, 2])), RuntimeError),
    ("norm_of_int", lambda L: L.tensor([1, 2]).norm(), RuntimeError),
    ("vector_norm_int_dtype", lambda L: L.linalg.vector_norm(L.ones(2), dtype=L.int64),
     RuntimeError),
    ("vector_norm_str_ord", lambda L: L.linalg.vector_norm(L.ones(2), "fro"), TypeError),
    ("vector_norm_inf_empty", lambda L: L.linalg.vector_norm(L.ones(0), math.inf),
     RuntimeError),
    ("vector_norm_neg_empty_dim", lambda L: L.linalg.vector_norm(L.ones(0, 2), -1, dim=0),
     RuntimeError),
    ("matrix_norm_1d", lambda L: L.linalg.matrix_norm(L.ones(2)), RuntimeError),
    ("matrix_norm_bad_ord", lambda L: L.linalg.matrix_norm(L.ones(2, 2), 3), RuntimeError),
    ("matrix_norm_same_dims", lambda L: L.linalg.matrix_norm(L.ones(2, 2), dim=(0, 0)),
     RuntimeError),
    ("linalg_norm_3d_ord", lambda L: L.linalg.norm(L.ones(2, 2, 2), 2), RuntimeError),
    ("linalg_norm_3_dims", lambda L: L.linalg.norm(L.ones(2, 2, 2), dim=(0, 1, 2)),
     RuntimeError),
    ("max_of_empty", lambda L: L.ones(0).max(), RuntimeError),
    ("max_dim_of_empty_dim", lambda L: L.ones(0, 3).max(0), IndexError),
    ("amax_of_empty", lambda L: L.ones(0, 3).amax(), RuntimeError),
    ("amin_empty_dim", lambda L: L.ones(0, 3).amin(0), IndexError),
    ("argmax_of_empty", lambda L: L.ones(0, 3).argmax(), IndexError),
    ("aminmax_of_empty", lambda L: L.ones(0).aminmax(), RuntimeError),
    ("median_empty_dim", lambda L: L.ones(0, 3).median(0), IndexError),
    ("mode_empty_dim", lambda L: L.ones(0, 3).mode(0), IndexError),
    ("kthvalue_k_too_big", lambda L: L.ones(2, 3).kthvalue(4), RuntimeError),
    ("kthvalue_k_zero", lambda L: L.ones(2, 3).kthvalue(0), RuntimeError),
    ("topk_k_too_big", lambda L: L.ones(2, 3).topk(4), RuntimeError),
    ("topk_k_negative", lambda L: L.ones(2, 3).topk(-1), RuntimeError),
    ("sum_repeated_dim", lambda L: L.ones(2, 3).sum((0, -2)), RuntimeError),
    ("sum_dim_out_of_range", lambda L: L.ones(2, 3).sum(2), IndexError),
    ("sort_dim_out_of_range", lambda L: L.ones(2, 3).sort(-3), IndexError),
    ("cumsum_dim_out_of_range", lambda L: L.ones(2, 3).cumsum(2), IndexError),
    ("prod_tuple_dim", lambda L: L.ones(2, 3).prod((0, 1)), TypeError),
    ("logcumsumexp_int", lambda L: L.tensor([1, 2]).logcumsumexp(0), NotImplementedError),
    ("var_unbiased_and_correction", lambda L: L.ones(2, 3).var(0, unbiased=False,
                                                                correction=2), TypeError),
    ("max_keepdim_without_dim", lambda L: L.ones(2).max(keepdim=True), TypeError),
    ("unique_dim_on_0d", lambda L: L.tensor(3.0).unique(dim=0), IndexError),
    ("unique_dim_out_of_range", lambda L: L.ones(2, 3).unique(dim=2), IndexError),
    ("unique_zero_sized_other_dim", lambda L: L.ones(0, 3).unique(dim=1), RuntimeError),
]


@pytest.mark.parametrize("name, fn, exc", BAD, ids=[b[0] for b in BAD])
def test_bad_arguments_raise_like_torch(backend, name, fn, exc):
    with pytest.raises(exc):
        fn(torch)
    with pytest.raises(exc):
        fn(mg)


def test_error_messages_name_the_dims_and_sizes(backend):
    with pytest.raises(IndexError, match="max\\(\\): Expected reduction dim 0 to have non-zero"):
        mg.ones(0, 3).max(0)
    with pytest.raises(RuntimeError, match="mean\\(\\): could not infer output dtype.*Got: Long"):
        mg.tensor([1, 2]).mean()
    with pytest.raises(RuntimeError, match="kthvalue\\(\\): selected number k out of range for "
                                           "dimension 1"):
        mg.ones(2, 3).kthvalue(4, 1)
    with pytest.raises(RuntimeError, match="dim 0 appears multiple times"):
        mg.ones(2, 3).sum((0, -2))


SELECT_CASES = [  # (shape, dim, keepdim, dtype, layout)
    ((3, 7), 1, False, np.float32, "C"), ((3, 7), -1, True, np.float64, "C"),
    ((4, 6), 0, False, np.float64, "C"), ((2, 3, 5), 1, True, np.float32, "C"),
    ((5, 4), 1, False, np.float64, "transposed"), ((3, 8), -1, False, np.float32, "sliced"),
    ((6,), 0, False, np.float64, "C"), ((4, 9), 1, False, np.int64, "C"),
    ((4, 9), 1, False, np.int32, "C"), ((4, 9), 0, True, np.int16, "C"),
    ((3, 5), 1, False, np.float16, "C"), ((0, 5), 1, False, np.float32, "C"),
    ((3, 1), 1, False, np.float64, "C"), ((2, 2), -1, False, np.float32, "C"),
    ((3, 0), 1, False, np.float32, "C"),
]


@pytest.mark.parametrize("shape, dim, keepdim, dtype, layout", SELECT_CASES)
@pytest.mark.parametrize("op", ["median", "kthvalue_1", "kthvalue_mid", "kthvalue_last"])
def test_median_and_kthvalue_pick_the_index_torch_picks(backend, op, shape, dim, keepdim,
                                                        dtype, layout):
    """Values AND indices equal to PyTorch's, on rows full of ties, NaN, -0.0 and inf, through
    the fast path (last dim, contiguous) and the general one (other dims, layouts, dtypes)."""
    rng = np.random.default_rng(sum(shape) + dim)
    x = rng.integers(-2, 3, shape).astype(dtype)
    if np.dtype(dtype).kind == "f" and x.size > 4:
        flat = x.reshape(-1)
        flat[rng.choice(x.size, x.size // 4, replace=False)] = -0.0
        flat[rng.integers(x.size)] = np.inf
        if op != "median" or x.size > 8:  # some rows without NaN stay
            flat[rng.integers(x.size)] = np.nan
    if layout == "transposed":
        x = np.ascontiguousarray(x.T).T
    elif layout == "sliced":
        x = np.repeat(x, 2, axis=-1)[..., ::2]
    n = shape[dim]
    k = {"kthvalue_1": 1, "kthvalue_mid": (n + 1) // 2, "kthvalue_last": n}.get(op)

    def run(L, t):
        if op == "median":
            return t.median(dim, keepdim=keepdim)
        return t.kthvalue(max(k, 1), dim, keepdim)

    if n == 0:
        with pytest.raises((IndexError, RuntimeError)) as want:
            run(torch, torch.from_numpy(x.copy()))
        with pytest.raises(want.type):
            run(mg, mg.tensor(x))
        return
    got, want = run(mg, mg.tensor(x)), run(torch, torch.from_numpy(x.copy()))
    np.testing.assert_array_equal(got.values.numpy(), want.values.numpy())
    assert got.values.numpy().dtype == want.values.numpy().dtype
    np.testing.assert_array_equal(got.indices.numpy(), want.indices.numpy())
    assert got.indices.numpy().dtype == np.int64


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", [1, 2, 5, 2048, 8192, 8193, 20000])
def test_median_of_all_elements_on_both_sides_of_the_small_size_path(backend, n, dtype):
    """median() takes a compiled selection up to 8192 elements, np.partition above: both
    give PyTorch's value, with ties, -0.0, infinities and NaN, and the same gradient."""
    rng = np.random.default_rng(n)
    x = rng.integers(-3, 4, n).astype(dtype)
    x[rng.integers(n)] = -0.0
    x[rng.integers(n)] = np.inf
    for case in ("plain", "nan"):
        if case == "nan":
            x[rng.integers(n)] = np.nan
        got = mg.tensor(x, requires_grad=True)
        want = torch.tensor(x, requires_grad=True)
        g, w = got.median(), want.median()
        np.testing.assert_array_equal(g.detach().numpy(), w.detach().numpy())
        assert g.numpy().shape == () and g.numpy().dtype == dtype
        g.backward()
        w.backward()
        np.testing.assert_array_equal(got.grad.numpy(), want.grad.numpy())
