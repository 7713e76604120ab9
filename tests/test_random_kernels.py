"""The compiled random fills (_random.pyx) against their numpy twins in reference.py: the same
values bit for bit (the normal fill's Box-Muller within a few units in the last place: its log,
cos and sin come from different math libraries) and the generator left in the same state, in
float32, float64 and int64, for C-contiguous buffers (the compiled loop) and every other layout
(the fallback); and the samplers that use them (rand, randn, randint,
Tensor.uniform_/normal_/random_) drawing from numpy's stream."""
import math

import numpy as np
import pytest

import minigrad as mg
from minigrad import _kernels
from minigrad._kernels import reference

COMPILED = _kernels.compiled_module("_random")
FILLS = ("uniform_fill", "uniform_range_fill", "normal_fill", "exponential_fill",
         "bernoulli_fill", "integers_fill", "poisson_sample", "permutation",
         "multinomial_with_replacement", "multinomial_without_replacement", "bernoulli_sample")
NUMPY_SAMPLER = {"uniform_fill": "random", "exponential_fill": "standard_exponential"}


def test_every_fill_has_a_twin_and_the_backend_uses_it():
    previous = _kernels.backend_name
    try:
        _kernels.use("cython")
        for name in FILLS:
            assert getattr(_kernels.kernels, name) is getattr(COMPILED, name)
        _kernels.use("numpy")
        for name in FILLS:
            assert getattr(_kernels.kernels, name) is getattr(reference, name)
    finally:
        _kernels.use(previous)


def _buffers(shape, dtype):
    base = np.zeros(shape, dtype=dtype)
    yield "C", base
    if base.ndim == 2:
        yield "F", np.asfortranarray(base)
        yield "sliced", np.zeros((shape[0], shape[1] * 2), dtype=dtype)[:, ::2]
    yield "byteswapped", base.astype(base.dtype.newbyteorder())


def _call(fill, rng, out, *args):
    result = fill(rng, out, *args)
    assert result is out
    return out


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ["uniform_fill", "exponential_fill"])
@pytest.mark.parametrize("shape", [(0,), (1,), (7, 5), (1000,), (5000,)])
def test_float_fills_equal_the_reference(name, shape, dtype):
    """Below and above the size from which the loops release the GIL (4096)."""
    for layout, out in _buffers(shape, dtype):
        want = np.zeros(shape, dtype=dtype)
        r1, r2 = np.random.default_rng(3), np.random.default_rng(3)
        got = _call(getattr(COMPILED, name), r1, out)
        _call(getattr(reference, name), r2, want)
        np.testing.assert_array_equal(got, want, err_msg=layout)
        assert r1.bit_generator.state == r2.bit_generator.state, layout
    # the reference is numpy's own sampler
    r1, r2 = np.random.default_rng(4), np.random.default_rng(4)
    drawn = getattr(r2, NUMPY_SAMPLER[name])(shape, dtype=dtype)
    np.testing.assert_array_equal(_call(getattr(reference, name), r1, np.empty(shape, dtype)),
                                  drawn)


# float32: a few ulps of the C library's vector log/cos/sin against numpy's (measured: 2.5e-7)
NORMAL_TOL = {np.float32: {"rtol": 1e-6, "atol": 1e-6}, np.float64: {"rtol": 1e-14, "atol": 1e-14}}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("mean, std", [(0.0, 1.0), (1.5, 2.0), (-3.0, 0.0)])
@pytest.mark.parametrize("shape", [(0,), (1,), (7, 5), (256,), (257,), (3, 171), (1000,),
                                   (5000,)])
