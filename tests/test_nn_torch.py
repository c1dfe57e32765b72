"""Cross-checks against PyTorch (skipped when it is not installed): the same weights, copied by
name through state_dict, give the same outputs, gradients, running statistics and printouts."""
import math
import warnings

import numpy as np
import pytest

import tinygrad_rnn as tg
import tinygrad_rnn.nn.functional as F
from tinygrad_rnn import nn

torch = pytest.importorskip("torch")
TF = torch.nn.functional

rng = np.random.default_rng(7)


def copy_weights(ours, theirs):
    """Random weights in the PyTorch module, copied into ours by name."""
    with torch.no_grad():
        for p in theirs.parameters():
            p.uniform_(-1, 1)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})


def close(a, b, tol=1e-10):
    a = a.numpy() if isinstance(a, tg.Tensor) else a
    b = b.detach().numpy() if isinstance(b, torch.Tensor) else b
    assert np.shape(a) == np.shape(b)
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


LAYERS = [
    (lambda: nn.Linear(4, 3), lambda: torch.nn.Linear(4, 3), (5, 4)),
    (lambda: nn.Linear(4, 3, bias=False), lambda: torch.nn.Linear(4, 3, bias=False), (2, 5, 4)),
    (lambda: nn.LayerNorm((3, 4)), lambda: torch.nn.LayerNorm((3, 4)), (2, 3, 4)),
    (lambda: nn.BatchNorm1d(3), lambda: torch.nn.BatchNorm1d(3), (6, 3)),
    (lambda: nn.BatchNorm1d(3), lambda: torch.nn.BatchNorm1d(3), (6, 3, 5)),
    (lambda: nn.BatchNorm2d(3, momentum=None), lambda: torch.nn.BatchNorm2d(3, momentum=None), (4, 3, 2, 5)),
    (lambda: nn.BatchNorm2d(3, affine=False), lambda: torch.nn.BatchNorm2d(3, affine=False), (4, 3, 2, 2)),
    (lambda: nn.GELU(), lambda: torch.nn.GELU(), (3, 4)),
    (lambda: nn.GELU("tanh"), lambda: torch.nn.GELU("tanh"), (3, 4)),
    (lambda: nn.ELU(0.7), lambda: torch.nn.ELU(0.7), (3, 4)),
    (lambda: nn.LeakyReLU(0.2), lambda: torch.nn.LeakyReLU(0.2), (3, 4)),
    (lambda: nn.Softplus(2.0, 3.0), lambda: torch.nn.Softplus(2.0, 3.0), (3, 4)),
    (lambda: nn.Softmax(1), lambda: torch.nn.Softmax(1), (3, 4)),
    (lambda: nn.LogSoftmax(0), lambda: torch.nn.LogSoftmax(0), (3, 4)),
    (lambda: nn.Flatten(), lambda: torch.nn.Flatten(), (2, 3, 4)),
]


@pytest.mark.parametrize("make_ours, make_theirs, shape", LAYERS,
                         ids=[f"{type(m()).__name__}-{'x'.join(map(str, s))}" for m, _, s in LAYERS])
