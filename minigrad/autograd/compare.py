"""``compare``: a hand-derived gradient next to autograd's (the ``cmp`` of the "backprop
ninja" exercise in Karpathy's makemore series).

::

    loss.backward()
    dlogits = (softmax(logits) - onehot(y)) / n          # derived by hand
    mg.autograd.compare("logits", dlogits, logits)       # logits.retain_grad() before backward
    # logits          | exact: False | approximate: True  | max difference: 2.3e-09

"exact" means every element is bit-for-bit equal (a hand formula that does the same float
operations in the same order); "approximate" means ``|hand - autograd| <= atol + rtol *
|autograd|`` element-wise (numpy's ``allclose``, the usual verdict: a correct formula written
differently rounds differently); the maximum absolute difference says by how much.
"""
import numpy as np

from ..errors import ShapeError
from . import graph

__all__ = ["Comparison", "compare"]


class Comparison(tuple):
    """``(name, exact, approximate, max_difference)``, also as attributes."""

    __slots__ = ()

    def __new__(cls, name, exact, approximate, max_difference):
        return super().__new__(cls, (name, exact, approximate, max_difference))

    name = property(lambda self: self[0])
    exact = property(lambda self: self[1])
    approximate = property(lambda self: self[2])
    max_difference = property(lambda self: self[3])

    def __str__(self):
        return (f"{self.name:15s} | exact: {self.exact!s:5s} | approximate: "
                f"{self.approximate!s:5s} | max difference: {self.max_difference:.3g}")

    def __repr__(self):
        return (f"Comparison(name={self.name!r}, exact={self.exact}, approximate="
                f"{self.approximate}, max_difference={self.max_difference!r})")


def compare(name, hand_gradient, tensor, rtol=1e-5, atol=1e-8, verbose=True):
    """Compare ``hand_gradient`` (a Tensor, numpy array or number) with ``tensor.grad``.

    tensor: a leaf after ``backward()``, or a non-leaf that called ``retain_grad()`` before.
    Returns a ``Comparison(name, exact, approximate, max_difference)`` and, when ``verbose``,
    prints it as one line. The shapes must be equal (a hand gradient of the wrong shape is the
    commonest bug of the exercise): a ``ShapeError`` names both."""
    Tensor = graph.tensor_type()
    if not isinstance(tensor, Tensor):
        raise TypeError(f"compare: tensor must be a Tensor, got {type(tensor).__name__}")
    grad = tensor._grad
    if grad is None:
        hint = ("call backward() first" if tensor._grad_fn is None else
                "call retain_grad() on it before backward(): a non-leaf keeps no .grad")
        raise RuntimeError(f"compare({name!r}): the tensor has no .grad; {hint}")
    expected = grad._data
    hand = hand_gradient._data if isinstance(hand_gradient, Tensor) else \
        np.asarray(hand_gradient)
    if hand.shape != expected.shape:
        raise ShapeError(f"compare({name!r}): the hand gradient has shape {tuple(hand.shape)} "
                         f"but the tensor's gradient has shape {tuple(expected.shape)}")
    exact = bool(np.array_equal(hand, expected))
    approximate = bool(np.allclose(hand, expected, rtol=rtol, atol=atol))
    if hand.size:
        difference = np.abs(hand.astype(np.float64) - expected.astype(np.float64))
        max_difference = float(np.max(difference))
    else:
        max_difference = 0.0
    result = Comparison(name, exact, approximate, max_difference)
    if verbose:
        print(result)
    return result
