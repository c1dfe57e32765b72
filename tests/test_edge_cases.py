"""Edge cases where an op must work or raise as PyTorch does: empty tensors and dims of size 0, 0-d
tensors, bool and integer dtypes, arguments just outside an op's range; errors keep PyTorch's
Python kind (IndexError, TypeError, NotImplementedError) and say what went wrong.

Each test checks against numbers worked by hand, NumPy or exact arithmetic; the tests at the end
of each section compare with PyTorch itself when it is installed (values and dtypes, or the kind
of the error).
"""
import math
import pickle
from fractions import Fraction

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import nn
from tinygrad_rnn.autograd import OpError, OpIndexError, OpNotImplementedError, OpTypeError

F = nn.functional
B = tg.bool


def _same(result, expected, dtype):
    """``result`` holds ``expected`` (a nested list) in ``dtype``; NaN equals NaN."""
    assert result.dtype == np.dtype(dtype), (result.dtype, dtype)
    np.testing.assert_array_equal(result.numpy(), np.asarray(expected, dtype=dtype))


# ----------------------------------------------------------------------------- PyTorch comparison

def _torch_dtype_name(t):
    return str(t.dtype).replace("torch.", "")


def _run(fn, module):
    try:
        return fn(module), None
    except Exception as e:          # noqa: BLE001  (the error is what is compared)
        return None, e


def _check_values_like_torch(fn):
    """``fn(module)`` gives the same values and dtype (or the same tuple of them) with
    tinygrad_rnn as with PyTorch."""
    torch = pytest.importorskip("torch")
    ours, err = _run(fn, tg)
    assert err is None, err
    theirs = fn(torch)
    pairs = zip(ours, theirs) if isinstance(ours, (tuple, list)) else [(ours, theirs)]
    for a, b in pairs:
        assert a.dtype.name == _torch_dtype_name(b), (a.dtype, b.dtype)
        assert tuple(a.shape) == tuple(b.shape)
        np.testing.assert_array_equal(a.numpy(), b.detach().numpy())


def _check_raises_like_torch(fn):
    """PyTorch raises for ``fn(torch)``; tinygrad_rnn raises an error of the same Python kind."""
    torch = pytest.importorskip("torch")
    _, theirs = _run(fn, torch)
    assert theirs is not None, "PyTorch no longer raises here"
    _, ours = _run(fn, tg)
    assert ours is not None, f"tinygrad_rnn returned where PyTorch raised {theirs!r}"
    kind = type(theirs) if type(theirs).__module__ == "builtins" else RuntimeError
    assert isinstance(ours, kind), (ours, theirs)


# ============================================================================= crashes where PyTorch works

def test_add_and_sub_take_alpha(device):
    x = tg.tensor([1.0, 2.0], device=device)
    y = tg.tensor([3.0, 5.0], device=device)
    assert x.add(y, alpha=2).tolist() == [7.0, 12.0]            # 1 + 2*3, 2 + 2*5
    assert x.sub(y, alpha=2).tolist() == [-5.0, -8.0]
    _same(tg.tensor([1, 2], device=device).add(tg.tensor([3, 5], device=device), alpha=2), [7, 12],
          np.int64)
    _same(tg.tensor([1, 2], device=device).sub(1, alpha=3), [-2, -1], np.int64)


def test_add_with_alpha_differentiates_the_scaled_term():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    y = tg.tensor([3.0, 5.0], requires_grad=True)
    x.sub(y, alpha=2).sum().backward()          # d/dx = 1, d/dy = -alpha
    assert x.grad.tolist() == [1.0, 1.0] and y.grad.tolist() == [-2.0, -2.0]


def test_a_float_alpha_for_an_integer_result_raises():
    with pytest.raises(RuntimeError, match="alpha must not be a floating point number"):
        tg.tensor([1, 2]).add(tg.tensor([1, 1]), alpha=0.5)


def test_sum_and_mean_take_dtype_and_cast_before_reducing(device):
    # in float32 1e8 + 1 rounds back to 1e8, so only a cast before the sum keeps the 1
    x = tg.tensor([1e8, 1.0, -1e8], device=device)
    assert x.sum().item() == 0.0
    s = x.sum(dtype=tg.float64)
    assert s.dtype == np.float64 and s.item() == 1.0
    m = x.mean(dtype=tg.float64)
    assert m.dtype == np.float64 and m.item() == pytest.approx(1 / 3, rel=1e-15)
    _same(tg.tensor([[1, 2], [3, 4]], device=device).sum(1, dtype=tg.float64), [3.0, 7.0], np.float64)
    _same(tg.tensor([1, 2, 4], device=device).mean(dtype=tg.float64), 7 / 3, np.float64)


def test_sum_with_dtype_passes_the_gradient_back_in_the_input_dtype():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    x.sum(dtype=tg.float64).backward()
    assert x.grad.dtype == np.float32 and x.grad.tolist() == [1.0, 1.0]


def test_mean_with_an_integer_dtype_raises():
    with pytest.raises(RuntimeError, match="could not infer output dtype"):
        tg.ones(2).mean(dtype=tg.int64)


@pytest.mark.parametrize("shape,dim,out", [((0, 3), 1, (0,)), ((3, 0, 2), 2, (3, 0)), ((2, 0), 0, (0,))])
def test_var_and_std_over_a_dim_when_another_dim_is_empty(shape, dim, out, device):
    x = tg.ones(*shape, device=device)
    for r in (x.var(dim), x.std(dim), x.var(dim, correction=0)):
        assert r.shape == out and r.dtype == np.float32
    assert x.var(dim, keepdim=True).shape == tuple(1 if i == dim else n for i, n in enumerate(shape))


