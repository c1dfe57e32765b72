"""Pooling (max/avg 1-D and 2-D, adaptive, max_unpool2d and the modules) against slow loop
implementations written here, finite differences, hand-worked tie cases, the lecture's numbers and
the error messages. PyTorch cross-checks live in test_conv_torch.py."""
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_rnn as tg
import tinygrad_rnn.nn.functional as F
from tinygrad_rnn import autograd, nn
from tinygrad_rnn.autograd import OpError
from tinygrad_rnn.testing import gradcheck
from tinygrad_rnn.testing import strategies as tst

rng = np.random.default_rng(5)


# ----------------------------------------------------------------------------- slow references

def max_pool_loop(x, k, s, p, d, ceil_mode):
    """Every window in turn; the FIRST strictly larger value wins; index h * W + w."""
    n_, c_, h, w = x.shape
    ho, wo = (_out(n, kk, ss, pp, dd, ceil_mode) for n, kk, ss, pp, dd in zip((h, w), k, s, p, d))
    out, idx = np.zeros((n_, c_, ho, wo)), np.zeros((n_, c_, ho, wo), np.int64)
    for n in range(n_):
        for c in range(c_):
            for i in range(ho):
                for j in range(wo):
                    best, at = -math.inf, -1
                    for a in range(k[0]):
                        for b in range(k[1]):
                            y, z = i * s[0] - p[0] + a * d[0], j * s[1] - p[1] + b * d[1]
                            if 0 <= y < h and 0 <= z < w and x[n, c, y, z] > best:
                                best, at = x[n, c, y, z], y * w + z
                    out[n, c, i, j], idx[n, c, i, j] = best, at
    return out, idx


def avg_pool_loop(x, k, s, p, ceil_mode, count_include_pad, divisor_override=None):
    """PyTorch's rule: a window is clipped to the padded input for its size (count_include_pad) or
    to the input itself (otherwise); only real pixels are summed."""
    n_, c_, h, w = x.shape
    ho, wo = (_out(n, kk, ss, pp, 1, ceil_mode) for n, kk, ss, pp in zip((h, w), k, s, p))
    out = np.zeros((n_, c_, ho, wo))
    for i in range(ho):
        for j in range(wo):
            y0, z0 = i * s[0] - p[0], j * s[1] - p[1]
            y1, z1 = min(y0 + k[0], h + p[0]), min(z0 + k[1], w + p[1])
            size = (y1 - y0) * (z1 - z0)
            y0, z0, y1, z1 = max(y0, 0), max(z0, 0), min(y1, h), min(z1, w)
            total = x[:, :, y0:y1, z0:z1].sum(axis=(2, 3))
            div = divisor_override or (size if count_include_pad else (y1 - y0) * (z1 - z0))
            out[:, :, i, j] = total / div
    return out


