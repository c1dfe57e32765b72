"""Linear, Identity, Flatten, Dropout, Embedding and the activation modules, against formulas
written out here with NumPy and against finite differences."""
import math

import numpy as np
import pytest

import tinygrad_rnn as tg
import tinygrad_rnn.nn.functional as F
from tinygrad_rnn import nn
from tinygrad_rnn.testing import gradcheck, gradgradcheck

rng = np.random.default_rng(1234)


def t64(*shape, grad=True, scale=1.0):
    return tg.tensor(rng.normal(size=shape) * scale, dtype=tg.float64, requires_grad=grad)


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
def test_activation_gradients_match_finite_differences(fn):
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
