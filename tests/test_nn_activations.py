"""The activations beyond ReLU, the dropout family, one_hot and the distances, against PyTorch.

One table, ``ROWS``: each row is a function ``fn(lib, *tensors)`` written once against the
PyTorch API (it runs unchanged with ``lib=minigrad`` and ``lib=torch``: ``nn.`` modules,
``F.`` functions, ``torch.*`` functions and Tensor methods), and named shape cases. For every
(row, case), on both kernel backends:

- forward values and dtype, and the gradient of a random upstream, match PyTorch in float32
  and float64 (0-d, empty and non-contiguous inputs included);
- gradients match finite differences (``gradcheck``) and so do second derivatives
  (``gradgradcheck``), in float64;
- second derivatives match PyTorch's double backward.

Then the rest of the contract, each checked against torch: module reprs, argument errors and
their exception types, in-place variants, PReLU's parameter and state_dict, RReLU's noise,
the dropout family's shape rules and warnings, one_hot.
"""
import warnings
from dataclasses import dataclass, field

import numpy as np
import pytest

import minigrad as mg
from minigrad.autograd import gradcheck, gradgradcheck

torch = pytest.importorskip("torch")

# ---------------------------------------------------------------------------------------------
# Inputs: values in (-4.5, 4.5), kept away from every kink the table uses (0, +-0.5, +-1,
# +-1.5 (softplus's threshold with beta=2), +-2, +-3, 6), so finite differences never straddle
# a jump of a derivative.
# ---------------------------------------------------------------------------------------------

KINKS = (0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 6.0)


def spread(rng, shape):
    v = rng.uniform(0.1, 4.5, size=shape)
    for kink in KINKS:
        v = np.where(np.abs(v - kink) < 0.06, v + 0.13, v)
    return v * rng.choice([-1.0, 1.0], size=shape)


def slopes(rng, shape):
    """PReLU weights: positive and negative slopes."""
    return rng.uniform(-0.5, 0.8, size=shape)


@dataclass
class Row:
    name: str
    fn: object            # fn(lib, *tensors) -> tensor, for lib in (minigrad, torch)
    cases: dict           # case name -> tuple of input shapes
    gens: tuple = field(default=(spread,))
    smooth: bool = True   # False: the gradient is not the derivative (skip finite differences)

    def inputs(self, case, seed=0):
        rng = np.random.default_rng(seed)
        shapes = self.cases[case]
        gens = self.gens + (self.gens[-1],) * (len(shapes) - len(self.gens))
        return [np.asarray(g(rng, s), dtype=np.float64) for g, s in zip(gens, shapes)]


def F(lib):
    return lib.nn.functional


UNARY = {"main": ((2, 3, 4),), "zero_d": ((),), "empty": ((0, 3),), "vector": ((7,),)}
UNARY_NO_SCALAR = {"main": ((2, 3, 4),), "empty": ((0, 3),), "vector": ((7,),)}

