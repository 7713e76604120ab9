"""Every differentiable op of the Tensor API in one table, checked five ways.

Each row of ``OPS`` is one op: a function ``fn(lib, *tensors)`` written once against the
PyTorch API (so it runs unchanged with ``lib=minigrad`` and ``lib=torch``), its numpy twin
``ref(*arrays)``, and named shape cases (``main``, ``bcast``, ``zero_d``, ``empty``, ...).
For every (row, case), on both kernel backends:

- the forward pass matches numpy (values, shape);
- gradients match central finite differences in float64 (``gradcheck``);
- forward and gradients match PyTorch in float64 and float32 (for a random upstream gradient);

and for every row, a graph that uses the op's output (and its inputs) several times gives the
gradient PyTorch gives, i.e. contributions add up.
"""
import warnings
from dataclasses import dataclass, field

import numpy as np
import pytest

import minigrad as mg
from minigrad.autograd import gradcheck, gradgradcheck

# ---------------------------------------------------------------------------------------------
# Input generators: values kept away from every kink and tie the table uses (0, +-0.5, +-1),
# so that finite differences never straddle a point where the derivative jumps.
# ---------------------------------------------------------------------------------------------


def signed(rng, shape):
    v = rng.uniform(0.2, 2.0, size=shape)
    for kink in (0.5, 1.0):
        v = np.where(np.abs(v - kink) < 0.05, v + 0.1, v)
    return v * rng.choice([-1.0, 1.0], size=shape)


def positive(rng, shape):
    return np.abs(signed(rng, shape))


@dataclass
class Op:
    name: str
    fn: object               # fn(lib, *tensors) -> tensor, for lib in (minigrad, torch)
    ref: object              # ref(*arrays) -> ndarray, numpy's answer
    cases: dict              # case name -> tuple of input shapes
    gens: tuple = field(default=(signed,))  # one generator per input (the last one repeats)

    def inputs(self, case, seed=0):
        rng = np.random.default_rng(seed)
        shapes = self.cases[case]
        gens = self.gens + (self.gens[-1],) * (len(shapes) - len(self.gens))
        return [np.asarray(g(rng, s), dtype=np.float64) for g, s in zip(gens, shapes)]


# Constant index arrays and masks used by the indexing rows (shape (3, 4) inputs).
IDX_REPEATED = np.array([0, 2, 0, 1, 2, 2])
IDX_2D = np.array([[0, 1], [1, 1], [2, 0]])
IDX_NEG = np.array([-1, 0, -1])
MASK = np.array([[True, False, True, True], [False, False, True, False],
                 [True, True, False, False]])
ROW_MASK = np.array([True, False, True])

UNARY = {"main": ((2, 3),), "zero_d": ((),), "empty": ((0, 3),), "vector": ((5,),)}
BINARY = {"main": ((2, 3), (2, 3)), "bcast": ((2, 1, 3), (4, 1)), "bcast_rank": ((3,), (2, 3)),
          "zero_d": ((), ()), "zero_d_bcast": ((), (2, 3)), "empty": ((0, 3), (0, 3)),
          "empty_bcast": ((0, 3), (1, 3))}
SCALAR = {"main": ((2, 3),), "zero_d": ((),), "empty": ((0, 3),)}


def _nanmean(a, axis=None, keepdims=False):
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return np.mean(a, axis=axis, keepdims=keepdims)


def _dim_ref(ref):
    """A reduction over dim 0 / -1 of a 0-d tensor is the identity in torch (numpy refuses)."""
    return lambda a: a.copy() if a.ndim == 0 else ref(a)


