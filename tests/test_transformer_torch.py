"""nn.MultiheadAttention and the Transformer family against PyTorch (skipped when it is not
installed): the same weights, copied by name through state_dict, give the same outputs, attention
weights, input gradients and parameter gradients, in float64 to 1e-10, over configurations that
cover the options (masks of both kinds, batch_first, norm_first, activations, kdim/vdim, biases)."""
import zlib

import numpy as np
import pytest

import tinygrad_rnn as tg
import tinygrad_rnn.nn.functional as F
from tinygrad_rnn import nn

torch = pytest.importorskip("torch")
TF = torch.nn.functional

TOL = 1e-10
L, S, N, E, H = 4, 5, 3, 8, 2


def copy_weights(ours, theirs, seed=0):
    """Random weights in the PyTorch module (float64), copied into ours by name."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in theirs.parameters():
            p.copy_(torch.rand(p.shape, generator=gen, dtype=p.dtype) - 0.5)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})


def close(a, b, what=""):
    a = a.numpy() if isinstance(a, tg.Tensor) else a
    b = b.detach().numpy() if isinstance(b, torch.Tensor) else b
    assert np.shape(a) == np.shape(b), what
    np.testing.assert_allclose(a, b, rtol=TOL, atol=TOL, err_msg=what)


def pair(array, requires_grad=True):
    """The same values as a Tensor of ours and one of PyTorch's (bool arrays stay bool)."""
    if array.dtype == np.bool_:
        return tg.tensor(array), torch.tensor(array)
    return tg.tensor(array, requires_grad=requires_grad), torch.tensor(array, requires_grad=requires_grad)


def check_same(ours, theirs, our_inputs, their_inputs, call, rng):
    """Run ``call(module, inputs)`` on both, backpropagate the same random upstream gradients
    through every floating output, compare outputs and the gradients of inputs and parameters."""
    assert list(ours.state_dict()) == list(theirs.state_dict())
    outs, touts = call(ours, our_inputs), call(theirs, their_inputs)
    outs = outs if isinstance(outs, tuple) else (outs,)
    touts = touts if isinstance(touts, tuple) else (touts,)
    total, ttotal = 0, 0
    for i, (a, b) in enumerate(zip(outs, touts)):
        assert (a is None) == (b is None), f"output {i}"
        if a is None:
            continue
        close(a, b, f"output {i}")
        g = rng.normal(size=b.shape)
        total = total + (a * tg.tensor(g)).sum()
        ttotal = ttotal + (b * torch.tensor(g)).sum()
    total.backward()
    ttotal.backward()
    for i, (a, b) in enumerate(zip(our_inputs, their_inputs)):
        if isinstance(b, torch.Tensor) and b.requires_grad:
            close(a.grad, b.grad, f"gradient of input {i}")
    theirs_named = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        close(p.grad, theirs_named[name].grad, f"gradient of {name}")


# ----------------------------------------------------------------------------- MultiheadAttention

def _bool_kpm(rng, n=N, s=S):
    """A key padding mask that leaves every sample at least one key."""
    m = rng.random((n, s)) < 0.4
    m[:, 0] = False
    return m


def _bool_attn(rng, shape):
    m = rng.random(shape) < 0.3
    m[..., 0] = False
    return m


def _float_mask(rng, shape):
    m = rng.normal(size=shape)
    m[rng.random(shape) < 0.2] = -np.inf
    m[..., 0] = 0.0
    return m


