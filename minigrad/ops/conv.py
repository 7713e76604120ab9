"""Convolution, pooling, padding, fold/unfold: the ops behind ``nn.Conv2d`` and friends.

Every op here works on 2-D images, arrays of shape (N, C, H, W); the functions in
``nn/functional_conv.py`` run the 1-D forms on (N, C, 1, L) and check every argument first.
Window parameters are pairs (height, width): ``stride``, ``dilation``, the kernel size, and
``padding`` as ((top, bottom), (left, right)) for a convolution.

The ops come in adjoint pairs, which is what makes every one of them differentiable any
number of times. A convolution is linear in its input and in its weight, so its three
derivatives are again convolutions:

    y = conv(x, w)                   (Conv2d)
    dL/dx = conv_T(g, w)             (ConvTranspose2d: a transposed convolution)
    dL/dw = conv_w(x, g)             (Conv2dWeightGrad: windows of x against g)

and each of conv_T and conv_w is bilinear too, with derivatives among the same three, because
<conv(x, w), g> = <x, conv_T(g, w)> = <w, conv_w(x, g)>. Likewise Im2col/Col2im (unfold/fold),
AvgPool2d/AvgPool2dBackward and PoolGather/PoolScatter (max pooling: the maximum's position
is a constant, so the op is a gather and its derivative a scatter) are each other's
transposes, and a constant pad's derivative is a crop, i.e. a pad by minus the amounts.

The kernels (``K.conv2d``...) are the compiled ones in ``_kernels/_conv.pyx`` on the fast path;
under ``create_graph=True`` the backward formulas call the same names in ``tensor_math.py``,
which apply these ops.
"""
import numpy as np

from .._kernels import kernels as K
from ..autograd.graph import Op


def _crop(y, size, xp):
    """y (N, C, H', W') cut to its first ``size`` (H, W) rows and columns, if larger (the
    outputs a transposed convolution's output_padding dropped)."""
    h, w = size
    if tuple(y.shape[2:]) == (h, w):
        return y
    return xp.index(y, (slice(None), slice(None), slice(0, h), slice(0, w)))


class Conv2d(Op):
    """y = conv(x, weight) + bias (cross-correlation, as in PyTorch).

    x (N, C, H, W), weight (O, C/groups, kh, kw), bias (O,) or None, y (N, O, Ho, Wo):

        y[n, o, p, q] = bias[o] + sum_{c, i, j} weight[o, c, i, j]
                                   * x[n, g(o)*C/groups + c, p*sh - top + i*dh, q*sw - left + j*dw]

    With g = dL/dy:  dL/dx = conv_T(g, weight),  dL/dweight = conv_w(x, g),
    dL/dbias = sum of g over (N, Ho, Wo).
    """

    may_broadcast = False

    def forward(self, x, weight, bias, stride, padding, dilation, groups):
        self.saved_tensors = (x, weight)
        self.options = (stride, padding, dilation, groups)
        return K.conv2d(x, weight, bias, stride, padding, dilation, groups)

    def backward(self, grad, xp):
        x, weight = self.saved_tensors
        stride, padding, dilation, groups = self.options
        need_x, need_weight, need_bias = self.needs_input_grad
        # the three in one call: on the fast path they share g's rearrangement
        return xp.conv2d_backward(grad, x, weight, stride, padding, dilation, groups, need_x,
                                  need_weight, need_bias)


