"""nn.init: bounds and variances against the published formulas, PyTorch's fan rules, gains,
reproducibility and in-place behaviour."""
import math

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import nn
from tinygrad_rnn.nn import init


def big(*shape, dtype=tg.float32):
    return tg.zeros(*shape, dtype=dtype)


def uniform_variance(bound):
    return bound ** 2 / 3          # variance of U(-bound, bound)


@pytest.mark.parametrize("name, param, gain", [
    ("linear", None, 1.0), ("conv2d", None, 1.0), ("sigmoid", None, 1.0), ("tanh", None, 5 / 3),
    ("relu", None, math.sqrt(2)), ("leaky_relu", None, math.sqrt(2 / (1 + 0.01 ** 2))),
    ("leaky_relu", 0.2, math.sqrt(2 / 1.04)), ("selu", None, 0.75)])
def test_calculate_gain_values(name, param, gain):
    assert init.calculate_gain(name, param) == pytest.approx(gain, rel=1e-15)


def test_calculate_gain_rejects_unknown_nonlinearity():
    with pytest.raises(ValueError, match="unsupported nonlinearity"):
        init.calculate_gain("swishy")


def test_uniform_stays_in_bounds_with_the_right_mean():
    tg.manual_seed(0)
    w = init.uniform_(big(200, 500), -2.0, 4.0).numpy()
    assert w.min() >= -2.0 and w.max() < 4.0
    assert abs(w.mean() - 1.0) < 0.02


def test_normal_has_the_requested_mean_and_std():
    tg.manual_seed(0)
    w = init.normal_(big(200, 500), 3.0, 0.5).numpy()
    assert abs(w.mean() - 3.0) < 0.01 and abs(w.std() / 0.5 - 1) < 0.01


def test_constant_zeros_ones_and_eye():
    np.testing.assert_array_equal(init.constant_(big(2, 2), 1.5).numpy(), np.full((2, 2), 1.5))
    np.testing.assert_array_equal(init.zeros_(tg.ones(3)).numpy(), np.zeros(3))
    np.testing.assert_array_equal(init.ones_(big(3)).numpy(), np.ones(3))
    np.testing.assert_array_equal(init.eye_(big(2, 3)).numpy(), np.eye(2, 3))


def test_xavier_uniform_bound_and_variance():
    tg.manual_seed(0)
    fan_in, fan_out = 300, 500
    w = init.xavier_uniform_(big(fan_out, fan_in), gain=2.0).numpy()
    bound = 2.0 * math.sqrt(6 / (fan_in + fan_out))
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.99 * bound
    assert abs(w.var() / uniform_variance(bound) - 1) < 0.02


def test_xavier_normal_std():
    tg.manual_seed(0)
    w = init.xavier_normal_(big(500, 300)).numpy()
    assert abs(w.std() / math.sqrt(2 / 800) - 1) < 0.02


def test_kaiming_uniform_default_bound_is_sqrt_six_over_fan_in():
    tg.manual_seed(0)
    w = init.kaiming_uniform_(big(500, 400)).numpy()
    # default a=0 with leaky_relu: gain sqrt(2), bound = gain * sqrt(3 / fan_in)
    bound = math.sqrt(6 / 400)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.99 * bound
    assert abs(w.var() / uniform_variance(bound) - 1) < 0.02


def test_kaiming_uniform_fan_out_mode():
    tg.manual_seed(0)
    w = init.kaiming_uniform_(big(500, 40), mode="fan_out", nonlinearity="relu").numpy()
    bound = math.sqrt(2) * math.sqrt(3 / 500)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.99 * bound


def test_kaiming_normal_std():
    tg.manual_seed(0)
    w = init.kaiming_normal_(big(600, 300), a=0.1).numpy()
    std = math.sqrt(2 / (1 + 0.1 ** 2)) / math.sqrt(300)
    assert abs(w.std() / std - 1) < 0.02


def test_conv_weight_fans_multiply_by_the_kernel_size():
    tg.manual_seed(0)
    # conv weight (out_channels, in_channels / groups, kH, kW): fan_in = 3 * 5 * 5, fan_out = 64 * 25
    w = init.kaiming_uniform_(big(64, 3, 5, 5), nonlinearity="relu").numpy()
    bound = math.sqrt(2) * math.sqrt(3 / 75)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.99 * bound
    v = init.xavier_uniform_(big(64, 3, 5, 5)).numpy()
    xb = math.sqrt(6 / (75 + 64 * 25))
    assert np.abs(v).max() <= xb and np.abs(v).max() > 0.99 * xb


def test_grouped_conv_weight_fan_in_uses_channels_per_group():
    # 8 input channels in 4 groups -> weight (out, 2, 3, 3), fan_in = 2 * 9 = 18
    fan_in, fan_out = init._calculate_fan_in_and_fan_out(big(16, 2, 3, 3))
    assert (fan_in, fan_out) == (18, 144)


def test_fans_need_two_dims():
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init.xavier_uniform_(big(5))


def test_invalid_mode_raises():
    with pytest.raises(ValueError, match="Mode fan_avg not supported"):
        init.kaiming_uniform_(big(3, 3), mode="fan_avg")


@pytest.mark.parametrize("shape", [(4, 9), (9, 4), (6, 2, 3)])
def test_orthogonal_rows_or_columns_are_orthonormal_times_gain(shape):
    w = init.orthogonal_(big(*shape, dtype=tg.float64), gain=1.5).numpy().reshape(shape[0], -1)
    small = min(w.shape)
    gram = w @ w.T if w.shape[0] <= w.shape[1] else w.T @ w
    np.testing.assert_allclose(gram, 1.5 ** 2 * np.eye(small), atol=1e-12)


def test_init_repeats_after_manual_seed():
    tg.manual_seed(3)
    a = init.normal_(big(10)).numpy().copy()
    tg.manual_seed(3)
    np.testing.assert_array_equal(init.normal_(big(10)).numpy(), a)


def test_init_draws_from_a_given_generator():
    g1, g2 = tg.Generator(5), tg.Generator(5)
    a = init.uniform_(big(10), generator=g1).numpy().copy()
    np.testing.assert_array_equal(init.uniform_(big(10), generator=g2).numpy(), a)


def test_init_is_in_place_on_a_parameter_that_requires_grad():
    p = nn.Parameter(tg.zeros(3, 4))
    arr = p.array
    assert init.xavier_normal_(p) is p
    assert p.array is arr and p.grad_fn is None and p.numpy().any()


def test_init_keeps_the_tensor_dtype():
    assert init.kaiming_normal_(big(3, 4, dtype=tg.float64)).dtype == np.float64


def test_init_on_the_device(device):
    w = tg.zeros(4, 5, device=device)
    init.orthogonal_(w)
    init.kaiming_uniform_(w)
    assert w.device == device and w.numpy().any()
