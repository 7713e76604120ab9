"""Matrix products."""
import functools

import numpy as np

from .._kernels import arraymath
from .._kernels import kernels as K
from ..autograd.graph import Op
from ..errors import ShapeError


class MatMul(Op):
    """out = a @ b with numpy's rules (1-D, 2-D, batched N-D);
    d out/da = grad @ b^T,  d out/db = a^T @ grad  (summed over broadcast batch axes)."""

    def forward(self, a, b):
        self.saved_tensors = (a, b)
        if a.ndim == 2 and b.ndim == 2 and a.dtype == b.dtype:
            return K.matmul(a, b)
        return np.matmul(a, b)

    def backward(self, grad, xp):
        a, b = self.saved_tensors
        need_a, need_b = self.needs_input_grad
        if a.ndim == 2 and b.ndim == 2:
            return (xp.matmul(grad, xp.mT(b)) if need_a else None,
                    xp.matmul(xp.mT(a), grad) if need_b else None)
        # Lift 1-D operands to matrices, as matmul itself does; the engine sums the batch
        # axes away, and 1-D results are reshaped back here.
        a_shape, b_shape = tuple(a.shape), tuple(b.shape)
        a2 = xp.reshape(a, (1,) + a_shape) if len(a_shape) == 1 else a
        b2 = xp.reshape(b, b_shape + (1,)) if len(b_shape) == 1 else b
        g_shape = tuple(grad.shape)
        if len(b_shape) == 1:
            g_shape = g_shape + (1,)
        if len(a_shape) == 1:
            g_shape = g_shape[:-1] + (1,) + g_shape[-1:]
        grad2 = xp.reshape(grad, g_shape)
        grad_a = grad_b = None
        # A 1-D operand makes the other's gradient an outer product: (n, 1) @ (1, m) is a
        # matmul with an inner size of 1, which numpy runs ~4x slower than the broadcast
        # multiply giving the same numbers, and that ~3x slower than the outer-product kernel.
        if need_a:
            if len(b_shape) == 1 and len(a_shape) == 2:
                grad_a = xp.outer(grad, b)
            elif len(b_shape) == 1:
                grad_a = xp.mul(grad2, b)
            else:
                grad_a = xp.matmul(grad2, xp.mT(b2))
            if len(a_shape) == 1:
                grad_a = xp.reshape(xp.sum_to(grad_a, (1,) + a_shape), a_shape)
        if need_b:
            if len(a_shape) == 1 and len(b_shape) == 2:
                grad_b = xp.outer(a, grad)
            elif len(a_shape) == 1:
                grad_b = xp.mul(xp.reshape(a, a_shape + (1,)), grad2)
            else:
                grad_b = xp.matmul(xp.mT(a2), grad2)
            if len(b_shape) == 1:
                grad_b = xp.reshape(xp.sum_to(grad_b, b_shape + (1,)), b_shape)
        return grad_a, grad_b


def check_matmul_shapes(a_shape, b_shape):
    """Raise ShapeError, naming both shapes, where numpy's matmul would reject them."""
    if len(a_shape) == 0 or len(b_shape) == 0:
        raise ShapeError(f"matmul: both arguments need at least 1 dimension, got shapes "
                         f"{tuple(a_shape)} and {tuple(b_shape)}")
    k_a = a_shape[-1]
    k_b = b_shape[0] if len(b_shape) == 1 else b_shape[-2]
    if k_a != k_b:
        raise ShapeError(f"matmul: shapes {tuple(a_shape)} and {tuple(b_shape)} cannot be "
                         f"multiplied ({k_a} != {k_b})")
    if len(a_shape) <= 2 and len(b_shape) <= 2:
        return
    try:
        np.broadcast_shapes(a_shape[:-2], b_shape[:-2])
    except ValueError:
        raise ShapeError(f"matmul: batch dimensions of shapes {tuple(a_shape)} and "
                         f"{tuple(b_shape)} do not broadcast") from None


