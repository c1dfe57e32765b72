"""Regression tests for results a differential fuzz against PyTorch 2.13 found silently different.

One section per fix. Each behaviour is checked against numbers worked out by hand, a closed form or
NumPy computed independently; a torch-gated test per section compares with PyTorch live.
"""
import itertools
import math

import numpy as np
import pytest

import tinygrad_rnn as tg
from tinygrad_rnn import nn

nan, inf = math.nan, math.inf


def _grad(fn, *values, dtype=np.float32):
    """Gradients of ``fn(*tensors).sum()`` with respect to each input (None where none flows)."""
    xs = [tg.tensor(np.asarray(v, dtype=dtype), requires_grad=True) for v in values]
    fn(*xs).sum().backward()
    return [None if x.grad is None else x.grad.numpy() for x in xs]


def _torch_grad(torch, fn, *values, dtype=np.float32):
    xs = [torch.tensor(np.asarray(v, dtype=dtype), requires_grad=True) for v in values]
    fn(*xs).sum().backward()
    return [None if x.grad is None else x.grad.numpy() for x in xs]


def _same(ours, theirs):
    """Equal values, NaN where the other has NaN, and the same dtype and shape."""
    ours, theirs = np.asarray(ours), np.asarray(theirs)
    assert ours.shape == theirs.shape and ours.dtype == theirs.dtype, (ours, theirs)
    np.testing.assert_array_equal(ours, theirs)


# ----------------------------------------------------------------------------- 1. integer + index tensor

def test_int_slice_index_tensor_keeps_the_indexed_dim_in_place():
    # PyTorch applies x[1] first (a view), then [:, idx]: (3, 2), not NumPy's (2, 3)
    x = tg.arange(24).reshape(2, 3, 4)
    out = x[1, :, tg.tensor([0, 2])]
    assert out.shape == (3, 2)
    assert out.tolist() == [[12, 14], [16, 18], [20, 22]]


def test_int_then_index_tensor_matches_numpy_applied_in_two_steps():
    # PyTorch: integers are basic indices (applied first), the rest follows NumPy's rules
    a = np.arange(120.0).reshape(2, 3, 4, 5)
    idx = np.array([[0, 1], [1, 0]])
    cases = [((1, slice(None), idx), a[1][:, idx]),
             ((slice(None), 1, slice(None), idx), a[:, 1][:, :, idx]),
             ((-1, Ellipsis, idx), a[-1][..., idx]),
             ((1, None, idx), a[1][None, idx]),
             ((idx, slice(None), 2), a[:, :, 2][idx, :]),
             ((1, slice(None), 0, [3, 1]), a[1, :, 0][:, [3, 1]]),
             ((0, np.array([True, False, True]), slice(1, 3)), a[0][[0, 2], 1:3])]
    x = tg.tensor(a)
    for index, expected in cases:
        tindex = tuple(tg.tensor(p) if isinstance(p, np.ndarray) else p for p in index)
        np.testing.assert_array_equal(x[tindex].numpy(), expected)


def test_zero_dim_integer_tensor_indexes_as_an_int():
    # PyTorch: x[tensor(1)] selects (a view), and counts as an int next to index tensors
    x = tg.arange(24.0).reshape(2, 3, 4)
    row = x[tg.tensor(1)]
    row[0, 0] = -1.0
    assert x[1, 0, 0].item() == -1.0
    assert x[tg.tensor(1), :, tg.tensor([0, 2])].shape == (3, 2)


def test_bool_scalars_take_no_dim():
    # PyTorch: True adds a dim of size 1 and consumes none, so the mask indexes dim 0
    x = tg.arange(6.0).reshape(2, 3)
    out = x[True, tg.tensor([False, True])]
    assert out.shape == (1, 3) and out.tolist() == [[3.0, 4.0, 5.0]]
    assert x[1, :, True].shape == (3, 1)
    assert x[False, 1].shape == (0, 3)


def test_setitem_through_int_slice_index_tensor():
    # PyTorch: the value has the getitem's shape (3, 2) and lands in x[1][:, [0, 2]]
    x = tg.zeros(2, 3, 4)
    x[1, :, tg.tensor([0, 2])] = tg.arange(6.0).reshape(3, 2)
    expected = np.zeros((2, 3, 4), np.float32)
    expected[1, :, 0] = [0, 2, 4]
    expected[1, :, 2] = [1, 3, 5]
    np.testing.assert_array_equal(x.numpy(), expected)


