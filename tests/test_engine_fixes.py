"""Three engine results that used to be silently wrong, pinned down against numbers worked by hand
and, where PyTorch is installed, against PyTorch run on the same code.

1. A view taken before its base joins the graph through an in-place op follows the base: PyTorch
   rebuilds the view's history as the same view of the base's new value.
2. Backward passes in several threads on graphs that share a leaf add every contribution into its
   ``.grad``.
3. ``cross_entropy`` / ``nll_loss`` with every target ignored: the mean is nan (0 / 0) and the
   gradient 0, not nan.
"""
import threading

import numpy as np
import pytest

import tinygrad_rnn as tg
import tinygrad_rnn.nn.functional as F


# ----------------------------------------------------------------------------- 2. threads

def _threads_accumulate(n_threads, n_backward, size, loss=lambda w: (w * 1.0).sum(), **kw):
    """Every thread runs ``n_backward`` backward passes of ``loss(w)`` into the shared leaf ``w``
    (zeros): with the default loss each adds 1 everywhere, so w.grad must be n_threads * n_backward
    everywhere."""
    w = tg.tensor(np.zeros(size, np.float32), requires_grad=True)
    start = threading.Barrier(n_threads)

    def work():
        start.wait()
        for _ in range(n_backward):
            loss(w).backward(**kw)
    threads = [threading.Thread(target=work) for _ in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return w.grad.numpy()


def test_threads_sharing_a_leaf_lose_no_gradient():
    # 2M elements: large enough that NumPy releases the GIL inside `+=`, where the additions of two
    # unlocked threads overwrite each other (before the fix tens of elements ended at 58-59)
    for _ in range(3):
        g = _threads_accumulate(2, 30, 2_000_000)
        assert np.count_nonzero(g != 60.0) == 0, np.unique(g)


def test_threads_first_gradients_into_an_empty_grad_all_count():
    # each thread's first backward finds .grad None; w + 0 hands the leaf a gradient it must copy
    # (it is a broadcast view), and NumPy releases the GIL while copying: one thread's gradient
    # must not replace another's (before the fix about half of these trials lost one)
    for _ in range(10):
        g = _threads_accumulate(4, 1, 2_000_000, loss=lambda w: (w + 0.0).sum())
        assert np.count_nonzero(g != 4.0) == 0, np.unique(g)


def test_threads_accumulate_with_create_graph():
    # with create_graph .grad becomes old + new, a recorded op: the same read-add-write step
    # d/dw sum(w^2 + w) = 2 w + 1 = 1 at w = 0, so 2 threads x 20 passes give 40
    for _ in range(2):
        g = _threads_accumulate(2, 20, 1_000_000, loss=lambda w: (w * w + w).sum(),
                                create_graph=True)
        assert np.count_nonzero(g != 40.0) == 0, np.unique(g)


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
