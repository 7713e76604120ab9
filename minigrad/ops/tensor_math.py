"""The tensor side of the namespace that backward formulas are written against.

Under ``backward(create_graph=True)`` the engine runs each op's backward formula with ``xp`` set
to this module: the same names as the array side (``minigrad/_kernels/arraymath.py`` plus the
kernels), the same meaning, but on Tensors, and every step is a recorded op. The gradient that
comes out therefore has a graph of its own, and can be differentiated again. Arguments that are
numpy arrays or Python numbers are constants.
"""
import numpy as np

from ..autograd.graph import _constant, tensor_type
from . import elementwise as E
from . import index as I
from . import linalg as L
from . import nn as N
from . import reduce as R
from . import shape as S
from .linalg import MatMul


def values(x):
    """The numpy values of x (for masks and other constants a formula derives)."""
    return x._data if isinstance(x, tensor_type()) else x


def add(a, b):
    return E.Add.apply(a, b)


def sub(a, b):
    return E.Sub.apply(a, b)


def mul(a, b):
    return E.Mul.apply(a, b)


def div(a, b):
    return E.Div.apply(a, b)


def neg(x):
    return E.Neg.apply(x)


def pow(x, exponent):
    return E.Pow.apply(x, exponent)


def exp(x):
    return E.Exp.apply(x)


def log(x):
    return E.Log.apply(x)


def sqrt(x):
    return E.Sqrt.apply(x)


def log1p(x):
    return E.Log1p.apply(x)


def sin(x):
    return E.Sin.apply(x)


def cos(x):
    return E.Cos.apply(x)


def sinh(x):
    return E.Sinh.apply(x)


def cosh(x):
    return E.Cosh.apply(x)


def zeros_like(x):
    """Zeros of x's shape and dtype: a constant (no graph)."""
    return _constant(np.zeros(tuple(x.shape), dtype=values(x).dtype))


def softplus(x):
    return E.Softplus.apply(x)


def maximum(a, b):
    return E.Maximum.apply(a, b)


def where(condition, a, b):
    return E.Where.apply(np.asarray(condition, dtype=bool), a, b)


def sigmoid(x):
    return E.Sigmoid.apply(x)


def tanh(x):
    return E.Tanh.apply(x)


def relu(x):
    return E.ReLU.apply(x)


def softmax(x, axis):
    return N.Softmax.apply(x, axis)


def log_softmax(x, axis):
    return N.LogSoftmax.apply(x, axis)


def relu_backward(x, grad):
    """grad where x > 0 (NaN x passes grad, as PyTorch's threshold_backward), else 0."""
    return where(~(values(x) <= 0), grad, 0.0)


def leaky_relu_backward(x, grad, negative_slope):
    return where(values(x) > 0, grad, mul(grad, negative_slope))


def sigmoid_backward(y, grad):
    """grad * y * (1 - y), with y = sigmoid(x) a tensor whose graph leads back to x."""
    return mul(grad, mul(y, sub(1.0, y)))


def tanh_backward(y, grad):
    """grad * (1 - y * y), with y = tanh(x)."""
    return mul(grad, sub(1.0, mul(y, y)))


def linear_backward(grad, x, weight, need_x, need_weight, need_bias):
    """(grad @ weight, grad^T @ x, sum of grad's rows), each only if asked for."""
    return (matmul(grad, weight) if need_x else None,
            matmul(mT(grad), x) if need_weight else None,
            sum(grad, 0) if need_bias else None)


def linear_act_backward(grad, y, x, weight, act, need_x, need_weight, need_bias):
    """Linear's gradients of dz = grad * act'(z), act'(z) read from the output y."""
    dz = _ACTIVATION_GRADS[act](y, grad)  # relu's: y > 0 exactly where z > 0
    return linear_backward(dz, x, weight, need_x, need_weight, need_bias)


_ACTIVATION_GRADS = {"relu": relu_backward, "sigmoid": sigmoid_backward,
                     "tanh": tanh_backward}


