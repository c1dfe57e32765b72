"""What docs/autodiff.md says about the engine's two backward modes holds.

Its code excerpts are checked against the files by tests/test_docs.py; here: a plain backward
records nothing and hands array-mode ops raw arrays, a recorded one hands them Tensors, and
cross-entropy's two backward bodies give one gradient, the one worked out independently.
"""
import numpy as np

import tinygrad_rnn as tg
from tinygrad_rnn import autograd
from tinygrad_rnn.autograd import Function


def _seen_by_backward(create_graph):
    """The kind of ``g`` and of ``ctx.saved`` an array-mode op's backward gets."""
    seen = {}

    class Square(Function):
        array_backward = True

        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            x, = ctx.saved
            seen["g"], seen["saved"] = type(g), type(x)
            return g * 2 * x                    # d/dx x^2 = 2 x

    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = Square.apply(x).sum()
    g, = autograd.grad(y, x, create_graph=create_graph)
    return seen, g


def test_a_plain_backward_hands_array_mode_ops_raw_arrays_and_records_nothing():
    seen, g = _seen_by_backward(create_graph=False)
    assert seen == {"g": np.ndarray, "saved": np.ndarray}
    assert g.grad_fn is None and g.tolist() == [2.0, 4.0]


def test_a_recorded_backward_hands_them_tensors():
    seen, g = _seen_by_backward(create_graph=True)
    assert seen == {"g": tg.Tensor, "saved": tg.Tensor}
    assert g.grad_fn is not None and g.tolist() == [2.0, 4.0]          # 2 x, recorded


def test_cross_entropys_two_backward_bodies_give_the_independent_gradient():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(5, 4)).astype(np.float64)
    target = np.array([0, 3, -100, 2, 1])       # row 2 is ignored (PyTorch's ignore_index)
    weights = rng.uniform(0.5, 2.0, size=5)      # an incoming gradient that differs per row

    def gradient(create_graph):
        x = tg.tensor(logits, requires_grad=True)
        loss = tg.nn.functional.cross_entropy(x, tg.tensor(target), reduction="none")
        (loss * tg.tensor(weights)).sum().backward(create_graph=create_graph)
        return x.grad.numpy()

    # by hand: (softmax(x) - onehot(t)) times the row's incoming gradient, 0 on the ignored row
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    expected = p.copy()
    keep = target != -100
    expected[np.arange(5)[keep], target[keep]] -= 1
    expected *= (weights * keep)[:, None]
    arrays, tensors = gradient(False), gradient(True)
    np.testing.assert_allclose(arrays, expected, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(tensors, expected, rtol=1e-12, atol=1e-15)
