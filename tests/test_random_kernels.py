"""The compiled random fills (_random.pyx) against their numpy twins in reference.py: the same
values bit for bit and the generator left in the same state, in float32, float64 and int64,
for C-contiguous buffers (the compiled loop) and every other layout (the fallback); and the
samplers that use them (rand, randn, randint, Tensor.uniform_/normal_/random_) still drawing
numpy's stream."""
import numpy as np
import pytest

import minigrad as mg
from minigrad import _kernels
from minigrad._kernels import reference

COMPILED = _kernels.compiled_module("_random")
FILLS = ("uniform_fill", "normal_fill", "integers_fill")


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
@pytest.mark.parametrize("name", ["uniform_fill", "normal_fill"])
@pytest.mark.parametrize("shape", [(0,), (1,), (7, 5), (1000,)])
def test_float_fills_equal_the_reference(name, shape, dtype):
    for layout, out in _buffers(shape, dtype):
        want = np.zeros(shape, dtype=dtype)
        r1, r2 = np.random.default_rng(3), np.random.default_rng(3)
        got = _call(getattr(COMPILED, name), r1, out)
        _call(getattr(reference, name), r2, want)
        np.testing.assert_array_equal(got, want, err_msg=layout)
        assert r1.bit_generator.state == r2.bit_generator.state, layout
    # the reference is numpy's own sampler
    r1, r2 = np.random.default_rng(4), np.random.default_rng(4)
    drawn = (r2.random if name == "uniform_fill" else r2.standard_normal)(shape, dtype=dtype)
    np.testing.assert_array_equal(_call(getattr(reference, name), r1, np.empty(shape, dtype)),
                                  drawn)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.int32])
@pytest.mark.parametrize("low, n", [(0, 1), (-3, 10), (5, 2**32), (0, 2**31 + 1)])
def test_integers_fill_equals_the_reference(low, n, dtype):
    for layout, out in _buffers((6, 50), dtype):
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
    np.testing.assert_array_equal(mg.randn(4, dtype=mg.float64, generator=g).numpy(),
                                  r.standard_normal(4))
    t = mg.zeros(6).uniform_(-2, 3, generator=g)
    want = r.random(6, dtype=np.float32) * np.float32(5) + np.float32(-2)
    np.testing.assert_array_equal(t.numpy(), want)
    t = mg.zeros(6).normal_(1.5, 2, generator=g)
    want = r.standard_normal(6, dtype=np.float32) * np.float32(2) + np.float32(1.5)
    np.testing.assert_array_equal(t.numpy(), want)
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
