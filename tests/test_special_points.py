"""Values and gradients at special points, where PyTorch defines a particular value or subgradient:
NaN and infinities, zeros (of a product, of pow's base, at atan2's origin), the bounds and kinks
of piecewise functions and their tensor bounds, ties. Each is checked against PyTorch's choice
written out by hand and, where it is installed, against PyTorch itself.
"""
import itertools
import math

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import nn


# ----------------------------------------------------------------------------- operators and reductions

def test_pow_gradients_at_base_zero_follow_pytorch():
    base = tg.tensor([0.0, 0.0, 2.0], requires_grad=True)
    expo = tg.tensor([0.0, 2.0, 0.5], requires_grad=True)
    (base ** expo).sum().backward()
    # d/dbase: 0 where the exponent is 0; 2 * 0 = 0; 0.5 / sqrt(2)
    np.testing.assert_allclose(base.grad.numpy(), [0.0, 0.0, 0.5 / math.sqrt(2)], rtol=1e-6)
    # d/dexpo: 0 where the base is 0 and the exponent >= 0; sqrt(2) log 2
    np.testing.assert_allclose(expo.grad.numpy(), [0.0, 0.0, math.sqrt(2) * math.log(2)], rtol=1e-6)


def test_pow_with_a_number_base_has_finite_or_nan_gradients_not_crashes():
    y = tg.tensor([1.0, 2.0], requires_grad=True)
    (0.0 ** y).sum().backward()
    assert y.grad.tolist() == [0.0, 0.0]
    y.grad = None
    ((-2.0) ** y).sum().backward()                  # log(-2) is nan, as in PyTorch
    assert np.isnan(y.grad.numpy()).all()
    y.grad = None
    (3.0 ** y).sum().backward()
    np.testing.assert_allclose(y.grad.numpy(), [3 * math.log(3), 9 * math.log(3)], rtol=1e-6)


def test_div_denominator_gradient_does_not_overflow_in_float32():
    x = tg.tensor([1e-30], requires_grad=True)
    y = tg.tensor([1e-30], requires_grad=True)
    (x / y).sum().backward()
    np.testing.assert_allclose(y.grad.numpy(), [-1e30], rtol=1e-5)   # -x / y^2, y^2 underflows
    np.testing.assert_allclose(x.grad.numpy(), [1e30], rtol=1e-5)


# ----------------------------------------------------------------------------- more in-place cases

def test_clamp_with_tensor_bounds_gives_the_bounds_their_gradient():
    x = tg.tensor([0.0, 1.0, 2.0, 3.0], requires_grad=True)
    lo = tg.tensor([0.5, 0.5, 2.0, 1.0], requires_grad=True)
    hi = tg.tensor([2.5, 2.5, 2.5, 2.0], requires_grad=True)
    y = x.clamp(lo, hi)
    (y * tg.tensor([1.0, 2.0, 3.0, 4.0])).sum().backward()
    assert y.tolist() == [0.5, 1.0, 2.0, 2.0]
    # x where lo <= x <= hi (ties go to x), each bound where it sets the value (PyTorch's rule)
    assert x.grad.tolist() == [0.0, 2.0, 3.0, 0.0]
    assert lo.grad.tolist() == [1.0, 0.0, 0.0, 0.0] and hi.grad.tolist() == [0.0, 0.0, 0.0, 4.0]


nan, inf = math.nan, math.inf


def _grad(fn, *values, dtype=np.float32):
    """Gradients of ``fn(*tensors).sum()`` with respect to each input (None where none flows)."""
    xs = [tg.tensor(np.asarray(v, dtype=dtype), requires_grad=True) for v in values]
    fn(*xs).sum().backward()
    return [None if x.grad is None else x.grad.numpy() for x in xs]


# ----------------------------------------------------------------------------- the 0-"norm" counts NaN

def test_zero_norm_counts_nan_as_nonzero():
    # PyTorch: norm(0) is the number of entries != 0, and NaN != 0
    x = tg.tensor([[1.0, nan, 0.0], [0.0, 0.0, -inf]])
    assert x.norm(0).item() == 3.0
    assert tg.linalg.vector_norm(x, ord=0, dim=1).tolist() == [2.0, 1.0]
    assert tg.linalg.vector_norm(x, ord=0, dim=1, keepdim=True).shape == (2, 1)


