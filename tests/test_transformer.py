"""Attention and the Transformer family without PyTorch: against a NumPy reference written with
explicit loops over samples and heads, cases worked by hand (one key, uniform attention, padded
keys, causal masks seen in the Jacobian), finite differences (gradcheck), dropout statistics,
and the errors. ``test_transformer_torch.py`` compares with PyTorch itself."""
import math

import numpy as np
import pytest

import tinygrad_rnn as tg
import tinygrad_rnn.nn.functional as F
from tinygrad_rnn import nn
from tinygrad_rnn.nn.transformer import _detect_is_causal_mask
from tinygrad_rnn.testing import gradcheck, gradgradcheck

L, S, N, E, H = 4, 5, 2, 6, 2


def t64(a, requires_grad=False, device="cpu"):
    return tg.tensor(np.asarray(a, dtype=np.float64), requires_grad=requires_grad, device=device)


def mha(**kwargs):
    """A float64 MultiheadAttention with every parameter (biases included) random."""
    m = nn.MultiheadAttention(E, H, dtype=tg.float64, **kwargs)
    rng = np.random.default_rng(0)
    for p in m.parameters():
        p.data[...] = rng.uniform(-0.7, 0.7, p.shape)
    return m


def softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def reference_mha(m, query, key, value, mask=None, key_padding=None):
    """Multi-head attention in NumPy, one sample and one head at a time: (L, N, E) inputs,
    ``mask`` an additive (L, S) array, ``key_padding`` a bool (N, S) array (True = left out).
    Returns the output (L, N, E) and the weights per head (N, H, L, S)."""
    w, b = m.in_proj_weight.numpy(), m.in_proj_bias.numpy()
    wo, bo = m.out_proj.weight.numpy(), m.out_proj.bias.numpy()
    d = E // H
    out = np.zeros((query.shape[0], query.shape[1], E))
    weights = np.zeros((query.shape[1], H, query.shape[0], key.shape[0]))
    for n in range(query.shape[1]):
        heads = []
        for h in range(H):
            rows = slice(h * d, (h + 1) * d)
            q = query[:, n] @ w[:E][rows].T + b[:E][rows]
            k = key[:, n] @ w[E:2 * E][rows].T + b[E:2 * E][rows]
            v = value[:, n] @ w[2 * E:][rows].T + b[2 * E:][rows]
            scores = q @ k.T / math.sqrt(d)
            if mask is not None:
                scores = scores + mask
            if key_padding is not None:
                scores = np.where(key_padding[n][None, :], -np.inf, scores)
            a = softmax(scores)
            weights[n, h] = a
            heads.append(a @ v)
        out[:, n] = np.concatenate(heads, axis=1) @ wo.T + bo
    return out, weights


# ----------------------------------------------------------------------------- against the NumPy reference

