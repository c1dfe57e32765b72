"""Linear, Identity, Flatten, Unflatten, Dropout (on any shape), Embedding, and the activations as
functions and modules (relu to silu, mish, the hardtanh family, selu, celu, glu, softmin, ...):
against closed forms written out here with NumPy, numbers worked by hand and finite differences
(gradcheck over Hypothesis-drawn shapes, gradgradcheck where the maths is smooth). At the kinks
the gradient is PyTorch's choice, written out by hand. PyTorch cross-checks are in
test_nn_torch.py."""
import math

import numpy as np
import pytest
from hypothesis import given, strategies as st

import tinygrad_rnn as tg
import tinygrad_rnn.nn.functional as F
from tinygrad_rnn import nn
from tinygrad_rnn.testing import gradcheck, gradgradcheck
from tinygrad_rnn.testing import strategies as tst

rng = np.random.default_rng(1234)


def t64(*shape, grad=True, scale=1.0):
    return tg.tensor(rng.normal(size=shape) * scale, dtype=tg.float64, requires_grad=grad)


def f64(x, grad=True):
    """An array or nested list as a float64 tensor."""
    return tg.tensor(np.asarray(x, dtype=np.float64), requires_grad=grad)


def grad_of(fn, x, upstream=None):
    """d/dx sum(upstream * fn(x)) for a float64 array x."""
    t = f64(x)
    y = fn(t)
    y.backward(tg.tensor(np.ones(y.shape) if upstream is None else upstream))
    return y.numpy(), t.grad.numpy()


# ----------------------------------------------------------------------------- Linear

def test_linear_parameter_shapes_follow_pytorch():
    m = nn.Linear(5, 3)
    assert m.weight.shape == (3, 5) and m.bias.shape == (3,)


def test_linear_without_bias_has_no_bias_parameter():
    m = nn.Linear(5, 3, bias=False)
    assert m.bias is None and [n for n, _ in m.named_parameters()] == ["weight"]


def test_linear_computes_x_times_weight_transposed_plus_bias():
    m = nn.Linear(3, 2)
    m.load_state_dict({"weight": np.array([[1.0, 2.0, 3.0], [0.0, -1.0, 0.5]], np.float32),
                       "bias": np.array([0.5, -2.0], np.float32)})
    out = m(tg.tensor([[1.0, 1.0, 2.0]]))
    # by hand: [1 + 2 + 6 + 0.5, 0 - 1 + 1 - 2]
    np.testing.assert_allclose(out.numpy(), [[9.5, -2.0]])


def test_linear_applies_to_every_leading_dim():
    m = nn.Linear(4, 3)
    x = rng.normal(size=(2, 5, 4)).astype(np.float32)
    w, b = m.weight.numpy(), m.bias.numpy()
    expected = np.stack([np.stack([w @ x[i, j] + b for j in range(5)]) for i in range(2)])
    np.testing.assert_allclose(m(tg.tensor(x)).numpy(), expected, rtol=1e-5, atol=1e-6)


def test_linear_init_bound_is_one_over_sqrt_fan_in():
    tg.manual_seed(0)
    m = nn.Linear(400, 500)
    bound = 1 / math.sqrt(400)
    w, b = m.weight.numpy(), m.bias.numpy()
    assert np.abs(w).max() <= bound and np.abs(b).max() <= bound
    assert np.abs(w).max() > 0.99 * bound
    # U(-bound, bound) has variance bound^2 / 3
    assert abs(w.var() / (bound ** 2 / 3) - 1) < 0.02


def test_linear_gradients_match_finite_differences():
    x, w, b = t64(4, 3), t64(2, 3), t64(2)
    gradcheck(F.linear, x, w, b)


def test_linear_gradients_with_leading_dims_match_finite_differences():
    x, w = t64(2, 3, 3), t64(2, 3)
    gradcheck(lambda x, w: F.linear(x, w), x, w)


def test_linear_shape_mismatch_names_both_shapes():
    with pytest.raises(ValueError, match=r"linear: input of shape \(2, 4\).*weight of shape \(3, 5\)"):
        nn.Linear(5, 3)(tg.zeros(2, 4))


def test_linear_runs_on_the_device(device):
    m = nn.Linear(3, 2)
    x = tg.randn(4, 3)
    expected = m(x).numpy()
    np.testing.assert_allclose(m.to(device)(x.to(device)).numpy(), expected, rtol=1e-6)


