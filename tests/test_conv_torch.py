"""Convolution and pooling against PyTorch (skipped when it is not installed): the same inputs give
the same outputs, indices and gradients, and a state dict copied from a PyTorch conv net gives the
same loss and gradients."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_rnn as tg
import tinygrad_rnn.nn.functional as F
from tinygrad_rnn import nn
from tinygrad_rnn.testing import strategies as tst

torch = pytest.importorskip("torch")
TF = torch.nn.functional


def run_both(ours_fn, theirs_fn, *arrays, seed=0):
    """Outputs and input gradients (for a random upstream gradient) of both libraries, float64."""
    ours_in = [tg.tensor(a, requires_grad=True) for a in arrays]
    theirs_in = [torch.tensor(a, requires_grad=True) for a in arrays]
    ours, theirs = ours_fn(*ours_in), theirs_fn(*theirs_in)
    if isinstance(ours, tuple):
        np.testing.assert_array_equal(ours[1].numpy(), theirs[1].numpy())
        ours, theirs = ours[0], theirs[0]
    assert tuple(ours.shape) == tuple(theirs.shape)
    np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=1e-10, atol=1e-12)
    v = np.random.default_rng(seed).normal(size=ours.shape)
    ours.backward(tg.tensor(v))
    theirs.backward(torch.tensor(v))
    for a, b in zip(ours_in, theirs_in):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-10, atol=1e-12)


def arrays_for(cfg, seed):
    r = np.random.default_rng(seed)
    out = [r.normal(size=cfg.input_shape), r.normal(size=cfg.weight_shape)]
    return out + ([r.normal(size=cfg.C_out)] if cfg.bias else [])


@given(tst.conv_configs(), st.integers(0, 2 ** 31))
def test_conv2d_matches_pytorch(cfg, seed):
    kw = dict(stride=cfg.stride, padding=cfg.padding, dilation=cfg.dilation, groups=cfg.groups)
    run_both(lambda *t: F.conv2d(*t, **kw), lambda *t: TF.conv2d(*t, **kw), *arrays_for(cfg, seed))


@given(tst.conv_configs(spatial_dims=1), st.integers(0, 2 ** 31))
def test_conv1d_matches_pytorch(cfg, seed):
    kw = dict(stride=cfg.stride, padding=cfg.padding, dilation=cfg.dilation, groups=cfg.groups)
    run_both(lambda *t: F.conv1d(*t, **kw), lambda *t: TF.conv1d(*t, **kw), *arrays_for(cfg, seed))


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel lengths")
@pytest.mark.parametrize("k, d", [(2, 1), (3, 1), (4, 2), (5, 1)])
def test_same_padding_matches_pytorch(k, d):
    r = np.random.default_rng(k)
    run_both(lambda x, w: F.conv2d(x, w, padding="same", dilation=d),
             lambda x, w: TF.conv2d(x, w, padding="same", dilation=d),
             r.normal(size=(2, 3, 7, 6)), r.normal(size=(4, 3, k, k)))
    run_both(lambda x, w: F.conv1d(x, w, padding="same", dilation=d),
             lambda x, w: TF.conv1d(x, w, padding="same", dilation=d),
             r.normal(size=(2, 3, 7)), r.normal(size=(4, 3, k)))


@given(tst.conv_configs(max_padding=1, transposable=True), st.integers(0, 1), st.integers(0, 2 ** 31))
def test_conv_transpose2d_matches_pytorch(cfg, extra, seed):
    r = np.random.default_rng(seed)
    opad = tuple(min(extra, max(s, d) - 1) for s, d in zip(cfg.stride, cfg.dilation))
    x = r.normal(size=(cfg.N, cfg.C_out) + cfg.output_size)
    w = r.normal(size=(cfg.C_out, cfg.C_in // cfg.groups) + cfg.kernel_size)
    b = r.normal(size=cfg.C_in)
    args = (cfg.stride, cfg.padding, opad, cfg.groups, cfg.dilation)
    run_both(lambda x, w, b: F.conv_transpose2d(x, w, b, *args),
             lambda x, w, b: TF.conv_transpose2d(x, w, b, *args), x, w, b)


@given(tst.conv_configs(spatial_dims=1, max_padding=1, transposable=True), st.integers(0, 2 ** 31))
def test_conv_transpose1d_matches_pytorch(cfg, seed):
    r = np.random.default_rng(seed)
    x = r.normal(size=(cfg.N, cfg.C_out) + cfg.output_size)
    w = r.normal(size=(cfg.C_out, cfg.C_in // cfg.groups) + cfg.kernel_size)
    args = (None, cfg.stride, cfg.padding, 0, cfg.groups, cfg.dilation)
    run_both(lambda x, w: F.conv_transpose1d(x, w, *args), lambda x, w: TF.conv_transpose1d(x, w, *args), x, w)


@given(tst.conv_configs(max_groups=1), st.integers(0, 2 ** 31))
def test_unfold_and_fold_match_pytorch(cfg, seed):
    r = np.random.default_rng(seed)
    kw = dict(kernel_size=cfg.kernel_size, dilation=cfg.dilation, padding=cfg.padding, stride=cfg.stride)
    run_both(lambda t: F.unfold(t, **kw), lambda t: TF.unfold(t, **kw), r.normal(size=cfg.input_shape))
    cols = r.normal(size=TF.unfold(torch.zeros(cfg.input_shape), **kw).shape)
    run_both(lambda t: F.fold(t, cfg.size, **kw), lambda t: TF.fold(t, cfg.size, **kw), cols)


@given(tst.pool_configs(), st.integers(0, 2 ** 31))
def test_max_pool2d_matches_pytorch_with_ties(cfg, seed):
    x = np.random.default_rng(seed).integers(-2, 3, cfg.input_shape).astype(np.float64)   # many ties
    kw = dict(kernel_size=cfg.kernel_size, stride=cfg.stride, padding=cfg.padding, dilation=cfg.dilation,
              ceil_mode=cfg.ceil_mode, return_indices=True)
    run_both(lambda t: F.max_pool2d(t, **kw), lambda t: TF.max_pool2d(t, **kw), x)


@given(tst.pool_configs(spatial_dims=1), st.integers(0, 2 ** 31))
def test_max_pool1d_matches_pytorch_with_ties(cfg, seed):
    x = np.random.default_rng(seed).integers(-2, 3, cfg.input_shape).astype(np.float64)
    kw = dict(kernel_size=cfg.kernel_size, stride=cfg.stride, padding=cfg.padding, dilation=cfg.dilation,
              ceil_mode=cfg.ceil_mode, return_indices=True)
    run_both(lambda t: F.max_pool1d(t, **kw), lambda t: TF.max_pool1d(t, **kw), x)


@given(tst.pool_configs(dilation=False), st.booleans(), st.sampled_from([None, 2]), st.integers(0, 2 ** 31))
def test_avg_pool2d_matches_pytorch(cfg, count_include_pad, divisor, seed):
    x = np.random.default_rng(seed).normal(size=cfg.input_shape)
    args = (cfg.kernel_size, cfg.stride, cfg.padding, cfg.ceil_mode, count_include_pad, divisor)
    run_both(lambda t: F.avg_pool2d(t, *args), lambda t: TF.avg_pool2d(t, *args), x)


@given(tst.pool_configs(spatial_dims=1, dilation=False), st.booleans(), st.integers(0, 2 ** 31))
def test_avg_pool1d_matches_pytorch(cfg, count_include_pad, seed):
    x = np.random.default_rng(seed).normal(size=cfg.input_shape)
    args = (cfg.kernel_size, cfg.stride, cfg.padding, cfg.ceil_mode, count_include_pad)
    run_both(lambda t: F.avg_pool1d(t, *args), lambda t: TF.avg_pool1d(t, *args), x)


@given(st.integers(1, 9), st.integers(1, 9), st.integers(1, 6), st.integers(1, 6), st.integers(0, 2 ** 31))
def test_adaptive_pools_match_pytorch(h, w, ho, wo, seed):
    x = np.random.default_rng(seed).integers(-2, 3, (2, 3, h, w)).astype(np.float64)
    run_both(lambda t: F.adaptive_avg_pool2d(t, (ho, wo)), lambda t: TF.adaptive_avg_pool2d(t, (ho, wo)), x)
    run_both(lambda t: F.adaptive_max_pool2d(t, (ho, wo), True),
             lambda t: TF.adaptive_max_pool2d(t, (ho, wo), True), x)


@given(tst.pool_configs(dilation=False, ceil_mode=False), st.integers(0, 2 ** 31))
def test_max_unpool2d_matches_pytorch(cfg, seed):
    x = np.random.default_rng(seed).normal(size=cfg.input_shape)
    args = (cfg.kernel_size, cfg.stride, cfg.padding)
    _, idx = F.max_pool2d(tg.tensor(x), *args, return_indices=True)
    pooled, tidx = TF.max_pool2d(torch.tensor(x), *args, return_indices=True)
    run_both(lambda t: F.max_unpool2d(t, idx, *args, output_size=cfg.size),
             lambda t: TF.max_unpool2d(t, tidx, *args, output_size=cfg.size), pooled.numpy())


# ----------------------------------------------------------------------------- modules and state dicts

MODULES = [
    (lambda: nn.Conv2d(3, 4, 3), lambda: torch.nn.Conv2d(3, 4, 3), (2, 3, 7, 6)),
    (lambda: nn.Conv2d(4, 6, (3, 2), stride=2, padding=1, groups=2, bias=False),
     lambda: torch.nn.Conv2d(4, 6, (3, 2), stride=2, padding=1, groups=2, bias=False), (2, 4, 7, 6)),
    (lambda: nn.Conv2d(3, 4, 4, padding="same", dilation=2),
     lambda: torch.nn.Conv2d(3, 4, 4, padding="same", dilation=2), (2, 3, 7, 6)),
    (lambda: nn.Conv2d(3, 4, 3, padding=2, padding_mode="reflect"),
     lambda: torch.nn.Conv2d(3, 4, 3, padding=2, padding_mode="reflect"), (2, 3, 5, 6)),
    (lambda: nn.Conv2d(3, 4, 3, padding=(1, 2), padding_mode="replicate"),
     lambda: torch.nn.Conv2d(3, 4, 3, padding=(1, 2), padding_mode="replicate"), (2, 3, 5, 6)),
    (lambda: nn.Conv2d(3, 4, 4, padding="same", padding_mode="circular"),
     lambda: torch.nn.Conv2d(3, 4, 4, padding="same", padding_mode="circular"), (2, 3, 5, 6)),
    (lambda: nn.Conv1d(3, 4, 3, padding=1, padding_mode="circular"),
     lambda: torch.nn.Conv1d(3, 4, 3, padding=1, padding_mode="circular"), (2, 3, 7)),
    (lambda: nn.Conv1d(4, 2, 2, stride=2, groups=2), lambda: torch.nn.Conv1d(4, 2, 2, stride=2, groups=2),
     (3, 4, 9)),
    (lambda: nn.ConvTranspose2d(3, 4, 3, stride=2, padding=1, output_padding=1),
     lambda: torch.nn.ConvTranspose2d(3, 4, 3, stride=2, padding=1, output_padding=1), (2, 3, 4, 5)),
    (lambda: nn.ConvTranspose1d(4, 2, 3, stride=3, groups=2),
     lambda: torch.nn.ConvTranspose1d(4, 2, 3, stride=3, groups=2), (2, 4, 5)),
]


@pytest.mark.parametrize("make_ours, make_theirs, shape", MODULES, ids=[repr(m[1]()) for m in MODULES])
def test_conv_module_with_pytorch_state_dict_gives_the_same_outputs_and_gradients(make_ours, make_theirs,
                                                                                  shape):
    ours, theirs = make_ours().double(), make_theirs().double()
    assert repr(ours) == repr(theirs)
    assert [(k, tuple(v.shape)) for k, v in ours.state_dict().items()] == \
        [(k, tuple(v.shape)) for k, v in theirs.state_dict().items()]
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    x = np.random.default_rng(0).normal(size=shape)
    xo, xt = tg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    yo, yt = ours(xo), theirs(xt)
    np.testing.assert_allclose(yo.numpy(), yt.detach().numpy(), rtol=1e-10, atol=1e-12)
    v = np.random.default_rng(1).normal(size=yo.shape)
    yo.backward(tg.tensor(v))
    yt.backward(torch.tensor(v))
    np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    for (name, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-10, atol=1e-12, err_msg=name)


def test_default_initialisation_has_pytorchs_distribution():
    # same bounds: the largest |w| of a big layer is close to the bound in both libraries
    tg.manual_seed(0)
    torch.manual_seed(0)
    ours, theirs = nn.Conv2d(16, 64, 3), torch.nn.Conv2d(16, 64, 3)
    for a, b in zip(ours.parameters(), theirs.parameters()):
        a, b = a.numpy(), b.detach().numpy()
        np.testing.assert_allclose(np.abs(a).max(), np.abs(b).max(), rtol=0.02)
        np.testing.assert_allclose(a.std(), b.std(), rtol=0.1)


def test_small_cnn_from_a_pytorch_state_dict_gives_the_same_loss_and_gradients():
    def net(lib):
        return lib.Sequential(lib.Conv2d(1, 8, 3, padding=1), lib.ReLU(), lib.MaxPool2d(2),
                              lib.Conv2d(8, 16, 3), lib.ReLU(), lib.AvgPool2d(2, ceil_mode=True),
                              lib.Dropout2d(0.0), lib.AdaptiveMaxPool2d(2), lib.Flatten(),
                              lib.Linear(64, 10))
    ours, theirs = net(nn).double(), net(torch.nn).double()
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    r = np.random.default_rng(3)
    x, y = r.normal(size=(8, 1, 12, 12)), r.integers(0, 10, 8)
    lo = F.cross_entropy(ours(tg.tensor(x)), tg.tensor(y))
    lt = TF.cross_entropy(theirs(torch.tensor(x)), torch.tensor(y))
    np.testing.assert_allclose(lo.item(), lt.item(), rtol=1e-12)
    lo.backward()
    lt.backward()
    for (name, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-9, atol=1e-12, err_msg=name)


def test_second_derivatives_match_pytorch():
    r = np.random.default_rng(4)
    x, w = r.normal(size=(2, 4, 6, 5)), r.normal(size=(6, 2, 3, 2))
    kw = dict(stride=(2, 1), padding=1, dilation=(1, 2), groups=2)
    xo, wo = tg.tensor(x, requires_grad=True), tg.tensor(w, requires_grad=True)
    xt, wt = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    go = tg.autograd.grad((F.conv2d(xo, wo, **kw) ** 2).sum(), [xo, wo], create_graph=True)
    gt = torch.autograd.grad((TF.conv2d(xt, wt, **kw) ** 2).sum(), [xt, wt], create_graph=True)
    (go[0].sum() + (go[1] ** 2).sum()).backward()
    (gt[0].sum() + (gt[1] ** 2).sum()).backward()
    np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(wo.grad.numpy(), wt.grad.numpy(), rtol=1e-10, atol=1e-10)


def test_error_messages_carry_pytorchs_wording():
    cases = [
        (lambda f: f.conv2d(T(2, 2, 5, 5), T(4, 3, 3, 3)), "expected input[2, 2, 5, 5] to have 3 channels"),
        (lambda f: f.conv2d(T(1, 1, 5, 5), T(1, 1, 7, 7)), "Kernel size can't be greater than actual input size"),
        (lambda f: f.conv2d(T(1, 1, 5, 5), T(1, 1, 3, 3), padding="same", stride=2),
         "padding='same' is not supported for strided convolutions"),
        (lambda f: f.max_pool2d(T(1, 1, 5, 5), 2, padding=2),
         "pad should be at most half of effective kernel size, but got pad=2, kernel_size=2 and dilation=1"),
        (lambda f: f.conv_transpose2d(T(2, 3, 5, 5), T(3, 3, 3, 3), output_padding=1),
         "output padding must be smaller than either stride or dilation"),
    ]
    for call, text in cases:
        with pytest.raises(Exception, match=None) as theirs:
            call(_TorchF)
        with pytest.raises(ValueError) as ours:
            call(_OursF)
        assert text in str(theirs.value) and text in str(ours.value), (text, theirs.value, ours.value)


class _Shape(tuple):
    pass


def T(*shape):
    return _Shape(shape)


class _Lib:
    def __init__(self, fns, make):
        self._fns, self._make = fns, make

    def __getattr__(self, name):
        fn = getattr(self._fns, name)
        return lambda *a, **k: fn(*[self._make(x) if isinstance(x, _Shape) else x for x in a], **k)


_TorchF = _Lib(TF, lambda s: torch.ones(*s))
_OursF = _Lib(F, lambda s: tg.ones(*s))