OPS = [
    # ----- arithmetic: tensor op tensor, tensor op scalar, scalar op tensor -----------------
    Op("add", lambda L, a, b: a + b, np.add, BINARY),
    Op("sub", lambda L, a, b: a - b, np.subtract, BINARY),
    Op("mul", lambda L, a, b: a * b, np.multiply, BINARY),
    Op("div", lambda L, a, b: a / b, np.divide, BINARY),
    Op("pow", lambda L, a, b: a ** b, np.power, BINARY, (positive, signed)),
    Op("add_fn", lambda L, a, b: L.add(a, b), np.add, {"main": BINARY["main"]}),
    Op("mul_fn", lambda L, a, b: L.mul(a, b), np.multiply, {"bcast": BINARY["bcast"]}),
    Op("add_scalar", lambda L, a: a + 2.5, lambda a: a + 2.5, SCALAR),
    Op("radd_scalar", lambda L, a: 2.5 + a, lambda a: 2.5 + a, SCALAR),
    Op("add_int_scalar", lambda L, a: a + 3, lambda a: a + 3, SCALAR),
    Op("sub_scalar", lambda L, a: a - 1.5, lambda a: a - 1.5, SCALAR),
    Op("rsub_scalar", lambda L, a: 1.5 - a, lambda a: 1.5 - a, SCALAR),
    Op("mul_scalar", lambda L, a: a * -3.0, lambda a: a * -3.0, SCALAR),
    Op("rmul_scalar", lambda L, a: 2 * a, lambda a: 2 * a, SCALAR),
    Op("div_scalar", lambda L, a: a / 4.0, lambda a: a / 4.0, SCALAR),
    Op("rdiv_scalar", lambda L, a: 3.0 / a, lambda a: 3.0 / a, SCALAR),
    Op("pow_int2", lambda L, a: a ** 2, lambda a: a ** 2, SCALAR),
    Op("pow_int3", lambda L, a: a ** 3, lambda a: a ** 3, SCALAR),
    Op("pow_neg", lambda L, a: a ** -1, lambda a: a ** -1.0, SCALAR),
    Op("pow_frac", lambda L, a: a ** 2.5, lambda a: a ** 2.5, SCALAR, (positive,)),
    Op("rpow_scalar", lambda L, a: 2.0 ** a, lambda a: 2.0 ** a, SCALAR),
    Op("neg", lambda L, a: -a, np.negative, UNARY),
    # ----- matrix product -------------------------------------------------------------------
    Op("matmul", lambda L, a, b: a @ b, np.matmul, {
        "1d_1d": ((3,), (3,)), "1d_2d": ((3,), (3, 4)), "2d_1d": ((2, 3), (3,)),
        "2d_2d": ((2, 3), (3, 4)), "batched": ((2, 2, 3), (2, 3, 4)),
        "batched_bcast": ((2, 1, 2, 3), (3, 3, 2)), "batched_1d_left": ((4,), (2, 4, 3)),
        "batched_1d_right": ((2, 3, 4), (4,)), "empty_rows": ((0, 3), (3, 2)),
        "empty_inner": ((2, 0), (0, 3))}),
    Op("matmul_fn", lambda L, a, b: L.matmul(a, b), np.matmul, {"2d_2d": ((3, 2), (2, 2))}),
    # ----- unary math and activations -------------------------------------------------------
    Op("exp", lambda L, a: L.exp(a), np.exp, UNARY),
    Op("exp_method", lambda L, a: a.exp(), np.exp, {"main": UNARY["main"]}),
    Op("log", lambda L, a: a.log(), np.log, UNARY, (positive,)),
    Op("sqrt", lambda L, a: L.sqrt(a), np.sqrt, UNARY, (positive,)),
    Op("abs", lambda L, a: a.abs(), np.abs, UNARY),
    Op("clamp", lambda L, a: a.clamp(-1.0, 1.0), lambda a: np.clip(a, -1, 1), UNARY),
    Op("clamp_min", lambda L, a: a.clamp(min=-0.5), lambda a: np.maximum(a, -0.5), UNARY),
    Op("clamp_max", lambda L, a: L.clamp(a, max=0.5), lambda a: np.minimum(a, 0.5), UNARY),
    Op("relu", lambda L, a: a.relu(), lambda a: np.maximum(a, 0), UNARY),
    Op("relu_fn", lambda L, a: L.relu(a), lambda a: np.maximum(a, 0), {"main": ((4, 5),)}),
    Op("sigmoid", lambda L, a: a.sigmoid(), lambda a: 1 / (1 + np.exp(-a)), UNARY),
    Op("tanh", lambda L, a: L.tanh(a), np.tanh, UNARY),
    # ----- reductions -----------------------------------------------------------------------
    Op("sum_all", lambda L, a: a.sum(), np.sum,
       {"main": ((2, 3, 4),), "zero_d": ((),), "empty": ((0, 3),)}),
    Op("sum_fn", lambda L, a: L.sum(a, 1), lambda a: np.sum(a, 1), {"main": ((2, 3),)}),
    Op("sum_dim1", lambda L, a: a.sum(dim=1), lambda a: np.sum(a, 1),
       {"main": ((2, 3, 4),), "empty": ((0, 3),)}),
    Op("sum_dim0_empty_axis", lambda L, a: a.sum(0), lambda a: np.sum(a, 0),
       {"main": ((2, 3),), "empty": ((0, 3),)}),
    Op("sum_neg", lambda L, a: a.sum(-1), _dim_ref(lambda a: np.sum(a, -1)),
       {"main": ((2, 3, 4),), "zero_d": ((),), "empty": ((0, 3),)}),
    Op("sum_tuple", lambda L, a: a.sum(dim=(0, 2)), lambda a: np.sum(a, (0, 2)),
       {"main": ((2, 3, 4),), "empty": ((0, 3, 2),)}),
    Op("sum_keepdim", lambda L, a: a.sum(dim=1, keepdim=True),
       lambda a: np.sum(a, 1, keepdims=True), {"main": ((2, 3, 4),), "empty": ((0, 3),)}),
    Op("sum_tuple_keepdim", lambda L, a: a.sum(dim=(0, -1), keepdim=True),
       lambda a: np.sum(a, (0, -1), keepdims=True), {"main": ((2, 3, 4),)}),
    Op("mean_all", lambda L, a: a.mean(), _nanmean,
       {"main": ((2, 3, 4),), "zero_d": ((),), "empty": ((0, 3),)}),
    Op("mean_dim", lambda L, a: L.mean(a, dim=1), lambda a: _nanmean(a, 1),
       {"main": ((2, 3, 4),), "empty": ((0, 3),)}),
    Op("mean_neg_keepdim", lambda L, a: a.mean(-1, keepdim=True),
       _dim_ref(lambda a: _nanmean(a, -1, keepdims=True)),
       {"main": ((2, 3, 4),), "zero_d": ((),), "empty": ((3, 0),)}),
    Op("mean_tuple", lambda L, a: a.mean(dim=(0, 2)), lambda a: _nanmean(a, (0, 2)),
       {"main": ((2, 3, 4),)}),
    Op("max_all", lambda L, a: a.max(), np.max, {"main": ((3, 4),), "zero_d": ((),)}),
    Op("max_fn", lambda L, a: L.max(a), np.max, {"main": ((2, 2, 3),)}),
    Op("amax_dim", lambda L, a: a.amax(1), lambda a: np.amax(a, 1),
       {"main": ((2, 3, 4),), "empty": ((0, 3),)}),
    Op("amax_keepdim", lambda L, a: a.amax(-1, keepdim=True),
       _dim_ref(lambda a: np.amax(a, -1, keepdims=True)), {"main": ((2, 3, 4),), "zero_d": ((),)}),
    Op("amax_tuple", lambda L, a: L.amax(a, dim=(0, 2)), lambda a: np.amax(a, (0, 2)),
       {"main": ((2, 3, 4),)}),
    Op("max_dim_values", lambda L, a: a.max(dim=1).values, lambda a: np.max(a, 1),
       {"main": ((2, 3, 4),), "empty": ((0, 3),)}),
    Op("max_dim_keepdim", lambda L, a: a.max(0, keepdim=True)[0],
       lambda a: np.max(a, 0, keepdims=True), {"main": ((3, 4),)}),
    Op("max_dim_neg", lambda L, a: a.max(-1)[0], _dim_ref(lambda a: np.max(a, -1)),
       {"main": ((3, 4),), "zero_d": ((),)}),
    # ----- shape ops ------------------------------------------------------------------------
    Op("reshape", lambda L, a: a.reshape(3, -1), lambda a: a.reshape(3, -1),
       {"main": ((2, 3, 2),), "empty": ((0, 3),)}),
    Op("reshape_tuple", lambda L, a: a.reshape((2, 6)), lambda a: a.reshape(2, 6),
       {"main": ((3, 4),)}),
    Op("view_flat", lambda L, a: a.view(-1), lambda a: a.reshape(-1),
       {"main": ((2, 3),), "zero_d": ((),), "empty": ((0, 3),)}),
    Op("view_split", lambda L, a: a.view(2, -1, 3), lambda a: a.reshape(2, -1, 3),
       {"main": ((4, 3),), "empty": ((0, 6),)}),
    Op("flatten", lambda L, a: a.flatten(), lambda a: a.reshape(-1),
       {"main": ((2, 3, 2),), "zero_d": ((),), "empty": ((0, 3),)}),
    Op("flatten_start", lambda L, a: L.flatten(a, 1), lambda a: a.reshape(a.shape[0], int(np.prod(a.shape[1:]))),
       {"main": ((2, 3, 2),), "empty": ((0, 3, 2),)}),
    Op("flatten_range", lambda L, a: a.flatten(0, 1), lambda a: a.reshape(-1, a.shape[2]),
       {"main": ((2, 3, 2),), "empty": ((2, 0, 3),)}),
    Op("transpose", lambda L, a: a.transpose(0, 2), lambda a: np.swapaxes(a, 0, 2),
       {"main": ((2, 3, 4),), "empty": ((0, 3, 2),)}),
    Op("transpose_neg", lambda L, a: L.transpose(a, -1, -2), lambda a: np.swapaxes(a, -1, -2),
       {"main": ((2, 3, 4),)}),
    Op("T", lambda L, a: a.T, lambda a: a.T, {"main": ((2, 3),), "empty": ((0, 3),)}),
    Op("permute", lambda L, a: a.permute(2, 0, 1), lambda a: np.transpose(a, (2, 0, 1)),
       {"main": ((2, 3, 4),), "empty": ((0, 3, 2),)}),
    Op("permute_tuple", lambda L, a: a.permute((1, -1, 0)), lambda a: np.transpose(a, (1, 2, 0)),
       {"main": ((2, 3, 4),)}),
    Op("unsqueeze0", lambda L, a: a.unsqueeze(0), lambda a: a[None],
       {"main": ((2, 3),), "zero_d": ((),), "empty": ((0, 3),)}),
    Op("unsqueeze_neg", lambda L, a: L.unsqueeze(a, -1), lambda a: a[..., None],
       {"main": ((2, 3),), "zero_d": ((),)}),
    Op("unsqueeze_mid", lambda L, a: a.unsqueeze(1), lambda a: a[:, None],
       {"main": ((2, 3),)}),
    Op("squeeze_all", lambda L, a: a.squeeze(), np.squeeze,
       {"main": ((2, 1, 3, 1),), "zero_d": ((),), "empty": ((0, 1, 3),), "ones": ((1, 1),)}),
    Op("squeeze_dim", lambda L, a: a.squeeze(1), lambda a: np.squeeze(a, 1),
       {"main": ((2, 1, 3),), "empty": ((0, 1),)}),
    Op("squeeze_neg", lambda L, a: L.squeeze(a, -1), lambda a: np.squeeze(a, -1),
       {"main": ((2, 3, 1),)}),
    Op("squeeze_not_one", lambda L, a: a.squeeze(0), lambda a: a, {"main": ((2, 3),)}),
    Op("squeeze_tuple", lambda L, a: a.squeeze((1, 3)), lambda a: np.squeeze(a, (1, 3)),
       {"main": ((2, 1, 3, 1),)}),
    Op("expand", lambda L, a: a.expand(2, 3, 4), lambda a: np.broadcast_to(a, (2, 3, 4)),
       {"main": ((3, 1),), "zero_d": ((),)}),
    Op("expand_minus1", lambda L, a: a.expand(-1, 4), lambda a: np.broadcast_to(a, (3, 4)),
       {"main": ((3, 1),)}),
    Op("expand_empty", lambda L, a: a.expand(0, 4), lambda a: np.broadcast_to(a, (0, 4)),
       {"empty": ((0, 1),)}),
    # ----- indexing -------------------------------------------------------------------------
    Op("index_basic", lambda L, a: a[1, 1:3, ::2], lambda a: a[1, 1:3, ::2],
       {"main": ((3, 4, 5),)}),
    Op("index_int", lambda L, a: a[-1], lambda a: a[-1], {"main": ((3, 4),)}),
    Op("index_ellipsis", lambda L, a: a[..., 0], lambda a: a[..., 0],
       {"main": ((2, 3, 4),), "empty": ((0, 3),)}),
    Op("index_none", lambda L, a: a[:, None, 1:], lambda a: a[:, None, 1:],
       {"main": ((2, 3),), "empty": ((0, 3),)}),
    Op("index_step_neg_start", lambda L, a: a[-2:, ::3], lambda a: a[-2:, ::3],
       {"main": ((3, 7),)}),
    Op("index_array_repeated", lambda L, a: a[L.tensor(IDX_REPEATED)],
       lambda a: a[IDX_REPEATED], {"main": ((3, 4),), "vector": ((3,),)}),
    Op("index_array_cols", lambda L, a: a[:, L.tensor(IDX_REPEATED)],
       lambda a: a[:, IDX_REPEATED], {"main": ((2, 3),)}),
    Op("index_array_2d", lambda L, a: a[L.tensor(IDX_2D)], lambda a: a[IDX_2D],
       {"main": ((3, 4),)}),
    Op("index_array_negative", lambda L, a: a[L.tensor(IDX_NEG)], lambda a: a[IDX_NEG],
       {"main": ((3, 2),)}),
    Op("index_array_empty", lambda L, a: a[L.tensor(np.zeros(0, dtype=np.int64))],
       lambda a: a[np.zeros(0, dtype=np.int64)], {"empty": ((3, 4),)}),
    Op("index_array_pairs", lambda L, a: a[L.tensor([0, 0, 2]), L.tensor([1, 1, 3])],
       lambda a: a[[0, 0, 2], [1, 1, 3]], {"main": ((3, 4),)}),
    Op("index_python_list", lambda L, a: a[[2, 0, 2]], lambda a: a[[2, 0, 2]],
       {"main": ((3, 4),)}),
    Op("index_mask", lambda L, a: a[L.tensor(MASK)], lambda a: a[MASK], {"main": ((3, 4),)}),
    Op("index_row_mask", lambda L, a: a[L.tensor(ROW_MASK)], lambda a: a[ROW_MASK],
       {"main": ((3, 4),)}),
    Op("index_mask_none", lambda L, a: a[L.tensor(np.zeros((3, 4), dtype=bool))],
       lambda a: a[np.zeros((3, 4), dtype=bool)], {"empty": ((3, 4),)}),
    # ----- joining ----------------------------------------------------------------------------
    Op("cat0", lambda L, a, b: L.cat([a, b]), lambda a, b: np.concatenate([a, b]),
       {"main": ((2, 3), (4, 3)), "empty": ((0, 3), (2, 3)), "vector": ((2,), (3,))}),
    Op("cat1", lambda L, a, b: L.cat((a, b), dim=1), lambda a, b: np.concatenate([a, b], 1),
       {"main": ((2, 3), (2, 1))}),
    Op("cat_neg", lambda L, a, b: L.cat([a, b], -1), lambda a, b: np.concatenate([a, b], -1),
       {"main": ((2, 3, 1), (2, 3, 2))}),
    Op("cat_reuse", lambda L, a, b: L.cat([a, b, a], 1),
       lambda a, b: np.concatenate([a, b, a], 1), {"main": ((2, 3), (2, 2))}),
    Op("stack0", lambda L, a, b: L.stack([a, b]), lambda a, b: np.stack([a, b]),
       {"main": ((2, 3), (2, 3)), "zero_d": ((), ()), "empty": ((0, 3), (0, 3))}),
    Op("stack_mid", lambda L, a, b: L.stack((a, b), dim=1), lambda a, b: np.stack([a, b], 1),
       {"main": ((2, 3), (2, 3))}),
    Op("stack_neg", lambda L, a, b, c: L.stack([a, b, c], -1),
       lambda a, b, c: np.stack([a, b, c], -1), {"main": ((2, 3), (2, 3), (2, 3))}),
    # ----- elementwise selection --------------------------------------------------------------
    Op("maximum", lambda L, a, b: L.maximum(a, b), np.maximum, BINARY),
    Op("minimum", lambda L, a, b: L.minimum(a, b), np.minimum, BINARY),
    Op("max_binary", lambda L, a, b: a.max(b), np.maximum, {"main": BINARY["main"]}),
    Op("where", lambda L, a, b: L.where(a > 0, a, b), lambda a, b: np.where(a > 0, a, b),
       BINARY),
    Op("where_scalar", lambda L, a: L.where(a > 0, a, 0.0), lambda a: np.where(a > 0, a, 0.0),
       {"main": ((3, 4),), "zero_d": ((),)}),
]

