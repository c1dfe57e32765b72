"""Regression tests for results that used to be silently different from PyTorch's.

Each test states the PyTorch behaviour it pins down and checks it against numbers worked by hand
(or finite differences); where PyTorch is installed a few cases are also compared with it live.
"""
import math
import warnings

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import nn, optim
from tinygrad_rnn.testing import gradcheck

INPLACE = "modified by an inplace operation"


def _raises_inplace(fn, now, then, op=None):
    with pytest.raises(RuntimeError, match=INPLACE) as e:
        fn()
    msg = str(e.value)
    assert f"is at version {now}; expected version {then}" in msg
    if op:
        assert msg.startswith(op + ":"), msg


# ----------------------------------------------------------------------------- version counters

def test_optimizer_step_between_forward_and_backward_raises(device):
    w = tg.tensor([1.0, 2.0, 3.0], device=device, requires_grad=True)
    x = tg.tensor([4.0, 5.0, 6.0], device=device)
    y = (w * w * x).sum()                    # d/dw needs w's value: the first Mul saved it
    opt = optim.SGD([w], lr=0.1)
    w.grad = tg.ones(3, device=device)
    opt.step()                               # changes w after it was saved
    _raises_inplace(y.backward, 1, 0, op="mul")


def test_a_step_that_changes_nothing_backward_reads_is_fine(device):
    # as PyTorch: w * x saves only x (d/dw = x), so changing w afterwards is harmless
    w = tg.tensor([1.0, 2.0, 3.0], device=device, requires_grad=True)
    x = tg.tensor([4.0, 5.0, 6.0], device=device)
    y = (w * x).sum()
    with tg.no_grad():
        w.mul_(10)
    y.backward()
    assert w.grad.tolist() == [4.0, 5.0, 6.0]


@pytest.mark.parametrize("change", [
    lambda x: x.mul_(2), lambda x: x.add_(1), lambda x: x.sub_(1), lambda x: x.div_(2),
    lambda x: x.clamp_(0, 1), lambda x: x.zero_(), lambda x: x.fill_(3.0),
    lambda x: x.copy_(tg.ones(3)), lambda x: x.__setitem__(0, 5.0), lambda x: x.__iadd__(1.0),
])
def test_every_inplace_op_on_a_saved_tensor_raises_at_backward(change):
    w = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x = tg.tensor([0.5, 0.25, 2.0])
    y = (w * x).sum()
    change(x)
    _raises_inplace(y.backward, 1, 0)


def test_unchanged_saved_tensor_gives_the_gradient():
    w = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x = tg.tensor([4.0, 5.0, 6.0])
    (w * x).sum().backward()
    assert w.grad.tolist() == [4.0, 5.0, 6.0]


def test_views_share_the_version_counter():
    w = tg.tensor([1.0, 2.0], requires_grad=True)
    x = tg.tensor([[1.0, 2.0], [3.0, 4.0]])
    y = (x @ w).sum()
    row = x[1]                               # a view: writing it writes x
    row.mul_(10)
    assert x.tolist() == [[1.0, 2.0], [30.0, 40.0]] and x._version == 1
    _raises_inplace(y.backward, 1, 0, op="matmul")


def test_detach_shares_memory_and_version():
    w = tg.tensor([1.0, 2.0], requires_grad=True)
    y = (w * w).sum()
    w.detach().add_(1)                       # the classic truncated-BPTT slip
    assert w.tolist() == [2.0, 3.0]
    _raises_inplace(y.backward, 1, 0)


def test_changed_saved_output_raises():
    x = tg.tensor([0.0, 1.0], requires_grad=True)
    e = x.exp()                              # exp saves its output for backward
    e.add_(1)
    _raises_inplace(lambda: e.sum().backward(), 1, 0, op="exp")


def test_inplace_on_leaf_requiring_grad_raises_outside_no_grad():
    w = tg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an "
                                           "in-place operation"):
        w.add_(1)
    with pytest.raises(RuntimeError, match="a view of a leaf Variable that requires grad is being "
                                           "used in an in-place operation"):
        w[0].add_(1)
    with pytest.raises(RuntimeError, match="a leaf Variable"):
        w[0] = 3.0
    with tg.no_grad():                       # as optimizers do: allowed, and counted
        w[0].add_(1)
        w.mul_(2)
    assert w.tolist() == [4.0, 4.0] and w._version == 2


