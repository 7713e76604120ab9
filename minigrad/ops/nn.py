"""The ops behind ``nn``: Linear, softmax and log-softmax, dropout, batch normalisation.

Each is ONE node of the graph over fused kernels or a few numpy passes: fewer Python steps per
training step, and the numerically delicate parts (log-sum-exp) written once, carefully. Their
backward formulas follow the same protocol as every op (``xp``), so they differentiate twice.
"""
import numpy as np

from .._kernels import kernels as K
from ..autograd.graph import Op


class Linear(Op):
    """y = x @ weight.T + bias.

    Shapes: x (*, in) (any number of leading dimensions, or none), weight (out, in),
    bias (out,) or None, y (*, out). With g = dL/dy (as (N, out)) and x as (N, in):

        dL/dx = g @ weight,   dL/dweight = g.T @ x,   dL/dbias = sum over rows of g.
    """

    may_broadcast = False

    def forward(self, x, weight, bias):
        self.saved_tensors = (x, weight)
        if x.ndim == 2:
            return K.linear_forward(x, weight, bias)
        return K.linear_forward(x.reshape(-1, weight.shape[1]), weight, bias).reshape(
            x.shape[:-1] + (weight.shape[0],))

    def backward(self, grad, xp):
        x, weight = self.saved_tensors
        need_x, need_weight, need_bias = self.needs_input_grad
        x_shape = tuple(x.shape)
        if len(x_shape) != 2:
            x = xp.reshape(x, (-1, x_shape[-1]))
            grad = xp.reshape(grad, (-1, weight.shape[0]))
        grad_x, grad_weight, grad_bias = xp.linear_backward(grad, x, weight, need_x,
                                                            need_weight, need_bias)
        if grad_x is not None and len(x_shape) != 2:
            grad_x = xp.reshape(grad_x, x_shape)
        return grad_x, grad_weight, grad_bias


class LinearActivation(Op):
    """y = act(z), z = x @ weight.T + bias: a Linear layer and the activation after it as one
    node (``nn.Sequential`` runs the pair this way). Subclasses name the activation.

    Shapes as Linear's. With g = dL/dy, the gradient through the activation is taken from the
    output y (which is saved; z is not):

        relu:     dz = g 1[y > 0]       sigmoid:  dz = g y (1 - y)       tanh:  dz = g (1 - y^2)

    and then Linear's:  dL/dx = dz @ weight,  dL/dweight = dz.T @ x,  dL/dbias = sum of dz's
    rows. The kernels compute the same values in the same order as the two separate nodes, so
    the results are identical bit for bit; the graph has one node where PyTorch's has two.
    """

    may_broadcast = False
    activation = None  # "relu", "sigmoid" or "tanh"

    def forward(self, x, weight, bias):
        self.saved_tensors = (x, weight)
        x2 = x if x.ndim == 2 else x.reshape(-1, weight.shape[1])
        if self.activation == "relu":
            y = K.linear_relu(x2, weight, bias)
        else:
            y = getattr(K, self.activation)(K.linear_forward(x2, weight, bias))
        if x.ndim != 2:
            y = y.reshape(x.shape[:-1] + (weight.shape[0],))
        self.result = y
        return y

    def backward(self, grad, xp):
        x, weight = self.saved_tensors
        y = self.result
        need_x, need_weight, need_bias = self.needs_input_grad
        x_shape = tuple(x.shape)
        if len(x_shape) != 2:
            x = xp.reshape(x, (-1, x_shape[-1]))
            grad = xp.reshape(grad, (-1, weight.shape[0]))
            y = xp.reshape(y, (-1, weight.shape[0]))
        grad_x, grad_weight, grad_bias = xp.linear_act_backward(
            grad, y, x, weight, self.activation, need_x, need_weight, need_bias)
        if grad_x is not None and len(x_shape) != 2:
            grad_x = xp.reshape(grad_x, x_shape)
        return grad_x, grad_weight, grad_bias


class LinearReLU(LinearActivation):
    """relu(x @ weight.T + bias) as one node (see LinearActivation)."""

    activation = "relu"


class LinearSigmoid(LinearActivation):
    """sigmoid(x @ weight.T + bias) as one node (see LinearActivation)."""

    activation = "sigmoid"


class LinearTanh(LinearActivation):
    """tanh(x @ weight.T + bias) as one node (see LinearActivation)."""

    activation = "tanh"


class Softmax(Op):
    """y = exp(x - max) / sum(exp(x - max)) along ``dim`` (shifting by the max cannot
    overflow).  dL/dx = y * (g - sum(g * y, dim)).

    Forward and backward are one compiled pass per row over the last dimension (the common
    case: class scores, attention weights), or down the columns of each block along another
    (``K.softmax_along``); under create_graph backward is the formula below, in Tensors."""

    may_broadcast = False
    log = False

    def forward(self, x, dim):
        self.dim = dim
        self.result = K.softmax_along(x, dim, self.log)
        return self.result

    def backward(self, grad, xp):
        y = self.result
        if y.ndim == 0:
            return xp.mul(grad, 0.0), None
        if xp is K:
            return K.softmax_along_backward(y, grad, self.dim, self.log), None
        return self.formula(y, grad, xp), None

    def formula(self, y, grad, xp):
        """dL/dx with ``xp`` (differentiable under create_graph)."""
        return xp.mul(y, xp.sub(grad, xp.sum(xp.mul(grad, y), self.dim, True)))


