"""``nn.MultiheadAttention`` with PyTorch's arguments, parameter names (``in_proj_weight``,
``in_proj_bias``, ``out_proj.weight``, ``out_proj.bias``), initialisation and masks.

    MultiHead(Q, K, V) = concat(head_1, ..., head_h) W_O^T + b_O,
    head_i = softmax((Q W_Qi^T + b_Qi)(K W_Ki^T + b_Ki)^T / sqrt(d_head) + mask) (V W_Vi^T + b_Vi)

where W_Q, W_K, W_V are the three row blocks of ``in_proj_weight`` (3 E, E).
"""
import math

import numpy as np

from ..functions.shape import split
from ..tensor import _check_device, _wrap
from . import functional as F
from . import init
from .functional_attention import scaled_dot_product_attention
from .layers import Linear, _float_dtype
from .module import Module, Parameter

__all__ = ["MultiheadAttention"]


class NonDynamicallyQuantizableLinear(Linear):
    """PyTorch's class name for MultiheadAttention.out_proj (a plain Linear; the name shows in
    the repr)."""


def _additive(mask, dtype, name):
    """A bool mask (True = NOT allowed, MultiheadAttention's convention) as -inf/0, or a float
    mask as it is (a Tensor: it may require grad)."""
    if mask is None:
        return None
    if mask._data.dtype == np.bool_:
        return _wrap(np.where(mask._data, -np.inf, 0.0).astype(dtype))
    if mask._data.dtype.kind != "f":
        raise AssertionError(f"only bool and floating types of {name} are supported")
    return mask