def test_var_over_an_empty_dim_is_nan(device):
    # no elements: the sum of squares is 0 and the count 0 (- 1, clipped at 0): 0 / 0
    x = tg.ones(3, 0, device=device)
    assert np.isnan(x.var(1).numpy()).all() and x.var(1).shape == (3,)
    assert np.isnan(x.std(1, correction=0).numpy()).all()


def test_flatten_and_unflatten_with_a_size_0_dim(device):
    x = tg.ones(0, 2, 3, device=device)
    assert x.flatten(1).shape == (0, 6) == nn.Flatten()(x).shape
    assert tg.ones(2, 0, 3, device=device).flatten(0, 1).shape == (0, 3)
    assert tg.ones(0, 6, device=device).unflatten(1, (2, -1)).shape == (0, 2, 3)
    assert tg.ones(2, 0, device=device).unflatten(1, (2, -1)).shape == (2, 2, 0)
    assert nn.Unflatten(1, (2, 3))(tg.ones(0, 6, device=device)).shape == (0, 2, 3)


def test_unflatten_of_an_empty_dim_with_an_ambiguous_minus_1_raises():
    with pytest.raises(RuntimeError, match="don't multiply up"):
        tg.ones(2, 0).unflatten(1, (0, -1))


def test_flatten_of_an_empty_tensor_passes_gradients_back():
    x = tg.ones(0, 2, 3, requires_grad=True)
    x.flatten(1).sum().backward()
    assert x.grad.shape == (0, 2, 3)


def test_bool_index_add_scatter_add_and_scatter_add_reduce(device):
    # bools add as "or": a position with any True becomes True; a False adds nothing
    x = tg.tensor([True, False, False, False], device=device)
    index = tg.tensor([0, 2, 2, 3], device=device)
    src = tg.tensor([False, True, False, False], device=device)
    expected = [True, False, True, False]
    _same(x.index_add(0, index, src), expected, bool)
    _same(x.scatter_add(0, index, src), expected, bool)
    _same(x.scatter(0, index, src, reduce="add"), expected, bool)


def test_bool_diag_off_the_main_diagonal(device):
    v = tg.tensor([True, False], device=device)
    _same(v.diag(1), [[False, True, False], [False, False, False], [False, False, False]], bool)
    _same(v.diag(-1), [[False, False, False], [True, False, False], [False, False, False]], bool)
    _same(v.diag(), [[True, False], [False, False]], bool)


@pytest.mark.parametrize("ord_", [1, math.inf])
@pytest.mark.parametrize("shape", [(0, 0), (2, 0), (0, 2), (3, 0, 2)])
def test_matrix_norm_with_a_positive_order_of_an_empty_matrix_is_0(ord_, shape, device):
    # the largest absolute row / column sum of no rows or columns: norms are >= 0, so 0
    out = tg.linalg.matrix_norm(tg.ones(*shape, device=device), ord=ord_)
    assert out.shape == shape[:-2] and out.dtype == np.float32 and (out.numpy() == 0).all()


def test_matrix_norm_with_a_negative_order_over_no_columns_raises_index_error():
    # the smallest column sum (ord=-1) of a matrix without columns does not exist; without rows
    # every column sums to 0
    with pytest.raises(IndexError, match="amin"):
        tg.linalg.matrix_norm(tg.ones(2, 0), ord=-1)
    with pytest.raises(IndexError, match="amin"):
        tg.linalg.matrix_norm(tg.ones(0, 2), ord=-math.inf)
    assert tg.linalg.matrix_norm(tg.ones(0, 2), ord=-1).item() == 0.0
    assert tg.linalg.matrix_norm(tg.ones(2, 0), ord=-math.inf).item() == 0.0


def test_integer_tensor_to_integer_tensor_powers_with_negative_exponents(device):
    # exact arithmetic as the truth: x ** y is 1 / x^|y| for y < 0, truncated toward 0 (C's and
    # PyTorch's integer power); 0 to a negative power gives 0 in PyTorch
    base, exp = np.meshgrid(np.arange(-3, 4), np.arange(-3, 4))
    base, exp = base.ravel(), exp.ravel()
    truth = [0 if b == 0 and e < 0 else int(Fraction(int(b)) ** int(e)) for b, e in zip(base, exp)]
    for dt in (np.int64, np.int8):
        out = tg.tensor(base.astype(dt), device=device) ** tg.tensor(exp.astype(dt), device=device)
        _same(out, truth, dt)


def test_a_number_to_integer_tensor_powers_with_negative_exponents(device):
    _same((-1) ** tg.tensor([-1, -2, 3], device=device), [-1, 1, -1], np.int64)
    _same(2 ** tg.tensor([-1, 0, 3], device=device), [0, 1, 8], np.int64)


def test_uint8_clamp_with_negative_bounds_wraps_them_as_pytorch(device):
    # PyTorch converts a bound to the tensor's dtype first: -5 is 256 - 5 = 251 in uint8, -1 is 255;
    # with min > max every value becomes max
    x = tg.tensor([1, 200], dtype=tg.uint8, device=device)
    _same(x.clamp(-5, 100), [100, 100], np.uint8)
    _same(x.clamp(min=-5), [251, 251], np.uint8)
    _same(x.clamp(max=-1), [1, 200], np.uint8)
    _same(x.clone().clamp_(-5, 100), [100, 100], np.uint8)


