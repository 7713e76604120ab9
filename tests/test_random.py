"""Creation functions, random sampling and generators, against PyTorch.

Bit-equality with PyTorch's streams is impossible (minigrad draws from numpy's PCG64), so the
samplers are checked statistically (moments, chi-square tests with fixed seeds: each check
fails by chance with probability about 1e-6), for reproducibility (``manual_seed``,
``generator=``, saved states), and for the shapes, dtypes and exceptions PyTorch gives.
Deterministic factories (``arange``, ``linspace``...) must give PyTorch's values.
"""
import warnings

import numpy as np
import pytest

import minigrad as mg

torch = pytest.importorskip("torch")
stats = pytest.importorskip("scipy.stats")

N = 200_000  # samples per moment check: standard errors ~ 0.002 sigma


def _close_mean(values, mean, sd):
    """|sample mean - mean| within 5 standard errors."""
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    assert abs(values.mean() - mean) < 5 * sd / np.sqrt(values.size), (values.mean(), mean)


def _chi_square_ok(counts, expected):
    counts, expected = np.asarray(counts, np.float64), np.asarray(expected, np.float64)
    keep = expected > 0
    assert counts[~keep].sum() == 0, "a category of probability 0 was drawn"
    statistic = ((counts[keep] - expected[keep]) ** 2 / expected[keep]).sum()
    critical = stats.chi2.ppf(1 - 1e-6, keep.sum() - 1)
    assert statistic < critical, (statistic, critical)


# ---------------------------------------------------------------------------------------------
# Deterministic factories: PyTorch's values and dtypes
# ---------------------------------------------------------------------------------------------