def test_normal_fill_equals_the_reference(shape, mean, std, dtype):
    """Every block shape: full blocks of 256, an even tail, an odd tail (one uniform more);
    below and above the size from which the loops release the GIL (4096)."""
    contiguous = None
    for layout, out in _buffers(shape, dtype):
        want = np.zeros(shape, dtype=dtype)
        r1, r2 = np.random.default_rng(3), np.random.default_rng(3)
        got = COMPILED.normal_fill(r1, out, mean, std)
        assert got is out
        reference.normal_fill(r2, want, mean, std)
        np.testing.assert_allclose(got, want, err_msg=layout, **NORMAL_TOL[dtype])
        assert r1.bit_generator.state == r2.bit_generator.state, layout
        # every layout draws the same values as the C-contiguous loop
        contiguous = got.copy() if contiguous is None else contiguous
        np.testing.assert_array_equal(got, contiguous, err_msg=layout)


def test_normal_fill_is_box_muller_on_numpys_uniforms():
    """The reference written out for 5 samples: 6 uniforms, (u0, u3), (u1, u4), (u2, u5)
    paired, cosines first, then sines; the generator advanced by exactly those 6."""
    rng, check = np.random.default_rng(8), np.random.default_rng(8)
    got = reference.normal_fill(rng, np.empty(5))
    u = check.random(6)
    r = [math.sqrt(-2 * math.log(1 - u[j])) for j in range(3)]
    want = ([r[j] * math.cos(2 * math.pi * u[3 + j]) for j in range(3)]
            + [r[j] * math.sin(2 * math.pi * u[3 + j]) for j in range(2)])
    np.testing.assert_allclose(got, want, rtol=1e-14, atol=1e-15)
    assert rng.bit_generator.state == check.bit_generator.state


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("fill", [COMPILED.normal_fill, reference.normal_fill],
                         ids=["compiled", "reference"])
def test_normal_fill_is_standard_normal(fill, dtype):
    """Kolmogorov-Smirnov distance to the normal CDF, the first four moments, and no
    correlation between the two members of a pair (z[j], z[j + 128]) or neighbours."""
    z = fill(np.random.default_rng(9), np.empty(256 * 800, dtype)).astype(np.float64)
    ordered = np.sort(z)
    cdf = 0.5 * (1 + np.vectorize(math.erf)(ordered / math.sqrt(2)))
    n = z.size
    ks = max(np.max(np.arange(1, n + 1) / n - cdf), np.max(cdf - np.arange(n) / n))
    assert ks < 1.63 / math.sqrt(n)  # the 1% critical value
    assert abs(z.mean()) < 0.01 and abs(z.var() - 1) < 0.015
    assert abs(np.mean(z ** 3)) < 0.03 and abs(np.mean(z ** 4) - 3) < 0.06
    blocks = z.reshape(-1, 256)
    for a, b in ((blocks[:, :128], blocks[:, 128:]), (z[:-1], z[1:])):
        assert abs(np.corrcoef(a.ravel(), b.ravel())[0, 1]) < 0.01


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.int32])
@pytest.mark.parametrize("low, n", [(0, 1), (-3, 10), (5, 2**32), (0, 2**31 + 1)])
@pytest.mark.parametrize("shape", [(6, 50), (80, 64)])  # below and above 4096 (the GIL)
def test_integers_fill_equals_the_reference(shape, low, n, dtype):
    for layout, out in _buffers(shape, dtype):
        want = np.zeros(out.shape, dtype=dtype)
        r1, r2 = np.random.default_rng(5), np.random.default_rng(5)
        got = _call(COMPILED.integers_fill, r1, out, low, n)
        _call(reference.integers_fill, r2, want, low, n)
        np.testing.assert_array_equal(got, want, err_msg=layout)
        assert r1.bit_generator.state == r2.bit_generator.state
    # against the formula, written out in Python floats
    rng = np.random.default_rng(6)
    u = np.random.default_rng(6).random(20)
    got = reference.integers_fill(rng, np.empty(20, dtype=np.int64), low, n)
    assert got.tolist() == [low + min(int(v * n), n - 1) for v in u]


def test_fills_fall_back_for_other_generators():
    class NotAGenerator:
        def random(self, shape, dtype=np.float64):
            return np.full(shape, 0.5, dtype=dtype)
    out = COMPILED.uniform_fill(NotAGenerator(), np.zeros(3))
    np.testing.assert_array_equal(out, [0.5, 0.5, 0.5])


