"""nn.RNN / LSTM / GRU and their cells against PyTorch (skipped when it is not installed): a state
dict copied from the PyTorch module gives the same outputs and gradients for every combination of
layers, directions, batch_first, bias and initial state, on both paths; packed batches too; and the
same errors for the same bad inputs."""
import itertools

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import nn
from tinygrad_rnn.nn.utils import rnn as R

torch = pytest.importorskip("torch")
TR = torch.nn.utils.rnn

MODES = ["LSTM", "GRU", "RNN"]


def copy_from(theirs, ours):
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    return ours


def close(a, b, tol=1e-12):
    np.testing.assert_allclose(a.numpy(), b.detach().numpy(), rtol=tol, atol=tol)


def pair(mode, *args, fused=True, **kwargs):
    """The PyTorch module (float64, random weights) and ours with its state dict."""
    theirs = getattr(torch.nn, mode)(*args, **kwargs).double()
    with torch.no_grad():
        for p in theirs.parameters():
            p.uniform_(-0.7, 0.7)
    return theirs, copy_from(theirs, getattr(nn, mode)(*args, fused=fused, **kwargs).double())


def as_list(state):
    return list(state) if isinstance(state, tuple) else [state]


def leaves(x_np, states_np):
    """The input and the initial states as leaves of both libraries: tx, x, [torch states], [ours]."""
    tx, x = torch.tensor(x_np, requires_grad=True), tg.tensor(x_np, requires_grad=True)
    ths = [torch.tensor(s, requires_grad=True) for s in states_np]
    hs = [tg.tensor(s, requires_grad=True) for s in states_np]
    return tx, x, ths, hs


def check_outputs_and_gradients(rng, theirs, ours, touts, outs, tx, x, ths, hs, tol=1e-12):
    """Backward a random weighting of every output through both; then outputs, input and state
    gradients and every parameter's gradient must agree."""
    weights = [rng.normal(size=t.shape) for t in touts]
    sum((t * torch.tensor(w)).sum() for t, w in zip(touts, weights)).backward()
    sum((o * tg.tensor(w)).sum() for o, w in zip(outs, weights)).backward()
    for a, b in zip(outs, touts):
        assert a.shape == tuple(b.shape)
        close(a, b, tol)
    close(x.grad, tx.grad, tol)
    for a, b in zip(hs, ths):
        close(a.grad, b.grad, tol)
    for (n, p), (tn, tp) in zip(ours.named_parameters(), theirs.named_parameters()):
        assert n == tn
        close(p.grad, tp.grad, tol)


def compare(theirs, ours, x_np, states_np, tol=1e-12):
    """Forward both, backward a random weighting of every output, compare everything."""
    tx, x, ths, hs = leaves(x_np, states_np)
    lstm = isinstance(theirs, torch.nn.LSTM)
    thx = None if not ths else tuple(ths) if lstm else ths[0]
    hx = None if not hs else tuple(hs) if lstm else hs[0]
    tout, tstate = theirs(tx, thx)
    out, state = ours(x, hx)
    check_outputs_and_gradients(np.random.default_rng(1), theirs, ours, [tout] + as_list(tstate),
                                [out] + as_list(state), tx, x, ths, hs, tol)


@pytest.mark.parametrize("mode,num_layers,bidirectional,batch_first,bias,with_state,fused",
                         list(itertools.product(MODES, [1, 2], [False, True], [False, True], [True, False],
                                                [False, True], [True, False])))
def test_state_dict_from_pytorch_gives_the_same_outputs_and_gradients(mode, num_layers, bidirectional,
                                                                      batch_first, bias, with_state, fused):
    T, B, I, H = 4, 3, 3, 5
    theirs, ours = pair(mode, I, H, num_layers=num_layers, bias=bias, batch_first=batch_first,
                        bidirectional=bidirectional, fused=fused)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(B, T, I) if batch_first else (T, B, I))
    D = 2 if bidirectional else 1
    states = [rng.normal(size=(num_layers * D, B, H)) for _ in range(2 if mode == "LSTM" else 1)] \
        if with_state else []
    compare(theirs, ours, x, states)