@pytest.mark.parametrize("dtype,bounds", [(tg.uint8, (-300, None)), (tg.uint8, (None, 256)),
                                          (tg.int8, (None, 300)), (tg.int8, (-129, None))])
def test_clamp_bounds_that_do_not_fit_the_dtype_raise(dtype, bounds):
    with pytest.raises(RuntimeError, match="cannot be converted to type u?int8_t without overflow"):
        tg.tensor([1, 2], dtype=dtype).clamp(*bounds)


def test_conv_transpose_and_max_unpool_with_no_samples(device):
    # (N, C, H, W) with N = 0: the output has the usual shape with N = 0, the gradients too
    x = tg.ones(0, 2, 3, 3, device=device, requires_grad=True)
    w = tg.ones(2, 3, 2, 2, device=device, requires_grad=True)
    b = tg.ones(3, device=device, requires_grad=True)
    y = F.conv_transpose2d(x, w, b, stride=2)           # H_out = (3 - 1) 2 + 2 = 6
    assert y.shape == (0, 3, 6, 6)
    y.sum().backward()
    assert x.grad.shape == (0, 2, 3, 3) and not w.grad.numpy().any() and not b.grad.numpy().any()
    assert F.conv_transpose1d(tg.ones(0, 2, 3, device=device), tg.ones(2, 3, 2, device=device)).shape \
        == (0, 3, 4)
    assert nn.ConvTranspose2d(4, 2, 2, groups=2).to(device)(tg.ones(0, 4, 3, 3, device=device)).shape \
        == (0, 2, 4, 4)
    assert F.conv2d(tg.ones(0, 4, 3, 3, device=device), tg.ones(2, 2, 2, 2, device=device),
                    groups=2).shape == (0, 2, 2, 2)
    u = tg.ones(0, 1, 2, 2, device=device, requires_grad=True)
    out = F.max_unpool2d(u, tg.zeros(0, 1, 2, 2, dtype=tg.int64, device=device), 2)
    assert out.shape == (0, 1, 4, 4)
    out.sum().backward()
    assert u.grad.shape == (0, 1, 2, 2)
    unbatched = F.max_unpool2d(tg.ones(0, 2, 2, device=device), tg.zeros(0, 2, 2, dtype=tg.int64,
                                                                             device=device), 2)
    assert unbatched.shape == (0, 4, 4)


def test_max_unpool2d_of_an_empty_channel_or_plane_raises():
    with pytest.raises(RuntimeError, match="non-zero size for non-batch dimensions.*dimension 1"):
        F.max_unpool2d(tg.ones(1, 0, 2, 2), tg.zeros(1, 0, 2, 2, dtype=tg.int64), 2)


def test_split_size_0_of_an_empty_dim_gives_it_back(device):
    pieces = tg.ones(0, 2, device=device).split(0)
    assert [p.shape for p in pieces] == [(0, 2)]
    assert [p.shape for p in tg.ones(2, 0, device=device).split(0, 1)] == [(2, 0)]
    with pytest.raises(RuntimeError, match="split_size can only be 0 if dimension size is 0"):
        tg.ones(2).split(0)
    with pytest.raises(RuntimeError, match="non-negative"):
        tg.ones(2).split(-1)


@pytest.mark.parametrize("op", [lambda x: x // 0, lambda x: x % 0, lambda x: x.fmod(0),
                                lambda x: x.remainder(0), lambda x: x.div(0, rounding_mode="floor")])
def test_integer_division_by_0_of_an_empty_tensor_is_empty(op, device):
    _same(op(tg.ones(0, dtype=tg.int64, device=device)), [], np.int64)
    with pytest.raises(ZeroDivisionError):
        op(tg.ones(2, dtype=tg.int64, device=device))


_WORKS_IN_PYTORCH = {
    "add_alpha": lambda m: m.tensor([1.0, 2.0]).add(m.tensor([3.0, 5.0]), alpha=2),
    "sub_alpha_int": lambda m: m.tensor([1, 2]).sub(m.tensor([3, 5]), alpha=3),
    "sum_dtype": lambda m: m.tensor([[1, 2], [3, 4]]).sum(1, dtype=m.float64),
    "mean_dtype": lambda m: m.tensor([1e8, 1.0, -1e8]).mean(dtype=m.float64),
    "var_empty_other": lambda m: m.ones(0, 3).var(1),
    "std_empty_other": lambda m: m.ones(3, 0, 2).std(2),
    "var_empty_reduced": lambda m: m.ones(3, 0).var(1),
    "flatten_empty": lambda m: m.ones(0, 2, 3).flatten(1),
    "unflatten_empty": lambda m: m.ones(0, 6).unflatten(1, (2, -1)),
    "index_add_bool": lambda m: m.tensor([True, False, False, False]).index_add(
        0, m.tensor([0, 2, 2, 3]), m.tensor([False, True, False, False])),
    "scatter_add_bool": lambda m: m.zeros(3, dtype=m.bool).scatter_add(
        0, m.tensor([0, 2, 2]), m.tensor([True, False, True])),
    "diag_bool": lambda m: m.tensor([True, False]).diag(1),
    "matrix_norm_empty": lambda m: m.linalg.matrix_norm(m.ones(3, 2, 0), ord=1),
    "matrix_norm_empty_inf": lambda m: m.linalg.matrix_norm(m.ones(0, 2), ord=math.inf),
    "int_pow_negative": lambda m: m.tensor([-2, -1, 0, 1, 2]) ** m.tensor([-1, -3, -2, -3, 3]),
    "number_pow_negative": lambda m: (-1) ** m.tensor([-1, -2]),
    "uint8_clamp": lambda m: m.tensor([1, 200], dtype=m.uint8).clamp(-5, 100),
    "uint8_clamp_min": lambda m: m.tensor([1, 200], dtype=m.uint8).clamp(min=-5),
    "uint8_clamp_max": lambda m: m.tensor([1, 200], dtype=m.uint8).clamp(max=-1),
    "conv_transpose_no_samples": lambda m: m.nn.functional.conv_transpose2d(
        m.ones(0, 2, 3, 3), m.ones(2, 3, 2, 2), stride=2),
    "max_unpool_no_samples": lambda m: m.nn.functional.max_unpool2d(
        m.ones(0, 1, 2, 2), m.zeros(0, 1, 2, 2, dtype=m.int64), 2),
    "split_0": lambda m: m.ones(0, 2).split(0),
    "floor_divide_0_empty": lambda m: m.ones(0, dtype=m.int64) // 0,
    "remainder_0_empty": lambda m: m.ones(0, dtype=m.int64) % 0,
    "bool_einsum_sum": lambda m: m.einsum("i,j->i", m.ones(2, dtype=m.bool), m.ones(3, dtype=m.bool)),
    "bool_max_dim": lambda m: m.tensor([[True, False], [False, True]]).max(0),
}