OPS_BY_NAME = {op.name: op for op in OPS}
CASES = [pytest.param(op, case, id=f"{op.name}-{case}") for op in OPS for case in op.cases]
NONEMPTY_CASES = [p for p in CASES
                  if all(0 not in s for s in p.values[0].cases[p.values[1]])
                  and not p.values[1].startswith("empty")]


def _mg_inputs(arrays, dtype=mg.float64):
    return [mg.tensor(a, dtype=dtype, requires_grad=True) for a in arrays]


def _upstream(shape, seed=1):
    return np.random.default_rng(seed).standard_normal(tuple(shape))


def _forward_backward(lib, op, arrays, dtype_name):
    """Run ``op`` in ``lib`` on copies of ``arrays`` and backpropagate a fixed random upstream
    gradient; return (output values, output dtype name, [input gradients])."""
    dtype = getattr(lib, dtype_name)
    xs = [lib.tensor(a, dtype=dtype, requires_grad=True) for a in arrays]
    out = op.fn(lib, *xs)
    upstream = _upstream(out.shape)
    out.backward(lib.tensor(upstream, dtype=out.dtype))
    grads = []
    for x in xs:
        assert x.grad is not None, "every input of the table's ops reaches the output"
        grads.append((np.array(x.grad.detach().numpy() if lib is not mg else x.grad.numpy()),
                      str(x.grad.dtype).split(".")[-1]))
    values = out.detach().numpy() if lib is not mg else out.numpy()
    return np.array(values), str(out.dtype).split(".")[-1], grads