ROWS = [
    Row("gelu", lambda L, x: F(L).gelu(x), UNARY),
    Row("gelu_tanh", lambda L, x: F(L).gelu(x, approximate="tanh"), UNARY),
    Row("GELU_tanh", lambda L, x: L.nn.GELU("tanh")(x), UNARY),
    Row("silu", lambda L, x: F(L).silu(x), UNARY),
    Row("SiLU", lambda L, x: L.nn.SiLU()(x), UNARY),
    Row("mish", lambda L, x: F(L).mish(x), UNARY),
    Row("Mish", lambda L, x: L.nn.Mish()(x), UNARY),
    Row("elu", lambda L, x: F(L).elu(x), UNARY),
    Row("ELU_alpha", lambda L, x: L.nn.ELU(alpha=0.7)(x), UNARY),
    Row("selu", lambda L, x: F(L).selu(x), UNARY),
    Row("torch_selu", lambda L, x: L.selu(x), UNARY),
    Row("SELU", lambda L, x: L.nn.SELU()(x), UNARY),
    Row("celu", lambda L, x: F(L).celu(x, alpha=2.5), UNARY),
    Row("torch_celu", lambda L, x: L.celu(x, 0.6), UNARY),
    Row("CELU", lambda L, x: L.nn.CELU()(x), UNARY),
    Row("glu", lambda L, x: F(L).glu(x), {"main": ((3, 4),), "empty": ((0, 4),),
                                          "vector": ((6,),)}),
    Row("GLU_dim0", lambda L, x: L.nn.GLU(dim=0)(x), {"main": ((4, 3, 2),)}),
    Row("softplus", lambda L, x: F(L).softplus(x), UNARY),
    Row("softplus_beta_threshold", lambda L, x: F(L).softplus(x, beta=2.0, threshold=3.0),
        UNARY),
    Row("Softplus", lambda L, x: L.nn.Softplus(beta=0.5, threshold=1.0)(x), UNARY),
    Row("softsign", lambda L, x: F(L).softsign(x), UNARY),
    Row("Softsign", lambda L, x: L.nn.Softsign()(x), UNARY),
    Row("softmin", lambda L, x: F(L).softmin(x, dim=1), UNARY_NO_SCALAR | {"vector": ((5, 2),)}),
    Row("Softmin", lambda L, x: L.nn.Softmin(dim=-1)(x), UNARY),
    Row("Softmax2d", lambda L, x: L.nn.Softmax2d()(x), {"main": ((2, 3, 2, 2),),
                                                        "unbatched": ((3, 2, 4),),
                                                        "empty": ((0, 3, 2, 2),)}),
    Row("hardtanh", lambda L, x: F(L).hardtanh(x), UNARY),
    Row("Hardtanh", lambda L, x: L.nn.Hardtanh(-2.0, 3.0)(x), UNARY),
    Row("relu6", lambda L, x: F(L).relu6(x * 2.0), UNARY),
    Row("ReLU6", lambda L, x: L.nn.ReLU6()(x * 2.0), UNARY),
    Row("hardsigmoid", lambda L, x: F(L).hardsigmoid(x), UNARY),
    Row("Hardsigmoid", lambda L, x: L.nn.Hardsigmoid()(x), UNARY),
    Row("hardswish", lambda L, x: F(L).hardswish(x), UNARY),
    Row("Hardswish", lambda L, x: L.nn.Hardswish()(x), UNARY),
    Row("logsigmoid", lambda L, x: F(L).logsigmoid(x * 10.0), UNARY),
    Row("LogSigmoid", lambda L, x: L.nn.LogSigmoid()(x), UNARY),
    Row("prelu", lambda L, x, w: F(L).prelu(x, w), {"main": ((2, 3, 4), (3,)),
                                                   "shared": ((2, 3, 4), (1,)),
                                                   "zero_d": ((), (1,)),
                                                   "vector": ((5,), (1,)),
                                                   "empty": ((0, 3), (3,))},
        gens=(spread, slopes)),
    Row("torch_prelu", lambda L, x, w: L.prelu(x, w), {"main": ((4, 2), (2,))},
        gens=(spread, slopes)),
    Row("Tensor_prelu", lambda L, x, w: x.prelu(w), {"main": ((4, 2), (1,))},
        gens=(spread, slopes)),
    Row("rrelu_eval", lambda L, x: F(L).rrelu(x, 0.1, 0.3), UNARY),
    Row("RReLU_eval", lambda L, x: L.nn.RReLU().eval()(x), UNARY),
    Row("threshold", lambda L, x: F(L).threshold(x, 1.0, 20.0), UNARY),
    Row("torch_threshold", lambda L, x: L.threshold(x, -0.5, -3.0), UNARY),
    Row("Threshold", lambda L, x: L.nn.Threshold(0.0, 0.5)(x), UNARY),
    Row("tanhshrink", lambda L, x: F(L).tanhshrink(x), UNARY),
    Row("Tanhshrink", lambda L, x: L.nn.Tanhshrink()(x), UNARY),
    Row("softshrink", lambda L, x: F(L).softshrink(x), UNARY),
    Row("Softshrink", lambda L, x: L.nn.Softshrink(1.0)(x), UNARY),
    Row("hardshrink", lambda L, x: F(L).hardshrink(x), UNARY),
    Row("Hardshrink", lambda L, x: L.nn.Hardshrink(2.0)(x), UNARY),
    Row("torch_hardshrink", lambda L, x: L.hardshrink(x, 1.0), UNARY),
    Row("Tensor_hardshrink", lambda L, x: x.hardshrink(), UNARY),
    Row("cosine_similarity", lambda L, a, b: F(L).cosine_similarity(a, b),
        {"main": ((3, 4), (3, 4)), "bcast": ((2, 3, 4), (3, 1)), "empty": ((0, 3), (0, 3))}),
    Row("cosine_similarity_dim", lambda L, a, b: F(L).cosine_similarity(a, b, dim=-1, eps=1e-3),
        {"main": ((2, 3, 4), (4,)), "zero_d": ((), ())}),
    Row("torch_cosine_similarity", lambda L, a, b: L.cosine_similarity(a, b, 0),
        {"main": ((4, 3), (4, 3)), "vector": ((5,), (5,))}),
    # a norm below eps: the value uses the clamped norm, the gradient the unclamped one (as
    # PyTorch does), so this row is compared with torch but not with finite differences
    Row("cosine_similarity_clamped", lambda L, a, b: F(L).cosine_similarity(a * 0.1, b, 1, 0.5),
        {"main": ((3, 2), (3, 2))}, smooth=False),
    Row("pairwise_distance", lambda L, a, b: F(L).pairwise_distance(a, b),
        {"main": ((3, 4), (3, 4)), "bcast": ((3, 4), (4,)), "zero_d": ((), ()),
         "vector": ((5,), (5,)), "empty": ((0, 3), (0, 3))}),
    Row("pairwise_distance_p1_keepdim",
        lambda L, a, b: F(L).pairwise_distance(a, b, p=1.0, keepdim=True),
        {"main": ((3, 4), (3, 4))}),
    Row("torch_pairwise_distance", lambda L, a, b: L.pairwise_distance(a, b, 3.0, 1e-3),
        {"main": ((2, 3, 4), (2, 3, 4))}),
]

CASES = [pytest.param(row, case, id=f"{row.name}-{case}") for row in ROWS for case in row.cases]
NONEMPTY_CASES = [p for p in CASES if all(0 not in s for s in p.values[0].cases[p.values[1]])]
SMOOTH_CASES = [p for p in NONEMPTY_CASES if p.values[0].smooth]


def _upstream(shape, seed=1):
    return np.random.default_rng(seed).standard_normal(tuple(shape))


def _numpy(t):
    return np.array(t.detach().numpy(force=True))


def _forward_backward(lib, row, arrays, dtype_name, noncontiguous=False):
    """Run ``row`` in ``lib`` and backpropagate a fixed random upstream; return (values, dtype
    name, [input gradients]). ``noncontiguous``: every input is a transposed view of a leaf."""
    dtype = getattr(lib, dtype_name)
    if noncontiguous:
        leaves = [lib.tensor(np.ascontiguousarray(a.T), dtype=dtype, requires_grad=True)
                  for a in arrays]
        xs = [leaf.permute(*reversed(range(leaf.dim()))) for leaf in leaves]
    else:
        leaves = xs = [lib.tensor(a, dtype=dtype, requires_grad=True) for a in arrays]
    out = row.fn(lib, *xs)
    out.backward(lib.tensor(_upstream(out.shape), dtype=out.dtype))
    grads = [(_numpy(x.grad), str(x.grad.dtype).split(".")[-1]) for x in leaves]
    return _numpy(out), str(out.dtype).split(".")[-1], grads


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("row, case", CASES)
def test_matches_torch(backend, row, case, dtype):
    arrays = row.inputs(case)
    got_values, got_dtype, got_grads = _forward_backward(mg, row, arrays, dtype)
    want_values, want_dtype, want_grads = _forward_backward(torch, row, arrays, dtype)
    tol = {"rtol": 1e-10, "atol": 1e-12} if dtype == "float64" else {"rtol": 2e-5, "atol": 2e-6}
    assert got_dtype == want_dtype == dtype
    assert got_values.shape == want_values.shape
    np.testing.assert_allclose(got_values, want_values, **tol)
    for (got, got_dt), (want, want_dt) in zip(got_grads, want_grads):
        assert got_dt == want_dt == dtype
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, **tol)


@pytest.mark.parametrize("row", [pytest.param(r, id=r.name) for r in ROWS
                                 if "main" in r.cases])
