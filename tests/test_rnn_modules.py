"""nn.RNN / LSTM / GRU and their cells: parameters, initialisation, shapes, errors, and values
against the equations written out here in NumPy, gradients against finite differences, and the
fused path against the reference path (cells of primitive ops). No PyTorch needed here; the
PyTorch cross-checks live in test_rnn_torch.py."""
import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_rnn as tg
from tinygrad_rnn import nn
from tinygrad_rnn.testing import assert_grads_match, gradcheck, gradgradcheck

MODES = ["LSTM", "GRU", "RNN"]
GATES = {"LSTM": 4, "GRU": 3, "RNN": 1}


# ----------------------------------------------------------------------------- the equations, in NumPy

def sigmoid(a):
    return 1 / (1 + np.exp(-a))


def np_step(mode, x, state, w_ih, w_hh, b_ih, b_hh, nonlinearity="tanh"):
    """One step from the lecture's equations (PyTorch's gate order)."""
    b_ih = 0 if b_ih is None else b_ih
    b_hh = 0 if b_hh is None else b_hh
    h = state[0]
    gi, gh = x @ w_ih.T + b_ih, h @ w_hh.T + b_hh
    H = w_hh.shape[1]
    if mode == "LSTM":
        a = gi + gh
        i, f = sigmoid(a[:, :H]), sigmoid(a[:, H:2 * H])
        g, o = np.tanh(a[:, 2 * H:3 * H]), sigmoid(a[:, 3 * H:])
        c = f * state[1] + i * g
        return o * np.tanh(c), c
    if mode == "GRU":
        r = sigmoid(gi[:, :H] + gh[:, :H])
        z = sigmoid(gi[:, H:2 * H] + gh[:, H:2 * H])
        n = np.tanh(gi[:, 2 * H:] + r * gh[:, 2 * H:])
        return ((1 - z) * n + z * h,)
    a = gi + gh
    return (np.tanh(a) if nonlinearity == "tanh" else np.maximum(a, 0),)