FACTORIES = {
    "zeros": lambda L: L.zeros(2, 3),
    "zeros_size_kw": lambda L: L.zeros(size=(2, 3), dtype=L.int64),
    "ones_list": lambda L: L.ones([3]),
    "empty_shape": lambda L: L.empty(2, 0).shape,
    "full_float": lambda L: L.full((2, 2), 1.5),
    "full_int": lambda L: L.full((2,), 7),
    "full_bool": lambda L: L.full((2,), True),
    "full_dtype": lambda L: L.full((1, 2), 2, dtype=L.float64),
    "zeros_like": lambda L: L.zeros_like(L.ones(2, 3, dtype=L.int32)),
    "ones_like_dtype": lambda L: L.ones_like(L.ones(2), dtype=L.float64),
    "full_like": lambda L: L.full_like(L.ones(3), 4.5),
    "full_like_int": lambda L: L.full_like(L.ones(3, dtype=L.int64), 4.5),
    "empty_like": lambda L: L.empty_like(L.ones(2, 2), dtype=L.int64).shape,
    "eye": lambda L: L.eye(3),
    "eye_rect": lambda L: L.eye(2, 4, dtype=L.int64),
    "eye_zero": lambda L: L.eye(0),
    "arange_int": lambda L: L.arange(5),
    "arange_neg_step": lambda L: L.arange(10, 0, -3),
    "arange_float": lambda L: L.arange(0, 1, 0.1),
    "arange_float_start": lambda L: L.arange(0.5, 5),
    "arange_float_dtype": lambda L: L.arange(5, dtype=L.float64),
    "arange_int_dtype_float_step": lambda L: L.arange(0, 5, 1.5, dtype=L.int64),
    "arange_end_kw": lambda L: L.arange(end=4),
    "arange_tensor": lambda L: L.arange(L.tensor(4)),
    "arange_empty": lambda L: L.arange(3, 3),
    "arange_fine": lambda L: L.arange(-1.0, 1.0, 0.01),
    "arange_float64": lambda L: L.arange(0, 2.9, 0.3, dtype=L.float64),
    "linspace": lambda L: L.linspace(0, 1, 5),
    "linspace_many": lambda L: L.linspace(-3.7, 11.3, 97),
    "linspace_float64": lambda L: L.linspace(-3.7, 11.3, 97, dtype=L.float64),
    "linspace_int": lambda L: L.linspace(0, 10, 4, dtype=L.int64),
    "linspace_one": lambda L: L.linspace(2, 5, 1),
    "linspace_zero": lambda L: L.linspace(2, 5, 0),
    "linspace_reverse": lambda L: L.linspace(5, -5, 11),
    "logspace": lambda L: L.logspace(0, 2, 5),
    "logspace_base": lambda L: L.logspace(-1, 3, 9, base=2, dtype=L.float64),
    "tril_indices": lambda L: L.tril_indices(3, 4),
    "tril_indices_offset": lambda L: L.tril_indices(4, 3, -1),
    "triu_indices": lambda L: L.triu_indices(3, 3, 1),
    "triu_indices_int32": lambda L: L.triu_indices(4, 2, -2, dtype=L.int32),
    "tril_indices_empty": lambda L: L.tril_indices(0, 3),
    "tril_indices_wide": lambda L: L.tril_indices(3, 7, 2),
    "triu_indices_tall": lambda L: L.triu_indices(7, 3, -2),
    "new_zeros": lambda L: L.ones(2, dtype=L.int32).new_zeros((2, 3)),
    "new_ones": lambda L: L.ones(2).new_ones(2, 3, dtype=L.float64),
    "new_full": lambda L: L.ones(2, dtype=L.int64).new_full((2,), 1.5),
    "new_empty": lambda L: L.ones(2).new_empty(3, dtype=L.int32).shape,
    "new_tensor": lambda L: L.ones(2).new_tensor([1, 2]),
    "zeros_out_dtype": lambda L: L.zeros(2, out=L.empty(0, dtype=L.int64)),
    "arange_out": lambda L: L.arange(4, out=L.empty(0, dtype=L.float64)),
}


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_factories_match_torch(name):
    got, want = FACTORIES[name](mg), FACTORIES[name](torch)
    if isinstance(want, tuple):
        assert tuple(got) == tuple(want)
        return
    assert str(got.dtype).split(".")[-1] == str(want.dtype).split(".")[-1]
    assert tuple(got.shape) == tuple(want.shape)
    if want.dtype in (torch.float32, torch.float64) and name.startswith(("logspace", "arange")):
        # The count is exact; the values may differ in the last bit: PyTorch's vectorised
        # arange rounds each SIMD block's base to the dtype (the block width depends on the
        # CPU), its scalar tail does not.
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6, atol=1e-7)
    else:
        np.testing.assert_array_equal(got.numpy(), want.numpy())