def test_samplers_draw_numpys_stream():
    g = mg.Generator().manual_seed(11)
    r = np.random.default_rng(np.random.PCG64(g.initial_seed()))
    r.bit_generator.state = mg.Generator().manual_seed(11).bit_generator.state
    np.testing.assert_array_equal(mg.rand(5, generator=g).numpy(), r.random(5, dtype=np.float32))
    np.testing.assert_allclose(mg.randn(4, dtype=mg.float64, generator=g).numpy(),
                               reference.normal_fill(r, np.empty(4)), rtol=1e-14)
    t = mg.zeros(6).uniform_(-2, 3, generator=g)
    want = r.random(6, dtype=np.float32) * np.float32(5) + np.float32(-2)
    np.testing.assert_array_equal(t.numpy(), want)
    t = mg.zeros(6).normal_(1.5, 2, generator=g)
    want = reference.normal_fill(r, np.empty(6, np.float32)) * np.float32(2) + np.float32(1.5)
    np.testing.assert_allclose(t.numpy(), want, rtol=1e-6)
    t = mg.zeros(8, dtype=mg.int64).random_(2, 9, generator=g)
    assert t.tolist() == [2 + min(int(v * 7), 6) for v in r.random(8)]


def test_in_place_fills_bump_the_version_and_respect_autograd():
    x = mg.zeros(4)
    before = x._version
    x.uniform_()
    assert x._version == before + 1
    leaf = mg.zeros(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        leaf.normal_()
    frozen = mg.zeros(3).expand(2, 3)
    with pytest.raises(RuntimeError, match="more than one element"):
        frozen.random_(0, 5)


DIRECT_FILLS = {
    "normal_": lambda t: t.normal_(),
    "normal_mean_std": lambda t: t.normal_(1.0, 2),
    "uniform_": lambda t: t.uniform_(),
    "uniform_range": lambda t: t.uniform_(-1, 1),
    "random_": lambda t: t.random_(0, 10),
    "exponential_": lambda t: t.exponential_(0.5),
    "bernoulli_": lambda t: t.bernoulli_(0.3),
}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(DIRECT_FILLS))
def test_direct_fills_record_the_change(name, dtype):
    """The samplers that write straight into a plain float tensor's memory still bump its
    version: a saved tensor refilled in place fails backward (as in PyTorch), a ``.data``
    alias refilled does not."""
    fill = DIRECT_FILLS[name]
    w = mg.ones(4, dtype=getattr(mg, dtype), requires_grad=True)
    saved = mg.zeros(4, dtype=getattr(mg, dtype))
    y = (w * saved).sum()
    version = saved._version
    assert fill(saved) is saved
    assert saved._version > version
    with pytest.raises(RuntimeError, match="inplace"):
        y.backward()
    alias_of = mg.zeros(4, dtype=getattr(mg, dtype))
    z = (w * alias_of).sum()
    fill(alias_of.data)
    z.backward()
    np.testing.assert_array_equal(w.grad.numpy(), alias_of.numpy())


def _rates(shape, dtype, layout):
    rates = (np.random.default_rng(5).random(shape) * 30).astype(dtype)
    if rates.size:
        rates.flat[0] = 0  # a zero rate draws 0
        rates.flat[-1] = 1e6  # numpy's other (large-rate) method
    if layout == "F" and rates.ndim == 2:
        return np.asfortranarray(rates)
    if layout == "sliced":
        return np.repeat(rates, 2, axis=-1)[..., ::2]
    if layout == "byteswapped":
        return rates.astype(rates.dtype.newbyteorder())
    return rates


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("layout", ["C", "F", "sliced", "byteswapped"])
@pytest.mark.parametrize("shape", [(0,), (1,), (7, 5), (1000,)])
def test_poisson_sample_equals_the_reference(shape, layout, dtype):
    rates = _rates(shape, dtype, layout)
    r1, r2 = np.random.default_rng(6), np.random.default_rng(6)
    got = COMPILED.poisson_sample(r1, rates)
    want = reference.poisson_sample(r2, rates)
    assert type(got) is np.ndarray and got.shape == shape and got.dtype == rates.dtype
    np.testing.assert_array_equal(got, want)
    assert r1.bit_generator.state == r2.bit_generator.state
    # the reference is numpy's own sampler, and the draws are counts
    np.testing.assert_array_equal(want, np.random.default_rng(6).poisson(rates))
    assert (got == np.round(got)).all() and (got >= 0).all()