def test_layer_matches_pytorch(make_ours, make_theirs, shape):
    ours, theirs = make_ours(), make_theirs()
    copy_weights(ours, theirs)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.double(), theirs.double()
    for _ in range(2):   # twice: running statistics must follow too
        x = rng.normal(1, 2, size=shape)
        a, b = tg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        ya, yb = ours(a), theirs(b)
        g = rng.normal(size=yb.shape)
        ya.backward(tg.tensor(g))
        yb.backward(torch.tensor(g))
        close(ya, yb)
        close(a.grad, b.grad)
        for (name, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
            close(p.grad, q.grad)
        for (name, p), (_, q) in zip(ours.named_buffers(), theirs.named_buffers()):
            close(p, q)
    ours.eval(), theirs.eval()
    x = rng.normal(1, 2, size=shape)
    close(ours(tg.tensor(x)), theirs(torch.tensor(x)))


def test_embedding_matches_pytorch():
    ours, theirs = nn.Embedding(10, 3, padding_idx=2), torch.nn.Embedding(10, 3, padding_idx=2)
    copy_weights(ours, theirs)
    idx = np.array([[1, 2, 2], [5, 1, 9]])
    ya, yb = ours(tg.tensor(idx)), theirs(torch.tensor(idx))
    g = rng.normal(size=yb.shape)
    ya.backward(tg.tensor(g, dtype=tg.float32))
    yb.backward(torch.tensor(g, dtype=torch.float32))
    close(ya, yb, 1e-6)
    close(ours.weight.grad, theirs.weight.grad, 1e-6)
    assert repr(ours) == repr(theirs)


class OurNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(7, 4)
        self.scale = nn.Parameter(tg.ones(1))
        self.body = nn.Sequential(nn.Linear(4, 5), nn.LayerNorm(5), nn.ReLU())
        self.heads = nn.ModuleList([nn.Linear(5, 2), nn.Linear(5, 3)])
        self.bn = nn.BatchNorm1d(5)


class TheirNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = torch.nn.Embedding(7, 4)
        self.scale = torch.nn.Parameter(torch.ones(1))
        self.body = torch.nn.Sequential(torch.nn.Linear(4, 5), torch.nn.LayerNorm(5), torch.nn.ReLU())
        self.heads = torch.nn.ModuleList([torch.nn.Linear(5, 2), torch.nn.Linear(5, 3)])
        self.bn = torch.nn.BatchNorm1d(5)


def test_names_orders_and_repr_of_a_composite_model_match_pytorch():
    ours, theirs = OurNet(), TheirNet()
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()]
    assert [n for n, _ in ours.named_modules()] == [n for n, _ in theirs.named_modules()]
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert repr(ours).replace("OurNet", "Net") == repr(theirs).replace("TheirNet", "Net")


def test_weights_copy_from_us_into_pytorch_by_name():
    ours, theirs = OurNet(), TheirNet()
    theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})
    close(ours.body[0].weight, theirs.body[0].weight, 0)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("smoothing", [0.0, 0.25])
@pytest.mark.parametrize("shape", [(5, 4), (3, 4, 2, 3), (4,)])
def test_cross_entropy_matches_pytorch(shape, smoothing, reduction):
    c = shape[1] if len(shape) > 1 else shape[0]
    tshape = (shape[0],) + shape[2:] if len(shape) > 1 else ()
    x = rng.normal(0, 3, size=shape)
    t = rng.integers(0, c, size=tshape)
    if t.ndim:
        t.flat[-1] = 1
        t.flat[0] = -100
    w = rng.uniform(0.5, 2, c)
    for weighted in (False, True):
        a, b = tg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        la = F.cross_entropy(a, tg.tensor(t), weight=tg.tensor(w) if weighted else None,
                             reduction=reduction, label_smoothing=smoothing)
        lb = TF.cross_entropy(b, torch.tensor(t), weight=torch.tensor(w) if weighted else None,
                              reduction=reduction, label_smoothing=smoothing)
        g = rng.normal(size=lb.shape)
        la.backward(tg.tensor(g))
        lb.backward(torch.tensor(g))
        close(la, lb)
        close(a.grad, b.grad)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_with_probability_targets_matches_pytorch(reduction):
    x = rng.normal(size=(3, 4, 2))
    p = rng.dirichlet(np.ones(4), size=(3, 2)).transpose(0, 2, 1).copy()
    w = rng.uniform(0.5, 2, 4)
    a, b = tg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    pa, pb = tg.tensor(p, requires_grad=True), torch.tensor(p, requires_grad=True)
    la = F.cross_entropy(a, pa, weight=tg.tensor(w), reduction=reduction, label_smoothing=0.1)
    lb = TF.cross_entropy(b, pb, weight=torch.tensor(w), reduction=reduction, label_smoothing=0.1)
    g = rng.normal(size=lb.shape)
    la.backward(tg.tensor(g))
    lb.backward(torch.tensor(g))
    close(la, lb)
    close(a.grad, b.grad)
    close(pa.grad, pb.grad)


