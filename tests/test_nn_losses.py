"""Losses against numbers worked by hand, a per-sample NumPy reference written here from PyTorch's
documented formulas, and finite differences; plus stability at extreme inputs."""
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_rnn as tg
import tinygrad_rnn.nn.functional as F
from tinygrad_rnn import nn
from tinygrad_rnn.testing import gradcheck, gradgradcheck
from tinygrad_rnn.testing import strategies as tst

rng = np.random.default_rng(2024)


def t64(x, grad=True):
    return tg.tensor(np.asarray(x, dtype=np.float64), requires_grad=grad)


def ref_cross_entropy(logits, target, weight=None, ignore_index=-100, reduction="mean", smoothing=0.0):
    """One sample at a time, straight from the documented formula (classes in axis 1)."""
    x = np.moveaxis(logits, 1, -1).reshape(-1, logits.shape[1]) if logits.ndim > 1 else logits[None]
    t = np.asarray(target).reshape(-1)
    c = x.shape[1]
    w = np.ones(c) if weight is None else weight
    losses, denom = [], 0.0
    for row, y in zip(x, t):
        if y == ignore_index:
            losses.append(0.0)
            continue
        logp = row - np.log(np.sum(np.exp(row - row.max()))) - row.max()
        nll = -w[y] * logp[y]
        smooth = -np.sum(w * logp)
        losses.append((1 - smoothing) * nll + smoothing / c * smooth)
        denom += w[y]
    losses = np.array(losses)
    if reduction == "none":
        return losses.reshape(np.shape(target))
    if reduction == "sum":
        return losses.sum()
    return losses.sum() / denom if denom else math.nan     # every target ignored: 0 / 0


# ----------------------------------------------------------------------------- regression losses

def test_mse_loss_by_hand():
    x, y = tg.tensor([1.0, 2.0, 3.0]), tg.tensor([1.0, 0.0, 5.0])
    # squared differences 0, 4, 4
    assert F.mse_loss(x, y).item() == pytest.approx(8 / 3)
    assert F.mse_loss(x, y, reduction="sum").item() == pytest.approx(8.0)
    np.testing.assert_array_equal(F.mse_loss(x, y, reduction="none").numpy(), [0, 4, 4])


def test_l1_loss_by_hand():
    x, y = tg.tensor([1.0, 2.0, 3.0]), tg.tensor([1.0, 0.0, 5.5])
    assert F.l1_loss(x, y).item() == pytest.approx(4.5 / 3)
    np.testing.assert_array_equal(F.l1_loss(x, y, reduction="none").numpy(), [0, 2, 2.5])


def test_l1_loss_gradient_is_the_sign_and_zero_at_equality():
    x = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    F.l1_loss(x, tg.tensor([1.0, 0.0, 5.0]), reduction="sum").backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 1.0, -1.0])


def test_regression_loss_gradients_match_finite_differences():
    x, y = t64(rng.normal(size=(3, 4))), t64(rng.normal(size=(3, 4)))
    gradcheck(F.mse_loss, x, y)
    gradcheck(lambda a, b: F.l1_loss(a, b, reduction="none"), x, y)


def test_regression_loss_warns_when_shapes_differ():
    with pytest.warns(UserWarning, match="different to the input size"):
        F.mse_loss(tg.zeros(3, 1), tg.zeros(3))


def test_invalid_reduction_raises():
    with pytest.raises(ValueError, match="not a valid value for reduction"):
        F.mse_loss(tg.zeros(2), tg.zeros(2), reduction="avg")


# ----------------------------------------------------------------------------- cross-entropy

def test_cross_entropy_by_hand():
    # row 0: uniform over 3 classes -> ln 3; row 1: softmax [1/6, 2/6, 3/6], target 2 -> ln 2
    logits = tg.tensor([[0.0, 0.0, 0.0], [0.0, math.log(2), math.log(3)]], dtype=tg.float64)
    target = tg.tensor([1, 2])
    assert F.cross_entropy(logits, target).item() == pytest.approx((math.log(3) + math.log(2)) / 2)
    np.testing.assert_allclose(F.cross_entropy(logits, target, reduction="none").numpy(),
                               [math.log(3), math.log(2)])


def test_cross_entropy_weighted_mean_divides_by_the_target_weights():
    logits = tg.tensor([[0.0, math.log(3)], [0.0, math.log(3)], [1.0, 2.0]], dtype=tg.float64)
    target = tg.tensor([0, 1, -100])
    w = tg.tensor([1.0, 3.0], dtype=tg.float64)
    # p = [1/4, 3/4]; losses 1 * ln 4 and 3 * ln(4/3); the ignored third sample adds no weight
    expected = (math.log(4) + 3 * math.log(4 / 3)) / (1 + 3)
    assert F.cross_entropy(logits, target, weight=w).item() == pytest.approx(expected)


