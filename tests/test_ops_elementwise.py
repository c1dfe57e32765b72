"""Elementwise ops (ops/elementwise.py, ops/piecewise.py, ops/compare.py): gradients and second
derivatives against finite differences (float64, on every test device), forward values against
NumPy, closed forms and numbers worked by hand, dtypes and errors as PyTorch; and, when PyTorch is
installed, values and gradients against it.

Inputs keep away from the points where an op has no derivative (relu at 0, clamp bounds, ties of
maximum, the jumps of floor/fmod, the poles of tan and 1/x, the edge of asin's domain) by
construction: the strategies exclude a ball around each kink.
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
# One test per member of a family of ops that share their code path: fewer examples for each.
FAMILY = settings(max_examples=max(8, settings.default.max_examples // 3))

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


# ----------------------------------------------------------------------------- more functions: smooth, rounding

INTEGERS = [float(k) for k in range(-4, 5)]
HALVES = [k + 0.5 for k in range(-4, 4)]

# name -> (function of one tensor, keyword arguments for strategies.tensors)
SMOOTH = {
    "log1p": (lambda x: x.log1p(), dict(min_value=-0.9, max_value=3.0)),
    "expm1": (lambda x: x.expm1(), {}),
    "log2": (lambda x: x.log2(), dict(min_value=0.1, max_value=3.0)),
    "log10": (lambda x: x.log10(), dict(min_value=0.1, max_value=3.0)),
    "square": (lambda x: x.square(), {}),
    "rsqrt": (lambda x: x.rsqrt(), dict(min_value=0.2, max_value=3.0)),
    "reciprocal": (lambda x: x.reciprocal(), dict(kinks=[0.0], min_kink_distance=0.3)),
    "tan": (lambda x: x.tan(), dict(min_value=-1.2, max_value=1.2)),
    "asin": (lambda x: x.asin(), dict(min_value=-0.9, max_value=0.9)),
    "acos": (lambda x: x.acos(), dict(min_value=-0.9, max_value=0.9)),
    "atan": (lambda x: x.atan(), {}),
    "sinh": (lambda x: x.sinh(), {}),
    "cosh": (lambda x: x.cosh(), {}),
    "frac": (lambda x: x.frac(), dict(kinks=INTEGERS, min_kink_distance=0.05)),
    "nan_to_num": (lambda x: x.nan_to_num(), {}),
    "tg.log1p": (lambda x: tg.log1p(x), dict(min_value=-0.9, max_value=3.0)),
}

# piecewise constant: gradient zero away from the jumps
STEPS = {
    "floor": (lambda x: x.floor(), INTEGERS),
    "ceil": (lambda x: x.ceil(), INTEGERS),
    "trunc": (lambda x: x.trunc(), INTEGERS),
    "round": (lambda x: x.round(), HALVES),
    "round_decimals": (lambda x: x.round(decimals=1), [k / 10 + 0.05 for k in range(-40, 40)]),
}


@pytest.mark.parametrize("name", list(SMOOTH))
@FAMILY
@given(data=st.data())
def test_smooth_gradient_matches_finite_differences(name, device, data):
    fn, kwargs = SMOOTH[name]
    assert gradcheck(fn, data.draw(tst.tensors(device=device, **kwargs), label="x"))


@pytest.mark.parametrize("name", [n for n in SMOOTH if n != "frac"])
@SECOND
@given(data=st.data())
def test_smooth_second_derivative_matches_finite_differences(name, device, data):
    fn, kwargs = SMOOTH[name]
    assert gradgradcheck(fn, data.draw(tst.tensors(device=device, **kwargs), label="x"))


@pytest.mark.parametrize("name", list(STEPS))
@SECOND
@given(data=st.data())
def test_rounding_gradient_is_zero_away_from_the_jumps(name, device, data):
    fn, jumps = STEPS[name]
    x = data.draw(tst.tensors(device=device, min_value=-3.9, max_value=3.9, kinks=jumps,
                              min_kink_distance=0.01), label="x")
    fn(x).sum().backward()
    assert not x.grad.numpy().any()
    assert gradcheck(fn, x)


def test_rounding_gradient_is_zero_at_a_jump_too(device):
    # PyTorch reports 0 at the jumps as well (there is no derivative there)
    x = tg.tensor([1.0, 2.5, -1.0], dtype=tg.float64, device=device, requires_grad=True)
    (x.floor() + x.ceil() + x.round() + x.trunc()).sum().backward()
    assert x.grad.tolist() == [0.0, 0.0, 0.0]


@pytest.mark.parametrize("name", ["log1p", "tan", "asin", "sinh", "square", "reciprocal"])
def test_smooth_op_of_a_zero_dim_tensor(name, device):
    x = tg.tensor(0.3, dtype=tg.float64, device=device, requires_grad=True)
    fn = SMOOTH[name][0]
    assert fn(x).shape == ()
    assert gradcheck(fn, x)


# ----------------------------------------------------------------------------- values by hand

def test_values_match_closed_forms(device):
    x = tg.tensor([0.5, 2.0, 8.0], dtype=tg.float64, device=device)
    np.testing.assert_allclose(x.log1p().numpy(), np.log(1 + np.array([0.5, 2.0, 8.0])), rtol=1e-15)
    assert x.log2().tolist() == [-1.0, 1.0, 3.0]            # exact at powers of two
    assert x.new_tensor([1.0, 10.0, 1000.0]).log10().tolist() == [0.0, 1.0, 3.0]
    assert x.square().tolist() == [0.25, 4.0, 64.0]
    assert tg.tensor([4.0, 0.25], device=device).rsqrt().tolist() == [0.5, 2.0]
    assert tg.tensor([4.0, -0.5], device=device).reciprocal().tolist() == [0.25, -2.0]
    np.testing.assert_allclose(tg.tensor([1e-10], dtype=tg.float64, device=device).expm1().item(),
                               1e-10 + 5e-21, rtol=1e-12)     # no cancellation near 0
    np.testing.assert_allclose(tg.tensor([1.0], device=device).atan().item(), math.pi / 4, rtol=1e-6)
    np.testing.assert_allclose(tg.tensor([0.5], device=device).asin().item(), math.pi / 6, rtol=1e-6)
    np.testing.assert_allclose(tg.tensor([0.5], device=device).acos().item(), math.pi / 3, rtol=1e-6)


def test_round_is_half_to_even_with_decimals(device):
    x = tg.tensor([0.5, 1.5, 2.5, -0.5, -1.5], device=device)
    assert x.round().tolist() == [0.0, 2.0, 2.0, -0.0, -2.0]
    tens = tg.tensor([15.0, 25.0, 1234.0], device=device).round(decimals=-1)
    assert tens.tolist() == [20.0, 20.0, 1230.0]              # 15 and 25 both to 20: half to even
    np.testing.assert_allclose(tg.tensor([1.2345, -2.71828], dtype=tg.float64, device=device)
                               .round(decimals=2).numpy(), [1.23, -2.72])


def test_frac_keeps_the_sign_and_trunc_rounds_toward_zero(device):
    x = tg.tensor([1.75, -1.75, 3.0], device=device)
    assert x.trunc().tolist() == [1.0, -1.0, 3.0]
    assert x.frac().tolist() == [0.75, -0.75, 0.0]
    assert x.floor().tolist() == [1.0, -2.0, 3.0] and x.ceil().tolist() == [2.0, -1.0, 3.0]


def test_rounding_an_integer_tensor_returns_it_unchanged(device):
    x = tg.tensor([3, -2], device=device)
    for out in (x.floor(), x.ceil(), x.trunc(), x.round()):
        assert out.dtype == tg.int64 and out.tolist() == [3, -2]


def test_smooth_functions_of_integers_are_float32(device):
    x = tg.tensor([1, 2, 4], device=device)
    for out in (x.log1p(), x.log2(), x.tan(), x.sinh(), x.reciprocal(), x.rsqrt()):
        assert out.dtype == tg.float32
    assert x.log2().tolist() == [0.0, 1.0, 2.0]
    assert x.square().dtype == tg.int64          # square stays in the integer dtype (x * x)


def test_isnan_isinf_isfinite(device):
    x = tg.tensor([1.0, math.nan, math.inf, -math.inf], device=device)
    assert x.isnan().tolist() == [False, True, False, False]
    assert x.isinf().tolist() == [False, False, True, True]
    assert x.isfinite().tolist() == [True, False, False, False]
    i = tg.tensor([1, 2], device=device)
    assert i.isnan().tolist() == [False, False] and i.isfinite().tolist() == [True, True]
    assert x.isnan().dtype == tg.bool


def test_nan_to_num_values_and_gradient(device):
    x = tg.tensor([1.5, math.nan, math.inf, -math.inf], dtype=tg.float64, device=device,
                  requires_grad=True)
    big = np.finfo(np.float64).max
    assert x.nan_to_num().tolist() == [1.5, 0.0, big, -big]
    assert x.nan_to_num(nan=-1.0, posinf=9.0, neginf=-9.0).tolist() == [1.5, -1.0, 9.0, -9.0]
    x.nan_to_num().sum().backward()
    assert x.grad.tolist() == [1.0, 0.0, 0.0, 0.0]     # replaced values do not depend on x
    f = tg.tensor([math.inf], device=device).nan_to_num()
    assert f.item() == np.finfo(np.float32).max


def test_isclose_allclose_and_equal(device):
    a = tg.tensor([1.0, 2.0, math.inf, math.nan], device=device)
    b = tg.tensor([1.0 + 1e-6, 2.1, math.inf, math.nan], device=device)
    # |a - b| <= atol + rtol |b|: 1e-6 <= 1e-8 + 1e-5 (1 + 1e-6) holds, 0.1 does not
    assert a.isclose(b).tolist() == [True, False, True, False]
    assert a.isclose(b, equal_nan=True).tolist() == [True, False, True, True]
    assert tg.isclose(a, b, atol=0.2).tolist() == [True, True, True, False]
    assert not a.allclose(b) and a[:1].allclose(b[:1]) and tg.allclose(a, b, atol=0.2, equal_nan=True)
    assert isinstance(a.allclose(b), bool)
    assert tg.equal(a[:2], tg.tensor([1.0, 2.0], device=device))
    assert not tg.equal(a[:2], tg.tensor([1.0, 2.0, 3.0], device=device))     # shapes differ
    assert not tg.equal(a[:2], tg.tensor([1.0, 2.5], device=device))


def test_isclose_of_different_dtypes_is_an_error(device):
    with pytest.raises(ValueError, match="isclose.*same dtype"):
        tg.tensor([1, 2], device=device).isclose(tg.tensor([1.0, 2.0], device=device))


# ----------------------------------------------------------------------------- division with remainder, atan2, hypot, lerp

def _quotient_pair(data, device):
    """(x, y) with |y| >= 0.5 and x / y at least 0.1 from an integer: fmod, remainder and // have no
    jump there. Shapes broadcast (y may be smaller than x)."""
    shapes = data.draw(tst.broadcastable_shapes(2), label="shapes").input_shapes
    y = data.draw(tst.tensors(shape=shapes[1], min_value=-2.0, max_value=2.0, kinks=[0.0],
                              min_kink_distance=0.5, device=device), label="y")
    q = data.draw(tst.arrays(shape=shapes[0], min_value=-3.0, max_value=3.0, kinks=INTEGERS,
                             min_kink_distance=0.1, device=device), label="x / y")
    return tg.tensor(q * y.array, requires_grad=True, device=device), y


def _away_from_origin(data, device):
    shapes = data.draw(tst.broadcastable_shapes(2), label="shapes").input_shapes
    kw = dict(kinks=[0.0], min_kink_distance=0.3, device=device)
    return (data.draw(tst.tensors(shape=shapes[0], **kw), label="x"),
            data.draw(tst.tensors(shape=shapes[1], **kw), label="y"))


def _lerp_triple(data, device):
    shapes = data.draw(tst.broadcastable_shapes(3), label="shapes").input_shapes
    # weights on both sides of 1/2, where the formula switches, but not at it
    return tuple(data.draw(tst.tensors(shape=s, device=device, **kw), label=n)
                 for s, n, kw in zip(shapes, "abw", ({}, {}, dict(kinks=[0.5], min_kink_distance=1e-2))))


BINARY_FUNCTIONS = {
    "fmod": (lambda x, y: x.fmod(y), _quotient_pair),
    "remainder": (lambda x, y: x.remainder(y), _quotient_pair),
    "mod_operator": (lambda x, y: x % y, _quotient_pair),
    "floor_divide": (lambda x, y: x // y, _quotient_pair),     # gradient 0 away from the jumps
    "atan2": (lambda x, y: x.atan2(y), _away_from_origin),
    "hypot": (lambda x, y: x.hypot(y), _away_from_origin),
    "tg.atan2": (lambda x, y: tg.atan2(y, x), _away_from_origin),
}


@pytest.mark.parametrize("name", list(BINARY_FUNCTIONS))
@FAMILY
@given(data=st.data())
def test_binary_function_gradient_with_broadcasting_matches_finite_differences(name, device, data):
    fn, draw = BINARY_FUNCTIONS[name]
    assert gradcheck(fn, *draw(data, device))


@pytest.mark.parametrize("name", ["fmod", "atan2", "hypot"])
@SECOND
@given(data=st.data())
def test_binary_function_second_derivative_matches_finite_differences(name, device, data):
    fn, draw = BINARY_FUNCTIONS[name]
    assert gradgradcheck(fn, *draw(data, device))


@given(data=st.data())
def test_lerp_gradient_matches_finite_differences(device, data):
    a, b, w = _lerp_triple(data, device)
    assert gradcheck(lambda a, b, w: a.lerp(b, w), a, b, w)
    assert gradcheck(lambda a, b: tg.lerp(a, b, 0.75), a, b)


@SECOND
@given(data=st.data())
def test_lerp_second_derivative_matches_finite_differences(device, data):
    assert gradgradcheck(lambda a, b, w: a.lerp(b, w), *_lerp_triple(data, device))


def test_lerp_reaches_its_ends_exactly(device):
    a = tg.tensor([1.0, -3.0], device=device)
    b = tg.tensor([0.1, 7.0], device=device)
    assert a.lerp(b, 0.0).tolist() == a.tolist() and a.lerp(b, 1.0).tolist() == b.tolist()
    np.testing.assert_allclose(a.lerp(b, 0.25).numpy(), [0.775, -0.5], rtol=1e-6)


def test_fmod_and_remainder_sign_rules(device):
    # fmod truncates (sign of the dividend), remainder floors (sign of the divisor), as C and Python
    x = tg.tensor([5.0, -5.0, 5.0, -5.0], device=device)
    y = tg.tensor([3.0, 3.0, -3.0, -3.0], device=device)
    assert x.fmod(y).tolist() == [2.0, -2.0, 2.0, -2.0]
    assert x.remainder(y).tolist() == [2.0, 1.0, -1.0, -2.0]
    assert (x % y).tolist() == [5 % 3, -5 % 3, 5 % -3, -5 % -3]
    assert (x // y).tolist() == [5 // 3, -5 // 3, 5 // -3, -5 // -3]       # floor, as Python
    i = tg.tensor([7, -7], device=device)
    assert (i // 2).tolist() == [3, -4] and (i % 2).tolist() == [1, 1] and i.fmod(2).tolist() == [1, -1]
    assert (i // 2).dtype == tg.int64
    assert (7 % tg.tensor([5, -5], device=device)).tolist() == [2, -3]
    assert (7.5 // tg.tensor([2.0, -2.0], device=device)).tolist() == [3.0, -4.0]
    assert tg.fmod(tg.tensor([5.5], device=device), 1.5).tolist() == [1.0]


def test_fmod_and_remainder_gradients_by_hand(device):
    # d/dy (x - q y) = -q with q = trunc(x / y) (fmod) or floor(x / y) (remainder); d/dx = 1
    x = tg.tensor([-5.0], dtype=tg.float64, device=device, requires_grad=True)
    y = tg.tensor([3.0], dtype=tg.float64, device=device, requires_grad=True)
    x.fmod(y).backward()
    assert (x.grad.item(), y.grad.item()) == (1.0, 1.0)         # q = trunc(-5/3) = -1
    x.grad = y.grad = None
    x.remainder(y).backward()
    assert (x.grad.item(), y.grad.item()) == (1.0, 2.0)         # q = floor(-5/3) = -2


def test_integer_division_by_zero_raises(device):
    i = tg.tensor([5, -5], device=device)
    for fn in (lambda: i % 0, lambda: i // 0, lambda: i.fmod(tg.tensor([1, 0], device=device))):
        with pytest.raises(ZeroDivisionError):
            fn()
    assert (tg.tensor([5.0, -5.0], device=device) // 0).tolist() == [math.inf, -math.inf]


def test_floor_divide_has_zero_gradient(device):
    x = tg.tensor([5.5, -2.0], device=device, requires_grad=True)
    (x // 2 + x).sum().backward()
    assert x.grad.tolist() == [1.0, 1.0]


def test_atan2_values_cover_all_quadrants(device):
    y = tg.tensor([1.0, 1.0, -1.0, -1.0, 0.0], dtype=tg.float64, device=device)
    x = tg.tensor([1.0, -1.0, -1.0, 1.0, -1.0], dtype=tg.float64, device=device)
    np.testing.assert_allclose(y.atan2(x).numpy(), [math.pi / 4, 3 * math.pi / 4, -3 * math.pi / 4,
                                                    -math.pi / 4, math.pi])
    assert tg.tensor([1, 2], device=device).atan2(tg.tensor([1, 2], device=device)).dtype == tg.float32


def test_hypot_does_not_overflow(device):
    x = tg.tensor([3e200, 3.0], dtype=tg.float64, device=device)
    np.testing.assert_allclose(x.hypot(x * (4 / 3)).numpy(), [5e200, 5.0])


# ----------------------------------------------------------------------------- against PyTorch

TORCH_UNARY = ["log1p", "expm1", "log2", "log10", "square", "rsqrt", "reciprocal", "tan", "asin",
               "acos", "atan", "sinh", "cosh", "frac", "floor", "ceil", "trunc", "round", "nan_to_num",
               "isnan", "isinf", "isfinite"]


@pytest.mark.parametrize("name", TORCH_UNARY)
def test_unary_value_and_gradient_match_pytorch(name):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    a = rng.uniform(0.05, 0.95, (3, 4)) * rng.choice([-1, 1], (3, 4))
    if name in ("log1p", "log2", "log10", "rsqrt"):
        a = np.abs(a)
    x, xt = tg.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    y, yt = getattr(x, name)(), getattr(xt, name)()
    np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), rtol=1e-13, atol=1e-15)
    assert str(y.dtype) == str(yt.dtype).replace("torch.", "")
    if y.dtype.kind == "f":
        g = rng.standard_normal(a.shape)
        y.backward(tg.tensor(g))
        yt.backward(torch.tensor(g))
        np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("name", ["fmod", "remainder", "floor_divide", "atan2", "hypot"])
@pytest.mark.parametrize("dtype", ["float32", "int64"])
def test_binary_values_match_pytorch_for_every_sign(name, dtype):
    torch = pytest.importorskip("torch")
    if name == "hypot" and dtype == "int64":
        pytest.skip("PyTorch has no integer hypot")
    a = np.array([7, -7, 7, -7, 6, 0, 3], dtype=dtype)
    b = np.array([2, 2, -2, -2, 4, 5, -5], dtype=dtype)
    for other, other_t in ((tg.tensor(b), torch.tensor(b)), (3, 3), (-2.5, -2.5)):
        if name in ("atan2", "hypot") and not isinstance(other, tg.Tensor):
            continue
        y = getattr(tg.tensor(a), name)(other)
        yt = getattr(torch.tensor(a), name)(other_t)
        np.testing.assert_allclose(y.numpy(), yt.numpy(), rtol=1e-6)
        assert str(y.dtype) == str(yt.dtype).replace("torch.", "")


@pytest.mark.parametrize("name", ["fmod", "remainder", "atan2", "hypot"])
def test_binary_gradient_matches_pytorch(name):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    a, b = rng.uniform(-3, 3, (3, 4)), rng.uniform(0.5, 2, (4,)) * rng.choice([-1, 1], 4)
    x, y = tg.tensor(a, requires_grad=True), tg.tensor(b, requires_grad=True)
    xt, yt = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    getattr(x, name)(y).sum().backward()
    getattr(xt, name)(yt).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(y.grad.numpy(), yt.grad.numpy(), rtol=1e-12)


def test_round_decimals_and_lerp_match_pytorch():
    torch = pytest.importorskip("torch")
    a = np.random.default_rng(2).uniform(-100, 100, 50).astype(np.float32)
    for d in (-2, -1, 0, 1, 3):
        np.testing.assert_array_equal(tg.tensor(a).round(decimals=d).numpy(),
                                      torch.tensor(a).round(decimals=d).numpy())
    b = a[::-1].copy()
    for w in (0.0, 0.3, 0.5, 0.7, 1.0):
        # PyTorch fuses the multiply-add (one rounding); agreement to the inputs' float32 ulp (~1e-5)
        np.testing.assert_allclose(tg.tensor(a).lerp(tg.tensor(b), w).numpy(),
                                   torch.tensor(a).lerp(torch.tensor(b), w).numpy(), rtol=1e-6, atol=2e-5)


# ----------------------------------------------------------------------------- operators and reductions

def test_bitwise_operators_on_integers_and_logical_on_bools():
    assert (tg.tensor([5, 3]) & tg.tensor([3, 1])).tolist() == [1, 1]
    assert (tg.tensor([5, 3]) | 8).tolist() == [13, 11]
    assert (tg.tensor([5]) ^ 3).tolist() == [6]
    assert (~tg.tensor([5])).tolist() == [-6]
    assert (~tg.tensor([True, False])).tolist() == [False, True]
    assert (tg.tensor([True, False]) & tg.tensor([True, True])).tolist() == [True, False]
    with pytest.raises(TypeError, match="bitwise"):
        tg.ones(3) & tg.ones(3)
    with pytest.raises(TypeError, match="bitwise"):
        ~tg.ones(3)