class Einsum(Op):
    """out = einsum(equation, *operands) for an explicit equation whose labels have one size
    in every operand (the Python layer expands broadcast operands first);
    d out/d operand_i = einsum of the gradient with the other operands, back to operand i's
    labels: a label only operand i has is broadcast back (times a vector of ones), and a
    label repeated in operand i puts the gradient on that diagonal (times an identity)."""

    may_broadcast = False

    def forward(self, *operands, equation):
        self.saved_tensors = operands
        self.equation = equation
        return arraymath.einsum(equation, *operands)

    def backward(self, grad, xp):
        operands = self.saved_tensors
        inputs, output = self.equation.split("->")
        if len(operands) == 1 and len(set(inputs)) == len(inputs):
            # A sum over some axes (and a permutation): the gradient is broadcast back, a
            # view, where an einsum with vectors of ones would write every element.
            shape = tuple(operands[0].shape)
            order = sorted(range(len(output)), key=lambda k: inputs.index(output[k]))
            kept = [n if label in output else 1 for label, n in zip(inputs, shape)]
            return xp.expand(xp.reshape(xp.permute(grad, tuple(order)), tuple(kept)), shape)
        shapes = tuple(tuple(x.shape) for x in operands)
        dtype = xp.values(grad).dtype
        grads = []
        for i, need in enumerate(self.needs_input_grad):
            if not need:
                grads.append(None)
                continue
            equation, constants = _einsum_grad_plan(self.equation, shapes, i, dtype.str)
            others = [x for j, x in enumerate(operands) if j != i]
            grads.append(xp.einsum(equation, grad, *others, *constants))
        return tuple(grads)


@functools.lru_cache(maxsize=1024)
def _einsum_grad_plan(equation, shapes, i, dtype):
    """The einsum giving the gradient of operand ``i`` of ``equation`` (operands of
    ``shapes``) from the output's gradient and the other operands, and the constant operands
    it needs (ones for labels only operand i has, identities for its repeated labels); cached,
    the constants are never written to."""
    inputs, output = equation.split("->")
    subscripts = inputs.split(",")
    terms = [output] + [s for j, s in enumerate(subscripts) if j != i]
    available = set(output).union(*terms[1:])
    unused = iter(sorted(set(_LETTERS) - set(equation)))
    constants, target, seen = [], [], set()
    for label, n in zip(subscripts[i], shapes[i]):
        if label in seen:  # a repeated label: its gradient lies on a diagonal
            fresh = next(unused)
            terms.append(label + fresh)
            constants.append(np.eye(n, dtype=dtype))
            target.append(fresh)
            continue
        seen.add(label)
        if label not in available:  # summed in operand i alone: broadcast back
            terms.append(label)
            constants.append(np.ones(n, dtype=dtype))
        target.append(label)
    for c in constants:
        c.flags.writeable = False
    return ",".join(terms) + "->" + "".join(target), tuple(constants)


_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


class Dot(Op):
    """out = sum_i a[i] * b[i] (1-D, one dtype);  d out/da = grad * b,  d out/db = grad * a."""

    may_broadcast = False

    def forward(self, a, b):
        self.saved_tensors = (a, b)
        return np.asarray(np.dot(a, b))

    def backward(self, grad, xp):
        a, b = self.saved_tensors
        need_a, need_b = self.needs_input_grad
        return (xp.mul(grad, b) if need_a else None, xp.mul(grad, a) if need_b else None)


class Outer(Op):
    """out[i, j] = a[i] * b[j];  d out/da = grad @ b,  d out/db = grad^T @ a."""

    may_broadcast = False

    def forward(self, a, b):
        self.saved_tensors = (a, b)
        return K.outer(a, b)

    def backward(self, grad, xp):
        a, b = self.saved_tensors
        need_a, need_b = self.needs_input_grad
        return (xp.matmul(grad, b) if need_a else None,
                xp.matmul(xp.mT(grad), a) if need_b else None)


class Addr(Op):
    """out = beta * input + alpha * outer(vec1, vec2), input broadcast to (n, m) (beta = 0:
    input's values are not read, so its NaN and inf do not propagate), one pass;
    d out/d input = beta * grad (summed back to input's shape by the engine),
    d out/d vec1 = alpha * grad @ vec2,  d out/d vec2 = alpha * grad^T @ vec1."""

    def forward(self, input, vec1, vec2, beta=1, alpha=1):
        self.saved_tensors = (vec1, vec2)
        self.beta, self.alpha = beta, alpha
        return K.addr(None if beta == 0 else input, vec1, vec2, beta, alpha)

    def backward(self, grad, xp):
        vec1, vec2 = self.saved_tensors
        need_input, need_vec1, need_vec2 = self.needs_input_grad
        beta, alpha = self.beta, self.alpha
        scaled = grad if alpha == 1 else xp.mul(grad, alpha)
        return (None if not need_input else grad if beta == 1 else xp.mul(grad, beta),
                xp.matmul(scaled, vec2) if need_vec1 else None,
                xp.matmul(xp.mT(scaled), vec1) if need_vec2 else None)


class Cross(Op):
    """out = a x b along ``axis`` (3-vectors, broadcast);  d out/da = b x grad,
    d out/db = grad x a (the cross product is bilinear and antisymmetric)."""

    def forward(self, a, b, axis):
        self.saved_tensors = (a, b)
        self.axis = axis
        return arraymath.cross(a, b, axis)

    def backward(self, grad, xp):
        a, b = self.saved_tensors
        need_a, need_b, _ = self.needs_input_grad
        return (xp.cross(b, grad, self.axis) if need_a else None,
                xp.cross(grad, a, self.axis) if need_b else None, None)


