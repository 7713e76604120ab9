"""Matrix products."""
import numpy as np

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
        if need_a:
            grad_a = xp.matmul(grad2, xp.mT(b2))
            if len(a_shape) == 1:
                grad_a = xp.reshape(xp.sum_to(grad_a, (1,) + a_shape), a_shape)
        if need_b:
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