MHA_CASES = {
    "self": ({}, "self", {}),
    "self-no-weights": ({}, "self", {"need_weights": False}),
    "self-per-head-weights": ({}, "self", {"average_attn_weights": False}),
    "cross-kpm": ({}, "cross", {"key_padding_mask": "kpm"}),
    "cross-kpm-no-weights": ({}, "cross", {"key_padding_mask": "kpm", "need_weights": False}),
    "separate-inputs-float-mask": ({}, "separate", {"attn_mask": "float2d"}),
    "kdim-vdim": ({"kdim": 6, "vdim": 7}, "separate", {"attn_mask": "float2d", "key_padding_mask": "float_kpm"}),
    "bool-3d-mask-batch-first": ({"batch_first": True}, "separate", {"attn_mask": "bool3d"}),
    "batch-first-self-no-weights": ({"batch_first": True}, "self", {"need_weights": False, "attn_mask": "bool2d"}),
    "no-bias": ({"bias": False}, "cross", {"key_padding_mask": "kpm"}),
    "bias-kv-zero-attn": ({"add_bias_kv": True, "add_zero_attn": True}, "separate",
                          {"key_padding_mask": "kpm", "attn_mask": "bool2d"}),
    "bias-kv-zero-attn-no-weights": ({"add_bias_kv": True, "add_zero_attn": True}, "cross",
                                     {"attn_mask": "float3d", "need_weights": False}),
    "float-kpm-and-mask": ({}, "separate", {"key_padding_mask": "float_kpm", "attn_mask": "float2d",
                                            "need_weights": False}),
    "causal-hint": ({}, "self", {"attn_mask": "causal", "is_causal": True, "need_weights": False}),
    "causal-hint-with-weights": ({}, "self", {"attn_mask": "causal", "is_causal": True}),
    "causal-hint-with-kpm": ({}, "self", {"attn_mask": "causal", "is_causal": True, "need_weights": False,
                                          "key_padding_mask": "float_kpm"}),
    "unbatched": ({}, "unbatched", {"key_padding_mask": "kpm1d", "attn_mask": "bool2d"}),
    "unbatched-3d-mask": ({}, "unbatched", {"attn_mask": "float3d_unbatched", "need_weights": False}),
}


@pytest.mark.parametrize("case", list(MHA_CASES))
def test_multihead_attention_matches_pytorch(case):
    options, kind, call_kwargs = MHA_CASES[case]
    rng = np.random.default_rng(zlib.crc32(case.encode()))
    ours = nn.MultiheadAttention(E, H, dtype=tg.float64, **options)
    theirs = torch.nn.MultiheadAttention(E, H, dtype=torch.float64, **options)
    copy_weights(ours, theirs)
    assert repr(ours) == repr(theirs)
    bf = options.get("batch_first", False)
    kd, vd = options.get("kdim", E), options.get("vdim", E)
    s = L if kind == "self" else S

    def seq(n, d):
        shape = (n, d) if kind == "unbatched" else ((N, n, d) if bf else (n, N, d))
        return rng.normal(size=shape)

    if kind == "self":
        q = pair(seq(L, E))
        inputs = [q, q, q]
    elif kind == "cross":
        q, kv = pair(seq(L, E)), pair(seq(S, kd))
        inputs = [q, kv, kv]
    else:
        inputs = [pair(seq(L, E)), pair(seq(S, kd)), pair(seq(S, vd))]
    masks = {"kpm": lambda: _bool_kpm(rng, s=s), "kpm1d": lambda: _bool_kpm(rng, 1, s)[0],
             "float_kpm": lambda: _float_mask(rng, (N, s)),
             "bool2d": lambda: _bool_attn(rng, (L, s)), "bool3d": lambda: _bool_attn(rng, (N * H, L, s)),
             "float2d": lambda: _float_mask(rng, (L, s)), "float3d": lambda: _float_mask(rng, (N * H, L, s)),
             "float3d_unbatched": lambda: _float_mask(rng, (H, L, s)),
             "causal": lambda: np.triu(np.full((L, L), -np.inf), 1)}
    kwargs, tkwargs = {}, {}
    for k, v in call_kwargs.items():
        if isinstance(v, str):
            a, b = pair(masks[v](), requires_grad=False)
            kwargs[k], tkwargs[k] = a, b
        else:
            kwargs[k] = tkwargs[k] = v
    ours_in = [x[0] for x in inputs]
    theirs_in = [x[1] for x in inputs]
    check_same(ours, theirs, ours_in, theirs_in,
               lambda m, xs: m(*xs, **(kwargs if m is ours else tkwargs)), rng)


