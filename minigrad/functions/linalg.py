"""Products: matmul and friends, einsum, kron, cross.

Each function checks its arguments as PyTorch does (ranks, sizes, dtypes) and composes the
differentiable ops of ``minigrad/ops/linalg.py``: ``MatMul`` for the matrix products,
``Einsum`` (forward as batched matmuls, backward as einsums) for einsum and inner, ``Outer``,
``Kron`` and ``Cross``.
"""
import functools
import warnings

import numpy as np

from .. import dtypes as _dt
from .. import ops
from ..autograd.grad_mode import state as _grad_state
from ..ops import linalg as L
from ..tensor import Tensor, _as_type, _axis, _broadcastable, matmul
from .creation import c_name, with_out

__all__ = ["addbmm", "addmm", "addmv", "addmv_", "addr", "baddbmm", "bmm", "chain_matmul", "cross", "dot",
           "einsum", "ger", "inner", "kron", "matmul", "mm", "multi_dot", "mv", "outer",
           "vdot"]
METHODS = ["addbmm", "addbmm_", "addmm", "addmm_", "addmv", "addmv_", "addr", "addr_",
           "baddbmm", "baddbmm_", "bmm", "cross", "dot", "ger", "inner", "kron", "mm", "mv",
           "outer", "vdot"]

_ = (matmul,)


def _tensor(value, name, position="input"):
    if not isinstance(value, Tensor):
        raise TypeError(f"{name}(): argument '{position}' must be Tensor, not "
                        f"{type(value).__name__}")
    return value


def _legacy(x):
    return _dt.from_numpy_dtype(x._data.dtype).legacy_name


def _shape(x):
    return list(x._data.shape)


def _promoted(*tensors):
    """The tensors converted to their common dtype (PyTorch's promotion)."""
    want = tensors[0]._data.dtype
    for x in tensors[1:]:
        if x._data.dtype != want:
            want = _dt.result_type(np.empty((1,), want), np.empty((1,), x._data.dtype))
    return [_as_type(x, want) for x in tensors]


# =============================================================================================
# Vector and matrix products
# =============================================================================================


@with_out(exact=True)
def dot(input, other, *, out=None):
    """The inner product of two 1-D tensors of one dtype and size."""
    a, b = _tensor(input, "dot"), _tensor(other, "dot", "tensor")
    if a._data.ndim != 1 or b._data.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {a._data.ndim}D and {b._data.ndim}D "
                           f"tensors")
    if a._data.dtype != b._data.dtype:
        raise RuntimeError(f"dot : expected both vectors to have same dtype, but found "
                           f"{_legacy(a)} and {_legacy(b)}")
    if a._data.size != b._data.size:
        raise RuntimeError(f"inconsistent tensor size, expected tensor [{a._data.size}] and src "
                           f"[{b._data.size}] to have the same number of elements, but got "
                           f"{a._data.size} and {b._data.size} elements respectively")
    return L.Dot.apply(a, b)


@with_out(exact=True)
def vdot(input, other, *, out=None):
    """``dot`` with the first argument conjugated: for real dtypes, ``dot``."""
    return dot(input, other)


@with_out()
def outer(input, vec2, *, out=None):
    """out[i, j] = input[i] * vec2[j] for 1-D inputs."""
    return L.Outer.apply(*_outer_operands(input, vec2))


def _outer_operands(input, vec2):
    """outer's arguments checked as PyTorch checks them, promoted to one dtype."""
    a, b = _tensor(input, "outer"), _tensor(vec2, "outer", "vec2")
    if a._data.ndim != 1:
        raise RuntimeError(f"outer: Expected 1-D argument self, but got {a._data.ndim}-D")
    if b._data.ndim != 1:
        raise RuntimeError(f"outer: Expected 1-D argument vec2, but got {b._data.ndim}-D")
    return _promoted(a, b)


ger = outer


@with_out()
def inner(input, other, *, out=None):
    """Sum over the last dimensions: out[i..., j...] = sum_k input[i..., k] * other[j..., k]
    (a product with a 0-d tensor is elementwise)."""
    a, b = _tensor(input, "inner"), _tensor(other, "inner", "other")
    if a._data.dtype != b._data.dtype:
        raise RuntimeError("both inputs should have same dtype")
    if a._data.ndim == 0 or b._data.ndim == 0:
        return a * b
    if a._data.shape[-1] != b._data.shape[-1]:
        raise RuntimeError(f"inner() the last dimension must match on both input tensors but "
                           f"got shapes {_shape(a)} and {_shape(b)}")
    na, nb = a._data.ndim - 1, b._data.ndim - 1
    letters = L._LETTERS
    sa, sb = letters[:na] + "z", letters[na:na + nb] + "z"
    return L.Einsum.apply(a, b, equation=f"{sa},{sb}->{sa[:-1] + sb[:-1]}")