def _out(n, k, s, p, d, ceil_mode):
    span = n + 2 * p - d * (k - 1) - 1
    o = (-(-span // s) if ceil_mode else span // s) + 1
    return o - 1 if ceil_mode and (o - 1) * s >= n + p else o


def adaptive_loop(x, out_size, fn):
    n_, c_, h, w = x.shape
    ho, wo = out_size
    out = np.zeros((n_, c_, ho, wo))
    for i in range(ho):
        for j in range(wo):
            y0, y1 = (i * h) // ho, -((-(i + 1) * h) // ho)
            z0, z1 = (j * w) // wo, -((-(j + 1) * w) // wo)
            out[:, :, i, j] = fn(x[:, :, y0:y1, z0:z1], axis=(2, 3))
    return out


def t64(a, device="cpu", grad=True):
    return tg.tensor(np.asarray(a, dtype=np.float64), device=device, requires_grad=grad)


distinct = dict(min_gap=1e-3)   # no ties: the maximum is unique, so finite differences are smooth


# ----------------------------------------------------------------------------- the lecture's numbers

LECTURE_MAP = [[1, 2, 3],
               [0, 2, 1],
               [2, 0, 3]]


def test_lecture_max_pooling_2x2_stride_1(device):
    out = F.max_pool2d(tg.tensor([[LECTURE_MAP]], dtype=tg.float32, device=device), 2, stride=1)
    np.testing.assert_array_equal(out.numpy()[0, 0], [[2, 3], [2, 3]])


def test_lecture_average_pooling_2x2_stride_1(device):
    out = F.avg_pool2d(tg.tensor([[LECTURE_MAP]], dtype=tg.float32, device=device), 2, stride=1)
    np.testing.assert_array_equal(out.numpy()[0, 0], [[1.25, 2], [1, 1.5]])


def test_pooling_keeps_the_channels_and_shrinks_the_map():
    x = tg.ones(2, 5, 8, 6)
    assert F.max_pool2d(x, 2).shape == (2, 5, 4, 3)
    assert F.avg_pool2d(x, 3, stride=1).shape == (2, 5, 6, 4)
    assert F.max_pool1d(tg.ones(2, 5, 9), 3).shape == (2, 5, 3)


# ----------------------------------------------------------------------------- forward vs loops

@given(tst.pool_configs(), st.integers(0, 2 ** 31))
def test_max_pool2d_values_and_indices_match_the_loop(device, cfg, seed):
    x = np.random.default_rng(seed).normal(size=cfg.input_shape)
    out, idx = F.max_pool2d(t64(x, device), cfg.kernel_size, cfg.stride, cfg.padding, cfg.dilation,
                            cfg.ceil_mode, return_indices=True)
    ref, ref_idx = max_pool_loop(x, cfg.kernel_size, cfg.stride, cfg.padding, cfg.dilation, cfg.ceil_mode)
    assert out.shape == cfg.output_shape
    np.testing.assert_array_equal(out.numpy(), ref)
    np.testing.assert_array_equal(idx.numpy(), ref_idx)
    assert idx.dtype == np.int64


@given(tst.pool_configs(spatial_dims=1), st.integers(0, 2 ** 31))
def test_max_pool1d_matches_the_loop(device, cfg, seed):
    x = np.random.default_rng(seed).integers(-3, 4, cfg.input_shape).astype(np.float64)   # with ties
    out, idx = F.max_pool1d(t64(x, device), cfg.kernel_size, cfg.stride, cfg.padding, cfg.dilation,
                            cfg.ceil_mode, return_indices=True)
    ref, ref_idx = max_pool_loop(x[:, :, None], (1,) + cfg.kernel_size, (1,) + cfg.stride,
                                 (0,) + cfg.padding, (1,) + cfg.dilation, cfg.ceil_mode)
    np.testing.assert_array_equal(out.numpy(), ref[:, :, 0])
    np.testing.assert_array_equal(idx.numpy(), ref_idx[:, :, 0])


@given(tst.pool_configs(dilation=False), st.booleans(), st.sampled_from([None, 1, 5]),
       st.integers(0, 2 ** 31))
def test_avg_pool2d_matches_the_loop(device, cfg, count_include_pad, divisor, seed):
    x = np.random.default_rng(seed).normal(size=cfg.input_shape)
    out = F.avg_pool2d(t64(x, device), cfg.kernel_size, cfg.stride, cfg.padding, cfg.ceil_mode,
                       count_include_pad, divisor)
    ref = avg_pool_loop(x, cfg.kernel_size, cfg.stride, cfg.padding, cfg.ceil_mode, count_include_pad,
                        divisor)
    np.testing.assert_allclose(out.numpy(), ref, atol=1e-12)


@given(tst.pool_configs(spatial_dims=1, dilation=False), st.booleans(), st.integers(0, 2 ** 31))
def test_avg_pool1d_matches_the_loop(device, cfg, count_include_pad, seed):
    x = np.random.default_rng(seed).normal(size=cfg.input_shape)
    out = F.avg_pool1d(t64(x, device), cfg.kernel_size, cfg.stride, cfg.padding, cfg.ceil_mode,
                       count_include_pad)
    ref = avg_pool_loop(x[:, :, None], (1,) + cfg.kernel_size, (1,) + cfg.stride, (0,) + cfg.padding,
                        cfg.ceil_mode, count_include_pad)
    np.testing.assert_allclose(out.numpy(), ref[:, :, 0], atol=1e-12)


adaptive_sizes = st.tuples(st.integers(1, 7), st.integers(1, 7), st.integers(1, 5), st.integers(1, 5))


@given(adaptive_sizes, st.integers(0, 2 ** 31))
def test_adaptive_pools_match_the_loop(device, sizes, seed):
    h, w, ho, wo = sizes
    x = np.random.default_rng(seed).normal(size=(2, 3, h, w))
    np.testing.assert_allclose(F.adaptive_avg_pool2d(t64(x, device), (ho, wo)).numpy(),
                               adaptive_loop(x, (ho, wo), np.mean), atol=1e-12)
    np.testing.assert_array_equal(F.adaptive_max_pool2d(t64(x, device), (ho, wo)).numpy(),
                                  adaptive_loop(x, (ho, wo), np.max))


def test_adaptive_pool_to_one_is_the_global_average_and_none_keeps_a_size():
    x = rng.normal(size=(2, 3, 5, 4))
    np.testing.assert_allclose(F.adaptive_avg_pool2d(t64(x), 1).numpy()[..., 0, 0], x.mean(axis=(2, 3)))
    assert F.adaptive_avg_pool2d(t64(x), (None, 2)).shape == (2, 3, 5, 2)
    assert nn.AdaptiveAvgPool2d((2, 2))(t64(x[0])).shape == (3, 2, 2)


# ----------------------------------------------------------------------------- gradients

# a window can lie wholly in padding (e.g. size 1, kernel 2, dilation 2, padding 1): its output is
# -inf as in PyTorch, and finite differences of -inf warn
@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
@given(tst.pool_configs(max_batch=1, max_channels=2), st.data())
def test_max_pool2d_gradients_match_finite_differences(device, cfg, data):
    x = data.draw(tst.tensors(shape=cfg.input_shape, device=device, **distinct))
    gradcheck(lambda t: F.max_pool2d(t, cfg.kernel_size, cfg.stride, cfg.padding, cfg.dilation,
                                     cfg.ceil_mode), x)


@given(tst.pool_configs(max_batch=1, max_channels=2, dilation=False), st.booleans(), st.data())
def test_avg_pool2d_gradients_match_finite_differences(device, cfg, count_include_pad, data):
    x = data.draw(tst.tensors(shape=cfg.input_shape, device=device))
    gradcheck(lambda t: F.avg_pool2d(t, cfg.kernel_size, cfg.stride, cfg.padding, cfg.ceil_mode,
                                     count_include_pad), x)


@given(tst.pool_configs(spatial_dims=1, max_batch=1), st.data())
def test_1d_pool_gradients_match_finite_differences(device, cfg, data):
    x = data.draw(tst.tensors(shape=cfg.input_shape, device=device, **distinct))
    gradcheck(lambda t: F.max_pool1d(t, cfg.kernel_size, cfg.stride, cfg.padding, cfg.dilation,
                                     cfg.ceil_mode), x)
    gradcheck(lambda t: F.avg_pool1d(t, cfg.kernel_size, cfg.stride, cfg.padding, cfg.ceil_mode), x)


@given(adaptive_sizes, st.data())
def test_adaptive_pool_gradients_match_finite_differences(device, sizes, data):
    h, w, ho, wo = sizes
    x = data.draw(tst.tensors(shape=(1, 2, h, w), device=device, **distinct))
    gradcheck(lambda t: F.adaptive_avg_pool2d(t, (ho, wo)), x)
    gradcheck(lambda t: F.adaptive_max_pool2d(t, (ho, wo)), x)


@given(tst.pool_configs(max_batch=1, max_channels=2), st.data())
def test_pool_backwards_are_differentiable_in_the_upstream_gradient(cfg, data):
    # the backward of max pooling scatters, its own backward gathers: J^T v is linear in v, and
    # its derivative in v (checked by finite differences) must be J, for max and average alike
    x = data.draw(tst.tensors(shape=cfg.input_shape, **distinct))
    args = (cfg.kernel_size, cfg.stride, cfg.padding)
    v = t64(np.random.default_rng(0).normal(size=cfg.output_shape))
    gradcheck(lambda v: autograd.grad(F.max_pool2d(x, *args, cfg.dilation, cfg.ceil_mode), x, v,
                                      create_graph=True)[0], v)
    avg = F.avg_pool2d(x, *args, cfg.ceil_mode, False)
    u = t64(np.random.default_rng(1).normal(size=avg.shape))
    gradcheck(lambda u: autograd.grad(F.avg_pool2d(x, *args, cfg.ceil_mode, False), x, u,
                                      create_graph=True)[0], u)


def test_max_pool_gradient_on_ties_goes_to_the_first_maximum_only():
    x = t64(np.ones((1, 1, 2, 2)))
    F.max_pool2d(x, 2).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy()[0, 0], [[1, 0], [0, 0]])   # never 1/4 each


def test_overlapping_windows_that_pick_the_same_pixel_add_their_gradients():
    # windows [0, 1] and [1, 2] over [1, 5, 5]: the first picks index 1, the second also picks
    # index 1 (the first of its tied 5s), so index 1 gets both gradients
    x = t64([[[1.0, 5.0, 5.0]]])
    out, idx = F.max_pool1d(x, 2, stride=1, return_indices=True)
    np.testing.assert_array_equal(idx.numpy(), [[[1, 1]]])
    (out * t64([[[2.0, 3.0]]], grad=False)).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[[0, 5, 0]]])