def test_zero_norm_has_no_gradient():
    # PyTorch: the ord-0 norm is in the graph, but its backward gives no gradient (x.grad stays None)
    x = tg.tensor([1.0, nan, 0.0], requires_grad=True)
    n = tg.linalg.vector_norm(x, ord=0)
    assert n.requires_grad
    n.backward()
    assert x.grad is None
    (x * 2 + x.norm(0)).sum().backward()
    assert x.grad.tolist() == [2.0, 2.0, 2.0]


def test_zero_norm_matches_pytorch():
    # PyTorch: values and the missing gradient
    torch = pytest.importorskip("torch")
    a = np.array([[1.0, nan, 0.0, -0.0], [inf, 0.0, 2.0, nan]], np.float32)
    for dim in (None, 0, 1):
        x, tx = tg.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
        got, want = tg.linalg.vector_norm(x, 0, dim), torch.linalg.vector_norm(tx, 0, dim)
        np.testing.assert_array_equal(got.detach().numpy(), want.detach().numpy())
        got.sum().backward()
        want.sum().backward()
        assert x.grad is None and tx.grad is None


# ----------------------------------------------------------------------------- NaN in clamp and threshold

def test_clamp_with_a_nan_tensor_bound_gives_nan():
    # PyTorch: a NaN bound (or NaN x) makes the result NaN; scalar bounds already did
    x = tg.tensor([0.5, 0.5, 0.5, nan])
    out = x.clamp(tg.tensor([nan, 0.0, 0.0, 0.0]), tg.tensor([1.0, nan, 1.0, 1.0]))
    np.testing.assert_array_equal(out.numpy(), np.array([nan, nan, 0.5, nan], np.float32))
    np.testing.assert_array_equal(x.clamp(min=tg.tensor(nan)).numpy(), np.full(4, nan, np.float32))


def test_clamp_tensor_bound_gradients_follow_pytorch_rules():
    # PyTorch: x where lo <= x <= hi, lo where x < lo < hi, hi where x > hi or hi < lo; NaN: none
    x = tg.tensor([0.0, 2.0, 5.0, 1.0, 0.0, 0.0, 5.0, nan], requires_grad=True)
    lo = tg.tensor([1.0, 1.0, 1.0, 1.0, 2.0, 1.0, 1.0, 0.0], requires_grad=True)
    hi = tg.tensor([3.0, 3.0, 3.0, 1.0, 1.0, 1.0, 1.0, 1.0], requires_grad=True)
    out = x.clamp(lo, hi)
    np.testing.assert_array_equal(out.detach().numpy(), np.array([1, 2, 3, 1, 1, 1, 1, nan], np.float32))
    out.sum().backward()
    assert x.grad.tolist() == [0, 1, 0, 1, 0, 0, 0, 0]
    assert lo.grad.tolist() == [1, 0, 0, 0, 0, 0, 0, 0]
    assert hi.grad.tolist() == [0, 0, 1, 0, 1, 0, 1, 0]      # x < lo = hi (index 5): no one's


def test_threshold_keeps_nan():
    # PyTorch: value where x <= threshold, else x; NaN is not <= anything, so it stays, gradient 1
    x = tg.tensor([nan, 1.0, 0.5, 0.0], requires_grad=True)
    out = nn.functional.threshold(x, 0.5, 7.0)
    np.testing.assert_array_equal(out.detach().numpy(), np.array([nan, 1.0, 7.0, 7.0], np.float32))
    out.sum().backward()
    assert x.grad.tolist() == [1.0, 1.0, 0.0, 0.0]
    np.testing.assert_array_equal(nn.Threshold(0.5, 7.0)(x).detach().numpy(), out.detach().numpy())


# ----------------------------------------------------------------------------- gradients at special points