@pytest.mark.parametrize("name", sorted(_WORKS_IN_PYTORCH))
def test_works_as_in_pytorch(name):
    _check_values_like_torch(_WORKS_IN_PYTORCH[name])


# ============================================================================= where PyTorch raises

def test_narrow_past_the_end_raises_instead_of_wrapping_around(device):
    x = tg.arange(3, device=device)
    with pytest.raises(RuntimeError, match=r"start \(3\) \+ length \(1\) exceeds dimension size \(3\)"):
        x.narrow(0, 3, 1)
    assert x.narrow(0, 3, 0).shape == (0,)                  # start == size: an empty piece
    assert x.narrow(0, -1, 1).tolist() == [2] and x.narrow(0, -3, 2).tolist() == [0, 1]
    with pytest.raises(IndexError, match=r"start out of range.*\[-3, 3\].*got 4"):
        x.narrow(0, 4, 0)


@pytest.mark.parametrize("dtype", [tg.uint8, tg.int8, tg.int64])
def test_integer_tensor_to_a_negative_number_raises(dtype, device):
    x = tg.tensor([2], dtype=dtype, device=device)
    with pytest.raises(RuntimeError, match="Integers to negative integer powers are not allowed"):
        x ** -1
    _same(x ** 0, [1], dtype)
    _same(x ** -1.0, [0.5], np.float32)      # a float exponent gives a float result


def test_lerp_with_mixed_dtypes_raises():
    start = tg.tensor([1.0, 2.0])
    with pytest.raises(RuntimeError, match="expected dtype float for `end` but got dtype double"):
        start.lerp(tg.tensor([3.0, 4.0], dtype=tg.float64), 0.5)
    with pytest.raises(RuntimeError, match="expected dtype double for `end` but got dtype float"):
        start.double().lerp(tg.tensor([3.0, 4.0]), 0.5)
    with pytest.raises(RuntimeError, match="expected dtype float for `weight`"):
        start.lerp(tg.tensor([3.0, 4.0]), tg.tensor([0.5, 0.5], dtype=tg.float64))
    # a 0-d weight may differ, as in PyTorch: 1 + (3 - 1)/4, 2 + (4 - 2)/4
    _same(start.lerp(tg.tensor([3.0, 4.0]), tg.tensor(0.25, dtype=tg.float64)), [1.5, 2.5], np.float32)


@pytest.mark.parametrize("args,match", [((0, 5, -1), "inconsistent with step sign"),
                                        ((5, 0, 1), "inconsistent with step sign"),
                                        ((-3,), "inconsistent with step sign"),
                                        ((0.0, 1.0, -0.5), "inconsistent with step sign"),
                                        ((0, 5, 0), "step must be nonzero"),
                                        ((0.0, math.inf), "unsupported range")])
def test_arange_that_cannot_reach_its_end_raises(args, match):
    with pytest.raises(RuntimeError, match=match):
        tg.arange(*args)


def test_arange_with_nothing_to_give_or_counting_down_still_works():
    assert tg.arange(5, 5, -1).shape == (0,) and tg.arange(0).shape == (0,)
    assert tg.arange(3, 0, -1).tolist() == [3, 2, 1]


@pytest.mark.parametrize("train", [True, False])
def test_group_norm_with_one_value_per_group_and_one_sample_raises(train):
    gn = nn.GroupNorm(2, 2)
    gn.train(train)
    with pytest.raises(ValueError, match=r"Expected more than 1 value per channel.*\[1, 2\]"):
        gn(tg.ones(1, 2))
    with pytest.raises(ValueError, match="Expected more than 1 value per channel"):
        F.group_norm(tg.ones(1, 2, 1), 2)


def test_group_norm_with_more_values_still_normalises():
    # (2, 2) with 2 groups: each group holds one value, which centres to 0 (PyTorch gives 0 too)
    assert nn.GroupNorm(2, 2)(tg.tensor([[1.0, 5.0], [2.0, 3.0]])).tolist() == [[0.0, 0.0], [0.0, 0.0]]
    # one group of [1, 3]: mean 2, biased variance 1 -> [-1, 1] / sqrt(1 + eps)
    out = nn.GroupNorm(1, 2, eps=0.0)(tg.tensor([[1.0, 3.0]]))
    np.testing.assert_allclose(out.numpy(), [[-1.0, 1.0]], rtol=1e-6)


