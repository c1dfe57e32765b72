"""Matrix products and norms: matmul with NumPy's rules (1-D operands, batching, broadcasting of
batch dims), mm, bmm, mv, dot, outer, addmm, baddbmm, einsum, tg.linalg.vector_norm / matrix_norm /
norm and Tensor.norm.

matmul: values against ``numpy.matmul``, gradient and second derivative against finite
differences. einsum is checked over many subscript forms (matrix products, batching, traces and
diagonals, outer products, sums, ``...`` broadcasting, implicit output, size-1 broadcasting) for
values against NumPy's einsum and for first and second derivatives against finite differences.
Norms: values against closed forms and NumPy, gradients against finite differences, and the
gradient at 0; PyTorch's values, gradients and errors when it is installed.
"""
import math

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


# ----------------------------------------------------------------------------- matmul

@given(data=st.data())
def test_matmul_matches_numpy(device, data):
    a, b = data.draw(tst.matmul_tensors(device=device), label="a, b")
    np.testing.assert_allclose((a @ b).numpy(), np.matmul(a.numpy(), b.numpy()), rtol=1e-12)


@given(data=st.data())
def test_matmul_gradient_matches_finite_differences(device, data):
    a, b = data.draw(tst.matmul_tensors(device=device), label="a, b")
    assert gradcheck(lambda x, y: x @ y, a, b)


@SECOND
@given(data=st.data())
def test_matmul_second_derivative_matches_finite_differences(device, data):
    a, b = data.draw(tst.matmul_tensors(device=device), label="a, b")
    assert gradgradcheck(lambda x, y: (x @ y).tanh(), a, b)


@given(data=st.data())
def test_matmul_method_and_function_agree_with_the_operator(device, data):
    a, b = data.draw(tst.matmul_tensors(device=device), label="a, b")
    expected = (a @ b).numpy()
    np.testing.assert_array_equal(a.matmul(b).numpy(), expected)
    np.testing.assert_array_equal(tg.matmul(a, b).numpy(), expected)


def test_numpy_matrix_on_the_left_gives_a_tensor_with_correct_gradient():
    # NumPy arrays are host data: this runs on the CPU.
    m = np.array([[1.0, -2.0, 0.5], [0.25, 3.0, -1.0]])
    x = tg.tensor([[0.3, 0.1], [-0.7, 0.4], [1.1, 0.2]], dtype=tg.float64, requires_grad=True)
    assert isinstance(m @ x, tg.Tensor)
    np.testing.assert_allclose((m @ x).numpy(), m @ x.numpy())
    assert gradcheck(lambda t: m @ t, x)
    assert gradcheck(lambda t: t.T @ m.T, x)


def test_vector_dot_vector_is_a_scalar_with_gradient_the_other_vector(device):
    a = tg.tensor([1.0, 2.0, 3.0], device=device, requires_grad=True)
    b = tg.tensor([4.0, 5.0, 6.0], device=device, requires_grad=True)
    y = a @ b
    assert y.shape == () and y.item() == 32.0
    y.backward()
    assert a.grad.tolist() == [4.0, 5.0, 6.0]
    assert b.grad.tolist() == [1.0, 2.0, 3.0]


def test_broadcast_batch_gradient_is_summed_over_the_broadcast_dims(device):
    a = tg.ones(2, 3, 4, device=device, requires_grad=True)
    w = tg.ones(4, 5, device=device, requires_grad=True)
    (a @ w).sum().backward()
    assert w.grad.shape == (4, 5)
    np.testing.assert_array_equal(w.grad.numpy(), np.full((4, 5), 6.0))   # 2 * 3 rows of ones


# ----------------------------------------------------------------------------- named products

SHAPES = {"mm": ("nk", "km"), "bmm": ("bnk", "bkm"), "mv": ("nk", "k"), "dot": ("k", "k"),
          "outer": ("n", "m"), "addmm": ("m", "nk", "km"), "baddbmm": ("bOm", "bnk", "bkm")}


def _products(data, name, device):
    """Operands of product ``name`` with sides drawn in 1..4 (O is a broadcast side of 1)."""
    sizes = {c: data.draw(st.integers(1, 4), label=c) for c in "bnkm"}
    sizes["O"] = 1
    return [data.draw(tst.tensors(shape=tuple(sizes[c] for c in s), device=device), label=s)
            for s in SHAPES[name]]