def test_cross_entropy_label_smoothing_by_hand():
    logits = tg.tensor([[0.0, math.log(3)]], dtype=tg.float64)
    # p = [1/4, 3/4]; smoothed target for class 0 with e = 0.2 over C = 2: [0.9, 0.1]
    expected = -(0.9 * math.log(1 / 4) + 0.1 * math.log(3 / 4))
    assert F.cross_entropy(logits, tg.tensor([0]), label_smoothing=0.2).item() == pytest.approx(expected)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("smoothing", [0.0, 0.3])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("shape", [(6, 4), (3, 4, 2, 3), (4,)])
def test_cross_entropy_matches_the_per_sample_reference(shape, weighted, smoothing, reduction):
    logits = rng.normal(0, 2, size=shape)
    c = shape[1] if len(shape) > 1 else shape[0]
    tshape = (shape[0],) + shape[2:] if len(shape) > 1 else ()
    target = rng.integers(0, c, size=tshape)
    if target.ndim:
        target.flat[0] = -100   # one padded position
    weight = rng.uniform(0.5, 2.0, c) if weighted else None
    out = F.cross_entropy(tg.tensor(logits), tg.tensor(target),
                          weight=None if weight is None else tg.tensor(weight), reduction=reduction,
                          label_smoothing=smoothing)
    expected = ref_cross_entropy(logits, target, weight, reduction=reduction, smoothing=smoothing)
    assert out.shape == np.shape(expected)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12, atol=1e-12)


def test_cross_entropy_ignored_positions_get_zero_gradient():
    x = t64(rng.normal(size=(3, 4)))
    F.cross_entropy(x, tg.tensor([1, -100, 2])).backward()
    np.testing.assert_array_equal(x.grad.numpy()[1], np.zeros(4))


def test_cross_entropy_custom_ignore_index():
    x = t64(rng.normal(size=(2, 3)))
    full = F.cross_entropy(x, tg.tensor([1, 2]), reduction="none").numpy()
    assert F.cross_entropy(x, tg.tensor([1, 2]), ignore_index=2).item() == pytest.approx(full[0])


def test_cross_entropy_with_every_target_ignored_is_nan():
    assert math.isnan(F.cross_entropy(tg.zeros(2, 3), tg.tensor([-100, -100])).item())


def test_cross_entropy_gradients_match_finite_differences():
    x = t64(rng.normal(size=(4, 3, 2)))
    target = tg.tensor([[0, 2], [1, -100], [2, 2], [0, 1]])
    w = tg.tensor([0.5, 1.0, 2.0], dtype=tg.float64)
    gradcheck(lambda x: F.cross_entropy(x, target, weight=w, label_smoothing=0.1), x)
    gradcheck(lambda x: F.cross_entropy(x, target, reduction="none"), x)


def test_cross_entropy_second_derivatives_match_finite_differences():
    x = t64(rng.normal(size=(3, 4)))
    gradgradcheck(lambda x: F.cross_entropy(x, tg.tensor([0, 3, 1])), x)


def test_cross_entropy_with_one_hot_probabilities_equals_index_targets():
    x = tg.tensor(rng.normal(size=(5, 4)))
    y = np.array([0, 3, 1, 1, 2])
    probs = np.eye(4)[y]
    np.testing.assert_allclose(F.cross_entropy(x, tg.tensor(probs, dtype=tg.float32)).numpy(),
                               F.cross_entropy(x, tg.tensor(y)).numpy(), rtol=1e-6)


def test_cross_entropy_probability_targets_by_formula():
    x = rng.normal(size=(3, 4, 2))
    p = rng.dirichlet(np.ones(4), size=(3, 2)).transpose(0, 2, 1)      # classes in dim 1
    w = rng.uniform(0.5, 2, 4)
    logp = x - np.log(np.exp(x).sum(1, keepdims=True))
    q = p * 0.8 + 0.2 / 4                                               # label smoothing 0.2
    per_sample = -(logp * q * w[None, :, None]).sum(1)
    out = F.cross_entropy(tg.tensor(x), tg.tensor(p), weight=tg.tensor(w), label_smoothing=0.2)
    # mean over the 3 * 2 samples, not over the weights
    assert out.item() == pytest.approx(per_sample.mean(), rel=1e-12)


