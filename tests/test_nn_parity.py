"""The nn.functional functions and nn modules of issue 8 (PyTorch parity): activations (silu, mish,
the hardtanh family, selu, celu, ...), normalize / cosine_similarity / pairwise_distance, the robust
and KL losses, GroupNorm, ParameterList / ParameterDict, Unflatten, and dropout on any shape.

Each is checked against closed forms written out here with NumPy, numbers worked by hand, finite
differences (gradcheck over Hypothesis-drawn shapes, gradgradcheck where the maths is smooth) and,
when it is installed, PyTorch (values, gradients, printouts, state_dict names, errors). At the
kinks the gradient is PyTorch's choice, written out by hand below.
"""
import math
import warnings
from collections import OrderedDict

import numpy as np
import pytest
from hypothesis import given, strategies as st

import tinygrad_rnn as tg
import tinygrad_rnn.nn.functional as F
from tinygrad_rnn import nn
from tinygrad_rnn.testing import gradcheck, gradgradcheck, strategies as tst

rng = np.random.default_rng(8)


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def t64(x, grad=True):
    return tg.tensor(np.asarray(x, dtype=np.float64), requires_grad=grad)


def grad_of(fn, x, upstream=None):
    """d/dx sum(upstream * fn(x)) for a float64 array x."""
    t = t64(x)
    y = fn(t)
    y.backward(tg.tensor(np.ones(y.shape) if upstream is None else upstream))
    return y.numpy(), t.grad.numpy()


# ----------------------------------------------------------------------------- activations
# name -> (function, closed form, derivative with PyTorch's choice at the kinks, kinks)

SELU_ALPHA, SELU_SCALE = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _mish_grad(x):
    tsp = np.tanh(np.log1p(np.exp(x)))
    return tsp + x * _sigmoid(x) * (1 - tsp ** 2)