FACTORY_ERRORS = {
    "zeros_negative": lambda L: L.zeros(-1),
    "zeros_float_size": lambda L: L.zeros(2.5),
    "zeros_overflow": lambda L: L.zeros(2**40, 2**40),
    "full_int_size": lambda L: L.full(2, 2.0),
    "eye_negative": lambda L: L.eye(-1),
    "eye_negative_m": lambda L: L.eye(2, -1),
    "arange_zero_step": lambda L: L.arange(0, 10, 0),
    "arange_wrong_sign": lambda L: L.arange(1, 0, 0.1),
    "linspace_negative": lambda L: L.linspace(0, 1, -1),
    "tril_indices_negative": lambda L: L.tril_indices(-1, 3),
    "requires_grad_int": lambda L: L.zeros(2, dtype=L.int64, requires_grad=True),
    "rand_int_dtype": lambda L: L.rand(3, dtype=L.int64),
    "randn_int_dtype": lambda L: L.randn(2, dtype=L.int64),
    "rand_like_int": lambda L: L.rand_like(L.zeros(3, dtype=L.int64)),
    "randint_empty_range": lambda L: L.randint(5, 2, (3,)),
    "randint_like_empty_range": lambda L: L.randint_like(L.zeros(3), 10, 3),
    "randperm_negative": lambda L: L.randperm(-1),
    "normal_negative_std": lambda L: L.normal(0.0, -1.0, (2,)),
    "normal_tensor_negative_std": lambda L: L.normal(L.zeros(2), -L.ones(2)),
    "normal_float_negative_std": lambda L: L.normal(L.zeros(2), -1.0),
    "normal_int_mean": lambda L: L.normal(L.zeros(2, dtype=L.int64), 1.0),
    "normal_shapes": lambda L: L.normal(L.zeros(2), L.ones(3)),
    "normal_numbers_no_size": lambda L: L.normal(2.0, 3.0),
    "bernoulli_p_out_of_range": lambda L: L.bernoulli(L.tensor([0.5, 2.0])),
    "bernoulli_float_p": lambda L: L.bernoulli(L.zeros(3), 1.5),
    "bernoulli_int": lambda L: L.bernoulli(L.tensor([1, 0])),
    "poisson_negative": lambda L: L.poisson(L.tensor([-1.0])),
    "poisson_int": lambda L: L.poisson(L.tensor([1, 2])),
    "multinomial_int": lambda L: L.multinomial(L.tensor([1, 2]), 1),
    "multinomial_zero_samples": lambda L: L.multinomial(L.tensor([1.0, 2.0]), 0),
    "multinomial_too_many": lambda L: L.multinomial(L.tensor([1.0, 1.0]), 3),
    "multinomial_negative": lambda L: L.multinomial(L.tensor([-1.0, 1.0]), 1),
    "multinomial_inf": lambda L: L.multinomial(L.tensor([1.0, float("inf")]), 1),
    "multinomial_nan": lambda L: L.multinomial(L.tensor([1.0, float("nan")]), 1),
    "multinomial_zero_sum": lambda L: L.multinomial(L.tensor([0.0, 0.0]), 1),
    "multinomial_3d": lambda L: L.multinomial(L.ones(2, 2, 2), 1),
    "multinomial_empty_categories": lambda L: L.multinomial(L.ones(2, 0), 1),
    "multinomial_repl_negative": lambda L: L.multinomial(L.tensor([[1.0, 1.0], [-1.0, 1.0]]),
                                                         4, True),
    "multinomial_repl_inf": lambda L: L.multinomial(L.tensor([1.0, float("inf")]), 3, True),
    "multinomial_repl_nan": lambda L: L.multinomial(L.tensor([float("nan"), 1.0]), 3, True),
    "multinomial_repl_zero_row": lambda L: L.multinomial(L.tensor([[1.0, 0.0], [0.0, 0.0]]),
                                                         2, True),
    "uniform_reversed": lambda L: L.zeros(3).uniform_(2, 1),
    "uniform_int": lambda L: L.zeros(3, dtype=L.int64).uniform_(),
    "normal_negative": lambda L: L.zeros(3).normal_(0, -1),
    "normal_int": lambda L: L.zeros(3, dtype=L.int64).normal_(),
    "exponential_zero": lambda L: L.zeros(3).exponential_(0),
    "exponential_int": lambda L: L.zeros(3, dtype=L.int64).exponential_(),
    "geometric_zero": lambda L: L.zeros(3).geometric_(0),
    "geometric_one": lambda L: L.zeros(3).geometric_(1),
    "cauchy_zero_sigma": lambda L: L.zeros(3).cauchy_(0, 0),
    "cauchy_int": lambda L: L.zeros(3, dtype=L.int64).cauchy_(),
    "log_normal_zero_std": lambda L: L.zeros(3).log_normal_(1, 0),
    "log_normal_int": lambda L: L.zeros(3, dtype=L.int64).log_normal_(),
    "random_reversed": lambda L: L.zeros(3).random_(5, 2),
    "random_negative_to": lambda L: L.zeros(3).random_(-5),
    "random_uint8_range": lambda L: L.zeros(3, dtype=L.uint8).random_(300),
    "bernoulli__p": lambda L: L.zeros(3).bernoulli_(1.5),
    "bernoulli__tensor_p": lambda L: L.zeros(3).bernoulli_(L.tensor([0.5, 0.5, 2.0])),
    "bernoulli__shape": lambda L: L.zeros(3).bernoulli_(L.ones(2)),
    "inplace_on_leaf": lambda L: L.zeros(3, requires_grad=True).normal_(),
    "generator_seed_float": lambda L: L.Generator().manual_seed(1.5),
    "generator_seed_str": lambda L: L.Generator().manual_seed("3"),
    "seed_overflow": lambda L: L.Generator().manual_seed(2**64),
    "seed_underflow": lambda L: L.manual_seed(-2**63 - 1),
    "set_state_list": lambda L: L.Generator().set_state([1, 2]),
    "set_state_float": lambda L: L.Generator().set_state(L.zeros(5056)),
    "set_state_size": lambda L: L.Generator().set_state(L.zeros(3, dtype=L.uint8)),
}


