"""LayerNorm, GroupNorm and BatchNorm1d/2d: outputs against NumPy formulas written here, running statistics
(updated with the UNBIASED batch variance, normalised with the biased one), eval mode, gradients."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import tinygrad_rnn as tg
import tinygrad_rnn.nn.functional as F
from tinygrad_rnn import nn
from tinygrad_rnn.testing import gradcheck, gradgradcheck, strategies as tst

rng = np.random.default_rng(99)


def t64(*shape, grad=True, loc=0.0, scale=1.0):
    return tg.tensor(rng.normal(loc, scale, size=shape), dtype=tg.float64, requires_grad=grad)


def f64(x, grad=True):
    """An array or nested list as a float64 tensor."""
    return tg.tensor(np.asarray(x, dtype=np.float64), requires_grad=grad)


# ----------------------------------------------------------------------------- LayerNorm

def test_layer_norm_parameters_start_at_ones_and_zeros():
    ln = nn.LayerNorm((2, 3))
    np.testing.assert_array_equal(ln.weight.numpy(), np.ones((2, 3)))
    np.testing.assert_array_equal(ln.bias.numpy(), np.zeros((2, 3)))


def test_layer_norm_without_affine_has_no_parameters():
    assert list(nn.LayerNorm(4, elementwise_affine=False).parameters()) == []


def test_layer_norm_of_a_hand_example():
    # row [1, 2, 3, 4]: mean 2.5, biased variance 1.25
    out = F.layer_norm(tg.tensor([[1.0, 2.0, 3.0, 4.0]], dtype=tg.float64), (4,), eps=0.0).numpy()
    np.testing.assert_allclose(out, [[-1.5, -0.5, 0.5, 1.5]] / np.sqrt(1.25))


def test_layer_norm_over_last_two_dims_with_affine_matches_numpy():
    x = rng.normal(3, 2, size=(2, 3, 4, 5))
    w, b = rng.normal(size=(4, 5)), rng.normal(size=(4, 5))
    ln = nn.LayerNorm((4, 5), eps=1e-3).double()
    ln.load_state_dict({"weight": w, "bias": b})
    mean = x.mean(axis=(2, 3), keepdims=True)
    var = x.var(axis=(2, 3), keepdims=True)       # biased (ddof=0)
    expected = (x - mean) / np.sqrt(var + 1e-3) * w + b
    np.testing.assert_allclose(ln(tg.tensor(x)).numpy(), expected, rtol=1e-12, atol=1e-12)


def test_layer_norm_gradients_match_finite_differences():
    x, w, b = t64(3, 4, loc=1.0, scale=2.0), t64(4), t64(4)
    gradcheck(lambda x, w, b: F.layer_norm(x, (4,), w, b), x, w, b)


def test_layer_norm_rejects_a_mismatched_shape():
    with pytest.raises(ValueError, match=r"layer_norm: expected input with shape \(\*, 4\).*\(2, 5\)"):
        nn.LayerNorm(4)(tg.zeros(2, 5))


# ----------------------------------------------------------------------------- BatchNorm

def test_batch_norm_buffers_and_parameters_start_at_pytorch_defaults():
    bn = nn.BatchNorm1d(3)
    np.testing.assert_array_equal(bn.running_mean.numpy(), np.zeros(3))
    np.testing.assert_array_equal(bn.running_var.numpy(), np.ones(3))
    assert bn.num_batches_tracked.item() == 0 and bn.num_batches_tracked.dtype == np.int64
    np.testing.assert_array_equal(bn.weight.numpy(), np.ones(3))
    np.testing.assert_array_equal(bn.bias.numpy(), np.zeros(3))


def test_batch_norm_training_output_uses_batch_mean_and_biased_variance():
    x = rng.normal(2, 3, size=(5, 3))
    w, b = rng.normal(size=3), rng.normal(size=3)
    bn = nn.BatchNorm1d(3).double()
    bn.weight.data[...], bn.bias.data[...] = w, b
    expected = (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-5) * w + b
    np.testing.assert_allclose(bn(tg.tensor(x)).numpy(), expected, rtol=1e-12, atol=1e-12)


def test_batch_norm_running_var_is_updated_with_the_unbiased_variance():
    x = np.array([[1.0], [2.0], [4.0], [9.0]])          # mean 4, sum of squares 38
    bn = nn.BatchNorm1d(1).double()
    bn(tg.tensor(x))
    # running = 0.9 * initial + 0.1 * batch; the unbiased variance is 38 / 3 (biased would be 38 / 4)
    np.testing.assert_allclose(bn.running_mean.numpy(), [0.9 * 0 + 0.1 * 4.0])
    np.testing.assert_allclose(bn.running_var.numpy(), [0.9 * 1 + 0.1 * 38 / 3])
    assert bn.num_batches_tracked.item() == 1


def test_batch_norm_1d_with_length_averages_over_batch_and_length():
    x = rng.normal(size=(4, 2, 5))
    bn = nn.BatchNorm1d(2, momentum=0.5).double()
    out = bn(tg.tensor(x)).numpy()
    mean, var = x.mean(axis=(0, 2)), x.var(axis=(0, 2))
    expected = (x - mean[None, :, None]) / np.sqrt(var[None, :, None] + 1e-5)
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(bn.running_var.numpy(), 0.5 + 0.5 * x.var(axis=(0, 2), ddof=1))


def test_batch_norm_2d_averages_over_batch_height_and_width():
    x = rng.normal(1, 2, size=(3, 2, 4, 5))
    bn = nn.BatchNorm2d(2).double()
    out = bn(tg.tensor(x)).numpy()
    mean, var = x.mean(axis=(0, 2, 3)), x.var(axis=(0, 2, 3))
    expected = (x - mean[None, :, None, None]) / np.sqrt(var[None, :, None, None] + 1e-5)
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(bn.running_mean.numpy(), 0.1 * mean)


def test_batch_norm_eval_uses_running_statistics_and_updates_nothing():
    bn = nn.BatchNorm1d(2).double().eval()
    bn.running_mean.data[...] = [1.0, -1.0]
    bn.running_var.data[...] = [4.0, 0.25]
    bn.weight.data[...] = [2.0, 1.0]
    bn.bias.data[...] = [0.0, 3.0]
    out = bn(tg.tensor([[3.0, 0.0]])).numpy()
    # (3 - 1) / 2 * 2 + 0 = 2;  (0 + 1) / 0.5 * 1 + 3 = 5, with eps = 1e-5 under the roots
    np.testing.assert_allclose(out, [[2 / np.sqrt(4 + 1e-5) * 2, 1 / np.sqrt(0.25 + 1e-5) + 3]], rtol=1e-12)
    np.testing.assert_array_equal(bn.running_mean.numpy(), [1.0, -1.0])
    assert bn.num_batches_tracked.item() == 0


def test_batch_norm_momentum_none_keeps_a_cumulative_average():
    bn = nn.BatchNorm1d(1, momentum=None).double()
    bn(tg.tensor([[1.0], [3.0]]))
    bn(tg.tensor([[5.0], [9.0]]))
    # cumulative moving average of the batch means 2 and 7
    np.testing.assert_allclose(bn.running_mean.numpy(), [4.5])
    assert bn.num_batches_tracked.item() == 2


def test_batch_norm_without_running_stats_uses_batch_statistics_in_eval():
    bn = nn.BatchNorm1d(2, track_running_stats=False).eval()
    assert bn.running_mean is None and list(bn.buffers()) == []
    x = rng.normal(size=(6, 2))
    out = bn(tg.tensor(x, dtype=tg.float64)).numpy()
    np.testing.assert_allclose(out, (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-5), rtol=1e-6)


def test_batch_norm_needs_more_than_one_value_per_channel_in_training():
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        nn.BatchNorm1d(3)(tg.zeros(1, 3))


def test_batch_norm_checks_the_number_of_dims():
    with pytest.raises(ValueError, match="expected 4D input"):
        nn.BatchNorm2d(3)(tg.zeros(2, 3))
    with pytest.raises(ValueError, match="expected 2D or 3D input"):
        nn.BatchNorm1d(3)(tg.zeros(2, 3, 4, 5))


def test_batch_norm_training_gradients_match_finite_differences():
    x, w, b = t64(4, 3, 2, loc=1.0, scale=2.0), t64(3), t64(3)
    gradcheck(lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True), x, w, b)


def test_batch_norm_eval_gradients_match_finite_differences():
    x, w, b = t64(4, 3), t64(3), t64(3)
    rm, rv = tg.tensor(rng.normal(size=3)), tg.tensor(rng.uniform(0.5, 2, size=3))
    gradcheck(lambda x, w, b: F.batch_norm(x, rm, rv, w, b, training=False), x, w, b)


def test_batch_norm_runs_on_the_device(device):
    bn = nn.BatchNorm2d(2).to(device)
    out = bn(tg.randn(2, 2, 3, 3, device=device))
    assert out.device == device and bn.running_var.device == device
    assert bn.num_batches_tracked.item() == 1


def test_layer_norm_second_derivatives_match_finite_differences():
    x, w, b = t64(2, 4), t64(4), t64(4)
    gradgradcheck(lambda x, w, b: F.layer_norm(x, (4,), w, b), x, w, b)


def test_batch_norm_second_derivatives_match_finite_differences():
    x, w = t64(4, 3), t64(3)
    gradgradcheck(lambda x, w: F.batch_norm(x, None, None, w, None, training=True), x, w)


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
    out = F.group_norm(f64([[[1.0, 2.0], [3.0, 4.0]]], grad=False), 1, eps=0.0)
    np.testing.assert_allclose(out.numpy(), [[[-1.5, -0.5], [0.5, 1.5]]] / np.sqrt(1.25), rtol=1e-15)
    # two groups of one channel each: each channel alone
    out = F.group_norm(f64([[[1.0, 3.0], [10.0, 30.0]]], grad=False), 2, eps=0.0)
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
    w, b = f64(rng.normal(size=c)), f64(rng.normal(size=c))
    gradcheck(lambda a, w, b: F.group_norm(a, groups, w, b), x, w, b)


def test_group_norm_second_derivatives_match_finite_differences():
    gradgradcheck(lambda a, w: F.group_norm(a, 2, w), f64(rng.normal(size=(2, 4, 2))),
                  f64(rng.normal(size=4)))


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
