"""Elementwise ops: gradients and second derivatives against finite differences (float64, on every
test device), forward values against NumPy and closed forms.

Inputs keep away from the points where an op has no derivative (relu at 0, clamp bounds, ties of
maximum) by construction: the strategies exclude a ball around each kink.
"""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_rnn as tg
from tinygrad_rnn.testing import gradcheck, gradgradcheck
from tinygrad_rnn.testing import strategies as tst

# Second derivatives cost about three first-derivative checks: fewer examples, same profile scaling.
SECOND = settings(max_examples=max(5, settings.default.max_examples // 3))

# name -> (function of one tensor, keyword arguments for strategies.tensors)
UNARY = {
    "neg": (lambda x: -x, {}),
    "exp": (lambda x: x.exp(), {}),
    "log": (lambda x: x.log(), dict(min_value=0.1, max_value=3.0)),
    "sqrt": (lambda x: x.sqrt(), dict(min_value=0.1, max_value=3.0)),
    "abs": (lambda x: x.abs(), dict(kinks=[0.0], min_kink_distance=1e-2)),
    "sign": (lambda x: x.sign(), dict(kinks=[0.0], min_kink_distance=1e-2)),
    "sin": (lambda x: x.sin(), {}),
    "cos": (lambda x: x.cos(), {}),
    "tanh": (lambda x: x.tanh(), {}),
    "sigmoid": (lambda x: x.sigmoid(), dict(min_value=-6.0, max_value=6.0)),
    "relu": (lambda x: x.relu(), dict(kinks=[0.0], min_kink_distance=1e-2)),
    "leaky_relu": (lambda x: x.leaky_relu(0.1), dict(kinks=[0.0], min_kink_distance=1e-2)),
    "elu": (lambda x: x.elu(alpha=0.7), dict(kinks=[0.0], min_kink_distance=1e-2)),
    "gelu": (lambda x: x.gelu(), {}),
    "gelu_tanh": (lambda x: x.gelu(approximate="tanh"), {}),
    "softplus": (lambda x: x.softplus(), {}),
    "softplus_beta_threshold": (lambda x: x.softplus(beta=2.0, threshold=3.0),
                                dict(kinks=[1.5], min_kink_distance=1e-2)),
    "erf": (lambda x: x.erf(), {}),
    "clamp": (lambda x: x.clamp(-1.0, 1.0), dict(kinks=[-1.0, 1.0], min_kink_distance=1e-2)),
    "clamp_min": (lambda x: x.clamp(min=0.5), dict(kinks=[0.5], min_kink_distance=1e-2)),
    "clamp_max": (lambda x: x.clamp(max=-0.5), dict(kinks=[-0.5], min_kink_distance=1e-2)),
    "pow_int": (lambda x: x ** 3, {}),
    "pow_half": (lambda x: x ** 0.5, dict(min_value=0.1, max_value=3.0)),
    "pow_negative": (lambda x: x ** -2, dict(kinks=[0.0], min_kink_distance=0.3)),
    "pow_zero": (lambda x: x ** 0, {}),
    "rpow": (lambda x: 2.0 ** x, {}),
    "radd": (lambda x: 1.5 + x, {}),
    "rsub": (lambda x: 1.5 - x, {}),
    "rmul": (lambda x: -2.5 * x, {}),
    "rdiv": (lambda x: 2.0 / x, dict(kinks=[0.0], min_kink_distance=0.3)),
    "sub_scalar": (lambda x: x - 0.25, {}),
    "div_scalar": (lambda x: x / 4.0, {}),
}


def _draw_unary(data, name, device):
    fn, kwargs = UNARY[name]
    return fn, data.draw(tst.tensors(device=device, **kwargs), label="x")


@pytest.mark.parametrize("name", list(UNARY))
@given(data=st.data())
def test_unary_gradient_matches_finite_differences(name, device, data):
    fn, x = _draw_unary(data, name, device)
    assert gradcheck(fn, x)


@pytest.mark.parametrize("name", list(UNARY))
@SECOND
@given(data=st.data())
def test_unary_second_derivative_matches_finite_differences(name, device, data):
    fn, x = _draw_unary(data, name, device)
    assert gradgradcheck(fn, x)


@pytest.mark.parametrize("name", list(UNARY))
def test_unary_gradient_of_a_zero_dim_tensor(name, device):
    x = tg.tensor(0.7, dtype=tg.float64, device=device, requires_grad=True)   # inside every domain
    fn = UNARY[name][0]
    assert fn(x).shape == ()
    assert gradcheck(fn, x)


# ----------------------------------------------------------------------------- binary, broadcasting

def _pair(data, device, y_kwargs=None, x_kwargs=None):
    """Two tensors whose shapes broadcast together (sides of 1 and missing leading dims occur)."""
    shapes = data.draw(tst.broadcastable_shapes(2), label="shapes").input_shapes
    x = data.draw(tst.tensors(shape=shapes[0], device=device, **(x_kwargs or {})), label="x")
    y = data.draw(tst.tensors(shape=shapes[1], device=device, **(y_kwargs or {})), label="y")
    return x, y


def _max_pair(data, device):
    """(x, y) with y = x + d, |d| >= 0.01: maximum/minimum never see a tie, whatever broadcasts."""
    shapes = data.draw(tst.broadcastable_shapes(2), label="shapes").input_shapes
    x = data.draw(tst.tensors(shape=shapes[0], device=device), label="x")
    d = data.draw(tst.arrays(shape=shapes[1], kinks=[0.0], min_kink_distance=1e-2, device=device),
                  label="d")
    y = tg.tensor(x.array + d, requires_grad=True, device=device)
    return x, y


BINARY = {
    "add": (lambda x, y: x + y, lambda data, dev: _pair(data, dev)),
    "sub": (lambda x, y: x - y, lambda data, dev: _pair(data, dev)),
    "mul": (lambda x, y: x * y, lambda data, dev: _pair(data, dev)),
    "div": (lambda x, y: x / y,
            lambda data, dev: _pair(data, dev, dict(kinks=[0.0], min_kink_distance=0.3))),
    # exponent 0 is a point where the gradient for x is masked to 0 (PyTorch's formula: 0 * x**-1
    # would be nan at x = 0), so the second derivative in the exponent is not smooth there
    "pow": (lambda x, y: x ** y,
            lambda data, dev: _pair(data, dev, dict(min_value=-2.0, max_value=2.0, kinks=[0.0],
                                                    min_kink_distance=1e-2),
                                    dict(min_value=0.3, max_value=2.0))),
    "maximum": (lambda x, y: x.maximum(y), _max_pair),
    "minimum": (lambda x, y: x.minimum(y), _max_pair),
    "maximum_reversed": (lambda x, y: y.maximum(x), _max_pair),
    "function_maximum": (lambda x, y: tg.maximum(x, y), _max_pair),
}


@pytest.mark.parametrize("name", list(BINARY))
@given(data=st.data())
def test_binary_gradient_with_broadcasting_matches_finite_differences(name, device, data):
    fn, draw = BINARY[name]
    x, y = draw(data, device)
    assert gradcheck(fn, x, y)


@pytest.mark.parametrize("name", list(BINARY))
@SECOND
@given(data=st.data())
def test_binary_second_derivative_matches_finite_differences(name, device, data):
    fn, draw = BINARY[name]
    x, y = draw(data, device)
    assert gradgradcheck(fn, x, y)


def _where_inputs(data, device):
    shapes = data.draw(tst.broadcastable_shapes(3), label="shapes").input_shapes
    cond = data.draw(tst.arrays(shape=shapes[0], dtype=np.bool_, device=device), label="cond")
    x = data.draw(tst.tensors(shape=shapes[1], device=device), label="x")
    y = data.draw(tst.tensors(shape=shapes[2], device=device), label="y")
    return tg.as_tensor(cond, device=device), x, y


@given(data=st.data())
def test_where_gradient_with_broadcasting_matches_finite_differences(device, data):
    cond, x, y = _where_inputs(data, device)
    assert gradcheck(lambda a, b: tg.where(cond, a * a, b.sin()), x, y)


@SECOND
@given(data=st.data())
def test_where_second_derivative_matches_finite_differences(device, data):
    cond, x, y = _where_inputs(data, device)
    assert gradgradcheck(lambda a, b: tg.where(cond, a * a, b.sin()), x, y)


def test_where_sends_gradient_only_to_the_chosen_side(device):
    x = tg.tensor([1.0, 2.0, 3.0], device=device, requires_grad=True)
    y = tg.tensor([10.0, 20.0, 30.0], device=device, requires_grad=True)
    cond = tg.tensor([True, False, True], device=device)
    tg.where(cond, x, y).sum().backward()
    assert x.grad.tolist() == [1.0, 0.0, 1.0]
    assert y.grad.tolist() == [0.0, 1.0, 0.0]


def test_maximum_splits_the_gradient_evenly_on_ties(device):
    x = tg.tensor([1.0, 2.0], device=device, requires_grad=True)
    y = tg.tensor([1.0, 3.0], device=device, requires_grad=True)
    x.maximum(y).sum().backward()
    assert x.grad.tolist() == [0.5, 0.0]
    assert y.grad.tolist() == [0.5, 1.0]


@given(data=st.data())
def test_gradient_through_non_contiguous_views_matches_finite_differences(device, data):
    x = data.draw(tst.tensors(min_dims=2, contiguous=False, device=device), label="x")
    y = data.draw(tst.tensors(shape=x.shape[-1:], device=device), label="y")
    assert gradcheck(lambda a, b: (a * b).tanh() + a.T.sum(), x, y)


# ----------------------------------------------------------------------------- NumPy operands

@pytest.mark.parametrize("name,fn", [
    ("radd", lambda a, x: a + x), ("rsub", lambda a, x: a - x), ("rmul", lambda a, x: a * x),
    ("rdiv", lambda a, x: a / x), ("rpow", lambda a, x: a ** x), ("add", lambda a, x: x + a),
    ("sub", lambda a, x: x - a), ("mul", lambda a, x: x * a), ("div", lambda a, x: x / a),
    ("pow", lambda a, x: x ** a),
])
def test_numpy_array_operand_gives_a_tensor_with_correct_gradient(name, fn):
    # NumPy arrays are host data, so this runs on the CPU; NumPy must defer to Tensor's operators.
    a = np.array([[0.5, 1.5, 2.0], [1.25, 0.75, 1.0]])
    x = tg.tensor([0.7, 1.3, 2.1], dtype=tg.float64, requires_grad=True)
    assert isinstance(fn(a, x), tg.Tensor)
    assert gradcheck(lambda t: fn(a, t), x)


def test_numpy_scalar_does_not_upcast_a_float32_tensor(device):
    x = tg.ones(3, device=device)
    assert (x * np.float64(2.0)).dtype == np.float32
    assert (np.float64(2.0) * x).dtype == np.float32


# ----------------------------------------------------------------------------- forward values

def _erf(a):
    return np.vectorize(math.erf)(a)


FORWARD = {
    "sigmoid": (lambda x: x.sigmoid(), lambda a: 1 / (1 + np.exp(-a))),
    "softplus": (lambda x: x.softplus(), lambda a: np.log1p(np.exp(a))),
    "softplus_beta": (lambda x: x.softplus(beta=2.0), lambda a: np.log1p(np.exp(2 * a)) / 2),
    "erf": (lambda x: x.erf(), _erf),
    "gelu": (lambda x: x.gelu(), lambda a: a * 0.5 * (1 + _erf(a / math.sqrt(2)))),
    "gelu_tanh": (lambda x: x.gelu(approximate="tanh"),
                  lambda a: 0.5 * a * (1 + np.tanh(math.sqrt(2 / math.pi) * (a + 0.044715 * a ** 3)))),
    "elu": (lambda x: x.elu(0.7), lambda a: np.where(a > 0, a, 0.7 * (np.exp(a) - 1))),
    "leaky_relu": (lambda x: x.leaky_relu(0.1), lambda a: np.where(a > 0, a, 0.1 * a)),
    "relu": (lambda x: x.relu(), lambda a: np.where(a > 0, a, 0.0)),
    "clamp": (lambda x: x.clamp(-1.0, 0.5), lambda a: np.minimum(np.maximum(a, -1.0), 0.5)),
}


@pytest.mark.parametrize("name", list(FORWARD))
def test_forward_values_match_closed_form(name, device):
    fn, ref = FORWARD[name]
    a = np.linspace(-6.0, 6.0, 49)
    out = fn(tg.tensor(a, dtype=tg.float64, device=device))
    np.testing.assert_allclose(out.numpy(), ref(a), rtol=1e-12, atol=1e-14)


def test_erf_is_accurate_far_into_the_tails(device):
    a = np.array([-30.0, -5.5, -2.6, -2.4, 0.0, 1e-8, 2.4, 2.6, 5.5, 30.0])
    out = tg.tensor(a, dtype=tg.float64, device=device).erf().numpy()
    np.testing.assert_allclose(out, _erf(a), rtol=1e-14, atol=1e-300)


def test_sigmoid_of_extreme_logits_is_finite_and_saturates(device):
    out = tg.tensor([-1e4, -800.0, 800.0, 1e4], device=device).sigmoid().numpy()
    assert np.all(np.isfinite(out))
    np.testing.assert_array_equal(out, [0.0, 0.0, 1.0, 1.0])


def test_softplus_of_large_inputs_is_the_identity(device):
    out = tg.tensor([30.0, 1e4], device=device).softplus().numpy()
    np.testing.assert_array_equal(out, [30.0, 1e4])


def test_float32_ops_keep_float32(device):
    x = tg.tensor([0.5, -1.0], device=device)
    for y in (x.exp(), x.sigmoid(), x.relu(), x.erf(), x.gelu(), x.elu(), x.leaky_relu(),
              x.softplus(), x.clamp(-0.5, 0.5), x * 2, 2 ** x, x ** 2, x.maximum(x)):
        assert y.dtype == np.float32


@pytest.mark.parametrize("name,fn,expected", [
    ("x**3", lambda x: x ** 3, lambda v: 6 * v),
    ("tanh", lambda x: x.tanh(), lambda v: -2 * np.tanh(v) * (1 - np.tanh(v) ** 2)),
    ("sigmoid", lambda x: x.sigmoid(),
     lambda v: (1 / (1 + np.exp(-v))) * (1 - 1 / (1 + np.exp(-v))) * (1 - 2 / (1 + np.exp(-v)))),
    ("exp*sin", lambda x: x.exp() * x.sin(), lambda v: 2 * np.exp(v) * np.cos(v)),
])
def test_second_derivative_matches_closed_form(name, fn, expected, device):
    v = np.array([-1.3, -0.2, 0.4, 1.7])
    x = tg.tensor(v, dtype=tg.float64, device=device, requires_grad=True)
    g, = tg.autograd.grad(fn(x).sum(), x, create_graph=True)
    gg, = tg.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(gg.numpy(), expected(v), rtol=1e-10)