@pytest.mark.parametrize("fused", [True, False])
def test_relu_rnn_matches_pytorch(fused):
    theirs, ours = pair("RNN", 3, 4, num_layers=2, nonlinearity="relu", bidirectional=True, fused=fused)
    rng = np.random.default_rng(2)
    compare(theirs, ours, rng.normal(size=(6, 2, 3)), [rng.normal(size=(4, 2, 4))])


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("fused", [True, False])
def test_unbatched_input_matches_pytorch(mode, fused):
    theirs, ours = pair(mode, 3, 4, num_layers=2, bidirectional=True, fused=fused)
    rng = np.random.default_rng(3)
    compare(theirs, ours, rng.normal(size=(5, 3)),
            [rng.normal(size=(4, 4)) for _ in range(2 if mode == "LSTM" else 1)])


@pytest.mark.parametrize("mode", MODES)
def test_float32_defaults_match_pytorch(mode):
    theirs = getattr(torch.nn, mode)(8, 16, num_layers=2)
    ours = copy_from(theirs, getattr(nn, mode)(8, 16, num_layers=2))
    x = np.random.default_rng(4).normal(size=(12, 3, 8)).astype(np.float32)
    out, _ = ours(tg.tensor(x))
    tout, _ = theirs(torch.tensor(x))
    np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), atol=3e-6)


@pytest.mark.parametrize("mode,fused,bidirectional,with_state", list(itertools.product(
    MODES, [True, False], [False, True], [False, True])))
def test_packed_batches_match_pytorch(mode, fused, bidirectional, with_state):
    theirs, ours = pair(mode, 3, 4, num_layers=2, bidirectional=bidirectional, fused=fused)
    lengths = [3, 6, 1, 6, 2]
    rng = np.random.default_rng(5)
    x_np = rng.normal(size=(7, 5, 3))
    D = 2 if bidirectional else 1
    states_np = [rng.normal(size=(2 * D, 5, 4)) for _ in range(2 if mode == "LSTM" else 1)] \
        if with_state else []
    tx, x, ths, hs = leaves(x_np, states_np)
    lstm = mode == "LSTM"
    tpacked = TR.pack_padded_sequence(tx, lengths, enforce_sorted=False)
    packed = R.pack_padded_sequence(x, lengths, enforce_sorted=False)
    close(packed.data, tpacked.data, 0)
    np.testing.assert_array_equal(packed.batch_sizes.numpy(), tpacked.batch_sizes.numpy())
    np.testing.assert_array_equal(packed.sorted_indices.numpy(), tpacked.sorted_indices.numpy())
    tout, tstate = theirs(tpacked, None if not ths else tuple(ths) if lstm else ths[0])
    out, state = ours(packed, None if not hs else tuple(hs) if lstm else hs[0])
    tpad, tlen = TR.pad_packed_sequence(tout, total_length=7)
    pad, length = R.pad_packed_sequence(out, total_length=7)
    np.testing.assert_array_equal(length.numpy(), tlen.numpy())
    check_outputs_and_gradients(rng, theirs, ours, [tpad] + as_list(tstate), [pad] + as_list(state),
                                tx, x, ths, hs)


@pytest.mark.parametrize("cls", ["RNNCell", "LSTMCell", "GRUCell"])
@pytest.mark.parametrize("unbatched", [False, True])
def test_cells_match_pytorch(cls, unbatched):
    theirs = getattr(torch.nn, cls)(3, 4).double()
    ours = copy_from(theirs, getattr(nn, cls)(3, 4).double())
    rng = np.random.default_rng(6)
    shape = (lambda *s: s[1:]) if unbatched else (lambda *s: s)
    x_np = rng.normal(size=shape(2, 3))
    s_np = [rng.normal(size=shape(2, 4)) for _ in range(2 if cls == "LSTMCell" else 1)]
    tx, x, ths, hs = leaves(x_np, s_np)
    touts = as_list(theirs(tx, tuple(ths) if len(ths) == 2 else ths[0]))
    outs = as_list(ours(x, tuple(hs) if len(hs) == 2 else hs[0]))
    check_outputs_and_gradients(rng, theirs, ours, touts, outs, tx, x, ths, hs)


def test_printouts_match_pytorch():
    for args, kwargs in [((4, 3), {}), ((4, 3, 2), dict(bias=False, batch_first=True, dropout=0.5,
                                                         bidirectional=True))]:
        for mode in MODES:
            assert repr(getattr(nn, mode)(*args, **kwargs)) == repr(getattr(torch.nn, mode)(*args, **kwargs))
    assert repr(nn.RNN(4, 3, nonlinearity="relu")) == repr(torch.nn.RNN(4, 3, nonlinearity="relu"))
    for cls in ("RNNCell", "LSTMCell", "GRUCell"):
        assert repr(getattr(nn, cls)(4, 3, bias=False)) == repr(getattr(torch.nn, cls)(4, 3, bias=False))


