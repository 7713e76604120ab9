"""Random shape pairs through every broadcasting binary op and matmul.

Hundreds of seeded shape pairs (0 to 3 dims, sizes 0 to 3): each op either matches numpy
(values, shape, dtype) or raises ``mg.ShapeError`` (a ValueError) naming both shapes, exactly
where numpy raises. Where the forward succeeds, backward gives each input a gradient of its own
shape (and, with PyTorch installed, the same values as PyTorch).
"""
import operator

import numpy as np
import pytest

import minigrad as mg

N_PAIRS = 300


def _random_shape(rng):
    return tuple(int(n) for n in rng.integers(0, 4, size=rng.integers(0, 4)))


def _broadcast_shape_pairs(seed=0):
    """Random pairs, half of them nudged towards broadcastable (copy a dim, or use 1)."""
    rng = np.random.default_rng(seed)
    pairs = []
    for _ in range(N_PAIRS):
        a, b = _random_shape(rng), list(_random_shape(rng))
        if rng.random() < 0.5:
            for i in range(1, min(len(a), len(b)) + 1):
                b[-i] = a[-i] if rng.random() < 0.6 else 1
        pairs.append((a, tuple(b)))
    return pairs


def _matmul_shape_pairs(seed=1):
    """Random pairs; in most of them b's contracted dim is set to a's last dim."""
    rng = np.random.default_rng(seed)
    pairs = []
    for _ in range(N_PAIRS):
        a, b = _random_shape(rng), list(_random_shape(rng))
        if a and b and rng.random() < 0.7:
            b[0 if len(b) == 1 else -2] = a[-1]
            for i in range(3, min(len(a), len(b)) + 1):  # batch dims, mostly compatible
                b[-i] = a[-i] if rng.random() < 0.7 else 1
        pairs.append((a, tuple(b)))
    return pairs


BROADCAST_PAIRS = _broadcast_shape_pairs()
MATMUL_PAIRS = _matmul_shape_pairs()


def _values(rng, shape, dtype, positive=False):
    v = rng.uniform(0.5, 2.0, size=shape)
    if not positive:
        v = v * rng.choice([-1.0, 1.0], size=shape)
    return np.asarray(v, dtype=dtype)


def _numpy_or_error(fn, a, b):
    try:
        return np.asarray(fn(a, b)), None
    except ValueError as exc:
        return None, exc


ARITHMETIC = {"add": operator.add, "sub": operator.sub, "mul": operator.mul,
              "truediv": operator.truediv, "pow": operator.pow}
COMPARISON = {"eq": operator.eq, "ne": operator.ne, "lt": operator.lt, "le": operator.le,
              "gt": operator.gt, "ge": operator.ge}


def _check_pair(fn, a, b, expected, numpy_error, problems, shapes):
    """Run fn on minigrad tensors and record how it differs from numpy's outcome."""
    try:
        out = fn(mg.tensor(a), mg.tensor(b))
    except mg.ShapeError as exc:
        if numpy_error is None:
            problems.append((shapes, f"raised ShapeError but numpy succeeds: {exc}"))
        elif not all(str(s) in str(exc) for s in shapes):
            problems.append((shapes, f"message does not name both shapes: {exc}"))
        elif not isinstance(exc, ValueError):
            problems.append((shapes, "ShapeError is not a ValueError"))
        return None
    except Exception as exc:  # noqa: BLE001 - any other exception is a crash to report
        problems.append((shapes, f"crashed with {type(exc).__name__}: {exc}"))
        return None
    if numpy_error is not None:
        problems.append((shapes, (f"numpy raises ({numpy_error}) but minigrad returned "
                                 f"shape {tuple(out.shape)}")))
        return None
    if tuple(out.shape) != expected.shape:
        problems.append((shapes, f"shape {tuple(out.shape)} != numpy's {expected.shape}"))
    elif out.numpy().dtype != expected.dtype:
        problems.append((shapes, f"dtype {out.numpy().dtype} != numpy's {expected.dtype}"))
    elif not np.allclose(out.numpy(), expected, rtol=1e-6, atol=1e-6, equal_nan=True):
        problems.append((shapes, "values differ from numpy"))
    return out


def _format(problems):
    return "\n".join(f"{shapes}: {what}" for shapes, what in problems[:20]) + (
        f"\n... {len(problems)} problems in all" if len(problems) > 20 else "")


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", list(ARITHMETIC))
def test_arithmetic_matches_numpy_or_raises_shape_error(backend, name, dtype):
    fn = ARITHMETIC[name]
    rng = np.random.default_rng(2)
    problems, successes = [], 0
    for shape_a, shape_b in BROADCAST_PAIRS:
        a = _values(rng, shape_a, dtype, positive=(name == "pow"))
        b = _values(rng, shape_b, dtype)
        expected, numpy_error = _numpy_or_error(fn, a, b)
        out = _check_pair(fn, a, b, expected, numpy_error, problems, (shape_a, shape_b))
        successes += out is not None
    assert not problems, _format(problems)
    assert 100 < successes < N_PAIRS  # the pairs exercise both outcomes


