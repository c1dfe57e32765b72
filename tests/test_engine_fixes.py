"""Three engine results that used to be silently wrong, pinned down against numbers worked by hand
and, where PyTorch is installed, against PyTorch run on the same code.

1. A view taken before its base joins the graph through an in-place op follows the base: PyTorch
   rebuilds the view's history as the same view of the base's new value.
2. Backward passes in several threads on graphs that share a leaf add every contribution into its
   ``.grad``.
3. ``cross_entropy`` / ``nll_loss`` with every target ignored: the mean is nan (0 / 0) and the
   gradient 0, not nan.
"""
import numpy as np
import pytest

import tinygrad_rnn as tg
import tinygrad_rnn.nn.functional as F


# ----------------------------------------------------------------------------- 3. cross-entropy

LOGITS = np.array([[1.0, 2.0, 3.0, 0.5],
                   [0.0, -1.0, 2.0, 1.0],
                   [3.0, 0.0, 0.0, -2.0]], np.float32)
WEIGHT = [1.0, 2.0, 0.5, 3.0]


def _softmax(x):
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("options", [{}, {"label_smoothing": 0.1}, {"weight": WEIGHT},
                                     {"weight": WEIGHT, "label_smoothing": 0.2}])
def test_cross_entropy_with_every_target_ignored(device, options):
    # mean: 0 / 0 = nan, and no row contributes to the gradient: exactly 0 (PyTorch), not nan
    # sum and none: 0, gradient 0
    kw = {k: tg.tensor(v, device=device) if k == "weight" else v for k, v in options.items()}
    target = tg.tensor([2, 2, 2], device=device)
    for reduction, value in (("mean", [np.nan]), ("sum", [0.0]), ("none", [0.0, 0.0, 0.0])):
        x = tg.tensor(LOGITS, device=device, requires_grad=True)
        loss = F.cross_entropy(x, target, ignore_index=2, reduction=reduction, **kw)
        np.testing.assert_array_equal(loss.numpy().reshape(-1), value)
        loss.sum().backward()
        np.testing.assert_array_equal(x.grad.numpy(), np.zeros((3, 4)))
        assert x.grad.dtype == np.float32 and loss.dtype == np.float32


def test_cross_entropy_with_every_target_ignored_second_order():
    # with create_graph the gradient is a recorded expression; it too is 0, and so is its gradient
    x = tg.tensor(LOGITS, requires_grad=True)
    loss = F.cross_entropy(x, tg.tensor([-100, -100, -100]))
    g, = tg.autograd.grad(loss, x, create_graph=True)
    np.testing.assert_array_equal(g.numpy(), np.zeros((3, 4)))
    (g * g).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros((3, 4)))


def test_cross_entropy_spatial_and_nll_loss_with_every_target_ignored(device):
    # (N, C, d) logits take the nll_loss path; nll_loss itself likewise
    x = tg.tensor(LOGITS.T[None].copy(), device=device, requires_grad=True)    # (1, 4, 3)
    loss = F.cross_entropy(x, tg.tensor([[-100, -100, -100]], device=device))
    assert np.isnan(loss.item())
    loss.backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.zeros((1, 4, 3)))
    logp = tg.tensor(np.log(_softmax(LOGITS)), device=device, requires_grad=True)
    loss = F.nll_loss(logp, tg.tensor([1, 1, 1], device=device), ignore_index=1)
    assert np.isnan(loss.item())
    loss.backward()
    np.testing.assert_array_equal(logp.grad.numpy(), np.zeros((3, 4)))


def test_cross_entropy_with_some_targets_ignored(device):
    # rows 0 and 2 count (targets 3 and 0), row 1 is ignored: the mean divides by 2 and the
    # gradient is (softmax - onehot) / 2 on the counted rows, exactly 0 on the ignored one
    x = tg.tensor(LOGITS, device=device, requires_grad=True)
    loss = F.cross_entropy(x, tg.tensor([3, -100, 0], device=device))
    p = _softmax(LOGITS.astype(np.float64))
    expected = -(np.log(p[0, 3]) + np.log(p[2, 0])) / 2
    assert loss.item() == pytest.approx(expected, rel=1e-6)
    loss.backward()
    onehot = np.zeros((3, 4))
    onehot[0, 3] = onehot[2, 0] = 1
    grad = (p - onehot) / 2
    grad[1] = 0
    np.testing.assert_allclose(x.grad.numpy(), grad, rtol=1e-5, atol=1e-7)
    assert np.all(x.grad.numpy()[1] == 0) and not np.any(np.signbit(x.grad.numpy()[1]))


def test_cross_entropy_ignored_rows_are_zero_even_where_not_finite():
    # as PyTorch: an ignored row's loss is 0 even for inf/nan logits, and a nan gradient coming
    # from above on an ignored row does not reach the logits
    x = tg.tensor([[1.0, 2.0, 3.0], [np.nan, 0.0, 0.0], [np.inf, 0.0, 0.0]], requires_grad=True)
    loss = F.cross_entropy(x, tg.tensor([0, -100, -100]), reduction="none")
    assert loss.tolist()[1:] == [0.0, 0.0]
    y = tg.tensor([[1.0, 2.0, 3.0]], requires_grad=True)
    F.cross_entropy(y, tg.tensor([-100]), reduction="none").backward(tg.tensor([np.nan]))
    assert y.grad.tolist() == [[0.0, 0.0, 0.0]]


@pytest.mark.parametrize("options", [{}, {"label_smoothing": 0.1}, {"weight": WEIGHT},
                                     {"weight": WEIGHT, "label_smoothing": 0.2}])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("targets", [[2, 2, 2], [2, 1, 2]])
def test_cross_entropy_with_ignored_targets_matches_torch(options, reduction, targets):
    torch = pytest.importorskip("torch")

    def run(lib):
        kw = {k: lib.tensor(v) if k == "weight" else v for k, v in options.items()}
        x = lib.tensor(LOGITS, requires_grad=True)
        loss = lib.nn.functional.cross_entropy(x, lib.tensor(targets), ignore_index=2,
                                               reduction=reduction, **kw)
        loss.sum().backward()
        return loss.detach().numpy(), x.grad.numpy()
    loss, grad = run(tg)
    loss_t, grad_t = run(torch)
    np.testing.assert_allclose(loss, loss_t, rtol=1e-6, atol=1e-7)     # nan where torch's is
    np.testing.assert_allclose(grad, grad_t, rtol=1e-5, atol=1e-7)


def test_nll_loss_with_every_target_ignored_matches_torch():
    torch = pytest.importorskip("torch")
    logp = np.log(_softmax(LOGITS))
    for reduction in ("mean", "sum", "none"):
        for weight in (None, WEIGHT):
            out = []
            for lib in (tg, torch):
                x = lib.tensor(logp, requires_grad=True)
                loss = lib.nn.functional.nll_loss(
                    x, lib.tensor([1, 1, 1]), None if weight is None else lib.tensor(weight),
                    ignore_index=1, reduction=reduction)
                loss.sum().backward()
                out.append((loss.detach().numpy(), x.grad.numpy()))
            np.testing.assert_allclose(out[0][0], out[1][0])
            np.testing.assert_array_equal(out[0][1], out[1][1])