@with_out(exact=True)
def mm(input, mat2, *, out=None):
    """The product of two matrices (n, m) @ (m, p) -> (n, p), of one dtype."""
    a, b = _tensor(input, "mm"), _tensor(mat2, "mm", "mat2")
    if a._data.ndim != 2:
        raise RuntimeError("self must be a matrix")
    if b._data.ndim != 2:
        raise RuntimeError("mat2 must be a matrix")
    if a._data.shape[1] != b._data.shape[0]:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({a._data.shape[0]}x"
                           f"{a._data.shape[1]} and {b._data.shape[0]}x{b._data.shape[1]})")
    if a._data.dtype != b._data.dtype:
        raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: "
                           f"{c_name(a._data.dtype)} != {c_name(b._data.dtype)}")
    return ops.MatMul.apply(a, b)


@with_out(exact=True)
def mv(input, vec, *, out=None):
    """The product of a matrix (n, m) and a vector (m,) -> (n,)."""
    a, v = _tensor(input, "mv"), _tensor(vec, "mv", "vec")
    if a._data.ndim != 2 or v._data.ndim != 1:
        raise RuntimeError(f"vector + matrix @ vector expected, got 1, {a._data.ndim}, "
                           f"{v._data.ndim}")
    if a._data.shape[1] != v._data.shape[0]:
        raise RuntimeError(f"size mismatch, got input ({a._data.shape[0]}), mat "
                           f"({a._data.shape[0]}x{a._data.shape[1]}), vec ({v._data.shape[0]})")
    if a._data.dtype != v._data.dtype:
        raise RuntimeError(f"addmv input tensors must have the same dtype, but got "
                           f"{_legacy(a)}, {_legacy(a)}, and {_legacy(v)}")
    return ops.MatMul.apply(a, v)


@with_out(exact=True)
def bmm(input, mat2, *, out=None):
    """Batched matrix products (b, n, m) @ (b, m, p) -> (b, n, p)."""
    a, b = _tensor(input, "bmm"), _tensor(mat2, "bmm", "mat2")
    _check_bmm(a, b)
    return ops.MatMul.apply(a, b)


def _check_bmm(a, b):
    if a._data.ndim != 3:
        raise RuntimeError("batch1 must be a 3D tensor")
    if b._data.ndim != 3:
        raise RuntimeError("batch2 must be a 3D tensor")
    (batch, _, m), (batch2, m2, _) = a._data.shape, b._data.shape
    if (batch2, m2) != (batch, m):
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: "
                           f"[{batch}, {m}] but got: [{batch2}, {m2}].")
    if a._data.dtype != b._data.dtype:
        raise RuntimeError(f"expected scalar type {_legacy(a)} but found {_legacy(b)}")


# ----- input * beta + product * alpha ---------------------------------------------------------


def _scaled_sum(input, product, beta, alpha, name):
    """beta * input + alpha * product, input broadcast to the product's shape. With beta = 0
    the input's values are ignored (NaN and inf in it do not propagate) but it still gets its
    (zero) gradient, as in PyTorch."""
    shape = product._data.shape
    if not _broadcastable(input._data.shape, shape) or \
            np.broadcast_shapes(input._data.shape, shape) != shape:
        _expand_error(input._data.shape, shape)
    if input._data.dtype != product._data.dtype:
        raise RuntimeError(f"self and mat2 must have the same dtype, but got {_legacy(input)} "
                           f"and {_legacy(product)}")
    if alpha != 1:
        product = product * alpha
    if beta == 0:
        if input._requires_grad and _grad_state.enabled:
            return ops.Where.apply(np.zeros(shape, dtype=bool), input, product)
        return product if product._data.shape == shape else product.expand(shape)
    return (input if beta == 1 else input * beta) + product