@pytest.mark.parametrize("bad", [-1.0, np.nan, 1e19])
def test_poisson_sample_bad_rates_raise_numpys_error(bad):
    rates = np.array([1.0, bad, 2.0])
    with pytest.raises(ValueError):
        COMPILED.poisson_sample(np.random.default_rng(0), rates)
    with pytest.raises(ValueError):
        reference.poisson_sample(np.random.default_rng(0), rates)


@pytest.mark.parametrize("dtype", [mg.float32, mg.float64])
def test_poisson_and_exponential_draw_the_same_on_both_backends(dtype):
    """Tensor.exponential_ and mg.poisson give the same values from the same seed whether the
    compiled loops or numpy's Generator methods draw them."""
    previous = _kernels.backend_name
    results = []
    try:
        for backend in ("cython", "numpy"):
            _kernels.use(backend)
            mg.manual_seed(11)
            rates = mg.rand(50, dtype=dtype) * 10
            counts = mg.poisson(rates)
            waits = mg.empty(40, dtype=dtype).exponential_(2.5)
            results.append((counts.numpy().copy(), waits.numpy().copy()))
    finally:
        _kernels.use(previous)
    (c1, w1), (c2, w2) = results
    np.testing.assert_array_equal(c1, c2)
    np.testing.assert_array_equal(w1, w2)
    assert c1.dtype == w1.dtype == dtype.np_dtype
    assert (c1 == np.round(c1)).all() and (c1 >= 0).all() and (w1 > 0).all()
    assert 0.2 < w1.mean() < 0.8  # mean 1 / 2.5 = 0.4


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("bounds", [(-1, 1), (0.5, 0.75), (-1e30, 1e30), (3, 3), (-2.5, 1e-3)],
                         ids=str)
@pytest.mark.parametrize("shape", [(0,), (7, 5), (1000,)])
def test_uniform_range_fill_equals_the_reference(shape, bounds, dtype):
    low, high = bounds
    for layout, out in _buffers(shape, dtype):
        want = np.zeros(shape, dtype=dtype)
        r1, r2 = np.random.default_rng(8), np.random.default_rng(8)
        got = _call(COMPILED.uniform_range_fill, r1, out, low, high)
        _call(reference.uniform_range_fill, r2, want, low, high)
        np.testing.assert_array_equal(got, want, err_msg=layout)
        assert r1.bit_generator.state == r2.bit_generator.state, layout
        if got.size and np.isfinite(got).all():
            assert dtype(low) <= got.min() and got.max() <= dtype(high)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64])
@pytest.mark.parametrize("p", [0.0, 0.3, 0.5, 1.0])
@pytest.mark.parametrize("shape", [(0,), (7, 5), (1000,), (5000,)])
def test_bernoulli_fill_equals_the_reference(shape, p, dtype):
    for layout, out in _buffers(shape, dtype):
        want = np.full(shape, 7, dtype=dtype)
        r1, r2 = np.random.default_rng(9), np.random.default_rng(9)
        got = _call(COMPILED.bernoulli_fill, r1, out, p)
        _call(reference.bernoulli_fill, r2, want, p)
        np.testing.assert_array_equal(got, want, err_msg=layout)
        assert r1.bit_generator.state == r2.bit_generator.state, layout
        assert np.isin(got, (0, 1)).all()
        if p in (0.0, 1.0):
            assert (got == p).all()
    # the reference is numpy's own uniform draw compared with p
    r1, r2 = np.random.default_rng(10), np.random.default_rng(10)
    np.testing.assert_array_equal(
        _call(reference.bernoulli_fill, r1, np.empty(shape, dtype), p),
        (r2.random(shape) < p).astype(dtype))