# ----------------------------------------------------------------------------- Identity, Flatten

def test_identity_returns_its_input_and_ignores_arguments():
    x = tg.ones(2)
    assert nn.Identity(3, foo=1)(x) is x


def test_flatten_default_keeps_the_batch_dim():
    assert nn.Flatten()(tg.zeros(2, 3, 4, 5)).shape == (2, 60)


def test_flatten_start_and_end_dims():
    assert nn.Flatten(0, 1)(tg.zeros(2, 3, 4)).shape == (6, 4)
    assert nn.Flatten(1, 2)(tg.zeros(2, 3, 4, 5)).shape == (2, 12, 5)


# ----------------------------------------------------------------------------- Dropout

def test_dropout_in_eval_mode_is_the_identity():
    x = tg.randn(10, 10)
    d = nn.Dropout(0.5).eval()
    assert d(x) is x


def test_dropout_with_p_zero_is_the_identity():
    x = tg.randn(10)
    assert nn.Dropout(0.0)(x) is x


def test_dropout_scales_kept_elements_by_one_over_keep_probability():
    x = tg.ones(1000)
    out = nn.Dropout(0.2)(x).numpy()
    assert set(np.unique(out)) <= {0.0, np.float32(1 / 0.8)}


def test_dropout_zeroes_a_fraction_p_of_elements():
    n, p = 200_000, 0.3
    out = nn.Dropout(p)(tg.ones(n)).numpy()
    frac = (out == 0).mean()
    # binomial: standard deviation sqrt(p (1 - p) / n) ~ 0.001; allow five of them
    assert abs(frac - p) < 5 * math.sqrt(p * (1 - p) / n)


def test_dropout_keeps_the_mean_unchanged_in_expectation():
    out = nn.Dropout(0.5)(tg.ones(200_000)).numpy()
    assert abs(out.mean() - 1.0) < 0.01


def test_dropout_mask_repeats_after_manual_seed():
    x = tg.ones(50)
    tg.manual_seed(7)
    a = F.dropout(x, 0.5).numpy()
    tg.manual_seed(7)
    b = F.dropout(x, 0.5).numpy()
    np.testing.assert_array_equal(a, b)


def test_dropout_gradient_is_the_scaled_mask():
    x = tg.ones(100, requires_grad=True)
    out = F.dropout(x, 0.25)
    out.sum().backward()
    # d(sum)/dx = mask / (1 - p): exactly the output for an all-ones input
    np.testing.assert_array_equal(x.grad.numpy(), out.numpy())


def test_dropout_with_p_one_zeroes_everything():
    assert not F.dropout(tg.ones(10), 1.0).numpy().any()


def test_dropout_rejects_p_outside_zero_one():
    with pytest.raises(ValueError, match="between 0 and 1, but got 1.5"):
        nn.Dropout(1.5)


def test_dropout_runs_on_the_device(device):
    out = F.dropout(tg.ones(20, device=device), 0.5)
    assert out.device == device


# ----------------------------------------------------------------------------- Embedding

def test_embedding_picks_weight_rows():
    e = nn.Embedding(5, 3)
    idx = np.array([[4, 0], [2, 2]])
    np.testing.assert_array_equal(e(tg.tensor(idx)).numpy(), e.weight.numpy()[idx])


def test_embedding_init_is_standard_normal():
    tg.manual_seed(1)
    w = nn.Embedding(1000, 100).weight.numpy()
    assert abs(w.mean()) < 0.01 and abs(w.std() - 1) < 0.01


def test_embedding_padding_row_starts_at_zero():
    e = nn.Embedding(4, 3, padding_idx=1)
    assert not e.weight.numpy()[1].any() and e.weight.numpy()[0].any()


def test_embedding_negative_padding_idx_counts_from_the_end():
    assert nn.Embedding(4, 3, padding_idx=-1).padding_idx == 3


def test_embedding_repeated_indices_accumulate_gradients():
    e = nn.Embedding(4, 2)
    e(tg.tensor([1, 1, 3, 1])).sum().backward()
    # row 1 was used three times, row 3 once, rows 0 and 2 never
    np.testing.assert_array_equal(e.weight.grad.numpy(), [[0, 0], [3, 3], [0, 0], [1, 1]])


