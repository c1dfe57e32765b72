"""Result dtypes as PyTorch gives them: type promotion in binary ops, joins, ``where`` and in-place
results; integer and bool inputs to floating functions, sums, products, ``einsum`` and the
``alpha``/``beta`` of scaled sums; and what PyTorch refuses (mixed float dtypes in matrix products,
the mean of integers). Against tables and values worked out from PyTorch's rules and, where it
is installed, PyTorch itself.
"""
import itertools
import math

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import nn


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


# ----------------------------------------------------------------------------- the promotion table against PyTorch

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


nan, inf = math.nan, math.inf


# ----------------------------------------------------------------------------- joining promotes

@pytest.mark.parametrize("join", [lambda ts: tg.cat(ts), lambda ts: tg.concat(ts), lambda ts: tg.stack(ts),
                                  lambda ts: tg.hstack(ts), lambda ts: tg.vstack(ts)])
def test_joining_float32_and_int_gives_float32(join):
    # PyTorch: cat & co. promote their inputs as one op would: float32 with int64 is float32
    out = join([tg.tensor([1.5, 2.5]), tg.tensor([3, 4])])
    assert out.dtype == tg.float32
    assert sorted(out.numpy().ravel().tolist()) == [1.5, 2.5, 3.0, 4.0]


def test_joining_promotes_within_a_category():
    # PyTorch: uint8 with int8 is int16 (both fit), bool with bool stays bool
    out = tg.cat([tg.tensor([255], dtype=tg.uint8), tg.tensor([-1], dtype=tg.int8)])
    assert out.dtype == tg.int16 and out.tolist() == [255, -1]
    assert tg.stack([tg.tensor(True), tg.tensor(False)]).dtype == tg.bool


def test_joining_mixed_floats_keeps_each_gradient_dtype():
    # PyTorch: float32 with float64 is float64; the float32 input's gradient is float32
    a = tg.tensor([1.0, 2.0], requires_grad=True)
    b = tg.tensor(np.array([3.0]), requires_grad=True)
    out = tg.cat([a, b])
    assert out.dtype == tg.float64
    (out * tg.tensor(np.array([1.0, 2.0, 3.0]))).sum().backward()
    assert a.grad.dtype == tg.float32 and a.grad.tolist() == [1.0, 2.0]
    assert b.grad.tolist() == [3.0]


def test_joining_dtypes_match_pytorch():
    # PyTorch: the result dtype of every join of every pair of dtypes
    torch = pytest.importorskip("torch")
    kinds = ["bool", "uint8", "int8", "int32", "int64", "float16", "float32", "float64"]
    for a, b in itertools.product(kinds, repeat=2):
        ours = [tg.ones(2, dtype=getattr(tg, a)), tg.zeros(2, dtype=getattr(tg, b))]
        theirs = [torch.ones(2, dtype=getattr(torch, a)), torch.zeros(2, dtype=getattr(torch, b))]
        for name in ("cat", "concat", "stack", "hstack", "vstack"):
            got, want = getattr(tg, name)(ours), getattr(torch, name)(theirs)
            assert str(got.dtype) == str(want.dtype).replace("torch.", ""), (name, a, b)
            np.testing.assert_array_equal(got.numpy(), want.numpy())


# ----------------------------------------------------------------------------- integer alpha / beta

def test_integer_addmm_and_baddbmm_truncate_alpha_and_beta():
    # PyTorch: alpha and beta become the integer type (1.5 -> 1, -1.5 -> -1, 0.5 -> 0), result int64
    i = tg.tensor([[0, 1], [2, 3]])             # i @ i = [[2, 3], [6, 11]]
    out = tg.addmm(i, i, i, beta=1.5, alpha=2.5)
    assert out.dtype == tg.int64 and out.tolist() == [[4, 7], [14, 25]]    # 1 * i + 2 * i @ i
    assert tg.addmm(i, i, i, beta=0.5).tolist() == [[2, 3], [6, 11]]      # beta 0: input ignored
    assert tg.addmm(i, i, i, alpha=-1.5).tolist() == [[-2, -2], [-4, -8]]
    out = tg.baddbmm(i[None], i[None], i[None], beta=2.5, alpha=1.5)
    assert out.dtype == tg.int64 and out.tolist() == [[[2, 5], [10, 17]]]