def _chi_square_ok(counts, expected):
    counts, expected = np.asarray(counts, np.float64), np.asarray(expected, np.float64)
    keep = expected > 0
    assert counts[~keep].sum() == 0, "a category of probability 0 was drawn"
    statistic = ((counts[keep] - expected[keep]) ** 2 / expected[keep]).sum()
    stats = pytest.importorskip("scipy.stats")
    critical = stats.chi2.ppf(1 - 1e-6, keep.sum() - 1)
    assert statistic < critical, (statistic, critical)


@pytest.mark.parametrize("n", [0, 1, 2, 3, 10, 1000, 65537])
def test_permutation_equals_the_reference(n):
    r1, r2 = np.random.default_rng(12), np.random.default_rng(12)
    got = COMPILED.permutation(r1, n)
    want = reference.permutation(r2, n)
    assert type(got) is np.ndarray and got.dtype == np.int64 and got.shape == (n,)
    np.testing.assert_array_equal(got, want)
    assert r1.bit_generator.state == r2.bit_generator.state
    np.testing.assert_array_equal(np.sort(got), np.arange(n))
    # one double per position after the first: the next draw is rng.random's next one
    r3 = np.random.default_rng(12)
    r3.random(max(n - 1, 0))
    assert r3.random() == r1.random()


def test_permutation_draws_every_order_equally_often():
    """All 24 orders of 4 elements, 96,000 shuffles: a biased shuffle (j drawn from all n
    positions instead of 0..i, or an off-by-one in the range) fails the chi-square test."""
    rng = np.random.default_rng(13)
    orders = {}
    for _ in range(96_000):
        key = tuple(COMPILED.permutation(rng, 4).tolist())
        orders[key] = orders.get(key, 0) + 1
    assert len(orders) == 24
    _chi_square_ok(list(orders.values()), np.full(24, 96_000 / 24))
    # and where each value lands in a longer permutation: uniform over the positions
    where = np.zeros((10, 10))
    for _ in range(20_000):
        where[np.arange(10), COMPILED.permutation(rng, 10)] += 1
    _chi_square_ok(where.ravel(), np.full(100, 20_000 / 10))


def test_permutation_falls_back_for_other_generators():
    class NotAGenerator:
        def random(self, size):
            return np.zeros(size)
    # U = 0 always: every j is 0, so each new i goes first and pushes the old front to i
    assert COMPILED.permutation(NotAGenerator(), 4).tolist() == [3, 0, 1, 2]


def _weights(shape, dtype, seed):
    w = np.random.default_rng(seed).random(shape).astype(dtype)
    if w.size:
        w[w < 0.3] = 0  # zero weights inside and at the end of rows
        w[:, -1] = 0
        w[:, 0] += dtype(0.01)  # every row has a positive weight
    return w


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
@pytest.mark.parametrize("shape", [(1, 1), (1, 2), (3, 7), (4, 64), (2, 65), (50, 100), (0, 4)])
@pytest.mark.parametrize("num_samples", [1, 13, 1000])
def test_multinomial_with_replacement_equals_the_reference(shape, num_samples, dtype):
    w = _weights(shape, dtype, 14)
    for layout, weights in [("C", w), ("F", np.asfortranarray(w)),
                            ("byteswapped", w.astype(w.dtype.newbyteorder()))]:
        r1, r2 = np.random.default_rng(15), np.random.default_rng(15)
        got = COMPILED.multinomial_with_replacement(r1, weights, num_samples)
        want = reference.multinomial_with_replacement(r2, weights, num_samples)
        assert got.dtype == np.int64 and got.shape == (shape[0], num_samples)
        np.testing.assert_array_equal(got, want, err_msg=layout)
        assert r1.bit_generator.state == r2.bit_generator.state, layout
        assert (w[np.arange(shape[0])[:, None], got] > 0).all()  # never a zero weight