class MultiheadAttention(Module):
    """Multi-head attention (see the module docstring).

    ``MultiheadAttention(embed_dim, num_heads, dropout=0.0, bias=True, add_bias_kv=False,
    add_zero_attn=False, kdim=None, vdim=None, batch_first=False)``; ``forward(query, key,
    value, key_padding_mask=None, need_weights=True, attn_mask=None,
    average_attn_weights=True, is_causal=False)`` -> (output, weights or None). Shapes:
    query (L, N, E) (``batch_first``: (N, L, E); unbatched: (L, E)), key/value (S, N, E);
    output like query; weights (N, L, S) averaged over heads, or (N, num_heads, L, S).
    ``key_padding_mask`` (N, S) and ``attn_mask`` (L, S) or (N * num_heads, L, S): bool
    (True = ignore that key) or float (added to the scores).
    Only kdim = vdim = embed_dim and add_bias_kv = add_zero_attn = False are implemented.
    """

    def __init__(self, embed_dim, num_heads, dropout=0.0, bias=True, add_bias_kv=False,
                 add_zero_attn=False, kdim=None, vdim=None, batch_first=False, device=None,
                 dtype=None):
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(f"embed_dim and num_heads must be greater than 0, got "
                             f"embed_dim={embed_dim} and num_heads={num_heads} instead")
        super().__init__()
        _check_device(device)
        np_dtype = _float_dtype(dtype)
        self.embed_dim = embed_dim
        self.kdim = kdim if kdim is not None else embed_dim
        self.vdim = vdim if vdim is not None else embed_dim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.num_heads = num_heads
        self.dropout = dropout
        self.batch_first = batch_first
        self.head_dim = embed_dim // num_heads
        if self.head_dim * num_heads != self.embed_dim:
            raise AssertionError("embed_dim must be divisible by num_heads")
        if not self._qkv_same_embed_dim or add_bias_kv or add_zero_attn:
            raise NotImplementedError("minigrad's MultiheadAttention implements kdim = vdim = "
                                      "embed_dim and add_bias_kv = add_zero_attn = False")
        self.in_proj_weight = Parameter(np.empty((3 * embed_dim, embed_dim), np_dtype))
        self.register_parameter("q_proj_weight", None)
        self.register_parameter("k_proj_weight", None)
        self.register_parameter("v_proj_weight", None)
        if bias:
            self.in_proj_bias = Parameter(np.empty(3 * embed_dim, np_dtype))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = NonDynamicallyQuantizableLinear(embed_dim, embed_dim, bias=bias,
                                                        dtype=dtype)
        self.bias_k = self.bias_v = None
        self.add_zero_attn = add_zero_attn
        self._reset_parameters()

    def _reset_parameters(self):
        """xavier_uniform_ for in_proj_weight, zeros for both biases (PyTorch's choice);
        out_proj.weight keeps Linear's default."""
        init.xavier_uniform_(self.in_proj_weight)
        if self.in_proj_bias is not None:
            init.constant_(self.in_proj_bias, 0.0)
            init.constant_(self.out_proj.bias, 0.0)

    def forward(self, query, key, value, key_padding_mask=None, need_weights=True,
                attn_mask=None, average_attn_weights=True, is_causal=False):
        E, H, D = self.embed_dim, self.num_heads, self.head_dim
        batched = query.dim() == 3
        if query.dim() not in (2, 3):
            raise AssertionError(f"query should be unbatched 2D or batched 3D tensor but "
                                 f"received {query.dim()}-D query tensor")
        if key.dim() != query.dim() or value.dim() != query.dim():
            kind = "batched (3-D)" if batched else "unbatched (2-D)"
            raise AssertionError(f"For {kind} `query`, expected `key` and `value` to be "
                                 f"{query.dim()}-D but found {key.dim()}-D and "
                                 f"{value.dim()}-D tensors respectively")
        if query.shape[-1] != E:
            raise AssertionError(f"was expecting embedding dimension of {E}, but got "
                                 f"{query.shape[-1]}")
        if key.shape != value.shape:
            raise AssertionError(f"key shape {tuple(key.shape)} does not match value shape "
                                 f"{tuple(value.shape)}")
        if is_causal and attn_mask is None:
            raise RuntimeError("Need attn_mask if specifying the is_causal hint. You may use "
                               "the Transformer module method `generate_square_subsequent_"
                               "mask` to create this mask.")
        # to (N, L, E)
        if not batched:
            query, key, value = query.unsqueeze(0), key.unsqueeze(0), value.unsqueeze(0)
            if key_padding_mask is not None:
                key_padding_mask = key_padding_mask.unsqueeze(0)
        elif not self.batch_first:
            query, key, value = query.transpose(0, 1), key.transpose(0, 1), \
                value.transpose(0, 1)
        N, L, S = query.shape[0], query.shape[1], key.shape[1]
        if key.shape[0] != N:
            raise AssertionError(f"key batch size {key.shape[0]} does not match query batch "
                                 f"size {N}")
        w, b = self.in_proj_weight, self.in_proj_bias
        if query is key and key is value:
            q, k, v = split(F.linear(query, w, b), E, -1)
        else:
            w_q, w_k, w_v = split(w, E, 0)
            b_q, b_k, b_v = split(b, E, 0) if b is not None else (None, None, None)
            q, k, v = F.linear(query, w_q, b_q), F.linear(key, w_k, b_k), \
                F.linear(value, w_v, b_v)
        q = q.reshape(N, L, H, D).transpose(1, 2)
        k = k.reshape(N, S, H, D).transpose(1, 2)
        v = v.reshape(N, S, H, D).transpose(1, 2)
        dtype = query._data.dtype
        bias = self._mask_bias(attn_mask, key_padding_mask, N, L, S, dtype)
        p = self.dropout if self.training else 0.0
        if not need_weights:
            out = scaled_dot_product_attention(q, k, v, attn_mask=bias, dropout_p=p)
            weights = None
        else:
            scores = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(D))
            if bias is not None:
                scores = scores + bias
            weights = F.softmax(scores, dim=-1)
            if p > 0.0:
                weights = F.dropout(weights, p=p)
            out = weights @ v
            if average_attn_weights:
                weights = weights.mean(dim=1)
            if not batched:
                weights = weights.squeeze(0)
        out = self.out_proj(out.transpose(1, 2).reshape(N, L, E))
        if not batched:
            out = out.squeeze(0)
        elif not self.batch_first:
            out = out.transpose(0, 1)
        return out, weights

    def _mask_bias(self, attn_mask, key_padding_mask, N, L, S, dtype):
        """One additive mask broadcastable to (N, H, L, S), or None."""
        H = self.num_heads
        bias = None
        if attn_mask is not None:
            if attn_mask.dim() == 2:
                if tuple(attn_mask.shape) != (L, S):
                    raise RuntimeError(f"The shape of the 2D attn_mask is "
                                       f"{tuple(attn_mask.shape)}, but should be {(L, S)}.")
                bias = _additive(attn_mask, dtype, "attn_mask")
            elif attn_mask.dim() == 3:
                if tuple(attn_mask.shape) != (N * H, L, S):
                    raise RuntimeError(f"The shape of the 3D attn_mask is "
                                       f"{tuple(attn_mask.shape)}, but should be "
                                       f"{(N * H, L, S)}.")
                bias = _additive(attn_mask, dtype, "attn_mask").reshape(N, H, L, S)
            else:
                raise RuntimeError(f"attn_mask's dimension {attn_mask.dim()} is not supported")
        if key_padding_mask is not None:
            if tuple(key_padding_mask.shape) != (N, S):
                raise AssertionError(f"expecting key_padding_mask shape of {(N, S)}, but got "
                                     f"{tuple(key_padding_mask.shape)}")
            pad = _additive(key_padding_mask, dtype, "key_padding_mask").reshape(N, 1, 1, S)
            bias = pad if bias is None else bias + pad
        return bias
