"""Tutorial 2: write your own op, and prove its derivative right.
==============================================================

A custom op is a ``mg.autograd.Function`` in PyTorch's ctx style (the same class body runs on
torch): ``forward`` computes the value and saves what the derivative needs, ``backward`` turns
dL/d(output) into dL/d(input). Our op is SiLU (swish), silu(x) = x * sigmoid(x)::

    d silu / dx = s + x s (1 - s),   with s = sigmoid(x)

``gradcheck`` compares that formula with central finite differences, element by element, in
float64; ``gradgradcheck`` does the same for the derivative of the backward itself (needed by
double backward: gradient penalties, Hessians). Because ``backward`` below is written with
Tensor operations, autograd can differentiate it, and gradgradcheck passes with no extra code.
We also write a wrong backward (a forgotten term) and watch gradcheck catch it.

Run::

    python docs/tutorials/02_write_your_own_op.py
"""
import argparse

import numpy as np

import minigrad as mg
from minigrad.autograd import Function, gradcheck, gradgradcheck

argparse.ArgumentParser().parse_known_args()


class SiLU(Function):
    """silu(x) = x * sigmoid(x);  d silu/dx = s + x s (1 - s)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)  # save the input; recompute sigmoid in backward
        return x * x.sigmoid()

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        s = x.sigmoid()
        return grad_output * (s + x * s * (1 - s))


class WrongSiLU(Function):
    """The same forward with a classic slip: the product rule's second term forgotten."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x.sigmoid()

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        return grad_output * x.sigmoid()  # missing + x s (1 - s)


mg.manual_seed(0)
x = mg.randn(5, 3, dtype=mg.float64, requires_grad=True)

# 1. it computes the right values (against numpy)
y = SiLU.apply(x)
assert np.allclose(y.numpy(), x.numpy() / (1 + np.exp(-x.numpy())))
print("forward matches x / (1 + exp(-x))")

# 2. its derivative agrees with finite differences
assert gradcheck(SiLU.apply, (x,))
print("gradcheck: the backward formula agrees with (f(x + eps) - f(x - eps)) / (2 eps)")

# 3. so does the derivative of its derivative
assert gradgradcheck(SiLU.apply, (x,))
print("gradgradcheck: the backward is itself differentiable, and right")

# 4. a wrong formula is caught, with the worst element named
ok = gradcheck(WrongSiLU.apply, (x,), raise_exception=False)
assert ok is False
try:
    gradcheck(WrongSiLU.apply, (x,))
except mg.autograd.GradcheckError as error:
    print("gradcheck on the wrong backward:\n   ", str(error).splitlines()[0])

# 5. the op in a model: autograd uses our backward, and compare() checks a hand gradient
x.grad = None
loss = SiLU.apply(x).sum()
loss.backward()
s = 1 / (1 + np.exp(-x.numpy()))
assert mg.autograd.compare("x", s + x.numpy() * s * (1 - s), x).approximate

# 6. the custom node shows up in the graph and in the trace under its own name
with mg.autograd.trace() as t:
    (SiLU.apply(x) ** 2).mean().backward()
print(t)
assert [r.op for r in t] == ["MeanBackward0", "PowBackward0", "SiLUBackward"]
picture = mg.viz.draw_graph((SiLU.apply(x) ** 2).mean(), params={"x": x})
assert "SiLU\\n(5, 3)" in picture.source

print("\nall checks passed")