def test_multihead_attention_matches_the_loop_reference():
    rng = np.random.default_rng(1)
    m = mha()
    q, k, v = rng.normal(size=(L, N, E)), rng.normal(size=(S, N, E)), rng.normal(size=(S, N, E))
    mask = rng.normal(size=(L, S))
    kpm = np.zeros((N, S), bool)
    kpm[1, 2:4] = True
    float_kpm = t64(np.where(kpm, -np.inf, 0.0))      # of the attn_mask's type (mixing types warns)
    out, w = m(t64(q), t64(k), t64(v), attn_mask=t64(mask), key_padding_mask=float_kpm, average_attn_weights=False)
    ref_out, ref_w = reference_mha(m, q, k, v, mask, kpm)
    np.testing.assert_allclose(out.numpy(), ref_out, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(w.numpy(), ref_w, rtol=1e-12, atol=1e-14)
    averaged = m(t64(q), t64(k), t64(v), attn_mask=t64(mask), key_padding_mask=float_kpm)[1]
    np.testing.assert_allclose(averaged.numpy(), ref_w.mean(1), rtol=1e-12, atol=1e-14)


def test_scaled_dot_product_attention_matches_softmax_by_hand():
    rng = np.random.default_rng(2)
    q, k, v = rng.normal(size=(2, 3, L, 4)), rng.normal(size=(2, 3, S, 4)), rng.normal(size=(2, 3, S, 5))
    keep = rng.random((L, S)) > 0.3
    keep[:, 0] = True
    out = F.scaled_dot_product_attention(t64(q), t64(k), t64(v), attn_mask=tg.tensor(keep), scale=0.7)
    scores = np.where(keep, q @ np.swapaxes(k, -1, -2) * 0.7, -np.inf)
    np.testing.assert_allclose(out.numpy(), softmax(scores) @ v, rtol=1e-12, atol=1e-13)


def test_scaled_dot_product_attention_causal_is_lower_triangular_from_the_top_left():
    rng = np.random.default_rng(3)
    q, k, v = rng.normal(size=(3, 4)), rng.normal(size=(5, 4)), rng.normal(size=(5, 2))
    out = F.scaled_dot_product_attention(t64(q), t64(k), t64(v), is_causal=True)
    scores = np.where(np.tril(np.ones((3, 5), bool)), q @ k.T / 2.0, -np.inf)   # query i sees keys 0..i
    np.testing.assert_allclose(out.numpy(), softmax(scores) @ v, rtol=1e-12, atol=1e-13)


def test_grouped_query_attention_shares_each_key_head_among_query_heads():
    rng = np.random.default_rng(4)
    q, k, v = rng.normal(size=(2, 4, 3, 5)), rng.normal(size=(2, 2, 6, 5)), rng.normal(size=(2, 2, 6, 3))
    out = F.scaled_dot_product_attention(t64(q), t64(k), t64(v), enable_gqa=True)
    repeated = F.scaled_dot_product_attention(t64(q), t64(np.repeat(k, 2, 1)), t64(np.repeat(v, 2, 1)))
    np.testing.assert_array_equal(out.numpy(), repeated.numpy())


# ----------------------------------------------------------------------------- worked by hand

def test_attention_with_one_key_returns_the_projected_value():
    # softmax over a single key is 1 whatever the query: out = W_o (W_v v + b_v) + b_o
    rng = np.random.default_rng(5)
    m = mha()
    q, kv = rng.normal(size=(L, N, E)), rng.normal(size=(1, N, E))
    out, w = m(t64(q), t64(kv), t64(kv))
    wv, bv = m.in_proj_weight.numpy()[2 * E:], m.in_proj_bias.numpy()[2 * E:]
    expected = (kv @ wv.T + bv) @ m.out_proj.weight.numpy().T + m.out_proj.bias.numpy()
    np.testing.assert_allclose(out.numpy(), np.broadcast_to(expected, (L, N, E)), rtol=1e-13, atol=1e-13)
    assert w.numpy().tolist() == np.ones((N, L, 1)).tolist()


def test_zero_query_projection_gives_uniform_weights_and_the_mean_value():
    rng = np.random.default_rng(6)
    m = mha()
    m.in_proj_weight.data[:E] = 0        # every query projects to b_q: same score for every key?
    m.in_proj_bias.data[:E] = 0          # q = 0, so every score is 0 and the weights are 1/S
    q, kv = rng.normal(size=(L, N, E)), rng.normal(size=(S, N, E))
    out, w = m(t64(q), t64(kv), t64(kv))
    np.testing.assert_allclose(w.numpy(), np.full((N, L, S), 1 / S), rtol=1e-14)
    wv, bv = m.in_proj_weight.numpy()[2 * E:], m.in_proj_bias.numpy()[2 * E:]
    mean_v = (kv @ wv.T + bv).mean(0)
    expected = mean_v @ m.out_proj.weight.numpy().T + m.out_proj.bias.numpy()
    np.testing.assert_allclose(out.numpy(), np.broadcast_to(expected, (L, N, E)), rtol=1e-12, atol=1e-13)


def test_padded_keys_change_nothing_and_get_no_gradient():
    rng = np.random.default_rng(7)
    m = mha()
    q, kv = rng.normal(size=(L, N, E)), rng.normal(size=(S, N, E))
    kpm = np.zeros((N, S), bool)
    kpm[0, 3:] = True
    kv_t = t64(kv, requires_grad=True)
    out = m(t64(q), kv_t, kv_t, key_padding_mask=tg.tensor(kpm))[0]
    out.sum().backward()
    changed = kv.copy()
    changed[3:, 0] = 100.0                       # only what sample 0 has padded
    again = m(t64(q), t64(changed), t64(changed), key_padding_mask=tg.tensor(kpm))[0]
    np.testing.assert_array_equal(again.numpy(), out.numpy())
    assert np.all(kv_t.grad.numpy()[3:, 0] == 0) and np.all(kv_t.grad.numpy()[3:, 1] != 0)


def _causal_jacobian_blocks(forward, x):
    """|v . d out[t] / d x[s]| summed over features, for every t and s (sequence first, batch 1),
    with v a fixed random vector (a plain sum would see nothing behind a LayerNorm, whose outputs
    always sum to the same value)."""
    blocks = np.zeros((x.shape[0], x.shape[0]))
    v = t64(np.random.default_rng(0).normal(size=x.shape[1:]))
    for t in range(x.shape[0]):
        xt = t64(x, requires_grad=True)
        (forward(xt)[t] * v).sum().backward()
        blocks[t] = np.abs(xt.grad.numpy()).sum(axis=(1, 2))
    return blocks


@pytest.mark.parametrize("how", ["float-mask", "bool-mask", "is_causal-hint", "detected"])
def test_causal_mask_makes_output_t_independent_of_later_inputs(how):
    rng = np.random.default_rng(8)
    layer = nn.TransformerEncoderLayer(E, H, 12, dropout=0.0, dtype=tg.float64)
    T = 5
    causal = nn.Transformer.generate_square_subsequent_mask(T, dtype=tg.float64)
    if how == "float-mask":
        forward = lambda x: layer(x, src_mask=causal)                      # noqa: E731
    elif how == "bool-mask":
        forward = lambda x: layer(x, src_mask=tg.tensor(np.triu(np.ones((T, T), bool), 1)))  # noqa: E731
    elif how == "is_causal-hint":
        forward = lambda x: layer(x, src_mask=causal, is_causal=True)     # noqa: E731
    else:
        encoder = nn.TransformerEncoder(layer, 2)
        forward = lambda x: encoder(x, mask=causal)                        # noqa: E731
    blocks = _causal_jacobian_blocks(forward, rng.normal(size=(T, 1, E)))
    assert np.all(np.triu(blocks, 1) == 0)                 # exactly: no path from later inputs
    assert np.all(blocks[np.tril_indices(len(blocks))] > 1e-6)                  # and every earlier input matters


def test_decoder_target_mask_is_causal_and_memory_is_seen_everywhere():
    rng = np.random.default_rng(9)
    model = nn.Transformer(E, H, 1, 2, 12, dropout=0.0, dtype=tg.float64)
    T = 4
    memory = t64(rng.normal(size=(S, 1, E)), requires_grad=True)
    mask = nn.Transformer.generate_square_subsequent_mask(T, dtype=tg.float64)
    blocks = _causal_jacobian_blocks(lambda x: model.decoder(x, memory, tgt_mask=mask), rng.normal(size=(T, 1, E)))
    assert np.all(np.triu(blocks, 1) == 0) and np.all(blocks[np.tril_indices(len(blocks))] > 1e-6)
    v = t64(rng.normal(size=(1, E)))
    (model.decoder(t64(rng.normal(size=(T, 1, E))), memory, tgt_mask=mask)[0] * v).sum().backward()
    assert np.all(np.abs(memory.grad.numpy()).sum(axis=(1, 2)) > 0)     # the first position sees all memory


def test_queries_with_no_key_left_give_zero_output_in_sdpa_and_nan_with_weights():
    rng = np.random.default_rng(10)
    q = t64(rng.normal(size=(2, 3, 4)), requires_grad=True)
    k, v = t64(rng.normal(size=(2, 5, 4))), t64(rng.normal(size=(2, 5, 3)))
    keep = np.ones((3, 5), bool)
    keep[1] = False                                  # query 1 may attend to nothing
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=tg.tensor(keep))
    assert np.all(out.numpy()[:, 1] == 0) and np.all(np.isfinite(out.numpy()))
    out.sum().backward()
    assert np.all(q.grad.numpy()[:, 1] == 0) and np.all(np.isfinite(q.grad.numpy()))
    m = mha()
    x = t64(rng.normal(size=(L, N, E)))
    kpm = np.zeros((N, L), bool)
    kpm[0] = True
    out, w = m(x, x, x, key_padding_mask=tg.tensor(kpm))
    assert np.isnan(out.numpy()[:, 0]).all() and np.isfinite(out.numpy()[:, 1]).all()
    out, w = m(x, x, x, key_padding_mask=tg.tensor(kpm), need_weights=False)
    np.testing.assert_allclose(out.numpy()[:, 0], np.broadcast_to(m.out_proj.bias.numpy(), (L, E)))
    assert w is None