def test_multinomial_with_replacement_is_the_inverse_cdf_of_numpys_stream():
    w = np.array([[0.0, 1.0, 2.0, 0.0, 3.0, 4.0]])
    rng = np.random.default_rng(16)
    got = COMPILED.multinomial_with_replacement(rng, w, 500)
    u = np.random.default_rng(16).random(500) * 10.0
    assert got[0].tolist() == [1 if x < 1 else 2 if x < 3 else 4 if x < 6 else 5 for x in u]


@pytest.mark.parametrize("kernel, bad, samples", [
    ("multinomial_with_replacement", bad, 5) for bad in
    ([[1.0, -1.0]], [[1.0, np.inf]], [[np.nan, 1.0]], [[1.0, 1.0], [0.0, 0.0]],
     [[1.0, 1.0], [-0.0, 0.0]])] + [
    ("multinomial_without_replacement", bad, 2) for bad in
    ([[1.0, -1.0, 1.0]], [[1.0, np.inf, 1.0]], [[np.nan, 1.0, 1.0]],
     [[1.0, 1.0, 1.0], [0.0, 0.0, 1.0]])])
@pytest.mark.parametrize("module", ["compiled", "reference"])
def test_multinomial_refuses_bad_weights_before_drawing(kernel, bad, samples, module):
    fn = getattr(COMPILED if module == "compiled" else reference, kernel)
    rng = np.random.default_rng(17)
    before = rng.bit_generator.state
    assert fn(rng, np.array(bad), samples) is None
    assert rng.bit_generator.state == before


def test_multinomial_with_replacement_follows_the_weights():
    """Chi-square on 300,000 draws from three rows of 6 categories (zero weights among
    them): a search off by one category, or one ignoring the row, fails it."""
    w = np.array([[0.0, 1.0, 2.0, 0.0, 3.0, 4.0], [4.0, 3.0, 0.0, 2.0, 1.0, 0.0],
                  [1.0, 1.0, 1.0, 1.0, 1.0, 1.0]], dtype=np.float32)
    draws = COMPILED.multinomial_with_replacement(np.random.default_rng(18), w, 100_000)
    for row, weights in zip(draws, w):
        _chi_square_ok(np.bincount(row, minlength=6), 100_000 * weights / weights.sum())


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
@pytest.mark.parametrize("shape", [(1, 1), (1, 2), (3, 7), (4, 100), (50, 100), (2, 300), (0, 4)])
@pytest.mark.parametrize("num_samples", [1, 2, 10, 64, 65, 100])
def test_multinomial_without_replacement_equals_the_reference(shape, num_samples, dtype):
    """The same categories in the same order and the generator left in the same state, for
    the compiled race (up to 64 samples) and the fallback (more samples, other dtypes and
    layouts); rows with too few positive weights give None."""
    w = np.random.default_rng(20).random(shape).astype(dtype)
    if w.size:
        w[:, ::3] = 0  # a third of the weights are zero
    enough = num_samples <= shape[1] - len(range(0, shape[1], 3))
    if num_samples > shape[1]:
        return
    for layout, weights in [("C", w), ("F", np.asfortranarray(w)),
                            ("byteswapped", w.astype(w.dtype.newbyteorder()))]:
        r1, r2 = np.random.default_rng(21), np.random.default_rng(21)
        got = COMPILED.multinomial_without_replacement(r1, weights, num_samples)
        want = reference.multinomial_without_replacement(r2, weights, num_samples)
        assert r1.bit_generator.state == r2.bit_generator.state, layout
        if not enough and shape[0]:
            assert got is None and want is None, layout
            continue
        assert got.dtype == np.int64 and got.shape == (shape[0], num_samples)
        np.testing.assert_array_equal(got, want, err_msg=layout)
        assert (w[np.arange(shape[0])[:, None], got] > 0).all()  # never a zero weight
        assert all(len(set(row)) == num_samples for row in got.tolist())