def cast(x, dtype):
    return x if x._data.dtype == dtype else E.Cast.apply(x, np.dtype(dtype))


def clone(x):
    return E.Clone.apply(x)


def sum(x, axis=None, keepdims=False):
    return R.Sum.apply(x, axis=axis, keepdims=keepdims)


def sum_to(grad, shape):
    """Sum ``grad`` down to ``shape`` over the axes broadcasting added or stretched."""
    shape = tuple(shape)
    grad_shape = tuple(grad.shape)
    if grad_shape == shape:
        return grad
    extra = len(grad_shape) - len(shape)
    if extra:
        grad = sum(grad, tuple(range(extra)))
        grad_shape = grad_shape[extra:]
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and grad_shape[i] != 1)
    if axes:
        grad = sum(grad, axes, True)
    return grad


def sum_backward(grad, shape, axis, keepdims):
    """The gradient of a sum over ``axis``: ``grad`` broadcast back to ``shape``."""
    if not keepdims and axis is not None:
        grad = reshape(grad, np.expand_dims(np.empty(tuple(grad.shape)), axis).shape)
    return S.Expand.apply(grad, tuple(shape))


def reshape(x, shape):
    return S.Reshape.apply(x, tuple(shape))


def permute(x, axes):
    return S.Permute.apply(x, tuple(axes))


def mT(x):
    axes = list(range(x.ndim))
    axes[-1], axes[-2] = axes[-2], axes[-1]
    return permute(x, axes)


def matmul(a, b):
    return MatMul.apply(a, b)


def split(x, bounds, axis):
    edges = (0,) + tuple(bounds) + (tuple(x.shape)[axis],)
    lead = (slice(None),) * axis
    return tuple(index(x, lead + (slice(lo, hi),)) for lo, hi in zip(edges[:-1], edges[1:]))


def unstack(x, axis, count):
    lead = (slice(None),) * axis
    return tuple(index(x, lead + (i,)) for i in range(count))


def index(x, index):
    return I.Index.apply(x, index)


def scatter_index(grad, index, shape):
    return I.ScatterIndex.apply(grad, index, tuple(shape))


def index_put(x, index, value):
    return I.IndexPut.apply(x, value, index)


def take_along_axis(x, indices, axis):
    return I.TakeAlongAxis.apply(x, indices, axis)


def scatter_along_axis(grad, indices, axis, shape):
    return I.ScatterAlongAxis.apply(grad, indices, axis, tuple(shape))


# ----- convolution family (ops/conv.py) ------------------------------------------------------


def conv2d(x, weight, bias, stride, padding, dilation, groups):
    from . import conv as C
    return C.Conv2d.apply(x, weight, bias, stride=stride, padding=padding, dilation=dilation,
                          groups=groups)


def conv2d_input_grad(grad_output, weight, input_size, stride, padding, dilation, groups):
    from . import conv as C
    return C.ConvTranspose2d.apply(grad_output, weight, None, input_size=tuple(input_size),
                                   stride=stride, padding=padding, dilation=dilation,
                                   groups=groups)


def conv2d_weight_grad(x, grad_output, kernel_size, stride, padding, dilation, groups):
    from . import conv as C
    return C.Conv2dWeightGrad.apply(x, grad_output, kernel_size=tuple(kernel_size),
                                    stride=stride, padding=padding, dilation=dilation,
                                    groups=groups)


def conv2d_backward(grad_output, x, weight, stride, padding, dilation, groups, need_x,
                    need_weight, need_bias):
    """(dL/dx, dL/dweight, dL/dbias) of a convolution, each only if asked for."""
    return (conv2d_input_grad(grad_output, weight, tuple(x.shape[2:]), stride, padding,
                              dilation, groups) if need_x else None,
            conv2d_weight_grad(x, grad_output, tuple(weight.shape[2:]), stride, padding,
                               dilation, groups) if need_weight else None,
            sum(grad_output, (0, 2, 3)) if need_bias else None)


