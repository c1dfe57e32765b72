"""Reductions and softmax: gradients and second derivatives against finite differences for every
``dim`` form (int, negative, tuple, None, keepdim, NumPy's axis/keepdims), values against NumPy.

max/min/amax/amin and friends get values at least 0.01 apart, so no finite-difference step can
change which element is the largest (their gradient is not defined on ties).
"""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_rnn as tg
from tinygrad_rnn.testing import gradcheck, gradgradcheck
from tinygrad_rnn.testing import strategies as tst

SECOND = settings(max_examples=max(5, settings.default.max_examples // 3))
GAP = dict(min_gap=1e-2, min_value=-3.0, max_value=3.0)


def _count(shape, dim):
    dims = range(len(shape)) if dim is None else ([dim] if isinstance(dim, int) else dim)
    return int(np.prod([shape[d] for d in dims]))


def _draw_any(data, device, gap=False):
    x = data.draw(tst.tensors(device=device, **(GAP if gap else {})), label="x")
    dim, keepdim = data.draw(tst.axes(x.ndim, with_keepdim=True), label="dim, keepdim")
    return x, dim, keepdim


def _draw_spread(data, device):
    """For var/std: every reduction covers at least two distinct values (n - 1 > 0, variance > 0)."""
    x = data.draw(tst.tensors(min_dims=1, min_side=2, device=device, **GAP), label="x")
    dim, keepdim = data.draw(tst.axes(x.ndim, with_keepdim=True), label="dim, keepdim")
    return x, (None if dim == () else dim), keepdim


def _draw_nonempty_dim(data, device, gap=False):
    """logsumexp needs a dim; max(dim)/min(dim) need a single int."""
    x = data.draw(tst.tensors(min_dims=1, device=device, **(GAP if gap else {})), label="x")
    dim = data.draw(st.integers(-x.ndim, x.ndim - 1), label="dim")
    return x, dim, data.draw(st.booleans(), label="keepdim")


def _draw_dim_tuple(data, device):
    x = data.draw(tst.tensors(min_dims=1, device=device), label="x")
    dims = data.draw(st.lists(st.integers(0, x.ndim - 1), min_size=1, max_size=x.ndim, unique=True),
                     label="dims")
    return x, tuple(d - x.ndim if i % 2 else d for i, d in enumerate(dims)), data.draw(st.booleans())


REDUCTIONS = {
    "sum": (lambda x, d, k: x.sum(d, keepdim=k), _draw_any),
    "mean": (lambda x, d, k: x.mean(d, keepdim=k), _draw_any),
    "sum_numpy_style": (lambda x, d, k: x.sum(axis=d, keepdims=k), _draw_any),
    "mean_numpy_style": (lambda x, d, k: x.mean(axis=d, keepdims=k), _draw_any),
    "var": (lambda x, d, k: x.var(d, keepdim=k), _draw_spread),
    "var_biased": (lambda x, d, k: x.var(d, keepdim=k, unbiased=False), _draw_spread),
    "std": (lambda x, d, k: x.std(d, keepdim=k), _draw_spread),
    "std_numpy_style": (lambda x, d, k: x.std(axis=d, keepdims=k, correction=0), _draw_spread),
    "amax": (lambda x, d, k: x.amax(d, keepdim=k), lambda data, dev: _draw_any(data, dev, gap=True)),
    "amin": (lambda x, d, k: x.amin(d, keepdim=k), lambda data, dev: _draw_any(data, dev, gap=True)),
    "amax_numpy_style": (lambda x, d, k: x.amax(axis=d, keepdims=k),
                         lambda data, dev: _draw_any(data, dev, gap=True)),
    "max_all": (lambda x, d, k: x.max(), lambda data, dev: _draw_any(data, dev, gap=True)),
    "min_all": (lambda x, d, k: x.min(), lambda data, dev: _draw_any(data, dev, gap=True)),
    "max_dim": (lambda x, d, k: x.max(d, keepdim=k).values,
                lambda data, dev: _draw_nonempty_dim(data, dev, gap=True)),
    "min_dim": (lambda x, d, k: x.min(d, keepdim=k)[0],
                lambda data, dev: _draw_nonempty_dim(data, dev, gap=True)),
    "logsumexp": (lambda x, d, k: x.logsumexp(d, keepdim=k), _draw_nonempty_dim),
    "logsumexp_tuple": (lambda x, d, k: x.logsumexp(d, keepdim=k), _draw_dim_tuple),
    "softmax": (lambda x, d, k: x.softmax(d), _draw_nonempty_dim),
    "log_softmax": (lambda x, d, k: x.log_softmax(d), _draw_nonempty_dim),
    "function_softmax": (lambda x, d, k: tg.softmax(x, dim=d), _draw_nonempty_dim),
}


@pytest.mark.parametrize("name", list(REDUCTIONS))
@given(data=st.data())
def test_reduction_gradient_matches_finite_differences(name, device, data):
    fn, draw = REDUCTIONS[name]
    x, dim, keepdim = draw(data, device)
    assert gradcheck(lambda t: fn(t, dim, keepdim), x)


@pytest.mark.parametrize("name", list(REDUCTIONS))
@SECOND
@given(data=st.data())
def test_reduction_second_derivative_matches_finite_differences(name, device, data):
    fn, draw = REDUCTIONS[name]
    x, dim, keepdim = draw(data, device)
    assert gradgradcheck(lambda t: fn(t, dim, keepdim), x)


@pytest.mark.parametrize("name,fn,value", [
    ("sum", lambda x: x.sum(0), 0.7), ("sum_keepdim", lambda x: x.sum(-1, keepdim=True), 0.7),
    ("mean", lambda x: x.mean(0), 0.7), ("amax", lambda x: x.amax(-1), 0.7),
    ("max_dim", lambda x: x.max(0).values, 0.7), ("logsumexp", lambda x: x.logsumexp(0), 0.7),
    ("softmax", lambda x: x.softmax(0), 1.0), ("log_softmax", lambda x: x.log_softmax(-1), 0.0),
])
def test_reducing_dim_0_of_a_zero_dim_tensor_keeps_its_element(name, fn, value, device):
    # as in PyTorch: a 0-d tensor accepts dim 0 and -1
    x = tg.tensor(0.7, dtype=tg.float64, device=device, requires_grad=True)
    y = fn(x)
    assert y.shape == () and y.item() == pytest.approx(value)
    assert gradcheck(lambda t: fn(t) * t, x)


def test_argmax_of_a_zero_dim_tensor_is_zero(device):
    assert tg.tensor(3.0, device=device).argmax(0).item() == 0


# ----------------------------------------------------------------------------- values vs NumPy

NUMPY = {
    "sum": (lambda x, d, k: x.sum(d, keepdim=k), lambda a, d, k: a.sum(axis=d, keepdims=k)),
    "mean": (lambda x, d, k: x.mean(d, keepdim=k), lambda a, d, k: a.mean(axis=d, keepdims=k)),
    "var": (lambda x, d, k: x.var(d, keepdim=k), lambda a, d, k: a.var(axis=d, keepdims=k, ddof=1)),
    "std": (lambda x, d, k: x.std(d, keepdim=k), lambda a, d, k: a.std(axis=d, keepdims=k, ddof=1)),
    "amax": (lambda x, d, k: x.amax(d, keepdim=k), lambda a, d, k: a.max(axis=d, keepdims=k)),
    "amin": (lambda x, d, k: x.amin(d, keepdim=k), lambda a, d, k: a.min(axis=d, keepdims=k)),
}


@pytest.mark.parametrize("name", list(NUMPY))
@given(data=st.data())
def test_reduction_values_and_shapes_match_numpy(name, device, data):
    ours, ref = NUMPY[name]
    x, dim, keepdim = _draw_spread(data, device)
    out = ours(x, dim, keepdim)
    expected = ref(x.numpy(), None if dim is None else dim, keepdim)
    assert out.shape == np.shape(expected)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12, atol=1e-12)


def test_var_is_unbiased_by_default(device):
    x = tg.tensor([1.0, 2.0, 3.0, 4.0], device=device)
    assert x.var().item() == pytest.approx(5 / 3)            # sum of squares 5, n - 1 = 3
    assert x.var(unbiased=False).item() == pytest.approx(5 / 4)
    assert x.std().item() == pytest.approx((5 / 3) ** 0.5)


def test_max_with_dim_returns_values_and_indices(device):
    x = tg.tensor([[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]], device=device)
    values, indices = x.max(1)
    assert values.tolist() == [5.0, 7.0]
    assert indices.tolist() == [1, 0]
    assert x.min(dim=0).indices.tolist() == [0, 1, 0]


def test_max_gradient_is_shared_between_tied_maxima(device):
    x = tg.tensor([3.0, 1.0, 3.0], device=device, requires_grad=True)
    x.amax().backward()
    assert x.grad.tolist() == [0.5, 0.0, 0.5]


def test_argmax_matches_numpy(device):
    a = np.array([[0.1, 0.9, 0.3], [0.8, 0.2, 0.5]])
    x = tg.tensor(a, device=device)
    assert x.argmax().item() == 1
    assert x.argmax(1).tolist() == [1, 0]
    assert x.argmin(dim=0, keepdim=True).tolist() == [[0, 1, 0]]


def test_softmax_rows_sum_to_one(device):
    x = tg.randn(3, 5, device=device, dtype=tg.float64)
    s = x.softmax(-1).numpy()
    np.testing.assert_allclose(s.sum(-1), np.ones(3), rtol=1e-12)
    assert np.all(s > 0)


def test_log_softmax_is_log_of_softmax(device):
    x = tg.randn(4, 3, device=device, dtype=tg.float64)
    np.testing.assert_allclose(x.log_softmax(0).exp().numpy(), x.softmax(0).numpy(), rtol=1e-12)


@pytest.mark.parametrize("name,fn", [
    ("softmax", lambda x: x.softmax(-1)), ("log_softmax", lambda x: x.log_softmax(-1)),
    ("logsumexp", lambda x: x.logsumexp(-1)),
])
def test_large_logits_give_finite_results_and_gradients(name, fn, device):
    x = tg.tensor([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4]], device=device, requires_grad=True)
    out = fn(x)
    (out * tg.tensor([1.0, -1.0, 0.5], device=device)[:out.shape[-1]]).sum().backward()
    assert np.all(np.isfinite(out.numpy()))
    assert np.all(np.isfinite(x.grad.numpy()))