@pytest.mark.parametrize("op, case", CASES)
def test_forward_matches_numpy(backend, op, case):
    arrays = op.inputs(case)
    out = op.fn(mg, *_mg_inputs(arrays))
    expected = np.asarray(op.ref(*arrays))
    assert isinstance(out, mg.Tensor)
    assert tuple(out.shape) == expected.shape
    assert out.dtype == mg.float64
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12, atol=1e-12)
    assert out.requires_grad and out.grad_fn is not None


@pytest.mark.parametrize("op, case", NONEMPTY_CASES)
def test_gradcheck(backend, op, case):
    xs = _mg_inputs(op.inputs(case))
    assert gradcheck(lambda *t: op.fn(mg, *t), xs)


@pytest.mark.parametrize("op, case", NONEMPTY_CASES)
def test_gradgradcheck(backend, op, case):
    """Second derivatives (every backward formula differentiated once more, under
    create_graph) against finite differences of the first."""
    xs = _mg_inputs(op.inputs(case))
    assert gradgradcheck(lambda *t: op.fn(mg, *t), xs)


@pytest.mark.parametrize("op, case", NONEMPTY_CASES)
def test_second_derivative_matches_torch(backend, op, case):
    """d/dx of (v . d out/dx): the double-backward graph, compared with PyTorch's."""
    torch = pytest.importorskip("torch")
    arrays = op.inputs(case)

    def second(lib):
        xs = [lib.tensor(a, dtype=lib.float64, requires_grad=True) for a in arrays]
        out = op.fn(lib, *xs)
        v = lib.tensor(_upstream(out.shape), dtype=lib.float64)
        grads = lib.autograd.grad(out, xs, v, create_graph=True, allow_unused=True)
        total = sum((g * g).sum() for g in grads if g is not None and g.requires_grad)
        if not isinstance(total, lib.Tensor):
            return [None] * len(xs)
        seconds = lib.autograd.grad(total, xs, allow_unused=True)
        return [None if g is None else np.array(g.detach().numpy(force=True)) for g in seconds]

    for got, want in zip(second(mg), second(torch)):
        if want is None or got is None:  # one of them found no path: the other's is zero
            other = want if got is None else got
            assert other is None or not np.any(other)
            continue
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("op, case", CASES)
def test_matches_torch(backend, op, case, dtype):
    torch = pytest.importorskip("torch")
    arrays = op.inputs(case)
    got_values, got_dtype, got_grads = _forward_backward(mg, op, arrays, dtype)
    want_values, want_dtype, want_grads = _forward_backward(torch, op, arrays, dtype)
    tol = {"rtol": 1e-10, "atol": 1e-12} if dtype == "float64" else {"rtol": 2e-5, "atol": 2e-6}
    assert got_dtype == want_dtype
    assert got_values.shape == want_values.shape
    np.testing.assert_allclose(got_values, want_values, **tol)
    for (got, got_dt), (want, want_dt) in zip(got_grads, want_grads):
        assert got_dt == want_dt == dtype
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, **tol)