ACTIVATIONS = {
    "silu": (F.silu, lambda x: x * _sigmoid(x),
             lambda x: _sigmoid(x) * (1 + x * (1 - _sigmoid(x))), ()),
    "mish": (F.mish, lambda x: x * np.tanh(np.log1p(np.exp(x))), _mish_grad, ()),
    "hardtanh": (F.hardtanh, lambda x: np.clip(x, -1, 1),
                 lambda x: ((x > -1) & (x < 1)).astype(float), (-1.0, 1.0)),
    "relu6": (F.relu6, lambda x: np.clip(x, 0, 6),
              lambda x: ((x > 0) & (x < 6)).astype(float), (0.0, 6.0)),
    "hardsigmoid": (F.hardsigmoid, lambda x: np.clip(x / 6 + 0.5, 0, 1),
                    lambda x: ((x > -3) & (x < 3)) / 6, (-3.0, 3.0)),
    "hardswish": (F.hardswish, lambda x: x * np.clip(x + 3, 0, 6) / 6,
                  lambda x: np.where(x <= -3, 0.0, np.where(x >= 3, 1.0, x / 3 + 0.5)), (-3.0, 3.0)),
    "selu": (F.selu, lambda x: SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * np.expm1(np.minimum(x, 0))),
             lambda x: SELU_SCALE * np.where(x > 0, 1.0, SELU_ALPHA * np.exp(np.minimum(x, 0))), (0.0,)),
    "celu": (lambda t: F.celu(t, 0.5), lambda x: np.where(x > 0, x, 0.5 * np.expm1(np.minimum(x, 0) / 0.5)),
             lambda x: np.where(x > 0, 1.0, np.exp(np.minimum(x, 0) / 0.5)), (0.0,)),
    "celu_negative_alpha": (lambda t: F.celu(t, -2.0),
                            lambda x: np.where(x > 0, x, -2.0 * np.expm1(np.minimum(x, 0) / -2.0)),
                            lambda x: np.where(x > 0, 1.0, np.exp(np.minimum(x, 0) / -2.0)), (0.0,)),
    "softsign": (F.softsign, lambda x: x / (1 + np.abs(x)), lambda x: 1 / (1 + np.abs(x)) ** 2, ()),
    "tanhshrink": (F.tanhshrink, lambda x: x - np.tanh(x), lambda x: np.tanh(x) ** 2, ()),
    "logsigmoid": (F.logsigmoid, lambda x: -np.log1p(np.exp(-x)), lambda x: 1 - _sigmoid(x), ()),
    "threshold": (lambda t: F.threshold(t, 0.5, -7.0), lambda x: np.where(x > 0.5, x, -7.0),
                  lambda x: (x > 0.5).astype(float), (0.5,)),
}
# every kink, points just beside them, and points far out on both sides
GRID = np.array([-9.0, -6.5, -3.0, -2.999, -1.0, -0.999, -0.5, 0.0, 1e-3, 0.5, 0.9, 1.0, 1.001, 2.5,
                 3.0, 3.001, 5.0, 6.0, 6.001, 8.0])


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_values_and_gradients_follow_the_closed_forms(name):
    fn, ref, dref, _ = ACTIVATIONS[name]
    y, g = grad_of(fn, GRID)
    np.testing.assert_allclose(y, ref(GRID), rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(g, dref(GRID), rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
@given(data=st.data())
def test_activation_gradients_match_finite_differences(name, data):
    fn, _, _, kinks = ACTIVATIONS[name]
    x = data.draw(tst.tensors(max_dims=2, max_side=3, min_value=-9.0, max_value=9.0, kinks=kinks))
    gradcheck(fn, x)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activation_second_derivatives_match_finite_differences(name):
    fn, _, _, kinks = ACTIVATIONS[name]
    x = t64([-2.5, -0.7, 0.3, 1.9] if kinks else [-2.5, -0.7, 0.0, 0.3, 1.9])
    gradgradcheck(fn, x)


def test_gradients_at_the_kinks_are_pytorchs_choice():
    # worked by hand from PyTorch's backward formulas: the hardtanh family gives 0 AT its bounds
    # (strict inequalities), hardswish gives 0 at -3 and 1 at 3, elu-like ones use the x <= 0 side
    assert grad_of(F.hardtanh, [-1.0, 1.0])[1].tolist() == [0.0, 0.0]
    assert grad_of(lambda t: F.hardtanh(t, -2.0, 3.0), [-2.0, 3.0, 2.9])[1].tolist() == [0, 0, 1]
    assert grad_of(F.relu6, [0.0, 6.0, 3.0])[1].tolist() == [0.0, 0.0, 1.0]
    assert grad_of(F.hardsigmoid, [-3.0, 3.0, 0.0])[1].tolist() == [0.0, 0.0, 1 / 6]
    assert grad_of(F.hardswish, [-3.0, 3.0, 0.0])[1].tolist() == [0.0, 1.0, 0.5]
    assert grad_of(F.selu, [0.0])[1] == pytest.approx([SELU_SCALE * SELU_ALPHA], rel=1e-15)
    assert grad_of(lambda t: F.celu(t, 2.0), [0.0])[1].tolist() == [1.0]
    assert grad_of(lambda t: F.threshold(t, 0.5, 9.0), [0.5])[1].tolist() == [0.0]
    assert grad_of(F.softsign, [0.0])[1].tolist() == [1.0]


def test_activations_by_hand():
    x = t64([-4.0, -3.0, 0.0, 1.5, 3.0, 7.0], grad=False)
    np.testing.assert_allclose(F.relu6(x).numpy(), [0, 0, 0, 1.5, 3, 6])
    np.testing.assert_allclose(F.hardsigmoid(x).numpy(), [0, 0, 0.5, 0.75, 1, 1])
    np.testing.assert_allclose(F.hardswish(x).numpy(), [0, 0, 0, 1.125, 3, 7])
    np.testing.assert_allclose(F.softsign(x).numpy(), [-0.8, -0.75, 0, 0.6, 0.75, 0.875])
    np.testing.assert_allclose(F.threshold(x, 1.5, -1.0).numpy(), [-1, -1, -1, -1, 3, 7])
    # mish(0) = 0 and mish'(0) = tanh(log 2) = 3/5; silu(0) = 0 and silu'(0) = 1/2
    assert grad_of(F.mish, [0.0])[1] == pytest.approx([0.6], rel=1e-15)
    assert grad_of(F.silu, [0.0])[1].tolist() == [0.5]


def test_mish_and_logsigmoid_stay_finite_far_out():
    y, g = grad_of(F.mish, [-1000.0, 1000.0])
    np.testing.assert_allclose(y, [0.0, 1000.0], atol=1e-300)
    np.testing.assert_allclose(g, [0.0, 1.0], atol=1e-300)
    y, g = grad_of(F.logsigmoid, [-1000.0, 1000.0])
    np.testing.assert_allclose(y, [-1000.0, 0.0])
    np.testing.assert_allclose(g, [1.0, 0.0])


def test_softmin_is_softmax_of_the_negated_input():
    x = rng.normal(size=(3, 4))
    e = np.exp(-x)
    np.testing.assert_allclose(F.softmin(t64(x), 1).numpy(), e / e.sum(1, keepdims=True), rtol=1e-14)
    np.testing.assert_allclose(F.softmin(t64(x), 0).numpy(), e / e.sum(0, keepdims=True), rtol=1e-14)
    gradgradcheck(lambda t: F.softmin(t, 1), t64(x))
    with pytest.warns(UserWarning, match="Implicit dimension"):
        F.softmin(t64(x))
    assert F.softmin(tg.tensor(x, dtype=tg.float32), 1, dtype=tg.float64).dtype == np.float64


def test_glu_gates_the_first_half_with_the_second():
    x = rng.normal(size=(2, 6, 3))
    a, b = x[:, :3], x[:, 3:]
    np.testing.assert_allclose(F.glu(t64(x), 1).numpy(), a * _sigmoid(b), rtol=1e-14)
    np.testing.assert_allclose(F.glu(t64(x[..., :2])).numpy(), x[..., :1] * _sigmoid(x[..., 1:2]),
                               rtol=1e-14)
    gradgradcheck(lambda t: F.glu(t, 1), t64(x))


@given(data=st.data())
def test_glu_gradients_match_finite_differences(data):
    shape = list(data.draw(tst.shapes(1, 3, 1, 3)))
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    shape[dim] *= 2                                     # the halved dim has an even size
    x = data.draw(tst.tensors(tuple(shape)))
    gradcheck(lambda t: F.glu(t, dim), x)


def test_activation_errors_name_the_problem():
    with pytest.raises(ValueError, match="min_val cannot be greater than max_val"):
        F.hardtanh(tg.zeros(2), 1.0, -1.0)
    with pytest.raises(AssertionError, match=r"max_val \(-1\) must be greater than min_val \(1\)"):
        nn.Hardtanh(1, -1)
    with pytest.raises(ZeroDivisionError, match="alpha cannot be 0"):
        F.celu(tg.zeros(2), 0.0)
    with pytest.raises(ValueError, match="Halving dimension must be even, but dimension 1 is size 3"):
        F.glu(tg.zeros(2, 3))
    with pytest.raises(ValueError, match="does not support scalars"):
        F.glu(tg.tensor(1.0))
    with pytest.warns(FutureWarning, match="min_value"):
        m = nn.Hardtanh(min_value=-2.0)
    assert (m.min_val, m.max_val) == (-2.0, 1.0)


@pytest.mark.parametrize("fn", [F.silu, F.mish, F.hardtanh, F.relu6, F.hardsigmoid, F.hardswish, F.selu,
                                F.celu, lambda t: F.celu(t, -1.5), F.softsign, F.tanhshrink, F.logsigmoid,
                                lambda t: F.threshold(t, 0.1, 2.0), lambda t: F.softmin(t, 1), F.glu,
                                lambda t: F.normalize(t, 3.0), lambda t: F.normalize(t, math.inf),
                                lambda t: F.cosine_similarity(t, t * 2 + 1),
                                lambda t: F.pairwise_distance(t, t * 0.5),
                                lambda t: F.pairwise_distance(t, t * 0.5, p=0.5),
                                lambda t: F.smooth_l1_loss(t, t * 0.5, beta=0.5),
                                lambda t: F.huber_loss(t, t * 0.5, delta=0.5),
                                lambda t: F.kl_div(t, t.softmax(1), reduction="batchmean"),
                                lambda t: F.group_norm(t.reshape(2, 2, 2), 2)])
def test_float32_stays_float32(fn, device):
    """Python-float constants must not promote float32 results or gradients to float64."""
    x = tg.tensor(rng.normal(size=(2, 4)), dtype=tg.float32, device=device, requires_grad=True)
    y = fn(x)
    assert y.dtype == np.float32 and y.device == x.device
    y.sum().backward()
    assert x.grad.dtype == np.float32


@pytest.mark.parametrize("fn", [F.silu, F.mish, F.hardtanh, F.relu6, F.hardsigmoid, F.hardswish, F.selu,
                                F.celu, F.softsign, F.tanhshrink, lambda t: F.threshold(t, 0.1, 2.0),
                                lambda t: F.softmin(t, 0), F.glu, F.normalize,
                                lambda t: F.cosine_similarity(t, t * t + 1),
                                lambda t: F.pairwise_distance(t, t * t, p=3.0),
                                lambda t: F.smooth_l1_loss(t, t * t, reduction="none"),
                                lambda t: F.huber_loss(t, t * t, delta=0.3, reduction="sum"),
                                lambda t: F.kl_div(t, t * t, reduction="batchmean"),
                                lambda t: F.group_norm(t.reshape(2, 4, 1), 2)])
def test_runs_on_the_device_with_the_cpu_result(fn, device):
    x = rng.normal(size=(2, 4))
    a = tg.tensor(x, requires_grad=True)
    b = tg.tensor(x, device=device, requires_grad=True)
    ya, yb = fn(a), fn(b)
    assert yb.device == tg.device(device)
    ya.sum().backward()
    yb.sum().backward()
    np.testing.assert_allclose(yb.numpy(), ya.numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(b.grad.numpy(), a.grad.numpy(), rtol=1e-12, atol=1e-14)


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


# ----------------------------------------------------------------------------- robust and KL losses

def test_smooth_l1_loss_by_hand():
    x, y = t64([0.5, 1.0, 2.0, -3.0]), t64([0.0, 0.0, 0.0, 0.0], grad=False)
    loss = F.smooth_l1_loss(x, y, reduction="none")
    # |d| < 1: d^2 / 2; else |d| - 1/2. At |d| = beta the gradient is sign(d) = d / beta
    np.testing.assert_allclose(loss.numpy(), [0.125, 0.5, 1.5, 2.5])
    loss.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [0.5, 1.0, 1.0, -1.0])
    assert F.smooth_l1_loss(x, y).item() == pytest.approx(4.625 / 4)
    assert F.smooth_l1_loss(x, y, reduction="sum").item() == pytest.approx(4.625)
    # beta = 0.5: d^2 / (2 beta) below 0.5, |d| - 0.25 above; beta = 0 is l1_loss
    np.testing.assert_allclose(F.smooth_l1_loss(x, y, reduction="none", beta=0.5).numpy(),
                               [0.25, 0.75, 1.75, 2.75])
    np.testing.assert_allclose(F.smooth_l1_loss(x, y, reduction="none", beta=0.0).numpy(), [0.5, 1, 2, 3])


def test_huber_loss_by_hand():
    x, y = t64([1.0, 2.0, 3.0, -4.0]), t64([0.0, 0.0, 0.0, 0.0], grad=False)
    loss = F.huber_loss(x, y, reduction="none", delta=2.0)
    # |d| < 2: d^2 / 2; else 2 (|d| - 1). Gradient d inside, 2 sign(d) outside, 2 at |d| = 2
    np.testing.assert_allclose(loss.numpy(), [0.5, 2.0, 4.0, 6.0])
    loss.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0, 2.0, 2.0, -2.0])
    # huber(delta) = delta * smooth_l1(beta=delta)
    np.testing.assert_allclose(loss.numpy(), 2.0 * F.smooth_l1_loss(x, y, reduction="none", beta=2.0).numpy())
    w = t64([1.0, 0.0, 2.0, 0.5], grad=False)
    assert F.huber_loss(x, y, delta=2.0, weight=w).item() == pytest.approx((0.5 + 8.0 + 3.0) / 4)


