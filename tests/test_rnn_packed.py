"""Variable-length batches: pad_sequence, pack_padded_sequence, pad_packed_sequence, pack_sequence,
PackedSequence, and recurrent layers fed packed batches. The truth: numbers worked by hand, and
each sequence run on its own (a packed batch must give every sequence exactly what it would get
alone: padded steps neither change the final state nor receive gradient)."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_rnn as tg
from tinygrad_rnn import nn
from tinygrad_rnn.nn.utils import rnn as R
from tinygrad_rnn.testing import assert_grads_match, gradcheck

MODES = ["LSTM", "GRU", "RNN"]


# ----------------------------------------------------------------------------- padding and packing

def test_nn_utils_exposes_the_rnn_module():
    assert nn.utils.rnn.pack_padded_sequence is R.pack_padded_sequence
    assert nn.utils.detach_hidden is R.detach_hidden


def test_pad_sequence_by_hand():
    seqs = [tg.tensor([1.0, 2.0]), tg.tensor([3.0]), tg.tensor([4.0, 5.0, 6.0])]
    np.testing.assert_array_equal(R.pad_sequence(seqs).numpy(), [[1, 3, 4], [2, 0, 5], [0, 0, 6]])
    np.testing.assert_array_equal(R.pad_sequence(seqs, batch_first=True, padding_value=-1).numpy(),
                                  [[1, 2, -1], [3, -1, -1], [4, 5, 6]])
    np.testing.assert_array_equal(R.pad_sequence(seqs, padding_side="left").numpy(),
                                  [[0, 0, 4], [1, 0, 5], [2, 3, 6]])


def test_pad_sequence_sends_each_sequence_its_slice_of_the_gradient():
    rng = np.random.default_rng(0)
    seqs = [tg.tensor(rng.normal(size=(n, 2)), requires_grad=True) for n in (2, 4, 1)]
    g = rng.normal(size=(4, 3, 2))
    (R.pad_sequence(seqs) * tg.tensor(g)).sum().backward()
    for b, s in enumerate(seqs):
        np.testing.assert_array_equal(s.grad.numpy(), g[:s.shape[0], b])


def test_pack_padded_sequence_by_hand():
    x = tg.tensor(np.arange(9.0).reshape(3, 3, 1))     # x[t, b] = 3 t + b
    p = R.pack_padded_sequence(x, [2, 1, 3], enforce_sorted=False)
    # longest first: sequence 2 (3 steps), 0 (2 steps), 1 (1 step)
    np.testing.assert_array_equal(p.sorted_indices.numpy(), [2, 0, 1])
    np.testing.assert_array_equal(p.unsorted_indices.numpy(), [1, 2, 0])
    np.testing.assert_array_equal(p.batch_sizes.numpy(), [3, 2, 1])
    np.testing.assert_array_equal(p.data.numpy().ravel(), [2, 0, 1, 5, 3, 8])
    assert p.batch_sizes.device == tg.device("cpu") and p.batch_sizes.dtype == np.int64


def test_pack_padded_sequence_batch_first_and_sorted():
    x = tg.tensor(np.arange(6.0).reshape(2, 3, 1))     # (B, T, 1): x[b, t] = 3 b + t
    p = R.pack_padded_sequence(x, [3, 2], batch_first=True)
    assert p.sorted_indices is None and p.unsorted_indices is None
    np.testing.assert_array_equal(p.data.numpy().ravel(), [0, 3, 1, 4, 2])


@pytest.mark.parametrize("lengths,msg", [
    ([2, 3, 1], "must be sorted in decreasing order when `enforce_sorted` is True"),
    ([3, 0, 0], "Length of all samples has to be greater than 0"),
    ([3, 3], r"Expected `len\(lengths\)` to be equal to batch_size, but got 2 \(batch_size=3\)"),
    ([6, 3, 1], "a sequence of length 6 does not fit into the 5 time steps"),
])
def test_pack_padded_sequence_rejects_bad_lengths(lengths, msg):
    with pytest.raises(RuntimeError, match=msg):
        R.pack_padded_sequence(tg.zeros(5, 3, 2), lengths)


@settings(max_examples=25)
@given(st.lists(st.integers(1, 5), min_size=1, max_size=5), st.booleans(), st.integers(0, 2),
       st.sampled_from([0.0, -7.0]))
def test_pad_packed_sequence_undoes_pack_padded_sequence(lengths, batch_first, extra, padding_value):
    T, B = max(lengths), len(lengths)
    x = np.random.default_rng(B).normal(size=(B, T, 2) if batch_first else (T, B, 2))
    p = R.pack_padded_sequence(tg.tensor(x), lengths, batch_first=batch_first, enforce_sorted=False)
    assert p.data.shape == (sum(lengths), 2)
    padded, out_lengths = R.pad_packed_sequence(p, batch_first, padding_value, total_length=T + extra)
    np.testing.assert_array_equal(out_lengths.numpy(), lengths)
    expected = np.full((T + extra, B, 2), padding_value)
    xt = np.swapaxes(x, 0, 1) if batch_first else x
    for b, n in enumerate(lengths):
        expected[:n, b] = xt[:n, b]
    got = padded.numpy()
    np.testing.assert_array_equal(np.swapaxes(got, 0, 1) if batch_first else got, expected)


def test_pack_sequence_and_unpack_sequence_round_trip():
    rng = np.random.default_rng(1)
    seqs = [tg.tensor(rng.normal(size=(n, 3))) for n in (2, 5, 3)]
    with pytest.raises(RuntimeError, match="sorted in decreasing order"):
        R.pack_sequence(seqs)
    back = R.unpack_sequence(R.pack_sequence(seqs, enforce_sorted=False))
    for a, b in zip(back, seqs):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    pieces = R.unpad_sequence(R.pad_sequence(seqs, batch_first=True), [2, 5, 3], batch_first=True)
    for a, b in zip(pieces, seqs):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_packed_sequence_moves_and_casts(device):
    p = R.pack_sequence([tg.ones(3, 2), tg.ones(1, 2)], enforce_sorted=False)
    q = p.to(device).double()
    assert q.data.device == tg.device(device) and q.data.dtype == np.float64
    assert q.batch_sizes.device == tg.device("cpu")
    assert q.sorted_indices is None or q.sorted_indices.device == tg.device(device)
    assert isinstance(q, R.PackedSequence) and not q.is_cuda


def test_gradient_through_pack_and_pad_reaches_only_real_steps():
    x = tg.tensor(np.ones((4, 3, 2)), requires_grad=True)
    padded, _ = R.pad_packed_sequence(R.pack_padded_sequence(x, [1, 4, 2], enforce_sorted=False))
    (padded * 2).sum().backward()
    mask = np.arange(4)[:, None] < np.array([1, 4, 2])[None, :]
    np.testing.assert_array_equal(x.grad.numpy(), 2.0 * mask[..., None] * np.ones((4, 3, 2)))


# ----------------------------------------------------------------------------- layers on packed batches

packed_cases = st.fixed_dictionaries(dict(
    mode=st.sampled_from(MODES), fused=st.booleans(), bidirectional=st.booleans(),
    num_layers=st.integers(1, 2), lengths=st.lists(st.integers(1, 5), min_size=1, max_size=4),
    with_state=st.booleans(), seed=st.integers(0, 1000)))


def build(case):
    tg.manual_seed(case["seed"])
    m = getattr(nn, case["mode"])(2, 3, num_layers=case["num_layers"], bidirectional=case["bidirectional"],
                                  fused=case["fused"]).double()
    rng = np.random.default_rng(case["seed"])
    T, B = max(case["lengths"]) + 1, len(case["lengths"])      # one step of padding at least
    x = rng.uniform(-1, 1, (T, B, 2))
    D = 2 if case["bidirectional"] else 1
    n = 2 if case["mode"] == "LSTM" else 1
    states = [rng.uniform(-0.5, 0.5, (case["num_layers"] * D, B, 3)) for _ in range(n)] \
        if case["with_state"] else None
    return m, x, states


def hx_of(mode, states):
    if states is None:
        return None
    return tuple(states) if mode == "LSTM" else states[0]


def finals(state):
    return list(state) if isinstance(state, tuple) else [state]


@settings(max_examples=25)
@given(packed_cases)
def test_each_packed_sequence_gets_what_it_would_get_alone(case):
    m, x, states = build(case)
    mode, lengths = case["mode"], case["lengths"]
    rng = np.random.default_rng(0)
    xt = tg.tensor(x, requires_grad=True)
    hs = None if states is None else [tg.tensor(s, requires_grad=True) for s in states]
    out, state = m(R.pack_padded_sequence(xt, lengths, enforce_sorted=False), hx_of(mode, hs))
    padded, _ = R.pad_packed_sequence(out)
    w_out = rng.normal(size=padded.shape)
    w_fin = [rng.normal(size=f.shape) for f in finals(state)]
    loss = (padded * tg.tensor(w_out)).sum()
    loss = loss + sum((f * tg.tensor(w)).sum() for f, w in zip(finals(state), w_fin))
    loss.backward()
    gx = x.copy() * 0
    for b, n in enumerate(lengths):
        xb = tg.tensor(x[:n, b], requires_grad=True)      # this sequence alone, unbatched, its real steps
        hb = None if states is None else [tg.tensor(s[:, b], requires_grad=True) for s in states]
        ob, sb = m(xb, hx_of(mode, hb))
        np.testing.assert_allclose(padded.numpy()[:n, b], ob.numpy(), atol=1e-12)
        np.testing.assert_array_equal(padded.numpy()[n:, b], 0)
        for f, fb in zip(finals(state), finals(sb)):
            np.testing.assert_allclose(f.numpy()[:, b], fb.numpy(), atol=1e-12)
        lb = (ob * tg.tensor(w_out[:n, b])).sum() + sum((fb * tg.tensor(w[:, b])).sum()
                                                        for fb, w in zip(finals(sb), w_fin))
        lb.backward()
        gx[:n, b] = xb.grad.numpy()
        if states is not None:
            for s, sb_ in zip(hs, hb):
                np.testing.assert_allclose(s.grad.numpy()[:, b], sb_.grad.numpy(), atol=1e-12)
    # padded steps get exactly zero; real steps what they get alone
    np.testing.assert_allclose(xt.grad.numpy(), gx, atol=1e-12)


@settings(max_examples=15)
@given(packed_cases)
def test_packed_fused_and_reference_paths_agree(case):
    fused, x, states = build(case | {"fused": True})
    ref, _, _ = build(case | {"fused": False})
    names = [n for n, _ in fused.named_parameters()]
    params = [tg.tensor(p.numpy(), requires_grad=True) for p in fused.parameters()]
    hs = [] if states is None else [tg.tensor(s, requires_grad=True) for s in states]
    k = len(hs)

    def run(module):
        def fn(x, *a):
            module._parameters.update(zip(names, a[k:]))
            out, state = module(R.pack_padded_sequence(x, case["lengths"], enforce_sorted=False),
                                hx_of(case["mode"], list(a[:k]) or None))
            return (R.pad_packed_sequence(out)[0], *finals(state))
        return fn
    assert_grads_match(run(ref), run(fused), tg.tensor(x, requires_grad=True), *hs, *params,
                       atol=1e-12, rtol=1e-10, names=("reference", "fused"))


@pytest.mark.parametrize("mode", MODES)
def test_packed_gradients_match_finite_differences(mode):
    tg.manual_seed(0)
    m = getattr(nn, mode)(2, 2, bidirectional=True).double()
    names = [n for n, _ in m.named_parameters()]
    params = [tg.tensor(p.numpy(), requires_grad=True) for p in m.parameters()]

    def fn(x, *ws):
        m._parameters.update(zip(names, ws))
        out, state = m(R.pack_padded_sequence(x, [2, 4, 1], enforce_sorted=False))
        return (R.pad_packed_sequence(out)[0], *finals(state))
    x = tg.tensor(np.random.default_rng(0).uniform(-1, 1, (4, 3, 2)), requires_grad=True)
    gradcheck(fn, x, *params, mode="full")


def test_packed_output_is_a_packed_sequence_with_the_input_order():
    m = nn.GRU(2, 3)
    p = R.pack_sequence([tg.randn(2, 2), tg.randn(5, 2), tg.randn(3, 2)], enforce_sorted=False)
    out, h = m(p)
    assert isinstance(out, R.PackedSequence) and out.data.shape == (10, 3)
    np.testing.assert_array_equal(out.sorted_indices.numpy(), p.sorted_indices.numpy())
    np.testing.assert_array_equal(out.batch_sizes.numpy(), p.batch_sizes.numpy())
    assert h.shape == (1, 3, 3)


def test_packed_input_on_the_device(device):
    tg.manual_seed(0)
    m = nn.LSTM(2, 3, bidirectional=True)
    seqs = [tg.randn(n, 2) for n in (3, 1, 4)]
    ref = R.pad_packed_sequence(m(R.pack_sequence(seqs, enforce_sorted=False))[0])[0].numpy()
    m.to(device)
    out, _ = m(R.pack_sequence([s.to(device) for s in seqs], enforce_sorted=False))
    got = R.pad_packed_sequence(out)[0]
    assert got.device == tg.device(device)
    np.testing.assert_allclose(got.numpy(), ref, rtol=1e-6)