class ConvTranspose2d(Op):
    """y = conv_T(x, weight) + bias: the transposed convolution, i.e. the gradient of a
    convolution of an image of spatial size ``input_size`` with respect to that image.

    x (N, O, Ho, Wo) (O = weight.shape[0]), weight (O, C/groups, kh, kw), bias (C,) or None,
    y (N, C, H, W) with (H, W) = ``input_size``. Each x[n, o, p, q] adds weight[o, :, i, j] x
    at y[n, :, p*sh - top + i*dh, q*sw - left + j*dw]. Since <conv_T(x, w), h> =
    <x, conv(h, w)> for every h of y's shape, with h = dL/dy:

        dL/dx = conv(h, weight) (cut to x's size),  dL/dweight = conv_w(h, x),
        dL/dbias = sum of h over (N, H, W).
    """

    may_broadcast = False

    def forward(self, x, weight, bias, input_size, stride, padding, dilation, groups):
        self.saved_tensors = (x, weight)
        self.options = (stride, padding, dilation, groups)
        y = K.conv2d_input_grad(x, weight, input_size, stride, padding, dilation, groups)
        if bias is not None:
            y += bias.reshape(1, -1, 1, 1)
        return y

    def backward(self, grad, xp):
        x, weight = self.saved_tensors
        stride, padding, dilation, groups = self.options
        need_x, need_weight, need_bias = self.needs_input_grad
        grad_x = grad_weight = grad_bias = None
        if need_x:
            grad_x = _crop(xp.conv2d(grad, weight, None, stride, padding, dilation, groups),
                           tuple(x.shape[2:]), xp)
        if need_weight:
            grad_weight = xp.conv2d_weight_grad(grad, x, tuple(weight.shape[2:]), stride,
                                                padding, dilation, groups)
        if need_bias:
            grad_bias = xp.sum(grad, (0, 2, 3))
        return grad_x, grad_weight, grad_bias


class Conv2dWeightGrad(Op):
    """w = conv_w(x, g): the gradient of conv(x, weight) with respect to the weight, for
    g = dL/dy (N, O, Ho, Wo); w (O, C/groups, kh, kw) with (kh, kw) = ``kernel_size``:

        w[o, c, i, j] = sum_{n, p, q} g[n, o, p, q] x[n, g(o)*C/groups + c, p*sh - top + i*dh, ...]

    Since <conv_w(x, g), h> = <g, conv(x, h)> = <x, conv_T(g, h)> for h = dL/dw:
    dL/dx = conv_T(g, h),  dL/dg = conv(x, h) (cut to g's size).
    """

    may_broadcast = False

    def forward(self, x, grad_output, kernel_size, stride, padding, dilation, groups):
        self.saved_tensors = (x, grad_output)
        self.options = (stride, padding, dilation, groups)
        return K.conv2d_weight_grad(x, grad_output, kernel_size, stride, padding, dilation,
                                    groups)

    def backward(self, grad, xp):
        x, grad_output = self.saved_tensors
        stride, padding, dilation, groups = self.options
        need_x, need_grad_output = self.needs_input_grad
        grad_x = grad_g = None
        if need_x:
            grad_x = xp.conv2d_input_grad(grad_output, grad, tuple(x.shape[2:]), stride,
                                          padding, dilation, groups)
        if need_grad_output:
            grad_g = _crop(xp.conv2d(x, grad, None, stride, padding, dilation, groups),
                           tuple(grad_output.shape[2:]), xp)
        return grad_x, grad_g


class Im2col(Op):
    """cols = im2col(x) (``F.unfold``): x (N, C, H, W) -> (N, C*kh*kw, Ho*Wo), every window as a
    column (see ``reference.im2col``). Linear; dL/dx = col2im(dL/dcols), its transpose."""

    may_broadcast = False

    def forward(self, x, kernel_size, output_size, stride, padding, dilation):
        self.input_size = x.shape[2:]
        self.options = (kernel_size, output_size, stride, padding, dilation)
        return K.im2col(x, kernel_size, output_size, stride, padding, dilation)

    def backward(self, grad, xp):
        kernel_size, output_size, stride, padding, dilation = self.options
        return xp.col2im(grad, self.input_size, kernel_size, output_size, stride, padding,
                         dilation)


class Col2im(Op):
    """x = col2im(cols) (``F.fold``): columns (N, C*kh*kw, Ho*Wo) summed into an image
    (N, C, H, W), the transpose of Im2col. dL/dcols = im2col(dL/dx)."""

    may_broadcast = False

    def forward(self, cols, input_size, kernel_size, output_size, stride, padding, dilation):
        self.options = (kernel_size, output_size, stride, padding, dilation)
        return K.col2im(cols, input_size, kernel_size, output_size, stride, padding, dilation)

    def backward(self, grad, xp):
        kernel_size, output_size, stride, padding, dilation = self.options
        return xp.im2col(grad, kernel_size, output_size, stride, padding, dilation)