def test_logsumexp_of_large_logits_is_exact(device):
    x = tg.tensor([[1e4, 1e4], [-1e4, -1e4]], dtype=tg.float64, device=device)
    np.testing.assert_allclose(x.logsumexp(1).numpy(), [1e4 + np.log(2), -1e4 + np.log(2)],
                               rtol=1e-15)


@pytest.mark.filterwarnings("ignore:divide by zero encountered in log")
def test_logsumexp_of_all_minus_infinity_is_minus_infinity(device):
    x = tg.tensor([[-np.inf, -np.inf], [0.0, -np.inf]], dtype=tg.float64, device=device)
    np.testing.assert_array_equal(x.logsumexp(1).numpy(), [-np.inf, 0.0])


def test_mean_of_integer_tensor_raises_as_pytorch(device):
    with pytest.raises(RuntimeError, match="mean\\(\\): could not infer output dtype"):
        tg.tensor([1, 2], device=device).mean()
    assert tg.tensor([1, 2], device=device).float().mean().item() == 1.5


# ----------------------------------------------------------------------------- max / min

def test_max_and_min_of_two_tensors_are_elementwise():
    a, b = tg.tensor([1.0, 5.0, 2.0]), tg.tensor([3.0, 2.0, 2.0])
    assert tg.max(a, b).tolist() == [3.0, 5.0, 2.0]
    assert tg.min(a, b).tolist() == [1.0, 2.0, 2.0]
    assert a.max(b).tolist() == [3.0, 5.0, 2.0]