def test_cross_entropy_probability_target_gradients_match_finite_differences():
    x = t64(rng.normal(size=(3, 4)))
    p = t64(rng.dirichlet(np.ones(4), size=3))
    gradcheck(lambda x, p: F.cross_entropy(x, p), x, p)


def test_cross_entropy_is_finite_for_extreme_logits():
    x = tg.tensor([[1e4, -1e4], [-1e4, 1e4]], requires_grad=True)
    loss = F.cross_entropy(x, tg.tensor([1, 1]))
    loss.backward()
    # sample 0: log-probability of class 1 is -2e4; sample 1 is right with certainty
    assert loss.item() == pytest.approx(1e4)
    np.testing.assert_allclose(x.grad.numpy(), [[0.5, -0.5], [0.0, 0.0]])


def test_cross_entropy_target_out_of_range_raises():
    with pytest.raises(IndexError, match="target 5 is out of bounds for 3 classes"):
        F.cross_entropy(tg.zeros(2, 3), tg.tensor([0, 5]))


def test_cross_entropy_target_shape_mismatch_names_both_shapes():
    with pytest.raises(ValueError, match=r"expected target of shape \(2,\).*\(2, 3\).*got \(3,\)"):
        F.cross_entropy(tg.zeros(2, 3), tg.tensor([0, 1, 2]))


def test_cross_entropy_on_the_device(device):
    x = tg.randn(4, 3, device=device, requires_grad=True)
    loss = F.cross_entropy(x, tg.tensor([0, 1, 2, -100], device=device), label_smoothing=0.1,
                           weight=tg.ones(3, device=device))
    loss.backward()
    assert loss.device == device and x.grad.device == device


# ----------------------------------------------------------------------------- nll_loss

def test_nll_loss_picks_minus_the_target_entry():
    logp = tg.tensor([[-1.0, -2.0, -3.0], [-0.5, -0.25, -4.0]])
    np.testing.assert_array_equal(F.nll_loss(logp, tg.tensor([2, 1]), reduction="none").numpy(), [3.0, 0.25])
    assert F.nll_loss(logp, tg.tensor([2, 1])).item() == pytest.approx(1.625)


def test_nll_loss_with_extra_dims_and_weights():
    logp = rng.normal(size=(2, 3, 4))
    target = rng.integers(0, 3, size=(2, 4))
    w = np.array([0.2, 1.0, 3.0])
    picked = np.array([[-w[target[n, k]] * logp[n, target[n, k], k] for k in range(4)] for n in range(2)])
    out = F.nll_loss(tg.tensor(logp), tg.tensor(target), weight=tg.tensor(w))
    assert out.item() == pytest.approx(picked.sum() / w[target].sum(), rel=1e-12)


def test_nll_loss_ignores_an_ignored_row_holding_minus_infinity():
    logp = tg.tensor([[-math.inf, 0.0], [-0.5, -1.0]], requires_grad=True)
    loss = F.nll_loss(logp, tg.tensor([-100, 1]))
    loss.backward()
    assert loss.item() == 1.0
    np.testing.assert_array_equal(logp.grad.numpy(), [[0.0, 0.0], [0.0, -1.0]])


def test_cross_entropy_with_masked_logits_is_finite():
    x = tg.tensor([[0.0, -math.inf, 0.0]], requires_grad=True)
    loss = F.cross_entropy(x, tg.tensor([2]))
    loss.backward()
    assert loss.item() == pytest.approx(math.log(2))
    np.testing.assert_allclose(x.grad.numpy(), [[0.5, 0.0, -0.5]])


def test_nll_loss_gradients_match_finite_differences():
    x = t64(rng.normal(size=(3, 4)))
    gradcheck(lambda x: F.nll_loss(x, tg.tensor([3, -100, 0]), reduction="sum"), x)


def test_nll_loss_rejects_float_targets():
    with pytest.raises(ValueError, match="integer dtype"):
        F.nll_loss(tg.zeros(2, 3), tg.tensor([0.0, 1.0]))


# ----------------------------------------------------------------------------- binary cross-entropy

def test_bce_by_hand():
    x, y = tg.tensor([0.8, 0.8]), tg.tensor([1.0, 0.0])
    np.testing.assert_allclose(F.binary_cross_entropy(x, y, reduction="none").numpy(),
                               [-math.log(0.8), -math.log(0.2)], rtol=1e-6)


def test_bce_clamps_logs_at_minus_100():
    x, y = tg.tensor([0.0, 1.0, 1.0]), tg.tensor([1.0, 0.0, 1.0])
    np.testing.assert_allclose(F.binary_cross_entropy(x, y, reduction="none").numpy(), [100.0, 100.0, 0.0])


