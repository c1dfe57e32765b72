"""More shape functions (ops/shape_extra.py): repeat, tile, repeat_interleave, flip, roll, tril,
triu, diag, diagonal, movedim, swapaxes, unflatten, unbind, narrow, meshgrid, hstack, vstack,
concat / concatenate, broadcast_to, view_as, type_as.

Values against NumPy's equivalents over Hypothesis-drawn shapes; gradients (each a composition of
primitive shape ops) against finite differences; small cases worked by hand; PyTorch's values when
it is installed.
"""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_rnn as tg
from tinygrad_rnn.testing import gradcheck, gradgradcheck
from tinygrad_rnn.testing import strategies as tst

SECOND = settings(max_examples=max(5, settings.default.max_examples // 3))
FAMILY = settings(max_examples=max(8, settings.default.max_examples // 3))


def _dim(data, x):
    return data.draw(st.integers(-x.ndim, x.ndim - 1), label="dim")


def _case_repeat(data, x):
    reps = data.draw(st.lists(st.integers(0, 3), min_size=x.ndim, max_size=x.ndim + 1), label="repeats")
    return lambda t: t.repeat(*reps), lambda a: np.tile(a, reps)


def _case_tile(data, x):
    reps = data.draw(st.lists(st.integers(1, 3), max_size=x.ndim + 1), label="dims")
    return lambda t: t.tile(tuple(reps)), lambda a: np.tile(a, reps)


def _case_repeat_interleave(data, x):
    d = _dim(data, x)
    r = data.draw(st.integers(0, 3), label="repeats")
    return lambda t: t.repeat_interleave(r, d), lambda a: np.repeat(a, r, axis=d)


def _case_repeat_interleave_counts(data, x):
    d = _dim(data, x)
    counts = data.draw(st.lists(st.integers(0, 3), min_size=x.shape[d], max_size=x.shape[d]))
    c = tg.tensor(counts, device=x.device)
    return lambda t: t.repeat_interleave(c, dim=d), lambda a: np.repeat(a, counts, axis=d)


def _case_flip(data, x):
    dims = tuple(data.draw(st.lists(st.integers(0, x.ndim - 1), unique=True, min_size=1)))
    return lambda t: t.flip(dims), lambda a: np.flip(a, dims)


def _case_roll(data, x):
    d = _dim(data, x)
    s = data.draw(st.integers(-5, 5), label="shift")
    return lambda t: tg.roll(t, s, d), lambda a: np.roll(a, s, axis=d)


def _case_roll_flat(data, x):
    s = data.draw(st.integers(-5, 5), label="shift")
    return lambda t: t.roll(s), lambda a: np.roll(a, s)


def _case_tri(data, x):
    k = data.draw(st.integers(-3, 3), label="diagonal")
    lower = data.draw(st.booleans(), label="lower")
    return ((lambda t: t.tril(k)), (lambda a: np.tril(a, k))) if lower else \
        ((lambda t: tg.triu(t, k)), (lambda a: np.triu(a, k)))


def _case_diagonal(data, x):
    a, b = data.draw(st.lists(st.integers(0, x.ndim - 1), unique=True, min_size=2, max_size=2))
    k = data.draw(st.integers(-3, 3), label="offset")
    return lambda t: t.diagonal(k, a, b), lambda arr: np.diagonal(arr, k, a, b)


def _case_movedim(data, x):
    src = data.draw(st.lists(st.integers(0, x.ndim - 1), unique=True, min_size=1))
    dst = data.draw(st.permutations(range(x.ndim)))[:len(src)]
    return lambda t: t.movedim(tuple(src), tuple(dst)), lambda a: np.moveaxis(a, src, dst)


def _case_swapaxes(data, x):
    a, b = _dim(data, x), _dim(data, x)
    return lambda t: t.swapaxes(a, b), lambda arr: np.swapaxes(arr, a, b)


def _case_narrow(data, x):
    d = _dim(data, x)
    n = x.shape[d]
    start = data.draw(st.integers(-n, n - 1), label="start")
    length = data.draw(st.integers(0, n - start % n), label="length")
    s = start % n
    return lambda t: t.narrow(d, start, length), lambda a: np.take(a, range(s, s + length), axis=d)


def _case_unflatten(data, x):
    d = _dim(data, x)
    n = x.shape[d]
    f = data.draw(st.sampled_from([k for k in range(1, n + 1) if n % k == 0]), label="factor")
    shape = x.shape[:d % x.ndim] + (f, n // f) + x.shape[d % x.ndim + 1:]
    return lambda t: t.unflatten(d, (f, -1)), lambda a: a.reshape(shape)


def _case_unbind(data, x):
    d = _dim(data, x)
    return lambda t: tg.stack(t.unbind(d), 0), lambda a: np.moveaxis(a, d, 0)


def _case_broadcast_to(data, x):
    shape = tuple(data.draw(st.integers(1, 3)) if n == 1 else n for n in x.shape)
    shape = (data.draw(st.integers(1, 2)),) + shape
    return lambda t: t.broadcast_to(shape), lambda a: np.broadcast_to(a, shape)


def _case_stacks(data, x):
    which = data.draw(st.sampled_from(["hstack", "vstack", "concat", "concatenate"]))
    d = _dim(data, x)
    fns = {"hstack": (lambda t: tg.hstack([t, t * 2]), lambda a: np.hstack([a, a * 2])),
           "vstack": (lambda t: tg.vstack([t * 2, t]), lambda a: np.vstack([a * 2, a])),
           "concat": (lambda t: tg.concat([t, t], d), lambda a: np.concatenate([a, a], d)),
           "concatenate": (lambda t: tg.concatenate([t, -t], axis=d),
                           lambda a: np.concatenate([a, -a], d))}
    return fns[which]


CASES = {
    "repeat": (_case_repeat, 0), "tile": (_case_tile, 0),
    "repeat_interleave": (_case_repeat_interleave, 1),
    "repeat_interleave_counts": (_case_repeat_interleave_counts, 1), "flip": (_case_flip, 1),
    "roll": (_case_roll, 1), "roll_flat": (_case_roll_flat, 0), "tril_triu": (_case_tri, 2),
    "diagonal": (_case_diagonal, 2), "movedim": (_case_movedim, 1), "swapaxes": (_case_swapaxes, 1),
    "narrow": (_case_narrow, 1), "unflatten": (_case_unflatten, 1), "unbind": (_case_unbind, 1),
    "broadcast_to": (_case_broadcast_to, 0), "stacks": (_case_stacks, 1),
}


def _draw(name, data, device):
    make, min_dims = CASES[name]
    x = data.draw(tst.tensors(min_dims=min_dims, device=device), label="x")
    fn, numpy_fn = make(data, x)
    return x, fn, numpy_fn


@pytest.mark.parametrize("name", list(CASES))
@FAMILY
@given(data=st.data())
def test_values_match_numpy_and_gradient_matches_finite_differences(name, device, data):
    x, fn, numpy_fn = _draw(name, data, device)
    np.testing.assert_array_equal(fn(x).numpy(), numpy_fn(x.numpy()))
    assert gradcheck(fn, x)


@pytest.mark.parametrize("name", ["repeat", "repeat_interleave_counts", "roll", "diagonal", "tril_triu"])
@SECOND
@given(data=st.data())
def test_second_derivative_matches_finite_differences(name, device, data):
    x, fn, _ = _draw(name, data, device)
    assert gradgradcheck(lambda t: fn(t) ** 2, x)


@SECOND
@given(data=st.data())
def test_diag_of_vectors_and_matrices_matches_numpy_and_finite_differences(device, data):
    x = data.draw(tst.tensors(min_dims=1, max_dims=2, device=device), label="x")
    k = data.draw(st.integers(-3, 3), label="diagonal")
    np.testing.assert_array_equal(x.diag(k).numpy(), np.diag(x.numpy(), k))
    assert gradcheck(lambda t: tg.diag(t, k), x)


# ----------------------------------------------------------------------------- by hand

def test_repeat_and_repeat_interleave_by_hand(device):
    x = tg.tensor([[1, 2]], device=device)
    assert x.repeat(2, 2).tolist() == [[1, 2, 1, 2], [1, 2, 1, 2]]
    assert x.repeat(2, 1, 1).shape == (2, 1, 2)
    assert x.repeat_interleave(2).tolist() == [1, 1, 2, 2]
    assert tg.tensor([[1, 2], [3, 4]], device=device).repeat_interleave(
        tg.tensor([1, 2], device=device), dim=0).tolist() == [[1, 2], [3, 4], [3, 4]]
    assert tg.repeat_interleave(tg.tensor([2, 0, 1], device=device)).tolist() == [0, 0, 2]
    assert x.tile((2,)).tolist() == [[1, 2, 1, 2]]


def test_repeat_gradient_sums_the_copies(device):
    x = tg.tensor([1.0, 2.0], device=device, requires_grad=True)
    x.repeat(3).backward(tg.tensor([1.0, 10.0, 100.0, 1000.0, 1e4, 1e5], device=device))
    assert x.grad.tolist() == [1.0 + 100.0 + 1e4, 10.0 + 1000.0 + 1e5]


def test_flip_roll_triangles_and_diagonals_by_hand(device):
    x = tg.tensor([[1, 2, 3], [4, 5, 6]], device=device)
    assert x.flip(0).tolist() == [[4, 5, 6], [1, 2, 3]]
    assert x.flip(0, 1).tolist() == [[6, 5, 4], [3, 2, 1]]
    assert x.roll(1).tolist() == [[6, 1, 2], [3, 4, 5]]
    assert x.roll((1, -1), (0, 1)).tolist() == [[5, 6, 4], [2, 3, 1]]
    assert x.tril().tolist() == [[1, 0, 0], [4, 5, 0]] and x.triu(1).tolist() == [[0, 2, 3], [0, 0, 6]]
    assert x.tril().dtype == tg.int64
    assert tg.ones(2, 2, dtype=tg.bool, device=device).triu().dtype == tg.bool
    assert x.diag().tolist() == [1, 5] and x.diag(1).tolist() == [2, 6] and x.diag(-1).tolist() == [4]
    assert tg.tensor([1, 2], device=device).diag(-1).tolist() == [[0, 0, 0], [1, 0, 0], [0, 2, 0]]
    assert x.diagonal().tolist() == [1, 5]


def test_tril_keeps_infinities_out_of_the_zeroed_part(device):
    # zeroing is a selection, not a multiplication by 0 (inf * 0 would be nan)
    x = tg.tensor([[1.0, float("inf")], [2.0, 3.0]], device=device)
    assert x.tril().tolist() == [[1.0, 0.0], [2.0, 3.0]]


def test_unbind_narrow_unflatten_movedim_by_hand(device):
    x = tg.arange(6, device=device).reshape(2, 3)
    rows = x.unbind()
    assert len(rows) == 2 and rows[1].tolist() == [3, 4, 5]
    assert [c.tolist() for c in x.unbind(1)] == [[0, 3], [1, 4], [2, 5]]
    assert x.narrow(1, 1, 2).tolist() == [[1, 2], [4, 5]] == x.narrow(1, -2, 2).tolist()
    assert tg.arange(12, device=device).unflatten(0, (3, -1)).shape == (3, 4)
    assert tg.zeros(2, 3, 4, device=device).movedim(0, -1).shape == (3, 4, 2)
    assert tg.zeros(2, 3, 4, device=device).moveaxis((0, 1), (2, 0)).shape == (3, 4, 2)
    assert tg.zeros(0, 2, device=device).unbind() == ()


def test_meshgrid_both_indexings(device):
    a, b = tg.tensor([1, 2], device=device), tg.tensor([3, 4, 5], device=device)
    X, Y = tg.meshgrid(a, b, indexing="ij")
    assert X.tolist() == [[1, 1, 1], [2, 2, 2]] and Y.tolist() == [[3, 4, 5], [3, 4, 5]]
    X, Y = tg.meshgrid([a, b], indexing="xy")
    assert X.tolist() == [[1, 2], [1, 2], [1, 2]] and Y.tolist() == [[3, 3], [4, 4], [5, 5]]
    for got, want in zip(tg.meshgrid(a, b, a, indexing="xy"),
                         np.meshgrid(a.numpy(), b.numpy(), a.numpy(), indexing="xy")):
        np.testing.assert_array_equal(got.numpy(), want)


def test_meshgrid_gradient_sums_along_the_copies(device):
    a = tg.tensor([1.0, 2.0], dtype=tg.float64, device=device, requires_grad=True)
    b = tg.tensor([3.0, 4.0, 5.0], dtype=tg.float64, device=device, requires_grad=True)
    assert gradcheck(lambda p, q: tg.stack(tg.meshgrid(p, q), 0) ** 2, a, b)


def test_stacks_aliases_and_conversions(device):
    a, b = tg.tensor([1.0, 2.0], device=device), tg.tensor([3.0], device=device)
    assert tg.hstack([a, b]).tolist() == [1.0, 2.0, 3.0]
    assert tg.hstack([tg.tensor(0.0, device=device), a]).tolist() == [0.0, 1.0, 2.0]
    assert tg.vstack([a, a]).shape == (2, 2)
    assert tg.vstack([a[:1], tg.ones(2, 1, device=device)]).shape == (3, 1)
    assert tg.concat([a, b]).tolist() == tg.concatenate([a, b], axis=0).tolist() == [1.0, 2.0, 3.0]
    x = tg.zeros(2, 3, device=device)
    assert tg.arange(6, device=device).view_as(x).shape == (2, 3)
    assert tg.arange(3, device=device).type_as(x).dtype == tg.float32
    assert tg.broadcast_to(b, (2, 3)).tolist() == [[3.0] * 3] * 2


def test_shape_errors_use_pytorch_wording(device):
    x = tg.zeros(2, 3, device=device)
    cases = [(lambda: x.repeat(2), "Number of dimensions of repeat dims can not be smaller"),
             (lambda: tg.zeros(3, device=device).tril(),
              "tril: input tensor must have at least 2 dimensions"),
             (lambda: tg.zeros(2, 2, 2, device=device).diag(),
              r"diag\(\): Supports 1D or 2D tensors. Got 3D"),
             (lambda: x.narrow(1, 2, 3), r"start \(2\) \+ length \(3\) exceeds dimension size \(3\)"),
             (lambda: x.unflatten(1, (2, 2)),
              r"Provided sizes \[2, 2\] don't multiply up to the size of dim 1"),
             (lambda: x.roll((1, 2), (0,)), "shifts and dimensions must align"),
             (lambda: x.diagonal(0, 1, 1), "diagonal: dimensions cannot be identical"),
             (lambda: x.movedim((0, 1), (0,)), "same number of dims as destination"),
             (lambda: tg.meshgrid(x, indexing="ab"), "indexing must be one of 'xy' or 'ij'")]
    for fn, msg in cases:
        with pytest.raises(ValueError, match=msg):
            fn()


# ----------------------------------------------------------------------------- against PyTorch

def test_values_and_gradients_match_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    a = rng.standard_normal((2, 3, 4))
    cases = [lambda L, t: t.repeat(2, 1, 1, 2), lambda L, t: t.tile((2,)),
             lambda L, t: t.repeat_interleave(2, dim=1),
             lambda L, t: t.repeat_interleave(L.tensor([1, 0, 2]), dim=1), lambda L, t: t.flip(0, 2),
             lambda L, t: t.roll(2, 2), lambda L, t: t.roll(-1), lambda L, t: t.tril(1),
             lambda L, t: t.triu(-1), lambda L, t: t[0].diag(1), lambda L, t: t[0, 0].diag(-2),
             lambda L, t: t.diagonal(1, 2, 0), lambda L, t: t.movedim((0, 2), (1, 0)),
             lambda L, t: t.swapaxes(0, 2), lambda L, t: t.unflatten(2, (2, 2)),
             lambda L, t: L.stack(t.unbind(1), 2), lambda L, t: t.narrow(2, -3, 2),
             lambda L, t: L.hstack([t, t]), lambda L, t: L.vstack([t[0, 0], t[1, 1]]),
             lambda L, t: L.stack(L.meshgrid(t[0, 0], t[1, 1, :2], indexing="xy"))]
    for k, fn in enumerate(cases):
        x, xt = tg.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
        y, yt = fn(tg, x), fn(torch, xt)
        np.testing.assert_array_equal(y.numpy(), yt.detach().numpy(), err_msg=f"case {k}")
        g = rng.standard_normal(y.shape)
        y.backward(tg.tensor(g))
        yt.backward(torch.tensor(g))
        np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-14, err_msg=f"case {k}")