def test_add_zero_attn_and_bias_kv_append_one_key_each():
    # add_zero_attn appends a key and a value of zeros: score 0, contribution 0
    rng = np.random.default_rng(11)
    m, plain = mha(add_zero_attn=True), mha()
    q, kv = rng.normal(size=(L, N, E)), rng.normal(size=(S, N, E))
    _, w = m(t64(q), t64(kv), t64(kv), average_attn_weights=False)
    assert w.shape == (N, H, L, S + 1)
    _, ref_w = reference_mha(plain, q, kv, kv)
    # the zero key's score is 0: its weight is 1 / (1 + sum(exp(score_j)))
    d = E // H
    wq, bq = plain.in_proj_weight.numpy()[:E], plain.in_proj_bias.numpy()[:E]
    wk, bk = plain.in_proj_weight.numpy()[E:2 * E], plain.in_proj_bias.numpy()[E:2 * E]
    qh = (q @ wq.T + bq).reshape(L, N, H, d)
    kh = (kv @ wk.T + bk).reshape(S, N, H, d)
    scores = np.einsum("lnhd,snhd->nhls", qh, kh) / math.sqrt(d)
    expected_zero = 1 / (1 + np.exp(scores).sum(-1))
    np.testing.assert_allclose(w.numpy()[..., -1], expected_zero, rtol=1e-12)
    np.testing.assert_allclose(w.numpy()[..., :-1], ref_w * (1 - expected_zero)[..., None], rtol=1e-12, atol=1e-15)
    with_kv = mha(add_bias_kv=True)
    assert with_kv(t64(q), t64(kv), t64(kv))[1].shape == (N, L, S + 1)
    assert with_kv.bias_k.shape == (1, 1, E) and with_kv.bias_v.shape == (1, 1, E)