class LogSoftmax(Softmax):
    """y = x - max - log(sum(exp(x - max))) along ``dim`` (log-sum-exp: finite for any finite
    x).  dL/dx = g - exp(y) * sum(g, dim). (Softmax's paths, with ``log``.)"""

    log = True

    def formula(self, y, grad, xp):
        return xp.sub(grad, xp.mul(xp.exp(y), xp.sum(grad, self.dim, True)))


class Dropout(Op):
    """Inverted dropout: y = x * mask / (1 - p), mask_i ~ Bernoulli(1 - p), so E[y] = x and
    evaluation needs no rescaling.  dL/dx = g * mask / (1 - p) (the scaled mask is a
    constant, drawn in forward)."""

    may_broadcast = False

    def forward(self, x, scaled_mask):
        self.scaled_mask = scaled_mask
        return x * scaled_mask

    def backward(self, grad, xp):
        return xp.mul(grad, self.scaled_mask), None


class _Normalization(Op):
    """y = gamma * (x - mean) * inv_std + beta, inv_std = 1/sqrt(var + eps), the statistics
    taken over ``stat_axes`` (m values per group) and gamma/beta broadcast as ``param_shape``.

    ``mean``/``var`` are the input's own (biased) statistics when ``batch_stats`` (they depend
    on x) or constants (running statistics in eval). With x_hat = (x - mean) inv_std and
    dx_hat = g gamma:

        dL/dgamma = sum(g x_hat),   dL/dbeta = sum(g)     (summed down to gamma's shape)
        dL/dx = inv_std dx_hat                                                 (constants)
        dL/dx = inv_std / m (m dx_hat - sum(dx_hat) - x_hat sum(dx_hat x_hat))  (batch)

    the inner sums over ``stat_axes``. The fast path keeps x_hat and inv_std from forward;
    under create_graph they are recomputed from x with ``xp``, so the formula is
    differentiated through the statistics too. BatchNorm and LayerNorm differ only in the
    axes: BatchNorm (N, C, *) normalises over all but dim 1 with per-channel parameters,
    LayerNorm over the last dimensions with parameters of those dimensions' shape.
    """

    may_broadcast = False

    def _normalize(self, x, weight, bias, mean, var, eps, stat_axes, param_shape,
                   batch_stats):
        """Forward, given mean and var in a shape that broadcasts against x."""
        self.saved_tensors = (x, weight)
        self.stat_axes, self.param_shape = stat_axes, param_shape
        self.eps, self.batch_stats = eps, batch_stats
        self.mean = mean  # a constant unless batch_stats (then recomputed under create_graph)
        self.inv_std = (1.0 / np.sqrt(var + eps)).astype(x.dtype, copy=False)
        x_hat = x - mean.astype(x.dtype, copy=False)
        x_hat *= self.inv_std
        self.x_hat = x_hat
        if weight is not None:
            y = x_hat * weight.reshape(param_shape)
            if bias is not None:
                y += bias.reshape(param_shape)
        elif bias is not None:
            y = x_hat + bias.reshape(param_shape)
        else:
            y = x_hat.copy()  # the output must not alias the array kept for backward
        return y

    def _normalized(self, x, xp):
        """(x_hat, inv_std), computed with xp from x (the create_graph path)."""
        dtype = xp.values(x).dtype
        if not self.batch_stats:
            inv_std = self.inv_std
            return xp.mul(xp.sub(x, self.mean.astype(dtype, copy=False)), inv_std), inv_std
        m = float(self._group_size(x, xp))
        mean = xp.div(xp.sum(x, self.stat_axes, True), m)
        centered = xp.sub(x, mean)
        var = xp.div(xp.sum(xp.mul(centered, centered), self.stat_axes, True), m)
        inv_std = xp.div(1.0, xp.sqrt(xp.add(var, self.eps)))
        return xp.mul(centered, inv_std), inv_std

    def _group_size(self, x, xp):
        shape = xp.values(x).shape
        return int(np.prod([shape[a] for a in self.stat_axes], dtype=np.int64))

    def backward(self, grad, xp):
        x, weight = self.saved_tensors
        need_x, need_weight, need_bias = self.needs_input_grad[:3]
        if xp is K:
            x_hat, inv_std = self.x_hat, self.inv_std
        else:
            x_hat, inv_std = self._normalized(x, xp)
        axes, shape = self.stat_axes, self.param_shape
        grad_weight = grad_bias = None
        if need_weight:
            grad_weight = xp.reshape(xp.sum_to(xp.mul(grad, x_hat), shape), self.weight_shape)
        if need_bias:
            grad_bias = xp.reshape(xp.sum_to(grad, shape), self.weight_shape)
        grad_x = None
        if need_x:
            dx_hat = grad if weight is None else xp.mul(grad, xp.reshape(weight, shape))
            if self.batch_stats:
                m = float(self._group_size(x, xp))
                grad_x = xp.mul(xp.div(inv_std, m), xp.sub(
                    xp.sub(xp.mul(dx_hat, m), xp.sum(dx_hat, axes, True)),
                    xp.mul(x_hat, xp.sum(xp.mul(dx_hat, x_hat), axes, True))))
            else:
                grad_x = xp.mul(dx_hat, inv_std)
        return (grad_x, grad_weight, grad_bias) + (None,) * self.n_options