def test_multinomial_without_replacement_takes_the_smallest_keys_of_numpys_stream():
    """The race by hand: keys E / w from rng.standard_exponential, the smallest first."""
    w = np.array([[0.5, 1.0, 0.0, 2.0, 3.0, 4.0, 0.25]])
    got = COMPILED.multinomial_without_replacement(np.random.default_rng(22), w, 4)
    e = np.random.default_rng(22).standard_exponential(7)
    keys = [(e[k] / w[0, k] if w[0, k] else math.inf, k) for k in range(7)]
    assert got[0].tolist() == [k for _, k in sorted(keys)[:4]]


def test_multinomial_without_replacement_draws_in_sequence():
    """Chi-square of the first and second draws on 60,000 rows: the first follows the
    weights, the second the weights without the first category."""
    w = np.array([0.0, 1.0, 2.0, 0.0, 3.0, 4.0])
    trials = 60_000
    draws = COMPILED.multinomial_without_replacement(np.random.default_rng(24),
                                                     np.tile(w, (trials, 1)), 2)
    p = w / w.sum()
    _chi_square_ok(np.bincount(draws[:, 0], minlength=6), trials * p)
    second = [sum(p[i] * p[j] / (1 - p[i]) for i in range(6) if i != j) for j in range(6)]
    _chi_square_ok(np.bincount(draws[:, 1], minlength=6), trials * np.array(second))


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
@pytest.mark.parametrize("shape", [(0,), (1,), (7, 5), (1000,)])
def test_bernoulli_sample_equals_the_reference(shape, dtype):
    p = np.random.default_rng(19).random(shape).astype(dtype)
    if p.size > 2:
        p.flat[:2] = (0, 1)
    layouts = [("C", p), ("byteswapped", p.astype(p.dtype.newbyteorder()))]
    if p.ndim == 2:
        layouts.append(("F", np.asfortranarray(p)))
    for layout, probabilities in layouts:
        r1, r2 = np.random.default_rng(20), np.random.default_rng(20)
        got = COMPILED.bernoulli_sample(r1, probabilities)
        want = reference.bernoulli_sample(r2, probabilities)
        assert got.dtype == np.dtype(dtype) and got.shape == shape
        np.testing.assert_array_equal(got, want, err_msg=layout)
        assert r1.bit_generator.state == r2.bit_generator.state, layout
    # the reference is numpy's uniform draw compared with p, element by element
    np.testing.assert_array_equal(
        reference.bernoulli_sample(np.random.default_rng(21), p),
        (np.random.default_rng(21).random(shape) < p).astype(dtype))
    if p.size > 2:
        assert got.flat[0] == 0 and got.flat[1] == 1


@pytest.mark.parametrize("bad", [[0.5, 1.5], [-0.1, 0.5], [np.nan, 0.5], [0.5, np.inf]])
@pytest.mark.parametrize("module", ["compiled", "reference"])
def test_bernoulli_sample_refuses_bad_probabilities_before_drawing(bad, module):
    fn = (COMPILED if module == "compiled" else reference).bernoulli_sample
    rng = np.random.default_rng(22)
    before = rng.bit_generator.state
    assert fn(rng, np.array(bad, dtype=np.float32)) is None
    assert rng.bit_generator.state == before


def test_bernoulli_sample_follows_each_probability():
    """200,000 draws for each of five probabilities, side by side in one C-ordered array:
    the count of ones passes a chi-square test for each (a sampler comparing with the wrong
    element, or with 1 - p, fails)."""
    q = np.array([0.05, 0.2, 0.5, 0.7, 0.99])
    p = np.tile(q, (200_000, 1)).astype(np.float32)
    ones = COMPILED.bernoulli_sample(np.random.default_rng(23), p).sum(axis=0, dtype=np.int64)
    for count, prob in zip(ones, q.astype(np.float32).astype(np.float64)):
        _chi_square_ok([count, 200_000 - count], [200_000 * prob, 200_000 * (1 - prob)])