# ----------------------------------------------------------------------------- layouts

def test_batch_first_is_the_same_computation_transposed():
    rng = np.random.default_rng(12)
    seq_first = nn.TransformerEncoderLayer(E, H, 12, dropout=0.0, dtype=tg.float64)
    batch_first = nn.TransformerEncoderLayer(E, H, 12, dropout=0.0, batch_first=True, dtype=tg.float64)
    batch_first.load_state_dict(seq_first.state_dict())
    x = rng.normal(size=(L, N, E))
    kpm = tg.tensor(np.array([[False, False, True, True], [False, False, False, True]]))
    a = seq_first(t64(x), src_key_padding_mask=kpm)
    b = batch_first(t64(x.transpose(1, 0, 2)), src_key_padding_mask=kpm)
    np.testing.assert_allclose(b.numpy().transpose(1, 0, 2), a.numpy(), rtol=1e-13, atol=1e-13)


def test_unbatched_input_is_a_batch_of_one():
    rng = np.random.default_rng(13)
    m = nn.Transformer(E, H, 1, 1, 12, dropout=0.0, dtype=tg.float64)
    src, tgt = rng.normal(size=(S, E)), rng.normal(size=(L, E))
    mask = nn.Transformer.generate_square_subsequent_mask(L, dtype=tg.float64)
    a = m(t64(src), t64(tgt), tgt_mask=mask)
    b = m(t64(src[:, None]), t64(tgt[:, None]), tgt_mask=mask)
    assert a.shape == (L, E)
    np.testing.assert_allclose(a.numpy(), b.numpy()[:, 0], rtol=1e-13, atol=1e-13)