def test_embedding_padding_row_gets_no_gradient():
    e = nn.Embedding(4, 2, padding_idx=0)
    out = e(tg.tensor([[0, 2], [0, 0]]))
    (out * 5.0).sum().backward()
    np.testing.assert_array_equal(e.weight.grad.numpy(), [[0, 0], [0, 0], [5, 5], [0, 0]])


def test_embedding_gradients_match_finite_differences():
    w = t64(5, 3)
    idx = tg.tensor([[0, 3, 3], [4, 0, 1]])
    gradcheck(lambda w: F.embedding(idx, w), w)


def test_embedding_out_of_range_index_raises():
    with pytest.raises(IndexError, match=r"indices must be in \[0, 4\)"):
        nn.Embedding(4, 2)(tg.tensor([0, 4]))


def test_embedding_float_indices_raise():
    with pytest.raises(ValueError, match="integer"):
        nn.Embedding(4, 2)(tg.tensor([0.0, 1.0]))


def test_embedding_from_pretrained_uses_the_given_rows_and_freezes_them():
    w = tg.tensor([[1.0, 2.0], [3.0, 4.0]])
    e = nn.Embedding.from_pretrained(w)
    assert not e.weight.requires_grad
    np.testing.assert_array_equal(e(tg.tensor([1])).numpy(), [[3.0, 4.0]])


def test_embedding_runs_on_the_device(device):
    e = nn.Embedding(6, 2, padding_idx=0).to(device)
    e(tg.tensor([0, 5, 5], device=device)).sum().backward()
    np.testing.assert_array_equal(e.weight.grad.numpy()[[0, 5]], [[0, 0], [2, 2]])


# ----------------------------------------------------------------------------- activations

X = np.array([-3.0, -1.0, -0.25, 0.5, 2.0, 30.0])
ERF = np.vectorize(math.erf)


