"""Random sampling ops: a sample whose parameters are tensors (``normal(mean, std)``,
``bernoulli(p)``, ``poisson(rates)``, the in-place samplers ``t.normal_()``...).

A sample is not a differentiable function of its parameters here, as in PyTorch: the output
takes part in the graph (it requires grad when a parameter does) and every parameter gets a
zero gradient (PyTorch's derivatives.yaml: ``mean: zeros_like(grad)``...).
"""
import numpy as np

from ..autograd.graph import Op


class Sample(Op):
    """out = ``draw(*params)``, a random sample (the draw runs once, in forward);
    d out/d params = 0."""

    may_broadcast = False

    def forward(self, *params, draw):
        self.shapes = tuple(np.shape(p) for p in params)
        return draw(*params)

    def backward(self, grad, xp):
        dtype = xp.values(grad).dtype
        return tuple(xp.zeros(shape, dtype) for shape in self.shapes)
