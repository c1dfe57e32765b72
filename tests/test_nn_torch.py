"""Cross-checks against PyTorch (skipped when it is not installed): the same weights, copied by
name through state_dict, give the same outputs, gradients, running statistics and printouts."""
import math

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