@pytest.mark.parametrize("loss", ["smooth_l1", "huber"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@given(data=st.data())
def test_robust_loss_gradients_match_finite_differences(loss, reduction, data):
    width = data.draw(st.sampled_from([0.5, 1.0, 2.0]))
    target = data.draw(tst.tensors(max_dims=2, max_side=3))
    # the difference keeps away from +-width, where the second derivative jumps
    d = data.draw(tst.arrays(shape=target.shape, kinks=[-width, width], min_kink_distance=0.05))
    x = t64(target.numpy() + d)
    if loss == "smooth_l1":
        gradcheck(lambda a, b: F.smooth_l1_loss(a, b, reduction=reduction, beta=width), x, target)
    else:
        gradcheck(lambda a, b: F.huber_loss(a, b, reduction=reduction, delta=width), x, target)


def test_robust_loss_second_derivatives_match_finite_differences():
    x, y = t64([0.3, -2.0, 1.4]), t64([0.1, 0.2, -0.3])
    gradgradcheck(lambda a, b: F.smooth_l1_loss(a, b, beta=0.5), x, y)
    gradgradcheck(lambda a, b: F.huber_loss(a, b, delta=1.5), x, y)


def test_kl_div_by_hand():
    q = np.log([[0.5, 0.5], [0.25, 0.75]])          # input: log-probabilities
    p = np.array([[0.25, 0.75], [0.0, 1.0]])       # target: probabilities, a zero among them
    x = t64(q)
    loss = F.kl_div(x, t64(p, grad=False), reduction="none")
    # p (log p - q); 0 log 0 = 0
    expected = [[0.25 * math.log(0.5), 0.75 * math.log(1.5)], [0.0, math.log(4 / 3)]]
    np.testing.assert_allclose(loss.numpy(), expected, rtol=1e-14, atol=1e-16)
    loss.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), -p)
    total = sum(map(sum, expected))
    assert F.kl_div(x, t64(p, grad=False), reduction="batchmean").item() == pytest.approx(total / 2)
    assert F.kl_div(x, t64(p, grad=False), reduction="sum").item() == pytest.approx(total)
    with pytest.warns(UserWarning, match="batchmean"):
        assert F.kl_div(x, t64(p, grad=False)).item() == pytest.approx(total / 4)
    # log-probability targets give the same divergence
    lp = np.log([[0.25, 0.75], [1e-300, 1.0]])
    np.testing.assert_allclose(F.kl_div(x, t64(lp, grad=False), reduction="none", log_target=True).numpy(),
                               expected, rtol=1e-14, atol=1e-290)