def test_noncontiguous_inputs_match_torch(backend, row):
    arrays = row.inputs("main", seed=5)
    got_values, _, got_grads = _forward_backward(mg, row, arrays, "float64", True)
    want_values, _, want_grads = _forward_backward(torch, row, arrays, "float64", True)
    np.testing.assert_allclose(got_values, want_values, rtol=1e-10, atol=1e-12)
    for (got, _), (want, _) in zip(got_grads, want_grads):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def _mg_inputs(arrays):
    return [mg.tensor(a, dtype=mg.float64, requires_grad=True) for a in arrays]


@pytest.mark.parametrize("row, case", SMOOTH_CASES)
def test_gradcheck(backend, row, case):
    assert gradcheck(lambda *t: row.fn(mg, *t), _mg_inputs(row.inputs(case)))


@pytest.mark.parametrize("row, case", SMOOTH_CASES)
def test_gradgradcheck(backend, row, case):
    assert gradgradcheck(lambda *t: row.fn(mg, *t), _mg_inputs(row.inputs(case)))


@pytest.mark.parametrize("row, case", NONEMPTY_CASES)
def test_second_derivative_matches_torch(backend, row, case):
    """d/dx of |d out/dx . v|^2: the double-backward graph, compared with PyTorch's."""
    arrays = row.inputs(case)

    def second(lib):
        xs = [lib.tensor(a, dtype=lib.float64, requires_grad=True) for a in arrays]
        out = row.fn(lib, *xs)
        v = lib.tensor(_upstream(out.shape), dtype=lib.float64)
        grads = lib.autograd.grad(out, xs, v, create_graph=True, allow_unused=True)
        total = sum((g * g).sum() for g in grads if g is not None and g.requires_grad)
        if not isinstance(total, lib.Tensor):
            return [None] * len(xs)
        seconds = lib.autograd.grad(total, xs, allow_unused=True)
        return [None if g is None else _numpy(g) for g in seconds]

    try:
        wanted = second(torch)
    except RuntimeError as exc:  # torch has no double backward for this one (hardsigmoid):
        assert "is not implemented" in str(exc)  # a piecewise-linear function, so it is 0
        assert all(g is None or not np.any(g) for g in second(mg))
        return
    for got, want in zip(second(mg), wanted):
        if want is None or got is None:  # one of them found no path: the other's is zero
            other = want if got is None else got
            assert other is None or not np.any(other)
            continue
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-11)


# ---------------------------------------------------------------------------------------------
# Kinks, saturation and special values: the conventions are PyTorch's.
# ---------------------------------------------------------------------------------------------

SPECIAL = np.array([-30.0, -6.0, -3.0, -2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 6.0,
                    10.0, 20.0, 30.0, 100.0, np.nan, np.inf, -np.inf])

KINK_FUNCTIONS = {
    "gelu": lambda L, x: F(L).gelu(x),
    "gelu_tanh": lambda L, x: F(L).gelu(x, approximate="tanh"),
    "silu": lambda L, x: F(L).silu(x),
    "mish": lambda L, x: F(L).mish(x),
    "elu": lambda L, x: F(L).elu(x, 0.5),
    "selu": lambda L, x: F(L).selu(x),
    "celu": lambda L, x: F(L).celu(x, 2.0),
    "softplus": lambda L, x: F(L).softplus(x),
    "softplus_beta": lambda L, x: F(L).softplus(x, 2.0, 3.0),
    "hardtanh": lambda L, x: F(L).hardtanh(x),
    "relu6": lambda L, x: F(L).relu6(x),
    "hardsigmoid": lambda L, x: F(L).hardsigmoid(x),
    "hardswish": lambda L, x: F(L).hardswish(x),
    "logsigmoid": lambda L, x: F(L).logsigmoid(x),
    "softsign": lambda L, x: F(L).softsign(x),
    "tanhshrink": lambda L, x: F(L).tanhshrink(x),
    "threshold": lambda L, x: F(L).threshold(x, 1.0, -7.0),
    "softshrink": lambda L, x: F(L).softshrink(x),
    "hardshrink": lambda L, x: F(L).hardshrink(x),
    "rrelu_eval": lambda L, x: F(L).rrelu(x),
    "prelu": lambda L, x: F(L).prelu(x, L.tensor([0.3], dtype=x.dtype)),
}


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", sorted(KINK_FUNCTIONS))
def test_kinks_saturation_and_nonfinite_values_match_torch(backend, name, dtype):
    """Values and gradients exactly at the kinks (which side a tie falls on), far out in the
    saturated tails (no overflow, no NaN where torch is finite), and at NaN and +-inf."""
    fn = KINK_FUNCTIONS[name]

    def run(lib, values, strict, dtype=dtype):
        x = lib.tensor(values, dtype=getattr(lib, dtype), requires_grad=True)
        with warnings.catch_warnings():
            # finite inputs: no overflow warning from numpy (inf - inf, inf * 0 may warn)
            warnings.simplefilter("error" if strict else "ignore", RuntimeWarning)
            out = fn(lib, x)
            out.backward(lib.ones_like(out))
        return _numpy(out), _numpy(x.grad)

    run(mg, SPECIAL[np.isfinite(SPECIAL)], strict=True)
    oracle_dtype = dtype
    if (dtype == "float32" and name == "gelu"
            and torch.backends.cpu.get_cpu_capability() == "AVX512"):
        # PyTorch's AVX-512 float32 GELU evaluates erf with a coarser approximation than its
        # AVX2 and scalar kernels (gelu(-3) off by 1.3e-4 relative, gelu(inf) NaN): there its
        # float64 result, rounded to float32, is the oracle.
        oracle_dtype = "float64"
    got, got_grad = run(mg, SPECIAL, False)
    want, want_grad = (a.astype(got.dtype) for a in run(torch, SPECIAL, False, oracle_dtype))
    tol = {"rtol": 1e-12, "atol": 1e-12} if dtype == "float64" else {"rtol": 1e-5, "atol": 1e-6}
    np.testing.assert_allclose(got, want, **tol)
    finite = np.isfinite(SPECIAL)  # torch's gradient at +-inf and NaN is itself a convention
    np.testing.assert_allclose(got_grad[finite], want_grad[finite], **tol)


def test_gelu_exact_and_tanh_differ_but_stay_close():
    x = mg.linspace(-4, 4, 81, dtype=mg.float64)
    exact, approx = mg.nn.functional.gelu(x), mg.nn.functional.gelu(x, approximate="tanh")
    gap = np.abs(exact.numpy() - approx.numpy())
    assert 0 < gap.max() < 1e-3