_BOOL = lambda *s: tg.ones(*s, dtype=B)  # noqa: E731


@pytest.mark.parametrize("name,fn", [
    ("matmul", lambda: _BOOL(2, 2) @ _BOOL(2, 2)),
    ("matmul", lambda: _BOOL(2) @ _BOOL(2)),
    ("matmul", lambda: _BOOL(2, 2, 2) @ _BOOL(2, 2, 2)),
    ("mm", lambda: _BOOL(2, 2).mm(_BOOL(2, 2))),
    ("bmm", lambda: _BOOL(1, 2, 2).bmm(_BOOL(1, 2, 2))),
    ("mv", lambda: _BOOL(2, 2).mv(_BOOL(2))),
    ("dot", lambda: _BOOL(2).dot(_BOOL(2))),
    ("dot", lambda: _BOOL(0).dot(_BOOL(0))),
    ("mm", lambda: _BOOL(2, 2).addmm(_BOOL(2, 2), _BOOL(2, 2))),
    ("baddbmm", lambda: _BOOL(1, 2, 2).baddbmm(_BOOL(1, 2, 2), _BOOL(1, 2, 2))),
    ("einsum", lambda: tg.einsum("ij,jk->ik", _BOOL(2, 2), _BOOL(2, 2))),
    ("einsum", lambda: tg.einsum("i,i->", _BOOL(2), _BOOL(2))),
])
def test_bool_matrix_products_raise_not_implemented(name, fn):
    with pytest.raises(NotImplementedError, match=name + r".*not implemented for 'Bool'") as e:
        fn()
    assert isinstance(e.value, OpError)


def test_bool_products_with_nothing_to_multiply_or_sum_as_pytorch():
    # an empty contraction computes nothing (PyTorch returns False zeros); outer and elementwise
    # products stay bool; a dim summed inside one operand counts the Trues as int64
    _same(_BOOL(2, 0) @ _BOOL(0, 2), [[False, False], [False, False]], bool)
    _same(_BOOL(2).outer(_BOOL(3)), np.ones((2, 3), bool), bool)
    _same(tg.einsum("i,i->i", _BOOL(2), _BOOL(2)), [True, True], bool)
    _same(tg.einsum("ij->", _BOOL(2, 3)), 6, np.int64)
    _same(tg.einsum("ii->", _BOOL(3, 3)), 3, np.int64)