def test_kl_div_target_gradient_is_log_target_plus_one_minus_input():
    q, p = np.log([[0.2, 0.8]]), np.array([[0.3, 0.7]])
    t = t64(p)
    F.kl_div(t64(q, grad=False), t, reduction="sum").backward()
    np.testing.assert_allclose(t.grad.numpy(), np.log(p) + 1 - q, rtol=1e-14)
    # at a zero target the t log t term contributes no gradient: only -input remains
    t = t64([[0.0, 1.0]])
    F.kl_div(t64(q, grad=False), t, reduction="sum").backward()
    np.testing.assert_allclose(t.grad.numpy(), [[-q[0, 0], 1 - q[0, 1]]], rtol=1e-14)


@pytest.mark.parametrize("log_target", [False, True])
@given(data=st.data())
def test_kl_div_gradients_match_finite_differences(log_target, data):
    x = data.draw(tst.tensors(min_dims=1, max_dims=2, max_side=3, max_value=0.0, min_value=-4.0))
    lo, hi = (-4.0, 0.0) if log_target else (0.05, 1.0)
    t = data.draw(tst.tensors(shape=x.shape, min_value=lo, max_value=hi))
    reduction = data.draw(st.sampled_from(["sum", "batchmean", "none"]))
    gradcheck(lambda a, b: F.kl_div(a, b, reduction=reduction, log_target=log_target), x, t)


def test_kl_div_second_derivatives_match_finite_differences():
    x, t = t64(np.log([[0.2, 0.8], [0.6, 0.4]])), t64([[0.5, 0.5], [0.1, 0.9]])
    gradgradcheck(lambda a, b: F.kl_div(a, b, reduction="batchmean"), x, t)
    gradgradcheck(lambda a, b: F.kl_div(a, b, reduction="sum", log_target=True), x, t64(np.log(t.numpy())))


def test_loss_errors_name_the_problem():
    z = tg.zeros(2)
    with pytest.raises(ValueError, match="smooth_l1_loss does not support negative values for beta"):
        F.smooth_l1_loss(z, z, beta=-1.0)
    with pytest.raises(ValueError, match="huber_loss does not support non-positive values for delta"):
        F.huber_loss(z, z, delta=0.0)
    with pytest.raises(ValueError, match="Weights and input must have the same size"):
        F.huber_loss(z, z, weight=tg.ones(3))
    with pytest.raises(ValueError, match="batchmea is not a valid value for reduction"):
        F.kl_div(z, z, reduction="batchmea")
    with pytest.raises(ValueError, match="batchmean is not a valid value for reduction"):
        F.smooth_l1_loss(z, z, reduction="batchmean")
    with pytest.warns(UserWarning, match="different to the input size"):
        F.smooth_l1_loss(tg.zeros(2, 3), tg.zeros(3))


def test_loss_modules_hold_their_options():
    x, y = t64([0.5, 3.0]), t64([0.0, 0.0], grad=False)
    assert nn.SmoothL1Loss(beta=0.5)(x, y).item() == pytest.approx((0.25 + 2.75) / 2)
    assert nn.HuberLoss(reduction="sum", delta=2.0)(x, y).item() == pytest.approx(0.125 + 4.0)
    q = t64(np.log([[0.5, 0.5]]))
    assert nn.KLDivLoss(reduction="batchmean")(q, t64([[0.5, 0.5]])).item() == pytest.approx(0.0)
    assert nn.KLDivLoss(reduction="batchmean").reduction == "batchmean"
    with pytest.warns(UserWarning):
        assert nn.KLDivLoss(reduce=False).reduction == "none"


