"""normalize, cosine_similarity and pairwise_distance (functions and modules): numbers worked by
hand, finite differences (first and second derivatives over Hypothesis-drawn shapes), the eps
floors and PyTorch's subgradient at zero entries; errors name the shapes. PyTorch cross-checks
are in test_nn_torch.py."""
import math

import numpy as np
import pytest
from hypothesis import given, strategies as st

import tinygrad_rnn as tg
import tinygrad_rnn.nn.functional as F
from tinygrad_rnn import nn  # noqa: F401
from tinygrad_rnn.testing import gradcheck, gradgradcheck, strategies as tst

rng = np.random.default_rng(8)


def t64(x, grad=True):
    return tg.tensor(np.asarray(x, dtype=np.float64), requires_grad=grad)


def grad_of(fn, x, upstream=None):
    """d/dx sum(upstream * fn(x)) for a float64 array x."""
    t = t64(x)
    y = fn(t)
    y.backward(tg.tensor(np.ones(y.shape) if upstream is None else upstream))
    return y.numpy(), t.grad.numpy()


# ----------------------------------------------------------------------------- norms and distances

def test_normalize_by_hand():
    # [3, 4] / 5; upstream g = [1, 0]: (g - (g.u) u) / |x| = ([1, 0] - 0.6 [0.6, 0.8]) / 5
    y, g = grad_of(lambda t: F.normalize(t, dim=0), [3.0, 4.0], [1.0, 0.0])
    np.testing.assert_allclose(y, [0.6, 0.8], rtol=1e-15)
    np.testing.assert_allclose(g, [0.128, -0.096], rtol=1e-14)
    # other norms: |x|_1 = 7, |x|_inf = 4
    np.testing.assert_allclose(F.normalize(t64([[3.0, -4.0]]), 1).numpy(), [[3 / 7, -4 / 7]], rtol=1e-15)
    np.testing.assert_allclose(F.normalize(t64([[3.0, -4.0]]), math.inf).numpy(), [[0.75, -1.0]])


def test_normalize_keeps_a_zero_vector_zero_with_gradient_g_over_eps():
    # below eps the norm is replaced by the constant eps: the gradient is g / eps (as PyTorch)
    y, g = grad_of(lambda t: F.normalize(t, eps=1e-3), [[0.0, 0.0], [3.0, 4.0]], [[1.0, 2.0], [0, 0]])
    np.testing.assert_allclose(y, [[0, 0], [0.6, 0.8]])
    np.testing.assert_allclose(g, [[1e3, 2e3], [0, 0]])
    for p in (1.0, 3.0, 0.5, math.inf, -1.0):
        y, g = grad_of(lambda t: F.normalize(t, p, eps=1e-3), [[0.0, 0.0]], [[1.0, 2.0]])
        assert np.isfinite(g).all() and g.tolist() == [[1e3, 2e3]], p


@pytest.mark.parametrize("p", [2.0, 1.0, 3.0, 0.5, math.inf])
@given(data=st.data())
def test_normalize_gradients_match_finite_differences(p, data):
    # away from 0 (|x| kinks) and from ties (the max of the inf-norm)
    x = data.draw(tst.tensors(min_dims=1, max_dims=3, max_side=3, kinks=[0.0], min_kink_distance=0.05,
                              min_gap=1e-3))
    dim = data.draw(st.integers(-x.ndim, x.ndim - 1))
    gradcheck(lambda t: F.normalize(t, p, dim), x)


def test_normalize_second_derivatives_match_finite_differences():
    gradgradcheck(lambda t: F.normalize(t, 2.0, 1), t64(rng.normal(size=(2, 3))))
    gradgradcheck(lambda t: F.normalize(t, 3.0, 0), t64(rng.uniform(0.5, 2, size=(2, 3))))


def test_cosine_similarity_by_hand():
    # cos([1, 0], [1, 1]) = 1/sqrt(2); d/dx1 = x2 / (|x1||x2|) - cos x1 / |x1|^2 = [0, 1/sqrt(2)]
    a, b = t64([1.0, 0.0]), t64([1.0, 1.0])
    y = F.cosine_similarity(a, b, dim=0)
    y.backward()
    assert y.item() == pytest.approx(1 / math.sqrt(2), rel=1e-15)
    np.testing.assert_allclose(a.grad.numpy(), [0.0, 1 / math.sqrt(2)], atol=1e-15)
    np.testing.assert_allclose(b.grad.numpy(), [0.5 / math.sqrt(2), -0.5 / math.sqrt(2)], rtol=1e-14)


def test_cosine_similarity_below_eps_divides_by_eps():
    # a zero x1 gives 0; its gradient is x2 / (eps |x2|) (the floor sets the value, not the slope)
    a, b = t64([[0.0, 0.0]]), t64([[3.0, 4.0]])
    y = F.cosine_similarity(a, b, eps=1e-3)
    y.backward()
    assert y.item() == 0.0
    np.testing.assert_allclose(a.grad.numpy(), [[600.0, 800.0]], rtol=1e-14)
    np.testing.assert_allclose(b.grad.numpy(), [[0.0, 0.0]])