def _reuse_graph(lib, op, xs):
    """The op's output used three times, and its inputs used by two calls of the op."""
    out = op.fn(lib, *xs)
    return (out * out).sum() + out.sum() * 0.5 + op.fn(lib, *xs).sum()


@pytest.mark.parametrize("op", [pytest.param(op, id=op.name) for op in OPS
                                if any(c in op.cases for c in ("main", "2d_2d"))])
def test_value_used_several_times(backend, op):
    torch = pytest.importorskip("torch")
    case = "main" if "main" in op.cases else "2d_2d"
    arrays = op.inputs(case)
    xs = _mg_inputs(arrays)
    _reuse_graph(mg, op, xs).backward()
    txs = [torch.tensor(a, requires_grad=True) for a in arrays]
    _reuse_graph(torch, op, txs).backward()
    for x, tx in zip(xs, txs):
        np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-10, atol=1e-12)
    assert gradcheck(lambda *t: _reuse_graph(mg, op, t), _mg_inputs(arrays))


BINARY_SAME_SHAPE = [pytest.param(op, id=op.name) for op in OPS
                     if op.cases.get("main") == ((2, 3), (2, 3))]


@pytest.mark.parametrize("op", BINARY_SAME_SHAPE)
def test_same_tensor_on_both_sides(backend, op):
    """f(x, x): both input slots route gradient into one leaf, and the two contributions add."""
    torch = pytest.importorskip("torch")
    a = positive(np.random.default_rng(3), (2, 3))
    x = mg.tensor(a, dtype=mg.float64, requires_grad=True)
    op.fn(mg, x, x).sum().backward()
    tx = torch.tensor(a, requires_grad=True)
    op.fn(torch, tx, tx).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-10, atol=1e-12)