def test_extreme_logit_cross_entropy_matches_pytorch():
    x = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 5.0]])
    a, b = tg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    la, lb = F.cross_entropy(a, tg.tensor([1, 0])), TF.cross_entropy(b, torch.tensor([1, 0]))
    la.backward()
    lb.backward()
    close(la, lb)
    close(a.grad, b.grad)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_binary_cross_entropies_match_pytorch(reduction):
    x = rng.uniform(0.01, 0.99, (4, 3))
    logits = rng.normal(0, 3, (4, 3))
    logits[0, :2] = [1e4, -1e4]
    y = rng.uniform(0, 1, (4, 3))
    w, pw = rng.uniform(0.5, 2, 3), rng.uniform(0.5, 3, 3)
    a, b = tg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ya, yb = tg.tensor(y, requires_grad=True), torch.tensor(y, requires_grad=True)
    la = F.binary_cross_entropy(a, ya, weight=tg.tensor(w), reduction=reduction)
    lb = TF.binary_cross_entropy(b, yb, weight=torch.tensor(w), reduction=reduction)
    g = rng.normal(size=lb.shape)
    la.backward(tg.tensor(g))
    lb.backward(torch.tensor(g))
    close(la, lb)
    close(a.grad, b.grad, 1e-8)
    close(ya.grad, yb.grad)
    a, b = tg.tensor(logits, requires_grad=True), torch.tensor(logits, requires_grad=True)
    la = F.binary_cross_entropy_with_logits(a, tg.tensor(y), weight=tg.tensor(w), pos_weight=tg.tensor(pw),
                                            reduction=reduction)
    lb = TF.binary_cross_entropy_with_logits(b, torch.tensor(y), weight=torch.tensor(w),
                                             pos_weight=torch.tensor(pw), reduction=reduction)
    la.backward(tg.tensor(g))
    lb.backward(torch.tensor(g))
    close(la, lb)
    close(a.grad, b.grad)


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf])
def test_clip_grad_norm_matches_pytorch(norm_type):
    grads = [rng.normal(size=(3, 4)), rng.normal(size=(5,))]
    ours, theirs = [], []
    for g in grads:
        p = nn.Parameter(tg.zeros(*g.shape, dtype=tg.float64))
        p.grad = tg.tensor(g)
        q = torch.nn.Parameter(torch.zeros(*g.shape, dtype=torch.float64))
        q.grad = torch.tensor(g)
        ours.append(p)
        theirs.append(q)
    close(nn.utils.clip_grad_norm_(ours, 0.5, norm_type), torch.nn.utils.clip_grad_norm_(theirs, 0.5, norm_type))
    for p, q in zip(ours, theirs):
        close(p.grad, q.grad)


@pytest.mark.parametrize("shape", [(5, 3), (8, 3, 5, 5), (16, 2, 3, 3), (4, 6, 7)])
def test_fans_match_pytorch(shape):
    from tinygrad_rnn.nn.init import _calculate_fan_in_and_fan_out
    assert _calculate_fan_in_and_fan_out(tg.zeros(*shape)) == \
        torch.nn.init._calculate_fan_in_and_fan_out(torch.zeros(*shape))


@pytest.mark.parametrize("name, param", [("tanh", None), ("relu", None), ("leaky_relu", None),
                                         ("leaky_relu", 0.3), ("selu", None), ("conv1d", None)])
def test_gains_match_pytorch(name, param):
    assert nn.init.calculate_gain(name, param) == pytest.approx(torch.nn.init.calculate_gain(name, param))


# ----------------------------------------------------------------------------- activations, distances, robust losses, GroupNorm

def f64(x, grad=True):
    """An array or nested list as a float64 tensor."""
    return tg.tensor(np.asarray(x, dtype=np.float64), requires_grad=grad)


