"""Products and scans (ops/scan.py): prod, cumsum, cumprod, and all / any / count_nonzero.

Gradients and second derivatives against finite differences over Hypothesis-drawn shapes and dims
(float64, every test device); the product gradients at zeros (one zero, several zeros, in the same
slice or not) against values worked by hand, since the obvious ``prod / x`` formula divides by
zero there; values and dtypes against NumPy and PyTorch's rules.
"""
import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_rnn as tg
from tinygrad_rnn.testing import gradcheck, gradgradcheck
from tinygrad_rnn.testing import strategies as tst

SECOND = settings(max_examples=max(5, settings.default.max_examples // 3))
# One test per member of a family of ops that share their code path: fewer examples for each.
FAMILY = settings(max_examples=max(8, settings.default.max_examples // 3))


def _with_dim(data, device, **kwargs):
    x = data.draw(tst.tensors(min_dims=1, device=device, **kwargs), label="x")
    d = data.draw(st.integers(-x.ndim, x.ndim - 1), label="dim")
    return x, d


SCANS = {
    "cumsum": lambda x, d: x.cumsum(d),
    "cumprod": lambda x, d: x.cumprod(d),
    "prod_dim": lambda x, d: x.prod(d),
    "prod_dim_keepdim": lambda x, d: x.prod(d, keepdim=True),
    "prod_all": lambda x, d: x.prod(),
    "tg.cumsum": lambda x, d: tg.cumsum(x, dim=d),
}


@pytest.mark.parametrize("name", list(SCANS))
@FAMILY
@given(data=st.data())
def test_gradient_matches_finite_differences(name, device, data):
    # values in [0.5, 1.5] in either sign keep products of up to 64 elements well scaled
    x, d = _with_dim(data, device, min_value=-1.5, max_value=1.5, kinks=[0.0], min_kink_distance=0.5)
    assert gradcheck(lambda t: SCANS[name](t, d), x)


@pytest.mark.parametrize("name", list(SCANS))
@SECOND
@given(data=st.data())
def test_second_derivative_matches_finite_differences(name, device, data):
    x, d = _with_dim(data, device, min_value=-1.5, max_value=1.5, kinks=[0.0], min_kink_distance=0.5)
    assert gradgradcheck(lambda t: SCANS[name](t, d), x)


@pytest.mark.parametrize("name", ["prod_dim", "prod_all", "cumprod"])
@given(data=st.data())
def test_gradient_with_zeros_matches_finite_differences(name, device, data):
    # some entries exactly 0: the product is still smooth there (a polynomial), so finite
    # differences are exact; the backward must not divide by those zeros
    x, d = _with_dim(data, device, min_value=-1.5, max_value=1.5)
    zero = data.draw(tst.arrays(shape=x.shape, dtype=np.bool_), label="zero")
    a = np.where(zero, 0.0, x.numpy())
    x = tg.tensor(a, device=device, requires_grad=True)
    assert gradcheck(lambda t: SCANS[name](t, d), x)


# ----------------------------------------------------------------------------- products at zeros, by hand

def test_prod_gradient_with_one_zero_goes_to_the_zero(device):
    x = tg.tensor([2.0, 0.0, 3.0], device=device, requires_grad=True)
    x.prod().backward()
    assert x.grad.tolist() == [0.0, 6.0, 0.0]        # d/dx_1 (x0 x1 x2) = x0 x2


def test_prod_gradient_with_two_zeros_is_zero(device):
    x = tg.tensor([2.0, 0.0, 3.0, 0.0], device=device, requires_grad=True)
    x.prod().backward()
    assert x.grad.tolist() == [0.0, 0.0, 0.0, 0.0]


def test_prod_gradient_along_a_dim_treats_each_slice_on_its_own(device):
    x = tg.tensor([[2.0, 0.0, 3.0], [0.0, 5.0, 0.0], [1.0, 2.0, 4.0]], device=device, requires_grad=True)
    out = x.prod(1)
    assert out.tolist() == [0.0, 0.0, 8.0]
    out.backward(tg.tensor([1.0, 1.0, 0.5], device=device))
    assert x.grad.tolist() == [[0.0, 6.0, 0.0], [0.0, 0.0, 0.0], [4.0, 2.0, 1.0]]


def test_prod_second_derivative_with_one_zero(device):
    # f = x0 x1 x2 at (2, 0, 3): d2f/dx0 dx1 = x2 = 3, d2f/dx1 dx2 = x0 = 2
    x = tg.tensor([2.0, 0.0, 3.0], dtype=tg.float64, device=device, requires_grad=True)
    g, = tg.autograd.grad(x.prod(), x, create_graph=True)
    h, = tg.autograd.grad(g[1], x)
    assert h.tolist() == [3.0, 0.0, 2.0]


def test_cumprod_gradient_with_zeros_by_hand(device):
    # y = [x0, x0 x1, x0 x1 x2, x0 x1 x2 x3] at x = (2, 0, 3, 0); dL/dx_j = sum_{i>=j} dy_i/dx_j
    x = tg.tensor([2.0, 0.0, 3.0, 0.0], device=device, requires_grad=True)
    y = x.cumprod(0)
    assert y.tolist() == [2.0, 0.0, 0.0, 0.0]
    y.sum().backward()
    # dx0: 1 + x1 + ... = 1; dx1: x0 + x0 x2 + x0 x2 x3 = 2 + 6 + 0 = 8; dx2, dx3: every term has x1 = 0
    assert x.grad.tolist() == [1.0, 8.0, 0.0, 0.0]


def test_cumsum_values_and_gradient_by_hand(device):
    x = tg.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], device=device, requires_grad=True)
    y = x.cumsum(1)
    assert y.tolist() == [[1.0, 3.0, 6.0], [4.0, 9.0, 15.0]]
    y.backward(tg.tensor([[1.0, 10.0, 100.0], [1.0, 1.0, 1.0]], device=device))
    assert x.grad.tolist() == [[111.0, 110.0, 100.0], [3.0, 2.0, 1.0]]   # reverse running sums


# ----------------------------------------------------------------------------- values and dtypes

@given(data=st.data())
def test_values_match_numpy(device, data):
    x, d = _with_dim(data, device)
    a = x.numpy()
    np.testing.assert_allclose(x.cumsum(d).numpy(), np.cumsum(a, axis=d), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(x.cumprod(d).numpy(), np.cumprod(a, axis=d), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(x.prod(d).numpy(), np.prod(a, axis=d), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(x.prod().numpy(), np.prod(a), rtol=1e-12, atol=1e-12)


def test_integer_and_bool_sums_and_products_are_int64(device):
    i32 = tg.tensor([1, 2, 3], dtype=tg.int32, device=device)
    b = tg.tensor([True, True, False], device=device)
    for out in (i32.cumsum(0), i32.cumprod(0), i32.prod(), b.cumsum(0), b.prod()):
        assert out.dtype == tg.int64
    assert b.cumsum(0).tolist() == [1, 2, 2]
    assert i32.cumsum(0, dtype=tg.float64).dtype == tg.float64
    assert tg.tensor([1.5, 2.0], device=device).prod(dtype=tg.float64).dtype == tg.float64


def test_zero_dim_tensors(device):
    x = tg.tensor(3.0, device=device, requires_grad=True)
    assert x.cumsum(0).shape == () and x.cumsum(0).item() == 3.0
    assert x.cumprod(-1).item() == 3.0 and x.prod(0).item() == 3.0
    x.cumprod(0).backward()
    assert x.grad.item() == 1.0


def test_all_any_and_count_nonzero(device):
    x = tg.tensor([[1.0, 0.0, 2.0], [3.0, 4.0, 5.0]], device=device)
    assert x.all().item() is False and x.any().item() is True
    assert x.all(1).tolist() == [False, True] and x.any(0).tolist() == [True, True, True]
    assert x.all(dim=1, keepdim=True).shape == (2, 1)
    assert x.all().dtype == tg.bool
    assert tg.tensor([1, 2], dtype=tg.uint8, device=device).all().dtype == tg.uint8   # PyTorch's rule
    assert tg.tensor([], device=device).all().item() is True
    assert tg.all(x > -1).item() and not tg.any(x > 5).item()
    assert x.count_nonzero().item() == 5 and x.count_nonzero().dtype == tg.int64
    assert x.count_nonzero(0).tolist() == [2, 1, 2] and tg.count_nonzero(x, dim=(0, 1)).item() == 5


def test_bad_dim_names_the_op(device):
    with pytest.raises(ValueError, match="cumsum: dim 2 is out of range"):
        tg.ones(2, 2, device=device).cumsum(2)


# ----------------------------------------------------------------------------- against PyTorch

@pytest.mark.parametrize("zeros", [0, 1, 2])
@pytest.mark.parametrize("name", ["prod", "prod_dim", "cumprod", "cumsum"])
def test_value_and_gradient_match_pytorch(name, zeros):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(zeros)
    a = rng.uniform(0.5, 1.5, (3, 5)) * rng.choice([-1, 1], (3, 5))
    a[0, :zeros] = 0.0          # the first row gets 0, 1 or 2 zeros
    a[1, 2:2 + zeros] = 0.0
    fns = {"prod": lambda t: t.prod(), "prod_dim": lambda t: t.prod(1), "cumprod": lambda t: t.cumprod(1),
           "cumsum": lambda t: t.cumsum(0)}
    x, xt = tg.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    y, yt = fns[name](x), fns[name](xt)
    np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), rtol=1e-14)
    g = rng.standard_normal(y.shape)
    y.backward(tg.tensor(g))
    yt.backward(torch.tensor(g))
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-12, atol=1e-14)


def test_dtypes_match_pytorch():
    torch = pytest.importorskip("torch")
    for dt in ("bool", "uint8", "int32", "int64", "float32"):
        a = np.array([[1, 0], [1, 1]], dtype=dt)
        x, xt = tg.tensor(a), torch.tensor(a)
        for f in ("cumsum", "cumprod"):
            assert str(getattr(x, f)(0).dtype) == str(getattr(xt, f)(0).dtype).replace("torch.", "")
        for f in ("prod", "all", "any", "count_nonzero"):
            assert str(getattr(x, f)().dtype) == str(getattr(xt, f)().dtype).replace("torch.", "")
            assert getattr(x, f)().tolist() == getattr(xt, f)().tolist()


# ----------------------------------------------------------------------------- any / all with dim=()

def test_any_all_over_no_dims_reduce_nothing():
    # PyTorch 2.13: any/all(dim=()) are x != 0 elementwise (bool; uint8 stays uint8), any keepdim
    x = tg.tensor([[1.5, 0.0], [-2.0, 3.0]])
    for op in (tg.any, tg.all):
        for keepdim in (False, True):
            assert op(x, dim=(), keepdim=keepdim).tolist() == [[True, False], [True, True]]
    u = tg.tensor([[7, 0], [1, 2]], dtype=tg.uint8)
    out = u.any(dim=())
    assert out.dtype == tg.uint8 and out.tolist() == [[1, 0], [1, 1]]
    assert x.any().item() is True and x.all().item() is False      # dim=None still reduces all


def test_any_all_over_no_dims_match_pytorch():
    # PyTorch: the same values and dtypes for every input dtype and keepdim
    torch = pytest.importorskip("torch")
    a = np.array([[2, 0, 1], [0, 0, 3]])
    for dtype in ("bool", "uint8", "int64", "float32"):
        x, tx = tg.tensor(a.astype(dtype)), torch.tensor(a.astype(dtype))
        for name, keepdim in itertools.product(("any", "all"), (False, True)):
            got = getattr(x, name)(dim=(), keepdim=keepdim)
            want = getattr(tx, name)(dim=(), keepdim=keepdim)
            assert str(got.dtype) == str(want.dtype).replace("torch.", "")
            np.testing.assert_array_equal(got.numpy(), want.numpy())
