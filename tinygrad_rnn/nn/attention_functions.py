"""Attention as functions (re-exported by ``nn.functional``): ``scaled_dot_product_attention`` and
``multi_head_attention_forward``, the computation behind ``nn.MultiheadAttention``, with PyTorch's
signatures, mask conventions and shapes.

Everything is made of Tensor ops (matmul, softmax, masked_fill, dropout), so autograd gives the
gradients. Heads are folded into the batch dimension, so all heads of all samples go through one
batched matrix product: there is no Python loop over either.

Masks come in two kinds. A float mask is added to the scores (``-inf`` removes a key). A bool
mask means opposite things in the two functions, as in PyTorch: for ``scaled_dot_product_attention``
True marks the keys a query may attend to; for ``multi_head_attention_forward`` (and the modules)
True marks the keys to leave out.
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from ..autograd import OpError
from ..creation import ones, zeros
from ..ops import cat
from . import functional as F

_NEG_INF = float("-inf")


# ----------------------------------------------------------------------------- the core

def _attend(q, k, v, bias=None, causal=False, dropout_p=0.0, scale=None, empty_rows_give_zero=True):
    """``softmax(q k^T * scale + bias) v`` over the last two dims, with the batch dims broadcast:
    (..., L, E), (..., S, E), (..., S, Ev) -> output (..., L, Ev) and the weights (..., L, S).

    ``bias`` is an additive float mask (or None); ``causal`` also hides key j from query i for
    j > i (aligned at the top left). ``empty_rows_give_zero``: a query that may attend to no key
    at all gets zero weights (PyTorch's scaled_dot_product_attention) instead of the NaN a plain
    softmax of all ``-inf`` gives (PyTorch's MultiheadAttention with ``need_weights=True``).
    """
    if scale is None:
        scale = 1.0 / math.sqrt(q.shape[-1])
    scores = (q * scale) @ k.transpose(-2, -1)
    if bias is not None:
        scores = scores + bias
    if causal:
        L, S = scores.shape[-2:]
        scores = scores.masked_fill(ones(L, S, dtype=np.bool_, device=q.device).triu(1), _NEG_INF)
    if empty_rows_give_zero and (bias is not None or causal):
        empty = (scores == _NEG_INF).all(-1, keepdim=True)
        weights = scores.masked_fill(empty, 0.0).softmax(-1).masked_fill(empty, 0.0)
    else:
        weights = scores.softmax(-1)
    if dropout_p > 0.0:
        weights = F.dropout(weights, dropout_p)
    return weights @ v, weights


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, *, scale=None,
                                 enable_gqa=False):
    """``softmax(Q K^T * scale + mask) V``: (N, ..., Hq, L, E), (N, ..., H, S, E), (N, ..., H, S, Ev)
    -> (N, ..., Hq, L, Ev).

    ``scale`` defaults to ``1 / sqrt(E)``. ``attn_mask`` broadcasts to (N, ..., Hq, L, S): bool
    (True = may attend) or float (added to the scores). ``is_causal``: query i attends to keys
    ``j <= i`` only (top-left aligned when L != S); it cannot be combined with ``attn_mask``.
    A query with no key to attend to gets an output of zeros. ``dropout_p`` is applied to the
    weights whenever it is > 0 (pass 0 in evaluation). ``enable_gqa``: key and value may have
    fewer heads H than the query, Hq a multiple of H; each is shared by Hq / H query heads.
    """
    if is_causal and attn_mask is not None:
        raise OpError("scaled_dot_product_attention: Explicit attn_mask should not be set when is_causal=True")
    if query.ndim < 2 or key.ndim < 2 or value.ndim < 2:
        raise OpError(f"scaled_dot_product_attention: query, key and value need at least 2 dims (..., L, E), "
                      f"got shapes {tuple(query.shape)}, {tuple(key.shape)}, {tuple(value.shape)}")
    if query.shape[-1] != key.shape[-1] or key.shape[-2] != value.shape[-2]:
        raise OpError(f"scaled_dot_product_attention: expected query (..., L, E), key (..., S, E) and value "
                      f"(..., S, Ev), got shapes {tuple(query.shape)}, {tuple(key.shape)}, {tuple(value.shape)}")
    if enable_gqa and query.ndim >= 3 and key.shape[-3] != query.shape[-3]:
        if key.shape[-3] != value.shape[-3] or query.shape[-3] % key.shape[-3]:
            raise OpError(f"scaled_dot_product_attention: with enable_gqa the query's heads ({query.shape[-3]}) "
                          f"must be a multiple of the key's and value's ({key.shape[-3]}, {value.shape[-3]})")
        groups = query.shape[-3] // key.shape[-3]
        key, value = key.repeat_interleave(groups, dim=-3), value.repeat_interleave(groups, dim=-3)
    bias = None
    if attn_mask is not None:
        if attn_mask.dtype == np.bool_:
            bias = zeros(*attn_mask.shape, dtype=query.dtype, device=query.device).masked_fill(
                attn_mask.logical_not(), _NEG_INF)
        elif attn_mask.dtype == query.dtype:
            bias = attn_mask
        else:
            raise OpError(f"scaled_dot_product_attention: Expected attn_mask dtype to be bool or to match query "
                          f"dtype, but got attn_mask.dtype: {attn_mask.dtype} and query.dtype: {query.dtype}")
    return _attend(query, key, value, bias, is_causal, dropout_p, scale)[0]


# ----------------------------------------------------------------------------- masks

def _canonical_mask(mask, mask_name, other=None, other_name="", dtype=None, check_other=True):
    """A bool mask (True = leave out) -> a float mask of ``dtype`` with ``-inf`` there and 0
    elsewhere; a float mask as it is. Warns, as PyTorch does, when ``other`` (the other mask of
    the same call) has a different dtype."""
    if mask is None:
        return None
    if mask.dtype != np.bool_ and mask.dtype.kind != "f":
        raise AssertionError(f"only bool and floating types of {mask_name} are supported (got {mask.dtype})")
    if check_other and other is not None and other.dtype != mask.dtype:
        warnings.warn(f"Support for mismatched {mask_name} and {other_name} is deprecated. Use same type "
                      "for both instead.", stacklevel=3)
    if mask.dtype == np.bool_:
        return zeros(*mask.shape, dtype=dtype, device=mask.device).masked_fill(mask, _NEG_INF)
    return mask


def _check_mha_shapes(query, key, value, key_padding_mask, attn_mask, num_heads):
    """PyTorch's shape rules for batched (3-D) or unbatched (2-D) inputs; returns whether batched."""
    where = "multi_head_attention_forward"
    if query.ndim == 3:
        if key.ndim != 3 or value.ndim != 3:
            raise AssertionError(f"{where}: For batched (3-D) `query`, expected `key` and `value` to be 3-D but "
                                 f"found {key.ndim}-D and {value.ndim}-D tensors respectively")
        if key_padding_mask is not None and key_padding_mask.ndim != 2:
            raise AssertionError(f"{where}: For batched (3-D) `query`, expected `key_padding_mask` to be `None` "
                                 f"or 2-D but found {key_padding_mask.ndim}-D tensor instead")
        if attn_mask is not None and attn_mask.ndim not in (2, 3):
            raise AssertionError(f"{where}: For batched (3-D) `query`, expected `attn_mask` to be `None`, 2-D "
                                 f"or 3-D but found {attn_mask.ndim}-D tensor instead")
        return True
    if query.ndim == 2:
        if key.ndim != 2 or value.ndim != 2:
            raise AssertionError(f"{where}: For unbatched (2-D) `query`, expected `key` and `value` to be 2-D "
                                 f"but found {key.ndim}-D and {value.ndim}-D tensors respectively")
        if key_padding_mask is not None and key_padding_mask.ndim != 1:
            raise AssertionError(f"{where}: For unbatched (2-D) `query`, expected `key_padding_mask` to be "
                                 f"`None` or 1-D but found {key_padding_mask.ndim}-D tensor instead")
        if attn_mask is not None:
            if attn_mask.ndim not in (2, 3):
                raise AssertionError(f"{where}: For unbatched (2-D) `query`, expected `attn_mask` to be `None`, "
                                     f"2-D or 3-D but found {attn_mask.ndim}-D tensor instead")
            expected = (num_heads, query.shape[0], key.shape[0])
            if attn_mask.ndim == 3 and tuple(attn_mask.shape) != expected:
                raise AssertionError(f"{where}: Expected `attn_mask` shape to be {expected} but got "
                                     f"{tuple(attn_mask.shape)}")
        return False
    raise AssertionError(f"{where}: query should be unbatched 2D or batched 3D tensor but received "
                         f"{query.ndim}-D query tensor (shape {tuple(query.shape)})")


# ----------------------------------------------------------------------------- multi-head attention

def _in_projection(query, key, value, embed_dim, in_proj_weight, in_proj_bias, separate):
    """q, k, v = the three input projections: from the packed (3E, E_in) weight, or from
    ``separate = (q_proj_weight, k_proj_weight, v_proj_weight)``. Self-attention (query, key and
    value the same Tensor) uses one product for all three."""
    E = embed_dim
    b_q, b_k, b_v = (None,) * 3 if in_proj_bias is None else in_proj_bias.chunk(3)
    if separate is not None:
        w_q, w_k, w_v = separate
        for name, w, x in (("query", w_q, query), ("key", w_k, key), ("value", w_v, value)):
            if tuple(w.shape) != (E, x.shape[-1]):
                raise AssertionError(f"multi_head_attention_forward: expecting {name} weights shape of "
                                     f"{(E, x.shape[-1])}, but got {tuple(w.shape)}")
        return F.linear(query, w_q, b_q), F.linear(key, w_k, b_k), F.linear(value, w_v, b_v)
    if query is key and key is value:
        return F.linear(query, in_proj_weight, in_proj_bias).chunk(3, -1)
    w_q, w_k, w_v = in_proj_weight.chunk(3)
    return F.linear(query, w_q, b_q), F.linear(key, w_k, b_k), F.linear(value, w_v, b_v)


def _split_heads(x, batch, num_heads, head_dim):
    """(S, N, E) -> (N * H, S, head_dim): heads become part of the batch dimension."""
    return x.reshape(x.shape[0], batch * num_heads, head_dim).transpose(0, 1)


def multi_head_attention_forward(query, key, value, embed_dim_to_check, num_heads, in_proj_weight, in_proj_bias,
                                 bias_k, bias_v, add_zero_attn, dropout_p, out_proj_weight, out_proj_bias,
                                 training=True, key_padding_mask=None, need_weights=True, attn_mask=None,
                                 use_separate_proj_weight=False, q_proj_weight=None, k_proj_weight=None,
                                 v_proj_weight=None, static_k=None, static_v=None, average_attn_weights=True,
                                 is_causal=False):
    """Multi-head attention: query (L, N, E), key (S, N, E_k), value (S, N, E_v) (or unbatched
    (L, E), (S, E_k), (S, E_v)) -> output (L, N, E) and, with ``need_weights``, the attention
    weights (N, L, S) averaged over the heads (``average_attn_weights=False``: (N, H, L, S)).

    Per head h (head_dim = E / H): ``softmax(q_h k_h^T / sqrt(head_dim) + masks) v_h`` with
    ``q, k, v`` the input projections; the heads are concatenated and projected by
    ``out_proj_weight``/``out_proj_bias``. ``attn_mask`` (L, S) or (N * H, L, S) and
    ``key_padding_mask`` (N, S): bool (True = leave the key out) or float (added to the scores).
    ``is_causal`` is a hint that ``attn_mask`` is the causal mask; it needs ``attn_mask`` (as in
    PyTorch, when there is no ``key_padding_mask`` and ``need_weights=False`` the causal mask is
    applied in its place). ``bias_k``/``bias_v`` (1, 1, E) append one learned key and value;
    ``add_zero_attn`` appends a key and value of zeros; ``static_k``/``static_v`` (N * H, S,
    head_dim) replace the projected keys and values. Dropout (``dropout_p``, only when
    ``training``) acts on the attention weights. Queries with no key left attend to nothing: zeros
    with ``need_weights=False``, NaN with ``need_weights=True`` (as PyTorch's two paths give).
    """
    batched = _check_mha_shapes(query, key, value, key_padding_mask, attn_mask, num_heads)
    if not batched:
        query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
        if key_padding_mask is not None:
            key_padding_mask = key_padding_mask.unsqueeze(0)
    tgt_len, bsz, embed_dim = query.shape
    src_len = key.shape[0]
    key_padding_mask = _canonical_mask(key_padding_mask, "key_padding_mask", attn_mask, "attn_mask", query.dtype)
    if is_causal and attn_mask is None:
        raise OpError("multi_head_attention_forward: Need attn_mask if specifying the is_causal hint. You may use "
                      "the Transformer module method `generate_square_subsequent_mask` to create this mask.")
    if is_causal and key_padding_mask is None and not need_weights:
        attn_mask = None            # the hint stands for the mask
    else:
        attn_mask = _canonical_mask(attn_mask, "attn_mask", dtype=query.dtype, check_other=False)
        if key_padding_mask is not None:
            is_causal = False       # the merged mask is not causal any more
    if embed_dim != embed_dim_to_check:
        raise AssertionError(f"multi_head_attention_forward: was expecting embedding dimension of "
                             f"{embed_dim_to_check}, but got {embed_dim}")
    head_dim = embed_dim // num_heads
    if head_dim * num_heads != embed_dim:
        raise AssertionError(f"multi_head_attention_forward: embed_dim {embed_dim} not divisible by num_heads "
                             f"{num_heads}")
    if use_separate_proj_weight:
        if tuple(key.shape[:2]) != tuple(value.shape[:2]):
            raise AssertionError(f"multi_head_attention_forward: key's sequence and batch dims "
                                 f"{tuple(key.shape[:2])} do not match value's {tuple(value.shape[:2])}")
        separate = (q_proj_weight, k_proj_weight, v_proj_weight)
        if any(w is None for w in separate):
            raise AssertionError("multi_head_attention_forward: use_separate_proj_weight is True but "
                                 "q_proj_weight, k_proj_weight or v_proj_weight is None")
    else:
        if tuple(key.shape) != tuple(value.shape):
            raise AssertionError(f"multi_head_attention_forward: key shape {tuple(key.shape)} does not match "
                                 f"value shape {tuple(value.shape)}")
        if in_proj_weight is None:
            raise AssertionError("multi_head_attention_forward: use_separate_proj_weight is False but "
                                 "in_proj_weight is None")
        separate = None
    q, k, v = _in_projection(query, key, value, embed_dim, in_proj_weight, in_proj_bias, separate)

    if attn_mask is not None:
        expected = (tgt_len, src_len) if attn_mask.ndim == 2 else (bsz * num_heads, tgt_len, src_len)
        if tuple(attn_mask.shape) != expected:
            raise OpError(f"multi_head_attention_forward: The shape of the {attn_mask.ndim}D attn_mask is "
                          f"{tuple(attn_mask.shape)}, but should be {expected}.")
        if attn_mask.ndim == 2:
            attn_mask = attn_mask.unsqueeze(0)
    if (bias_k is None) != (bias_v is None):
        raise AssertionError("multi_head_attention_forward: bias_k and bias_v must be given together")
    if bias_k is not None:          # one more (learned) key and value at the end of the sequence
        if static_k is not None or static_v is not None:
            raise AssertionError("multi_head_attention_forward: bias cannot be added to static key or value.")
        k = cat([k, bias_k.expand(1, bsz, embed_dim)])
        v = cat([v, bias_v.expand(1, bsz, embed_dim)])
        attn_mask = None if attn_mask is None else attn_mask.pad((0, 1))
        key_padding_mask = None if key_padding_mask is None else key_padding_mask.pad((0, 1))

    q = _split_heads(q, bsz, num_heads, head_dim)
    k = _static(static_k, "static_k", bsz * num_heads, head_dim) if static_k is not None else \
        _split_heads(k, bsz, num_heads, head_dim)
    v = _static(static_v, "static_v", bsz * num_heads, head_dim) if static_v is not None else \
        _split_heads(v, bsz, num_heads, head_dim)
    if add_zero_attn:               # one more key and value of zeros
        zero = zeros(bsz * num_heads, 1, head_dim, dtype=k.dtype, device=k.device)
        k, v = cat([k, zero], 1), cat([v, zero], 1)
        attn_mask = None if attn_mask is None else attn_mask.pad((0, 1))
        key_padding_mask = None if key_padding_mask is None else key_padding_mask.pad((0, 1))
    src_len = k.shape[1]

    if key_padding_mask is not None:
        if tuple(key_padding_mask.shape) != (bsz, src_len):
            raise AssertionError(f"multi_head_attention_forward: Expected key_padding_mask of shape "
                                 f"{(bsz, src_len)}, but got {tuple(key_padding_mask.shape)}")
        # (N, S) -> (N * H, 1, S): the same keys are left out for every head and query
        kpm = key_padding_mask.reshape(bsz, 1, 1, src_len).expand(bsz, num_heads, 1, src_len)
        kpm = kpm.reshape(bsz * num_heads, 1, src_len)
        attn_mask = kpm if attn_mask is None else attn_mask + kpm
    if not training:
        dropout_p = 0.0

    out, weights = _attend(q, k, v, attn_mask, is_causal and attn_mask is None, dropout_p,
                           empty_rows_give_zero=not need_weights)
    # (N * H, L, head_dim) -> (L, N, E): the heads side by side, then the output projection
    out = out.transpose(0, 1).reshape(tgt_len * bsz, embed_dim)
    out = F.linear(out, out_proj_weight, out_proj_bias).reshape(tgt_len, bsz, -1)
    if not batched:
        out = out.squeeze(1)
    if not need_weights:
        return out, None
    weights = weights.reshape(bsz, num_heads, tgt_len, src_len)
    if average_attn_weights:
        weights = weights.mean(1)
    if not batched:
        weights = weights.squeeze(0)
    return out, weights


def _static(t, name, rows, head_dim):
    if t.shape[0] != rows or t.shape[2] != head_dim:
        raise AssertionError(f"multi_head_attention_forward: expecting {name} of shape ({rows}, S, {head_dim}), "
                             f"but got {tuple(t.shape)}")
    return t