class BatchNorm(_Normalization):
    """Batch normalisation of x (N, C, *) per channel: statistics over every dimension but
    dim 1, weight and bias (C,) (see ``_Normalization`` for the formulas). ``mean``/``var``
    (C,) are the batch's own statistics when ``batch_stats``, running statistics otherwise."""

    n_options = 4

    def forward(self, x, weight, bias, mean, var, eps, batch_stats):
        shape = (1, -1) + (1,) * (x.ndim - 2)
        param_shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
        self.weight_shape = (x.shape[1],)
        return self._normalize(x, weight, bias, mean.reshape(shape), var.reshape(shape), eps,
                               (0,) + tuple(range(2, x.ndim)), param_shape, batch_stats)


class LayerNorm(_Normalization):
    """Layer normalisation: x (*, D1..Dk) normalised over its last k = ``normalized_ndim``
    dimensions with its own (biased) statistics; weight and bias (D1..Dk) or None (see
    ``_Normalization`` for the formulas).

    The fast path sees x as (M, D = D1 * ... * Dk) rows and runs the fused kernels
    ``layer_norm_forward`` / ``layer_norm_backward`` (one trip over each row instead of about
    eight numpy passes; only each row's mean and inv_std are kept, x_hat is recomputed);
    under create_graph the backward is ``_Normalization``'s formula.
    """

    n_options = 2

    def forward(self, x, weight, bias, normalized_ndim, eps):
        lead = x.shape[:x.ndim - normalized_ndim]
        normalized_shape = x.shape[x.ndim - normalized_ndim:]
        self.weight_shape = normalized_shape
        self.stat_axes = tuple(range(x.ndim - normalized_ndim, x.ndim))
        self.param_shape, self.eps, self.batch_stats = normalized_shape, eps, True
        self.saved_tensors = (x, weight)
        m = int(np.prod(lead, dtype=np.int64))
        d = int(np.prod(normalized_shape, dtype=np.int64))
        self.rows = (m, d)
        if m * d == 0:  # nothing to normalise (and no mean of nothing to warn about)
            y, mean, inv_std = x.copy(), np.zeros(m, x.dtype), np.zeros(m, x.dtype)
        else:
            flat = (lambda a: None if a is None else np.ascontiguousarray(a).reshape(-1))
            y, mean, inv_std = K.layer_norm_forward(
                np.ascontiguousarray(x).reshape(m, d), flat(weight), flat(bias), eps)
        self.row_mean, self.row_inv_std = mean, inv_std
        return y.reshape(x.shape)

    def backward(self, grad, xp):
        if xp is not K:
            return super().backward(grad, xp)
        x, weight = self.saved_tensors
        need_x, need_weight, need_bias = self.needs_input_grad[:3]
        m, d = self.rows
        grad_x, grad_weight, grad_bias = K.layer_norm_backward(
            np.ascontiguousarray(grad).reshape(m, d), np.ascontiguousarray(x).reshape(m, d),
            self.row_mean, self.row_inv_std,
            None if weight is None else np.ascontiguousarray(weight).reshape(-1),
            need_x, need_weight, need_bias)
        shape = self.weight_shape
        return (None if grad_x is None else grad_x.reshape(x.shape),
                None if grad_weight is None else grad_weight.reshape(shape),
                None if grad_bias is None else grad_bias.reshape(shape), None, None)


class Embedding(Op):
    """out = weight[indices]: rows of weight (n, D) picked by integer ``indices`` of any shape,
    out (*indices.shape, D).

        dL/dweight[i] = sum over positions p with indices[p] = i of scale[p] g[p]

    (an index add of gradient rows, the fast ``scatter_index`` kernel). ``scale`` is None
    (all ones) or a constant per position (*indices.shape, 1): 0 at ``padding_idx``, and
    1 / (the count of indices[p] in the batch) with ``scale_grad_by_freq``. The gradient is
    linear in g, so its own derivative reads rows again (double backward).
    """

    may_broadcast = False

    def forward(self, weight, indices, scale):
        self.shape, self.indices, self.scale = weight.shape, indices, scale
        return np.take(weight, indices, axis=0)

    def backward(self, grad, xp):
        if self.scale is not None:
            grad = xp.mul(grad, self.scale.astype(xp.values(grad).dtype, copy=False))
        return xp.scatter_index(grad, self.indices, self.shape), None, None