def test_cosine_similarity_broadcasts_before_reducing():
    x1, x2 = rng.normal(size=(2, 1, 3)), rng.normal(size=(4, 3))
    b1, b2 = np.broadcast_arrays(x1, x2)
    expected = (b1 * b2).sum(-1) / (np.linalg.norm(b1, axis=-1) * np.linalg.norm(b2, axis=-1))
    out = F.cosine_similarity(t64(x1), t64(x2), dim=-1)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-14)
    # dim 1 of the broadcast shape (2, 4, 3) has size 4, though x1 has size 1 there
    assert F.cosine_similarity(t64(x1), t64(x2)).shape == (2, 3)


@given(data=st.data())
def test_cosine_similarity_gradients_match_finite_differences(data):
    shapes = data.draw(tst.broadcastable_shapes(2, min_dims=1, max_dims=3, max_side=3))
    x1 = data.draw(tst.tensors(shapes.input_shapes[0]))
    x2 = data.draw(tst.tensors(shapes.input_shapes[1]))
    dim = data.draw(st.integers(-len(shapes.result_shape), len(shapes.result_shape) - 1))
    # a norm near eps is a kink of max(norm, eps): keep the vectors long
    n1 = np.linalg.norm(np.broadcast_to(x1.numpy(), shapes.result_shape), axis=dim)
    n2 = np.linalg.norm(np.broadcast_to(x2.numpy(), shapes.result_shape), axis=dim)
    if n1.min() > 1e-3 and n2.min() > 1e-3:
        gradcheck(lambda a, b: F.cosine_similarity(a, b, dim), x1, x2)


def test_cosine_similarity_second_derivatives_match_finite_differences():
    gradgradcheck(lambda a, b: F.cosine_similarity(a, b), t64(rng.normal(size=(2, 3))),
                  t64(rng.normal(size=(2, 3))))


def test_pairwise_distance_by_hand():
    a, b = t64([[0.0, 0.0]]), t64([[3.0, 4.0]])
    for p, dist, grad in [(2.0, 5.0, [-0.6, -0.8]), (1.0, 7.0, [-1.0, -1.0]), (math.inf, 4.0, [0.0, -1.0]),
                          (0.0, 2.0, None)]:
        a.grad = b.grad = None
        y = F.pairwise_distance(a, b, p, eps=0.0)
        y.sum().backward()
        assert y.shape == (1,) and y.item() == pytest.approx(dist, rel=1e-15), p
        if grad is None:        # a count of non-zeros: no gradient at all, as in PyTorch
            assert a.grad is None and b.grad is None
            continue
        np.testing.assert_allclose(a.grad.numpy(), [grad], rtol=1e-15)
        np.testing.assert_allclose(b.grad.numpy(), -np.array([grad]) + 0.0, rtol=1e-15)
    assert F.pairwise_distance(a, b, keepdim=True).shape == (1, 1)
    # eps is added to the difference: |x1 - x2 + eps| for equal points is sqrt(D) eps
    assert F.pairwise_distance(a, a).item() == pytest.approx(math.sqrt(2) * 1e-6, rel=1e-12)


@pytest.mark.parametrize("p", [2.0, 1.0, 3.0, 0.5, math.inf])
@given(data=st.data())
def test_pairwise_distance_gradients_match_finite_differences(p, data):
    x1 = data.draw(tst.tensors(min_dims=1, max_dims=2, max_side=3))
    # x1 - x2 away from 0 (|d| kinks) and without ties in |d| (the max of the inf-norm)
    d = data.draw(tst.arrays(shape=x1.shape, kinks=[0.0], min_kink_distance=0.05, min_gap=1e-3))
    x2 = t64(x1.numpy() - d)
    gradcheck(lambda a, b: F.pairwise_distance(a, b, p), x1, x2)


def test_distance_errors_name_the_shapes():
    with pytest.raises(ValueError, match=r"cosine_similarity: x1 of shape \(2, 3\) and x2 of shape \(2, 4\)"):
        F.cosine_similarity(tg.zeros(2, 3), tg.zeros(2, 4))
    with pytest.raises(ValueError, match="normalize: dim 1 is out of range"):
        F.normalize(tg.zeros(3))
    with pytest.raises(ValueError, match="cosine_similarity: dim 1 is out of range"):
        F.cosine_similarity(tg.zeros(3), tg.zeros(3))
    with pytest.raises(ValueError, match="broadcast"):
        F.pairwise_distance(tg.zeros(2, 3), tg.zeros(2, 4))
    with pytest.raises(NotImplementedError, match="out="):
        F.normalize(tg.zeros(2, 2), out=tg.zeros(2, 2))


# ----------------------------------------------------------------------------- PyTorch parity

def test_zero_entries_with_p_below_one_use_the_zero_subgradient_of_the_norm():
    # y = t / n, n = (sum |t_j|^p)^(1/p) = 9 for t = [0, 1, 4], p = 1/2. d/dt_k sum(y)
    # = 1/n - sum(t) / n^2 * dn/dt_k with dn/dt_k = n^(1-p) |t_k|^(p-1) sign(t_k), taken as 0 at
    # t_k = 0 (PyTorch's subgradient): [1/9, 1/9 - 5/81 * 3, 1/9 - 5/81 * 1.5]
    y, g = grad_of(lambda t: F.normalize(t, 0.5), [[0.0, 1.0, 4.0]])
    np.testing.assert_allclose(g, [[1 / 9, 1 / 9 - 15 / 81, 1 / 9 - 7.5 / 81]], rtol=1e-12)