# the grid of test_nn_layers.py's activation tests (every kink and both sides of it), and more
GRID = np.array([-9.0, -6.5, -3.0, -2.999, -1.0, -0.999, -0.5, 0.0, 1e-3, 0.5, 0.9, 1.0, 1.001, 2.5,
                 3.0, 3.001, 5.0, 6.0, 6.001, 8.0])
KINKY = np.concatenate([GRID, rng.normal(0, 4, size=20)])


@pytest.mark.parametrize("name, kwargs", [("silu", {}), ("mish", {}), ("hardtanh", {}),
                                          ("hardtanh", {"min_val": -2.0, "max_val": 3.0}), ("relu6", {}),
                                          ("hardsigmoid", {}), ("hardswish", {}), ("selu", {}),
                                          ("celu", {}), ("celu", {"alpha": 0.5}), ("celu", {"alpha": -2.0}),
                                          ("softsign", {}), ("tanhshrink", {}), ("logsigmoid", {}),
                                          ("threshold", {"threshold": 0.5, "value": -7.0}),
                                          ("threshold", {"threshold": 3.0, "value": 3.0})])
def test_activations_match_pytorch_values_and_gradients(name, kwargs):
    ours, theirs = getattr(F, name), getattr(torch.nn.functional, name)
    g = rng.normal(size=KINKY.shape)
    a, b = f64(KINKY), torch.tensor(KINKY, requires_grad=True)
    ya, yb = ours(a, **kwargs), theirs(b, **kwargs)
    ya.backward(tg.tensor(g))
    yb.backward(torch.tensor(g))
    np.testing.assert_allclose(ya.numpy(), yb.detach().numpy(), rtol=1e-13, atol=1e-15)
    # PyTorch's hardsigmoid backward multiplies by 1/6 rounded to float32 (0.16666667163...) even
    # in float64; ours uses 1/6 (checked exactly above). That rounding is 3e-8 relative.
    rtol = 1e-7 if name == "hardsigmoid" else 1e-13
    np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=rtol, atol=1e-15)
    # and float32 agrees to float32 rounding
    a32, b32 = tg.tensor(KINKY, dtype=tg.float32), torch.tensor(KINKY, dtype=torch.float32)
    np.testing.assert_allclose(ours(a32, **kwargs).numpy(), theirs(b32, **kwargs).numpy(), rtol=2e-6,
                               atol=1e-6)


def _parity(ours, theirs, arrays, rtol=1e-12, atol=1e-14):
    a = [f64(x) for x in arrays]
    b = [torch.tensor(x, requires_grad=True) for x in arrays]
    ya, yb = ours(*a), theirs(*b)
    g = rng.normal(size=yb.shape)
    ya.backward(tg.tensor(g))
    yb.backward(torch.tensor(g))
    np.testing.assert_allclose(ya.numpy(), yb.detach().numpy(), rtol=rtol, atol=atol)
    for p, q in zip(a, b):
        if q.grad is None:              # PyTorch: no gradient at all for p = 0
            assert p.grad is None
            continue
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=rtol, atol=atol)


@pytest.mark.parametrize("p", [2.0, 1.0, 3.0, 0.5, math.inf, -math.inf, 0.0, -1.0])
def test_norms_and_distances_match_pytorch(p):
    TF = torch.nn.functional
    x = rng.normal(size=(4, 5))
    if not 0 < p < 1:           # (zero entries with 0 < p < 1: see the next test)
        x[2] = 0.0              # a zero vector: the eps floor (and zero entries along dim 0)
        x[3, :2] = 0.0          # zero entries: |x| kinks, infinite |x|^p for p < 0
    y = rng.normal(size=(4, 5))
    _parity(lambda t: F.normalize(t, p), lambda t: TF.normalize(t, p), [x])
    _parity(lambda t: F.normalize(t, p, 0, 1e-3), lambda t: TF.normalize(t, p, 0, 1e-3), [x])
    _parity(lambda a, b: F.pairwise_distance(a, b, p), lambda a, b: TF.pairwise_distance(a, b, p),
            [x, y])
    _parity(lambda a, b: F.pairwise_distance(a, b, p, 1e-3, True),
            lambda a, b: TF.pairwise_distance(a, b, p, 1e-3, True), [x, y[0]])