def test_gradients_through_int_slice_index_tensor():
    # PyTorch: the gradient lands where the elements came from; the value's has the (3, 2) layout
    x = tg.zeros(2, 3, 4, requires_grad=True)
    w = tg.arange(6.0).reshape(3, 2)
    (x[1, :, tg.tensor([0, 2])] * w).sum().backward()
    expected = np.zeros((2, 3, 4), np.float32)
    expected[1, :, 0] = [0, 2, 4]
    expected[1, :, 2] = [1, 3, 5]
    np.testing.assert_array_equal(x.grad.numpy(), expected)

    v = tg.ones(3, 2, requires_grad=True)
    y = tg.zeros(2, 3, 4) * 1
    y[1, :, tg.tensor([0, 2])] = v
    (y * tg.arange(24.0).reshape(2, 3, 4)).sum().backward()
    assert v.grad.tolist() == [[12.0, 14.0], [16.0, 18.0], [20.0, 22.0]]


_INDEX_PARTS = {
    "int": lambda m: 1, "neg": lambda m: -1, "npint": lambda m: np.int64(1), "int0d": lambda m: m.tensor(1),
    "all": lambda m: slice(None), "part": lambda m: slice(1, 3), "None": lambda m: None,
    "...": lambda m: Ellipsis, "idx": lambda m: m.tensor([0, 1]), "idx2d": lambda m: m.tensor([[0, 1], [1, 1]]),
    "list": lambda m: [1, 0], "mask": lambda m: m.tensor([True, False]),
    "mask3": lambda m: m.tensor([True, False, True]), "mask2d": lambda m: m.tensor([[True, False, True, False]] * 3),
    "True": lambda m: True, "False": lambda m: False, "bool0d": lambda m: m.tensor(True),
}


def _index_mixes():
    """Indices for a (2, 3, 4, 5) tensor: every pair of parts with an integer, and every triple with
    a plain int and an index tensor, mask or bool (the ones PyTorch rejects are skipped)."""
    ints = {"int", "neg", "npint", "int0d"}
    arrays = {"idx", "idx2d", "list", "mask", "mask3", "mask2d", "True", "False", "bool0d"}
    for n in (2, 3):
        for keys in itertools.product(sorted(_INDEX_PARTS), repeat=n):
            if set(keys) & ints and keys.count("...") <= 1 and (n == 2 or set(keys) & arrays):
                if n == 2 or not set(keys) & {"neg", "npint", "int0d", "part", "list"}:
                    yield keys


def test_index_mixes_match_pytorch():
    # PyTorch: values, shapes, setitem and both gradients for every mix of index kinds
    torch = pytest.importorskip("torch")
    a = np.arange(120.0).reshape(2, 3, 4, 5)
    checked = 0
    for keys in _index_mixes():
        index = tuple(_INDEX_PARTS[k](tg) for k in keys)
        tindex = tuple(_INDEX_PARTS[k](torch) for k in keys)
        try:
            expected = torch.tensor(a)[tindex]
        except (IndexError, RuntimeError, TypeError):
            continue
        x = tg.tensor(a, requires_grad=True)
        tx = torch.tensor(a, requires_grad=True)
        out, tout = x[index], tx[tindex]
        np.testing.assert_array_equal(out.detach().numpy(), tout.detach().numpy(), err_msg=str(keys))
        w = np.linspace(0.5, 1.5, out.numel()).reshape(out.shape)
        (out * tg.tensor(w)).sum().backward()
        (tout * torch.tensor(w)).sum().backward()
        # repeated positions add up, in an order that may differ in the last bit
        np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-15, err_msg=str(keys))
        if "idx2d" not in keys:         # repeated positions: which write wins is unspecified
            v = tg.tensor(w + 1000, requires_grad=True)
            tv = torch.tensor(w + 1000, requires_grad=True)
            y, ty = tg.tensor(a) * 1, torch.tensor(a) * 1
            y[index], ty[tindex] = v, tv
            np.testing.assert_array_equal(y.detach().numpy(), ty.detach().numpy(), err_msg=str(keys))
            (y * tg.tensor(a)).sum().backward()
            (ty * torch.tensor(a)).sum().backward()
            np.testing.assert_array_equal(v.grad.numpy(), tv.grad.numpy(), err_msg=str(keys))
        checked += 1
    assert checked > 300


# ----------------------------------------------------------------------------- 2. joining promotes

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


# ----------------------------------------------------------------------------- 3. any / all with dim=()

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


# ----------------------------------------------------------------------------- 4. integer alpha / beta

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


# ----------------------------------------------------------------------------- 5. einsum of integers

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


# ----------------------------------------------------------------------------- 6. sums of unsigned integers

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


# ----------------------------------------------------------------------------- 7. the 0-"norm" counts NaN

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


# ----------------------------------------------------------------------------- 8. NaN in clamp and threshold

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


# ----------------------------------------------------------------------------- 9. gradients at special points

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


# ----------------------------------------------------------------------------- 10. promotion and reductions

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