# ---------------------------------------------------------------------------------------------
# Modules: repr, parameters, state_dict
# ---------------------------------------------------------------------------------------------

MODULES = [
    lambda nn: nn.GELU(), lambda nn: nn.GELU("tanh"), lambda nn: nn.GELU(approximate="none"),
    lambda nn: nn.SiLU(), lambda nn: nn.SiLU(inplace=True), lambda nn: nn.Mish(True),
    lambda nn: nn.ELU(), lambda nn: nn.ELU(alpha=0.5, inplace=True), lambda nn: nn.SELU(),
    lambda nn: nn.SELU(True), lambda nn: nn.CELU(), lambda nn: nn.CELU(2, True),
    lambda nn: nn.GLU(), lambda nn: nn.GLU(dim=0), lambda nn: nn.Softplus(),
    lambda nn: nn.Softplus(beta=2, threshold=5), lambda nn: nn.Softsign(),
    lambda nn: nn.Softmin(), lambda nn: nn.Softmin(dim=1), lambda nn: nn.Softmax2d(),
    lambda nn: nn.Hardtanh(), lambda nn: nn.Hardtanh(-2, 3, True), lambda nn: nn.ReLU6(),
    lambda nn: nn.ReLU6(inplace=True), lambda nn: nn.Hardsigmoid(),
    lambda nn: nn.Hardsigmoid(inplace=True), lambda nn: nn.Hardswish(),
    lambda nn: nn.Hardswish(True), lambda nn: nn.LogSigmoid(), lambda nn: nn.PReLU(),
    lambda nn: nn.PReLU(3, init=0.1), lambda nn: nn.RReLU(), lambda nn: nn.RReLU(0.1, 0.3, True),
    lambda nn: nn.Threshold(0.1, 20), lambda nn: nn.Threshold(0.5, 2.0, inplace=True),
    lambda nn: nn.Tanhshrink(), lambda nn: nn.Softshrink(), lambda nn: nn.Softshrink(1.5),
    lambda nn: nn.Hardshrink(), lambda nn: nn.Hardshrink(lambd=2),
    lambda nn: nn.Dropout1d(), lambda nn: nn.Dropout2d(0.2), lambda nn: nn.Dropout3d(0.3, True),
    lambda nn: nn.AlphaDropout(0.1), lambda nn: nn.FeatureAlphaDropout(p=0.25),
    lambda nn: nn.Sequential(nn.Linear(2, 3), nn.GELU(), nn.Dropout2d(), nn.PReLU(3)),
]


@pytest.mark.parametrize("make", MODULES)
def test_module_repr_and_attributes_match_torch(make):
    ours, theirs = make(mg.nn), make(torch.nn)
    assert repr(ours) == repr(theirs)
    assert ours.extra_repr() == theirs.extra_repr()
    for name in ("approximate", "inplace", "alpha", "dim", "beta", "threshold", "min_val",
                 "max_val", "lower", "upper", "value", "lambd", "num_parameters", "init", "p"):
        assert getattr(ours, name, None) == getattr(theirs, name, None), name
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]


def test_prelu_parameter_and_default_init_match_torch():
    ours, theirs = mg.nn.PReLU(4, init=0.1), torch.nn.PReLU(4, init=0.1)
    assert isinstance(ours.weight, mg.nn.Parameter)
    assert ours.weight.shape == (4,) and ours.weight.dtype == mg.float32
    np.testing.assert_array_equal(ours.weight.numpy(), _numpy(theirs.weight))
    assert mg.nn.PReLU(dtype=mg.float64).weight.dtype == mg.float64
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["weight"]


def test_prelu_state_dict_from_torch_loads_and_gives_torch_outputs_and_grads(tmp_path):
    theirs = torch.nn.PReLU(3)
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor([-0.2, 0.05, 0.7]))
    ours = mg.nn.PReLU(3)
    ours.load_state_dict({k: v.detach().numpy().copy() for k, v in theirs.state_dict().items()})
    a = spread(np.random.default_rng(2), (2, 3, 5)).astype(np.float32)
    x, tx = mg.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    out, tout = ours(x), theirs(tx)
    np.testing.assert_allclose(out.numpy(), _numpy(tout), rtol=1e-6)
    up = _upstream(out.shape).astype(np.float32)
    out.backward(mg.tensor(up))
    tout.backward(torch.tensor(up))
    np.testing.assert_allclose(ours.weight.grad.numpy(), _numpy(theirs.weight.grad), rtol=1e-5)
    np.testing.assert_allclose(x.grad.numpy(), _numpy(tx.grad), rtol=1e-6)
    # and back: minigrad's checkpoint loads into torch
    mg.save(ours.state_dict(), tmp_path / "prelu.mg")
    loaded = mg.load(tmp_path / "prelu.mg")
    fresh = torch.nn.PReLU(3)
    fresh.load_state_dict({k: torch.tensor(v.numpy()) for k, v in loaded.items()})
    np.testing.assert_array_equal(_numpy(fresh.weight), _numpy(theirs.weight))


def test_prelu_wrong_size_state_dict_is_refused():
    with pytest.raises(RuntimeError):
        torch.nn.PReLU(3).load_state_dict(torch.nn.PReLU(2).state_dict())
    with pytest.raises(RuntimeError):
        mg.nn.PReLU(3).load_state_dict(mg.nn.PReLU(2).state_dict())


# ---------------------------------------------------------------------------------------------
# Bad arguments: the exception type PyTorch raises.
# ---------------------------------------------------------------------------------------------

X34 = np.arange(12.0).reshape(3, 4) - 5.5