PRODUCTS = {
    "mm": lambda a, b: a.mm(b), "bmm": lambda a, b: tg.bmm(a, b), "mv": lambda a, b: a.mv(b),
    "dot": lambda a, b: tg.dot(a, b), "outer": lambda a, b: a.outer(b),
    "addmm": lambda c, a, b: c.addmm(a, b, beta=0.5, alpha=-2.0),
    "baddbmm": lambda c, a, b: tg.baddbmm(c, a, b, alpha=1.5),
}


@pytest.mark.parametrize("name", list(PRODUCTS))
@FAMILY
@given(data=st.data())
def test_product_gradient_matches_finite_differences(name, device, data):
    assert gradcheck(PRODUCTS[name], *_products(data, name, device))


@pytest.mark.parametrize("name", ["mm", "outer", "addmm"])
@SECOND
@given(data=st.data())
def test_product_second_derivative_matches_finite_differences(name, device, data):
    assert gradgradcheck(lambda *t: PRODUCTS[name](*t) ** 2, *_products(data, name, device))


@pytest.mark.parametrize("name,numpy_fn", [
    ("mm", np.matmul), ("bmm", np.matmul), ("mv", np.matmul), ("dot", np.dot), ("outer", np.outer),
    ("addmm", lambda c, a, b: 0.5 * c - 2.0 * (a @ b)), ("baddbmm", lambda c, a, b: c + 1.5 * (a @ b))])
@SECOND
@given(data=st.data())
def test_product_values_match_numpy(name, numpy_fn, device, data):
    ops = _products(data, name, device)
    np.testing.assert_allclose(PRODUCTS[name](*ops).numpy(), numpy_fn(*(t.numpy() for t in ops)),
                               rtol=1e-12, atol=1e-12)


def test_beta_zero_ignores_the_input_even_if_it_holds_nan(device):
    c = tg.full((2, 2), math.nan, device=device)
    a = tg.eye(2, device=device)
    assert tg.addmm(c, a, a, beta=0).tolist() == [[1.0, 0.0], [0.0, 1.0]]


def test_product_shape_errors_use_pytorch_wording(device):
    o = lambda *s, **k: tg.ones(*s, device=device, **k)   # noqa: E731
    cases = [
        (lambda: o(2, 3).mm(o(4, 5)), r"mat1 and mat2 shapes cannot be multiplied \(2x3 and 4x5\)"),
        (lambda: o(2, 3, 1).mm(o(4, 5)), "self must be a matrix"),
        (lambda: o(2, 3).mm(o(3)), "mat2 must be a matrix"),
        (lambda: o(2, 3).mm(o(3, 2, dtype=tg.float64)), "expected m1 and m2 to have the same dtype"),
        (lambda: o(2, 3).bmm(o(2, 3, 4)), "batch1 must be a 3D tensor"),
        (lambda: o(2, 2, 3).bmm(o(3, 3, 5)), r"Expected size for first two dimensions of batch2 tensor "
                                             r"to be: \[2, 3\] but got: \[3, 3\]"),
        (lambda: o(2, 3).mv(o(4)), r"size mismatch, got input \(2\), mat \(2x3\), vec \(4\)"),
        (lambda: o(2, 3).mv(o(3, 1)), "vector \\+ matrix @ vector expected, got 2, 2"),
        (lambda: o(2, 3).dot(o(4)), "1D tensors expected, but got 2D and 1D tensors"),
        (lambda: o(3).dot(o(4)), "inconsistent tensor size, expected tensor \\[3\\] and src \\[4\\]"),
        (lambda: o(3).dot(o(3, dtype=tg.float64)), "expected both vectors to have same dtype"),
        (lambda: o(3, 1).outer(o(3)), "outer: Expected 1-D argument self, but got 2-D"),
        (lambda: tg.addmm(o(3), o(2, 3), o(3, 2)), "does not broadcast"),
    ]
    for fn, msg in cases:
        with pytest.raises(ValueError, match=msg):
            fn()


# ----------------------------------------------------------------------------- einsum

# equation -> operand shapes (letters i..n drawn per example from the sizes dict)
EQUATIONS = {
    "ij,jk->ik": ("ij", "jk"),
    "bij,bjk->bik": ("bij", "bjk"),
    "ij,jk": ("ij", "jk"),                     # implicit output: ik
    "ii->i": ("ii",),                          # diagonal
    "ii": ("ii",),                             # trace (implicit: nothing left)
    "bii->": ("bii",),
    "ij->ji": ("ij",),
    "ij->": ("ij",),
    "ij->j": ("ij",),                          # i summed inside the only operand
    "i,j->ij": ("i", "j"),                     # outer product
    "i,i->": ("i", "i"),
    "ij,ij->ij": ("ij", "ij"),
    "iij,j->ij": ("iij", "j"),                 # a diagonal together with another operand
    "ijk,jl,lk->i": ("ijk", "jl", "lk"),       # three operands
    "...ij,...jk->...ik": ("bij", "jk"),       # ellipsis, broadcast against no batch dims
    "...i,...i->...": ("bi", "abi"),           # ellipsis dims right-aligned
    "i...->...": ("ia",),
    "b...,b->...": ("bij", "b"),
}