def test_bce_gradient_is_finite_at_zero_and_one():
    x = tg.tensor([0.0, 1.0], requires_grad=True)
    F.binary_cross_entropy(x, tg.tensor([1.0, 0.0]), reduction="sum").backward()
    # (x - y) / max(x (1 - x), 1e-12), as PyTorch
    np.testing.assert_allclose(x.grad.numpy(), [-1e12, 1e12], rtol=1e-6)


def test_bce_weight_broadcasts_over_the_batch():
    x, y = tg.tensor([[0.5, 0.25]]).expand(3, 2), tg.ones(3, 2)
    out = F.binary_cross_entropy(x, y, weight=tg.tensor([2.0, 1.0]), reduction="sum")
    assert out.item() == pytest.approx(3 * (2 * math.log(2) + math.log(4)), rel=1e-6)


def test_bce_gradients_match_finite_differences():
    x, y = t64(rng.uniform(0.1, 0.9, (3, 2))), t64(rng.uniform(0, 1, (3, 2)))
    w = tg.tensor(rng.uniform(0.5, 2, (3, 2)), dtype=tg.float64)
    gradcheck(lambda x, y: F.binary_cross_entropy(x, y, weight=w), x, y)


def test_bce_rejects_inputs_outside_zero_one():
    with pytest.raises(ValueError, match="between 0 and 1"):
        F.binary_cross_entropy(tg.tensor([1.5]), tg.tensor([1.0]))


def test_bce_rejects_a_target_of_another_shape():
    with pytest.raises(ValueError, match="same size"):
        F.binary_cross_entropy(tg.tensor([[0.5]]), tg.tensor([1.0]))


def test_bce_with_logits_equals_bce_of_sigmoid_for_moderate_logits():
    x, y = rng.normal(size=(4, 3)), rng.uniform(0, 1, (4, 3))
    s = 1 / (1 + np.exp(-x))
    expected = -(y * np.log(s) + (1 - y) * np.log(1 - s))
    np.testing.assert_allclose(F.binary_cross_entropy_with_logits(tg.tensor(x), tg.tensor(y),
                                                                  reduction="none").numpy(), expected, rtol=1e-12)


def test_bce_with_logits_pos_weight_weighs_the_positive_term():
    x, y = rng.normal(size=(4, 3)), rng.uniform(0, 1, (4, 3))
    pw = np.array([1.0, 2.0, 5.0])
    s = 1 / (1 + np.exp(-x))
    expected = -(pw * y * np.log(s) + (1 - y) * np.log(1 - s))
    out = F.binary_cross_entropy_with_logits(tg.tensor(x), tg.tensor(y), pos_weight=tg.tensor(pw), reduction="none")
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12)


def test_bce_with_logits_is_finite_for_extreme_logits():
    x = tg.tensor([1e4, -1e4, 1e4, -1e4], requires_grad=True)
    y = tg.tensor([1.0, 1.0, 0.0, 0.0])
    loss = F.binary_cross_entropy_with_logits(x, y, reduction="none")
    loss.sum().backward()
    np.testing.assert_allclose(loss.numpy(), [0.0, 1e4, 1e4, 0.0])
    np.testing.assert_allclose(x.grad.numpy(), [0.0, -1.0, 1.0, 0.0])   # sigmoid(x) - y


def test_bce_with_logits_gradients_match_finite_differences():
    x, y = t64(rng.normal(0, 3, (3, 2))), t64(rng.uniform(0, 1, (3, 2)))
    pw, w = tg.tensor([0.5, 3.0], dtype=tg.float64), tg.tensor([[2.0], [1.0], [0.5]], dtype=tg.float64)
    gradcheck(lambda x, y: F.binary_cross_entropy_with_logits(x, y, weight=w, pos_weight=pw), x, y)


# ----------------------------------------------------------------------------- loss modules

def test_loss_modules_call_their_functions():
    x = tg.tensor(rng.normal(size=(4, 3)))
    y = tg.tensor([0, 2, 1, 2])
    p, t = x.sigmoid(), tg.tensor(rng.uniform(0, 1, (4, 3)))
    w = tg.tensor([1.0, 2.0, 0.5])
    pairs = [
        (nn.MSELoss(reduction="sum")(x, p), F.mse_loss(x, p, reduction="sum")),
        (nn.L1Loss()(x, p), F.l1_loss(x, p)),
        (nn.CrossEntropyLoss(weight=w, ignore_index=1, label_smoothing=0.1)(x, y),
         F.cross_entropy(x, y, weight=w, ignore_index=1, label_smoothing=0.1)),
        (nn.NLLLoss(reduction="none")(x.log_softmax(1), y), F.nll_loss(x.log_softmax(1), y, reduction="none")),
        (nn.BCELoss(weight=w)(p, t), F.binary_cross_entropy(p, t, weight=w)),
        (nn.BCEWithLogitsLoss(pos_weight=w)(x, t), F.binary_cross_entropy_with_logits(x, t, pos_weight=w)),
    ]
    for got, expected in pairs:
        np.testing.assert_array_equal(got.numpy(), expected.numpy())