def test_multihead_attention_dropout_off_in_eval_and_no_grad_matches_pytorch():
    # eval + no_grad lets PyTorch take its fused inference path; the numbers stay the same
    rng = np.random.default_rng(1)
    ours = nn.MultiheadAttention(E, H, dropout=0.5, batch_first=True, dtype=tg.float64).eval()
    theirs = torch.nn.MultiheadAttention(E, H, dropout=0.5, batch_first=True, dtype=torch.float64).eval()
    copy_weights(ours, theirs)
    x = rng.normal(size=(N, L, E))
    mask = _bool_attn(rng, (L, L))
    with tg.no_grad(), torch.no_grad():
        a, wa = ours(tg.tensor(x), tg.tensor(x), tg.tensor(x), attn_mask=tg.tensor(mask))
        b, wb = theirs(torch.tensor(x), torch.tensor(x), torch.tensor(x), attn_mask=torch.tensor(mask))
    close(a, b)
    close(wa, wb)


def test_queries_with_no_key_left_match_pytorch():
    # every key of sample 0 padded: PyTorch's need_weights=False path gives zeros, the other NaN
    ours = nn.MultiheadAttention(E, H, dtype=tg.float64)
    theirs = torch.nn.MultiheadAttention(E, H, dtype=torch.float64)
    copy_weights(ours, theirs)
    x = np.random.default_rng(2).normal(size=(L, N, E))
    kpm = np.zeros((N, L), bool)
    kpm[0] = True
    for need_weights in (False, True):
        a = ours(*[tg.tensor(x)] * 3, key_padding_mask=tg.tensor(kpm), need_weights=need_weights)[0]
        b = theirs(*[torch.tensor(x)] * 3, key_padding_mask=torch.tensor(kpm), need_weights=need_weights)[0]
        np.testing.assert_allclose(a.numpy(), b.detach().numpy(), rtol=TOL, atol=TOL, equal_nan=True)
        assert np.isnan(a.numpy()[:, 0]).all() == need_weights