BAD_CALLS = {
    "gelu_approximate": lambda L, x: F(L).gelu(x, approximate="fast"),
    "gelu_positional_approximate": lambda L, x: F(L).gelu(x, "none"),
    "gelu_integer": lambda L, x: F(L).gelu(x.long()),
    "silu_integer": lambda L, x: F(L).silu(x.long()),
    "mish_integer": lambda L, x: F(L).mish(x.long()),
    "elu_integer": lambda L, x: F(L).elu(x.long()),
    "selu_integer": lambda L, x: L.selu(x.long()),
    "softplus_integer": lambda L, x: F(L).softplus(x.long()),
    "hardswish_integer": lambda L, x: F(L).hardswish(x.long()),
    "hardsigmoid_integer": lambda L, x: F(L).hardsigmoid(x.long()),
    "logsigmoid_integer": lambda L, x: F(L).logsigmoid(x.long()),
    "softshrink_integer": lambda L, x: F(L).softshrink(x.long()),
    "hardshrink_integer": lambda L, x: F(L).hardshrink(x.long()),
    "glu_integer": lambda L, x: F(L).glu(x.long()),
    "rrelu_integer": lambda L, x: F(L).rrelu(x.long()),
    "glu_odd": lambda L, x: F(L).glu(x, 0),
    "glu_scalar": lambda L, x: F(L).glu(x[0, 0]),
    "glu_dim_range": lambda L, x: F(L).glu(x, 2),
    "glu_dim_float": lambda L, x: F(L).glu(x, 1.5),
    "GLU_odd": lambda L, x: L.nn.GLU(0)(x),
    "hardtanh_bounds": lambda L, x: F(L).hardtanh(x, 2.0, 1.0),
    "Hardtanh_bounds": lambda L, x: L.nn.Hardtanh(1.0, 1.0),
    "softshrink_negative": lambda L, x: F(L).softshrink(x, -1.0),
    "Softshrink_negative": lambda L, x: L.nn.Softshrink(-0.5)(x),
    "celu_zero_alpha": lambda L, x: F(L).celu(x, alpha=0.0),
    "rrelu_bounds": lambda L, x: F(L).rrelu(x, 0.5, 0.1, training=True),
    "rrelu_bounds_eval": lambda L, x: F(L).rrelu(x, 0.5, 0.1),
    "prelu_channels": lambda L, x: F(L).prelu(x, L.ones(3)),
    "prelu_weight_2d": lambda L, x: F(L).prelu(x, L.ones(2, 2)),
    "prelu_scalar_input": lambda L, x: F(L).prelu(x[0, 0], L.ones(4)),
    "prelu_vector_input": lambda L, x: F(L).prelu(x[0], L.ones(4)),
    "prelu_dtype": lambda L, x: F(L).prelu(x, L.ones(4, dtype=L.float32)),
    "PReLU_negative": lambda L, x: L.nn.PReLU(-1),
    "PReLU_channels": lambda L, x: L.nn.PReLU(2)(x),
    "Softmax2d_2d": lambda L, x: L.nn.Softmax2d()(x),
    "Softmax2d_5d": lambda L, x: L.nn.Softmax2d()(x.reshape(1, 1, 1, 3, 4)),
    "softmin_dim": lambda L, x: F(L).softmin(x, 2),
    "threshold_missing_value": lambda L, x: F(L).threshold(x, 0.1),
    "elu_not_tensor": lambda L, x: F(L).elu([1.0, 2.0]),
    "elu_inplace_leaf": lambda L, x: F(L).elu(x.clone().requires_grad_(), inplace=True),
    "dropout1d_1d": lambda L, x: F(L).dropout1d(x[0]),
    "dropout1d_4d": lambda L, x: F(L).dropout1d(x.reshape(1, 1, 3, 4)),
    "dropout1d_p": lambda L, x: F(L).dropout1d(x, p=1.5),
    "dropout2d_p": lambda L, x: F(L).dropout2d(x, p=-0.1),
    "dropout3d_p": lambda L, x: F(L).dropout3d(x, p=2),
    "Dropout2d_p": lambda L, x: L.nn.Dropout2d(p=1.1),
    "AlphaDropout_p": lambda L, x: L.nn.AlphaDropout(p=-1),
    "alpha_dropout_p": lambda L, x: F(L).alpha_dropout(x, 1.5, True),
    "alpha_dropout_integer": lambda L, x: F(L).alpha_dropout(x.long(), 0.5, True),
    "dropout2d_integer": lambda L, x: F(L).dropout2d(x.long().reshape(1, 1, 3, 4)),
    "feature_alpha_dropout_1d": lambda L, x: F(L).feature_alpha_dropout(x[0], 0.5, True),
    "torch_alpha_dropout_p": lambda L, x: L.alpha_dropout(x, 2.0, True),
    "torch_feature_alpha_dropout_p": lambda L, x: L.feature_alpha_dropout(x, -1.0, True),
    "torch_dropout_p": lambda L, x: L.dropout(x, 1.5, True),
    "torch_dropout__p": lambda L, x: L.dropout_(x, 1.5, True),
    "torch_feature_dropout_p": lambda L, x: L.feature_dropout(x, 2.0, False),
    "torch_feature_dropout_1d": lambda L, x: L.feature_dropout(x[0], 0.5, True),
    "one_hot_float": lambda L, x: F(L).one_hot(x),
    "one_hot_int32": lambda L, x: F(L).one_hot(L.tensor([0, 1], dtype=L.int32)),
    "one_hot_negative": lambda L, x: F(L).one_hot(L.tensor([0, -1])),
    "one_hot_too_large": lambda L, x: F(L).one_hot(L.tensor([0, 3]), 3),
    "one_hot_zero_classes": lambda L, x: F(L).one_hot(L.tensor([0, 1]), 0),
    "one_hot_empty_infer": lambda L, x: F(L).one_hot(L.tensor([], dtype=L.int64)),
    "one_hot_empty_zero": lambda L, x: F(L).one_hot(L.tensor([], dtype=L.int64), 0),
    "cosine_similarity_shapes": lambda L, x: F(L).cosine_similarity(x, L.ones(3, 5)),
    "cosine_similarity_dim": lambda L, x: F(L).cosine_similarity(x, x, dim=2),
    "cosine_similarity_scalar_dim": lambda L, x: F(L).cosine_similarity(x[0, 0], x[0, 0]),
    "cosine_similarity_integer": lambda L, x: F(L).cosine_similarity(L.arange(3),
                                                                     L.arange(3)),
    "pairwise_distance_shapes": lambda L, x: F(L).pairwise_distance(x, L.ones(3)),
}


def _raised(fn):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fn()
    except Exception as exc:  # noqa: BLE001 (the type is what is compared)
        return exc
    return None


@pytest.mark.parametrize("name", sorted(BAD_CALLS))
def test_bad_arguments_raise_torchs_exception_type(name):
    call = BAD_CALLS[name]
    want = _raised(lambda: call(torch, torch.tensor(X34)))
    got = _raised(lambda: call(mg, mg.tensor(X34)))
    assert want is not None, "the table only lists calls torch refuses"
    assert got is not None, f"minigrad accepted a call torch refuses with {want!r}"
    assert isinstance(got, type(want)), (got, want)