def test_recorded_inplace_ops_on_non_leaves_have_pytorch_gradients():
    w = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    a = w * 1
    a.add_(1)          # a = w + 1
    a.mul_(w)          # a = (w + 1) w  -> da/dw = 2w + 1
    a.sum().backward()
    assert w.grad.tolist() == [3.0, 5.0, 7.0]
    assert a.grad_fn is not None and a.requires_grad


def test_recorded_inplace_matches_finite_differences():
    def f(w):
        a = w * 2.0
        a.sub_(w * w, alpha=0.5)
        a.clamp_(-1.5, 3.0)
        a.div_(w + 3.0)
        return a
    w = tg.tensor([0.3, -0.7, 1.9, 2.6], dtype=tg.float64, requires_grad=True)
    assert gradcheck(f, w)


def test_fill_and_zero_cut_the_gradient_of_the_old_values():
    w = tg.tensor([1.0, 2.0], requires_grad=True)
    a = w * 3
    a.fill_(7.0)
    (a * w).sum().backward()                 # d/dw (7 w) = 7; nothing through the old a
    assert w.grad.tolist() == [7.0, 7.0]


def test_setitem_is_differentiable_for_the_value_and_the_rest():
    p = tg.tensor([1.0, 1.0, 1.0, 1.0], requires_grad=True)
    s = tg.tensor(2.0, requires_grad=True)
    a = p * 1
    a[1:] = s * 3                            # broadcast: s's gradient sums the slice's
    c = tg.tensor([1.0, 2.0, 3.0, 4.0])
    (a * c).sum().backward()
    assert p.grad.tolist() == [1.0, 0.0, 0.0, 0.0]
    assert s.grad.item() == 3 * (2 + 3 + 4)


def test_setitem_into_a_plain_tensor_connects_the_graph():
    w = tg.tensor([1.0, 2.0], requires_grad=True)
    out = tg.zeros(3)
    out[1:] = w * w
    assert out.requires_grad and not out.is_leaf
    out.sum().backward()
    assert w.grad.tolist() == [2.0, 4.0]


def test_setitem_gradient_matches_finite_differences():
    def f(x, v):
        y = x * 1.0
        y[[0, 2], 1:] = v.exp()
        return y * y
    x = tg.tensor(np.arange(12.0).reshape(3, 4) / 7, requires_grad=True)
    v = tg.tensor([0.1, -0.2, 0.3], dtype=tg.float64, requires_grad=True)
    assert gradcheck(f, x, v)


def test_view_taken_before_recorded_inplace_follows_the_base():
    w = tg.tensor([1.0, 2.0], requires_grad=True)
    a = w * 1
    v = a[0:1]
    a.mul_(3)
    (v * 2).sum().backward()             # v = (3 w)[0:1]: d(6 w0)/dw = [6, 0], as PyTorch
    assert w.grad.tolist() == [6.0, 0.0]


def test_inplace_on_view_of_graph_tensor_is_refused():
    w = tg.tensor([1.0, 2.0], requires_grad=True)
    a = w * 1
    with pytest.raises(RuntimeError, match="view of a tensor that is part of the graph"):
        a[0:1].add_(1)


def test_inplace_float_into_int_tensor_raises():
    x = tg.tensor([1, 2])
    with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired output "
                                           "type Long"):
        x += 1.5
    x += 2                                   # same category: fine
    assert x.tolist() == [3, 4]


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


# ----------------------------------------------------------------------------- dtypes