def _expand_error(have, target):
    lead = len(target) - len(have)
    for i, n in enumerate(have):
        if n != 1 and n != target[lead + i]:
            raise RuntimeError(f"The expanded size of the tensor ({target[lead + i]}) must "
                               f"match the existing size ({n}) at non-singleton dimension "
                               f"{lead + i}.  Target sizes: {list(target)}.  Tensor sizes: "
                               f"{list(have)}")
    raise RuntimeError(f"expand: the input of shape {list(have)} cannot be expanded to "
                       f"{list(target)}")


@with_out(exact=True)
def addmm(input, mat1, mat2, *, beta=1, alpha=1, out=None):
    """beta * input + alpha * (mat1 @ mat2); input broadcasts to (n, p)."""
    x = _tensor(input, "addmm")
    return _scaled_sum(x, mm(mat1, mat2), beta, alpha, "addmm")


@with_out(exact=True)
def addmv(input, mat, vec, *, beta=1, alpha=1, out=None):
    """beta * input + alpha * (mat @ vec); input broadcasts to (n,)."""
    x = _tensor(input, "addmv")
    return _scaled_sum(x, mv(mat, vec), beta, alpha, "addmv")


@with_out(exact=True)
def addr(input, vec1, vec2, *, beta=1, alpha=1, out=None):
    """beta * input + alpha * outer(vec1, vec2); input broadcasts to (n, m)."""
    x = _tensor(input, "addr")
    a, b = _outer_operands(vec1, vec2)
    shape = (a._data.shape[0], b._data.shape[0])
    x_shape = x._data.shape
    if a._data.dtype == x._data.dtype and a._data.dtype.kind == "f" and len(x_shape) <= 2 \
            and all(n in (1, m) for n, m in zip(x_shape[::-1], shape[::-1])):
        # one pass (ops.linalg.Addr) where the composition below makes two
        return L.Addr.apply(x, a, b, beta=float(beta), alpha=float(alpha))
    return _scaled_sum(x, L.Outer.apply(a, b), beta, alpha, "addr")


@with_out(exact=True)
def baddbmm(input, batch1, batch2, *, beta=1, alpha=1, out=None):
    """beta * input + alpha * bmm(batch1, batch2); input broadcasts to (b, n, p)."""
    x = _tensor(input, "baddbmm")
    return _scaled_sum(x, bmm(batch1, batch2), beta, alpha, "baddbmm")


@with_out(exact=True)
def addbmm(input, batch1, batch2, *, beta=1, alpha=1, out=None):
    """beta * input + alpha * (the sum over the batch of bmm(batch1, batch2)); input
    broadcasts to (n, p)."""
    x = _tensor(input, "addbmm")
    a, b = _tensor(batch1, "addbmm", "batch1"), _tensor(batch2, "addbmm", "batch2")
    for m in (a, b):  # PyTorch reads the third dimension first
        _axis(2, m._data.ndim)
    _check_bmm(a, b)
    product = L.Einsum.apply(a, b, equation="bij,bjk->ik")
    return _scaled_sum(x, product, beta, alpha, "addbmm")


def _inplace_product(fn):
    def method(self, *args, beta=1, alpha=1):
        operands = tuple(a for a in args if isinstance(a, Tensor))
        return self._inplace(lambda x: fn(x, *args, beta=beta, alpha=alpha), operands)

    method.__name__ = fn.__name__ + "_"
    method.__doc__ = f"``{fn.__name__}`` in place."
    return method


addmm_ = _inplace_product(addmm)
addmv_ = _inplace_product(addmv)
addr_ = _inplace_product(addr)
baddbmm_ = _inplace_product(baddbmm)
addbmm_ = _inplace_product(addbmm)


# =============================================================================================
# Chains, Kronecker and cross products
# =============================================================================================