def test_kdim_vdim_use_separate_projection_weights():
    m = nn.MultiheadAttention(E, H, kdim=3, vdim=5)
    assert m.in_proj_weight is None and m._qkv_same_embed_dim is False
    assert (m.q_proj_weight.shape, m.k_proj_weight.shape, m.v_proj_weight.shape) == ((E, E), (E, 3), (E, 5))
    out, w = m(tg.randn(L, N, E), tg.randn(S, N, 3), tg.randn(S, N, 5))
    assert out.shape == (L, N, E) and w.shape == (N, L, S)


# ----------------------------------------------------------------------------- finite differences

def test_scaled_dot_product_attention_gradients_match_finite_differences():
    rng = np.random.default_rng(14)
    q, k, v = (t64(rng.normal(size=s), requires_grad=True) for s in ((2, 3, 4), (2, 5, 4), (2, 5, 3)))
    mask = t64(rng.normal(size=(3, 5)), requires_grad=True)
    assert gradcheck(lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, attn_mask=m), q, k, v, mask)
    assert gradcheck(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True), q, k, v)


def test_multi_head_attention_gradients_match_finite_differences():
    rng = np.random.default_rng(15)
    e, h = 4, 2

    def w(*shape):
        return t64(rng.uniform(-0.8, 0.8, shape), requires_grad=True)

    q, kv = w(3, 2, e), w(4, 2, e)
    w_in, b_in, w_out, b_out = w(3 * e, e), w(3 * e), w(e, e), w(e)
    bias_k, bias_v = w(1, 1, e), w(1, 1, e)
    kpm = tg.tensor(np.array([[False, False, True, False], [False, False, False, False]]))

    def f(q, kv, w_in, b_in, w_out, b_out, bias_k, bias_v):
        return F.multi_head_attention_forward(q, kv, kv, e, h, w_in, b_in, bias_k, bias_v, True, 0.0, w_out,
                                              b_out, key_padding_mask=kpm, average_attn_weights=False)

    assert gradcheck(f, q, kv, w_in, b_in, w_out, b_out, bias_k, bias_v)


def test_encoder_and_decoder_layer_input_gradients_match_finite_differences():
    rng = np.random.default_rng(16)
    enc = nn.TransformerEncoderLayer(4, 2, 6, dropout=0.0, activation="gelu", norm_first=True, dtype=tg.float64)
    dec = nn.TransformerDecoderLayer(4, 2, 6, dropout=0.0, dtype=tg.float64)
    mask = nn.Transformer.generate_square_subsequent_mask(3, dtype=tg.float64)
    x, mem = t64(rng.normal(size=(3, 2, 4)), True), t64(rng.normal(size=(4, 2, 4)), True)
    assert gradcheck(lambda x: enc(x, src_mask=mask), x)
    assert gradcheck(lambda x, mem: dec(x, mem, tgt_mask=mask), x, mem)


def test_attention_second_derivatives_match_finite_differences():
    rng = np.random.default_rng(19)
    q, k, v = (t64(rng.normal(size=s), requires_grad=True) for s in ((2, 3, 4), (2, 5, 4), (2, 5, 3)))
    keep = tg.tensor(rng.random((3, 5)) > 0.3)
    assert gradgradcheck(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, attn_mask=keep), q, k, v)
    layer = nn.TransformerEncoderLayer(4, 2, 6, dropout=0.0, dtype=tg.float64)
    mask = nn.Transformer.generate_square_subsequent_mask(3, dtype=tg.float64)
    assert gradgradcheck(lambda x: layer(x, src_mask=mask), t64(rng.normal(size=(3, 2, 4)), True))


# ----------------------------------------------------------------------------- dropout

def test_dropout_is_identity_in_eval_mode():
    rng = np.random.default_rng(17)
    noisy = nn.Transformer(E, H, 1, 1, 12, dropout=0.5, dtype=tg.float64)
    clean = nn.Transformer(E, H, 1, 1, 12, dropout=0.0, dtype=tg.float64)
    clean.load_state_dict(noisy.state_dict())
    src, tgt = t64(rng.normal(size=(S, N, E))), t64(rng.normal(size=(L, N, E)))
    noisy.eval()
    np.testing.assert_array_equal(noisy(src, tgt).numpy(), clean(src, tgt).numpy())