@pytest.mark.parametrize("name,fn", [
    ("pow", lambda a: a ** a), ("pow", lambda a: True ** a),
    ("floor_divide", lambda a: a // a), ("floor_divide", lambda a: a // True),
    ("floor_divide", lambda a: True // a), ("remainder", lambda a: a % a),
    ("remainder", lambda a: a.remainder(True)), ("fmod", lambda a: a.fmod(a)),
])
def test_bool_with_bool_power_and_division_raise_not_implemented(name, fn, device):
    with pytest.raises(NotImplementedError, match=name + r".*not implemented for 'Bool'"):
        fn(tg.tensor([True, False], device=device))


def test_bool_with_a_number_power_and_division_promote_as_pytorch(device):
    a = tg.tensor([True, False], device=device)
    _same(a ** 2, [1, 0], np.int64)
    _same(a // 2, [0, 0], np.int64)
    _same(a % 2, [1, 0], np.int64)
    _same(a ** True, [True, False], bool)               # x ** 1 is x
    _same(a ** False, [True, True], bool)               # x ** 0 is 1


@pytest.mark.parametrize("dtype", [tg.int64, tg.int32, tg.bool])
@pytest.mark.parametrize("op", ["var", "std"])
def test_var_and_std_of_integers_raise(op, dtype):
    with pytest.raises(RuntimeError, match="std and var only support floating point"):
        getattr(tg.tensor([1, 0, 1], dtype=dtype), op)()
    with pytest.raises(RuntimeError, match="std and var only support floating point"):
        getattr(tg.tensor([[1, 0]], dtype=dtype), op)(1)


@pytest.mark.parametrize("op", ["argmax", "argmin"])
def test_argmax_and_argmin_of_bool_raise(op):
    with pytest.raises(RuntimeError, match=op + r"\(\): does not support bool input"):
        getattr(tg.tensor([True, False]), op)()
    with pytest.raises(RuntimeError, match="does not support bool input"):
        getattr(tg.tensor([[True, False]]), op)(1)


def test_max_and_min_of_bool_still_give_values_and_indices():
    m = tg.tensor([[True, False], [False, True]])
    assert m.max(0).values.tolist() == [True, True] and m.max(0).indices.tolist() == [0, 1]
    assert m.min(1).values.tolist() == [False, False] and m.min(1).indices.tolist() == [1, 0]


@pytest.mark.parametrize("dtype", [tg.int64, tg.float32, tg.int8])
def test_where_with_a_non_bool_condition_raises(dtype):
    with pytest.raises(RuntimeError, match="where expected condition to be a boolean tensor"):
        tg.where(tg.tensor([1, 0], dtype=dtype), tg.tensor([1.0, 2.0]), tg.tensor([3.0, 4.0]))
    with pytest.raises(RuntimeError, match="where expected condition to be a boolean tensor"):
        tg.tensor([1.0, 2.0]).where(tg.tensor([1, 0], dtype=dtype), 0.0)


def test_where_with_a_uint8_condition_still_works():
    # PyTorch's older mask convention, still accepted there
    out = tg.where(tg.tensor([1, 0], dtype=tg.uint8), tg.tensor([1.0, 2.0]), tg.tensor([3.0, 4.0]))
    assert out.tolist() == [1.0, 4.0]


_FLOAT_DIMS = {
    "sum": lambda x: x.sum(1.0), "sum_tuple": lambda x: x.sum((1.0,)), "mean": lambda x: x.mean(1.0),
    "var": lambda x: x.var(1.0), "softmax": lambda x: x.softmax(1.0), "flatten": lambda x: x.flatten(0.0),
    "unsqueeze": lambda x: x.unsqueeze(1.0), "transpose": lambda x: x.transpose(0.0, 1),
    "cat": lambda x: tg.cat([x, x], 0.0), "argmax": lambda x: x.argmax(1.0),
    "max": lambda x: x.max(1.0), "cumsum": lambda x: x.cumsum(1.0), "split": lambda x: x.split(1, 1.0),
}


@pytest.mark.parametrize("name", sorted(_FLOAT_DIMS))
def test_a_float_dim_raises_type_error(name):
    with pytest.raises(TypeError, match="dim must be an int, got 1.0|dim must be an int, got 0.0") as e:
        _FLOAT_DIMS[name](tg.ones(2, 3))
    assert isinstance(e.value, OpTypeError)


def test_integer_dims_of_any_kind_are_accepted():
    x = tg.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert x.sum(np.int64(1)).tolist() == [3.0, 7.0] == x.sum(tg.tensor(1)).tolist()


@pytest.mark.parametrize("op", [lambda x: x.topk(1), lambda x: x.median(), lambda x: x.median(0),
                                lambda x: x.kthvalue(1)])
def test_topk_median_and_kthvalue_of_bool_raise(op):
    with pytest.raises(RuntimeError, match="not implemented for 'Bool'|does not support bool"):
        op(tg.tensor([True, False, True]))


def test_sort_of_bool_still_works():
    assert tg.tensor([True, False, True]).sort().values.tolist() == [False, True, True]


@pytest.mark.parametrize("op", [lambda x: x.flatten(-2, -1), lambda x: x.flatten(1),
                                lambda x: x.sum(1), lambda x: x.unsqueeze(2), lambda x: x.squeeze(1),
                                lambda x: x.transpose(0, 1), lambda x: x.softmax(-2)])
def test_out_of_range_dims_of_a_0d_tensor_raise_index_error(op):
    # a 0-d tensor takes dims -1 and 0 only (and unsqueeze -2..1), as in PyTorch
    with pytest.raises(IndexError, match=r"out of range \(expected to be in range of \[-\d, \d\]"):
        op(tg.tensor(1.0))


def test_in_range_dims_of_a_0d_tensor_still_work():
    x = tg.tensor(2.0)
    assert x.flatten(0, -1).tolist() == [2.0] and x.sum(-1).item() == 2.0
    assert x.unsqueeze(-1).shape == (1,) and x.softmax(0).item() == 1.0


_RAISES_IN_PYTORCH = {
    "narrow_past_end": lambda m: m.arange(3).narrow(0, 3, 1),
    "narrow_start": lambda m: m.arange(3).narrow(0, 4, 0),
    "uint8_negative_power": lambda m: m.tensor([2], dtype=m.uint8) ** -1,
    "lerp_end": lambda m: m.tensor([1.0, 2.0]).lerp(m.tensor([1.0, 2.0], dtype=m.float64), 0.5),
    "lerp_weight": lambda m: m.ones(2).lerp(m.ones(2), m.tensor([0.5], dtype=m.float64)),
    "arange_sign": lambda m: m.arange(0, 5, -1),
    "arange_end": lambda m: m.arange(-3),
    "arange_step_0": lambda m: m.arange(0, 5, 0),
    "group_norm": lambda m: m.nn.GroupNorm(2, 2)(m.ones(1, 2)),
    "matmul_bool": lambda m: m.ones(2, 2, dtype=m.bool) @ m.ones(2, 2, dtype=m.bool),
    "mm_bool": lambda m: m.ones(2, 2, dtype=m.bool).mm(m.ones(2, 2, dtype=m.bool)),
    "bmm_bool": lambda m: m.ones(1, 2, 2, dtype=m.bool).bmm(m.ones(1, 2, 2, dtype=m.bool)),
    "mv_bool": lambda m: m.ones(2, 2, dtype=m.bool).mv(m.ones(2, dtype=m.bool)),
    "dot_bool": lambda m: m.ones(2, dtype=m.bool).dot(m.ones(2, dtype=m.bool)),
    "addmm_bool": lambda m: m.ones(2, 2, dtype=m.bool).addmm(m.ones(2, 2, dtype=m.bool),
                                                           m.ones(2, 2, dtype=m.bool)),
    "einsum_bool": lambda m: m.einsum("ij,jk->ik", m.ones(2, 2, dtype=m.bool),
                                      m.ones(2, 2, dtype=m.bool)),
    "pow_bool": lambda m: m.ones(2, dtype=m.bool) ** m.ones(2, dtype=m.bool),
    "floor_divide_bool": lambda m: m.ones(2, dtype=m.bool) // m.ones(2, dtype=m.bool),
    "fmod_bool": lambda m: m.ones(2, dtype=m.bool).fmod(m.ones(2, dtype=m.bool)),
    "remainder_bool": lambda m: m.ones(2, dtype=m.bool) % True,
    "var_int": lambda m: m.tensor([1, 2, 3]).var(),
    "std_int": lambda m: m.tensor([[1, 2, 3]]).std(1),
    "argmax_bool": lambda m: m.tensor([True, False]).argmax(),
    "where_long": lambda m: m.where(m.tensor([1, 0]), m.tensor([1.0, 2.0]), m.tensor([3.0, 4.0])),
    "sum_float_dim": lambda m: m.ones(2, 3).sum(1.0),
    "softmax_float_dim": lambda m: m.ones(2, 3).softmax(1.0),
    "topk_bool": lambda m: m.tensor([True, False]).topk(1),
    "median_bool": lambda m: m.tensor([True, False, True]).median(),
    "flatten_0d": lambda m: m.tensor(1.0).flatten(-2, -1),
    "sum_0d": lambda m: m.tensor(1.0).sum(1),
    "clamp_overflow": lambda m: m.tensor([1], dtype=m.int8).clamp(max=300),
    "masked_fill_overflow": lambda m: m.tensor([1]).masked_fill(m.tensor([True]), math.inf),
    "split_0_nonempty": lambda m: m.ones(2).split(0),
    "max_unpool_empty_plane": lambda m: m.nn.functional.max_unpool2d(
        m.ones(1, 1, 0, 2), m.zeros(1, 1, 0, 2, dtype=m.int64), 2),
}


def _view_of_leaf(m):
    x = m.ones(3)
    v = x[:2]
    x.requires_grad_()
    v.add_(1)


def _no_grad_view(m):
    x = m.ones(3, requires_grad=True)
    with m.no_grad():
        v = x[:2]
    v.add_(1)


_RAISES_IN_PYTORCH.update(view_of_leaf=_view_of_leaf, no_grad_view=_no_grad_view)


@pytest.mark.parametrize("name", sorted(_RAISES_IN_PYTORCH))
def test_raises_as_in_pytorch(name):
    _check_raises_like_torch(_RAISES_IN_PYTORCH[name])


# ============================================================================= errors that must say more

def test_an_out_of_range_index_is_an_index_error_naming_the_op_and_shape(device):
    with pytest.raises(IndexError) as e:
        tg.randn(3, device=device)[10]
    assert isinstance(e.value, OpError) and isinstance(e.value, OpIndexError)
    msg = str(e.value)
    assert msg.startswith("getitem:") and "index 10" in msg and "shape=(3,)" in msg


def test_index_errors_reach_code_written_for_pytorch():
    x = tg.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    rows, i = [], 0
    while True:                         # the sequence protocol: index until IndexError
        try:
            rows.append(x[i].tolist())
        except IndexError:
            break
        i += 1
    assert rows == [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]
    assert [r.tolist() for r in x] == rows and len(list(x)) == 3
    assert list(tg.tensor([7, 8])) == [7, 8]


def test_kept_kinds_survive_pickling():
    # DataLoader workers send errors between processes
    for cls, base in ((OpIndexError, IndexError), (OpTypeError, TypeError),
                      (OpNotImplementedError, NotImplementedError)):
        e = pickle.loads(pickle.dumps(cls("op: message")))
        assert type(e) is cls and isinstance(e, base) and isinstance(e, RuntimeError)
        assert str(e) == "op: message"


@pytest.mark.parametrize("op,kind,match", [
    (lambda x: x.narrow(0, 0, 1), RuntimeError, r"narrow\(\) cannot be applied to a 0-dim tensor"),
    (lambda x: x.split(1), RuntimeError, "split expects at least a 1-dimensional tensor"),
    (lambda x: x.chunk(1), RuntimeError, "chunk expects at least a 1-dimensional tensor"),
    (lambda x: x.unflatten(0, (1,)), IndexError, "Dimension specified as 0 but tensor has no dimensions"),
])
def test_splitting_a_0d_tensor_says_it_has_no_dims(op, kind, match):
    with pytest.raises(kind, match=match) as e:
        op(tg.tensor(1.0))
    assert isinstance(e.value, OpError)


@pytest.mark.parametrize("dtype,value", [(tg.int64, math.inf), (tg.int64, -math.inf),
                                         (tg.int64, math.nan), (tg.int64, 1e30), (tg.int64, 2 ** 63),
                                         (tg.int8, 300), (tg.int8, 255.0), (tg.uint8, -256),
                                         (tg.float16, 1e6)])
def test_masked_fill_with_a_value_the_dtype_cannot_hold_raises(dtype, value):
    x = tg.tensor([1, 2], dtype=dtype)
    with pytest.raises(RuntimeError, match="masked_fill.*value cannot be converted to type .* without "
                                           "overflow"):
        x.masked_fill(tg.tensor([True, False]), value)


def test_masked_fill_values_pytorch_converts():
    mask = tg.tensor([True, False])
    _same(tg.tensor([1, 2]).masked_fill(mask, 2.5), [2, 2], np.int64)          # truncated
    _same(tg.tensor([1, 2], dtype=tg.uint8).masked_fill(mask, -1), [255, 2], np.uint8)  # wraps
    _same(tg.tensor([True, False]).masked_fill(mask, math.inf), [True, False], bool)
    _same(tg.tensor([1.0, 2.0]).masked_fill(mask, -math.inf), [-math.inf, 2.0], np.float32)
    with pytest.raises(RuntimeError, match="without overflow"):
        tg.tensor([1, 2]).masked_fill(mask, tg.tensor(math.inf))


@pytest.mark.parametrize("cls", [nn.RNN, nn.LSTM, nn.GRU])
@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("shape,batch_first", [((0, 1, 2), False), ((1, 0, 2), True), ((0, 2), False)])
def test_a_zero_length_sequence_into_a_recurrent_layer_raises(cls, fused, shape, batch_first):
    layer = cls(2, 3, fused=fused, batch_first=batch_first)
    with pytest.raises(RuntimeError, match="Expected sequence length to be larger than 0 in RNN") as e:
        layer(tg.ones(*shape))
    assert str(e.value).startswith(cls.__name__ + ":")


@pytest.mark.parametrize("cls", [nn.RNN, nn.GRU])
def test_a_tuple_hidden_state_for_rnn_or_gru_raises_type_error(cls):
    h = tg.zeros(1, 1, 3)
    with pytest.raises(TypeError, match=cls.__name__ + r": hx must be a Tensor.*got tuple.*only the LSTM"):
        cls(2, 3)(tg.ones(4, 1, 2), (h, h))
    assert cls(2, 3)(tg.ones(4, 1, 2), h)[1].shape == (1, 1, 3)


@pytest.mark.parametrize("cls", [nn.RNNCell, nn.GRUCell])
def test_a_tuple_hidden_state_for_a_cell_raises_type_error(cls):
    h = tg.zeros(1, 3)
    with pytest.raises(TypeError, match=cls.__name__ + r": hidden must be a Tensor.*got tuple"):
        cls(2, 3)(tg.ones(1, 2), (h, h))


_SAY_MORE_IN_PYTORCH = {
    "index": lambda m: m.randn(3)[10],
    "narrow_0d": lambda m: m.tensor(1.0).narrow(0, 0, 1),
    "split_0d": lambda m: m.tensor(1.0).split(1),
    "chunk_0d": lambda m: m.tensor(1.0).chunk(1),
    "unflatten_0d": lambda m: m.tensor(1.0).unflatten(0, (1,)),
    "masked_fill_inf": lambda m: m.tensor([1, 2]).masked_fill(m.tensor([True, False]), math.inf),
    "rnn_empty": lambda m: m.nn.RNN(2, 3)(m.ones(0, 1, 2)),
    "lstm_empty": lambda m: m.nn.LSTM(2, 3)(m.ones(0, 1, 2)),
    "gru_empty": lambda m: m.nn.GRU(2, 3)(m.ones(0, 2)),
}


@pytest.mark.parametrize("name", sorted(_SAY_MORE_IN_PYTORCH))
def test_clear_errors_have_pytorchs_kind(name):
    _check_raises_like_torch(_SAY_MORE_IN_PYTORCH[name])


# ============================================================================= found beside the fuzz

def test_chunk_of_an_empty_dim_gives_as_many_empty_pieces_as_asked():
    # PyTorch: chunks pieces of size 0 (a split would give one)
    pieces = tg.zeros(2, 0).chunk(4, 1)
    assert len(pieces) == 4 and all(p.shape == (2, 0) for p in pieces)
    assert [p.shape for p in tg.zeros(0, 3).chunk(3)] == [(0, 3)] * 3
    assert [p.shape for p in tg.arange(7).chunk(3)] == [(3,), (3,), (1,)]    # ceil(7 / 3) = 3


def test_arange_takes_0d_tensors_as_numbers_of_their_kind():
    assert tg.arange(tg.tensor(3)).dtype == np.int64 and tg.arange(tg.tensor(3)).tolist() == [0, 1, 2]
    assert tg.arange(tg.tensor(1), tg.tensor(2.5)).tolist() == [1.0, 2.0]       # a float: float32
    assert tg.arange(tg.tensor(1), tg.tensor(2.5)).dtype == np.float32


def test_size_of_a_dim_of_a_0d_tensor_is_an_index_error_naming_it():
    with pytest.raises(IndexError, match="size: Dimension specified as 0 but tensor has no dimensions"):
        tg.tensor(1.0).size(0)
    assert tg.zeros(2, 3).size(-1) == 3


def test_maximum_over_an_empty_dim_is_pytorchs_error():
    with pytest.raises(IndexError, match=r"amax\(\): Expected reduction dim 0 to have non-zero size"):
        tg.zeros(0, 3).amax(0)
    with pytest.raises(RuntimeError, match=r"amin\(\): Expected reduction dim to be specified"):
        tg.zeros(3, 0).amin()
    assert tg.zeros(0, 3).amax(1).shape == (0,)           # over a non-empty dim: an empty result


def test_lerp_of_integers_is_not_implemented_as_in_pytorch():
    with pytest.raises(NotImplementedError, match="'Long'"):
        tg.lerp(tg.zeros(2, dtype=tg.int64), tg.zeros(2, dtype=tg.int64), 0.5)


_FOUND_BESIDE = {
    "chunk_empty": (lambda m: m.zeros(2, 0).chunk(4, 1), "values"),
    "arange_tensor": (lambda m: m.arange(m.tensor(3)), "values"),
    "size_0d": (lambda m: m.tensor(1.0).size(0), "raises"),
    "amax_empty": (lambda m: m.zeros(0, 3).amax(0), "raises"),
    "amin_all_empty": (lambda m: m.zeros(3, 0).amin(), "raises"),
    "lerp_int": (lambda m: m.lerp(m.zeros(2, dtype=m.int64), m.zeros(2, dtype=m.int64), 0.5), "raises"),
}


@pytest.mark.parametrize("name", sorted(_FOUND_BESIDE))
def test_found_beside_the_fuzz_matches_pytorch(name):
    fn, kind = _FOUND_BESIDE[name]
    if kind == "raises":
        _check_raises_like_torch(fn)
    else:
        _check_values_like_torch(fn)