def test_atan2_gradient_at_the_origin_is_zero():
    # PyTorch: 1 / (x^2 + y^2) is taken as 0 where it is infinite (the origin, or an underflow)
    assert _grad(lambda y, x: y.atan2(x), 0.0, 0.0) == [0.0, 0.0]
    assert _grad(lambda y, x: y.atan2(x), 1e-30, 1e-30) == [0.0, 0.0]     # x^2 + y^2 underflows
    gy, gx = _grad(lambda y, x: y.atan2(x), 3.0, 4.0, dtype=np.float64)
    assert gy == pytest.approx(4 / 25, rel=1e-15) and gx == pytest.approx(-3 / 25, rel=1e-15)


def test_remainder_divisor_gradient_is_minus_the_floor_quotient():
    # PyTorch: d/dy remainder(x, y) = -(x // y) with floor division's own rules at inf and NaN;
    # Python's float // follows the same rules, so it is the truth here
    for a, b in [(7.0, 2.0), (-7.0, 2.0), (1.0, -inf), (-2.0, inf), (inf, 1.0), (1e30, 3.0), (nan, 1.0),
                 (0.5, -inf), (5.0, 1e30)]:
        gx, gy = _grad(lambda x, y: x.remainder(y), a, b, dtype=np.float64)
        assert gx == 1.0
        np.testing.assert_array_equal(gy, np.float64(-(a // b)), err_msg=f"{a} % {b}")


def test_prod_gradient_with_a_zero_is_the_product_of_the_others():
    # PyTorch: no division once there is a zero: d/dx_i = prod_{j != i} x_j, NaN where that is 0 * inf
    np.testing.assert_array_equal(_grad(lambda x: x.prod(), [0.0, 1.0, inf])[0], [inf, nan, 0.0])
    np.testing.assert_array_equal(_grad(lambda x: x.prod(0), [0.0, 2.0, 3.0])[0], [6.0, 0.0, 0.0])
    np.testing.assert_array_equal(_grad(lambda x: x.prod(0), [0.0, 0.0, inf])[0], [nan, nan, 0.0])
    # the whole-tensor product with two zeros: all 0 (PyTorch's shortcut outside create_graph)
    np.testing.assert_array_equal(_grad(lambda x: x.prod(), [0.0, 0.0, inf])[0], [0.0, 0.0, 0.0])
    # a 0-d product passes the gradient on
    assert _grad(lambda x: x.prod(), inf)[0] == 1.0
    # by hand over several dims: the product of the other three entries
    g = _grad(lambda x: x.prod((0, 1)), [[2.0, 0.0], [3.0, 5.0]])[0]
    np.testing.assert_array_equal(g, [[0.0, 30.0], [0.0, 0.0]])


def test_cumprod_gradient_stops_at_the_second_zero():
    # PyTorch: at the first zero z1 the gradient is y[z1-1] * sum_{z1<=i<z2} g_i prod_{z1<k<=i} x_k,
    # so entries past the second zero z2 (even inf) do not count: x = [2, 0, 3, 0, x4]: [1, 8, 0, 0, 0]
    for last in (5.0, inf):
        g = _grad(lambda x: x.cumprod(0), [2.0, 0.0, 3.0, 0.0, last])[0]
        np.testing.assert_array_equal(g, [1.0, 8.0, 0.0, 0.0, 0.0])
    # before the first zero, only the running products before it count: [1, inf, 0] has no NaN
    np.testing.assert_array_equal(_grad(lambda x: x.cumprod(0), [1.0, inf, 0.0])[0], [inf, nan, inf])


def test_cumprod_and_cumsum_keep_float32_running_values_in_float64():
    # PyTorch (CPU): 1e30 * 1e30 overflows float32 only when stored, so the running product goes on
    # to 1e60 * 0 = 0 (not inf * 0 = NaN), and 3e38 + 3e38 - 3e38 is 3e38 again
    out = tg.tensor([1e30, 1e30, 0.0]).cumprod(0)
    assert out.dtype == tg.float32 and out.tolist() == [pytest.approx(1e30, rel=1e-7), inf, 0.0]
    out = tg.tensor([3e38, 3e38, -3e38]).cumsum(0)
    assert out.tolist() == [pytest.approx(3e38, rel=1e-7), inf, pytest.approx(3e38, rel=1e-7)]


def test_lerp_gradients_are_pytorch_formulas():
    # PyTorch: d/dstart = 1 - w, d/dend = w, d/dw = end - start, also where w or end is infinite
    gs, ge, gw = _grad(lambda s, e, w: s.lerp(e, w), 0.0, 1.0, inf)
    assert (gs, ge, gw) == (-inf, inf, 1.0)
    gs, ge, gw = _grad(lambda s, e, w: s.lerp(e, w), 0.0, inf, 0.25)
    assert (gs, ge, gw) == (0.75, 0.25, inf)
    gs, ge = _grad(lambda s, e: s.lerp(e, 0.75), 1.0, 3.0)
    assert (gs, ge) == (0.25, 0.75)
    assert tg.tensor(1.0).lerp(tg.tensor(3.0), 0.75).item() == 2.5


def test_hardswish_gradient_at_infinities_and_bounds():
    # PyTorch: 0 for x <= -3, x/3 + 1/2 between, 1 for x >= 3 (inf included); second derivative 1/3
    x = tg.tensor([inf, -inf, -3.0, 3.0, 0.0, 1.5, -4.0, 4.0], dtype=tg.float64, requires_grad=True)
    y = nn.functional.hardswish(x)
    (g,) = tg.autograd.grad(y.sum(), x, create_graph=True)
    np.testing.assert_array_equal(g.detach().numpy(), [1.0, 0.0, 0.0, 1.0, 0.5, 1.0, 0.0, 1.0])
    (gg,) = tg.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(gg.numpy(), [0, 0, 0, 0, 1 / 3, 1 / 3, 0, 0], rtol=1e-15)


def test_hard_activations_at_nan_follow_pytorchs_vectorised_kernel():
    # PyTorch's CPU kernels (the vectorised body, which all but the last few elements of a tensor
    # go through): hardtanh / relu6 give gradient 0 at NaN, hardswish NaN, hardsigmoid 0
    F = nn.functional
    x = tg.tensor([nan, 0.5], requires_grad=True)
    for fn, want in ((F.hardtanh, 0.0), (F.relu6, 0.0), (F.hardswish, nan), (F.hardsigmoid, 0.0)):
        x.grad = None
        fn(x).sum().backward()
        np.testing.assert_array_equal(x.grad.numpy()[0], np.float32(want), err_msg=fn.__name__)


def test_inf_norm_gradient_is_split_among_the_extremes_and_zero_at_nan():
    # PyTorch: sign(x) g / n on the n entries whose |x| is the norm (or NaN), with sign(NaN) = 0
    norm = tg.linalg.vector_norm
    np.testing.assert_array_equal(_grad(lambda x: norm(x, inf), [-3.0, 3.0, 1.0])[0], [-0.5, 0.5, 0.0])
    np.testing.assert_array_equal(_grad(lambda x: norm(x, -inf), [-1.0, 3.0, 1.0])[0], [-0.5, 0.0, 0.5])
    np.testing.assert_array_equal(_grad(lambda x: norm(x, inf), [1.0, nan])[0], [0.0, 0.0])
    np.testing.assert_array_equal(_grad(lambda x: norm(x, inf, 1), [[1.0, -2.0], [4.0, 0.0]])[0],
                                  [[0.0, -1.0], [1.0, 0.0]])


def test_maximum_and_minimum_gradients_next_to_nan():
    # PyTorch: each side's gradient is masked where it loses (x < y for maximum), so where a NaN
    # makes both comparisons false both get g; ties share it
    x = tg.tensor([1.0, nan, 2.0, 3.0], requires_grad=True)
    y = tg.tensor([nan, 1.0, 2.0, 0.0], requires_grad=True)
    tg.maximum(x, y).sum().backward()
    assert x.grad.tolist() == [1.0, 1.0, 0.5, 1.0] and y.grad.tolist() == [1.0, 1.0, 0.5, 0.0]
    x.grad = y.grad = None
    tg.minimum(x, y).sum().backward()
    assert x.grad.tolist() == [1.0, 1.0, 0.5, 0.0] and y.grad.tolist() == [1.0, 1.0, 0.5, 1.0]


def test_sign_of_nan_is_zero():
    # PyTorch: sign is (x > 0) - (x < 0), so NaN gives 0 (NumPy: NaN)
    out = tg.tensor([nan, -2.0, -0.0, 3.0, inf]).sign()
    assert out.dtype == tg.float32 and out.tolist() == [0.0, -1.0, 0.0, 1.0, 1.0]
    assert tg.tensor(nan, dtype=tg.float64).sign().item() == 0.0


_SPECIAL = [0.0, -0.0, 1.0, -2.0, 0.5, 3.0, -3.0, inf, -inf, nan, 1e30, -1e30]


_SPECIAL_OPS = {
    # name: (ours, theirs, arity); F is nn.functional or torch.nn.functional
    "atan2": (lambda m, F, y, x: m.atan2(y, x), 2),
    "remainder": (lambda m, F, x, y: m.remainder(x, y), 2),
    "fmod": (lambda m, F, x, y: m.fmod(x, y), 2),
    "lerp": (lambda m, F, a, b, w: m.lerp(a, b, w), 3),
    "clamp_tensor": (lambda m, F, x, lo, hi: m.clamp(x, lo, hi), 3),
    "threshold": (lambda m, F, x: F.threshold(x, 0.5, 7.0), 1),
    "hardswish": (lambda m, F, x: F.hardswish(x), 1),
    "hardtanh": (lambda m, F, x: F.hardtanh(x), 1),
    "relu6": (lambda m, F, x: F.relu6(x), 1),
    "prod": (lambda m, F, a, b, c: m.stack([a, b, c]).prod(0), 3),
    "cumprod": (lambda m, F, a, b, c: m.stack([a, b, c]).cumprod(0), 3),
    "norm_inf": (lambda m, F, a, b: m.linalg.vector_norm(m.stack([a, b]), inf, 0), 2),
    "norm_-inf": (lambda m, F, a, b: m.linalg.vector_norm(m.stack([a, b]), -inf, 0), 2),
    "norm_0": (lambda m, F, a, b: m.linalg.vector_norm(m.stack([a, b]), 0, 0), 2),
    "maximum": (lambda m, F, a, b: m.maximum(a, b), 2),
    "minimum": (lambda m, F, a, b: m.minimum(a, b), 2),
    "sign": (lambda m, F, x: x.sign() + x, 1),
}


def _agree_at(points, got, want, what):
    """``got`` and ``want`` (16 entries per point) agree to float32 rounding, NaN with NaN and
    infinities exactly; the message names the points where they do not."""
    got, want = got.reshape(len(points), -1), want.reshape(len(points), -1)
    close = np.isclose(got, want, rtol=1e-6, atol=0, equal_nan=True).all(axis=1)
    bad = [(tuple(points[i].tolist()), got[i, 0], want[i, 0]) for i in np.flatnonzero(~close)[:5]]
    assert not bad, f"{what} at (point, ours, PyTorch's): {bad}"


@pytest.mark.parametrize("name", sorted(_SPECIAL_OPS))
def test_values_and_gradients_at_special_points_match_pytorch(name):
    # PyTorch: forward values and every gradient (NaN, 0 or inf alike) at 0, +-inf, NaN, 1e30, ...;
    # each point fills 16 float32 entries, so PyTorch runs its vectorised kernels on all of them
    torch = pytest.importorskip("torch")
    fn, arity = _SPECIAL_OPS[name]
    values = _SPECIAL if arity < 3 else [0.0, 1.0, -2.0, 0.5, inf, -inf, nan, 1e30]
    points = np.array(list(itertools.product(values, repeat=arity)), np.float32)
    columns = np.repeat(points, 16, axis=0)
    ours = [tg.tensor(columns[:, k].copy(), requires_grad=True) for k in range(arity)]
    theirs = [torch.tensor(columns[:, k].copy(), requires_grad=True) for k in range(arity)]
    got, want = fn(tg, nn.functional, *ours), fn(torch, torch.nn.functional, *theirs)
    _agree_at(points, got.detach().numpy(), want.detach().numpy(), f"{name} values")
    got.sum().backward()
    want.sum().backward()
    for k, (a, b) in enumerate(zip(ours, theirs)):
        if b.grad is None:
            assert a.grad is None, name
        else:
            _agree_at(points, a.grad.numpy(), b.grad.numpy(), f"{name} gradient {k}")