@pytest.mark.parametrize("make, dtype", [
    (lambda: tg.tensor([1, 2]) * 0.5, tg.float32),                              # not float64
    (lambda: tg.tensor([1.0]) + tg.tensor(1.0, dtype=tg.float64), tg.float32),  # 0-d does not widen
    (lambda: tg.tensor([1.0]) + tg.tensor([1, 2]), tg.float32),                 # int64 tensor
    (lambda: tg.tensor([1, 2]) / tg.tensor([2, 2]), tg.float32),                # true division
    (lambda: tg.tensor([1], dtype=tg.int32) + tg.tensor(1), tg.int32),
    (lambda: tg.tensor([1], dtype=tg.int8) + tg.tensor([1], dtype=tg.uint8), tg.int16),
    (lambda: tg.tensor([1.0]) * np.float64(2.0), tg.float32),                   # NumPy scalar
    (lambda: tg.tensor([1.0], dtype=tg.float16) * 3.0, tg.float16),
    (lambda: tg.tensor([True]) + 1, tg.int64),
    (lambda: tg.tensor([1, 2]) / 2, tg.float32),
    (lambda: tg.tensor([1], dtype=tg.int32) * tg.tensor(1.5, dtype=tg.float64), tg.float64),
])
def test_binary_ops_promote_as_pytorch(make, dtype):
    assert make().dtype == dtype


def test_integer_overflow_with_a_python_int_wraps_as_pytorch():
    assert (tg.tensor([1], dtype=tg.int8) + 1000).tolist() == [-23]    # (1 + 1000) mod 256


def test_where_with_a_value_that_does_not_fit_raises():
    with pytest.raises(RuntimeError, match="value cannot be converted to type uint8_t without overflow"):
        tg.where(tg.tensor([True]), tg.tensor([1], dtype=tg.uint8), 300)
    assert tg.where(tg.tensor([True, False]), tg.tensor([1, 2], dtype=tg.uint8), 7).dtype == tg.uint8


@pytest.mark.parametrize("fn", ["sigmoid", "exp", "tanh", "log", "sqrt", "sin", "erf",
                                lambda t: t.logsumexp(0), lambda t: t.softmax(0)])
@pytest.mark.parametrize("dtype", [tg.int64, tg.int8, tg.bool])
def test_floating_ops_on_integers_give_float32(fn, dtype):
    x = tg.tensor([1, 0, 1], dtype=dtype)
    y = getattr(x, fn)() if isinstance(fn, str) else fn(x)
    assert y.dtype == tg.float32


def test_clamp_of_int_with_float_bounds_does_not_truncate():
    y = tg.tensor([0, 1, 2]).clamp(0.5, 1.5)
    assert y.dtype == tg.float32 and y.tolist() == [0.5, 1.0, 1.5]


def test_matmul_like_ops_refuse_mixed_float_dtypes():
    msg = r"expected m1 and m2 to have the same dtype, but got: float != double"
    with pytest.raises(RuntimeError, match=msg):
        tg.ones(2, 3) @ tg.ones(3, 2, dtype=tg.float64)
    with pytest.raises(RuntimeError, match="double != float"):
        nn.Linear(3, 2)(tg.ones(2, 3, dtype=tg.float64))


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


def test_reduction_over_empty_dim_tuple_reduces_everything():
    x = tg.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert x.sum(dim=()).item() == 10.0 and x.mean(dim=()).item() == 2.5
    assert x.sum(dim=(), keepdim=True).shape == (1, 1)


def test_boolean_mask_of_the_wrong_length_raises_index_error():
    msg = (r"The shape of the mask \[3\] at index 0 does not match the shape of the indexed tensor "
           r"\[4\] at index 0")
    with pytest.raises(IndexError, match=msg):
        tg.ones(4)[tg.tensor([True, False, True])]
    with pytest.raises(IndexError, match="mask"):
        tg.ones(4)[tg.tensor([True, False, True])] = 0.0
    with pytest.raises(IndexError, match=r"mask \[2\] at index 0 .* tensor \[2, 3\] at index 1"):
        tg.ones(2, 3)[:, tg.tensor([True, False])]


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


# ----------------------------------------------------------------------------- errors instead of crashes