def test_cosine_similarity_matches_pytorch_also_below_eps():
    TF = torch.nn.functional
    x1, x2 = rng.normal(size=(5, 4)), rng.normal(size=(4,))
    x1[0] = 0.0        # zero vector
    x1[1] *= 1e-10     # norm below eps: the floor sets the value, the norm the gradient
    _parity(lambda a, b: F.cosine_similarity(a, b, -1), lambda a, b: TF.cosine_similarity(a, b, -1),
            [x1, x2], rtol=1e-12, atol=0)
    _parity(lambda a, b: F.cosine_similarity(a, b), lambda a, b: TF.cosine_similarity(a, b),
            [rng.normal(size=(2, 1, 3)), rng.normal(size=(2, 4, 3))])


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_losses_match_pytorch(reduction):
    TF = torch.nn.functional
    x = rng.normal(size=(4, 5))
    t = rng.normal(size=(4, 5))
    t[0] = x[0] - [1.0, -1.0, 0.5, -0.5, 2.0]       # differences at the kinks for width 1 and 0.5
    for beta in (1.0, 0.5, 0.0):
        _parity(lambda a, b: F.smooth_l1_loss(a, b, reduction=reduction, beta=beta),
                lambda a, b: TF.smooth_l1_loss(a, b, reduction=reduction, beta=beta), [x, t])
    for delta in (1.0, 0.5, 2.0):
        _parity(lambda a, b: F.huber_loss(a, b, reduction=reduction, delta=delta),
                lambda a, b: TF.huber_loss(a, b, reduction=reduction, delta=delta), [x, t])
    w = rng.uniform(size=(4, 5))
    _parity(lambda a, b: F.huber_loss(a, b, reduction=reduction, weight=tg.tensor(w)),
            lambda a, b: TF.huber_loss(a, b, reduction=reduction, weight=torch.tensor(w)), [x, t])