def test_bad_argument_messages_name_the_values():
    x = mg.tensor(X34)
    with pytest.raises(RuntimeError, match="dimension 0 is size 3"):
        mg.nn.functional.glu(x, 0)
    with pytest.raises(RuntimeError, match="parameter numbers = 3 and channel size = 4"):
        mg.nn.functional.prelu(x, mg.ones(3, dtype=mg.float64))
    with pytest.raises(ValueError, match="got 2D instead"):
        mg.nn.Softmax2d()(x)
    with pytest.raises(NotImplementedError, match="'Long'"):
        mg.nn.functional.gelu(x.long())


# ---------------------------------------------------------------------------------------------
# Integer inputs that PyTorch accepts keep its dtype rules.
# ---------------------------------------------------------------------------------------------

INTEGER_OK = {
    "hardtanh": lambda L, x: F(L).hardtanh(x),
    "relu6": lambda L, x: F(L).relu6(x),
    "threshold": lambda L, x: F(L).threshold(x, 1, 7),
    "threshold_float_args": lambda L, x: F(L).threshold(x, 1.5, 7.5),
    "softsign": lambda L, x: F(L).softsign(x),
    "tanhshrink": lambda L, x: F(L).tanhshrink(x),
    "one_hot": lambda L, x: F(L).one_hot(x.abs()),
    "one_hot_classes": lambda L, x: F(L).one_hot(x.abs(), 9),
    "one_hot_0d": lambda L, x: F(L).one_hot(x[3]),
    "pairwise_distance": lambda L, x: F(L).pairwise_distance(x, x.flip(0)),
}


@pytest.mark.parametrize("name", sorted(INTEGER_OK))
def test_integer_inputs_match_torch(name):
    a = np.array([-3, -1, 0, 1, 2, 4, 8])
    out, tout = INTEGER_OK[name](mg, mg.tensor(a)), INTEGER_OK[name](torch, torch.tensor(a))
    assert str(out.dtype).split(".")[-1] == str(tout.dtype).split(".")[-1]
    np.testing.assert_allclose(out.numpy(), tout.numpy(), rtol=1e-6)


def test_one_hot_matches_torch_for_shapes_and_empty_inputs():
    for data, classes in [([[0, 2], [1, 1]], -1), ([3], 5), (np.zeros((0, 2), np.int64), 4),
                          (np.arange(6).reshape(2, 3), -1)]:
        a = np.asarray(data, dtype=np.int64)
        out = mg.nn.functional.one_hot(mg.tensor(a), classes)
        tout = torch.nn.functional.one_hot(torch.tensor(a), classes)
        assert out.dtype == mg.int64 and tuple(out.shape) == tuple(tout.shape)
        np.testing.assert_array_equal(out.numpy(), tout.numpy())
    assert mg.nn.functional.one_hot(mg.tensor([1]), num_classes=3).tolist() == [[0, 1, 0]]


# ---------------------------------------------------------------------------------------------
# In-place variants
# ---------------------------------------------------------------------------------------------

INPLACE = {
    "elu": lambda L, x: F(L).elu(x, 0.5, inplace=True),
    "elu_": lambda L, x: F(L).elu_(x),
    "selu": lambda L, x: F(L).selu(x, True),
    "torch_selu_": lambda L, x: L.selu_(x),
    "celu": lambda L, x: F(L).celu(x, 2.0, inplace=True),
    "torch_celu_": lambda L, x: L.celu_(x, 0.5),
    "silu": lambda L, x: F(L).silu(x, inplace=True),
    "mish": lambda L, x: F(L).mish(x, inplace=True),
    "hardswish": lambda L, x: F(L).hardswish(x, inplace=True),
    "hardsigmoid": lambda L, x: F(L).hardsigmoid(x, inplace=True),
    "hardtanh": lambda L, x: F(L).hardtanh(x, -2.0, 2.0, inplace=True),
    "hardtanh_": lambda L, x: F(L).hardtanh_(x),
    "relu6": lambda L, x: F(L).relu6(x, inplace=True),
    "relu_": lambda L, x: F(L).relu_(x),
    "leaky_relu_": lambda L, x: F(L).leaky_relu_(x, 0.2),
    "threshold": lambda L, x: F(L).threshold(x, 0.5, -1.0, inplace=True),
    "threshold_": lambda L, x: F(L).threshold_(x, 0.5, -1.0),
    "torch_threshold_": lambda L, x: L.threshold_(x, 0.5, -1.0),
    "rrelu_eval": lambda L, x: F(L).rrelu(x, inplace=True),
    "torch_rrelu_": lambda L, x: L.rrelu_(x, 0.1, 0.2),
    "ELU_module": lambda L, x: L.nn.ELU(inplace=True)(x),
    "ReLU6_module": lambda L, x: L.nn.ReLU6(True)(x),
    "Threshold_module": lambda L, x: L.nn.Threshold(0.1, 5.0, True)(x),
}


@pytest.mark.parametrize("name", sorted(INPLACE))
def test_inplace_variants_write_into_the_input_and_backpropagate_like_torch(backend, name):
    fn = INPLACE[name]
    a = spread(np.random.default_rng(4), (3, 4))

    def run(lib):
        leaf = lib.tensor(a, dtype=lib.float64, requires_grad=True)
        x = leaf * 1.0  # a non-leaf: in-place is allowed on it
        out = fn(lib, x)
        assert out is x
        (out * lib.tensor(_upstream((3, 4)))).sum().backward()
        return _numpy(x), _numpy(leaf.grad)

    (got, got_grad), (want, want_grad) = run(mg), run(torch)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(got_grad, want_grad, rtol=1e-12, atol=1e-12)


def test_inplace_without_grad_changes_the_tensor():
    x = mg.tensor([-1.0, 0.5, 2.0])
    y = mg.nn.functional.hardtanh(x, inplace=True)
    assert y is x
    assert x.tolist() == [-1.0, 0.5, 1.0]


# ---------------------------------------------------------------------------------------------
# RReLU: random slopes in training, the mean slope in evaluation.
# ---------------------------------------------------------------------------------------------