@with_out()
def multi_dot(tensors, *, out=None):
    """The product of a chain of matrices (the first may be 1-D, a row; the last 1-D, a
    column), multiplied in the order that costs fewest multiplications."""
    tensors = list(tensors)
    if len(tensors) < 2:
        raise RuntimeError(f"multi_dot(): expected at least 2 tensors but got {len(tensors)}")
    for i, x in enumerate(tensors):
        _tensor(x, "multi_dot", "tensors")
        nd = x._data.ndim
        if not (nd == 2 or (nd == 1 and i in (0, len(tensors) - 1))):
            where = "first" if i == 0 else ("last" if i == len(tensors) - 1 else None)
            if where:
                raise RuntimeError(f"multi_dot(): the {where} tensor must be 1D or 2D but got "
                                   f"{nd}D")
            raise RuntimeError(f"multi_dot(): tensor {i} must be 2D but got {nd}D")
    dtype = tensors[0]._data.dtype
    for x in tensors[1:]:
        if x._data.dtype != dtype:
            raise RuntimeError(f"multi_dot(): all tensors must have be the same dtype but "
                               f"tensor 0 is {_legacy(tensors[0])} and tensor "
                               f"{tensors.index(x)} is {_legacy(x)}")
    first_1d = tensors[0]._data.ndim == 1
    last_1d = tensors[-1]._data.ndim == 1
    mats = list(tensors)
    if first_1d:
        mats[0] = mats[0].unsqueeze(0)
    if last_1d:
        mats[-1] = mats[-1].unsqueeze(1)
    for i in range(len(mats) - 1):
        if mats[i]._data.shape[1] != mats[i + 1]._data.shape[0]:
            raise RuntimeError(f"multi_dot(): tensors {i} and {i + 1} with shapes "
                               f"{_shape(tensors[i])} and {_shape(tensors[i + 1])} cannot be "
                               f"multiplied")
    result = _chain(mats)
    if first_1d and last_1d:
        return result.reshape(())
    if first_1d:
        return result.reshape(result._data.shape[1])
    if last_1d:
        return result.reshape(result._data.shape[0])
    return result


def _chain(mats):
    """The product of matrices in the cheapest order (the classic O(n^3) dynamic program)."""
    n = len(mats)
    dims = [m._data.shape[0] for m in mats] + [mats[-1]._data.shape[1]]
    cost = [[0] * n for _ in range(n)]
    split = [[0] * n for _ in range(n)]
    for length in range(1, n):
        for i in range(n - length):
            j = i + length
            cost[i][j] = None
            for k in range(i, j):
                c = cost[i][k] + cost[k + 1][j] + dims[i] * dims[k + 1] * dims[j + 1]
                if cost[i][j] is None or c < cost[i][j]:
                    cost[i][j], split[i][j] = c, k

    def product(i, j):
        if i == j:
            return mats[i]
        k = split[i][j]
        return ops.MatMul.apply(product(i, k), product(k + 1, j))

    return product(0, n - 1)


@with_out()
def chain_matmul(*matrices, out=None):
    """The product of 2-D matrices (deprecated in PyTorch for ``linalg.multi_dot``)."""
    warnings.warn("torch.chain_matmul is deprecated and will be removed in a future PyTorch "
                  "release. Use torch.linalg.multi_dot instead, which accepts a list of two or "
                  "more tensors rather than multiple parameters.", UserWarning, stacklevel=2)
    if len(matrices) == 1 and isinstance(matrices[0], (list, tuple)):
        matrices = tuple(matrices[0])
    if not matrices:
        raise RuntimeError("chain_matmul(): Expected one or more matrices")
    for x in matrices:
        _tensor(x, "chain_matmul", "matrices")
        if x._data.ndim != 2:
            raise RuntimeError(f"Tensor dimension is {x._data.ndim}, expected 2 instead.")
    if len(matrices) == 1:
        return matrices[0].clone()
    return multi_dot(matrices)


@with_out()
def kron(input, other, *, out=None):
    """The Kronecker product: blocks input[i, j...] * other (the tensor with fewer dimensions
    gets leading ones)."""
    a, b = _tensor(input, "kron"), _tensor(other, "kron", "other")
    a, b = _promoted(a, b)
    nd = max(a._data.ndim, b._data.ndim)
    if a._data.ndim < nd:
        a = a.reshape((1,) * (nd - a._data.ndim) + a._data.shape)
    if b._data.ndim < nd:
        b = b.reshape((1,) * (nd - b._data.ndim) + b._data.shape)
    return L.Kron.apply(a, b)


