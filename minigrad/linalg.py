"""``minigrad.linalg``: the norms of ``torch.linalg`` (implemented with the other reductions
in ``minigrad/functions/reduce.py``). All are differentiable twice; their gradients follow
PyTorch's (0 where the norm is 0)."""
from .functions import reduce as _reduce

__all__ = ["matrix_norm", "norm", "vector_norm"]


def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None):
    """``(sum |x|^ord)^(1/ord)`` over ``dim`` (all elements if None); ord inf / -inf: the
    largest / smallest ``|x|``; 0: the number of non-zero elements."""
    return _reduce._vector_norm(x, ord, dim, keepdim, dtype=dtype)


def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False, *, dtype=None):
    """The norm of the matrices over the two dims ``dim``: 'fro' (sqrt of the sum of squares),
    1 / -1 (largest / smallest column sum of ``|a|``), inf / -inf (the same for rows). 'nuc', 2
    and -2 need a singular value decomposition, which minigrad does not have."""
    return _reduce._matrix_norm(A, ord, dim, keepdim, dtype=dtype)


def norm(A, ord=None, dim=None, keepdim=False, *, dtype=None):
    """A vector norm over one dim (or, with ord and dim both None, the 2-norm of all
    elements), a matrix norm over two dims (or of a 2-D input when only ord is given)."""
    return _reduce._linalg_norm(A, ord, dim, keepdim, dtype=dtype)