@pytest.mark.parametrize("name", sorted(FACTORY_ERRORS))
def test_bad_arguments_raise_torchs_exception(name):
    call = FACTORY_ERRORS[name]
    state = mg.get_rng_state()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(Exception) as want:
            call(torch)
        with pytest.raises(Exception) as got:
            call(mg)
    mg.set_rng_state(state)
    assert isinstance(got.value, type(want.value)), (type(got.value), str(want.value))


# ---------------------------------------------------------------------------------------------
# Shapes and dtypes of the samplers
# ---------------------------------------------------------------------------------------------

SAMPLERS = {
    "rand": lambda L: L.rand(2, 3),
    "rand_size_kw": lambda L: L.rand(size=(4,), dtype=L.float64),
    "randn": lambda L: L.randn((3, 2)),
    "randn_empty": lambda L: L.randn(0, 2),
    "randint": lambda L: L.randint(3, 10, (2, 2)),
    "randint_high_only": lambda L: L.randint(5, (3,)),
    "randint_float": lambda L: L.randint(3, (2,), dtype=L.float32),
    "randperm": lambda L: L.randperm(5),
    "randperm_float": lambda L: L.randperm(3, dtype=L.float32),
    "rand_like": lambda L: L.rand_like(L.ones(2, 3, dtype=L.float64)),
    "randn_like": lambda L: L.randn_like(L.ones(4)),
    "randn_like_dtype": lambda L: L.randn_like(L.ones(4), dtype=L.float64),
    "randint_like": lambda L: L.randint_like(L.ones(3), 10),
    "randint_like_low": lambda L: L.randint_like(L.ones(3, dtype=L.int32), 3, 10),
    "normal_tensors": lambda L: L.normal(L.zeros(2, 1), L.ones(3)),
    "normal_mean_tensor": lambda L: L.normal(L.zeros(3, dtype=L.float64), 2.0),
    "normal_std_tensor": lambda L: L.normal(1.0, L.ones(2, 3)),
    "normal_numbers": lambda L: L.normal(0, 1, (2,)),
    "normal_numbers_dtype": lambda L: L.normal(2.0, 3.0, size=(2, 2), dtype=L.float64),
    "normal_empty": lambda L: L.normal(L.zeros(0), 1.0),
    "bernoulli": lambda L: L.bernoulli(L.full((3,), 0.5, dtype=L.float64)),
    "bernoulli_p": lambda L: L.bernoulli(L.zeros(2, 2), 0.3),
    "bernoulli_method": lambda L: L.zeros(4).bernoulli(),
    "poisson": lambda L: L.poisson(L.ones(3, dtype=L.float64)),
    "multinomial_1d": lambda L: L.multinomial(L.tensor([1.0, 2.0, 3.0]), 2),
    "multinomial_2d": lambda L: L.multinomial(L.ones(4, 3, dtype=L.float64), 5, True),
    "multinomial_no_rows": lambda L: L.multinomial(L.ones(0, 3), 2),
    "multinomial_method": lambda L: L.ones(3).multinomial(3),
    "uniform_": lambda L: L.zeros(2, 3).uniform_(-1, 1),
    "normal_": lambda L: L.zeros(3, dtype=L.float64).normal_(2, 0.5),
    "bernoulli_int_": lambda L: L.zeros(3, dtype=L.int64).bernoulli_(0.5),
    "random_": lambda L: L.zeros(3).random_(10),
    "random_bool": lambda L: L.zeros(3, dtype=L.bool).random_(),
    "geometric_int_": lambda L: L.zeros(3, dtype=L.int64).geometric_(0.5),
    "exponential_": lambda L: L.zeros(3).exponential_(2.0),
    "cauchy_": lambda L: L.zeros(3).cauchy_(),
    "log_normal_": lambda L: L.zeros(3).log_normal_(),
}