class Kron(Op):
    """out = the Kronecker product of a and b (same number of axes): out viewed as
    (a0, b0, a1, b1, ...) is a[i0, i1, ...] * b[j0, j1, ...];
    d out/da = sum over the b axes of grad * b,  d out/db = sum over the a axes of grad * a.

    Large products keep the last pair of axes merged, as one contiguous axis of
    a_last * b_last: the operands are then a repeated along it and b tiled along it, and the
    multiply and the sums run along long contiguous rows rather than rows of b_last elements
    (about 9x faster at 10^6 elements); small ones skip making those copies. The short axes
    of b_last or a_last elements left in the gradients are summed by a product with ones."""

    may_broadcast = False

    def forward(self, a, b):
        self.saved_tensors = (a, b)
        self.merge = a.ndim > 0 and a.size * b.size >= _KRON_MERGE_MIN
        a_view, b_view, _ = _kron_operands(a, b, arraymath, self.merge)
        return np.multiply(a_view, b_view).reshape(
            [n * m for n, m in zip(a.shape, b.shape)])

    def backward(self, grad, xp):
        a, b = self.saved_tensors
        need_a, need_b = self.needs_input_grad
        a_shape, b_shape = tuple(a.shape), tuple(b.shape)
        a_view, b_view, split = _kron_operands(a, b, xp, self.merge)
        grad = xp.reshape(grad, split)
        pairs = len(a_shape) - 1 if self.merge else len(a_shape)
        grad_a = grad_b = None
        if need_a:
            grad_a = _sum_axes(xp.mul(grad, b_view), tuple(range(1, 2 * pairs, 2)), xp)
            if self.merge:  # (..., a_last * b_last) -> (..., a_last)
                grad_a = xp.matmul(xp.reshape(grad_a, a_shape + b_shape[-1:]),
                                   _ones(b_shape[-1], grad, xp))
            grad_a = xp.reshape(grad_a, a_shape)
        if need_b:
            grad_b = _sum_axes(xp.mul(grad, a_view), tuple(range(0, 2 * pairs, 2)), xp)
            if self.merge:  # (..., a_last * b_last) -> (..., b_last)
                grad_b = xp.matmul(_ones(a_shape[-1], grad, xp),
                                   xp.reshape(grad_b, b_shape[:-1] + (a_shape[-1],) +
                                              b_shape[-1:]))
            grad_b = xp.reshape(grad_b, b_shape)
        return grad_a, grad_b


# Products at least this large (elements) take Kron's merged last axis.
_KRON_MERGE_MIN = 4096


def _kron_operands(a, b, xp, merge):
    """a and b reshaped (or, merged, expanded and reshaped) so that their broadcast product,
    of shape ``split``, is the Kronecker product seen as (a0, b0, a1, b1, ...)."""
    a_shape, b_shape = tuple(a.shape), tuple(b.shape)
    if not merge:
        a_view = xp.reshape(a, tuple(n for m in a_shape for n in (m, 1)))
        b_view = xp.reshape(b, tuple(n for m in b_shape for n in (1, m)))
        return a_view, b_view, tuple(n for pair in zip(a_shape, b_shape) for n in pair)
    a_last, b_last = a_shape[-1], b_shape[-1]
    merged = a_last * b_last
    # a repeated b_last times along its last axis, b tiled a_last times (copies: a reshape
    # of a broadcast)
    a_rep = xp.reshape(xp.expand(xp.reshape(a, a_shape + (1,)), a_shape + (b_last,)),
                       a_shape[:-1] + (merged,))
    b_tile = xp.reshape(xp.expand(xp.reshape(b, b_shape[:-1] + (1, b_last)),
                                  b_shape[:-1] + (a_last, b_last)), b_shape[:-1] + (merged,))
    lead = tuple(zip(a_shape[:-1], b_shape[:-1]))
    a_view = xp.reshape(a_rep, tuple(n for m, _ in lead for n in (m, 1)) + (merged,))
    b_view = xp.reshape(b_tile, tuple(n for _, m in lead for n in (1, m)) + (merged,))
    return a_view, b_view, tuple(n for pair in lead for n in pair) + (merged,)


def _sum_axes(x, axes, xp):
    return xp.sum(x, axes) if axes else x


def _ones(n, like, xp):
    """A constant vector of n ones in like's dtype: a sum over a short last axis as a matrix
    product with it runs ~20x faster than numpy's sum (which reduces each row of a few
    elements on its own)."""
    return np.ones(n, dtype=xp.values(like).dtype)