def test_average_pool_gradient_is_one_over_the_divisor_per_window():
    x = t64(np.zeros((1, 1, 3, 3)))
    F.avg_pool2d(x, 2, stride=1).sum().backward()
    # each of the 4 windows sends 1/4 to each of its pixels: the centre is in all 4
    np.testing.assert_array_equal(x.grad.numpy()[0, 0], [[0.25, 0.5, 0.25], [0.5, 1, 0.5], [0.25, 0.5, 0.25]])


def test_max_pool_propagates_nan_and_points_at_it():
    x = t64([[[[1.0, np.nan], [3.0, 2.0]]]])
    out, idx = F.max_pool2d(x, 2, return_indices=True)
    assert np.isnan(out.item()) and idx.item() == 1


def test_a_window_with_nothing_above_minus_inf_points_at_its_first_place_in_the_grid():
    # PyTorch starts each window at -inf, index = its first dilated position at or past 0, and only
    # a value > -inf moves it: [pad, -inf] -> index 0 (not the padding at -1)
    out, idx = F.max_pool1d(t64([[[-np.inf, 5.0]]]), 2, 1, 1, return_indices=True)
    assert out.numpy().tolist() == [[[-np.inf, 5.0, 5.0]]] and idx.numpy().tolist() == [[[0, 1, 1]]]
    # positions -1, 1, 3 under the window: -1 is padding, 1 holds -inf: index 1
    out, idx = F.max_pool1d(t64([[[-np.inf, -np.inf, 1.0]]]), 3, 2, 1, dilation=2, return_indices=True)
    assert out.item() == -np.inf and idx.item() == 1