@pytest.mark.parametrize("name", sorted(SAMPLERS))
def test_sampler_shapes_and_dtypes_match_torch(name):
    got, want = SAMPLERS[name](mg), SAMPLERS[name](torch)
    assert tuple(got.shape) == tuple(want.shape)
    assert str(got.dtype).split(".")[-1] == str(want.dtype).split(".")[-1]
    assert got.requires_grad == want.requires_grad


@pytest.mark.parametrize("name", sorted(SAMPLERS))
def test_samplers_are_reproducible_under_manual_seed_and_generator(name):
    draw = SAMPLERS[name]
    mg.manual_seed(11)
    first = draw(mg).numpy().copy()
    mg.manual_seed(11)
    np.testing.assert_array_equal(draw(mg).numpy(), first)


# ---------------------------------------------------------------------------------------------
# Distributions
# ---------------------------------------------------------------------------------------------


def test_uniform_samplers_moments():
    mg.manual_seed(1)
    _close_mean(mg.rand(N).numpy(), 0.5, np.sqrt(1 / 12))
    x = mg.rand(N, dtype=mg.float64).numpy()
    assert 0 <= x.min() and x.max() < 1
    _close_mean((x - 0.5) ** 2, 1 / 12, np.sqrt(1 / 180))
    u = mg.empty(N).uniform_(-2, 3).numpy()
    assert -2 <= u.min() and u.max() < 3
    _close_mean(u, 0.5, 5 / np.sqrt(12))
    _close_mean(mg.rand_like(mg.ones(N, dtype=mg.float64)).numpy(), 0.5, np.sqrt(1 / 12))