def test_loss_class_weight_is_a_buffer():
    loss = nn.CrossEntropyLoss(weight=tg.ones(3))
    assert list(loss.state_dict()) == ["weight"] and list(loss.parameters()) == []


def test_legacy_size_average_false_means_sum():
    with pytest.warns(UserWarning, match="size_average and reduce"):
        assert nn.MSELoss(size_average=False).reduction == "sum"
    with pytest.warns(UserWarning):
        assert nn.L1Loss(reduce=False).reduction == "none"


# ----------------------------------------------------------------------------- property


@given(n=st.integers(1, 4), c=st.integers(1, 5), extra=st.lists(st.integers(1, 3), max_size=2),
       smoothing=st.floats(0.0, 1.0), weighted=st.booleans(), ignore=st.floats(0.0, 0.9),
       reduction=st.sampled_from(["mean", "sum", "none"]), seed=st.integers(0, 2 ** 32 - 1))
def test_cross_entropy_matches_the_reference_for_any_shape(n, c, extra, smoothing, weighted, ignore,
                                                           reduction, seed):
    r = np.random.default_rng(seed)
    logits = r.normal(0, 5, size=(n, c, *extra))
    target = r.integers(0, c, size=(n, *extra))
    target[r.uniform(size=target.shape) < ignore] = -100
    weight = r.uniform(0.1, 3.0, c) if weighted else None
    out = F.cross_entropy(tg.tensor(logits), tg.tensor(target), reduction=reduction, label_smoothing=smoothing,
                          weight=None if weight is None else tg.tensor(weight))
    expected = ref_cross_entropy(logits, target, weight, reduction=reduction, smoothing=smoothing)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-10, atol=1e-12)


def test_bce_second_derivatives_match_finite_differences():
    x, y = t64(rng.uniform(0.1, 0.9, (3, 2))), t64(rng.uniform(0, 1, (3, 2)))
    gradgradcheck(F.binary_cross_entropy, x, y)


def test_bce_with_logits_second_derivatives_match_finite_differences():
    x, y = t64(rng.normal(size=(3, 2))), t64(rng.uniform(0, 1, (3, 2)))
    pw = tg.tensor([2.0, 0.5], dtype=tg.float64)
    gradgradcheck(lambda x, y: F.binary_cross_entropy_with_logits(x, y, pos_weight=pw), x, y)


# ----------------------------------------------------------------------------- the fused path
# cross_entropy on (N, C) logits with class indices (no weight, no smoothing) is one node,
# SoftmaxCrossEntropy: the same values and first and second derivatives as the composition.

def test_fused_cross_entropy_matches_the_composed_formula_and_finite_differences():
    from tinygrad_rnn.testing import gradcheck, gradgradcheck
    rng = np.random.default_rng(3)
    x = tg.tensor(rng.normal(size=(5, 4)), requires_grad=True)
    t = tg.tensor([0, 3, -100, 1, 3])
    for reduction in ("mean", "sum", "none"):
        fused = F.cross_entropy(x, t, reduction=reduction)
        composed = F.nll_loss(x.log_softmax(1), t, reduction=reduction)
        np.testing.assert_allclose(fused.numpy(), composed.numpy(), rtol=1e-12)
        assert gradcheck(lambda a: F.cross_entropy(a, t, reduction=reduction), x)
        assert gradgradcheck(lambda a: F.cross_entropy(a, t, reduction=reduction), x)


def test_fused_cross_entropy_gradient_is_softmax_minus_onehot():
    x = tg.tensor([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]], dtype=tg.float64, requires_grad=True)
    F.cross_entropy(x, tg.tensor([2, 0]), reduction="sum").backward()
    e = np.exp([1.0, 2.0, 3.0])
    expected = [list(e / e.sum() - [0, 0, 1]), [1 / 3 - 1, 1 / 3, 1 / 3]]
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-12)


def test_fused_cross_entropy_with_every_target_ignored_is_nan_as_pytorch():
    x = tg.tensor([[1.0, 2.0]], requires_grad=True)
    assert np.isnan(F.cross_entropy(x, tg.tensor([-100])).item())


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


# ----------------------------------------------------------------------------- every target ignored

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