@pytest.mark.parametrize("reduction", ["none", "mean", "sum", "batchmean"])
def test_kl_div_matches_pytorch(reduction):
    TF = torch.nn.functional
    q = np.log(rng.dirichlet(np.ones(5), size=4))
    p = rng.dirichlet(np.ones(5), size=4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")     # reduction="mean" warns in both
        _parity(lambda a, b: F.kl_div(a, b, reduction=reduction),
                lambda a, b: TF.kl_div(a, b, reduction=reduction), [q, p])
        _parity(lambda a, b: F.kl_div(a, b, reduction=reduction, log_target=True),
                lambda a, b: TF.kl_div(a, b, reduction=reduction, log_target=True), [q, np.log(p)])
        p[0, 0] = 0.0   # a zero target: same value and input gradient (the target's differs, see docs)
        _parity(lambda a: F.kl_div(a, tg.tensor(p), reduction=reduction),
                lambda a: TF.kl_div(a, torch.tensor(p), reduction=reduction), [q])


def test_functions_match_pytorch():
    TF = torch.nn.functional
    x = rng.normal(size=(3, 6, 2))
    _parity(lambda t: F.glu(t, 1), lambda t: TF.glu(t, 1), [x])
    _parity(lambda t: F.softmin(t, 2), lambda t: TF.softmin(t, 2), [x])
    _parity(lambda t, w, b: F.group_norm(t, 3, w, b), lambda t, w, b: TF.group_norm(t, 3, w, b),
            [x, rng.normal(size=6), rng.normal(size=6)])


MODULES = [
    (lambda m: m.SiLU(), (3, 4)), (lambda m: m.Mish(), (3, 4)),
    (lambda m: m.Hardtanh(-2.0, 3.0), (3, 4)), (lambda m: m.ReLU6(), (3, 4)),
    (lambda m: m.Hardsigmoid(), (3, 4)), (lambda m: m.Hardswish(), (3, 4)), (lambda m: m.SELU(), (3, 4)),
    (lambda m: m.CELU(0.5), (3, 4)), (lambda m: m.Softsign(), (3, 4)), (lambda m: m.Tanhshrink(), (3, 4)),
    (lambda m: m.Threshold(0.1, 20.0), (3, 4)), (lambda m: m.LogSigmoid(), (3, 4)),
    (lambda m: m.Softmin(1), (3, 4)), (lambda m: m.GLU(1), (3, 4)),
    (lambda m: m.GroupNorm(2, 4), (3, 4, 5)), (lambda m: m.GroupNorm(3, 6, affine=False), (2, 6, 2, 2)),
    (lambda m: m.GroupNorm(2, 4, eps=1e-3, bias=False), (2, 4)),
    (lambda m: m.Unflatten(1, (2, 2)), (3, 4)), (lambda m: m.Unflatten(-1, [2, -1]), (3, 4)),
]


@pytest.mark.parametrize("make, shape", MODULES, ids=[f"{i}" for i in range(len(MODULES))])
def test_modules_match_pytorch(make, shape):
    ours, theirs = make(nn), make(torch.nn)
    with torch.no_grad():
        for p in theirs.parameters():
            p.uniform_(-1, 1)
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    assert repr(ours) == repr(theirs)
    assert [(k, tuple(v.shape)) for k, v in ours.state_dict().items()] == \
        [(k, tuple(v.shape)) for k, v in theirs.state_dict().items()]
    ours.double(), theirs.double()
    x = rng.normal(0, 3, size=shape)
    a, b = f64(x), torch.tensor(x, requires_grad=True)
    ya, yb = ours(a), theirs(b)
    g = rng.normal(size=yb.shape)
    ya.backward(tg.tensor(g))
    yb.backward(torch.tensor(g))
    rtol = 1e-7 if isinstance(ours, nn.Hardsigmoid) else 1e-12   # see the activation parity test
    np.testing.assert_allclose(ya.numpy(), yb.detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=rtol, atol=1e-14)
    for (_, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-12, atol=1e-14)


def test_module_printouts_with_options_match_pytorch():
    for make in [lambda m: m.SiLU(True), lambda m: m.Mish(True), lambda m: m.Hardtanh(-2, 3, True),
                 lambda m: m.ReLU6(True), lambda m: m.Hardsigmoid(True), lambda m: m.Hardswish(True),
                 lambda m: m.SELU(True), lambda m: m.CELU(0.5, True), lambda m: m.Threshold(0.1, 2, True),
                 lambda m: m.Softmin(), lambda m: m.GLU(), lambda m: m.CosineSimilarity(0, 1e-3),
                 lambda m: m.PairwiseDistance(1, 1e-3, True), lambda m: m.GroupNorm(2, 4, 1e-3, False),
                 lambda m: m.SmoothL1Loss(beta=0.5), lambda m: m.HuberLoss(delta=2.0),
                 lambda m: m.KLDivLoss(log_target=True), lambda m: m.Unflatten(-1, [2, 3])]:
        assert repr(make(nn)) == repr(make(torch.nn))


TWO_INPUT_MODULES = [
    lambda m: m.SmoothL1Loss(beta=0.5), lambda m: m.HuberLoss(delta=2.0),
    lambda m: m.KLDivLoss(reduction="batchmean"), lambda m: m.KLDivLoss(reduction="sum", log_target=True),
    lambda m: m.CosineSimilarity(dim=1), lambda m: m.PairwiseDistance(p=1.0, keepdim=True),
]


@pytest.mark.parametrize("make", TWO_INPUT_MODULES, ids=[f"{i}" for i in range(len(TWO_INPUT_MODULES))])
def test_two_input_modules_match_pytorch(make):
    ours, theirs = make(nn), make(torch.nn)
    assert repr(ours) == repr(theirs)
    x1, x2 = -np.abs(rng.normal(size=(3, 4))), rng.uniform(0.1, 1, size=(3, 4))
    _parity(ours, theirs, [x1, x2])