def test_raw_python_errors_became_pytorch_errors():
    with pytest.raises(RuntimeError, match="chunk expects `chunks` to be greater than 0, got: 0"):
        tg.ones(4).chunk(0)
    with pytest.raises(ValueError, match="step must be greater than zero"):
        tg.ones(4)[::-1]
    with pytest.raises(RuntimeError, match="t\\(\\) expects a tensor with <= 2 dimensions, but self is 3D"):
        tg.ones(2, 3, 4).t()
    with pytest.raises(RuntimeError, match=r"Use \.reshape\(\.\.\.\) instead"):
        tg.ones(4, 3).t().view(12)
    assert tg.ones(4, 3).t().reshape(12).shape == (12,)
    with pytest.raises(ValueError, match=r"expected sequence of length 3 at dim 1 \(got 2\)"):
        tg.tensor([[1, 2, 3], [1, 2]])
    with pytest.raises(RuntimeError, match=r"shape '\[4, -1\]' is invalid for input of size 10"):
        tg.ones(10).view(4, -1)


def test_view_shares_memory_and_reshape_may_copy():
    x = tg.arange(6.0)
    v = x.view(2, 3)
    v[0, 0] = 10.0
    assert x[0].item() == 10.0 and x._version == 1


def test_size_zero_softmax_and_logsumexp_behave_as_pytorch():
    assert tg.zeros(3, 0).softmax(1).shape == (3, 0)
    assert tg.zeros(0, 3).log_softmax(0).shape == (0, 3)
    assert tg.zeros(3, 0).logsumexp(1).tolist() == [-math.inf] * 3


def test_no_numpy_warnings_leak_from_ops():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert tg.tensor([0.0]).log().item() == -math.inf
        assert math.isnan((tg.tensor([0.0]) / 0).item())
        assert tg.tensor([1000.0]).exp().item() == math.inf
        x = tg.tensor([0.0], requires_grad=True)
        x.log().sum().backward()
        assert x.grad.item() == math.inf


