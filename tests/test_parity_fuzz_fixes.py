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
    an integer and an index tensor, mask or bool (the ones PyTorch rejects are skipped)."""
    ints = {"int", "neg", "npint", "int0d"}
    arrays = {"idx", "idx2d", "list", "mask", "mask3", "mask2d", "True", "False", "bool0d"}
    for n in (2, 3):
        for keys in itertools.product(sorted(_INDEX_PARTS), repeat=n):
            if set(keys) & ints and keys.count("...") <= 1 and (n == 2 or set(keys) & arrays):
                if n == 2 or not set(keys) & {"neg", "npint", "int0d"}:
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