def test_max_pool_of_integers_needs_no_float():
    x = tg.tensor([[[[1, 7], [3, 2]]]])
    assert F.max_pool2d(x, 2).numpy().tolist() == [[[[7]]]] and F.max_pool2d(x, 2).dtype == np.int64


# ----------------------------------------------------------------------------- max_unpool2d

@given(tst.pool_configs(dilation=False, ceil_mode=False), st.integers(0, 2 ** 31))
def test_max_unpool_puts_each_maximum_back_where_it_came_from(device, cfg, seed):
    x = np.random.default_rng(seed).normal(size=cfg.input_shape)
    pooled, idx = F.max_pool2d(t64(x, device), cfg.kernel_size, cfg.stride, cfg.padding,
                               return_indices=True)
    out = F.max_unpool2d(pooled, idx, cfg.kernel_size, cfg.stride, cfg.padding, output_size=cfg.size)
    ref = np.zeros(cfg.input_shape)
    flat_ref = ref.reshape(cfg.N, cfg.C, -1)
    np.put_along_axis(flat_ref, idx.numpy().reshape(cfg.N, cfg.C, -1),
                      pooled.numpy().reshape(cfg.N, cfg.C, -1), axis=2)
    np.testing.assert_array_equal(out.numpy(), ref)
    # every pooled maximum is found in the unpooled map, at its index
    assert np.isin(pooled.numpy(), out.numpy()).all()


def test_max_unpool_default_size_and_gradient():
    x = t64(rng.normal(size=(2, 3, 4, 6)), grad=False)
    pooled, idx = nn.MaxPool2d(2, return_indices=True)(x)
    p = t64(pooled.numpy())
    out = nn.MaxUnpool2d(2)(p, idx)
    assert out.shape == (2, 3, 4, 6)
    gradcheck(lambda t: F.max_unpool2d(t, idx, 2), p)


def test_max_unpool_errors():
    x = tg.ones(2, 3, 5, 5)
    with pytest.raises(OpError, match=r"Found an invalid max index: 1000 \(output volumes are of size 10x10\)"):
        F.max_unpool2d(x, tg.full((2, 3, 5, 5), 1000, dtype=tg.int64), 2)
    with pytest.raises(OpError, match=r"invalid output_size \(3, 3\) \(dim 0 must be between 8 and 12\)"):
        F.max_unpool2d(x, tg.zeros(2, 3, 5, 5, dtype=tg.int64), 2, output_size=(3, 3))
    with pytest.raises(OpError, match=r"Expected shape of indices to be same as that of the input tensor"):
        F.max_unpool2d(x, tg.zeros(2, 3, 4, 5, dtype=tg.int64), 2)
    with pytest.raises(OpError, match="elements in indices should be type int64 but got: float32"):
        F.max_unpool2d(x, tg.zeros(2, 3, 5, 5), 2)


# ----------------------------------------------------------------------------- errors