# ---------------------------------------------------------------------------------------------
# Hand-derived gradients for the rules that are easiest to get subtly wrong.
# ---------------------------------------------------------------------------------------------


def test_repeated_integer_index_gradients_add(backend):
    x = mg.tensor([10.0, 20.0, 30.0], requires_grad=True)
    x[mg.tensor([2, 0, 2, 2])].sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 0.0, 3.0])


def test_broadcast_gradient_is_summed_to_input_shape(backend):
    a = mg.tensor([[1.0], [2.0]], requires_grad=True)          # (2, 1)
    b = mg.tensor([10.0, 20.0, 30.0], requires_grad=True)       # (3,)
    (a * b).sum().backward()                                    # (2, 3)
    np.testing.assert_allclose(a.grad.numpy(), [[60.0], [60.0]])
    np.testing.assert_allclose(b.grad.numpy(), [3.0, 3.0, 3.0])


@pytest.mark.parametrize("make", [
    lambda L, x: x.max(),
    lambda L, x: x.amax(1),
    lambda L, x: L.maximum(x, L.tensor([[2.0, 2.0, 2.0], [1.0, 1.0, 1.0]], dtype=L.float64)),
    lambda L, x: x.clamp(1.0, 2.0),
    lambda L, x: x.abs(),
    lambda L, x: x.relu(),
    lambda L, x: x.max(1).values,
], ids=["max_all", "amax", "maximum", "clamp", "abs", "relu", "max_dim"])
def test_tie_and_kink_conventions_match_torch(backend, make):
    """At ties (max) and kinks (abs and relu at 0, clamp at its bounds) the gradient is a
    convention; PyTorch's is the contract."""
    torch = pytest.importorskip("torch")
    a = np.array([[2.0, 0.0, 2.0], [1.0, 2.0, 1.0]])
    x = mg.tensor(a, dtype=mg.float64, requires_grad=True)
    tx = torch.tensor(a, requires_grad=True)
    out, tout = make(mg, x), make(torch, tx)
    upstream = _upstream(tout.shape)
    out.backward(mg.tensor(upstream))
    tout.backward(torch.tensor(upstream))
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("dim, keepdim", [(None, False), (0, False), (1, False), (-1, True),
                                          (1, True)])