@pytest.mark.parametrize("target", [[1.0, 2.0, 0.0], np.array([1.0, 2.0, 0.0])])
def test_cross_entropy_with_float_class_indices_says_to_use_long(target):
    with pytest.raises(ValueError, match=r"integer dtype.*target\.long\(\).*input's shape \(3, 4\)"):
        F.cross_entropy(tg.zeros(3, 4), tg.tensor(target))
    with pytest.raises(ValueError, match=r"integer dtype.*target\.long\(\)"):
        F.nll_loss(tg.zeros(3, 4), tg.tensor(target))
    # as integers they are fine
    F.cross_entropy(tg.zeros(3, 4), tg.tensor(target).long())


def test_cross_entropy_with_float_targets_of_another_shape_says_what_shapes_fit():
    with pytest.raises(ValueError, match=r"probabilities.*input's shape \(3, 4\), got \(3, 5\).*"
                                         r"integers of shape \(3,\)"):
        F.cross_entropy(tg.zeros(3, 4), tg.zeros(3, 5))


# ----------------------------------------------------------------------------- GroupNorm

def ref_group_norm(x, g, w=None, b=None, eps=1e-5):
    n, c = x.shape[:2]
    grouped = x.reshape(n, g, c // g * int(np.prod(x.shape[2:])))
    mean = grouped.mean(-1, keepdims=True)
    var = ((grouped - mean) ** 2).mean(-1, keepdims=True)
    out = ((grouped - mean) / np.sqrt(var + eps)).reshape(x.shape)
    shape = (1, c) + (1,) * (x.ndim - 2)
    if w is not None:
        out = out * w.reshape(shape)
    if b is not None:
        out = out + b.reshape(shape)
    return out


def test_group_norm_by_hand():
    # one group of [1, 2, 3, 4]: mean 5/2, variance 5/4
    out = F.group_norm(t64([[[1.0, 2.0], [3.0, 4.0]]], grad=False), 1, eps=0.0)
    np.testing.assert_allclose(out.numpy(), [[[-1.5, -0.5], [0.5, 1.5]]] / np.sqrt(1.25), rtol=1e-15)
    # two groups of one channel each: each channel alone
    out = F.group_norm(t64([[[1.0, 3.0], [10.0, 30.0]]], grad=False), 2, eps=0.0)
    np.testing.assert_allclose(out.numpy(), [[[-1.0, 1.0], [-1.0, 1.0]]])


@pytest.mark.parametrize("shape, groups", [((2, 6, 3, 2), 3), ((3, 4), 2), ((2, 4, 5), 1), ((2, 4, 5), 4),
                                           ((0, 4, 2), 2)])
def test_group_norm_matches_the_formula(shape, groups, device):
    x, w, b = rng.normal(1, 2, size=shape), rng.normal(size=shape[1]), rng.normal(size=shape[1])
    m = nn.GroupNorm(groups, shape[1]).double().to(device)
    m.load_state_dict({"weight": w, "bias": b})
    out = m(tg.tensor(x, device=device))
    np.testing.assert_allclose(out.numpy(), ref_group_norm(x, groups, w, b), rtol=1e-12, atol=1e-13)


@given(data=st.data())
def test_group_norm_gradients_match_finite_differences(data):
    groups = data.draw(st.integers(1, 3))
    c = groups * data.draw(st.integers(1, 2))
    shape = (data.draw(st.integers(1, 2)), c) + data.draw(tst.shapes(1, 2, 2, 3))
    # distinct values: a group of (nearly) equal values has variance ~ 0, the eps regime; up to
    # 2 * 6 * 3 * 3 = 108 values, so the gap must let 108 fit into [-2, 2] (0.05 let only 80)
    x = data.draw(tst.tensors(shape, min_value=-2.0, max_value=2.0, min_gap=0.03))
    w, b = t64(rng.normal(size=c)), t64(rng.normal(size=c))
    gradcheck(lambda a, w, b: F.group_norm(a, groups, w, b), x, w, b)


def test_group_norm_second_derivatives_match_finite_differences():
    gradgradcheck(lambda a, w: F.group_norm(a, 2, w), t64(rng.normal(size=(2, 4, 2))),
                  t64(rng.normal(size=4)))


def test_group_norm_module_parameters_and_errors():
    m = nn.GroupNorm(2, 6)
    assert [(n, p.shape) for n, p in m.named_parameters()] == [("weight", (6,)), ("bias", (6,))]
    np.testing.assert_array_equal(m.weight.numpy(), np.ones(6))
    np.testing.assert_array_equal(m.bias.numpy(), np.zeros(6))
    assert list(nn.GroupNorm(2, 6, affine=False).state_dict()) == []
    assert list(nn.GroupNorm(2, 6, bias=False).state_dict()) == ["weight"]
    assert repr(m) == "GroupNorm(2, 6, eps=1e-05, affine=True, bias=True)"
    with pytest.raises(ValueError, match=r"num_channels \(6\) must be divisible by num_groups \(4\)"):
        nn.GroupNorm(4, 6)
    with pytest.raises(ValueError, match=r"divisible by num_groups, but got input of shape \(2, 6, 4\) and "
                                         r"num_groups=4"):
        F.group_norm(tg.zeros(2, 6, 4), 4)
    with pytest.raises(ValueError, match=r"weight of shape \(5,\) and input of shape \(2, 6, 4\)"):
        F.group_norm(tg.zeros(2, 6, 4), 3, tg.ones(5))
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        F.group_norm(tg.zeros(6), 3)


# ----------------------------------------------------------------------------- ParameterList / ParameterDict

class Holder(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(2, 2)
        self.plist = nn.ParameterList([tg.zeros(3), nn.Parameter(tg.ones(2, 2))])
        self.pdict = nn.ParameterDict({"scale": tg.ones(1), "shift": tg.zeros(1)})


def test_parameter_containers_register_their_parameters_by_name():
    m = Holder()
    names = [n for n, _ in m.named_parameters()]
    assert names == ["lin.weight", "lin.bias", "plist.0", "plist.1", "pdict.scale", "pdict.shift"]
    assert list(m.state_dict()) == names
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in m.parameters())
    # a tensor put in becomes a Parameter over the same data
    t = tg.zeros(2)
    pl = nn.ParameterList([t])
    assert isinstance(pl[0], nn.Parameter) and pl[0].array is t.array


def test_parameter_list_behaves_like_a_list():
    pl = nn.ParameterList()
    pl.append(tg.ones(1))
    pl.extend([tg.ones(2), tg.ones(3)])
    pl += [tg.ones(4)]
    assert len(pl) == 4 and [p.shape for p in pl] == [(1,), (2,), (3,), (4,)]
    assert pl[-1].shape == (4,) and isinstance(pl[1:3], nn.ParameterList) and len(pl[1:3]) == 2
    pl[0] = tg.zeros(5)
    assert isinstance(pl[0], nn.Parameter) and pl[0].shape == (5,)
    pl.append("not a tensor")          # kept, but not a parameter (as PyTorch)
    assert pl[4] == "not a tensor" and len(list(pl.parameters())) == 4
    with pytest.raises(IndexError, match="out of range"):
        pl[5]
    with pytest.raises(TypeError, match="extend should be called with an iterable, but got Tensor"):
        pl.extend(tg.zeros(2))
    with pytest.raises(RuntimeError, match="should not be called"):
        pl()


def test_parameter_dict_behaves_like_a_dict():
    pd = nn.ParameterDict({"b": tg.ones(1), "a": tg.ones(2)})
    assert list(pd) == ["a", "b"]                       # a plain dict is sorted, as PyTorch
    pd.update(OrderedDict([("z", tg.ones(3)), ("c", tg.ones(4))]))
    assert list(pd.keys()) == ["a", "b", "z", "c"]      # an OrderedDict keeps its order
    pd.update([("d", tg.ones(5))])
    assert "d" in pd and len(pd) == 5 and isinstance(pd["d"], nn.Parameter)
    assert pd.get("nope", 7) == 7 and pd.pop("d").shape == (5,) and "d" not in pd
    assert pd.popitem()[0] == "c" and pd.setdefault("e", tg.zeros(1)).shape == (1,)
    del pd["e"]
    assert [k for k, _ in pd.items()] == ["a", "b", "z"] and len(list(pd.values())) == 3
    merged = pd | {"y": tg.ones(1)}
    assert list(merged) == ["a", "b", "z", "y"] and list(pd) == ["a", "b", "z"]
    assert pd.copy()["a"] is pd["a"]
    assert [n for n, _ in pd.named_parameters()] == ["a", "b", "z"]
    pd.clear()
    assert len(pd) == 0 and list(pd.parameters()) == []


def test_parameter_dict_errors():
    pd = nn.ParameterDict()
    with pytest.raises(TypeError, match="not a string"):
        pd[1] = tg.zeros(1)
    with pytest.raises(KeyError):
        pd["missing"]
    with pytest.raises(TypeError, match="iterable of key/value pairs, but got int"):
        pd.update(5)
    with pytest.raises(ValueError, match="element #0 has length 3; 2 is required"):
        pd.update([("a", tg.zeros(1), 3)])
    with pytest.raises(KeyError, match="already exists"):
        pd["forward"] = tg.zeros(1)


def test_parameter_containers_train_with_an_optimizer():
    m = Holder()
    loss = m.plist[0].sum() * 2 + (m.pdict["scale"] * 3).sum()
    loss.backward()
    np.testing.assert_array_equal(m.plist[0].grad.numpy(), [2, 2, 2])
    np.testing.assert_array_equal(m.pdict["scale"].grad.numpy(), [3])
    tg.optim.SGD(m.parameters(), lr=0.5).step()
    np.testing.assert_array_equal(m.plist[0].numpy(), [-1, -1, -1])
    np.testing.assert_array_equal(m.pdict["scale"].numpy(), [-0.5])
    m.double()
    assert m.plist[1].dtype == np.float64 and m.pdict["shift"].dtype == np.float64


def test_parameter_container_printouts():
    pl = nn.ParameterList([tg.zeros(2, 3), tg.zeros(4, dtype=tg.float64)])
    pl.append(3)
    assert repr(pl) == ("ParameterList(\n"
                        "    (0): Parameter containing: [float32 of size 2x3]\n"
                        "    (1): Parameter containing: [float64 of size 4]\n"
                        "    (2): Object of type: int\n)")
    assert repr(nn.ParameterDict({"x": tg.ones(1)})) == \
        "ParameterDict(  (x): Parameter containing: [float32 of size 1])"
    assert repr(nn.ParameterList()) == "ParameterList()"


# ----------------------------------------------------------------------------- Unflatten

def test_unflatten_splits_one_dim():
    x = t64(rng.normal(size=(2, 12)))
    y = nn.Unflatten(1, (3, -1))(x)
    assert y.shape == (2, 3, 4)
    np.testing.assert_array_equal(y.numpy(), x.numpy().reshape(2, 3, 4))
    assert nn.Unflatten(-1, [2, 2, 3])(x).shape == (2, 2, 2, 3)
    assert nn.Unflatten(0, (1, 2))(x).shape == (1, 2, 12)
    # Flatten undoes it, and the gradient comes back in the input's shape
    np.testing.assert_array_equal(nn.Flatten()(y).numpy(), x.numpy())
    gradcheck(lambda t: nn.Unflatten(1, (2, 6))(t) * 2, x)
    assert repr(nn.Unflatten(1, (3, -1))) == "Unflatten(dim=1, unflattened_size=(3, -1))"


def test_unflatten_errors():
    with pytest.raises(TypeError, match="must be a tuple of ints, but found type int"):
        nn.Unflatten(1, 5)
    with pytest.raises(TypeError, match="found element of type float at pos 1"):
        nn.Unflatten(1, (2, 3.0))
    with pytest.raises(ValueError, match=r"sizes \[2, 3\] don't multiply up to the size of dim 1 \(7\)"):
        nn.Unflatten(1, (2, 3))(tg.zeros(2, 7))
    with pytest.raises(ValueError, match=r"Provided sizes \[2, -1\] don't multiply up"):
        nn.Unflatten(1, (2, -1))(tg.zeros(2, 7))
    with pytest.raises(ValueError, match=r"Provided sizes \[-1, -1\] don't multiply up"):
        nn.Unflatten(1, (-1, -1))(tg.zeros(2, 8))
    with pytest.raises(ValueError, match="dim 3 is out of range"):
        nn.Unflatten(3, (2, 2))(tg.zeros(2, 4))


# ----------------------------------------------------------------------------- dropout on any shape

@pytest.mark.parametrize("shape", [(), (0,), (7,), (2, 3, 4, 5), (1, 2, 1, 2, 1, 2)])
def test_dropout_works_on_any_shape(shape, device):
    x = tg.ones(shape, device=device, requires_grad=True)
    y = F.dropout(x, 0.5)
    assert y.shape == x.shape and y.dtype == np.float32 and y.device == x.device
    assert set(np.unique(y.numpy())) <= {0.0, 2.0}       # kept entries scaled by 1 / (1 - p)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), y.numpy())    # the gradient is the same mask
    assert F.dropout(x, 0.5, training=False) is x
    assert nn.Dropout(0.5)(x).shape == x.shape


def test_dropout_keeps_about_one_minus_p_of_a_large_input():
    tg.manual_seed(3)
    y = F.dropout(tg.ones(4, 50, 50), 0.3).numpy()
    # 10,000 Bernoulli(0.7) draws: the kept fraction is 0.7 +- 0.005 (one standard deviation)
    assert abs((y > 0).mean() - 0.7) < 0.025


# ----------------------------------------------------------------------------- PyTorch parity

KINKY = np.concatenate([GRID, rng.normal(0, 4, size=20)])


@pytest.mark.parametrize("name, kwargs", [("silu", {}), ("mish", {}), ("hardtanh", {}),
                                          ("hardtanh", {"min_val": -2.0, "max_val": 3.0}), ("relu6", {}),
                                          ("hardsigmoid", {}), ("hardswish", {}), ("selu", {}),
                                          ("celu", {}), ("celu", {"alpha": 0.5}), ("celu", {"alpha": -2.0}),
                                          ("softsign", {}), ("tanhshrink", {}), ("logsigmoid", {}),
                                          ("threshold", {"threshold": 0.5, "value": -7.0}),
                                          ("threshold", {"threshold": 3.0, "value": 3.0})])
def test_activations_match_pytorch_values_and_gradients(torch, name, kwargs):
    ours, theirs = getattr(F, name), getattr(torch.nn.functional, name)
    g = rng.normal(size=KINKY.shape)
    a, b = t64(KINKY), torch.tensor(KINKY, requires_grad=True)
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


def _parity(torch, ours, theirs, arrays, rtol=1e-12, atol=1e-14):
    a = [t64(x) for x in arrays]
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
def test_norms_and_distances_match_pytorch(torch, p):
    TF = torch.nn.functional
    x = rng.normal(size=(4, 5))
    if not 0 < p < 1:           # (zero entries with 0 < p < 1: see the next test)
        x[2] = 0.0              # a zero vector: the eps floor (and zero entries along dim 0)
        x[3, :2] = 0.0          # zero entries: |x| kinks, infinite |x|^p for p < 0
    y = rng.normal(size=(4, 5))
    _parity(torch, lambda t: F.normalize(t, p), lambda t: TF.normalize(t, p), [x])
    _parity(torch, lambda t: F.normalize(t, p, 0, 1e-3), lambda t: TF.normalize(t, p, 0, 1e-3), [x])
    _parity(torch, lambda a, b: F.pairwise_distance(a, b, p), lambda a, b: TF.pairwise_distance(a, b, p),
            [x, y])
    _parity(torch, lambda a, b: F.pairwise_distance(a, b, p, 1e-3, True),
            lambda a, b: TF.pairwise_distance(a, b, p, 1e-3, True), [x, y[0]])


def test_zero_entries_with_p_below_one_use_the_zero_subgradient_of_the_norm():
    # y = t / n, n = (sum |t_j|^p)^(1/p) = 9 for t = [0, 1, 4], p = 1/2. d/dt_k sum(y)
    # = 1/n - sum(t) / n^2 * dn/dt_k with dn/dt_k = n^(1-p) |t_k|^(p-1) sign(t_k), taken as 0 at
    # t_k = 0 (PyTorch's subgradient): [1/9, 1/9 - 5/81 * 3, 1/9 - 5/81 * 1.5]
    y, g = grad_of(lambda t: F.normalize(t, 0.5), [[0.0, 1.0, 4.0]])
    np.testing.assert_allclose(g, [[1 / 9, 1 / 9 - 15 / 81, 1 / 9 - 7.5 / 81]], rtol=1e-12)


def test_cosine_similarity_matches_pytorch_also_below_eps(torch):
    TF = torch.nn.functional
    x1, x2 = rng.normal(size=(5, 4)), rng.normal(size=(4,))
    x1[0] = 0.0        # zero vector
    x1[1] *= 1e-10     # norm below eps: the floor sets the value, the norm the gradient
    _parity(torch, lambda a, b: F.cosine_similarity(a, b, -1), lambda a, b: TF.cosine_similarity(a, b, -1),
            [x1, x2], rtol=1e-12, atol=0)
    _parity(torch, lambda a, b: F.cosine_similarity(a, b), lambda a, b: TF.cosine_similarity(a, b),
            [rng.normal(size=(2, 1, 3)), rng.normal(size=(2, 4, 3))])


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_losses_match_pytorch(torch, reduction):
    TF = torch.nn.functional
    x = rng.normal(size=(4, 5))
    t = rng.normal(size=(4, 5))
    t[0] = x[0] - [1.0, -1.0, 0.5, -0.5, 2.0]       # differences at the kinks for width 1 and 0.5
    for beta in (1.0, 0.5, 0.0):
        _parity(torch, lambda a, b: F.smooth_l1_loss(a, b, reduction=reduction, beta=beta),
                lambda a, b: TF.smooth_l1_loss(a, b, reduction=reduction, beta=beta), [x, t])
    for delta in (1.0, 0.5, 2.0):
        _parity(torch, lambda a, b: F.huber_loss(a, b, reduction=reduction, delta=delta),
                lambda a, b: TF.huber_loss(a, b, reduction=reduction, delta=delta), [x, t])
    w = rng.uniform(size=(4, 5))
    _parity(torch, lambda a, b: F.huber_loss(a, b, reduction=reduction, weight=tg.tensor(w)),
            lambda a, b: TF.huber_loss(a, b, reduction=reduction, weight=torch.tensor(w)), [x, t])


@pytest.mark.parametrize("reduction", ["none", "mean", "sum", "batchmean"])
def test_kl_div_matches_pytorch(torch, reduction):
    TF = torch.nn.functional
    q = np.log(rng.dirichlet(np.ones(5), size=4))
    p = rng.dirichlet(np.ones(5), size=4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")     # reduction="mean" warns in both
        _parity(torch, lambda a, b: F.kl_div(a, b, reduction=reduction),
                lambda a, b: TF.kl_div(a, b, reduction=reduction), [q, p])
        _parity(torch, lambda a, b: F.kl_div(a, b, reduction=reduction, log_target=True),
                lambda a, b: TF.kl_div(a, b, reduction=reduction, log_target=True), [q, np.log(p)])
        p[0, 0] = 0.0   # a zero target: same value and input gradient (the target's differs, see docs)
        _parity(torch, lambda a: F.kl_div(a, tg.tensor(p), reduction=reduction),
                lambda a: TF.kl_div(a, torch.tensor(p), reduction=reduction), [q])


def test_functions_match_pytorch(torch):
    TF = torch.nn.functional
    x = rng.normal(size=(3, 6, 2))
    _parity(torch, lambda t: F.glu(t, 1), lambda t: TF.glu(t, 1), [x])
    _parity(torch, lambda t: F.softmin(t, 2), lambda t: TF.softmin(t, 2), [x])
    _parity(torch, lambda t, w, b: F.group_norm(t, 3, w, b), lambda t, w, b: TF.group_norm(t, 3, w, b),
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
def test_modules_match_pytorch(torch, make, shape):
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
    a, b = t64(x), torch.tensor(x, requires_grad=True)
    ya, yb = ours(a), theirs(b)
    g = rng.normal(size=yb.shape)
    ya.backward(tg.tensor(g))
    yb.backward(torch.tensor(g))
    rtol = 1e-7 if isinstance(ours, nn.Hardsigmoid) else 1e-12   # see the activation parity test
    np.testing.assert_allclose(ya.numpy(), yb.detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=rtol, atol=1e-14)
    for (_, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-12, atol=1e-14)


def test_module_printouts_with_options_match_pytorch(torch):
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
def test_two_input_modules_match_pytorch(torch, make):
    ours, theirs = make(nn), make(torch.nn)
    assert repr(ours) == repr(theirs)
    x1, x2 = -np.abs(rng.normal(size=(3, 4))), rng.uniform(0.1, 1, size=(3, 4))
    _parity(torch, ours, theirs, [x1, x2])


def test_parameter_containers_match_pytorch(torch):
    class Theirs(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = torch.nn.Linear(2, 2)
            self.plist = torch.nn.ParameterList([torch.zeros(3), torch.nn.Parameter(torch.ones(2, 2))])
            self.pdict = torch.nn.ParameterDict({"shift": torch.zeros(1), "scale": torch.ones(1)})

    ours, theirs = Holder(), Theirs()
    assert [(k, tuple(v.shape)) for k, v in ours.state_dict().items()] == \
        [(k, tuple(v.shape)) for k, v in theirs.state_dict().items()]
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    # the printouts differ only in how a dtype is spelled: PyTorch writes torch.float32 in a
    # ParameterList and torch.FloatTensor in a ParameterDict, we write float32 in both
    theirs_repr = repr(theirs).replace("torch.FloatTensor", "float32").replace("torch.", "")
    assert repr(ours).replace("Holder", "Theirs") == theirs_repr