def test_custom_function_forward_explains_that_it_receives_arrays():
    class Double(tg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x.exp()                   # a Tensor method on a NumPy array

        @staticmethod
        def backward(ctx, g):
            return g

    with pytest.raises(AttributeError, match="receives raw arrays"):
        Double.apply(tg.ones(2))


# ----------------------------------------------------------------------------- live PyTorch check

def test_promotion_table_matches_pytorch():
    torch = pytest.importorskip("torch")
    kinds = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64"]
    for a in kinds:
        for b in kinds:
            for zero_dim in (False, True):
                x = tg.ones(2, dtype=getattr(tg, a))
                y = tg.ones((), dtype=getattr(tg, b)) if zero_dim else tg.ones(2, dtype=getattr(tg, b))
                tx = torch.ones(2, dtype=getattr(torch, a))
                ty = torch.ones((), dtype=getattr(torch, b)) if zero_dim else torch.ones(2, dtype=getattr(torch, b))
                assert str((x * y).dtype) == str((tx * ty).dtype).replace("torch.", ""), (a, b, zero_dim)
            for scalar in (2, 2.5, True):
                assert str((tg.ones(2, dtype=getattr(tg, a)) * scalar).dtype) == \
                    str((torch.ones(2, dtype=getattr(torch, a)) * scalar).dtype).replace("torch.", ""), (a, scalar)


# ----------------------------------------------------------------------------- gradients own their memory

def test_create_graph_leaf_gradients_are_separate_tensors():
    a = tg.tensor([1.0, 2.0], requires_grad=True)
    b = tg.tensor([3.0, 4.0], requires_grad=True)
    ((a + b) ** 2).sum().backward(create_graph=True)
    assert a.grad is not b.grad
    nn.utils.clip_grad_norm_([a, b], 1.0)              # scales each once, not twice
    total = math.sqrt(2 * (8 ** 2 + 12 ** 2))
    np.testing.assert_allclose(a.grad.numpy(), np.array([8.0, 12.0]) / total, rtol=1e-5)
    a2 = tg.tensor([1.0, 2.0], requires_grad=True)
    (a2 + 1).sum().backward(create_graph=True)
    with tg.no_grad():
        a2.grad.zero_()                                # a writable tensor, not a broadcast view


def test_retained_gradients_do_not_share_memory():
    w = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    a, b = w * 2, w * 3
    a.retain_grad()
    b.retain_grad()
    ((a + b) ** 2).sum().backward()
    before = b.grad.tolist()
    with tg.no_grad():
        a.grad.add_(1)
    assert b.grad.tolist() == before
    x = tg.tensor([1.0, 1.0], requires_grad=True)
    y = x * 1
    y.retain_grad()
    v = tg.tensor([1.0, 1.0])
    y.backward(v)
    v.add_(5)
    assert y.grad.tolist() == [1.0, 1.0]


def test_a_leaf_gradient_never_aliases_a_saved_array():
    class HalfSquare(tg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x / 2

        @staticmethod
        def backward(ctx, g):
            x, = ctx.saved_tensors
            return x                                    # the saved input itself, as the gradient

    x = tg.tensor([1.0, 2.0], requires_grad=True)
    HalfSquare.apply(x).sum().backward()
    assert not np.shares_memory(x.grad.numpy(), x.numpy())


def test_a_second_backward_accumulates_into_the_same_grad_tensor():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    (x * 3).sum().backward()
    g = x.grad
    (x * 3).sum().backward()
    assert x.grad is g and g.tolist() == [6.0, 6.0]


# ----------------------------------------------------------------------------- more in-place cases

def test_retain_grad_after_an_inplace_op_counts_the_new_value_only():
    a = tg.tensor([1.0, 1.0, 1.0], requires_grad=True)
    x = a * 1
    x.mul_(2)
    x.retain_grad()
    (x * 3).sum().backward()
    assert x.grad.tolist() == [3.0, 3.0, 3.0] and a.grad.tolist() == [6.0, 6.0, 6.0]
    b = tg.tensor([1.0, 1.0, 1.0], requires_grad=True)
    z = b * 1
    z[0] = 0.0
    z.retain_grad()
    (z * 3).sum().backward()
    assert z.grad.tolist() == [3.0, 3.0, 3.0] and b.grad.tolist() == [0.0, 3.0, 3.0]


def test_a_tensor_or_parameter_built_on_another_shares_its_version():
    w = tg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    t = tg.tensor([1.0, 1.0, 1.0])
    y = (w * t).sum()
    p = nn.Parameter(t)
    with tg.no_grad():
        p.add_(1)                                      # the same memory as t, which mul saved
    _raises_inplace(y.backward, 1, 0)


def test_changing_a_max_output_in_place_is_caught():
    x = tg.tensor([[1.0, 3.0], [4.0, 2.0]], requires_grad=True)
    v = (x * 1).amax(1)
    v.add_(100)
    with pytest.raises(RuntimeError, match=INPLACE):
        v.sum().backward()


def test_changing_index_tensors_after_the_forward_does_not_move_gradients():
    x = tg.tensor([[1.0, 3.0], [4.0, 2.0]], requires_grad=True)
    v, i = x.max(1)
    i[0] = 0
    v.sum().backward()
    assert x.grad.tolist() == [[0.0, 1.0], [1.0, 0.0]]
    w = tg.tensor(np.arange(6.0).reshape(3, 2), requires_grad=True)
    idx = tg.tensor([0, 1])
    y = nn.functional.embedding(idx, w)
    idx[0] = 2
    y.sum().backward()
    assert w.grad.tolist() == [[1.0, 1.0], [1.0, 1.0], [0.0, 0.0]]


def test_an_op_saves_only_what_its_backward_reads():
    a = tg.tensor([1.0, 2.0], requires_grad=True)
    x = a * 1
    y = x * 2                                          # saves neither x nor 2's partner for dx
    x.add_(1)
    y.sum().backward()                                 # as PyTorch: fine
    assert a.grad.tolist() == [2.0, 2.0]


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


def test_autograd_grad_walks_only_the_part_of_the_graph_it_needs():
    x = tg.tensor([1.0, 2.0], requires_grad=True)
    fired = []
    x.register_hook(lambda g: fired.append(1))
    h = x.exp()
    (gh,) = tg.autograd.grad((h * h).sum(), h)
    assert fired == [] and np.allclose(gh.numpy(), 2 * h.numpy())
    h2 = x.exp()
    (h2 * 2).sum().backward()                          # frees the part below h2
    (g2,) = tg.autograd.grad((h2 * h2).sum(), h2)      # does not need it
    assert np.allclose(g2.numpy(), 2 * h2.numpy())
