"""``F.scaled_dot_product_attention`` with PyTorch's signature, masks and errors.

The attention itself is one op (``minigrad/ops/attention.py``); this layer turns the masks
into one additive bias (bool masks: True = may attend, as PyTorch's SDPA; ``is_causal``: the
lower-left triangle), draws the dropout mask, and repeats key/value heads for grouped-query
attention.
"""
import math

import numpy as np

from .. import random as _random
from ..ops.attention import ScaledDotProductAttention
from ..tensor import Tensor

__all__ = ["scaled_dot_product_attention"]


def _causal_bias(L, S, dtype):
    """0 where key j <= query i (the top-left aligned lower triangle), -inf elsewhere."""
    allowed = np.tril(np.ones((L, S), dtype=bool))
    return np.where(allowed, 0.0, -np.inf).astype(dtype)


def _bool_bias(mask, dtype):
    return np.where(mask, 0.0, -np.inf).astype(dtype)


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0,
                                 is_causal=False, scale=None, enable_gqa=False):
    """softmax(query @ key^T * scale + mask) @ value, with dropout on the attention weights.

    query (N, ..., Hq, L, E), key (N, ..., H, S, E), value (N, ..., H, S, Ev) -> (N, ..., Hq,
    L, Ev). ``scale`` defaults to 1/sqrt(E). ``attn_mask``: bool (True = may attend) or float
    (added to the scores), broadcastable to (N, ..., L, S). ``is_causal``: query i attends
    to keys j <= i (no ``attn_mask`` then). ``enable_gqa``: Hq may be a multiple of H (each
    key/value head serves Hq / H query heads).
    """
    for name, t in (("query", query), ("key", key), ("value", value)):
        if not isinstance(t, Tensor):
            raise TypeError(f"scaled_dot_product_attention(): argument '{name}' must be "
                            f"Tensor, not {type(t).__name__}")
    q, k, v = query._data, key._data, value._data
    if q.dtype != k.dtype or q.dtype != v.dtype:
        raise RuntimeError(f"Expected query, key, and value to have the same dtype, but got "
                           f"query.dtype: {query.dtype} key.dtype: {key.dtype} and "
                           f"value.dtype: {value.dtype} instead.")
    if q.dtype.kind != "f":
        raise RuntimeError(f"scaled_dot_product_attention: expected floating point inputs, "
                           f"got {query.dtype}")
    if q.ndim < 2 or k.ndim < 2 or v.ndim < 2:
        raise RuntimeError(f"scaled_dot_product_attention: expected query, key and value of at "
                           f"least 2 dimensions, got shapes {tuple(q.shape)}, {tuple(k.shape)} "
                           f"and {tuple(v.shape)}")
    if q.shape[-1] != k.shape[-1] or k.shape[-2] != v.shape[-2]:
        raise RuntimeError(f"scaled_dot_product_attention: query {tuple(q.shape)}, key "
                           f"{tuple(k.shape)} and value {tuple(v.shape)} do not fit: expected "
                           "query (..., L, E), key (..., S, E), value (..., S, Ev)")
    if not 0.0 <= dropout_p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {dropout_p}")
    if enable_gqa and q.ndim >= 3 and k.ndim >= 3 and q.shape[-3] != k.shape[-3]:
        groups, rem = divmod(q.shape[-3], k.shape[-3])
        if rem or v.shape[-3] != k.shape[-3]:
            raise RuntimeError(
                f"Number of heads in key and value must divide the number of heads in query: "
                f"query {tuple(q.shape)}, key {tuple(k.shape)}, value {tuple(v.shape)}")
        key = key.repeat_interleave(groups, dim=-3)
        value = value.repeat_interleave(groups, dim=-3)
    L, S = q.shape[-2], k.shape[-2]
    bias = None
    if is_causal:
        if attn_mask is not None:
            raise RuntimeError("_scaled_dot_product_attention: Explicit attn_mask should not "
                               "be set when is_causal=True")
        bias = _causal_bias(L, S, q.dtype)
    elif attn_mask is not None:
        if not isinstance(attn_mask, Tensor):
            raise TypeError(f"scaled_dot_product_attention(): argument 'attn_mask' must be "
                            f"Tensor, not {type(attn_mask).__name__}")
        m = attn_mask._data
        try:
            np.broadcast_shapes(m.shape, q.shape[:-2] + (L, S))
        except ValueError:
            raise RuntimeError(
                f"scaled_dot_product_attention: attn_mask of shape {tuple(m.shape)} does not "
                f"broadcast to the attention weights' shape {tuple(q.shape[:-2]) + (L, S)}"
            ) from None
        if m.dtype == np.bool_:
            bias = _bool_bias(m, q.dtype)
        elif m.dtype != q.dtype:
            raise RuntimeError(f"Expected attn_mask dtype to be bool or float or to match "
                               f"query dtype, but got attn_mask.dtype: {attn_mask.dtype} and "
                               f"query.dtype: {query.dtype} instead.")
        else:
            bias = attn_mask  # a float mask is added, and differentiable
    if scale is None:
        scale = 1.0 / math.sqrt(q.shape[-1]) if q.shape[-1] else 1.0
    dropout_mask = None
    if dropout_p > 0.0:
        shape = np.broadcast_shapes(q.shape[:-2], k.shape[:-2]) + (L, S)
        if dropout_p == 1.0:
            dropout_mask = np.zeros(shape, q.dtype)
        else:
            u = _random.generator().random(shape, dtype=q.dtype)
            dropout_mask = (u >= dropout_p).astype(q.dtype) * q.dtype.type(
                1.0 / (1.0 - dropout_p))
    return ScaledDotProductAttention.apply(query, key, value, bias, float(scale),
                                           dropout_mask)