def test_max_dim_is_a_named_pair_and_its_gradient_goes_to_one_index():
    x = tg.tensor([[1.0, 3.0, 3.0], [2.0, 0.0, 2.0]], requires_grad=True)
    r = x.max(1)
    values, indices = r                      # usable as a tuple
    assert r.values.tolist() == [3.0, 2.0] and r.indices.tolist() == [1, 0]
    assert values is r.values and indices is r.indices
    values.sum().backward()
    assert x.grad.tolist() == [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]   # the first maximum only
    kept = x.min(0, keepdim=True)
    assert kept.values.shape == (1, 3) and kept.indices.tolist() == [[0, 1, 1]]


def test_max_over_an_empty_dim_raises_index_error():
    with pytest.raises(IndexError, match=r"max\(\): Expected reduction dim 0 to have non-zero size"):
        tg.zeros(0, 3).max(0)


# ----------------------------------------------------------------------------- operators and reductions

def test_reduction_over_empty_dim_tuple_reduces_everything():
    x = tg.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert x.sum(dim=()).item() == 10.0 and x.mean(dim=()).item() == 2.5
    assert x.sum(dim=(), keepdim=True).shape == (1, 1)


def test_std_backward_on_a_constant_slice_is_zero():
    x = tg.tensor([[2.0, 2.0, 2.0], [1.0, 2.0, 3.0]], requires_grad=True)
    x.std(1).sum().backward()
    # constant row: 0 (PyTorch); second row: d std / dx = (x - mean) / ((n - 1) std) = [-0.5, 0, 0.5]
    np.testing.assert_allclose(x.grad.numpy(), [[0, 0, 0], [-0.5, 0, 0.5]], atol=1e-7)


def test_float32_var_and_std_do_not_overflow_for_huge_values():
    v = np.array([1e19, -1e19, 3e19, 0.0])
    x = tg.tensor(v, dtype=tg.float32)
    np.testing.assert_allclose(x.var().item(), np.var(v, ddof=1), rtol=1e-5)
    np.testing.assert_allclose(x.std().item(), np.std(v, ddof=1), rtol=1e-5)
    np.testing.assert_allclose(x.var(correction=0).item(), np.var(v), rtol=1e-5)


def test_var_and_std_gradients_match_finite_differences():
    x = tg.tensor(np.array([[0.3, -1.2, 2.0], [5.0, 5.5, 4.0]]), requires_grad=True)
    assert gradcheck(lambda t: t.var(1), x)
    assert gradcheck(lambda t: t.std(0, correction=0), x)


def test_max_and_min_take_other_by_keyword_and_refuse_unknown_keywords():
    x, y = tg.tensor([1.0, 5.0, 2.0]), tg.tensor([3.0, 1.0, 4.0])
    assert tg.max(x, other=y).tolist() == [3.0, 5.0, 4.0]      # elementwise, as torch.max(x, other=y)
    assert x.min(other=y).tolist() == [1.0, 1.0, 2.0]
    with pytest.raises(TypeError, match="max: unexpected keyword"):
        tg.max(x, foo=1)                                        # not silently the overall max
