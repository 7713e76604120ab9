"""``nn.TransformerEncoderLayer`` and ``nn.TransformerEncoder`` with PyTorch's arguments,
sub-module names (``self_attn``, ``linear1``, ``linear2``, ``norm1``, ``norm2``,
``layers.0...``), so state dicts load both ways.

Post-norm (default):  x = norm1(x + SA(x));          x = norm2(x + FF(x))
Pre-norm (norm_first): x = x + SA(norm1(x));          x = x + FF(norm2(x))
with SA the self-attention (dropout after it) and FF(x) = linear2(dropout(act(linear1(x)))).
"""
import copy

import numpy as np

from ..tensor import _check_device
from . import functional as F
from .attention import MultiheadAttention
from .layers import Dropout, Linear, ModuleList
from .module import Module

__all__ = ["TransformerEncoder", "TransformerEncoderLayer"]


def _layer_norm(*args, **kwargs):
    from . import LayerNorm  # the normalisation family's layer
    return LayerNorm(*args, **kwargs)


def _activation(name):
    if name == "relu":
        return F.relu
    if name == "gelu":
        return F.gelu
    raise RuntimeError(f"activation should be relu/gelu, not {name}")


def _is_causal_mask(mask):
    """True if ``mask`` (L, L) is the causal mask (bool: True above the diagonal; float: -inf
    above the diagonal and 0 elsewhere), as ``generate_square_subsequent_mask`` makes."""
    if mask is None or mask.dim() != 2 or mask.shape[0] != mask.shape[1]:
        return False
    m = mask._data
    above = np.triu(np.ones(m.shape, dtype=bool), 1)
    if m.dtype == np.bool_:
        return bool(np.array_equal(m, above))
    return bool(np.array_equal(m, np.where(above, -np.inf, 0.0)))


class TransformerEncoderLayer(Module):
    """One encoder block: self-attention and a feed-forward network, each with a residual
    connection and LayerNorm (see the module docstring for the two orders).

    ``TransformerEncoderLayer(d_model, nhead, dim_feedforward=2048, dropout=0.1,
    activation=F.relu, layer_norm_eps=1e-5, batch_first=False, norm_first=False, bias=True)``;
    ``activation`` is "relu", "gelu" or a callable. ``forward(src, src_mask=None,
    src_key_padding_mask=None, is_causal=False)``: src (S, N, E) (batch_first: (N, S, E);
    unbatched: (S, E)).
    """

    def __init__(self, d_model, nhead, dim_feedforward=2048, dropout=0.1, activation=F.relu,
                 layer_norm_eps=1e-5, batch_first=False, norm_first=False, bias=True,
                 device=None, dtype=None):
        super().__init__()
        _check_device(device)
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias,
                                            batch_first=batch_first, dtype=dtype)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, dtype=dtype)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, dtype=dtype)
        self.norm_first = norm_first
        self.norm1 = _layer_norm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.norm2 = _layer_norm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        if isinstance(activation, str):
            activation = _activation(activation)
        self.activation = activation

    def _sa_block(self, x, attn_mask, key_padding_mask, is_causal):
        x = self.self_attn(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
                           need_weights=False, is_causal=is_causal)[0]
        return self.dropout1(x)

    def _ff_block(self, x):
        x = self.linear2(self.dropout(self.activation(self.linear1(x))))
        return self.dropout2(x)

    def forward(self, src, src_mask=None, src_key_padding_mask=None, is_causal=False):
        x = src
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            x = x + self._ff_block(self.norm2(x))
        else:
            x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask, is_causal))
            x = self.norm2(x + self._ff_block(x))
        return x


class TransformerEncoder(Module):
    """A stack of ``num_layers`` copies of ``encoder_layer`` (deep copies, ``layers.0`` ...),
    then ``norm`` if given. ``forward(src, mask=None, src_key_padding_mask=None,
    is_causal=None)``; ``is_causal=None`` detects a causal ``mask``."""

    def __init__(self, encoder_layer, num_layers, norm=None, enable_nested_tensor=True,
                 mask_check=True):
        super().__init__()
        self.layers = ModuleList([copy.deepcopy(encoder_layer) for _ in range(num_layers)])
        self.num_layers = num_layers
        self.norm = norm
        self.enable_nested_tensor = enable_nested_tensor
        self.mask_check = mask_check

    def forward(self, src, mask=None, src_key_padding_mask=None, is_causal=None):
        if is_causal is None:
            is_causal = _is_causal_mask(mask)
        x = src
        for layer in self.layers:
            x = layer(x, src_mask=mask, src_key_padding_mask=src_key_padding_mask,
                      is_causal=is_causal)
        if self.norm is not None:
            x = self.norm(x)
        return x