@with_out()
def cross(input, other, dim=None, *, out=None):
    """The cross product of 3-vectors along ``dim`` (input and other broadcast). Without
    ``dim``, the first dimension of size 3 (deprecated in PyTorch, with a warning)."""
    a, b = _tensor(input, "cross"), _tensor(other, "cross", "other")
    if a._data.dtype != b._data.dtype:
        raise RuntimeError(f"expected scalar type {_legacy(a)} but found {_legacy(b)}")
    if a._data.ndim != b._data.ndim:
        raise RuntimeError("linalg.cross: inputs must have the same number of dimensions.")
    try:
        shape = np.broadcast_shapes(a._data.shape, b._data.shape)
    except ValueError:
        raise RuntimeError(f"linalg.cross: the shapes {_shape(a)} and {_shape(b)} do not "
                           f"broadcast") from None
    if dim is None:
        warnings.warn("Using torch.cross without specifying the dim arg is deprecated.\nPlease "
                      "either pass the dim explicitly or simply use torch.linalg.cross.\nThe "
                      "default value of dim will change to agree with that of linalg.cross in "
                      "a future release.", UserWarning, stacklevel=2)
        sizes = [i for i, n in enumerate(shape) if n == 3]
        if not sizes:
            raise RuntimeError("no dimension of size 3 in input")
        axis = sizes[0]
    else:
        axis = _axis(dim, len(shape))
    if a._data.shape[axis] != 3 or b._data.shape[axis] != 3:
        raise RuntimeError(f"linalg.cross: inputs dimension {axis} must have length 3. Got "
                           f"{a._data.shape[axis]} and {b._data.shape[axis]}")
    return L.Cross.apply(a, b, axis)


# =============================================================================================
# einsum
# =============================================================================================


def einsum(*args):
    """Einstein summation, as ``torch.einsum``: ``einsum("ij,jk->ik", a, b)`` or the sublist
    form ``einsum(a, [0, 1], b, [1, 2], [0, 2])``. Subscripts are letters; ``...`` stands for
    the dimensions not named (broadcast across operands); without ``->`` the output is the
    ellipsis dimensions then the labels used once, in alphabetical order (upper case first).
    Labels of size 1 broadcast. Computed as PyTorch does: pairwise, left to right, each pair as
    one batched matrix product."""
    if not args:
        raise ValueError("einsum(): must specify the equation string and at least one operand, "
                         "or at least one operand and its subscripts list")
    if isinstance(args[0], str):
        equation, operands = args[0], list(args[1:])
        if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
            operands = list(operands[0])
    else:
        equation, operands = _sublist_equation(args)
    if not operands:
        raise RuntimeError("einsum(): must provide at least one operand")
    for x in operands:
        _tensor(x, "einsum", "operands")
    explicit, operands = _normalized(equation.replace(" ", ""), operands)
    if len(operands) == 1:
        term, out = explicit.split("->")
        if set(term) == set(out):
            return _einsum_view(operands[0], term, out)
    dtype = operands[0]._data.dtype
    for x in operands[1:]:
        if x._data.dtype != dtype:
            raise RuntimeError(f"expected scalar type {_legacy(operands[0])} but found "
                               f"{_legacy(x)}")
    return L.Einsum.apply(*operands, equation=explicit)


def _einsum_view(x, term, out):
    """A one-operand einsum that sums nothing ("ij->ji", "ii->i", "bii->bi"): diagonals and
    a permutation, all views (as PyTorch returns)."""
    labels = list(term)
    while len(set(labels)) != len(labels):
        label = next(c for c in labels if labels.count(c) > 1)
        first = labels.index(label)
        second = labels.index(label, first + 1)
        x = x.diagonal(0, first, second)  # the diagonal becomes the last dimension
        labels = [c for k, c in enumerate(labels) if k not in (first, second)] + [label]
    order = [labels.index(c) for c in out]
    return x.permute(*order)


def _sublist_equation(args):
    """The equation of the sublist form (operand, [labels], operand, [labels], ..., [out])."""
    args = list(args)
    output = args.pop() if len(args) % 2 == 1 else None
    operands, terms = args[0::2], args[1::2]

    def spell(labels):
        out = ""
        for label in labels:
            if label is Ellipsis:
                out += "..."
            elif isinstance(label, int) and 0 <= label < 52:
                out += L._LETTERS[label]
            else:
                raise RuntimeError(f"einsum(): expected subscript to be within the range "
                                   f"[0, 52), but got {label}")
        return out

    equation = ",".join(spell(t) for t in terms)
    if output is not None:
        equation += "->" + spell(output)
    return equation, operands


def _normalized(equation, operands):
    """The equation with explicit output, its ellipses spelled out as letters, and the
    operands expanded where a label of size 1 meets a larger one."""
    explicit, wants = _parse(equation, tuple(x._data.shape for x in operands))
    return explicit, [x if want is None else x.expand(want) for x, want in zip(operands, wants)]