def _einsum_operands(data, equation, device):
    sizes = {c: data.draw(st.integers(1, 3), label=c) for c in "abijkl"}
    shapes = [tuple(sizes[c] for c in s) for s in EQUATIONS[equation]]
    return [data.draw(tst.tensors(shape=s, device=device), label=f"operand {n}")
            for n, s in enumerate(shapes)]


@pytest.mark.parametrize("equation", list(EQUATIONS))
@FAMILY
@given(data=st.data())
def test_einsum_values_match_numpy_and_gradient_matches_finite_differences(equation, device, data):
    ops = _einsum_operands(data, equation, device)
    out = tg.einsum(equation, *ops)
    np.testing.assert_allclose(out.numpy(), np.einsum(equation, *(t.numpy() for t in ops)),
                               rtol=1e-12, atol=1e-12)
    assert gradcheck(lambda *t: tg.einsum(equation, *t), *ops)


@pytest.mark.parametrize("equation", ["ij,jk->ik", "ii->i", "ij->j", "i,j->ij", "iij,j->ij",
                                      "...i,...i->..."])
@SECOND
@given(data=st.data())
def test_einsum_second_derivative_matches_finite_differences(equation, device, data):
    ops = _einsum_operands(data, equation, device)
    assert gradgradcheck(lambda *t: tg.einsum(equation, *t) ** 2, *ops)


@given(data=st.data())
def test_einsum_broadcasts_size_one_dims_like_pytorch(device, data):
    b, n = data.draw(st.integers(2, 3)), data.draw(st.integers(1, 3))
    x = data.draw(tst.tensors(shape=(1, n), device=device), label="x")
    y = data.draw(tst.tensors(shape=(b, n), device=device), label="y")
    out = tg.einsum("bi,bi->bi", x, y)
    np.testing.assert_allclose(out.numpy(), x.numpy() * y.numpy())
    assert gradcheck(lambda p, q: tg.einsum("bi,bi->b", p, q), x, y)


def test_einsum_trace_gradient_is_the_identity(device):
    a = tg.tensor([[1.0, 2.0], [3.0, 4.0]], device=device, requires_grad=True)
    t = tg.einsum("ii", a)
    assert t.item() == 5.0
    t.backward()
    assert a.grad.tolist() == [[1.0, 0.0], [0.0, 1.0]]


def test_einsum_accepts_operand_lists_and_sublists(device):
    a, b = tg.ones(2, 3, device=device), tg.ones(3, 4, device=device)
    assert tg.einsum("ij,jk", [a, b]).shape == (2, 4)
    assert tg.einsum(a, [0, 1], b, [1, 2], [0, 2]).tolist() == [[3.0] * 4] * 2
    assert tg.einsum(a, [Ellipsis, 1], b, [1, 2]).shape == (2, 4)
    assert tg.einsum("Ba", a).shape == (2, 3)            # implicit output in ASCII order: B before a


def test_einsum_errors_use_pytorch_wording(device):
    a = tg.ones(2, 3, device=device)
    cases = [
        (lambda: tg.einsum("ij,jk", a, tg.ones(4, 5, device=device)),
         "subscript j has size 4 for operand 1 which does not broadcast with previously seen size 3"),
        (lambda: tg.einsum("ij,jk->ii", a, tg.ones(3, 2, device=device)),
         "output subscript i appears more than once in the output"),
        (lambda: tg.einsum("ij->", a, a), "more operands were provided than specified"),
        (lambda: tg.einsum("ij,jk", a), "fewer operands were provided than specified"),
        (lambda: tg.einsum("ijk->", a), r"the number of subscripts in the equation \(3\) does not match"),
        (lambda: tg.einsum("i->j", tg.ones(2, device=device)),
         "output subscript j does not appear in the equation for any input operand"),
        (lambda: tg.einsum("ii", a), "subscript i is repeated for operand 0 but the sizes don't match"),
        (lambda: tg.einsum("i1->i", a), "invalid subscript given at index 1"),
        (lambda: tg.einsum("ij,ij", a, a.double()), "expected scalar type Float but found Double"),
    ]
    for fn, msg in cases:
        with pytest.raises(ValueError, match=msg):
            fn()


