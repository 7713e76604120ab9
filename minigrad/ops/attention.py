"""Scaled dot-product attention as one op of the graph.

    S = q @ k^T * scale + bias,   P = softmax(S, -1),   A = P * mask,   out = A @ v

with q (*, L, E), k (*, S, E), v (*, S, Ev), bias broadcastable to (*, L, S) or None (the
additive mask: -inf where attention is not allowed), mask the scaled dropout mask (a
constant) or None. With g = dL/dout:

    dv = A^T @ g,   dA = g @ v^T,   dP = dA * mask,   dS = P * (dP - sum(dP * P, -1)),
    dq = dS @ k * scale,   dk = dS^T @ q * scale,   dbias = dS (summed to bias's shape).

A query row whose keys are all masked (bias -inf throughout) gets P = 0, so its output and
gradients are 0 (PyTorch's safe softmax) rather than NaN. The fast path keeps P from forward; under create_graph it is recomputed from q, k and bias
with ``xp`` (double backward).
"""
import numpy as np

from .._kernels import kernels as K
from ..autograd.graph import Op


def _softmax_last(s):
    s = s - np.max(s, axis=-1, keepdims=True)
    np.exp(s, out=s)
    s /= np.sum(s, axis=-1, keepdims=True)
    return s


class ScaledDotProductAttention(Op):
    """One node for attention (see the module docstring for the math)."""

    def forward(self, q, k, v, bias, scale, dropout_mask):
        self.saved_tensors = (q, k, v, bias)
        self.scale, self.dropout_mask = scale, dropout_mask
        s = np.matmul(q, np.swapaxes(k, -1, -2))
        s *= scale
        self.dead = None
        if bias is not None:
            dead = np.all(np.isneginf(bias), axis=-1, keepdims=True)
            if dead.any():
                self.dead = dead  # a constant: which rows have no key to attend to
                bias = np.where(dead, 0.0, bias).astype(s.dtype, copy=False)
            s = s + bias
        p = _softmax_last(s)
        if self.dead is not None:
            p = p * ~self.dead
        self.probs = p  # fast path only
        a = p if dropout_mask is None else p * dropout_mask
        return np.matmul(a, v)

    def _probs(self, xp):
        q, k, _v, bias = self.saved_tensors
        s = xp.mul(xp.matmul(q, xp.mT(k)), self.scale)
        if bias is not None:
            if self.dead is not None:
                bias = xp.where(self.dead, 0.0, bias)
            s = xp.add(s, bias)
        p = xp.softmax(s, len(tuple(s.shape)) - 1)
        if self.dead is not None:
            p = xp.mul(p, (~self.dead).astype(xp.values(p).dtype))
        return p

    def backward(self, grad, xp):
        q, k, v, _bias = self.saved_tensors
        need_q, need_k, need_v, need_bias = self.needs_input_grad[:4]
        p = self.probs if xp is K else self._probs(xp)
        mask = self.dropout_mask
        a = p if mask is None else xp.mul(p, mask)
        dv = xp.matmul(xp.mT(a), grad) if need_v else None
        dq = dk = ds = None
        if need_q or need_k or need_bias:
            dp = xp.matmul(grad, xp.mT(v))
            if mask is not None:
                dp = xp.mul(dp, mask)
            last = len(tuple(dp.shape)) - 1  # the recorded Sum wants a non-negative axis
            ds = xp.mul(p, xp.sub(dp, xp.sum(xp.mul(dp, p), last, True)))
            if need_q:
                dq = xp.mul(xp.matmul(ds, k), self.scale)
            if need_k:
                dk = xp.mul(xp.matmul(xp.mT(ds), q), self.scale)
        return dq, dk, dv, (ds if need_bias else None), None, None