def test_padding_larger_than_half_the_kernel_is_rejected():
    with pytest.raises(OpError, match="pad should be at most half of effective kernel size, but got "
                                      "pad=2, kernel_size=2 and dilation=1"):
        F.max_pool2d(tg.ones(1, 1, 5, 5), 2, padding=2)
    with pytest.raises(OpError, match="pad should be at most half of effective kernel size"):
        F.avg_pool1d(tg.ones(1, 1, 5), 2, padding=2)
    # dilation widens the window: pad 2 is fine for a 2-kernel with dilation 3 (span 4)
    assert F.max_pool2d(tg.ones(1, 1, 5, 5), 2, padding=2, dilation=3).shape == (1, 1, 3, 3)


def test_window_larger_than_the_input_is_rejected():
    with pytest.raises(OpError, match=r"Given input size: \(5x5\). Calculated output size: \(0x0\). "
                                      r"Output size is too small"):
        F.max_pool2d(tg.ones(1, 3, 5, 5), 7)
    with pytest.raises(OpError, match="Output size is too small"):
        F.avg_pool2d(tg.ones(1, 3, 5, 5), 7)


def test_wrong_rank_and_bad_arguments_are_rejected():
    with pytest.raises(OpError, match=r"Expected 3D or 4D \(batch mode\) tensor for input, but got input "
                                      r"of size: \[5, 5\]"):
        F.max_pool2d(tg.ones(5, 5), 2)
    with pytest.raises(OpError, match=r"Expected 2D or 3D \(batch mode\) tensor"):
        F.max_pool1d(tg.ones(1, 1, 5, 5), 2)
    with pytest.raises(OpError, match="stride should not be zero"):
        F.max_pool2d(tg.ones(1, 1, 5, 5), 2, stride=0)
    with pytest.raises(OpError, match="dilation should be greater than zero"):
        F.max_pool2d(tg.ones(1, 1, 5, 5), 2, dilation=0)
    with pytest.raises(OpError, match="kernel_size must either be a single int, or a tuple of two ints"):
        F.max_pool2d(tg.ones(1, 1, 5, 5), (2, 2, 2))
    with pytest.raises(OpError, match=r"adaptive_avg_pool2d\(\): Expected 3D or 4D tensor, but got \[5, 5\]"):
        F.adaptive_avg_pool2d(tg.ones(5, 5), 2)
    with pytest.raises(OpError, match="output_size must be 2"):
        F.adaptive_avg_pool2d(tg.ones(1, 1, 5, 5), (1, 2, 3))


# ----------------------------------------------------------------------------- modules

def test_pool_modules_match_the_functions_and_pytorch_reprs():
    x = t64(rng.normal(size=(2, 3, 7, 6)))
    m = nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True)
    np.testing.assert_array_equal(m(x).numpy(), F.max_pool2d(x, 3, 2, 1, ceil_mode=True).numpy())
    a = nn.AvgPool2d(3, 2, 1, count_include_pad=False)
    np.testing.assert_array_equal(a(x).numpy(), F.avg_pool2d(x, 3, 2, 1, count_include_pad=False).numpy())
    assert repr(nn.MaxPool2d(2)) == "MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)"
    assert repr(nn.AvgPool2d(2)) == "AvgPool2d(kernel_size=2, stride=2, padding=0)"
    assert repr(nn.AvgPool1d(3)) == "AvgPool1d(kernel_size=(3,), stride=(3,), padding=(0,))"
    assert repr(nn.MaxPool1d(3)) == "MaxPool1d(kernel_size=3, stride=3, padding=0, dilation=1, ceil_mode=False)"
    assert repr(nn.AdaptiveAvgPool2d((2, None))) == "AdaptiveAvgPool2d(output_size=(2, None))"
    assert repr(nn.AdaptiveMaxPool2d(3)) == "AdaptiveMaxPool2d(output_size=3)"
    assert repr(nn.MaxUnpool2d(2)) == "MaxUnpool2d(kernel_size=(2, 2), stride=(2, 2), padding=(0, 0))"
    assert list(nn.MaxPool2d(2).state_dict()) == []


def test_adaptive_max_module_returns_indices_when_asked():
    x = t64(rng.normal(size=(1, 2, 6, 6)))
    out, idx = nn.AdaptiveMaxPool2d(3, return_indices=True)(x)
    ref, ref_idx = max_pool_loop(x.numpy(), (2, 2), (2, 2), (0, 0), (1, 1), False)
    np.testing.assert_array_equal(out.numpy(), ref)
    np.testing.assert_array_equal(idx.numpy(), ref_idx)