def test_normal_samplers_moments():
    mg.manual_seed(2)
    for values, mean, sd in [
        (mg.randn(N), 0.0, 1.0),
        (mg.normal(2.0, 3.0, (N,)), 2.0, 3.0),
        (mg.normal(mg.full((N,), -1.0), 0.5), -1.0, 0.5),
        (mg.normal(4.0, mg.full((N,), 2.0)), 4.0, 2.0),
        (mg.normal(mg.zeros(N), mg.full((N,), 0.25)), 0.0, 0.25),
        (mg.empty(N, dtype=mg.float64).normal_(1.5, 2.5), 1.5, 2.5),
        (mg.randn_like(mg.zeros(N)), 0.0, 1.0),
    ]:
        v = values.numpy().astype(np.float64)
        _close_mean(v, mean, sd)
        _close_mean((v - mean) ** 2, sd ** 2, sd ** 2 * np.sqrt(2))
    # elementwise parameters: each column keeps its own mean and std
    m = mg.tensor([[-5.0, 0.0, 5.0]]).expand(N // 10, 3)
    s = mg.tensor([[1.0, 2.0, 0.5]])
    v = mg.normal(m, s).numpy()
    for j, (mean, sd) in enumerate([(-5, 1), (0, 2), (5, 0.5)]):
        _close_mean(v[:, j], mean, sd)
        assert abs(v[:, j].std() - sd) < 0.05 * sd


def test_other_continuous_samplers():
    mg.manual_seed(3)
    e = mg.empty(N, dtype=mg.float64).exponential_(2.0).numpy()
    assert e.min() >= 0
    _close_mean(e, 0.5, 0.5)
    log_normal = mg.empty(N, dtype=mg.float64).log_normal_(0.5, 0.75).numpy()
    _close_mean(np.log(log_normal), 0.5, 0.75)
    c = mg.empty(N, dtype=mg.float64).cauchy_(1.0, 2.0).numpy()
    # Cauchy: median 1, quartiles 1 -+ 2
    q25, q50, q75 = np.quantile(c, [0.25, 0.5, 0.75])
    assert abs(q50 - 1) < 0.05 and abs(q25 + 1) < 0.05 and abs(q75 - 3) < 0.05


def test_discrete_samplers_chi_square():
    mg.manual_seed(4)
    r = mg.randint(-3, 4, (N,)).numpy()
    _chi_square_ok(np.bincount(r + 3, minlength=7), np.full(7, N / 7))
    g = mg.empty(N, dtype=mg.int64).geometric_(0.3).numpy()
    assert g.min() >= 1
    k = np.arange(1, 20)
    expected = N * 0.7 ** (k - 1) * 0.3
    counts = np.array([(g == i).sum() for i in k])
    _chi_square_ok(np.append(counts, N - counts.sum()), np.append(expected, N - expected.sum()))
    lam = 3.5
    p = mg.poisson(mg.full((N,), lam, dtype=mg.float64)).numpy()
    k = np.arange(0, 15)
    expected = N * stats.poisson.pmf(k, lam)
    counts = np.array([(p == i).sum() for i in k])
    _chi_square_ok(np.append(counts, N - counts.sum()), np.append(expected, N - expected.sum()))
    x = mg.zeros(N).random_(2, 7).numpy()
    _chi_square_ok(np.bincount(x.astype(int) - 2, minlength=5), np.full(5, N / 5))
    full = mg.zeros(N).random_().numpy()
    assert full.min() >= 0 and full.max() <= 2**24 and full.max() > 2**23


def test_bernoulli_samplers():
    mg.manual_seed(5)
    p = mg.tensor([0.0, 0.2, 0.5, 0.9, 1.0], dtype=mg.float64).expand(N // 5, 5)
    b = mg.bernoulli(p).numpy()
    assert set(np.unique(b)) <= {0.0, 1.0}
    assert b[:, 0].sum() == 0 and b[:, 4].sum() == N // 5
    for j, q in [(1, 0.2), (2, 0.5), (3, 0.9)]:
        _close_mean(b[:, j], q, np.sqrt(q * (1 - q)))
    _close_mean(mg.bernoulli(mg.zeros(N), 0.3).numpy(), 0.3, np.sqrt(0.21))
    _close_mean(mg.zeros(N, dtype=mg.int64).bernoulli_(0.7).numpy(), 0.7, np.sqrt(0.21))
    t = mg.zeros(N // 5, 5).bernoulli_(mg.tensor([0.1, 0.3, 0.5, 0.7, 0.9])).numpy()
    for j, q in enumerate([0.1, 0.3, 0.5, 0.7, 0.9]):
        _close_mean(t[:, j], q, np.sqrt(q * (1 - q)))


def test_randperm_is_a_uniform_permutation():
    mg.manual_seed(6)
    n, trials = 6, 30_000
    first = np.zeros(n)
    for _ in range(trials):
        p = mg.randperm(n).numpy()
        assert sorted(p.tolist()) == list(range(n))
        first[p[0]] += 1
    _chi_square_ok(first, np.full(n, trials / n))
    big = mg.randperm(1000).numpy()
    assert sorted(big.tolist()) == list(range(1000))


WEIGHTS = np.array([0.0, 1.0, 2.0, 0.0, 3.0, 4.0])


def test_multinomial_with_replacement_chi_square():
    mg.manual_seed(7)
    samples = mg.multinomial(mg.tensor(WEIGHTS), N, replacement=True).numpy()
    _chi_square_ok(np.bincount(samples, minlength=6), N * WEIGHTS / WEIGHTS.sum())
    rows = mg.multinomial(mg.tensor([WEIGHTS, WEIGHTS[::-1].copy()]), N // 2, True).numpy()
    _chi_square_ok(np.bincount(rows[0], minlength=6), N / 2 * WEIGHTS / WEIGHTS.sum())
    _chi_square_ok(np.bincount(rows[1], minlength=6), N / 2 * WEIGHTS[::-1] / WEIGHTS.sum())


def test_multinomial_without_replacement_draws_in_sequence():
    """Without replacement, the first draw follows the weights and the second follows the
    weights with the first category removed; no category repeats; zero weights never come."""
    mg.manual_seed(8)
    trials = 40_000
    w = mg.tensor(np.tile(WEIGHTS, (trials, 1)))
    draws = mg.multinomial(w, 3).numpy()
    assert all(len(set(row)) == 3 for row in draws[:2000])
    assert not np.isin(draws, [0, 3]).any()
    p = WEIGHTS / WEIGHTS.sum()
    _chi_square_ok(np.bincount(draws[:, 0], minlength=6), trials * p)
    second = np.zeros(6)
    for i in range(6):
        for j in range(6):
            if i != j and p[i] > 0:
                second[j] += p[i] * p[j] / (1 - p[i])
    _chi_square_ok(np.bincount(draws[:, 1], minlength=6), trials * second)
    everything = mg.multinomial(mg.tensor(WEIGHTS), 4).numpy()
    assert sorted(everything.tolist()) == [1, 2, 4, 5]


# ---------------------------------------------------------------------------------------------
# Generators, seeds and states
# ---------------------------------------------------------------------------------------------


def test_generator_seeds_follow_torch():
    assert mg.Generator().initial_seed() == torch.Generator().initial_seed()
    for seed in (0, 5, -1, -2**63, 2**63, 2**64 - 1):
        assert mg.Generator().manual_seed(seed).initial_seed() == \
            torch.Generator().manual_seed(seed).initial_seed()
    g = mg.Generator()
    assert g.manual_seed(3) is g
    assert str(g.device) == "cpu"
    assert mg.manual_seed(12) is mg.default_generator
    assert mg.initial_seed() == 12
    mg.manual_seed("7")  # torch.manual_seed converts with int()
    assert mg.initial_seed() == 7


def test_generator_streams_are_independent_and_reproducible():
    g1, g2 = mg.Generator().manual_seed(4), mg.Generator().manual_seed(4)
    mg.manual_seed(0)
    a = mg.rand(5, generator=g1).numpy().copy()
    mg.rand(100)  # draws from the default generator change nothing for g2
    np.testing.assert_array_equal(mg.rand(5, generator=g2).numpy(), a)
    assert not np.array_equal(mg.rand(5, generator=g1).numpy(), a)
    draws = [lambda g: mg.randn(3, generator=g), lambda g: mg.randint(0, 9, (3,), generator=g),
             lambda g: mg.randperm(6, generator=g), lambda g: mg.normal(0.0, 1.0, (3,),
                                                                        generator=g),
             lambda g: mg.bernoulli(mg.full((4,), 0.5), generator=g),
             lambda g: mg.multinomial(mg.ones(5), 3, generator=g),
             lambda g: mg.poisson(mg.ones(3), generator=g),
             lambda g: mg.zeros(3).normal_(generator=g),
             lambda g: mg.zeros(3).uniform_(generator=g),
             lambda g: mg.zeros(3).exponential_(generator=g),
             lambda g: mg.rand_like(mg.ones(3), generator=g),
             lambda g: mg.randint_like(mg.ones(3), 5, generator=g)]
    for draw in draws:
        x = draw(mg.Generator().manual_seed(9)).numpy()
        np.testing.assert_array_equal(draw(mg.Generator().manual_seed(9)).numpy(), x)


def test_states_are_uint8_tensors_that_restore_the_stream():
    g = mg.Generator().manual_seed(21)
    g.standard_normal(3)  # leave numpy's buffered half-word state non-trivial
    state = g.get_state()
    assert isinstance(state, mg.Tensor) and state.dtype == mg.uint8 and state.dim() == 1
    a = mg.randn(7, generator=g).numpy().copy()
    g.manual_seed(99)
    g.set_state(state)
    np.testing.assert_array_equal(mg.randn(7, generator=g).numpy(), a)
    assert g.initial_seed() == 21
    mg.manual_seed(3)
    saved = mg.get_rng_state()
    b = mg.rand(4).numpy().copy()
    mg.rand(10)
    mg.set_rng_state(saved)
    np.testing.assert_array_equal(mg.rand(4).numpy(), b)
    state.numpy()[:] = 0  # the state handed out is a copy
    assert mg.Generator().set_state(g.get_state()) is not None


_FRESH = ("import {lib} as m; g = m.Generator(); "
          "print(m.initial_seed(), m.rand(3).tolist(), m.rand(3, generator=g).tolist())")


def _fresh_process(child_python, lib):
    out = child_python(_FRESH.format(lib=lib))
    seed, rest = out.stdout.split(" ", 1)
    default_draws, generator_draws = rest.strip().split("] [")
    return int(seed), default_draws, generator_draws


def test_unseeded_programs_behave_as_torch(child_python):
    """PyTorch seeds its default generator from the system's entropy (a program that never
    calls manual_seed draws differently each run: checked here on torch itself), while a new
    Generator() always starts from the seed 67280421310721. minigrad does the same."""
    for lib in ("torch", "minigrad"):
        a, b = _fresh_process(child_python, lib), _fresh_process(child_python, lib)
        assert a[0] != b[0] and a[1] != b[1], lib  # default generator: fresh entropy
        assert a[2] == b[2], lib                    # Generator(): the fixed default seed


# ---------------------------------------------------------------------------------------------
# Autograd: samples take part in the graph with zero gradients, as in PyTorch
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("make", [
    lambda L, x: L.normal(x, 1.0),
    lambda L, x: L.normal(0.0, x.abs()),
    lambda L, x: L.normal(x, x.abs()),
    lambda L, x: L.bernoulli(x.sigmoid()),
    lambda L, x: L.poisson(x.abs()),
    lambda L, x: (x * 2).normal_(),
    lambda L, x: (x * 2).uniform_(),
    lambda L, x: (x + 0).exponential_(),
    lambda L, x: (x + 0).bernoulli_(0.5),
], ids=["normal_mean", "normal_std", "normal_both", "bernoulli", "poisson", "normal_",
        "uniform_", "exponential_", "bernoulli_"])
def test_samples_have_zero_gradients_like_torch(make):
    results = []
    for L in (mg, torch):
        x = L.tensor([0.5, -1.0, 2.0], dtype=L.float64, requires_grad=True)
        out = make(L, x)
        assert out.requires_grad
        (out * 3).sum().backward()
        results.append(x.grad.numpy().copy())
    np.testing.assert_array_equal(results[0], results[1])
    np.testing.assert_array_equal(results[0], 0.0)


def test_inplace_samplers_fill_non_contiguous_tensors_in_place():
    base = mg.zeros(4, 6)
    view = base.t()[1:3]
    view.normal_()
    assert (base.numpy()[:, 1:3] != 0).all() and (base.numpy()[:, [0, 3, 4, 5]] == 0).all()
    assert base._version > 0