def im2col(x, kernel_size, output_size, stride, padding, dilation):
    from . import conv as C
    return C.Im2col.apply(x, kernel_size=kernel_size, output_size=output_size, stride=stride,
                          padding=padding, dilation=dilation)


def col2im(cols, input_size, kernel_size, output_size, stride, padding, dilation):
    from . import conv as C
    return C.Col2im.apply(cols, input_size=tuple(input_size), kernel_size=kernel_size,
                          output_size=output_size, stride=stride, padding=padding,
                          dilation=dilation)


def pool_gather(x, indices):
    from . import conv as C
    return C.PoolGather.apply(x, indices=indices)


def pool_scatter(grad_output, indices, input_size):
    from . import conv as C
    return C.PoolScatter.apply(grad_output, indices=indices, input_size=tuple(input_size))


def avg_pool2d(x, rows, cols, divisor):
    from . import conv as C
    return C.AvgPool2d.apply(x, rows=rows, cols=cols, divisor=divisor)


def avg_pool2d_backward(grad_output, rows, cols, divisor, input_size):
    from . import conv as C
    return C.AvgPool2dBackward.apply(grad_output, rows=rows, cols=cols, divisor=divisor,
                                     input_size=tuple(input_size))


def constant_pad(x, pads, value):
    from . import conv as C
    return C.ConstantPad.apply(x, pads=tuple(pads), value=value)
# ----- reductions and scans -------------------------------------------------------------------


def prod(x, axis=None, keepdims=False):
    return R.Prod.apply(x, axis=axis, keepdims=keepdims)


def cumsum(x, axis, reverse=False):
    return R.CumSum.apply(x, axis, reverse=reverse)


def cumprod(x, axis):
    return R.CumProd.apply(x, axis)


def linear_scan(g, a, axis, reverse=False):
    return R.LinearScan.apply(g, a, axis, reverse=reverse)


def logcumsumexp(x, axis, reverse=False):
    return R.LogCumSumExp.apply(x, axis, reverse=reverse)


def put_along_axis(x, indices, values, axis):
    return I.PutAlongAxis.apply(x, values, indices, axis)


def scatter_reduce(x, src, indices, axis, reduce, include_self):
    return I.ScatterReduce.apply(x, src, indices=indices, axis=axis, reduce=reduce,
                                 include_self=include_self)
# ----- shape, layout and products (the shape ops' backward formulas) -------------------------


def zeros(shape, dtype):
    """Zeros of ``shape``, a constant (no graph)."""
    return _constant(np.zeros(shape, dtype=dtype))


def expand(x, shape):
    return S.Expand.apply(x, tuple(shape))


def flip(x, axes):
    return S.Flip.apply(x, tuple(axes))


def roll(x, shifts, axes):
    return S.Roll.apply(x, shifts, axes)


def tril(x, k):
    return S.Tril.apply(x, k)


def triu(x, k):
    return S.Triu.apply(x, k)


def diagonal(x, offset, axis1, axis2):
    return S.Diagonal.apply(x, (offset, axis1, axis2))


def diagonal_scatter(grad, shape, offset, axis1, axis2):
    return S.DiagonalScatter.apply(grad, tuple(shape), offset, axis1, axis2)


def repeat_interleave(x, repeats, axis):
    return S.RepeatInterleave.apply(x, repeats, axis)


def segment_sum(grad, repeats, axis, size):
    return S.SegmentSum.apply(grad, repeats, axis, size)


def unfold(x, axis, size, step):
    return S.Unfold.apply(x, (axis, size, step))


def unfold_backward(grad, shape, axis, size, step):
    return S.UnfoldBackward.apply(grad, tuple(shape), axis, size, step)


def cross(a, b, axis):
    return L.Cross.apply(a, b, axis)


def outer(a, b):
    return L.Outer.apply(a, b)


def einsum(equation, *operands):
    return L.Einsum.apply(*operands, equation=equation)


def cat(tensors, axis):
    return S.Cat.apply(*tensors, axis=axis)


# ----- activations (ops/activation.py) -------------------------------------------------------


def erf(x):
    return E.Erf.apply(x)