@pytest.mark.parametrize("module, expected", [
    (nn.ReLU(), np.maximum(X, 0)),
    (nn.LeakyReLU(), np.where(X > 0, X, 0.01 * X)),
    (nn.LeakyReLU(0.2), np.where(X > 0, X, 0.2 * X)),
    (nn.ELU(), np.where(X > 0, X, np.exp(X) - 1)),
    (nn.ELU(0.5), np.where(X > 0, X, 0.5 * (np.exp(X) - 1))),
    (nn.GELU(), X * 0.5 * (1 + ERF(X / math.sqrt(2)))),
    (nn.GELU("tanh"), 0.5 * X * (1 + np.tanh(math.sqrt(2 / math.pi) * (X + 0.044715 * X ** 3)))),
    (nn.Sigmoid(), 1 / (1 + np.exp(-X))),
    (nn.Tanh(), np.tanh(X)),
    (nn.Softplus(), np.where(X > 20, X, np.log1p(np.exp(X)))),
    (nn.Softplus(beta=2.0, threshold=1.0), np.where(2 * X > 1, X, np.log1p(np.exp(2 * X)) / 2)),
], ids=lambda v: repr(v) if isinstance(v, nn.Module) else "")
def test_activation_matches_its_formula(module, expected):
    np.testing.assert_allclose(module(tg.tensor(X, dtype=tg.float64)).numpy(), expected, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("fn", [F.relu, F.leaky_relu, F.elu, F.gelu, lambda x: F.gelu(x, "tanh"),
                                F.sigmoid, F.tanh, F.softplus, lambda x: F.softplus(x, 2.0, 1.0),
                                F.logsigmoid])
def test_activation_gradients_match_finite_differences_on_a_fixed_vector(fn):
    gradcheck(fn, tg.tensor([-2.0, -0.7, 0.3, 0.45, 1.9], dtype=tg.float64, requires_grad=True))


def test_softmax_is_exp_over_sum_along_dim():
    x = rng.normal(size=(3, 4))
    e = np.exp(x)
    np.testing.assert_allclose(nn.Softmax(dim=1)(tg.tensor(x)).numpy(), e / e.sum(1, keepdims=True))
    np.testing.assert_allclose(nn.Softmax(dim=0)(tg.tensor(x)).numpy(), e / e.sum(0, keepdims=True))


def test_log_softmax_is_x_minus_log_sum_exp():
    x = rng.normal(size=(3, 4))
    expected = x - np.log(np.exp(x).sum(1, keepdims=True))
    np.testing.assert_allclose(nn.LogSoftmax(dim=1)(tg.tensor(x)).numpy(), expected)


def test_softmax_and_log_softmax_gradients_match_finite_differences():
    x = t64(3, 4)
    gradcheck(lambda x: F.softmax(x, dim=1), x)
    gradcheck(lambda x: F.log_softmax(x, dim=0), x)


def test_softmax_without_dim_warns_and_picks_dim_one_for_2d():
    x = tg.tensor(rng.normal(size=(2, 3)))
    with pytest.warns(UserWarning, match="Implicit dimension"):
        out = nn.Softmax()(x)
    np.testing.assert_allclose(out.numpy().sum(1), [1.0, 1.0], rtol=1e-6)


def test_log_softmax_is_finite_for_extreme_logits():
    out = F.log_softmax(tg.tensor([[1e4, -1e4, 0.0]]), dim=1).numpy()
    np.testing.assert_array_equal(out, [[0.0, -2e4, -1e4]])


def test_activation_reprs_match_pytorch():
    assert repr(nn.LeakyReLU()) == "LeakyReLU(negative_slope=0.01)"
    assert repr(nn.ELU(0.5)) == "ELU(alpha=0.5)"
    assert repr(nn.GELU()) == "GELU(approximate='none')"
    assert repr(nn.Softmax(dim=1)) == "Softmax(dim=1)"
    assert repr(nn.Softplus()) == "Softplus(beta=1.0, threshold=20.0)"
    assert repr(nn.ReLU(inplace=True)) == "ReLU(inplace=True)"
    assert repr(nn.Flatten()) == "Flatten(start_dim=1, end_dim=-1)"
    assert repr(nn.Embedding(10, 3, padding_idx=0)) == "Embedding(10, 3, padding_idx=0)"


def test_one_hot_marks_each_class():
    out = F.one_hot(tg.tensor([2, 0, 1]))
    assert out.dtype == np.int64
    np.testing.assert_array_equal(out.numpy(), [[0, 0, 1], [1, 0, 0], [0, 1, 0]])


def test_one_hot_with_num_classes_and_extra_dims():
    out = F.one_hot(tg.tensor([[1], [3]]), num_classes=5)
    assert out.shape == (2, 1, 5) and out.numpy()[1, 0, 3] == 1 and out.numpy().sum() == 2


def test_one_hot_rejects_values_outside_the_classes():
    with pytest.raises(ValueError, match="smaller than num_classes"):
        F.one_hot(tg.tensor([3]), num_classes=3)
    with pytest.raises(ValueError, match="non-negative"):
        F.one_hot(tg.tensor([-1]))


def test_embedding_second_derivatives_match_finite_differences():
    idx = tg.tensor([0, 1, 1, 4])
    gradgradcheck(lambda w: F.embedding(idx, w) ** 2, t64(5, 3))


# ----------------------------------------------------------------------------- activations

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
    x = f64([-2.5, -0.7, 0.3, 1.9] if kinks else [-2.5, -0.7, 0.0, 0.3, 1.9])
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
    x = f64([-4.0, -3.0, 0.0, 1.5, 3.0, 7.0], grad=False)
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
    np.testing.assert_allclose(F.softmin(f64(x), 1).numpy(), e / e.sum(1, keepdims=True), rtol=1e-14)
    np.testing.assert_allclose(F.softmin(f64(x), 0).numpy(), e / e.sum(0, keepdims=True), rtol=1e-14)
    gradgradcheck(lambda t: F.softmin(t, 1), f64(x))
    with pytest.warns(UserWarning, match="Implicit dimension"):
        F.softmin(f64(x))
    assert F.softmin(tg.tensor(x, dtype=tg.float32), 1, dtype=tg.float64).dtype == np.float64


def test_glu_gates_the_first_half_with_the_second():
    x = rng.normal(size=(2, 6, 3))
    a, b = x[:, :3], x[:, 3:]
    np.testing.assert_allclose(F.glu(f64(x), 1).numpy(), a * _sigmoid(b), rtol=1e-14)
    np.testing.assert_allclose(F.glu(f64(x[..., :2])).numpy(), x[..., :1] * _sigmoid(x[..., 1:2]),
                               rtol=1e-14)
    gradgradcheck(lambda t: F.glu(t, 1), f64(x))


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


# ----------------------------------------------------------------------------- Unflatten

def test_unflatten_splits_one_dim():
    x = f64(rng.normal(size=(2, 12)))
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