BAD_CALLS = [
    ("LSTM", (4, 3, 2), lambda m, T: m(T.zeros(5, 2, 2, 4))),
    ("GRU", (4, 3), lambda m, T: m(T.zeros(5, 2, 2, 4))),
    ("RNN", (4, 3), lambda m, T: m(T.zeros(4))),
    ("LSTM", (4, 3, 2), lambda m, T: m(T.zeros(5, 2, 5))),
    ("LSTM", (4, 3, 2), lambda m, T: m(T.zeros(5, 2, 4), (T.zeros(2, 1, 3), T.zeros(2, 2, 3)))),
    ("LSTM", (4, 3, 2), lambda m, T: m(T.zeros(5, 2, 4), (T.zeros(2, 2, 3), T.zeros(2, 1, 3)))),
    ("GRU", (4, 3), lambda m, T: m(T.zeros(5, 2, 4), T.zeros(1, 3, 3))),
    ("GRU", (4, 3), lambda m, T: m(T.zeros(5, 4), T.zeros(1, 1, 3))),
    ("RNN", (4, 3), lambda m, T: m(T.zeros(5, 2, 4), T.zeros(1, 3))),
    ("LSTM", (4, 3), lambda m, T: m(T.zeros(5, 2, 4), (T.zeros(1, 2, 3), T.zeros(2, 3)))),
    ("LSTM", (4, 3), lambda m, T: m(T.zeros(5, 2, 4, dtype=T.float64))),
    ("LSTMCell", (4, 3), lambda m, T: m(T.zeros(2, 5))),
    ("LSTMCell", (4, 3), lambda m, T: m(T.zeros(2, 4), (T.zeros(3, 3), T.zeros(2, 3)))),
    ("LSTMCell", (4, 3), lambda m, T: m(T.zeros(2, 4), (T.zeros(2, 3), T.zeros(2, 2)))),
    ("GRUCell", (4, 3), lambda m, T: m(T.zeros(2, 4), T.zeros(2, 2))),
    ("RNNCell", (4, 3), lambda m, T: m(T.zeros(2, 4, 1))),
]


@pytest.mark.parametrize("mode,args,call", BAD_CALLS)
def test_bad_input_gives_pytorchs_exception_and_message(mode, args, call):
    with pytest.raises(Exception) as theirs:
        call(getattr(torch.nn, mode)(*args), torch)
    with pytest.raises(type(theirs.value)) as ours:
        call(getattr(nn, mode)(*args), tg)
    expected = str(theirs.value).replace("torch.", "")
    assert str(ours.value) == expected


def test_pack_errors_match_pytorch():
    for lengths, enforce in [([2, 3, 1], True), ([3, 3, 0], False), ([3, 3], True)]:
        with pytest.raises(RuntimeError) as theirs:
            TR.pack_padded_sequence(torch.zeros(5, 3, 2), lengths, enforce_sorted=enforce)
        with pytest.raises(RuntimeError) as ours:
            R.pack_padded_sequence(tg.zeros(5, 3, 2), lengths, enforce_sorted=enforce)
        assert str(ours.value) == str(theirs.value)
    p, tp = R.pack_sequence([tg.zeros(5, 1)]), TR.pack_sequence([torch.zeros(5, 1)])
    with pytest.raises(ValueError) as theirs:
        TR.pad_packed_sequence(tp, total_length=3)
    with pytest.raises(ValueError) as ours:
        R.pad_packed_sequence(p, total_length=3)
    assert str(ours.value) == str(theirs.value)
    with pytest.raises(RuntimeError, match="received an empty list of sequences"):
        R.pad_sequence([])


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("padding_side", ["right", "left"])
def test_pad_sequence_matches_pytorch(batch_first, padding_side):
    rng = np.random.default_rng(8)
    seqs = [rng.normal(size=(n, 2, 3)) for n in (3, 1, 4, 0, 2)]
    ours = R.pad_sequence([tg.tensor(s) for s in seqs], batch_first, -2.5, padding_side)
    theirs = TR.pad_sequence([torch.tensor(s) for s in seqs], batch_first, -2.5, padding_side)
    close(ours, theirs, 0)