def test_integer_index_add_truncates_alpha():
    # PyTorch: index_add keeps x's dtype; alpha=1.5 on int64 adds 1 * source
    x = tg.tensor([[0, 1], [2, 3]])
    out = x.index_add(0, tg.tensor([0, 0]), x, alpha=1.5)
    assert out.dtype == tg.int64 and out.tolist() == [[2, 5], [2, 3]]
    assert x.index_add(0, tg.tensor([0, 1]), x, alpha=-0.5).tolist() == [[0, 1], [2, 3]]


def test_bool_index_add_is_a_logical_or():
    # PyTorch: bool index_add stays bool; alpha counts only as zero or nonzero
    b = tg.tensor([[False, True], [True, False]])
    for alpha in (1, 2, 1.5, -1, True):
        out = b.index_add(0, tg.tensor([0, 0]), b, alpha=alpha)
        assert out.dtype == tg.bool and out.tolist() == [[True, True], [True, False]]
    assert b.index_add(0, tg.tensor([0, 0]), b, alpha=0).tolist() == b.tolist()


def test_alpha_that_does_not_fit_the_integer_type_raises():
    # PyTorch: RuntimeError "value cannot be converted to type int64_t without overflow"
    i = tg.tensor([[0, 1], [2, 3]])
    for alpha in (nan, inf, 1e30):
        with pytest.raises(RuntimeError, match="value cannot be converted to type int64_t without overflow"):
            tg.addmm(i, i, i, alpha=alpha)
    u = i.to(tg.uint8)
    with pytest.raises(RuntimeError, match="uint8_t without overflow"):
        u.index_add(0, tg.tensor([0, 0]), u, alpha=300)


def test_bool_matrix_products_raise_not_implemented():
    # PyTorch: no bool kernels for matrix products ("addmm_impl_cpu_" not implemented for 'Bool')
    b = tg.tensor([[False, True], [True, False]])
    for fn in (lambda: b @ b, lambda: tg.mm(b, b), lambda: tg.addmm(b, b, b), lambda: tg.mv(b, b[0]),
               lambda: tg.dot(b[0], b[1]), lambda: tg.bmm(b[None], b[None]),
               lambda: tg.baddbmm(b[None], b[None], b[None])):
        with pytest.raises(NotImplementedError, match="not implemented for 'Bool'"):
            fn()


def test_integer_alpha_beta_match_pytorch():
    # PyTorch: dtypes and values of addmm / baddbmm / index_add for integer and bool inputs
    torch = pytest.importorskip("torch")
    a = np.array([[0, 1], [2, 3]])
    for dtype, alpha, beta in itertools.product(("int64", "int32", "uint8"), (1.5, -1.5, 0.5, 2, True),
                                                (2.5, 0.9, 1)):
        if dtype == "uint8" and alpha < 0:
            continue
        x, tx = tg.tensor(a.astype(dtype)), torch.tensor(a.astype(dtype))
        pairs = [(tg.addmm(x, x, x, beta=beta, alpha=alpha), torch.addmm(tx, tx, tx, beta=beta, alpha=alpha)),
                 (tg.baddbmm(x[None], x[None], x[None], beta=beta, alpha=alpha),
                  torch.baddbmm(tx[None], tx[None], tx[None], beta=beta, alpha=alpha)),
                 (x.index_add(1, tg.tensor([1, 1]), x, alpha=alpha),
                  tx.index_add(1, torch.tensor([1, 1]), tx, alpha=alpha))]
        for got, want in pairs:
            assert str(got.dtype) == str(want.dtype).replace("torch.", "")
            np.testing.assert_array_equal(got.numpy(), want.numpy())
    b = np.array([[False, True], [True, False]])
    for alpha in (0, 1, 2, 0.5):
        got = tg.tensor(b).index_add(0, tg.tensor([1, 1]), tg.tensor(b), alpha=alpha)
        want = torch.tensor(b).index_add(0, torch.tensor([1, 1]), torch.tensor(b), alpha=alpha)
        assert got.dtype == tg.bool and got.tolist() == want.tolist()