class PoolGather(Op):
    """out[n, c, p, q] = x[n, c].flat[indices[n, c, p, q]]: max pooling once the positions of
    the maxima are known (they are constants: a small change of x does not move them).
    dL/dx = pool_scatter(dL/dout): each gradient goes to its maximum's position.

    ``values``, if given, are the gathered values already (the max-pool kernel finds values
    and positions in one pass); the op then only records the gather.
    """

    may_broadcast = False

    def forward(self, x, indices, values=None):
        self.indices, self.input_size = indices, x.shape[2:]
        return values if values is not None else K.pool_gather(x, indices)

    def backward(self, grad, xp):
        return xp.pool_scatter(grad, self.indices, self.input_size)


class PoolScatter(Op):
    """x = zeros (N, C, H, W) with g[n, c, p, q] added at position indices[n, c, p, q] of its
    plane: the derivative of PoolGather. dL/dg = pool_gather(dL/dx)."""

    may_broadcast = False

    def forward(self, grad_output, indices, input_size):
        self.indices = indices
        return K.pool_scatter(grad_output, indices, input_size)

    def backward(self, grad, xp):
        return xp.pool_gather(grad, self.indices)


class MaxUnpool2d(Op):
    """y = zeros (N, C, H, W) with y[n, c].flat[indices[n, c, p, q]] = x[n, c, p, q] (an
    assignment, as PyTorch's max_unpool: positions repeated by overlapping pooling windows
    hold the same value). dL/dx = pool_gather(dL/dy)."""

    may_broadcast = False

    def forward(self, x, indices, output_size):
        n, c = x.shape[:2]
        self.indices = indices
        out = np.zeros((n, c, output_size[0] * output_size[1]), dtype=x.dtype)
        np.put_along_axis(out, indices.reshape(n, c, -1), x.reshape(n, c, -1), axis=2)
        return out.reshape(n, c, output_size[0], output_size[1])

    def backward(self, grad, xp):
        return xp.pool_gather(grad, self.indices)


class AvgPool2d(Op):
    """out[n, c, p, q] = sum of x[n, c] over window (p, q) / divisor[p, q]; windows given by
    the index tables ``rows`` (Ho, kh) and ``cols`` (Wo, kw) (-1: outside the image).
    Linear; dL/dx = avg_pool2d_backward(dL/dout), its transpose."""

    may_broadcast = False

    def forward(self, x, rows, cols, divisor):
        self.input_size = x.shape[2:]
        self.options = (rows, cols, divisor)
        return K.avg_pool2d(x, rows, cols, divisor)

    def backward(self, grad, xp):
        rows, cols, divisor = self.options
        return xp.avg_pool2d_backward(grad, rows, cols, divisor, self.input_size)


class AvgPool2dBackward(Op):
    """x = the transpose of AvgPool2d applied to g: g[n, c, p, q] / divisor[p, q] added over
    window (p, q). dL/dg = avg_pool2d(dL/dx)."""

    may_broadcast = False

    def forward(self, grad_output, rows, cols, divisor, input_size):
        self.options = (rows, cols, divisor)
        return K.avg_pool2d_backward(grad_output, rows, cols, divisor, input_size)

    def backward(self, grad, xp):
        rows, cols, divisor = self.options
        return xp.avg_pool2d(grad, rows, cols, divisor)


class ConstantPad(Op):
    """y = x padded with ``value``: ``pads`` holds a (before, after) pair for each of x's
    dimensions (negative amounts crop). dL/dx = dL/dy padded by the negated amounts (that
    crops the padding off and fills what x's cropping removed with zeros)."""

    may_broadcast = False

    def forward(self, x, pads, value):
        self.pads = pads
        return K.constant_pad(x, pads, value)

    def backward(self, grad, xp):
        return xp.constant_pad(grad, tuple((-lo, -hi) for lo, hi in self.pads), 0)