# ----------------------------------------------------------------------------- norms

ORDS = [1, 2, 3, 0.5, math.inf, -math.inf]


@pytest.mark.parametrize("ord", ORDS)
@FAMILY
@given(data=st.data())
def test_vector_norm_gradient_matches_finite_differences(ord, device, data):
    # |x| >= 0.1 keeps abs away from its kink; for +-inf, positive values 0.02 apart (min_gap)
    # keep the largest / smallest |x| unique, so a finite-difference step cannot change which it is
    kw = dict(min_value=0.1, min_gap=0.02) if ord in (math.inf, -math.inf) else dict(
        kinks=[0.0], min_kink_distance=0.1)
    x = data.draw(tst.tensors(min_dims=1, max_side=3, device=device, **kw), label="x")
    d, keepdim = data.draw(tst.axes(x.ndim, with_keepdim=True), label="dim, keepdim")
    assert gradcheck(lambda t: tg.linalg.vector_norm(t, ord, d, keepdim), x)


@pytest.mark.parametrize("ord", [2, 3])
@SECOND
@given(data=st.data())
def test_vector_norm_second_derivative_matches_finite_differences(ord, device, data):
    x = data.draw(tst.tensors(min_dims=1, device=device, kinks=[0.0], min_kink_distance=0.1), label="x")
    assert gradgradcheck(lambda t: tg.linalg.vector_norm(t, ord, -1), x)


@given(data=st.data())
def test_norm_values_match_numpy(device, data):
    x = data.draw(tst.tensors(min_dims=2, max_dims=2, device=device), label="x")
    a = x.numpy()
    for ord in ORDS + [0]:
        np.testing.assert_allclose(tg.linalg.vector_norm(x, ord).numpy(),
                                   np.linalg.norm(a.ravel(), ord), rtol=1e-12)
        np.testing.assert_allclose(tg.linalg.vector_norm(x, ord, dim=1).numpy(),
                                   np.linalg.norm(a, ord, axis=1), rtol=1e-12)
    for ord in ["fro", 1, -1, math.inf, -math.inf]:
        np.testing.assert_allclose(tg.linalg.matrix_norm(x, ord).numpy(), np.linalg.norm(a, ord),
                                   rtol=1e-12)
        np.testing.assert_allclose(tg.linalg.norm(x, ord).numpy(), np.linalg.norm(a, ord), rtol=1e-12)
    np.testing.assert_allclose(x.norm().numpy(), np.linalg.norm(a), rtol=1e-12)
    np.testing.assert_allclose(x.norm(1, dim=0).numpy(), np.abs(a).sum(0), rtol=1e-12)


def test_norm_values_by_hand(device):
    x = tg.tensor([[3.0, -4.0], [0.0, 12.0]], device=device)
    assert x.norm().item() == 13.0 and tg.norm(x, p=1).item() == 19.0
    assert x.norm(dim=1).tolist() == [5.0, 12.0]
    assert tg.linalg.vector_norm(x, math.inf).item() == 12.0
    assert tg.linalg.vector_norm(x, -math.inf).item() == 0.0
    assert tg.linalg.vector_norm(x, 0).item() == 3.0
    assert tg.linalg.matrix_norm(x, 1).item() == 16.0              # largest column sum of |x|
    assert tg.linalg.matrix_norm(x, math.inf).item() == 12.0       # largest row sum
    assert tg.linalg.norm(x, dim=1, keepdim=True).shape == (2, 1)
    assert tg.linalg.vector_norm(x, keepdim=True).shape == (1, 1)


@pytest.mark.parametrize("ord", [2, 3, 0.5, 1, math.inf])
def test_norm_gradient_at_zero_is_zero(ord, device):
    x = tg.zeros(3, dtype=tg.float64, device=device, requires_grad=True)
    tg.linalg.vector_norm(x, ord).backward()
    assert x.grad.tolist() == [0.0, 0.0, 0.0]


def test_zero_entry_gets_gradient_zero_also_for_p_below_one(device):
    # d/dx_i ||x||_p = sign(x_i) |x_i|^(p-1) / ||x||^(p-1): 0 at x_i = 0 (sign 0), although
    # 0^(p-1) is infinite for p < 1; ||(0, 1, 4)||_0.5 = (1 + 2)^2 = 9, d/dx_1 = 1 / 1 * 9^(1/2) = 3
    x = tg.tensor([0.0, 1.0, 4.0], dtype=tg.float64, device=device, requires_grad=True)
    tg.linalg.vector_norm(x, 0.5).backward()
    np.testing.assert_allclose(x.grad.numpy(), [0.0, 3.0, 1.5])