# ----------------------------------------------------------------------------- einsum of integers

def test_einsum_sums_of_integers_are_int64():
    # PyTorch: a letter summed inside one operand is a sum, and sums of integers are int64
    u = tg.tensor([[200, 100], [1, 2]], dtype=tg.uint8)
    out = tg.einsum("ij->i", u)
    assert out.dtype == tg.int64 and out.tolist() == [300, 3]
    assert tg.einsum("ii->", u).tolist() == 202
    b = tg.tensor([True, False, True])
    out = tg.einsum("i,j->", b, b)                 # both summed first: 2 * 2
    assert out.dtype == tg.int64 and out.item() == 4


def test_einsum_products_of_integers_keep_the_dtype():
    # PyTorch: contractions are matrix products in the operands' dtype (uint8 wraps around)
    u = tg.tensor([[16, 0], [0, 16]], dtype=tg.uint8)
    out = tg.einsum("ij,jk->ik", u, u)
    assert out.dtype == tg.uint8 and out.tolist() == [[0, 0], [0, 0]]         # 256 wraps to 0
    assert tg.einsum("ij->ji", u).dtype == tg.uint8 and tg.einsum("ii->i", u).tolist() == [16, 16]
    b = tg.tensor([True, False, True])
    out = tg.einsum("i,i->i", b, tg.tensor([True, True, False]))
    assert out.dtype == tg.bool and out.tolist() == [True, False, False]


def test_einsum_contraction_of_bools_raises():
    # PyTorch: a bool contraction needs bmm, which has no bool kernel; mixed dtypes after a sum raise
    b = tg.tensor([[True, False], [True, True]])
    with pytest.raises(NotImplementedError, match="\"bmm\" not implemented for 'Bool'"):
        tg.einsum("ij,jk->ik", b, b)
    u = tg.tensor([[1, 2], [3, 4]], dtype=tg.uint8)
    with pytest.raises(RuntimeError, match="expected scalar type Long but found Byte"):
        tg.einsum("ij,j->", u, u[0])          # i summed first (int64), then bmm with uint8


_EINSUM_CASES = [
    ("ij->i", (2, 3)), ("ij->ji", (2, 3)), ("ij->", (2, 3)), ("ii->i", (3, 3)), ("ii", (3, 3)),
    ("ij->i", (2, 1)), ("...->", (2, 2)), ("ij,ij->ij", (2, 3), (2, 3)), ("ij,ij->i", (2, 3), (2, 3)),
    ("i,j->ij", (2,), (3,)), ("ij,jk->ik", (2, 3), (3, 2)), ("ij,j->j", (2, 3), (3,)), ("ij,j->", (2, 3), (3,)),
    ("ij,j->i", (2, 3), (3,)), ("ii,i->i", (2, 2), (2,)), ("ii,i->", (2, 2), (2,)), ("i,i->", (3,), (3,)),
    ("i,j->", (2,), (3,)), ("i,j->i", (2,), (3,)), ("ij,jk,kl->il", (2, 2), (2, 2), (2, 2)),
    ("i,i,i->", (2,), (2,), (2,)), ("ij,kl->", (2, 2), (2, 2)), ("i,i->", (1,), (3,)), ("i,i->", (1,), (1,)),
    ("ij,j->i", (2, 1), (3,)), ("ij,j->i", (2, 3), (1,)), ("ij,i->i", (2, 1), (2,)), ("ijk,i->i", (2, 1, 3), (2,)),
    ("ij,jk->ik", (2, 0), (0, 2)), ("ij,jk->ik", (0, 2), (2, 2)), ("j,ij->", (2,), (3, 2)),
    ("ij,k,jk->i", (2, 2), (2,), (2, 2)), ("bij,bjk->bik", (2, 2, 2), (2, 2, 2)), ("ij,jk", (2, 3), (3, 2)),
]