def test_rrelu_training_slopes_are_uniform_per_element_and_are_the_gradient():
    lower, upper = 0.1, 0.3
    a = spread(np.random.default_rng(7), (200, 50))
    x = mg.tensor(a, requires_grad=True)
    out = mg.nn.functional.rrelu(x, lower, upper, training=True)
    out.sum().backward()
    negative = a <= 0
    np.testing.assert_array_equal(out.numpy()[~negative], a[~negative])
    slope = out.numpy()[negative] / a[negative]
    assert slope.min() >= lower and slope.max() <= upper
    assert abs(slope.mean() - 0.2) < 0.005          # U(0.1, 0.3): mean 0.2
    assert abs(slope.std() - 0.2 / np.sqrt(12)) < 0.005
    assert len(np.unique(slope)) > 0.99 * slope.size  # one draw per element
    np.testing.assert_allclose(x.grad.numpy()[negative], slope, rtol=1e-12)
    np.testing.assert_array_equal(x.grad.numpy()[~negative], 1.0)


def test_rrelu_module_is_random_in_training_and_fixed_in_eval():
    module = mg.nn.RReLU(0.1, 0.3)
    x = mg.tensor(-np.ones((4, 100)))
    first, second = module(x).numpy(), module(x).numpy()
    assert not np.array_equal(first, second)
    module.eval()
    np.testing.assert_allclose(module(x).numpy(), -0.2)
    tmodule = torch.nn.RReLU(0.1, 0.3).eval()
    np.testing.assert_allclose(module(x).numpy(), tmodule(torch.tensor(x.numpy())).numpy())


def test_rrelu_is_reproducible_under_manual_seed():
    x = mg.tensor(-np.ones(20))
    mg.manual_seed(3)
    first = mg.nn.functional.rrelu(x, training=True).numpy()
    mg.manual_seed(3)
    np.testing.assert_array_equal(mg.nn.functional.rrelu(x, training=True).numpy(), first)


# ---------------------------------------------------------------------------------------------
# Dropout family
# ---------------------------------------------------------------------------------------------


def _channels_all_zero_or_scaled(out, x, p, channel_axes):
    """Every (sample, channel) slice is either all zero or x / (1 - p)."""
    out, x = out.reshape(channel_axes + (-1,)), x.reshape(channel_axes + (-1,))
    zero = np.all(out == 0, axis=-1)
    scaled = np.all(np.isclose(out, x / (1 - p)), axis=-1)
    assert np.all(zero | scaled)
    return zero


@pytest.mark.parametrize("fn, shape, channel_axes", [
    ("dropout1d", (8, 16, 5), (8, 16)),
    ("dropout1d", (16, 5), (16,)),           # unbatched (C, L)
    ("dropout2d", (8, 16, 3, 3), (8, 16)),
    ("dropout3d", (4, 16, 2, 2, 2), (4, 16)),
    ("dropout3d", (16, 2, 2, 2), (16,)),     # unbatched (C, D, H, W)
])
def test_channel_dropout_zeroes_whole_channels(fn, shape, channel_axes):
    a = np.random.default_rng(0).uniform(1, 2, size=shape)
    x = mg.tensor(a, requires_grad=True)
    out = getattr(mg.nn.functional, fn)(x, 0.5, training=True)
    assert tuple(out.shape) == shape and out.dtype == mg.float64
    zero = _channels_all_zero_or_scaled(out.numpy(), a, 0.5, channel_axes)
    assert 0.25 < zero.mean() < 0.75
    out.sum().backward()
    grad = x.grad.numpy().reshape(channel_axes + (-1,))
    np.testing.assert_array_equal(grad[zero], 0.0)
    np.testing.assert_allclose(grad[~zero], 2.0)


def test_dropout2d_on_3d_input_warns_and_drops_channels_of_n_c_l():
    a = np.random.default_rng(0).uniform(1, 2, size=(8, 16, 5))
    for lib in (torch, mg):
        with pytest.warns(UserWarning, match="Received a 3D input to dropout2d") as record:
            out = lib.nn.functional.dropout2d(lib.tensor(a), 0.5)
        assert len(record) == 1
        _channels_all_zero_or_scaled(_numpy(out), a, 0.5, (8, 16))


@pytest.mark.parametrize("fn, shape", [("dropout2d", (2, 3)), ("dropout2d", (1, 2, 3, 4, 5)),
                                       ("dropout3d", (2, 3, 4))])
def test_channel_dropout_of_unusual_rank_warns_like_torch(fn, shape):
    def messages(lib):
        with warnings.catch_warnings(record=True) as record:
            warnings.simplefilter("always")
            out = getattr(lib.nn.functional, fn)(lib.ones(*shape), 0.5)
        assert tuple(out.shape) == shape
        return [str(w.message) for w in record if issubclass(w.category, UserWarning)]

    assert messages(mg) == messages(torch) != []


@pytest.mark.parametrize("fn", ["dropout1d", "dropout2d", "dropout3d", "alpha_dropout",
                                "feature_alpha_dropout"])
def test_dropout_family_identity_in_eval_and_with_p_zero_and_zero_with_p_one(fn):
    shape = {"dropout1d": (2, 3, 4), "dropout3d": (2, 3, 2, 2, 2)}.get(fn, (2, 3, 4, 4))
    a = spread(np.random.default_rng(1), shape)
    f, tf = getattr(mg.nn.functional, fn), getattr(torch.nn.functional, fn)
    x = mg.tensor(a)
    np.testing.assert_array_equal(f(x, 0.5, training=False).numpy(), a)
    np.testing.assert_array_equal(f(x, 0.0, training=True).numpy(), a)
    out, tout = f(x, 1.0, training=True), tf(torch.tensor(a), 1.0, training=True)
    np.testing.assert_array_equal(out.numpy(), tout.numpy())
    np.testing.assert_array_equal(np.signbit(out.numpy()), np.signbit(tout.numpy()))


def test_dropout_family_keeps_empty_inputs():
    for fn, shape in [("dropout1d", (2, 0, 3)), ("dropout2d", (0, 3, 2, 2)),
                      ("alpha_dropout", (0, 4))]:
        out = getattr(mg.nn.functional, fn)(mg.ones(*shape), 0.5, training=True)
        assert tuple(out.shape) == shape


def test_alpha_dropout_uses_torchs_affine_values_and_keeps_mean_and_variance():
    p = 0.3
    ones_values = {}
    for lib in (mg, torch):
        out = lib.nn.functional.alpha_dropout(lib.ones(4000), p, training=True)
        ones_values[lib.__name__] = np.unique(np.round(_numpy(out), 6))
    np.testing.assert_allclose(ones_values["minigrad"], ones_values["torch"], rtol=1e-6)
    x = mg.randn(400000, dtype=mg.float64)
    out = mg.nn.functional.alpha_dropout(mg.nn.functional.selu(x), p, training=True)
    ref = mg.nn.functional.selu(x).numpy()
    assert abs(out.numpy().mean() - ref.mean()) < 0.01
    assert abs(out.numpy().std() - ref.std()) < 0.01