def test_norm_gradient_is_zero_only_in_the_zero_slice(device):
    x = tg.tensor([[0.0, 0.0], [3.0, 4.0]], device=device, requires_grad=True)
    x.norm(dim=1).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [[0.0, 0.0], [0.6, 0.8]])


def test_inf_norm_splits_the_gradient_between_ties(device):
    x = tg.tensor([3.0, -3.0, 1.0], device=device, requires_grad=True)
    tg.linalg.vector_norm(x, math.inf).backward()
    assert x.grad.tolist() == [0.5, -0.5, 0.0]


def test_norm_errors(device):
    with pytest.raises(ValueError, match="Expected a floating point or complex tensor as input. Got Long"):
        tg.tensor([1, 2], device=device).norm()
    with pytest.raises(ValueError, match="input must be 1D or 2D. Got 3D"):
        tg.linalg.norm(tg.ones(2, 2, 2, device=device), 1)
    with pytest.raises(ValueError, match="Order 3 not supported"):
        tg.linalg.matrix_norm(tg.ones(2, 2, device=device), 3)
    with pytest.raises(ValueError, match="singular values"):
        tg.ones(2, 2, device=device).norm(p="nuc")
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        tg.linalg.matrix_norm(tg.ones(2, device=device))
    with pytest.raises(TypeError, match="'ord' must be Number"):
        tg.linalg.vector_norm(tg.ones(2, device=device), "fro")


# ----------------------------------------------------------------------------- against PyTorch

def test_products_and_einsum_match_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    A, B, C = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 4, 5)), rng.standard_normal((5,))
    cases = [
        lambda L, a, b, c: L.bmm(a, b), lambda L, a, b, c: a[0].mm(b[0]),
        lambda L, a, b, c: a[0].mv(b[0, :, 1]), lambda L, a, b, c: a[0, 0].dot(b[1, :, 2]),
        lambda L, a, b, c: a[0, 0].outer(c), lambda L, a, b, c: L.addmm(c, a[1], b[1], beta=2, alpha=3),
        lambda L, a, b, c: L.baddbmm(c, a, b, beta=0.5),
        lambda L, a, b, c: L.einsum("bij,bjk,k->bi", a, b, c), lambda L, a, b, c: L.einsum("...ij->...", a),
        lambda L, a, b, c: L.einsum("bii->bi", a[:, :, :3]), lambda L, a, b, c: L.einsum("bij,bij", a, a),
    ]
    for k, fn in enumerate(cases):
        t = [tg.tensor(v, requires_grad=True) for v in (A, B, C)]
        tt = [torch.tensor(v, requires_grad=True) for v in (A, B, C)]
        y, yt = fn(tg, *t), fn(torch, *tt)
        np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), rtol=1e-12, err_msg=f"case {k}")
        g = rng.standard_normal(y.shape)
        y.backward(tg.tensor(g))
        yt.backward(torch.tensor(g))
        for p, pt in zip(t, tt):
            if pt.grad is not None:
                np.testing.assert_allclose(p.grad.numpy(), pt.grad.numpy(), rtol=1e-12, atol=1e-14,
                                           err_msg=f"case {k}")


@pytest.mark.parametrize("zeros", [False, True])
def test_norms_match_pytorch(zeros):
    torch = pytest.importorskip("torch")
    a = np.random.default_rng(1).standard_normal((3, 4))
    if zeros:
        a[1] = 0.0          # a zero vector
        a[2, 0] = 0.0       # and a zero entry of a non-zero one
    for fn in [lambda L, t: L.linalg.vector_norm(t, 2, 1), lambda L, t: L.linalg.vector_norm(t, 3, 1),
               lambda L, t: L.linalg.vector_norm(t, 0.5, 1),
               lambda L, t: L.linalg.vector_norm(t, 1, 1, keepdim=True), lambda L, t: t.norm(),
               lambda L, t: L.linalg.vector_norm(t, math.inf, 1), lambda L, t: t.norm(p="fro", dim=0),
               lambda L, t: L.linalg.matrix_norm(t, 1), lambda L, t: L.linalg.norm(t, -math.inf),
               lambda L, t: L.linalg.norm(t, dim=1)]:
        x, xt = tg.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
        y, yt = fn(tg, x), fn(torch, xt)
        np.testing.assert_allclose(y.numpy(), yt.detach().numpy(), rtol=1e-12)
        y.sum().backward()
        yt.sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-12, atol=1e-15)