def test_attention_dropout_in_training_zeroes_weights_at_rate_p_and_rescales_the_rest():
    p = 0.3
    m = nn.MultiheadAttention(8, 2, dropout=p)
    tg.manual_seed(0)
    x = tg.randn(20, 50, 8)
    _, dropped = m(x, x, x, average_attn_weights=False)
    m.eval()
    _, kept = m(x, x, x, average_attn_weights=False)
    dropped, kept = dropped.numpy(), kept.numpy()
    zero = dropped == 0
    n = zero.size
    assert abs(zero.mean() - p) < 4 * math.sqrt(p * (1 - p) / n)        # 4 standard deviations
    np.testing.assert_allclose(dropped[~zero], kept[~zero] / (1 - p), rtol=1e-5)
    # each row of weights still sums to 1 on average
    assert abs(dropped.sum(-1).mean() - 1) < 4 * math.sqrt(p / (1 - p) / dropped.shape[-1] / zero[..., 0].size)


def test_layer_dropout_in_training_changes_the_output_but_not_its_scale():
    tg.manual_seed(1)
    layer = nn.TransformerEncoderLayer(16, 4, 32, dropout=0.2, norm_first=True)
    x = tg.randn(30, 20, 16)
    train_out = layer(x)
    layer.eval()
    eval_out = layer(x)
    assert not np.allclose(train_out.numpy(), eval_out.numpy())
    # inverted dropout keeps the expected value: the means agree to a few standard errors
    diff = (train_out - eval_out).numpy()
    assert abs(diff.mean()) < 4 * diff.std() / math.sqrt(diff.size)


# ----------------------------------------------------------------------------- construction

def test_generate_square_subsequent_mask_is_minus_infinity_above_the_diagonal():
    m = nn.Transformer.generate_square_subsequent_mask(3)
    assert m.dtype == np.float32
    assert m.tolist() == [[0.0, -np.inf, -np.inf], [0.0, 0.0, -np.inf], [0.0, 0.0, 0.0]]
    assert nn.Transformer.generate_square_subsequent_mask(2, dtype=tg.float64).dtype == np.float64


def test_is_causal_is_detected_from_the_mask():
    causal = nn.Transformer.generate_square_subsequent_mask(4)
    assert _detect_is_causal_mask(causal) is True
    assert _detect_is_causal_mask(tg.tensor(np.triu(np.ones((4, 4), bool), 1))) is True
    assert _detect_is_causal_mask(causal, size=5) is False
    assert _detect_is_causal_mask(tg.zeros(4, 4)) is False
    assert _detect_is_causal_mask(None) is False
    assert _detect_is_causal_mask(tg.zeros(4, 4), is_causal=True) is True


def test_stacks_hold_independent_copies_of_the_layer():
    layer = nn.TransformerEncoderLayer(E, H, 12)
    enc = nn.TransformerEncoder(layer, 3)
    w = [enc.layers[i].linear1.weight for i in range(3)]
    assert w[0] is not w[1] and w[0] is not layer.linear1.weight
    np.testing.assert_array_equal(w[0].numpy(), w[2].numpy())
    w[0].data[...] = 0
    assert np.any(w[1].numpy() != 0)
    assert len(list(enc.parameters())) == 3 * len(list(layer.parameters()))


def test_transformer_parameters_and_initialisation():
    model = nn.Transformer(E, H, 2, 1, 12)
    sd = model.state_dict()
    assert sd["encoder.layers.1.self_attn.in_proj_weight"].shape == (3 * E, E)
    assert sd["decoder.layers.0.multihead_attn.out_proj.weight"].shape == (E, E)
    assert sd["decoder.norm.weight"].shape == (E,) and "decoder.layers.1.norm1.weight" not in sd
    for name, p in model.named_parameters():
        if p.ndim > 1:                    # Xavier-uniform: |w| <= sqrt(6 / (fan_in + fan_out))
            assert np.abs(p.numpy()).max() <= math.sqrt(6 / sum(p.shape)) + 1e-7, name
    assert np.all(model.encoder.layers[0].self_attn.in_proj_bias.numpy() == 0)
    assert np.all(model.decoder.layers[0].norm3.weight.numpy() == 1)