@functools.lru_cache(maxsize=1024)
def _parse(equation, shapes):
    """(explicit equation, the shape each operand is expanded to or None), with PyTorch's
    errors; cached on the equation and the shapes (a loop calls the same einsum every
    step)."""
    if "->" in equation:
        inputs, output = equation.split("->", 1)
    else:
        inputs, output = equation, None
    terms = inputs.split(",")
    if len(terms) < len(shapes):
        raise RuntimeError("einsum(): more operands were provided than specified in the "
                           "equation")
    if len(terms) > len(shapes):
        raise RuntimeError("einsum(): fewer operands were provided than specified in the "
                           "equation")
    position = 0
    for term in terms + ([output] if output is not None else []):
        stripped = term.replace("...", "")
        if term.count("...") > 1 or "." in stripped:
            raise RuntimeError("einsum(): found '.' for operand 0 that is not part of any "
                               "ellipsis")
        for k, c in enumerate(term):
            if c != "." and c not in L._LETTERS:
                raise RuntimeError(f"einsum(): invalid subscript given at index "
                                   f"{position + k} in the equation string, subscripts must "
                                   f"be in [a-zA-Z]")
        position += len(term) + 1
    used = set(equation) & set(L._LETTERS)
    spare = [c for c in L._LETTERS if c not in used]
    ellipsis_dims = []
    for i, (term, x) in enumerate(zip(terms, shapes)):
        named = len(term.replace("...", ""))
        nd = len(x)
        if "..." in term:
            if named > nd:
                raise RuntimeError(f"einsum(): the number of subscripts in the equation "
                                   f"({named}) is more than the number of dimensions ({nd}) "
                                   f"for operand {i}")
            ellipsis_dims.append(nd - named)
        else:
            if named != nd:
                raise RuntimeError(f"einsum(): the number of subscripts in the equation "
                                   f"({named}) does not match the number of dimensions ({nd}) "
                                   f"for operand {i} and no ellipsis was given")
            ellipsis_dims.append(0)
    n_ell = max(ellipsis_dims, default=0)
    if n_ell > len(spare):
        raise RuntimeError("einsum(): too many dimensions: the labels run out")
    ell = "".join(spare[:n_ell])
    spelled = [term.replace("...", ell[n_ell - k:] if k else "")
               for term, k in zip(terms, ellipsis_dims)]
    if output is None:
        counts = {}
        for term in terms:
            for c in term.replace("...", ""):
                counts[c] = counts.get(c, 0) + 1
        out = ell + "".join(sorted(c for c, n in counts.items() if n == 1))
    else:
        out = output.replace("...", ell)
        seen = set()
        for c in output.replace("...", ""):
            if c in seen:
                raise RuntimeError(f"einsum(): output subscript {c} appears more than once in "
                                   f"the output")
            seen.add(c)
            if not any(c in term for term in terms):
                raise RuntimeError(f"einsum(): output subscript {c} does not appear in the "
                                   f"equation for any input operand")
    # Sizes: a label repeated in one operand must agree there; across operands, sizes of 1
    # broadcast.
    sizes = {}
    for i, (term, x) in enumerate(zip(spelled, shapes)):
        local = {}
        for c, n in zip(term, x):
            if c in local and local[c] != n:
                raise RuntimeError(f"einsum(): subscript {c} is repeated for operand {i} but the "
                                   f"sizes don't match, {local[c]} != {n}")
            local[c] = n
        for c, n in local.items():
            have = sizes.get(c)
            if have is None or have == 1:
                sizes[c] = n
            elif n != 1 and n != have:
                if c in ell:
                    raise RuntimeError(f"einsum(): dimension {ell.index(c)} covered by ellipsis "
                                       f"in operand {i}has size {n} which does not broadcast "
                                       f"with previously seen ellipsis with size {have} for "
                                       f"the respective dimension")
                raise RuntimeError(f"einsum(): subscript {c} has size {n} for operand {i} "
                                   f"which does not broadcast with previously seen size {have}")
    wants = []
    for term, x in zip(spelled, shapes):
        want = tuple(sizes[c] for c in term)
        wants.append(None if want == tuple(x) else want)
    return ",".join(spelled) + "->" + out, tuple(wants)