def np_rnn(module, x, hx=None):
    """The whole stacked, maybe bidirectional, network in NumPy: time-major x (T, B, I)."""
    mode = "RNN" if module.mode.startswith("RNN") else module.mode
    nonlin = getattr(module, "nonlinearity", "tanh")
    T, B, _ = x.shape
    D, L, H = (2 if module.bidirectional else 1), module.num_layers, module.hidden_size
    n_state = 2 if mode == "LSTM" else 1
    if hx is None:
        hx = [np.zeros((L * D, B, H))] * n_state
    p = {k: v.numpy().astype(np.float64) for k, v in module.named_parameters()}
    finals = [[] for _ in range(n_state)]
    inp = x
    for layer in range(L):
        outs = []
        for d in range(D):
            sfx = "_reverse" if d else ""
            w = [p.get(f"{n}_l{layer}{sfx}") for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
            state = tuple(s[layer * D + d] for s in hx)
            out = np.zeros((T, B, H))
            for t in (range(T - 1, -1, -1) if d else range(T)):
                state = np_step(mode, inp[t], state, *w, nonlinearity=nonlin)
                out[t] = state[0]
            outs.append(out)
            for f, s in zip(finals, state):
                f.append(s)
        inp = np.concatenate(outs, axis=2)
    return inp, [np.stack(f) for f in finals]


def make(mode, *args, **kwargs):
    return getattr(nn, mode)(*args, **kwargs)


def flat(result):
    """(output, h_n) or (output, (h_n, c_n)) -> [output, h_n(, c_n)]."""
    out, state = result
    return [out] + (list(state) if isinstance(state, tuple) else [state])


def functional(module):
    """The module as a function of (x, *parameters): for gradient checks with respect to the weights."""
    names = [n for n, _ in module.named_parameters()]
    originals = dict(module._parameters)

    def fn(x, *ws, hx=None):
        module._parameters.update(zip(names, ws))
        try:
            return tuple(flat(module(x, hx)))
        finally:
            module._parameters.update(originals)
    params = [tg.tensor(p.numpy(), requires_grad=True) for p in module.parameters()]
    return fn, params


configs = st.fixed_dictionaries(dict(
    mode=st.sampled_from(MODES), T=st.integers(1, 4), B=st.integers(1, 3), I=st.integers(1, 3),
    H=st.integers(1, 3), num_layers=st.integers(1, 2), bidirectional=st.booleans(),
    batch_first=st.booleans(), bias=st.booleans(), with_state=st.booleans(),
    seed=st.integers(0, 2 ** 16)))


def build(cfg, fused=True):
    tg.manual_seed(cfg["seed"])
    m = make(cfg["mode"], cfg["I"], cfg["H"], num_layers=cfg["num_layers"], bias=cfg["bias"],
             batch_first=cfg["batch_first"], bidirectional=cfg["bidirectional"], fused=fused).double()
    rng = np.random.default_rng(cfg["seed"])
    T, B = cfg["T"], cfg["B"]
    x = rng.uniform(-1, 1, (B, T, cfg["I"]) if cfg["batch_first"] else (T, B, cfg["I"]))
    D = 2 if cfg["bidirectional"] else 1
    hx = None
    if cfg["with_state"]:
        hx = [rng.uniform(-0.5, 0.5, (cfg["num_layers"] * D, B, cfg["H"]))
              for _ in range(2 if cfg["mode"] == "LSTM" else 1)]
    return m, x, hx


def as_hx(mode, hx):
    if hx is None:
        return None
    ts = [tg.tensor(h, requires_grad=True) for h in hx]
    return tuple(ts) if mode == "LSTM" else ts[0]


# ----------------------------------------------------------------------------- parameters and init

def test_parameter_names_shapes_and_order_follow_pytorch():
    m = nn.LSTM(5, 3, num_layers=2, bidirectional=True)
    got = [(n, tuple(p.shape)) for n, p in m.named_parameters()]
    expected = []
    for layer, fan_in in ((0, 5), (1, 6)):
        for sfx in ("", "_reverse"):
            expected += [(f"weight_ih_l{layer}{sfx}", (12, fan_in)), (f"weight_hh_l{layer}{sfx}", (12, 3)),
                         (f"bias_ih_l{layer}{sfx}", (12,)), (f"bias_hh_l{layer}{sfx}", (12,))]
    assert got == expected
    assert list(m.state_dict()) == [n for n, _ in expected]


@pytest.mark.parametrize("mode", MODES)
def test_gate_count_sets_the_row_count_and_bias_false_drops_biases(mode):
    m = make(mode, 4, 5, bias=False)
    assert [n for n, _ in m.named_parameters()] == ["weight_ih_l0", "weight_hh_l0"]
    assert m.weight_ih_l0.shape == (GATES[mode] * 5, 4) and m.weight_hh_l0.shape == (GATES[mode] * 5, 5)
    assert len(m.all_weights) == 1 and m.all_weights[0][0] is m.weight_ih_l0


@pytest.mark.parametrize("cls,chunks", [(nn.RNNCell, 1), (nn.LSTMCell, 4), (nn.GRUCell, 3)])
def test_cell_parameters_follow_pytorch(cls, chunks):
    c = cls(4, 5)
    assert [(n, tuple(p.shape)) for n, p in c.named_parameters()] == [
        ("weight_ih", (chunks * 5, 4)), ("weight_hh", (chunks * 5, 5)), ("bias_ih", (chunks * 5,)),
        ("bias_hh", (chunks * 5,))]
    assert [n for n, _ in cls(4, 5, bias=False).named_parameters()] == ["weight_ih", "weight_hh"]


@pytest.mark.parametrize("mode", MODES)
def test_init_is_uniform_within_one_over_sqrt_hidden(mode):
    tg.manual_seed(0)
    H = 64
    m = make(mode, 32, H, num_layers=2)
    bound = 1 / math.sqrt(H)
    w = np.concatenate([p.numpy().ravel() for p in m.parameters()])
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.99 * bound
    assert abs(w.var() / (bound ** 2 / 3) - 1) < 0.03        # U(-a, a) has variance a^2 / 3
    assert abs(w.mean()) < 0.01 * bound * 10


def test_manual_seed_repeats_the_initialisation():
    tg.manual_seed(3)
    a = [p.numpy().copy() for p in nn.GRU(3, 4, 2).parameters()]
    tg.manual_seed(3)
    b = [p.numpy() for p in nn.GRU(3, 4, 2).parameters()]
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


def test_repr_follows_pytorch():
    assert repr(nn.LSTM(4, 3)) == "LSTM(4, 3)"
    assert repr(nn.RNN(4, 3, 2, nonlinearity="relu", bias=False, batch_first=True, dropout=0.5,
                       bidirectional=True)) == \
        "RNN(4, 3, num_layers=2, bias=False, batch_first=True, dropout=0.5, bidirectional=True)"
    assert repr(nn.RNNCell(4, 3, bias=False, nonlinearity="relu")) == \
        "RNNCell(4, 3, bias=False, nonlinearity=relu)"
    assert repr(nn.GRU(2, 2, fused=False)) == "GRU(2, 2, fused=False)"


# ----------------------------------------------------------------------------- constructor errors

@pytest.mark.parametrize("kwargs,exc,msg", [
    (dict(dropout=1.5), ValueError, "dropout should be a number in range"),
    (dict(dropout=True), ValueError, "dropout should be a number in range"),
    (dict(hidden_size=0), ValueError, "hidden_size must be greater than zero"),
    (dict(input_size=0), ValueError, "input_size must be greater than zero"),
    (dict(num_layers=0), ValueError, "num_layers must be greater than zero"),
    (dict(hidden_size=2.0), TypeError, "hidden_size should be of type int, got: float"),
    (dict(bias=1), TypeError, "bias should be of type bool, got: int"),
    (dict(batch_first=None), TypeError, "batch_first should be of type bool"),
])
def test_constructor_rejects_bad_arguments_as_pytorch(kwargs, exc, msg):
    args = dict(input_size=3, hidden_size=4) | kwargs
    with pytest.raises(exc, match=msg):
        nn.LSTM(**args)


def test_unknown_nonlinearity_and_projections():
    with pytest.raises(ValueError, match="Unknown nonlinearity 'sigmoid'. Select from 'tanh' or 'relu'."):
        nn.RNN(3, 4, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="proj_size has to be smaller than hidden_size"):
        nn.LSTM(3, 4, proj_size=4)
    with pytest.raises(NotImplementedError, match="proj_size"):
        nn.LSTM(3, 4, proj_size=2)


def test_dropout_with_one_layer_warns_as_pytorch():
    with pytest.warns(UserWarning, match="non-zero dropout expects num_layers greater than 1"):
        nn.GRU(3, 4, dropout=0.2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nn.GRU(3, 4, num_layers=2, dropout=0.2)


# ----------------------------------------------------------------------------- values

@settings(max_examples=25)
@given(configs, st.booleans())
def test_outputs_and_states_follow_the_equations(cfg, fused):
    m, x, hx = build(cfg, fused)
    out, finals = np_rnn(m, np.swapaxes(x, 0, 1) if cfg["batch_first"] else x, hx)
    got = flat(m(tg.tensor(x), as_hx(cfg["mode"], hx)))
    if cfg["batch_first"]:
        out = np.swapaxes(out, 0, 1)
    np.testing.assert_allclose(got[0].numpy(), out, rtol=1e-12, atol=1e-12)
    for a, b in zip(got[1:], finals):
        np.testing.assert_allclose(a.numpy(), b, rtol=1e-12, atol=1e-12)


def test_relu_rnn_follows_the_equations():
    tg.manual_seed(1)
    m = nn.RNN(3, 4, 2, nonlinearity="relu", bidirectional=True).double()
    x = np.random.default_rng(0).normal(size=(5, 2, 3))
    out, (h,) = np_rnn(m, x)
    for fused in (True, False):
        m.fused = fused
        o, hn = m(tg.tensor(x))
        np.testing.assert_allclose(o.numpy(), out, atol=1e-12)
        np.testing.assert_allclose(hn.numpy(), h, atol=1e-12)


def test_lstm_worked_by_hand():
    # one unit, one step, weights 1 and biases 0: a = x + h0 = 0.5 + 0.5 = 1 for every gate
    m = nn.LSTM(1, 1).double()
    m.load_state_dict({"weight_ih_l0": np.ones((4, 1)), "weight_hh_l0": np.ones((4, 1)),
                       "bias_ih_l0": np.zeros(4), "bias_hh_l0": np.zeros(4)})
    s = 1 / (1 + math.exp(-1))
    c = s * 2.0 + s * math.tanh(1)         # f c0 + i g with c0 = 2
    h = s * math.tanh(c)
    for fused in (True, False):
        m.fused = fused
        out, (hn, cn) = m(tg.tensor([[[0.5]]], dtype=tg.float64),
                          (tg.tensor([[[0.5]]], dtype=tg.float64), tg.tensor([[[2.0]]], dtype=tg.float64)))
        assert out.item() == pytest.approx(h, abs=1e-14)
        assert hn.item() == pytest.approx(h, abs=1e-14) and cn.item() == pytest.approx(c, abs=1e-14)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("fused", [True, False])
def test_default_state_is_zeros(mode, fused):
    tg.manual_seed(0)
    m = make(mode, 3, 4, 2, fused=fused)
    x = tg.randn(5, 2, 3)
    z = tg.zeros(2, 2, 4)
    a, b = flat(m(x)), flat(m(x, (z, z) if mode == "LSTM" else z))
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u.numpy(), v.numpy())


@pytest.mark.parametrize("mode", MODES)
def test_unbatched_input_is_a_batch_of_one(mode):
    tg.manual_seed(0)
    m = make(mode, 3, 4, 2, bidirectional=True)
    x, h = tg.randn(5, 3), tg.randn(4, 4)
    hx = (h, h * 0.5) if mode == "LSTM" else h
    got = flat(m(x, hx))
    hx1 = (h.unsqueeze(1), (h * 0.5).unsqueeze(1)) if mode == "LSTM" else h.unsqueeze(1)
    ref = flat(m(x.unsqueeze(1), hx1))
    assert got[0].shape == (5, 8) and all(g.shape == (4, 4) for g in got[1:])
    for a, b in zip(got, ref):
        np.testing.assert_allclose(a.numpy(), b.numpy().squeeze(1), rtol=1e-6)


@pytest.mark.parametrize("mode", MODES)
def test_batch_first_swaps_input_and_output_but_never_the_state(mode):
    tg.manual_seed(0)
    a = make(mode, 3, 4, 2, batch_first=True)
    b = make(mode, 3, 4, 2)
    b.load_state_dict(a.state_dict())
    x = tg.randn(2, 5, 3)                  # (B, T, I)
    h = tg.randn(2, 2, 4)                  # (layers, B, H) in both cases
    hx = (h, h) if mode == "LSTM" else h
    ra, rb = flat(a(x, hx)), flat(b(x.transpose(0, 1), hx))
    assert ra[0].shape == (2, 5, 4) and ra[1].shape == (2, 2, 4)
    np.testing.assert_allclose(ra[0].numpy(), rb[0].transpose(0, 1).numpy(), rtol=1e-6)
    for u, v in zip(ra[1:], rb[1:]):
        np.testing.assert_allclose(u.numpy(), v.numpy(), rtol=1e-6)


@pytest.mark.parametrize("fused", [True, False])
def test_inter_layer_dropout_acts_in_training_mode_only(fused):
    tg.manual_seed(0)
    m = nn.LSTM(3, 4, num_layers=2, dropout=1.0, fused=fused).double()   # p = 1: layer 2 sees zeros
    top = nn.LSTM(4, 4).double()
    top.load_state_dict({k.replace("_l1", "_l0"): v for k, v in m.state_dict().items() if "_l1" in k})
    bottom = nn.LSTM(3, 4).double()
    bottom.load_state_dict({k: v for k, v in m.state_dict().items() if "_l0" in k})
    x = tg.randn(5, 2, 3, dtype=tg.float64)
    out, _ = m(x)
    np.testing.assert_allclose(out.numpy(), top(tg.zeros(5, 2, 4, dtype=tg.float64))[0].numpy(), rtol=1e-12)
    m.eval()
    np.testing.assert_allclose(m(x)[0].numpy(), top(bottom(x)[0])[0].numpy(), rtol=1e-12)


def test_inter_layer_dropout_never_touches_the_last_layer_output():
    tg.manual_seed(0)
    m = nn.GRU(3, 4, num_layers=2, dropout=0.5)
    x = tg.randn(6, 3, 3)
    tg.manual_seed(1)
    a = m(x)[0].numpy()
    tg.manual_seed(2)
    b = m(x)[0].numpy()
    assert not np.allclose(a, b)                   # different masks between the layers...
    assert (a != 0).all() and (b != 0).all()       # ...but no zeroed outputs (no dropout after the top)


def test_float32_runs_in_float32_and_matches_float64():
    tg.manual_seed(0)
    m = nn.LSTM(8, 16, 2, bidirectional=True)
    x = tg.randn(20, 4, 8)
    out, (h, c) = m(x)
    assert out.dtype == tg.float32 and h.dtype == tg.float32
    out64, _ = np_rnn(m, x.numpy().astype(np.float64))
    np.testing.assert_allclose(out.numpy(), out64, atol=2e-6)


def test_no_grad_records_nothing():
    m = nn.LSTM(3, 4)
    with tg.no_grad():
        out, (h, c) = m(tg.randn(5, 2, 3))
    assert not out.requires_grad and out.grad_fn is None and h.grad_fn is None


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("fused", [True, False])
def test_runs_on_the_device(mode, fused, device):
    tg.manual_seed(0)
    m = make(mode, 3, 4, 2, bidirectional=True, fused=fused).double()
    x = np.random.default_rng(0).normal(size=(4, 2, 3))
    results = []
    for dev in ("cpu", device):
        m.to(dev)
        m.zero_grad()
        xt = tg.tensor(x, device=dev, requires_grad=True)
        outs = flat(m(xt))
        sum((o * o).sum() for o in outs).backward()
        results.append([o.numpy() for o in outs] + [xt.grad.numpy(), m.weight_hh_l1.grad.numpy()])
        assert outs[0].device == tg.device(dev)
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


# ----------------------------------------------------------------------------- gradients

@settings(max_examples=12)
@given(configs, st.booleans())
def test_gradients_match_finite_differences(cfg, fused):
    m, x, hx = build(cfg, fused)
    fn, params = functional(m)
    xt = tg.tensor(x, requires_grad=True)
    if hx is None:
        gradcheck(fn, xt, *params, mode="fast")
    else:
        hs = [tg.tensor(h, requires_grad=True) for h in hx]
        gradcheck(lambda x, *a: fn(x, *a[len(hs):], hx=tuple(a[:len(hs)]) if len(hs) == 2 else a[0]),
                  xt, *hs, *params, mode="fast")


@pytest.mark.parametrize("mode", MODES)
def test_every_gradient_entry_matches_finite_differences(mode):
    cfg = dict(mode=mode, T=3, B=2, I=2, H=2, num_layers=2, bidirectional=True, batch_first=False,
               bias=True, with_state=True, seed=5)
    m, x, hx = build(cfg)
    fn, params = functional(m)
    hs = [tg.tensor(h, requires_grad=True) for h in hx]
    n = len(hs)
    gradcheck(lambda x, *a: fn(x, *a[n:], hx=tuple(a[:n]) if n == 2 else a[0]),
              tg.tensor(x, requires_grad=True), *hs, *params, mode="full")


@settings(max_examples=25)
@given(configs)
def test_fused_and_reference_paths_give_the_same_outputs_and_gradients(cfg):
    fused, x, hx = build(cfg, fused=True)
    ref, _, _ = build(cfg, fused=False)
    ffn, params = functional(fused)
    rfn, _ = functional(ref)
    hs = [tg.tensor(h, requires_grad=True) for h in hx or []]
    inputs = [tg.tensor(x, requires_grad=True)] + hs + params
    n = len(hx or [])

    def call(fn):
        return lambda x, *a: fn(x, *a[n:], hx=None if n == 0 else tuple(a[:n]) if n == 2 else a[0])
    assert_grads_match(call(rfn), call(ffn), *inputs, atol=1e-12, rtol=1e-10, names=("reference", "fused"))


@pytest.mark.parametrize("cell,state", [(nn.RNNCell(3, 2), 1), (nn.RNNCell(3, 2, nonlinearity="relu"), 1),
                                        (nn.LSTMCell(3, 2), 2), (nn.GRUCell(3, 2), 1),
                                        (nn.GRUCell(3, 2, bias=False), 1)])
def test_cells_pass_gradcheck_and_gradgradcheck(cell, state):
    cell = cell.double()
    fn, params = functional_cell(cell, state)
    rng = np.random.default_rng(0)
    x = tg.tensor(rng.uniform(-1, 1, (2, 3)), requires_grad=True)
    hs = [tg.tensor(rng.uniform(-0.5, 0.5, (2, 2)), requires_grad=True) for _ in range(state)]
    gradcheck(fn, x, *hs, *params)
    gradgradcheck(fn, x, *hs, *params)


def functional_cell(cell, n_state):
    names = [n for n, _ in cell.named_parameters()]
    originals = dict(cell._parameters)

    def fn(x, *a):
        cell._parameters.update(zip(names, a[n_state:]))
        try:
            out = cell(x, tuple(a[:n_state]) if n_state == 2 else a[0])
            return out if isinstance(out, tuple) else (out,)
        finally:
            cell._parameters.update(originals)
    return fn, [tg.tensor(p.numpy(), requires_grad=True) for p in cell.parameters()]


@settings(max_examples=10)
@given(st.sampled_from(MODES), st.integers(1, 3), st.integers(1, 2), st.booleans())
def test_cells_gradcheck_over_sizes(mode, batch, hidden, unbatched):
    tg.manual_seed(batch * 10 + hidden)
    cell = {"LSTM": nn.LSTMCell, "GRU": nn.GRUCell, "RNN": nn.RNNCell}[mode](2, hidden).double()
    n = 2 if mode == "LSTM" else 1
    fn, params = functional_cell(cell, n)
    rng = np.random.default_rng(batch)
    shape = (lambda *s: s[1:]) if unbatched else (lambda *s: s)
    x = tg.tensor(rng.uniform(-1, 1, shape(batch, 2)), requires_grad=True)
    hs = [tg.tensor(rng.uniform(-0.5, 0.5, shape(batch, hidden)), requires_grad=True) for _ in range(n)]
    gradcheck(fn, x, *hs, *params)


def test_cell_matches_one_step_of_the_sequence_layer():
    tg.manual_seed(0)
    lstm = nn.LSTM(3, 4)
    cell = nn.LSTMCell(3, 4)
    cell.load_state_dict({k[:-3]: v for k, v in lstm.state_dict().items()})
    x, h, c = tg.randn(1, 2, 3), tg.randn(1, 2, 4), tg.randn(1, 2, 4)
    out, (h1, c1) = lstm(x, (h, c))
    h2, c2 = cell(x[0], (h[0], c[0]))
    np.testing.assert_allclose(h2.numpy(), h1[0].numpy(), rtol=1e-6)
    np.testing.assert_allclose(c2.numpy(), c1[0].numpy(), rtol=1e-6)


@pytest.mark.parametrize("mode", MODES)
def test_reference_path_has_second_derivatives(mode):
    tg.manual_seed(0)
    m = make(mode, 2, 2, bidirectional=True, fused=False).double()
    fn, params = functional(m)
    x = tg.tensor(np.random.default_rng(0).uniform(-1, 1, (3, 2, 2)), requires_grad=True)
    gradgradcheck(fn, x, *params, mode="fast")


@pytest.mark.parametrize("mode", MODES)
def test_fused_double_backward_raises_and_points_to_the_reference_path(mode):
    m = make(mode, 2, 3).double()
    x = tg.tensor(np.random.default_rng(0).normal(size=(3, 2, 2)), requires_grad=True)
    out = flat(m(x))[0]
    (gx,) = tg.autograd.grad((out * out).sum(), x, create_graph=True)
    with pytest.raises(RuntimeError, match="double backward is not supported") as e:
        gx.sum().backward()
    assert f"{mode} fused kernel" in str(e.value) and "fused=False is the reference path" in str(e.value)


def test_unrolled_reference_graph_has_one_node_chain_per_step():
    # a teacher can walk the unrolled graph: T steps of the reference path give T tanh nodes
    m = nn.RNN(2, 3, fused=False)
    out, h = m(tg.randn(7, 1, 2))
    seen, stack, tanh = set(), [h.grad_fn], 0
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        tanh += type(node).__name__ == "Tanh"
        stack += [e[0] for e in node._edges if type(e) is tuple]
    assert tanh == 7


# ----------------------------------------------------------------------------- shape errors

def lstm():
    return nn.LSTM(4, 3, num_layers=2)


@pytest.mark.parametrize("call,exc,msg", [
    (lambda: lstm()(tg.zeros(5, 2, 2, 4)), ValueError, "LSTM: Expected input to be 2D or 3D, got 4D instead"),
    (lambda: nn.RNN(4, 3)(tg.zeros(4)), ValueError,
     "RNN: Expected input to be 2D or 3D, got 1D tensor instead"),
    (lambda: lstm()(tg.zeros(5, 2, 5)), RuntimeError,
     r"input.size\(-1\) must be equal to input_size. Expected 4, got 5"),
    (lambda: lstm()(tg.zeros(5, 2, 4), (tg.zeros(2, 1, 3), tg.zeros(2, 2, 3))), RuntimeError,
     r"Expected hidden\[0\] size \(2, 2, 3\), got \[2, 1, 3\]"),
    (lambda: lstm()(tg.zeros(5, 2, 4), (tg.zeros(2, 2, 3), tg.zeros(2, 2, 4))), RuntimeError,
     r"Expected hidden\[1\] size \(2, 2, 3\), got \[2, 2, 4\]"),
    (lambda: nn.GRU(4, 3)(tg.zeros(5, 2, 4), tg.zeros(1, 3, 3)), RuntimeError,
     r"Expected hidden size \(1, 2, 3\), got \[1, 3, 3\]"),
    (lambda: nn.GRU(4, 3)(tg.zeros(5, 4), tg.zeros(1, 1, 3)), RuntimeError,
     "For unbatched 2-D input, hx should also be 2-D but got 3-D tensor"),
    (lambda: nn.GRU(4, 3)(tg.zeros(5, 2, 4), tg.zeros(2, 3)), RuntimeError,
     "For batched 3-D input, hx should also be 3-D but got 2-D tensor"),
    (lambda: lstm()(tg.zeros(5, 2, 4), (tg.zeros(2, 2, 3), tg.zeros(2, 3))), RuntimeError,
     r"For batched 3-D input, hx and cx should also be 3-D but got \(3-D, 2-D\) tensors"),
    (lambda: lstm()(tg.zeros(5, 2, 4, dtype=tg.float64)), ValueError,
     r"RNN input dtype \(float64\) does not match weight dtype \(float32\). Convert input: "
     r"input.to\(float32\), or convert model: model.to\(float64\)"),
    (lambda: lstm()(tg.zeros(5, 2, 4), tg.zeros(2, 2, 3)), TypeError, r"hx must be a tuple \(h_0, c_0\)"),
    (lambda: nn.LSTMCell(4, 3)(tg.zeros(2, 5)), RuntimeError,
     "input has inconsistent input_size: got 5 expected 4"),
    (lambda: nn.LSTMCell(4, 3)(tg.zeros(2, 4), (tg.zeros(3, 3), tg.zeros(2, 3))), RuntimeError,
     "Input batch size 2 doesn't match hidden0 batch size 3"),
    (lambda: nn.LSTMCell(4, 3)(tg.zeros(2, 4), (tg.zeros(2, 3), tg.zeros(2, 2))), RuntimeError,
     "hidden1 has inconsistent hidden_size: got 2, expected 3"),
    (lambda: nn.GRUCell(4, 3)(tg.zeros(2, 4), tg.zeros(2, 2)), RuntimeError,
     "hidden0 has inconsistent hidden_size: got 2, expected 3"),
    (lambda: nn.RNNCell(4, 3)(tg.zeros(2, 4, 1)), ValueError,
     "RNNCell: Expected input to be 1D or 2D, got 3D instead"),
    (lambda: nn.LSTMCell(4, 3)(tg.zeros(4), (tg.zeros(1, 1, 3), tg.zeros(3))), ValueError,
     r"LSTMCell: Expected hx\[0\] to be 1D or 2D, got 3D instead"),
])
def test_bad_input_raises_pytorchs_error(call, exc, msg):
    with pytest.raises(exc, match=msg):
        call()


def test_input_on_another_device_names_both_devices():
    m = nn.GRU(2, 3)
    with pytest.raises(RuntimeError, match="GRU: input is on fake(:0)? but the parameters are on cpu"):
        m(tg.zeros(3, 1, 2, device="fake"))


@pytest.mark.parametrize("mode", MODES)
def test_changing_the_output_in_place_before_backward_is_caught(mode):
    # the fused kernel's backward reads the outputs it returned; a later in-place change to them
    # must raise (version counter), not give a silently wrong gradient
    m = make(mode, 3, 4)
    out, _ = m(tg.randn(5, 2, 3))
    with tg.no_grad():
        out[0] = 0.0
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.sum().backward()