def test_argmax_matches_numpy_and_torch(backend, dim, keepdim):
    torch = pytest.importorskip("torch")
    a = np.array([[1.0, 5.0, 5.0, -2.0], [7.0, 0.0, 7.0, 3.0], [0.5, 0.5, 0.5, 0.5]])
    got = mg.tensor(a).argmax(dim, keepdim) if dim is not None else mg.tensor(a).argmax()
    want = torch.tensor(a).argmax(dim, keepdim) if dim is not None else torch.tensor(a).argmax()
    assert got.dtype == mg.int64
    assert not got.requires_grad
    np.testing.assert_array_equal(got.numpy(), want.numpy())
    if dim is not None:
        np.testing.assert_array_equal(got.numpy(), np.argmax(a, dim, keepdims=keepdim))
    assert mg.argmax(mg.tensor(a), 1).tolist() == [1, 0, 0]


def test_argmax_is_not_differentiable(backend):
    x = mg.tensor([[1.0, 3.0], [4.0, 2.0]], requires_grad=True)
    idx = x.argmax(1)
    assert not idx.requires_grad and idx.grad_fn is None
    values = x.max(1)
    np.testing.assert_array_equal(values.indices.numpy(), [1, 0])
    assert values.indices.dtype == mg.int64


def test_reductions_of_empty_tensors_raise_like_torch(backend):
    torch = pytest.importorskip("torch")
    for fn in (lambda L, t: t.max(), lambda L, t: t.amax(0), lambda L, t: t.argmax(),
               lambda L, t: t.max(0)):
        with pytest.raises((RuntimeError, IndexError)):
            fn(torch, torch.zeros(0, 3))
        with pytest.raises((RuntimeError, IndexError)):
            fn(mg, mg.zeros(0, 3))