def test_functional_multi_head_attention_with_static_keys_matches_pytorch():
    rng = np.random.default_rng(3)
    q = pair(rng.normal(size=(L, N, E)))
    kv = pair(rng.normal(size=(S, N, E)))
    static_k, static_v = pair(rng.normal(size=(N * H, S, E // H))), pair(rng.normal(size=(N * H, S, E // H)))
    w_in, b_in = pair(rng.normal(size=(3 * E, E)) * 0.3), pair(rng.normal(size=3 * E))
    w_out, b_out = pair(rng.normal(size=(E, E)) * 0.3), pair(rng.normal(size=E))
    mask = pair(_float_mask(rng, (L, S)), requires_grad=False)
    outs = []
    for i, f in ((0, F.multi_head_attention_forward), (1, TF.multi_head_attention_forward)):
        outs.append(f(q[i], kv[i], kv[i], E, H, w_in[i], b_in[i], None, None, False, 0.0, w_out[i], b_out[i],
                      attn_mask=mask[i], static_k=static_k[i], static_v=static_v[i]))
    close(outs[0][0], outs[1][0])
    close(outs[0][1], outs[1][1])
    g = rng.normal(size=(L, N, E))
    (outs[0][0] * tg.tensor(g)).sum().backward()
    (outs[1][0] * torch.tensor(g)).sum().backward()
    for a, b in (q, static_k, static_v, w_in, b_in, w_out, b_out):
        close(a.grad, b.grad)


# ----------------------------------------------------------------------------- scaled_dot_product_attention

SDPA_CASES = {
    "plain": ({}, (2, 3, 4, 6), (2, 3, 5, 6), (2, 3, 5, 7)),
    "bool-mask": ({"attn_mask": "bool"}, (2, 3, 4, 6), (2, 3, 5, 6), (2, 3, 5, 7)),
    "float-mask-broadcast": ({"attn_mask": "float"}, (2, 3, 4, 6), (2, 3, 5, 6), (2, 3, 5, 6)),
    "causal-square": ({"is_causal": True}, (2, 4, 6), (2, 4, 6), (2, 4, 3)),
    "causal-wide": ({"is_causal": True}, (2, 3, 6), (2, 5, 6), (2, 5, 3)),
    "scale": ({"scale": 0.3}, (3, 4, 6), (3, 5, 6), (3, 5, 2)),
    "gqa": ({"enable_gqa": True}, (2, 4, 3, 6), (2, 2, 5, 6), (2, 2, 5, 6)),
    "empty-rows": ({"attn_mask": "empty_rows"}, (2, 4, 6), (2, 5, 6), (2, 5, 3)),
    "unbatched": ({}, (4, 6), (5, 6), (5, 3)),
}


@pytest.mark.parametrize("case", list(SDPA_CASES))
def test_scaled_dot_product_attention_matches_pytorch(case):
    kwargs, qs, ks, vs = SDPA_CASES[case]
    rng = np.random.default_rng(len(case))
    q, k, v = (pair(rng.normal(size=s)) for s in (qs, ks, vs))
    ours_kw, theirs_kw = dict(kwargs), dict(kwargs)
    mask_kind = kwargs.get("attn_mask")
    if mask_kind:
        shape = (qs[-2], ks[-2])
        m = {"bool": lambda: rng.random(shape) > 0.3, "float": lambda: _float_mask(rng, shape),
             "empty_rows": lambda: np.arange(ks[-2])[None, :] < np.array([0, 1, 0, 3])[:, None]}[mask_kind]()
        if mask_kind == "bool":
            m[:, 0] = True
        ours_kw["attn_mask"], theirs_kw["attn_mask"] = pair(m, requires_grad=False)
    a = F.scaled_dot_product_attention(q[0], k[0], v[0], **ours_kw)
    b = TF.scaled_dot_product_attention(q[1], k[1], v[1], **theirs_kw)
    close(a, b)
    g = rng.normal(size=b.shape)
    (a * tg.tensor(g)).sum().backward()
    (b * torch.tensor(g)).sum().backward()
    for x, y in (q, k, v):
        close(x.grad, y.grad)


# ----------------------------------------------------------------------------- encoder / decoder layers

def _activation(spec, lib):
    if spec == "module-gelu":
        return tg.nn.GELU() if lib is tg else torch.nn.GELU()
    if spec == "silu":
        return F.silu if lib is tg else TF.silu
    return spec


LAYER_CASES = {
    "post-norm-relu": {},
    "norm-first": {"norm_first": True},
    "gelu": {"activation": "gelu"},
    "gelu-module-norm-first": {"activation": "module-gelu", "norm_first": True},
    "silu-function": {"activation": "silu"},
    "batch-first": {"batch_first": True},
    "no-bias-eps": {"bias": False, "layer_norm_eps": 1e-3},
}

MASKS = ["none", "causal", "causal-hint", "kpm", "causal+kpm", "bool-mask+float-kpm"]
# every mask setting with the default layer; three of them (in turn) with each other option
LAYER_MASKS = [("post-norm-relu", m) for m in MASKS] + [
    (case, MASKS[(i + j) % len(MASKS)]) for i, case in enumerate(list(LAYER_CASES)[1:]) for j in (0, 2, 4)]


def _encoder_inputs(rng, options, masks, n=N, unbatched=False):
    bf = options.get("batch_first", False)
    shape = (L, E) if unbatched else ((n, L, E) if bf else (L, n, E))
    x = pair(rng.normal(size=shape))
    kw = {}
    if "causal" in masks:   # with a padding mask, a bool one: mixing the two types warns (tested apart)
        causal = np.triu(np.ones((L, L), bool), 1) if "kpm" in masks else np.triu(np.full((L, L), -np.inf), 1)
        kw["src_mask"] = pair(causal, requires_grad=False)
    if masks == "causal-hint":
        kw["is_causal"] = (True, True)
    if "kpm" in masks:
        m = _bool_kpm(rng, 1 if unbatched else n, L)
        m = m[0] if unbatched else m
        kw["src_key_padding_mask"] = pair(_float_mask(rng, m.shape) if "float-kpm" in masks else m,
                                          requires_grad=False)
    if masks == "bool-mask+float-kpm":
        kw["src_mask"] = pair(_bool_attn(rng, (L, L)), requires_grad=False)
    return x, kw


def _split(kw):
    return {k: v[0] for k, v in kw.items()}, {k: v[1] for k, v in kw.items()}


@pytest.mark.parametrize("case, masks", LAYER_MASKS, ids=[f"{c}-{m}" for c, m in LAYER_MASKS])
def test_encoder_layer_matches_pytorch(case, masks):
    options = dict(LAYER_CASES[case])
    rng = np.random.default_rng(zlib.crc32(f"{case}/{masks}".encode()))
    act = options.pop("activation", "relu")
    ours = nn.TransformerEncoderLayer(E, H, 16, dropout=0.0, activation=_activation(act, tg), dtype=tg.float64,
                                      **options)
    theirs = torch.nn.TransformerEncoderLayer(E, H, 16, dropout=0.0, activation=_activation(act, torch),
                                              dtype=torch.float64, **options)
    copy_weights(ours, theirs)
    assert repr(ours) == repr(theirs)
    x, kw = _encoder_inputs(rng, options, masks)
    ours_kw, theirs_kw = _split(kw)
    with pytest.warns(UserWarning) if masks == "bool-mask+float-kpm" else _no_warning():
        check_same(ours, theirs, [x[0]], [x[1]], lambda m, xs: m(*xs, **(ours_kw if m is ours else theirs_kw)),
                   rng)


class _no_warning:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _decoder_inputs(rng, options, masks):
    bf = options.get("batch_first", False)
    tgt = pair(rng.normal(size=(N, L, E) if bf else (L, N, E)))
    memory = pair(rng.normal(size=(N, S, E) if bf else (S, N, E)))
    kw = {}
    if "causal" in masks:
        causal = np.triu(np.ones((L, L), bool), 1) if "kpm" in masks else np.triu(np.full((L, L), -np.inf), 1)
        kw["tgt_mask"] = pair(causal, requires_grad=False)
    if masks == "causal-hint":
        kw["tgt_is_causal"] = (True, True)
    if "kpm" in masks:
        kw["tgt_key_padding_mask"] = pair(_bool_kpm(rng, N, L), requires_grad=False)
        kw["memory_key_padding_mask"] = pair(_bool_kpm(rng, N, S), requires_grad=False)
    if masks == "bool-mask+float-kpm":
        kw["tgt_mask"] = pair(_bool_attn(rng, (L, L)), requires_grad=False)
        kw["memory_mask"] = pair(_bool_attn(rng, (L, S)), requires_grad=False)
        kw["memory_key_padding_mask"] = pair(_bool_kpm(rng, N, S), requires_grad=False)
    return tgt, memory, kw


@pytest.mark.parametrize("case, masks", LAYER_MASKS, ids=[f"{c}-{m}" for c, m in LAYER_MASKS])
def test_decoder_layer_matches_pytorch(case, masks):
    options = dict(LAYER_CASES[case])
    rng = np.random.default_rng(zlib.crc32(f"decoder/{case}/{masks}".encode()))
    act = options.pop("activation", "relu")
    ours = nn.TransformerDecoderLayer(E, H, 16, dropout=0.0, activation=_activation(act, tg), dtype=tg.float64,
                                      **options)
    theirs = torch.nn.TransformerDecoderLayer(E, H, 16, dropout=0.0, activation=_activation(act, torch),
                                              dtype=torch.float64, **options)
    copy_weights(ours, theirs)
    assert repr(ours) == repr(theirs)
    tgt, memory, kw = _decoder_inputs(rng, options, masks)
    ours_kw, theirs_kw = _split(kw)
    check_same(ours, theirs, [tgt[0], memory[0]], [tgt[1], memory[1]],
               lambda m, xs: m(*xs, **(ours_kw if m is ours else theirs_kw)), rng)


def test_unbatched_encoder_layer_matches_pytorch():
    rng = np.random.default_rng(5)
    ours = nn.TransformerEncoderLayer(E, H, 16, dropout=0.0, dtype=tg.float64)
    theirs = torch.nn.TransformerEncoderLayer(E, H, 16, dropout=0.0, dtype=torch.float64)
    copy_weights(ours, theirs)
    x, kw = _encoder_inputs(rng, {}, "causal+kpm", unbatched=True)
    ours_kw, theirs_kw = _split(kw)
    check_same(ours, theirs, [x[0]], [x[1]], lambda m, xs: m(*xs, **(ours_kw if m is ours else theirs_kw)), rng)


# ----------------------------------------------------------------------------- stacks and the whole model

@pytest.mark.parametrize("options", [{}, {"norm_first": True, "activation": "gelu"}, {"batch_first": True}],
                         ids=["default", "norm-first-gelu", "batch-first"])
def test_encoder_and_decoder_stacks_match_pytorch(options):
    rng = np.random.default_rng(len(options))
    layer = nn.TransformerEncoderLayer(E, H, 16, dropout=0.0, dtype=tg.float64, **options)
    tlayer = torch.nn.TransformerEncoderLayer(E, H, 16, dropout=0.0, dtype=torch.float64, **options)
    ours = nn.TransformerEncoder(layer, 2, nn.LayerNorm(E, dtype=tg.float64))
    theirs = torch.nn.TransformerEncoder(tlayer, 2, torch.nn.LayerNorm(E, dtype=torch.float64),
                                         enable_nested_tensor=False)
    copy_weights(ours, theirs)
    x, kw = _encoder_inputs(rng, options, "causal+kpm")
    ours_kw, theirs_kw = _split(kw)
    ours_kw = {"mask": ours_kw["src_mask"], "src_key_padding_mask": ours_kw["src_key_padding_mask"]}
    theirs_kw = {"mask": theirs_kw["src_mask"], "src_key_padding_mask": theirs_kw["src_key_padding_mask"]}
    check_same(ours, theirs, [x[0]], [x[1]], lambda m, xs: m(*xs, **(ours_kw if m is ours else theirs_kw)), rng)

    dlayer = nn.TransformerDecoderLayer(E, H, 16, dropout=0.0, dtype=tg.float64, **options)
    tdlayer = torch.nn.TransformerDecoderLayer(E, H, 16, dropout=0.0, dtype=torch.float64, **options)
    ours, theirs = nn.TransformerDecoder(dlayer, 2), torch.nn.TransformerDecoder(tdlayer, 2)
    copy_weights(ours, theirs, seed=1)
    tgt, memory, kw = _decoder_inputs(rng, options, "causal+kpm")
    ours_kw, theirs_kw = _split(kw)
    check_same(ours, theirs, [tgt[0], memory[0]], [tgt[1], memory[1]],
               lambda m, xs: m(*xs, **(ours_kw if m is ours else theirs_kw)), rng)


@pytest.mark.filterwarnings("ignore:enable_nested_tensor is True")   # PyTorch's, about its fast path
@pytest.mark.parametrize("options", [{}, {"norm_first": True}, {"batch_first": True, "activation": "gelu"}],
                         ids=["default", "norm-first", "batch-first-gelu"])
def test_transformer_matches_pytorch(options):
    rng = np.random.default_rng(7)
    ours = nn.Transformer(E, H, 2, 2, 16, dropout=0.0, dtype=tg.float64, **options)
    theirs = torch.nn.Transformer(E, H, 2, 2, 16, dropout=0.0, dtype=torch.float64, **options)
    copy_weights(ours, theirs)
    bf = options.get("batch_first", False)
    src = pair(rng.normal(size=(N, S, E) if bf else (S, N, E)))
    tgt = pair(rng.normal(size=(N, L, E) if bf else (L, N, E)))
    tgt_mask = (nn.Transformer.generate_square_subsequent_mask(L, dtype=tg.float64),
                torch.nn.Transformer.generate_square_subsequent_mask(L, dtype=torch.float64))
    # float padding masks, of the causal mask's type (mixing bool and float masks warns)
    src_kpm = np.where(_bool_kpm(rng, N, S), -np.inf, 0.0)
    src_kpm, mem_kpm = pair(src_kpm, requires_grad=False), pair(src_kpm, requires_grad=False)
    tgt_kpm = pair(np.where(_bool_kpm(rng, N, L), -np.inf, 0.0), requires_grad=False)
    kw = {"tgt_mask": tgt_mask, "src_key_padding_mask": src_kpm, "memory_key_padding_mask": mem_kpm,
          "tgt_key_padding_mask": tgt_kpm}
    ours_kw, theirs_kw = _split(kw)
    check_same(ours, theirs, [src[0], tgt[0]], [src[1], tgt[1]],
               lambda m, xs: m(*xs, **(ours_kw if m is ours else theirs_kw)), rng)


@pytest.mark.filterwarnings("ignore:enable_nested_tensor is True")
def test_transformer_in_eval_mode_with_dropout_matches_pytorch():
    rng = np.random.default_rng(8)
    ours = nn.Transformer(E, H, 1, 1, 16, dropout=0.3, dtype=tg.float64).eval()
    theirs = torch.nn.Transformer(E, H, 1, 1, 16, dropout=0.3, dtype=torch.float64).eval()
    copy_weights(ours, theirs)
    src, tgt = pair(rng.normal(size=(S, N, E))), pair(rng.normal(size=(L, N, E)))
    check_same(ours, theirs, [src[0], tgt[0]], [src[1], tgt[1]], lambda m, xs: m(*xs), rng)


def test_mixing_bool_and_float_masks_warns_as_pytorch_does():
    x = np.random.default_rng(9).normal(size=(L, N, E))
    kpm = _bool_kpm(np.random.default_rng(9), N, L)
    causal = np.triu(np.full((L, L), -np.inf), 1)
    for lib, module in ((tg, nn.MultiheadAttention(E, H)), (torch, torch.nn.MultiheadAttention(E, H))):
        t = lib.tensor(x, dtype=lib.float32)
        with pytest.warns(UserWarning, match="Support for mismatched key_padding_mask and attn_mask is deprecated"):
            module(t, t, t, key_padding_mask=lib.tensor(kpm), attn_mask=lib.tensor(causal, dtype=lib.float32))


def test_generate_square_subsequent_mask_matches_pytorch():
    close(nn.Transformer.generate_square_subsequent_mask(5), torch.nn.Transformer.generate_square_subsequent_mask(5))
    assert str(nn.Transformer.generate_square_subsequent_mask(3).dtype) == "float32"


@pytest.mark.filterwarnings("ignore:enable_nested_tensor is True")
def test_state_dict_keys_match_pytorch():
    ours, theirs = nn.Transformer(E, H, 2, 1, 16), torch.nn.Transformer(E, H, 2, 1, 16)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for (name, p), (_, q) in zip(ours.state_dict().items(), theirs.state_dict().items()):
        assert tuple(p.shape) == tuple(q.shape), name
    ours = nn.MultiheadAttention(E, H, kdim=3, vdim=5, add_bias_kv=True)
    theirs = torch.nn.MultiheadAttention(E, H, kdim=3, vdim=5, add_bias_kv=True)
    assert [(k, tuple(v.shape)) for k, v in ours.state_dict().items()] == \
        [(k, tuple(v.shape)) for k, v in theirs.state_dict().items()]