def test_activation_can_be_a_name_a_function_or_a_module():
    x = tg.randn(L, N, E)
    for activation, flag in (("relu", 1), ("gelu", 2), (F.gelu, 2), (nn.GELU(), 2), (F.silu, 0)):
        layer = nn.TransformerEncoderLayer(E, H, 12, activation=activation)
        assert layer.activation_relu_or_gelu == flag
        assert layer(x).shape == (L, N, E)
    assert "(activation): GELU" in repr(nn.TransformerEncoderLayer(E, H, 12, activation=nn.GELU()))


def test_encoder_layer_runs_on_every_device(device):
    rng = np.random.default_rng(18)
    layer = nn.TransformerEncoderLayer(E, H, 12, dropout=0.0, dtype=tg.float64)
    there = nn.TransformerEncoderLayer(E, H, 12, dropout=0.0, dtype=tg.float64).to(device)
    there.load_state_dict(layer.state_dict())
    x = rng.normal(size=(L, N, E))
    mask = nn.Transformer.generate_square_subsequent_mask(L, dtype=tg.float64)
    kpm = np.where([[False, False, True, True], [False, False, False, False]], -np.inf, 0.0)
    a, xa = layer, t64(x, True)
    b, xb = there, t64(x, True, device)
    ya = a(xa, src_mask=mask, src_key_padding_mask=t64(kpm))
    yb = b(xb, src_mask=mask.to(device), src_key_padding_mask=t64(kpm, device=device))
    ya.sum().backward()
    yb.sum().backward()
    np.testing.assert_allclose(yb.cpu().numpy(), ya.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(xb.grad.cpu().numpy(), xa.grad.numpy(), rtol=1e-12, atol=1e-12)
    assert b.self_attn.in_proj_weight.grad.device == xb.device


# ----------------------------------------------------------------------------- errors

def test_bad_configurations_raise():
    with pytest.raises(AssertionError, match="embed_dim must be divisible by num_heads"):
        nn.MultiheadAttention(6, 4)
    with pytest.raises(ValueError, match="embed_dim and num_heads must be greater than 0"):
        nn.MultiheadAttention(0, 1)
    with pytest.raises(RuntimeError, match="activation should be relu/gelu, not tanh"):
        nn.TransformerEncoderLayer(E, H, activation="tanh")


def test_bad_masks_and_inputs_raise():
    m = nn.MultiheadAttention(E, H)
    x = tg.randn(L, N, E)
    with pytest.raises(RuntimeError, match=r"The shape of the 2D attn_mask is \(4, 3\), but should be \(4, 4\)"):
        m(x, x, x, attn_mask=tg.zeros(4, 3))
    with pytest.raises(RuntimeError, match="Need attn_mask if specifying the is_causal hint"):
        m(x, x, x, is_causal=True)
    with pytest.raises(AssertionError, match="only bool and floating types of attn_mask are supported"):
        m(x, x, x, attn_mask=tg.zeros(4, 4, dtype=tg.int64))
    with pytest.raises(AssertionError, match=r"Expected key_padding_mask of shape \(2, 4\), but got \(3, 4\)"):
        m(x, x, x, key_padding_mask=tg.zeros(3, 4, dtype=tg.bool))
    with pytest.raises(AssertionError, match="expected `key` and `value` to be 3-D"):
        m(x, x[0], x[0])
    with pytest.raises(RuntimeError, match="Explicit attn_mask should not be set when is_causal=True"):
        F.scaled_dot_product_attention(x, x, x, attn_mask=tg.ones(N, N, dtype=tg.bool), is_causal=True)
    model = nn.Transformer(E, H, 1, 1, 12)
    with pytest.raises(RuntimeError, match="the batch number of src and tgt must be equal"):
        model(tg.randn(S, 2, E), tg.randn(L, 3, E))
    with pytest.raises(RuntimeError, match="the feature number of src and tgt must be equal to d_model"):
        model(tg.randn(S, 2, E), tg.randn(L, 2, E + 1))