def test_feature_alpha_dropout_sets_whole_channels_to_one_value():
    out = mg.nn.functional.feature_alpha_dropout(mg.ones(6, 32, 3, 3), 0.5, training=True)
    per_channel = out.numpy().reshape(6, 32, -1)
    assert np.all(per_channel == per_channel[..., :1])
    assert len(np.unique(np.round(per_channel, 6))) == 2


def test_dropout_modules_follow_train_and_eval_and_gradients_flow():
    module = mg.nn.Dropout2d(0.5)
    x = mg.tensor(np.ones((4, 8, 2, 2)), requires_grad=True)
    out = module(x)
    assert set(np.unique(out.numpy())) <= {0.0, 2.0}
    out.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), out.numpy())
    module.eval()
    np.testing.assert_array_equal(module(x).numpy(), x.numpy())
    assert mg.nn.AlphaDropout(0.5).eval()(x) is not None


def test_dropout_inplace_writes_into_the_input():
    x = mg.ones(2, 8, 3)
    y = mg.nn.functional.dropout1d(x, 0.5, inplace=True)
    assert y is x and set(np.unique(x.numpy())) <= {0.0, 2.0}
    z = mg.ones(8, 3)
    assert mg.nn.functional.dropout1d(z, 0.5, inplace=True) is z and tuple(z.shape) == (8, 3)


def test_torch_namespace_dropouts():
    x = mg.ones(6, 32, 2)
    out = mg.feature_dropout(x, 0.5, True)
    _channels_all_zero_or_scaled(out.numpy(), x.numpy(), 0.5, (6, 32))
    assert mg.dropout(x, 0.5, False) is x
    for fn in (mg.dropout_, mg.feature_dropout_, mg.alpha_dropout_, mg.feature_alpha_dropout_):
        y = mg.ones(6, 32, 2)
        assert fn(y, 0.5, True) is y
        assert len(np.unique(y.numpy())) == 2  # kept and dropped values, written into y
    z = mg.tensor([-1.0, 2.0])
    assert mg.relu_(z) is z and z.tolist() == [0.0, 2.0]


# ---------------------------------------------------------------------------------------------
# cosine_similarity: PyTorch 2.13's normalise-first formula, at zero vectors too.
# ---------------------------------------------------------------------------------------------


def test_cosine_similarity_of_zero_and_tiny_vectors_matches_torch():
    a = np.array([[0.0, 0.0, 0.0], [1e-9, 0.0, 2e-9], [1.0, 2.0, 3.0], [1e30, 1e30, 0.0]])
    b = np.array([[1.0, 2.0, 3.0], [3.0, 1e-9, 1.0], [0.0, 0.0, 0.0], [1e30, -1e30, 1e30]])

    def run(lib):
        x = lib.tensor(a, requires_grad=True)
        y = lib.tensor(b, requires_grad=True)
        out = lib.nn.functional.cosine_similarity(x, y)
        out.backward(lib.tensor([1.0, -2.0, 0.5, 1.5], dtype=lib.float64))
        return _numpy(out), _numpy(x.grad), _numpy(y.grad)

    for got, want in zip(run(mg), run(torch)):
        assert np.all(np.isfinite(got))
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-300)


def test_cosine_similarity_stays_within_minus_one_and_one():
    a = np.full((1, 8), 1.0 / 3.0)
    out = mg.nn.functional.cosine_similarity(mg.tensor(a), mg.tensor(a))
    assert out.item() <= 1.0


def test_cosine_similarity_promotes_like_torch():
    a = np.ones((2, 3))
    out = mg.cosine_similarity(mg.tensor(a, dtype=mg.float32), mg.tensor(a))
    tout = torch.cosine_similarity(torch.tensor(a, dtype=torch.float32), torch.tensor(a))
    assert out.dtype == mg.float64 and tout.dtype == torch.float64
    assert mg.nn.functional.cosine_similarity(mg.arange(3.0), mg.arange(3), 0).dtype == \
        mg.float32


# ---------------------------------------------------------------------------------------------
# The exports
# ---------------------------------------------------------------------------------------------

NN_NAMES = ["GELU", "SiLU", "Mish", "ELU", "SELU", "CELU", "GLU", "Softplus", "Softsign",
            "Softmin", "Softmax2d", "Hardtanh", "ReLU6", "Hardsigmoid", "Hardswish",
            "LogSigmoid", "PReLU", "RReLU", "Threshold", "Tanhshrink", "Softshrink",
            "Hardshrink", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout",
            "FeatureAlphaDropout"]
F_NAMES = ["gelu", "silu", "mish", "elu", "elu_", "selu", "selu_", "celu", "celu_", "glu",
           "softplus", "softsign", "softmin", "hardtanh", "hardtanh_", "relu6", "hardsigmoid",
           "hardswish", "logsigmoid", "prelu", "rrelu", "rrelu_", "threshold", "threshold_",
           "tanhshrink", "softshrink", "hardshrink", "relu_", "leaky_relu_", "dropout1d",
           "dropout2d", "dropout3d", "alpha_dropout", "feature_alpha_dropout", "one_hot",
           "cosine_similarity", "pairwise_distance"]
TORCH_NAMES = ["selu", "selu_", "celu", "celu_", "prelu", "rrelu", "rrelu_", "threshold",
               "threshold_", "hardshrink", "cosine_similarity", "pairwise_distance",
               "alpha_dropout", "feature_alpha_dropout", "alpha_dropout_",
               "feature_alpha_dropout_", "dropout", "dropout_", "feature_dropout",
               "feature_dropout_", "relu_"]


def test_exports_exist_where_torch_has_them():
    for name in NN_NAMES:
        assert hasattr(torch.nn, name) and name in mg.nn.__all__, name
    for name in F_NAMES:
        assert hasattr(torch.nn.functional, name), name
        assert name in mg.nn.functional.__all__, name
    for name in TORCH_NAMES:
        assert hasattr(torch, name) and hasattr(mg, name), name
    for name in ("prelu", "hardshrink"):
        assert hasattr(torch.Tensor, name) and hasattr(mg.Tensor, name), name