def test_einsum_integer_dtypes_and_errors_match_pytorch():
    # PyTorch: result dtype, values (wrapping included) and error kind for integer and bool operands
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    for dtype in ("bool", "uint8", "int8", "int32", "int64"):
        for eq, *shapes in _EINSUM_CASES:
            arrays = [rng.integers(0, 256 if dtype == "uint8" else 100, s).astype(dtype) for s in shapes]
            try:
                want = torch.einsum(eq, *[torch.tensor(a) for a in arrays])
            except (RuntimeError, NotImplementedError) as e:
                with pytest.raises(type(e)):
                    tg.einsum(eq, *[tg.tensor(a) for a in arrays])
                continue
            got = tg.einsum(eq, *[tg.tensor(a) for a in arrays])
            assert str(got.dtype) == str(want.dtype).replace("torch.", ""), (dtype, eq)
            np.testing.assert_array_equal(got.numpy(), want.numpy(), err_msg=f"{dtype} {eq}")


# ----------------------------------------------------------------------------- sums of unsigned integers

def test_uint8_sums_are_int64():
    # PyTorch: every integer sum is int64 (NumPy gives uint64 for unsigned input)
    u = tg.tensor([[200, 100], [255, 1]], dtype=tg.uint8)
    assert u.sum().dtype == tg.int64 and u.sum().item() == 556
    assert u.sum(0).dtype == tg.int64 and u.sum(0).tolist() == [455, 101]
    out = u.sum_to_size(1, 2)
    assert out.dtype == tg.int64 and out.tolist() == [[455, 101]]
    assert u.sum_to_size(2, 2).dtype == tg.uint8        # nothing summed: the tensor itself


def test_integer_sum_dtypes_match_pytorch():
    # PyTorch: sum and sum_to_size dtypes for every integer and bool dtype
    torch = pytest.importorskip("torch")
    for dtype in ("bool", "uint8", "int8", "int16", "int32", "int64"):
        a = np.arange(6).reshape(2, 3).astype(dtype)
        for fn in (lambda x: x.sum(), lambda x: x.sum(1, keepdim=True), lambda x: x.sum_to_size(1, 3)):
            got, want = fn(tg.tensor(a)), fn(torch.tensor(a))
            assert str(got.dtype) == str(want.dtype).replace("torch.", ""), dtype
            np.testing.assert_array_equal(got.numpy(), want.numpy())


# ----------------------------------------------------------------------------- where and reductions

def test_where_of_two_python_floats_is_float32():
    # PyTorch: Python floats take the default dtype, float32 (NumPy would give float64)
    c = tg.tensor([True, False])
    out = tg.where(c, 1.0, 0.0)
    assert out.dtype == tg.float32 and out.tolist() == [1.0, 0.0]
    assert tg.where(c, 1, 0.5).dtype == tg.float32 and tg.where(c, 1, 0).dtype == tg.int64
    assert tg.where(c, True, False).dtype == tg.bool


def test_mean_var_std_of_integers_raise_as_pytorch():
    # PyTorch: mean needs a floating dtype ("could not infer output dtype"); so do var and std
    i = tg.tensor([1, 2, 4])
    with pytest.raises(RuntimeError, match="could not infer output dtype"):
        i.mean()
    with pytest.raises(RuntimeError, match="std and var only support floating point"):
        i.var()
    with pytest.raises(RuntimeError, match="std and var only support floating point"):
        tg.tensor([True, False]).std()
    assert i.float().mean().item() == pytest.approx(7 / 3)


def test_where_and_integer_reductions_match_pytorch():
    # PyTorch: where's dtype for every pair of Python scalars; mean/var/std raise for integers
    torch = pytest.importorskip("torch")
    for a, b in itertools.product([1.0, 2, True], repeat=2):
        got = tg.where(tg.tensor([True, False]), a, b)
        want = torch.where(torch.tensor([True, False]), a, b)
        assert str(got.dtype) == str(want.dtype).replace("torch.", "") and got.tolist() == want.tolist()
    for name in ("mean", "var", "std"):
        with pytest.raises(RuntimeError):
            getattr(torch.tensor([1, 2]), name)()
        with pytest.raises(RuntimeError):
            getattr(tg.tensor([1, 2]), name)()