def test_non_float_inputs_to_float_functions_give_float32_like_torch(backend):
    torch = pytest.importorskip("torch")
    for name in ("exp", "log", "sqrt", "sigmoid", "tanh"):
        got = getattr(mg.tensor([1, 2, 3]), name)()
        want = getattr(torch.tensor([1, 2, 3]), name)()
        assert str(got.dtype).split(".")[-1] == str(want.dtype).split(".")[-1]
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6)


def test_op_table_covers_api(backend):
    """Guard against the table silently losing a row for an op in API.md."""
    names = set(OPS_BY_NAME)
    for required in ("add", "sub", "mul", "div", "pow", "neg", "matmul", "exp", "log", "sqrt",
                     "abs", "clamp", "clamp_min", "clamp_max", "relu", "sigmoid", "tanh",
                     "sum_all", "mean_all", "max_all", "amax_dim", "max_dim_values", "reshape",
                     "view_flat", "flatten", "transpose", "permute", "unsqueeze0", "squeeze_all",
                     "squeeze_dim", "expand", "index_basic", "index_array_repeated",
                     "index_mask", "cat0", "stack0", "T", "maximum", "minimum", "where"):
        assert required in names
    assert set(OPS_BY_NAME["matmul"].cases) >= {"1d_1d", "1d_2d", "2d_1d", "2d_2d",
                                                "batched_bcast"}