@pytest.mark.parametrize("name", list(COMPARISON))
def test_comparisons_match_numpy_or_raise_shape_error(backend, name):
    fn = COMPARISON[name]
    rng = np.random.default_rng(3)
    problems = []
    for shape_a, shape_b in BROADCAST_PAIRS:
        # Small integers as floats, so that equal elements are common.
        a = rng.integers(0, 3, size=shape_a).astype(np.float32)
        b = rng.integers(0, 3, size=shape_b).astype(np.float32)
        expected, numpy_error = _numpy_or_error(fn, a, b)
        out = _check_pair(fn, a, b, expected, numpy_error, problems, (shape_a, shape_b))
        if out is not None and out.dtype != mg.bool:
            problems.append(((shape_a, shape_b), f"comparison gave {out.dtype}, not bool"))
    assert not problems, _format(problems)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_matmul_matches_numpy_or_raises_shape_error(backend, dtype):
    rng = np.random.default_rng(4)
    problems, successes = [], 0
    for shape_a, shape_b in MATMUL_PAIRS:
        a, b = _values(rng, shape_a, dtype), _values(rng, shape_b, dtype)
        expected, numpy_error = _numpy_or_error(np.matmul, a, b)
        out = _check_pair(operator.matmul, a, b, expected, numpy_error, problems,
                          (shape_a, shape_b))
        successes += out is not None
    assert not problems, _format(problems)
    assert 100 < successes < N_PAIRS


def _backward_problems(fn, pairs, seed, positive_a=False, ref=None):
    torch = None
    try:
        import torch
    except ImportError:  # pragma: no cover - shapes are still checked
        pass
    rng = np.random.default_rng(seed)
    problems, checked = [], 0
    for shape_a, shape_b in pairs:
        a = _values(rng, shape_a, np.float64, positive=positive_a)
        b = _values(rng, shape_b, np.float64)
        if _numpy_or_error(ref or fn, a, b)[1] is not None:
            continue
        x = mg.tensor(a, requires_grad=True)
        y = mg.tensor(b, requires_grad=True)
        try:
            out = fn(x, y)
            upstream = rng.standard_normal(tuple(out.shape))
            out.backward(mg.tensor(upstream))
        except Exception as exc:  # noqa: BLE001 - report every crash
            problems.append(((shape_a, shape_b), f"{type(exc).__name__}: {exc}"))
            continue
        checked += 1
        if x.grad is None or y.grad is None:
            problems.append(((shape_a, shape_b), "an input got no gradient"))
            continue
        if tuple(x.grad.shape) != shape_a or tuple(y.grad.shape) != shape_b:
            problems.append(((shape_a, shape_b), (f"gradient shapes {tuple(x.grad.shape)}, "
                                                 f"{tuple(y.grad.shape)}")))
            continue
        if torch is not None:
            tx = torch.tensor(a, requires_grad=True)
            ty = torch.tensor(b, requires_grad=True)
            fn(tx, ty).backward(torch.tensor(upstream))
            if not (np.allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-10, atol=1e-12)
                    and np.allclose(y.grad.numpy(), ty.grad.numpy(), rtol=1e-10, atol=1e-12)):
                problems.append(((shape_a, shape_b), "gradients differ from torch"))
    return problems, checked


@pytest.mark.parametrize("name", list(ARITHMETIC))
def test_arithmetic_backward_gives_input_shaped_gradients(backend, name):
    problems, checked = _backward_problems(ARITHMETIC[name], BROADCAST_PAIRS, seed=5,
                                           positive_a=(name == "pow"))
    assert not problems, _format(problems)
    assert checked > 100


def test_matmul_backward_gives_input_shaped_gradients(backend):
    problems, checked = _backward_problems(operator.matmul, MATMUL_PAIRS, seed=6)
    assert not problems, _format(problems)
    assert checked > 100


@pytest.mark.parametrize("name", ["maximum", "minimum", "where"])
def test_selection_ops_match_numpy_or_raise_shape_error(backend, name):
    ops = {"maximum": (lambda a, b: _lib(a).maximum(a, b), np.maximum),
           "minimum": (lambda a, b: _lib(a).minimum(a, b), np.minimum),
           "where": (lambda a, b: _lib(a).where(a > 0, a, b), lambda a, b: np.where(a > 0, a, b))}
    fn, ref = ops[name]
    rng = np.random.default_rng(7)
    problems = []
    for shape_a, shape_b in BROADCAST_PAIRS:
        a, b = _values(rng, shape_a, np.float64), _values(rng, shape_b, np.float64)
        expected, numpy_error = _numpy_or_error(ref, a, b)
        _check_pair(fn, a, b, expected, numpy_error, problems, (shape_a, shape_b))
    assert not problems, _format(problems)
    backward_problems, _ = _backward_problems(fn, BROADCAST_PAIRS, seed=8, ref=ref)
    assert not backward_problems, _format(backward_problems)


def _lib(t):
    """minigrad or torch, whichever ``t`` belongs to (the same code runs on both)."""
    return mg if isinstance(t, mg.Tensor) else __import__("torch")
