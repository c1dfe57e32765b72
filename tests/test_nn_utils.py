"""Gradient clipping: clip_grad_norm_ and clip_grad_value_ against numbers worked by hand."""
import math

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import nn
from tinygrad_rnn.nn.utils import clip_grad_norm_, clip_grad_value_


def params_with_grads(*grads, device="cpu"):
    ps = []
    for g in grads:
        p = nn.Parameter(tg.zeros(len(g), device=device))
        p.grad = tg.tensor(g, device=device)
        ps.append(p)
    return ps


def test_clip_grad_norm_scales_to_max_norm_and_returns_the_total():
    ps = params_with_grads([3.0, 4.0], [12.0])
    total = clip_grad_norm_(ps, max_norm=6.5)
    # sqrt(9 + 16 + 144) = 13; factor 6.5 / (13 + 1e-6)
    assert total.item() == pytest.approx(13.0)
    f = 6.5 / (13 + 1e-6)
    np.testing.assert_allclose(ps[0].grad.numpy(), [3 * f, 4 * f], rtol=1e-6)
    np.testing.assert_allclose(ps[1].grad.numpy(), [12 * f], rtol=1e-6)


def test_clip_grad_norm_leaves_small_gradients_unchanged():
    ps = params_with_grads([0.3, 0.4])
    total = clip_grad_norm_(ps, max_norm=1.0)
    assert total.item() == pytest.approx(0.5)
    np.testing.assert_array_equal(ps[0].grad.numpy(), np.array([0.3, 0.4], np.float32))


def test_clip_grad_norm_infinity_norm_is_the_largest_entry():
    ps = params_with_grads([1.0, -5.0], [2.0])
    total = clip_grad_norm_(ps, max_norm=1.0, norm_type=math.inf)
    assert total.item() == pytest.approx(5.0)
    np.testing.assert_allclose(ps[0].grad.numpy(), [0.2, -1.0], rtol=1e-5)


def test_clip_grad_norm_one_norm():
    ps = params_with_grads([1.0, -2.0], [3.0])
    assert clip_grad_norm_(ps, max_norm=100.0, norm_type=1).item() == pytest.approx(6.0)


def test_clip_grad_norm_skips_parameters_without_gradients_and_accepts_one_tensor():
    p = nn.Parameter(tg.zeros(2))
    assert clip_grad_norm_([p], 1.0).item() == 0.0
    (q,) = params_with_grads([0.0, 2.0])
    assert clip_grad_norm_(q, 1.0).item() == pytest.approx(2.0)


def test_clip_grad_norm_raises_on_a_nonfinite_norm_when_asked():
    ps = params_with_grads([1.0, math.nan])
    with pytest.raises(RuntimeError, match="non-finite"):
        clip_grad_norm_(ps, 1.0, error_if_nonfinite=True)


def test_clip_grad_norm_with_a_nan_norm_spreads_nan_like_pytorch():
    ps = params_with_grads([1.0, math.nan], [2.0])
    total = clip_grad_norm_(ps, 1.0)
    assert math.isnan(total.item()) and np.isnan(ps[1].grad.numpy()).all()


def test_clip_grad_norm_on_the_device(device):
    ps = params_with_grads([3.0, 4.0], device=device)
    total = clip_grad_norm_(ps, 1.0)
    assert total.device == device and ps[0].grad.device == device
    np.testing.assert_allclose(ps[0].grad.numpy(), [0.6, 0.8], rtol=1e-5)


def test_clip_grad_value_clamps_each_entry():
    ps = params_with_grads([-3.0, 0.5, 2.0])
    clip_grad_value_(ps, 1.0)
    np.testing.assert_array_equal(ps[0].grad.numpy(), [-1.0, 0.5, 1.0])
